// SPDX-License-Identifier: GPL-2.0-only
/* TURN ChannelData codec (RFC 8656 §12.4), see include/icepath/channel_data.h. */
#include <string.h>

#include "icepath/channel_data.h"

static inline size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static bool channel_data_number_ok(uint16_t ch)
{
	return ch >= TURN_CHANNEL_MIN && ch <= TURN_CHANNEL_MAX;
}

int channel_data_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
		       uint16_t *data_len)
{
	uint16_t ch, dlen;
	size_t end;

	if (!buf || !channel || !data || !data_len)
		return -STUN_ERR_BAD_ARG;
	if (len < CHANNEL_DATA_HEADER_LEN)
		return -STUN_ERR_TRUNCATED;
	ch = (uint16_t)(buf[0] << 8 | buf[1]);
	dlen = (uint16_t)(buf[2] << 8 | buf[3]);
	/* RFC 8656 §12: 0x5000-0xFFFF are reserved; a first byte 0x50-0x7F
	 * is neither STUN nor ChannelData. */
	if (!channel_data_number_ok(ch))
		return -STUN_ERR_BAD_CHANNEL;
	/* RFC 8656 §12.5: a datagram shorter than the length field says is
	 * discarded. */
	if (len - CHANNEL_DATA_HEADER_LEN < dlen)
		return -STUN_ERR_TRUNCATED;
	end = CHANNEL_DATA_HEADER_LEN + pad4(dlen);
	*channel = ch;
	*data = buf + CHANNEL_DATA_HEADER_LEN;
	*data_len = dlen;
	return (int)(end < len ? end : len);
}

int channel_data_build(uint8_t *buf, size_t cap, uint16_t channel, const uint8_t *data,
		       size_t len, bool pad)
{
	size_t total;

	if (!buf || (!data && len))
		return -STUN_ERR_BAD_ARG;
	if (!channel_data_number_ok(channel))
		return -STUN_ERR_BAD_CHANNEL;
	if (len > UINT16_MAX)
		return -STUN_ERR_BAD_ARG;
	total = CHANNEL_DATA_HEADER_LEN + (pad ? pad4(len) : len);
	if (cap < total)
		return -STUN_ERR_NO_SPACE;
	if (len)
		memmove(buf + CHANNEL_DATA_HEADER_LEN, data, len);
	buf[0] = channel >> 8;
	buf[1] = channel & 0xff;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = len & 0xff;
	memset(buf + CHANNEL_DATA_HEADER_LEN + len, 0, total - CHANNEL_DATA_HEADER_LEN - len);
	return (int)total;
}

int channel_data_frame_len(const uint8_t *buf, size_t len)
{
	if (!buf || len < CHANNEL_DATA_HEADER_LEN)
		return -STUN_ERR_TRUNCATED;
	return (int)(CHANNEL_DATA_HEADER_LEN + pad4((size_t)(buf[2] << 8 | buf[3])));
}
