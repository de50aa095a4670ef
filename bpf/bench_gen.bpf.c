// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench's in-kernel RTP generator: run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on the generator namespace's veth, it turns
 * every frame into the next flow's RTP packet and returns XDP_TX, which the
 * live-frames mode sends out of that veth toward the relay.
 *
 * Live frames are recycled pages whose bytes are not restored between
 * runs: the relay rewrote the headers of the frame it forwarded, so every
 * byte a relay may change (Ethernet, IPv4, UDP, RTP header) is written
 * afresh here. The payload after the RTP header is never touched by
 * anyone; its sum is in the flow's precomputed csum.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "icepath/bench_abi.h"

#define IP_DF 0x4000 /* RFC 791 flags */

/* Set by the loader in rodata before load. */
const volatile __u32 n_flows = 1;
const volatile __u8 src_mac[ETH_ALEN] = {};
const volatile __u8 dst_mac[ETH_ALEN] = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets n_flows entries */
	__type(key, __u32);
	__type(value, struct bench_gen_flow);
} flows SEC(".maps");

struct {
	/* per CPU: two generator threads never share a cache line */
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_gen_state);
} state SEC(".maps");

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u16 *w = data;
	struct bench_gen_state *st;
	struct bench_gen_flow *f;
	__u32 zero = 0, ts;
	__u16 seq, sum;
	__u64 acc;

	/* the loader hands in exactly BENCH_FRAME_LEN bytes */
	if (data + BENCH_FRAME_LEN > data_end)
		return XDP_ABORTED;
	st = bpf_map_lookup_elem(&state, &zero);
	if (!st)
		return XDP_ABORTED;
	f = bpf_map_lookup_elem(&flows, &st->next);
	if (!f)
		return XDP_ABORTED;

	/* RTP sequence number: one per round over all flows, so each flow
	 * sees consecutive numbers (RFC 3550 §5.1) */
	seq = (__u16)st->round;
	ts = st->round * BENCH_RTP_TS_STEP;
	if (++st->next >= n_flows) {
		st->next = 0;
		st->round++;
	}
	st->frames++;

	/* Ethernet */
	p[0] = dst_mac[0];
	p[1] = dst_mac[1];
	p[2] = dst_mac[2];
	p[3] = dst_mac[3];
	p[4] = dst_mac[4];
	p[5] = dst_mac[5];
	p[6] = src_mac[0];
	p[7] = src_mac[1];
	p[8] = src_mac[2];
	p[9] = src_mac[3];
	p[10] = src_mac[4];
	p[11] = src_mac[5];
	w[6] = bpf_htons(ETH_P_IP);
	/* IPv4 (RFC 791), word offsets from the frame start: 7..16 */
	w[7] = bpf_htons(0x4500);
	w[8] = bpf_htons(BENCH_FRAME_LEN - BENCH_ETH_LEN);
	w[9] = 0; /* id */
	w[10] = bpf_htons(IP_DF);
	w[11] = bpf_htons(BENCH_TTL << 8 | IPPROTO_UDP);
	w[12] = f->ip_csum;
	__builtin_memcpy(&w[13], &f->saddr, 4);
	__builtin_memcpy(&w[15], &f->daddr, 4);
	/* UDP (RFC 768): 17..20 */
	w[17] = f->sport;
	w[18] = f->dport;
	w[19] = bpf_htons(BENCH_UDP_LEN);
	/* RTP (RFC 3550 §5.1): V=2, no padding/extension/CSRC, M=0, PT 0
	 * (PCMU); 21..26 */
	w[21] = bpf_htons(0x8000);
	w[22] = bpf_htons(seq);
	w[23] = bpf_htons(ts >> 16);
	w[24] = bpf_htons(ts & 0xffff);
	__builtin_memcpy(&w[25], &f->ssrc, 4);

	acc = (__u64)f->csum + w[22] + w[23] + w[24];
	sum = ~fold(acc);
	w[20] = sum ? sum : 0xffff; /* RFC 768: a computed 0 is sent as all ones */
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
