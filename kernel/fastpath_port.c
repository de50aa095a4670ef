// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_port: the ports array, the program's first lookup. The relay's
 * own address and port identify a stream, so a copy of each flow is kept at
 * an index made of that address's slot (port_addrs) and the port
 * (fp_abi.h): the program finds it without hashing, then checks the full
 * key (expected source, channel) on what it found. An address and port
 * that carry more than one flow (several remotes, TURN channels) hold a
 * shared entry with a zero key, and a flow on an address beyond the
 * FP_PORT_ADDRS slots has no entry: those flows are looked up in the flows
 * map, as before.
 *
 * An element is rewritten in place, so every write goes through
 * ent_write() and its sequence count (fp_abi.h says why and how).
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

/* Replace entry idx, whose current content is *cur, by *nv, under the
 * sequence count: (cur, odd), (new, odd), (new, even). */
static int ent_write(int fd, __u32 idx, struct fp_port_val *cur, struct fp_port_val *nv)
{
	__u32 seq = cur->seq | 1;

	if (!(cur->seq & 1)) {
		cur->seq = seq;
		if (bpf_map_update_elem(fd, &idx, cur, BPF_ANY))
			return -errno;
	}
	nv->seq = seq;
	if (bpf_map_update_elem(fd, &idx, nv, BPF_ANY))
		return -errno;
	nv->seq = seq + 1;
	if (bpf_map_update_elem(fd, &idx, nv, BPF_ANY))
		return -errno;
	return 0;
}

int fastpath_port_put(struct fastpath *fp, const struct fp_flow_key *k,
		      const struct fp_flow_val *v, int fresh)
{
	int fd = fastpath_fd_ports(fp), err;
	struct fp_port_val cur, pv;
	__u32 idx;

	err = port_index(fp, k, fresh, &idx);
	if (err)
		return err == -ENOENT ? 0 : err; /* no entry: found in flows */
	if (bpf_map_lookup_elem(fd, &idx, &cur))
		return -errno;
	pv = cur;
	if (!cur.nflows && !fresh)
		return 0; /* not mirrored (e.g. installed before its slot) */
	if (fresh)
		pv.nflows++;
	if (pv.nflows == 1) {
		pv.key = *k;
		memcpy(pv.val, v, FP_FLOW_HOT);
	} else if (fresh) {
		/* a second flow on this address and port: both in flows only */
		memset(&pv.key, 0, sizeof(pv.key));
		memset(pv.val, 0, sizeof(pv.val));
	} else if (!memcmp(&pv.key, k, sizeof(*k))) {
		memcpy(pv.val, v, FP_FLOW_HOT);
	} else {
		return 0;
	}
	return ent_write(fd, idx, &cur, &pv);
}

int fastpath_port_del(struct fastpath *fp, const struct fp_flow_key *k)
{
	int fd = fastpath_fd_ports(fp), err;
	struct fp_port_val cur, pv;
	__u32 idx;

	err = port_index(fp, k, 0, &idx);
	if (err)
		return err == -ENOENT ? 0 : err;
	if (bpf_map_lookup_elem(fd, &idx, &cur))
		return -errno;
	if (!cur.nflows)
		return 0;
	pv = cur;
	/* The flows left stay shared (looked up in flows) until the entry
	 * empties or fastpath_port_rebuild() runs: finding the one left would
	 * take a walk of the flows map. */
	if (pv.nflows-- <= 1 || !memcmp(&pv.key, k, sizeof(*k))) {
		memset(&pv.key, 0, sizeof(pv.key));
		memset(pv.val, 0, sizeof(pv.val));
	}
	return ent_write(fd, idx, &cur, &pv);
}

static int rebuild_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	return fastpath_port_put(ctx, k, v, 1);
}

int fastpath_port_rebuild(struct fastpath *fp)
{
	int fd = fastpath_fd_ports(fp), err = 0;
	struct fp_port_val cur, zero;
	struct fp_port_addrs pa;
	__u32 idx, n;

	err = addrs_get(fp, &pa);
	n = err ? 0 : pa.nports * FP_PORT_ADDRS;
	for (idx = 0; idx < n && !err; idx++) {
		if (bpf_map_lookup_elem(fd, &idx, &cur)) {
			err = errno == ENOENT ? 0 : -errno; /* past a smaller array */
			break;
		}
		if (!cur.nflows && !cur.key.family)
			continue;
		memset(&zero, 0, sizeof(zero));
		err = ent_write(fd, idx, &cur, &zero);
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
