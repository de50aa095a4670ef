// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for rtpstat: the RTP header parser must never read past
 * the length, and the accounting must keep its invariants for any sequence
 * of numbers (every packet gets exactly one verdict; distinct packets never
 * exceed the span they cover, so "lost" cannot underflow).
 */
#include <stdint.h>
#include <stdlib.h>

#include "icepath/rtpstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtpstat_flow f;
	struct rtp_hdr h;
	uint64_t verdicts[4] = {0};
	const char *why = NULL;

	if (rtpstat_parse(data, size, &h, &why) == 0) {
		if (size < RTP_HDR_LEN + 4u * h.csrc_count)
			abort();
	} else if (!why) {
		abort();
	}
	/* The input as a stream of big-endian 16-bit sequence numbers. */
	rtpstat_flow_init(&f, 1);
	for (size_t i = 0; i + 1 < size; i += 2) {
		enum rtpstat_verdict v =
			rtpstat_flow_add(&f, (uint16_t)(data[i] << 8 | data[i + 1]));

		if ((unsigned)v > RTPSTAT_TOO_OLD)
			abort();
		verdicts[v]++;
	}
	if (verdicts[0] + verdicts[1] + verdicts[2] + verdicts[3] != f.received)
		abort();
	if (f.unique > rtpstat_flow_expected(&f) || f.duplicates != verdicts[RTPSTAT_DUPLICATE])
		abort();
	if (rtpstat_flow_lost(&f) + f.unique != rtpstat_flow_expected(&f))
		abort();
	return 0;
}
