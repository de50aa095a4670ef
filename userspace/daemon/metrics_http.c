// SPDX-License-Identifier: GPL-2.0-only
/* metrics_http: request parser and response heads for /metrics (see metrics_http.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "metrics_http.h"

/* RFC 9110 5.6.2: tchar, the characters of a token (methods, field names) */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* Visible ASCII (RFC 5234 VCHAR): what a request target may hold. */
static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static ssize_t verdict(struct metrics_http_req *req, ssize_t n, int status, const char *why)
{
	req->status = status;
	req->why = why;
	return n;
}

/* The end of the head: the byte after the empty line, or 0 if not there yet. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* RFC 9112 2.2: a recipient MAY accept a bare LF as a line end */
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One line of [p, end): its length without CR LF; *next past the LF. */
static size_t line_len(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	if (!lf)
		lf = end;
	*next = lf < end ? lf + 1 : end;
	n = (size_t)(lf - p);
	if (n && p[n - 1] == '\r')
		n--;
	return n;
}

/* The request line; the HTTP/1.x minor version, or -1 after setting the verdict. */
static int parse_request_line(const char *p, size_t n, struct metrics_http_req *req)
{
	const char *sp1, *sp2, *target, *version, *q;
	size_t tlen, vlen, plen;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return (int)verdict(req, -1, 400, "control character in the request line");
	sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p)
		return (int)verdict(req, -1, 400, "request line is not 'METHOD TARGET HTTP/1.1'");
	for (const char *m = p; m < sp1; m++)
		if (!is_tchar((unsigned char)*m))
			return (int)verdict(req, -1, 400, "method is not a token");
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - (size_t)(target - p));
	if (!sp2 || sp2 == target)
		return (int)verdict(req, -1, 400, "request line is not 'METHOD TARGET HTTP/1.1'");
	version = sp2 + 1;
	vlen = n - (size_t)(version - p);
	tlen = (size_t)(sp2 - target);
	if (memchr(version, ' ', vlen))
		return (int)verdict(req, -1, 400, "request line is not 'METHOD TARGET HTTP/1.1'");
	if (vlen != 8 || memcmp(version, "HTTP/", 5) || version[6] != '.' ||
	    version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
		return (int)verdict(req, -1, 400, "no HTTP version at the end of the request line");
	if (version[5] != '1')
		return (int)verdict(req, -1, 505, "only HTTP/1.0 and HTTP/1.1 are served");
	/* origin-form only (RFC 9112 3.2.1): a scraper asks for "/metrics" */
	if (target[0] != '/')
		return (int)verdict(req, -1, 400, "request target must be a path like /metrics");
	for (size_t i = 0; i < tlen; i++)
		if (!is_vchar((unsigned char)target[i]))
			return (int)verdict(req, -1, 400, "request target holds a non-visible character");
	q = memchr(target, '?', tlen);
	plen = q ? (size_t)(q - target) : tlen;
	if (plen > METRICS_HTTP_PATH_MAX)
		return (int)verdict(req, -1, 414, "request target too long");
	memcpy(req->path, target, plen);
	req->path[plen] = 0;
	if ((size_t)(sp1 - p) == 3 && !memcmp(p, "GET", 3))
		req->head = false;
	else if ((size_t)(sp1 - p) == 4 && !memcmp(p, "HEAD", 4))
		req->head = true;
	else
		return (int)verdict(req, -1, 405, "only GET and HEAD are served");
	req->status = 200;
	return version[7] - '0';
}

/* A field line "Name: value" (RFC 9112 5). 0, or -1 after setting the verdict. */
static int parse_field(const char *p, size_t n, struct metrics_http_req *req, bool *host)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;

	if (p[0] == ' ' || p[0] == '\t')
		/* RFC 9112 5.2: obs-fold in a request MUST be rejected (or replaced) */
		return (int)verdict(req, -1, 400, "folded header line");
	if (!colon || colon == p)
		return (int)verdict(req, -1, 400, "header line without 'name:'");
	for (const char *c = p; c < colon; c++)
		/* RFC 9112 5.1: no whitespace between the name and the colon */
		if (!is_tchar((unsigned char)*c))
			return (int)verdict(req, -1, 400, "header name is not a token");
	for (const char *c = colon + 1; c < end; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return (int)verdict(req, -1, 400, "control character in a header value");
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(colon - p) == 4 && !strncasecmp(p, "Host", 4)) {
		if (*host)
			/* RFC 9112 3.2: more than one Host MUST be answered 400 */
			return (int)verdict(req, -1, 400, "more than one Host header");
		*host = true;
	} else if ((size_t)(colon - p) == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
		return (int)verdict(req, -1, 400, "a request body is not accepted");
	} else if ((size_t)(colon - p) == 14 && !strncasecmp(p, "Content-Length", 14)) {
		if (end - v != 1 || *v != '0')
			return (int)verdict(req, -1, 400, "a request body is not accepted");
	}
	return 0;
}

ssize_t metrics_http_parse(const char *buf, size_t len, struct metrics_http_req *req)
{
	const char *p = buf, *end, *next;
	size_t n, total;
	bool host = false;
	int minor;

	memset(req, 0, sizeof(*req));
	total = head_end(buf, len < METRICS_HTTP_REQ_MAX ? len : METRICS_HTTP_REQ_MAX);
	if (!total) {
		if (len < METRICS_HTTP_REQ_MAX)
			return 0;
		return verdict(req, (ssize_t)len, 431, "request head larger than 4096 bytes");
	}
	end = buf + total;
	/* RFC 9112 2.2: SHOULD ignore at least one empty line before the request */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (p == end)
		return verdict(req, (ssize_t)total, 400, "empty request");
	n = line_len(p, end, &next);
	minor = parse_request_line(p, n, req);
	if (minor < 0)
		return (ssize_t)total;
	for (p = next; p < end; p = next) {
		n = line_len(p, end, &next);
		if (!n)
			break;
		if (parse_field(p, n, req, &host))
			return (ssize_t)total;
	}
	if (minor == 1 && !host)
		/* RFC 9112 3.2: an HTTP/1.1 request without Host MUST get 400 */
		return verdict(req, (ssize_t)total, 400, "HTTP/1.1 request without Host");
	if (strcmp(req->path, METRICS_HTTP_PATH))
		return verdict(req, (ssize_t)total, 404, "not found: the metrics are at /metrics");
	return (ssize_t)total;
}

const char *metrics_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

ssize_t metrics_http_head(int status, const char *ctype, size_t body_len, char *out, size_t cap)
{
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n",
			 status, metrics_http_reason(status), ctype, body_len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

ssize_t metrics_http_error(const struct metrics_http_req *req, char *out, size_t cap)
{
	char body[160];
	int blen = snprintf(body, sizeof(body), "%d %s: %s\n", req->status,
			    metrics_http_reason(req->status), req->why ? req->why : "error");
	ssize_t h;

	if (blen < 0)
		return -EINVAL;
	if ((size_t)blen >= sizeof(body))
		blen = (int)sizeof(body) - 1;
	h = metrics_http_head(req->status, "text/plain; charset=utf-8", (size_t)blen, out, cap);
	if (h < 0)
		return h;
	if (req->head)
		return h;
	if ((size_t)h + (size_t)blen > cap)
		return -ENOSPC;
	memcpy(out + h, body, (size_t)blen);
	return h + blen;
}
