/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fastpath: the XDP fast path as the daemon sees it. Load (or re-open) the
 * pinned program and maps, attach to interfaces, install/update/remove
 * flows, read counters. No libbpf type leaks through this header: only
 * kernel/ knows libbpf (shared/DESIGN.md).
 *
 * A flow is one direction of a relayed media stream: packets that ARRIVE at
 * the relay from `remote` to `local` (on a TURN channel `in_channel`, or 0)
 * leave toward the other call leg from `out_src` to `out_dst` (wrapped in a
 * TURN ChannelData header with `out_channel`, or plain when 0). A call leg
 * pair therefore needs two flows, one per direction.
 *
 * Every function returns 0 or -errno and logs once, where it fails, through
 * the logger (stderr unless fastpath_set_logger() says otherwise).
 *
 * Program and maps are pinned under opts.pin_path on bpffs (mounted there
 * if needed): fastpath_close() leaves them and the attachments in place, so
 * forwarding goes on while no daemon runs, and the next fastpath_open()
 * re-uses the same maps (flows and counters survive a daemon restart).
 *
 * Several handles may change the flows of one pin path at once (the daemon
 * and icepath-fpctl, or threads sharing a handle): installs and removals
 * are serialized by a lock on the pin directory. Capacity is
 * fastpath_opts.max_flows flows in preallocated maps (about 220 bytes per
 * flow: the flows hash and the lost-frame count; plus 32 per flow and
 * possible CPU), and the ports array of the copies under the relay's
 * address and port (136 bytes per media port and fastpath_opts.port_addrs
 * address), sized before load.
 *
 * Next hops: at install, the flow's egress interface, MAC addresses and MTU
 * are resolved here (libnl-route-3 caches of links, routes and
 * neighbours) and kept in the flow, so the program needs no fib lookup and
 * no forwarding sysctl. A flow whose next hop is not known yet (no
 * neighbour entry) has its packets passed up: the userspace path's send
 * makes the kernel resolve it, and the change reaches the flow through
 * fastpath_poll(). A long-running user (the daemon) watches fastpath_fd()
 * and calls fastpath_poll() when it is readable and at least every
 * FASTPATH_POLL_MS.
 *
 * Deadlines: every flow stops forwarding at its deadline (install time plus
 * lifetime_ms) unless extended (fastpath_flow_extend), so the flows of a
 * daemon that crashed stop within FASTPATH_FLOW_LIFETIME_MS; its packets
 * then go up, to whatever runs there.
 */
#ifndef ICEPATH_FASTPATH_H
#define ICEPATH_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "icepath/fp_abi.h"
#include "icepath/netaddr.h"

#define FASTPATH_PIN_PATH_DEFAULT "/sys/fs/bpf/icepath"

struct fastpath; /* opaque */

enum fastpath_xdp_mode {
	FASTPATH_XDP_NATIVE,  /* driver mode: the fast one */
	FASTPATH_XDP_GENERIC, /* skb mode: works on any device, slower */
	FASTPATH_XDP_OFF,     /* no attachment: every packet takes the userspace path */
};

const char *fastpath_xdp_mode_str(enum fastpath_xdp_mode m);

struct fastpath_opts {
	const char *pin_path; /* NULL: FASTPATH_PIN_PATH_DEFAULT */
	/* Media UDP port range of the relay, host order, inclusive. Packets to
	 * other ports are passed to the stack untouched by the program. */
	uint16_t port_min, port_max;
	/* The mode fastpath_attach() tries first (NATIVE falls back to
	 * GENERIC with a log line, also for an interface that takes no native
	 * XDP frames, e.g. a veth whose peer has no XDP program; GENERIC is
	 * only generic; OFF attaches nothing and fastpath_attach() is a no-op
	 * that reports OFF). */
	enum fastpath_xdp_mode mode;
	/* Flow table capacity, 0: FASTPATH_MAX_FLOWS_DEFAULT. Maps pinned by
	 * an earlier run keep the size they were made with (logged when it
	 * differs). */
	uint32_t max_flows;
	/* Relay addresses the ports array (the program's first lookup, by
	 * address and port) has room for: that many times the port range
	 * entries of 136 bytes; 0 or above 7: 7. Flows on further addresses
	 * forward too, found by the flows hash. */
	uint32_t port_addrs;
};

/* 65,536 flows, 18 MB of locked memory on 2 CPUs: 16k calls with audio whose RTCP has
 * its own port (4 flows a call), 32k with rtcp-mux, ~10k audio+video. */
#define FASTPATH_MAX_FLOWS_DEFAULT 65536u
#define FASTPATH_POLL_MS 1000u

/* Load the program (or re-open the pinned maps of a previous run). */
int fastpath_open(struct fastpath **fp, const struct fastpath_opts *o);
/* Attach to one interface of the caller's network namespace and register
 * it as a redirect target. *got (may be NULL) says which mode it got. If
 * a previous run's program is attached there, it is replaced atomically. */
int fastpath_attach(struct fastpath *fp, const char *ifname, enum fastpath_xdp_mode *got);
int fastpath_detach(struct fastpath *fp, const char *ifname);
/* The mode XDP runs in on ifname now (OFF: none): fastpath_poll() may have
 * moved it from native to generic. */
enum fastpath_xdp_mode fastpath_iface_mode(const char *ifname);
/* Free the handle; pinned program, maps and attachments stay: forwarding
 * goes on. Accepts NULL. */
void fastpath_close(struct fastpath *fp);
/* A start that failed: undo what this handle created and free it. Maps it
 * made are unpinned (their memory is freed with the handle), links it made
 * are detached; what a previous run left (its maps and links, which keep
 * its flows forwarding) stays as it was. Accepts NULL. */
void fastpath_abandon(struct fastpath *fp);
/* The owner's clean stop: free the handle, then fastpath_destroy() its pin
 * path (no program attached, no pin, no map left). Accepts NULL. */
int fastpath_teardown(struct fastpath *fp);
/* Detach every interface attached under pin_path (NULL: the default) and
 * remove the pins: the fast path is gone. 0 when there was nothing. */
int fastpath_destroy(const char *pin_path);

/* Flow flags: the map's own bits (fp_abi.h), defined once. */
#define FASTPATH_FLOW_FORWARD FP_FLOW_FORWARD /* consent held (RFC 7675): forward; off: drop */
#define FASTPATH_FLOW_RTP     FP_FLOW_RTP     /* forward RTP packets of this flow */
#define FASTPATH_FLOW_RTCP    FP_FLOW_RTCP    /* forward RTCP packets of this flow */

struct fastpath_flow {
	/* key: where the packet arrives. remote is the TURN server's address
	 * when in_channel != 0 (a ChannelData packet on that channel, RFC 8656
	 * §12.4: its header is stripped before forwarding). */
	struct netaddr local, remote;
	uint16_t in_channel;
	/* rewrite: where it leaves. out_dst is the TURN server's address when
	 * out_channel != 0 (the payload is wrapped in ChannelData). The
	 * families of the key and the rewrite may differ (IPv4 <-> IPv6). */
	struct netaddr out_src, out_dst;
	uint16_t out_channel;
	uint32_t flags; /* FASTPATH_FLOW_* */
	uint64_t id;	/* the daemon's own tag, given back by foreach */
	/* Forward until now + lifetime_ms, then pass up until extended.
	 * 0: FASTPATH_FLOW_LIFETIME_MS; FASTPATH_LIFETIME_FOREVER: no deadline
	 * (tools and tests only: a crashed owner's flow forwards for good). */
	uint32_t lifetime_ms;
};

#define FASTPATH_FLOW_LIFETIME_MS 30000u
#define FASTPATH_LIFETIME_FOREVER UINT32_MAX

/* Install or replace the flow for (local, remote, in_channel). -EINVAL for
 * mismatched/unsupported addresses, -ENOSPC when the table is full. */
int fastpath_flow_install(struct fastpath *fp, const struct fastpath_flow *f);
/* Install n flows with batched map updates (a restarting daemon, the 1M
 * test). Flows already installed are replaced and keep their counters.
 * On failure some may be installed: remove what you meant to roll back. */
int fastpath_flow_install_many(struct fastpath *fp, const struct fastpath_flow *f, size_t n);
/* Remove n flows (keys only); missing ones are skipped and make it
 * return -ENOENT after the others are gone. */
int fastpath_flow_remove_many(struct fastpath *fp, const struct fastpath_flow *keys, size_t n);
/* Change only the flags (consent lost/regained). -ENOENT when not installed. */
int fastpath_flow_set_flags(struct fastpath *fp, const struct fastpath_flow *key_only,
			    uint32_t flags);
/* -ENOENT when not installed. Its counters go with it. */
int fastpath_flow_remove(struct fastpath *fp, const struct fastpath_flow *key_only);
/* Move the flow's deadline to now + lifetime_ms (0: FASTPATH_FLOW_LIFETIME_MS):
 * the owner calls it while the flow is alive (consent held, media seen).
 * -ENOENT when not installed. */
int fastpath_flow_extend(struct fastpath *fp, const struct fastpath_flow *key_only,
			 uint32_t lifetime_ms);

/* Where a flow's packets really go, as the program saw its last packet. */
enum fastpath_flow_path {
	FASTPATH_PATH_IDLE,	 /* no packet yet */
	FASTPATH_PATH_NATIVE,	 /* forwarded by native XDP */
	FASTPATH_PATH_GENERIC,	 /* forwarded by generic (skb) XDP */
	FASTPATH_PATH_USERSPACE, /* passed up (why says which rule), or dropped for consent */
};
const char *fastpath_flow_path_str(enum fastpath_flow_path p);

struct fastpath_counters {
	uint64_t packets, bytes; /* forwarded by the fast path, less what the egress kernel
				  * dropped after XDP sent it (bytes: IP packet as received,
				  * not reduced by those losses) */
	/* Of packets/bytes, the RTCP (RFC 5761 §4 payload types 64-95 with
	 * the marker): on an rtcp-mux flow both share the counters. Lost
	 * frames (below) are not told apart by class: rtcp_packets is capped
	 * at packets. */
	uint64_t rtcp_packets, rtcp_bytes;
	uint64_t last_seen_ns;	 /* CLOCK_MONOTONIC of its last packet, forwarded or not
				  * (jiffy resolution), 0: never */
	uint64_t not_forwarded;	 /* its packets the program passed up or dropped */
	enum fastpath_flow_path path;
	/* The verdict of its last packet ("redirect", "pass-no-xmit"...,
	 * fp_stats.def), or before any packet what the next hop resolution
	 * found ("ready", "no-neigh", "no-route", "no-devmap", "no-xmit"). */
	const char *why;
	int64_t deadline_in_ms; /* time left before the deadline (< 0: past); INT64_MAX: none */
};

/* Summed over CPUs; -ENOENT when the flow is not installed. */
int fastpath_flow_counters(struct fastpath *fp, const struct fastpath_flow *key_only,
			   struct fastpath_counters *out);
/* Call cb for every installed flow; a non-zero return stops the walk and
 * is returned. The walk reads the table in batches: cb must not install or
 * remove flows (collect them and act after the walk). */
int fastpath_flow_foreach(struct fastpath *fp, int (*cb)(const struct fastpath_flow *, void *),
			  void *ctx);
/* Number of installed flows, or -errno. */
long fastpath_flow_count(struct fastpath *fp);

/* The file descriptor to watch for next hop changes (netlink), -1: none. */
int fastpath_fd(const struct fastpath *fp);
/* Apply pending neighbour/route/link changes to the flows, and every
 * FASTPATH_POLL_MS check the attached interfaces: xdp features (a veth
 * peer that lost its XDP program) and XDP transmit error counters; flows
 * toward an interface whose kernel drops what XDP sends go to the
 * userspace path, with a log line saying why, and the dropped frames are
 * counted lost on those flows (fastpath_counters.packets excludes them).
 * now_ms: CLOCK_MONOTONIC. */
int fastpath_poll(struct fastpath *fp, uint64_t now_ms);

/* Verdict statistics, summed over CPUs: out[i] for i < min(n, count). */
int fastpath_stats(struct fastpath *fp, uint64_t *out, size_t n);
const char *fastpath_stat_name(unsigned idx); /* "tx", "pass-stun"...; NULL past the end */
unsigned fastpath_stat_count(void);

/* Kernel memory of every map of the fast path, in bytes (the maps'
 * "memlock" accounting, per-CPU copies included). */
int fastpath_map_memory(struct fastpath *fp, uint64_t *bytes);

/* Log hook: level is a syslog priority (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG); msg has no trailing newline. NULL restores stderr. The hook
 * is process-wide, like libbpf's own print callback. */
typedef void (*fastpath_log_fn)(int level, const char *msg, void *ctx);
void fastpath_set_logger(fastpath_log_fn fn, void *ctx);

#endif
