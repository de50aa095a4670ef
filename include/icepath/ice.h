/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sans-I/O ICE agent (RFC 8445), with consent freshness (RFC 7675),
 * trickle ICE (RFC 8838) and a TURN client (RFC 8656) for relayed
 * candidates.
 *
 * The agent never opens a socket, reads a clock or sleeps. The caller:
 *   - binds one UDP socket per host base it declares (ice_agent_add_host),
 *   - feeds every datagram received on such a socket to ice_agent_recv(),
 *   - calls ice_agent_tick() at (or after) the deadline it returned last,
 *   - after every call into the agent, drains ice_agent_poll_transmit() (and
 *     sends each datagram from tx.local to tx.remote) and ice_agent_poll_event().
 * Time is a monotonic millisecond count chosen by the caller ("now_ms"); it
 * must never go backwards.
 *
 * One agent serves one ICE session: one or more streams (media lines), each
 * with one or more components (1 = RTP, 2 = RTCP; one with rtcp-mux).
 * Thousands of agents may share one event loop: an agent holds no global
 * state and allocates only at creation and when streams/candidates/pairs are
 * added.
 *
 * Return values: 0 (or a count / id) on success, -errno on failure:
 *   -EINVAL bad argument, -ENOENT unknown stream/component, -ENOSPC a limit
 *   below was reached, -EALREADY wrong moment (e.g. add_host after gather),
 *   -ENOTCONN no selected pair / no consent, -ENOMEM.
 */
#ifndef ICEPATH_ICE_H
#define ICEPATH_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "icepath/ice_candidate.h"
#include "icepath/ice_transmit.h" /* struct ice_transmit, ICE_LOG_*, ICE_STUN_RTO_MS/RC/RM */
#include "icepath/netaddr.h"

/* ---- protocol defaults (each overridable in struct ice_config) ----------- */
#define ICE_TA_MS 50 /* pacing of checks, RFC 8445 §14.2 */
/* RFC 8445 §14.3: check RTO = MAX(500 ms, Ta * (Num-Waiting + Num-In-Progress)) */
#define ICE_RTO_MIN_MS		500
#define ICE_CONSENT_INTERVAL_MS 5000  /* RFC 7675 §5.1, randomised to 0.8..1.2 */
#define ICE_CONSENT_TIMEOUT_MS	30000 /* RFC 7675 §5.1 */
#define ICE_KEEPALIVE_MS	15000 /* Binding indication when idle, RFC 8445 §11 (Tr >= 15 s) */
#define ICE_MAX_PAIRS_DEFAULT	100   /* check-list limit, RFC 8445 §6.1.2.5 */
/*
 * Longest wait, from the start of checks on a stream (or from its ICE
 * restart), for a nominated pair on each component; then the component
 * fails (ICE_EVENT_FAILED, error -ETIMEDOUT). RFC 8445 leaves it open; a
 * controlled agent whose peer never nominates would otherwise wait forever.
 * 60 s: longer than a full check transaction (39.5 s, RFC 8489 §6.2.1) plus
 * the controlling side's nomination wait, in line with the media timeouts
 * of SIP gateways, short enough not to hold a call leg's ports for ever.
 */
#define ICE_NOMINATION_TIMEOUT_MS   60000
#define ICE_NOMINATION_TIMEOUT_NONE UINT32_MAX /* ice_config: wait for ever */

/* ---- limits ----------------------------------------------------------------- */
#define ICE_MAX_STREAMS		  16
#define ICE_MAX_COMPONENTS	  4    /* per stream; 1..ICE_MAX_COMPONENTS */
#define ICE_MAX_HOSTS		  8    /* host bases per component */
#define ICE_MAX_LOCAL_CANDIDATES  32   /* per stream, all types and components */
#define ICE_MAX_REMOTE_CANDIDATES 64   /* per stream, incl. peer-reflexive */
#define ICE_MAX_SERVERS		  4    /* STUN servers, and TURN servers */
#define ICE_UFRAG_MAX		  257  /* RFC 8839 §5.4: 4..256 ice-chars, + NUL */
#define ICE_PWD_MAX		  257  /* RFC 8839 §5.4: 22..256 ice-chars, + NUL */

/* ---- configuration ------------------------------------------------------------ */

/*
 * Zero-initialise, then set what you need: every 0 means "the default above"
 * (controlling = false, lite = false, random = seeded PRNG, no log).
 */
struct ice_config {
	bool controlling;   /* initial role; may flip on a 487 role conflict (§7.3.1.1) */
	bool lite;	    /* we are an ICE-lite agent (§2.5): no checks, no gathering */
	uint32_t ta_ms;	    /* 0: ICE_TA_MS; one check per Ta across all streams */
	uint32_t rto_ms;    /* 0: ICE_STUN_RTO_MS (STUN/TURN server transactions) */
	uint32_t rc;	    /* 0: ICE_STUN_RC; connectivity checks use it too */
	uint32_t rm;	    /* 0: ICE_STUN_RM */
	uint32_t max_pairs; /* per stream; 0: ICE_MAX_PAIRS_DEFAULT */
	uint32_t consent_interval_ms; /* 0: ICE_CONSENT_INTERVAL_MS */
	uint32_t consent_timeout_ms;  /* 0: ICE_CONSENT_TIMEOUT_MS */
	/* 0: ICE_KEEPALIVE_MS. Binding indications on the selected pair sent
	 * by a lite agent; a full agent's consent checks keep NAT bindings
	 * open already (RFC 8445 §11, RFC 7675). */
	uint32_t keepalive_ms;
	/* 0: ICE_NOMINATION_TIMEOUT_MS; ICE_NOMINATION_TIMEOUT_NONE: never */
	uint32_t nomination_timeout_ms;
	/*
	 * Only relayed candidates (policy "relay", e.g. to hide the host
	 * addresses or force media through a TURN server): host bases serve
	 * only to talk to the TURN servers; no STUN server is asked; host and
	 * server-reflexive candidates are neither announced, listed nor
	 * paired; the default candidate is relayed; checks arriving at a host
	 * base directly (not through the TURN allocation) are dropped
	 * unanswered. ice_agent_gather() then needs a TURN server (-EINVAL).
	 * Not with lite (-EINVAL from ice_agent_new).
	 */
	bool relay_only;
	const char *software; /* SOFTWARE attribute, copied; NULL: none */
	/* RFC 8445 §7.3.1.1 tie-breaker; 0: a random one (what a new agent
	 * wants; ice_agent_resume() passes the recovered leg's own). */
	uint64_t tiebreaker;
	/* Cryptographic randomness (ufrag/pwd, tie-breaker, transaction ids).
	 * NULL: a PRNG seeded with `seed` (tests; not for production). */
	void (*random)(void *buf, size_t len, void *ctx);
	void *random_ctx;
	uint64_t seed;
	void (*log)(void *ctx, enum ice_log_level level, const char *msg);
	void *log_ctx;
	/*
	 * RFC 8445 §14.2 paces checks per implementation, not per agent: an
	 * owner of many agents (a relay's legs) keeps one budget (e.g. a
	 * token every Ta) and the agent asks it before each paced check
	 * (ordinary, triggered or nominating). Return 0 to grant (and take
	 * the token), or the time the next token is due: the agent asks again
	 * then (its deadline says so). NULL: the agent's own Ta alone.
	 */
	uint64_t (*pace)(void *ctx, uint64_t now_ms);
	void *pace_ctx;
};

/* ---- state machines ------------------------------------------------------------ */

/* The agent, over all streams (RFC 8445 §6.1.2.1 check-list states rolled up). */
enum ice_agent_state {
	ICE_AGENT_STATE_NEW,	      /* created; gathering may run */
	ICE_AGENT_STATE_CHECKING,     /* started; no component selected yet on some stream */
	ICE_AGENT_STATE_CONNECTED,    /* every component of every stream has a selected pair */
	ICE_AGENT_STATE_COMPLETED,    /* connected, and no check list has checks left */
	ICE_AGENT_STATE_DISCONNECTED, /* consent lost on a selected pair */
	ICE_AGENT_STATE_FAILED,	      /* a component can never get a pair (RFC 8445 §8.1.2) */
	ICE_AGENT_STATE_CLOSED,	      /* released */
};

/* A candidate pair in a check list (RFC 8445 §6.1.2.6). */
enum ice_pair_state {
	ICE_PAIR_STATE_FROZEN,
	ICE_PAIR_STATE_WAITING,
	ICE_PAIR_STATE_IN_PROGRESS,
	ICE_PAIR_STATE_SUCCEEDED,
	ICE_PAIR_STATE_FAILED,
};

/* Consent to send on a selected pair (RFC 7675). */
enum ice_consent_state {
	ICE_CONSENT_STATE_NONE,	   /* no selected pair */
	ICE_CONSENT_STATE_GRANTED, /* an authenticated response within the timeout */
	ICE_CONSENT_STATE_LOST,	   /* none for consent_timeout_ms: sending MUST stop; final
				    * for the pair (RFC 7675 §5.1), an ICE restart selects anew */
};

/* Server-reflexive / relayed gathering per host base. */
enum ice_gathering_state {
	ICE_GATHERING_STATE_NEW,
	ICE_GATHERING_STATE_GATHERING,
	ICE_GATHERING_STATE_COMPLETE,
};

const char *ice_agent_state_str(enum ice_agent_state s);
const char *ice_pair_state_str(enum ice_pair_state s);
const char *ice_consent_state_str(enum ice_consent_state s);
const char *ice_gathering_state_str(enum ice_gathering_state s);

/* ---- I/O records ----------------------------------------------------------------- */

enum ice_recv_verdict {
	ICE_RECV_HANDLED = 0, /* STUN for the agent (checks, responses, TURN control) */
	ICE_RECV_DATA = 1,    /* application data: see struct ice_recv_result */
	ICE_RECV_DROPPED = 2, /* malformed, unauthenticated, unknown base...: counted */
};

struct ice_recv_result {
	unsigned stream;
	unsigned component;
	/* The real remote: the peer behind the TURN server for relayed data. */
	struct netaddr remote;
	/* Points into the buffer given to ice_agent_recv() (TURN framing removed). */
	const uint8_t *data;
	size_t len;
	bool relayed;	  /* arrived through our TURN allocation */
	bool on_selected; /* remote is the selected pair's remote for this component */
};

/* Local and remote candidate of a pair. */
struct ice_pair_info {
	struct ice_candidate local;
	struct ice_candidate remote;
	struct netaddr base; /* the host base the pair's datagrams leave from */
	uint64_t priority;   /* RFC 8445 §6.1.2.3 */
	enum ice_pair_state state;
	bool nominated;
};

enum ice_event_type {
	/* a new local candidate (trickle it, RFC 8838); ev.candidate */
	ICE_EVENT_CANDIDATE,
	/* every base finished gathering for ev.stream: send end-of-candidates */
	ICE_EVENT_GATHERING_DONE,
	/* agent state changed: ev.state (ev.stream = ev.component = 0) */
	ICE_EVENT_STATE,
	/* ev.stream/ev.component now use ev.pair (first selection or a switch) */
	ICE_EVENT_SELECTED_PAIR,
	/* RFC 7675: stop sending on ev.stream/ev.component */
	ICE_EVENT_CONSENT_LOST,
	/* consent is granted again after a loss: only when an ICE restart (or
	 * a new nomination) selected a pair for ev.stream/ev.component; a
	 * late response on the lost pair never brings it back (RFC 7675
	 * §5.1), and its consent checks stop */
	ICE_EVENT_CONSENT_REGAINED,
	/* our role flipped after a 487 or a role-conflict request; ev.controlling */
	ICE_EVENT_ROLE_CHANGED,
	/* a TURN server refused or timed out; ev.error = STUN error code or -ETIMEDOUT */
	ICE_EVENT_TURN_ERROR,
	/* ev.stream/ev.component cannot connect: every pair failed (ev.error
	 * 0), or no pair was nominated within nomination_timeout_ms (ev.error
	 * -ETIMEDOUT) */
	ICE_EVENT_FAILED,
};

struct ice_event {
	enum ice_event_type type;
	unsigned stream;
	unsigned component;
	enum ice_agent_state state;
	bool controlling;
	int error;
	struct ice_candidate candidate;
	struct ice_pair_info pair;
};

struct ice_agent_stats {
	uint64_t rx_datagrams;
	uint64_t rx_data;	       /* returned as ICE_RECV_DATA */
	uint64_t rx_dropped_malformed; /* STUN/ChannelData framing errors */
	uint64_t rx_dropped_unauth;    /* integrity/username failures */
	uint64_t rx_dropped_unknown;   /* no such base, stray responses, non-STUN non-media */
	uint64_t checks_sent;	       /* connectivity checks incl. retransmissions */
	uint64_t checks_retransmitted;
	uint64_t checks_received; /* authenticated Binding requests */
	uint64_t responses_sent;  /* success responses */
	uint64_t errors_sent;	  /* 400/401/420/487 responses */
	uint64_t role_conflicts;
	uint64_t consent_requests_sent;
	uint64_t consent_lost;
	uint64_t triggered_checks;
	uint64_t turn_transactions;
	uint64_t keepalives_sent;
};

/* ---- the agent ---------------------------------------------------------------------- */

struct ice_agent;

int ice_agent_new(struct ice_agent **a, const struct ice_config *cfg);
void ice_agent_free(struct ice_agent *a); /* NULL is fine */

/* Returns the new stream id (0, 1, ...) or -errno. ncomponents: 1 (rtcp-mux) or 2. */
int ice_agent_add_stream(struct ice_agent *a, unsigned ncomponents);
/*
 * Declare a host candidate/base: the caller has a UDP socket bound to base
 * (a concrete address, not the wildcard). local_pref orders interfaces
 * (RFC 8445 §5.1.2.1: 65535 highest). Redundant candidates (§5.1.3) are
 * eliminated. Before or after ice_agent_gather(); after start it is trickled.
 */
int ice_agent_add_host(struct ice_agent *a, unsigned stream, unsigned component,
		       const struct netaddr *base, uint16_t local_pref);
/* Servers apply to every host base of the same address family. */
int ice_agent_add_stun_server(struct ice_agent *a, const struct netaddr *server);
int ice_agent_add_turn_server(struct ice_agent *a, const struct netaddr *server,
			      const char *username, const char *password);
/* Start srflx/relay gathering on every base (a no-op without servers: then
 * GATHERING_DONE follows at once). Host candidates exist as soon as added. */
int ice_agent_gather(struct ice_agent *a, uint64_t now_ms);
enum ice_gathering_state ice_agent_gathering_state(const struct ice_agent *a, unsigned stream);

/* Pointers stay valid until ice_agent_restart() or ice_agent_free(). */
int ice_agent_local_credentials(const struct ice_agent *a, unsigned stream, const char **ufrag,
				const char **pwd);
/* Copies up to max local candidates (all components); returns the total count. */
int ice_agent_local_candidates(const struct ice_agent *a, unsigned stream,
			       struct ice_candidate *out, size_t max);
/* Default candidate for the c= / m= lines (RFC 8445 §5.1.4): relay, else
 * srflx, else the highest-priority host. */
int ice_agent_default_candidate(const struct ice_agent *a, unsigned stream, unsigned component,
				struct ice_candidate *out);

/* Role before start (the SDP offerer is controlling unless it is lite). */
int ice_agent_set_controlling(struct ice_agent *a, bool controlling);
bool ice_agent_controlling(const struct ice_agent *a);
/* The peer's a=ice-pacing (RFC 8839 §5.5): checks go at the larger of it
 * and ice_config.ta_ms (capped at 1 s); 0: none. */
int ice_agent_set_remote_pacing(struct ice_agent *a, uint32_t pacing_ms);
/* The peer is ICE-lite (a=ice-lite): a full agent becomes controlling (§6.1.1). */
int ice_agent_set_remote_lite(struct ice_agent *a, bool lite);

/*
 * Remote credentials of a stream. Calling it again with different values on
 * a stream that has some is a remote ICE restart: remote candidates and the
 * check list are dropped, the selected pair keeps carrying media and consent
 * until a new pair is nominated. The caller must then also restart locally
 * (ice_agent_restart_stream) as RFC 8445 §9 requires of the answerer; that
 * call keeps the new remote credentials and candidates. The offerer's order
 * is the other way round: ice_agent_restart_stream, then (from the answer)
 * ice_agent_set_remote_credentials and the candidates.
 */
int ice_agent_set_remote_credentials(struct ice_agent *a, unsigned stream, const char *ufrag,
				     const char *pwd);
/* A remote candidate, before or after start (trickle), after the stream's
 * remote credentials (-EALREADY before). TCP candidates are kept out of
 * pairing (returns 0, ignored). Duplicates are ignored. */
int ice_agent_add_remote_candidate(struct ice_agent *a, unsigned stream,
				   const struct ice_candidate *c);
/* RFC 8838 §8: no more remote candidates for this stream (lets it fail). */
int ice_agent_remote_end_of_candidates(struct ice_agent *a, unsigned stream);

/* Begin connectivity checks (a lite agent only answers). Checks start on a
 * stream as soon as it has remote credentials and candidates. */
int ice_agent_start(struct ice_agent *a, uint64_t now_ms);
/*
 * ICE restart (RFC 8445 §9): new local ufrag/pwd, remote credentials and
 * candidates forgotten, check list rebuilt once new ones arrive. The
 * selected pair keeps media flowing (and consent running) until a pair of
 * the new generation is selected. Requests authenticated with the previous
 * local credentials are still answered until then.
 */
int ice_agent_restart_stream(struct ice_agent *a, unsigned stream, uint64_t now_ms);
int ice_agent_restart(struct ice_agent *a, uint64_t now_ms); /* every stream */

/*
 * Feed one datagram received on the socket bound to `local` from `remote`.
 * Returns enum ice_recv_verdict. res is filled for ICE_RECV_DATA. Never
 * modifies buf. Media (RTP/RTCP/DTLS...) costs O(1) in the number of pairs:
 * the first byte is demultiplexed (RFC 7983), the base found among the
 * agent's few host bases, and no check list is walked. ICE_RECV_DATA queues
 * nothing and leaves the deadline unchanged; after the other verdicts drain
 * the queues and re-read ice_agent_next_deadline().
 */
int ice_agent_recv(struct ice_agent *a, uint64_t now_ms, const struct netaddr *local,
		   const struct netaddr *remote, const uint8_t *buf, size_t len,
		   struct ice_recv_result *res);

/* Run what is due at now_ms; returns the next deadline (absolute ms;
 * UINT64_MAX when nothing is pending). Call again when it is reached. */
uint64_t ice_agent_tick(struct ice_agent *a, uint64_t now_ms);
/* The same deadline without running anything. */
uint64_t ice_agent_next_deadline(const struct ice_agent *a);

/* Pop one datagram to send; false when none is queued. */
bool ice_agent_poll_transmit(struct ice_agent *a, struct ice_transmit *tx);
/* Pop one event; false when none is queued. */
bool ice_agent_poll_event(struct ice_agent *a, struct ice_event *ev);

/*
 * Frame application data for the selected pair of stream/component: tx gets
 * the base and remote, and TURN framing (ChannelData, or a Send indication
 * until the channel is bound) when the local candidate is relayed; payload
 * points at data. -ENOTCONN without a selected pair or without consent
 * (RFC 7675 §5.1: sending MUST stop; judged against the latest now_ms the
 * agent was given, so a late tick does not extend it). Through a relay,
 * also -ENOTCONN when the allocation is gone and -EPERM while the TURN
 * permission for the peer is being re-installed (the next check does it).
 */
int ice_agent_send(struct ice_agent *a, unsigned stream, unsigned component, const uint8_t *data,
		   size_t len, struct ice_transmit *tx);

int ice_agent_selected_pair(const struct ice_agent *a, unsigned stream, unsigned component,
			    struct ice_pair_info *out);
/* All pairs of a stream's check list (for diagnostics); returns the count. */
int ice_agent_pairs(const struct ice_agent *a, unsigned stream, struct ice_pair_info *out,
		    size_t max);
enum ice_agent_state ice_agent_state(const struct ice_agent *a);
bool ice_agent_consent(const struct ice_agent *a, unsigned stream, unsigned component);
enum ice_consent_state ice_agent_consent_state(const struct ice_agent *a, unsigned stream,
					       unsigned component);
void ice_agent_get_stats(const struct ice_agent *a, struct ice_agent_stats *out);

/*
 * A session recovered after a restart of its owner (e.g. a daemon reading
 * its state file): what the previous agent had agreed with the peer, per
 * stream. Host bases only (no TURN); every component has its selected pair.
 */
struct ice_resume_stream {
	unsigned ncomponents; /* 1 (rtcp-mux) or 2..ICE_MAX_COMPONENTS */
	const char *local_ufrag, *local_pwd;   /* ours, as the peer knows them */
	const char *remote_ufrag, *remote_pwd; /* the peer's */
	struct {
		struct netaddr base;   /* host base of the selected pair (a bound socket) */
		struct netaddr remote; /* the peer's address on it */
	} pair[ICE_MAX_COMPONENTS];    /* pair[0] is component 1 */
};

/*
 * Create an agent for a recovered session: cfg as for ice_agent_new (its
 * `controlling` and `tiebreaker` the role and tie-breaker the session had),
 * streams 0..nstreams-1 from rs, each selected pair in place with consent
 * GRANTED from now_ms, the agent COMPLETED. It then runs the ordinary
 * consent checks (RFC 7675: every consent_interval_ms +-20 %, lost
 * consent_timeout_ms after the latest answered request), answers the
 * peer's checks with the local credentials, and takes part in an ICE
 * restart like any agent: a recovered session keeps and loses consent
 * exactly as a live one. The queue holds what a live agent would have
 * said: SELECTED_PAIR per component, then STATE (COMPLETED).
 * -EINVAL on bad credentials, addresses or counts; *a is NULL on error.
 */
int ice_agent_resume(struct ice_agent **a, const struct ice_config *cfg,
		     const struct ice_resume_stream *rs, unsigned nstreams, uint64_t now_ms);

/*
 * Shutdown: queue a Refresh with LIFETIME 0 for every TURN allocation
 * (RFC 8656 §7) and stop all timers; state becomes CLOSED. Drain
 * ice_agent_poll_transmit() before closing the sockets, then free.
 */
int ice_agent_release(struct ice_agent *a, uint64_t now_ms);

#endif
