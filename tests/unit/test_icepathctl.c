// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepathctl's output: tables, top rates and JSON, printed into memory from
 * replies built by the stub call table. The tool's format.c is compiled in
 * here (tools are not part of libicepath).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/icepathctl/format.c"
#include "../../tools/ng-fake/ng_stub.h"

static char *buf;
static size_t buf_len;

static FILE *mem(void)
{
	free(buf);
	buf = NULL;
	FILE *f = open_memstream(&buf, &buf_len);

	assert_non_null(f);
	return f;
}

/* Offer + answer a call in the stub and query it at now_ms. */
static void stub_call(struct ng_stub *st, struct ng_reply *rep, uint64_t now_ms)
{
	struct ng_request req;

	memset(rep, 0, sizeof(*rep));
	ng_request_init(&req, NG_CMD_QUERY);
	strcpy(req.call_id, "call-A");
	st->now_ms = now_ms;
	assert_int_equal(ng_stub_query(st, now_ms, &req, rep), 0);
}

static struct ng_stub *new_stub(void)
{
	static struct ng_stub st;
	struct ng_request req;
	static struct ng_reply rep;
	char sdp[512];

	memset(&st, 0, sizeof(st));
	st.epoch_s = 1700000000;
	ng_request_init(&req, NG_CMD_OFFER);
	strcpy(req.call_id, "call-A");
	strcpy(req.from_tag, "alice");
	rep.sdp = sdp;
	rep.sdp_cap = sizeof(sdp);
	assert_int_equal(ng_stub_offer(&st, 0, &req, &rep), 0);
	strcpy(req.to_tag, "bob");
	assert_int_equal(ng_stub_answer(&st, 0, &req, &rep), 0);
	return &st;
}

static void query_table(void **state)
{
	static struct ng_reply rep;
	struct ng_stub *st = new_stub();
	FILE *f;

	stub_call(st, &rep, 2000);
	f = mem();
	ctl_print_query(f, "call-A", &rep, 1700000030);
	fclose(f);
	assert_non_null(strstr(buf, "call call-A\n"));
	assert_non_null(strstr(buf, "created 2023-11-14 22:13:20 UTC (30 s ago)"));
	assert_non_null(strstr(buf, "  alice            -            completed    fresh    host "
				    "203.0.113.1:30000 -> srflx 198.51.100.7:40000\n"));
	assert_non_null(strstr(buf, "  leg bob in dialogue with alice\n"));
	assert_non_null(strstr(buf, "    media 1 audio RTP/AVP ICE rtcp-mux\n"));
	assert_non_null(strstr(buf,
			       "      RTP  local 30000  peer 198.51.100.7:40000     fastpath   "
			       "fast 100 pkts 20000 B  user 10 pkts 2000 B  errors 0 (foreign 0)\n"));
	/* the bundle transport of a demuxed leg says what matched no m= line,
	 * 0 included; other streams say nothing of it */
	assert_null(strstr(buf, "bundle undemuxed"));
	rep.call.legs[0].medias[0].streams[0].bundle = true;
	f = mem();
	ctl_print_query(f, "call-A", &rep, 1700000030);
	fclose(f);
	assert_non_null(strstr(buf, "errors 0 (foreign 0)  bundle undemuxed 0\n"));
	rep.call.legs[0].medias[0].streams[0].bundle_undemuxed = 12;
	f = mem();
	ctl_print_query(f, "call-A", &rep, 1700000030);
	fclose(f);
	assert_non_null(strstr(buf, "errors 0 (foreign 0)  bundle undemuxed 12\n"));
}

static void stats_table(void **state)
{
	struct ng_statistics s = {
		.uptime_s = 7,
		.sessions_own = 2,
		.fastpath_flows = 4,
		.fastpath = {1000, 200000, 1},
		.userspace = {10, 2000, 0},
	};
	FILE *f = mem();

	ctl_print_stats(f, &s);
	fclose(f);
	assert_non_null(strstr(buf, "calls now                  2\n"));
	assert_non_null(strstr(buf, "fast path flows            4\n"));
	assert_non_null(strstr(buf, "fast path (XDP)            1000 pkts  200000 B  1 errors\n"));
}

static void top_rates(void **state)
{
	static struct ng_reply rep;
	struct ng_stub *st = new_stub();
	struct ctl_top_row a, b;
	struct ng_statistics s = {.sessions_own = 1, .fastpath_flows = 2};
	FILE *f;

	stub_call(st, &rep, 1000);
	ctl_top_fill(&a, "call-A", &rep);
	ctl_top_rate(&a, NULL, 0);
	assert_false(a.has_rate);
	assert_int_equal(a.legs, 2);
	assert_string_equal(a.ice, "completed/completed");
	/* Two legs, one RTP stream each: 2 * 50 packets in the first second. */
	assert_int_equal(a.fast_pkts, 2 * NG_STUB_FAST_PPS);
	assert_int_equal(a.user_pkts, 2 * NG_STUB_USER_PPS);

	stub_call(st, &rep, 3000);
	ctl_top_fill(&b, "call-A", &rep);
	ctl_top_rate(&b, &a, 2000);
	assert_true(b.has_rate);
	assert_true(b.fast_pps == 2.0 * NG_STUB_FAST_PPS);
	assert_true(b.user_pps == 2.0 * NG_STUB_USER_PPS);
	/* Counters going backwards (call replaced): no rate rather than a huge one. */
	ctl_top_rate(&a, &b, 1000);
	assert_false(a.has_rate);

	f = mem();
	ctl_print_top(f, &b, 1, &s, "127.0.0.1:2223", 1700000000);
	fclose(f);
	assert_non_null(strstr(buf, "icepath 127.0.0.1:2223  2023-11-14 22:13:20 UTC  calls 1  "
				    "fast path flows 2  up 0 s\n"));
	assert_non_null(strstr(buf, "call-A                              2 completed/completed  "
				    "        100         10          300           30\n"));

	f = mem();
	ctl_print_top(f, NULL, 0, &s, "x", 0);
	fclose(f);
	assert_non_null(strstr(buf, "(no calls)"));

	f = mem();
	ctl_print_top_json(f, &b, 1, &s, 5);
	fclose(f);
	assert_string_equal(buf,
			    "{\"time\": 5, \"calls now\": 1, \"fastpath flows\": 2, \"calls\": "
			    "[{\"call-id\": \"call-A\", \"legs\": 2, \"ice\": "
			    "\"completed/completed\", \"gone\": false, \"fastpath packets\": "
			    "300, \"userspace packets\": 30, \"fastpath bytes\": 60000, "
			    "\"userspace bytes\": 6000, \"fastpath pps\": 100.0, "
			    "\"userspace pps\": 10.0}]}\n");
}

static void json_output(void **state)
{
	static const char body[] = "d1:ai-3e1:bl0:4:\"q\\\"e1:cde2:\xc3\xa9"
				   "3:\x01\xff\ne";
	FILE *f = mem();

	assert_int_equal(ctl_json(f, (const uint8_t *)body, sizeof(body) - 1), 0);
	fclose(f);
	assert_string_equal(buf, "{\n"
				 "  \"a\": -3,\n"
				 "  \"b\": [\n"
				 "    \"\",\n"
				 "    \"\\\"q\\\\\\\"\"\n"
				 "  ],\n"
				 "  \"c\": {},\n"
				 "  \"\xc3\xa9\": \"\\u0001\\u00ff\\n\"\n"
				 "}\n");
	f = mem();
	assert_true(ctl_json(f, (const uint8_t *)"d1:a", 4) < 0);
	fclose(f);
	free(buf);
	buf = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_table),
		cmocka_unit_test(stats_table),
		cmocka_unit_test(top_rates),
		cmocka_unit_test(json_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
