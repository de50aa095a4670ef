// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench xdp: the fast path measured at its own limit. One process
 * attaches the sink (bench_sink: count, XDP_DROP) on the sink veth, puts
 * the relay under test on the relay's ingress veth (bench_bare, its own
 * rewrite + devmap redirect; bench_sink as a plain drop, to measure the
 * generator alone; or whatever program icepathd attached), then runs the
 * generator (bench_gen) with BPF_PROG_RUN + BPF_F_TEST_XDP_LIVE_FRAMES on
 * the generator's veth from one thread per CPU, each on its own RX queue.
 * It enters each namespace with setns() (interfaces are looked up and XDP
 * attached where they live; devmap entries are written there too), so the
 * skeletons stay in one process and every map is reached through them.
 *
 * Two phases: a throughput phase with BPF statistics off (they cost two
 * clock reads per program run, on every program of the path), then a
 * shorter one with them on (BPF_ENABLE_STATS: the kernel turns them off
 * again when the fd closes, also if this process dies) for ns/packet of the
 * generator, the relay program and the sink on live traffic.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "icepath/monotime.h"

#include "bench_bare.skel.h"
#include "bench_gen.skel.h"
#include "bench_sink.skel.h"
#include "bench_xdp.h"

#define XDP_MAX_THREADS 8
#define XDP_CHUNK	(1u << 16) /* frames per BPF_PROG_RUN call: ~25 ms at line rate */
#define XDP_BATCH	64	   /* the kernel's default live-frames batch */
#define XDP_DRAIN_US	200000	   /* for frames still in the veth rings after the last run */

static volatile sig_atomic_t xdp_stop;

static void xdp_on_signal(int sig)
{
	xdp_stop = 1;
}

enum xdp_relay {
	XDP_RELAY_BARE,	    /* bench_bare on relay-in, devmap to relay-out */
	XDP_RELAY_DROP,	    /* bench_sink on relay-in: the generator alone */
	XDP_RELAY_ATTACHED, /* the program found on relay-in (icepathd's) */
};

static const char *const xdp_relay_str[] = {
	[XDP_RELAY_BARE] = "bare",
	[XDP_RELAY_DROP] = "drop",
	[XDP_RELAY_ATTACHED] = "attached",
};

/* one end of the topology: namespace and interface */
struct xdp_end {
	const char *ns, *dev;
	int nsfd, ifindex;
	uint8_t mac[6];
	int attached; /* ifindex our program is attached to, 0: none */
};

struct xdp_run {
	struct xdp_end gen, rin, rout, sink, anchor;
	enum xdp_relay relay;
	long threads;
	int cpus[XDP_MAX_THREADS];
	unsigned batch;
	double duration, stats_duration, rate;
	uint64_t frames; /* exact-count mode: this many in the first phase */
	int verify;
	struct bench_flows fl;
	uint8_t frame[BENCH_FRAME_LEN];
	struct bench_gen *gen_skel;
	struct bench_sink *sink_skel, *drop_skel;
	struct bench_bare *bare_skel;
	int relay_fd; /* the relay program's fd (ours or by id) */
	int self_ns;
};

struct xdp_thread {
	struct xdp_run *r;
	pthread_t tid;
	int idx;
	uint64_t quota; /* frames, 0: until the deadline */
	double deadline, rate;
	uint64_t sent;
	int err;
};

static void xdp_usage(FILE *out)
{
	fprintf(out,
		"usage: icepath-bench xdp --flows FILE --gen NS:DEV --relay-in NS:DEV\n"
		"                         --sink NS:DEV [options]\n"
		"  Attach the sink (count, XDP_DROP) on the sink device, put a relay program\n"
		"  on relay-in, and send 242-byte RTP frames of every flow of FILE (src ->\n"
		"  dst, round-robin) with the in-kernel generator (BPF_PROG_RUN, live frames)\n"
		"  on the generator device. Prints one JSON object.\n"
		"  --relay bare|drop|attached\n"
		"                    bare: the bench's own rewrite + redirect toward relay-out\n"
		"                    (rcv and relay_src of each flow, MACs of relay-out and the\n"
		"                    sink device); drop: the sink program on relay-in (the\n"
		"                    generator alone); attached (default): the program already\n"
		"                    on relay-in, e.g. icepathd's\n"
		"  --relay-out NS:DEV where bare redirects to (the sink device's peer)\n"
		"  --count N         first N flows of FILE (default all)\n"
		"  --duration SEC    throughput phase, BPF stats off (default 3)\n"
		"  --stats-duration SEC  ns/packet phase, BPF stats on (default 1, 0: none)\n"
		"  --frames N        send exactly N frames in the first phase instead\n"
		"  --rate PPS        pace the generator (total over threads; default: flat out)\n"
		"  --threads N       generator threads, one per CPU and RX queue (default 1)\n"
		"  --cpus A,B,...    their CPUs (default 0,1,...)\n"
		"  --batch N         live-frames batch size, 1..256 (default 64)\n"
		"  --verify          the sink checks every frame's IPv4 and UDP checksums\n"
		"  --anchor NS:DEV   a spare device (e.g. one end of an unused veth pair) the\n"
		"                    generator is attached to while it runs: BPF_PROG_RUN of\n"
		"                    an XDP program not attached anywhere swaps it into the\n"
		"                    kernel's XDP dispatcher and back on every call, two RCU\n"
		"                    grace periods (milliseconds) per call\n");
}

static int xdp_parse_end(struct xdp_end *e, char *arg, const char *opt)
{
	char *colon = strchr(arg, ':');

	if (!colon || colon == arg || !colon[1]) {
		fprintf(stderr, "icepath-bench xdp: %s wants NETNS:DEVICE, not '%s'\n", opt, arg);
		return -EINVAL;
	}
	*colon = 0;
	e->ns = arg;
	e->dev = colon + 1;
	return 0;
}

/* Enter e's namespace and learn its interface. */
static int xdp_end_open(struct xdp_end *e)
{
	int err;

	if (e->nsfd <= 0) {
		e->nsfd = bench_ns_open(e->ns);
		if (e->nsfd < 0)
			return e->nsfd;
	}
	err = bench_ns_enter(e->nsfd, e->ns);
	return err ? err : bench_if_info(e->dev, &e->ifindex, e->mac);
}

static int xdp_attach(struct xdp_end *e, int prog_fd, const char *what)
{
	int err = bench_ns_enter(e->nsfd, e->ns);

	if (err)
		return err;
	/* native only: generic XDP would measure another datapath */
	err = bpf_xdp_attach(e->ifindex, prog_fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err) {
		fprintf(stderr,
			"icepath-bench xdp: cannot attach %s to %s in %s natively: %s "
			"(another XDP program there? `ip -n %s link set %s xdp off`)\n",
			what, e->dev, e->ns, strerror(-err), e->ns, e->dev);
		return err;
	}
	e->attached = e->ifindex;
	return 0;
}

static void xdp_detach(struct xdp_end *e)
{
	if (!e->attached || bench_ns_enter(e->nsfd, e->ns))
		return;
	bpf_xdp_detach(e->attached, XDP_FLAGS_DRV_MODE, NULL);
	e->attached = 0;
}

static int xdp_load_sink(struct bench_sink **out, int verify)
{
	struct bench_sink *s = bench_sink__open();
	int err;

	if (!s) {
		err = -errno;
		fprintf(stderr, "icepath-bench xdp: cannot open the sink program: %s\n",
			strerror(-err));
		return err;
	}
	s->rodata->verify = (__u32)verify;
	err = bench_sink__load(s);
	if (err) {
		fprintf(stderr, "icepath-bench xdp: cannot load the sink program: %s\n",
			strerror(-err));
		bench_sink__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

/* The sink's counters summed over CPUs. */
static int xdp_sink_read(struct bench_sink *s, uint64_t out[BENCH_SINK_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	__u32 k;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < BENCH_SINK_COUNT; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(s->maps.counts, &k, sizeof(k), v, sizeof(*v) * ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

static int xdp_load_bare(struct xdp_run *r)
{
	struct bench_bare *b = bench_bare__open();
	int err;
	size_t i;

	if (!b)
		return -errno;
	/* the devmap is filled from inside the namespace of relay-out */
	err = bench_ns_enter(r->rout.nsfd, r->rout.ns);
	if (err) {
		bench_bare__destroy(b);
		return err;
	}
	bpf_map__set_max_entries(b->maps.flows, (__u32)r->fl.n);
	err = bench_bare__load(b);
	if (err) {
		fprintf(stderr, "icepath-bench xdp: cannot load the bare program: %s\n",
			strerror(-err));
		bench_bare__destroy(b);
		return err;
	}
	r->bare_skel = b;
	for (i = 0; i < r->fl.n; i++) {
		const struct bench_flow *f = &r->fl.v[i];
		struct bench_bare_key k = {
			.saddr = f->src.in.sin_addr.s_addr,
			.daddr = f->dst.in.sin_addr.s_addr,
			.sport = f->src.in.sin_port,
			.dport = f->dst.in.sin_port,
		};
		struct bench_bare_val v = {
			.saddr = f->relay_src.in.sin_addr.s_addr,
			.daddr = f->rcv.in.sin_addr.s_addr,
			.sport = f->relay_src.in.sin_port,
			.dport = f->rcv.in.sin_port,
			.ifindex = (__u32)r->rout.ifindex,
		};

		if (netaddr_family(&f->src) != AF_INET || netaddr_family(&f->dst) != AF_INET ||
		    netaddr_family(&f->rcv) != AF_INET || netaddr_family(&f->relay_src) != AF_INET) {
			fprintf(stderr, "icepath-bench xdp: flow %08x: the bare relay needs IPv4 "
					"src, dst, rcv and relay_src\n",
				f->ssrc);
			return -EINVAL;
		}
		memcpy(v.smac, r->rout.mac, 6);
		memcpy(v.dmac, r->sink.mac, 6);
		err = bpf_map__update_elem(b->maps.flows, &k, sizeof(k), &v, sizeof(v), BPF_NOEXIST);
		if (err) {
			fprintf(stderr, "icepath-bench xdp: flow %08x: cannot install in the bare "
					"table: %s (a duplicate src/dst pair in the flows file?)\n",
				f->ssrc, strerror(-err));
			return err;
		}
	}
	{
		__u32 ifx = (__u32)r->rout.ifindex;

		/* written from inside the namespace that owns relay-out */
		err = bpf_map__update_elem(b->maps.tx_ports, &ifx, sizeof(ifx), &ifx, sizeof(ifx),
					   0);
		if (err) {
			fprintf(stderr, "icepath-bench xdp: cannot add %s to the devmap: %s\n",
				r->rout.dev, strerror(-err));
			return err;
		}
	}
	r->relay_fd = bpf_program__fd(b->progs.bench_bare);
	return xdp_attach(&r->rin, r->relay_fd, "the bare relay");
}

static int xdp_load_gen(struct xdp_run *r)
{
	struct bench_gen *g = bench_gen__open();
	int err;
	__u32 i;

	if (!g)
		return -errno;
	g->rodata->n_flows = (__u32)r->fl.n;
	memcpy((void *)g->rodata->src_mac, r->gen.mac, 6);
	memcpy((void *)g->rodata->dst_mac, r->rin.mac, 6);
	bpf_map__set_max_entries(g->maps.flows, (__u32)r->fl.n);
	err = bench_gen__load(g);
	if (err) {
		fprintf(stderr, "icepath-bench xdp: cannot load the generator: %s\n",
			strerror(-err));
		bench_gen__destroy(g);
		return err;
	}
	r->gen_skel = g;
	bench_frame_template(r->frame);
	for (i = 0; i < r->fl.n; i++) {
		const struct bench_flow *f = &r->fl.v[i];
		struct bench_gen_flow gf;

		if (netaddr_family(&f->src) != AF_INET || netaddr_family(&f->dst) != AF_INET) {
			fprintf(stderr, "icepath-bench xdp: flow %08x: the generator sends IPv4 only\n",
				f->ssrc);
			return -EINVAL;
		}
		bench_gen_flow_init(&gf, f, r->frame);
		err = bpf_map__update_elem(g->maps.flows, &i, sizeof(i), &gf, sizeof(gf), 0);
		if (err)
			return err;
	}
	return 0;
}

static void *xdp_thread_main(void *arg)
{
	struct xdp_thread *t = arg;
	struct xdp_run *r = t->r;
	/* data_end must equal the frame's length (the kernel checks it) */
	struct xdp_md ctx = {.data_end = BENCH_FRAME_LEN,
			     .ingress_ifindex = (__u32)r->gen.ifindex,
			     .rx_queue_index = (__u32)t->idx};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r->frame, .data_size_in = BENCH_FRAME_LEN,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = r->batch);
	int fd = bpf_program__fd(r->gen_skel->progs.bench_gen);
	double t0;

	/* BPF_PROG_RUN finds ingress_ifindex in the caller's namespace */
	t->err = bench_ns_enter(r->gen.nsfd, r->gen.ns);
	if (!t->err)
		t->err = bench_sys_pin_cpu(r->cpus[t->idx]);
	if (t->err)
		return NULL;
	t0 = monotime_s();
	while (!xdp_stop) {
		uint64_t chunk = XDP_CHUNK;

		if (t->quota && t->quota - t->sent < chunk)
			chunk = t->quota - t->sent;
		if (t->rate > 0 && chunk > r->batch)
			chunk = r->batch;
		o.repeat = (__u32)chunk;
		if (bpf_prog_test_run_opts(fd, &o) != 0) {
			if (errno == EINTR && xdp_stop)
				break;
			t->err = -errno;
			fprintf(stderr,
				"icepath-bench xdp: BPF_PROG_RUN (live frames) on %s: %s "
				"(kernel >= 5.18 needed; the device must take XDP frames)\n",
				r->gen.dev, strerror(errno));
			break;
		}
		t->sent += chunk;
		if (t->quota && t->sent >= t->quota)
			break;
		if (t->rate > 0) {
			double due = t0 + (double)t->sent / t->rate, now = monotime_s();

			if (due > now) {
				struct timespec ts = {.tv_sec = (time_t)(due - now),
						      .tv_nsec = (long)(fmod(due - now, 1) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		if (!t->quota && monotime_s() >= t->deadline)
			break;
	}
	return NULL;
}

/* One phase: threads run until their deadline or quota. Frames sent, or -errno. */
static int64_t xdp_phase(struct xdp_run *r, double seconds, uint64_t frames, double *elapsed)
{
	struct xdp_thread t[XDP_MAX_THREADS];
	double t0 = monotime_s();
	uint64_t sent = 0;
	int err = 0;
	long i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < r->threads; i++) {
		t[i].r = r;
		t[i].idx = (int)i;
		t[i].deadline = t0 + seconds;
		t[i].rate = r->rate / (double)r->threads;
		/* the remainder goes to the first thread: exactly `frames` in all */
		t[i].quota = frames ? frames / (uint64_t)r->threads +
					      (i == 0 ? frames % (uint64_t)r->threads : 0)
				    : 0;
		if (frames && !t[i].quota)
			continue;
		if (pthread_create(&t[i].tid, NULL, xdp_thread_main, &t[i]) != 0) {
			err = -EAGAIN;
			t[i].r = NULL;
			break;
		}
	}
	for (i = 0; i < r->threads; i++) {
		if (!t[i].r || (frames && !t[i].quota))
			continue;
		pthread_join(t[i].tid, NULL);
		sent += t[i].sent;
		if (t[i].err && !err)
			err = t[i].err;
	}
	*elapsed = monotime_s() - t0;
	return err ? err : (int64_t)sent;
}

static double ns_per_run(const struct bench_prog_stats *a, const struct bench_prog_stats *b)
{
	return b->run_cnt > a->run_cnt
		       ? (double)(b->run_time_ns - a->run_time_ns) / (double)(b->run_cnt - a->run_cnt)
		       : 0;
}

static int xdp_parse_cpus(struct xdp_run *r, const char *s)
{
	char buf[128], *tok, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		double v;

		if (n == XDP_MAX_THREADS || bench_opts_num(tok, 0, 4095, &v) || v != (int)v)
			return -EINVAL;
		r->cpus[n++] = (int)v;
	}
	return n ? 0 : -EINVAL;
}

static void xdp_cleanup(struct xdp_run *r)
{
	struct xdp_end *ends[] = {&r->gen, &r->rin, &r->rout, &r->sink, &r->anchor};

	xdp_detach(&r->anchor);
	xdp_detach(&r->rin);
	xdp_detach(&r->sink);
	if (r->relay == XDP_RELAY_ATTACHED && r->relay_fd >= 0)
		close(r->relay_fd);
	bench_gen__destroy(r->gen_skel);
	bench_bare__destroy(r->bare_skel);
	bench_sink__destroy(r->drop_skel);
	bench_sink__destroy(r->sink_skel);
	if (r->self_ns >= 0 && setns(r->self_ns, CLONE_NEWNET) == 0)
		close(r->self_ns);
	for (size_t i = 0; i < 5; i++)
		if (ends[i]->nsfd > 0)
			close(ends[i]->nsfd);
	bench_flows_free(&r->fl);
}

int bench_xdp_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"flows", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"gen", required_argument, NULL, 'g'},
		{"relay-in", required_argument, NULL, 'i'},
		{"relay-out", required_argument, NULL, 'o'},
		{"sink", required_argument, NULL, 'k'},
		{"relay", required_argument, NULL, 'R'},
		{"duration", required_argument, NULL, 'd'},
		{"stats-duration", required_argument, NULL, 'S'},
		{"frames", required_argument, NULL, 'F'},
		{"rate", required_argument, NULL, 'r'},
		{"threads", required_argument, NULL, 't'},
		{"cpus", required_argument, NULL, 'c'},
		{"batch", required_argument, NULL, 'b'},
		{"verify", no_argument, NULL, 'V'},
		{"anchor", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static struct xdp_run run;
	struct xdp_run *r = &run;
	const char *flows = NULL;
	long count = 0;
	uint64_t s0[BENCH_SINK_COUNT], s1[BENCH_SINK_COUNT], s2[BENCH_SINK_COUNT];
	struct bench_prog_stats g0 = {0}, g1 = {0}, p0 = {0}, p1 = {0}, k0 = {0}, k1 = {0};
	unsigned long long b0 = 0, b1 = 0;
	double sec = 0, stats_sec = 0, cu0, cs0, cu1, cs1, v;
	int64_t sent, stats_sent = 0;
	long long bare_mem = -1;
	struct bench_sink *counted;
	int c, rc = 1, err;

	memset(r, 0, sizeof(*r));
	r->relay = XDP_RELAY_ATTACHED;
	r->threads = 1;
	r->batch = XDP_BATCH;
	r->duration = 3;
	r->stats_duration = 1;
	r->relay_fd = -1;
	r->self_ns = -1;
	for (c = 0; c < XDP_MAX_THREADS; c++)
		r->cpus[c] = c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'f':
			flows = optarg;
			break;
		case 'n':
			bad = bench_opts_num(optarg, 0, BENCH_MAX_FLOWS, &v) || v != (long)v;
			count = (long)v;
			break;
		case 'g':
			bad = xdp_parse_end(&r->gen, optarg, "--gen");
			break;
		case 'i':
			bad = xdp_parse_end(&r->rin, optarg, "--relay-in");
			break;
		case 'o':
			bad = xdp_parse_end(&r->rout, optarg, "--relay-out");
			break;
		case 'k':
			bad = xdp_parse_end(&r->sink, optarg, "--sink");
			break;
		case 'R':
			bad = 1;
			for (int m = XDP_RELAY_BARE; m <= XDP_RELAY_ATTACHED; m++)
				if (!strcmp(optarg, xdp_relay_str[m])) {
					r->relay = (enum xdp_relay)m;
					bad = 0;
				}
			break;
		case 'd':
			bad = bench_opts_num(optarg, 0.01, 3600, &r->duration);
			break;
		case 'S':
			bad = bench_opts_num(optarg, 0, 3600, &r->stats_duration);
			break;
		case 'F':
			bad = bench_opts_num(optarg, 1, 1e12, &v) || v != (double)(uint64_t)v;
			r->frames = (uint64_t)v;
			break;
		case 'r':
			bad = bench_opts_num(optarg, 0, 1e9, &r->rate);
			break;
		case 't':
			bad = bench_opts_num(optarg, 1, XDP_MAX_THREADS, &v) || v != (long)v;
			r->threads = (long)v;
			break;
		case 'c':
			bad = xdp_parse_cpus(r, optarg);
			break;
		case 'b':
			bad = bench_opts_num(optarg, 1, 256, &v) || v != (unsigned)v;
			r->batch = (unsigned)v;
			break;
		case 'V':
			r->verify = 1;
			break;
		case 'A':
			bad = xdp_parse_end(&r->anchor, optarg, "--anchor");
			break;
		case 'h':
			xdp_usage(stdout);
			return 0;
		default:
			xdp_usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "icepath-bench xdp: bad value '%s' (see --help)\n", optarg);
			return 2;
		}
	}
	if (!flows || !r->gen.ns || !r->rin.ns || !r->sink.ns ||
	    (r->relay == XDP_RELAY_BARE && !r->rout.ns)) {
		fprintf(stderr, "icepath-bench xdp: need --flows, --gen, --relay-in, --sink "
				"(and --relay-out with --relay bare); see --help\n");
		return 2;
	}
	{
		struct sigaction sa = {.sa_handler = xdp_on_signal};

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	r->self_ns = bench_ns_open("/proc/self/ns/net");
	if (r->self_ns < 0)
		goto out;
	if (bench_flows_load(&r->fl, flows, (size_t)count))
		goto out;

	/* the sink first: the relay's first forwarded frame must find it */
	if (xdp_end_open(&r->sink) || xdp_load_sink(&r->sink_skel, r->verify) ||
	    xdp_attach(&r->sink, bpf_program__fd(r->sink_skel->progs.bench_sink), "the sink"))
		goto out;
	if (xdp_end_open(&r->rin))
		goto out;
	if (r->rout.ns && xdp_end_open(&r->rout))
		goto out;
	switch (r->relay) {
	case XDP_RELAY_BARE:
		if (xdp_load_bare(r))
			goto out;
		bare_mem = bench_fd_memlock(bpf_map__fd(r->bare_skel->maps.flows)) +
			   bench_fd_memlock(bpf_map__fd(r->bare_skel->maps.tx_ports));
		break;
	case XDP_RELAY_DROP:
		if (xdp_load_sink(&r->drop_skel, r->verify))
			goto out;
		r->relay_fd = bpf_program__fd(r->drop_skel->progs.bench_sink);
		if (xdp_attach(&r->rin, r->relay_fd, "the generator's drop"))
			goto out;
		break;
	case XDP_RELAY_ATTACHED: {
		__u32 id = 0;

		if (bench_ns_enter(r->rin.nsfd, r->rin.ns))
			goto out;
		err = bpf_xdp_query_id(r->rin.ifindex, XDP_FLAGS_DRV_MODE, &id);
		if (err || !id) {
			fprintf(stderr,
				"icepath-bench xdp: no native XDP program on %s in %s (is the "
				"relay running with --xdp native?)\n",
				r->rin.dev, r->rin.ns);
			goto out;
		}
		r->relay_fd = bpf_prog_get_fd_by_id(id);
		if (r->relay_fd < 0) {
			fprintf(stderr, "icepath-bench xdp: cannot open program %u: %s\n", id,
				strerror(errno));
			goto out;
		}
		break;
	}
	}
	if (xdp_end_open(&r->gen) || xdp_load_gen(r))
		goto out;
	if (r->anchor.ns &&
	    (xdp_end_open(&r->anchor) ||
	     xdp_attach(&r->anchor, bpf_program__fd(r->gen_skel->progs.bench_gen), "the generator")))
		goto out;
	/* the generator alone: count where its frames end, at relay-in */
	counted = r->relay == XDP_RELAY_DROP ? r->drop_skel : r->sink_skel;

	/* phase 1: throughput, BPF statistics off */
	if (xdp_sink_read(counted, s0) || bench_machine_ticks(&b0))
		goto out;
	bench_sys_cpu(&cu0, &cs0);
	sent = xdp_phase(r, r->duration, r->frames, &sec);
	if (sent < 0)
		goto out;
	usleep(XDP_DRAIN_US);
	bench_machine_ticks(&b1);
	bench_sys_cpu(&cu1, &cs1);
	xdp_sink_read(counted, s1);

	/* phase 2: ns per packet of each program on live traffic */
	if (r->stats_duration > 0 && !xdp_stop) {
		int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

		if (stats_fd < 0) {
			fprintf(stderr, "icepath-bench xdp: cannot enable BPF run-time stats: %s\n",
				strerror(errno));
			goto out;
		}
		bench_prog_stats(bpf_program__fd(r->gen_skel->progs.bench_gen), &g0);
		bench_prog_stats(r->relay_fd, &p0);
		bench_prog_stats(bpf_program__fd(counted->progs.bench_sink), &k0);
		stats_sent = xdp_phase(r, r->stats_duration, r->frames, &stats_sec);
		usleep(XDP_DRAIN_US);
		bench_prog_stats(bpf_program__fd(r->gen_skel->progs.bench_gen), &g1);
		bench_prog_stats(r->relay_fd, &p1);
		bench_prog_stats(bpf_program__fd(counted->progs.bench_sink), &k1);
		close(stats_fd);
		if (stats_sent < 0)
			goto out;
	}
	xdp_sink_read(counted, s2);

	{
		long tck = sysconf(_SC_CLK_TCK);
		uint64_t got = s1[BENCH_SINK_PACKETS] - s0[BENCH_SINK_PACKETS];

		printf("{\"mode\":\"xdp\",\"relay\":\"%s\",\"flows\":%zu,\"threads\":%ld,"
		       "\"frame_len\":%d,\"sent\":%lld,\"seconds\":%.3f,\"gen_pps\":%.0f,"
		       "\"sink_packets\":%llu,\"sink_pps\":%.0f,\"machine_busy_s\":%.3f,"
		       "\"gen_cpu_s\":%.3f,\"stats_sent\":%lld,\"stats_seconds\":%.3f,"
		       "\"stats_sink_packets\":%llu,\"ns_gen\":%.1f,\"ns_relay\":%.1f,"
		       "\"ns_sink\":%.1f,\"relay_runs\":%llu,\"relay_prog_id\":%u,"
		       "\"relay_prog_name\":\"%s\",\"total_sent\":%lld,\"sink_total\":%llu,"
		       "\"sink_good\":%llu,\"sink_bad_sum\":%llu,\"sink_bad_shape\":%llu,"
		       "\"verify\":%s,\"bare_map_bytes\":%lld}\n",
		       xdp_relay_str[r->relay], r->fl.n, r->threads, BENCH_FRAME_LEN,
		       (long long)sent, sec, sec > 0 ? (double)sent / sec : 0,
		       (unsigned long long)got, sec > 0 ? (double)got / sec : 0,
		       (double)(b1 - b0) / (double)tck, (cu1 - cu0) + (cs1 - cs0),
		       (long long)stats_sent, stats_sec,
		       (unsigned long long)(s2[BENCH_SINK_PACKETS] - s1[BENCH_SINK_PACKETS]),
		       ns_per_run(&g0, &g1), ns_per_run(&p0, &p1), ns_per_run(&k0, &k1),
		       (unsigned long long)(p1.run_cnt - p0.run_cnt), p0.id, p0.name,
		       (long long)(sent + stats_sent),
		       (unsigned long long)(s2[BENCH_SINK_PACKETS] - s0[BENCH_SINK_PACKETS]),
		       (unsigned long long)(s2[BENCH_SINK_GOOD] - s0[BENCH_SINK_GOOD]),
		       (unsigned long long)(s2[BENCH_SINK_BAD_SUM] - s0[BENCH_SINK_BAD_SUM]),
		       (unsigned long long)(s2[BENCH_SINK_BAD_SHAPE] - s0[BENCH_SINK_BAD_SHAPE]),
		       r->verify ? "true" : "false", bare_mem);
	}
	rc = 0;
out:
	xdp_cleanup(r);
	return rc;
}

/*
 * icepath-bench xdp-sink: only the sink, for relays fed by the socket
 * sender (the userspace paths): the same count at the same place, so every
 * row of the table is measured where the frames leave the relay.
 */
int bench_xdp_sink_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sink", required_argument, NULL, 'k'},
		{"ready-file", required_argument, NULL, 'R'},
		{"verify", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static struct xdp_run run;
	struct xdp_run *r = &run;
	const char *ready = NULL;
	uint64_t s0[BENCH_SINK_COUNT], s1[BENCH_SINK_COUNT];
	double t0, first = 0, last = 0;
	uint64_t seen = 0;
	int c, rc = 1;

	memset(r, 0, sizeof(*r));
	r->relay_fd = -1;
	r->self_ns = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (xdp_parse_end(&r->sink, optarg, "--sink"))
				return 2;
			break;
		case 'R':
			ready = optarg;
			break;
		case 'V':
			r->verify = 1;
			break;
		case 'h':
			printf("usage: icepath-bench xdp-sink --sink NS:DEV [--ready-file F] [--verify]\n"
			       "  Count (and drop) every frame reaching DEV until SIGTERM/SIGINT, then\n"
			       "  print one JSON object (packets, the first-to-last span, checksums).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!r->sink.ns) {
		fprintf(stderr, "icepath-bench xdp-sink: --sink NS:DEV is required\n");
		return 2;
	}
	{
		struct sigaction sa = {.sa_handler = xdp_on_signal};

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	r->self_ns = bench_ns_open("/proc/self/ns/net");
	if (r->self_ns < 0 || xdp_end_open(&r->sink) || xdp_load_sink(&r->sink_skel, r->verify) ||
	    xdp_attach(&r->sink, bpf_program__fd(r->sink_skel->progs.bench_sink), "the sink") ||
	    xdp_sink_read(r->sink_skel, s0))
		goto out;
	if (ready) {
		FILE *fp = fopen(ready, "w");

		if (!fp) {
			fprintf(stderr, "icepath-bench xdp-sink: cannot create %s: %s\n", ready,
				strerror(errno));
			goto out;
		}
		fclose(fp);
	}
	/* poll every 10 ms: the span from the first to the last frame seen */
	t0 = monotime_s();
	while (!xdp_stop) {
		usleep(10000);
		xdp_sink_read(r->sink_skel, s1);
		if (s1[BENCH_SINK_PACKETS] != s0[BENCH_SINK_PACKETS] + seen) {
			double now = monotime_s();

			if (!seen)
				first = now;
			last = now;
			seen = s1[BENCH_SINK_PACKETS] - s0[BENCH_SINK_PACKETS];
		}
	}
	xdp_sink_read(r->sink_skel, s1);
	printf("{\"mode\":\"xdp-sink\",\"packets\":%llu,\"span_s\":%.3f,\"seconds\":%.3f,"
	       "\"good\":%llu,\"bad_sum\":%llu,\"bad_shape\":%llu,\"verify\":%s}\n",
	       (unsigned long long)(s1[BENCH_SINK_PACKETS] - s0[BENCH_SINK_PACKETS]), last - first,
	       monotime_s() - t0, (unsigned long long)(s1[BENCH_SINK_GOOD] - s0[BENCH_SINK_GOOD]),
	       (unsigned long long)(s1[BENCH_SINK_BAD_SUM] - s0[BENCH_SINK_BAD_SUM]),
	       (unsigned long long)(s1[BENCH_SINK_BAD_SHAPE] - s0[BENCH_SINK_BAD_SHAPE]),
	       r->verify ? "true" : "false");
	rc = 0;
out:
	xdp_cleanup(r);
	return rc;
}

/*
 * icepath-bench xdp-flows: N flows with distinct 4-tuples for the bare
 * relay and icepath's library row (no calls behind them): flow i arrives
 * from SRC:10000+i/P at the relay's address 192.0.2.(1+i/P), port
 * 20000+i%P (P: --ports, default 20000), and leaves from OUT:same port to
 * RCV:the source port. A relay address and port carry one flow, as a
 * relay's own port carries one stream.
 */
int bench_xdp_flows_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"ports", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct bench_flows fl = {0};
	const char *out = NULL;
	double n = 0, ports = 20000;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (bench_opts_num(optarg, 1, BENCH_MAX_FLOWS, &n) || n != (long)n) {
				fprintf(stderr, "icepath-bench xdp-flows: --count wants 1..%u\n",
					BENCH_MAX_FLOWS);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			if (bench_opts_num(optarg, 1, 45000, &ports) || ports != (long)ports) {
				fprintf(stderr, "icepath-bench xdp-flows: --ports wants 1..45000\n");
				return 2;
			}
			break;
		case 'h':
			printf("usage: icepath-bench xdp-flows --count N --out FILE [--ports P]\n"
			       "  Write N flows with distinct 4-tuples (192.0.2.10 -> 192.0.2.(1+i/P)\n"
			       "  port 20000+i%%P -> 198.51.100.1 -> 198.51.100.10) for `xdp --relay\n"
			       "  bare` and `fp`; P defaults to 20000.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!n || !out) {
		fprintf(stderr, "icepath-bench xdp-flows: need --count N and --out FILE\n");
		return 2;
	}
	if ((long)n / (long)ports >= 9) {
		fprintf(stderr, "icepath-bench xdp-flows: %ld flows over %ld ports need more than "
				"the 9 relay addresses 192.0.2.1-9: raise --ports\n",
			(long)n, (long)ports);
		return 2;
	}
	for (long i = 0; i < (long)n; i++) {
		struct bench_flow f = {.ssrc = 0x2ce00000u + (uint32_t)i};
		uint16_t sport = (uint16_t)(10000 + i / (long)ports),
			 dport = (uint16_t)(20000 + i % (long)ports);
		char dst[32];

		snprintf(dst, sizeof(dst), "192.0.2.%ld:1", 1 + i / (long)ports);
		netaddr_parse(&f.src, "192.0.2.10:1", -1);
		netaddr_parse(&f.dst, dst, -1);
		netaddr_parse(&f.relay_src, "198.51.100.1:1", -1);
		netaddr_parse(&f.rcv, "198.51.100.10:1", -1);
		netaddr_set_port(&f.src, sport);
		netaddr_set_port(&f.dst, dport);
		netaddr_set_port(&f.relay_src, dport);
		netaddr_set_port(&f.rcv, sport);
		if (bench_flows_append(&fl, &f)) {
			fprintf(stderr, "icepath-bench xdp-flows: out of memory\n");
			goto out;
		}
	}
	if (!bench_flows_save(&fl, out))
		rc = 0;
out:
	bench_flows_free(&fl);
	return rc;
}
