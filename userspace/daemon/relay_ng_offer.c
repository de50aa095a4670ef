// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_ng: the NG operations of icepathd (offer, answer, delete, query,
 * list, statistics) on calls, legs, ICE agents and SDP rewriting.
 *
 * Offer (SIP INVITE): the offerer's SDP describes leg A (from-tag); the
 * relay binds ports for both legs, runs an ICE agent toward A when A's SDP
 * has ICE (the relay is the answerer there: controlled), and returns the
 * offer rewritten for leg B (the relay is B's offerer: controlling), with
 * ICE toward B per the "ICE" key. Answer (200 OK): the answerer's SDP
 * describes B (to-tag); the relay returns it rewritten for A, and both
 * agents start their checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "icepath/sdp.h"
#include "relay.h"
#include "relay_crypto.h"
#include "relay_limits.h"
#include "sdp_rewrite.h"

#define RELAY_MAX_LOCAL_CANDS 16 /* per stream, in the SDP we write */

static const struct daemon_iface *leg_iface(struct relay *r, const struct ng_request *req,
					    unsigned side, struct ng_reply *rep)
{
	const char *name = req->n_direction == 2 ? req->direction[side] : req->interface;
	const struct daemon_iface *ifc = daemon_opts_iface(&r->opts, name);

	if (!ifc)
		ng_reply_error(rep, "interface '%s' is not configured (see icepathd --interface)",
			       name);
	return ifc;
}

/* Read one side's SDP into leg l: streams, ports, and where its peer is. */
static int leg_take_sdp(struct relay *r, struct call_leg *l, const struct sdp *sdp,
			const struct daemon_iface *ifc, bool is_offer, struct ng_reply *rep)
{
	struct sdp_ice_desc *d = malloc(sizeof(*d));
	char why[160];
	int err = 0;

	if (!d)
		return ng_reply_error(rep, "out of memory");
	if (sdp->n_media > CALL_MAX_STREAMS) {
		err = ng_reply_error(rep, "SDP has %zu media sections; icepath relays at most %d",
				     sdp->n_media, CALL_MAX_STREAMS);
		goto out;
	}
	l->peer_ice = false;
	for (size_t i = 0; i < sdp->n_media; i++) {
		struct call_stream *s = &l->streams[i];
		const struct sdp_section *sec = sdp_section_const(sdp, (int)i);
		struct sdp_mline m;
		bool only_rtp;

		err = sdp_mline_parse(sec->lines[0].value, &m, why, sizeof(why));
		if (!err)
			err = sdp_ice_extract(sdp, i, d, why, sizeof(why));
		if (err) {
			err = ng_reply_error(rep, "SDP media section %zu: %s", i + 1, why);
			goto out;
		}
		s->index = (unsigned)i;
		s->active = m.port != 0;
		snprintf(s->media, sizeof(s->media), "%s", m.media);
		snprintf(s->proto, sizeof(s->proto), "%s", m.proto);
		/* A peer that offers ICE candidates for component 1 only has no
		 * RTCP component to check (libnice's 1-component streams say so
		 * without a=rtcp-mux): RTCP, if any, shares the RTP transport. */
		only_rtp = d->ufrag[0] && d->n_cands > 0;
		for (size_t k = 0; k < d->n_cands; k++)
			if (d->cands[k].component == 2)
				only_rtp = false;
		if (is_offer)
			s->offer_mux = d->rtcp_mux || only_rtp;
		s->rtcp_mux = d->rtcp_mux || only_rtp;
		if (s->active && s->sock[CALL_COMP_RTP].fd < 0) {
			/* counted before it is bound: whatever fails later, the
			 * stream's sockets are the leg's to close (a stream past
			 * nstreams would stay bound and in epoll after a delete) */
			if (i + 1 > l->nstreams)
				l->nstreams = (unsigned)i + 1;
			err = relay_stream_open(r, l, s, ifc, 0);
			if (err) {
				err = ng_reply_error(rep, "no free media port on interface %s: %s",
						     ifc->name, strerror(-err));
				goto out;
			}
		}
		if (d->ufrag[0] && d->pwd[0])
			l->peer_ice = true;
		l->peer_lite = d->lite;
		/* where a plain-RTP peer is until latching says otherwise
		 * (0.0.0.0 is RFC 3264's "hold": no destination) */
		for (unsigned c = 0; c < CALL_NCOMP; c++) {
			const struct netaddr *a = c ? &d->default_rtcp : &d->default_rtp;
			bool set = netaddr_family(a) && !netaddr_is_any(a) && netaddr_port(a);
			bool moved =
				s->sdp_known[c] && (set != s->sdp_set[c] ||
						    (set && !netaddr_equal(a, &s->sdp_remote[c])));

			s->sdp_known[c] = true;
			s->sdp_set[c] = set;
			if (set)
				s->sdp_remote[c] = *a;
			if (l->agent && s->ice)
				continue;
			/* a re-offer that moves the peer (a transfer keeping
			 * the tags, a new network): learn it again */
			if (s->latched[c] && !moved)
				continue;
			s->latched[c] = false;
			s->learn_until_ms[c] = 0;
			s->remote_set[c] = set;
			if (set)
				s->remote[c] = *a;
		}
	}
	if (sdp->n_media > l->nstreams)
		l->nstreams = (unsigned)sdp->n_media;
out:
	free(d);
	return err;
}

/*
 * RFC 9143 §7: "a=group:BUNDLE tagged-mid mid ...": the members after the
 * first ride on the first one's transport once the answer accepts the group.
 * Marks those streams of both legs (the answer passes through to the
 * offerer unchanged, so both sides bundle alike).
 */
static void mark_bundle(struct call *c, const struct sdp *sdp)
{
	const struct sdp_section *ses = sdp_section_const(sdp, -1);
	char mids[SDP_MAX_LINE_LEN], *save = NULL, *tok;
	int i = -1;

	while ((i = sdp_attr_find(ses, "group", (size_t)(i + 1))) >= 0) {
		const char *v = sdp_attr_value(&ses->lines[i]);
		bool first = true;

		if (strncmp(v, "BUNDLE ", 7))
			continue;
		snprintf(mids, sizeof(mids), "%s", v + 7);
		for (tok = strtok_r(mids, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			for (size_t m = 0; m < sdp->n_media && m < CALL_MAX_STREAMS; m++) {
				const char *mid =
					sdp_attr_get(sdp_section_const(sdp, (int)m), "mid");

				if (mid && !strcmp(mid, tok)) {
					c->legs[0].streams[m].bundled = !first;
					c->legs[1].streams[m].bundled = !first;
				}
			}
			first = false;
		}
	}
}

/*
 * A terminated call bundles per leg (relay_bundle.h): the offerer as its
 * offer's group says (the relay answers it with that group, and sends the
 * other leg one port pair per m= line), the answerer as its answer's. Its
 * SSRCs, mids and payload types are read now; the group counts from the
 * answer on (answer_bundle()).
 */
static void offer_bundle(struct call *c, struct call_leg *a, struct call_leg *b,
			 const struct sdp *sdp, struct ng_reply *rep)
{
	relay_bundle_reset(&b->bundle);
	if (!relay_call_terminated(c)) {
		relay_bundle_reset(&a->bundle);
		return;
	}
	if (relay_bundle_from_sdp(&a->bundle, sdp, a->nstreams))
		ng_reply_warn(rep, "the offer's a=group:BUNDLE names a mid no media section has: "
				   "not bundled");
}

static void answer_bundle(struct call *c, struct call_leg *a, struct call_leg *b,
			  const struct sdp *sdp)
{
	if (relay_call_terminated(c))
		(void)relay_bundle_from_sdp(&b->bundle, sdp, b->nstreams);
	else
		relay_bundle_reset(&b->bundle);
	if (!a->bundle.on || b->bundle.on || !relay_call_terminated(c)) {
		/* both bundle alike (or neither): stream i goes to stream i */
		relay_bundle_reset(&a->bundle);
		relay_bundle_reset(&b->bundle);
		mark_bundle(c, sdp);
		return;
	}
	for (unsigned i = 0; i < CALL_MAX_STREAMS; i++) {
		a->streams[i].bundled = a->bundle.member[i] && i != a->bundle.tagged;
		b->streams[i].bundled = false;
	}
	log_info("call %s: leg %s bundles %s streams on the transport of stream %u, leg %s has "
		 "one port pair per stream: demuxed by SSRC/MID", c->id, a->tag,
		 a->bundle.mid_id ? "(MID extension)" : "(SSRC/payload type)", a->bundle.tagged,
		 b->tag);
}

/* Hand the peer's ICE description of every stream to leg l's agent. */

/* What of an offer/answer request the rewrite of its SDP needs: kept with a
 * reply parked for gathering, when the request itself is gone. */
struct leg_sdp_req {
	enum ng_command cmd;
	uint32_t flags, replace, rtcp_mux;
};

static struct leg_sdp_req leg_sdp_req(const struct ng_request *req)
{
	return (struct leg_sdp_req){.cmd = req->cmd,
				    .flags = req->flags,
				    .replace = req->replace,
				    .rtcp_mux = req->rtcp_mux};
}

/* Rewrite sdp (a copy of the other side's) for leg l's peer. */
static int leg_write_sdp(struct relay *r, struct call_leg *l, struct sdp *sdp,
			 const struct leg_sdp_req *req, struct ng_reply *rep)
{
	struct ice_candidate cands[CALL_MAX_STREAMS][RELAY_MAX_LOCAL_CANDS];
	struct sdp_rewrite_media media[CALL_MAX_STREAMS];
	struct sdp_rewrite rw = {.ice_lite = l->ice_lite, .media = media};
	char why[200];
	ssize_t n;
	int err;

	memset(media, 0, sizeof(media));
	for (unsigned i = 0; i < l->nstreams && i < sdp->n_media; i++) {
		struct call_stream *s = &l->streams[i];
		struct sdp_rewrite_media *m = &media[i];

		m->skip = !s->active || s->sock[CALL_COMP_RTP].fd < 0;
		if (m->skip)
			continue;
		m->addr = s->advertised[CALL_COMP_RTP];
		m->rtcp_port = s->rtcp_mux ? 0 : netaddr_port(&s->advertised[CALL_COMP_RTCP]);
		if (l->agent && s->ice) {
			int k = ice_agent_local_candidates(l->agent, (unsigned)s->ice_stream,
							   cands[i], RELAY_MAX_LOCAL_CANDS);

			if (k > RELAY_MAX_LOCAL_CANDS)
				k = RELAY_MAX_LOCAL_CANDS;
			/* 1:1 NAT: a host candidate on the local address is
			 * announced with the advertised one (same port) */
			for (int j = 0; j < k && j >= 0; j++) {
				struct ice_candidate *c = &cands[i][j];
				unsigned comp = c->component == 2 ? 1 : 0;

				if (c->type == ICE_CAND_TYPE_HOST &&
				    netaddr_equal(&c->addr, &s->local[comp]))
					c->addr = s->advertised[comp];
			}
			m->ice = true;
			m->cands = cands[i];
			m->n_cands = k > 0 ? (size_t)k : 0;
			ice_agent_local_credentials(l->agent, (unsigned)s->ice_stream, &m->ufrag,
						    &m->pwd);
			/* NG carries no later candidate: what this SDP lists
			 * is all the peer will ever be told (RFC 8838 §8.2),
			 * written once gathering ended (relay_pending_poll()).
			 * A candidate a server answered after the gather
			 * timeout still checks; the peer learns it
			 * peer-reflexive */
			m->end_of_candidates = true;
		}
	}
	rw.n_media = l->nstreams < sdp->n_media ? l->nstreams : sdp->n_media;
	if (req->replace & NG_REPLACE_ORIGIN) {
		for (unsigned i = 0; i < rw.n_media && !rw.origin; i++)
			if (!media[i].skip)
				rw.origin = &l->streams[i].advertised[CALL_COMP_RTP];
	}
	err = sdp_rewrite_apply(sdp, &rw, why, sizeof(why));
	if (err)
		return ng_reply_error(rep, "%s", why);
	/* generate-mid (rtpengine): a section without a=mid gets its index, as
	 * a WebRTC peer needs one per section (RFC 8843 §7.1, JSEP) */
	if (req->flags & NG_FLAG_GENERATE_MID) {
		for (unsigned i = 0; i < rw.n_media; i++) {
			struct sdp_section *sec = sdp_section(sdp, (int)i);
			char mid[12];

			if (media[i].skip || sdp_attr_find(sec, "mid", 0) >= 0)
				continue;
			snprintf(mid, sizeof(mid), "%u", i);
			if (sdp_attr_append(sec, "mid", mid))
				return ng_reply_error(rep, "media section %u: no room for a=mid", i + 1);
		}
	}
	/* strip-extmap (rtpengine): no RTP header extensions toward this leg,
	 * session-level and per section (RFC 8285 a=extmap) */
	if (req->flags & NG_FLAG_STRIP_EXTMAP) {
		for (int i = -1; i < (int)sdp->n_media; i++)
			sdp_attr_remove_all(sdp_section(sdp, i), "extmap");
	}
	/* what this leg speaks: its own protocol and keys (relay_crypto.c), and
	 * a=rtcp-mux as the rtcp-mux flags decided for it */
	if (l->crypto) {
		err = relay_crypto_write_sdp(r, l, sdp, req->cmd == NG_CMD_OFFER, rep);
		if (err)
			return err;
	} else if (req->rtcp_mux) {
		for (unsigned i = 0; i < rw.n_media; i++)
			if (!media[i].skip)
				sdp_rewrite_rtcp_mux(sdp, i, l->streams[i].rtcp_mux);
	}
	/* a leg the relay answers BUNDLE for gets the MID extension answered
	 * too (relay_bundle.h), unless strip-extmap wants none toward it */
	if (req->cmd != NG_CMD_OFFER && !(req->flags & NG_FLAG_STRIP_EXTMAP) &&
	    relay_bundle_write_mid_extmap(l, sdp))
		return ng_reply_error(rep, "cannot answer the MID header extension toward leg '%s'",
				      l->tag);
	n = sdp_write(sdp, rep->sdp, rep->sdp_cap);
	if (n < 0)
		return ng_reply_error(rep, "rewritten SDP does not fit in %zu bytes", rep->sdp_cap);
	rep->sdp_len = (size_t)n;
	return 0;
}

/* ---- replies parked for gathering ------------------------------------------------ */

struct relay_pending {
	uint64_t token; /* ng_server_complete()'s */
	uint64_t until_ms;
	uint64_t since_ms;
	struct leg_sdp_req req;
	struct sdp sdp; /* the other side's, to be rewritten for the leg */
};

/* Some stream of l's agent still waits for a STUN/TURN server. */
static bool leg_gathering(const struct call_leg *l)
{
	for (unsigned i = 0; l->agent && i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		if (s->ice && s->ice_stream >= 0 &&
		    ice_agent_gathering_state(l->agent, (unsigned)s->ice_stream) ==
			    ICE_GATHERING_STATE_GATHERING)
			return true;
	}
	return false;
}

/*
 * Park the reply whose SDP is written for l: it takes sdp over (the
 * caller no longer frees it). NG_PENDING, or 0 when the reply should be
 * written now (no gathering to wait for, --gather-timeout 0, or no token:
 * not called through ng_handle()).
 */
static int leg_park(struct relay *r, struct call_leg *l, struct sdp *sdp,
		    const struct leg_sdp_req *req, uint64_t now, struct ng_reply *rep)
{
	struct relay_pending *p;

	if (!r->opts.gather_timeout_ms || !rep->token || !leg_gathering(l))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return 0; /* the reply leaves now, with the host candidates */
	relay_pending_flush(r, l, now);
	p->token = rep->token;
	p->since_ms = now;
	p->until_ms = now + r->opts.gather_timeout_ms;
	p->req = *req;
	p->sdp = *sdp;
	memset(sdp, 0, sizeof(*sdp));
	l->pending = p;
	relay_agent_drain(r, l, now); /* arms the leg's timer for until_ms */
	return NG_PENDING;
}

void relay_pending_flush(struct relay *r, struct call_leg *l, uint64_t now)
{
	struct relay_pending *p = l->pending;
	struct ng_reply *rep;

	if (!p)
		return;
	l->pending = NULL;
	rep = ng_server_reply(&r->ngs);
	/* an error here is the reply: the call stays as the request made it */
	leg_write_sdp(r, l, &p->sdp, &p->req, rep);
	log_info("call %s leg %s: NG reply after %llu ms of gathering%s", l->call->id,
		 l->tag[0] ? l->tag : "-", (unsigned long long)(now - p->since_ms),
		 leg_gathering(l) ? " (--gather-timeout: a server has not answered)" : "");
	if (ng_server_complete(&r->ngs, now, p->token, rep))
		log_warn("call %s leg %s: the NG request waiting for gathering was already "
			 "answered (timed out in the NG server)",
			 l->call->id, l->tag[0] ? l->tag : "-");
	sdp_free(&p->sdp);
	free(p);
}

uint64_t relay_pending_poll(struct relay *r, struct call_leg *l, uint64_t now)
{
	if (!l->pending)
		return UINT64_MAX;
	if (now < l->pending->until_ms && leg_gathering(l))
		return l->pending->until_ms;
	relay_pending_flush(r, l, now);
	return UINT64_MAX;
}

static int parse_sdp(const struct ng_request *req, struct sdp *sdp, struct ng_reply *rep)
{
	char why[200];

	if (!req->sdp.s)
		return ng_reply_error(rep, "%s without 'sdp'", ng_command_str(req->cmd));
	if (sdp_parse(sdp, req->sdp.s, req->sdp.len, why, sizeof(why)))
		return ng_reply_error(rep, "SDP refused: %s", why);
	return 0;
}

/*
 * NG options icepathd parses but does not act on get a warning in the reply,
 * so a proxy configuration that relies on one is not silently mis-served.
 */
static void warn_unhonoured(const struct ng_request *req, struct ng_reply *rep)
{
	/* what the relay does anyway: trust the SDP address then latch
	 * (symmetric, port latching), accept trickle, delete errors are fatal */
	static const uint32_t honoured = NG_FLAG_TRUST_ADDRESS | NG_FLAG_SYMMETRIC |
					 NG_FLAG_PORT_LATCHING | NG_FLAG_TRICKLE_ICE |
					 NG_FLAG_FATAL | NG_FLAG_DEBUG | NG_FLAG_STRICT_SOURCE |
					 NG_FLAG_MEDIA_HANDOVER | NG_FLAG_GENERATE_MID |
					 NG_FLAG_STRIP_EXTMAP;
	static const uint32_t replaced = NG_REPLACE_ORIGIN | NG_REPLACE_SESSION_CONNECTION;
	uint32_t f = req->flags & ~honoured, rp = req->replace & ~replaced;

	for (uint32_t bit = 1; bit && f; bit <<= 1)
		if (f & bit) {
			ng_reply_warn(rep, "flag '%s' is not implemented by icepathd: ignored",
				      ng_flag_str(bit));
			f &= ~bit;
		}
	for (uint32_t bit = 1; bit && rp; bit <<= 1)
		if (rp & bit) {
			ng_reply_warn(rep, "replace '%s' is not implemented by icepathd: ignored",
				      ng_replace_str(bit));
			rp &= ~bit;
		}
	/* rtpengine's force-relay keeps the peer's own non-relay candidates
	 * and its c=/m= lines, adding the relay as one more ("relay" type)
	 * candidate of an end-to-end ICE session: a pass-through mode icepath,
	 * which terminates ICE on each leg, does not have */
	if (req->ice == NG_ICE_FORCE_RELAY)
		ng_reply_warn(rep, "ICE=force-relay (keep the peer's candidates, add the relay as "
				   "a relay candidate) is not implemented: treated as ICE=force, "
				   "the relay is the only candidate");
	if ((req->flags & NG_FLAG_STRICT_SOURCE) && (req->flags & NG_FLAG_MEDIA_HANDOVER))
		ng_reply_warn(rep, "strict-source and media-handover both given: media-handover "
				   "applies");
	if ((req->rtcp_mux & NG_RTCP_MUX_REQUIRE) && (req->rtcp_mux & NG_RTCP_MUX_REJECT))
		ng_reply_warn(rep, "rtcp-mux require and reject both given: reject applies");
	/* received-from (Kamailio's module sends it with every offer and
	 * answer) is the SIP source, which rtpengine may aim media at before
	 * it learns; icepath learns from the first packet, which is what it is
	 * for, so no warning. media-address asks for the SDP to be overridden:
	 * that the relay does not do. */
	if (req->has_media_address)
		ng_reply_warn(rep, "media-address ignored: the relay latches onto the first media "
				   "packet instead");
}

static void leg_start(struct relay *r, struct call_leg *l, uint64_t now)
{
	if (l->state == CALL_LEG_STATE_NEW)
		call_leg_transition(&r->calls, l, CALL_LEG_STATE_ALLOCATED, "media ports bound",
				    now);
	if (l->agent && !l->agent_started) {
		ice_agent_start(l->agent, now);
		l->agent_started = true;
		call_leg_transition(&r->calls, l, CALL_LEG_STATE_CHECKING, "ICE checks started",
				    now);
		relay_agent_drain(r, l, now);
	}
	call_leg_settle(&r->calls, l, now);
	relay_idle_arm(r, l, now);
}

/* An offer/answer carrying "strict-source" or "media-handover" sets how
 * the call's plain-RTP streams (both legs) treat a new source; one
 * carrying neither leaves the mode as it was. */
static void take_latch_mode(struct call *c, const struct ng_request *req)
{
	enum call_latch_mode m = c->latch;

	if (req->flags & NG_FLAG_MEDIA_HANDOVER)
		m = CALL_LATCH_HANDOVER;
	else if (req->flags & NG_FLAG_STRICT_SOURCE)
		m = CALL_LATCH_STRICT;
	if (m != c->latch)
		log_info("call %s: latching now %s", c->id, call_latch_mode_str(m));
	c->latch = m;
}

/*
 * A refused re-offer: streams it added are closed and forgotten (their
 * ports back in the pool), an agent it created goes, so the call is what it
 * was before the request, as far as sockets and agents go.
 */
static void offer_undo(struct relay *r, struct call_leg *l, unsigned nstreams, bool had_agent)
{
	if (!had_agent && l->agent)
		relay_agent_free(r, l);
	for (unsigned i = nstreams; i < CALL_MAX_STREAMS; i++) {
		relay_stream_close(r, &l->streams[i]);
		call_stream_init(&l->streams[i], i);
	}
	l->nstreams = nstreams;
}

/*
 * rtpengine's rtcp-mux flags in an offer (RFC 5761): "offer" and "require"
 * propose muxing to the answerer even if the offerer did not, "demux" and
 * "reject" do not propose it; "reject" also refuses the offerer's, while
 * "demux" and "accept" accept it whatever the answerer says. Without flags
 * (and in a pass-through call) the offerer's choice passes on as before.
 */
static void offer_rtcp_mux(struct call *c, struct call_leg *a, struct call_leg *b,
			   const struct ng_request *req)
{
	uint32_t f = req->rtcp_mux;

	c->offer_rtcp_mux = f;
	if (!f)
		return;
	for (unsigned i = 0; i < a->nstreams; i++) {
		struct call_stream *sa = &a->streams[i], *sb = &b->streams[i];

		if (f & NG_RTCP_MUX_REJECT)
			sa->offer_mux = sb->offer_mux = false;
		else if (f & NG_RTCP_MUX_DEMUX)
			sb->offer_mux = false;
		else if (f & (NG_RTCP_MUX_OFFER | NG_RTCP_MUX_REQUIRE))
			sb->offer_mux = true;
		sb->rtcp_mux = sb->offer_mux;
	}
}

/* The answer's side of it: B muxes when it was offered muxing and took it;
 * A when it offered muxing and the answer's flags (require, accept), the
 * offer's (demux, accept) or B's muxing say so, unless "reject". */
static void answer_rtcp_mux(struct call *c, struct call_leg *a, struct call_leg *b,
			    const struct ng_request *req)
{
	uint32_t f = req->rtcp_mux, o = c->offer_rtcp_mux;
	bool independent = f || o || relay_call_terminated(c);

	for (unsigned i = 0; i < a->nstreams; i++) {
		struct call_stream *sa = &a->streams[i], *sb = &b->streams[i];

		if (!independent) {
			/* RFC 5761 §5.1.1: muxing holds when the offer proposed it
			 * and the answer accepted it; the answer passes through to
			 * A unchanged */
			sa->rtcp_mux = sa->offer_mux && sb->rtcp_mux;
			sb->rtcp_mux = sa->rtcp_mux;
			continue;
		}
		sb->rtcp_mux = sb->offer_mux && sb->rtcp_mux;
		sa->rtcp_mux = sa->offer_mux && !(f & NG_RTCP_MUX_REJECT) &&
			       ((f & (NG_RTCP_MUX_REQUIRE | NG_RTCP_MUX_ACCEPT)) ||
				(o & (NG_RTCP_MUX_DEMUX | NG_RTCP_MUX_ACCEPT)) || sb->rtcp_mux);
	}
}

/* An offer/answer for a call whose deletion is pending: the call goes on. */
static void delete_cancel(struct relay *r, struct call *c)
{
	if (!c->delete_at_ms)
		return;
	log_info("call %s: pending delete cancelled by a new offer/answer", c->id);
	c->delete_at_ms = 0;
	timerheap_remove(&r->timers, &c->delete_timer);
}

int relay_ng_offer(void *ctx, uint64_t now, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay *r = ctx;
	const struct daemon_iface *ifa, *ifb;
	struct call_leg *a, *b;
	struct sdp sdp;
	struct call *c;
	bool created = false, want_ice, a_agent = false, b_agent = false;
	struct leg_sdp_req sreq;
	unsigned na = 0, nb = 0;
	int err;

	daemon_log_set_call(req->call_id); /* this call's lines carry its id */
	if (!req->from_tag[0])
		return ng_reply_error(rep, "offer without 'from-tag'");
	if ((err = relay_limits_admit_call(r, req, rep)))
		return err;
	warn_unhonoured(req, rep);
	err = parse_sdp(req, &sdp, rep);
	if (err)
		return err;
	c = call_find(&r->calls, req->call_id);
	if (!c) {
		err = call_create(&r->calls, req->call_id, now, &c);
		if (err) {
			sdp_free(&sdp);
			return ng_reply_error(rep, "cannot create call '%s': %s", req->call_id,
					      strerror(-err));
		}
		created = true;
		c->state_new = true;
		r->managed_calls++;
	}
	/* a re-offer may come from either side (re-INVITE by the callee) */
	if (!(a = relay_limits_offer_leg(c, req, created, rep))) {
		sdp_free(&sdp);
		return -EINVAL;
	}
	delete_cancel(r, c);
	take_latch_mode(c, req);
	b = call_leg_other(a);
	/* a reply still parked is answered before the call changes */
	relay_pending_flush(r, a, now);
	relay_pending_flush(r, b, now);
	na = a->nstreams;
	nb = b->nstreams;
	a_agent = a->agent != NULL;
	b_agent = b->agent != NULL;
	snprintf(a->tag, sizeof(a->tag), "%s", req->from_tag);
	if (req->to_tag[0])
		snprintf(b->tag, sizeof(b->tag), "%s", req->to_tag);
	ifa = leg_iface(r, req, 0, rep);
	ifb = ifa ? leg_iface(r, req, 1, rep) : NULL;
	if (!ifa || !ifb) {
		err = -EINVAL;
		goto fail;
	}
	err = leg_take_sdp(r, a, &sdp, ifa, true, rep);
	if (err)
		goto fail;
	/* leg B mirrors A's streams: same m= lines, the relay's ports */
	for (unsigned i = 0; i < a->nstreams; i++) {
		struct call_stream *sa = &a->streams[i], *sb = &b->streams[i];

		sb->index = i;
		sb->active = sa->active;
		sb->offer_mux = sb->rtcp_mux = sa->offer_mux;
		snprintf(sb->media, sizeof(sb->media), "%s", sa->media);
		snprintf(sb->proto, sizeof(sb->proto), "%s", sa->proto);
		if (sb->active && sb->sock[CALL_COMP_RTP].fd < 0) {
			if (i + 1 > b->nstreams)
				b->nstreams = i + 1;
			err = relay_stream_open(r, b, sb, ifb, 0);
			if (err) {
				err = ng_reply_error(rep, "no free media port on interface %s",
						     ifb->name);
				goto fail;
			}
		}
	}
	if (a->nstreams > b->nstreams)
		b->nstreams = a->nstreams;
	err = relay_crypto_offer(r, a, b, &sdp, req, now, rep);
	if (err)
		goto fail;
	offer_bundle(c, a, b, &sdp, rep);
	offer_rtcp_mux(c, a, b, req);
	if (b->state == CALL_LEG_STATE_NEW)
		call_leg_transition(&r->calls, b, CALL_LEG_STATE_ALLOCATED, "media ports bound",
				    now);
	if (a->state == CALL_LEG_STATE_NEW)
		call_leg_transition(&r->calls, a, CALL_LEG_STATE_ALLOCATED, "media ports bound",
				    now);

	/* toward A: ICE if A spoke it; the relay answers A, so it is
	 * controlled, unless A is lite (RFC 8445 §6.1.1) */
	if (a->peer_ice && !a->agent) {
		bool lite =
			req->ice_lite == NG_ICE_LITE_BACKWARD || req->ice_lite == NG_ICE_LITE_BOTH;

		err = relay_agent_create(r, a, a->peer_lite && !lite, lite, now, rep);
		if (err)
			goto fail;
	} else if (!a->peer_ice && a->agent) {
		relay_agent_free(r, a);
	}
	if (a->agent) {
		err = relay_agent_feed(r, a, &sdp, now, rep);
		if (err)
			goto fail;
	}
	/* toward B: the "ICE" key decides (rtpengine semantics) */
	a->ice_mode = req->ice == NG_ICE_REMOVE ? CALL_ICE_REMOVE
		      : req->ice == NG_ICE_FORCE || req->ice == NG_ICE_FORCE_RELAY
			      ? CALL_ICE_FORCE
			      : CALL_ICE_DEFAULT;
	b->ice_mode = a->ice_mode;
	want_ice =
		a->ice_mode == CALL_ICE_FORCE || (a->ice_mode == CALL_ICE_DEFAULT && a->peer_ice);
	if (want_ice && !b->agent) {
		bool lite =
			req->ice_lite == NG_ICE_LITE_FORWARD || req->ice_lite == NG_ICE_LITE_BOTH;

		/* the relay offers to B: controlling unless it is lite */
		err = relay_agent_create(r, b, !lite, lite, now, rep);
		if (err)
			goto fail;
	} else if (!want_ice && b->agent) {
		relay_agent_free(r, b);
	}
	/* with --stun/--turn the reply waits for B's candidates */
	sreq = leg_sdp_req(req);
	err = leg_park(r, b, &sdp, &sreq, now, rep);
	if (!err)
		err = leg_write_sdp(r, b, &sdp, &sreq, rep);
	if (err < 0)
		goto fail;
	sdp_free(&sdp);
	c->last_activity_ms = now;
	relay_call_changed(r, c);
	return err;
fail:
	sdp_free(&sdp);
	if (created) {
		relay_call_delete(r, c, "offer failed", now);
	} else {
		offer_undo(r, a, na, a_agent);
		offer_undo(r, b, nb, b_agent);
	}
	return err;
}

int relay_ng_answer(void *ctx, uint64_t now, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay *r = ctx;
	const struct daemon_iface *ifb;
	struct leg_sdp_req sreq;
	struct call_leg *a, *b;
	struct sdp sdp;
	struct call *c;
	int err;

	daemon_log_set_call(req->call_id); /* this call's lines carry its id */
	c = call_find(&r->calls, req->call_id);
	if (!c)
		return ng_reply_error(rep, "answer for unknown call-id '%s' (no offer seen)",
				      req->call_id);
	delete_cancel(r, c);
	take_latch_mode(c, req);
	a = call_leg_by_tag(c, req->from_tag);
	if (!a)
		return ng_reply_error(rep, "answer: from-tag '%s' is no leg of call '%s'",
				      req->from_tag, req->call_id);
	/* a reply still parked is answered before the call changes */
	relay_pending_flush(r, a, now);
	relay_pending_flush(r, call_leg_other(a), now);
	if (!req->to_tag[0])
		return ng_reply_error(rep, "answer without 'to-tag'");
	warn_unhonoured(req, rep);
	b = call_leg_other(a);
	snprintf(b->tag, sizeof(b->tag), "%s", req->to_tag);
	err = parse_sdp(req, &sdp, rep);
	if (err)
		return err;
	if (sdp.n_media != a->nstreams) {
		err = ng_reply_error(
			rep, "answer has %zu media sections, the offer had %u (RFC 3264 §6)",
			sdp.n_media, a->nstreams);
		goto out;
	}
	ifb = daemon_opts_iface(&r->opts, b->iface);
	err = leg_take_sdp(r, b, &sdp, ifb, false, rep);
	if (err)
		goto out;
	err = relay_crypto_answer(r, a, b, &sdp, req, now, rep);
	if (err)
		goto out;
	answer_rtcp_mux(c, a, b, req);
	for (unsigned i = 0; i < a->nstreams; i++)
		if (!b->streams[i].active)
			a->streams[i].active = false;
	if (b->agent && !b->peer_ice) {
		ng_reply_warn(rep, "answerer does not speak ICE: plain RTP toward it");
		relay_agent_free(r, b);
		/* leg_take_sdp skipped its addresses while the agent owned them */
		err = leg_take_sdp(r, b, &sdp, ifb, false, rep);
		if (err)
			goto out;
	}
	if (b->agent) {
		err = relay_agent_feed(r, b, &sdp, now, rep);
		if (err)
			goto out;
	}
	if (a->agent && req->ice == NG_ICE_REMOVE)
		relay_agent_free(r, a);
	answer_bundle(c, a, b, &sdp);
	/* with --stun/--turn the reply waits for A's candidates (gathered
	 * since the offer: usually complete by now) */
	sreq = leg_sdp_req(req);
	err = leg_park(r, a, &sdp, &sreq, now, rep);
	if (!err)
		err = leg_write_sdp(r, a, &sdp, &sreq, rep);
	if (err < 0)
		goto out;
	leg_start(r, a, now);
	leg_start(r, b, now);
	relay_crypto_start(r, a, now);
	relay_crypto_start(r, b, now);
	c->last_activity_ms = now;
	relay_call_changed(r, c);
out:
	sdp_free(&sdp);
	return err;
}
