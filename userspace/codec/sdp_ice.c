// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ICE attributes of SDP (RFC 8839): candidate lines, ice-ufrag/pwd,
 * ice-options, remote-candidates, and the ICE description of one m= section
 * (extract and apply). The session model they sit on is sdp.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/compiler.h"
#include "icepath/sdp.h"
#include "sdp_int.h"

static bool sdp_ice_char(char c)
{
	/* RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/" */
	return isalnum((unsigned char)c) || c == '+' || c == '/';
}

int sdp_ice_chars_check(const char *s, size_t len, size_t min)
{
	if (len < min || len > SDP_ICE_CRED_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!sdp_ice_char(s[i]))
			return -EINVAL;
	return 0;
}

unsigned sdp_ice_options_parse(const char *value)
{
	char buf[SDP_MAX_LINE_LEN], *tok[64];
	unsigned flags = 0;
	int n;

	snprintf(buf, sizeof(buf), "%s", value);
	n = sdp_tokens(buf, tok, 64);
	for (int i = 0; i < n; i++) {
		if (!strcmp(tok[i], "trickle"))
			flags |= SDP_ICE_OPT_TRICKLE;
		else if (!strcmp(tok[i], "ice2"))
			flags |= SDP_ICE_OPT_ICE2;
	}
	return flags;
}

/* Literal IPv4/IPv6 address; SDP_ERR_MDNS for "*.local", -EPROTONOSUPPORT
 * for another hostname (we never resolve names from signalling). */
static int sdp_cand_addr(const char *s, uint16_t port, struct netaddr *a)
{
	if (netaddr_from_str(a, s, port) == 0)
		return 0;
	if (sdp_is_mdns(s))
		return SDP_ERR_MDNS;
	/* RFC 1123 host name: letters, digits, '-', '.', at least one letter
	 * (so "192.0.2.300" is a broken address, not a name). */
	bool letter = false;

	for (const char *p = s; *p; p++) {
		if (isalpha((unsigned char)*p))
			letter = true;
		else if (!isdigit((unsigned char)*p) && *p != '-' && *p != '.')
			return -EINVAL;
	}
	return letter ? -EPROTONOSUPPORT : -EINVAL;
}

/*
 * RFC 8839 §5.1:
 * candidate-attribute = "candidate" ":" foundation SP component-id SP
 *                       transport SP priority SP connection-address SP
 *                       port SP cand-type [SP rel-addr] [SP rel-port]
 *                       *(SP cand-extension)
 */
int sdp_candidate_parse(const char *value, size_t len, struct ice_candidate *c, char *err,
			size_t err_len)
{
	char buf[SDP_MAX_LINE_LEN], *tok[128], *ext;
	size_t ext_len = 0;
	unsigned long v;
	int n, ret;
	uint16_t port;

	memset(c, 0, sizeof(*c));
	c->generation = -1;
	if (len >= 2 && !memcmp(value, "a=", 2)) {
		value += 2;
		len -= 2;
	}
	if (len >= 10 && !memcmp(value, "candidate:", 10)) {
		value += 10;
		len -= 10;
	}
	if (len >= sizeof(buf) || memchr(value, '\0', len)) {
		sdp_err(err, err_len, "candidate longer than %zu bytes or holds NUL",
			sizeof(buf) - 1);
		return -EINVAL;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';
	n = sdp_tokens(buf, tok, (int)ARRAY_SIZE(tok));
	if (n < 0) {
		sdp_err(err, err_len, "candidate has more than %zu fields", ARRAY_SIZE(tok));
		return -EINVAL;
	}
	if (n < 8) {
		sdp_err(err, err_len, "candidate has %d fields, needs at least 8", n);
		return -EINVAL;
	}
	if (strlen(tok[0]) >= ICE_FOUNDATION_MAX ||
	    sdp_ice_chars_check(tok[0], strlen(tok[0]), 1) < 0) {
		sdp_err(err, err_len, "candidate foundation '%.40s' is not 1..32 ice-chars",
			tok[0]);
		return -EINVAL;
	}
	strcpy(c->foundation, tok[0]);
	if (sdp_uint(tok[1], 256, &v) || v == 0) {
		sdp_err(err, err_len, "candidate component '%.16s' is not 1..256", tok[1]);
		return -EINVAL;
	}
	c->component = (uint16_t)v;
	if (!strcasecmp(tok[2], "udp")) {
		c->transport = ICE_TRANSPORT_UDP;
	} else if (!strcasecmp(tok[2], "tcp")) {
		c->transport = ICE_TRANSPORT_TCP;
	} else {
		sdp_err(err, err_len, "candidate transport '%.16s' unsupported", tok[2]);
		return -EPROTONOSUPPORT;
	}
	if (sdp_uint(tok[3], 0xffffffffUL, &v) || v == 0) {
		sdp_err(err, err_len, "candidate priority '%.16s' is not 1..2^32-1", tok[3]);
		return -EINVAL;
	}
	c->priority = (uint32_t)v;
	if (sdp_uint(tok[5], 65535, &v)) {
		sdp_err(err, err_len, "candidate port '%.16s' is not 0..65535", tok[5]);
		return -EINVAL;
	}
	port = (uint16_t)v;
	ret = sdp_cand_addr(tok[4], port, &c->addr);
	if (ret == SDP_ERR_MDNS) {
		sdp_err(err, err_len, "candidate address '%.64s' is an mDNS name", tok[4]);
		return ret;
	}
	if (ret < 0) {
		sdp_err(err, err_len, "candidate address '%.64s' is not an IPv4/IPv6 literal",
			tok[4]);
		return ret;
	}
	if (strcmp(tok[6], "typ")) {
		sdp_err(err, err_len, "candidate field 7 is '%.16s', expected 'typ'", tok[6]);
		return -EINVAL;
	}
	if (ice_cand_type_from_str(tok[7], &c->type) < 0) {
		sdp_err(err, err_len, "candidate type '%.16s' is not host/srflx/prflx/relay",
			tok[7]);
		return -EINVAL;
	}
	ext = c->ext;
	for (int i = 8; i < n; i += 2) {
		if (i + 1 >= n) {
			sdp_err(err, err_len, "candidate extension '%.32s' has no value", tok[i]);
			return -EINVAL;
		}
		if (!strcmp(tok[i], "raddr")) {
			ret = sdp_cand_addr(tok[i + 1], netaddr_port(&c->raddr), &c->raddr);
			/* The related address is informational (RFC 8445 §5.1.3); a
			 * browser may hide it behind an mDNS name: drop it then. */
			if (ret == SDP_ERR_MDNS) {
				memset(&c->raddr, 0, sizeof(c->raddr));
			} else if (ret < 0) {
				sdp_err(err, err_len, "candidate raddr '%.64s' is not an address",
					tok[i + 1]);
				return -EINVAL;
			}
		} else if (!strcmp(tok[i], "rport")) {
			if (sdp_uint(tok[i + 1], 65535, &v)) {
				sdp_err(err, err_len, "candidate rport '%.16s' is not 0..65535",
					tok[i + 1]);
				return -EINVAL;
			}
			if (netaddr_family(&c->raddr))
				netaddr_set_port(&c->raddr, (uint16_t)v);
		} else if (!strcmp(tok[i], "generation")) {
			if (sdp_uint(tok[i + 1], 0x7fffffff, &v)) {
				sdp_err(err, err_len,
					"candidate generation '%.16s' is not a number", tok[i + 1]);
				return -EINVAL;
			}
			c->generation = (int)v;
		} else {
			size_t need = strlen(tok[i]) + strlen(tok[i + 1]) + 2;

			if (ext_len + need + 1 > ICE_CAND_EXT_MAX) {
				sdp_err(err, err_len, "candidate extensions longer than %d bytes",
					ICE_CAND_EXT_MAX - 1);
				return -EINVAL;
			}
			ext_len += (size_t)sprintf(ext + ext_len, "%s%s %s", ext_len ? " " : "",
						   tok[i], tok[i + 1]);
		}
	}
	/* rport before raddr: apply it now that the address exists. */
	for (int i = 8; i + 1 < n; i += 2)
		if (!strcmp(tok[i], "rport") && netaddr_family(&c->raddr) &&
		    !sdp_uint(tok[i + 1], 65535, &v))
			netaddr_set_port(&c->raddr, (uint16_t)v);
	return 0;
}

/* Transport in upper case as in RFC 8839's examples: ABNF strings are
 * case-insensitive, but libnice (<= 0.1.x) compares with "UDP" exactly. */
int sdp_candidate_format(const struct ice_candidate *c, char *buf, size_t len)
{
	char ip[NETADDR_STRLEN], rip[NETADDR_STRLEN];
	size_t off;
	int n;

	if ((unsigned)c->type > ICE_CAND_TYPE_RELAY || !c->foundation[0] ||
	    (netaddr_family(&c->addr) != AF_INET && netaddr_family(&c->addr) != AF_INET6))
		return -EINVAL;
	n = snprintf(buf, len, "%s %u %s %u %s %u typ %s", c->foundation, c->component,
		     c->transport == ICE_TRANSPORT_TCP ? "TCP" : "UDP", c->priority,
		     netaddr_ip_str(&c->addr, ip, sizeof(ip)), netaddr_port(&c->addr),
		     ice_cand_type_str(c->type));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	if (netaddr_family(&c->raddr)) {
		n = snprintf(buf + off, len - off, " raddr %s rport %u",
			     netaddr_ip_str(&c->raddr, rip, sizeof(rip)), netaddr_port(&c->raddr));
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (c->generation >= 0) {
		n = snprintf(buf + off, len - off, " generation %d", c->generation);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (c->ext[0]) {
		n = snprintf(buf + off, len - off, " %s", c->ext);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

int sdp_rtcp_parse(const char *value, uint16_t *port, struct netaddr *addr)
{
	char buf[SDP_MAX_LINE_LEN], *tok[5];
	unsigned long v;
	int n;

	memset(addr, 0, sizeof(*addr));
	if (strlen(value) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, value);
	n = sdp_tokens(buf, tok, 5);
	if ((n != 1 && n != 4) || sdp_uint(tok[0], 65535, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	if (n == 4) {
		char conn[SDP_MAX_LINE_LEN];

		snprintf(conn, sizeof(conn), "%s %s %s", tok[1], tok[2], tok[3]);
		if (sdp_conn_parse(conn, addr, NULL, 0) < 0)
			return -EINVAL;
		netaddr_set_port(addr, *port);
	}
	return 0;
}

int sdp_remote_candidates_parse(const char *value, struct sdp_remote_cand *out, size_t max)
{
	char buf[SDP_MAX_LINE_LEN], *tok[3 * 16];
	unsigned long comp, port;
	int n;

	if (strlen(value) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, value);
	n = sdp_tokens(buf, tok, (int)ARRAY_SIZE(tok));
	if (n <= 0 || n % 3)
		return -EINVAL;
	if ((size_t)(n / 3) > max)
		return -E2BIG;
	for (int i = 0; i < n; i += 3) {
		if (sdp_uint(tok[i], 256, &comp) || comp == 0 || sdp_uint(tok[i + 2], 65535, &port))
			return -EINVAL;
		out[i / 3].component = (uint16_t)comp;
		if (netaddr_from_str(&out[i / 3].addr, tok[i + 1], (uint16_t)port) < 0)
			return -EINVAL;
	}
	return n / 3;
}

/* ---- ICE description per media section ----------------------------------------- */

static int sdp_cred_get(const struct sdp_section *media, const struct sdp_section *session,
			const char *name, size_t min, char *out, char *err, size_t err_len)
{
	const char *v = sdp_attr_get(media, name);

	if (!v)
		v = sdp_attr_get(session, name);
	if (!v)
		return 0;
	if (sdp_ice_chars_check(v, strlen(v), min) < 0) {
		sdp_err(err, err_len,
			"a=%s is %zu bytes or has a non-ice-char; RFC 8839 5.4 wants %zu..%d of "
			"[A-Za-z0-9+/]",
			name, strlen(v), min, SDP_ICE_CRED_MAX);
		return -EINVAL;
	}
	strcpy(out, v);
	return 0;
}

int sdp_ice_extract(const struct sdp *sdp, size_t idx, struct sdp_ice_desc *d, char *err,
		    size_t err_len)
{
	const struct sdp_section *s = sdp_section_const(sdp, (int)idx);
	const struct sdp_section *ss = &sdp->session;
	const struct sdp_line *c;
	const char *v;
	char why[128];
	int ret;

	memset(d, 0, sizeof(*d));
	if (!s) {
		sdp_err(err, err_len, "no media section %zu", idx);
		return -EINVAL;
	}
	ret = sdp_cred_get(s, ss, "ice-ufrag", SDP_ICE_UFRAG_MIN, d->ufrag, err, err_len);
	if (ret < 0)
		return ret;
	ret = sdp_cred_get(s, ss, "ice-pwd", SDP_ICE_PWD_MIN, d->pwd, err, err_len);
	if (ret < 0)
		return ret;
	/* RFC 8839 §5.3: ice-lite is session level; accept it at media level too,
	 * some endpoints put it there. */
	d->lite = sdp_attr_find(ss, "ice-lite", 0) >= 0 || sdp_attr_find(s, "ice-lite", 0) >= 0;
	v = sdp_attr_get(s, "ice-options");
	if (!v)
		v = sdp_attr_get(ss, "ice-options");
	if (v) {
		snprintf(d->options_raw, sizeof(d->options_raw), "%s", v);
		d->options = sdp_ice_options_parse(v);
	}
	/* RFC 8838 §5/§8.2: a description that does not announce trickle is
	 * complete: every candidate is in it, as if end-of-candidates were. */
	d->end_of_candidates = sdp_attr_find(s, "end-of-candidates", 0) >= 0 ||
			       sdp_attr_find(ss, "end-of-candidates", 0) >= 0 ||
			       !(d->options & SDP_ICE_OPT_TRICKLE);
	d->rtcp_mux = sdp_attr_find(s, "rtcp-mux", 0) >= 0;
	d->mismatch = sdp_attr_find(s, "ice-mismatch", 0) >= 0;
	v = sdp_attr_get(s, "ice-pacing");
	if (!v)
		v = sdp_attr_get(ss, "ice-pacing");
	if (v) {
		unsigned long ms;

		/* RFC 8839 §5.5: pacing-value = 1*10DIGIT (milliseconds). */
		if (sdp_uint(v, 0xffffffffUL, &ms)) {
			sdp_err(err, err_len, "a=ice-pacing '%.16s' is not a number of ms", v);
			return -EINVAL;
		}
		d->pacing_ms = (unsigned)ms;
	}
	v = sdp_attr_get(s, "mid");
	if (v)
		snprintf(d->mid, sizeof(d->mid), "%s", v);

	for (int i = sdp_attr_find(s, "candidate", 0); i >= 0;
	     i = sdp_attr_find(s, "candidate", (size_t)i + 1)) {
		const struct sdp_line *l = &s->lines[i];
		struct ice_candidate cand;

		ret = sdp_candidate_parse(l->value, l->len, &cand, why, sizeof(why));
		if (ret == SDP_ERR_MDNS) {
			d->n_mdns_skipped++;
			continue;
		}
		if (ret == -EPROTONOSUPPORT) {
			d->n_unsupported_skipped++;
			continue;
		}
		if (ret < 0) {
			/* One bad line costs that candidate, not ICE for the
			 * whole stream: skipped, counted, the first one named. */
			if (!d->n_malformed_skipped++)
				sdp_err(err, err_len, "line %zu: %s (candidate skipped)",
					sdp_line_no(sdp, (int)idx, (size_t)i), why);
			continue;
		}
		if (d->n_cands == SDP_ICE_MAX_CANDS) {
			sdp_err(err, err_len, "line %zu: more than %d candidates",
				sdp_line_no(sdp, (int)idx, (size_t)i), SDP_ICE_MAX_CANDS);
			return -E2BIG;
		}
		d->cands[d->n_cands++] = cand;
	}

	c = sdp_conn_line(sdp, idx);
	if (c) {
		struct sdp_mline m;

		if (sdp_conn_parse(c->value, &d->default_rtp, why, sizeof(why)) < 0) {
			sdp_err(err, err_len, "media %zu: %s", idx, why);
			return -EINVAL;
		}
		sdp_mline_parse(s->lines[0].value, &m, NULL, 0);
		netaddr_set_port(&d->default_rtp, m.port);
		if (!d->rtcp_mux) {
			uint16_t port = (uint16_t)(m.port + 1);
			struct netaddr ra;
			int i = sdp_attr_find(s, "rtcp", 0);

			d->default_rtcp = d->default_rtp;
			if (i >= 0) {
				if (sdp_rtcp_parse(sdp_attr_value(&s->lines[i]), &port, &ra) < 0) {
					sdp_err(err, err_len,
						"line %zu: a=rtcp is not <port> [IN IP4|IP6 "
						"<address>]",
						sdp_line_no(sdp, (int)idx, (size_t)i));
					return -EINVAL;
				}
				if (netaddr_family(&ra))
					d->default_rtcp = ra;
			}
			netaddr_set_port(&d->default_rtcp, port);
		}
	}
	return 0;
}

static const char *const sdp_ice_attrs[] = {
	"ice-ufrag",	"ice-pwd",   "ice-options",	  "ice-pacing",
	"ice-mismatch", "candidate", "end-of-candidates", "remote-candidates",
};

int sdp_ice_apply(struct sdp *sdp, size_t idx, const struct sdp_ice_desc *d)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx);
	char buf[SDP_MAX_LINE_LEN];
	int ret;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(sdp_ice_attrs); i++) {
		sdp_attr_remove_all(s, sdp_ice_attrs[i]);
		sdp_attr_remove_all(&sdp->session, sdp_ice_attrs[i]);
	}
	sdp_attr_remove_all(s, "ice-lite");
	sdp_attr_remove_all(&sdp->session, "ice-lite");
	if (d->lite && (ret = sdp_attr_append(&sdp->session, "ice-lite", NULL)) < 0)
		return ret;
	if (netaddr_family(&d->default_rtp)) {
		ret = sdp_media_set_default_addr(sdp, idx, &d->default_rtp);
		if (ret < 0)
			return ret;
	}
	if (d->ufrag[0] && (ret = sdp_attr_append(s, "ice-ufrag", d->ufrag)) < 0)
		return ret;
	if (d->pwd[0] && (ret = sdp_attr_append(s, "ice-pwd", d->pwd)) < 0)
		return ret;
	if (d->options_raw[0]) {
		ret = sdp_attr_append(s, "ice-options", d->options_raw);
	} else if (d->options) {
		snprintf(buf, sizeof(buf), "%s%s%s",
			 d->options & SDP_ICE_OPT_TRICKLE ? "trickle" : "",
			 (d->options & SDP_ICE_OPT_TRICKLE) && (d->options & SDP_ICE_OPT_ICE2) ? " "
											       : "",
			 d->options & SDP_ICE_OPT_ICE2 ? "ice2" : "");
		ret = sdp_attr_append(s, "ice-options", buf);
	} else {
		ret = 0;
	}
	if (ret < 0)
		return ret;
	if (d->pacing_ms) {
		snprintf(buf, sizeof(buf), "%u", d->pacing_ms);
		ret = sdp_attr_append(s, "ice-pacing", buf);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < d->n_cands && i < SDP_ICE_MAX_CANDS; i++) {
		ret = sdp_candidate_format(&d->cands[i], buf, sizeof(buf));
		if (ret < 0)
			return ret;
		ret = sdp_attr_append(s, "candidate", buf);
		if (ret < 0)
			return ret;
	}
	if (d->end_of_candidates && (ret = sdp_attr_append(s, "end-of-candidates", NULL)) < 0)
		return ret;
	return 0;
}
