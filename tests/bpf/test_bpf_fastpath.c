// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP fast path through BPF_PROG_TEST_RUN, katran-style: a fixture
 * table {description, input frame, expected output frame, expected XDP
 * action, expected verdict stat}. Every output frame's IPv4 header and UDP
 * checksums are re-computed here from scratch (csum_full), independently of
 * the program's incremental update; a passed frame must be byte-identical
 * to the input; exactly one verdict counter moves per packet; per-flow
 * counters add up to the forwarded fixtures.
 *
 * Routing: the next hop of every flow is resolved in userspace at install
 * (kernel/fastpath_nh.c, libnl caches of the caller's network namespace)
 * and kept in the flow. So the test unshares a private netns and builds a
 * real one there (fp_test.h: two veth pairs, addresses, forwarding OFF,
 * permanent neighbours): resolution happens for real, nothing is faked in
 * the program, and the neighbour-less destination really gets NO_NEIGH
 * until a neighbour appears (neighbour_change). The netns dies with the
 * process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "icepath/fastpath.h"
#include "icepath/fp_abi.h"
#include "../fp_test.h"

/* The fixture table is positional up to the expected output, which passed
 * packets leave out: zero is what they mean. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- the test network (private netns) ----------------------------------- */
/* fp0 (192.0.2.1/24, 2001:db8:1::1/64): the leg packets arrive on.
 * fp2 (198.51.100.1/24, 2001:db8:2::1/64): the other leg. */
static const uint8_t MAC_FP0[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_FP2[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t MAC_PEER_A[6] = {0x02, 0, 0, 0, 0, 0x10}; /* sender, on fp0 */
static const uint8_t MAC_NH_V4[6] = {0x02, 0, 0, 0, 0, 0x20};  /* 198.51.100.20 */
static const uint8_t MAC_NH_V6[6] = {0x02, 0, 0, 0, 0, 0x21};  /* 2001:db8:2::20 */
static const uint8_t MAC_NH_TX[6] = {0x02, 0, 0, 0, 0, 0x11};  /* 192.0.2.11 on fp0 */

struct env {
	struct fastpath *fp;
	char pin[128];
	int prog_fd;
	int if_fp0, if_fp2;
};
static struct env E;

/* ---- flows --------------------------------------------------------------- */
enum {
	FL_V4,	    /* v4 -> v4, redirect to fp2 */
	FL_V6,	    /* v6 -> v6 */
	FL_V4V6,    /* v4 -> v6 */
	FL_V6V4,    /* v6 -> v4 */
	FL_TX,	    /* v4 -> v4 out of the ingress interface */
	FL_NOCONS,  /* consent lost */
	FL_CD_IN,   /* arrives in TURN channel 0x4001 from 192.0.2.50:3478 */
	FL_CD_OUT,  /* leaves in channel 0x4002 toward 198.51.100.20:3478 */
	FL_NONEIGH, /* next hop without neighbour entry */
	FL_RTPONLY, /* RTCP not fast-pathed */
	FL_CD_BOTH, /* channel in, channel out */
	FL_SHARE_A, /* two remotes on one relay port (the ports map's shared entry) */
	FL_SHARE_B,
	FL_CD_IN2,  /* a second channel on FL_CD_IN's relay port */
	FL_COUNT,
	FL_NONE = -1,
};

struct flow_spec {
	const char *local, *remote;
	uint16_t in_ch;
	const char *src, *dst;
	uint16_t out_ch;
	uint32_t flags;
};

#define ALL (FASTPATH_FLOW_FORWARD | FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP)
/* Tables: one entry per block reads better than reflowed. */
/* clang-format off */
static const struct flow_spec flows[FL_COUNT] = {
	[FL_V4] = { "192.0.2.1:30000", "192.0.2.10:5000", 0, "198.51.100.1:30002",
		    "198.51.100.20:6000", 0, ALL },
	[FL_V6] = { "[2001:db8:1::1]:30000", "[2001:db8:1::10]:5000", 0, "[2001:db8:2::1]:30002",
		    "[2001:db8:2::20]:6000", 0, ALL },
	[FL_V4V6] = { "192.0.2.1:30004", "192.0.2.10:5000", 0, "[2001:db8:2::1]:30006",
		      "[2001:db8:2::20]:6002", 0, ALL },
	[FL_V6V4] = { "[2001:db8:1::1]:30008", "[2001:db8:1::10]:5000", 0, "198.51.100.1:30010",
		      "198.51.100.20:6004", 0, ALL },
	[FL_TX] = { "192.0.2.1:30012", "192.0.2.10:5000", 0, "192.0.2.1:30014", "192.0.2.11:6006",
		    0, ALL },
	[FL_NOCONS] = { "192.0.2.1:30016", "192.0.2.10:5000", 0, "198.51.100.1:30002",
			"198.51.100.20:6000", 0, FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP },
	[FL_CD_IN] = { "192.0.2.1:30018", "192.0.2.50:3478", 0x4001, "198.51.100.1:30020",
		       "198.51.100.20:6008", 0, ALL },
	[FL_CD_OUT] = { "192.0.2.1:30022", "192.0.2.10:5000", 0, "198.51.100.1:30024",
			"198.51.100.20:3478", 0x4002, ALL },
	[FL_NONEIGH] = { "192.0.2.1:30026", "192.0.2.10:5000", 0, "198.51.100.1:30028",
			 "198.51.100.99:6010", 0, ALL },
	[FL_RTPONLY] = { "192.0.2.1:30030", "192.0.2.10:5000", 0, "198.51.100.1:30032",
			 "198.51.100.20:6012", 0, FASTPATH_FLOW_FORWARD | FASTPATH_FLOW_RTP },
	[FL_CD_BOTH] = { "192.0.2.1:30034", "192.0.2.50:3478", 0x4003, "198.51.100.1:30036",
			 "198.51.100.20:3478", 0x4004, ALL },
	[FL_SHARE_A] = { "192.0.2.1:30040", "192.0.2.10:5000", 0, "198.51.100.1:30042",
			 "198.51.100.20:6014", 0, ALL },
	[FL_SHARE_B] = { "192.0.2.1:30040", "192.0.2.12:5002", 0, "198.51.100.1:30044",
			 "198.51.100.20:6016", 0, ALL },
	[FL_CD_IN2] = { "192.0.2.1:30018", "192.0.2.50:3478", 0x4005, "198.51.100.1:30046",
			"198.51.100.20:6018", 0, ALL },
};
/* clang-format on */

static void flow_from_spec(struct fastpath_flow *f, const struct flow_spec *s, uint64_t id)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(netaddr_parse(&f->local, s->local, -1), 0);
	assert_int_equal(netaddr_parse(&f->remote, s->remote, -1), 0);
	assert_int_equal(netaddr_parse(&f->out_src, s->src, -1), 0);
	assert_int_equal(netaddr_parse(&f->out_dst, s->dst, -1), 0);
	f->in_channel = s->in_ch;
	f->out_channel = s->out_ch;
	f->flags = s->flags;
	f->id = id;
	/* The deadline has tests of its own (deadline_rules). */
	f->lifetime_ms = FASTPATH_LIFETIME_FOREVER;
}

/* ---- frames -------------------------------------------------------------- */
enum payload_kind {
	PL_RTP,
	PL_RTCP,
	PL_RTCP_SR, /* PT 200: RTP's marker + PT 72 on a muxed port, RTCP (RFC 5761 §4) */
	PL_RTP_M96, /* marker + PT 96 (second byte 224): just past RTCP's range, RTP */
	PL_STUN,
	PL_DTLS,
	PL_ZRTP,
	PL_UNKNOWN,
	PL_EMPTY
};

struct pktspec {
	int vlan;	       /* 802.1Q tag 100 */
	const char *src, *dst; /* "ip:port", both of one family */
	enum payload_kind kind;
	unsigned plen;	      /* payload bytes (RTP: header included) */
	uint16_t channel;     /* wrap the payload in ChannelData */
	unsigned cd_pad;      /* ChannelData padding bytes */
	unsigned ip_opts;     /* IPv4 option bytes (multiple of 4) */
	int csum_zero;	      /* IPv4: UDP checksum 0 */
	int csum_partial;     /* UDP checksum as a same-host sender with TX offload leaves
			       * it on a veth: the folded pseudo-header sum only */
	unsigned eth_trailer; /* bytes of Ethernet padding after IP */
	uint8_t ttl, tos;
	uint16_t ip_id;
	int df;
	const uint8_t *smac, *dmac;
};

static void fill_payload(uint8_t *p, enum payload_kind k, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	if (n == 0)
		return;
	switch (k) {
	case PL_RTP: /* RFC 3550 §5.1: V=2, PT 0, seq 0x1234 */
		p[0] = 0x80;
		if (n > 1)
			p[1] = 0x00;
		if (n > 3) {
			p[2] = 0x12;
			p[3] = 0x34;
		}
		break;
	case PL_RTCP: /* RFC 3550 §6.4.2: V=2, PT 201 (RR) */
		p[0] = 0x80;
		if (n > 1)
			p[1] = 201;
		break;
	case PL_RTCP_SR: /* RFC 3550 §6.4.1: V=2, RC=1, PT 200 (SR) */
		p[0] = 0x81;
		if (n > 1)
			p[1] = 200;
		break;
	case PL_RTP_M96: /* RFC 3550 §5.1: V=2, M=1, PT 96 */
		p[0] = 0x80;
		if (n > 1)
			p[1] = 0x80 | 96;
		break;
	case PL_STUN: /* RFC 8489 §5: Binding request, magic cookie */
		p[0] = 0x00;
		if (n > 1)
			p[1] = 0x01;
		if (n > 7) {
			p[4] = 0x21;
			p[5] = 0x12;
			p[6] = 0xa4;
			p[7] = 0x42;
		}
		break;
	case PL_DTLS:
		p[0] = 22; /* handshake */
		break;
	case PL_ZRTP:
		p[0] = 0x10;
		break;
	case PL_UNKNOWN:
		p[0] = 0xff;
		break;
	case PL_EMPTY:
		break;
	}
}

/* Build a frame from spec: returns its length. Checksums are computed in
 * full, the honest way, for input and expected output alike. */
static size_t build(uint8_t *f, size_t cap, const struct pktspec *s)
{
	struct netaddr src, dst;
	uint8_t *ip, *udp, *pl;
	unsigned l2 = s->vlan ? 18 : 14, l3, ulen, i;
	int v6;
	uint16_t c;

	assert_int_equal(netaddr_parse(&src, s->src, -1), 0);
	assert_int_equal(netaddr_parse(&dst, s->dst, -1), 0);
	v6 = netaddr_family(&src) == AF_INET6;
	l3 = v6 ? 40 : 20 + s->ip_opts;
	ulen = 8 + (s->channel ? 4 + s->cd_pad : 0) + s->plen;
	assert_true(l2 + l3 + ulen + s->eth_trailer <= cap);
	memset(f, 0, l2 + l3 + ulen + s->eth_trailer);

	memcpy(f, s->dmac ? s->dmac : MAC_FP0, 6);
	memcpy(f + 6, s->smac ? s->smac : MAC_PEER_A, 6);
	if (s->vlan) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = 0x00;
		f[15] = 100;
	}
	f[l2 - 2] = v6 ? 0x86 : 0x08;
	f[l2 - 1] = v6 ? 0xdd : 0x00;

	ip = f + l2;
	if (v6) {
		ip[0] = 0x60 | s->tos >> 4;
		ip[1] = (uint8_t)(s->tos << 4);
		ip[4] = ulen >> 8;
		ip[5] = ulen & 0xff;
		ip[6] = IPPROTO_UDP;
		ip[7] = s->ttl ? s->ttl : 63;
		memcpy(ip + 8, &src.in6.sin6_addr, 16);
		memcpy(ip + 24, &dst.in6.sin6_addr, 16);
	} else {
		ip[0] = 0x40 | (l3 / 4);
		ip[1] = s->tos;
		ip[2] = (l3 + ulen) >> 8;
		ip[3] = (l3 + ulen) & 0xff;
		ip[4] = s->ip_id >> 8;
		ip[5] = s->ip_id & 0xff;
		ip[6] = s->df ? 0x40 : 0;
		ip[8] = s->ttl ? s->ttl : 63;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, &src.in.sin_addr, 4);
		memcpy(ip + 16, &dst.in.sin_addr, 4);
		for (i = 20; i < l3; i++)
			ip[i] = 1; /* NOP options (RFC 791) */
		c = fp_fold(fp_sum16(ip, l3, 0));
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	udp = ip + l3;
	udp[0] = netaddr_port(&src) >> 8;
	udp[1] = netaddr_port(&src) & 0xff;
	udp[2] = netaddr_port(&dst) >> 8;
	udp[3] = netaddr_port(&dst) & 0xff;
	udp[4] = ulen >> 8;
	udp[5] = ulen & 0xff;
	pl = udp + 8;
	if (s->channel) {
		pl[0] = s->channel >> 8;
		pl[1] = s->channel & 0xff;
		pl[2] = s->plen >> 8;
		pl[3] = s->plen & 0xff;
		pl += 4;
	}
	fill_payload(pl, s->kind, s->plen);
	for (i = 0; i < s->cd_pad; i++)
		pl[s->plen + i] = 0xa0 + i; /* non-zero: they must leave the sum */
	if (s->csum_partial) {
		/* Linux udp_set_csum() for CHECKSUM_PARTIAL: ~csum_tcpudp_magic(). */
		uint32_t ps = v6 ? fp_sum16(ip + 8, 32, 0) : fp_sum16(ip + 12, 8, 0);

		c = (uint16_t)~fp_fold(ps + IPPROTO_UDP + ulen);
		udp[6] = c >> 8;
		udp[7] = c & 0xff;
	} else if (!s->csum_zero) {
		c = fp_csum_udp(v6, ip, udp, ulen); /* over a zero check field */
		if (c == 0)
			c = 0xffff;
		udp[6] = c >> 8;
		udp[7] = c & 0xff;
	}
	for (i = 0; i < s->eth_trailer; i++)
		udp[ulen + i] = 0xee;
	return l2 + l3 + ulen + s->eth_trailer;
}

/* Independent check of an output frame: IPv4 header sum, lengths, UDP
 * sum, all recomputed in full (fp_test.h). */
static void verify_checksums(const uint8_t *f, size_t len, int csum_zero)
{
	assert_int_equal(fp_frame_csum(f, len), csum_zero ? FP_CSUM_NONE : FP_CSUM_OK);
}

/* ---- fixtures ------------------------------------------------------------ */
enum mutate {
	MUT_NONE,
	MUT_TRUNC,	/* cut the frame to trunc bytes */
	MUT_V4_MF,	/* more-fragments flag */
	MUT_V4_OFFSET,	/* fragment offset 8 */
	MUT_V6_FRAG,	/* next header 44 */
	MUT_V6_HBH,	/* next header 0 (hop-by-hop) */
	MUT_TCP,	/* protocol 6 */
	MUT_ARP,	/* ethertype 0x0806 */
	MUT_ULEN_BIG,	/* UDP length + 1 */
	MUT_ULEN_SMALL, /* UDP length - 1 */
	MUT_ULEN_TINY,	/* UDP length 4 */
	MUT_CDLEN_BIG,	/* ChannelData length beyond the datagram */
	MUT_IHL_SMALL,	/* IHL 4 */
};

struct fixture {
	const char *desc;
	struct pktspec in;
	int ifidx_fp2; /* arrives on fp2 instead of fp0 */
	enum mutate mut;
	unsigned trunc;
	int action;
	int stat;
	int flow;	    /* flow counted, FL_NONE when no forward */
	struct pktspec out; /* expected output when forwarded */
};

#define V4A	       "192.0.2.10:5000"
#define V4L	       "192.0.2.1:30000"
#define V6A	       "[2001:db8:1::10]:5000"
#define V6L	       "[2001:db8:1::1]:30000"
#define RTP(n)	       .kind = PL_RTP, .plen = (n)
/* Arriving frames carry TTL/hop limit 63 unless said otherwise; the relay
 * decrements it (issue 9: a loop between relays must die). */
#define FWD_V4(s_, d_) .src = s_, .dst = d_, .smac = MAC_FP2, .dmac = MAC_NH_V4, .ttl = 62, .df = 1
#define FWD_V6(s_, d_) .src = s_, .dst = d_, .smac = MAC_FP2, .dmac = MAC_NH_V6, .ttl = 62

/* Tables: one entry per block reads better than reflowed. */
/* clang-format off */
static const struct fixture fixtures[] = {
	{ "IPv4 RTP, forwarded to the other leg (redirect)",
	  { .src = V4A, .dst = V4L, RTP(172), .ip_id = 0x1111 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(172), .ip_id = 0x1111 } },
	{ "IPv4 RTCP, forwarded, DSCP EF kept",
	  { .src = V4A, .dst = V4L, .kind = PL_RTCP, .plen = 32, .tos = 0xb8 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), .kind = PL_RTCP, .plen = 32,
	    .tos = 0xb8 } },
	{ "rtcp-mux: RTCP SR (PT 200) on the RTP port, forwarded and counted as RTCP",
	  { .src = V4A, .dst = V4L, .kind = PL_RTCP_SR, .plen = 52 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), .kind = PL_RTCP_SR, .plen = 52 } },
	{ "rtcp-mux: RTP with marker and PT 96 (224, past RTCP's 192-223) counted as RTP",
	  { .src = V4A, .dst = V4L, .kind = PL_RTP_M96, .plen = 40 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), .kind = PL_RTP_M96, .plen = 40 } },
	{ "IPv6 RTP, forwarded",
	  { .src = V6A, .dst = V6L, RTP(160), .tos = 0xb8 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V6,
	  { FWD_V6("[2001:db8:2::1]:30002", "[2001:db8:2::20]:6000"), RTP(160), .tos = 0xb8 } },
	{ "IPv4 -> IPv6 bridging",
	  { .src = V4A, .dst = "192.0.2.1:30004", RTP(161), .tos = 0x2e << 2 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4V6,
	  { FWD_V6("[2001:db8:2::1]:30006", "[2001:db8:2::20]:6002"), RTP(161), .tos = 0x2e << 2 } },
	{ "IPv6 -> IPv4 bridging",
	  { .src = V6A, .dst = "[2001:db8:1::1]:30008", RTP(163) }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V6V4,
	  { FWD_V4("198.51.100.1:30010", "198.51.100.20:6004"), RTP(163) } },
	{ "802.1Q-tagged IPv4 RTP, forwarded untagged",
	  { .vlan = 1, .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(100) } },
	{ "IPv4 with 8 bytes of options: parsed over, not forwarded",
	  { .src = V4A, .dst = V4L, RTP(60), .ip_opts = 8 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(60) } },
	{ "short RTCP in a 60-byte frame: Ethernet padding trimmed",
	  { .src = V4A, .dst = V4L, .kind = PL_RTCP, .plen = 8, .eth_trailer = 10 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), .kind = PL_RTCP, .plen = 8 } },
	{ "IPv4 UDP without checksum stays without one toward IPv4",
	  { .src = V4A, .dst = V4L, RTP(40), .csum_zero = 1 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(40), .csum_zero = 1 } },
	{ "odd-length RTP (checksum over a trailing odd byte)",
	  { .src = V4A, .dst = V4L, RTP(171) }, 0, MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT,
	  FL_V4, { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(171) } },
	{ "out of the ingress interface: XDP_TX",
	  { .src = V4A, .dst = "192.0.2.1:30012", RTP(80) }, 0, MUT_NONE, 0, XDP_TX, FP_STAT_TX,
	  FL_TX,
	  { .src = "192.0.2.1:30014", .dst = "192.0.2.11:6006", .smac = MAC_FP0, .dmac = MAC_NH_TX,
	    .ttl = 62, .df = 1, RTP(80) } },
	{ "ChannelData in: header stripped",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(120), .channel = 0x4001 }, 0,
	  MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_IN,
	  { FWD_V4("198.51.100.1:30020", "198.51.100.20:6008"), RTP(120) } },
	{ "ChannelData in on a second channel of the same relay port: its own leg",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(120), .channel = 0x4005 }, 0,
	  MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_IN2,
	  { FWD_V4("198.51.100.1:30046", "198.51.100.20:6018"), RTP(120) } },
	{ "ChannelData in with 3 padding bytes: stripped, padding out of the sum",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(121), .channel = 0x4001,
	    .cd_pad = 3 }, 0, MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_IN,
	  { FWD_V4("198.51.100.1:30020", "198.51.100.20:6008"), RTP(121) } },
	{ "ChannelData in with 2 padding bytes",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(122), .channel = 0x4001,
	    .cd_pad = 2 }, 0, MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_IN,
	  { FWD_V4("198.51.100.1:30020", "198.51.100.20:6008"), RTP(122) } },
	{ "ChannelData in with 1 padding byte",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(123), .channel = 0x4001,
	    .cd_pad = 1 }, 0, MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_IN,
	  { FWD_V4("198.51.100.1:30020", "198.51.100.20:6008"), RTP(123) } },
	{ "ChannelData out: wrapped toward the TURN server",
	  { .src = V4A, .dst = "192.0.2.1:30022", RTP(99) }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_CD_OUT,
	  { FWD_V4("198.51.100.1:30024", "198.51.100.20:3478"), RTP(99), .channel = 0x4002 } },
	{ "ChannelData in and out (TURN on both legs)",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30034", RTP(64), .channel = 0x4003 }, 0,
	  MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_BOTH,
	  { FWD_V4("198.51.100.1:30036", "198.51.100.20:3478"), RTP(64), .channel = 0x4004 } },
	{ "STUN inside ChannelData goes to the agent",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", .kind = PL_STUN, .plen = 28,
	    .channel = 0x4001 }, 0, MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_STUN, FL_NONE },
	{ "STUN on a forwarded flow goes to the agent",
	  { .src = V4A, .dst = V4L, .kind = PL_STUN, .plen = 20 }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_STUN, FL_NONE },
	{ "IPv6 STUN", { .src = V6A, .dst = V6L, .kind = PL_STUN, .plen = 48 }, 0, MUT_NONE, 0,
	  XDP_PASS, FP_STAT_PASS_STUN, FL_NONE },
	{ "DTLS", { .src = V4A, .dst = V4L, .kind = PL_DTLS, .plen = 90 }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_DTLS, FL_NONE },
	{ "ZRTP", { .src = V4A, .dst = V4L, .kind = PL_ZRTP, .plen = 90 }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_ZRTP, FL_NONE },
	{ "unknown first byte", { .src = V4A, .dst = V4L, .kind = PL_UNKNOWN, .plen = 90 }, 0,
	  MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_UNKNOWN, FL_NONE },
	{ "zero-length payload", { .src = V4A, .dst = V4L, .kind = PL_EMPTY, .plen = 0 }, 0,
	  MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_UNKNOWN, FL_NONE },
	{ "RTP shorter than its fixed header", { .src = V4A, .dst = V4L, RTP(11) }, 0, MUT_NONE, 0,
	  XDP_PASS, FP_STAT_PASS_UNKNOWN, FL_NONE },
	{ "destination port outside the media range",
	  { .src = V4A, .dst = "192.0.2.1:20000", RTP(100) }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_PORT, FL_NONE },
	{ "no flow for this remote", { .src = "192.0.2.10:5001", .dst = V4L, RTP(100) }, 0,
	  MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_NO_FLOW, FL_NONE },
	{ "relay port with two flows: the first remote's, to its leg",
	  { .src = V4A, .dst = "192.0.2.1:30040", RTP(100) }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_SHARE_A,
	  { FWD_V4("198.51.100.1:30042", "198.51.100.20:6014"), RTP(100) } },
	{ "relay port with two flows: the second remote's, to its own leg",
	  { .src = "192.0.2.12:5002", .dst = "192.0.2.1:30040", RTP(100) }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_SHARE_B,
	  { FWD_V4("198.51.100.1:30044", "198.51.100.20:6016"), RTP(100) } },
	{ "relay port with two flows: a third remote has none",
	  { .src = "192.0.2.13:5002", .dst = "192.0.2.1:30040", RTP(100) }, 0, MUT_NONE, 0,
	  XDP_PASS, FP_STAT_PASS_NO_FLOW, FL_NONE },
	{ "IPv4 relay address of another flow's port: no flow",
	  { .src = V4A, .dst = "192.0.2.2:30000", RTP(100) }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_NO_FLOW, FL_NONE },
	{ "consent lost: dropped, never to the stack",
	  { .src = V4A, .dst = "192.0.2.1:30016", RTP(100) }, 0, MUT_NONE, 0, XDP_DROP,
	  FP_STAT_DROP_CONSENT, FL_NONE },
	{ "next hop without neighbour: passed untouched",
	  { .src = V4A, .dst = "192.0.2.1:30026", RTP(100) }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_NO_NEIGH, FL_NONE },
	{ "RTCP of a flow that fast-paths RTP only",
	  { .src = V4A, .dst = "192.0.2.1:30030", .kind = PL_RTCP, .plen = 32 }, 0, MUT_NONE, 0,
	  XDP_PASS, FP_STAT_PASS_CLASS, FL_NONE },
	{ "IPv4 without UDP checksum toward IPv6: userspace sums it",
	  { .src = V4A, .dst = "192.0.2.1:30004", RTP(100), .csum_zero = 1 }, 0, MUT_NONE, 0,
	  XDP_PASS, FP_STAT_PASS_CSUM_ZERO, FL_NONE },
	{ "IPv4 fragment (MF)", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_V4_MF, 0, XDP_PASS,
	  FP_STAT_PASS_FRAG, FL_NONE },
	{ "IPv4 fragment (offset)", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_V4_OFFSET, 0,
	  XDP_PASS, FP_STAT_PASS_FRAG, FL_NONE },
	{ "IPv6 fragment header", { .src = V6A, .dst = V6L, RTP(100) }, 0, MUT_V6_FRAG, 0,
	  XDP_PASS, FP_STAT_PASS_FRAG, FL_NONE },
	{ "IPv6 hop-by-hop header", { .src = V6A, .dst = V6L, RTP(100) }, 0, MUT_V6_HBH, 0,
	  XDP_PASS, FP_STAT_PASS_V6_EXT, FL_NONE },
	{ "TCP", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_TCP, 0, XDP_PASS,
	  FP_STAT_PASS_NOT_UDP, FL_NONE },
	{ "ARP", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_ARP, 0, XDP_PASS, FP_STAT_PASS_NOT_IP,
	  FL_NONE },
	{ "UDP length longer than IP's", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_ULEN_BIG, 0,
	  XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "UDP length shorter than IP's", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_ULEN_SMALL,
	  0, XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "UDP length below the header", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_ULEN_TINY, 0,
	  XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "IPv6 UDP length lies", { .src = V6A, .dst = V6L, RTP(100) }, 0, MUT_ULEN_BIG, 0,
	  XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "IPv4 IHL below 5", { .src = V4A, .dst = V4L, RTP(100) }, 0, MUT_IHL_SMALL, 0, XDP_PASS,
	  FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "ChannelData length beyond the datagram",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(100), .channel = 0x4001 }, 0,
	  MUT_CDLEN_BIG, 0, XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
	{ "TTL 2: forwarded with TTL 1",
	  { .src = V4A, .dst = V4L, RTP(100), .ttl = 2 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { .src = "198.51.100.1:30002", .dst = "198.51.100.20:6000", .smac = MAC_FP2,
	    .dmac = MAC_NH_V4, .ttl = 1, .df = 1, RTP(100) } },
	{ "TTL 1 would expire: passed to the stack untouched",
	  { .src = V4A, .dst = V4L, RTP(100), .ttl = 1 }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_TTL, FL_NONE },
	{ "IPv6 hop limit 1 would expire: passed",
	  { .src = V6A, .dst = V6L, RTP(100), .ttl = 1 }, 0, MUT_NONE, 0, XDP_PASS,
	  FP_STAT_PASS_TTL, FL_NONE },
	{ "IPv4 -> IPv6: hop limit is the TTL less one",
	  { .src = V4A, .dst = "192.0.2.1:30004", RTP(60), .ttl = 9 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_V4V6,
	  { .src = "[2001:db8:2::1]:30006", .dst = "[2001:db8:2::20]:6002", .smac = MAC_FP2,
	    .dmac = MAC_NH_V6, .ttl = 8, RTP(60) } },
	{ "rewritten packet longer than the egress MTU (cached 1500): passed",
	  { .src = V4A, .dst = V4L, RTP(1473) }, 0, MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_MTU,
	  FL_NONE },
	{ "exactly the egress MTU: forwarded",
	  { .src = V4A, .dst = V4L, RTP(1472) }, 0, MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT,
	  FL_V4, { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(1472) } },
	{ "partial UDP checksum (same-host sender, TX offload): summed in full",
	  { .src = V4A, .dst = V4L, RTP(172), .csum_partial = 1 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(172) } },
	{ "partial checksum, odd length, 1400 bytes (every chunk size)",
	  { .src = V4A, .dst = V4L, RTP(1401), .csum_partial = 1 }, 0, MUT_NONE, 0, XDP_REDIRECT,
	  FP_STAT_REDIRECT, FL_V4,
	  { FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(1401) } },
	{ "partial IPv6 checksum toward IPv4",
	  { .src = V6A, .dst = "[2001:db8:1::1]:30008", RTP(163), .csum_partial = 1 }, 0,
	  MUT_NONE, 0, XDP_REDIRECT, FP_STAT_REDIRECT, FL_V6V4,
	  { FWD_V4("198.51.100.1:30010", "198.51.100.20:6004"), RTP(163) } },
	{ "partial checksum wrapped into ChannelData",
	  { .src = V4A, .dst = "192.0.2.1:30022", RTP(99), .csum_partial = 1 }, 0, MUT_NONE, 0,
	  XDP_REDIRECT, FP_STAT_REDIRECT, FL_CD_OUT,
	  { FWD_V4("198.51.100.1:30024", "198.51.100.20:3478"), RTP(99), .channel = 0x4002 } },
	{ "partial checksum out of the ingress interface (XDP_TX)",
	  { .src = V4A, .dst = "192.0.2.1:30012", RTP(81), .csum_partial = 1 }, 0, MUT_NONE, 0,
	  XDP_TX, FP_STAT_TX, FL_TX,
	  { .src = "192.0.2.1:30014", .dst = "192.0.2.11:6006", .smac = MAC_FP0, .dmac = MAC_NH_TX,
	    .ttl = 62, .df = 1, RTP(81) } },
	{ "ChannelData with 4 padding bytes (more than RFC 8656 §12.5 allows)",
	  { .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(100), .channel = 0x4001,
	    .cd_pad = 4 }, 0, MUT_NONE, 0, XDP_PASS, FP_STAT_PASS_MALFORMED, FL_NONE },
};
/* clang-format on */

/* Frames truncated at every byte from the end of Ethernet to one short of
 * complete, for each shape: all must pass untouched as malformed. */
/* Tables: one entry per block reads better than reflowed. */
/* clang-format off */
static const struct pktspec trunc_shapes[] = {
	{ .src = V4A, .dst = V4L, RTP(24) },
	{ .src = V6A, .dst = V6L, RTP(24) },
	{ .vlan = 1, .src = V4A, .dst = V4L, RTP(24) },
	{ .src = V4A, .dst = V4L, RTP(24), .ip_opts = 4 },
	{ .src = "192.0.2.50:3478", .dst = "192.0.2.1:30018", RTP(24), .channel = 0x4001 },
};
/* clang-format on */

static void mutate(uint8_t *f, size_t *len, const struct fixture *fx)
{
	unsigned l2 = fx->in.vlan ? 18 : 14;
	int v6 = f[l2 - 2] == 0x86;
	uint8_t *ip = f + l2, *udp = ip + (v6 ? 40 : (ip[0] & 0xf) * 4);
	unsigned ulen = udp[4] << 8 | udp[5];

	switch (fx->mut) {
	case MUT_NONE:
		break;
	case MUT_TRUNC:
		*len = fx->trunc;
		break;
	case MUT_V4_MF:
		ip[6] |= 0x20;
		break;
	case MUT_V4_OFFSET:
		ip[7] = 1;
		break;
	case MUT_V6_FRAG:
		ip[6] = 44;
		break;
	case MUT_V6_HBH:
		ip[6] = 0;
		break;
	case MUT_TCP:
		ip[9] = 6;
		break;
	case MUT_ARP:
		f[12] = 0x08;
		f[13] = 0x06;
		break;
	case MUT_ULEN_BIG:
		ulen++;
		udp[4] = ulen >> 8;
		udp[5] = ulen & 0xff;
		break;
	case MUT_ULEN_SMALL:
		ulen--;
		udp[4] = ulen >> 8;
		udp[5] = ulen & 0xff;
		break;
	case MUT_ULEN_TINY:
		udp[4] = 0;
		udp[5] = 4;
		break;
	case MUT_CDLEN_BIG:
		udp[10] = 0x7f;
		break;
	case MUT_IHL_SMALL:
		ip[0] = 0x44;
		break;
	}
}

static void stats_now(uint64_t *v)
{
	assert_int_equal(fastpath_stats(E.fp, v, FP_STAT_COUNT), 0);
}

static uint64_t fwd_count[FL_COUNT], fwd_bytes[FL_COUNT];
static uint64_t fwd_rtcp[FL_COUNT], fwd_rtcp_bytes[FL_COUNT]; /* of those, RTCP */
static int removed[FL_COUNT];

static void run_fixture(const struct fixture *fx)
{
	uint8_t in[2048], out[2048], exp[2048];
	size_t inlen, explen;
	uint64_t before[FP_STAT_COUNT], after[FP_STAT_COUNT];
	uint32_t out_len = 0, action = 0;
	unsigned i, l2;

	print_message("  %s\n", fx->desc);
	inlen = build(in, sizeof(in), &fx->in);
	mutate(in, &inlen, fx);

	stats_now(before);
	assert_int_equal(fp_xdp_run(E.prog_fd, fx->ifidx_fp2 ? E.if_fp2 : E.if_fp0, in, inlen, out,
				    sizeof(out), &out_len, &action),
			 0);
	stats_now(after);
	if ((int)action != fx->action)
		fail_msg("%s: action %u, expected %d", fx->desc, action, fx->action);
	for (i = 0; i < FP_STAT_COUNT; i++) {
		uint64_t want = before[i] + (i == (unsigned)fx->stat);

		if (after[i] != want)
			fail_msg("%s: stat %s moved by %lld, expected %d", fx->desc,
				 fastpath_stat_name(i), (long long)(after[i] - before[i]),
				 i == (unsigned)fx->stat);
	}

	if (fx->flow == FL_NONE) {
		/* Not forwarded: the stack gets the very frame that arrived. */
		assert_int_equal(out_len, inlen);
		assert_memory_equal(out, in, inlen);
		return;
	}
	explen = build(exp, sizeof(exp), &fx->out);
	verify_checksums(out, out_len, fx->out.csum_zero);
	if (out_len != explen || memcmp(out, exp, explen)) {
		for (i = 0; i < out_len && i < explen; i++)
			if (out[i] != exp[i])
				break;
		fail_msg("%s: output differs at byte %u (len %u, expected %zu)", fx->desc, i,
			 out_len, explen);
	}
	l2 = fx->in.vlan ? 18 : 14;
	fwd_count[fx->flow]++;
	fwd_bytes[fx->flow] += inlen - l2 - fx->in.eth_trailer;
	if (fx->in.kind == PL_RTCP || fx->in.kind == PL_RTCP_SR) {
		fwd_rtcp[fx->flow]++;
		fwd_rtcp_bytes[fx->flow] += inlen - l2 - fx->in.eth_trailer;
	}
}

static void fixture_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		run_fixture(&fixtures[i]);
}

static void truncated_everywhere(void **state)
{
	struct fixture fx = {.mut = MUT_TRUNC, .action = XDP_PASS, .flow = FL_NONE};
	uint8_t tmp[2048];
	size_t i, full;

	for (i = 0; i < sizeof(trunc_shapes) / sizeof(trunc_shapes[0]); i++) {
		fx.in = trunc_shapes[i];
		full = build(tmp, sizeof(tmp), &fx.in);
		/* test_run needs a whole Ethernet header; a VLAN frame cut
		 * inside its tag is malformed too. */
		for (fx.trunc = 14; fx.trunc < full; fx.trunc++) {
			fx.desc = "truncated frame";
			fx.stat = FP_STAT_PASS_MALFORMED;
			run_fixture(&fx);
		}
	}
}

/* Per-flow counters: exactly the forwarded fixtures, with their IP bytes. */
static void flow_counters(void **state)
{
	struct fastpath_flow f;
	struct fastpath_counters c;
	int i;

	for (i = 0; i < FL_COUNT; i++) {
		if (removed[i])
			continue;
		flow_from_spec(&f, &flows[i], i);
		assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
		if (c.packets != fwd_count[i] || c.bytes != fwd_bytes[i])
			fail_msg("flow %d: %llu packets %llu bytes, expected %llu/%llu", i,
				 (unsigned long long)c.packets, (unsigned long long)c.bytes,
				 (unsigned long long)fwd_count[i],
				 (unsigned long long)fwd_bytes[i]);
		if (c.rtcp_packets != fwd_rtcp[i] || c.rtcp_bytes != fwd_rtcp_bytes[i])
			fail_msg("flow %d: %llu RTCP packets %llu bytes, expected %llu/%llu", i,
				 (unsigned long long)c.rtcp_packets,
				 (unsigned long long)c.rtcp_bytes, (unsigned long long)fwd_rtcp[i],
				 (unsigned long long)fwd_rtcp_bytes[i]);
		assert_true(c.packets == 0 || c.last_seen_ns > 0);
	}
}

/* Consent regained through set_flags: the same packet is then forwarded. */
static void consent_toggle(void **state)
{
	struct fastpath_flow f;
	struct fixture fx = {
		"consent regained",
		{.src = V4A, .dst = "192.0.2.1:30016", RTP(100)},
		0,
		MUT_NONE,
		0,
		XDP_REDIRECT,
		FP_STAT_REDIRECT,
		FL_NOCONS,
		{FWD_V4("198.51.100.1:30002", "198.51.100.20:6000"), RTP(100)},
	};

	flow_from_spec(&f, &flows[FL_NOCONS], 0);
	assert_int_equal(fastpath_flow_set_flags(E.fp, &f, ALL), 0);
	run_fixture(&fx);
	assert_int_equal(fastpath_flow_set_flags(E.fp, &f, FASTPATH_FLOW_RTP), 0);
	fx.desc = "consent lost again";
	fx.action = XDP_DROP;
	fx.stat = FP_STAT_DROP_CONSENT;
	fx.flow = FL_NONE;
	run_fixture(&fx);
}

/* Removing a flow sends its packets to the stack. */
static void flow_removed(void **state)
{
	struct fastpath_flow f;
	struct fastpath_counters c;
	struct fixture fx = {"flow removed",
			     {.src = V4A, .dst = "192.0.2.1:30012", RTP(80)},
			     0,
			     MUT_NONE,
			     0,
			     XDP_PASS,
			     FP_STAT_PASS_NO_FLOW,
			     FL_NONE};

	flow_from_spec(&f, &flows[FL_TX], 0);
	assert_int_equal(fastpath_flow_remove(E.fp, &f), 0);
	removed[FL_TX] = 1;
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), -ENOENT);
	assert_int_equal(fastpath_flow_remove(E.fp, &f), -ENOENT);
	run_fixture(&fx);
}

static int list_cb(const struct fastpath_flow *f, void *ctx)
{
	int *seen = ctx;

	assert_true(f->id < FL_COUNT);
	seen[f->id]++;
	return 0;
}

/* What foreach gives back is what was installed, field for field. */
static void foreach_roundtrip(void **state)
{
	int seen[FL_COUNT] = {0}, i;

	assert_int_equal(fastpath_flow_foreach(E.fp, list_cb, seen), 0);
	for (i = 0; i < FL_COUNT; i++)
		assert_int_equal(seen[i], i == FL_TX ? 0 : 1);
	assert_int_equal(fastpath_flow_count(E.fp), FL_COUNT - 1);
}

/* A restarted daemon re-opens the same maps: flows and counters are there,
 * and the re-attached new program forwards with them. */
static void reopen_keeps_flows(void **state)
{
	struct fastpath_opts o = {.pin_path = E.pin,
				  .port_min = 30000,
				  .port_max = 40000,
				  .mode = FASTPATH_XDP_NATIVE};
	struct fastpath_flow f;
	struct fastpath_counters c;
	char path[200];

	fastpath_close(E.fp);
	E.fp = NULL;
	assert_int_equal(fastpath_open(&E.fp, &o), 0);
	assert_int_equal(fastpath_flow_count(E.fp), FL_COUNT - 1);
	flow_from_spec(&f, &flows[FL_V4], 0);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_int_equal(c.packets, fwd_count[FL_V4]);
	assert_int_equal(fastpath_attach(E.fp, "fp0", NULL), 0);
	assert_int_equal(fastpath_attach(E.fp, "fp2", NULL), 0);
	close(E.prog_fd);
	snprintf(path, sizeof(path), "%s/prog", E.pin);
	E.prog_fd = bpf_obj_get(path);
	assert_true(E.prog_fd >= 0);
	run_fixture(&fixtures[0]);
	flow_counters(state);
}

static void bad_input_refused(void **state)
{
	struct fastpath_flow f;
	struct fastpath_opts o = {.pin_path = E.pin, .port_min = 40000, .port_max = 30000};
	struct fastpath *fp2;

	flow_from_spec(&f, &flows[FL_V4], 0);
	f.in_channel = 0x3fff; /* not a channel number */
	assert_int_equal(fastpath_flow_install(E.fp, &f), -EINVAL);
	flow_from_spec(&f, &flows[FL_V4], 0);
	assert_int_equal(netaddr_parse(&f.remote, "[2001:db8::1]:5", -1), 0); /* mixed family */
	assert_int_equal(fastpath_flow_install(E.fp, &f), -EINVAL);
	assert_int_equal(fastpath_open(&fp2, &o), -EINVAL);
	assert_int_equal(fastpath_attach(E.fp, "no-such-if0", NULL), -ENODEV);
	assert_string_equal(fastpath_stat_name(FP_STAT_TX), "tx");
	assert_null(fastpath_stat_name(fastpath_stat_count()));
}

/* A device without native XDP (loopback: the private netns's own, and the
 * kernel here may lack dummy) falls back to generic mode; an
 * interface already held by another fast path (another pin path) is
 * refused, not taken over. */
static void attach_modes(void **state)
{
	struct fastpath_opts o = {
		.port_min = 30000, .port_max = 40000, .mode = FASTPATH_XDP_NATIVE};
	enum fastpath_xdp_mode got = FASTPATH_XDP_OFF;
	struct fastpath *other;
	char pin[160];

	assert_int_equal(fastpath_attach(E.fp, "lo", &got), 0);
	assert_int_equal(got, FASTPATH_XDP_GENERIC);
	assert_int_equal(fastpath_detach(E.fp, "lo"), 0);
	assert_int_equal(fastpath_detach(E.fp, "lo"), -ENOENT);

	snprintf(pin, sizeof(pin), "%s-other", E.pin);
	o.pin_path = pin;
	assert_int_equal(fastpath_open(&other, &o), 0);
	assert_int_equal(fastpath_attach(other, "fp0", &got), -EBUSY);
	fastpath_close(other);
	assert_int_equal(fastpath_destroy(pin), 0);

	o.mode = FASTPATH_XDP_OFF;
	assert_int_equal(fastpath_open(&other, &o), 0);
	assert_int_equal(fastpath_attach(other, "fp0", &got), 0);
	assert_int_equal(got, FASTPATH_XDP_OFF);
	fastpath_close(other);
	assert_int_equal(fastpath_destroy(pin), 0);
}

/* A pinned map of the fast path under test, by name. */
static int pinned_map(const char *pin, const char *name)
{
	char path[200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	return fd;
}

/* The raw value of an IPv4 flow in the pinned flows map (its slot). */
static struct fp_flow_val raw_val(const char *pin, const struct fastpath_flow *f)
{
	struct fp_flow_key k = {0};
	struct fp_flow_val v;
	int fd = pinned_map(pin, "flows");

	k.family = FP_FAMILY_V4;
	k.channel = htons(f->in_channel);
	k.local_port = f->local.in.sin_port;
	k.remote_port = f->remote.in.sin_port;
	k.local_addr[0] = f->local.in.sin_addr.s_addr;
	k.remote_addr[0] = f->remote.in.sin_addr.s_addr;
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	close(fd);
	return v;
}

/* The slot's counters summed over CPUs (flow_ctr is a per-CPU array). */
static struct fp_flow_ctr raw_ctr(const char *pin, uint32_t slot)
{
	int ncpus = libbpf_num_possible_cpus(), fd = pinned_map(pin, "flow_ctr");
	struct fp_flow_ctr sum = {0}, *c = calloc((size_t)ncpus, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(bpf_map_lookup_elem(fd, &slot, c), 0);
	for (int i = 0; i < ncpus; i++) {
		sum.packets += c[i].packets;
		sum.bytes += c[i].bytes;
	}
	free(c);
	close(fd);
	return sum;
}

static int slot_cb(const struct fastpath_flow *f, void *ctx)
{
	uint8_t *seen = ctx;
	uint32_t s;

	if (netaddr_family(&f->local) != AF_INET)
		return 0;
	s = raw_val(E.pin, f).slot;
	assert_true(s < FP_MAX_FLOWS);
	assert_int_equal(seen[s], 0);
	seen[s] = 1;
	return 0;
}

/* Two handles on the same pins (the daemon and icepath-fpctl) share the
 * counter slots: a slot freed by one is reused by the other with zeroed
 * counters, and no two flows ever share one. */
static void slots_shared(void **state)
{
	struct fastpath_opts o = {
		.pin_path = E.pin, .port_min = 30000, .port_max = 40000, .mode = FASTPATH_XDP_OFF};
	struct fastpath *other;
	struct fastpath_flow f, g, dup[3];
	struct fastpath_counters c;
	uint32_t old_slot, i;
	long count;
	uint8_t *seen;
	int reused = 0;

	assert_int_equal(fastpath_open(&other, &o), 0);
	flow_from_spec(&f, &flows[FL_V4], 0);
	old_slot = raw_val(E.pin, &f).slot;
	assert_true(raw_ctr(E.pin, old_slot).packets > 0);
	assert_int_equal(fastpath_flow_remove(E.fp, &f), 0);
	/* Lowest free slot first: a few installs reach the freed one. */
	for (i = 0; i < 16 && !reused; i++) {
		g = f;
		netaddr_from_v4(&g.remote, htonl(0xcb007100u + i), 7000); /* 203.0.113.i */
		assert_int_equal(fastpath_flow_install(other, &g), 0);
		if (raw_val(E.pin, &g).slot == old_slot) {
			reused = 1;
			assert_int_equal(fastpath_flow_counters(E.fp, &g, &c), 0);
			assert_int_equal(c.packets, 0);
			assert_int_equal(c.bytes, 0);
			assert_int_equal(c.last_seen_ns, 0);
		}
	}
	assert_true(reused);
	/* The first handle sees the other's flows and hands out other slots. */
	assert_int_equal(fastpath_flow_install(E.fp, &f), 0);
	assert_int_not_equal(raw_val(E.pin, &f).slot, old_slot);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_int_equal(c.packets, 0);
	/* The same new key twice in one call is one flow with one slot; twice
	 * in a remove frees that slot once. */
	count = fastpath_flow_count(E.fp);
	dup[0] = dup[1] = dup[2] = f;
	netaddr_from_v4(&dup[0].remote, htonl(0xcb0071f0u), 7000);
	dup[1].remote = dup[0].remote;
	netaddr_from_v4(&dup[2].remote, htonl(0xcb0071f1u), 7000);
	assert_int_equal(fastpath_flow_install_many(other, dup, 3), 0);
	assert_int_equal(fastpath_flow_count(E.fp), count + 2);
	assert_int_equal(fastpath_flow_remove_many(E.fp, dup, 2), -ENOENT);
	assert_int_equal(fastpath_flow_count(E.fp), count + 1);
	dup[1] = dup[2];
	netaddr_from_v4(&dup[1].remote, htonl(0xcb0071f2u), 7000);
	assert_int_equal(fastpath_flow_install_many(E.fp, dup, 2), 0);
	assert_int_equal(fastpath_flow_count(E.fp), count + 3);
	/* A slot just freed is not the next one handed out: a packet counted
	 * into it late would not land in the new flow's counters. */
	old_slot = raw_val(E.pin, &dup[1]).slot;
	assert_int_equal(fastpath_flow_remove(E.fp, &dup[1]), 0);
	netaddr_from_v4(&dup[1].remote, htonl(0xcb0071f3u), 7000);
	assert_int_equal(fastpath_flow_install(E.fp, &dup[1]), 0);
	assert_int_not_equal(raw_val(E.pin, &dup[1]).slot, old_slot);
	/* Once cooled (fastpath_slot.c: a second), the lowest free slot is
	 * handed out first, so the flows that live stay together at the bottom
	 * of the arrays: the freed one or a lower one, never the next of the
	 * queue, which lies above every slot handed out since the rebuild. */
	usleep(1100 * 1000);
	netaddr_from_v4(&dup[2].remote, htonl(0xcb0071f4u), 7000);
	assert_int_equal(fastpath_flow_install(E.fp, &dup[2]), 0);
	assert_true(raw_val(E.pin, &dup[2]).slot <= old_slot);
	seen = calloc(FP_MAX_FLOWS, 1);
	assert_non_null(seen);
	assert_int_equal(fastpath_flow_foreach(E.fp, slot_cb, seen), 0);
	free(seen);
	fastpath_close(other);
}

static char last_err[1024];

static void keep_err(int level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level <= LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

/* Maps pinned by an icepath with another layout are refused with the way
 * out in the message, never re-used with the wrong meaning. */
static void old_layout_refused(void **state)
{
	struct fastpath_opts o = {.port_min = 30000, .port_max = 40000, .mode = FASTPATH_XDP_OFF};
	struct fp_meta m = {0};
	struct fastpath *fp;
	char pin[160], path[200];
	__u32 zero = 0;
	int fd;

	snprintf(pin, sizeof(pin), "%s-old", E.pin);
	o.pin_path = pin;
	fastpath_set_logger(keep_err, NULL);

	/* Before slots: counters in a per-CPU hash keyed like flows. */
	assert_int_equal(mkdir(pin, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "flow_ctr", sizeof(struct fp_flow_key),
			    sizeof(struct fp_flow_ctr), 1024, NULL);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/flow_ctr", pin);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	last_err[0] = '\0';
	assert_true(fastpath_open(&fp, &o) < 0);
	assert_non_null(strstr(last_err, "destroy"));
	assert_int_equal(fastpath_destroy(pin), 0);

	/* Same sizes, another layout version. */
	assert_int_equal(fastpath_open(&fp, &o), 0);
	m.abi = FP_ABI_VERSION + 1;
	fd = pinned_map(pin, "meta");
	assert_int_equal(bpf_map_update_elem(fd, &zero, &m, BPF_ANY), 0);
	close(fd);
	fastpath_close(fp);
	last_err[0] = '\0';
	assert_int_equal(fastpath_open(&fp, &o), -EPROTO);
	assert_non_null(strstr(last_err, "destroy"));
	assert_int_equal(fastpath_destroy(pin), 0);
	fastpath_set_logger(NULL, NULL);
}

/* ---- next hop, deadline, egress rules -------------------------------------------- */

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void poll_changes(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	assert_int_equal(fastpath_poll(E.fp, (uint64_t)ts.tv_sec * 1000u + ts.tv_nsec / 1000000u),
			 0);
}

/* The ports array's entry for a v4 relay address and port: 1 and *pv when
 * it holds one or more flows. */
/* Relay address local's ports entry: its flow count (port_nflows) in
 * port_nflows, the copy it leads to in *pv (zero when it leads to none:
 * no flow or several) and that copy's flow_hot index in *slot_out (~0:
 * none). 1 when the address and port carry flows. */
static __u32 port_nflows;

static int port_entry_idx(const char *local, struct fp_flow_hot *pv, __u32 *slot_out)
{
	struct netaddr a;
	struct fp_port_addrs pa;
	int fd = pinned_map(E.pin, "ports"), afd = pinned_map(E.pin, "port_addrs"), found = 0;
	int nfd = pinned_map(E.pin, "port_nflows"), hfd = pinned_map(E.pin, "flow_hot");
	__u32 zero = 0, slot, idx, port, ent = 0;

	assert_int_equal(netaddr_parse(&a, local, -1), 0);
	assert_int_equal(bpf_map_lookup_elem(afd, &zero, &pa), 0);
	memset(pv, 0, sizeof(*pv));
	port_nflows = 0;
	if (slot_out)
		*slot_out = ~0u;
	port = ntohs(a.in.sin_port);
	for (slot = 0; slot < FP_PORT_ADDRS; slot++)
		if (pa.a[slot].family == FP_FAMILY_V4 &&
		    pa.a[slot].local_addr == a.in.sin_addr.s_addr)
			break;
	if (slot < FP_PORT_ADDRS && port >= pa.port_min && port - pa.port_min < pa.nports) {
		idx = slot * pa.nports + port - pa.port_min;
		assert_int_equal(bpf_map_lookup_elem(fd, &idx, &ent), 0);
		assert_int_equal(bpf_map_lookup_elem(nfd, &idx, &port_nflows), 0);
		found = port_nflows > 0;
		if (ent) {
			ent--;
			assert_int_equal(bpf_map_lookup_elem(hfd, &ent, pv), 0);
			assert_int_equal(pv->seq & 1, 0);
			if (slot_out)
				*slot_out = ent;
		}
	}
	close(fd);
	close(afd);
	close(nfd);
	close(hfd);
	return found;
}

static int port_entry(const char *local, struct fp_flow_hot *pv)
{
	return port_entry_idx(local, pv, NULL);
}

/* The program takes a flow_hot copy only while its sequence count is even
 * (fp_abi.h): a copy that says "no consent" while flows says "forward"
 * drops the packet when stable (so the copy is what the program reads),
 * and forwards it (from flows) while the copy is marked as being written. */
static void port_seq(void **state)
{
	const struct fixture *fx = NULL;
	struct fp_flow_hot pv, mod;
	struct fixture drop;
	size_t i;
	__u32 idx;
	__u8 fl;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (fixtures[i].flow == FL_V4 && fixtures[i].stat == FP_STAT_REDIRECT && !fx)
			fx = &fixtures[i];
	assert_non_null(fx);
	assert_true(port_entry_idx(flows[FL_V4].local, &pv, &idx));
	assert_int_equal(port_nflows, 1);
	assert_int_not_equal(idx, ~0u);
	fd = pinned_map(E.pin, "flow_hot");
	mod = pv;
	memcpy(&fl, mod.val + offsetof(struct fp_flow_val, flags), sizeof(fl));
	fl &= ~FP_FLOW_FORWARD;
	memcpy(mod.val + offsetof(struct fp_flow_val, flags), &fl, sizeof(fl));
	mod.seq = pv.seq + 2;
	assert_int_equal(bpf_map_update_elem(fd, &idx, &mod, BPF_ANY), 0);
	drop = *fx;
	drop.desc = "stable ports entry without consent: the program reads it, dropped";
	drop.action = XDP_DROP;
	drop.stat = FP_STAT_DROP_CONSENT;
	drop.flow = FL_NONE;
	run_fixture(&drop);
	mod.seq = pv.seq + 3;
	assert_int_equal(bpf_map_update_elem(fd, &idx, &mod, BPF_ANY), 0);
	run_fixture(fx);
	pv.seq += 4;
	assert_int_equal(bpf_map_update_elem(fd, &idx, &pv, BPF_ANY), 0);
	run_fixture(fx);
	close(fd);
}

/* The ports map (the program's first lookup) follows the flows map: a
 * relay port with one flow holds that flow (so the program finds it by 8
 * bytes), one with two holds a shared entry and both are found by the full
 * key, and removing and adding flows moves it between the two. */
static void port_table(void **state)
{
	const struct fixture *a = NULL, *b = NULL;
	struct fastpath_flow fa, fb;
	struct fp_flow_hot pv;
	size_t i;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		if (fixtures[i].flow == FL_SHARE_A)
			a = &fixtures[i];
		if (fixtures[i].flow == FL_SHARE_B)
			b = &fixtures[i];
	}
	assert_non_null(a);
	assert_non_null(b);
	flow_from_spec(&fa, &flows[FL_SHARE_A], FL_SHARE_A);
	flow_from_spec(&fb, &flows[FL_SHARE_B], FL_SHARE_B);

	/* two flows: shared, no flow in the entry */
	assert_true(port_entry(flows[FL_SHARE_A].local, &pv));
	assert_int_equal(port_nflows, 2);
	assert_int_equal(pv.key.family, 0);
	/* a port with one flow holds it, next hop and all */
	assert_true(port_entry(flows[FL_V4].local, &pv));
	assert_int_equal(port_nflows, 1);
	assert_int_equal(pv.key.family, FP_FAMILY_V4);
	assert_int_equal(pv.val[offsetof(struct fp_flow_val, nh)], FP_NH_READY);

	/* B leaves: A forwards (from the flows map), B's remote has no flow */
	assert_int_equal(fastpath_flow_remove(E.fp, &fb), 0);
	assert_true(port_entry(flows[FL_SHARE_A].local, &pv));
	assert_int_equal(port_nflows, 1);
	run_fixture(a);
	{
		struct fixture gone = *b;

		gone.desc = "the second remote's flow removed: no flow";
		gone.action = XDP_PASS;
		gone.stat = FP_STAT_PASS_NO_FLOW;
		gone.flow = FL_NONE;
		run_fixture(&gone);
	}
	/* A leaves too: the entry goes; A back alone: the entry holds it */
	assert_int_equal(fastpath_flow_remove(E.fp, &fa), 0);
	assert_false(port_entry(flows[FL_SHARE_A].local, &pv));
	assert_int_equal(fastpath_flow_install(E.fp, &fa), 0);
	fwd_count[FL_SHARE_A] = fwd_bytes[FL_SHARE_A] = 0; /* a new flow: new counters */
	assert_true(port_entry(flows[FL_SHARE_A].local, &pv));
	assert_int_equal(port_nflows, 1);
	assert_int_equal(pv.key.remote_port, fa.remote.in.sin_port);
	run_fixture(a);
	/* consent lost on the flow the entry holds: the copy follows */
	assert_int_equal(fastpath_flow_set_flags(E.fp, &fa, FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP), 0);
	{
		struct fixture drop = *a;

		drop.desc = "consent lost on a relay port's only flow: dropped";
		drop.action = XDP_DROP;
		drop.stat = FP_STAT_DROP_CONSENT;
		drop.flow = FL_NONE;
		run_fixture(&drop);
	}
	assert_int_equal(fastpath_flow_set_flags(E.fp, &fa, ALL), 0);
	run_fixture(a);
	/* B back (through the batch install): shared again, both forward */
	assert_int_equal(fastpath_flow_install_many(E.fp, &fb, 1), 0);
	fwd_count[FL_SHARE_B] = fwd_bytes[FL_SHARE_B] = 0;
	assert_true(port_entry(flows[FL_SHARE_A].local, &pv));
	assert_int_equal(port_nflows, 2);
	assert_int_equal(pv.key.family, 0);
	run_fixture(a);
	run_fixture(b);
}

/* Interfaces are checked every FASTPATH_POLL_MS: wait that long first. */
static void poll_devices(void)
{
	usleep((FASTPATH_POLL_MS + 50) * 1000);
	poll_changes();
}

static const uint8_t MAC_NEW1[6] = {0x02, 0, 0, 0, 0, 0x99};
static const uint8_t MAC_NEW2[6] = {0x02, 0, 0, 0, 0, 0x98};

/* The next hop is cached in the flow and follows the neighbour table: a
 * neighbour that appears, changes its address, or goes away reaches the
 * flow through fastpath_poll() (libnl's cache manager), no fib lookup. */
static void neighbour_change(void **state)
{
	struct fixture fx = {
		"neighbour appeared: forwarded with its MAC",
		{.src = V4A, .dst = "192.0.2.1:30026", RTP(100)},
		0,
		MUT_NONE,
		0,
		XDP_REDIRECT,
		FP_STAT_REDIRECT,
		FL_NONEIGH,
		{.src = "198.51.100.1:30028", .dst = "198.51.100.99:6010", .smac = MAC_FP2,
		 .dmac = MAC_NEW1, .ttl = 62, .df = 1, RTP(100)},
	};

	sh("ip neigh add 198.51.100.99 lladdr 02:00:00:00:00:99 dev fp2 nud permanent");
	poll_changes();
	run_fixture(&fx);
	sh("ip neigh change 198.51.100.99 lladdr 02:00:00:00:00:98 dev fp2 nud permanent");
	poll_changes();
	fx.desc = "neighbour changed its MAC: the flow follows";
	fx.out.dmac = MAC_NEW2;
	run_fixture(&fx);
	sh("ip neigh del 198.51.100.99 dev fp2");
	poll_changes();
	fx.desc = "neighbour gone: passed untouched again";
	fx.action = XDP_PASS;
	fx.stat = FP_STAT_PASS_NO_NEIGH;
	fx.flow = FL_NONE;
	run_fixture(&fx);
}

/* A flow forwards until its deadline, then goes up until extended; the
 * default lifetime is FASTPATH_FLOW_LIFETIME_MS. */
static void deadline_rules(void **state)
{
	struct fastpath_flow f;
	struct fastpath_counters c;
	struct fixture fx = {"past its deadline: passed",
			     {.src = V4A, .dst = V4L, RTP(100)},
			     0,
			     MUT_NONE,
			     0,
			     XDP_PASS,
			     FP_STAT_PASS_EXPIRED,
			     FL_NONE};

	flow_from_spec(&f, &flows[FL_V4], FL_V4);
	f.lifetime_ms = 1;
	assert_int_equal(fastpath_flow_install(E.fp, &f), 0);
	usleep(50 * 1000); /* a few jiffies at any HZ */
	run_fixture(&fx);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_true(c.deadline_in_ms < 0);
	assert_int_equal(c.path, FASTPATH_PATH_USERSPACE);
	assert_string_equal(c.why, "pass-expired");

	assert_int_equal(fastpath_flow_extend(E.fp, &f, 0), 0);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_true(c.deadline_in_ms > (int64_t)FASTPATH_FLOW_LIFETIME_MS - 1000);
	assert_true(c.deadline_in_ms <= (int64_t)FASTPATH_FLOW_LIFETIME_MS);
	run_fixture(&fixtures[0]);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_int_equal(c.path, FASTPATH_PATH_NATIVE);
	assert_string_equal(c.why, "redirect");
	assert_true(c.last_seen_ns > 0);
	assert_int_equal(fastpath_flow_extend(E.fp, &f, FASTPATH_LIFETIME_FOREVER), 0);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_true(c.deadline_in_ms == INT64_MAX);
	flow_from_spec(&f, &flows[FL_TX], 0);
	assert_int_equal(fastpath_flow_extend(E.fp, &f, 0), -ENOENT); /* removed earlier */
}

/* An egress that cannot take native XDP frames (a veth whose peer has no
 * XDP program nor GRO: a container's): the native program passes its flows
 * up, the generic one forwards them, and the daemon's poll moves the
 * native attachment to generic mode. */
static void egress_without_xmit(void **state)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct fixture fx = fixtures[0];
	struct fastpath_flow f;
	struct fastpath_counters c;
	char path[200];
	int gen_fd;

	snprintf(path, sizeof(path), "%s/prog-generic", E.pin);
	gen_fd = bpf_obj_get(path);
	assert_true(gen_fd >= 0);
	assert_int_equal(bpf_xdp_query(E.if_fp2, 0, &q), 0);
	assert_int_equal(q.attach_mode, XDP_ATTACHED_DRV);

	sh("ethtool -K fp3 gro off >/dev/null");
	poll_devices();
	/* The poll found fp2 unable to take native frames: generic now. */
	assert_int_equal(bpf_xdp_query(E.if_fp2, 0, &q), 0);
	assert_int_equal(q.attach_mode, XDP_ATTACHED_SKB);
	fx.desc = "egress takes no native frames: native program passes";
	fx.action = XDP_PASS;
	fx.stat = FP_STAT_PASS_NO_XMIT;
	fx.flow = FL_NONE;
	run_fixture(&fx);
	flow_from_spec(&f, &flows[FL_V4], 0);
	assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
	assert_int_equal(c.path, FASTPATH_PATH_USERSPACE);
	assert_string_equal(c.why, "pass-no-xmit");

	/* The generic-mode program forwards the same frame (skb out). */
	{
		uint8_t in[2048], out[2048], exp[2048];
		size_t inlen = build(in, sizeof(in), &fixtures[0].in), explen;
		uint32_t out_len = 0, action = 0;

		assert_int_equal(fp_xdp_run(gen_fd, E.if_fp0, in, inlen, out, sizeof(out), &out_len,
					    &action),
				 0);
		assert_int_equal(action, XDP_REDIRECT);
		explen = build(exp, sizeof(exp), &fixtures[0].out);
		assert_int_equal(out_len, explen);
		assert_memory_equal(out, exp, explen);
		fwd_count[FL_V4]++;
		fwd_bytes[FL_V4] += inlen - 14;
		assert_int_equal(fastpath_flow_counters(E.fp, &f, &c), 0);
		assert_int_equal(c.path, FASTPATH_PATH_GENERIC);
	}
	close(gen_fd);

	sh("ethtool -K fp3 gro on >/dev/null");
	poll_devices();
	fx = fixtures[0];
	fx.desc = "egress takes native frames again: forwarded";
	run_fixture(&fx);
}

static int setup(void **state)
{
	struct fastpath_opts o = {
		.port_min = 30000, .port_max = 40000, .mode = FASTPATH_XDP_NATIVE};
	struct fastpath_flow f;
	char path[200];
	size_t i;

	if (getuid() != 0) {
		print_message("BPF tests need root (BPF_PROG_TEST_RUN, netns)\n");
		return -1;
	}
	if (fp_testnet_setup())
		return -1;
	E.if_fp0 = if_nametoindex("fp0");
	E.if_fp2 = if_nametoindex("fp2");
	snprintf(E.pin, sizeof(E.pin), "/sys/fs/bpf/icepath-test-bpf-%d", (int)getpid());
	o.pin_path = E.pin;
	fastpath_destroy(E.pin);
	if (fastpath_open(&E.fp, &o) || fastpath_attach(E.fp, "fp0", NULL) ||
	    fastpath_attach(E.fp, "fp2", NULL))
		return -1;
	snprintf(path, sizeof(path), "%s/prog", E.pin);
	E.prog_fd = bpf_obj_get(path);
	if (E.prog_fd < 0)
		return -1;
	for (i = 0; i < FL_COUNT; i++) {
		flow_from_spec(&f, &flows[i], i);
		if (fastpath_flow_install(E.fp, &f))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	if (E.prog_fd > 0)
		close(E.prog_fd);
	fastpath_close(E.fp);
	/* Detaches (the veths die with the netns anyway) and unpins. */
	return fastpath_destroy(E.pin) ? -1 : 0;
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixture_table),
		cmocka_unit_test(truncated_everywhere),
		cmocka_unit_test(flow_counters),
		cmocka_unit_test(consent_toggle),
		cmocka_unit_test(flow_removed),
		cmocka_unit_test(foreach_roundtrip),
		cmocka_unit_test(reopen_keeps_flows),
		cmocka_unit_test(port_table),
		cmocka_unit_test(port_seq),
		cmocka_unit_test(neighbour_change),
		cmocka_unit_test(deadline_rules),
		cmocka_unit_test(egress_without_xmit),
		cmocka_unit_test(bad_input_refused),
		cmocka_unit_test(attach_modes),
		cmocka_unit_test(slots_shared),
		cmocka_unit_test(old_layout_refused),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, setup, teardown);
}
