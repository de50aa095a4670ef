/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay_crypto: media encryption terminated by the relay, per leg (issue 12,
 * WebRTC <-> SIP). By default a call passes whatever its peers negotiate
 * end to end (browser to browser: DTLS-SRTP through the relay, untouched),
 * and a leg has no struct relay_crypto. When the NG request makes the legs
 * speak different protocols (transport-protocol=, DTLS=, SDES-*), both legs
 * get one, and each says what its own peer speaks:
 *
 *   PLAIN  RTP/AVP(F): media to and from this leg is plain RTP/RTCP;
 *   DTLS   UDP/TLS/RTP/SAVP(F): a DTLS-SRTP endpoint of the relay's own
 *          (RFC 5763/5764) on the leg's media port, the relay's
 *          a=fingerprint and a=setup in its SDP, SRTP keys from the handshake;
 *   SDES   RTP/SAVP(F): a=crypto keys exchanged in the SDP (RFC 4568).
 *
 * The userspace datapath (relay_media.c) hands what a leg receives to
 * relay_crypto_rx() (DTLS to the endpoint; SRTP/SRTCP unprotected, and
 * nothing that fails authentication goes on) and what a leg is sent to
 * relay_crypto_tx() (protected). Such calls never get fast-path flows.
 *
 * Restart and failover (issues 12 x 14): once a leg has SRTP keys, the
 * state file and Redis keep them (relay_state.c's "keys" record: suite,
 * both directions' master key and salt, a=setup, whether they came from a
 * completed DTLS handshake, the SDES re-key count and both a=crypto tags),
 * and a recovered leg rebuilds its rx/tx contexts from them
 * (relay_crypto_restore()): media goes on both ways with no handshake.
 * What is not kept: the DTLS association itself (no SSL object after a
 * restart, so no renegotiation or close_notify of the old one), a pending
 * SDES offer that has no answer yet, the a=crypto lifetime and session
 * parameters, the SRTP rollover counters and the SRTCP indexes. A restored
 * tx context therefore renumbers (srtpctx_renumber()): every source the
 * relay sends toward the leg goes on under a fresh SSRC, a new stream for
 * the peer at index 0, so no index and no keystream repeats under the
 * kept key and the peer takes it as a new source (RFC 3550 §8.2); the
 * peer's reports about those SSRCs are taken back to the originals on the
 * way in (srtpctx_unrenumber_rtcp()). A restored rx context starts each
 * of the peer's SSRCs at ROC 0, so what the peer sends after its sequence
 * numbers wrapped past 65535 before the restart fails authentication (not
 * done yet: libsrtp2 2.5's srtp_set_stream_roc() needs the stream, i.e.
 * the SSRC; see README).
 *
 * Limits: one DTLS association per leg (the first active RTP section's
 * transport, which is the whole leg under BUNDLE).
 */
#ifndef ICEPATH_RELAY_CRYPTO_H
#define ICEPATH_RELAY_CRYPTO_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "icepath/dtls.h"
#include "icepath/sdes.h"
#include "icepath/srtpctx.h"
#include "timerheap.h"

enum relay_crypto_mode {
	RELAY_CRYPTO_PLAIN,
	RELAY_CRYPTO_DTLS,
	RELAY_CRYPTO_SDES,
};
const char *relay_crypto_mode_str(enum relay_crypto_mode m);

/* Per stream (m= line) of a terminated leg: what its packets did. */
struct relay_crypto_stream {
	uint64_t auth_fail; /* SRTP/SRTCP whose tag did not verify: dropped */
	uint64_t replay;    /* replayed or too old: dropped */
	uint64_t other;	    /* malformed, no keys yet, refused otherwise: dropped */
	uint64_t decrypted, encrypted;
	char mid[32];	    /* the offer's a=mid, for the answer toward a browser */
};

struct relay_crypto {
	enum relay_crypto_mode mode;
	char proto[64]; /* the m= protocol the relay writes toward this leg */
	/* DTLS: the relay's endpoint, its a=setup, and where its datagrams
	 * go (the stream and component the peer's DTLS came on) */
	struct dtls *dtls;
	enum dtls_setup setup;
	bool started;
	unsigned dtls_stream, dtls_comp;
	struct timerheap_node timer; /* RELAY_TIMER_DTLS, owner: struct call_leg */
	/* SDES: the keys the relay offered (one per suite, tags 1..n) or
	 * answered; peer_sdes: the peer's chosen line */
	struct sdes_crypto local[SRTPCTX_SUITE_COUNT];
	unsigned n_local;
	unsigned suites; /* SRTPCTX_SUITE_BIT()s allowed toward this leg */
	bool sdes_off;	 /* SDES-off: no a=crypto toward this leg */
	/* SDES: the peer's key in use (rx); a re-offer or re-answer with
	 * another replaces rx (RFC 4568 §7.1.4), another suite both ways */
	struct sdes_crypto peer;
	uint64_t rekeys;
	/* SRTP: rx unprotects what the peer sends, tx protects what it gets */
	struct srtpctx *rx, *tx;
	/* rx/tx are lent to the call's media worker (relay_worker.c): the
	 * loop neither uses nor frees them until relay_worker_recall() */
	bool lent;
	enum srtpctx_suite suite;
	/* the master keys rx and tx were made with (suite's lengths), what
	 * the state file keeps; dtls_done: they came from a handshake */
	uint8_t rx_key[SRTPCTX_KEY_MAX], rx_salt[SRTPCTX_SALT_MAX];
	uint8_t tx_key[SRTPCTX_KEY_MAX], tx_salt[SRTPCTX_SALT_MAX];
	bool dtls_done;
	struct relay_crypto_stream st[CALL_MAX_STREAMS];
};

/* The keys record of a recovered leg (relay_state.h) applied: contexts
 * rebuilt from it, SDES peer/local lines set back. 0 or a negative errno. */
struct relay_state_keys;
int relay_crypto_restore(struct call_leg *l, const struct relay_state_keys *k);

#endif
