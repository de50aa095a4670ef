// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_dev: can an attached interface take the frames XDP sends?
 *
 * A native XDP_TX or XDP_REDIRECT frame leaves through the egress driver's
 * ndo_xdp_xmit. A veth has it only while its peer runs an XDP program (or
 * GRO): otherwise the kernel counts an error and the frame is gone. That is
 * every container's veth (Docker, Podman, LXC, a Kubernetes pod). The
 * kernel says which interfaces can (the netdev genetlink family's
 * xdp-features, NETDEV_XDP_ACT_NDO_XMIT, which a veth sets from its peer's
 * state), and counts what it dropped (ethtool statistics, on veth
 * rx_queue_N_xdp_tx_errors and tx_queue_N_xdp_xmit_errors). This file asks
 * both: at attach (fastpath.c picks generic mode for an interface that
 * cannot take native frames) and every FASTPATH_POLL_MS while running,
 * taking the flows toward an interface back to userspace the moment the
 * kernel drops what XDP sent there.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fastpath_int.h"

/* include/uapi/linux/netdev.h (Linux 6.3+; not in older uapi headers). */
#define FP_NETDEV_FAMILY	  "netdev"
#define FP_NETDEV_CMD_DEV_GET	  1
#define FP_NETDEV_A_DEV_IFINDEX	  1
#define FP_NETDEV_A_DEV_XDP_FEAT  3
#define FP_NETDEV_XDP_ACT_NDO_XMIT 4

/* Transmit errors are taken seriously for this long, then native frames
 * are tried again (a veth ring that overflowed once is not broken). */
#define FP_DEV_BAD_MS 30000u

uint64_t fastpath_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- netdev genetlink: xdp-features ------------------------------------------- */

struct genl_reply {
	uint16_t family;
	uint64_t features;
	int have_features;
};

static int ctrl_attr_cb(const struct nlattr *attr, void *data)
{
	struct genl_reply *r = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		r->family = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int ctrl_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), ctrl_attr_cb, data);
	return MNL_CB_OK;
}

static int dev_attr_cb(const struct nlattr *attr, void *data)
{
	struct genl_reply *r = data;

	if (mnl_attr_get_type(attr) == FP_NETDEV_A_DEV_XDP_FEAT &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0) {
		r->features = mnl_attr_get_u64(attr);
		r->have_features = 1;
	}
	return MNL_CB_OK;
}

static int dev_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), dev_attr_cb, data);
	return MNL_CB_OK;
}

/* One request and its answer on a fresh socket: 0 or -errno. */
static int genl_ask(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	unsigned seq = nlh->nlmsg_seq;
	int n;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		n = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (n <= 0)
			break;
	}
	return n < 0 ? -errno : 0;
}

int fastpath_dev_query_xmit(unsigned ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct genl_reply r = {0};
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int err;

	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, FP_NETDEV_FAMILY);
	err = genl_ask(nl, nlh, ctrl_cb, &r);
	if (!err && !r.family)
		err = -EOPNOTSUPP;
	if (err)
		goto out; /* a kernel older than 6.3: no netdev family */

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = r.family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned)time(NULL) + 1;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = FP_NETDEV_CMD_DEV_GET;
	g->version = 1;
	mnl_attr_put_u32(nlh, FP_NETDEV_A_DEV_IFINDEX, ifindex);
	err = genl_ask(nl, nlh, dev_cb, &r);
	if (!err && !r.have_features)
		err = -EOPNOTSUPP;
	if (!err)
		err = (r.features & FP_NETDEV_XDP_ACT_NDO_XMIT) ? 1 : 0;
out:
	mnl_socket_close(nl);
	return err;
}

/* ---- ethtool statistics: XDP transmit errors ------------------------------------ */

/* Is this statistic one of "frames XDP sent that the kernel dropped"?
 * veth: rx_queue_N_xdp_tx_errors (XDP_TX), tx_queue_N_xdp_xmit_errors
 * (redirected into it); NIC drivers name theirs alike (xdp + err). */
static int is_xmit_error(const char *name)
{
	return strstr(name, "xdp") && strstr(name, "err");
}

/* Sum of the interface's XDP transmit error counters: 0 or -errno
 * (-EOPNOTSUPP: the driver has no statistics). */
static int xmit_errors(unsigned ifindex, uint64_t *sum)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t n;
	} sset = {.hdr = {.cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_STATS}};
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_stats *st = NULL;
	char name[IF_NAMESIZE];
	struct ifreq ifr = {0};
	uint32_t n, i;
	int fd, err = 0;

	*sum = 0;
	if (!if_indextoname(ifindex, name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&sset;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || !sset.hdr.sset_mask) {
		err = -EOPNOTSUPP;
		goto out;
	}
	n = sset.n;
	if (n == 0 || n > 4096) {
		err = -EOPNOTSUPP;
		goto out;
	}
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + (size_t)n * sizeof(uint64_t));
	if (!strs || !st) {
		err = -ENOMEM;
		goto out;
	}
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	ifr.ifr_data = (void *)strs;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		err = -errno;
		goto out;
	}
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	ifr.ifr_data = (void *)st;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n && i < strs->len && i < st->n_stats; i++) {
		char s[ETH_GSTRING_LEN + 1];

		memcpy(s, strs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		s[ETH_GSTRING_LEN] = '\0';
		if (is_xmit_error(s))
			*sum += st->data[i];
	}
out:
	free(strs);
	free(st);
	close(fd);
	return err;
}

/* ---- the table of attached interfaces ------------------------------------------- */

static struct fastpath_dev *dev_find(struct fastpath *fp, unsigned ifindex)
{
	for (unsigned i = 0; i < fp->ndevs; i++)
		if (fp->devs[i].ifindex == ifindex)
			return &fp->devs[i];
	return NULL;
}

static void dev_name(unsigned ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %u", ifindex);
}

static struct fastpath_dev *dev_get(struct fastpath *fp, unsigned ifindex)
{
	struct fastpath_dev *d = dev_find(fp, ifindex);
	int x;

	if (d)
		return d;
	if (fp->ndevs == FASTPATH_MAX_DEVS)
		return NULL;
	d = &fp->devs[fp->ndevs++];
	memset(d, 0, sizeof(*d));
	d->ifindex = ifindex;
	x = fastpath_dev_query_xmit(ifindex);
	/* A kernel that cannot say (before 6.3) is trusted; the transmit
	 * error counters still catch what it drops. */
	d->features_known = x >= 0;
	d->xmit_ok = x != 0;
	xmit_errors(ifindex, &d->xmit_errors);
	return d;
}

int fastpath_dev_xmit_ok(struct fastpath *fp, unsigned ifindex)
{
	struct fastpath_dev *d = dev_get(fp, ifindex);

	return d ? d->xmit_ok && !d->bad_until_ms : 1;
}

void fastpath_dev_forget(struct fastpath *fp, unsigned ifindex)
{
	struct fastpath_dev *d = dev_find(fp, ifindex);

	if (d)
		*d = fp->devs[--fp->ndevs];
}

/* ---- what the kernel dropped, to the flows that sent it ------------------------ */

struct lost_ctx {
	unsigned ifindex;
	uint32_t *slots;
	size_t n, cap;
};

static int lost_collect(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	struct lost_ctx *lc = ctx;
	uint32_t *ns;

	(void)k;
	if (v->ifindex != lc->ifindex || v->nh != FP_NH_READY)
		return 0;
	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? 2 * lc->cap : 64;
		ns = realloc(lc->slots, lc->cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		lc->slots = ns;
	}
	lc->slots[lc->n++] = v->slot;
	return 0;
}

/* The packets of one flow that native XDP sent since (jiffies) and that are
 * not yet counted lost: 0 when its CPUs last ran it otherwise. */
static uint64_t lost_weight(struct fastpath *fp, uint32_t slot, uint64_t since,
			    struct fp_flow_ctr *c, uint64_t *lost)
{
	uint64_t pk = 0;
	int i, active = 0;

	if (bpf_map_lookup_elem(fastpath_fd_flow_ctr(fp), &slot, c) ||
	    bpf_map_lookup_elem(fastpath_fd_flow_lost(fp), &slot, lost))
		return 0;
	for (i = 0; i < fp->ncpus; i++) {
		pk += c[i].packets;
		if (c[i].last_seen >= since && !c[i].generic &&
		    (c[i].last_stat == FP_STAT_TX || c[i].last_stat == FP_STAT_REDIRECT))
			active = 1;
	}
	return active && pk > *lost ? pk - *lost : 0;
}

/*
 * The kernel dropped n frames that native XDP sent out of ifindex: count
 * them lost on the flows toward it that native XDP forwarded lately, in
 * proportion to what each forwarded and not yet lost (the device counter
 * does not say whose frames they were), so the flows' forwarded counters
 * sum to what really left. Returns the frames attributed.
 */
static uint64_t lost_attribute(struct fastpath *fp, unsigned ifindex, uint64_t n, uint64_t now_ms)
{
	struct lost_ctx lc = {.ifindex = ifindex};
	struct fp_flow_ctr *c;
	uint64_t *w = NULL, total = 0, done = 0, since, share, lost;
	size_t i;

	c = calloc((size_t)fp->ncpus, sizeof(*c));
	if (!c || fastpath_slot_lock(fp))
		goto out_free;
	/* the frames were dropped since the last check, give or take one */
	since = fastpath_ms_to_jiffies(fp, now_ms > 2 * FASTPATH_POLL_MS ?
						   now_ms - 2 * FASTPATH_POLL_MS : 0);
	if (fastpath_flow_walk(fp, lost_collect, &lc) || !lc.n)
		goto out;
	w = calloc(lc.n, sizeof(*w));
	if (!w)
		goto out;
	for (i = 0; i < lc.n; i++)
		total += w[i] = lost_weight(fp, lc.slots[i], since, c, &lost);
	if (!total)
		goto out;
	if (n > total)
		n = total;
	for (i = 0; i < lc.n && done < n; i++) {
		if (!w[i])
			continue;
		/* floor of the proportional share; the rest goes one by one */
		share = (uint64_t)((unsigned __int128)n * w[i] / total);
		w[i] -= share;
		done += share;
		if (share && !bpf_map_lookup_elem(fastpath_fd_flow_lost(fp), &lc.slots[i], &lost)) {
			lost += share;
			bpf_map_update_elem(fastpath_fd_flow_lost(fp), &lc.slots[i], &lost, BPF_EXIST);
		}
	}
	for (i = 0; i < lc.n && done < n; i++) {
		if (!w[i] || bpf_map_lookup_elem(fastpath_fd_flow_lost(fp), &lc.slots[i], &lost))
			continue;
		lost++;
		if (!bpf_map_update_elem(fastpath_fd_flow_lost(fp), &lc.slots[i], &lost, BPF_EXIST))
			done++;
	}
out:
	fastpath_slot_unlock(fp, 0);
out_free:
	free(w);
	free(lc.slots);
	free(c);
	return done;
}

/* One attached interface: 1 when what it takes changed. */
static int dev_check_one(struct fastpath *fp, unsigned ifindex, uint64_t now_ms)
{
	struct fastpath_dev *d = dev_get(fp, ifindex);
	char name[IF_NAMESIZE];
	uint64_t errs;
	int was, x, changed = 0;

	if (!d)
		return 0;
	was = d->xmit_ok && !d->bad_until_ms;
	x = fastpath_dev_query_xmit(ifindex);
	if (x >= 0)
		d->xmit_ok = x;
	if (!xmit_errors(ifindex, &errs)) {
		if (errs > d->xmit_errors) {
			uint64_t got = lost_attribute(fp, ifindex, errs - d->xmit_errors, now_ms);

			dev_name(ifindex, name);
			fastpath_log(LOG_WARNING,
				     "the kernel dropped %llu XDP frames sent out of %s (its XDP "
				     "transmit error counters, ethtool -S %s; %llu of them "
				     "counted lost on the flows that sent them): flows toward %s "
				     "take the userspace path for %u s; for native XDP there, "
				     "attach an XDP program to its peer (a veth's other end) or "
				     "use --xdp generic",
				     (unsigned long long)(errs - d->xmit_errors), name, name,
				     (unsigned long long)got, name, FP_DEV_BAD_MS / 1000u);
			d->bad_until_ms = now_ms + FP_DEV_BAD_MS;
		}
		d->xmit_errors = errs;
	}
	if (d->bad_until_ms && now_ms >= d->bad_until_ms) {
		d->bad_until_ms = 0;
		dev_name(ifindex, name);
		fastpath_log(LOG_INFO, "%s: trying native XDP frames toward it again", name);
	}
	/* A natively attached interface that cannot take native frames at
	 * all (not just errors seen) gets generic mode: its flows then
	 * forward as skbs instead of going up. */
	if (!d->xmit_ok && d->features_known && fp->mode == FASTPATH_XDP_NATIVE &&
	    fastpath_relink_generic(fp, ifindex) > 0)
		changed = 1;
	if (was != (d->xmit_ok && !d->bad_until_ms)) {
		changed = 1;
		if (!d->bad_until_ms) {
			dev_name(ifindex, name);
			fastpath_log(d->xmit_ok ? LOG_INFO : LOG_WARNING,
				     "%s %s native XDP frames now%s", name,
				     d->xmit_ok ? "takes" : "no longer takes",
				     d->xmit_ok ? ""
						: " (a veth whose peer lost its XDP program?): "
						  "flows toward it leave native XDP for the "
						  "userspace path");
		}
	}
	return changed;
}

int fastpath_dev_check(struct fastpath *fp, uint64_t now_ms)
{
	int fd = fastpath_fd_tx_ports(fp), err = 0;
	__u32 key, next, *prev = NULL;

	/* The devmap is the list of attached interfaces, whoever attached them. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (dev_check_one(fp, key, now_ms) && !err)
			err = fastpath_nh_refresh(fp, key);
	}
	return err;
}
