// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_state_parse: state-file bytes -> call records (see relay_state.h).
 * Pure: no sockets, no relay, no file. Every field is checked here, so the
 * apply step (relay_state.c) only opens what a whole, valid call needs.
 *
 * Version 2 files are a snapshot plus appended commits: a first pass finds,
 * for every call-id, its last "call" or "gone" line inside a complete
 * commit (closed by "end"); the second pass parses only those records.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_log.h"
#include "icepath/sdes.h"
#include "relay_state.h"

#define STATE_MAX_TOKENS 20

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decode a percent-encoded token; "-" is the empty string. */
static int get_str(const char *tok, char *out, size_t cap)
{
	size_t n = 0;

	if (!tok)
		return -EINVAL;
	if (!strcmp(tok, "-")) {
		out[0] = 0;
		return 0;
	}
	for (const char *p = tok; *p; p++) {
		int ch = (unsigned char)*p;

		if (ch == '%') {
			int hi = hexval((unsigned char)p[1]),
			    lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = hi * 16 + lo;
			p += 2;
		}
		/* a NUL inside would cut the string short of what was written */
		if (!ch || n + 1 >= cap)
			return -EINVAL;
		out[n++] = (char)ch;
	}
	out[n] = 0;
	return 0;
}

/* Decimal digits only, at most max. */
static int get_uint(const char *tok, uint64_t max, uint64_t *out)
{
	char *end;

	if (!tok || !isdigit((unsigned char)*tok))
		return -EINVAL;
	errno = 0;
	*out = strtoull(tok, &end, 10);
	return errno || *end || *out > max ? -EINVAL : 0;
}

static int get_bool(const char *tok, bool *out)
{
	uint64_t v;

	if (get_uint(tok, 1, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* "-" or an address with a port. */
static int get_addr(const char *tok, bool *set, struct netaddr *a)
{
	*set = false;
	if (!tok)
		return -EINVAL;
	if (!strcmp(tok, "-"))
		return 0;
	if (netaddr_parse(a, tok, -1) || !netaddr_port(a))
		return -EINVAL;
	*set = true;
	return 0;
}

/* leg <side> <tag> <iface> <peer_ice> <ice_lite> [<crypto 0..3>] */
static const char *parse_leg(struct relay_state_call *c, char **t, unsigned n)
{
	struct relay_state_leg *l;
	uint64_t side, crypto = 0;

	if (n < 6 || get_uint(t[1], 1, &side))
		return "bad leg record";
	l = &c->legs[side];
	if (l->present)
		return "leg given twice";
	if (get_str(t[2], l->tag, sizeof(l->tag)) || get_str(t[3], l->iface, sizeof(l->iface)) ||
	    get_bool(t[4], &l->peer_ice) || get_bool(t[5], &l->ice_lite) ||
	    (n > 6 && get_uint(t[6], 3, &crypto)))
		return "bad leg record";
	l->crypto = (unsigned)crypto;
	l->present = true;
	return NULL;
}

/* Exactly n bytes as 2n hex digits into a then b. */
static int get_hex(const char *tok, uint8_t *a, size_t na, uint8_t *b, size_t nb)
{
	if (!tok || strlen(tok) != 2 * (na + nb))
		return -EINVAL;
	for (size_t i = 0; i < na + nb; i++) {
		int hi = hexval((unsigned char)tok[2 * i]),
		    lo = hexval((unsigned char)tok[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < na)
			a[i] = (uint8_t)(hi * 16 + lo);
		else
			b[i - na] = (uint8_t)(hi * 16 + lo);
	}
	return 0;
}

/* keys <side> <suite> <rx key||salt> <tx key||salt> <setup> <dtls done> <rekeys>
 *      <peer tag> <local tag>: after its leg, which must be terminated */
static const char *parse_keys(struct relay_state_call *c, char **t, unsigned n)
{
	struct relay_state_keys *k;
	uint64_t side, suite, setup, rekeys, ptag, ltag;
	size_t kl, sl;

	if (n != 10 || get_uint(t[1], 1, &side) ||
	    get_uint(t[2], SRTPCTX_SUITE_COUNT - 1, &suite) || !suite)
		return "bad keys record";
	if (!c->legs[side].present || c->legs[side].crypto < 2)
		return "keys record of a leg that is not SRTP-terminated";
	k = &c->legs[side].keys;
	if (k->present)
		return "keys given twice";
	kl = srtpctx_suite_key_len((enum srtpctx_suite)suite);
	sl = srtpctx_suite_salt_len((enum srtpctx_suite)suite);
	if (get_hex(t[3], k->rx_key, kl, k->rx_salt, sl) ||
	    get_hex(t[4], k->tx_key, kl, k->tx_salt, sl) || get_uint(t[5], 3, &setup) ||
	    get_bool(t[6], &k->dtls_done) || get_uint(t[7], UINT64_MAX, &rekeys) ||
	    get_uint(t[8], SDES_TAG_MAX, &ptag) || get_uint(t[9], SDES_TAG_MAX, &ltag)) {
		memset(k, 0, sizeof(*k)); /* key material */
		return "bad keys record";
	}
	k->suite = (enum srtpctx_suite)suite;
	k->setup = (unsigned)setup;
	k->rekeys = rekeys;
	k->peer_tag = (uint32_t)ptag;
	k->local_tag = (uint32_t)ltag;
	k->present = true;
	return NULL;
}

/*
 * stream <side> <index> <active> <rtcp_mux> <media> <proto> <local|-> <remote RTP|->
 *        <remote RTCP|-> <flow RTP> <flow RTCP> <ufrag|-> <pwd|-> [<peer ufrag> <peer pwd>]
 */
static const char *parse_stream(struct relay_state_call *c, char **t, unsigned n)
{
	struct relay_state_stream *s;
	struct relay_state_leg *l;
	uint64_t side, idx;

	if (n != 14 && n != 16)
		return "stream record has a wrong number of fields";
	if (get_uint(t[1], 1, &side) || get_uint(t[2], CALL_MAX_STREAMS - 1, &idx))
		return "bad stream side or index";
	l = &c->legs[side];
	if (!l->present)
		return "stream before its leg";
	s = &l->streams[idx];
	if (s->present)
		return "stream given twice";
	if (get_bool(t[3], &s->active) || get_bool(t[4], &s->rtcp_mux) ||
	    get_str(t[5], s->media, sizeof(s->media)) || get_str(t[6], s->proto, sizeof(s->proto)))
		return "bad stream flags, media or proto";
	if (get_addr(t[7], &s->has_local, &s->local) ||
	    get_addr(t[8], &s->remote_set[0], &s->remote[0]) ||
	    get_addr(t[9], &s->remote_set[1], &s->remote[1]))
		return "bad stream address";
	if (get_uint(t[10], UINT64_MAX, &s->flow_id[0]) ||
	    get_uint(t[11], UINT64_MAX, &s->flow_id[1]))
		return "bad flow id";
	if (get_str(t[12], s->ufrag, sizeof(s->ufrag)) || get_str(t[13], s->pwd, sizeof(s->pwd)))
		return "bad ICE credentials";
	/* the peer's credentials: both or neither (absent from older files) */
	if (n == 16 && (get_str(t[14], s->remote_ufrag, sizeof(s->remote_ufrag)) ||
			get_str(t[15], s->remote_pwd, sizeof(s->remote_pwd))))
		return "bad peer ICE credentials";
	s->present = true;
	if (idx + 1 > l->nstreams)
		l->nstreams = (unsigned)idx + 1;
	return NULL;
}

/* The record of stream <side> <index> for a learn/count line, or NULL. */
static struct relay_state_stream *comp_stream(struct relay_state_call *c, char **t, uint64_t *comp)
{
	uint64_t side, idx;
	struct relay_state_stream *s;

	if (get_uint(t[1], 1, &side) || get_uint(t[2], CALL_MAX_STREAMS - 1, &idx) ||
	    get_uint(t[3], CALL_NCOMP - 1, comp))
		return NULL;
	s = &c->legs[side].streams[idx];
	return s->present ? s : NULL;
}

/*
 * learn <side> <index> <comp> <latched 0|1> <sdp known 0|1> <announced|->
 *       <latched at unix ms> <learning until unix ms> <rank 0-3>
 */
static const char *parse_learn(struct relay_state_call *c, char **t, unsigned n)
{
	struct relay_state_stream *s;
	struct relay_state_comp *k;
	uint64_t comp, at, until, rank;

	if (n != 10)
		return "learn record has a wrong number of fields";
	if (!(s = comp_stream(c, t, &comp)))
		return "learn record for no stream (bad side, index or component)";
	k = &s->comp[comp];
	if (k->has_learn)
		return "learn record given twice";
	if (get_bool(t[4], &k->latched) || get_bool(t[5], &k->sdp_known) ||
	    get_addr(t[6], &k->announced_set, &k->announced) || get_uint(t[7], INT64_MAX, &at) ||
	    get_uint(t[8], INT64_MAX, &until) || get_uint(t[9], 3, &rank))
		return "bad learn record";
	k->latched_ms = (int64_t)at;
	k->learn_until_ms = (int64_t)until;
	k->learn_rank = (unsigned)rank;
	k->has_learn = true;
	return NULL;
}

/*
 * count <side> <index> <comp> <rx user packets> <bytes> <fast base packets>
 *       <bytes> <tx user packets> <bytes> <dropped> <foreign>
 */
static const char *parse_count(struct relay_state_call *c, char **t, unsigned n)
{
	struct relay_state_stream *s;
	struct relay_state_comp *k;
	uint64_t comp;

	if (n != 12)
		return "count record has a wrong number of fields";
	if (!(s = comp_stream(c, t, &comp)))
		return "count record for no stream (bad side, index or component)";
	k = &s->comp[comp];
	if (k->has_count)
		return "count record given twice";
	if (get_uint(t[4], UINT64_MAX, &k->rx_user_packets) ||
	    get_uint(t[5], UINT64_MAX, &k->rx_user_bytes) ||
	    get_uint(t[6], UINT64_MAX, &k->fast_base_packets) ||
	    get_uint(t[7], UINT64_MAX, &k->fast_base_bytes) ||
	    get_uint(t[8], UINT64_MAX, &k->tx_user_packets) ||
	    get_uint(t[9], UINT64_MAX, &k->tx_user_bytes) ||
	    get_uint(t[10], UINT64_MAX, &k->dropped) || get_uint(t[11], UINT64_MAX, &k->foreign))
		return "bad count record";
	k->has_count = true;
	return NULL;
}

/* call <call-id> <created unix s> [<latch mode>] */
static const char *parse_call(struct relay_state_call *c, char **t, unsigned n)
{
	uint64_t latch, created;
	const char *tc;

	if (n < 3 || get_str(t[1], c->id, sizeof(c->id)) || !c->id[0])
		return "bad call record";
	/* the creation time is informative (it may be negative: a clock) */
	tc = t[2][0] == '-' ? t[2] + 1 : t[2];
	if (get_uint(tc, INT64_MAX, &created))
		return "bad call creation time";
	c->latch = CALL_LATCH_DEFAULT;
	/* optional; a mode this version does not know keeps the default */
	if (n > 3 && !get_uint(t[3], CALL_LATCH_HANDOVER, &latch))
		c->latch = (enum call_latch_mode)latch;
	return NULL;
}

static unsigned split(char *line, char **tok, unsigned max)
{
	unsigned n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = t;
	}
	return n;
}

/* ---- version 2: which records are the last of their call ------------------------ */

struct state_key {
	size_t off, len; /* the raw id token in buf */
	unsigned line;
	bool gone;
};

struct state_scan {
	const char *buf;
	unsigned *winners; /* line numbers of the "call" records that count, ascending */
	size_t n_winners;
	size_t valid_len; /* bytes up to the end of the last "end" line */
	unsigned valid_lines;
};

static const char *scan_buf; /* qsort has no context argument */

static int key_cmp(const void *a, const void *b)
{
	const struct state_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(scan_buf + x->off, scan_buf + y->off, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int uint_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The first two tokens of a line, in place (no copy, no NUL). */
static unsigned peek2(const char *p, size_t n, size_t off[2], size_t len[2])
{
	unsigned k = 0;
	size_t i = 0;

	while (k < 2) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
			i++;
		if (i == n)
			break;
		off[k] = i;
		while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			i++;
		len[k] = i - off[k];
		k++;
	}
	return k;
}

static bool tok_is(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(p, word, len);
}

static int scan_v2(const char *buf, size_t len, struct state_scan *sc)
{
	struct state_key *keys = NULL;
	size_t n = 0, cap = 0, committed = 0, pos = 0;
	unsigned lineno = 0;

	memset(sc, 0, sizeof(*sc));
	sc->buf = buf;
	/* the magic line alone is a valid (empty) file */
	{
		const char *nl = memchr(buf, '\n', len);

		sc->valid_len = nl ? (size_t)(nl - buf) + 1 : len;
		sc->valid_lines = 1;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ln = nl ? (size_t)(nl - (buf + pos)) : len - pos, off[2], tl[2];
		const char *p = buf + pos;
		unsigned nt;

		lineno++;
		pos += ln + (nl ? 1 : 0);
		if (lineno == 1 || ln > RELAY_STATE_LINE_MAX || memchr(p, 0, ln))
			continue;
		nt = peek2(p, ln, off, tl);
		if (nt >= 1 && tok_is(p + off[0], tl[0], "end")) {
			/* a commit is whole once its "end" is there (with its
			 * newline: a cut "en" or "end" without it is not) */
			if (!nl)
				break;
			committed = n;
			sc->valid_len = pos;
			sc->valid_lines = lineno;
			continue;
		}
		if (nt < 2 || (!tok_is(p + off[0], tl[0], "call") && !tok_is(p + off[0], tl[0], "gone")))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 256;
			struct state_key *k = realloc(keys, nc * sizeof(*k));

			if (!k) {
				free(keys);
				return -ENOMEM;
			}
			keys = k;
			cap = nc;
		}
		keys[n].off = (size_t)(p + off[1] - buf);
		keys[n].len = tl[1];
		keys[n].line = lineno;
		keys[n].gone = tok_is(p + off[0], tl[0], "gone");
		n++;
	}
	n = committed;
	scan_buf = buf;
	if (n)
		qsort(keys, n, sizeof(*keys), key_cmp);
	sc->winners = n ? malloc(n * sizeof(*sc->winners)) : NULL;
	if (n && !sc->winners) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		bool last = i + 1 == n || keys[i + 1].len != keys[i].len ||
			    memcmp(buf + keys[i + 1].off, buf + keys[i].off, keys[i].len);

		if (last && !keys[i].gone)
			sc->winners[sc->n_winners++] = keys[i].line;
	}
	if (sc->n_winners)
		qsort(sc->winners, sc->n_winners, sizeof(*sc->winners), uint_cmp);
	free(keys);
	return 0;
}

static bool scan_wins(const struct state_scan *sc, unsigned line)
{
	return bsearch(&line, sc->winners, sc->n_winners, sizeof(line), uint_cmp) != NULL;
}

/* "icepath-state 1" or "2" as the first line: its version, else 0. */
static unsigned magic_version(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;

	while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n == 15 && !memcmp(buf, "icepath-state 1", 15))
		return 1;
	if (n == 15 && !memcmp(buf, "icepath-state 2", 15))
		return 2;
	return 0;
}

int relay_state_parse(const char *buf, size_t len, const char *name,
		      int (*on_call)(const struct relay_state_call *c, void *ctx), void *ctx,
		      struct relay_state_parse_stats *st)
{
	struct relay_state_call *c;
	char *line, *tok[STATE_MAX_TOKENS];
	bool open = false, skip = false, stale = false, ended = false;
	struct state_scan sc = {0};
	unsigned lineno = 0, version;
	size_t pos = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!len)
		return 0; /* an empty file: nothing to recover */
	version = magic_version(buf, len);
	if (!version) {
		log_warn("state file %s: not an icepath state file (version 1 or 2); ignored",
			 name);
		return -EINVAL;
	}
	st->version = version;
	if (version == 2) {
		if (scan_v2(buf, len, &sc))
			return -ENOMEM;
		for (size_t i = sc.valid_len; i < len; i++)
			st->torn += buf[i] == '\n' || i + 1 == len;
		if (st->torn)
			log_warn("state file %s: %u lines after the last complete commit (a write "
				 "cut by a crash, never acknowledged); ignored",
				 name, st->torn);
		len = sc.valid_len;
	}
	c = malloc(sizeof(*c));
	line = malloc(RELAY_STATE_LINE_MAX + 1);
	if (!c || !line) {
		rc = -ENOMEM;
		goto out;
	}
	while (pos < len && !ended) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *why = NULL;
		unsigned nt;

		lineno++;
		if (n > RELAY_STATE_LINE_MAX || memchr(buf + pos, 0, n)) {
			pos += n + (nl ? 1 : 0);
			if (open && !skip) {
				log_warn("state file %s:%u: line too long or with a NUL byte; call "
					 "'%s' dropped",
					 name, lineno, c->id);
				skip = true;
			}
			continue;
		}
		memcpy(line, buf + pos, n);
		line[n] = 0;
		pos += n + (nl ? 1 : 0);
		if (lineno == 1)
			continue; /* the magic line, checked above */
		nt = split(line, tok, STATE_MAX_TOKENS);
		if (!nt)
			continue;
		if (nt > STATE_MAX_TOKENS) {
			why = "too many fields";
		} else if (!strcmp(tok[0], "call") || !strcmp(tok[0], "end") ||
			   (version == 2 && !strcmp(tok[0], "gone"))) {
			if (open && !skip) {
				if (on_call(c, ctx))
					st->bad++;
				else
					st->calls++;
			} else if (open && !stale) {
				st->bad++;
			}
			open = skip = stale = false;
			if (!strcmp(tok[0], "end")) {
				/* version 1: the one snapshot ends here; version 2:
				 * a commit does, the next may follow */
				ended = version == 1;
				continue;
			}
			if (!strcmp(tok[0], "gone"))
				continue;
			memset(c, 0, sizeof(*c));
			c->version = version;
			c->line = lineno;
			open = true;
			if (version == 2 && !scan_wins(&sc, lineno)) {
				/* a later record of this call (or its "gone") wins */
				st->superseded++;
				skip = stale = true;
				continue;
			}
			why = parse_call(c, tok, nt);
		} else if (!open || skip) {
			continue;
		} else if (!strcmp(tok[0], "leg")) {
			why = parse_leg(c, tok, nt);
		} else if (!strcmp(tok[0], "stream")) {
			why = parse_stream(c, tok, nt);
		} else if (version == 2 && !strcmp(tok[0], "learn")) {
			why = parse_learn(c, tok, nt);
		} else if (version == 2 && !strcmp(tok[0], "count")) {
			why = parse_count(c, tok, nt);
		} else if (version == 2 && !strcmp(tok[0], "keys")) {
			why = parse_keys(c, tok, nt);
		}
		/* other kinds: from a newer version, ignored */
		if (why && open && !skip) {
			log_warn("state file %s:%u: %s; call '%s' dropped", name, lineno, why,
				 c->id[0] ? c->id : "?");
			skip = true;
		}
	}
	if (open && !stale) {
		/* no "end": the file was cut, the last call may be incomplete */
		log_warn("state file %s: cut before 'end'; call '%s' dropped", name,
			 c->id[0] ? c->id : "?");
		st->bad++;
	}
out:
	free(sc.winners);
	if (c)
		memset(c, 0, sizeof(*c)); /* key material */
	free(c);
	free(line);
	return rc;
}
