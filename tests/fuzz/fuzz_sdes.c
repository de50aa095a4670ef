// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the a=crypto parser (sdes.c): whatever parses must
 * format, and the formatted line must parse back to the same description.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/sdes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdes_crypto a, b;
	char err[128], line[SDES_LINE_MAX];
	int n;

	if (sdes_parse((const char *)data, size, &a, err, sizeof(err)))
		return 0;
	n = sdes_format(&a, line, sizeof(line));
	if (n <= 0)
		abort();
	if (sdes_parse(line, (size_t)n, &b, err, sizeof(err)))
		abort();
	if (a.tag != b.tag || a.suite != b.suite || a.key_len != b.key_len ||
	    memcmp(a.key, b.key, a.key_len) || memcmp(a.salt, b.salt, a.salt_len) ||
	    a.lifetime != b.lifetime || a.has_mki != b.has_mki || a.mki != b.mki ||
	    a.mki_len != b.mki_len || strcmp(a.params, b.params))
		abort();
	return 0;
}
