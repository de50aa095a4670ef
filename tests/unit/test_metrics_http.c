// SPDX-License-Identifier: GPL-2.0-only
/* metrics_http: the /metrics request parser on good, partial and hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icepath/compiler.h"

#include "daemon/metrics_http.h"

/* A request and the status it must get (0: incomplete, wait for more). */
struct http_case {
	const char *what;
	const char *req;
	int status;
	bool head;
};

static const struct http_case cases[] = {
	{"Prometheus' own request", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
	 "User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;version=1.0.0,"
	 "text/plain;version=0.0.4;q=0.5\r\nAccept-Encoding: gzip\r\n"
	 "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n", 200, false},
	{"HTTP/1.0 needs no Host", "GET /metrics HTTP/1.0\r\n\r\n", 200, false},
	{"HEAD", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, true},
	{"bare LF line ends", "GET /metrics HTTP/1.1\nHost: x\n\n", 200, false},
	{"query string ignored", "GET /metrics?name[]=x HTTP/1.1\r\nHost: x\r\n\r\n", 200, false},
	{"an empty line before the request", "\r\nGET /metrics HTTP/1.0\r\n\r\n", 200, false},
	{"Content-Length: 0 is no body", "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	 "Content-Length: 0\r\n\r\n", 200, false},
	{"incomplete head", "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, false},
	{"nothing yet", "", 0, false},
	{"other path", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
	{"path prefix", "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
	{"POST", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, false},
	{"lower-case method", "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, false},
	{"HTTP/0.9", "GET /metrics\r\n\r\n", 400, false},
	{"no version digits", "GET /metrics HTTP/x.y\r\nHost: x\r\n\r\n", 400, false},
	{"absolute form", "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"two spaces", "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"trailing space", "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", 400, false},
	{"NUL in the target", "GET /met\0rics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"tab in the request line", "GET\t/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"DEL in the target", "GET /metrics\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"no Host in 1.1", "GET /metrics HTTP/1.1\r\n\r\n", 400, false},
	{"two Hosts", "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, false},
	{"space before colon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400, false},
	{"header without colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400, false},
	{"empty header name", "GET /metrics HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", 400, false},
	{"obs-fold", "GET /metrics HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n", 400, false},
	{"a body", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400,
	 false},
	{"chunked body", "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	 400, false},
	{"control byte in a value", "GET /metrics HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400, false},
	{"only line ends", "\r\n\r\n", 400, false},
	{"not HTTP at all", "\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\n\n", 400, false},
};

static void request_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct http_case *c = &cases[i];
		/* the NUL case: its length is the literal's, not strlen's */
		size_t len = !strcmp(c->what, "NUL in the target") ? 42 : strlen(c->req);
		struct metrics_http_req q;
		ssize_t n = metrics_http_parse(c->req, len, &q);

		print_message("  %-32s -> %d\n", c->what, c->status);
		if (!c->status) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_true(n > 0);
		assert_true((size_t)n <= len);
		assert_int_equal(q.status, c->status);
		if (c->status == 200) {
			assert_string_equal(q.path, "/metrics");
			assert_int_equal(q.head, c->head);
			assert_null(q.why);
		} else {
			assert_non_null(q.why);
		}
	}
}

/* Every prefix of a good request is "incomplete", then the whole is 200. */
static void byte_by_byte(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct metrics_http_req q;

	for (size_t i = 0; i < sizeof(req) - 1; i++)
		assert_int_equal(metrics_http_parse(req, i, &q), 0);
	assert_int_equal(metrics_http_parse(req, sizeof(req) - 1, &q), (ssize_t)sizeof(req) - 1);
	assert_int_equal(q.status, 200);
}

/* The head is bounded: a client that never ends it is answered 431. */
static void oversize(void **state)
{
	char *big = malloc(METRICS_HTTP_REQ_MAX + 100);
	struct metrics_http_req q;
	int n;

	assert_non_null(big);
	n = snprintf(big, METRICS_HTTP_REQ_MAX + 100, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ");
	memset(big + n, 'a', METRICS_HTTP_REQ_MAX + 100 - (size_t)n);
	assert_int_equal(metrics_http_parse(big, METRICS_HTTP_REQ_MAX - 1, &q), 0);
	assert_int_equal(metrics_http_parse(big, METRICS_HTTP_REQ_MAX, &q), METRICS_HTTP_REQ_MAX);
	assert_int_equal(q.status, 431);
	/* an end of head past the bound does not count either */
	memcpy(big + METRICS_HTTP_REQ_MAX + 10, "\r\n\r\n", 4);
	assert_int_equal(metrics_http_parse(big, METRICS_HTTP_REQ_MAX + 20, &q),
			 METRICS_HTTP_REQ_MAX + 20);
	assert_int_equal(q.status, 431);
	/* a target longer than we keep */
	n = snprintf(big, METRICS_HTTP_REQ_MAX, "GET /%0*d HTTP/1.1\r\nHost: x\r\n\r\n",
		     METRICS_HTTP_PATH_MAX + 1, 0);
	assert_true(metrics_http_parse(big, (size_t)n, &q) > 0);
	assert_int_equal(q.status, 414);
	free(big);
}

static void responses(void **state)
{
	struct metrics_http_req q = {.status = 405, .why = "only GET and HEAD are served"};
	char out[512];
	ssize_t n;

	n = metrics_http_head(200, METRICS_HTTP_CTYPE, 1234, out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
				 "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
				 "Content-Length: 1234\r\nConnection: close\r\n\r\n");
	assert_int_equal(metrics_http_head(200, METRICS_HTTP_CTYPE, 1, out, 20), -ENOSPC);
	n = metrics_http_error(&q, out, sizeof(out));
	assert_true(n > 0);
	out[n] = 0;
	assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
	assert_non_null(strstr(out, "\r\n\r\n405 Method Not Allowed: only GET and HEAD"));
	/* Content-Length is the body's */
	assert_non_null(strstr(out, "Content-Length: 53\r\n"));
	assert_int_equal(strlen(strstr(out, "\r\n\r\n") + 4), 53);
	q.head = true;
	n = metrics_http_error(&q, out, sizeof(out));
	out[n] = 0;
	assert_int_equal(out[n - 1], '\n');
	assert_null(strstr(out, "only GET"));
	assert_int_equal(metrics_http_error(&q, out, 30), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_table),
		cmocka_unit_test(byte_by_byte),
		cmocka_unit_test(oversize),
		cmocka_unit_test(responses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
