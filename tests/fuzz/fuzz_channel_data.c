// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target for TURN ChannelData: parse, then build the same message
 * padded and unpadded and parse it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/channel_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                    \
	do {                           \
		if (!(cond))           \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload, *p2;
	uint16_t ch, dlen, ch2, dlen2;
	uint8_t *out;
	int n, frame;

	frame = channel_data_frame_len(data, size);
	n = channel_data_parse(data, size, &ch, &payload, &dlen);
	if (n < 0) {
		CHECK(stun_strerror(n) != NULL);
		return 0;
	}
	CHECK((size_t)n <= size && n >= 4 + dlen && n <= frame);
	CHECK(payload == data + 4 && ch >= TURN_CHANNEL_MIN && ch <= TURN_CHANNEL_MAX);
	out = malloc((size_t)dlen + 8);
	if (!out)
		return 0;
	for (int pad = 0; pad <= 1; pad++) {
		int b = channel_data_build(out, (size_t)dlen + 8, ch, payload, dlen, pad);

		CHECK(b == (pad ? frame : 4 + dlen));
		CHECK(channel_data_parse(out, (size_t)b, &ch2, &p2, &dlen2) == b);
		CHECK(ch2 == ch && dlen2 == dlen && memcmp(p2, payload, dlen) == 0);
	}
	free(out);
	return 0;
}
