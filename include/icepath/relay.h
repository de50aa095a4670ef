/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay: icepathd's runtime. One epoll loop owns every descriptor: the NG
 * control socket, a signalfd, a timerfd armed to the earliest deadline of a
 * min-heap (ICE agents' next tick, plain-RTP inactivity checks, the state
 * file flush), and the media sockets of every call leg.
 *
 * The userspace datapath (relay.c) forwards what the XDP fast path passes
 * up, with the same semantics: RFC 7983 demux, STUN to the leg's ICE agent,
 * RTP/RTCP/DTLS to the other leg's selected remote (through TURN framing when
 * the pair is relayed), nothing toward a leg that lost consent (RFC 7675).
 * Whenever a call's paths change, relay_sync_flows() brings the fast path's
 * flow table in line.
 *
 * relay_ng.c implements the NG operations (offer/answer/delete/query/list/
 * statistics) on top; relay_state.c keeps the state file a restarted daemon
 * recovers its calls from.
 */
#ifndef ICEPATH_RELAY_H
#define ICEPATH_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "icepath/call.h"
#include "icepath/daemon_opts.h"
#include "icepath/fastpath.h"
#include "icepath/ng.h"
#include "icepath/timerheap.h"

#define RELAY_BATCH	     32	  /* datagrams per recvmmsg()/sendmmsg() */
#define RELAY_DGRAM_MAX	     2048 /* bytes; media and STUN fit, larger is truncated and dropped */
#define RELAY_STATE_FLUSH_MS 200  /* coalesce state-file writes of a burst of requests */

/* epoll data kinds (struct call_sock.kind and struct relay_evsrc.kind) */
enum relay_ev_kind {
	RELAY_EV_MEDIA = 1,
	RELAY_EV_NG,
	RELAY_EV_SIGNAL,
	RELAY_EV_TIMER,
	RELAY_EV_FASTPATH, /* next hop changes (fastpath_fd) */
};

/* timer kinds (struct timerheap_node.kind) */
enum relay_timer_kind {
	RELAY_TIMER_ICE = 1, /* owner: struct call_leg */
	RELAY_TIMER_IDLE,    /* owner: struct call_leg */
	RELAY_TIMER_STATE,   /* owner: struct relay */
	RELAY_TIMER_DELETE,  /* owner: struct call (NG delete-delay) */
	RELAY_TIMER_FASTPATH, /* owner: struct relay (fastpath_poll, flow deadlines) */
};

/* How often the flows of live streams get their fast-path deadline moved
 * (FASTPATH_FLOW_LIFETIME_MS ahead): well inside the lifetime, so a live
 * flow never lapses, and a dead daemon's flows stop within the lifetime. */
#define RELAY_FLOW_EXTEND_MS 5000

struct relay_evsrc {
	unsigned kind;
	int fd;
};

struct relay_out; /* a queued datagram of the send batch (relay.c) */

struct relay {
	struct daemon_opts opts;
	int epfd;
	struct relay_evsrc ng, sig, timer, fpev;
	struct call_table calls;
	struct call_ports ports;
	struct timerheap timers;
	struct timerheap_node state_timer;
	struct timerheap_node fp_timer; /* fastpath_poll every FASTPATH_POLL_MS */
	uint64_t fp_extend_ms;		/* next sweep of flow deadlines */
	struct fastpath *fp; /* NULL: --xdp off */
	enum fastpath_xdp_mode xdp_got;
	struct ng_server ngs;
	bool ng_ready;
	char state_path[DAEMON_PATH_MAX + 32];
	bool stopping;
	bool ran; /* relay_run() was entered */
	uint64_t started_ms;
	uint64_t managed_calls;
	uint64_t next_flow_id;
	/* totals of calls already deleted, for statistics */
	struct call_counters gone_user, gone_fast;
	uint64_t user_forwarded, user_dropped;
	/* receive batch */
	uint8_t (*rxbuf)[RELAY_DGRAM_MAX];
	struct relay_out *out;
	unsigned nout;
	uint8_t *ngout; /* NG reply datagram */
};

/* Bind the NG socket, open/attach the fast path, recover calls from the
 * state file. 0 or -errno after logging what failed and what to do. */
int relay_init(struct relay *r, const struct daemon_opts *o);
/* Run until SIGTERM/SIGINT; 0 on a clean stop. */
int relay_run(struct relay *r);
/* One round of the loop: wait up to timeout_ms (-1: forever) and handle
 * what is ready. Returns the number of events or -errno (tests drive the
 * relay with it). */
int relay_poll(struct relay *r, int timeout_ms);
/* Remove flows, release TURN allocations, close everything. */
void relay_shutdown(struct relay *r);

/* ---- used by relay_ng.c / relay_state.c ------------------------------------ */

/* Bind RTP (+ RTCP) sockets for stream s of leg l on its interface. */
int relay_stream_open(struct relay *r, struct call_leg *l, struct call_stream *s,
		      const struct daemon_iface *ifc, int want_rtp_port);
/* Tear a call down: flows, agents (TURN released), sockets, ports. */
void relay_call_delete(struct relay *r, struct call *c, const char *why);
/* Make the fast path's flows match the call's paths and consent. */
void relay_sync_flows(struct relay *r, struct call *c);
/* Refresh rx_fast/last_seen of every stream of a call from the flow counters. */
void relay_refresh_counters(struct relay *r, struct call *c);
/* Run the agent's outputs (datagrams, events) and re-arm its timer. */
void relay_agent_drain(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* (Re)arm the inactivity timer of a leg without ICE. */
void relay_idle_arm(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* Schedule a state-file write. */
void relay_state_dirty(struct relay *r);
/* Unix seconds for a monotonic ms stamp (query's "last packet"). */
int64_t relay_unix_time(uint64_t mono_ms);

/*
 * relay_consent.c: a leg recovered from the state file has no ICE agent, but
 * it keeps RFC 7675 consent both ways: it answers the peer's checks with the
 * credentials the relay gave it, and runs its own checks toward the peer's
 * selected address with the peer's credentials; without an authenticated
 * answer for the consent timeout, forwarding toward the peer stops (and the
 * leg's inactivity timeout then ends the call), as on any other ICE leg.
 */
/* Cryptographic randomness (getrandom): ICE credentials, tie-breakers,
 * STUN transaction ids. */
void relay_random(void *buf, size_t len);
/* A recovered ICE leg: its streams' consent starts fresh, checks begin. */
void relay_consent_start(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* The leg's timer fired: lose what timed out, send the next checks. */
void relay_consent_tick(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* A STUN message on a recovered leg's socket: a check to answer or an
 * answer to one of ours. Anything else is ignored. */
void relay_consent_input(struct relay *r, struct call_leg *l, struct call_stream *s,
			 unsigned comp, const struct netaddr *from, const uint8_t *buf, size_t len,
			 uint64_t now_ms);
/* The leg speaks ICE: an agent, or recovered with the peer's ICE. */
static inline bool relay_leg_ice(const struct call_leg *l)
{
	return l->agent || (l->recovered && l->peer_ice);
}

/* relay_ng.c */
extern const struct ng_ops relay_ng_ops;

/* relay_state.c: write every call atomically (tmp + rename). */
int relay_state_save(struct relay *r);
/* Rebuild calls from the state file; flows of the fast path that no
 * recovered call owns are removed, with a log line each. */
int relay_state_recover(struct relay *r);

#endif
