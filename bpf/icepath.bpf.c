// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath's XDP fast path: forwards the RTP/RTCP of installed flows between
 * call legs, and passes everything else to the kernel stack, where the
 * daemon's sockets see it.
 *
 *   frame -> parse_ethhdr (one 802.1Q tag) -> parse_iphdr / parse_ip6hdr
 *         -> parse_udphdr (media port range) -> RFC 7983 demux (demux.h)
 *         -> [ChannelData: strip, demux the inner payload]
 *         -> flows lookup -> consent/class flags -> bpf_fib_lookup
 *         -> rewrite eth/IP/UDP (+ ChannelData wrap), fix checksums
 *         -> XDP_TX (same interface) / XDP_REDIRECT (devmap)
 *
 * Every packet leaves through icepath_xdp()'s single exit, which counts one
 * verdict (fp_stats.def) and takes the XDP action from the same table.
 * The frame is only modified once every check that can refuse it has
 * passed, so a packet passed to the stack is the packet that arrived.
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

/* The relay is the sender of what it forwards (RFC 8656 §12.6 does the
 * same for TURN relays), so it sets a fresh TTL/hop limit like any host. */
#define FP_TTL 64

/* Largest UDP payload the program handles. A native XDP frame is at most a
 * page, so this is never the limit on the fast path; it gives the verifier
 * a bound for the packet offsets computed from lengths. */
#define FP_MAX_PAYLOAD 0x3fff

/* Knobs set by kernel/fastpath.c in the skeleton's rodata before load.
 * Host order, inclusive. The defaults (empty range) pass everything. */
const volatile __u16 port_min = 1;
const volatile __u16 port_max = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* Preallocated (144 bytes per element plus 16 per bucket: ~160 MB at
	 * 1M entries): an insert never fails for want of memory at call time.
	 * BPF_F_NO_PREALLOC was tried and gave transient ENOMEM from the
	 * kernel's BPF allocator under a burst of installs. Only userspace
	 * inserts; the program never allocates. */
	__uint(max_entries, FP_MAX_FLOWS);
	__type(key, struct fp_flow_key);
	__type(value, struct fp_flow_val);
} flows SEC(".maps");

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
	p->ip_id = 0;
	p->ip_len = sizeof(*ip6) + plen;
	*l3_payload = plen;
	nh->pos = ip6 + 1;
	return -1;
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

/* The words whose change the UDP checksum follows (RFC 1624): pseudo-header
 * addresses and length, the UDP header, the ChannelData header, padding.
 * Every 16-bit field sits at an even offset, as in the real sum. */
struct csum_words {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport, dport;
	__be16 len_pseudo, len_udp;
	__be16 cd_hdr[2];
	__u8 pad[4];
};

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
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
 * sizes for each shape, so the verifier sees every store bounded. */
static __always_inline int write_hdrs(struct xdp_md *ctx, const struct out_hdrs *h, int v6, int cd)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *d = data;

	if (v6) {
		if ((void *)(d + sizeof(struct ethhdr) + sizeof(struct ipv6hdr) +
			     sizeof(struct udphdr)) > data_end)
			return -1;
		__builtin_memcpy(d, &h->eth, sizeof(h->eth));
		d += sizeof(struct ethhdr);
		__builtin_memcpy(d, &h->ip6, sizeof(h->ip6));
		d += sizeof(struct ipv6hdr);
	} else {
		if ((void *)(d + sizeof(struct ethhdr) + sizeof(struct iphdr) +
			     sizeof(struct udphdr)) > data_end)
			return -1;
		__builtin_memcpy(d, &h->eth, sizeof(h->eth));
		d += sizeof(struct ethhdr);
		__builtin_memcpy(d, &h->ip4, sizeof(h->ip4));
		d += sizeof(struct iphdr);
	}
	__builtin_memcpy(d, &h->udp, sizeof(h->udp));
	d += sizeof(struct udphdr);
	if (cd) {
		if ((void *)(d + FP_CHANNEL_HDR_LEN) > data_end)
			return -1;
		__builtin_memcpy(d, h->cd_hdr, FP_CHANNEL_HDR_LEN);
	}
	return 0;
}

static __always_inline int fib_stat(int rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		return -1;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return FP_STAT_PASS_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return FP_STAT_PASS_FWD_OFF;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return FP_STAT_PASS_MTU;
	}
	return FP_STAT_PASS_NO_ROUTE;
}

static __always_inline int fastpath(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor nh = {.pos = data};
	struct pkt p = {};
	struct fp_flow_val v;
	struct fp_flow_val *vp;
	struct fp_flow_ctr *ctr;
	struct bpf_fib_lookup fib = {};
	struct csum_words old = {}, new = {};
	struct out_hdrs h = {};
	__u32 l3_payload = 0, cd_out, new_udp_len, new_hdr_len, new_frame_len, frame_len;
	__u32 egress;
	int proto, st, out_v6, rc, delta;
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

	vp = bpf_map_lookup_elem(&flows, &p.key);
	if (!vp)
		return FP_STAT_PASS_NO_FLOW;
	/* Userspace replaces values whole (a new element, RCU-freed), so this
	 * copy is one consistent version of the flow. */
	v = *vp;
	/* RFC 7675 §5.1: without consent the relay MUST stop sending; the
	 * packet is not for the local stack either, so it is dropped. */
	if (!(v.flags & FP_FLOW_FORWARD))
		return FP_STAT_DROP_CONSENT;
	if ((p.cls == DEMUX_RTP && !(v.flags & FP_FLOW_RTP)) ||
	    (p.cls == DEMUX_RTCP && !(v.flags & FP_FLOW_RTCP)))
		return FP_STAT_PASS_CLASS;

	out_v6 = v.family == FP_FAMILY_V6;
	cd_out = v.channel ? FP_CHANNEL_HDR_LEN : 0;
	new_udp_len = sizeof(struct udphdr) + cd_out + p.data_len;
	new_hdr_len = sizeof(struct ethhdr) +
		      (out_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
		      sizeof(struct udphdr) + cd_out;

	/* Where does the rewritten packet go? Asked before any byte changes. */
	fib.family = out_v6 ? AF_INET6 : AF_INET;
	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = v.src_port;
	fib.dport = v.dst_port;
	fib.ifindex = ctx->ingress_ifindex;
	if (out_v6) {
		fib.tot_len = sizeof(struct ipv6hdr) + new_udp_len;
		__builtin_memcpy(fib.ipv6_src, v.src_addr, 16);
		__builtin_memcpy(fib.ipv6_dst, v.dst_addr, 16);
	} else {
		fib.tot_len = sizeof(struct iphdr) + new_udp_len;
		fib.tos = p.tos;
		fib.ipv4_src = v.src_addr[0];
		fib.ipv4_dst = v.dst_addr[0];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	st = fib_stat(rc);
	if (st >= 0)
		return st;
	egress = fib.ifindex;
	if (egress != ctx->ingress_ifindex && !bpf_map_lookup_elem(&tx_ports, &egress))
		return FP_STAT_PASS_NO_DEVMAP;

	/* UDP checksum, updated incrementally (RFC 1624) over the words that
	 * change, so a payload corrupted on the way in stays detectably
	 * corrupt on the way out: the relay never vouches for bytes it did not
	 * sum. IPv4 may carry no checksum (0, RFC 768): it stays 0 toward
	 * IPv4, but IPv6 requires one (RFC 8200 §8.1) and summing the payload
	 * is the userspace path's job. */
	if (p.udp_csum == 0 && p.key.family == FP_FAMILY_V6)
		return FP_STAT_PASS_MALFORMED;
	if (p.udp_csum == 0 && out_v6)
		return FP_STAT_PASS_CSUM_ZERO;
	__builtin_memcpy(old.saddr, p.key.remote_addr, 16);
	__builtin_memcpy(old.daddr, p.key.local_addr, 16);
	old.sport = p.key.remote_port;
	old.dport = p.key.local_port;
	old.len_pseudo = old.len_udp = bpf_htons(p.udp_len);
	if (p.key.channel)
		__builtin_memcpy(old.cd_hdr, p.cd_hdr, FP_CHANNEL_HDR_LEN);
	__builtin_memcpy(old.pad, p.pad_bytes, 4);
	__builtin_memcpy(new.saddr, v.src_addr, 16);
	__builtin_memcpy(new.daddr, v.dst_addr, 16);
	new.sport = v.src_port;
	new.dport = v.dst_port;
	new.len_pseudo = new.len_udp = bpf_htons(new_udp_len);
	if (cd_out) {
		new.cd_hdr[0] = v.channel;
		new.cd_hdr[1] = bpf_htons(p.data_len);
	}

	h.udp.source = v.src_port;
	h.udp.dest = v.dst_port;
	h.udp.len = bpf_htons(new_udp_len);
	if (p.udp_csum) {
		sum = bpf_csum_diff((__be32 *)&old, sizeof(old), (__be32 *)&new, sizeof(new),
				    ~p.udp_csum & 0xffff);
		h.udp.check = csum_fold(sum);
		/* RFC 768: a computed 0 is sent as all ones. */
		if (h.udp.check == 0)
			h.udp.check = 0xffff;
	}
	h.cd_hdr[0] = new.cd_hdr[0];
	h.cd_hdr[1] = new.cd_hdr[1];

	__builtin_memcpy(h.eth.h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(h.eth.h_source, fib.smac, ETH_ALEN);
	if (out_v6) {
		h.eth.h_proto = bpf_htons(ETH_P_IPV6);
		h.ip6.version = 6;
		h.ip6.priority = p.tos >> 4;
		h.ip6.flow_lbl[0] = (p.tos & 0xf) << 4;
		h.ip6.payload_len = bpf_htons(new_udp_len);
		h.ip6.nexthdr = IPPROTO_UDP;
		h.ip6.hop_limit = FP_TTL;
		__builtin_memcpy(&h.ip6.saddr, v.src_addr, 16);
		__builtin_memcpy(&h.ip6.daddr, v.dst_addr, 16);
	} else {
		h.eth.h_proto = bpf_htons(ETH_P_IP);
		h.ip4.version = 4;
		h.ip4.ihl = 5;
		h.ip4.tos = p.tos;
		h.ip4.tot_len = bpf_htons(sizeof(struct iphdr) + new_udp_len);
		h.ip4.id = p.ip_id;
		/* Never fragmented on the way: fib checked the MTU above. */
		h.ip4.frag_off = bpf_htons(IP_DF);
		h.ip4.ttl = FP_TTL;
		h.ip4.protocol = IPPROTO_UDP;
		h.ip4.saddr = v.src_addr[0];
		h.ip4.daddr = v.dst_addr[0];
		/* Summed afresh rather than incrementally: every field but the
		 * TOS and ID is new (addresses, TTL, length, options gone). */
		h.ip4.check = csum_fold(bpf_csum_diff(0, 0, (__be32 *)&h.ip4, sizeof(h.ip4), 0));
	}

	/* Counted before the frame changes, so the key is still the one that
	 * arrived; only forwarded packets are counted per flow. */
	ctr = bpf_map_lookup_elem(&flow_ctr, &v.slot);
	if (ctr) {
		/* This CPU's copy: plain adds, nothing shared. Userspace sums
		 * packets/bytes over CPUs and takes the latest last_seen. */
		ctr->packets++;
		ctr->bytes += p.ip_len;
		ctr->last_seen_ns = bpf_ktime_get_ns();
	}

	/* Resize: headers in front, Ethernet/ChannelData padding at the end. */
	delta = (int)p.data_off - (int)new_hdr_len;
	new_frame_len = new_hdr_len + p.data_len;
	if (bpf_xdp_adjust_head(ctx, delta))
		return FP_STAT_PASS_HEADROOM;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	frame_len = data_end - data;
	if (frame_len > new_frame_len &&
	    bpf_xdp_adjust_tail(ctx, -(int)(frame_len - new_frame_len)))
		return FP_STAT_ABORTED;
	if (write_hdrs(ctx, &h, out_v6, cd_out))
		return FP_STAT_ABORTED;

	if (egress == ctx->ingress_ifindex)
		return FP_STAT_TX;
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

SEC("xdp")
int icepath_xdp(struct xdp_md *ctx)
{
	__u32 st = fastpath(ctx);
	__u64 *n;

	/* The one exit: every packet is counted under its verdict. */
	n = bpf_map_lookup_elem(&stats, &st);
	if (n)
		*n += 1;
	return stat_action(st);
}

char LICENSE[] SEC("license") = "GPL";
