// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: NG datagrams through ng_handle() with the stub call
 * table (tools/ng-fake/ng_stub.h). Every reply must parse back with the request's
 * cookie, and the same datagram sent again must get the same bytes from
 * the cookie cache without running a handler. The same again through a
 * server in hold mode whose offers park (every other input): nothing leaves
 * before ng_server_release(), a parked request's retransmission runs
 * nothing, and what is released parses, once per copy answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/ng.h"
#include "../../tools/ng-fake/ng_stub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ng_server srv;
static struct ng_stub stub;
static uint8_t out1[NG_DGRAM_MAX], out2[NG_DGRAM_MAX];
static struct ng_reply rep;

static struct ng_server hsrv;
static struct ng_stub hstub;
static bool park_next;
static uint64_t parked_token;
static unsigned released;
static const char *release_cookie;

static int park_offer(void *ctx, uint64_t now_ms, const struct ng_request *req,
		      struct ng_reply *r)
{
	if (park_next) {
		parked_token = r->token;
		return NG_PENDING;
	}
	return ng_stub_offer(ctx, now_ms, req, r);
}

static const struct ng_ops park_ops = {
	.offer = park_offer,
	.answer = ng_stub_answer,
	.delete_call = ng_stub_delete,
	.query = ng_stub_query,
	.list = ng_stub_list,
	.statistics = ng_stub_statistics,
};

static void on_release(void *ctx, const struct netaddr *to, const uint8_t *d, size_t len)
{
	static struct ng_reply r;
	char why[NG_REASON_MAX];

	(void)ctx;
	if (!to || ng_reply_parse(d, len, release_cookie, &r, why, sizeof(why)))
		abort();
	released++;
}

/* The held server: 0 from ng_handle() always; the release tells. */
static void held(const uint8_t *data, size_t size, const struct netaddr *from,
		 const char *cookie)
{
	unsigned ops, want;
	bool parked;

	park_next = size & 1;
	hstub.now_ms += 1000;
	if (ng_handle(&hsrv, hstub.now_ms, from, data, size, out2, sizeof(out2)) != 0)
		abort();
	parked = ng_server_pending(&hsrv) > 0;
	ops = hstub.ops_run;
	if (ng_handle(&hsrv, hstub.now_ms, from, data, size, out2, sizeof(out2)) != 0 ||
	    hstub.ops_run != ops)
		abort();
	if (parked) {
		struct ng_reply *c = ng_server_reply(&hsrv);

		if (ng_server_held(&hsrv) || ng_server_complete(&hsrv, hstub.now_ms, parked_token, c) ||
		    ng_server_pending(&hsrv))
			abort();
	}
	want = !cookie ? 0 : parked ? 1 : 2;
	released = 0;
	release_cookie = cookie;
	if (ng_server_release(&hsrv, on_release, NULL) != want || released != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct ng_str ck, body;
	char cookie[NG_COOKIE_MAX + 1], why[NG_REASON_MAX];
	struct netaddr from;
	ssize_t n1, n2;
	unsigned ops;

	if (!ready) {
		struct ng_server_config cfg = {.cache_slots = 64, .cache_bytes = 1 << 20};

		if (ng_server_init(&srv, &ng_stub_ops, &stub, &cfg))
			abort();
		cfg.hold = true;
		if (ng_server_init(&hsrv, &park_ops, &hstub, &cfg))
			abort();
		ready = true;
	}
	if (size > NG_DGRAM_MAX)
		return 0;
	/* The client side parses untrusted replies: the same bytes as a reply. */
	ng_reply_parse(data, size, NULL, &rep, why, sizeof(why));
	stub.now_ms += 1000;
	netaddr_from_str(&from, "127.0.0.1", 5060);
	n1 = ng_handle(&srv, stub.now_ms, &from, data, size, out1, sizeof(out1));
	if (n1 < 0)
		abort(); /* out1 is large enough for any error reply */
	if (n1 == 0) {
		if (ng_split_cookie(data, size, &ck, &body) == 0)
			abort(); /* a cookie always gets an answer */
		held(data, size, &from, NULL);
		return 0;
	}
	if (ng_split_cookie(data, size, &ck, &body))
		abort();
	memcpy(cookie, ck.s, ck.len);
	cookie[ck.len] = 0;
	if (ng_reply_parse(out1, (size_t)n1, cookie, &rep, why, sizeof(why)))
		abort(); /* our own reply must be valid */

	ops = stub.ops_run;
	n2 = ng_handle(&srv, stub.now_ms, &from, data, size, out2, sizeof(out2));
	if (n2 != n1 || memcmp(out1, out2, (size_t)n1) || stub.ops_run != ops)
		abort();
	held(data, size, &from, cookie);
	return 0;
}
