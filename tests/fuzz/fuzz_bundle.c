// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the BUNDLE demux (relay_bundle.c): the first byte
 * picks what the rest is. Even: an RTP/RTCP packet demuxed against a
 * browser's table (every answer is a member stream, -EINVAL or -ENOENT; a
 * MID read is NUL-terminated and as long as said; the MID added toward the
 * leg, relay_bundle_add_mid(), gives a packet whose MID reads back, with the
 * same SSRC, or leaves it alone). Odd: an SDP whose table is read, then the
 * same bytes demuxed against it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/relay_bundle.h"
#include "icepath/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
			    "a=group:BUNDLE a v\r\n"
			    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:a\r\n"
			    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			    "a=ssrc:286331153 cname:x\r\n"
			    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 0\r\na=mid:v\r\n"
			    "a=ssrc-group:FID 572662306 858993459\r\n";

static void check(struct relay_bundle *b, const uint8_t *p, size_t n)
{
	char mid[RELAY_BUNDLE_MID_MAX];
	int k = relay_bundle_demux(b, p, n), m;

	if (k >= 0 && (k >= RELAY_BUNDLE_STREAMS || !b->member[k]))
		abort();
	if (k < 0 && k != -EINVAL && k != -ENOENT)
		abort();
	if (b->nssrc > RELAY_BUNDLE_SSRCS)
		abort();
	m = relay_bundle_rtp_mid(p, n, b->mid_id ? b->mid_id : 4, mid, sizeof(mid));
	if (m >= (int)sizeof(mid) || (m > 0 && mid[m] != '\0'))
		abort();
	relay_bundle_note(b, p, n, (unsigned)(n % RELAY_BUNDLE_STREAMS));
	/* out exactly as big as the result may be: ASan sees any overrun */
	{
		static const char *const mids[] = {"a", "v", "0123456789abcdef"};
		const char *want = mids[n % 3];
		size_t cap = n + 4 + 20;
		uint8_t *out = malloc(cap);
		int a;

		if (!out)
			return;
		a = relay_bundle_add_mid(p, n, 4, want, out, cap);
		if (a < 0 && a != -EINVAL)
			abort();
		if (a > 0) {
			if ((size_t)a <= n || (size_t)a > cap ||
			    relay_bundle_rtp_mid(out, (size_t)a, 4, mid, sizeof(mid)) !=
				    (int)strlen(want) ||
			    strcmp(mid, want) || memcmp(out + 8, p + 8, 4))
				abort();
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_bundle base;
	static int ready;
	struct relay_bundle b;
	struct sdp s;

	if (!ready) {
		if (sdp_parse(&s, offer, sizeof(offer) - 1, NULL, 0) ||
		    relay_bundle_from_sdp(&base, &s, 2) || !base.on)
			abort();
		sdp_free(&s);
		ready = 1;
	}
	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		b = base;
		check(&b, data + 1, size - 1);
		return 0;
	}
	if (sdp_parse(&s, (const char *)data + 1, size - 1, NULL, 0))
		return 0;
	if (relay_bundle_from_sdp(&b, &s, RELAY_BUNDLE_STREAMS) == 0 && b.on) {
		if (b.tagged >= RELAY_BUNDLE_STREAMS || !b.member[b.tagged])
			abort();
		check(&b, data + 1, size - 1);
	}
	sdp_free(&s);
	return 0;
}
