// SPDX-License-Identifier: GPL-2.0-only
/*
 * STUN codec: every published test vector (RFC 5769, RFC 8489 B.1), round
 * trips of every attribute through the builder and the typed getters, and a
 * malformed-input table. Inputs are copied into buffers of exactly their
 * length on the heap, so the ASan build catches any read past a length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "icepath/stun.h"
#include "../stun_vectors.h"

#include "icepath/compiler.h"

static const uint8_t tid_a[STUN_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* Exact-size heap copy: ASan reports a read of even one byte past it. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

static int parse_exact(struct stun_msg *m, const uint8_t *p, size_t n)
{
	uint8_t *q = dup_exact(p, n);
	int rc = stun_parse(m, q, n);

	free(q);
	return rc;
}

/* Rewrite FINGERPRINT (the last attribute) after a test edited the message;
 * computed here with zlib, independently of the codec. */
static void refingerprint(uint8_t *buf, size_t len)
{
	uint32_t crc = (uint32_t)crc32(0, buf, (uInt)(len - 8)) ^ 0x5354554eu;

	assert_int_equal(buf[len - 8] << 8 | buf[len - 7], STUN_ATTR_FINGERPRINT);
	buf[len - 4] = crc >> 24;
	buf[len - 3] = crc >> 16;
	buf[len - 2] = crc >> 8;
	buf[len - 1] = crc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void assert_string_attr(const struct stun_msg *m, uint16_t type, const char *want)
{
	const struct stun_attr *a = stun_msg_find(m, type);
	char s[800];

	assert_non_null(a);
	assert_int_equal(stun_attr_get_string(m, a, s, sizeof(s)), 0);
	assert_string_equal(s, want);
}

/* ---- RFC 5769 ---------------------------------------------------------- */

static void rfc5769_sample_request(void **state)
{
	const uint8_t *buf = rfc5769_request;
	struct stun_msg m;
	const struct stun_attr *a;
	uint32_t prio;
	uint64_t tie;

	assert_true(stun_is_message(buf, sizeof(rfc5769_request)));
	assert_int_equal(stun_parse(&m, buf, sizeof(rfc5769_request)), sizeof(rfc5769_request));
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_true(m.has_cookie);
	assert_memory_equal(m.tid, buf + 8, STUN_TID_LEN);
	assert_int_equal(m.nattrs, 6);
	assert_int_equal(m.nunknown, 0);
	assert_int_equal(m.integrity, 4);
	assert_int_equal(m.integrity_sha256, -1);
	assert_int_equal(m.fingerprint, 5);

	assert_string_attr(&m, STUN_ATTR_SOFTWARE, "STUN test client");
	assert_string_attr(&m, STUN_ATTR_USERNAME, "evtj:h6vY");
	a = stun_msg_find(&m, STUN_ATTR_PRIORITY);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_u32(&m, a, &prio), 0);
	assert_int_equal(prio, 0x6e0001ff);
	a = stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLED);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_u64(&m, a, &tie), 0);
	assert_true(tie == 0x932ff9b151263b36ull);
	assert_null(stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLING));

	/* Short-term credentials: the key is the password itself. */
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)RFC5769_PASSWORD,
					      strlen(RFC5769_PASSWORD)),
			 0);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22),
			 -STUN_ERR_INTEGRITY);
	assert_int_equal(stun_check_integrity(&m, NULL, 0), -STUN_ERR_BAD_ARG);
}

static void check_v4_v6_response(const uint8_t *vec, size_t len, const char *mapped)
{
	struct stun_msg m;
	const struct stun_attr *a;
	struct netaddr got, want;
	char s[NETADDR_STRLEN];

	assert_int_equal(parse_exact(&m, vec, len), 0 + (int)len);
	/* parse_exact freed its copy: parse the static vector for getters. */
	assert_int_equal(stun_parse(&m, vec, len), (int)len);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_string_attr(&m, STUN_ATTR_SOFTWARE, "test vector");
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_xor_addr(&m, a, &got), 0);
	assert_int_equal(netaddr_parse(&want, mapped, -1), 0);
	assert_string_equal(netaddr_str(&got, s, sizeof(s)), mapped);
	assert_true(netaddr_equal(&got, &want));
	/* The plain getter on the XOR value gives the xor'd garbage, not an
	 * error: the caller picks the getter by type. The port is 0xa147. */
	assert_int_equal(stun_attr_get_addr(&m, a, &got), 0);
	assert_int_equal(netaddr_port(&got), 0xa147);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)RFC5769_PASSWORD,
					      strlen(RFC5769_PASSWORD)),
			 0);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"x", 1), -STUN_ERR_INTEGRITY);
}

static void rfc5769_ipv4_response(void **state)
{
	check_v4_v6_response(rfc5769_response_v4, sizeof(rfc5769_response_v4), "192.0.2.1:32853");
}

static void rfc5769_ipv6_response(void **state)
{
	check_v4_v6_response(rfc5769_response_v6, sizeof(rfc5769_response_v6),
			     "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

/* Long-term key of the RFC 5769 §2.4 / RFC 8489 B.1 user and realm. */
static size_t matrix_key(enum stun_password_alg alg, const char *password, uint8_t *key)
{
	int len = stun_key_long_term(alg, RFC5769_LT_USERNAME, RFC5769_LT_REALM, password, key);

	assert_int_equal(len, alg == STUN_PASSWORD_ALG_MD5 ? 16 : 32);
	return (size_t)len;
}

static void rfc5769_long_term(void **state)
{
	uint8_t key[STUN_MAX_KEY_LEN], out[256];
	struct stun_builder b;
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, rfc5769_request_lt, sizeof(rfc5769_request_lt)),
			 sizeof(rfc5769_request_lt));
	assert_int_equal(m.fingerprint, -1);
	assert_int_equal(m.integrity, 3);
	assert_string_attr(&m, STUN_ATTR_USERNAME, RFC5769_LT_USERNAME);
	assert_string_attr(&m, STUN_ATTR_REALM, RFC5769_LT_REALM);
	assert_string_attr(&m, STUN_ATTR_NONCE, RFC5769_LT_NONCE);

	/* Full SASLprep is not implemented: the key comes from the password
	 * after SASLprep, "TheMatrIX" (see tests/stun_vectors.h). */
	matrix_key(STUN_PASSWORD_ALG_MD5, RFC5769_LT_PASSWORD, key);
	assert_int_equal(stun_check_integrity(&m, key, 16), 0);
	/* The unprepared password gives another key. */
	matrix_key(STUN_PASSWORD_ALG_MD5, "The\xc2\xad" "M\xc2\xaatr\xe2\x85\xa8", key);
	assert_int_equal(stun_check_integrity(&m, key, 16), -STUN_ERR_INTEGRITY);

	/* Built again from its parts, it comes out byte for byte. */
	matrix_key(STUN_PASSWORD_ALG_MD5, RFC5769_LT_PASSWORD, key);
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			rfc5769_request_lt + 8);
	stun_build_string(&b, STUN_ATTR_USERNAME, RFC5769_LT_USERNAME);
	stun_build_string(&b, STUN_ATTR_NONCE, RFC5769_LT_NONCE);
	stun_build_string(&b, STUN_ATTR_REALM, RFC5769_LT_REALM);
	stun_build_integrity(&b, key, 16);
	assert_int_equal(stun_build_finish(&b), sizeof(rfc5769_request_lt));
	assert_memory_equal(out, rfc5769_request_lt, sizeof(rfc5769_request_lt));
}

static void rfc8489_b1_sha256_userhash(void **state)
{
	uint8_t key[STUN_MAX_KEY_LEN], hash[32], out[256];
	const struct stun_attr *a;
	uint16_t algs[4];
	struct stun_builder b;
	struct stun_msg m;
	size_t n;

	assert_int_equal(stun_parse(&m, rfc8489_b1_request, sizeof(rfc8489_b1_request)),
			 sizeof(rfc8489_b1_request));
	assert_int_equal(m.integrity, -1);
	assert_int_equal(m.integrity_sha256, 4);
	assert_int_equal(m.nunknown, 0);

	stun_userhash(RFC5769_LT_USERNAME, RFC5769_LT_REALM, hash);
	a = stun_msg_find(&m, STUN_ATTR_USERHASH);
	assert_non_null(a);
	assert_int_equal(a->len, 32);
	assert_memory_equal(stun_attr_value(&m, a), hash, 32);
	a = stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHM);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_password_algs(&m, a, algs, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(algs[0], STUN_PASSWORD_ALG_SHA256);
	assert_string_attr(&m, STUN_ATTR_NONCE, RFC8489_B1_NONCE);

	matrix_key(STUN_PASSWORD_ALG_SHA256, RFC5769_LT_PASSWORD, key);
	assert_int_equal(stun_check_integrity(&m, key, 32), 0);
	/* The MD5 key must not verify a SHA-256 integrity. */
	matrix_key(STUN_PASSWORD_ALG_MD5, RFC5769_LT_PASSWORD, key);
	assert_int_equal(stun_check_integrity(&m, key, 16), -STUN_ERR_INTEGRITY);

	/* Rebuilt byte for byte. */
	matrix_key(STUN_PASSWORD_ALG_SHA256, RFC5769_LT_PASSWORD, key);
	algs[0] = STUN_PASSWORD_ALG_SHA256;
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			rfc8489_b1_request + 8);
	stun_build_attr(&b, STUN_ATTR_USERHASH, hash, 32);
	stun_build_string(&b, STUN_ATTR_NONCE, RFC8489_B1_NONCE);
	stun_build_string(&b, STUN_ATTR_REALM, RFC5769_LT_REALM);
	stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHM, algs, 1);
	stun_build_integrity_sha256(&b, key, 32);
	assert_int_equal(stun_build_finish(&b), sizeof(rfc8489_b1_request));
	assert_memory_equal(out, rfc8489_b1_request, sizeof(rfc8489_b1_request));
	assert_int_equal(stun_key_long_term(7, "u", "r", "p", key), -STUN_ERR_BAD_ARG);
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_ALG_MD5, NULL, "r", "p", key),
			 -STUN_ERR_BAD_ARG);
}

/* ---- message type encoding ------------------------------------------------ */

static void method_and_class_encoding(void **state)
{
	static const struct {
		uint16_t method;
		enum stun_class cls;
		uint16_t type; /* RFC 8489 §5 / RFC 8656 §17 wire values */
	} known[] = {
		{ STUN_METHOD_BINDING, STUN_CLASS_REQUEST, 0x0001 },
		{ STUN_METHOD_BINDING, STUN_CLASS_INDICATION, 0x0011 },
		{ STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, 0x0101 },
		{ STUN_METHOD_BINDING, STUN_CLASS_ERROR, 0x0111 },
		{ STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST, 0x0003 },
		{ STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, 0x0113 },
		{ STUN_METHOD_REFRESH, STUN_CLASS_SUCCESS, 0x0104 },
		{ STUN_METHOD_SEND, STUN_CLASS_INDICATION, 0x0016 },
		{ STUN_METHOD_DATA, STUN_CLASS_INDICATION, 0x0017 },
		{ STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST, 0x0008 },
		{ STUN_METHOD_CHANNEL_BIND, STUN_CLASS_SUCCESS, 0x0109 },
		{ 0x0fff, STUN_CLASS_ERROR, 0x3fff },
		{ 0x0080, STUN_CLASS_REQUEST, 0x0200 },
	};
	uint8_t out[STUN_HEADER_LEN];
	struct stun_builder b;
	struct stun_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		stun_build_init(&b, out, sizeof(out), known[i].method, known[i].cls, tid_a);
		assert_int_equal(stun_build_finish(&b), STUN_HEADER_LEN);
		assert_int_equal(out[0] << 8 | out[1], known[i].type);
		assert_int_equal(stun_parse(&m, out, sizeof(out)), STUN_HEADER_LEN);
		assert_int_equal(m.method, known[i].method);
		assert_int_equal(m.cls, known[i].cls);
		assert_int_equal(m.nattrs, 0);
	}
	/* Every method and class survives the trip. */
	for (unsigned meth = 0; meth <= 0x0fff; meth++) {
		for (int c = 0; c < 4; c++) {
			stun_build_init(&b, out, sizeof(out), (uint16_t)meth, (enum stun_class)c,
					tid_a);
			assert_int_equal(stun_parse(&m, out, sizeof(out)), STUN_HEADER_LEN);
			assert_int_equal(m.method, meth);
			assert_int_equal(m.cls, c);
		}
	}
	stun_build_init(&b, out, sizeof(out), 0x1000, STUN_CLASS_REQUEST, tid_a);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, STUN_HEADER_LEN - 1, 1, STUN_CLASS_REQUEST, tid_a);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_NO_SPACE);
	assert_string_equal(stun_method_str(STUN_METHOD_CHANNEL_BIND), "ChannelBind");
	assert_string_equal(stun_class_str(STUN_CLASS_ERROR), "error response");
	assert_string_equal(stun_attr_str(STUN_ATTR_XOR_RELAYED_ADDRESS), "XOR-RELAYED-ADDRESS");
	assert_string_equal(stun_attr_str(0x7777), "unknown attribute");
}

/* ---- round trips ------------------------------------------------------------ */

/* A message carrying every attribute the codec knows, built, parsed and read
 * back through the typed getters. */
static void round_trip_every_attribute(void **state)
{
	static const uint16_t unknown_in[] = { 0x0003, 0x7fff, 0x0031 };
	static const uint16_t algs_in[] = { STUN_PASSWORD_ALG_SHA256, STUN_PASSWORD_ALG_MD5 };
	static const uint8_t payload[] = { 0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe };
	const uint8_t key[] = "short-term-password";
	struct netaddr a4, a6, alt, got;
	uint8_t out[1024], hash[32];
	char s[STUN_USERNAME_MAX], *reason_copy;
	const struct stun_attr *a;
	struct stun_builder b;
	struct stun_msg m;
	uint16_t u16s[8], ch;
	const char *reason;
	size_t n, rlen;
	uint64_t u64;
	uint32_t u32;
	uint8_t proto;
	int len, code;

	assert_int_equal(netaddr_parse(&a4, "203.0.113.9:49152", -1), 0);
	assert_int_equal(netaddr_parse(&a6, "[2001:db8::42]:65535", -1), 0);
	assert_int_equal(netaddr_parse(&alt, "198.51.100.1:3478", -1), 0);
	stun_userhash("alice", "icepath.test", hash);

	stun_build_init(&b, out, sizeof(out), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, tid_a);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a4);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a4);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &a6);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &a6);
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER, &alt);
	stun_build_string(&b, STUN_ATTR_USERNAME, "alice");
	stun_build_string(&b, STUN_ATTR_REALM, "icepath.test");
	stun_build_string(&b, STUN_ATTR_NONCE, "nonce-1");
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "icepath test");
	stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs_in, 2);
	stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHM, algs_in + 1, 1);
	stun_build_attr(&b, STUN_ATTR_USERHASH, hash, sizeof(hash));
	stun_build_error(&b, STUN_ERROR_UNKNOWN_ATTRIBUTE, NULL);
	stun_build_unknown(&b, unknown_in, ARRAY_SIZE(unknown_in));
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_attr(&b, STUN_ATTR_DATA, payload, sizeof(payload));
	stun_build_transport(&b, 17);
	stun_build_channel(&b, 0x4abc);
	stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	stun_build_u32(&b, STUN_ATTR_PRIORITY, 0x7e7f00ff);
	stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, 0x0102030405060708ull);
	stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, 0xfffefdfcfbfaf9f8ull);
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	assert_true(len > 0);
	assert_int_equal(len % 4, 0);

	assert_int_equal(parse_exact(&m, out, (size_t)len), len);
	assert_int_equal(stun_parse(&m, out, (size_t)len), len);
	assert_true(stun_is_message(out, (size_t)len));
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_memory_equal(m.tid, tid_a, STUN_TID_LEN);
	assert_int_equal(m.nattrs, 26);
	assert_int_equal(m.nunknown, 0);

	assert_int_equal(stun_attr_get_addr(&m, stun_msg_find(&m, STUN_ATTR_MAPPED_ADDRESS), &got),
			 0);
	assert_true(netaddr_equal(&got, &a4));
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	assert_int_equal(a->len, 8);
	assert_int_equal(stun_attr_get_xor_addr(&m, a, &got), 0);
	assert_true(netaddr_equal(&got, &a4));
	a = stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS);
	assert_int_equal(a->len, 20);
	assert_int_equal(stun_attr_get_xor_addr(&m, a, &got), 0);
	assert_true(netaddr_equal(&got, &a6));
	assert_int_equal(
		stun_attr_get_xor_addr(&m, stun_msg_find(&m, STUN_ATTR_XOR_RELAYED_ADDRESS), &got),
		0);
	assert_true(netaddr_equal(&got, &a6));
	assert_int_equal(
		stun_attr_get_addr(&m, stun_msg_find(&m, STUN_ATTR_ALTERNATE_SERVER), &got), 0);
	assert_true(netaddr_equal(&got, &alt));

	assert_string_attr(&m, STUN_ATTR_USERNAME, "alice");
	assert_string_attr(&m, STUN_ATTR_REALM, "icepath.test");
	assert_string_attr(&m, STUN_ATTR_NONCE, "nonce-1");
	assert_string_attr(&m, STUN_ATTR_SOFTWARE, "icepath test");
	a = stun_msg_find(&m, STUN_ATTR_USERNAME);
	assert_int_equal(stun_attr_get_string(&m, a, s, 6), 0);
	assert_int_equal(stun_attr_get_string(&m, a, s, 5), -STUN_ERR_NO_SPACE);
	assert_string_equal(s, "");

	a = stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS);
	assert_int_equal(stun_attr_get_password_algs(&m, a, u16s, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(u16s[0], STUN_PASSWORD_ALG_SHA256);
	assert_int_equal(u16s[1], STUN_PASSWORD_ALG_MD5);
	assert_int_equal(stun_attr_get_password_algs(&m, a, u16s, 1, &n), -STUN_ERR_NO_SPACE);
	assert_int_equal(n, 1);
	a = stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHM);
	assert_int_equal(stun_attr_get_password_algs(&m, a, u16s, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(u16s[0], STUN_PASSWORD_ALG_MD5);
	a = stun_msg_find(&m, STUN_ATTR_USERHASH);
	assert_int_equal(a->len, 32);
	assert_memory_equal(stun_attr_value(&m, a), hash, 32);

	a = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
	assert_int_equal(stun_attr_get_error(&m, a, &code, &reason, &rlen), 0);
	assert_int_equal(code, 420);
	reason_copy = strndup(reason, rlen);
	assert_string_equal(reason_copy, "Unknown Attribute");
	free(reason_copy);
	a = stun_msg_find(&m, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	assert_int_equal(stun_attr_get_unknown(&m, a, u16s, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(u16s, unknown_in, sizeof(unknown_in));
	assert_int_equal(stun_attr_get_unknown(&m, a, u16s, 2, &n), -STUN_ERR_NO_SPACE);
	assert_int_equal(n, 2);

	assert_int_equal(stun_attr_get_u32(&m, stun_msg_find(&m, STUN_ATTR_LIFETIME), &u32), 0);
	assert_int_equal(u32, 600);
	a = stun_msg_find(&m, STUN_ATTR_DATA);
	assert_int_equal(a->len, sizeof(payload));
	assert_memory_equal(stun_attr_value(&m, a), payload, sizeof(payload));
	assert_int_equal(
		stun_attr_get_transport(&m, stun_msg_find(&m, STUN_ATTR_REQUESTED_TRANSPORT), &proto),
		0);
	assert_int_equal(proto, 17);
	assert_int_equal(stun_attr_get_channel(&m, stun_msg_find(&m, STUN_ATTR_CHANNEL_NUMBER), &ch),
			 0);
	assert_int_equal(ch, 0x4abc);
	a = stun_msg_find(&m, STUN_ATTR_DONT_FRAGMENT);
	assert_non_null(a);
	assert_int_equal(a->len, 0);
	assert_int_equal(stun_attr_get_u32(&m, stun_msg_find(&m, STUN_ATTR_PRIORITY), &u32), 0);
	assert_int_equal(u32, 0x7e7f00ff);
	a = stun_msg_find(&m, STUN_ATTR_USE_CANDIDATE);
	assert_non_null(a);
	assert_int_equal(a->len, 0);
	assert_int_equal(stun_attr_get_u64(&m, stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLED), &u64),
			 0);
	assert_true(u64 == 0x0102030405060708ull);
	assert_int_equal(stun_attr_get_u64(&m, stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLING), &u64),
			 0);
	assert_true(u64 == 0xfffefdfcfbfaf9f8ull);

	/* MI-SHA256 is checked when present; then only MI. */
	assert_int_equal(m.integrity, 23);
	assert_int_equal(m.integrity_sha256, 24);
	assert_int_equal(m.fingerprint, 25);
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key) - 1), 0);
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key) - 2), -STUN_ERR_INTEGRITY);
	m.integrity_sha256 = -1;
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key) - 1), 0);
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key) - 2), -STUN_ERR_INTEGRITY);
	m.integrity = -1;
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key) - 1), -STUN_ERR_NO_INTEGRITY);
}

/* Keys longer than the HMAC block (64 bytes) are hashed first (RFC 2104);
 * a truncated MI-SHA256 (RFC 8489 §14.6, 16..32 bytes) verifies on its
 * kept prefix. */
static void integrity_long_key_and_truncated_sha256(void **state)
{
	uint8_t key[200], out[256];
	struct stun_builder b;
	struct stun_msg m;
	int len;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_build_string(&b, STUN_ATTR_USERNAME, "a:b");
	stun_build_integrity_sha256(&b, key, sizeof(key));
	len = stun_build_finish(&b);
	assert_int_equal(stun_parse(&m, out, (size_t)len), len);
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), 0);
	key[199] ^= 1;
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), -STUN_ERR_INTEGRITY);
	key[199] ^= 1;

	/* MESSAGE-INTEGRITY (SHA-1) with keys of 64 to 200 bytes (an ice-pwd
	 * may have 256 characters): the MAC is OpenSSL's one-shot HMAC of the
	 * hashed part, computed independently of the codec */
	for (size_t klen = 64; klen <= sizeof(key); klen += 8) {
		uint8_t mac[20];
		unsigned mac_len = 0;
		int hashed;

		stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
				tid_a);
		stun_build_string(&b, STUN_ATTR_USERNAME, "a:b");
		hashed = stun_build_finish(&b);
		stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
				tid_a);
		stun_build_string(&b, STUN_ATTR_USERNAME, "a:b");
		stun_build_integrity(&b, key, klen);
		len = stun_build_finish(&b);
		assert_int_equal(len, hashed + 4 + 20);
		/* the length field the MAC covered counts the attribute */
		assert_non_null(HMAC(EVP_sha1(), key, (int)klen, out, (size_t)hashed, mac, &mac_len));
		assert_memory_equal(out + hashed + 4, mac, sizeof(mac));
	}

	/* A sender that keeps only `keep` bytes hashes with a length field
	 * counting a `keep`-byte attribute; the expected MAC is computed here
	 * with OpenSSL's one-shot HMAC, independently of the codec. */
	for (unsigned keep = 16; keep <= 32; keep += 4) {
		uint8_t trunc[256], mac[32];
		unsigned mac_len = 0;
		struct stun_builder b2;
		int l2;

		stun_build_init(&b2, trunc, sizeof(trunc), STUN_METHOD_BINDING,
				STUN_CLASS_REQUEST, tid_a);
		stun_build_string(&b2, STUN_ATTR_USERNAME, "a:b");
		l2 = stun_build_finish(&b2);
		put16(trunc + 2, (uint16_t)(l2 - STUN_HEADER_LEN + 4 + keep));
		assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), trunc, (size_t)l2, mac,
				     &mac_len));
		put16(trunc + l2, STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
		put16(trunc + l2 + 2, (uint16_t)keep);
		memcpy(trunc + l2 + 4, mac, keep);
		assert_int_equal(stun_parse(&m, trunc, (size_t)l2 + 4 + keep), l2 + 4 + (int)keep);
		assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), 0);
		trunc[l2 + 4 + keep - 1] ^= 0x80;
		assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), -STUN_ERR_INTEGRITY);
	}
	/* Sizes outside 16..32 or not a multiple of 4 are malformed. */
	for (uint16_t bad = 0; bad < 40; bad++) {
		uint8_t msg[STUN_HEADER_LEN + 4 + 40] = { 0 };
		size_t l = STUN_HEADER_LEN + 4 + ((bad + 3u) & ~3u);

		if (bad >= 16 && bad <= 32 && bad % 4 == 0)
			continue;
		stun_build_init(&b, msg, sizeof(msg), 1, STUN_CLASS_REQUEST, tid_a);
		put16(msg + 2, (uint16_t)(l - STUN_HEADER_LEN));
		put16(msg + 20, STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
		put16(msg + 22, bad);
		assert_int_equal(stun_parse(&m, msg, l), -STUN_ERR_BAD_ATTR);
	}
}

/* ---- malformed input ---------------------------------------------------- */

static const struct {
	const char *name;
	const uint8_t *buf;
	size_t len;
} vectors[] = {
	{ "rfc5769 2.1", rfc5769_request, sizeof(rfc5769_request) },
	{ "rfc5769 2.2", rfc5769_response_v4, sizeof(rfc5769_response_v4) },
	{ "rfc5769 2.3", rfc5769_response_v6, sizeof(rfc5769_response_v6) },
	{ "rfc5769 2.4", rfc5769_request_lt, sizeof(rfc5769_request_lt) },
	{ "rfc8489 B.1", rfc8489_b1_request, sizeof(rfc8489_b1_request) },
};

/* Every prefix of every vector is refused as truncated, and one extra byte
 * is refused as trailing garbage. */
static void truncation_at_every_byte(void **state)
{
	struct stun_msg m;

	for (size_t v = 0; v < ARRAY_SIZE(vectors); v++) {
		uint8_t *longer;

		for (size_t n = 0; n < vectors[v].len; n++) {
			int rc = parse_exact(&m, vectors[v].buf, n);

			if (rc != -STUN_ERR_TRUNCATED)
				fail_msg("%s cut at %zu: %d (%s)", vectors[v].name, n, rc,
					 stun_strerror(rc));
			assert_false(n >= STUN_HEADER_LEN && stun_is_message(vectors[v].buf, n));
		}
		longer = calloc(1, vectors[v].len + 1);
		memcpy(longer, vectors[v].buf, vectors[v].len);
		assert_int_equal(stun_parse(&m, longer, vectors[v].len + 1), -STUN_ERR_BAD_LENGTH);
		free(longer);
	}
}

/* Each row edits a copy of the RFC 5769 IPv4 response (80 bytes: header,
 * SOFTWARE at 20, XOR-MAPPED-ADDRESS at 36, MESSAGE-INTEGRITY at 48,
 * FINGERPRINT at 72) and says what the parser must answer. */
enum fixup { FIX_NONE, FIX_FP };
static const struct malformed {
	const char *name;
	size_t off;	    /* where to write */
	uint8_t bytes[4];   /* what */
	size_t nbytes;
	size_t len;	    /* 0: keep 80 */
	enum fixup fix;     /* recompute FINGERPRINT after the edit */
	int want;
} malformed[] = {
	{ "first bits 01", 0, { 0x41 }, 1, 0, FIX_NONE, -STUN_ERR_NOT_STUN },
	{ "first bits 10", 0, { 0x81 }, 1, 0, FIX_NONE, -STUN_ERR_NOT_STUN },
	{ "length not /4", 2, { 0x00, 0x3d }, 2, 0, FIX_NONE, -STUN_ERR_BAD_LENGTH },
	{ "length 0x3e", 2, { 0x00, 0x3e }, 2, 0, FIX_NONE, -STUN_ERR_BAD_LENGTH },
	{ "length overruns buffer", 2, { 0x00, 0x40 }, 2, 0, FIX_NONE, -STUN_ERR_TRUNCATED },
	{ "length 0xfffc", 2, { 0xff, 0xfc }, 2, 0, FIX_NONE, -STUN_ERR_TRUNCATED },
	{ "length short of buffer", 2, { 0x00, 0x38 }, 2, 0, FIX_NONE, -STUN_ERR_BAD_LENGTH },
	{ "message cut before FINGERPRINT value", 2, { 0x00, 0x38 }, 2, 76, FIX_NONE,
	  -STUN_ERR_ATTR_OVERRUN },
	{ "attribute length past end", 38, { 0x00, 0x2c }, 2, 0, FIX_NONE,
	  -STUN_ERR_ATTR_OVERRUN },
	{ "attribute length 0xffff", 22, { 0xff, 0xff }, 2, 0, FIX_NONE, -STUN_ERR_ATTR_OVERRUN },
	{ "SOFTWARE 12 shifts the walk onto XOR-MAPPED", 22, { 0x00, 0x0c }, 2, 0, FIX_FP, 80 },
	{ "bad fingerprint value", 79, { 0x97 }, 1, 0, FIX_NONE, -STUN_ERR_FINGERPRINT },
	{ "body altered under fingerprint", 40, { 0xe2 }, 1, 0, FIX_NONE,
	  -STUN_ERR_FINGERPRINT },
	{ "FINGERPRINT length 8", 74, { 0x00, 0x08 }, 2, 0, FIX_NONE, -STUN_ERR_ATTR_OVERRUN },
	{ "MESSAGE-INTEGRITY length 16", 50, { 0x00, 0x10 }, 2, 0, FIX_NONE, -STUN_ERR_BAD_ATTR },
	{ "FINGERPRINT then attribute", 48, { 0x80, 0x28, 0x00, 0x04 }, 4, 0, FIX_NONE,
	  -STUN_ERR_ATTR_AFTER_FINGERPRINT },
	{ "cookie changed (RFC 3489 framing)", 4, { 0x21, 0x12, 0xa4, 0x43 }, 4, 0, FIX_FP, 80 },
	{ "unknown comprehension-required", 36, { 0x00, 0x03 }, 2, 0, FIX_FP, 80 },
};

static void malformed_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		const struct malformed *t = &malformed[i];
		size_t len = t->len ? t->len : sizeof(rfc5769_response_v4);
		uint8_t buf[sizeof(rfc5769_response_v4)];
		struct stun_msg m;
		int rc;

		memcpy(buf, rfc5769_response_v4, sizeof(buf));
		memcpy(buf + t->off, t->bytes, t->nbytes);
		if (t->fix == FIX_FP)
			refingerprint(buf, len);
		rc = parse_exact(&m, buf, len);
		if (rc != t->want)
			fail_msg("%s: got %d (%s), want %d (%s)", t->name, rc, stun_strerror(rc),
				 t->want, stun_strerror(t->want));
	}
}

/* Rows of the table above whose outcome needs more than a return code. */
static void malformed_details(void **state)
{
	uint8_t buf[sizeof(rfc5769_response_v4)];
	const struct stun_attr *a;
	struct netaddr got;
	struct stun_msg m;

	/* No magic cookie: parsed (an RFC 3489 peer), but no XOR address and
	 * no integrity, and not STUN for the demultiplexer. */
	memcpy(buf, rfc5769_response_v4, sizeof(buf));
	buf[7] = 0x43;
	refingerprint(buf, sizeof(buf));
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), sizeof(buf));
	assert_false(m.has_cookie);
	assert_false(stun_is_message(buf, sizeof(buf)));
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	assert_int_equal(stun_attr_get_xor_addr(&m, a, &got), -STUN_ERR_BAD_COOKIE);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)RFC5769_PASSWORD, 22),
			 -STUN_ERR_BAD_COOKIE);

	/* Unknown comprehension-required type is reported for a 420. */
	memcpy(buf, rfc5769_response_v4, sizeof(buf));
	buf[37] = 0x03;
	refingerprint(buf, sizeof(buf));
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(m.nunknown, 1);
	assert_int_equal(m.unknown[0], 0x0003);
	/* ...and a comprehension-optional one is not. */
	buf[36] = 0x80;
	refingerprint(buf, sizeof(buf));
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(m.nunknown, 0);

	/* SOFTWARE claims 12 bytes: the walk eats the space padding as value
	 * and carries on in step; the string is now "test vector ". */
	memcpy(buf, rfc5769_response_v4, sizeof(buf));
	buf[23] = 0x0c;
	refingerprint(buf, sizeof(buf));
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), sizeof(buf));
	assert_string_attr(&m, STUN_ATTR_SOFTWARE, "test vector ");
}

/* Hand-assembled messages for the ordering and duplicate rules. */
struct raw {
	uint8_t b[512];
	size_t len;
};

static void raw_init(struct raw *r, uint16_t type)
{
	memset(r, 0, sizeof(*r));
	put16(r->b, type);
	r->b[4] = 0x21, r->b[5] = 0x12, r->b[6] = 0xa4, r->b[7] = 0x42;
	memcpy(r->b + 8, tid_a, STUN_TID_LEN);
	r->len = STUN_HEADER_LEN;
}

static void raw_attr(struct raw *r, uint16_t type, const void *v, uint16_t len, uint8_t padbyte)
{
	put16(r->b + r->len, type);
	put16(r->b + r->len + 2, len);
	memcpy(r->b + r->len + 4, v, len);
	memset(r->b + r->len + 4 + len, padbyte, ((len + 3u) & ~3u) - len);
	r->len += 4 + ((len + 3u) & ~3u);
	put16(r->b + 2, (uint16_t)(r->len - STUN_HEADER_LEN));
}

/* MESSAGE-INTEGRITY with the codec's builder over the raw message so far. */
static void raw_integrity(struct raw *r, const uint8_t *key, size_t klen, bool sha256)
{
	struct stun_builder b = { .buf = r->b, .cap = sizeof(r->b), .len = r->len };

	if (sha256)
		stun_build_integrity_sha256(&b, key, klen);
	else
		stun_build_integrity(&b, key, klen);
	assert_int_equal(stun_build_finish(&b), (int)(r->len + (sha256 ? 36 : 24)));
	r->len = (size_t)b.len;
}

static void raw_fingerprint(struct raw *r)
{
	raw_attr(r, STUN_ATTR_FINGERPRINT, "\0\0\0\0", 4, 0);
	refingerprint(r->b, r->len);
}

static void ordering_rules(void **state)
{
	static const uint8_t key[] = "pw";
	static const uint8_t prio1[] = { 0, 0, 0, 1 }, prio2[] = { 0, 0, 0, 2 };
	const struct stun_attr *a;
	struct stun_msg m;
	uint32_t u32;
	struct raw r;

	/* Integrity not last (but for FINGERPRINT): what follows is ignored,
	 * the integrity still verifies (RFC 8489 §14.5). */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_PRIORITY, prio1, 4, 0);
	raw_integrity(&r, key, 2, false);
	raw_attr(&r, STUN_ATTR_SOFTWARE, "late", 4, 0);
	raw_attr(&r, 0x0003, "\0\0\0\0", 4, 0); /* unknown, but ignored: no 420 */
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, "01234567890123456789", 20, 0); /* dup */
	raw_fingerprint(&r);
	assert_int_equal(parse_exact(&m, r.b, r.len), (int)r.len);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(m.nattrs, 3);
	assert_int_equal(m.nunknown, 0);
	assert_null(stun_msg_find(&m, STUN_ATTR_SOFTWARE));
	assert_int_equal(m.integrity, 1);
	assert_int_equal(m.fingerprint, 2);
	assert_int_equal(stun_check_integrity(&m, key, 2), 0);

	/* MI, then MI-SHA256, then junk, then FINGERPRINT. */
	raw_init(&r, 0x0001);
	raw_integrity(&r, key, 2, false);
	raw_integrity(&r, key, 2, true);
	raw_attr(&r, STUN_ATTR_PRIORITY, prio1, 4, 0);
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, "01234567890123456789", 20, 0);
	raw_fingerprint(&r);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(m.nattrs, 3);
	assert_int_equal(m.integrity, 0);
	assert_int_equal(m.integrity_sha256, 1);
	assert_null(stun_msg_find(&m, STUN_ATTR_PRIORITY));
	assert_int_equal(stun_check_integrity(&m, key, 2), 0);

	/* Attribute after FINGERPRINT: refused. */
	raw_init(&r, 0x0001);
	raw_fingerprint(&r);
	raw_attr(&r, STUN_ATTR_PRIORITY, prio1, 4, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), -STUN_ERR_ATTR_AFTER_FINGERPRINT);
	/* Two FINGERPRINTs: refused too. */
	raw_init(&r, 0x0001);
	raw_fingerprint(&r);
	raw_fingerprint(&r);
	assert_int_equal(stun_parse(&m, r.b, r.len), -STUN_ERR_ATTR_AFTER_FINGERPRINT);

	/* Duplicates: the first one counts. */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_PRIORITY, prio1, 4, 0);
	raw_attr(&r, STUN_ATTR_PRIORITY, prio2, 4, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(m.nattrs, 2);
	a = stun_msg_find(&m, STUN_ATTR_PRIORITY);
	assert_int_equal(stun_attr_get_u32(&m, a, &u32), 0);
	assert_int_equal(u32, 1);

	/* Padding: its content is ignored; a message whose last attribute
	 * lacks its padding has a length that is not a multiple of 4. */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_USERNAME, "abcde", 5, 0xff);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_string_attr(&m, STUN_ATTR_USERNAME, "abcde");
	put16(r.b + 2, 12 - 3 + 0); /* 4 + 5 */
	assert_int_equal(stun_parse(&m, r.b, STUN_HEADER_LEN + 9), -STUN_ERR_BAD_LENGTH);
	/* Padding missing in the middle: the walk lands inside the next
	 * attribute's header and overruns. */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_USERNAME, "abcde", 5, 0);
	r.len -= 3; /* drop the padding, then append the next attribute */
	raw_attr(&r, STUN_ATTR_SOFTWARE, "xyz", 3, 0);
	r.len += 3; /* zeros, to make the total a multiple of 4 again */
	put16(r.b + 2, (uint16_t)(r.len - STUN_HEADER_LEN));
	assert_int_equal(r.len % 4, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), -STUN_ERR_ATTR_OVERRUN);

	/* Too many attributes. */
	raw_init(&r, 0x0001);
	for (int i = 0; i < STUN_MAX_ATTRS; i++)
		raw_attr(&r, STUN_ATTR_SOFTWARE, "", 0, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(m.nattrs, STUN_MAX_ATTRS);
	raw_attr(&r, STUN_ATTR_SOFTWARE, "", 0, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), -STUN_ERR_TOO_MANY_ATTRS);

	/* Many unknown types: distinct ones kept, up to STUN_MAX_UNKNOWN. */
	raw_init(&r, 0x0001);
	for (int i = 0; i < 30; i++)
		raw_attr(&r, (uint16_t)(0x0040 + i), "", 0, 0);
	raw_attr(&r, 0x0040, "", 0, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(m.nunknown, STUN_MAX_UNKNOWN);
	assert_int_equal(m.unknown[0], 0x0040);
	assert_int_equal(m.unknown[STUN_MAX_UNKNOWN - 1], 0x0040 + STUN_MAX_UNKNOWN - 1);

	/* Bad integrity: one flipped bit anywhere under the HMAC. */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_USERNAME, "a:b", 3, 0);
	raw_integrity(&r, key, 2, false);
	for (size_t i = 0; i < r.len; i++) {
		if (i == 2 || i == 3) /* the length field is rewritten: skip */
			continue;
		r.b[i] ^= 0x01;
		if (stun_parse(&m, r.b, r.len) == (int)r.len && m.integrity >= 0)
			assert_int_equal(stun_check_integrity(&m, key, 2),
					 i >= 4 && i < 8 ? -STUN_ERR_BAD_COOKIE
							 : -STUN_ERR_INTEGRITY);
		r.b[i] ^= 0x01;
	}
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	assert_int_equal(stun_check_integrity(&m, key, 2), 0);
	/* Embedded NUL in a text attribute. */
	raw_init(&r, 0x0001);
	raw_attr(&r, STUN_ATTR_USERNAME, "al\0ce", 5, 0);
	assert_int_equal(stun_parse(&m, r.b, r.len), (int)r.len);
	{
		char s[16];

		assert_int_equal(
			stun_attr_get_string(&m, stun_msg_find(&m, STUN_ATTR_USERNAME), s, sizeof(s)),
			-STUN_ERR_BAD_ATTR);
	}
}

/* Every typed getter refuses every wrong value size. */
static void getters_refuse_wrong_sizes(void **state)
{
	uint8_t val[64];
	struct stun_attr a = { .offset = STUN_HEADER_LEN + 4 };
	uint8_t buf[STUN_HEADER_LEN + 4 + 64];
	struct stun_msg m = { .buf = buf, .len = sizeof(buf), .has_cookie = true };
	struct netaddr na;
	const char *reason;
	uint16_t u16s[64], ch;
	size_t n, rlen;
	uint64_t u64;
	uint32_t u32;
	uint8_t proto;
	int code;

	memset(val, 0, sizeof(val));
	memset(buf, 0, sizeof(buf));
	for (uint16_t len = 0; len <= 40; len++) {
		a.len = len;
		/* family byte: IPv4 and IPv6, each valid only at 8 and 20 */
		for (uint8_t fam = 0; fam <= 3; fam++) {
			bool ok = (fam == 1 && len == 8) || (fam == 2 && len == 20);

			buf[a.offset + 1] = fam;
			assert_int_equal(stun_attr_get_addr(&m, &a, &na) == 0, ok);
			assert_int_equal(stun_attr_get_xor_addr(&m, &a, &na) == 0, ok);
		}
		assert_int_equal(stun_attr_get_u32(&m, &a, &u32) == 0, len == 4);
		assert_int_equal(stun_attr_get_u64(&m, &a, &u64) == 0, len == 8);
		buf[a.offset] = 0x40;
		assert_int_equal(stun_attr_get_channel(&m, &a, &ch) == 0, len == 4);
		assert_int_equal(stun_attr_get_transport(&m, &a, &proto) == 0, len == 4);
		assert_int_equal(stun_attr_get_unknown(&m, &a, u16s, 64, &n) == 0, len % 2 == 0);
		buf[a.offset + 2] = 4; /* class 4 */
		assert_int_equal(stun_attr_get_error(&m, &a, &code, &reason, &rlen) == 0, len >= 4);
		buf[a.offset] = 0;
		buf[a.offset + 2] = 0;
		/* zero-parameter algorithm entries are 4 bytes each */
		a.type = STUN_ATTR_PASSWORD_ALGORITHMS;
		assert_int_equal(stun_attr_get_password_algs(&m, &a, u16s, 64, &n) == 0,
				 len > 0 && len % 4 == 0);
		a.type = STUN_ATTR_PASSWORD_ALGORITHM;
		assert_int_equal(stun_attr_get_password_algs(&m, &a, u16s, 64, &n) == 0, len == 4);
	}
	/* Values out of range. */
	a.len = 4;
	put16(buf + a.offset, 0x3fff);
	assert_int_equal(stun_attr_get_channel(&m, &a, &ch), -STUN_ERR_BAD_CHANNEL);
	put16(buf + a.offset, 0x5000);
	assert_int_equal(stun_attr_get_channel(&m, &a, &ch), -STUN_ERR_BAD_CHANNEL);
	put16(buf + a.offset, 0x4fff);
	assert_int_equal(stun_attr_get_channel(&m, &a, &ch), 0);
	buf[a.offset + 2] = 2; /* class 2: not an error */
	buf[a.offset + 3] = 0;
	assert_int_equal(stun_attr_get_error(&m, &a, &code, &reason, &rlen), -STUN_ERR_BAD_ATTR);
	buf[a.offset + 2] = 7;
	assert_int_equal(stun_attr_get_error(&m, &a, &code, &reason, &rlen), -STUN_ERR_BAD_ATTR);
	buf[a.offset + 2] = 6;
	buf[a.offset + 3] = 100;
	assert_int_equal(stun_attr_get_error(&m, &a, &code, &reason, &rlen), -STUN_ERR_BAD_ATTR);
	buf[a.offset + 2] = 0xf8 | 6; /* reserved bits are ignored */
	buf[a.offset + 3] = 99;
	assert_int_equal(stun_attr_get_error(&m, &a, &code, &reason, &rlen), 0);
	assert_int_equal(code, 699);
	assert_int_equal(rlen, 0);
	/* A PASSWORD-ALGORITHMS entry whose parameters overrun. */
	a.len = 8;
	a.type = STUN_ATTR_PASSWORD_ALGORITHMS;
	memset(buf + a.offset, 0, 8);
	put16(buf + a.offset + 2, 5);
	assert_int_equal(stun_attr_get_password_algs(&m, &a, u16s, 64, &n), -STUN_ERR_BAD_ATTR);
	put16(buf + a.offset + 2, 4);
	assert_int_equal(stun_attr_get_password_algs(&m, &a, u16s, 64, &n), 0);
	assert_int_equal(n, 1);
}

/* ---- builder -------------------------------------------------------------- */

static int build_sample(uint8_t *out, size_t cap)
{
	static const uint8_t key[] = "k";
	struct stun_builder b;
	struct netaddr a;

	netaddr_parse(&a, "[2001:db8::9]:1", -1);
	stun_build_init(&b, out, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid_a);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "abc");
	stun_build_integrity(&b, key, 1);
	stun_build_fingerprint(&b);
	return stun_build_finish(&b);
}

static void builder_errors(void **state)
{
	static const uint16_t md5 = STUN_PASSWORD_ALG_MD5;
	uint8_t out[512], *big;
	struct stun_builder b;
	struct netaddr a;
	int full = build_sample(out, sizeof(out));
	struct stun_msg m;

	assert_true(full > 0);
	assert_int_equal(stun_parse(&m, out, (size_t)full), full);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
	/* Every capacity short of the message fails cleanly and writes no
	 * byte past it (heap buffer of exactly that size). */
	for (int cap = 0; cap < full; cap++) {
		uint8_t *p = malloc(cap ? (size_t)cap : 1);

		assert_int_equal(build_sample(p, (size_t)cap), -STUN_ERR_NO_SPACE);
		free(p);
	}

	/* Ordering rules, sticky errors. */
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_fingerprint(&b);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "x");
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_ATTR_AFTER_FINGERPRINT);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_integrity(&b, (const uint8_t *)"k", 1);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "x");
	stun_build_fingerprint(&b); /* no-op after the first error */
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_ATTR_AFTER_INTEGRITY);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_integrity_sha256(&b, (const uint8_t *)"k", 1);
	stun_build_integrity(&b, (const uint8_t *)"k", 1);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_ATTR_AFTER_INTEGRITY);

	/* Bad arguments. */
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_integrity(&b, NULL, 0);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_channel(&b, 0x3fff);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_CHANNEL);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_error(&b, 299, "x");
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_error(&b, 700, "x");
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	memset(&a, 0, sizeof(a));
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a); /* AF_UNSPEC */
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_password_algs(&b, STUN_ATTR_SOFTWARE, &md5, 1);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, out, sizeof(out), 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, NULL);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, NULL, 100, 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_u32(&b, STUN_ATTR_PRIORITY, 1);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	/* The 16-bit length fields cap a value and a message. */
	big = malloc(3 * 0x10000);
	assert_non_null(big);
	memset(big, 'a', 3 * 0x10000);
	stun_build_init(&b, big, 0x10000, 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_attr(&b, STUN_ATTR_DATA, big + 0x20000, 0x10000);
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_BAD_ARG);
	stun_build_init(&b, big, 0x10000 + STUN_HEADER_LEN + 8, 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_attr(&b, STUN_ATTR_DATA, big + 0x20000, 0xfff0);
	assert_int_equal(stun_build_finish(&b), STUN_HEADER_LEN + 4 + 0xfff0);
	stun_build_attr(&b, STUN_ATTR_DATA, "x", 1); /* length field 0xfffc: fits */
	assert_int_equal(stun_build_finish(&b), STUN_HEADER_LEN + 0xfffc);
	stun_build_attr(&b, STUN_ATTR_DATA, "", 0); /* 0x10000: does not */
	assert_int_equal(stun_build_finish(&b), -STUN_ERR_NO_SPACE);
	/* Parsing: offsets are 16-bit, so a message over 65535 bytes is
	 * refused; one of 65532 (the largest multiple of 4) parses. */
	memset(big, 0, 0x20000);
	stun_build_init(&b, big, 0x10000 + 20, 1, STUN_CLASS_REQUEST, tid_a);
	stun_build_attr(&b, STUN_ATTR_DATA, big + 0x20000, 0xfffc - 32);
	stun_build_fingerprint(&b);
	assert_int_equal(stun_build_finish(&b), 0xfffc);
	assert_int_equal(stun_parse(&m, big, 0xfffc), 0xfffc);
	assert_int_equal(m.fingerprint, 1);
	assert_int_equal(m.attrs[1].offset, 0xfffc - 4);
	/* 0x10010 bytes: a MESSAGE-INTEGRITY there would sit past offset
	 * 0xffff and wrap. */
	put16(big + 2, 0xfffc);
	put16(big + 22, 0xfffc - 4 - 24);
	put16(big + 20 + 0xfffc - 24, STUN_ATTR_MESSAGE_INTEGRITY);
	put16(big + 20 + 0xfffc - 22, 20);
	assert_int_equal(stun_parse(&m, big, 0xfffc + 20), -STUN_ERR_BAD_LENGTH);
	free(big);
	/* Default reason phrase. */
	assert_string_equal(stun_error_reason(487), "Role Conflict");
	assert_string_equal(stun_error_reason(599), "Error");
}

static void strerror_texts(void **state)
{
	for (int e = 0; e < STUN_ERR_MAX; e++) {
		assert_non_null(stun_strerror(e));
		assert_string_equal(stun_strerror(e), stun_strerror(-e));
		for (int f = 0; f < e; f++)
			assert_string_not_equal(stun_strerror(e), stun_strerror(f));
	}
	assert_string_equal(stun_strerror(STUN_ERR_MAX), "unknown STUN codec error");
	assert_string_equal(stun_strerror(-1000), "unknown STUN codec error");
	assert_false(stun_is_message(NULL, 0));
	assert_int_equal(stun_parse(NULL, rfc5769_request, 20), -STUN_ERR_BAD_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc5769_sample_request),
		cmocka_unit_test(rfc5769_ipv4_response),
		cmocka_unit_test(rfc5769_ipv6_response),
		cmocka_unit_test(rfc5769_long_term),
		cmocka_unit_test(rfc8489_b1_sha256_userhash),
		cmocka_unit_test(method_and_class_encoding),
		cmocka_unit_test(round_trip_every_attribute),
		cmocka_unit_test(integrity_long_key_and_truncated_sha256),
		cmocka_unit_test(truncation_at_every_byte),
		cmocka_unit_test(malformed_table),
		cmocka_unit_test(malformed_details),
		cmocka_unit_test(ordering_rules),
		cmocka_unit_test(getters_refuse_wrong_sizes),
		cmocka_unit_test(builder_errors),
		cmocka_unit_test(strerror_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
