// SPDX-License-Identifier: GPL-2.0-only
/* metrics: the Prometheus text of a snapshot, the histogram, and --metrics options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icepath/compiler.h"

#include "daemon/daemon_opts.h"
#include "daemon/metrics.h"

static char *render(const struct metrics_snapshot *s)
{
	struct metrics_buf b = {0};
	char *p;

	assert_int_equal(metrics_render(s, &b), 0);
	assert_false(b.full);
	p = strndup(b.p, b.len);
	metrics_buf_free(&b);
	return p;
}

static void has(const char *text, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
}

static void hist_buckets(void **state)
{
	struct metrics_hist h = {0};

	metrics_hist_observe(&h, 0);	 /* <= 10 ms */
	metrics_hist_observe(&h, 10);	 /* <= 10 ms: bounds are inclusive */
	metrics_hist_observe(&h, 11);	 /* <= 25 ms */
	metrics_hist_observe(&h, 99999); /* only +Inf */
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.count, 4);
	assert_int_equal(h.sum_ms, 10 + 11 + 99999);
}

static void text_format(void **state)
{
	static struct metrics_snapshot s;
	static const char *names[] = {"pass-stun", "drop-consent", "tx", "aborted"};
	char *t, *p;

	memset(&s, 0, sizeof(s));
	s.version = "0.1";
	s.calls = 3;
	s.legs[CALL_LEG_STATE_CONNECTED] = 5;
	s.packets[METRICS_PATH_FAST][METRICS_DIR_RX] = 1000;
	s.bytes[METRICS_PATH_USER][METRICS_DIR_TX] = 4242;
	s.rtcp_packets[METRICS_PATH_USER][METRICS_DIR_RX] = 17;
	s.fp = true;
	s.xdp_mode = "native";
	s.n_fp_stats = 4;
	for (unsigned i = 0; i < 4; i++) {
		s.fp_stat_name[i] = names[i];
		s.fp_stat[i] = 10 + i;
	}
	s.counted.drops[METRICS_DROP_NO_CONSENT] = 7;
	metrics_hist_observe(&s.counted.ice_selected, 40);
	metrics_hist_observe(&s.counted.ice_selected, 700);
	s.ng.commands[NG_CMD_OFFER] = 9;
	s.ng.command_errors[NG_CMD_OFFER] = 2;
	s.cpu_seconds = 1.5;
	s.dtls_close_sent = 4;
	s.dtls_closed_by_peer = 1;
	s.sdes_rekeys = 6;
	t = render(&s);
	assert_memory_equal(t, "# HELP icepath_build_info ", 26);
	has(t, "icepath_calls 3");
	has(t, "# TYPE icepath_calls gauge");
	has(t, "icepath_legs{state=\"connected\"} 5");
	has(t, "icepath_legs{state=\"new\"} 0");
	has(t, "icepath_packets_total{path=\"fastpath\",direction=\"rx\"} 1000");
	has(t, "icepath_bytes_total{path=\"userspace\",direction=\"tx\"} 4242");
	has(t, "icepath_rtcp_packets_total{path=\"userspace\",direction=\"rx\"} 17");
	has(t, "icepath_fastpath_attached{mode=\"native\"} 1");
	has(t, "icepath_xdp_verdicts_total{verdict=\"pass-stun\"} 10");
	has(t, "icepath_xdp_verdicts_total{verdict=\"aborted\"} 13");
	has(t, "icepath_drops_total{path=\"userspace\",reason=\"no-consent\"} 7");
	has(t, "icepath_drops_total{path=\"fastpath\",reason=\"no-consent\"} 11");
	has(t, "icepath_drops_total{path=\"fastpath\",reason=\"aborted\"} 13");
	/* cumulative buckets, +Inf == count, sum in seconds */
	has(t, "icepath_ice_selected_pair_seconds_bucket{le=\"0.025\"} 0");
	has(t, "icepath_ice_selected_pair_seconds_bucket{le=\"0.05\"} 1");
	has(t, "icepath_ice_selected_pair_seconds_bucket{le=\"1\"} 2");
	has(t, "icepath_ice_selected_pair_seconds_bucket{le=\"+Inf\"} 2");
	has(t, "icepath_ice_selected_pair_seconds_sum 0.740");
	has(t, "icepath_ice_selected_pair_seconds_count 2");
	has(t, "icepath_ng_requests_total{command=\"offer\",result=\"ok\"} 7");
	has(t, "icepath_ng_requests_total{command=\"offer\",result=\"error\"} 2");
	has(t, "process_cpu_seconds_total 1.500");
	has(t, "# TYPE icepath_dtls_close_notify_total counter");
	has(t, "icepath_dtls_close_notify_total{direction=\"sent\"} 4");
	has(t, "icepath_dtls_close_notify_total{direction=\"received\"} 1");
	has(t, "# TYPE icepath_sdes_rekeys_total counter");
	has(t, "icepath_sdes_rekeys_total 6");
	assert_non_null(strstr(t, "# HELP icepath_dtls_close_notify_total DTLS close_notify"));
	assert_non_null(strstr(t, "# HELP icepath_sdes_rekeys_total SDES-SRTP re-keys"));
	/* every sample line belongs to a family announced by # TYPE before it */
	for (p = t; *p; p = strchr(p, '\n') + 1) {
		char fam[128], type[160];
		size_t n = strcspn(p, "{ ");

		if (*p == '#')
			continue;
		snprintf(fam, sizeof(fam), "%.*s", (int)n, p);
		for (const char *suf = "_bucket\0_count\0_sum\0"; *suf; suf += strlen(suf) + 1) {
			size_t sl = strlen(suf), fl = strlen(fam);

			if (fl > sl && !strcmp(fam + fl - sl, suf) &&
			    strstr(fam, "_seconds")) {
				fam[fl - sl] = 0;
				break;
			}
		}
		snprintf(type, sizeof(type), "# TYPE %s ", fam);
		assert_non_null(strstr(t, type));
		assert_true(strstr(t, type) < p);
	}
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(t);
}

static void without_fastpath(void **state)
{
	static struct metrics_snapshot s;
	char *t;

	memset(&s, 0, sizeof(s));
	t = render(&s);
	has(t, "icepath_fastpath_attached{mode=\"off\"} 0");
	has(t, "icepath_build_info{version=\"unknown\"} 1");
	assert_null(strstr(t, "icepath_xdp_verdicts_total{"));
	assert_null(strstr(t, "path=\"fastpath\",reason"));
	free(t);
}

static void options(void **state)
{
	static struct daemon_opts o;
	char err[256], buf[NETADDR_STRLEN];
	struct netaddr a;
	char *const ok[] = {"icepathd", "--interface", "192.0.2.1", "--metrics", "9464",
			    "--metrics-allow", "198.51.100.0/24", "--metrics-allow", "2001:db8::/32",
			    "--metrics-allow", "203.0.113.7"};
	char *const bad_port[] = {"icepathd", "--interface", "192.0.2.1", "--metrics", "x:1"};
	char *const bad_cidr[] = {"icepathd", "--interface", "192.0.2.1", "--metrics-allow",
				  "198.51.100.0/33"};

	daemon_opts_defaults(&o);
	assert_int_equal(netaddr_family(&o.metrics), 0); /* off unless asked */
	assert_int_equal(daemon_opts_parse(&o, (int)ARRAY_SIZE(ok), ok, err, sizeof(err)), 0);
	assert_string_equal(netaddr_str(&o.metrics, buf, sizeof(buf)), "127.0.0.1:9464");
	assert_int_equal(o.n_metrics_allow, 3);
	netaddr_parse(&a, "198.51.100.77:5000", -1);
	assert_true(daemon_cidr_match(&o.metrics_allow[0], &a));
	netaddr_parse(&a, "198.51.101.1:5000", -1);
	assert_false(daemon_cidr_match(&o.metrics_allow[0], &a));
	netaddr_parse(&a, "[2001:db8:ffff::1]:1", -1);
	assert_true(daemon_cidr_match(&o.metrics_allow[1], &a));
	assert_false(daemon_cidr_match(&o.metrics_allow[0], &a)); /* other family */
	netaddr_parse(&a, "[2001:db9::1]:1", -1);
	assert_false(daemon_cidr_match(&o.metrics_allow[1], &a));
	netaddr_parse(&a, "203.0.113.7:1", -1); /* no prefix: one host */
	assert_true(daemon_cidr_match(&o.metrics_allow[2], &a));
	netaddr_parse(&a, "203.0.113.6:1", -1);
	assert_false(daemon_cidr_match(&o.metrics_allow[2], &a));
	netaddr_parse(&a, "[::ffff:198.51.100.9]:1", -1); /* v4-mapped is v4 */
	assert_true(daemon_cidr_match(&o.metrics_allow[0], &a));

	daemon_opts_defaults(&o);
	assert_int_equal(daemon_opts_parse(&o, (int)ARRAY_SIZE(bad_port), bad_port, err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--metrics 'x:1': expected [ADDR:]PORT"));
	daemon_opts_defaults(&o);
	assert_int_equal(daemon_opts_parse(&o, (int)ARRAY_SIZE(bad_cidr), bad_cidr, err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "prefix must be 0-32"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hist_buckets),
		cmocka_unit_test(text_format),
		cmocka_unit_test(without_fastpath),
		cmocka_unit_test(options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
