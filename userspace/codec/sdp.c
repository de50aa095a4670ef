// SPDX-License-Identifier: GPL-2.0-only
/*
 * SDP (RFC 8866) session model and the ICE attributes of RFC 8839; see
 * include/icepath/sdp.h. Every line is kept verbatim and in order, so an
 * unmodified description is written back byte-for-byte (with CRLF).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdp.h"

#include "icepath/compiler.h"

static void sdp_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sdp_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* ---- sections and lines ----------------------------------------------------- */

static void sdp_section_free(struct sdp_section *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i].value);
	free(s->lines);
	memset(s, 0, sizeof(*s));
}

void sdp_init(struct sdp *sdp)
{
	memset(sdp, 0, sizeof(*sdp));
}

void sdp_free(struct sdp *sdp)
{
	if (!sdp)
		return;
	sdp_section_free(&sdp->session);
	for (size_t i = 0; i < sdp->n_media; i++)
		sdp_section_free(&sdp->media[i]);
	free(sdp->media);
	sdp_init(sdp);
}

static size_t sdp_total_lines(const struct sdp *sdp)
{
	size_t n = sdp->session.n;

	for (size_t i = 0; i < sdp->n_media; i++)
		n += sdp->media[i].n;
	return n;
}

/* Line number (1-based) of line pos of section idx (-1 = session). */
static size_t sdp_line_no(const struct sdp *sdp, int idx, size_t pos)
{
	size_t n = 0;

	if (idx < 0)
		return pos + 1;
	n = sdp->session.n;
	for (int i = 0; i < idx; i++)
		n += sdp->media[i].n;
	return n + pos + 1;
}

static bool sdp_value_ok(const char *v, size_t len)
{
	/* RFC 8866 §9 text = byte-string: no NUL, CR or LF. */
	return len + 2 <= SDP_MAX_LINE_LEN && !memchr(v, '\r', len) && !memchr(v, '\n', len) &&
	       !memchr(v, '\0', len);
}

static int sdp_section_insert_n(struct sdp_section *s, size_t pos, char type, const char *value,
				size_t len)
{
	char *copy;

	if (pos > s->n || !isalpha((unsigned char)type) || !sdp_value_ok(value, len))
		return -EINVAL;
	if (s->n >= SDP_MAX_LINES)
		return -E2BIG;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct sdp_line *l = realloc(s->lines, cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		s->lines = l;
		s->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, value, len);
	copy[len] = '\0';
	memmove(&s->lines[pos + 1], &s->lines[pos], (s->n - pos) * sizeof(s->lines[0]));
	s->lines[pos] = (struct sdp_line){.type = type, .value = copy, .len = len};
	s->n++;
	return 0;
}

int sdp_line_insert(struct sdp_section *s, size_t pos, char type, const char *value)
{
	return sdp_section_insert_n(s, pos, type, value, strlen(value));
}

int sdp_line_replace(struct sdp_section *s, size_t pos, char type, const char *value)
{
	size_t len = strlen(value);
	char *copy;

	if (pos >= s->n || !isalpha((unsigned char)type) || !sdp_value_ok(value, len))
		return -EINVAL;
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(s->lines[pos].value);
	s->lines[pos] = (struct sdp_line){.type = type, .value = copy, .len = len};
	return 0;
}

void sdp_line_remove(struct sdp_section *s, size_t pos)
{
	if (pos >= s->n)
		return;
	free(s->lines[pos].value);
	memmove(&s->lines[pos], &s->lines[pos + 1], (s->n - pos - 1) * sizeof(s->lines[0]));
	s->n--;
}

int sdp_line_find(const struct sdp_section *s, char type, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		if (s->lines[i].type == type)
			return (int)i;
	return -ENOENT;
}

struct sdp_section *sdp_section(struct sdp *sdp, int media_idx)
{
	if (media_idx < 0)
		return &sdp->session;
	if ((size_t)media_idx >= sdp->n_media)
		return NULL;
	return &sdp->media[media_idx];
}

const struct sdp_section *sdp_section_const(const struct sdp *sdp, int media_idx)
{
	return sdp_section((struct sdp *)sdp, media_idx);
}

size_t sdp_attr_name_len(const struct sdp_line *line)
{
	const char *colon = memchr(line->value, ':', line->len);

	return colon ? (size_t)(colon - line->value) : line->len;
}

const char *sdp_attr_value(const struct sdp_line *line)
{
	size_t n = sdp_attr_name_len(line);

	return n < line->len ? line->value + n + 1 : line->value + line->len;
}

static bool sdp_attr_is(const struct sdp_line *l, const char *name)
{
	size_t n = strlen(name);

	return l->type == 'a' && sdp_attr_name_len(l) == n && !memcmp(l->value, name, n);
}

int sdp_attr_find(const struct sdp_section *s, const char *name, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		if (sdp_attr_is(&s->lines[i], name))
			return (int)i;
	return -ENOENT;
}

const char *sdp_attr_get(const struct sdp_section *s, const char *name)
{
	int i = sdp_attr_find(s, name, 0);

	return i < 0 ? NULL : sdp_attr_value(&s->lines[i]);
}

int sdp_attr_remove_all(struct sdp_section *s, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < s->n;) {
		if (sdp_attr_is(&s->lines[i], name)) {
			sdp_line_remove(s, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

int sdp_attr_append(struct sdp_section *s, const char *name, const char *value)
{
	char buf[SDP_MAX_LINE_LEN];
	int n;

	if (value)
		n = snprintf(buf, sizeof(buf), "%s:%s", name, value);
	else
		n = snprintf(buf, sizeof(buf), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return sdp_section_insert_n(s, s->n, 'a', buf, (size_t)n);
}

/* ---- parse and write -------------------------------------------------------- */

static int sdp_media_new(struct sdp *sdp)
{
	struct sdp_section *m;

	if (sdp->n_media >= SDP_MAX_MEDIA)
		return -E2BIG;
	m = realloc(sdp->media, (sdp->n_media + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	sdp->media = m;
	memset(&m[sdp->n_media], 0, sizeof(*m));
	sdp->n_media++;
	return 0;
}

int sdp_parse(struct sdp *sdp, const char *text, size_t len, char *err, size_t err_len)
{
	struct sdp_section *cur;
	size_t off = 0, line_no = 0;
	int ret;

	sdp_init(sdp);
	if (!text || len == 0) {
		sdp_err(err, err_len, "empty session description");
		return -EINVAL;
	}
	if (len > SDP_MAX_SIZE) {
		sdp_err(err, err_len, "description is %zu bytes, limit %d", len, SDP_MAX_SIZE);
		return -E2BIG;
	}
	cur = &sdp->session;
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t l = nl ? (size_t)(nl - line) : len - off;
		struct sdp_mline m;
		char why[96];

		off += l + (nl ? 1 : 0);
		line_no++;
		if (l && line[l - 1] == '\r')
			l--;
		if (l == 0) {
			/* Trailing blank lines (some SIP stacks add one) are tolerated;
			 * a blank line between lines is not SDP. */
			for (size_t i = off; i < len; i++) {
				if (text[i] != '\r' && text[i] != '\n') {
					sdp_err(err, err_len, "line %zu: empty line", line_no);
					ret = -EINVAL;
					goto fail;
				}
			}
			break;
		}
		if (l > SDP_MAX_LINE_LEN) {
			sdp_err(err, err_len, "line %zu: %zu bytes, limit %d", line_no, l,
				SDP_MAX_LINE_LEN);
			ret = -E2BIG;
			goto fail;
		}
		if (sdp_total_lines(sdp) >= SDP_MAX_LINES) {
			sdp_err(err, err_len, "line %zu: more than %d lines", line_no,
				SDP_MAX_LINES);
			ret = -E2BIG;
			goto fail;
		}
		if (l < 2 || !isalpha((unsigned char)line[0]) || line[1] != '=') {
			sdp_err(err, err_len, "line %zu: not <letter>=<value>", line_no);
			ret = -EINVAL;
			goto fail;
		}
		if (!sdp_value_ok(line + 2, l - 2)) {
			sdp_err(err, err_len, "line %zu: NUL or bare CR inside the line", line_no);
			ret = -EINVAL;
			goto fail;
		}
		if (line[0] == 'v' && (l != 3 || line[2] != '0')) {
			sdp_err(err, err_len, "line %zu: version must be v=0 (RFC 8866 5.1)",
				line_no);
			ret = -EINVAL;
			goto fail;
		}
		if (line[0] == 'm') {
			char mv[SDP_MAX_LINE_LEN];

			memcpy(mv, line + 2, l - 2);
			mv[l - 2] = '\0';
			if (sdp_mline_parse(mv, &m, why, sizeof(why)) < 0) {
				sdp_err(err, err_len, "line %zu: %s", line_no, why);
				ret = -EINVAL;
				goto fail;
			}
			ret = sdp_media_new(sdp);
			if (ret < 0) {
				sdp_err(err, err_len, "line %zu: more than %d m= sections", line_no,
					SDP_MAX_MEDIA);
				goto fail;
			}
			cur = &sdp->media[sdp->n_media - 1];
		}
		ret = sdp_section_insert_n(cur, cur->n, line[0], line + 2, l - 2);
		if (ret < 0) {
			sdp_err(err, err_len, "line %zu: out of memory", line_no);
			goto fail;
		}
	}
	if (sdp_total_lines(sdp) == 0) {
		sdp_err(err, err_len, "empty session description");
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	sdp_free(sdp);
	return ret;
}

static size_t sdp_section_len(const struct sdp_section *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->lines[i].len + 4; /* "x=" + CRLF */
	return n;
}

size_t sdp_write_len(const struct sdp *sdp)
{
	size_t n = sdp_section_len(&sdp->session);

	for (size_t i = 0; i < sdp->n_media; i++)
		n += sdp_section_len(&sdp->media[i]);
	return n;
}

static char *sdp_section_write(const struct sdp_section *s, char *p)
{
	for (size_t i = 0; i < s->n; i++) {
		*p++ = s->lines[i].type;
		*p++ = '=';
		memcpy(p, s->lines[i].value, s->lines[i].len);
		p += s->lines[i].len;
		*p++ = '\r';
		*p++ = '\n';
	}
	return p;
}

ssize_t sdp_write(const struct sdp *sdp, char *buf, size_t size)
{
	size_t need = sdp_write_len(sdp);
	char *p = buf;

	if (size <= need)
		return -ENOSPC;
	p = sdp_section_write(&sdp->session, p);
	for (size_t i = 0; i < sdp->n_media; i++)
		p = sdp_section_write(&sdp->media[i], p);
	*p = '\0';
	return (ssize_t)need;
}

char *sdp_write_alloc(const struct sdp *sdp, size_t *len)
{
	size_t need = sdp_write_len(sdp);
	char *buf = malloc(need + 1);

	if (!buf)
		return NULL;
	sdp_write(sdp, buf, need + 1);
	if (len)
		*len = need;
	return buf;
}

/* ---- tokens ------------------------------------------------------------------ */

/* Split s (modified in place) on runs of SP; at most max tokens. Returns the
 * count, or -E2BIG when there are more. */
static int sdp_tokens(char *s, char **tok, int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		if (n == max)
			return -E2BIG;
		tok[n++] = s;
		while (*s && *s != ' ')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

/* Decimal without sign or spaces, at most max. */
static int sdp_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static bool sdp_is_token(const char *s)
{
	/* RFC 8866 §9 token-char, minus nothing we need to allow. */
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

int sdp_media_by_mid(const struct sdp *sdp, const char *mid)
{
	for (size_t i = 0; i < sdp->n_media; i++) {
		const char *v = sdp_attr_get(&sdp->media[i], "mid");

		if (v && !strcmp(v, mid))
			return (int)i;
	}
	return -ENOENT;
}

int sdp_bundle_mids(const struct sdp *sdp, char *buf, size_t len, const char **mids, size_t max)
{
	char *tok[SDP_MAX_MEDIA + 1];
	int n;

	/* RFC 5888 §5: a=group:<semantics> *(SP identification-tag) */
	for (int i = sdp_attr_find(&sdp->session, "group", 0); i >= 0;
	     i = sdp_attr_find(&sdp->session, "group", (size_t)i + 1)) {
		const char *v = sdp_attr_value(&sdp->session.lines[i]);

		if (strncmp(v, "BUNDLE", 6) || (v[6] != ' ' && v[6] != '\0'))
			continue;
		if (strlen(v + 6) >= len)
			return -E2BIG;
		strcpy(buf, v + 6);
		n = sdp_tokens(buf, tok, SDP_MAX_MEDIA + 1);
		if (n < 0 || (size_t)n > max)
			return -E2BIG;
		for (int k = 0; k < n; k++)
			mids[k] = tok[k];
		return n;
	}
	return -ENOENT;
}

/* ---- m= and c= ----------------------------------------------------------------- */

int sdp_mline_parse(const char *value, struct sdp_mline *m, char *err, size_t err_len)
{
	const char *p = value, *start;
	unsigned long v;
	char num[16];
	size_t n;

	memset(m, 0, sizeof(*m));
	m->port_count = 1;
	start = p;
	while (*p && *p != ' ')
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= sizeof(m->media)) {
		sdp_err(err, err_len, "m= line has no media type or it is too long");
		return -EINVAL;
	}
	memcpy(m->media, start, n);
	while (*p == ' ')
		p++;
	start = p;
	while (*p && *p != ' ' && *p != '/')
		p++;
	n = (size_t)(p - start);
	if (n == 0) {
		sdp_err(err, err_len, "m= line has no port");
		return -EINVAL;
	}
	if (n >= sizeof(num) || (memcpy(num, start, n), num[n] = '\0', sdp_uint(num, 65535, &v))) {
		sdp_err(err, err_len, "m= port '%.*s' is not 0..65535", (int)(n > 16 ? 16 : n),
			start);
		return -EINVAL;
	}
	m->port = (uint16_t)v;
	if (*p == '/') {
		start = ++p;
		while (*p && *p != ' ')
			p++;
		n = (size_t)(p - start);
		if (n == 0 || n >= sizeof(num) ||
		    (memcpy(num, start, n), num[n] = '\0', sdp_uint(num, 65535, &v)) || v == 0) {
			sdp_err(err, err_len, "m= number of ports is not 1..65535");
			return -EINVAL;
		}
		m->port_count = (unsigned)v;
	}
	while (*p == ' ')
		p++;
	start = p;
	while (*p && *p != ' ')
		p++;
	n = (size_t)(p - start);
	if (n == 0) {
		sdp_err(err, err_len, "m= line has no transport protocol");
		return -EINVAL;
	}
	if (n >= sizeof(m->proto)) {
		sdp_err(err, err_len, "m= transport protocol longer than %zu bytes",
			sizeof(m->proto) - 1);
		return -EINVAL;
	}
	memcpy(m->proto, start, n);
	while (*p == ' ')
		p++;
	m->fmts = p;
	return 0;
}

int sdp_media_set_port(struct sdp *sdp, size_t idx, uint16_t port)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx);
	char buf[SDP_MAX_LINE_LEN];
	const char *v, *rest;
	size_t mlen;
	int n;

	if (!s || !s->n || s->lines[0].type != 'm')
		return -EINVAL;
	v = s->lines[0].value;
	rest = strchr(v, ' ');
	if (!rest)
		return -EINVAL;
	mlen = (size_t)(rest - v);
	rest++;
	while (*rest == ' ')
		rest++;
	/* Skip the old port but keep "/<count>" and what follows. */
	while (isdigit((unsigned char)*rest))
		rest++;
	n = snprintf(buf, sizeof(buf), "%.*s %u%s", (int)mlen, v, port, rest);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return sdp_line_replace(s, 0, 'm', buf);
}

static bool sdp_is_mdns(const char *host)
{
	size_t n = strlen(host);

	return n > 6 && !strcasecmp(host + n - 6, ".local");
}

int sdp_conn_parse(const char *value, struct netaddr *addr, char *err, size_t err_len)
{
	char buf[SDP_MAX_LINE_LEN], *tok[4], *slash;
	int n, fam;

	if (strlen(value) >= sizeof(buf)) {
		sdp_err(err, err_len, "c= line too long");
		return -EINVAL;
	}
	strcpy(buf, value);
	n = sdp_tokens(buf, tok, 4);
	if (n != 3 || strcmp(tok[0], "IN")) {
		sdp_err(err, err_len, "c= is not \"IN IP4|IP6 <address>\"");
		return -EINVAL;
	}
	if (!strcmp(tok[1], "IP4")) {
		fam = AF_INET;
	} else if (!strcmp(tok[1], "IP6")) {
		fam = AF_INET6;
	} else {
		sdp_err(err, err_len, "c= address type '%.16s' is not IP4 or IP6", tok[1]);
		return -EINVAL;
	}
	/* Multicast "/ttl[/count]": the address is what matters here. */
	slash = strchr(tok[2], '/');
	if (slash)
		*slash = '\0';
	if (netaddr_from_str(addr, tok[2], 0) < 0 || netaddr_family(addr) != fam) {
		sdp_err(err, err_len, "c= address '%.64s' is not a literal %s address", tok[2],
			tok[1]);
		return -EINVAL;
	}
	return 0;
}

int sdp_conn_format(const struct netaddr *addr, char *buf, size_t len)
{
	char ip[NETADDR_STRLEN];
	int n;

	if (netaddr_family(addr) != AF_INET && netaddr_family(addr) != AF_INET6)
		return -EINVAL;
	n = snprintf(buf, len, "IN %s %s", netaddr_family(addr) == AF_INET ? "IP4" : "IP6",
		     netaddr_ip_str(addr, ip, sizeof(ip)));
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static const struct sdp_line *sdp_conn_line(const struct sdp *sdp, size_t idx)
{
	const struct sdp_section *s = sdp_section_const(sdp, (int)idx);
	int i;

	if (!s)
		return NULL;
	i = sdp_line_find(s, 'c', 0);
	if (i >= 0)
		return &s->lines[i];
	i = sdp_line_find(&sdp->session, 'c', 0);
	return i >= 0 ? &sdp->session.lines[i] : NULL;
}

int sdp_media_default_addr(const struct sdp *sdp, size_t idx, struct netaddr *out)
{
	const struct sdp_section *s = sdp_section_const(sdp, (int)idx);
	const struct sdp_line *c;
	struct sdp_mline m;
	int ret;

	if (!s)
		return -EINVAL;
	ret = sdp_mline_parse(s->lines[0].value, &m, NULL, 0);
	if (ret < 0)
		return ret;
	c = sdp_conn_line(sdp, idx);
	if (!c)
		return -ENOENT;
	ret = sdp_conn_parse(c->value, out, NULL, 0);
	if (ret < 0)
		return ret;
	netaddr_set_port(out, m.port);
	return 0;
}

int sdp_media_set_default_addr(struct sdp *sdp, size_t idx, const struct netaddr *addr)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx);
	char buf[96];
	size_t pos;
	int i, ret;

	if (!s)
		return -EINVAL;
	ret = sdp_conn_format(addr, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	i = sdp_line_find(s, 'c', 0);
	if (i >= 0) {
		ret = sdp_line_replace(s, (size_t)i, 'c', buf);
	} else {
		/* RFC 8866 §5: c= follows m= and i= (title). */
		for (pos = 1; pos < s->n && s->lines[pos].type == 'i'; pos++)
			;
		ret = sdp_line_insert(s, pos, 'c', buf);
	}
	if (ret < 0)
		return ret;
	return sdp_media_set_port(sdp, idx, netaddr_port(addr));
}

/* ---- ICE attributes ------------------------------------------------------------ */

static bool sdp_ice_char(char c)
{
	/* RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/" */
	return isalnum((unsigned char)c) || c == '+' || c == '/';
}

int sdp_ice_chars_check(const char *s, size_t len, size_t min)
{
	if (len < min || len > SDP_ICE_CRED_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!sdp_ice_char(s[i]))
			return -EINVAL;
	return 0;
}

unsigned sdp_ice_options_parse(const char *value)
{
	char buf[SDP_MAX_LINE_LEN], *tok[64];
	unsigned flags = 0;
	int n;

	snprintf(buf, sizeof(buf), "%s", value);
	n = sdp_tokens(buf, tok, 64);
	for (int i = 0; i < n; i++) {
		if (!strcmp(tok[i], "trickle"))
			flags |= SDP_ICE_OPT_TRICKLE;
		else if (!strcmp(tok[i], "ice2"))
			flags |= SDP_ICE_OPT_ICE2;
	}
	return flags;
}

/* Literal IPv4/IPv6 address; SDP_ERR_MDNS for "*.local", -EPROTONOSUPPORT
 * for another hostname (we never resolve names from signalling). */
static int sdp_cand_addr(const char *s, uint16_t port, struct netaddr *a)
{
	if (netaddr_from_str(a, s, port) == 0)
		return 0;
	if (sdp_is_mdns(s))
		return SDP_ERR_MDNS;
	/* RFC 1123 host name: letters, digits, '-', '.', at least one letter
	 * (so "192.0.2.300" is a broken address, not a name). */
	bool letter = false;

	for (const char *p = s; *p; p++) {
		if (isalpha((unsigned char)*p))
			letter = true;
		else if (!isdigit((unsigned char)*p) && *p != '-' && *p != '.')
			return -EINVAL;
	}
	return letter ? -EPROTONOSUPPORT : -EINVAL;
}

/*
 * RFC 8839 §5.1:
 * candidate-attribute = "candidate" ":" foundation SP component-id SP
 *                       transport SP priority SP connection-address SP
 *                       port SP cand-type [SP rel-addr] [SP rel-port]
 *                       *(SP cand-extension)
 */
int sdp_candidate_parse(const char *value, size_t len, struct ice_candidate *c, char *err,
			size_t err_len)
{
	char buf[SDP_MAX_LINE_LEN], *tok[128], *ext;
	size_t ext_len = 0;
	unsigned long v;
	int n, ret;
	uint16_t port;

	memset(c, 0, sizeof(*c));
	c->generation = -1;
	if (len >= 2 && !memcmp(value, "a=", 2)) {
		value += 2;
		len -= 2;
	}
	if (len >= 10 && !memcmp(value, "candidate:", 10)) {
		value += 10;
		len -= 10;
	}
	if (len >= sizeof(buf) || memchr(value, '\0', len)) {
		sdp_err(err, err_len, "candidate longer than %zu bytes or holds NUL",
			sizeof(buf) - 1);
		return -EINVAL;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';
	n = sdp_tokens(buf, tok, (int)ARRAY_SIZE(tok));
	if (n < 0) {
		sdp_err(err, err_len, "candidate has more than %zu fields", ARRAY_SIZE(tok));
		return -EINVAL;
	}
	if (n < 8) {
		sdp_err(err, err_len, "candidate has %d fields, needs at least 8", n);
		return -EINVAL;
	}
	if (strlen(tok[0]) >= ICE_FOUNDATION_MAX ||
	    sdp_ice_chars_check(tok[0], strlen(tok[0]), 1) < 0) {
		sdp_err(err, err_len, "candidate foundation '%.40s' is not 1..32 ice-chars",
			tok[0]);
		return -EINVAL;
	}
	strcpy(c->foundation, tok[0]);
	if (sdp_uint(tok[1], 256, &v) || v == 0) {
		sdp_err(err, err_len, "candidate component '%.16s' is not 1..256", tok[1]);
		return -EINVAL;
	}
	c->component = (uint16_t)v;
	if (!strcasecmp(tok[2], "udp")) {
		c->transport = ICE_TRANSPORT_UDP;
	} else if (!strcasecmp(tok[2], "tcp")) {
		c->transport = ICE_TRANSPORT_TCP;
	} else {
		sdp_err(err, err_len, "candidate transport '%.16s' unsupported", tok[2]);
		return -EPROTONOSUPPORT;
	}
	if (sdp_uint(tok[3], 0xffffffffUL, &v) || v == 0) {
		sdp_err(err, err_len, "candidate priority '%.16s' is not 1..2^32-1", tok[3]);
		return -EINVAL;
	}
	c->priority = (uint32_t)v;
	if (sdp_uint(tok[5], 65535, &v)) {
		sdp_err(err, err_len, "candidate port '%.16s' is not 0..65535", tok[5]);
		return -EINVAL;
	}
	port = (uint16_t)v;
	ret = sdp_cand_addr(tok[4], port, &c->addr);
	if (ret == SDP_ERR_MDNS) {
		sdp_err(err, err_len, "candidate address '%.64s' is an mDNS name", tok[4]);
		return ret;
	}
	if (ret < 0) {
		sdp_err(err, err_len, "candidate address '%.64s' is not an IPv4/IPv6 literal",
			tok[4]);
		return ret;
	}
	if (strcmp(tok[6], "typ")) {
		sdp_err(err, err_len, "candidate field 7 is '%.16s', expected 'typ'", tok[6]);
		return -EINVAL;
	}
	if (ice_cand_type_from_str(tok[7], &c->type) < 0) {
		sdp_err(err, err_len, "candidate type '%.16s' is not host/srflx/prflx/relay",
			tok[7]);
		return -EINVAL;
	}
	ext = c->ext;
	for (int i = 8; i < n; i += 2) {
		if (i + 1 >= n) {
			sdp_err(err, err_len, "candidate extension '%.32s' has no value", tok[i]);
			return -EINVAL;
		}
		if (!strcmp(tok[i], "raddr")) {
			ret = sdp_cand_addr(tok[i + 1], netaddr_port(&c->raddr), &c->raddr);
			/* The related address is informational (RFC 8445 §5.1.3); a
			 * browser may hide it behind an mDNS name: drop it then. */
			if (ret == SDP_ERR_MDNS) {
				memset(&c->raddr, 0, sizeof(c->raddr));
			} else if (ret < 0) {
				sdp_err(err, err_len, "candidate raddr '%.64s' is not an address",
					tok[i + 1]);
				return -EINVAL;
			}
		} else if (!strcmp(tok[i], "rport")) {
			if (sdp_uint(tok[i + 1], 65535, &v)) {
				sdp_err(err, err_len, "candidate rport '%.16s' is not 0..65535",
					tok[i + 1]);
				return -EINVAL;
			}
			if (netaddr_family(&c->raddr))
				netaddr_set_port(&c->raddr, (uint16_t)v);
		} else if (!strcmp(tok[i], "generation")) {
			if (sdp_uint(tok[i + 1], 0x7fffffff, &v)) {
				sdp_err(err, err_len,
					"candidate generation '%.16s' is not a number", tok[i + 1]);
				return -EINVAL;
			}
			c->generation = (int)v;
		} else {
			size_t need = strlen(tok[i]) + strlen(tok[i + 1]) + 2;

			if (ext_len + need + 1 > ICE_CAND_EXT_MAX) {
				sdp_err(err, err_len, "candidate extensions longer than %d bytes",
					ICE_CAND_EXT_MAX - 1);
				return -EINVAL;
			}
			ext_len += (size_t)sprintf(ext + ext_len, "%s%s %s", ext_len ? " " : "",
						   tok[i], tok[i + 1]);
		}
	}
	/* rport before raddr: apply it now that the address exists. */
	for (int i = 8; i + 1 < n; i += 2)
		if (!strcmp(tok[i], "rport") && netaddr_family(&c->raddr) &&
		    !sdp_uint(tok[i + 1], 65535, &v))
			netaddr_set_port(&c->raddr, (uint16_t)v);
	return 0;
}

/* Transport in upper case as in RFC 8839's examples: ABNF strings are
 * case-insensitive, but libnice (<= 0.1.x) compares with "UDP" exactly. */
int sdp_candidate_format(const struct ice_candidate *c, char *buf, size_t len)
{
	char ip[NETADDR_STRLEN], rip[NETADDR_STRLEN];
	size_t off;
	int n;

	if ((unsigned)c->type > ICE_CAND_TYPE_RELAY || !c->foundation[0] ||
	    (netaddr_family(&c->addr) != AF_INET && netaddr_family(&c->addr) != AF_INET6))
		return -EINVAL;
	n = snprintf(buf, len, "%s %u %s %u %s %u typ %s", c->foundation, c->component,
		     c->transport == ICE_TRANSPORT_TCP ? "TCP" : "UDP", c->priority,
		     netaddr_ip_str(&c->addr, ip, sizeof(ip)), netaddr_port(&c->addr),
		     ice_cand_type_str(c->type));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	if (netaddr_family(&c->raddr)) {
		n = snprintf(buf + off, len - off, " raddr %s rport %u",
			     netaddr_ip_str(&c->raddr, rip, sizeof(rip)), netaddr_port(&c->raddr));
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (c->generation >= 0) {
		n = snprintf(buf + off, len - off, " generation %d", c->generation);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (c->ext[0]) {
		n = snprintf(buf + off, len - off, " %s", c->ext);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

int sdp_rtcp_parse(const char *value, uint16_t *port, struct netaddr *addr)
{
	char buf[SDP_MAX_LINE_LEN], *tok[5];
	unsigned long v;
	int n;

	memset(addr, 0, sizeof(*addr));
	if (strlen(value) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, value);
	n = sdp_tokens(buf, tok, 5);
	if ((n != 1 && n != 4) || sdp_uint(tok[0], 65535, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	if (n == 4) {
		char conn[SDP_MAX_LINE_LEN];

		snprintf(conn, sizeof(conn), "%s %s %s", tok[1], tok[2], tok[3]);
		if (sdp_conn_parse(conn, addr, NULL, 0) < 0)
			return -EINVAL;
		netaddr_set_port(addr, *port);
	}
	return 0;
}

int sdp_remote_candidates_parse(const char *value, struct sdp_remote_cand *out, size_t max)
{
	char buf[SDP_MAX_LINE_LEN], *tok[3 * 16];
	unsigned long comp, port;
	int n;

	if (strlen(value) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, value);
	n = sdp_tokens(buf, tok, (int)ARRAY_SIZE(tok));
	if (n <= 0 || n % 3)
		return -EINVAL;
	if ((size_t)(n / 3) > max)
		return -E2BIG;
	for (int i = 0; i < n; i += 3) {
		if (sdp_uint(tok[i], 256, &comp) || comp == 0 || sdp_uint(tok[i + 2], 65535, &port))
			return -EINVAL;
		out[i / 3].component = (uint16_t)comp;
		if (netaddr_from_str(&out[i / 3].addr, tok[i + 1], (uint16_t)port) < 0)
			return -EINVAL;
	}
	return n / 3;
}

/* ---- ICE description per media section ----------------------------------------- */

static int sdp_cred_get(const struct sdp_section *media, const struct sdp_section *session,
			const char *name, size_t min, char *out, char *err, size_t err_len)
{
	const char *v = sdp_attr_get(media, name);

	if (!v)
		v = sdp_attr_get(session, name);
	if (!v)
		return 0;
	if (sdp_ice_chars_check(v, strlen(v), min) < 0) {
		sdp_err(err, err_len,
			"a=%s is %zu bytes or has a non-ice-char; RFC 8839 5.4 wants %zu..%d of "
			"[A-Za-z0-9+/]",
			name, strlen(v), min, SDP_ICE_CRED_MAX);
		return -EINVAL;
	}
	strcpy(out, v);
	return 0;
}

int sdp_ice_extract(const struct sdp *sdp, size_t idx, struct sdp_ice_desc *d, char *err,
		    size_t err_len)
{
	const struct sdp_section *s = sdp_section_const(sdp, (int)idx);
	const struct sdp_section *ss = &sdp->session;
	const struct sdp_line *c;
	const char *v;
	char why[128];
	int ret;

	memset(d, 0, sizeof(*d));
	if (!s) {
		sdp_err(err, err_len, "no media section %zu", idx);
		return -EINVAL;
	}
	ret = sdp_cred_get(s, ss, "ice-ufrag", SDP_ICE_UFRAG_MIN, d->ufrag, err, err_len);
	if (ret < 0)
		return ret;
	ret = sdp_cred_get(s, ss, "ice-pwd", SDP_ICE_PWD_MIN, d->pwd, err, err_len);
	if (ret < 0)
		return ret;
	/* RFC 8839 §5.3: ice-lite is session level; accept it at media level too,
	 * some endpoints put it there. */
	d->lite = sdp_attr_find(ss, "ice-lite", 0) >= 0 || sdp_attr_find(s, "ice-lite", 0) >= 0;
	v = sdp_attr_get(s, "ice-options");
	if (!v)
		v = sdp_attr_get(ss, "ice-options");
	if (v) {
		snprintf(d->options_raw, sizeof(d->options_raw), "%s", v);
		d->options = sdp_ice_options_parse(v);
	}
	/* RFC 8838 §5/§8.2: a description that does not announce trickle is
	 * complete: every candidate is in it, as if end-of-candidates were. */
	d->end_of_candidates = sdp_attr_find(s, "end-of-candidates", 0) >= 0 ||
			       sdp_attr_find(ss, "end-of-candidates", 0) >= 0 ||
			       !(d->options & SDP_ICE_OPT_TRICKLE);
	d->rtcp_mux = sdp_attr_find(s, "rtcp-mux", 0) >= 0;
	d->mismatch = sdp_attr_find(s, "ice-mismatch", 0) >= 0;
	v = sdp_attr_get(s, "ice-pacing");
	if (!v)
		v = sdp_attr_get(ss, "ice-pacing");
	if (v) {
		unsigned long ms;

		/* RFC 8839 §5.5: pacing-value = 1*10DIGIT (milliseconds). */
		if (sdp_uint(v, 0xffffffffUL, &ms)) {
			sdp_err(err, err_len, "a=ice-pacing '%.16s' is not a number of ms", v);
			return -EINVAL;
		}
		d->pacing_ms = (unsigned)ms;
	}
	v = sdp_attr_get(s, "mid");
	if (v)
		snprintf(d->mid, sizeof(d->mid), "%s", v);

	for (int i = sdp_attr_find(s, "candidate", 0); i >= 0;
	     i = sdp_attr_find(s, "candidate", (size_t)i + 1)) {
		const struct sdp_line *l = &s->lines[i];
		struct ice_candidate cand;

		ret = sdp_candidate_parse(l->value, l->len, &cand, why, sizeof(why));
		if (ret == SDP_ERR_MDNS) {
			d->n_mdns_skipped++;
			continue;
		}
		if (ret == -EPROTONOSUPPORT) {
			d->n_unsupported_skipped++;
			continue;
		}
		if (ret < 0) {
			/* One bad line costs that candidate, not ICE for the
			 * whole stream: skipped, counted, the first one named. */
			if (!d->n_malformed_skipped++)
				sdp_err(err, err_len, "line %zu: %s (candidate skipped)",
					sdp_line_no(sdp, (int)idx, (size_t)i), why);
			continue;
		}
		if (d->n_cands == SDP_ICE_MAX_CANDS) {
			sdp_err(err, err_len, "line %zu: more than %d candidates",
				sdp_line_no(sdp, (int)idx, (size_t)i), SDP_ICE_MAX_CANDS);
			return -E2BIG;
		}
		d->cands[d->n_cands++] = cand;
	}

	c = sdp_conn_line(sdp, idx);
	if (c) {
		struct sdp_mline m;

		if (sdp_conn_parse(c->value, &d->default_rtp, why, sizeof(why)) < 0) {
			sdp_err(err, err_len, "media %zu: %s", idx, why);
			return -EINVAL;
		}
		sdp_mline_parse(s->lines[0].value, &m, NULL, 0);
		netaddr_set_port(&d->default_rtp, m.port);
		if (!d->rtcp_mux) {
			uint16_t port = (uint16_t)(m.port + 1);
			struct netaddr ra;
			int i = sdp_attr_find(s, "rtcp", 0);

			d->default_rtcp = d->default_rtp;
			if (i >= 0) {
				if (sdp_rtcp_parse(sdp_attr_value(&s->lines[i]), &port, &ra) < 0) {
					sdp_err(err, err_len,
						"line %zu: a=rtcp is not <port> [IN IP4|IP6 "
						"<address>]",
						sdp_line_no(sdp, (int)idx, (size_t)i));
					return -EINVAL;
				}
				if (netaddr_family(&ra))
					d->default_rtcp = ra;
			}
			netaddr_set_port(&d->default_rtcp, port);
		}
	}
	return 0;
}

static const char *const sdp_ice_attrs[] = {
	"ice-ufrag",	"ice-pwd",   "ice-options",	  "ice-pacing",
	"ice-mismatch", "candidate", "end-of-candidates", "remote-candidates",
};

int sdp_ice_apply(struct sdp *sdp, size_t idx, const struct sdp_ice_desc *d)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx);
	char buf[SDP_MAX_LINE_LEN];
	int ret;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(sdp_ice_attrs); i++) {
		sdp_attr_remove_all(s, sdp_ice_attrs[i]);
		sdp_attr_remove_all(&sdp->session, sdp_ice_attrs[i]);
	}
	sdp_attr_remove_all(s, "ice-lite");
	sdp_attr_remove_all(&sdp->session, "ice-lite");
	if (d->lite && (ret = sdp_attr_append(&sdp->session, "ice-lite", NULL)) < 0)
		return ret;
	if (netaddr_family(&d->default_rtp)) {
		ret = sdp_media_set_default_addr(sdp, idx, &d->default_rtp);
		if (ret < 0)
			return ret;
	}
	if (d->ufrag[0] && (ret = sdp_attr_append(s, "ice-ufrag", d->ufrag)) < 0)
		return ret;
	if (d->pwd[0] && (ret = sdp_attr_append(s, "ice-pwd", d->pwd)) < 0)
		return ret;
	if (d->options_raw[0]) {
		ret = sdp_attr_append(s, "ice-options", d->options_raw);
	} else if (d->options) {
		snprintf(buf, sizeof(buf), "%s%s%s",
			 d->options & SDP_ICE_OPT_TRICKLE ? "trickle" : "",
			 (d->options & SDP_ICE_OPT_TRICKLE) && (d->options & SDP_ICE_OPT_ICE2) ? " "
											       : "",
			 d->options & SDP_ICE_OPT_ICE2 ? "ice2" : "");
		ret = sdp_attr_append(s, "ice-options", buf);
	} else {
		ret = 0;
	}
	if (ret < 0)
		return ret;
	if (d->pacing_ms) {
		snprintf(buf, sizeof(buf), "%u", d->pacing_ms);
		ret = sdp_attr_append(s, "ice-pacing", buf);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < d->n_cands && i < SDP_ICE_MAX_CANDS; i++) {
		ret = sdp_candidate_format(&d->cands[i], buf, sizeof(buf));
		if (ret < 0)
			return ret;
		ret = sdp_attr_append(s, "candidate", buf);
		if (ret < 0)
			return ret;
	}
	if (d->end_of_candidates && (ret = sdp_attr_append(s, "end-of-candidates", NULL)) < 0)
		return ret;
	return 0;
}

int sdp_build_session(struct sdp *sdp, const struct netaddr *origin, uint64_t sess_id)
{
	char conn[96], buf[160];
	int ret;

	sdp_init(sdp);
	ret = sdp_conn_format(origin, conn, sizeof(conn));
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "- %llu 1 %s", (unsigned long long)sess_id, conn);
	if ((ret = sdp_line_insert(&sdp->session, 0, 'v', "0")) < 0 ||
	    (ret = sdp_line_insert(&sdp->session, 1, 'o', buf)) < 0 ||
	    (ret = sdp_line_insert(&sdp->session, 2, 's', "-")) < 0 ||
	    (ret = sdp_line_insert(&sdp->session, 3, 'c', conn)) < 0 ||
	    (ret = sdp_line_insert(&sdp->session, 4, 't', "0 0")) < 0) {
		sdp_free(sdp);
		return ret;
	}
	return 0;
}

int sdp_media_add(struct sdp *sdp, const char *media, uint16_t port, const char *proto,
		  const char *fmts)
{
	char buf[SDP_MAX_LINE_LEN];
	struct sdp_mline m;
	int n, ret;

	n = snprintf(buf, sizeof(buf), "%s %u %s%s%s", media, port, proto, fmts && *fmts ? " " : "",
		     fmts ? fmts : "");
	if (n < 0 || (size_t)n >= sizeof(buf) || !sdp_is_token(media) ||
	    sdp_mline_parse(buf, &m, NULL, 0) < 0)
		return -EINVAL;
	ret = sdp_media_new(sdp);
	if (ret < 0)
		return ret;
	ret = sdp_line_insert(&sdp->media[sdp->n_media - 1], 0, 'm', buf);
	if (ret < 0) {
		sdp->n_media--;
		return ret;
	}
	return (int)(sdp->n_media - 1);
}
