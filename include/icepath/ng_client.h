/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ng_client: the client side of the NG protocol over UDP (icepathctl,
 * ng-fuzz, tests): one socket, cookies "<pid>_<n>", and retransmission of
 * the very same bytes (same cookie) when a reply does not come, so a
 * server with a cookie cache executes the command once.
 */
#ifndef ICEPATH_NG_CLIENT_H
#define ICEPATH_NG_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "icepath/netaddr.h"
#include "icepath/ng.h"

#define NG_CLIENT_TIMEOUT_MS 1000 /* per attempt */
#define NG_CLIENT_RETRIES    2	  /* resends after the first attempt */

struct ng_client {
	int fd;
	struct netaddr server;
	unsigned timeout_ms;
	unsigned retries;
	unsigned seq;
	unsigned attempts; /* sends made by the last exchange */
	uint64_t rtt_us;   /* last send to reply, microseconds */
};

/* Connected UDP socket to server. 0 or -errno. */
int ng_client_open(struct ng_client *c, const struct netaddr *server, unsigned timeout_ms,
		   unsigned retries);
/* Accepts NULL and a closed client. */
void ng_client_close(struct ng_client *c);
/* Next cookie, "<pid>_<seq>". */
void ng_client_cookie(struct ng_client *c, char *out, size_t cap);
/*
 * Send dgram (which starts with `cookie` and a space) and wait for the
 * reply carrying the same cookie; replies with other cookies (late answers
 * to earlier requests) are skipped. Resends the same bytes up to retries
 * times. Returns the reply length, -ETIMEDOUT, or -errno (e.g.
 * -ECONNREFUSED when nothing listens on a local port).
 */
ssize_t ng_client_exchange(struct ng_client *c, const char *cookie, const void *dgram, size_t len,
			   uint8_t *reply, size_t cap);
/*
 * Encode req with a fresh cookie, exchange, parse into rep (strings in rep
 * may point into reply, which must outlive rep). Returns the reply length,
 * or -ETIMEDOUT/-errno, or -EBADMSG (why says what was wrong with the reply).
 * A reply with result "error" is not a failure here: check rep->result.
 */
ssize_t ng_client_call(struct ng_client *c, struct ng_request *req, uint8_t *reply, size_t cap,
		       struct ng_reply *rep, char *why, size_t why_cap);

#endif
