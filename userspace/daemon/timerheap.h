/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * timerheap: a binary min-heap of deadlines (ms), the one timer the epoll
 * loop arms its timerfd from. Each owner (an ICE agent's stream, a call's
 * inactivity check) embeds a struct timerheap_node; the heap stores
 * pointers and keeps each node's index, so update and remove are O(log n)
 * and the loop never scans all calls.
 */
#ifndef ICEPATH_TIMERHEAP_H
#define ICEPATH_TIMERHEAP_H

#include <stddef.h>
#include <stdint.h>

#define TIMERHEAP_NONE UINT64_MAX /* no deadline */

struct timerheap_node {
	uint64_t deadline_ms;
	size_t index; /* position in the heap, SIZE_MAX when not queued */
	void *owner;  /* what fires: set by the owner, untouched by the heap */
	unsigned kind;
};

struct timerheap {
	struct timerheap_node **v;
	size_t n, cap;
};

void timerheap_init(struct timerheap *h);
void timerheap_free(struct timerheap *h);
void timerheap_node_init(struct timerheap_node *t);
/* Queue or move a node; deadline TIMERHEAP_NONE removes it. 0 or -ENOMEM. */
int timerheap_set(struct timerheap *h, struct timerheap_node *t, uint64_t deadline_ms);
void timerheap_remove(struct timerheap *h, struct timerheap_node *t);
/* Earliest node or NULL. */
struct timerheap_node *timerheap_peek(const struct timerheap *h);
/* Earliest deadline or TIMERHEAP_NONE. */
uint64_t timerheap_next(const struct timerheap *h);

#endif
