// SPDX-License-Identifier: GPL-2.0-only
/* relay_bundle: BUNDLE demux by SSRC/MID (see relay_bundle.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "icepath/compiler.h"
#include "icepath/demux.h"
#include "icepath/sdp.h"
#include "relay_bundle.h"
#include "sdp_rewrite.h"

_Static_assert(RELAY_BUNDLE_STREAMS == CALL_MAX_STREAMS, "a bundle member per call stream");

#define RTP_HDR_LEN	12 /* RFC 3550 §5.1 */
#define RTCP_SR		200 /* RFC 3550 §6.4.1 */
#define RTCP_RR		201 /* RFC 3550 §6.4.2 */
#define RTCP_RTPFB	205 /* RFC 4585 §6.1 */
#define RTCP_PSFB	206
#define RTCP_SR_BLOCKS	28 /* header 8 + sender info 20: the first report block */
#define RTCP_RR_BLOCKS	8
#define RTCP_BLOCK_LEN	24 /* RFC 3550 §6.4.1: one report block */
#define EXT_ONE_BYTE	0xBEDE /* RFC 8285 §4.2 */
#define EXT_TWO_BYTE	0x1000 /* RFC 8285 §4.3: 0x100 and 4 bits of appbits */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void relay_bundle_reset(struct relay_bundle *b)
{
	memset(b, 0, sizeof(*b));
	memset(b->pt, RELAY_BUNDLE_NONE, sizeof(b->pt));
}

static int ssrc_find(const struct relay_bundle *b, uint32_t ssrc)
{
	for (unsigned i = 0; i < b->nssrc; i++)
		if (b->ssrc[i].ssrc == ssrc)
			return (int)i;
	return -1;
}

/* ssrc is stream's from now on; a full table gives up its oldest latched
 * entry (an SDP's a=ssrc stays). */
static void ssrc_set(struct relay_bundle *b, uint32_t ssrc, unsigned stream, bool from_sdp)
{
	int i = ssrc_find(b, ssrc);

	if (i < 0) {
		if (b->nssrc < RELAY_BUNDLE_SSRCS) {
			i = (int)b->nssrc++;
		} else {
			unsigned k;

			for (k = 0; k < RELAY_BUNDLE_SSRCS; k++) {
				unsigned j = (b->next + k) % RELAY_BUNDLE_SSRCS;

				if (!b->ssrc[j].from_sdp) {
					i = (int)j;
					break;
				}
			}
			if (i < 0)
				return; /* all from the SDP: nothing to give up */
			b->next = ((unsigned)i + 1) % RELAY_BUNDLE_SSRCS;
		}
		b->ssrc[i].ssrc = ssrc;
		b->ssrc[i].from_sdp = from_sdp;
	}
	b->ssrc[i].stream = (uint8_t)stream;
	b->ssrc[i].from_sdp |= from_sdp;
}

/* "1234 cname:x" / "FID 1234 5678": the decimal SSRCs of an attribute. */
static void sdp_ssrcs(struct relay_bundle *b, const char *v, bool group, unsigned stream)
{
	char *end;

	if (group) { /* the semantics token first */
		v = strchr(v, ' ');
		if (!v)
			return;
	}
	for (;;) {
		unsigned long x;

		while (*v == ' ')
			v++;
		if (*v < '0' || *v > '9')
			return;
		x = strtoul(v, &end, 10);
		if (x > UINT32_MAX || (*end && *end != ' '))
			return;
		ssrc_set(b, (uint32_t)x, stream, true);
		if (!group)
			return; /* a=ssrc: one SSRC, then its attribute */
		v = end;
	}
}

/* a=extmap:<id>[/<direction>] <uri> ...: the id of the MID extension or 0. */
static uint8_t mid_extmap(const struct sdp_section *sec)
{
	int i = -1;

	while ((i = sdp_attr_find(sec, "extmap", (size_t)(i + 1))) >= 0) {
		const char *v = sdp_attr_value(&sec->lines[i]), *uri;
		char *end;
		unsigned long id = strtoul(v, &end, 10);

		if (end == v || (*end != ' ' && *end != '/'))
			continue;
		uri = strchr(end, ' ');
		if (!uri)
			continue;
		while (*uri == ' ')
			uri++;
		/* RFC 8285 §5: ids 1-14 one-byte, 1-255 two-byte form */
		if (id >= 1 && id <= 255 && !strncmp(uri, RELAY_BUNDLE_MID_URI,
						     strlen(RELAY_BUNDLE_MID_URI)) &&
		    (uri[strlen(RELAY_BUNDLE_MID_URI)] == '\0' ||
		     uri[strlen(RELAY_BUNDLE_MID_URI)] == ' '))
			return (uint8_t)id;
	}
	return 0;
}

static void member_pts(struct relay_bundle *b, const struct sdp_section *sec, unsigned stream)
{
	struct sdp_mline m;
	const char *p;
	char *end;

	if (!sec->n || sdp_mline_parse(sec->lines[0].value, &m, NULL, 0))
		return;
	for (p = m.fmts; *p;) {
		unsigned long pt;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		pt = strtoul(p, &end, 10);
		if (end == p)
			break;
		p = end;
		if (pt > 127)
			continue;
		if (b->pt[pt] == RELAY_BUNDLE_NONE)
			b->pt[pt] = (uint8_t)stream;
		else if (b->pt[pt] != stream)
			b->pt[pt] = RELAY_BUNDLE_AMBIG;
	}
}

int relay_bundle_from_sdp(struct relay_bundle *b, const struct sdp *sdp, unsigned nstreams)
{
	const struct sdp_section *ses = sdp_section_const(sdp, -1);
	const char *mids[RELAY_BUNDLE_STREAMS + 1];
	char buf[SDP_MAX_LINE_LEN];
	int n;

	relay_bundle_reset(b);
	n = sdp_bundle_mids(sdp, buf, sizeof(buf), mids, ARRAY_SIZE(mids));
	if (n == -ENOENT || n == 0)
		return 0;
	if (n < 0)
		return n;
	if (nstreams > RELAY_BUNDLE_STREAMS)
		nstreams = RELAY_BUNDLE_STREAMS;
	b->mid_id = mid_extmap(ses);
	for (int k = 0; k < n; k++) {
		int m = sdp_media_by_mid(sdp, mids[k]);
		const struct sdp_section *sec;
		int i = -1;

		if (m < 0) {
			relay_bundle_reset(b);
			return -EINVAL;
		}
		if ((unsigned)m >= nstreams)
			continue;
		sec = sdp_section_const(sdp, m);
		if (!b->on) {
			b->on = true;
			b->tagged = (uint8_t)m;
		}
		b->member[m] = 1;
		snprintf(b->mid[m], sizeof(b->mid[m]), "%s",
			 strlen(mids[k]) < sizeof(b->mid[m]) ? mids[k] : "");
		if (!b->mid_id)
			b->mid_id = mid_extmap(sec);
		while ((i = sdp_attr_find(sec, "ssrc", (size_t)(i + 1))) >= 0)
			sdp_ssrcs(b, sdp_attr_value(&sec->lines[i]), false, (unsigned)m);
		i = -1;
		while ((i = sdp_attr_find(sec, "ssrc-group", (size_t)(i + 1))) >= 0)
			sdp_ssrcs(b, sdp_attr_value(&sec->lines[i]), true, (unsigned)m);
		member_pts(b, sec, (unsigned)m);
	}
	/* a group of one bundles nothing that needs telling apart */
	if (b->on) {
		unsigned members = 0;

		for (unsigned i = 0; i < RELAY_BUNDLE_STREAMS; i++)
			members += b->member[i];
		if (members < 2)
			relay_bundle_reset(b);
	}
	return 0;
}

/* ---- packets ------------------------------------------------------------------ */

int relay_bundle_rtp_mid(const uint8_t *pkt, size_t len, uint8_t id, char *out, size_t cap)
{
	size_t off, end;
	uint16_t profile;

	if (cap)
		out[0] = '\0';
	if (len < RTP_HDR_LEN || (pkt[0] & 0xc0) != 0x80)
		return -EINVAL; /* RFC 3550 §5.1: version 2 */
	off = RTP_HDR_LEN + 4u * (pkt[0] & 0x0f); /* CSRCs */
	if (off > len)
		return -EINVAL;
	if (!(pkt[0] & 0x10))
		return 0; /* no extension */
	if (off + 4 > len)
		return -EINVAL;
	profile = be16(pkt + off);
	end = off + 4 + 4u * be16(pkt + off + 2);
	if (end > len)
		return -EINVAL;
	off += 4;
	if (!id)
		return 0;
	while (off < end) {
		unsigned eid, elen;

		if (profile == EXT_ONE_BYTE) {
			eid = pkt[off] >> 4;
			elen = (pkt[off] & 0x0f) + 1u;
			if (eid == 0) { /* RFC 8285 §4.2: a padding byte */
				off++;
				continue;
			}
			if (eid == 15)
				return 0; /* reserved: stop reading the block */
			off++;
		} else if ((profile & 0xfff0) == EXT_TWO_BYTE) {
			eid = pkt[off];
			if (eid == 0) { /* RFC 8285 §4.3: padding */
				off++;
				continue;
			}
			if (off + 2 > end)
				return -EINVAL;
			elen = pkt[off + 1];
			off += 2;
		} else {
			return 0; /* a profile of someone else's */
		}
		if (off + elen > end)
			return -EINVAL;
		if (eid == id) {
			if (elen + 1 > cap)
				return -ENOSPC;
			memcpy(out, pkt + off, elen);
			out[elen] = '\0';
			return (int)elen;
		}
		off += elen;
	}
	return 0;
}

static int mid_stream(const struct relay_bundle *b, const char *mid)
{
	for (unsigned i = 0; i < RELAY_BUNDLE_STREAMS; i++)
		if (b->member[i] && b->mid[i][0] && !strcmp(b->mid[i], mid))
			return (int)i;
	return -ENOENT;
}

static int rtp_demux(struct relay_bundle *b, const uint8_t *pkt, size_t len)
{
	char mid[RELAY_BUNDLE_MID_MAX];
	uint32_t ssrc = be32(pkt + 8);
	int n = relay_bundle_rtp_mid(pkt, len, b->mid_id, mid, sizeof(mid));
	int i = ssrc_find(b, ssrc), k;
	unsigned pt = pkt[1] & 0x7f;

	if (n == -EINVAL)
		return -EINVAL;
	if (n > 0) {
		/* RFC 8843 §9.2: a MID names the m= line, and moves an SSRC */
		k = mid_stream(b, mid);
		if (k < 0)
			return -ENOENT;
		if (i < 0 || b->ssrc[i].stream != k) {
			ssrc_set(b, ssrc, (unsigned)k, false);
			b->latched++;
		}
		return k;
	}
	if (i >= 0)
		return b->ssrc[i].stream;
	/* no MID, unknown SSRC: a payload type of one m= line only */
	if (b->pt[pt] >= RELAY_BUNDLE_STREAMS || !b->member[b->pt[pt]])
		return -ENOENT;
	ssrc_set(b, ssrc, b->pt[pt], false);
	b->latched++;
	return b->pt[pt];
}

/* The stream of ssrc, folded into *found: -ENOENT while none, -EEXIST
 * once two differ. */
static void rtcp_vote(const struct relay_bundle *b, uint32_t ssrc, int *found)
{
	int i = ssrc_find(b, ssrc);

	if (i < 0 || *found == -EEXIST)
		return;
	if (*found == -ENOENT)
		*found = b->ssrc[i].stream;
	else if (*found != b->ssrc[i].stream)
		*found = -EEXIST;
}

/*
 * A compound RTCP packet (RFC 3550 §6.1): each packet's sender SSRC first
 * (SR, RR, SDES's first chunk, BYE, APP, RTPFB/PSFB, XR all carry it at
 * byte 4); if none is known, the SSRCs it reports on (SR/RR report blocks,
 * the feedback's media source).
 */
static int rtcp_demux(const struct relay_bundle *b, const uint8_t *pkt, size_t len)
{
	int by_sender = -ENOENT, by_report = -ENOENT;
	size_t off = 0;

	while (off < len) {
		const uint8_t *p = pkt + off;
		size_t plen, blocks = 0;
		unsigned count, pt;

		if (len - off < 4 || (p[0] & 0xc0) != 0x80)
			return -EINVAL;
		plen = 4u * ((size_t)be16(p + 2) + 1);
		if (plen > len - off)
			return -EINVAL;
		count = p[0] & 0x1f;
		pt = p[1];
		if (plen >= 8)
			rtcp_vote(b, be32(p + 4), &by_sender);
		if (pt == RTCP_SR)
			blocks = RTCP_SR_BLOCKS;
		else if (pt == RTCP_RR)
			blocks = RTCP_RR_BLOCKS;
		for (unsigned k = 0; blocks && k < count; k++) {
			size_t at = blocks + (size_t)k * RTCP_BLOCK_LEN;

			if (at + RTCP_BLOCK_LEN > plen)
				return -EINVAL;
			rtcp_vote(b, be32(p + at), &by_report);
		}
		if ((pt == RTCP_RTPFB || pt == RTCP_PSFB) && plen >= 12)
			rtcp_vote(b, be32(p + 8), &by_report);
		off += plen;
	}
	if (by_sender >= 0)
		return by_sender;
	if (by_sender == -EEXIST)
		return -ENOENT;
	return by_report >= 0 ? by_report : -ENOENT;
}

int relay_bundle_demux(struct relay_bundle *b, const uint8_t *pkt, size_t len)
{
	switch (demux_classify(len ? pkt[0] : 0, len > 1 ? pkt[1] : 0, (__u32)len)) {
	case DEMUX_RTP:
		return rtp_demux(b, pkt, len);
	case DEMUX_RTCP:
		return rtcp_demux(b, pkt, len);
	default:
		return -EINVAL;
	}
}

void relay_bundle_note(struct relay_bundle *b, const uint8_t *pkt, size_t len, unsigned stream)
{
	enum demux_class cls;
	int i;

	if (!b->on || stream >= RELAY_BUNDLE_STREAMS)
		return;
	cls = demux_classify(len ? pkt[0] : 0, len > 1 ? pkt[1] : 0, (__u32)len);
	if (cls != DEMUX_RTP && cls != DEMUX_RTCP)
		return;
	/* RTP's SSRC at 8, RTCP's sender at 4 (both checked long enough) */
	i = ssrc_find(b, be32(pkt + (cls == DEMUX_RTP ? 8 : 4)));
	if (i >= 0 && b->ssrc[i].stream == stream)
		return;
	ssrc_set(b, be32(pkt + (cls == DEMUX_RTP ? 8 : 4)), stream, false);
}

/* ---- the datapath's hooks ----------------------------------------------------- */

struct call_stream *relay_bundle_rx(struct call_leg *l, struct call_stream *s, const uint8_t *pkt,
				    size_t len)
{
	int k;

	if (!l->bundle.on)
		return s;
	k = relay_bundle_demux(&l->bundle, pkt, len);
	if (k < 0 || (unsigned)k >= l->nstreams || !l->streams[k].active) {
		l->bundle.undemuxed++;
		return NULL;
	}
	return &l->streams[k];
}

struct call_stream *relay_bundle_tx(struct call_leg *o, struct call_stream *d, const uint8_t *pkt,
				    size_t len)
{
	struct relay_bundle *b = &o->bundle;

	if (!b->on || d->index >= RELAY_BUNDLE_STREAMS || !b->member[d->index] ||
	    b->tagged >= o->nstreams)
		return d;
	relay_bundle_note(b, pkt, len, d->index);
	return &o->streams[b->tagged];
}

int relay_bundle_write_group(const struct call_leg *l, struct sdp *sdp)
{
	const struct relay_bundle *b = &l->bundle;
	char v[16 + RELAY_BUNDLE_STREAMS * RELAY_BUNDLE_MID_MAX];
	size_t n;

	sdp_rewrite_strip_bundle(sdp);
	n = (size_t)snprintf(v, sizeof(v), "BUNDLE %s", b->mid[b->tagged]);
	for (unsigned i = 0; i < RELAY_BUNDLE_STREAMS; i++)
		if (i != b->tagged && b->member[i] && b->mid[i][0])
			n += (size_t)snprintf(v + n, sizeof(v) - n, " %s", b->mid[i]);
	return sdp_attr_append(sdp_section(sdp, -1), "group", v);
}

/* An a=extmap of id in sec (whatever its extension). */
static bool extmap_has_id(const struct sdp_section *sec, unsigned id)
{
	int i = -1;

	while ((i = sdp_attr_find(sec, "extmap", (size_t)(i + 1))) >= 0) {
		const char *v = sdp_attr_value(&sec->lines[i]);
		char *end;

		if (strtoul(v, &end, 10) == id && end != v)
			return true;
	}
	return false;
}

int relay_bundle_write_mid_extmap(struct call_leg *l, struct sdp *sdp)
{
	struct relay_bundle *b = &l->bundle;
	char v[8 + sizeof(RELAY_BUNDLE_MID_URI)];

	b->mid_tx = false;
	if (!b->on || !b->mid_id || extmap_has_id(sdp_section_const(sdp, -1), b->mid_id))
		return 0;
	snprintf(v, sizeof(v), "%u %s", b->mid_id, RELAY_BUNDLE_MID_URI);
	for (unsigned i = 0; i < RELAY_BUNDLE_STREAMS && i < sdp->n_media; i++) {
		struct sdp_section *sec = sdp_section(sdp, (int)i);
		int err;

		/* the MID answered already, or its id is another extension's
		 * there: that section's answer stays as it is */
		if (!b->member[i] || extmap_has_id(sec, b->mid_id))
			continue;
		err = sdp_attr_append(sec, "extmap", v);
		if (err)
			return err;
		b->mid_tx = true;
	}
	return 0;
}

int relay_bundle_add_mid(const uint8_t *pkt, size_t len, uint8_t id, const char *mid,
			 uint8_t *out, size_t cap)
{
	size_t mlen = strlen(mid), at, tail, grow, words;
	char have[RELAY_BUNDLE_MID_MAX];
	bool block;
	int n;

	/* RFC 8285 §4.2: one-byte elements carry ids 1-14, 1-16 bytes */
	if (id < 1 || id > 14 || mlen < 1 || mlen > 16)
		return 0;
	if (demux_classify(len ? pkt[0] : 0, len > 1 ? pkt[1] : 0, (__u32)len) != DEMUX_RTP)
		return 0;
	n = relay_bundle_rtp_mid(pkt, len, id, have, sizeof(have));
	if (n < 0 && n != -ENOSPC)
		return -EINVAL;
	if (n != 0)
		return 0; /* the sender's own MID (or an element of that id) */
	at = RTP_HDR_LEN + 4u * (pkt[0] & 0x0f); /* CSRCs; checked by rtp_mid */
	block = pkt[0] & 0x10;
	if (block && be16(pkt + at) != EXT_ONE_BYTE)
		return 0; /* two-byte form or someone else's profile: left alone */
	if (block) { /* rtp_mid checked the elements' lengths up to an id 15 */
		for (size_t o = at + 4, e = o + 4u * be16(pkt + at + 2); o < e;) {
			if (!(pkt[o] >> 4)) { /* id 0: a padding byte, as rtp_mid reads it */
				o++;
				continue;
			}
			if (pkt[o] >> 4 == 15)
				return 0; /* RFC 8285 §4.2: stops the block, so would our MID */
			o += 2u + (pkt[o] & 0x0f);
		}
	}
	words = (1 + mlen + 3) / 4;
	grow = 4 * words + (block ? 0 : 4);
	if (len + grow > cap)
		return 0;
	if (out != pkt)
		memcpy(out, pkt, len);
	if (block) {
		size_t blen = be16(out + at + 2);

		/* the element goes after the block's own (padding between
		 * elements is allowed, RFC 8285 §4.2); the block grows */
		if (blen + words > 0xffff)
			return 0;
		out[at + 2] = (uint8_t)((blen + words) >> 8);
		out[at + 3] = (uint8_t)(blen + words);
		at += 4 + 4 * blen;
	}
	tail = len - at;
	memmove(out + at + grow, out + at, tail);
	if (!block) {
		out[0] |= 0x10;
		out[at++] = EXT_ONE_BYTE >> 8;
		out[at++] = EXT_ONE_BYTE & 0xff;
		out[at++] = (uint8_t)(words >> 8);
		out[at++] = (uint8_t)words;
	}
	out[at] = (uint8_t)(id << 4 | (mlen - 1));
	memcpy(out + at + 1, mid, mlen);
	memset(out + at + 1 + mlen, 0, 4 * words - 1 - mlen); /* padding, §4.2 */
	return (int)(len + grow);
}

int relay_bundle_tx_mid(const struct call_leg *o, const struct call_stream *d, const uint8_t *pkt,
			size_t len, uint8_t *out, size_t cap)
{
	const struct relay_bundle *b = &o->bundle;
	int n;

	if (!b->on || !b->mid_tx || d->index >= RELAY_BUNDLE_STREAMS || !b->member[d->index])
		return 0;
	n = relay_bundle_add_mid(pkt, len, b->mid_id, b->mid[d->index], out, cap);
	return n > 0 ? n : 0;
}
