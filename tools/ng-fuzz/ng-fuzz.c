// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng-fuzz: send a bounded number of malformed and mutated NG requests to a
 * running NG server, then check that it still answers ping. Every reply
 * that comes back must be a well-formed NG reply with our cookie.
 *
 * Traffic goes to one address only: loopback by default, and with --netns
 * an RFC 1918 / RFC 5737 / IPv6 ULA address that a test namespace owns.
 * Bounded by --count and --seconds; one request in flight at a time.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "icepath/bencode.h"
#include "icepath/monotime.h"
#include "icepath/ng_client.h"
#include "icepath/compiler.h"

#define FUZZ_MAX_COUNT	 1000000
#define FUZZ_MAX_SECONDS 600

static const char usage_text[] =
	"Usage: ng-fuzz --server ADDR:PORT [--count N] [--seconds S] [--seed N]\n"
	"               [--timeout MS] [--netns] [--poke ADDR:MIN-MAX] [--verbose]\n"
	"\n"
	"Sends up to N (default 2000) mutated NG requests to ADDR:PORT within S seconds\n"
	"(default 20): random bencode, valid ping/offer/answer/delete/query/list/\n"
	"statistics requests truncated, bit-flipped, spliced or with bytes inserted,\n"
	"random bytes, and datagrams without a cookie. One request is in flight at a\n"
	"time; each waits --timeout ms (default 100) for its reply. Every reply must be\n"
	"a valid NG reply carrying the request's cookie. At the end the server must\n"
	"answer ping (3 tries of 1 s).\n"
	"\n"
	"  --server ADDR:PORT  target; loopback only unless --netns\n"
	"  --netns             also allow RFC 1918, RFC 5737 and fc00::/7 targets (for a\n"
	"                      server inside a test network namespace)\n"
	"  --count N           requests to send (1..1000000)\n"
	"  --seconds S         stop after S seconds (1..600)\n"
	"  --seed N            random seed (default: time); printed for reproduction\n"
	"  --timeout MS        wait per request (1..5000)\n"
	"  --poke ADDR:MIN-MAX after every request, send one datagram (STUN, RTP or\n"
	"                      junk) to every port MIN..MAX of ADDR: the media ports the\n"
	"                      server has bound and those it has just freed (at most\n"
	"                      4096 ports; the same address rules as --server)\n"
	"  --verbose           print each bad reply\n"
	"\n"
	"Exit status: 0 the server survived and every reply was valid; 1 a reply was\n"
	"invalid or the server stopped answering ping; 2 usage.\n";

struct fuzz {
	uint64_t rng;
	struct ng_client client;
	bool verbose;
	unsigned long sent, replies, no_reply, bad, errors, ok, no_cookie;
	/* --poke: media ports to hit after every request */
	int poke_fd;
	struct netaddr poke;
	unsigned poke_min, poke_max;
	unsigned long poked;
};

static uint64_t rnd(struct fuzz *f)
{
	/* xorshift64*: reproducible from --seed. */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 2685821657736338717ull;
}

static unsigned rndn(struct fuzz *f, unsigned n)
{
	return n ? (unsigned)(rnd(f) % n) : 0;
}

/* Only loopback, or with --netns the private/documentation ranges a test namespace uses. */
static bool target_allowed(const struct netaddr *a, bool netns)
{
	if (netaddr_is_loopback(a))
		return true;
	if (!netns)
		return false;
	if (netaddr_family(a) == AF_INET) {
		uint32_t ip = ntohl(a->in.sin_addr.s_addr);

		return (ip >> 24) == 10 || (ip >> 20) == (172u << 4 | 1) ||
		       (ip >> 16) == (192u << 8 | 168) || (ip >> 8) == 0xc00002 ||
		       (ip >> 8) == 0xc63364 || (ip >> 8) == 0xcb0071;
	}
	return (a->in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc;
}

static const char *const commands[] = {"ping",	"offer", "answer",     "delete",
				       "query", "list",	 "statistics", "start recording"};
static const char *const keys[] = {
	"call-id",	"from-tag",  "to-tag",	      "via-branch",
	"sdp",		"ICE",	     "ICE-lite",      "direction",
	"flags",	"replace",   "rtcp-mux",      "label",
	"limit",	"interface", "received-from", "transport-protocol",
	"delete-delay", "DTLS",	     "media address", "address family",
};
static const char *const words[] = {
	"force",
	"remove",
	"trust-address",
	"IP4",
	"IP6",
	"192.0.2.1",
	"::1",
	"RTP/AVP",
	"UDP/TLS/RTP/SAVPF",
	"offer",
	"demux",
	"priv",
	"pub",
	"fatal",
	"both",
	"backward",
	"origin",
	"",
	"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 9 RTP/AVP 0\r\n",
	"call-1",
	"x",
};

/* A random bencoded value, depth-limited. */
static void gen_value(struct fuzz *f, struct bencode_buf *b, int depth)
{
	unsigned k = rndn(f, depth > 6 ? 3 : 5);

	switch (k) {
	case 0:
		bencode_put_int(b, (int64_t)rnd(f) >> rndn(f, 64));
		break;
	case 1:
		bencode_put_str(b, words[rndn(f, ARRAY_SIZE(words))]);
		break;
	case 2: {
		char tmp[32];
		unsigned n = rndn(f, sizeof(tmp));

		for (unsigned i = 0; i < n; i++)
			tmp[i] = (char)rnd(f);
		bencode_put_bytes(b, tmp, n);
		break;
	}
	case 3:
		bencode_put_list(b);
		for (unsigned i = rndn(f, 5); i; i--)
			gen_value(f, b, depth + 1);
		bencode_put_end(b);
		break;
	default:
		bencode_put_dict(b);
		for (unsigned i = rndn(f, 6); i; i--) {
			bencode_put_str(b, keys[rndn(f, ARRAY_SIZE(keys))]);
			gen_value(f, b, depth + 1);
		}
		bencode_put_end(b);
	}
}

/* A plausible request: a command and a few known keys with plausible values. */
static void gen_request(struct fuzz *f, struct bencode_buf *b)
{
	bencode_put_dict(b);
	bencode_put_kv_str(b, "command", commands[rndn(f, ARRAY_SIZE(commands))]);
	for (unsigned i = rndn(f, 8); i; i--) {
		bencode_put_str(b, keys[rndn(f, ARRAY_SIZE(keys))]);
		if (rndn(f, 3))
			bencode_put_str(b, words[rndn(f, ARRAY_SIZE(words))]);
		else
			gen_value(f, b, 1);
	}
	bencode_put_end(b);
}

/* Offers the server should take, and some it must refuse in a later m=
 * section (after it bound the earlier sections' ports). */
static const char *const sdps[] = {
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
	"m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\na=ice-pacing:abc\r\n",
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
	"m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\n"
	"m=video 4004 RTP/AVP 96\r\na=ice-ufrag:x\r\n",
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
	"a=ice-ufrag:fzufrag1\r\na=ice-pwd:fzpasswordfzpasswordfz\r\n"
	"m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\na=rtcp-mux\r\na=mid:0\r\n"
	"a=candidate:1 1 udp 2130706431 192.0.2.10 4000 typ host\r\n"
	"m=video 4002 UDP/TLS/RTP/SAVPF 96\r\na=rtcp-mux\r\na=mid:1\r\n",
};

/* A request the server should accept: required keys present, values of the right type. */
static void gen_valid(struct fuzz *f, struct bencode_buf *b)
{
	static const char *const cmds[] = {"ping",  "offer", "answer",	  "delete",
					   "query", "list",  "statistics"};
	static const char *const ice[] = {"remove", "force", "default", "force-relay"};
	static const char *const flags[] = {"trust-address", "symmetric", "trickle-ICE",
					    "generate-mid",  "SDES-off",  "port-latching"};
	const char *cmd = cmds[rndn(f, 7)];
	char id[24];

	snprintf(id, sizeof(id), "fz-call-%u", rndn(f, 8));
	bencode_put_dict(b);
	if (rndn(f, 2))
		bencode_put_kv_str(b, "ICE", ice[rndn(f, 4)]);
	bencode_put_kv_str(b, "call-id", id);
	bencode_put_kv_str(b, "command", cmd);
	if (rndn(f, 2)) {
		bencode_put_str(b, "flags");
		bencode_put_list(b);
		for (unsigned i = rndn(f, 4); i; i--)
			bencode_put_str(b, flags[rndn(f, 6)]);
		bencode_put_end(b);
	}
	bencode_put_kv_str(b, "from-tag", rndn(f, 2) ? "ftag" : "ttag");
	if (rndn(f, 3) == 0) {
		bencode_put_str(b, "received-from");
		bencode_put_list(b);
		bencode_put_str(b, "IP4");
		bencode_put_str(b, "192.0.2.10");
		bencode_put_end(b);
	}
	bencode_put_kv_str(b, "sdp", sdps[rndn(f, ARRAY_SIZE(sdps))]);
	bencode_put_kv_str(b, "to-tag", "ttag");
	bencode_put_end(b);
}

/* Damage buf[0..*len) in place (cap bytes available). */
static void mutate(struct fuzz *f, uint8_t *buf, size_t *len, size_t cap)
{
	for (unsigned rounds = 1 + rndn(f, 4); rounds; rounds--) {
		size_t at = *len ? rndn(f, (unsigned)*len) : 0;

		switch (rndn(f, 5)) {
		case 0: /* truncate */
			*len = at;
			break;
		case 1: /* flip a bit */
			if (*len)
				buf[at] ^= (uint8_t)(1u << rndn(f, 8));
			break;
		case 2: /* insert a byte */
			if (*len < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = "deil:0123456789-"[rndn(f, 16)];
				(*len)++;
			}
			break;
		case 3: /* delete a run */
			if (*len) {
				size_t n = 1 + rndn(f, 8);

				if (n > *len - at)
					n = *len - at;
				memmove(buf + at, buf + at + n, *len - at - n);
				*len -= n;
			}
			break;
		default: /* duplicate a run */
			if (*len && *len + 16 <= cap) {
				size_t n = 1 + rndn(f, 16);

				if (n > *len - at)
					n = *len - at;
				memmove(buf + at + n, buf + at, *len - at);
				*len += n;
			}
		}
	}
}

static void check_reply(struct fuzz *f, const char *cookie, const uint8_t *r, size_t n)
{
	static struct ng_reply rep;
	char why[NG_REASON_MAX];

	if (ng_reply_parse(r, n, cookie, &rep, why, sizeof(why))) {
		f->bad++;
		if (f->verbose)
			fprintf(stderr, "ng-fuzz: bad reply to %s: %s: '%.*s'\n", cookie, why,
				(int)(n > 200 ? 200 : n), r);
		return;
	}
	if (rep.result == NG_RESULT_ERROR)
		f->errors++;
	else
		f->ok++;
}

/* --poke: one datagram to every port of the range, of a kind the media
 * path handles differently (a STUN Binding request, RTP, a byte of junk). */
static void poke_ports(struct fuzz *f)
{
	static const uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	static const uint8_t rtp[12] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4};
	static const uint8_t junk[1] = {0xff};
	const uint8_t *const kinds[] = {stun, rtp, junk};
	const size_t lens[] = {sizeof(stun), sizeof(rtp), sizeof(junk)};
	unsigned k = rndn(f, 3);

	for (unsigned p = f->poke_min; p <= f->poke_max; p++) {
		netaddr_set_port(&f->poke, (uint16_t)p);
		if (sendto(f->poke_fd, kinds[k], lens[k], MSG_DONTWAIT, &f->poke.sa,
			   netaddr_len(&f->poke)) >= 0)
			f->poked++;
	}
}

static void fuzz_one(struct fuzz *f, unsigned long i, uint8_t *reply)
{
	uint8_t dgram[4096];
	char cookie[NG_COOKIE_MAX + 1];
	struct bencode_buf b;
	size_t len, clen;
	unsigned kind = rndn(f, 10);
	ssize_t n;

	snprintf(cookie, sizeof(cookie), "fz%lu", i);
	clen = strlen(cookie);
	memcpy(dgram, cookie, clen);
	dgram[clen] = ' ';
	bencode_buf_init(&b, dgram + clen + 1, sizeof(dgram) - clen - 1);
	if (kind < 2) {
		gen_value(f, &b, 0);
	} else if (kind < 5) {
		gen_request(f, &b);
	} else if (kind < 9) {
		gen_valid(f, &b);
	} else {
		for (unsigned k = rndn(f, 200); k; k--) {
			uint8_t c = (uint8_t)rnd(f);

			bencode_put_raw(&b, &c, 1);
		}
	}
	len = clen + 1 + b.len;
	if (kind >= 2 && kind < 9 && rndn(f, 3)) {
		mutate(f, dgram + clen + 1, &b.len, sizeof(dgram) - clen - 1);
		len = clen + 1 + b.len;
	}
	if (rndn(f, 20) == 0) {
		/* Damage the whole datagram, cookie included: may lose the cookie. */
		mutate(f, dgram, &len, sizeof(dgram));
	}
	f->sent++;
	{
		struct ng_str ck, body;
		bool has_cookie = ng_split_cookie(dgram, len, &ck, &body) == 0;

		if (!has_cookie) {
			/* No reply is due: do not wait for one. A stray reply would be
			 * skipped later, and a server that answers is still correct
			 * only if its reply parses, which later waits cannot check. */
			f->no_cookie++;
			if (send(f->client.fd, dgram, len, 0) < 0)
				f->no_reply++;
			return;
		}
		if (has_cookie && (ck.len != clen || memcmp(ck.s, cookie, clen))) {
			/* Mutation made another cookie: wait for that one. */
			memcpy(cookie, ck.s, ck.len);
			cookie[ck.len] = 0;
		}
		n = ng_client_exchange(&f->client, cookie, dgram, len, reply, NG_DGRAM_MAX);
		if (n > 0) {
			f->replies++;
			check_reply(f, cookie, reply, (size_t)n);
		} else {
			f->no_reply++;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 'S'},
		{"seed", required_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 't'},
		{"netns", no_argument, NULL, 'n'},
		{"poke", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t reply[NG_DGRAM_MAX];
	static struct fuzz f;
	const char *server = NULL, *poke = NULL;
	unsigned long count = 2000, seconds = 20, timeout = 100;
	unsigned long long seed = (unsigned long long)time(NULL);
	struct ng_request req;
	struct ng_reply rep;
	char why[NG_REASON_MAX];
	bool netns = false, pong;
	struct netaddr addr;
	uint64_t start;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:c:S:r:t:np:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'c':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seconds = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 't':
			timeout = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			netns = true;
			break;
		case 'p':
			poke = optarg;
			break;
		case 'v':
			f.verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (!server || optind != argc || !count || count > FUZZ_MAX_COUNT || !seconds ||
	    seconds > FUZZ_MAX_SECONDS || !timeout || timeout > 5000) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (netaddr_parse(&addr, server, NG_DEFAULT_PORT)) {
		fprintf(stderr, "ng-fuzz: --server '%s': expected ADDR:PORT\n", server);
		return 2;
	}
	if (!target_allowed(&addr, netns)) {
		fprintf(stderr,
			"ng-fuzz: refusing to fuzz %s: only loopback, or with --netns RFC 1918, "
			"RFC 5737 and fc00::/7 addresses of a test namespace\n",
			server);
		return 2;
	}
	f.poke_fd = -1;
	if (poke) {
		char host[80];
		const char *colon = strrchr(poke, ':');
		unsigned lo = 0, hi = 0;

		if (!colon || (size_t)(colon - poke) >= sizeof(host) ||
		    sscanf(colon + 1, "%u-%u", &lo, &hi) != 2 || !lo || hi > 65535 || lo > hi ||
		    hi - lo >= 4096) {
			fprintf(stderr, "ng-fuzz: --poke '%s': expected ADDR:MIN-MAX (at most 4096 "
					"ports)\n",
				poke);
			return 2;
		}
		memcpy(host, poke, (size_t)(colon - poke));
		host[colon - poke] = 0;
		if (netaddr_parse(&f.poke, host, 1) || !target_allowed(&f.poke, netns)) {
			fprintf(stderr, "ng-fuzz: --poke '%s': not an address ng-fuzz may send to "
					"(loopback, or with --netns a test namespace's)\n",
				poke);
			return 2;
		}
		f.poke_min = lo;
		f.poke_max = hi;
		f.poke_fd = socket(netaddr_family(&f.poke), SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (f.poke_fd < 0) {
			fprintf(stderr, "ng-fuzz: --poke: cannot open a UDP socket: %s\n",
				strerror(errno));
			return 2;
		}
	}
	if (ng_client_open(&f.client, &addr, (unsigned)timeout, 0)) {
		fprintf(stderr, "ng-fuzz: cannot open a UDP socket to %s: %s\n", server,
			strerror(errno));
		return 2;
	}
	f.rng = seed ? seed : 1;
	printf("ng-fuzz: %s, up to %lu requests in %lu s, seed %llu\n", server, count, seconds,
	       seed);
	start = monotime_ms();
	for (unsigned long i = 0; i < count && monotime_ms() - start < seconds * 1000u; i++) {
		fuzz_one(&f, i, reply);
		if (f.poke_fd >= 0)
			poke_ports(&f);
	}

	/* Is it still alive? Late replies to fuzz requests are skipped by cookie. */
	f.client.timeout_ms = 1000;
	f.client.retries = 2;
	ng_request_init(&req, NG_CMD_PING);
	pong = ng_client_call(&f.client, &req, reply, sizeof(reply), &rep, why, sizeof(why)) > 0 &&
	       rep.result == NG_RESULT_PONG;
	ng_client_close(&f.client);

	printf("ng-fuzz: sent %lu (%lu without a cookie), replies %lu (ok %lu, error %lu, "
	       "invalid %lu), no reply %lu, media datagrams %lu; final ping: %s\n",
	       f.sent, f.no_cookie, f.replies, f.ok, f.errors, f.bad, f.no_reply, f.poked,
	       pong ? "pong" : "NO ANSWER");
	if (f.poke_fd >= 0)
		close(f.poke_fd);
	if (!pong)
		fprintf(stderr, "ng-fuzz: %s no longer answers ping (seed %llu)\n", server, seed);
	if (f.bad)
		fprintf(stderr, "ng-fuzz: %lu invalid replies (seed %llu; --verbose shows them)\n",
			f.bad, seed);
	return pong && !f.bad ? 0 : 1;
}
