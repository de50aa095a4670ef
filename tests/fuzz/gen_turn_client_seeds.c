// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the seed corpus of fuzz_turn_client into the directory given:
 *   cc -Iinclude tests/fuzz/gen_turn_client_seeds.c build/lib/libicepath.a -lcrypto -lz \
 *      -o /tmp/gen && /tmp/gen tests/fuzz/corpus/turn_client
 * Records with flag 1 get the live transaction id and a fresh signature
 * from the harness, so the tid and integrity written here are placeholders.
 */
#include <stdio.h>
#include <string.h>

#include "icepath/channel_data.h"
#include "icepath/stun.h"

static uint8_t rec[8192];
static size_t rec_len;

static void add(uint8_t flags, const uint8_t *b, int n)
{
	if (n < 0)
		return;
	rec[rec_len++] = flags;
	rec[rec_len++] = (uint8_t)(n >> 8);
	rec[rec_len++] = (uint8_t)n;
	memcpy(rec + rec_len, b, (size_t)n);
	rec_len += (size_t)n;
}

static void save(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(rec, 1, rec_len, f) != rec_len)
		perror(path);
	if (f)
		fclose(f);
}

/* An Allocate 401/438 with realm "realm" and nonce, PASSWORD-ALGORITHMS
 * when nalgs; the tid is a placeholder (flag 1). */
static void add_challenge(int code, const char *nonce, const uint16_t *algs, size_t nalgs)
{
	static const uint8_t tid[12];
	struct stun_builder b;
	uint8_t buf[512];

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_build_error(&b, code, stun_error_reason(code));
	stun_build_string(&b, STUN_ATTR_REALM, "realm");
	stun_build_string(&b, STUN_ATTR_NONCE, nonce);
	if (nalgs)
		stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, nalgs);
	add(1, buf, stun_build_finish(&b));
}

/* The Allocate success (signature re-made by the harness). */
static void add_allocated(const struct netaddr *relayed, const struct netaddr *mapped)
{
	static const uint8_t tid[12], key[16];
	struct stun_builder b;
	uint8_t buf[512];

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, relayed);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_integrity(&b, key, sizeof(key));
	add(1, buf, stun_build_finish(&b));
}

int main(int argc, char **argv)
{
	struct stun_builder b;
	struct netaddr relayed, mapped, peer;
	uint8_t buf[1024], tid[12] = {0}, key[32] = {0};
	static const uint8_t rtp[] = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4};
	static const uint16_t algs[] = {STUN_PASSWORD_ALG_MD5, STUN_PASSWORD_ALG_SHA256};

	if (argc < 2)
		return 2;
	netaddr_from_str(&relayed, "198.51.100.2", 50000);
	netaddr_from_str(&mapped, "203.0.113.10", 5000);
	netaddr_from_str(&peer, "203.0.113.20", 6000);

	add_challenge(401, "nonce1", NULL, 0);
	add_allocated(&relayed, &mapped);
	save(argv[1], "allocate");

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_CHANNEL_BIND, STUN_CLASS_SUCCESS, tid);
	stun_build_integrity(&b, key, 16);
	add(1, buf, stun_build_finish(&b));
	add(0, buf, channel_data_build(buf, sizeof(buf), 0x4000, rtp, sizeof(rtp), true));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
	stun_build_attr(&b, STUN_ATTR_DATA, rtp, sizeof(rtp));
	add(0x10, buf, stun_build_finish(&b));
	save(argv[1], "allocate-channel-data");

	rec_len = 0;
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_build_error(&b, 438, "Stale Nonce");
	stun_build_string(&b, STUN_ATTR_REALM, "realm");
	stun_build_string(&b, STUN_ATTR_NONCE, "nonce2");
	add(1, buf, stun_build_finish(&b));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_REFRESH, STUN_CLASS_SUCCESS, tid);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 0);
	stun_build_integrity(&b, key, 16);
	add(0xf1, buf, stun_build_finish(&b));
	save(argv[1], "stale-and-refresh");

	/* RFC 8489 §9.2.5: a 401 offering PASSWORD-ALGORITHMS (MD5 first, so
	 * the harness's MD5-keyed signature still verifies), a 438 repeating
	 * it, then the success. */
	rec_len = 0;
	add_challenge(401, "obMatJos2AAABnonce1", algs, 2);
	add_challenge(438, "obMatJos2AAABnonce2", algs, 2);
	add_allocated(&relayed, &mapped);
	save(argv[1], "password-algorithms");
	return 0;
}
