/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netif: the host's interfaces and addresses through rtnetlink (libmnl),
 * for ICE host candidates (RFC 8445 §5.1.1.1), and a change monitor whose
 * file descriptor the caller's epoll loop watches.
 *
 * What counts as a candidate address: an address of an interface that is
 * administratively up (IFF_UP), not a loopback, and not IPv6 tentative,
 * DAD-failed or deprecated. Link-local addresses (fe80::/10, 169.254/16)
 * are left out unless NETIF_F_LINK_LOCAL is given (RFC 8445 §5.1.1.1: they
 * SHOULD NOT be host candidates unless the scope is known to suffice).
 */
#ifndef ICEPATH_NETIF_H
#define ICEPATH_NETIF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/netaddr.h"

#define NETIF_F_LINK_LOCAL (1u << 0) /* include link-local addresses */
#define NETIF_F_LOOPBACK   (1u << 1) /* include loopback interfaces */
#define NETIF_F_IPV4_ONLY  (1u << 2)
#define NETIF_F_IPV6_ONLY  (1u << 3)
#define NETIF_F_DOWN	   (1u << 4) /* include interfaces that are not up */

struct netif_addr {
	struct netaddr addr; /* port 0 */
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t prefixlen;
	/*
	 * RFC 8445 §5.1.2.1 local preference (0..65535): IPv6 above IPv4
	 * (RFC 8421 §4 recommends IPv6 first), then interfaces in index
	 * order, then addresses in kernel order, so the first address of the
	 * lowest-numbered interface ranks highest within a family.
	 */
	uint16_t local_pref;
};

/*
 * Enumerate addresses (RTM_GETLINK + RTM_GETADDR dumps). Fills up to max
 * entries of out and returns how many exist in total (may exceed max), or
 * -errno.
 */
int netif_list(struct netif_addr *out, size_t max, unsigned flags);

/* Interface index of a name (rtnetlink RTM_GETLINK): > 0, or -ENODEV. */
int netif_index(const char *name);
/* Name of an interface index into buf (IF_NAMESIZE): 0 or -ENODEV. */
int netif_name(unsigned ifindex, char *buf, size_t len);

enum netif_event_type {
	NETIF_EVENT_ADDR_ADDED,
	NETIF_EVENT_ADDR_REMOVED,
	NETIF_EVENT_LINK_UP,
	NETIF_EVENT_LINK_DOWN,
};
const char *netif_event_type_str(enum netif_event_type t);

struct netif_event {
	enum netif_event_type type;
	unsigned ifindex;
	char ifname[IF_NAMESIZE]; /* "" when the kernel did not say */
	struct netaddr addr;	  /* ADDR_* only */
	uint8_t prefixlen;	  /* ADDR_* only */
};

struct netif_monitor;

/* A non-blocking netlink socket subscribed to link and IPv4/IPv6 address
 * changes. 0 or -errno. */
int netif_monitor_open(struct netif_monitor **m);
void netif_monitor_close(struct netif_monitor *m); /* NULL is fine */
int netif_monitor_fd(const struct netif_monitor *m);
/*
 * Read every pending message and call cb once per event. Link events are
 * reported only when IFF_UP changes (the kernel repeats RTM_NEWLINK for
 * other reasons). Returns the number of events delivered, or -errno
 * (-ENOBUFS: the kernel dropped notifications; re-list with netif_list()).
 */
int netif_monitor_read(struct netif_monitor *m, void (*cb)(void *ctx, const struct netif_event *ev),
		       void *ctx);

#endif
