// SPDX-License-Identifier: GPL-2.0-only
/* relay_limits: --max-sessions, who speaks for a call, RLIMIT_NOFILE (see relay_limits.h). */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon_log.h"
#include "relay.h"
#include "relay_limits.h"

int relay_limits_admit_call(struct relay *r, const struct ng_request *req, struct ng_reply *rep)
{
	if (!r->opts.max_sessions || call_find(&r->calls, req->call_id))
		return 0;
	if (r->calls.ncalls < r->opts.max_sessions)
		return 0;
	ng_reply_error(rep, "Parallel session limit reached (--max-sessions %u)",
		       r->opts.max_sessions);
	/* a client that understands it tries the next relay of its set */
	if (req->supports_load_limit)
		rep->result = NG_RESULT_LOAD_LIMIT;
	return -ENOSPC;
}

struct call_leg *relay_limits_offer_leg(struct call *c, const struct ng_request *req,
					bool created, struct ng_reply *rep)
{
	struct call_leg *a, *b;

	if (created)
		return &c->legs[0];
	a = call_leg_by_tag(c, req->from_tag);
	if (!a && !c->legs[0].tag[0])
		a = &c->legs[0];
	if (!a && !c->legs[1].tag[0] && req->to_tag[0] && !strcmp(req->to_tag, c->legs[0].tag))
		a = &c->legs[1];
	if (!a) {
		ng_reply_error(rep,
			       "offer for call '%s': from-tag '%s' is not a party of this call "
			       "(icepath relays one dialogue per call-id)",
			       req->call_id, req->from_tag);
		return NULL;
	}
	b = call_leg_other(a);
	if (req->to_tag[0] && b->tag[0] && strcmp(req->to_tag, b->tag)) {
		ng_reply_error(rep,
			       "offer for call '%s': to-tag '%s' is not the other party of "
			       "from-tag '%s'",
			       req->call_id, req->to_tag, req->from_tag);
		return NULL;
	}
	return a;
}

void relay_limits_ng_denied(void *ctx, const struct netaddr *from, uint64_t denied)
{
	char buf[NETADDR_STRLEN];

	if (denied & (denied - 1))
		return;
	log_warn("NG request from %s dropped: not in --ng-allow (%llu dropped so far); add the "
		 "proxy's address to --ng-allow if it is one",
		 netaddr_str(from, buf, sizeof(buf)), (unsigned long long)denied);
}

unsigned long relay_limits_fds_needed(const struct daemon_opts *o)
{
	unsigned long media = daemon_opts_ports(o);

	if (o->max_sessions) {
		unsigned long by_calls = (unsigned long)o->max_sessions * CALL_MAX_STREAMS *
					 RELAY_LIMITS_FDS_PER_MLINE;

		if (by_calls < media)
			media = by_calls;
	}
	return media + RELAY_LIMITS_FD_RESERVE;
}

int relay_limits_fds(const struct daemon_opts *o)
{
	unsigned long need = relay_limits_fds_needed(o);
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		want.rlim_cur = need;
		want.rlim_max = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? rl.rlim_max
										   : need;
		/* above the hard limit only with CAP_SYS_RESOURCE */
		if (setrlimit(RLIMIT_NOFILE, &want)) {
			log_err("the file descriptor limit (RLIMIT_NOFILE) is %llu, hard %llu; media "
				"ports %u-%u need up to %lu descriptors (one per port, %d per m= "
				"line of a call, plus %d): raise it (ulimit -n %lu, systemd "
				"LimitNOFILE=%lu), or narrow --port-min/--port-max or lower "
				"--max-sessions",
				(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
				o->port_min, o->port_max, need, RELAY_LIMITS_FDS_PER_MLINE,
				RELAY_LIMITS_FD_RESERVE, need, need);
			return -EMFILE;
		}
		log_info("file descriptor limit raised from %llu to %lu for media ports %u-%u",
			 (unsigned long long)rl.rlim_cur, need, o->port_min, o->port_max);
	}
	return 0;
}
