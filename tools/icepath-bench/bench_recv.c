// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench recv: one UDP socket per flow bound to the flow's receive
 * address, drained with recvmmsg() under epoll. Each packet is checked (RTP
 * v2, the flow's SSRC, from the relay's address for that flow) and counted
 * by rtpstat. The run ends at --duration, or --idle-ms after the last
 * packet once SIGTERM/SIGINT said the sender is done (a relay that stalls for
 * a while mid-run must not end the count early). One JSON object on stdout.
 *
 * --srtp-keys FILE: the flows carry SDES-SRTP (the RTP -> SRTP bench rows:
 * the relay protects). Line i of FILE is the a=crypto value the relay
 * offered for flow i; every packet is unprotected with libsrtp2 (through
 * srtpctx.h) before the RTP checks, so each one's auth tag is verified, and
 * the protected and plain bytes are both counted (the tag's size shows).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "bench.h"
#include "icepath/rtpstat.h"
#include "icepath/sdes.h"
#include "icepath/srtpctx.h"

#define RECV_BATCH	    64
#define RECV_BUF	    2048 /* bytes per datagram slot: larger than any benchmark packet */
#define RECV_DEFAULT_RCVBUF (4 << 20) /* bytes per socket: absorbs scheduling hiccups */
#define RECV_TICK_MS	    20
/* --srtp-keys: libsrtp2's replay window (packets), WebRTC's 1024 rather than
 * the default 128, so a relay that reorders (several threads on one stream)
 * is counted as reordering, not as replays */
#define RECV_SRTP_WINDOW 1024

static volatile sig_atomic_t recv_draining;

static void recv_on_signal(int sig)
{
	recv_draining = 1;
}

struct recv_totals {
	uint64_t packets, bytes, lost, duplicates, reordered, too_old;
	uint64_t wrong_ssrc, wrong_source, malformed, silent_flows, expected;
	/* --srtp-keys: plaintext bytes and what unprotect refused */
	uint64_t plain_bytes, srtp_auth_fail, srtp_replay, srtp_other_fail;
};

static void recv_usage(FILE *out)
{
	fprintf(out,
		"usage: icepath-bench recv --flows FILE [options]\n"
		"  Receive the flows of FILE on their rcv addresses, count per flow and\n"
		"  print one JSON object (packets, pps, Mbit/s, loss, reordering).\n"
		"  --flows FILE      flows file (see icepath-bench --help)\n"
		"  --count N         use only the first N flows (default: all)\n"
		"  --duration SEC    stop after this long at the latest (default 30)\n"
		"  --idle-ms MS      after SIGTERM/SIGINT, stop once no packet came for MS\n"
		"                    (default 1000); without a signal, run until --duration\n"
		"  --ready-file PATH create PATH once every socket is bound\n"
		"  --rcvbuf BYTES    SO_RCVBUF(FORCE) per socket (default 4 MiB)\n"
		"  --cpu N           pin to CPU N\n"
		"  --srtp-keys FILE  SDES-SRTP flows: line i is flow i's a=crypto value\n"
		"                    (\"1 AES_CM_128_HMAC_SHA1_80 inline:...\"); every packet is\n"
		"                    authenticated and decrypted before it is counted\n");
}

static int recv_open(const struct bench_flow *f, int rcvbuf)
{
	char a[NETADDR_STRLEN];
	int fd, one = 1;

	fd = socket(netaddr_family(&f->rcv), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* FORCE passes rmem_max as root; the plain one is the fallback */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, &f->rcv.sa, netaddr_len(&f->rcv)) != 0) {
		int err = -errno;

		fprintf(stderr, "icepath-bench recv: cannot bind %s: %s\n",
			netaddr_str(&f->rcv, a, sizeof(a)), strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

/* The a=crypto value of every flow, one a line, into an inbound context each */
static int recv_keys(const char *path, struct srtpctx **ctx, size_t n)
{
	FILE *fp = fopen(path, "r");
	char line[512], why[128];
	size_t i = 0;

	if (!fp) {
		fprintf(stderr, "icepath-bench recv: --srtp-keys %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (i < n && fgets(line, sizeof(line), fp)) {
		struct sdes_crypto sc;
		size_t len = strcspn(line, "\r\n");

		if (sdes_parse(line, len, &sc, why, sizeof(why)) ||
		    srtpctx_new(&ctx[i], sc.suite, SRTPCTX_INBOUND, sc.key, sc.key_len, sc.salt,
				sc.salt_len, RECV_SRTP_WINDOW)) {
			fprintf(stderr, "icepath-bench recv: --srtp-keys %s line %zu: %s\n", path,
				i + 1, why[0] ? why : "cannot make an SRTP context");
			fclose(fp);
			return -1;
		}
		i++;
	}
	fclose(fp);
	if (i < n) {
		fprintf(stderr, "icepath-bench recv: --srtp-keys %s: %zu keys for %zu flows\n",
			path, i, n);
		return -1;
	}
	return 0;
}

static void recv_one(struct rtpstat_flow *st, const struct bench_flow *f, struct srtpctx *ctx,
		     uint8_t *buf, size_t len, const struct netaddr *from, struct recv_totals *t)
{
	struct rtp_hdr h;

	t->packets++;
	t->bytes += len;
	if (ctx) {
		int err = srtpctx_unprotect_rtp(ctx, buf, &len);

		if (err == -EBADMSG)
			t->srtp_auth_fail++;
		else if (err == -EALREADY)
			t->srtp_replay++;
		else if (err)
			t->srtp_other_fail++;
		if (err)
			return;
	}
	t->plain_bytes += len;
	if (rtpstat_parse(buf, len, &h, NULL) != 0) {
		t->malformed++;
		return;
	}
	if (h.ssrc != f->ssrc) {
		t->wrong_ssrc++;
		return;
	}
	if (netaddr_family(&f->relay_src) && !netaddr_equal(from, &f->relay_src))
		t->wrong_source++;
	rtpstat_flow_add(st, h.seq);
}

int bench_recv_main(int argc, char **argv)
{
	static const struct option opts[] = {
		BENCH_OPTS_LONG,
		{"idle-ms", required_argument, NULL, 'i'},
		{"ready-file", required_argument, NULL, 'R'},
		{"rcvbuf", required_argument, NULL, 'b'},
		{"srtp-keys", required_argument, NULL, 'k'},
		{0},
	};
	struct bench_opts o = {.duration = 30, .cpu = -1};
	const char *ready = NULL, *keys = NULL;
	struct srtpctx **ctx = NULL;
	bool srtp_lib = false;
	double t0, first = 0, last = 0, now, drain_start = 0;
	double idle_ms = 1000, rcvbuf = RECV_DEFAULT_RCVBUF;
	struct bench_flows fl = {0};
	struct rtpstat_flow *st = NULL;
	struct recv_totals t = {0};
	static uint8_t bufs[RECV_BATCH][RECV_BUF];
	struct mmsghdr msgs[RECV_BATCH];
	struct netaddr from[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct epoll_event ev[64];
	int *fds = NULL, ep = -1, c, rc = 1;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0, taken = bench_opts_take(&o, c, optarg);

		if (taken < 0)
			return 2;
		if (taken)
			continue;
		switch (c) {
		case 'i':
			bad = bench_opts_num(optarg, 1, 3600000, &idle_ms);
			break;
		case 'R':
			ready = optarg;
			break;
		case 'b':
			bad = bench_opts_num(optarg, 4096, 1 << 30, &rcvbuf);
			break;
		case 'k':
			keys = optarg;
			break;
		case 'h':
			recv_usage(stdout);
			return 0;
		default:
			recv_usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr,
				"icepath-bench recv: bad value '%s' (--idle-ms 1..3600000, "
				"--rcvbuf 4096..1073741824)\n",
				optarg);
			return 2;
		}
	}
	if (bench_opts_start(&o, "recv", &fl))
		goto out;
	st = calloc(fl.n, sizeof(*st));
	fds = calloc(fl.n, sizeof(*fds));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!st || !fds || ep < 0) {
		fprintf(stderr, "icepath-bench recv: out of memory or epoll: %s\n",
			strerror(errno));
		goto out;
	}
	for (i = 0; i < fl.n; i++)
		fds[i] = -1;
	if (keys) {
		ctx = calloc(fl.n, sizeof(*ctx));
		if (!ctx || srtpctx_lib_init()) {
			fprintf(stderr,
				"icepath-bench recv: out of memory or libsrtp2 init failed\n");
			goto out;
		}
		srtp_lib = true;
		if (recv_keys(keys, ctx, fl.n))
			goto out;
	}
	for (i = 0; i < fl.n; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u64 = i};

		rtpstat_flow_init(&st[i], fl.v[i].ssrc);
		fds[i] = recv_open(&fl.v[i], (int)rcvbuf);
		if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) != 0)
			goto out;
	}
	for (i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RECV_BUF;
	}
	{
		struct sigaction sa = {.sa_handler = recv_on_signal};

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	if (ready) {
		FILE *fp = fopen(ready, "w");

		if (!fp) {
			fprintf(stderr, "icepath-bench recv: cannot create %s: %s\n", ready,
				strerror(errno));
			goto out;
		}
		fclose(fp);
	}

	t0 = now = monotime_s();
	while (now - t0 < o.duration) {
		if (recv_draining) {
			if (drain_start == 0)
				drain_start = now;
			/* idle since the signal and since the last packet */
			if ((now - (last > drain_start ? last : drain_start)) * 1000 >=
			    (double)idle_ms)
				break;
		}
		int n = epoll_wait(ep, ev, 64, RECV_TICK_MS);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "icepath-bench recv: epoll_wait: %s\n", strerror(errno));
			goto out;
		}

		if (n > 0 && first == 0)
			first = monotime_s();
		for (int e = 0; e < n; e++) {
			size_t fi = ev[e].data.u64;
			int r;

			do {
				for (i = 0; i < RECV_BATCH; i++) {
					memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
					msgs[i].msg_hdr.msg_iov = &iov[i];
					msgs[i].msg_hdr.msg_iovlen = 1;
					msgs[i].msg_hdr.msg_name = &from[i];
					msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
				}
				r = recvmmsg(fds[fi], msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
				for (int k = 0; k < r; k++)
					recv_one(&st[fi], &fl.v[fi], ctx ? ctx[fi] : NULL, bufs[k],
						 msgs[k].msg_len, &from[k], &t);
			} while (r == RECV_BATCH);
		}
		now = monotime_s();
		if (n > 0)
			last = now;
	}
	for (i = 0; i < fl.n; i++) {
		t.lost += rtpstat_flow_lost(&st[i]);
		t.expected += rtpstat_flow_expected(&st[i]);
		t.duplicates += st[i].duplicates;
		t.reordered += st[i].reordered;
		t.too_old += st[i].too_old;
		if (st[i].received == 0)
			t.silent_flows++;
	}
	{
		/* The active span: first to last batch seen, so the idle wait at
		 * the end and the wait for traffic at the start do not count. */
		double span = last > first ? last - first : 0, cpu_user, cpu_sys;

		bench_sys_cpu(&cpu_user, &cpu_sys);

		printf("{\"mode\":\"recv\",\"flows\":%zu,\"seconds\":%.3f,\"packets\":%llu,"
		       "\"bytes\":%llu,\"pps\":%.0f,\"mbps\":%.2f,\"expected\":%llu,\"lost\":%llu,"
		       "\"duplicates\":%llu,\"reordered\":%llu,\"too_old\":%llu,"
		       "\"wrong_ssrc\":%llu,\"wrong_source\":%llu,\"malformed\":%llu,"
		       "\"silent_flows\":%llu,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,"
		       "\"srtp\":%s,\"plain_bytes\":%llu,\"srtp_auth_fail\":%llu,"
		       "\"srtp_replay\":%llu,\"srtp_other_fail\":%llu}\n",
		       fl.n, span, (unsigned long long)t.packets, (unsigned long long)t.bytes,
		       span > 0 ? (double)t.packets / span : 0,
		       span > 0 ? (double)t.bytes * 8 / span / 1e6 : 0,
		       (unsigned long long)t.expected, (unsigned long long)t.lost,
		       (unsigned long long)t.duplicates, (unsigned long long)t.reordered,
		       (unsigned long long)t.too_old, (unsigned long long)t.wrong_ssrc,
		       (unsigned long long)t.wrong_source, (unsigned long long)t.malformed,
		       (unsigned long long)t.silent_flows, cpu_user, cpu_sys,
		       keys ? "true" : "false", (unsigned long long)t.plain_bytes,
		       (unsigned long long)t.srtp_auth_fail, (unsigned long long)t.srtp_replay,
		       (unsigned long long)t.srtp_other_fail);
	}
	rc = 0;
out:
	for (i = 0; fds && i < fl.n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ep >= 0)
		close(ep);
	for (i = 0; ctx && i < fl.n; i++)
		srtpctx_free(ctx[i]);
	free(ctx);
	if (srtp_lib)
		srtpctx_lib_shutdown();
	free(fds);
	free(st);
	bench_flows_free(&fl);
	return rc;
}
