// SPDX-License-Identifier: GPL-2.0-only
/* netaddr: IPv4/IPv6 transport addresses (see include/icepath/netaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/netaddr.h"

void netaddr_from_v4(struct netaddr *a, uint32_t be_addr, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = be_addr;
	a->in.sin_port = htons(port);
}

void netaddr_from_v6(struct netaddr *a, const uint8_t addr[16], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	memcpy(&a->in6.sin6_addr, addr, 16);
	a->in6.sin6_port = htons(port);
}

int netaddr_from_str(struct netaddr *a, const char *ip, uint16_t port)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, ip, &v4) == 1) {
		netaddr_from_v4(a, v4.s_addr, port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6) == 1) {
		netaddr_from_v6(a, v6.s6_addr, port);
		return 0;
	}
	return -EINVAL;
}

int netaddr_parse(struct netaddr *a, const char *text, int default_port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL, *end;
	size_t hlen;
	long port;
	char *e;

	if (!text || !*text)
		return -EINVAL;
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end)
			return -EINVAL;
		hlen = (size_t)(end - text - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (end[1] == ':')
			port_s = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
	} else {
		end = strrchr(text, ':');
		/* More than one ':' without brackets: a bare IPv6 address. */
		if (end && strchr(text, ':') == end) {
			hlen = (size_t)(end - text);
			port_s = end + 1;
		} else {
			hlen = strlen(text);
		}
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
	}
	if (port_s) {
		errno = 0;
		port = strtol(port_s, &e, 10);
		if (errno || *e || e == port_s || port < 0 || port > 65535)
			return -EINVAL;
	} else {
		if (default_port < 0)
			return -EINVAL;
		port = default_port;
	}
	return netaddr_from_str(a, host, (uint16_t)port);
}

uint16_t netaddr_port(const struct netaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return ntohs(a->in.sin_port);
	case AF_INET6:
		return ntohs(a->in6.sin6_port);
	}
	return 0;
}

void netaddr_set_port(struct netaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

socklen_t netaddr_len(const struct netaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

bool netaddr_same_ip(const struct netaddr *a, const struct netaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	return false;
}

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return netaddr_same_ip(a, b) && netaddr_port(a) == netaddr_port(b);
}

bool netaddr_is_any(const struct netaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
	return true;
}

bool netaddr_is_link_local(const struct netaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in.sin_addr.s_addr) & 0xffff0000u) == 0xa9fe0000u;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LINKLOCAL(&a->in6.sin6_addr);
	return false;
}

bool netaddr_is_loopback(const struct netaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
	return false;
}

void netaddr_unmap_v4(struct netaddr *a)
{
	uint32_t v4;
	uint16_t port;

	if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return;
	memcpy(&v4, &a->in6.sin6_addr.s6_addr[12], 4);
	port = netaddr_port(a);
	netaddr_from_v4(a, v4, port);
}

const char *netaddr_ip_str(const struct netaddr *a, char *buf, size_t len)
{
	const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->in6.sin6_addr
						       : (const void *)&a->in.sin_addr;

	if (!len)
		return buf;
	if ((a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) ||
	    !inet_ntop(a->sa.sa_family, src, buf, (socklen_t)len))
		snprintf(buf, len, "(none)");
	return buf;
}

const char *netaddr_str(const struct netaddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	netaddr_ip_str(a, ip, sizeof(ip));
	if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, netaddr_port(a));
	else
		snprintf(buf, len, "%s:%u", ip, netaddr_port(a));
	return buf;
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 16777619u;
	}
	return h;
}

uint32_t netaddr_hash(const struct netaddr *a)
{
	uint32_t h = 2166136261u;
	uint16_t fam = a->sa.sa_family, port = netaddr_port(a);

	h = fnv1a(h, &fam, sizeof(fam));
	if (fam == AF_INET)
		h = fnv1a(h, &a->in.sin_addr, 4);
	else if (fam == AF_INET6)
		h = fnv1a(h, &a->in6.sin6_addr, 16);
	return fnv1a(h, &port, sizeof(port));
}
