// SPDX-License-Identifier: GPL-2.0-only
/* relay_call: deleting calls, inactivity, "this call changed" (see relay.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "relay.h"

int64_t relay_unix_time(const struct relay *r, uint64_t mono_ms)
{
	if (!mono_ms)
		return 0;
	return ((int64_t)mono_ms + r->unix_offset_ms) / 1000;
}

/* ---- "this call changed" ------------------------------------------------------ */

void relay_call_changed(struct relay *r, struct call *c)
{
	if (c->changed)
		return;
	c->changed = true;
	c->changed_next = r->changed;
	r->changed = c;
}

void relay_leg_changed(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	call_leg_settle(&r->calls, l, now_ms);
	relay_call_changed(r, l->call);
}

void relay_calls_flush(struct relay *r, uint64_t now_ms)
{
	struct call *c;

	if (!r->changed)
		return;
	while ((c = r->changed)) {
		r->changed = c->changed_next;
		c->changed = false;
		c->changed_next = NULL;
		daemon_log_set_call(c->id); /* flow lines belong to the call */
		relay_flows_sync(r, c);
		relay_worker_sync(r, c);
		relay_state_mark(r, c);
	}
	daemon_log_set_call(NULL);
	relay_state_dirty(r, now_ms);
}

/* ---- the group commit --------------------------------------------------------- */

static void ng_send(void *ctx, const struct netaddr *to, const uint8_t *dgram, size_t len)
{
	struct relay *r = ctx;
	char buf[NETADDR_STRLEN];

	if (to && sendto(r->ng.fd, dgram, len, MSG_DONTWAIT, &to->sa, netaddr_len(to)) < 0) {
		r->ngs.counters.send_errors++;
		log_warn("NG reply to %s: %s", netaddr_str(to, buf, sizeof(buf)), strerror(errno));
	}
}

/*
 * The turn's state is not durable (relay_state_commit() failed and logged
 * it once): nothing of the turn may be acknowledged as if it were.
 * - A call no commit has ever held (made by an offer since the last one
 *   that succeeded) is removed: its ports are free, its flows gone, and a
 *   parked offer of it is answered now (then turned below).
 * - An existing call keeps what the turn changed in memory (an answer, a
 *   re-offer: its media keeps flowing); the file keeps its older record
 *   until a commit succeeds, which writes it whole (the journal was
 *   closed by the failure: the next commit is a snapshot).
 * - A deleted call stays deleted here (flows removed, ports free); the
 *   file still names it until that snapshot. A crash before then brings
 *   it back from the file: no other call can hold its ports (a call made
 *   meanwhile was removed above, never acknowledged), its flows are
 *   installed again and, with no media, the inactivity timeout ends it.
 * Every ok reply of an offer, answer or delete waiting in this turn then
 * becomes result error with r->state_why as its error-reason.
 */
static void commit_failed(struct relay *r)
{
	struct call *c, *next;
	unsigned removed = 0, turned;

	for (c = r->calls.head; c; c = next) {
		next = c->next;
		if (!c->state_new)
			continue;
		daemon_log_set_call(c->id);
		relay_call_delete(r, c, "its state could not be written", r->now_ms);
		removed++;
	}
	daemon_log_set_call(NULL);
	turned = ng_server_fail_held(&r->ngs, r->now_ms, r->state_why);
	log_debug("state not durable: %u new calls removed, %u replies turned to errors",
		  removed, turned);
}

void relay_commit(struct relay *r)
{
	int err = 0;

	/* the counters' checkpoint: a call whose media changes nothing else
	 * still has its counters written this often */
	if (r->calls.ncalls && r->now_ms >= r->snapshot_ms + RELAY_STATE_CHECKPOINT_MS)
		relay_state_dirty(r, r->now_ms);
	if (!ng_server_held(&r->ngs))
		return; /* nothing to acknowledge: the state timer writes later */
	if (r->state_timer.index != SIZE_MAX) {
		/* one write + fsync for every change of the turn */
		timerheap_remove(&r->timers, &r->state_timer);
		err = relay_state_commit(r, r->now_ms);
		r->commits++;
	}
	if (err)
		commit_failed(r);
	ng_server_release(&r->ngs, ng_send, r);
}

/* A call going away leaves the turn's list. */
static void changed_unlink(struct relay *r, struct call *c)
{
	if (!c->changed)
		return;
	for (struct call **p = &r->changed; *p; p = &(*p)->changed_next)
		if (*p == c) {
			*p = c->changed_next;
			break;
		}
	c->changed = false;
}

/* ---- calls ------------------------------------------------------------------ */

void relay_call_delete(struct relay *r, struct call *c, const char *why, uint64_t now)
{
	struct call_counters ru, rf, tu;

	log_info("call %s: deleted (%s)", c->id, why);
	relay_worker_recall(r, c); /* its counters folded, its sockets the loop's */
	relay_refresh_counters(r, c);
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		/* a parked offer/answer is answered first, with what it has */
		relay_pending_flush(r, l, now);
		for (unsigned i = 0; i < l->nstreams; i++)
			for (unsigned comp = 0; comp < CALL_NCOMP; comp++)
				relay_flow_remove(r, &l->streams[i], comp);
		call_leg_totals(l, &ru, &rf, &tu);
		r->gone_user.packets += ru.packets;
		r->gone_user.bytes += ru.bytes;
		r->gone_fast.packets += rf.packets;
		r->gone_fast.bytes += rf.bytes;
		r->gone_tx_user.packets += tu.packets;
		r->gone_tx_user.bytes += tu.bytes;
		for (unsigned i = 0; i < l->nstreams; i++) {
			r->gone_rtcp[0] += l->streams[i].rx_user[CALL_COMP_RTCP].packets;
			r->gone_rtcp[1] += l->streams[i].rx_fast[CALL_COMP_RTCP].packets;
			r->gone_rtcp[2] += l->streams[i].tx_user[CALL_COMP_RTCP].packets;
		}
		relay_crypto_close(r, l); /* its close_notify, on the pair still there */
		if (l->agent) {
			/* RFC 8656 §7: release TURN allocations (Refresh, lifetime 0)
			 * before the sockets close */
			struct ice_transmit tx;

			ice_agent_release(l->agent, now);
			while (ice_agent_poll_transmit(l->agent, &tx))
				relay_send_tx_now(r, l, &tx);
			ice_agent_free(l->agent);
			l->agent = NULL;
		}
		timerheap_remove(&r->timers, &l->ice_timer);
		timerheap_remove(&r->timers, &l->idle_timer);
		relay_crypto_free(r, l);
		/* every stream, not only those below nstreams: nothing of the
		 * call may stay bound (and in epoll) once it is freed */
		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++)
			relay_stream_close(r, &l->streams[i]);
		call_leg_transition(&r->calls, l, CALL_LEG_STATE_CLOSED, why, now);
	}
	timerheap_remove(&r->timers, &c->delete_timer);
	changed_unlink(r, c);
	relay_state_gone(r, c);
	call_destroy(&r->calls, c);
	relay_state_dirty(r, now);
}

/*
 * Inactivity: a leg without ICE is watched for media from its peer (the fast
 * path's last-seen stamps and userspace's); a leg with ICE is watched for
 * how long it stays without a usable pair (checking, failed, consent lost),
 * so that a call whose peer vanished before or after connecting goes away.
 * Either way the whole call is deleted, with a log line saying why.
 */
static uint64_t idle_since(const struct call_leg *l)
{
	uint64_t last = l->state_ms;

	if (relay_leg_ice(l))
		return last;
	/* media from either side keeps a call alive: a muted phone or music
	 * on hold sends nothing for minutes, its call is not dead */
	for (unsigned side = 0; side < 2; side++) {
		const struct call_leg *x = &l->call->legs[side];

		for (unsigned i = 0; i < x->nstreams; i++)
			if (x->streams[i].last_seen_ms > last)
				last = x->streams[i].last_seen_ms;
	}
	return last;
}

void relay_idle_arm(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	if (!r->opts.inactivity_s || l->state == CALL_LEG_STATE_NEW ||
	    l->state == CALL_LEG_STATE_CLOSED ||
	    (relay_leg_ice(l) && l->state == CALL_LEG_STATE_CONNECTED)) {
		timerheap_remove(&r->timers, &l->idle_timer);
		return;
	}
	l->idle_timer.owner = l;
	l->idle_timer.kind = RELAY_TIMER_IDLE;
	timerheap_set(&r->timers, &l->idle_timer, idle_since(l) + r->opts.inactivity_s * 1000ull);
}

void relay_idle_fire(struct relay *r, struct call_leg *l, uint64_t now)
{
	uint64_t limit = r->opts.inactivity_s * 1000ull;
	char why[256];

	if (!relay_leg_ice(l))
		relay_refresh_counters(r, l->call);
	if (now < idle_since(l) + limit) {
		relay_idle_arm(r, l, now);
		return;
	}
	if (relay_leg_ice(l))
		snprintf(why, sizeof(why), "ICE leg %s %s for %u s (--inactivity-timeout)",
			 l->tag[0] ? l->tag : "-", call_leg_state_str(l->state),
			 r->opts.inactivity_s);
	else
		snprintf(why, sizeof(why),
			 "no media for %u s on the call of plain RTP leg %s (--inactivity-timeout)",
			 r->opts.inactivity_s, l->tag[0] ? l->tag : "-");
	log_warn("call %s: %s", l->call->id, why);
	relay_call_delete(r, l->call, why, now);
}

void relay_on_leg_state(void *ctx, struct call_leg *l, enum call_leg_state from,
			enum call_leg_state to, const char *why)
{
	/* the transition stamped the leg with its now_ms */
	relay_metrics_leg_state(ctx, l, from, to, l->state_ms);
	relay_idle_arm(ctx, l, l->state_ms);
}

void relay_state_dirty(struct relay *r, uint64_t now_ms)
{
	if (r->state_timer.index == SIZE_MAX)
		timerheap_set(&r->timers, &r->state_timer, now_ms + RELAY_STATE_FLUSH_MS);
}
