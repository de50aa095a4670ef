/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sdp_rewrite: turn a peer's SDP into the one the relay hands to the other
 * side, on the sdp.h model (every line kept verbatim unless it must change).
 *
 * What changes, per media section the caller describes:
 *   - c= (media level, added if the section had none) and the m= port:
 *     the relay's advertised address and RTP port; the session-level c=
 *     too, so the peer's address never leaks;
 *   - a=rtcp: rewritten to the relay's RTCP port when present (RFC 3605);
 *   - ICE (RFC 8839): the peer's ice-ufrag/-pwd/-options/candidates/
 *     end-of-candidates/remote-candidates are removed; with ice on, the
 *     relay's credentials and candidates are added, and a=ice-lite at
 *     session level when the relay is lite toward that side.
 * Everything else (codecs, rtpmap/fmtp, a=mid, a=group:BUNDLE, rtcp-mux,
 * DTLS fingerprints, session structure) is left as it was. A section whose
 * m= port is 0 (rejected/bundle-only) is left alone.
 */
#ifndef ICEPATH_SDP_REWRITE_H
#define ICEPATH_SDP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "icepath/ice_candidate.h"
#include "icepath/netaddr.h"
#include "icepath/sdp.h"

struct sdp_rewrite_media {
	bool skip;	     /* leave this section untouched */
	struct netaddr addr; /* relay address + RTP port */
	uint16_t rtcp_port;  /* relay RTCP port; 0 with rtcp-mux */
	bool ice;	     /* announce ICE with the fields below */
	const char *ufrag, *pwd;
	const struct ice_candidate *cands;
	size_t n_cands;
	bool end_of_candidates; /* RFC 8838 §8.2: all of them are listed */
};

struct sdp_rewrite {
	bool ice_lite; /* the relay is ICE-lite toward the receiver (RFC 8445 §2.5) */
	/* NG replace=origin: the o= line's address becomes this one (NULL:
	 * the origin is the sender's business and stays, RFC 8866 §5.2) */
	const struct netaddr *origin;
	const struct sdp_rewrite_media *media;
	size_t n_media; /* <= sdp->n_media; sections past it are left alone */
};

/* Rewrite sdp in place. 0 or -errno with a reason in err. */
int sdp_rewrite_apply(struct sdp *sdp, const struct sdp_rewrite *rw, char *err, size_t errlen);

/* Remove every ICE attribute of section idx (-1: session level). */
void sdp_rewrite_strip_ice(struct sdp *sdp, int idx);

#endif
