// SPDX-License-Identifier: GPL-2.0-only
/*
 * One DTLS-SRTP endpoint (RFC 5763/5764/8842) over OpenSSL, sans-I/O.
 *
 * OpenSSL talks to a BIO of our own: a read hands it the one datagram
 * dtls_input() was given, a write queues one datagram (OpenSSL writes a
 * record per call and keeps each under the MTU we set, so a write is a
 * datagram boundary, as on a UDP socket). The endpoint calls
 * SSL_do_handshake / SSL_read, then looks at the outcome: a finished
 * handshake is checked for its use_srtp choice and the peer certificate's
 * fingerprint before its keys are exported; anything else that goes wrong
 * is a FAILED with a reason.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>

#include "icepath/compiler.h"
#include "icepath/demux.h"
#include "dtls_int.h"

/* RFC 5764 §4.2: the exporter label of DTLS-SRTP keying material. */
#define DTLS_SRTP_EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

struct dtls_dgram {
	struct dtls_dgram *next;
	size_t len;
	uint8_t data[];
};

struct dtls_fp {
	const EVP_MD *md;
	size_t len;
	uint8_t digest[EVP_MAX_MD_SIZE];
};

#define DTLS_EVENTS_MAX 4 /* at most CONNECTED then CLOSED or FAILED */

struct dtls {
	struct dtls_config cfg;
	char name[48]; /* cfg.name, copied */
	SSL *ssl;
	enum dtls_state state;
	enum dtls_role role;
	struct dtls_fp fps[DTLS_FINGERPRINTS_MAX];
	size_t n_fps;
	/* the datagram a BIO read hands out (one per dtls_input) */
	const uint8_t *in;
	size_t in_len;
	struct dtls_dgram *tx_head, *tx_tail;
	size_t tx_count;
	struct dtls_event events[DTLS_EVENTS_MAX];
	unsigned ev_head, ev_count;
	uint64_t rto_deadline_ms;	/* from OpenSSL's timer; UINT64_MAX none */
	uint64_t handshake_deadline_ms; /* ours, on now_ms; UINT64_MAX none */
	bool verify_failed;		/* the verify callback refused the leaf */
	char reason[DTLS_REASON_MAX];
	struct dtls_srtp_keys keys;
	struct dtls_stats stats;
};

/* ---- names --------------------------------------------------------------------- */

static const char *const state_names[] = {
	[DTLS_STATE_NEW] = "new",	       [DTLS_STATE_HANDSHAKING] = "handshaking",
	[DTLS_STATE_VERIFYING] = "verifying", [DTLS_STATE_CONNECTED] = "connected",
	[DTLS_STATE_FAILED] = "failed",       [DTLS_STATE_CLOSED] = "closed",
};

const char *dtls_state_str(enum dtls_state s)
{
	if ((unsigned)s < ARRAY_SIZE(state_names) && state_names[s])
		return state_names[s];
	return "unknown";
}

static const char *const setup_names[] = {
	[DTLS_SETUP_ACTPASS] = "actpass",
	[DTLS_SETUP_ACTIVE] = "active",
	[DTLS_SETUP_PASSIVE] = "passive",
	[DTLS_SETUP_HOLDCONN] = "holdconn",
};

const char *dtls_setup_str(enum dtls_setup s)
{
	if ((unsigned)s < ARRAY_SIZE(setup_names) && setup_names[s])
		return setup_names[s];
	return "unknown";
}

int dtls_setup_parse(const char *value, enum dtls_setup *out)
{
	/* RFC 4145 §4: the token, case-sensitive in the grammar; we allow
	 * trailing blanks, which some SIP stacks leave */
	size_t n = strcspn(value, " \t");

	if (value[n + strspn(value + n, " \t")])
		return -EINVAL;
	for (unsigned i = 0; i < ARRAY_SIZE(setup_names); i++)
		if (strlen(setup_names[i]) == n && !memcmp(setup_names[i], value, n)) {
			*out = (enum dtls_setup)i;
			return 0;
		}
	return -EINVAL;
}

static const char *const role_names[] = {
	[DTLS_ROLE_UNDECIDED] = "undecided",
	[DTLS_ROLE_ACTIVE] = "active",
	[DTLS_ROLE_PASSIVE] = "passive",
};

const char *dtls_role_str(enum dtls_role r)
{
	if ((unsigned)r < ARRAY_SIZE(role_names) && role_names[r])
		return role_names[r];
	return "unknown";
}

int dtls_role_for_answer(enum dtls_setup remote, enum dtls_role *ours)
{
	switch (remote) {
	case DTLS_SETUP_ACTPASS:
		*ours = DTLS_ROLE_ACTIVE; /* RFC 5763 §5: active is RECOMMENDED */
		return 0;
	case DTLS_SETUP_ACTIVE:
		*ours = DTLS_ROLE_PASSIVE;
		return 0;
	case DTLS_SETUP_PASSIVE:
		*ours = DTLS_ROLE_ACTIVE;
		return 0;
	default:
		return -EINVAL; /* holdconn: no connection to make */
	}
}

int dtls_role_from_answer(enum dtls_setup remote, enum dtls_role *ours)
{
	switch (remote) {
	case DTLS_SETUP_ACTIVE:
		*ours = DTLS_ROLE_PASSIVE;
		return 0;
	case DTLS_SETUP_PASSIVE:
		*ours = DTLS_ROLE_ACTIVE;
		return 0;
	default:
		/* RFC 5763 §5: the answerer MUST pick active or passive */
		return -EINVAL;
	}
}

/* ---- log, events, the one transition function --------------------------------------- */

__attribute__((format(printf, 3, 4))) static void dtls_log(const struct dtls *d,
							   enum dtls_log_level lvl,
							   const char *fmt, ...)
{
	char msg[384];
	int n;
	va_list ap;

	if (!d->cfg.log)
		return;
	n = snprintf(msg, sizeof(msg), "dtls %s: ", d->name);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	d->cfg.log(d->cfg.log_ctx, lvl, msg);
}

static void dtls_push_event(struct dtls *d, enum dtls_event_type type)
{
	struct dtls_event *ev;

	if (d->ev_count == DTLS_EVENTS_MAX)
		return; /* cannot happen: a life raises at most two */
	ev = &d->events[(d->ev_head + d->ev_count++) % DTLS_EVENTS_MAX];
	ev->type = type;
	ev->suite = d->keys.suite;
	ev->reason = d->reason;
}

static void dtls_set_state(struct dtls *d, enum dtls_state to)
{
#define B(x) (1u << DTLS_STATE_##x)
	static const unsigned legal[] = {
		[DTLS_STATE_NEW] = B(HANDSHAKING) | B(FAILED) | B(CLOSED),
		[DTLS_STATE_HANDSHAKING] = B(VERIFYING) | B(CONNECTED) | B(FAILED) | B(CLOSED),
		[DTLS_STATE_VERIFYING] = B(CONNECTED) | B(FAILED) | B(CLOSED),
		[DTLS_STATE_CONNECTED] = B(FAILED) | B(CLOSED),
		[DTLS_STATE_FAILED] = 0,
		[DTLS_STATE_CLOSED] = 0,
	};
#undef B
	enum dtls_state from = d->state;

	if (from == to)
		return;
	if (!(legal[from] & (1u << to))) {
		/* the callers only ask for legal moves; this guards them */
		dtls_log(d, DTLS_LOG_ERROR, "refused move %s -> %s", dtls_state_str(from),
			 dtls_state_str(to));
		return;
	}
	d->state = to;
	if (to != DTLS_STATE_HANDSHAKING && to != DTLS_STATE_VERIFYING)
		d->handshake_deadline_ms = UINT64_MAX;
	switch (to) {
	case DTLS_STATE_CONNECTED:
		dtls_log(d, DTLS_LOG_INFO, "%s -> connected (%s, %s)", dtls_state_str(from),
			 dtls_role_str(d->role), srtpctx_suite_str(d->keys.suite));
		dtls_push_event(d, DTLS_EVENT_CONNECTED);
		break;
	case DTLS_STATE_FAILED:
		/* keys that may have been exported never leave a failed endpoint */
		OPENSSL_cleanse(&d->keys, sizeof(d->keys));
		dtls_log(d, DTLS_LOG_WARN, "%s -> failed: %s", dtls_state_str(from), d->reason);
		dtls_push_event(d, DTLS_EVENT_FAILED);
		break;
	case DTLS_STATE_CLOSED:
		OPENSSL_cleanse(&d->keys, sizeof(d->keys));
		dtls_log(d, DTLS_LOG_INFO, "%s -> closed%s%s", dtls_state_str(from),
			 d->reason[0] ? ": " : "", d->reason);
		dtls_push_event(d, DTLS_EVENT_CLOSED);
		break;
	default:
		dtls_log(d, DTLS_LOG_INFO, "%s -> %s (%s)", dtls_state_str(from), dtls_state_str(to),
			 dtls_role_str(d->role));
		break;
	}
}

__attribute__((format(printf, 2, 3))) static void dtls_fail(struct dtls *d, const char *fmt, ...)
{
	va_list ap;

	if (d->state == DTLS_STATE_FAILED || d->state == DTLS_STATE_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	dtls_set_state(d, DTLS_STATE_FAILED);
}

/* ---- the datagram BIO ---------------------------------------------------------------- */

static int dtls_bio_write(BIO *b, const char *data, int len)
{
	struct dtls *d = BIO_get_data(b);
	struct dtls_dgram *g;

	if (len <= 0)
		return 0;
	if (d->tx_count >= DTLS_TX_QUEUE_MAX) {
		/* nobody polls: drop the oldest, a retransmission repairs it */
		g = d->tx_head;
		d->tx_head = g->next;
		if (!d->tx_head)
			d->tx_tail = NULL;
		d->tx_count--;
		free(g);
		d->stats.tx_queue_overflow++;
	}
	g = malloc(sizeof(*g) + (size_t)len);
	if (!g)
		return -1; /* OpenSSL retries the flight on its timer */
	g->next = NULL;
	g->len = (size_t)len;
	memcpy(g->data, data, (size_t)len);
	if (d->tx_tail)
		d->tx_tail->next = g;
	else
		d->tx_head = g;
	d->tx_tail = g;
	d->tx_count++;
	d->stats.datagrams_out++;
	return len;
}

static int dtls_bio_read(BIO *b, char *buf, int len)
{
	struct dtls *d = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (!d->in) {
		/* like a non-blocking socket with nothing queued */
		BIO_set_retry_read(b);
		return -1;
	}
	/* a datagram larger than the read is cut, as recv() would */
	n = d->in_len < (size_t)len ? d->in_len : (size_t)len;
	memcpy(buf, d->in, n);
	d->in = NULL;
	d->in_len = 0;
	return (int)n;
}

static long dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct dtls *d = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return d ? (long)d->cfg.mtu : DTLS_MTU_BYTES;
	case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
		return 0; /* cfg.mtu already counts UDP payload only */
	case BIO_CTRL_WPENDING:
	case BIO_CTRL_PENDING:
		return 0;
	default:
		return 0;
	}
}

static int dtls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int dtls_bio_destroy(BIO *b)
{
	BIO_set_data(b, NULL);
	return 1;
}

BIO_METHOD *dtls_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "icepath-dtls");

	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, dtls_bio_write) || !BIO_meth_set_read(m, dtls_bio_read) ||
	    !BIO_meth_set_ctrl(m, dtls_bio_ctrl) || !BIO_meth_set_create(m, dtls_bio_create) ||
	    !BIO_meth_set_destroy(m, dtls_bio_destroy)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- OpenSSL callbacks ----------------------------------------------------------------- */

/* RFC 6347 §4.2.4.1: the first timeout, then doubling, capped. */
static unsigned int dtls_timer_cb(SSL *ssl, unsigned int prev_us)
{
	struct dtls *d = SSL_get_app_data(ssl);
	unsigned long next;

	if (!prev_us)
		return d->cfg.rto_ms * 1000u;
	next = 2ul * prev_us;
	if (next > DTLS_RTO_MAX_MS * 1000ul)
		next = DTLS_RTO_MAX_MS * 1000ul;
	return (unsigned int)next;
}

static bool dtls_cert_matches(const struct dtls *d, X509 *cert)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n;

	for (size_t i = 0; i < d->n_fps; i++) {
		n = 0;
		if (X509_digest(cert, d->fps[i].md, md, &n) && n == d->fps[i].len &&
		    !CRYPTO_memcmp(md, d->fps[i].digest, n))
			return true;
	}
	return false;
}

/*
 * The peer's certificate is self-signed and no CA vouches for it: what
 * counts is the SDP fingerprint (RFC 5763 §5, RFC 8122 §5). So every chain
 * error is accepted, and the leaf is compared with the fingerprints when
 * they are known; when they are not yet, the handshake goes on and
 * dtls_verify() decides before any key is released.
 */
static int dtls_verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf;

	if (!d)
		return 0;
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return 1;
	leaf = X509_STORE_CTX_get_current_cert(x);
	if (!leaf)
		return 0;
	if (d->n_fps && !dtls_cert_matches(d, leaf)) {
		d->verify_failed = true;
		/* the handshake ends with a bad_certificate alert */
		return 0;
	}
	return 1;
}

static void dtls_info_cb(const SSL *ssl, int where, int ret)
{
	struct dtls *d = SSL_get_app_data(ssl);

	if (!d || !(where & SSL_CB_ALERT))
		return;
	if ((where & SSL_CB_READ) && SSL_alert_type_string(ret)[0] == 'F' && !d->reason[0])
		snprintf(d->reason, sizeof(d->reason), "peer sent fatal alert: %s",
			 SSL_alert_desc_string_long(ret));
	dtls_log(d, DTLS_LOG_DEBUG, "alert %s: %s %s", (where & SSL_CB_READ) ? "received" : "sent",
		 SSL_alert_type_string_long(ret), SSL_alert_desc_string_long(ret));
}

/* ---- life --------------------------------------------------------------------------------- */

/* The use_srtp profile list, our preference first (RFC 5764 §4.1.1: the
 * server picks; OpenSSL picks in the order of this list). */
static int dtls_profiles(unsigned suites, char *buf, size_t len)
{
	static const struct {
		enum srtpctx_suite suite;
		const char *name;
	} order[] = {
		{SRTPCTX_SUITE_AEAD_AES_256_GCM, "SRTP_AEAD_AES_256_GCM"},
		{SRTPCTX_SUITE_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM"},
		{SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80, "SRTP_AES128_CM_SHA1_80"},
		{SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32, "SRTP_AES128_CM_SHA1_32"},
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(suites & SRTPCTX_SUITE_BIT(order[i].suite)))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ":" : "", order[i].name);
		if (n >= len)
			return -E2BIG;
	}
	return n ? 0 : -EINVAL;
}

static void dtls_apply_role(struct dtls *d)
{
	if (d->role == DTLS_ROLE_ACTIVE)
		SSL_set_connect_state(d->ssl);
	else if (d->role == DTLS_ROLE_PASSIVE)
		SSL_set_accept_state(d->ssl);
}

int dtls_new(struct dtls **out, struct dtls_ctx *ctx, const struct dtls_config *cfg)
{
	char profiles[128];
	struct dtls *d;
	BIO *bio;

	*out = NULL;
	if (!ctx || !cfg || cfg->role > DTLS_ROLE_PASSIVE)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	/* the caller's string need not outlive this call */
	snprintf(d->name, sizeof(d->name), "%s", cfg->name ? cfg->name : "-");
	d->cfg.name = d->name;
	if (!d->cfg.suites)
		d->cfg.suites = SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80) |
				SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AEAD_AES_128_GCM) |
				SRTPCTX_SUITE_BIT(SRTPCTX_SUITE_AEAD_AES_256_GCM);
	if (!d->cfg.mtu)
		d->cfg.mtu = DTLS_MTU_BYTES;
	if (!d->cfg.rto_ms)
		d->cfg.rto_ms = DTLS_RTO_INITIAL_MS;
	if (!d->cfg.timeout_ms)
		d->cfg.timeout_ms = DTLS_HANDSHAKE_TIMEOUT_MS;
	d->role = cfg->role;
	d->state = DTLS_STATE_NEW;
	d->rto_deadline_ms = d->handshake_deadline_ms = UINT64_MAX;
	if (dtls_profiles(d->cfg.suites, profiles, sizeof(profiles)))
		goto err;
	d->ssl = SSL_new(ctx->ssl_ctx);
	if (!d->ssl)
		goto err;
	bio = BIO_new(ctx->bio);
	if (!bio)
		goto err;
	BIO_set_data(bio, d);
	SSL_set_bio(d->ssl, bio, bio); /* one reference, owned by the SSL */
	SSL_set_app_data(d->ssl, d);
	SSL_set_verify(d->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, dtls_verify_cb);
	SSL_set_info_callback(d->ssl, dtls_info_cb);
	DTLS_set_timer_cb(d->ssl, dtls_timer_cb);
	SSL_set_mtu(d->ssl, (long)d->cfg.mtu);
	/* returns 0 on success, unlike the rest of OpenSSL */
	if (SSL_set_tlsext_use_srtp(d->ssl, profiles))
		goto err;
	dtls_apply_role(d);
	*out = d;
	ERR_clear_error();
	return 0;
err:
	ERR_clear_error();
	dtls_free(d);
	return -ENOMEM;
}

void dtls_free(struct dtls *d)
{
	struct dtls_dgram *g, *next;

	if (!d)
		return;
	SSL_free(d->ssl);
	for (g = d->tx_head; g; g = next) {
		next = g->next;
		free(g);
	}
	OPENSSL_cleanse(&d->keys, sizeof(d->keys));
	free(d);
}

int dtls_set_role(struct dtls *d, enum dtls_role role)
{
	if (d->state != DTLS_STATE_NEW)
		return -EBUSY;
	if (role > DTLS_ROLE_PASSIVE)
		return -EINVAL;
	d->role = role;
	dtls_apply_role(d);
	return 0;
}

enum dtls_role dtls_role(const struct dtls *d)
{
	return d->role;
}

/* ---- fingerprints ------------------------------------------------------------------------- */

static int dtls_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 8122 §5:
 *   fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint
 *   fingerprint           = 2UHEX *(":" 2UHEX)
 * Lower-case hex is taken too (the grammar says UHEX; some stacks differ). */
static int dtls_fp_parse(const char *value, struct dtls_fp *fp)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
	} hashes[] = {
		{"sha-1", EVP_sha1},	 {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
		{"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
	};
	size_t n = strcspn(value, " "), i;
	const char *p;

	fp->md = NULL;
	for (i = 0; i < ARRAY_SIZE(hashes); i++)
		if (strlen(hashes[i].name) == n && !strncasecmp(hashes[i].name, value, n))
			fp->md = hashes[i].md();
	if (!fp->md) /* md5, md2 or a name we do not know, followed by a value */
		return n && value[n] == ' ' ? -EPROTONOSUPPORT : -EINVAL;
	if (value[n] != ' ')
		return -EINVAL;
	p = value + n + 1;
	fp->len = 0;
	for (;;) {
		int hi = dtls_hex(p[0]), lo = hi < 0 ? -1 : dtls_hex(p[1]);

		if (hi < 0 || lo < 0 || fp->len == sizeof(fp->digest))
			return -EINVAL;
		fp->digest[fp->len++] = (uint8_t)(hi << 4 | lo);
		p += 2;
		if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\r')
			break;
		if (*p++ != ':')
			return -EINVAL;
	}
	if (p[strspn(p, " \t\r")])
		return -EINVAL;
	if (fp->len != (size_t)EVP_MD_get_size(fp->md))
		return -EINVAL;
	return 0;
}

static void dtls_verify(struct dtls *d);

int dtls_add_remote_fingerprint(struct dtls *d, const char *value)
{
	struct dtls_fp fp;
	int rc;

	rc = dtls_fp_parse(value, &fp);
	if (rc)
		return rc;
	if (d->n_fps == DTLS_FINGERPRINTS_MAX)
		return -E2BIG;
	d->fps[d->n_fps++] = fp;
	if (d->state == DTLS_STATE_VERIFYING)
		dtls_verify(d);
	return 0;
}

/* ---- the handshake ------------------------------------------------------------------------- */

static enum srtpctx_suite dtls_suite_of(unsigned long id)
{
	switch (id) {
	case SRTP_AES128_CM_SHA1_80:
		return SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80;
	case SRTP_AES128_CM_SHA1_32:
		return SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32;
	case SRTP_AEAD_AES_128_GCM:
		return SRTPCTX_SUITE_AEAD_AES_128_GCM;
	case SRTP_AEAD_AES_256_GCM:
		return SRTPCTX_SUITE_AEAD_AES_256_GCM;
	default:
		return SRTPCTX_SUITE_NONE;
	}
}

/* RFC 5764 §4.2: client_write_key | server_write_key | client_write_salt |
 * server_write_salt; the DTLS client (active) sends with the client's. */
static int dtls_export(struct dtls *d)
{
	const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
	uint8_t m[2 * (SRTPCTX_KEY_MAX + SRTPCTX_SALT_MAX)];
	struct dtls_srtp_keys *k = &d->keys;
	enum srtpctx_suite suite;
	size_t kl, sl;
	bool client = d->role == DTLS_ROLE_ACTIVE;

	suite = p ? dtls_suite_of(p->id) : SRTPCTX_SUITE_NONE;
	if (suite == SRTPCTX_SUITE_NONE || !(d->cfg.suites & SRTPCTX_SUITE_BIT(suite))) {
		/* RFC 5764 §4.1.2: without a common profile there is no SRTP */
		dtls_fail(d, "no common SRTP protection profile (use_srtp): peer offered %s",
			  p ? p->name : "none we accept");
		return -EPROTO;
	}
	kl = srtpctx_suite_key_len(suite);
	sl = srtpctx_suite_salt_len(suite);
	if (SSL_export_keying_material(d->ssl, m, 2 * (kl + sl), DTLS_SRTP_EXPORTER_LABEL,
				       strlen(DTLS_SRTP_EXPORTER_LABEL), NULL, 0, 0) != 1) {
		ERR_clear_error();
		dtls_fail(d, "cannot export the SRTP keying material");
		return -EIO;
	}
	k->suite = suite;
	k->key_len = kl;
	k->salt_len = sl;
	memcpy(k->local_key, m + (client ? 0 : kl), kl);
	memcpy(k->remote_key, m + (client ? kl : 0), kl);
	memcpy(k->local_salt, m + 2 * kl + (client ? 0 : sl), sl);
	memcpy(k->remote_salt, m + 2 * kl + (client ? sl : 0), sl);
	OPENSSL_cleanse(m, sizeof(m));
	return 0;
}

/* The fingerprint verdict over a finished handshake. */
static void dtls_verify(struct dtls *d)
{
	X509 *peer = SSL_get0_peer_certificate(d->ssl);

	if (!peer) {
		dtls_fail(d, "peer sent no certificate");
		return;
	}
	if (!d->n_fps) {
		dtls_set_state(d, DTLS_STATE_VERIFYING);
		return;
	}
	if (!dtls_cert_matches(d, peer)) {
		dtls_fail(d, "peer certificate does not match its SDP a=fingerprint");
		return;
	}
	if (dtls_export(d))
		return;
	dtls_set_state(d, DTLS_STATE_CONNECTED);
}

static void dtls_update_deadline(struct dtls *d, uint64_t now_ms)
{
	struct timeval tv;

	d->rto_deadline_ms = UINT64_MAX;
	if (d->state == DTLS_STATE_FAILED || d->state == DTLS_STATE_CLOSED)
		return;
	if (DTLSv1_get_timeout(d->ssl, &tv) == 1)
		d->rto_deadline_ms = now_ms + (uint64_t)tv.tv_sec * 1000 +
				     ((uint64_t)tv.tv_usec + 999) / 1000;
}

/* What an SSL call that returned rc means for the machine. */
static void dtls_after(struct dtls *d, int rc)
{
	int e = SSL_get_error(d->ssl, rc);
	char why[DTLS_REASON_MAX];
	unsigned long code;

	switch (e) {
	case SSL_ERROR_NONE:
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		break;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify from the peer */
		snprintf(d->reason, sizeof(d->reason), "peer sent close_notify");
		dtls_set_state(d, DTLS_STATE_CLOSED);
		break;
	default:
		code = ERR_peek_last_error();
		if (d->verify_failed)
			dtls_fail(d, "peer certificate does not match its SDP a=fingerprint");
		else if (d->reason[0]) {
			/* the alert the info callback noted */
			snprintf(why, sizeof(why), "%s", d->reason);
			dtls_fail(d, "%s", why);
		}
		else if (code) {
			ERR_error_string_n(code, why, sizeof(why));
			dtls_fail(d, "handshake failed: %s", why);
		} else {
			dtls_fail(d, "handshake failed (SSL error %d)", e);
		}
		break;
	}
	ERR_clear_error();
}

/* Let OpenSSL run on whatever is in d->in (maybe nothing). */
static void dtls_step(struct dtls *d)
{
	uint8_t app[2048];
	int rc;

	ERR_clear_error();
	if (!SSL_is_init_finished(d->ssl)) {
		rc = SSL_do_handshake(d->ssl);
		dtls_after(d, rc);
		if (rc == 1 && d->state == DTLS_STATE_HANDSHAKING)
			dtls_verify(d);
		return;
	}
	/* after the handshake: a retransmitted Finished (we resend our last
	 * flight, RFC 6347 §4.2.4), alerts, close_notify, application data */
	for (;;) {
		rc = SSL_read(d->ssl, app, sizeof(app));
		if (rc > 0) {
			d->stats.app_data_dropped++;
			continue;
		}
		dtls_after(d, rc);
		break;
	}
}

int dtls_start(struct dtls *d, uint64_t now_ms)
{
	if (d->role != DTLS_ROLE_ACTIVE)
		return 0;
	if (d->state != DTLS_STATE_NEW)
		return -EALREADY;
	d->handshake_deadline_ms = now_ms + d->cfg.timeout_ms;
	dtls_set_state(d, DTLS_STATE_HANDSHAKING);
	dtls_step(d);
	dtls_update_deadline(d, now_ms);
	return 0;
}

int dtls_input(struct dtls *d, uint64_t now_ms, const uint8_t *buf, size_t len)
{
	if (d->state == DTLS_STATE_FAILED || d->state == DTLS_STATE_CLOSED) {
		d->stats.dropped++;
		return -ENOTCONN;
	}
	if (len > DTLS_DATAGRAM_MAX) {
		d->stats.dropped++;
		return -EMSGSIZE;
	}
	/* RFC 7983: first byte 20..63 is DTLS; the caller demuxed already,
	 * this guards the OpenSSL entry point */
	if (!len || demux_classify(buf[0], len > 1 ? buf[1] : 0, (uint32_t)len) != DEMUX_DTLS) {
		d->stats.dropped++;
		return -EINVAL;
	}
	if (d->state == DTLS_STATE_NEW) {
		if (d->role == DTLS_ROLE_ACTIVE) {
			d->stats.dropped++;
			return -EAGAIN;
		}
		if (d->role == DTLS_ROLE_UNDECIDED) {
			/* RFC 5763 §5: our actpass offer lets the answerer
			 * start; its ClientHello settles that we are passive */
			d->role = DTLS_ROLE_PASSIVE;
			dtls_apply_role(d);
		}
		d->handshake_deadline_ms = now_ms + d->cfg.timeout_ms;
		dtls_set_state(d, DTLS_STATE_HANDSHAKING);
	}
	d->stats.datagrams_in++;
	d->in = buf;
	d->in_len = len;
	dtls_step(d);
	d->in = NULL;
	d->in_len = 0;
	dtls_update_deadline(d, now_ms);
	return 0;
}

uint64_t dtls_next_deadline(const struct dtls *d)
{
	return d->rto_deadline_ms < d->handshake_deadline_ms ? d->rto_deadline_ms
							     : d->handshake_deadline_ms;
}

uint64_t dtls_tick(struct dtls *d, uint64_t now_ms)
{
	int rc;

	if (now_ms >= d->handshake_deadline_ms) {
		if (d->state == DTLS_STATE_VERIFYING)
			dtls_fail(d, "no a=fingerprint for the peer's certificate within %u ms",
				  d->cfg.timeout_ms);
		else
			dtls_fail(d, "handshake timed out after %u ms", d->cfg.timeout_ms);
	}
	if (now_ms >= d->rto_deadline_ms && d->state != DTLS_STATE_FAILED &&
	    d->state != DTLS_STATE_CLOSED) {
		ERR_clear_error();
		rc = DTLSv1_handle_timeout(d->ssl);
		if (rc > 0)
			d->stats.timeouts++;
		else if (rc < 0)
			dtls_after(d, rc);
		ERR_clear_error();
	}
	dtls_update_deadline(d, now_ms);
	return dtls_next_deadline(d);
}

int dtls_close(struct dtls *d)
{
	if (d->state == DTLS_STATE_FAILED || d->state == DTLS_STATE_CLOSED)
		return 0;
	if (d->state != DTLS_STATE_NEW) {
		ERR_clear_error();
		/* queues close_notify (RFC 5246 §7.2.1); the answer is not awaited */
		SSL_shutdown(d->ssl);
		ERR_clear_error();
	}
	d->reason[0] = '\0';
	dtls_set_state(d, DTLS_STATE_CLOSED);
	d->rto_deadline_ms = UINT64_MAX;
	return 0;
}

ssize_t dtls_poll_transmit(struct dtls *d, uint8_t *buf, size_t cap)
{
	struct dtls_dgram *g = d->tx_head;
	size_t n;

	if (!g)
		return 0;
	if (g->len > cap)
		return -ENOSPC;
	n = g->len;
	memcpy(buf, g->data, n);
	d->tx_head = g->next;
	if (!d->tx_head)
		d->tx_tail = NULL;
	d->tx_count--;
	free(g);
	return (ssize_t)n;
}

bool dtls_poll_event(struct dtls *d, struct dtls_event *ev)
{
	if (!d->ev_count)
		return false;
	*ev = d->events[d->ev_head];
	d->ev_head = (d->ev_head + 1) % DTLS_EVENTS_MAX;
	d->ev_count--;
	return true;
}

enum dtls_state dtls_state(const struct dtls *d)
{
	return d->state;
}

const char *dtls_reason(const struct dtls *d)
{
	return d->reason;
}

int dtls_srtp_keys(const struct dtls *d, struct dtls_srtp_keys *out)
{
	if (d->state != DTLS_STATE_CONNECTED)
		return -ENOTCONN;
	*out = d->keys;
	return 0;
}

const struct dtls_stats *dtls_stats(const struct dtls *d)
{
	return &d->stats;
}
