// SPDX-License-Identifier: GPL-2.0-only
/* relay_loop: icepathd's event loop, its clock and setup (see relay.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "icepath/monotime.h"
#include "relay.h"
#include "relay_limits.h"

/* ---- clock ------------------------------------------------------------------ */

/* The one clock read of a turn (the wall clock rides along, for the unix
 * stamps of query and the state file). */
static uint64_t clock_read(struct relay *r)
{
	struct timespec ts;

	r->now_ms = r->clock ? r->clock(r->clock_ctx) : monotime_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	r->unix_offset_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)r->now_ms;
	return r->now_ms;
}

/* ---- loop ------------------------------------------------------------------ */

static void run_timers(struct relay *r, uint64_t now)
{
	struct timerheap_node *t;

	while ((t = timerheap_peek(&r->timers)) && t->deadline_ms <= now) {
		timerheap_remove(&r->timers, t);
		daemon_log_set_call(t->kind == RELAY_TIMER_ICE || t->kind == RELAY_TIMER_IDLE ||
						    t->kind == RELAY_TIMER_DTLS
					    ? ((struct call_leg *)t->owner)->call->id
				    : t->kind == RELAY_TIMER_DELETE ? ((struct call *)t->owner)->id
								    : NULL);
		switch (t->kind) {
		case RELAY_TIMER_ICE: {
			struct call_leg *l = t->owner;

			if (l->agent) {
				ice_agent_tick(l->agent, now);
				relay_agent_drain(r, l, now);
			}
			break;
		}
		case RELAY_TIMER_IDLE:
			relay_idle_fire(r, t->owner, now);
			break;
		case RELAY_TIMER_STATE:
			relay_state_commit(r, now);
			break;
		case RELAY_TIMER_DELETE:
			relay_call_delete(r, t->owner, "NG delete, after its delete-delay", now);
			break;
		case RELAY_TIMER_WATCHDOG:
			relay_service_watchdog(r, now);
			break;
		case RELAY_TIMER_FASTPATH:
			relay_fastpath_tick(r, now);
			break;
		case RELAY_TIMER_DTLS:
			relay_crypto_tick(r, t->owner, now);
			break;
		case RELAY_TIMER_HA:
			relay_ha_tick(r, now);
			break;
		}
		daemon_log_set_call(NULL);
		relay_out_flush(r);
	}
}

static void arm_timer(struct relay *r)
{
	struct itimerspec its = {0};
	uint64_t next = timerheap_next(&r->timers), ng_next = ng_server_next_deadline(&r->ngs);

	/* a parked NG request's deadline wakes the loop too */
	if (ng_next != UINT64_MAX && (next == TIMERHEAP_NONE || ng_next < next))
		next = ng_next;

	/* a test's clock is not CLOCK_MONOTONIC: its timers fire when the
	 * test turns the loop, by run_timers() */
	if (next != TIMERHEAP_NONE && !r->clock) {
		/* absolute CLOCK_MONOTONIC; 0 would disarm, so never ask for it */
		if (!next)
			next = 1;
		its.it_value.tv_sec = (time_t)(next / 1000u);
		its.it_value.tv_nsec = (long)(next % 1000u) * 1000000L;
	}
	timerfd_settime(r->timer.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_ng(struct relay *r, uint64_t now)
{
	uint8_t *in = r->rxbuf[0];
	struct netaddr from;
	socklen_t fl;
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		/* NG datagrams may be up to 64 KiB: receive into the whole rx area */
		fl = sizeof(from);
		n = recvfrom(r->ng.fd, in, (size_t)RELAY_BATCH * RELAY_DGRAM_MAX, MSG_DONTWAIT,
			     &from.sa, &fl);
		if (n < 0)
			break;
		/* the reply is held: it leaves at the turn's commit
		 * (relay_commit()), once the state it acknowledges is durable */
		ng_handle(&r->ngs, now, &from, in, (size_t)n, r->ngout, NG_DGRAM_MAX);
		daemon_log_set_call(NULL); /* set by the NG handlers */
		relay_out_flush(r);
	}
}

static void on_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %d: shutting down", si.ssi_signo);
			r->stopping = true;
		} else if (si.ssi_signo == SIGHUP) {
			relay_service_reload(r);
		}
	}
}

int relay_poll(struct relay *r, int timeout_ms)
{
	struct epoll_event evs[64];
	uint64_t now, exp;
	int n;

	arm_timer(r);
	n = epoll_wait(r->epfd, evs, 64, timeout_ms);
	if (n < 0) {
		if (errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		n = 0;
	}
	now = clock_read(r);
	atomic_store_explicit(&r->worker_now_ms, now, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		unsigned kind = *(unsigned *)evs[i].data.ptr;

		switch (kind) {
		case RELAY_EV_MEDIA:
			relay_media_recv(r, evs[i].data.ptr, now);
			break;
		case RELAY_EV_NG:
			on_ng(r, now);
			/* a delete may have closed sockets of later events:
			 * epoll reports them again if still readable */
			i = n;
			break;
		case RELAY_EV_SIGNAL:
			on_signal(r);
			break;
		case RELAY_EV_TIMER:
			if (read(r->timer.fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
				log_debug("timerfd read: %s", strerror(errno));
			break;
		case RELAY_EV_FASTPATH:
			fastpath_poll(r->fp, now);
			break;
		case RELAY_EV_WORKER:
			relay_worker_up(r, evs[i].data.ptr, now);
			break;
		case RELAY_EV_NETIF:
			relay_ha_event(r, now);
			i = n; /* a take-over opened and closed descriptors */
			break;
		case RELAY_EV_REDIS_SUB:
			relay_ha_notified(r, now);
			i = n; /* a lost subscriber closed its descriptor */
			break;
		case RELAY_EV_METRICS:
			relay_metrics_event(r, evs[i].data.ptr, evs[i].events);
			i = n; /* a connection may have closed: later pointers may be stale */
			break;
		}
	}
	/* what is due, then what the turn changed, each once; then the
	 * group commit: the state on disk, and only then the turn's replies */
	run_timers(r, now);
	ng_server_tick(&r->ngs, now);
	relay_calls_flush(r, now);
	relay_out_flush(r);
	relay_commit(r);
	return n;
}

int relay_run(struct relay *r)
{
	r->ran = true;
	while (!r->stopping) {
		int err = relay_poll(r, -1);

		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------------ */

/* Media ports in an order nobody predicts (the kernel's CSPRNG). */
static uint32_t port_random(void *ctx)
{
	uint32_t v;

	relay_random(&v, sizeof(v));
	return v;
}

int relay_init(struct relay *r, const struct daemon_opts *o)
{
	return relay_init_clock(r, o, NULL, NULL);
}

int relay_init_clock(struct relay *r, const struct daemon_opts *o, relay_clock_fn clock, void *ctx)
{
	char buf[NETADDR_STRLEN];
	sigset_t mask;
	int err;

	memset(r, 0, sizeof(*r));
	r->opts = *o;
	r->clock = clock;
	r->clock_ctx = ctx;
	r->epfd = r->ng.fd = r->sig.fd = r->timer.fd = r->fpev.fd = r->netev.fd = -1;
	r->journal_fd = -1;
	if ((err = relay_limits_fds(o)))
		return err;
	r->started_ms = clock_read(r);
	timerheap_init(&r->timers);
	timerheap_node_init(&r->state_timer);
	timerheap_node_init(&r->fp_timer);
	r->state_timer.owner = r;
	r->state_timer.kind = RELAY_TIMER_STATE;
	snprintf(r->state_path, sizeof(r->state_path), "%s", o->state_file);
	r->rxbuf = calloc(RELAY_BATCH, RELAY_DGRAM_MAX);
	r->out = calloc(RELAY_BATCH, sizeof(*r->out));
	r->ngout = malloc(NG_DGRAM_MAX);
	r->stun_src = calloc(RELAY_STUN_SOURCES, sizeof(*r->stun_src));
	if (!r->rxbuf || !r->out || !r->ngout || !r->stun_src)
		return -ENOMEM;
	if ((err = relay_crypto_init(r)))
		return err;
	err = call_table_init(&r->calls, 4096);
	r->calls.on_state = relay_on_leg_state;
	r->calls.ctx = r;
	if (!err)
		err = call_ports_init(&r->ports, o->port_min, o->port_max);
	r->ports.random = port_random;
	if (err) {
		log_err("cannot set up the call table / port range %u-%u: %s", o->port_min,
			o->port_max, strerror(-err));
		return err;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sig.kind = RELAY_EV_SIGNAL;
	r->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r->timer.kind = RELAY_EV_TIMER;
	r->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->sig.fd < 0 || r->timer.fd < 0)
		return -errno;
	if ((err = relay_epoll_add(r, r->sig.fd, &r->sig)) ||
	    (err = relay_epoll_add(r, r->timer.fd, &r->timer)))
		return err;

	r->ng.kind = RELAY_EV_NG;
	/* a standby listens on the service address before it holds it */
	r->ng.fd = relay_bind_udp_opt(&o->listen_ng, o->redis_standby);
	if (r->ng.fd < 0) {
		log_err("cannot listen for NG on %s: %s",
			netaddr_str(&o->listen_ng, buf, sizeof(buf)), strerror(-r->ng.fd));
		return r->ng.fd;
	}
	if ((err = relay_epoll_add(r, r->ng.fd, &r->ng)))
		return err;
	err = ng_server_init(&r->ngs, &relay_ng_ops, r,
			     &(struct ng_server_config){.allow = o->ng_allow,
							 .n_allow = o->n_ng_allow,
							 .on_denied = relay_limits_ng_denied,
							 .hold = true});
	if (err)
		return err;
	r->ng_ready = true;

	/* a standby binds nothing and recovers nothing: what it will serve
	 * comes from Redis when the service address arrives (relay_ha.c) */
	err = relay_redis_open(r);
	if (!err && !o->redis_standby)
		err = relay_flows_open(r);
	if (!err && !o->redis_standby)
		err = relay_state_recover(r, r->now_ms);
	if (!err)
		err = relay_metrics_open(r);
	if (!err)
		err = relay_ha_open(r);
	/* after the signal mask: the threads inherit it */
	atomic_store_explicit(&r->worker_now_ms, r->now_ms, memory_order_relaxed);
	if (!err)
		err = relay_workers_start(r);
	if (err)
		return err;
	relay_calls_flush(r, r->now_ms);
	log_info("listening for NG on %s, media ports %u-%u, XDP %s",
		 netaddr_str(&o->listen_ng, buf, sizeof(buf)), o->port_min, o->port_max,
		 r->fp ? fastpath_xdp_mode_str(r->xdp_got) : "off");
	return 0;
}

void relay_shutdown(struct relay *r)
{
	unsigned n = (unsigned)r->calls.ncalls;

	relay_metrics_close(r);
	while (r->calls.head)
		relay_call_delete(r, r->calls.head, "daemon shutdown", r->now_ms);
	relay_out_flush(r);
	relay_workers_stop(r);
	if (n)
		log_info("shutdown: %u calls deleted, their flows removed", n);
	/* a clean stop leaves no calls to recover; a failed start must not
	 * erase the file a later start would recover from */
	relay_state_release(r);
	if (r->ran && r->state_path[0] && !r->opts.redis_standby)
		unlink(r->state_path);
	/* and the calls' fields in Redis with them (a standby has none) */
	if (r->ran && !r->opts.redis_standby)
		relay_redis_save(r);
	relay_redis_close(r);
	relay_ha_close(r);
	timerheap_free(&r->timers);
	if (r->calls.buckets)
		call_table_free(&r->calls);
	call_ports_free(&r->ports);
	/* The owner's stop (the lock says it is the owner) takes the fast
	 * path away; a failed start undoes only what it made, so a crashed
	 * run's flows keep forwarding for the next start to recover. */
	if (r->ran && r->fp && r->opts.drop_privileges) {
		/* no CAP_NET_ADMIN to detach, no write access to the root-owned
		 * pin directory: say what does it */
		log_info("stopped as --user %s: XDP stays attached and its pins under %s stay "
			 "(no flows); 'icepath-fpctl --pin %s destroy' as root removes them",
			 r->opts.user, r->opts.pin_path, r->opts.pin_path);
		fastpath_close(r->fp);
	} else if (r->ran) {
		fastpath_teardown(r->fp);
	} else {
		fastpath_abandon(r->fp);
	}
	r->fp = NULL;
	if (r->ng_ready)
		ng_server_destroy(&r->ngs);
	r->ng_ready = false;
	if (r->ng.fd >= 0)
		close(r->ng.fd);
	if (r->sig.fd >= 0)
		close(r->sig.fd);
	if (r->timer.fd >= 0)
		close(r->timer.fd);
	if (r->epfd >= 0)
		close(r->epfd);
	r->ng.fd = r->sig.fd = r->timer.fd = r->epfd = -1;
	free(r->rxbuf);
	free(r->out);
	free(r->ngout);
	free(r->stun_src);
	r->stun_src = NULL;
	relay_crypto_fini(r);
	r->rxbuf = NULL;
	r->out = NULL;
	r->ngout = NULL;
}
