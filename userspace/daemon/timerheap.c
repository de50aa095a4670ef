// SPDX-License-Identifier: GPL-2.0-only
/* timerheap: min-heap of deadlines with intrusive nodes (see timerheap.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "timerheap.h"

void timerheap_init(struct timerheap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void timerheap_free(struct timerheap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->index = SIZE_MAX;
	free(h->v);
	timerheap_init(h);
}

void timerheap_node_init(struct timerheap_node *t)
{
	t->deadline_ms = TIMERHEAP_NONE;
	t->index = SIZE_MAX;
	t->owner = NULL;
	t->kind = 0;
}

static void place(struct timerheap *h, size_t i, struct timerheap_node *t)
{
	h->v[i] = t;
	t->index = i;
}

static void sift_up(struct timerheap *h, size_t i)
{
	struct timerheap_node *t = h->v[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (h->v[p]->deadline_ms <= t->deadline_ms)
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, t);
}

static void sift_down(struct timerheap *h, size_t i)
{
	struct timerheap_node *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->deadline_ms < h->v[c]->deadline_ms)
			c++;
		if (h->v[c]->deadline_ms >= t->deadline_ms)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, t);
}

void timerheap_remove(struct timerheap *h, struct timerheap_node *t)
{
	size_t i = t->index;
	struct timerheap_node *last;

	if (i == SIZE_MAX || i >= h->n || h->v[i] != t)
		return;
	t->index = SIZE_MAX;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->index);
}

int timerheap_set(struct timerheap *h, struct timerheap_node *t, uint64_t deadline_ms)
{
	if (deadline_ms == TIMERHEAP_NONE) {
		timerheap_remove(h, t);
		t->deadline_ms = TIMERHEAP_NONE;
		return 0;
	}
	if (t->index != SIZE_MAX && t->index < h->n && h->v[t->index] == t) {
		t->deadline_ms = deadline_ms;
		sift_up(h, t->index);
		sift_down(h, t->index);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timerheap_node **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	t->deadline_ms = deadline_ms;
	place(h, h->n++, t);
	sift_up(h, t->index);
	return 0;
}

struct timerheap_node *timerheap_peek(const struct timerheap *h)
{
	return h->n ? h->v[0] : NULL;
}

uint64_t timerheap_next(const struct timerheap *h)
{
	return h->n ? h->v[0]->deadline_ms : TIMERHEAP_NONE;
}
