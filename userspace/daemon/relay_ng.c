// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_ng: the NG operations of icepathd that read or end calls (query,
 * delete, list, statistics) and the ops table; offer and answer are in
 * relay_ng_offer.c.
 */
#include <stdio.h>
#include <string.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "relay.h"
#include "relay_crypto.h"

/* ---- query, delete, list, statistics ------------------------------------------- */

static void fill_ice(const struct call_leg *l, struct ng_leg_ice *ice)
{
	struct ice_pair_info p;

	memset(ice, 0, sizeof(*ice));
	if (!l->agent) {
		/* recovered with ICE but no agent to resume (older state file) */
		if (l->recovered && l->peer_ice)
			snprintf(ice->state, sizeof(ice->state), "recovered");
		return;
	}
	snprintf(ice->state, sizeof(ice->state), "%s",
		 ice_agent_state_str(ice_agent_state(l->agent)));
	for (unsigned i = 0; i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		if (!s->ice)
			continue;
		snprintf(ice->consent, sizeof(ice->consent), "%s",
			 ice_consent_state_str(
				 ice_agent_consent_state(l->agent, (unsigned)s->ice_stream, 1)));
		if (!ice_agent_selected_pair(l->agent, (unsigned)s->ice_stream, 1, &p)) {
			ice->has_pair = true;
			snprintf(ice->local_type, sizeof(ice->local_type), "%s",
				 ice_cand_type_str(p.local.type));
			snprintf(ice->remote_type, sizeof(ice->remote_type), "%s",
				 ice_cand_type_str(p.remote.type));
			ice->local = p.local.addr;
			ice->remote = p.remote.addr;
		}
		break;
	}
}

static void fill_leg(const struct relay *r, const struct call_leg *l, struct ng_leg *nl)
{
	memset(nl, 0, sizeof(*nl));
	snprintf(nl->tag, sizeof(nl->tag), "%s", l->tag);
	snprintf(nl->in_dialogue_with, sizeof(nl->in_dialogue_with), "%s",
		 l->call->legs[!l->side].tag);
	nl->created = relay_unix_time(r, l->call->created_ms);
	for (unsigned i = 0; i < l->nstreams && nl->n_medias < NG_MAX_MEDIAS; i++) {
		const struct call_stream *s = &l->streams[i];
		struct ng_media *m = &nl->medias[nl->n_medias++];

		m->index = i + 1;
		snprintf(m->type, sizeof(m->type), "%s", s->media);
		snprintf(m->protocol, sizeof(m->protocol), "%s", s->proto);
		m->flags = (s->active ? NG_MEDIA_INITIALIZED : 0) |
			   (s->rtcp_mux ? NG_MEDIA_RTCP_MUX : 0) | (s->ice ? NG_MEDIA_ICE : 0);
		if (l->crypto && l->crypto->mode == RELAY_CRYPTO_DTLS)
			m->flags |= NG_MEDIA_DTLS_SRTP;
		else if (l->crypto && l->crypto->mode == RELAY_CRYPTO_SDES)
			m->flags |= NG_MEDIA_SDES;
		for (unsigned c = 0; c < CALL_NCOMP; c++) {
			/* the port it arrives on: a muxed RTCP shares RTP's
			 * (RFC 5761), and is still its own stream here, with
			 * the RTCP userspace demuxed by payload type */
			unsigned pc = c == CALL_COMP_RTCP && s->rtcp_mux ? CALL_COMP_RTP : c;
			struct ng_stream *st;

			if (s->sock[pc].fd < 0)
				break;
			st = &m->streams[m->n_streams++];
			st->rtcp = c == CALL_COMP_RTCP;
			st->local_port = netaddr_port(&s->local[pc]);
			if (s->remote_set[pc])
				st->endpoint = s->remote[pc];
			st->advertised = s->advertised[pc];
			st->last_packet = relay_unix_time(r, s->last_seen_ms);
			/* kernelized only while XDP really forwards it: a flow the
			 * program passes up (no next hop, an egress that takes no
			 * native frames) is the userspace path's */
			st->kernelized = s->flow_installed[pc] &&
					 (s->fast_path[pc] == FASTPATH_PATH_NATIVE ||
					  s->fast_path[pc] == FASTPATH_PATH_GENERIC ||
					  (s->fast_path[pc] == FASTPATH_PATH_IDLE && s->fast_why[pc] &&
					   !strcmp(s->fast_why[pc], "ready")));
			if (s->flow_installed[pc] && s->fast_path[pc] == FASTPATH_PATH_USERSPACE)
				snprintf(st->fastpath_mode, sizeof(st->fastpath_mode),
					 "userspace (%s)", s->fast_why[pc] ? s->fast_why[pc] : "?");
			else if (s->flow_installed[pc])
				snprintf(st->fastpath_mode, sizeof(st->fastpath_mode), "%s",
					 fastpath_flow_path_str(s->fast_path[pc]));
			/* packets per component, RTCP on the RTCP stream, also
			 * a muxed port's RTCP that the fast path forwards (it
			 * counts RTCP apart in the flow). Drops are kept per m=
			 * line: reported on RTP. */
			st->fastpath.packets = s->rx_fast[c].packets;
			st->fastpath.bytes = s->rx_fast[c].bytes;
			st->userspace.packets = s->rx_user[c].packets;
			st->userspace.bytes = s->rx_user[c].bytes;
			if (c == CALL_COMP_RTP) {
				st->userspace.errors = s->dropped;
				st->foreign = s->foreign;
				if (l->crypto && i < CALL_MAX_STREAMS) {
					st->srtp_auth_fail = l->crypto->st[i].auth_fail;
					st->srtp_replay = l->crypto->st[i].replay;
				}
				if (l->bundle.on && i == l->bundle.tagged) {
					st->bundle = true;
					st->bundle_undemuxed = l->bundle.undemuxed;
				}
			}
		}
	}
	fill_ice(l, &nl->ice);
}

static void fill_call(struct relay *r, struct call *c, struct ng_reply *rep)
{
	relay_refresh_counters(r, c);
	rep->has_call = true;
	memset(&rep->call, 0, sizeof(rep->call));
	rep->call.created = relay_unix_time(r, c->created_ms);
	rep->call.last_signal = relay_unix_time(r, c->last_activity_ms);
	for (unsigned side = 0; side < 2; side++)
		fill_leg(r, &c->legs[side], &rep->call.legs[rep->call.n_legs++]);
}

static int ng_query(void *ctx, uint64_t now, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay *r = ctx;
	struct call *c = call_find(&r->calls, req->call_id);

	daemon_log_set_call(req->call_id); /* this call's lines carry its id */
	if (!c)
		return ng_reply_error(rep, "Unknown call-id '%s'", req->call_id);
	fill_call(r, c, rep);
	return 0;
}

/*
 * rtpengine's delete: an unknown call or tag is a warning ("result": "ok")
 * unless the "fatal" flag asks for an error. A from-tag names either party
 * (a BYE from the callee carries the callee's tag as from-tag); the to-tag
 * and via-branch select a dialogue or branch within a forked call, and an
 * icepath call is one dialogue of two parties, so deleting any of it leaves
 * nothing to relay: the whole call goes. "delete-delay" > 0 keeps the call
 * (forwarding) for that many seconds, so a BYE retransmission or a
 * re-INVITE racing the BYE still finds it; an offer/answer in that window
 * cancels the pending deletion. Without the key deletion is immediate
 * (icepath has no global delay; rtpengine's --delete-delay defaults to 30).
 */
static int delete_miss(const struct ng_request *req, struct ng_reply *rep, const char *what,
		       const char *name)
{
	if (req->flags & NG_FLAG_FATAL)
		return ng_reply_error(rep, "Unknown %s '%s'", what, name);
	ng_reply_warn(rep, "Unknown %s '%s': nothing deleted", what, name);
	return 0;
}

static int ng_delete(void *ctx, uint64_t now, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay *r = ctx;
	struct call *c = call_find(&r->calls, req->call_id);

	daemon_log_set_call(req->call_id); /* this call's lines carry its id */
	if (!c)
		return delete_miss(req, rep, "call-id", req->call_id);
	if (req->from_tag[0] && !call_leg_by_tag(c, req->from_tag))
		return delete_miss(req, rep, "from-tag", req->from_tag);
	fill_call(r, c, rep);
	if (req->has_delete_delay && req->delete_delay > 0) {
		c->delete_at_ms = now + (uint64_t)req->delete_delay * 1000u;
		c->delete_timer.owner = c;
		c->delete_timer.kind = RELAY_TIMER_DELETE;
		timerheap_set(&r->timers, &c->delete_timer, c->delete_at_ms);
		log_info("call %s: NG delete: deleted in %lld s (delete-delay)", c->id,
			 (long long)req->delete_delay);
		return 0;
	}
	relay_call_delete(r, c, "NG delete", now);
	return 0;
}

static int ng_list(void *ctx, uint64_t now, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay *r = ctx;
	int64_t n = 0;

	for (struct call *c = r->calls.head; c && n < req->limit; c = c->next, n++)
		if (ng_reply_add_call(rep, c->id))
			break;
	return 0;
}

static int ng_statistics(void *ctx, uint64_t now, const struct ng_request *req,
			 struct ng_reply *rep)
{
	struct relay *r = ctx;
	struct ng_statistics *st = &rep->stats;
	struct call_counters ru, rf, tu;
	long flows;

	memset(st, 0, sizeof(*st));
	rep->has_statistics = true;
	st->uptime_s = (now - r->started_ms) / 1000u;
	st->sessions_own = r->calls.ncalls;
	st->managed_sessions = r->managed_calls;
	st->userspace.packets = r->gone_user.packets;
	st->userspace.bytes = r->gone_user.bytes;
	st->fastpath.packets = r->gone_fast.packets;
	st->fastpath.bytes = r->gone_fast.bytes;
	for (struct call *c = r->calls.head; c; c = c->next) {
		relay_refresh_counters(r, c);
		for (unsigned side = 0; side < 2; side++) {
			call_leg_totals(&c->legs[side], &ru, &rf, &tu);
			st->userspace.packets += ru.packets;
			st->userspace.bytes += ru.bytes;
			st->fastpath.packets += rf.packets;
			st->fastpath.bytes += rf.bytes;
		}
	}
	st->userspace.errors = r->user_dropped;
	st->relayed_packets = st->userspace.packets + st->fastpath.packets;
	st->relayed_errors = r->user_dropped;
	flows = r->fp ? fastpath_flow_count(r->fp) : 0;
	st->fastpath_flows = flows > 0 ? (uint64_t)flows : 0;
	return 0;
}

const struct ng_ops relay_ng_ops = {
	.offer = relay_ng_offer,
	.answer = relay_ng_answer,
	.delete_call = ng_delete,
	.query = ng_query,
	.list = ng_list,
	.statistics = ng_statistics,
};
