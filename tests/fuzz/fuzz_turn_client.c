// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for turn_client_recv(): a client that has sent an
 * Allocate (and asks for a permission and a channel) is fed a sequence of
 * server datagrams. Records: [flags][len hi][len lo][len bytes]. Flag bit 0:
 * give the datagram the transaction id of the client's latest request and
 * re-sign MESSAGE-INTEGRITY with the long-term key for realm "realm", so
 * mutated responses reach the success paths (relayed address, lifetimes,
 * permissions, channels) and from there ChannelData and Data indications.
 * The high nibble advances the clock (ticks: refreshes, retransmissions).
 */
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/stun.h"
#include "icepath/turn_client.h"
#include "fuzz_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng;

static void rnd(void *buf, size_t len, void *ctx)
{
	uint8_t *p = buf;

	while (len--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(rng >> 56);
	}
}

static void drain(struct turn_client *tc, uint8_t tid[STUN_TID_LEN])
{
	struct ice_transmit tx;
	struct turn_event ev;

	while (turn_client_poll_transmit(tc, &tx)) {
		if (tx.head_len < STUN_HEADER_LEN || tx.head_len > sizeof(tx.head))
			__builtin_trap();
		memcpy(tid, tx.head + 8, STUN_TID_LEN);
	}
	while (turn_client_poll_event(tc, &ev))
		;
}

static void resign(uint8_t *buf, size_t len, const uint8_t *key, size_t key_len)
{
	struct stun_msg m;
	unsigned int hlen = 0;
	size_t off, keep;

	if (stun_parse(&m, buf, len) < 0 || m.integrity < 0)
		return;
	off = m.attrs[m.integrity].offset;
	keep = (size_t)buf[2] << 8 | buf[3];
	buf[2] = (uint8_t)((off - STUN_HEADER_LEN + STUN_HMAC_SHA1_LEN) >> 8);
	buf[3] = (uint8_t)(off - STUN_HEADER_LEN + STUN_HMAC_SHA1_LEN);
	HMAC(EVP_sha1(), key, (int)key_len, buf, off - STUN_ATTR_HEADER_LEN, buf + off, &hlen);
	buf[2] = (uint8_t)(keep >> 8);
	buf[3] = (uint8_t)keep;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turn_client_config cfg = {.username = "user", .password = "pass", .random = rnd};
	struct netaddr peer;
	struct turn_client *tc;
	uint8_t key[STUN_MAX_KEY_LEN], tid[STUN_TID_LEN] = {0}, buf[2048];
	int key_len = stun_key_long_term(STUN_PASSWORD_ALG_MD5, "user", "realm", "pass", key);
	uint64_t now = 0;

	rng = 1;
	netaddr_from_str(&cfg.server, "198.51.100.2", 3478);
	netaddr_from_str(&cfg.base, "203.0.113.10", 5000);
	netaddr_from_str(&peer, "203.0.113.20", 6000);
	if (key_len < 0 || turn_client_new(&tc, &cfg))
		return 0;
	turn_client_allocate(tc, now);
	turn_client_permit(tc, &peer, now);
	turn_client_bind_channel(tc, &peer, now);
	drain(tc, tid);
	uint8_t flags;
	size_t len;

	while (fuzz_next_record(&data, &size, &flags, buf, sizeof(buf), &len)) {
		struct turn_recv r;
		struct ice_transmit tx;
		uint8_t *exact;
		int v;

		if ((flags & 1) && len >= STUN_HEADER_LEN) {
			memcpy(buf + 8, tid, STUN_TID_LEN);
			resign(buf, len, key, (size_t)key_len);
		}
		/* An exact-size heap copy, so ASan sees any read past the datagram. */
		exact = malloc(len ? len : 1);
		if (!exact)
			break;
		memcpy(exact, buf, len);
		v = turn_client_recv(tc, now, exact, len, &r);
		if (v == TURN_RECV_DATA && (r.data < exact || r.data + r.len > exact + len))
			__builtin_trap();
		free(exact);
		drain(tc, tid);
		if (turn_client_wrap(tc, &peer, buf, len < 64 ? len : 64, flags & 2, &tx) == 0 &&
		    ice_transmit_len(&tx) > 64 + 200)
			__builtin_trap();
		now += (uint64_t)(flags >> 4) * 60000;
		turn_client_tick(tc, now);
		drain(tc, tid);
	}
	turn_client_release(tc, now);
	drain(tc, tid);
	turn_client_free(tc);
	return 0;
}
