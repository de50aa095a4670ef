// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the SDP codec: parse, and when that succeeds write
 * back, re-parse (must succeed and write the same bytes: the writer's output
 * is canonical), extract the ICE data of every media section and apply it
 * again. The raw bytes also go through sdp_candidate_parse().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ice_candidate cand;
	char err[160], buf[512];
	struct sdp sdp, again;
	size_t len, len2;
	char *out, *out2;

	if (sdp_candidate_parse((const char *)data, size, &cand, err, sizeof(err)) == 0 &&
	    sdp_candidate_format(&cand, buf, sizeof(buf)) < 0)
		abort(); /* whatever parses must format into a line-sized buffer */
	if (sdp_parse(&sdp, (const char *)data, size, err, sizeof(err)) < 0)
		return 0;
	out = sdp_write_alloc(&sdp, &len);
	if (!out)
		abort();
	if (sdp_parse(&again, out, len, err, sizeof(err)) < 0)
		abort();
	out2 = sdp_write_alloc(&again, &len2);
	if (!out2 || len2 != len || memcmp(out, out2, len))
		abort();
	free(out2);
	sdp_free(&again);
	{
		const char *mids[SDP_MAX_MEDIA];
		char mbuf[SDP_MAX_LINE_LEN];
		int n = sdp_bundle_mids(&sdp, mbuf, sizeof(mbuf), mids, SDP_MAX_MEDIA);

		for (int k = 0; k < n; k++)
			sdp_media_by_mid(&sdp, mids[k]);
	}
	for (size_t i = 0; i < sdp.n_media; i++) {
		struct sdp_ice_desc *d = malloc(sizeof(*d));

		if (d && sdp_ice_extract(&sdp, i, d, err, sizeof(err)) == 0)
			sdp_ice_apply(&sdp, i, d);
		free(d);
	}
	free(out);
	sdp_free(&sdp);
	return 0;
}
