// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local candidates (RFC 8445 §5.1): host bases, server-reflexive
 * gathering from STUN servers, relayed candidates from the TURN clients,
 * foundations, redundancy, default candidates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ice_int.h"

/* RFC 8445 §5.1.1.3: same type, base IP, server IP and transport share a
 * foundation. A hash of those, printed, is stable across streams. */
static void ice_foundation(char out[ICE_FOUNDATION_MAX], enum ice_cand_type type,
			   const struct netaddr *base, const struct netaddr *server)
{
	struct netaddr b = *base, s = {0};
	uint32_t h = 2166136261u;

	netaddr_set_port(&b, 0);
	if (server) {
		s = *server;
		netaddr_set_port(&s, 0);
	}
	h = (h ^ (uint32_t)type) * 16777619u;
	h = (h ^ netaddr_hash(&b)) * 16777619u;
	h = (h ^ (server ? netaddr_hash(&s) : 0)) * 16777619u;
	snprintf(out, ICE_FOUNDATION_MAX, "%u", h % 1000000000u);
}

/* Signalled to the peer and paired: relay_only keeps host bases to itself. */
bool ice_lcand_offered(const struct ice_agent *a, const struct ice_cand *c)
{
	return !a->cfg.relay_only || c->type == ICE_CAND_TYPE_RELAY;
}

/*
 * Add a local candidate unless redundant (RFC 8445 §5.1.3: same address and
 * same base as one of higher or equal priority). Returns its index or -1.
 */
int ice_lcand_add(struct ice_agent *a, unsigned sidx, const struct ice_cand *c, int host, int turn,
		  bool announce, uint64_t now)
{
	struct ice_stream *st = a->streams[sidx];
	struct ice_lcand *lc;
	struct ice_event ev = {.type = ICE_EVENT_CANDIDATE};

	for (unsigned i = 0; i < st->nl; i++) {
		lc = &st->lcands[i];
		if (lc->c.component == c->component && netaddr_equal(&lc->c.addr, &c->addr) &&
		    lc->host == host && lc->turn == turn) {
			if (lc->c.priority >= c->priority)
				return -1;
		}
	}
	if (ice_grow((void **)&st->lcands, &st->cap_l, sizeof(*st->lcands), st->nl + 1,
		     ICE_MAX_LOCAL_CANDIDATES)) {
		ice_log(a, ICE_LOG_WARN, "stream %u: local candidate limit %d reached", sidx,
			ICE_MAX_LOCAL_CANDIDATES);
		return -1;
	}
	lc = &st->lcands[st->nl];
	lc->c = *c;
	lc->host = host;
	lc->turn = turn;
	if (announce && c->type != ICE_CAND_TYPE_PRFLX && ice_lcand_offered(a, c)) {
		ev.stream = sidx;
		ev.component = c->component;
		ice_cand_export(c, &ev.candidate);
		ice_push_event(a, &ev);
	}
	st->nl++;
	if (c->type == ICE_CAND_TYPE_HOST || c->type == ICE_CAND_TYPE_RELAY)
		ice_pair_add_for_local(a, st, st->nl - 1, now);
	return (int)st->nl - 1;
}

void ice_cand_fill(struct ice_cand *c, enum ice_cand_type type, unsigned comp, uint16_t local_pref,
		   const struct netaddr *addr, const struct netaddr *base,
		   const struct netaddr *raddr, const struct netaddr *server)
{
	memset(c, 0, sizeof(*c));
	c->component = (uint16_t)comp;
	c->type = type;
	c->addr = *addr;
	c->priority = ice_candidate_priority(ice_cand_type_pref(type), local_pref, comp);
	if (raddr)
		c->raddr = *raddr;
	ice_foundation(c->foundation, type, base, server);
}

int ice_agent_add_host(struct ice_agent *a, unsigned stream, unsigned component,
		       const struct netaddr *base, uint16_t local_pref)
{
	struct ice_stream *st = ice_stream_get(a, stream);
	struct ice_cand c;
	struct ice_host *h;
	unsigned n = 0;

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	if (!base || (netaddr_family(base) != AF_INET && netaddr_family(base) != AF_INET6) ||
	    netaddr_is_any(base) || !netaddr_port(base))
		return -EINVAL;
	if (a->released)
		return -EALREADY;
	for (unsigned i = 0; i < a->nhosts; i++) {
		if (netaddr_equal(&a->hosts[i].base, base))
			return -EEXIST; /* one socket, one base, one component */
		if (a->hosts[i].stream == stream && a->hosts[i].comp == component)
			n++;
	}
	if (n >= ICE_MAX_HOSTS)
		return -ENOSPC;
	if (a->nhosts == a->cap_hosts) {
		unsigned cap = a->cap_hosts ? a->cap_hosts * 2 : 1;
		struct ice_host *nh = realloc(a->hosts, cap * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		a->hosts = nh;
		a->cap_hosts = cap;
	}
	h = &a->hosts[a->nhosts];
	memset(h, 0, sizeof(*h));
	h->base = *base;
	h->stream = stream;
	h->comp = component;
	h->local_pref = local_pref;
	a->nhosts++;
	ice_cand_fill(&c, ICE_CAND_TYPE_HOST, component, local_pref, base, base, NULL, NULL);
	ice_lcand_add(a, stream, &c, (int)a->nhosts - 1, -1, true, 0);
	if (a->gather_started) {
		/* Trickle: gathered at the next tick, which is due now. */
		a->gather_pending = true;
		st->gathering = ICE_GATHERING_STATE_GATHERING;
	}
	return 0;
}

int ice_agent_add_stun_server(struct ice_agent *a, const struct netaddr *server)
{
	if (!server || !netaddr_port(server))
		return -EINVAL;
	if (a->nstun >= ICE_MAX_SERVERS)
		return -ENOSPC;
	if (a->gather_started)
		return -EALREADY;
	if (ice_grow((void **)&a->stun, &a->cap_stun, sizeof(*a->stun), a->nstun + 1,
		     ICE_MAX_SERVERS))
		return -ENOMEM;
	memset(&a->stun[a->nstun], 0, sizeof(a->stun[0]));
	a->stun[a->nstun++].addr = *server;
	return 0;
}

int ice_agent_add_turn_server(struct ice_agent *a, const struct netaddr *server,
			      const char *username, const char *password)
{
	struct ice_server *s;

	if (!server || !netaddr_port(server) || !username || !password ||
	    strlen(username) >= STUN_USERNAME_MAX || strlen(password) >= 256)
		return -EINVAL;
	if (a->nturn >= ICE_MAX_SERVERS)
		return -ENOSPC;
	if (a->gather_started)
		return -EALREADY;
	if (ice_grow((void **)&a->turn, &a->cap_turn, sizeof(*a->turn), a->nturn + 1,
		     ICE_MAX_SERVERS))
		return -ENOMEM;
	s = &a->turn[a->nturn];
	s->addr = *server;
	s->user = strdup(username);
	s->pass = strdup(password);
	if (!s->user || !s->pass) {
		free(s->user);
		free(s->pass);
		return -ENOMEM;
	}
	a->nturn++;
	return 0;
}

static void ice_stun_txn_send(struct ice_agent *a, unsigned h, unsigned i)
{
	struct ice_gather_txn *g = &a->hosts[h].stun[i];
	struct stun_builder b;
	uint8_t buf[128];
	int len;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, g->tid);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len > 0)
		ice_queue_raw(a, &a->hosts[h].base, &a->stun[i].addr, buf, (size_t)len);
}

static void ice_gather_host(struct ice_agent *a, unsigned h, uint64_t now)
{
	struct ice_host *hh = &a->hosts[h];
	struct turn_client_config tcfg;

	if (hh->gathering || a->cfg.lite)
		return;
	hh->gathering = true;
	for (unsigned i = 0; i < a->nstun; i++) {
		struct ice_gather_txn *g = &hh->stun[i];

		if (netaddr_family(&a->stun[i].addr) != netaddr_family(&hh->base) ||
		    a->cfg.relay_only)
			continue;
		g->active = true;
		ice_random(a, g->tid, sizeof(g->tid));
		g->sent = 1;
		g->rto = a->cfg.rto_ms;
		g->next_ms = now + g->rto;
		ice_stun_txn_send(a, h, i);
	}
	for (unsigned i = 0; i < a->nturn; i++) {
		if (netaddr_family(&a->turn[i].addr) != netaddr_family(&hh->base)) {
			hh->turn_done[i] = true;
			continue;
		}
		memset(&tcfg, 0, sizeof(tcfg));
		tcfg.server = a->turn[i].addr;
		tcfg.base = hh->base;
		tcfg.username = a->turn[i].user;
		tcfg.password = a->turn[i].pass;
		tcfg.software = a->cfg.software;
		/* relayed candidates of the base's family: they pair with the
		 * peer's candidates of that family (RFC 8656 §7.2) */
		tcfg.relayed_family = netaddr_family(&hh->base);
		tcfg.rto_ms = a->cfg.rto_ms;
		tcfg.rc = a->cfg.rc;
		tcfg.rm = a->cfg.rm;
		tcfg.random = a->cfg.random;
		tcfg.random_ctx = a->cfg.random_ctx;
		tcfg.log = a->cfg.log;
		tcfg.log_ctx = a->cfg.log_ctx;
		if (turn_client_new(&hh->turn[i], &tcfg) ||
		    turn_client_allocate(hh->turn[i], now)) {
			ice_log(a, ICE_LOG_ERROR, "cannot start a TURN allocation");
			hh->turn_done[i] = true;
			continue;
		}
		/* The Allocate goes out now, not at its first retransmission. */
		ice_turn_flush(a, h, i);
	}
}

void ice_gathering_check(struct ice_agent *a)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];
		bool done = true;
		struct ice_event ev = {.type = ICE_EVENT_GATHERING_DONE, .stream = s};

		if (st->gathering != ICE_GATHERING_STATE_GATHERING)
			continue;
		for (unsigned h = 0; h < a->nhosts && done; h++) {
			if (a->hosts[h].stream != s)
				continue;
			for (unsigned i = 0; i < ICE_MAX_SERVERS; i++)
				if (a->hosts[h].stun[i].active ||
				    (a->hosts[h].turn[i] && !a->hosts[h].turn_done[i]))
					done = false;
		}
		if (done) {
			ice_log(a, ICE_LOG_INFO, "stream %u: gathering complete", s);
			st->gathering = ICE_GATHERING_STATE_COMPLETE;
			ice_push_event(a, &ev);
		}
	}
}

int ice_agent_gather(struct ice_agent *a, uint64_t now_ms)
{
	if (a->released)
		return -EALREADY;
	if (a->cfg.relay_only && !a->nturn)
		return -EINVAL; /* relay_only without a TURN server: nothing to offer */
	a->gather_started = true;
	if (now_ms > a->now)
		a->now = now_ms;
	for (unsigned s = 0; s < a->nstreams; s++)
		a->streams[s]->gathering = ICE_GATHERING_STATE_GATHERING;
	for (unsigned h = 0; h < a->nhosts; h++)
		ice_gather_host(a, h, now_ms);
	ice_gathering_check(a);
	return 0;
}

enum ice_gathering_state ice_agent_gathering_state(const struct ice_agent *a, unsigned stream)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	return st ? st->gathering : ICE_GATHERING_STATE_NEW;
}

int ice_agent_local_credentials(const struct ice_agent *a, unsigned stream, const char **ufrag,
				const char **pwd)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	if (ufrag)
		*ufrag = st->lufrag;
	if (pwd)
		*pwd = st->lpwd;
	return 0;
}

int ice_agent_local_candidates(const struct ice_agent *a, unsigned stream,
			       struct ice_candidate *out, size_t max)
{
	const struct ice_stream *st = ice_stream_get(a, stream);
	size_t n = 0;

	if (!st)
		return -ENOENT;
	for (unsigned i = 0; i < st->nl; i++) {
		if (st->lcands[i].c.type == ICE_CAND_TYPE_PRFLX ||
		    !ice_lcand_offered(a, &st->lcands[i].c) || !ice_lcand_alive(a, &st->lcands[i]))
			continue; /* learnt from checks, or kept back: never signalled */
		if (n < max)
			ice_cand_export(&st->lcands[i].c, &out[n]);
		n++;
	}
	return (int)n;
}

int ice_agent_default_candidate(const struct ice_agent *a, unsigned stream, unsigned component,
				struct ice_candidate *out)
{
	const struct ice_stream *st = ice_stream_get(a, stream);
	/* RFC 8445 §5.1.4: the candidate most likely to work: relayed, then
	 * server-reflexive, then host. */
	static const enum ice_cand_type order[] = {ICE_CAND_TYPE_RELAY, ICE_CAND_TYPE_SRFLX,
						   ICE_CAND_TYPE_HOST};

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	for (unsigned o = 0; o < 3; o++) {
		const struct ice_cand *best = NULL;

		for (unsigned i = 0; i < st->nl; i++) {
			const struct ice_cand *c = &st->lcands[i].c;

			if (c->component == component && c->type == order[o] &&
			    ice_lcand_offered(a, c) && (!best || c->priority > best->priority))
				best = c;
		}
		if (best) {
			ice_cand_export(best, out);
			return 0;
		}
	}
	return -ENOENT;
}

int ice_on_gather_response(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx)
{
	struct ice_host *h = &a->hosts[rx->host];
	const struct stun_attr *xa;
	struct ice_cand c;
	struct netaddr mapped;

	for (unsigned i = 0; i < a->nstun; i++) {
		struct ice_gather_txn *g = &h->stun[i];

		if (!g->active || memcmp(g->tid, m->tid, STUN_TID_LEN) ||
		    !netaddr_equal(&rx->remote, &a->stun[i].addr))
			continue;
		g->active = false;
		xa = stun_msg_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
		/* RFC 8489 §6.3.3: unknown comprehension-required attributes
		 * fail the transaction. */
		if (m->cls == STUN_CLASS_SUCCESS && !m->nunknown && xa &&
		    !stun_attr_get_xor_addr(m, xa, &mapped)) {
			netaddr_unmap_v4(&mapped);
			ice_cand_fill(&c, ICE_CAND_TYPE_SRFLX, h->comp, h->local_pref, &mapped,
				      &h->base, &h->base, &a->stun[i].addr);
			ice_lcand_add(a, h->stream, &c, rx->host, -1, true, rx->now);
		} else {
			ice_log(a, ICE_LOG_WARN, "STUN server gave no mapped address");
		}
		ice_gathering_check(a);
		return ICE_RECV_HANDLED;
	}
	return -1;
}

/* ---- TURN glue -------------------------------------------------------------- */

void ice_handle_turn_events(struct ice_agent *a, unsigned h, unsigned t, uint64_t now)
{
	struct ice_host *hh = &a->hosts[h];
	struct turn_client *tc = hh->turn[t];
	struct turn_event tev;
	struct ice_transmit tx;

	if (!tc)
		return;
	while (turn_client_poll_transmit(tc, &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
	while (turn_client_poll_event(tc, &tev)) {
		struct ice_event ev = {
			.type = ICE_EVENT_TURN_ERROR, .stream = hh->stream, .component = hh->comp};
		struct netaddr relayed, mapped, raddr;
		struct ice_cand c;

		switch (tev.type) {
		case TURN_EVENT_ALLOCATED:
			hh->turn_done[t] = true;
			if (turn_client_relayed(tc, &relayed, &mapped))
				break;
			if (netaddr_family(&mapped) && !a->cfg.relay_only) {
				ice_cand_fill(&c, ICE_CAND_TYPE_SRFLX, hh->comp, hh->local_pref,
					      &mapped, &hh->base, &hh->base, &a->turn[t].addr);
				ice_lcand_add(a, hh->stream, &c, (int)h, -1, true, now);
			}
			/* relay_only hides the host: the related address (RFC 8839
			 * §5.1 wants one) is the wildcard, not the mapped address,
			 * which is the host's own when no NAT is in the way. */
			raddr = mapped;
			if (a->cfg.relay_only) {
				static const uint8_t any6[16];

				if (netaddr_family(&relayed) == AF_INET6)
					netaddr_from_v6(&raddr, any6, 0);
				else
					netaddr_from_v4(&raddr, 0, 0);
			}
			/* §5.1.1.2: the relayed candidate's base is itself. */
			ice_cand_fill(&c, ICE_CAND_TYPE_RELAY, hh->comp, hh->local_pref, &relayed,
				      &hh->base, &raddr, &a->turn[t].addr);
			ice_lcand_add(a, hh->stream, &c, (int)h, (int)t, true, now);
			ice_gathering_check(a);
			break;
		case TURN_EVENT_FAILED:
			ice_log(a, ICE_LOG_WARN, "TURN allocation failed: %d", tev.error);
			if (!a->released) {
				ev.error = tev.error;
				ice_push_event(a, &ev);
			}
			hh->turn_done[t] = true;
			ice_gathering_check(a);
			break;
		case TURN_EVENT_PERMISSION_FAILED:
			ev.error = tev.error;
			ice_push_event(a, &ev);
			break;
		default:
			break;
		}
	}
	while (turn_client_poll_transmit(tc, &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

/* Trickled hosts, STUN retransmissions (RFC 8489 §6.2.1), the TURN clients. */
void ice_gather_tick(struct ice_agent *a, uint64_t now)
{
	if (a->gather_pending && !a->released) {
		a->gather_pending = false;
		for (unsigned h = 0; h < a->nhosts; h++)
			ice_gather_host(a, h, now);
		ice_gathering_check(a);
	}
	for (unsigned h = 0; h < a->nhosts; h++) {
		struct ice_host *hh = &a->hosts[h];

		for (unsigned i = 0; i < a->nstun && !a->released; i++) {
			struct ice_gather_txn *g = &hh->stun[i];

			if (!g->active || g->next_ms > now)
				continue;
			if (g->sent >= a->cfg.rc) {
				ice_log(a, ICE_LOG_WARN, "STUN server timed out");
				g->active = false;
				ice_gathering_check(a);
				continue;
			}
			g->sent++;
			g->rto *= 2;
			g->next_ms =
				now + (g->sent == a->cfg.rc ? (uint64_t)a->cfg.rm * a->cfg.rto_ms
							    : g->rto);
			ice_stun_txn_send(a, h, i);
		}
		for (unsigned t = 0; t < a->nturn; t++) { /* client t is server t's */
			if (!hh->turn[t])
				continue;
			turn_client_tick(hh->turn[t], now);
			ice_handle_turn_events(a, h, t, now);
		}
	}
}

/* A relayed candidate whose allocation was released (or failed) is gone. */
bool ice_lcand_alive(const struct ice_agent *a, const struct ice_lcand *lc)
{
	const struct turn_client *tc;

	if (lc->turn < 0)
		return true;
	tc = a->hosts[lc->host].turn[lc->turn];
	return tc && turn_client_state(tc) == TURN_ALLOC_STATE_ALLOCATED;
}

/*
 * RFC 8445 §8.3: ICE completed ICE_FREE_UNUSED_MS ago: release every TURN
 * allocation no selected pair (of any generation still in use) sends
 * through. Its relayed candidates leave pairing and signalling; a later
 * ICE restart gathers no new ones (the host and server-reflexive
 * candidates stay).
 */
void ice_gather_free_unused(struct ice_agent *a, uint64_t now)
{
	for (unsigned h = 0; h < a->nhosts; h++)
		for (unsigned t = 0; t < ICE_MAX_SERVERS; t++) {
			struct turn_client *tc = a->hosts[h].turn[t];
			bool used = false;

			if (!tc || turn_client_state(tc) != TURN_ALLOC_STATE_ALLOCATED)
				continue;
			for (unsigned s = 0; s < a->nstreams && !used; s++)
				for (unsigned c = 1; c <= a->streams[s]->ncomp; c++) {
					const struct ice_sel *sel = &a->streams[s]->comp[c - 1].sel;

					if (sel->active && sel->host == (int)h &&
					    sel->turn == (int)t)
						used = true;
				}
			if (used)
				continue;
			ice_log(a, ICE_LOG_INFO, "TURN allocation unused since completion: released");
			turn_client_release(tc, now);
			ice_handle_turn_events(a, h, t, now);
		}
}
