// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the relay itself: offer and answer through the real
 * NG handlers of icepathd (relay_ng_ops) on real loopback sockets, then
 * datagrams on the streams they opened (the media input, latching and ICE
 * receive paths), then a delete, on the relay's virtual clock. The input is
 * a sequence of records (fuzz_records.h):
 *
 *   selector 0: an offer with this SDP        1: an answer with this SDP
 *   selector 2..: a datagram to the media port (selector - 2) of the range,
 *                 from one of two sources (selector's low bit)
 *   selector 0xff: the clock moves on by the record's length in seconds
 *
 * The NG flags of each request come from its SDP's length (ICE=force or
 * remove, strict-source, media-handover). After the delete, no port may be
 * in use and no call left: what a refused request half created would stay.
 * The fast path is off (--xdp off); its functions are stubs here, as the
 * fuzz build links no kernel/ code. The relay's sockets are real, but what
 * it sends goes through the shims below: only to the fuzzer's own two
 * sources and the media range on 127.0.0.1, so that an SDP naming another
 * address (or another process's loopback port) sends nothing anywhere.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/relay.h"
#include "icepath/compiler.h"
#include "icepath/netif.h"
#include "fuzz_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- fast path stubs: --xdp off never opens it ------------------------------ */
const char *fastpath_xdp_mode_str(enum fastpath_xdp_mode m)
{
	return "off";
}
int fastpath_open(struct fastpath **fp, const struct fastpath_opts *o)
{
	return -EOPNOTSUPP;
}
int fastpath_attach(struct fastpath *fp, const char *ifname, enum fastpath_xdp_mode *got)
{
	return -EOPNOTSUPP;
}
void fastpath_close(struct fastpath *fp)
{
}
void fastpath_abandon(struct fastpath *fp)
{
}
int fastpath_teardown(struct fastpath *fp)
{
	return 0;
}
/* the standby's rtnetlink watch (relay_ha.c): no --redis-role standby here */
int netif_monitor_open(struct netif_monitor **m)
{
	return -EOPNOTSUPP;
}
void netif_monitor_close(struct netif_monitor *m)
{
}
int netif_monitor_fd(const struct netif_monitor *m)
{
	return -1;
}
int netif_monitor_read(struct netif_monitor *m, void (*cb)(void *ctx, const struct netif_event *ev),
		       void *ctx)
{
	abort();
}
int fastpath_flow_install(struct fastpath *fp, const struct fastpath_flow *f)
{
	abort(); /* never with --xdp off */
}
int fastpath_flow_set_flags(struct fastpath *fp, const struct fastpath_flow *key_only,
			    uint32_t flags)
{
	abort();
}
int fastpath_flow_remove(struct fastpath *fp, const struct fastpath_flow *key_only)
{
	abort();
}
int fastpath_flow_counters(struct fastpath *fp, const struct fastpath_flow *key_only,
			   struct fastpath_counters *out)
{
	abort();
}
int fastpath_flow_foreach(struct fastpath *fp, int (*cb)(const struct fastpath_flow *, void *),
			  void *ctx)
{
	abort();
}
long fastpath_flow_count(struct fastpath *fp)
{
	return 0;
}
void fastpath_set_logger(fastpath_log_fn fn, void *ctx)
{
}
int fastpath_flow_extend(struct fastpath *fp, const struct fastpath_flow *key_only,
			 uint32_t lifetime_ms)
{
	abort();
}
const char *fastpath_flow_path_str(enum fastpath_flow_path p)
{
	return "userspace";
}
enum fastpath_xdp_mode fastpath_iface_mode(const char *ifname)
{
	return FASTPATH_XDP_OFF;
}
int fastpath_fd(const struct fastpath *fp)
{
	return -1;
}
int fastpath_poll(struct fastpath *fp, uint64_t now_ms)
{
	abort();
}
int fastpath_stats(struct fastpath *fp, uint64_t *out, size_t n)
{
	return -EOPNOTSUPP;
}
const char *fastpath_stat_name(unsigned idx)
{
	return NULL;
}
unsigned fastpath_stat_count(void)
{
	return 0;
}
int fastpath_map_memory(struct fastpath *fp, uint64_t *bytes)
{
	*bytes = 0;
	return 0;
}

#define PORT_MIN 47100
#define PORT_MAX 47163

static struct relay r;
static struct daemon_opts o;
static uint64_t vnow = 1000000;
static int src[2] = {-1, -1};
static uint16_t src_port[2];

/* ---- send shims: loopback, the media range and our sources only -------------- */
static bool dst_ok(const void *name, socklen_t len)
{
	const struct sockaddr_in *in = name;
	uint16_t p;

	if (!in || len < sizeof(*in) || in->sin_family != AF_INET ||
	    in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return false;
	p = ntohs(in->sin_port);
	return (p >= PORT_MIN && p <= PORT_MAX) || p == src_port[0] || p == src_port[1];
}

static size_t iov_bytes(const struct msghdr *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (!dst_ok(m->msg_name, m->msg_namelen))
		return (ssize_t)iov_bytes(m); /* "sent": gone nowhere */
	return syscall(SYS_sendmsg, fd, m, flags);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	for (unsigned i = 0; i < n; i++) {
		ssize_t k = sendmsg(fd, &v[i].msg_hdr, flags);

		v[i].msg_len = k > 0 ? (unsigned)k : 0;
	}
	return (int)n;
}

static uint64_t vclock(void *ctx)
{
	return vnow;
}

static void init_once(void)
{
	static char pmin[8], pmax[8];
	char *argv[] = {"icepathd", "--interface", "lo=127.0.0.1", "--xdp", "off",
			"--listen-ng", "127.0.0.1:0", "--port-min", pmin, "--port-max", pmax,
			"--inactivity-timeout", "30", "--state-file", "/nonexistent/fuzz.state"};
	char err[256];

	snprintf(pmin, sizeof(pmin), "%u", PORT_MIN);
	snprintf(pmax, sizeof(pmax), "%u", PORT_MAX);
	daemon_opts_defaults(&o);
	if (daemon_opts_parse(&o, (int)ARRAY_SIZE(argv), argv, err,
			      sizeof(err))) {
		fprintf(stderr, "fuzz_relay: options: %s\n", err);
		abort();
	}
	o.state_file[0] = 0; /* no state file: nothing read, nothing written */
	daemon_log_set_level(DAEMON_LOG_ERROR);
	if (relay_init_clock(&r, &o, vclock, NULL)) {
		fprintf(stderr, "fuzz_relay: relay_init failed\n");
		abort();
	}
	for (int i = 0; i < 2; i++) {
		struct netaddr a;
		socklen_t l = sizeof(a);

		src[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		netaddr_from_str(&a, "127.0.0.1", 0);
		if (src[i] < 0 || bind(src[i], &a.sa, netaddr_len(&a)) ||
		    getsockname(src[i], &a.sa, &l))
			abort();
		src_port[i] = netaddr_port(&a);
	}
}

static void request(enum ng_command cmd, const uint8_t *sdp, size_t len)
{
	static char out[16384];
	struct ng_request req;
	struct ng_reply rep;

	ng_request_init(&req, cmd);
	snprintf(req.call_id, sizeof(req.call_id), "fuzz-call");
	snprintf(req.from_tag, sizeof(req.from_tag), "ta");
	if (cmd == NG_CMD_ANSWER)
		snprintf(req.to_tag, sizeof(req.to_tag), "tb");
	req.sdp.s = (const char *)sdp;
	req.sdp.len = len;
	req.ice = len % 3 == 0 ? NG_ICE_FORCE : len % 3 == 1 ? NG_ICE_UNSET : NG_ICE_REMOVE;
	req.flags = len % 5 == 0 ? NG_FLAG_MEDIA_HANDOVER : len % 5 == 1 ? NG_FLAG_STRICT_SOURCE : 0;
	memset(&rep, 0, sizeof(rep));
	rep.sdp = out;
	rep.sdp_cap = sizeof(out);
	if (cmd == NG_CMD_OFFER)
		relay_ng_ops.offer(&r, vnow, &req, &rep);
	else if (cmd == NG_CMD_ANSWER)
		relay_ng_ops.answer(&r, vnow, &req, &rep);
	else
		relay_ng_ops.delete_call(&r, vnow, &req, &rep);
	relay_poll(&r, 0);
}

static void drain_sources(void)
{
	uint8_t buf[2048];

	for (int i = 0; i < 2; i++)
		while (recv(src[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rec[8192];
	uint8_t sel;
	size_t len;

	if (src[0] < 0)
		init_once();
	while (fuzz_next_record(&data, &size, &sel, rec, sizeof(rec), &len)) {
		if (sel == 0 || sel == 1) {
			request(sel ? NG_CMD_ANSWER : NG_CMD_OFFER, rec, len);
		} else if (sel == 0xff) {
			vnow += (uint64_t)len * 1000u;
			relay_poll(&r, 0);
		} else {
			struct netaddr d;

			netaddr_from_str(&d, "127.0.0.1",
					 (uint16_t)(PORT_MIN + (sel - 2) % (PORT_MAX - PORT_MIN + 1)));
			sendto(src[sel & 1], rec, len, MSG_DONTWAIT, &d.sa, netaddr_len(&d));
			vnow += 20;
			relay_poll(&r, 0);
		}
	}
	request(NG_CMD_DELETE, NULL, 0);
	/* what is left is what a refused or broken request leaked */
	if (r.calls.ncalls || r.ports.nused) {
		fprintf(stderr, "fuzz_relay: %zu calls and %zu port pairs left after the delete\n",
			r.calls.ncalls, r.ports.nused);
		abort();
	}
	drain_sources();
	return 0;
}
