// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the relay's SDP rewriting: any SDP that parses is
 * rewritten with relay addresses (IPv4 and IPv6 alternating), with or
 * without ICE, lite or not, sections skipped by the first input byte's
 * bits. The result must write and parse again, carry the relay's address on
 * every rewritten section, and keep no peer candidate there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdp.h"
#include "daemon/sdp_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_rewrite_media m[8];
	struct sdp_rewrite rw = { .media = m };
	struct ice_candidate c;
	struct sdp sdp, again;
	struct netaddr a;
	uint8_t bits = size ? data[0] : 0;
	char err[200], *out;
	size_t len;

	if (sdp_parse(&sdp, (const char *)data, size, err, sizeof(err)) < 0)
		return 0;
	memset(m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	c.component = 1;
	c.generation = -1;
	c.priority = ice_candidate_priority(ICE_TYPE_PREF_HOST, 65535, 1);
	memcpy(c.foundation, "1", 2);
	rw.n_media = sdp.n_media < 8 ? sdp.n_media : 8;
	rw.ice_lite = bits & 0x80;
	for (size_t i = 0; i < rw.n_media; i++) {
		netaddr_from_str(&m[i].addr, i % 2 ? "2001:db8::10" : "192.0.2.10",
				 (uint16_t)(30000 + 2 * i));
		m[i].rtcp_port = bits & 0x40 ? 0 : (uint16_t)(30001 + 2 * i);
		m[i].skip = bits & (1u << (i % 4));
		m[i].ice = bits & 0x20;
		m[i].ufrag = "fuzz";
		m[i].pwd = "fuzzfuzzfuzzfuzzfuzzfuzz";
		c.addr = m[i].addr;
		m[i].cands = &c;
		m[i].n_cands = 1;
		m[i].end_of_candidates = bits & 0x10;
	}
	if (sdp_rewrite_apply(&sdp, &rw, err, sizeof(err)) == 0) {
		out = sdp_write_alloc(&sdp, &len);
		if (!out)
			abort();
		/* stripping the peer's ICE may leave nothing of a description
		 * that had nothing else; anything left must read back */
		if (!len) {
			free(out);
			sdp_free(&sdp);
			return 0;
		}
		if (sdp_parse(&again, out, len, err, sizeof(err)) < 0)
			abort(); /* the relay must never emit SDP it cannot read */
		for (size_t i = 0; i < rw.n_media; i++) {
			if (m[i].skip)
				continue;
			if (sdp_media_default_addr(&again, i, &a) || !netaddr_equal(&a, &m[i].addr))
				abort(); /* a rewritten section points at the relay */
		}
		sdp_free(&again);
		free(out);
	}
	sdp_free(&sdp);
	return 0;
}
