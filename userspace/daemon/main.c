// SPDX-License-Identifier: GPL-2.0-only
/* icepathd: the media relay daemon (options: icepathd --help). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_lock.h"
#include "daemon_log.h"
#include "daemon_opts.h"
#include "daemon_priv.h"
#include "relay.h"

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		log_err("cannot write --pidfile %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

/* Classic detach: fork, new session, stdio to /dev/null, logs to syslog. */
static int detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	daemon_log_use_syslog(1);
	return 0;
}

/* The password is in o now: take it out of what ps shows. */
static void scrub_turn_pass(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--turn-pass") && i + 1 < argc)
			memset(argv[i + 1], '*', strlen(argv[i + 1]));
		else if (!strncmp(argv[i], "--turn-pass=", 12))
			memset(argv[i] + 12, '*', strlen(argv[i] + 12));
	}
}

static void log_lines(const char *text)
{
	const char *p = text, *nl;

	while (*p && (nl = strchr(p, '\n'))) {
		log_warn("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* For daemon_priv_drop(): does a fast-path map operation work? */
static int probe_fastpath(void *ctx)
{
	struct relay *r = ctx;

	return fastpath_flow_count(r->fp) < 0 ? -EPERM : 0;
}

static void log_ng_access(const struct daemon_opts *o)
{
	char list[NG_ALLOW_MAX * 48] = "", one[48], addr[NETADDR_STRLEN];
	size_t used = 0;

	netaddr_str(&o->listen_ng, addr, sizeof(addr));
	if (!o->n_ng_allow) {
		log_info("NG on %s: loopback, every local process may control calls", addr);
		return;
	}
	for (unsigned i = 0; i < o->n_ng_allow && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
					 ng_allow_str(&o->ng_allow[i], one, sizeof(one)));
	log_info("NG on %s accepts requests only from %s; others are dropped unanswered", addr,
		 list);
}

/* One owner per pin path and state file (daemon_lock.h), before anything
 * is created: a second daemon must not touch the first one's pins. */
static int take_locks(const struct daemon_opts *o, struct daemon_lock *pin,
		      struct daemon_lock *state)
{
	char path[sizeof(pin->path)], what[DAEMON_PATH_MAX + 16];
	int err;

	pin->fd = state->fd = -1;
	if (o->xdp != DAEMON_XDP_OFF) {
		err = daemon_lock_pin_file(o->pin_path, path, sizeof(path));
		if (err) {
			log_err("--pin-path %s: too long for a lock file name", o->pin_path);
			return err;
		}
		snprintf(what, sizeof(what), "pin path %s", o->pin_path);
		err = daemon_lock_take(pin, path, what);
		if (err)
			return err;
	}
	if (o->state_file[0]) {
		snprintf(path, sizeof(path), "%s.lock", o->state_file);
		snprintf(what, sizeof(what), "state file %s", o->state_file);
		err = daemon_lock_take(state, path, what);
		if (err) {
			daemon_lock_release(pin);
			return err;
		}
	}
	return 0;
}

static int fail_start(struct relay *r, struct daemon_lock *pin, struct daemon_lock *state)
{
	relay_shutdown(r);
	daemon_lock_release(state);
	daemon_lock_release(pin);
	return 1;
}

int main(int argc, char **argv)
{
	static struct daemon_lock pin_lock, state_lock;
	static struct daemon_opts o;
	static struct relay r;
	char err[512];
	int rc;

	daemon_opts_defaults(&o);
	if (daemon_opts_parse(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "icepathd: %s\n", err);
		return 2;
	}
	if (o.help) {
		fputs(daemon_opts_usage(), stdout);
		return 0;
	}
	if (o.version) {
		printf("icepathd %s\n", ICEPATH_VERSION);
		return 0;
	}
	scrub_turn_pass(argc, argv);
	daemon_log_set_level(o.log_level);
	/* under systemd: "<N>" priorities, and CALL_ID= on a call's lines */
	if (o.foreground && daemon_journal_is_stderr() && daemon_log_use_journal(NULL))
		log_warn("journal socket unavailable: call lines go to stderr without CALL_ID");
	log_lines(o.warnings);
	if (!o.foreground && detach()) {
		fprintf(stderr, "icepathd: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	if (take_locks(&o, &pin_lock, &state_lock))
		return 1;
	rc = relay_init(&r, &o);
	if (rc) {
		log_err("startup failed: %s", strerror(-rc));
		return fail_start(&r, &pin_lock, &state_lock);
	}
	if (o.pidfile[0] && write_pidfile(o.pidfile))
		return fail_start(&r, &pin_lock, &state_lock);
	log_ng_access(&o);
	/* everything that needs root is done: sockets, fast path, pins, state */
	if (o.drop_privileges &&
	    (daemon_priv_prepare_dir(&o, o.state_file) ||
	     daemon_priv_drop(&o, r.fp != NULL, probe_fastpath, &r)))
		return fail_start(&r, &pin_lock, &state_lock);
	/* NG listens and the fast path is attached: systemd may go on */
	relay_service_ready(&r, argc, argv);
	rc = relay_run(&r);
	relay_service_stopping(&r);
	relay_shutdown(&r);
	daemon_lock_release(&state_lock);
	daemon_lock_release(&pin_lock);
	if (o.pidfile[0])
		unlink(o.pidfile);
	log_info("stopped");
	return rc ? 1 : 0;
}
