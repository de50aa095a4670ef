// SPDX-License-Identifier: GPL-2.0-only
/* icepathctl: human tables and JSON for NG replies. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/bencode.h"
#include "icepathctl.h"

/* ---- JSON ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const uint8_t *p, size_t left)
{
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
		n = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void ctl_json_str(FILE *f, const void *v, size_t len)
{
	const uint8_t *p = v;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);

		if (n == 1 && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			fputc(p[i], f);
		} else if (n == 1 && (p[i] == '"' || p[i] == '\\')) {
			fprintf(f, "\\%c", p[i]);
		} else if (n == 1 && p[i] == '\n') {
			fputs("\\n", f);
		} else if (n == 1 && p[i] == '\r') {
			fputs("\\r", f);
		} else if (n == 1 && p[i] == '\t') {
			fputs("\\t", f);
		} else if (n > 1) {
			fwrite(p + i, 1, n, f);
		} else {
			/* Control bytes, and bytes that are not UTF-8, one escape each. */
			fprintf(f, "\\u%04x", p[i]);
			n = 1;
		}
		i += n;
	}
	fputc('"', f);
}

static void ctl_indent(FILE *f, int depth)
{
	fputc('\n', f);
	for (int i = 0; i < depth; i++)
		fputs("  ", f);
}

/* Depth is bounded by BENCODE_MAX_DEPTH (the decoder refuses deeper input). */
static void ctl_json_value(FILE *f, const struct bencode *v, int depth)
{
	switch (v->type) {
	case BENCODE_INT:
		fprintf(f, "%" PRId64, v->i);
		break;
	case BENCODE_STR:
		ctl_json_str(f, v->s.ptr, v->s.len);
		break;
	case BENCODE_LIST:
	case BENCODE_DICT: {
		bool dict = v->type == BENCODE_DICT;

		fputc(dict ? '{' : '[', f);
		for (const struct bencode *c = v->child; c; c = c->next) {
			ctl_indent(f, depth + 1);
			if (dict) {
				ctl_json_str(f, c->key, c->key_len);
				fputs(": ", f);
			}
			ctl_json_value(f, c, depth + 1);
			if (c->next)
				fputc(',', f);
		}
		if (v->child)
			ctl_indent(f, depth);
		fputc(dict ? '}' : ']', f);
		break;
	}
	}
}

int ctl_json(FILE *f, const uint8_t *body, size_t len)
{
	size_t cap = len / 2 + 2;
	struct bencode *nodes = calloc(cap, sizeof(*nodes)), *root;
	int rc;

	if (!nodes)
		return -ENOMEM;
	rc = bencode_decode(body, len, nodes, cap, &root, NULL);
	if (!rc) {
		ctl_json_value(f, root, 0);
		fputc('\n', f);
	}
	free(nodes);
	return rc;
}

/* ---- human tables -------------------------------------------------------- */

void ctl_print_list(FILE *f, const struct ng_reply *rep)
{
	for (unsigned i = 0; i < rep->n_calls; i++)
		fprintf(f, "%.*s\n", (int)rep->calls[i].len, rep->calls[i].s);
}

static const char *ctl_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, cap, "-");
	return buf;
}

static const char *ctl_addr(const struct netaddr *a, char *buf, size_t cap)
{
	int fam = netaddr_family(a);

	if (fam != AF_INET && fam != AF_INET6)
		return "-";
	return netaddr_str(a, buf, cap);
}

static const char *ctl_or_dash(const char *s)
{
	return s[0] ? s : "-";
}

static void ctl_print_stream(FILE *f, const struct ng_stream *st)
{
	char ep[NETADDR_STRLEN];
	struct ng_stats t = ng_stream_total(st);

	fprintf(f,
		"      %-4s local %-5u  peer %-22s %-10s fast %" PRIu64 " pkts %" PRIu64
		" B  user %" PRIu64 " pkts %" PRIu64 " B  errors %" PRIu64 " (foreign %" PRIu64
		")%s%s",
		st->rtcp ? "RTCP" : "RTP", st->local_port, ctl_addr(&st->endpoint, ep, sizeof(ep)),
		st->kernelized ? "fastpath" : "userspace", st->fastpath.packets, st->fastpath.bytes,
		st->userspace.packets, st->userspace.bytes, t.errors, st->foreign,
		st->fastpath_mode[0] ? "  xdp " : "", st->fastpath_mode);
	if (st->srtp_auth_fail || st->srtp_replay)
		fprintf(f, "  srtp auth-failed %" PRIu64 " replayed %" PRIu64, st->srtp_auth_fail,
			st->srtp_replay);
	/* the bundle transport of a leg the relay demuxes (relay_bundle.c):
	 * what matched no m= line by SSRC/MID/payload type, dropped */
	if (st->bundle)
		fprintf(f, "  bundle undemuxed %" PRIu64, st->bundle_undemuxed);
	fputc('\n', f);
}

static const char *ctl_pair(const struct ng_leg_ice *ice, char *buf, size_t cap)
{
	char l[NETADDR_STRLEN], r[NETADDR_STRLEN];

	if (!ice->has_pair)
		return "-";
	snprintf(buf, cap, "%s %s -> %s %s", ctl_or_dash(ice->local_type),
		 ctl_addr(&ice->local, l, sizeof(l)), ctl_or_dash(ice->remote_type),
		 ctl_addr(&ice->remote, r, sizeof(r)));
	return buf;
}

void ctl_print_query(FILE *f, const char *call_id, const struct ng_reply *rep, time_t now)
{
	char t1[40], t2[40], pair[160];

	fprintf(f, "call %s\n", call_id);
	fprintf(f, "  created %s (%lld s ago), last signal %s\n",
		ctl_time(rep->call.created, t1, sizeof(t1)),
		(long long)(rep->call.created ? (int64_t)now - rep->call.created : 0),
		ctl_time(rep->call.last_signal, t2, sizeof(t2)));
	fprintf(f, "  %-16s %-12s %-12s %-8s %s\n", "TAG", "LABEL", "ICE", "CONSENT",
		"SELECTED PAIR (local -> remote)");
	for (unsigned l = 0; l < rep->call.n_legs; l++) {
		const struct ng_leg *leg = &rep->call.legs[l];

		fprintf(f, "  %-16s %-12s %-12s %-8s %s\n", leg->tag[0] ? leg->tag : "(none)",
			ctl_or_dash(leg->label), ctl_or_dash(leg->ice.state),
			ctl_or_dash(leg->ice.consent), ctl_pair(&leg->ice, pair, sizeof(pair)));
	}
	for (unsigned l = 0; l < rep->call.n_legs; l++) {
		const struct ng_leg *leg = &rep->call.legs[l];

		fprintf(f, "  leg %s%s%s\n", leg->tag[0] ? leg->tag : "(none)",
			leg->in_dialogue_with[0] ? " in dialogue with " : "",
			leg->in_dialogue_with);
		for (unsigned m = 0; m < leg->n_medias; m++) {
			const struct ng_media *md = &leg->medias[m];

			fprintf(f, "    media %u %s %s", md->index, ctl_or_dash(md->type),
				ctl_or_dash(md->protocol));
			if (md->flags & NG_MEDIA_ICE)
				fputs(" ICE", f);
			if (md->flags & NG_MEDIA_RTCP_MUX)
				fputs(" rtcp-mux", f);
			if (md->flags & NG_MEDIA_DTLS_SRTP)
				fputs(" DTLS-SRTP", f);
			if (md->flags & NG_MEDIA_SDES)
				fputs(" SDES", f);
			fputc('\n', f);
			for (unsigned s = 0; s < md->n_streams; s++)
				ctl_print_stream(f, &md->streams[s]);
		}
	}
	if (rep->warning[0])
		fprintf(f, "  warning: %s\n", rep->warning);
}

void ctl_print_stats(FILE *f, const struct ng_statistics *st)
{
	fprintf(f, "%-26s %" PRIu64 "\n", "uptime (s)", st->uptime_s);
	fprintf(f, "%-26s %" PRIu64 "\n", "calls now", st->sessions_own);
	fprintf(f, "%-26s %" PRIu64 "\n", "calls since start", st->managed_sessions);
	fprintf(f, "%-26s %" PRIu64 "\n", "fast path flows", st->fastpath_flows);
	fprintf(f, "%-26s %" PRIu64 " pkts  %" PRIu64 " B  %" PRIu64 " errors\n", "fast path (XDP)",
		st->fastpath.packets, st->fastpath.bytes, st->fastpath.errors);
	fprintf(f, "%-26s %" PRIu64 " pkts  %" PRIu64 " B  %" PRIu64 " errors\n", "userspace",
		st->userspace.packets, st->userspace.bytes, st->userspace.errors);
	fprintf(f, "%-26s %" PRIu64 " pkts  %" PRIu64 " errors\n", "relayed total",
		st->relayed_packets, st->relayed_errors);
	fprintf(f, "%-26s %" PRIu64 " pps  %" PRIu64 " B/s  %" PRIu64 " errors/s\n", "current rate",
		st->packet_rate, st->byte_rate, st->error_rate);
}

/* ---- top ------------------------------------------------------------------ */

void ctl_top_fill(struct ctl_top_row *row, const char *call_id, const struct ng_reply *rep)
{
	size_t used = 0;

	memset(row, 0, sizeof(*row));
	snprintf(row->call_id, sizeof(row->call_id), "%s", call_id);
	row->legs = rep->call.n_legs;
	for (unsigned l = 0; l < rep->call.n_legs; l++) {
		const struct ng_leg *leg = &rep->call.legs[l];

		if (used < sizeof(row->ice))
			used += (size_t)snprintf(row->ice + used, sizeof(row->ice) - used, "%s%s",
						 l ? "/" : "", ctl_or_dash(leg->ice.state));
		for (unsigned m = 0; m < leg->n_medias; m++)
			for (unsigned s = 0; s < leg->medias[m].n_streams; s++) {
				const struct ng_stream *st = &leg->medias[m].streams[s];

				row->fast_pkts += st->fastpath.packets;
				row->fast_bytes += st->fastpath.bytes;
				row->user_pkts += st->userspace.packets;
				row->user_bytes += st->userspace.bytes;
			}
	}
}

void ctl_top_rate(struct ctl_top_row *cur, const struct ctl_top_row *prev, uint64_t dt_ms)
{
	cur->has_rate = false;
	if (!prev || !dt_ms)
		return;
	/* A counter that went backwards means the call was replaced: no rate. */
	if (cur->fast_pkts < prev->fast_pkts || cur->user_pkts < prev->user_pkts)
		return;
	cur->fast_pps = (double)(cur->fast_pkts - prev->fast_pkts) * 1000.0 / (double)dt_ms;
	cur->user_pps = (double)(cur->user_pkts - prev->user_pkts) * 1000.0 / (double)dt_ms;
	cur->has_rate = true;
}

static void ctl_rate(FILE *f, bool has, double pps)
{
	if (has)
		fprintf(f, " %10.0f", pps);
	else
		fprintf(f, " %10s", "-");
}

void ctl_print_top(FILE *f, const struct ctl_top_row *rows, unsigned n,
		   const struct ng_statistics *st, const char *server, time_t now)
{
	char t[40];

	fprintf(f,
		"icepath %s  %s  calls %" PRIu64 "  fast path flows %" PRIu64 "  up %" PRIu64
		" s\n",
		server, ctl_time(now, t, sizeof(t)), st->sessions_own, st->fastpath_flows,
		st->uptime_s);
	fprintf(f, "%-32s %4s %-21s %10s %10s %12s %12s\n", "CALL-ID", "LEGS", "ICE", "FAST pps",
		"USER pps", "FAST pkts", "USER pkts");
	for (unsigned i = 0; i < n; i++) {
		const struct ctl_top_row *r = &rows[i];

		fprintf(f, "%-32.32s %4u %-21.21s", r->call_id, r->legs,
			r->gone ? "(gone)" : ctl_or_dash(r->ice));
		ctl_rate(f, r->has_rate, r->fast_pps);
		ctl_rate(f, r->has_rate, r->user_pps);
		fprintf(f, " %12" PRIu64 " %12" PRIu64 "\n", r->fast_pkts, r->user_pkts);
	}
	if (!n)
		fputs("(no calls)\n", f);
}

void ctl_print_top_json(FILE *f, const struct ctl_top_row *rows, unsigned n,
			const struct ng_statistics *st, time_t now)
{
	fprintf(f,
		"{\"time\": %lld, \"calls now\": %" PRIu64 ", \"fastpath flows\": %" PRIu64
		", \"calls\": [",
		(long long)now, st->sessions_own, st->fastpath_flows);
	for (unsigned i = 0; i < n; i++) {
		const struct ctl_top_row *r = &rows[i];

		fprintf(f, "%s{\"call-id\": ", i ? ", " : "");
		ctl_json_str(f, r->call_id, strlen(r->call_id));
		fprintf(f, ", \"legs\": %u, \"ice\": ", r->legs);
		ctl_json_str(f, r->ice, strlen(r->ice));
		fprintf(f,
			", \"gone\": %s, \"fastpath packets\": %" PRIu64
			", \"userspace packets\": %" PRIu64 ", \"fastpath bytes\": %" PRIu64
			", \"userspace bytes\": %" PRIu64,
			r->gone ? "true" : "false", r->fast_pkts, r->user_pkts, r->fast_bytes,
			r->user_bytes);
		if (r->has_rate)
			fprintf(f, ", \"fastpath pps\": %.1f, \"userspace pps\": %.1f", r->fast_pps,
				r->user_pps);
		else
			fputs(", \"fastpath pps\": null, \"userspace pps\": null", f);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
