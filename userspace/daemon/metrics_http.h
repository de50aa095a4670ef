/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics_http: the smallest HTTP/1.x server side that a Prometheus scrape
 * needs, sans-I/O like ng_handle(): bytes of a request in, a verdict and
 * then a response out. No socket, no clock. metrics.c owns the sockets.
 *
 * Only GET and HEAD of one path are served, without a request body; every
 * response closes the connection (RFC 9112 9.6 "Connection: close"), so
 * a scraper never holds state here. The request head is bounded
 * (METRICS_HTTP_REQ_MAX): what does not fit is answered 431 and closed.
 */
#ifndef ICEPATH_METRICS_HTTP_H
#define ICEPATH_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define METRICS_HTTP_REQ_MAX  4096 /* bytes of request line + headers we buffer */
#define METRICS_HTTP_PATH_MAX 256  /* bytes of the request target we keep */
#define METRICS_HTTP_PATH     "/metrics"
/* The Prometheus text exposition format, version 0.0.4 */
#define METRICS_HTTP_CTYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http_req {
	bool head;			     /* HEAD: same head, no body */
	char path[METRICS_HTTP_PATH_MAX + 1]; /* target without "?query" */
	int status;			     /* what to answer: 200, 400, 404, 405, 431, 505 */
	const char *why;		     /* for status != 200: a sentence for the body */
};

/*
 * Look at the bytes received so far on a connection (from its start).
 * Returns 0 while the head is incomplete and still fits, or a positive
 * number of bytes that ended the head (CRLF CRLF; bare LF accepted) with
 * req filled: req->status 200 for GET/HEAD of METRICS_HTTP_PATH, an error
 * status otherwise. A head that cannot be complete within
 * METRICS_HTTP_REQ_MAX bytes returns len with status 431.
 */
ssize_t metrics_http_parse(const char *buf, size_t len, struct metrics_http_req *req);

/* "OK", "Not Found"...; "Error" for a status it does not know. */
const char *metrics_http_reason(int status);

/*
 * The response head for status with a body of body_len bytes (which the
 * caller sends after it, unless the request was HEAD): status line,
 * Content-Type, Content-Length, Connection: close, and Allow for 405.
 * Returns its length, or -ENOSPC when cap is too small.
 */
ssize_t metrics_http_head(int status, const char *ctype, size_t body_len, char *out, size_t cap);

/* A whole error response (head + a one-line text body with req->why). */
ssize_t metrics_http_error(const struct metrics_http_req *req, char *out, size_t cap);

#endif
