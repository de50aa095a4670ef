// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_log under systemd: JOURNAL_STREAM must name our own stderr;
 * then plain lines carry "<N>" and no timestamp, and a call's lines go to
 * the journal socket (a socket of the test here) with CALL_ID=, in the
 * native protocol's binary form when the value holds a newline.
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
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon_log.h"

static char dir[64];
static char sock_path[96], err_path[96];
static int sock = -1, saved_stderr = -1;

static int setup(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	char env[64];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/icepath-journal.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	/* stderr becomes a file; JOURNAL_STREAM names it, as systemd would */
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open(err_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || fstat(fd, &st) < 0)
		return -1;
	close(fd);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	return 0;
}

static int teardown(void **state)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fflush(stderr);
	if (saved_stderr >= 0)
		dup2(saved_stderr, STDERR_FILENO);
	/* what went to the captured stderr, cmocka's failure messages too */
	fd = open(err_path, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
	if (fd >= 0)
		close(fd);
	unlink(sock_path);
	unlink(err_path);
	rmdir(dir);
	return 0;
}

static void detection(void **state)
{
	char env[64];

	assert_true(daemon_journal_is_stderr());
	/* inherited by a child whose stderr went elsewhere: not the journal */
	snprintf(env, sizeof(env), "%s", getenv("JOURNAL_STREAM"));
	setenv("JOURNAL_STREAM", "1:2", 1);
	assert_false(daemon_journal_is_stderr());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(daemon_journal_is_stderr());
	unsetenv("JOURNAL_STREAM");
	assert_false(daemon_journal_is_stderr());
	setenv("JOURNAL_STREAM", env, 1);
}

static size_t stderr_text(char *buf, size_t cap)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(err_path, "r");
	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	return n;
}

static void lines(void **state)
{
	char text[1024], dgram[2048];
	ssize_t n;

	assert_int_equal(daemon_log_use_journal(sock_path), 0);
	log_warn("plain %d", 1);
	log_info("plain %d", 2);
	log_debug("not at this level");
	stderr_text(text, sizeof(text));
	/* LOG_WARNING is 4, LOG_INFO 6; no "HH:MM:SS" in front */
	assert_string_equal(text, "<4>plain 1\n<6>plain 2\n");

	daemon_log_set_call("call-7@pbx");
	log_err("call line");
	daemon_log_set_call(NULL);
	n = recv(sock, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	dgram[n] = 0;
	assert_string_equal(dgram, "PRIORITY=3\nSYSLOG_IDENTIFIER=icepathd\nMESSAGE=call line\n"
				   "CALL_ID=call-7@pbx\n");
	/* nothing of it on stderr */
	stderr_text(text, sizeof(text));
	assert_string_equal(text, "<4>plain 1\n<6>plain 2\n");

	/* a call-id from the network with a newline: the binary field form,
	 * so it cannot forge another field */
	daemon_log_set_call("evil\nPRIORITY=0");
	log_info("x");
	daemon_log_set_call("");
	n = recv(sock, dgram, sizeof(dgram), MSG_DONTWAIT);
	{
		static const char want[] = "PRIORITY=6\nSYSLOG_IDENTIFIER=icepathd\nMESSAGE=x\n"
					   "CALL_ID\n\x0f\0\0\0\0\0\0\0evil\nPRIORITY=0\n";

		assert_int_equal(n, sizeof(want) - 1);
		assert_memory_equal(dgram, want, sizeof(want) - 1);
	}
	log_info("after");
	assert_int_equal(recv(sock, dgram, sizeof(dgram), MSG_DONTWAIT), -1);
}

/* No journal socket: call lines still reach stderr with their priority. */
static void no_socket(void **state)
{
	char text[1024];

	daemon_log_use_journal("/nonexistent/socket");
	daemon_log_set_call("c1");
	log_warn("fallback");
	daemon_log_set_call(NULL);
	stderr_text(text, sizeof(text));
	assert_non_null(strstr(text, "<4>fallback\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detection),
		cmocka_unit_test(lines),
		cmocka_unit_test(no_socket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
