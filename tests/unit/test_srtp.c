// SPDX-License-Identifier: GPL-2.0-only
/*
 * SRTP glue (srtpctx) against the RFC vectors. libsrtp2 derives its session
 * keys inside and never shows them, and the RFC 7714 vectors publish session
 * keys, not master keys, so the test carries an independent reference (RFC
 * 3711 §4.3 KDF, §4.1.1 AES-CM, §4.2 HMAC-SHA1, RFC 7714 §8-§11 AEAD), built
 * on OpenSSL's raw primitives only:
 *   1. the reference reproduces RFC 3711 B.2 (AES-CM keystream), B.3 (key
 *      derivation) and RFC 7714 §16.1.1, §16.2.1, §17.1, §17.2 (AEAD);
 *   2. the glue, given a master key, must produce byte for byte what the
 *      reference produces from the same master key (RTP), must verify and
 *      decrypt what the reference protected (RTP and RTCP), and the
 *      reference must verify and decrypt what the glue protected (RTCP).
 * Then tampering (auth failure counted, buffer wiped), replay (rejected,
 * counted) and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "icepath/srtpctx.h"

/* "2B7E 1516" -> bytes; returns the count. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v = 0;

		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			fail_msg("bad hex '%c'", *s);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

/* ---- the reference ---------------------------------------------------------- */

static void ref_ctr(const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in,
		    uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, klen == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(),
					    NULL, key, iv),
			 1);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &m), 1);
	EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 §4.3.1/§4.3.3 with kdr 0: x = label at octet 7 XOR the master
 * salt (112 bits; RFC 7714's 96-bit salt padded with zero octets on the
 * right), keystream of AES-CM keyed with the master key from x * 2^16. */
static void ref_kdf(const uint8_t *mkey, size_t klen, const uint8_t *msalt, size_t slen,
		    uint8_t label, uint8_t *out, size_t len)
{
	uint8_t iv[16] = {0}, zero[64] = {0};

	memcpy(iv, msalt, slen);
	iv[7] ^= label;
	assert_true(len <= sizeof(zero));
	ref_ctr(mkey, klen, iv, zero, out, len);
}

struct ref_keys {
	size_t klen, slen, taglen;
	bool gcm;
	uint8_t k[32], s[14], a[20];	/* SRTP: labels 0, 2, 1 */
	uint8_t ck[32], cs[14], ca[20]; /* SRTCP: labels 3, 5, 4 */
};

static void ref_derive(struct ref_keys *r, enum srtpctx_suite suite, const uint8_t *mkey,
		       const uint8_t *msalt)
{
	memset(r, 0, sizeof(*r));
	r->klen = srtpctx_suite_key_len(suite);
	r->slen = srtpctx_suite_salt_len(suite);
	r->taglen = srtpctx_suite_tag_len(suite);
	r->gcm = suite == SRTPCTX_SUITE_AEAD_AES_128_GCM || suite == SRTPCTX_SUITE_AEAD_AES_256_GCM;
	ref_kdf(mkey, r->klen, msalt, r->slen, 0, r->k, r->klen);
	ref_kdf(mkey, r->klen, msalt, r->slen, 2, r->s, r->slen);
	ref_kdf(mkey, r->klen, msalt, r->slen, 1, r->a, 20);
	ref_kdf(mkey, r->klen, msalt, r->slen, 3, r->ck, r->klen);
	ref_kdf(mkey, r->klen, msalt, r->slen, 5, r->cs, r->slen);
	ref_kdf(mkey, r->klen, msalt, r->slen, 4, r->ca, 20);
}

static void ref_hmac(const uint8_t *key, const uint8_t *a, size_t alen, const uint8_t *b,
		     size_t blen, uint8_t out[20])
{
	uint8_t buf[2048];
	unsigned n = 20;

	assert_true(alen + blen <= sizeof(buf));
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	assert_non_null(HMAC(EVP_sha1(), key, 20, buf, alen + blen, out, &n));
}

/* AES-GCM with a 12-octet IV and 16-octet tag; dec: verify (returns 0/-1). */
static int ref_gcm(bool dec, const uint8_t *key, size_t klen, const uint8_t iv[12],
		   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
		   uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *ci = klen == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
	int n = 0, m = 0, ok;

	assert_non_null(c);
	assert_int_equal(EVP_CipherInit_ex(c, ci, NULL, key, iv, dec ? 0 : 1), 1);
	assert_int_equal(EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen), 1);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
	if (dec)
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
	ok = EVP_CipherFinal_ex(c, out + n, &m);
	if (!dec)
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(c);
	return ok == 1 ? 0 : -1;
}

/* RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16). */
static void ref_cm_iv(const uint8_t *salt, uint32_t ssrc, uint64_t index, uint8_t iv[16])
{
	memset(iv, 0, 16);
	memcpy(iv, salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* SRTP of an RTP packet with a 12-octet header (no CSRC, no extension),
 * ROC roc: RFC 3711 §3.1 (AES-CM + HMAC-SHA1) or RFC 7714 §8.1 (GCM). */
static size_t ref_protect_rtp(const struct ref_keys *r, uint32_t roc, const uint8_t *pkt,
			      size_t len, uint8_t *out)
{
	uint32_t ssrc = be32(pkt + 8);
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);

	memcpy(out, pkt, 12);
	if (r->gcm) {
		/* RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt */
		uint8_t iv[12] = {0, 0, pkt[8], pkt[9], pkt[10], pkt[11], (uint8_t)(roc >> 24),
				  (uint8_t)(roc >> 16), (uint8_t)(roc >> 8), (uint8_t)roc,
				  pkt[2], pkt[3]};

		for (int i = 0; i < 12; i++)
			iv[i] ^= r->s[i];
		ref_gcm(false, r->k, r->klen, iv, pkt, 12, pkt + 12, len - 12, out + 12, out + len);
		return len + 16;
	}
	uint8_t iv[16], mac[20], rocb[4] = {(uint8_t)(roc >> 24), (uint8_t)(roc >> 16),
					      (uint8_t)(roc >> 8), (uint8_t)roc};

	ref_cm_iv(r->s, ssrc, (uint64_t)roc << 16 | seq, iv);
	ref_ctr(r->k, r->klen, iv, pkt + 12, out + 12, len - 12);
	/* RFC 3711 §4.2: the tag covers the packet and the ROC */
	ref_hmac(r->a, out, len, rocb, 4, mac);
	memcpy(out + len, mac, r->taglen);
	return len + r->taglen;
}

/* SRTCP with the 31-bit index idx, E set: RFC 3711 §3.4 / RFC 7714 §9.1. */
static size_t ref_protect_rtcp(const struct ref_keys *r, uint32_t idx, const uint8_t *pkt,
			       size_t len, uint8_t *out)
{
	uint8_t e[4] = {(uint8_t)(0x80 | idx >> 24), (uint8_t)(idx >> 16), (uint8_t)(idx >> 8),
			(uint8_t)idx};

	memcpy(out, pkt, 8);
	if (r->gcm) {
		/* RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || index)
		 * XOR salt; AAD = the first 8 octets and E || index */
		uint8_t iv[12] = {0, 0, pkt[4], pkt[5], pkt[6], pkt[7], 0, 0,
				  (uint8_t)(idx >> 24 & 0x7f), (uint8_t)(idx >> 16),
				  (uint8_t)(idx >> 8), (uint8_t)idx};
		uint8_t aad[12];

		for (int i = 0; i < 12; i++)
			iv[i] ^= r->cs[i];
		memcpy(aad, pkt, 8);
		memcpy(aad + 8, e, 4);
		ref_gcm(false, r->ck, r->klen, iv, aad, 12, pkt + 8, len - 8, out + 8, out + len);
		memcpy(out + len + 16, e, 4);
		return len + 20;
	}
	uint8_t iv[16], mac[20];

	ref_cm_iv(r->cs, be32(pkt + 4), idx, iv);
	ref_ctr(r->ck, r->klen, iv, pkt + 8, out + 8, len - 8);
	memcpy(out + len, e, 4);
	ref_hmac(r->ca, out, len + 4, NULL, 0, mac);
	memcpy(out + len + 4, mac, 10); /* SRTCP always has the 80-bit tag */
	return len + 14;
}

/* Verify and decrypt SRTCP; returns the plaintext length or 0. */
static size_t ref_unprotect_rtcp(const struct ref_keys *r, const uint8_t *in, size_t len,
				 uint8_t *out)
{
	if (r->gcm) {
		size_t clen = len - 20;
		uint32_t idx = be32(in + len - 4) & 0x7fffffff;
		uint8_t iv[12] = {0, 0, in[4], in[5], in[6], in[7], 0, 0,
				  (uint8_t)(idx >> 24), (uint8_t)(idx >> 16),
				  (uint8_t)(idx >> 8), (uint8_t)idx};
		uint8_t aad[12], tag[16];

		for (int i = 0; i < 12; i++)
			iv[i] ^= r->cs[i];
		memcpy(aad, in, 8);
		memcpy(aad + 8, in + len - 4, 4);
		memcpy(tag, in + clen, 16);
		memcpy(out, in, 8);
		if (ref_gcm(true, r->ck, r->klen, iv, aad, 12, in + 8, clen - 8, out + 8, tag))
			return 0;
		return clen;
	}
	size_t clen = len - 14;
	uint32_t idx = be32(in + clen) & 0x7fffffff;
	uint8_t iv[16], mac[20];

	ref_hmac(r->ca, in, clen + 4, NULL, 0, mac);
	if (memcmp(mac, in + clen + 4, 10))
		return 0;
	memcpy(out, in, 8);
	ref_cm_iv(r->cs, be32(in + 4), idx, iv);
	ref_ctr(r->ck, r->klen, iv, in + 8, out + 8, clen - 8);
	return clen;
}

/* ---- 1. the reference against the RFCs -------------------------------------- */

/* RFC 3711 B.2: AES-CM keystream. */
static void test_ref_rfc3711_b2_aes_cm(void **state)
{
	uint8_t key[16], salt[14], iv[16], zero[48] = {0}, ks[48], want[48];

	hex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof(key)); /* session key */
	hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt, sizeof(salt));   /* session salt */
	hex("E03EAD0935C95E80E166B16DD92B4EB4"			   /* counter ...0000 */
	    "D23513162B02D0F72A43A2FE4A5F97AB"			   /* counter ...0001 */
	    "41E95B3BB0A2E8DD477901E4FCA894C0",			   /* counter ...0002 */
	    want, sizeof(want));
	ref_cm_iv(salt, 0, 0, iv); /* SSRC 0, index 0 */
	ref_ctr(key, 16, iv, zero, ks, sizeof(ks));
	assert_memory_equal(ks, want, sizeof(want));
}

/* RFC 3711 B.3: key derivation. */
static void test_ref_rfc3711_b3_kdf(void **state)
{
	uint8_t mk[16], ms[14], out[20], want[20];

	hex("E1F97A0D3E018BE0D64FA32C06DE4139", mk, sizeof(mk)); /* master key */
	hex("0EC675AD498AFEEBB6960B3AABE6", ms, sizeof(ms));	 /* master salt */
	ref_kdf(mk, 16, ms, 14, 0, out, 16);			 /* cipher key */
	hex("C61E7A93744F39EE10734AFE3FF7A087", want, sizeof(want));
	assert_memory_equal(out, want, 16);
	ref_kdf(mk, 16, ms, 14, 2, out, 14); /* cipher salt */
	hex("30CBBC08863D8C85D49DB34A9AE1", want, sizeof(want));
	assert_memory_equal(out, want, 14);
	ref_kdf(mk, 16, ms, 14, 1, out, 20); /* auth key, first 160 bits */
	hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", want, sizeof(want));
	assert_memory_equal(out, want, 20);
}

/* RFC 7714 §16: one RTP packet, "Gallia est omnis divisa in partes tres". */
static const char rfc7714_rtp[] = "8040f17b 8041f8d3 5501a0b2" /* V=2 PT=64 seq f17b, ts, SSRC */
				  "47616c6c 69612065 7374206f 6d6e6973 20646976"
				  "69736120 696e2070 61727465 73207472 6573";
/* RFC 7714 §17: one RTCP SR with SRTCP index 0x5d4. */
static const char rfc7714_rtcp[] = "81c8000d 4d617273" /* SR, length 13, SSRC */
				   "4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
				   "deadbeef deadbeef deadbeef deadbeef deadbeef";

static void ref_session_keys(struct ref_keys *r, size_t klen)
{
	memset(r, 0, sizeof(*r));
	r->klen = klen;
	r->slen = 12;
	r->taglen = 16;
	r->gcm = true;
	/* RFC 7714 §16: key 00 01 02 ..., salt "Quid pro quo" (both directions) */
	for (size_t i = 0; i < klen; i++)
		r->k[i] = r->ck[i] = (uint8_t)i;
	hex("51756964 2070726f 2071756f", r->s, sizeof(r->s));
	memcpy(r->cs, r->s, 12);
}

static void test_ref_rfc7714_aead(void **state)
{
	static const struct {
		size_t klen;
		const char *rtp, *rtcp;
	} v[] = {
		{16, /* §16.1.1 */
		 "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
		 "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
		 /* §17.1 */
		 "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
		 "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872"
		 "45d9eade 800005d4"},
		{32, /* §16.2.1 */
		 "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238"
		 "9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
		 /* §17.2 */
		 "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50"
		 "a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c"
		 "b26ac3be 800005d4"},
	};
	uint8_t pkt[128], want[128], out[128];
	size_t n, w;
	struct ref_keys r;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ref_session_keys(&r, v[i].klen);
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		w = hex(v[i].rtp, want, sizeof(want));
		assert_int_equal(ref_protect_rtp(&r, 0, pkt, n, out), w);
		assert_memory_equal(out, want, w);
		n = hex(rfc7714_rtcp, pkt, sizeof(pkt));
		w = hex(v[i].rtcp, want, sizeof(want));
		assert_int_equal(ref_protect_rtcp(&r, 0x5d4, pkt, n, out), w);
		assert_memory_equal(out, want, w);
		assert_int_equal(ref_unprotect_rtcp(&r, want, w, out), n);
		assert_memory_equal(out, pkt, n);
	}
}

/* ---- 2. the glue against the reference --------------------------------------- */

struct pair {
	struct srtpctx *tx, *rx;
	struct ref_keys ref;
	uint8_t mk[32], ms[14];
};

static void pair_new(struct pair *p, enum srtpctx_suite suite)
{
	size_t kl = srtpctx_suite_key_len(suite), sl = srtpctx_suite_salt_len(suite);

	/* RFC 3711 B.3's master key and salt, stretched for the longer key */
	hex("E1F97A0D3E018BE0D64FA32C06DE4139 0123456789ABCDEF FEDCBA9876543210", p->mk,
	    sizeof(p->mk));
	hex("0EC675AD498AFEEBB6960B3AABE6", p->ms, sizeof(p->ms));
	assert_int_equal(srtpctx_new(&p->tx, suite, SRTPCTX_OUTBOUND, p->mk, kl, p->ms, sl, 0), 0);
	assert_int_equal(srtpctx_new(&p->rx, suite, SRTPCTX_INBOUND, p->mk, kl, p->ms, sl, 0), 0);
	assert_int_equal(srtpctx_suite(p->tx), suite);
	ref_derive(&p->ref, suite, p->mk, p->ms);
}

static void pair_free(struct pair *p)
{
	srtpctx_free(p->tx);
	srtpctx_free(p->rx);
}

static const enum srtpctx_suite all_suites[] = {
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80,
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTPCTX_SUITE_AEAD_AES_128_GCM,
	SRTPCTX_SUITE_AEAD_AES_256_GCM,
};

static void test_glue_rtp_matches_reference(void **state)
{
	for (size_t s = 0; s < sizeof(all_suites) / sizeof(all_suites[0]); s++) {
		struct pair p;
		uint8_t pkt[128], glue[128 + SRTPCTX_TRAILER_MAX], ref[160];
		size_t n, len, rlen;

		pair_new(&p, all_suites[s]);
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		/* three sequence numbers, the last crossing into ROC 1 */
		for (int k = 0; k < 3; k++) {
			static const uint16_t seqs[] = {0xfffe, 0xffff, 0x0000};
			uint32_t roc = k == 2 ? 1 : 0;

			pkt[2] = (uint8_t)(seqs[k] >> 8);
			pkt[3] = (uint8_t)seqs[k];
			memcpy(glue, pkt, n);
			len = n;
			assert_int_equal(srtpctx_protect_rtp(p.tx, glue, &len, sizeof(glue)), 0);
			rlen = ref_protect_rtp(&p.ref, roc, pkt, n, ref);
			assert_int_equal(len, rlen);
			assert_memory_equal(glue, ref, rlen);
			assert_int_equal(srtpctx_unprotect_rtp(p.rx, ref, &rlen), 0);
			assert_int_equal(rlen, n);
			assert_memory_equal(ref, pkt, n);
		}
		assert_int_equal(srtpctx_stats(p.tx)->rtp_ok, 3);
		assert_int_equal(srtpctx_stats(p.rx)->rtp_ok, 3);
		pair_free(&p);
	}
}

static void test_glue_rtcp_matches_reference(void **state)
{
	for (size_t s = 0; s < sizeof(all_suites) / sizeof(all_suites[0]); s++) {
		struct pair p;
		uint8_t pkt[128], buf[128 + SRTPCTX_TRAILER_MAX], out[160];
		size_t n, len;

		pair_new(&p, all_suites[s]);
		n = hex(rfc7714_rtcp, pkt, sizeof(pkt));
		/* glue -> reference: whatever index libsrtp2 chose is in the trailer */
		memcpy(buf, pkt, n);
		len = n;
		assert_int_equal(srtpctx_protect_rtcp(p.tx, buf, &len, sizeof(buf)), 0);
		assert_int_equal(len, n + 4 + (p.ref.gcm ? 16 : 10));
		assert_int_equal(ref_unprotect_rtcp(&p.ref, buf, len, out), n);
		assert_memory_equal(out, pkt, n);
		/* reference -> glue, RFC 7714's index */
		len = ref_protect_rtcp(&p.ref, 0x5d4, pkt, n, buf);
		assert_int_equal(srtpctx_unprotect_rtcp(p.rx, buf, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(buf, pkt, n);
		assert_int_equal(srtpctx_stats(p.rx)->rtcp_ok, 1);
		pair_free(&p);
	}
}

/* A tx context rebuilt from stored keys (a restart) renumbers: the same
 * packet under the same key never goes out with the keystream it had
 * before the restart, the receiver decrypts it as a new source, and its
 * reports about the new SSRC are taken back to the old one. */
static void test_renumber_after_restore(void **state)
{
	for (size_t s = 0; s < sizeof(all_suites) / sizeof(all_suites[0]); s++) {
		struct pair p;
		struct srtpctx *again;
		uint8_t pkt[128], before[160], after[160], second[160], rtcp[64];
		size_t n, lb, la, l2, kl = srtpctx_suite_key_len(all_suites[s]);
		uint32_t ssrc, nssrc, v;

		pair_new(&p, all_suites[s]);
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		memcpy(&ssrc, pkt + 8, 4);
		memcpy(before, pkt, n);
		lb = n;
		assert_int_equal(srtpctx_protect_rtp(p.tx, before, &lb, sizeof(before)), 0);
		/* "restart": a new context from the same key, renumbering */
		assert_int_equal(srtpctx_new(&again, all_suites[s], SRTPCTX_OUTBOUND, p.mk, kl,
					     p.ms, srtpctx_suite_salt_len(all_suites[s]), 0),
				 0);
		srtpctx_renumber(again);
		memcpy(after, pkt, n);
		la = n;
		assert_int_equal(srtpctx_protect_rtp(again, after, &la, sizeof(after)), 0);
		assert_int_equal(la, lb);
		memcpy(&nssrc, after + 8, 4);
		assert_int_not_equal(nssrc, ssrc);
		/* no payload byte under the keystream it had before */
		assert_memory_not_equal(after + 12, before + 12, n - 12);
		/* the same source stays under the same new SSRC */
		memcpy(second, pkt, n);
		second[3] ^= 1; /* next sequence number */
		l2 = n;
		assert_int_equal(srtpctx_protect_rtp(again, second, &l2, sizeof(second)), 0);
		assert_memory_equal(second + 8, after + 8, 4);
		/* the receiver takes both (a new stream, index from 0) */
		assert_int_equal(srtpctx_unprotect_rtp(p.rx, after, &la), 0);
		assert_int_equal(srtpctx_unprotect_rtp(p.rx, second, &l2), 0);
		assert_memory_equal(after + 12, pkt + 12, n - 12);
		/* RTCP's sender SSRC is renumbered alike, a report about the new
		 * SSRC comes back about the old one */
		memset(rtcp, 0, sizeof(rtcp));
		rtcp[0] = 0x81; /* RR, one report block */
		rtcp[1] = 201;
		rtcp[3] = 7;
		memcpy(rtcp + 4, &nssrc, 4); /* a sender that is no renumbered one */
		memcpy(rtcp + 8, &nssrc, 4); /* about the new SSRC */
		srtpctx_unrenumber_rtcp(again, rtcp, 32);
		memcpy(&v, rtcp + 8, 4);
		assert_int_equal(v, ssrc);
		memcpy(&v, rtcp + 4, 4);
		assert_int_equal(v, nssrc); /* the reporter's own SSRC is left */
		memcpy(rtcp + 4, &ssrc, 4);
		la = 32;
		assert_int_equal(srtpctx_protect_rtcp(again, rtcp, &la, sizeof(rtcp)), 0);
		memcpy(&v, rtcp + 4, 4);
		assert_int_equal(v, nssrc);
		srtpctx_free(again);
		pair_free(&p);
	}
}

/* ---- 3. failures -------------------------------------------------------------- */

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_tamper_counted_and_wiped(void **state)
{
	for (size_t s = 0; s < sizeof(all_suites) / sizeof(all_suites[0]); s++) {
		struct pair p;
		uint8_t pkt[128], buf[128 + SRTPCTX_TRAILER_MAX];
		size_t n, len, where[] = {1, 20, 0}; /* header, payload, last tag byte */

		pair_new(&p, all_suites[s]);
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		for (int k = 0; k < 3; k++) {
			pkt[3] = (uint8_t)k; /* a fresh index each time */
			memcpy(buf, pkt, n);
			len = n;
			assert_int_equal(srtpctx_protect_rtp(p.tx, buf, &len, sizeof(buf)), 0);
			buf[where[k] ? where[k] : len - 1] ^= 0x01;
			assert_int_equal(srtpctx_unprotect_rtp(p.rx, buf, &len), -EBADMSG);
			assert_int_equal(len, 0);
			assert_true(all_zero(buf, n));
		}
		/* SRTCP: flip a payload bit, then the E bit (RFC 3711 §3.4) */
		n = hex(rfc7714_rtcp, pkt, sizeof(pkt));
		for (int k = 0; k < 2; k++) {
			memcpy(buf, pkt, n);
			len = n;
			assert_int_equal(srtpctx_protect_rtcp(p.tx, buf, &len, sizeof(buf)), 0);
			if (k == 0)
				buf[12] ^= 0x80;
			else
				buf[len - 4 - (p.ref.gcm ? 0 : 10)] ^= 0x80;
			size_t keep = len;

			assert_int_not_equal(srtpctx_unprotect_rtcp(p.rx, buf, &len), 0);
			assert_true(all_zero(buf, keep));
		}
		assert_int_equal(srtpctx_stats(p.rx)->auth_fail + srtpctx_stats(p.rx)->other_fail, 5);
		assert_true(srtpctx_stats(p.rx)->auth_fail >= 3);
		assert_int_equal(srtpctx_stats(p.rx)->rtp_ok, 0);
		pair_free(&p);
	}
}

static void test_replay_rejected(void **state)
{
	for (size_t s = 0; s < sizeof(all_suites) / sizeof(all_suites[0]); s++) {
		struct pair p;
		uint8_t pkt[128], wire[160], buf[160];
		size_t n, len, wlen;

		pair_new(&p, all_suites[s]);
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		memcpy(wire, pkt, n);
		wlen = n;
		assert_int_equal(srtpctx_protect_rtp(p.tx, wire, &wlen, sizeof(wire)), 0);
		memcpy(buf, wire, wlen);
		len = wlen;
		assert_int_equal(srtpctx_unprotect_rtp(p.rx, buf, &len), 0);
		memcpy(buf, wire, wlen);
		len = wlen;
		assert_int_equal(srtpctx_unprotect_rtp(p.rx, buf, &len), -EALREADY);
		assert_true(all_zero(buf, wlen));
		/* SRTCP replay too */
		n = hex(rfc7714_rtcp, pkt, sizeof(pkt));
		wlen = ref_protect_rtcp(&p.ref, 7, pkt, n, wire);
		memcpy(buf, wire, wlen);
		len = wlen;
		assert_int_equal(srtpctx_unprotect_rtcp(p.rx, buf, &len), 0);
		memcpy(buf, wire, wlen);
		len = wlen;
		assert_int_equal(srtpctx_unprotect_rtcp(p.rx, buf, &len), -EALREADY);
		assert_int_equal(srtpctx_stats(p.rx)->replay, 2);
		/* the sender refuses to protect the same index twice */
		n = hex(rfc7714_rtp, pkt, sizeof(pkt));
		len = n;
		memcpy(buf, pkt, n);
		assert_int_equal(srtpctx_protect_rtp(p.tx, buf, &len, sizeof(buf)), -EALREADY);
		pair_free(&p);
	}
}

static void test_malformed_and_misuse(void **state)
{
	struct pair p;
	uint8_t key[32] = {1}, buf[200] = {0};
	size_t len;
	struct srtpctx *c;

	pair_new(&p, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80);
	/* too short, not version 2, an RTCP type through the RTP call */
	static const struct {
		size_t len;
		uint8_t b0, b1;
	} bad[] = {{0, 0, 0}, {1, 0x80, 0}, {11, 0x80, 0}, {40, 0x40, 0}, {40, 0x80, 200}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0xaa, sizeof(buf));
		buf[0] = bad[i].b0;
		buf[1] = bad[i].b1;
		len = bad[i].len;
		assert_int_equal(srtpctx_unprotect_rtp(p.rx, buf, &len), -EINVAL);
		assert_true(all_zero(buf, bad[i].len));
	}
	/* a valid header whose packet is shorter than the tag */
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x80;
	len = 14;
	assert_int_not_equal(srtpctx_unprotect_rtp(p.rx, buf, &len), 0);
	uint8_t *big = calloc(1, 70000);

	assert_non_null(big);
	big[0] = 0x80;
	len = 70000;
	assert_int_equal(srtpctx_unprotect_rtp(p.rx, big, &len), -EMSGSIZE);
	free(big);
	/* an RTP packet through the RTCP call */
	buf[0] = 0x80;
	buf[1] = 0;
	len = 40;
	assert_int_equal(srtpctx_unprotect_rtcp(p.rx, buf, &len), -EINVAL);
	assert_true(srtpctx_stats(p.rx)->malformed >= 7);
	assert_int_equal(srtpctx_stats(p.rx)->rtp_ok, 0);
	/* no room for the tag; wrong direction */
	buf[0] = 0x80;
	len = 40;
	assert_int_equal(srtpctx_protect_rtp(p.tx, buf, &len, 40 + SRTPCTX_TRAILER_MAX - 1),
			 -ENOSPC);
	assert_int_equal(srtpctx_protect_rtp(p.rx, buf, &len, sizeof(buf)), -EINVAL);
	assert_int_equal(srtpctx_unprotect_rtp(p.tx, buf, &len), -EINVAL);
	pair_free(&p);
	/* key and salt lengths must be the suite's */
	assert_int_equal(srtpctx_new(&c, SRTPCTX_SUITE_AEAD_AES_128_GCM, SRTPCTX_INBOUND, key, 16,
				     key, 14, 0),
			 -EINVAL);
	assert_null(c);
	assert_int_equal(srtpctx_new(&c, SRTPCTX_SUITE_NONE, SRTPCTX_INBOUND, key, 16, key, 14, 0),
			 -EINVAL);
	assert_int_equal(srtpctx_new(&c, SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, SRTPCTX_INBOUND,
				     key, 16, key, 14, 10),
			 -EINVAL);
	srtpctx_free(NULL);
}

static void test_suite_names(void **state)
{
	for (unsigned s = 1; s < SRTPCTX_SUITE_COUNT; s++) {
		const char *n = srtpctx_suite_str((enum srtpctx_suite)s);

		assert_int_equal(srtpctx_suite_from_str(n, strlen(n)), s);
	}
	assert_int_equal(srtpctx_suite_from_str("AES_CM_128_HMAC_SHA1_8", 22), SRTPCTX_SUITE_NONE);
	assert_int_equal(srtpctx_suite_from_str("F8_128_HMAC_SHA1_80", 19), SRTPCTX_SUITE_NONE);
	assert_string_equal(srtpctx_suite_str(SRTPCTX_SUITE_COUNT), "unknown");
	assert_int_equal(srtpctx_suite_key_len(SRTPCTX_SUITE_AEAD_AES_256_GCM), 32);
	assert_int_equal(srtpctx_suite_salt_len(SRTPCTX_SUITE_AEAD_AES_256_GCM), 12);
}

static int setup(void **state)
{
	return srtpctx_lib_init();
}

static int teardown(void **state)
{
	srtpctx_lib_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_rfc3711_b2_aes_cm),
		cmocka_unit_test(test_ref_rfc3711_b3_kdf),
		cmocka_unit_test(test_ref_rfc7714_aead),
		cmocka_unit_test(test_glue_rtp_matches_reference),
		cmocka_unit_test(test_glue_rtcp_matches_reference),
		cmocka_unit_test(test_renumber_after_restore),
		cmocka_unit_test(test_tamper_counted_and_wiped),
		cmocka_unit_test(test_replay_rejected),
		cmocka_unit_test(test_malformed_and_misuse),
		cmocka_unit_test(test_suite_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
