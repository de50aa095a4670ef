// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for what the relay reads of a peer's media encryption
 * (sdp_crypto_extract: m= protocol, a=fingerprint, a=setup, a=crypto,
 * a=rtcp-mux, a=mid) and for the per-leg rewrite that follows it
 * (sdp_rewrite_crypto, sdp_rewrite_strip_bundle). Every section of any SDP
 * that parses is extracted; what is kept must be within its bounds; the
 * section is then rewritten as the relay does toward a DTLS leg (or a plain
 * one, by the first byte) and the result must write, parse again and carry
 * the protocol asked for, with none of the peer's keys or fingerprints.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdp.h"
#include "daemon/sdp_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lines[] = {
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"};
	struct sdp_crypto_desc d;
	struct sdp sdp, again;
	uint8_t bits = size ? data[0] : 0;
	char err[200], *out;
	size_t len;

	if (sdp_parse(&sdp, (const char *)data, size, err, sizeof(err)) < 0)
		return 0;
	for (size_t i = 0; i < sdp.n_media; i++) {
		struct sdp_rewrite_crypto w = {
			.proto = bits & 1 ? "RTP/AVP" : "UDP/TLS/RTP/SAVPF",
			.fingerprint = bits & 1 ? NULL : "sha-256 AA:BB",
			.setup = bits & 1 ? NULL : "passive",
			.crypto = bits & 2 ? lines : NULL,
			.n_crypto = bits & 2 ? 1 : 0,
			.rtcp_mux = bits & 4 ? 1 : (bits & 8 ? 0 : -1),
			.mid = bits & 16 ? "0" : NULL,
		};

		if (sdp_crypto_extract(&sdp, i, &d, err, sizeof(err)) == 0) {
			if (d.n_fingerprint > DTLS_FINGERPRINTS_MAX || d.n_crypto > SDP_CRYPTO_MAX ||
			    strlen(d.proto) >= sizeof(d.proto) || strlen(d.mid) >= sizeof(d.mid))
				abort();
			for (size_t k = 0; k < d.n_crypto; k++)
				if (d.crypto[k].key_len != srtpctx_suite_key_len(d.crypto[k].suite))
					abort();
		}
		if (sdp_rewrite_crypto(&sdp, i, &w) == 0) {
			const struct sdp_section *s = sdp_section_const(&sdp, (int)i);
			struct sdp_mline m;

			if (sdp_mline_parse(s->lines[0].value, &m, err, sizeof(err)) ||
			    strcmp(m.proto, w.proto))
				abort(); /* the m= line says what the leg speaks */
			if (bits & 1 && sdp_attr_find(s, "fingerprint", 0) >= 0)
				abort(); /* a plain leg gets no fingerprint */
		}
	}
	if (bits & 32)
		sdp_rewrite_strip_bundle(&sdp);
	out = sdp_write_alloc(&sdp, &len);
	if (!out)
		abort();
	if (len) {
		if (sdp_parse(&again, out, len, err, sizeof(err)) < 0)
			abort(); /* the relay must never emit SDP it cannot read */
		sdp_free(&again);
	}
	free(out);
	sdp_free(&sdp);
	return 0;
}
