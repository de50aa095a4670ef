// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_state_parse: state-file bytes -> call records (see relay_state.h).
 * Pure: no sockets, no relay, no file. Every field is checked here, so the
 * apply step (relay_state.c) only opens what a whole, valid call needs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_log.h"
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

int relay_state_parse(const char *buf, size_t len, const char *name,
		      int (*on_call)(const struct relay_state_call *c, void *ctx), void *ctx,
		      struct relay_state_parse_stats *st)
{
	struct relay_state_call *c = malloc(sizeof(*c));
	char *line = malloc(RELAY_STATE_LINE_MAX + 1), *tok[STATE_MAX_TOKENS];
	bool open = false, skip = false, ended = false;
	unsigned lineno = 0;
	size_t pos = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!c || !line) {
		free(c);
		free(line);
		return -ENOMEM;
	}
	while (pos < len && !ended) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *why = NULL;
		unsigned nt;

		lineno++;
		if (n > RELAY_STATE_LINE_MAX || memchr(buf + pos, 0, n)) {
			pos += n + (nl ? 1 : 0);
			if (lineno == 1)
				goto bad_magic;
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
		nt = split(line, tok, STATE_MAX_TOKENS);
		if (lineno == 1) {
			if (nt != 2 || strcmp(tok[0], "icepath-state") || strcmp(tok[1], "1"))
				goto bad_magic;
			continue;
		}
		if (!nt)
			continue;
		if (nt > STATE_MAX_TOKENS) {
			why = "too many fields";
		} else if (!strcmp(tok[0], "call") || !strcmp(tok[0], "end")) {
			if (open && !skip) {
				if (on_call(c, ctx))
					st->bad++;
				else
					st->calls++;
			} else if (open) {
				st->bad++;
			}
			open = skip = false;
			if (!strcmp(tok[0], "end")) {
				ended = true;
				continue;
			}
			memset(c, 0, sizeof(*c));
			c->line = lineno;
			open = true;
			why = parse_call(c, tok, nt);
		} else if (!open || skip) {
			continue;
		} else if (!strcmp(tok[0], "leg")) {
			why = parse_leg(c, tok, nt);
		} else if (!strcmp(tok[0], "stream")) {
			why = parse_stream(c, tok, nt);
		}
		/* other kinds: from a newer version, ignored */
		if (why && open && !skip) {
			log_warn("state file %s:%u: %s; call '%s' dropped", name, lineno, why,
				 c->id[0] ? c->id : "?");
			skip = true;
		}
	}
	if (open) {
		/* no "end": the file was cut, the last call may be incomplete */
		log_warn("state file %s: cut before 'end'; call '%s' dropped", name,
			 c->id[0] ? c->id : "?");
		st->bad++;
	}
	goto out;
bad_magic:
	log_warn("state file %s: not an icepath state file (version 1); ignored", name);
	rc = -EINVAL;
out:
	free(c);
	free(line);
	return rc;
}
