/* SPDX-License-Identifier: GPL-2.0-only */
/* icepath-bench xdp: the in-kernel generator, the sink, the bare relay. */
#ifndef ICEPATH_BENCH_XDP_H
#define ICEPATH_BENCH_XDP_H

#include <stdint.h>

#include "icepath/bench_abi.h"

#include "bench.h"

/* Open /run/netns/NAME (or a path); an fd or -errno (message printed). */
int bench_ns_open(const char *name);
/* Move the calling thread into the namespace; 0 or -errno. */
int bench_ns_enter(int fd, const char *name);
/* ifindex and MAC of an interface of the current namespace; 0 or -errno. */
int bench_if_info(const char *ifname, int *ifindex, uint8_t mac[6]);

/* The frame handed to BPF_PROG_RUN: payload bytes as sent, headers zero. */
void bench_frame_template(uint8_t frame[BENCH_FRAME_LEN]);
/* A generator table entry for flow f (src -> dst), sums over frame's payload. */
void bench_gen_flow_init(struct bench_gen_flow *g, const struct bench_flow *f,
			 const uint8_t frame[BENCH_FRAME_LEN]);

struct bench_prog_stats {
	uint64_t run_time_ns, run_cnt;
	uint32_t id;
	char name[16];
};
/* run_time_ns/run_cnt (counted while BPF stats are enabled); 0 or -errno */
int bench_prog_stats(int prog_fd, struct bench_prog_stats *st);
/* "memlock:" of a BPF object fd of this process, bytes; -1 unknown */
long long bench_fd_memlock(int fd);
/* machine-wide busy ticks from /proc/stat (user nice system irq softirq steal) */
int bench_machine_ticks(unsigned long long *busy);

int bench_xdp_main(int argc, char **argv);
int bench_xdp_sink_main(int argc, char **argv);
int bench_xdp_flows_main(int argc, char **argv);
int bench_fp_main(int argc, char **argv);

#endif
