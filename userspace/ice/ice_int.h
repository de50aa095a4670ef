/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the ICE agent's files (userspace/ice/ice_*.c): its objects and
 * the functions one file offers the others. Helpers live in the lowest
 * file (ice_base.c); no file includes another's header.
 *
 * Layout: an agent has host bases (each owned by one stream/component, each
 * with its srflx gathering transactions and TURN clients) and streams; a
 * stream has local and remote candidates, one check list (pairs) with its
 * triggered-check queue, and per component the selected pair, a copy that
 * survives an ICE restart and carries consent. Media never touches the check
 * list: recv finds the base (a handful per agent) and compares the source
 * with the selected pair's remote.
 */
#ifndef ICEPATH_ICE_INT_H
#define ICEPATH_ICE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/compiler.h"
#include "icepath/ice.h"
#include "icepath/stun.h"
#include "icepath/turn_client.h"
#include "ice_queue.h"

/* Controlling agent: how long to wait for higher-priority pairs once a
 * component has a valid pair before nominating the best one (RFC 8445 §8.1.1
 * leaves the stopping criterion to the agent). */
#define ICE_NOMINATION_WAIT_MS 1000
/* ...but a higher-priority pair is waited for only while its check could
 * still be answered as fast as the valid pair's was: until its first
 * transmission + 2 * that round trip + Ta (RFC 8445 §14.2). A check that
 * the peer's NAT dropped comes back as a triggered check (§7.3.1.4) and is
 * waited for again. Round trip assumed when none was measured: */
#define ICE_NOMINATION_RTT_DEFAULT_MS 100
/* Consent requests remembered: a response counts while its request is
 * younger than the consent timeout (RFC 7675 §5.1), and 30 s hold at least
 * 7 requests sent at 0.8 * 5 s. */
#define ICE_CONSENT_TIDS 8
#define ICE_TX_MAX	 2048
/* RFC 8445 §8.3: once ICE completes, candidates (and their TURN
 * allocations) that no selected pair uses are freed after this long, so a
 * late check of the peer still finds them. */
#define ICE_FREE_UNUSED_MS 3000

/* A candidate as the agent keeps it: struct ice_candidate without the SDP
 * extras (ext[], generation), a third of the size; agents are many. */
struct ice_cand {
	char foundation[ICE_FOUNDATION_MAX];
	uint16_t component;
	enum ice_cand_type type;
	uint32_t priority;
	struct netaddr addr;
	struct netaddr raddr;
};

struct ice_gather_txn {
	bool active;
	uint8_t tid[STUN_TID_LEN];
	unsigned sent;
	uint32_t rto;
	uint64_t next_ms;
};

struct ice_host {
	struct netaddr base;
	unsigned stream, comp;
	uint16_t local_pref;
	bool gathering;
	struct ice_gather_txn stun[ICE_MAX_SERVERS];
	struct turn_client *turn[ICE_MAX_SERVERS];
	bool turn_done[ICE_MAX_SERVERS];
};

struct ice_lcand {
	struct ice_cand c;
	int host; /* index in a->hosts: the base datagrams leave from */
	int turn; /* >= 0: relayed through hosts[host].turn[turn] */
};

struct ice_pair {
	unsigned l, r; /* indices into the stream's lcands / rcands */
	unsigned comp;
	uint64_t prio;
	enum ice_pair_state state;
	bool valid; /* in the valid list (RFC 8445 §7.2.5.3.2) */
	bool nominated;
	bool use_cand;		  /* controlling: the check in flight carries USE-CANDIDATE */
	bool nominate_on_success; /* controlled: USE-CANDIDATE arrived before our check succeeded */
	bool triggered;		  /* in the triggered-check queue (§7.3.1.4) */
	uint32_t trig_seq;	  /* its place in that FIFO */
	bool sent_controlling;	  /* our role when the check went out (§7.2.5.1) */
	bool inflight;
	int valid_idx; /* the valid pair this pair's check produced, or -1 */
	uint8_t tid[STUN_TID_LEN];
	unsigned sent;
	uint32_t rto, rto0;
	uint64_t next_ms;
	uint64_t txn_end_ms; /* when the transaction in flight times out */
	uint64_t first_tx_ms, last_tx_ms; /* of the transaction in flight */
	/* A transaction cancelled by a triggered check (§7.3.1.4): no more
	 * retransmissions, but its success still counts until it times out. */
	uint8_t cancel_tid[STUN_TID_LEN];
	uint64_t cancel_until_ms;
};

enum ice_list_state {
	ICE_LIST_RUNNING,
	ICE_LIST_COMPLETED,
	ICE_LIST_FAILED,
};

struct ice_sel {
	bool active;
	struct ice_cand local, remote;
	struct netaddr base;
	int host, turn;
	uint64_t prio;
	unsigned generation;
	enum ice_consent_state consent;
	uint64_t consent_next_ms;
	/* the latest send time of an answered request + timeout (RFC 7675 §5.1) */
	uint64_t consent_expiry_ms;
	uint8_t consent_tid[ICE_CONSENT_TIDS][STUN_TID_LEN];
	uint64_t consent_sent_ms[ICE_CONSENT_TIDS];
	unsigned consent_tid_next;
	uint64_t keepalive_next_ms;
};

struct ice_component {
	struct ice_sel sel;
	bool failed;		 /* FAILED event raised for this generation */
	bool timed_out;		 /* failed by the nomination timeout: final */
	uint64_t first_valid_ms; /* controlling: when a valid pair first appeared */
	uint32_t rtt_ms;	 /* fastest answered check of this generation; 0: none */
	int nominating;		 /* controlling: pair index with USE-CANDIDATE in flight, or -1 */
};

struct ice_stream {
	unsigned ncomp;
	unsigned generation;
	/* Credentials: heap strings of their own length (agents are many;
	 * 8 and 24 characters are usual, 256 the limit), ice_cred_none when
	 * unset; only ice_cred_set/ice_cred_move write them. */
	char *lufrag, *lpwd;
	char *prev_lufrag, *prev_lpwd;
	char *rufrag, *rpwd;
	/* the previous generation's remote credentials: consent on the kept
	 * selected pair uses them until the new remote ones are known */
	char *prev_rufrag, *prev_rpwd;
	bool have_remote;
	bool remote_restarted; /* remote credentials changed: our restart follows */
	bool remote_eoc;
	/* checks began (start with remote credentials, or a restart's new
	 * ones): components without a nomination fail at this + timeout */
	uint64_t checks_began_ms;
	bool checks_began;
	enum ice_list_state list;
	enum ice_gathering_state gathering;
	struct ice_component *comp; /* [0..ncomp): component c is comp[c - 1] */
	struct ice_lcand *lcands;   /* grown up to ICE_MAX_LOCAL_CANDIDATES */
	unsigned nl, cap_l;
	struct ice_cand *rcands; /* grown up to ICE_MAX_REMOTE_CANDIDATES */
	unsigned nr, cap_r;
	unsigned prflx_seq;
	struct ice_pair *pairs;
	unsigned npairs, cap_pairs;
	unsigned trig_len; /* pairs with triggered set */
	uint32_t trig_seq; /* FIFO order of the triggered-check queue */
};

struct ice_server {
	struct netaddr addr;
	char *user, *pass; /* TURN only */
};

struct ice_agent {
	struct ice_config cfg;
	uint64_t prng;
	bool controlling;
	bool remote_lite;
	bool started;
	bool gather_started;
	bool released;
	bool gather_pending; /* hosts added after ice_agent_gather() */
	uint64_t now;	     /* latest time the caller gave us */
	uint64_t tiebreaker;
	uint32_t remote_pacing_ms; /* the peer's a=ice-pacing, 0: none */
	uint64_t free_unused_ms;   /* COMPLETED: when to free what is unused; 0: not due */
	enum ice_agent_state state;
	uint64_t next_check_ms;
	/* No in-flight check retransmits before this (a lower bound, lowered
	 * by every first transmission, made exact by ice_checklist_tick): a
	 * connected agent's tick and deadline need not walk its check lists,
	 * cold memory when agents are many. */
	uint64_t pairs_due_ms;
	unsigned rr; /* round-robin over check lists */
	struct ice_server *stun; /* up to ICE_MAX_SERVERS, allocated as added */
	unsigned nstun, cap_stun;
	struct ice_server *turn;
	unsigned nturn, cap_turn;
	struct ice_host *hosts;
	unsigned nhosts, cap_hosts;
	struct ice_stream *streams[ICE_MAX_STREAMS];
	unsigned nstreams;
	struct ice_queue out; /* datagrams to send */
	struct ice_queue events;
	struct ice_agent_stats stats;
};

/* ---- responses to our checks ------------------------------------------------------ */

struct ice_rx {
	int host;
	int turn; /* >= 0: came through hosts[host].turn[turn] */
	struct netaddr remote;
	uint64_t now;
};

/* ---- ice_base.c ---- */
__attribute__((format(printf, 3, 4))) void ice_log(struct ice_agent *a, enum ice_log_level lvl,
						   const char *fmt, ...);
/* splitmix64: the test PRNG when no random source is configured */
void ice_prng(void *buf, size_t len, void *ctx);
void ice_random(struct ice_agent *a, void *buf, size_t len);
uint32_t ice_random_u32(struct ice_agent *a);
void ice_random_chars(struct ice_agent *a, char *out, size_t n);
void ice_push_event(struct ice_agent *a, const struct ice_event *ev);
void ice_queue_raw(struct ice_agent *a, const struct netaddr *local, const struct netaddr *remote,
		   const uint8_t *buf, size_t len);
void ice_turn_flush(struct ice_agent *a, unsigned h, unsigned t);
void ice_send_raw(struct ice_agent *a, int host, int turn, const struct netaddr *remote,
		  const uint8_t *buf, size_t len, uint64_t now);
struct ice_stream *ice_stream_get(const struct ice_agent *a, unsigned stream);
void ice_cand_export(const struct ice_cand *in, struct ice_candidate *out);
void ice_cand_import(const struct ice_candidate *in, struct ice_cand *out);
int ice_grow(void **arr, unsigned *cap, size_t elem, unsigned need, unsigned max);
extern char ice_cred_none[1];
int ice_cred_set(char **field, const char *value);
void ice_cred_move(char **to, char **from);
void ice_cred_free(char **field);
int ice_rcand_push(struct ice_stream *st, const struct ice_cand *c);
int ice_rcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr);
int ice_lcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr, int host,
		   int turn);

/* ---- ice_gather.c ---- */
bool ice_lcand_offered(const struct ice_agent *a, const struct ice_cand *c);
int ice_lcand_add(struct ice_agent *a, unsigned sidx, const struct ice_cand *c, int host, int turn,
		  bool announce, uint64_t now);
void ice_cand_fill(struct ice_cand *c, enum ice_cand_type type, unsigned comp, uint16_t local_pref,
		   const struct netaddr *addr, const struct netaddr *base,
		   const struct netaddr *raddr, const struct netaddr *server);
void ice_gathering_check(struct ice_agent *a);
int ice_on_gather_response(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx);
void ice_handle_turn_events(struct ice_agent *a, unsigned h, unsigned t, uint64_t now);
void ice_gather_tick(struct ice_agent *a, uint64_t now);
bool ice_lcand_alive(const struct ice_agent *a, const struct ice_lcand *lc);
void ice_gather_free_unused(struct ice_agent *a, uint64_t now);

/* ---- ice_checklist.c ---- */
void ice_pair_set_state(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
			enum ice_pair_state to);
uint64_t ice_pair_priority(bool controlling, uint32_t local, uint32_t remote);
int ice_pair_find(const struct ice_stream *st, unsigned l, unsigned r);
bool ice_same_base(const struct ice_lcand *x, const struct ice_lcand *y);
int ice_pair_add(struct ice_agent *a, struct ice_stream *st, unsigned l, unsigned r);
void ice_relay_permit(struct ice_agent *a, const struct ice_lcand *lc, const struct ice_cand *rc,
		      uint64_t now);
void ice_pair_add_for_local(struct ice_agent *a, struct ice_stream *st, unsigned l, uint64_t now);
void ice_pair_add_for_remote(struct ice_agent *a, struct ice_stream *st, unsigned r, uint64_t now);
void ice_recompute_priorities(struct ice_agent *a);
void ice_trigger(struct ice_agent *a, struct ice_stream *st, unsigned idx);
void ice_set_role(struct ice_agent *a, bool controlling);
int ice_build_check(struct ice_agent *a, const struct ice_stream *st, const struct ice_lcand *lc,
		    const char *rufrag, const char *lufrag, const char *rpwd,
		    const uint8_t tid[STUN_TID_LEN], bool use_cand, uint8_t *buf, size_t cap);
void ice_pair_transmit(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
		       uint64_t now);
bool ice_stream_checkable(const struct ice_agent *a, const struct ice_stream *st);
bool ice_check_pending(const struct ice_agent *a);
uint32_t ice_ta(const struct ice_agent *a);
void ice_paced_check(struct ice_agent *a, uint64_t now);
void ice_pair_info_fill(const struct ice_agent *a, const struct ice_stream *st,
			const struct ice_pair *p, struct ice_pair_info *out);
void ice_sel_info(const struct ice_sel *sel, struct ice_pair_info *out);
void ice_select(struct ice_agent *a, unsigned s, unsigned idx, uint64_t now);
void ice_stream_update_list(struct ice_agent *a, unsigned s);
bool ice_comp_waits_nomination(const struct ice_stream *st, unsigned c);
void ice_stream_nomination_timeout(struct ice_agent *a, unsigned s, uint64_t now);
void ice_pair_nomination_failed(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p);
void ice_nominate(struct ice_agent *a, uint64_t now);
uint64_t ice_nomination_due(const struct ice_agent *a, const struct ice_stream *st, unsigned c);
void ice_unfreeze_foundation(struct ice_agent *a, const char *lf, const char *rf);
void ice_checklist_tick(struct ice_agent *a, uint64_t now);

/* ---- ice_recv.c ---- */

/* ---- ice_consent.c ---- */
void ice_consent_set_state(struct ice_agent *a, unsigned s, unsigned c, enum ice_consent_state to,
			   bool selection);
uint64_t ice_consent_interval(struct ice_agent *a);
void ice_consent_tick(struct ice_agent *a, uint64_t now);
int ice_consent_on_response(struct ice_agent *a, unsigned s, const struct stun_msg *m,
			    const struct ice_rx *rx);

/* ---- ice_agent.c ---- */
void ice_agent_update_state(struct ice_agent *a);

#endif
