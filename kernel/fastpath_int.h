/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to kernel/fastpath*.c: the handle behind struct fastpath and the
 * shared logging helper. Nothing outside kernel/ includes this.
 */
#ifndef ICEPATH_KERNEL_FASTPATH_INT_H
#define ICEPATH_KERNEL_FASTPATH_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "icepath/fastpath.h"
#include "icepath/fp_abi.h"

struct icepath; /* the skeleton, build/include/icepath.skel.h */

struct fastpath {
	struct icepath *skel;
	char pin_path[PATH_MAX];
	enum fastpath_xdp_mode mode;
	int ncpus; /* possible CPUs: per-CPU map values come in this many */

	/* Counter slots (fastpath_slot.c): this process's copy of which
	 * flow_ctr entries are free, rebuilt from the flows map when another
	 * process changed it (fp_meta.gen). */
	uint32_t *slot_free; /* ring of free slots (FP_MAX_FLOWS) */
	uint32_t slot_head;  /* the next one handed out */
	uint32_t slot_nfree;
	uint64_t *slot_used;  /* bitmap: slot referenced by a flow */
	uint64_t slot_gen;    /* fp_meta.gen the copy is current for */
	int lock_fd;	      /* the pin directory: flock() serializes processes */
	pthread_mutex_t lock; /* and this the threads of one process */
};

void fastpath_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map file descriptors through the skeleton (never by name). */
int fastpath_fd_flows(const struct fastpath *fp);
int fastpath_fd_flow_ctr(const struct fastpath *fp);
int fastpath_fd_stats(const struct fastpath *fp);
int fastpath_fd_meta(const struct fastpath *fp);

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
