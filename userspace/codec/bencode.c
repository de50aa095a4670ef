// SPDX-License-Identifier: GPL-2.0-only
/*
 * bencode: decoder and encoder (see include/icepath/bencode.h).
 *
 * The decoder walks the input once with an explicit stack of open
 * lists/dictionaries, so hostile nesting costs BENCODE_MAX_DEPTH entries of
 * stack and nothing more; every node comes from the caller's array.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/compiler.h"
#include "icepath/bencode.h"

static const char *const bencode_type_names[] = {
	[BENCODE_INT] = "integer",
	[BENCODE_STR] = "string",
	[BENCODE_LIST] = "list",
	[BENCODE_DICT] = "dictionary",
};

const char *bencode_type_str(enum bencode_type t)
{
	if ((size_t)t >= ARRAY_SIZE(bencode_type_names) || !bencode_type_names[t])
		return "unknown";
	return bencode_type_names[t];
}

__attribute__((format(printf, 3, 4))) static int bencode_fail(struct bencode_err *err, size_t off,
							      const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	err->off = off;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *bencode_err_str(const struct bencode_err *err, char *out, size_t cap)
{
	if (cap)
		snprintf(out, cap, "offset %zu: %s", err->off, err->msg);
	return out;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* "i<digits>e" at buf[*pos] (which is 'i'). */
static int bencode_parse_int(const uint8_t *buf, size_t len, size_t *pos, int64_t *out,
			     struct bencode_err *err)
{
	size_t start = *pos, p = start + 1, first;
	bool neg = false;
	/* Accumulate as a negative number: INT64_MIN has no positive twin. */
	int64_t v = 0;

	if (p < len && buf[p] == '-') {
		neg = true;
		p++;
	}
	first = p;
	while (p < len && is_digit(buf[p])) {
		int d = buf[p] - '0';

		if (v < (INT64_MIN + d) / 10)
			return bencode_fail(err, start, "integer overflows 64 bits");
		v = v * 10 - d;
		p++;
	}
	if (p >= len)
		return bencode_fail(err, start, "integer not terminated by 'e' before end");
	if (buf[p] != 'e')
		return bencode_fail(err, p, "unexpected byte 0x%02x in integer", buf[p]);
	if (p == first)
		return bencode_fail(err, start, "integer has no digits");
	if (buf[first] == '0' && p - first > 1)
		return bencode_fail(err, first, "integer has a leading zero");
	if (neg && v == 0)
		return bencode_fail(err, start, "negative zero integer");
	if (!neg) {
		if (v == INT64_MIN)
			return bencode_fail(err, start, "integer overflows 64 bits");
		v = -v;
	}
	*out = v;
	*pos = p + 1;
	return 0;
}

/* "<len>:<bytes>" at buf[*pos] (a digit or '-'). */
static int bencode_parse_str(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **ptr,
			     size_t *slen, struct bencode_err *err)
{
	size_t start = *pos, p = start, n = 0;

	if (buf[p] == '-')
		return bencode_fail(err, start, "negative string length");
	while (p < len && is_digit(buf[p])) {
		n = n * 10 + (size_t)(buf[p] - '0');
		if (n > BENCODE_MAX_STR)
			return bencode_fail(err, start, "string length exceeds %u bytes",
					    BENCODE_MAX_STR);
		p++;
	}
	if (p >= len)
		return bencode_fail(err, start, "string length not followed by ':' before end");
	if (buf[p] != ':')
		return bencode_fail(err, p, "unexpected byte 0x%02x in string length", buf[p]);
	if (buf[start] == '0' && p - start > 1)
		return bencode_fail(err, start, "string length has a leading zero");
	p++;
	if (n > len - p)
		return bencode_fail(err, start, "string length %zu runs past end (%zu bytes left)",
				    n, len - p);
	*ptr = buf + p;
	*slen = n;
	*pos = p + n;
	return 0;
}

struct bencode_open {
	struct bencode *node;
	struct bencode *last;
};

static bool bencode_key_taken(const struct bencode *dict, const uint8_t *k, size_t klen)
{
	for (const struct bencode *c = dict->child; c; c = c->next)
		if (c->key_len == klen && !memcmp(c->key, k, klen))
			return true;
	return false;
}

static ssize_t bencode_walk(const uint8_t *buf, size_t len, struct bencode *nodes, size_t cap,
			    struct bencode **root, struct bencode_err *err)
{
	struct bencode_open stack[BENCODE_MAX_DEPTH];
	size_t pos = 0, used = 0;
	int depth = 0, rc;

	*root = NULL;
	if (!buf && len)
		return bencode_fail(err, 0, "no buffer");
	for (;;) {
		const uint8_t *key = NULL;
		size_t key_len = 0, at;
		struct bencode *n;

		if (depth > 0) {
			struct bencode_open *top = &stack[depth - 1];

			if (pos >= len)
				return bencode_fail(err, top->node->off,
						    "%s not closed by 'e' before end",
						    bencode_type_str(top->node->type));
			if (buf[pos] == 'e') {
				pos++;
				if (--depth == 0)
					break;
				continue;
			}
			if (top->node->type == BENCODE_DICT) {
				at = pos;
				if (!is_digit(buf[pos]) && buf[pos] != '-')
					return bencode_fail(
						err, pos,
						"dictionary key must be a byte string, not 0x%02x",
						buf[pos]);
				rc = bencode_parse_str(buf, len, &pos, &key, &key_len, err);
				if (rc)
					return rc;
				if (bencode_key_taken(top->node, key, key_len))
					return bencode_fail(
						err, at, "duplicate dictionary key '%.*s'",
						(int)(key_len > 40 ? 40 : key_len), key);
				if (pos >= len || buf[pos] == 'e')
					return bencode_fail(
						err, pos, "dictionary key '%.*s' has no value",
						(int)(key_len > 40 ? 40 : key_len), key);
			}
		} else if (pos >= len) {
			return bencode_fail(err, pos, "empty input");
		}

		if (used >= cap) {
			bencode_fail(err, pos, "more than %zu values", cap);
			return -ENOBUFS;
		}
		n = &nodes[used];
		memset(n, 0, sizeof(*n));
		n->off = pos;
		n->key = key;
		n->key_len = key_len;

		switch (buf[pos]) {
		case 'i':
			n->type = BENCODE_INT;
			rc = bencode_parse_int(buf, len, &pos, &n->i, err);
			break;
		case 'l':
		case 'd':
			n->type = buf[pos] == 'l' ? BENCODE_LIST : BENCODE_DICT;
			if (depth >= BENCODE_MAX_DEPTH) {
				bencode_fail(err, pos, "nesting deeper than %d", BENCODE_MAX_DEPTH);
				return -ELOOP;
			}
			pos++;
			rc = 0;
			break;
		default:
			if (is_digit(buf[pos]) || buf[pos] == '-') {
				n->type = BENCODE_STR;
				rc = bencode_parse_str(buf, len, &pos, &n->s.ptr, &n->s.len, err);
			} else {
				rc = bencode_fail(err, pos,
						  "unexpected byte 0x%02x where a value starts",
						  buf[pos]);
			}
		}
		if (rc)
			return rc;
		used++;

		if (depth > 0) {
			struct bencode_open *top = &stack[depth - 1];

			if (top->last)
				top->last->next = n;
			else
				top->node->child = n;
			top->last = n;
			top->node->count++;
		} else {
			*root = n;
		}
		if (n->type == BENCODE_LIST || n->type == BENCODE_DICT) {
			stack[depth].node = n;
			stack[depth].last = NULL;
			depth++;
		} else if (depth == 0) {
			break;
		}
	}
	return (ssize_t)pos;
}

ssize_t bencode_parse(const uint8_t *buf, size_t len, struct bencode *nodes, size_t cap,
		      struct bencode **root, struct bencode_err *err)
{
	ssize_t n = bencode_walk(buf, len, nodes, cap, root, err);

	/* A half-built tree is never handed out. */
	if (n < 0)
		*root = NULL;
	return n;
}

int bencode_decode(const uint8_t *buf, size_t len, struct bencode *nodes, size_t cap,
		   struct bencode **root, struct bencode_err *err)
{
	ssize_t n = bencode_parse(buf, len, nodes, cap, root, err);

	if (n < 0)
		return (int)n;
	if ((size_t)n != len) {
		*root = NULL;
		return bencode_fail(err, (size_t)n, "%zu bytes of trailing garbage",
				    len - (size_t)n);
	}
	return 0;
}

/* ---- lookups ------------------------------------------------------------ */

const struct bencode *bencode_dict_get_n(const struct bencode *dict, const void *key,
					 size_t key_len)
{
	if (!dict || dict->type != BENCODE_DICT)
		return NULL;
	for (const struct bencode *c = dict->child; c; c = c->next)
		if (c->key_len == key_len && !memcmp(c->key, key, key_len))
			return c;
	return NULL;
}

const struct bencode *bencode_dict_get(const struct bencode *dict, const char *key)
{
	return bencode_dict_get_n(dict, key, strlen(key));
}

const struct bencode *bencode_list_at(const struct bencode *list, size_t i)
{
	const struct bencode *c;

	if (!list || list->type != BENCODE_LIST)
		return NULL;
	for (c = list->child; c && i; c = c->next)
		i--;
	return c;
}

bool bencode_is(const struct bencode *b, enum bencode_type t)
{
	return b && b->type == t;
}

bool bencode_str_eq(const struct bencode *b, const char *s)
{
	size_t n = strlen(s);

	return bencode_is(b, BENCODE_STR) && b->s.len == n && !memcmp(b->s.ptr, s, n);
}

int bencode_get_str(const struct bencode *b, const uint8_t **ptr, size_t *len)
{
	if (!b)
		return -ENOENT;
	if (b->type != BENCODE_STR)
		return -EINVAL;
	*ptr = b->s.ptr;
	*len = b->s.len;
	return 0;
}

int bencode_get_int(const struct bencode *b, int64_t *v)
{
	if (!b)
		return -ENOENT;
	if (b->type != BENCODE_INT)
		return -EINVAL;
	*v = b->i;
	return 0;
}

int bencode_str_copy(const struct bencode *b, char *out, size_t cap)
{
	if (!b)
		return -ENOENT;
	if (b->type != BENCODE_STR || memchr(b->s.ptr, 0, b->s.len))
		return -EINVAL;
	if (b->s.len >= cap)
		return -ENAMETOOLONG;
	memcpy(out, b->s.ptr, b->s.len);
	out[b->s.len] = 0;
	return 0;
}

/* ---- encoder ------------------------------------------------------------ */

void bencode_buf_init(struct bencode_buf *b, void *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = mem;
	b->cap = cap;
	b->max = cap;
}

void bencode_buf_init_dyn(struct bencode_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->growable = true;
	b->max = max;
}

void bencode_buf_free(struct bencode_buf *b)
{
	if (!b)
		return;
	if (b->growable)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

ssize_t bencode_buf_finish(const struct bencode_buf *b)
{
	if (b->err)
		return b->err;
	if (b->depth)
		return -EINVAL;
	return (ssize_t)b->len;
}

static bool bencode_reserve(struct bencode_buf *b, size_t n)
{
	size_t want;
	uint8_t *p;

	if (b->err)
		return false;
	if (n <= b->cap - b->len)
		return true;
	if (!b->growable || n > b->max - b->len) {
		b->err = -ENOSPC;
		return false;
	}
	want = b->cap ? b->cap : 256;
	while (want - b->len < n)
		want *= 2;
	if (want > b->max)
		want = b->max;
	p = realloc(b->data, want);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = p;
	b->cap = want;
	return true;
}

void bencode_put_raw(struct bencode_buf *b, const void *p, size_t len)
{
	if (!bencode_reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

void bencode_put_int(struct bencode_buf *b, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "i%" PRId64 "e", v);

	bencode_put_raw(b, tmp, (size_t)n);
}

void bencode_put_bytes(struct bencode_buf *b, const void *p, size_t len)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%zu:", len);

	bencode_put_raw(b, tmp, (size_t)n);
	bencode_put_raw(b, p, len);
}

void bencode_put_str(struct bencode_buf *b, const char *s)
{
	bencode_put_bytes(b, s, strlen(s));
}

void bencode_put_list(struct bencode_buf *b)
{
	bencode_put_raw(b, "l", 1);
	b->depth++;
}

void bencode_put_dict(struct bencode_buf *b)
{
	bencode_put_raw(b, "d", 1);
	b->depth++;
}

void bencode_put_end(struct bencode_buf *b)
{
	if (b->depth <= 0) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	b->depth--;
	bencode_put_raw(b, "e", 1);
}
