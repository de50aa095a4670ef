// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-bench ng: set up N plain-RTP calls on an NG relay (rtpengine or
 * icepathd, same requests) and write the flows file for send/recv. For call
 * i the caller (offerer) is at --caller IP, port P+2i, and the callee at
 * --callee IP, port Q+2i. The relay's offer reply carries the address it
 * will send from toward the callee (the sink checks it); its answer reply
 * carries the address the caller must send to (the sender's dst).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "icepath/bencode.h"
#include "icepath/sdp.h"

#define NG_TIMEOUT_MS 2000 /* per try; the relay may be busy setting up ports */
#define NG_TRIES      3
#define NG_MAX_MSG    65536 /* bytes: one UDP datagram */
#define NG_NODES      512

struct ng_client {
	int fd;
	unsigned cookie_seq;
	const char *dir[2]; /* direction=[offerer side, answerer side], or NULL */
	uint8_t reply[NG_MAX_MSG];
	struct bencode nodes[NG_NODES];
};

static void ng_usage(FILE *out)
{
	fprintf(out,
		"usage: icepath-bench ng --server IP:PORT --calls N --out FILE [options]\n"
		"       icepath-bench ng --server IP:PORT --ping\n"
		"       icepath-bench ng --direct --calls N --out FILE [options]\n"
		"  Offer/answer N plain-RTP calls (ICE=remove) over the NG protocol and\n"
		"  write the flows file (caller -> relay -> callee, one flow per call).\n"
		"  --direct writes flows straight from caller to callee (no relay, the\n"
		"  kernel's IP forwarding as a baseline). Prints one JSON object.\n"
		"  --caller IP:PORT  offerer's address and first RTP port (default\n"
		"                    192.0.2.10:10000); call i uses PORT+2i\n"
		"  --callee IP:PORT  answerer's address and first port (default\n"
		"                    198.51.100.10:10000)\n"
		"  --prefix STR      call-id prefix (default icepath-bench)\n"
		"  --direction A,B   NG direction: interface names toward caller, callee\n"
		"  --delete          delete calls PREFIX-0..N-1 instead of creating them\n");
}

/* One request, one reply with the same cookie; retried with the same cookie,
 * which NG servers answer from their cache (no duplicate call). */
static int ng_call(struct ng_client *c, struct bencode_buf *req, struct bencode **root,
		   char *err, size_t errlen)
{
	char msg[NG_MAX_MSG], cookie[24];
	struct bencode_err berr;
	ssize_t blen, n;
	int len, tries;

	blen = bencode_buf_finish(req);
	len = snprintf(cookie, sizeof(cookie), "b%u_%d", ++c->cookie_seq, (int)getpid());
	if (blen < 0 || (size_t)blen + (size_t)len + 1 > sizeof(msg)) {
		snprintf(err, errlen, "request does not fit in one datagram");
		return -EMSGSIZE;
	}
	memcpy(msg, cookie, (size_t)len);
	msg[len] = ' ';
	memcpy(msg + len + 1, req->data, (size_t)blen);
	for (tries = 0; tries < NG_TRIES; tries++) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		if (send(c->fd, msg, (size_t)len + 1 + (size_t)blen, 0) < 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -errno;
		}
		while (poll(&p, 1, NG_TIMEOUT_MS) == 1) {
			n = recv(c->fd, c->reply, sizeof(c->reply), 0);
			if (n < 0) {
				snprintf(err, errlen, "recv: %s (is the relay listening?)",
					 strerror(errno));
				return -errno;
			}
			if (n <= len || memcmp(c->reply, cookie, (size_t)len) || c->reply[len] != ' ')
				continue; /* a late reply to an earlier try */
			if (bencode_decode(c->reply + len + 1, (size_t)n - (size_t)len - 1, c->nodes,
					   NG_NODES, root, &berr) != 0) {
				char why[160];

				snprintf(err, errlen, "reply is not bencode: %s",
					 bencode_err_str(&berr, why, sizeof(why)));
				return -EBADMSG;
			}
			return 0;
		}
	}
	snprintf(err, errlen, "no reply after %d tries of %d ms", NG_TRIES, NG_TIMEOUT_MS);
	return -ETIMEDOUT;
}

/* result must be "ok" (or want); else the error-reason goes to err. */
static int ng_check_result(const struct bencode *root, const char *want, char *err, size_t errlen)
{
	char reason[200] = "";

	if (bencode_str_eq(bencode_dict_get(root, "result"), want))
		return 0;
	if (bencode_str_copy(bencode_dict_get(root, "error-reason"), reason, sizeof(reason)))
		snprintf(reason, sizeof(reason), "(no error-reason)");
	snprintf(err, errlen, "result is not '%s': %s", want, reason);
	return -EPROTO;
}

/* The relay's address for media section 0 of the SDP in the reply. */
static int ng_reply_addr(const struct bencode *root, struct netaddr *out, char *err, size_t errlen)
{
	const uint8_t *p;
	struct sdp sdp;
	char why[160];
	size_t n;
	int rc;

	if (bencode_get_str(bencode_dict_get(root, "sdp"), &p, &n)) {
		snprintf(err, errlen, "reply carries no sdp");
		return -EPROTO;
	}
	rc = sdp_parse(&sdp, (const char *)p, n, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "reply SDP refused: %s", why);
		return rc;
	}
	rc = sdp_media_default_addr(&sdp, 0, out);
	if (rc)
		snprintf(err, errlen, "reply SDP has no media address (c=/m=)");
	sdp_free(&sdp);
	return rc;
}

static void ng_put_common(struct ng_client *c, struct bencode_buf *b, const char *cmd,
			  const char *call_id, const char *from_tag)
{
	bencode_put_dict(b);
	bencode_put_kv_str(b, "command", cmd);
	bencode_put_kv_str(b, "call-id", call_id);
	bencode_put_kv_str(b, "from-tag", from_tag);
}

static void ng_put_media(struct ng_client *c, struct bencode_buf *b, const struct netaddr *who,
			 unsigned sess)
{
	char ip[NETADDR_STRLEN], sdp[512];

	netaddr_ip_str(who, ip, sizeof(ip));
	/* RFC 8866 plain audio, PCMU only (RFC 3551 PT 0): no ICE, no crypto */
	snprintf(sdp, sizeof(sdp),
		 "v=0\r\no=- %u 1 IN IP%c %s\r\ns=icepath-bench\r\nc=IN IP%c %s\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		 sess, netaddr_family(who) == AF_INET6 ? '6' : '4', ip,
		 netaddr_family(who) == AF_INET6 ? '6' : '4', ip, netaddr_port(who));
	bencode_put_kv_str(b, "sdp", sdp);
	bencode_put_kv_str(b, "ICE", "remove");
	if (c->dir[0]) {
		bencode_put_str(b, "direction");
		bencode_put_list(b);
		bencode_put_str(b, c->dir[0]);
		bencode_put_str(b, c->dir[1]);
		bencode_put_end(b);
	}
}

/* offer + answer of call i; fills the flow. */
static int ng_setup_call(struct ng_client *c, const char *prefix, unsigned i,
			 struct bench_flow *f, char *err, size_t errlen)
{
	char call_id[96], from_tag[32], to_tag[32];
	uint8_t mem[2048];
	struct bencode_buf b;
	struct bencode *root;
	int rc;

	snprintf(call_id, sizeof(call_id), "%s-%u", prefix, i);
	snprintf(from_tag, sizeof(from_tag), "caller%u", i);
	snprintf(to_tag, sizeof(to_tag), "callee%u", i);

	bencode_buf_init(&b, mem, sizeof(mem));
	ng_put_common(c, &b, "offer", call_id, from_tag);
	ng_put_media(c, &b, &f->src, 2 * i + 1);
	bencode_put_end(&b);
	rc = ng_call(c, &b, &root, err, errlen);
	if (!rc)
		rc = ng_check_result(root, "ok", err, errlen);
	if (!rc)
		rc = ng_reply_addr(root, &f->relay_src, err, errlen);
	if (rc)
		return rc;

	bencode_buf_init(&b, mem, sizeof(mem));
	ng_put_common(c, &b, "answer", call_id, from_tag);
	bencode_put_kv_str(&b, "to-tag", to_tag);
	ng_put_media(c, &b, &f->rcv, 2 * i + 2);
	bencode_put_end(&b);
	rc = ng_call(c, &b, &root, err, errlen);
	if (!rc)
		rc = ng_check_result(root, "ok", err, errlen);
	if (!rc)
		rc = ng_reply_addr(root, &f->dst, err, errlen);
	return rc;
}

static int ng_delete_call(struct ng_client *c, const char *prefix, unsigned i, char *err,
			  size_t errlen)
{
	char call_id[96], from_tag[32];
	uint8_t mem[512];
	struct bencode_buf b;
	struct bencode *root;
	int rc;

	snprintf(call_id, sizeof(call_id), "%s-%u", prefix, i);
	snprintf(from_tag, sizeof(from_tag), "caller%u", i);
	bencode_buf_init(&b, mem, sizeof(mem));
	ng_put_common(c, &b, "delete", call_id, from_tag);
	bencode_put_end(&b);
	rc = ng_call(c, &b, &root, err, errlen);
	return rc ? rc : ng_check_result(root, "ok", err, errlen);
}

static int ng_ping(struct ng_client *c, char *err, size_t errlen)
{
	uint8_t mem[64];
	struct bencode_buf b;
	struct bencode *root;
	int rc;

	bencode_buf_init(&b, mem, sizeof(mem));
	bencode_put_dict(&b);
	bencode_put_kv_str(&b, "command", "ping");
	bencode_put_end(&b);
	rc = ng_call(c, &b, &root, err, errlen);
	return rc ? rc : ng_check_result(root, "pong", err, errlen);
}

int bench_ng_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "calls", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' }, { "caller", required_argument, NULL, 'a' },
		{ "callee", required_argument, NULL, 'b' }, { "prefix", required_argument, NULL, 'p' },
		{ "direction", required_argument, NULL, 'D' }, { "direct", no_argument, NULL, 'd' },
		{ "delete", no_argument, NULL, 'x' }, { "ping", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *out = NULL, *prefix = "icepath-bench", *server_s = NULL;
	char dirbuf[128], err[400] = "";
	bool direct = false, del = false, ping = false;
	struct netaddr server, caller, callee;
	struct bench_flows fl = { 0 };
	struct ng_client *c = NULL;
	long calls = 0;
	double t0;
	int ch, rc = 1;
	unsigned i;

	netaddr_parse(&caller, "192.0.2.10:10000", -1);
	netaddr_parse(&callee, "198.51.100.10:10000", -1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->fd = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': server_s = optarg; break;
		case 'n': calls = strtol(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		case 'a':
		case 'b':
			if (netaddr_parse(ch == 'a' ? &caller : &callee, optarg, -1)) {
				fprintf(stderr, "icepath-bench ng: --%s wants IP:PORT, not '%s'\n",
					ch == 'a' ? "caller" : "callee", optarg);
				goto out;
			}
			break;
		case 'p': prefix = optarg; break;
		case 'D': {
			char *comma;

			snprintf(dirbuf, sizeof(dirbuf), "%s", optarg);
			comma = strchr(dirbuf, ',');
			if (!comma || comma == dirbuf || !comma[1]) {
				fprintf(stderr, "icepath-bench ng: --direction wants A,B\n");
				goto out;
			}
			*comma = 0;
			c->dir[0] = dirbuf;
			c->dir[1] = comma + 1;
			break;
		}
		case 'd': direct = true; break;
		case 'x': del = true; break;
		case 'P': ping = true; break;
		case 'h': ng_usage(stdout); rc = 0; goto out;
		default: ng_usage(stderr); rc = 2; goto out;
		}
	}
	if (!ping && (calls < 1 || calls > 30000 || (!del && !out))) {
		fprintf(stderr, "icepath-bench ng: need --calls 1..30000 and --out FILE\n");
		rc = 2;
		goto out;
	}
	/* each call takes two ports (RTP, RTCP) on each side */
	if ((long)netaddr_port(&caller) + 2 * calls > 65535 ||
	    (long)netaddr_port(&callee) + 2 * calls > 65535) {
		fprintf(stderr, "icepath-bench ng: %ld calls do not fit above the first ports\n",
			calls);
		rc = 2;
		goto out;
	}
	if (!direct) {
		if (!server_s || netaddr_parse(&server, server_s, -1)) {
			fprintf(stderr, "icepath-bench ng: --server IP:PORT is required (or --direct)\n");
			rc = 2;
			goto out;
		}
		c->fd = socket(netaddr_family(&server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, &server.sa, netaddr_len(&server)) != 0) {
			fprintf(stderr, "icepath-bench ng: cannot reach %s: %s\n", server_s,
				strerror(errno));
			goto out;
		}
	}
	if (ping) {
		if (ng_ping(c, err, sizeof(err))) {
			fprintf(stderr, "icepath-bench ng: ping %s: %s\n", server_s, err);
			goto out;
		}
		printf("{\"mode\":\"ng-ping\",\"result\":\"pong\"}\n");
		rc = 0;
		goto out;
	}
	t0 = bench_sys_now();
	for (i = 0; i < (unsigned)calls; i++) {
		struct bench_flow f = { .ssrc = 0x1ce00000u + i };

		f.src = caller;
		netaddr_set_port(&f.src, (uint16_t)(netaddr_port(&caller) + 2 * i));
		f.rcv = callee;
		netaddr_set_port(&f.rcv, (uint16_t)(netaddr_port(&callee) + 2 * i));
		if (del) {
			if (ng_delete_call(c, prefix, i, err, sizeof(err)))
				break;
			continue;
		}
		if (direct)
			f.dst = f.rcv;
		else if (ng_setup_call(c, prefix, i, &f, err, sizeof(err)))
			break;
		if (bench_flows_append(&fl, &f)) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
	}
	if (i < (unsigned)calls) {
		fprintf(stderr, "icepath-bench ng: call %s-%u: %s\n", prefix, i, err);
		goto out;
	}
	if (!del && bench_flows_save(&fl, out))
		goto out;
	printf("{\"mode\":\"ng-%s\",\"calls\":%u,\"seconds\":%.3f}\n",
	       del ? "delete" : direct ? "direct" : "setup", i, bench_sys_now() - t0);
	rc = 0;
out:
	if (c && c->fd >= 0)
		close(c->fd);
	free(c);
	bench_flows_free(&fl);
	return rc;
}
