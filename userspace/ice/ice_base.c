// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers under every other file of the agent: log, randomness, the
 * event and datagram queues, sending from a base or through a TURN
 * allocation, candidate copies, array growth, candidate lookups.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ice_int.h"

/* ---- plumbing ------------------------------------------------------------ */

void ice_log(struct ice_agent *a, enum ice_log_level lvl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!a->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->cfg.log(a->cfg.log_ctx, lvl, msg);
}

/* splitmix64: the test PRNG when no random source is configured. */
void ice_prng(void *buf, size_t len, void *ctx)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	while (len) {
		uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		z ^= z >> 31;
		for (int i = 0; i < 8 && len; i++, len--, z >>= 8)
			*p++ = (uint8_t)z;
	}
}

void ice_random(struct ice_agent *a, void *buf, size_t len)
{
	a->cfg.random(buf, len, a->cfg.random_ctx);
}

uint32_t ice_random_u32(struct ice_agent *a)
{
	uint32_t v;

	ice_random(a, &v, sizeof(v));
	return v;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
void ice_random_chars(struct ice_agent *a, char *out, size_t n)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[64];

	ice_random(a, r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] & 63];
	out[n] = 0;
}

void ice_push_event(struct ice_agent *a, const struct ice_event *ev)
{
	if (ice_queue_push(&a->events, ev, sizeof(*ev)))
		ice_log(a, ICE_LOG_ERROR, "out of memory: event %d lost", ev->type);
}

void ice_queue_raw(struct ice_agent *a, const struct netaddr *local, const struct netaddr *remote,
		   const uint8_t *buf, size_t len)
{
	if (ice_queue_push_datagram(&a->out, local, remote, buf, len))
		ice_log(a, ICE_LOG_ERROR, "out of memory: datagram dropped");
}

/* Move what a TURN client queued (permit/bind/wrap only queue requests;
 * events only come from recv and tick) to the agent's queue. */
void ice_turn_flush(struct ice_agent *a, unsigned h, unsigned t)
{
	struct ice_transmit tx;

	while (turn_client_poll_transmit(a->hosts[h].turn[t], &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

/* Send buf to remote from a base, or through the TURN allocation. */
void ice_send_raw(struct ice_agent *a, int host, int turn, const struct netaddr *remote,
		  const uint8_t *buf, size_t len, uint64_t now)
{
	struct ice_host *hh = &a->hosts[host];
	struct ice_transmit tx;
	int err;

	if (turn < 0) {
		ice_queue_raw(a, &hh->base, remote, buf, len);
		return;
	}
	err = turn_client_wrap(hh->turn[turn], remote, buf, len, true, &tx);
	if (err == -EPERM) {
		turn_client_permit(hh->turn[turn], remote, now);
		ice_turn_flush(a, (unsigned)host, (unsigned)turn);
		err = turn_client_wrap(hh->turn[turn], remote, buf, len, true, &tx);
	}
	if (err) {
		ice_log(a, ICE_LOG_DEBUG, "cannot relay a datagram: %s", strerror(-err));
		return;
	}
	ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

struct ice_stream *ice_stream_get(const struct ice_agent *a, unsigned stream)
{
	return stream < a->nstreams ? a->streams[stream] : NULL;
}

/* ---- candidates ------------------------------------------------------------- */

void ice_cand_export(const struct ice_cand *in, struct ice_candidate *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->foundation, in->foundation, sizeof(out->foundation));
	out->component = in->component;
	out->transport = ICE_TRANSPORT_UDP;
	out->priority = in->priority;
	out->addr = in->addr;
	out->type = in->type;
	out->raddr = in->raddr;
	out->generation = -1;
}

void ice_cand_import(const struct ice_candidate *in, struct ice_cand *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->foundation, in->foundation, sizeof(out->foundation));
	out->foundation[ICE_FOUNDATION_MAX - 1] = 0;
	out->component = in->component;
	out->priority = in->priority;
	out->addr = in->addr;
	netaddr_unmap_v4(&out->addr);
	out->type = in->type;
	out->raddr = in->raddr;
}

/* Grow *arr (of elem-sized entries) to hold need, capped at max. */
int ice_grow(void **arr, unsigned *cap, size_t elem, unsigned need, unsigned max)
{
	unsigned n;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -ENOSPC;
	n = *cap ? *cap * 2 : 1; /* most agents hold one of each */
	if (n > max)
		n = max;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

int ice_rcand_push(struct ice_stream *st, const struct ice_cand *c)
{
	int err = ice_grow((void **)&st->rcands, &st->cap_r, sizeof(*st->rcands), st->nr + 1,
			   ICE_MAX_REMOTE_CANDIDATES);

	if (err)
		return err;
	st->rcands[st->nr] = *c;
	return (int)st->nr++;
}

int ice_rcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (st->rcands[i].component == comp && netaddr_equal(&st->rcands[i].addr, addr))
			return (int)i;
	return -1;
}

int ice_lcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr, int host,
		   int turn)
{
	for (unsigned i = 0; i < st->nl; i++) {
		const struct ice_lcand *lc = &st->lcands[i];

		if (lc->c.component == comp && lc->host == host && lc->turn == turn &&
		    netaddr_equal(&lc->c.addr, addr))
			return (int)i;
	}
	return -1;
}

/* The unset credential: never written, never freed. */
char ice_cred_none[1];

void ice_cred_free(char **field)
{
	if (*field && *field != ice_cred_none)
		free(*field);
	*field = ice_cred_none;
}

/* A copy of value ("" or NULL: unset); -ENOMEM leaves the field unset. */
int ice_cred_set(char **field, const char *value)
{
	char *v = NULL;

	if (value && *value) {
		v = strdup(value);
		if (!v) {
			ice_cred_free(field);
			return -ENOMEM;
		}
	}
	ice_cred_free(field);
	if (v)
		*field = v;
	return 0;
}

/* *to takes *from's string; *from is unset. */
void ice_cred_move(char **to, char **from)
{
	ice_cred_free(to);
	*to = *from;
	*from = ice_cred_none;
}
