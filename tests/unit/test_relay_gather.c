// SPDX-License-Identifier: GPL-2.0-only
/*
 * Defect 6 of issue 11, over the daemon's real NG socket on a virtual
 * clock: with --stun, the NG reply to an offer waits for the leg's
 * gathering (bounded by --gather-timeout), then carries every candidate
 * and a=end-of-candidates. Here the STUN server never answers: the reply
 * leaves exactly at the gather timeout, with the host candidate only; a
 * retransmission meanwhile runs nothing (one call), and is answered by the
 * same reply. Without --stun the reply leaves in the same turn.
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

#include "daemon/relay.h"

struct fixture {
	struct daemon_opts o;
	struct relay r;
	char dir[64], state[96];
	int cl;	  /* the NG client's socket */
	int stun; /* a "STUN server" that reads nothing and answers nothing */
	struct netaddr ng, stun_addr;
	uint64_t now;
	char reply[8192];
};

static uint64_t vclock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static int udp_bound(struct netaddr *addr)
{
	socklen_t l = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	netaddr_from_str(addr, "127.0.0.1", 0);
	assert_int_equal(bind(fd, &addr->sa, netaddr_len(addr)), 0);
	assert_int_equal(getsockname(fd, &addr->sa, &l), 0);
	return fd;
}

static struct fixture *start(const char *gather_timeout, bool with_stun)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char pmin[8], pmax[8], err[256], stun[64];
	unsigned base = 24000 + (unsigned)(getpid() % 100) * 40;
	socklen_t l = sizeof(f->ng);
	char *argv[] = {"icepathd",
			"--interface",
			"lo=127.0.0.1",
			"--xdp",
			"off",
			"--port-min",
			pmin,
			"--port-max",
			pmax,
			"--inactivity-timeout",
			"0",
			"--listen-ng",
			"127.0.0.1:0",
			"--state-file",
			f->state,
			"--gather-timeout",
			(char *)gather_timeout,
			"--stun",
			stun};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - (with_stun ? 0 : 2);

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-relay-gather-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/calls.state", f->dir);
	snprintf(pmin, sizeof(pmin), "%u", base);
	snprintf(pmax, sizeof(pmax), "%u", base + 39);
	f->stun = udp_bound(&f->stun_addr);
	snprintf(stun, sizeof(stun), "127.0.0.1:%u", netaddr_port(&f->stun_addr));
	daemon_log_set_level(DAEMON_LOG_ERROR);
	daemon_opts_defaults(&f->o);
	if (daemon_opts_parse(&f->o, argc, argv, err, sizeof(err)))
		fail_msg("options refused: %s", err);
	f->now = 7000000;
	assert_int_equal(relay_init_clock(&f->r, &f->o, vclock, &f->now), 0);
	assert_int_equal(getsockname(f->r.ng.fd, &f->ng.sa, &l), 0);
	f->cl = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->cl >= 0);
	return f;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	relay_shutdown(&f->r);
	close(f->cl);
	close(f->stun);
	unlink(f->state);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* An ICE offerer (leg A) with one host candidate; ICE=force toward B. */
#define SDP_ICE                                                                          \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"     \
	"m=audio 20000 RTP/AVP 0\r\na=rtcp-mux\r\na=ice-ufrag:peer\r\n"                 \
	"a=ice-pwd:peerpasswordpeerpassword\r\n"                                         \
	"a=candidate:1 1 udp 2122260223 127.0.0.1 20000 typ host\r\n"

static void send_offer(struct fixture *f, const char *cookie)
{
	char d[1024];
	int n = snprintf(d, sizeof(d),
			 "%s d7:command5:offer7:call-id2:g18:from-tag2:ta3:ICE5:force3:sdp%zu:%se",
			 cookie, strlen(SDP_ICE), SDP_ICE);

	assert_int_equal(sendto(f->cl, d, (size_t)n, 0, &f->ng.sa, netaddr_len(&f->ng)), n);
}

/* One loop turn at f->now; then the replies the client can read. */
static unsigned turn(struct fixture *f)
{
	unsigned got = 0;
	ssize_t n;

	relay_poll(&f->r, 0);
	while ((n = recv(f->cl, f->reply, sizeof(f->reply) - 1, MSG_DONTWAIT)) > 0) {
		f->reply[n] = 0;
		got++;
	}
	return got;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void stun_never_answers(void **state)
{
	struct fixture *f = start("200", true);
	uint64_t t0 = f->now;

	*state = f;
	send_offer(f, "c1");
	/* parked: the agent sent its Binding request, no reply yet */
	assert_int_equal(turn(f), 0);
	assert_int_equal(ng_server_pending(&f->r.ngs), 1);
	assert_int_equal(f->r.calls.ncalls, 1);
	/* the client retransmits: not run again, still no reply */
	f->now = t0 + 100;
	send_offer(f, "c1");
	assert_int_equal(turn(f), 0);
	assert_int_equal(f->r.ngs.counters.pending_retrans, 1);
	assert_int_equal(f->r.ngs.counters.commands[NG_CMD_OFFER], 1);
	assert_int_equal(f->r.calls.ncalls, 1);
	f->now = t0 + 199;
	assert_int_equal(turn(f), 0);
	/* at the gather timeout: the reply, host candidate only, complete */
	f->now = t0 + 200;
	assert_int_equal(turn(f), 1);
	assert_int_equal(ng_server_pending(&f->r.ngs), 0);
	assert_non_null(strstr(f->reply, "6:result2:ok"));
	assert_int_equal(count(f->reply, "a=candidate:"), 1);
	assert_non_null(strstr(f->reply, " typ host"));
	assert_null(strstr(f->reply, "srflx"));
	assert_non_null(strstr(f->reply, "a=end-of-candidates\r\n"));
	assert_null(strstr(f->reply, "trickle"));
	/* a later retransmission: the cached reply, still one call */
	send_offer(f, "c1");
	assert_int_equal(turn(f), 1);
	assert_non_null(strstr(f->reply, "a=end-of-candidates\r\n"));
	assert_int_equal(f->r.ngs.counters.commands[NG_CMD_OFFER], 1);
	assert_int_equal(f->r.calls.ncalls, 1);
}

/* A delete while the offer is parked: the offer is answered first. */
static void delete_while_parked(void **state)
{
	struct fixture *f = start("200", true);
	static const char del[] = "c2 d7:command6:delete7:call-id2:g18:from-tag2:tae";

	*state = f;
	send_offer(f, "c1");
	assert_int_equal(turn(f), 0);
	assert_int_equal(sendto(f->cl, del, sizeof(del) - 1, 0, &f->ng.sa, netaddr_len(&f->ng)),
			 (ssize_t)(sizeof(del) - 1));
	f->now += 10;
	assert_int_equal(turn(f), 2);
	assert_int_equal(ng_server_pending(&f->r.ngs), 0);
	assert_int_equal(f->r.calls.ncalls, 0);
}

/* --gather-timeout 0, or no server to wait for: the reply leaves at once. */
static void no_wait(void **state)
{
	struct fixture *f = start("0", true);

	*state = f;
	send_offer(f, "c1");
	assert_int_equal(turn(f), 1);
	assert_non_null(strstr(f->reply, "a=end-of-candidates\r\n"));
	teardown(state);
	f = start("200", false);
	*state = f;
	send_offer(f, "c1");
	assert_int_equal(turn(f), 1);
	assert_non_null(strstr(f->reply, "a=end-of-candidates\r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(stun_never_answers, teardown),
		cmocka_unit_test_teardown(delete_while_parked, teardown),
		cmocka_unit_test_teardown(no_wait, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
