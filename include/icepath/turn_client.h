/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sans-I/O TURN client (RFC 8656, UDP transport): one allocation from one
 * local base on one server, with long-term credentials (RFC 8489 §9.2:
 * SHA-256 with MESSAGE-INTEGRITY-SHA256 when the server's 401 offers it in
 * PASSWORD-ALGORITHMS, else MD5 with MESSAGE-INTEGRITY, as coturn wants),
 * permissions, channels, Send/Data indications and ChannelData. The ICE
 * agent owns one per (host base, TURN server); it can be used alone.
 *
 * Like the agent it reads no clock and opens no socket: feed it the
 * datagrams received from the server (turn_client_recv), call
 * turn_client_tick at its deadline, drain turn_client_poll_transmit (send
 * from the base to the server) and turn_client_poll_event.
 */
#ifndef ICEPATH_TURN_CLIENT_H
#define ICEPATH_TURN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/channel_data.h" /* TURN_CHANNEL_MIN/MAX */
#include "icepath/ice_transmit.h" /* struct ice_transmit, ICE_LOG_*, ICE_STUN_* */
#include "icepath/netaddr.h"

#define TURN_LIFETIME_S		   600 /* default allocation lifetime, RFC 8656 §3.2 */
#define TURN_REFRESH_MARGIN_S	   60  /* refresh this long before expiry */
#define TURN_PERMISSION_LIFETIME_S 300 /* RFC 8656 §9 */
#define TURN_PERMISSION_REFRESH_S  240 /* refresh before the 300 s are up */
#define TURN_CHANNEL_LIFETIME_S	   600 /* RFC 8656 §12 */
#define TURN_CHANNEL_REFRESH_S	   540
#define TURN_MAX_PEERS		   64  /* permissions (by IP) and channels per allocation */
#define TURN_MAX_TXNS		   16  /* transactions in flight */
#define TURN_NONCE_MAX		   768 /* RFC 8489 §14.10: < 128 characters, up to 763 bytes */
#define TURN_REALM_MAX		   768 /* RFC 8489 §14.9 */
#define TURN_PROTO_UDP		   17  /* REQUESTED-TRANSPORT, RFC 8656 §18.7 */
#define TURN_PASSWORD_ALGS_MAX	   64  /* bytes of PASSWORD-ALGORITHMS we echo, RFC 8489 §14.11 */
#define TURN_FAMILY_IPV4	   0x01 /* REQUESTED-ADDRESS-FAMILY values, RFC 8656 §18.8 */
#define TURN_FAMILY_IPV6	   0x02

/* One transition function moves between these (turn_client.c). */
enum turn_alloc_state {
	TURN_ALLOC_STATE_IDLE,	     /* created, nothing sent */
	TURN_ALLOC_STATE_ALLOCATING, /* Allocate in flight (incl. the 401/438 retry) */
	TURN_ALLOC_STATE_ALLOCATED,  /* relayed address known; refreshed before expiry */
	TURN_ALLOC_STATE_FAILED,     /* refused, timed out or expired */
	TURN_ALLOC_STATE_RELEASING,  /* Refresh(lifetime 0) queued */
	TURN_ALLOC_STATE_RELEASED,
};

const char *turn_alloc_state_str(enum turn_alloc_state s);

struct turn_client_config {
	struct netaddr server;
	struct netaddr base; /* the local address the socket is bound to */
	const char *username;
	const char *password;
	const char *software;	 /* NULL: none */
	uint32_t lifetime_s;	 /* requested; 0: TURN_LIFETIME_S */
	/* AF_INET or AF_INET6: the relayed address family to ask for (RFC
	 * 8656 §7.2: REQUESTED-ADDRESS-FAMILY, sent for IPv6 only; a server
	 * gives IPv4 without it). 0: the server's family. Peers must be of
	 * this family (RFC 8656 §9.1). */
	int relayed_family;
	uint32_t rto_ms, rc, rm; /* 0: ICE_STUN_RTO_MS, ICE_STUN_RC, ICE_STUN_RM */
	void (*random)(void *buf, size_t len, void *ctx); /* required */
	void *random_ctx;
	/* NULL: silent. Same contract as ice_config.log (the agent passes its
	 * own): state moves at INFO, refusals and timeouts at WARN, the
	 * credential dance and dropped responses at DEBUG; every message
	 * starts with "turn SERVER: ". */
	void (*log)(void *ctx, enum ice_log_level level, const char *msg);
	void *log_ctx;
};

enum turn_event_type {
	TURN_EVENT_ALLOCATED,	      /* relayed + mapped known */
	TURN_EVENT_FAILED,	      /* ev.error: STUN error code or -ETIMEDOUT */
	TURN_EVENT_PERMISSION_FAILED, /* ev.peer */
	TURN_EVENT_CHANNEL_BOUND,     /* ev.peer, ev.channel */
	TURN_EVENT_RELEASED,
};

struct turn_event {
	enum turn_event_type type;
	int error;
	struct netaddr peer;
	uint16_t channel;
};

enum turn_recv_verdict {
	TURN_RECV_HANDLED = 0,	/* a response or indication for us, consumed */
	TURN_RECV_DATA = 1,	/* data from a peer: peer, data, len set */
	TURN_RECV_NOT_MINE = 2, /* not from this allocation (unknown transaction...) */
	TURN_RECV_DROPPED = 3,	/* malformed or failed integrity */
};

struct turn_recv {
	struct netaddr peer;
	const uint8_t *data; /* into the caller's buffer */
	size_t len;
};

struct turn_client;

int turn_client_new(struct turn_client **tc, const struct turn_client_config *cfg);
void turn_client_free(struct turn_client *tc);

int turn_client_allocate(struct turn_client *tc, uint64_t now_ms);
/* Refresh with LIFETIME 0 (RFC 8656 §7); the allocation is RELEASED when
 * answered or when the transaction times out. */
int turn_client_release(struct turn_client *tc, uint64_t now_ms);
enum turn_alloc_state turn_client_state(const struct turn_client *tc);
/* The password algorithm in use (RFC 8489 §18.5): STUN_PASSWORD_ALG_SHA256
 * or _MD5 once the server challenged, 0 before. */
int turn_client_password_alg(const struct turn_client *tc);
/* -ENOTCONN before ALLOCATED. mapped may be NULL. */
int turn_client_relayed(const struct turn_client *tc, struct netaddr *relayed,
			struct netaddr *mapped);
const struct netaddr *turn_client_server(const struct turn_client *tc);
const struct netaddr *turn_client_base(const struct turn_client *tc);

/* Install (and keep refreshed) a permission for peer's IP (RFC 8656 §9). */
int turn_client_permit(struct turn_client *tc, const struct netaddr *peer, uint64_t now_ms);
bool turn_client_permitted(const struct turn_client *tc, const struct netaddr *peer);
/* Bind a channel to peer (RFC 8656 §12), refreshed; implies the permission. */
int turn_client_bind_channel(struct turn_client *tc, const struct netaddr *peer, uint64_t now_ms);

/* A datagram that came from the server to the base. */
int turn_client_recv(struct turn_client *tc, uint64_t now_ms, const uint8_t *buf, size_t len,
		     struct turn_recv *out);
/*
 * Frame data for peer: ChannelData once the channel is bound, else a Send
 * indication. The framing goes in tx->head, data becomes tx->payload (not
 * copied) when copy is false, else it is copied into head. -EPERM without a
 * permission request for that peer, -ENOTCONN before ALLOCATED.
 */
int turn_client_wrap(struct turn_client *tc, const struct netaddr *peer, const uint8_t *data,
		     size_t len, bool copy, struct ice_transmit *tx);

uint64_t turn_client_tick(struct turn_client *tc, uint64_t now_ms);
uint64_t turn_client_next_deadline(const struct turn_client *tc);
bool turn_client_poll_transmit(struct turn_client *tc, struct ice_transmit *tx);
bool turn_client_poll_event(struct turn_client *tc, struct turn_event *ev);

#endif
