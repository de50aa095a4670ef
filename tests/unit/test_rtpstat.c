// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtpstat: RTP header codec and the loss/reorder/duplicate accounting that
 * icepath-bench's sink reports; every benchmark loss figure rests on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "icepath/rtpstat.h"
#include "icepath/compiler.h"

static void header_roundtrip(void **state)
{
	struct rtp_hdr in = {
		.pt = 0, .marker = true, .seq = 0xfffe, .ts = 0x01020304, .ssrc = 0xdeadbeef};
	struct rtp_hdr out;
	uint8_t buf[RTP_HDR_LEN];
	/* V=2 M=1 PT=0, seq 65534, ts, SSRC (RFC 3550 §5.1 byte order) */
	static const uint8_t want[RTP_HDR_LEN] = {0x80, 0x80, 0xff, 0xfe, 0x01, 0x02,
						  0x03, 0x04, 0xde, 0xad, 0xbe, 0xef};

	rtpstat_write(buf, &in);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(rtpstat_parse(buf, sizeof(buf), &out, NULL), 0);
	assert_int_equal(out.seq, in.seq);
	assert_int_equal(out.ts, in.ts);
	assert_int_equal(out.ssrc, in.ssrc);
	assert_true(out.marker);
	assert_int_equal(out.pt, 0);
	assert_int_equal(out.csrc_count, 0);
}

static void header_malformed(void **state)
{
	static const struct {
		const char *what;
		uint8_t bytes[20];
		size_t len;
		int err;
	} bad[] = {
		{"empty", {0}, 0, -EMSGSIZE},
		{"11 bytes", {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 11, -EMSGSIZE},
		{"version 0", {0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12, -EPROTO},
		{"version 1", {0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12, -EPROTO},
		{"version 3", {0xc0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12, -EPROTO},
		/* CC=2 announces 8 more bytes, only 4 are there */
		{"CSRC past end",
		 {0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		 16,
		 -EMSGSIZE},
	};
	struct rtp_hdr h;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(rtpstat_parse(bad[i].bytes, bad[i].len, &h, &why), bad[i].err);
		assert_non_null(why);
	}
	/* CC=1 with its CSRC present is fine */
	static const uint8_t ok[16] = {0x81, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
	assert_int_equal(rtpstat_parse(ok, sizeof(ok), &h, NULL), 0);
	assert_int_equal(h.csrc_count, 1);
	assert_int_equal(h.pt, 96);
}

static void in_order_across_wrap(void **state)
{
	struct rtpstat_flow f;
	uint16_t seq = 65530;

	rtpstat_flow_init(&f, 7);
	for (int i = 0; i < 20; i++)
		assert_int_equal(rtpstat_flow_add(&f, seq++), RTPSTAT_NEW);
	assert_int_equal(f.received, 20);
	assert_int_equal(rtpstat_flow_expected(&f), 20);
	assert_int_equal(rtpstat_flow_lost(&f), 0);
	assert_int_equal(f.reordered, 0);
	assert_int_equal(f.duplicates, 0);
}

static void gaps_are_losses(void **state)
{
	struct rtpstat_flow f;

	rtpstat_flow_init(&f, 7);
	/* 100..109 with 103 and 107 missing, then 65535 -> 2 across the wrap
	 * is a different flow: keep it simple, one gap of 3 after 109. */
	for (uint16_t s = 100; s < 110; s++)
		if (s != 103 && s != 107)
			rtpstat_flow_add(&f, s);
	rtpstat_flow_add(&f, 113); /* 110, 111, 112 lost */
	assert_int_equal(rtpstat_flow_expected(&f), 14);
	assert_int_equal(f.unique, 9);
	assert_int_equal(rtpstat_flow_lost(&f), 5);
}

static void reorder_and_duplicates(void **state)
{
	struct rtpstat_flow f;

	rtpstat_flow_init(&f, 7);
	assert_int_equal(rtpstat_flow_add(&f, 65534), RTPSTAT_NEW);
	assert_int_equal(rtpstat_flow_add(&f, 1), RTPSTAT_NEW);	      /* 65535, 0 missing */
	assert_int_equal(rtpstat_flow_add(&f, 0), RTPSTAT_REORDERED); /* behind, across wrap */
	assert_int_equal(rtpstat_flow_add(&f, 0), RTPSTAT_DUPLICATE);
	assert_int_equal(rtpstat_flow_add(&f, 1), RTPSTAT_DUPLICATE);
	assert_int_equal(rtpstat_flow_add(&f, 65535), RTPSTAT_REORDERED);
	/* before the first packet seen: a late one, the span grows down */
	assert_int_equal(rtpstat_flow_add(&f, 65533), RTPSTAT_REORDERED);
	assert_int_equal(rtpstat_flow_expected(&f), 5);
	assert_int_equal(rtpstat_flow_lost(&f), 0);
	assert_int_equal(f.received, 7);
	assert_int_equal(f.duplicates, 2);
	assert_int_equal(f.reordered, 3);
}

static void window_slides(void **state)
{
	struct rtpstat_flow f;

	rtpstat_flow_init(&f, 7);
	rtpstat_flow_add(&f, 0);
	rtpstat_flow_add(&f, 10);
	/* a jump larger than the window clears all bits; 5 is then too old */
	assert_int_equal(rtpstat_flow_add(&f, 10 + RTPSTAT_WINDOW + 5), RTPSTAT_NEW);
	assert_int_equal(rtpstat_flow_add(&f, 5), RTPSTAT_TOO_OLD);
	assert_int_equal(f.too_old, 1);
	/* inside the window again: first sight is reordered, second a duplicate */
	assert_int_equal(rtpstat_flow_add(&f, 10 + RTPSTAT_WINDOW), RTPSTAT_REORDERED);
	assert_int_equal(rtpstat_flow_add(&f, 10 + RTPSTAT_WINDOW), RTPSTAT_DUPLICATE);
	assert_int_equal(f.duplicates, 1);
	assert_int_equal(f.reordered, 1);
}

static void stale_bits_after_small_steps(void **state)
{
	struct rtpstat_flow f;
	uint16_t s;

	rtpstat_flow_init(&f, 7);
	/* fill every slot of the window */
	for (s = 0; s < RTPSTAT_WINDOW; s++)
		assert_int_equal(rtpstat_flow_add(&f, s), RTPSTAT_NEW);
	/* step over 6 numbers: their slots held 0..5 a window ago and must
	 * read as unseen, so a late one is reordered, not a duplicate */
	assert_int_equal(rtpstat_flow_add(&f, RTPSTAT_WINDOW + 6), RTPSTAT_NEW);
	assert_int_equal(rtpstat_flow_lost(&f), 6);
	assert_int_equal(rtpstat_flow_add(&f, RTPSTAT_WINDOW + 1), RTPSTAT_REORDERED);
	assert_int_equal(rtpstat_flow_add(&f, RTPSTAT_WINDOW + 1), RTPSTAT_DUPLICATE);
	/* an old one still inside the window is a duplicate */
	assert_int_equal(rtpstat_flow_add(&f, 100), RTPSTAT_DUPLICATE);
	assert_int_equal(rtpstat_flow_lost(&f), 5);
	assert_string_equal(rtpstat_verdict_str(RTPSTAT_TOO_OLD), "too-old");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_roundtrip),
		cmocka_unit_test(header_malformed),
		cmocka_unit_test(in_order_across_wrap),
		cmocka_unit_test(gaps_are_losses),
		cmocka_unit_test(reorder_and_duplicates),
		cmocka_unit_test(window_slides),
		cmocka_unit_test(stale_bits_after_small_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
