// SPDX-License-Identifier: GPL-2.0-only
/* relay_flows: the fast path's flow table, kept in line with the calls (see relay.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "daemon_log.h"
#include "relay.h"

static void flow_counters_fold(struct relay *r, struct call_stream *s, unsigned c)
{
	struct fastpath_counters fc;

	if (r->fp && s->flow_installed[c] && !fastpath_flow_counters(r->fp, &s->flow[c], &fc)) {
		s->fast_base[c].packets += fc.packets - fc.rtcp_packets;
		s->fast_base[c].bytes += fc.bytes - fc.rtcp_bytes;
		s->fast_base[CALL_COMP_RTCP].packets += fc.rtcp_packets;
		s->fast_base[CALL_COMP_RTCP].bytes += fc.rtcp_bytes;
	}
}

void relay_flow_remove(struct relay *r, struct call_stream *s, unsigned c)
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
	/* the relay en- or decrypts this call's media: XDP cannot (issue 12) */
	if (relay_call_terminated(l->call))
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

void relay_flows_sync(struct relay *r, struct call *c)
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
					relay_flow_remove(r, s, comp);
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
					relay_flow_remove(r, s, comp);
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

	relay_worker_fold(r, c);
	relay_workers_fold(r);
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++) {
			struct call_stream *s = &l->streams[i];

			memcpy(s->rx_fast, s->fast_base, sizeof(s->rx_fast));
			for (unsigned comp = 0; comp < CALL_NCOMP && r->fp; comp++) {
				if (!s->flow_installed[comp] ||
				    fastpath_flow_counters(r->fp, &s->flow[comp], &fc))
					continue;
				/* RTCP as RTCP, also what an rtcp-mux stream's
				 * RTP flow carries (RFC 5761 §4): the program
				 * counts it apart */
				s->rx_fast[comp].packets += fc.packets - fc.rtcp_packets;
				s->rx_fast[comp].bytes += fc.bytes - fc.rtcp_bytes;
				s->rx_fast[CALL_COMP_RTCP].packets += fc.rtcp_packets;
				s->rx_fast[CALL_COMP_RTCP].bytes += fc.rtcp_bytes;
				s->fast_path[comp] = fc.path;
				s->fast_why[comp] = fc.why;
				if (fc.last_seen_ns / 1000000u > s->last_seen_ms)
					s->last_seen_ms = fc.last_seen_ns / 1000000u;
			}
		}
	}
}

/*
 * Flow deadlines (fastpath.h): the program stops forwarding a flow that
 * nobody extends, so the flows of a crashed daemon stop within
 * FASTPATH_FLOW_LIFETIME_MS. A flow is extended while it is alive: toward
 * an ICE leg while RFC 7675 consent holds (the agent's consent checks
 * succeed; lost consent clears FORWARD), between plain legs while media
 * arrives (the fast path's last-seen stamps and userspace's).
 */
static void extend_flows(struct relay *r, uint64_t now)
{
	for (struct call *c = r->calls.head; c; c = c->next) {
		bool plain = !relay_leg_ice(&c->legs[0]) && !relay_leg_ice(&c->legs[1]);

		if (plain)
			relay_refresh_counters(r, c);
		for (unsigned side = 0; side < 2; side++) {
			struct call_leg *l = &c->legs[side];

			for (unsigned i = 0; i < l->nstreams; i++) {
				struct call_stream *s = &l->streams[i];

				for (unsigned k = 0; k < CALL_NCOMP; k++) {
					if (!s->flow_installed[k] ||
					    !(s->flow[k].flags & FASTPATH_FLOW_FORWARD))
						continue;
					if (plain && now - s->last_seen_ms >= FASTPATH_FLOW_LIFETIME_MS)
						continue;
					fastpath_flow_extend(r->fp, &s->flow[k], 0);
				}
			}
		}
	}
}

void relay_fastpath_tick(struct relay *r, uint64_t now)
{
	if (!r->fp)
		return;
	fastpath_poll(r->fp, now);
	if (now >= r->fp_extend_ms) {
		extend_flows(r, now);
		r->fp_extend_ms = now + RELAY_FLOW_EXTEND_MS;
	}
	r->fp_timer.owner = r;
	r->fp_timer.kind = RELAY_TIMER_FASTPATH;
	timerheap_set(&r->timers, &r->fp_timer, now + FASTPATH_POLL_MS);
}

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

static uint32_t relay_flow_capacity(const struct daemon_opts *o)
{
	uint64_t n = 4ull * daemon_opts_session_cap(o);

	n += n / 8 + 64;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

int relay_flows_open(struct relay *r)
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
		/* one flow per media port the relay may hold (4 a call per m=
		 * line, --max-sessions or the port range), plus room for pair
		 * changes whose new flow goes in before the old one leaves */
		.max_flows = relay_flow_capacity(&r->opts),
		/* the ports array: one slot of the port range per relay address */
		.port_addrs = r->opts.nifaces,
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
			/* not --xdp generic: native already falls back to
			 * it, and a taken interface is taken in both modes */
			log_err("cannot attach XDP to %s: %s (the line above says what to do); "
				"--xdp off runs without the fast path",
				name, strerror(-err));
			return err;
		}
		log_info("fast path attached to %s (%s XDP)", name,
			 fastpath_xdp_mode_str(r->xdp_got));
		snprintf(names[n++], IF_NAMESIZE, "%s", name);
	}
	/* Next hop changes reach the flows as they happen; the timer checks
	 * interfaces (XDP transmit errors) and extends flow deadlines. */
	r->fpev.kind = RELAY_EV_FASTPATH;
	r->fpev.fd = fastpath_fd(r->fp);
	if (r->fpev.fd >= 0 && (err = relay_epoll_add(r, r->fpev.fd, &r->fpev)))
		return err;
	relay_fastpath_tick(r, r->now_ms);
	/* the first check may have moved an interface to generic mode */
	for (unsigned k = 0; k < n; k++) {
		enum fastpath_xdp_mode m = fastpath_iface_mode(names[k]);

		if (m != r->xdp_got)
			log_info("fast path on %s: %s XDP", names[k], fastpath_xdp_mode_str(m));
		if (m == FASTPATH_XDP_GENERIC)
			r->xdp_got = m;
	}
	return 0;
}
