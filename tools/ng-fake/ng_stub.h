/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ng_stub: a tiny in-memory call table behind struct ng_ops, standing in for
 * icepathd in the NG tests, the NG fuzz target and the ng-fake test server
 * (tools/ng-fake). It keeps no media: each call's counters grow with the
 * clock the caller sets in stub->now_ms (fast path 50 packets/s of 200
 * bytes per RTP stream, userspace 5 packets/s), so a client computing
 * rates from two queries gets known figures.
 */
#ifndef ICEPATH_NG_FAKE_STUB_H
#define ICEPATH_NG_FAKE_STUB_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "icepath/ng.h"

#define NG_STUB_CALLS	  16
#define NG_STUB_FAST_PPS  50
#define NG_STUB_USER_PPS  5
#define NG_STUB_PKT_BYTES 200

struct ng_stub_call {
	bool used;
	char call_id[NG_CALL_ID_MAX + 1];
	char from_tag[NG_TAG_MAX + 1];
	char to_tag[NG_TAG_MAX + 1];
	uint64_t created_ms;
	uint16_t port;
};

struct ng_stub {
	uint64_t now_ms;  /* set by the caller before ng_handle() */
	uint64_t epoch_s; /* UNIX time of now_ms == 0 */
	struct ng_stub_call calls[NG_STUB_CALLS];
	unsigned managed;
	unsigned ops_run; /* handler invocations (cache tests) */
	uint16_t next_port;
	struct ng_request last; /* the last request a handler saw */
};

static struct ng_stub_call *ng_stub_find(struct ng_stub *st, const char *call_id)
{
	for (int i = 0; i < NG_STUB_CALLS; i++)
		if (st->calls[i].used && !strcmp(st->calls[i].call_id, call_id))
			return &st->calls[i];
	return NULL;
}

/* Every handler: count the call, remember the request, find the call. */
static struct ng_stub_call *ng_stub_enter(struct ng_stub *st, const struct ng_request *req)
{
	st->ops_run++;
	st->last = *req;
	return req->call_id[0] ? ng_stub_find(st, req->call_id) : NULL;
}

/* The rewritten SDP: the offer with its c= address replaced by ours. */
static int ng_stub_sdp(const struct ng_request *req, struct ng_reply *rep, uint16_t port)
{
	int n = snprintf(rep->sdp, rep->sdp_cap,
			 "v=0\r\no=- 1 1 IN IP4 203.0.113.1\r\ns=icepath\r\nc=IN IP4 "
			 "203.0.113.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n%s",
			 port, req->ice == NG_ICE_REMOVE ? "" : "a=ice-lite\r\n");

	if (n < 0 || (size_t)n >= rep->sdp_cap)
		return ng_reply_error(rep, "SDP does not fit");
	rep->sdp_len = (size_t)n;
	return 0;
}

static int ng_stub_offer(void *ctx, uint64_t now_ms, const struct ng_request *req,
			 struct ng_reply *rep)
{
	struct ng_stub *st = ctx;
	struct ng_stub_call *c = ng_stub_enter(st, req);

	if (!c) {
		for (int i = 0; i < NG_STUB_CALLS && !c; i++)
			if (!st->calls[i].used)
				c = &st->calls[i];
		if (!c)
			return ng_reply_error(rep, "call table full (%d calls)", NG_STUB_CALLS);
		memset(c, 0, sizeof(*c));
		c->used = true;
		snprintf(c->call_id, sizeof(c->call_id), "%s", req->call_id);
		snprintf(c->from_tag, sizeof(c->from_tag), "%s", req->from_tag);
		c->created_ms = st->now_ms;
		c->port = (uint16_t)(30000 + 2 * st->next_port++);
		st->managed++;
	}
	return ng_stub_sdp(req, rep, c->port);
}

static int ng_stub_answer(void *ctx, uint64_t now_ms, const struct ng_request *req,
			  struct ng_reply *rep)
{
	struct ng_stub *st = ctx;
	struct ng_stub_call *c = ng_stub_enter(st, req);

	if (!c)
		return ng_reply_error(rep, "unknown call-id '%s'", req->call_id);
	snprintf(c->to_tag, sizeof(c->to_tag), "%s", req->to_tag);
	return ng_stub_sdp(req, rep, (uint16_t)(c->port + 1000));
}

static void ng_stub_leg(const struct ng_stub *st, const struct ng_stub_call *c, struct ng_leg *leg,
			const char *tag, const char *peer, uint16_t port)
{
	uint64_t ms = st->now_ms - c->created_ms;
	struct ng_stream *rtp;
	struct ng_media *m;

	snprintf(leg->tag, sizeof(leg->tag), "%s", tag);
	snprintf(leg->in_dialogue_with, sizeof(leg->in_dialogue_with), "%s", peer);
	leg->created = (int64_t)(st->epoch_s + c->created_ms / 1000);
	snprintf(leg->ice.state, sizeof(leg->ice.state), "completed");
	snprintf(leg->ice.consent, sizeof(leg->ice.consent), "fresh");
	leg->ice.has_pair = true;
	snprintf(leg->ice.local_type, sizeof(leg->ice.local_type), "host");
	snprintf(leg->ice.remote_type, sizeof(leg->ice.remote_type), "srflx");
	netaddr_from_str(&leg->ice.local, "203.0.113.1", port);
	netaddr_from_str(&leg->ice.remote, "198.51.100.7", (uint16_t)(port + 10000));
	leg->n_medias = 1;
	m = &leg->medias[0];
	m->index = 1;
	snprintf(m->type, sizeof(m->type), "audio");
	snprintf(m->protocol, sizeof(m->protocol), "RTP/AVP");
	m->flags = NG_MEDIA_INITIALIZED | NG_MEDIA_ICE | NG_MEDIA_RTCP_MUX;
	m->n_streams = 1;
	rtp = &m->streams[0];
	rtp->local_port = port;
	rtp->endpoint = leg->ice.remote;
	rtp->advertised = leg->ice.remote;
	rtp->kernelized = true;
	rtp->last_packet = (int64_t)(st->epoch_s + st->now_ms / 1000);
	rtp->fastpath.packets = ms * NG_STUB_FAST_PPS / 1000;
	rtp->fastpath.bytes = rtp->fastpath.packets * NG_STUB_PKT_BYTES;
	rtp->userspace.packets = ms * NG_STUB_USER_PPS / 1000;
	rtp->userspace.bytes = rtp->userspace.packets * NG_STUB_PKT_BYTES;
}

static void ng_stub_info(const struct ng_stub *st, const struct ng_stub_call *c,
			 struct ng_reply *rep)
{
	rep->has_call = true;
	rep->call.created = (int64_t)(st->epoch_s + c->created_ms / 1000);
	rep->call.last_signal = rep->call.created;
	rep->call.n_legs = c->to_tag[0] ? 2 : 1;
	ng_stub_leg(st, c, &rep->call.legs[0], c->from_tag, c->to_tag, c->port);
	if (c->to_tag[0])
		ng_stub_leg(st, c, &rep->call.legs[1], c->to_tag, c->from_tag,
			    (uint16_t)(c->port + 1000));
}

static int ng_stub_delete(void *ctx, uint64_t now_ms, const struct ng_request *req,
			  struct ng_reply *rep)
{
	struct ng_stub *st = ctx;
	struct ng_stub_call *c = ng_stub_enter(st, req);

	if (!c) {
		if (req->flags & NG_FLAG_FATAL)
			return ng_reply_error(rep, "unknown call-id '%s'", req->call_id);
		ng_reply_warn(rep, "call-id '%s' not found", req->call_id);
		return 0;
	}
	if (req->from_tag[0] && strcmp(req->from_tag, c->from_tag) &&
	    strcmp(req->from_tag, c->to_tag))
		return ng_reply_error(rep, "call-id '%s' has no tag '%s'", req->call_id,
				      req->from_tag);
	ng_stub_info(st, c, rep);
	c->used = false;
	return 0;
}

static int ng_stub_query(void *ctx, uint64_t now_ms, const struct ng_request *req,
			 struct ng_reply *rep)
{
	struct ng_stub *st = ctx;
	struct ng_stub_call *c = ng_stub_enter(st, req);

	if (!c)
		return ng_reply_error(rep, "unknown call-id '%s'", req->call_id);
	ng_stub_info(st, c, rep);
	return 0;
}

static int ng_stub_list(void *ctx, uint64_t now_ms, const struct ng_request *req,
			struct ng_reply *rep)
{
	struct ng_stub *st = ctx;

	ng_stub_enter(st, req);
	for (int i = 0; i < NG_STUB_CALLS && rep->n_calls < req->limit; i++)
		if (st->calls[i].used)
			ng_reply_add_call(rep, st->calls[i].call_id);
	return 0;
}

static int ng_stub_statistics(void *ctx, uint64_t now_ms, const struct ng_request *req,
			      struct ng_reply *rep)
{
	struct ng_stub *st = ctx;
	struct ng_reply q;

	ng_stub_enter(st, req);
	rep->has_statistics = true;
	rep->stats.uptime_s = st->now_ms / 1000;
	rep->stats.managed_sessions = st->managed;
	for (int i = 0; i < NG_STUB_CALLS; i++) {
		if (!st->calls[i].used)
			continue;
		rep->stats.sessions_own++;
		memset(&q.call, 0, sizeof(q.call));
		ng_stub_info(st, &st->calls[i], &q);
		for (unsigned l = 0; l < q.call.n_legs; l++) {
			const struct ng_stream *s = &q.call.legs[l].medias[0].streams[0];

			rep->stats.fastpath.packets += s->fastpath.packets;
			rep->stats.fastpath.bytes += s->fastpath.bytes;
			rep->stats.userspace.packets += s->userspace.packets;
			rep->stats.userspace.bytes += s->userspace.bytes;
			rep->stats.fastpath_flows++;
		}
	}
	rep->stats.relayed_packets = rep->stats.fastpath.packets + rep->stats.userspace.packets;
	return 0;
}

static const struct ng_ops ng_stub_ops = {
	.offer = ng_stub_offer,
	.answer = ng_stub_answer,
	.delete_call = ng_stub_delete,
	.query = ng_stub_query,
	.list = ng_stub_list,
	.statistics = ng_stub_statistics,
};

#endif
