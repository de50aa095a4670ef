// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_log: a line stays one line whatever the network put into it
 * (call-ids and tags with CR/LF, terminal escapes, bytes above 0x7e).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon_log.h"

static void escape_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain call-id@host", "plain call-id@host"},
		{"a\nb", "a\\x0ab"},
		{"cr\r", "cr\\x0d"},
		{"\x1b[2Jclear", "\\x1b[2Jclear"},
		{"tab\there", "tab\\x09here"},
		{"del\x7f", "del\\x7f"},
		{"\xc3\xa9", "\\xc3\\xa9"},
		{"back\\slash", "back\\x5cslash"},
		{"", ""},
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		daemon_log_escape(out, sizeof(out), cases[i].in);
		assert_string_equal(out, cases[i].out);
	}
	/* truncation never cuts an escape in half */
	assert_int_equal(daemon_log_escape(out, 6, "ab\ncd"), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(daemon_log_escape(out, 7, "ab\ncd"), 6);
	assert_string_equal(out, "ab\\x0a");
}

/* What a hostile call-id does to stderr: one line, escaped. */
static void hostile_call_id_is_one_line(void **state)
{
	const char *id = "x\n12:00:00.000 icepathd[error] forged line\x1b[31m";
	char path[] = "/tmp/test-daemon-log-XXXXXX", buf[2048];
	int fd = mkstemp(path), saved = dup(2);
	size_t n;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	daemon_log_set_level(DAEMON_LOG_INFO);
	log_info("call %s: deleted (NG delete)", id);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	buf[n] = 0;
	assert_non_null(strstr(buf, "call x\\x0a12:00:00.000 icepathd[error] forged line\\x1b[31m: "
				    "deleted (NG delete)\n"));
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	assert_null(strchr(buf, '\x1b'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_table),
		cmocka_unit_test(hostile_call_id_is_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
