// SPDX-License-Identifier: GPL-2.0-only
/*
 * Consent freshness (RFC 7675) on selected pairs, and the keepalives
 * of a lite agent (RFC 8445 §11).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ice_int.h"

/* ---- selection, consent --------------------------------------------------------- */

/*
 * The one transition function of the consent machine (RFC 7675 §5.1):
 * NONE -> GRANTED when a pair is selected, GRANTED -> LOST on expiry or
 * revocation, and LOST -> GRANTED only with a new selection (a pair of an
 * ICE restart, or another nominated pair): once lost, no response to a
 * consent check brings consent back. `selection` says which.
 */
void ice_consent_set_state(struct ice_agent *a, unsigned s, unsigned c, enum ice_consent_state to,
			   bool selection)
{
	struct ice_sel *sel = &a->streams[s]->comp[c - 1].sel;
	struct ice_event ev = {.stream = s, .component = c};
	enum ice_consent_state from = sel->consent;

	if (from == to)
		return;
	if (to == ICE_CONSENT_STATE_NONE || (from != ICE_CONSENT_STATE_GRANTED && !selection) ||
	    (to == ICE_CONSENT_STATE_LOST && from != ICE_CONSENT_STATE_GRANTED)) {
		ice_log(a, ICE_LOG_ERROR, "consent: refused move %s -> %s",
			ice_consent_state_str(from), ice_consent_state_str(to));
		return;
	}
	ice_log(a, ICE_LOG_INFO, "stream %u component %u: consent %s -> %s", s, c,
		ice_consent_state_str(from), ice_consent_state_str(to));
	sel->consent = to;
	if (to == ICE_CONSENT_STATE_LOST) {
		ev.type = ICE_EVENT_CONSENT_LOST;
		a->stats.consent_lost++;
		ice_push_event(a, &ev);
	} else if (to == ICE_CONSENT_STATE_GRANTED && from == ICE_CONSENT_STATE_LOST) {
		ev.type = ICE_EVENT_CONSENT_REGAINED;
		ice_push_event(a, &ev);
	}
}

/* RFC 7675 §5.2: the peer answered a consent check with 403 (Forbidden). */
static void ice_consent_revoke(struct ice_agent *a, unsigned s, unsigned c)
{
	if (a->streams[s]->comp[c - 1].sel.consent != ICE_CONSENT_STATE_GRANTED)
		return;
	ice_log(a, ICE_LOG_WARN, "stream %u component %u: consent revoked (403)", s, c);
	ice_consent_set_state(a, s, c, ICE_CONSENT_STATE_LOST, false);
}

uint64_t ice_consent_interval(struct ice_agent *a)
{
	/* RFC 7675 §5.1: uniformly random in [0.8, 1.2] * interval. */
	uint64_t base = a->cfg.consent_interval_ms;

	return base * 8 / 10 + ice_random_u32(a) % (base * 4 / 10 + 1);
}

static void ice_consent_send(struct ice_agent *a, unsigned s, unsigned c, uint64_t now)
{
	struct ice_stream *st = a->streams[s];
	struct ice_sel *sel = &st->comp[c - 1].sel;
	struct ice_lcand lc = {.c = sel->local, .host = sel->host, .turn = sel->turn};
	unsigned slot = sel->consent_tid_next++ % ICE_CONSENT_TIDS;
	uint8_t *tid = sel->consent_tid[slot];
	bool fresh = st->have_remote;
	uint8_t buf[ICE_TX_MAX];
	int len;

	/* RFC 7675 §5.1: a fresh transaction id for every request. */
	ice_random(a, tid, STUN_TID_LEN);
	sel->consent_sent_ms[slot] = now;
	/* During a restart the peer knows our new credentials once it has
	 * its new ones; before that only the selection's generation works. */
	len = ice_build_check(a, st, &lc, fresh ? st->rufrag : st->prev_rufrag,
			      fresh || !st->prev_lufrag[0] ? st->lufrag : st->prev_lufrag,
			      fresh ? st->rpwd : st->prev_rpwd, tid, false, buf, sizeof(buf));
	if (len < 0)
		return;
	a->stats.consent_requests_sent++;
	ice_send_raw(a, sel->host, sel->turn, &sel->remote.addr, buf, (size_t)len, now);
}

static void ice_keepalive_send(struct ice_agent *a, const struct ice_sel *sel, uint64_t now)
{
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN], buf[64];
	int len;

	ice_random(a, tid, sizeof(tid));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_INDICATION, tid);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len > 0) {
		a->stats.keepalives_sent++;
		ice_send_raw(a, sel->host, sel->turn, &sel->remote.addr, buf, (size_t)len, now);
	}
}

void ice_consent_tick(struct ice_agent *a, uint64_t now)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_sel *sel = &st->comp[c - 1].sel;

			if (!sel->active)
				continue;
			if (sel->consent == ICE_CONSENT_STATE_GRANTED &&
			    now >= sel->consent_expiry_ms)
				ice_consent_set_state(a, s, c, ICE_CONSENT_STATE_LOST, false);
			/* RFC 7675 §5.1: lost is final for this pair; only an ICE
			 * restart's new pair sends (and checks) again. */
			if (sel->consent != ICE_CONSENT_STATE_GRANTED)
				continue;
			if (a->cfg.lite) {
				/* A lite agent sends no checks; keepalives (§11) keep NAT
				 * bindings open; its consent comes from the peer's checks. */
				if (now >= sel->keepalive_next_ms) {
					ice_keepalive_send(a, sel, now);
					sel->keepalive_next_ms = now + a->cfg.keepalive_ms;
				}
				continue;
			}
			if (now >= sel->consent_next_ms) {
				ice_consent_send(a, s, c, now);
				sel->consent_next_ms = now + ice_consent_interval(a);
			}
		}
	}
}

enum ice_consent_state ice_agent_consent_state(const struct ice_agent *a, unsigned stream,
					       unsigned component)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	const struct ice_sel *sel;

	if (!st || component < 1 || component > st->ncomp || !st->comp[component - 1].sel.active)
		return ICE_CONSENT_STATE_NONE;
	sel = &st->comp[component - 1].sel;
	/* expired by the latest time we were given, even if not ticked yet */
	if (sel->consent == ICE_CONSENT_STATE_GRANTED && a->now >= sel->consent_expiry_ms)
		return ICE_CONSENT_STATE_LOST;
	return sel->consent;
}

bool ice_agent_consent(const struct ice_agent *a, unsigned stream, unsigned component)
{
	return ice_agent_consent_state(a, stream, component) == ICE_CONSENT_STATE_GRANTED;
}

/* A response to one of our consent requests on a selected pair of stream
 * s: the verdict, or -1 when the transaction is not one of them. */
int ice_consent_on_response(struct ice_agent *a, unsigned s, const struct stun_msg *m,
			    const struct ice_rx *rx)
{
	struct ice_stream *st = a->streams[s];

	for (unsigned c = 1; c <= st->ncomp; c++) {
		struct ice_sel *sel = &st->comp[c - 1].sel;
		uint64_t sent_ms = 0;
		bool ok = false;

		if (!sel->active)
			continue;
		/* only slots a request was sent from (never the zeroed ones) */
		for (unsigned k = 0; k < ICE_CONSENT_TIDS && k < sel->consent_tid_next; k++)
			if (!memcmp(sel->consent_tid[k], m->tid, STUN_TID_LEN)) {
				ok = true;
				sent_ms = sel->consent_sent_ms[k];
			}
		if (!ok)
			continue;
		/* RFC 7675 §5.2: a 403 answer revokes consent at once. It may
		 * come without integrity; its transaction id (one of ours,
		 * random) and the pair's addresses are what vouch for it. */
		if (m->cls == STUN_CLASS_ERROR && m->integrity < 0 && m->integrity_sha256 < 0) {
			const struct stun_attr *ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
			int code = 0;

			if (ea)
				stun_attr_get_error(m, ea, &code, NULL, NULL);
			if (code == STUN_ERROR_FORBIDDEN && rx->host == sel->host &&
			    rx->turn == sel->turn && netaddr_equal(&rx->remote, &sel->remote.addr))
				ice_consent_revoke(a, s, c);
			return ICE_RECV_HANDLED;
		}
		/* RFC 7675 §5.1: only an authenticated success response from
		 * the pair's remote, on its base, refreshes consent. */
		if (stun_check_integrity(m, (const uint8_t *)st->rpwd, strlen(st->rpwd)) &&
		    (!st->prev_rpwd[0] || stun_check_integrity(m, (const uint8_t *)st->prev_rpwd,
							       strlen(st->prev_rpwd)))) {
			a->stats.rx_dropped_unauth++;
			return ICE_RECV_DROPPED;
		}
		if (rx->host != sel->host || rx->turn != sel->turn ||
		    !netaddr_equal(&rx->remote, &sel->remote.addr))
			return ICE_RECV_HANDLED;
		if (m->cls == STUN_CLASS_ERROR) {
			const struct stun_attr *ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
			int code = 0;

			if (ea)
				stun_attr_get_error(m, ea, &code, NULL, NULL);
			if (code == STUN_ERROR_FORBIDDEN)
				ice_consent_revoke(a, s, c); /* RFC 7675 §5.2 */
			return ICE_RECV_HANDLED;
		}
		/* RFC 8489 §6.3.3: unknown comprehension-required attributes
		 * fail the transaction: no consent from it. */
		if (m->cls != STUN_CLASS_SUCCESS || m->nunknown)
			return ICE_RECV_HANDLED;
		/* RFC 7675 §5.1: consent lasts 30 s from the sending of a
		 * request that was answered, not from the answer: a late
		 * answer buys less, one to a request older than that
		 * nothing. */
		if (sent_ms + a->cfg.consent_timeout_ms <= rx->now)
			return ICE_RECV_HANDLED;
		if (sel->consent != ICE_CONSENT_STATE_GRANTED)
			return ICE_RECV_HANDLED; /* lost is final (RFC 7675 §5.1) */
		if (sent_ms + a->cfg.consent_timeout_ms > sel->consent_expiry_ms)
			sel->consent_expiry_ms = sent_ms + a->cfg.consent_timeout_ms;
		return ICE_RECV_HANDLED;
	}
	return -1;
}
