// SPDX-License-Identifier: GPL-2.0-only
/* ng_allow: the NG server's allow-list of sender networks (see ng.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/ng.h"
#include "ng_internal.h"

/* The address bytes of a and their count (4 or 16). */
static const uint8_t *addr_bytes(const struct netaddr *a, unsigned *len)
{
	if (netaddr_family(a) == AF_INET) {
		*len = 4;
		return (const uint8_t *)&a->in.sin_addr;
	}
	*len = 16;
	return a->in6.sin6_addr.s6_addr;
}

static bool prefix_equal(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(x, y, full))
		return false;
	if (!rest)
		return true;
	return ((x[full] ^ y[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void clear_host_bits(struct netaddr *a, unsigned prefix)
{
	unsigned len;
	uint8_t *b = (uint8_t *)addr_bytes(a, &len);

	for (unsigned bit = prefix; bit < len * 8; bit++)
		b[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

int ng_allow_parse(const char *list, struct ng_allow *out, unsigned cap, unsigned *n, char *why,
		   size_t why_cap)
{
	char buf[512], *save = NULL, *tok;

	if (!list || !*list)
		return ng_why(why, why_cap, "empty allow-list: give CIDR[,CIDR...]");
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return ng_why(why, why_cap, "allow-list longer than %zu bytes", sizeof(buf) - 1);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct ng_allow *a;
		char *slash = strchr(tok, '/'), *end;
		unsigned long prefix;
		unsigned max;

		if (*n >= cap)
			return ng_why(why, why_cap, "'%s': more than %u networks", tok, cap);
		a = &out[*n];
		memset(a, 0, sizeof(*a));
		if (slash)
			*slash = 0;
		if (netaddr_from_str(&a->net, tok, 0))
			return ng_why(why, why_cap,
				      "'%s' is not an IPv4/IPv6 address (expected ADDR[/PREFIX], "
				      "e.g. 198.51.100.0/24)",
				      tok);
		max = netaddr_family(&a->net) == AF_INET ? 32 : 128;
		prefix = max;
		if (slash) {
			errno = 0;
			prefix = strtoul(slash + 1, &end, 10);
			if (!slash[1] || *end || errno || prefix > max)
				return ng_why(why, why_cap, "'%s/%s': prefix length must be 0-%u",
					      tok, slash + 1, max);
		}
		a->prefix = (uint8_t)prefix;
		clear_host_bits(&a->net, a->prefix);
		(*n)++;
	}
	if (!*n)
		return ng_why(why, why_cap, "empty allow-list: give CIDR[,CIDR...]");
	return 0;
}

bool ng_allow_match(const struct ng_allow *allow, unsigned n, const struct netaddr *from)
{
	struct netaddr f = *from;
	const uint8_t *fb, *nb;
	unsigned flen, nlen;

	netaddr_unmap_v4(&f);
	fb = addr_bytes(&f, &flen);
	for (unsigned i = 0; i < n; i++) {
		if (netaddr_family(&allow[i].net) != netaddr_family(&f))
			continue;
		nb = addr_bytes(&allow[i].net, &nlen);
		if (nlen == flen && prefix_equal(fb, nb, allow[i].prefix))
			return true;
	}
	return false;
}

const char *ng_allow_str(const struct ng_allow *a, char *buf, size_t len)
{
	char ip[NETADDR_STRLEN];

	snprintf(buf, len, "%s/%u", netaddr_ip_str(&a->net, ip, sizeof(ip)), a->prefix);
	return buf;
}
