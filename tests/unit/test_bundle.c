// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_bundle: BUNDLE demux by SSRC/MID (RFC 8843 §9.2): the table read
 * from an SDP (a=group:BUNDLE, a=mid, a=ssrc, a=ssrc-group, the MID
 * extension's a=extmap, payload types), RTP by SSRC, MID (RFC 8285 one- and
 * two-byte header extensions) and unambiguous payload type, RTCP by sender
 * then reported SSRC, and malformed packets and extension blocks refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "daemon/relay_bundle.h"
#include "icepath/sdp.h"

/* A browser's offer: audio (mid a, PT 111 and 0, SSRC 0x11111111) and video
 * (mid v, PT 96/97 for VP8 and its RTX, SSRCs 0x22222222 + 0x33333333 in a
 * FID group), PT 0 on both lines (ambiguous), MID as extension 4. */
static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
			    "a=group:BUNDLE a v\r\n"
			    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n"
			    "a=mid:a\r\n"
			    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			    "a=ssrc:286331153 cname:x\r\n" /* 0x11111111 */
			    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 0\r\nc=IN IP4 0.0.0.0\r\n"
			    "a=mid:v\r\n"
			    "a=extmap:4/sendrecv urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			    "a=ssrc-group:FID 572662306 858993459\r\n" /* 0x22222222 0x33333333 */
			    "a=ssrc:572662306 cname:x\r\n";

static void load(struct relay_bundle *b, const char *text)
{
	struct sdp s;

	assert_int_equal(sdp_parse(&s, text, strlen(text), NULL, 0), 0);
	assert_int_equal(relay_bundle_from_sdp(b, &s, 2), 0);
	sdp_free(&s);
}

/* RTP header, RFC 3550 §5.1: V=2, X as asked, PT, seq 1, ts 0, SSRC */
static size_t rtp(uint8_t *p, unsigned pt, uint32_t ssrc, bool ext)
{
	memset(p, 0, 12);
	p[0] = ext ? 0x90 : 0x80;
	p[1] = (uint8_t)pt;
	p[3] = 1;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	return 12;
}

static void sdp_table(void **state)
{
	struct relay_bundle b;

	(void)state;
	load(&b, offer);
	assert_true(b.on);
	assert_int_equal(b.tagged, 0);
	assert_int_equal(b.mid_id, 4);
	assert_string_equal(b.mid[0], "a");
	assert_string_equal(b.mid[1], "v");
	assert_int_equal(b.pt[111], 0);
	assert_int_equal(b.pt[96], 1);
	assert_int_equal(b.pt[0], RELAY_BUNDLE_AMBIG);
	assert_int_equal(b.pt[8], RELAY_BUNDLE_NONE);
	assert_int_equal(b.nssrc, 3); /* 0x22222222 in both lines counts once */

	/* no group, a group of one: nothing to demux */
	load(&b, "v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n");
	assert_false(b.on);
	load(&b, "v=0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n"
		 "m=video 9 RTP/AVP 96\r\na=mid:v\r\n");
	assert_false(b.on);
	/* malformed a=ssrc values are skipped, not taken as 0 */
	load(&b, "v=0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a v\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n"
		 "a=ssrc:x cname:y\r\na=ssrc:99999999999 cname:y\r\na=ssrc-group:FID\r\n"
		 "a=ssrc-group:FID 12 z\r\na=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
		 "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:midx\r\n"
		 "m=video 9 RTP/AVP 96\r\na=mid:v\r\n");
	assert_true(b.on);
	assert_int_equal(b.nssrc, 1); /* the FID group's 12 before the bad token */
	assert_int_equal(b.mid_id, 0);
}

static void sdp_group_unknown_mid(void **state)
{
	struct relay_bundle b;
	struct sdp s;
	static const char t[] = "v=0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a zz\r\n"
				"m=audio 9 RTP/AVP 0\r\na=mid:a\r\nm=video 9 RTP/AVP 96\r\na=mid:v\r\n";

	(void)state;
	assert_int_equal(sdp_parse(&s, t, strlen(t), NULL, 0), 0);
	assert_int_equal(relay_bundle_from_sdp(&b, &s, 2), -EINVAL);
	assert_false(b.on);
	sdp_free(&s);
}

static void rtp_by_ssrc_mid_pt(void **state)
{
	struct relay_bundle b;
	uint8_t p[64];
	size_t n;

	(void)state;
	load(&b, offer);
	/* SSRCs of the SDP */
	n = rtp(p, 111, 0x11111111, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 0);
	n = rtp(p, 96, 0x22222222, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	n = rtp(p, 97, 0x33333333, false); /* RTX, from the FID group */
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	/* unknown SSRC, no MID: PT 0 is on both lines, never guessed */
	n = rtp(p, 0, 0x44444444, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), -ENOENT);
	/* unknown SSRC, PT 96 of video only: latched */
	n = rtp(p, 96, 0x55555555, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	assert_int_equal(b.latched, 1);
	n = rtp(p, 0, 0x55555555, false); /* now known: by SSRC whatever its PT */
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	/* MID "v" (one-byte form, RFC 8285 §4.2: id 4, length-1 = 0) on an
	 * unknown SSRC with the ambiguous PT: latched to video */
	n = rtp(p, 0, 0x66666666, true);
	memcpy(p + n, "\xbe\xde\x00\x01\x40v\x00\x00", 8);
	n += 8;
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	n = rtp(p, 0, 0x66666666, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	/* a MID moves an SSRC (RFC 8843 §9.2): 0x66666666 says "a" now,
	 * after a padding byte and another element (id 1, 2 bytes) */
	n = rtp(p, 0, 0x66666666, true);
	memcpy(p + n, "\xbe\xde\x00\x02\x00\x11xy\x40" "a\x00\x00", 12);
	n += 12;
	assert_int_equal(relay_bundle_demux(&b, p, n), 0);
	/* a MID no m= line has: dropped, not guessed from the SSRC */
	n = rtp(p, 111, 0x11111111, true);
	memcpy(p + n, "\xbe\xde\x00\x01\x40q\x00\x00", 8);
	n += 8;
	assert_int_equal(relay_bundle_demux(&b, p, n), -ENOENT);
	/* two-byte form (RFC 8285 §4.3): id 4, length 1 */
	n = rtp(p, 0, 0x77777777, true);
	memcpy(p + n, "\x10\x00\x00\x01\x04\x01v\x00", 8);
	n += 8;
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
}

static void rtp_malformed(void **state)
{
	struct relay_bundle b;
	uint8_t p[64];
	char mid[RELAY_BUNDLE_MID_MAX];
	size_t n;

	(void)state;
	load(&b, offer);
	n = rtp(p, 111, 0x11111111, false);
	assert_int_equal(relay_bundle_demux(&b, p, 11), -EINVAL); /* short of a header */
	assert_int_equal(relay_bundle_demux(&b, p, 0), -EINVAL);
	p[0] = 0x40; /* version 1 */
	assert_int_equal(relay_bundle_rtp_mid(p, n, 4, mid, sizeof(mid)), -EINVAL);
	/* CSRC count past the packet */
	n = rtp(p, 111, 0x11111111, false);
	p[0] = 0x8f;
	assert_int_equal(relay_bundle_demux(&b, p, n), -EINVAL);
	/* X set, no room for the extension header */
	n = rtp(p, 111, 0x11111111, true);
	assert_int_equal(relay_bundle_demux(&b, p, n + 2), -EINVAL);
	/* extension length (3 words) past the packet */
	memcpy(p + n, "\xbe\xde\x00\x03\x40v\x00\x00", 8);
	assert_int_equal(relay_bundle_demux(&b, p, n + 8), -EINVAL);
	/* an element whose length runs past the block: id 4, 16 bytes in 4 */
	memcpy(p + n, "\xbe\xde\x00\x01\x4fv\x00\x00", 8);
	assert_int_equal(relay_bundle_demux(&b, p, n + 8), -EINVAL);
	/* two-byte form: the length byte itself past the block */
	memcpy(p + n, "\x10\x00\x00\x01\x00\x00\x00\x04", 8);
	assert_int_equal(relay_bundle_rtp_mid(p, n + 8, 4, mid, sizeof(mid)), -EINVAL);
	/* a MID longer than the caller's buffer */
	memcpy(p + n, "\xbe\xde\x00\x02\x43vvvv\x00\x00\x00", 12);
	assert_int_equal(relay_bundle_rtp_mid(p, n + 12, 4, mid, 3), -ENOSPC);
	assert_int_equal(relay_bundle_rtp_mid(p, n + 12, 4, mid, sizeof(mid)), 4);
	assert_string_equal(mid, "vvvv");
	/* id 15 stops the block (RFC 8285 §4.2), an unknown profile is none */
	memcpy(p + n, "\xbe\xde\x00\x01\xf0\x40v\x00", 8);
	assert_int_equal(relay_bundle_rtp_mid(p, n + 8, 4, mid, sizeof(mid)), 0);
	memcpy(p + n, "\x12\x34\x00\x01\x40v\x00\x00", 8);
	assert_int_equal(relay_bundle_rtp_mid(p, n + 8, 4, mid, sizeof(mid)), 0);
	/* not RTP or RTCP at all (a DTLS first byte) */
	p[0] = 22;
	assert_int_equal(relay_bundle_demux(&b, p, 20), -EINVAL);
}

/* RTCP header, RFC 3550 §6.4: V=2, count, PT, length in words minus one */
static size_t rtcp_hdr(uint8_t *p, unsigned count, unsigned pt, unsigned words, uint32_t ssrc)
{
	memset(p, 0, 4u * (words + 1));
	p[0] = (uint8_t)(0x80 | count);
	p[1] = (uint8_t)pt;
	p[3] = (uint8_t)words;
	p[4] = (uint8_t)(ssrc >> 24);
	p[5] = (uint8_t)(ssrc >> 16);
	p[6] = (uint8_t)(ssrc >> 8);
	p[7] = (uint8_t)ssrc;
	return 4u * (words + 1);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void rtcp_by_sender_and_report(void **state)
{
	struct relay_bundle b;
	uint8_t p[256], q[64];
	size_t n;

	(void)state;
	load(&b, offer);
	/* SR of video's SSRC (6 words: header, sender info) + SDES */
	n = rtcp_hdr(p, 0, 200, 6, 0x22222222);
	n += rtcp_hdr(p + n, 1, 202, 2, 0x22222222);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	/* RR from an SSRC of no stream (a browser's 1) reporting on what the
	 * relay sent toward it for audio (noted from the other direction) */
	n = rtp(q, 0, 0xaaaa0001, false);
	relay_bundle_note(&b, q, n, 0);
	n = rtcp_hdr(p, 1, 201, 7, 1);
	put32(p + 8, 0xaaaa0001);
	assert_int_equal(relay_bundle_demux(&b, p, n), 0);
	/* PSFB (PLI) about a video SSRC the relay sends */
	n = rtp(q, 96, 0xbbbb0001, false);
	relay_bundle_note(&b, q, n, 1);
	n = rtcp_hdr(p, 1, 206, 2, 1);
	put32(p + 8, 0xbbbb0001);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	/* sender known wins over a report block of another stream */
	n = rtcp_hdr(p, 1, 201, 7, 0x11111111);
	put32(p + 8, 0xbbbb0001);
	assert_int_equal(relay_bundle_demux(&b, p, n), 0);
	/* a compound whose senders are of two streams: no guess */
	n = rtcp_hdr(p, 0, 201, 1, 0x11111111);
	n += rtcp_hdr(p + n, 0, 201, 1, 0x22222222);
	assert_int_equal(relay_bundle_demux(&b, p, n), -ENOENT);
	/* nothing known */
	n = rtcp_hdr(p, 0, 201, 1, 0x99999999);
	assert_int_equal(relay_bundle_demux(&b, p, n), -ENOENT);
}

static void rtcp_malformed(void **state)
{
	struct relay_bundle b;
	uint8_t p[256];
	size_t n;

	(void)state;
	load(&b, offer);
	/* length field past the datagram */
	n = rtcp_hdr(p, 0, 201, 1, 0x11111111);
	p[3] = 9;
	assert_int_equal(relay_bundle_demux(&b, p, n), -EINVAL);
	/* report count 2 in room for one block */
	n = rtcp_hdr(p, 2, 201, 7, 0x11111111);
	assert_int_equal(relay_bundle_demux(&b, p, n), -EINVAL);
	/* a second packet of version 0 after a good one */
	n = rtcp_hdr(p, 0, 201, 1, 0x11111111);
	memset(p + n, 0, 8);
	assert_int_equal(relay_bundle_demux(&b, p, n + 8), -EINVAL);
	/* a trailing stub of 3 bytes */
	n = rtcp_hdr(p, 0, 201, 1, 0x11111111);
	p[n] = 0x80;
	p[n + 1] = 201;
	assert_int_equal(relay_bundle_demux(&b, p, n + 3), -EINVAL);
}

/* A full table keeps what the SDP said and gives up the oldest latched. */
/*
 * The MID the relay adds toward a bundling leg (RFC 8285 §4.2 one-byte
 * form): a block of its own for a packet without one, an element appended
 * to a one-byte block, the payload and RTP padding moved intact; a packet
 * that has the id, a two-byte block, a mid or id the form cannot carry, no
 * room or a malformed header is left alone (0) or refused (-EINVAL).
 */
static void add_mid(void **state)
{
	struct relay_bundle b;
	uint8_t p[96], q[96];
	char mid[RELAY_BUNDLE_MID_MAX];
	size_t n;

	(void)state;
	load(&b, offer);
	/* no extension, one CSRC, a 5-byte payload: + 4 header + 4 element */
	n = rtp(p, 96, 0x66666666, false);
	p[0] |= 1;
	memcpy(p + n, "\xc5\xc5\xc5\xc5payld", 9);
	n += 9;
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "v", q, sizeof(q)), (int)n + 8);
	assert_int_equal(q[0], 0x91); /* X set, CC 1 kept */
	assert_memory_equal(q + 12, "\xc5\xc5\xc5\xc5", 4);
	assert_memory_equal(q + 16, "\xbe\xde\x00\x01\x40v\x00\x00", 8);
	assert_memory_equal(q + 24, "payld", 5);
	assert_int_equal(relay_bundle_rtp_mid(q, n + 8, 4, mid, sizeof(mid)), 1);
	assert_string_equal(mid, "v");
	assert_int_equal(relay_bundle_demux(&b, q, n + 8), 1); /* and the relay's own demux agrees */
	/* in place, a 4-byte mid: 1 + 4 bytes is two words */
	n = rtp(p, 0, 0x12345678, false);
	memcpy(p + n, "AB", 2);
	assert_int_equal(relay_bundle_add_mid(p, n + 2, 4, "abcd", p, sizeof(p)), (int)n + 2 + 12);
	assert_memory_equal(p + 12, "\xbe\xde\x00\x02\x43" "abcd\x00\x00\x00", 12);
	assert_memory_equal(p + 24, "AB", 2);
	/* a one-byte block of another element (id 2, 3 bytes): appended after it;
	 * RTP padding (P, 2 bytes) stays last */
	n = rtp(p, 96, 0x66666666, true);
	p[0] |= 0x20;
	memcpy(p + n, "\xbe\xde\x00\x01\x22xyz" "PAY\x00\x02", 13);
	n += 13;
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "v", q, sizeof(q)), (int)n + 4);
	assert_memory_equal(q + 12, "\xbe\xde\x00\x02\x22xyz\x40v\x00\x00" "PAY\x00\x02", 17);
	assert_int_equal(relay_bundle_rtp_mid(q, n + 4, 4, mid, sizeof(mid)), 1);
	/* left alone: the sender's own MID, a two-byte block, id 15 or 0, a mid of
	 * 17 bytes or none, RTCP, no room */
	n = rtp(p, 96, 0x66666666, true);
	memcpy(p + n, "\xbe\xde\x00\x01\x40v\x00\x00", 8);
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "a", q, sizeof(q)), 0);
	memcpy(p + n, "\x10\x00\x00\x01\x02\x01x\x00", 8);
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "v", q, sizeof(q)), 0);
	memcpy(p + n, "\xbe\xde\x00\x01\x20x\xf0\x00", 8); /* id 15 stops the block */
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "v", q, sizeof(q)), 0);
	/* ... also after a byte of id 0 (a padding byte whatever its length
	 * nibble, as the demux reads it; the fuzzer found this one) */
	memcpy(p + n, "\xbe\xde\x00\x01\x03\x00\xfd\x00", 8);
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "v", q, sizeof(q)), 0);
	n = rtp(p, 96, 0x66666666, false);
	assert_int_equal(relay_bundle_add_mid(p, n, 15, "v", q, sizeof(q)), 0);
	assert_int_equal(relay_bundle_add_mid(p, n, 0, "v", q, sizeof(q)), 0);
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "0123456789abcdefg", q, sizeof(q)), 0);
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "", q, sizeof(q)), 0);
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "v", q, n + 7), 0);
	assert_int_equal(relay_bundle_add_mid(p, n, 4, "v", q, n + 8), (int)n + 8);
	rtcp_hdr(p, 0, 200, 6, 0x66666666);
	assert_int_equal(relay_bundle_add_mid(p, 28, 4, "v", q, sizeof(q)), 0);
	/* malformed: an extension length past the packet, CSRCs past it */
	n = rtp(p, 96, 0x66666666, true);
	memcpy(p + n, "\xbe\xde\x00\x05\x22xyz", 8);
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "v", q, sizeof(q)), -EINVAL);
	n = rtp(p, 96, 0x66666666, false);
	p[0] |= 0x0f;
	assert_int_equal(relay_bundle_add_mid(p, n + 8, 4, "v", q, sizeof(q)), -EINVAL);
}

static void table_bounded(void **state)
{
	struct relay_bundle b;
	uint8_t p[16];
	size_t n;

	(void)state;
	load(&b, offer);
	for (uint32_t i = 0; i < 3 * RELAY_BUNDLE_SSRCS; i++) {
		n = rtp(p, 96, 0x01000000 + i, false);
		assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	}
	assert_int_equal(b.nssrc, RELAY_BUNDLE_SSRCS);
	n = rtp(p, 0, 0x11111111, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 0);
	n = rtp(p, 0, 0x33333333, false);
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	n = rtp(p, 0, 0x01000000 + 3 * RELAY_BUNDLE_SSRCS - 1, false); /* the newest */
	assert_int_equal(relay_bundle_demux(&b, p, n), 1);
	n = rtp(p, 0, 0x01000000, false); /* the oldest: gone */
	assert_int_equal(relay_bundle_demux(&b, p, n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sdp_table),
		cmocka_unit_test(sdp_group_unknown_mid),
		cmocka_unit_test(rtp_by_ssrc_mid_pt),
		cmocka_unit_test(rtp_malformed),
		cmocka_unit_test(rtcp_by_sender_and_report),
		cmocka_unit_test(rtcp_malformed),
		cmocka_unit_test(table_bounded),
		cmocka_unit_test(add_mid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
