/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RFC 7983 (updated by RFC 9443) first-byte demultiplexing, and RTP vs RTCP
 * by payload type (RFC 5761 §4). One definition, compiled into both the
 * userspace datapath and the XDP program: this header uses only <linux/types.h>
 * and no libc, so clang -target bpf takes it as it is.
 *
 *                  +----------------+
 *                  |        [0..3] -+--> forward to STUN
 *                  |                |
 *                  |      [16..19] -+--> forward to ZRTP
 *                  |                |
 *      packet -->  |      [20..63] -+--> forward to DTLS
 *                  |                |
 *                  |      [64..79] -+--> forward to TURN Channel
 *                  |                |
 *                  |    [128..191] -+--> forward to RTP/RTCP
 *                  +----------------+
 */
#ifndef ICEPATH_DEMUX_H
#define ICEPATH_DEMUX_H

#include <linux/types.h>

enum demux_class {
	DEMUX_UNKNOWN = 0,
	DEMUX_STUN,
	DEMUX_ZRTP,
	DEMUX_DTLS,
	DEMUX_CHANNEL_DATA,
	DEMUX_RTP,
	DEMUX_RTCP,
};

/* RFC 5761 §4: RTCP packet types 192..223 would collide with RTP payload
 * types 64..95 with the marker bit set; those are RTCP. */
#define DEMUX_RTCP_PT_MIN 192
#define DEMUX_RTCP_PT_MAX 223
/* RTP fixed header (RFC 3550 §5.1) and RTCP common header are this long. */
#define DEMUX_RTP_MIN_LEN 12
#define DEMUX_RTCP_MIN_LEN 8

/*
 * The RFC 7983 class of a first byte alone (RTP and RTCP both as DEMUX_RTP,
 * no length check): for a receiver that only routes by range, such as the
 * ICE agent and the TURN client. demux_classify() builds on it.
 */
static inline __attribute__((always_inline)) enum demux_class demux_first_byte(__u8 b0)
{
	if (b0 <= 3)
		return DEMUX_STUN;
	if (b0 >= 16 && b0 <= 19)
		return DEMUX_ZRTP;
	if (b0 >= 20 && b0 <= 63)
		return DEMUX_DTLS;
	if (b0 >= 64 && b0 <= 79)
		return DEMUX_CHANNEL_DATA;
	if (b0 >= 128 && b0 <= 191)
		return DEMUX_RTP;
	return DEMUX_UNKNOWN;
}

/*
 * Classify a UDP payload by its first byte (and for RTP/RTCP its second).
 * b0, b1: the first two payload bytes; len: the payload length. A payload too
 * short for its class is DEMUX_UNKNOWN (goes to the stack, never forwarded).
 */
static inline __attribute__((always_inline)) enum demux_class
demux_classify(__u8 b0, __u8 b1, __u32 len)
{
	if (len == 0)
		return DEMUX_UNKNOWN;
	switch (demux_first_byte(b0)) {
	case DEMUX_STUN:
		return len >= 20 ? DEMUX_STUN : DEMUX_UNKNOWN;
	case DEMUX_ZRTP:
		return DEMUX_ZRTP;
	case DEMUX_DTLS:
		return DEMUX_DTLS;
	case DEMUX_CHANNEL_DATA:
		return len >= 4 ? DEMUX_CHANNEL_DATA : DEMUX_UNKNOWN;
	case DEMUX_RTP:
		if (len < 2)
			return DEMUX_UNKNOWN;
		if (b1 >= DEMUX_RTCP_PT_MIN && b1 <= DEMUX_RTCP_PT_MAX)
			return len >= DEMUX_RTCP_MIN_LEN ? DEMUX_RTCP : DEMUX_UNKNOWN;
		return len >= DEMUX_RTP_MIN_LEN ? DEMUX_RTP : DEMUX_UNKNOWN;
	default:
		return DEMUX_UNKNOWN;
	}
}

#endif
