// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_limits: --max-sessions refuses the call past the limit with
 * rtpengine's reason and creates nothing of it; an offer with a known
 * call-id and a from-tag that is no party of the call is refused instead of
 * taking over leg B; RLIMIT_NOFILE is raised at start to what the port
 * range needs. The relay runs on loopback with --xdp off, as in test_relay.
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
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/relay.h"
#include "daemon/relay_limits.h"
#include "icepath/sdp.h"

struct fixture {
	struct daemon_opts o;
	struct relay r;
	char dir[64];
	char sdp_out[8192];
	struct ng_reply rep;
};

/* A relay with a port range of its own and extra options (NULL-terminated). */
static struct fixture *start(const char *const *extra, unsigned nports)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char pmin[8], pmax[8], state_file[96], err[256];
	/* a range of our own per process: tests may run side by side */
	unsigned base = 21000 + (unsigned)(getpid() % 200) * 40;
	const char *argv[32] = {"icepathd",   "--interface", "lo=127.0.0.1", "--xdp",
				"off",	      "--port-min",  pmin,	     "--port-max",
				pmax,	      "--inactivity-timeout", "0", "--listen-ng", "127.0.0.1:0", "--state-file",
				state_file};
	int argc = 15;

	assert_non_null(f);
	if (nports > 40)
		base = 46000;
	snprintf(pmin, sizeof(pmin), "%u", base);
	snprintf(pmax, sizeof(pmax), "%u", base + nports - 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-relay-limits-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(state_file, sizeof(state_file), "%s/calls.state", f->dir);
	for (; extra && *extra; extra++)
		argv[argc++] = *extra;
	daemon_opts_defaults(&f->o);
	if (daemon_opts_parse(&f->o, argc, (char *const *)argv, err, sizeof(err)))
		fail_msg("options refused: %s", err);
	daemon_log_set_level(DAEMON_LOG_ERROR);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	return f;
}

static void stop(struct fixture *f)
{
	char path[128];

	relay_shutdown(&f->r);
	snprintf(path, sizeof(path), "%s/calls.state", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
}

static const char offer_sdp[] = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
				"t=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=sendrecv\r\n";
static const char answer_sdp[] = "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
				 "t=0 0\r\nm=audio 20002 RTP/AVP 0\r\na=sendrecv\r\n";
static const char evil_sdp[] = "v=0\r\no=e 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\n"
			       "t=0 0\r\nm=audio 6666 RTP/AVP 0\r\na=sendrecv\r\n";

static bool supports_load_limit; /* the next requests say "supports": ["load limit"] */

static int ng(struct fixture *f, enum ng_command cmd, const char *call, const char *from,
	      const char *to, const char *sdp)
{
	struct ng_request req;

	ng_request_init(&req, cmd);
	req.supports_load_limit = supports_load_limit;
	snprintf(req.call_id, sizeof(req.call_id), "%s", call);
	snprintf(req.from_tag, sizeof(req.from_tag), "%s", from ? from : "");
	snprintf(req.to_tag, sizeof(req.to_tag), "%s", to ? to : "");
	if (sdp) {
		req.sdp.s = sdp;
		req.sdp.len = strlen(sdp);
	}
	memset(&f->rep, 0, sizeof(f->rep));
	f->rep.sdp = f->sdp_out;
	f->rep.sdp_cap = sizeof(f->sdp_out);
	switch (cmd) {
	case NG_CMD_OFFER:
		return relay_ng_ops.offer(&f->r, f->r.now_ms, &req, &f->rep);
	case NG_CMD_ANSWER:
		return relay_ng_ops.answer(&f->r, f->r.now_ms, &req, &f->rep);
	case NG_CMD_DELETE:
		return relay_ng_ops.delete_call(&f->r, f->r.now_ms, &req, &f->rep);
	default:
		return relay_ng_ops.query(&f->r, f->r.now_ms, &req, &f->rep);
	}
}

static void max_sessions_refuses_the_next_call(void **state)
{
	static const char *const extra[] = {"--max-sessions", "2", NULL};
	struct fixture *f = start(extra, 40);
	size_t used;

	assert_int_equal(ng(f, NG_CMD_OFFER, "c1", "a1", NULL, offer_sdp), 0);
	assert_int_equal(ng(f, NG_CMD_OFFER, "c2", "a2", NULL, offer_sdp), 0);
	used = f->r.ports.nused;
	assert_int_equal(ng(f, NG_CMD_OFFER, "c3", "a3", NULL, offer_sdp), -ENOSPC);
	assert_int_equal(f->rep.result, NG_RESULT_ERROR);
	assert_string_equal(f->rep.error_reason,
			    "Parallel session limit reached (--max-sessions 2)");
	/* nothing of the refused call exists: no call, no port */
	assert_int_equal(f->r.calls.ncalls, 2);
	assert_null(call_find(&f->r.calls, "c3"));
	assert_int_equal(f->r.ports.nused, used);
	/* calls that exist go on: a re-offer and an answer */
	assert_int_equal(ng(f, NG_CMD_OFFER, "c1", "a1", NULL, offer_sdp), 0);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "c1", "a1", "b1", answer_sdp), 0);
	/* one deleted: room for the next */
	assert_int_equal(ng(f, NG_CMD_DELETE, "c2", "a2", NULL, NULL), 0);
	assert_int_equal(ng(f, NG_CMD_OFFER, "c3", "a3", NULL, offer_sdp), 0);
	assert_int_equal(f->r.calls.ncalls, 2);
	/* a client that understands "load limit" (Kamailio's module) gets it
	 * as the result, rtpengine's way, and tries its next relay; the reply
	 * says why in "message" */
	supports_load_limit = true;
	assert_int_equal(ng(f, NG_CMD_OFFER, "c4", "a4", NULL, offer_sdp), -ENOSPC);
	supports_load_limit = false;
	assert_int_equal(f->rep.result, NG_RESULT_LOAD_LIMIT);
	{
		uint8_t out[512];
		ssize_t n = ng_reply_encode("k", NG_CMD_OFFER, &f->rep, out, sizeof(out) - 1);

		assert_true(n > 0);
		out[n] = 0;
		assert_string_equal((char *)out,
				    "k d7:message49:Parallel session limit reached (--max-sessions 2)"
				    "6:result10:load limite");
	}
	assert_null(call_find(&f->r.calls, "c4"));
	stop(f);
}

/* rtpengine: another from-tag on a known call-id is another party, never the existing one. */
static void offer_cannot_take_over_a_leg(void **state)
{
	struct fixture *f = start(NULL, 40);
	struct call *c;
	struct netaddr b_remote;

	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "ta", NULL, offer_sdp), 0);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "call", "ta", "tb", answer_sdp), 0);
	c = call_find(&f->r.calls, "call");
	assert_non_null(c);
	b_remote = c->legs[1].streams[0].remote[0];

	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "evil", NULL, evil_sdp), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "from-tag 'evil' is not a party of this call"));
	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "evil", "ta", evil_sdp), -EINVAL);
	/* a known from-tag cannot rename the other party either */
	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "ta", "evil", evil_sdp), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "to-tag 'evil' is not the other party"));
	assert_string_equal(c->legs[0].tag, "ta");
	assert_string_equal(c->legs[1].tag, "tb");
	assert_true(netaddr_equal(&c->legs[1].streams[0].remote[0], &b_remote));
	assert_true(netaddr_port(&c->legs[0].streams[0].remote[0]) == 20000);

	/* the parties themselves re-offer: the caller, and the callee (re-INVITE) */
	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "ta", "tb", offer_sdp), 0);
	assert_int_equal(ng(f, NG_CMD_OFFER, "call", "tb", "ta", answer_sdp), 0);

	/* before the answer: the callee's re-offer names the caller in its to-tag */
	assert_int_equal(ng(f, NG_CMD_OFFER, "early", "ta", NULL, offer_sdp), 0);
	assert_int_equal(ng(f, NG_CMD_OFFER, "early", "other", NULL, evil_sdp), -EINVAL);
	assert_int_equal(ng(f, NG_CMD_OFFER, "early", "tb", "ta", answer_sdp), 0);
	c = call_find(&f->r.calls, "early");
	assert_string_equal(c->legs[1].tag, "tb");
	stop(f);
}

static void fd_limit_raised_for_the_port_range(void **state)
{
	struct rlimit saved, rl;
	struct daemon_opts o;
	struct fixture *f;

	/* the figures: one descriptor per port, 4 per m= line */
	daemon_opts_defaults(&o);
	assert_int_equal(relay_limits_fds_needed(&o), 10001 + RELAY_LIMITS_FD_RESERVE);
	o.max_sessions = 100; /* 100 calls of 8 m= lines: 3200 */
	assert_int_equal(relay_limits_fds_needed(&o), 3200 + RELAY_LIMITS_FD_RESERVE);
	o.max_sessions = 10000;
	assert_int_equal(relay_limits_fds_needed(&o), 10001 + RELAY_LIMITS_FD_RESERVE);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2000 + RELAY_LIMITS_FD_RESERVE) {
		print_message("hard RLIMIT_NOFILE %llu: cannot check the raise\n",
			      (unsigned long long)saved.rlim_max);
		return;
	}
	rl = saved;
	rl.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	f = start(NULL, 2000);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(rl.rlim_cur >= 2000 + RELAY_LIMITS_FD_RESERVE);
	stop(f);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(max_sessions_refuses_the_next_call),
		cmocka_unit_test(offer_cannot_take_over_a_leg),
		cmocka_unit_test(fd_limit_raised_for_the_port_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
