/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay_bundle: BUNDLE (RFC 8843) toward one leg, separate streams toward
 * the other (issue 12: a browser bundles audio and video on one 5-tuple, a
 * SIP trunk takes one port pair per m= line).
 *
 * What arrives on the bundle transport is told apart by SSRC (RFC 8843
 * §9.2): SSRCs come from the leg's SDP (a=ssrc, a=ssrc-group), are latched
 * from the MID RTP header extension (urn:ietf:params:rtp-hdrext:sdes:mid,
 * RFC 8843 §15) when the SDP negotiates it, or from a payload type that
 * only one bundled m= line carries; SSRCs the relay sends toward the leg on
 * a stream's behalf are noted too, so that RTCP reports about them (report
 * blocks, feedback's media source) find their stream. RTCP goes by its
 * sender SSRC first, then by the SSRCs it reports on. A packet that matches
 * no stream, or two streams at once, is never forwarded: the caller drops
 * and counts it.
 *
 * Pure functions over the leg's table and the packet's bytes (no sockets,
 * no clock): relay_media.c calls relay_bundle_demux() on the bundled leg's
 * plaintext, relay_bundle_note() for what it sends toward it.
 */
#ifndef ICEPATH_RELAY_BUNDLE_H
#define ICEPATH_RELAY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_BUNDLE_STREAMS  8	 /* == CALL_MAX_STREAMS (relay_bundle.c checks) */
#define RELAY_BUNDLE_SSRCS    32 /* SSRCs kept per leg; the oldest latched goes first */
#define RELAY_BUNDLE_MID_MAX  32 /* bytes of a mid, NUL included (RFC 8843: 1..16 is usual) */
#define RELAY_BUNDLE_NONE     0xff /* payload type of no bundled m= line */
#define RELAY_BUNDLE_AMBIG    0xfe /* payload type of two or more: no help */
/* RFC 8843 §15.1 */
#define RELAY_BUNDLE_MID_URI "urn:ietf:params:rtp-hdrext:sdes:mid"

struct sdp;

struct relay_bundle {
	bool on;	/* the leg's streams share the transport of stream `tagged` */
	uint8_t tagged; /* the stream whose transport it is (the group's first mid) */
	uint8_t mid_id; /* the MID header extension's id (RFC 8285), 0: not negotiated */
	uint8_t member[RELAY_BUNDLE_STREAMS]; /* 1: in the group */
	char mid[RELAY_BUNDLE_STREAMS][RELAY_BUNDLE_MID_MAX];
	uint8_t pt[128]; /* payload type -> stream, RELAY_BUNDLE_NONE / _AMBIG */
	unsigned nssrc, next; /* next: the slot a new SSRC takes when full */
	struct {
		uint32_t ssrc;
		uint8_t stream;
		bool from_sdp; /* a=ssrc: kept when the table is full */
	} ssrc[RELAY_BUNDLE_SSRCS];
	bool mid_tx;	/* the relay answered the MID extension toward the leg: it
			 * puts it on what it sends there (relay_bundle_tx_mid) */
	uint64_t undemuxed; /* dropped: no stream or an ambiguous one */
	uint64_t latched;   /* SSRCs learned from packets (MID or payload type) */
};

/* No BUNDLE: every stream its own transport. */
void relay_bundle_reset(struct relay_bundle *b);
/*
 * Read the leg's BUNDLE state from an SDP that leg accepted (its own offer
 * the relay answers with the group, or its answer): the session's first
 * a=group:BUNDLE, each member's a=mid, a=ssrc / a=ssrc-group SSRCs, the
 * MID extension's a=extmap id and its payload types. A section past
 * nstreams or RELAY_BUNDLE_STREAMS is no member. 0 (b->on says whether the
 * leg bundles), -EINVAL for a group naming a mid no section has.
 */
int relay_bundle_from_sdp(struct relay_bundle *b, const struct sdp *sdp, unsigned nstreams);
/*
 * The stream an (S)RTP/RTCP packet arriving on the bundle transport
 * belongs to (pkt is plaintext; SRTP's SSRC and header extensions are in
 * the clear anyway). An RTP packet with an unknown SSRC and a MID (or a
 * payload type only one member has) latches its SSRC. -EINVAL malformed,
 * -ENOENT no stream or more than one.
 */
int relay_bundle_demux(struct relay_bundle *b, const uint8_t *pkt, size_t len);
/* The relay sends pkt (RTP or RTCP) toward the bundled leg on behalf of
 * stream: its SSRC is that stream's from now on. */
void relay_bundle_note(struct relay_bundle *b, const uint8_t *pkt, size_t len, unsigned stream);
/*
 * The MID header extension of an RTP packet (RFC 8285 one-byte or
 * two-byte form, element id) into out (NUL-terminated): its length, 0 when
 * the packet carries none, -EINVAL when the header or its extension block
 * is malformed (truncated, lengths past the packet), -ENOSPC past cap.
 */
int relay_bundle_rtp_mid(const uint8_t *pkt, size_t len, uint8_t id, char *out, size_t cap);

/* ---- the datapath's hooks (relay_media.c) ---- */
struct call_leg;
struct call_stream;
/* Leg l received pkt (plaintext) on its stream s: the stream it belongs to
 * (s itself when l does not bundle), or NULL when it cannot be told
 * (counted in l->bundle.undemuxed; the caller drops it). */
struct call_stream *relay_bundle_rx(struct call_leg *l, struct call_stream *s, const uint8_t *pkt,
				    size_t len);
/* The answer toward a bundling leg l: its group (tagged mid first), in
 * place of whatever a=group:BUNDLE sdp had. 0 or -errno. */
int relay_bundle_write_group(const struct call_leg *l, struct sdp *sdp);
/*
 * The answer toward a bundling leg l: the MID header extension the leg
 * offered (l->bundle.mid_id), answered in each member section that does not
 * already carry an a=extmap of that id. The relay terminates the leg's
 * BUNDLE, so it answers the extension it demuxes by, whatever the other
 * leg answered (a SIP trunk knows none): without it the browser sends no
 * MID (RFC 8285: a sender uses only what an a=extmap negotiated) and an SSRC no
 * a=ssrc line names could not be told apart. 0 or -errno.
 */
int relay_bundle_write_mid_extmap(struct call_leg *l, struct sdp *sdp);
/*
 * pkt (RTP, plaintext) with the MID header extension (RFC 8285 one-byte
 * form, element id, the 1..16 bytes of mid) added, into out (cap bytes;
 * out may be pkt itself): a packet without extensions gets a block of its
 * own, one with a one-byte block gets the element appended. Its new length,
 * 0 when it stays as it is (not RTP, already carries id, another profile,
 * an id or mid the one-byte form cannot carry, no room in cap), -EINVAL
 * when malformed.
 */
int relay_bundle_add_mid(const uint8_t *pkt, size_t len, uint8_t id, const char *mid,
			 uint8_t *out, size_t cap);
/*
 * RFC 8843 §9.2: RTP the relay sends toward a bundling leg o on behalf of
 * its stream d carries d's MID when the relay answered the extension
 * (o->bundle.mid_tx): a browser that negotiated it demuxes an SSRC no
 * a=ssrc line named by MID only, and drops it otherwise (Chromium does).
 * The packet rewritten into out: its length, or 0 when it goes as it is.
 */
int relay_bundle_tx_mid(const struct call_leg *o, const struct call_stream *d, const uint8_t *pkt,
			size_t len, uint8_t *out, size_t cap);
/* pkt (plaintext) goes toward leg o's stream d: the stream whose transport
 * carries it (o's tagged stream when o bundles d, else d), and pkt's SSRC
 * is noted as d's. */
struct call_stream *relay_bundle_tx(struct call_leg *o, struct call_stream *d, const uint8_t *pkt,
				    size_t len);

#endif
