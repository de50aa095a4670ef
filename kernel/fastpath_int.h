/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to kernel/fastpath*.c: the handle behind struct fastpath and the
 * shared logging helper. Nothing outside kernel/ includes this.
 */
#ifndef ICEPATH_KERNEL_FASTPATH_INT_H
#define ICEPATH_KERNEL_FASTPATH_INT_H

#include <limits.h>

#include "icepath/fastpath.h"
#include "icepath/fp_abi.h"

struct icepath; /* the skeleton, build/include/icepath.skel.h */

struct fastpath {
	struct icepath *skel;
	char pin_path[PATH_MAX];
	enum fastpath_xdp_mode mode;
	int ncpus; /* possible CPUs: per-CPU map values come in this many */
};

void fastpath_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map file descriptors through the skeleton (never by name). */
int fastpath_fd_flows(const struct fastpath *fp);
int fastpath_fd_flow_ctr(const struct fastpath *fp);
int fastpath_fd_stats(const struct fastpath *fp);

#endif
