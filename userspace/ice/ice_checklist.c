// SPDX-License-Identifier: GPL-2.0-only
/*
 * Check lists (RFC 8445 §6.1.2, §6.1.4, §7.2, §8): pairs and their
 * states, priorities, pacing, triggered checks, retransmissions,
 * nomination, selection, pruning and the list's own state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ice_int.h"

/* ---- pairs ------------------------------------------------------------------ */

/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
uint64_t ice_pair_priority(bool controlling, uint32_t local, uint32_t remote)
{
	uint64_t g = controlling ? local : remote, d = controlling ? remote : local;

	return ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

/* The one transition function of the pair machine. */
void ice_pair_set_state(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p,
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

int ice_pair_find(const struct ice_stream *st, unsigned l, unsigned r)
{
	for (unsigned i = 0; i < st->npairs; i++)
		if (st->pairs[i].l == l && st->pairs[i].r == r)
			return (int)i;
	return -1;
}

/* Two local candidates send from the same place (RFC 8445 §6.1.2.4 pruning). */
bool ice_same_base(const struct ice_lcand *x, const struct ice_lcand *y)
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
int ice_pair_add(struct ice_agent *a, struct ice_stream *st, unsigned l, unsigned r)
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
	       ice_lcand_offered(a, &lc->c) && ice_lcand_alive(a, lc);
}

void ice_relay_permit(struct ice_agent *a, const struct ice_lcand *lc, const struct ice_cand *rc,
		      uint64_t now)
{
	if (lc->turn < 0)
		return;
	turn_client_permit(a->hosts[lc->host].turn[lc->turn], &rc->addr, now);
	ice_turn_flush(a, (unsigned)lc->host, (unsigned)lc->turn);
}

void ice_pair_add_for_local(struct ice_agent *a, struct ice_stream *st, unsigned l, uint64_t now)
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

void ice_pair_add_for_remote(struct ice_agent *a, struct ice_stream *st, unsigned r, uint64_t now)
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

void ice_recompute_priorities(struct ice_agent *a)
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

void ice_trigger(struct ice_agent *a, struct ice_stream *st, unsigned idx)
{
	struct ice_pair *p = &st->pairs[idx];

	if (p->triggered)
		return;
	st->trig_len++;
	p->triggered = true;
	p->trig_seq = st->trig_seq++;
	a->stats.triggered_checks++;
}

void ice_set_role(struct ice_agent *a, bool controlling)
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
	rto = (uint64_t)ice_ta(a) * n;
	return rto > ICE_RTO_MIN_MS ? (uint32_t)(rto < 60000 ? rto : 60000) : ICE_RTO_MIN_MS;
}

int ice_build_check(struct ice_agent *a, const struct ice_stream *st, const struct ice_lcand *lc,
		    const char *rufrag, const char *lufrag, const char *rpwd,
		    const uint8_t tid[STUN_TID_LEN], bool use_cand, uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	char user[2 * ICE_UFRAG_MAX];
	uint16_t local_pref = a->hosts[lc->host].local_pref;
	size_t nr = strlen(rufrag), nl = strlen(lufrag);

	/* "their-ufrag:our-ufrag" (§7.2.2); each < ICE_UFRAG_MAX, so it fits.
	 * memcpy, not snprintf: this runs for every check and consent request. */
	memcpy(user, rufrag, nr);
	user[nr] = ':';
	memcpy(user + nr + 1, lufrag, nl + 1);
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

void ice_pair_transmit(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p, uint64_t now)
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
	p->last_tx_ms = now;
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
	if (p->next_ms < a->pairs_due_ms)
		a->pairs_due_ms = p->next_ms;
	p->first_tx_ms = now;
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

bool ice_stream_checkable(const struct ice_agent *a, const struct ice_stream *st)
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

bool ice_check_pending(const struct ice_agent *a)
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

/* Ta in force: ours, or the peer's a=ice-pacing when larger (RFC 8839
 * §5.5: both agents use the larger value). */
uint32_t ice_ta(const struct ice_agent *a)
{
	return a->remote_pacing_ms > a->cfg.ta_ms ? a->remote_pacing_ms : a->cfg.ta_ms;
}

void ice_paced_check(struct ice_agent *a, uint64_t now)
{
	if (now < a->next_check_ms || !ice_check_pending(a))
		return;
	/* RFC 8445 §14.2: Ta paces all the checks of the implementation; an
	 * owner of many agents grants each one from its shared budget. */
	if (a->cfg.pace) {
		uint64_t retry = a->cfg.pace(a->cfg.pace_ctx, now);

		if (retry) {
			a->next_check_ms = retry > now ? retry : now + 1;
			return;
		}
	}
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
	a->next_check_ms = now + ice_ta(a);
}

void ice_pair_info_fill(const struct ice_agent *a, const struct ice_stream *st,
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

void ice_sel_info(const struct ice_sel *sel, struct ice_pair_info *out)
{
	memset(out, 0, sizeof(*out));
	ice_cand_export(&sel->local, &out->local);
	ice_cand_export(&sel->remote, &out->remote);
	out->base = sel->base;
	out->priority = sel->prio;
	out->state = ICE_PAIR_STATE_SUCCEEDED;
	out->nominated = true;
}

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
void ice_select(struct ice_agent *a, unsigned s, unsigned idx, uint64_t now)
{
	struct ice_stream *st = a->streams[s];
	struct ice_pair *p = &st->pairs[idx];
	struct ice_component *cp = &st->comp[p->comp - 1];
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
	ice_consent_set_state(a, s, p->comp, ICE_CONSENT_STATE_GRANTED, true);
	ice_cred_free(&st->prev_lufrag); /* the old generation is over */
	ice_cred_free(&st->prev_lpwd);
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
void ice_stream_update_list(struct ice_agent *a, unsigned s)
{
	struct ice_stream *st = a->streams[s];
	bool all_sel = true;

	if (a->cfg.lite) {
		/* A lite agent's list is done once the peer nominated a pair for
		 * every component; it never fails on its own. */
		for (unsigned c = 1; c <= st->ncomp; c++)
			if (!st->comp[c - 1].sel.active ||
			    st->comp[c - 1].sel.generation != st->generation)
				all_sel = false;
		st->list = all_sel ? ICE_LIST_COMPLETED : ICE_LIST_RUNNING;
		return;
	}
	if (!st->have_remote)
		return;
	for (unsigned c = 1; c <= st->ncomp; c++) {
		struct ice_component *cp = &st->comp[c - 1];
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

bool ice_comp_waits_nomination(const struct ice_stream *st, unsigned c)
{
	const struct ice_component *cp = &st->comp[c - 1];

	return !cp->failed && !(cp->sel.active && cp->sel.generation == st->generation);
}

/* No nomination within nomination_timeout_ms (ice_config): the component
 * fails and its checks stop, whatever the role. */
void ice_stream_nomination_timeout(struct ice_agent *a, unsigned s, uint64_t now)
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
		st->comp[c - 1].failed = true;
		st->comp[c - 1].timed_out = true;
		st->comp[c - 1].nominating = -1;
		st->list = ICE_LIST_FAILED;
		ice_push_event(a, &ev);
	}
}

/*
 * The nomination check on a valid pair timed out or was refused (RFC 8445
 * §7.2.5.2, §8.1.1): the pair leaves the valid list and fails, so the next
 * nomination takes the next valid pair instead of this one again and
 * again (and a component with none left fails at once, not at the
 * nomination timeout).
 */
void ice_pair_nomination_failed(struct ice_agent *a, struct ice_stream *st, struct ice_pair *p)
{
	ice_log(a, ICE_LOG_INFO, "component %u: nomination check failed; next valid pair",
		p->comp);
	p->valid = false;
	ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
}

/*
 * Controlling agent, regular nomination (RFC 8445 §8.1.1): when the best
 * valid pair of component c may be nominated. Higher-priority pairs still
 * to be checked (Frozen, Waiting, triggered) hold it back, and so do
 * In-Progress ones while an answer could still come (see
 * ICE_NOMINATION_RTT_DEFAULT_MS); never longer than ICE_NOMINATION_WAIT_MS
 * after the first valid pair. UINT64_MAX: no valid pair, or nothing to do.
 */
uint64_t ice_nomination_due(const struct ice_agent *a, const struct ice_stream *st, unsigned c)
{
	const struct ice_component *cp = &st->comp[c - 1];
	uint64_t due, cap, patience;
	int best = -1;

	if (cp->nominating >= 0 || (cp->sel.active && cp->sel.generation == st->generation))
		return UINT64_MAX;
	for (unsigned i = 0; i < st->npairs; i++) {
		const struct ice_pair *p = &st->pairs[i];

		if (p->comp == c && p->valid && (best < 0 || p->prio > st->pairs[best].prio))
			best = (int)i;
	}
	if (best < 0)
		return UINT64_MAX;
	due = cp->first_valid_ms ? cp->first_valid_ms : a->now;
	cap = due + ICE_NOMINATION_WAIT_MS;
	patience = 2 * (uint64_t)(cp->rtt_ms ? cp->rtt_ms : ICE_NOMINATION_RTT_DEFAULT_MS) +
		   ice_ta(a);
	for (unsigned i = 0; i < st->npairs; i++) {
		const struct ice_pair *p = &st->pairs[i];

		if (p->comp != c || p->prio <= st->pairs[best].prio)
			continue;
		if (p->triggered || p->state == ICE_PAIR_STATE_FROZEN ||
		    p->state == ICE_PAIR_STATE_WAITING)
			return cap; /* to be checked: looked at again when it is */
		if (p->state == ICE_PAIR_STATE_IN_PROGRESS && p->first_tx_ms + patience > due)
			due = p->first_tx_ms + patience;
	}
	return due < cap ? due : cap;
}

void ice_nominate(struct ice_agent *a, uint64_t now)
{
	if (!a->controlling || a->cfg.lite || !a->started)
		return;
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		if (!ice_stream_checkable(a, st))
			continue;
		for (unsigned c = 1; c <= st->ncomp; c++) {
			struct ice_component *cp = &st->comp[c - 1];
			int best = -1;

			if (ice_nomination_due(a, st, c) == UINT64_MAX)
				continue;
			if (!cp->first_valid_ms)
				cp->first_valid_ms = now;
			if (ice_nomination_due(a, st, c) > now)
				continue;
			for (unsigned i = 0; i < st->npairs; i++) {
				const struct ice_pair *p = &st->pairs[i];

				if (p->comp == c && p->valid &&
				    (best < 0 || p->prio > st->pairs[best].prio))
					best = (int)i;
			}
			/* The nominating check is paced like any other (RFC 8445
			 * §6.1.4.2, §8.1.1): it joins the triggered queue. */
			cp->nominating = best;
			st->pairs[best].use_cand = true;
			ice_trigger(a, st, (unsigned)best);
		}
	}
}

void ice_unfreeze_foundation(struct ice_agent *a, const char *lf, const char *rf)
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

/* Retransmissions: RFC 8489 §6.2.1 with the §14.3 RTO. */
void ice_checklist_tick(struct ice_agent *a, uint64_t now)
{
	uint64_t due = UINT64_MAX;

	if (now < a->pairs_due_ms)
		return;
	/* checks first sent from here on lower the bound themselves */
	a->pairs_due_ms = UINT64_MAX;
	for (unsigned s = 0; s < a->nstreams; s++) {
		struct ice_stream *st = a->streams[s];

		for (unsigned i = 0; i < st->npairs; i++) {
			struct ice_pair *p = &st->pairs[i];

			if (!p->inflight)
				continue;
			if (p->next_ms > now) {
				due = p->next_ms < due ? p->next_ms : due;
				continue;
			}
			if (p->sent >= a->cfg.rc) {
				p->inflight = false;
				if (st->comp[p->comp - 1].nominating == (int)i)
					st->comp[p->comp - 1].nominating = -1;
				if (p->state == ICE_PAIR_STATE_IN_PROGRESS)
					ice_pair_set_state(a, st, p, ICE_PAIR_STATE_FAILED);
				else if (p->use_cand)
					ice_pair_nomination_failed(a, st, p);
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
			due = p->next_ms < due ? p->next_ms : due;
		}
	}
	if (due < a->pairs_due_ms)
		a->pairs_due_ms = due;
}
