/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * icepath-bench: RTP traffic generator, sink and NG call setup for
 * `make bench`. One "flow" is one call leg's media in one direction: the
 * sender sends from src to dst (the relay's port for that leg), the relay
 * forwards to rcv, where the sink counts it and checks that it came from
 * relay_src (the relay's port toward the receiver) with the flow's SSRC.
 *
 * Flows file, one flow a line ('#' starts a comment):
 *   <ssrc hex> <src ip:port> <dst ip:port> <rcv ip:port> <relay_src ip:port | ->
 */
#ifndef ICEPATH_BENCH_H
#define ICEPATH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/netaddr.h"

struct bench_flow {
	uint32_t ssrc;
	struct netaddr src, dst, rcv;
	struct netaddr relay_src; /* family 0: not checked */
};

struct bench_flows {
	struct bench_flow *v;
	size_t n, cap;
};

/* Read a flows file; at most max flows (0: all). Errors name file and line. */
int bench_flows_load(struct bench_flows *fl, const char *path, size_t max);
int bench_flows_append(struct bench_flows *fl, const struct bench_flow *f);
int bench_flows_save(const struct bench_flows *fl, const char *path);
void bench_flows_free(struct bench_flows *fl);

/* Pin the calling thread to one CPU (-1: leave alone); 0 or -errno. */
int bench_sys_pin_cpu(int cpu);
/*
 * This process's CPU time so far (getrusage). System time includes the
 * softirq work the kernel did while this process was current (tick-sampled:
 * this kernel has no IRQ_TIME_ACCOUNTING), e.g. a relay's XDP program run
 * from the sender's transmit path on a veth.
 */
void bench_sys_cpu(double *user_s, double *sys_s);

/* Options `send` and `recv` share: --flows --count --duration --cpu --help. */
struct bench_opts {
	const char *flows;
	long count;	 /* first N flows, 0: all */
	double duration; /* seconds */
	long cpu;	 /* -1: not pinned */
};

#define BENCH_OPTS_LONG                                                                            \
	{"flows", required_argument, NULL, 'f'}, {"count", required_argument, NULL, 'n'},          \
		{"duration", required_argument, NULL, 'd'}, {"cpu", required_argument, NULL, 'c'}, \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* 1 when c ('f', 'n', 'd', 'c') was a shared option and arg was good, 0 when
 * c is not shared, -EINVAL (with a message) when arg was bad. */
int bench_opts_take(struct bench_opts *o, int c, const char *arg);
/* Load the flows file and pin to the CPU. 0 or -errno (message printed). */
int bench_opts_start(const struct bench_opts *o, const char *who, struct bench_flows *fl);
/* s is a whole number within min..max. 0 or -EINVAL. */
int bench_opts_num(const char *s, double min, double max, double *out);

int bench_send_main(int argc, char **argv);
int bench_recv_main(int argc, char **argv);
int bench_ng_main(int argc, char **argv);

#endif
