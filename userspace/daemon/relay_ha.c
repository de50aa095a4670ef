// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_ha: --redis-role standby. The standby binds no media port, attaches
 * no XDP and keeps a copy of the active's calls, read from Redis every
 * RELAY_HA_REFRESH_MS. When the service address (the first --interface's
 * local address) arrives on this host -- keepalived/VRRP moving it after the
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
};

/* Is the service address on this host? A bind without IP_FREEBIND works
 * only for a local address: exactly the question, with no race against the
 * monitor's view. */
static bool service_here(const struct relay *r)
{
	struct netaddr a = r->opts.ifaces[0].local;
	int fd = socket(netaddr_family(&a), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool here;

	if (fd < 0)
		return false;
	netaddr_set_port(&a, 0);
	here = bind(fd, &a.sa, netaddr_len(&a)) == 0;
	close(fd);
	return here;
}

static void refresh(struct relay *r)
{
	struct relay_ha *ha = r->ha;
	unsigned n;
	size_t len;
	char *buf;

	if (relay_redis_load(r, &buf, &len, &n))
		return; /* keep the last copy */
	if (n != ha->copy_calls)
		log_info("standby: %u calls of the active in %s", n, relay_redis_where(r));
	free(ha->copy);
	ha->copy = buf;
	ha->copy_len = len;
	ha->copy_calls = n;
}

static void take_over(struct relay *r, uint64_t now)
{
	struct relay_ha *ha = r->ha;
	char a[NETADDR_STRLEN];
	unsigned n;
	int err;

	ha->taken = true;
	log_warn("standby: the service address %s is on this host now: taking over",
		 netaddr_ip_str(&r->opts.ifaces[0].local, a, sizeof(a)));
	refresh(r); /* the freshest, if Redis still answers */
	err = relay_flows_open(r);
	if (err)
		log_err("standby: no fast path (%s): the calls take the userspace path",
			strerror(-err));
	r->opts.redis_standby = false; /* from here on the active: it writes */
	n = relay_state_apply(r, ha->copy, ha->copy_len, relay_redis_where(r), now);
	log_warn("standby: took over %u of %u calls; now the active", n, ha->copy_calls);
	netif_monitor_close(ha->mon);
	ha->mon = NULL;
	if (r->netev.fd >= 0)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->netev.fd, NULL);
	r->netev.fd = -1;
	timerheap_remove(&r->timers, &r->ha_timer);
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
	refresh(r);
	log_info("standby: binding nothing until the service address arrives");
	relay_ha_tick(r, r->now_ms);
	return 0;
}

void relay_ha_close(struct relay *r)
{
	if (!r->ha)
		return;
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
	int n;

	if (!r->ha || !r->ha->mon)
		return;
	n = netif_monitor_read(r->ha->mon, on_netif, &added);
	/* -ENOBUFS: the kernel dropped some: look for ourselves */
	if ((added || n == -ENOBUFS) && !r->ha->taken && service_here(r))
		take_over(r, now);
}

void relay_ha_tick(struct relay *r, uint64_t now)
{
	if (!r->ha || r->ha->taken)
		return;
	if (service_here(r)) {
		take_over(r, now);
		return;
	}
	refresh(r);
	timerheap_set(&r->timers, &r->ha_timer, now + RELAY_HA_REFRESH_MS);
}
