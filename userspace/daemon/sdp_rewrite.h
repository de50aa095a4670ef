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

#include "icepath/dtls.h"
#include "icepath/ice_candidate.h"
#include "icepath/sdes.h"
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

/*
 * A media section of a leg whose media the relay encrypts or decrypts itself
 * (NG DTLS=, SDES-*, transport-protocol=): the section says what that leg
 * speaks, not what the other leg's peer said. The other peer's a=fingerprint,
 * a=setup, a=tls-id and a=crypto lines (session and media level) always go.
 */
struct sdp_rewrite_crypto {
	const char *proto;	 /* the m= line's protocol; NULL keeps it */
	const char *fingerprint; /* a=fingerprint value of the relay, NULL: none */
	const char *setup;	 /* a=setup value (RFC 4145), NULL: none */
	const char *const *crypto; /* a=crypto values (RFC 4568), n_crypto of them */
	size_t n_crypto;
	int rtcp_mux;	  /* 1: a=rtcp-mux present, 0: absent, -1: as it was */
	const char *mid;  /* a=mid to add when the section has none, NULL: none */
};
/* 0 or -errno (-E2BIG: the section is full). */
int sdp_rewrite_crypto(struct sdp *sdp, size_t idx, const struct sdp_rewrite_crypto *c);
/* Remove the session's a=group:BUNDLE lines (toward a leg that does not
 * bundle: a plain-RTP phone gets one port pair per m= line). */
void sdp_rewrite_strip_bundle(struct sdp *sdp);
/* The a=rtcp-mux line of section idx, kept (1), removed (0) or added (1);
 * -1 leaves it. */
int sdp_rewrite_rtcp_mux(struct sdp *sdp, size_t idx, int want);

/*
 * What a peer's media section says about its media encryption (sdp_crypto.c):
 * the m= protocol, a=fingerprint (RFC 8122 §5) and a=setup (RFC 4145 §4),
 * media level or else session level, a=crypto lines (RFC 4568 §9.1) icepath
 * can use, a=rtcp-mux and a=mid. Lines icepath cannot use (another hash's
 * syntax is dtls.h's to judge, an unknown suite, several keys) are counted,
 * not errors; a malformed a=setup or an over-long fingerprint is -EINVAL.
 */
#define SDP_CRYPTO_MAX 8 /* a=crypto lines kept per section */
struct sdp_crypto_desc {
	char proto[64];
	char fingerprint[DTLS_FINGERPRINTS_MAX][DTLS_FINGERPRINT_STRLEN];
	size_t n_fingerprint;
	bool has_setup;
	enum dtls_setup setup;
	struct sdes_crypto crypto[SDP_CRYPTO_MAX];
	size_t n_crypto;
	unsigned crypto_skipped; /* well-formed lines for what icepath does not do */
	bool rtcp_mux;
	char mid[32]; /* "" when none (or longer than fits) */
};
int sdp_crypto_extract(const struct sdp *sdp, size_t idx, struct sdp_crypto_desc *d, char *err,
		       size_t errlen);
/* The protocol is DTLS-SRTP (UDP/TLS/RTP/SAVP[F], RFC 5764 §8), SDES-capable
 * SRTP (RTP/SAVP[F], RFC 3711) or plain RTP. */
bool sdp_proto_is_dtls(const char *proto);
bool sdp_proto_is_srtp(const char *proto);
bool sdp_proto_is_rtp(const char *proto);

/* Remove every ICE attribute of section idx (-1: session level). */
void sdp_rewrite_strip_ice(struct sdp *sdp, int idx);

#endif
