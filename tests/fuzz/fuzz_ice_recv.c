// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for ice_agent_recv(): a started agent (fixed PRNG seed,
 * so its ufrag/pwd are known: see FUZZ_LUFRAG below) with remote
 * credentials, a remote candidate, a STUN server and a TURN server, fed a
 * sequence of datagrams. Input records: [source selector][len hi][len lo]
 * [len bytes]...; the selector picks the peer, an unknown address, the TURN
 * server or the STUN server, and whether MESSAGE-INTEGRITY and FINGERPRINT
 * are re-signed with the right key first, so the authenticated paths (checks,
 * nomination, role conflicts, responses) are reached by mutation. Between
 * records the clock moves and the agent ticks; every output is drained.
 */
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "icepath/ice.h"
#include "icepath/stun.h"
#include "fuzz_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEED   0x5eedull
#define FUZZ_RUFRAG "fuzzUFRG"
#define FUZZ_RPWD   "fuzzpasswordfuzzpassword"

static struct netaddr addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	netaddr_from_str(&a, ip, port);
	return a;
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Re-sign MESSAGE-INTEGRITY (RFC 8489 §14.5) and FINGERPRINT (§14.7) in a
 * copy, so mutated messages still authenticate. */
static void resign(uint8_t *buf, size_t len, const char *pwd)
{
	struct stun_msg m;
	unsigned int hlen = 0;

	if (stun_parse(&m, buf, len) < 0)
		return;
	if (m.integrity >= 0) {
		size_t off = m.attrs[m.integrity].offset; /* value start */
		size_t keep = (size_t)buf[2] << 8 | buf[3];

		put16(buf + 2, off - STUN_HEADER_LEN + STUN_HMAC_SHA1_LEN);
		HMAC(EVP_sha1(), pwd, (int)strlen(pwd), buf, off - STUN_ATTR_HEADER_LEN, buf + off,
		     &hlen);
		put16(buf + 2, keep);
	}
	if (m.fingerprint >= 0) {
		size_t off = m.attrs[m.fingerprint].offset;
		uint32_t crc = (uint32_t)crc32(0, buf, (uInt)(off - STUN_ATTR_HEADER_LEN)) ^
			       STUN_FINGERPRINT_XOR;

		buf[off] = (uint8_t)(crc >> 24);
		buf[off + 1] = (uint8_t)(crc >> 16);
		buf[off + 2] = (uint8_t)(crc >> 8);
		buf[off + 3] = (uint8_t)crc;
	}
}

static void drain(struct ice_agent *a)
{
	struct ice_transmit tx;
	struct ice_event ev;
	uint8_t out[4096];

	while (ice_agent_poll_transmit(a, &tx))
		if (ice_transmit_flatten(&tx, out, sizeof(out)) < 0)
			__builtin_trap();
	while (ice_agent_poll_event(a, &ev))
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ice_config cfg = {.seed = FUZZ_SEED, .controlling = false};
	struct netaddr base = addr("203.0.113.10", 5000), peer = addr("203.0.113.20", 6000);
	struct netaddr other = addr("192.0.2.66", 4444), turn = addr("198.51.100.2", 3478);
	struct netaddr stun = addr("198.51.100.1", 3478);
	struct ice_candidate c = {.component = 1,
				  .type = ICE_CAND_TYPE_HOST,
				  .priority = 2130706431u,
				  .foundation = "1",
				  .generation = -1};
	struct ice_agent *a;
	const char *lpwd;
	uint64_t now = 1000;
	uint8_t buf[2048];

	if (data && size && (data[0] & 0x80))
		cfg.controlling = true;
	if (ice_agent_new(&a, &cfg))
		return 0;
	ice_agent_add_stream(a, 1);
	ice_agent_add_host(a, 0, 1, &base, 65535);
	ice_agent_add_stun_server(a, &stun);
	ice_agent_add_turn_server(a, &turn, "user", "pass");
	ice_agent_gather(a, now);
	ice_agent_set_remote_credentials(a, 0, FUZZ_RUFRAG, FUZZ_RPWD);
	c.addr = peer;
	ice_agent_add_remote_candidate(a, 0, &c);
	ice_agent_local_credentials(a, 0, NULL, &lpwd);
	ice_agent_start(a, now);
	drain(a);

	uint8_t sel;
	size_t len;

	while (fuzz_next_record(&data, &size, &sel, buf, sizeof(buf), &len)) {
		const struct netaddr *from;
		struct ice_recv_result res;
		uint8_t *exact;
		int v;

		switch (sel & 3) {
		case 0:
			from = &peer;
			break;
		case 1:
			from = &other;
			break;
		case 2:
			from = &turn;
			break;
		default:
			from = &stun;
			break;
		}
		/* bit 2: sign as the peer would sign a request (our pwd);
		 * bit 3: sign as a response to us (the remote pwd). */
		if (sel & 4)
			resign(buf, len, lpwd);
		else if (sel & 8)
			resign(buf, len, FUZZ_RPWD);
		/* An exact-size heap copy, so ASan sees any read past the datagram. */
		exact = malloc(len ? len : 1);
		if (!exact)
			break;
		memcpy(exact, buf, len);
		v = ice_agent_recv(a, now, &base, from, exact, len, &res);
		if (v == ICE_RECV_DATA && (res.data < exact || res.data + res.len > exact + len))
			__builtin_trap(); /* data must point into what we gave */
		free(exact);
		drain(a);
		now += (sel >> 4) * 100u;
		if (ice_agent_next_deadline(a) <= now)
			ice_agent_tick(a, now);
		drain(a);
	}
	ice_agent_release(a, now);
	drain(a);
	ice_agent_free(a);
	return 0;
}
