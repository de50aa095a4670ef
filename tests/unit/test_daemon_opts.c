// SPDX-License-Identifier: GPL-2.0-only
/* daemon_opts: icepathd's command line and config file; every bad value is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "icepath/compiler.h"

#include "daemon/daemon_opts.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(struct daemon_opts *o, int argc, char *const argv[], char *err, size_t len)
{
	daemon_opts_defaults(o);
	err[0] = 0;
	return daemon_opts_parse(o, argc, argv, err, len);
}

static void defaults_and_full_line(void **state)
{
	char *const argv[] = {
		"icepathd",
		"--interface",
		"pub=192.0.2.10!203.0.113.5",
		"--interface=priv=10.0.0.1",
		"--listen-ng",
		"127.0.0.1:2224",
		"--port-min",
		"20000",
		"--port-max=20999",
		"--xdp",
		"generic",
		"--stun",
		"198.51.100.1",
		"--turn",
		"198.51.100.2:3479",
		"--turn-user",
		"u",
		"--turn-pass",
		"p",
		"--pin-path",
		"/sys/fs/bpf/x",
		"--log-level",
		"debug",
		"--foreground",
		"--pidfile",
		"/run/x.pid",
		"--inactivity-timeout",
		"30",
		"--state-file",
		"/tmp/s",
	};
	struct daemon_opts o;
	char err[256], buf[NETADDR_STRLEN];

	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(o.nifaces, 2);
	assert_string_equal(o.ifaces[0].name, "pub");
	assert_string_equal(netaddr_ip_str(&o.ifaces[0].local, buf, sizeof(buf)), "192.0.2.10");
	assert_string_equal(netaddr_ip_str(&o.ifaces[0].advertised, buf, sizeof(buf)),
			    "203.0.113.5");
	assert_string_equal(netaddr_ip_str(&o.ifaces[1].advertised, buf, sizeof(buf)), "10.0.0.1");
	assert_string_equal(netaddr_str(&o.listen_ng, buf, sizeof(buf)), "127.0.0.1:2224");
	assert_int_equal(o.port_min, 20000);
	assert_int_equal(o.port_max, 20999);
	assert_int_equal(o.xdp, DAEMON_XDP_GENERIC);
	assert_string_equal(netaddr_str(&o.stun, buf, sizeof(buf)), "198.51.100.1:3478");
	assert_string_equal(netaddr_str(&o.turn, buf, sizeof(buf)), "198.51.100.2:3479");
	assert_string_equal(o.turn_user, "u");
	assert_string_equal(o.pin_path, "/sys/fs/bpf/x");
	assert_int_equal(o.log_level, DAEMON_LOG_DEBUG);
	assert_true(o.foreground);
	assert_int_equal(o.inactivity_s, 30);
	assert_string_equal(o.state_file, "/tmp/s");
	assert_ptr_equal(daemon_opts_iface(&o, "priv"), &o.ifaces[1]);
	assert_ptr_equal(daemon_opts_iface(&o, ""), &o.ifaces[0]);
	assert_null(daemon_opts_iface(&o, "nope"));

	char *const min[] = {"icepathd", "--interface", "192.0.2.1"};

	assert_int_equal(parse(&o, ARGC(min), min, err, sizeof(err)), 0);
	assert_string_equal(o.ifaces[0].name, "default");
	assert_string_equal(netaddr_str(&o.listen_ng, buf, sizeof(buf)), "127.0.0.1:2223");
	assert_int_equal(o.port_min, 30000);
	assert_int_equal(o.port_max, 40000);
	assert_int_equal(o.xdp, DAEMON_XDP_NATIVE);
	assert_int_equal(o.inactivity_s, 60);
	assert_false(o.foreground);
	assert_string_equal(o.pin_path, "/sys/fs/bpf/icepath");
}

static void errors_name_the_option(void **state)
{
	static const struct {
		const char *args[4];
		const char *needle;
	} bad[] = {
		{{NULL}, "no --interface"},
		{{"--interface", "pub=example.com"}, "not an IPv4/IPv6 address"},
		{{"--interface", "=192.0.2.1"}, "NAME must be"},
		{{"--interface", "0.0.0.0"}, "wildcard"},
		{{"--interface", "a=192.0.2.1!2001:db8::1"}, "differ in family"},
		{{"--interface", "a=192.0.2.1!x"}, "advertised address 'x'"},
		{{"--xdp", "fast"}, "--xdp 'fast'"},
		{{"--port-min", "99"}, "--port-min '99'"},
		{{"--port-max", "70000"}, "--port-max '70000'"},
		{{"--port-min", "31000", "--port-max", "30000"}, "is not below"},
		{{"--listen-ng", "127.0.0.1"}, "--listen-ng '127.0.0.1'"},
		{{"--turn", "192.0.2.9"}, "--turn needs --turn-user"},
		{{"--log-level", "loud"}, "--log-level 'loud'"},
		{{"--bogus", "1"}, "unknown option 'bogus'"},
		/* last on the line: unknown, not "needs a value" */
		{{"--bogus"}, "unknown option 'bogus'"},
		{{"stray"}, "unexpected argument 'stray'"},
		{{"--pidfile"}, "--pidfile needs a value"},
		{{"--inactivity-timeout", "-1"}, "--inactivity-timeout '-1'"},
	};
	struct daemon_opts o;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *argv[8] = {"icepathd"};
		int argc = 1;
		bool has_if = false;

		for (int k = 0; k < 4 && bad[i].args[k]; k++)
			has_if |= !strcmp(bad[i].args[k], "--interface");
		/* a valid interface first, so each case fails for its own reason */
		if (!has_if && i > 0) {
			argv[argc++] = "--interface";
			argv[argc++] = "192.0.2.1";
		}
		for (int k = 0; k < 4 && bad[i].args[k]; k++)
			argv[argc++] = (char *)bad[i].args[k];
		assert_int_equal(parse(&o, argc, argv, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].needle);
	}
}

static void config_file_then_command_line(void **state)
{
	char path[] = "/tmp/icepathd-conf-XXXXXX", err[256], arg[64];
	struct daemon_opts o;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# icepathd.conf\n"
	      "interface = pub=192.0.2.10   # the public side\n"
	      "\n"
	      "port-min = 32000\n"
	      "port-max = 33000\n"
	      "xdp = off\n"
	      "foreground = yes\n",
	      f);
	fclose(f);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	char *const argv[] = {"icepathd", arg, "--port-max", "34000"};

	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(o.nifaces, 1);
	assert_int_equal(o.port_min, 32000);
	assert_int_equal(o.port_max, 34000); /* the command line wins */
	assert_int_equal(o.xdp, DAEMON_XDP_OFF);
	assert_true(o.foreground);

	f = fopen(path, "w");
	fputs("interface = pub=192.0.2.10\nxdp = maybe\n", f);
	fclose(f);
	char *const argv2[] = {"icepathd", "--config", path};

	assert_int_equal(parse(&o, ARGC(argv2), argv2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: --xdp 'maybe'"));

	f = fopen(path, "w");
	fputs("foreground = perhaps\n", f);
	fclose(f);
	assert_int_equal(parse(&o, ARGC(argv2), argv2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: foreground"));
	unlink(path);

	char *const argv3[] = {"icepathd", "--config", "/nonexistent/icepathd.conf"};

	assert_int_equal(parse(&o, ARGC(argv3), argv3, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot open"));
}

static void help_text(void **state)
{
	const char *u = daemon_opts_usage();
	static const char *const opts[] = {
		"--interface NAME=ADDR[!ADVERTISED]",
		"--listen-ng",
		"--port-min",
		"--xdp native|generic|off",
		"--stun",
		"--turn",
		"--turn-user",
		"--pin-path",
		"--log-level",
		"--foreground",
		"--pidfile",
		"--config",
		"--inactivity-timeout",
		"--state-file",
	};
	char *const argv[] = {"icepathd", "--help"};
	struct daemon_opts o;
	char err[64];

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		assert_non_null(strstr(u, opts[i]));
	/* --help needs no interface */
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(o.help);
	assert_string_equal(daemon_xdp_mode_str(DAEMON_XDP_OFF), "off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_full_line),
		cmocka_unit_test(errors_name_the_option),
		cmocka_unit_test(config_file_then_command_line),
		cmocka_unit_test(help_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
