// SPDX-License-Identifier: GPL-2.0-only
/* icepath-bench: RTP traffic generator, sink and NG call setup (see bench.h). */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_xdp.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: icepath-bench ng|send|recv|xdp|xdp-sink|xdp-flows|fp [options]   (each takes --help)\n"
		"\n"
		"Benchmark a media relay: `ng` sets up N plain-RTP calls over the NG\n"
		"control protocol (rtpengine's, which icepathd speaks too) and writes a\n"
		"flows file; `recv` binds the callee side of every flow and counts what\n"
		"arrives (per-flow RTP sequence accounting: loss, duplicates, reordering,\n"
		"wrong SSRC, wrong source); `send` sends RTP from the caller side to the\n"
		"relay with sendmmsg(), paced or as fast as possible. Each prints one\n"
		"JSON object. tools/bench/bench.sh (make bench) drives them in network\n"
		"namespaces against icepathd (XDP and userspace) and rtpengine.\n"
		"`xdp` is the in-kernel generator (BPF_PROG_RUN with live frames) with an\n"
		"XDP_DROP sink and the bench's own bare XDP relay, the local limit the fast\n"
		"path is measured against; `xdp-sink` is that sink alone, `xdp-flows` writes\n"
		"flows for the bare relay; `fp` installs flows into icepath's own fast path\n"
		"through its library (no daemon, no calls: the 100k-flow row).\n"
		"\n"
		"Flows file, one flow a line ('#' comments):\n"
		"  <ssrc hex> <src ip:port> <dst ip:port> <rcv ip:port> <relay_src ip:port|->\n"
		"\n"
		"Exit status: 0 done, 1 failure (message on stderr), 2 usage error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "send"))
		return bench_send_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recv"))
		return bench_recv_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ng"))
		return bench_ng_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp"))
		return bench_xdp_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp-sink"))
		return bench_xdp_sink_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp-flows"))
		return bench_xdp_flows_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fp"))
		return bench_fp_main(argc - 1, argv + 1);
	fprintf(stderr, "icepath-bench: unknown command '%s' (ng, send, recv, xdp, xdp-sink, xdp-flows or fp)\n", argv[1]);
	usage(stderr);
	return 2;
}
