/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the DTLS files of the crypto layer: the shared context that
 * dtls_ctx.c builds and dtls.c makes endpoints from.
 */
#ifndef ICEPATH_DTLS_INT_H
#define ICEPATH_DTLS_INT_H

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "icepath/dtls.h"

struct dtls_ctx {
	SSL_CTX *ssl_ctx;  /* certificate, key, DTLS 1.2 floor */
	BIO_METHOD *bio;   /* the datagram BIO of dtls.c, one method for all */
	char fingerprint[DTLS_FINGERPRINT_STRLEN];
};

/* The BIO method endpoints talk through (dtls.c). */
BIO_METHOD *dtls_bio_method_new(void);

#endif
