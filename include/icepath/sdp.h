/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDP (RFC 8866) with the ICE attributes of RFC 8839.
 *
 * The session model keeps every line of a description verbatim and in
 * order, so a relay can rewrite only what it must (c=/m= addresses and
 * ports, candidates) and leave everything else byte-for-byte: section 0 is
 * the session level, one section per m= line follows, whose line 0 is the
 * m= line itself. Lines are stored without their "x=" prefix and without
 * the line ending; sdp_write() emits CRLF after every line.
 *
 * Accepted input: CRLF or LF line endings, an optional missing final line
 * ending. A description without "v=" is accepted, because libnice's
 * nice_agent_generate_local_sdp() writes only m=, c= and a= lines. An m=
 * line without a format list is accepted for the same reason.
 *
 * Errors: functions return 0 (or a count) or -errno; parsers that take
 * (err, err_len) write a one-line reason there ("line 7: m= line has no
 * port"), err may be NULL.
 */
#ifndef ICEPATH_SDP_H
#define ICEPATH_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/types.h>

#include "icepath/ice_candidate.h"
#include "icepath/netaddr.h"

/* Limits on untrusted input; a description past them is refused (-E2BIG). */
#define SDP_MAX_SIZE	 (256 * 1024) /* bytes of one description */
#define SDP_MAX_LINES	 4096	      /* lines of one description */
#define SDP_MAX_LINE_LEN 4096	      /* bytes of one line, "x=" included */
#define SDP_MAX_MEDIA	 64	      /* m= sections */

/* RFC 8839 §5.4: ice-ufrag is 4..256 ice-chars, ice-pwd 22..256. */
#define SDP_ICE_UFRAG_MIN 4
#define SDP_ICE_PWD_MIN	  22
#define SDP_ICE_CRED_MAX  256

struct sdp_line {
	char type;   /* 'v', 'o', 'c', 'm', 'a', ... */
	char *value; /* text after "x=", NUL-terminated, never holds CR or LF */
	size_t len;  /* strlen(value) */
};

struct sdp_section {
	struct sdp_line *lines;
	size_t n, cap;
};

struct sdp {
	struct sdp_section session;
	struct sdp_section *media; /* media[i].lines[0] is the m= line */
	size_t n_media;
};

/* ---- whole description -------------------------------------------------- */

/* Parse text[0..len) into sdp (which the caller then frees with sdp_free()).
 * -EINVAL malformed, -E2BIG past a limit, -ENOMEM. On error sdp is empty. */
int sdp_parse(struct sdp *sdp, const char *text, size_t len, char *err, size_t err_len);
void sdp_free(struct sdp *sdp);
/* An empty description to build on (no lines at all). */
void sdp_init(struct sdp *sdp);

/* Bytes sdp_write() needs, without the terminating NUL. */
size_t sdp_write_len(const struct sdp *sdp);
/* Write every line with CRLF, NUL-terminated. Returns the length written
 * (without NUL) or -ENOSPC when size <= sdp_write_len(). */
ssize_t sdp_write(const struct sdp *sdp, char *buf, size_t size);
/* Same into a malloc()ed buffer; NULL on -ENOMEM. */
char *sdp_write_alloc(const struct sdp *sdp, size_t *len);

/* Section by index: -1 is the session level, 0.. the media sections. */
struct sdp_section *sdp_section(struct sdp *sdp, int media_idx);
const struct sdp_section *sdp_section_const(const struct sdp *sdp, int media_idx);

/* ---- lines and attributes of one section -------------------------------- */

/* Insert a line before position pos (pos == n appends). value is copied and
 * must not hold CR, LF or NUL. 0, -EINVAL, -E2BIG, -ENOMEM. */
int sdp_line_insert(struct sdp_section *s, size_t pos, char type, const char *value);
int sdp_line_replace(struct sdp_section *s, size_t pos, char type, const char *value);
void sdp_line_remove(struct sdp_section *s, size_t pos);
/* First line of the given type at or after from; -ENOENT. */
int sdp_line_find(const struct sdp_section *s, char type, size_t from);

/* "a=name" or "a=name:value": the attribute name of an a= line, as a length
 * over line->value, and its value ("" for a property attribute). */
size_t sdp_attr_name_len(const struct sdp_line *line);
const char *sdp_attr_value(const struct sdp_line *line);
/* Index of the first a=name line at or after from; -ENOENT. */
int sdp_attr_find(const struct sdp_section *s, const char *name, size_t from);
/* Value of the first a=name line, or NULL. */
const char *sdp_attr_get(const struct sdp_section *s, const char *name);
/* Remove every a=name line; returns how many went. */
int sdp_attr_remove_all(struct sdp_section *s, const char *name);
/* Append "a=name[:value]" after the last line of the section (value NULL for
 * a property attribute). */
int sdp_attr_append(struct sdp_section *s, const char *name, const char *value);

/* Media section whose a=mid is mid (RFC 9143 BUNDLE, RFC 5888); -ENOENT. */
int sdp_media_by_mid(const struct sdp *sdp, const char *mid);
/* The mids of the session-level a=group:BUNDLE line into mids[0..max)
 * (pointers into a copy in buf); returns the count, -ENOENT without a
 * BUNDLE group, -E2BIG past max or len. */
int sdp_bundle_mids(const struct sdp *sdp, char *buf, size_t len, const char **mids, size_t max);

/* ---- m= and c= ------------------------------------------------------------ */

/* RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
struct sdp_mline {
	char media[32];
	uint16_t port;
	unsigned port_count; /* 1 when absent */
	char proto[64];
	const char *fmts; /* points into the parsed value: "0 8 101", may be "" */
};
int sdp_mline_parse(const char *value, struct sdp_mline *m, char *err, size_t err_len);
/* Replace the port of media section idx, keep everything else of the line. */
int sdp_media_set_port(struct sdp *sdp, size_t idx, uint16_t port);

/* RFC 8866 §5.7: c=IN IP4|IP6 <address>[/ttl[/n]]. A hostname is refused
 * (-EINVAL: we never resolve names from signalling). */
int sdp_conn_parse(const char *value, struct netaddr *addr, char *err, size_t err_len);
/* "IN IP4 192.0.2.1" into buf; -ENOSPC. */
int sdp_conn_format(const struct netaddr *addr, char *buf, size_t len);

/* Default destination of the RTP component of media section idx (RFC 8839
 * §3.2.1.1 "default destination"): media-level c= else session c=, port of
 * the m= line. */
int sdp_media_default_addr(const struct sdp *sdp, size_t idx, struct netaddr *out);
/* Set the c= of media section idx (replacing or adding a media-level c=)
 * and the m= port. */
int sdp_media_set_default_addr(struct sdp *sdp, size_t idx, const struct netaddr *addr);

/* ---- ICE attributes (RFC 8839 §5) ------------------------------------------ */

/* A candidate whose address is an mDNS name ("<uuid>.local", RFC 8839
 * §5.1 as used by browsers): callers skip it, it is not malformed. */
#define SDP_ERR_MDNS (-EADDRNOTAVAIL)

/* Parse the value of a=candidate (with or without a leading "candidate:",
 * also "a=candidate:"). 0, -EINVAL (malformed), SDP_ERR_MDNS, or
 * -EPROTONOSUPPORT (a transport other than UDP/TCP, or an FQDN: legal SDP
 * that we do not use; callers skip it like an mDNS one). */
int sdp_candidate_parse(const char *value, size_t len, struct ice_candidate *c, char *err,
			size_t err_len);
/* The attribute value without "candidate:" into buf; returns length or
 * -ENOSPC / -EINVAL (unknown type, bad address). */
int sdp_candidate_format(const struct ice_candidate *c, char *buf, size_t len);

/* RFC 8839 §5.4: 0 when s[0..len) is min..256 ice-chars, else -EINVAL. */
int sdp_ice_chars_check(const char *s, size_t len, size_t min);

/* RFC 8839 §5.6: ice-options tokens we understand; others kept verbatim. */
#define SDP_ICE_OPT_TRICKLE (1u << 0) /* RFC 8840 */
#define SDP_ICE_OPT_ICE2    (1u << 1) /* RFC 8445 §10 */
unsigned sdp_ice_options_parse(const char *value);

/* RFC 3605: a=rtcp:<port> [IN IP4|IP6 <address>]; addr family 0 when absent. */
int sdp_rtcp_parse(const char *value, uint16_t *port, struct netaddr *addr);

/* RFC 8839 §5.2: a=remote-candidates:<component> <addr> <port> ... */
struct sdp_remote_cand {
	uint16_t component;
	struct netaddr addr;
};
/* Returns the count parsed (at most max) or -EINVAL. */
int sdp_remote_candidates_parse(const char *value, struct sdp_remote_cand *out, size_t max);

/* ---- ICE description of one media section ---------------------------------- */

#define SDP_ICE_MAX_CANDS   64
#define SDP_ICE_OPTIONS_MAX 256
#define SDP_MID_MAX	    64

struct sdp_ice_desc {
	char ufrag[SDP_ICE_CRED_MAX + 1];
	char pwd[SDP_ICE_CRED_MAX + 1];
	bool lite;			       /* a=ice-lite (session level only) */
	unsigned options;		       /* SDP_ICE_OPT_* */
	char options_raw[SDP_ICE_OPTIONS_MAX]; /* the a=ice-options value as sent */
	struct ice_candidate cands[SDP_ICE_MAX_CANDS];
	size_t n_cands;
	size_t n_mdns_skipped;	      /* .local candidates left out */
	size_t n_unsupported_skipped; /* FQDN or unknown transport, left out */
	size_t n_malformed_skipped;   /* malformed a=candidate lines, left out */
	/* RFC 8838 §8.2: a=end-of-candidates, or no a=ice-options:trickle (a
	 * non-trickle description is complete, RFC 8838 §5) */
	bool end_of_candidates;
	bool rtcp_mux;		      /* RFC 5761 */
	bool mismatch;		      /* a=ice-mismatch (RFC 8839 §5.7), never written */
	unsigned pacing_ms;	      /* a=ice-pacing (RFC 8839 §5.5), 0 when absent */
	struct netaddr default_rtp;   /* c=/m=, family 0 when c= is absent */
	struct netaddr default_rtcp;  /* a=rtcp, else RTP port + 1; family 0 with rtcp-mux */
	char mid[SDP_MID_MAX];	      /* "" when absent */
};

/* ICE data of media section idx, session-level ice-ufrag/pwd/options as
 * fallback (RFC 8839 §5.4: media level wins). A candidate line that is
 * malformed is skipped and counted (n_malformed_skipped; err names the
 * first one even though 0 is returned: warn); an mDNS one is counted and
 * skipped; more than SDP_ICE_MAX_CANDS is -E2BIG.
 * ufrag/pwd are optional here (a description may not use ICE); when one is
 * present its length is checked. */
int sdp_ice_extract(const struct sdp *sdp, size_t idx, struct sdp_ice_desc *d, char *err,
		    size_t err_len);

/* Replace the ICE attributes of media section idx with d: removes media-level
 * ice-ufrag, ice-pwd, ice-options, ice-pacing, ice-mismatch, candidate,
 * end-of-candidates, remote-candidates and appends d's (ice-pacing when
 * d->pacing_ms). Session-level ICE attributes are
 * removed too (they would otherwise apply to media sections d does not
 * describe), and a=ice-lite is set at session level from d->lite. The
 * default address (c=, m= port) is set from d->default_rtp when its family
 * is not 0. */
int sdp_ice_apply(struct sdp *sdp, size_t idx, const struct sdp_ice_desc *d);

/* Start a minimal description: v=0, o=, s=-, c=, t=0 0 for address origin. */
int sdp_build_session(struct sdp *sdp, const struct netaddr *origin, uint64_t sess_id);
/* Append a media section "m=<media> <port> <proto> <fmts>"; returns its index. */
int sdp_media_add(struct sdp *sdp, const char *media, uint16_t port, const char *proto,
		  const char *fmts);

#endif
