// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: bytes of a scraper's connection through
 * metrics_http_parse(), as the server sees them arrive: every prefix the
 * input splits into must be "incomplete" or a verdict, a verdict never
 * claims more bytes than it was given, the same bytes give the same
 * verdict, and every error verdict has a response that fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len)
{
	struct metrics_http_req q, again;
	char out[1024];
	ssize_t n = metrics_http_parse(buf, len, &q), m;

	if (n < 0 || (size_t)n > len)
		abort();
	if (!n) {
		/* incomplete is only possible while the head may still fit */
		if (len >= METRICS_HTTP_REQ_MAX)
			abort();
		return;
	}
	if (metrics_http_parse(buf, len, &again) != n || again.status != q.status)
		abort();
	switch (q.status) {
	case 200:
		if (strcmp(q.path, METRICS_HTTP_PATH) || q.why)
			abort();
		return;
	case 400: case 404: case 405: case 414: case 431: case 505:
		break;
	default:
		abort();
	}
	if (!q.why)
		abort();
	m = metrics_http_error(&q, out, sizeof(out));
	if (m <= 0 || (size_t)m > sizeof(out))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the server buffers at most METRICS_HTTP_REQ_MAX bytes */
	size_t len = size < METRICS_HTTP_REQ_MAX ? size : METRICS_HTTP_REQ_MAX;
	char *buf = malloc(len ? len : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, len);
	/* as it arrives: first byte 0 picks a split point */
	if (len > 1)
		check(buf, (size_t)data[0] % len);
	check(buf, len);
	free(buf);
	return 0;
}
