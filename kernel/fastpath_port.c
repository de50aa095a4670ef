// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_port: the ports array, the program's first lookup. The relay's
 * own address and port identify a stream, so the ports array, at an index
 * made of that address's slot (port_addrs) and the port (fp_abi.h), holds
 * 1 + the counter slot of the one flow there, and flow_hot holds a copy of
 * that flow's key and hot value at its slot: the program finds it without
 * hashing, then checks the full key (expected source, channel) on what it
 * found. An address and port that carry more than one flow (several
 * remotes, TURN channels) hold 0, as does one without flows, and a flow on
 * an address beyond the FP_PORT_ADDRS slots has no entry: those flows are
 * looked up in the flows map, as before. How many flows an address and
 * port carry is kept in port_nflows.
 *
 * A flow_hot element is rewritten in place, so every write goes through
 * hot_write() and its sequence count (fp_abi.h says why and how); a ports
 * element is one aligned word.
 *
 * The flows map stays the truth: every change to it goes through
 * fastpath_port_put()/_del() here, under the slot lock, and
 * fastpath_port_rebuild() makes the copy again from it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "fastpath_int.h"

static int addrs_get(struct fastpath *fp, struct fp_port_addrs *pa)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fastpath_fd_port_addrs(fp), &zero, pa))
		return -errno;
	return 0;
}

static int addrs_set(struct fastpath *fp, const struct fp_port_addrs *pa)
{
	__u32 zero = 0;

	/* A reader sees a slot's old or new 8 bytes (one aligned word each
	 * in memcpy's stride) or a free one: any of them only picks an
	 * entry whose full key is then checked. Slots are only ever added. */
	if (bpf_map_update_elem(fastpath_fd_port_addrs(fp), &zero, pa, BPF_ANY))
		return -errno;
	return 0;
}

/* The ports index of k: 0 and *idx, or -ENOENT when k has no entry (no
 * slot left for its address, or its port outside the geometry). alloc:
 * give its address a slot if it has none. */
static int port_index(struct fastpath *fp, const struct fp_flow_key *k, int alloc, __u32 *idx)
{
	__u32 a = k->local_addr[0] ^ k->local_addr[1] ^ k->local_addr[2] ^ k->local_addr[3];
	struct fp_port_addrs pa;
	__u32 port = ntohs(k->local_port), slot, nfree = FP_PORT_ADDRS;
	int err = addrs_get(fp, &pa);

	if (err)
		return err;
	if (!pa.nports)
		return -ENOENT;
	if (port < pa.port_min || port - pa.port_min >= pa.nports)
		return -ENOENT;
	for (slot = 0; slot < FP_PORT_ADDRS; slot++) {
		if (pa.a[slot].family == k->family && pa.a[slot].local_addr == a)
			break;
		if (!pa.a[slot].family && nfree == FP_PORT_ADDRS)
			nfree = slot;
	}
	if (slot == FP_PORT_ADDRS) {
		/* the array holds port_ents / nports address slots */
		if (!alloc || nfree == FP_PORT_ADDRS || (nfree + 1) * pa.nports > fp->port_ents)
			return -ENOENT;
		slot = nfree;
		memset(&pa.a[slot], 0, sizeof(pa.a[slot]));
		pa.a[slot].family = k->family;
		pa.a[slot].local_addr = a;
		err = addrs_set(fp, &pa);
		if (err)
			return err;
	}
	*idx = slot * pa.nports + (port - pa.port_min);
	return 0;
}

/* Replace flow_hot[slot], whose current content is *cur, by *nv, under the
 * sequence count: (cur, odd), (new, odd), (new, even). */
static int hot_write(struct fastpath *fp, __u32 slot, struct fp_flow_hot *cur,
		     struct fp_flow_hot *nv)
{
	int fd = fastpath_fd_flow_hot(fp);
	__u32 seq = cur->seq | 1;

	if (!(cur->seq & 1)) {
		cur->seq = seq;
		if (bpf_map_update_elem(fd, &slot, cur, BPF_ANY))
			return -errno;
	}
	nv->seq = seq;
	if (bpf_map_update_elem(fd, &slot, nv, BPF_ANY))
		return -errno;
	nv->seq = seq + 1;
	if (bpf_map_update_elem(fd, &slot, nv, BPF_ANY))
		return -errno;
	return 0;
}

static int hot_get(struct fastpath *fp, __u32 slot, struct fp_flow_hot *h)
{
	if (bpf_map_lookup_elem(fastpath_fd_flow_hot(fp), &slot, h))
		return -errno;
	return 0;
}

/* flow_hot[slot] := k and v's hot prefix (k NULL: a zero key, no flow). */
static int hot_set(struct fastpath *fp, __u32 slot, const struct fp_flow_key *k,
		   const struct fp_flow_val *v)
{
	struct fp_flow_hot cur, nv;
	int err = hot_get(fp, slot, &cur);

	if (err)
		return err;
	memset(&nv, 0, sizeof(nv));
	if (k) {
		nv.key = *k;
		memcpy(nv.val, v, FP_FLOW_HOT);
	}
	return hot_write(fp, slot, &cur, &nv);
}

/* One u32 of the ports array or port_nflows, by index. */
static int word_get(int fd, __u32 idx, __u32 *w)
{
	if (bpf_map_lookup_elem(fd, &idx, w))
		return -errno;
	return 0;
}

static int word_set(int fd, __u32 idx, __u32 w)
{
	if (bpf_map_update_elem(fd, &idx, &w, BPF_ANY))
		return -errno;
	return 0;
}

/* Whether the ports entry ent (1 + slot) holds flow k. */
static int ent_holds(struct fastpath *fp, __u32 ent, const struct fp_flow_key *k)
{
	struct fp_flow_hot h;

	return ent && ent - 1 < fp->max_flows && !hot_get(fp, ent - 1, &h) &&
	       !memcmp(&h.key, k, sizeof(*k));
}

int fastpath_port_put(struct fastpath *fp, const struct fp_flow_key *k,
		      const struct fp_flow_val *v, int fresh)
{
	int pfd = fastpath_fd_ports(fp), nfd = fastpath_fd_port_nflows(fp), err;
	__u32 idx, n, ent;

	if (v->slot >= fp->max_flows)
		return -EINVAL;
	err = port_index(fp, k, fresh, &idx);
	if (err)
		return err == -ENOENT ? 0 : err; /* no entry: found in flows */
	if ((err = word_get(nfd, idx, &n)) || (err = word_get(pfd, idx, &ent)))
		return err;
	if (!fresh) {
		/* A change of a flow the entry holds (also one given a new
		 * slot: its copy moves there); any other stays in flows. */
		if (ent == v->slot + 1)
			return hot_set(fp, v->slot, k, v);
		if (!ent_holds(fp, ent, k))
			return 0;
		if ((err = hot_set(fp, v->slot, k, v)) || (err = word_set(pfd, idx, v->slot + 1)))
			return err;
		return hot_set(fp, ent - 1, NULL, NULL);
	}
	if (++n == 1) {
		/* the copy first, then the index that leads to it */
		if ((err = hot_set(fp, v->slot, k, v)) || (err = word_set(pfd, idx, v->slot + 1)))
			return err;
	} else if (ent && (err = word_set(pfd, idx, 0))) {
		/* a second flow on this address and port: both in flows only */
		return err;
	}
	return word_set(nfd, idx, n);
}

int fastpath_port_del(struct fastpath *fp, const struct fp_flow_key *k)
{
	int pfd = fastpath_fd_ports(fp), nfd = fastpath_fd_port_nflows(fp), err;
	__u32 idx, n, ent;

	err = port_index(fp, k, 0, &idx);
	if (err)
		return err == -ENOENT ? 0 : err;
	if ((err = word_get(nfd, idx, &n)) || (err = word_get(pfd, idx, &ent)))
		return err;
	if (!n)
		return 0;
	/* The flows left stay shared (looked up in flows) until the entry
	 * empties or fastpath_port_rebuild() runs: finding the one left would
	 * take a walk of the flows map. The slot's copy is cleared too: a
	 * reader that took the index just before sees no flow, and the slot's
	 * next flow writes its own. */
	if (ent && (n <= 1 || ent_holds(fp, ent, k))) {
		if ((err = word_set(pfd, idx, 0)) || (err = hot_set(fp, ent - 1, NULL, NULL)))
			return err;
	}
	return word_set(nfd, idx, n - 1);
}

static int rebuild_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	return fastpath_port_put(ctx, k, v, 1);
}

int fastpath_port_rebuild(struct fastpath *fp)
{
	int pfd = fastpath_fd_ports(fp), nfd = fastpath_fd_port_nflows(fp), err = 0;
	struct fp_port_addrs pa;
	__u32 idx, n, ent, nf;

	err = addrs_get(fp, &pa);
	n = err ? 0 : pa.nports * FP_PORT_ADDRS;
	for (idx = 0; idx < n && !err; idx++) {
		if (word_get(pfd, idx, &ent) || word_get(nfd, idx, &nf)) {
			err = errno == ENOENT ? 0 : -errno; /* past a smaller array */
			break;
		}
		if (ent)
			err = word_set(pfd, idx, 0);
		if (!err && ent && ent - 1 < fp->max_flows)
			err = hot_set(fp, ent - 1, NULL, NULL);
		if (!err && nf)
			err = word_set(nfd, idx, 0);
	}
	if (!err)
		err = fastpath_flow_walk(fp, rebuild_one, fp);
	if (err)
		fastpath_log(LOG_ERR, "cannot rebuild the fast path's port table: %s",
			     strerror(-err));
	return err;
}

int fastpath_port_open(struct fastpath *fp, uint16_t port_min, uint16_t port_max)
{
	struct fp_port_addrs pa;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err = addrs_get(fp, &pa);

	if (err)
		return err;
	if (pa.nports)
		return 0; /* maps of an earlier run: their geometry stays */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fastpath_fd_ports(fp), &info, &len))
		return -errno;
	memset(&pa, 0, sizeof(pa));
	pa.port_min = port_min;
	pa.nports = (__u32)port_max - port_min + 1;
	if (pa.nports > info.max_entries)
		pa.nports = info.max_entries;
	return addrs_set(fp, &pa);
}
