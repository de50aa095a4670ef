// SPDX-License-Identifier: GPL-2.0-only
/* relay_sock: media sockets, the send batch, randomness (see relay.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_log.h"
#include "relay.h"

void relay_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/* ufrag/pwd/tie-breakers/transaction ids must be unguessable (RFC 8445
	 * §5.3, RFC 8489 §6): the kernel's CSPRNG, never a seeded PRNG */
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			continue;
		p += n;
		len -= (size_t)n;
	}
}

/* ---- sockets ------------------------------------------------------------------ */

int relay_bind_udp(const struct netaddr *a)
{
	return relay_bind_udp_opt(a, false);
}

int relay_bind_udp_opt(const struct netaddr *a, bool freebind)
{
	int fd, err, one = 1;

	fd = socket(netaddr_family(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (netaddr_family(a) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* an address this host does not hold yet (a standby's service
	 * address): the socket gets its datagrams once it arrives */
	if (freebind)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, &a->sa, netaddr_len(a)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int relay_epoll_add(struct relay *r, int fd, void *ptr)
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
		cs->fd = relay_bind_udp_opt(&s->local[c], r->bind_free);
		if (cs->fd < 0) {
			err = cs->fd;
			break;
		}
		err = relay_epoll_add(r, cs->fd, cs);
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

void relay_stream_close(struct relay *r, struct call_stream *s)
{
	bool had = s->sock[CALL_COMP_RTP].fd >= 0;
	struct call_leg *l = s->sock[CALL_COMP_RTP].leg ? s->sock[CALL_COMP_RTP].leg
							: s->sock[CALL_COMP_RTCP].leg;

	/* a media worker may read these sockets or send on them: back first */
	if (l && l->call->nwflows)
		relay_worker_recall(r, l->call);
	relay_early_free(r, s);
	for (unsigned c = 0; c < CALL_NCOMP; c++)
		sock_close(r, &s->sock[c]);
	if (had)
		call_ports_put(&r->ports, netaddr_port(&s->local[CALL_COMP_RTP]));
}

int relay_fd_for_local(struct call_leg *l, const struct netaddr *local)
{
	for (unsigned i = 0; i < l->nstreams; i++)
		for (unsigned c = 0; c < CALL_NCOMP; c++)
			if (l->streams[i].sock[c].fd >= 0 &&
			    netaddr_equal(&l->streams[i].local[c], local))
				return l->streams[i].sock[c].fd;
	return -1;
}

/* ---- send batch ------------------------------------------------------------------ */

void relay_rx_batch_init(struct mmsghdr *msgs, struct iovec *iov, struct netaddr *from,
			 uint8_t (*bufs)[RELAY_DGRAM_MAX])
{
	for (unsigned i = 0; i < RELAY_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RELAY_DGRAM_MAX;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &from[i].sa;
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

void relay_out_flush(struct relay *r)
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
		if (sent < (int)n) {
			r->user_dropped += n - (unsigned)(sent > 0 ? sent : 0);
			r->metrics.drops[METRICS_DROP_SEND_FAILED] += n - (unsigned)(sent > 0 ? sent : 0);
		}
		i = j;
	}
	r->nout = 0;
}

static struct relay_out *out_slot(struct relay *r)
{
	if (r->nout == RELAY_BATCH)
		relay_out_flush(r);
	return &r->out[r->nout++];
}

void relay_out_plain(struct relay *r, int fd, const struct netaddr *dst, const uint8_t *data,
		     size_t len)
{
	struct relay_out *o = out_slot(r);

	o->fd = fd;
	o->dst = *dst;
	o->iov[0].iov_base = (void *)data;
	o->iov[0].iov_len = len;
	o->niov = 1;
}

void relay_out_tx(struct relay *r, int fd, const struct ice_transmit *tx)
{
	struct relay_out *o = out_slot(r);

	o->fd = fd;
	o->tx = *tx;
	o->dst = tx->remote;
	o->niov = ice_transmit_iov(&o->tx, o->iov);
}

/* Take one token from b (rate per second, burst as many) if it has one. */
static bool bucket_take(struct relay_bucket *b, uint32_t rate, uint64_t now_ms)
{
	uint64_t t = b->milli_tokens;

	if (!b->stamp_ms || now_ms < b->stamp_ms) {
		t = (uint64_t)rate * 1000u; /* a new (or reused) slot starts full */
	} else {
		t += (now_ms - b->stamp_ms) * rate;
		if (t > (uint64_t)rate * 1000u)
			t = (uint64_t)rate * 1000u;
	}
	b->stamp_ms = now_ms ? now_ms : 1;
	if (t < 1000u) {
		b->milli_tokens = (uint32_t)t;
		return false;
	}
	b->milli_tokens = (uint32_t)(t - 1000u);
	return true;
}

static unsigned source_slot(const struct netaddr *a)
{
	const uint8_t *p;
	size_t n;
	uint32_t h = 2166136261u; /* FNV-1a over the IP only: ports are free to a spoofer */

	if (netaddr_family(a) == AF_INET6) {
		p = a->in6.sin6_addr.s6_addr;
		n = 16;
	} else {
		p = (const uint8_t *)&a->in.sin_addr;
		n = 4;
	}
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h % RELAY_STUN_SOURCES;
}

bool relay_stun_answer_allowed(struct relay *r, const struct netaddr *src, uint64_t now_ms)
{
	struct relay_bucket *b = r->stun_src ? &r->stun_src[source_slot(src)] : NULL;

	if (!b || !bucket_take(b, RELAY_STUN_SRC_PER_S, now_ms) ||
	    !bucket_take(&r->stun_total, RELAY_STUN_TOTAL_PER_S, now_ms)) {
		r->stun_limited++;
		return false;
	}
	return true;
}

/* Agent-built datagrams (checks, consent, TURN control): sent at once. */
void relay_send_tx_now(struct relay *r, struct call_leg *l, const struct ice_transmit *tx)
{
	char a[NETADDR_STRLEN];
	struct iovec iov[3];
	struct msghdr mh = {0};
	int fd = relay_fd_for_local(l, &tx->local);

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
