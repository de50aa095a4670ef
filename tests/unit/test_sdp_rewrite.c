// SPDX-License-Identifier: GPL-2.0-only
/*
 * sdp_rewrite: the relay's SDP from a peer's. What must change changes
 * (addresses, ports, ICE), and every other line survives byte-for-byte and
 * in order: the invariant is checked by comparing the two descriptions with
 * the rewritable lines filtered out of both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdp.h"
#include "icepath/compiler.h"
#include "daemon/sdp_rewrite.h"

/* RFC 8866 §5 example, verbatim (with CRLF) */
static const char rfc8866[] = "v=0\r\n"
			      "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n"
			      "s=Call to John Smith\r\n"
			      "i=SDP Offer #1\r\n"
			      "u=http://www.jdoe.example.com/home.html\r\n"
			      "e=Jane Doe <jane@jdoe.example.com>\r\n"
			      "p=+1 617 555-6011\r\n"
			      "c=IN IP4 198.51.100.1\r\n"
			      "t=0 0\r\n"
			      "m=audio 49170 RTP/AVP 0\r\n"
			      "m=audio 49180 RTP/AVP 0\r\n"
			      "m=video 51372 RTP/AVP 99\r\n"
			      "c=IN IP6 2001:db8::2\r\n"
			      "a=rtpmap:99 h263-1998/90000\r\n";

/* A browser offer: BUNDLE, rtcp-mux, DTLS, session-level ice-options, trickle */
static const char browser[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0 1\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS stream\r\n"
	"a=ice-options:trickle\r\n"
	"m=audio 54321 UDP/TLS/RTP/SAVPF 111 0\r\n"
	"c=IN IP4 10.0.0.5\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=candidate:1 1 udp 2122260223 10.0.0.5 54321 typ host generation 0\r\n"
	"a=candidate:2 1 udp 1686052607 203.0.113.9 61000 typ srflx raddr 10.0.0.5 rport 54321\r\n"
	"a=ice-ufrag:Ab12\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	"a=fingerprint:sha-256 "
	"12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:"
	"DE:F0\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sendrecv\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=ssrc:1001 cname:abc\r\n"
	"m=video 54321 UDP/TLS/RTP/SAVPF 96\r\n"
	"c=IN IP4 10.0.0.5\r\n"
	"a=candidate:1 1 udp 2122260223 10.0.0.5 54321 typ host generation 0\r\n"
	"a=ice-ufrag:Ab12\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	"a=fingerprint:sha-256 "
	"12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:"
	"DE:F0\r\n"
	"a=setup:actpass\r\n"
	"a=mid:1\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=end-of-candidates\r\n";

/* A SIP phone behind NAT: private addresses, separate RTCP, no ICE */
static const char phone[] = "v=0\r\n"
			    "o=user 123 456 IN IP4 192.168.1.20\r\n"
			    "s=Talk\r\n"
			    "c=IN IP4 192.168.1.20\r\n"
			    "t=0 0\r\n"
			    "m=audio 7078 RTP/AVP 0 8 101\r\n"
			    "a=rtcp:7079 IN IP4 192.168.1.20\r\n"
			    "a=rtpmap:101 telephone-event/8000\r\n"
			    "a=fmtp:101 0-15\r\n"
			    "a=ptime:20\r\n"
			    "a=sendrecv\r\n";

static bool rewritable(const struct sdp_line *l)
{
	static const char *const names[] = {"candidate",   "ice-ufrag", "ice-pwd",
					    "ice-options", "ice-lite",	"end-of-candidates",
					    "rtcp"};

	if (l->type == 'c' || l->type == 'm')
		return true;
	if (l->type != 'a')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (sdp_attr_name_len(l) == strlen(names[i]) &&
		    !strncmp(l->value, names[i], strlen(names[i])))
			return true;
	return false;
}

/* Every line that is not address/port/ICE is identical and in order. */
static void assert_rest_intact(const struct sdp *a, const struct sdp *b)
{
	assert_int_equal(a->n_media, b->n_media);
	for (int sec = -1; sec < (int)a->n_media; sec++) {
		const struct sdp_section *x = sdp_section_const(a, sec),
					 *y = sdp_section_const(b, sec);
		size_t i = 0, j = 0;

		for (;;) {
			while (i < x->n && rewritable(&x->lines[i]))
				i++;
			while (j < y->n && rewritable(&y->lines[j]))
				j++;
			if (i == x->n || j == y->n)
				break;
			assert_int_equal(x->lines[i].type, y->lines[j].type);
			assert_string_equal(x->lines[i].value, y->lines[j].value);
			i++;
			j++;
		}
		assert_int_equal(i, x->n);
		assert_int_equal(j, y->n);
		/* the m= line keeps media, proto and formats; only the port moves */
		if (sec >= 0) {
			const char *mx = strchr(strchr(x->lines[0].value, ' ') + 1, ' ');
			const char *my = strchr(strchr(y->lines[0].value, ' ') + 1, ' ');

			assert_string_equal(mx, my);
		}
	}
}

static void parse(struct sdp *s, const char *text)
{
	char err[128];

	if (sdp_parse(s, text, strlen(text), err, sizeof(err)))
		fail_msg("test SDP does not parse: %s", err);
}

static int count_attr(const struct sdp *s, const char *name)
{
	int n = 0;

	for (int sec = -1; sec < (int)s->n_media; sec++) {
		const struct sdp_section *x = sdp_section_const(s, sec);

		for (int i = 0; (i = sdp_attr_find(x, name, (size_t)i)) >= 0; i++)
			n++;
	}
	return n;
}

static void media_at(struct sdp_rewrite_media *m, const char *ip, uint16_t port, uint16_t rtcp)
{
	memset(m, 0, sizeof(*m));
	netaddr_from_str(&m->addr, ip, port);
	m->rtcp_port = rtcp;
}

static void rfc8866_example(void **state)
{
	struct sdp in, out;
	struct sdp_rewrite_media m[3];
	struct sdp_rewrite rw = {.media = m, .n_media = 3};
	struct netaddr a;
	char err[128], buf[NETADDR_STRLEN];

	parse(&in, rfc8866);
	parse(&out, rfc8866);
	media_at(&m[0], "192.0.2.10", 30000, 30001);
	media_at(&m[1], "192.0.2.10", 30002, 30003);
	media_at(&m[2], "192.0.2.10", 30004, 30005);
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_rest_intact(&in, &out);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sdp_media_default_addr(&out, i, &a), 0);
		assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
				    i == 0   ? "192.0.2.10:30000"
				    : i == 1 ? "192.0.2.10:30002"
					     : "192.0.2.10:30004");
	}
	/* the peer's addresses are gone from every c= line, the IPv6 one too */
	assert_string_equal(sdp_section(&out, -1)->lines[sdp_line_find(&out.session, 'c', 0)].value,
			    "IN IP4 192.0.2.10");
	assert_string_equal(
		sdp_section(&out, 2)->lines[sdp_line_find(sdp_section(&out, 2), 'c', 0)].value,
		"IN IP4 192.0.2.10");
	assert_int_equal(count_attr(&out, "candidate"), 0);
	assert_int_equal(count_attr(&out, "ice-lite"), 0);
	sdp_free(&in);
	sdp_free(&out);
}

static void browser_bundle_with_relay_ice(void **state)
{
	struct sdp in, out;
	struct ice_candidate c[2];
	struct sdp_rewrite_media m[2];
	struct sdp_rewrite rw = {.media = m, .n_media = 2};
	struct sdp_ice_desc *d = malloc(sizeof(*d));
	char err[128], buf[NETADDR_STRLEN];

	parse(&in, browser);
	parse(&out, browser);
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 2; i++) {
		snprintf(c[i].foundation, sizeof(c[i].foundation), "relay1");
		c[i].component = 1;
		c[i].type = ICE_CAND_TYPE_HOST;
		c[i].priority = ice_candidate_priority(ICE_TYPE_PREF_HOST, 65535, 1);
		c[i].generation = -1;
		netaddr_from_str(&c[i].addr, "192.0.2.10", (uint16_t)(31000 + 2 * i));
	}
	for (int i = 0; i < 2; i++) {
		media_at(&m[i], "192.0.2.10", (uint16_t)(31000 + 2 * i), 0);
		m[i].ice = true;
		m[i].ufrag = "RLAY";
		m[i].pwd = "relaypasswordrelaypassword";
		m[i].cands = &c[i];
		m[i].n_cands = 1;
		m[i].end_of_candidates = true;
	}
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_rest_intact(&in, &out);
	/* BUNDLE, mids, DTLS, ssrc, codecs: untouched (assert_rest_intact) */
	assert_string_equal(sdp_attr_get(&out.session, "group"), "BUNDLE 0 1");
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(sdp_ice_extract(&out, i, d, err, sizeof(err)), 0);
		assert_string_equal(d->ufrag, "RLAY");
		assert_string_equal(d->pwd, "relaypasswordrelaypassword");
		assert_int_equal(d->n_cands, 1);
		assert_string_equal(netaddr_str(&d->cands[0].addr, buf, sizeof(buf)),
				    i == 0 ? "192.0.2.10:31000" : "192.0.2.10:31002");
		assert_true(d->end_of_candidates);
		assert_true(d->rtcp_mux);
		assert_false(d->lite);
		/* trickle was offered, but over NG the relay cannot trickle
		 * its own candidates: never claimed (issue 11, defect 6) */
		assert_false(d->options & SDP_ICE_OPT_TRICKLE);
		assert_true(d->options & SDP_ICE_OPT_ICE2);
		assert_string_equal(netaddr_str(&d->default_rtp, buf, sizeof(buf)),
				    i == 0 ? "192.0.2.10:31000" : "192.0.2.10:31002");
	}
	/* no trace of the browser's ICE: ufrag, pwd, host and srflx addresses */
	assert_int_equal(count_attr(&out, "candidate"), 2);
	assert_int_equal(count_attr(&out, "ice-ufrag"), 2);
	assert_int_equal(count_attr(&out, "end-of-candidates"), 2);
	{
		char *text = sdp_write_alloc(&out, NULL);

		assert_non_null(text);
		assert_null(strstr(text, "Ab12"));
		assert_null(strstr(text, "10.0.0.5"));
		assert_null(strstr(text, "203.0.113.9"));
		/* a=rtcp:9 names the relay's port and address now... with rtcp-mux
		 * the attribute is dropped rather than pointing at a dead port */
		assert_null(strstr(text, "a=rtcp:9"));
		free(text);
	}
	free(d);
	sdp_free(&in);
	sdp_free(&out);
}

static void sip_phone_plain_rtp(void **state)
{
	struct sdp in, out;
	struct sdp_rewrite_media m[1];
	struct sdp_rewrite rw = {.media = m, .n_media = 1};
	char err[128];

	parse(&in, phone);
	parse(&out, phone);
	media_at(&m[0], "198.51.100.20", 32000, 32001);
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_rest_intact(&in, &out);
	assert_string_equal(sdp_attr_get(sdp_section(&out, 0), "rtcp"),
			    "32001 IN IP4 198.51.100.20");
	{
		char *text = sdp_write_alloc(&out, NULL);

		assert_non_null(strstr(text, "m=audio 32000 RTP/AVP 0 8 101\r\n"));
		assert_non_null(strstr(text, "c=IN IP4 198.51.100.20\r\n"));
		/* o= is the phone's own business (rtpengine: replace-origin) */
		assert_non_null(strstr(text, "o=user 123 456 IN IP4 192.168.1.20\r\n"));
		assert_null(strstr(text, "c=IN IP4 192.168.1.20"));
		assert_null(strstr(text, "ice-"));
		free(text);
	}
	sdp_free(&in);
	sdp_free(&out);
}

static void ice_remove_and_force(void **state)
{
	struct sdp out;
	struct ice_candidate c;
	struct sdp_rewrite_media m[2];
	struct sdp_rewrite rw = {.media = m, .n_media = 2};
	struct sdp_ice_desc *d = malloc(sizeof(*d));
	char err[128];

	/* ICE=remove: a browser SDP toward a plain-RTP phone */
	parse(&out, browser);
	media_at(&m[0], "192.0.2.10", 30000, 0);
	media_at(&m[1], "192.0.2.10", 30002, 0);
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_int_equal(count_attr(&out, "candidate"), 0);
	assert_int_equal(count_attr(&out, "ice-ufrag"), 0);
	assert_int_equal(count_attr(&out, "ice-pwd"), 0);
	assert_int_equal(count_attr(&out, "ice-options"), 0);
	assert_int_equal(count_attr(&out, "end-of-candidates"), 0);
	assert_string_equal(sdp_attr_get(&out.session, "group"), "BUNDLE 0 1");
	sdp_free(&out);

	/* ICE=force, lite: a phone's plain SDP toward a WebRTC peer */
	parse(&out, phone);
	memset(&c, 0, sizeof(c));
	snprintf(c.foundation, sizeof(c.foundation), "1");
	c.component = 1;
	c.priority = ice_candidate_priority(ICE_TYPE_PREF_HOST, 65535, 1);
	c.generation = -1;
	netaddr_from_str(&c.addr, "192.0.2.10", 30000);
	media_at(&m[0], "192.0.2.10", 30000, 30001);
	m[0].ice = true;
	m[0].ufrag = "lite";
	m[0].pwd = "0123456789abcdef012345";
	m[0].cands = &c;
	m[0].n_cands = 1;
	rw.n_media = 1;
	rw.ice_lite = true;
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_int_equal(sdp_ice_extract(&out, 0, d, err, sizeof(err)), 0);
	assert_string_equal(d->ufrag, "lite");
	assert_true(d->lite);
	assert_int_equal(d->n_cands, 1);
	/* no trickle announced: the description is complete (RFC 8838) */
	assert_true(d->end_of_candidates);
	sdp_free(&out);
	free(d);
}

static void replace_origin(void **state)
{
	struct sdp out;
	struct sdp_rewrite_media m[1];
	struct netaddr origin;
	struct sdp_rewrite rw = {.media = m, .n_media = 1, .origin = &origin};
	char err[128];

	parse(&out, phone);
	media_at(&m[0], "198.51.100.20", 32000, 32001);
	netaddr_from_str(&origin, "198.51.100.20", 0);
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	assert_string_equal(out.session.lines[sdp_line_find(&out.session, 'o', 0)].value,
			    "user 123 456 IN IP4 198.51.100.20");
	sdp_free(&out);
	/* an origin without its fields is refused, not mangled */
	static const char bad_origin[] = "v=0\r\no=x\r\nm=audio 1 RTP/AVP 0\r\n";

	assert_int_equal(sdp_parse(&out, bad_origin, strlen(bad_origin), err, sizeof(err)), 0);
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "o= line"));
	sdp_free(&out);
}

static void skipped_and_bad(void **state)
{
	struct sdp in, out;
	struct sdp_rewrite_media m[4];
	struct sdp_rewrite rw = {.media = m, .n_media = 3};
	char err[128];

	parse(&in, rfc8866);
	parse(&out, rfc8866);
	media_at(&m[0], "192.0.2.10", 30000, 30001);
	m[1].skip = true;
	m[2].skip = true;
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), 0);
	/* skipped sections keep even their c= and port */
	assert_string_equal(sdp_section(&out, 1)->lines[0].value, "audio 49180 RTP/AVP 0");
	assert_string_equal(sdp_section(&out, 2)->lines[0].value, "video 51372 RTP/AVP 99");
	assert_rest_intact(&in, &out);
	rw.n_media = 4;
	assert_int_equal(sdp_rewrite_apply(&out, &rw, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "4 media sections, SDP has 3"));
	sdp_free(&in);
	sdp_free(&out);
}

/* ---- crypto attributes (sdp_crypto.c, sdp_rewrite_crypto) -------------------- */

/* RFC 4568 §8.1's offer, with a suite icepath does not do first and an MKI */
static const char sdes_offer[] =
	"v=0\r\n"
	"o=phone 1 1 IN IP4 192.0.2.7\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.7\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/SAVP 0\r\n"
	"a=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4\r\n"
	"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20\r\n"
	"a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32\r\n"
	"a=rtpmap:0 PCMU/8000\r\n";

static void crypto_extract(void **state)
{
	struct sdp_crypto_desc d;
	struct sdp sdp;
	char err[200];

	(void)state;
	assert_int_equal(sdp_parse(&sdp, browser, strlen(browser), err, sizeof(err)), 0);
	assert_int_equal(sdp_crypto_extract(&sdp, 0, &d, err, sizeof(err)), 0);
	assert_string_equal(d.proto, "UDP/TLS/RTP/SAVPF");
	assert_true(sdp_proto_is_dtls(d.proto) && sdp_proto_is_rtp(d.proto));
	assert_int_equal(d.n_fingerprint, 1);
	assert_true(!strncmp(d.fingerprint[0], "sha-256 12:34:56", 16));
	assert_true(d.has_setup);
	assert_int_equal(d.setup, DTLS_SETUP_ACTPASS);
	assert_true(d.rtcp_mux);
	assert_string_equal(d.mid, "0");
	assert_int_equal(d.n_crypto, 0);
	sdp_free(&sdp);

	assert_int_equal(sdp_parse(&sdp, sdes_offer, strlen(sdes_offer), err, sizeof(err)), 0);
	assert_int_equal(sdp_crypto_extract(&sdp, 0, &d, err, sizeof(err)), 0);
	assert_true(sdp_proto_is_srtp(d.proto) && !sdp_proto_is_dtls(d.proto));
	assert_int_equal(d.n_fingerprint, 0);
	assert_false(d.has_setup);
	/* F8 is well formed but not ours: skipped, the next ones kept */
	assert_int_equal(d.crypto_skipped, 1);
	assert_int_equal(d.n_crypto, 2);
	assert_int_equal(d.crypto[0].tag, 2);
	assert_int_equal(d.crypto[0].suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(d.crypto[1].suite, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32);
	assert_true(d.crypto[1].has_mki);
	assert_false(d.rtcp_mux);
	sdp_free(&sdp);
}

/* Malformed crypto attributes are refused with a reason, not half-read. */
static void crypto_extract_malformed(void **state)
{
	static const struct {
		const char *attr, *why;
	} bad[] = {
		{"a=setup:sometimes", "a=setup:sometimes is not"},
		{"a=setup:", "is not actpass"},
		{"a=fingerprint:sha-256 "
		 "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
		 "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
		 "00:00:00:00:00:00:00:00:00:00",
		 "longer than any hash"},
		{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", "a=crypto:"},
		{"a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
		 "a=crypto:"},
		{"a=crypto:1", "a=crypto:"},
	};
	struct sdp_crypto_desc d;
	char text[1024], err[200];
	struct sdp sdp;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text),
			 "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
			 "m=audio 9 RTP/SAVP 0\r\nc=IN IP4 192.0.2.1\r\n%s\r\n",
			 bad[i].attr);
		assert_int_equal(sdp_parse(&sdp, text, strlen(text), err, sizeof(err)), 0);
		err[0] = 0;
		if (sdp_crypto_extract(&sdp, 0, &d, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].why))
			fail_msg("'%s': want -EINVAL '%s', got '%s'", bad[i].attr, bad[i].why, err);
		sdp_free(&sdp);
	}
	/* a section that does not exist */
	assert_int_equal(sdp_parse(&sdp, sdes_offer, strlen(sdes_offer), err, sizeof(err)), 0);
	assert_int_equal(sdp_crypto_extract(&sdp, 5, &d, err, sizeof(err)), -EINVAL);
	sdp_free(&sdp);
}

/* The browser's offer rewritten for a plain RTP/AVP phone, and a phone's
 * answer rewritten for the browser: each says what its leg speaks. */
static void crypto_rewrite(void **state)
{
	const char *fp = "sha-256 AA:BB";
	struct sdp_rewrite_crypto plain = {.proto = "RTP/AVP", .rtcp_mux = 0};
	struct sdp_rewrite_crypto web = {.proto = "UDP/TLS/RTP/SAVPF",
					 .fingerprint = fp,
					 .setup = "passive",
					 .rtcp_mux = 1,
					 .mid = "0"};
	struct sdp sdp;
	char err[200], out[8192];
	ssize_t n;

	(void)state;
	assert_int_equal(sdp_parse(&sdp, browser, strlen(browser), err, sizeof(err)), 0);
	assert_int_equal(sdp_rewrite_crypto(&sdp, 0, &plain), 0);
	assert_int_equal(sdp_rewrite_crypto(&sdp, 1, &plain), 0);
	sdp_rewrite_strip_bundle(&sdp);
	n = sdp_write(&sdp, out, sizeof(out));
	assert_true(n > 0);
	out[n] = 0;
	assert_non_null(strstr(out, "m=audio 54321 RTP/AVP 111 0\r\n"));
	assert_non_null(strstr(out, "m=video 54321 RTP/AVP 96\r\n"));
	assert_null(strstr(out, "a=fingerprint"));
	assert_null(strstr(out, "a=setup"));
	assert_null(strstr(out, "a=rtcp-mux"));
	assert_null(strstr(out, "a=group:BUNDLE"));
	assert_non_null(strstr(out, "a=mid:0\r\n")); /* kept: harmless to a phone */
	sdp_free(&sdp);

	assert_int_equal(sdp_parse(&sdp, sdes_offer, strlen(sdes_offer), err, sizeof(err)), 0);
	assert_int_equal(sdp_rewrite_crypto(&sdp, 0, &web), 0);
	n = sdp_write(&sdp, out, sizeof(out));
	assert_true(n > 0);
	out[n] = 0;
	assert_non_null(strstr(out, "m=audio 49170 UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(out, "a=fingerprint:sha-256 AA:BB\r\n"));
	assert_non_null(strstr(out, "a=setup:passive\r\n"));
	assert_non_null(strstr(out, "a=rtcp-mux\r\n"));
	assert_non_null(strstr(out, "a=mid:0\r\n"));
	assert_null(strstr(out, "a=crypto")); /* the phone's keys never pass on */
	/* a malformed m= line is refused */
	assert_int_equal(sdp_line_replace(sdp_section(&sdp, 0), 0, 'm', "audio"), 0);
	assert_int_equal(sdp_rewrite_crypto(&sdp, 0, &web), -EINVAL);
	assert_int_equal(sdp_rewrite_crypto(&sdp, 3, &web), -EINVAL);
	sdp_free(&sdp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8866_example),
		cmocka_unit_test(browser_bundle_with_relay_ice),
		cmocka_unit_test(sip_phone_plain_rtp),
		cmocka_unit_test(ice_remove_and_force),
		cmocka_unit_test(replace_origin),
		cmocka_unit_test(skipped_and_bad),
		cmocka_unit_test(crypto_extract),
		cmocka_unit_test(crypto_extract_malformed),
		cmocka_unit_test(crypto_rewrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
