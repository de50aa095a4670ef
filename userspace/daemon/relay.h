/*
 * relay: icepathd's runtime. One epoll loop owns every descriptor: the NG
 * control socket, a signalfd, a timerfd armed to the earliest deadline of a
 * min-heap (ICE agents' next tick, plain-RTP inactivity checks, the state
 * file flush), and the media sockets of every call leg.
 *
 * The userspace datapath (relay_media.c) forwards what the XDP fast path
 * passes up, with the same semantics: RFC 7983 demux, STUN to the leg's ICE
 * agent, RTP/RTCP/DTLS to the other leg's selected remote (through TURN
 * framing when the pair is relayed), nothing toward a leg that lost consent
 * (RFC 7675). Whatever changes a call's paths marks the call changed
 * (relay_call_changed()); at the end of each turn the loop brings the fast
 * path's flow table (relay_flows.c) and the state file in line, once.
 *
 * Time comes in from the loop: relay_loop.c reads the clock once per turn
 * and hands now_ms down; nothing else in the daemon reads it, so tests can
 * drive the relay on a virtual clock (relay_init_clock()).
 *
 * Files (helpers in the lowest, no circle between them; this header is
 * their one private interface):
 *   relay_sock.c      sockets, port pairs, the send batch, randomness
 *   relay_flows.c     fast-path flows and counters, fast-path setup
 *   relay_ice.c       the legs' ICE agents and their events
 *   relay_media.c     the userspace datapath, latching
 *   relay_call.c      call deletion, inactivity, "this call changed"
 *   relay_ng_offer.c  NG offer/answer; relay_ng.c the other NG operations
 *   relay_state.c     the state file
 *   relay_loop.c      the loop, its clock, setup and shutdown
 */
#ifndef ICEPATH_RELAY_H
#define ICEPATH_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "call.h"
#include "daemon_opts.h"
#include "icepath/fastpath.h"
#include "icepath/ice.h"
#include "icepath/ng.h"
#include "metrics.h"
#include "timerheap.h"

#ifndef ICEPATH_VERSION
#define ICEPATH_VERSION "unknown" /* the Makefile passes the package's */
#endif

#define RELAY_BATCH	     32	  /* datagrams per recvmmsg()/sendmmsg() */
#define RELAY_DGRAM_MAX	     2048 /* bytes; media and STUN fit, larger is truncated and dropped */
#define RELAY_STATE_FLUSH_MS 200  /* coalesce state-file writes of changes no NG reply waits for */
#define RELAY_STATE_CHECKPOINT_MS 10000 /* a whole snapshot (counters of every call) at least this often */
#define RELAY_STATE_COMPACT_MIN (1u << 20) /* bytes of journal before a compaction, at least */
/* rtpengine's endpoint-learning window (--endpoint-learning delayed and
 * heuristic): how long sources compete before the peer's address is kept */
#define RELAY_LEARN_MS	     3000
/* Error answers (400/401) to unauthenticated STUN on media ports: a token
 * bucket per source IP (hashed into RELAY_STUN_SOURCES slots; sources that
 * share a slot share its budget) and one for all sources together, so a
 * media port is no reflector (RFC 8489 §6.3.4 lets a server stay silent). */
#define RELAY_STUN_SOURCES     1024
#define RELAY_STUN_SRC_PER_S   5   /* answers per second and source, and its burst */
#define RELAY_STUN_TOTAL_PER_S 200 /* answers per second over all sources, and burst */
/* RFC 8445 §14.2: whatever each agent's Ta, the checks of all agents of
 * an implementation together go no more often than once every 5 ms (as
 * though there were one check list). The legs' agents share this budget
 * through ice_config.pace (relay_ice.c). */
#define RELAY_PACE_MS 5

/* epoll data kinds (struct call_sock.kind and struct relay_evsrc.kind) */
enum relay_ev_kind {
	RELAY_EV_MEDIA = 1,
	RELAY_EV_NG,
	RELAY_EV_SIGNAL,
	RELAY_EV_TIMER,
	RELAY_EV_METRICS, /* the metrics server's listener and connections */
	RELAY_EV_FASTPATH, /* next hop changes (fastpath_fd) */
	RELAY_EV_NETIF,	   /* a standby's rtnetlink monitor (relay_ha.c) */
	RELAY_EV_WORKER,   /* a media worker passed datagrams up (relay_worker.c) */
	RELAY_EV_REDIS_SUB, /* a standby's keyspace notifications (relay_ha.c) */
};

/* timer kinds (struct timerheap_node.kind) */
enum relay_timer_kind {
	RELAY_TIMER_ICE = 1, /* owner: struct call_leg */
	RELAY_TIMER_IDLE,    /* owner: struct call_leg */
	RELAY_TIMER_STATE,   /* owner: struct relay */
	RELAY_TIMER_DELETE,  /* owner: struct call (NG delete-delay) */
	RELAY_TIMER_WATCHDOG, /* owner: struct relay (systemd WatchdogSec) */
	RELAY_TIMER_FASTPATH, /* owner: struct relay (fastpath_poll, flow deadlines) */
	RELAY_TIMER_DTLS,     /* owner: struct call_leg (its DTLS retransmissions) */
	RELAY_TIMER_HA,	      /* owner: struct relay (a standby's refresh) */
};

/* How often the flows of live streams get their fast-path deadline moved
 * (FASTPATH_FLOW_LIFETIME_MS ahead): well inside the lifetime, so a live
 * flow never lapses, and a dead daemon's flows stop within the lifetime. */
#define RELAY_FLOW_EXTEND_MS 5000

struct relay_evsrc {
	unsigned kind;
	int fd;
};

struct relay_metrics_srv; /* the /metrics server (relay_metrics.c) */
struct relay_worker;	  /* a media thread (relay_worker.c) */
struct dtls_ctx;
struct relay_redis;
struct relay_ha;
struct sdp;

/* A token bucket: tokens (x1000) refilled at a rate, up to a burst. */
struct relay_bucket {
	uint64_t stamp_ms;
	uint32_t milli_tokens;
};

/* A queued datagram of the send batch (relay_sock.c). */
struct relay_out {
	int fd;
	struct netaddr dst;
	struct iovec iov[3];
	int niov;
	struct ice_transmit tx; /* framing when the datagram goes through an agent */
};

/* A clock for tests (relay_init_clock()); NULL: CLOCK_MONOTONIC. */
typedef uint64_t (*relay_clock_fn)(void *ctx);

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
	/* the state file's journal (relay_state.c): appends go to journal_fd
	 * (-1: the next commit writes a whole snapshot first) */
	int journal_fd;
	size_t journal_bytes, snapshot_bytes;
	uint64_t snapshot_ms;
	struct call *state_dirty;	 /* calls to append at the next commit */
	char (*state_gone)[CALL_ID_MAX]; /* call-ids deleted since */
	unsigned n_state_gone, cap_state_gone;
	bool stopping;
	bool ran; /* relay_run() was entered */
	/* the loop's clock: read once per turn into now_ms (monotonic ms) and
	 * unix_offset_ms (wall clock minus now_ms, for "last packet" stamps) */
	relay_clock_fn clock;
	void *clock_ctx;
	uint64_t now_ms;
	int64_t unix_offset_ms;
	/* calls marked by relay_call_changed() in this turn (call.changed_next) */
	struct call *changed;
	uint64_t started_ms;
	uint64_t managed_calls;
	uint64_t commits; /* state writes made at a turn's commit (relay_commit()) */
	/* commits that failed (disk full...), and the episode: state_failing
	 * from the first failure to the next success, state_why what failed
	 * and what to do, the error-reason of the replies it turned */
	uint64_t state_failures;
	/* media sockets bind with IP_FREEBIND: a standby that took over when
	 * one of its service addresses arrived, before the others (relay_ha.c) */
	bool bind_free;
	bool state_failing;
	char state_why[DAEMON_PATH_MAX + 160];
	uint64_t next_flow_id;
	/* totals of calls already deleted, for statistics */
	struct call_counters gone_user, gone_fast;
	uint64_t user_forwarded, user_dropped;
	/* STUN error answers not sent: over the per-source or total rate */
	uint64_t stun_limited;
	struct relay_bucket stun_total, *stun_src; /* RELAY_STUN_SOURCES */
	/* the daemon-wide check budget: the earliest time the next check of
	 * any leg may leave (RELAY_PACE_MS after the last one) */
	uint64_t pace_next_ms;
	uint64_t pace_granted, pace_deferred; /* checks let go / told to wait */
	/* receive batch */
	uint8_t (*rxbuf)[RELAY_DGRAM_MAX];
	struct relay_out *out;
	unsigned nout;
	uint8_t *ngout; /* NG reply datagram */
	/* deploy: what the loop counts for /metrics, the metrics server (NULL
	 * without --metrics), systemd's watchdog, the argv SIGHUP re-reads */
	struct metrics metrics;
	struct call_counters gone_tx_user;
	/* RTCP packets of deleted calls: user rx, fast rx, user tx */
	uint64_t gone_rtcp[3];
	struct relay_metrics_srv *msrv;
	struct timerheap_node watchdog_timer;
	uint64_t watchdog_ms; /* ping interval; 0: no watchdog */
	int argc;
	char *const *argv;
	/* relay_crypto.c: the DTLS certificate (made at start or --dtls-cert),
	 * libsrtp2 set up, a scratch buffer for SRTP in and out, totals */
	struct dtls_ctx *dtls_ctx;
	bool srtp_ready;
	uint8_t *cbuf; /* RELAY_DGRAM_MAX + SRTPCTX_TRAILER_MAX */
	uint64_t srtp_auth_fail, srtp_replay, srtp_other, dtls_connected, dtls_failed;
	uint64_t dtls_close_sent, dtls_closed_by_peer; /* close_notify out (delete) and in */
	uint64_t sdes_rekeys_gone; /* SDES re-keys of legs freed: /metrics' total stays monotonic */
	/* --redis: the store (relay_redis.c); --redis-role standby: the
	 * rtnetlink monitor, its event source, the refresh timer and the
	 * copy of the active's calls (relay_ha.c) */
	struct relay_redis *redis;
	struct relay_ha *ha;
	struct relay_evsrc netev;
	struct timerheap_node ha_timer;
	/* --media-threads: the media workers of terminated calls
	 * (relay_worker.c); the loop publishes now_ms to them */
	struct relay_worker *workers;
	unsigned nworkers;
	_Atomic uint64_t worker_now_ms;
};

/* Bind the NG socket, open/attach the fast path, recover calls from the
 * state file. 0 or -errno after logging what failed and what to do. */
int relay_init(struct relay *r, const struct daemon_opts *o);
/* The same on a clock of the caller's (tests): timers fire when clock says
 * they are due, at the next relay_poll(). */
int relay_init_clock(struct relay *r, const struct daemon_opts *o, relay_clock_fn clock, void *ctx);
/* Run until SIGTERM/SIGINT; 0 on a clean stop. */
int relay_run(struct relay *r);
/* One turn of the loop: wait up to timeout_ms (-1: until a timer is due)
 * for descriptors, read the clock, handle what is ready and what is due,
 * then sync the changed calls' flows and state. Returns the number of
 * events or -errno (tests drive the relay with it). */
int relay_poll(struct relay *r, int timeout_ms);
/* Remove flows, release TURN allocations, close everything. */
void relay_shutdown(struct relay *r);

/* ---- relay_sock.c ----------------------------------------------------------- */

/* Cryptographic randomness (getrandom): ICE credentials, tie-breakers,
 * STUN transaction ids. */
void relay_random(void *buf, size_t len);
/* A bound non-blocking UDP socket, or -errno. */
int relay_bind_udp(const struct netaddr *a);
/* The same; freebind: IP_FREEBIND (an address that is not here yet). */
int relay_bind_udp_opt(const struct netaddr *a, bool freebind);
int relay_epoll_add(struct relay *r, int fd, void *ptr);
/* Bind RTP (+ RTCP) sockets for stream s of leg l on its interface. */
int relay_stream_open(struct relay *r, struct call_leg *l, struct call_stream *s,
		      const struct daemon_iface *ifc, int want_rtp_port);
/* Close a stream's sockets and give its port pair back. */
void relay_stream_close(struct relay *r, struct call_stream *s);
/* The leg's socket bound to local, or -1. */
int relay_fd_for_local(struct call_leg *l, const struct netaddr *local);
/* The send batch: datagrams queued by the datapath, sent by relay_out_flush()
 * (the loop calls it every turn; a full batch is flushed on its own). */
void relay_out_plain(struct relay *r, int fd, const struct netaddr *dst, const uint8_t *data,
		     size_t len);
void relay_out_tx(struct relay *r, int fd, const struct ice_transmit *tx);
void relay_out_flush(struct relay *r);
/* a recvmmsg() batch of RELAY_BATCH datagrams into bufs, sources into from */
void relay_rx_batch_init(struct mmsghdr *msgs, struct iovec *iov, struct netaddr *from,
			 uint8_t (*bufs)[RELAY_DGRAM_MAX]);
/* May an error answer to an unauthenticated STUN request from src leave
 * now? Takes a token of src's bucket and of the total one. */
bool relay_stun_answer_allowed(struct relay *r, const struct netaddr *src, uint64_t now_ms);
/* Agent-built datagrams (checks, consent, TURN control): sent at once. */
void relay_send_tx_now(struct relay *r, struct call_leg *l, const struct ice_transmit *tx);

/* ---- relay_flows.c ---------------------------------------------------------- */

/* Load and attach the fast path per --xdp (nothing with --xdp off). */
int relay_flows_open(struct relay *r);
/* Make the fast path's flows match the call's paths and consent (the loop
 * calls it for changed calls: everyone else calls relay_call_changed()). */
void relay_flows_sync(struct relay *r, struct call *c);
/* Remove the flow of stream s's component c, folding its counters. */
void relay_flow_remove(struct relay *r, struct call_stream *s, unsigned c);
/* Refresh rx_fast/last_seen of every stream of a call from the flow counters. */
void relay_refresh_counters(struct relay *r, struct call *c);
/* Interfaces (XDP transmit errors) and flow deadlines: RELAY_TIMER_FASTPATH. */
void relay_fastpath_tick(struct relay *r, uint64_t now);

/* ---- relay_ice.c ------------------------------------------------------------ */

/* Give leg l an agent over its active streams and gather; 0 or the error
 * set in rep. */
int relay_agent_create(struct relay *r, struct call_leg *l, bool controlling, bool lite,
		       uint64_t now_ms, struct ng_reply *rep);
/* A leg recovered from the state file: an agent resumed with the
 * credentials both sides had and each stream's selected pair, so that it
 * keeps (and loses) RFC 7675 consent both ways like any agent. -ENOENT
 * when the file has no peer credentials (older icepathd), or the agent's
 * error; the leg then has no agent and takes media only from the peer's
 * recorded address. */
int relay_agent_resume(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* Drop leg l's agent (plain RTP from now on). */
void relay_agent_free(struct relay *r, struct call_leg *l);
/* Hand the peer's ICE description of every stream to leg l's agent. */
int relay_agent_feed(struct relay *r, struct call_leg *l, const struct sdp *sdp, uint64_t now_ms,
		     struct ng_reply *rep);
/* Run the agent's outputs (datagrams, events) and re-arm its timer. */
void relay_agent_drain(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* The same after the agent dropped a request from src: its answer (an
 * error) leaves only within relay_stun_answer_allowed(). */
void relay_agent_drain_refusal(struct relay *r, struct call_leg *l, const struct netaddr *src,
			       uint64_t now_ms);
/* The stream of leg l that is the agent's stream ice_stream, or NULL. */
struct call_stream *relay_stream_by_ice(struct call_leg *l, unsigned ice_stream);

/* ---- relay_media.c ---------------------------------------------------------- */

/*
 * Early media: what a leg receives while the other leg's agent has no
 * selected pair yet (it checks toward its peer) is held per destination
 * stream, at most RELAY_EARLY_MAX packets for RELAY_EARLY_MS each, and sent
 * on the pair as soon as it is selected; what overflows or ages out is
 * dropped and counted (the source stream's `dropped`, metrics "no_path").
 * An SDP offer/answer exchange lets the peers send at once, while ICE on
 * the second leg takes a few round trips: without this, the first words
 * of a call are lost.
 */
#define RELAY_EARLY_MAX 64
#define RELAY_EARLY_MS	200
struct relay_early {
	unsigned n;
	struct {
		uint64_t at_ms;
		unsigned comp; /* CALL_COMP_* of the destination */
		size_t len;
		uint8_t *data;
	} pkt[RELAY_EARLY_MAX];
	uint64_t held, sent, expired, overflow; /* for the log line at selection */
};
/* Leg l's stream s has its selected pair on component comp: send what was
 * held for it. */
void relay_early_flush(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		       uint64_t now_ms);
/* Forget what stream s holds (counted as dropped). */
void relay_early_free(struct relay *r, struct call_stream *s);

/* A media socket is readable: receive and handle a few batches. */
void relay_media_recv(struct relay *r, struct call_sock *cs, uint64_t now_ms);

/* ---- relay_crypto.c --------------------------------------------------------- */

struct ng_request;
/* The certificate and libsrtp2 (relay_init), and their end. */
int relay_crypto_init(struct relay *r);
void relay_crypto_fini(struct relay *r);
/* Offer: after the offerer's SDP was read into a (leg_take_sdp), decide
 * whether the call is terminated and set both legs up. */
int relay_crypto_offer(struct relay *r, struct call_leg *a, struct call_leg *b,
		       const struct sdp *sdp, const struct ng_request *req, uint64_t now_ms,
		       struct ng_reply *rep);
/* Answer: b's SDP was read; a's side of the answer follows the flags. */
int relay_crypto_answer(struct relay *r, struct call_leg *a, struct call_leg *b,
			const struct sdp *sdp, const struct ng_request *req, uint64_t now_ms,
			struct ng_reply *rep);
/* Rewrite sdp's crypto attributes for leg l's peer (before it is written). */
int relay_crypto_write_sdp(struct relay *r, struct call_leg *l, struct sdp *sdp, bool is_offer,
			   struct ng_reply *rep);
/* The answer went out: an active DTLS endpoint sends its ClientHello. */
void relay_crypto_start(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* Media leg l received on stream s, component comp (after ICE): 1 when
 * taken (DTLS); dropped and counted: -EBADMSG failed authentication,
 * -EALREADY replay, -EINVAL no keys yet or not media; 0 when it goes on as *data, *len (plaintext, maybe in r->cbuf). */
int relay_crypto_rx(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		    const uint8_t **data, size_t *len, uint64_t now_ms);
/* Media about to be sent toward leg o's stream d: 0 and *data, *len to send
 * (protected, in r->cbuf: flush before the next packet), or -1: drop it. */
int relay_crypto_tx(struct relay *r, struct call_leg *o, struct call_stream *d,
		    const uint8_t **data, size_t *len);
/* RELAY_TIMER_DTLS fired. */
void relay_crypto_tick(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* A leg the state file says was terminated (mode): it gets its mode back;
 * its keys, if the file has them, follow with relay_crypto_restore(). */
void relay_crypto_recovered(struct relay *r, struct call_leg *l, unsigned mode);
/* The call is deleted: a DTLS association of the leg sends its
 * close_notify (before the leg's agent and sockets go). */
void relay_crypto_close(struct relay *r, struct call_leg *l);
/* The leg's crypto state goes (call deleted). */
void relay_crypto_free(struct relay *r, struct call_leg *l);
/* No fast-path flow for a call whose media the relay must en- or decrypt. */
static inline bool relay_call_terminated(const struct call *c)
{
	return c->legs[0].crypto || c->legs[1].crypto;
}

/* ---- relay_worker.c --------------------------------------------------------- */

/* Start --media-threads workers (0: none, all media on the loop). */
int relay_workers_start(struct relay *r);
void relay_workers_stop(struct relay *r);
/* A changed terminated call: its flows on its worker match its paths and keys. */
void relay_worker_sync(struct relay *r, struct call *c);
/* Take every flow of c back from its worker (synchronous): its sockets are
 * the loop's again, its SRTP contexts the loop's to use or free. */
void relay_worker_recall(struct relay *r, struct call *c);
/* Fold what c's flows counted since the last fold into its streams and the
 * relay's totals; the workers' own totals (relay_workers_fold). */
void relay_worker_fold(struct relay *r, struct call *c);
void relay_workers_fold(struct relay *r);
/* RELAY_EV_WORKER: datagrams a worker passed up (STUN, DTLS, strangers). */
void relay_worker_up(struct relay *r, struct relay_worker *w, uint64_t now_ms);
/* Packets forwarded by worker i so far (metrics, tests). */
uint64_t relay_worker_packets(const struct relay *r, unsigned i);
/* relay_media.c: one datagram received on cs, as the loop handles it. */
void relay_media_input(struct relay *r, struct call_sock *cs, const struct netaddr *from,
		       const uint8_t *buf, size_t len, uint64_t now_ms);

/* ---- relay_call.c ----------------------------------------------------------- */

/*
 * The one door for "this call changed" (a path, consent, a latched peer, an
 * offer or answer): the call is marked, and at the end of the loop's turn
 * relay_calls_flush() syncs its flows and schedules the state file, once
 * however many changes the turn brought.
 */
void relay_call_changed(struct relay *r, struct call *c);
/* A leg's streams changed: its state is settled now, its call marked. */
void relay_leg_changed(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* End of a turn: flows and state of every changed call. */
void relay_calls_flush(struct relay *r, uint64_t now_ms);
/* Tear a call down: flows, agents (TURN released), sockets, ports. */
void relay_call_delete(struct relay *r, struct call *c, const char *why, uint64_t now_ms);
/* (Re)arm the inactivity timer of a leg without ICE. */
void relay_idle_arm(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* The inactivity timer of leg l fired. */
void relay_idle_fire(struct relay *r, struct call_leg *l, uint64_t now_ms);
/* The call table's leg state event: re-arm the inactivity timer. */
void relay_on_leg_state(void *ctx, struct call_leg *l, enum call_leg_state from,
			enum call_leg_state to, const char *why);
/* Schedule a state-file write (RELAY_STATE_FLUSH_MS later, or at this
 * turn's commit when the turn has NG replies to release). */
void relay_state_dirty(struct relay *r, uint64_t now_ms);
/*
 * The turn's commit point, after relay_calls_flush(): the durability rule.
 * When the turn holds NG replies, the state it changed is written and
 * fsynced (file, then directory) at once, and only then are the replies
 * released: nothing is acknowledged that a kill -9 could lose.
 */
void relay_commit(struct relay *r);
/* Unix seconds for a monotonic ms stamp (query's "last packet"), by the
 * loop's last clock reading. */
int64_t relay_unix_time(const struct relay *r, uint64_t mono_ms);

/* The leg speaks ICE: an agent, or recovered with the peer's ICE. */
static inline bool relay_leg_ice(const struct call_leg *l)
{
	return l->agent || (l->recovered && l->peer_ice);
}

/* relay_ng.c: the ops table; offer and answer in relay_ng_offer.c */
extern const struct ng_ops relay_ng_ops;
int relay_ng_offer(void *ctx, uint64_t now_ms, const struct ng_request *req, struct ng_reply *rep);
int relay_ng_answer(void *ctx, uint64_t now_ms, const struct ng_request *req, struct ng_reply *rep);
/*
 * An offer/answer whose leg still gathers STUN/TURN candidates is parked
 * (NG_PENDING) until gathering completes or --gather-timeout passes, then
 * answered with the SDP of every candidate gathered. relay_pending_poll()
 * answers it when due (after the agent's events) and returns the parked
 * reply's deadline, UINT64_MAX without one; relay_pending_flush() answers
 * it now, with what the agent has (before the leg changes or goes).
 */
uint64_t relay_pending_poll(struct relay *r, struct call_leg *l, uint64_t now_ms);
void relay_pending_flush(struct relay *r, struct call_leg *l, uint64_t now_ms);

/* relay_metrics.c: the /metrics server on the loop (--metrics). open: 0
 * without --metrics, or -errno after logging. */
int relay_metrics_open(struct relay *r);
void relay_metrics_close(struct relay *r);
/* epoll reported events on src (a struct relay_evsrc of kind RELAY_EV_METRICS). */
void relay_metrics_event(struct relay *r, void *src, uint32_t events);
/* Every figure, now (refreshes the calls' fast-path counters). */
void relay_metrics_snapshot(struct relay *r, struct metrics_snapshot *s);
/* A leg changed state: ICE time to a selected pair, consent losses. */
void relay_metrics_leg_state(struct relay *r, struct call_leg *l, enum call_leg_state from,
			     enum call_leg_state to, uint64_t now_ms);

/* relay_service.c: systemd. READY=1 (NG listens, fast path attached) and the
 * watchdog; argv is kept for SIGHUP. Harmless without systemd. */
void relay_service_ready(struct relay *r, int argc, char *const argv[]);
/* RELAY_TIMER_WATCHDOG fired: WATCHDOG=1, re-arm. */
void relay_service_watchdog(struct relay *r, uint64_t now_ms);
/* SIGHUP: re-read argv and --config; apply what can change, name the rest. */
void relay_service_reload(struct relay *r);
void relay_service_stopping(struct relay *r);

/* relay_state.c: write every call atomically (tmp + fsync + rename + dir
 * fsync): a snapshot, which also compacts the journal. */
int relay_state_save(struct relay *r);
/* Make the calls changed (and deleted) since the last commit durable: one
 * append + fdatasync of their records, or a snapshot when the journal has
 * grown past the snapshot (or RELAY_STATE_CHECKPOINT_MS since the last). */
int relay_state_commit(struct relay *r, uint64_t now_ms);
/* c changed: it goes into the next commit. */
void relay_state_mark(struct relay *r, struct call *c);
/* c is being deleted: the next commit says so. */
void relay_state_gone(struct relay *r, struct call *c);
/* Close the journal: the next commit writes a snapshot. */
void relay_state_close(struct relay *r);
/* Shutdown: the journal closed, its lists freed. */
void relay_state_release(struct relay *r);
/* Rebuild calls from the state file; flows of the fast path that no
 * recovered call owns are removed, with a log line each. */
int relay_state_recover(struct relay *r, uint64_t now_ms);

/* relay_state.c: one call's records of the state file (and of Redis). */
void relay_state_put_call(FILE *f, struct relay *r, const struct call *c);
/* Calls from a state file's bytes (the file, or Redis' records); removes
 * the fast path's flows no call owns. The number of calls recovered. */
unsigned relay_state_apply(struct relay *r, const char *buf, size_t len, const char *name,
			   uint64_t now_ms);

/* relay_redis.c: --redis (the only user of hiredis). open: 0 or -ENOMEM
 * (an unreachable Redis is logged and retried); save: the turn's changes
 * (every call after a (re)connect or a failed write), as one transaction,
 * before the state file's commit empties its lists (0 or -EIO); resync:
 * the next save writes every call; load: every call's records as a state
 * file (*out malloc'd), 0 or -EIO. */
int relay_redis_open(struct relay *r);
void relay_redis_close(struct relay *r);
int relay_redis_save(struct relay *r);
void relay_redis_resync(struct relay *r);
int relay_redis_load(struct relay *r, char **out, size_t *len, unsigned *ncalls);
const char *relay_redis_where(const struct relay *r);
/* The standby's subscriber (keyspace notifications of the calls' hash):
 * subscribe returns its fd (for epoll) or -errno (-EPERM: the server has
 * notifications off and refused to turn them on; logged once, poll);
 * sub_read: notifications read (0 or more: re-read the calls), -EIO when
 * the connection is lost (closed; logged). */
int relay_redis_subscribe(struct relay *r);
int relay_redis_sub_read(struct relay *r);
void relay_redis_sub_close(struct relay *r);
/* Connected (and authenticated) now. */
bool relay_redis_up(const struct relay *r);

/* relay_ha.c: --redis-role standby. open: watch rtnetlink for the service
 * addresses (every --interface's) and refresh the copy of the calls on
 * each keyspace notification, or every RELAY_HA_REFRESH_MS when the server
 * sends none; when an address is here, take over. */
#define RELAY_HA_REFRESH_MS 1000
int relay_ha_open(struct relay *r);
void relay_ha_close(struct relay *r);
void relay_ha_event(struct relay *r, uint64_t now_ms); /* RELAY_EV_NETIF */
void relay_ha_tick(struct relay *r, uint64_t now_ms);  /* RELAY_TIMER_HA */
void relay_ha_notified(struct relay *r, uint64_t now_ms); /* RELAY_EV_REDIS_SUB */
/* Subscribed, the standby still reads the calls this often (a notification
 * lost while its connection was being made again); not subscribed, it
 * tries again this often (and polls every RELAY_HA_REFRESH_MS). */
#define RELAY_HA_SAFETY_MS 10000

#endif
