/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the ICE agent and the TURN client: the FIFOs that hold
 * datagrams to send and events to report until the caller polls them.
 */
#ifndef ICEPATH_ICE_QUEUE_H
#define ICEPATH_ICE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "icepath/ice_transmit.h"

struct ice_qnode;

/* Entries a queue holds at most: a caller that does not drain (or a flood
 * of requests each answered with an error) cannot grow it without bound;
 * a push beyond it is refused with -ENOBUFS. */
#define ICE_QUEUE_MAX 1024

struct ice_queue {
	struct ice_qnode *head, **tail;
	unsigned n; /* entries queued */
};

void ice_queue_init(struct ice_queue *q);
/* Free every entry. */
void ice_queue_clear(struct ice_queue *q);
/* Append a copy of item (len bytes); -ENOMEM, -ENOBUFS when full. */
int ice_queue_push(struct ice_queue *q, const void *item, size_t len);
/* Pop the first entry into out (at most cap bytes); false when empty. */
bool ice_queue_pop(struct ice_queue *q, void *out, size_t cap);
/* A datagram: a copy of buf, from local to remote. */
int ice_queue_push_datagram(struct ice_queue *q, const struct netaddr *local,
			    const struct netaddr *remote, const uint8_t *buf, size_t len);
bool ice_queue_pop_datagram(struct ice_queue *q, struct ice_transmit *tx);

#endif
