// SPDX-License-Identifier: GPL-2.0-only
/* TURN ChannelData (RFC 8656 §12.4): framing, channel range, padding rules,
 * truncation at every byte. Inputs sit in exact-size heap buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/channel_data.h"
#include "icepath/compiler.h"

static int parse_exact(const uint8_t *p, size_t n, uint16_t *ch, uint16_t *dlen,
		       size_t *data_off)
{
	uint8_t *q = malloc(n ? n : 1);
	const uint8_t *data = NULL;
	int rc;

	assert_non_null(q);
	memcpy(q, p, n);
	rc = channel_data_parse(q, n, ch, &data, dlen);
	if (rc >= 0)
		*data_off = (size_t)(data - q);
	free(q);
	return rc;
}

static const uint8_t msg5[] = {
	0x40, 0x00, /* channel 0x4000 */
	0x00, 0x05, /* length 5 (data only) */
	'h',  'e',  'l', 'l', /* application data */
	'o',  0x00, 0x00, 0x00, /* last data byte and 3 bytes of padding */
};

static void parse_valid(void **state)
{
	uint16_t ch, dlen;
	size_t off;

	/* with full padding: consumes all 12 bytes */
	assert_int_equal(parse_exact(msg5, sizeof(msg5), &ch, &dlen, &off), 12);
	assert_int_equal(ch, 0x4000);
	assert_int_equal(dlen, 5);
	assert_int_equal(off, 4);
	/* over UDP the padding is optional: 9, 10, 11 bytes are fine and
	 * consume what is there */
	for (size_t n = 9; n <= 11; n++)
		assert_int_equal(parse_exact(msg5, n, &ch, &dlen, &off), (int)n);
	/* extra bytes after the padding are not part of the message */
	{
		uint8_t big[16] = { 0 };

		memcpy(big, msg5, sizeof(msg5));
		assert_int_equal(parse_exact(big, sizeof(big), &ch, &dlen, &off), 12);
	}
	/* empty data, highest channel */
	{
		static const uint8_t empty[] = { 0x4f, 0xff, 0x00, 0x00 };

		assert_int_equal(parse_exact(empty, 4, &ch, &dlen, &off), 4);
		assert_int_equal(ch, 0x4fff);
		assert_int_equal(dlen, 0);
	}
	assert_int_equal(channel_data_frame_len(msg5, 4), 12);
	assert_int_equal(channel_data_frame_len(msg5, 3), -STUN_ERR_TRUNCATED);
}

static void parse_malformed(void **state)
{
	uint8_t buf[8] = { 0x40, 0x01, 0x00, 0x04, 1, 2, 3, 4 };
	uint16_t ch, dlen;
	size_t off;

	/* truncation at every byte */
	for (size_t n = 0; n < 9; n++)
		assert_int_equal(parse_exact(msg5, n, &ch, &dlen, &off), -STUN_ERR_TRUNCATED);
	/* length field past the buffer */
	buf[3] = 5;
	assert_int_equal(parse_exact(buf, sizeof(buf), &ch, &dlen, &off), -STUN_ERR_TRUNCATED);
	buf[2] = 0xff, buf[3] = 0xff;
	assert_int_equal(parse_exact(buf, sizeof(buf), &ch, &dlen, &off), -STUN_ERR_TRUNCATED);
	buf[2] = 0, buf[3] = 4;
	/* channel numbers: every first-byte boundary */
	static const struct {
		uint16_t ch;
		int ok;
	} chans[] = {
		{ 0x0000, 0 }, { 0x3fff, 0 }, { 0x4000, 1 }, { 0x4001, 1 }, { 0x4abc, 1 },
		{ 0x4fff, 1 }, { 0x5000, 0 }, { 0x7fff, 0 }, { 0x8000, 0 }, { 0xffff, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(chans); i++) {
		buf[0] = chans[i].ch >> 8;
		buf[1] = chans[i].ch & 0xff;
		assert_int_equal(parse_exact(buf, sizeof(buf), &ch, &dlen, &off),
				 chans[i].ok ? 8 : -STUN_ERR_BAD_CHANNEL);
	}
	assert_int_equal(channel_data_parse(NULL, 4, &ch, NULL, &dlen), -STUN_ERR_BAD_ARG);
}

static void build_round_trip(void **state)
{
	uint8_t out[80], payload[64];
	const uint8_t *data;
	uint16_t ch, dlen;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(0xa0 + i);
	for (size_t len = 0; len <= 64; len++) {
		for (int pad = 0; pad <= 1; pad++) {
			size_t want = 4 + (pad ? (len + 3) / 4 * 4 : len);

			memset(out, 0xee, sizeof(out));
			assert_int_equal(channel_data_build(out, sizeof(out), 0x4123, payload,
							    len, pad),
					 (int)want);
			for (size_t j = 4 + len; j < want; j++)
				assert_int_equal(out[j], 0); /* padding is zeros */
			assert_int_equal(out[want], 0xee); /* nothing written past */
			assert_int_equal(channel_data_parse(out, want, &ch, &data, &dlen),
					 (int)want);
			assert_int_equal(ch, 0x4123);
			assert_int_equal(dlen, len);
			assert_memory_equal(data, payload, len);
			/* no room: refused, cap - 1 */
			assert_int_equal(channel_data_build(out, want - 1, 0x4123, payload, len,
							    pad),
					 -STUN_ERR_NO_SPACE);
		}
	}
	/* payload already in place at buf + 4 */
	memcpy(out + 4, "abcdef", 6);
	assert_int_equal(channel_data_build(out, sizeof(out), 0x4000, out + 4, 6, true), 12);
	assert_memory_equal(out, "\x40\x00\x00\x06" "abcdef\0\0", 12);
	assert_int_equal(channel_data_build(out, sizeof(out), 0x3fff, payload, 1, false),
			 -STUN_ERR_BAD_CHANNEL);
	assert_int_equal(channel_data_build(out, sizeof(out), 0x5000, payload, 1, false),
			 -STUN_ERR_BAD_CHANNEL);
	assert_int_equal(channel_data_build(out, sizeof(out), 0x4000, NULL, 1, false),
			 -STUN_ERR_BAD_ARG);
	assert_int_equal(channel_data_build(out, 70000, 0x4000, payload, 65536, false),
			 -STUN_ERR_BAD_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid),
		cmocka_unit_test(parse_malformed),
		cmocka_unit_test(build_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
