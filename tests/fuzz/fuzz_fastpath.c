// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the XDP program's parsers and rewrite: every input is
 * an Ethernet frame run through BPF_PROG_TEST_RUN (root needed), in a
 * private network namespace where the fib lookups succeed (fp_test.h), with
 * flows of every kind installed (v4, v6, bridging, ChannelData in and out,
 * consent off, XDP_TX). Properties:
 *   - the verdict is PASS, DROP, TX or REDIRECT, never ABORTED;
 *   - a passed or dropped frame comes out byte-identical;
 *   - a forwarded frame has a correct IPv4 header sum and lengths, and its
 *     UDP checksum is exactly as valid as the arriving one was (the update
 *     is incremental: it neither repairs nor breaks a sum), except that an
 *     arriving partial sum (the folded pseudo-header sum a same-host sender
 *     with TX offload leaves) comes out correct (summed in full).
 * The flows carry a resolved next hop, as kernel/fastpath_nh.c writes it.
 * Seeds (corpus/fastpath/) are valid frames for each installed flow, plus
 * STUN in and out of a channel.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icepath/fp_abi.h"
#include "icepath.skel.h"
#include "../fp_test.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct icepath *skel;
static int prog_fd, ifindex_fp0, ifindex_fp2;

static void addr(__u8 *family, __be32 out[4], const char *text)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1) {
		*family = FP_FAMILY_V4;
		return;
	}
	if (inet_pton(AF_INET6, text, out) != 1)
		abort();
	*family = FP_FAMILY_V6;
}

/* 16-bit words as they lie in memory (RFC 1071), complemented when inv:
 * the flow's checksum parts as kernel/fastpath_flow.c sums them at install
 * (written again here: the harness installs raw values, without kernel/). */
static __u32 msum(const void *buf, size_t n, int inv)
{
	const __u8 *b = buf;
	__u32 s = 0;
	__u16 w;

	for (size_t i = 0; i + 1 < n; i += 2) {
		memcpy(&w, b + i, 2);
		s += inv ? (__u16)~w : w;
	}
	return s;
}

/* The ports array's entry of a flow, as kernel/fastpath_port.c keeps it:
 * the flow's slot and its copy in flow_hot on a relay address and port of
 * its own, no copy (0) on one that carries several flows; the address gets
 * the next free slot of port_addrs (set up for 30000-40000 after load). */
static void port_copy(const struct fp_flow_key *k, const struct fp_flow_val *v)
{
	__u32 a = k->local_addr[0] ^ k->local_addr[1] ^ k->local_addr[2] ^ k->local_addr[3];
	int fd = bpf_map__fd(skel->maps.ports), afd = bpf_map__fd(skel->maps.port_addrs);
	int nfd = bpf_map__fd(skel->maps.port_nflows), hfd = bpf_map__fd(skel->maps.flow_hot);
	struct fp_port_addrs pa;
	struct fp_flow_hot h;
	__u32 zero = 0, slot, idx, n, ent;

	if (bpf_map_lookup_elem(afd, &zero, &pa))
		abort();
	for (slot = 0; slot < FP_PORT_ADDRS; slot++)
		if (!pa.a[slot].family ||
		    (pa.a[slot].family == k->family && pa.a[slot].local_addr == a))
			break;
	if (slot == FP_PORT_ADDRS)
		return; /* found in flows */
	pa.a[slot].family = k->family;
	pa.a[slot].local_addr = a;
	if (bpf_map_update_elem(afd, &zero, &pa, BPF_ANY))
		abort();
	idx = slot * pa.nports + ntohs(k->local_port) - pa.port_min;
	if (bpf_map_lookup_elem(nfd, &idx, &n))
		abort();
	/* nothing runs the program meanwhile: one write each, seq stays even */
	ent = 0;
	if (!n) {
		memset(&h, 0, sizeof(h));
		h.key = *k;
		memcpy(h.val, v, FP_FLOW_HOT);
		if (bpf_map_update_elem(hfd, &v->slot, &h, BPF_ANY))
			abort();
		ent = v->slot + 1;
	}
	n++;
	if (bpf_map_update_elem(nfd, &idx, &n, BPF_ANY) ||
	    bpf_map_update_elem(fd, &idx, &ent, BPF_ANY)) {
		perror("fuzz_fastpath: port copy");
		abort();
	}
}

static void flow(const char *local, int lport, const char *remote, int rport, int in_ch,
		 const char *src, int sport, const char *dst, int dport, int out_ch, __u32 flags)
{
	struct fp_flow_key k = {0};
	struct fp_flow_val v = {0};
	static struct fp_flow_ctr zero[1024]; /* one per possible CPU (per-CPU map) */
	static __u32 next_slot;
	__u8 fam;

	addr(&k.family, k.local_addr, local);
	addr(&fam, k.remote_addr, remote);
	k.local_port = htons(lport);
	k.remote_port = htons(rport);
	k.channel = htons(in_ch);
	addr(&v.family, v.src_addr, src);
	addr(&fam, v.dst_addr, dst);
	v.src_port = htons(sport);
	v.dst_port = htons(dport);
	v.channel = htons(out_ch);
	v.flags = flags;
	/* The next hop as the resolver finds it in fp_test.h's network. */
	v.nh = strcmp(dst, "198.51.100.99") ? FP_NH_READY : FP_NH_NO_NEIGH;
	v.nh_flags = FP_NH_XMIT_OK;
	v.deadline = FP_DEADLINE_NEVER;
	v.mtu = 1500;
	v.ifindex = strcmp(dst, "192.0.2.11") ? ifindex_fp2 : ifindex_fp0;
	memcpy(v.smac, strcmp(dst, "192.0.2.11") ? "\x02\0\0\0\0\x03" : "\x02\0\0\0\0\x01", 6);
	memcpy(v.dmac, "\x02\0\0\0\0\x20", 6);
	memcpy(v.nh_addr, v.dst_addr, 16);
	v.slot = next_slot++; /* counters of its own, as fastpath_slot.c does */
	v.csum_in = msum(k.remote_addr, 16, 0) + msum(k.local_addr, 16, 0) + htons(IPPROTO_UDP);
	v.csum_udp = msum(k.remote_addr, 16, 1) + msum(k.local_addr, 16, 1) +
		     msum(&k.remote_port, 2, 1) + msum(&k.local_port, 2, 1) + msum(v.src_addr, 16, 0) +
		     msum(v.dst_addr, 16, 0) + msum(&v.src_port, 2, 0) + msum(&v.dst_port, 2, 0);
	if (v.family == FP_FAMILY_V4)
		v.csum_ip4 = htons(0x4000) /* DF */ + msum(v.src_addr, 4, 0) + msum(v.dst_addr, 4, 0);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.flow_ctr), &v.slot, zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &k, &v, BPF_ANY)) {
		perror("fuzz_fastpath: flow install");
		abort();
	}
	port_copy(&k, &v);
}

static const char *const stat_names[] = {
#define FP_STAT(name, str, action, why) [FP_STAT_##name] = str,
#include "icepath/fp_stats.def"
};

/* FUZZ_FASTPATH_STATS=1: print the verdicts at exit, to see which paths
 * the corpus reaches. */
static void print_stats(void)
{
	__u64 v[256];
	__u32 i;
	int j, n = libbpf_num_possible_cpus();

	for (i = 0; i < FP_STAT_COUNT && n > 0 && n <= 256; i++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &i, v))
			continue;
		for (j = 0; j < n; j++)
			sum += v[j];
		fprintf(stderr, "fuzz_fastpath: %-16s %llu\n", stat_names[i],
			(unsigned long long)sum);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const __u32 all = FP_FLOW_FORWARD | FP_FLOW_RTP | FP_FLOW_RTCP;
	__u32 ifi;

	if (getuid() != 0) {
		fprintf(stderr, "fuzz_fastpath: needs root (BPF_PROG_TEST_RUN, netns)\n");
		exit(1);
	}
	if (fp_testnet_setup())
		exit(1);
	skel = icepath__open();
	if (!skel)
		exit(1);
	skel->rodata->port_min = 30000;
	skel->rodata->port_max = 40000;
	if (bpf_map__set_max_entries(skel->maps.ports, FP_PORT_ADDRS * 10001) ||
	    bpf_map__set_max_entries(skel->maps.port_nflows, FP_PORT_ADDRS * 10001) ||
	    icepath__load(skel)) {
		fprintf(stderr, "fuzz_fastpath: cannot load the program\n");
		exit(1);
	}
	{
		struct fp_port_addrs pa = {.port_min = 30000, .nports = 10001};
		__u32 zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.port_addrs), &zero, &pa, BPF_ANY))
			exit(1);
	}
	prog_fd = bpf_program__fd(skel->progs.icepath_xdp);
	ifindex_fp0 = if_nametoindex("fp0");
	ifi = ifindex_fp2 = if_nametoindex("fp2");
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.tx_ports), &ifi, &ifi, BPF_ANY))
		exit(1);
	flow("192.0.2.1", 30000, "192.0.2.10", 5000, 0, "198.51.100.1", 30002, "198.51.100.20",
	     6000, 0, all);
	flow("2001:db8:1::1", 30000, "2001:db8:1::10", 5000, 0, "198.51.100.1", 30002,
	     "198.51.100.20", 6000, 0, all);
	flow("192.0.2.1", 30004, "192.0.2.10", 5000, 0, "2001:db8:2::1", 30006, "2001:db8:2::20",
	     6002, 0, all);
	flow("192.0.2.1", 30018, "192.0.2.50", 3478, 0x4001, "198.51.100.1", 30020, "198.51.100.20",
	     6008, 0, all);
	flow("192.0.2.1", 30022, "192.0.2.10", 5000, 0, "198.51.100.1", 30024, "198.51.100.20",
	     3478, 0x4002, all);
	flow("192.0.2.1", 30016, "192.0.2.10", 5000, 0, "198.51.100.1", 30002, "198.51.100.20",
	     6000, 0, FP_FLOW_RTP | FP_FLOW_RTCP);
	flow("192.0.2.1", 30012, "192.0.2.10", 5000, 0, "192.0.2.1", 30014, "192.0.2.11", 6006, 0,
	     all);
	flow("192.0.2.1", 30026, "192.0.2.10", 5000, 0, "198.51.100.1", 30028, "198.51.100.99",
	     6010, 0, all);
	if (getenv("FUZZ_FASTPATH_STATS"))
		atexit(print_stats);
	return 0;
}

/* The UDP checksum's validity of a frame, the IP header sum aside (the
 * program does not check the arriving one, and writes a fresh one): the
 * frame is cut to its IP length first (Ethernet padding). */
static int udp_validity(const uint8_t *f, size_t len)
{
	uint8_t tmp[2048];
	size_t l2 = f[12] == 0x81 && f[13] == 0x00 ? 18 : 14, iplen;
	int v6;

	if (len < l2 + 20 || len > sizeof(tmp))
		return FP_CSUM_MALFORMED;
	v6 = f[l2 - 2] == 0x86;
	iplen = v6 ? 40 + (f[l2 + 4] << 8 | f[l2 + 5]) : (size_t)(f[l2 + 2] << 8 | f[l2 + 3]);
	if (l2 + iplen > len)
		return FP_CSUM_MALFORMED;
	memcpy(tmp, f, l2 + iplen);
	if (!v6) { /* make the header sum right so only UDP's is judged */
		uint8_t *ip = tmp + l2;
		unsigned l3 = (ip[0] & 0xf) * 4;
		uint16_t c;

		if (l3 < 20 || l3 > iplen)
			return FP_CSUM_MALFORMED;
		ip[10] = ip[11] = 0;
		c = fp_fold(fp_sum16(ip, l3, 0));
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	return fp_frame_csum(tmp, l2 + iplen);
}

/* Does the frame's UDP check field hold the folded pseudo-header sum, as
 * Linux leaves a CHECKSUM_PARTIAL one (~csum_tcpudp_magic())? */
static int udp_partial(const uint8_t *f, size_t len)
{
	size_t l2 = f[12] == 0x81 && f[13] == 0x00 ? 18 : 14, l3;
	const uint8_t *ip = f + l2, *udp;
	uint32_t ps;
	int v6;

	if (len < l2 + 20 + 8)
		return 0;
	v6 = f[l2 - 2] == 0x86;
	l3 = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4;
	if (l3 < 20 || len < l2 + l3 + 8)
		return 0;
	udp = ip + l3;
	ps = (v6 ? fp_sum16(ip + 8, 32, 0) : fp_sum16(ip + 12, 8, 0)) + IPPROTO_UDP +
	     (uint32_t)(udp[4] << 8 | udp[5]);
	return (udp[6] << 8 | udp[7]) == (uint16_t)~fp_fold(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[2048];
	uint32_t out_len = 0, action = 0;
	int in_valid, out_valid;

	/* test_run wants a whole Ethernet header; a native XDP frame is
	 * at most an MTU-sized packet here. */
	if (size < 14 || size > 1518)
		return -1;
	if (fp_xdp_run(prog_fd, ifindex_fp0, data, size, out, sizeof(out), &out_len, &action)) {
		perror("fuzz_fastpath: test_run");
		abort();
	}
	switch (action) {
	case XDP_PASS:
	case XDP_DROP:
		if (out_len != size || memcmp(out, data, size))
			abort(); /* a frame not forwarded was modified */
		return 0;
	case XDP_TX:
	case XDP_REDIRECT:
		break;
	default:
		abort(); /* ABORTED or unknown */
	}
	out_valid = fp_frame_csum(out, out_len);
	in_valid = udp_validity(data, size);
	if (out_valid == FP_CSUM_MALFORMED || in_valid == FP_CSUM_MALFORMED)
		abort();
	/* IPv4 header sum is fresh, so BAD can only be UDP's. */
	if (udp_partial(data, size) ? out_valid != FP_CSUM_OK : out_valid != in_valid)
		abort();
	return 0;
}
