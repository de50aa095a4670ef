// SPDX-License-Identifier: GPL-2.0-only
/*
 * a=crypto (RFC 4568 §9.1): the RFC's own examples, lines as SIP phones and
 * rtpengine write them, byte-exact round trips, generated keys, and a table
 * of malformed lines (-EINVAL) and of legal lines icepath cannot honour
 * (-EPROTONOSUPPORT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "icepath/sdes.h"

#define S(x) x, strlen(x)

static void test_rfc4568_examples(void **state)
{
	struct sdes_crypto c;
	char err[128], out[SDES_LINE_MAX];
	/* RFC 4568 §4 / §8.1: lifetime 2^20, MKI 1 in 4 bytes */
	const char *l1 = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";

	assert_int_equal(sdes_parse(S(l1), &c, err, sizeof(err)), 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(c.key_len, 16);
	assert_int_equal(c.salt_len, 14);
	assert_int_equal(c.key[0], 0x3d); /* "PS1u" -> 3d 2d 6e */
	assert_int_equal(c.key[1], 0x2d);
	assert_int_equal(c.lifetime, 1u << 20);
	assert_true(c.has_mki);
	assert_int_equal(c.mki, 1);
	assert_int_equal(c.mki_len, 4);
	assert_int_equal(sdes_format(&c, out, sizeof(out)), strlen(l1));
	assert_string_equal(out, l1);

	/* with "a=crypto:" and CRLF, a decimal lifetime, session parameters */
	assert_int_equal(sdes_parse(S("a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
				      "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1048576 "
				      "FEC_ORDER=FEC_SRTP WSH=64\r\n"),
				    &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.tag, 2);
	assert_int_equal(c.suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(c.lifetime, 1048576);
	assert_false(c.has_mki);
	assert_string_equal(c.params, "FEC_ORDER=FEC_SRTP WSH=64");
	int n = sdes_format(&c, out, sizeof(out));

	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "2 AES_CM_128_HMAC_SHA1_32 "
				 "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1048576 "
				 "FEC_ORDER=FEC_SRTP WSH=64");
}

static void test_generate_round_trip(void **state)
{
	for (unsigned s = 1; s < SRTPCTX_SUITE_COUNT; s++) {
		struct sdes_crypto a, b, z;
		char line[SDES_LINE_MAX], err[128];
		int n;

		assert_int_equal(sdes_generate(&a, s, (enum srtpctx_suite)s), 0);
		assert_int_equal(sdes_generate(&z, s, (enum srtpctx_suite)s), 0);
		assert_memory_not_equal(a.key, z.key, a.key_len); /* random, not fixed */
		n = sdes_format(&a, line, sizeof(line));
		assert_true(n > 0);
		assert_int_equal(sdes_parse(line, (size_t)n, &b, err, sizeof(err)), 0);
		assert_int_equal(b.suite, s);
		assert_int_equal(b.tag, s);
		assert_memory_equal(b.key, a.key, a.key_len);
		assert_memory_equal(b.salt, a.salt, a.salt_len);
		/* GCM: 28 or 44 bytes, so base64 with "=" padding */
		if (s >= SRTPCTX_SUITE_AEAD_AES_128_GCM)
			assert_non_null(strchr(line, '='));
		assert_int_equal(sdes_format(&a, line, 20), -ENOSPC);
	}
	struct sdes_crypto c;

	assert_int_equal(sdes_generate(&c, 1, SRTPCTX_SUITE_NONE), -EINVAL);
	assert_int_equal(sdes_generate(&c, SDES_TAG_MAX + 1, SRTPCTX_SUITE_AEAD_AES_128_GCM),
			 -EINVAL);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *line;
		int rc;
	} bad[] = {
		{"", -EINVAL},
		{"1", -EINVAL},
		{"1 ", -EINVAL},
		{"x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		 -EINVAL}, /* 10 digits */
		{"-1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 ", -EINVAL},
		{"1  AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:", -EINVAL},
		/* one character short, one too long, not base64, bad padding */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAAAA",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV!R", -EINVAL},
		{"1 AEAD_AES_128_GCM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV=", -EINVAL},
		/* the 30 bytes of SHA1_80 offered for a 28-byte GCM suite */
		{"1 AEAD_AES_128_GCM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		/* lifetime and MKI */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^49",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:0",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:129",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|256:1",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4|2^20",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|2^20",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4|1:4",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|x:4",
		 -EINVAL},
		/* session parameters */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR ", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR  WSH=64",
		 -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR W\tS",
		 -EINVAL},
		{"1 AES/CM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		/* legal, but not for us */
		{"1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		 -EPROTONOSUPPORT},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:8AbZePWwsKhLGX3GlXA+yHYPQ3cgraer/9DkFJYCOPZZy3o9wC0NIbIFYZfyHw==",
		 -EPROTONOSUPPORT},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4;"
		 "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4",
		 -EPROTONOSUPPORT},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR "
		 "UNENCRYPTED_SRTP",
		 -EPROTONOSUPPORT},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR "
		 "UNAUTHENTICATED_SRTP",
		 -EPROTONOSUPPORT},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR KDR=24",
		 -EPROTONOSUPPORT},
	};
	struct sdes_crypto c;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = sdes_parse(S(bad[i].line), &c, err, sizeof(err));

		if (rc != bad[i].rc)
			fail_msg("line %zu \"%s\": %d, want %d (%s)", i, bad[i].line, rc, bad[i].rc,
				 err);
		assert_true(err[0] != '\0'); /* every refusal says why */
		assert_int_equal(c.suite, SRTPCTX_SUITE_NONE); /* nothing half-parsed */
	}
	/* KDR=0 is the default and fine; err may be NULL */
	assert_int_equal(sdes_parse(S("1 AES_CM_128_HMAC_SHA1_80 "
				      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR KDR=0"),
				    &c, NULL, 0),
			 0);
	/* a length that stops inside the line is honoured */
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 "
				    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20",
				    strlen("1 AES_CM_128_HMAC_SHA1_80 "
					   "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
				    &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.lifetime, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4568_examples),
		cmocka_unit_test(test_generate_round_trip),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
