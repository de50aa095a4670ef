// SPDX-License-Identifier: GPL-2.0-only
/* icepathctl metrics: the Prometheus line parser and the two printers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/icepathctl/format.c"
#include "../../tools/icepathctl/metrics.c"

static void samples(void **state)
{
	static const struct {
		const char *line;
		int rc;
		const char *name, *labels;
		double value;
	} t[] = {
		{"icepath_calls 3", 1, "icepath_calls", NULL, 3},
		{"icepath_legs{state=\"connected\"} 2", 1, "icepath_legs", "state=\"connected\"", 2},
		{"x{a=\"}\",b=\"q\\\"\"} 1.5 1700000000000", 1, "x", "a=\"}\",b=\"q\\\"\"", 1.5},
		{"h_bucket{le=\"+Inf\"} +Inf", 1, "h_bucket", "le=\"+Inf\"", 1.0 / 0.0},
		{"# HELP x y", 0, NULL, NULL, 0},
		{"", 0, NULL, NULL, 0},
		{"1abc 3", -EINVAL, NULL, NULL, 0},
		{"x{a=\"b\" 3", -EINVAL, NULL, NULL, 0},
		{"x", -EINVAL, NULL, NULL, 0},
		{"x 3q", -EINVAL, NULL, NULL, 0},
		{"x{}3", -EINVAL, NULL, NULL, 0},
	};
	struct ctl_sample s;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = ctl_metrics_sample(t[i].line, strlen(t[i].line), &s);

		print_message("  %s -> %d\n", t[i].line, t[i].rc);
		assert_int_equal(rc, t[i].rc);
		if (rc != 1)
			continue;
		assert_int_equal(s.name_len, strlen(t[i].name));
		assert_memory_equal(s.name, t[i].name, s.name_len);
		if (t[i].labels) {
			assert_int_equal(s.labels_len, strlen(t[i].labels));
			assert_memory_equal(s.labels, t[i].labels, s.labels_len);
		} else {
			assert_int_equal(s.labels_len, 0);
		}
		assert_true(s.value == t[i].value);
	}
}

static const char text[] = "# HELP icepath_calls Calls now.\n"
			   "# TYPE icepath_calls gauge\n"
			   "icepath_calls 3\n"
			   "icepath_legs{state=\"connected\"} 2\n"
			   "icepath_bpf_map_bytes 2097152\n"
			   "process_cpu_seconds_total 0.25\n";

static void human(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(ctl_print_metrics(f, text, sizeof(text) - 1), 4);
	fclose(f);
	assert_string_equal(out,
			    "calls                                                   3\n"
			    "\n"
			    "legs state=connected                                    2\n"
			    "\n"
			    "bpf_map_bytes                                           2097152 (2.0 MiB)\n"
			    "\n"
			    "process_cpu_seconds_total                               0.25\n");
	free(out);
	f = open_memstream(&out, &len);
	assert_int_equal(ctl_print_metrics(f, "x 1\ngarbage\n", 12), -EINVAL);
	fclose(f);
	free(out);
}

static void json(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(ctl_print_metrics_json(f, text, sizeof(text) - 1), 4);
	fclose(f);
	assert_non_null(strstr(out, "{\"name\": \"icepath_legs\", \"labels\": {\"state\": "
				    "\"connected\"}, \"value\": 2}"));
	assert_non_null(strstr(out, "{\"name\": \"process_cpu_seconds_total\", \"labels\": {}, "
				    "\"value\": 0.25}"));
	assert_memory_equal(out, "{\"metrics\": [", 13);
	assert_string_equal(out + len - 4, "\n]}\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(samples),
		cmocka_unit_test(human),
		cmocka_unit_test(json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
