/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sdp_int: what sdp.c (the RFC 8866 model) shares with sdp_ice.c (RFC 8839
 * attributes). Private to userspace/codec.
 */
#ifndef ICEPATH_SDP_INT_H
#define ICEPATH_SDP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "icepath/sdp.h"

/* Format a rejection reason into err (may be NULL). */
void sdp_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Line number (1-based) of line pos of section idx (-1 = session). */
size_t sdp_line_no(const struct sdp *sdp, int idx, size_t pos);
/* Split s (modified in place) on runs of SP; at most max tokens. Returns the
 * count, or -E2BIG when there are more. */
int sdp_tokens(char *s, char **tok, int max);
/* Decimal without sign or spaces, at most max. */
int sdp_uint(const char *s, unsigned long max, unsigned long *out);
/* A host name that RFC 8839 §5.1 lets browsers hide behind mDNS. */
bool sdp_is_mdns(const char *host);
/* The c= line that applies to m= section idx (its own, else the session's). */
const struct sdp_line *sdp_conn_line(const struct sdp *sdp, size_t idx);

#endif
