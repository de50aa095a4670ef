// SPDX-License-Identifier: GPL-2.0-only
/*
 * SRTP/SRTCP glue over libsrtp2: one srtp_t per direction of a leg, built
 * from a master key + salt, with libsrtp's replay database. The glue adds
 * what libsrtp leaves to its caller: length checks before any pointer is
 * handed over (libsrtp takes an int and assumes trailer room), counters per
 * outcome, and a wipe of the buffer on every failed unprotect (AES-GCM
 * decrypts in place before its tag is checked, so a failed packet may hold
 * unauthenticated "plaintext").
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>

#include "icepath/compiler.h"
#include "icepath/demux.h"
#include "icepath/srtpctx.h"

struct srtpctx {
	srtp_t session;
	enum srtpctx_suite suite;
	enum srtpctx_dir dir;
	struct srtpctx_stats stats;
	/* srtpctx_renumber(): each SSRC protect sees, sent under a fresh one */
	bool renumber;
	unsigned nmap;
	struct {
		uint32_t from, to; /* network order */
	} map[SRTPCTX_RENUMBER_MAX];
};

struct srtpctx_suite_info {
	const char *name;
	size_t key_len, salt_len, tag_len;
};

static const struct srtpctx_suite_info suite_info[] = {
	/* RFC 4568 §6.2.1: 128-bit key, 112-bit salt, 80-bit tag */
	[SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 16, 14, 10},
	/* RFC 4568 §6.2.2: the same with a 32-bit SRTP tag (SRTCP keeps 80) */
	[SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 16, 14, 4},
	/* RFC 7714: 96-bit salt, 16-octet tag */
	[SRTPCTX_SUITE_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 16, 12, 16},
	[SRTPCTX_SUITE_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 32, 12, 16},
};

static const struct srtpctx_suite_info *srtpctx_info(enum srtpctx_suite s)
{
	if ((unsigned)s < ARRAY_SIZE(suite_info) && suite_info[s].name)
		return &suite_info[s];
	return NULL;
}

const char *srtpctx_suite_str(enum srtpctx_suite s)
{
	const struct srtpctx_suite_info *i = srtpctx_info(s);

	return i ? i->name : "unknown";
}

enum srtpctx_suite srtpctx_suite_from_str(const char *name, size_t len)
{
	for (unsigned s = 0; s < ARRAY_SIZE(suite_info); s++)
		if (suite_info[s].name && strlen(suite_info[s].name) == len &&
		    !memcmp(suite_info[s].name, name, len))
			return (enum srtpctx_suite)s;
	return SRTPCTX_SUITE_NONE;
}

size_t srtpctx_suite_key_len(enum srtpctx_suite s)
{
	const struct srtpctx_suite_info *i = srtpctx_info(s);

	return i ? i->key_len : 0;
}

size_t srtpctx_suite_salt_len(enum srtpctx_suite s)
{
	const struct srtpctx_suite_info *i = srtpctx_info(s);

	return i ? i->salt_len : 0;
}

size_t srtpctx_suite_tag_len(enum srtpctx_suite s)
{
	const struct srtpctx_suite_info *i = srtpctx_info(s);

	return i ? i->tag_len : 0;
}

int srtpctx_lib_init(void)
{
	return srtp_init() == srtp_err_status_ok ? 0 : -EIO;
}

void srtpctx_lib_shutdown(void)
{
	srtp_shutdown();
}

static void srtpctx_policy(srtp_policy_t *p, enum srtpctx_suite suite)
{
	switch (suite) {
	case SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		/* RFC 4568 §6.2.2 (and RFC 5764 §4.1.2): SRTCP keeps the 80-bit tag */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SRTPCTX_SUITE_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	case SRTPCTX_SUITE_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		break;
	default:
		break;
	}
}

int srtpctx_new(struct srtpctx **out, enum srtpctx_suite suite, enum srtpctx_dir dir,
		const uint8_t *key, size_t key_len, const uint8_t *salt, size_t salt_len,
		unsigned replay_window)
{
	const struct srtpctx_suite_info *info = srtpctx_info(suite);
	uint8_t material[SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX];
	srtp_policy_t policy;
	struct srtpctx *c;
	srtp_err_status_t st;

	*out = NULL;
	if (!info || key_len != info->key_len || salt_len != info->salt_len ||
	    (dir != SRTPCTX_INBOUND && dir != SRTPCTX_OUTBOUND))
		return -EINVAL;
	/* libsrtp2 takes 64..2^15 packets (srtp_rdbx_init) */
	if (replay_window && (replay_window < 64 || replay_window > 0x8000))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(&policy, 0, sizeof(policy));
	srtpctx_policy(&policy, suite);
	/* libsrtp2 reads the master key and salt as one run: key || salt */
	memcpy(material, key, key_len);
	memcpy(material + key_len, salt, salt_len);
	policy.key = material;
	policy.ssrc.type = dir == SRTPCTX_INBOUND ? ssrc_any_inbound : ssrc_any_outbound;
	policy.window_size = replay_window;
	/* RFC 3711 §3.3.2: a repeated index is a replay, also when we send */
	policy.allow_repeat_tx = 0;
	st = srtp_create(&c->session, &policy);
	OPENSSL_cleanse(material, sizeof(material));
	if (st != srtp_err_status_ok) {
		free(c);
		return st == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
	}
	c->suite = suite;
	c->dir = dir;
	*out = c;
	return 0;
}

void srtpctx_free(struct srtpctx *c)
{
	if (!c)
		return;
	/* srtp_dealloc wipes the session keys it derived */
	srtp_dealloc(c->session);
	free(c);
}

enum srtpctx_suite srtpctx_suite(const struct srtpctx *c)
{
	return c->suite;
}

const struct srtpctx_stats *srtpctx_stats(const struct srtpctx *c)
{
	return &c->stats;
}

/* The count an error lands in, and the errno the caller sees. */
static int srtpctx_fail(struct srtpctx *c, srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_auth_fail:
		c->stats.auth_fail++;
		return -EBADMSG;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		c->stats.replay++;
		return -EALREADY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
		c->stats.malformed++;
		return -EINVAL;
	default:
		c->stats.other_fail++;
		return -EIO;
	}
}

/* RFC 3550 §5.1 / §6.1: the fixed header must be there and say version 2;
 * rtcp: whether the second byte is an RTCP packet type (RFC 5761 §4). */
static int srtpctx_check(struct srtpctx *c, const uint8_t *buf, size_t len, bool rtcp)
{
	enum demux_class k;

	if (len > SRTPCTX_PACKET_MAX) {
		c->stats.malformed++;
		return -EMSGSIZE;
	}
	k = len >= 2 ? demux_classify(buf[0], buf[1], (uint32_t)len) : DEMUX_UNKNOWN;
	if (k != (rtcp ? DEMUX_RTCP : DEMUX_RTP)) {
		c->stats.malformed++;
		return -EINVAL;
	}
	return 0;
}

/* ---- renumbering (srtpctx.h) ------------------------------------------------- */

void srtpctx_renumber(struct srtpctx *c)
{
	if (c->dir == SRTPCTX_OUTBOUND)
		c->renumber = true;
}

/* The SSRC that from (network order) is sent under: drawn at its first
 * packet, distinct from every other one of the table; 0 when the table is
 * full or the random source failed. */
static uint32_t renumber_to(struct srtpctx *c, uint32_t from)
{
	uint32_t to;
	unsigned i;

	for (i = 0; i < c->nmap; i++)
		if (c->map[i].from == from)
			return c->map[i].to;
	if (c->nmap == SRTPCTX_RENUMBER_MAX)
		return 0;
	do {
		if (RAND_bytes((unsigned char *)&to, sizeof(to)) != 1)
			return 0;
		for (i = 0; i < c->nmap && to && to != from; i++)
			if (c->map[i].to == to || c->map[i].from == to)
				break;
	} while (!to || to == from || i < c->nmap);
	c->map[c->nmap].from = from;
	c->map[c->nmap].to = to;
	c->nmap++;
	return to;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Rewrite the SSRC at buf[off] (network order) under the table: 0 or -1. */
static int renumber_at(struct srtpctx *c, uint8_t *buf, size_t off)
{
	uint32_t to = renumber_to(c, load32(buf + off));

	if (!to)
		return -1;
	memcpy(buf + off, &to, sizeof(to));
	return 0;
}

/* RTP: the header's SSRC. RTCP: the sender's SSRC of every packet of the
 * compound (SR, RR, SDES's first chunk, BYE's first source, feedback and
 * APP), whose first one names the SRTCP stream (RFC 3711 §3.4). */
static int renumber(struct srtpctx *c, uint8_t *buf, size_t len, bool rtcp)
{
	size_t off = 0, plen;

	if (!rtcp)
		return len >= 12 ? renumber_at(c, buf, 8) : -1;
	while (off + 8 <= len) {
		plen = 4 * ((size_t)(buf[off + 2] << 8 | buf[off + 3]) + 1);
		if (renumber_at(c, buf, off + 4))
			return -1;
		off += plen;
	}
	return 0;
}

void srtpctx_unrenumber_rtcp(const struct srtpctx *tx, uint8_t *buf, size_t len)
{
	size_t off = 0, plen, at, end;
	unsigned i;
	uint32_t v;

	if (!tx || !tx->nmap)
		return;
	while (off + 8 <= len) {
		plen = 4 * ((size_t)(buf[off + 2] << 8 | buf[off + 3]) + 1);
		end = off + plen < len ? off + plen : len;
		switch (buf[off + 1]) {
		case 200: /* SR: report blocks after the sender info */
		case 201: /* RR */
			for (at = off + (buf[off + 1] == 200 ? 28 : 8); at + 24 <= end; at += 24)
				for (i = 0, v = load32(buf + at); i < tx->nmap; i++)
					if (tx->map[i].to == v)
						memcpy(buf + at, &tx->map[i].from, 4);
			break;
		case 205: /* RTPFB, PSFB (RFC 4585 §6.1): the media source */
		case 206:
			if (off + 12 <= end)
				for (i = 0, v = load32(buf + off + 8); i < tx->nmap; i++)
					if (tx->map[i].to == v)
						memcpy(buf + off + 8, &tx->map[i].from, 4);
			break;
		}
		off += plen;
	}
}

static int srtpctx_protect(struct srtpctx *c, uint8_t *buf, size_t *len, size_t cap, bool rtcp)
{
	srtp_err_status_t st;
	int n, err;

	if (c->dir != SRTPCTX_OUTBOUND)
		return -EINVAL;
	err = srtpctx_check(c, buf, *len, rtcp);
	if (err)
		return err;
	if (c->renumber && renumber(c, buf, *len, rtcp)) {
		c->stats.other_fail++;
		return -ENOSPC;
	}
	/* libsrtp2 writes the trailer without being told the buffer size */
	if (cap < *len + SRTPCTX_TRAILER_MAX)
		return -ENOSPC;
	n = (int)*len;
	st = rtcp ? srtp_protect_rtcp(c->session, buf, &n) : srtp_protect(c->session, buf, &n);
	if (st != srtp_err_status_ok)
		return srtpctx_fail(c, st);
	if (rtcp)
		c->stats.rtcp_ok++;
	else
		c->stats.rtp_ok++;
	*len = (size_t)n;
	return 0;
}

static int srtpctx_unprotect(struct srtpctx *c, uint8_t *buf, size_t *len, bool rtcp)
{
	srtp_err_status_t st;
	int n, err;

	err = c->dir == SRTPCTX_INBOUND ? srtpctx_check(c, buf, *len, rtcp) : -EINVAL;
	if (!err) {
		n = (int)*len;
		st = rtcp ? srtp_unprotect_rtcp(c->session, buf, &n)
			  : srtp_unprotect(c->session, buf, &n);
		if (st == srtp_err_status_ok && n >= 0 && (size_t)n <= *len) {
			if (rtcp)
				c->stats.rtcp_ok++;
			else
				c->stats.rtp_ok++;
			*len = (size_t)n;
			return 0;
		}
		err = srtpctx_fail(c, st == srtp_err_status_ok ? srtp_err_status_fail : st);
	}
	/* nothing that failed may leave here looking like a packet */
	OPENSSL_cleanse(buf, *len);
	*len = 0;
	return err;
}

int srtpctx_protect_rtp(struct srtpctx *c, uint8_t *buf, size_t *len, size_t cap)
{
	return srtpctx_protect(c, buf, len, cap, false);
}

int srtpctx_protect_rtcp(struct srtpctx *c, uint8_t *buf, size_t *len, size_t cap)
{
	return srtpctx_protect(c, buf, len, cap, true);
}

int srtpctx_unprotect_rtp(struct srtpctx *c, uint8_t *buf, size_t *len)
{
	return srtpctx_unprotect(c, buf, len, false);
}

int srtpctx_unprotect_rtcp(struct srtpctx *c, uint8_t *buf, size_t *len)
{
	return srtpctx_unprotect(c, buf, len, true);
}
