// SPDX-License-Identifier: GPL-2.0-only
/*
 * a=crypto (RFC 4568 §9.1) parse and format. Strict where the grammar is
 * strict (digits, base64 of exactly key || salt, one space between fields)
 * because the line carries a key: a guess at a broken one would only make a
 * stream that never decrypts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "icepath/sdes.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

__attribute__((format(printf, 3, 4))) static int sdes_err(char *err, size_t err_len,
							  const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int sdes_b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* RFC 4648 §4 base64, "=" padding optional (RFC 4568 §6.1 pads; some
 * stacks do not); bytes written or -EINVAL. */
static int sdes_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (n && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad && (n + pad) % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = sdes_b64_val(s[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* leftover bits must be zero, and no 6-bit tail (n % 4 == 1) */
	if (bits >= 6 || (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (int)o;
}

static size_t sdes_b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* 1*max DIGIT at s[0..n) into *v; -EINVAL. */
static int sdes_digits(const char *s, size_t n, size_t max, uint64_t *v)
{
	if (!n || n > max)
		return -EINVAL;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/* The session parameters we cannot honour (RFC 4568 §6.3): a peer that
 * asks for them would get something other than it asked for. */
static bool sdes_param_refused(const char *p, size_t n)
{
	static const char *const refused[] = {"UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP",
					      "UNAUTHENTICATED_SRTP"};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strlen(refused[i]) == n && !memcmp(refused[i], p, n))
			return true;
	/* KDR (§6.3.1): libsrtp2 derives once, with a rate of 0 only */
	return n > 4 && !memcmp(p, "KDR=", 4) && !(n == 5 && p[4] == '0');
}

/*
 * key-info = key-salt ["|" lifetime] ["|" mki]
 * lifetime = ["2^"] 1*(DIGIT)
 * mki      = mki-value ":" mki-length
 */
static int sdes_key_info(const char *s, size_t n, struct sdes_crypto *c, char *err,
			 size_t err_len)
{
	uint8_t ks[SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX];
	size_t f = 0, part = 0;
	int got;

	while (f <= n) {
		size_t e = f;

		while (e < n && s[e] != '|')
			e++;
		const char *p = s + f;
		size_t pn = e - f;
		uint64_t v, w;

		if (part == 0) {
			got = sdes_b64_decode(p, pn, ks, sizeof(ks));
			if (got < 0)
				return sdes_err(err, err_len, "inline key is not base64");
			if ((size_t)got != c->key_len + c->salt_len)
				return sdes_err(err, err_len,
						"inline key is %d bytes, %s needs %zu (key and salt)",
						got, srtpctx_suite_str(c->suite),
						c->key_len + c->salt_len);
			memcpy(c->key, ks, c->key_len);
			memcpy(c->salt, ks + c->key_len, c->salt_len);
			OPENSSL_cleanse(ks, sizeof(ks));
		} else if (memchr(p, ':', pn)) {
			const char *colon = memchr(p, ':', pn);

			if (c->has_mki)
				return sdes_err(err, err_len, "two MKI fields");
			if (sdes_digits(p, (size_t)(colon - p), 10, &v) ||
			    sdes_digits(colon + 1, pn - (size_t)(colon - p) - 1, 3, &w) || !w ||
			    w > SDES_MKI_LEN_MAX || v > UINT32_MAX)
				return sdes_err(err, err_len, "bad MKI \"%.*s\"", (int)pn, p);
			/* the value must fit the length it is sent in */
			if (w < 4 && v >> (8 * w))
				return sdes_err(err, err_len, "MKI %llu does not fit %llu bytes",
						(unsigned long long)v, (unsigned long long)w);
			c->has_mki = true;
			c->mki = (uint32_t)v;
			c->mki_len = (unsigned)w;
		} else {
			if (c->lifetime || c->has_mki)
				return sdes_err(err, err_len, "lifetime after MKI, or twice");
			if (pn > 2 && p[0] == '2' && p[1] == '^') {
				if (sdes_digits(p + 2, pn - 2, 2, &v) || !v ||
				    v > SDES_LIFETIME_MAX_LOG)
					return sdes_err(err, err_len, "bad lifetime \"%.*s\"", (int)pn,
							p);
				c->lifetime = 1ull << v;
				c->lifetime_pow2 = true;
			} else {
				if (sdes_digits(p, pn, 15, &v) || !v ||
				    v > 1ull << SDES_LIFETIME_MAX_LOG)
					return sdes_err(err, err_len, "bad lifetime \"%.*s\"", (int)pn,
							p);
				c->lifetime = v;
			}
		}
		part++;
		if (part > 3)
			return sdes_err(err, err_len, "too many '|' fields in the key");
		f = e + 1;
	}
	return 0;
}

int sdes_parse(const char *s, size_t len, struct sdes_crypto *out, char *err, size_t err_len)
{
	static const char *const prefixes[] = {"a=crypto:", "crypto:"};
	struct sdes_crypto c;
	size_t i = 0, f;
	uint64_t tag;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	for (size_t k = 0; k < 2; k++)
		if (len >= strlen(prefixes[k]) && !memcmp(s, prefixes[k], strlen(prefixes[k]))) {
			i = strlen(prefixes[k]);
			break;
		}
	while (len > i && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	/* tag SP */
	for (f = i; i < len && s[i] != ' '; i++)
		;
	if (sdes_digits(s + f, i - f, 9, &tag))
		return sdes_err(err, err_len, "tag \"%.*s\" is not 1-9 digits", (int)(i - f), s + f);
	if (i >= len)
		return sdes_err(err, err_len, "no crypto-suite");
	c.tag = (uint32_t)tag;
	/* crypto-suite SP */
	for (f = ++i; i < len && s[i] != ' '; i++)
		;
	if (i == f)
		return sdes_err(err, err_len, "empty crypto-suite");
	for (size_t k = f; k < i; k++)
		if (!isalnum((unsigned char)s[k]) && s[k] != '_')
			return sdes_err(err, err_len, "crypto-suite has a bad character");
	c.suite = srtpctx_suite_from_str(s + f, i - f);
	if (i >= len)
		return sdes_err(err, err_len, "no key-params");
	/* key-params: "inline:" key-info, one of them */
	for (f = ++i; i < len && s[i] != ' '; i++)
		;
	if (i - f < 8 || memcmp(s + f, "inline:", 7))
		return sdes_err(err, err_len, "key-params do not start with \"inline:\"");
	if (c.suite == SRTPCTX_SUITE_NONE) {
		if (err && err_len)
			snprintf(err, err_len, "crypto-suite not supported");
		return -EPROTONOSUPPORT;
	}
	c.key_len = srtpctx_suite_key_len(c.suite);
	c.salt_len = srtpctx_suite_salt_len(c.suite);
	if (memchr(s + f, ';', i - f)) {
		if (err && err_len)
			snprintf(err, err_len, "several inline keys (MKI key switching) not supported");
		return -EPROTONOSUPPORT;
	}
	rc = sdes_key_info(s + f + 7, i - f - 7, &c, err, err_len);
	if (rc)
		goto out;
	/* session-params: *(SP session-param), each 1*(VCHAR) */
	if (i < len) {
		size_t p0 = ++i;

		if (p0 >= len) {
			rc = sdes_err(err, err_len, "trailing space");
			goto out;
		}
		if (len - p0 >= SDES_PARAMS_MAX) {
			rc = sdes_err(err, err_len, "session parameters too long");
			goto out;
		}
		while (i < len) {
			for (f = i; i < len && s[i] != ' '; i++) {
				if (s[i] < 0x21 || s[i] > 0x7e) {
					rc = sdes_err(err, err_len, "bad session parameter");
					goto out;
				}
			}
			if (i == f) {
				rc = sdes_err(err, err_len, "empty session parameter");
				goto out;
			}
			if (sdes_param_refused(s + f, i - f)) {
				if (err && err_len)
					snprintf(err, err_len, "session parameter %.*s not supported",
						 (int)(i - f), s + f);
				rc = -EPROTONOSUPPORT;
				goto out;
			}
			if (i < len)
				i++;
		}
		memcpy(c.params, s + p0, len - p0);
		c.params[len - p0] = '\0';
	}
	*out = c;
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return rc;
}

int sdes_format(const struct sdes_crypto *c, char *buf, size_t len)
{
	uint8_t ks[SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX];
	char key[((sizeof(ks) + 2) / 3) * 4 + 1], life[32] = "", mki[32] = "";
	int n;

	if (c->suite == SRTPCTX_SUITE_NONE || c->suite >= SRTPCTX_SUITE_COUNT ||
	    c->key_len != srtpctx_suite_key_len(c->suite) ||
	    c->salt_len != srtpctx_suite_salt_len(c->suite) || c->tag > SDES_TAG_MAX)
		return -EINVAL;
	memcpy(ks, c->key, c->key_len);
	memcpy(ks + c->key_len, c->salt, c->salt_len);
	sdes_b64_encode(ks, c->key_len + c->salt_len, key);
	OPENSSL_cleanse(ks, sizeof(ks));
	if (c->lifetime && c->lifetime_pow2)
		snprintf(life, sizeof(life), "|2^%d", __builtin_ctzll(c->lifetime));
	else if (c->lifetime)
		snprintf(life, sizeof(life), "|%llu", (unsigned long long)c->lifetime);
	if (c->has_mki)
		snprintf(mki, sizeof(mki), "|%u:%u", c->mki, c->mki_len);
	n = snprintf(buf, len, "%u %s inline:%s%s%s%s%s", c->tag, srtpctx_suite_str(c->suite), key,
		     life, mki, c->params[0] ? " " : "", c->params);
	OPENSSL_cleanse(key, sizeof(key));
	if (n < 0 || (size_t)n >= len) {
		if (len)
			OPENSSL_cleanse(buf, len);
		return -ENOSPC;
	}
	return n;
}

int sdes_generate(struct sdes_crypto *c, uint32_t tag, enum srtpctx_suite suite)
{
	memset(c, 0, sizeof(*c));
	if (suite == SRTPCTX_SUITE_NONE || suite >= SRTPCTX_SUITE_COUNT || tag > SDES_TAG_MAX)
		return -EINVAL;
	c->tag = tag;
	c->suite = suite;
	c->key_len = srtpctx_suite_key_len(suite);
	c->salt_len = srtpctx_suite_salt_len(suite);
	if (RAND_bytes(c->key, (int)c->key_len) != 1 || RAND_bytes(c->salt, (int)c->salt_len) != 1) {
		OPENSSL_cleanse(c, sizeof(*c));
		return -EIO;
	}
	return 0;
}
