// SPDX-License-Identifier: GPL-2.0-only
/* sdp_rewrite: the relay's SDP from a peer's (see sdp_rewrite.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "icepath/compiler.h"

#include "sdp_rewrite.h"

/* RFC 8839 §5 and RFC 8838 §8.2: every attribute that describes the peer's
 * own ICE session and must not reach the other side. */
static const char *const ice_attrs[] = {
	"ice-ufrag",	     "ice-pwd",	 "ice-options",	 "candidate",  "end-of-candidates",
	"remote-candidates", "ice-lite", "ice-mismatch", "ice-pacing",
};

void sdp_rewrite_strip_ice(struct sdp *sdp, int idx)
{
	struct sdp_section *s = sdp_section(sdp, idx);

	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(ice_attrs); i++)
		sdp_attr_remove_all(s, ice_attrs[i]);
}

/* RFC 8866 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype>
 * <unicast-address>; the first three fields stay. */
static int set_origin(struct sdp *sdp, const struct netaddr *addr)
{
	char conn[96], buf[SDP_MAX_LINE_LEN];
	const char *v, *p;
	int i, ret, spaces = 0;

	i = sdp_line_find(&sdp->session, 'o', 0);
	if (i < 0)
		return 0;
	v = sdp->session.lines[i].value;
	for (p = v; *p && spaces < 3; p++)
		spaces += *p == ' ';
	if (spaces < 3)
		return -EINVAL; /* not an RFC 8866 origin: leave nothing half-done */
	ret = sdp_conn_format(addr, conn, sizeof(conn));
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "%.*s%s", (int)(p - v), v, conn);
	return sdp_line_replace(&sdp->session, (size_t)i, 'o', buf);
}

static int set_session_conn(struct sdp *sdp, const struct netaddr *addr)
{
	char buf[96];
	int i, ret;

	i = sdp_line_find(&sdp->session, 'c', 0);
	if (i < 0)
		return 0; /* media-level c= lines carry it */
	ret = sdp_conn_format(addr, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	return sdp_line_replace(&sdp->session, (size_t)i, 'c', buf);
}

/* RFC 3605: a=rtcp:<port> [nettype addrtype address] */
static int set_rtcp_attr(struct sdp_section *s, const struct netaddr *addr, uint16_t port)
{
	char conn[96], buf[128];
	int i = sdp_attr_find(s, "rtcp", 0), ret;

	if (i < 0)
		return 0; /* absent: RTP port + 1 is the default, which we allocate */
	if (!port) {
		sdp_line_remove(s, (size_t)i);
		return 0;
	}
	ret = sdp_conn_format(addr, conn, sizeof(conn));
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "rtcp:%u %s", port, conn);
	return sdp_line_replace(s, (size_t)i, 'a', buf);
}

static int apply_ice(struct sdp *sdp, size_t idx, const struct sdp_rewrite *rw,
		     const struct sdp_rewrite_media *m)
{
	struct sdp_ice_desc d; /* ~17 KiB: fine on the daemon's 8 MiB stack */

	memset(&d, 0, sizeof(d));
	snprintf(d.ufrag, sizeof(d.ufrag), "%s", m->ufrag ? m->ufrag : "");
	snprintf(d.pwd, sizeof(d.pwd), "%s", m->pwd ? m->pwd : "");
	d.lite = rw->ice_lite;
	/* ice2 (RFC 8445 §10) we are; never trickle, whatever the other leg
	 * said: over NG the relay cannot send a candidate after its SDP (no
	 * INFO, no end-of-candidates later, RFC 8840 §4.1), so its description
	 * is a complete, non-trickle one (RFC 8838 §5) */
	d.options = SDP_ICE_OPT_ICE2;
	if (m->n_cands > SDP_ICE_MAX_CANDS)
		return -E2BIG;
	memcpy(d.cands, m->cands, m->n_cands * sizeof(*m->cands));
	d.n_cands = m->n_cands;
	d.end_of_candidates = m->end_of_candidates;
	return sdp_ice_apply(sdp, idx, &d);
}

int sdp_rewrite_apply(struct sdp *sdp, const struct sdp_rewrite *rw, char *err, size_t errlen)
{
	bool session_done = false;
	int ret = 0;

	if (rw->n_media > sdp->n_media) {
		snprintf(err, errlen, "rewrite describes %zu media sections, SDP has %zu",
			 rw->n_media, sdp->n_media);
		return -EINVAL;
	}
	for (size_t i = 0; i < rw->n_media; i++) {
		const struct sdp_rewrite_media *m = &rw->media[i];
		struct sdp_section *s = sdp_section(sdp, (int)i);
		const char *what = "c=/m=";

		if (m->skip)
			continue;
		ret = sdp_media_set_default_addr(sdp, i, &m->addr);
		if (!ret) {
			what = "a=rtcp";
			ret = set_rtcp_attr(s, &m->addr, m->rtcp_port);
		}
		if (!ret && !session_done) {
			what = "session c=";
			ret = set_session_conn(sdp, &m->addr);
			session_done = true;
		}
		if (!ret) {
			what = "ICE attributes";
			sdp_rewrite_strip_ice(sdp, (int)i);
			if (m->ice)
				ret = apply_ice(sdp, i, rw, m);
		}
		if (ret) {
			snprintf(err, errlen, "media section %zu: cannot rewrite %s: %s", i + 1,
				 what, strerror(-ret));
			return ret;
		}
	}
	if (rw->origin) {
		ret = set_origin(sdp, rw->origin);
		if (ret) {
			snprintf(err, errlen,
				 "o= line is not '<user> <id> <version> IN IP4|IP6 <address>'");
			return ret;
		}
	}
	/* Peer's session-level ICE attributes never pass through; a relay that
	 * speaks ICE nowhere must not announce ice-lite either. */
	if (!ret) {
		bool any_ice = false;

		for (size_t i = 0; i < rw->n_media; i++)
			any_ice |= !rw->media[i].skip && rw->media[i].ice;
		if (!any_ice)
			sdp_rewrite_strip_ice(sdp, -1);
	}
	return 0;
}

/* ---- crypto attributes of a terminated leg ------------------------------------ */

/* RFC 8866 §5.14: m=<media> <port>[/<n>] <proto> <fmt> ...: the proto field
 * replaced; an m= line that does not parse is refused, not patched. */
static int set_proto(struct sdp_section *s, const char *proto)
{
	char buf[SDP_MAX_LINE_LEN], cnt[16] = "", why[160];
	struct sdp_mline m;
	int n;

	if (sdp_mline_parse(s->lines[0].value, &m, why, sizeof(why)))
		return -EINVAL;
	if (m.port_count != 1)
		snprintf(cnt, sizeof(cnt), "/%u", m.port_count);
	n = snprintf(buf, sizeof(buf), "%s %u%s %s%s%s", m.media, m.port, cnt, proto,
		     m.fmts[0] ? " " : "", m.fmts);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return sdp_line_replace(s, 0, 'm', buf);
}

int sdp_rewrite_rtcp_mux(struct sdp *sdp, size_t idx, int want)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx);
	bool has;

	if (!s || want < 0)
		return 0;
	has = sdp_attr_find(s, "rtcp-mux", 0) >= 0;
	if (want && !has)
		return sdp_attr_append(s, "rtcp-mux", NULL);
	if (!want && has) {
		sdp_attr_remove_all(s, "rtcp-mux");
		sdp_attr_remove_all(s, "rtcp-mux-only"); /* RFC 8858 */
	}
	return 0;
}

/* RFC 8122 (fingerprint), RFC 4145/5763 (setup), RFC 8842 (tls-id),
 * RFC 4568 (crypto): the other peer's keys and roles never pass on. */
static const char *const crypto_attrs[] = {"fingerprint", "setup", "tls-id", "crypto"};

int sdp_rewrite_crypto(struct sdp *sdp, size_t idx, const struct sdp_rewrite_crypto *c)
{
	struct sdp_section *s = sdp_section(sdp, (int)idx), *ses = sdp_section(sdp, -1);
	int ret = 0;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(crypto_attrs); i++) {
		sdp_attr_remove_all(s, crypto_attrs[i]);
		sdp_attr_remove_all(ses, crypto_attrs[i]);
	}
	if (c->proto)
		ret = set_proto(s, c->proto);
	if (!ret && c->mid && sdp_attr_find(s, "mid", 0) < 0)
		ret = sdp_attr_append(s, "mid", c->mid);
	if (!ret && c->fingerprint)
		ret = sdp_attr_append(s, "fingerprint", c->fingerprint);
	if (!ret && c->setup)
		ret = sdp_attr_append(s, "setup", c->setup);
	for (size_t i = 0; !ret && i < c->n_crypto; i++)
		ret = sdp_attr_append(s, "crypto", c->crypto[i]);
	if (!ret)
		ret = sdp_rewrite_rtcp_mux(sdp, idx, c->rtcp_mux);
	return ret;
}

void sdp_rewrite_strip_bundle(struct sdp *sdp)
{
	struct sdp_section *ses = sdp_section(sdp, -1);
	int i = 0;

	while ((i = sdp_attr_find(ses, "group", (size_t)i)) >= 0) {
		if (!strncmp(sdp_attr_value(&ses->lines[i]), "BUNDLE", 6))
			sdp_line_remove(ses, (size_t)i);
		else
			i++;
	}
}
