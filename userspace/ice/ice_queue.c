// SPDX-License-Identifier: GPL-2.0-only
/* FIFOs of datagrams and events for the sans-I/O agent and TURN client. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ice_queue.h"

struct ice_qnode {
	struct ice_qnode *next;
	size_t len;
	unsigned char data[];
};

/* How a datagram sits in a node: addresses, then the bytes. */
struct ice_qdgram {
	struct netaddr local, remote;
	size_t len;
	uint8_t buf[];
};

void ice_queue_init(struct ice_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

void ice_queue_clear(struct ice_queue *q)
{
	while (q->head) {
		struct ice_qnode *n = q->head;

		q->head = n->next;
		free(n);
	}
	q->tail = &q->head;
	q->n = 0;
}

static struct ice_qnode *ice_queue_append(struct ice_queue *q, size_t len)
{
	struct ice_qnode *n;

	if (q->n >= ICE_QUEUE_MAX)
		return NULL;
	n = malloc(sizeof(*n) + len);
	if (!n)
		return NULL;
	q->n++;
	n->next = NULL;
	n->len = len;
	*q->tail = n;
	q->tail = &n->next;
	return n;
}

static struct ice_qnode *ice_queue_take(struct ice_queue *q)
{
	struct ice_qnode *n = q->head;

	if (!n)
		return NULL;
	q->head = n->next;
	if (!q->head)
		q->tail = &q->head;
	q->n--;
	return n;
}

int ice_queue_push(struct ice_queue *q, const void *item, size_t len)
{
	struct ice_qnode *n = ice_queue_append(q, len);

	if (!n)
		return q->n >= ICE_QUEUE_MAX ? -ENOBUFS : -ENOMEM;
	memcpy(n->data, item, len);
	return 0;
}

bool ice_queue_pop(struct ice_queue *q, void *out, size_t cap)
{
	struct ice_qnode *n = ice_queue_take(q);

	if (!n)
		return false;
	memcpy(out, n->data, n->len < cap ? n->len : cap);
	free(n);
	return true;
}

int ice_queue_push_datagram(struct ice_queue *q, const struct netaddr *local,
			    const struct netaddr *remote, const uint8_t *buf, size_t len)
{
	struct ice_qnode *n;
	struct ice_qdgram *d;

	if (len > ICE_TX_HEAD_MAX)
		return -EMSGSIZE;
	n = ice_queue_append(q, sizeof(*d) + len);
	if (!n)
		return q->n >= ICE_QUEUE_MAX ? -ENOBUFS : -ENOMEM;
	d = (struct ice_qdgram *)n->data;
	d->local = *local;
	d->remote = *remote;
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

bool ice_queue_pop_datagram(struct ice_queue *q, struct ice_transmit *tx)
{
	struct ice_qnode *n = ice_queue_take(q);
	const struct ice_qdgram *d;

	if (!n)
		return false;
	d = (const struct ice_qdgram *)n->data;
	tx->local = d->local;
	tx->remote = d->remote;
	memcpy(tx->head, d->buf, d->len);
	tx->head_len = d->len;
	tx->payload = NULL;
	tx->payload_len = 0;
	tx->pad_len = 0;
	free(n);
	return true;
}
