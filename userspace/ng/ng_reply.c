// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng_reply: NG replies in rtpengine's shape, encoded by the server and
 * parsed back by clients (icepathctl, tests). icepath's own additions sit
 * under keys named "icepath" so a client written for rtpengine sees the
 * keys it knows and nothing that collides with them.
 *
 *   query:  { "created", "last signal", "result",
 *             "tags": { TAG: { "created", "icepath": { "consent", "fastpath",
 *                        "ice", "selected pair": { "local", "remote" },
 *                        "userspace" }, "in dialogue with", "label",
 *                        "medias": [ { "flags", "index", "protocol", "type",
 *                          "streams": [ { "advertised endpoint", "endpoint",
 *                            "flags", "icepath": { "fastpath", "userspace" },
 *                            "last packet", "local port", "stats" } ] } ],
 *                        "tag" } },
 *             "totals": { "RTCP": stats, "RTP": stats } }
 *
 * Dictionary keys are emitted in byte order (the bencode specification's
 * rule, which rtpengine does not need but does not mind).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "icepath/ng.h"
#include "ng_internal.h"

static const char *const ng_media_flag_names[NG_MEDIA__COUNT] = {
	"initialized", "rtcp-mux", "DTLS-SRTP", "SDES", "passthrough", "ICE",
};

int ng_reply_error(struct ng_reply *rep, const char *fmt, ...)
{
	va_list ap;

	rep->result = NG_RESULT_ERROR;
	va_start(ap, fmt);
	vsnprintf(rep->error_reason, sizeof(rep->error_reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Warnings are whole sentences joined by "; ": one that does not fit is
 * left out whole (never cut mid-sentence) and the text ends with a marker
 * saying that more were left out, for which room is always kept.
 */
#define NG_WARN_MORE "; (more warnings left out)"
void ng_reply_warn(struct ng_reply *rep, const char *fmt, ...)
{
	size_t used = strlen(rep->warning), cap = sizeof(rep->warning);
	size_t room = cap - sizeof(NG_WARN_MORE);
	char one[NG_WARNING_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (used >= sizeof(NG_WARN_MORE) - 1 &&
	    !strcmp(rep->warning + used - (sizeof(NG_WARN_MORE) - 1), NG_WARN_MORE))
		return; /* already marked */
	if (strstr(rep->warning, one))
		return; /* said already (offer and answer warn alike) */
	if (used + (used ? 2 : 0) + (size_t)n > room) {
		memcpy(rep->warning + used, NG_WARN_MORE, sizeof(NG_WARN_MORE));
		return;
	}
	if (used) {
		memcpy(rep->warning + used, "; ", 2);
		used += 2;
	}
	memcpy(rep->warning + used, one, (size_t)n + 1);
}

int ng_reply_add_call(struct ng_reply *rep, const char *call_id)
{
	if (rep->n_calls >= NG_LIST_MAX)
		return -ENOSPC;
	rep->calls[rep->n_calls].s = call_id;
	rep->calls[rep->n_calls].len = strlen(call_id);
	rep->n_calls++;
	return 0;
}

static void ng_stats_add(struct ng_stats *to, const struct ng_stats *a)
{
	to->packets += a->packets;
	to->bytes += a->bytes;
	to->errors += a->errors;
}

struct ng_stats ng_stream_total(const struct ng_stream *st)
{
	struct ng_stats t = st->fastpath;

	ng_stats_add(&t, &st->userspace);
	return t;
}

/* ---- encoding ----------------------------------------------------------- */

static void ng_put_stats(struct bencode_buf *b, const char *key, const struct ng_stats *s)
{
	bencode_put_str(b, key);
	bencode_put_dict(b);
	bencode_put_kv_int(b, "bytes", (int64_t)s->bytes);
	bencode_put_kv_int(b, "errors", (int64_t)s->errors);
	bencode_put_kv_int(b, "packets", (int64_t)s->packets);
	bencode_put_end(b);
}

/* { "address", "family", "port" [, "type"] }; nothing for AF_UNSPEC. */
static void ng_put_endpoint(struct bencode_buf *b, const char *key, const struct netaddr *a,
			    const char *type)
{
	char ip[NETADDR_STRLEN];
	int fam = netaddr_family(a);

	if (fam != AF_INET && fam != AF_INET6)
		return;
	bencode_put_str(b, key);
	bencode_put_dict(b);
	bencode_put_kv_str(b, "address", netaddr_ip_str(a, ip, sizeof(ip)));
	bencode_put_kv_str(b, "family", fam == AF_INET ? "IPv4" : "IPv6");
	bencode_put_kv_int(b, "port", netaddr_port(a));
	if (type)
		bencode_put_kv_str(b, "type", type);
	bencode_put_end(b);
}

static void ng_put_stream(struct bencode_buf *b, const struct ng_stream *st)
{
	struct ng_stats total = ng_stream_total(st);

	bencode_put_dict(b);
	ng_put_endpoint(b, "advertised endpoint", &st->advertised, NULL);
	ng_put_endpoint(b, "endpoint", &st->endpoint, NULL);
	bencode_put_str(b, "flags");
	bencode_put_list(b);
	bencode_put_str(b, st->rtcp ? "RTCP" : "RTP");
	if (netaddr_family(&st->endpoint) == AF_INET || netaddr_family(&st->endpoint) == AF_INET6)
		bencode_put_str(b, "filled");
	if (st->last_packet)
		bencode_put_str(b, "confirmed");
	if (st->kernelized)
		bencode_put_str(b, "kernelized");
	bencode_put_end(b);
	bencode_put_str(b, "icepath");
	bencode_put_dict(b);
	ng_put_stats(b, "fastpath", &st->fastpath);
	bencode_put_kv_int(b, "foreign", (int64_t)st->foreign);
	if (st->srtp_auth_fail || st->srtp_replay) {
		bencode_put_kv_int(b, "SRTP auth failures", (int64_t)st->srtp_auth_fail);
		bencode_put_kv_int(b, "SRTP replays", (int64_t)st->srtp_replay);
	}
	if (st->bundle || st->bundle_undemuxed)
		bencode_put_kv_int(b, "BUNDLE undemuxed", (int64_t)st->bundle_undemuxed);
	ng_put_stats(b, "userspace", &st->userspace);
	if (st->fastpath_mode[0])
		bencode_put_kv_str(b, "fastpath mode", st->fastpath_mode);
	bencode_put_end(b);
	if (st->last_packet)
		bencode_put_kv_int(b, "last packet", st->last_packet);
	if (st->local_port)
		bencode_put_kv_int(b, "local port", st->local_port);
	ng_put_stats(b, "stats", &total);
	bencode_put_end(b);
}

static void ng_put_media(struct bencode_buf *b, const struct ng_media *m)
{
	unsigned n = m->n_streams < NG_MAX_STREAMS ? m->n_streams : NG_MAX_STREAMS;

	bencode_put_dict(b);
	bencode_put_str(b, "flags");
	bencode_put_list(b);
	for (unsigned i = 0; i < NG_MEDIA__COUNT; i++)
		if (m->flags & (1u << i))
			bencode_put_str(b, ng_media_flag_names[i]);
	bencode_put_end(b);
	bencode_put_kv_int(b, "index", m->index);
	if (m->protocol[0])
		bencode_put_kv_str(b, "protocol", m->protocol);
	bencode_put_str(b, "streams");
	bencode_put_list(b);
	for (unsigned i = 0; i < n; i++)
		ng_put_stream(b, &m->streams[i]);
	bencode_put_end(b);
	if (m->type[0])
		bencode_put_kv_str(b, "type", m->type);
	bencode_put_end(b);
}

static unsigned ng_leg_medias(const struct ng_leg *leg)
{
	return leg->n_medias < NG_MAX_MEDIAS ? leg->n_medias : NG_MAX_MEDIAS;
}

static unsigned ng_media_streams(const struct ng_media *m)
{
	return m->n_streams < NG_MAX_STREAMS ? m->n_streams : NG_MAX_STREAMS;
}

static void ng_put_leg(struct bencode_buf *b, const struct ng_leg *leg)
{
	struct ng_stats fast = {0}, user = {0};

	for (unsigned i = 0; i < ng_leg_medias(leg); i++)
		for (unsigned j = 0; j < ng_media_streams(&leg->medias[i]); j++) {
			ng_stats_add(&fast, &leg->medias[i].streams[j].fastpath);
			ng_stats_add(&user, &leg->medias[i].streams[j].userspace);
		}

	bencode_put_str(b, leg->tag);
	bencode_put_dict(b);
	bencode_put_kv_int(b, "created", leg->created);
	bencode_put_str(b, "icepath");
	bencode_put_dict(b);
	if (leg->ice.consent[0])
		bencode_put_kv_str(b, "consent", leg->ice.consent);
	ng_put_stats(b, "fastpath", &fast);
	if (leg->ice.state[0])
		bencode_put_kv_str(b, "ice", leg->ice.state);
	if (leg->ice.has_pair) {
		bencode_put_str(b, "selected pair");
		bencode_put_dict(b);
		ng_put_endpoint(b, "local", &leg->ice.local, leg->ice.local_type);
		ng_put_endpoint(b, "remote", &leg->ice.remote, leg->ice.remote_type);
		bencode_put_end(b);
	}
	ng_put_stats(b, "userspace", &user);
	bencode_put_end(b);
	if (leg->in_dialogue_with[0])
		bencode_put_kv_str(b, "in dialogue with", leg->in_dialogue_with);
	if (leg->label[0])
		bencode_put_kv_str(b, "label", leg->label);
	bencode_put_str(b, "medias");
	bencode_put_list(b);
	for (unsigned i = 0; i < ng_leg_medias(leg); i++)
		ng_put_media(b, &leg->medias[i]);
	bencode_put_end(b);
	bencode_put_kv_str(b, "tag", leg->tag);
	bencode_put_end(b);
}

/* Legs sorted by tag (byte order) as dictionary keys must be; -EINVAL on a duplicate. */
static int ng_put_tags(struct bencode_buf *b, const struct ng_call_info *call)
{
	unsigned n = call->n_legs < NG_MAX_LEGS ? call->n_legs : NG_MAX_LEGS;
	const struct ng_leg *order[NG_MAX_LEGS];

	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j > 0 && strcmp(order[j - 1]->tag, call->legs[i].tag) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &call->legs[i];
	}
	for (unsigned i = 1; i < n; i++)
		if (!strcmp(order[i - 1]->tag, order[i]->tag))
			return -EINVAL;
	bencode_put_str(b, "tags");
	bencode_put_dict(b);
	for (unsigned i = 0; i < n; i++)
		ng_put_leg(b, order[i]);
	bencode_put_end(b);
	return 0;
}

static void ng_put_totals(struct bencode_buf *b, const struct ng_call_info *call)
{
	struct ng_stats rtp = {0}, rtcp = {0};
	unsigned n = call->n_legs < NG_MAX_LEGS ? call->n_legs : NG_MAX_LEGS;

	for (unsigned l = 0; l < n; l++) {
		const struct ng_leg *leg = &call->legs[l];

		for (unsigned i = 0; i < ng_leg_medias(leg); i++)
			for (unsigned j = 0; j < ng_media_streams(&leg->medias[i]); j++) {
				const struct ng_stream *st = &leg->medias[i].streams[j];
				struct ng_stats t = ng_stream_total(st);

				ng_stats_add(st->rtcp ? &rtcp : &rtp, &t);
			}
	}
	bencode_put_str(b, "totals");
	bencode_put_dict(b);
	ng_put_stats(b, "RTCP", &rtcp);
	ng_put_stats(b, "RTP", &rtp);
	bencode_put_end(b);
}

static void ng_put_statistics(struct bencode_buf *b, const struct ng_statistics *s)
{
	bencode_put_str(b, "statistics");
	bencode_put_dict(b);
	bencode_put_str(b, "currentstatistics");
	bencode_put_dict(b);
	bencode_put_kv_int(b, "byterate", (int64_t)s->byte_rate);
	bencode_put_kv_int(b, "errorrate", (int64_t)s->error_rate);
	bencode_put_kv_int(b, "packetrate", (int64_t)s->packet_rate);
	bencode_put_kv_int(b, "sessionsown", (int64_t)s->sessions_own);
	bencode_put_kv_int(b, "sessionstotal", (int64_t)s->sessions_own);
	bencode_put_end(b);
	bencode_put_str(b, "icepath");
	bencode_put_dict(b);
	ng_put_stats(b, "fastpath", &s->fastpath);
	bencode_put_kv_int(b, "fastpath flows", (int64_t)s->fastpath_flows);
	ng_put_stats(b, "userspace", &s->userspace);
	bencode_put_end(b);
	bencode_put_str(b, "totalstatistics");
	bencode_put_dict(b);
	bencode_put_kv_int(b, "managedsessions", (int64_t)s->managed_sessions);
	bencode_put_kv_int(b, "relayedpacketerrors", (int64_t)s->relayed_errors);
	bencode_put_kv_int(b, "relayedpackets", (int64_t)s->relayed_packets);
	bencode_put_kv_int(b, "uptime", (int64_t)s->uptime_s);
	bencode_put_end(b);
	bencode_put_end(b);
}

ssize_t ng_reply_encode(const char *cookie, enum ng_command cmd, const struct ng_reply *rep,
			uint8_t *out, size_t cap)
{
	bool err = rep->result == NG_RESULT_ERROR || rep->result == NG_RESULT_LOAD_LIMIT;
	struct bencode_buf b;

	bencode_buf_init(&b, out, cap);
	bencode_put_raw(&b, cookie, strlen(cookie));
	bencode_put_raw(&b, " ", 1);
	bencode_put_dict(&b);
	/* An error reply carries result and error-reason only (rtpengine's rule). */
	if (!err && cmd == NG_CMD_LIST) {
		unsigned n = rep->n_calls < NG_LIST_MAX ? rep->n_calls : NG_LIST_MAX;

		bencode_put_str(&b, "calls");
		bencode_put_list(&b);
		for (unsigned i = 0; i < n; i++)
			bencode_put_bytes(&b, rep->calls[i].s, rep->calls[i].len);
		bencode_put_end(&b);
	}
	if (!err && rep->has_call)
		bencode_put_kv_int(&b, "created", rep->call.created);
	/* a load limit says why in "message" (rtpengine's reply) */
	if (err)
		bencode_put_kv_str(&b,
				   rep->result == NG_RESULT_LOAD_LIMIT ? "message" : "error-reason",
				   rep->error_reason[0] ? rep->error_reason : "unspecified error");
	if (!err && rep->has_call)
		bencode_put_kv_int(&b, "last signal", rep->call.last_signal);
	bencode_put_kv_str(&b, "result", ng_result_str(rep->result));
	if (!err && rep->sdp && (cmd == NG_CMD_OFFER || cmd == NG_CMD_ANSWER)) {
		bencode_put_str(&b, "sdp");
		bencode_put_bytes(&b, rep->sdp, rep->sdp_len);
	}
	if (!err && rep->has_statistics)
		ng_put_statistics(&b, &rep->stats);
	if (!err && rep->has_call) {
		if (ng_put_tags(&b, &rep->call))
			return -EINVAL;
		ng_put_totals(&b, &rep->call);
	}
	if (!err && rep->warning[0])
		bencode_put_kv_str(&b, "warning", rep->warning);
	bencode_put_end(&b);
	return bencode_buf_finish(&b);
}

/* ---- parsing (client side) ------------------------------------------------ */

/* Lookup with rtpengine's spellings folded ("last signal" == "last-signal"). */
static const struct bencode *ng_get(const struct bencode *d, const char *key)
{
	if (!d || d->type != BENCODE_DICT)
		return NULL;
	for (const struct bencode *c = d->child; c; c = c->next)
		if (ng_name_eq(c->key, c->key_len, key))
			return c;
	return NULL;
}

struct ng_rd {
	char *why;
	size_t cap;
};

/* Optional integer: absent leaves *out alone. */
static int ng_rd_int(struct ng_rd *r, const struct bencode *d, const char *key, int64_t *out)
{
	const struct bencode *v = ng_get(d, key);

	return v ? ng_get_int(v, key, out, r->why, r->cap) : 0;
}

static int ng_rd_u64(struct ng_rd *r, const struct bencode *d, const char *key, uint64_t *out)
{
	int64_t v = 0;

	if (ng_rd_int(r, d, key, &v))
		return -EINVAL;
	if (v < 0)
		return ng_why(r->why, r->cap, "%s: negative counter %lld", key, (long long)v);
	*out = (uint64_t)v;
	return 0;
}

/* Optional string, truncated to the field (a display value on the client). */
static int ng_rd_str(struct ng_rd *r, const struct bencode *d, const char *key, char *out,
		     size_t cap)
{
	const struct bencode *v = ng_get(d, key);
	size_t n;

	if (!v)
		return 0;
	if (v->type != BENCODE_STR)
		return ng_why(r->why, r->cap, "%s: expected a string, got %s", key,
			      bencode_type_str(v->type));
	n = v->s.len < cap - 1 ? v->s.len : cap - 1;
	memcpy(out, v->s.ptr, n);
	out[n] = 0;
	if (memchr(out, 0, n))
		return ng_why(r->why, r->cap, "%s contains a NUL byte", key);
	return 0;
}

static int ng_rd_stats(struct ng_rd *r, const struct bencode *d, const char *key,
		       struct ng_stats *s)
{
	const struct bencode *v = ng_get(d, key);

	if (!v)
		return 0;
	if (v->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "%s: expected a dictionary, got %s", key,
			      bencode_type_str(v->type));
	return ng_rd_u64(r, v, "packets", &s->packets) || ng_rd_u64(r, v, "bytes", &s->bytes) ||
			       ng_rd_u64(r, v, "errors", &s->errors)
		       ? -EINVAL
		       : 0;
}

static int ng_rd_endpoint(struct ng_rd *r, const struct bencode *d, const char *key,
			  struct netaddr *a, char *type, size_t type_cap)
{
	const struct bencode *v = ng_get(d, key);
	char ip[64] = "";
	int64_t port = 0;

	if (!v)
		return 0;
	if (v->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "%s: expected a dictionary, got %s", key,
			      bencode_type_str(v->type));
	if (ng_rd_str(r, v, "address", ip, sizeof(ip)) || ng_rd_int(r, v, "port", &port))
		return -EINVAL;
	/* rtpengine sends "endpoint": {} for a side it has not learnt yet. */
	if (!ip[0]) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (port < 0 || port > 65535)
		return ng_why(r->why, r->cap, "%s: port %lld out of range", key, (long long)port);
	if (netaddr_from_str(a, ip, (uint16_t)port))
		return ng_why(r->why, r->cap, "%s: '%s' is not an address", key, ip);
	if (type && ng_rd_str(r, v, "type", type, type_cap))
		return -EINVAL;
	return 0;
}

static bool ng_list_has(const struct bencode *list, const char *s)
{
	if (!list || list->type != BENCODE_LIST)
		return false;
	for (const struct bencode *e = list->child; e; e = e->next)
		if (e->type == BENCODE_STR && ng_name_eq(e->s.ptr, e->s.len, s))
			return true;
	return false;
}

static int ng_rd_stream(struct ng_rd *r, const struct bencode *d, struct ng_stream *st)
{
	const struct bencode *flags = ng_get(d, "flags"), *ip = ng_get(d, "icepath");
	int64_t port = 0;

	if (d->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "streams: expected dictionaries, got %s",
			      bencode_type_str(d->type));
	st->rtcp = ng_list_has(flags, "RTCP");
	st->kernelized = ng_list_has(flags, "kernelized");
	if (ng_rd_int(r, d, "local port", &port) ||
	    ng_rd_int(r, d, "last packet", &st->last_packet) ||
	    ng_rd_endpoint(r, d, "endpoint", &st->endpoint, NULL, 0) ||
	    ng_rd_endpoint(r, d, "advertised endpoint", &st->advertised, NULL, 0))
		return -EINVAL;
	if (port < 0 || port > 65535)
		return ng_why(r->why, r->cap, "local port %lld out of range", (long long)port);
	st->local_port = (uint16_t)port;
	if (ip) {
		if (ng_rd_stats(r, ip, "fastpath", &st->fastpath) ||
		    ng_rd_stats(r, ip, "userspace", &st->userspace) ||
		    ng_rd_u64(r, ip, "foreign", &st->foreign) ||
		    ng_rd_u64(r, ip, "SRTP auth failures", &st->srtp_auth_fail) ||
		    ng_rd_u64(r, ip, "SRTP replays", &st->srtp_replay) ||
		    ng_rd_u64(r, ip, "BUNDLE undemuxed", &st->bundle_undemuxed) ||
		    ng_rd_str(r, ip, "fastpath mode", st->fastpath_mode, sizeof(st->fastpath_mode)))
			return -EINVAL;
		st->bundle = ng_get(ip, "BUNDLE undemuxed") != NULL;
	} else if (ng_rd_stats(r, d, "stats", st->kernelized ? &st->fastpath : &st->userspace)) {
		/* A plain rtpengine reply has no split: its kernel module forwards a
		 * "kernelized" stream, userspace the others. */
		return -EINVAL;
	}
	return 0;
}

static int ng_rd_media(struct ng_rd *r, const struct bencode *d, struct ng_media *m)
{
	const struct bencode *flags = ng_get(d, "flags"), *streams = ng_get(d, "streams");
	int64_t index = 0;

	if (d->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "medias: expected dictionaries, got %s",
			      bencode_type_str(d->type));
	if (ng_rd_int(r, d, "index", &index) || ng_rd_str(r, d, "type", m->type, sizeof(m->type)) ||
	    ng_rd_str(r, d, "protocol", m->protocol, sizeof(m->protocol)))
		return -EINVAL;
	m->index = (unsigned)index;
	for (unsigned i = 0; i < NG_MEDIA__COUNT; i++)
		if (ng_list_has(flags, ng_media_flag_names[i]))
			m->flags |= 1u << i;
	if (streams && streams->type != BENCODE_LIST)
		return ng_why(r->why, r->cap, "streams: expected a list, got %s",
			      bencode_type_str(streams->type));
	for (const struct bencode *s = streams ? streams->child : NULL;
	     s && m->n_streams < NG_MAX_STREAMS; s = s->next)
		if (ng_rd_stream(r, s, &m->streams[m->n_streams++]))
			return -EINVAL;
	return 0;
}

static int ng_rd_leg(struct ng_rd *r, const struct bencode *d, struct ng_leg *leg)
{
	const struct bencode *medias = ng_get(d, "medias"), *ip = ng_get(d, "icepath");
	const struct bencode *pair = ng_get(ip, "selected pair");
	size_t n = d->key_len < sizeof(leg->tag) - 1 ? d->key_len : sizeof(leg->tag) - 1;

	if (d->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "tags: expected dictionaries, got %s",
			      bencode_type_str(d->type));
	memcpy(leg->tag, d->key, n);
	leg->tag[n] = 0;
	if (ng_rd_str(r, d, "tag", leg->tag, sizeof(leg->tag)) ||
	    ng_rd_str(r, d, "label", leg->label, sizeof(leg->label)) ||
	    ng_rd_str(r, d, "in dialogue with", leg->in_dialogue_with,
		      sizeof(leg->in_dialogue_with)) ||
	    ng_rd_int(r, d, "created", &leg->created) ||
	    ng_rd_str(r, ip, "ice", leg->ice.state, sizeof(leg->ice.state)) ||
	    ng_rd_str(r, ip, "consent", leg->ice.consent, sizeof(leg->ice.consent)))
		return -EINVAL;
	if (pair) {
		leg->ice.has_pair = true;
		if (ng_rd_endpoint(r, pair, "local", &leg->ice.local, leg->ice.local_type,
				   sizeof(leg->ice.local_type)) ||
		    ng_rd_endpoint(r, pair, "remote", &leg->ice.remote, leg->ice.remote_type,
				   sizeof(leg->ice.remote_type)))
			return -EINVAL;
	}
	if (medias && medias->type != BENCODE_LIST)
		return ng_why(r->why, r->cap, "medias: expected a list, got %s",
			      bencode_type_str(medias->type));
	for (const struct bencode *m = medias ? medias->child : NULL;
	     m && leg->n_medias < NG_MAX_MEDIAS; m = m->next)
		if (ng_rd_media(r, m, &leg->medias[leg->n_medias++]))
			return -EINVAL;
	return 0;
}

static int ng_rd_statistics(struct ng_rd *r, const struct bencode *d, struct ng_statistics *s)
{
	const struct bencode *cur = ng_get(d, "currentstatistics");
	const struct bencode *tot = ng_get(d, "totalstatistics");
	const struct bencode *ip = ng_get(d, "icepath");

	if (d->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "statistics: expected a dictionary, got %s",
			      bencode_type_str(d->type));
	return ng_rd_u64(r, cur, "sessionsown", &s->sessions_own) ||
			       ng_rd_u64(r, cur, "packetrate", &s->packet_rate) ||
			       ng_rd_u64(r, cur, "byterate", &s->byte_rate) ||
			       ng_rd_u64(r, cur, "errorrate", &s->error_rate) ||
			       ng_rd_u64(r, tot, "uptime", &s->uptime_s) ||
			       ng_rd_u64(r, tot, "managedsessions", &s->managed_sessions) ||
			       ng_rd_u64(r, tot, "relayedpackets", &s->relayed_packets) ||
			       ng_rd_u64(r, tot, "relayedpacketerrors", &s->relayed_errors) ||
			       ng_rd_stats(r, ip, "fastpath", &s->fastpath) ||
			       ng_rd_stats(r, ip, "userspace", &s->userspace) ||
			       ng_rd_u64(r, ip, "fastpath flows", &s->fastpath_flows)
		       ? -EINVAL
		       : 0;
}

static int ng_rd_reply(struct ng_rd *r, const struct bencode *root, struct ng_reply *rep)
{
	const struct bencode *v;

	if (root->type != BENCODE_DICT)
		return ng_why(r->why, r->cap, "reply is a %s, expected a dictionary",
			      bencode_type_str(root->type));
	v = ng_get(root, "result");
	if (!v)
		return ng_why(r->why, r->cap, "reply has no 'result'");
	if (bencode_str_eq(v, "ok"))
		rep->result = NG_RESULT_OK;
	else if (bencode_str_eq(v, "pong"))
		rep->result = NG_RESULT_PONG;
	else if (bencode_str_eq(v, "error"))
		rep->result = NG_RESULT_ERROR;
	else if (bencode_str_eq(v, "load limit"))
		rep->result = NG_RESULT_LOAD_LIMIT;
	else if (v->type == BENCODE_STR)
		return ng_why(r->why, r->cap, "unknown result '%.*s'",
			      (int)(v->s.len > 40 ? 40 : v->s.len), v->s.ptr);
	else
		return ng_why(r->why, r->cap, "result: expected a string, got %s",
			      bencode_type_str(v->type));
	if (ng_rd_str(r, root, rep->result == NG_RESULT_LOAD_LIMIT ? "message" : "error-reason",
		      rep->error_reason, sizeof(rep->error_reason)) ||
	    ng_rd_str(r, root, "warning", rep->warning, sizeof(rep->warning)))
		return -EINVAL;

	v = ng_get(root, "sdp");
	if (v) {
		if (v->type != BENCODE_STR)
			return ng_why(r->why, r->cap, "sdp: expected a string, got %s",
				      bencode_type_str(v->type));
		rep->sdp = (char *)v->s.ptr;
		rep->sdp_len = rep->sdp_cap = v->s.len;
	}
	v = ng_get(root, "calls");
	if (v) {
		if (v->type != BENCODE_LIST)
			return ng_why(r->why, r->cap, "calls: expected a list, got %s",
				      bencode_type_str(v->type));
		for (const struct bencode *e = v->child; e && rep->n_calls < NG_LIST_MAX;
		     e = e->next) {
			if (e->type != BENCODE_STR)
				return ng_why(r->why, r->cap, "calls: expected strings, got %s",
					      bencode_type_str(e->type));
			rep->calls[rep->n_calls].s = (const char *)e->s.ptr;
			rep->calls[rep->n_calls++].len = e->s.len;
		}
	}
	v = ng_get(root, "tags");
	if (v || ng_get(root, "created")) {
		rep->has_call = true;
		if (ng_rd_int(r, root, "created", &rep->call.created) ||
		    ng_rd_int(r, root, "last signal", &rep->call.last_signal))
			return -EINVAL;
		if (v && v->type != BENCODE_DICT)
			return ng_why(r->why, r->cap, "tags: expected a dictionary, got %s",
				      bencode_type_str(v->type));
		for (const struct bencode *t = v ? v->child : NULL;
		     t && rep->call.n_legs < NG_MAX_LEGS; t = t->next)
			if (ng_rd_leg(r, t, &rep->call.legs[rep->call.n_legs++]))
				return -EINVAL;
	}
	v = ng_get(root, "statistics");
	if (v) {
		rep->has_statistics = true;
		if (ng_rd_statistics(r, v, &rep->stats))
			return -EINVAL;
	}
	return 0;
}

int ng_reply_parse(const uint8_t *dgram, size_t len, const char *cookie, struct ng_reply *rep,
		   char *why, size_t why_cap)
{
	struct ng_rd r = {why, why_cap};
	struct ng_str ck, body;
	struct bencode *nodes, *root;
	struct bencode_err berr;
	char msg[160];
	size_t cap;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (ng_split_cookie(dgram, len, &ck, &body))
		return ng_why(why, why_cap, "reply has no cookie");
	if (cookie && (ck.len != strlen(cookie) || memcmp(ck.s, cookie, ck.len)))
		return ng_why(why, why_cap, "reply cookie '%.*s' does not match request '%s'",
			      (int)ck.len, ck.s, cookie);
	/* Every value takes at least two bytes ("0:", "le"). */
	cap = body.len / 2 + 2;
	nodes = calloc(cap, sizeof(*nodes));
	if (!nodes)
		return ng_why(why, why_cap, "out of memory for %zu values", cap);
	rc = bencode_decode((const uint8_t *)body.s, body.len, nodes, cap, &root, &berr);
	if (rc)
		rc = ng_why(why, why_cap, "malformed reply: %s",
			    bencode_err_str(&berr, msg, sizeof(msg)));
	else
		rc = ng_rd_reply(&r, root, rep);
	free(nodes);
	return rc;
}
