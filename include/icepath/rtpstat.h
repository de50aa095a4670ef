/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtpstat: the RTP fixed header (RFC 3550 §5.1) as a benchmark needs it, and
 * per-flow receive accounting (received, lost, duplicated, reordered) from
 * sequence numbers. It is what `icepath-bench recv` counts with, so the
 * benchmark's loss figures are only as honest as this file; the unit test
 * drives it through wrap-around, reordering, duplicates and late packets.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */
#ifndef ICEPATH_RTPSTAT_H
#define ICEPATH_RTPSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_LEN 12 /* bytes, RFC 3550 §5.1 fixed header without CSRCs */
#define RTP_VERSION 2  /* RFC 3550 §5.1 */

/*
 * Sequence numbers within this many behind the highest one seen are tracked
 * one by one (duplicate or late?); older ones only count as "too old".
 */
#define RTPSTAT_WINDOW 1024u

struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint8_t csrc_count;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
};

/*
 * Read the fixed header of buf[0..len). 0, or -EMSGSIZE (shorter than the
 * fixed header plus its CSRC list) or -EPROTO (version is not 2). The reason
 * goes to *why when why is not NULL.
 */
int rtpstat_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h, const char **why);
/* Write a 12-byte header (no padding, extension or CSRCs) into buf. */
void rtpstat_write(uint8_t *buf, const struct rtp_hdr *h);

enum rtpstat_verdict {
	RTPSTAT_NEW,	   /* first sight of this sequence number, in order */
	RTPSTAT_REORDERED, /* first sight, but behind the highest seen */
	RTPSTAT_DUPLICATE, /* seen before (within the window) */
	RTPSTAT_TOO_OLD,   /* behind by RTPSTAT_WINDOW or more: cannot tell */
};

const char *rtpstat_verdict_str(enum rtpstat_verdict v);

/* One flow's receive state (one SSRC). Zero-initialise with rtpstat_flow_init(). */
struct rtpstat_flow {
	uint32_t ssrc;
	bool started;
	int64_t base_ext;  /* lowest extended sequence number seen */
	int64_t max_ext;   /* highest extended sequence number seen */
	uint64_t received; /* every packet handed to rtpstat_flow_add() */
	uint64_t unique;   /* distinct sequence numbers within base..max */
	uint64_t duplicates;
	uint64_t reordered;
	uint64_t too_old;
	uint64_t seen[RTPSTAT_WINDOW / 64]; /* bit (ext % WINDOW) for ext in (max-WINDOW, max] */
};

void rtpstat_flow_init(struct rtpstat_flow *f, uint32_t ssrc);

/*
 * Account one packet with sequence number seq. The 16-bit number is
 * extended (RFC 3550 A.1) to the value nearest the highest seen, so a jump of
 * 32768 or more ahead reads as a late packet: at any benchmark rate that
 * would already be 32768 consecutive losses on one flow.
 */
enum rtpstat_verdict rtpstat_flow_add(struct rtpstat_flow *f, uint16_t seq);

/* Distinct sequence numbers the span base..max covers (0 before the first packet). */
uint64_t rtpstat_flow_expected(const struct rtpstat_flow *f);
/* expected minus unique, never below 0. */
uint64_t rtpstat_flow_lost(const struct rtpstat_flow *f);

#endif
