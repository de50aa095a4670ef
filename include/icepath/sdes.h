/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDES: the SDP a=crypto attribute for SRTP (RFC 4568 §9.1 grammar,
 * AEAD-GCM suites per RFC 7714 §14.2), parse and format, and fresh keys.
 *
 *   a=crypto:<tag> <crypto-suite> inline:<key||salt base64>[|lifetime][|MKI:len]
 *            [<session-param> ...]
 *
 * Suites: AES_CM_128_HMAC_SHA1_80/_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM
 * (srtpctx.h). A line that is well formed but asks for what icepath cannot
 * honour (another suite, several keys, KDR, UNENCRYPTED_* or
 * UNAUTHENTICATED_SRTP) is -EPROTONOSUPPORT: the caller skips that line and
 * looks at the next offer, it is not malformed.
 */
#ifndef ICEPATH_SDES_H
#define ICEPATH_SDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icepath/srtpctx.h"

#define SDES_TAG_MAX	      999999999u /* RFC 4568 §9.1: 1*9DIGIT */
#define SDES_MKI_LEN_MAX      128	 /* RFC 4568 §9.1: mki-length 1*3DIGIT, bytes, 1..128 */
#define SDES_LIFETIME_MAX_LOG 48	 /* RFC 3711: at most 2^48 SRTP packets per master key */
#define SDES_PARAMS_MAX	      256	 /* bytes of session parameters kept verbatim */
#define SDES_LINE_MAX	      512	 /* the longest value sdes_format writes */

struct sdes_crypto {
	uint32_t tag;
	enum srtpctx_suite suite;
	uint8_t key[SRTPCTX_KEY_MAX], salt[SRTPCTX_SALT_MAX];
	size_t key_len, salt_len; /* the suite's */
	uint64_t lifetime;	  /* packets; 0: not given */
	bool lifetime_pow2;	  /* written as "2^n" */
	bool has_mki;
	uint32_t mki;	      /* mki-value */
	unsigned mki_len;     /* its length on the wire, bytes */
	char params[SDES_PARAMS_MAX]; /* session parameters as sent, "" if none */
};

/*
 * Parse the value of an a=crypto line (with or without a leading "crypto:"
 * or "a=crypto:"), s[0..len). 0; -EINVAL malformed (err says why, err may
 * be NULL); -EPROTONOSUPPORT well formed but not for us (see above).
 */
int sdes_parse(const char *s, size_t len, struct sdes_crypto *out, char *err, size_t err_len);
/* The value without "crypto:" into buf: length, or -ENOSPC / -EINVAL. */
int sdes_format(const struct sdes_crypto *c, char *buf, size_t len);
/* A fresh random key and salt for suite (RAND_bytes), no lifetime, no MKI.
 * 0, -EINVAL (suite or tag), -EIO (no randomness). */
int sdes_generate(struct sdes_crypto *c, uint32_t tag, enum srtpctx_suite suite);

#endif
