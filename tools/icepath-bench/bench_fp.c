// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench fp: icepath's fast path with flows installed through its
 * library (include/icepath/fastpath.h), no daemon and no calls: what
 * icepathd's XDP program does at a flow count that NG calls cannot reach
 * here (100k flows would be 100k calls, 400k relay ports and sockets).
 * Opens (creates) the pins, attaches the interfaces in native mode, installs
 * the flows of a flows file (dst -> src arrives, relay_src -> rcv leaves,
 * no deadline) and exits: pins and attachments stay for `xdp --relay
 * attached`, until `icepath-fpctl destroy`. Prints one JSON object.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_xdp.h"
#include "icepath/fastpath.h"

/* Locked memory of the BPF maps this process holds open, from fdinfo. */
static unsigned long long self_map_bytes(void)
{
	unsigned long long sum = 0, v;
	struct dirent *de;
	char path[300], line[256];
	DIR *d = opendir("/proc/self/fdinfo");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		int is_map = 0;
		unsigned long long mem = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				is_map = 1;
			else if (sscanf(line, "memlock: %llu", &v) == 1)
				mem = v;
		}
		fclose(f);
		if (is_map)
			sum += mem;
	}
	closedir(d);
	return sum;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_fp_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pin", required_argument, NULL, 'p'},
		{"port-min", required_argument, NULL, 'a'},
		{"port-max", required_argument, NULL, 'b'},
		{"attach", required_argument, NULL, 'i'},
		{"flows", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"max-flows", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct fastpath_opts fo = {.mode = FASTPATH_XDP_NATIVE};
	struct bench_flows fl = {0};
	struct fastpath_flow *f = NULL;
	struct fastpath *fp = NULL;
	const char *flows = NULL, *ifs[8];
	double v, n = 0, t0, t1;
	unsigned nifs = 0;
	int c, err, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			fo.pin_path = optarg;
			break;
		case 'a':
		case 'b':
			if (bench_opts_num(optarg, 1, 65535, &v)) {
				fprintf(stderr, "icepath-bench fp: --port-min/--port-max want 1..65535\n");
				return 2;
			}
			*(c == 'a' ? &fo.port_min : &fo.port_max) = (uint16_t)v;
			break;
		case 'i':
			if (nifs == 8) {
				fprintf(stderr, "icepath-bench fp: at most 8 --attach\n");
				return 2;
			}
			ifs[nifs++] = optarg;
			break;
		case 'f':
			flows = optarg;
			break;
		case 'n':
		case 'm':
			if (bench_opts_num(optarg, 1, BENCH_MAX_FLOWS * 2.0, &v)) {
				fprintf(stderr, "icepath-bench fp: --count/--max-flows want 1..%u\n",
					BENCH_MAX_FLOWS * 2);
				return 2;
			}
			if (c == 'n')
				n = v;
			else
				fo.max_flows = (uint32_t)v;
			break;
		case 'h':
			printf("usage: icepath-bench fp --pin DIR --port-min A --port-max B --attach IF...\n"
			       "                        --flows FILE --count N [--max-flows M]\n"
			       "  Open icepath's fast path under DIR (maps for M flows, default\n"
			       "  N + N/8), attach it natively to each IF, install the first N flows\n"
			       "  of FILE through the library (no daemon, no calls, no deadline),\n"
			       "  print {installed, install_s, map_bytes} and exit; pins and\n"
			       "  attachments stay (icepath-fpctl --pin DIR destroy removes them).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!fo.pin_path || !flows || !n || !nifs || !fo.port_min || fo.port_max < fo.port_min) {
		fprintf(stderr, "icepath-bench fp: need --pin, --port-min, --port-max, --attach, "
				"--flows and --count (--help)\n");
		return 2;
	}
	if (bench_flows_load(&fl, flows, (size_t)n))
		return 1;
	if (!fo.max_flows)
		fo.max_flows = (uint32_t)(fl.n + fl.n / 8 + 64);
	f = calloc(fl.n, sizeof(*f));
	if (!f) {
		fprintf(stderr, "icepath-bench fp: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < fl.n; i++) {
		f[i].local = fl.v[i].dst;
		f[i].remote = fl.v[i].src;
		f[i].out_src = fl.v[i].relay_src;
		f[i].out_dst = fl.v[i].rcv;
		f[i].flags = FASTPATH_FLOW_FORWARD | FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP;
		f[i].id = fl.v[i].ssrc;
		f[i].lifetime_ms = FASTPATH_LIFETIME_FOREVER;
		if (!netaddr_family(&fl.v[i].relay_src)) {
			fprintf(stderr, "icepath-bench fp: flow %08x has no relay_src\n", fl.v[i].ssrc);
			goto out;
		}
	}
	/* the ports array gets a slot of the port range per relay address,
	 * as icepathd gives it one per --interface */
	{
		struct netaddr seen[8];

		for (size_t i = 0; i < fl.n && fo.port_addrs < 8; i++) {
			unsigned j = 0;

			while (j < fo.port_addrs && !netaddr_same_ip(&seen[j], &fl.v[i].dst))
				j++;
			if (j == fo.port_addrs)
				seen[fo.port_addrs++] = fl.v[i].dst;
		}
	}
	err = fastpath_open(&fp, &fo);
	for (unsigned i = 0; !err && i < nifs; i++) {
		enum fastpath_xdp_mode got;

		err = fastpath_attach(fp, ifs[i], &got);
		if (!err && got != FASTPATH_XDP_NATIVE) {
			fprintf(stderr, "icepath-bench fp: %s runs XDP in %s mode, not native\n",
				ifs[i], fastpath_xdp_mode_str(got));
			err = -EOPNOTSUPP;
		}
	}
	if (err)
		goto out;
	t0 = mono_s();
	err = fastpath_flow_install_many(fp, f, fl.n);
	t1 = mono_s();
	if (err)
		goto out;
	printf("{\"installed\":%zu,\"install_s\":%.3f,\"max_flows\":%u,\"map_bytes\":%llu}\n", fl.n,
	       t1 - t0, fo.max_flows, self_map_bytes());
	rc = 0;
out:
	fastpath_close(fp);
	free(f);
	bench_flows_free(&fl);
	return rc;
}
