// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng: requests as Kamailio and OpenSIPS send them, rtpengine-shaped replies,
 * the cookie cache, and a malformed-input table that must always get an
 * error reply (or, without a cookie, no reply), never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icepath/ng.h"
#include "icepath/compiler.h"
#include "../../tools/ng-fake/ng_stub.h"

static struct bencode nodes[NG_MAX_NODES];
static struct ng_request req;
static struct ng_reply rep;
static uint8_t out[NG_DGRAM_MAX];

/* Decode a bencoded dict and parse it as a request; returns the parse rc. */
static int parse(const char *benc, char *why, size_t cap)
{
	struct bencode *root;
	struct bencode_err err;

	if (bencode_decode((const uint8_t *)benc, strlen(benc), nodes, NG_MAX_NODES, &root, &err))
		fail_msg("test input does not decode: %s at %zu", err.msg, err.off);
	return ng_request_parse(root, &req, why, cap);
}

#define SDP                                                                               \
	"v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\n" \
	"m=audio 4000 RTP/AVP 0 8\r\n"
#define SDP_LEN "95"

/* Kamailio: rtpengine_offer("trust-address replace-origin replace-session-connection
 * ICE=remove RTP/AVP direction=priv direction=pub rtcp-mux-demux"). */
static const char kamailio_offer[] =
	"d3:ICE6:remove7:call-id24:a84b4c76e66710@pc33.test7:command5:offer"
	"9:directionl4:priv3:pube5:flagsl13:trust-address9:symmetrice"
	"8:from-tag10:1928301774"
	"13:received-froml3:IP412:192.168.1.20e"
	"7:replacel6:origin18:session-connectione"
	"8:rtcp-muxl5:demuxe"
	"3:sdp" SDP_LEN ":" SDP "8:supportsl10:load limite18:transport-protocol7:RTP/AVP"
	"10:via-branch13:z9hG4bK776asd"
	"5:label6:callere";

static void parse_kamailio_offer(void **state)
{
	char why[NG_REASON_MAX] = "", ip[NETADDR_STRLEN];

	assert_int_equal(strlen(SDP), atoi(SDP_LEN));
	assert_int_equal(parse(kamailio_offer, why, sizeof(why)), 0);
	assert_int_equal(req.cmd, NG_CMD_OFFER);
	assert_string_equal(req.call_id, "a84b4c76e66710@pc33.test");
	assert_string_equal(req.from_tag, "1928301774");
	assert_string_equal(req.via_branch, "z9hG4bK776asd");
	assert_string_equal(req.label, "caller");
	assert_int_equal(req.ice, NG_ICE_REMOVE);
	assert_int_equal(req.n_direction, 2);
	assert_string_equal(req.direction[0], "priv");
	assert_string_equal(req.direction[1], "pub");
	assert_int_equal(req.flags, NG_FLAG_TRUST_ADDRESS | NG_FLAG_SYMMETRIC);
	assert_int_equal(req.replace, NG_REPLACE_ORIGIN | NG_REPLACE_SESSION_CONNECTION);
	assert_int_equal(req.rtcp_mux, NG_RTCP_MUX_DEMUX);
	assert_int_equal(req.transport, NG_TRANSPORT_RTP_AVP);
	assert_true(req.has_received_from);
	assert_string_equal(netaddr_ip_str(&req.received_from, ip, sizeof(ip)), "192.168.1.20");
	assert_true(req.supports_load_limit);
	assert_int_equal(req.sdp.len, strlen(SDP));
	assert_memory_equal(req.sdp.s, SDP, strlen(SDP));
	assert_int_equal(req.n_unknown_flags, 0);
	assert_int_equal(req.n_unknown_keys, 0);
}

/* rtpengine's own documentation spells keys and flags with spaces. */
static void parse_spaced_spellings(void **state)
{
	static const char spaced[] =
		"d7:command6:answer7:call_id1:c8:from tag1:f6:to-tag1:t3:sdp3:v=0"
		"13:received froml3:IP611:2001:db8::1e"
		"18:transport protocol17:UDP/TLS/RTP/SAVPF"
		"5:flagsl13:trust address11:trickle ICE12:generate_mid12:loop-protect"
		"19:full-rtcp-attribute17:no-rtcp-attribute13:port latching14:media handover"
		"13:strict-source10:asymmetric12:strip extmape"
		"7:replacel18:session connection11:SDP-versione"
		"8:ICE-lite8:backward3:ICE11:force-relay"
		"14:address family3:IP6e";
	char why[NG_REASON_MAX] = "";

	if (parse(spaced, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(req.cmd, NG_CMD_ANSWER);
	assert_string_equal(req.call_id, "c");
	assert_string_equal(req.from_tag, "f");
	assert_string_equal(req.to_tag, "t");
	assert_int_equal(netaddr_family(&req.received_from), AF_INET6);
	assert_int_equal(req.transport, NG_TRANSPORT_UDP_TLS_RTP_SAVPF);
	assert_int_equal(req.flags, NG_FLAG_TRUST_ADDRESS | NG_FLAG_TRICKLE_ICE |
					    NG_FLAG_GENERATE_MID | NG_FLAG_LOOP_PROTECT |
					    NG_FLAG_FULL_RTCP_ATTRIBUTE |
					    NG_FLAG_NO_RTCP_ATTRIBUTE | NG_FLAG_PORT_LATCHING |
					    NG_FLAG_MEDIA_HANDOVER | NG_FLAG_STRICT_SOURCE |
					    NG_FLAG_ASYMMETRIC | NG_FLAG_STRIP_EXTMAP);
	assert_int_equal(req.replace, NG_REPLACE_SESSION_CONNECTION | NG_REPLACE_SDP_VERSION);
	assert_int_equal(req.ice_lite, NG_ICE_LITE_BACKWARD);
	assert_int_equal(req.ice, NG_ICE_FORCE_RELAY);
	assert_int_equal(req.address_family, AF_INET6);
}

/* OpenSIPS passes flags it does not know through; icepath keeps them for a warning. */
static void parse_unknown_flags_and_keys(void **state)
{
	static const char opensips[] = "d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
				       "5:flagsl8:SDES-pad13:trust-address15:codec-strip-alle"
				       "5:ptime7:passive6:record3:yes8:rtcp-muxl5:offer5:bogusee";
	char why[NG_REASON_MAX] = "";

	assert_int_equal(parse(opensips, why, sizeof(why)), 0);
	assert_int_equal(req.flags, NG_FLAG_TRUST_ADDRESS);
	assert_int_equal(req.rtcp_mux, NG_RTCP_MUX_OFFER);
	assert_int_equal(req.n_unknown_flags, 3);
	/* an SDES- flag that names no suite or option is unknown too */
	assert_memory_equal(req.unknown_flags[0].s, "SDES-pad", 8);
	assert_memory_equal(req.unknown_flags[2].s, "bogus", 5);
	assert_int_equal(req.n_unknown_keys, 2);
	assert_memory_equal(req.unknown_keys[0].s, "ptime", 5);
}

static void request_encode_round_trip(void **state)
{
	struct ng_request a;
	struct bencode *root;
	struct ng_str ck, body;
	char why[NG_REASON_MAX];
	ssize_t n;

	ng_request_init(&a, NG_CMD_OFFER);
	strcpy(a.cookie, "42_7");
	strcpy(a.call_id, "call@x");
	strcpy(a.from_tag, "ft");
	a.sdp.s = SDP;
	a.sdp.len = strlen(SDP);
	a.ice = NG_ICE_FORCE;
	a.ice_lite = NG_ICE_LITE_BOTH;
	a.flags = NG_FLAG_TRUST_ADDRESS | NG_FLAG_TRICKLE_ICE;
	a.replace = NG_REPLACE_ORIGIN;
	a.rtcp_mux = NG_RTCP_MUX_REQUIRE | NG_RTCP_MUX_OFFER;
	a.transport = NG_TRANSPORT_RTP_SAVPF;
	a.n_direction = 2;
	strcpy(a.direction[0], "pub");
	strcpy(a.direction[1], "priv");
	a.has_received_from = true;
	netaddr_from_str(&a.received_from, "198.51.100.9", 0);
	a.supports_load_limit = true;
	n = ng_request_encode(&a, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(ng_split_cookie(out, (size_t)n, &ck, &body), 0);
	assert_memory_equal(ck.s, "42_7", 4);
	assert_int_equal(
		bencode_decode((const uint8_t *)body.s, body.len, nodes, NG_MAX_NODES, &root, NULL),
		0);
	/* Keys come out in byte order. */
	for (const struct bencode *c = root->child; c && c->next; c = c->next) {
		size_t l = c->key_len < c->next->key_len ? c->key_len : c->next->key_len;
		int cmp = memcmp(c->key, c->next->key, l);

		assert_true(cmp < 0 || (cmp == 0 && c->key_len < c->next->key_len));
	}
	assert_int_equal(ng_request_parse(root, &req, why, sizeof(why)), 0);
	assert_string_equal(req.call_id, "call@x");
	assert_int_equal(req.ice, NG_ICE_FORCE);
	assert_int_equal(req.ice_lite, NG_ICE_LITE_BOTH);
	assert_int_equal(req.flags, a.flags);
	assert_int_equal(req.replace, a.replace);
	assert_int_equal(req.rtcp_mux, a.rtcp_mux);
	assert_int_equal(req.transport, NG_TRANSPORT_RTP_SAVPF);
	assert_string_equal(req.direction[1], "priv");
	assert_true(netaddr_same_ip(&req.received_from, &a.received_from));
	assert_true(req.supports_load_limit);
	/* Too small a buffer, or no cookie, is refused. */
	assert_int_equal(ng_request_encode(&a, out, 20), -ENOSPC);
	a.cookie[0] = 0;
	assert_int_equal(ng_request_encode(&a, out, sizeof(out)), -EINVAL);
}

/* ---- server ----------------------------------------------------------- */

struct fixture {
	struct ng_server srv;
	struct ng_stub stub;
	struct netaddr from;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ng_server_config cfg = {.cache_slots = 8, .cache_bytes = 4096};

	if (!f || ng_server_init(&f->srv, &ng_stub_ops, &f->stub, &cfg))
		return -1;
	f->stub.epoch_s = 1700000000;
	netaddr_from_str(&f->from, "127.0.0.1", 40000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ng_server_destroy(&f->srv);
	free(f);
	return 0;
}

static ssize_t handle(struct fixture *f, const char *dgram)
{
	return ng_handle(&f->srv, f->stub.now_ms, &f->from, (const uint8_t *)dgram, strlen(dgram),
			 out, sizeof(out));
}

/* Handle and parse the reply (which must carry the same cookie). */
static void roundtrip(struct fixture *f, const char *dgram, enum ng_result want)
{
	char why[NG_REASON_MAX], cookie[NG_COOKIE_MAX + 1];
	const char *sp = strchr(dgram, ' ');
	ssize_t n = handle(f, dgram);

	assert_non_null(sp);
	snprintf(cookie, sizeof(cookie), "%.*s", (int)(sp - dgram), dgram);
	assert_true(n > 0);
	if (ng_reply_parse(out, (size_t)n, cookie, &rep, why, sizeof(why)))
		fail_msg("reply '%.*s' does not parse: %s", (int)n, out, why);
	if (rep.result != want)
		fail_msg("result %s (%s), want %s", ng_result_str(rep.result), rep.error_reason,
			 ng_result_str(want));
}

static void ping_is_pong(void **state)
{
	struct fixture *f = *state;
	ssize_t n = handle(f, "5323_1 d7:command4:pinge");

	assert_int_equal(n, strlen("5323_1 d6:result4:ponge"));
	assert_memory_equal(out, "5323_1 d6:result4:ponge", (size_t)n);
}

static void call_lifecycle(void **state)
{
	struct fixture *f = *state;
	char dgram[1024];
	const struct ng_stream *st;

	snprintf(dgram, sizeof(dgram), "k1 %s", kamailio_offer);
	roundtrip(f, dgram, NG_RESULT_OK);
	assert_non_null(rep.sdp);
	assert_non_null(memmem(rep.sdp, rep.sdp_len, "c=IN IP4 203.0.113.1", 20));
	assert_string_equal(rep.warning, "");
	assert_string_equal(f->stub.last.call_id, "a84b4c76e66710@pc33.test");

	roundtrip(f,
		  "k2 d7:command6:answer7:call-id24:a84b4c76e66710@pc33.test"
		  "8:from-tag10:19283017746:to-tag6:314159"
		  "3:sdp" SDP_LEN ":" SDP "e",
		  NG_RESULT_OK);
	assert_non_null(memmem(rep.sdp, rep.sdp_len, "m=audio 31000", 13));

	f->stub.now_ms = 10000;
	roundtrip(f, "k3 d7:command5:query7:call-id24:a84b4c76e66710@pc33.teste", NG_RESULT_OK);
	assert_true(rep.has_call);
	assert_int_equal(rep.call.created, 1700000000);
	assert_int_equal(rep.call.n_legs, 2);
	/* Legs come back sorted by tag. */
	assert_string_equal(rep.call.legs[0].tag, "1928301774");
	assert_string_equal(rep.call.legs[0].in_dialogue_with, "314159");
	assert_string_equal(rep.call.legs[1].tag, "314159");
	assert_string_equal(rep.call.legs[0].ice.state, "completed");
	assert_string_equal(rep.call.legs[0].ice.consent, "fresh");
	assert_true(rep.call.legs[0].ice.has_pair);
	assert_string_equal(rep.call.legs[0].ice.remote_type, "srflx");
	assert_int_equal(netaddr_port(&rep.call.legs[0].ice.remote), 40000);
	assert_int_equal(rep.call.legs[0].n_medias, 1);
	assert_string_equal(rep.call.legs[0].medias[0].protocol, "RTP/AVP");
	assert_int_equal(rep.call.legs[0].medias[0].flags,
			 NG_MEDIA_INITIALIZED | NG_MEDIA_ICE | NG_MEDIA_RTCP_MUX);
	st = &rep.call.legs[0].medias[0].streams[0];
	assert_int_equal(st->local_port, 30000);
	assert_true(st->kernelized);
	assert_int_equal(st->fastpath.packets, 10 * NG_STUB_FAST_PPS);
	assert_int_equal(st->userspace.packets, 10 * NG_STUB_USER_PPS);
	assert_int_equal(st->fastpath.bytes, 10 * NG_STUB_FAST_PPS * NG_STUB_PKT_BYTES);

	roundtrip(f, "k4 d7:command4:liste", NG_RESULT_OK);
	assert_int_equal(rep.n_calls, 1);
	assert_memory_equal(rep.calls[0].s, "a84b4c76e66710@pc33.test", rep.calls[0].len);

	roundtrip(f, "k5 d7:command10:statisticse", NG_RESULT_OK);
	assert_true(rep.has_statistics);
	assert_int_equal(rep.stats.sessions_own, 1);
	assert_int_equal(rep.stats.managed_sessions, 1);
	assert_int_equal(rep.stats.uptime_s, 10);
	assert_int_equal(rep.stats.fastpath.packets, 2 * 10 * NG_STUB_FAST_PPS);
	assert_int_equal(rep.stats.fastpath_flows, 2);

	roundtrip(f, "k6 d7:command6:delete7:call-id24:a84b4c76e66710@pc33.teste", NG_RESULT_OK);
	assert_true(rep.has_call); /* delete carries the final counters */
	roundtrip(f, "k7 d7:command6:delete7:call-id24:a84b4c76e66710@pc33.teste", NG_RESULT_OK);
	assert_string_equal(rep.warning, "call-id 'a84b4c76e66710@pc33.test' not found");
	roundtrip(f, "k8 d7:command6:delete7:call-id24:a84b4c76e66710@pc33.test5:flagsl5:fatalee",
		  NG_RESULT_ERROR);
	assert_string_equal(rep.error_reason, "unknown call-id 'a84b4c76e66710@pc33.test'");
	roundtrip(f, "k9 d7:command4:liste", NG_RESULT_OK);
	assert_int_equal(rep.n_calls, 0);
}

static void unknown_flags_warn(void **state)
{
	struct fixture *f = *state;

	roundtrip(f,
		  "w1 d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
		  "5:flagsl8:SDES-pad13:trust-addresse5:ptime7:passivee",
		  NG_RESULT_OK);
	assert_string_equal(rep.warning,
			    "unsupported flags ignored: SDES-pad; unsupported keys ignored: ptime");
}

static void cache_replays_byte_for_byte(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "c1 d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0e";
	uint8_t first[2048];
	ssize_t n1, n2;
	unsigned ops;

	n1 = handle(f, offer);
	assert_true(n1 > 0 && (size_t)n1 < sizeof(first));
	memcpy(first, out, (size_t)n1);
	ops = f->stub.ops_run;
	assert_int_equal(ng_server_cached(&f->srv), 1);

	/* A retransmission 29 s later: same bytes, handler not run again. */
	f->stub.now_ms += NG_CACHE_TTL_MS - 1000;
	n2 = handle(f, offer);
	assert_int_equal(n2, n1);
	assert_memory_equal(out, first, (size_t)n1);
	assert_int_equal(f->stub.ops_run, ops);
	assert_int_equal(f->srv.counters.cache_hits, 1);

	/* From another address: a different request. */
	netaddr_from_str(&f->from, "127.0.0.1", 40001);
	handle(f, offer);
	assert_int_equal(f->stub.ops_run, ops + 1);

	/* The same cookie with another body: executed, not answered from the cache. */
	handle(f, "c1 d7:command5:query7:call-id1:ce");
	assert_int_equal(f->stub.ops_run, ops + 2);

	/* After the TTL the entry is gone and the request runs again. */
	f->stub.now_ms += NG_CACHE_TTL_MS + 1;
	assert_true(handle(f, offer) > 0);
	assert_int_equal(f->stub.ops_run, ops + 3);
	assert_int_equal(f->srv.counters.cache_hits, 1);
}

static void cache_is_bounded(void **state)
{
	struct fixture *f = *state;
	char dgram[128];

	/* 8 slots: 20 distinct cookies leave at most 8 entries. */
	for (int i = 0; i < 20; i++) {
		snprintf(dgram, sizeof(dgram), "b%d d7:command4:pinge", i);
		assert_true(handle(f, dgram) > 0);
		assert_true(ng_server_cached(&f->srv) <= 8);
	}
	assert_int_equal(ng_server_cached(&f->srv), 8);
	/* The newest is still there, the oldest is not. */
	handle(f, "b19 d7:command4:pinge");
	assert_int_equal(f->srv.counters.cache_hits, 1);
	handle(f, "b0 d7:command4:pinge");
	assert_int_equal(f->srv.counters.cache_hits, 1);

	/* A byte budget: 400 bytes hold two ~170-byte offer replies, never more. */
	{
		struct ng_server small;
		struct ng_server_config cfg = {.cache_slots = 100, .cache_bytes = 400};
		ssize_t n = 0;

		assert_int_equal(ng_server_init(&small, &ng_stub_ops, &f->stub, &cfg), 0);
		for (int i = 0; i < 10; i++) {
			snprintf(dgram, sizeof(dgram),
				 "s%d d7:command5:offer7:call-id2:c%d8:from-tag1:f3:sdp3:v=0e", i,
				 i);
			n = ng_handle(&small, 0, NULL, (const uint8_t *)dgram, strlen(dgram), out,
				      sizeof(out));
			assert_true(n > 133 && n <= 200);
			assert_true(ng_server_cached(&small) * (size_t)n <= 400);
		}
		assert_int_equal(ng_server_cached(&small), 2);
		/* A reply larger than the whole budget is simply not cached. */
		cfg.cache_bytes = 100;
		ng_server_destroy(&small);
		assert_int_equal(ng_server_init(&small, &ng_stub_ops, &f->stub, &cfg), 0);
		n = ng_handle(&small, 0, NULL, (const uint8_t *)dgram, strlen(dgram), out,
			      sizeof(out));
		assert_true(n > 100);
		assert_int_equal(ng_server_cached(&small), 0);
		ng_server_destroy(&small);
	}
}

static void malformed_table(void **state)
{
	static const struct {
		const char *in;
		const char *why; /* NULL: no reply at all */
	} bad[] = {
		{"", NULL},
		{"nocookie", NULL},
		{" d7:command4:pinge", NULL},
		{"c\x01 d7:command4:pinge", NULL},
		{"0123456789012345678901234567890123456789012345678901234567890123456789 de", NULL},
		{"c ", "malformed bencode: offset 0: empty input"},
		{"c d7:command4:ping", "malformed bencode: offset 0: dictionary not closed"},
		{"c d7:command4:pingei1e", "trailing garbage"},
		{"c {\"command\":\"ping\"}", "JSON NG messages are not supported"},
		{"c l4:pinge", "request is a list, expected a dictionary"},
		{"c i1e", "request is a integer"},
		{"c de", "missing key 'command'"},
		{"c d4:spam4:eggse", "missing key 'command'"},
		{"c d7:commandi1ee", "command: expected a string, got integer"},
		{"c d7:command5:dancee", "unknown command 'dance'"},
		{"c d7:command15:start recordinge", "unknown command 'start recording'"},
		{"c d7:command5:offer7:call-id1:c8:from-tag1:fe", "offer: missing key 'sdp'"},
		{"c d7:command5:offer3:sdp3:v=08:from-tag1:fe", "offer: missing key 'call-id'"},
		{"c d7:command5:offer3:sdp3:v=07:call-id1:ce", "offer: missing key 'from-tag'"},
		{"c d7:command5:offer3:sdp0:7:call-id1:c8:from-tag1:fe", "offer: sdp is empty"},
		{"c d7:command6:answer3:sdp3:v=07:call-id1:c8:from-tag1:fe",
		 "answer: missing key 'to-tag'"},
		{"c d7:command5:querye", "query: missing key 'call-id'"},
		{"c d7:command6:deletee", "delete: missing key 'call-id'"},
		{"c d7:command5:query7:call-idi5ee", "call-id: expected a string, got integer"},
		{"c d7:command4:ping3:ICE9:sometimese",
		 "ICE: unknown value 'sometimes' (expected remove, force, default, force-relay, "
		 "optional)"},
		{"c d7:command4:ping8:ICE-lite2:upe", "ICE-lite: unknown value 'up'"},
		{"c d7:command4:ping5:flags13:trust-addresse",
		 "flags: expected a list, got string"},
		{"c d7:command4:ping5:flagsl13:trust-addressi1eee",
		 "flags[1]: expected a string, got integer"},
		{"c d7:command4:ping9:directionl4:privee",
		 "direction: expected two interface names [from, to], got 1 elements"},
		{"c d7:command4:ping8:supports10:load limite", "supports: expected a list, got string"},
		{"c d7:command4:ping8:supportsli1eee", "supports[0]: expected a string, got integer"},
		{"c d7:command4:ping8:supportsl4:jsonee" /* another relay's feature: fine */, ""},
		{"c d7:command4:ping13:received-froml3:IP512:192.168.1.20ee",
		 "received-from: unknown value 'IP5' (expected IP4, IP6)"},
		{"c d7:command4:ping13:received-froml3:IP49:not-an-ipee",
		 "received-from: 'not-an-ip' is not an IPv4 or IPv6 address"},
		{"c d7:command4:ping13:received-froml3:IP63:::1ee" /* ok: check family below */,
		 ""},
		{"c d7:command4:ping13:received-froml3:IP69:192.0.2.1ee",
		 "received-from: '192.0.2.1' is not an IPv6 address"},
		{"c d7:command4:ping18:transport-protocol7:RTP/XYZe",
		 "transport-protocol: unknown value 'RTP/XYZ'"},
		{"c d7:command4:list5:limiti0ee", "limit: must be > 0, got 0"},
		{"c d7:command4:list5:limit3:abce", "limit: 'abc' is not an integer"},
		{"c d7:command6:delete7:call-id1:c12:delete-delayi-1ee",
		 "delete-delay: -1 is negative"},
		/* now_ms + delay * 1000 must not wrap (issue 9) */
		{"c d7:command6:delete7:call-id1:c12:delete-delayi9223372036854775807ee",
		 "delete-delay: 9223372036854775807 s is more than 3600 s"},
		{"c d7:command6:delete7:call-id1:c12:delete-delayi3601ee",
		 "delete-delay: 3601 s is more than 3600 s"},
		{"c d7:command6:delete7:call-id1:c12:delete-delayi3600ee", ""},
		{"c d7:command4:ping14:address-family3:IP5e",
		 "address-family: unknown value 'IP5'"},
		{"c d7:command4:ping13:media-address5:bogose",
		 "media-address: 'bogos' is not an IPv4 or IPv6 address"},
		{"c d7:command4:ping1:ai1e1:ai2ee", "duplicate dictionary key 'a'"},
		{"c d7:command5:query7:call-id1:a7:call_id1:be",
		 "call-id given twice (as 'call_id' and another spelling)"},
		{"c d7:command4:ping7:COMMAND4:pinge", "command given twice"},
		{"c d7:command4:ping5:label1:a10:from-label1:be", "label given twice"},
	};
	struct fixture *f = *state;
	char why[NG_REASON_MAX], dgram[512];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t len = strlen(bad[i].in);
		ssize_t n;

		memcpy(dgram, bad[i].in, len);
		n = ng_handle(&f->srv, 0, &f->from, (const uint8_t *)dgram, len, out, sizeof(out));
		if (!bad[i].why) {
			if (n != 0)
				fail_msg("case %zu: expected no reply, got %zd", i, n);
			continue;
		}
		assert_true(n > 0);
		assert_int_equal(ng_reply_parse(out, (size_t)n, NULL, &rep, why, sizeof(why)), 0);
		if (!bad[i].why[0]) {
			if (rep.result == NG_RESULT_ERROR)
				fail_msg("case %zu: unexpected error '%s'", i, rep.error_reason);
			continue;
		}
		if (rep.result != NG_RESULT_ERROR || !strstr(rep.error_reason, bad[i].why))
			fail_msg("case %zu '%s': result %s, reason '%s', want '%s'", i, bad[i].in,
				 ng_result_str(rep.result), rep.error_reason, bad[i].why);
		/* rtpengine's rule: an error reply has result and error-reason only. */
		assert_null(memmem(out, (size_t)n, "warning", 7));
	}
	assert_int_equal(f->srv.counters.no_cookie, 5);
	assert_true(f->srv.counters.malformed >= 7);
}

static unsigned denied_seen;

static void count_denied(void *ctx, const struct netaddr *from, uint64_t denied)
{
	assert_non_null(from);
	assert_true(denied >= 1);
	denied_seen++;
}

/* --ng-allow: networks parse with their errors named; others get no reply at all. */
static void allow_list(void **state)
{
	static const struct {
		const char *list, *why; /* why NULL: valid */
	} cases[] = {
		{"192.0.2.10", NULL},
		{"198.51.100.0/24,2001:db8::/32", NULL},
		{"10.0.0.0/8, 127.0.0.1", NULL},
		{"0.0.0.0/0", NULL},
		{"", "empty allow-list"},
		{",", "empty allow-list"},
		{"192.0.2.300", "'192.0.2.300' is not an IPv4/IPv6 address"},
		{"example.com", "'example.com' is not an IPv4/IPv6 address"},
		{"192.0.2.0/33", "'192.0.2.0/33': prefix length must be 0-32"},
		{"2001:db8::/129", "prefix length must be 0-128"},
		{"192.0.2.0/", "prefix length must be 0-32"},
		{"192.0.2.0/x", "prefix length must be 0-32"},
		{"192.0.2.0/-1", "prefix length must be 0-32"},
	};
	struct ng_allow allow[NG_ALLOW_MAX];
	struct ng_server srv;
	struct ng_server_config cfg = {.allow = allow};
	struct netaddr a;
	char why[NG_REASON_MAX], buf[64];
	unsigned n;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		n = 0;
		why[0] = 0;
		rc = ng_allow_parse(cases[i].list, allow, NG_ALLOW_MAX, &n, why, sizeof(why));
		if (!cases[i].why && rc)
			fail_msg("'%s': refused: %s", cases[i].list, why);
		if (cases[i].why && (!rc || !strstr(why, cases[i].why)))
			fail_msg("'%s': rc %d, why '%s', want '%s'", cases[i].list, rc, why,
				 cases[i].why);
	}
	n = 0;
	assert_int_equal(ng_allow_parse("1.2.3.4,1.2.3.5,1.2.3.6", allow, 2, &n, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "more than 2 networks"));

	n = 0;
	assert_int_equal(ng_allow_parse("198.51.100.77/24,2001:db8::1/32,192.0.2.10", allow,
					NG_ALLOW_MAX, &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(ng_allow_str(&allow[0], buf, sizeof(buf)), "198.51.100.0/24");
	assert_string_equal(ng_allow_str(&allow[1], buf, sizeof(buf)), "2001:db8::/32");
	assert_string_equal(ng_allow_str(&allow[2], buf, sizeof(buf)), "192.0.2.10/32");
	netaddr_from_str(&a, "198.51.100.200", 5060);
	assert_true(ng_allow_match(allow, n, &a));
	netaddr_from_str(&a, "::ffff:198.51.100.1", 5060); /* v4 proxy on a [::] socket */
	assert_true(ng_allow_match(allow, n, &a));
	netaddr_from_str(&a, "198.51.101.1", 5060);
	assert_false(ng_allow_match(allow, n, &a));
	netaddr_from_str(&a, "192.0.2.11", 5060);
	assert_false(ng_allow_match(allow, n, &a));
	netaddr_from_str(&a, "2001:db8:ffff::1", 5060);
	assert_true(ng_allow_match(allow, n, &a));
	netaddr_from_str(&a, "2001:db9::1", 5060);
	assert_false(ng_allow_match(allow, n, &a));

	/* the server: allowed senders are served, others dropped and counted */
	cfg.n_allow = n;
	cfg.on_denied = count_denied;
	assert_int_equal(ng_server_init(&srv, &ng_stub_ops, NULL, &cfg), 0);
	netaddr_from_str(&a, "198.51.100.9", 5060);
	assert_true(ng_handle(&srv, 0, &a, (const uint8_t *)"c1 d7:command4:pinge", 20, out,
			      sizeof(out)) > 0);
	netaddr_from_str(&a, "203.0.113.9", 5060);
	assert_int_equal(ng_handle(&srv, 0, &a, (const uint8_t *)"c2 d7:command4:pinge", 20, out,
				   sizeof(out)),
			 0);
	assert_int_equal(ng_handle(&srv, 0, NULL, (const uint8_t *)"c3 d7:command4:pinge", 20,
				   out, sizeof(out)),
			 0);
	assert_int_equal(srv.counters.denied, 2);
	assert_int_equal(denied_seen, 1); /* the one with a sender address */
	assert_int_equal(srv.counters.requests, 3);
	assert_int_equal(srv.counters.commands[NG_CMD_PING], 1);
	ng_server_destroy(&srv);
	cfg.n_allow = NG_ALLOW_MAX + 1;
	assert_int_equal(ng_server_init(&srv, &ng_stub_ops, NULL, &cfg), -E2BIG);
}

/* Every prefix of a real offer: an error reply (or none, inside the cookie), never a crash. */
static void truncation_at_every_byte(void **state)
{
	struct fixture *f = *state;
	char dgram[1024], why[NG_REASON_MAX];
	size_t len = (size_t)snprintf(dgram, sizeof(dgram), "tr %s", kamailio_offer);

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1); /* exact size: ASan sees over-reads */
		ssize_t n;

		assert_non_null(p);
		memcpy(p, dgram, cut);
		n = ng_handle(&f->srv, cut, &f->from, p, cut, out, sizeof(out));
		free(p);
		if (cut < 3) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_true(n > 0);
		assert_int_equal(ng_reply_parse(out, (size_t)n, "tr", &rep, why, sizeof(why)), 0);
		if (rep.result != NG_RESULT_ERROR)
			fail_msg("prefix of %zu bytes accepted", cut);
	}
	assert_int_equal(f->stub.ops_run, 0);
}

/* "BUNDLE undemuxed" goes on the wire for a bundle transport's stream even
 * at 0, and only there: the client reads "bundle" from the key's presence. */
static void bundle_undemuxed_on_the_wire(void **state)
{
	static struct ng_reply in, back;
	char why[NG_REASON_MAX];
	ssize_t n;

	(void)state;
	for (int bundle = 0; bundle < 2; bundle++) {
		struct ng_stream *st;

		memset(&in, 0, sizeof(in));
		in.result = NG_RESULT_OK;
		in.has_call = true;
		in.call.n_legs = 1;
		strcpy(in.call.legs[0].tag, "browser");
		in.call.legs[0].n_medias = 1;
		in.call.legs[0].medias[0].index = 1;
		strcpy(in.call.legs[0].medias[0].type, "audio");
		strcpy(in.call.legs[0].medias[0].protocol, "UDP/TLS/RTP/SAVPF");
		in.call.legs[0].medias[0].n_streams = 1;
		st = &in.call.legs[0].medias[0].streams[0];
		st->local_port = 30000;
		st->bundle = bundle;
		n = ng_reply_encode("b", NG_CMD_QUERY, &in, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(!!memmem(out, (size_t)n, "16:BUNDLE undemuxedi0e", 22), bundle);
		assert_int_equal(ng_reply_parse(out, (size_t)n, "b", &back, why, sizeof(why)), 0);
		st = &back.call.legs[0].medias[0].streams[0];
		assert_int_equal(st->bundle, bundle);
		assert_int_equal(st->bundle_undemuxed, 0);
	}
	/* a count comes back as it went */
	in.call.legs[0].medias[0].streams[0].bundle_undemuxed = 7;
	n = ng_reply_encode("b", NG_CMD_QUERY, &in, out, sizeof(out));
	assert_int_equal(ng_reply_parse(out, (size_t)n, "b", &back, why, sizeof(why)), 0);
	assert_true(back.call.legs[0].medias[0].streams[0].bundle);
	assert_int_equal(back.call.legs[0].medias[0].streams[0].bundle_undemuxed, 7);
}

/* A call-id of 300 bytes is refused by name, not truncated. */
static void long_values_refused(void **state)
{
	struct fixture *f = *state;
	char dgram[1024], id[301], why[NG_REASON_MAX];
	ssize_t n;

	memset(id, 'x', 300);
	id[300] = 0;
	snprintf(dgram, sizeof(dgram), "L d7:command5:query7:call-id300:%se", id);
	n = handle(f, dgram);
	assert_int_equal(ng_reply_parse(out, (size_t)n, "L", &rep, why, sizeof(why)), 0);
	assert_string_equal(rep.error_reason, "call-id is 300 bytes; icepath accepts at most 255");

	/* A NUL byte inside an id could cut it short in a log or a map key. */
	static const char nul[] = "N d7:command5:query7:call-id3:a\0be";
	n = ng_handle(&f->srv, 0, &f->from, (const uint8_t *)nul, sizeof(nul) - 1, out,
		      sizeof(out));
	assert_int_equal(ng_reply_parse(out, (size_t)n, "N", &rep, why, sizeof(why)), 0);
	assert_string_equal(rep.error_reason, "call-id contains a NUL byte");
}

static int failing_offer(void *ctx, uint64_t now_ms, const struct ng_request *r,
			 struct ng_reply *p)
{
	return -ENOMEM;
}

static int duplicate_tags(void *ctx, uint64_t now_ms, const struct ng_request *r,
			  struct ng_reply *p)
{
	p->has_call = true;
	p->call.n_legs = 2;
	strcpy(p->call.legs[0].tag, "same");
	strcpy(p->call.legs[1].tag, "same");
	return 0;
}

static void handler_failures(void **state)
{
	static const struct ng_ops ops = {.offer = failing_offer, .query = duplicate_tags};
	struct ng_server srv;
	struct netaddr from;
	char why[NG_REASON_MAX];
	static const char offer[] = "x d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0e";
	ssize_t n;

	netaddr_from_str(&from, "127.0.0.1", 1);
	assert_int_equal(ng_server_init(&srv, &ops, NULL, NULL), 0);
	n = ng_handle(&srv, 0, &from, (const uint8_t *)offer, strlen(offer), out, sizeof(out));
	assert_int_equal(ng_reply_parse(out, (size_t)n, "x", &rep, why, sizeof(why)), 0);
	assert_string_equal(rep.error_reason, "offer failed: Cannot allocate memory");

	n = ng_handle(&srv, 0, &from, (const uint8_t *)"y d7:command4:liste", 19, out, sizeof(out));
	assert_int_equal(ng_reply_parse(out, (size_t)n, "y", &rep, why, sizeof(why)), 0);
	assert_string_equal(rep.error_reason, "command 'list' is not supported by this server");

	n = ng_handle(&srv, 0, &from, (const uint8_t *)"z d7:command5:query7:call-id1:ce", 32, out,
		      sizeof(out));
	assert_int_equal(ng_reply_parse(out, (size_t)n, "z", &rep, why, sizeof(why)), 0);
	assert_non_null(strstr(rep.error_reason, "cannot be encoded (duplicate tags)"));

	/* A reply larger than the buffer becomes an error that fits... */
	n = ng_handle(&srv, 0, &from, (const uint8_t *)"p d7:command4:pinge", 19, out, 18);
	assert_int_equal(n, 18); /* "p d6:result4:ponge" fits exactly */
	n = ng_handle(&srv, 0, NULL, (const uint8_t *)"q d7:command4:pinge", 19, out, 10);
	/* ...or, when not even that fits, a negative return and nothing cached. */
	assert_true(n < 0);
	ng_server_destroy(&srv);
	ng_server_destroy(&srv); /* idempotent */
	ng_server_destroy(NULL);
}

static void reply_too_big_for_buffer(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "t d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0e";
	char why[NG_REASON_MAX];
	ssize_t n;

	n = ng_handle(&f->srv, 0, &f->from, (const uint8_t *)offer, strlen(offer), out, 100);
	assert_true(n > 0 && n <= 100);
	assert_int_equal(ng_reply_parse(out, (size_t)n, "t", &rep, why, sizeof(why)), 0);
	assert_string_equal(rep.error_reason, "offer: reply does not fit in 100 bytes");
}

/* A reply as rtpengine itself writes it: spaced keys, no "icepath" keys. */
static void parse_rtpengine_query_reply(void **state)
{
	static const char r[] =
		"q1 d7:createdi1402064111e11:last signali1402064116e6:result2:ok"
		"4:tagsd10:cs6kn1rlocd7:createdi1402064111e16:in dialogue with8:0f0d2e18"
		"6:mediasld5:flagsl11:initialized3:ICEe5:indexi1e8:protocol7:RTP/AVP"
		"7:streamsld8:endpointd7:address10:192.0.2.106:family4:IPv44:porti57370ee"
		"5:flagsl3:RTP6:filled9:confirmed10:kernelizede10:local porti30018e"
		"5:statsd5:bytesi56950e6:errorsi0e7:packetsi343eee"
		"d8:endpointde5:flagsl4:RTCPe10:local porti30019e"
		"5:statsd5:bytesi164e6:errorsi0e7:packetsi2eeee4:type5:audioee"
		"3:tag10:cs6kn1rlocee"
		"6:totalsd4:RTCPd5:bytesi0e6:errorsi0e7:packetsi0ee3:RTPd5:bytesi56950e"
		"6:errorsi0e7:packetsi343eeee";
	char why[NG_REASON_MAX];

	if (ng_reply_parse((const uint8_t *)r, strlen(r), "q1", &rep, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(rep.result, NG_RESULT_OK);
	assert_int_equal(rep.call.last_signal, 1402064116);
	assert_int_equal(rep.call.n_legs, 1);
	assert_string_equal(rep.call.legs[0].tag, "cs6kn1rloc");
	assert_int_equal(rep.call.legs[0].medias[0].streams[0].local_port, 30018);
	/* No icepath split: a kernelized stream's counters are the fast path's. */
	assert_int_equal(rep.call.legs[0].medias[0].streams[0].fastpath.packets, 343);
	assert_int_equal(rep.call.legs[0].medias[0].streams[0].userspace.packets, 0);
	/* "endpoint": {} is a side not learnt yet. */
	assert_int_equal(netaddr_family(&rep.call.legs[0].medias[0].streams[1].endpoint),
			 AF_UNSPEC);
	assert_int_equal(rep.call.legs[0].medias[0].streams[1].userspace.packets, 2);
	assert_int_equal(rep.call.legs[0].medias[0].flags, NG_MEDIA_INITIALIZED | NG_MEDIA_ICE);
}

static void reply_parse_errors(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{"nocookie", "reply has no cookie"},
		{"other d6:result2:oke", "reply cookie 'other' does not match request 'c'"},
		{"c d6:result2:ok", "malformed reply: offset 0: dictionary not closed"},
		{"c l2:oke", "reply is a list"},
		{"c de", "reply has no 'result'"},
		{"c d6:result5:maybee", "unknown result 'maybe'"},
		{"c d6:resulti1ee", "result: expected a string, got integer"},
		{"c d6:result2:ok5:callsi1ee", "calls: expected a list"},
		{"c d6:result2:ok4:tagsl1:aee", "tags: expected a dictionary"},
		{"c d6:result2:ok7:created3:nowe", "created: 'now' is not an integer"},
	};
	char why[NG_REASON_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = ng_reply_parse((const uint8_t *)bad[i].in, strlen(bad[i].in), "c", &rep,
					why, sizeof(why));

		if (rc != -EINVAL || !strstr(why, bad[i].why))
			fail_msg("'%s': rc %d '%s', want '%s'", bad[i].in, rc, why, bad[i].why);
	}
}

static void warnings_append_and_truncate(void **state)
{
	memset(&rep, 0, sizeof(rep));
	ng_reply_warn(&rep, "one");
	ng_reply_warn(&rep, "two %d", 2);
	assert_string_equal(rep.warning, "one; two 2");
	ng_reply_warn(&rep, "two %d", 2); /* said already: not repeated */
	assert_string_equal(rep.warning, "one; two 2");
	for (int i = 0; i < 300; i++)
		ng_reply_warn(&rep, "more text %d about a flag icepathd does not know", i);
	assert_true(strlen(rep.warning) < sizeof(rep.warning));
	/* never cut mid-sentence: what is there are whole sentences, then the
	 * marker (issue 12: "...the reply cuts its warning off mid-sentence") */
	{
		const char *m = strstr(rep.warning, "; (more warnings left out)");
		const char *last;

		assert_non_null(m);
		assert_string_equal(m, "; (more warnings left out)");
		last = m;
		while (last > rep.warning && last[-1] != ';')
			last--;
		assert_true(m - last > 10);
		assert_non_null(strstr(last, "does not know"));
		assert_memory_equal(m - strlen("does not know"), "does not know",
				    strlen("does not know"));
	}
}

/* DTLS, DTLS-reverse and SDES as rtpengine and Kamailio spell them. */
static void parse_dtls_sdes(void **state)
{
	static const char *const ok =
		"d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=04:DTLS3:off"
		"12:DTLS-reverse7:passive5:flagsl8:SDES-off31:SDES-no-AES_CM_128_HMAC_SHA1_32e"
		"4:SDESl21:only-AEAD_AES_256_GCMee";
	char why[NG_REASON_MAX];
	uint8_t enc[512];
	ssize_t n;

	(void)state;
	assert_int_equal(parse(ok, why, sizeof(why)), 0);
	assert_int_equal(req.dtls, NG_DTLS_OFF);
	assert_int_equal(req.dtls_reverse, NG_DTLS_PASSIVE);
	assert_true(req.sdes_off);
	assert_int_equal(req.sdes_no, 1u << 2);
	assert_int_equal(req.sdes_only, 1u << 4);
	assert_int_equal(req.n_unknown_flags, 0);
	assert_int_equal(req.n_unknown_keys, 0);
	/* the client side writes what it read */
	snprintf(req.cookie, sizeof(req.cookie), "k");
	n = ng_request_encode(&req, enc, sizeof(enc));
	assert_true(n > 0);
	assert_non_null(memmem(enc, (size_t)n, "4:DTLS3:off12:DTLS-reverse7:passive", 35));
	assert_non_null(memmem(enc, (size_t)n, "4:SDESl3:off", 12));
	assert_int_equal(parse("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=04:DTLS2:noe",
			       why, sizeof(why)),
			 0);
	assert_int_equal(req.dtls, NG_DTLS_OFF);
	/* key=value clients: rtcp-mux and SDES as one string */
	assert_int_equal(parse("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
			       "4:SDES3:off8:rtcp-mux5:demuxe",
			       why, sizeof(why)),
			 0);
	assert_true(req.sdes_off);
	assert_int_equal(req.rtcp_mux, NG_RTCP_MUX_DEMUX);
	assert_int_equal(parse("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
			       "4:DTLS9:sometimese",
			       why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "DTLS: unknown value 'sometimes'"));
	assert_int_equal(parse("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
			       "4:SDESl6:no-RC4ee",
			       why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "SDES: unknown value 'no-RC4'"));
	assert_int_equal(parse("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp3:v=0"
			       "4:SDESi3ee",
			       why, sizeof(why)),
			 -EINVAL);
}

/* The socket helpers the daemon's event loop uses, over loopback. */
static void serve_over_udp(void **state)
{
	struct fixture *f = *state;
	struct netaddr addr;
	socklen_t alen = sizeof(addr);
	uint8_t buf[256];
	int fd, cl;

	netaddr_from_str(&addr, "127.0.0.1", 0);
	fd = ng_server_listen(&addr);
	assert_true(fd >= 0);
	assert_int_equal(getsockname(fd, &addr.sa, &alen), 0);
	/* The same port twice: the error names the cause. */
	assert_int_equal(ng_server_listen(&addr), -EADDRINUSE);
	/* Nothing waiting: 0 handled, no blocking. */
	assert_int_equal(ng_server_serve(&f->srv, fd, 0, 0), 0);

	cl = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(cl >= 0);
	assert_int_equal(connect(cl, &addr.sa, netaddr_len(&addr)), 0);
	for (int i = 0; i < 3; i++) {
		char dg[64];
		int n = snprintf(dg, sizeof(dg), "u%d d7:command4:pinge", i);

		assert_int_equal(send(cl, dg, (size_t)n, 0), n);
	}
	/* At most max per call, then the rest. */
	assert_int_equal(ng_server_serve(&f->srv, fd, 0, 2), 2);
	assert_int_equal(ng_server_serve(&f->srv, fd, 0, 0), 1);
	for (int i = 0; i < 3; i++) {
		char want[64];
		ssize_t n = recv(cl, buf, sizeof(buf), 0);
		int wn = snprintf(want, sizeof(want), "u%d d6:result4:ponge", i);

		assert_int_equal(n, wn);
		assert_memory_equal(buf, want, (size_t)wn);
	}
	assert_int_equal(f->srv.counters.send_errors, 0);
	close(cl);
	close(fd);
}

static void names(void **state)
{
	assert_string_equal(ng_command_str(NG_CMD_STATISTICS), "statistics");
	assert_string_equal(ng_command_str(NG_CMD__COUNT), "unknown");
	assert_string_equal(ng_flag_str(NG_FLAG_TRICKLE_ICE), "trickle-ICE");
	assert_null(ng_flag_str(NG_FLAG_TRICKLE_ICE | NG_FLAG_RESET));
	assert_string_equal(ng_replace_str(NG_REPLACE_ORIGIN), "origin");
	assert_string_equal(ng_rtcp_mux_str(NG_RTCP_MUX_REQUIRE), "require");
	assert_string_equal(ng_transport_str(NG_TRANSPORT_UDP_TLS_RTP_SAVPF), "UDP/TLS/RTP/SAVPF");
	assert_string_equal(ng_ice_str(NG_ICE_FORCE_RELAY), "force-relay");
	assert_string_equal(ng_ice_lite_str(NG_ICE_LITE_OFF), "off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_kamailio_offer),
		cmocka_unit_test(parse_spaced_spellings),
		cmocka_unit_test(parse_unknown_flags_and_keys),
		cmocka_unit_test(request_encode_round_trip),
		cmocka_unit_test_setup_teardown(ping_is_pong, setup, teardown),
		cmocka_unit_test_setup_teardown(call_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_flags_warn, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_replays_byte_for_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_table, setup, teardown),
		cmocka_unit_test(allow_list),
		cmocka_unit_test(bundle_undemuxed_on_the_wire),
		cmocka_unit_test_setup_teardown(truncation_at_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(long_values_refused, setup, teardown),
		cmocka_unit_test(handler_failures),
		cmocka_unit_test_setup_teardown(reply_too_big_for_buffer, setup, teardown),
		cmocka_unit_test(parse_rtpengine_query_reply),
		cmocka_unit_test(reply_parse_errors),
		cmocka_unit_test(warnings_append_and_truncate),
		cmocka_unit_test(parse_dtls_sdes),
		cmocka_unit_test_setup_teardown(serve_over_udp, setup, teardown),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
