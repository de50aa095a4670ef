/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICE candidates (RFC 8445 §5.1), shared by the agent, the SDP codec and
 * the daemon. The SDP text form (RFC 8839 §5.1) lives in sdp.h.
 */
#ifndef ICEPATH_ICE_CANDIDATE_H
#define ICEPATH_ICE_CANDIDATE_H

#include <stdint.h>

#include "icepath/netaddr.h"

enum ice_cand_type {
	ICE_CAND_TYPE_HOST,
	ICE_CAND_TYPE_SRFLX,
	ICE_CAND_TYPE_PRFLX,
	ICE_CAND_TYPE_RELAY,
};

enum ice_transport {
	ICE_TRANSPORT_UDP,
	ICE_TRANSPORT_TCP, /* parsed and kept, never paired: no ICE-TCP (RFC 6544) */
};

/* RFC 8445 §5.1.2.2: recommended type preferences. */
#define ICE_TYPE_PREF_HOST  126
#define ICE_TYPE_PREF_PRFLX 110
#define ICE_TYPE_PREF_SRFLX 100
#define ICE_TYPE_PREF_RELAY 0

/* RFC 8839 §5.1: foundation is 1*32 ice-char. */
#define ICE_FOUNDATION_MAX 33
/* Extension attributes we do not interpret, kept verbatim for re-encoding. */
#define ICE_CAND_EXT_MAX 160

struct ice_candidate {
	char foundation[ICE_FOUNDATION_MAX];
	uint16_t component; /* 1 = RTP, 2 = RTCP; 1..256 */
	enum ice_transport transport;
	uint32_t priority;
	struct netaddr addr;
	enum ice_cand_type type;
	struct netaddr raddr; /* related address; family 0 when absent */
	int generation;       /* -1 when absent */
	char ext[ICE_CAND_EXT_MAX];
};

/* RFC 8445 §5.1.2.1: (2^24)*type_pref + (2^8)*local_pref + (256 - component). */
static inline uint32_t ice_candidate_priority(unsigned type_pref, unsigned local_pref,
					      unsigned component)
{
	return (type_pref << 24) | ((local_pref & 0xffffu) << 8) | ((256u - component) & 0xffu);
}

unsigned ice_cand_type_pref(enum ice_cand_type type);
const char *ice_cand_type_str(enum ice_cand_type type);
/* "host", "srflx", "prflx", "relay" -> 0 and *type, or -EINVAL. */
int ice_cand_type_from_str(const char *s, enum ice_cand_type *type);

#endif
