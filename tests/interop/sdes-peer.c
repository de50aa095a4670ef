// SPDX-License-Identifier: GPL-2.0-only
/*
 * sdes-peer: a SIP phone's media side with SDES-SRTP (RFC 4568,
 * AES_CM_128_HMAC_SHA1_80), for tests/net/test_icepathd_sdes.sh. SRTP is
 * libsrtp2's own API here, not icepath's srtpctx glue, so the relay's SRTP
 * is checked against an independent implementation; only the a=crypto text
 * (sdes.h, tested on its own) is shared.
 *
 *   sdes-peer offer  --bind IP:PORT --sdp-out OFFER --sdp-in ANSWER [--seconds S]
 *   sdes-peer answer --bind IP:PORT --sdp-in OFFER --sdp-out ANSWER [--seconds S]
 *
 * offer: writes an RTP/SAVP offer with one a=crypto line (tag 1), waits for
 * the answer file (up to 20 s), takes the answer's key for the tag.
 * answer: reads the offer, answers the first AES_CM_128_HMAC_SHA1_80 line
 * with a key of its own. Then for --seconds (default 10) it sends SRTP PCMU
 * (20 ms, 160 bytes) and an SRTCP sender report each second to the other
 * side's m=/c= (RTCP to port + 1) and unprotects what arrives.
 * Prints one JSON line: sent, srtp_ok, srtp_fail, srtcp_ok, srtcp_fail;
 * with --mark FILE also srtp_ok_after, srtp_fail_after, srtcp_ok_after,
 * srtcp_fail_after:
 * what arrived once FILE exists (a test's "the relay restarted" moment).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#include "icepath/sdes.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int die(const char *what)
{
	fprintf(stderr, "sdes-peer: %s\n", what);
	return 2;
}

static char *slurp(const char *path, int wait_s)
{
	for (int i = 0; i <= wait_s * 10; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			static char buf[16384];
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);

			fclose(f);
			buf[n] = 0;
			if (n)
				return buf;
		}
		usleep(100000);
	}
	return NULL;
}

/* The other side's address (c=), RTP port (m=audio) and first a=crypto
 * line of suite AES_CM_128_HMAC_SHA1_80 (tag: 0 any). */
static int read_sdp(const char *sdp, char *ip, size_t iplen, int *port, struct sdes_crypto *c,
		    uint32_t tag)
{
	const char *p;
	bool got = false;

	*port = 0;
	ip[0] = 0;
	for (p = sdp; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *e = strpbrk(p, "\r\n");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct sdes_crypto tmp;
		char err[128];

		if (!strncmp(p, "c=IN IP4 ", 9))
			snprintf(ip, iplen, "%.*s", (int)(len - 9), p + 9);
		else if (!strncmp(p, "m=audio ", 8))
			*port = atoi(p + 8);
		else if (!got && !strncmp(p, "a=crypto:", 9) &&
			 !sdes_parse(p, len, &tmp, err, sizeof(err)) &&
			 tmp.suite == SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80 && (!tag || tmp.tag == tag)) {
			*c = tmp;
			got = true;
		}
	}
	return ip[0] && *port && got ? 0 : -EINVAL;
}

static int write_file(const char *path, const char *text)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		return -EIO;
	return rename(tmp, path) ? -errno : 0;
}

static int session(srtp_t *s, const struct sdes_crypto *c, bool inbound)
{
	unsigned char key[46];
	srtp_policy_t p;

	memset(&p, 0, sizeof(p));
	memcpy(key, c->key, c->key_len);
	memcpy(key + c->key_len, c->salt, c->salt_len);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = key;
	p.window_size = 128;
	return srtp_create(s, &p) == srtp_err_status_ok ? 0 : -EIO;
}

/* The phone's SDP: one PCMU stream on port, its key in a=crypto. */
static void phone_sdp(char *sdp, size_t cap, const char *ip, int port, const char *crypto)
{
	snprintf(sdp, cap,
		 "v=0\r\no=phone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
		 "m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:%s\r\n"
		 "a=sendrecv\r\n",
		 ip, ip, port, crypto);
}

int main(int argc, char **argv)
{
	const char *bind_s = NULL, *in = NULL, *out = NULL;
	struct sdes_crypto mine, theirs;
	char sdp[1024], line[SDES_LINE_MAX], ip[64], peer_ip[64];
	int seconds = 10, port, peer_port, fd[2];
	bool offer;
	srtp_t tx, rx;
	uint64_t sent = 0, ok = 0, fail = 0, cok = 0, cfail = 0;
	uint64_t ok_a = 0, fail_a = 0, cok_a = 0, cfail_a = 0;
	const char *mark = NULL;
	bool after = false;

	if (argc < 2)
		return die("usage: sdes-peer offer|answer --bind IP:PORT --sdp-in F --sdp-out F");
	offer = !strcmp(argv[1], "offer");
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bind"))
			bind_s = argv[i + 1];
		else if (!strcmp(argv[i], "--sdp-in"))
			in = argv[i + 1];
		else if (!strcmp(argv[i], "--sdp-out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mark"))
			mark = argv[i + 1];
		else
			return die("unknown option");
	}
	if (!bind_s || !in || !out || sscanf(bind_s, "%63[^:]:%d", ip, &port) != 2)
		return die("--bind IP:PORT, --sdp-in and --sdp-out are required");
	if (srtp_init() != srtp_err_status_ok)
		return die("srtp_init");
	if (offer) {
		if (sdes_generate(&mine, 1, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80) ||
		    sdes_format(&mine, line, sizeof(line)) < 0)
			return die("no key");
		phone_sdp(sdp, sizeof(sdp), ip, port, line);
		if (write_file(out, sdp))
			return die("cannot write the offer");
		const char *ans = slurp(in, 20);

		if (!ans || read_sdp(ans, peer_ip, sizeof(peer_ip), &peer_port, &theirs, 1))
			return die("no answer with an a=crypto line for tag 1");
	} else {
		const char *off = slurp(in, 20);

		if (!off || read_sdp(off, peer_ip, sizeof(peer_ip), &peer_port, &theirs, 0))
			return die("no offer with an AES_CM_128_HMAC_SHA1_80 a=crypto line");
		if (sdes_generate(&mine, theirs.tag, theirs.suite) ||
		    sdes_format(&mine, line, sizeof(line)) < 0)
			return die("no key");
		phone_sdp(sdp, sizeof(sdp), ip, port, line);
		if (write_file(out, sdp))
			return die("cannot write the answer");
	}
	if (session(&tx, &mine, false) || session(&rx, &theirs, true))
		return die("srtp_create");
	for (int k = 0; k < 2; k++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(port + k))};

		inet_pton(AF_INET, ip, &a.sin_addr);
		fd[k] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd[k] < 0 || bind(fd[k], (struct sockaddr *)&a, sizeof(a)))
			return die("bind");
	}
	struct sockaddr_in dst[2];

	for (int k = 0; k < 2; k++) {
		memset(&dst[k], 0, sizeof(dst[k]));
		dst[k].sin_family = AF_INET;
		dst[k].sin_port = htons((uint16_t)(peer_port + k));
		inet_pton(AF_INET, peer_ip, &dst[k].sin_addr);
	}
	uint64_t start = now_ms(), next = start, next_rtcp = start + 1000;
	uint32_t ssrc = 0x5d35c0de;
	uint16_t seq = 0;

	while (now_ms() - start < (uint64_t)seconds * 1000) {
		uint8_t buf[2048];
		struct pollfd pf[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
		uint64_t t = now_ms();
		int len;

		if (t >= next) {
			/* RFC 3550 §5.1 header, PT 0, 160 bytes of mu-law silence */
			uint32_t ts = htonl((uint32_t)sent * 160), ss = htonl(ssrc);
			uint16_t sq = htons(seq++);

			buf[0] = 0x80;
			buf[1] = 0;
			memcpy(buf + 2, &sq, 2);
			memcpy(buf + 4, &ts, 4);
			memcpy(buf + 8, &ss, 4);
			memset(buf + 12, 0xff, 160);
			len = 172;
			if (srtp_protect(tx, buf, &len) == srtp_err_status_ok)
				sendto(fd[0], buf, (size_t)len, 0, (struct sockaddr *)&dst[0],
				       sizeof(dst[0]));
			sent++;
			next += 20;
		}
		if (t >= next_rtcp) {
			uint32_t w[7] = {htonl(0x80c80006), htonl(ssrc), 0, 0, 0, htonl((uint32_t)sent),
					 htonl((uint32_t)sent * 160)};

			memcpy(buf, w, sizeof(w));
			len = sizeof(w);
			if (srtp_protect_rtcp(tx, buf, &len) == srtp_err_status_ok)
				sendto(fd[1], buf, (size_t)len, 0, (struct sockaddr *)&dst[1],
				       sizeof(dst[1]));
			next_rtcp += 1000;
		}
		if (mark && !after && !access(mark, F_OK))
			after = true;
		if (poll(pf, 2, 5) <= 0)
			continue;
		for (int k = 0; k < 2; k++) {
			ssize_t n;

			if (!(pf[k].revents & POLLIN))
				continue;
			n = recv(fd[k], buf, sizeof(buf), 0);
			if (n <= 0)
				continue;
			len = (int)n;
			/* RFC 5761 §4: RTCP packet types 200-204 (muxed or not) */
			if (buf[1] >= 200 && buf[1] <= 204) {
				if (srtp_unprotect_rtcp(rx, buf, &len) == srtp_err_status_ok) {
					cok++;
					cok_a += after;
				} else {
					cfail++;
					cfail_a += after;
				}
			} else if (srtp_unprotect(rx, buf, &len) == srtp_err_status_ok && len == 172) {
				ok++;
				ok_a += after;
			} else {
				fail++;
				fail_a += after;
			}
		}
	}
	printf("{\"sent\":%llu,\"srtp_ok\":%llu,\"srtp_fail\":%llu,\"srtcp_ok\":%llu,"
	       "\"srtcp_fail\":%llu,\"srtp_ok_after\":%llu,\"srtp_fail_after\":%llu,"
	       "\"srtcp_ok_after\":%llu,\"srtcp_fail_after\":%llu}\n",
	       (unsigned long long)sent, (unsigned long long)ok, (unsigned long long)fail,
	       (unsigned long long)cok, (unsigned long long)cfail, (unsigned long long)ok_a,
	       (unsigned long long)fail_a, (unsigned long long)cok_a, (unsigned long long)cfail_a);
	srtp_dealloc(tx);
	srtp_dealloc(rx);
	srtp_shutdown();
	return 0;
}
