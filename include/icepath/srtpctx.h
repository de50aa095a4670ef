/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SRTP and SRTCP (RFC 3711, AEAD-GCM per RFC 7714) for one direction of one
 * leg, over libsrtp2. The master key and salt come from DTLS-SRTP (dtls.h,
 * RFC 5764 §4.2) or from an SDES a=crypto line (sdes.h, RFC 4568).
 *
 * The prefix is srtpctx_, not srtp_: libsrtp2 owns the srtp_ namespace.
 *
 * A context protects (SRTPCTX_OUTBOUND) or unprotects (SRTPCTX_INBOUND)
 * every SSRC it sees with one master key (libsrtp's ssrc_any_* templates).
 * Unprotect is all or nothing: when it fails (authentication, replay,
 * malformed) the buffer is wiped and a negative errno comes back, so no
 * unauthenticated byte can be mistaken for plaintext; the failure is
 * counted per context.
 *
 * srtpctx_lib_init() must run once before any context is made (libsrtp2
 * keeps one crypto kernel per process); main() owns that call, and
 * srtpctx_lib_shutdown() at exit.
 */
#ifndef ICEPATH_SRTPCTX_H
#define ICEPATH_SRTPCTX_H

#include <stddef.h>
#include <stdint.h>

/* The crypto suites icepath speaks, by their RFC 4568 / RFC 7714 §14.2 SDES
 * names; the DTLS-SRTP protection profiles map onto them (RFC 5764 §4.1.2,
 * RFC 7714 §14.2). 0 is "none". */
enum srtpctx_suite {
	SRTPCTX_SUITE_NONE = 0,
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, /* RFC 4568 §6.2.1 */
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32, /* RFC 4568 §6.2.2 */
	SRTPCTX_SUITE_AEAD_AES_128_GCM,	       /* RFC 7714 §14.2 */
	SRTPCTX_SUITE_AEAD_AES_256_GCM,	       /* RFC 7714 §14.2 */
	SRTPCTX_SUITE_COUNT,
};
#define SRTPCTX_SUITE_BIT(s) (1u << (s))
#define SRTPCTX_SUITES_ALL                                                                        \
	(SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80) |                                \
	 SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32) |                                \
	 SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AEAD_AES_128_GCM) |                                       \
	 SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AEAD_AES_256_GCM))

/* Master key and salt lengths, bytes. */
#define SRTPCTX_KEY_MAX	 32 /* AEAD_AES_256_GCM (RFC 7714) */
#define SRTPCTX_SALT_MAX 14 /* AES-CM's 112-bit master salt, RFC 4568 §6.2.1 */
/* Bytes protect may append: SRTCP's E flag and index (4, RFC 3711 §3.4)
 * plus the longest tag (16, AES-GCM, RFC 7714); icepath uses no MKI. */
#define SRTPCTX_TRAILER_MAX 20
/* Largest packet handed to libsrtp2 (its length is an int). */
#define SRTPCTX_PACKET_MAX 65535

/* "AES_CM_128_HMAC_SHA1_80" (the a=crypto name), "unknown" out of range. */
const char *srtpctx_suite_str(enum srtpctx_suite s);
/* By a=crypto name (case-sensitive, RFC 4568 §9.1 srtp-crypto-suite);
 * SRTPCTX_SUITE_NONE for a name icepath does not speak. */
enum srtpctx_suite srtpctx_suite_from_str(const char *name, size_t len);
/* Master key / master salt length in bytes, 0 for NONE or out of range. */
size_t srtpctx_suite_key_len(enum srtpctx_suite s);
size_t srtpctx_suite_salt_len(enum srtpctx_suite s);
/* Authentication tag of SRTP (RTP) packets, bytes. */
size_t srtpctx_suite_tag_len(enum srtpctx_suite s);

enum srtpctx_dir {
	SRTPCTX_INBOUND,  /* unprotect what the peer sent */
	SRTPCTX_OUTBOUND, /* protect what we send */
};

/* Counters of one context: every protect or unprotect of a packet that
 * passed the argument checks lands in exactly one. */
struct srtpctx_stats {
	uint64_t rtp_ok, rtcp_ok;	  /* protected or unprotected */
	uint64_t auth_fail;		  /* tag did not verify */
	uint64_t replay;		  /* replayed or too old for the window */
	uint64_t malformed;		  /* too short, not RTP/RTCP, too long */
	uint64_t other_fail;		  /* anything else libsrtp2 refused */
};

struct srtpctx;

/* Process-wide libsrtp2 set-up; 0 or -EIO. Idempotent per process is NOT
 * promised: call once from main() (and once per test program). */
int srtpctx_lib_init(void);
void srtpctx_lib_shutdown(void);

/*
 * A context for suite with master key[0..key_len) and salt[0..salt_len),
 * which must have the suite's lengths (-EINVAL otherwise). The key material
 * is copied and wiped from the context when it is freed. replay_window: 0
 * for libsrtp2's default (128 packets, RFC 3711 §3.3.2 asks for >= 64).
 */
int srtpctx_new(struct srtpctx **out, enum srtpctx_suite suite, enum srtpctx_dir dir,
		const uint8_t *key, size_t key_len, const uint8_t *salt, size_t salt_len,
		unsigned replay_window);
void srtpctx_free(struct srtpctx *c);
enum srtpctx_suite srtpctx_suite(const struct srtpctx *c);

/*
 * Protect in place: buf[0..*len) is an RTP (or RTCP) packet; on success *len
 * grows by the tag (and SRTCP index). cap is the size of buf; it must leave
 * SRTPCTX_TRAILER_MAX bytes past *len (-ENOSPC). -EINVAL on an inbound
 * context or a packet that is not RTP/RTCP.
 */
int srtpctx_protect_rtp(struct srtpctx *c, uint8_t *buf, size_t *len, size_t cap);
int srtpctx_protect_rtcp(struct srtpctx *c, uint8_t *buf, size_t *len, size_t cap);

/*
 * Unprotect in place: on success *len shrinks to the plaintext packet.
 * Errors (buf[0..*len) wiped to zeros, *len set to 0): -EBADMSG
 * authentication failed, -EALREADY replayed or older than the window,
 * -EINVAL malformed or an outbound context, -EMSGSIZE too long, -EIO other.
 */
int srtpctx_unprotect_rtp(struct srtpctx *c, uint8_t *buf, size_t *len);
int srtpctx_unprotect_rtcp(struct srtpctx *c, uint8_t *buf, size_t *len);

const struct srtpctx_stats *srtpctx_stats(const struct srtpctx *c);

/*
 * Renumbering, for an outbound context rebuilt from stored keys (a relay
 * restarted or taken over: relay_crypto_restore()). Its SRTP packet index
 * (ROC and sequence number) and SRTCP index restart at 0 while the key is
 * the same as before, so a packet sent under an SSRC already used could
 * repeat an index, and with it the keystream (RFC 3711 §9.1: an index must
 * never repeat under one key and SSRC), and the receiver would refuse it
 * as a replay or with a rollover counter it does not expect. After
 * srtpctx_renumber(), protect sends every SSRC it sees (RTP's, the sender
 * SSRC of each RTCP packet) under a fresh random one, the same for the
 * rest of the context's life: a new SRTP and SRTCP stream for the
 * receiver, index 0 and no keystream ever used before (the SSRC is part of
 * the IV, RFC 3711 §4.1.1, RFC 7714 §8.1). At most SRTPCTX_RENUMBER_MAX
 * sources; a packet of one more is refused (-ENOSPC, other_fail).
 * srtpctx_unrenumber_rtcp() takes the receiver's reports about them back
 * to the original SSRCs (RR/SR report blocks, RTPFB/PSFB media source) in
 * RTCP that an inbound context of the same leg unprotected.
 */
#define SRTPCTX_RENUMBER_MAX 16
void srtpctx_renumber(struct srtpctx *c);
void srtpctx_unrenumber_rtcp(const struct srtpctx *tx, uint8_t *buf, size_t len);

#endif
