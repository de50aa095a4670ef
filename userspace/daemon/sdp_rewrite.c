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
