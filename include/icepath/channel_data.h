/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TURN ChannelData messages (RFC 8656 §12.4):
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |         Channel Number        |            Length             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                                                               |
 *     /                       Application Data                        /
 *     /                                                               /
 *     |                                                               |
 *     |                               +-------------------------------+
 *     |                               |
 *     +-------------------------------+
 *
 * Length counts the application data only, not the padding to 4 bytes,
 * which is mandatory over TCP/TLS and optional over UDP (RFC 8656 §12.5).
 *
 * The constants need only <linux/types.h>, so BPF programs (clang -target
 * bpf) can include this header; the codec functions are userspace only.
 */
#ifndef ICEPATH_CHANNEL_DATA_H
#define ICEPATH_CHANNEL_DATA_H

#include <linux/types.h>

#define CHANNEL_DATA_HEADER_LEN 4      /* bytes, RFC 8656 §12.4 */
#define TURN_CHANNEL_MIN	0x4000 /* RFC 8656 §12: channel numbers 0x4000-0x4FFF */
#define TURN_CHANNEL_MAX	0x4FFF

#ifndef __bpf__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/stun.h" /* STUN_ERR_x, stun_strerror() */

/*
 * Parse one ChannelData message at the start of buf. On success returns the
 * bytes consumed: header, data and as much of the padding as buf holds (over
 * UDP the padding may be absent; a stream reader needs 4 + pad4(data_len)
 * bytes before calling, see channel_data_frame_len()). Bytes after that are
 * not looked at. Errors: -STUN_ERR_TRUNCATED (shorter than the header or the
 * length field), -STUN_ERR_BAD_CHANNEL (number outside 0x4000-0x4FFF),
 * -STUN_ERR_BAD_ARG. *data points into buf.
 */
int channel_data_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
		       uint16_t *data_len);

/*
 * Write a ChannelData message: header, data (may already sit at buf + 4: the
 * copy is a memmove) and, if pad, zero padding to 4 bytes (always over TCP,
 * RFC 8656 §12.5). Returns the length written or -STUN_ERR_BAD_CHANNEL,
 * -STUN_ERR_BAD_ARG (len > 65535), -STUN_ERR_NO_SPACE.
 */
int channel_data_build(uint8_t *buf, size_t cap, uint16_t channel, const uint8_t *data,
		       size_t len, bool pad);

/* Length of the whole message on a stream (with padding) given its first
 * 4 bytes; -STUN_ERR_TRUNCATED if fewer are given. */
int channel_data_frame_len(const uint8_t *buf, size_t len);
#endif

#endif
