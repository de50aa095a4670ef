// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the seed corpus of fuzz_ice_recv into the directory given:
 *   cc -Iinclude tests/fuzz/gen_ice_recv_seeds.c build/lib/libicepath.a -lcrypto -lz \
 *      -o /tmp/gen && /tmp/gen tests/fuzz/corpus/ice_recv
 * The agent's credentials come from its seeded PRNG, so the seeds carry the
 * right USERNAME; fuzz_ice_recv re-signs integrity itself.
 */
#include <stdio.h>
#include <string.h>

#include "icepath/channel_data.h"
#include "icepath/ice.h"
#include "icepath/stun.h"

static uint8_t rec[8192];
static size_t rec_len;

static void add(uint8_t sel, const uint8_t *b, size_t n)
{
	rec[rec_len++] = sel;
	rec[rec_len++] = (uint8_t)(n >> 8);
	rec[rec_len++] = (uint8_t)n;
	memcpy(rec + rec_len, b, n);
	rec_len += n;
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
	rec_len = 0;
}

static size_t request(uint8_t *buf, const char *user, const char *pwd, bool controlling,
		      bool use_cand, int tidb)
{
	struct stun_builder b;
	uint8_t tid[12];

	memset(tid, tidb, sizeof(tid));
	stun_build_init(&b, buf, 1024, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	stun_build_u32(&b, STUN_ATTR_PRIORITY, 1862270975u);
	stun_build_u64(&b, controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
		       0x1234567890abcdefull);
	if (use_cand)
		stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	return (size_t)stun_build_finish(&b);
}

int main(int argc, char **argv)
{
	struct ice_config cfg = {.seed = 0x5eedull};
	struct ice_agent *a;
	struct netaddr peer;
	const char *lu, *lp;
	char user[64];
	uint8_t buf[1024], tid[12] = {9};
	struct stun_builder b;
	size_t n;
	static const uint8_t rtp[] = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4};

	if (argc < 2)
		return 2;
	ice_agent_new(&a, &cfg);
	ice_agent_add_stream(a, 1);
	ice_agent_local_credentials(a, 0, &lu, &lp);
	snprintf(user, sizeof(user), "%s:fuzzUFRG", lu);
	netaddr_from_str(&peer, "203.0.113.20", 6000);

	n = request(buf, user, lp, true, true, 1);
	add(0x04, buf, n);
	add(0x14, buf, n);
	save(argv[1], "check-use-candidate");

	n = request(buf, user, lp, false, false, 2);
	add(0x04, buf, n);
	save(argv[1], "check-role-conflict");

	n = request(buf, user, lp, true, false, 3);
	add(0x05, buf, n); /* from an unknown address: peer-reflexive */
	add(0x11, rtp, sizeof(rtp));
	add(0x00, rtp, sizeof(rtp));
	save(argv[1], "prflx-then-media");

	n = request(buf, user, "wrong-password", true, false, 4);
	add(0x00, buf, n);
	save(argv[1], "bad-integrity");

	/* A response as if to one of our checks (tid will not match, but the
	 * mutator gets the shape). */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &peer);
	stun_build_integrity(&b, (const uint8_t *)"fuzzpasswordfuzzpassword", 24);
	stun_build_fingerprint(&b);
	add(0x08, buf, (size_t)stun_build_finish(&b));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_ERROR, tid);
	stun_build_error(&b, 487, "Role Conflict");
	stun_build_integrity(&b, (const uint8_t *)"fuzzpasswordfuzzpassword", 24);
	add(0x08, buf, (size_t)stun_build_finish(&b));
	save(argv[1], "responses");

	/* TURN server traffic: 401 challenge, Data indication, ChannelData. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_build_error(&b, 401, "Unauthorized");
	stun_build_string(&b, STUN_ATTR_REALM, "example.org");
	stun_build_string(&b, STUN_ATTR_NONCE, "abcdef");
	add(0x02, buf, (size_t)stun_build_finish(&b));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
	n = request(buf + 200, user, lp, true, true, 5);
	stun_build_attr(&b, STUN_ATTR_DATA, buf + 200, n);
	add(0x02, buf, (size_t)stun_build_finish(&b));
	n = (size_t)channel_data_build(buf, sizeof(buf), 0x4000, rtp, sizeof(rtp), false);
	add(0x02, buf, n);
	save(argv[1], "turn-server");

	/* STUN server answer, and junk of every RFC 7983 class. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &peer);
	stun_build_fingerprint(&b);
	add(0x03, buf, (size_t)stun_build_finish(&b));
	add(0x00, (const uint8_t *)"\x16\xfe\xfd\x00\x00", 5);
	add(0x00, (const uint8_t *)"\x00\x01\x00", 3);
	add(0x00, (const uint8_t *)"\x40\x00\xff\xff", 4);
	save(argv[1], "mixed");
	ice_agent_free(a);
	return 0;
}
