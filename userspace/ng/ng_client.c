// SPDX-License-Identifier: GPL-2.0-only
/* ng_client: NG over UDP from the client side (see include/icepath/ng_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/ng_client.h"

int ng_client_open(struct ng_client *c, const struct netaddr *server, unsigned timeout_ms,
		   unsigned retries)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->fd = socket(netaddr_family(server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* connect(): the kernel filters replies from other senders and reports
	 * ICMP port-unreachable as ECONNREFUSED, so "nothing listens" is told
	 * apart from "no answer". */
	if (connect(c->fd, &server->sa, netaddr_len(server))) {
		err = -errno;
		close(c->fd);
		c->fd = -1;
		return err;
	}
	c->server = *server;
	c->timeout_ms = timeout_ms ? timeout_ms : NG_CLIENT_TIMEOUT_MS;
	c->retries = retries;
	return 0;
}

void ng_client_close(struct ng_client *c)
{
	if (c && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

void ng_client_cookie(struct ng_client *c, char *out, size_t cap)
{
	snprintf(out, cap, "%ld_%u", (long)getpid(), ++c->seq);
}

/* Wait for our cookie until deadline_us; 0 on timeout. */
static ssize_t ng_client_wait(struct ng_client *c, const char *cookie, uint64_t deadline_us,
			      uint8_t *reply, size_t cap)
{
	size_t clen = strlen(cookie);

	for (;;) {
		uint64_t now = monotime_us();
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		ssize_t n;
		int rc;

		if (now >= deadline_us)
			return 0;
		rc = poll(&p, 1, (int)((deadline_us - now + 999) / 1000));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return 0;
		n = recv(c->fd, reply, cap, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if ((size_t)n > clen && !memcmp(reply, cookie, clen) && reply[clen] == ' ')
			return n;
		/* A late reply to an earlier request: not ours, keep waiting. */
	}
}

ssize_t ng_client_exchange(struct ng_client *c, const char *cookie, const void *dgram, size_t len,
			   uint8_t *reply, size_t cap)
{
	c->attempts = 0;
	for (unsigned i = 0; i <= c->retries; i++) {
		uint64_t start = monotime_us();
		ssize_t n;

		c->attempts++;
		if (send(c->fd, dgram, len, 0) < 0)
			return -errno;
		n = ng_client_wait(c, cookie, start + (uint64_t)c->timeout_ms * 1000u, reply, cap);
		if (n > 0)
			c->rtt_us = monotime_us() - start;
		if (n != 0)
			return n;
	}
	return -ETIMEDOUT;
}

ssize_t ng_client_call(struct ng_client *c, struct ng_request *req, uint8_t *reply, size_t cap,
		       struct ng_reply *rep, char *why, size_t why_cap)
{
	uint8_t dgram[NG_DGRAM_MAX];
	ssize_t n, len;

	ng_client_cookie(c, req->cookie, sizeof(req->cookie));
	len = ng_request_encode(req, dgram, sizeof(dgram));
	if (len < 0) {
		snprintf(why, why_cap, "request does not fit in a datagram");
		return len;
	}
	n = ng_client_exchange(c, req->cookie, dgram, (size_t)len, reply, cap);
	if (n < 0)
		return n;
	if (ng_reply_parse(reply, (size_t)n, req->cookie, rep, why, why_cap))
		return -EBADMSG;
	return n;
}
