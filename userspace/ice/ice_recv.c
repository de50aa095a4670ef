// SPDX-License-Identifier: GPL-2.0-only
/*
 * Received datagrams (RFC 8445 §7.2.5, §7.3; RFC 7983 demultiplexing):
 * responses to our checks, requests to us, TURN traffic, media.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/demux.h"
#include "ice_int.h"

static void ice_on_success(struct ice_agent *a, unsigned s, unsigned idx, const struct stun_msg *m,
			   const struct ice_rx *rx)
{
	struct ice_stream *st = a->streams[s];
	struct ice_pair *p = &st->pairs[idx];
	const struct ice_lcand *lc = &st->lcands[p->l];
	const struct stun_attr *xa = stun_msg_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	struct netaddr mapped;
	int l, v;

	if (!xa || stun_attr_get_xor_addr(m, xa, &mapped)) {
		ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
		return;
	}
	netaddr_unmap_v4(&mapped);
	/* §7.2.5.3.1: a mapped address we do not know is a local prflx candidate
	 * with the priority our check carried. */
	l = ice_lcand_find(st, p->comp, &mapped, lc->host, lc->turn);
	if (l < 0) {
		for (unsigned i = 0; i < st->nl && l < 0; i++)
			if (st->lcands[i].c.component == p->comp &&
			    netaddr_equal(&st->lcands[i].c.addr, &mapped) &&
			    ice_same_base(&st->lcands[i], lc))
				l = (int)i;
	}
	if (l < 0) {
		struct ice_cand c;
		struct netaddr base = lc->c.addr;

		ice_cand_fill(&c, ICE_CAND_TYPE_PRFLX, p->comp, a->hosts[lc->host].local_pref,
			      &mapped, &base, &base, NULL);
		l = ice_lcand_add(a, s, &c, lc->host, lc->turn, false, rx->now);
		if (l < 0) {
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
			return;
		}
		p = &st->pairs[idx];
	}
	/* §7.2.5.3.2: the valid pair is (mapped candidate, remote): the checked
	 * pair itself when the mapping is its local candidate, else a pair that
	 * only lives in the valid list (same base, so it sends the same way). */
	v = -1;
	for (unsigned i = 0; i < st->npairs; i++)
		if (st->pairs[i].l == (unsigned)l && st->pairs[i].r == p->r)
			v = (int)i;
	if (v < 0 && !ice_grow((void **)&st->pairs, &st->cap_pairs, sizeof(*st->pairs),
			       st->npairs + 1, a->cfg.max_pairs)) {
		struct ice_pair *q = &st->pairs[st->npairs];

		p = &st->pairs[idx]; /* the array may have moved */

		memset(q, 0, sizeof(*q));
		q->l = (unsigned)l;
		q->r = p->r;
		q->comp = p->comp;
		q->prio = ice_pair_priority(a->controlling, st->lcands[l].c.priority,
					    st->rcands[p->r].priority);
		q->state = ICE_PAIR_STATE_SUCCEEDED;
		q->valid_idx = (int)st->npairs;
		v = (int)st->npairs++;
	}
	if (v < 0)
		v = (int)idx; /* list full: the checked pair stands in */
	ice_pair_set_state(a, st, p, ICE_PAIR_STATE_SUCCEEDED);
	p->valid_idx = v;
	st->pairs[v].valid = true;
	if (st->pairs[v].state != ICE_PAIR_STATE_SUCCEEDED)
		ice_pair_set_state(a, st, &st->pairs[v], ICE_PAIR_STATE_SUCCEEDED);
	ice_unfreeze_foundation(a, st->lcands[p->l].c.foundation, st->rcands[p->r].foundation);
	if (p->use_cand && a->controlling) {
		st->comp[p->comp - 1].nominating = -1;
		st->pairs[v].use_cand = false;
		p->use_cand = false;
		ice_select(a, s, (unsigned)v, rx->now);
	} else if (p->nominate_on_success && !a->controlling) {
		p->nominate_on_success = false;
		ice_select(a, s, (unsigned)v, rx->now);
	}
	p->use_cand = false;
}

static int ice_on_response(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx)
{
	int ret;

	/* Which check? Walks the check lists: responses are rare, media never
	 * comes here. */
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];
			const struct ice_lcand *lc = &st->lcands[p->l];
			const struct stun_attr *ea;
			bool cancelled = false, symmetric;
			int code = 0;

			if (!p->inflight || memcmp(p->tid, m->tid, STUN_TID_LEN)) {
				if (p->cancel_until_ms <= rx->now ||
				    memcmp(p->cancel_tid, m->tid, STUN_TID_LEN))
					continue;
				cancelled = true;
			}
			if (stun_check_integrity(m, (const uint8_t *)st->rpwd, strlen(st->rpwd))) {
				a->stats.rx_dropped_unauth++;
				return ICE_RECV_DROPPED;
			}
			/* §7.2.5.2.1: source and destination must be symmetric. */
			symmetric = netaddr_equal(&rx->remote, &st->rcands[p->r].addr) &&
				    rx->host == lc->host && rx->turn == lc->turn;
			if (cancelled) {
				/* §7.3.1.4: a cancelled check can still validate the
				 * pair; its failures are the new check's to decide. */
				p->cancel_until_ms = 0;
				if (m->cls != STUN_CLASS_SUCCESS || !symmetric)
					return ICE_RECV_HANDLED;
			}
			p->inflight = false;
			/* RFC 8489 §6.3.3/§6.3.4: unknown comprehension-required
			 * attributes in a response fail the transaction. */
			if (!symmetric || m->nunknown) {
				if (m->nunknown)
					ice_log(a, ICE_LOG_DEBUG,
						"check answered with unknown attribute 0x%04x",
						m->unknown[0]);
				if (p->use_cand && p->state == ICE_PAIR_STATE_SUCCEEDED)
					ice_pair_nomination_failed(a, st, p);
				else
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
				p->use_cand = false;
				if (st->comp[p->comp - 1].nominating == (int)i)
					st->comp[p->comp - 1].nominating = -1;
				return ICE_RECV_HANDLED;
			}
			if (m->cls == STUN_CLASS_SUCCESS) {
				struct ice_component *cp = &st->comp[p->comp - 1];
				uint64_t rtt = rx->now - p->last_tx_ms;

				/* the round trip of the latest transmission (a
				 * retransmission's answer may be the first's:
				 * an overestimate at worst) */
				if (!cancelled && (!cp->rtt_ms || rtt < cp->rtt_ms))
					cp->rtt_ms =
						rtt ? (uint32_t)(rtt < 60000 ? rtt : 60000) : 1;
				ice_on_success(a, s, i, m, rx);
				return ICE_RECV_HANDLED;
			}
			ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
			if (ea)
				stun_attr_get_error(m, ea, &code, NULL, NULL);
			if (st->comp[p->comp - 1].nominating == (int)i)
				st->comp[p->comp - 1].nominating = -1;
			if (code == STUN_ERROR_ROLE_CONFLICT) {
				/* §7.2.5.1: switch only if the role we sent is still ours. */
				if (p->sent_controlling == a->controlling)
					ice_set_role(a, !a->controlling);
				p->use_cand = false;
				if (p->state != ICE_PAIR_STATE_SUCCEEDED)
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
				ice_trigger(a, st, i);
			} else {
				ice_log(a, ICE_LOG_DEBUG, "check answered with error %d", code);
				if (p->use_cand && p->state == ICE_PAIR_STATE_SUCCEEDED)
					ice_pair_nomination_failed(a, st, p);
				else
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
				p->use_cand = false;
			}
			return ICE_RECV_HANDLED;
		}
		ret = ice_consent_on_response(a, s, m, rx);
		if (ret >= 0)
			return ret;
	}
	a->stats.rx_dropped_unknown++;
	return ICE_RECV_DROPPED;
}

/* ---- requests to us ------------------------------------------------------------- */

static void ice_respond_error(struct ice_agent *a, const struct stun_msg *m,
			      const struct ice_rx *rx, int code, const char *reason,
			      const char *pwd)
{
	struct stun_builder b;
	uint8_t buf[ICE_TX_MAX];
	int len;

	stun_build_init(&b, buf, sizeof(buf), m->method, STUN_CLASS_ERROR, m->tid);
	stun_build_error(&b, code, reason);
	if (code == STUN_ERROR_UNKNOWN_ATTRIBUTE)
		stun_build_unknown(&b, m->unknown, m->nunknown);
	if (a->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, a->cfg.software);
	if (pwd)
		stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len < 0)
		return;
	a->stats.errors_sent++;
	ice_send_raw(a, rx->host, rx->turn, &rx->remote, buf, (size_t)len, rx->now);
}

static void ice_respond_success(struct ice_agent *a, const struct stun_msg *m,
				const struct ice_rx *rx, const char *pwd)
{
	struct stun_builder b;
	uint8_t buf[ICE_TX_MAX];
	int len;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m->tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &rx->remote);
	if (a->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, a->cfg.software);
	stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len < 0)
		return;
	a->stats.responses_sent++;
	ice_send_raw(a, rx->host, rx->turn, &rx->remote, buf, (size_t)len, rx->now);
}

/* The local candidate a request reached: the host base, or the relayed one. */
static int ice_rx_local(const struct ice_agent *a, const struct ice_stream *st,
			const struct ice_rx *rx)
{
	for (unsigned i = 0; i < st->nl; i++) {
		const struct ice_lcand *lc = &st->lcands[i];

		if (lc->host == rx->host && lc->turn == rx->turn &&
		    (lc->c.type == ICE_CAND_TYPE_HOST || lc->c.type == ICE_CAND_TYPE_RELAY))
			return (int)i;
	}
	return -1;
}

static int ice_on_request(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx)
{
	const struct ice_host *h = &a->hosts[rx->host];
	struct ice_stream *st = a->streams[h->stream];
	const struct stun_attr *ua = stun_msg_find(m, STUN_ATTR_USERNAME);
	const struct stun_attr *pa = stun_msg_find(m, STUN_ATTR_PRIORITY);
	const struct stun_attr *ca = stun_msg_find(m, STUN_ATTR_ICE_CONTROLLING);
	const struct stun_attr *da = stun_msg_find(m, STUN_ATTR_ICE_CONTROLLED);
	bool use_cand = stun_msg_find(m, STUN_ATTR_USE_CANDIDATE) != NULL;
	char user[STUN_USERNAME_MAX];
	const char *pwd = NULL, *colon;
	uint32_t prio = 0;
	uint64_t their_tb = 0;
	bool old_gen = false;
	int l, r, idx;

	if (a->cfg.relay_only && rx->turn < 0) {
		/* relay_only: the host base answers nobody, so its address is
		 * never confirmed to anyone but the TURN server. */
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	if (m->method != STUN_METHOD_BINDING) {
		a->stats.rx_dropped_unknown++;
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Bad Request", NULL);
		return ICE_RECV_DROPPED;
	}
	/* RFC 8489 §9.1.3: no MESSAGE-INTEGRITY or no USERNAME: 400. */
	if (!ua || (m->integrity < 0 && m->integrity_sha256 < 0)) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Missing USERNAME or integrity",
				  NULL);
		return ICE_RECV_DROPPED;
	}
	if (stun_attr_get_string(m, ua, user, sizeof(user)) || !(colon = strchr(user, ':'))) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_UNAUTHORIZED, "Unauthorized", NULL);
		return ICE_RECV_DROPPED;
	}
	/* USERNAME is "our-ufrag:their-ufrag" (§7.2.2). */
	if ((size_t)(colon - user) == strlen(st->lufrag) &&
	    !strncmp(user, st->lufrag, (size_t)(colon - user)))
		pwd = st->lpwd;
	else if (st->prev_lufrag[0] && (size_t)(colon - user) == strlen(st->prev_lufrag) &&
		 !strncmp(user, st->prev_lufrag, (size_t)(colon - user))) {
		pwd = st->prev_lpwd;
		old_gen = true;
	}
	if (!pwd || stun_check_integrity(m, (const uint8_t *)pwd, strlen(pwd))) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_UNAUTHORIZED, "Unauthorized", NULL);
		return ICE_RECV_DROPPED;
	}
	if (m->nunknown) {
		ice_respond_error(a, m, rx, STUN_ERROR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", pwd);
		return ICE_RECV_HANDLED;
	}
	/* §7.3: PRIORITY and one role attribute are mandatory. */
	if (!pa || stun_attr_get_u32(m, pa, &prio) || (!ca && !da) ||
	    stun_attr_get_u64(m, ca ? ca : da, &their_tb)) {
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Missing PRIORITY or role",
				  pwd);
		return ICE_RECV_HANDLED;
	}
	a->stats.checks_received++;
	/* §7.3.1.1: role conflict. A lite agent stays controlled. */
	if (!a->cfg.lite) {
		if (a->controlling && ca) {
			if (a->tiebreaker >= their_tb) {
				a->stats.role_conflicts++;
				ice_respond_error(a, m, rx, STUN_ERROR_ROLE_CONFLICT,
						  "Role Conflict", pwd);
				return ICE_RECV_HANDLED;
			}
			ice_set_role(a, false);
		} else if (!a->controlling && da) {
			if (a->tiebreaker >= their_tb) {
				ice_set_role(a, true);
			} else {
				a->stats.role_conflicts++;
				ice_respond_error(a, m, rx, STUN_ERROR_ROLE_CONFLICT,
						  "Role Conflict", pwd);
				return ICE_RECV_HANDLED;
			}
		}
	}
	ice_respond_success(a, m, rx, pwd);

	/* Consent/keepalive of the previous generation during a restart: the
	 * answer above is all it needs. */
	if (old_gen) {
		struct ice_sel *sel = &st->comp[h->comp - 1].sel;

		if (a->cfg.lite && sel->active && netaddr_equal(&rx->remote, &sel->remote.addr))
			sel->consent_expiry_ms = rx->now + a->cfg.consent_timeout_ms;
		return ICE_RECV_HANDLED;
	}
	l = ice_rx_local(a, st, rx);
	if (l < 0)
		return ICE_RECV_HANDLED;
	/* §7.3.1.3: an unknown source is a peer-reflexive remote candidate. */
	r = ice_rcand_find(st, h->comp, &rx->remote);
	if (r < 0) {
		struct ice_cand c = {0};

		c.component = (uint16_t)h->comp;
		c.type = ICE_CAND_TYPE_PRFLX;
		c.addr = rx->remote;
		c.priority = prio;
		/* Any value unique among the remote foundations. */
		snprintf(c.foundation, sizeof(c.foundation), "prflx%u", st->prflx_seq++);
		r = ice_rcand_push(st, &c);
		if (r < 0)
			return ICE_RECV_HANDLED;
	}
	if (a->cfg.lite) {
		/* A lite agent checks nothing: the pair is valid by the request
		 * itself, and the controlling peer's USE-CANDIDATE selects it. */
		idx = ice_pair_find(st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			idx = ice_pair_add(a, st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			return ICE_RECV_HANDLED;
		ice_pair_set_state(a, st, &st->pairs[idx], ICE_PAIR_STATE_SUCCEEDED);
		st->pairs[idx].valid = true;
		if (use_cand)
			ice_select(a, h->stream, (unsigned)idx, rx->now);
		{
			struct ice_sel *sel = &st->comp[h->comp - 1].sel;

			/* The lite agent's consent: the peer's checks; lost is
			 * final here too (RFC 7675 §5.1), until a restart. */
			if (sel->active && sel->consent == ICE_CONSENT_STATE_GRANTED &&
			    netaddr_equal(&rx->remote, &sel->remote.addr))
				sel->consent_expiry_ms = rx->now + a->cfg.consent_timeout_ms;
		}
		return ICE_RECV_HANDLED;
	}
	idx = ice_pair_find(st, (unsigned)l, (unsigned)r);
	if (idx < 0) {
		idx = ice_pair_add(a, st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			return ICE_RECV_HANDLED;
		if (st->lcands[l].turn >= 0)
			ice_relay_permit(a, &st->lcands[l], &st->rcands[r], rx->now);
	}
	/* §7.3.1.4 triggered checks; §7.3.1.5 nomination as controlled. */
	{
		struct ice_pair *p = &st->pairs[idx];
		bool completed = st->comp[h->comp - 1].sel.active &&
				 st->comp[h->comp - 1].sel.generation == st->generation;

		switch (p->state) {
		case ICE_PAIR_STATE_SUCCEEDED:
			if (use_cand && !a->controlling)
				ice_select(a, h->stream,
					   (unsigned)(p->valid_idx >= 0 ? p->valid_idx : idx),
					   rx->now);
			break;
		case ICE_PAIR_STATE_IN_PROGRESS:
			if (use_cand && !a->controlling)
				p->nominate_on_success = true;
			if (completed && !use_cand)
				break; /* §7.3.1.4: no new checks once completed */
			/* §7.3.1.4: cancel the transaction in progress (no
			 * retransmissions; a success still counts until it would
			 * have timed out) and check the pair again at once. */
			memcpy(p->cancel_tid, p->tid, STUN_TID_LEN);
			p->cancel_until_ms = p->txn_end_ms;
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
			ice_trigger(a, st, (unsigned)idx);
			break;
		case ICE_PAIR_STATE_FAILED:
		case ICE_PAIR_STATE_FROZEN:
		case ICE_PAIR_STATE_WAITING:
			if (use_cand && !a->controlling)
				p->nominate_on_success = true;
			if (completed && !use_cand)
				break; /* §7.3.1.4: no new checks once completed */
			if (st->comp[h->comp - 1].timed_out)
				break; /* given up for good (nomination_timeout_ms) */
			if (st->list == ICE_LIST_COMPLETED && !use_cand)
				break;
			/* §7.3.1.4 makes a Failed pair Waiting even when every pair
			 * had failed: the peer's check shows the path opened since
			 * (its NAT, its late start). A completed list reopens for a
			 * renomination. */
			st->list = ICE_LIST_RUNNING;
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
			ice_trigger(a, st, (unsigned)idx);
			break;
		}
	}
	/* The peer's checks on the selected pair prove it alive too, but only
	 * responses refresh consent (RFC 7675 §5.1); nothing to do here. */
	return ICE_RECV_HANDLED;
}

/* ---- recv ----------------------------------------------------------------------- */

static int ice_find_host(const struct ice_agent *a, const struct netaddr *local)
{
	for (unsigned h = 0; h < a->nhosts; h++)
		if (netaddr_equal(&a->hosts[h].base, local))
			return (int)h;
	return -1;
}

static int ice_on_stun(struct ice_agent *a, const uint8_t *buf, size_t len, const struct ice_rx *rx)
{
	struct stun_msg m;
	int err = stun_parse(&m, buf, len);

	if (err < 0) {
		a->stats.rx_dropped_malformed++;
		ice_log(a, ICE_LOG_DEBUG, "dropped a STUN datagram: %s", stun_strerror(err));
		return ICE_RECV_DROPPED;
	}
	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		return ice_on_request(a, &m, rx);
	case STUN_CLASS_INDICATION:
		/* Binding indications are keepalives (RFC 8445 §11): nothing to do. */
		if (m.method == STUN_METHOD_BINDING)
			return ICE_RECV_HANDLED;
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	default:
		if (m.method != STUN_METHOD_BINDING) {
			a->stats.rx_dropped_unknown++;
			return ICE_RECV_DROPPED;
		}
		if (rx->turn < 0 && ice_on_gather_response(a, &m, rx) >= 0)
			return ICE_RECV_HANDLED;
		return ice_on_response(a, &m, rx);
	}
}

static int ice_on_data(struct ice_agent *a, const uint8_t *buf, size_t len, const struct ice_rx *rx,
		       struct ice_recv_result *res)
{
	const struct ice_host *h = &a->hosts[rx->host];
	const struct ice_sel *sel = &a->streams[h->stream]->comp[h->comp - 1].sel;

	if (!len) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	a->stats.rx_data++;
	res->stream = h->stream;
	res->component = h->comp;
	res->remote = rx->remote;
	res->data = buf;
	res->len = len;
	res->relayed = rx->turn >= 0;
	res->on_selected = sel->active && sel->host == rx->host && sel->turn == rx->turn &&
			   netaddr_equal(&sel->remote.addr, &rx->remote);
	return ICE_RECV_DATA;
}

int ice_agent_recv(struct ice_agent *a, uint64_t now_ms, const struct netaddr *local,
		   const struct netaddr *remote, const uint8_t *buf, size_t len,
		   struct ice_recv_result *res)
{
	struct ice_rx rx = {.turn = -1, .now = now_ms};
	struct turn_recv tr;
	enum demux_class cls;
	int ret;

	a->stats.rx_datagrams++;
	if (now_ms > a->now)
		a->now = now_ms;
	if (!buf || !len || !local || !remote) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	rx.host = ice_find_host(a, local);
	if (rx.host < 0) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	rx.remote = *remote;
	netaddr_unmap_v4(&rx.remote);
	/* RFC 7983 (demux.h): STUN and ChannelData may be TURN traffic. */
	cls = demux_first_byte(buf[0]);
	if (cls == DEMUX_STUN || cls == DEMUX_CHANNEL_DATA) {
		struct ice_host *h = &a->hosts[rx.host];

		for (unsigned t = 0; t < a->nturn; t++) {
			if (!h->turn[t] ||
			    !netaddr_equal(turn_client_server(h->turn[t]), &rx.remote))
				continue;
			ret = turn_client_recv(h->turn[t], now_ms, buf, len, &tr);
			ice_handle_turn_events(a, (unsigned)rx.host, t, now_ms);
			if (ret == TURN_RECV_HANDLED) {
				a->stats.turn_transactions++;
				goto out_handled;
			}
			if (ret == TURN_RECV_DROPPED) {
				a->stats.rx_dropped_malformed++;
				return ICE_RECV_DROPPED;
			}
			if (ret == TURN_RECV_DATA) {
				rx.turn = (int)t;
				rx.remote = tr.peer;
				buf = tr.data;
				len = tr.len;
			}
			break;
		}
	}
	/* Released: only the TURN answers to the final Refresh matter. */
	if (!len || a->released) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	cls = demux_first_byte(buf[0]); /* the payload, if it came through TURN */
	if (cls == DEMUX_STUN) {
		ret = ice_on_stun(a, buf, len, &rx);
		if (ret != ICE_RECV_HANDLED)
			return ret;
		goto out_handled;
	}
	if (cls == DEMUX_CHANNEL_DATA && rx.turn < 0) {
		a->stats.rx_dropped_unknown++; /* ChannelData not from our TURN server */
		return ICE_RECV_DROPPED;
	}
	return ice_on_data(a, buf, len, &rx, res);
out_handled:
	for (unsigned s = 0; s < a->nstreams; s++)
		ice_stream_update_list(a, s);
	ice_nominate(a, now_ms);
	ice_agent_update_state(a);
	return ICE_RECV_HANDLED;
}
