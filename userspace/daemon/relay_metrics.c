// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_metrics: the figures of /metrics gathered from the relay, the fast
 * path (through icepath/fastpath.h) and /proc, and the HTTP server that
 * answers scrapes on the relay's epoll loop (see relay.h). The parsing and
 * the text are sans-I/O (metrics_http.c, metrics.c); this file owns the
 * sockets. A connection reads one request head, gets one response and is
 * closed: nothing of a scraper outlives its request.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_log.h"
#include "metrics_http.h"
#include "relay_crypto.h"
#include "relay.h"

#define METRICS_MAX_CONNS 16 /* concurrent scrapes; the oldest is dropped beyond */

struct metrics_conn {
	struct relay_evsrc ev; /* first: the loop's data pointer */
	struct relay_metrics_srv *srv;
	char in[METRICS_HTTP_REQ_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t seq; /* accept order */
};

struct relay_metrics_srv {
	struct relay_evsrc listen;
	struct metrics_conn *conns[METRICS_MAX_CONNS];
	uint64_t next_seq;
	uint64_t scrapes, http_errors;
	int64_t start_unix;
};

/* ---- figures ---------------------------------------------------------------- */

static void proc_figures(struct metrics_snapshot *s)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long long vsz, rss;
	struct dirent *de;
	FILE *f;
	DIR *d;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		s->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
				 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/statm", "r");
	if (f) {
		long page = sysconf(_SC_PAGESIZE);

		if (fscanf(f, "%llu %llu", &vsz, &rss) == 2 && page > 0) {
			s->vsz_bytes = vsz * (unsigned long long)page;
			s->rss_bytes = rss * (unsigned long long)page;
		}
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				s->open_fds++;
		closedir(d);
		if (s->open_fds)
			s->open_fds--; /* the directory's own descriptor */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		s->max_fds = rl.rlim_cur;
}

static void call_figures(struct relay *r, struct metrics_snapshot *s)
{
	struct call_counters ru, rf, tu;

	s->packets[METRICS_PATH_USER][METRICS_DIR_RX] = r->gone_user.packets;
	s->bytes[METRICS_PATH_USER][METRICS_DIR_RX] = r->gone_user.bytes;
	s->packets[METRICS_PATH_FAST][METRICS_DIR_RX] = r->gone_fast.packets;
	s->bytes[METRICS_PATH_FAST][METRICS_DIR_RX] = r->gone_fast.bytes;
	s->packets[METRICS_PATH_USER][METRICS_DIR_TX] = r->gone_tx_user.packets;
	s->bytes[METRICS_PATH_USER][METRICS_DIR_TX] = r->gone_tx_user.bytes;
	s->rtcp_packets[METRICS_PATH_USER][METRICS_DIR_RX] = r->gone_rtcp[0];
	s->rtcp_packets[METRICS_PATH_FAST][METRICS_DIR_RX] = r->gone_rtcp[1];
	s->rtcp_packets[METRICS_PATH_USER][METRICS_DIR_TX] = r->gone_rtcp[2];
	for (struct call *c = r->calls.head; c; c = c->next) {
		relay_refresh_counters(r, c);
		for (unsigned side = 0; side < 2; side++) {
			const struct call_leg *l = &c->legs[side];

			if ((unsigned)l->state < CALL_LEG_STATE_MAX)
				s->legs[l->state]++;
			if (l->crypto)
				s->sdes_rekeys += l->crypto->rekeys;
			call_leg_totals(l, &ru, &rf, &tu);
			s->packets[METRICS_PATH_USER][METRICS_DIR_RX] += ru.packets;
			s->bytes[METRICS_PATH_USER][METRICS_DIR_RX] += ru.bytes;
			s->packets[METRICS_PATH_FAST][METRICS_DIR_RX] += rf.packets;
			s->bytes[METRICS_PATH_FAST][METRICS_DIR_RX] += rf.bytes;
			s->packets[METRICS_PATH_USER][METRICS_DIR_TX] += tu.packets;
			s->bytes[METRICS_PATH_USER][METRICS_DIR_TX] += tu.bytes;
			for (unsigned i = 0; i < l->nstreams; i++) {
				const struct call_stream *st = &l->streams[i];

				s->rtcp_packets[METRICS_PATH_USER][METRICS_DIR_RX] +=
					st->rx_user[CALL_COMP_RTCP].packets;
				s->rtcp_packets[METRICS_PATH_FAST][METRICS_DIR_RX] +=
					st->rx_fast[CALL_COMP_RTCP].packets;
				s->rtcp_packets[METRICS_PATH_USER][METRICS_DIR_TX] +=
					st->tx_user[CALL_COMP_RTCP].packets;
				if (!st->active)
					continue;
				s->streams[st->flow_installed[CALL_COMP_RTP] ||
							   st->flow_installed[CALL_COMP_RTCP]
						   ? METRICS_PATH_FAST
						   : METRICS_PATH_USER]++;
			}
		}
	}
	/* the XDP program sends on what it receives, in the same step */
	s->packets[METRICS_PATH_FAST][METRICS_DIR_TX] = s->packets[METRICS_PATH_FAST][METRICS_DIR_RX];
	s->bytes[METRICS_PATH_FAST][METRICS_DIR_TX] = s->bytes[METRICS_PATH_FAST][METRICS_DIR_RX];
	s->rtcp_packets[METRICS_PATH_FAST][METRICS_DIR_TX] =
		s->rtcp_packets[METRICS_PATH_FAST][METRICS_DIR_RX];
}

static void fastpath_figures(struct relay *r, struct metrics_snapshot *s)
{
	long flows;

	if (!r->fp)
		return;
	s->fp = true;
	s->xdp_mode = fastpath_xdp_mode_str(r->xdp_got);
	flows = fastpath_flow_count(r->fp);
	s->fp_flows = flows > 0 ? (uint64_t)flows : 0;
	s->n_fp_stats = fastpath_stat_count();
	if (s->n_fp_stats > METRICS_FP_STATS_MAX)
		s->n_fp_stats = METRICS_FP_STATS_MAX;
	if (fastpath_stats(r->fp, s->fp_stat, s->n_fp_stats))
		memset(s->fp_stat, 0, sizeof(s->fp_stat));
	for (unsigned i = 0; i < s->n_fp_stats; i++)
		s->fp_stat_name[i] = fastpath_stat_name(i);
	s->has_map_bytes = fastpath_map_memory(r->fp, &s->map_bytes) == 0;
}

void relay_metrics_snapshot(struct relay *r, struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	relay_workers_fold(r);
	s->version = ICEPATH_VERSION;
	s->uptime_s = (r->now_ms - r->started_ms) / 1000u;
	s->calls = r->calls.ncalls;
	s->calls_total = r->managed_calls;
	s->state_failures = r->state_failures;
	s->state_failing = r->state_failing;
	s->has_redis = r->redis != NULL;
	s->redis_up = relay_redis_up(r);
	s->sdes_rekeys = r->sdes_rekeys_gone; /* and the live legs' (call_figures) */
	call_figures(r, s);
	fastpath_figures(r, s);
	s->dtls_close_sent = r->dtls_close_sent;
	s->dtls_closed_by_peer = r->dtls_closed_by_peer;
	s->counted = r->metrics;
	if (r->ng_ready)
		s->ng = r->ngs.counters;
	s->port_pairs_used = r->ports.nused;
	s->port_pairs_total = r->ports.npairs;
	proc_figures(s);
	if (r->msrv) {
		s->start_time_s = (double)r->msrv->start_unix;
		s->scrapes = r->msrv->scrapes;
		s->http_errors = r->msrv->http_errors;
	}
}

void relay_metrics_leg_state(struct relay *r, struct call_leg *l, enum call_leg_state from,
			     enum call_leg_state to, uint64_t now_ms)
{
	if (to == CALL_LEG_STATE_CHECKING)
		l->checks_ms = now_ms;
	else if (from == CALL_LEG_STATE_CHECKING && to == CALL_LEG_STATE_CONNECTED && l->checks_ms)
		metrics_hist_observe(&r->metrics.ice_selected,
				     now_ms > l->checks_ms ? now_ms - l->checks_ms : 0);
	if (to == CALL_LEG_STATE_CONSENT_LOST)
		r->metrics.consent_lost++;
}

/* ---- the server ---------------------------------------------------------------- */

static void conn_close(struct relay *r, struct metrics_conn *c)
{
	struct relay_metrics_srv *m = c->srv;

	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++)
		if (m->conns[i] == c)
			m->conns[i] = NULL;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->ev.fd, NULL);
	close(c->ev.fd);
	free(c->out);
	free(c);
}

static bool peer_allowed(const struct relay *r, struct netaddr *peer)
{
	netaddr_unmap_v4(peer);
	if (netaddr_is_loopback(peer))
		return true;
	for (unsigned i = 0; i < r->opts.n_metrics_allow; i++)
		if (daemon_cidr_match(&r->opts.metrics_allow[i], peer))
			return true;
	return false;
}

/* Send what is left of the response; the connection ends when all is out. */
static void conn_flush(struct relay *r, struct metrics_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->ev.fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};

			epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->ev.fd, &ev);
			return;
		}
		if (n <= 0)
			break;
		c->outoff += (size_t)n;
	}
	conn_close(r, c);
}

static void conn_respond(struct relay *r, struct metrics_conn *c, const struct metrics_http_req *q)
{
	struct relay_metrics_srv *m = c->srv;
	struct metrics_http_req err = *q;
	struct metrics_snapshot *s;
	struct metrics_buf body = {0};
	char head[256];
	ssize_t h = -1;

	if (q->status == 200 && (s = malloc(sizeof(*s)))) {
		m->scrapes++;
		relay_metrics_snapshot(r, s);
		if (metrics_render(s, &body) == 0)
			h = metrics_http_head(200, METRICS_HTTP_CTYPE, body.len, head, sizeof(head));
		free(s);
	}
	if (h < 0 && q->status == 200) {
		err.status = 500;
		err.why = "the metrics did not fit in memory; see icepathd's log";
		log_warn("metrics: a scrape could not be rendered (out of memory)");
	}
	if (h >= 0) {
		size_t blen = q->head ? 0 : body.len;

		c->out = malloc((size_t)h + blen);
		if (c->out) {
			memcpy(c->out, head, (size_t)h);
			if (blen)
				memcpy(c->out + h, body.p, blen);
			c->outlen = (size_t)h + blen;
		}
	} else {
		m->http_errors++;
		c->out = malloc(512);
		h = c->out ? metrics_http_error(&err, c->out, 512) : -1;
		c->outlen = h > 0 ? (size_t)h : 0;
	}
	metrics_buf_free(&body);
	/* the request is over: stop reading, answer, close */
	shutdown(c->ev.fd, SHUT_RD);
	conn_flush(r, c);
}

static void conn_read(struct relay *r, struct metrics_conn *c)
{
	struct metrics_http_req q;
	ssize_t n, done;

	for (;;) {
		n = recv(c->ev.fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* the scraper went away before a whole request */
			conn_close(r, c);
			return;
		}
		c->inlen += (size_t)n;
		done = metrics_http_parse(c->in, c->inlen, &q);
		if (done > 0) {
			conn_respond(r, c, &q);
			return;
		}
	}
}

static void srv_accept(struct relay *r, struct relay_metrics_srv *m)
{
	static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
				      "Connection: close\r\n\r\n";
	struct netaddr peer;
	socklen_t len;
	unsigned slot, oldest;
	int fd;

	for (int i = 0; i < 16; i++) {
		struct metrics_conn *c;
		struct epoll_event ev = {.events = EPOLLIN};

		memset(&peer, 0, sizeof(peer));
		len = sizeof(peer);
		fd = accept4(m->listen.fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_allowed(r, &peer)) {
			m->http_errors++;
			if (send(fd, refused, sizeof(refused) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				log_debug("metrics: refusing a scraper: %s", strerror(errno));
			close(fd);
			continue;
		}
		slot = oldest = 0;
		for (unsigned k = 0; k < METRICS_MAX_CONNS; k++) {
			if (!m->conns[k]) {
				slot = k;
				break;
			}
			if (m->conns[k]->seq < m->conns[oldest]->seq)
				oldest = k;
			slot = METRICS_MAX_CONNS;
		}
		if (slot == METRICS_MAX_CONNS) {
			/* a bound on scrapers held open: the slowest one goes */
			m->http_errors++;
			conn_close(r, m->conns[oldest]);
			slot = oldest;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->ev.kind = RELAY_EV_METRICS;
		c->ev.fd = fd;
		c->srv = m;
		c->seq = m->next_seq++;
		ev.data.ptr = c;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		m->conns[slot] = c;
	}
}

void relay_metrics_event(struct relay *r, void *src, uint32_t events)
{
	struct relay_metrics_srv *m = r->msrv;
	struct metrics_conn *c = src;

	if (!m)
		return;
	if (src == &m->listen) {
		srv_accept(r, m);
		return;
	}
	if (c->out)
		conn_flush(r, c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(r, c);
}

int relay_metrics_open(struct relay *r)
{
	struct relay_metrics_srv *m;
	struct epoll_event ev = {.events = EPOLLIN};
	char buf[NETADDR_STRLEN];
	int one = 1, err;

	if (!netaddr_family(&r->opts.metrics))
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->listen.kind = RELAY_EV_METRICS;
	/* the loop's clocks (relay.h): no clock of our own */
	m->start_unix = ((int64_t)r->started_ms + r->unix_offset_ms) / 1000;
	m->listen.fd = socket(netaddr_family(&r->opts.metrics),
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen.fd < 0) {
		err = -errno;
		goto err_free;
	}
	setsockopt(m->listen.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->listen.fd, &r->opts.metrics.sa, netaddr_len(&r->opts.metrics)) < 0 ||
	    listen(m->listen.fd, 16) < 0) {
		err = -errno;
		log_err("--metrics %s: cannot listen: %s; pick a free port or an address of "
			"this host",
			netaddr_str(&r->opts.metrics, buf, sizeof(buf)), strerror(-err));
		goto err_close;
	}
	ev.data.ptr = &m->listen;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, m->listen.fd, &ev) < 0) {
		err = -errno;
		goto err_close;
	}
	r->msrv = m;
	log_info("metrics on http://%s/metrics%s",
		 netaddr_str(&r->opts.metrics, buf, sizeof(buf)),
		 netaddr_is_loopback(&r->opts.metrics) || r->opts.n_metrics_allow
			 ? ""
			 : " (only loopback peers until --metrics-allow names others)");
	return 0;
err_close:
	close(m->listen.fd);
err_free:
	free(m);
	return err;
}

void relay_metrics_close(struct relay *r)
{
	struct relay_metrics_srv *m = r->msrv;

	if (!m)
		return;
	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++)
		if (m->conns[i])
			conn_close(r, m->conns[i]);
	close(m->listen.fd);
	free(m);
	r->msrv = NULL;
}
