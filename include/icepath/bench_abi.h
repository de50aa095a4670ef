/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_abi: the layouts shared by make bench's BPF programs
 * (bpf/bench_gen.bpf.c, bpf/bench_bare.bpf.c, bpf/bench_sink.bpf.c) and
 * their loader (tools/icepath-bench/bench_xdp*.c). Nothing of icepath's
 * fast path is here: the bench reaches icepathd only through NG and the
 * program attached to the interface, so a change of fp_abi.h never needs
 * one here.
 */
#ifndef ICEPATH_BENCH_ABI_H
#define ICEPATH_BENCH_ABI_H

#include <linux/types.h>

/* Every generated frame: Ethernet 14 + IPv4 20 + UDP 8 + RTP 12 + 188
 * bytes of PCMU-like payload (issue 13 measured with 242-byte frames). */
#define BENCH_FRAME_LEN	    242
#define BENCH_ETH_LEN	    14
#define BENCH_IP_LEN	    20
#define BENCH_UDP_LEN	    (BENCH_FRAME_LEN - BENCH_ETH_LEN - BENCH_IP_LEN) /* 208 */
#define BENCH_HDRS_LEN	    (BENCH_ETH_LEN + BENCH_IP_LEN + 8 + 12)	 /* eth..RTP */
#define BENCH_RTP_TS_STEP   160 /* 20 ms at 8000 Hz (RFC 3551 §4.5.14) */
#define BENCH_TTL	    64
#define BENCH_MAX_FLOWS	    1000000u /* generator and bare tables, one entry per flow */

/* One flow of the generator (array by flow index). Addresses and ports in
 * network order; csum is the 32-bit one's-complement sum (of raw 16-bit
 * memory words, so byte order never matters, RFC 1071 §2(B)) of the UDP
 * pseudo-header, the UDP header with a zero checksum and the whole
 * payload with a zero RTP sequence number and timestamp: the program adds
 * the words it writes per frame and folds. ip_csum is the finished IPv4
 * header checksum (nothing in that header changes per frame). */
struct bench_gen_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__be32 ssrc;
	__u32 csum;
	__u16 ip_csum; /* raw, as stored in the header */
	__u16 pad;     /* zero */
};
_Static_assert(sizeof(struct bench_gen_flow) == 24, "bench_gen_flow is ABI");

/* Per-CPU state of the generator: which flow is next, how many rounds over
 * all flows were made (the RTP sequence number), frames built. */
struct bench_gen_state {
	__u32 next;
	__u32 round;
	__u64 frames;
};
_Static_assert(sizeof(struct bench_gen_state) == 16, "bench_gen_state is ABI");

/* Key and value of the bare program's flow hash: what arrives from
 * saddr:sport at daddr:dport leaves from out_saddr:out_sport to
 * out_daddr:out_dport, with these MACs, out of ifindex (devmap). */
struct bench_bare_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};
_Static_assert(sizeof(struct bench_bare_key) == 12, "bench_bare_key is ABI");

struct bench_bare_val {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 smac[6];
	__u8 dmac[6];
	__u32 ifindex;
};
_Static_assert(sizeof(struct bench_bare_val) == 28, "bench_bare_val is ABI");

/* The sink's per-CPU counters (index into its array). */
enum bench_sink_ctr {
	BENCH_SINK_PACKETS, /* every frame seen (all dropped) */
	BENCH_SINK_BYTES,
	BENCH_SINK_GOOD,     /* verify on: IPv4/UDP of BENCH_FRAME_LEN, both sums right */
	BENCH_SINK_BAD_SUM,  /* verify on: IPv4 or UDP checksum wrong */
	BENCH_SINK_BAD_SHAPE, /* verify on: not IPv4/UDP, IP options, other length */
	BENCH_SINK_COUNT
};

#endif
