// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_worker: media threads for the calls the relay en- or decrypts
 * (issue 12). XDP cannot run SRTP, so a terminated call's media takes the
 * userspace path; one loop would make one core the ceiling of every SRTP
 * call on the box. --media-threads N (default: one per CPU) starts N
 * workers, each a thread with its own epoll, receive and send batches and
 * scratch buffers.
 *
 * The design is the XDP fast path's, in userspace: the loop (relay_loop.c)
 * keeps everything it owns today -- NG, ICE agents, DTLS handshakes,
 * timers, the state file, the call structs -- and at the end of a turn a
 * changed terminated call whose paths and keys are settled gets "worker
 * flows" (relay_worker_sync(), beside relay_flows_sync()): for media
 * arriving on one socket from one source, where it goes (socket and
 * address per component) and with which SRTP contexts it is unprotected
 * and protected. A call is owned by one worker (the least loaded when it
 * gets its first flow): every flow of the call, so both legs' sockets with
 * a flow and both legs' libsrtp2 contexts, live on that one thread, and a
 * context is never used by two threads.
 *
 * Ownership moves by message, never by shared mutation:
 *   - install: the loop takes the socket out of its epoll and queues the
 *     flow (its configuration is read-only from then on); the worker adds
 *     the socket to its epoll. The SRTP contexts are lent
 *     (relay_crypto.lent): the loop neither uses nor frees them.
 *   - recall (relay_worker_recall()): the loop queues a removal per flow
 *     and waits until the worker has done them (it drops the socket from
 *     its epoll after flushing its send batch); the counters are folded,
 *     the socket goes back to the loop's epoll, the contexts are the
 *     loop's again. Everything that replaces or frees keys or closes a
 *     socket (offer/answer, a DTLS handshake's keys, a leg's crypto freed,
 *     a stream closed, a call deleted) recalls first; the next turn's sync
 *     installs what is still wanted.
 * Messages are handled between two epoll batches of the worker, so no
 * event of a batch refers to a removed flow.
 *
 * What a worker does not forward -- anything that is not RTP/RTCP (STUN
 * consent checks, DTLS records) or comes from another source than the
 * flow's -- is passed up to the loop through a bounded queue
 * (RELAY_WORKER_UPQ datagrams; overflow dropped and counted as not_media)
 * and an eventfd in the loop's epoll (RELAY_EV_WORKER), and the loop
 * handles it exactly as if its own socket had received it
 * (relay_media_input()). Media the loop has to en- or decrypt while the
 * contexts are lent (an RTCP port not handed out yet, a latched peer moving
 * under media-handover, a learning stream's better source) recalls the
 * call first (relay_media.c's forward()); the turn's sync hands it out
 * again.
 *
 * Counters: a worker counts per flow in relaxed atomics and only there;
 * the loop folds what was added since the last fold into the streams and
 * the relay's totals (relay_worker_fold(), from relay_refresh_counters(),
 * so query, statistics, /metrics, inactivity and the state file see them),
 * and once more when a flow is removed. A worker reads the loop's clock
 * (worker_now_ms, published every turn) for last-seen stamps; it never
 * reads a clock itself, and it never logs.
 *
 * A call bundled toward one leg only (relay_bundle.c) stays on the loop:
 * its demux picks the stream per packet and latches in the leg's tables.
 *
 * A relay on a test clock (relay_init_clock()) with --media-threads left
 * at its default gets no workers: the unit tests drive the datapath on the
 * loop, deterministically; an explicit --media-threads is obeyed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/demux.h"
#include "relay.h"
#include "relay_crypto.h"

#define RELAY_WORKER_UPQ  256 /* datagrams passed up and not yet taken by the loop */
#define RELAY_WORKER_MSGQ 256 /* install/remove messages queued for a worker */
#define RELAY_WORKER_CBUF (RELAY_DGRAM_MAX + SRTPCTX_TRAILER_MAX)

/* What a worker counts per flow (the loop folds the deltas). */
enum relay_wctr {
	RELAY_WCTR_RX_PACKETS, /* + CALL_COMP_*: 0 RTP, 1 RTCP */
	RELAY_WCTR_RX_PACKETS_RTCP,
	RELAY_WCTR_RX_BYTES,
	RELAY_WCTR_RX_BYTES_RTCP,
	RELAY_WCTR_TX_PACKETS,
	RELAY_WCTR_TX_PACKETS_RTCP,
	RELAY_WCTR_TX_BYTES,
	RELAY_WCTR_TX_BYTES_RTCP,
	RELAY_WCTR_DECRYPTED,
	RELAY_WCTR_ENCRYPTED,
	RELAY_WCTR_AUTH_FAIL, /* dropped: SRTP/SRTCP tag did not verify */
	RELAY_WCTR_REPLAY,    /* dropped: replayed or too old */
	RELAY_WCTR_OTHER,     /* dropped: malformed SRTP */
	RELAY_WCTR_TX_FAIL,   /* dropped: protect failed */
	RELAY_WCTR_NO_PATH,   /* dropped: no destination for this component */
	RELAY_WCTR_FORWARDED,
	RELAY_WCTR_TRUNCATED,
	RELAY_WCTR__COUNT,
};

struct relay_wflow {
	/* the loop's: where the counts go, the socket it takes back */
	struct call *call;
	struct call_leg *l, *o;
	struct call_stream *s, *d;
	unsigned comp;
	uint64_t folded[RELAY_WCTR__COUNT];
	/* configuration: read-only while the flow is installed */
	int fd;
	struct netaddr remote;	     /* the only source forwarded */
	struct srtpctx *rx, *tx;     /* lent; NULL: that leg is plain RTP */
	const struct srtpctx *back;  /* the source leg's tx: whose SSRCs its reports name */
	bool out_mux;		     /* RTCP goes out on the RTP component */
	int out_fd[CALL_NCOMP];	     /* -1: nowhere to send that component */
	struct netaddr out_dst[CALL_NCOMP];
	/* the worker's */
	_Atomic uint64_t ctr[RELAY_WCTR__COUNT];
	_Atomic uint64_t last_seen_ms;
};

enum relay_wmsg_op {
	RELAY_WMSG_INSTALL = 1,
	RELAY_WMSG_REMOVE,
	RELAY_WMSG_STOP,
};

struct relay_wup {
	struct relay_wflow *flow; /* NULL: purged (its flow was recalled) */
	struct netaddr from;
	size_t len;
	uint8_t data[RELAY_DGRAM_MAX];
};

struct relay_worker {
	struct relay_evsrc up_src; /* first: the loop's epoll data points here */
	struct relay *r;
	unsigned index;
	pthread_t thread;
	bool started;
	int epfd, msg_fd;
	/* messages from the loop, and the passed-up queue, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		enum relay_wmsg_op op;
		struct relay_wflow *flow;
	} msg[RELAY_WORKER_MSGQ];
	unsigned msg_head, msg_n;
	uint64_t msg_sent, msg_done;
	struct relay_wup *up; /* RELAY_WORKER_UPQ */
	unsigned up_head, up_n;
	/* the worker's own buffers */
	uint8_t (*rxbuf)[RELAY_DGRAM_MAX];
	uint8_t (*obuf)[RELAY_WORKER_CBUF]; /* one per queued datagram */
	struct {
		int fd;
		struct netaddr dst;
		size_t len;
	} out[RELAY_BATCH];
	unsigned nout;
	/* counted by the worker, read by the loop */
	_Atomic uint64_t packets, send_failed, up_full;
	/* the loop's */
	uint64_t folded_send_failed, folded_up_full;
	unsigned ncalls;
};

static void ctr_add(struct relay_wflow *f, enum relay_wctr k, uint64_t v)
{
	/* one writer (the worker): a relaxed load and store is an add the
	 * loop may read at any time */
	atomic_store_explicit(&f->ctr[k], atomic_load_explicit(&f->ctr[k], memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void wctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* ---- the worker thread ------------------------------------------------------- */

static void worker_flush(struct relay_worker *w)
{
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	unsigned i = 0;

	while (i < w->nout) {
		unsigned j = i, n = 0;
		int sent;

		while (j < w->nout && w->out[j].fd == w->out[i].fd) {
			iov[n].iov_base = w->obuf[j];
			iov[n].iov_len = w->out[j].len;
			memset(&msgs[n], 0, sizeof(msgs[n]));
			msgs[n].msg_hdr.msg_name = &w->out[j].dst.sa;
			msgs[n].msg_hdr.msg_namelen = netaddr_len(&w->out[j].dst);
			msgs[n].msg_hdr.msg_iov = &iov[n];
			msgs[n].msg_hdr.msg_iovlen = 1;
			n++;
			j++;
		}
		sent = sendmmsg(w->out[i].fd, msgs, n, MSG_DONTWAIT);
		/* as relay_out_flush(): what the socket refuses is lost */
		if (sent < (int)n)
			wctr_add(&w->send_failed, n - (unsigned)(sent > 0 ? sent : 0));
		i = j;
	}
	w->nout = 0;
}

/* Hand a datagram to the loop; the eventfd only when the queue was empty
 * (the loop takes everything queued whenever it wakes). */
static void worker_pass_up(struct relay_worker *w, struct relay_wflow *f,
			   const struct netaddr *from, const uint8_t *buf, size_t len)
{
	uint64_t one = 1;
	bool wake;

	pthread_mutex_lock(&w->mu);
	if (w->up_n == RELAY_WORKER_UPQ) {
		pthread_mutex_unlock(&w->mu);
		wctr_add(&w->up_full, 1);
		return;
	}
	struct relay_wup *e = &w->up[(w->up_head + w->up_n) % RELAY_WORKER_UPQ];

	e->flow = f;
	e->from = *from;
	e->len = len;
	memcpy(e->data, buf, len);
	wake = w->up_n++ == 0;
	pthread_mutex_unlock(&w->mu);
	if (wake && write(w->up_src.fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only on overflow: the loop wakes anyway */
	}
}

static void worker_packet(struct relay_worker *w, struct relay_wflow *f,
			  const struct netaddr *from, const uint8_t *buf, size_t len,
			  uint64_t now)
{
	enum demux_class cls = demux_classify(buf[0], len > 1 ? buf[1] : 0, (__u32)len);
	unsigned scomp, dcomp;
	uint8_t *ob;
	size_t n = len;
	int err;

	/* RFC 7983: only RTP/RTCP of the flow's peer is the worker's; STUN
	 * (consent), DTLS and strangers are the loop's to judge */
	if ((cls != DEMUX_RTP && cls != DEMUX_RTCP) || !netaddr_equal(from, &f->remote)) {
		worker_pass_up(w, f, from, buf, len);
		return;
	}
	/* RTCP counts as RTCP, also on a muxed port (RFC 5761 §4) */
	scomp = cls == DEMUX_RTCP ? CALL_COMP_RTCP : CALL_COMP_RTP;
	ctr_add(f, RELAY_WCTR_RX_PACKETS + scomp, 1);
	ctr_add(f, RELAY_WCTR_RX_BYTES + scomp, len);
	atomic_store_explicit(&f->last_seen_ms, now, memory_order_relaxed);
	dcomp = f->out_mux ? CALL_COMP_RTP : scomp;
	if (f->out_fd[dcomp] < 0) {
		ctr_add(f, RELAY_WCTR_NO_PATH, 1);
		return;
	}
	if (w->nout == RELAY_BATCH)
		worker_flush(w);
	ob = w->obuf[w->nout];
	memcpy(ob, buf, len);
	if (f->rx) {
		/* nothing unauthenticated goes on (RFC 3711 §3.3) */
		err = cls == DEMUX_RTCP ? srtpctx_unprotect_rtcp(f->rx, ob, &n)
					: srtpctx_unprotect_rtp(f->rx, ob, &n);
		if (err) {
			ctr_add(f, err == -EBADMSG    ? RELAY_WCTR_AUTH_FAIL
				   : err == -EALREADY ? RELAY_WCTR_REPLAY
						      : RELAY_WCTR_OTHER,
				1);
			return;
		}
		if (cls == DEMUX_RTCP)
			srtpctx_unrenumber_rtcp(f->back, ob, n);
		ctr_add(f, RELAY_WCTR_DECRYPTED, 1);
	}
	if (f->tx) {
		err = cls == DEMUX_RTCP ? srtpctx_protect_rtcp(f->tx, ob, &n, RELAY_WORKER_CBUF)
					: srtpctx_protect_rtp(f->tx, ob, &n, RELAY_WORKER_CBUF);
		if (err) {
			ctr_add(f, RELAY_WCTR_TX_FAIL, 1);
			return;
		}
		ctr_add(f, RELAY_WCTR_ENCRYPTED, 1);
	}
	w->out[w->nout].fd = f->out_fd[dcomp];
	w->out[w->nout].dst = f->out_dst[dcomp];
	w->out[w->nout].len = n;
	w->nout++;
	ctr_add(f, RELAY_WCTR_TX_PACKETS + scomp, 1);
	ctr_add(f, RELAY_WCTR_TX_BYTES + scomp, n);
	ctr_add(f, RELAY_WCTR_FORWARDED, 1);
	wctr_add(&w->packets, 1);
}

static void worker_recv(struct relay_worker *w, struct relay_wflow *f)
{
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct netaddr from[RELAY_BATCH];
	uint64_t now;
	int n;

	for (int round = 0; round < 4; round++) {
		relay_rx_batch_init(msgs, iov, from, w->rxbuf);
		n = recvmmsg(f->fd, msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		now = atomic_load_explicit(&w->r->worker_now_ms, memory_order_relaxed);
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC || !msgs[i].msg_len) {
				if (msgs[i].msg_len)
					ctr_add(f, RELAY_WCTR_TRUNCATED, 1);
				continue;
			}
			netaddr_unmap_v4(&from[i]);
			worker_packet(w, f, &from[i], w->rxbuf[i], msgs[i].msg_len, now);
		}
		worker_flush(w);
		if (n < RELAY_BATCH)
			break;
	}
}

/* The loop's messages, between two epoll batches; true: stop. */
static bool worker_messages(struct relay_worker *w)
{
	uint64_t v;
	bool stop = false;

	if (read(w->msg_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another wakeup took it; the queue says what to do */
	}
	worker_flush(w); /* nothing queued may point at a removed flow's socket */
	pthread_mutex_lock(&w->mu);
	while (w->msg_n) {
		struct relay_wflow *f = w->msg[w->msg_head].flow;
		enum relay_wmsg_op op = w->msg[w->msg_head].op;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};

		w->msg_head = (w->msg_head + 1) % RELAY_WORKER_MSGQ;
		w->msg_n--;
		if (op == RELAY_WMSG_INSTALL)
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, f->fd, &ev);
		else if (op == RELAY_WMSG_REMOVE)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, f->fd, NULL);
		else
			stop = true;
		w->msg_done++;
	}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static void *worker_main(void *arg)
{
	struct relay_worker *w = arg;
	struct epoll_event evs[64];

	for (;;) {
		bool msgs = false;
		int n = epoll_wait(w->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				msgs = true;
			else
				worker_recv(w, evs[i].data.ptr);
		}
		if (msgs && worker_messages(w))
			break;
	}
	worker_flush(w);
	return NULL;
}

/* ---- the loop's side ------------------------------------------------------------ */

/* Queue a message; returns its sequence number (relay_worker_wait()). */
static uint64_t worker_send(struct relay_worker *w, enum relay_wmsg_op op, struct relay_wflow *f)
{
	uint64_t one = 1, seq;

	pthread_mutex_lock(&w->mu);
	while (w->msg_n == RELAY_WORKER_MSGQ)
		pthread_cond_wait(&w->cv, &w->mu);
	w->msg[(w->msg_head + w->msg_n) % RELAY_WORKER_MSGQ].op = op;
	w->msg[(w->msg_head + w->msg_n) % RELAY_WORKER_MSGQ].flow = f;
	w->msg_n++;
	seq = ++w->msg_sent;
	pthread_mutex_unlock(&w->mu);
	if (write(w->msg_fd, &one, sizeof(one)) < 0) {
		/* overflow of the eventfd's counter: it is readable anyway */
	}
	return seq;
}

static void worker_wait(struct relay_worker *w, uint64_t seq)
{
	pthread_mutex_lock(&w->mu);
	while (w->msg_done < seq)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int relay_workers_start(struct relay *r)
{
	int n = r->opts.media_threads;
	int err;

	if (n < 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		/* a test clock drives the datapath on the loop (see above) */
		n = r->clock ? 0 : cpus > 0 ? (int)cpus : 1;
	}
	if (!n) {
		log_info("media threads: none (--media-threads 0): terminated calls' media on the "
			 "main loop");
		return 0;
	}
	r->workers = calloc((size_t)n, sizeof(*r->workers));
	if (!r->workers)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct relay_worker *w = &r->workers[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		char name[16];

		w->r = r;
		w->index = (unsigned)i;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->msg_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->up_src.kind = RELAY_EV_WORKER;
		w->up_src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->up = calloc(RELAY_WORKER_UPQ, sizeof(*w->up));
		w->rxbuf = calloc(RELAY_BATCH, RELAY_DGRAM_MAX);
		w->obuf = calloc(RELAY_BATCH, RELAY_WORKER_CBUF);
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		r->nworkers++; /* from here relay_workers_stop() undoes it */
		if (w->epfd < 0 || w->msg_fd < 0 || w->up_src.fd < 0) {
			err = -errno;
			goto err;
		}
		if (!w->up || !w->rxbuf || !w->obuf) {
			err = -ENOMEM;
			goto err;
		}
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->msg_fd, &ev) < 0 ||
		    (err = relay_epoll_add(r, w->up_src.fd, &w->up_src)) < 0) {
			err = err ? err : -errno;
			goto err;
		}
		err = -pthread_create(&w->thread, NULL, worker_main, w);
		if (err)
			goto err;
		w->started = true;
		snprintf(name, sizeof(name), "icepath-m%u", (unsigned)i % 1000u);
		pthread_setname_np(w->thread, name);
	}
	log_info("media threads: %u (terminated calls' SRTP, one call per thread)", r->nworkers);
	return 0;
err:
	log_err("cannot start media thread %u of %d: %s; --media-threads 0 runs all media on "
		"the main loop",
		r->nworkers - 1, n, strerror(-err));
	return err;
}

void relay_workers_stop(struct relay *r)
{
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct relay_worker *w = &r->workers[i];

		if (w->started) {
			worker_send(w, RELAY_WMSG_STOP, NULL);
			pthread_join(w->thread, NULL);
			log_info("media thread %u: %llu packets forwarded", i,
				 (unsigned long long)atomic_load(&w->packets));
		}
		if (w->up_src.fd >= 0 && r->epfd >= 0)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->up_src.fd, NULL);
		if (w->up_src.fd >= 0)
			close(w->up_src.fd);
		if (w->msg_fd >= 0)
			close(w->msg_fd);
		if (w->epfd >= 0)
			close(w->epfd);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w->up);
		free(w->rxbuf);
		free(w->obuf);
	}
	free(r->workers);
	r->workers = NULL;
	r->nworkers = 0;
}

uint64_t relay_worker_packets(const struct relay *r, unsigned i)
{
	return i < r->nworkers ? atomic_load_explicit(&r->workers[i].packets, memory_order_relaxed)
			       : 0;
}

/* The flow media arriving on leg l's stream s, component comp, should have,
 * or false: the loop forwards it (not settled, no keys yet, TURN, ...). */
static bool wflow_wanted(const struct relay *r, struct call_leg *l, struct call_stream *s,
			 unsigned comp, struct relay_wflow *f)
{
	struct call_leg *o = call_leg_other(l);
	struct relay_crypto *lc = l->crypto, *oc = o->crypto;
	struct call_stream *d;

	memset(f, 0, sizeof(*f));
	if (!relay_call_terminated(l->call) || !s->active || s->via_turn || !s->remote_set[comp] ||
	    s->sock[comp].fd < 0 || (s->rtcp_mux && comp != CALL_COMP_RTP) ||
	    s->index >= o->nstreams)
		return false;
	if (l->state == CALL_LEG_STATE_CLOSED || o->state == CALL_LEG_STATE_CLOSED ||
	    o->state == CALL_LEG_STATE_NEW)
		return false;
	/* BUNDLE toward one leg: the stream a packet belongs to is found per
	 * packet (relay_bundle.c, by SSRC/MID/PT, latching as it goes) and the
	 * tables live with the leg on the loop; a worker flow maps one socket
	 * to one stream, so such a call stays on the loop */
	if (l->bundle.on || o->bundle.on)
		return false;
	/* a plain leg still learning its peer keeps its packets on the loop
	 * until the source is kept (relay_media.c's learn()) */
	if (!relay_leg_ice(l) && !s->latched[comp] && r->opts.learning != DAEMON_LEARN_OFF)
		return false;
	d = &o->streams[s->index];
	if (!d->active || d->via_turn || !d->consent)
		return false;
	if (lc && lc->mode != RELAY_CRYPTO_PLAIN && !lc->rx)
		return false; /* no keys from this leg yet */
	if (oc && oc->mode != RELAY_CRYPTO_PLAIN && !oc->tx)
		return false;
	f->rx = lc && lc->mode != RELAY_CRYPTO_PLAIN ? lc->rx : NULL;
	f->tx = oc && oc->mode != RELAY_CRYPTO_PLAIN ? oc->tx : NULL;
	f->back = lc && lc->mode != RELAY_CRYPTO_PLAIN ? lc->tx : NULL;
	f->fd = s->sock[comp].fd;
	f->remote = s->remote[comp];
	f->out_mux = d->rtcp_mux;
	for (unsigned k = 0; k < CALL_NCOMP; k++) {
		unsigned dk = d->rtcp_mux ? CALL_COMP_RTP : k;

		f->out_fd[k] = d->remote_set[dk] && d->sock[dk].fd >= 0 ? d->sock[dk].fd : -1;
		f->out_dst[k] = d->remote[dk];
	}
	if (f->out_fd[CALL_COMP_RTP] < 0)
		return false; /* an ICE leg without its pair: early media, on the loop */
	f->call = l->call;
	f->l = l;
	f->o = o;
	f->s = s;
	f->d = d;
	f->comp = comp;
	return true;
}

static bool wflow_same(const struct relay_wflow *a, const struct relay_wflow *b)
{
	if (a->fd != b->fd || !netaddr_equal(&a->remote, &b->remote) || a->rx != b->rx ||
	    a->tx != b->tx || a->back != b->back || a->out_mux != b->out_mux)
		return false;
	for (unsigned k = 0; k < CALL_NCOMP; k++)
		if (a->out_fd[k] != b->out_fd[k] ||
		    (a->out_fd[k] >= 0 && !netaddr_equal(&a->out_dst[k], &b->out_dst[k])))
			return false;
	return true;
}

static void set_lent(struct call *c, bool lent)
{
	for (unsigned side = 0; side < 2; side++)
		if (c->legs[side].crypto)
			c->legs[side].crypto->lent = lent;
}

static uint64_t delta(struct relay_wflow *f, enum relay_wctr k)
{
	uint64_t v = atomic_load_explicit(&f->ctr[k], memory_order_relaxed), d = v - f->folded[k];

	f->folded[k] = v;
	return d;
}

static void fold_flow(struct relay *r, struct relay_wflow *f)
{
	struct relay_crypto *lc = f->l->crypto, *oc = f->o->crypto;
	unsigned si = f->s->index < CALL_MAX_STREAMS ? f->s->index : 0;
	unsigned di = f->d->index < CALL_MAX_STREAMS ? f->d->index : 0;
	uint64_t auth, replay, other, txfail, nopath, trunc, ls;

	for (unsigned k = 0; k < CALL_NCOMP; k++) {
		f->s->rx_user[k].packets += delta(f, RELAY_WCTR_RX_PACKETS + k);
		f->s->rx_user[k].bytes += delta(f, RELAY_WCTR_RX_BYTES + k);
		f->d->tx_user[k].packets += delta(f, RELAY_WCTR_TX_PACKETS + k);
		f->d->tx_user[k].bytes += delta(f, RELAY_WCTR_TX_BYTES + k);
	}
	auth = delta(f, RELAY_WCTR_AUTH_FAIL);
	replay = delta(f, RELAY_WCTR_REPLAY);
	other = delta(f, RELAY_WCTR_OTHER);
	txfail = delta(f, RELAY_WCTR_TX_FAIL);
	nopath = delta(f, RELAY_WCTR_NO_PATH);
	trunc = delta(f, RELAY_WCTR_TRUNCATED);
	if (lc) {
		lc->st[si].decrypted += delta(f, RELAY_WCTR_DECRYPTED);
		lc->st[si].auth_fail += auth;
		lc->st[si].replay += replay;
		lc->st[si].other += other;
	}
	if (oc)
		oc->st[di].encrypted += delta(f, RELAY_WCTR_ENCRYPTED);
	r->srtp_auth_fail += auth;
	r->srtp_replay += replay;
	r->srtp_other += other;
	f->s->dropped += auth + replay + other + txfail + nopath;
	r->user_dropped += auth + replay + other + txfail + nopath;
	r->metrics.drops[METRICS_DROP_SRTP_AUTH] += auth;
	r->metrics.drops[METRICS_DROP_SRTP_REPLAY] += replay;
	r->metrics.drops[METRICS_DROP_CRYPTO] += other + txfail;
	r->metrics.drops[METRICS_DROP_NO_PATH] += nopath;
	r->metrics.drops[METRICS_DROP_TRUNCATED] += trunc;
	r->user_forwarded += delta(f, RELAY_WCTR_FORWARDED);
	ls = atomic_load_explicit(&f->last_seen_ms, memory_order_relaxed);
	if (ls > f->s->last_seen_ms)
		f->s->last_seen_ms = ls;
	if (ls > f->call->last_activity_ms)
		f->call->last_activity_ms = ls;
}

void relay_worker_fold(struct relay *r, struct call *c)
{
	if (!c->nwflows)
		return;
	for (unsigned side = 0; side < 2; side++)
		for (unsigned i = 0; i < c->legs[side].nstreams; i++)
			for (unsigned k = 0; k < CALL_NCOMP; k++)
				if (c->legs[side].streams[i].wflow[k])
					fold_flow(r, c->legs[side].streams[i].wflow[k]);
}

void relay_workers_fold(struct relay *r)
{
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct relay_worker *w = &r->workers[i];
		uint64_t sf = atomic_load_explicit(&w->send_failed, memory_order_relaxed);
		uint64_t uf = atomic_load_explicit(&w->up_full, memory_order_relaxed);

		r->user_dropped += sf - w->folded_send_failed + uf - w->folded_up_full;
		r->metrics.drops[METRICS_DROP_SEND_FAILED] += sf - w->folded_send_failed;
		r->metrics.drops[METRICS_DROP_NOT_MEDIA] += uf - w->folded_up_full;
		w->folded_send_failed = sf;
		w->folded_up_full = uf;
	}
}

/* Forget what w passed up for f and the loop has not taken yet. */
static void purge_up(struct relay_worker *w, const struct relay_wflow *f)
{
	pthread_mutex_lock(&w->mu);
	for (unsigned k = 0; k < w->up_n; k++) {
		struct relay_wup *e = &w->up[(w->up_head + k) % RELAY_WORKER_UPQ];

		if (e->flow == f)
			e->flow = NULL;
	}
	pthread_mutex_unlock(&w->mu);
}

void relay_worker_recall(struct relay *r, struct call *c)
{
	struct relay_worker *w;
	uint64_t seq = 0;

	if (!c->nwflows || !c->worker)
		return;
	w = &r->workers[c->worker - 1];
	for (unsigned side = 0; side < 2; side++)
		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++)
			for (unsigned k = 0; k < CALL_NCOMP; k++)
				if (c->legs[side].streams[i].wflow[k])
					seq = worker_send(w, RELAY_WMSG_REMOVE,
							  c->legs[side].streams[i].wflow[k]);
	worker_wait(w, seq);
	for (unsigned side = 0; side < 2; side++) {
		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++) {
			struct call_stream *s = &c->legs[side].streams[i];

			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				struct relay_wflow *f = s->wflow[k];

				if (!f)
					continue;
				fold_flow(r, f);
				purge_up(w, f);
				if (s->sock[k].fd >= 0)
					relay_epoll_add(r, s->sock[k].fd, &s->sock[k]);
				free(f);
				s->wflow[k] = NULL;
			}
		}
	}
	c->nwflows = 0;
	c->worker = 0;
	w->ncalls--;
	set_lent(c, false);
}

void relay_worker_sync(struct relay *r, struct call *c)
{
	struct relay_wflow want[2][CALL_MAX_STREAMS][CALL_NCOMP];
	bool wanted[2][CALL_MAX_STREAMS][CALL_NCOMP] = {{{0}}};
	bool same = true;
	unsigned n = 0, best = 0;
	struct relay_worker *w;

	if (!r->nworkers)
		return;
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++) {
			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				struct relay_wflow *cur = l->streams[i].wflow[k];

				wanted[side][i][k] = i < l->nstreams &&
						     wflow_wanted(r, l, &l->streams[i], k,
								  &want[side][i][k]);
				n += wanted[side][i][k];
				if (wanted[side][i][k] != !!cur ||
				    (cur && !wflow_same(cur, &want[side][i][k])))
					same = false;
			}
		}
	}
	if (same)
		return;
	relay_worker_recall(r, c);
	if (!n)
		return;
	for (unsigned i = 1; i < r->nworkers; i++)
		if (r->workers[i].ncalls < r->workers[best].ncalls)
			best = i;
	w = &r->workers[best];
	w->ncalls++;
	c->worker = best + 1;
	set_lent(c, true);
	for (unsigned side = 0; side < 2; side++) {
		for (unsigned i = 0; i < CALL_MAX_STREAMS; i++) {
			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				struct call_stream *s = &c->legs[side].streams[i];
				struct relay_wflow *f;

				if (!wanted[side][i][k] || !(f = malloc(sizeof(*f))))
					continue;
				memcpy(f, &want[side][i][k], sizeof(*f));
				s->wflow[k] = f;
				c->nwflows++;
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, f->fd, NULL);
				worker_send(w, RELAY_WMSG_INSTALL, f);
			}
		}
	}
	log_info("call %s: media thread %u forwards %u flows", c->id, best, c->nwflows);
}

void relay_worker_up(struct relay *r, struct relay_worker *w, uint64_t now)
{
	uint8_t *buf = r->rxbuf[0];
	struct netaddr from;
	uint64_t v;

	if (read(w->up_src.fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: taken at an earlier wakeup */
	}
	for (;;) {
		struct relay_wflow *f;
		struct call_sock *cs;
		size_t len;

		pthread_mutex_lock(&w->mu);
		if (!w->up_n) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		f = w->up[w->up_head].flow;
		from = w->up[w->up_head].from;
		len = w->up[w->up_head].len;
		if (f)
			memcpy(buf, w->up[w->up_head].data, len);
		w->up_head = (w->up_head + 1) % RELAY_WORKER_UPQ;
		w->up_n--;
		pthread_mutex_unlock(&w->mu);
		if (!f)
			continue;
		/* as if the loop's own socket had received it; this may recall
		 * the call (keys from a DTLS handshake): f is not used after */
		cs = &f->s->sock[f->comp];
		daemon_log_set_call(f->call->id);
		relay_media_input(r, cs, &from, buf, len, now);
		daemon_log_set_call(NULL);
		relay_out_flush(r);
	}
}
