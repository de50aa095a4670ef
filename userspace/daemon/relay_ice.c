// SPDX-License-Identifier: GPL-2.0-only
/* relay_ice: the call legs' ICE agents: creation, remote descriptions, events (see relay.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "icepath/sdp.h"
#include "relay.h"

#define RELAY_LOCAL_PREF 65535

static void agent_random(void *buf, size_t len, void *ctx)
{
	relay_random(buf, len);
}

static void agent_log(void *ctx, enum ice_log_level level, const char *msg)
{
	const struct call_leg *l = ctx;
	static const enum daemon_log_level map[] = {
		[ICE_LOG_ERROR] = DAEMON_LOG_ERROR,
		[ICE_LOG_WARN] = DAEMON_LOG_WARN,
		[ICE_LOG_INFO] = DAEMON_LOG_DEBUG, /* per-check chatter */
		[ICE_LOG_DEBUG] = DAEMON_LOG_DEBUG,
	};

	daemon_log(map[level], "call %s leg %s: ice: %s", l->call->id, l->tag[0] ? l->tag : "-",
		   msg);
}

void relay_agent_free(struct relay *r, struct call_leg *l)
{
	if (!l->agent)
		return;
	relay_pending_flush(r, l, r->now_ms);
	timerheap_remove(&r->timers, &l->ice_timer);
	ice_agent_free(l->agent);
	l->agent = NULL;
	l->agent_started = false;
	for (unsigned i = 0; i < l->nstreams; i++) {
		relay_early_free(r, &l->streams[i]);
		l->streams[i].ice = false;
		l->streams[i].ice_stream = -1;
		l->streams[i].consent = true;
	}
}

/* ice_config.pace: one check of any leg every RELAY_PACE_MS (RFC 8445
 * §14.2's implementation-wide limit); each agent's own Ta (and the peer's
 * a=ice-pacing) still paces it on top of this. */
static uint64_t relay_pace(void *ctx, uint64_t now_ms)
{
	struct relay *r = ctx;

	if (now_ms < r->pace_next_ms) {
		r->pace_deferred++;
		return r->pace_next_ms;
	}
	r->pace_next_ms = now_ms + RELAY_PACE_MS;
	r->pace_granted++;
	return 0;
}

/* What every agent of leg l is configured with. */
static struct ice_config agent_config(struct relay *r, struct call_leg *l, bool controlling,
				      bool lite)
{
	struct ice_config cfg = {
		.controlling = controlling,
		.lite = lite,
		.software = "icepath",
		.consent_interval_ms = r->opts.consent_interval_ms,
		.consent_timeout_ms = r->opts.consent_timeout_ms,
		.random = agent_random,
		.log = agent_log,
		.log_ctx = l,
		.pace = relay_pace,
		.pace_ctx = r,
	};

	return cfg;
}

int relay_agent_create(struct relay *r, struct call_leg *l, bool controlling, bool lite,
		       uint64_t now, struct ng_reply *rep)
{
	struct ice_config cfg = agent_config(r, l, controlling, lite);
	int err, id;

	err = ice_agent_new(&l->agent, &cfg);
	if (err)
		return ng_reply_error(rep, "cannot create an ICE agent: %s", strerror(-err));
	l->ice_timer.owner = l;
	l->ice_timer.kind = RELAY_TIMER_ICE;
	l->ice_lite = lite;
	for (unsigned i = 0; i < l->nstreams; i++) {
		struct call_stream *s = &l->streams[i];
		unsigned ncomp = s->offer_mux ? 1 : 2;

		if (!s->active)
			continue;
		id = ice_agent_add_stream(l->agent, ncomp);
		if (id < 0) {
			err = id;
			goto fail;
		}
		s->ice = true;
		s->ice_stream = id;
		s->consent = true;
		/* an ICE leg's destination is the selected pair, nothing else */
		s->remote_set[0] = s->remote_set[1] = false;
		for (unsigned c = 0; c < ncomp; c++) {
			err = ice_agent_add_host(l->agent, (unsigned)id, c + 1, &s->local[c],
						 RELAY_LOCAL_PREF);
			if (err)
				goto fail;
		}
	}
	if (!lite && netaddr_family(&r->opts.stun))
		ice_agent_add_stun_server(l->agent, &r->opts.stun);
	if (!lite && netaddr_family(&r->opts.turn))
		ice_agent_add_turn_server(l->agent, &r->opts.turn, r->opts.turn_user,
					  r->opts.turn_pass);
	err = ice_agent_gather(l->agent, now);
	if (err)
		goto fail;
	relay_agent_drain(r, l, now);
	return 0;
fail:
	relay_agent_free(r, l);
	return ng_reply_error(rep, "cannot set up ICE on leg %s: %s", l->tag[0] ? l->tag : "-",
			      strerror(-err));
}

/* A stream of a recovered leg that had ICE: both sides' credentials and a
 * peer address on every component it uses. */
static bool resumable(const struct call_stream *s)
{
	return s->active && !s->bundled && s->local_ufrag[0] && s->local_pwd[0] &&
	       s->remote_ufrag[0] && s->remote_pwd[0] && s->remote_set[CALL_COMP_RTP] &&
	       s->sock[CALL_COMP_RTP].fd >= 0;
}

int relay_agent_resume(struct relay *r, struct call_leg *l, uint64_t now)
{
	struct ice_resume_stream rs[CALL_MAX_STREAMS];
	unsigned n = 0;
	struct ice_config cfg;
	int err;

	memset(rs, 0, sizeof(rs));
	for (unsigned i = 0; i < l->nstreams; i++) {
		struct call_stream *s = &l->streams[i];
		struct ice_resume_stream *x = &rs[n];

		if (!resumable(s))
			continue;
		/* RTCP on its own component only where the leg had one */
		x->ncomponents = !s->rtcp_mux && s->remote_set[CALL_COMP_RTCP] &&
						 s->sock[CALL_COMP_RTCP].fd >= 0
					 ? 2
					 : 1;
		x->local_ufrag = s->local_ufrag;
		x->local_pwd = s->local_pwd;
		x->remote_ufrag = s->remote_ufrag;
		x->remote_pwd = s->remote_pwd;
		for (unsigned c = 0; c < x->ncomponents; c++) {
			x->pair[c].base = s->local[c];
			x->pair[c].remote = s->remote[c];
		}
		s->ice_stream = (int)n++;
	}
	if (!n) {
		log_warn("call %s leg %s: recovered without the peer's ICE credentials (state "
			 "file of an older icepathd): no consent checks toward it, media only from "
			 "its recorded address",
			 l->call->id, l->tag);
		return -ENOENT;
	}
	/* the roles the relay had: controlled toward the offerer (leg 0),
	 * controlling toward the answerer (leg 1) */
	cfg = agent_config(r, l, l->side == 1, l->ice_lite);
	err = ice_agent_resume(&l->agent, &cfg, rs, n, now);
	if (err) {
		log_warn("call %s leg %s: cannot resume ICE from the state file (%s): no consent "
			 "checks toward it, media only from its recorded address",
			 l->call->id, l->tag, strerror(-err));
		for (unsigned i = 0; i < l->nstreams; i++)
			l->streams[i].ice_stream = -1;
		return err;
	}
	for (unsigned i = 0; i < l->nstreams; i++)
		l->streams[i].ice = l->streams[i].ice_stream >= 0;
	l->agent_started = true;
	l->ice_timer.owner = l;
	l->ice_timer.kind = RELAY_TIMER_ICE;
	log_info("call %s leg %s: ICE resumed on %u stream%s: RFC 7675 consent checks both ways",
		 l->call->id, l->tag, n, n == 1 ? "" : "s");
	relay_agent_drain(r, l, now);
	return 0;
}

int relay_agent_feed(struct relay *r, struct call_leg *l, const struct sdp *sdp, uint64_t now,
		     struct ng_reply *rep)
{
	struct sdp_ice_desc *d = malloc(sizeof(*d));
	char why[160];
	int err = 0;

	if (!d)
		return ng_reply_error(rep, "out of memory");
	ice_agent_set_remote_lite(l->agent, l->peer_lite);
	for (unsigned i = 0; i < l->nstreams && i < sdp->n_media; i++) {
		struct call_stream *s = &l->streams[i];

		if (!s->ice || sdp_ice_extract(sdp, i, d, why, sizeof(why)))
			continue;
		if (!d->ufrag[0] || !d->pwd[0])
			continue;
		if (s->remote_ufrag[0] && strcmp(s->remote_ufrag, d->ufrag)) {
			/* RFC 8445 §9: the peer restarted ICE; we restart too */
			log_info("call %s leg %s stream %u: peer restarted ICE", l->call->id,
				 l->tag, i);
			ice_agent_set_remote_credentials(l->agent, (unsigned)s->ice_stream,
							 d->ufrag, d->pwd);
			ice_agent_restart_stream(l->agent, (unsigned)s->ice_stream, now);
			call_leg_transition(&r->calls, l, CALL_LEG_STATE_CHECKING, "ICE restart",
					    now);
		} else {
			err = ice_agent_set_remote_credentials(l->agent, (unsigned)s->ice_stream,
							       d->ufrag, d->pwd);
			if (err) {
				err = ng_reply_error(
					rep, "media section %u: ICE credentials refused: %s", i + 1,
					strerror(-err));
				break;
			}
		}
		snprintf(s->remote_ufrag, sizeof(s->remote_ufrag), "%s", d->ufrag);
		snprintf(s->remote_pwd, sizeof(s->remote_pwd), "%s", d->pwd);
		for (size_t k = 0; k < d->n_cands; k++)
			ice_agent_add_remote_candidate(l->agent, (unsigned)s->ice_stream,
						       &d->cands[k]);
		if (d->end_of_candidates)
			ice_agent_remote_end_of_candidates(l->agent, (unsigned)s->ice_stream);
		if (d->pacing_ms)
			ice_agent_set_remote_pacing(l->agent, d->pacing_ms);
		if (d->n_malformed_skipped) {
			/* why names the first bad line, the peer's text:
			 * daemon_log() escapes it with the rest of the line */
			log_warn("call %s leg %s media section %u: %zu malformed a=candidate "
				 "line%s skipped, the others kept (first: %s): fix the peer's SDP",
				 l->call->id, l->tag[0] ? l->tag : "-", i + 1,
				 d->n_malformed_skipped, d->n_malformed_skipped == 1 ? "" : "s",
				 why);
			ng_reply_warn(rep, "media section %u: %zu malformed a=candidate line%s "
					   "skipped",
				      i + 1, d->n_malformed_skipped,
				      d->n_malformed_skipped == 1 ? "" : "s");
		}
		if (d->n_mdns_skipped)
			ng_reply_warn(rep, "media section %u: %zu mDNS (.local) candidates ignored",
				      i + 1, d->n_mdns_skipped);
	}
	free(d);
	relay_agent_drain(r, l, now);
	return err;
}

/* ---- ICE events ------------------------------------------------------------------ */

struct call_stream *relay_stream_by_ice(struct call_leg *l, unsigned ice_stream)
{
	for (unsigned i = 0; i < l->nstreams; i++)
		if (l->streams[i].ice && l->streams[i].ice_stream == (int)ice_stream)
			return &l->streams[i];
	return NULL;
}

/* Every stream that carries its own media has a pair. */
static bool leg_usable(const struct call_leg *l)
{
	for (unsigned i = 0; i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		if (s->active && !s->bundled && !s->remote_set[CALL_COMP_RTP])
			return false;
	}
	return true;
}

static void on_ice_event(struct relay *r, struct call_leg *l, const struct ice_event *ev,
			 uint64_t now)
{
	char la[NETADDR_STRLEN], ra[NETADDR_STRLEN];
	struct call_stream *s = relay_stream_by_ice(l, ev->stream);
	unsigned comp = ev->component ? ev->component - 1 : 0;

	switch (ev->type) {
	case ICE_EVENT_SELECTED_PAIR:
		if (!s || comp >= CALL_NCOMP)
			return;
		s->remote[comp] = ev->pair.remote.addr;
		s->remote_set[comp] = true;
		if (comp == CALL_COMP_RTP) {
			s->via_turn = ev->pair.local.type == ICE_CAND_TYPE_RELAY;
			snprintf(s->local_type, sizeof(s->local_type), "%s",
				 ice_cand_type_str(ev->pair.local.type));
			snprintf(s->remote_type, sizeof(s->remote_type), "%s",
				 ice_cand_type_str(ev->pair.remote.type));
			if (!s->nominated_ms)
				s->nominated_ms = now;
		}
		s->consent = true;
		relay_early_flush(r, l, s, comp, now);
		log_info("call %s leg %s stream %u comp %u: selected pair %s (%s) -> %s (%s)%s",
			 l->call->id, l->tag, s->index, ev->component,
			 netaddr_str(&ev->pair.local.addr, la, sizeof(la)),
			 ice_cand_type_str(ev->pair.local.type),
			 netaddr_str(&ev->pair.remote.addr, ra, sizeof(ra)),
			 ice_cand_type_str(ev->pair.remote.type),
			 s->via_turn ? ", through the relay's TURN allocation: userspace path"
				     : "");
		relay_leg_changed(r, l, now);
		break;
	case ICE_EVENT_CONSENT_LOST:
		if (!s)
			return;
		s->consent = false;
		log_warn("call %s leg %s stream %u: RFC 7675 consent lost: forwarding toward %s "
			 "stops",
			 l->call->id, l->tag, s->index,
			 netaddr_str(&s->remote[CALL_COMP_RTP], ra, sizeof(ra)));
		relay_leg_changed(r, l, now);
		break;
	case ICE_EVENT_CONSENT_REGAINED:
		if (!s)
			return;
		s->consent = true;
		log_info("call %s leg %s stream %u: consent regained: forwarding resumes",
			 l->call->id, l->tag, s->index);
		relay_leg_changed(r, l, now);
		break;
	case ICE_EVENT_STATE:
		log_debug("call %s leg %s: ICE agent %s", l->call->id, l->tag,
			  ice_agent_state_str(ev->state));
		/* a BUNDLE member the peer never checks fails in the agent;
		 * the leg fails only if a stream that carries media has no pair */
		if (ev->state == ICE_AGENT_STATE_FAILED && !leg_usable(l))
			call_leg_transition(&r->calls, l, CALL_LEG_STATE_FAILED,
					    "ICE check list failed", now);
		break;
	case ICE_EVENT_FAILED:
		log_warn("call %s leg %s stream %u comp %u: ICE failed: no candidate pair works",
			 l->call->id, l->tag, s ? s->index : ev->stream, ev->component);
		break;
	case ICE_EVENT_TURN_ERROR:
		log_warn("call %s leg %s: TURN server error %d (check --turn, --turn-user, "
			 "--turn-pass)",
			 l->call->id, l->tag, ev->error);
		break;
	case ICE_EVENT_ROLE_CHANGED:
		log_info("call %s leg %s: ICE role now %s (role conflict, RFC 8445 §7.3.1.1)",
			 l->call->id, l->tag, ev->controlling ? "controlling" : "controlled");
		break;
	case ICE_EVENT_CANDIDATE:
	case ICE_EVENT_GATHERING_DONE:
		/* NG has no channel to trickle the relay's candidates: a
		 * parked reply waits for all of them (relay_pending_poll()) */
		break;
	}
}

void relay_agent_drain_refusal(struct relay *r, struct call_leg *l, const struct netaddr *src,
			       uint64_t now_ms)
{
	struct ice_transmit tx;

	if (!l->agent)
		return;
	/* the agent answers a request it drops with an error (400/401) to
	 * its source: sent within the rate, else forgotten, never queued */
	while (ice_agent_poll_transmit(l->agent, &tx))
		if (!netaddr_equal(&tx.remote, src) || relay_stun_answer_allowed(r, src, now_ms))
			relay_send_tx_now(r, l, &tx);
	relay_agent_drain(r, l, now_ms);
}

void relay_agent_drain(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	struct ice_transmit tx;
	struct ice_event ev;
	bool more = true;
	uint64_t next, reply;

	if (!l->agent)
		return;
	while (more) {
		more = false;
		while (ice_agent_poll_transmit(l->agent, &tx))
			relay_send_tx_now(r, l, &tx);
		while (ice_agent_poll_event(l->agent, &ev)) {
			on_ice_event(r, l, &ev, now_ms);
			more = true;
		}
	}
	/* a parked NG reply is due at gathering's end or its timeout */
	reply = relay_pending_poll(r, l, now_ms);
	next = ice_agent_next_deadline(l->agent);
	timerheap_set(&r->timers, &l->ice_timer, reply < next ? reply : next);
}
