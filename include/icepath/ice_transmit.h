/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the ICE agent (ice.h) and the TURN client (turn_client.h) share: the
 * datagram record they hand to the caller, the log levels of their log
 * callbacks, and the STUN retransmission defaults of their transactions.
 */
#ifndef ICEPATH_ICE_TRANSMIT_H
#define ICEPATH_ICE_TRANSMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "icepath/netaddr.h"

#define ICE_STUN_RTO_MS 500 /* initial RTO for STUN/TURN server transactions, RFC 8489 §6.2.1 */
#define ICE_STUN_RC	7   /* Rc: requests sent per transaction, RFC 8489 §6.2.1 */
#define ICE_STUN_RM	16  /* Rm: last wait = Rm * RTO, RFC 8489 §6.2.1 */
#define ICE_TX_HEAD_MAX 1500 /* a STUN message the agent builds, or TURN framing */

enum ice_log_level {
	ICE_LOG_ERROR,
	ICE_LOG_WARN,
	ICE_LOG_INFO,
	ICE_LOG_DEBUG,
};

/*
 * A datagram to send from the socket bound to `local` (a host base) to
 * `remote`. The bytes are head[0..head_len) then payload[0..payload_len)
 * then pad_len zero bytes: ice_transmit_iov() gives the iovec for sendmsg(),
 * ice_transmit_flatten() a contiguous copy. Datagrams the agent builds
 * itself (checks, TURN control) sit entirely in head; ice_agent_send() puts
 * TURN framing in head and points payload at the caller's bytes, so media is
 * never copied.
 */
struct ice_transmit {
	struct netaddr local;
	struct netaddr remote;
	size_t head_len;
	const uint8_t *payload; /* NULL when payload_len == 0 */
	size_t payload_len;
	size_t pad_len; /* <= 3 */
	uint8_t head[ICE_TX_HEAD_MAX];
};

/* Fills iov[0..3) and returns how many entries are used (1..3). */
int ice_transmit_iov(const struct ice_transmit *tx, struct iovec iov[3]);
/* Total length, or -ENOSPC if cap is too small. */
int ice_transmit_flatten(const struct ice_transmit *tx, uint8_t *buf, size_t cap);
size_t ice_transmit_len(const struct ice_transmit *tx);

#endif
