// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DTLS certificate and the SSL_CTX every endpoint shares: an ECDSA
 * P-256 key with a self-signed certificate made at start (RFC 5763 §5: the
 * certificate may be self-signed, the SDP fingerprint is what binds it), or
 * a certificate and key loaded from PEM files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dtls_int.h"

#define DTLS_CERT_SERIAL_BITS 64 /* RFC 5280 §4.1.2.2: positive, <= 20 octets */
#define DTLS_SECONDS_PER_DAY  86400L

/* The first queued OpenSSL error as text, the queue emptied. */
static void dtls_ctx_ssl_err(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown OpenSSL error");
	ERR_clear_error();
}

__attribute__((format(printf, 3, 4))) static void dtls_ctx_err(char *err, size_t err_len,
							       const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* RFC 8122 §5: "sha-256" SP upper-case hex pairs joined by ":". */
static int dtls_ctx_set_fingerprint(struct dtls_ctx *ctx, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char *p = ctx->fingerprint;

	if (!X509_digest(cert, EVP_sha256(), md, &n))
		return -EIO;
	p += sprintf(p, "sha-256 ");
	for (unsigned i = 0; i < n; i++)
		p += sprintf(p, i ? ":%02X" : "%02X", md[i]);
	return 0;
}

static int dtls_ctx_base(struct dtls_ctx **out, char *err, size_t err_len)
{
	char why[256];
	struct dtls_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = NULL;
	if (!ctx)
		return -ENOMEM;
	ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
	ctx->bio = dtls_bio_method_new();
	if (!ctx->ssl_ctx || !ctx->bio)
		goto err;
	/* DTLS 1.2 at least (RFC 8827 for WebRTC); 1.0 lacks AEAD and SHA-256 */
	if (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, DTLS1_2_VERSION))
		goto err;
	/* the MTU is ours to say (dtls.c sets it per endpoint), not the kernel's */
	SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_QUERY_MTU);
	SSL_CTX_set_read_ahead(ctx->ssl_ctx, 1);
	if (!SSL_CTX_set1_groups_list(ctx->ssl_ctx, "P-256:X25519:P-384"))
		goto err;
	*out = ctx;
	return 0;
err:
	dtls_ctx_ssl_err(why, sizeof(why));
	dtls_ctx_err(err, err_len, "cannot set up DTLS (OpenSSL: %s)", why);
	dtls_ctx_free(ctx);
	return -ENOMEM;
}

static int dtls_ctx_self_signed(EVP_PKEY *key, X509 **out)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	X509_NAME *name;
	int ok = 0;

	if (!x || !bn)
		goto out;
	if (!X509_set_version(x, 2) || /* v3 */
	    !BN_rand(bn, DTLS_CERT_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    /* a day of slack for peers whose clock runs behind */
	    !X509_gmtime_adj(X509_getm_notBefore(x), -DTLS_SECONDS_PER_DAY) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), DTLS_CERT_VALID_DAYS * DTLS_SECONDS_PER_DAY))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"icepath",
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return -EIO;
	}
	*out = x;
	return 0;
}

int dtls_ctx_generate(struct dtls_ctx **out, char *err, size_t err_len)
{
	struct dtls_ctx *ctx;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char why[256];
	int rc;

	rc = dtls_ctx_base(&ctx, err, err_len);
	if (rc)
		return rc;
	rc = -EIO;
	key = EVP_EC_gen("P-256");
	if (!key || dtls_ctx_self_signed(key, &cert))
		goto err;
	if (!SSL_CTX_use_certificate(ctx->ssl_ctx, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx->ssl_ctx, key) || dtls_ctx_set_fingerprint(ctx, cert))
		goto err;
	/* the SSL_CTX holds its own references now */
	X509_free(cert);
	EVP_PKEY_free(key);
	*out = ctx;
	return 0;
err:
	dtls_ctx_ssl_err(why, sizeof(why));
	dtls_ctx_err(err, err_len, "cannot make the DTLS certificate (OpenSSL: %s)", why);
	X509_free(cert);
	EVP_PKEY_free(key);
	dtls_ctx_free(ctx);
	return rc;
}

int dtls_ctx_save(const struct dtls_ctx *ctx, const char *cert_file, const char *key_file,
		  char *err, size_t err_len)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx->ssl_ctx);
	EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx->ssl_ctx);

	if (!cert || !key) {
		dtls_ctx_err(err, err_len, "the DTLS context has no certificate to save");
		return -EINVAL;
	}
	for (int i = 0; i < 2; i++) {
		const char *path = i ? key_file : cert_file;
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), rc;
		FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
		bool ok;

		if (!f) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			dtls_ctx_err(err, err_len, "cannot create DTLS %s %s: %s",
				     i ? "key" : "certificate", path, strerror(-rc));
			return rc;
		}
		ok = i ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
		       : PEM_write_X509(f, cert) == 1;
		ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
		if (fclose(f) || !ok) {
			unlink(path);
			dtls_ctx_err(err, err_len, "cannot write DTLS %s %s",
				     i ? "key" : "certificate", path);
			return -EIO;
		}
	}
	return 0;
}

int dtls_ctx_load(struct dtls_ctx **out, const char *cert_file, const char *key_file, char *err,
		  size_t err_len)
{
	struct dtls_ctx *ctx;
	char why[256];
	FILE *f;
	int rc;

	*out = NULL;
	/* say "cannot read" apart from "not a certificate" */
	for (int i = 0; i < 2; i++) {
		const char *path = i ? key_file : cert_file;

		f = fopen(path, "r");
		if (!f) {
			rc = -errno;
			dtls_ctx_err(err, err_len, "cannot read DTLS %s %s: %s",
				     i ? "key" : "certificate", path, strerror(-rc));
			return rc;
		}
		fclose(f);
	}
	rc = dtls_ctx_base(&ctx, err, err_len);
	if (rc)
		return rc;
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, cert_file) != 1) {
		dtls_ctx_ssl_err(why, sizeof(why));
		dtls_ctx_err(err, err_len,
			     "DTLS certificate %s is not a PEM certificate (%s); give "
			     "--dtls-cert a PEM file, or leave it out to have one made at start",
			     cert_file, why);
		goto err;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
		dtls_ctx_ssl_err(why, sizeof(why));
		dtls_ctx_err(err, err_len,
			     "DTLS key %s is not the PEM private key of %s (%s); give --dtls-key "
			     "the key the certificate was made for",
			     key_file, cert_file, why);
		goto err;
	}
	if (dtls_ctx_set_fingerprint(ctx, SSL_CTX_get0_certificate(ctx->ssl_ctx))) {
		dtls_ctx_ssl_err(why, sizeof(why));
		dtls_ctx_err(err, err_len, "cannot hash DTLS certificate %s (%s)", cert_file, why);
		goto err;
	}
	*out = ctx;
	return 0;
err:
	dtls_ctx_free(ctx);
	return -EINVAL;
}

void dtls_ctx_free(struct dtls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	BIO_meth_free(ctx->bio);
	free(ctx);
}

const char *dtls_ctx_fingerprint(const struct dtls_ctx *ctx)
{
	return ctx->fingerprint;
}
