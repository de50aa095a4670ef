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
#include <sys/stat.h>
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
		"--gather-timeout",
		"350",
		"--media-threads",
		"3",
		"--endpoint-learning",
		"delayed",
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
	assert_int_equal(o.learning, DAEMON_LEARN_DELAYED);
	assert_int_equal(o.inactivity_s, 30);
	assert_int_equal(o.gather_timeout_ms, 350);
	assert_int_equal(o.media_threads, 3);
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
	assert_int_equal(o.gather_timeout_ms, 200);
	assert_int_equal(o.media_threads, -1); /* one per CPU */
	assert_false(o.foreground);
	assert_string_equal(o.pin_path, "/sys/fs/bpf/icepath");
	assert_int_equal(netaddr_family(&o.redis), 0);
	assert_false(o.redis_standby);

	char *const ha[] = {"icepathd",	  "--interface",  "192.0.2.1",	"--redis",
			    "192.0.2.5:6380/3", "--redis-role", "standby"};

	assert_int_equal(parse(&o, ARGC(ha), ha, err, sizeof(err)), 0);
	assert_string_equal(netaddr_str(&o.redis, buf, sizeof(buf)), "192.0.2.5:6380");
	assert_int_equal(o.redis_db, 3);
	assert_true(o.redis_standby);
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
		{{"--redis", "192.0.2.5:6379/x"}, "/DB must be a database number"},
		{{"--redis", "192.0.2.5:99999"}, "expected HOST:PORT[/DB]"},
		{{"--redis-role", "primary"}, "--redis-role 'primary'"},
		{{"--redis-role", "standby"}, "--redis-role standby needs --redis"},
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
		{{"--gather-timeout", "5001"}, "--gather-timeout '5001': expected milliseconds 0-5000"},
		{{"--gather-timeout", "2x"}, "--gather-timeout '2x'"},
		{{"--gather-timeout", "-1"}, "--gather-timeout '-1'"},
		{{"--media-threads", "65"}, "--media-threads '65': expected a count 0-64"},
		{{"--media-threads", "-1"}, "--media-threads '-1'"},
		{{"--media-threads", "2x"}, "--media-threads '2x'"},
		{{"--endpoint-learning", "first"}, "--endpoint-learning 'first': expected heuristic"},
		/* issue 9: NG on a public address only with an allow-list */
		{{"--listen-ng", "192.0.2.1:2223"}, "192.0.2.1:2223 is not a loopback address"},
		{{"--listen-ng", "0.0.0.0:2223"}, "give --ng-allow"},
		{{"--listen-ng", "[::]:2223"}, "give --ng-allow"},
		{{"--ng-allow", "10.0.0.0/33"}, "--ng-allow '10.0.0.0/33': '10.0.0.0/33': prefix"},
		{{"--ng-allow", "proxy.example"}, "is not an IPv4/IPv6 address"},
		{{"--max-sessions", "0"}, "--max-sessions '0': expected a number of calls"},
		{{"--max-sessions", "-2"}, "--max-sessions '-2'"},
		{{"--max-sessions", "1000001"}, "--max-sessions '1000001'"},
		{{"--user", "no-such-user-icepath"}, "--user no-such-user-icepath: no such user"},
		{{"--user", "root"}, "--user root: is uid 0"},
		{{"--group", "root"}, "--group root needs --user"},
		{{"--user", "nobody", "--group", "no-such-group-icepath"}, "no such group"},
		{{"--turn-pass-file", "/nonexistent/pass"}, "--turn-pass-file /nonexistent/pass: cannot open"},
		{{"--turn-pass-file", "/tmp"}, "not a regular file"},
		/* issue 12: the DTLS certificate and key come as a pair */
		{{"--dtls-cert", "/etc/icepath/cert.pem"}, "--dtls-cert given without --dtls-key"},
		{{"--dtls-key", "/etc/icepath/key.pem"}, "--dtls-key given without --dtls-cert"},
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

/* --max-sessions, --ng-allow, --user: values and what they imply. */
static void limits_and_privileges(void **state)
{
	char *const argv[] = {"icepathd",	  "--interface",   "192.0.2.1",
			      "--listen-ng",	  "0.0.0.0:2223",  "--ng-allow",
			      "198.51.100.0/24", "--ng-allow=2001:db8::1", "--max-sessions",
			      "500",		  "--user",	   "nobody"};
	char *const argv2[] = {"icepathd", "--interface", "192.0.2.1", "--max-sessions", "-1",
			       "--port-min", "30000", "--port-max", "30999"};
	struct daemon_opts o;
	char err[256];

	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(o.n_ng_allow, 2);
	assert_int_equal(o.max_sessions, 500);
	/* 10001 ports: 2500 calls of one m= line; the option is lower */
	assert_int_equal(daemon_opts_ports(&o), 10001);
	assert_int_equal(daemon_opts_session_cap(&o), 500);
	assert_true(o.drop_privileges);
	assert_int_not_equal(o.run_uid, 0);
	assert_string_equal(o.warnings, "");

	assert_int_equal(parse(&o, ARGC(argv2), argv2, err, sizeof(err)), 0);
	assert_int_equal(o.max_sessions, 0); /* rtpengine's -1: no limit */
	assert_int_equal(daemon_opts_session_cap(&o), 250);
	assert_false(o.drop_privileges);
	assert_int_equal(o.n_ng_allow, 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* --turn-pass-file: 0600, root or the daemon's user, no symlink; --turn-pass warns. */
static void secrets_file(void **state)
{
	char dir[] = "/tmp/icepathd-secret-XXXXXX", path[96], link[96], conf[96], err[256];
	struct daemon_opts o;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/turn.pass", dir);
	snprintf(link, sizeof(link), "%s/link.pass", dir);
	snprintf(conf, sizeof(conf), "%s/icepathd.conf", dir);
	char *const argv[] = {"icepathd", "--interface", "192.0.2.1", "--turn", "192.0.2.9",
			      "--turn-user", "u", "--turn-pass-file", path};
	char *const argv_link[] = {"icepathd", "--interface", "192.0.2.1", "--turn-pass-file",
				   link};
	char *const argv_both[] = {"icepathd",	 "--interface", "192.0.2.1", "--turn-pass",
				   "p",		 "--turn-pass-file", path};
	char *const argv_cmdline[] = {"icepathd", "--interface", "192.0.2.1", "--turn",
				      "192.0.2.9", "--turn-user", "u", "--turn-pass", "p"};
	char *const argv_user[] = {"icepathd", "--interface", "192.0.2.1", "--turn-pass-file",
				   path, "--user", "nobody"};
	char *const argv_conf[] = {"icepathd", "--config", conf};

	write_file(path, "s3cret\r\nsecond line ignored\n", 0600);
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(o.turn_pass, "s3cret");
	assert_string_equal(o.warnings, "");

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mode 0640 lets other users read the TURN password; chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(parse(&o, ARGC(argv_link), argv_link, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a symbolic link"));

	assert_int_equal(parse(&o, ARGC(argv_both), argv_both, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "both given"));

	write_file(path, "\n", 0600);
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no password"));

	/* owned by somebody else: refused, unless that is the --user */
	write_file(path, "s3cret\n", 0600);
	if (getuid() == 0) {
		int rc;

		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "owned by uid 65534; it must belong to root"));
		rc = parse(&o, ARGC(argv_user), argv_user, err, sizeof(err));
		if (o.run_uid == 65534) /* nobody */
			assert_int_equal(rc, 0);
	}

	assert_int_equal(parse(&o, ARGC(argv_cmdline), argv_cmdline, err, sizeof(err)), 0);
	assert_non_null(strstr(o.warnings, "--turn-pass on the command line is visible"));
	assert_non_null(strstr(o.warnings, "--turn-pass-file"));

	/* a password in a config file others can read: a warning */
	write_file(conf, "interface = 192.0.2.1\nturn-pass = p\n", 0644);
	assert_int_equal(parse(&o, ARGC(argv_conf), argv_conf, err, sizeof(err)), 0);
	assert_non_null(strstr(o.warnings, "holds turn-pass and is readable by others (mode 0644)"));
	assert_int_equal(chmod(conf, 0600), 0);
	assert_int_equal(parse(&o, ARGC(argv_conf), argv_conf, err, sizeof(err)), 0);
	assert_string_equal(o.warnings, "");

	unlink(path);
	unlink(link);
	unlink(conf);
	rmdir(dir);
}

/* --redis-pass-file: the same rules as --turn-pass-file, said for Redis;
 * --redis-user needs it, and it needs --redis. */
static void redis_secret(void **state)
{
	char dir[] = "/tmp/icepathd-rsecret-XXXXXX", path[96], err[256];
	struct daemon_opts o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/redis.pass", dir);
	char *const argv[] = {"icepathd",	    "--interface", "192.0.2.1",	 "--redis",
			      "192.0.2.5:6379", "--redis-user", "icepath",	 "--redis-pass-file",
			      path};
	char *const argv_nouser[] = {"icepathd", "--interface", "192.0.2.1", "--redis",
				     "192.0.2.5", "--redis-user", "icepath"};
	char *const argv_noredis[] = {"icepathd", "--interface", "192.0.2.1",
				      "--redis-pass-file", path};

	write_file(path, "r3dis pass\n", 0600);
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(o.redis_pass, "r3dis pass");
	assert_string_equal(o.redis_user, "icepath");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(parse(&o, ARGC(argv), argv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--redis-pass-file"));
	assert_non_null(strstr(err, "mode 0644 lets other users read the Redis password; chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(parse(&o, ARGC(argv_nouser), argv_nouser, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--redis-user icepath needs --redis-pass-file"));
	assert_int_equal(parse(&o, ARGC(argv_noredis), argv_noredis, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "without --redis"));
	unlink(path);
	rmdir(dir);
}

/* The config parser over bytes: what the fuzzer drives. */
static void config_buffer_malformed(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		const char *needle; /* NULL: accepted */
	} cases[] = {
		{"interface = 192.0.2.1\nport-min=31000", 0, NULL},
		{"# nothing\n\n   \n", 0, NULL},
		{"interface = 192.0.2.1\0\nxdp = off\n", 31, "t:1: NUL byte"},
		{"=\n", 0, "unknown option ''"},
		{"config = /etc/passwd\n", 0, "'config' cannot be nested"},
		{"max-sessions = 10 # comment\nmax-sessions\n", 0, "t:2: --max-sessions needs a value"},
		{"ng-allow = ,,,\n", 0, "t:1: --ng-allow ',,,': empty allow-list"},
		{"user =\n", 0, "--user needs a value"},
	};
	struct daemon_opts o;
	char err[256], longline[700];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int rc;

		daemon_opts_defaults(&o);
		err[0] = 0;
		rc = daemon_opts_load_buf(&o, "t", cases[i].text, len, err, sizeof(err));
		if (!cases[i].needle && rc)
			fail_msg("case %zu: refused: %s", i, err);
		if (cases[i].needle && (rc != -EINVAL || !strstr(err, cases[i].needle)))
			fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, err, cases[i].needle);
	}
	memset(longline, 'a', sizeof(longline));
	daemon_opts_defaults(&o);
	assert_int_equal(daemon_opts_load_buf(&o, "t", longline, sizeof(longline), err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t:1: line longer than 510 bytes"));
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
		"--max-sessions",
		"--ng-allow",
		"--user USER, --group GROUP",
		"--turn-pass-file",
		"4 file descriptors",
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
		cmocka_unit_test(limits_and_privileges),
		cmocka_unit_test(secrets_file),
		cmocka_unit_test(redis_secret),
		cmocka_unit_test(config_buffer_malformed),
		cmocka_unit_test(help_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
