// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench send: RTP over UDP, one socket per flow bound to the flow's
 * source (the relay may check it: that is the address the SDP announced),
 * connected to the relay's port, sendmmsg() batches round-robin over the
 * flows, paced to --rate packets/s or as fast as the CPU allows.
 *
 * --srtp CRYPTO (an a=crypto value, the key the SDP offered): SDES-SRTP
 * instead, for the SRTP <-> RTP bench row. The packets are protected
 * before the clock starts (--packets per flow, increasing sequence
 * numbers; libsrtp2 through srtpctx.h), so the sender spends no time on
 * crypto and a relay's unprotect and protect are what is measured; a flow
 * that has sent all of its packets ends the run ("exhausted": SRTP must
 * never repeat an index, RFC 3711 §3.3.1).
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
#include "icepath/sdes.h"
#include "icepath/srtpctx.h"

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
	/* --srtp: the protected packets, stride bytes apart, and the next one */
	uint8_t *pre;
	uint16_t *pre_len;
	size_t pre_next;
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
		     "  --cpu N           pin to CPU N\n"
		     "  --srtp CRYPTO     send SDES-SRTP keyed by this a=crypto value\n"
		     "                    (\"1 AES_CM_128_HMAC_SHA1_80 inline:...\"), protected\n"
		     "                    before the run starts\n"
		     "  --packets N       with --srtp: packets made per flow (default 300000);\n"
		     "                    the run ends when a flow has sent them all\n");
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
		{"srtp", required_argument, NULL, 'k'},
		{"packets", required_argument, NULL, 'p'},
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
	const char *srtp = NULL;
	double npre = 300000;
	size_t stride = 0;
	bool exhausted = false, srtp_lib = false;
	double prep_s = 0;
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
		case 'k':
			srtp = optarg;
			break;
		case 'p':
			bad = bench_opts_num(optarg, 1, 1e8, &npre);
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

	if (srtp) {
		struct sdes_crypto sc;
		char why[128] = "";
		double p0 = monotime_s();

		if (sdes_parse(srtp, strlen(srtp), &sc, why, sizeof(why))) {
			fprintf(stderr, "icepath-bench send: --srtp '%s': %s\n", srtp, why);
			goto out;
		}
		if (srtpctx_lib_init()) {
			fprintf(stderr, "icepath-bench send: libsrtp2 init failed\n");
			goto out;
		}
		srtp_lib = true;
		stride = (size_t)size + SRTPCTX_TRAILER_MAX;
		for (i = 0; i < fl.n; i++) {
			struct send_flow *f = &sf[i];
			struct srtpctx *ctx = NULL;

			f->pre = malloc((size_t)npre * stride);
			f->pre_len = malloc((size_t)npre * sizeof(*f->pre_len));
			if (!f->pre || !f->pre_len ||
			    srtpctx_new(&ctx, sc.suite, SRTPCTX_OUTBOUND, sc.key, sc.key_len, sc.salt,
					sc.salt_len, 0)) {
				fprintf(stderr, "icepath-bench send: cannot make %.0f SRTP packets "
						"for flow %zu\n", npre, i);
				srtpctx_free(ctx);
				goto out;
			}
			for (k = 0; k < (size_t)npre; k++) {
				uint8_t *b = f->pre + k * stride;
				size_t n = (size_t)size;
				struct rtp_hdr h = {.pt = SEND_PT_PCMU,
						    .ssrc = f->ssrc,
						    .seq = (uint16_t)(f->seq + k),
						    .ts = f->ts + (uint32_t)k * SEND_TS_STEP};

				memset(b, 0xff, (size_t)size);
				rtpstat_write(b, &h);
				if (srtpctx_protect_rtp(ctx, b, &n, stride)) {
					fprintf(stderr, "icepath-bench send: SRTP protect failed\n");
					srtpctx_free(ctx);
					goto out;
				}
				f->pre_len[k] = (uint16_t)n;
			}
			srtpctx_free(ctx);
		}
		prep_s = monotime_s() - p0;
	}
	t0 = now = monotime_s();
	end = t0 + o.duration;
	for (i = 0; now < end; i = (i + 1) % fl.n) {
		struct send_flow *f = &sf[i];
		int r;

		if (srtp && f->pre_next + (size_t)batch > (size_t)npre) {
			exhausted = true;
			break;
		}
		for (k = 0; k < (size_t)batch; k++) {
			struct rtp_hdr h = {.pt = SEND_PT_PCMU,
					    .ssrc = f->ssrc,
					    .seq = (uint16_t)(f->seq + k),
					    .ts = f->ts + (uint32_t)k * SEND_TS_STEP};

			if (srtp) {
				iov[k].iov_base = f->pre + (f->pre_next + k) * stride;
				iov[k].iov_len = f->pre_len[f->pre_next + k];
				continue;
			}
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
			f->pre_next += (size_t)r;
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
	       "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"srtp\":%s,\"exhausted\":%s,"
	       "\"srtp_prep_s\":%.2f}\n",
	       fl.n, size, batch, rate, now - t0, (unsigned long long)sent,
	       (double)sent / (now - t0), (double)sent * (double)size * 8 / (now - t0) / 1e6,
	       (unsigned long long)calls, (unsigned long long)errors,
	       (unsigned long long)short_writes, first_errno ? strerror(first_errno) : "", cpu_user,
	       cpu_sys, srtp ? "true" : "false", exhausted ? "true" : "false", prep_s);
	rc = 0;
out:
	for (i = 0; sf && i < fl.n; i++) {
		if (sf[i].fd >= 0)
			close(sf[i].fd);
		free(sf[i].pre);
		free(sf[i].pre_len);
	}
	if (srtp_lib)
		srtpctx_lib_shutdown();
	free(sf);
	free(msgs);
	free(iov);
	free(bufs);
	bench_flows_free(&fl);
	return rc;
}
