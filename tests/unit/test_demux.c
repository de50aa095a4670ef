// SPDX-License-Identifier: GPL-2.0-only
/* RFC 7983 first-byte demultiplexing (include/icepath/demux.h): every
 * boundary of every range, the RTP/RTCP split of RFC 5761 §4, and the
 * minimum lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "icepath/channel_data.h"
#include "icepath/demux.h"
#include "icepath/compiler.h"

/* The class of first byte b0 when the payload is long enough for anything. */
static enum demux_class expected(unsigned b0)
{
	if (b0 <= 3)
		return DEMUX_STUN;
	if (b0 >= 16 && b0 <= 19)
		return DEMUX_ZRTP;
	if (b0 >= 20 && b0 <= 63)
		return DEMUX_DTLS;
	if (b0 >= 64 && b0 <= 79)
		return DEMUX_CHANNEL_DATA;
	if (b0 >= 128 && b0 <= 191)
		return DEMUX_RTP; /* with a second byte that is not an RTCP type */
	return DEMUX_UNKNOWN;
}

static void every_first_byte(void **state)
{
	for (unsigned b0 = 0; b0 <= 255; b0++)
		assert_int_equal(demux_classify((__u8)b0, 0, 1500), expected(b0));
}

static void range_boundaries(void **state)
{
	static const struct {
		__u8 b0;
		enum demux_class want;
	} edges[] = {
		{ 0, DEMUX_STUN },	  { 3, DEMUX_STUN },	      { 4, DEMUX_UNKNOWN },
		{ 15, DEMUX_UNKNOWN },	  { 16, DEMUX_ZRTP },	      { 19, DEMUX_ZRTP },
		{ 20, DEMUX_DTLS },	  { 63, DEMUX_DTLS },	      { 64, DEMUX_CHANNEL_DATA },
		{ 79, DEMUX_CHANNEL_DATA }, { 80, DEMUX_UNKNOWN },     { 127, DEMUX_UNKNOWN },
		{ 128, DEMUX_RTP },	  { 191, DEMUX_RTP },	      { 192, DEMUX_UNKNOWN },
		{ 255, DEMUX_UNKNOWN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(edges); i++)
		assert_int_equal(demux_classify(edges[i].b0, 0, 100), edges[i].want);
	/* The ChannelData range is exactly the first bytes of channel numbers
	 * 0x4000-0x4FFF. */
	assert_int_equal(demux_classify(TURN_CHANNEL_MIN >> 8, 0, 4), DEMUX_CHANNEL_DATA);
	assert_int_equal(demux_classify(TURN_CHANNEL_MAX >> 8, 0xff, 4), DEMUX_CHANNEL_DATA);
	assert_int_equal(demux_classify((TURN_CHANNEL_MAX >> 8) + 1, 0, 4), DEMUX_UNKNOWN);
}

static void rtp_rtcp_split(void **state)
{
	for (unsigned b1 = 0; b1 <= 255; b1++) {
		bool rtcp = b1 >= 192 && b1 <= 223;

		assert_int_equal(demux_classify(0x80, (__u8)b1, 100), rtcp ? DEMUX_RTCP : DEMUX_RTP);
		assert_int_equal(demux_classify(0xbf, (__u8)b1, 100), rtcp ? DEMUX_RTCP : DEMUX_RTP);
	}
}

static void minimum_lengths(void **state)
{
	/* nothing is anything at length 0 */
	for (unsigned b0 = 0; b0 <= 255; b0++)
		assert_int_equal(demux_classify((__u8)b0, 0, 0), DEMUX_UNKNOWN);
	/* STUN needs its 20-byte header */
	assert_int_equal(demux_classify(0, 1, 19), DEMUX_UNKNOWN);
	assert_int_equal(demux_classify(0, 1, 20), DEMUX_STUN);
	/* ChannelData needs its 4-byte header */
	assert_int_equal(demux_classify(0x40, 0, 3), DEMUX_UNKNOWN);
	assert_int_equal(demux_classify(0x40, 0, 4), DEMUX_CHANNEL_DATA);
	/* RTP needs 12 bytes, RTCP 8 */
	assert_int_equal(demux_classify(0x80, 0, 1), DEMUX_UNKNOWN);
	assert_int_equal(demux_classify(0x80, 96, 11), DEMUX_UNKNOWN);
	assert_int_equal(demux_classify(0x80, 96, 12), DEMUX_RTP);
	assert_int_equal(demux_classify(0x80, 200, 7), DEMUX_UNKNOWN);
	assert_int_equal(demux_classify(0x80, 200, 8), DEMUX_RTCP);
	/* ZRTP and DTLS have no minimum here: the first byte decides */
	assert_int_equal(demux_classify(16, 0, 1), DEMUX_ZRTP);
	assert_int_equal(demux_classify(22, 0, 1), DEMUX_DTLS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_first_byte),
		cmocka_unit_test(range_boundaries),
		cmocka_unit_test(rtp_rtcp_split),
		cmocka_unit_test(minimum_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
