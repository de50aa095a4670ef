/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bencode: the dictionary format of rtpengine's NG control protocol.
 *
 *   integer      i<decimal>e         "i42e", "i-3e"; no "-0", no leading zeros
 *   byte string  <len>:<bytes>       "4:ping"; len is decimal, no leading zeros
 *   list         l<value>...e
 *   dictionary   d<string><value>...e
 *
 * The decoder is a pure function over (buffer, length): it never reads past
 * the length, never allocates (nodes come from a caller-provided array),
 * never recurses (an explicit stack, BENCODE_MAX_DEPTH deep), and every
 * rejection carries the byte offset and the reason ("offset 17: string
 * length runs past end"). Strings are not copied: a node points into the
 * input, so the input must outlive the tree, and strings are NOT
 * NUL-terminated (use bencode_str_copy() or "%.*s").
 *
 * Dictionary keys need not be sorted (rtpengine and its clients do not sort
 * them); a key present twice in one dictionary is rejected, since "first or
 * last wins" is exactly the ambiguity a control protocol must not have.
 *
 * The encoder writes into a fixed buffer or a growable one; the first
 * failure (no space, unbalanced end) is sticky and reported once by
 * bencode_buf_finish(), so a caller can emit a whole reply and check once.
 */
#ifndef ICEPATH_BENCODE_H
#define ICEPATH_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Nesting deeper than this is refused: NG messages nest 4-5 levels. */
#ifndef BENCODE_MAX_DEPTH
#define BENCODE_MAX_DEPTH 32
#endif

/* Longest byte string accepted (bytes): a UDP datagram cannot carry more. */
#define BENCODE_MAX_STR 65536u

enum bencode_type {
	BENCODE_INT = 1,
	BENCODE_STR,
	BENCODE_LIST,
	BENCODE_DICT,
};

const char *bencode_type_str(enum bencode_type t);

/*
 * One decoded value. Lists and dictionaries chain their elements through
 * child -> next; an element of a dictionary carries its key in key/key_len.
 */
struct bencode {
	enum bencode_type type;
	uint32_t count;	    /* LIST/DICT: number of elements (pairs for DICT) */
	size_t off;	    /* offset of this value in the input */
	const uint8_t *key; /* set when this is a dictionary value */
	size_t key_len;
	union {
		int64_t i; /* INT */
		struct {
			const uint8_t *ptr; /* STR: into the input */
			size_t len;
		} s;
	};
	struct bencode *child; /* LIST/DICT: first element */
	struct bencode *next;  /* next element of the parent */
};

/* Why a decode failed: byte offset and a sentence. */
struct bencode_err {
	size_t off;
	char msg[96];
};

/*
 * Decode one value from buf[0..len) using nodes[0..cap) as the arena.
 * Returns the number of bytes the value took (trailing bytes are left
 * alone), or:
 *   -EINVAL   malformed (err says where and why)
 *   -ENOBUFS  more values than cap nodes
 *   -ELOOP    nesting deeper than BENCODE_MAX_DEPTH
 * err may be NULL.
 */
ssize_t bencode_parse(const uint8_t *buf, size_t len, struct bencode *nodes, size_t cap,
		      struct bencode **root, struct bencode_err *err);
/* As bencode_parse() but the value must fill buf exactly ("trailing garbage"). */
int bencode_decode(const uint8_t *buf, size_t len, struct bencode *nodes, size_t cap,
		   struct bencode **root, struct bencode_err *err);
/* "offset 17: string length runs past end" into out; returns out. */
const char *bencode_err_str(const struct bencode_err *err, char *out, size_t cap);

/* ---- lookups and typed getters (NULL-safe: a NULL node is "absent") ------ */

/* Value of key in dict (exact bytes), NULL when absent or dict is no DICT. */
const struct bencode *bencode_dict_get(const struct bencode *dict, const char *key);
const struct bencode *bencode_dict_get_n(const struct bencode *dict, const void *key,
					 size_t key_len);
/* i-th element of a list (0-based), NULL past the end. */
const struct bencode *bencode_list_at(const struct bencode *list, size_t i);

bool bencode_is(const struct bencode *b, enum bencode_type t);
/* Node is a byte string equal to s (exact, case-sensitive). */
bool bencode_str_eq(const struct bencode *b, const char *s);
/* 0, -ENOENT (b is NULL) or -EINVAL (other type). */
int bencode_get_str(const struct bencode *b, const uint8_t **ptr, size_t *len);
int bencode_get_int(const struct bencode *b, int64_t *v);
/*
 * Copy a byte string into out as a C string: 0, -ENOENT, -EINVAL (not a
 * string, or it holds a NUL byte), -ENAMETOOLONG (len >= cap).
 */
int bencode_str_copy(const struct bencode *b, char *out, size_t cap);

/* ---- encoder ----------------------------------------------------------- */

struct bencode_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;    /* growable: never grow past this many bytes */
	bool growable; /* data is malloc()ed and ours */
	int depth;     /* open lists/dicts */
	int err;       /* 0, or the first failure (-ENOSPC, -ENOMEM, -EINVAL) */
};

/* Write into mem[0..cap); nothing is allocated. */
void bencode_buf_init(struct bencode_buf *b, void *mem, size_t cap);
/* malloc()ed, doubling, never larger than max bytes. */
void bencode_buf_init_dyn(struct bencode_buf *b, size_t max);
/* Frees a growable buffer; accepts NULL. */
void bencode_buf_free(struct bencode_buf *b);
/* Length written, or the first error; also -EINVAL if a list/dict is open. */
ssize_t bencode_buf_finish(const struct bencode_buf *b);

void bencode_put_int(struct bencode_buf *b, int64_t v);
void bencode_put_bytes(struct bencode_buf *b, const void *p, size_t len);
void bencode_put_str(struct bencode_buf *b, const char *s);
void bencode_put_list(struct bencode_buf *b); /* 'l' ... bencode_put_end() */
void bencode_put_dict(struct bencode_buf *b); /* 'd' ... bencode_put_end() */
void bencode_put_end(struct bencode_buf *b);
/* Raw bytes, already bencoded (e.g. a value copied from a decoded message). */
void bencode_put_raw(struct bencode_buf *b, const void *p, size_t len);

/* Dictionary members: key then value. */
static inline void bencode_put_kv_str(struct bencode_buf *b, const char *k, const char *v)
{
	bencode_put_str(b, k);
	bencode_put_str(b, v);
}

static inline void bencode_put_kv_int(struct bencode_buf *b, const char *k, int64_t v)
{
	bencode_put_str(b, k);
	bencode_put_int(b, v);
}

#endif
