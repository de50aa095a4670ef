// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench send: RTP over UDP, one socket per flow bound to the flow's
 * source (the relay may check it: that is the address the SDP announced),
 * connected to the relay's port, sendmmsg() batches round-robin over the
 * flows, paced to --rate packets/s or as fast as the CPU allows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "bench.h"
#include "icepath/rtpstat.h"

#define SEND_DEFAULT_SIZE  172 /* bytes of UDP payload: 12 RTP + 160 PCMU (20 ms) */
#define SEND_DEFAULT_BATCH 16
#define SEND_MAX_BATCH	   256
#define SEND_MAX_SIZE	   1472 /* bytes: one Ethernet MTU minus IPv4 and UDP headers */
#define SEND_PT_PCMU	   0	/* RFC 3551 §6 */
#define SEND_TS_STEP	   160	/* 20 ms at 8000 Hz (RFC 3551 §4.5.14) */

struct send_flow {
	int fd;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
};

static void send_usage(FILE *out)
{
	fprintf(out, "usage: icepath-bench send --flows FILE [options]\n"
		     "  Send RTP (version 2, PT 0, per-flow sequence numbers and SSRC) on every\n"
		     "  flow of FILE, from its src to its dst, and print one JSON object.\n"
		     "  --flows FILE      flows file (see icepath-bench --help)\n"
		     "  --count N         use only the first N flows (default: all)\n"
		     "  --duration SEC    how long to send (default 5, fractions allowed)\n"
		     "  --rate PPS        total packets per second over all flows (default 0:\n"
		     "                    as fast as possible)\n"
		     "  --size BYTES      UDP payload size, 12..1472 (default 172)\n"
		     "  --batch N         packets per sendmmsg() call, 1..256 (default 16)\n"
		     "  --cpu N           pin to CPU N\n");
}

static int send_open(struct send_flow *sf, const struct bench_flow *f)
{
	char a[NETADDR_STRLEN];
	int one = 1, err;

	sf->fd = socket(netaddr_family(&f->src), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sf->fd < 0)
		return -errno;
	setsockopt(sf->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(sf->fd, &f->src.sa, netaddr_len(&f->src)) != 0 ||
	    connect(sf->fd, &f->dst.sa, netaddr_len(&f->dst)) != 0) {
		err = -errno;
		fprintf(stderr, "icepath-bench send: flow %08x from %s: %s\n", f->ssrc,
			netaddr_str(&f->src, a, sizeof(a)), strerror(errno));
		close(sf->fd);
		sf->fd = -1;
		return err;
	}
	sf->ssrc = f->ssrc;
	/* RFC 3550 §5.1: random initial sequence number and timestamp; derived
	 * from the SSRC so runs are reproducible, and the sink sees a wrap. */
	sf->seq = (uint16_t)(f->ssrc * 2654435761u >> 16);
	sf->ts = f->ssrc * 40503u;
	return 0;
}

int bench_send_main(int argc, char **argv)
{
	static const struct option opts[] = {
		BENCH_OPTS_LONG,
		{"rate", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{"batch", required_argument, NULL, 'b'},
		{0},
	};
	struct bench_opts o = {.duration = 5, .cpu = -1};
	double rate = 0, size = SEND_DEFAULT_SIZE, batch = SEND_DEFAULT_BATCH, t0, now, end;
	double cpu_user, cpu_sys;
	struct bench_flows fl = {0};
	struct send_flow *sf = NULL;
	struct mmsghdr *msgs = NULL;
	struct iovec *iov = NULL;
	uint8_t *bufs = NULL;
	uint64_t sent = 0, calls = 0, errors = 0, short_writes = 0;
	int c, rc = 1, first_errno = 0;
	size_t i, k;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0, taken = bench_opts_take(&o, c, optarg);

		if (taken < 0)
			return 2;
		if (taken)
			continue;
		switch (c) {
		case 'r':
			bad = bench_opts_num(optarg, 0, 1e9, &rate);
			break;
		case 's':
			bad = bench_opts_num(optarg, RTP_HDR_LEN, SEND_MAX_SIZE, &size);
			break;
		case 'b':
			bad = bench_opts_num(optarg, 1, SEND_MAX_BATCH, &batch);
			break;
		case 'h':
			send_usage(stdout);
			return 0;
		default:
			send_usage(stderr);
			return 2;
		}
		if (bad || size != (long)size || batch != (long)batch) {
			fprintf(stderr,
				"icepath-bench send: bad value '%s' (--rate >= 0, --size "
				"12..1472, --batch 1..256)\n",
				optarg);
			return 2;
		}
	}
	if (bench_opts_start(&o, "send", &fl))
		goto out;
	sf = calloc(fl.n, sizeof(*sf));
	msgs = calloc((size_t)batch, sizeof(*msgs));
	iov = calloc((size_t)batch, sizeof(*iov));
	bufs = calloc((size_t)batch, (size_t)size);
	if (!sf || !msgs || !iov || !bufs) {
		fprintf(stderr, "icepath-bench send: out of memory\n");
		goto out;
	}
	for (i = 0; i < fl.n; i++)
		sf[i].fd = -1;
	for (i = 0; i < fl.n; i++)
		if (send_open(&sf[i], &fl.v[i]))
			goto out;
	for (k = 0; k < (size_t)batch; k++) {
		/* 0xff is PCMU silence; the payload only has to be the right size */
		memset(bufs + k * (size_t)size, 0xff, (size_t)size);
		iov[k].iov_base = bufs + k * (size_t)size;
		iov[k].iov_len = (size_t)size;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}

	t0 = now = monotime_s();
	end = t0 + o.duration;
	for (i = 0; now < end; i = (i + 1) % fl.n) {
		struct send_flow *f = &sf[i];
		int r;

		for (k = 0; k < (size_t)batch; k++) {
			struct rtp_hdr h = {.pt = SEND_PT_PCMU,
					    .ssrc = f->ssrc,
					    .seq = (uint16_t)(f->seq + k),
					    .ts = f->ts + (uint32_t)k * SEND_TS_STEP};

			rtpstat_write(bufs + k * (size_t)size, &h);
		}
		r = sendmmsg(f->fd, msgs, (unsigned)batch, 0);
		calls++;
		if (r < 0) {
			/* ENOBUFS/ECONNREFUSED (ICMP from the relay): count, go on;
			 * the sequence number does not move, so the sink sees no gap
			 * for packets that never left. */
			if (!first_errno)
				first_errno = errno;
			errors++;
		} else {
			if (r < batch)
				short_writes++;
			sent += (uint64_t)r;
			f->seq = (uint16_t)(f->seq + r);
			f->ts += (uint32_t)r * SEND_TS_STEP;
		}
		now = monotime_s();
		if (rate > 0) {
			double due = t0 + (double)sent / rate;

			if (due > now) {
				double d = due - now;
				struct timespec ts = {
					.tv_sec = (time_t)d,
					.tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};

				nanosleep(&ts, NULL);
				now = monotime_s();
			}
		}
	}
	now = monotime_s();
	bench_sys_cpu(&cpu_user, &cpu_sys);
	printf("{\"mode\":\"send\",\"flows\":%zu,\"size\":%.0f,\"batch\":%.0f,\"rate_target\":%.0f,"
	       "\"seconds\":%.3f,\"sent\":%llu,\"pps\":%.0f,\"mbps\":%.2f,\"sendmmsg_calls\":%llu,"
	       "\"errors\":%llu,\"short_writes\":%llu,\"first_error\":\"%s\","
	       "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
	       fl.n, size, batch, rate, now - t0, (unsigned long long)sent,
	       (double)sent / (now - t0), (double)sent * (double)size * 8 / (now - t0) / 1e6,
	       (unsigned long long)calls, (unsigned long long)errors,
	       (unsigned long long)short_writes, first_errno ? strerror(first_errno) : "", cpu_user,
	       cpu_sys);
	rc = 0;
out:
	for (i = 0; sf && i < fl.n; i++)
		if (sf[i].fd >= 0)
			close(sf[i].fd);
	free(sf);
	free(msgs);
	free(iov);
	free(bufs);
	bench_flows_free(&fl);
	return rc;
}
