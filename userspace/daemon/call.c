// SPDX-License-Identifier: GPL-2.0-only
/* call: calls, legs, the leg state machine and media ports (see call.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "icepath/compiler.h"
#include "daemon_log.h"

static const char *const leg_state_names[CALL_LEG_STATE_MAX] = {
	[CALL_LEG_STATE_NEW] = "new",
	[CALL_LEG_STATE_ALLOCATED] = "allocated",
	[CALL_LEG_STATE_CHECKING] = "checking",
	[CALL_LEG_STATE_CONNECTED] = "connected",
	[CALL_LEG_STATE_CONSENT_LOST] = "consent-lost",
	[CALL_LEG_STATE_FAILED] = "failed",
	[CALL_LEG_STATE_CLOSED] = "closed",
};

const char *call_leg_state_str(enum call_leg_state s)
{
	if ((unsigned)s < CALL_LEG_STATE_MAX)
		return leg_state_names[s];
	return "invalid";
}

static const char *const latch_mode_names[] = {
	[CALL_LATCH_DEFAULT] = "latch-once",
	[CALL_LATCH_STRICT] = "strict-source",
	[CALL_LATCH_HANDOVER] = "media-handover",
};

const char *call_latch_mode_str(enum call_latch_mode m)
{
	if ((unsigned)m < ARRAY_SIZE(latch_mode_names))
		return latch_mode_names[m];
	return "invalid";
}

#define BIT(s) (1u << (s))
/* allowed[from] = set of states reachable in one move (see call.h diagram) */
static const unsigned allowed[CALL_LEG_STATE_MAX] = {
	[CALL_LEG_STATE_NEW] = BIT(CALL_LEG_STATE_ALLOCATED) | BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_ALLOCATED] = BIT(CALL_LEG_STATE_CHECKING) | BIT(CALL_LEG_STATE_CONNECTED) |
				     BIT(CALL_LEG_STATE_FAILED) | BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_CHECKING] = BIT(CALL_LEG_STATE_CONNECTED) | BIT(CALL_LEG_STATE_FAILED) |
				    BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_CONNECTED] = BIT(CALL_LEG_STATE_CONSENT_LOST) |
				     BIT(CALL_LEG_STATE_CHECKING) | BIT(CALL_LEG_STATE_FAILED) |
				     BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_CONSENT_LOST] = BIT(CALL_LEG_STATE_CONNECTED) |
					BIT(CALL_LEG_STATE_CHECKING) | BIT(CALL_LEG_STATE_FAILED) |
					BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_FAILED] = BIT(CALL_LEG_STATE_CHECKING) | BIT(CALL_LEG_STATE_CLOSED),
	[CALL_LEG_STATE_CLOSED] = 0,
};

bool call_leg_transition_ok(enum call_leg_state from, enum call_leg_state to)
{
	if ((unsigned)from >= CALL_LEG_STATE_MAX || (unsigned)to >= CALL_LEG_STATE_MAX)
		return false;
	return from == to || (allowed[from] & BIT(to));
}

int call_leg_transition(struct call_table *t, struct call_leg *l, enum call_leg_state to,
			const char *why, uint64_t now_ms)
{
	enum call_leg_state from = l->state;

	if (from == to)
		return 0;
	if (!call_leg_transition_ok(from, to)) {
		log_warn("call %s leg %s: refused state change %s -> %s (%s)", l->call->id,
			 l->tag[0] ? l->tag : "-", call_leg_state_str(from), call_leg_state_str(to),
			 why ? why : "");
		return -EINVAL;
	}
	l->state = to;
	l->state_ms = now_ms;
	log_info("call %s leg %s: %s -> %s (%s)", l->call->id, l->tag[0] ? l->tag : "-",
		 call_leg_state_str(from), call_leg_state_str(to), why ? why : "");
	if (t && t->on_state)
		t->on_state(t->ctx, l, from, to, why);
	return 0;
}

enum call_leg_state call_leg_settle(struct call_table *t, struct call_leg *l, uint64_t now_ms)
{
	bool all_remote = true, any_lost = false, any_active = false;

	if (l->state == CALL_LEG_STATE_CLOSED || l->state == CALL_LEG_STATE_NEW ||
	    l->state == CALL_LEG_STATE_FAILED)
		return l->state;
	for (unsigned i = 0; i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		if (!s->active || s->bundled)
			continue;
		any_active = true;
		if (!s->remote_set[CALL_COMP_RTP])
			all_remote = false;
		if (s->ice && s->remote_set[CALL_COMP_RTP] && !s->consent)
			any_lost = true;
	}
	if (!any_active)
		return l->state;
	if (any_lost)
		call_leg_transition(t, l, CALL_LEG_STATE_CONSENT_LOST, "RFC 7675 consent lost",
				    now_ms);
	else if (all_remote)
		call_leg_transition(t, l, CALL_LEG_STATE_CONNECTED,
				    l->state == CALL_LEG_STATE_CONSENT_LOST ? "consent regained"
									    : "media path known",
				    now_ms);
	return l->state;
}

void call_leg_totals(const struct call_leg *l, struct call_counters *rx_user,
		     struct call_counters *rx_fast, struct call_counters *tx_user)
{
	memset(rx_user, 0, sizeof(*rx_user));
	memset(rx_fast, 0, sizeof(*rx_fast));
	memset(tx_user, 0, sizeof(*tx_user));
	for (unsigned i = 0; i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		for (unsigned c = 0; c < CALL_NCOMP; c++) {
			rx_user->packets += s->rx_user[c].packets;
			rx_user->bytes += s->rx_user[c].bytes;
			rx_fast->packets += s->rx_fast[c].packets;
			rx_fast->bytes += s->rx_fast[c].bytes;
			tx_user->packets += s->tx_user[c].packets;
			tx_user->bytes += s->tx_user[c].bytes;
		}
	}
}

/* ---- call table ------------------------------------------------------------ */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a 32-bit offset basis */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int call_table_init(struct call_table *t, size_t nbuckets)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = nbuckets;
	return 0;
}

void call_table_free(struct call_table *t)
{
	while (t->head)
		call_destroy(t, t->head);
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
}

struct call *call_find(const struct call_table *t, const char *id)
{
	struct call *c;

	for (c = t->buckets[hash_str(id) % t->nbuckets]; c; c = c->hnext)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

void call_stream_init(struct call_stream *s, unsigned index)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	s->ice_stream = -1;
	for (unsigned c = 0; c < CALL_NCOMP; c++)
		s->sock[c].fd = -1;
	s->consent = true;
}

int call_create(struct call_table *t, const char *id, uint64_t now_ms, struct call **out)
{
	size_t b;
	struct call *c;

	if (strlen(id) >= CALL_ID_MAX || !*id)
		return -ENAMETOOLONG;
	if (call_find(t, id))
		return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(c->id, id, strlen(id) + 1);
	c->created_ms = c->last_activity_ms = now_ms;
	timerheap_node_init(&c->delete_timer);
	for (unsigned side = 0; side < 2; side++) {
		c->legs[side].call = c;
		c->legs[side].side = side;
		c->legs[side].state = CALL_LEG_STATE_NEW;
		c->legs[side].state_ms = now_ms;
		timerheap_node_init(&c->legs[side].ice_timer);
		timerheap_node_init(&c->legs[side].idle_timer);
		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++)
			call_stream_init(&c->legs[side].streams[i], i);
	}
	b = hash_str(id) % t->nbuckets;
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	c->prev = t->tail;
	if (t->tail)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
	t->ncalls++;
	*out = c;
	return 0;
}

void call_destroy(struct call_table *t, struct call *c)
{
	struct call **pp = &t->buckets[hash_str(c->id) % t->nbuckets];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->tail = c->prev;
	t->ncalls--;
	free(c);
}

struct call_leg *call_leg_by_tag(struct call *c, const char *tag)
{
	if (!tag)
		return NULL;
	for (unsigned i = 0; i < 2; i++)
		if (c->legs[i].tag[0] && !strcmp(c->legs[i].tag, tag))
			return &c->legs[i];
	return NULL;
}

/* ---- ports ------------------------------------------------------------------ */

int call_ports_init(struct call_ports *p, uint16_t min, uint16_t max)
{
	memset(p, 0, sizeof(*p));
	p->min = (uint16_t)((min + 1u) & ~1u);
	p->max = max;
	if (p->min >= p->max)
		return -EINVAL;
	p->npairs = ((size_t)p->max - p->min + 1) / 2;
	p->used = calloc(p->npairs, 1);
	if (!p->used)
		return -ENOMEM;
	p->next = 0;
	return 0;
}

void call_ports_free(struct call_ports *p)
{
	free(p->used);
	p->used = NULL;
}

int call_ports_get(struct call_ports *p)
{
	size_t start = p->random ? p->random(p->random_ctx) % p->npairs : p->next;

	for (size_t k = 0; k < p->npairs; k++) {
		size_t i = (start + k) % p->npairs;

		if (!p->used[i]) {
			p->used[i] = 1;
			p->nused++;
			p->next = (uint16_t)((i + 1) % p->npairs);
			return p->min + (int)(2 * i);
		}
	}
	return -ENOSPC;
}

static long pair_index(const struct call_ports *p, uint16_t port)
{
	if (port < p->min || port > p->max || (port - p->min) % 2)
		return -1;
	return (port - p->min) / 2;
}

void call_ports_put(struct call_ports *p, uint16_t port)
{
	long i = pair_index(p, port);

	if (i >= 0 && (size_t)i < p->npairs && p->used[i]) {
		p->used[i] = 0;
		p->nused--;
	}
}

int call_ports_claim(struct call_ports *p, uint16_t port)
{
	long i = pair_index(p, port);

	if (i < 0 || (size_t)i >= p->npairs)
		return -ERANGE;
	if (p->used[i])
		return -EBUSY;
	p->used[i] = 1;
	p->nused++;
	return 0;
}
