// SPDX-License-Identifier: GPL-2.0-only
/* relay_media: the userspace datapath (see relay.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon_log.h"
#include "icepath/compiler.h"
#include "icepath/demux.h"
#include "icepath/ice.h"
#include "relay.h"

/* ---- early media (relay.h) ---------------------------------------------------- */

/* The stream of the other leg whose media d holds (its `dropped` counts). */
static struct call_stream *early_source(struct call_leg *o, const struct call_stream *d)
{
	struct call_leg *l = call_leg_other(o);

	return d->index < l->nstreams ? &l->streams[d->index] : NULL;
}

static void early_drop(struct relay *r, struct call_stream *src)
{
	if (src)
		src->dropped++;
	r->user_dropped++;
	r->metrics.drops[METRICS_DROP_NO_PATH]++;
}

/* Drop what is older than RELAY_EARLY_MS (the queue is in arrival order). */
static void early_expire(struct relay *r, struct call_leg *o, struct call_stream *d,
			 uint64_t now)
{
	struct relay_early *q = d->early;
	unsigned k = 0;

	while (k < q->n && now - q->pkt[k].at_ms > RELAY_EARLY_MS) {
		free(q->pkt[k].data);
		early_drop(r, early_source(o, d));
		q->expired++;
		k++;
	}
	if (k) {
		memmove(&q->pkt[0], &q->pkt[k], (q->n - k) * sizeof(q->pkt[0]));
		q->n -= k;
	}
}

/* Hold a packet for d (of leg o) until its pair is selected; false: dropped
 * (the caller counts it). */
static bool early_hold(struct relay *r, struct call_leg *o, struct call_stream *d, unsigned dcomp,
		       const uint8_t *data, size_t len, uint64_t now)
{
	struct relay_early *q = d->early;

	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return false;
		d->early = q;
	}
	early_expire(r, o, d, now);
	if (q->n == RELAY_EARLY_MAX) {
		q->overflow++;
		return false;
	}
	q->pkt[q->n].data = malloc(len);
	if (!q->pkt[q->n].data)
		return false;
	memcpy(q->pkt[q->n].data, data, len);
	q->pkt[q->n].len = len;
	q->pkt[q->n].comp = dcomp;
	q->pkt[q->n].at_ms = now;
	q->n++;
	q->held++;
	return true;
}

void relay_early_flush(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		       uint64_t now)
{
	struct relay_early *q = s->early;
	struct call_stream *src = early_source(l, s);
	struct ice_transmit tx;
	unsigned keep = 0;
	int fd;

	if (!q)
		return;
	early_expire(r, l, s, now);
	for (unsigned k = 0; k < q->n; k++) {
		if (q->pkt[k].comp != comp) {
			q->pkt[keep++] = q->pkt[k];
			continue;
		}
		if (s->consent &&
		    ice_agent_send(l->agent, (unsigned)s->ice_stream, comp + 1, q->pkt[k].data,
				   q->pkt[k].len, &tx) >= 0 &&
		    (fd = relay_fd_for_local(l, &tx.local)) >= 0) {
			/* the batch points into data: out before it is freed */
			relay_out_tx(r, fd, &tx);
			relay_out_flush(r);
			s->tx_user[comp].packets++;
			s->tx_user[comp].bytes += q->pkt[k].len;
			r->user_forwarded++;
			q->sent++;
		} else {
			early_drop(r, src);
		}
		free(q->pkt[k].data);
	}
	q->n = keep;
	log_info("call %s leg %s stream %u comp %u: early media: %llu packets held before the "
		 "pair, %llu sent on it, %llu dropped (older than %u ms: %llu, over %u: %llu)",
		 l->call->id, l->tag, s->index, comp + 1, (unsigned long long)q->held,
		 (unsigned long long)q->sent, (unsigned long long)(q->held - q->sent - q->n),
		 RELAY_EARLY_MS, (unsigned long long)q->expired, RELAY_EARLY_MAX,
		 (unsigned long long)q->overflow);
	if (!q->n)
		relay_early_free(r, s);
}

void relay_early_free(struct relay *r, struct call_stream *s)
{
	struct relay_early *q = s->early;

	if (!q)
		return;
	for (unsigned k = 0; k < q->n; k++) {
		free(q->pkt[k].data);
		r->user_dropped++;
		r->metrics.drops[METRICS_DROP_NO_PATH]++;
	}
	free(q);
	s->early = NULL;
}

/* ---- datapath ------------------------------------------------------------------ */

static void forward(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		    const uint8_t *data, size_t len, uint64_t now)
{
	struct call_leg *o = call_leg_other(l);
	struct call_stream *d, *t, *k;
	struct ice_transmit tx;
	size_t wire = len;
	enum demux_class cls;
	enum metrics_drop why = METRICS_DROP_NO_PATH;
	bool crypto = l->crypto || o->crypto;
	unsigned dcomp, scomp;
	int fd, rc;

	cls = demux_classify(data[0], len > 1 ? data[1] : 0, (__u32)len);
	/* RTCP is counted as RTCP, also when it shares the RTP port (RFC
	 * 5761 §4: told apart by payload type 64-95, demux.h) */
	scomp = cls == DEMUX_RTCP ? CALL_COMP_RTCP : cls == DEMUX_RTP ? CALL_COMP_RTP : comp;
	s->rx_user[scomp].packets++;
	s->rx_user[scomp].bytes += len;
	s->last_seen_ms = now;
	l->call->last_activity_ms = now;
	/* the call's SRTP contexts are lent to its media worker, which passed
	 * this up (a new source, say): they come back for it, and the turn's
	 * sync hands the call out again (relay_worker.c) */
	if (crypto && l->call->nwflows) {
		relay_worker_recall(r, l->call);
		relay_call_changed(r, l->call);
	}
	/* a terminated leg: DTLS is the relay's own, SRTP is checked and
	 * decrypted here; what fails never goes on (relay_crypto.c counts it) */
	if (crypto && (rc = relay_crypto_rx(r, l, s, comp, &data, &len, now))) {
		if (rc > 0)
			return; /* DTLS: the relay's endpoint took it */
		s->dropped++;
		r->user_dropped++;
		r->metrics.drops[rc == -EBADMSG	   ? METRICS_DROP_SRTP_AUTH
				 : rc == -EALREADY ? METRICS_DROP_SRTP_REPLAY
						   : METRICS_DROP_CRYPTO]++;
		return;
	}
	/* BUNDLE toward l only (relay_bundle.c): the stream it is by SSRC/MID,
	 * counted there; what matches none is never forwarded */
	k = relay_bundle_rx(l, s, data, len);
	if (!k) {
		why = METRICS_DROP_BUNDLE;
		goto drop;
	}
	if (k != s) {
		s->rx_user[scomp].packets--;
		s->rx_user[scomp].bytes -= wire;
		k->rx_user[scomp].packets++;
		k->rx_user[scomp].bytes += wire;
		k->last_seen_ms = now;
		s = k;
	}
	if (s->index >= o->nstreams || o->state == CALL_LEG_STATE_NEW)
		goto drop;
	d = &o->streams[s->index];
	if (!d->active)
		goto drop;
	/* BUNDLE toward o: d's media rides on the tagged stream's transport */
	t = relay_bundle_tx(o, d, data, len);
	/* and carries d's MID there when the relay answered the extension
	 * (relay_bundle_tx_mid); r->cbuf takes the longer packet, in place
	 * when data is already there */
	if (cls == DEMUX_RTP) {
		int n = relay_bundle_tx_mid(o, d, data, len, r->cbuf, RELAY_DGRAM_MAX);

		if (n > 0) {
			data = r->cbuf;
			len = (size_t)n;
		}
	}
	/* RFC 5761: a muxed destination takes RTCP on the RTP port; otherwise
	 * RTCP goes to its own port, and DTLS stays on its component */
	if (t->rtcp_mux)
		dcomp = CALL_COMP_RTP;
	else if (cls == DEMUX_RTCP)
		dcomp = CALL_COMP_RTCP;
	else if (cls == DEMUX_RTP)
		dcomp = CALL_COMP_RTP;
	else
		dcomp = comp;
	if (!t->consent)
		why = METRICS_DROP_NO_CONSENT;
	if (crypto && relay_crypto_tx(r, o, d, &data, &len)) {
		why = METRICS_DROP_CRYPTO;
		goto drop;
	}
	if (o->agent && t->ice) {
		/* RFC 7675 §5.1: no consent, no sending; ice_agent_send says so
		 * too, but the stream flag also covers a lost pair's restart */
		if (!t->consent)
			goto drop;
		if (ice_agent_send(o->agent, (unsigned)t->ice_stream, dcomp + 1, data, len,
				   &tx) < 0) {
			/* no pair yet: held for it, within bounds */
			if (!t->remote_set[dcomp] && early_hold(r, o, t, dcomp, data, len, now))
				return;
			goto drop;
		}
		fd = relay_fd_for_local(o, &tx.local);
		if (fd < 0)
			goto drop;
		relay_out_tx(r, fd, &tx);
	} else {
		if (!t->remote_set[dcomp] || t->sock[dcomp].fd < 0 || !t->consent)
			goto drop;
		relay_out_plain(r, t->sock[dcomp].fd, &t->remote[dcomp], data, len);
	}
	/* what d's peer receives: RTCP as RTCP, even on a muxed port */
	d->tx_user[scomp].packets++;
	d->tx_user[scomp].bytes += len;
	r->user_forwarded++;
	if (crypto || data == r->cbuf)
		relay_out_flush(r); /* data is the relay's scratch buffer (relay_worker.c batches) */
	return;
drop:
	s->dropped++;
	r->user_dropped++;
	r->metrics.drops[why]++;
}

/*
 * A recovered leg's resumed agent handled a STUN message: if it was an
 * authenticated Binding success from the selected pair's peer (one of our
 * consent checks answered), say once that the peer still knows the relay.
 */
static void note_consent_answer(struct call_leg *l, const struct call_stream *s, unsigned comp,
				const struct netaddr *from, const uint8_t *buf, size_t len,
				const struct ice_agent_stats *before)
{
	struct ice_agent_stats after;

	/* RFC 8489 §5: Binding success response is type 0x0101; one the agent
	 * dropped (integrity, unknown transaction) is no answer */
	ice_agent_get_stats(l->agent, &after);
	if (len < 20 || buf[0] != 0x01 || buf[1] != 0x01 || !s->ice || !s->remote_set[comp] ||
	    !netaddr_equal(from, &s->remote[comp]) ||
	    after.rx_dropped_unauth != before->rx_dropped_unauth ||
	    after.rx_dropped_unknown != before->rx_dropped_unknown ||
	    after.rx_dropped_malformed != before->rx_dropped_malformed)
		return;
	l->consent_answered = true;
	log_info("call %s leg %s: the peer answers the recovered leg's consent checks", l->call->id,
		 l->tag);
}

/*
 * Media on an ICE leg counts only from the selected pair's peer, or before
 * a pair is selected from the remote of a pair that has not failed: a
 * candidate the peer signalled, or a peer-reflexive one an authenticated
 * check proved (a peer's first media may beat the relay's own check on that
 * pair); anything else is a spoofer's and is never forwarded. Through
 * the relay's TURN allocation the source is the TURN server and the agent
 * checked the channel or permission.
 */
static bool ice_source_ok(const struct call_leg *l, const struct call_stream *s, unsigned comp,
			  const struct netaddr *from)
{
	struct ice_pair_info pairs[64];
	int n;

	if (s->via_turn || (s->remote_set[comp] && netaddr_equal(from, &s->remote[comp])))
		return true;
	if (s->remote_set[comp])
		return false;
	n = ice_agent_pairs(l->agent, (unsigned)s->ice_stream, pairs, ARRAY_SIZE(pairs));
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(pairs); i++)
		/* before selection, any remote the peer signalled (or proved by
		 * an authenticated check: prflx) whose pair has not failed: a
		 * peer's first media may beat the relay's own check on the pair */
		if (pairs[i].state != ICE_PAIR_STATE_FAILED &&
		    pairs[i].local.component == comp + 1 &&
		    netaddr_equal(from, &pairs[i].remote.addr))
			return true;
	return false;
}

/* ---- endpoint learning (plain RTP) ------------------------------------------- */

/* How well a source matches what the SDP announced (rtpengine's heuristic). */
enum relay_learn_rank {
	RELAY_LEARN_RANK_ANY,	   /* neither address nor port */
	RELAY_LEARN_RANK_PORT,	   /* the SDP's port from another address */
	RELAY_LEARN_RANK_ADDR,	   /* the SDP's address, another port (a NAT) */
	RELAY_LEARN_RANK_EXACT,	   /* address and port as announced */
};

static enum relay_learn_rank learn_rank(const struct call_stream *s, unsigned comp,
					const struct netaddr *from)
{
	const struct netaddr *sdp = &s->sdp_remote[comp];

	if (!s->sdp_set[comp])
		return RELAY_LEARN_RANK_ANY;
	if (netaddr_equal(sdp, from))
		return RELAY_LEARN_RANK_EXACT;
	if (netaddr_same_ip(sdp, from))
		return RELAY_LEARN_RANK_ADDR;
	if (netaddr_port(sdp) == netaddr_port(from))
		return RELAY_LEARN_RANK_PORT;
	return RELAY_LEARN_RANK_ANY;
}

/* Media toward the leg goes to addr from now on (flows follow at the turn's end). */
static void set_remote(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		       const struct netaddr *addr, uint64_t now)
{
	if (s->remote_set[comp] && netaddr_equal(&s->remote[comp], addr))
		return;
	s->remote[comp] = *addr;
	s->remote_set[comp] = true;
	relay_leg_changed(r, l, now);
}

static void learn_keep(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		       const struct netaddr *addr, const char *why, uint64_t now)
{
	char a[NETADDR_STRLEN];

	set_remote(r, l, s, comp, addr, now);
	s->latched[comp] = true;
	s->latched_ms[comp] = now;
	relay_call_changed(r, l->call); /* latched is state: into the next commit */
	log_info("call %s leg %s stream %u: %s peer learned: %s (%s)", l->call->id, l->tag,
		 s->index, comp ? "RTCP" : "RTP", netaddr_str(addr, a, sizeof(a)), why);
}

/*
 * --endpoint-learning (rtpengine's algorithms). Media is forwarded while a
 * stream learns: toward the best source so far, so a phone behind NAT is
 * heard from its first packet. The window is judged on the packets the
 * daemon sees: once the fast path forwards the provisional source, only
 * other sources reach here, and the first of them after the window keeps
 * what was learned (delayed: the latest source of the window, as rtpengine
 * takes the first packet after it; heuristic: the best ranked).
 */
static void learn(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		  const struct netaddr *from, uint64_t now)
{
	enum relay_learn_rank rank = learn_rank(s, comp, from);

	switch (r->opts.learning) {
	case DAEMON_LEARN_OFF:
		return; /* the SDP's address stays the destination */
	case DAEMON_LEARN_IMMEDIATE:
		learn_keep(r, l, s, comp, from, "first packet", now);
		return;
	case DAEMON_LEARN_HEURISTIC:
		if (rank == RELAY_LEARN_RANK_EXACT) {
			learn_keep(r, l, s, comp, from, "matches the SDP", now);
			return;
		}
		break;
	case DAEMON_LEARN_DELAYED:
		break;
	}
	if (!s->learn_until_ms[comp]) {
		char a[NETADDR_STRLEN];

		s->learn_until_ms[comp] = now + RELAY_LEARN_MS;
		s->learn_rank[comp] = (int)rank;
		set_remote(r, l, s, comp, from, now);
		log_info("call %s leg %s stream %u: %s peer learning from %s (%s, %u ms)",
			 l->call->id, l->tag, s->index, comp ? "RTCP" : "RTP",
			 netaddr_str(from, a, sizeof(a)), daemon_learning_str(r->opts.learning),
			 RELAY_LEARN_MS);
		return;
	}
	if (now >= s->learn_until_ms[comp]) {
		learn_keep(r, l, s, comp, &s->remote[comp],
			   r->opts.learning == DAEMON_LEARN_DELAYED ? "latest source of the window"
								    : "best match of the window",
			   now);
		return;
	}
	if (r->opts.learning == DAEMON_LEARN_DELAYED || (int)rank > s->learn_rank[comp]) {
		s->learn_rank[comp] = (int)rank;
		set_remote(r, l, s, comp, from, now);
	}
}

static void input(struct relay *r, struct call_sock *cs, const struct netaddr *from,
		  const uint8_t *buf, size_t len, uint64_t now)
{
	char a[NETADDR_STRLEN];
	struct call_leg *l = cs->leg;
	struct call_stream *s = &l->streams[cs->stream];
	unsigned comp = cs->comp;
	enum demux_class cls;

	if (l->agent) {
		bool watch = l->recovered && !l->consent_answered;
		struct ice_agent_stats before;
		struct ice_recv_result res;
		int v;

		if (watch)
			ice_agent_get_stats(l->agent, &before);
		v = ice_agent_recv(l->agent, now, &s->local[comp], from, buf, len, &res);
		if (v == ICE_RECV_HANDLED) {
			if (watch)
				note_consent_answer(l, s, comp, from, buf, len, &before);
			relay_agent_drain(r, l, now);
			return;
		}
		if (v != ICE_RECV_DATA || !res.len) {
			s->dropped++;
			r->metrics.drops[METRICS_DROP_NOT_MEDIA]++;
			/* a dropped request may have queued an error answer */
			relay_agent_drain_refusal(r, l, from, now);
			return;
		}
		s = relay_stream_by_ice(l, res.stream);
		if (!s || res.component < 1 || res.component > CALL_NCOMP)
			return;
		if (!ice_source_ok(l, s, res.component - 1, from)) {
			s->foreign++;
			s->dropped++;
			r->user_dropped++;
			r->metrics.drops[METRICS_DROP_FOREIGN]++;
			return;
		}
		forward(r, l, s, res.component - 1, res.data, res.len, now);
		return;
	}
	cls = demux_classify(buf[0], len > 1 ? buf[1] : 0, (__u32)len);
	if (cls != DEMUX_RTP && cls != DEMUX_RTCP && cls != DEMUX_DTLS && cls != DEMUX_ZRTP) {
		s->dropped++;
		r->metrics.drops[METRICS_DROP_NOT_MEDIA]++;
		return;
	}
	/* a leg that spoke ICE before a restart but could not resume its
	 * agent never latches: its peer is the recorded selected pair */
	if (relay_leg_ice(l) &&
	    (!s->remote_set[comp] || !netaddr_equal(&s->remote[comp], from))) {
		s->dropped++;
		r->user_dropped++;
		return;
	}
	/* a leg without ICE learns its peer from the media it sends (SIP
	 * phones behind NAT announce private addresses); once learned, what a
	 * packet from another source does is the call's latch mode */
	if (!s->latched[comp])
		learn(r, l, s, comp, from, now);
	if (s->remote_set[comp] && !netaddr_equal(&s->remote[comp], from)) {
		if (s->latched[comp] && l->call->latch == CALL_LATCH_HANDOVER) {
			log_info("call %s leg %s stream %u: media-handover: %s moves to %s",
				 l->call->id, l->tag, s->index, comp ? "RTCP" : "RTP",
				 netaddr_str(from, a, sizeof(a)));
			set_remote(r, l, s, comp, from, now);
		} else {
			/* symmetric RTP: only the peer media goes back to is
			 * heard, so a spoofed source is never forwarded */
			s->foreign++;
			s->dropped++;
			r->user_dropped++;
			r->metrics.drops[l->call->latch == CALL_LATCH_STRICT
						 ? METRICS_DROP_STRICT_SOURCE
						 : METRICS_DROP_FOREIGN]++;
			return;
		}
	}
	forward(r, l, s, comp, buf, len, now);
}

void relay_media_input(struct relay *r, struct call_sock *cs, const struct netaddr *from,
		       const uint8_t *buf, size_t len, uint64_t now)
{
	input(r, cs, from, buf, len, now);
}

void relay_media_recv(struct relay *r, struct call_sock *cs, uint64_t now)
{
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct netaddr from[RELAY_BATCH];
	int n;

	/* a few batches per wakeup, then give other sockets their turn */
	for (int round = 0; round < 4 && cs->fd >= 0; round++) {
		relay_rx_batch_init(msgs, iov, from, r->rxbuf);
		n = recvmmsg(cs->fd, msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		daemon_log_set_call(cs->leg->call->id);
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC || !msgs[i].msg_len) {
				r->metrics.drops[METRICS_DROP_TRUNCATED] += msgs[i].msg_len > 0;
				continue;
			}
			netaddr_unmap_v4(&from[i]);
			input(r, cs, &from[i], r->rxbuf[i], msgs[i].msg_len, now);
		}
		daemon_log_set_call(NULL);
		relay_out_flush(r);
		if (n < RELAY_BATCH)
			break;
	}
}
