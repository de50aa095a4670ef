// SPDX-License-Identifier: GPL-2.0-only
/*
 * netif: interfaces and addresses through rtnetlink with libmnl (see
 * include/icepath/netif.h). getifaddrs() is not used: it hides IPv6 address
 * flags (tentative, deprecated) and offers no change notifications.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icepath/netif.h"

/* Interfaces of one host are few; a dump past this is refused (-E2BIG). */
#define NETIF_MAX_LINKS 4096
/* Dump replies fill up to 32 KiB per datagram on large-page systems. */
#define NETIF_RECV_BUF 32768

struct netif_link {
	unsigned ifindex;
	unsigned flags; /* IFF_* */
	char name[IF_NAMESIZE];
};

struct netif_links {
	struct netif_link *v;
	size_t n, cap;
};

static struct netif_link *netif_links_find(struct netif_links *l, unsigned ifindex)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].ifindex == ifindex)
			return &l->v[i];
	return NULL;
}

/* Insert or update; 0 or -ENOMEM/-E2BIG. */
static int netif_links_put(struct netif_links *l, unsigned ifindex, unsigned flags,
			   const char *name)
{
	struct netif_link *e = netif_links_find(l, ifindex);

	if (!e) {
		if (l->n == NETIF_MAX_LINKS)
			return -E2BIG;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			struct netif_link *v = realloc(l->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		e = &l->v[l->n++];
		memset(e, 0, sizeof(*e));
		e->ifindex = ifindex;
	}
	e->flags = flags;
	if (name) {
		strncpy(e->name, name, sizeof(e->name) - 1);
		e->name[sizeof(e->name) - 1] = '\0';
	}
	return 0;
}

static void netif_links_remove(struct netif_links *l, unsigned ifindex)
{
	struct netif_link *e = netif_links_find(l, ifindex);

	if (e)
		*e = l->v[--l->n];
}

/* ---- message decoding -------------------------------------------------------- */

struct netif_attrs {
	const struct nlattr *tb[IFLA_MAX > IFA_MAX ? IFLA_MAX + 1 : IFA_MAX + 1];
	int max;
};

static int netif_attr_cb(const struct nlattr *attr, void *data)
{
	struct netif_attrs *a = data;
	int type = mnl_attr_get_type(attr);

	/* Unknown (newer) attributes are skipped, never indexed out of range. */
	if (mnl_attr_type_valid(attr, (uint16_t)a->max) < 0)
		return MNL_CB_OK;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Decode RTM_NEWLINK/DELLINK into (ifindex, flags, name). */
static int netif_decode_link(const struct nlmsghdr *nlh, unsigned *ifindex, unsigned *flags,
			     const char **name)
{
	const struct ifinfomsg *ifi;
	struct netif_attrs a = {.max = IFLA_MAX};

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EINVAL;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifi), netif_attr_cb, &a) < 0)
		return -EINVAL;
	*ifindex = (unsigned)ifi->ifi_index;
	*flags = ifi->ifi_flags;
	*name = NULL;
	if (a.tb[IFLA_IFNAME] && mnl_attr_validate(a.tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		*name = mnl_attr_get_str(a.tb[IFLA_IFNAME]);
	return 0;
}

struct netif_rawaddr {
	unsigned ifindex;
	struct netaddr addr;
	uint8_t prefixlen;
	uint32_t flags; /* IFA_F_* */
};

/* Decode RTM_NEWADDR/DELADDR. -EAFNOSUPPORT for other families. */
static int netif_decode_addr(const struct nlmsghdr *nlh, struct netif_rawaddr *r)
{
	const struct ifaddrmsg *ifa;
	struct netif_attrs a = {.max = IFA_MAX};
	const struct nlattr *at;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (mnl_attr_parse(nlh, sizeof(*ifa), netif_attr_cb, &a) < 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->ifindex = ifa->ifa_index;
	r->prefixlen = ifa->ifa_prefixlen;
	r->flags = ifa->ifa_flags;
	/* IFA_FLAGS carries the full 32-bit flags (ifa_flags is only 8 bits). */
	if (a.tb[IFA_FLAGS] && mnl_attr_get_payload_len(a.tb[IFA_FLAGS]) >= 4)
		r->flags = mnl_attr_get_u32(a.tb[IFA_FLAGS]);
	/* IPv4: IFA_LOCAL is our address, IFA_ADDRESS the peer on a
	 * point-to-point link. IPv6: IFA_ADDRESS is ours. */
	at = ifa->ifa_family == AF_INET && a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
	if (!at)
		return -EINVAL;
	if (ifa->ifa_family == AF_INET) {
		uint32_t v4;

		if (mnl_attr_get_payload_len(at) != 4)
			return -EINVAL;
		memcpy(&v4, mnl_attr_get_payload(at), 4);
		netaddr_from_v4(&r->addr, v4, 0);
	} else {
		if (mnl_attr_get_payload_len(at) != 16)
			return -EINVAL;
		netaddr_from_v6(&r->addr, mnl_attr_get_payload(at), 0);
	}
	return 0;
}

/* ---- dumps --------------------------------------------------------------------- */

static int netif_socket(struct mnl_socket **nl, unsigned groups)
{
	int err;

	*nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!*nl)
		return -errno;
	if (mnl_socket_bind(*nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(*nl);
		*nl = NULL;
		return err;
	}
	return 0;
}

/* Send a dump request of type and run cb over every reply message. */
static int netif_dump(struct mnl_socket *nl, uint16_t type, mnl_cb_t cb, void *data)
{
	char buf[NETIF_RECV_BUF];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	unsigned portid = mnl_socket_get_portid(nl);
	unsigned seq = (unsigned)time(NULL) ^ type;
	ssize_t n;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

struct netif_links_ctx {
	struct netif_links *links;
	int err;
};

static int netif_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netif_links_ctx *c = data;
	unsigned ifindex, flags;
	const char *name;

	if (nlh->nlmsg_type != RTM_NEWLINK || netif_decode_link(nlh, &ifindex, &flags, &name) < 0)
		return MNL_CB_OK;
	c->err = netif_links_put(c->links, ifindex, flags, name);
	return c->err ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Every interface (index, flags, name) into l, through socket nl. */
static int netif_links_load(struct mnl_socket *nl, struct netif_links *l)
{
	struct netif_links_ctx c = {.links = l};
	int err = netif_dump(nl, RTM_GETLINK, netif_link_cb, &c);

	return err ? err : c.err;
}

struct netif_list_ctx {
	struct netif_links links;
	struct netif_addr *out;
	size_t max, total;
	unsigned flags;
};

static bool netif_wanted(const struct netif_list_ctx *c, const struct netif_link *l,
			 const struct netif_rawaddr *r)
{
	int fam = netaddr_family(&r->addr);

	if ((c->flags & NETIF_F_IPV4_ONLY) && fam != AF_INET)
		return false;
	if ((c->flags & NETIF_F_IPV6_ONLY) && fam != AF_INET6)
		return false;
	if (!(c->flags & NETIF_F_DOWN) && !(l->flags & IFF_UP))
		return false;
	if (!(c->flags & NETIF_F_LOOPBACK) &&
	    ((l->flags & IFF_LOOPBACK) || netaddr_is_loopback(&r->addr)))
		return false;
	if (!(c->flags & NETIF_F_LINK_LOCAL) && netaddr_is_link_local(&r->addr))
		return false;
	/* Not usable yet / any more: a socket cannot bind a tentative address,
	 * and a deprecated one should not start new flows (RFC 4862 §5.5.4). */
	if (r->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED))
		return false;
	return true;
}

static int netif_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netif_list_ctx *c = data;
	struct netif_rawaddr r;
	struct netif_link *l;

	if (nlh->nlmsg_type != RTM_NEWADDR || netif_decode_addr(nlh, &r) < 0)
		return MNL_CB_OK;
	l = netif_links_find(&c->links, r.ifindex);
	if (!l || !netif_wanted(c, l, &r))
		return MNL_CB_OK;
	if (c->total < c->max) {
		struct netif_addr *o = &c->out[c->total];

		memset(o, 0, sizeof(*o));
		o->addr = r.addr;
		o->ifindex = r.ifindex;
		memcpy(o->ifname, l->name, sizeof(o->ifname));
		o->prefixlen = r.prefixlen;
	}
	c->total++;
	return MNL_CB_OK;
}

static int netif_cmp(const void *pa, const void *pb)
{
	const struct netif_addr *a = pa, *b = pb;
	int fa = netaddr_family(&a->addr) == AF_INET6, fb = netaddr_family(&b->addr) == AF_INET6;

	if (fa != fb)
		return fb - fa; /* IPv6 first */
	if (a->ifindex != b->ifindex)
		return a->ifindex < b->ifindex ? -1 : 1;
	/* Stable for equal keys: local_pref holds the dump position here. */
	return (int)a->local_pref - (int)b->local_pref;
}

/* RFC 8445 §5.1.2.1: local preference per address, IPv6 in the upper half. */
static void netif_assign_prefs(struct netif_addr *v, size_t n)
{
	size_t rank6 = 0, rank4 = 0;

	for (size_t i = 0; i < n; i++)
		v[i].local_pref = (uint16_t)i;
	qsort(v, n, sizeof(*v), netif_cmp);
	for (size_t i = 0; i < n; i++) {
		/* 64 apart leaves room for a caller to slot others in; 512
		 * addresses per family before the halves meet. */
		if (netaddr_family(&v[i].addr) == AF_INET6) {
			size_t d = rank6++ * 64;

			v[i].local_pref = (uint16_t)(d < 32768 ? 65535 - d : 32768);
		} else {
			size_t d = rank4++ * 64;

			v[i].local_pref = (uint16_t)(d < 32768 ? 32767 - d : 0);
		}
	}
}

int netif_list(struct netif_addr *out, size_t max, unsigned flags)
{
	struct netif_list_ctx c = {.out = out, .max = max, .flags = flags};
	struct mnl_socket *nl;
	int err;

	err = netif_socket(&nl, 0);
	if (err)
		return err;
	err = netif_links_load(nl, &c.links);
	if (err)
		goto out;
	err = netif_dump(nl, RTM_GETADDR, netif_addr_cb, &c);
	if (err)
		goto out;
	netif_assign_prefs(out, c.total < max ? c.total : max);
	err = c.total > (size_t)INT32_MAX ? -E2BIG : (int)c.total;
out:
	free(c.links.v);
	mnl_socket_close(nl);
	return err;
}

/* ---- name/index -------------------------------------------------------------------- */

static int netif_links_get(struct netif_links *l)
{
	struct mnl_socket *nl;
	int err = netif_socket(&nl, 0);

	if (err)
		return err;
	err = netif_links_load(nl, l);
	mnl_socket_close(nl);
	return err;
}

int netif_index(const char *name)
{
	struct netif_links l = {0};
	int err;

	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	err = netif_links_get(&l);
	for (size_t i = 0; !err && i < l.n; i++)
		if (!strcmp(l.v[i].name, name))
			err = (int)l.v[i].ifindex;
	free(l.v);
	return err ? err : -ENODEV;
}

int netif_name(unsigned ifindex, char *buf, size_t len)
{
	struct netif_links l = {0};
	struct netif_link *e;
	int err = netif_links_get(&l);

	if (!err) {
		e = netif_links_find(&l, ifindex);
		if (e && e->name[0] && strlen(e->name) < len)
			strcpy(buf, e->name);
		else
			err = -ENODEV;
	}
	free(l.v);
	return err;
}

/* ---- monitor --------------------------------------------------------------------- */

const char *netif_event_type_str(enum netif_event_type t)
{
	switch (t) {
	case NETIF_EVENT_ADDR_ADDED:
		return "addr-added";
	case NETIF_EVENT_ADDR_REMOVED:
		return "addr-removed";
	case NETIF_EVENT_LINK_UP:
		return "link-up";
	case NETIF_EVENT_LINK_DOWN:
		return "link-down";
	}
	return "unknown";
}

struct netif_monitor {
	struct mnl_socket *nl;
	struct netif_links links; /* last IFF_UP seen per interface */
	void (*cb)(void *ctx, const struct netif_event *ev);
	void *ctx;
	int delivered;
};

int netif_monitor_open(struct netif_monitor **mp)
{
	struct netif_monitor *m;
	int err, fd, fl;

	*mp = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* Subscribe first, then learn the current link states, so no change
	 * falls between the two. */
	err = netif_socket(&m->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
	if (err)
		goto err_free;
	err = netif_links_get(&m->links);
	if (err)
		goto err_close;
	fd = mnl_socket_get_fd(m->nl);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = -errno;
		goto err_close;
	}
	*mp = m;
	return 0;
err_close:
	mnl_socket_close(m->nl);
err_free:
	free(m->links.v);
	free(m);
	return err;
}

void netif_monitor_close(struct netif_monitor *m)
{
	if (!m)
		return;
	mnl_socket_close(m->nl);
	free(m->links.v);
	free(m);
}

int netif_monitor_fd(const struct netif_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

static void netif_monitor_emit(struct netif_monitor *m, struct netif_event *ev)
{
	struct netif_link *l = netif_links_find(&m->links, ev->ifindex);

	if (!ev->ifname[0] && l)
		memcpy(ev->ifname, l->name, sizeof(ev->ifname));
	m->cb(m->ctx, ev);
	m->delivered++;
}

static int netif_monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netif_monitor *m = data;
	struct netif_event ev = {0};
	struct netif_rawaddr r;
	unsigned ifindex, flags;
	const char *name;
	struct netif_link *l;
	bool was_up;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (netif_decode_link(nlh, &ifindex, &flags, &name) < 0)
			break;
		l = netif_links_find(&m->links, ifindex);
		was_up = l && (l->flags & IFF_UP);
		if (nlh->nlmsg_type == RTM_DELLINK)
			flags &= ~(unsigned)IFF_UP;
		ev.ifindex = ifindex;
		if (name)
			strncpy(ev.ifname, name, sizeof(ev.ifname) - 1);
		if (netif_links_put(&m->links, ifindex, flags, name) < 0)
			break;
		if (was_up != !!(flags & IFF_UP)) {
			ev.type = (flags & IFF_UP) ? NETIF_EVENT_LINK_UP : NETIF_EVENT_LINK_DOWN;
			netif_monitor_emit(m, &ev);
		}
		if (nlh->nlmsg_type == RTM_DELLINK)
			netif_links_remove(&m->links, ifindex);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (netif_decode_addr(nlh, &r) < 0)
			break;
		/* A tentative address cannot be bound yet; the kernel announces
		 * it again once duplicate address detection is done. */
		if (nlh->nlmsg_type == RTM_NEWADDR &&
		    (r.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			break;
		ev.type = nlh->nlmsg_type == RTM_NEWADDR ? NETIF_EVENT_ADDR_ADDED
							 : NETIF_EVENT_ADDR_REMOVED;
		ev.ifindex = r.ifindex;
		ev.addr = r.addr;
		ev.prefixlen = r.prefixlen;
		netif_monitor_emit(m, &ev);
		break;
	}
	return MNL_CB_OK;
}

int netif_monitor_read(struct netif_monitor *m, void (*cb)(void *ctx, const struct netif_event *ev),
		       void *ctx)
{
	char buf[NETIF_RECV_BUF];
	ssize_t n;

	m->cb = cb;
	m->ctx = ctx;
	m->delivered = 0;
	for (;;) {
		n = mnl_socket_recvfrom(m->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return m->delivered;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* Notifications carry sequence 0 and port id 0. */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, netif_monitor_cb, m) < 0)
			return -errno;
	}
}
