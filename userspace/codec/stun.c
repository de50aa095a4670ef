// SPDX-License-Identifier: GPL-2.0-only
/*
 * STUN codec (RFC 8489), TURN methods/attributes (RFC 8656), ICE attributes
 * (RFC 8445 §16.1). See include/icepath/stun.h for the contract.
 *
 * The parser is on the per-packet path: it validates framing in one walk,
 * records attribute offsets and never copies or allocates. Integrity needs a
 * key and a hash, so it is a separate call made only for messages that need
 * it (requests to us, responses to our authenticated requests).
 */
#include <string.h>

/* SHA1_Init() and friends: see stun_hmac() */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "icepath/stun.h"

/* RFC 2104: SHA-1 and SHA-256 both hash in 64-byte blocks. */
#define STUN_HMAC_BLOCK 64
/* RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to no fewer than
 * 16 bytes, in multiples of 4. */
#define STUN_HMAC_SHA256_MIN_LEN 16
#define STUN_FINGERPRINT_LEN	 4  /* CRC-32, RFC 8489 §14.7 */
#define STUN_USERHASH_LEN	 32 /* SHA-256, RFC 8489 §14.4 */
/* RFC 8489 §14.1/§14.2: family byte values of the address attributes. */
#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02
/* RFC 8489 §14.8: ERROR-CODE class 3..6, number 0..99. */
#define STUN_ERROR_CLASS_MIN 3
#define STUN_ERROR_CLASS_MAX 6
#define STUN_ERROR_HDR_LEN   4
/* RFC 8656 §12: channel numbers 0x4000 through 0x4FFF. */
#define STUN_CHANNEL_MIN 0x4000
#define STUN_CHANNEL_MAX 0x4FFF
/* RFC 8489 §14: types 0x0000-0x7FFF must be understood by the receiver. */
#define STUN_ATTR_OPTIONAL_MIN 0x8000

static const char *const stun_err_text[STUN_ERR_MAX] = {
	[STUN_ERR_NONE] = "no error",
	[STUN_ERR_NOT_STUN] = "not a STUN message (first two bits are not 00)",
	[STUN_ERR_TRUNCATED] = "truncated: shorter than the STUN header or its length field",
	[STUN_ERR_BAD_LENGTH] =
		"bad length: not a multiple of 4, over 65535 bytes, or bytes after the message",
	[STUN_ERR_BAD_COOKIE] = "magic cookie absent (RFC 3489 peer) where RFC 8489 requires it",
	[STUN_ERR_ATTR_OVERRUN] = "attribute overruns the message",
	[STUN_ERR_TOO_MANY_ATTRS] = "too many attributes in one message",
	[STUN_ERR_ATTR_AFTER_INTEGRITY] =
		"attribute after MESSAGE-INTEGRITY (only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow)",
	[STUN_ERR_ATTR_AFTER_FINGERPRINT] = "attribute after FINGERPRINT (it must be last)",
	[STUN_ERR_FINGERPRINT] = "FINGERPRINT mismatch",
	[STUN_ERR_INTEGRITY] = "MESSAGE-INTEGRITY mismatch (wrong key or altered message)",
	[STUN_ERR_NO_INTEGRITY] = "MESSAGE-INTEGRITY required but absent",
	[STUN_ERR_BAD_ATTR] = "attribute value malformed for its type",
	[STUN_ERR_NO_SPACE] = "buffer too small",
	[STUN_ERR_BAD_CHANNEL] = "channel number outside 0x4000-0x4FFF",
	[STUN_ERR_BAD_ARG] = "invalid argument",
	[STUN_ERR_CRYPTO] = "libcrypto failure (out of memory?)",
};

const char *stun_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= STUN_ERR_MAX)
		return "unknown STUN codec error";
	return stun_err_text[err];
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static inline size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/*
 * RFC 8489 §5: the class bits C1/C0 sit at bits 8 and 4 of the type, the
 * 12 method bits around them: M11..M7 C1 M6..M4 C0 M3..M0.
 */
static uint16_t stun_type_encode(uint16_t method, enum stun_class cls)
{
	return (method & 0x000f) | (method & 0x0070) << 1 | (method & 0x0f80) << 2 |
	       (cls & 1) << 4 | (cls & 2) << 7;
}

static void stun_type_decode(uint16_t type, uint16_t *method, enum stun_class *cls)
{
	*method = (type & 0x000f) | (type >> 1 & 0x0070) | (type >> 2 & 0x0f80);
	*cls = (enum stun_class)((type >> 4 & 1) | (type >> 7 & 2));
}

/* Comprehension-required types this codec understands; any other type below
 * 0x8000 goes to m->unknown so a server can answer 420 (RFC 8489 §6.3.1). */
static bool stun_attr_known(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_CHANNEL_NUMBER:
	case STUN_ATTR_LIFETIME:
	case STUN_ATTR_XOR_PEER_ADDRESS:
	case STUN_ATTR_DATA:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_XOR_RELAYED_ADDRESS:
	case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
	case STUN_ATTR_REQUESTED_TRANSPORT:
	case STUN_ATTR_DONT_FRAGMENT:
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
	case STUN_ATTR_PASSWORD_ALGORITHM:
	case STUN_ATTR_USERHASH:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_PRIORITY:
	case STUN_ATTR_USE_CANDIDATE:
		return true;
	default:
		return false;
	}
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	if (!buf || len < STUN_HEADER_LEN || (buf[0] & 0xc0))
		return false;
	uint16_t alen = get16(buf + 2);
	return alen % 4 == 0 && (size_t)STUN_HEADER_LEN + alen <= len &&
	       get32(buf + 4) == STUN_MAGIC_COOKIE;
}

static uint32_t stun_crc(const uint8_t *buf, size_t len)
{
	return (uint32_t)crc32(0, buf, (uInt)len) ^ STUN_FINGERPRINT_XOR;
}

static void stun_note_unknown(struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->nunknown; i++)
		if (m->unknown[i] == type)
			return;
	/* Past STUN_MAX_UNKNOWN the 420 answer lists the first ones only; the
	 * request is refused all the same. */
	if (m->nunknown < STUN_MAX_UNKNOWN)
		m->unknown[m->nunknown++] = type;
}

int stun_parse(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	bool after_mi = false, after_mi256 = false;
	uint16_t type, alen;
	size_t mlen, off;

	if (!m || (!buf && len))
		return -STUN_ERR_BAD_ARG;
	m->buf = buf;
	m->len = 0;
	m->nattrs = 0;
	m->nunknown = 0;
	m->integrity = m->integrity_sha256 = m->fingerprint = -1;

	if (len < STUN_HEADER_LEN)
		return -STUN_ERR_TRUNCATED;
	if (buf[0] & 0xc0)
		return -STUN_ERR_NOT_STUN;
	type = get16(buf);
	alen = get16(buf + 2);
	if (alen % 4)
		return -STUN_ERR_BAD_LENGTH;
	mlen = STUN_HEADER_LEN + (size_t)alen;
	if (mlen > len)
		return -STUN_ERR_TRUNCATED;
	/* One message per datagram: trailing bytes mean a broken sender. */
	if (mlen < len)
		return -STUN_ERR_BAD_LENGTH;
	/* struct stun_attr keeps 16-bit offsets: the last 20 of the 65555
	 * bytes a length field allows are refused (no UDP datagram carries
	 * them anyway: 65507 bytes at most over IPv4). */
	if (mlen > UINT16_MAX)
		return -STUN_ERR_BAD_LENGTH;

	m->len = mlen;
	stun_type_decode(type, &m->method, &m->cls);
	m->has_cookie = get32(buf + 4) == STUN_MAGIC_COOKIE;
	memcpy(m->tid, buf + 8, STUN_TID_LEN);

	/* off and mlen are multiples of 4, so an attribute header always fits
	 * and a value that fits also fits with its padding. */
	for (off = STUN_HEADER_LEN; off < mlen;) {
		uint16_t at = get16(buf + off), al = get16(buf + off + 2);
		size_t voff = off + STUN_ATTR_HEADER_LEN;

		if (m->fingerprint >= 0) /* RFC 8489 §14.7: FINGERPRINT is last */
			return -STUN_ERR_ATTR_AFTER_FINGERPRINT;
		if (voff + pad4(al) > mlen)
			return -STUN_ERR_ATTR_OVERRUN;
		off = voff + pad4(al);
		/* RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only -SHA256 and
		 * FINGERPRINT count, after -SHA256 only FINGERPRINT; the rest is
		 * ignored (a duplicate integrity attribute included). */
		if (at != STUN_ATTR_FINGERPRINT &&
		    (after_mi256 || (after_mi && at != STUN_ATTR_MESSAGE_INTEGRITY_SHA256)))
			continue;
		if (m->nattrs == STUN_MAX_ATTRS)
			return -STUN_ERR_TOO_MANY_ATTRS;

		switch (at) {
		case STUN_ATTR_MESSAGE_INTEGRITY:
			if (al != STUN_HMAC_SHA1_LEN)
				return -STUN_ERR_BAD_ATTR;
			m->integrity = (int)m->nattrs;
			after_mi = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			if (al < STUN_HMAC_SHA256_MIN_LEN || al > STUN_HMAC_SHA256_LEN || al % 4)
				return -STUN_ERR_BAD_ATTR;
			m->integrity_sha256 = (int)m->nattrs;
			after_mi256 = true;
			break;
		case STUN_ATTR_FINGERPRINT:
			if (al != STUN_FINGERPRINT_LEN)
				return -STUN_ERR_BAD_ATTR;
			m->fingerprint = (int)m->nattrs;
			break;
		default:
			if (at < STUN_ATTR_OPTIONAL_MIN && !stun_attr_known(at))
				stun_note_unknown(m, at);
		}
		m->attrs[m->nattrs++] = (struct stun_attr){ .type = at, .len = al, .offset = voff };
	}

	if (m->fingerprint >= 0) {
		const struct stun_attr *fp = &m->attrs[m->fingerprint];

		/* CRC over everything before the attribute; the length field
		 * already counts FINGERPRINT since it is last. */
		if (stun_crc(buf, fp->offset - STUN_ATTR_HEADER_LEN) != get32(buf + fp->offset))
			return -STUN_ERR_FINGERPRINT;
	}
	return (int)mlen;
}

const struct stun_attr *stun_msg_find(const struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	return NULL;
}

/* ---- typed getters ----------------------------------------------------- */

/*
 * RFC 8489 §14.1 (MAPPED-ADDRESS) and §14.2 (XOR-MAPPED-ADDRESS):
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0 0 0 0 0 0 0|    Family     |         Port                  |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                 Address (32 bits or 128 bits)                 |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * XOR variants: port ^ top 16 bits of the cookie, address ^ cookie (IPv4)
 * or ^ cookie || transaction id (IPv6). xk is NULL for the plain form.
 */
static int stun_addr_decode(const uint8_t *v, uint16_t len, const uint8_t *xk,
			    struct netaddr *out)
{
	uint8_t addr[16];
	uint16_t port;
	size_t alen;

	if (len < 4)
		return -STUN_ERR_BAD_ATTR;
	port = get16(v + 2);
	switch (v[1]) {
	case STUN_FAMILY_IPV4:
		alen = 4;
		break;
	case STUN_FAMILY_IPV6:
		alen = 16;
		break;
	default:
		return -STUN_ERR_BAD_ATTR;
	}
	if (len != 4 + alen)
		return -STUN_ERR_BAD_ATTR;
	memcpy(addr, v + 4, alen);
	if (xk) {
		port ^= get16(xk);
		for (size_t i = 0; i < alen; i++)
			addr[i] ^= xk[i];
	}
	if (alen == 4) {
		uint32_t be;

		memcpy(&be, addr, 4);
		netaddr_from_v4(out, be, port);
	} else {
		netaddr_from_v6(out, addr, port);
	}
	return 0;
}

int stun_attr_get_addr(const struct stun_msg *m, const struct stun_attr *a, struct netaddr *out)
{
	return stun_addr_decode(stun_attr_value(m, a), a->len, NULL, out);
}

int stun_attr_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a,
			   struct netaddr *out)
{
	/* The XOR key is the magic cookie: an RFC 3489 message has none. */
	if (!m->has_cookie)
		return -STUN_ERR_BAD_COOKIE;
	/* buf + 4 is the cookie followed by the transaction id: exactly the
	 * 16-byte IPv6 XOR key of RFC 8489 §14.2. */
	return stun_addr_decode(stun_attr_value(m, a), a->len, m->buf + 4, out);
}

int stun_attr_get_u32(const struct stun_msg *m, const struct stun_attr *a, uint32_t *out)
{
	if (a->len != 4)
		return -STUN_ERR_BAD_ATTR;
	*out = get32(stun_attr_value(m, a));
	return 0;
}

int stun_attr_get_u64(const struct stun_msg *m, const struct stun_attr *a, uint64_t *out)
{
	const uint8_t *v = stun_attr_value(m, a);

	if (a->len != 8)
		return -STUN_ERR_BAD_ATTR;
	*out = (uint64_t)get32(v) << 32 | get32(v + 4);
	return 0;
}

/*
 * RFC 8489 §14.8:
 *     |           Reserved, should be 0         |Class|     Number    |
 *     |      Reason Phrase (variable)                                ..
 */
int stun_attr_get_error(const struct stun_msg *m, const struct stun_attr *a, int *code,
			const char **reason, size_t *reason_len)
{
	const uint8_t *v = stun_attr_value(m, a);
	int cls, num;

	if (a->len < STUN_ERROR_HDR_LEN)
		return -STUN_ERR_BAD_ATTR;
	cls = v[2] & 0x07;
	num = v[3];
	if (cls < STUN_ERROR_CLASS_MIN || cls > STUN_ERROR_CLASS_MAX || num > 99)
		return -STUN_ERR_BAD_ATTR;
	*code = cls * 100 + num;
	if (reason)
		*reason = (const char *)v + STUN_ERROR_HDR_LEN;
	if (reason_len)
		*reason_len = a->len - STUN_ERROR_HDR_LEN;
	return 0;
}

/* RFC 8489 §14.9: a list of 16-bit types; *n is what was stored. */
int stun_attr_get_unknown(const struct stun_msg *m, const struct stun_attr *a, uint16_t *out,
			  size_t max, size_t *n)
{
	const uint8_t *v = stun_attr_value(m, a);
	size_t count = a->len / 2;

	*n = 0;
	if (a->len % 2)
		return -STUN_ERR_BAD_ATTR;
	for (size_t i = 0; i < count; i++) {
		if (*n == max)
			return -STUN_ERR_NO_SPACE;
		out[(*n)++] = get16(v + 2 * i);
	}
	return 0;
}

/* RFC 8656 §18.2: channel number, then 16 bits RFFU (ignored). */
int stun_attr_get_channel(const struct stun_msg *m, const struct stun_attr *a, uint16_t *out)
{
	uint16_t ch;

	if (a->len != 4)
		return -STUN_ERR_BAD_ATTR;
	ch = get16(stun_attr_value(m, a));
	if (ch < STUN_CHANNEL_MIN || ch > STUN_CHANNEL_MAX)
		return -STUN_ERR_BAD_CHANNEL;
	*out = ch;
	return 0;
}

/* RFC 8656 §18.6: protocol number, then 24 bits RFFU (ignored). */
int stun_attr_get_transport(const struct stun_msg *m, const struct stun_attr *a, uint8_t *proto)
{
	if (a->len != 4)
		return -STUN_ERR_BAD_ATTR;
	*proto = stun_attr_value(m, a)[0];
	return 0;
}

/*
 * RFC 8489 §14.11/§14.12: PASSWORD-ALGORITHMS is a list of, and
 * PASSWORD-ALGORITHM exactly one of:
 *     |          Algorithm            |  Algorithm Parameters Length  |
 *     |                    Algorithm Parameters (variable)           ..
 * with the parameters padded to 4 bytes.
 */
int stun_attr_get_password_algs(const struct stun_msg *m, const struct stun_attr *a,
				uint16_t *algs, size_t max, size_t *n)
{
	const uint8_t *v = stun_attr_value(m, a);
	size_t off = 0;

	*n = 0;
	while (off < a->len) {
		size_t plen;

		if (a->len - off < 4)
			return -STUN_ERR_BAD_ATTR;
		plen = pad4(get16(v + off + 2));
		if (plen > a->len - off - 4)
			return -STUN_ERR_BAD_ATTR;
		if (*n == max)
			return -STUN_ERR_NO_SPACE;
		algs[(*n)++] = get16(v + off);
		off += 4 + plen;
	}
	if (*n == 0 || (a->type == STUN_ATTR_PASSWORD_ALGORITHM && *n != 1))
		return -STUN_ERR_BAD_ATTR;
	return 0;
}

int stun_attr_get_string(const struct stun_msg *m, const struct stun_attr *a, char *out,
			 size_t cap)
{
	const uint8_t *v = stun_attr_value(m, a);

	if (cap == 0)
		return -STUN_ERR_NO_SPACE;
	out[0] = '\0';
	/* A NUL inside would cut the C string short: "alice\0x" must not
	 * turn into the username "alice". */
	if (memchr(v, '\0', a->len))
		return -STUN_ERR_BAD_ATTR;
	if ((size_t)a->len + 1 > cap)
		return -STUN_ERR_NO_SPACE;
	memcpy(out, v, a->len);
	out[a->len] = '\0';
	return 0;
}

/* ---- integrity and keys --------------------------------------------------- */

/*
 * HMAC (RFC 2104) over two segments, so a received message is hashed in
 * place with only its 20-byte header copied (its length field must be
 * rewritten, RFC 8489 §14.5).
 *
 * Built on libcrypto's one-shot digest primitives (SHA1_Init/SHA256_Init,
 * the same assembly, SHA-NI included, that the EVP digests run) with the
 * context on the stack: every consent check and every answer is one HMAC
 * each way, and the EVP route costs an EVP_MD_CTX allocation, a provider
 * dispatch per call and reference counting on the digest, a fifth of an
 * agent's steady-state CPU at 100k agents (perf on icepath-agentbench).
 * OpenSSL 3 deprecates these names but keeps them; nothing here needs a
 * provider (FIPS builds would, and would route through EVP).
 */
enum stun_mac_alg {
	STUN_MAC_SHA1,
	STUN_MAC_SHA256,
};

union stun_md_ctx {
	SHA_CTX sha1;
	SHA256_CTX sha256;
};

static void stun_md_init(enum stun_mac_alg alg, union stun_md_ctx *c)
{
	if (alg == STUN_MAC_SHA1)
		SHA1_Init(&c->sha1);
	else
		SHA256_Init(&c->sha256);
}

static void stun_md_update(enum stun_mac_alg alg, union stun_md_ctx *c, const void *p, size_t n)
{
	if (alg == STUN_MAC_SHA1)
		SHA1_Update(&c->sha1, p, n);
	else
		SHA256_Update(&c->sha256, p, n);
}

/* Returns the digest's length. */
static size_t stun_md_final(enum stun_mac_alg alg, union stun_md_ctx *c, uint8_t *out)
{
	if (alg == STUN_MAC_SHA1) {
		SHA1_Final(out, &c->sha1);
		return SHA_DIGEST_LENGTH;
	}
	SHA256_Final(out, &c->sha256);
	return SHA256_DIGEST_LENGTH;
}

static void stun_hmac(enum stun_mac_alg alg, const uint8_t *key, size_t key_len, const uint8_t *p1,
		      size_t n1, const uint8_t *p2, size_t n2, uint8_t out[EVP_MAX_MD_SIZE])
{
	uint8_t k[STUN_HMAC_BLOCK] = { 0 }, pad[STUN_HMAC_BLOCK], inner[EVP_MAX_MD_SIZE];
	union stun_md_ctx c;
	size_t inner_len;

	/* RFC 2104 §2: a key longer than the block is hashed first */
	if (key_len > STUN_HMAC_BLOCK) {
		stun_md_init(alg, &c);
		stun_md_update(alg, &c, key, key_len);
		stun_md_final(alg, &c, k);
	} else {
		memcpy(k, key, key_len);
	}
	for (size_t i = 0; i < STUN_HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	stun_md_init(alg, &c);
	stun_md_update(alg, &c, pad, sizeof(pad));
	stun_md_update(alg, &c, p1, n1);
	if (n2)
		stun_md_update(alg, &c, p2, n2);
	inner_len = stun_md_final(alg, &c, inner);
	for (size_t i = 0; i < STUN_HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	stun_md_init(alg, &c);
	stun_md_update(alg, &c, pad, sizeof(pad));
	stun_md_update(alg, &c, inner, inner_len);
	stun_md_final(alg, &c, out);
	/* the key is a password: leave no copy of it on the stack */
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(&c, sizeof(c));
}

int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t key_len)
{
	int idx = m->integrity_sha256 >= 0 ? m->integrity_sha256 : m->integrity;
	uint8_t hdr[STUN_HEADER_LEN], mac[EVP_MAX_MD_SIZE];
	const struct stun_attr *a;
	size_t start;

	if (!key || key_len == 0)
		return -STUN_ERR_BAD_ARG;
	if (idx < 0)
		return -STUN_ERR_NO_INTEGRITY;
	/* RFC 3489's MESSAGE-INTEGRITY hashed a differently framed message;
	 * such peers cannot authenticate to an RFC 8489 agent. */
	if (!m->has_cookie)
		return -STUN_ERR_BAD_COOKIE;
	a = &m->attrs[idx];
	start = a->offset - STUN_ATTR_HEADER_LEN;
	/* The length field must count up to the end of the integrity
	 * attribute, as if nothing followed it (RFC 8489 §14.5). */
	memcpy(hdr, m->buf, STUN_HEADER_LEN);
	put16(hdr + 2, (uint16_t)(a->offset + a->len - STUN_HEADER_LEN));
	stun_hmac(a->type == STUN_ATTR_MESSAGE_INTEGRITY ? STUN_MAC_SHA1 : STUN_MAC_SHA256, key,
		  key_len, hdr, STUN_HEADER_LEN, m->buf + STUN_HEADER_LEN, start - STUN_HEADER_LEN,
		  mac);
	/* MI-SHA256 may be truncated: its length is what the sender kept. */
	if (CRYPTO_memcmp(mac, stun_attr_value(m, a), a->len))
		return -STUN_ERR_INTEGRITY;
	return 0;
}

/* Digest of the given strings joined with ':'. */
static int stun_digest_joined(const EVP_MD *md, const char *const *parts, size_t n,
			      uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned out_len = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 0 || EVP_DigestUpdate(ctx, ":", 1)) &&
		     EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
	ok = ok && EVP_DigestFinal_ex(ctx, out, &out_len);
	EVP_MD_CTX_free(ctx);
	return ok ? (int)out_len : -STUN_ERR_CRYPTO;
}

int stun_key_long_term(enum stun_password_alg alg, const char *username, const char *realm,
		       const char *password, uint8_t key[STUN_MAX_KEY_LEN])
{
	const char *const parts[] = { username, realm, password };
	const EVP_MD *md;

	if (!username || !realm || !password || !key)
		return -STUN_ERR_BAD_ARG;
	switch (alg) {
	case STUN_PASSWORD_ALG_MD5:
		md = EVP_md5();
		break;
	case STUN_PASSWORD_ALG_SHA256:
		md = EVP_sha256();
		break;
	default:
		return -STUN_ERR_BAD_ARG;
	}
	return stun_digest_joined(md, parts, 3, key);
}

void stun_userhash(const char *username, const char *realm, uint8_t out[32])
{
	const char *const parts[] = { username, realm };

	/* Only an allocation failure can fail here; an all-zero hash then
	 * matches no user rather than a random one. */
	if (stun_digest_joined(EVP_sha256(), parts, 2, out) != STUN_USERHASH_LEN)
		memset(out, 0, STUN_USERHASH_LEN);
}

/* ---- building ----------------------------------------------------------- */

static void stun_build_fail(struct stun_builder *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Type of the last attribute written, 0 if none; the builder's own output
 * is well formed, so the walk needs no bounds beyond b->len. */
static uint16_t stun_build_last_type(const struct stun_builder *b)
{
	uint16_t last = 0;

	for (size_t off = STUN_HEADER_LEN; off + STUN_ATTR_HEADER_LEN <= b->len;) {
		last = get16(b->buf + off);
		off += STUN_ATTR_HEADER_LEN + pad4(get16(b->buf + off + 2));
	}
	return last;
}

/* Room for one attribute of value length len, and the ordering rules of
 * RFC 8489 §14.5-§14.7 (the parser ignores what breaks them, so a builder
 * that wrote it would lose attributes silently). Returns where the
 * attribute goes, or NULL with b->err set. */
static uint8_t *stun_build_reserve(struct stun_builder *b, uint16_t type, size_t len)
{
	uint16_t last;
	uint8_t *p;

	if (b->err)
		return NULL;
	last = stun_build_last_type(b);
	if (last == STUN_ATTR_FINGERPRINT) {
		stun_build_fail(b, -STUN_ERR_ATTR_AFTER_FINGERPRINT);
		return NULL;
	}
	if ((last == STUN_ATTR_MESSAGE_INTEGRITY && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256 &&
	     type != STUN_ATTR_FINGERPRINT) ||
	    (last == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 && type != STUN_ATTR_FINGERPRINT)) {
		stun_build_fail(b, -STUN_ERR_ATTR_AFTER_INTEGRITY);
		return NULL;
	}
	if (len > UINT16_MAX) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return NULL;
	}
	/* The message length field is 16 bits too. */
	if (b->cap - b->len < STUN_ATTR_HEADER_LEN + pad4(len) ||
	    b->len + STUN_ATTR_HEADER_LEN + pad4(len) - STUN_HEADER_LEN > UINT16_MAX) {
		stun_build_fail(b, -STUN_ERR_NO_SPACE);
		return NULL;
	}
	p = b->buf + b->len;
	put16(p, type);
	put16(p + 2, (uint16_t)len);
	memset(p + STUN_ATTR_HEADER_LEN + len, 0, pad4(len) - len);
	b->len += STUN_ATTR_HEADER_LEN + pad4(len);
	put16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return p + STUN_ATTR_HEADER_LEN;
}

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
		     enum stun_class cls, const uint8_t tid[STUN_TID_LEN])
{
	b->buf = buf;
	b->cap = buf ? cap : 0;
	b->len = 0;
	b->err = 0;
	if (!buf || !tid || method > 0x0fff || (unsigned)cls > STUN_CLASS_ERROR) {
		b->err = -STUN_ERR_BAD_ARG;
		return;
	}
	if (cap < STUN_HEADER_LEN) {
		b->err = -STUN_ERR_NO_SPACE;
		return;
	}
	put16(buf, stun_type_encode(method, cls));
	put16(buf + 2, 0);
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	b->len = STUN_HEADER_LEN;
}

void stun_build_attr(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	uint8_t *p;

	if (!val && len) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	p = stun_build_reserve(b, type, len);
	if (p && len)
		memcpy(p, val, len);
}

void stun_build_empty(struct stun_builder *b, uint16_t type)
{
	stun_build_reserve(b, type, 0);
}

void stun_build_string(struct stun_builder *b, uint16_t type, const char *s)
{
	if (!s) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	stun_build_attr(b, type, s, strlen(s));
}

void stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t *p = stun_build_reserve(b, type, 4);

	if (p)
		put32(p, v);
}

void stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t *p = stun_build_reserve(b, type, 8);

	if (p) {
		put32(p, (uint32_t)(v >> 32));
		put32(p + 4, (uint32_t)v);
	}
}

/* xor: false for MAPPED-ADDRESS/ALTERNATE-SERVER, else XOR with the cookie and
 * transaction id of the message being built (see stun_addr_decode). */
static void stun_build_addr_common(struct stun_builder *b, uint16_t type,
				   const struct netaddr *a, bool xor)
{
	const uint8_t *addr;
	uint16_t port;
	size_t alen;
	uint8_t *p;
	int fam;

	if (!a) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	switch (netaddr_family(a)) {
	case AF_INET:
		fam = STUN_FAMILY_IPV4;
		alen = 4;
		addr = (const uint8_t *)&a->in.sin_addr;
		break;
	case AF_INET6:
		fam = STUN_FAMILY_IPV6;
		alen = 16;
		addr = a->in6.sin6_addr.s6_addr;
		break;
	default:
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	p = stun_build_reserve(b, type, 4 + alen);
	if (!p)
		return;
	port = netaddr_port(a);
	p[0] = 0;
	p[1] = (uint8_t)fam;
	memcpy(p + 4, addr, alen);
	if (xor) {
		const uint8_t *key = b->buf + 4;

		port ^= get16(key);
		for (size_t i = 0; i < alen; i++)
			p[4 + i] ^= key[i];
	}
	put16(p + 2, port);
}

void stun_build_addr(struct stun_builder *b, uint16_t type, const struct netaddr *a)
{
	stun_build_addr_common(b, type, a, false);
}

void stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct netaddr *a)
{
	stun_build_addr_common(b, type, a, true);
}

void stun_build_error(struct stun_builder *b, int code, const char *reason)
{
	size_t rlen;
	uint8_t *p;

	if (code < STUN_ERROR_CLASS_MIN * 100 || code >= (STUN_ERROR_CLASS_MAX + 1) * 100) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	if (!reason)
		reason = stun_error_reason(code);
	rlen = strlen(reason);
	p = stun_build_reserve(b, STUN_ATTR_ERROR_CODE, STUN_ERROR_HDR_LEN + rlen);
	if (!p)
		return;
	p[0] = 0;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	memcpy(p + STUN_ERROR_HDR_LEN, reason, rlen);
}

void stun_build_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *p;

	if (!types && n) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	p = stun_build_reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
	for (size_t i = 0; p && i < n; i++)
		put16(p + 2 * i, types[i]);
}

void stun_build_channel(struct stun_builder *b, uint16_t channel)
{
	uint8_t *p;

	if (channel < STUN_CHANNEL_MIN || channel > STUN_CHANNEL_MAX) {
		stun_build_fail(b, -STUN_ERR_BAD_CHANNEL);
		return;
	}
	p = stun_build_reserve(b, STUN_ATTR_CHANNEL_NUMBER, 4);
	if (p) {
		put16(p, channel);
		put16(p + 2, 0);
	}
}

void stun_build_transport(struct stun_builder *b, uint8_t proto)
{
	uint8_t *p = stun_build_reserve(b, STUN_ATTR_REQUESTED_TRANSPORT, 4);

	if (p)
		put32(p, (uint32_t)proto << 24);
}

void stun_build_password_algs(struct stun_builder *b, uint16_t type, const uint16_t *algs,
			      size_t n)
{
	uint8_t *p;

	if (!algs || n == 0 ||
	    (type != STUN_ATTR_PASSWORD_ALGORITHMS && type != STUN_ATTR_PASSWORD_ALGORITHM) ||
	    (type == STUN_ATTR_PASSWORD_ALGORITHM && n != 1)) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	/* MD5 and SHA-256 take no parameters (RFC 8489 §18.5). */
	p = stun_build_reserve(b, type, 4 * n);
	for (size_t i = 0; p && i < n; i++) {
		put16(p + 4 * i, algs[i]);
		put16(p + 4 * i + 2, 0);
	}
}

static void stun_build_mac(struct stun_builder *b, uint16_t type, enum stun_mac_alg alg,
			   size_t mac_len, const uint8_t *key, size_t key_len)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t hashed = b->len;
	uint8_t *p;

	if (!key || key_len == 0) {
		stun_build_fail(b, -STUN_ERR_BAD_ARG);
		return;
	}
	/* Reserving first sets the length field to cover the attribute, as
	 * RFC 8489 §14.5 wants for the hashed header. */
	p = stun_build_reserve(b, type, mac_len);
	if (!p)
		return;
	stun_hmac(alg, key, key_len, b->buf, hashed, NULL, 0, mac);
	memcpy(p, mac, mac_len);
}

void stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
	stun_build_mac(b, STUN_ATTR_MESSAGE_INTEGRITY, STUN_MAC_SHA1, STUN_HMAC_SHA1_LEN, key,
		       key_len);
}

void stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
	stun_build_mac(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_MAC_SHA256,
		       STUN_HMAC_SHA256_LEN, key, key_len);
}

void stun_build_fingerprint(struct stun_builder *b)
{
	size_t covered = b->len;
	uint8_t *p = stun_build_reserve(b, STUN_ATTR_FINGERPRINT, STUN_FINGERPRINT_LEN);

	if (p)
		put32(p, stun_crc(b->buf, covered));
}

int stun_build_finish(struct stun_builder *b)
{
	return b->err ? b->err : (int)b->len;
}
