// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepathctl metrics: fetch icepathd's /metrics (the Prometheus text format,
 * over HTTP/1.1) and print the same figures for a person, or as JSON. The
 * line parser and the printers take bytes, so tests run them on text.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepathctl.h"

#define CTL_METRICS_MAX (2u << 20) /* bytes of a response we accept */

/* One sample line "name{labels} value [timestamp]": 1, 0 for a comment or a
 * blank line, -EINVAL for anything else. Pointers go into line. */
int ctl_metrics_sample(const char *line, size_t len, struct ctl_sample *s)
{
	const char *p = line, *end = line + len, *v;
	char num[64];
	char *e;

	memset(s, 0, sizeof(*s));
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return 0;
	s->name = p;
	while (p < end && (*p == '_' || *p == ':' || (*p >= 'a' && *p <= 'z') ||
			   (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
		p++;
	s->name_len = (size_t)(p - s->name);
	if (!s->name_len || (*s->name >= '0' && *s->name <= '9'))
		return -EINVAL;
	if (p < end && *p == '{') {
		bool quoted = false;

		s->labels = ++p;
		/* a label value may hold '}' and escaped quotes */
		for (; p < end && (quoted || *p != '}'); p++) {
			if (quoted && *p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				quoted = !quoted;
		}
		if (p == end)
			return -EINVAL;
		s->labels_len = (size_t)(p - s->labels);
		p++;
	}
	if (p == end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	v = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	if (p == v || (size_t)(p - v) >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, (size_t)(p - v));
	num[p - v] = 0;
	errno = 0;
	s->value = strtod(num, &e);
	if (*e || errno == EINVAL)
		return -EINVAL;
	return 1;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

static void print_value(FILE *f, double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%g", v);
}

/* "state=\"connected\",x=\"y\"" -> "state=connected x=y" */
static int print_labels(FILE *f, const char *l, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n; i++) {
		if (l[i] == '"')
			continue;
		w++;
		if (l[i] == '\\' && i + 1 < n) {
			fputc(l[++i] == 'n' ? ' ' : l[i], f);
			continue;
		}
		fputc(l[i] == ',' ? ' ' : l[i], f);
	}
	return w;
}

int ctl_print_metrics(FILE *f, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *le;
	const char *prev = NULL;
	size_t prev_len = 0;
	struct ctl_sample s;
	int n = 0, rc;

	for (; p < end; p = le + 1) {
		char name[160];
		int w;

		le = line_end(p, end);
		rc = ctl_metrics_sample(p, (size_t)(le - p), &s);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		/* a blank line between families (the name up to _bucket/_sum/_count) */
		if (prev && (s.name_len < prev_len || memcmp(s.name, prev, prev_len)))
			fputc('\n', f);
		if (!prev || s.name_len < prev_len || memcmp(s.name, prev, prev_len)) {
			prev = s.name;
			prev_len = s.name_len;
		}
		/* icepath_ is every line's prefix: leave it out for a person */
		if (s.name_len > 8 && !memcmp(s.name, "icepath_", 8))
			w = snprintf(name, sizeof(name), "%.*s", (int)s.name_len - 8, s.name + 8);
		else
			w = snprintf(name, sizeof(name), "%.*s", (int)s.name_len, s.name);
		fputs(name, f);
		if (s.labels_len) {
			fputc(' ', f);
			w += 1 + print_labels(f, s.labels, s.labels_len);
		}
		fprintf(f, "%*s", w < 56 ? 56 - w : 1, "");
		print_value(f, s.value);
		if (s.name_len > 6 && !memcmp(s.name + s.name_len - 6, "_bytes", 6) &&
		    s.value >= 1024)
			fprintf(f, " (%.1f MiB)", s.value / 1048576.0);
		fputc('\n', f);
		n++;
	}
	return n;
}

int ctl_print_metrics_json(FILE *f, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *le;
	struct ctl_sample s;
	int n = 0, rc;

	fputs("{\"metrics\": [", f);
	for (; p < end; p = le + 1) {
		le = line_end(p, end);
		rc = ctl_metrics_sample(p, (size_t)(le - p), &s);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		fputs(n++ ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		ctl_json_str(f, s.name, s.name_len);
		fputs(", \"labels\": {", f);
		/* k="v",k="v": split on the quotes the format puts around values */
		for (size_t i = 0, first = 1; i < s.labels_len;) {
			size_t k = i, v0, v;

			while (k < s.labels_len && s.labels[k] != '=')
				k++;
			if (k + 1 >= s.labels_len || s.labels[k + 1] != '"')
				return -EINVAL;
			v0 = v = k + 2;
			while (v < s.labels_len && s.labels[v] != '"')
				v += s.labels[v] == '\\' ? 2 : 1;
			if (v >= s.labels_len)
				return -EINVAL;
			fputs(first ? "" : ", ", f);
			first = 0;
			ctl_json_str(f, s.labels + i, k - i);
			fputs(": ", f);
			ctl_json_str(f, s.labels + v0, v - v0);
			i = v + 1;
			if (i < s.labels_len && s.labels[i] == ',')
				i++;
		}
		fputs("}, \"value\": ", f);
		if (isfinite(s.value))
			print_value(f, s.value);
		else
			fputs("null", f);
		fputc('}', f);
	}
	fputs("\n]}\n", f);
	return n;
}

/* GET /metrics from addr; the body (malloc'd) or -errno with why. */
int ctl_metrics_fetch(const struct netaddr *addr, unsigned timeout_ms, char **body, size_t *blen,
		      char *why, size_t cap)
{
	char req[160], *buf = NULL, *hdr_end, host[NETADDR_STRLEN];
	uint64_t deadline = monotime_ms() + timeout_ms;
	size_t len = 0, bufcap = 0;
	struct pollfd pfd;
	int fd, err = 0, n, status;
	ssize_t r;

	fd = socket(netaddr_family(addr), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &addr->sa, netaddr_len(addr)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		snprintf(why, cap, "cannot connect: %s", strerror(errno));
		goto out;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&pfd, 1, (int)timeout_ms) != 1) {
		err = -ETIMEDOUT;
		snprintf(why, cap, "no connection within %u ms", timeout_ms);
		goto out;
	}
	n = snprintf(req, sizeof(req),
		     "GET /metrics HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\n"
		     "Connection: close\r\n\r\n",
		     netaddr_str(addr, host, sizeof(host)));
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		err = -errno;
		snprintf(why, cap, "cannot connect: %s (is icepathd started with --metrics?)",
			 strerror(errno));
		goto out;
	}
	for (;;) {
		int64_t left = (int64_t)(deadline - monotime_ms());

		if (len + 65536 > bufcap) {
			char *nb;

			if (bufcap >= CTL_METRICS_MAX) {
				err = -EFBIG;
				snprintf(why, cap, "response larger than %u bytes", CTL_METRICS_MAX);
				goto out;
			}
			bufcap = bufcap ? bufcap * 2 : 131072;
			nb = realloc(buf, bufcap + 1);
			if (!nb) {
				err = -ENOMEM;
				snprintf(why, cap, "out of memory");
				goto out;
			}
			buf = nb;
		}
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1) {
			err = -ETIMEDOUT;
			snprintf(why, cap, "no complete response within %u ms", timeout_ms);
			goto out;
		}
		r = recv(fd, buf + len, bufcap - len, 0);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r < 0) {
			err = -errno;
			snprintf(why, cap, "%s", strerror(errno));
			goto out;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		err = -EPROTO;
		snprintf(why, cap, "not an HTTP response");
		goto out;
	}
	if (status != 200) {
		err = -EPROTO;
		snprintf(why, cap, "HTTP status %d: %.*s", status, (int)strcspn(buf, "\r\n"), buf);
		goto out;
	}
	*blen = len - (size_t)(hdr_end + 4 - buf);
	memmove(buf, hdr_end + 4, *blen);
	buf[*blen] = 0;
	*body = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}
