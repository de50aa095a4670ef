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

struct fp_flow_val {
	__u8 family;	    /* FP_FAMILY_V4/V6 of the forwarded packet */
	__u8 pad0;	    /* zero */
	__be16 channel;	    /* wrap in ChannelData on this channel (network order), 0: plain */
	__be16 src_port;    /* new UDP source port: the relay's port on the out leg */
	__be16 dst_port;    /* new UDP destination port */
	__be32 src_addr[4]; /* new source: the relay's address on the out leg */
	__be32 dst_addr[4]; /* new destination: the out leg's remote (or TURN server) */
	__u32 flags;	    /* FP_FLOW_* (host order) */
	__u32 slot;	    /* index of this flow's counters in flow_ctr (host order) */
	__u64 id;	    /* the daemon's tag (host order) */
};
_Static_assert(sizeof(struct fp_flow_val) == 56, "fp_flow_val is ABI");

/* Value of the per-CPU flow_ctr array, indexed by fp_flow_val.slot. Per
 * CPU so that the per-packet path has no atomic and no cache line shared
 * between CPUs (generic XDP, veth and RSS-less NICs spread one flow over
 * several CPUs). Cost: 24 bytes per flow per possible CPU (48 MB at 1M
 * flows on 2 CPUs; lower FP_MAX_FLOWS on many-core boxes that need fewer
 * flows). An array by slot, not a hash by flow key, saves the hash's
 * 96 bytes per element. Userspace zeroes a slot on every CPU before a new
 * flow gets it. */
struct fp_flow_ctr {
	__u64 packets;	    /* forwarded by XDP */
	__u64 bytes;	    /* IP length of the arriving packets */
	__u64 last_seen_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last one */
};
_Static_assert(sizeof(struct fp_flow_ctr) == 24, "fp_flow_ctr is ABI");

/* Layout version of the pinned maps, kept in fp_meta.abi: bumped whenever
 * a map's meaning changes in a way libbpf's pin reuse cannot see (same
 * type and sizes). 2: counters in the flow_ctr array by slot; 3: that array per CPU. */
#define FP_ABI_VERSION 3

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

/* Default map sizes; the BPF object can be built with others (-D). */
#ifndef FP_MAX_FLOWS
#define FP_MAX_FLOWS 1000000u /* 1,000,000 flows (500,000 bidirectional legs) */
#endif
#ifndef FP_MAX_PORTS
#define FP_MAX_PORTS 256 /* attached interfaces (devmap) */
#endif

#endif
