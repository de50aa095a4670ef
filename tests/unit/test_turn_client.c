// SPDX-License-Identifier: GPL-2.0-only
/*
 * turn_client against a hand-driven server: the long-term credential dance
 * (401, then 438), refresh timing, permissions and channels, the RFC 8489
 * retransmission schedule, release, and malformed server input dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "icepath/channel_data.h"
#include "icepath/stun.h"
#include "icepath/turn_client.h"

static uint64_t rng = 42;

static void rnd(void *buf, size_t len, void *ctx)
{
	uint8_t *p = buf;

	while (len--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(rng >> 56);
	}
}

/* What the client logged, for log_hook; an ERROR anywhere is a bug. */
static char logged[32][512];
static enum ice_log_level logged_level[32];
static unsigned nlogged, logged_errors;

static void log_cb(void *ctx, enum ice_log_level level, const char *msg)
{
	(void)ctx;
	if (level == ICE_LOG_ERROR) {
		logged_errors++;
		print_message("turn error: %s\n", msg);
	}
	if (nlogged < 32) {
		snprintf(logged[nlogged], sizeof(logged[0]), "%s", msg);
		logged_level[nlogged++] = level;
	}
}

static int no_errors_logged(void **state)
{
	(void)state;
	assert_int_equal(logged_errors, 0);
	return 0;
}

/* A logged line at level containing text, or -1. */
static int log_find(enum ice_log_level level, const char *text)
{
	for (unsigned i = 0; i < nlogged; i++)
		if (logged_level[i] == level && strstr(logged[i], text))
			return (int)i;
	return -1;
}

struct srv {
	struct turn_client *tc;
	struct netaddr server, base, relayed, peer;
	uint8_t key[STUN_MAX_KEY_LEN];
	int key_len;
	uint8_t last[2048];
	size_t last_len;
	struct stun_msg req;
	/* an RFC 8489 server: PASSWORD-ALGORITHMS in 401/438, and the key and
	 * the response integrity of the algorithm the client picked */
	uint16_t offer[4];
	size_t noffer;
	bool sha256_mi;
};

/* The server's side of an algorithm choice: key and response integrity. */
static void srv_use_alg(struct srv *s, enum stun_password_alg alg, bool sha256_mi)
{
	s->key_len = stun_key_long_term(alg, "alice", "realm.example", "secret", s->key);
	assert_true(s->key_len > 0);
	s->sha256_mi = sha256_mi;
}

static struct netaddr addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	assert_int_equal(netaddr_from_str(&a, ip, port), 0);
	return a;
}

static void srv_init(struct srv *s)
{
	struct turn_client_config cfg = {0};

	memset(s, 0, sizeof(*s));
	s->server = addr("198.51.100.2", 3478);
	s->base = addr("203.0.113.10", 5000);
	s->relayed = addr("198.51.100.2", 50000);
	s->peer = addr("203.0.113.20", 6000);
	cfg.server = s->server;
	cfg.base = s->base;
	cfg.username = "alice";
	cfg.password = "secret";
	cfg.random = rnd;
	cfg.log = log_cb;
	nlogged = 0;
	assert_int_equal(turn_client_new(&s->tc, &cfg), 0);
	s->key_len = stun_key_long_term(STUN_PASSWORD_ALG_MD5, "alice", "realm.example", "secret",
					s->key);
	assert_int_equal(s->key_len, 16);
}

/* Take the one datagram the client queued; parse it into s->req. */
static bool srv_take(struct srv *s)
{
	struct ice_transmit tx;

	if (!turn_client_poll_transmit(s->tc, &tx))
		return false;
	assert_true(netaddr_equal(&tx.local, &s->base));
	assert_true(netaddr_equal(&tx.remote, &s->server));
	memcpy(s->last, tx.head, tx.head_len);
	s->last_len = tx.head_len;
	assert_true(stun_parse(&s->req, s->last, s->last_len) > 0);
	return true;
}

static int srv_reply(struct srv *s, uint64_t now, int code, const char *nonce, bool sign,
		     uint32_t lifetime)
{
	struct stun_builder b;
	uint8_t buf[512];
	struct turn_recv r;
	int n;

	stun_build_init(&b, buf, sizeof(buf), s->req.method,
			code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, s->req.tid);
	if (code) {
		stun_build_error(&b, code, stun_error_reason(code));
		stun_build_string(&b, STUN_ATTR_REALM, "realm.example");
		stun_build_string(&b, STUN_ATTR_NONCE, nonce);
		if (s->noffer)
			stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHMS, s->offer,
						 s->noffer);
	} else if (s->req.method == STUN_METHOD_ALLOCATE) {
		stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &s->relayed);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &s->base);
		stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
	} else if (s->req.method == STUN_METHOD_REFRESH) {
		stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
	}
	if (sign && s->sha256_mi)
		stun_build_integrity_sha256(&b, s->key, (size_t)s->key_len);
	else if (sign)
		stun_build_integrity(&b, s->key, (size_t)s->key_len);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	assert_true(n > 0);
	return turn_client_recv(s->tc, now, buf, (size_t)n, &r);
}

/* Allocate and answer the first (credential-less) try with a 401 carrying
 * nonce; true if the client retried (the retry is then in s->req). */
static bool srv_challenge(struct srv *s, const char *nonce)
{
	assert_int_equal(turn_client_allocate(s->tc, 0), 0);
	assert_true(srv_take(s));
	srv_reply(s, 0, 401, nonce, false, 0);
	return srv_take(s);
}

static void assert_authenticated(struct srv *s, const char *nonce)
{
	const struct stun_attr *a;
	char v[64];

	a = stun_msg_find(&s->req, STUN_ATTR_USERNAME);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_string(&s->req, a, v, sizeof(v)), 0);
	assert_string_equal(v, "alice");
	a = stun_msg_find(&s->req, STUN_ATTR_NONCE);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_string(&s->req, a, v, sizeof(v)), 0);
	assert_string_equal(v, nonce);
	assert_int_equal(stun_check_integrity(&s->req, s->key, (size_t)s->key_len), 0);
}

static void allocate(struct srv *s, uint64_t now)
{
	struct netaddr r, m;

	assert_int_equal(turn_client_allocate(s->tc, now), 0);
	assert_true(srv_take(s));
	assert_int_equal(s->req.method, STUN_METHOD_ALLOCATE);
	assert_int_equal(s->req.integrity, -1); /* first try carries no credentials */
	assert_non_null(stun_msg_find(&s->req, STUN_ATTR_REQUESTED_TRANSPORT));
	assert_int_equal(srv_reply(s, now, 401, "n1", false, 0), TURN_RECV_HANDLED);
	assert_true(srv_take(s));
	assert_authenticated(s, "n1");
	assert_int_equal(srv_reply(s, now, 438, "n2", false, 0), TURN_RECV_HANDLED);
	assert_true(srv_take(s));
	assert_authenticated(s, "n2");
	assert_int_equal(turn_client_state(s->tc), TURN_ALLOC_STATE_ALLOCATING);
	assert_int_equal(srv_reply(s, now, 0, NULL, true, 600), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s->tc), TURN_ALLOC_STATE_ALLOCATED);
	assert_int_equal(turn_client_relayed(s->tc, &r, &m), 0);
	assert_true(netaddr_equal(&r, &s->relayed));
	assert_true(netaddr_equal(&m, &s->base));
}

/* An srv over IPv6 (server, base), relaying `relayed`; the client asks for
 * relayed_family (0: the server's). */
static void srv_init6(struct srv *s, const char *relayed, int relayed_family)
{
	struct turn_client_config cfg = {0};

	memset(s, 0, sizeof(*s));
	s->server = addr("2001:db8::2", 3478);
	s->base = addr("2001:db8:1::10", 5000);
	s->relayed = addr(relayed, 50000);
	cfg.server = s->server;
	cfg.base = s->base;
	cfg.username = "alice";
	cfg.password = "secret";
	cfg.random = rnd;
	cfg.log = log_cb;
	cfg.relayed_family = relayed_family;
	nlogged = 0;
	assert_int_equal(turn_client_new(&s->tc, &cfg), 0);
	s->key_len = stun_key_long_term(STUN_PASSWORD_ALG_MD5, "alice", "realm.example", "secret",
					s->key);
}

/*
 * RFC 8656 §7.2, §9.1 (issue 11 defect 3): over an IPv6 server the client
 * asks for an IPv6 relayed address with REQUESTED-ADDRESS-FAMILY (a server
 * gives IPv4 without it), and peers are judged by the relayed address's
 * family, not the server's. Over IPv4 nothing is added.
 */
static void ipv6_relay_family(void **state)
{
	struct srv s;
	const struct stun_attr *a;
	uint32_t v;
	struct netaddr p6 = addr("2001:db8:2::20", 6000), p4 = addr("203.0.113.20", 6000);

	srv_init6(&s, "2001:db8::2", 0);
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	assert_true(srv_take(&s));
	a = stun_msg_find(&s.req, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	assert_non_null(a);
	assert_int_equal(stun_attr_get_u32(&s.req, a, &v), 0);
	assert_int_equal(v, (uint32_t)TURN_FAMILY_IPV6 << 24);
	srv_reply(&s, 0, 401, "n1", false, 0);
	assert_true(srv_take(&s));
	assert_non_null(stun_msg_find(&s.req, STUN_ATTR_REQUESTED_ADDRESS_FAMILY));
	assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 600), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_ALLOCATED);
	assert_int_equal(turn_client_permit(s.tc, &p6, 0), 0);
	assert_int_equal(turn_client_permit(s.tc, &p4, 0), -EAFNOSUPPORT);
	turn_client_free(s.tc);

	/* IPv6 server relaying IPv4: IPv4 peers. */
	srv_init6(&s, "198.51.100.2", AF_INET);
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	assert_true(srv_take(&s));
	assert_null(stun_msg_find(&s.req, STUN_ATTR_REQUESTED_ADDRESS_FAMILY));
	srv_reply(&s, 0, 401, "n1", false, 0);
	assert_true(srv_take(&s));
	assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 600), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_permit(s.tc, &p4, 0), 0);
	assert_int_equal(turn_client_permit(s.tc, &p6, 0), -EAFNOSUPPORT);
	turn_client_free(s.tc);

	/* IPv4 server: the default, no attribute. */
	srv_init(&s);
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	assert_true(srv_take(&s));
	assert_null(stun_msg_find(&s.req, STUN_ATTR_REQUESTED_ADDRESS_FAMILY));
	turn_client_free(s.tc);
}

/* RFC 8489 §6.3.3 (issue 11 defect 9): an Allocate success carrying an
 * unknown comprehension-required attribute fails the allocation. */
static void response_unknown_attribute(void **state)
{
	struct srv s;
	struct stun_builder b;
	uint8_t buf[512];
	struct turn_recv r;
	int n;

	srv_init(&s);
	assert_true(srv_challenge(&s, "n1"));
	stun_build_init(&b, buf, sizeof(buf), s.req.method, STUN_CLASS_SUCCESS, s.req.tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &s.relayed);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &s.base);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u32(&b, 0x7ff2, 1);
	stun_build_integrity(&b, s.key, (size_t)s.key_len);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	assert_true(n > 0);
	assert_int_equal(turn_client_recv(s.tc, 0, buf, (size_t)n, &r), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	turn_client_free(s.tc);
	logged_errors = 0;
}

static void allocate_refresh_release(void **state)
{
	struct srv s;
	struct turn_event ev;
	uint64_t now = 1000;

	srv_init(&s);
	assert_int_equal(turn_client_relayed(s.tc, NULL, NULL), -ENOTCONN);
	allocate(&s, now);
	assert_true(turn_client_poll_event(s.tc, &ev));
	assert_int_equal(ev.type, TURN_EVENT_ALLOCATED);
	/* Refresh at lifetime - 60 s (RFC 8656 §7: before expiry). */
	assert_int_equal(turn_client_next_deadline(s.tc), now + 540000);
	turn_client_tick(s.tc, now + 539999);
	assert_false(srv_take(&s));
	now += 540000;
	turn_client_tick(s.tc, now);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_REFRESH);
	assert_authenticated(&s, "n2");
	assert_int_equal(srv_reply(&s, now, 0, NULL, true, 300), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_next_deadline(s.tc), now + 240000);
	/* A success that does not prove the key is dropped. */
	assert_int_equal(turn_client_release(s.tc, now), 0);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_REFRESH);
	{
		const struct stun_attr *a = stun_msg_find(&s.req, STUN_ATTR_LIFETIME);
		uint32_t lt = 1;

		assert_non_null(a);
		assert_int_equal(stun_attr_get_u32(&s.req, a, &lt), 0);
		assert_int_equal(lt, 0);
	}
	assert_int_equal(srv_reply(&s, now, 0, NULL, false, 0), TURN_RECV_DROPPED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_RELEASING);
	assert_int_equal(srv_reply(&s, now, 0, NULL, true, 0), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_RELEASED);
	assert_string_equal(turn_alloc_state_str(TURN_ALLOC_STATE_RELEASED), "released");
	turn_client_free(s.tc);
}

static void permissions_channels_data(void **state)
{
	struct srv s;
	struct turn_event ev;
	struct ice_transmit tx;
	struct turn_recv r;
	uint8_t buf[256];
	static const uint8_t payload[5] = {0x80, 1, 2, 3, 4};
	uint64_t now = 1000;
	int n;

	srv_init(&s);
	/* Asked before the allocation exists: sent once allocated. */
	assert_int_equal(turn_client_permit(s.tc, &s.peer, now), 0);
	allocate(&s, now);
	while (turn_client_poll_event(s.tc, &ev))
		;
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_CREATE_PERMISSION);
	assert_authenticated(&s, "n2");
	assert_false(turn_client_permitted(s.tc, &s.peer));
	/* Send indication until a channel exists; data is not copied. */
	assert_int_equal(turn_client_wrap(s.tc, &s.peer, payload, sizeof(payload), false, &tx), 0);
	assert_ptr_equal(tx.payload, payload);
	assert_int_equal(tx.pad_len, 3);
	n = ice_transmit_flatten(&tx, buf, sizeof(buf));
	{
		struct stun_msg m;
		const struct stun_attr *d;
		struct netaddr p;

		assert_true(stun_parse(&m, buf, (size_t)n) == n);
		assert_int_equal(m.method, STUN_METHOD_SEND);
		assert_int_equal(m.cls, STUN_CLASS_INDICATION);
		d = stun_msg_find(&m, STUN_ATTR_DATA);
		assert_non_null(d);
		assert_int_equal(d->len, sizeof(payload));
		assert_memory_equal(stun_attr_value(&m, d), payload, sizeof(payload));
		assert_int_equal(stun_attr_get_xor_addr(
					 &m, stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS), &p),
				 0);
		assert_true(netaddr_equal(&p, &s.peer));
	}
	assert_int_equal(srv_reply(&s, now, 0, NULL, true, 0), TURN_RECV_HANDLED);
	assert_true(turn_client_permitted(s.tc, &s.peer));
	/* Permission refresh every 240 s. */
	assert_int_equal(turn_client_next_deadline(s.tc), now + 240000);
	/* ChannelBind, then ChannelData both ways. */
	assert_int_equal(turn_client_bind_channel(s.tc, &s.peer, now), 0);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_CHANNEL_BIND);
	assert_int_equal(srv_reply(&s, now, 0, NULL, true, 0), TURN_RECV_HANDLED);
	assert_true(turn_client_poll_event(s.tc, &ev));
	assert_int_equal(ev.type, TURN_EVENT_CHANNEL_BOUND);
	assert_int_equal(ev.channel, TURN_CHANNEL_MIN);
	assert_int_equal(turn_client_wrap(s.tc, &s.peer, payload, sizeof(payload), false, &tx), 0);
	assert_int_equal(tx.head_len, CHANNEL_DATA_HEADER_LEN);
	assert_int_equal(tx.head[0], 0x40);
	n = channel_data_build(buf, sizeof(buf), TURN_CHANNEL_MIN, payload, sizeof(payload), true);
	assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r), TURN_RECV_DATA);
	assert_true(netaddr_equal(&r.peer, &s.peer));
	assert_int_equal(r.len, sizeof(payload));
	assert_memory_equal(r.data, payload, sizeof(payload));
	/* Malformed or unknown ChannelData: dropped. */
	assert_int_equal(turn_client_recv(s.tc, now, buf, 3, &r), TURN_RECV_DROPPED);
	buf[3] = 200; /* length past the datagram */
	assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r), TURN_RECV_DROPPED);
	n = channel_data_build(buf, sizeof(buf), TURN_CHANNEL_MIN + 5, payload, sizeof(payload),
			       false);
	assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r), TURN_RECV_DROPPED);
	/* Data indication without DATA: dropped; from an unpermitted peer: dropped. */
	{
		struct stun_builder b;
		uint8_t tid[12] = {1};
		struct netaddr stranger = addr("192.0.2.9", 9);

		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &s.peer);
		n = stun_build_finish(&b);
		assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r),
				 TURN_RECV_DROPPED);
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &stranger);
		stun_build_attr(&b, STUN_ATTR_DATA, payload, sizeof(payload));
		n = stun_build_finish(&b);
		assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r),
				 TURN_RECV_DROPPED);
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &s.peer);
		stun_build_attr(&b, STUN_ATTR_DATA, payload, sizeof(payload));
		n = stun_build_finish(&b);
		assert_int_equal(turn_client_recv(s.tc, now, buf, (size_t)n, &r), TURN_RECV_DATA);
		assert_int_equal(r.len, sizeof(payload));
	}
	/* Garbage and responses to no transaction. */
	assert_int_equal(turn_client_recv(s.tc, now, (const uint8_t *)"\x01\x01\x00", 3, &r),
			 TURN_RECV_DROPPED);
	assert_int_equal(srv_reply(&s, now, 0, NULL, true, 0), TURN_RECV_NOT_MINE);
	/* Channel refresh at 540 s re-binds the same number. */
	turn_client_tick(s.tc, now + 540000);
	while (srv_take(&s))
		if (s.req.method == STUN_METHOD_CHANNEL_BIND)
			break;
	assert_int_equal(s.req.method, STUN_METHOD_CHANNEL_BIND);
	{
		uint16_t ch = 0;

		assert_int_equal(
			stun_attr_get_channel(&s.req,
					      stun_msg_find(&s.req, STUN_ATTR_CHANNEL_NUMBER), &ch),
			0);
		assert_int_equal(ch, TURN_CHANNEL_MIN);
	}
	turn_client_free(s.tc);
}

static void retransmit_and_fail(void **state)
{
	struct srv s;
	struct turn_event ev;
	uint64_t now = 0, sends = 0, last = 0;

	srv_init(&s);
	assert_int_equal(turn_client_allocate(s.tc, now), 0);
	/* RFC 8489 §6.2.1: sends at 0, 500, 1500, 3500, 7500, 15500, 31500,
	 * then failure at 39500 (Rm = 16 RTOs after the last). */
	while (turn_client_state(s.tc) == TURN_ALLOC_STATE_ALLOCATING) {
		while (srv_take(&s)) {
			sends++;
			last = now;
		}
		now = turn_client_next_deadline(s.tc);
		assert_true(now < 100000);
		turn_client_tick(s.tc, now);
	}
	assert_int_equal(sends, 7);
	assert_int_equal(last, 31500);
	assert_int_equal(now, 39500);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	assert_true(turn_client_poll_event(s.tc, &ev));
	assert_int_equal(ev.type, TURN_EVENT_FAILED);
	assert_int_equal(ev.error, -ETIMEDOUT);
	turn_client_free(s.tc);

	/* Wrong credentials: a second 401 fails the allocation with 401. */
	srv_init(&s);
	assert_true(srv_challenge(&s, "n1"));
	srv_reply(&s, 0, 401, "n1", false, 0);
	assert_false(srv_take(&s));
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	assert_true(turn_client_poll_event(s.tc, &ev));
	assert_int_equal(ev.error, 401);
	turn_client_free(s.tc);
	turn_client_free(NULL);
}

/* The log hook: state moves at INFO, refusals at WARN naming the code and
 * what to do, the credential dance at DEBUG, each line naming the server. */
static void log_hook(void **state)
{
	struct srv s;

	(void)state;
	srv_init(&s);
	allocate(&s, 0);
	assert_true(log_find(ICE_LOG_INFO, "allocation idle -> allocating") >= 0);
	assert_true(log_find(ICE_LOG_INFO, "allocation allocating -> allocated") >= 0);
	assert_true(log_find(ICE_LOG_DEBUG, "401 Unauthorized, retrying") >= 0);
	for (unsigned i = 0; i < nlogged; i++)
		assert_memory_equal(logged[i], "turn 198.51.100.2:3478: ", 24);
	turn_client_free(s.tc);

	srv_init(&s);
	assert_true(srv_challenge(&s, "n1"));
	srv_reply(&s, 0, 401, "n1", false, 0);
	assert_true(log_find(ICE_LOG_WARN, "wrong username or password") >= 0);
	assert_true(log_find(ICE_LOG_WARN, "allocating -> failed: 401 Unauthorized") >= 0);
	turn_client_free(s.tc);

	srv_init(&s);
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	for (uint64_t now = 0; turn_client_state(s.tc) == TURN_ALLOC_STATE_ALLOCATING;) {
		while (srv_take(&s))
			;
		now = turn_client_next_deadline(s.tc);
		turn_client_tick(s.tc, now);
	}
	assert_true(log_find(ICE_LOG_WARN, "failed: no answer (timed out)") >= 0);
	turn_client_free(s.tc);
}

/* RFC 8489 §9.2.5 on the request after a 401 with PASSWORD-ALGORITHMS: the
 * list echoed byte for byte, the first algorithm we support picked, and
 * MESSAGE-INTEGRITY-SHA256 only, keyed with that algorithm. */
static void assert_alg_request(struct srv *s, const char *nonce, uint16_t alg)
{
	const struct stun_attr *pa = stun_msg_find(&s->req, STUN_ATTR_PASSWORD_ALGORITHMS);
	const struct stun_attr *a = stun_msg_find(&s->req, STUN_ATTR_PASSWORD_ALGORITHM);
	uint16_t algs[4];
	size_t n;
	char v[64];

	assert_non_null(pa);
	assert_int_equal(stun_attr_get_password_algs(&s->req, pa, algs, 4, &n), 0);
	assert_int_equal(n, s->noffer);
	assert_memory_equal(algs, s->offer, n * sizeof(algs[0]));
	assert_non_null(a);
	assert_int_equal(stun_attr_get_password_algs(&s->req, a, algs, 4, &n), 0);
	assert_int_equal(algs[0], alg);
	assert_int_equal(s->req.integrity, -1);
	assert_true(s->req.integrity_sha256 >= 0);
	assert_int_equal(stun_check_integrity(&s->req, s->key, (size_t)s->key_len), 0);
	a = stun_msg_find(&s->req, STUN_ATTR_NONCE);
	assert_int_equal(stun_attr_get_string(&s->req, a, v, sizeof(v)), 0);
	assert_string_equal(v, nonce);
}

static void password_algorithms(void **state)
{
	struct srv s;
	struct turn_event ev;

	(void)state;
	/* The server prefers SHA-256: SHA-256 key, MI-SHA256 both ways. */
	srv_init(&s);
	s.offer[0] = STUN_PASSWORD_ALG_SHA256;
	s.offer[1] = STUN_PASSWORD_ALG_MD5;
	s.noffer = 2;
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	assert_true(srv_take(&s));
	assert_null(stun_msg_find(&s.req, STUN_ATTR_PASSWORD_ALGORITHM));
	srv_reply(&s, 0, 401, "obMatJos2AAABn1", false, 0);
	srv_use_alg(&s, STUN_PASSWORD_ALG_SHA256, true);
	assert_true(srv_take(&s));
	assert_alg_request(&s, "obMatJos2AAABn1", STUN_PASSWORD_ALG_SHA256);
	assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 600), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_ALLOCATED);
	assert_int_equal(turn_client_password_alg(s.tc), STUN_PASSWORD_ALG_SHA256);
	/* Every later request too, and across a stale nonce. */
	assert_int_equal(turn_client_permit(s.tc, &s.peer, 10), 0);
	assert_true(srv_take(&s));
	assert_alg_request(&s, "obMatJos2AAABn1", STUN_PASSWORD_ALG_SHA256);
	srv_reply(&s, 10, 438, "obMatJos2AAABn2", false, 0);
	assert_true(srv_take(&s));
	assert_alg_request(&s, "obMatJos2AAABn2", STUN_PASSWORD_ALG_SHA256);
	/* A forged 400 (no integrity) is dropped; an authenticated one counts. */
	assert_int_equal(srv_reply(&s, 10, 400, "x", false, 0), TURN_RECV_DROPPED);
	assert_int_equal(srv_reply(&s, 10, 403, "x", true, 0), TURN_RECV_HANDLED);
	while (turn_client_poll_event(s.tc, &ev))
		if (ev.type == TURN_EVENT_PERMISSION_FAILED)
			assert_int_equal(ev.error, 403);
	turn_client_free(s.tc);

	/* MD5 listed first: MD5 key, still MESSAGE-INTEGRITY-SHA256. */
	srv_init(&s);
	s.offer[0] = STUN_PASSWORD_ALG_MD5;
	s.offer[1] = STUN_PASSWORD_ALG_SHA256;
	s.noffer = 2;
	assert_int_equal(turn_client_allocate(s.tc, 0), 0);
	assert_true(srv_take(&s));
	srv_reply(&s, 0, 401, "n1", false, 0);
	srv_use_alg(&s, STUN_PASSWORD_ALG_MD5, true);
	assert_true(srv_take(&s));
	assert_alg_request(&s, "n1", STUN_PASSWORD_ALG_MD5);
	turn_client_free(s.tc);

	/* Nothing we know in the list: no retry, the allocation fails. */
	srv_init(&s);
	s.offer[0] = 0x7777;
	s.noffer = 1;
	assert_false(srv_challenge(&s, "n1"));
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	assert_true(log_find(ICE_LOG_WARN, "no password algorithm in common") >= 0);
	turn_client_free(s.tc);

	/* The nonce cookie announces PASSWORD-ALGORITHMS but it was stripped
	 * (a bid-down): no retry. */
	srv_init(&s);
	assert_false(srv_challenge(&s, "obMatJos2AAABn1"));
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	turn_client_free(s.tc);

	/* A server without the list (coturn): MD5 and MESSAGE-INTEGRITY, and
	 * a cookie without the bit changes nothing. */
	srv_init(&s);
	assert_true(srv_challenge(&s, "obMatJos2AAACn1"));
	assert_authenticated(&s, "obMatJos2AAACn1");
	assert_true(s.req.integrity >= 0);
	assert_int_equal(s.req.integrity_sha256, -1);
	assert_null(stun_msg_find(&s.req, STUN_ATTR_PASSWORD_ALGORITHM));
	assert_null(stun_msg_find(&s.req, STUN_ATTR_PASSWORD_ALGORITHMS));
	assert_int_equal(turn_client_password_alg(s.tc), STUN_PASSWORD_ALG_MD5);
	turn_client_free(s.tc);
}

/* RFC 8656 §7.4/§7.5 and RFC 8489 §9.2.5: 441 (wrong credentials), 486
 * (quota) and 437 (allocation mismatch) end the allocation without a
 * retry, with the code in the event; a 437 to a Refresh means the
 * allocation is gone; an error whose integrity fails is dropped. */
static void error_codes(void **state)
{
	static const int codes[] = {441, 486, 437};
	struct srv s;
	struct turn_event ev;
	uint64_t now;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		srv_init(&s);
		assert_true(srv_challenge(&s, "n1"));
		assert_int_equal(srv_reply(&s, 0, codes[i], "n1", true, 0), TURN_RECV_HANDLED);
		assert_false(srv_take(&s));
		assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
		assert_true(turn_client_poll_event(s.tc, &ev));
		assert_int_equal(ev.type, TURN_EVENT_FAILED);
		assert_int_equal(ev.error, codes[i]);
		turn_client_free(s.tc);
	}

	/* A forged 486 (integrity with another key) changes nothing. */
	srv_init(&s);
	assert_true(srv_challenge(&s, "n1"));
	srv_use_alg(&s, STUN_PASSWORD_ALG_SHA256, false);
	assert_int_equal(srv_reply(&s, 0, 486, "n1", true, 0), TURN_RECV_DROPPED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_ALLOCATING);
	turn_client_free(s.tc);

	/* 437 to the Refresh: the server no longer has the allocation. */
	srv_init(&s);
	allocate(&s, 0);
	while (turn_client_poll_event(s.tc, &ev))
		;
	now = turn_client_next_deadline(s.tc);
	assert_int_equal(now, (600 - 60) * 1000);
	turn_client_tick(s.tc, now);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_REFRESH);
	assert_int_equal(srv_reply(&s, now, 437, "n2", true, 0), TURN_RECV_HANDLED);
	assert_int_equal(turn_client_state(s.tc), TURN_ALLOC_STATE_FAILED);
	assert_true(turn_client_poll_event(s.tc, &ev));
	assert_int_equal(ev.error, 437);
	turn_client_free(s.tc);
}

/* RFC 8656 §9: a permission is per IP address, any port. A second port of
 * an IP with a permission (or one being installed) costs no request of its
 * own; if the shared request fails, the other port asks for itself. */
static void permission_per_ip(void **state)
{
	struct srv s;
	struct turn_event ev;
	struct ice_transmit tx;
	struct netaddr port2 = addr("203.0.113.20", 6002), other = addr("203.0.113.21", 6000);
	static const uint8_t payload[4] = {0x80, 1, 2, 3};

	(void)state;
	srv_init(&s);
	allocate(&s, 0);
	while (turn_client_poll_event(s.tc, &ev))
		;
	assert_int_equal(turn_client_permit(s.tc, &s.peer, 0), 0);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_CREATE_PERMISSION);
	/* same IP, other port: nothing new while the first is pending... */
	assert_int_equal(turn_client_permit(s.tc, &port2, 0), 0);
	assert_false(srv_take(&s));
	/* ...and the first's failure makes it ask for itself */
	assert_int_equal(srv_reply(&s, 0, 403, "n2", true, 0), TURN_RECV_HANDLED);
	assert_true(srv_take(&s));
	assert_int_equal(s.req.method, STUN_METHOD_CREATE_PERMISSION);
	assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 0), TURN_RECV_HANDLED);
	assert_true(turn_client_permitted(s.tc, &port2));
	assert_true(turn_client_permitted(s.tc, &s.peer)); /* by IP */
	/* once installed, further ports of that IP need nothing either */
	assert_int_equal(turn_client_permit(s.tc, &s.peer, 0), 0);
	assert_false(srv_take(&s));
	assert_int_equal(turn_client_wrap(s.tc, &s.peer, payload, 4, false, &tx), 0);
	/* another IP does */
	assert_int_equal(turn_client_permit(s.tc, &other, 0), 0);
	assert_true(srv_take(&s));
	/* one refresh per IP at 240 s */
	assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 0), TURN_RECV_HANDLED);
	turn_client_tick(s.tc, 240000);
	assert_true(srv_take(&s));
	assert_true(srv_take(&s));
	assert_false(srv_take(&s));
	turn_client_free(s.tc);
}

/* A refused refresh of a permission (or channel) ends it: one
 * PERMISSION_FAILED, and no new request at every tick after it (the
 * refresh deadline had passed: that was a loop paced only by the server's
 * round trip). */
static void refused_refresh_no_storm(void **state)
{
	struct srv s;
	struct turn_event ev;
	unsigned failed = 0;
	uint64_t now = 0;

	(void)state;
	for (int chan = 0; chan < 2; chan++) {
		srv_init(&s);
		allocate(&s, 0);
		while (turn_client_poll_event(s.tc, &ev))
			;
		if (chan)
			assert_int_equal(turn_client_bind_channel(s.tc, &s.peer, 0), 0);
		else
			assert_int_equal(turn_client_permit(s.tc, &s.peer, 0), 0);
		assert_true(srv_take(&s));
		assert_int_equal(srv_reply(&s, 0, 0, NULL, true, 0), TURN_RECV_HANDLED);
		while (turn_client_poll_event(s.tc, &ev))
			;
		now = 240000; /* the permission refresh (a channel's too) */
		turn_client_tick(s.tc, now);
		assert_true(srv_take(&s));
		assert_int_equal(s.req.method, STUN_METHOD_CREATE_PERMISSION);
		assert_int_equal(srv_reply(&s, now, 403, "n2", true, 0), TURN_RECV_HANDLED);
		failed = 0;
		for (unsigned i = 0; i < 10; i++) {
			now += 10;
			turn_client_tick(s.tc, now);
			assert_false(srv_take(&s));
			while (turn_client_poll_event(s.tc, &ev))
				failed += ev.type == TURN_EVENT_PERMISSION_FAILED;
		}
		assert_int_equal(failed, 1);
		assert_true(turn_client_next_deadline(s.tc) > now);
		assert_false(turn_client_permitted(s.tc, &s.peer));
		turn_client_free(s.tc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(allocate_refresh_release, no_errors_logged),
		cmocka_unit_test_teardown(ipv6_relay_family, no_errors_logged),
		cmocka_unit_test_teardown(response_unknown_attribute, no_errors_logged),
		cmocka_unit_test_teardown(permissions_channels_data, no_errors_logged),
		cmocka_unit_test_teardown(retransmit_and_fail, no_errors_logged),
		cmocka_unit_test_teardown(log_hook, no_errors_logged),
		cmocka_unit_test_teardown(password_algorithms, no_errors_logged),
		cmocka_unit_test_teardown(error_codes, no_errors_logged),
		cmocka_unit_test_teardown(permission_per_ip, no_errors_logged),
		cmocka_unit_test_teardown(refused_refresh_no_storm, no_errors_logged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
