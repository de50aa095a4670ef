// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sans-I/O ICE agent (RFC 8445) with consent freshness (RFC 7675),
 * trickle (RFC 8838), ICE-lite on either side and relayed candidates
 * through turn_client.c.
 *
 * Layout: an agent has host bases (each owned by one stream/component, each
 * with its srflx gathering transactions and TURN clients) and streams; a
 * stream has local and remote candidates, one check list (pairs) with its
 * triggered-check queue, and per component the selected pair, a copy that
 * survives an ICE restart and carries consent. Media never touches the check
 * list: recv finds the base (a handful per agent) and compares the source
 * with the selected pair's remote.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/ice.h"
#include "icepath/stun.h"
#include "icepath/turn_client.h"
#include "icepath/compiler.h"
#include "ice_queue.h"

/* Controlling agent: how long to wait for higher-priority pairs once a
 * component has a valid pair before nominating the best one (RFC 8445 §8.1.1
 * leaves the stopping criterion to the agent). */
#define ICE_NOMINATION_WAIT_MS 1000
/* Consent requests remembered: a response counts while its request is
 * younger than the consent timeout (RFC 7675 §5.1), and 30 s hold at least
 * 7 requests sent at 0.8 * 5 s. */
#define ICE_CONSENT_TIDS 8
#define ICE_TX_MAX	 2048

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
	int nominating;		 /* controlling: pair index with USE-CANDIDATE in flight, or -1 */
};

struct ice_stream {
	unsigned ncomp;
	unsigned generation;
	char lufrag[ICE_UFRAG_MAX], lpwd[ICE_PWD_MAX];
	char prev_lufrag[ICE_UFRAG_MAX], prev_lpwd[ICE_PWD_MAX];
	char rufrag[ICE_UFRAG_MAX], rpwd[ICE_PWD_MAX];
	/* the previous generation's remote credentials: consent on the kept
	 * selected pair uses them until the new remote ones are known */
	char prev_rufrag[ICE_UFRAG_MAX], prev_rpwd[ICE_PWD_MAX];
	bool have_remote;
	bool remote_restarted; /* remote credentials changed: our restart follows */
	bool remote_eoc;
	/* checks began (start with remote credentials, or a restart's new
	 * ones): components without a nomination fail at this + timeout */
	uint64_t checks_began_ms;
	bool checks_began;
	enum ice_list_state list;
	enum ice_gathering_state gathering;
	struct ice_component *comp; /* [1..ncomp] */
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
	char software[128];
	uint64_t prng;
	bool controlling;
	bool remote_lite;
	bool started;
	bool gather_started;
	bool released;
	bool gather_pending; /* hosts added after ice_agent_gather() */
	uint64_t now;	     /* latest time the caller gave us */
	uint64_t tiebreaker;
	enum ice_agent_state state;
	uint64_t next_check_ms;
	unsigned rr; /* round-robin over check lists */
	struct ice_server stun[ICE_MAX_SERVERS];
	unsigned nstun;
	struct ice_server turn[ICE_MAX_SERVERS];
	unsigned nturn;
	struct ice_host *hosts;
	unsigned nhosts, cap_hosts;
	struct ice_stream *streams[ICE_MAX_STREAMS];
	unsigned nstreams;
	struct ice_queue out; /* datagrams to send */
	struct ice_queue events;
	struct ice_agent_stats stats;
};

/* ---- names ---------------------------------------------------------------- */

#define NAME(tab, v) ((unsigned)(v) < ARRAY_SIZE(tab) ? tab[v] : "unknown")

const char *ice_agent_state_str(enum ice_agent_state s)
{
	static const char *const t[] = {"new",		"checking", "connected", "completed",
					"disconnected", "failed",   "closed"};
	return NAME(t, s);
}

const char *ice_pair_state_str(enum ice_pair_state s)
{
	static const char *const t[] = {"frozen", "waiting", "in-progress", "succeeded", "failed"};
	return NAME(t, s);
}

const char *ice_consent_state_str(enum ice_consent_state s)
{
	static const char *const t[] = {"none", "granted", "lost"};
	return NAME(t, s);
}

const char *ice_gathering_state_str(enum ice_gathering_state s)
{
	static const char *const t[] = {"new", "gathering", "complete"};
	return NAME(t, s);
}

/* ---- plumbing ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void
ice_log(struct ice_agent *a, enum ice_log_level lvl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!a->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->cfg.log(a->cfg.log_ctx, lvl, msg);
}

/* splitmix64: the test PRNG when no random source is configured. */
static void ice_prng(void *buf, size_t len, void *ctx)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	while (len) {
		uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		z ^= z >> 31;
		for (int i = 0; i < 8 && len; i++, len--, z >>= 8)
			*p++ = (uint8_t)z;
	}
}

static void ice_random(struct ice_agent *a, void *buf, size_t len)
{
	a->cfg.random(buf, len, a->cfg.random_ctx);
}

static uint32_t ice_random_u32(struct ice_agent *a)
{
	uint32_t v;

	ice_random(a, &v, sizeof(v));
	return v;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
static void ice_random_chars(struct ice_agent *a, char *out, size_t n)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[64];

	ice_random(a, r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] & 63];
	out[n] = 0;
}

static void ice_push_event(struct ice_agent *a, const struct ice_event *ev)
{
	if (ice_queue_push(&a->events, ev, sizeof(*ev)))
		ice_log(a, ICE_LOG_ERROR, "out of memory: event %d lost", ev->type);
}

static void ice_queue_raw(struct ice_agent *a, const struct netaddr *local,
			  const struct netaddr *remote, const uint8_t *buf, size_t len)
{
	if (ice_queue_push_datagram(&a->out, local, remote, buf, len))
		ice_log(a, ICE_LOG_ERROR, "out of memory: datagram dropped");
}

static void ice_handle_turn_events(struct ice_agent *a, unsigned h, unsigned t, uint64_t now);

/* Move what a TURN client queued (permit/bind/wrap only queue requests;
 * events only come from recv and tick) to the agent's queue. */
static void ice_turn_flush(struct ice_agent *a, unsigned h, unsigned t)
{
	struct ice_transmit tx;

	while (turn_client_poll_transmit(a->hosts[h].turn[t], &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

/* Send buf to remote from a base, or through the TURN allocation. */
static void ice_send_raw(struct ice_agent *a, int host, int turn, const struct netaddr *remote,
			 const uint8_t *buf, size_t len, uint64_t now)
{
	struct ice_host *hh = &a->hosts[host];
	struct ice_transmit tx;
	int err;

	if (turn < 0) {
		ice_queue_raw(a, &hh->base, remote, buf, len);
		return;
	}
	err = turn_client_wrap(hh->turn[turn], remote, buf, len, true, &tx);
	if (err == -EPERM) {
		turn_client_permit(hh->turn[turn], remote, now);
		ice_turn_flush(a, (unsigned)host, (unsigned)turn);
		err = turn_client_wrap(hh->turn[turn], remote, buf, len, true, &tx);
	}
	if (err) {
		ice_log(a, ICE_LOG_DEBUG, "cannot relay a datagram: %s", strerror(-err));
		return;
	}
	ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

/* ---- agent state --------------------------------------------------------- */

static void ice_agent_set_state(struct ice_agent *a, enum ice_agent_state to)
{
	struct ice_event ev = {.type = ICE_EVENT_STATE};

	if (a->state == to)
		return;
	ice_log(a, ICE_LOG_INFO, "agent %s -> %s", ice_agent_state_str(a->state),
		ice_agent_state_str(to));
	a->state = to;
	ev.state = to;
	ev.controlling = a->controlling;
	ice_push_event(a, &ev);
}

static void ice_agent_update_state(struct ice_agent *a)
{
	bool all_sel = a->nstreams > 0, lost = false, failed = false, done = true;

	if (a->released) {
		ice_agent_set_state(a, ICE_AGENT_STATE_CLOSED);
		return;
	}
	if (!a->started)
		return;
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		if (st->list != ICE_LIST_COMPLETED)
			done = false;
		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_component *cp = &st->comp[c];

			if (!cp->sel.active)
				all_sel = false;
			if (cp->sel.active && cp->sel.consent == ICE_CONSENT_STATE_LOST)
				lost = true;
			if (cp->failed && !cp->sel.active)
				failed = true;
		}
	}
	if (failed)
		ice_agent_set_state(a, ICE_AGENT_STATE_FAILED);
	else if (lost)
		ice_agent_set_state(a, ICE_AGENT_STATE_DISCONNECTED);
	else if (all_sel)
		ice_agent_set_state(a,
				    done ? ICE_AGENT_STATE_COMPLETED : ICE_AGENT_STATE_CONNECTED);
	else
		ice_agent_set_state(a, ICE_AGENT_STATE_CHECKING);
}

/* ---- creation ------------------------------------------------------------ */

int ice_agent_new(struct ice_agent **out, const struct ice_config *cfg)
{
	struct ice_agent *a;
	struct ice_config def = {0};

	if (!out || (cfg && cfg->lite && cfg->relay_only))
		return -EINVAL; /* a lite agent gathers nothing to relay through */
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = cfg ? *cfg : def;
	if (a->cfg.software) {
		snprintf(a->software, sizeof(a->software), "%s", a->cfg.software);
		a->cfg.software = a->software;
	}
	if (!a->cfg.ta_ms)
		a->cfg.ta_ms = ICE_TA_MS;
	if (!a->cfg.rto_ms)
		a->cfg.rto_ms = ICE_STUN_RTO_MS;
	if (!a->cfg.rc)
		a->cfg.rc = ICE_STUN_RC;
	if (!a->cfg.rm)
		a->cfg.rm = ICE_STUN_RM;
	if (!a->cfg.max_pairs)
		a->cfg.max_pairs = ICE_MAX_PAIRS_DEFAULT;
	if (!a->cfg.consent_interval_ms)
		a->cfg.consent_interval_ms = ICE_CONSENT_INTERVAL_MS;
	if (!a->cfg.consent_timeout_ms)
		a->cfg.consent_timeout_ms = ICE_CONSENT_TIMEOUT_MS;
	if (!a->cfg.keepalive_ms)
		a->cfg.keepalive_ms = ICE_KEEPALIVE_MS;
	if (!a->cfg.nomination_timeout_ms)
		a->cfg.nomination_timeout_ms = ICE_NOMINATION_TIMEOUT_MS;
	if (!a->cfg.random) {
		a->prng = a->cfg.seed ? a->cfg.seed : 0x1ce9a7e0ull;
		a->cfg.random = ice_prng;
		a->cfg.random_ctx = &a->prng;
	}
	/* A lite agent is always controlled (RFC 8445 §6.1.1). */
	a->controlling = a->cfg.controlling && !a->cfg.lite;
	ice_random(a, &a->tiebreaker, sizeof(a->tiebreaker));
	a->next_check_ms = 0;
	ice_queue_init(&a->out);
	ice_queue_init(&a->events);
	*out = a;
	return 0;
}

void ice_agent_free(struct ice_agent *a)
{
	if (!a)
		return;
	for (unsigned h = 0; h < a->nhosts; h++)
		for (unsigned t = 0; t < ICE_MAX_SERVERS; t++)
			turn_client_free(a->hosts[h].turn[t]);
	free(a->hosts);
	for (unsigned t = 0; t < a->nturn; t++) {
		free(a->turn[t].user);
		free(a->turn[t].pass);
	}
	for (unsigned s = 0; s < a->nstreams; s++) {
		free(a->streams[s]->pairs);
		free(a->streams[s]->lcands);
		free(a->streams[s]->rcands);
		free(a->streams[s]->comp);
		free(a->streams[s]);
	}
	ice_queue_clear(&a->out);
	ice_queue_clear(&a->events);
	free(a);
}

static void ice_stream_new_credentials(struct ice_agent *a, struct ice_stream *st)
{
	/* 8 and 24 ice-chars: above the 4 and 22 minimum (RFC 8445 §5.3),
	 * 144 bits of password entropy (>= 128 required). */
	ice_random_chars(a, st->lufrag, 8);
	ice_random_chars(a, st->lpwd, 24);
}

int ice_agent_add_stream(struct ice_agent *a, unsigned ncomponents)
{
	struct ice_stream *st;

	if (ncomponents < 1 || ncomponents > ICE_MAX_COMPONENTS)
		return -EINVAL;
	if (a->nstreams >= ICE_MAX_STREAMS)
		return -ENOSPC;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->comp = calloc(ncomponents + 1, sizeof(*st->comp));
	if (!st->comp) {
		free(st);
		return -ENOMEM;
	}
	st->ncomp = ncomponents;
	for (unsigned c = 1; c <= ncomponents; c++)
		st->comp[c].nominating = -1;
	ice_stream_new_credentials(a, st);
	a->streams[a->nstreams] = st;
	return (int)a->nstreams++;
}

static struct ice_stream *ice_stream_get(const struct ice_agent *a, unsigned stream)
{
	return stream < a->nstreams ? a->streams[stream] : NULL;
}

/* ---- candidates ------------------------------------------------------------- */

static void ice_cand_export(const struct ice_cand *in, struct ice_candidate *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->foundation, in->foundation, sizeof(out->foundation));
	out->component = in->component;
	out->transport = ICE_TRANSPORT_UDP;
	out->priority = in->priority;
	out->addr = in->addr;
	out->type = in->type;
	out->raddr = in->raddr;
	out->generation = -1;
}

static void ice_cand_import(const struct ice_candidate *in, struct ice_cand *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->foundation, in->foundation, sizeof(out->foundation));
	out->foundation[ICE_FOUNDATION_MAX - 1] = 0;
	out->component = in->component;
	out->priority = in->priority;
	out->addr = in->addr;
	netaddr_unmap_v4(&out->addr);
	out->type = in->type;
	out->raddr = in->raddr;
}

/* Grow *arr (of elem-sized entries) to hold need, capped at max. */
static int ice_grow(void **arr, unsigned *cap, size_t elem, unsigned need, unsigned max)
{
	unsigned n;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -ENOSPC;
	n = *cap ? *cap * 2 : 4;
	if (n > max)
		n = max;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int ice_rcand_push(struct ice_stream *st, const struct ice_cand *c)
{
	int err = ice_grow((void **)&st->rcands, &st->cap_r, sizeof(*st->rcands), st->nr + 1,
			   ICE_MAX_REMOTE_CANDIDATES);

	if (err)
		return err;
	st->rcands[st->nr] = *c;
	return (int)st->nr++;
}

/* RFC 8445 §5.1.1.3: same type, base IP, server IP and transport share a
 * foundation. A hash of those, printed, is stable across streams. */
static void ice_foundation(char out[ICE_FOUNDATION_MAX], enum ice_cand_type type,
			   const struct netaddr *base, const struct netaddr *server)
{
	struct netaddr b = *base, s = {0};
	uint32_t h = 2166136261u;

	netaddr_set_port(&b, 0);
	if (server) {
		s = *server;
		netaddr_set_port(&s, 0);
	}
	h = (h ^ (uint32_t)type) * 16777619u;
	h = (h ^ netaddr_hash(&b)) * 16777619u;
	h = (h ^ (server ? netaddr_hash(&s) : 0)) * 16777619u;
	snprintf(out, ICE_FOUNDATION_MAX, "%u", h % 1000000000u);
}

static void ice_pair_add_for_local(struct ice_agent *a, struct ice_stream *st, unsigned l,
				   uint64_t now);
static void ice_pair_add_for_remote(struct ice_agent *a, struct ice_stream *st, unsigned r,
				    uint64_t now);

/* Signalled to the peer and paired: relay_only keeps host bases to itself. */
static bool ice_lcand_offered(const struct ice_agent *a, const struct ice_cand *c)
{
	return !a->cfg.relay_only || c->type == ICE_CAND_TYPE_RELAY;
}

/*
 * Add a local candidate unless redundant (RFC 8445 §5.1.3: same address and
 * same base as one of higher or equal priority). Returns its index or -1.
 */
static int ice_lcand_add(struct ice_agent *a, unsigned sidx, const struct ice_cand *c, int host,
			 int turn, bool announce, uint64_t now)
{
	struct ice_stream *st = a->streams[sidx];
	struct ice_lcand *lc;
	struct ice_event ev = {.type = ICE_EVENT_CANDIDATE};

	for (unsigned i = 0; i < st->nl; i++) {
		lc = &st->lcands[i];
		if (lc->c.component == c->component && netaddr_equal(&lc->c.addr, &c->addr) &&
		    lc->host == host && lc->turn == turn) {
			if (lc->c.priority >= c->priority)
				return -1;
		}
	}
	if (ice_grow((void **)&st->lcands, &st->cap_l, sizeof(*st->lcands), st->nl + 1,
		     ICE_MAX_LOCAL_CANDIDATES)) {
		ice_log(a, ICE_LOG_WARN, "stream %u: local candidate limit %d reached", sidx,
			ICE_MAX_LOCAL_CANDIDATES);
		return -1;
	}
	lc = &st->lcands[st->nl];
	lc->c = *c;
	lc->host = host;
	lc->turn = turn;
	if (announce && c->type != ICE_CAND_TYPE_PRFLX && ice_lcand_offered(a, c)) {
		ev.stream = sidx;
		ev.component = c->component;
		ice_cand_export(c, &ev.candidate);
		ice_push_event(a, &ev);
	}
	st->nl++;
	if (c->type == ICE_CAND_TYPE_HOST || c->type == ICE_CAND_TYPE_RELAY)
		ice_pair_add_for_local(a, st, st->nl - 1, now);
	return (int)st->nl - 1;
}

static void ice_cand_fill(struct ice_cand *c, enum ice_cand_type type, unsigned comp,
			  uint16_t local_pref, const struct netaddr *addr,
			  const struct netaddr *base, const struct netaddr *raddr,
			  const struct netaddr *server)
{
	memset(c, 0, sizeof(*c));
	c->component = (uint16_t)comp;
	c->type = type;
	c->addr = *addr;
	c->priority = ice_candidate_priority(ice_cand_type_pref(type), local_pref, comp);
	if (raddr)
		c->raddr = *raddr;
	ice_foundation(c->foundation, type, base, server);
}

int ice_agent_add_host(struct ice_agent *a, unsigned stream, unsigned component,
		       const struct netaddr *base, uint16_t local_pref)
{
	struct ice_stream *st = ice_stream_get(a, stream);
	struct ice_cand c;
	struct ice_host *h;
	unsigned n = 0;

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	if (!base || (netaddr_family(base) != AF_INET && netaddr_family(base) != AF_INET6) ||
	    netaddr_is_any(base) || !netaddr_port(base))
		return -EINVAL;
	if (a->released)
		return -EALREADY;
	for (unsigned i = 0; i < a->nhosts; i++) {
		if (netaddr_equal(&a->hosts[i].base, base))
			return -EEXIST; /* one socket, one base, one component */
		if (a->hosts[i].stream == stream && a->hosts[i].comp == component)
			n++;
	}
	if (n >= ICE_MAX_HOSTS)
		return -ENOSPC;
	if (a->nhosts == a->cap_hosts) {
		unsigned cap = a->cap_hosts ? a->cap_hosts * 2 : 4;
		struct ice_host *nh = realloc(a->hosts, cap * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		a->hosts = nh;
		a->cap_hosts = cap;
	}
	h = &a->hosts[a->nhosts];
	memset(h, 0, sizeof(*h));
	h->base = *base;
	h->stream = stream;
	h->comp = component;
	h->local_pref = local_pref;
	a->nhosts++;
	ice_cand_fill(&c, ICE_CAND_TYPE_HOST, component, local_pref, base, base, NULL, NULL);
	ice_lcand_add(a, stream, &c, (int)a->nhosts - 1, -1, true, 0);
	if (a->gather_started) {
		/* Trickle: gathered at the next tick, which is due now. */
		a->gather_pending = true;
		st->gathering = ICE_GATHERING_STATE_GATHERING;
	}
	return 0;
}

int ice_agent_add_stun_server(struct ice_agent *a, const struct netaddr *server)
{
	if (!server || !netaddr_port(server))
		return -EINVAL;
	if (a->nstun >= ICE_MAX_SERVERS)
		return -ENOSPC;
	if (a->gather_started)
		return -EALREADY;
	memset(&a->stun[a->nstun], 0, sizeof(a->stun[0]));
	a->stun[a->nstun++].addr = *server;
	return 0;
}

int ice_agent_add_turn_server(struct ice_agent *a, const struct netaddr *server,
			      const char *username, const char *password)
{
	struct ice_server *s;

	if (!server || !netaddr_port(server) || !username || !password ||
	    strlen(username) >= STUN_USERNAME_MAX || strlen(password) >= 256)
		return -EINVAL;
	if (a->nturn >= ICE_MAX_SERVERS)
		return -ENOSPC;
	if (a->gather_started)
		return -EALREADY;
	s = &a->turn[a->nturn];
	s->addr = *server;
	s->user = strdup(username);
	s->pass = strdup(password);
	if (!s->user || !s->pass) {
		free(s->user);
		free(s->pass);
		return -ENOMEM;
	}
	a->nturn++;
	return 0;
}

static void ice_stun_txn_send(struct ice_agent *a, unsigned h, unsigned i)
{
	struct ice_gather_txn *g = &a->hosts[h].stun[i];
	struct stun_builder b;
	uint8_t buf[128];
	int len;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, g->tid);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len > 0)
		ice_queue_raw(a, &a->hosts[h].base, &a->stun[i].addr, buf, (size_t)len);
}

static void ice_gather_host(struct ice_agent *a, unsigned h, uint64_t now)
{
	struct ice_host *hh = &a->hosts[h];
	struct turn_client_config tcfg;

	if (hh->gathering || a->cfg.lite)
		return;
	hh->gathering = true;
	for (unsigned i = 0; i < a->nstun; i++) {
		struct ice_gather_txn *g = &hh->stun[i];

		if (netaddr_family(&a->stun[i].addr) != netaddr_family(&hh->base) ||
		    a->cfg.relay_only)
			continue;
		g->active = true;
		ice_random(a, g->tid, sizeof(g->tid));
		g->sent = 1;
		g->rto = a->cfg.rto_ms;
		g->next_ms = now + g->rto;
		ice_stun_txn_send(a, h, i);
	}
	for (unsigned i = 0; i < a->nturn; i++) {
		if (netaddr_family(&a->turn[i].addr) != netaddr_family(&hh->base)) {
			hh->turn_done[i] = true;
			continue;
		}
		memset(&tcfg, 0, sizeof(tcfg));
		tcfg.server = a->turn[i].addr;
		tcfg.base = hh->base;
		tcfg.username = a->turn[i].user;
		tcfg.password = a->turn[i].pass;
		tcfg.software = a->cfg.software;
		tcfg.rto_ms = a->cfg.rto_ms;
		tcfg.rc = a->cfg.rc;
		tcfg.rm = a->cfg.rm;
		tcfg.random = a->cfg.random;
		tcfg.random_ctx = a->cfg.random_ctx;
		tcfg.log = a->cfg.log;
		tcfg.log_ctx = a->cfg.log_ctx;
		if (turn_client_new(&hh->turn[i], &tcfg) ||
		    turn_client_allocate(hh->turn[i], now)) {
			ice_log(a, ICE_LOG_ERROR, "cannot start a TURN allocation");
			hh->turn_done[i] = true;
		}
	}
}

static void ice_gathering_check(struct ice_agent *a)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];
		bool done = true;
		struct ice_event ev = {.type = ICE_EVENT_GATHERING_DONE, .stream = s};

		if (st->gathering != ICE_GATHERING_STATE_GATHERING)
			continue;
		for (unsigned h = 0; h < a->nhosts && done; h++) {
			if (a->hosts[h].stream != s)
				continue;
			for (unsigned i = 0; i < ICE_MAX_SERVERS; i++)
				if (a->hosts[h].stun[i].active ||
				    (a->hosts[h].turn[i] && !a->hosts[h].turn_done[i]))
					done = false;
		}
		if (done) {
			ice_log(a, ICE_LOG_INFO, "stream %u: gathering complete", s);
			st->gathering = ICE_GATHERING_STATE_COMPLETE;
			ice_push_event(a, &ev);
		}
	}
}

int ice_agent_gather(struct ice_agent *a, uint64_t now_ms)
{
	if (a->released)
		return -EALREADY;
	if (a->cfg.relay_only && !a->nturn)
		return -EINVAL; /* relay_only without a TURN server: nothing to offer */
	a->gather_started = true;
	if (now_ms > a->now)
		a->now = now_ms;
	for (unsigned s = 0; s < a->nstreams; s++)
		a->streams[s]->gathering = ICE_GATHERING_STATE_GATHERING;
	for (unsigned h = 0; h < a->nhosts; h++)
		ice_gather_host(a, h, now_ms);
	ice_gathering_check(a);
	return 0;
}

enum ice_gathering_state ice_agent_gathering_state(const struct ice_agent *a, unsigned stream)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	return st ? st->gathering : ICE_GATHERING_STATE_NEW;
}

int ice_agent_local_credentials(const struct ice_agent *a, unsigned stream, const char **ufrag,
				const char **pwd)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	if (ufrag)
		*ufrag = st->lufrag;
	if (pwd)
		*pwd = st->lpwd;
	return 0;
}

int ice_agent_local_candidates(const struct ice_agent *a, unsigned stream,
			       struct ice_candidate *out, size_t max)
{
	const struct ice_stream *st = ice_stream_get(a, stream);
	size_t n = 0;

	if (!st)
		return -ENOENT;
	for (unsigned i = 0; i < st->nl; i++) {
		if (st->lcands[i].c.type == ICE_CAND_TYPE_PRFLX ||
		    !ice_lcand_offered(a, &st->lcands[i].c))
			continue; /* learnt from checks, or kept back: never signalled */
		if (n < max)
			ice_cand_export(&st->lcands[i].c, &out[n]);
		n++;
	}
	return (int)n;
}

int ice_agent_default_candidate(const struct ice_agent *a, unsigned stream, unsigned component,
				struct ice_candidate *out)
{
	const struct ice_stream *st = ice_stream_get(a, stream);
	/* RFC 8445 §5.1.4: the candidate most likely to work: relayed, then
	 * server-reflexive, then host. */
	static const enum ice_cand_type order[] = {ICE_CAND_TYPE_RELAY, ICE_CAND_TYPE_SRFLX,
						   ICE_CAND_TYPE_HOST};

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	for (unsigned o = 0; o < 3; o++) {
		const struct ice_cand *best = NULL;

		for (unsigned i = 0; i < st->nl; i++) {
			const struct ice_cand *c = &st->lcands[i].c;

			if (c->component == component && c->type == order[o] &&
			    ice_lcand_offered(a, c) && (!best || c->priority > best->priority))
				best = c;
		}
		if (best) {
			ice_cand_export(best, out);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- pairs ------------------------------------------------------------------ */

/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
static uint64_t ice_pair_priority(bool controlling, uint32_t local, uint32_t remote)
{
	uint64_t g = controlling ? local : remote, d = controlling ? remote : local;

	return ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

/* The one transition function of the pair machine. */
static void ice_pair_set_state(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
			       enum ice_pair_state to)
{
	/* Legal moves (RFC 8445 §6.1.2.6): FROZEN -> SUCCEEDED only for a
	 * lite agent's pairs, valid by the peer's request; IN_PROGRESS ->
	 * WAITING on a 487 (§7.2.5.1); FAILED -> WAITING for a triggered check
	 * (§7.3.1.4); SUCCEEDED -> FAILED when a later check on the pair (a
	 * nomination) gets an asymmetric answer (§7.2.5.2.1). */
#define B(x) (1u << ICE_PAIR_STATE_##x)
	static const unsigned legal[] = {
		[ICE_PAIR_STATE_FROZEN] = B(WAITING) | B(IN_PROGRESS) | B(SUCCEEDED) | B(FAILED),
		[ICE_PAIR_STATE_WAITING] = B(IN_PROGRESS) | B(SUCCEEDED) | B(FAILED),
		[ICE_PAIR_STATE_IN_PROGRESS] = B(WAITING) | B(SUCCEEDED) | B(FAILED),
		[ICE_PAIR_STATE_SUCCEEDED] = B(FAILED),
		[ICE_PAIR_STATE_FAILED] = B(WAITING) | B(SUCCEEDED),
	};
#undef B
	char l[NETADDR_STRLEN], r[NETADDR_STRLEN];

	if (p->state == to)
		return;
	if (!(legal[p->state] & (1u << to))) {
		ice_log(a, ICE_LOG_ERROR, "pair: refused move %s -> %s",
			ice_pair_state_str(p->state), ice_pair_state_str(to));
		return;
	}
	ice_log(a, ICE_LOG_DEBUG, "pair %s -> %s: %s",
		netaddr_str(&st->lcands[p->l].c.addr, l, sizeof(l)),
		netaddr_str(&st->rcands[p->r].addr, r, sizeof(r)), ice_pair_state_str(to));
	p->state = to;
	if (to != ICE_PAIR_STATE_IN_PROGRESS)
		p->inflight = false;
}

static int ice_pair_find(const struct ice_stream *st, unsigned l, unsigned r)
{
	for (unsigned i = 0; i < st->npairs; i++)
		if (st->pairs[i].l == l && st->pairs[i].r == r)
			return (int)i;
	return -1;
}

/* Two local candidates send from the same place (RFC 8445 §6.1.2.4 pruning). */
static bool ice_same_base(const struct ice_lcand *x, const struct ice_lcand *y)
{
	return x->host == y->host && x->turn == y->turn;
}

/*
 * Add pair (l, r) in state FROZEN. Pruning (§6.1.2.4): srflx locals are
 * never paired (their base is a host), so a pair is redundant only if one
 * with the same base and remote exists. Past the check-list limit
 * (§6.1.2.5) the lowest-priority frozen pair makes room, or the new one is
 * dropped. Returns the index or -1.
 */
static int ice_pair_add(struct ice_agent *a, struct ice_stream *st, unsigned l, unsigned r)
{
	const struct ice_lcand *lc = &st->lcands[l];
	const struct ice_cand *rc = &st->rcands[r];
	uint64_t prio = ice_pair_priority(a->controlling, lc->c.priority, rc->priority);
	struct ice_pair *p;
	unsigned idx;

	for (unsigned i = 0; i < st->npairs; i++) {
		const struct ice_pair *q = &st->pairs[i];

		if (q->r == r && ice_same_base(&st->lcands[q->l], lc) &&
		    (st->lcands[q->l].c.type == ICE_CAND_TYPE_HOST ||
		     st->lcands[q->l].c.type == ICE_CAND_TYPE_RELAY))
			return (int)i;
	}
	if (!ice_grow((void **)&st->pairs, &st->cap_pairs, sizeof(*st->pairs), st->npairs + 1,
		      a->cfg.max_pairs)) {
		idx = st->npairs++;
	} else {
		int victim = -1;

		for (unsigned i = 0; i < st->npairs; i++) {
			const struct ice_pair *q = &st->pairs[i];

			if (q->state == ICE_PAIR_STATE_FROZEN && !q->triggered && q->prio < prio &&
			    (victim < 0 || q->prio < st->pairs[victim].prio))
				victim = (int)i;
		}
		if (victim < 0) {
			ice_log(a, ICE_LOG_WARN, "check list full (%u pairs): pair dropped",
				a->cfg.max_pairs);
			return -1;
		}
		idx = (unsigned)victim;
		for (unsigned i = 0; i < st->npairs; i++)
			if (st->pairs[i].valid_idx == (int)idx)
				st->pairs[i].valid_idx = -1;
	}
	p = &st->pairs[idx];
	memset(p, 0, sizeof(*p));
	p->l = l;
	p->r = r;
	p->comp = lc->c.component;
	p->prio = prio;
	p->state = ICE_PAIR_STATE_FROZEN;
	p->valid_idx = -1;
	return (int)idx;
}

static bool ice_pairable(const struct ice_agent *a, const struct ice_lcand *lc,
			 const struct ice_cand *rc)
{
	return lc->c.component == rc->component &&
	       netaddr_family(&lc->c.addr) == netaddr_family(&rc->addr) &&
	       (lc->c.type == ICE_CAND_TYPE_HOST || lc->c.type == ICE_CAND_TYPE_RELAY) &&
	       ice_lcand_offered(a, &lc->c);
}

static void ice_relay_permit(struct ice_agent *a, const struct ice_lcand *lc,
			     const struct ice_cand *rc, uint64_t now)
{
	if (lc->turn < 0)
		return;
	turn_client_permit(a->hosts[lc->host].turn[lc->turn], &rc->addr, now);
	ice_turn_flush(a, (unsigned)lc->host, (unsigned)lc->turn);
}

static void ice_pair_add_for_local(struct ice_agent *a, struct ice_stream *st, unsigned l,
				   uint64_t now)
{
	if (a->cfg.lite || !st->have_remote)
		return;
	for (unsigned r = 0; r < st->nr; r++) {
		if (!ice_pairable(a, &st->lcands[l], &st->rcands[r]))
			continue;
		if (ice_pair_add(a, st, l, r) >= 0)
			ice_relay_permit(a, &st->lcands[l], &st->rcands[r], now);
	}
}

static void ice_pair_add_for_remote(struct ice_agent *a, struct ice_stream *st, unsigned r,
				    uint64_t now)
{
	if (a->cfg.lite)
		return;
	for (unsigned l = 0; l < st->nl; l++) {
		if (!ice_pairable(a, &st->lcands[l], &st->rcands[r]))
			continue;
		if (ice_pair_add(a, st, l, r) >= 0)
			ice_relay_permit(a, &st->lcands[l], &st->rcands[r], now);
	}
}

static void ice_recompute_priorities(struct ice_agent *a)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			p->prio = ice_pair_priority(a->controlling, st->lcands[p->l].c.priority,
						    st->rcands[p->r].priority);
		}
	}
}

static void ice_trigger(struct ice_agent *a, struct ice_stream *st, unsigned idx)
{
	struct ice_pair *p = &st->pairs[idx];

	if (p->triggered)
		return;
	st->trig_len++;
	p->triggered = true;
	p->trig_seq = st->trig_seq++;
	a->stats.triggered_checks++;
}

static void ice_set_role(struct ice_agent *a, bool controlling)
{
	struct ice_event ev = {.type = ICE_EVENT_ROLE_CHANGED};

	if (a->controlling == controlling)
		return;
	ice_log(a, ICE_LOG_INFO, "role conflict: now %s",
		controlling ? "controlling" : "controlled");
	a->controlling = controlling;
	a->stats.role_conflicts++;
	ice_recompute_priorities(a);
	ev.controlling = controlling;
	ice_push_event(a, &ev);
}

int ice_agent_set_controlling(struct ice_agent *a, bool controlling)
{
	if (a->started)
		return -EALREADY;
	if (a->cfg.lite && controlling)
		return -EINVAL; /* RFC 8445 §6.1.1: lite is always controlled */
	a->controlling = controlling;
	ice_recompute_priorities(a);
	return 0;
}

bool ice_agent_controlling(const struct ice_agent *a)
{
	return a->controlling;
}

int ice_agent_set_remote_lite(struct ice_agent *a, bool lite)
{
	if (lite && a->cfg.lite)
		return -EOPNOTSUPP; /* lite facing lite: nobody would check */
	a->remote_lite = lite;
	if (lite) {
		/* §6.1.1: the full agent is controlling against a lite peer. */
		a->controlling = true;
		ice_recompute_priorities(a);
	}
	return 0;
}

/* ---- remote side ---------------------------------------------------------- */

static bool ice_valid_creds(const char *ufrag, const char *pwd)
{
	/* RFC 8839 §5.4; lenient on length (some peers use shorter pwds) but never
	 * empty and never something that breaks "ufrag:ufrag" parsing. */
	return ufrag && pwd && *ufrag && *pwd && strlen(ufrag) < ICE_UFRAG_MAX &&
	       strlen(pwd) < ICE_PWD_MAX && !strchr(ufrag, ':');
}

/* The nomination timeout runs from when a started stream has remote
 * credentials of its current generation. */
static void ice_stream_checks_begin(struct ice_agent *a, struct ice_stream *st, uint64_t now)
{
	if (!a->started || !st->have_remote || st->checks_began)
		return;
	st->checks_began = true;
	st->checks_began_ms = now;
}

static void ice_stream_reset_checks(struct ice_stream *st)
{
	st->nr = 0;
	st->npairs = 0;
	st->trig_len = 0;
	st->remote_eoc = false;
	st->checks_began = false;
	st->list = ICE_LIST_RUNNING;
	/* Local prflx candidates came from the old generation's checks. */
	for (unsigned i = 0; i < st->nl;) {
		if (st->lcands[i].c.type == ICE_CAND_TYPE_PRFLX) {
			memmove(&st->lcands[i], &st->lcands[i + 1],
				(st->nl - i - 1) * sizeof(st->lcands[0]));
			st->nl--;
		} else {
			i++;
		}
	}
	for (unsigned c = 1; c <= st->ncomp; c++) {
		st->comp[c].failed = false;
		st->comp[c].timed_out = false;
		st->comp[c].first_valid_ms = 0;
		st->comp[c].nominating = -1;
	}
}

int ice_agent_set_remote_credentials(struct ice_agent *a, unsigned stream, const char *ufrag,
				     const char *pwd)
{
	struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	if (!ice_valid_creds(ufrag, pwd))
		return -EINVAL;
	if (st->have_remote && !strcmp(st->rufrag, ufrag) && !strcmp(st->rpwd, pwd))
		return 0;
	if (st->have_remote) {
		ice_log(a, ICE_LOG_INFO, "stream %u: remote ICE restart", stream);
		st->generation++;
		st->remote_restarted = true;
		strcpy(st->prev_rufrag, st->rufrag);
		strcpy(st->prev_rpwd, st->rpwd);
		ice_stream_reset_checks(st);
	}
	strcpy(st->rufrag, ufrag);
	strcpy(st->rpwd, pwd);
	st->have_remote = true;
	ice_stream_checks_begin(a, st, a->now);
	return 0;
}

static int ice_rcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (st->rcands[i].component == comp && netaddr_equal(&st->rcands[i].addr, addr))
			return (int)i;
	return -1;
}

int ice_agent_add_remote_candidate(struct ice_agent *a, unsigned stream,
				   const struct ice_candidate *c)
{
	struct ice_stream *st = ice_stream_get(a, stream);
	struct ice_cand rc;
	int i;

	if (!st)
		return -ENOENT;
	if (!c || c->component < 1 || c->component > st->ncomp)
		return -EINVAL;
	if (c->transport != ICE_TRANSPORT_UDP)
		return 0; /* no ICE-TCP (RFC 6544): kept out of pairing */
	if (netaddr_family(&c->addr) != AF_INET && netaddr_family(&c->addr) != AF_INET6)
		return -EINVAL;
	if (!st->have_remote)
		return -EALREADY; /* credentials first: they name the generation */
	i = ice_rcand_find(st, c->component, &c->addr);
	if (i >= 0) {
		struct ice_sel *sel = &st->comp[c->component].sel;

		if (st->rcands[i].type != ICE_CAND_TYPE_PRFLX)
			return 0; /* a duplicate */
		/* A peer-reflexive candidate learnt from a check before the
		 * signalling caught up (trickle, RFC 8838 §11.4): it keeps its
		 * pairs and their state, and takes the signalled type,
		 * foundation and priority. */
		ice_cand_import(c, &st->rcands[i]);
		for (unsigned k = 0; k < st->npairs; k++)
			if (st->pairs[k].r == (unsigned)i)
				st->pairs[k].prio = ice_pair_priority(
					a->controlling, st->lcands[st->pairs[k].l].c.priority,
					c->priority);
		if (sel->active && netaddr_equal(&sel->remote.addr, &st->rcands[i].addr)) {
			sel->remote = st->rcands[i];
			sel->prio =
				ice_pair_priority(a->controlling, sel->local.priority, c->priority);
		}
		return 0;
	}
	ice_cand_import(c, &rc);
	i = ice_rcand_push(st, &rc);
	if (i < 0)
		return i;
	ice_pair_add_for_remote(a, st, st->nr - 1, a->now);
	if (st->list == ICE_LIST_FAILED)
		st->list = ICE_LIST_RUNNING;
	return 0;
}

int ice_agent_remote_end_of_candidates(struct ice_agent *a, unsigned stream)
{
	struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	st->remote_eoc = true;
	return 0;
}

int ice_agent_start(struct ice_agent *a, uint64_t now_ms)
{
	if (a->released)
		return -EALREADY;
	if (!a->nstreams)
		return -EINVAL;
	a->started = true;
	a->next_check_ms = now_ms;
	if (now_ms > a->now)
		a->now = now_ms;
	for (unsigned s = 0; s < a->nstreams; s++)
		ice_stream_checks_begin(a, a->streams[s], now_ms);
	ice_agent_update_state(a);
	return 0;
}

int ice_agent_restart_stream(struct ice_agent *a, unsigned stream, uint64_t now_ms)
{
	struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	strcpy(st->prev_lufrag, st->lufrag);
	strcpy(st->prev_lpwd, st->lpwd);
	ice_stream_new_credentials(a, st);
	if (st->remote_restarted) {
		/* The answer to a remote restart: the new remote credentials and
		 * candidates already form the new generation; keep them. */
		st->remote_restarted = false;
		ice_log(a, ICE_LOG_INFO, "stream %u: ICE restart answered", stream);
		return 0;
	}
	if (st->have_remote) {
		st->generation++;
		strcpy(st->prev_rufrag, st->rufrag);
		strcpy(st->prev_rpwd, st->rpwd);
	}
	st->have_remote = false;
	ice_stream_reset_checks(st);
	ice_log(a, ICE_LOG_INFO, "stream %u: ICE restart, generation %u", stream, st->generation);
	ice_agent_update_state(a);
	return 0;
}

int ice_agent_restart(struct ice_agent *a, uint64_t now_ms)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		int err = ice_agent_restart_stream(a, s, now_ms);

		if (err)
			return err;
	}
	return 0;
}

/* ---- checks ---------------------------------------------------------------- */

static uint32_t ice_check_rto(struct ice_agent *a)
{
	/* RFC 8445 §14.3: MAX(500 ms, Ta * (Num-Waiting + Num-In-Progress)). */
	uint64_t n = 0, rto;

	for (unsigned s = 0; s < a->nstreams; s++)
		for (unsigned i = 0; i < a->streams[s]->npairs; i++) {
			enum ice_pair_state ps = a->streams[s]->pairs[i].state;

			n += ps == ICE_PAIR_STATE_WAITING || ps == ICE_PAIR_STATE_IN_PROGRESS;
		}
	rto = (uint64_t)a->cfg.ta_ms * n;
	return rto > ICE_RTO_MIN_MS ? (uint32_t)(rto < 60000 ? rto : 60000) : ICE_RTO_MIN_MS;
}

static int ice_build_check(struct ice_agent *a, const struct ice_stream *st,
			   const struct ice_lcand *lc, const char *rufrag, const char *lufrag,
			   const char *rpwd, const uint8_t tid[STUN_TID_LEN], bool use_cand,
			   uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	char user[2 * ICE_UFRAG_MAX];
	uint16_t local_pref = a->hosts[lc->host].local_pref;

	snprintf(user, sizeof(user), "%s:%s", rufrag, lufrag);
	stun_build_init(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	/* §7.1.1: PRIORITY as if the check discovered a peer-reflexive candidate. */
	stun_build_u32(&b, STUN_ATTR_PRIORITY,
		       ice_candidate_priority(ICE_TYPE_PREF_PRFLX, local_pref, lc->c.component));
	stun_build_u64(&b, a->controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
		       a->tiebreaker);
	if (use_cand)
		stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	if (a->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, a->cfg.software);
	stun_build_integrity(&b, (const uint8_t *)rpwd, strlen(rpwd));
	stun_build_fingerprint(&b);
	return stun_build_finish(&b);
}

static void ice_pair_transmit(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
			      uint64_t now)
{
	const struct ice_lcand *lc = &st->lcands[p->l];
	uint8_t buf[ICE_TX_MAX];
	int len = ice_build_check(a, st, lc, st->rufrag, st->lufrag, st->rpwd, p->tid, p->use_cand,
				  buf, sizeof(buf));

	if (len < 0) {
		ice_log(a, ICE_LOG_ERROR, "cannot build a check: %s", stun_strerror(len));
		return;
	}
	a->stats.checks_sent++;
	ice_send_raw(a, lc->host, lc->turn, &st->rcands[p->r].addr, buf, (size_t)len, now);
}

/* First transmission of a check on p (ordinary, triggered or nominating). */
static void ice_pair_check(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
			   uint64_t now)
{
	ice_random(a, p->tid, sizeof(p->tid));
	p->sent = 1;
	p->rto = p->rto0 = ice_check_rto(a);
	p->next_ms = now + p->rto;
	/* RFC 8489 §6.2.1: Rc sends RTO apart, doubling, then Rm * RTO. */
	p->txn_end_ms =
		now + (uint64_t)p->rto0 * (((uint64_t)1 << (a->cfg.rc < 20 ? a->cfg.rc - 1 : 19)) -
					   1 + a->cfg.rm);
	p->inflight = true;
	p->sent_controlling = a->controlling;
	if (p->state != ICE_PAIR_STATE_SUCCEEDED)
		ice_pair_set_state(a, st, p, ICE_PAIR_STATE_IN_PROGRESS);
	ice_pair_transmit(a, st, p, now);
}

static bool ice_foundation_active(const struct ice_agent *a, const struct ice_stream *st0,
				  const struct ice_pair *p0)
{
	const char *lf = st0->lcands[p0->l].c.foundation, *rf = st0->rcands[p0->r].foundation;

	for (unsigned s = 0; s < a->nstreams; s++) {
		const struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			const struct ice_pair *p = &st->pairs[i];

			if ((p->state == ICE_PAIR_STATE_WAITING ||
			     p->state == ICE_PAIR_STATE_IN_PROGRESS) &&
			    !strcmp(st->lcands[p->l].c.foundation, lf) &&
			    !strcmp(st->rcands[p->r].foundation, rf))
				return true;
		}
	}
	return false;
}

static bool ice_stream_checkable(const struct ice_agent *a, const struct ice_stream *st)
{
	return st->have_remote && st->list == ICE_LIST_RUNNING;
}

/*
 * One paced check for a stream (RFC 8445 §6.1.4.2): the triggered queue
 * first, then the highest-priority Waiting pair; with none, unfreeze the
 * best Frozen pair (lowest component, highest priority) whose foundation
 * has no Waiting/In-Progress pair in any list (§6.1.2.6, §6.1.4.2).
 */
static bool ice_stream_next_check(struct ice_agent *a, struct ice_stream *st, uint64_t now)
{
	struct ice_pair *best = NULL;

	if (st->trig_len) {
		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (p->triggered && (!best || p->trig_seq - best->trig_seq > 0x80000000u))
				best = p;
		}
		best->triggered = false;
		st->trig_len--;
		ice_pair_check(a, st, best, now);
		return true;
	}
	for (unsigned i = 0; i < st->npairs; i++) {
		struct ice_pair *p = &st->pairs[i];

		if (p->state == ICE_PAIR_STATE_WAITING && (!best || p->prio > best->prio))
			best = p;
	}
	if (!best) {
		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (p->state != ICE_PAIR_STATE_FROZEN)
				continue;
			if (best && (p->comp > best->comp ||
				     (p->comp == best->comp && p->prio <= best->prio)))
				continue;
			if (!ice_foundation_active(a, st, p))
				best = p;
		}
		/* Every frozen foundation busy elsewhere: this list waits for
		 * those checks to succeed (§7.2.5.3.3 unfreezes) or fail. */
	}
	if (!best)
		return false;
	ice_pair_check(a, st, best, now);
	return true;
}

static bool ice_check_pending(const struct ice_agent *a)
{
	if (!a->started || a->cfg.lite || a->released)
		return false;
	for (unsigned s = 0; s < a->nstreams; s++) {
		const struct ice_stream *st = a->streams[s];

		if (!ice_stream_checkable(a, st))
			continue;
		if (st->trig_len)
			return true;
		for (unsigned i = 0; i < st->npairs; i++)
			if (st->pairs[i].state == ICE_PAIR_STATE_WAITING ||
			    st->pairs[i].state == ICE_PAIR_STATE_FROZEN)
				return true;
	}
	return false;
}

static void ice_paced_check(struct ice_agent *a, uint64_t now)
{
	if (now < a->next_check_ms || !ice_check_pending(a))
		return;
	for (unsigned k = 0; k < a->nstreams; k++) {
		unsigned s = (a->rr + k) % a->nstreams;
		struct ice_stream *st = a->streams[s];

		if (!ice_stream_checkable(a, st))
			continue;
		if (ice_stream_next_check(a, st, now)) {
			a->rr = s + 1;
			break;
		}
	}
	/* One check per Ta; with nothing checkable now, look again in Ta. */
	a->next_check_ms = now + a->cfg.ta_ms;
}

/* ---- selection, consent --------------------------------------------------------- */

static void ice_consent_set_state(struct ice_agent *a, unsigned s, unsigned c,
				  enum ice_consent_state to)
{
	struct ice_sel *sel = &a->streams[s]->comp[c].sel;
	struct ice_event ev = {.stream = s, .component = c};
	enum ice_consent_state from = sel->consent;

	if (from == to)
		return;
	/* NONE -> GRANTED at selection; then GRANTED <-> LOST (RFC 7675 §5.1). */
	if (to == ICE_CONSENT_STATE_NONE ||
	    (from == ICE_CONSENT_STATE_NONE && to != ICE_CONSENT_STATE_GRANTED)) {
		ice_log(a, ICE_LOG_ERROR, "consent: refused move %s -> %s",
			ice_consent_state_str(from), ice_consent_state_str(to));
		return;
	}
	ice_log(a, ICE_LOG_INFO, "stream %u component %u: consent %s -> %s", s, c,
		ice_consent_state_str(from), ice_consent_state_str(to));
	sel->consent = to;
	if (to == ICE_CONSENT_STATE_LOST) {
		ev.type = ICE_EVENT_CONSENT_LOST;
		a->stats.consent_lost++;
		ice_push_event(a, &ev);
	} else if (to == ICE_CONSENT_STATE_GRANTED && from == ICE_CONSENT_STATE_LOST) {
		ev.type = ICE_EVENT_CONSENT_REGAINED;
		ice_push_event(a, &ev);
	}
}

static uint64_t ice_consent_interval(struct ice_agent *a)
{
	/* RFC 7675 §5.1: uniformly random in [0.8, 1.2] * interval. */
	uint64_t base = a->cfg.consent_interval_ms;

	return base * 8 / 10 + ice_random_u32(a) % (base * 4 / 10 + 1);
}

static void ice_pair_info_fill(const struct ice_agent *a, const struct ice_stream *st,
			       const struct ice_pair *p, struct ice_pair_info *out)
{
	const struct ice_lcand *lc = &st->lcands[p->l];

	memset(out, 0, sizeof(*out));
	ice_cand_export(&lc->c, &out->local);
	ice_cand_export(&st->rcands[p->r], &out->remote);
	out->base = a->hosts[lc->host].base;
	out->priority = p->prio;
	out->state = p->state;
	out->nominated = p->nominated;
}

static void ice_sel_info(const struct ice_sel *sel, struct ice_pair_info *out)
{
	memset(out, 0, sizeof(*out));
	ice_cand_export(&sel->local, &out->local);
	ice_cand_export(&sel->remote, &out->remote);
	out->base = sel->base;
	out->priority = sel->prio;
	out->state = ICE_PAIR_STATE_SUCCEEDED;
	out->nominated = true;
}

static void ice_stream_update_list(struct ice_agent *a, unsigned s);

/*
 * RFC 8445 §8.1.2: a component with a nominated pair in a Running list
 * loses its other pairs: out of the triggered queue, Frozen/Waiting ones
 * (as Failed, our "removed") never checked, In-Progress ones cancelled (no
 * retransmission; a late success still validates). A pair the controlled
 * side was told to nominate (USE-CANDIDATE before our check succeeded)
 * stays: a peer nominating several pairs expects the best to win.
 */
static void ice_prune_component(struct ice_agent *a, struct ice_stream *st, unsigned comp,
				const struct ice_pair *keep)
{
	if (a->cfg.lite || st->list != ICE_LIST_RUNNING)
		return;
	for (unsigned i = 0; i < st->npairs; i++) {
		struct ice_pair *q = &st->pairs[i];

		if (q->comp != comp || q == keep || q->nominate_on_success)
			continue;
		if (q->triggered) {
			q->triggered = false;
			st->trig_len--;
		}
		if (q->state == ICE_PAIR_STATE_IN_PROGRESS && q->inflight) {
			memcpy(q->cancel_tid, q->tid, STUN_TID_LEN);
			q->cancel_until_ms = q->txn_end_ms;
		}
		if (q->state != ICE_PAIR_STATE_SUCCEEDED)
			ice_pair_set_state(a, st, q, ICE_PAIR_STATE_FAILED);
	}
}

/* A nominated valid pair: select it if it is the first, of a newer ICE
 * generation, or of higher priority (renomination switches pairs). */
static void ice_select(struct ice_agent *a, unsigned s, unsigned idx, uint64_t now)
{
	struct ice_stream *st = a->streams[s];
	struct ice_pair *p = &st->pairs[idx];
	struct ice_component *cp = &st->comp[p->comp];
	struct ice_sel *sel = &cp->sel;
	const struct ice_lcand *lc = &st->lcands[p->l];
	struct ice_event ev = {.type = ICE_EVENT_SELECTED_PAIR, .stream = s};
	char l[NETADDR_STRLEN], r[NETADDR_STRLEN];

	p->nominated = true;
	if (sel->active && sel->generation == st->generation &&
	    (sel->prio >= p->prio || (netaddr_equal(&sel->local.addr, &lc->c.addr) &&
				      netaddr_equal(&sel->remote.addr, &st->rcands[p->r].addr))))
		return;
	sel->active = true;
	sel->local = lc->c;
	sel->remote = st->rcands[p->r];
	sel->base = a->hosts[lc->host].base;
	sel->host = lc->host;
	sel->turn = lc->turn;
	sel->prio = p->prio;
	sel->generation = st->generation;
	/* A nominated pair has just had an authenticated response (or, lite, an
	 * authenticated request): consent holds from now (RFC 7675 §5.1). */
	sel->consent_expiry_ms = now + a->cfg.consent_timeout_ms;
	sel->consent_next_ms = now + ice_consent_interval(a);
	sel->keepalive_next_ms = now + a->cfg.keepalive_ms;
	ice_consent_set_state(a, s, p->comp, ICE_CONSENT_STATE_GRANTED);
	st->prev_lufrag[0] = 0; /* the old generation is over */
	ice_log(a, ICE_LOG_INFO, "stream %u component %u: selected %s %s -> %s %s", s, p->comp,
		ice_cand_type_str(lc->c.type), netaddr_str(&lc->c.addr, l, sizeof(l)),
		ice_cand_type_str(st->rcands[p->r].type),
		netaddr_str(&st->rcands[p->r].addr, r, sizeof(r)));
	if (lc->turn >= 0) {
		turn_client_bind_channel(a->hosts[lc->host].turn[lc->turn], &sel->remote.addr, now);
		ice_turn_flush(a, (unsigned)lc->host, (unsigned)lc->turn);
	}
	ev.component = p->comp;
	ice_sel_info(sel, &ev.pair);
	ice_push_event(a, &ev);
	ice_prune_component(a, st, p->comp, p);
	ice_stream_update_list(a, s);
}

/* Check-list state (RFC 8445 §6.1.2.1, §8.1.2, §8.2). */
static void ice_stream_update_list(struct ice_agent *a, unsigned s)
{
	struct ice_stream *st = a->streams[s];
	bool all_sel = true;

	if (a->cfg.lite) {
		/* A lite agent's list is done once the peer nominated a pair for
		 * every component; it never fails on its own. */
		for (unsigned c = 1; c <= st->ncomp; c++)
			if (!st->comp[c].sel.active || st->comp[c].sel.generation != st->generation)
				all_sel = false;
		st->list = all_sel ? ICE_LIST_COMPLETED : ICE_LIST_RUNNING;
		return;
	}
	if (!st->have_remote)
		return;
	for (unsigned c = 1; c <= st->ncomp; c++) {
		struct ice_component *cp = &st->comp[c];
		bool pending = false;

		if (cp->sel.active && cp->sel.generation == st->generation)
			continue;
		all_sel = false;
		if (cp->failed || !st->remote_eoc || st->gathering == ICE_GATHERING_STATE_GATHERING)
			continue;
		for (unsigned i = 0; i < st->npairs; i++) {
			const struct ice_pair *p = &st->pairs[i];

			if (p->comp != c)
				continue;
			if (p->state != ICE_PAIR_STATE_FAILED)
				pending = true;
		}
		if (!pending) {
			struct ice_event ev = {
				.type = ICE_EVENT_FAILED, .stream = s, .component = c};

			ice_log(a, ICE_LOG_WARN, "stream %u component %u: every pair failed", s, c);
			cp->failed = true;
			st->list = ICE_LIST_FAILED;
			ice_push_event(a, &ev);
		}
	}
	if (all_sel && st->list == ICE_LIST_RUNNING) {
		/* §8.1.2: nominated everywhere: stop checking this list, unless
		 * a triggered check (a renomination) is still to run. */
		for (unsigned i = 0; i < st->npairs; i++)
			if (st->pairs[i].triggered || st->pairs[i].inflight)
				return;
		st->list = ICE_LIST_COMPLETED;
		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (p->state == ICE_PAIR_STATE_FROZEN || p->state == ICE_PAIR_STATE_WAITING)
				ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
		}
	}
}

static bool ice_comp_waits_nomination(const struct ice_stream *st, unsigned c)
{
	const struct ice_component *cp = &st->comp[c];

	return !cp->failed && !(cp->sel.active && cp->sel.generation == st->generation);
}

/* No nomination within nomination_timeout_ms (ice_config): the component
 * fails and its checks stop, whatever the role. */
static void ice_stream_nomination_timeout(struct ice_agent *a, unsigned s, uint64_t now)
{
	struct ice_stream *st = a->streams[s];

	if (!st->checks_began || a->cfg.nomination_timeout_ms == ICE_NOMINATION_TIMEOUT_NONE ||
	    now < st->checks_began_ms + a->cfg.nomination_timeout_ms)
		return;
	for (unsigned c = 1; c <= st->ncomp; c++) {
		struct ice_event ev = {
			.type = ICE_EVENT_FAILED, .stream = s, .component = c, .error = -ETIMEDOUT};

		if (!ice_comp_waits_nomination(st, c))
			continue;
		ice_log(a, ICE_LOG_WARN,
			"stream %u component %u: no pair nominated within %u ms: failed", s, c,
			a->cfg.nomination_timeout_ms);
		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (p->comp != c)
				continue;
			if (p->triggered) {
				p->triggered = false;
				st->trig_len--;
			}
			p->inflight = false;
			p->cancel_until_ms = 0;
			if (p->state != ICE_PAIR_STATE_SUCCEEDED)
				ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
		}
		st->comp[c].failed = true;
		st->comp[c].timed_out = true;
		st->comp[c].nominating = -1;
		st->list = ICE_LIST_FAILED;
		ice_push_event(a, &ev);
	}
}

/* Controlling agent, regular nomination (RFC 8445 §8.1.1). */
static void ice_nominate(struct ice_agent *a, uint64_t now)
{
	if (!a->controlling || a->cfg.lite || !a->started)
		return;
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		if (!ice_stream_checkable(a, st))
			continue;
		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_component *cp = &st->comp[c];
			int best = -1;
			bool higher_pending = false;

			if (cp->nominating >= 0 ||
			    (cp->sel.active && cp->sel.generation == st->generation))
				continue;
			for (unsigned i = 0; i < st->npairs; i++) {
				const struct ice_pair *p = &st->pairs[i];

				if (p->comp == c && p->valid &&
				    (best < 0 || p->prio > st->pairs[best].prio))
					best = (int)i;
			}
			if (best < 0)
				continue;
			if (!cp->first_valid_ms)
				cp->first_valid_ms = now;
			for (unsigned i = 0; i < st->npairs; i++) {
				const struct ice_pair *p = &st->pairs[i];

				if (p->comp == c && p->prio > st->pairs[best].prio &&
				    (p->state == ICE_PAIR_STATE_FROZEN ||
				     p->state == ICE_PAIR_STATE_WAITING ||
				     p->state == ICE_PAIR_STATE_IN_PROGRESS))
					higher_pending = true;
			}
			if (higher_pending && now < cp->first_valid_ms + ICE_NOMINATION_WAIT_MS)
				continue;
			cp->nominating = best;
			st->pairs[best].use_cand = true;
			ice_pair_check(a, st, &st->pairs[best], now);
		}
	}
}

static void ice_consent_send(struct ice_agent *a, unsigned s, unsigned c, uint64_t now)
{
	struct ice_stream *st = a->streams[s];
	struct ice_sel *sel = &st->comp[c].sel;
	struct ice_lcand lc = {.c = sel->local, .host = sel->host, .turn = sel->turn};
	unsigned slot = sel->consent_tid_next++ % ICE_CONSENT_TIDS;
	uint8_t *tid = sel->consent_tid[slot];
	bool fresh = st->have_remote;
	uint8_t buf[ICE_TX_MAX];
	int len;

	/* RFC 7675 §5.1: a fresh transaction id for every request. */
	ice_random(a, tid, STUN_TID_LEN);
	sel->consent_sent_ms[slot] = now;
	/* During a restart the peer knows our new credentials once it has
	 * its new ones; before that only the selection's generation works. */
	len = ice_build_check(a, st, &lc, fresh ? st->rufrag : st->prev_rufrag,
			      fresh || !st->prev_lufrag[0] ? st->lufrag : st->prev_lufrag,
			      fresh ? st->rpwd : st->prev_rpwd, tid, false, buf, sizeof(buf));
	if (len < 0)
		return;
	a->stats.consent_requests_sent++;
	ice_send_raw(a, sel->host, sel->turn, &sel->remote.addr, buf, (size_t)len, now);
}

static void ice_keepalive_send(struct ice_agent *a, const struct ice_sel *sel, uint64_t now)
{
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN], buf[64];
	int len;

	ice_random(a, tid, sizeof(tid));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_INDICATION, tid);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len > 0) {
		a->stats.keepalives_sent++;
		ice_send_raw(a, sel->host, sel->turn, &sel->remote.addr, buf, (size_t)len, now);
	}
}

static void ice_consent_tick(struct ice_agent *a, uint64_t now)
{
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_sel *sel = &st->comp[c].sel;

			if (!sel->active)
				continue;
			if (sel->consent == ICE_CONSENT_STATE_GRANTED &&
			    now >= sel->consent_expiry_ms)
				ice_consent_set_state(a, s, c, ICE_CONSENT_STATE_LOST);
			if (a->cfg.lite) {
				/* A lite agent sends no checks; keepalives (§11) keep NAT
				 * bindings open; its consent comes from the peer's checks. */
				if (now >= sel->keepalive_next_ms) {
					ice_keepalive_send(a, sel, now);
					sel->keepalive_next_ms = now + a->cfg.keepalive_ms;
				}
				continue;
			}
			if (now >= sel->consent_next_ms) {
				ice_consent_send(a, s, c, now);
				sel->consent_next_ms = now + ice_consent_interval(a);
			}
		}
	}
}

/* ---- responses to our checks ------------------------------------------------------ */

struct ice_rx {
	int host;
	int turn; /* >= 0: came through hosts[host].turn[turn] */
	struct netaddr remote;
	uint64_t now;
};

static void ice_unfreeze_foundation(struct ice_agent *a, const char *lf, const char *rf)
{
	/* §7.2.5.3.3: pairs sharing the foundation of a success go Waiting. */
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (p->state == ICE_PAIR_STATE_FROZEN &&
			    !strcmp(st->lcands[p->l].c.foundation, lf) &&
			    !strcmp(st->rcands[p->r].foundation, rf))
				ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
		}
	}
}

static int ice_lcand_find(const struct ice_stream *st, unsigned comp, const struct netaddr *addr,
			  int host, int turn)
{
	for (unsigned i = 0; i < st->nl; i++) {
		const struct ice_lcand *lc = &st->lcands[i];

		if (lc->c.component == comp && lc->host == host && lc->turn == turn &&
		    netaddr_equal(&lc->c.addr, addr))
			return (int)i;
	}
	return -1;
}

static void ice_on_success(struct ice_agent *a, unsigned s, unsigned idx, const struct stun_msg *m,
			   const struct ice_rx *rx)
{
	struct ice_stream *st = a->streams[s];
	struct ice_pair *p = &st->pairs[idx];
	const struct ice_lcand *lc = &st->lcands[p->l];
	const struct stun_attr *xa = stun_msg_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	struct netaddr mapped;
	int l, v;

	if (!xa || stun_attr_get_xor_addr(m, xa, &mapped)) {
		ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
		return;
	}
	netaddr_unmap_v4(&mapped);
	/* §7.2.5.3.1: a mapped address we do not know is a local prflx candidate
	 * with the priority our check carried. */
	l = ice_lcand_find(st, p->comp, &mapped, lc->host, lc->turn);
	if (l < 0) {
		for (unsigned i = 0; i < st->nl && l < 0; i++)
			if (st->lcands[i].c.component == p->comp &&
			    netaddr_equal(&st->lcands[i].c.addr, &mapped) &&
			    ice_same_base(&st->lcands[i], lc))
				l = (int)i;
	}
	if (l < 0) {
		struct ice_cand c;
		struct netaddr base = lc->c.addr;

		ice_cand_fill(&c, ICE_CAND_TYPE_PRFLX, p->comp, a->hosts[lc->host].local_pref,
			      &mapped, &base, &base, NULL);
		l = ice_lcand_add(a, s, &c, lc->host, lc->turn, false, rx->now);
		if (l < 0) {
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
			return;
		}
		p = &st->pairs[idx];
	}
	/* §7.2.5.3.2: the valid pair is (mapped candidate, remote): the checked
	 * pair itself when the mapping is its local candidate, else a pair that
	 * only lives in the valid list (same base, so it sends the same way). */
	v = -1;
	for (unsigned i = 0; i < st->npairs; i++)
		if (st->pairs[i].l == (unsigned)l && st->pairs[i].r == p->r)
			v = (int)i;
	if (v < 0 && !ice_grow((void **)&st->pairs, &st->cap_pairs, sizeof(*st->pairs),
			       st->npairs + 1, a->cfg.max_pairs)) {
		struct ice_pair *q = &st->pairs[st->npairs];

		p = &st->pairs[idx]; /* the array may have moved */

		memset(q, 0, sizeof(*q));
		q->l = (unsigned)l;
		q->r = p->r;
		q->comp = p->comp;
		q->prio = ice_pair_priority(a->controlling, st->lcands[l].c.priority,
					    st->rcands[p->r].priority);
		q->state = ICE_PAIR_STATE_SUCCEEDED;
		q->valid_idx = (int)st->npairs;
		v = (int)st->npairs++;
	}
	if (v < 0)
		v = (int)idx; /* list full: the checked pair stands in */
	ice_pair_set_state(a, st, p, ICE_PAIR_STATE_SUCCEEDED);
	p->valid_idx = v;
	st->pairs[v].valid = true;
	if (st->pairs[v].state != ICE_PAIR_STATE_SUCCEEDED)
		ice_pair_set_state(a, st, &st->pairs[v], ICE_PAIR_STATE_SUCCEEDED);
	ice_unfreeze_foundation(a, st->lcands[p->l].c.foundation, st->rcands[p->r].foundation);
	if (p->use_cand && a->controlling) {
		st->comp[p->comp].nominating = -1;
		st->pairs[v].use_cand = false;
		p->use_cand = false;
		ice_select(a, s, (unsigned)v, rx->now);
	} else if (p->nominate_on_success && !a->controlling) {
		p->nominate_on_success = false;
		ice_select(a, s, (unsigned)v, rx->now);
	}
	p->use_cand = false;
}

static int ice_on_response(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx)
{
	/* Which check? Walks the check lists: responses are rare, media never
	 * comes here. */
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];
			const struct ice_lcand *lc = &st->lcands[p->l];
			const struct stun_attr *ea;
			bool cancelled = false, symmetric;
			int code = 0;

			if (!p->inflight || memcmp(p->tid, m->tid, STUN_TID_LEN)) {
				if (p->cancel_until_ms <= rx->now ||
				    memcmp(p->cancel_tid, m->tid, STUN_TID_LEN))
					continue;
				cancelled = true;
			}
			if (stun_check_integrity(m, (const uint8_t *)st->rpwd, strlen(st->rpwd))) {
				a->stats.rx_dropped_unauth++;
				return ICE_RECV_DROPPED;
			}
			/* §7.2.5.2.1: source and destination must be symmetric. */
			symmetric = netaddr_equal(&rx->remote, &st->rcands[p->r].addr) &&
				    rx->host == lc->host && rx->turn == lc->turn;
			if (cancelled) {
				/* §7.3.1.4: a cancelled check can still validate the
				 * pair; its failures are the new check's to decide. */
				p->cancel_until_ms = 0;
				if (m->cls != STUN_CLASS_SUCCESS || !symmetric)
					return ICE_RECV_HANDLED;
			}
			p->inflight = false;
			if (!symmetric) {
				ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
				if (st->comp[p->comp].nominating == (int)i)
					st->comp[p->comp].nominating = -1;
				return ICE_RECV_HANDLED;
			}
			if (m->cls == STUN_CLASS_SUCCESS) {
				ice_on_success(a, s, i, m, rx);
				return ICE_RECV_HANDLED;
			}
			ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
			if (ea)
				stun_attr_get_error(m, ea, &code, NULL, NULL);
			if (st->comp[p->comp].nominating == (int)i)
				st->comp[p->comp].nominating = -1;
			if (code == STUN_ERROR_ROLE_CONFLICT) {
				/* §7.2.5.1: switch only if the role we sent is still ours. */
				if (p->sent_controlling == a->controlling)
					ice_set_role(a, !a->controlling);
				p->use_cand = false;
				if (p->state != ICE_PAIR_STATE_SUCCEEDED)
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
				ice_trigger(a, st, i);
			} else {
				ice_log(a, ICE_LOG_DEBUG, "check answered with error %d", code);
				ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
			}
			return ICE_RECV_HANDLED;
		}
		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_sel *sel = &st->comp[c].sel;
			uint64_t sent_ms = 0;
			bool ok = false;

			if (!sel->active)
				continue;
			/* only slots a request was sent from (never the zeroed ones) */
			for (unsigned k = 0; k < ICE_CONSENT_TIDS && k < sel->consent_tid_next; k++)
				if (!memcmp(sel->consent_tid[k], m->tid, STUN_TID_LEN)) {
					ok = true;
					sent_ms = sel->consent_sent_ms[k];
				}
			if (!ok)
				continue;
			/* RFC 7675 §5.1: only an authenticated success response from
			 * the pair's remote, on its base, refreshes consent. */
			if (stun_check_integrity(m, (const uint8_t *)st->rpwd, strlen(st->rpwd)) &&
			    (!st->prev_rpwd[0] ||
			     stun_check_integrity(m, (const uint8_t *)st->prev_rpwd,
						  strlen(st->prev_rpwd)))) {
				a->stats.rx_dropped_unauth++;
				return ICE_RECV_DROPPED;
			}
			if (m->cls != STUN_CLASS_SUCCESS || rx->host != sel->host ||
			    rx->turn != sel->turn || !netaddr_equal(&rx->remote, &sel->remote.addr))
				return ICE_RECV_HANDLED;
			/* RFC 7675 §5.1: consent lasts 30 s from the sending of a
			 * request that was answered, not from the answer: a late
			 * answer buys less, one to a request older than that
			 * nothing. */
			if (sent_ms + a->cfg.consent_timeout_ms <= rx->now)
				return ICE_RECV_HANDLED;
			if (sent_ms + a->cfg.consent_timeout_ms > sel->consent_expiry_ms)
				sel->consent_expiry_ms = sent_ms + a->cfg.consent_timeout_ms;
			ice_consent_set_state(a, s, c, ICE_CONSENT_STATE_GRANTED);
			return ICE_RECV_HANDLED;
		}
	}
	a->stats.rx_dropped_unknown++;
	return ICE_RECV_DROPPED;
}

static int ice_on_gather_response(struct ice_agent *a, const struct stun_msg *m,
				  const struct ice_rx *rx)
{
	struct ice_host *h = &a->hosts[rx->host];
	const struct stun_attr *xa;
	struct ice_cand c;
	struct netaddr mapped;

	for (unsigned i = 0; i < a->nstun; i++) {
		struct ice_gather_txn *g = &h->stun[i];

		if (!g->active || memcmp(g->tid, m->tid, STUN_TID_LEN) ||
		    !netaddr_equal(&rx->remote, &a->stun[i].addr))
			continue;
		g->active = false;
		xa = stun_msg_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
		if (m->cls == STUN_CLASS_SUCCESS && xa && !stun_attr_get_xor_addr(m, xa, &mapped)) {
			netaddr_unmap_v4(&mapped);
			ice_cand_fill(&c, ICE_CAND_TYPE_SRFLX, h->comp, h->local_pref, &mapped,
				      &h->base, &h->base, &a->stun[i].addr);
			ice_lcand_add(a, h->stream, &c, rx->host, -1, true, rx->now);
		} else {
			ice_log(a, ICE_LOG_WARN, "STUN server gave no mapped address");
		}
		ice_gathering_check(a);
		return ICE_RECV_HANDLED;
	}
	return -1;
}

/* ---- requests to us ------------------------------------------------------------- */

static void ice_respond_error(struct ice_agent *a, const struct stun_msg *m,
			      const struct ice_rx *rx, int code, const char *reason,
			      const char *pwd)
{
	struct stun_builder b;
	uint8_t buf[ICE_TX_MAX];
	int len;

	stun_build_init(&b, buf, sizeof(buf), m->method, STUN_CLASS_ERROR, m->tid);
	stun_build_error(&b, code, reason);
	if (code == STUN_ERROR_UNKNOWN_ATTRIBUTE)
		stun_build_unknown(&b, m->unknown, m->nunknown);
	if (a->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, a->cfg.software);
	if (pwd)
		stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len < 0)
		return;
	a->stats.errors_sent++;
	ice_send_raw(a, rx->host, rx->turn, &rx->remote, buf, (size_t)len, rx->now);
}

static void ice_respond_success(struct ice_agent *a, const struct stun_msg *m,
				const struct ice_rx *rx, const char *pwd)
{
	struct stun_builder b;
	uint8_t buf[ICE_TX_MAX];
	int len;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m->tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &rx->remote);
	if (a->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, a->cfg.software);
	stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len < 0)
		return;
	a->stats.responses_sent++;
	ice_send_raw(a, rx->host, rx->turn, &rx->remote, buf, (size_t)len, rx->now);
}

/* The local candidate a request reached: the host base, or the relayed one. */
static int ice_rx_local(const struct ice_agent *a, const struct ice_stream *st,
			const struct ice_rx *rx)
{
	for (unsigned i = 0; i < st->nl; i++) {
		const struct ice_lcand *lc = &st->lcands[i];

		if (lc->host == rx->host && lc->turn == rx->turn &&
		    (lc->c.type == ICE_CAND_TYPE_HOST || lc->c.type == ICE_CAND_TYPE_RELAY))
			return (int)i;
	}
	return -1;
}

static int ice_on_request(struct ice_agent *a, const struct stun_msg *m, const struct ice_rx *rx)
{
	const struct ice_host *h = &a->hosts[rx->host];
	struct ice_stream *st = a->streams[h->stream];
	const struct stun_attr *ua = stun_msg_find(m, STUN_ATTR_USERNAME);
	const struct stun_attr *pa = stun_msg_find(m, STUN_ATTR_PRIORITY);
	const struct stun_attr *ca = stun_msg_find(m, STUN_ATTR_ICE_CONTROLLING);
	const struct stun_attr *da = stun_msg_find(m, STUN_ATTR_ICE_CONTROLLED);
	bool use_cand = stun_msg_find(m, STUN_ATTR_USE_CANDIDATE) != NULL;
	char user[STUN_USERNAME_MAX];
	const char *pwd = NULL, *colon;
	uint32_t prio = 0;
	uint64_t their_tb = 0;
	bool old_gen = false;
	int l, r, idx;

	if (a->cfg.relay_only && rx->turn < 0) {
		/* relay_only: the host base answers nobody, so its address is
		 * never confirmed to anyone but the TURN server. */
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	if (m->method != STUN_METHOD_BINDING) {
		a->stats.rx_dropped_unknown++;
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Bad Request", NULL);
		return ICE_RECV_DROPPED;
	}
	/* RFC 8489 §9.1.3: no MESSAGE-INTEGRITY or no USERNAME: 400. */
	if (!ua || (m->integrity < 0 && m->integrity_sha256 < 0)) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Missing USERNAME or integrity",
				  NULL);
		return ICE_RECV_DROPPED;
	}
	if (stun_attr_get_string(m, ua, user, sizeof(user)) || !(colon = strchr(user, ':'))) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_UNAUTHORIZED, "Unauthorized", NULL);
		return ICE_RECV_DROPPED;
	}
	/* USERNAME is "our-ufrag:their-ufrag" (§7.2.2). */
	if ((size_t)(colon - user) == strlen(st->lufrag) &&
	    !strncmp(user, st->lufrag, (size_t)(colon - user)))
		pwd = st->lpwd;
	else if (st->prev_lufrag[0] && (size_t)(colon - user) == strlen(st->prev_lufrag) &&
		 !strncmp(user, st->prev_lufrag, (size_t)(colon - user))) {
		pwd = st->prev_lpwd;
		old_gen = true;
	}
	if (!pwd || stun_check_integrity(m, (const uint8_t *)pwd, strlen(pwd))) {
		a->stats.rx_dropped_unauth++;
		ice_respond_error(a, m, rx, STUN_ERROR_UNAUTHORIZED, "Unauthorized", NULL);
		return ICE_RECV_DROPPED;
	}
	if (m->nunknown) {
		ice_respond_error(a, m, rx, STUN_ERROR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", pwd);
		return ICE_RECV_HANDLED;
	}
	/* §7.3: PRIORITY and one role attribute are mandatory. */
	if (!pa || stun_attr_get_u32(m, pa, &prio) || (!ca && !da) ||
	    stun_attr_get_u64(m, ca ? ca : da, &their_tb)) {
		ice_respond_error(a, m, rx, STUN_ERROR_BAD_REQUEST, "Missing PRIORITY or role",
				  pwd);
		return ICE_RECV_HANDLED;
	}
	a->stats.checks_received++;
	/* §7.3.1.1: role conflict. A lite agent stays controlled. */
	if (!a->cfg.lite) {
		if (a->controlling && ca) {
			if (a->tiebreaker >= their_tb) {
				a->stats.role_conflicts++;
				ice_respond_error(a, m, rx, STUN_ERROR_ROLE_CONFLICT,
						  "Role Conflict", pwd);
				return ICE_RECV_HANDLED;
			}
			ice_set_role(a, false);
		} else if (!a->controlling && da) {
			if (a->tiebreaker >= their_tb) {
				ice_set_role(a, true);
			} else {
				a->stats.role_conflicts++;
				ice_respond_error(a, m, rx, STUN_ERROR_ROLE_CONFLICT,
						  "Role Conflict", pwd);
				return ICE_RECV_HANDLED;
			}
		}
	}
	ice_respond_success(a, m, rx, pwd);

	/* Consent/keepalive of the previous generation during a restart: the
	 * answer above is all it needs. */
	if (old_gen) {
		struct ice_sel *sel = &st->comp[h->comp].sel;

		if (a->cfg.lite && sel->active && netaddr_equal(&rx->remote, &sel->remote.addr))
			sel->consent_expiry_ms = rx->now + a->cfg.consent_timeout_ms;
		return ICE_RECV_HANDLED;
	}
	l = ice_rx_local(a, st, rx);
	if (l < 0)
		return ICE_RECV_HANDLED;
	/* §7.3.1.3: an unknown source is a peer-reflexive remote candidate. */
	r = ice_rcand_find(st, h->comp, &rx->remote);
	if (r < 0) {
		struct ice_cand c = {0};

		c.component = (uint16_t)h->comp;
		c.type = ICE_CAND_TYPE_PRFLX;
		c.addr = rx->remote;
		c.priority = prio;
		/* Any value unique among the remote foundations. */
		snprintf(c.foundation, sizeof(c.foundation), "prflx%u", st->prflx_seq++);
		r = ice_rcand_push(st, &c);
		if (r < 0)
			return ICE_RECV_HANDLED;
	}
	if (a->cfg.lite) {
		/* A lite agent checks nothing: the pair is valid by the request
		 * itself, and the controlling peer's USE-CANDIDATE selects it. */
		idx = ice_pair_find(st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			idx = ice_pair_add(a, st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			return ICE_RECV_HANDLED;
		ice_pair_set_state(a, st, &st->pairs[idx], ICE_PAIR_STATE_SUCCEEDED);
		st->pairs[idx].valid = true;
		if (use_cand)
			ice_select(a, h->stream, (unsigned)idx, rx->now);
		{
			struct ice_sel *sel = &st->comp[h->comp].sel;

			if (sel->active && netaddr_equal(&rx->remote, &sel->remote.addr)) {
				sel->consent_expiry_ms = rx->now + a->cfg.consent_timeout_ms;
				ice_consent_set_state(a, h->stream, h->comp,
						      ICE_CONSENT_STATE_GRANTED);
			}
		}
		return ICE_RECV_HANDLED;
	}
	idx = ice_pair_find(st, (unsigned)l, (unsigned)r);
	if (idx < 0) {
		idx = ice_pair_add(a, st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			return ICE_RECV_HANDLED;
		if (st->lcands[l].turn >= 0)
			ice_relay_permit(a, &st->lcands[l], &st->rcands[r], rx->now);
	}
	/* §7.3.1.4 triggered checks; §7.3.1.5 nomination as controlled. */
	{
		struct ice_pair *p = &st->pairs[idx];
		bool completed = st->comp[h->comp].sel.active &&
				 st->comp[h->comp].sel.generation == st->generation;

		switch (p->state) {
		case ICE_PAIR_STATE_SUCCEEDED:
			if (use_cand && !a->controlling)
				ice_select(a, h->stream,
					   (unsigned)(p->valid_idx >= 0 ? p->valid_idx : idx),
					   rx->now);
			break;
		case ICE_PAIR_STATE_IN_PROGRESS:
			if (use_cand && !a->controlling)
				p->nominate_on_success = true;
			if (completed && !use_cand)
				break; /* §7.3.1.4: no new checks once completed */
			/* §7.3.1.4: cancel the transaction in progress (no
			 * retransmissions; a success still counts until it would
			 * have timed out) and check the pair again at once. */
			memcpy(p->cancel_tid, p->tid, STUN_TID_LEN);
			p->cancel_until_ms = p->txn_end_ms;
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
			ice_trigger(a, st, (unsigned)idx);
			break;
		case ICE_PAIR_STATE_FAILED:
		case ICE_PAIR_STATE_FROZEN:
		case ICE_PAIR_STATE_WAITING:
			if (use_cand && !a->controlling)
				p->nominate_on_success = true;
			if (completed && !use_cand)
				break; /* §7.3.1.4: no new checks once completed */
			if (st->comp[h->comp].timed_out)
				break; /* given up for good (nomination_timeout_ms) */
			if (st->list == ICE_LIST_COMPLETED && !use_cand)
				break;
			/* §7.3.1.4 makes a Failed pair Waiting even when every pair
			 * had failed: the peer's check shows the path opened since
			 * (its NAT, its late start). A completed list reopens for a
			 * renomination. */
			st->list = ICE_LIST_RUNNING;
			ice_pair_set_state(a, st, p, ICE_PAIR_STATE_WAITING);
			ice_trigger(a, st, (unsigned)idx);
			break;
		}
	}
	/* The peer's checks on the selected pair prove it alive too, but only
	 * responses refresh consent (RFC 7675 §5.1); nothing to do here. */
	return ICE_RECV_HANDLED;
}

/* ---- recv ----------------------------------------------------------------------- */

static int ice_find_host(const struct ice_agent *a, const struct netaddr *local)
{
	for (unsigned h = 0; h < a->nhosts; h++)
		if (netaddr_equal(&a->hosts[h].base, local))
			return (int)h;
	return -1;
}

static int ice_on_stun(struct ice_agent *a, const uint8_t *buf, size_t len, const struct ice_rx *rx)
{
	struct stun_msg m;
	int err = stun_parse(&m, buf, len);

	if (err < 0) {
		a->stats.rx_dropped_malformed++;
		ice_log(a, ICE_LOG_DEBUG, "dropped a STUN datagram: %s", stun_strerror(err));
		return ICE_RECV_DROPPED;
	}
	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		return ice_on_request(a, &m, rx);
	case STUN_CLASS_INDICATION:
		/* Binding indications are keepalives (RFC 8445 §11): nothing to do. */
		if (m.method == STUN_METHOD_BINDING)
			return ICE_RECV_HANDLED;
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	default:
		if (m.method != STUN_METHOD_BINDING) {
			a->stats.rx_dropped_unknown++;
			return ICE_RECV_DROPPED;
		}
		if (rx->turn < 0 && ice_on_gather_response(a, &m, rx) >= 0)
			return ICE_RECV_HANDLED;
		return ice_on_response(a, &m, rx);
	}
}

static int ice_on_data(struct ice_agent *a, const uint8_t *buf, size_t len, const struct ice_rx *rx,
		       struct ice_recv_result *res)
{
	const struct ice_host *h = &a->hosts[rx->host];
	const struct ice_sel *sel = &a->streams[h->stream]->comp[h->comp].sel;

	if (!len) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	a->stats.rx_data++;
	res->stream = h->stream;
	res->component = h->comp;
	res->remote = rx->remote;
	res->data = buf;
	res->len = len;
	res->relayed = rx->turn >= 0;
	res->on_selected = sel->active && sel->host == rx->host && sel->turn == rx->turn &&
			   netaddr_equal(&sel->remote.addr, &rx->remote);
	return ICE_RECV_DATA;
}

int ice_agent_recv(struct ice_agent *a, uint64_t now_ms, const struct netaddr *local,
		   const struct netaddr *remote, const uint8_t *buf, size_t len,
		   struct ice_recv_result *res)
{
	struct ice_rx rx = {.turn = -1, .now = now_ms};
	struct turn_recv tr;
	int ret;

	a->stats.rx_datagrams++;
	if (now_ms > a->now)
		a->now = now_ms;
	if (!buf || !len || !local || !remote) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	rx.host = ice_find_host(a, local);
	if (rx.host < 0) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	rx.remote = *remote;
	netaddr_unmap_v4(&rx.remote);
	/* RFC 7983: STUN (0-3) and ChannelData (64-79) may be TURN traffic. */
	if (buf[0] <= 3 || (buf[0] >= 64 && buf[0] <= 79)) {
		struct ice_host *h = &a->hosts[rx.host];

		for (unsigned t = 0; t < a->nturn; t++) {
			if (!h->turn[t] ||
			    !netaddr_equal(turn_client_server(h->turn[t]), &rx.remote))
				continue;
			ret = turn_client_recv(h->turn[t], now_ms, buf, len, &tr);
			ice_handle_turn_events(a, (unsigned)rx.host, t, now_ms);
			if (ret == TURN_RECV_HANDLED) {
				a->stats.turn_transactions++;
				goto out_handled;
			}
			if (ret == TURN_RECV_DROPPED) {
				a->stats.rx_dropped_malformed++;
				return ICE_RECV_DROPPED;
			}
			if (ret == TURN_RECV_DATA) {
				rx.turn = (int)t;
				rx.remote = tr.peer;
				buf = tr.data;
				len = tr.len;
			}
			break;
		}
	}
	/* Released: only the TURN answers to the final Refresh matter. */
	if (!len || a->released) {
		a->stats.rx_dropped_unknown++;
		return ICE_RECV_DROPPED;
	}
	if (buf[0] <= 3) {
		ret = ice_on_stun(a, buf, len, &rx);
		if (ret != ICE_RECV_HANDLED)
			return ret;
		goto out_handled;
	}
	if (buf[0] >= 64 && buf[0] <= 79 && rx.turn < 0) {
		a->stats.rx_dropped_unknown++; /* ChannelData not from our TURN server */
		return ICE_RECV_DROPPED;
	}
	return ice_on_data(a, buf, len, &rx, res);
out_handled:
	for (unsigned s = 0; s < a->nstreams; s++)
		ice_stream_update_list(a, s);
	ice_nominate(a, now_ms);
	ice_agent_update_state(a);
	return ICE_RECV_HANDLED;
}

/* ---- TURN glue -------------------------------------------------------------- */

static void ice_handle_turn_events(struct ice_agent *a, unsigned h, unsigned t, uint64_t now)
{
	struct ice_host *hh = &a->hosts[h];
	struct turn_client *tc = hh->turn[t];
	struct turn_event tev;
	struct ice_transmit tx;

	if (!tc)
		return;
	while (turn_client_poll_transmit(tc, &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
	while (turn_client_poll_event(tc, &tev)) {
		struct ice_event ev = {
			.type = ICE_EVENT_TURN_ERROR, .stream = hh->stream, .component = hh->comp};
		struct netaddr relayed, mapped, raddr;
		struct ice_cand c;

		switch (tev.type) {
		case TURN_EVENT_ALLOCATED:
			hh->turn_done[t] = true;
			if (turn_client_relayed(tc, &relayed, &mapped))
				break;
			if (netaddr_family(&mapped) && !a->cfg.relay_only) {
				ice_cand_fill(&c, ICE_CAND_TYPE_SRFLX, hh->comp, hh->local_pref,
					      &mapped, &hh->base, &hh->base, &a->turn[t].addr);
				ice_lcand_add(a, hh->stream, &c, (int)h, -1, true, now);
			}
			/* relay_only hides the host: the related address (RFC 8839
			 * §5.1 wants one) is the wildcard, not the mapped address,
			 * which is the host's own when no NAT is in the way. */
			raddr = mapped;
			if (a->cfg.relay_only) {
				static const uint8_t any6[16];

				if (netaddr_family(&relayed) == AF_INET6)
					netaddr_from_v6(&raddr, any6, 0);
				else
					netaddr_from_v4(&raddr, 0, 0);
			}
			/* §5.1.1.2: the relayed candidate's base is itself. */
			ice_cand_fill(&c, ICE_CAND_TYPE_RELAY, hh->comp, hh->local_pref, &relayed,
				      &hh->base, &raddr, &a->turn[t].addr);
			ice_lcand_add(a, hh->stream, &c, (int)h, (int)t, true, now);
			ice_gathering_check(a);
			break;
		case TURN_EVENT_FAILED:
			ice_log(a, ICE_LOG_WARN, "TURN allocation failed: %d", tev.error);
			if (!a->released) {
				ev.error = tev.error;
				ice_push_event(a, &ev);
			}
			hh->turn_done[t] = true;
			ice_gathering_check(a);
			break;
		case TURN_EVENT_PERMISSION_FAILED:
			ev.error = tev.error;
			ice_push_event(a, &ev);
			break;
		default:
			break;
		}
	}
	while (turn_client_poll_transmit(tc, &tx))
		ice_queue_raw(a, &tx.local, &tx.remote, tx.head, tx.head_len);
}

/* ---- tick --------------------------------------------------------------------------- */

uint64_t ice_agent_next_deadline(const struct ice_agent *a)
{
	uint64_t next = UINT64_MAX;

	if (a->released)
		goto turn_only;
	if (a->gather_pending)
		return a->now;
	for (unsigned h = 0; h < a->nhosts; h++)
		for (unsigned i = 0; i < a->nstun; i++)
			if (a->hosts[h].stun[i].active && a->hosts[h].stun[i].next_ms < next)
				next = a->hosts[h].stun[i].next_ms;
	if (ice_check_pending(a) && a->next_check_ms < next)
		next = a->next_check_ms;
	for (unsigned s = 0; s < a->nstreams; s++) {
		const struct ice_stream *st = a->streams[s];

		if (st->checks_began &&
		    a->cfg.nomination_timeout_ms != ICE_NOMINATION_TIMEOUT_NONE) {
			for (unsigned c = 1; c <= st->ncomp; c++)
				if (ice_comp_waits_nomination(st, c) &&
				    st->checks_began_ms + a->cfg.nomination_timeout_ms < next)
					next = st->checks_began_ms + a->cfg.nomination_timeout_ms;
		}
		for (unsigned i = 0; i < st->npairs; i++)
			if (st->pairs[i].inflight && st->pairs[i].next_ms < next)
				next = st->pairs[i].next_ms;
		for (unsigned c = 1; c <= st->ncomp; c++) {
			const struct ice_component *cp = &st->comp[c];
			const struct ice_sel *sel = &cp->sel;

			/* the nomination wait only counts while ice_nominate()
			 * would act on it: else a past deadline spins the loop */
			if (a->controlling && cp->first_valid_ms && cp->nominating < 0 &&
			    ice_stream_checkable(a, st) &&
			    !(sel->active && sel->generation == st->generation) &&
			    cp->first_valid_ms + ICE_NOMINATION_WAIT_MS < next)
				next = cp->first_valid_ms + ICE_NOMINATION_WAIT_MS;
			if (!sel->active)
				continue;
			if (sel->consent == ICE_CONSENT_STATE_GRANTED &&
			    sel->consent_expiry_ms < next)
				next = sel->consent_expiry_ms;
			if (a->cfg.lite ? sel->keepalive_next_ms < next
					: sel->consent_next_ms < next)
				next = a->cfg.lite ? sel->keepalive_next_ms : sel->consent_next_ms;
		}
	}
turn_only:
	for (unsigned h = 0; h < a->nhosts; h++)
		for (unsigned t = 0; t < ICE_MAX_SERVERS; t++)
			if (a->hosts[h].turn[t]) {
				uint64_t d = turn_client_next_deadline(a->hosts[h].turn[t]);

				if (d < next)
					next = d;
			}
	return next;
}

uint64_t ice_agent_tick(struct ice_agent *a, uint64_t now)
{
	if (now > a->now)
		a->now = now;
	if (a->gather_pending && !a->released) {
		a->gather_pending = false;
		for (unsigned h = 0; h < a->nhosts; h++)
			ice_gather_host(a, h, now);
		ice_gathering_check(a);
	}
	for (unsigned h = 0; h < a->nhosts; h++) {
		struct ice_host *hh = &a->hosts[h];

		for (unsigned i = 0; i < a->nstun && !a->released; i++) {
			struct ice_gather_txn *g = &hh->stun[i];

			if (!g->active || g->next_ms > now)
				continue;
			if (g->sent >= a->cfg.rc) {
				ice_log(a, ICE_LOG_WARN, "STUN server timed out");
				g->active = false;
				ice_gathering_check(a);
				continue;
			}
			g->sent++;
			g->rto *= 2;
			g->next_ms =
				now + (g->sent == a->cfg.rc ? (uint64_t)a->cfg.rm * a->cfg.rto_ms
							    : g->rto);
			ice_stun_txn_send(a, h, i);
		}
		for (unsigned t = 0; t < ICE_MAX_SERVERS; t++) {
			if (!hh->turn[t])
				continue;
			turn_client_tick(hh->turn[t], now);
			ice_handle_turn_events(a, h, t, now);
		}
	}
	if (a->released)
		return ice_agent_next_deadline(a);
	/* Retransmissions: RFC 8489 §6.2.1 with the §14.3 RTO. */
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (!p->inflight || p->next_ms > now)
				continue;
			if (p->sent >= a->cfg.rc) {
				p->inflight = false;
				if (st->comp[p->comp].nominating == (int)i)
					st->comp[p->comp].nominating = -1;
				if (p->state == ICE_PAIR_STATE_IN_PROGRESS)
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
				p->use_cand = false;
				continue;
			}
			p->sent++;
			p->rto *= 2;
			/* RFC 8489 §6.2.1: after the last send, wait Rm * RTO. */
			p->next_ms = now + (p->sent == a->cfg.rc ? (uint64_t)a->cfg.rm * p->rto0
								 : p->rto);
			a->stats.checks_retransmitted++;
			ice_pair_transmit(a, st, p, now);
		}
	}
	if (a->started && !a->cfg.lite)
		ice_paced_check(a, now);
	ice_nominate(a, now);
	ice_consent_tick(a, now);
	for (unsigned s = 0; s < a->nstreams; s++) {
		ice_stream_nomination_timeout(a, s, now);
		ice_stream_update_list(a, s);
	}
	ice_agent_update_state(a);
	return ice_agent_next_deadline(a);
}

bool ice_agent_poll_transmit(struct ice_agent *a, struct ice_transmit *tx)
{
	return ice_queue_pop_datagram(&a->out, tx);
}

bool ice_agent_poll_event(struct ice_agent *a, struct ice_event *ev)
{
	return ice_queue_pop(&a->events, ev, sizeof(*ev));
}

/* ---- media and queries ---------------------------------------------------------- */

int ice_agent_send(struct ice_agent *a, unsigned stream, unsigned component, const uint8_t *data,
		   size_t len, struct ice_transmit *tx)
{
	struct ice_stream *st = ice_stream_get(a, stream);
	struct ice_sel *sel;
	int err;

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	sel = &st->comp[component].sel;
	if (sel->active && sel->consent == ICE_CONSENT_STATE_GRANTED &&
	    a->now >= sel->consent_expiry_ms) {
		/* RFC 7675 §5.1: sending stops at expiry, whenever the caller
		 * ticks; the latest time it gave us says consent is gone. */
		ice_consent_set_state(a, stream, component, ICE_CONSENT_STATE_LOST);
		ice_agent_update_state(a);
	}
	if (!sel->active || sel->consent != ICE_CONSENT_STATE_GRANTED || a->released)
		return -ENOTCONN;
	if (sel->turn >= 0) {
		err = turn_client_wrap(a->hosts[sel->host].turn[sel->turn], &sel->remote.addr, data,
				       len, false, tx);
		if (err)
			return err;
	} else {
		tx->local = sel->base;
		tx->remote = sel->remote.addr;
		tx->head_len = 0;
		tx->payload = data;
		tx->payload_len = len;
		tx->pad_len = 0;
	}
	return 0;
}

int ice_agent_selected_pair(const struct ice_agent *a, unsigned stream, unsigned component,
			    struct ice_pair_info *out)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	if (!st || component < 1 || component > st->ncomp)
		return -ENOENT;
	if (!st->comp[component].sel.active)
		return -ENOTCONN;
	ice_sel_info(&st->comp[component].sel, out);
	return 0;
}

int ice_agent_pairs(const struct ice_agent *a, unsigned stream, struct ice_pair_info *out,
		    size_t max)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	if (!st)
		return -ENOENT;
	for (unsigned i = 0; i < st->npairs && i < max; i++)
		ice_pair_info_fill(a, st, &st->pairs[i], &out[i]);
	return (int)st->npairs;
}

enum ice_agent_state ice_agent_state(const struct ice_agent *a)
{
	return a->state;
}

enum ice_consent_state ice_agent_consent_state(const struct ice_agent *a, unsigned stream,
					       unsigned component)
{
	const struct ice_stream *st = ice_stream_get(a, stream);

	const struct ice_sel *sel;

	if (!st || component < 1 || component > st->ncomp || !st->comp[component].sel.active)
		return ICE_CONSENT_STATE_NONE;
	sel = &st->comp[component].sel;
	/* expired by the latest time we were given, even if not ticked yet */
	if (sel->consent == ICE_CONSENT_STATE_GRANTED && a->now >= sel->consent_expiry_ms)
		return ICE_CONSENT_STATE_LOST;
	return sel->consent;
}

bool ice_agent_consent(const struct ice_agent *a, unsigned stream, unsigned component)
{
	return ice_agent_consent_state(a, stream, component) == ICE_CONSENT_STATE_GRANTED;
}

void ice_agent_get_stats(const struct ice_agent *a, struct ice_agent_stats *out)
{
	*out = a->stats;
}

int ice_agent_release(struct ice_agent *a, uint64_t now_ms)
{
	if (a->released)
		return 0;
	for (unsigned h = 0; h < a->nhosts; h++)
		for (unsigned t = 0; t < ICE_MAX_SERVERS; t++)
			if (a->hosts[h].turn[t]) {
				turn_client_release(a->hosts[h].turn[t], now_ms);
				ice_handle_turn_events(a, h, t, now_ms);
			}
	a->released = true;
	ice_agent_update_state(a);
	return 0;
}
