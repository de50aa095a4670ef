// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-peer: one ICE endpoint (the sans-I/O agent of include/icepath/
 * ice.h) with real UDP sockets, epoll and a timerfd. It exchanges SDP through
 * files, selects a pair, sends and counts RTP, and says what it selected.
 * Used by people to try icepath against any ICE peer, and by the netns and
 * interop tests. See usage[] for the whole contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/rtpstat.h"
#include "icepath/ice.h"
#include "icepath/netif.h"
#include "icepath/sdp.h"

static const char usage[] =
	"Usage: icepath-peer (--controlling | --controlled) [--lite]\n"
	"                    [--bind ADDR ...] [--stun IP:PORT]\n"
	"                    [--turn IP:PORT --turn-user U --turn-pass P] [--relay-only]\n"
	"                    --local-sdp FILE --remote-sdp FILE\n"
	"                    [--send N] [--expect N] [--interval MS] [--timeout SEC]\n"
	"                    [--linger MS] [--consent-timeout MS] [--json] [--verbose]\n"
	"\n"
	"One ICE agent (RFC 8445) with real UDP sockets. It gathers candidates,\n"
	"writes its SDP offer/answer to a file, reads the peer's from another file,\n"
	"runs connectivity checks, and reports the selected candidate pair; then it\n"
	"exchanges RTP on that pair and keeps consent (RFC 7675) alive.\n"
	"\n"
	"Role\n"
	"  --controlling        this agent nominates (normally the SDP offerer)\n"
	"  --controlled         the peer nominates\n"
	"  --lite               ICE-lite agent (RFC 8445 2.5): host candidates only,\n"
	"                       answers checks, a=ice-lite in the SDP\n"
	"\n"
	"Candidates\n"
	"  --bind ADDR          a host base: IP or IP:PORT ([v6]:PORT), repeatable\n"
	"                       (at most 8). Default: every address of every up,\n"
	"                       non-loopback interface from rtnetlink, link-local\n"
	"                       excluded, IPv6 preferred (see icepath-netif list).\n"
	"  --stun IP:PORT       STUN server for server-reflexive candidates\n"
	"  --turn IP:PORT       TURN server (UDP) for relayed candidates, with\n"
	"  --turn-user U        long-term credentials (RFC 8656)\n"
	"  --turn-pass P\n"
	"  --relay-only         the agent's relay policy: only relayed candidates\n"
	"                       are offered, paired and used; the host base talks\n"
	"                       to the TURN server only and answers no check that\n"
	"                       did not come through the relay; no STUN server is\n"
	"                       asked (requires --turn)\n"
	"  Servers are IP literals: icepath never resolves names.\n"
	"\n"
	"SDP exchange\n"
	"  --local-sdp FILE     written once gathering is done, atomically (a temp\n"
	"                       file in the same directory, then rename): one audio\n"
	"                       m= line (RTP/AVP 0, rtcp-mux), c=/m= set to the\n"
	"                       default candidate, a=ice-ufrag/pwd, every candidate,\n"
	"                       a=end-of-candidates, a=ice-lite with --lite\n"
	"  --remote-sdp FILE    polled every 50 ms until it exists, then read once\n"
	"                       (so write it atomically: temp file, then rename):\n"
	"                       the first m= section's ICE attributes are used\n"
	"                       (session-level ones as fallback). Any RFC 8866 SDP\n"
	"                       works, including libnice's generate_local_sdp()\n"
	"                       output. mDNS (.local), FQDN and TCP candidates are\n"
	"                       skipped. Without a=ice-options:trickle the candidate\n"
	"                       list is taken as complete.\n"
	"\n"
	"Media and exit\n"
	"  --send N             once a pair is selected, send N RTP packets on it:\n"
	"                       RTP v2, PT 0 (PCMU), sequence numbers 0..N-1,\n"
	"                       172 bytes (12 header + 160 payload), one every\n"
	"  --interval MS        milliseconds (default 20, the PCMU ptime); sending\n"
	"                       pauses while consent is lost\n"
	"  --rtcp-every K       after every Kth RTP packet also send an RTCP\n"
	"                       receiver report (RFC 3550 6.4.2, PT 201, 8 bytes)\n"
	"                       on the same (rtcp-mux) component (default 0: none);\n"
	"                       the media event then carries \"rtcp_sent\"\n"
	"  --expect N           wait until N distinct sequence numbers of valid\n"
	"                       RTP (v2, PT 0, 172 bytes) arrived from the peer\n"
	"  --timeout SEC        give up after SEC seconds (default 30)\n"
	"  --linger MS          after success keep answering checks and consent\n"
	"                       for MS milliseconds (default 1000), so the peer can\n"
	"                       finish too\n"
	"  --consent-timeout MS consent is lost after MS without an answer to our\n"
	"                       consent checks (default 30000, RFC 7675 5.1); checks\n"
	"                       go out every MS/6. A knob for tests: production\n"
	"                       peers expect the RFC values.\n"
	"\n"
	"Output (stdout; one line per event)\n"
	"  text:   gathered N candidates (H host, S srflx, R relay) after T ms\n"
	"          selected local TYPE ADDR:PORT remote TYPE ADDR:PORT after T ms\n"
	"          media sent N received M after T ms\n"
	"          consent-lost | consent-regained after T ms (sent N, received M)\n"
	"          failed after T ms: REASON\n"
	"  --json: one object per line with \"event\" = gathered, selected, media,\n"
	"          consent-lost, consent-regained, turn-error or failed, and \"ms\"\n"
	"          since start; gathered counts candidates per type, selected\n"
	"          has local/remote {type,address,port}, media and consent events\n"
	"          carry sent/received counts.\n"
	"  --verbose  the agent's own log on stderr\n"
	"\n"
	"Exit status: 0 when a pair was selected, N packets were sent and N\n"
	"expected ones arrived; 1 on failure or timeout (a failed event says why);\n"
	"2 on a usage error.\n"
	"\n"
	"Example, two terminals on one host:\n"
	"  icepath-peer --controlling --bind 127.0.0.1 --local-sdp /tmp/a.sdp \\\n"
	"               --remote-sdp /tmp/b.sdp --send 100 --expect 100\n"
	"  icepath-peer --controlled --bind 127.0.0.1 --local-sdp /tmp/b.sdp \\\n"
	"               --remote-sdp /tmp/a.sdp --send 100 --expect 100\n";

/* RFC 3550 §5.1 header + 20 ms of PCMU (RFC 3551 §4.5.14). */
#define PEER_RTP_HDR	  RTP_HDR_LEN
#define PEER_RTP_PAYLOAD  160
#define PEER_RTP_LEN	  (PEER_RTP_HDR + PEER_RTP_PAYLOAD)
#define PEER_FILE_POLL_MS 50
#define PEER_MAX_SOCKS	  ICE_MAX_HOSTS

struct peer_sock {
	int fd;
	struct netaddr base;
};

struct peer {
	/* options */
	bool controlling, lite, json, verbose, relay_only;
	const char *local_sdp, *remote_sdp;
	long send_n, expect_n, interval_ms, timeout_s, linger_ms, consent_timeout_ms;
	struct netaddr binds[PEER_MAX_SOCKS];
	size_t n_binds;
	struct netaddr stun, turn;
	const char *turn_user, *turn_pass;

	/* runtime */
	struct ice_agent *agent;
	int stream;
	struct peer_sock socks[PEER_MAX_SOCKS];
	size_t n_socks;
	int epfd, tfd;
	uint64_t start_ms, agent_deadline, next_poll, next_send, linger_until;
	bool sdp_written, remote_read, selected, done;
	long sent, received;
	long rtcp_every, rtcp_sent; /* --rtcp-every: an RTCP RR after every Kth RTP packet */
	uint32_t ssrc;
	uint8_t seen[65536 / 8];
};

static long since(const struct peer *p)
{
	return (long)(monotime_ms() - p->start_ms);
}

/* JSON string body: escape quotes, backslashes and control bytes. */
static void json_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
}

static void fail(struct peer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void fail(struct peer *p, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->json) {
		printf("{\"event\":\"failed\",\"ms\":%ld,\"reason\":\"", since(p));
		json_puts(why);
		printf("\"}\n");
	} else {
		printf("failed after %ld ms: %s\n", since(p), why);
	}
	fflush(stdout);
	fprintf(stderr, "icepath-peer: %s\n", why);
	exit(1);
}

/* consent-lost / consent-regained, with the media counts at that moment. */
static void consent_event(struct peer *p, const char *name)
{
	if (p->json)
		printf("{\"event\":\"%s\",\"ms\":%ld,\"sent\":%ld,\"received\":%ld}\n", name,
		       since(p), p->sent, p->received);
	else
		printf("%s after %ld ms (sent %ld, received %ld)\n", name, since(p), p->sent,
		       p->received);
	fflush(stdout);
}

static void agent_log(void *ctx, enum ice_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	fprintf(stderr, "icepath-peer: agent %s: %s\n", level <= ICE_LOG_DEBUG ? names[level] : "?",
		msg);
}

static void os_random(void *buf, size_t len, void *ctx)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = getrandom(b, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("icepath-peer: getrandom");
			abort(); /* no silent fallback to weak randomness */
		}
		b += n;
		len -= (size_t)n;
	}
}

/* ---- sockets ----------------------------------------------------------------- */

static void open_socket(struct peer *p, const struct netaddr *addr, uint16_t local_pref)
{
	struct peer_sock *s = &p->socks[p->n_socks];
	struct epoll_event ev = {.events = EPOLLIN};
	char buf[NETADDR_STRLEN];
	socklen_t len = sizeof(s->base);
	int one = 1, err;

	s->fd = socket(netaddr_family(addr), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		fail(p, "socket for %s: %s", netaddr_str(addr, buf, sizeof(buf)), strerror(errno));
	if (netaddr_family(addr) == AF_INET6)
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s->fd, &addr->sa, netaddr_len(addr)) < 0)
		fail(p, "cannot bind %s: %s (is the address on an up interface?)",
		     netaddr_str(addr, buf, sizeof(buf)), strerror(errno));
	if (getsockname(s->fd, &s->base.sa, &len) < 0)
		fail(p, "getsockname: %s", strerror(errno));
	ev.data.u32 = (uint32_t)p->n_socks;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		fail(p, "epoll_ctl: %s", strerror(errno));
	err = ice_agent_add_host(p->agent, (unsigned)p->stream, 1, &s->base, local_pref);
	if (err < 0)
		fail(p, "agent refused host base %s: %s", netaddr_str(&s->base, buf, sizeof(buf)),
		     strerror(-err));
	p->n_socks++;
}

static void open_sockets(struct peer *p)
{
	struct netif_addr addrs[PEER_MAX_SOCKS];
	int n;

	if (p->n_binds) {
		for (size_t i = 0; i < p->n_binds; i++)
			open_socket(p, &p->binds[i], (uint16_t)(65535 - i * 64));
		return;
	}
	n = netif_list(addrs, PEER_MAX_SOCKS, 0);
	if (n < 0)
		fail(p, "cannot list interface addresses through rtnetlink: %s", strerror(-n));
	if (n == 0)
		fail(p, "no usable interface address (up, not loopback, not link-local); "
			"give one with --bind");
	if (n > PEER_MAX_SOCKS) {
		fprintf(stderr, "icepath-peer: %d interface addresses, using the first %d\n", n,
			PEER_MAX_SOCKS);
		n = PEER_MAX_SOCKS;
	}
	for (int i = 0; i < n; i++)
		open_socket(p, &addrs[i].addr, addrs[i].local_pref);
}

static struct peer_sock *sock_by_base(struct peer *p, const struct netaddr *base)
{
	for (size_t i = 0; i < p->n_socks; i++)
		if (netaddr_equal(&p->socks[i].base, base))
			return &p->socks[i];
	return NULL;
}

static void transmit(struct peer *p, const struct ice_transmit *tx)
{
	struct peer_sock *s = sock_by_base(p, &tx->local);
	struct iovec iov[3];
	struct msghdr msg = {0};
	char buf[NETADDR_STRLEN];

	if (!s) {
		fprintf(stderr, "icepath-peer: agent sent from unknown base %s\n",
			netaddr_str(&tx->local, buf, sizeof(buf)));
		return;
	}
	msg.msg_name = (void *)&tx->remote.sa;
	msg.msg_namelen = netaddr_len(&tx->remote);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)ice_transmit_iov(tx, iov);
	if (sendmsg(s->fd, &msg, 0) < 0 && p->verbose)
		fprintf(stderr, "icepath-peer: send %s -> %s: %s\n",
			netaddr_str(&tx->local, buf, sizeof(buf)),
			netaddr_str(&tx->remote, (char[NETADDR_STRLEN]){0}, NETADDR_STRLEN),
			strerror(errno));
}

/* ---- SDP ---------------------------------------------------------------------- */

static void write_local_sdp(struct peer *p)
{
	struct sdp_ice_desc *d = calloc(1, sizeof(*d));
	struct ice_candidate all[ICE_MAX_LOCAL_CANDIDATES], def;
	unsigned per_type[4] = { 0 };
	const char *ufrag, *pwd;
	char tmp[4096], *text;
	struct sdp sdp;
	size_t len;
	int n, fd, m;

	if (!d)
		fail(p, "out of memory");
	if (ice_agent_local_credentials(p->agent, (unsigned)p->stream, &ufrag, &pwd) < 0)
		fail(p, "agent has no local credentials");
	n = ice_agent_local_candidates(p->agent, (unsigned)p->stream, all,
				       ICE_MAX_LOCAL_CANDIDATES);
	if (n > ICE_MAX_LOCAL_CANDIDATES)
		n = ICE_MAX_LOCAL_CANDIDATES;
	for (int i = 0; i < n; i++) {
		/* with --relay-only the agent lists relayed candidates only */
		if (all[i].component != 1)
			continue;
		if (d->n_cands < SDP_ICE_MAX_CANDS)
			d->cands[d->n_cands++] = all[i];
	}
	if (d->n_cands == 0)
		fail(p, p->relay_only ? "no relayed candidate: the TURN allocation failed"
				      : "no local candidate gathered");
	if (ice_agent_default_candidate(p->agent, (unsigned)p->stream, 1, &def) < 0)
		fail(p, "agent has no default candidate");
	snprintf(d->ufrag, sizeof(d->ufrag), "%s", ufrag);
	snprintf(d->pwd, sizeof(d->pwd), "%s", pwd);
	d->lite = p->lite;
	d->end_of_candidates = true;
	snprintf(d->options_raw, sizeof(d->options_raw), "ice2");
	d->default_rtp = def.addr;

	if (sdp_build_session(&sdp, &def.addr, (uint64_t)p->start_ms) < 0 ||
	    (m = sdp_media_add(&sdp, "audio", netaddr_port(&def.addr), "RTP/AVP", "0")) < 0 ||
	    sdp_attr_append(&sdp.media[m], "rtpmap", "0 PCMU/8000") < 0 ||
	    sdp_attr_append(&sdp.media[m], "sendrecv", NULL) < 0 ||
	    sdp_attr_append(&sdp.media[m], "rtcp-mux", NULL) < 0 ||
	    sdp_ice_apply(&sdp, (size_t)m, d) < 0)
		fail(p, "cannot build the local SDP");
	text = sdp_write_alloc(&sdp, &len);
	sdp_free(&sdp);
	if (!text)
		fail(p, "out of memory");

	/* Atomic: the peer polls for the file and must never read half of it. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", p->local_sdp, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0 ||
	    rename(tmp, p->local_sdp) < 0)
		fail(p, "cannot write %s: %s", p->local_sdp, strerror(errno));
	free(text);
	p->sdp_written = true;
	for (size_t i = 0; i < d->n_cands; i++)
		if ((unsigned)d->cands[i].type < 4)
			per_type[d->cands[i].type]++;
	if (p->json)
		printf("{\"event\":\"gathered\",\"ms\":%ld,\"candidates\":%zu,\"host\":%u,"
		       "\"srflx\":%u,\"relay\":%u}\n",
		       since(p), d->n_cands, per_type[ICE_CAND_TYPE_HOST],
		       per_type[ICE_CAND_TYPE_SRFLX], per_type[ICE_CAND_TYPE_RELAY]);
	else
		printf("gathered %zu candidates (%u host, %u srflx, %u relay) after %ld ms\n",
		       d->n_cands, per_type[ICE_CAND_TYPE_HOST], per_type[ICE_CAND_TYPE_SRFLX],
		       per_type[ICE_CAND_TYPE_RELAY], since(p));
	fflush(stdout);
	free(d);
}

/* Returns false while the file does not exist yet. */
static bool read_remote_sdp(struct peer *p, uint64_t now)
{
	struct sdp_ice_desc *d;
	char err[256], *text;
	struct sdp sdp;
	struct stat st;
	ssize_t got;
	int fd, ret;

	fd = open(p->remote_sdp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return false;
		fail(p, "cannot open %s: %s", p->remote_sdp, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > SDP_MAX_SIZE)
		fail(p, "%s: empty, unreadable or larger than %d bytes", p->remote_sdp,
		     SDP_MAX_SIZE);
	text = malloc((size_t)st.st_size);
	if (!text)
		fail(p, "out of memory");
	got = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (got != st.st_size)
		fail(p, "short read of %s", p->remote_sdp);
	ret = sdp_parse(&sdp, text, (size_t)got, err, sizeof(err));
	free(text);
	if (ret < 0)
		fail(p, "%s: %s", p->remote_sdp, err);
	if (sdp.n_media == 0)
		fail(p, "%s: no m= line", p->remote_sdp);
	d = malloc(sizeof(*d));
	if (!d)
		fail(p, "out of memory");
	if (sdp_ice_extract(&sdp, 0, d, err, sizeof(err)) < 0)
		fail(p, "%s: %s", p->remote_sdp, err);
	sdp_free(&sdp);
	/* A malformed a=candidate line costs that candidate only: say so. */
	if (d->n_malformed_skipped) {
		if (p->json) {
			printf("{\"event\":\"warning\",\"ms\":%ld,\"reason\":\"", since(p));
			json_puts(err);
			printf("\",\"skipped\":%zu}\n", d->n_malformed_skipped);
			fflush(stdout);
		}
		fprintf(stderr, "icepath-peer: %s: %zu malformed candidate line(s) skipped: %s\n",
			p->remote_sdp, d->n_malformed_skipped, err);
	}
	if (!d->ufrag[0] || !d->pwd[0])
		fail(p, "%s: no a=ice-ufrag/a=ice-pwd: the peer does not do ICE", p->remote_sdp);
	if (d->lite && p->lite)
		fail(p, "both agents are ICE-lite: RFC 8445 2.5 needs one full agent");
	if (d->lite && (ret = ice_agent_set_remote_lite(p->agent, true)) < 0)
		fail(p, "agent refused remote lite: %s", strerror(-ret));
	if (d->pacing_ms)
		ice_agent_set_remote_pacing(p->agent, d->pacing_ms); /* RFC 8839 §5.5 */
	ret = ice_agent_set_remote_credentials(p->agent, (unsigned)p->stream, d->ufrag, d->pwd);
	if (ret < 0)
		fail(p, "agent refused remote credentials: %s", strerror(-ret));
	for (size_t i = 0; i < d->n_cands; i++) {
		if (d->cands[i].component != 1)
			continue; /* we negotiate rtcp-mux: one component */
		ret = ice_agent_add_remote_candidate(p->agent, (unsigned)p->stream, &d->cands[i]);
		if (ret < 0 && p->verbose)
			fprintf(stderr, "icepath-peer: remote candidate %zu refused: %s\n", i,
				strerror(-ret));
	}
	/* Without trickle (RFC 8838) the SDP carries every candidate. */
	if (d->end_of_candidates || !(d->options & SDP_ICE_OPT_TRICKLE))
		ice_agent_remote_end_of_candidates(p->agent, (unsigned)p->stream);
	if (p->verbose)
		fprintf(stderr,
			"icepath-peer: remote SDP: %zu candidates (%zu mDNS, %zu FQDN/TCP-only "
			"skipped)%s\n",
			d->n_cands, d->n_mdns_skipped, d->n_unsupported_skipped,
			d->lite ? ", ice-lite" : "");
	free(d);
	ret = ice_agent_start(p->agent, now);
	if (ret < 0)
		fail(p, "agent did not start checks: %s", strerror(-ret));
	p->remote_read = true;
	return true;
}

/* ---- events and media ------------------------------------------------------------ */

static void print_cand(const char *role, const struct ice_candidate *c, bool json)
{
	char ip[NETADDR_STRLEN], full[NETADDR_STRLEN];

	if (json)
		printf("\"%s\":{\"type\":\"%s\",\"address\":\"%s\",\"port\":%u}", role,
		       ice_cand_type_str(c->type), netaddr_ip_str(&c->addr, ip, sizeof(ip)),
		       netaddr_port(&c->addr));
	else
		printf("%s %s %s", role, ice_cand_type_str(c->type),
		       netaddr_str(&c->addr, full, sizeof(full)));
}

static void check_done(struct peer *p, uint64_t now)
{
	if (p->done || !p->selected || p->sent < p->send_n || p->received < p->expect_n)
		return;
	p->done = true;
	p->linger_until = now + (uint64_t)p->linger_ms;
	if (p->json)
		printf("{\"event\":\"media\",\"ms\":%ld,\"sent\":%ld,\"received\":%ld,"
		       "\"rtcp_sent\":%ld}\n",
		       since(p), p->sent, p->received, p->rtcp_sent);
	else
		printf("media sent %ld received %ld after %ld ms\n", p->sent, p->received,
		       since(p));
	fflush(stdout);
}

static void handle_event(struct peer *p, const struct ice_event *ev, uint64_t now)
{
	switch (ev->type) {
	case ICE_EVENT_GATHERING_DONE:
		if (!p->sdp_written)
			write_local_sdp(p);
		break;
	case ICE_EVENT_SELECTED_PAIR:
		if (p->json) {
			printf("{\"event\":\"selected\",\"ms\":%ld,", since(p));
			print_cand("local", &ev->pair.local, true);
			putchar(',');
			print_cand("remote", &ev->pair.remote, true);
			printf("}\n");
		} else {
			printf("selected ");
			print_cand("local", &ev->pair.local, false);
			putchar(' ');
			print_cand("remote", &ev->pair.remote, false);
			printf(" after %ld ms\n", since(p));
		}
		fflush(stdout);
		if (!p->selected) {
			p->selected = true;
			p->next_send = now;
			check_done(p, now);
		}
		break;
	case ICE_EVENT_CONSENT_LOST:
		consent_event(p, "consent-lost");
		break;
	case ICE_EVENT_CONSENT_REGAINED:
		consent_event(p, "consent-regained");
		break;
	case ICE_EVENT_TURN_ERROR:
		if (p->json)
			printf("{\"event\":\"turn-error\",\"ms\":%ld,\"error\":%d}\n", since(p),
			       ev->error);
		else
			printf("turn-error %d after %ld ms\n", ev->error, since(p));
		fflush(stdout);
		break;
	case ICE_EVENT_FAILED:
		if (!p->done)
			fail(p, "ICE failed: no candidate pair works (%s)",
			     p->relay_only ? "relay only" : "all pairs failed");
		break;
	case ICE_EVENT_STATE:
		if (p->verbose)
			fprintf(stderr, "icepath-peer: agent state %s\n",
				ice_agent_state_str(ev->state));
		if (ev->state == ICE_AGENT_STATE_FAILED && !p->done)
			fail(p, "ICE failed (agent state failed)");
		break;
	case ICE_EVENT_ROLE_CHANGED:
		if (p->verbose)
			fprintf(stderr, "icepath-peer: role is now %s\n",
				ev->controlling ? "controlling" : "controlled");
		break;
	case ICE_EVENT_CANDIDATE:
		break;
	}
}

/* Send what the agent queued and handle its events. */
static void flush(struct peer *p, uint64_t now)
{
	struct ice_transmit *tx = malloc(sizeof(*tx));
	struct ice_event *ev = malloc(sizeof(*ev));

	if (!tx || !ev)
		fail(p, "out of memory");
	for (;;) {
		bool any = false;

		while (ice_agent_poll_transmit(p->agent, tx)) {
			transmit(p, tx);
			any = true;
		}
		while (ice_agent_poll_event(p->agent, ev)) {
			handle_event(p, ev, now);
			any = true;
		}
		if (!any)
			break;
	}
	free(tx);
	free(ev);
	p->agent_deadline = ice_agent_next_deadline(p->agent);
}

/* An empty RTCP receiver report on the RTP component (rtcp-mux, RFC 5761):
 * RFC 3550 §6.4.2, V=2 RC=0 PT=201 length=1 (two words), our SSRC. */
static void send_rtcp(struct peer *p)
{
	struct ice_transmit *tx = malloc(sizeof(*tx));
	uint8_t pkt[8] = {0x80, 201, 0, 1};
	int ret;

	pkt[4] = (uint8_t)(p->ssrc >> 24);
	pkt[5] = (uint8_t)(p->ssrc >> 16);
	pkt[6] = (uint8_t)(p->ssrc >> 8);
	pkt[7] = (uint8_t)p->ssrc;

	if (!tx)
		fail(p, "out of memory");
	ret = ice_agent_send(p->agent, (unsigned)p->stream, 1, pkt, sizeof(pkt), tx);
	if (ret == 0) {
		transmit(p, tx);
		p->rtcp_sent++;
	}
	free(tx);
}

static void send_rtp(struct peer *p)
{
	struct ice_transmit *tx = malloc(sizeof(*tx));
	uint8_t pkt[PEER_RTP_LEN];
	/* RFC 3550 §5.1: V=2, no padding/extension/CSRC, M=0, PT=0 (PCMU). */
	const struct rtp_hdr h = {
		.seq = (uint16_t)p->sent,
		.ts = (uint32_t)p->sent * PEER_RTP_PAYLOAD,
		.ssrc = p->ssrc,
	};
	int ret;

	if (!tx)
		fail(p, "out of memory");
	rtpstat_write(pkt, &h);
	memset(pkt + PEER_RTP_HDR, 0xff, PEER_RTP_PAYLOAD); /* PCMU silence */
	ret = ice_agent_send(p->agent, (unsigned)p->stream, 1, pkt, sizeof(pkt), tx);
	if (ret == 0) {
		transmit(p, tx);
		p->sent++;
	} else if (ret != -ENOTCONN) {
		fail(p, "agent refused to frame media: %s", strerror(-ret));
	}
	/* -ENOTCONN: no consent (RFC 7675 §5.1), retry at the next interval. */
	free(tx);
	if (ret == 0 && p->rtcp_every && p->sent % p->rtcp_every == 0)
		send_rtcp(p);
}

static void count_rtp(struct peer *p, const uint8_t *b, size_t len)
{
	uint16_t seq;

	if (len != PEER_RTP_LEN || (b[0] >> 6) != 2 || (b[1] & 0x7f) != 0)
		return;
	seq = (uint16_t)(b[2] << 8 | b[3]);
	if (!(p->seen[seq / 8] & (1u << (seq % 8)))) {
		p->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		p->received++;
	}
}

static void drain_socket(struct peer *p, struct peer_sock *s)
{
	uint8_t buf[2048];
	struct ice_recv_result res;
	struct netaddr from;

	for (;;) {
		socklen_t alen = sizeof(from);
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0, &from.sa, &alen);
		uint64_t now = monotime_ms();

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ICMP errors of an earlier send to one candidate are
			 * that pair's business, not the socket's. */
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH || errno == EHOSTDOWN)
				continue;
			fail(p, "recv: %s", strerror(errno));
		}
		netaddr_unmap_v4(&from);
		if (ice_agent_recv(p->agent, now, &s->base, &from, buf, (size_t)n, &res) ==
		    ICE_RECV_DATA) {
			count_rtp(p, res.data, res.len);
			check_done(p, now);
		}
		flush(p, now);
	}
}

/* ---- main loop --------------------------------------------------------------------- */

static void arm_timer(struct peer *p, uint64_t at_ms)
{
	struct itimerspec its = {0};

	/* Absolute CLOCK_MONOTONIC; a time in the past fires at once, and 0
	 * would disarm, hence the max. */
	if (at_ms == 0)
		at_ms = 1;
	its.it_value.tv_sec = (time_t)(at_ms / 1000);
	its.it_value.tv_nsec = (long)(at_ms % 1000) * 1000000;
	if (timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		fail(p, "timerfd_settime: %s", strerror(errno));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void run(struct peer *p)
{
	uint64_t end = p->start_ms + (uint64_t)p->timeout_s * 1000;

	for (;;) {
		struct epoll_event evs[PEER_MAX_SOCKS + 1];
		uint64_t now = monotime_ms(), next;
		int n;

		if (now >= p->agent_deadline) {
			ice_agent_tick(p->agent, now);
			flush(p, now);
		}
		if (p->sdp_written && !p->remote_read && now >= p->next_poll) {
			if (read_remote_sdp(p, now))
				flush(p, now);
			p->next_poll = now + PEER_FILE_POLL_MS;
		}
		while (p->selected && p->sent < p->send_n && now >= p->next_send) {
			send_rtp(p);
			p->next_send += (uint64_t)p->interval_ms;
			flush(p, now);
			check_done(p, now);
		}
		if (p->done && now >= p->linger_until)
			return;
		if (now >= end)
			fail(p, "timeout after %ld s: %s, sent %ld/%ld, received %ld/%ld",
			     p->timeout_s,
			     !p->sdp_written   ? "gathering not done"
			     : !p->remote_read ? "no remote SDP"
			     : !p->selected    ? "no pair selected"
					       : "pair selected",
			     p->sent, p->send_n, p->received, p->expect_n);

		next = min_u64(p->agent_deadline, end);
		if (p->sdp_written && !p->remote_read)
			next = min_u64(next, p->next_poll);
		if (p->selected && p->sent < p->send_n)
			next = min_u64(next, p->next_send);
		if (p->done)
			next = min_u64(next, p->linger_until);
		arm_timer(p, next);

		n = epoll_wait(p->epfd, evs, PEER_MAX_SOCKS + 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(p, "epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				uint64_t expirations;

				if (read(p->tfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					fail(p, "timerfd read: %s", strerror(errno));
			} else {
				drain_socket(p, &p->socks[evs[i].data.u32]);
			}
		}
	}
}

/* ---- options ------------------------------------------------------------------------ */

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "icepath-peer: %s '%s' is not a number in %ld..%ld\n", opt, s, min,
			max);
		exit(2);
	}
	return v;
}

static void parse_server(const char *opt, const char *s, struct netaddr *a)
{
	if (netaddr_parse(a, s, -1) < 0 || netaddr_port(a) == 0) {
		fprintf(stderr,
			"icepath-peer: %s '%s' is not IP:PORT (an IP literal: names are never "
			"resolved)\n",
			opt, s);
		exit(2);
	}
}

static void parse_args(struct peer *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{"controlling", no_argument, NULL, 'C'},
		{"controlled", no_argument, NULL, 'c'},
		{"lite", no_argument, NULL, 'l'},
		{"bind", required_argument, NULL, 'b'},
		{"stun", required_argument, NULL, 's'},
		{"turn", required_argument, NULL, 't'},
		{"turn-user", required_argument, NULL, 'u'},
		{"turn-pass", required_argument, NULL, 'p'},
		{"relay-only", no_argument, NULL, 'r'},
		{"local-sdp", required_argument, NULL, 'L'},
		{"remote-sdp", required_argument, NULL, 'R'},
		{"send", required_argument, NULL, 'S'},
		{"expect", required_argument, NULL, 'E'},
		{"rtcp-every", required_argument, NULL, 'X'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 'T'},
		{"linger", required_argument, NULL, 'g'},
		{"consent-timeout", required_argument, NULL, 'K'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int role = -1, c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			role = 1;
			break;
		case 'c':
			role = 0;
			break;
		case 'l':
			p->lite = true;
			break;
		case 'b':
			if (p->n_binds == PEER_MAX_SOCKS) {
				fprintf(stderr, "icepath-peer: at most %d --bind addresses\n",
					PEER_MAX_SOCKS);
				exit(2);
			}
			if (netaddr_parse(&p->binds[p->n_binds], optarg, 0) < 0) {
				fprintf(stderr, "icepath-peer: --bind '%s' is not IP or IP:PORT\n",
					optarg);
				exit(2);
			}
			p->n_binds++;
			break;
		case 's':
			parse_server("--stun", optarg, &p->stun);
			break;
		case 't':
			parse_server("--turn", optarg, &p->turn);
			break;
		case 'u':
			p->turn_user = optarg;
			break;
		case 'p':
			p->turn_pass = optarg;
			break;
		case 'r':
			p->relay_only = true;
			break;
		case 'L':
			p->local_sdp = optarg;
			break;
		case 'R':
			p->remote_sdp = optarg;
			break;
		case 'S':
			p->send_n = parse_long("--send", optarg, 0, 65536);
			break;
		case 'E':
			p->expect_n = parse_long("--expect", optarg, 0, 65536);
			break;
		case 'X':
			p->rtcp_every = parse_long("--rtcp-every", optarg, 0, 65536);
			break;
		case 'i':
			p->interval_ms = parse_long("--interval", optarg, 1, 10000);
			break;
		case 'T':
			p->timeout_s = parse_long("--timeout", optarg, 1, 86400);
			break;
		case 'g':
			p->linger_ms = parse_long("--linger", optarg, 0, 600000);
			break;
		case 'K':
			p->consent_timeout_ms =
				parse_long("--consent-timeout", optarg, 600, 600000);
			break;
		case 'j':
			p->json = true;
			break;
		case 'v':
			p->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "icepath-peer: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
	if (role < 0) {
		fprintf(stderr, "icepath-peer: say --controlling or --controlled\n");
		exit(2);
	}
	p->controlling = role == 1;
	if (!p->local_sdp || !p->remote_sdp) {
		fprintf(stderr, "icepath-peer: --local-sdp and --remote-sdp are required\n");
		exit(2);
	}
	if (netaddr_family(&p->turn) && (!p->turn_user || !p->turn_pass)) {
		fprintf(stderr, "icepath-peer: --turn needs --turn-user and --turn-pass\n");
		exit(2);
	}
	if (p->relay_only && !netaddr_family(&p->turn)) {
		fprintf(stderr, "icepath-peer: --relay-only needs --turn\n");
		exit(2);
	}
	if (p->lite && (netaddr_family(&p->turn) || netaddr_family(&p->stun))) {
		fprintf(stderr, "icepath-peer: --lite gathers host candidates only (RFC 8445 2.5); "
				"drop --stun/--turn\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct ice_config cfg = {0};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
	int err;

	if (!p)
		return 1;
	p->interval_ms = 20;
	p->timeout_s = 30;
	p->linger_ms = 1000;
	parse_args(p, argc, argv);
	p->start_ms = monotime_ms();
	os_random(&p->ssrc, sizeof(p->ssrc), NULL);

	cfg.controlling = p->controlling;
	cfg.lite = p->lite;
	cfg.relay_only = p->relay_only;
	cfg.software = "icepath-peer";
	cfg.random = os_random;
	if (p->consent_timeout_ms) {
		cfg.consent_timeout_ms = (uint32_t)p->consent_timeout_ms;
		cfg.consent_interval_ms = (uint32_t)(p->consent_timeout_ms / 6);
	}
	if (p->verbose)
		cfg.log = agent_log;
	err = ice_agent_new(&p->agent, &cfg);
	if (err < 0)
		fail(p, "cannot create the ICE agent: %s", strerror(-err));
	p->stream = ice_agent_add_stream(p->agent, 1);
	if (p->stream < 0)
		fail(p, "cannot add a stream: %s", strerror(-p->stream));

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->epfd < 0 || p->tfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->tfd, &ev) < 0)
		fail(p, "epoll/timerfd: %s", strerror(errno));
	open_sockets(p);
	if (netaddr_family(&p->stun) && (err = ice_agent_add_stun_server(p->agent, &p->stun)) < 0)
		fail(p, "agent refused the STUN server: %s", strerror(-err));
	if (netaddr_family(&p->turn) &&
	    (err = ice_agent_add_turn_server(p->agent, &p->turn, p->turn_user, p->turn_pass)) < 0)
		fail(p, "agent refused the TURN server: %s", strerror(-err));
	err = ice_agent_gather(p->agent, monotime_ms());
	if (err < 0)
		fail(p, "gathering did not start: %s", strerror(-err));
	flush(p, monotime_ms());
	run(p);

	ice_agent_release(p->agent, monotime_ms());
	flush(p, monotime_ms());
	ice_agent_free(p->agent);
	for (size_t i = 0; i < p->n_socks; i++)
		close(p->socks[i].fd);
	close(p->tfd);
	close(p->epfd);
	free(p);
	return 0;
}
