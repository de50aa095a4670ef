/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DTLS-SRTP (RFC 5763, RFC 5764, RFC 8842) on OpenSSL, sans-I/O: one
 * endpoint per leg, fed the DTLS datagrams that the RFC 7983 demux
 * (demux.h) classed as DTLS; it answers with datagrams to send, events and
 * the next deadline. It opens no socket, spawns no thread and never blocks.
 *
 *   struct dtls_ctx   one per daemon: the certificate (ECDSA P-256 made at
 *                     start, or loaded from PEM files), its a=fingerprint
 *                     value, and the OpenSSL SSL_CTX every endpoint shares.
 *   struct dtls       one per leg: role from a=setup, the peer's
 *                     a=fingerprint values, the handshake, the use_srtp
 *                     choice and the exported SRTP master keys.
 *
 * Drive it like the ICE agent: dtls_input() per datagram, dtls_tick() at
 * dtls_next_deadline(), then drain dtls_poll_transmit() and
 * dtls_poll_event().
 *
 * Time: OpenSSL 3.0 runs its DTLS retransmission clock on gettimeofday().
 * After every call into OpenSSL the endpoint reads the remaining time
 * (DTLSv1_get_timeout) and reports now_ms + remaining as its deadline; the
 * tick at that deadline calls DTLSv1_handle_timeout. So now_ms must advance
 * at the rate of wall time (CLOCK_MONOTONIC does); the handshake limit
 * (DTLS_HANDSHAKE_TIMEOUT_MS) runs on now_ms alone, so a wall clock stepped
 * backwards cannot stall a handshake forever.
 *
 * Fail closed: the peer's certificate must match one of the fingerprints
 * given with dtls_add_remote_fingerprint(). A handshake that completes
 * before any fingerprint is known waits in VERIFYING (the answer carrying
 * the fingerprint may arrive after the peer's ClientHello, RFC 5763 §5);
 * keys are only handed out in CONNECTED.
 */
#ifndef ICEPATH_DTLS_H
#define ICEPATH_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "icepath/srtpctx.h"

/* RFC 6347 §4.2.4.1: start at 1 s, double each time, up to 60 s. */
#define DTLS_RTO_INITIAL_MS 1000
#define DTLS_RTO_MAX_MS	    60000
/* Give up on a handshake (or on a missing fingerprint) after this long. */
#define DTLS_HANDSHAKE_TIMEOUT_MS 30000
/* Largest DTLS datagram we send: 1200 bytes of UDP payload, what WebRTC
 * stacks use; it fits IPv6's 1280-byte minimum MTU with the IPv6, UDP and
 * TURN ChannelData headers (40 + 8 + 4). */
#define DTLS_MTU_BYTES 1200
/* Largest datagram accepted: a DTLS record is at most 2^14 + 2048 bytes of
 * fragment plus a 13-byte header (RFC 6347 §4.1). */
#define DTLS_DATAGRAM_MAX (16384 + 2048 + 13)
/* Datagrams queued for sending before the oldest is dropped. */
#define DTLS_TX_QUEUE_MAX 64
/* a=fingerprint values of the peer kept (RFC 8122 §5 allows several). */
#define DTLS_FINGERPRINTS_MAX 4
/* "sha-512 " + 64 hex pairs with colons, NUL: the longest value we write or
 * read. */
#define DTLS_FINGERPRINT_STRLEN (8 + 64 * 3)
#define DTLS_REASON_MAX		160

/* ---- a=setup (RFC 4145 §4, RFC 8842 §5) ------------------------------------ */

enum dtls_setup {
	DTLS_SETUP_ACTPASS,
	DTLS_SETUP_ACTIVE,
	DTLS_SETUP_PASSIVE,
	DTLS_SETUP_HOLDCONN,
};
/* 0 or -EINVAL; the value of a=setup ("actpass"...). */
int dtls_setup_parse(const char *value, enum dtls_setup *out);
const char *dtls_setup_str(enum dtls_setup s);

/* The DTLS role: ACTIVE is the DTLS client (sends the ClientHello). */
enum dtls_role {
	DTLS_ROLE_UNDECIDED, /* we offered actpass and have no answer yet */
	DTLS_ROLE_ACTIVE,
	DTLS_ROLE_PASSIVE,
};
const char *dtls_role_str(enum dtls_role r);
/* We answer an offer whose a=setup is remote: actpass -> active (RFC 5763
 * §5 recommends it: the handshake then runs in parallel with the answer),
 * active -> passive, passive -> active; holdconn -> -EINVAL. Our answer's
 * a=setup is then the role's name. */
int dtls_role_for_answer(enum dtls_setup remote, enum dtls_role *ours);
/* We offered actpass (RFC 8842 §5.2 requires it of an offerer) and the
 * answer says remote: active -> passive, passive -> active; actpass or
 * holdconn in an answer -> -EINVAL (RFC 5763 §5, RFC 8842 §5.3). */
int dtls_role_from_answer(enum dtls_setup remote, enum dtls_role *ours);

/* ---- the certificate ------------------------------------------------------- */

struct dtls_ctx;

/* A fresh ECDSA P-256 key and a self-signed certificate (SHA-256, valid
 * from a day ago for DTLS_CERT_VALID_DAYS). err gets a one-line reason. */
#define DTLS_CERT_VALID_DAYS 365
int dtls_ctx_generate(struct dtls_ctx **out, char *err, size_t err_len);
/* Certificate (chain) and private key from PEM files, as --dtls-cert and
 * --dtls-key give them: -ENOENT unreadable, -EINVAL not PEM or the key does
 * not belong to the certificate; err names the file and the fix. */
int dtls_ctx_load(struct dtls_ctx **out, const char *cert_file, const char *key_file, char *err,
		  size_t err_len);
/* Write ctx's certificate and private key as PEM (what dtls_ctx_load
 * reads) to new files cert_file and key_file, mode 0600, each created
 * anew (O_EXCL, never through a symbolic link): 0, or a negative errno
 * (-EEXIST if one is there) and err says which file and why. */
int dtls_ctx_save(const struct dtls_ctx *ctx, const char *cert_file, const char *key_file,
		  char *err, size_t err_len);
/* Every endpoint made from ctx must be freed before it. Accepts NULL. */
void dtls_ctx_free(struct dtls_ctx *ctx);
/* The value of our a=fingerprint: "sha-256 AB:CD:..." (RFC 8122 §5, upper
 * case hex). */
const char *dtls_ctx_fingerprint(const struct dtls_ctx *ctx);

/* ---- one endpoint ------------------------------------------------------------ */

/* One transition function moves between these (dtls.c). */
enum dtls_state {
	DTLS_STATE_NEW,		/* made; active waits for dtls_start, passive for a ClientHello */
	DTLS_STATE_HANDSHAKING, /* flights in progress */
	DTLS_STATE_VERIFYING,	/* handshake done, no fingerprint of the peer known yet */
	DTLS_STATE_CONNECTED,	/* fingerprint matched, SRTP keys exported */
	DTLS_STATE_FAILED,	/* reason in dtls_reason() */
	DTLS_STATE_CLOSED,	/* close_notify sent or received */
};
const char *dtls_state_str(enum dtls_state s);

enum dtls_log_level { DTLS_LOG_DEBUG, DTLS_LOG_INFO, DTLS_LOG_WARN, DTLS_LOG_ERROR };

struct dtls_config {
	enum dtls_role role; /* UNDECIDED: a ClientHello arriving first makes us passive */
	/* SRTPCTX_SUITE_BIT()s we accept; 0: AES_CM_128_HMAC_SHA1_80 and both
	 * AEAD suites. Preference (ours as server, RFC 5764 §4.1.1): AEAD 256,
	 * AEAD 128, SHA1_80, SHA1_32. */
	unsigned suites;
	unsigned mtu;	    /* 0: DTLS_MTU_BYTES */
	unsigned rto_ms;    /* first retransmission; 0: DTLS_RTO_INITIAL_MS */
	unsigned timeout_ms; /* 0: DTLS_HANDSHAKE_TIMEOUT_MS */
	/* NULL: silent. Moves at INFO, failures at WARN, every message starts
	 * with "dtls NAME: " (name below, NULL: "-"). */
	void (*log)(void *ctx, enum dtls_log_level level, const char *msg);
	void *log_ctx;
	const char *name;
};

enum dtls_event_type {
	DTLS_EVENT_CONNECTED, /* suite set; dtls_srtp_keys() works from now on */
	DTLS_EVENT_FAILED,    /* reason set */
	DTLS_EVENT_CLOSED,
};

struct dtls_event {
	enum dtls_event_type type;
	enum srtpctx_suite suite;
	const char *reason; /* into the endpoint, valid while it lives; "" if none */
};

/* The SRTP master keys of RFC 5764 §4.2, already split by direction:
 * local_* protects what we send, remote_* unprotects what we receive. */
struct dtls_srtp_keys {
	enum srtpctx_suite suite;
	size_t key_len, salt_len;
	uint8_t local_key[SRTPCTX_KEY_MAX], local_salt[SRTPCTX_SALT_MAX];
	uint8_t remote_key[SRTPCTX_KEY_MAX], remote_salt[SRTPCTX_SALT_MAX];
};

struct dtls_stats {
	uint64_t datagrams_in, datagrams_out;
	uint64_t timeouts;	    /* DTLS retransmission timer fired */
	uint64_t dropped;	    /* not DTLS, too long, or after FAILED/CLOSED */
	uint64_t app_data_dropped;  /* DTLS application data (no SCTP here) */
	uint64_t tx_queue_overflow; /* datagrams lost because nobody polled */
};

struct dtls;

int dtls_new(struct dtls **out, struct dtls_ctx *ctx, const struct dtls_config *cfg);
void dtls_free(struct dtls *d);

/* Only in NEW (-EBUSY later): the answer decided the role. */
int dtls_set_role(struct dtls *d, enum dtls_role role);
enum dtls_role dtls_role(const struct dtls *d);
/*
 * Add an a=fingerprint value of the peer ("sha-256 AB:CD:..."; sha-1,
 * sha-224, sha-256, sha-384 and sha-512 are understood, RFC 8122 §5; the
 * hash name is case-insensitive). -EINVAL malformed, -EPROTONOSUPPORT
 * another hash (md5, md2: refused as too weak), -E2BIG past
 * DTLS_FINGERPRINTS_MAX. In VERIFYING it settles the verdict at once.
 */
int dtls_add_remote_fingerprint(struct dtls *d, const char *value);

/* Active: send the ClientHello (NEW -> HANDSHAKING). Passive or
 * undecided: nothing to do until the peer's ClientHello. */
int dtls_start(struct dtls *d, uint64_t now_ms);
/*
 * One datagram from the peer. 0 when it was taken (which includes
 * records DTLS itself discards: bad MAC, replays, stray retransmissions),
 * -EINVAL when its first byte is not DTLS (RFC 7983), -EMSGSIZE past
 * DTLS_DATAGRAM_MAX, -EAGAIN for an active endpoint not started yet,
 * -ENOTCONN after FAILED or CLOSED. Failures of the handshake are state
 * changes and events, not return values.
 */
int dtls_input(struct dtls *d, uint64_t now_ms, const uint8_t *buf, size_t len);
/* Fire what is due; returns the next deadline (UINT64_MAX: none). */
uint64_t dtls_tick(struct dtls *d, uint64_t now_ms);
uint64_t dtls_next_deadline(const struct dtls *d);
/* Send close_notify (when a handshake ran) and go CLOSED. */
int dtls_close(struct dtls *d);

/* The next datagram to send into buf: its length, 0 when none is queued,
 * -ENOSPC (datagram kept) when cap is too small. */
ssize_t dtls_poll_transmit(struct dtls *d, uint8_t *buf, size_t cap);
bool dtls_poll_event(struct dtls *d, struct dtls_event *ev);

enum dtls_state dtls_state(const struct dtls *d);
const char *dtls_reason(const struct dtls *d);
/* -ENOTCONN before CONNECTED. */
int dtls_srtp_keys(const struct dtls *d, struct dtls_srtp_keys *out);
const struct dtls_stats *dtls_stats(const struct dtls *d);

#endif
