/* SPDX-License-Identifier: GPL-2.0-only */
/* icepathctl: output formatting shared by the commands (format.c) and top (top.c). */
#ifndef ICEPATHCTL_H
#define ICEPATHCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "icepath/netaddr.h"
#include "icepath/ng.h"

/* One call in `top`: counters summed over every stream of every leg. */
struct ctl_top_row {
	char call_id[NG_CALL_ID_MAX + 1];
	unsigned legs;
	char ice[48]; /* leg ICE states joined by '/' */
	uint64_t fast_pkts, fast_bytes;
	uint64_t user_pkts, user_bytes;
	bool has_rate; /* a previous sample existed */
	double fast_pps, user_pps;
	bool gone; /* listed, but the query said it no longer exists */
};

/* Bencoded body -> indented JSON (byte strings as JSON strings). 0 or -EINVAL. */
int ctl_json(FILE *f, const uint8_t *body, size_t len);
/* JSON string literal for arbitrary bytes (invalid UTF-8 escaped per byte). */
void ctl_json_str(FILE *f, const void *p, size_t len);

void ctl_print_list(FILE *f, const struct ng_reply *rep);
/* A query reply as a per-leg table and per-stream lines; now for "N s ago". */
void ctl_print_query(FILE *f, const char *call_id, const struct ng_reply *rep, time_t now);
void ctl_print_stats(FILE *f, const struct ng_statistics *st);

/* Fill a top row's totals from a query reply. */
void ctl_top_fill(struct ctl_top_row *row, const char *call_id, const struct ng_reply *rep);
/* Rates of cur from prev over dt_ms (no rate when prev is NULL or dt is 0). */
void ctl_top_rate(struct ctl_top_row *cur, const struct ctl_top_row *prev, uint64_t dt_ms);
/* One frame of top: a header line, then one row per call. */
void ctl_print_top(FILE *f, const struct ctl_top_row *rows, unsigned n,
		   const struct ng_statistics *st, const char *server, time_t now);
/* The same frame as one JSON object on one line (for scripts). */
void ctl_print_top_json(FILE *f, const struct ctl_top_row *rows, unsigned n,
			const struct ng_statistics *st, time_t now);

/* ---- metrics (metrics.c) ---- */
#define CTL_METRICS_DEFAULT "127.0.0.1:9464"

/* One sample of the Prometheus text format; pointers into the line. */
struct ctl_sample {
	const char *name, *labels; /* labels without the braces, NULL if none */
	size_t name_len, labels_len;
	double value;
};
int ctl_metrics_sample(const char *line, size_t len, struct ctl_sample *s);
/* Every sample as "name labels   value" (icepath_ dropped), families apart.
 * The number of samples, or -EINVAL at a line that is not the format. */
int ctl_print_metrics(FILE *f, const char *text, size_t len);
/* {"metrics": [{"name", "labels": {..}, "value"}, ...]} */
int ctl_print_metrics_json(FILE *f, const char *text, size_t len);
int ctl_metrics_fetch(const struct netaddr *addr, unsigned timeout_ms, char **body, size_t *blen,
		      char *why, size_t cap);

#endif
