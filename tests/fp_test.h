/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the fast path's BPF test and fuzz target: the private
 * test network that makes bpf_fib_lookup() succeed for real inside
 * BPF_PROG_TEST_RUN, and an independent checksum check of Ethernet frames
 * (full RFC 1071 sums, nothing incremental).
 */
#ifndef ICEPATH_TESTS_FP_TEST_H
#define ICEPATH_TESTS_FP_TEST_H

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * fp0 (192.0.2.1/24, 2001:db8:1::1/64): the leg packets arrive on.
 * fp2 (198.51.100.1/24, 2001:db8:2::1/64): the other leg, with permanent
 * neighbours 198.51.100.20 and 2001:db8:2::20; 192.0.2.11 on fp0 (XDP_TX).
 * Forwarding off, as distributions ship it: the fast path must not need it.
 * GRO on the peers fp1/fp3 makes fp0/fp2 take native XDP frames (a veth's
 * ndo_xdp_xmit needs its peer's NAPI). The netns is the calling process's
 * own (unshare), gone when it exits.
 */
static const char *const fp_testnet_cmds[] = {
	"ip link set lo up",
	"ip link add fp0 address 02:00:00:00:00:01 type veth peer name fp1",
	"ip link add fp2 address 02:00:00:00:00:03 type veth peer name fp3",
	/* The peers fp1/fp3 only stand for the wire: with IPv6 on they would
	 * send router solicitations and MLD reports (hop-by-hop header) into
	 * fp0/fp2 at random moments and move the verdict counters the tests
	 * assert on. */
	"sysctl -qw net.ipv6.conf.fp1.disable_ipv6=1",
	"sysctl -qw net.ipv6.conf.fp3.disable_ipv6=1",
	"ip link set fp0 up",
	"ip link set fp1 up",
	"ip link set fp2 up",
	"ip link set fp3 up",
	"ip addr add 192.0.2.1/24 dev fp0",
	"ip addr add 198.51.100.1/24 dev fp2",
	"ip addr add 2001:db8:1::1/64 dev fp0 nodad",
	"ip addr add 2001:db8:2::1/64 dev fp2 nodad",
	"ip neigh add 198.51.100.20 lladdr 02:00:00:00:00:20 dev fp2 nud permanent",
	"ip neigh add 192.0.2.11 lladdr 02:00:00:00:00:11 dev fp0 nud permanent",
	"ip -6 neigh add 2001:db8:2::20 lladdr 02:00:00:00:00:21 dev fp2 nud permanent",
	"sysctl -qw net.ipv4.conf.all.forwarding=0",
	"sysctl -qw net.ipv6.conf.all.forwarding=0",
	"ethtool -K fp1 gro on >/dev/null",
	"ethtool -K fp3 gro on >/dev/null",
};

static inline int fp_testnet_setup(void)
{
	size_t i;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "cannot unshare a network namespace: %s (root needed)\n",
			strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(fp_testnet_cmds) / sizeof(fp_testnet_cmds[0]); i++) {
		if (system(fp_testnet_cmds[i]) != 0) {
			fprintf(stderr, "test network setup failed: %s\n", fp_testnet_cmds[i]);
			return -1;
		}
	}
	return 0;
}

/* One frame through BPF_PROG_TEST_RUN as if it arrived on ifindex (the
 * fib lookup routes from there). 0 or -errno; *out_len and *action set. */
static inline int fp_xdp_run(int prog_fd, int ifindex, const void *in, size_t in_len, void *out,
			     size_t out_cap, uint32_t *out_len, uint32_t *action)
{
	struct xdp_md ctx = {.data_end = (uint32_t)in_len, .ingress_ifindex = (uint32_t)ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)in_len,
		    .data_out = out, .data_size_out = (uint32_t)out_cap, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*out_len = o.data_size_out;
	*action = o.retval;
	return 0;
}

static inline uint32_t fp_sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t fp_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The full UDP checksum (RFC 768 / RFC 8200 §8.1) over pseudo-header,
 * header and payload, as a receiver computes it: 0 when correct. */
static inline uint16_t fp_csum_udp(int v6, const uint8_t *ip, const uint8_t *udp, unsigned ulen)
{
	uint32_t sum = v6 ? fp_sum16(ip + 8, 32, 0) : fp_sum16(ip + 12, 8, 0);

	sum += IPPROTO_UDP + ulen;
	return fp_fold(fp_sum16(udp, ulen, sum));
}

enum fp_csum_result {
	FP_CSUM_BAD = 0,
	FP_CSUM_OK = 1,
	FP_CSUM_NONE = 2,	/* IPv4 UDP without checksum */
	FP_CSUM_MALFORMED = -1, /* lengths disagree with the frame */
};

/* Check an Ethernet frame carrying IPv4/IPv6 + UDP (one optional 802.1Q
 * tag): IPv4 header sum, lengths against the frame, UDP sum. */
static inline int fp_frame_csum(const uint8_t *f, size_t len)
{
	size_t l2 = 14, l3, ulen;
	const uint8_t *ip;
	int v6;

	if (len < 14)
		return FP_CSUM_MALFORMED;
	if (f[12] == 0x81 && f[13] == 0x00)
		l2 = 18;
	if (len < l2 + 20 + 8)
		return FP_CSUM_MALFORMED;
	v6 = f[l2 - 2] == 0x86 && f[l2 - 1] == 0xdd;
	ip = f + l2;
	if (v6) {
		l3 = 40;
		if (len < l2 + l3 + 8 || (size_t)(ip[4] << 8 | ip[5]) != len - l2 - l3 ||
		    ip[6] != IPPROTO_UDP)
			return FP_CSUM_MALFORMED;
	} else {
		l3 = (ip[0] & 0xf) * 4;
		if (l3 < 20 || len < l2 + l3 + 8 || (size_t)(ip[2] << 8 | ip[3]) != len - l2 ||
		    ip[9] != IPPROTO_UDP)
			return FP_CSUM_MALFORMED;
		if (fp_fold(fp_sum16(ip, l3, 0)) != 0)
			return FP_CSUM_BAD;
	}
	ulen = ip[l3 + 4] << 8 | ip[l3 + 5];
	if (ulen != len - l2 - l3)
		return FP_CSUM_MALFORMED;
	if (!v6 && ip[l3 + 6] == 0 && ip[l3 + 7] == 0)
		return FP_CSUM_NONE;
	return fp_csum_udp(v6, ip, ip + l3, ulen) == 0 ? FP_CSUM_OK : FP_CSUM_BAD;
}

#endif
