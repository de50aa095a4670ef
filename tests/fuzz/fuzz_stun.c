// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the STUN codec: parse, every typed getter on every
 * attribute, the integrity check with a fixed key, and a rebuild through the
 * builder whose result must parse back to the same attributes and verify.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";

#define CHECK(cond)                    \
	do {                           \
		if (!(cond))           \
			__builtin_trap(); \
	} while (0)

static bool is_integrity_or_fp(uint16_t t)
{
	return t == STUN_ATTR_MESSAGE_INTEGRITY || t == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
	       t == STUN_ATTR_FINGERPRINT;
}

static void every_getter(const struct stun_msg *m, const struct stun_attr *a)
{
	char s[STUN_USERNAME_MAX + 300];
	struct netaddr na;
	uint16_t list[8], ch;
	const char *reason;
	size_t n, rlen;
	uint64_t u64;
	uint32_t u32;
	uint8_t proto;
	int code;

	(void)stun_attr_get_addr(m, a, &na);
	(void)stun_attr_get_xor_addr(m, a, &na);
	(void)stun_attr_get_u32(m, a, &u32);
	(void)stun_attr_get_u64(m, a, &u64);
	if (stun_attr_get_error(m, a, &code, &reason, &rlen) == 0) {
		CHECK(code >= 300 && code <= 699);
		CHECK(reason + rlen == (const char *)stun_attr_value(m, a) + a->len);
	}
	if (stun_attr_get_unknown(m, a, list, 8, &n) == 0)
		CHECK(n == a->len / 2u);
	if (stun_attr_get_channel(m, a, &ch) == 0)
		CHECK(ch >= 0x4000 && ch <= 0x4fff);
	(void)stun_attr_get_transport(m, a, &proto);
	(void)stun_attr_get_password_algs(m, a, list, 8, &n);
	if (stun_attr_get_string(m, a, s, sizeof(s)) == 0)
		CHECK(strlen(s) == a->len);
	(void)stun_attr_str(a->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m, m2;
	struct stun_builder b;
	uint8_t *out;
	size_t cap;
	int len, len2;
	unsigned copied = 0, j = 0;

	(void)stun_is_message(data, size);
	len = stun_parse(&m, data, size);
	if (len < 0) {
		CHECK(stun_strerror(len) != NULL);
		return 0;
	}
	CHECK((size_t)len == size && size % 4 == 0 && m.nattrs <= STUN_MAX_ATTRS);
	(void)stun_method_str(m.method);
	(void)stun_class_str(m.cls);
	for (unsigned i = 0; i < m.nattrs; i++) {
		const struct stun_attr *a = &m.attrs[i];

		CHECK((size_t)a->offset + a->len <= m.len);
		CHECK(stun_msg_find(&m, a->type) <= a);
		every_getter(&m, a);
	}
	(void)stun_check_integrity(&m, key, sizeof(key) - 1);

	/* Rebuild: same header, every listed attribute but integrity and
	 * fingerprint, then our own MI and FINGERPRINT. */
	if (!m.has_cookie)
		return 0;
	cap = size + 64;
	out = malloc(cap);
	if (!out)
		return 0;
	stun_build_init(&b, out, cap, m.method, m.cls, m.tid);
	for (unsigned i = 0; i < m.nattrs; i++) {
		const struct stun_attr *a = &m.attrs[i];

		if (is_integrity_or_fp(a->type))
			continue;
		stun_build_attr(&b, a->type, stun_attr_value(&m, a), a->len);
		copied++;
	}
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_fingerprint(&b);
	len2 = stun_build_finish(&b);
	if (len2 == -STUN_ERR_NO_SPACE) { /* 16-bit length field full */
		free(out);
		return 0;
	}
	CHECK(len2 > 0);
	len2 = stun_parse(&m2, out, (size_t)len2);
	if (copied + 2 > STUN_MAX_ATTRS) {
		CHECK(len2 == -STUN_ERR_TOO_MANY_ATTRS);
		free(out);
		return 0;
	}
	CHECK(len2 > 0);
	CHECK(m2.method == m.method && m2.cls == m.cls && m2.nattrs == copied + 2);
	CHECK(m2.nunknown == m.nunknown);
	CHECK(memcmp(m2.tid, m.tid, STUN_TID_LEN) == 0);
	CHECK(stun_check_integrity(&m2, key, sizeof(key) - 1) == 0);
	for (unsigned i = 0; i < m.nattrs; i++) {
		const struct stun_attr *a = &m.attrs[i], *a2;

		if (is_integrity_or_fp(a->type))
			continue;
		a2 = &m2.attrs[j++];
		CHECK(a2->type == a->type && a2->len == a->len);
		CHECK(memcmp(stun_attr_value(&m2, a2), stun_attr_value(&m, a), a->len) == 0);
	}
	free(out);
	return 0;
}
