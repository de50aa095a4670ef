// SPDX-License-Identifier: GPL-2.0-only
/* relay: icepathd's event loop and userspace datapath (see relay.h). */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/demux.h"
#include "icepath/ice.h"
#include "icepath/monotime.h"
#include "relay.h"
#include "relay_limits.h"
#include "icepath/stun.h"

struct relay_out {
	int fd;
	struct netaddr dst;
	struct iovec iov[3];
	int niov;
	struct ice_transmit tx; /* framing when the datagram goes through an agent */
};

int64_t relay_unix_time(uint64_t mono_ms)
{
	uint64_t now = monotime_ms();

	if (!mono_ms)
		return 0;
	return (int64_t)time(NULL) - (int64_t)((now > mono_ms ? now - mono_ms : 0) / 1000u);
}

/* ---- sockets ------------------------------------------------------------------ */

static int bind_udp(const struct netaddr *a)
{
	int fd, err, one = 1;

	fd = socket(netaddr_family(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (netaddr_family(a) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &a->sa, netaddr_len(a)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int epoll_add(struct relay *r, int fd, void *ptr)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void sock_close(struct relay *r, struct call_sock *cs)
{
	if (cs->fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, cs->fd, NULL);
	close(cs->fd);
	cs->fd = -1;
}

static int open_pair(struct relay *r, struct call_leg *l, struct call_stream *s,
		     const struct daemon_iface *ifc, uint16_t port)
{
	int err = 0;

	for (unsigned c = 0; c < CALL_NCOMP; c++) {
		struct call_sock *cs = &s->sock[c];

		s->local[c] = ifc->local;
		netaddr_set_port(&s->local[c], (uint16_t)(port + c));
		s->advertised[c] = ifc->advertised;
		netaddr_set_port(&s->advertised[c], (uint16_t)(port + c));
		cs->kind = RELAY_EV_MEDIA;
		cs->leg = l;
		cs->stream = s->index;
		cs->comp = c;
		cs->fd = bind_udp(&s->local[c]);
		if (cs->fd < 0) {
			err = cs->fd;
			break;
		}
		err = epoll_add(r, cs->fd, cs);
		if (err) {
			close(cs->fd);
			cs->fd = -1;
			break;
		}
	}
	if (err) {
		for (unsigned c = 0; c < CALL_NCOMP; c++)
			sock_close(r, &s->sock[c]);
	}
	return err;
}

int relay_stream_open(struct relay *r, struct call_leg *l, struct call_stream *s,
		      const struct daemon_iface *ifc, int want_rtp_port)
{
	char buf[NETADDR_STRLEN];
	int port, err = -ENOSPC;

	snprintf(l->iface, sizeof(l->iface), "%s", ifc->name);
	if (want_rtp_port > 0) {
		/* recovery: the port the flows and the peer already use */
		err = call_ports_claim(&r->ports, (uint16_t)want_rtp_port);
		if (err && err != -ERANGE)
			return err;
		err = open_pair(r, l, s, ifc, (uint16_t)want_rtp_port);
		if (err && !call_ports_claim(&r->ports, (uint16_t)want_rtp_port))
			call_ports_put(&r->ports, (uint16_t)want_rtp_port);
		return err;
	}
	/* a port pair another process holds is skipped, not fatal: try the
	 * whole range once before giving up */
	for (size_t tries = 0; tries < r->ports.npairs; tries++) {
		port = call_ports_get(&r->ports);
		if (port < 0)
			break;
		err = open_pair(r, l, s, ifc, (uint16_t)port);
		if (!err)
			return 0;
		if (err != -EADDRINUSE) {
			call_ports_put(&r->ports, (uint16_t)port);
			break;
		}
		/* leave it marked used: someone else has it */
	}
	log_err("cannot bind media ports on %s (%s) in %u-%u: %s", ifc->name,
		netaddr_ip_str(&ifc->local, buf, sizeof(buf)), r->opts.port_min, r->opts.port_max,
		err == -ENOSPC ? "port range exhausted; widen --port-min/--port-max"
			       : strerror(-err));
	return err;
}

static void stream_close(struct relay *r, struct call_stream *s)
{
	bool had = s->sock[CALL_COMP_RTP].fd >= 0;

	for (unsigned c = 0; c < CALL_NCOMP; c++)
		sock_close(r, &s->sock[c]);
	if (had)
		call_ports_put(&r->ports, netaddr_port(&s->local[CALL_COMP_RTP]));
}

static int fd_for_local(struct call_leg *l, const struct netaddr *local)
{
	for (unsigned i = 0; i < l->nstreams; i++)
		for (unsigned c = 0; c < CALL_NCOMP; c++)
			if (l->streams[i].sock[c].fd >= 0 &&
			    netaddr_equal(&l->streams[i].local[c], local))
				return l->streams[i].sock[c].fd;
	return -1;
}

/* ---- send batch ------------------------------------------------------------------ */

static void out_flush(struct relay *r)
{
	struct mmsghdr msgs[RELAY_BATCH];
	unsigned i = 0;

	while (i < r->nout) {
		unsigned j = i, n = 0;
		int sent;

		while (j < r->nout && r->out[j].fd == r->out[i].fd) {
			memset(&msgs[n], 0, sizeof(msgs[n]));
			msgs[n].msg_hdr.msg_name = &r->out[j].dst.sa;
			msgs[n].msg_hdr.msg_namelen = netaddr_len(&r->out[j].dst);
			msgs[n].msg_hdr.msg_iov = r->out[j].iov;
			msgs[n].msg_hdr.msg_iovlen = (size_t)r->out[j].niov;
			n++;
			j++;
		}
		sent = sendmmsg(r->out[i].fd, msgs, n, MSG_DONTWAIT);
		/* a full socket buffer or an ICMP error drops what is left of
		 * this group, as the kernel would drop it on the wire */
		if (sent < (int)n)
			r->user_dropped += n - (unsigned)(sent > 0 ? sent : 0);
		i = j;
	}
	r->nout = 0;
}

static struct relay_out *out_slot(struct relay *r)
{
	if (r->nout == RELAY_BATCH)
		out_flush(r);
	return &r->out[r->nout++];
}

static void out_plain(struct relay *r, int fd, const struct netaddr *dst, const uint8_t *data,
		      size_t len)
{
	struct relay_out *o = out_slot(r);

	o->fd = fd;
	o->dst = *dst;
	o->iov[0].iov_base = (void *)data;
	o->iov[0].iov_len = len;
	o->niov = 1;
}

static void out_tx(struct relay *r, int fd, const struct ice_transmit *tx)
{
	struct relay_out *o = out_slot(r);

	o->fd = fd;
	o->tx = *tx;
	o->dst = tx->remote;
	o->niov = ice_transmit_iov(&o->tx, o->iov);
}

/* Agent-built datagrams (checks, consent, TURN control): sent at once. */
static void send_tx_now(struct relay *r, struct call_leg *l, const struct ice_transmit *tx)
{
	char a[NETADDR_STRLEN];
	struct iovec iov[3];
	struct msghdr mh = {0};
	int fd = fd_for_local(l, &tx->local);

	if (fd < 0) {
		log_warn("call %s leg %s: agent sends from %s, which is no socket of the leg",
			 l->call->id, l->tag, netaddr_str(&tx->local, a, sizeof(a)));
		return;
	}
	mh.msg_name = (void *)&tx->remote.sa;
	mh.msg_namelen = netaddr_len(&tx->remote);
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)ice_transmit_iov(tx, iov);
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		log_debug("call %s leg %s: send to %s: %s", l->call->id, l->tag,
			  netaddr_str(&tx->remote, a, sizeof(a)), strerror(errno));
}

/* ---- ICE events ------------------------------------------------------------------ */

static struct call_stream *stream_by_ice(struct call_leg *l, unsigned ice_stream)
{
	for (unsigned i = 0; i < l->nstreams; i++)
		if (l->streams[i].ice && l->streams[i].ice_stream == (int)ice_stream)
			return &l->streams[i];
	return NULL;
}

/* Every stream that carries its own media has a pair. */
static bool leg_usable(const struct call_leg *l)
{
	for (unsigned i = 0; i < l->nstreams; i++) {
		const struct call_stream *s = &l->streams[i];

		if (s->active && !s->bundled && !s->remote_set[CALL_COMP_RTP])
			return false;
	}
	return true;
}

static void on_ice_event(struct relay *r, struct call_leg *l, const struct ice_event *ev,
			 uint64_t now)
{
	char la[NETADDR_STRLEN], ra[NETADDR_STRLEN];
	struct call_stream *s = stream_by_ice(l, ev->stream);
	unsigned comp = ev->component ? ev->component - 1 : 0;

	switch (ev->type) {
	case ICE_EVENT_SELECTED_PAIR:
		if (!s || comp >= CALL_NCOMP)
			return;
		s->remote[comp] = ev->pair.remote.addr;
		s->remote_set[comp] = true;
		if (comp == CALL_COMP_RTP) {
			s->via_turn = ev->pair.local.type == ICE_CAND_TYPE_RELAY;
			snprintf(s->local_type, sizeof(s->local_type), "%s",
				 ice_cand_type_str(ev->pair.local.type));
			snprintf(s->remote_type, sizeof(s->remote_type), "%s",
				 ice_cand_type_str(ev->pair.remote.type));
			if (!s->nominated_ms)
				s->nominated_ms = now;
		}
		s->consent = true;
		log_info("call %s leg %s stream %u comp %u: selected pair %s (%s) -> %s (%s)%s",
			 l->call->id, l->tag, s->index, ev->component,
			 netaddr_str(&ev->pair.local.addr, la, sizeof(la)),
			 ice_cand_type_str(ev->pair.local.type),
			 netaddr_str(&ev->pair.remote.addr, ra, sizeof(ra)),
			 ice_cand_type_str(ev->pair.remote.type),
			 s->via_turn ? ", through the relay's TURN allocation: userspace path"
				     : "");
		call_leg_settle(&r->calls, l, now);
		relay_sync_flows(r, l->call);
		relay_state_dirty(r);
		break;
	case ICE_EVENT_CONSENT_LOST:
		if (!s)
			return;
		s->consent = false;
		log_warn("call %s leg %s stream %u: RFC 7675 consent lost: forwarding toward %s "
			 "stops",
			 l->call->id, l->tag, s->index,
			 netaddr_str(&s->remote[CALL_COMP_RTP], ra, sizeof(ra)));
		call_leg_settle(&r->calls, l, now);
		relay_sync_flows(r, l->call);
		break;
	case ICE_EVENT_CONSENT_REGAINED:
		if (!s)
			return;
		s->consent = true;
		log_info("call %s leg %s stream %u: consent regained: forwarding resumes",
			 l->call->id, l->tag, s->index);
		call_leg_settle(&r->calls, l, now);
		relay_sync_flows(r, l->call);
		break;
	case ICE_EVENT_STATE:
		log_debug("call %s leg %s: ICE agent %s", l->call->id, l->tag,
			  ice_agent_state_str(ev->state));
		/* a BUNDLE member the peer never checks fails in the agent;
		 * the leg fails only if a stream that carries media has no pair */
		if (ev->state == ICE_AGENT_STATE_FAILED && !leg_usable(l))
			call_leg_transition(&r->calls, l, CALL_LEG_STATE_FAILED,
					    "ICE check list failed", now);
		break;
	case ICE_EVENT_FAILED:
		log_warn("call %s leg %s stream %u comp %u: ICE failed: no candidate pair works",
			 l->call->id, l->tag, s ? s->index : ev->stream, ev->component);
		break;
	case ICE_EVENT_TURN_ERROR:
		log_warn("call %s leg %s: TURN server error %d (check --turn, --turn-user, "
			 "--turn-pass)",
			 l->call->id, l->tag, ev->error);
		break;
	case ICE_EVENT_ROLE_CHANGED:
		log_info("call %s leg %s: ICE role now %s (role conflict, RFC 8445 §7.3.1.1)",
			 l->call->id, l->tag, ev->controlling ? "controlling" : "controlled");
		break;
	case ICE_EVENT_CANDIDATE:
	case ICE_EVENT_GATHERING_DONE:
		/* NG has no channel to trickle the relay's late candidates: the
		 * SDP carried what was gathered when it was written */
		break;
	}
}

void relay_agent_drain(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	struct ice_transmit tx;
	struct ice_event ev;
	bool more = true;

	if (!l->agent)
		return;
	while (more) {
		more = false;
		while (ice_agent_poll_transmit(l->agent, &tx))
			send_tx_now(r, l, &tx);
		while (ice_agent_poll_event(l->agent, &ev)) {
			on_ice_event(r, l, &ev, now_ms);
			more = true;
		}
	}
	timerheap_set(&r->timers, &l->ice_timer, ice_agent_next_deadline(l->agent));
}

/* ---- datapath ------------------------------------------------------------------ */

static void forward(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		    const uint8_t *data, size_t len, uint64_t now)
{
	struct call_leg *o = call_leg_other(l);
	struct call_stream *d;
	struct ice_transmit tx;
	enum demux_class cls;
	unsigned dcomp;
	int fd;

	s->rx_user.packets++;
	s->rx_user.bytes += len;
	s->last_seen_ms = now;
	l->call->last_activity_ms = now;
	if (s->index >= o->nstreams || o->state == CALL_LEG_STATE_NEW)
		goto drop;
	d = &o->streams[s->index];
	if (!d->active)
		goto drop;
	cls = demux_classify(data[0], len > 1 ? data[1] : 0, (__u32)len);
	/* RFC 5761: a muxed destination takes RTCP on the RTP port; otherwise
	 * RTCP goes to its own port, and DTLS stays on its component */
	if (d->rtcp_mux)
		dcomp = CALL_COMP_RTP;
	else if (cls == DEMUX_RTCP)
		dcomp = CALL_COMP_RTCP;
	else if (cls == DEMUX_RTP)
		dcomp = CALL_COMP_RTP;
	else
		dcomp = comp;
	if (o->agent && d->ice) {
		/* RFC 7675 §5.1: no consent, no sending; ice_agent_send says so
		 * too, but the stream flag also covers a lost pair's restart */
		if (!d->consent || ice_agent_send(o->agent, (unsigned)d->ice_stream, dcomp + 1,
						  data, len, &tx) < 0)
			goto drop;
		fd = fd_for_local(o, &tx.local);
		if (fd < 0)
			goto drop;
		out_tx(r, fd, &tx);
	} else {
		if (!d->remote_set[dcomp] || d->sock[dcomp].fd < 0 || !d->consent)
			goto drop;
		out_plain(r, d->sock[dcomp].fd, &d->remote[dcomp], data, len);
	}
	d->tx_user.packets++;
	d->tx_user.bytes += len;
	r->user_forwarded++;
	return;
drop:
	s->dropped++;
	r->user_dropped++;
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
		struct ice_recv_result res;
		int v = ice_agent_recv(l->agent, now, &s->local[comp], from, buf, len, &res);

		if (v == ICE_RECV_HANDLED) {
			relay_agent_drain(r, l, now);
			return;
		}
		if (v != ICE_RECV_DATA || !res.len) {
			s->dropped++;
			return;
		}
		s = stream_by_ice(l, res.stream);
		if (!s || res.component < 1 || res.component > CALL_NCOMP)
			return;
		forward(r, l, s, res.component - 1, res.data, res.len, now);
		return;
	}
	cls = demux_classify(buf[0], len > 1 ? buf[1] : 0, (__u32)len);
	if (cls == DEMUX_STUN && l->recovered) {
		relay_consent_input(r, l, s, comp, from, buf, len, now);
		return;
	}
	if (cls != DEMUX_RTP && cls != DEMUX_RTCP && cls != DEMUX_DTLS && cls != DEMUX_ZRTP) {
		s->dropped++;
		return;
	}
	/* latching: a leg without ICE learns its peer from the first media
	 * packet (SIP phones behind NAT announce private addresses); what a
	 * later packet from another source does is the call's latch mode */
	if (s->latched[comp] && !netaddr_equal(&s->remote[comp], from)) {
		if (l->call->latch == CALL_LATCH_STRICT) {
			s->dropped++;
			r->user_dropped++;
			return;
		}
		if (l->call->latch == CALL_LATCH_HANDOVER) {
			s->latched[comp] = false;
			log_info("call %s leg %s stream %u: media-handover: %s moves to %s",
				 l->call->id, l->tag, s->index, comp ? "RTCP" : "RTP",
				 netaddr_str(from, a, sizeof(a)));
		}
	}
	if (!s->latched[comp]) {
		s->latched[comp] = true;
		if (!s->remote_set[comp] || !netaddr_equal(&s->remote[comp], from))
			log_info("call %s leg %s stream %u: latched %s to %s", l->call->id, l->tag,
				 s->index, comp ? "RTCP" : "RTP", netaddr_str(from, a, sizeof(a)));
		s->remote[comp] = *from;
		s->remote_set[comp] = true;
		call_leg_settle(&r->calls, l, now);
		relay_sync_flows(r, l->call);
		relay_state_dirty(r);
	}
	forward(r, l, s, comp, buf, len, now);
}

static void on_media(struct relay *r, struct call_sock *cs)
{
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct netaddr from[RELAY_BATCH];
	int n;

	/* a few batches per wakeup, then give other sockets their turn */
	for (int round = 0; round < 4 && cs->fd >= 0; round++) {
		uint64_t now;

		for (unsigned i = 0; i < RELAY_BATCH; i++) {
			iov[i].iov_base = r->rxbuf[i];
			iov[i].iov_len = RELAY_DGRAM_MAX;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_name = &from[i].sa;
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(cs->fd, msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		now = monotime_ms();
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC || !msgs[i].msg_len)
				continue;
			netaddr_unmap_v4(&from[i]);
			input(r, cs, &from[i], r->rxbuf[i], msgs[i].msg_len, now);
		}
		out_flush(r);
		if (n < RELAY_BATCH)
			break;
	}
}

/* ---- fast path ------------------------------------------------------------------ */

static void flow_counters_fold(struct relay *r, struct call_stream *s, unsigned c)
{
	struct fastpath_counters fc;

	if (r->fp && s->flow_installed[c] && !fastpath_flow_counters(r->fp, &s->flow[c], &fc)) {
		s->fast_base.packets += fc.packets;
		s->fast_base.bytes += fc.bytes;
	}
}

static void flow_remove(struct relay *r, struct call_stream *s, unsigned c)
{
	if (!s->flow_installed[c])
		return;
	flow_counters_fold(r, s, c);
	if (r->fp)
		fastpath_flow_remove(r->fp, &s->flow[c]);
	s->flow_installed[c] = false;
}

/* The flow for media arriving on leg l's stream s, component c, or false. */
static bool flow_wanted(struct call_leg *l, struct call_stream *s, unsigned c,
			struct fastpath_flow *f)
{
	struct call_leg *o = call_leg_other(l);
	struct call_stream *d;
	unsigned dc;

	memset(f, 0, sizeof(*f));
	if (!s->active || s->via_turn || !s->remote_set[c] || s->sock[c].fd < 0 ||
	    (s->rtcp_mux && c != CALL_COMP_RTP) || s->index >= o->nstreams)
		return false;
	if (l->state == CALL_LEG_STATE_CLOSED || o->state == CALL_LEG_STATE_CLOSED)
		return false;
	d = &o->streams[s->index];
	dc = d->rtcp_mux ? CALL_COMP_RTP : c;
	if (!d->active || d->via_turn || !d->remote_set[dc] || d->sock[dc].fd < 0)
		return false;
	f->local = s->local[c];
	f->remote = s->remote[c];
	f->out_src = d->local[dc];
	f->out_dst = d->remote[dc];
	f->flags = FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP;
	/* a muxed source toward a demuxed destination: RTCP needs the other
	 * port, which one flow cannot say; it takes the userspace path */
	if (s->rtcp_mux && !d->rtcp_mux)
		f->flags = FASTPATH_FLOW_RTP;
	if (d->consent)
		f->flags |= FASTPATH_FLOW_FORWARD;
	return true;
}

static bool flow_same_key(const struct fastpath_flow *a, const struct fastpath_flow *b)
{
	return netaddr_equal(&a->local, &b->local) && netaddr_equal(&a->remote, &b->remote) &&
	       a->in_channel == b->in_channel;
}

void relay_sync_flows(struct relay *r, struct call *c)
{
	char a[NETADDR_STRLEN], b[NETADDR_STRLEN];
	struct fastpath_flow f;
	int err;

	if (!r->fp)
		return;
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++) {
			struct call_stream *s = &l->streams[i];

			for (unsigned comp = 0; comp < CALL_NCOMP; comp++) {
				struct fastpath_flow *cur = &s->flow[comp];

				if (!flow_wanted(l, s, comp, &f)) {
					flow_remove(r, s, comp);
					continue;
				}
				if (s->flow_installed[comp] && flow_same_key(cur, &f) &&
				    netaddr_equal(&cur->out_src, &f.out_src) &&
				    netaddr_equal(&cur->out_dst, &f.out_dst)) {
					if (cur->flags != f.flags &&
					    !fastpath_flow_set_flags(r->fp, cur, f.flags)) {
						log_info("call %s leg %s stream %u: fast path %s",
							 c->id, l->tag, i,
							 f.flags & FASTPATH_FLOW_FORWARD
								 ? "forwarding again"
								 : "drops (no consent toward the "
								   "other leg)");
						cur->flags = f.flags;
					}
					continue;
				}
				f.id = s->flow_installed[comp] ? cur->id : ++r->next_flow_id;
				/* a new key (the peer moved) is a new flow: the old
				 * one's counters are folded in as it goes; the same
				 * key with a new destination (the other leg's pair
				 * changed) is replaced in place and keeps its
				 * counters (fastpath.h), so nothing is folded then */
				if (s->flow_installed[comp] && !flow_same_key(cur, &f))
					flow_remove(r, s, comp);
				err = fastpath_flow_install(r->fp, &f);
				if (err) {
					log_warn("call %s leg %s stream %u: fast path flow %s -> "
						 "%s not installed (%s): userspace forwards it",
						 c->id, l->tag, i,
						 netaddr_str(&f.remote, a, sizeof(a)),
						 netaddr_str(&f.out_dst, b, sizeof(b)),
						 strerror(-err));
					s->flow_installed[comp] = false;
					continue;
				}
				*cur = f;
				s->flow_installed[comp] = true;
				log_info("call %s leg %s stream %u %s: fast path %s -> %s%s", c->id,
					 l->tag, i, comp ? "RTCP" : "RTP",
					 netaddr_str(&f.remote, a, sizeof(a)),
					 netaddr_str(&f.out_dst, b, sizeof(b)),
					 f.flags & FASTPATH_FLOW_FORWARD ? ""
									 : " (held: no consent)");
			}
		}
	}
}

void relay_refresh_counters(struct relay *r, struct call *c)
{
	struct fastpath_counters fc;

	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++) {
			struct call_stream *s = &l->streams[i];

			s->rx_fast = s->fast_base;
			for (unsigned comp = 0; comp < CALL_NCOMP && r->fp; comp++) {
				if (!s->flow_installed[comp] ||
				    fastpath_flow_counters(r->fp, &s->flow[comp], &fc))
					continue;
				s->rx_fast.packets += fc.packets;
				s->rx_fast.bytes += fc.bytes;
				if (fc.last_seen_ns / 1000000u > s->last_seen_ms)
					s->last_seen_ms = fc.last_seen_ns / 1000000u;
			}
		}
	}
}

/* ---- calls ------------------------------------------------------------------ */

void relay_call_delete(struct relay *r, struct call *c, const char *why)
{
	uint64_t now = monotime_ms();
	struct call_counters ru, rf, tu;

	log_info("call %s: deleted (%s)", c->id, why);
	relay_refresh_counters(r, c);
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++)
			for (unsigned comp = 0; comp < CALL_NCOMP; comp++)
				flow_remove(r, &l->streams[i], comp);
		call_leg_totals(l, &ru, &rf, &tu);
		r->gone_user.packets += ru.packets;
		r->gone_user.bytes += ru.bytes;
		r->gone_fast.packets += rf.packets;
		r->gone_fast.bytes += rf.bytes;
		if (l->agent) {
			/* RFC 8656 §7: release TURN allocations (Refresh, lifetime 0)
			 * before the sockets close */
			struct ice_transmit tx;

			ice_agent_release(l->agent, now);
			while (ice_agent_poll_transmit(l->agent, &tx))
				send_tx_now(r, l, &tx);
			ice_agent_free(l->agent);
			l->agent = NULL;
		}
		timerheap_remove(&r->timers, &l->ice_timer);
		timerheap_remove(&r->timers, &l->idle_timer);
		for (unsigned i = 0; i < l->nstreams; i++)
			stream_close(r, &l->streams[i]);
		call_leg_transition(&r->calls, l, CALL_LEG_STATE_CLOSED, why, now);
	}
	timerheap_remove(&r->timers, &c->delete_timer);
	call_destroy(&r->calls, c);
	relay_state_dirty(r);
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

static void idle_fire(struct relay *r, struct call_leg *l, uint64_t now)
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
	relay_call_delete(r, l->call, why);
}

static void on_leg_state(void *ctx, struct call_leg *l, enum call_leg_state from,
			 enum call_leg_state to, const char *why)
{
	relay_idle_arm(ctx, l, monotime_ms());
}

void relay_state_dirty(struct relay *r)
{
	if (r->state_timer.index == SIZE_MAX)
		timerheap_set(&r->timers, &r->state_timer, monotime_ms() + RELAY_STATE_FLUSH_MS);
}

/* ---- loop ------------------------------------------------------------------ */

static void on_timers(struct relay *r)
{
	uint64_t now = monotime_ms(), exp;
	struct timerheap_node *t;

	if (read(r->timer.fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		log_debug("timerfd read: %s", strerror(errno));
	while ((t = timerheap_peek(&r->timers)) && t->deadline_ms <= now) {
		timerheap_remove(&r->timers, t);
		switch (t->kind) {
		case RELAY_TIMER_ICE: {
			struct call_leg *l = t->owner;

			if (l->agent) {
				ice_agent_tick(l->agent, now);
				relay_agent_drain(r, l, now);
			} else if (l->recovered) {
				relay_consent_tick(r, l, now);
			}
			break;
		}
		case RELAY_TIMER_IDLE:
			idle_fire(r, t->owner, now);
			break;
		case RELAY_TIMER_STATE:
			relay_state_save(r);
			break;
		case RELAY_TIMER_DELETE:
			relay_call_delete(r, t->owner, "NG delete, after its delete-delay");
			break;
		}
		out_flush(r);
	}
}

static void arm_timer(struct relay *r)
{
	struct itimerspec its = {0};
	uint64_t next = timerheap_next(&r->timers);

	if (next != TIMERHEAP_NONE) {
		/* absolute CLOCK_MONOTONIC; 0 would disarm, so never ask for it */
		if (!next)
			next = 1;
		its.it_value.tv_sec = (time_t)(next / 1000u);
		its.it_value.tv_nsec = (long)(next % 1000u) * 1000000L;
	}
	timerfd_settime(r->timer.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_ng(struct relay *r)
{
	uint8_t *in = r->rxbuf[0];
	struct netaddr from;
	socklen_t fl;
	ssize_t n, m;

	for (int i = 0; i < 64; i++) {
		/* NG datagrams may be up to 64 KiB: receive into the whole rx area */
		fl = sizeof(from);
		n = recvfrom(r->ng.fd, in, (size_t)RELAY_BATCH * RELAY_DGRAM_MAX, MSG_DONTWAIT,
			     &from.sa, &fl);
		if (n < 0)
			break;
		m = ng_handle(&r->ngs, monotime_ms(), &from, in, (size_t)n, r->ngout,
			      NG_DGRAM_MAX);
		if (m > 0 && sendto(r->ng.fd, r->ngout, (size_t)m, MSG_DONTWAIT, &from.sa, fl) < 0)
			log_warn("NG reply to client: %s", strerror(errno));
		out_flush(r);
	}
}

static void on_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %d: shutting down", si.ssi_signo);
			r->stopping = true;
		}
	}
}

int relay_poll(struct relay *r, int timeout_ms)
{
	struct epoll_event evs[64];
	int n;

	arm_timer(r);
	n = epoll_wait(r->epfd, evs, 64, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_err("epoll_wait: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		unsigned kind = *(unsigned *)evs[i].data.ptr;

		switch (kind) {
		case RELAY_EV_MEDIA:
			on_media(r, evs[i].data.ptr);
			break;
		case RELAY_EV_NG:
			on_ng(r);
			/* a delete may have closed sockets of later events:
			 * epoll reports them again if still readable */
			return n;
		case RELAY_EV_SIGNAL:
			on_signal(r);
			break;
		case RELAY_EV_TIMER:
			on_timers(r);
			return n; /* a timer may have deleted a call */
		}
	}
	return n;
}

int relay_run(struct relay *r)
{
	r->ran = true;
	while (!r->stopping) {
		int err = relay_poll(r, -1);

		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------------ */

static void fp_log(int level, const char *msg, void *ctx)
{
	enum daemon_log_level l = level <= LOG_ERR	 ? DAEMON_LOG_ERROR
				  : level == LOG_WARNING ? DAEMON_LOG_WARN
				  : level == LOG_DEBUG	 ? DAEMON_LOG_DEBUG
							 : DAEMON_LOG_INFO;

	daemon_log(l, "fast path: %s", msg);
}

/* The network interface that holds addr, into name. */
static int ifname_of(const struct netaddr *addr, char *name, size_t len)
{
	struct ifaddrs *ifa, *i;
	struct netaddr a;
	int err = -ENODEV;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != netaddr_family(addr))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.sa, i->ifa_addr,
		       i->ifa_addr->sa_family == AF_INET ? sizeof(a.in) : sizeof(a.in6));
		if (netaddr_same_ip(&a, addr)) {
			snprintf(name, len, "%s", i->ifa_name);
			err = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return err;
}

static int fastpath_setup(struct relay *r)
{
	static const enum fastpath_xdp_mode modes[] = {
		[DAEMON_XDP_NATIVE] = FASTPATH_XDP_NATIVE,
		[DAEMON_XDP_GENERIC] = FASTPATH_XDP_GENERIC,
		[DAEMON_XDP_OFF] = FASTPATH_XDP_OFF,
	};
	struct fastpath_opts fo = {
		.pin_path = r->opts.pin_path,
		.port_min = r->opts.port_min,
		.port_max = r->opts.port_max,
		.mode = modes[r->opts.xdp],
	};
	char names[DAEMON_MAX_INTERFACES][IF_NAMESIZE], buf[NETADDR_STRLEN];
	unsigned n = 0;
	int err;

	fastpath_set_logger(fp_log, NULL);
	if (r->opts.xdp == DAEMON_XDP_OFF) {
		log_info("fast path off (--xdp off): all media takes the userspace path");
		return 0;
	}
	err = fastpath_open(&r->fp, &fo);
	if (err) {
		log_err("cannot load the XDP fast path (pin path %s): %s; run as root with bpffs, "
			"or use --xdp off",
			r->opts.pin_path, strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < r->opts.nifaces; i++) {
		char name[IF_NAMESIZE];
		bool dup = false;

		err = ifname_of(&r->opts.ifaces[i].local, name, sizeof(name));
		if (err) {
			log_err("--interface %s: no network interface holds %s; give an address of "
				"this host",
				r->opts.ifaces[i].name,
				netaddr_ip_str(&r->opts.ifaces[i].local, buf, sizeof(buf)));
			return err;
		}
		for (unsigned k = 0; k < n; k++)
			dup |= !strcmp(names[k], name);
		if (dup)
			continue;
		err = fastpath_attach(r->fp, name, &r->xdp_got);
		if (err) {
			log_err("cannot attach XDP to %s: %s; retry with --xdp generic or --xdp "
				"off",
				name, strerror(-err));
			return err;
		}
		log_info("fast path attached to %s (%s XDP)", name,
			 fastpath_xdp_mode_str(r->xdp_got));
		snprintf(names[n++], IF_NAMESIZE, "%s", name);
	}
	return 0;
}

int relay_init(struct relay *r, const struct daemon_opts *o)
{
	char buf[NETADDR_STRLEN];
	sigset_t mask;
	int err;

	memset(r, 0, sizeof(*r));
	r->opts = *o;
	r->epfd = r->ng.fd = r->sig.fd = r->timer.fd = -1;
	if ((err = relay_limits_fds(o)))
		return err;
	r->started_ms = monotime_ms();
	timerheap_init(&r->timers);
	timerheap_node_init(&r->state_timer);
	r->state_timer.owner = r;
	r->state_timer.kind = RELAY_TIMER_STATE;
	snprintf(r->state_path, sizeof(r->state_path), "%s", o->state_file);
	r->rxbuf = calloc(RELAY_BATCH, RELAY_DGRAM_MAX);
	r->out = calloc(RELAY_BATCH, sizeof(*r->out));
	r->ngout = malloc(NG_DGRAM_MAX);
	if (!r->rxbuf || !r->out || !r->ngout)
		return -ENOMEM;
	err = call_table_init(&r->calls, 4096);
	r->calls.on_state = on_leg_state;
	r->calls.ctx = r;
	if (!err)
		err = call_ports_init(&r->ports, o->port_min, o->port_max);
	if (err) {
		log_err("cannot set up the call table / port range %u-%u: %s", o->port_min,
			o->port_max, strerror(-err));
		return err;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sig.kind = RELAY_EV_SIGNAL;
	r->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r->timer.kind = RELAY_EV_TIMER;
	r->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->sig.fd < 0 || r->timer.fd < 0)
		return -errno;
	if ((err = epoll_add(r, r->sig.fd, &r->sig)) ||
	    (err = epoll_add(r, r->timer.fd, &r->timer)))
		return err;

	r->ng.kind = RELAY_EV_NG;
	r->ng.fd = bind_udp(&o->listen_ng);
	if (r->ng.fd < 0) {
		log_err("cannot listen for NG on %s: %s",
			netaddr_str(&o->listen_ng, buf, sizeof(buf)), strerror(-r->ng.fd));
		return r->ng.fd;
	}
	if ((err = epoll_add(r, r->ng.fd, &r->ng)))
		return err;
	err = ng_server_init(&r->ngs, &relay_ng_ops, r,
			     &(struct ng_server_config){.allow = o->ng_allow, .n_allow = o->n_ng_allow});
	if (err)
		return err;
	r->ng_ready = true;

	err = fastpath_setup(r);
	if (err)
		return err;
	err = relay_state_recover(r);
	if (err)
		return err;
	log_info("listening for NG on %s, media ports %u-%u, XDP %s",
		 netaddr_str(&o->listen_ng, buf, sizeof(buf)), o->port_min, o->port_max,
		 r->fp ? fastpath_xdp_mode_str(r->xdp_got) : "off");
	return 0;
}

void relay_shutdown(struct relay *r)
{
	unsigned n = (unsigned)r->calls.ncalls;

	while (r->calls.head)
		relay_call_delete(r, r->calls.head, "daemon shutdown");
	out_flush(r);
	if (n)
		log_info("shutdown: %u calls deleted, their flows removed", n);
	/* a clean stop leaves no calls to recover; a failed start must not
	 * erase the file a later start would recover from */
	if (r->ran && r->state_path[0])
		unlink(r->state_path);
	timerheap_free(&r->timers);
	if (r->calls.buckets)
		call_table_free(&r->calls);
	call_ports_free(&r->ports);
	fastpath_close(r->fp);
	r->fp = NULL;
	if (r->ng_ready)
		ng_server_destroy(&r->ngs);
	r->ng_ready = false;
	if (r->ng.fd >= 0)
		close(r->ng.fd);
	if (r->sig.fd >= 0)
		close(r->sig.fd);
	if (r->timer.fd >= 0)
		close(r->timer.fd);
	if (r->epfd >= 0)
		close(r->epfd);
	r->ng.fd = r->sig.fd = r->timer.fd = r->epfd = -1;
	free(r->rxbuf);
	free(r->out);
	free(r->ngout);
	r->rxbuf = NULL;
	r->out = NULL;
	r->ngout = NULL;
}
