// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath's XDP fast path: forwards the RTP/RTCP of installed flows between
 * call legs, and passes everything else to the kernel stack, where the
 * daemon's sockets see it.
 *
 *   frame -> parse_ethhdr (one 802.1Q tag) -> parse_iphdr / parse_ip6hdr
 *         -> parse_udphdr (media port range) -> RFC 7983 demux (demux.h)
 *         -> [ChannelData: strip, demux the inner payload]
 *         -> flows lookup -> consent/class flags, deadline, next hop state
 *            (resolved in userspace and kept in the flow: no fib lookup,
 *            so no forwarding sysctl), TTL
 *         -> rewrite eth/IP/UDP (+ ChannelData wrap), fix checksums
 *         -> XDP_TX (same interface) / XDP_REDIRECT (devmap)
 *
 * Every packet leaves through run()'s single exit, which counts one
 * verdict (fp_stats.def) and takes the XDP action from the same table.
 * The frame is only modified once every check that can refuse it has
 * passed, so a packet passed to the stack is the packet that arrived.
 *
 * Two entry points share the code: icepath_xdp for native (driver) mode and
 * icepath_xdp_generic for generic (skb) mode. They differ in one rule: a
 * native frame can only leave through an egress that takes native XDP
 * frames (a veth whose peer runs XDP, a driver with ndo_xdp_xmit), or the
 * kernel drops it; a generic one leaves as an skb through any device.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "icepath/demux.h"
#include "icepath/fp_abi.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define IP_DF		 0x4000 /* RFC 791 flags */
#define IP_MF		 0x2000
#define IP_OFFSET	 0x1FFF
#define NEXTHDR_FRAGMENT 44 /* RFC 8200 §4.5 */

/* The TTL/hop limit is decremented, not reset: a forwarding loop between
 * two relays (or through a hairpinning NAT) then dies like any routing
 * loop. A packet that arrives with 1 or 0 goes to the stack. */

/* Payload bytes the program sums itself when the received UDP checksum is
 * partial; longer ones go up (pass-csum-long). A veth frame in native mode
 * fits in a page. */
#define FP_CSUM_MAX 3584

/* Largest UDP payload the program handles. A native XDP frame is at most a
 * page, so this is never the limit on the fast path; it gives the verifier
 * a bound for the packet offsets computed from lengths. */
#define FP_MAX_PAYLOAD 0x3fff

/* Knobs set by kernel/fastpath.c in the skeleton's rodata before load.
 * Host order, inclusive. The defaults (empty range) pass everything. */
const volatile __u16 port_min = 1;
const volatile __u16 port_max = 0;

/* clock_sample: icepath_clock() stores jiffies and CLOCK_MONOTONIC side by
 * side, so userspace can turn its deadlines into jiffies. */
__u64 clock_jiffies;
__u64 clock_ns;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* Preallocated: an insert never fails for want of memory at call
	 * time. BPF_F_NO_PREALLOC was tried and gave transient ENOMEM from
	 * the kernel's BPF allocator under a burst of installs. Only userspace
	 * inserts; the program never allocates. Sized at open from
	 * fastpath_opts.max_flows (bpf_map__set_max_entries). */
	__uint(max_entries, FP_MAX_FLOWS);
	__type(key, struct fp_flow_key);
	__type(value, struct fp_flow_val);
} flows SEC(".maps");

struct {
	/* The first lookup: the flow by the relay's address slot and port
	 * (fp_abi.h): 1 + its slot in flow_hot, 0: look in flows. Kept by
	 * userspace next to flows (kernel/fastpath_port.c). An array: the
	 * verifier inlines its lookup (no hash, no bucket walk). Sized at
	 * open: FP_PORT_ADDRS times the media port range. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	/* A copy of the key and hot value of each flow a ports entry leads
	 * to, by slot, as flow_ctr. Mmapable for where its values start: on
	 * a page, so that each 128-byte element is two whole cache lines. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FP_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct fp_flow_hot);
} flow_hot SEC(".maps");

struct {
	/* Flows installed on each ports entry's address and port, by the
	 * same index: userspace bookkeeping, never read by the program. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} port_nflows SEC(".maps");

struct {
	/* The relay addresses of the ports array's slots, one cache line. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_port_addrs);
} port_addrs SEC(".maps");

struct {
	/* Counters by fp_flow_val.slot, one copy per CPU (fp_abi.h says why):
	 * no atomic and no shared cache line on the per-packet path. Slots
	 * are handed out by userspace (kernel/fastpath_slot.c). */
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct fp_flow_ctr);
} flow_ctr SEC(".maps");

struct {
	/* Frames of each flow (by slot) that XDP sent and the kernel then
	 * dropped on the egress (its XDP transmit error counters), attributed
	 * by userspace (kernel/fastpath_dev.c) and subtracted from the flow's
	 * forwarded packets: the counters say what left, not what was tried.
	 * Never touched by the program. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FP_MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} flow_lost SEC(".maps");

struct {
	/* Userspace bookkeeping (struct fp_meta), pinned with the rest. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_meta);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Attached interfaces, keyed and valued by ifindex: the redirect targets. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct hdr_cursor {
	void *pos;
};

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/* What the parsers learn about the arriving packet; offsets from data,
 * because the packet pointers die at bpf_xdp_adjust_head(). */
struct pkt {
	__u32 data_off; /* first byte forwarded: the RTP/RTCP packet */
	__u32 data_len; /* its length */
	__u32 pad_len;	/* ChannelData padding after it (RFC 8656 §12.5), dropped */
	__u32 ip_len;	/* IP length as received (counters) */
	__u16 udp_len;	/* host order */
	__be16 udp_csum;
	__be16 ip_id;
	__u8 tos;	   /* IPv4 TOS / IPv6 traffic class: DSCP is kept */
	__u8 ttl;	   /* IPv4 TTL / IPv6 hop limit as received */
	__u8 pad_bytes[4]; /* the padding, word-aligned as in the checksum */
	struct fp_flow_key key;
	__be16 cd_hdr[2]; /* the ChannelData header received (channel, length) */
	int cls;	  /* enum demux_class of the forwarded data */
};

/* Returns the next protocol (network order) or -1 when truncated. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end)
{
	struct ethhdr *eth = nh->pos;
	struct vlan_hdr *vh;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		/* One tag; a second one (QinQ) is "not IP" for us. */
		vh = nh->pos;
		if ((void *)(vh + 1) > data_end)
			return -1;
		nh->pos = vh + 1;
		proto = vh->h_vlan_encapsulated_proto;
	}
	return proto;
}

/* IPv4 with any IHL (options are parsed over, never forwarded). Returns an
 * fp_stat to stop with, or -1 to go on to UDP; *l3_payload gets the IP
 * payload length. */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end, struct pkt *p,
				       __u32 *l3_payload)
{
	struct iphdr *iph = nh->pos;
	__u32 hdrsize, tot_len;

	if ((void *)(iph + 1) > data_end)
		return FP_STAT_PASS_MALFORMED;
	hdrsize = iph->ihl * 4;
	if (iph->version != 4 || hdrsize < sizeof(*iph))
		return FP_STAT_PASS_MALFORMED;
	if (nh->pos + hdrsize > data_end)
		return FP_STAT_PASS_MALFORMED;
	tot_len = bpf_ntohs(iph->tot_len);
	/* The frame may carry Ethernet padding past tot_len, never less. */
	if (tot_len < hdrsize || nh->pos + tot_len > data_end)
		return FP_STAT_PASS_MALFORMED;
	if (iph->protocol != IPPROTO_UDP)
		return FP_STAT_PASS_NOT_UDP;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return FP_STAT_PASS_FRAG;

	p->key.family = FP_FAMILY_V4;
	p->key.local_addr[0] = iph->daddr;
	p->key.remote_addr[0] = iph->saddr;
	p->tos = iph->tos;
	p->ttl = iph->ttl;
	p->ip_id = iph->id;
	p->ip_len = tot_len;
	*l3_payload = tot_len - hdrsize;
	nh->pos += hdrsize;
	return -1;
}

/* IPv6 fixed header only: an extension header goes to the stack. */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end, struct pkt *p,
					__u32 *l3_payload)
{
	struct ipv6hdr *ip6 = nh->pos;
	__u32 plen;

	if ((void *)(ip6 + 1) > data_end)
		return FP_STAT_PASS_MALFORMED;
	if (ip6->version != 6)
		return FP_STAT_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > data_end)
		return FP_STAT_PASS_MALFORMED;
	if (ip6->nexthdr == NEXTHDR_FRAGMENT)
		return FP_STAT_PASS_FRAG;
	if (ip6->nexthdr != IPPROTO_UDP) {
		switch (ip6->nexthdr) {
		case 0:	  /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 51:  /* AH */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			return FP_STAT_PASS_V6_EXT;
		}
		return FP_STAT_PASS_NOT_UDP;
	}

	p->key.family = FP_FAMILY_V6;
	__builtin_memcpy(p->key.local_addr, &ip6->daddr, 16);
	__builtin_memcpy(p->key.remote_addr, &ip6->saddr, 16);
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->ttl = ip6->hop_limit;
	p->ip_id = 0;
	p->ip_len = sizeof(*ip6) + plen;
	*l3_payload = plen;
	nh->pos = ip6 + 1;
	return -1;
}

/* The packet's key against a stored one, word by word (no memcmp helper;
 * 4-byte words: the key is 4-byte aligned on the stack). */
static __always_inline int key_eq(const struct fp_flow_key *a, const struct fp_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 d = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*a) / 4); i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* The flow of the packet: by the relay's own address and port first, whose
 * entry leads to the one flow there, checked against the whole key
 * (expected source, channel) and copied to *copy under the copy's sequence
 * count (fp_abi.h); an address and port shared by several flows, a source
 * that does not match, a copy being written or an address without a slot
 * is looked up by the whole key. */
static __always_inline struct fp_flow_val *flow_lookup(const struct fp_flow_key *k,
						       struct fp_flow_val *copy)
{
	__u32 a = k->local_addr[0] ^ k->local_addr[1] ^ k->local_addr[2] ^ k->local_addr[3];
	__u32 zero = 0, slot = FP_PORT_ADDRS, idx, seq, *ent;
	struct fp_port_addrs *pa = bpf_map_lookup_elem(&port_addrs, &zero);
	struct fp_flow_hot *h;
	int i;

	if (!pa)
		return bpf_map_lookup_elem(&flows, k);
#pragma unroll
	for (i = 0; i < FP_PORT_ADDRS; i++)
		if (pa->a[i].local_addr == a && pa->a[i].family == k->family)
			slot = i;
	idx = (__u32)bpf_ntohs(k->local_port) - pa->port_min;
	if (slot < FP_PORT_ADDRS && idx < pa->nports) {
		idx += slot * pa->nports;
		ent = bpf_map_lookup_elem(&ports, &idx);
		if (ent && *ent) {
			idx = *ent - 1;
			h = bpf_map_lookup_elem(&flow_hot, &idx);
			if (h) {
				seq = *(volatile __u32 *)&h->seq;
				barrier();
				if (!(seq & 1) && key_eq(&h->key, k)) {
					__builtin_memcpy(copy, h->val, FP_FLOW_HOT);
					/* the copy's loads before the second read of seq */
					barrier();
					if (*(volatile __u32 *)&h->seq == seq)
						return copy;
				}
			}
		}
	}
	return bpf_map_lookup_elem(&flows, k);
}

static __always_inline int demux_stat(int cls)
{
	switch (cls) {
	case DEMUX_STUN:
		return FP_STAT_PASS_STUN;
	case DEMUX_DTLS:
		return FP_STAT_PASS_DTLS;
	case DEMUX_ZRTP:
		return FP_STAT_PASS_ZRTP;
	}
	return FP_STAT_PASS_UNKNOWN;
}

/* UDP header and payload: media port range, lengths, RFC 7983 class,
 * ChannelData. Returns an fp_stat to stop with, or -1 to look the flow up. */
static __always_inline int parse_udp(struct hdr_cursor *nh, void *data, void *data_end,
				     struct pkt *p, __u32 l3_payload)
{
	struct udphdr *udph = nh->pos;
	__u8 *pl, *in;
	__u32 plen, cdlen;
	__u16 dport;
	__u8 b0 = 0, b1 = 0;

	if ((void *)(udph + 1) > data_end)
		return FP_STAT_PASS_MALFORMED;
	dport = bpf_ntohs(udph->dest);
	if (dport < port_min || dport > port_max)
		return FP_STAT_PASS_PORT;
	p->udp_len = bpf_ntohs(udph->len);
	/* A UDP length that disagrees with IP's is left to the stack, which
	 * knows how to trim or drop it (RFC 768, RFC 8200 §8.1). */
	if (p->udp_len < sizeof(*udph) || p->udp_len != l3_payload)
		return FP_STAT_PASS_MALFORMED;
	plen = p->udp_len - sizeof(*udph);
	if (plen > FP_MAX_PAYLOAD)
		return FP_STAT_PASS_MTU;
	p->udp_csum = udph->check;
	p->key.local_port = udph->dest;
	p->key.remote_port = udph->source;

	pl = (void *)(udph + 1);
	if (plen >= 1) {
		if ((void *)(pl + 1) > data_end)
			return FP_STAT_PASS_MALFORMED;
		b0 = pl[0];
	}
	if (plen >= 2) {
		if ((void *)(pl + 2) > data_end)
			return FP_STAT_PASS_MALFORMED;
		b1 = pl[1];
	}
	p->cls = demux_classify(b0, b1, plen);
	p->data_off = (void *)pl - data;
	p->data_len = plen;
	p->pad_len = 0;
	if (p->cls != DEMUX_CHANNEL_DATA)
		return p->cls == DEMUX_RTP || p->cls == DEMUX_RTCP ? -1 : demux_stat(p->cls);

	/* RFC 8656 §12.4: channel number (0x4000..0x4FFF, guaranteed by the
	 * first byte's class) and the length of the application data. */
	if ((void *)(pl + FP_CHANNEL_HDR_LEN) > data_end)
		return FP_STAT_PASS_MALFORMED;
	__builtin_memcpy(p->cd_hdr, pl, FP_CHANNEL_HDR_LEN);
	cdlen = bpf_ntohs(p->cd_hdr[1]);
	if (cdlen > plen - FP_CHANNEL_HDR_LEN)
		return FP_STAT_PASS_MALFORMED;
	/* §12.5: over UDP, padding to a multiple of 4 MAY follow: 0..3 bytes. */
	p->pad_len = plen - FP_CHANNEL_HDR_LEN - cdlen;
	if (p->pad_len > 3)
		return FP_STAT_PASS_MALFORMED;
	p->key.channel = p->cd_hdr[0];
	in = pl + FP_CHANNEL_HDR_LEN;
	b0 = b1 = 0;
	if (cdlen >= 1) {
		if ((void *)(in + 1) > data_end)
			return FP_STAT_PASS_MALFORMED;
		b0 = in[0];
	}
	if (cdlen >= 2) {
		if ((void *)(in + 2) > data_end)
			return FP_STAT_PASS_MALFORMED;
		b1 = in[1];
	}
	/* Connectivity and consent checks also arrive inside channels. */
	p->cls = demux_classify(b0, b1, cdlen);
	if (p->cls != DEMUX_RTP && p->cls != DEMUX_RTCP)
		return demux_stat(p->cls);
	p->data_off += FP_CHANNEL_HDR_LEN;
	p->data_len = cdlen;

	/* The padding is summed into the UDP checksum at its own byte
	 * positions (relative to the UDP header, whose start is even), so it
	 * can be taken out of the sum when it is dropped. */
	if (p->pad_len) {
		__u8 *pad = in + cdlen;
		__u8 q0 = 0, q1 = 0, q2 = 0;

		if (cdlen > FP_MAX_PAYLOAD)
			return FP_STAT_PASS_MTU;
		if ((void *)(pad + 1) > data_end)
			return FP_STAT_PASS_MALFORMED;
		q0 = pad[0];
		if (p->pad_len >= 2) {
			if ((void *)(pad + 2) > data_end)
				return FP_STAT_PASS_MALFORMED;
			q1 = pad[1];
		}
		if (p->pad_len >= 3) {
			if ((void *)(pad + 3) > data_end)
				return FP_STAT_PASS_MALFORMED;
			q2 = pad[2];
		}
		/* Padding starts at UDP offset 12 + cdlen: an odd start pairs
		 * its first byte with the last data byte, in the low half. */
		if (cdlen & 1) {
			p->pad_bytes[1] = q0;
			p->pad_bytes[2] = q1;
			p->pad_bytes[3] = q2;
		} else {
			p->pad_bytes[0] = q0;
			p->pad_bytes[1] = q1;
			p->pad_bytes[2] = q2;
		}
	}
	return -1;
}

/* The words whose change the UDP checksum follows (RFC 1624) beyond the
 * addresses and ports (whose part, fp_flow_val.csum_udp, userspace summed at
 * install): pseudo-header and UDP lengths, the ChannelData header, padding.
 * They change only where a ChannelData header comes or goes. Every 16-bit
 * field sits at an even offset, as in the real sum. */
struct csum_words {
	__be16 len_pseudo, len_udp;
	__be16 cd_hdr[2];
	__u8 pad[4];
};

/* Ones'-complement arithmetic on 16-bit words as they lie in memory
 * (RFC 1071: the sum does not depend on byte order), inline: no helper
 * call for a few dozen adds. */
static __always_inline __u16 fold16(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum & 0xffff;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	return ~fold16(sum) & 0xffff;
}

static __always_inline __u32 sum_words(const void *buf, int n, int invert)
{
	const __u16 *w = buf;
	__u32 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n / 2; i++)
		s += invert ? (~w[i] & 0xffff) : w[i];
	return s;
}

static __always_inline __u32 sum_addr(const __be32 a[4], int v6)
{
	return v6 ? sum_words(a, 16, 0) : sum_words(a, 4, 0);
}

/* Sum of len bytes at off in the frame, by bpf_csum_diff chunks of
 * constant size (the verifier bounds each one): how a partial checksum is
 * completed; -1 when it cannot be done here. A global function, so the
 * verifier checks it once rather than on every path of the caller (that
 * took a second per load). */
__noinline __s64 sum_frame(struct xdp_md *ctx, __u32 off, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *q, last[2] = {0, 0};
	__u64 sum = 0, *acc = &sum;
	__s64 r;
	int i;

	/* A global function's arguments are unknown to the verifier: masked
	 * in asm (the compiler may not drop what it cannot see through), they
	 * are bounded in the very registers the offsets are computed from. */
	__asm__ volatile("%[o] &= 0x7f" : [o] "+r"(off));
	__asm__ volatile("%[l] &= 0xfff" : [l] "+r"(len));
	if (len > FP_CSUM_MAX)
		return -1;
	/* A bounded loop (the verifier walks its 7 rounds). */
	for (i = 0; i < FP_CSUM_MAX / 512; i++) {
		if (len < 512)
			break;
		q = data + off;
		/* keep q one register, so its bounds check is what the
		 * verifier sees on the pointer the helper gets */
		__asm__ volatile("" : "+r"(q));
		if ((void *)(q + 512) > data_end)
			return -1;
		r = bpf_csum_diff(0, 0, (__be32 *)q, 512, 0);
		if (r < 0)
			return -1;
		*acc += (__u32)r;
		off += 512;
		len -= 512;
	}
#define SUM_CHUNK(n)                                                        \
	if (len & (n)) {                                                    \
		q = data + off;                                             \
		__asm__ volatile("" : "+r"(q));                             \
		if ((void *)(q + (n)) > data_end)                           \
			return -1;                                          \
		r = bpf_csum_diff(0, 0, (__be32 *)q, (n), 0);               \
		if (r < 0)                                                  \
			return -1;                                          \
		*acc += (__u32)r;                                           \
		off += (n);                                                 \
	}
	SUM_CHUNK(256)
	SUM_CHUNK(128)
	SUM_CHUNK(64)
	SUM_CHUNK(32)
	SUM_CHUNK(16)
	SUM_CHUNK(8)
	SUM_CHUNK(4)
#undef SUM_CHUNK
	q = data + off;
	__asm__ volatile("" : "+r"(q));
	if (len & 2) {
		if ((void *)(q + 2) > data_end)
			return -1;
		*acc += *(__u16 *)q;
		q += 2;
	}
	if (len & 1) {
		/* The odd last byte is the high-order (first) byte of a word
		 * padded with zero (RFC 768). */
		if ((void *)(q + 1) > data_end)
			return -1;
		last[0] = *q;
		*acc += *(__u16 *)last;
	}
	return fold16(sum);
}

struct out_hdrs {
	struct ethhdr eth;
	union {
		struct iphdr ip4;
		struct ipv6hdr ip6;
	};
	struct udphdr udp;
	__be16 cd_hdr[2];
};

/* Write the new headers at the front of the (resized) frame. Constant
 * sizes for each shape, so the verifier sees every store bounded. Stored
 * as the header types, not with memcpy through a byte pointer: clang then
 * emits 2- and 4-byte stores (the types' alignment; the verifier allows
 * unaligned packet stores where the CPU does them well, as on x86 and
 * arm64), where a __u8 * memcpy was one byte store and a shift per byte,
 * about 100 instructions per IPv4 packet. */
/* struct ethhdr is packed (alignment 1): copied through 16-bit pointers,
 * so clang knows both ends are 2-aligned and stores words, not bytes. */
static __always_inline void write_eth(void *d, const struct ethhdr *eth)
{
	__builtin_memcpy((__u16 *)d, (const __u16 *)eth, sizeof(*eth));
}

static __always_inline int write_hdrs(struct xdp_md *ctx, const struct out_hdrs *h, int v6, int cd)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *d = data;

	if (v6) {
		if ((void *)(d + sizeof(struct ethhdr) + sizeof(struct ipv6hdr) +
			     sizeof(struct udphdr)) > data_end)
			return -1;
		write_eth(d, &h->eth);
		d += sizeof(struct ethhdr);
		*(struct ipv6hdr *)d = h->ip6;
		d += sizeof(struct ipv6hdr);
	} else {
		if ((void *)(d + sizeof(struct ethhdr) + sizeof(struct iphdr) +
			     sizeof(struct udphdr)) > data_end)
			return -1;
		write_eth(d, &h->eth);
		d += sizeof(struct ethhdr);
		*(struct iphdr *)d = h->ip4;
		d += sizeof(struct iphdr);
	}
	*(struct udphdr *)d = h->udp;
	d += sizeof(struct udphdr);
	if (cd) {
		if ((void *)(d + FP_CHANNEL_HDR_LEN) > data_end)
			return -1;
		((__be16 *)d)[0] = h->cd_hdr[0];
		((__be16 *)d)[1] = h->cd_hdr[1];
	}
	return 0;
}

/* Store the UDP checksum of the written frame (partial input only). */
static __always_inline int write_udp_check(struct xdp_md *ctx, int v6, __be16 check)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *u;

	u = data + sizeof(struct ethhdr) + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	if ((void *)(u + 1) > data_end)
		return -1;
	u->check = check;
	return 0;
}

static __always_inline int nh_stat(__u8 nh)
{
	switch (nh) {
	case FP_NH_READY:
		return -1;
	case FP_NH_NO_NEIGH:
		return FP_STAT_PASS_NO_NEIGH;
	case FP_NH_NO_DEVMAP:
		return FP_STAT_PASS_NO_DEVMAP;
	}
	return FP_STAT_PASS_NO_ROUTE;
}

/* What the single exit needs to count the packet into its flow. */
struct verdict {
	__u32 slot;
	__u32 bytes;
	__u64 now;
	int flow; /* a flow was found: slot is valid */
	int rtcp; /* the forwarded data is RTCP (also on an rtcp-mux port) */
};

static __always_inline int fastpath(struct xdp_md *ctx, int generic, struct verdict *vd)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor nh = {.pos = data};
	struct pkt p = {};
	struct fp_flow_val *v, copy;
	struct csum_words old = {}, new = {};
	struct out_hdrs h = {};
	__u32 l3_payload = 0, cd_out, new_udp_len, new_hdr_len, new_frame_len, frame_len, egress;
	int proto, st, out_v6, in_v6, delta, partial = 0;
	__s64 chunk;
	__u64 sum;

	proto = parse_ethhdr(&nh, data_end);
	if (proto < 0)
		return FP_STAT_PASS_MALFORMED;
	if (proto == bpf_htons(ETH_P_IP))
		st = parse_iphdr(&nh, data_end, &p, &l3_payload);
	else if (proto == bpf_htons(ETH_P_IPV6))
		st = parse_ip6hdr(&nh, data_end, &p, &l3_payload);
	else
		return FP_STAT_PASS_NOT_IP;
	if (st >= 0)
		return st;
	st = parse_udp(&nh, data, data_end, &p, l3_payload);
	if (st >= 0)
		return st;

	/* Userspace replaces a flows value whole (a new element), never edits
	 * one in place, so what v points to is one version of the flow; a
	 * ports entry is copied under its sequence count. */
	v = flow_lookup(&p.key, &copy);
	/* one pointer, stack copy or map value: keep clang from offsetting
	 * it on either branch before the NULL check the verifier wants */
	barrier_var(v);
	if (!v)
		return FP_STAT_PASS_NO_FLOW;
	vd->flow = 1;
	vd->slot = v->slot;
	vd->bytes = p.ip_len;
	vd->rtcp = p.cls == DEMUX_RTCP;
	/* RFC 7675 §5.1: without consent the relay MUST stop sending; the
	 * packet is not for the local stack either, so it is dropped. */
	if (!(v->flags & FP_FLOW_FORWARD))
		return FP_STAT_DROP_CONSENT;
	if ((p.cls == DEMUX_RTP && !(v->flags & FP_FLOW_RTP)) ||
	    (p.cls == DEMUX_RTCP && !(v->flags & FP_FLOW_RTCP)))
		return FP_STAT_PASS_CLASS;
	/* jiffies: a load the JIT inlines, no clock read per packet. */
	vd->now = bpf_jiffies64();
	if (vd->now > v->deadline)
		return FP_STAT_PASS_EXPIRED;
	st = nh_stat(v->nh);
	if (st >= 0)
		return st;
	if (!generic && !(v->nh_flags & FP_NH_XMIT_OK))
		return FP_STAT_PASS_NO_XMIT;
	if (p.ttl <= 1)
		return FP_STAT_PASS_TTL;

	in_v6 = p.key.family == FP_FAMILY_V6;
	out_v6 = v->family == FP_FAMILY_V6;
	cd_out = v->channel ? FP_CHANNEL_HDR_LEN : 0;
	new_udp_len = sizeof(struct udphdr) + cd_out + p.data_len;
	new_hdr_len = sizeof(struct ethhdr) +
		      (out_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
		      sizeof(struct udphdr) + cd_out;
	if ((out_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) + new_udp_len > v->mtu)
		return FP_STAT_PASS_MTU;
	egress = v->ifindex;

	/* IPv4 may carry no UDP checksum (0, RFC 768): it stays 0 toward
	 * IPv4, but IPv6 requires one (RFC 8200 §8.1) and summing the payload
	 * is the userspace path's job. */
	if (p.udp_csum == 0 && in_v6)
		return FP_STAT_PASS_MALFORMED;
	if (p.udp_csum == 0 && out_v6)
		return FP_STAT_PASS_CSUM_ZERO;
	/* A same-host sender with TX checksum offload hands a veth a partial
	 * sum: the check field holds only the folded pseudo-header sum, and
	 * the payload was never summed. An incremental update of it is wrong
	 * on the wire, so such a packet's checksum is computed in full (the
	 * received one cannot vouch for the payload anyway). A complete sum
	 * that happens to equal it (1 in 65536) is recomputed too: same
	 * result for an intact payload. */
	if (p.udp_csum) {
		/* the key's pseudo-header words (csum_in) are the packet's:
		 * it matched the key */
		partial = p.udp_csum == fold16(v->csum_in + bpf_htons(p.udp_len));
		if (partial && p.data_len > FP_CSUM_MAX)
			return FP_STAT_PASS_CSUM_LONG;
	}

	/* UDP checksum, updated incrementally (RFC 1624) over the words that
	 * change, so a payload corrupted on the way in stays detectably
	 * corrupt on the way out: the relay never vouches for bytes it did not
	 * sum. */
	if (cd_out) {
		new.cd_hdr[0] = v->channel;
		new.cd_hdr[1] = bpf_htons(p.data_len);
	}

	h.udp.source = v->src_port;
	h.udp.dest = v->dst_port;
	h.udp.len = bpf_htons(new_udp_len);
	if (p.udp_csum && !partial) {
		sum = (~p.udp_csum & 0xffff) + v->csum_udp;
		/* Plain UDP in and out: the lengths are the same and nothing
		 * else changes. */
		if (p.key.channel || cd_out) {
			old.len_pseudo = old.len_udp = bpf_htons(p.udp_len);
			if (p.key.channel)
				__builtin_memcpy(old.cd_hdr, p.cd_hdr, FP_CHANNEL_HDR_LEN);
			__builtin_memcpy(old.pad, p.pad_bytes, 4);
			new.len_pseudo = new.len_udp = bpf_htons(new_udp_len);
			sum += sum_words(&old, sizeof(old), 1) + sum_words(&new, sizeof(new), 0);
		}
		h.udp.check = csum_fold(sum);
		/* RFC 768: a computed 0 is sent as all ones. */
		if (h.udp.check == 0)
			h.udp.check = 0xffff;
	}
	h.cd_hdr[0] = new.cd_hdr[0];
	h.cd_hdr[1] = new.cd_hdr[1];

	__builtin_memcpy(h.eth.h_dest, v->dmac, ETH_ALEN);
	__builtin_memcpy(h.eth.h_source, v->smac, ETH_ALEN);
	if (out_v6) {
		h.eth.h_proto = bpf_htons(ETH_P_IPV6);
		h.ip6.version = 6;
		h.ip6.priority = p.tos >> 4;
		h.ip6.flow_lbl[0] = (p.tos & 0xf) << 4;
		h.ip6.payload_len = bpf_htons(new_udp_len);
		h.ip6.nexthdr = IPPROTO_UDP;
		h.ip6.hop_limit = p.ttl - 1;
		__builtin_memcpy(&h.ip6.saddr, v->src_addr, 16);
		__builtin_memcpy(&h.ip6.daddr, v->dst_addr, 16);
	} else {
		h.eth.h_proto = bpf_htons(ETH_P_IP);
		h.ip4.version = 4;
		h.ip4.ihl = 5;
		h.ip4.tos = p.tos;
		h.ip4.tot_len = bpf_htons(sizeof(struct iphdr) + new_udp_len);
		h.ip4.id = p.ip_id;
		/* Never fragmented on the way: the MTU was checked above. */
		h.ip4.frag_off = bpf_htons(IP_DF);
		h.ip4.ttl = p.ttl - 1;
		h.ip4.protocol = IPPROTO_UDP;
		h.ip4.saddr = v->src_addr[0];
		h.ip4.daddr = v->dst_addr[0];
		/* Summed afresh rather than incrementally: every field but the
		 * TOS and ID is new (addresses, TTL, length, options gone).
		 * The flow's constant words (DF, addresses) were summed at
		 * install; the words 0-2 (version, TOS, length, ID) and 4 (TTL,
		 * protocol) are this packet's. */
		{
			const __u16 *w = (const __u16 *)&h.ip4;

			h.ip4.check = csum_fold(v->csum_ip4 + w[0] + w[1] + w[2] + w[4]);
		}
	}

	/* Resize: headers in front, Ethernet/ChannelData padding at the end;
	 * the common shape (IPv4 in and out, no options) needs neither. */
	delta = (int)p.data_off - (int)new_hdr_len;
	new_frame_len = new_hdr_len + p.data_len;
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return FP_STAT_PASS_HEADROOM;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	frame_len = data_end - data;
	if (frame_len > new_frame_len &&
	    bpf_xdp_adjust_tail(ctx, -(int)(frame_len - new_frame_len)))
		return FP_STAT_ABORTED;
	if (write_hdrs(ctx, &h, out_v6, cd_out))
		return FP_STAT_ABORTED;
	if (partial) {
		/* Pseudo-header, UDP header (check 0), ChannelData header, then
		 * the payload as it lies in the frame. */
		sum = sum_addr(v->src_addr, out_v6) + sum_addr(v->dst_addr, out_v6) +
		      bpf_htons(IPPROTO_UDP) + bpf_htons(new_udp_len) + h.udp.source +
		      h.udp.dest + h.udp.len + (cd_out ? h.cd_hdr[0] + h.cd_hdr[1] : 0);
		/* new_hdr_len <= 14 + 40 + 8 + 4, inside sum_frame's 0x7f */
		chunk = sum_frame(ctx, new_hdr_len, p.data_len);
		if (chunk < 0)
			return FP_STAT_ABORTED;
		sum += chunk;
		h.udp.check = csum_fold(sum);
		if (h.udp.check == 0)
			h.udp.check = 0xffff;
		if (write_udp_check(ctx, out_v6, h.udp.check))
			return FP_STAT_ABORTED;
	}

	if (egress == ctx->ingress_ifindex)
		return FP_STAT_TX;
	/* Userspace resolves a flow to READY only toward an attached egress. */
	if (bpf_redirect_map(&tx_ports, egress, 0) != XDP_REDIRECT)
		return FP_STAT_ABORTED;
	return FP_STAT_REDIRECT;
}

static __always_inline int stat_action(__u32 st)
{
	switch (st) {
#define FP_STAT(name, str, action, why) \
	case FP_STAT_##name:            \
		return action;
#include "icepath/fp_stats.def"
	}
	return XDP_ABORTED;
}

static __always_inline int run(struct xdp_md *ctx, int generic)
{
	struct verdict vd = {};
	struct fp_flow_ctr *ctr;
	__u32 st = fastpath(ctx, generic, &vd);
	__u64 *n;

	/* The one exit: every packet is counted under its verdict, and a
	 * packet of a flow also in the flow's counters. This CPU's copies:
	 * plain adds, nothing shared between CPUs. */
	n = bpf_map_lookup_elem(&stats, &st);
	if (n)
		*n += 1;
	if (vd.flow) {
		ctr = bpf_map_lookup_elem(&flow_ctr, &vd.slot);
		if (ctr) {
			if (st == FP_STAT_TX || st == FP_STAT_REDIRECT) {
				ctr->packets++;
				ctr->bytes += vd.bytes;
				/* of which RTCP: the RTP flow of an rtcp-mux
				 * stream carries both (RFC 5761 §4) */
				if (vd.rtcp) {
					ctr->rtcp_packets++;
					ctr->rtcp_bytes += vd.bytes;
				}
			} else {
				ctr->not_fwd++;
			}
			/* Every packet of the flow is stamped, so the CPU with
			 * the latest stamp tells the path the flow takes now. */
			ctr->last_seen = vd.now ? vd.now : bpf_jiffies64();
			/* What the flow really ran in: icepath-fpctl and the
			 * daemon's query show it. */
			if (ctr->last_stat != st || ctr->generic != generic) {
				ctr->last_stat = st;
				ctr->generic = generic;
			}
		}
	}
	return stat_action(st);
}

SEC("xdp")
int icepath_xdp(struct xdp_md *ctx)
{
	return run(ctx, 0);
}

SEC("xdp")
int icepath_xdp_generic(struct xdp_md *ctx)
{
	return run(ctx, 1);
}

/* Test-run once by userspace (never attached): a sample of both clocks. */
SEC("xdp")
int icepath_clock(struct xdp_md *ctx)
{
	clock_jiffies = bpf_jiffies64();
	clock_ns = bpf_ktime_get_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
