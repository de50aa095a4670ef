/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * call: the daemon's calls, legs and media streams, and the leg state
 * machine. A call (NG call-id) has two legs: leg 0 is the offerer (from-tag),
 * leg 1 the answerer (to-tag). Each leg has one stream per SDP m= line; a
 * stream owns the relay's sockets on the leg's interface and, when the leg
 * speaks ICE, one ICE agent. Media arriving on stream i of one leg leaves
 * from stream i of the other leg.
 *
 * This module holds state only: no sockets are opened here and no clock is
 * read (every function that needs the time takes now_ms). The daemon's
 * relay and NG handlers drive it.
 */
#ifndef ICEPATH_CALL_H
#define ICEPATH_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/fastpath.h"
#include "icepath/netaddr.h"
#include "relay_bundle.h"
#include "timerheap.h"

#define CALL_ID_MAX	 256 /* NG call-id, bytes incl. NUL */
#define CALL_TAG_MAX	 128 /* SIP tag, bytes incl. NUL */
#define CALL_MAX_STREAMS 8   /* m= lines per SDP we relay */
#define CALL_COMP_RTP	 0
#define CALL_COMP_RTCP	 1
#define CALL_NCOMP	 2

/*
 * Leg states (one transition function, call_leg_transition(), checks every
 * move against call_leg_transition_ok()):
 *
 *   NEW --(ports bound, SDP rewritten)--> ALLOCATED
 *   ALLOCATED --(ICE checks start)--> CHECKING
 *   ALLOCATED --(plain RTP: peer known from SDP or latched)--> CONNECTED
 *   CHECKING --(selected pair on every stream)--> CONNECTED
 *   CHECKING --(check list failed)--> FAILED
 *   CONNECTED --(RFC 7675 consent lost)--> CONSENT_LOST --(regained)--> CONNECTED
 *   CONNECTED/CONSENT_LOST/FAILED --(ICE restart)--> CHECKING
 *   any --(delete, timeout)--> CLOSED (final)
 */
enum call_leg_state {
	CALL_LEG_STATE_NEW,
	CALL_LEG_STATE_ALLOCATED,
	CALL_LEG_STATE_CHECKING,
	CALL_LEG_STATE_CONNECTED,
	CALL_LEG_STATE_CONSENT_LOST,
	CALL_LEG_STATE_FAILED,
	CALL_LEG_STATE_CLOSED,
	CALL_LEG_STATE_MAX,
};

const char *call_leg_state_str(enum call_leg_state s);
bool call_leg_transition_ok(enum call_leg_state from, enum call_leg_state to);

/* What the relay does toward the leg's peer about ICE (NG "ICE" flag). */
enum call_ice_mode {
	CALL_ICE_DEFAULT, /* keep ICE on a leg whose SDP had it */
	CALL_ICE_FORCE,	  /* offer ICE even if the peer's SDP had none */
	CALL_ICE_REMOVE,  /* strip ICE toward this peer, plain RTP */
};

/*
 * Which source a plain-RTP (non-ICE) stream accepts once it knows its peer
 * (rtpengine's NG flags). Learning itself is --endpoint-learning
 * (relay_media.c); a re-offer whose SDP moves the peer starts it again.
 * Media is symmetric: only the source media goes back to is forwarded, so
 * packets from another source are dropped and counted as foreign in every
 * mode but media-handover (rtpengine forwards them by default; a relay on a
 * public address must not let anyone inject media into a call).
 */
enum call_latch_mode {
	CALL_LATCH_DEFAULT,  /* another source is dropped (foreign) */
	CALL_LATCH_STRICT,   /* "strict-source": the same, counted as strict-source */
	CALL_LATCH_HANDOVER, /* "media-handover": the latest source is re-latched */
};

const char *call_latch_mode_str(enum call_latch_mode m);

struct call_counters {
	uint64_t packets, bytes;
};

struct call_leg;

/* One bound relay socket; the epoll loop's data pointer. kind is first so
 * the loop can tell it from its own control descriptors. */
struct call_sock {
	unsigned kind;
	int fd; /* -1 when closed */
	struct call_leg *leg;
	unsigned stream, comp;
};

struct call_stream {
	unsigned index; /* m= line number, 0-based */
	bool active;	/* port != 0 in the SDP */
	bool rtcp_mux;	/* RTCP shares the RTP port (RFC 5761) */
	bool offer_mux; /* the offer proposed rtcp-mux */
	bool ice;	/* this stream is part of the leg's ICE agent */
	/* RFC 9143: a BUNDLE group member other than the tagged one; its media
	 * rides on the tagged stream's transport, so it never gets a pair of
	 * its own and does not count toward the leg being connected. */
	bool bundled;
	int ice_stream;			       /* the agent's stream id, -1 without ICE */
	char media[32];			       /* "audio", "video" (struct sdp_mline sizes) */
	char proto[64];			       /* "RTP/AVP", "UDP/TLS/RTP/SAVPF" */
	struct netaddr local[CALL_NCOMP];      /* relay's bound sockets (family 0: none) */
	struct netaddr advertised[CALL_NCOMP]; /* what SDP/candidates announce */
	struct call_sock sock[CALL_NCOMP];
	/* Where media toward this leg goes: the selected pair's remote (ICE) or
	 * the SDP/latched address (plain RTP). remote_set says it is valid. */
	struct netaddr remote[CALL_NCOMP];
	bool remote_set[CALL_NCOMP];
	bool latched[CALL_NCOMP]; /* plain RTP: the peer is learned and kept */
	uint64_t latched_ms[CALL_NCOMP]; /* when it was (0: unknown, e.g. an old state file) */
	/* plain RTP, while learning (--endpoint-learning): when the window
	 * closes (0: no media yet) and how well the source now in remote[]
	 * matches the SDP (RELAY_LEARN_RANK_*) */
	uint64_t learn_until_ms[CALL_NCOMP];
	int learn_rank[CALL_NCOMP];
	/* The peer's address as its last SDP gave it (sdp_known: an SDP was
	 * read; a recovered stream has none), so a re-offer that moves the
	 * peer is told from one that repeats it. */
	struct netaddr sdp_remote[CALL_NCOMP];
	bool sdp_set[CALL_NCOMP], sdp_known[CALL_NCOMP];
	/* The selected pair goes through the relay's own TURN allocation: the
	 * fast path cannot frame it, userspace forwards. */
	bool via_turn;
	/* RFC 7675: permission to send toward this leg (ICE legs); plain RTP
	 * legs always have it. */
	bool consent;
	char local_type[8], remote_type[8]; /* selected pair's candidate types */
	char remote_ufrag[260]; /* peer's ice-ufrag: a change is an ICE restart (RFC 8445 §9) */
	char remote_pwd[260];	/* peer's ice-pwd: a recovered leg's consent checks use it */
	/* The relay's own ufrag/pwd on this stream, kept so that a restarted
	 * daemon can still answer the peer's consent checks (RFC 7675). */
	char local_ufrag[260], local_pwd[260];
	uint64_t nominated_ms; /* when the agent selected a pair, 0 before */
	uint64_t last_seen_ms; /* media received (userspace or fast path) */
	/* Media received from this leg's peer, by path and component: RTCP
	 * is counted as RTCP, whether on its own port or (userspace, RFC
	 * 5761) demuxed by payload type from a muxed RTP port (rx_fast =
	 * fast_base + the installed flows' counters, refreshed on demand;
	 * the fast path counts per flow, so per port). */
	struct call_counters rx_user[CALL_NCOMP], rx_fast[CALL_NCOMP], fast_base[CALL_NCOMP];
	/* Media sent toward this leg's peer by userspace, by component. */
	struct call_counters tx_user[CALL_NCOMP];
	/* Dropped: no path or no consent toward the other leg, or a foreign
	 * source; foreign: of those, media on an ICE leg from an address that
	 * is neither the selected pair's peer nor a valid pair's. */
	uint64_t dropped, foreign;
	/* Media for this ICE leg that came before it had a selected pair, held
	 * until the pair is selected (relay_media.c); NULL when none is. */
	struct relay_early *early;
	/* Fast-path flows for media ARRIVING on this stream's components. */
	struct fastpath_flow flow[CALL_NCOMP];
	bool flow_installed[CALL_NCOMP];
	/* What the installed flow's last packet took (relay_refresh_counters). */
	enum fastpath_flow_path fast_path[CALL_NCOMP];
	const char *fast_why[CALL_NCOMP]; /* static string from fastpath.h */
	/* A media worker's flow for media arriving on a component (the
	 * relay's terminated calls, relay_worker.c); NULL: the main loop. */
	struct relay_wflow *wflow[CALL_NCOMP];
};

struct call;

struct relay_pending;

struct call_leg {
	struct call *call;
	unsigned side; /* 0 = offerer (from-tag), 1 = answerer (to-tag) */
	char tag[CALL_TAG_MAX];
	enum call_leg_state state;
	char iface[32]; /* --interface NAME the leg's sockets are on */
	enum call_ice_mode ice_mode;
	bool ice_lite;	/* relay is ICE-lite toward this leg */
	bool peer_ice;	/* the peer's SDP carried ICE */
	bool peer_lite; /* the peer is ICE-lite */
	unsigned nstreams;
	struct call_stream streams[CALL_MAX_STREAMS];
	uint64_t state_ms;	 /* when it entered state */
	uint64_t checks_ms;	 /* when it last entered CHECKING (metrics) */
	struct ice_agent *agent; /* NULL without ICE; owned by the daemon */
	bool agent_started;
	bool recovered;			  /* rebuilt from the state file: no ICE agent state */
	bool consent_answered;		  /* the peer answered a recovered leg's check */
	struct timerheap_node ice_timer;  /* agent's next deadline */
	/* the NG reply of the offer/answer that wrote this leg's SDP, parked
	 * until the agent's gathering completes (relay_ng_offer.c) */
	struct relay_pending *pending;
	struct timerheap_node idle_timer; /* inactivity check (plain RTP) */
	/* Media encryption the relay terminates toward this leg (relay_crypto.h);
	 * NULL: the call passes its peers' protocol end to end (the default). */
	struct relay_crypto *crypto;
	/* BUNDLE toward this leg while the other leg takes a port pair per m=
	 * line (a terminated call, relay_bundle.h): what arrives on the bundle
	 * transport goes to its stream by SSRC/MID. bundle.on is false when
	 * both legs bundle alike (stream i goes to stream i) or neither does. */
	struct relay_bundle bundle;
};

struct call {
	char id[CALL_ID_MAX];
	struct call_leg legs[2];
	uint64_t created_ms;
	uint64_t last_activity_ms;
	/* NG delete with "delete-delay": the call lives (and forwards) until
	 * delete_at_ms, so a late BYE retransmission or a re-INVITE racing the
	 * BYE still finds it; 0 = no deletion pending. */
	uint64_t delete_at_ms;
	struct timerheap_node delete_timer;
	enum call_latch_mode latch; /* set by every offer/answer's flags */
	uint32_t offer_rtcp_mux;    /* the offer's NG rtcp-mux bits, for its answer */
	struct call *hnext;	  /* hash chain */
	struct call *next, *prev; /* list of all calls, creation order */
	/* marked by the relay's relay_call_changed(): flows and state to sync
	 * at the end of the loop's turn (changed_next: the turn's list) */
	bool changed;
	struct call *changed_next;
	/* changed since the state file's last commit (relay_state.c's list) */
	bool state_dirty;
	struct call *state_next;
	/* 1 + the index of the media worker that owns the call's flows
	 * (relay_worker.c), 0: none; how many flows it has there */
	unsigned worker;
	unsigned nwflows;
	/* made by an offer and in no commit that succeeded yet: a failed
	 * commit removes it (relay_commit()) */
	bool state_new;
};

typedef void (*call_leg_event_fn)(void *ctx, struct call_leg *leg, enum call_leg_state from,
				  enum call_leg_state to, const char *why);

struct call_table {
	struct call **buckets;
	size_t nbuckets;
	size_t ncalls;
	struct call *head, *tail;
	call_leg_event_fn on_state; /* may be NULL */
	void *ctx;
};

int call_table_init(struct call_table *t, size_t nbuckets);
/* Frees every call (the caller released sockets and agents before). */
void call_table_free(struct call_table *t);
struct call *call_find(const struct call_table *t, const char *id);
/* -EEXIST, -ENAMETOOLONG, -ENOMEM or 0 with *out. Leg tags start empty. */
int call_create(struct call_table *t, const char *id, uint64_t now_ms, struct call **out);
/* Unlink and free; streams must already be closed by the caller. */
void call_destroy(struct call_table *t, struct call *c);

/* A stream as a new call has it: no sockets (fd -1), no ICE, consent held. */
void call_stream_init(struct call_stream *s, unsigned index);
/* The leg with this tag, or NULL. */
struct call_leg *call_leg_by_tag(struct call *c, const char *tag);
static inline struct call_leg *call_leg_other(struct call_leg *l)
{
	return &l->call->legs[!l->side];
}

/*
 * The one transition function: checks the move (illegal moves return
 * -EINVAL and change nothing), records the time, logs, and raises the
 * table's on_state event. Moving to the same state is a no-op returning 0.
 */
int call_leg_transition(struct call_table *t, struct call_leg *l, enum call_leg_state to,
			const char *why, uint64_t now_ms);

/* Recompute a leg's state from its streams (every active stream has a
 * remote and consent -> CONNECTED, an ICE stream lost consent ->
 * CONSENT_LOST); used after ICE events. Returns the new state. */
enum call_leg_state call_leg_settle(struct call_table *t, struct call_leg *l, uint64_t now_ms);

/* Sum of a leg's counters over streams. */
void call_leg_totals(const struct call_leg *l, struct call_counters *rx_user,
		     struct call_counters *rx_fast, struct call_counters *tx_user);

/* ---- media port allocation ------------------------------------------------ */

/*
 * Ports are handed out as RTP/RTCP pairs (RTP even, RTCP = RTP + 1, RFC 3550
 * §11). With a random source (the daemon's) the search for a free pair
 * starts at a random pair, so nobody guesses the next call's port from his
 * own (issue 9: a guessed port plus one spoofed packet); without one (tests)
 * it goes round-robin over [min, max]. Either way a port freed by an ended
 * call is unlikely to come back soon (late packets of the old call do not
 * hit the new one). The pool only tracks use; binding is the caller's job, and a
 * port another process holds is reported back with call_ports_skip().
 */
struct call_ports {
	uint16_t min, max; /* min rounded up to even */
	uint16_t next;
	uint8_t *used; /* one byte per pair */
	size_t npairs, nused;
	uint32_t (*random)(void *ctx); /* NULL: round-robin */
	void *random_ctx;
};

int call_ports_init(struct call_ports *p, uint16_t min, uint16_t max);
void call_ports_free(struct call_ports *p);
/* An even RTP port (RTCP is +1), or -ENOSPC. */
int call_ports_get(struct call_ports *p);
void call_ports_put(struct call_ports *p, uint16_t rtp_port);
/* Mark a pair used (restart recovery). */
int call_ports_claim(struct call_ports *p, uint16_t rtp_port);

#endif
