// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-fpctl: drive the XDP fast path directly through fastpath.h,
 * without the daemon: attach/detach, install/remove/show flows, verdict
 * statistics, destroy the pins. For tests, benchmarks and operators who
 * need to see inside; icepathctl (the NG client) is the daemon's tool.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/fastpath.h"

static const char usage[] =
	"usage: icepath-fpctl [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Control icepath's XDP fast path directly (no daemon needed). Every command\n"
	"re-opens the program and maps pinned under --pin; nothing is lost when it exits:\n"
	"attached interfaces keep forwarding.\n"
	"\n"
	"Commands:\n"
	"  attach IFNAME...     attach XDP (native, or generic if the driver lacks it); an\n"
	"                       interface that takes no native XDP frames (a veth whose\n"
	"                       peer runs no XDP) is named: flows toward it pass up\n"
	"  detach IFNAME...     detach XDP from the interfaces\n"
	"  flow add LOCAL REMOTE OUT_SRC OUT_DST\n"
	"                       install a flow: packets from REMOTE to LOCAL leave from\n"
	"                       OUT_SRC to OUT_DST. Addresses: 192.0.2.1:30000, "
	"[2001:db8::1]:30000\n"
	"  flow set LOCAL REMOTE FLAGS\n"
	"                       change the flags of a flow (consent lost: --flags rtp,rtcp)\n"
	"  flow del LOCAL REMOTE\n"
	"                       remove a flow\n"
	"  flow extend LOCAL REMOTE\n"
	"                       move the flow's deadline to now + --lifetime\n"
	"  flow get LOCAL REMOTE\n"
	"                       print one flow's counters, the path its last packet took\n"
	"                       (native, generic, userspace: why) and its deadline\n"
	"  flow show            print every flow with its counters\n"
	"  flow count           print the number of installed flows\n"
	"  stats                print the verdict statistics (summed over CPUs)\n"
	"  destroy              detach every interface and remove the pins\n"
	"\n"
	"Options:\n"
	"  -p, --pin DIR        bpffs pin directory (default " FASTPATH_PIN_PATH_DEFAULT ")\n"
	"  -r, --ports MIN-MAX  media UDP port range the program forwards (default 30000-40000);\n"
	"                       takes effect on the interfaces at the next attach\n"
	"  -x, --xdp MODE       native (default, falls back to generic), generic\n"
	"      --in-channel N   the flow's packets arrive in TURN channel N (0x4000-0x4FFF)\n"
	"                       from the TURN server REMOTE; the header is stripped\n"
	"      --out-channel N  wrap forwarded packets in ChannelData on channel N, toward\n"
	"                       the TURN server OUT_DST\n"
	"  -f, --flags LIST     comma list of forward,rtp,rtcp (default forward,rtp,rtcp);\n"
	"                       without 'forward' (consent lost) packets are dropped\n"
	"      --id N           the flow's tag (default 0)\n"
	"  -l, --lifetime S     forward for S seconds from install/extend, then pass up\n"
	"                       (default 30; 'forever': no deadline)\n"
	"  -m, --max-flows N    size of a new flow table (default 65536)\n"
	"  -q, --quiet          only errors on stderr\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 done, 1 failed (the message says why), 2 usage error.\n";

/* run()'s "the command line is wrong", apart from any -errno. */
#define FPCTL_USAGE (-10000)

struct fpctl {
	struct fastpath_opts o;
	struct fastpath_flow flow;
	int quiet;
};

static void logger(int level, const char *msg, void *ctx)
{
	const struct fpctl *c = ctx;

	if (c->quiet && level > 3 /* LOG_ERR */)
		return;
	fprintf(stderr, "icepath-fpctl: %s\n", msg);
}

static int parse_flags(const char *s, uint32_t *out)
{
	char buf[64], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "forward"))
			*out |= FASTPATH_FLOW_FORWARD;
		else if (!strcmp(tok, "rtp"))
			*out |= FASTPATH_FLOW_RTP;
		else if (!strcmp(tok, "rtcp"))
			*out |= FASTPATH_FLOW_RTCP;
		else if (strcmp(tok, "none"))
			return -EINVAL;
	}
	return 0;
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end || end == s || *out > max ? -EINVAL : 0;
}

static int parse_addr(struct netaddr *a, const char *s, const char *what)
{
	if (netaddr_parse(a, s, -1) || netaddr_port(a) == 0) {
		fprintf(stderr,
			"icepath-fpctl: %s '%s' is not ADDRESS:PORT (192.0.2.1:30000, "
			"[2001:db8::1]:30000)\n",
			what, s);
		return -EINVAL;
	}
	return 0;
}

static void print_flags(uint32_t f)
{
	printf("flags=%s%s%s%s", f & FASTPATH_FLOW_FORWARD ? "forward" : "",
	       (f & FASTPATH_FLOW_FORWARD) && (f & (FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP)) ? ","
											     : "",
	       f & FASTPATH_FLOW_RTP ? (f & FASTPATH_FLOW_RTCP ? "rtp,rtcp" : "rtp")
				     : (f & FASTPATH_FLOW_RTCP ? "rtcp" : ""),
	       f ? "" : "none");
}

struct show_ctx {
	struct fastpath *fp;
};

/* " rtcp=N not_fwd=N path=P why=W deadline_ms=D|never" and the
 * newline (rtcp: of packets, the RTCP). */
static void print_path(const struct fastpath_counters *n)
{
	printf(" rtcp=%" PRIu64 " not_fwd=%" PRIu64 " path=%s why=%s", n->rtcp_packets,
	       n->not_forwarded, fastpath_flow_path_str(n->path), n->why ? n->why : "-");
	if (n->deadline_in_ms == INT64_MAX)
		printf(" deadline_ms=never\n");
	else
		printf(" deadline_ms=%" PRId64 "\n", n->deadline_in_ms);
}

static int show_one(const struct fastpath_flow *f, void *ctx)
{
	struct show_ctx *s = ctx;
	char a[NETADDR_STRLEN], b[NETADDR_STRLEN], c[NETADDR_STRLEN], d[NETADDR_STRLEN];
	struct fastpath_counters n;

	if (fastpath_flow_counters(s->fp, f, &n))
		memset(&n, 0, sizeof(n));
	printf("local=%s remote=%s in_channel=%u out_src=%s out_dst=%s out_channel=%u ",
	       netaddr_str(&f->local, a, sizeof(a)), netaddr_str(&f->remote, b, sizeof(b)),
	       f->in_channel, netaddr_str(&f->out_src, c, sizeof(c)),
	       netaddr_str(&f->out_dst, d, sizeof(d)), f->out_channel);
	print_flags(f->flags);
	printf(" id=%" PRIu64 " packets=%" PRIu64 " bytes=%" PRIu64 " last_seen_ns=%" PRIu64,
	       f->id, n.packets, n.bytes, n.last_seen_ns);
	print_path(&n);
	return 0;
}

static int cmd_flow(struct fpctl *c, struct fastpath *fp, int argc, char **argv)
{
	struct fastpath_flow *f = &c->flow;
	struct fastpath_counters n;
	struct show_ctx s = {fp};
	const char *sub = argc > 0 ? argv[0] : "";
	long count;
	int err;

	if (!strcmp(sub, "show") && argc == 1)
		return fastpath_flow_foreach(fp, show_one, &s);
	if (!strcmp(sub, "count") && argc == 1) {
		count = fastpath_flow_count(fp);
		if (count < 0)
			return (int)count;
		printf("%ld\n", count);
		return 0;
	}
	if (argc < 3)
		return FPCTL_USAGE;
	if (parse_addr(&f->local, argv[1], "LOCAL") || parse_addr(&f->remote, argv[2], "REMOTE"))
		return FPCTL_USAGE;
	if (!strcmp(sub, "add") && argc == 5) {
		if (parse_addr(&f->out_src, argv[3], "OUT_SRC") ||
		    parse_addr(&f->out_dst, argv[4], "OUT_DST"))
			return FPCTL_USAGE;
		return fastpath_flow_install(fp, f);
	}
	if (!strcmp(sub, "set") && argc == 4) {
		uint32_t flags;

		if (parse_flags(argv[3], &flags)) {
			fprintf(stderr, "icepath-fpctl: bad FLAGS '%s' (forward,rtp,rtcp)\n",
				argv[3]);
			return FPCTL_USAGE;
		}
		err = fastpath_flow_set_flags(fp, f, flags);
		if (err == -ENOENT)
			fprintf(stderr, "icepath-fpctl: no such flow\n");
		return err;
	}
	if (!strcmp(sub, "del") && argc == 3) {
		err = fastpath_flow_remove(fp, f);
		if (err == -ENOENT)
			fprintf(stderr, "icepath-fpctl: no such flow\n");
		return err;
	}
	if (!strcmp(sub, "get") && argc == 3) {
		err = fastpath_flow_counters(fp, f, &n);
		if (err == -ENOENT)
			fprintf(stderr, "icepath-fpctl: no such flow\n");
		if (!err) {
			printf("packets=%" PRIu64 " bytes=%" PRIu64 " last_seen_ns=%" PRIu64,
			       n.packets, n.bytes, n.last_seen_ns);
			print_path(&n);
		}
		return err;
	}
	if (!strcmp(sub, "extend") && argc == 3) {
		err = fastpath_flow_extend(fp, f, f->lifetime_ms);
		if (err == -ENOENT)
			fprintf(stderr, "icepath-fpctl: no such flow\n");
		return err;
	}
	return FPCTL_USAGE;
}

static int cmd_stats(struct fastpath *fp)
{
	uint64_t v[64];
	unsigned i, n = fastpath_stat_count();
	int err;

	if (n > 64)
		n = 64;
	err = fastpath_stats(fp, v, n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		printf("%-16s %" PRIu64 "\n", fastpath_stat_name(i), v[i]);
	return 0;
}

static int run(struct fpctl *c, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct fastpath *fp;
	enum fastpath_xdp_mode got;
	int i, err;

	if (!strcmp(cmd, "destroy"))
		return argc == 1 ? fastpath_destroy(c->o.pin_path) : FPCTL_USAGE;
	if (strcmp(cmd, "attach") && strcmp(cmd, "detach") && strcmp(cmd, "flow") &&
	    strcmp(cmd, "stats"))
		return FPCTL_USAGE;
	err = fastpath_open(&fp, &c->o);
	if (err)
		return err;
	if (!strcmp(cmd, "attach") || !strcmp(cmd, "detach")) {
		err = argc > 1 ? 0 : FPCTL_USAGE;
		for (i = 1; i < argc && !err; i++) {
			if (cmd[0] == 'a') {
				err = fastpath_attach(fp, argv[i], &got);
				if (!err)
					printf("%s %s\n", argv[i], fastpath_xdp_mode_str(got));
			} else {
				err = fastpath_detach(fp, argv[i]);
			}
		}
	} else if (!strcmp(cmd, "flow")) {
		err = cmd_flow(c, fp, argc - 1, argv + 1);
	} else {
		err = argc == 1 ? cmd_stats(fp) : FPCTL_USAGE;
	}
	fastpath_close(fp);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pin", required_argument, NULL, 'p'},
		{"ports", required_argument, NULL, 'r'},
		{"xdp", required_argument, NULL, 'x'},
		{"in-channel", required_argument, NULL, 'I'},
		{"out-channel", required_argument, NULL, 'O'},
		{"flags", required_argument, NULL, 'f'},
		{"id", required_argument, NULL, 'i'},
		{"lifetime", required_argument, NULL, 'l'},
		{"max-flows", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct fpctl c = {
		.o = {.pin_path = FASTPATH_PIN_PATH_DEFAULT,
		      .port_min = 30000,
		      .port_max = 40000,
		      .mode = FASTPATH_XDP_NATIVE},
		.flow = {.flags = FASTPATH_FLOW_FORWARD | FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP},
	};
	unsigned long long v;
	unsigned lo, hi;
	int opt, err;
	char tail;

	while ((opt = getopt_long(argc, argv, "p:r:x:f:l:m:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			c.o.pin_path = optarg;
			break;
		case 'r':
			if (sscanf(optarg, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || lo > hi ||
			    hi > 65535) {
				fprintf(stderr,
					"icepath-fpctl: --ports '%s' is not MIN-MAX within "
					"1-65535\n",
					optarg);
				return 2;
			}
			c.o.port_min = lo;
			c.o.port_max = hi;
			break;
		case 'x':
			if (!strcmp(optarg, "native"))
				c.o.mode = FASTPATH_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				c.o.mode = FASTPATH_XDP_GENERIC;
			else {
				fprintf(stderr, "icepath-fpctl: --xdp '%s': native or generic\n",
					optarg);
				return 2;
			}
			break;
		case 'I':
		case 'O':
			if (parse_num(optarg, 0xffff, &v) || (v && (v < 0x4000 || v > 0x4fff))) {
				fprintf(stderr,
					"icepath-fpctl: channel '%s' is not 0x4000-0x4FFF "
					"(RFC 8656 §12)\n",
					optarg);
				return 2;
			}
			if (opt == 'I')
				c.flow.in_channel = v;
			else
				c.flow.out_channel = v;
			break;
		case 'f':
			if (parse_flags(optarg, &c.flow.flags)) {
				fprintf(stderr,
					"icepath-fpctl: --flags '%s': comma list of "
					"forward,rtp,rtcp\n",
					optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_num(optarg, UINT64_MAX, &v)) {
				fprintf(stderr, "icepath-fpctl: --id '%s' is not a number\n",
					optarg);
				return 2;
			}
			c.flow.id = v;
			break;
		case 'l':
			if (!strcmp(optarg, "forever")) {
				c.flow.lifetime_ms = FASTPATH_LIFETIME_FOREVER;
			} else if (parse_num(optarg, 86400, &v) || v == 0) {
				fprintf(stderr,
					"icepath-fpctl: --lifetime '%s': seconds (1-86400) or "
					"'forever'\n",
					optarg);
				return 2;
			} else {
				c.flow.lifetime_ms = (uint32_t)v * 1000u;
			}
			break;
		case 'm':
			if (parse_num(optarg, 100000000, &v) || v == 0) {
				fprintf(stderr, "icepath-fpctl: --max-flows '%s' is not 1-100000000\n",
					optarg);
				return 2;
			}
			c.o.max_flows = (uint32_t)v;
			break;
		case 'q':
			c.quiet = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	fastpath_set_logger(logger, &c);
	err = run(&c, argc - optind, argv + optind);
	if (err == FPCTL_USAGE) {
		fprintf(stderr, "icepath-fpctl: bad command or arguments (see --help)\n");
		return 2;
	}
	return err ? 1 : 0;
}
