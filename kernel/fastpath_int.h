/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to kernel/fastpath*.c: the handle behind struct fastpath and the
 * shared logging helper. Nothing outside kernel/ includes this.
 */
#ifndef ICEPATH_KERNEL_FASTPATH_INT_H
#define ICEPATH_KERNEL_FASTPATH_INT_H

#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>

#include "icepath/fastpath.h"
#include "icepath/fp_abi.h"

struct icepath;	     /* the skeleton, build/include/icepath.skel.h */
struct fastpath_nh;  /* next hop resolver (fastpath_nh.c) */

/* What this handle knows of an attached interface (fastpath_dev.c). */
struct fastpath_dev {
	unsigned ifindex;
	int xmit_ok;	      /* takes native XDP frames (and no transmit errors seen) */
	int features_known;   /* the kernel answered the netdev xdp-features query */
	uint64_t xmit_errors; /* sum of its XDP transmit error counters, last read */
	uint64_t bad_until_ms; /* transmit errors seen: no native frames toward it until */
};

#define FASTPATH_MAX_DEVS 64

struct fastpath {
	struct icepath *skel;
	char pin_path[PATH_MAX];
	enum fastpath_xdp_mode mode;
	int ncpus;	    /* possible CPUs: per-CPU map values come in this many */
	uint32_t max_flows; /* entries of the flows and flow_ctr maps */
	uint32_t port_ents; /* entries of the ports array (FP_PORT_ADDRS x ports) */

	/* jiffies <-> CLOCK_MONOTONIC (fastpath_clock_*): one sample of both
	 * taken by the icepath_clock program, and the length of a jiffy. */
	uint64_t clk_jiffies, clk_ns, jiffy_ns;

	struct fastpath_nh *nh;
	struct fastpath_dev devs[FASTPATH_MAX_DEVS];
	unsigned ndevs;
	uint64_t next_dev_check_ms;

	/* Counter slots (fastpath_slot.c): this process's copy of which
	 * flow_ctr entries are free, rebuilt from the flows map when another
	 * process changed it (fp_meta.gen). */
	uint32_t *slot_free; /* ring of freed slots cooling (max_flows), oldest first */
	uint32_t *slot_freed_ms; /* when each was freed (CLOCK_MONOTONIC ms, truncated) */
	uint32_t slot_head;  /* the oldest */
	uint32_t slot_nfree;
	uint64_t *slot_ready; /* bitmap: free and cooled, handed out lowest first */
	uint32_t slot_nready;
	uint32_t slot_ready_lo; /* no ready slot in the words below this one */
	uint64_t *slot_used;  /* bitmap: slot referenced by a flow */
	uint64_t slot_gen;    /* fp_meta.gen the copy is current for */
	int lock_fd;	      /* the pin directory: flock() serializes processes */
	pthread_mutex_t lock; /* and this the threads of one process */

	/* What this handle created (fastpath_abandon() undoes exactly that):
	 * the maps (none were pinned before the open) and the links of the
	 * interfaces that had no icepath link under this pin path. */
	int made_maps;
	char made_links[FASTPATH_MAX_DEVS][IF_NAMESIZE];
	unsigned nmade_links;
};

void fastpath_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t fastpath_now_ms(void); /* CLOCK_MONOTONIC */

/* Clocks (fastpath.c): CLOCK_MONOTONIC ms <-> bpf_jiffies64(). */
int fastpath_clock_sync(struct fastpath *fp);
uint64_t fastpath_ms_to_jiffies(const struct fastpath *fp, uint64_t mono_ms);
uint64_t fastpath_jiffies_to_ns(const struct fastpath *fp, uint64_t jiffies);

/* Next hops (fastpath_nh.c): libnl-route-3 caches of links, routes and
 * neighbours, kept current by its cache manager. */
int fastpath_nh_open(struct fastpath *fp);
void fastpath_nh_close(struct fastpath *fp);
int fastpath_nh_fd(const struct fastpath *fp);
/* Fill the next hop fields of v (ifindex, MACs, MTU, nh, nh_flags,
 * nh_addr) for its destination. Never fails: an unknown next hop is a
 * state (FP_NH_NO_*), and the program passes such a flow's packets up. */
void fastpath_nh_resolve(struct fastpath *fp, struct fp_flow_val *v);
/* Read pending netlink changes and re-resolve the flows they touch. */
int fastpath_nh_process(struct fastpath *fp);
/* Re-resolve every flow whose egress is ifindex (0: every flow). */
int fastpath_nh_refresh(struct fastpath *fp, unsigned ifindex);

/* Attached interfaces (fastpath_dev.c). */
int fastpath_dev_xmit_ok(struct fastpath *fp, unsigned ifindex);
/* 1: takes native XDP frames, 0: does not, -errno: cannot tell. */
int fastpath_dev_query_xmit(unsigned ifindex);
/* Read transmit error counters and xdp features of the attached
 * interfaces; re-resolves flows toward any whose state changed. */
int fastpath_dev_check(struct fastpath *fp, uint64_t now_ms);
void fastpath_dev_forget(struct fastpath *fp, unsigned ifindex);
/* Move this pin path's native attachment of ifindex to generic mode: 1
 * done, 0 nothing to do (not ours, not native), -errno (fastpath.c). */
int fastpath_relink_generic(struct fastpath *fp, unsigned ifindex);

/* Map file descriptors through the skeleton (never by name). */
int fastpath_fd_flows(const struct fastpath *fp);
int fastpath_fd_flow_ctr(const struct fastpath *fp);
int fastpath_fd_stats(const struct fastpath *fp);
int fastpath_fd_meta(const struct fastpath *fp);
int fastpath_fd_tx_ports(const struct fastpath *fp);
int fastpath_fd_ports(const struct fastpath *fp);
int fastpath_fd_port_addrs(const struct fastpath *fp);
int fastpath_fd_port_nflows(const struct fastpath *fp);
int fastpath_fd_flow_hot(const struct fastpath *fp);
int fastpath_fd_flow_lost(const struct fastpath *fp);

/* The ports map (fastpath_port.c), the copy of the flows map under the
 * relay's address and port; called under the slot lock after each change
 * of flows. fresh: k was not in flows before this write. */
int fastpath_port_put(struct fastpath *fp, const struct fp_flow_key *k,
		      const struct fp_flow_val *v, int fresh);
int fastpath_port_del(struct fastpath *fp, const struct fp_flow_key *k);
int fastpath_port_rebuild(struct fastpath *fp);
/* At open: the ports array's geometry from the media port range, unless
 * the (pinned) maps already have one. */
int fastpath_port_open(struct fastpath *fp, uint16_t port_min, uint16_t port_max);

/* Every raw flow in the map, in batches; a non-zero cb return stops it. */
typedef int (*fastpath_raw_cb)(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx);
int fastpath_flow_walk(struct fastpath *fp, fastpath_raw_cb cb, void *ctx);
/* n keys and values (contiguous, ksz/vsz bytes each) in batches. */
int fastpath_flow_update_batch(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
			       size_t n);

/* Slot allocator of the flow_ctr array (fastpath_slot.c). Changes to the
 * flows map happen between lock and unlock; unlock(changed) tells other
 * processes to rebuild their free lists. */
int fastpath_slot_open(struct fastpath *fp);
void fastpath_slot_close(struct fastpath *fp);
int fastpath_slot_lock(struct fastpath *fp);
void fastpath_slot_unlock(struct fastpath *fp, int changed);
int fastpath_slot_rebuild(struct fastpath *fp);
/* -ENOSPC (logged) when every slot is taken. */
int fastpath_slot_alloc(struct fastpath *fp, uint32_t *slot);
void fastpath_slot_free(struct fastpath *fp, uint32_t slot);
/* Zero the counters of n slots before flows get them. */
int fastpath_slot_zero(struct fastpath *fp, const uint32_t *slots, size_t n);

#endif
