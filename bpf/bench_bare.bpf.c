// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench's local limit: the least an XDP media relay must do per
 * packet, in the same topology as icepath's program. Parse Ethernet, IPv4
 * (no options), UDP; look the flow up in a hash by its 4-tuple; rewrite
 * MACs, addresses and ports from the flow (MACs resolved by the loader, no
 * fib lookup), set the TTL, update both checksums incrementally (RFC 1624),
 * redirect through a devmap. Anything else is passed. No counters: the
 * sink counts. icepath's program is compared with this one in one run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "icepath/bench_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* the loader sizes it to the flows it installs */
	__type(key, struct bench_bare_key);
	__type(value, struct bench_bare_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over 16-bit words */
static __always_inline __u16 csum_replace(__u16 check, __u32 old_sum, __u32 new_sum)
{
	__u32 s = (__u16)~check;

	s += old_sum + new_sum;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* the one's-complement words of a 32-bit value, negated (~m) or not */
#define W32(x)	   (((x) & 0xffff) + ((x) >> 16))
#define NW32(x)	   ((__u16) ~((x) & 0xffff) + (__u16) ~((x) >> 16))

SEC("xdp")
int bench_bare(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct bench_bare_key k;
	struct bench_bare_val *v;
	__u32 old_a, new_a, old_p, new_p;
	__u16 old_ttl, new_ttl;

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	k.saddr = ip->saddr;
	k.daddr = ip->daddr;
	k.sport = udp->source;
	k.dport = udp->dest;
	v = bpf_map_lookup_elem(&flows, &k);
	if (!v)
		return XDP_PASS;

	/* the words that change: addresses (IP and UDP sums), TTL (IP sum),
	 * ports (UDP sum) */
	old_a = NW32(ip->saddr) + NW32(ip->daddr);
	new_a = W32(v->saddr) + W32(v->daddr);
	old_p = (__u16)~udp->source + (__u16)~udp->dest;
	new_p = (__u32)v->sport + v->dport;
	old_ttl = *(__u16 *)&ip->ttl; /* TTL and protocol share a word */
	new_ttl = bpf_htons(BENCH_TTL << 8 | IPPROTO_UDP);

	ip->check = csum_replace(ip->check, old_a + (__u16)~old_ttl, new_a + new_ttl);
	/* RFC 768: 0 means "no checksum" and stays so */
	if (udp->check) {
		__u16 c = csum_replace(udp->check, old_a + old_p, new_a + new_p);

		udp->check = c ? c : 0xffff;
	}
	ip->saddr = v->saddr;
	ip->daddr = v->daddr;
	ip->ttl = BENCH_TTL;
	udp->source = v->sport;
	udp->dest = v->dport;
	__builtin_memcpy(eth->h_source, v->smac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, v->dmac, ETH_ALEN);
	return bpf_redirect_map(&tx_ports, v->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
