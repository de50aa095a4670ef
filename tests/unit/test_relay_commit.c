// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_commit: the durability rule, over the daemon's real NG socket. The
 * moment a reply to offer/answer/delete can be read by the client, the
 * state file on disk already says what the reply acknowledged; the changes
 * of one turn share one write; a retransmission in the same turn is
 * answered from the cache (the call is made once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/relay.h"
#include "daemon/relay_state.h"

struct fixture {
	struct daemon_opts o;
	struct relay r;
	char dir[64], state[96];
	int cl; /* the NG client's socket */
	struct netaddr ng;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char pmin[8], pmax[8], err[256];
	unsigned base = 10000 + (unsigned)(getpid() % 50) * 200;
	socklen_t l = sizeof(f->ng);
	char *argv[] = {"icepathd",   "--interface", "lo=127.0.0.1", "--xdp",	"off",
			"--port-min", pmin,	     "--port-max",   pmax,	"--inactivity-timeout",
			"0",	      "--listen-ng", "127.0.0.1:0", "--state-file", NULL};

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-relay-commit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/calls.state", f->dir);
	argv[14] = f->state;
	snprintf(pmin, sizeof(pmin), "%u", base);
	snprintf(pmax, sizeof(pmax), "%u", base + 199);
	daemon_log_set_level(DAEMON_LOG_ERROR);
	daemon_opts_defaults(&f->o);
	if (daemon_opts_parse(&f->o, (int)(sizeof(argv) / sizeof(argv[0])), argv, err,
			      sizeof(err)))
		fail_msg("options refused: %s", err);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	assert_int_equal(getsockname(f->r.ng.fd, &f->ng.sa, &l), 0);
	f->cl = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->cl >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	relay_shutdown(&f->r);
	close(f->cl);
	unlink(f->state);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define SDP_A                                                                            \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"     \
	"m=audio 20000 RTP/AVP 0\r\n"

static void send_ng(struct fixture *f, const char *cookie, const char *cmd, const char *call,
		    const char *to_tag)
{
	char d[1024];
	int n;

	if (to_tag)
		n = snprintf(d, sizeof(d),
			     "%s d7:command%zu:%s7:call-id%zu:%s8:from-tag2:ta6:to-tag%zu:%s"
			     "3:sdp%zu:%se",
			     cookie, strlen(cmd), cmd, strlen(call), call, strlen(to_tag), to_tag,
			     strlen(SDP_A), SDP_A);
	else if (!strcmp(cmd, "delete"))
		n = snprintf(d, sizeof(d), "%s d7:command6:delete7:call-id%zu:%s8:from-tag2:tae",
			     cookie, strlen(call), call);
	else
		n = snprintf(d, sizeof(d), "%s d7:command%zu:%s7:call-id%zu:%s8:from-tag2:ta3:sdp%zu:%se",
			     cookie, strlen(cmd), cmd, strlen(call), call, strlen(SDP_A), SDP_A);
	assert_int_equal(sendto(f->cl, d, (size_t)n, 0, &f->ng.sa, netaddr_len(&f->ng)), n);
}

/* The replies waiting for the client now (none may be waiting yet). */
static unsigned replies(struct fixture *f, const char *want_result)
{
	char buf[8192];
	unsigned got = 0;
	ssize_t n;

	while ((n = recv(f->cl, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = 0;
		if (want_result && !strstr(buf, want_result))
			fail_msg("reply without %s: %s", want_result, buf);
		got++;
	}
	return got;
}

struct want {
	const char *id, *answer_tag;
	bool found;
};

static int find_call(const struct relay_state_call *c, void *ctx)
{
	struct want *w = ctx;

	if (!strcmp(c->id, w->id) &&
	    (!w->answer_tag || !strcmp(c->legs[1].tag, w->answer_tag)))
		w->found = true;
	return 0;
}

/* Would a restart now recover call id (with the answer's leg tag)? The
 * file on disk, read the way recovery reads it. */
static bool on_disk(struct fixture *f, const char *id, const char *answer_tag)
{
	static char text[1 << 20];
	struct want w = {.id = id, .answer_tag = answer_tag};
	struct relay_state_parse_stats st;
	size_t len;
	FILE *fp = fopen(f->state, "r");

	if (!fp)
		return false;
	len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	assert_int_equal(relay_state_parse(text, len, "t", find_call, &w, &st), 0);
	return w.found;
}

/* One turn of the loop with the request waiting (epoll sees it at once). */
static void turn(struct fixture *f)
{
	relay_poll(&f->r, 1000);
}

static void reply_only_after_state_is_on_disk(void **state)
{
	struct fixture *f = *state;

	send_ng(f, "c1", "offer", "dur-1", NULL);
	turn(f);
	/* readable reply => the call is in the file already: on main the
	 * file followed up to RELAY_STATE_FLUSH_MS = 200 ms later */
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_true(on_disk(f, "dur-1", NULL));
	assert_int_equal(f->r.commits, 1);

	send_ng(f, "c2", "answer", "dur-1", "tb");
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	/* the answer's leg, with its tag, is in the file */
	assert_true(on_disk(f, "dur-1", "tb"));

	send_ng(f, "c3", "delete", "dur-1", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_false(on_disk(f, "dur-1", NULL));
}

/* A burst in one turn: one write for all of it, every reply after it, the
 * retransmission answered from the cache without a second call. */
static void group_commit_of_a_burst(void **state)
{
	struct fixture *f = *state;
	char id[32], ck[16];
	uint64_t commits = f->r.commits;

	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "burst-%d", i);
		snprintf(ck, sizeof(ck), "b%d", i);
		send_ng(f, ck, "offer", id, NULL);
	}
	send_ng(f, "b0", "offer", "burst-0", NULL); /* retransmission */
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 9);
	assert_int_equal(f->r.commits, commits + 1);
	assert_int_equal(f->r.calls.ncalls, 8);
	assert_int_equal(f->r.ngs.counters.cache_hits, 1);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "burst-%d", i);
		assert_true(on_disk(f, id, NULL));
	}
	/* a retransmission in a later turn changes nothing: no write */
	send_ng(f, "b3", "offer", "burst-3", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_int_equal(f->r.commits, commits + 1);
}

static ino_t inode(struct fixture *f)
{
	struct stat st;

	assert_int_equal(stat(f->state, &st), 0);
	return st.st_ino;
}

static int count_calls(const struct relay_state_call *c, void *ctx)
{
	(void)c;
	(*(unsigned *)ctx)++;
	return 0;
}

/* After the first snapshot, commits append (same file, one record each),
 * deletes append "gone"; a commit cut by a crash is ignored on restart; a
 * grown journal is compacted into a new snapshot. */
static void journal_appends_and_recovers(void **state)
{
	struct fixture *f = *state;
	char id[32], ck[16];
	ino_t ino;
	size_t bytes;
	FILE *fp;

	send_ng(f, "j0", "offer", "jr-0", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	ino = inode(f); /* the snapshot the first commit wrote */
	for (int i = 1; i < 20; i++) {
		snprintf(id, sizeof(id), "jr-%d", i);
		snprintf(ck, sizeof(ck), "j%d", i);
		send_ng(f, ck, "offer", id, NULL);
		turn(f);
		assert_int_equal(replies(f, "result2:ok"), 1);
	}
	assert_int_equal(inode(f), ino); /* appended, never rewritten */
	assert_true(f->r.journal_bytes > 0);
	bytes = f->r.journal_bytes;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "jr-%d", i);
		snprintf(ck, sizeof(ck), "d%d", i);
		send_ng(f, ck, "delete", id, NULL);
		turn(f);
		assert_int_equal(replies(f, "result2:ok"), 1);
	}
	assert_true(f->r.journal_bytes > bytes);
	assert_int_equal(inode(f), ino);
	assert_false(on_disk(f, "jr-0", NULL));
	assert_true(on_disk(f, "jr-5", NULL));

	/* a crash in the middle of an append: no "end" after it */
	fp = fopen(f->state, "a");
	fputs("gone jr-7\ncall jr-torn 1 0\nleg 0 ta lo 0", fp);
	fclose(fp);
	relay_shutdown(&f->r); /* as after kill -9: the file stays */
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	assert_int_equal(getsockname(f->r.ng.fd, &f->ng.sa, &(socklen_t){sizeof(f->ng)}), 0);
	assert_int_equal(f->r.calls.ncalls, 15);
	assert_non_null(call_find(&f->r.calls, "jr-7"));
	assert_null(call_find(&f->r.calls, "jr-torn"));
	assert_null(call_find(&f->r.calls, "jr-4"));

	/* the first commit after a start is a snapshot: the torn tail goes */
	send_ng(f, "k1", "offer", "jr-new", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_int_not_equal(inode(f), ino);
	ino = inode(f);
	assert_int_equal(f->r.journal_bytes, 0);
	/* a journal past the snapshot is compacted at the next commit */
	f->r.journal_bytes = RELAY_STATE_COMPACT_MIN + 1;
	send_ng(f, "k2", "offer", "jr-new2", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_int_not_equal(inode(f), ino);
	assert_int_equal(f->r.journal_bytes, 0);
	assert_true(on_disk(f, "jr-new2", NULL));
	{
		static char text[1 << 20];
		struct relay_state_parse_stats st;
		unsigned n = 0;
		size_t len;

		fp = fopen(f->state, "r");
		len = fread(text, 1, sizeof(text), fp);
		fclose(fp);
		assert_int_equal(relay_state_parse(text, len, "t", count_calls, &n, &st), 0);
		assert_int_equal(n, 17);
		assert_int_equal(st.superseded, 0); /* compacted: one record each */
	}
}

static uint64_t vclock_ms;

static uint64_t vclock(void *ctx)
{
	(void)ctx;
	return vclock_ms;
}

static int find_count(const struct relay_state_call *c, void *ctx)
{
	uint64_t *v = ctx;

	if (!strcmp(c->id, "cp-1") && c->legs[0].streams[0].comp[0].has_count)
		*v = c->legs[0].streams[0].comp[0].rx_user_packets;
	return 0;
}

static uint64_t counted_on_disk(struct fixture *f)
{
	static char text[1 << 20];
	struct relay_state_parse_stats st;
	uint64_t v = UINT64_MAX;
	size_t len;
	FILE *fp = fopen(f->state, "r");

	assert_non_null(fp);
	len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	assert_int_equal(relay_state_parse(text, len, "t", find_count, &v, &st), 0);
	return v;
}

/* Counters that change nothing else reach the file at the checkpoint,
 * RELAY_STATE_CHECKPOINT_MS after the last snapshot (virtual clock). */
static void counters_checkpoint(void **state)
{
	struct fixture *f = *state;

	relay_shutdown(&f->r);
	vclock_ms = 1000000;
	assert_int_equal(relay_init_clock(&f->r, &f->o, vclock, NULL), 0);
	assert_int_equal(getsockname(f->r.ng.fd, &f->ng.sa, &(socklen_t){sizeof(f->ng)}), 0);
	send_ng(f, "cp", "offer", "cp-1", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_int_equal(counted_on_disk(f), 0);
	/* media counted in userspace: no commit of its own */
	call_find(&f->r.calls, "cp-1")->legs[0].streams[0].rx_user[0].packets = 77;
	vclock_ms += RELAY_STATE_CHECKPOINT_MS - 1;
	relay_poll(&f->r, 0); /* not due */
	vclock_ms += 1;
	relay_poll(&f->r, 0); /* due: the write is scheduled */
	assert_int_equal(counted_on_disk(f), 0);
	vclock_ms += RELAY_STATE_FLUSH_MS;
	relay_poll(&f->r, 0); /* and made */
	assert_int_equal(counted_on_disk(f), 77);
}

/*
 * A commit that cannot be written (the journal's device full, the snapshot
 * refused) acknowledges nothing: the offer's reply is an error saying what
 * failed and what to do, the new call is gone with its ports, a
 * retransmission is told the same, a delete is refused as not durable;
 * once the file can be written again calls are made and durable again.
 */
static void failed_write_is_not_acknowledged(void **state)
{
	struct fixture *f = *state;
	char tmp[128], buf[8192];
	size_t ports;
	ssize_t n;
	int full;

	send_ng(f, "w0", "offer", "wr-0", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_true(on_disk(f, "wr-0", NULL));
	ports = f->r.ports.nused;

	/* the disk is full: the append fails with ENOSPC, and the snapshot
	 * that follows it cannot even create FILE.tmp (a directory is there) */
	full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(full >= 0);
	assert_true(f->r.journal_fd >= 0);
	assert_int_equal(dup2(full, f->r.journal_fd), f->r.journal_fd);
	close(full);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state);
	assert_int_equal(mkdir(tmp, 0700), 0);

	send_ng(f, "w1", "offer", "wr-1", NULL);
	turn(f);
	n = recv(f->cl, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	if (!strstr(buf, "result5:error") || !strstr(buf, "state not durable") ||
	    !strstr(buf, "--state-file"))
		fail_msg("a failed write was answered: %s", buf);
	assert_null(call_find(&f->r.calls, "wr-1"));
	assert_int_equal(f->r.ports.nused, ports);
	assert_true(f->r.state_failing);
	assert_int_equal(f->r.state_failures, 1);
	assert_false(on_disk(f, "wr-1", NULL));
	/* its retransmission is answered from the cache: the same error */
	send_ng(f, "w1", "offer", "wr-1", NULL);
	turn(f);
	assert_int_equal(replies(f, "state not durable"), 1);

	/* a delete: gone here, refused as not durable, still in the file */
	send_ng(f, "w2", "delete", "wr-0", NULL);
	turn(f);
	assert_int_equal(replies(f, "state not durable"), 1);
	assert_null(call_find(&f->r.calls, "wr-0"));
	assert_true(on_disk(f, "wr-0", NULL));

	/* space again: the next commit is a whole snapshot, without wr-0 */
	assert_int_equal(rmdir(tmp), 0);
	send_ng(f, "w3", "offer", "wr-3", NULL);
	turn(f);
	assert_int_equal(replies(f, "result2:ok"), 1);
	assert_false(f->r.state_failing);
	assert_true(on_disk(f, "wr-3", NULL));
	assert_false(on_disk(f, "wr-0", NULL));
	assert_false(on_disk(f, "wr-1", NULL));
	assert_int_equal(f->r.calls.ncalls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reply_only_after_state_is_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(group_commit_of_a_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(journal_appends_and_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(counters_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_write_is_not_acknowledged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
