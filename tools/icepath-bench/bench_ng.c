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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/monotime.h"
#include "bench.h"
#include "icepath/ng.h"
#include "icepath/ng_client.h"
#include "icepath/sdp.h"

#define BENCH_NG_TIMEOUT_MS 2000 /* per try; the relay may be busy setting up ports */
#define BENCH_NG_RETRIES    2

struct bench_ng {
	struct ng_client client;
	const char *dir[2]; /* direction=[offerer side, answerer side], or NULL */
	uint8_t reply[NG_DGRAM_MAX];
	struct ng_reply rep;
};

static void ng_usage(FILE *out)
{
	fprintf(out, "usage: icepath-bench ng --server IP:PORT --calls N --out FILE [options]\n"
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

/* One exchange; 0 when the reply's result is want (OK or PONG). */
static int bench_ng_call(struct bench_ng *c, struct ng_request *req, enum ng_result want, char *err,
			 size_t errlen)
{
	char why[NG_REASON_MAX] = "";
	ssize_t n;

	memset(&c->rep, 0, sizeof(c->rep));
	n = ng_client_call(&c->client, req, c->reply, sizeof(c->reply), &c->rep, why, sizeof(why));
	if (n == -ETIMEDOUT) {
		snprintf(err, errlen, "%s: no reply after %u tries of %u ms",
			 ng_command_str(req->cmd), c->client.attempts, c->client.timeout_ms);
		return (int)n;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", ng_command_str(req->cmd),
			 why[0] ? why : strerror((int)-n));
		return (int)n;
	}
	if (c->rep.result != want) {
		snprintf(err, errlen, "%s: result '%s': %s", ng_command_str(req->cmd),
			 ng_result_str(c->rep.result),
			 c->rep.error_reason[0] ? c->rep.error_reason : "(no error-reason)");
		return -EPROTO;
	}
	return 0;
}

/* The relay's address for media section 0 of the SDP in the last reply. */
static int bench_ng_reply_addr(struct bench_ng *c, struct netaddr *out, char *err, size_t errlen)
{
	struct sdp sdp;
	char why[160];
	int rc;

	if (!c->rep.sdp || !c->rep.sdp_len) {
		snprintf(err, errlen, "reply carries no sdp");
		return -EPROTO;
	}
	rc = sdp_parse(&sdp, c->rep.sdp, c->rep.sdp_len, why, sizeof(why));
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

static void bench_ng_req(struct bench_ng *c, struct ng_request *req, enum ng_command cmd,
			 const char *prefix, unsigned i)
{
	ng_request_init(req, cmd);
	snprintf(req->call_id, sizeof(req->call_id), "%s-%u", prefix, i);
	snprintf(req->from_tag, sizeof(req->from_tag), "caller%u", i);
	if (c->dir[0]) {
		snprintf(req->direction[0], sizeof(req->direction[0]), "%s", c->dir[0]);
		snprintf(req->direction[1], sizeof(req->direction[1]), "%s", c->dir[1]);
		req->n_direction = 2;
	}
}

/* RFC 8866 plain audio, PCMU only (RFC 3551 PT 0): no ICE, no crypto. */
static void bench_ng_sdp(char *buf, size_t len, const struct netaddr *who, unsigned sess)
{
	char ip[NETADDR_STRLEN];
	char v = netaddr_family(who) == AF_INET6 ? '6' : '4';

	netaddr_ip_str(who, ip, sizeof(ip));
	snprintf(buf, len,
		 "v=0\r\no=- %u 1 IN IP%c %s\r\ns=icepath-bench\r\nc=IN IP%c %s\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		 sess, v, ip, v, ip, netaddr_port(who));
}

/* offer + answer of call i; fills the flow. */
static int bench_ng_setup_call(struct bench_ng *c, const char *prefix, unsigned i,
			       struct bench_flow *f, char *err, size_t errlen)
{
	struct ng_request req;
	char sdp[512];
	int rc;

	bench_ng_req(c, &req, NG_CMD_OFFER, prefix, i);
	bench_ng_sdp(sdp, sizeof(sdp), &f->src, 2 * i + 1);
	req.sdp = (struct ng_str){sdp, strlen(sdp)};
	req.ice = NG_ICE_REMOVE;
	rc = bench_ng_call(c, &req, NG_RESULT_OK, err, errlen);
	if (!rc)
		rc = bench_ng_reply_addr(c, &f->relay_src, err, errlen);
	if (rc)
		return rc;

	bench_ng_req(c, &req, NG_CMD_ANSWER, prefix, i);
	snprintf(req.to_tag, sizeof(req.to_tag), "callee%u", i);
	bench_ng_sdp(sdp, sizeof(sdp), &f->rcv, 2 * i + 2);
	req.sdp = (struct ng_str){sdp, strlen(sdp)};
	req.ice = NG_ICE_REMOVE;
	rc = bench_ng_call(c, &req, NG_RESULT_OK, err, errlen);
	return rc ? rc : bench_ng_reply_addr(c, &f->dst, err, errlen);
}

int bench_ng_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"calls", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"caller", required_argument, NULL, 'a'},
		{"callee", required_argument, NULL, 'b'},
		{"prefix", required_argument, NULL, 'p'},
		{"direction", required_argument, NULL, 'D'},
		{"direct", no_argument, NULL, 'd'},
		{"delete", no_argument, NULL, 'x'},
		{"ping", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *out = NULL, *prefix = "icepath-bench", *server_s = NULL;
	char dirbuf[128], err[400] = "";
	bool direct = false, del = false, ping = false;
	struct netaddr server, caller, callee;
	struct bench_flows fl = {0};
	struct bench_ng *c = NULL;
	long calls = 0;
	double t0;
	int ch, rc = 1;
	unsigned i;

	netaddr_parse(&caller, "192.0.2.10:10000", -1);
	netaddr_parse(&callee, "198.51.100.10:10000", -1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->client.fd = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server_s = optarg;
			break;
		case 'n': {
			double v;

			if (bench_opts_num(optarg, 1, 30000, &v) || v != (long)v) {
				fprintf(stderr, "icepath-bench ng: --calls wants 1..30000\n");
				rc = 2;
				goto out;
			}
			calls = (long)v;
			break;
		}
		case 'o':
			out = optarg;
			break;
		case 'a':
		case 'b':
			if (netaddr_parse(ch == 'a' ? &caller : &callee, optarg, -1)) {
				fprintf(stderr, "icepath-bench ng: --%s wants IP:PORT, not '%s'\n",
					ch == 'a' ? "caller" : "callee", optarg);
				goto out;
			}
			break;
		case 'p':
			prefix = optarg;
			break;
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
		case 'd':
			direct = true;
			break;
		case 'x':
			del = true;
			break;
		case 'P':
			ping = true;
			break;
		case 'h':
			ng_usage(stdout);
			rc = 0;
			goto out;
		default:
			ng_usage(stderr);
			rc = 2;
			goto out;
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
			fprintf(stderr,
				"icepath-bench ng: --server IP:PORT is required (or --direct)\n");
			rc = 2;
			goto out;
		}
		int e = ng_client_open(&c->client, &server, BENCH_NG_TIMEOUT_MS, BENCH_NG_RETRIES);

		if (e) {
			fprintf(stderr, "icepath-bench ng: cannot open a socket toward %s: %s\n",
				server_s, strerror(-e));
			goto out;
		}
	}
	if (ping) {
		struct ng_request req;

		ng_request_init(&req, NG_CMD_PING);
		if (bench_ng_call(c, &req, NG_RESULT_PONG, err, sizeof(err))) {
			fprintf(stderr, "icepath-bench ng: ping %s: %s\n", server_s, err);
			goto out;
		}
		printf("{\"mode\":\"ng-ping\",\"result\":\"pong\"}\n");
		rc = 0;
		goto out;
	}
	t0 = monotime_s();
	for (i = 0; i < (unsigned)calls; i++) {
		struct bench_flow f = {.ssrc = 0x1ce00000u + i};

		f.src = caller;
		netaddr_set_port(&f.src, (uint16_t)(netaddr_port(&caller) + 2 * i));
		f.rcv = callee;
		netaddr_set_port(&f.rcv, (uint16_t)(netaddr_port(&callee) + 2 * i));
		if (del) {
			struct ng_request req;

			bench_ng_req(c, &req, NG_CMD_DELETE, prefix, i);
			if (bench_ng_call(c, &req, NG_RESULT_OK, err, sizeof(err)))
				break;
			continue;
		}
		if (direct)
			f.dst = f.rcv;
		else if (bench_ng_setup_call(c, prefix, i, &f, err, sizeof(err)))
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
	       del	? "delete"
	       : direct ? "direct"
			: "setup",
	       i, monotime_s() - t0);
	rc = 0;
out:
	if (c)
		ng_client_close(&c->client);
	free(c);
	bench_flows_free(&fl);
	return rc;
}
