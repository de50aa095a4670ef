// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_state: a corrupted or hostile state file never crashes the daemon,
 * never leaves a port bound for a record it refused, and is never written
 * or read through a symbolic link. The parser (bytes -> records) is checked
 * on a table of malformed files; the apply step (records -> sockets) on a
 * relay on loopback with --xdp off.
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
#include "daemon/relay_crypto.h"
#include "daemon/relay_state.h"

struct fixture {
	struct daemon_opts o;
	struct relay r;
	char dir[64], state[96];
	unsigned base; /* first port of the relay's range */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* a range of our own per process: tests may run side by side */
	f->base = 29000 + (unsigned)(getpid() % 90) * 40;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-relay-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/calls.state", f->dir);
	daemon_log_set_level(DAEMON_LOG_ERROR);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	unlink(f->state);
	snprintf(p, sizeof(p), "%s.tmp", f->state);
	unlink(p);
	snprintf(p, sizeof(p), "%s/victim", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/real.state", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s.dtls-cert.pem", f->state);
	unlink(p);
	snprintf(p, sizeof(p), "%s.dtls-key.pem", f->state);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void start(struct fixture *f)
{
	char pmin[8], pmax[8], err[256];
	char *argv[] = {"icepathd",   "--interface", "lo=127.0.0.1", "--xdp",	"off",
			"--port-min", pmin,	     "--port-max",   pmax,	"--inactivity-timeout",
			"0",	      "--listen-ng", "127.0.0.1:0", "--state-file", f->state};

	snprintf(pmin, sizeof(pmin), "%u", f->base);
	snprintf(pmax, sizeof(pmax), "%u", f->base + 39);
	daemon_opts_defaults(&f->o);
	if (daemon_opts_parse(&f->o, (int)(sizeof(argv) / sizeof(argv[0])), argv, err,
			      sizeof(err)))
		fail_msg("options refused: %s", err);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
}

static void write_state(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Can this process bind 127.0.0.1:port (i.e. the relay does not hold it)? */
static bool port_free(unsigned port)
{
	struct netaddr a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	netaddr_from_str(&a, "127.0.0.1", (uint16_t)port);
	ok = bind(fd, &a.sa, netaddr_len(&a)) == 0;
	close(fd);
	return ok;
}

/*
 * The first stream's sockets are bound, then the record turns out unusable
 * (a bad field on the same line, or a later port that cannot be bound):
 * the call is dropped and nothing of it stays bound (issue 9: the same
 * pattern as the offer's use-after-free).
 */
static void refused_record_leaves_no_port_bound(void **state)
{
	struct fixture *f = *state;
	unsigned p1 = f->base + 2, p2 = f->base + 4;
	struct netaddr a;
	char text[1024];
	int hold;

	snprintf(text, sizeof(text),
		 "icepath-state 1\n"
		 "call bad-field 1700000000 0\n"
		 "leg 0 ta lo 0 0\n"
		 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:%u not-an-address - 0 0 - -\n"
		 "leg 1 tb lo 0 0\n"
		 "end\n",
		 p1);
	write_state(f->state, text);
	start(f);
	assert_int_equal(f->r.calls.ncalls, 0);
	assert_true(port_free(p1));
	assert_true(port_free(p1 + 1));
	relay_shutdown(&f->r);

	/* leg B's port is taken by somebody else: leg A's must come free */
	hold = socket(AF_INET, SOCK_DGRAM, 0);
	netaddr_from_str(&a, "127.0.0.1", (uint16_t)p2);
	assert_int_equal(bind(hold, &a.sa, netaddr_len(&a)), 0);
	snprintf(text, sizeof(text),
		 "icepath-state 1\n"
		 "call busy-port 1700000000 0\n"
		 "leg 0 ta lo 0 0\n"
		 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:%u 127.0.0.1:20000 - 0 0 - -\n"
		 "leg 1 tb lo 0 0\n"
		 "stream 1 0 1 0 audio RTP/AVP 127.0.0.1:%u 127.0.0.1:20002 - 0 0 - -\n"
		 "call good 1700000000 0\n"
		 "leg 0 ta lo 0 0\n"
		 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:%u 127.0.0.1:20000 - 0 0 - -\n"
		 "leg 1 tb lo 0 0\n"
		 "end\n",
		 p1, p2, f->base + 8);
	write_state(f->state, text);
	start(f);
	assert_int_equal(f->r.calls.ncalls, 1);
	assert_non_null(call_find(&f->r.calls, "good"));
	assert_true(port_free(p1));
	assert_false(port_free(f->base + 8)); /* the good call holds its port */
	relay_shutdown(&f->r);
	close(hold);
}

/* FILE.tmp planted as a symlink to a file the daemon may write: never followed. */
static void never_through_a_symlink(void **state)
{
	struct fixture *f = *state;
	char tmp[128], victim[128], real[128], buf[64] = "";
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state);
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	write_state(victim, "precious\n");
	assert_int_equal(symlink(victim, tmp), 0);
	start(f);
	assert_int_equal(relay_state_save(&f->r), 0);
	fp = fopen(victim, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "precious\n");
	/* the state file itself was written, a regular file */
	fp = fopen(f->state, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "icepath-state 2\n");
	relay_shutdown(&f->r);

	/* a state file that is a symlink is not read */
	snprintf(real, sizeof(real), "%s/real.state", f->dir);
	write_state(real, "icepath-state 1\n"
			  "call linked 1700000000 0\nleg 0 ta lo 0 0\nleg 1 tb lo 0 0\nend\n");
	unlink(f->state);
	assert_int_equal(symlink(real, f->state), 0);
	start(f);
	assert_int_equal(f->r.calls.ncalls, 0);
	relay_shutdown(&f->r);
	unlink(f->state);
}

static int count_call(const struct relay_state_call *c, void *ctx)
{
	(*(unsigned *)ctx)++;
	/* what the apply step relies on */
	assert_true(c->id[0]);
	for (unsigned side = 0; side < 2; side++)
		assert_true(c->legs[side].nstreams <= CALL_MAX_STREAMS);
	return 0;
}

#define ST_HEAD "icepath-state 1\n"
#define ST_LEGS "leg 0 ta lo 1 0\nleg 1 tb lo 0 0\n"
#define ST_STREAM(side, idx) \
	"stream " #side " " #idx " 1 0 audio RTP/AVP 127.0.0.1:30000 - - 0 0 uf pw\n"

/* Malformed files: each drops what it must and nothing more, never crashes. */
static void parser_table(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		unsigned calls, bad;
		int rc;
	} cases[] = {
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 0) ST_STREAM(1, 0) "end\n", 0, 1, 0, 0},
		/* older files: no latch mode, no peer credentials */
		{ST_HEAD "call a 1\n" ST_LEGS ST_STREAM(0, 0) "end\n", 0, 1, 0, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS "future-record x y\nend\n", 0, 1, 0, 0},
		{"", 0, 0, 0, 0},
		{"icepath-state 3\ncall a 1 0\nend\n", 0, 0, 0, -EINVAL},
		/* version 1 knows no learn/count records: ignored like a newer kind */
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 0) "learn 0 0 9\ncount x\nend\n", 0, 1,
		 0, 0},
		{"garbage", 0, 0, 0, -EINVAL},
		{ST_HEAD "call a 1 0\n" ST_LEGS, 0, 0, 1, 0},	       /* cut before "end" */
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 0), 0, 0, 1, 0},
		{ST_HEAD "call - 1 0\nend\n", 0, 0, 1, 0},	       /* empty call-id */
		{ST_HEAD "call %zz 1 0\nend\n", 0, 0, 1, 0},	       /* bad escape */
		{ST_HEAD "call a%00b 1 0\nend\n", 0, 0, 1, 0},	       /* NUL in a field */
		{ST_HEAD "call a x 0\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\nleg 2 t lo 0 0\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 7 0\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 0\nend\n", 0, 0, 1, 0},
		/* a terminated leg's crypto mode (issue 12): 0..3, nothing else */
		{ST_HEAD "call a 1 0\nleg 0 t lo 0 0 2\nleg 1 u lo 0 0 1\nend\n", 0, 1, 0, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 0 0 4\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 0 0 x\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 0 0\nleg 0 t lo 0 0\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_STREAM(0, 0) "end\n", 0, 0, 1, 0}, /* before its leg */
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 8) "end\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 4294967296) "end\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS ST_STREAM(0, 0) ST_STREAM(0, 0) "end\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS "stream 0 0 1 0 audio\nend\n", 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS
			 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:0 - - 0 0 uf pw\nend\n",
		 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS
			 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:1 - - 0 99999999999999999999 uf "
			 "pw\nend\n",
		 0, 0, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS
			 "stream 0 0 1 0 audio RTP/AVP 127.0.0.1:1 - - 0 0 uf pw pu\nend\n",
		 0, 0, 1, 0},
		/* one bad call among good ones: only it goes */
		{ST_HEAD "call a 1 0\n" ST_LEGS "call b 1 0\nleg 9\ncall c 1 0\n" ST_LEGS "end\n", 0,
		 2, 1, 0},
		{ST_HEAD "call a 1 0\n" ST_LEGS "end\ncall b 1 0\n" ST_LEGS "end\n", 0, 1, 0, 0},
		{ST_HEAD "call a 1 0\nleg 0 t lo 0 0\0\nend\n", 33, 0, 1, 0},
	};
	char big[RELAY_STATE_LINE_MAX + 64];
	struct relay_state_parse_stats st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		unsigned got = 0;
		char *copy = malloc(len + 1); /* exactly len bytes: ASan sees overreads */
		int rc;

		memcpy(copy, cases[i].text, len);
		rc = relay_state_parse(copy, len, "t", count_call, &got, &st);
		free(copy);
		if (rc != cases[i].rc || st.calls != cases[i].calls || st.bad != cases[i].bad ||
		    got != st.calls)
			fail_msg("case %zu: rc %d calls %u bad %u, want %d %u %u", i, rc, st.calls,
				 st.bad, cases[i].rc, cases[i].calls, cases[i].bad);
	}
	/* a line longer than the limit drops its call */
	snprintf(big, sizeof(big), ST_HEAD "call a 1 0\nleg 0 ");
	memset(big + strlen(big), 'x', RELAY_STATE_LINE_MAX);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(relay_state_parse(big, strlen(big), "t", count_call, &(unsigned){0}, &st),
			 0);
	assert_int_equal(st.calls, 0);
	assert_int_equal(st.bad, 1);
}

#define ST2_HEAD "icepath-state 2\n"
#define ST2_CALL(id) "call " id " 1 0\n" ST_LEGS ST_STREAM(0, 0)
#define ST2_LEARN "learn 0 0 1 1 1 127.0.0.1:30001 1700000000123 0 3\n"
#define ST2_COUNT "count 0 0 1 5 500 7 700 2 200 1 0\n"
/* 30 bytes: an AES_CM_128 master key and salt; K60X one digit short */
#define K60X "00112233445566778899aabbccddeeff00112233445566778899aabbccd"
#define K60  K60X "d"
#define ST2_KCALL                                                                                 \
	"call a 1 0\nleg 0 ta lo 0 0 3\nleg 1 tb lo 0 0\n" ST_STREAM(0, 0)
#define ST2_KEYS "keys 0 1 " K60 " " K60 " 0 0 0 1 1\n"

/* Version 2: appended commits, the last record of a call wins, "gone"
 * removes it, a commit cut by a crash is ignored whole; malformed learn and
 * count records drop their call. */
static void parser_v2_table(void **state)
{
	static const struct {
		const char *text;
		unsigned calls, bad, superseded, torn;
	} cases[] = {
		{ST2_HEAD ST2_CALL("a") ST2_LEARN ST2_COUNT "end\n", 1, 0, 0, 0},
		{ST2_HEAD, 0, 0, 0, 0},
		/* a later commit replaces the call */
		{ST2_HEAD ST2_CALL("a") "end\n" ST2_CALL("b") "end\n" ST2_CALL("a") "end\n", 2, 0,
		 1, 0},
		/* gone, and back again */
		{ST2_HEAD ST2_CALL("a") ST2_CALL("b") "end\ngone a\nend\n", 1, 0, 1, 0},
		{ST2_HEAD ST2_CALL("a") "end\ngone a\nend\n" ST2_CALL("a") "end\n", 1, 0, 1, 0},
		/* a torn last commit: its records and its gone do not count */
		{ST2_HEAD ST2_CALL("a") "end\n" ST2_CALL("b") "gone a\n", 1, 0, 0, 5},
		{ST2_HEAD ST2_CALL("a") "end\n" ST2_CALL("a") "end", 1, 0, 0, 5},
		{ST2_HEAD ST2_CALL("a") "en", 0, 0, 0, 5},
		/* a superseded record is not parsed: its errors do not matter */
		{ST2_HEAD "call a 1 0\nleg 9\nend\n" ST2_CALL("a") "end\n", 1, 0, 1, 0},
		/* learn/count records, malformed */
		{ST2_HEAD ST2_CALL("a") "learn 0 0 1 1 1 - 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 1 1 1 1 - 0 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 0 2 1 1 - 0 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 0 0 2 1 - 0 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 0 0 1 1 - 0 0 4\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 0 0 1 1 1.2.3.4 0 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "learn 0 0 0 1 1 - -5 0 0\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") ST2_LEARN ST2_LEARN "end\n", 0, 1, 0, 0},
		{ST2_HEAD "call a 1 0\n" ST_LEGS ST2_LEARN ST_STREAM(0, 0) "end\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "count 0 0 1 5 500 7 700 2 200 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "count 0 0 1 5 500 7 700 2 200 1 x\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a")
		 "count 0 0 1 5 500 7 700 2 200 1 99999999999999999999\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") ST2_COUNT ST2_COUNT "end\n", 0, 1, 0, 0},
		{ST2_HEAD "gone\n" ST2_CALL("a") "end\n", 1, 0, 0, 0},
		/* keys records (a terminated leg's SRTP keys) */
		{ST2_HEAD ST2_KCALL ST2_KEYS "end\n", 1, 0, 0, 0},
		{ST2_HEAD ST2_KCALL ST2_KEYS ST2_KEYS "end\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_CALL("a") "keys 0 1 " K60 " " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD "call a 1 0\nkeys 0 1 " K60 " " K60 " 0 0 0 1 1\n" ST_LEGS "end\n", 0, 1,
		 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 0 0 0 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 0 0 0 1 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 2 1 " K60 " " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 0 " K60 " " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 5 " K60 " " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		/* AEAD_AES_128_GCM has a 12-byte salt: 56 digits, not 60 */
		{ST2_HEAD ST2_KCALL "keys 0 3 " K60 " " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 "0 " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " x" K60X " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 4 0 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 0 2 0 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 0 0 -1 1 1\nend\n", 0, 1, 0, 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 " K60 " " K60 " 0 0 0 1000000000 1\nend\n", 0, 1, 0,
		 0},
		{ST2_HEAD ST2_KCALL "keys 0 1 - " K60 " 0 0 0 1 1\nend\n", 0, 1, 0, 0},
	};
	struct relay_state_parse_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		unsigned got = 0;
		char *copy = malloc(len + 1);
		int rc;

		memcpy(copy, cases[i].text, len);
		rc = relay_state_parse(copy, len, "t", count_call, &got, &st);
		free(copy);
		if (rc || st.version != 2 || st.calls != cases[i].calls || st.bad != cases[i].bad ||
		    st.superseded != cases[i].superseded || st.torn != cases[i].torn ||
		    got != st.calls)
			fail_msg("v2 case %zu: rc %d calls %u bad %u superseded %u torn %u, want %u "
				 "%u %u %u",
				 i, rc, st.calls, st.bad, st.superseded, st.torn, cases[i].calls,
				 cases[i].bad, cases[i].superseded, cases[i].torn);
	}
}

/* What the daemon writes, the parser reads back field for field. */
static void saved_file_parses(void **state)
{
	struct fixture *f = *state;
	struct relay_state_parse_stats st;
	char text[1024];
	unsigned got = 0;
	size_t len;
	FILE *fp;

	snprintf(text, sizeof(text),
		 ST_HEAD "call id%%20with%%25space 1700000000 2\n"
			 "leg 0 ta lo 0 0 2\n"
			 "stream 0 0 1 1 audio RTP/AVP 127.0.0.1:%u 127.0.0.1:20000 "
			 "127.0.0.1:20001 0 0 uf pw - -\n"
			 "leg 1 tb lo 0 0\n"
			 "end\n",
		 f->base + 10);
	write_state(f->state, text);
	start(f);
	assert_non_null(call_find(&f->r.calls, "id with%space"));
	assert_int_equal(call_find(&f->r.calls, "id with%space")->latch, CALL_LATCH_HANDOVER);
	/* a DTLS leg comes back as one, without keys: nothing is forwarded
	 * from or to it, and no fast-path flow is made for the call */
	assert_non_null(call_find(&f->r.calls, "id with%space")->legs[0].crypto);
	assert_null(call_find(&f->r.calls, "id with%space")->legs[1].crypto);
	assert_true(relay_call_terminated(call_find(&f->r.calls, "id with%space")));
	assert_int_equal(relay_state_save(&f->r), 0);
	fp = fopen(f->state, "r");
	len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	text[len < sizeof(text) ? len : sizeof(text) - 1] = 0;
	assert_non_null(strstr(text, "leg 0 ta lo 0 0 2\n"));
	assert_non_null(strstr(text, "leg 1 tb lo 0 0 0\n"));
	assert_int_equal(relay_state_parse(text, len, "t", count_call, &got, &st), 0);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.bad, 0);
	relay_shutdown(&f->r);
}

/* One RTP packet, seq, through a and back out of b; 0 when b's plaintext
 * is the packet a was given. */
static int through(struct srtpctx *a, struct srtpctx *b, uint16_t seq)
{
	uint8_t pkt[200] = {0x80, 0, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
			    0x12, 0x34, 0x56, 0x78};
	uint8_t want[200];
	size_t len = 12 + 40;
	int err;

	for (size_t i = 12; i < len; i++)
		pkt[i] = (uint8_t)(i ^ seq);
	memcpy(want, pkt, len);
	err = srtpctx_protect_rtp(a, pkt, &len, sizeof(pkt));
	if (err)
		return err;
	err = srtpctx_unprotect_rtp(b, pkt, &len);
	if (err)
		return err;
	/* the SSRC aside: a restored tx sends under a new one (srtpctx.h) */
	return len == 52 && !memcmp(pkt, want, 8) && !memcmp(pkt + 12, want + 12, len - 12)
		       ? 0
		       : -EBADMSG;
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The leg's peer: its outbound context made with the leg's rx key, its
 * inbound one with the leg's tx key; packets both ways authenticate. */
static void media_both_ways(struct call_leg *l, enum srtpctx_suite suite, const char *rx_hex,
			    const char *tx_hex, uint16_t seq)
{
	size_t kl = srtpctx_suite_key_len(suite), sl = srtpctx_suite_salt_len(suite);
	uint8_t rk[SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX], tk[SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX];
	struct srtpctx *peer_out, *peer_in;

	assert_non_null(l->crypto);
	assert_non_null(l->crypto->rx);
	assert_non_null(l->crypto->tx);
	assert_int_equal(l->crypto->suite, suite);
	unhex(rx_hex, rk, kl + sl);
	unhex(tx_hex, tk, kl + sl);
	assert_int_equal(srtpctx_new(&peer_out, suite, SRTPCTX_OUTBOUND, rk, kl, rk + kl, sl, 0), 0);
	assert_int_equal(srtpctx_new(&peer_in, suite, SRTPCTX_INBOUND, tk, kl, tk + kl, sl, 0), 0);
	assert_int_equal(through(peer_out, l->crypto->rx, seq), 0);
	assert_int_equal(through(l->crypto->tx, peer_in, seq), 0);
	srtpctx_free(peer_out);
	srtpctx_free(peer_in);
}

#define SDES_RX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
#define SDES_TX "fedcba9876543210fedcba9876543210fedcba9876543210fedcba987654"
#define DTLS_RX "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc"
#define DTLS_TX "c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdc"

/*
 * Issue 12 x 14: an SDES leg and a DTLS leg (AEAD_AES_128_GCM) come back
 * from the state file with their contexts; the peer's packets authenticate
 * both ways with no handshake; what the relay writes back carries the same
 * keys (a second restart works as well); the file is made 0600.
 */
static void keys_survive_restart(void **state)
{
	struct fixture *f = *state;
	char text[2048], fp1[256], pem[160], *line;
	struct call *c;
	struct stat sb;
	size_t len;
	FILE *fp;

	snprintf(text, sizeof(text),
		 "icepath-state 2\n"
		 "call kc 1700000000 0\n"
		 "leg 0 ta lo 0 0 3\n"
		 "stream 0 0 1 1 audio RTP/SAVP 127.0.0.1:%u 127.0.0.1:20000 - 0 0 uf pw - -\n"
		 "keys 0 1 " SDES_RX " " SDES_TX " 0 0 2 7 7\n"
		 "leg 1 tb lo 1 0 2\n"
		 "stream 1 0 1 1 audio UDP/TLS/RTP/SAVPF 127.0.0.1:%u 127.0.0.1:20002 - 0 0 uf pw "
		 "pu pp\n"
		 "keys 1 3 " DTLS_RX " " DTLS_TX " 2 1 0 0 0\n"
		 "end\n",
		 f->base + 10, f->base + 12);
	write_state(f->state, text);
	assert_int_equal(chmod(f->state, 0644), 0);
	start(f);
	assert_int_equal(stat(f->state, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	c = call_find(&f->r.calls, "kc");
	assert_non_null(c);
	media_both_ways(&c->legs[0], SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SDES_RX, SDES_TX, 1);
	media_both_ways(&c->legs[1], SRTPCTX_SUITE_AEAD_AES_128_GCM, DTLS_RX, DTLS_TX, 1);
	assert_int_equal(c->legs[0].crypto->peer.tag, 7);
	assert_int_equal(c->legs[0].crypto->local[0].tag, 7);
	assert_int_equal(c->legs[0].crypto->rekeys, 2);
	assert_true(c->legs[1].crypto->dtls_done);
	assert_int_equal(c->legs[1].crypto->setup, DTLS_SETUP_PASSIVE);
	/* no --dtls-cert: the certificate made at the first start is kept */
	snprintf(fp1, sizeof(fp1), "%s", dtls_ctx_fingerprint(f->r.dtls_ctx));
	snprintf(pem, sizeof(pem), "%s.dtls-key.pem", f->state);
	assert_int_equal(stat(pem, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(relay_state_save(&f->r), 0);
	relay_shutdown(&f->r);
	fp = fopen(f->state, "r");
	len = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[len] = 0;
	line = strstr(text, "keys 0 ");
	assert_non_null(line);
	assert_memory_equal(line, "keys 0 1 " SDES_RX " " SDES_TX " 0 0 2 7 7\n",
			    strlen("keys 0 1 " SDES_RX " " SDES_TX " 0 0 2 7 7\n"));
	assert_non_null(strstr(text, "keys 1 3 " DTLS_RX " " DTLS_TX " 2 1 0 0 0\n"));
	assert_int_equal(stat(f->state, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	start(f); /* the second restart: from what the relay wrote */
	assert_string_equal(dtls_ctx_fingerprint(f->r.dtls_ctx), fp1);
	c = call_find(&f->r.calls, "kc");
	assert_non_null(c);
	media_both_ways(&c->legs[0], SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SDES_RX, SDES_TX, 2);
	media_both_ways(&c->legs[1], SRTPCTX_SUITE_AEAD_AES_128_GCM, DTLS_RX, DTLS_TX, 2);
	relay_shutdown(&f->r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refused_record_leaves_no_port_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(never_through_a_symlink, setup, teardown),
		cmocka_unit_test(parser_table),
		cmocka_unit_test(parser_v2_table),
		cmocka_unit_test_setup_teardown(saved_file_parses, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_survive_restart, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
