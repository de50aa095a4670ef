/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * STUN message codec (RFC 8489, with RFC 5389/3489-era peers in mind), the
 * TURN methods and attributes (RFC 8656) and the ICE attributes (RFC 8445
 * §16.1). Pure functions over byte buffers with explicit lengths.
 *
 * RFC 8489 §5, the header:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0|     STUN Message Type     |         Message Length        |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                         Magic Cookie                          |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                                                               |
 *     |                     Transaction ID (96 bits)                  |
 *     |                                                               |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Parsing never copies: struct stun_msg points into the caller's buffer,
 * which must outlive it.
 */
#ifndef ICEPATH_STUN_H
#define ICEPATH_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/netaddr.h"

#define STUN_HEADER_LEN	      20	 /* bytes, RFC 8489 §5 */
#define STUN_MAGIC_COOKIE     0x2112A442u /* RFC 8489 §5 */
#define STUN_TID_LEN	      12	 /* bytes, RFC 8489 §5 */
#define STUN_ATTR_HEADER_LEN  4		 /* bytes, RFC 8489 §14 */
#define STUN_MAX_ATTRS	      40	 /* more in one message is rejected */
#define STUN_MAX_UNKNOWN      16	 /* unknown comprehension-required types kept */
#define STUN_HMAC_SHA1_LEN    20	 /* MESSAGE-INTEGRITY value, RFC 8489 §14.5 */
#define STUN_HMAC_SHA256_LEN  32	 /* MESSAGE-INTEGRITY-SHA256 value, RFC 8489 §14.6 */
#define STUN_FINGERPRINT_XOR  0x5354554eu /* RFC 8489 §14.7 */
#define STUN_MAX_KEY_LEN      32	 /* SHA-256 long-term key */
#define STUN_USERNAME_MAX     513	 /* bytes, RFC 8489 §14.3 (< 509 + NUL, rounded) */

enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

enum stun_method {
	STUN_METHOD_BINDING = 0x001,	       /* RFC 8489 §18.2 */
	STUN_METHOD_ALLOCATE = 0x003,	       /* RFC 8656 §17 */
	STUN_METHOD_REFRESH = 0x004,
	STUN_METHOD_SEND = 0x006,
	STUN_METHOD_DATA = 0x007,
	STUN_METHOD_CREATE_PERMISSION = 0x008,
	STUN_METHOD_CHANNEL_BIND = 0x009,
};

enum stun_attr_type {
	/* comprehension-required (0x0000-0x7FFF) */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_CHANNEL_NUMBER = 0x000C,
	STUN_ATTR_LIFETIME = 0x000D,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017, /* RFC 8656 §18.8 */
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PRIORITY = 0x0024,	 /* RFC 8445 §16.1 */
	STUN_ATTR_USE_CANDIDATE = 0x0025, /* RFC 8445 §16.1 */
	/* comprehension-optional (0x8000-0xFFFF) */
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,  /* RFC 8445 §16.1 */
	STUN_ATTR_ICE_CONTROLLING = 0x802A, /* RFC 8445 §16.1 */
};

/* RFC 8489 §18.5 */
enum stun_password_alg {
	STUN_PASSWORD_ALG_MD5 = 0x0001,
	STUN_PASSWORD_ALG_SHA256 = 0x0002,
};

/* Error codes used by ICE and TURN (RFC 8489 §14.8, RFC 8445 §7.3.1.1, RFC 8656 §19). */
enum stun_error_code {
	STUN_ERROR_TRY_ALTERNATE = 300,
	STUN_ERROR_BAD_REQUEST = 400,
	STUN_ERROR_UNAUTHORIZED = 401,
	STUN_ERROR_FORBIDDEN = 403,
	STUN_ERROR_UNKNOWN_ATTRIBUTE = 420,
	STUN_ERROR_ALLOCATION_MISMATCH = 437,
	STUN_ERROR_STALE_NONCE = 438,
	STUN_ERROR_ADDRESS_FAMILY_NOT_SUPPORTED = 440,
	STUN_ERROR_WRONG_CREDENTIALS = 441,
	STUN_ERROR_UNSUPPORTED_TRANSPORT = 442,
	STUN_ERROR_ALLOCATION_QUOTA = 486,
	STUN_ERROR_ROLE_CONFLICT = 487,
	STUN_ERROR_SERVER_ERROR = 500,
	STUN_ERROR_INSUFFICIENT_CAPACITY = 508,
};

/* Why a message was rejected: codec functions return -STUN_ERR_x. */
enum stun_err {
	STUN_ERR_NONE = 0,
	STUN_ERR_NOT_STUN,	      /* first two bits not 00 */
	STUN_ERR_TRUNCATED,	      /* shorter than the header or its length field */
	STUN_ERR_BAD_LENGTH,	      /* length not a multiple of 4, or trailing bytes,
					 or the message is over 65535 bytes */
	STUN_ERR_BAD_COOKIE,	      /* magic cookie absent (RFC 3489 peer) where required */
	STUN_ERR_ATTR_OVERRUN,	      /* an attribute runs past the message */
	STUN_ERR_TOO_MANY_ATTRS,      /* more than STUN_MAX_ATTRS */
	STUN_ERR_ATTR_AFTER_INTEGRITY, /* only MI-SHA256/FINGERPRINT may follow MI (§14.5) */
	STUN_ERR_ATTR_AFTER_FINGERPRINT, /* FINGERPRINT must be last (§14.7) */
	STUN_ERR_FINGERPRINT,	      /* FINGERPRINT present and wrong */
	STUN_ERR_INTEGRITY,	      /* MESSAGE-INTEGRITY(-SHA256) mismatch */
	STUN_ERR_NO_INTEGRITY,	      /* integrity required and absent */
	STUN_ERR_BAD_ATTR,	      /* an attribute's value is malformed for its type */
	STUN_ERR_NO_SPACE,	      /* builder: buffer too small */
	STUN_ERR_BAD_CHANNEL,	      /* ChannelData: number outside 0x4000-0x4FFF */
	STUN_ERR_BAD_ARG,	      /* caller error */
	STUN_ERR_CRYPTO,	      /* libcrypto failed (out of memory) */
	STUN_ERR_MAX,
};

/* "truncated header", "attribute overruns message", ... never NULL. */
const char *stun_strerror(int err);

struct stun_attr {
	uint16_t type;
	uint16_t len;	 /* value length, without padding */
	uint16_t offset; /* of the value, from the start of the message */
};

struct stun_msg {
	const uint8_t *buf; /* the whole message, as given to stun_parse() */
	size_t len;	    /* STUN_HEADER_LEN + length field */
	uint16_t method;    /* enum stun_method */
	enum stun_class cls;
	bool has_cookie; /* false: RFC 3489 peer, tid is then 16 bytes incl. cookie */
	uint8_t tid[STUN_TID_LEN];
	unsigned nattrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	/* index into attrs[] or -1 */
	int integrity, integrity_sha256, fingerprint;
	/* comprehension-required attribute types the codec does not know:
	 * a server answers a request carrying any with 420 (RFC 8489 §6.3.1) */
	unsigned nunknown;
	uint16_t unknown[STUN_MAX_UNKNOWN];
};

/*
 * Quick test for a demultiplexer: could buf be a STUN message (first two
 * bits 00, length a multiple of 4 that fits, magic cookie)?
 */
bool stun_is_message(const uint8_t *buf, size_t len);

/*
 * Parse and validate framing: header, attribute walk, the ordering rules of
 * MESSAGE-INTEGRITY/-SHA256/FINGERPRINT, and FINGERPRINT's value when
 * present (it needs no key). Integrity needs a key: stun_check_integrity().
 * Returns the message length (bytes consumed) or -STUN_ERR_x.
 * Attributes after MESSAGE-INTEGRITY other than MI-SHA256/FINGERPRINT are
 * ignored as RFC 8489 §14.5 says, not an error, but they are not listed.
 */
int stun_parse(struct stun_msg *m, const uint8_t *buf, size_t len);

/* First attribute of that type, or NULL. Duplicates: the first one counts
 * (RFC 8489 §14: "any attribute type MAY appear more than once ... only the
 * first occurrence needs to be processed"). */
const struct stun_attr *stun_msg_find(const struct stun_msg *m, uint16_t type);
static inline const uint8_t *stun_attr_value(const struct stun_msg *m, const struct stun_attr *a)
{
	return m->buf + a->offset;
}

/* Typed getters: 0 or -STUN_ERR_x (-STUN_ERR_BAD_ATTR for a wrong length). */
int stun_attr_get_addr(const struct stun_msg *m, const struct stun_attr *a,
		       struct netaddr *out); /* MAPPED-ADDRESS, ALTERNATE-SERVER */
int stun_attr_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a,
			   struct netaddr *out); /* XOR-MAPPED/PEER/RELAYED-ADDRESS */
int stun_attr_get_u32(const struct stun_msg *m, const struct stun_attr *a, uint32_t *out);
int stun_attr_get_u64(const struct stun_msg *m, const struct stun_attr *a, uint64_t *out);
/* ERROR-CODE: class*100+number, reason points into the message (not NUL-terminated). */
int stun_attr_get_error(const struct stun_msg *m, const struct stun_attr *a, int *code,
			const char **reason, size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: up to max types into out, count in *n. */
int stun_attr_get_unknown(const struct stun_msg *m, const struct stun_attr *a, uint16_t *out,
			  size_t max, size_t *n);
/* CHANNEL-NUMBER: channel in 0x4000-0x4FFF else -STUN_ERR_BAD_CHANNEL. */
int stun_attr_get_channel(const struct stun_msg *m, const struct stun_attr *a, uint16_t *out);
/* REQUESTED-TRANSPORT: protocol number (17 = UDP). */
int stun_attr_get_transport(const struct stun_msg *m, const struct stun_attr *a, uint8_t *proto);
/* PASSWORD-ALGORITHM / PASSWORD-ALGORITHMS: the first (or only) algorithm
 * number; PASSWORD-ALGORITHMS lists several, use stun_attr_get_password_algs. */
int stun_attr_get_password_algs(const struct stun_msg *m, const struct stun_attr *a,
				uint16_t *algs, size_t max, size_t *n);
/* Copy a text attribute (USERNAME, REALM, NONCE, SOFTWARE) NUL-terminated;
 * -STUN_ERR_NO_SPACE if it does not fit. */
int stun_attr_get_string(const struct stun_msg *m, const struct stun_attr *a, char *out,
			 size_t cap);

/*
 * Verify MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY, with
 * the key (short-term: the password; long-term: stun_key_long_term()).
 * 0, -STUN_ERR_NO_INTEGRITY or -STUN_ERR_INTEGRITY. Constant-time compare.
 */
int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t key_len);

/*
 * Long-term credential key (RFC 8489 §9.2.2):
 *   MD5:     key = MD5(username ":" OpaqueString(realm) ":" OpaqueString(password)), 16 bytes
 *   SHA-256: key = SHA-256(same), 32 bytes
 * OpaqueString (RFC 8265) is applied to ASCII input as the identity; input
 * with non-ASCII bytes is used as given (UTF-8) and documented as such.
 * Returns the key length or -STUN_ERR_BAD_ARG.
 */
int stun_key_long_term(enum stun_password_alg alg, const char *username, const char *realm,
		       const char *password, uint8_t key[STUN_MAX_KEY_LEN]);

/* USERHASH (RFC 8489 §14.4): SHA-256(username ":" realm). */
void stun_userhash(const char *username, const char *realm, uint8_t out[32]);

/* ---- building ----------------------------------------------------------- */

/*
 * A builder writes into a caller's buffer. Errors are sticky: after the first
 * failure every call is a no-op and stun_build_finish() returns the error, so
 * callers check once at the end.
 */
struct stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* 0 or -STUN_ERR_x */
};

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
		     enum stun_class cls, const uint8_t tid[STUN_TID_LEN]);
/* Raw attribute: value copied and padded to 4 bytes with zeros. */
void stun_build_attr(struct stun_builder *b, uint16_t type, const void *val, size_t len);
void stun_build_empty(struct stun_builder *b, uint16_t type); /* USE-CANDIDATE, DONT-FRAGMENT */
void stun_build_string(struct stun_builder *b, uint16_t type, const char *s);
void stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v);
void stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v);
void stun_build_addr(struct stun_builder *b, uint16_t type, const struct netaddr *a);
void stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct netaddr *a);
void stun_build_error(struct stun_builder *b, int code, const char *reason);
void stun_build_unknown(struct stun_builder *b, const uint16_t *types, size_t n);
void stun_build_channel(struct stun_builder *b, uint16_t channel);
void stun_build_transport(struct stun_builder *b, uint8_t proto);
void stun_build_password_algs(struct stun_builder *b, uint16_t type, const uint16_t *algs,
			      size_t n);
/* Integrity attributes: computed over the message so far, with the length
 * field covering the attribute itself (RFC 8489 §14.5/§14.6). */
void stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len);
void stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t key_len);
void stun_build_fingerprint(struct stun_builder *b);
/* Final length, or -STUN_ERR_x (the first error). */
int stun_build_finish(struct stun_builder *b);

/* Default reason phrase for an ERROR-CODE (RFC 8489 §14.8, RFC 8656 §19,
 * RFC 8445 §7.3.1.1); "Error" for codes without one. Never NULL. */
const char *stun_error_reason(int code);

const char *stun_method_str(uint16_t method);
const char *stun_class_str(enum stun_class cls);
const char *stun_attr_str(uint16_t type);

#endif
