/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay_limits: what one NG client or one configuration may take of the
 * daemon. Calls: --max-sessions (rtpengine's name and reply), and who may
 * speak for a call that exists. Descriptors: RLIMIT_NOFILE raised at start
 * to what the port range needs. Small on purpose: the offer path calls each
 * check in one line.
 */
#ifndef ICEPATH_RELAY_LIMITS_H
#define ICEPATH_RELAY_LIMITS_H

#include <stdbool.h>

#include "call.h"
#include "daemon_opts.h"
#include "icepath/ng.h"

struct relay;

/* Descriptors the daemon holds besides media sockets: stdio, NG, epoll,
 * signalfd, timerfd, the fast path's program, maps and links, netlink
 * sockets, the state file, syslog. */
#define RELAY_LIMITS_FD_RESERVE 64
/* Each m= line: an RTP and an RTCP socket on each leg (also with rtcp-mux:
 * the pair is bound before the answer says whether RTCP is muxed). */
#define RELAY_LIMITS_FDS_PER_MLINE (2 * CALL_NCOMP)

/*
 * An offer that would create a call: refused with rtpengine's "Parallel
 * session limit reached" when --max-sessions calls exist. Offers for known
 * calls pass. 0, or -ENOSPC after ng_reply_error(); call it before anything
 * of the call is created.
 */
int relay_limits_admit_call(struct relay *r, const struct ng_request *req, struct ng_reply *rep);

/*
 * The leg an offer for call c speaks for (leg A of the offer): the leg with
 * the request's from-tag; on a new call leg 0; on an existing call with a
 * from-tag it does not know, the untagged leg 1 only when the to-tag names
 * leg 0 (the callee re-offers before its answer was seen). Any other
 * from-tag is another dialogue on the same call-id (rtpengine makes it a
 * new party, never the existing one), and a to-tag that names neither the
 * other leg nor nobody would rename it: both are refused (NULL after
 * ng_reply_error()), so an offer never takes over a leg of a running call.
 */
struct call_leg *relay_limits_offer_leg(struct call *c, const struct ng_request *req,
					bool created, struct ng_reply *rep);

/*
 * ng_server_config.on_denied: a request from outside --ng-allow was
 * dropped. Logged for the 1st, 2nd, 4th, 8th... so a misconfigured proxy
 * is seen at once and a flood costs a log line per doubling.
 */
void relay_limits_ng_denied(void *ctx, const struct netaddr *from, uint64_t denied);

/* Descriptors o needs at most: one per media port (capped by
 * --max-sessions calls of CALL_MAX_STREAMS m= lines) plus the reserve. */
unsigned long relay_limits_fds_needed(const struct daemon_opts *o);

/*
 * Raise RLIMIT_NOFILE to relay_limits_fds_needed() (the soft limit, and the
 * hard one where the process may). 0, or -EMFILE after a log line saying
 * which limit to raise and by how much.
 */
int relay_limits_fds(const struct daemon_opts *o);

#endif
