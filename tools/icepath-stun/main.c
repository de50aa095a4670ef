// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-stun: ask a STUN server for our server-reflexive (mapped) address
 * with one Binding transaction over UDP, retransmitted as RFC 8489 §6.2.1
 * says. The STUN codec is icepath's own (userspace/codec/stun.c).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/netaddr.h"
#include "icepath/stun.h"

#define STUN_DEFAULT_PORT 3478 /* RFC 8489 §18.6 */
#define STUN_RTO_MS	  500  /* initial RTO, RFC 8489 §6.2.1 */
#define STUN_RC		  7    /* requests sent at most, RFC 8489 §6.2.1 */
#define STUN_RM		  16   /* last wait = Rm * initial RTO, RFC 8489 §6.2.1 */
/* 0, 500, 1500, 3500, 7500, 15500, 31500, then 16 * 500 ms: 39.5 s. */
#define STUN_TRANSACTION_MS 39500
#define STUN_MAX_TIMEOUT_MS 3600000
#define RECV_BUF_LEN	    2048 /* above any path MTU a STUN response uses */
#define SOFTWARE_NAME	    "icepath-stun"

enum exit_code {
	EXIT_OK = 0,
	EXIT_NO_RESPONSE = 1,
	EXIT_USAGE = 2,
	EXIT_BAD_RESPONSE = 3,
	EXIT_LOCAL = 4,
};

struct opts {
	const char *server_arg;
	const char *bind_arg;
	long timeout_ms;
	bool json;
	bool verbose;
};

struct result {
	struct netaddr server, local, mapped;
	const char *mapped_attr; /* "XOR-MAPPED-ADDRESS" or "MAPPED-ADDRESS" */
	char software[768];
	int error_code;
	char reason[768];
	long rtt_ms;
	int transmissions;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: icepath-stun [OPTIONS] SERVER[:PORT]\n"
		"\n"
		"Send one STUN Binding request (RFC 8489) over UDP to SERVER and print the\n"
		"mapped (server-reflexive) address the server saw, the local address the\n"
		"request left from and the server's SOFTWARE, as stunclient does.\n"
		"\n"
		"SERVER is an IPv4 address, an IPv6 address in brackets, or a host name;\n"
		"PORT defaults to %d. Examples: 203.0.113.10, 203.0.113.10:3479,\n"
		"[2001:db8::10]:3478, stun.example.net.\n"
		"\n"
		"Options:\n"
		"  -b, --bind ADDR[:PORT]  send from this local address (and port); default:\n"
		"                          any address of the server's family, a kernel-chosen\n"
		"                          port. IPv6 with a port: [2001:db8::2]:5000\n"
		"  -t, --timeout MS        give up after MS milliseconds in total (1-%d);\n"
		"                          default %d, the whole RFC 8489 transaction\n"
		"  -j, --json              print one JSON object on standard output, on\n"
		"                          success and on failure\n"
		"  -v, --verbose           log each transmission and each ignored datagram\n"
		"                          on standard error\n"
		"  -h, --help              show this help\n"
		"\n"
		"Retransmission (RFC 8489 §6.2.1): the request is sent up to Rc=%d times, the\n"
		"first retransmission after RTO=%d ms, each later one after twice the previous\n"
		"interval; after the last, the client waits Rm=%d times the initial RTO. A\n"
		"--timeout shorter than that ends the transaction early.\n"
		"\n"
		"A datagram is taken as the response only if it comes from SERVER, is a\n"
		"well-framed STUN Binding response carrying the magic cookie and the request's\n"
		"transaction id, and its FINGERPRINT, if present, is right. Anything else is\n"
		"ignored (-v shows why) and the wait goes on; a response that claims the\n"
		"transaction but is malformed or unusable is remembered for exit status 3.\n"
		"The mapped address is XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from servers\n"
		"that only send that (RFC 3489 era).\n"
		"\n"
		"Output, one \"name: value\" per line:\n"
		"  mapped: 198.51.100.7:40123\n"
		"  mapped-attribute: XOR-MAPPED-ADDRESS\n"
		"  local: 10.0.0.2:51000\n"
		"  server: 203.0.113.10:3478\n"
		"  software: Coturn-4.6.1 'Gorst'     (\"(none)\" if the server sent none)\n"
		"  rtt-ms: 1                          (since the last transmission)\n"
		"  transmissions: 1\n"
		"With --json, one object with the keys ok (true), server, local, mapped,\n"
		"mapped_ip, mapped_port, mapped_attribute, software (null if none), rtt_ms\n"
		"and transmissions; on failure ok is false, error says why, and an error\n"
		"response adds error_code and reason.\n"
		"\n"
		"Examples:\n"
		"  icepath-stun 203.0.113.10\n"
		"  icepath-stun --json --timeout 2000 --bind 10.0.0.2:40000 203.0.113.10:3478\n"
		"\n"
		"Exit status:\n"
		"  0  success: a mapped address was printed\n"
		"  1  no response: timeout, or an ICMP port/host/network unreachable\n"
		"  2  usage error: bad option or address\n"
		"  3  error response (e.g. 400, 401), or only responses that were malformed\n"
		"     or unusable (no mapped address, unknown comprehension-required attribute)\n"
		"  4  local error: cannot resolve SERVER, create or bind the socket\n",
		STUN_DEFAULT_PORT, STUN_MAX_TIMEOUT_MS, STUN_TRANSACTION_MS, STUN_RC, STUN_RTO_MS,
		STUN_RM);
}

/* JSON string (or null) with the escapes RFC 8259 §7 requires. */
static void json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_addr(const char *key, const struct netaddr *a)
{
	char s[NETADDR_STRLEN];

	printf("\"%s\":", key);
	json_str(netaddr_family(a) ? netaddr_str(a, s, sizeof(s)) : NULL);
}

/* Report a failure in the chosen format; returns code for `return fail(...)`. */
static int fail(const struct opts *o, const struct result *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(const struct opts *o, const struct result *r, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "icepath-stun: %s\n", msg);
	if (o->json) {
		printf("{\"ok\":false,\"error\":");
		json_str(msg);
		if (r) {
			putchar(',');
			json_addr("server", &r->server);
			putchar(',');
			json_addr("local", &r->local);
			printf(",\"transmissions\":%d", r->transmissions);
			if (r->error_code) {
				printf(",\"error_code\":%d,\"reason\":", r->error_code);
				json_str(r->reason);
			}
		}
		printf("}\n");
	}
	return code;
}

/* "host", "host:port", "[v6]", "[v6]:port", or an IP literal netaddr_parse
 * knows; names go through getaddrinfo. 0, -EINVAL (syntax) or -ENOENT. */
static int resolve(struct netaddr *out, const char *arg, int family, int def_port)
{
	char host[256], port[8];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_family = family }, *res;
	const char *colon;
	size_t hlen;
	int rc;

	if (netaddr_parse(out, arg, def_port) == 0)
		return 0;
	/* A bare IPv6 literal without brackets is handled above; anything
	 * else with several colons is not a name. */
	colon = strrchr(arg, ':');
	if (colon && strchr(arg, ':') != colon)
		return -EINVAL;
	hlen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (hlen == 0 || hlen >= sizeof(host) || arg[0] == '[')
		return -EINVAL;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (!colon[1] || *end || p < 1 || p > 65535)
			return -EINVAL;
		snprintf(port, sizeof(port), "%ld", p);
	} else {
		snprintf(port, sizeof(port), "%d", def_port);
	}
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen <= sizeof(*out) ? res->ai_addrlen : sizeof(*out));
	freeaddrinfo(res);
	return 0;
}

static void vlog(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->verbose)
		return;
	va_start(ap, fmt);
	fputs("icepath-stun: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * Look at one datagram. Returns 1 if it is our response and r is filled
 * (or r->error_code set), 0 to ignore it (why in *why), -STUN_ERR_x if it
 * carries our transaction id but cannot be used.
 */
static int take_response(const uint8_t *buf, size_t len, const uint8_t tid[STUN_TID_LEN],
			 struct result *r, const char **why)
{
	const struct stun_attr *a;
	struct stun_msg m;
	int rc = stun_parse(&m, buf, len);

	if (rc < 0) {
		*why = stun_strerror(rc);
		/* Framing failed, so the id may be anything: only a datagram
		 * that plainly claims our transaction counts as malformed. */
		if (len >= STUN_HEADER_LEN && !memcmp(buf + 8, tid, STUN_TID_LEN))
			return rc;
		return 0;
	}
	if (!m.has_cookie || memcmp(m.tid, tid, STUN_TID_LEN)) {
		*why = "not our transaction";
		return 0;
	}
	if (m.method != STUN_METHOD_BINDING ||
	    (m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR)) {
		*why = "not a Binding response";
		return 0;
	}
	a = stun_msg_find(&m, STUN_ATTR_SOFTWARE);
	if (a && stun_attr_get_string(&m, a, r->software, sizeof(r->software)) < 0)
		snprintf(r->software, sizeof(r->software), "(malformed SOFTWARE)");
	if (m.cls == STUN_CLASS_ERROR) {
		const char *reason = "";
		size_t rlen = 0;

		a = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
		if (!a || stun_attr_get_error(&m, a, &r->error_code, &reason, &rlen) < 0) {
			*why = "error response without a valid ERROR-CODE";
			return -STUN_ERR_BAD_ATTR;
		}
		if (rlen >= sizeof(r->reason))
			rlen = sizeof(r->reason) - 1;
		memcpy(r->reason, reason, rlen);
		r->reason[rlen] = '\0';
		return 1;
	}
	/* RFC 8489 §6.3.3: unknown comprehension-required attributes in a
	 * success response fail the transaction. */
	if (m.nunknown) {
		*why = "success response with an unknown comprehension-required attribute";
		return -STUN_ERR_BAD_ATTR;
	}
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	if (a) {
		r->mapped_attr = "XOR-MAPPED-ADDRESS";
		rc = stun_attr_get_xor_addr(&m, a, &r->mapped);
	} else if ((a = stun_msg_find(&m, STUN_ATTR_MAPPED_ADDRESS))) {
		r->mapped_attr = "MAPPED-ADDRESS";
		rc = stun_attr_get_addr(&m, a, &r->mapped);
	} else {
		*why = "success response without XOR-MAPPED-ADDRESS or MAPPED-ADDRESS";
		return -STUN_ERR_BAD_ATTR;
	}
	if (rc < 0) {
		*why = stun_strerror(rc);
		return rc;
	}
	return 1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct opts){ .timeout_ms = STUN_TRANSACTION_MS };
	while ((c = getopt_long(argc, argv, "b:t:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bind_arg = optarg;
			break;
		case 't':
			errno = 0;
			o->timeout_ms = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->timeout_ms < 1 ||
			    o->timeout_ms > STUN_MAX_TIMEOUT_MS) {
				fprintf(stderr,
					"icepath-stun: --timeout '%s': want milliseconds, 1-%d\n",
					optarg, STUN_MAX_TIMEOUT_MS);
				return -1;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			fprintf(stderr, "Try 'icepath-stun --help'.\n");
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "icepath-stun: %s\nTry 'icepath-stun --help'.\n",
			optind == argc ? "missing SERVER" : "more than one SERVER given");
		return -1;
	}
	o->server_arg = argv[optind];
	return 0;
}

/* Errors a connected UDP socket reports for ICMP errors from the path. */
static bool icmp_error(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

static int no_server(const struct opts *o, const struct result *r, int err)
{
	return fail(o, r, EXIT_NO_RESPONSE, "no STUN server at %s: %s (ICMP %s)", o->server_arg,
		    strerror(err), err == ECONNREFUSED ? "port unreachable" : "unreachable");
}

/* Send the request at its RFC 8489 §6.2.1 times and wait for the response.
 * Returns an exit code. */
static int transact(const struct opts *o, int fd, const uint8_t *req, size_t req_len,
		    const uint8_t tid[STUN_TID_LEN], struct result *r)
{
	long start = (long)monotime_ms(), deadline = start + o->timeout_ms, next_tx = start;
	long rto = STUN_RTO_MS, last_tx = start;
	int bad = 0;
	const char *bad_why = NULL;

	for (;;) {
		long now = (long)monotime_ms(), wait;
		uint8_t buf[RECV_BUF_LEN];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		const char *why = NULL;
		ssize_t n;
		int rc;

		if (now >= deadline)
			break;
		if (r->transmissions < STUN_RC && now >= next_tx) {
			if (send(fd, req, req_len, 0) < 0) {
				if (icmp_error(errno))
					return no_server(o, r, errno);
				return fail(o, r, EXIT_LOCAL, "cannot send to %s: %s",
					    o->server_arg, strerror(errno));
			}
			r->transmissions++;
			last_tx = now;
			vlog(o, "request %d/%d sent at +%ld ms", r->transmissions, STUN_RC,
			     now - start);
			/* Counted from the planned time, so wakeup lag does not
			 * add up; after the last request, wait Rm * RTO. */
			next_tx += r->transmissions < STUN_RC ? rto : STUN_RM * STUN_RTO_MS;
			if (r->transmissions == STUN_RC && next_tx < deadline)
				deadline = next_tx;
			rto *= 2;
		}
		wait = (r->transmissions < STUN_RC ? next_tx : deadline) - now;
		if (wait > deadline - now)
			wait = deadline - now;
		rc = poll(&pfd, 1, (int)(wait > 0 ? wait : 0));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return fail(o, r, EXIT_LOCAL, "poll: %s", strerror(errno));
		}
		if (rc == 0)
			continue;
		/* connect() makes the kernel drop datagrams from other sources. */
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (icmp_error(errno))
				return no_server(o, r, errno);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail(o, r, EXIT_LOCAL, "recv: %s", strerror(errno));
		}
		rc = take_response(buf, (size_t)n, tid, r, &why);
		if (rc == 1) {
			r->rtt_ms = (long)monotime_ms() - last_tx;
			return EXIT_OK;
		}
		vlog(o, "ignored a %zd-byte datagram: %s", n, why);
		if (rc < 0) {
			bad++;
			bad_why = why;
		}
	}
	if (bad)
		return fail(o, r, EXIT_BAD_RESPONSE, "%d unusable response(s) from %s: %s", bad,
			    o->server_arg, bad_why);
	return fail(o, r, EXIT_NO_RESPONSE, "no response from %s after %d request(s) in %ld ms",
		    o->server_arg, r->transmissions, o->timeout_ms);
}

static void print_result(const struct opts *o, const struct result *r)
{
	char s[NETADDR_STRLEN], ip[NETADDR_STRLEN];

	if (!o->json) {
		printf("mapped: %s\n", netaddr_str(&r->mapped, s, sizeof(s)));
		printf("mapped-attribute: %s\n", r->mapped_attr);
		printf("local: %s\n", netaddr_str(&r->local, s, sizeof(s)));
		printf("server: %s\n", netaddr_str(&r->server, s, sizeof(s)));
		printf("software: %s\n", r->software[0] ? r->software : "(none)");
		printf("rtt-ms: %ld\ntransmissions: %d\n", r->rtt_ms, r->transmissions);
		return;
	}
	printf("{\"ok\":true,");
	json_addr("server", &r->server);
	putchar(',');
	json_addr("local", &r->local);
	putchar(',');
	json_addr("mapped", &r->mapped);
	printf(",\"mapped_ip\":");
	json_str(netaddr_ip_str(&r->mapped, ip, sizeof(ip)));
	printf(",\"mapped_port\":%u,\"mapped_attribute\":", netaddr_port(&r->mapped));
	json_str(r->mapped_attr);
	printf(",\"software\":");
	json_str(r->software[0] ? r->software : NULL);
	printf(",\"rtt_ms\":%ld,\"transmissions\":%d}\n", r->rtt_ms, r->transmissions);
}

int main(int argc, char **argv)
{
	uint8_t tid[STUN_TID_LEN], req[128];
	struct result r = { 0 };
	struct stun_builder b;
	struct netaddr bind_addr;
	socklen_t slen;
	struct opts o;
	int fd, rc, req_len;

	if (parse_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	rc = resolve(&r.server, o.server_arg, AF_UNSPEC, STUN_DEFAULT_PORT);
	if (rc == -EINVAL)
		return fail(&o, NULL, EXIT_USAGE,
			    "SERVER '%s': want ADDR, ADDR:PORT, [IPV6]:PORT or HOST[:PORT]",
			    o.server_arg);
	if (rc < 0)
		return fail(&o, NULL, EXIT_LOCAL, "cannot resolve SERVER '%s'", o.server_arg);

	memset(&bind_addr, 0, sizeof(bind_addr));
	bind_addr.sa.sa_family = (sa_family_t)netaddr_family(&r.server);
	if (o.bind_arg) {
		if (netaddr_parse(&bind_addr, o.bind_arg, 0) < 0)
			return fail(&o, NULL, EXIT_USAGE,
				    "--bind '%s': want ADDR, ADDR:PORT or [IPV6]:PORT", o.bind_arg);
		if (netaddr_family(&bind_addr) != netaddr_family(&r.server))
			return fail(&o, NULL, EXIT_USAGE,
				    "--bind %s and SERVER %s are of different address families",
				    o.bind_arg, o.server_arg);
	}

	fd = socket(netaddr_family(&r.server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(&o, NULL, EXIT_LOCAL, "cannot create a UDP socket: %s",
			    strerror(errno));
	if (bind(fd, &bind_addr.sa, netaddr_len(&bind_addr)) < 0) {
		rc = fail(&o, NULL, EXIT_LOCAL, "cannot bind to %s: %s",
			  o.bind_arg ? o.bind_arg : "the any address", strerror(errno));
		goto out;
	}
	/* connect(): the kernel picks the source address (reported as local)
	 * and drops datagrams from anyone but the server. */
	if (connect(fd, &r.server.sa, netaddr_len(&r.server)) < 0) {
		rc = fail(&o, &r, EXIT_LOCAL, "cannot reach %s: %s", o.server_arg,
			  strerror(errno));
		goto out;
	}
	slen = sizeof(r.local);
	if (getsockname(fd, &r.local.sa, &slen) < 0) {
		rc = fail(&o, &r, EXIT_LOCAL, "getsockname: %s", strerror(errno));
		goto out;
	}

	if (getrandom(tid, sizeof(tid), 0) != sizeof(tid)) {
		rc = fail(&o, &r, EXIT_LOCAL, "getrandom: %s", strerror(errno));
		goto out;
	}
	stun_build_init(&b, req, sizeof(req), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, SOFTWARE_NAME);
	stun_build_fingerprint(&b);
	req_len = stun_build_finish(&b);
	if (req_len < 0) { /* cannot happen with a fixed-size request */
		rc = fail(&o, &r, EXIT_LOCAL, "building the request: %s", stun_strerror(req_len));
		goto out;
	}

	rc = transact(&o, fd, req, (size_t)req_len, tid, &r);
	if (rc == EXIT_OK && r.error_code)
		rc = fail(&o, &r, EXIT_BAD_RESPONSE, "%s answered %d %s", o.server_arg,
			  r.error_code, r.reason);
	else if (rc == EXIT_OK)
		print_result(&o, &r);
out:
	close(fd);
	return rc;
}
