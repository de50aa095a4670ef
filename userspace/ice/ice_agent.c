// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's API and its state machine (ice.h): creation, streams,
 * roles, remote description, start/restart, tick, polling, media, queries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ice_int.h"

/* ---- names (the designated-table style of daemon/call.c) ------------------ */

static const char *const agent_state_names[] = {
	[ICE_AGENT_STATE_NEW] = "new",
	[ICE_AGENT_STATE_CHECKING] = "checking",
	[ICE_AGENT_STATE_CONNECTED] = "connected",
	[ICE_AGENT_STATE_COMPLETED] = "completed",
	[ICE_AGENT_STATE_DISCONNECTED] = "disconnected",
	[ICE_AGENT_STATE_FAILED] = "failed",
	[ICE_AGENT_STATE_CLOSED] = "closed",
};

static const char *const pair_state_names[] = {
	[ICE_PAIR_STATE_FROZEN] = "frozen",
	[ICE_PAIR_STATE_WAITING] = "waiting",
	[ICE_PAIR_STATE_IN_PROGRESS] = "in-progress",
	[ICE_PAIR_STATE_SUCCEEDED] = "succeeded",
	[ICE_PAIR_STATE_FAILED] = "failed",
};

static const char *const consent_state_names[] = {
	[ICE_CONSENT_STATE_NONE] = "none",
	[ICE_CONSENT_STATE_GRANTED] = "granted",
	[ICE_CONSENT_STATE_LOST] = "lost",
};

static const char *const gathering_state_names[] = {
	[ICE_GATHERING_STATE_NEW] = "new",
	[ICE_GATHERING_STATE_GATHERING] = "gathering",
	[ICE_GATHERING_STATE_COMPLETE] = "complete",
};

const char *ice_agent_state_str(enum ice_agent_state s)
{
	if ((unsigned)s < ARRAY_SIZE(agent_state_names))
		return agent_state_names[s];
	return "unknown";
}

const char *ice_pair_state_str(enum ice_pair_state s)
{
	if ((unsigned)s < ARRAY_SIZE(pair_state_names))
		return pair_state_names[s];
	return "unknown";
}

const char *ice_consent_state_str(enum ice_consent_state s)
{
	if ((unsigned)s < ARRAY_SIZE(consent_state_names))
		return consent_state_names[s];
	return "unknown";
}

const char *ice_gathering_state_str(enum ice_gathering_state s)
{
	if ((unsigned)s < ARRAY_SIZE(gathering_state_names))
		return gathering_state_names[s];
	return "unknown";
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
	/* RFC 8445 §8.3: what no selected pair uses goes 3 s after completion */
	a->free_unused_ms =
		to == ICE_AGENT_STATE_COMPLETED && a->nturn ? a->now + ICE_FREE_UNUSED_MS : 0;
	ev.state = to;
	ev.controlling = a->controlling;
	ice_push_event(a, &ev);
}

void ice_agent_update_state(struct ice_agent *a)
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
			struct ice_component *cp = &st->comp[c - 1];

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
	/* SOFTWARE: a copy of its own length (RFC 8489 §14.14: < 128 chars) */
	if (a->cfg.software && !(a->cfg.software = strndup(a->cfg.software, 127))) {
		free(a);
		return -ENOMEM;
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
	a->tiebreaker = a->cfg.tiebreaker;
	if (!a->tiebreaker)
		ice_random(a, &a->tiebreaker, sizeof(a->tiebreaker));
	a->next_check_ms = 0;
	a->pairs_due_ms = UINT64_MAX;
	ice_queue_init(&a->out);
	ice_queue_init(&a->events);
	*out = a;
	return 0;
}

static void ice_stream_free(struct ice_stream *st)
{
	free(st->pairs);
	free(st->lcands);
	free(st->rcands);
	free(st->comp);
	ice_cred_free(&st->lufrag);
	ice_cred_free(&st->lpwd);
	ice_cred_free(&st->prev_lufrag);
	ice_cred_free(&st->prev_lpwd);
	ice_cred_free(&st->rufrag);
	ice_cred_free(&st->rpwd);
	ice_cred_free(&st->prev_rufrag);
	ice_cred_free(&st->prev_rpwd);
	free(st);
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
	free(a->turn);
	free(a->stun);
	free((char *)a->cfg.software);
	for (unsigned s = 0; s < a->nstreams; s++)
		ice_stream_free(a->streams[s]);
	ice_queue_clear(&a->out);
	ice_queue_clear(&a->events);
	free(a);
}

static int ice_stream_new_credentials(struct ice_agent *a, struct ice_stream *st)
{
	/* 8 and 24 ice-chars: above the 4 and 22 minimum (RFC 8445 §5.3),
	 * 144 bits of password entropy (>= 128 required). */
	char u[9], p[25];

	ice_random_chars(a, u, 8);
	ice_random_chars(a, p, 24);
	if (ice_cred_set(&st->lufrag, u) || ice_cred_set(&st->lpwd, p))
		return -ENOMEM;
	return 0;
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
	st->comp = calloc(ncomponents, sizeof(*st->comp));
	st->lufrag = st->lpwd = st->prev_lufrag = st->prev_lpwd = ice_cred_none;
	st->rufrag = st->rpwd = st->prev_rufrag = st->prev_rpwd = ice_cred_none;
	if (!st->comp || ice_stream_new_credentials(a, st)) {
		ice_stream_free(st);
		return -ENOMEM;
	}
	st->ncomp = ncomponents;
	for (unsigned c = 1; c <= ncomponents; c++)
		st->comp[c - 1].nominating = -1;
	a->streams[a->nstreams] = st;
	return (int)a->nstreams++;
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

int ice_agent_set_remote_pacing(struct ice_agent *a, uint32_t pacing_ms)
{
	/* RFC 8839 §5.5: larger than 1 s would stall checks; treat as 1 s */
	a->remote_pacing_ms = pacing_ms > 1000 ? 1000 : pacing_ms;
	return 0;
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
		st->comp[c - 1].failed = false;
		st->comp[c - 1].timed_out = false;
		st->comp[c - 1].first_valid_ms = 0;
		st->comp[c - 1].rtt_ms = 0;
		st->comp[c - 1].nominating = -1;
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
		ice_cred_move(&st->prev_rufrag, &st->rufrag);
		ice_cred_move(&st->prev_rpwd, &st->rpwd);
		ice_stream_reset_checks(st);
	}
	if (ice_cred_set(&st->rufrag, ufrag) || ice_cred_set(&st->rpwd, pwd))
		return -ENOMEM;
	st->have_remote = true;
	ice_stream_checks_begin(a, st, a->now);
	return 0;
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
		struct ice_sel *sel = &st->comp[c->component - 1].sel;

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
	ice_cred_move(&st->prev_lufrag, &st->lufrag);
	ice_cred_move(&st->prev_lpwd, &st->lpwd);
	if (ice_stream_new_credentials(a, st))
		return -ENOMEM;
	if (st->remote_restarted) {
		/* The answer to a remote restart: the new remote credentials and
		 * candidates already form the new generation; keep them. */
		st->remote_restarted = false;
		ice_log(a, ICE_LOG_INFO, "stream %u: ICE restart answered", stream);
		return 0;
	}
	if (st->have_remote) {
		st->generation++;
		ice_cred_set(&st->prev_rufrag, st->rufrag);
		ice_cred_set(&st->prev_rpwd, st->rpwd);
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
	if (a->free_unused_ms && a->free_unused_ms < next)
		next = a->free_unused_ms;
	if (a->pairs_due_ms < next)
		next = a->pairs_due_ms;
	for (unsigned s = 0; s < a->nstreams; s++) {
		const struct ice_stream *st = a->streams[s];

		if (st->checks_began &&
		    a->cfg.nomination_timeout_ms != ICE_NOMINATION_TIMEOUT_NONE) {
			for (unsigned c = 1; c <= st->ncomp; c++)
				if (ice_comp_waits_nomination(st, c) &&
				    st->checks_began_ms + a->cfg.nomination_timeout_ms < next)
					next = st->checks_began_ms + a->cfg.nomination_timeout_ms;
		}
		for (unsigned c = 1; c <= st->ncomp; c++) {
			const struct ice_component *cp = &st->comp[c - 1];
			const struct ice_sel *sel = &cp->sel;

			/* the nomination wait only counts while ice_nominate()
			 * would act on it: else a past deadline spins the loop */
			if (a->controlling && !a->cfg.lite && ice_stream_checkable(a, st)) {
				uint64_t due = ice_nomination_due(a, st, c);

				if (due < next)
					next = due;
			}
			/* lost consent is final: nothing more to send or check */
			if (!sel->active || sel->consent != ICE_CONSENT_STATE_GRANTED)
				continue;
			if (sel->consent_expiry_ms < next)
				next = sel->consent_expiry_ms;
			if (a->cfg.lite ? sel->keepalive_next_ms < next
					: sel->consent_next_ms < next)
				next = a->cfg.lite ? sel->keepalive_next_ms : sel->consent_next_ms;
		}
	}
turn_only:
	/* client t is server t's: none past nturn */
	for (unsigned h = 0; a->nturn && h < a->nhosts; h++)
		for (unsigned t = 0; t < a->nturn; t++)
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
	ice_gather_tick(a, now);
	if (a->released)
		return ice_agent_next_deadline(a);
	ice_checklist_tick(a, now);
	if (a->free_unused_ms && now >= a->free_unused_ms) {
		a->free_unused_ms = 0;
		ice_gather_free_unused(a, now);
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
	sel = &st->comp[component - 1].sel;
	if (sel->active && sel->consent == ICE_CONSENT_STATE_GRANTED &&
	    a->now >= sel->consent_expiry_ms) {
		/* RFC 7675 §5.1: sending stops at expiry, whenever the caller
		 * ticks; the latest time it gave us says consent is gone. */
		ice_consent_set_state(a, stream, component, ICE_CONSENT_STATE_LOST, false);
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
	if (!st->comp[component - 1].sel.active)
		return -ENOTCONN;
	ice_sel_info(&st->comp[component - 1].sel, out);
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

/* ---- a recovered session ------------------------------------------------------- */

static int ice_resume_stream(struct ice_agent *a, const struct ice_resume_stream *rs,
			     uint64_t now)
{
	struct ice_stream *st;
	int s, err;

	if (!rs || !ice_valid_creds(rs->local_ufrag, rs->local_pwd) ||
	    !ice_valid_creds(rs->remote_ufrag, rs->remote_pwd))
		return -EINVAL;
	s = ice_agent_add_stream(a, rs->ncomponents);
	if (s < 0)
		return s;
	st = a->streams[s];
	if (ice_cred_set(&st->lufrag, rs->local_ufrag) || ice_cred_set(&st->lpwd, rs->local_pwd))
		return -ENOMEM;
	err = ice_agent_set_remote_credentials(a, (unsigned)s, rs->remote_ufrag, rs->remote_pwd);
	if (err)
		return err;
	st->gathering = ICE_GATHERING_STATE_COMPLETE;
	for (unsigned c = 1; c <= rs->ncomponents; c++) {
		const struct netaddr *remote = &rs->pair[c - 1].remote;
		struct ice_cand rc = {0};
		int l, r, idx;

		if (netaddr_family(remote) != netaddr_family(&rs->pair[c - 1].base) ||
		    !netaddr_port(remote))
			return -EINVAL;
		err = ice_agent_add_host(a, (unsigned)s, c, &rs->pair[c - 1].base, 65535);
		if (err)
			return err;
		l = ice_lcand_find(st, c, &rs->pair[c - 1].base, (int)a->nhosts - 1, -1);
		/* The peer's candidate type is not known any more: it stands as
		 * peer-reflexive, as if learnt from its checks (§7.3.1.3). */
		rc.component = (uint16_t)c;
		rc.type = ICE_CAND_TYPE_PRFLX;
		rc.addr = *remote;
		netaddr_unmap_v4(&rc.addr);
		rc.priority = ice_candidate_priority(ICE_TYPE_PREF_PRFLX, 65535, c);
		snprintf(rc.foundation, sizeof(rc.foundation), "resumed");
		r = ice_rcand_push(st, &rc);
		if (l < 0 || r < 0)
			return l < 0 ? -EINVAL : r;
		idx = ice_pair_find(st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			idx = ice_pair_add(a, st, (unsigned)l, (unsigned)r);
		if (idx < 0)
			return -ENOSPC;
		ice_pair_set_state(a, st, &st->pairs[idx], ICE_PAIR_STATE_SUCCEEDED);
		st->pairs[idx].valid = true;
		ice_select(a, (unsigned)s, (unsigned)idx, now);
	}
	/* Nothing more will be signalled; set last, or the components not
	 * selected yet would fail for want of pairs. */
	st->remote_eoc = true;
	return 0;
}

int ice_agent_resume(struct ice_agent **out, const struct ice_config *cfg,
		     const struct ice_resume_stream *rs, unsigned nstreams, uint64_t now_ms)
{
	struct ice_agent *a;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!rs || !nstreams || nstreams > ICE_MAX_STREAMS || (cfg && cfg->lite))
		return -EINVAL;
	err = ice_agent_new(&a, cfg);
	if (err)
		return err;
	a->now = now_ms;
	a->started = true;
	a->next_check_ms = now_ms;
	for (unsigned s = 0; s < nstreams; s++) {
		err = ice_resume_stream(a, &rs[s], now_ms);
		if (err) {
			ice_agent_free(a);
			return err;
		}
		ice_stream_checks_begin(a, a->streams[s], now_ms);
	}
	a->gather_started = true; /* nothing to gather: the bases are in use */
	ice_log(a, ICE_LOG_INFO, "resumed %u stream(s), %s", nstreams,
		a->controlling ? "controlling" : "controlled");
	ice_agent_update_state(a);
	*out = a;
	return 0;
}
