// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_service: icepathd under systemd (see relay.h). Readiness and the
 * watchdog go through libsystemd's sd_notify(), which does nothing when
 * NOTIFY_SOCKET is unset, so the same binary runs by hand and in tests.
 * The watchdog is fed from the event loop's own timer: a loop that hangs
 * stops feeding it and systemd restarts the daemon (WatchdogSec=).
 */
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon_log.h"
#include "relay.h"

static void watchdog_arm(struct relay *r, uint64_t now_ms)
{
	timerheap_set(&r->timers, &r->watchdog_timer, now_ms + r->watchdog_ms);
}

void relay_service_ready(struct relay *r, int argc, char *const argv[])
{
	char buf[NETADDR_STRLEN];
	uint64_t usec = 0;

	r->argc = argc;
	r->argv = argv;
	timerheap_node_init(&r->watchdog_timer);
	r->watchdog_timer.owner = r;
	r->watchdog_timer.kind = RELAY_TIMER_WATCHDOG;
	/* WATCHDOG_USEC is the deadline; sd_watchdog_enabled(3) advises
	 * pinging at half of it so one late round of the loop is no restart */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
		r->watchdog_ms = usec / 2000u ? usec / 2000u : 1;
		watchdog_arm(r, r->now_ms);
		log_info("systemd watchdog: every %llu ms", (unsigned long long)r->watchdog_ms);
	}
	sd_notifyf(0, "READY=1\nSTATUS=NG on %s, XDP %s", netaddr_str(&r->opts.listen_ng, buf,
								       sizeof(buf)),
		   r->fp ? fastpath_xdp_mode_str(r->xdp_got) : "off");
}

void relay_service_watchdog(struct relay *r, uint64_t now_ms)
{
	sd_notify(0, "WATCHDOG=1");
	watchdog_arm(r, now_ms);
}

void relay_service_stopping(struct relay *r)
{
	sd_notify(0, "STOPPING=1");
}

static bool same_iface(const struct daemon_iface *a, const struct daemon_iface *b)
{
	return !strcmp(a->name, b->name) && netaddr_equal(&a->local, &b->local) &&
	       netaddr_equal(&a->advertised, &b->advertised);
}

/* Options fixed at startup: sockets bound, maps sized, XDP attached. */
static void restart_only(const struct daemon_opts *o, const struct daemon_opts *n)
{
	bool ifaces = o->nifaces != n->nifaces;

	for (unsigned i = 0; !ifaces && i < o->nifaces; i++)
		ifaces = !same_iface(&o->ifaces[i], &n->ifaces[i]);
	const struct {
		const char *name;
		bool changed;
	} fixed[] = {
		{"interface", ifaces},
		{"listen-ng", !netaddr_equal(&o->listen_ng, &n->listen_ng)},
		{"port-min/port-max", o->port_min != n->port_min || o->port_max != n->port_max},
		{"xdp", o->xdp != n->xdp},
		{"stun", !netaddr_equal(&o->stun, &n->stun)},
		{"turn/turn-user/turn-pass", !netaddr_equal(&o->turn, &n->turn) ||
						     strcmp(o->turn_user, n->turn_user) ||
						     strcmp(o->turn_pass, n->turn_pass)},
		{"pin-path", strcmp(o->pin_path, n->pin_path)},
		{"state-file", strcmp(o->state_file, n->state_file)},
		{"pidfile", strcmp(o->pidfile, n->pidfile)},
		{"dtls-cert/dtls-key",
		 strcmp(o->dtls_cert, n->dtls_cert) || strcmp(o->dtls_key, n->dtls_key)},
		{"metrics", !netaddr_equal(&o->metrics, &n->metrics)},
		{"foreground", o->foreground != n->foreground},
		{"media-threads", o->media_threads != n->media_threads},
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].changed)
			log_warn("reload: %s changed, but it only takes effect on a restart "
				 "(systemctl restart icepathd; calls and fast-path flows survive it)",
				 fixed[i].name);
}

void relay_service_reload(struct relay *r)
{
	static struct daemon_opts n; /* large; only the loop reloads */
	char err[512];
	uint64_t now = r->now_ms;

	sd_notify(0, "RELOADING=1");
	daemon_opts_defaults(&n);
	if (!r->argv || daemon_opts_parse(&n, r->argc, r->argv, err, sizeof(err))) {
		log_err("reload: %s; nothing changed, fix the configuration and send SIGHUP again",
			r->argv ? err : "no command line kept");
		sd_notify(0, "READY=1");
		return;
	}
	restart_only(&r->opts, &n);
	/* what the loop reads each time it needs it can change now */
	r->opts.log_level = n.log_level;
	daemon_log_set_level(n.log_level);
	if (r->opts.inactivity_s != n.inactivity_s) {
		r->opts.inactivity_s = n.inactivity_s;
		for (struct call *c = r->calls.head; c; c = c->next)
			for (unsigned side = 0; side < 2; side++)
				relay_idle_arm(r, &c->legs[side], now);
	}
	memcpy(r->opts.metrics_allow, n.metrics_allow, sizeof(n.metrics_allow));
	r->opts.n_metrics_allow = n.n_metrics_allow;
	log_info("reload: log-level %s, inactivity-timeout %u s, %u metrics-allow networks in "
		 "effect",
		 daemon_log_level_str(n.log_level), n.inactivity_s, n.n_metrics_allow);
	sd_notify(0, "READY=1");
}
