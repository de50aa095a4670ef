// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the SRTP glue (srtpctx.c): arbitrary bytes through
 * unprotect as RTP and as RTCP, for every suite. A failure must leave the
 * buffer zeroed (nothing unauthenticated looks like plaintext); a success
 * can only shrink the packet. Input that is a valid RTP/RTCP packet must
 * survive protect -> unprotect byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/srtpctx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[SRTPCTX_KEY_MAX] = "0123456789abcdef0123456789abcde";
static const uint8_t salt[SRTPCTX_SALT_MAX] = "saltsaltsalts";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (srtpctx_lib_init())
		abort();
	return 0;
}

static void zero_or_abort(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SRTPCTX_PACKET_MAX + 1 + SRTPCTX_TRAILER_MAX];

	if (size > SRTPCTX_PACKET_MAX + 1)
		return 0;
	for (unsigned s = 1; s < SRTPCTX_SUITE_COUNT; s++) {
		enum srtpctx_suite suite = (enum srtpctx_suite)s;
		size_t kl = srtpctx_suite_key_len(suite), sl = srtpctx_suite_salt_len(suite);
		struct srtpctx *in, *out;

		if (srtpctx_new(&in, suite, SRTPCTX_INBOUND, key, kl, salt, sl, 0) ||
		    srtpctx_new(&out, suite, SRTPCTX_OUTBOUND, key, kl, salt, sl, 0))
			abort();
		for (int rtcp = 0; rtcp < 2; rtcp++) {
			size_t len = size;
			int rc;

			memcpy(buf, data, size);
			rc = rtcp ? srtpctx_unprotect_rtcp(in, buf, &len)
				  : srtpctx_unprotect_rtp(in, buf, &len);
			if (rc)
				zero_or_abort(buf, size);
			else if (len > size)
				abort();
			/* our own protect output must come back intact */
			memcpy(buf, data, size);
			len = size;
			rc = rtcp ? srtpctx_protect_rtcp(out, buf, &len, sizeof(buf))
				  : srtpctx_protect_rtp(out, buf, &len, sizeof(buf));
			if (rc)
				continue;
			srtpctx_free(in);
			if (srtpctx_new(&in, suite, SRTPCTX_INBOUND, key, kl, salt, sl, 0))
				abort();
			rc = rtcp ? srtpctx_unprotect_rtcp(in, buf, &len)
				  : srtpctx_unprotect_rtp(in, buf, &len);
			if (rc || len != size || memcmp(buf, data, size))
				abort();
		}
		srtpctx_free(in);
		srtpctx_free(out);
		/* a restored tx renumbers whatever it protects, and maps reports
		 * back in whatever RTCP came in: both walk the compound */
		if (srtpctx_new(&out, suite, SRTPCTX_OUTBOUND, key, kl, salt, sl, 0))
			abort();
		srtpctx_renumber(out);
		for (int rtcp = 0; rtcp < 2; rtcp++) {
			size_t len = size;

			memcpy(buf, data, size);
			(void)(rtcp ? srtpctx_protect_rtcp(out, buf, &len, sizeof(buf))
				    : srtpctx_protect_rtp(out, buf, &len, sizeof(buf)));
			memcpy(buf, data, size);
			srtpctx_unrenumber_rtcp(out, buf, size);
		}
		srtpctx_free(out);
	}
	return 0;
}
