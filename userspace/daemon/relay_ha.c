// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_ha: --redis-role standby. The standby binds no media port, attaches
 * no XDP and keeps a copy of the active's calls, read from Redis again on
 * each keyspace notification of their hash (relay_redis.c subscribes; the
 * notifications of one loop turn cost one read), and every
 * RELAY_HA_SAFETY_MS as well; when the server sends none (notifications
 * off and CONFIG refused: logged), every RELAY_HA_REFRESH_MS. When a service address (any --interface's local
 * address, IPv4 or IPv6) arrives on this host -- keepalived/VRRP moving it after the
 * active died -- rtnetlink says so and the standby takes over at once: it
 * attaches the fast path, reads the calls once more (the copy if Redis is
 * gone too), binds their ports, installs their flows, resumes the ICE legs'
 * agents (consent both ways, as after a restart: relay_state_apply()), and
 * from then on is the active: it answers NG for the calls and writes them.
 * The only daemon file that uses the rtnetlink monitor (icepath/netif.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/netif.h"
#include "relay.h"

struct relay_ha {
	struct netif_monitor *mon;
	char *copy; /* the calls as a state file, from the last refresh */
	size_t copy_len;
	unsigned copy_calls;
	bool taken;
	/* taken over before every service address was here: the fast path
	 * (which attaches to the interfaces holding them) waits for them */
	bool fp_pending;
	struct relay_evsrc subev; /* the subscriber's fd; -1: not subscribed */
	uint64_t next_read_ms, next_sub_ms; /* the loop's clock */
};

/* Is a service address on this host? A bind without IP_FREEBIND works
 * only for a local address: exactly the question, with no race against the
 * monitor's view. Any of the --interface addresses counts: keepalived may
 * move them one by one (one VRRP instance per family), and the first one
 * to arrive is the moment this host owns the service. Returns the index
 * of the first present, or -1. */
static bool addr_here(const struct netaddr *local)
{
	struct netaddr a = *local;
	int fd = socket(netaddr_family(&a), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool here;

	if (fd < 0)
		return false;
	netaddr_set_port(&a, 0);
	here = bind(fd, &a.sa, netaddr_len(&a)) == 0;
	close(fd);
	return here;
}

static int service_here(const struct relay *r)
{
	for (unsigned i = 0; i < r->opts.nifaces; i++)
		if (addr_here(&r->opts.ifaces[i].local))
			return (int)i;
	return -1;
}

/* The first --interface whose address is not here yet, or -1. */
static int service_missing(const struct relay *r)
{
	for (unsigned i = 0; i < r->opts.nifaces; i++)
		if (!addr_here(&r->opts.ifaces[i].local))
			return (int)i;
	return -1;
}

static void refresh(struct relay *r, const char *why)
{
	struct relay_ha *ha = r->ha;
	unsigned n;
	size_t len;
	char *buf;

	if (relay_redis_load(r, &buf, &len, &n))
		return; /* keep the last copy */
	if (n != ha->copy_calls)
		log_info("standby: %u calls of the active in %s (%s)", n, relay_redis_where(r),
			 why);
	free(ha->copy);
	ha->copy = buf;
	ha->copy_len = len;
	ha->copy_calls = n;
}

static void unsubscribe(struct relay *r)
{
	struct relay_ha *ha = r->ha;

	if (ha->subev.fd >= 0)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, ha->subev.fd, NULL);
	ha->subev.fd = -1;
	relay_redis_sub_close(r);
}

/* Keyspace notifications, when the server sends them (relay_redis.c). */
static void subscribe(struct relay *r, uint64_t now)
{
	struct relay_ha *ha = r->ha;
	int fd;

	ha->next_sub_ms = now + RELAY_HA_SAFETY_MS;
	fd = relay_redis_subscribe(r);
	if (fd < 0)
		return;
	ha->subev.fd = fd;
	if (relay_epoll_add(r, fd, &ha->subev)) {
		log_warn("standby: cannot watch the subscriber connection: %s; polling",
			 strerror(errno));
		ha->subev.fd = -1;
		relay_redis_sub_close(r);
	}
}

static void monitor_close(struct relay *r)
{
	netif_monitor_close(r->ha->mon);
	r->ha->mon = NULL;
	if (r->netev.fd >= 0)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->netev.fd, NULL);
	r->netev.fd = -1;
}

static void take_over(struct relay *r, unsigned which, uint64_t now)
{
	struct relay_ha *ha = r->ha;
	char a[NETADDR_STRLEN];
	unsigned n;
	int err, missing;

	ha->taken = true;
	/* the other service addresses follow (keepalived moves them one by
	 * one): the calls' sockets on them get their datagrams once they land */
	r->bind_free = true;
	log_warn("standby: the service address %s (--interface %s) is on this host now: taking "
		 "over",
		 netaddr_ip_str(&r->opts.ifaces[which].local, a, sizeof(a)),
		 r->opts.ifaces[which].name);
	refresh(r, "take-over"); /* the freshest, if Redis still answers */
	missing = service_missing(r);
	if (missing < 0) {
		err = relay_flows_open(r);
		if (err)
			log_err("standby: no fast path (%s): the calls take the userspace path",
				strerror(-err));
	} else {
		ha->fp_pending = true;
		log_warn("standby: --interface %s (%s) is not on this host yet: the fast path "
			 "waits for it, the calls take the userspace path meanwhile",
			 r->opts.ifaces[missing].name,
			 netaddr_ip_str(&r->opts.ifaces[missing].local, a, sizeof(a)));
	}
	r->opts.redis_standby = false; /* from here on the active: it writes */
	n = relay_state_apply(r, ha->copy, ha->copy_len, relay_redis_where(r), now);
	log_warn("standby: took over %u of %u calls; now the active", n, ha->copy_calls);
	unsubscribe(r);
	if (!ha->fp_pending)
		monitor_close(r);
	timerheap_remove(&r->timers, &r->ha_timer);
	relay_calls_flush(r, now);
}

/* Every service address is here now: the fast path, and every call's
 * flows into it. */
static void fastpath_late(struct relay *r, uint64_t now)
{
	int err;

	r->ha->fp_pending = false;
	monitor_close(r);
	err = relay_flows_open(r);
	if (err) {
		log_err("no fast path (%s): the calls take the userspace path", strerror(-err));
		return;
	}
	log_info("every service address is here: the fast path takes the calls' media");
	for (struct call *c = r->calls.head; c; c = c->next)
		relay_call_changed(r, c);
	relay_calls_flush(r, now);
}

int relay_ha_open(struct relay *r)
{
	struct relay_ha *ha;
	int err;

	if (!r->opts.redis_standby)
		return 0;
	ha = calloc(1, sizeof(*ha));
	if (!ha)
		return -ENOMEM;
	r->ha = ha;
	ha->subev.kind = RELAY_EV_REDIS_SUB;
	ha->subev.fd = -1;
	r->netev.kind = RELAY_EV_NETIF;
	r->netev.fd = -1;
	err = netif_monitor_open(&ha->mon);
	if (err) {
		log_err("standby: cannot watch rtnetlink for the service address: %s",
			strerror(-err));
		return err;
	}
	r->netev.fd = netif_monitor_fd(ha->mon);
	err = relay_epoll_add(r, r->netev.fd, &r->netev);
	if (err)
		return err;
	timerheap_node_init(&r->ha_timer);
	r->ha_timer.owner = r;
	r->ha_timer.kind = RELAY_TIMER_HA;
	subscribe(r, r->now_ms);
	log_info("standby: binding nothing until the service address arrives");
	relay_ha_tick(r, r->now_ms);
	return 0;
}

void relay_ha_close(struct relay *r)
{
	if (!r->ha)
		return;
	unsubscribe(r);
	netif_monitor_close(r->ha->mon);
	free(r->ha->copy);
	free(r->ha);
	r->ha = NULL;
}

static void on_netif(void *ctx, const struct netif_event *ev)
{
	bool *added = ctx;

	if (ev->type == NETIF_EVENT_ADDR_ADDED || ev->type == NETIF_EVENT_LINK_UP)
		*added = true;
}

void relay_ha_event(struct relay *r, uint64_t now)
{
	bool added = false;
	int n, here;

	if (!r->ha || !r->ha->mon)
		return;
	n = netif_monitor_read(r->ha->mon, on_netif, &added);
	/* -ENOBUFS: the kernel dropped some: look for ourselves */
	if (!(added || n == -ENOBUFS))
		return;
	if (r->ha->taken) {
		if (r->ha->fp_pending && service_missing(r) < 0)
			fastpath_late(r, now);
		return;
	}
	if ((here = service_here(r)) >= 0)
		take_over(r, (unsigned)here, now);
}

void relay_ha_tick(struct relay *r, uint64_t now)
{
	int here;

	if (!r->ha || r->ha->taken)
		return;
	if ((here = service_here(r)) >= 0) {
		take_over(r, (unsigned)here, now);
		return;
	}
	if (r->ha->subev.fd < 0 && now >= r->ha->next_sub_ms)
		subscribe(r, now);
	if (now >= r->ha->next_read_ms) {
		refresh(r, r->ha->subev.fd >= 0 ? "safety read" : "poll");
		r->ha->next_read_ms =
			now + (r->ha->subev.fd >= 0 ? RELAY_HA_SAFETY_MS : RELAY_HA_REFRESH_MS);
	}
	/* the address is looked for every RELAY_HA_REFRESH_MS either way (a
	 * missed rtnetlink event) */
	timerheap_set(&r->timers, &r->ha_timer, now + RELAY_HA_REFRESH_MS);
}

void relay_ha_notified(struct relay *r, uint64_t now)
{
	int n;

	if (!r->ha || r->ha->taken)
		return;
	n = relay_redis_sub_read(r);
	if (n < 0) {
		/* lost: polling until subscribe() works again */
		if (r->ha->subev.fd >= 0)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->ha->subev.fd, NULL);
		r->ha->subev.fd = -1;
		r->ha->next_sub_ms = now + RELAY_HA_REFRESH_MS;
		r->ha->next_read_ms = now;
		return;
	}
	if (n > 0)
		refresh(r, "keyspace notification");
}
