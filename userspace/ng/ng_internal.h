/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ng_internal: helpers shared by ng.c, ng_reply.c and ng_server.c; not part
 * of the public API.
 */
#ifndef ICEPATH_NG_INTERNAL_H
#define ICEPATH_NG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "icepath/bencode.h"
#include "icepath/compiler.h"

/* Key and flag names compare with ' ', '-', '_' alike and ASCII case folded. */
bool ng_name_eq(const void *p, size_t len, const char *name);
/* printf into why (if any); returns -EINVAL. */
int ng_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* String value into a fixed field; errors name the key. */
int ng_copy_str(const struct bencode *v, const char *key, char *out, size_t cap, char *why,
		size_t why_cap);
/* Integer value, or a string holding a decimal integer. */
int ng_get_int(const struct bencode *v, const char *key, int64_t *out, char *why, size_t why_cap);

#endif
