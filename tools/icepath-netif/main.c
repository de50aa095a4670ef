// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-netif: show what icepath sees of the host's interfaces (the host
 * candidates an agent would gather) and watch changes, through rtnetlink.
 * A diagnostic for operators and the driver of tests/net/test_netif.sh.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "icepath/monotime.h"
#include "icepath/netif.h"
#include "icepath/compiler.h"

static const char usage[] =
	"Usage: icepath-netif list [--link-local] [--loopback] [--down] [-4|-6]\n"
	"       icepath-netif monitor [--count N] [--timeout SEC]\n"
	"       icepath-netif index NAME | name INDEX\n"
	"\n"
	"Shows the interfaces and addresses icepath uses for ICE host candidates\n"
	"(RFC 8445 5.1.1.1), read through rtnetlink, and watches their changes.\n"
	"\n"
	"list      one line per candidate address:\n"
	"            IFINDEX IFNAME ADDRESS/PREFIX local-pref=N\n"
	"          By default only interfaces that are up, no loopback, no\n"
	"          link-local, no tentative/deprecated IPv6 addresses.\n"
	"  --link-local   include fe80::/10 and 169.254.0.0/16\n"
	"  --loopback     include loopback interfaces\n"
	"  --down         include interfaces that are administratively down\n"
	"  -4, -6         one address family only\n"
	"monitor   print one line per change until N events were seen or SEC\n"
	"          seconds passed (defaults: unlimited, no timeout):\n"
	"            EVENT IFINDEX IFNAME [ADDRESS/PREFIX]\n"
	"          EVENT is addr-added, addr-removed, link-up or link-down.\n"
	"          Prints \"ready\" once subscribed, so a script can start\n"
	"          changing interfaces.\n"
	"index     print the interface index of NAME; name: the name of INDEX.\n"
	"\n"
	"Exit status: 0 success, 1 error (message on stderr), 2 usage error,\n"
	"3 monitor timeout before N events.\n";

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"link-local", no_argument, NULL, 'l'},
		{"loopback", no_argument, NULL, 'L'},
		{"down", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct netif_addr addrs[256];
	unsigned flags = 0;
	char ip[NETADDR_STRLEN];
	int c, n;

	while ((c = getopt_long(argc, argv, "46h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			flags |= NETIF_F_LINK_LOCAL;
			break;
		case 'L':
			flags |= NETIF_F_LOOPBACK;
			break;
		case 'd':
			flags |= NETIF_F_DOWN;
			break;
		case '4':
			flags |= NETIF_F_IPV4_ONLY;
			break;
		case '6':
			flags |= NETIF_F_IPV6_ONLY;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	n = netif_list(addrs, ARRAY_SIZE(addrs), flags);
	if (n < 0) {
		fprintf(stderr, "icepath-netif: cannot list addresses through rtnetlink: %s\n",
			strerror(-n));
		return 1;
	}
	if ((size_t)n > ARRAY_SIZE(addrs)) {
		fprintf(stderr, "icepath-netif: %d addresses, showing the first %zu\n", n,
			ARRAY_SIZE(addrs));
		n = (int)(ARRAY_SIZE(addrs));
	}
	for (int i = 0; i < n; i++)
		printf("%u %s %s/%u local-pref=%u\n", addrs[i].ifindex, addrs[i].ifname,
		       netaddr_ip_str(&addrs[i].addr, ip, sizeof(ip)), addrs[i].prefixlen,
		       addrs[i].local_pref);
	return 0;
}

static void print_event(void *ctx, const struct netif_event *ev)
{
	char ip[NETADDR_STRLEN];
	long *count = ctx;

	if (ev->type == NETIF_EVENT_ADDR_ADDED || ev->type == NETIF_EVENT_ADDR_REMOVED)
		printf("%s %u %s %s/%u\n", netif_event_type_str(ev->type), ev->ifindex,
		       ev->ifname[0] ? ev->ifname : "-", netaddr_ip_str(&ev->addr, ip, sizeof(ip)),
		       ev->prefixlen);
	else
		printf("%s %u %s\n", netif_event_type_str(ev->type), ev->ifindex,
		       ev->ifname[0] ? ev->ifname : "-");
	fflush(stdout);
	(*count)++;
}

static int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'c'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long want = -1, seen = 0, timeout_s = -1;
	struct netif_monitor *m;
	uint64_t end = 0;
	char *e;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			want = strtol(optarg, &e, 10);
			if (*e || want <= 0) {
				fprintf(stderr,
					"icepath-netif: --count '%s' is not a positive number\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			timeout_s = strtol(optarg, &e, 10);
			if (*e || timeout_s <= 0) {
				fprintf(stderr,
					"icepath-netif: --timeout '%s' is not a positive number of "
					"seconds\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	err = netif_monitor_open(&m);
	if (err) {
		fprintf(stderr, "icepath-netif: cannot subscribe to rtnetlink changes: %s\n",
			strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (timeout_s > 0)
		end = monotime_ms() + (uint64_t)timeout_s * 1000;
	while (want < 0 || seen < want) {
		struct pollfd pfd = {.fd = netif_monitor_fd(m), .events = POLLIN};
		int wait = -1;

		if (end) {
			uint64_t t = monotime_ms();

			if (t >= end)
				break;
			wait = (int)(end - t);
		}
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
			perror("icepath-netif: poll");
			netif_monitor_close(m);
			return 1;
		}
		err = netif_monitor_read(m, print_event, &seen);
		if (err < 0) {
			fprintf(stderr, "icepath-netif: reading rtnetlink changes: %s\n",
				strerror(-err));
			netif_monitor_close(m);
			return 1;
		}
	}
	netif_monitor_close(m);
	return want > 0 && seen < want ? 3 : 0;
}

int main(int argc, char **argv)
{
	char name[IF_NAMESIZE];
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "monitor"))
		return cmd_monitor(argc - 1, argv + 1);
	if (!strcmp(argv[1], "index") && argc == 3) {
		r = netif_index(argv[2]);
		if (r < 0) {
			fprintf(stderr, "icepath-netif: no interface named '%s'\n", argv[2]);
			return 1;
		}
		printf("%d\n", r);
		return 0;
	}
	if (!strcmp(argv[1], "name") && argc == 3) {
		r = netif_name((unsigned)strtoul(argv[2], NULL, 10), name, sizeof(name));
		if (r < 0) {
			fprintf(stderr, "icepath-netif: no interface with index '%s'\n", argv[2]);
			return 1;
		}
		printf("%s\n", name);
		return 0;
	}
	fputs(usage, stderr);
	return 2;
}
