// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng-fake: an NG server with a stub call table (ng_stub.h) in place
 * of icepathd, so icepathctl and ng-fuzz can be tested before and without
 * the daemon. Not for production: it keeps no media.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/ng.h"
#include "ng_stub.h"

static const char usage_text[] =
	"Usage: ng-fake [--listen ADDR:PORT] [--calls N] [--drop N] [--max-seconds S]\n"
	"\n"
	"A fake NG server for tests: it speaks the NG protocol through icepath's NG\n"
	"layer (ng_handle, cookie cache) with an in-memory stub call table instead of\n"
	"icepathd. Each call's counters grow by 50 packets/s on the \"fast path\" and\n"
	"5 packets/s in \"userspace\" per stream, so rates are known.\n"
	"\n"
	"  -l, --listen ADDR:PORT  address to listen on (default 127.0.0.1:2223)\n"
	"  -n, --calls N           create N calls (call-1 ... call-N) at start\n"
	"  -d, --drop N            ignore the first N datagrams (tests retransmission)\n"
	"  -m, --max-seconds S     exit after S seconds (default 300)\n"
	"  -h, --help              this text\n"
	"\n"
	"On SIGTERM/SIGINT, or after --max-seconds, it prints its counters and exits 0.\n";

static volatile sig_atomic_t stop;

/* A whole decimal number, or -1. */
static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end ? -1 : v;
}

static void on_signal(int sig)
{
	stop = sig;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"calls", required_argument, NULL, 'n'},
		{"drop", required_argument, NULL, 'd'},
		{"max-seconds", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t in[NG_DGRAM_MAX], out[NG_DGRAM_MAX]; /* drop, preload */
	static struct ng_stub stub;
	const char *listen_at = "127.0.0.1:2223";
	long calls = 0, drop = 0, max_s = 300;
	struct sigaction sa = {.sa_handler = on_signal};
	struct ng_server srv;
	struct netaddr addr;
	uint64_t start;
	int opt, fd, rc = 0;

	while ((opt = getopt_long(argc, argv, "l:n:d:m:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_at = optarg;
			break;
		case 'n':
			calls = number(optarg);
			break;
		case 'd':
			drop = number(optarg);
			break;
		case 'm':
			max_s = number(optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (calls < 0 || calls > NG_STUB_CALLS || drop < 0 || max_s <= 0) {
		fprintf(stderr, "ng-fake: --calls 0..%d, --drop >= 0, --max-seconds > 0\n",
			NG_STUB_CALLS);
		return 2;
	}
	if (netaddr_parse(&addr, listen_at, NG_DEFAULT_PORT)) {
		fprintf(stderr, "ng-fake: --listen '%s': expected ADDR:PORT\n", listen_at);
		return 2;
	}
	fd = ng_server_listen(&addr);
	if (fd < 0) {
		fprintf(stderr, "ng-fake: cannot listen on %s: %s\n", listen_at, strerror(-fd));
		return 1;
	}
	if (ng_server_init(&srv, &ng_stub_ops, &stub, NULL)) {
		fprintf(stderr, "ng-fake: out of memory\n");
		close(fd);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	start = monotime_ms();
	stub.epoch_s = (uint64_t)time(NULL);

	for (long i = 1; i <= calls; i++) {
		char d[160], id[32];
		int len;

		snprintf(id, sizeof(id), "call-%ld", i);
		len = snprintf(
			d, sizeof(d),
			"pre%ld d7:call-id%zu:%s7:command5:offer8:from-tag4:ft%02ld3:sdp3:v=0e", i,
			strlen(id), id, i);

		ng_handle(&srv, 0, NULL, (const uint8_t *)d, (size_t)len, out, sizeof(out));
	}
	printf("ng-fake: listening on %s with %ld calls\n", listen_at, calls);
	fflush(stdout);

	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (monotime_ms() - start >= (uint64_t)max_s * 1000u)
			break;
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (drop > 0) {
			if (recv(fd, in, sizeof(in), MSG_DONTWAIT) >= 0)
				drop--;
			continue;
		}
		stub.now_ms = monotime_ms() - start;
		rc = ng_server_serve(&srv, fd, stub.now_ms, 0);
		if (rc < 0) {
			fprintf(stderr, "ng-fake: receive: %s\n", strerror(-rc));
			break;
		}
		rc = 0;
	}
	printf("ng-fake: requests %llu, send errors %llu, no cookie %llu, malformed %llu, errors "
	       "%llu, "
	       "cache hits %llu, handler runs %u\n",
	       (unsigned long long)srv.counters.requests,
	       (unsigned long long)srv.counters.send_errors,
	       (unsigned long long)srv.counters.no_cookie,
	       (unsigned long long)srv.counters.malformed, (unsigned long long)srv.counters.errors,
	       (unsigned long long)srv.counters.cache_hits, stub.ops_run);
	ng_server_destroy(&srv);
	close(fd);
	return rc;
}
