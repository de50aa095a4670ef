// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-ngsdp: do what a SIP proxy's rtpengine module does with an SDP
 * body: send it in an NG offer or answer and write the rewritten SDP the
 * relay returns. The demo and the netns tests use it to stand in for
 * Kamailio/OpenSIPS.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icepath/netaddr.h"
#include "icepath/ng.h"

static const char usage[] =
	"Usage: icepath-ngsdp offer|answer --call-id ID --from-tag TAG [--to-tag TAG]\n"
	"                     --sdp-in FILE --sdp-out FILE [--server ADDR:PORT]\n"
	"                     [--ice remove|force|default] [--ice-lite forward|backward|both]\n"
	"                     [--direction IFACE1,IFACE2] [--flag NAME]... [--timeout MS]\n"
	"                     [--transport PROTO] [--dtls off|passive|active]\n"
	"                     [--dtls-reverse off|passive|active] [--rtcp-mux OPT]...\n"
	"                     [--sdes off|no-SUITE|only-SUITE]...\n"
	"\n"
	"Sends one NG offer or answer carrying the SDP of --sdp-in to an rtpengine-\n"
	"compatible relay (default 127.0.0.1:2223), the way a SIP proxy does when an\n"
	"INVITE or its 200 OK passes, and writes the SDP of the reply to --sdp-out\n"
	"(atomically: a temporary file, then rename). A reply that does not come\n"
	"within --timeout (default 1000 ms) is retransmitted with the same cookie,\n"
	"3 times. Warnings of the reply go to stderr.\n"
	"\n"
	"--flag NAME adds NAME to the request's \"flags\" list (repeatable), e.g.\n"
	"media-handover, strict-source, trust-address; a name icepath does not know\n"
	"is a usage error.\n"
	"\n"
	"Exit status: 0 done; 1 the relay answered with an error (printed), no reply,\n"
	"or a file problem; 2 usage error.\n";

static int die_usage(const char *what)
{
	fprintf(stderr, "icepath-ngsdp: %s\n\n%s", what, usage);
	return 2;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || n > NG_DGRAM_MAX || !(buf = malloc((size_t)n + 1))) {
		fclose(f);
		errno = EFBIG;
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static int write_file(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		return -errno;
	if (fwrite(data, 1, len, f) != len || fclose(f)) {
		unlink(tmp);
		return -EIO;
	}
	return rename(tmp, path) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static uint8_t out[NG_DGRAM_MAX], in[NG_DGRAM_MAX];
	static struct ng_request req;
	static struct ng_reply rep;
	const char *server = "127.0.0.1:2223", *sdp_in = NULL, *sdp_out = NULL;
	char why[256], *sdp;
	struct netaddr srv;
	size_t sdp_len = 0;
	long timeout_ms = 1000;
	ssize_t n, m = -1;
	uint32_t rnd;
	int fd;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "offer"))
		ng_request_init(&req, NG_CMD_OFFER);
	else if (!strcmp(argv[1], "answer"))
		ng_request_init(&req, NG_CMD_ANSWER);
	else
		return die_usage("the command is offer or answer");
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return die_usage("an option lacks its value");
		i++;
		if (!strcmp(k, "--call-id"))
			snprintf(req.call_id, sizeof(req.call_id), "%s", v);
		else if (!strcmp(k, "--from-tag"))
			snprintf(req.from_tag, sizeof(req.from_tag), "%s", v);
		else if (!strcmp(k, "--to-tag"))
			snprintf(req.to_tag, sizeof(req.to_tag), "%s", v);
		else if (!strcmp(k, "--sdp-in"))
			sdp_in = v;
		else if (!strcmp(k, "--sdp-out"))
			sdp_out = v;
		else if (!strcmp(k, "--server"))
			server = v;
		else if (!strcmp(k, "--timeout"))
			timeout_ms = strtol(v, NULL, 10);
		else if (!strcmp(k, "--ice"))
			req.ice = !strcmp(v, "remove")	? NG_ICE_REMOVE
				  : !strcmp(v, "force") ? NG_ICE_FORCE
							: NG_ICE_DEFAULT;
		else if (!strcmp(k, "--ice-lite"))
			req.ice_lite = !strcmp(v, "forward")	? NG_ICE_LITE_FORWARD
				       : !strcmp(v, "backward") ? NG_ICE_LITE_BACKWARD
								: NG_ICE_LITE_BOTH;
		else if (!strcmp(k, "--flag")) {
			/* an NG "flags" entry ("media-handover", "strict-source") */
			uint32_t bit = 0;

			for (unsigned b = 0; b < NG_FLAG__COUNT && !bit; b++)
				if (!strcmp(ng_flag_str(1u << b), v))
					bit = 1u << b;
			if (!bit)
				return die_usage("--flag: not an NG flag icepath knows");
			req.flags |= bit;
		} else if (!strcmp(k, "--transport")) {
			/* "transport-protocol": RTP/AVP ... UDP/TLS/RTP/SAVPF, accept */
			req.transport = NG_TRANSPORT_UNSET;
			for (int t = NG_TRANSPORT_RTP_AVP; t <= NG_TRANSPORT_ACCEPT; t++)
				if (!strcmp(ng_transport_str((enum ng_transport)t), v))
					req.transport = (enum ng_transport)t;
			if (!req.transport)
				return die_usage("--transport: not an NG transport-protocol");
		} else if (!strcmp(k, "--dtls") || !strcmp(k, "--dtls-reverse")) {
			enum ng_dtls *d = k[6] ? &req.dtls_reverse : &req.dtls;

			*d = !strcmp(v, "off")	     ? NG_DTLS_OFF
			     : !strcmp(v, "passive") ? NG_DTLS_PASSIVE
			     : !strcmp(v, "active")  ? NG_DTLS_ACTIVE
						     : NG_DTLS_UNSET;
			if (!*d)
				return die_usage("--dtls: off, passive or active");
		} else if (!strcmp(k, "--rtcp-mux")) {
			uint32_t bit = 0;

			for (unsigned b = 0; b < NG_RTCP_MUX__COUNT && !bit; b++)
				if (!strcmp(ng_rtcp_mux_str(1u << b), v))
					bit = 1u << b;
			if (!bit)
				return die_usage("--rtcp-mux: offer, demux, accept, reject or require");
			req.rtcp_mux |= bit;
		} else if (!strcmp(k, "--sdes")) {
			bool no = !strncmp(v, "no-", 3), only = !strncmp(v, "only-", 5);
			const char *suite = no ? v + 3 : only ? v + 5 : v;
			unsigned sn = 0;

			if (!strcmp(v, "off")) {
				req.sdes_off = true;
				continue;
			}
			for (unsigned s = 1; s < NG_SDES_SUITES && !sn; s++)
				if (!strcmp(ng_sdes_suite_str(s), suite))
					sn = s;
			if (!sn || (!no && !only))
				return die_usage("--sdes: off, no-SUITE or only-SUITE");
			if (no)
				req.sdes_no |= 1u << sn;
			else
				req.sdes_only |= 1u << sn;
		} else if (!strcmp(k, "--direction")) {
			const char *comma = strchr(v, ',');

			if (!comma)
				return die_usage("--direction wants IFACE1,IFACE2");
			snprintf(req.direction[0], sizeof(req.direction[0]), "%.*s",
				 (int)(comma - v), v);
			snprintf(req.direction[1], sizeof(req.direction[1]), "%s", comma + 1);
			req.n_direction = 2;
		} else
			return die_usage("unknown option");
	}
	if (!req.call_id[0] || !req.from_tag[0] || !sdp_in || !sdp_out)
		return die_usage("--call-id, --from-tag, --sdp-in and --sdp-out are required");
	if (netaddr_parse(&srv, server, -1))
		return die_usage("--server wants ADDR:PORT");
	sdp = read_file(sdp_in, &sdp_len);
	if (!sdp) {
		fprintf(stderr, "icepath-ngsdp: cannot read %s: %s\n", sdp_in, strerror(errno));
		return 1;
	}
	req.sdp.s = sdp;
	req.sdp.len = sdp_len;
	getrandom(&rnd, sizeof(rnd), 0);
	snprintf(req.cookie, sizeof(req.cookie), "%u_%d", rnd, (int)getpid());
	n = ng_request_encode(&req, out, sizeof(out));
	if (n < 0) {
		fprintf(stderr, "icepath-ngsdp: request does not encode (%zd)\n", n);
		return 1;
	}
	fd = socket(netaddr_family(&srv), SOCK_DGRAM, 0);
	for (int attempt = 0; attempt < 4 && m < 0; attempt++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		sendto(fd, out, (size_t)n, 0, &srv.sa, netaddr_len(&srv));
		if (poll(&p, 1, (int)timeout_ms) == 1)
			m = recv(fd, in, sizeof(in), 0);
	}
	close(fd);
	if (m < 0) {
		fprintf(stderr, "icepath-ngsdp: no reply from %s\n", server);
		return 1;
	}
	if (ng_reply_parse(in, (size_t)m, req.cookie, &rep, why, sizeof(why))) {
		fprintf(stderr, "icepath-ngsdp: bad reply: %s\n", why);
		return 1;
	}
	if (rep.warning[0])
		fprintf(stderr, "icepath-ngsdp: warning: %s\n", rep.warning);
	if (rep.result != NG_RESULT_OK || !rep.sdp) {
		fprintf(stderr, "icepath-ngsdp: %s failed: %s\n", argv[1],
			rep.error_reason[0] ? rep.error_reason : "reply carries no SDP");
		return 1;
	}
	if (write_file(sdp_out, rep.sdp, rep.sdp_len)) {
		fprintf(stderr, "icepath-ngsdp: cannot write %s\n", sdp_out);
		return 1;
	}
	free(sdp);
	return 0;
}
