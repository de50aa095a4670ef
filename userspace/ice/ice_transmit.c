// SPDX-License-Identifier: GPL-2.0-only
/* struct ice_transmit: head + payload + padding, without copying media. */
#include <errno.h>
#include <string.h>

#include "icepath/ice_transmit.h"

static const uint8_t ice_zero_pad[4];

int ice_transmit_iov(const struct ice_transmit *tx, struct iovec iov[3])
{
	int n = 0;

	iov[n].iov_base = (void *)tx->head;
	iov[n++].iov_len = tx->head_len;
	if (tx->payload_len) {
		iov[n].iov_base = (void *)tx->payload;
		iov[n++].iov_len = tx->payload_len;
	}
	if (tx->pad_len) {
		iov[n].iov_base = (void *)ice_zero_pad;
		iov[n++].iov_len = tx->pad_len < 4 ? tx->pad_len : 3;
	}
	return n;
}

size_t ice_transmit_len(const struct ice_transmit *tx)
{
	return tx->head_len + tx->payload_len + tx->pad_len;
}

int ice_transmit_flatten(const struct ice_transmit *tx, uint8_t *buf, size_t cap)
{
	size_t len = ice_transmit_len(tx);

	if (len > cap || tx->pad_len > 3)
		return -ENOSPC;
	memcpy(buf, tx->head, tx->head_len);
	if (tx->payload_len)
		memcpy(buf + tx->head_len, tx->payload, tx->payload_len);
	memset(buf + tx->head_len + tx->payload_len, 0, tx->pad_len);
	return (int)len;
}
