// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_nh: the next hop of every flow, resolved in userspace and kept in
 * the flow's value (egress ifindex, source and destination MAC, MTU), so the
 * XDP program forwards with no bpf_fib_lookup(): none of its 150-200 ns a
 * packet, and no forwarding sysctl (the lookup refuses to route for an
 * ingress without forwarding on, the distribution default).
 *
 * libnl-route-3's cache manager keeps caches of links, routes and
 * neighbours current from rtnetlink notifications; its socket is what
 * fastpath_fd() hands the daemon's epoll loop. The route itself is asked of
 * the kernel (RTM_GETROUTE through rtnl_route_lookup), so policy routing and
 * every table count as they do for the daemon's own sockets. Changes map to
 * flows this way:
 *   neighbour new/changed/gone   flows whose (egress, next hop IP) it is
 *   link changed (MAC, MTU, up)  flows whose egress it is
 *   route added/removed          every flow (any could move)
 * A flow whose next hop is unknown is passed up by the program (no fib
 * fallback there: it would need the forwarding sysctl and costs more than
 * the rest of the program); the userspace path forwards its packets, and
 * its send makes the kernel resolve the neighbour, which comes back here.
 */
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include <bpf/bpf.h>

#include "fastpath_int.h"

#define NH_MAX_DIRTY 64

struct nh_dirty {
	unsigned ifindex;
	__u8 family;
	__be32 addr[4];
};

struct fastpath_nh {
	struct nl_sock *mngr_sock, *query_sock;
	struct nl_cache_mngr *mngr;
	struct nl_cache *links, *routes, *neighs;
	/* What the last batch of notifications touched (fastpath_nh_process). */
	int all_dirty;
	struct nh_dirty dirty[NH_MAX_DIRTY];
	unsigned ndirty;
	unsigned dirty_links[NH_MAX_DIRTY];
	unsigned ndirty_links;
};

/* ---- resolution ------------------------------------------------------------------ */

static int fam_af(__u8 family)
{
	return family == FP_FAMILY_V6 ? AF_INET6 : AF_INET;
}

static struct nl_addr *addr_of(__u8 family, const __be32 a[4])
{
	return nl_addr_build(fam_af(family), a, family == FP_FAMILY_V6 ? 16 : 4);
}

/* Neighbour states whose link-layer address the kernel itself would use
 * (include/net/neighbour.h NUD_VALID): STALE too, it is confirmed on use. */
static int neigh_usable(int state)
{
	return state & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_STALE | NUD_DELAY |
			NUD_PROBE);
}

/* The neighbour part alone: dmac and nh from the neighbour cache. */
static void resolve_neigh(struct fastpath_nh *nh, struct fp_flow_val *v)
{
	struct rtnl_neigh *n;
	struct nl_addr *a, *ll;

	a = addr_of(v->family, v->nh_addr);
	n = a ? rtnl_neigh_get(nh->neighs, (int)v->ifindex, a) : NULL;
	nl_addr_put(a);
	memset(v->dmac, 0, sizeof(v->dmac));
	v->nh = FP_NH_NO_NEIGH;
	if (!n)
		return;
	ll = rtnl_neigh_get_lladdr(n);
	if (neigh_usable(rtnl_neigh_get_state(n)) && ll && nl_addr_get_len(ll) == ETH_ALEN) {
		memcpy(v->dmac, nl_addr_get_binary_addr(ll), ETH_ALEN);
		v->nh = FP_NH_READY;
	}
	rtnl_neigh_put(n);
}

void fastpath_nh_resolve(struct fastpath *fp, struct fp_flow_val *v)
{
	struct fastpath_nh *nh = fp->nh;
	struct rtnl_route *r = NULL;
	struct rtnl_nexthop *hop;
	struct rtnl_link *link;
	struct nl_addr *dst, *gw, *ll;
	uint32_t mtu = 0, rmtu = 0;
	unsigned ifindex;
	__u32 key;

	v->nh = FP_NH_NO_ROUTE;
	v->nh_flags = 0;
	v->ifindex = 0;
	v->mtu = 0;
	memset(v->smac, 0, sizeof(v->smac));
	memset(v->dmac, 0, sizeof(v->dmac));
	memset(v->nh_addr, 0, sizeof(v->nh_addr));
	if (!nh)
		return;
	/* Nothing attached (a tool filling maps): nowhere to send, no query. */
	if (bpf_map_get_next_key(fastpath_fd_tx_ports(fp), NULL, &key)) {
		v->nh = FP_NH_NO_DEVMAP;
		return;
	}
	dst = addr_of(v->family, v->dst_addr);
	if (!dst || rtnl_route_lookup(nh->query_sock, dst, &r) || !r)
		goto out;
	if (rtnl_route_get_type(r) != RTN_UNICAST || rtnl_route_get_nnexthops(r) < 1)
		goto out; /* local, blackhole, unreachable, prohibit... */
	hop = rtnl_route_nexthop_n(r, 0);
	ifindex = hop ? (unsigned)rtnl_route_nh_get_ifindex(hop) : 0;
	if (!ifindex)
		goto out;
	gw = rtnl_route_nh_get_gateway(hop);
	if (gw && nl_addr_get_family(gw) == fam_af(v->family))
		memcpy(v->nh_addr, nl_addr_get_binary_addr(gw), nl_addr_get_len(gw));
	else if (gw)
		goto out; /* IPv4 via an IPv6 gateway (RFC 5549): the stack's job */
	else
		memcpy(v->nh_addr, v->dst_addr, sizeof(v->nh_addr));
	v->ifindex = ifindex;

	link = rtnl_link_get(nh->links, (int)ifindex);
	if (!link)
		goto out;
	ll = rtnl_link_get_addr(link);
	if (rtnl_link_get_arptype(link) != ARPHRD_ETHER || !ll || nl_addr_get_len(ll) != ETH_ALEN) {
		rtnl_link_put(link);
		goto out; /* not Ethernet: the program writes Ethernet headers */
	}
	memcpy(v->smac, nl_addr_get_binary_addr(ll), ETH_ALEN);
	mtu = rtnl_link_get_mtu(link);
	rtnl_link_put(link);
	/* A route MTU (or a learnt path MTU) below the link's wins. */
	if (rtnl_route_get_metric(r, RTAX_MTU, &rmtu) == 0 && rmtu && rmtu < mtu)
		mtu = rmtu;
	v->mtu = mtu > 0xffff ? 0xffff : (__u16)mtu;

	key = ifindex;
	if (bpf_map_lookup_elem(fastpath_fd_tx_ports(fp), &key, &key)) {
		v->nh = FP_NH_NO_DEVMAP;
		goto out;
	}
	resolve_neigh(nh, v);
	if (fastpath_dev_xmit_ok(fp, ifindex))
		v->nh_flags |= FP_NH_XMIT_OK;
out:
	if (r)
		rtnl_route_put(r);
	nl_addr_put(dst);
}

/* ---- re-resolution ------------------------------------------------------------- */

struct refresh_ctx {
	struct fastpath *fp;
	unsigned ifindex; /* 0: all */
	int neigh_only;
	struct fp_flow_key *keys;
	struct fp_flow_val *vals;
	size_t n, cap;
};

static int nh_dirty_match(const struct fastpath_nh *nh, const struct fp_flow_val *v)
{
	for (unsigned i = 0; i < nh->ndirty; i++)
		if (nh->dirty[i].ifindex == v->ifindex && nh->dirty[i].family == v->family &&
		    !memcmp(nh->dirty[i].addr, v->nh_addr, sizeof(v->nh_addr)))
			return 1;
	return 0;
}

static int link_dirty_match(const struct fastpath_nh *nh, unsigned ifindex)
{
	for (unsigned i = 0; i < nh->ndirty_links; i++)
		if (nh->dirty_links[i] == ifindex)
			return 1;
	return 0;
}

static int refresh_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	struct refresh_ctx *rc = ctx;
	struct fp_flow_val nv = *v;

	if (rc->neigh_only) {
		if (link_dirty_match(rc->fp->nh, v->ifindex) || v->nh == FP_NH_UNRESOLVED)
			fastpath_nh_resolve(rc->fp, &nv);
		else if (nh_dirty_match(rc->fp->nh, v) &&
			 (v->nh == FP_NH_READY || v->nh == FP_NH_NO_NEIGH))
			resolve_neigh(rc->fp->nh, &nv);
		else
			return 0;
		if (nv.nh == FP_NH_READY && fastpath_dev_xmit_ok(rc->fp, nv.ifindex))
			nv.nh_flags |= FP_NH_XMIT_OK;
	} else if (!rc->ifindex || v->ifindex == rc->ifindex || v->nh != FP_NH_READY) {
		fastpath_nh_resolve(rc->fp, &nv);
	} else {
		return 0;
	}
	if (!memcmp(&nv, v, sizeof(nv)))
		return 0;
	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? 2 * rc->cap : 64;
		struct fp_flow_key *kk = realloc(rc->keys, cap * sizeof(*kk));
		struct fp_flow_val *vv;

		if (!kk)
			return -ENOMEM;
		rc->keys = kk;
		vv = realloc(rc->vals, cap * sizeof(*vv));
		if (!vv)
			return -ENOMEM;
		rc->vals = vv;
		rc->cap = cap;
	}
	rc->keys[rc->n] = *k;
	rc->vals[rc->n++] = nv;
	return 0;
}

/* Walk, then write the changed values (BPF_EXIST: a flow removed meanwhile
 * stays removed). Under the slot lock: an install or extend in between
 * would otherwise be overwritten with an older value. */
static int refresh(struct fastpath *fp, unsigned ifindex, int neigh_only)
{
	struct refresh_ctx rc = {.fp = fp, .ifindex = ifindex, .neigh_only = neigh_only};
	struct fp_flow_val cur;
	size_t i, ready = 0;
	int err;

	err = fastpath_slot_lock(fp);
	if (err)
		return err;
	err = fastpath_flow_walk(fp, refresh_one, &rc);
	for (i = 0; i < rc.n && !err; i++) {
		if (bpf_map_lookup_elem(fastpath_fd_flows(fp), &rc.keys[i], &cur))
			continue;
		/* Only the next hop fields change here; the rest stays as the
		 * latest install/extend wrote it. */
		cur.nh = rc.vals[i].nh;
		cur.nh_flags = rc.vals[i].nh_flags;
		cur.ifindex = rc.vals[i].ifindex;
		cur.mtu = rc.vals[i].mtu;
		memcpy(cur.smac, rc.vals[i].smac, sizeof(cur.smac));
		memcpy(cur.dmac, rc.vals[i].dmac, sizeof(cur.dmac));
		memcpy(cur.nh_addr, rc.vals[i].nh_addr, sizeof(cur.nh_addr));
		if (bpf_map_update_elem(fastpath_fd_flows(fp), &rc.keys[i], &cur, BPF_EXIST)) {
			if (errno != ENOENT)
				err = -errno;
		} else {
			err = fastpath_port_put(fp, &rc.keys[i], &cur, 0);
		}
		ready += cur.nh == FP_NH_READY;
	}
	fastpath_slot_unlock(fp, 0);
	if (err)
		fastpath_log(LOG_ERR, "cannot update the next hops of the fast path's flows: %s",
			     strerror(-err));
	else if (rc.n)
		fastpath_log(LOG_DEBUG, "next hop changes: %zu flows updated, %zu of them ready",
			     rc.n, ready);
	free(rc.keys);
	free(rc.vals);
	return err;
}

int fastpath_nh_refresh(struct fastpath *fp, unsigned ifindex)
{
	return refresh(fp, ifindex, 0);
}

/* ---- change notifications ------------------------------------------------------- */

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct fastpath_nh *nh = arg;
	const char *type = nl_object_get_type(obj);
	struct nl_addr *dst;
	struct nh_dirty *d;

	(void)cache;
	(void)action;
	if (!type || nh->all_dirty)
		return;
	if (!strcmp(type, "route/route")) {
		nh->all_dirty = 1;
	} else if (!strcmp(type, "route/link")) {
		if (nh->ndirty_links == NH_MAX_DIRTY)
			nh->all_dirty = 1;
		else
			nh->dirty_links[nh->ndirty_links++] =
				(unsigned)rtnl_link_get_ifindex((struct rtnl_link *)obj);
	} else if (!strcmp(type, "route/neigh")) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)obj;

		dst = rtnl_neigh_get_dst(n);
		if (!dst || (nl_addr_get_family(dst) != AF_INET &&
			     nl_addr_get_family(dst) != AF_INET6))
			return;
		if (nh->ndirty == NH_MAX_DIRTY) {
			nh->all_dirty = 1;
			return;
		}
		d = &nh->dirty[nh->ndirty++];
		memset(d, 0, sizeof(*d));
		d->ifindex = (unsigned)rtnl_neigh_get_ifindex(n);
		d->family = nl_addr_get_family(dst) == AF_INET6 ? FP_FAMILY_V6 : FP_FAMILY_V4;
		memcpy(d->addr, nl_addr_get_binary_addr(dst),
		       nl_addr_get_len(dst) > 16 ? 16 : nl_addr_get_len(dst));
	}
}

int fastpath_nh_process(struct fastpath *fp)
{
	struct fastpath_nh *nh = fp->nh;
	int err;

	if (!nh)
		return 0;
	err = nl_cache_mngr_data_ready(nh->mngr);
	if (err < 0) {
		/* Lost notifications (ENOBUFS) or a broken socket: the caches
		 * may be stale; resolve everything again from a fresh dump. */
		fastpath_log(LOG_WARNING, "netlink change notifications lost (%s): re-reading "
			     "links, routes and neighbours", nl_geterror(err));
		nl_cache_refill(nh->query_sock, nh->links);
		nl_cache_refill(nh->query_sock, nh->routes);
		nl_cache_refill(nh->query_sock, nh->neighs);
		nh->all_dirty = 1;
	}
	err = 0;
	if (nh->all_dirty)
		err = refresh(fp, 0, 0);
	else if (nh->ndirty || nh->ndirty_links)
		err = refresh(fp, 0, 1);
	nh->all_dirty = 0;
	nh->ndirty = nh->ndirty_links = 0;
	return err;
}

int fastpath_nh_fd(const struct fastpath *fp)
{
	return fp->nh ? nl_cache_mngr_get_fd(fp->nh->mngr) : -1;
}

int fastpath_nh_open(struct fastpath *fp)
{
	struct fastpath_nh *nh;
	int err;

	nh = calloc(1, sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	nh->mngr_sock = nl_socket_alloc();
	nh->query_sock = nl_socket_alloc();
	if (!nh->mngr_sock || !nh->query_sock) {
		err = -NLE_NOMEM;
		goto err;
	}
	err = nl_connect(nh->query_sock, NETLINK_ROUTE);
	if (!err)
		err = nl_cache_mngr_alloc(nh->mngr_sock, NETLINK_ROUTE, NL_AUTO_PROVIDE, &nh->mngr);
	if (!err)
		err = nl_cache_mngr_add(nh->mngr, "route/link", on_change, nh, &nh->links);
	if (!err)
		err = nl_cache_mngr_add(nh->mngr, "route/route", on_change, nh, &nh->routes);
	if (!err)
		err = nl_cache_mngr_add(nh->mngr, "route/neigh", on_change, nh, &nh->neighs);
	if (err)
		goto err;
	/* What the initial dumps filled in is no change. */
	nh->all_dirty = 0;
	nh->ndirty = nh->ndirty_links = 0;
	fp->nh = nh;
	return 0;
err:
	fastpath_log(LOG_ERR,
		     "cannot watch links, routes and neighbours (libnl-route-3: %s): the fast "
		     "path cannot resolve next hops; its flows take the userspace path",
		     nl_geterror(err));
	if (nh->mngr)
		nl_cache_mngr_free(nh->mngr);
	nl_socket_free(nh->query_sock);
	nl_socket_free(nh->mngr_sock);
	free(nh);
	return -EIO;
}

void fastpath_nh_close(struct fastpath *fp)
{
	struct fastpath_nh *nh = fp->nh;

	if (!nh)
		return;
	/* The manager frees its caches; the sockets are ours. */
	nl_cache_mngr_free(nh->mngr);
	nl_socket_free(nh->query_sock);
	nl_socket_free(nh->mngr_sock);
	free(nh);
	fp->nh = NULL;
}
