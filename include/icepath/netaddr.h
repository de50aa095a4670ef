/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netaddr: one IPv4 or IPv6 transport address (address + UDP port), the
 * currency of every icepath module. It is a sockaddr union, so it goes to
 * sendto()/bind() as it is, and the port stays in network byte order inside
 * the sockaddr; use netaddr_port() for a host-order value.
 */
#ifndef ICEPATH_NETADDR_H
#define ICEPATH_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
};

/* "[2001:db8::1]:3478" is the longest form: 39 + 2 + 1 + 5 + NUL */
#define NETADDR_STRLEN 64

/* Build from a text address and a host-order port. 0 or -EINVAL. */
int netaddr_from_str(struct netaddr *a, const char *ip, uint16_t port);
/* Parse "1.2.3.4:5", "[::1]:5" or, with default_port, a bare address. */
int netaddr_parse(struct netaddr *a, const char *text, int default_port);
void netaddr_from_v4(struct netaddr *a, uint32_t be_addr, uint16_t port);
void netaddr_from_v6(struct netaddr *a, const uint8_t addr[16], uint16_t port);

static inline int netaddr_family(const struct netaddr *a)
{
	return a->sa.sa_family;
}

uint16_t netaddr_port(const struct netaddr *a);
void netaddr_set_port(struct netaddr *a, uint16_t port);
socklen_t netaddr_len(const struct netaddr *a);
/* Same family, address and port. */
bool netaddr_equal(const struct netaddr *a, const struct netaddr *b);
/* Same family and address, any port. */
bool netaddr_same_ip(const struct netaddr *a, const struct netaddr *b);
bool netaddr_is_any(const struct netaddr *a);
bool netaddr_is_link_local(const struct netaddr *a);
bool netaddr_is_loopback(const struct netaddr *a);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain IPv4. */
void netaddr_unmap_v4(struct netaddr *a);

/* "1.2.3.4:5" / "[::1]:5"; always NUL-terminated, returns buf. */
const char *netaddr_str(const struct netaddr *a, char *buf, size_t len);
/* Address only, no port. */
const char *netaddr_ip_str(const struct netaddr *a, char *buf, size_t len);

/* Stable hash for tables keyed by address (FNV-1a over family/addr/port). */
uint32_t netaddr_hash(const struct netaddr *a);

#endif
