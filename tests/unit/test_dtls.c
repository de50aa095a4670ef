// SPDX-License-Identifier: GPL-2.0-only
/*
 * DTLS-SRTP endpoints (dtls.h) handshaking with each other through an
 * in-memory network on a virtual clock: clean, lossy (seeded), with the
 * server's final flight lost, with a wrong or a late fingerprint, with no
 * common SRTP profile, and with a peer that never answers. Exported keys
 * must match crosswise, and work with srtpctx.
 *
 * OpenSSL 3.0 reads its DTLS timer from gettimeofday(); this program
 * defines gettimeofday() itself (the executable's definition wins over
 * libc's for libssl too), returning the virtual clock, so OpenSSL's timer
 * and the now_ms the test passes are the same clock. That is the one
 * global here, and the reason for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "icepath/dtls.h"
#include "icepath/srtpctx.h"

static uint64_t vnow_ms = 1700000000000ull;

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	tv->tv_sec = (time_t)(vnow_ms / 1000);
	tv->tv_usec = (suseconds_t)(vnow_ms % 1000 * 1000);
	return 0;
}

struct net {
	struct dtls_ctx *ca, *cb;
	struct dtls *a, *b; /* a active (client), b passive (server) */
	uint32_t rng;
	unsigned loss_pct;
	bool drop_b_final; /* lose b's datagrams once, right after b connected */
	bool b_mute;	   /* b never gets anything */
	unsigned delivered, dropped;
};

static bool net_lose(struct net *n)
{
	n->rng = n->rng * 1103515245u + 12345u;
	return (n->rng >> 16) % 100 < n->loss_pct;
}

/* Move what a and b queued; returns how many datagrams moved. */
static unsigned net_move(struct net *n)
{
	uint8_t buf[DTLS_DATAGRAM_MAX];
	unsigned moved = 0;
	ssize_t len;
	bool b_conn;

	while ((len = dtls_poll_transmit(n->a, buf, sizeof(buf))) > 0) {
		moved++;
		if (n->b_mute || net_lose(n)) {
			n->dropped++;
			continue;
		}
		n->delivered++;
		assert_int_equal(dtls_input(n->b, vnow_ms, buf, (size_t)len), 0);
	}
	b_conn = dtls_state(n->b) == DTLS_STATE_CONNECTED;
	while ((len = dtls_poll_transmit(n->b, buf, sizeof(buf))) > 0) {
		moved++;
		if (net_lose(n) || (n->drop_b_final && b_conn)) {
			n->dropped++;
			continue;
		}
		n->delivered++;
		dtls_input(n->a, vnow_ms, buf, (size_t)len);
	}
	if (n->drop_b_final && b_conn && moved)
		n->drop_b_final = false;
	return moved;
}

static bool settled(const struct dtls *d)
{
	enum dtls_state s = dtls_state(d);

	return s == DTLS_STATE_CONNECTED || s == DTLS_STATE_FAILED || s == DTLS_STATE_CLOSED;
}

/* Run until both are settled or limit_ms of virtual time passed. */
static void net_run(struct net *n, uint64_t limit_ms)
{
	uint64_t end = vnow_ms + limit_ms;

	while (vnow_ms < end) {
		while (net_move(n))
			;
		if (settled(n->a) && settled(n->b))
			return;
		uint64_t da = dtls_next_deadline(n->a), db = dtls_next_deadline(n->b);
		uint64_t next = da < db ? da : db;

		if (next == UINT64_MAX)
			return;
		if (next > vnow_ms)
			vnow_ms = next;
		dtls_tick(n->a, vnow_ms);
		dtls_tick(n->b, vnow_ms);
	}
}

static void net_new(struct net *n, const struct dtls_config *ca, const struct dtls_config *cb,
		    bool fingerprints)
{
	char err[256];
	struct dtls_config a = *ca, b = *cb;

	memset(n, 0, sizeof(*n));
	assert_int_equal(dtls_ctx_generate(&n->ca, err, sizeof(err)), 0);
	assert_int_equal(dtls_ctx_generate(&n->cb, err, sizeof(err)), 0);
	a.role = DTLS_ROLE_ACTIVE;
	a.name = "a";
	b.name = "b";
	assert_int_equal(dtls_new(&n->a, n->ca, &a), 0);
	assert_int_equal(dtls_new(&n->b, n->cb, &b), 0);
	if (fingerprints) {
		assert_int_equal(dtls_add_remote_fingerprint(n->a, dtls_ctx_fingerprint(n->cb)), 0);
		assert_int_equal(dtls_add_remote_fingerprint(n->b, dtls_ctx_fingerprint(n->ca)), 0);
	}
}

static void net_free(struct net *n)
{
	dtls_free(n->a);
	dtls_free(n->b);
	dtls_ctx_free(n->ca);
	dtls_ctx_free(n->cb);
}

static void assert_keys_crosswise(struct net *n, enum srtpctx_suite want)
{
	struct dtls_srtp_keys ka, kb;
	struct dtls_event ev;

	assert_int_equal(dtls_srtp_keys(n->a, &ka), 0);
	assert_int_equal(dtls_srtp_keys(n->b, &kb), 0);
	assert_int_equal(ka.suite, want);
	assert_int_equal(kb.suite, want);
	assert_int_equal(ka.key_len, srtpctx_suite_key_len(want));
	assert_int_equal(ka.salt_len, srtpctx_suite_salt_len(want));
	assert_memory_equal(ka.local_key, kb.remote_key, ka.key_len);
	assert_memory_equal(ka.remote_key, kb.local_key, ka.key_len);
	assert_memory_equal(ka.local_salt, kb.remote_salt, ka.salt_len);
	assert_memory_equal(ka.remote_salt, kb.local_salt, ka.salt_len);
	assert_memory_not_equal(ka.local_key, ka.remote_key, ka.key_len);
	assert_true(dtls_poll_event(n->a, &ev));
	assert_int_equal(ev.type, DTLS_EVENT_CONNECTED);
	assert_int_equal(ev.suite, want);
	assert_true(dtls_poll_event(n->b, &ev));
	assert_int_equal(ev.type, DTLS_EVENT_CONNECTED);
}

static void test_handshake_clean(void **state)
{
	struct dtls_config c = {0};
	struct dtls_srtp_keys ka, kb;
	struct srtpctx *tx, *rx;
	uint8_t pkt[64 + SRTPCTX_TRAILER_MAX] = {0x80, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44};
	size_t len = 64;
	struct net n;

	net_new(&n, &c, &c, true);
	assert_int_equal(dtls_start(n.a, vnow_ms), 0);
	assert_int_equal(dtls_state(n.a), DTLS_STATE_HANDSHAKING);
	net_run(&n, 1000);
	assert_int_equal(dtls_state(n.a), DTLS_STATE_CONNECTED);
	assert_int_equal(dtls_state(n.b), DTLS_STATE_CONNECTED);
	/* both accept every suite: our preference, RFC 7714's 256-bit AEAD */
	assert_keys_crosswise(&n, SRTPCTX_SUITE_AEAD_AES_256_GCM);
	assert_int_equal(dtls_stats(n.a)->timeouts + dtls_stats(n.b)->timeouts, 0);
	/* the keys protect on one side and unprotect on the other */
	assert_int_equal(dtls_srtp_keys(n.a, &ka), 0);
	assert_int_equal(dtls_srtp_keys(n.b, &kb), 0);
	assert_int_equal(srtpctx_new(&tx, ka.suite, SRTPCTX_OUTBOUND, ka.local_key, ka.key_len,
				     ka.local_salt, ka.salt_len, 0),
			 0);
	assert_int_equal(srtpctx_new(&rx, kb.suite, SRTPCTX_INBOUND, kb.remote_key, kb.key_len,
				     kb.remote_salt, kb.salt_len, 0),
			 0);
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(srtpctx_unprotect_rtp(rx, pkt, &len), 0);
	assert_int_equal(len, 64);
	srtpctx_free(tx);
	srtpctx_free(rx);
	/* close_notify reaches b */
	assert_int_equal(dtls_close(n.a), 0);
	net_move(&n);
	assert_int_equal(dtls_state(n.b), DTLS_STATE_CLOSED);
	assert_int_equal(dtls_srtp_keys(n.b, &kb), -ENOTCONN);
	net_free(&n);
}

static void test_handshake_lossy(void **state)
{
	/* 20% loss of every datagram, flights of up to 5: the RFC 6347
	 * back-off (1, 2, 4, 8... s) may need more than the default 30 s */
	struct dtls_config c = {.timeout_ms = 120000};
	uint64_t timeouts = 0;

	for (uint32_t seed = 1; seed <= 8; seed++) {
		struct net n;
		uint64_t t0 = vnow_ms;

		net_new(&n, &c, &c, true);
		n.rng = seed;
		n.loss_pct = 20;
		assert_int_equal(dtls_start(n.a, vnow_ms), 0);
		net_run(&n, 120000);
		if (dtls_state(n.a) != DTLS_STATE_CONNECTED || dtls_state(n.b) != DTLS_STATE_CONNECTED)
			fail_msg("seed %u: a %s (%s), b %s (%s), %u dropped", seed,
				 dtls_state_str(dtls_state(n.a)), dtls_reason(n.a),
				 dtls_state_str(dtls_state(n.b)), dtls_reason(n.b), n.dropped);
		assert_int_equal(dtls_state(n.a), DTLS_STATE_CONNECTED);
		assert_int_equal(dtls_state(n.b), DTLS_STATE_CONNECTED);
		assert_keys_crosswise(&n, SRTPCTX_SUITE_AEAD_AES_256_GCM);
		timeouts += dtls_stats(n.a)->timeouts + dtls_stats(n.b)->timeouts;
		if (n.dropped)
			assert_true(vnow_ms > t0); /* recovered by a timer, not luck */
		net_free(&n);
	}
	assert_true(timeouts > 0);
}

/* The server's last flight (CCS, Finished) is lost: the client's timer
 * resends its flight, the connected server answers it from SSL_read with
 * its own again (RFC 6347 §4.2.4). */
static void test_final_flight_lost(void **state)
{
	struct dtls_config c = {0};
	struct net n;

	net_new(&n, &c, &c, true);
	n.drop_b_final = true;
	assert_int_equal(dtls_start(n.a, vnow_ms), 0);
	net_run(&n, 10000);
	assert_false(n.drop_b_final);
	assert_int_equal(dtls_state(n.a), DTLS_STATE_CONNECTED);
	assert_true(dtls_stats(n.a)->timeouts >= 1);
	assert_keys_crosswise(&n, SRTPCTX_SUITE_AEAD_AES_256_GCM);
	net_free(&n);
}

static void test_fingerprint_mismatch(void **state)
{
	struct dtls_config c = {0};
	char err[256];

	for (int side = 0; side < 2; side++) {
		struct dtls_ctx *other;
		struct dtls_srtp_keys k;
		struct net n;

		net_new(&n, &c, &c, false);
		assert_int_equal(dtls_ctx_generate(&other, err, sizeof(err)), 0);
		/* one side pins a certificate the peer does not have */
		assert_int_equal(dtls_add_remote_fingerprint(side ? n.a : n.b,
							     dtls_ctx_fingerprint(other)),
				 0);
		assert_int_equal(dtls_add_remote_fingerprint(side ? n.b : n.a,
							     dtls_ctx_fingerprint(side ? n.ca : n.cb)),
				 0);
		assert_int_equal(dtls_start(n.a, vnow_ms), 0);
		net_run(&n, DTLS_HANDSHAKE_TIMEOUT_MS + 1000);
		struct dtls *pinning = side ? n.a : n.b;

		assert_int_equal(dtls_state(pinning), DTLS_STATE_FAILED);
		assert_non_null(strstr(dtls_reason(pinning), "fingerprint"));
		assert_int_equal(dtls_srtp_keys(n.a, &k), -ENOTCONN);
		assert_int_equal(dtls_srtp_keys(n.b, &k), -ENOTCONN);
		/* the other side fails too: alert, or its own timeout */
		assert_int_equal(dtls_state(side ? n.b : n.a), DTLS_STATE_FAILED);
		dtls_ctx_free(other);
		net_free(&n);
	}
}

/* b learns a's fingerprint only after the handshake (RFC 5763 §5). */
static void test_fingerprint_late(void **state)
{
	struct dtls_config c = {0};
	struct dtls_srtp_keys k;
	struct dtls_event ev;
	char err[256];

	for (int good = 0; good < 3; good++) {
		struct dtls_ctx *other;
		struct net n;

		net_new(&n, &c, &c, false);
		assert_int_equal(dtls_ctx_generate(&other, err, sizeof(err)), 0);
		assert_int_equal(dtls_add_remote_fingerprint(n.a, dtls_ctx_fingerprint(n.cb)), 0);
		assert_int_equal(dtls_start(n.a, vnow_ms), 0);
		while (net_move(&n))
			;
		assert_int_equal(dtls_state(n.b), DTLS_STATE_VERIFYING);
		assert_int_equal(dtls_srtp_keys(n.b, &k), -ENOTCONN);
		assert_false(dtls_poll_event(n.b, &ev));
		if (good == 2) {
			/* it never comes */
			vnow_ms += DTLS_HANDSHAKE_TIMEOUT_MS;
			dtls_tick(n.b, vnow_ms);
			assert_int_equal(dtls_state(n.b), DTLS_STATE_FAILED);
		} else {
			assert_int_equal(dtls_add_remote_fingerprint(
						 n.b, dtls_ctx_fingerprint(good ? n.ca : other)),
					 0);
			assert_int_equal(dtls_state(n.b),
					 good ? DTLS_STATE_CONNECTED : DTLS_STATE_FAILED);
		}
		assert_true(dtls_poll_event(n.b, &ev));
		assert_int_equal(ev.type, good == 1 ? DTLS_EVENT_CONNECTED : DTLS_EVENT_FAILED);
		dtls_ctx_free(other);
		net_free(&n);
	}
}

static void test_suite_negotiation(void **state)
{
	static const struct {
		unsigned a, b;
		enum srtpctx_suite want; /* NONE: both fail */
	} cases[] = {
		{SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80), 0,
		 SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80},
		{SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AEAD_AES_128_GCM) |
			 SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80),
		 0, SRTPCTX_SUITE_AEAD_AES_128_GCM},
		{0, SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80),
		 SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80},
		{SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32), 0, SRTPCTX_SUITE_NONE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dtls_config ca = {.suites = cases[i].a}, cb = {.suites = cases[i].b};
		struct net n;

		net_new(&n, &ca, &cb, true);
		assert_int_equal(dtls_start(n.a, vnow_ms), 0);
		net_run(&n, DTLS_HANDSHAKE_TIMEOUT_MS + 1000);
		if (cases[i].want == SRTPCTX_SUITE_NONE) {
			assert_int_equal(dtls_state(n.b), DTLS_STATE_FAILED);
			assert_non_null(strstr(dtls_reason(n.b), "SRTP"));
		} else {
			assert_int_equal(dtls_state(n.a), DTLS_STATE_CONNECTED);
			assert_keys_crosswise(&n, cases[i].want);
		}
		net_free(&n);
	}
}

static void test_peer_silent_times_out(void **state)
{
	struct dtls_config c = {0};
	struct dtls_event ev;
	struct net n;
	uint64_t t0 = vnow_ms;

	net_new(&n, &c, &c, true);
	n.b_mute = true;
	assert_int_equal(dtls_start(n.a, vnow_ms), 0);
	net_run(&n, DTLS_HANDSHAKE_TIMEOUT_MS + 1000);
	assert_int_equal(dtls_state(n.a), DTLS_STATE_FAILED);
	assert_non_null(strstr(dtls_reason(n.a), "timed out"));
	assert_int_equal(vnow_ms - t0, DTLS_HANDSHAKE_TIMEOUT_MS);
	/* RFC 6347 §4.2.4.1: 1, 2, 4, 8 s: four resends, the fifth at 31 s */
	assert_int_equal(dtls_stats(n.a)->timeouts, 4);
	assert_int_equal(n.dropped, 5);
	assert_true(dtls_poll_event(n.a, &ev));
	assert_int_equal(ev.type, DTLS_EVENT_FAILED);
	assert_int_equal(dtls_input(n.a, vnow_ms, (const uint8_t *)"\x16\xfe\xfd", 3), -ENOTCONN);
	net_free(&n);
}

static void test_setup_roles(void **state)
{
	static const struct {
		const char *v;
		int rc;
		enum dtls_setup s;
	} p[] = {{"actpass", 0, DTLS_SETUP_ACTPASS}, {"active", 0, DTLS_SETUP_ACTIVE},
		 {"passive ", 0, DTLS_SETUP_PASSIVE}, {"holdconn", 0, DTLS_SETUP_HOLDCONN},
		 {"Active", -EINVAL, 0},		 {"", -EINVAL, 0},
		 {"active x", -EINVAL, 0},		 {"actpas", -EINVAL, 0}};
	enum dtls_setup s;
	enum dtls_role r;

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		assert_int_equal(dtls_setup_parse(p[i].v, &s), p[i].rc);
		if (!p[i].rc) {
			assert_int_equal(s, p[i].s);
			assert_int_equal(strncmp(dtls_setup_str(s), p[i].v, strlen(dtls_setup_str(s))),
					 0);
		}
	}
	assert_int_equal(dtls_role_for_answer(DTLS_SETUP_ACTPASS, &r), 0);
	assert_int_equal(r, DTLS_ROLE_ACTIVE);
	assert_int_equal(dtls_role_for_answer(DTLS_SETUP_ACTIVE, &r), 0);
	assert_int_equal(r, DTLS_ROLE_PASSIVE);
	assert_int_equal(dtls_role_for_answer(DTLS_SETUP_PASSIVE, &r), 0);
	assert_int_equal(r, DTLS_ROLE_ACTIVE);
	assert_int_equal(dtls_role_for_answer(DTLS_SETUP_HOLDCONN, &r), -EINVAL);
	assert_int_equal(dtls_role_from_answer(DTLS_SETUP_ACTIVE, &r), 0);
	assert_int_equal(r, DTLS_ROLE_PASSIVE);
	assert_int_equal(dtls_role_from_answer(DTLS_SETUP_PASSIVE, &r), 0);
	assert_int_equal(r, DTLS_ROLE_ACTIVE);
	assert_int_equal(dtls_role_from_answer(DTLS_SETUP_ACTPASS, &r), -EINVAL);
	assert_int_equal(dtls_role_from_answer(DTLS_SETUP_HOLDCONN, &r), -EINVAL);

	/* undecided (we offered actpass): the peer's ClientHello makes us passive */
	struct dtls_config c = {0};
	struct net n;

	net_new(&n, &c, &c, true);
	assert_int_equal(dtls_role(n.b), DTLS_ROLE_UNDECIDED);
	assert_int_equal(dtls_start(n.b, vnow_ms), 0); /* nothing to do */
	assert_int_equal(dtls_start(n.a, vnow_ms), 0);
	net_run(&n, 1000);
	assert_int_equal(dtls_role(n.b), DTLS_ROLE_PASSIVE);
	assert_int_equal(dtls_state(n.b), DTLS_STATE_CONNECTED);
	assert_int_equal(dtls_set_role(n.b, DTLS_ROLE_ACTIVE), -EBUSY);
	net_free(&n);
}

static void test_bad_input(void **state)
{
	struct dtls_config c = {0}, act = {.role = DTLS_ROLE_ACTIVE};
	uint8_t junk[300];
	struct dtls_ctx *ctx;
	struct dtls *p, *a;
	char err[256];

	assert_int_equal(dtls_ctx_generate(&ctx, err, sizeof(err)), 0);
	assert_int_equal(dtls_new(&p, ctx, &c), 0);
	assert_int_equal(dtls_new(&a, ctx, &act), 0);
	assert_int_equal(dtls_input(p, vnow_ms, (const uint8_t *)"\x00\x01", 2), -EINVAL);
	assert_int_equal(dtls_input(p, vnow_ms, (const uint8_t *)"\x80", 1), -EINVAL);
	assert_int_equal(dtls_input(p, vnow_ms, junk, 0), -EINVAL);
	assert_int_equal(dtls_input(a, vnow_ms, (const uint8_t *)"\x16", 1), -EAGAIN);
	/* DTLS-looking garbage: taken (and discarded by OpenSSL) or a failure,
	 * never a crash, never keys */
	for (int k = 0; k < 50; k++) {
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(k * 31 + i * 7);
		junk[0] = 22;
		junk[1] = 0xfe;
		junk[2] = 0xfd;
		dtls_input(p, vnow_ms, junk, sizeof(junk));
	}
	struct dtls_srtp_keys keys;

	assert_int_equal(dtls_srtp_keys(p, &keys), -ENOTCONN);
	/* fingerprint values */
	assert_int_equal(dtls_add_remote_fingerprint(p, "md5 00:11"), -EPROTONOSUPPORT);
	assert_int_equal(dtls_add_remote_fingerprint(p, "sha-256 00:11"), -EINVAL);
	assert_int_equal(dtls_add_remote_fingerprint(p, "sha-256"), -EINVAL);
	assert_int_equal(dtls_add_remote_fingerprint(p, "sha-1 00:11:22:33:44:55:66:77:88:99:"
							"aa:bb:cc:dd:ee:ff:00:11:22:3"),
			 -EINVAL);
	assert_int_equal(dtls_add_remote_fingerprint(p, "SHA-1 00:11:22:33:44:55:66:77:88:99:"
							"aa:bb:cc:dd:ee:ff:00:11:22:33"),
			 0);
	assert_int_equal(dtls_add_remote_fingerprint(p, "sha-1 00:11:22:33:44:55:66:77:88:99:"
							"aa:bb:cc:dd:ee:ff:00:11:22:33x"),
			 -EINVAL);
	assert_int_equal(strncmp(dtls_ctx_fingerprint(ctx), "sha-256 ", 8), 0);
	assert_int_equal(strlen(dtls_ctx_fingerprint(ctx)), 8 + 32 * 3 - 1);
	dtls_free(p);
	dtls_free(a);
	dtls_ctx_free(ctx);
	dtls_free(NULL);
	dtls_ctx_free(NULL);
}

/* --dtls-cert / --dtls-key: PEM files made here with OpenSSL directly. */
static void test_ctx_load(void **state)
{
	char dir[] = "/tmp/icepath-dtls-XXXXXX", cert[64], key[64], key2[64], err[256];
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	struct dtls_ctx *ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdn = 0;
	char want[DTLS_FINGERPRINT_STRLEN], *w = want;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(key2, sizeof(key2), "%s/other.pem", dir);
	assert_non_null(k);
	assert_non_null(k2);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	f = fopen(cert, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	f = fopen(key2, "w");
	PEM_write_PrivateKey(f, k2, NULL, NULL, 0, NULL, NULL);
	fclose(f);

	assert_int_equal(dtls_ctx_load(&ctx, cert, key, err, sizeof(err)), 0);
	X509_digest(x, EVP_sha256(), md, &mdn);
	w += sprintf(w, "sha-256 ");
	for (unsigned i = 0; i < mdn; i++)
		w += sprintf(w, i ? ":%02X" : "%02X", md[i]);
	assert_string_equal(dtls_ctx_fingerprint(ctx), want);
	dtls_ctx_free(ctx);

	assert_int_equal(dtls_ctx_load(&ctx, cert, key2, err, sizeof(err)), -EINVAL);
	assert_null(ctx);
	assert_non_null(strstr(err, "--dtls-key"));
	assert_int_equal(dtls_ctx_load(&ctx, key, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--dtls-cert"));
	assert_int_equal(dtls_ctx_load(&ctx, "/nonexistent/c.pem", key, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/c.pem"));

	unlink(cert);
	unlink(key);
	unlink(key2);
	rmdir(dir);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static int setup(void **state)
{
	return srtpctx_lib_init();
}

static int teardown(void **state)
{
	srtpctx_lib_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_clean),
		cmocka_unit_test(test_handshake_lossy),
		cmocka_unit_test(test_final_flight_lost),
		cmocka_unit_test(test_fingerprint_mismatch),
		cmocka_unit_test(test_fingerprint_late),
		cmocka_unit_test(test_suite_negotiation),
		cmocka_unit_test(test_peer_silent_times_out),
		cmocka_unit_test(test_setup_roles),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_ctx_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
