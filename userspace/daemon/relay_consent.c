// SPDX-License-Identifier: GPL-2.0-only
/* relay_consent: RFC 7675 consent on legs recovered from the state file (see relay.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "relay.h"
#include "icepath/stun.h"

#define CONSENT_MSG_MAX 700 /* bytes: USERNAME (<= 513) + the fixed attributes */

static uint32_t interval_ms(const struct relay *r)
{
	return r->opts.consent_interval_ms ? r->opts.consent_interval_ms : ICE_CONSENT_INTERVAL_MS;
}

static uint32_t timeout_ms(const struct relay *r)
{
	return r->opts.consent_timeout_ms ? r->opts.consent_timeout_ms : ICE_CONSENT_TIMEOUT_MS;
}

/* A component we check: ICE credentials both ways and a peer address. */
static bool checked(const struct call_stream *s, unsigned comp)
{
	return s->active && s->local_ufrag[0] && s->local_pwd[0] && s->remote_ufrag[0] &&
	       s->remote_pwd[0] && s->remote_set[comp] && s->sock[comp].fd >= 0 &&
	       !(comp == CALL_COMP_RTCP && s->rtcp_mux);
}

static void arm(struct relay *r, struct call_leg *l, uint64_t now)
{
	uint16_t jitter;

	/* RFC 7675 §5.1: the interval is randomised to 0.8..1.2 of its value
	 * so that checks of many legs do not fall into step */
	relay_random(&jitter, sizeof(jitter));
	l->ice_timer.owner = l;
	l->ice_timer.kind = RELAY_TIMER_ICE;
	timerheap_set(&r->timers, &l->ice_timer,
		      now + interval_ms(r) * (800u + jitter % 401u) / 1000u);
}

static void send_check(struct call_leg *l, struct call_stream *s, unsigned comp)
{
	/* both ufrags whole; one over STUN's USERNAME limit fails the build */
	char user[sizeof(s->remote_ufrag) + sizeof(s->local_ufrag)], a[NETADDR_STRLEN];
	uint8_t out[CONSENT_MSG_MAX];
	struct stun_builder b;
	int n;

	relay_random(s->consent_tid[comp], STUN_TID_LEN);
	/* RFC 8445 §7.2.2: USERNAME is "<peer's ufrag>:<our ufrag>", the
	 * integrity key the peer's password; PRIORITY as a peer-reflexive
	 * candidate of ours (§7.1.1: type preference 110, component) and our
	 * role, which is the one the relay had: controlled toward the offerer
	 * (leg 0), controlling toward the answerer (leg 1) */
	snprintf(user, sizeof(user), "%s:%s", s->remote_ufrag, s->local_ufrag);
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			s->consent_tid[comp]);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	stun_build_u32(&b, STUN_ATTR_PRIORITY, (110u << 24) | (65535u << 8) | (256u - (comp + 1)));
	stun_build_u64(&b, l->side ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
		       l->consent_tiebreaker);
	stun_build_integrity(&b, (const uint8_t *)s->remote_pwd, strlen(s->remote_pwd));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	if (n <= 0) {
		log_warn("call %s leg %s stream %u: consent check not built (%s)", l->call->id,
			 l->tag, s->index, stun_strerror(n));
		return;
	}
	if (sendto(s->sock[comp].fd, out, (size_t)n, MSG_DONTWAIT, &s->remote[comp].sa,
		   netaddr_len(&s->remote[comp])) < 0)
		log_debug("call %s leg %s: consent check to %s: %s", l->call->id, l->tag,
			  netaddr_str(&s->remote[comp], a, sizeof(a)), strerror(errno));
}

static void consent_set(struct relay *r, struct call_leg *l, struct call_stream *s, bool ok,
			uint64_t now)
{
	char a[NETADDR_STRLEN];

	if (s->consent == ok)
		return;
	s->consent = ok;
	if (ok)
		log_info("call %s leg %s stream %u: consent regained: forwarding resumes",
			 l->call->id, l->tag, s->index);
	else
		log_warn("call %s leg %s stream %u: RFC 7675 consent lost (no answer to the "
			 "recovered leg's checks for %u ms): forwarding toward %s stops",
			 l->call->id, l->tag, s->index, timeout_ms(r),
			 netaddr_str(&s->remote[CALL_COMP_RTP], a, sizeof(a)));
	relay_leg_changed(r, l, now);
}

void relay_consent_start(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	bool any = false;

	relay_random(&l->consent_tiebreaker, sizeof(l->consent_tiebreaker));
	for (unsigned i = 0; i < l->nstreams; i++) {
		struct call_stream *s = &l->streams[i];

		for (unsigned c = 0; c < CALL_NCOMP; c++) {
			if (!checked(s, c))
				continue;
			/* consent was granted when the state was written; how
			 * long ago is unknown, so a full timeout starts now */
			s->consent_ok_ms[c] = now_ms;
			s->ice = true;
			any = true;
		}
	}
	if (!any) {
		log_warn("call %s leg %s: recovered without the peer's ICE credentials (state "
			 "file of an older icepathd): no consent checks toward it",
			 l->call->id, l->tag);
		return;
	}
	/* the first round at once: a peer gone while the daemon was down is
	 * found out one timeout after the restart */
	for (unsigned i = 0; i < l->nstreams; i++)
		for (unsigned c = 0; c < CALL_NCOMP; c++)
			if (checked(&l->streams[i], c))
				send_check(l, &l->streams[i], c);
	arm(r, l, now_ms);
}

void relay_consent_tick(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	for (unsigned i = 0; i < l->nstreams; i++) {
		struct call_stream *s = &l->streams[i];
		bool lost = false, any = false;

		for (unsigned c = 0; c < CALL_NCOMP; c++) {
			if (!checked(s, c))
				continue;
			any = true;
			lost |= now_ms - s->consent_ok_ms[c] >= timeout_ms(r);
			/* checks go on after a loss: an answer regains it */
			send_check(l, s, c);
		}
		if (any && lost)
			consent_set(r, l, s, false, now_ms);
	}
	if (l->state != CALL_LEG_STATE_CLOSED)
		arm(r, l, now_ms);
}

/* The peer's check: answered with the credentials the relay gave it. */
static void answer_check(struct call_stream *s, unsigned comp, const struct stun_msg *m,
			 const struct netaddr *from)
{
	char user[STUN_USERNAME_MAX];
	uint8_t out[256];
	struct stun_builder b;
	const struct stun_attr *a;
	size_t ul = strlen(s->local_ufrag);
	int n;

	/* RFC 8445 §7.3: USERNAME is "<our ufrag>:<peer ufrag>" */
	a = stun_msg_find(m, STUN_ATTR_USERNAME);
	if (!ul || !a || stun_attr_get_string(m, a, user, sizeof(user)) ||
	    strncmp(user, s->local_ufrag, ul) || user[ul] != ':')
		return;
	if (stun_check_integrity(m, (const uint8_t *)s->local_pwd, strlen(s->local_pwd)))
		return;
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m->tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, from);
	stun_build_integrity(&b, (const uint8_t *)s->local_pwd, strlen(s->local_pwd));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	if (n > 0)
		sendto(s->sock[comp].fd, out, (size_t)n, MSG_DONTWAIT, &from->sa,
		       netaddr_len(from));
}

void relay_consent_input(struct relay *r, struct call_leg *l, struct call_stream *s,
			 unsigned comp, const struct netaddr *from, const uint8_t *buf, size_t len,
			 uint64_t now_ms)
{
	struct stun_msg m;

	if (stun_parse(&m, buf, len) < 0 || m.method != STUN_METHOD_BINDING)
		return;
	if (m.cls == STUN_CLASS_REQUEST) {
		answer_check(s, comp, &m, from);
		return;
	}
	/* RFC 7675 §5.1: consent is an authenticated success response to our
	 * latest check, from the address it went to */
	if (m.cls != STUN_CLASS_SUCCESS || !checked(s, comp) ||
	    memcmp(m.tid, s->consent_tid[comp], STUN_TID_LEN) ||
	    !netaddr_equal(from, &s->remote[comp]) ||
	    stun_check_integrity(&m, (const uint8_t *)s->remote_pwd, strlen(s->remote_pwd)))
		return;
	s->consent_ok_ms[comp] = now_ms;
	if (!l->consent_answered)
		log_info("call %s leg %s: the peer answers the recovered leg's consent checks",
			 l->call->id, l->tag);
	l->consent_answered = true;
	consent_set(r, l, s, true, now_ms);
}
