// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench's sink: counts every frame that reaches the sink veth and
 * drops it (XDP_DROP), so the count costs no socket and no stack. Also the
 * program on the relay's ingress veth when the generator is measured alone.
 * With verify set it checks that each frame is the bench's IPv4/UDP frame
 * with both checksums right: the relay's rewrite, not just its rate.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "icepath/bench_abi.h"

const volatile __u32 verify = 0;

struct {
	/* per CPU: two receive queues never share a cache line */
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BENCH_SINK_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 i, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &i);

	if (c)
		*c += n;
}

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* BENCH_SINK_GOOD, _BAD_SUM or _BAD_SHAPE */
static __always_inline __u32 check(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u64 sum;

	/* a bound the verifier sees, then the exact length */
	if (data + BENCH_FRAME_LEN > data_end || data_end - data != BENCH_FRAME_LEN)
		return BENCH_SINK_BAD_SHAPE;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->version != 4 || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || ip->tot_len != bpf_htons(BENCH_FRAME_LEN - BENCH_ETH_LEN) ||
	    udp->len != bpf_htons(BENCH_UDP_LEN))
		return BENCH_SINK_BAD_SHAPE;
	/* RFC 1071: the sum over a header with its checksum folds to all ones */
	if (fold(bpf_csum_diff(0, 0, (__be32 *)ip, BENCH_IP_LEN, 0)) != 0xffff)
		return BENCH_SINK_BAD_SUM;
	/* RFC 768: pseudo-header (addresses, protocol, UDP length) + UDP */
	if (udp->check == 0)
		return BENCH_SINK_BAD_SUM; /* the bench always sends a checksum */
	sum = bpf_csum_diff(0, 0, (__be32 *)udp, BENCH_UDP_LEN, 0);
	sum += (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16);
	sum += bpf_htons(IPPROTO_UDP) + bpf_htons(BENCH_UDP_LEN);
	return fold(sum) == 0xffff ? BENCH_SINK_GOOD : BENCH_SINK_BAD_SUM;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	count(BENCH_SINK_PACKETS, 1);
	count(BENCH_SINK_BYTES, data_end - data);
	if (verify)
		count(check(data, data_end), 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
