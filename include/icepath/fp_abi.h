/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fp_abi: the layouts of the XDP fast path's maps, shared byte-for-byte by
 * bpf/icepath.bpf.c and kernel/fastpath.c. Only fixed-width types, explicit
 * padding (always zero: keys are hashed as raw bytes), a size assertion on
 * every struct. Map definitions live only on the BPF side.
 *
 * Byte order: addresses, ports and TURN channel numbers are in network
 * order (they are compared with and copied to packet bytes as they are);
 * flags, ids and counters are in host order.
 *
 * These layouts are also the ABI of the pinned maps: a change needs the
 * pins removed (icepath-fpctl destroy), which libbpf's pin reuse enforces
 * by refusing maps whose type or key/value sizes differ, and fp_meta.abi
 * for changes of meaning at the same sizes.
 */
#ifndef ICEPATH_FP_ABI_H
#define ICEPATH_FP_ABI_H

#include <linux/types.h>

/* Address family tags in keys/values (not AF_*: those differ per OS). */
#define FP_FAMILY_V4 4
#define FP_FAMILY_V6 6

/* RFC 8656 §12: TURN channel numbers 0x4000 through 0x4FFF. */
#define FP_CHANNEL_MIN 0x4000
#define FP_CHANNEL_MAX 0x4FFF
/* RFC 8656 §12.4: ChannelData header, channel number + length. */
#define FP_CHANNEL_HDR_LEN 4

/* fp_flow_val.flags (fastpath.h's FASTPATH_FLOW_* are these) */
#define FP_FLOW_FORWARD (1u << 0) /* consent held: forward; clear: XDP_DROP */
#define FP_FLOW_RTP	(1u << 1)
#define FP_FLOW_RTCP	(1u << 2)

/* An IPv4 address sits in addr[0]; addr[1..3] are zero. */
struct fp_flow_key {
	__u8 family;	       /* FP_FAMILY_V4/V6 of the arriving packet */
	__u8 pad0;	       /* zero */
	__be16 channel;	       /* TURN channel it arrived on (network order), 0: plain UDP */
	__be16 local_port;     /* the packet's UDP destination port (network order) */
	__be16 remote_port;    /* the packet's UDP source port (network order) */
	__be32 local_addr[4];  /* destination address of the packet */
	__be32 remote_addr[4]; /* source address (the TURN server's when channel != 0) */
};
_Static_assert(sizeof(struct fp_flow_key) == 40, "fp_flow_key is ABI");

/* fp_flow_val.nh: what the next hop resolution in userspace
 * (kernel/fastpath_nh.c) found; the program forwards only READY flows and
 * passes the others to the stack untouched, counted under the named stat.
 * 0 is "not resolved yet", so a value written without a next hop never
 * forwards. */
#define FP_NH_UNRESOLVED 0 /* pass-no-route */
#define FP_NH_READY	 1 /* egress, MACs and MTU below are valid */
#define FP_NH_NO_ROUTE	 2 /* no unicast route, or not via Ethernet: pass-no-route */
#define FP_NH_NO_NEIGH	 3 /* next hop has no usable neighbour entry: pass-no-neigh */
#define FP_NH_NO_DEVMAP	 4 /* egress interface not attached: pass-no-devmap */

/* fp_flow_val.nh_flags */
#define FP_NH_XMIT_OK (1u << 0) /* egress takes native XDP frames (ndo_xdp_xmit; on a veth:
				 * its peer runs XDP), without it only the generic-mode
				 * program forwards the flow (pass-no-xmit) */

/* A deadline that never passes (icepath-fpctl --lifetime forever). */
#define FP_DEADLINE_NEVER (~0ull)

/* The fields the program reads come first (FP_FLOW_HOT bytes): flow_hot
 * keeps only those (fp_flow_hot), so that an element of it is two whole
 * cache lines. What only userspace reads (id, nh_addr) follows. */
struct fp_flow_val {
	__u8 family;	    /* FP_FAMILY_V4/V6 of the forwarded packet */
	__u8 nh;	    /* FP_NH_* */
	__be16 channel;	    /* wrap in ChannelData on this channel (network order), 0: plain */
	__be16 src_port;    /* new UDP source port: the relay's port on the out leg */
	__be16 dst_port;    /* new UDP destination port */
	__be32 src_addr[4]; /* new source: the relay's address on the out leg */
	__be32 dst_addr[4]; /* new destination: the out leg's remote (or TURN server) */
	__u32 slot;	    /* index of this flow's counters in flow_ctr (host order) */
	__u8 flags;	    /* FP_FLOW_* */
	__u8 nh_flags;	    /* FP_NH_XMIT_OK */
	__u16 mtu;	    /* egress MTU (host order): longer rewritten packets go up */
	/* bpf_jiffies64() past which the program stops forwarding the flow
	 * and passes it up (pass-expired): userspace extends it while consent
	 * holds, so the flows of a daemon that died stop on their own. */
	__u64 deadline;
	/* The next hop, resolved in userspace at install and again on
	 * neighbour/route/link changes: the program needs no fib lookup (no
	 * forwarding sysctl, no 150-200 ns per packet). */
	__u32 ifindex;	    /* egress interface (host order) */
	__u8 smac[6];	    /* egress interface's address */
	__u8 dmac[6];	    /* next hop's address */
	/* The parts of the checksums that depend only on the flow, summed
	 * once by userspace at install (kernel/fastpath_flow.c) instead of on
	 * every packet: 16-bit words as they lie in memory (RFC 1071, the sum
	 * does not depend on byte order), unfolded, host order. */
	__u32 csum_in;	    /* pseudo-header of an arriving packet without its length:
			     * the key's two addresses + protocol (tells a partial sum) */
	__u32 csum_udp;	    /* RFC 1624 update of the UDP sum for addresses and ports:
			     * the key's words complemented + the new ones */
	__u32 csum_ip4;	    /* the new IPv4 header's constant words: frag_off (DF) and
			     * both addresses (the program adds TOS, length, ID, TTL) */
	/* ---- FP_FLOW_HOT: never read by the program from here on ---- */
	__u32 pad1;	    /* zero */
	__u64 id;	    /* the daemon's tag (host order) */
	__be32 nh_addr[4];  /* next hop IP (gateway or dst_addr): matched against
			     * neighbour changes by userspace */
};
_Static_assert(sizeof(struct fp_flow_val) == 112, "fp_flow_val is ABI");
#define FP_FLOW_HOT 84 /* bytes of fp_flow_val the program reads */
_Static_assert(__builtin_offsetof(struct fp_flow_val, pad1) == FP_FLOW_HOT, "hot prefix");

/* The relay's own address and port identify a stream (the relay hands each
 * leg its own port), so the program finds the flow without hashing: the
 * ports map is an array indexed by
 *   addr_slot * (port_max - port_min + 1) + (port - port_min)
 * where addr_slot is the address's place in port_addrs (at most
 * FP_PORT_ADDRS relay addresses, assigned by userspace as flows arrive;
 * flows on further addresses are looked up in flows by the whole key). Its
 * value is 1 + the slot of the one flow on that address and port, whose
 * key and hot value flow_hot holds at that slot (struct fp_flow_hot); 0: no
 * flow, or several (look in flows).
 *
 * An index, not the copy itself (ABI 7 kept 136-byte copies in the ports
 * array): the relay draws its ports at random over the whole range, so
 * copies kept by port lay scattered over FP_PORT_ADDRS x range x entry
 * (9.5 MB for 10,000 ports), a page or more per flow; the index is 4 bytes
 * a port (280 KB for 10,000 ports, and a cache line covers 16 of them)
 * and the copies sit together by slot, as the counters do. */
#define FP_PORT_ADDRS 7

/* One relay address of port_addrs; family 0: a free slot. */
struct fp_port_key {
	__be32 local_addr; /* IPv4: the address; IPv6: its four words XORed */
	__be16 local_port; /* zero in port_addrs */
	__u8 family;	   /* FP_FAMILY_V4/V6 */
	__u8 pad;	   /* zero */
};
_Static_assert(sizeof(struct fp_port_key) == 8, "fp_port_key is ABI");

/* The one value of the port_addrs array: one cache line, scanned whole,
 * with the ports array's geometry, set by the process that made the maps
 * (its media port range) and kept by every later one, so that all of them
 * and the program index alike. */
struct fp_port_addrs {
	struct fp_port_key a[FP_PORT_ADDRS];
	__u32 port_min; /* host order; 0: no geometry yet, the array unused */
	__u32 nports;	/* ports per address slot */
};
_Static_assert(sizeof(struct fp_port_addrs) == 64, "fp_port_addrs is ABI");

/* Value of the flow_hot array, by slot: a copy of the flow a ports entry
 * leads to, kept by userspace next to the flows map
 * (kernel/fastpath_port.c). The program checks the whole key (the expected
 * remote, channel, address) before it uses val: a zero key (no flow, or a
 * slot between two flows) matches no packet, and the program then looks
 * in flows.
 *
 * An array element is overwritten in place (a map update is a memcpy that
 * a reader on another CPU may see half done), so writers follow a
 * sequence count: seq odd while the entry changes. Userspace writes it in
 * three updates, (old entry, seq+1), (new entry, seq+1), (new entry,
 * seq+2); the program reads seq, copies key and val, reads seq again and
 * uses the copy only when both reads are equal and even, else it looks in
 * flows (which is always right). The program's reads are ordered by the
 * compiler (volatile seq, barrier()) and by x86's load ordering; on a
 * weakly ordered CPU (arm64) a read barrier would be needed, which BPF
 * does not offer without an atomic on the shared line.
 *
 * 128 bytes in a BPF_F_MMAPABLE array, whose values start on a page: each
 * element is two whole cache lines, a pair the adjacent-line prefetcher
 * fetches together (136 bytes at offset 312 of a plain array straddled
 * three). */
struct fp_flow_hot {
	struct fp_flow_key key;	 /* the flow's key; family 0: none, look in flows */
	__u8 val[FP_FLOW_HOT];	 /* the first FP_FLOW_HOT bytes of its fp_flow_val */
	__u32 seq;		 /* even: stable; odd: being written */
};
_Static_assert(sizeof(struct fp_flow_hot) == 128, "fp_flow_hot is ABI");

/* Value of the per-CPU flow_ctr array, indexed by fp_flow_val.slot. Per
 * CPU so that the per-packet path has no atomic and no cache line shared
 * between CPUs (generic XDP, veth and multi-queue NICs spread one flow over
 * several CPUs). Cost: 48 bytes per flow per possible CPU. An array by
 * slot, not a hash by flow key, saves the hash's 96 bytes per element.
 * Userspace zeroes a slot on every CPU before a new flow gets it. */
struct fp_flow_ctr {
	__u64 packets;	 /* forwarded by XDP */
	__u64 bytes;	 /* IP length of the arriving packets */
	__u64 last_seen; /* bpf_jiffies64() of the flow's last packet, forwarded or
			  * not (coarse: a jiffies load, no clock read) */
	__u32 not_fwd;	 /* packets of this flow the program did not forward */
	__u8 last_stat;	 /* enum fp_stat of this CPU's last packet of the flow */
	__u8 generic;	 /* that packet ran in the generic-mode program */
	__u16 pad;	 /* zero */
	/* Of packets/bytes, the RTCP (RFC 5761 §4: payload type 64-95 with
	 * the marker, demux.h): on an rtcp-mux port RTP and RTCP share the
	 * flow, and RTCP is still counted as RTCP. */
	__u64 rtcp_packets;
	__u64 rtcp_bytes;
};
_Static_assert(sizeof(struct fp_flow_ctr) == 48, "fp_flow_ctr is ABI");

/* Layout version of the pinned maps, kept in fp_meta.abi: bumped whenever
 * a map's meaning changes in a way libbpf's pin reuse cannot see (same
 * type and sizes). 2: counters in the flow_ctr array by slot; 3: that array
 * per CPU; 4: next hop, deadline and TTL rules in the flow, jiffies; 5:
 * checksum parts in the flow, the ports map; 7: RTCP counted apart in
 * flow_ctr; 8: the ports array an index into flow_hot (128-byte
 * copies by slot; flags a byte), flow counts in port_nflows. */
#define FP_ABI_VERSION 8

/* The one value of the meta array: never read by the program. */
struct fp_meta {
	__u32 abi; /* FP_ABI_VERSION of the userspace that created the maps; 0: new */
	__u32 pad; /* zero */
	__u64 gen; /* bumped by every flow install/remove: another process's
		    * change makes a cached slot free list stale */
};
_Static_assert(sizeof(struct fp_meta) == 16, "fp_meta is ABI");

/* Per-CPU stats array: one __u64 per verdict, indexed by enum fp_stat. */
enum fp_stat {
#define FP_STAT(name, str, action, why) FP_STAT_##name,
#include "icepath/fp_stats.def"
	FP_STAT_COUNT
};

/* Map sizes. The flow maps are sized at open (fastpath_opts.max_flows,
 * bpf_map__set_max_entries) before load; this is only the size in the
 * object file. */
#ifndef FP_MAX_FLOWS
#define FP_MAX_FLOWS 65536u
#endif
#ifndef FP_MAX_PORTS
#define FP_MAX_PORTS 256 /* attached interfaces (devmap) */
#endif

#endif
