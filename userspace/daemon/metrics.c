// SPDX-License-Identifier: GPL-2.0-only
/* metrics: the Prometheus text format of icepathd's figures (see metrics.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/compiler.h"
#include "metrics.h"

static const char *const drop_names[] = {
	[METRICS_DROP_NO_PATH] = "no-path",
	[METRICS_DROP_NO_CONSENT] = "no-consent",
	[METRICS_DROP_STRICT_SOURCE] = "strict-source",
	[METRICS_DROP_FOREIGN] = "foreign",
	[METRICS_DROP_NOT_MEDIA] = "not-media",
	[METRICS_DROP_TRUNCATED] = "truncated",
	[METRICS_DROP_SEND_FAILED] = "send-failed",
	[METRICS_DROP_SRTP_AUTH] = "srtp-auth",
	[METRICS_DROP_SRTP_REPLAY] = "srtp-replay",
	[METRICS_DROP_CRYPTO] = "crypto",
	[METRICS_DROP_BUNDLE] = "bundle-demux",
};

const char *metrics_drop_str(enum metrics_drop d)
{
	if ((unsigned)d < ARRAY_SIZE(drop_names) && drop_names[d])
		return drop_names[d];
	return "?";
}

static const uint64_t ice_bounds_ms[METRICS_ICE_NBUCKETS] = METRICS_ICE_BUCKETS_MS;

void metrics_hist_observe(struct metrics_hist *h, uint64_t ms)
{
	for (unsigned i = 0; i < METRICS_ICE_NBUCKETS; i++) {
		if (ms <= ice_bounds_ms[i]) {
			h->bucket[i]++;
			break;
		}
	}
	h->count++;
	h->sum_ms += ms;
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put(struct metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->full = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if (cap > METRICS_TEXT_MAX || !(p = realloc(b->p, cap))) {
			b->full = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* "# HELP" and "# TYPE" of a family (the format wants them before its samples). */
static void fam(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void u64(struct metrics_buf *b, const char *name, const char *labels, uint64_t v)
{
	put(b, "%s%s%s%s %" PRIu64 "\n", name, labels ? "{" : "", labels ? labels : "",
	    labels ? "}" : "", v);
}

static void one(struct metrics_buf *b, const char *name, const char *type, const char *help,
		uint64_t v)
{
	fam(b, name, type, help);
	u64(b, name, NULL, v);
}

static const char *const path_names[METRICS_NPATH] = {"fastpath", "userspace"};
static const char *const dir_names[METRICS_NDIR] = {"rx", "tx"};

/* A counter family with one sample per path and direction. */
static void path_dir(struct metrics_buf *b, const char *name, const char *help,
		     const uint64_t v[METRICS_NPATH][METRICS_NDIR])
{
	char l[96];

	fam(b, name, "counter", help);
	for (unsigned p = 0; p < METRICS_NPATH; p++)
		for (unsigned d = 0; d < METRICS_NDIR; d++) {
			snprintf(l, sizeof(l), "path=\"%s\",direction=\"%s\"", path_names[p],
				 dir_names[d]);
			u64(b, name, l, v[p][d]);
		}
}

static void render_media(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char l[96];

	fam(b, "icepath_streams", "gauge",
	    "Active media streams, by the path that forwards what arrives on them.");
	for (unsigned p = 0; p < METRICS_NPATH; p++) {
		snprintf(l, sizeof(l), "path=\"%s\"", path_names[p]);
		u64(b, "icepath_streams", l, s->streams[p]);
	}
	path_dir(b, "icepath_packets_total",
		 "Media packets by path; rx: received from a peer, tx: sent toward one. A packet "
		 "the XDP program forwards counts once each way.",
		 s->packets);
	path_dir(b, "icepath_rtcp_packets_total",
		 "Of icepath_packets_total, the RTCP packets: on the RTCP port, or (userspace) told "
		 "apart by payload type on a muxed RTP port (RFC 5761).",
		 s->rtcp_packets);
	path_dir(b, "icepath_bytes_total",
		 "Media bytes (UDP payload in userspace, IP packet in the fast path) by path and "
		 "direction.",
		 s->bytes);
}

static bool fp_stat(const struct metrics_snapshot *s, const char *name, uint64_t *v)
{
	for (unsigned i = 0; i < s->n_fp_stats; i++)
		if (s->fp_stat_name[i] && !strcmp(s->fp_stat_name[i], name)) {
			*v = s->fp_stat[i];
			return true;
		}
	return false;
}

static void render_fastpath(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char l[96];

	fam(b, "icepath_fastpath_attached", "gauge",
	    "1 when the XDP fast path is loaded and attached (label: the XDP mode), 0 with "
	    "--xdp off.");
	snprintf(l, sizeof(l), "mode=\"%s\"", s->fp ? s->xdp_mode : "off");
	u64(b, "icepath_fastpath_attached", l, s->fp);
	if (!s->fp)
		return;
	one(b, "icepath_fastpath_flows", "gauge", "Flows installed in the XDP program's table.",
	    s->fp_flows);
	fam(b, "icepath_xdp_verdicts_total", "counter",
	    "Packets seen by the XDP program, by verdict (include/icepath/fp_stats.def), "
	    "summed over CPUs.");
	for (unsigned i = 0; i < s->n_fp_stats; i++) {
		snprintf(l, sizeof(l), "verdict=\"%s\"", s->fp_stat_name[i]);
		u64(b, "icepath_xdp_verdicts_total", l, s->fp_stat[i]);
	}
	if (s->has_map_bytes)
		one(b, "icepath_bpf_map_bytes", "gauge",
		    "Kernel memory of the fast path's BPF maps (their memlock accounting).",
		    s->map_bytes);
}

static void render_drops(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char l[96];
	uint64_t v;
	
	fam(b, "icepath_drops_total", "counter",
	    "Media packets the relay did not forward, by path and reason.");
	for (unsigned d = 0; d < METRICS_DROP__COUNT; d++) {
		snprintf(l, sizeof(l), "path=\"userspace\",reason=\"%s\"",
			 metrics_drop_str((enum metrics_drop)d));
		u64(b, "icepath_drops_total", l, s->counted.drops[d]);
	}
	/* the XDP program's own drops are two of its verdicts */
	if (s->fp && fp_stat(s, "drop-consent", &v))
		u64(b, "icepath_drops_total", "path=\"fastpath\",reason=\"no-consent\"", v);
	if (s->fp && fp_stat(s, "aborted", &v))
		u64(b, "icepath_drops_total", "path=\"fastpath\",reason=\"aborted\"", v);
}

static void render_ice(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	const struct metrics_hist *h = &s->counted.ice_selected;
	uint64_t cum = 0;
	char l[64];

	fam(b, "icepath_ice_selected_pair_seconds", "histogram",
	    "Time from the start of ICE checks on a leg to a selected pair on all its streams.");
	for (unsigned i = 0; i < METRICS_ICE_NBUCKETS; i++) {
		cum += h->bucket[i];
		snprintf(l, sizeof(l), "le=\"%g\"", (double)ice_bounds_ms[i] / 1000.0);
		u64(b, "icepath_ice_selected_pair_seconds_bucket", l, cum);
	}
	u64(b, "icepath_ice_selected_pair_seconds_bucket", "le=\"+Inf\"", h->count);
	put(b, "icepath_ice_selected_pair_seconds_sum %.3f\n", (double)h->sum_ms / 1000.0);
	u64(b, "icepath_ice_selected_pair_seconds_count", NULL, h->count);
	one(b, "icepath_consent_lost_total", "counter",
	    "Legs that lost RFC 7675 consent (forwarding toward the peer stopped).",
	    s->counted.consent_lost);
}

static void render_crypto(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	fam(b, "icepath_dtls_close_notify_total", "counter",
	    "DTLS close_notify alerts (RFC 5246 7.2.1) of the relay's DTLS-SRTP endpoints: sent "
	    "when a call is deleted, received when a peer ends its association (the leg's SRTP "
	    "keys go).");
	u64(b, "icepath_dtls_close_notify_total", "direction=\"sent\"", s->dtls_close_sent);
	u64(b, "icepath_dtls_close_notify_total", "direction=\"received\"", s->dtls_closed_by_peer);
	one(b, "icepath_sdes_rekeys_total", "counter",
	    "SDES-SRTP re-keys: a re-offer or re-answer brought a peer's new a=crypto key or "
	    "suite, which replaced the one in use (RFC 4568 7.1.4).",
	    s->sdes_rekeys);
}

static void render_ng(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char l[96];

	fam(b, "icepath_ng_requests_total", "counter",
	    "NG requests executed, by command and result (retransmissions answered from the "
	    "cookie cache are not executed again).");
	for (unsigned c = 0; c < NG_CMD__COUNT; c++) {
		uint64_t err = s->ng.command_errors[c], all = s->ng.commands[c];

		snprintf(l, sizeof(l), "command=\"%s\",result=\"ok\"",
			 ng_command_str((enum ng_command)c));
		u64(b, "icepath_ng_requests_total", l, all > err ? all - err : 0);
		snprintf(l, sizeof(l), "command=\"%s\",result=\"error\"",
			 ng_command_str((enum ng_command)c));
		u64(b, "icepath_ng_requests_total", l, err);
	}
	u64(b, "icepath_ng_requests_total", "command=\"invalid\",result=\"error\"",
	    s->ng.rejected);
	one(b, "icepath_ng_cache_hits_total", "counter",
	    "NG retransmissions answered from the cookie cache.", s->ng.cache_hits);
	one(b, "icepath_ng_no_cookie_total", "counter",
	    "NG datagrams dropped without a reply: no usable cookie.", s->ng.no_cookie);
}

static void render_process(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	fam(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
	put(b, "process_cpu_seconds_total %.3f\n", s->cpu_seconds);
	one(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	    s->rss_bytes);
	one(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
	    s->vsz_bytes);
	one(b, "process_open_fds", "gauge", "Open file descriptors.", s->open_fds);
	one(b, "process_max_fds", "gauge", "Limit of open file descriptors.", s->max_fds);
	fam(b, "process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
	put(b, "process_start_time_seconds %.0f\n", s->start_time_s);
}

int metrics_render(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char l[128];

	fam(b, "icepath_build_info", "gauge", "icepathd's version, as a label.");
	snprintf(l, sizeof(l), "version=\"%s\"", s->version ? s->version : "unknown");
	u64(b, "icepath_build_info", l, 1);
	one(b, "icepath_uptime_seconds", "gauge", "Seconds since icepathd started.", s->uptime_s);
	one(b, "icepath_calls", "gauge", "Calls now.", s->calls);
	one(b, "icepath_calls_created_total", "counter", "Calls created since start.",
	    s->calls_total);
	one(b, "icepath_state_write_failures_total", "counter",
	    "Commits of the calls' state (state file, or Redis without one) that failed: "
	    "their NG replies said error.",
	    s->state_failures);
	one(b, "icepath_state_durable", "gauge",
	    "1 while the last commit of the calls' state succeeded, 0 after a failure.",
	    !s->state_failing);
	if (s->has_redis)
		one(b, "icepath_redis_up", "gauge",
		    "1 while --redis is connected (and authenticated), 0 while it is not.",
		    s->redis_up);
	fam(b, "icepath_legs", "gauge", "Call legs now, by state.");
	for (unsigned st = 0; st < CALL_LEG_STATE_MAX; st++) {
		snprintf(l, sizeof(l), "state=\"%s\"", call_leg_state_str((enum call_leg_state)st));
		u64(b, "icepath_legs", l, s->legs[st]);
	}
	render_media(s, b);
	render_fastpath(s, b);
	render_drops(s, b);
	render_ice(s, b);
	render_crypto(s, b);
	render_ng(s, b);
	one(b, "icepath_media_port_pairs_used", "gauge",
	    "RTP/RTCP port pairs of --port-min..--port-max in use.", s->port_pairs_used);
	one(b, "icepath_media_port_pairs", "gauge",
	    "RTP/RTCP port pairs in --port-min..--port-max.", s->port_pairs_total);
	render_process(s, b);
	one(b, "icepath_metrics_scrapes_total", "counter", "Scrapes of /metrics answered.",
	    s->scrapes);
	one(b, "icepath_metrics_http_errors_total", "counter",
	    "Requests to the metrics server answered with an error status or refused.",
	    s->http_errors);
	if (b->full)
		return b->p ? -ENOSPC : -ENOMEM;
	return 0;
}
