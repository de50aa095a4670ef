// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench xdp: the pieces under the generator and the sink that know
 * nothing of their programs: entering a network namespace, an interface's
 * index and MAC, the generator's frame and checksums, a program's run-time
 * statistics, a map's locked memory, machine CPU time.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include "bench_xdp.h"

int bench_ns_open(const char *name)
{
	char path[256];
	int fd;

	/* a name as `ip netns add` makes it, or a path (/proc/PID/ns/net) */
	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		fprintf(stderr, "icepath-bench xdp: cannot open network namespace %s: %s "
				"(create it with `ip netns add`)\n",
			path, strerror(errno));
		return err;
	}
	return fd;
}

int bench_ns_enter(int fd, const char *name)
{
	if (setns(fd, CLONE_NEWNET) != 0) {
		int err = -errno;

		fprintf(stderr, "icepath-bench xdp: cannot enter network namespace %s: %s "
				"(needs root)\n",
			name, strerror(errno));
		return err;
	}
	return 0;
}

int bench_if_info(const char *ifname, int *ifindex, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd, err = 0;

	*ifindex = (int)if_nametoindex(ifname);
	if (!*ifindex) {
		err = -errno;
		fprintf(stderr, "icepath-bench xdp: no interface %s in this namespace: %s\n",
			ifname, strerror(errno));
		return err;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		err = -errno;
		fprintf(stderr, "icepath-bench xdp: cannot read the MAC of %s: %s\n", ifname,
			strerror(errno));
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	close(fd);
	return err;
}

/* 32-bit one's-complement sum of raw 16-bit memory words (RFC 1071 §2(B):
 * independent of byte order when the result is stored back raw). */
static uint32_t sum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		uint16_t w;

		memcpy(&w, b + i, 2);
		s += w;
	}
	if (len & 1) {
		uint16_t w = 0;

		memcpy(&w, b + len - 1, 1);
		s += w;
	}
	return s;
}

static uint16_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

void bench_frame_template(uint8_t frame[BENCH_FRAME_LEN])
{
	/* 0xff is PCMU silence; headers are written by the program per frame */
	memset(frame, 0xff, BENCH_FRAME_LEN);
	memset(frame, 0, BENCH_HDRS_LEN);
}

void bench_gen_flow_init(struct bench_gen_flow *g, const struct bench_flow *f,
			 const uint8_t frame[BENCH_FRAME_LEN])
{
	uint8_t ip[BENCH_IP_LEN] = {0x45, 0};
	uint8_t pseudo[12];
	uint8_t hdrs[8 + 12] = {0};
	uint16_t v;
	uint32_t s;

	memset(g, 0, sizeof(*g));
	g->saddr = f->src.in.sin_addr.s_addr;
	g->daddr = f->dst.in.sin_addr.s_addr;
	g->sport = f->src.in.sin_port;
	g->dport = f->dst.in.sin_port;
	g->ssrc = htonl(f->ssrc);

	/* IPv4 header exactly as bench_gen writes it, checksum finished here */
	v = htons(BENCH_FRAME_LEN - BENCH_ETH_LEN);
	memcpy(ip + 2, &v, 2);
	v = htons(0x4000); /* DF */
	memcpy(ip + 6, &v, 2);
	ip[8] = BENCH_TTL;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &g->saddr, 4);
	memcpy(ip + 16, &g->daddr, 4);
	g->ip_csum = (uint16_t)~fold16(sum16(ip, sizeof(ip)));

	/* RFC 768 pseudo-header: source, destination, zero, protocol, length */
	memcpy(pseudo, &g->saddr, 4);
	memcpy(pseudo + 4, &g->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	v = htons(BENCH_UDP_LEN);
	memcpy(pseudo + 10, &v, 2);
	/* UDP header (checksum 0) + RTP header with sequence and timestamp 0 */
	memcpy(hdrs, &g->sport, 2);
	memcpy(hdrs + 2, &g->dport, 2);
	memcpy(hdrs + 4, &v, 2);
	hdrs[8] = 0x80; /* V=2 */
	hdrs[9] = 0;	/* PT 0 (PCMU) */
	memcpy(hdrs + 16, &g->ssrc, 4);
	s = sum16(pseudo, sizeof(pseudo)) + sum16(hdrs, sizeof(hdrs)) +
	    sum16(frame + BENCH_HDRS_LEN, BENCH_FRAME_LEN - BENCH_HDRS_LEN);
	g->csum = fold16(s);
}

int bench_prog_stats(int prog_fd, struct bench_prog_stats *st)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
		return -errno;
	st->run_time_ns = info.run_time_ns;
	st->run_cnt = info.run_cnt;
	st->id = info.id;
	snprintf(st->name, sizeof(st->name), "%s", info.name);
	return 0;
}

long long bench_fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

int bench_machine_ticks(unsigned long long *busy)
{
	unsigned long long u, n, s, idle, iow, irq, sirq, steal;
	FILE *fp = fopen("/proc/stat", "r");
	int ok;

	if (!fp)
		return -errno;
	ok = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &s, &idle, &iow,
		    &irq, &sirq, &steal) == 8;
	fclose(fp);
	if (!ok)
		return -EINVAL;
	*busy = u + n + s + irq + sirq + steal;
	return 0;
}
