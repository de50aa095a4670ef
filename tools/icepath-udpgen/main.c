// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-udpgen: an RTP traffic generator and checker for tests and
 * benchmarks. `send` emits N valid RTP packets (RFC 3550 §5.1: version 2,
 * consecutive sequence numbers, timestamps advancing one frame per packet,
 * one SSRC) at a given rate; `recv` counts what arrives, checks the
 * sequence numbers (loss, duplicates, reordering) and prints one JSON
 * object. Plain UDP sockets: it measures whatever path is under test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/netaddr.h"
#include "icepath/rtpstat.h"

#define UDPGEN_MAX_SIZE 1472 /* 1500-byte MTU less IPv4 and UDP headers */

static const char usage[] =
	"usage: icepath-udpgen send --from ADDR:PORT --to ADDR:PORT [--count N] [--rate PPS]\n"
	"                      [--size BYTES] [--ssrc N] [--pt N] [--seq N]\n"
	"       icepath-udpgen recv --on ADDR:PORT [--count N] [--timeout SECONDS] [--any]\n"
	"\n"
	"send  emits N RTP packets (RFC 3550: V=2, consecutive sequence numbers from --seq,\n"
	"      timestamp +160 per packet, one SSRC) of --size bytes (UDP payload, >= 12,\n"
	"      <= 1472) from --from to --to, paced at --rate packets/s (0: as fast as possible).\n"
	"      Prints {\"sent\":N,\"seconds\":S} on stdout.\n"
	"recv  binds --on and counts datagrams until --count arrived or --timeout seconds\n"
	"      passed without one; checks RTP sequence numbers and prints one JSON object:\n"
	"      received, unique, lost (of --count), duplicates, reordered, not_rtp, bytes,\n"
	"      source (the last sender's ADDR:PORT), sources (how many distinct senders).\n"
	"      --any counts any datagram without RTP checks (a socket that should see none).\n"
	"\n"
	"Defaults: --count 1000, --rate 1000, --size 172, --ssrc 0x1ce9a7, --pt 0, --seq 1,\n"
	"--timeout 5. Exit status: 0 ran (read the JSON), 1 socket error, 2 usage error.\n";

struct udpgen {
	struct netaddr from, to, on;
	int have_from, have_to, have_on;
	unsigned long count, rate, size, timeout_s;
	uint32_t ssrc;
	uint8_t pt;
	uint16_t seq;
	int any;
};

static int open_bound(const struct netaddr *a)
{
	char buf[NETADDR_STRLEN];
	int fd, one = 1, rcv = 4 << 20;

	fd = socket(netaddr_family(a), SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("icepath-udpgen: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A burst at line rate must not overflow the default buffer. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, &a->sa, netaddr_len(a))) {
		fprintf(stderr, "icepath-udpgen: cannot bind %s: %s\n",
			netaddr_str(a, buf, sizeof(buf)), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int do_send(const struct udpgen *g)
{
	uint8_t pkt[UDPGEN_MAX_SIZE];
	struct timespec next;
	unsigned long i;
	uint16_t seq = g->seq;
	uint32_t ts = 0;
	double t0;
	long step_ns = g->rate ? 1000000000L / g->rate : 0;
	int fd;

	fd = open_bound(&g->from);
	if (fd < 0)
		return 1;
	for (i = 0; i < g->size; i++)
		pkt[i] = (uint8_t)i;
	clock_gettime(CLOCK_MONOTONIC, &next);
	t0 = monotime_s();
	for (i = 0; i < g->count; i++) {
		const struct rtp_hdr h = { .pt = g->pt & 0x7f, .seq = seq, .ts = ts, .ssrc = g->ssrc };

		rtpstat_write(pkt, &h);
		while (sendto(fd, pkt, g->size, 0, &g->to.sa, netaddr_len(&g->to)) < 0) {
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("icepath-udpgen: sendto");
				close(fd);
				return 1;
			}
			usleep(100); /* queue full: wait, never drop on our side */
		}
		seq++;
		ts += 160; /* 20 ms of 8 kHz audio (RFC 3551 §4.5) */
		if (step_ns) {
			next.tv_nsec += step_ns;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
	}
	printf("{\"sent\":%lu,\"seconds\":%.3f}\n", g->count, monotime_s() - t0);
	close(fd);
	return 0;
}

static int do_recv(const struct udpgen *g)
{
	uint8_t pkt[2048], *seen;
	struct netaddr src, last = {0};
	socklen_t slen;
	unsigned long received = 0, unique = 0, dup = 0, reordered = 0, not_rtp = 0, sources = 0;
	uint64_t bytes = 0;
	struct pollfd pfd;
	uint16_t first = 0, prev = 0, off;
	char buf[NETADDR_STRLEN];
	int fd, have_first = 0;
	ssize_t n;

	seen = calloc(65536, 1);
	if (!seen)
		return 1;
	fd = open_bound(&g->on);
	if (fd < 0) {
		free(seen);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* "ready" lets a script start the sender only once we listen. */
	fprintf(stderr, "icepath-udpgen: ready on %s\n", netaddr_str(&g->on, buf, sizeof(buf)));
	while (!g->count || received < g->count) {
		if (poll(&pfd, 1, g->timeout_s * 1000) <= 0)
			break;
		slen = sizeof(src);
		n = recvfrom(fd, pkt, sizeof(pkt), 0, &src.sa, &slen);
		if (n < 0)
			continue;
		received++;
		bytes += n;
		if (!netaddr_equal(&src, &last))
			sources++;
		last = src;
		if (g->any)
			continue;
		if (n < RTP_HDR_LEN || pkt[0] >> 6 != RTP_VERSION) {
			not_rtp++;
			continue;
		}
		uint16_t seq = pkt[2] << 8 | pkt[3];

		if (!have_first) {
			first = prev = seq;
			have_first = 1;
		}
		off = seq - first;
		if (seen[off]) {
			dup++;
			continue;
		}
		seen[off] = 1;
		unique++;
		if ((int16_t)(seq - prev) < 0)
			reordered++;
		prev = seq;
	}
	printf("{\"received\":%lu,\"unique\":%lu,\"lost\":%lu,\"duplicates\":%lu,\"reordered\":%lu,"
	       "\"not_rtp\":%lu,\"bytes\":%" PRIu64 ",\"source\":\"%s\",\"sources\":%lu}\n",
	       received, unique, g->count > unique && !g->any ? g->count - unique : 0, dup,
	       reordered, not_rtp, bytes, received ? netaddr_str(&last, buf, sizeof(buf)) : "",
	       sources);
	free(seen);
	close(fd);
	return 0;
}

static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || *end || end == s || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"on", required_argument, NULL, 'o'},
		{"count", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{"ssrc", required_argument, NULL, 'S'},
		{"pt", required_argument, NULL, 'p'},
		{"seq", required_argument, NULL, 'q'},
		{"timeout", required_argument, NULL, 'T'},
		{"any", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct udpgen g = {.count = 1000,
			   .rate = 1000,
			   .size = 172,
			   .ssrc = 0x1ce9a7,
			   .seq = 1,
			   .timeout_s = 5};
	unsigned long v;
	const char *mode;
	int opt, bad = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			bad |= netaddr_parse(&g.from, optarg, 0) != 0;
			break;
		case 't':
			bad |= netaddr_parse(&g.to, optarg, -1) != 0;
			g.have_to = 1;
			break;
		case 'o':
			bad |= netaddr_parse(&g.on, optarg, -1) != 0;
			g.have_on = 1;
			break;
		case 'n':
			bad |= parse_u(optarg, 100000000, &g.count);
			break;
		case 'r':
			bad |= parse_u(optarg, 10000000, &g.rate);
			break;
		case 's':
			bad |= parse_u(optarg, UDPGEN_MAX_SIZE, &g.size) || g.size < RTP_HDR_LEN;
			break;
		case 'S':
			bad |= parse_u(optarg, UINT32_MAX, &v);
			g.ssrc = v;
			break;
		case 'p':
			bad |= parse_u(optarg, 127, &v);
			g.pt = v;
			break;
		case 'q':
			bad |= parse_u(optarg, 65535, &v);
			g.seq = v;
			break;
		case 'T':
			bad |= parse_u(optarg, 3600, &g.timeout_s) || g.timeout_s == 0;
			break;
		case 'a':
			g.any = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "icepath-udpgen: bad option or value '%s' (see --help)\n",
				optarg ? optarg : argv[optind - 1]);
			return 2;
		}
	}
	if (!strcmp(mode, "send") && g.have_to && netaddr_family(&g.from)) {
		if (netaddr_family(&g.from) != netaddr_family(&g.to)) {
			fprintf(stderr,
				"icepath-udpgen: --from and --to are of different families\n");
			return 2;
		}
		return do_send(&g);
	}
	if (!strcmp(mode, "send") && g.have_to) {
		/* No --from: any address of the right family, any port. */
		g.from = g.to;
		if (netaddr_family(&g.to) == AF_INET)
			netaddr_from_v4(&g.from, INADDR_ANY, 0);
		else
			netaddr_from_v6(&g.from, in6addr_any.s6_addr, 0);
		return do_send(&g);
	}
	if (!strcmp(mode, "recv") && g.have_on)
		return do_recv(&g);
	fputs(usage, stderr);
	return 2;
}
