/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics: icepathd's figures in the Prometheus text exposition format
 * (version 0.0.4). Sans-I/O: relay_metrics.c fills a struct metrics_snapshot
 * from the relay, the fast path and /proc; metrics_render() turns it into
 * text; metrics_http.c frames it for a scraper. The counters the loop feeds
 * as things happen (histogram, consent losses, drops) live in struct
 * metrics, owned by the relay.
 */
#ifndef ICEPATH_METRICS_H
#define ICEPATH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "icepath/ng.h"

/* ICE time from the start of checks to a selected pair on every stream of a
 * leg, bucket upper bounds in ms (RFC 8445 pacing: Ta = 50 ms per check). */
#define METRICS_ICE_BUCKETS_MS {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000}
#define METRICS_ICE_NBUCKETS   11
#define METRICS_FP_STATS_MAX   64   /* XDP verdict counters we can carry */
#define METRICS_TEXT_MAX       (1u << 20) /* bytes: a scrape never grows past this */

/* Why the userspace datapath dropped a datagram. */
enum metrics_drop {
	METRICS_DROP_NO_PATH,	    /* no destination on the other leg yet */
	METRICS_DROP_NO_CONSENT,    /* RFC 7675: no consent toward the other leg */
	METRICS_DROP_STRICT_SOURCE, /* "strict-source": not from the latched peer */
	METRICS_DROP_FOREIGN,	    /* not from the peer (selected pair / learned address) */
	METRICS_DROP_NOT_MEDIA,	    /* no RFC 7983 class, or STUN the agent refused */
	METRICS_DROP_TRUNCATED,	    /* larger than RELAY_DGRAM_MAX */
	METRICS_DROP_SEND_FAILED,   /* the socket refused it (buffer full, ICMP error) */
	METRICS_DROP_SRTP_AUTH,	    /* SRTP/SRTCP whose tag did not verify (RFC 3711 §3.3) */
	METRICS_DROP_SRTP_REPLAY,   /* SRTP/SRTCP replayed or older than the window */
	METRICS_DROP_CRYPTO,	    /* toward or from a terminated leg: no keys yet, not SRTP */
	METRICS_DROP_BUNDLE,	    /* BUNDLE: no stream (or two) for the packet's SSRC/MID */
	METRICS_DROP__COUNT,
};
const char *metrics_drop_str(enum metrics_drop d);

struct metrics_hist {
	uint64_t bucket[METRICS_ICE_NBUCKETS]; /* not cumulative: one per bound */
	uint64_t count, sum_ms;
};

/* What the loop counts as it happens. */
struct metrics {
	struct metrics_hist ice_selected;
	uint64_t consent_lost;
	uint64_t drops[METRICS_DROP__COUNT];
};

void metrics_hist_observe(struct metrics_hist *h, uint64_t ms);

enum { METRICS_PATH_FAST, METRICS_PATH_USER, METRICS_NPATH };
enum { METRICS_DIR_RX, METRICS_DIR_TX, METRICS_NDIR };

/* Every figure of one scrape. */
struct metrics_snapshot {
	const char *version;
	uint64_t uptime_s;
	uint64_t calls, calls_total;
	/* the state file / Redis: commits that failed, and whether the last did */
	uint64_t state_failures;
	bool state_failing;
	/* --redis: the connection answers (has_redis false: no --redis) */
	bool has_redis, redis_up;
	uint64_t legs[CALL_LEG_STATE_MAX];
	uint64_t streams[METRICS_NPATH]; /* active streams forwarded by XDP / userspace */
	uint64_t packets[METRICS_NPATH][METRICS_NDIR], bytes[METRICS_NPATH][METRICS_NDIR];
	/* of those, RTCP (its own port, or demuxed from a muxed one) */
	uint64_t rtcp_packets[METRICS_NPATH][METRICS_NDIR];
	/* the fast path; absent (fp == false) with --xdp off */
	bool fp;
	const char *xdp_mode;
	uint64_t fp_flows;
	unsigned n_fp_stats;
	const char *fp_stat_name[METRICS_FP_STATS_MAX];
	uint64_t fp_stat[METRICS_FP_STATS_MAX];
	bool has_map_bytes;
	uint64_t map_bytes;
	struct metrics counted;
	/* DTLS-SRTP / SDES-SRTP the relay terminates (relay_crypto.c) */
	uint64_t dtls_close_sent, dtls_closed_by_peer, sdes_rekeys;
	/* NG */
	struct ng_server_counters ng;
	/* media ports, in RTP/RTCP pairs */
	uint64_t port_pairs_used, port_pairs_total;
	/* the process */
	double cpu_seconds;
	uint64_t rss_bytes, vsz_bytes, open_fds, max_fds;
	double start_time_s;
	/* metrics server */
	uint64_t scrapes, http_errors;
};

/* Growing text buffer, capped at METRICS_TEXT_MAX. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool full; /* something did not fit: the text is cut, answer 500 */
};
void metrics_buf_free(struct metrics_buf *b);

/* The whole exposition into b (appended). 0, or -ENOSPC / -ENOMEM. */
int metrics_render(const struct metrics_snapshot *s, struct metrics_buf *b);

#endif
