// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_port: the ports map, the program's first lookup. The relay's own
 * address and port identify a stream, so a copy of each flow is kept under
 * that small key (fp_port_key, 8 bytes) and the program hashes 8 bytes
 * instead of fp_flow_key's 40, then checks the full key (expected source,
 * channel) on what it found. An address and port that carry more than one
 * flow (several remotes, TURN channels) hold a shared entry with a zero key:
 * those flows are looked up in the flows map, as before.
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

static void port_key(const struct fp_flow_key *k, struct fp_port_key *pk)
{
	memset(pk, 0, sizeof(*pk));
	pk->family = k->family;
	pk->local_port = k->local_port;
	pk->local_addr = k->local_addr[0] ^ k->local_addr[1] ^ k->local_addr[2] ^ k->local_addr[3];
}

int fastpath_port_put(struct fastpath *fp, const struct fp_flow_key *k,
		      const struct fp_flow_val *v, int fresh)
{
	int fd = fastpath_fd_ports(fp);
	struct fp_port_key pk;
	struct fp_port_val pv;
	int have;

	port_key(k, &pk);
	have = !bpf_map_lookup_elem(fd, &pk, &pv);
	if (!have) {
		if (!fresh)
			return 0; /* shared entries only count; nothing to mirror */
		memset(&pv, 0, sizeof(pv));
	}
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
	if (bpf_map_update_elem(fd, &pk, &pv, BPF_ANY))
		return -errno;
	return 0;
}

int fastpath_port_del(struct fastpath *fp, const struct fp_flow_key *k)
{
	int fd = fastpath_fd_ports(fp);
	struct fp_port_key pk;
	struct fp_port_val pv;

	port_key(k, &pk);
	if (bpf_map_lookup_elem(fd, &pk, &pv))
		return 0;
	if (pv.nflows <= 1)
		return bpf_map_delete_elem(fd, &pk) && errno != ENOENT ? -errno : 0;
	/* The flows left stay shared (looked up in flows) until the entry
	 * empties or fastpath_port_rebuild() runs: finding the one left would
	 * take a walk of the flows map. */
	pv.nflows--;
	if (bpf_map_update_elem(fd, &pk, &pv, BPF_EXIST))
		return -errno;
	return 0;
}

static int rebuild_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	return fastpath_port_put(ctx, k, v, 1);
}

int fastpath_port_rebuild(struct fastpath *fp)
{
	int fd = fastpath_fd_ports(fp), err;
	struct fp_port_key key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			break;
	}
	err = fastpath_flow_walk(fp, rebuild_one, fp);
	if (err)
		fastpath_log(LOG_ERR, "cannot rebuild the fast path's port table: %s",
			     strerror(-err));
	return err;
}
