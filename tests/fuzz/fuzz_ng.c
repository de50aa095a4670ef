// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: NG datagrams through ng_handle() with the stub call
 * table (tools/ng-fake/ng_stub.h). Every reply must parse back with the request's
 * cookie, and the same datagram sent again must get the same bytes from
 * the cookie cache without running a handler.
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
	return 0;
}
