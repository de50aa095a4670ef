// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay: the daemon's core on loopback, without XDP (--xdp off) and without
 * root: NG offer/answer for plain-RTP SIP phones, the userspace datapath
 * (forwarding, latching, RTCP on its own port), query counters, the state
 * file surviving a restart, the inactivity timeout, NG errors, and the SDP
 * the relay writes toward an ICE peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/relay.h"
#include "daemon/relay_crypto.h"
#include "icepath/dtls.h"
#include "icepath/sdes.h"
#include "icepath/sdp.h"
#include "icepath/srtpctx.h"
#include "icepath/stun.h"
#include "icepath/compiler.h"

struct fixture {
	struct daemon_opts o;
	struct relay r;
	char dir[64];
	char sdp_out[8192];
	struct ng_reply rep;
	int a, a2, b, b_rtcp; /* phone sockets */
	uint16_t pa, pa2, pb;
};

static int udp_sock(uint16_t *port, uint16_t want)
{
	struct netaddr a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	netaddr_from_str(&a, "127.0.0.1", want);
	assert_int_equal(bind(fd, &a.sa, netaddr_len(&a)), 0);
	getsockname(fd, &a.sa, &l);
	*port = netaddr_port(&a);
	return fd;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	char *argv[] = {"icepathd",
			"--interface",
			"lo=127.0.0.1",
			"--interface",
			"v6=::1",
			"--xdp",
			"off",
			"--listen-ng",
			"127.0.0.1:0",
			"--port-min",
			"0",
			"--port-max",
			"0",
			"--inactivity-timeout",
			"0",
			"--state-file",
			"x"};
	char pmin[8], pmax[8], state_file[96];
	/* a port range of our own per process (tests may run side by side),
	 * below the ephemeral range (32768-60999) where sockets bound to port 0,
	 * ours or any other process's, would take pairs from under the relay */
	unsigned base = 22000 + (unsigned)(getpid() % 250) * 40;

	snprintf(pmin, sizeof(pmin), "%u", base);
	snprintf(pmax, sizeof(pmax), "%u", base + 39);
	argv[10] = pmin;
	argv[12] = pmax;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-relay-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(state_file, sizeof(state_file), "%s/calls.state", f->dir);
	argv[16] = state_file;
	daemon_opts_defaults(&f->o);
	assert_int_equal(daemon_opts_parse(&f->o, 17, argv, err, sizeof(err)), 0);
	daemon_log_set_level(DAEMON_LOG_ERROR);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	f->a = udp_sock(&f->pa, 0);
	f->a2 = udp_sock(&f->pa2, 0);
	/* B needs RTP and RTP+1 for RTCP: find a free even pair */
	for (uint16_t p = 20000; p < 21000; p += 2) {
		uint16_t got;
		int x = socket(AF_INET, SOCK_DGRAM, 0), y = socket(AF_INET, SOCK_DGRAM, 0);
		struct netaddr na, nb;

		netaddr_from_str(&na, "127.0.0.1", p);
		netaddr_from_str(&nb, "127.0.0.1", (uint16_t)(p + 1));
		if (!bind(x, &na.sa, netaddr_len(&na)) && !bind(y, &nb.sa, netaddr_len(&nb))) {
			f->b = x;
			f->b_rtcp = y;
			f->pb = p;
			got = p;
			(void)got;
			break;
		}
		close(x);
		close(y);
	}
	assert_true(f->pb != 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	relay_shutdown(&f->r);
	close(f->a);
	close(f->a2);
	close(f->b);
	close(f->b_rtcp);
	snprintf(path, sizeof(path), "%s/calls.state", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* "ICE", "ICE-lite", "flags", "replace", "direction" of the next request (then reset) */
static const char *next_dir[2];
static enum ng_ice next_ice;
static enum ng_ice_lite next_lite;
static uint32_t next_flags, next_replace;
/* issue 12: transport-protocol, rtcp-mux, DTLS, DTLS-reverse, SDES-off */
static enum ng_transport next_transport;
static uint32_t next_rtcp_mux;
static enum ng_dtls next_dtls, next_dtls_reverse;
static bool next_sdes_off;
static int64_t next_delete_delay = -1; /* -1: no "delete-delay" key */

static int ng(struct fixture *f, enum ng_command cmd, const char *call, const char *from,
	      const char *to, const char *sdp)
{
	struct ng_request req;
	const struct ng_ops *ops = &relay_ng_ops;

	ng_request_init(&req, cmd);
	req.ice = next_ice;
	req.ice_lite = next_lite;
	req.flags = next_flags;
	req.replace = next_replace;
	req.transport = next_transport;
	req.rtcp_mux = next_rtcp_mux;
	req.dtls = next_dtls;
	req.dtls_reverse = next_dtls_reverse;
	req.sdes_off = next_sdes_off;
	next_transport = NG_TRANSPORT_UNSET;
	next_rtcp_mux = 0;
	next_dtls = next_dtls_reverse = NG_DTLS_UNSET;
	next_sdes_off = false;
	if (next_delete_delay >= 0) {
		req.has_delete_delay = true;
		req.delete_delay = next_delete_delay;
	}
	next_delete_delay = -1;
	next_ice = NG_ICE_UNSET;
	next_lite = NG_ICE_LITE_UNSET;
	next_flags = next_replace = 0;
	if (next_dir[0]) {
		snprintf(req.direction[0], sizeof(req.direction[0]), "%s", next_dir[0]);
		snprintf(req.direction[1], sizeof(req.direction[1]), "%s", next_dir[1]);
		req.n_direction = 2;
		next_dir[0] = next_dir[1] = NULL;
	}
	snprintf(req.call_id, sizeof(req.call_id), "%s", call);
	snprintf(req.from_tag, sizeof(req.from_tag), "%s", from ? from : "");
	snprintf(req.to_tag, sizeof(req.to_tag), "%s", to ? to : "");
	if (sdp) {
		req.sdp.s = sdp;
		req.sdp.len = strlen(sdp);
	}
	memset(&f->rep, 0, sizeof(f->rep));
	f->rep.sdp = f->sdp_out;
	f->rep.sdp_cap = sizeof(f->sdp_out);
	switch (cmd) {
	case NG_CMD_OFFER:
		return ops->offer(&f->r, f->r.now_ms, &req, &f->rep);
	case NG_CMD_ANSWER:
		return ops->answer(&f->r, f->r.now_ms, &req, &f->rep);
	case NG_CMD_DELETE:
		return ops->delete_call(&f->r, f->r.now_ms, &req, &f->rep);
	case NG_CMD_QUERY:
		return ops->query(&f->r, f->r.now_ms, &req, &f->rep);
	default:
		return ops->statistics(&f->r, f->r.now_ms, &req, &f->rep);
	}
}

static uint16_t reply_port(struct fixture *f)
{
	struct sdp s;
	struct netaddr a;

	f->sdp_out[f->rep.sdp_len] = 0;
	assert_int_equal(sdp_parse(&s, f->rep.sdp, f->rep.sdp_len, NULL, 0), 0);
	assert_int_equal(sdp_media_default_addr(&s, 0, &a), 0);
	sdp_free(&s);
	return netaddr_port(&a);
}

static void send_to(int fd, uint16_t port, const uint8_t *pkt, size_t len)
{
	struct netaddr d;

	netaddr_from_str(&d, "127.0.0.1", port);
	assert_int_equal(sendto(fd, pkt, len, 0, &d.sa, netaddr_len(&d)), (ssize_t)len);
}

/* Run the relay until fd has a datagram (or 2 s): its length, source port. */
static ssize_t recv_via_relay(struct fixture *f, int fd, uint8_t *buf, size_t cap, uint16_t *from)
{
	struct netaddr src;
	socklen_t l = sizeof(src);

	for (int i = 0; i < 200; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		relay_poll(&f->r, 0);
		if (poll(&p, 1, 10) == 1) {
			ssize_t n = recvfrom(fd, buf, cap, 0, &src.sa, &l);

			*from = netaddr_port(&src);
			return n;
		}
	}
	return -ETIMEDOUT;
}

static const uint8_t rtp[172] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78};
static const uint8_t rtcp[8] = {0x80, 200,  0x00, 0x01,
				0x12, 0x34, 0x56, 0x78}; /* SR, RFC 3550 6.4.1 */

static void phones(struct fixture *f, const char *call, uint16_t *ra, uint16_t *rb)
{
	char offer[512], answer[512];

	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=sendrecv\r\n",
		 f->pa);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=sendrecv\r\n",
		 f->pb);
	assert_int_equal(ng(f, NG_CMD_OFFER, call, "ta", NULL, offer), 0);
	*rb = reply_port(f);
	assert_null(strstr(f->sdp_out, "ice-ufrag")); /* no ICE in, none out */
	assert_int_equal(ng(f, NG_CMD_ANSWER, call, "ta", "tb", answer), 0);
	*ra = reply_port(f);
	assert_int_not_equal(*ra, *rb);
	assert_int_equal(*ra % 2, 0); /* RTP even (RFC 3550 §11) */
}

static void plain_rtp_call(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	uint16_t ra, rb, from;
	ssize_t n;

	phones(f, "plain-1", &ra, &rb);
	assert_string_equal(f->rep.warning, "");
	/* A -> relay(ra) -> B, from the relay's B-side port */
	send_to(f->a, ra, rtp, sizeof(rtp));
	n = recv_via_relay(f, f->b, buf, sizeof(buf), &from);
	assert_int_equal(n, sizeof(rtp));
	assert_memory_equal(buf, rtp, sizeof(rtp));
	assert_int_equal(from, rb);
	/* B -> relay(rb) -> A at the SDP address */
	send_to(f->b, rb, rtp, sizeof(rtp));
	n = recv_via_relay(f, f->a, buf, sizeof(buf), &from);
	assert_int_equal(n, sizeof(rtp));
	assert_int_equal(from, ra);
	/* RTCP on RTP+1 both sides (no rtcp-mux) */
	send_to(f->a, (uint16_t)(ra + 1), rtcp, sizeof(rtcp));
	n = recv_via_relay(f, f->b_rtcp, buf, sizeof(buf), &from);
	assert_int_equal(n, sizeof(rtcp));
	assert_int_equal(from, rb + 1);
	/* query: per-stream userspace counters, RTCP counted as RTCP (issue
	 * 14: it was counted on the RTP stream, the RTCP one showed 0),
	 * nothing on the fast path */
	assert_int_equal(ng(f, NG_CMD_QUERY, "plain-1", NULL, NULL, NULL), 0);
	assert_true(f->rep.has_call);
	assert_int_equal(f->rep.call.n_legs, 2);
	assert_string_equal(f->rep.call.legs[0].tag, "ta");
	assert_int_equal(f->rep.call.legs[0].medias[0].n_streams, 2);
	assert_false(f->rep.call.legs[0].medias[0].streams[0].rtcp);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].userspace.packets, 1);
	assert_true(f->rep.call.legs[0].medias[0].streams[1].rtcp);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[1].userspace.packets, 1);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[1].userspace.bytes, sizeof(rtcp));
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].fastpath.packets, 0);
	assert_int_equal(f->rep.call.legs[1].medias[0].streams[0].userspace.packets, 1);
	assert_false(f->rep.call.legs[0].medias[0].streams[0].kernelized);
	assert_string_equal(f->rep.call.legs[0].ice.state, "");
	assert_int_equal(ng(f, NG_CMD_DELETE, "plain-1", NULL, NULL, NULL), 0);
	assert_int_equal(ng(f, NG_CMD_QUERY, "plain-1", NULL, NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "Unknown call-id"));
	assert_int_equal(f->r.ports.nused, 0);
}

/* rtcp-mux (RFC 5761): RTCP on the RTP port is still counted as RTCP, told
 * apart by payload type (demux.h), on a stream of its own in query. */
static void rtcp_mux_counted_as_rtcp(void **state)
{
	struct fixture *f = *state;
	char offer[512], answer[512];
	uint8_t buf[2048];
	uint16_t ra, rb, from;
	const struct ng_media *m;

	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtcp-mux\r\na=sendrecv\r\n",
		 f->pa);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtcp-mux\r\na=sendrecv\r\n",
		 f->pb);
	assert_int_equal(ng(f, NG_CMD_OFFER, "mux-1", "ta", NULL, offer), 0);
	rb = reply_port(f);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "mux-1", "ta", "tb", answer), 0);
	ra = reply_port(f);
	send_to(f->a, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	for (int i = 0; i < 3; i++) {
		send_to(f->a, ra, rtcp, sizeof(rtcp));
		assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtcp));
		assert_int_equal(from, rb); /* muxed both ways: on the RTP port */
	}
	assert_int_equal(ng(f, NG_CMD_QUERY, "mux-1", NULL, NULL, NULL), 0);
	m = &f->rep.call.legs[0].medias[0];
	assert_true(m->flags & NG_MEDIA_RTCP_MUX);
	assert_int_equal(m->n_streams, 2);
	assert_int_equal(m->streams[0].userspace.packets, 1);
	assert_true(m->streams[1].rtcp);
	assert_int_equal(m->streams[1].local_port, ra); /* one port for both */
	assert_int_equal(m->streams[1].userspace.packets, 3);
	assert_int_equal(m->streams[1].userspace.bytes, 3 * sizeof(rtcp));
	/* and in /metrics: 3 RTCP received from A, 3 sent toward B */
	{
		static struct metrics_snapshot snap;

		memset(&snap, 0, sizeof(snap));
		relay_metrics_snapshot(&f->r, &snap);
		assert_int_equal(snap.rtcp_packets[METRICS_PATH_USER][METRICS_DIR_RX], 3);
		assert_int_equal(snap.rtcp_packets[METRICS_PATH_USER][METRICS_DIR_TX], 3);
		assert_int_equal(snap.packets[METRICS_PATH_USER][METRICS_DIR_RX], 4);
	}
}

/* direction=lo,v6: an IPv4 phone on one side, an IPv6 one on the other */
static void ipv4_to_ipv6(void **state)
{
	struct fixture *f = *state;
	char offer[512], answer[512];
	struct netaddr b6, d;
	socklen_t l = sizeof(d);
	uint8_t buf[2048];
	uint16_t ra, rb, pb6, from;
	int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	ssize_t n = -1;

	netaddr_from_str(&b6, "::1", 0);
	assert_int_equal(bind(fd6, &b6.sa, netaddr_len(&b6)), 0);
	getsockname(fd6, &b6.sa, &l);
	pb6 = netaddr_port(&b6);
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pa);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 pb6);
	next_dir[0] = "lo";
	next_dir[1] = "v6";
	assert_int_equal(ng(f, NG_CMD_OFFER, "v6-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "c=IN IP6 ::1\r\n"));
	rb = reply_port(f);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "v6-1", "ta", "tb", answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "c=IN IP4 127.0.0.1\r\n"));
	ra = reply_port(f);
	send_to(f->a, ra, rtp, sizeof(rtp));
	for (int i = 0; i < 200 && n < 0; i++) {
		struct pollfd p = {.fd = fd6, .events = POLLIN};

		relay_poll(&f->r, 0);
		if (poll(&p, 1, 10) == 1)
			n = recvfrom(fd6, buf, sizeof(buf), 0, &d.sa, &(socklen_t){sizeof(d)});
	}
	assert_int_equal(n, sizeof(rtp));
	assert_int_equal(netaddr_family(&d), AF_INET6);
	assert_int_equal(netaddr_port(&d), rb);
	netaddr_from_str(&d, "::1", rb);
	assert_int_equal(sendto(fd6, rtp, sizeof(rtp), 0, &d.sa, netaddr_len(&d)), sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->a, buf, sizeof(buf), &from), sizeof(rtp));
	assert_int_equal(from, ra);
	/* an interface that does not exist is named */
	next_dir[0] = "lo";
	next_dir[1] = "wan";
	assert_int_equal(ng(f, NG_CMD_OFFER, "v6-2", "ta", NULL, offer), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "interface 'wan' is not configured"));
	close(fd6);
}

/* Nothing arrives on fd while the relay runs for a while. */
static void assert_nothing(struct fixture *f, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (int i = 0; i < 50; i++)
		relay_poll(&f->r, 5);
	assert_int_equal(poll(&p, 1, 0), 0);
}

/*
 * rtpengine's latching flags: "strict-source" drops packets from another
 * source once latched; "media-handover" re-latches to the newest source;
 * the default keeps the latched peer and drops the others (see
 * endpoint_learning); a re-offer whose SDP moves the peer makes the relay
 * learn again.
 */
static void latching_modes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	uint16_t ra, rb, from, pa3;
	int a3 = udp_sock(&pa3, 0);
	char offer[512];

	/* the modes act on a learned peer: learn it from the first packet */
	relay_shutdown(&f->r);
	f->o.learning = DAEMON_LEARN_IMMEDIATE;
	assert_int_equal(relay_init(&f->r, &f->o), 0);

	/* strict-source: latched to pa2, a packet from pa is dropped */
	next_flags = NG_FLAG_STRICT_SOURCE;
	phones(f, "strict-1", &ra, &rb);
	assert_string_equal(f->rep.warning, "");
	assert_int_equal(call_find(&f->r.calls, "strict-1")->latch, CALL_LATCH_STRICT);
	send_to(f->a2, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	send_to(f->a, ra, rtp, sizeof(rtp));
	assert_nothing(f, f->b);
	assert_int_equal(call_find(&f->r.calls, "strict-1")->legs[0].streams[0].dropped, 1);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->a2, buf, sizeof(buf), &from), sizeof(rtp));
	/* the mode survives a restart from the state file */
	assert_int_equal(relay_state_save(&f->r), 0);
	relay_shutdown(&f->r);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	assert_int_equal(call_find(&f->r.calls, "strict-1")->latch, CALL_LATCH_STRICT);
	send_to(f->a, ra, rtp, sizeof(rtp));
	assert_nothing(f, f->b);
	assert_int_equal(ng(f, NG_CMD_DELETE, "strict-1", "ta", NULL, NULL), 0);

	/* media-handover: the stream follows the newest source */
	next_flags = NG_FLAG_MEDIA_HANDOVER;
	phones(f, "handover-1", &ra, &rb);
	send_to(f->a2, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	send_to(f->a, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->a, buf, sizeof(buf), &from), sizeof(rtp));
	assert_nothing(f, f->a2);
	assert_int_equal(ng(f, NG_CMD_DELETE, "handover-1", "ta", NULL, NULL), 0);

	/* default: latched to pa2; a re-offer moving A to pa3 learns again
	 * (media goes to the new SDP address before A sends anything) */
	phones(f, "move-1", &ra, &rb);
	send_to(f->a2, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=sendrecv\r\n",
		 f->pa); /* the same SDP again: still latched to pa2 */
	assert_int_equal(ng(f, NG_CMD_OFFER, "move-1", "ta", NULL, offer), 0);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->a2, buf, sizeof(buf), &from), sizeof(rtp));
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=sendrecv\r\n",
		 pa3);
	assert_int_equal(ng(f, NG_CMD_OFFER, "move-1", "ta", NULL, offer), 0);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, a3, buf, sizeof(buf), &from), sizeof(rtp));
	assert_nothing(f, f->a2);
	close(a3);
}

static void state_file_restart(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	uint16_t ra, rb, from;

	phones(f, "restart-1", &ra, &rb);
	send_to(f->a2, ra, rtp, sizeof(rtp)); /* latch A to pa2 before the "crash" */
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	assert_int_equal(relay_state_save(&f->r), 0);
	/* a daemon that stops without running (as after kill -9) leaves the file */
	relay_shutdown(&f->r);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	assert_int_equal(f->r.calls.ncalls, 1);
	assert_non_null(call_find(&f->r.calls, "restart-1"));
	/* same ports, same latched peer */
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->a2, buf, sizeof(buf), &from), sizeof(rtp));
	assert_int_equal(from, ra);
	send_to(f->a2, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	assert_int_equal(from, rb);
}

/*
 * Recovered state is the state (issue 14): what a stream learned and what
 * its SDP only announced are kept apart in the file. A's RTP latched (its
 * source matched the SDP); its RTCP never came before the crash, so after
 * the restart it still learns: A's RTCP from another port of its address (a
 * NAT's) is taken, and B's RTCP goes there. Version 1 took every recovered
 * remote as latched: that RTCP was dropped as foreign and B's went to the
 * announced private port for good. The counters are not reset either.
 */
static void recovered_learning_and_counters(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	uint16_t ra, rb, from;
	const struct call_stream *sa;
	struct ng_stream before[2];

	phones(f, "learn-1", &ra, &rb);
	for (int i = 0; i < 3; i++) {
		send_to(f->a, ra, rtp, sizeof(rtp)); /* the SDP's own port: latched */
		assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	}
	send_to(f->b_rtcp, (uint16_t)(rb + 1), rtcp, sizeof(rtcp)); /* B's RTCP, A's never */
	for (int i = 0; i < 20; i++)
		relay_poll(&f->r, 2);
	sa = &call_find(&f->r.calls, "learn-1")->legs[0].streams[0];
	assert_true(sa->latched[CALL_COMP_RTP]);
	assert_true(sa->latched_ms[CALL_COMP_RTP] > 0);
	assert_false(sa->latched[CALL_COMP_RTCP]);
	assert_int_equal(ng(f, NG_CMD_QUERY, "learn-1", NULL, NULL, NULL), 0);
	memcpy(before, f->rep.call.legs[0].medias[0].streams, sizeof(before));
	assert_int_equal(before[0].userspace.packets, 3);

	/* the "crash": the file as the last commit left it, a new daemon */
	assert_int_equal(relay_state_commit(&f->r, f->r.now_ms), 0);
	relay_shutdown(&f->r);
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	sa = &call_find(&f->r.calls, "learn-1")->legs[0].streams[0];
	assert_true(sa->latched[CALL_COMP_RTP]);
	assert_false(sa->latched[CALL_COMP_RTCP]);
	assert_true(sa->sdp_set[CALL_COMP_RTP]);
	assert_int_equal(netaddr_port(&sa->sdp_remote[CALL_COMP_RTP]), f->pa);
	/* counters survive */
	assert_int_equal(ng(f, NG_CMD_QUERY, "learn-1", NULL, NULL, NULL), 0);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].userspace.packets,
			 before[0].userspace.packets);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].userspace.bytes,
			 before[0].userspace.bytes);
	assert_int_equal(f->rep.call.legs[1].medias[0].streams[1].userspace.packets, 1);

	/* A's RTCP, through its NAT (another port): learned, and B's RTCP
	 * follows it there */
	send_to(f->a2, (uint16_t)(ra + 1), rtcp, sizeof(rtcp));
	assert_int_equal(recv_via_relay(f, f->b_rtcp, buf, sizeof(buf), &from), sizeof(rtcp));
	send_to(f->b_rtcp, (uint16_t)(rb + 1), rtcp, sizeof(rtcp));
	assert_int_equal(recv_via_relay(f, f->a2, buf, sizeof(buf), &from), sizeof(rtcp));
	assert_int_equal(from, ra + 1);
	/* the latched RTP stays latched: a stray source is still foreign */
	send_to(f->a2, ra, rtp, sizeof(rtp));
	for (int i = 0; i < 20; i++)
		relay_poll(&f->r, 2);
	assert_int_equal(call_find(&f->r.calls, "learn-1")->legs[0].streams[0].foreign, 1);
}

/* Run the relay until fd gets a datagram of the wanted kind (STUN or not). */
static ssize_t recv_kind(struct fixture *f, int fd, bool stun, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < 300; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		relay_poll(&f->r, 0);
		if (poll(&p, 1, 10) != 1)
			continue;
		n = recv(fd, buf, cap, 0);
		if (n > 0 && stun_is_message(buf, (size_t)n) == stun)
			return n;
	}
	return -ETIMEDOUT;
}

/*
 * kill -9 and restart: a recovered ICE leg runs RFC 7675 consent toward its
 * peer (checks with the peer's credentials, its role, a fresh transaction
 * id each), keeps forwarding while the peer answers, stops when it does not
 * for the consent timeout (cut to 1.5 s here), and then stays lost: only an
 * ICE restart brings consent back (RFC 7675 §5.1).
 */
static void recovered_consent(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048], out[512];
	char path[128], user[600];
	struct stun_builder b;
	struct stun_msg m;
	const struct stun_attr *at;
	struct call_leg *la;
	uint16_t ra = f->o.port_min, rb = (uint16_t)(f->o.port_min + 2);
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/calls.state", f->dir);
	relay_shutdown(&f->r);
	fp = fopen(path, "w");
	/* leg 0: a WebRTC peer (A, pa) that the relay connected by ICE before
	 * the crash; leg 1: a plain phone (B) */
	fprintf(fp,
		"icepath-state 1\ncall cons-1 0\nleg 0 ta lo 1 0\n"
		"stream 0 0 1 1 audio UDP/TLS/RTP/SAVPF 127.0.0.1:%u 127.0.0.1:%u - 0 0 "
		"relayufrag relaypasswordrelaypassword peerufrag peerpasswordpeerpassword\n"
		"leg 1 tb lo 0 0\n"
		"stream 1 0 1 0 audio RTP/AVP 127.0.0.1:%u 127.0.0.1:%u 127.0.0.1:%u 0 0 - -\n"
		"end\n",
		ra, f->pa, rb, f->pb, f->pb + 1);
	fclose(fp);
	f->o.consent_interval_ms = 200;
	f->o.consent_timeout_ms = 1500;
	assert_int_equal(relay_init(&f->r, &f->o), 0);
	la = &call_find(&f->r.calls, "cons-1")->legs[0];
	assert_int_equal(la->state, CALL_LEG_STATE_CONNECTED);

	/* the relay's check toward A: RFC 8445 §7.2.2 USERNAME, A's password,
	 * controlled (the relay answered A's offer) */
	n = recv_kind(f, f->a, true, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(stun_parse(&m, buf, (size_t)n) > 0);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	at = stun_msg_find(&m, STUN_ATTR_USERNAME);
	assert_non_null(at);
	assert_int_equal(stun_attr_get_string(&m, at, user, sizeof(user)), 0);
	assert_string_equal(user, "peerufrag:relayufrag");
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"peerpasswordpeerpassword", 24),
			 0);
	assert_non_null(stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLED));
	assert_non_null(stun_msg_find(&m, STUN_ATTR_PRIORITY));

	/* answered (as A would): consent holds, B's media reaches A */
	for (int round = 0; round < 3; round++) {
		stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS,
				m.tid);
		stun_build_integrity(&b, (const uint8_t *)"peerpasswordpeerpassword", 24);
		stun_build_fingerprint(&b);
		send_to(f->a, ra, out, (size_t)stun_build_finish(&b));
		n = recv_kind(f, f->a, true, buf, sizeof(buf));
		assert_true(n > 0);
		assert_true(stun_parse(&m, buf, (size_t)n) > 0);
	}
	assert_true(la->streams[0].consent);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_kind(f, f->a, false, buf, sizeof(buf)), sizeof(rtp));

	/* A vanishes: no more answers; consent is lost, forwarding stops */
	for (int i = 0; i < 1000 && la->state != CALL_LEG_STATE_CONSENT_LOST; i++)
		relay_poll(&f->r, 10);
	assert_int_equal(la->state, CALL_LEG_STATE_CONSENT_LOST);
	assert_false(la->streams[0].consent);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_kind(f, f->a, false, buf, sizeof(buf)), -ETIMEDOUT);
	assert_true(call_find(&f->r.calls, "cons-1")->legs[1].streams[0].dropped >= 1);

	/* RFC 7675 §5.1: lost consent is final until an ICE restart: the
	 * resumed agent sends no more checks, and media toward A stays held */
	assert_int_equal(recv_kind(f, f->a, true, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(la->state, CALL_LEG_STATE_CONSENT_LOST);
	send_to(f->b, rb, rtp, sizeof(rtp));
	assert_int_equal(recv_kind(f, f->a, false, buf, sizeof(buf)), -ETIMEDOUT);
}

/* A state file that is cut, garbled or from elsewhere costs calls, never the daemon. */
static void state_file_malformed(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"not-icepath 1\ncall x 0\nend\n",
		"icepath-state 3\ncall x 0\nend\n", /* a version from the future */
		"icepath-state 2\ncall x 0\nleg 0 a lo 0 0\nleg 1 b lo 0 0\n", /* torn commit */
		"icepath-state 2\ncall y 0\nleg 0 a lo 0 0\nstream 0 0 1 0 audio RTP/AVP "
		"127.0.0.1:30000 - - 0 0 - -\nlearn 0 0 0 1\nend\n",
		"icepath-state 1\ncall x 0\nleg 0 a lo 0 0\nleg 1 b lo 0 0\n", /* no end */
		"icepath-state 1\ncall\nend\n",
		"icepath-state 1\ncall y 0\nleg 7 a lo 0 0\nend\n",
		"icepath-state 1\ncall y 0\nleg 0 a nosuchif 0 0\nstream 0 0 1 0 audio RTP/AVP "
		"127.0.0.1:30000 - - 0 0 - -\nend\n",
		"icepath-state 1\ncall y 0\nleg 0 a lo 0 0\nstream 0 99 1 0 audio RTP/AVP "
		"127.0.0.1:30000 - - 0 0 - -\nend\n",
		"icepath-state 1\ncall y 0\nleg 0 a lo 0 0\nstream 0 0 1 0 audio RTP/AVP "
		"192.0.2.1:30000 - - 0 0 - -\nend\n", /* not the interface's address */
		"icepath-state 1\ncall y 0\nleg 0 a lo 0 0\nstream 0 0 1 0 audio RTP/AVP "
		"127.0.0.1:30000 nonsense - 0 0 - -\nend\n",
		"icepath-state 1\ncall y 0\nleg 0 %zz lo 0 0\nend\n",
		"icepath-state 1\ncall y 0\nleg 0 a lo 0 0\nstream 0 0 1\nend\n",
	};
	char path[128];

	snprintf(path, sizeof(path), "%s/calls.state", f->dir);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		FILE *fp;

		relay_shutdown(&f->r);
		fp = fopen(path, "w");
		fputs(bad[i], fp);
		fclose(fp);
		assert_int_equal(relay_init(&f->r, &f->o), 0);
		if (f->r.calls.ncalls)
			fail_msg("case %zu: a broken record gave a call", i);
		assert_int_equal(f->r.ports.nused, 0);
	}
}

static void inactivity_deletes(void **state)
{
	struct fixture *f = *state;
	uint16_t ra, rb;

	f->r.opts.inactivity_s = 1;
	phones(f, "idle-1", &ra, &rb);
	for (int i = 0; i < 300 && f->r.calls.ncalls; i++)
		relay_poll(&f->r, 10);
	assert_int_equal(f->r.calls.ncalls, 0);
	assert_int_equal(f->r.ports.nused, 0);
}

static void ng_errors(void **state)
{
	struct fixture *f = *state;
	char big[4096], offer[256];
	size_t n = 0;

	/* options the relay does not act on are named in a warning */
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pa);
	netaddr_from_str(&f->r.opts.ifaces[0].advertised, "192.0.2.77", 0);
	next_flags = NG_FLAG_LOOP_PROTECT | NG_FLAG_TRUST_ADDRESS;
	next_replace = NG_REPLACE_ORIGIN | NG_REPLACE_USERNAME;
	assert_int_equal(ng(f, NG_CMD_OFFER, "warn-1", "x", NULL, offer), 0);
	assert_non_null(strstr(f->rep.warning, "loop-protect"));
	assert_null(strstr(f->rep.warning, "trust-address"));
	assert_non_null(strstr(f->rep.warning, "username"));
	assert_null(strstr(f->rep.warning, "origin"));
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "o=a 1 1 IN IP4 192.0.2.77\r\n")); /* replace=origin */
	assert_int_equal(ng(f, NG_CMD_DELETE, "warn-1", NULL, NULL, NULL), 0);

	assert_int_equal(ng(f, NG_CMD_ANSWER, "nope", "x", "y", "v=0\r\n"), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "unknown call-id 'nope'"));
	assert_int_equal(ng(f, NG_CMD_OFFER, "c", "x", NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "without 'sdp'"));
	assert_int_equal(ng(f, NG_CMD_OFFER, "c", NULL, NULL, "v=0\r\n"), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "from-tag"));
	assert_int_equal(ng(f, NG_CMD_OFFER, "c", "x", NULL, "v=0\r\nm=audio\r\n"), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "SDP refused"));
	n += (size_t)snprintf(big + n, sizeof(big) - n, "v=0\r\nc=IN IP4 127.0.0.1\r\n");
	for (int i = 0; i < CALL_MAX_STREAMS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "m=audio %d RTP/AVP 0\r\n",
				      5000 + 2 * i);
	assert_int_equal(ng(f, NG_CMD_OFFER, "c", "x", NULL, big), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "at most"));
	/* a failed offer leaves no call and no port behind */
	assert_int_equal(f->r.calls.ncalls, 0);
	assert_int_equal(f->r.ports.nused, 0);
	next_flags = NG_FLAG_FATAL;
	assert_int_equal(ng(f, NG_CMD_DELETE, "c", NULL, NULL, NULL), -EINVAL);
}

/*
 * rtpengine's delete: unknown call or tag is a warning unless "fatal"; a
 * from-tag of either party (with or without the to-tag) deletes the call;
 * "delete-delay" keeps it forwarding for that long; a new offer cancels.
 */
static void delete_semantics(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	uint16_t ra, rb, from;
	struct call *c;

	phones(f, "del-1", &ra, &rb);
	assert_int_equal(ng(f, NG_CMD_DELETE, "no-such-call", "ta", NULL, NULL), 0);
	assert_non_null(strstr(f->rep.warning, "Unknown call-id 'no-such-call'"));
	next_flags = NG_FLAG_FATAL;
	assert_int_equal(ng(f, NG_CMD_DELETE, "no-such-call", "ta", NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "Unknown call-id"));
	/* a tag of no party of this call deletes nothing */
	assert_int_equal(ng(f, NG_CMD_DELETE, "del-1", "other-branch", NULL, NULL), 0);
	assert_non_null(strstr(f->rep.warning, "from-tag 'other-branch'"));
	assert_int_equal(f->r.calls.ncalls, 1);
	next_flags = NG_FLAG_FATAL;
	assert_int_equal(ng(f, NG_CMD_DELETE, "del-1", "other-branch", NULL, NULL), -EINVAL);
	assert_int_equal(f->r.calls.ncalls, 1);
	/* the callee's BYE (its tag as from-tag), 1 s delete-delay: the call
	 * still forwards, then goes with its ports */
	next_delete_delay = 1;
	assert_int_equal(ng(f, NG_CMD_DELETE, "del-1", "tb", "ta", NULL), 0);
	assert_string_equal(f->rep.warning, "");
	assert_true(f->rep.has_call); /* the reply carries the call's statistics */
	assert_int_equal(f->r.calls.ncalls, 1);
	send_to(f->a, ra, rtp, sizeof(rtp));
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	for (int i = 0; i < 400 && f->r.calls.ncalls; i++)
		relay_poll(&f->r, 10);
	assert_int_equal(f->r.calls.ncalls, 0);
	assert_int_equal(f->r.ports.nused, 0);
	/* a re-offer during the delay cancels the deletion */
	phones(f, "del-2", &ra, &rb);
	next_delete_delay = 30;
	assert_int_equal(ng(f, NG_CMD_DELETE, "del-2", "ta", "tb", NULL), 0);
	c = call_find(&f->r.calls, "del-2");
	assert_non_null(c);
	assert_true(c->delete_at_ms != 0);
	phones(f, "del-2", &ra, &rb);
	assert_int_equal(c->delete_at_ms, 0);
	assert_int_equal(c->delete_timer.index, SIZE_MAX);
	/* from-tag + to-tag, no delay: the call is gone at once */
	assert_int_equal(ng(f, NG_CMD_DELETE, "del-2", "ta", "tb", NULL), 0);
	assert_null(call_find(&f->r.calls, "del-2"));
	assert_int_equal(f->r.ports.nused, 0);
}

static void ice_offer_gets_relay_ice(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=group:BUNDLE 0\r\n"
				    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
				    "a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n"
				    "a=rtpmap:111 opus/48000/2\r\n";
	struct sdp s;
	struct sdp_ice_desc *d = malloc(sizeof(*d));

	assert_int_equal(ng(f, NG_CMD_OFFER, "ice-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_int_equal(sdp_parse(&s, f->rep.sdp, f->rep.sdp_len, NULL, 0), 0);
	assert_int_equal(sdp_ice_extract(&s, 0, d, NULL, 0), 0);
	assert_string_not_equal(d->ufrag, "peer");
	assert_true(strlen(d->ufrag) >= 4 && strlen(d->pwd) >= 22); /* RFC 8839 §5.4 */
	assert_int_equal(d->n_cands, 1);			    /* rtcp-mux: one component */
	assert_true(netaddr_equal(&d->cands[0].addr, &d->default_rtp));
	assert_true(d->end_of_candidates);
	assert_non_null(strstr(f->sdp_out, "a=fingerprint:sha-256 AB:CD\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=group:BUNDLE 0\r\n"));
	assert_null(strstr(f->sdp_out, "40000"));
	sdp_free(&s);
	free(d);
	/* query: ICE on leg A (checking), consent none yet */
	assert_int_equal(ng(f, NG_CMD_QUERY, "ice-1", NULL, NULL, NULL), 0);
	assert_string_not_equal(f->rep.call.legs[0].ice.state, "");
	assert_false(f->rep.call.legs[0].ice.has_pair);
	assert_int_equal(ng(f, NG_CMD_STATISTICS, "", NULL, NULL, NULL), 0);
	assert_int_equal(f->rep.stats.sessions_own, 1);
}

/*
 * Issue 12: the browser-to-trunk flags make each leg's SDP say what that leg
 * speaks (the plain side: RTP/AVP, no fingerprint/setup/ICE/rtcp-mux/BUNDLE;
 * the browser: UDP/TLS/RTP/SAVPF with the relay's fingerprint, a=setup:passive,
 * ICE, a=rtcp-mux and its a=mid), and such a call is terminated (no XDP
 * flow). Without the flags, the same offer passes DTLS through untouched.
 */
#define FP32                                                                                   \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:" \
	"DD:EE:FF"
static void webrtc_to_plain_sdp(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=group:BUNDLE 0\r\n"
				    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
				    "a=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
				    "a=fingerprint:sha-256 " FP32 "\r\na=setup:actpass\r\n"
				    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";
	static const char answer[] = "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
				     "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
				     "m=audio 41000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	char fp[128];
	struct call *c;

	next_ice = NG_ICE_REMOVE;
	next_dtls = NG_DTLS_OFF;
	next_sdes_off = true;
	next_transport = NG_TRANSPORT_RTP_AVP;
	next_rtcp_mux = NG_RTCP_MUX_DEMUX;
	next_dtls_reverse = NG_DTLS_PASSIVE;
	assert_int_equal(ng(f, NG_CMD_OFFER, "gw-1", "browser", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, " RTP/AVP 111 0\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=rtcp:")); /* its own RTCP port */
	assert_null(strstr(f->sdp_out, "a=rtcp:9 "));
	for (const char *const *a = (const char *const[]){"a=fingerprint", "a=setup", "a=ice-",
							   "a=candidate", "a=rtcp-mux",
							   "a=group:BUNDLE", NULL};
	     *a; a++)
		if (strstr(f->sdp_out, *a))
			fail_msg("the plain side's offer has %s:\n%s", *a, f->sdp_out);
	assert_string_equal(f->rep.warning, "");
	c = call_find(&f->r.calls, "gw-1");
	assert_non_null(c);
	assert_true(relay_call_terminated(c));

	next_ice = NG_ICE_FORCE;
	next_dtls = NG_DTLS_PASSIVE;
	next_transport = NG_TRANSPORT_UDP_TLS_RTP_SAVPF;
	next_rtcp_mux = NG_RTCP_MUX_REQUIRE;
	assert_int_equal(ng(f, NG_CMD_ANSWER, "gw-1", "browser", "trunk", answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	snprintf(fp, sizeof(fp), "a=fingerprint:%s\r\n", dtls_ctx_fingerprint(f->r.dtls_ctx));
	assert_non_null(strstr(f->sdp_out, " UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(f->sdp_out, fp));
	assert_non_null(strstr(f->sdp_out, "a=setup:passive\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=rtcp-mux\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=mid:0\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=ice-ufrag:"));
	assert_null(strstr(f->sdp_out, "a=rtcp:"));
	assert_true(c->legs[0].streams[0].rtcp_mux);	/* the browser muxes */
	assert_false(c->legs[1].streams[0].rtcp_mux);	/* the trunk does not */
	assert_string_equal(f->rep.warning, "");

	/* no flags: browser to browser, DTLS passes through untouched */
	assert_int_equal(ng(f, NG_CMD_OFFER, "gw-2", "a", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, " UDP/TLS/RTP/SAVPF 111 0\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=fingerprint:sha-256 " FP32 "\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=setup:actpass\r\n"));
	assert_false(relay_call_terminated(call_find(&f->r.calls, "gw-2")));

	/* DTLS flags alone on a one-protocol call: said to pass through */
	next_dtls = NG_DTLS_PASSIVE;
	assert_int_equal(ng(f, NG_CMD_OFFER, "gw-3", "a", NULL, offer), 0);
	assert_non_null(strstr(f->rep.warning, "passes through end to end"));
	assert_false(relay_call_terminated(call_find(&f->r.calls, "gw-3")));

	/* generate-mid: a phone's offer toward a browser gets a=mid */
	next_flags = NG_FLAG_GENERATE_MID;
	next_ice = NG_ICE_FORCE;
	next_transport = NG_TRANSPORT_UDP_TLS_RTP_SAVPF;
	next_rtcp_mux = NG_RTCP_MUX_OFFER;
	assert_int_equal(ng(f, NG_CMD_OFFER, "gw-4", "phone", NULL, answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, " UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=mid:0\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=setup:actpass\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=rtcp-mux\r\n"));
	assert_non_null(strstr(f->sdp_out, fp));
	assert_null(strstr(f->rep.warning, "generate-mid"));
}

/* strip-extmap: no a=extmap toward the leg that asked, session-level or
 * per section; the other attributes stay; without the flag they pass */
static void strip_extmap(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=extmap-allow-mixed\r\n"
				    "a=extmap:9 urn:ietf:params:rtp-hdrext:toffset\r\n"
				    "m=audio 40000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
				    "a=rtpmap:0 PCMU/8000\r\n"
				    "a=extmap:3/sendonly urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
				    "a=sendrecv\r\n";

	assert_int_equal(ng(f, NG_CMD_OFFER, "xm-1", "a", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=extmap:9 urn:ietf:params:rtp-hdrext:toffset\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=extmap:3/sendonly "));

	next_flags = NG_FLAG_STRIP_EXTMAP;
	assert_int_equal(ng(f, NG_CMD_OFFER, "xm-2", "a", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_null(strstr(f->sdp_out, "a=extmap:"));
	assert_non_null(strstr(f->sdp_out, "a=extmap-allow-mixed\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=rtpmap:0 PCMU/8000\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=sendrecv\r\n"));
	assert_null(strstr(f->rep.warning, "strip-extmap"));
}

static void bundle_members(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=group:BUNDLE a v\r\n"
				    "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=mid:a\r\na=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
				    "m=video 40000 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=mid:v\r\na=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n";
	static const char answer[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				     "a=group:BUNDLE a v\r\n"
				     "m=audio 40002 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
				     "a=mid:a\r\na=rtcp-mux\r\na=ice-ufrag:answ\r\n"
				     "a=ice-pwd:answpasswordanswpassword\r\n"
				     "a=candidate:1 1 udp 2122260223 127.0.0.1 40002 typ host\r\n"
				     "m=video 40002 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\n"
				     "a=mid:v\r\na=rtcp-mux\r\n";
	struct call *c;

	assert_int_equal(ng(f, NG_CMD_OFFER, "bundle-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=group:BUNDLE a v\r\n"));
	assert_int_equal(ng(f, NG_CMD_ANSWER, "bundle-1", "ta", "tb", answer), 0);
	c = call_find(&f->r.calls, "bundle-1");
	for (int side = 0; side < 2; side++) {
		assert_false(c->legs[side].streams[0].bundled);
		assert_true(c->legs[side].streams[1].bundled);
	}
}

/* A free even port pair on loopback (RTP, RTCP = RTP + 1). */
static void udp_pair(int *rtp_fd, int *rtcp_fd, uint16_t *port)
{
	for (uint16_t p = 21000; p < 21990; p += 2) {
		int x = socket(AF_INET, SOCK_DGRAM, 0), y = socket(AF_INET, SOCK_DGRAM, 0);
		struct netaddr na, nb;

		netaddr_from_str(&na, "127.0.0.1", p);
		netaddr_from_str(&nb, "127.0.0.1", (uint16_t)(p + 1));
		if (!bind(x, &na.sa, netaddr_len(&na)) && !bind(y, &nb.sa, netaddr_len(&nb))) {
			*rtp_fd = x;
			*rtcp_fd = y;
			*port = p;
			return;
		}
		close(x);
		close(y);
	}
	fail_msg("no free port pair");
}

/* RTP (RFC 3550 §5.1) of pt/ssrc, seq; with a one-byte MID extension
 * (RFC 8285 §4.2, id 4) when mid is given; 40 bytes of payload. */
static size_t bundle_rtp(uint8_t *p, unsigned pt, uint32_t ssrc, uint16_t seq, const char *mid)
{
	size_t n = 12;

	memset(p, 0, 12);
	p[0] = mid ? 0x90 : 0x80;
	p[1] = (uint8_t)pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	if (mid) {
		memcpy(p + n, "\xbe\xde\x00\x01", 4);
		p[n + 4] = (uint8_t)(0x40 | (strlen(mid) - 1));
		memcpy(p + n + 5, mid, strlen(mid));
		memset(p + n + 5 + strlen(mid), 0, 3 - strlen(mid));
		n += 8;
	}
	memset(p + n, 0xa5, 40);
	return n + 40;
}

/* The SSRC of a datagram that fd receives through the relay (0 none). */
static uint32_t recv_ssrc(struct fixture *f, int fd, size_t at, uint8_t *buf, ssize_t *n)
{
	uint16_t from;

	*n = recv_via_relay(f, fd, buf, 2048, &from);
	if (*n < (ssize_t)(at + 4))
		return 0;
	return (uint32_t)buf[at] << 24 | (uint32_t)buf[at + 1] << 16 | (uint32_t)buf[at + 2] << 8 |
	       buf[at + 3];
}

/* Nothing more waits on fd (after the relay ran a few turns). */
static void assert_quiet(struct fixture *f, int fd)
{
	uint8_t buf[2048];
	uint16_t from;

	for (int i = 0; i < 5; i++)
		relay_poll(&f->r, 0);
	for (int i = 0; i < 3; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		relay_poll(&f->r, 0);
		if (poll(&p, 1, 20) == 1)
			fail_msg("unexpected datagram of %zd bytes", recv(fd, buf, sizeof(buf), 0));
	}
	(void)from;
}

/*
 * Issue 12: BUNDLE on one side (an SDES-SRTP peer that bundles audio and
 * video, rtcp-mux, on one port), a plain-RTP trunk with a port pair per
 * m= line on the other. The relay answers the bundling peer with its
 * group; what the peer sends on the one transport reaches the trunk's
 * audio or video port by SSRC (a=ssrc), by the MID header extension, or
 * by a payload type of one m= line; its SRTCP by sender SSRC; the trunk's
 * video comes back on the bundle transport under the relay's key; a packet
 * of no stream is dropped and counted ("BUNDLE undemuxed"), never sent to
 * a wrong port.
 */
static void bundle_to_plain_streams(void **state)
{
	struct fixture *f = *state;
	static const uint8_t key[30] = {1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11, 12, 13, 14, 15,
					16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
	char offer[2048], answer[1024];
	struct srtpctx *tx, *rx;
	struct sdes_crypto relay_key;
	const char *line, *eol;
	uint8_t pkt[256], buf[2048];
	uint16_t ra, pbv = 0, from;
	int bv = -1, bv_rtcp = -1;
	struct sdp s;
	struct netaddr na;
	size_t n;
	ssize_t got;
	struct call *c;

	udp_pair(&bv, &bv_rtcp, &pbv);
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "a=group:BUNDLE a v\r\n"
		 "m=audio %u RTP/SAVP 0\r\na=mid:a\r\na=rtcp-mux\r\n"
		 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\r\n"
		 "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
		 "a=ssrc:286331153 cname:peer\r\n" /* 0x11111111 */
		 "m=video %u RTP/SAVP 96 97\r\na=mid:v\r\na=rtcp-mux\r\n"
		 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\r\n"
		 "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
		 "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n",
		 f->pa, f->pa);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\nm=video %u RTP/AVP 96 97\r\n",
		 f->pb, pbv);
	next_transport = NG_TRANSPORT_RTP_AVP;
	next_rtcp_mux = NG_RTCP_MUX_DEMUX;
	assert_int_equal(ng(f, NG_CMD_OFFER, "bundle-gw", "peer", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	/* the trunk: a port pair per m= line, no group, no a=crypto */
	assert_null(strstr(f->sdp_out, "a=group:BUNDLE"));
	assert_null(strstr(f->sdp_out, "a=crypto"));
	assert_int_equal(sdp_parse(&s, f->rep.sdp, f->rep.sdp_len, NULL, 0), 0);
	assert_int_equal(s.n_media, 2);
	assert_int_equal(sdp_media_default_addr(&s, 1, &na), 0);
	assert_int_not_equal(netaddr_port(&na), reply_port(f));
	sdp_free(&s);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "bundle-gw", "peer", "trunk", answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	ra = reply_port(f);
	/* toward the peer: the group, its mids, the relay's key */
	assert_non_null(strstr(f->sdp_out, "a=group:BUNDLE a v\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=mid:a\r\n"));
	assert_non_null(strstr(f->sdp_out, "a=mid:v\r\n"));
	/* and the MID extension it offered, in both sections, though the
	 * trunk answered none: the relay demuxes by it */
	line = strstr(f->sdp_out, "a=extmap:4 " RELAY_BUNDLE_MID_URI "\r\n");
	assert_non_null(line);
	assert_non_null(strstr(line + 1, "a=extmap:4 " RELAY_BUNDLE_MID_URI "\r\n"));
	assert_true(line > strstr(f->sdp_out, "m=audio") && line < strstr(f->sdp_out, "m=video"));
	line = strstr(f->sdp_out, "a=crypto:");
	assert_non_null(line);
	eol = strstr(line, "\r\n");
	assert_int_equal(sdes_parse(line, (size_t)(eol - line), &relay_key, NULL, 0), 0);
	assert_string_equal(f->rep.warning, "");
	c = call_find(&f->r.calls, "bundle-gw");
	assert_true(c->legs[0].bundle.on);
	assert_false(c->legs[1].bundle.on);
	assert_true(c->legs[0].streams[1].bundled);

	assert_int_equal(srtpctx_new(&tx, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_OUTBOUND,
				     key, 16, key + 16, 14, 0),
			 0);
	assert_int_equal(srtpctx_new(&rx, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_INBOUND,
				     relay_key.key, relay_key.key_len, relay_key.salt,
				     relay_key.salt_len, 0),
			 0);
	/* audio by its a=ssrc: the trunk's audio port, decrypted */
	n = bundle_rtp(pkt, 0, 0x11111111, 1, NULL);
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_int_equal(recv_ssrc(f, f->b, 8, buf, &got), 0x11111111);
	assert_int_equal(got, 52);
	/* video of an SSRC no SDP line has, with MID "v": the video port */
	n = bundle_rtp(pkt, 96, 0x66666666, 1, "v");
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_int_equal(recv_ssrc(f, bv, 8, buf, &got), 0x66666666);
	assert_int_equal(got, 60);
	/* the same SSRC, latched, without the extension */
	n = bundle_rtp(pkt, 96, 0x66666666, 2, NULL);
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_int_equal(recv_ssrc(f, bv, 8, buf, &got), 0x66666666);
	/* RTX (PT 97, video's m= line only) of an unknown SSRC: video */
	n = bundle_rtp(pkt, 97, 0x77777777, 1, NULL);
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_int_equal(recv_ssrc(f, bv, 8, buf, &got), 0x77777777);
	/* SRTCP: an SR of the video sender on the muxed port reaches the
	 * trunk's video RTCP port, plain */
	memset(pkt, 0, 28);
	pkt[0] = 0x80;
	pkt[1] = 200;
	pkt[3] = 6;
	memcpy(pkt + 4, "\x66\x66\x66\x66", 4);
	n = 28;
	assert_int_equal(srtpctx_protect_rtcp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_int_equal(recv_ssrc(f, bv_rtcp, 4, buf, &got), 0x66666666);
	assert_int_equal(got, 28);
	/* a payload type of neither m= line, unknown SSRC: nowhere */
	n = bundle_rtp(pkt, 8, 0x88888888, 1, NULL);
	assert_int_equal(srtpctx_protect_rtp(tx, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	assert_quiet(f, f->b);
	assert_quiet(f, bv);
	/* the trunk's video comes back on the bundle transport, under the
	 * relay's key, from the port the peer sends to, with the MID of its
	 * m= line added (an SSRC the peer's SDP never named: a browser that
	 * negotiated the MID extension finds the stream by it, RFC 8843 §9.2) */
	n = bundle_rtp(pkt, 96, 0x99990001, 1, NULL);
	send_to(bv, (uint16_t)netaddr_port(&c->legs[1].streams[1].local[0]), pkt, n);
	got = recv_via_relay(f, f->a, buf, sizeof(buf), &from);
	assert_int_equal(from, ra);
	n = (size_t)got;
	assert_int_equal(srtpctx_unprotect_rtp(rx, buf, &n), 0);
	assert_int_equal(n, 52 + 8);
	assert_memory_equal(buf + 8, "\x99\x99\x00\x01", 4);
	assert_int_equal(buf[0], 0x90);
	assert_memory_equal(buf + 12, "\xbe\xde\x00\x01\x40v\x00\x00", 8);
	assert_memory_equal(buf + 20, pkt + 12, 40); /* the payload as it was */
	/* and the trunk's audio the MID "a" */
	n = bundle_rtp(pkt, 0, 0x99990002, 1, NULL);
	send_to(f->b, (uint16_t)netaddr_port(&c->legs[1].streams[0].local[0]), pkt, n);
	got = recv_via_relay(f, f->a, buf, sizeof(buf), &from);
	assert_int_equal(from, ra);
	n = (size_t)got;
	assert_int_equal(srtpctx_unprotect_rtp(rx, buf, &n), 0);
	assert_int_equal(n, 52 + 8);
	assert_memory_equal(buf + 12, "\xbe\xde\x00\x01\x40" "a\x00\x00", 8);
	/* query: the undemuxed packet on the bundle transport of the peer's leg */
	assert_int_equal(ng(f, NG_CMD_QUERY, "bundle-gw", NULL, NULL, NULL), 0);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].bundle_undemuxed, 1);
	assert_true(f->rep.call.legs[0].medias[0].streams[0].bundle);
	assert_false(f->rep.call.legs[0].medias[1].streams[0].bundle);
	assert_false(f->rep.call.legs[1].medias[0].streams[0].bundle);
	assert_int_equal(f->rep.call.legs[0].medias[1].streams[0].userspace.packets, 3);
	assert_int_equal(f->r.metrics.drops[METRICS_DROP_BUNDLE], 1);
	srtpctx_free(tx);
	srtpctx_free(rx);
	close(bv);
	close(bv_rtcp);
}

/* The MID extension answered toward a bundling leg: not with strip-extmap,
 * and not over an a=extmap of the same id that the answer already has. */
static void bundle_mid_extmap_answer(void **state)
{
	struct fixture *f = *state;
	char offer[2048], answer[1024];
	const char *v;

	for (int round = 0; round < 2; round++) {
		char call[16];

		snprintf(call, sizeof(call), "bundle-ext%d", round);
		snprintf(offer, sizeof(offer),
			 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "a=group:BUNDLE a v\r\n"
			 "m=audio %u RTP/SAVP 0\r\na=mid:a\r\na=rtcp-mux\r\n"
			 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
			 "inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\r\n"
			 "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			 "m=video %u RTP/SAVP 96\r\na=mid:v\r\na=rtcp-mux\r\n"
			 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
			 "inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\r\n"
			 "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			 "a=rtpmap:96 VP8/90000\r\n",
			 f->pa, f->pa);
		/* round 1: the trunk answers id 4 as another extension on video */
		snprintf(answer, sizeof(answer),
			 "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
			 "t=0 0\r\nm=audio %u RTP/AVP 0\r\nm=video %u RTP/AVP 96\r\n%s",
			 f->pb, f->pb + 2, round ? "a=extmap:4 urn:example:other\r\n" : "");
		next_transport = NG_TRANSPORT_RTP_AVP;
		next_rtcp_mux = NG_RTCP_MUX_DEMUX;
		assert_int_equal(ng(f, NG_CMD_OFFER, call, "peer", NULL, offer), 0);
		next_flags = round ? 0 : NG_FLAG_STRIP_EXTMAP;
		assert_int_equal(ng(f, NG_CMD_ANSWER, call, "peer", "trunk", answer), 0);
		f->sdp_out[f->rep.sdp_len] = 0;
		assert_non_null(strstr(f->sdp_out, "a=group:BUNDLE a v\r\n"));
		if (!round) {
			assert_null(strstr(f->sdp_out, "a=extmap"));
			continue;
		}
		v = strstr(f->sdp_out, "a=extmap:4 " RELAY_BUNDLE_MID_URI "\r\n");
		assert_non_null(v);
		assert_true(v < strstr(f->sdp_out, "m=video"));
		assert_null(strstr(v + strlen("a=extmap:4 " RELAY_BUNDLE_MID_URI), RELAY_BUNDLE_MID_URI));
		assert_non_null(strstr(f->sdp_out, "a=extmap:4 urn:example:other\r\n"));
	}
}

/* The relay's a=crypto key in the reply's SDP. */
static void reply_key(struct fixture *f, struct sdes_crypto *k)
{
	const char *line, *eol;

	f->sdp_out[f->rep.sdp_len] = 0;
	line = strstr(f->sdp_out, "a=crypto:");
	assert_non_null(line);
	eol = strstr(line, "\r\n");
	assert_int_equal(sdes_parse(line, (size_t)(eol - line), k, NULL, 0), 0);
}

/* SRTP of the peer's key (srtp) through the relay: what B receives, or -1. */
static ssize_t sdes_through(struct fixture *f, uint16_t ra, struct srtpctx *srtp, uint16_t seq)
{
	uint8_t pkt[256], buf[2048];
	uint16_t from;
	size_t n = bundle_rtp(pkt, 0, 0x12121212, seq, NULL);

	assert_int_equal(srtpctx_protect_rtp(srtp, pkt, &n, sizeof(pkt)), 0);
	send_to(f->a, ra, pkt, n);
	for (int i = 0; i < 5; i++)
		relay_poll(&f->r, 0);
	{
		struct pollfd p = {.fd = f->b, .events = POLLIN};

		if (poll(&p, 1, 50) != 1)
			return -1;
	}
	return recv_via_relay(f, f->b, buf, sizeof(buf), &from);
}

/*
 * SDES re-keying (RFC 4568 §7.1.4): a re-offer whose a=crypto carries a new
 * key of the same suite replaces the relay's inbound context (the old key
 * fails authentication from then on, the new one passes; the relay's own
 * key toward the peer stays); a new suite brings a new key of the relay's
 * too. A re-offer that repeats its key changes nothing.
 */
static void sdes_rekey(void **state)
{
	struct fixture *f = *state;
	static const uint8_t k1[30] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				       16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
	uint8_t k2[30], k3[30];
	static const char *const lines[] = {
		"1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e",
		"1 AES_CM_128_HMAC_SHA1_80 inline:ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGC",
		"2 AES_CM_128_HMAC_SHA1_32 inline:ycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm",
	};
	char offer[1024], answer[512];
	struct sdes_crypto key0, key;
	struct srtpctx *t1, *t2, *t3;
	uint16_t ra = 0;
	struct call *c;

	for (unsigned i = 0; i < 30; i++) {
		k2[i] = (uint8_t)(101 + i);
		k3[i] = (uint8_t)(201 + i);
	}
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pb);
	for (unsigned round = 0; round < 4; round++) {
		/* rounds: key 1, key 2 (same suite), key 2 again, key 3 (_32) */
		unsigned l = round < 2 ? round : round == 2 ? 1 : 2;

		snprintf(offer, sizeof(offer),
			 "v=0\r\no=a 1 %u IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "m=audio %u RTP/SAVP 0\r\na=crypto:%s\r\n",
			 round + 1, f->pa, lines[l]);
		next_transport = NG_TRANSPORT_RTP_AVP;
		assert_int_equal(ng(f, NG_CMD_OFFER, "rekey", "ta", NULL, offer), 0);
		next_transport = NG_TRANSPORT_RTP_SAVP;
		assert_int_equal(ng(f, NG_CMD_ANSWER, "rekey", "ta", "tb", answer), 0);
		assert_string_equal(f->rep.warning, "");
		if (!round) {
			reply_key(f, &key0);
			ra = reply_port(f);
		}
		reply_key(f, &key);
		assert_int_equal(reply_port(f), ra);
		/* the relay's key: kept while the suite is, new with a new one */
		if (round < 3) {
			assert_int_equal(key.suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80);
			assert_memory_equal(key.key, key0.key, key0.key_len);
		} else {
			assert_int_equal(key.suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32);
			assert_int_equal(key.tag, 2);
			assert_memory_not_equal(key.key, key0.key, key0.key_len);
		}
	}
	(void)ra;
	c = call_find(&f->r.calls, "rekey");
	assert_int_equal(c->legs[0].crypto->rekeys, 2);
	assert_int_equal(srtpctx_new(&t1, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_OUTBOUND,
				     k1, 16, k1 + 16, 14, 0), 0);
	assert_int_equal(srtpctx_new(&t2, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_OUTBOUND,
				     k2, 16, k2 + 16, 14, 0), 0);
	assert_int_equal(srtpctx_new(&t3, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32, SRTPCTX_OUTBOUND,
				     k3, 16, k3 + 16, 14, 0), 0);
	/* after the last re-offer only key 3 passes */
	assert_int_equal(sdes_through(f, ra, t3, 1), 52);
	assert_int_equal(sdes_through(f, ra, t2, 2), -1);
	assert_int_equal(sdes_through(f, ra, t1, 3), -1);
	/* the call may be on a media worker: its counters are folded in */
	relay_refresh_counters(&f->r, c);
	assert_int_equal(c->legs[0].crypto->st[0].auth_fail, 2);
	/* /metrics: the live leg's re-keys, and still them once the call is
	 * gone (a counter never goes down) */
	{
		static struct metrics_snapshot snap;

		relay_metrics_snapshot(&f->r, &snap);
		assert_int_equal(snap.sdes_rekeys, 2);
		assert_int_equal(ng(f, NG_CMD_DELETE, "rekey", NULL, NULL, NULL), 0);
		assert_null(call_find(&f->r.calls, "rekey"));
		relay_metrics_snapshot(&f->r, &snap);
		assert_int_equal(snap.sdes_rekeys, 2);
	}
	srtpctx_free(t1);
	srtpctx_free(t2);
	srtpctx_free(t3);
}

/* Key 1, then key 2 of the same suite: the old key fails from then on. */
static void sdes_rekey_same_suite(void **state)
{
	struct fixture *f = *state;
	static const uint8_t k1[30] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				       16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
	uint8_t k2[30];
	char offer[1024], answer[512];
	struct srtpctx *t1, *t2;
	uint16_t ra = 0;
	struct call *c;

	for (unsigned i = 0; i < 30; i++)
		k2[i] = (uint8_t)(101 + i);
	assert_int_equal(srtpctx_new(&t1, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_OUTBOUND,
				     k1, 16, k1 + 16, 14, 0), 0);
	assert_int_equal(srtpctx_new(&t2, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_OUTBOUND,
				     k2, 16, k2 + 16, 14, 0), 0);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pb);
	for (unsigned round = 0; round < 2; round++) {
		snprintf(offer, sizeof(offer),
			 "v=0\r\no=a 1 %u IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "m=audio %u RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n",
			 round + 1, f->pa,
			 round ? "ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGC"
			       : "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e");
		next_transport = NG_TRANSPORT_RTP_AVP;
		assert_int_equal(ng(f, NG_CMD_OFFER, "rekey2", "ta", NULL, offer), 0);
		next_transport = NG_TRANSPORT_RTP_SAVP;
		assert_int_equal(ng(f, NG_CMD_ANSWER, "rekey2", "ta", "tb", answer), 0);
		ra = reply_port(f);
		if (!round) {
			/* key 1 in use */
			assert_int_equal(sdes_through(f, ra, t1, 1), 52);
			assert_int_equal(sdes_through(f, ra, t2, 2), -1);
		}
	}
	c = call_find(&f->r.calls, "rekey2");
	assert_int_equal(sdes_through(f, ra, t2, 3), 52);
	assert_int_equal(sdes_through(f, ra, t1, 4), -1);
	relay_refresh_counters(&f->r, c);
	assert_int_equal(c->legs[0].crypto->st[0].auth_fail, 2);
	assert_int_equal(c->legs[0].crypto->rekeys, 1);
	srtpctx_free(t1);
	srtpctx_free(t2);
}

/* Run the relay and the test's DTLS client peer until pd is connected (or
 * 3 s): what pd sends goes from fd to the relay's ra, what fd gets to pd. */
static void dtls_pump(struct fixture *f, struct dtls *pd, int fd, uint16_t ra,
		      enum dtls_state until)
{
	uint8_t buf[4096];
	ssize_t n;

	for (int i = 0; i < 300 && dtls_state(pd) != until; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		while ((n = dtls_poll_transmit(pd, buf, sizeof(buf))) > 0)
			send_to(fd, ra, buf, (size_t)n);
		relay_poll(&f->r, 0);
		if (poll(&p, 1, 10) == 1) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0)
				dtls_input(pd, f->r.now_ms, buf, (size_t)n);
		}
		dtls_tick(pd, f->r.now_ms);
	}
	assert_string_equal(dtls_state_str(dtls_state(pd)), dtls_state_str(until));
}

/* A DTLS-SRTP peer (no ICE) calls a plain trunk; the relay is passive. */
static struct dtls *dtls_call(struct fixture *f, struct dtls_ctx *pctx, const char *call,
			      uint16_t *ra)
{
	char offer[1024], answer[512], fp[160];
	const char *line, *eol;
	struct dtls_config cfg = {.role = DTLS_ROLE_ACTIVE};
	struct dtls *pd;

	snprintf(offer, sizeof(offer),
		 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u UDP/TLS/RTP/SAVP 0\r\na=rtcp-mux\r\n"
		 "a=fingerprint:%s\r\na=setup:active\r\n",
		 f->pa, dtls_ctx_fingerprint(pctx));
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pb);
	next_transport = NG_TRANSPORT_RTP_AVP;
	next_rtcp_mux = NG_RTCP_MUX_DEMUX;
	assert_int_equal(ng(f, NG_CMD_OFFER, call, "browser", NULL, offer), 0);
	next_transport = NG_TRANSPORT_UDP_TLS_RTP_SAVP;
	assert_int_equal(ng(f, NG_CMD_ANSWER, call, "browser", "trunk", answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=setup:passive\r\n"));
	*ra = reply_port(f);
	line = strstr(f->sdp_out, "a=fingerprint:");
	assert_non_null(line);
	eol = strstr(line, "\r\n");
	snprintf(fp, sizeof(fp), "%.*s", (int)(eol - line - 14), line + 14);
	assert_int_equal(dtls_new(&pd, pctx, &cfg), 0);
	assert_int_equal(dtls_add_remote_fingerprint(pd, fp), 0);
	assert_int_equal(dtls_start(pd, f->r.now_ms), 0);
	dtls_pump(f, pd, f->a, *ra, DTLS_STATE_CONNECTED);
	return pd;
}

/*
 * DTLS close_notify (RFC 5246 §7.2.1) both ways: a deleted call's DTLS leg
 * gets the relay's close_notify (the peer sees its association closed);
 * a peer's close_notify ends that leg's association, its SRTP keys go
 * (media from it is dropped from then on) and the relay counts it.
 */
static void dtls_close_notify(void **state)
{
	struct fixture *f = *state;
	struct dtls_ctx *pctx;
	struct dtls_event ev;
	struct dtls *pd;
	char err[128];
	uint16_t ra;
	struct call *c;
	bool closed = false;

	assert_int_equal(dtls_ctx_generate(&pctx, err, sizeof(err)), 0);
	/* delete: the relay says goodbye */
	pd = dtls_call(f, pctx, "dtls-close-1", &ra);
	c = call_find(&f->r.calls, "dtls-close-1");
	assert_non_null(c->legs[0].crypto->rx);
	assert_int_equal(ng(f, NG_CMD_DELETE, "dtls-close-1", NULL, NULL, NULL), 0);
	assert_int_equal(f->r.dtls_close_sent, 1);
	dtls_pump(f, pd, f->a, ra, DTLS_STATE_CLOSED);
	while (dtls_poll_event(pd, &ev))
		closed |= ev.type == DTLS_EVENT_CLOSED;
	assert_true(closed);
	assert_string_equal(dtls_reason(pd), "peer sent close_notify");
	dtls_free(pd);

	/* the peer says goodbye: the leg's keys go, the call stays */
	pd = dtls_call(f, pctx, "dtls-close-2", &ra);
	c = call_find(&f->r.calls, "dtls-close-2");
	assert_non_null(c->legs[0].crypto->rx);
	assert_int_equal(dtls_close(pd), 0);
	{
		uint8_t buf[4096];
		ssize_t n;

		while ((n = dtls_poll_transmit(pd, buf, sizeof(buf))) > 0)
			send_to(f->a, ra, buf, (size_t)n);
	}
	for (int i = 0; i < 100 && !f->r.dtls_closed_by_peer; i++) {
		struct pollfd p = {.fd = f->a, .events = POLLIN};

		relay_poll(&f->r, 0);
		poll(&p, 1, 5);
	}
	assert_int_equal(f->r.dtls_closed_by_peer, 1);
	assert_null(c->legs[0].crypto->rx);
	assert_null(c->legs[0].crypto->tx);
	assert_non_null(call_find(&f->r.calls, "dtls-close-2"));
	/* the association is over: no second close_notify at delete */
	assert_int_equal(ng(f, NG_CMD_DELETE, "dtls-close-2", NULL, NULL, NULL), 0);
	assert_int_equal(f->r.dtls_close_sent, 1);
	/* and /metrics says the same: one sent, one received */
	{
		static struct metrics_snapshot snap;

		relay_metrics_snapshot(&f->r, &snap);
		assert_int_equal(snap.dtls_close_sent, 1);
		assert_int_equal(snap.dtls_closed_by_peer, 1);
	}
	dtls_free(pd);
	dtls_ctx_free(pctx);
}

static void advertised_address(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "m=audio 40000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n";

	/* --interface lo=127.0.0.1!192.0.2.77: a 1:1 NAT in front of the relay */
	netaddr_from_str(&f->r.opts.ifaces[0].advertised, "192.0.2.77", 0);
	assert_int_equal(ng(f, NG_CMD_OFFER, "adv-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "c=IN IP4 192.0.2.77\r\n"));
	assert_non_null(strstr(f->sdp_out, " 192.0.2.77 ")); /* the host candidate */
	assert_null(strstr(f->sdp_out, "127.0.0.1 "));	     /* never the local one */
}

/*
 * Defect 6 (issue 11): the relay's SDP claims no trickle it cannot do over
 * NG, whatever the other leg offered, and closes its candidate list with
 * a=end-of-candidates, with a STUN server configured too (its gathering
 * is still running when the reply is written).
 */
static void relay_sdp_not_trickle(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=ice-options:trickle\r\n"
				    "m=audio 40000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=ice-options:trickle\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n";
	static const char answer[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				     "m=audio 40002 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
				     "a=rtcp-mux\r\na=ice-ufrag:answ\r\n"
				     "a=ice-pwd:answpasswordanswpassword\r\n"
				     "a=ice-options:trickle\r\n"
				     "a=candidate:1 1 udp 2122260223 127.0.0.1 40002 typ host\r\n";

	/* a STUN server that never answers: gathering is still running */
	netaddr_from_str(&f->r.opts.stun, "127.0.0.1", f->pa2);
	assert_int_equal(ng(f, NG_CMD_OFFER, "trk-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_null(strstr(f->sdp_out, "trickle"));
	assert_non_null(strstr(f->sdp_out, "a=end-of-candidates\r\n"));
	assert_int_equal(ng(f, NG_CMD_ANSWER, "trk-1", "ta", "tb", answer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_null(strstr(f->sdp_out, "trickle"));
	assert_non_null(strstr(f->sdp_out, "a=end-of-candidates\r\n"));
}

static void get_ufrag(struct fixture *f, char *out, size_t cap)
{
	const char *u = strstr(f->sdp_out, "a=ice-ufrag:");

	assert_non_null(u);
	u += strlen("a=ice-ufrag:");
	snprintf(out, cap, "%.*s", (int)strcspn(u, "\r\n"), u);
}

static void ice_restart_by_reoffer(void **state)
{
	struct fixture *f = *state;
	char offer[512], answer[512], u1[64], u2[64], ub1[64], ub2[64];
	static const char fmt[] = "v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				  "m=audio %d RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtcp-mux\r\n"
				  "a=ice-ufrag:%s\r\na=ice-pwd:passwordpasswordpassword\r\n"
				  "a=candidate:1 1 udp 2122260223 127.0.0.1 %d typ host\r\n";
	struct call *c;

	snprintf(offer, sizeof(offer), fmt, 1, 40000, "aaaa", 40000);
	snprintf(answer, sizeof(answer), fmt, 1, 40002, "bbbb", 40002);
	assert_int_equal(ng(f, NG_CMD_OFFER, "restart-ice", "ta", NULL, offer), 0);
	get_ufrag(f, ub1, sizeof(ub1));
	assert_int_equal(ng(f, NG_CMD_ANSWER, "restart-ice", "ta", "tb", answer), 0);
	get_ufrag(f, u1, sizeof(u1));
	c = call_find(&f->r.calls, "restart-ice");
	assert_int_equal(c->legs[0].state, CALL_LEG_STATE_CHECKING);
	/* re-INVITE with a new ufrag: the caller restarts ICE (RFC 8445 §9) */
	snprintf(offer, sizeof(offer), fmt, 2, 40000, "cccc", 40000);
	assert_int_equal(ng(f, NG_CMD_OFFER, "restart-ice", "ta", NULL, offer), 0);
	get_ufrag(f, ub2, sizeof(ub2));
	assert_string_equal(ub1, ub2); /* leg B is not restarted */
	assert_int_equal(ng(f, NG_CMD_ANSWER, "restart-ice", "ta", "tb", answer), 0);
	get_ufrag(f, u2, sizeof(u2));
	/* the relay restarted toward the caller too: new credentials */
	assert_string_not_equal(u1, u2);
	assert_string_equal(c->legs[0].streams[0].remote_ufrag, "cccc");
	/* the same ports: a restart is not a new call */
	assert_int_equal(f->r.calls.ncalls, 1);
	assert_int_equal(f->r.ports.nused, 2);
}

/* ---- a hand-rolled controlling ICE peer (leg A) on two or three sockets ---- */

struct icepeer {
	int fd[3];
	uint16_t port[3];
	unsigned rtp[3]; /* media datagrams received per socket */
	const char *ufrag, *pwd;
	char relay_ufrag[64], relay_pwd[64];
	uint32_t tid;
};

static void get_attr(struct fixture *f, const char *name, char *out, size_t cap)
{
	const char *u = strstr(f->sdp_out, name);

	assert_non_null(u);
	u += strlen(name);
	snprintf(out, cap, "%.*s", (int)strcspn(u, "\r\n"), u);
}

/* Run the relay; answer its checks as the peer would; count media. */
static void peer_pump(struct fixture *f, struct icepeer *p)
{
	uint8_t buf[2048], out[512];
	struct netaddr src;
	struct stun_builder b;
	struct stun_msg m;

	relay_poll(&f->r, 0);
	for (unsigned k = 0; k < 3; k++) {
		socklen_t l = sizeof(src);
		ssize_t n;

		while ((n = recvfrom(p->fd[k], buf, sizeof(buf), MSG_DONTWAIT, &src.sa, &l)) > 0) {
			l = sizeof(src);
			if (!stun_is_message(buf, (size_t)n)) {
				p->rtp[k]++;
				continue;
			}
			if (stun_parse(&m, buf, (size_t)n) <= 0 || m.cls != STUN_CLASS_REQUEST)
				continue;
			stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING,
					STUN_CLASS_SUCCESS, m.tid);
			stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &src);
			stun_build_integrity(&b, (const uint8_t *)p->pwd, strlen(p->pwd));
			stun_build_fingerprint(&b);
			sendto(p->fd[k], out, (size_t)stun_build_finish(&b), 0, &src.sa,
			       netaddr_len(&src));
		}
	}
}

/* The controlling peer nominates the pair of its socket k (RFC 8445
 * §8.1.1: a check with USE-CANDIDATE) until the relay selects it. */
static void peer_nominate(struct fixture *f, struct icepeer *p, unsigned k, uint16_t relay_port,
			  const struct call_stream *s)
{
	uint8_t out[512], tid[STUN_TID_LEN] = {0};
	char user[160];
	struct stun_builder b;

	snprintf(user, sizeof(user), "%s:%s", p->relay_ufrag, p->ufrag);
	for (int i = 0; i < 300; i++) {
		struct pollfd pf = {.fd = p->fd[k], .events = POLLIN};

		if (i % 5 == 0) {
			p->tid++;
			memcpy(tid, &p->tid, sizeof(p->tid));
			stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING,
					STUN_CLASS_REQUEST, tid);
			stun_build_string(&b, STUN_ATTR_USERNAME, user);
			stun_build_u32(&b, STUN_ATTR_PRIORITY, 1000u * (k + 1));
			stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, 0x1234567890abcdefull);
			stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
			stun_build_integrity(&b, (const uint8_t *)p->relay_pwd,
					     strlen(p->relay_pwd));
			stun_build_fingerprint(&b);
			send_to(p->fd[k], relay_port, out, (size_t)stun_build_finish(&b));
		}
		peer_pump(f, p);
		if (s->remote_set[CALL_COMP_RTP] &&
		    netaddr_port(&s->remote[CALL_COMP_RTP]) == p->port[k])
			return;
		poll(&pf, 1, 10);
	}
	fail_msg("the relay never selected the pair of peer socket %u", k);
}

/* B sends one RTP packet; the peer socket it reaches, or -1. */
static int media_lands(struct fixture *f, struct icepeer *p, uint16_t rb)
{
	unsigned before[3] = {p->rtp[0], p->rtp[1], p->rtp[2]};

	send_to(f->b, rb, rtp, sizeof(rtp));
	for (int i = 0; i < 100; i++) {
		peer_pump(f, p);
		for (int k = 0; k < 3; k++)
			if (p->rtp[k] != before[k])
				return k;
		poll(NULL, 0, 10);
	}
	return -1;
}

/*
 * A pair change moves the media: the controlling peer renominates a
 * higher-priority pair (RFC 8445 §8.1.1 lets the controlled side switch),
 * then restarts ICE (re-INVITE with a new ufrag) and nominates a pair of
 * the new generation, of lower priority. Each time the userspace forwarding
 * target (here, --xdp off; with XDP the flow, replaced by relay_flows_sync)
 * follows the newly selected pair.
 */
static void ice_pair_change(void **state)
{
	struct fixture *f = *state;
	struct icepeer p = {.ufrag = "peer", .pwd = "peerpasswordpeerpassword"};
	char offer[1024], answer[512];
	const struct call_stream *s;
	uint16_t ra, rb;
	static const char fmt[] =
		"v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtcp-mux\r\n"
		"a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n%s";
	char cands[256];

	for (unsigned k = 0; k < 3; k++)
		p.fd[k] = udp_sock(&p.port[k], 0);
	snprintf(cands, sizeof(cands),
		 "a=candidate:1 1 udp 1000 127.0.0.1 %u typ host\r\n"
		 "a=candidate:2 1 udp 2000 127.0.0.1 %u typ host\r\n",
		 p.port[0], p.port[1]);
	snprintf(offer, sizeof(offer), fmt, 1, p.port[0], p.ufrag, p.pwd, cands);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pb);
	assert_int_equal(ng(f, NG_CMD_OFFER, "pairs-1", "ta", NULL, offer), 0);
	rb = reply_port(f);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "pairs-1", "ta", "tb", answer), 0);
	ra = reply_port(f);
	get_attr(f, "a=ice-ufrag:", p.relay_ufrag, sizeof(p.relay_ufrag));
	get_attr(f, "a=ice-pwd:", p.relay_pwd, sizeof(p.relay_pwd));
	s = &call_find(&f->r.calls, "pairs-1")->legs[0].streams[0];

	/* nominated: the lower-priority pair first */
	peer_nominate(f, &p, 0, ra, s);
	assert_int_equal(media_lands(f, &p, rb), 0);
	/* renominated: the higher-priority pair takes the media */
	peer_nominate(f, &p, 1, ra, s);
	assert_int_equal(media_lands(f, &p, rb), 1);
	assert_int_equal(media_lands(f, &p, rb), 1);

	/* ICE restart: new credentials, one candidate of lower priority */
	p.ufrag = "peer2";
	p.pwd = "peer2passwordpeer2password";
	snprintf(cands, sizeof(cands), "a=candidate:1 1 udp 500 127.0.0.1 %u typ host\r\n",
		 p.port[2]);
	snprintf(offer, sizeof(offer), fmt, 2, p.port[2], p.ufrag, p.pwd, cands);
	assert_int_equal(ng(f, NG_CMD_OFFER, "pairs-1", "ta", NULL, offer), 0);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "pairs-1", "ta", "tb", answer), 0);
	get_attr(f, "a=ice-ufrag:", p.relay_ufrag, sizeof(p.relay_ufrag));
	get_attr(f, "a=ice-pwd:", p.relay_pwd, sizeof(p.relay_pwd));
	peer_nominate(f, &p, 2, ra, s);
	assert_int_equal(media_lands(f, &p, rb), 2);
	for (unsigned k = 0; k < 3; k++)
		close(p.fd[k]);
}

static void ice_flags(void **state)
{
	struct fixture *f = *state;
	char offer[512];
	static const char ice_offer[] =
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
		"m=audio 40000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
		"a=ice-ufrag:peer\r\na=ice-pwd:peerpasswordpeerpassword\r\n"
		"a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
		"a=candidate:1 2 udp 2122260222 127.0.0.1 40001 typ host\r\n";

	/* ICE=force toward a WebRTC peer from a plain phone's offer */
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pa);
	next_ice = NG_ICE_FORCE;
	assert_int_equal(ng(f, NG_CMD_OFFER, "force-1", "ta", NULL, offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=ice-ufrag:"));
	/* no rtcp-mux offered: RTP and RTCP candidates */
	assert_non_null(strcasestr(f->sdp_out, " 1 udp "));
	assert_non_null(strcasestr(f->sdp_out, " 2 udp "));
	assert_null(strstr(f->sdp_out, "a=ice-lite"));
	/* ICE=force-relay (rtpengine: a pass-through mode) is said to be
	 * served as ICE=force, never silently */
	next_ice = NG_ICE_FORCE_RELAY;
	assert_int_equal(ng(f, NG_CMD_OFFER, "force-relay-1", "ta", NULL, offer), 0);
	assert_non_null(strstr(f->rep.warning, "ICE=force-relay"));
	assert_non_null(strstr(f->rep.warning, "not implemented"));
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=ice-ufrag:"));
	/* ICE=remove toward a SIP trunk from a WebRTC offer */
	next_ice = NG_ICE_REMOVE;
	assert_int_equal(ng(f, NG_CMD_OFFER, "remove-1", "ta", NULL, ice_offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_null(strstr(f->sdp_out, "ice-"));
	assert_null(strstr(f->sdp_out, "candidate"));
	/* the relay still runs ICE toward the offerer: its leg has an agent */
	assert_non_null(call_find(&f->r.calls, "remove-1")->legs[0].agent);
	assert_null(call_find(&f->r.calls, "remove-1")->legs[1].agent);
	/* ICE-lite=forward: lite toward the receiver of the offer */
	next_lite = NG_ICE_LITE_FORWARD;
	assert_int_equal(ng(f, NG_CMD_OFFER, "lite-1", "ta", NULL, ice_offer), 0);
	f->sdp_out[f->rep.sdp_len] = 0;
	assert_non_null(strstr(f->sdp_out, "a=ice-lite\r\n"));
	assert_true(call_find(&f->r.calls, "lite-1")->legs[1].ice_lite);
	assert_false(call_find(&f->r.calls, "lite-1")->legs[0].ice_lite);
}

/* A test clock: the relay's timers fire when the test says it is time. */
static uint64_t vclock(void *ctx)
{
	return *(uint64_t *)ctx;
}

/*
 * Time comes in from the loop: on a virtual clock a 30 s delete-delay
 * passes in no time, and nothing fires before it is due.
 */
static void virtual_clock(void **state)
{
	struct fixture *f = *state;
	uint64_t now = 5000000;
	uint16_t ra, rb;

	relay_shutdown(&f->r);
	assert_int_equal(relay_init_clock(&f->r, &f->o, vclock, &now), 0);
	assert_int_equal(f->r.now_ms, now);
	phones(f, "vc-1", &ra, &rb);
	next_delete_delay = 30;
	assert_int_equal(ng(f, NG_CMD_DELETE, "vc-1", "ta", "tb", NULL), 0);
	assert_int_equal(call_find(&f->r.calls, "vc-1")->delete_at_ms, now + 30000);
	now += 29999;
	relay_poll(&f->r, 0);
	assert_non_null(call_find(&f->r.calls, "vc-1"));
	now += 1;
	relay_poll(&f->r, 0);
	assert_null(call_find(&f->r.calls, "vc-1"));
	assert_int_equal(f->r.ports.nused, 0);
}

/* One packet from src to the relay's port; true when it reaches dst. */
static bool heard(struct fixture *f, int src, uint16_t port, int dst)
{
	uint8_t buf[2048];
	uint16_t from;

	send_to(src, port, rtp, sizeof(rtp));
	if (recv_via_relay(f, dst, buf, sizeof(buf), &from) == sizeof(rtp))
		return true;
	return false;
}

/*
 * --endpoint-learning on a virtual clock. A's SDP says pa; the phone sits
 * behind a NAT and sends from pa2 (same address, other port), and a3 plays
 * a spoofer that guessed the relay's port. Only the learned source is ever
 * forwarded (issue 9: no first-packet-wins, no foreign media).
 */
static void endpoint_learning(void **state)
{
	static const struct {
		enum daemon_learning mode;
		bool spoofer_first; /* a3 sends before the phone */
		int kept;	    /* who B's media reaches at the end: 2 pa2, 3 a3, 1 pa */
	} cases[] = {
		/* heuristic: an equal-ranked spoofer that comes second loses */
		{DAEMON_LEARN_HEURISTIC, false, 2},
		/* heuristic: the exact SDP source wins over an earlier spoofer */
		{DAEMON_LEARN_HEURISTIC, true, 1},
		/* delayed: the latest source of the window is kept */
		{DAEMON_LEARN_DELAYED, false, 3},
		/* immediate: first packet wins (rtpengine's; unsafe in public) */
		{DAEMON_LEARN_IMMEDIATE, true, 3},
	};
	struct fixture *f = *state;
	uint64_t now = 9000000;
	uint16_t ra, rb, pa3;
	int a3 = udp_sock(&pa3, 0);
	char id[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct call_stream *s;
		int first = cases[i].spoofer_first ? a3 : f->a2;
		int second = cases[i].spoofer_first ? f->a2 : a3;
		int kept = cases[i].kept == 1 ? f->a : cases[i].kept == 2 ? f->a2 : a3;

		relay_shutdown(&f->r);
		f->o.learning = cases[i].mode;
		assert_int_equal(relay_init_clock(&f->r, &f->o, vclock, &now), 0);
		snprintf(id, sizeof(id), "learn-%zu", i);
		phones(f, id, &ra, &rb);
		s = &call_find(&f->r.calls, id)->legs[0].streams[0];

		assert_true(heard(f, first, ra, f->b)); /* heard from its first packet */
		if (cases[i].mode == DAEMON_LEARN_IMMEDIATE) {
			assert_false(heard(f, second, ra, f->b)); /* foreign */
		} else if (cases[i].mode == DAEMON_LEARN_DELAYED) {
			assert_true(heard(f, second, ra, f->b)); /* followed */
		} else if (cases[i].spoofer_first) {
			/* a2 ranks as a3 does (address match): a3 stays */
			assert_false(heard(f, second, ra, f->b));
			assert_true(heard(f, f->a, ra, f->b)); /* pa: the SDP's own */
		} else {
			assert_false(heard(f, second, ra, f->b)); /* ranks no better */
		}
		now += RELAY_LEARN_MS;
		/* the window is over: the next other source keeps what was learned */
		if (kept != second)
			assert_false(heard(f, second, ra, f->b));
		else
			assert_false(heard(f, f->a2, ra, f->b));
		assert_true(s->latched[0]);
		assert_true(s->foreign >= 1);
		assert_true(heard(f, f->b, rb, kept));
		assert_int_equal(ng(f, NG_CMD_DELETE, id, "ta", NULL, NULL), 0);
	}
	f->o.learning = DAEMON_LEARN_HEURISTIC;
	close(a3);
}

/* Media ports come in random order: the next call's port is not the last + 2. */
static void random_ports(void **state)
{
	struct fixture *f = *state;
	uint16_t ra, rb, prev = 0;
	int sequential = 0;
	char id[32];

	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "rnd-%d", i);
		phones(f, id, &ra, &rb);
		sequential += prev && (rb == prev + 2 || rb == prev + 4);
		prev = ra;
	}
	assert_true(sequential < 4);
}

/*
 * RFC 8445 §14.2: the checks of all the daemon's agents together leave no
 * more often than once every RELAY_PACE_MS, however many legs check at
 * once (each agent alone would pace at its own Ta only). Eight calls, each
 * leg with a candidate toward a socket of ours that never answers: every
 * new check transaction seen there is at least RELAY_PACE_MS after the
 * one before, on the virtual clock.
 */
static void shared_check_budget(void **state)
{
	struct fixture *f = *state;
	uint8_t seen[256][12], buf[RELAY_DGRAM_MAX];
	unsigned nseen = 0, nchecks = 0;
	uint64_t now = 7000000, last = 0;
	static const char fmt[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				  "m=audio %u RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtcp-mux\r\n"
				  "a=ice-ufrag:%s%02d\r\na=ice-pwd:passwordpasswordpassword\r\n"
				  "a=ice-pacing:5\r\n"
				  "a=candidate:1 1 udp 2122260223 127.0.0.1 %u typ host\r\n";
	char sdp[1024];
	int socks[2] = {f->a, f->b};

	relay_shutdown(&f->r);
	assert_int_equal(relay_init_clock(&f->r, &f->o, vclock, &now), 0);
	for (int k = 0; k < 8; k++) {
		char id[16];

		snprintf(id, sizeof(id), "pace-%d", k);
		snprintf(sdp, sizeof(sdp), fmt, f->pa, "pa", k, f->pa);
		assert_int_equal(ng(f, NG_CMD_OFFER, id, "ta", NULL, sdp), 0);
		snprintf(sdp, sizeof(sdp), fmt, f->pb, "pb", k, f->pb);
		assert_int_equal(ng(f, NG_CMD_ANSWER, id, "ta", "tb", sdp), 0);
	}
	for (int t = 0; t < 600; t++, now++) {
		relay_poll(&f->r, 0);
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			while ((n = recv(socks[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				bool dup = false;

				/* a Binding request; retransmissions keep their id */
				if (n < 20 || buf[0] != 0x00 || buf[1] != 0x01)
					continue;
				for (unsigned j = 0; j < nseen && !dup; j++)
					dup = !memcmp(seen[j], buf + 8, 12);
				if (dup || nseen == 256)
					continue;
				memcpy(seen[nseen++], buf + 8, 12);
				if (nchecks++)
					assert_true(now - last >= RELAY_PACE_MS);
				last = now;
			}
		}
	}
	printf("shared check budget: %u checks, %llu granted, %llu told to wait\n", nchecks,
	       (unsigned long long)f->r.pace_granted, (unsigned long long)f->r.pace_deferred);
	/* the budget was the limit: sixteen agents had checks waiting at once */
	assert_true(nchecks >= 16);
	assert_true(f->r.pace_deferred > 0);
	assert_true(f->r.pace_granted >= nchecks);
}

/* One malformed a=candidate line is skipped, the others kept, and the NG
 * reply's warning names it (defect 4's daemon half). */
static void malformed_candidate_warned(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "m=audio 40000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
				    "a=candidate:2 1 udp notanumber 127.0.0.1 40001 typ host\r\n";
	struct call *c;

	assert_int_equal(ng(f, NG_CMD_OFFER, "malf-1", "ta", NULL, offer), 0);
	assert_non_null(strstr(f->rep.warning, "1 malformed a=candidate line skipped"));
	c = call_find(&f->r.calls, "malf-1");
	assert_non_null(c);
	assert_true(c->legs[0].streams[0].ice); /* ICE kept on the stream */
}

/* Send a datagram to every port of the relay's media range and turn the loop. */
static void poke_every_port(struct fixture *f)
{
	static const uint8_t junk[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};

	for (unsigned p = f->o.port_min; p <= f->o.port_max; p++)
		send_to(f->a, (uint16_t)p, junk, sizeof(junk));
	for (int i = 0; i < 20; i++)
		relay_poll(&f->r, 1);
}

/*
 * An offer refused in its second (or third) m= section leaves nothing half
 * created: no port stays bound or in epoll (a datagram to one used to reach
 * the freed call: a heap use-after-free under ASan), no port leaks, and a
 * refused re-offer leaves the call as the delete finds it.
 */
static void refused_offer_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char offer[1024];

	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n"
		 "m=video %u RTP/AVP 96\r\na=ice-pacing:abc\r\n",
		 f->pa, f->pa + 2);
	assert_int_equal(ng(f, NG_CMD_OFFER, "half-1", "ta", NULL, offer), -EINVAL);
	assert_non_null(strstr(f->rep.error_reason, "media section 2"));
	assert_null(call_find(&f->r.calls, "half-1"));
	assert_int_equal(f->r.ports.nused, 0);
	poke_every_port(f);

	/* a call of one section, re-offered with a new second section and a
	 * refused third: the second's ports go with the call */
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pa);
	assert_int_equal(ng(f, NG_CMD_OFFER, "half-2", "ta", NULL, offer), 0);
	assert_int_equal(f->r.ports.nused, 2);
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=a 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n"
		 "m=video %u RTP/AVP 96\r\na=ice-pacing:abc\r\n",
		 f->pa, f->pa + 2, f->pa + 4);
	assert_int_equal(ng(f, NG_CMD_OFFER, "half-2", "ta", NULL, offer), -EINVAL);
	assert_int_equal(f->r.ports.nused, 2);
	assert_int_equal(ng(f, NG_CMD_DELETE, "half-2", NULL, NULL, NULL), 0);
	assert_int_equal(f->r.ports.nused, 0);
	poke_every_port(f);
}

/*
 * Unauthenticated STUN to an offered, unanswered ICE leg: the error
 * answers leave at once but at a bounded rate per source, and none waits in
 * the agent for a later burst (they used to queue without limit and all
 * leave when the agent next ran, here when the answer starts its checks).
 */
static void stun_flood_bounded(void **state)
{
	struct fixture *f = *state;
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
				    "a=rtcp-mux\r\na=ice-ufrag:peer\r\n"
				    "a=ice-pwd:peerpasswordpeerpassword\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n";
	char answer[512];
	uint8_t req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}, buf[2048];
	unsigned answered = 0, first_at = 0;
	const unsigned n = 2000;
	uint16_t ra;

	assert_int_equal(ng(f, NG_CMD_OFFER, "flood-1", "ta", NULL, offer), 0);
	ra = netaddr_port(&call_find(&f->r.calls, "flood-1")->legs[0].streams[0].local[0]);
	for (unsigned i = 0; i < n; i++) {
		struct pollfd p = {.fd = f->a, .events = POLLIN};

		memcpy(req + 8, &i, sizeof(i)); /* a transaction id of its own */
		send_to(f->a, ra, req, sizeof(req));
		if (i % 50 == 49)
			relay_poll(&f->r, 0);
		while (poll(&p, 1, 0) == 1 && recv(f->a, buf, sizeof(buf), 0) > 0)
			if (!answered++)
				first_at = i;
	}
	/* the answer starts the agent: nothing queued may come out now */
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u UDP/TLS/RTP/SAVPF 111\r\n",
		 f->pb);
	assert_int_equal(ng(f, NG_CMD_ANSWER, "flood-1", "ta", "tb", answer), 0);
	for (int i = 0; i < 50; i++) {
		struct pollfd p = {.fd = f->a, .events = POLLIN};

		relay_poll(&f->r, 2);
		while (poll(&p, 1, 0) == 1 && recv(f->a, buf, sizeof(buf), 0) > 0)
			if (buf[0] == 0x01) /* an error/success answer, not the agent's checks */
				answered++;
	}
	print_message("stun flood: %u requests, %u answered (first after request %u), %llu "
		      "limited\n",
		      n, answered, first_at, (unsigned long long)f->r.stun_limited);
	assert_true(answered >= 1 && first_at < 100); /* answered promptly, not queued */
	assert_true(answered * 10 <= n);	      /* at most 1 in 10 */
}

/*
 * A call between an ICE peer p (leg A: one host candidate, rtcp-mux, its
 * sockets opened here) and plain phone B; the relay's ports toward A (ra)
 * and B (rb), and the relay's credentials toward A in p.
 */
static void ice_peer_call(struct fixture *f, struct icepeer *p, const char *id, uint16_t *ra,
			  uint16_t *rb)
{
	char offer[1024], answer[512];

	for (unsigned k = 0; k < 3; k++)
		p->fd[k] = udp_sock(&p->port[k], 0);
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtcp-mux\r\n"
		 "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
		 "a=candidate:1 1 udp 1000 127.0.0.1 %u typ host\r\n",
		 p->port[0], p->ufrag, p->pwd, p->port[0]);
	snprintf(answer, sizeof(answer),
		 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n",
		 f->pb);
	assert_int_equal(ng(f, NG_CMD_OFFER, id, "ta", NULL, offer), 0);
	*rb = reply_port(f);
	assert_int_equal(ng(f, NG_CMD_ANSWER, id, "ta", "tb", answer), 0);
	*ra = reply_port(f);
	get_attr(f, "a=ice-ufrag:", p->relay_ufrag, sizeof(p->relay_ufrag));
	get_attr(f, "a=ice-pwd:", p->relay_pwd, sizeof(p->relay_pwd));
}

/*
 * Spoofed media on an ICE leg: once a pair is selected, RTP from any other
 * source (here a port of the peer's host that never was a candidate) does
 * not reach the other leg and is counted as foreign; the selected peer's
 * does.
 */
static void ice_spoofed_media(void **state)
{
	struct fixture *f = *state;
	struct icepeer p = {.ufrag = "peer", .pwd = "peerpasswordpeerpassword"};
	const struct call_stream *s;
	uint8_t buf[2048];
	uint16_t ra, rb, from;

	ice_peer_call(f, &p, "spoof-1", &ra, &rb);
	s = &call_find(&f->r.calls, "spoof-1")->legs[0].streams[0];
	peer_nominate(f, &p, 0, ra, s);
	assert_int_equal(media_lands(f, &p, rb), 0);

	send_to(p.fd[2], ra, rtp, sizeof(rtp)); /* not a candidate, not a pair */
	assert_nothing(f, f->b);
	assert_int_equal(s->foreign, 1);
	send_to(p.fd[0], ra, rtp, sizeof(rtp)); /* the selected pair's peer */
	assert_int_equal(recv_via_relay(f, f->b, buf, sizeof(buf), &from), sizeof(rtp));
	assert_int_equal(from, rb);
	assert_int_equal(s->foreign, 1);
	/* query shows it, per stream */
	assert_int_equal(ng(f, NG_CMD_QUERY, "spoof-1", NULL, NULL, NULL), 0);
	assert_int_equal(f->rep.call.legs[0].medias[0].streams[0].foreign, 1);
	for (unsigned k = 0; k < 3; k++)
		close(p.fd[k]);
}

/*
 * Early media (issue 11): what B sends before the relay has a selected
 * pair toward the ICE peer A is held, then sent on the pair once it is
 * selected; what waited longer than RELAY_EARLY_MS is dropped and counted
 * on B's stream.
 */
static void early_media_held(void **state)
{
	struct fixture *f = *state;
	struct icepeer p = {.ufrag = "peer", .pwd = "peerpasswordpeerpassword"};
	const struct call_stream *s, *sb;
	uint16_t ra, rb;

	ice_peer_call(f, &p, "early-1", &ra, &rb);
	s = &call_find(&f->r.calls, "early-1")->legs[0].streams[0];
	sb = &call_find(&f->r.calls, "early-1")->legs[1].streams[0];
	/* three packets that will be too old, then four fresh ones */
	for (int i = 0; i < 3; i++)
		send_to(f->b, rb, rtp, sizeof(rtp));
	peer_pump(f, &p);
	poll(NULL, 0, RELAY_EARLY_MS + 100);
	for (int i = 0; i < 4; i++)
		send_to(f->b, rb, rtp, sizeof(rtp));
	peer_pump(f, &p);
	assert_non_null(s->early);
	assert_int_equal(p.rtp[0], 0);
	assert_int_equal(sb->dropped, 3); /* aged out as the fresh ones came */
	peer_nominate(f, &p, 0, ra, s);
	for (int i = 0; i < 20 && p.rtp[0] < 4; i++) {
		poll(NULL, 0, 5);
		peer_pump(f, &p);
	}
	printf("early media: %u of 4 fresh packets delivered, %llu too old dropped\n", p.rtp[0],
	       (unsigned long long)sb->dropped);
	assert_int_equal(p.rtp[0], 4);
	assert_int_equal(sb->dropped, 3);
	assert_null(s->early);
	for (unsigned k = 0; k < 3; k++)
		close(p.fd[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(plain_rtp_call, setup, teardown),
		cmocka_unit_test_setup_teardown(rtcp_mux_counted_as_rtcp, setup, teardown),
		cmocka_unit_test_setup_teardown(endpoint_learning, setup, teardown),
		cmocka_unit_test_setup_teardown(random_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(latching_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(ipv4_to_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(state_file_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(recovered_learning_and_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(inactivity_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(recovered_consent, setup, teardown),
		cmocka_unit_test_setup_teardown(state_file_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(ng_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(delete_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(ice_offer_gets_relay_ice, setup, teardown),
		cmocka_unit_test_setup_teardown(webrtc_to_plain_sdp, setup, teardown),
		cmocka_unit_test_setup_teardown(ice_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(strip_extmap, setup, teardown),
		cmocka_unit_test_setup_teardown(bundle_members, setup, teardown),
		cmocka_unit_test_setup_teardown(bundle_to_plain_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(bundle_mid_extmap_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(sdes_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(sdes_rekey_same_suite, setup, teardown),
		cmocka_unit_test_setup_teardown(dtls_close_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(advertised_address, setup, teardown),
		cmocka_unit_test_setup_teardown(ice_restart_by_reoffer, setup, teardown),
		cmocka_unit_test_setup_teardown(ice_pair_change, setup, teardown),
		cmocka_unit_test_setup_teardown(virtual_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_sdp_not_trickle, setup, teardown),
		cmocka_unit_test_setup_teardown(shared_check_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_candidate_warned, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_offer_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(stun_flood_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(ice_spoofed_media, setup, teardown),
		cmocka_unit_test_setup_teardown(early_media_held, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
