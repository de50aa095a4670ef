// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ICE agent end to end in virtual time on simnet.h: NAT models, a STUN
 * and a TURN server, lite peers, trickle, restart, consent, role conflicts,
 * loss and duplication, and bad input. Assertions follow what RFC 8445 says
 * a correct agent picks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "icepath/compiler.h"
#include "icepath/ice.h"
#include "icepath/stun.h"
#include "simnet.h"

/* Both endpoints on the public segment, no NAT. */
#define PUBLIC_PAIR .nat_l = -1, .nat_r = -1, .ip_l = "203.0.113.10", .ip_r = "203.0.113.20"

/* Each endpoint on a LAN of its own behind NAT 0 / NAT 1 (see nat_pair()). */
#define NATTED_PAIR .nat_l = 0, .nat_r = 1, .ip_l = "10.0.1.2", .ip_r = "10.0.2.2"

#define T_LIMIT 120000 /* virtual ms any connect scenario may take */

struct scen {
	int nat_l, nat_r;
	bool stun, turn;
	bool lite_l, lite_r;
	bool ctl_l, ctl_r;
	bool trickle;
	bool relay_only_l;
	unsigned ncomp, nstreams;
	const char *ip_l, *ip_r;
	unsigned loss, dup;
	uint64_t seed;
};

/* Errors the agents logged (a refused state move is a bug). */
static unsigned logged_errors;

static void test_log(void *ctx, enum ice_log_level level, const char *msg)
{
	if (level == ICE_LOG_ERROR) {
		logged_errors++;
		print_message("agent error: %s\n", msg);
	}
}

static int no_errors_logged(void **state)
{
	assert_int_equal(logged_errors, 0);
	return 0;
}

static struct ice_config cfg_of(bool controlling, bool lite, uint64_t seed)
{
	struct ice_config c = {0};

	c.log = test_log;

	c.controlling = controlling;
	c.lite = lite;
	c.seed = seed;
	c.software = "icepath-test";
	return c;
}

static bool both_gathered(struct sim *s, void *ctx)
{
	unsigned n = *(unsigned *)ctx;

	return s->eps[0].gathering_done >= n && s->eps[1].gathering_done >= n;
}

static bool all_selected(struct sim *s, void *ctx)
{
	const struct scen *sc = ctx;

	for (unsigned e = 0; e < 2; e++)
		for (unsigned st = 0; st < sc->nstreams; st++)
			for (unsigned c = 1; c <= sc->ncomp; c++)
				if (!s->eps[e].selected_events[st][c])
					return false;
	return true;
}

/* NAT 0 for 10.0.1.0/24 and NAT 1 for 10.0.2.0/24, the same behaviour:
 * the two LANs of NATTED_PAIR. */
static void nat_pair(struct sim *s, enum sim_mapping map, enum sim_filter filter)
{
	sim_add_nat(s, "203.0.113.101", "10.0.1.0", 24, map, filter);
	sim_add_nat(s, "203.0.113.102", "10.0.2.0", 24, map, filter);
}

/* Build both endpoints, gather, signal, start. */
static void scen_setup(struct sim *s, struct scen *sc)
{
	struct ice_config cl = cfg_of(sc->ctl_l, sc->lite_l, sc->seed + 1);
	struct ice_config cr = cfg_of(sc->ctl_r, sc->lite_r, sc->seed + 2);
	struct sim_ep *l, *r;
	struct netaddr srv;
	char ip[32];
	unsigned n;

	cl.relay_only = sc->relay_only_l;

	if (!sc->ncomp)
		sc->ncomp = 1;
	if (!sc->nstreams)
		sc->nstreams = 1;
	s->loss_pct = sc->loss;
	s->dup_pct = sc->dup;
	l = sim_ep_new(s, 0, &cl, sc->nat_l);
	r = sim_ep_new(s, 1, &cr, sc->nat_r);
	for (unsigned st = 0; st < sc->nstreams; st++) {
		assert_int_equal(ice_agent_add_stream(l->a, sc->ncomp), (int)st);
		assert_int_equal(ice_agent_add_stream(r->a, sc->ncomp), (int)st);
	}
	if (sc->stun) {
		srv = sim_addr("198.51.100.1", 3478);
		assert_int_equal(ice_agent_add_stun_server(l->a, &srv), 0);
		assert_int_equal(ice_agent_add_stun_server(r->a, &srv), 0);
	}
	if (sc->turn) {
		srv = sim_addr("198.51.100.2", 3478);
		assert_int_equal(ice_agent_add_turn_server(l->a, &srv, "user", "secret"), 0);
		assert_int_equal(ice_agent_add_turn_server(r->a, &srv, "user", "secret"), 0);
	}
	if (sc->lite_r)
		assert_int_equal(ice_agent_set_remote_lite(l->a, true), 0);
	if (sc->lite_l)
		assert_int_equal(ice_agent_set_remote_lite(r->a, true), 0);
	if (sc->trickle) {
		l->trickle_to = r;
		r->trickle_to = l;
		for (unsigned st = 0; st < sc->nstreams; st++) {
			const char *u, *p;

			ice_agent_local_credentials(l->a, st, &u, &p);
			ice_agent_set_remote_credentials(r->a, st, u, p);
			ice_agent_local_credentials(r->a, st, &u, &p);
			ice_agent_set_remote_credentials(l->a, st, u, p);
		}
		assert_int_equal(ice_agent_start(l->a, s->now), 0);
		assert_int_equal(ice_agent_start(r->a, s->now), 0);
	}
	for (unsigned st = 0; st < sc->nstreams; st++)
		for (unsigned c = 1; c <= sc->ncomp; c++) {
			snprintf(ip, sizeof(ip), "%s", sc->ip_l);
			assert_int_equal(
				sim_ep_add_base(l, st, c, ip, (uint16_t)(5000 + st * 10 + c)), 0);
			snprintf(ip, sizeof(ip), "%s", sc->ip_r);
			assert_int_equal(
				sim_ep_add_base(r, st, c, ip, (uint16_t)(6000 + st * 10 + c)), 0);
		}
	assert_int_equal(ice_agent_gather(l->a, s->now), 0);
	assert_int_equal(ice_agent_gather(r->a, s->now), 0);
	n = sc->nstreams;
	if (sc->trickle)
		return;
	assert_true(sim_run_until(s, s->now + 60000, both_gathered, &n));
	sim_signal(l, r, sc->nstreams, true);
	sim_signal(r, l, sc->nstreams, true);
	assert_int_equal(ice_agent_start(l->a, s->now), 0);
	assert_int_equal(ice_agent_start(r->a, s->now), 0);
}

static void scen_connect(struct sim *s, struct scen *sc)
{
	scen_setup(s, sc);
	if (sc->trickle) {
		unsigned n = sc->nstreams;

		assert_true(sim_run_until(s, s->now + 60000, both_gathered, &n));
		for (unsigned st = 0; st < sc->nstreams; st++) {
			ice_agent_remote_end_of_candidates(s->eps[0].a, st);
			ice_agent_remote_end_of_candidates(s->eps[1].a, st);
		}
	}
	assert_true(sim_run_until(s, s->now + T_LIMIT, all_selected, sc));
}

/* Both sides agree on the pair: each one's local is the other's remote. */
static void assert_agree(struct sim *s, unsigned st, unsigned c)
{
	const struct ice_pair_info *l = &s->eps[0].selected[st][c], *r = &s->eps[1].selected[st][c];
	struct ice_pair_info q;

	assert_int_equal(ice_agent_selected_pair(s->eps[0].a, st, c, &q), 0);
	assert_true(netaddr_equal(&q.remote.addr, &l->remote.addr));
	/* What L sends to is where R's selected local candidate lives. */
	assert_true(netaddr_equal(&l->remote.addr, &r->local.addr) ||
		    r->local.type == ICE_CAND_TYPE_PRFLX || l->remote.type == ICE_CAND_TYPE_PRFLX);
}

/* Media both ways through ice_agent_send, counted on delivery. */
static void assert_media_flows(struct sim *s, unsigned st, unsigned c)
{
	static const uint8_t rtp[] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, 0xde, 0xad};
	struct ice_transmit tx;
	uint8_t buf[SIM_PKT_MAX];
	unsigned before0 = s->eps[0].data_rx, before1 = s->eps[1].data_rx;

	for (unsigned e = 0; e < 2; e++) {
		int n;

		assert_int_equal(ice_agent_send(s->eps[e].a, st, c, rtp, sizeof(rtp), &tx), 0);
		n = ice_transmit_flatten(&tx, buf, sizeof(buf));
		assert_true(n >= (int)sizeof(rtp));
		sim_send(s, &tx.local, &tx.remote, buf, (size_t)n);
	}
	sim_run_until(s, s->now + 100, NULL, NULL);
	assert_int_equal(s->eps[0].data_rx, before0 + 1);
	assert_int_equal(s->eps[1].data_rx, before1 + 1);
}

static void assert_one_controlling(struct sim *s)
{
	assert_true(ice_agent_controlling(s->eps[0].a) != ice_agent_controlling(s->eps[1].a));
}

/* ---- priorities and foundations ---------------------------------------------- */

static void priority_formula(void **state)
{
	/* RFC 8445 §5.1.2.1 with the §5.1.2.2 type preferences. */
	assert_int_equal(ice_candidate_priority(126, 65535, 1), 2130706431u);
	assert_int_equal(ice_candidate_priority(126, 65535, 2), 2130706430u);
	assert_int_equal(ice_candidate_priority(100, 65535, 1), 1694498815u);
	assert_int_equal(ice_candidate_priority(110, 65535, 1), 1862270975u);
	assert_int_equal(ice_candidate_priority(0, 65535, 1), 16777215u);
	assert_int_equal(ice_candidate_priority(126, 1, 1), 2113929727u);
}

static void pair_priority_and_foundations(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true, .ncomp = 2, .stun = true};
	struct ice_candidate c[16];
	struct ice_pair_info pi[16];
	int n, np;
	uint64_t g = 2130706431u, d = 2130706431u;

	sim_init(&s, 1);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_setup(&s, &sc);
	/* No NAT: the srflx equals the host and is eliminated (§5.1.3). */
	n = ice_agent_local_candidates(s.eps[0].a, 0, c, 16);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].type, ICE_CAND_TYPE_HOST);
	assert_int_equal(c[0].priority, 2130706431u);
	assert_int_equal(c[1].priority, 2130706430u);
	/* Same type, base IP and transport: one foundation for RTP and RTCP. */
	assert_string_equal(c[0].foundation, c[1].foundation);
	/* §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G controlling. */
	np = ice_agent_pairs(s.eps[0].a, 0, pi, 16);
	assert_int_equal(np, 2);
	for (int i = 0; i < np; i++) {
		if (pi[i].local.component == 1)
			assert_true(pi[i].priority == (d << 32) + 2 * g + 0);
		else
			assert_true(pi[i].priority == ((g - 1) << 32) + 2 * (g - 1));
	}
	sim_free(&s);

	/* Behind a NAT: srflx kept, foundations differ by type, shared across
	 * components; controlled side with G < D. */
	{
		struct scen sn = {.nat_l = 0,
				  .nat_r = -1,
				  .ctl_l = false,
				  .ctl_r = true,
				  .ip_l = "10.0.0.2",
				  .ip_r = "203.0.113.20",
				  .ncomp = 2,
				  .stun = true};
		const struct ice_candidate *h1 = NULL, *h2 = NULL, *s1 = NULL, *s2 = NULL;

		sim_init(&s, 2);
		sim_add_nat(&s, "203.0.113.100", "10.0.0.0", 24, SIM_MAP_EI, SIM_FILTER_EI);
		sim_enable_stun(&s, "198.51.100.1", 3478);
		scen_setup(&s, &sn);
		n = ice_agent_local_candidates(s.eps[0].a, 0, c, 16);
		assert_int_equal(n, 4);
		for (int i = 0; i < n; i++) {
			if (c[i].type == ICE_CAND_TYPE_HOST)
				*(c[i].component == 1 ? &h1 : &h2) = &c[i];
			if (c[i].type == ICE_CAND_TYPE_SRFLX)
				*(c[i].component == 1 ? &s1 : &s2) = &c[i];
		}
		assert_non_null(h1);
		assert_non_null(s1);
		assert_non_null(h2);
		assert_non_null(s2);
		assert_int_equal(s1->priority, 1694498815u);
		assert_string_equal(s1->foundation, s2->foundation);
		assert_string_not_equal(s1->foundation, h1->foundation);
		assert_true(netaddr_same_ip(&s1->raddr, &h1->addr));
		/* Default candidate (§5.1.4): srflx over host. */
		assert_int_equal(ice_agent_default_candidate(s.eps[0].a, 0, 1, c), 0);
		assert_int_equal(c[0].type, ICE_CAND_TYPE_SRFLX);
		/* Remote host 2130706431 (controlling G) vs our host (D):
		 * equal, so 2^32*x + 2*x. Pairs only use host locals (§6.1.2.4). */
		np = ice_agent_pairs(s.eps[0].a, 0, pi, 16);
		assert_int_equal(np, 2);
		for (int i = 0; i < np; i++)
			assert_int_equal(pi[i].local.type, ICE_CAND_TYPE_HOST);
		sim_free(&s);
	}
}

/* ---- connectivity per topology ------------------------------------------------- */

static void host_only(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true};
	struct ice_agent_stats st;

	sim_init(&s, 3);
	scen_connect(&s, &sc);
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_HOST);
	assert_int_equal(s.eps[0].selected[0][1].remote.type, ICE_CAND_TYPE_HOST);
	assert_int_equal(s.eps[1].selected[0][1].local.type, ICE_CAND_TYPE_HOST);
	assert_agree(&s, 0, 1);
	sim_run_until(&s, s.now + 2000, NULL, NULL);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_COMPLETED);
	assert_int_equal(ice_agent_state(s.eps[1].a), ICE_AGENT_STATE_COMPLETED);
	assert_true(ice_agent_consent(s.eps[0].a, 0, 1));
	assert_media_flows(&s, 0, 1);
	ice_agent_get_stats(s.eps[0].a, &st);
	assert_true(st.checks_sent >= 1);
	assert_int_equal(st.rx_dropped_malformed + st.rx_dropped_unauth, 0);
	sim_free(&s);
}

static void host_only_ipv6(void **state)
{
	struct sim s;
	struct scen sc = {.nat_l = -1,
			  .nat_r = -1,
			  .ctl_r = true,
			  .ip_l = "2001:db8::10",
			  .ip_r = "2001:db8::20"};

	sim_init(&s, 5);
	scen_connect(&s, &sc);
	assert_int_equal(netaddr_family(&s.eps[0].selected[0][1].remote.addr), AF_INET6);
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_HOST);
	assert_agree(&s, 0, 1);
	assert_media_flows(&s, 0, 1);
	sim_free(&s);
}

static void rtcp_and_two_streams(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true, .ncomp = 2, .nstreams = 2};

	sim_init(&s, 4);
	scen_connect(&s, &sc);
	for (unsigned st = 0; st < 2; st++)
		for (unsigned c = 1; c <= 2; c++) {
			assert_int_equal(s.eps[0].selected[st][c].local.component, c);
			assert_agree(&s, st, c);
			assert_media_flows(&s, st, c);
		}
	sim_free(&s);
}

static void nat_one_side(void **state)
{
	static const struct {
		enum sim_mapping m;
		enum sim_filter f;
	} kinds[] = {
		{SIM_MAP_EI, SIM_FILTER_EI},   /* full cone */
		{SIM_MAP_EI, SIM_FILTER_AD},   /* address-restricted */
		{SIM_MAP_EI, SIM_FILTER_APD},  /* port-restricted */
		{SIM_MAP_APD, SIM_FILTER_APD}, /* symmetric */
	};

	for (unsigned k = 0; k < 4; k++) {
		struct sim s;
		struct scen sc = {.nat_l = 0,
				  .nat_r = -1,
				  .ctl_l = (k & 1),
				  .ctl_r = !(k & 1),
				  .stun = true,
				  .ip_l = "10.0.0.2",
				  .ip_r = "203.0.113.20"};

		sim_init(&s, 10 + k);
		sim_add_nat(&s, "203.0.113.100", "10.0.0.0", 24, kinds[k].m, kinds[k].f);
		sim_enable_stun(&s, "198.51.100.1", 3478);
		scen_connect(&s, &sc);
		/* The public side reaches the NAT's mapping: L's local is its
		 * srflx (or prflx when the mapping depends on the destination). */
		assert_int_equal(s.eps[0].selected[0][1].local.type, kinds[k].m == SIM_MAP_EI
									     ? ICE_CAND_TYPE_SRFLX
									     : ICE_CAND_TYPE_PRFLX);
		assert_int_equal(s.eps[0].selected[0][1].remote.type, ICE_CAND_TYPE_HOST);
		assert_true(netaddr_same_ip(&s.eps[1].selected[0][1].remote.addr, &s.nats[0].pub));
		assert_media_flows(&s, 0, 1);
		sim_free(&s);
	}
}

static void port_restricted_both(void **state)
{
	struct sim s;
	struct scen sc = {NATTED_PAIR,
			  .ctl_l = true,
			  .stun = true};

	sim_init(&s, 20);
	nat_pair(&s, SIM_MAP_EI, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_connect(&s, &sc);
	/* srflx <-> srflx through port-restricted NATs. */
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_SRFLX);
	assert_int_equal(s.eps[0].selected[0][1].remote.type, ICE_CAND_TYPE_SRFLX);
	assert_int_equal(s.eps[1].selected[0][1].local.type, ICE_CAND_TYPE_SRFLX);
	assert_int_equal(s.eps[1].selected[0][1].remote.type, ICE_CAND_TYPE_SRFLX);
	assert_agree(&s, 0, 1);
	assert_media_flows(&s, 0, 1);
	sim_free(&s);
}

static void same_nat(void **state)
{
	struct sim s;
	struct scen sc = {.nat_l = 0,
			  .nat_r = 0,
			  .ctl_r = true,
			  .stun = true,
			  .ip_l = "10.0.1.2",
			  .ip_r = "10.0.1.3"};

	sim_init(&s, 21);
	sim_add_nat(&s, "203.0.113.101", "10.0.1.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_connect(&s, &sc);
	/* Host candidates on the shared private network win. */
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_HOST);
	assert_int_equal(s.eps[0].selected[0][1].remote.type, ICE_CAND_TYPE_HOST);
	assert_agree(&s, 0, 1);
	sim_free(&s);
}

static bool has_relay(const struct ice_pair_info *p)
{
	return p->local.type == ICE_CAND_TYPE_RELAY || p->remote.type == ICE_CAND_TYPE_RELAY;
}

static void symmetric_both_relay(void **state)
{
	struct sim s;
	struct scen sc = {NATTED_PAIR,
			  .ctl_l = true,
			  .stun = true,
			  .turn = true};

	sim_init(&s, 22);
	nat_pair(&s, SIM_MAP_APD, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	scen_connect(&s, &sc);
	assert_true(has_relay(&s.eps[0].selected[0][1]));
	assert_true(has_relay(&s.eps[1].selected[0][1]));
	assert_int_equal(s.turn.allocates, 2);
	assert_true(s.turn.errors_401 >= 2); /* the first Allocate of each is challenged */
	assert_true(s.turn.permissions + s.turn.channel_binds >= 1);
	/* The relayed side binds a channel once selected; media uses it. */
	sim_run_until(&s, s.now + 3000, NULL, NULL);
	assert_true(s.turn.channel_binds >= 1);
	/* RFC 8445 §8.3 (issue 11 defect 10): 3 s after completion the one
	 * allocation no selected pair uses is released; the other one stays. */
	sim_run_until(&s, s.now + 1000, NULL, NULL);
	assert_int_equal(s.turn.releases, 1);
	assert_media_flows(&s, 0, 1);
	assert_true(s.turn.chandata_in + s.turn.chandata_out >= 1);
	/* Allocation, permissions and channel are refreshed over 20 minutes
	 * (lifetime 600 s, permissions 300 s) and consent holds throughout. */
	{
		unsigned refreshes = s.turn.refreshes,
			 perms = s.turn.permissions + s.turn.channel_binds;

		sim_run_until(&s, s.now + 20 * 60000, NULL, NULL);
		assert_true(s.turn.refreshes >= refreshes + 2);
		assert_true(s.turn.permissions + s.turn.channel_binds >= perms + 4);
		assert_true(ice_agent_consent(s.eps[0].a, 0, 1));
		assert_true(ice_agent_consent(s.eps[1].a, 0, 1));
		assert_int_equal(s.eps[0].consent_lost + s.eps[1].consent_lost, 0);
		assert_media_flows(&s, 0, 1);
	}
	/* Release: a Refresh with lifetime 0 per allocation. */
	unsigned refreshes_at_release = s.turn.refreshes;

	assert_int_equal(ice_agent_release(s.eps[0].a, s.now), 0);
	assert_int_equal(ice_agent_release(s.eps[1].a, s.now), 0);
	sim_run_until(&s, s.now + 5000, NULL, NULL);
	assert_int_equal(s.turn.releases, 2);
	/* The answers were taken: no Refresh(0) retransmitted, nothing pending. */
	sim_run_until(&s, s.now + 60000, NULL, NULL);
	assert_int_equal(s.turn.refreshes, refreshes_at_release + 1);
	assert_int_equal(ice_agent_next_deadline(s.eps[0].a), UINT64_MAX);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_CLOSED);
	sim_free(&s);
}

/* RFC 8445 §8.3 (issue 11 defect 10): a direct pair won; both TURN
 * allocations are released 3 s after completion (not kept for the whole
 * call), their relayed candidates are no longer offered, media flows. */
static void unused_relays_freed(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true, .turn = true};
	struct ice_candidate c[8];
	uint64_t done;
	int n;

	sim_init(&s, 23);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	scen_connect(&s, &sc);
	assert_false(has_relay(&s.eps[0].selected[0][1]));
	assert_int_equal(s.turn.allocates, 2);
	sim_run_until(&s, s.now + 1000, NULL, NULL);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_COMPLETED);
	assert_int_equal(s.turn.releases, 0);
	done = s.now;
	sim_run_until(&s, done + 3000, NULL, NULL);
	assert_int_equal(s.turn.releases, 2);
	n = ice_agent_local_candidates(s.eps[0].a, 0, c, 8);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(c[i].type, ICE_CAND_TYPE_RELAY);
	assert_media_flows(&s, 0, 1);
	sim_free(&s);
}

/* RTP and RTCP each get their own allocation and relayed pair. */
static void relay_two_components(void **state)
{
	struct sim s;
	struct scen sc = {NATTED_PAIR,
			  .ctl_r = true,
			  .turn = true,
			  .ncomp = 2};

	sim_init(&s, 25);
	nat_pair(&s, SIM_MAP_APD, SIM_FILTER_APD);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	scen_connect(&s, &sc);
	assert_int_equal(s.turn.allocates, 4);
	for (unsigned c = 1; c <= 2; c++) {
		assert_true(has_relay(&s.eps[0].selected[0][c]));
		assert_true(has_relay(&s.eps[1].selected[0][c]));
		assert_int_equal(s.eps[0].selected[0][c].local.component, c);
		assert_media_flows(&s, 0, c);
	}
	sim_free(&s);
}

static void turn_stale_nonce(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true, .turn = true};
	struct ice_candidate c[8];
	int n, relays = 0;

	sim_init(&s, 23);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	s.turn.stale_nonce_once = 1; /* the first authenticated Allocate gets 438 */
	scen_connect(&s, &sc);
	/* The first authenticated Allocate gets 438 and the nonce changes, so
	 * the second client's Allocate (challenged with the old nonce) too. */
	assert_int_equal(s.turn.errors_438, 2);
	assert_int_equal(s.turn.allocates, 2);
	n = ice_agent_local_candidates(s.eps[0].a, 0, c, 8);
	for (int i = 0; i < n; i++)
		relays += c[i].type == ICE_CAND_TYPE_RELAY;
	n = ice_agent_local_candidates(s.eps[1].a, 0, c, 8);
	for (int i = 0; i < n; i++)
		relays += c[i].type == ICE_CAND_TYPE_RELAY;
	assert_int_equal(relays, 2);
	/* Host is reachable: host wins over relay (§5.1.2 preferences). */
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_HOST);
	/* A stale nonce on a Refresh is retried with the new nonce too. */
	s.turn.stale_nonce_once = 2;
	sim_run_until(&s, s.now + 12 * 60000, NULL, NULL);
	assert_true(s.turn.errors_438 >= 2 + 2);
	assert_int_equal(s.eps[0].turn_errors + s.eps[1].turn_errors, 0);
	assert_true(s.turn.refreshes >= 2);
	sim_free(&s);
}

/* RFC 8489 §9.2.4-9.2.5: a TURN server that offers PASSWORD-ALGORITHMS
 * (SHA-256 first) gets SHA-256 keys and MESSAGE-INTEGRITY-SHA256 on every
 * authenticated request (it answers 400 to anything else), through
 * allocation, permissions, channels, refreshes and a stale nonce. */
static void turn_sha256(void **state)
{
	struct sim s;
	struct scen sc = {NATTED_PAIR,
			  .ctl_l = true,
			  .turn = true};

	sim_init(&s, 24);
	nat_pair(&s, SIM_MAP_APD, SIM_FILTER_APD);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	s.turn.offer_sha256 = true;
	scen_connect(&s, &sc);
	assert_true(has_relay(&s.eps[0].selected[0][1]));
	assert_int_equal(s.turn.allocates, 2);
	sim_run_until(&s, s.now + 3000, NULL, NULL);
	assert_media_flows(&s, 0, 1);
	s.turn.stale_nonce_once = 1;
	sim_run_until(&s, s.now + 11 * 60000, NULL, NULL);
	assert_true(s.turn.refreshes >= 2 && s.turn.errors_438 >= 1);
	assert_true(s.turn.auth_sha256 >= 2 + 2 + 2);
	assert_int_equal(s.turn.auth_md5, 0);
	assert_int_equal(s.eps[0].turn_errors + s.eps[1].turn_errors, 0);
	assert_int_equal(s.eps[0].consent_lost + s.eps[1].consent_lost, 0);
	assert_media_flows(&s, 0, 1);
	sim_free(&s);
}

static void turn_wrong_password(void **state)
{
	struct sim s;
	struct sim_ep *l;
	struct ice_config cfg = cfg_of(true, false, 5);
	struct netaddr srv = sim_addr("198.51.100.2", 3478);
	unsigned one = 1;

	sim_init(&s, 24);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	l = sim_ep_new(&s, 0, &cfg, -1);
	ice_agent_add_stream(l->a, 1);
	ice_agent_add_turn_server(l->a, &srv, "user", "wrong");
	sim_ep_add_base(l, 0, 1, "203.0.113.10", 5000);
	ice_agent_gather(l->a, s.now);
	s.eps[1] = s.eps[0]; /* both_gathered looks at two endpoints */
	s.eps[1].used = false;
	s.eps[1].a = NULL;
	assert_true(sim_run_until(&s, s.now + 60000, both_gathered, &one) || true);
	assert_int_equal(s.eps[0].gathering_done, 1);
	assert_int_equal(s.eps[0].turn_errors, 1);
	assert_int_equal(s.turn.allocates, 0);
	sim_free(&s);
}

/* ---- roles ------------------------------------------------------------------------ */

static void role_conflict(void **state)
{
	for (int both = 0; both < 2; both++) {
		struct sim s;
		struct scen sc = {PUBLIC_PAIR, .ctl_l = both == 0, .ctl_r = both == 0, .seed = 7};
		struct ice_agent_stats a, b;

		sim_init(&s, 30 + both);
		scen_connect(&s, &sc);
		assert_one_controlling(&s);
		assert_int_equal(s.eps[0].role_changes + s.eps[1].role_changes, 1);
		ice_agent_get_stats(s.eps[0].a, &a);
		ice_agent_get_stats(s.eps[1].a, &b);
		assert_true(a.role_conflicts + b.role_conflicts >= 1);
		assert_agree(&s, 0, 1);
		assert_media_flows(&s, 0, 1);
		sim_free(&s);
	}
}

/* ---- lite ---------------------------------------------------------------------------- */

static void lite_peer(void **state)
{
	for (int lite_left = 0; lite_left < 2; lite_left++) {
		struct sim s;
		/* The lite side is public (as RFC 8445 §2.5 expects); the full
		 * side is behind a NAT and initially thinks it is controlled. */
		struct scen sc = {.nat_l = lite_left ? -1 : 0,
				  .nat_r = lite_left ? 0 : -1,
				  .lite_l = lite_left,
				  .lite_r = !lite_left,
				  .stun = true,
				  .ip_l = lite_left ? "203.0.113.10" : "10.0.0.2",
				  .ip_r = lite_left ? "10.0.0.2" : "203.0.113.20"};
		struct sim_ep *lite = &s.eps[lite_left ? 0 : 1], *full = &s.eps[lite_left ? 1 : 0];
		struct ice_agent_stats st;

		sim_init(&s, 40 + lite_left);
		sim_add_nat(&s, "203.0.113.100", "10.0.0.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
		sim_enable_stun(&s, "198.51.100.1", 3478);
		scen_connect(&s, &sc);
		assert_true(ice_agent_controlling(full->a));
		assert_false(ice_agent_controlling(lite->a));
		sim_run_until(&s, s.now + 2000, NULL, NULL);
		assert_int_equal(ice_agent_state(lite->a), ICE_AGENT_STATE_COMPLETED);
		assert_int_equal(ice_agent_state(full->a), ICE_AGENT_STATE_COMPLETED);
		ice_agent_get_stats(lite->a, &st);
		assert_int_equal(st.checks_sent, 0); /* lite never checks */
		assert_true(st.checks_received >= 1);
		assert_true(netaddr_same_ip(&lite->selected[0][1].remote.addr, &s.nats[0].pub));
		assert_media_flows(&s, 0, 1);
		/* Keep it up for a minute: the full side's consent checks hold it,
		 * the lite side's keepalives flow and nothing is lost. */
		sim_run_until(&s, s.now + 60000, NULL, NULL);
		assert_int_equal(full->consent_lost + lite->consent_lost, 0);
		ice_agent_get_stats(lite->a, &st);
		assert_true(st.keepalives_sent >= 2);
		assert_int_equal(st.consent_requests_sent, 0);
		sim_free(&s);
	}
}

/* ---- trickle --------------------------------------------------------------------------- */

static void trickle(void **state)
{
	struct sim s;
	struct scen sc = {.nat_l = 0,
			  .nat_r = -1,
			  .ctl_l = true,
			  .stun = true,
			  .trickle = true,
			  .ip_l = "10.0.0.2",
			  .ip_r = "203.0.113.20"};

	sim_init(&s, 50);
	sim_add_nat(&s, "203.0.113.100", "10.0.0.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_connect(&s, &sc);
	/* Candidates arrived one by one after start (host, then srflx). */
	assert_true(s.eps[0].candidates >= 2);
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_SRFLX);
	assert_media_flows(&s, 0, 1);
	/* A host added later is trickled and gathered too. */
	assert_int_equal(sim_ep_add_base(&s.eps[1], 0, 1, "203.0.113.21", 6100), 0);
	{
		unsigned before = s.eps[1].candidates;

		sim_run_until(&s, s.now + 1000, NULL, NULL);
		assert_int_equal(s.eps[1].candidates, before + 1);
	}
	sim_free(&s);
}

/* ---- restart --------------------------------------------------------------------------- */

static bool reselected(struct sim *s, void *ctx)
{
	unsigned *want = ctx;

	return s->eps[0].selected_events[0][1] >= want[0] &&
	       s->eps[1].selected_events[0][1] >= want[1];
}

static void restart(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true};
	const char *u0, *u1;
	struct ice_pair_info before, during;
	struct ice_transmit tx;
	static const uint8_t rtp[12] = {0x80};
	unsigned want[2];

	sim_init(&s, 60);
	scen_connect(&s, &sc);
	ice_agent_selected_pair(s.eps[0].a, 0, 1, &before);
	ice_agent_local_credentials(s.eps[0].a, 0, &u0, NULL);
	char old[ICE_UFRAG_MAX];

	snprintf(old, sizeof(old), "%s", u0);
	/* Offerer restarts; its offer reaches the answerer later. */
	assert_int_equal(ice_agent_restart(s.eps[0].a, s.now), 0);
	ice_agent_local_credentials(s.eps[0].a, 0, &u1, NULL);
	assert_string_not_equal(old, u1);
	/* Old pair keeps carrying media while the new checks run. */
	assert_int_equal(ice_agent_selected_pair(s.eps[0].a, 0, 1, &during), 0);
	assert_true(netaddr_equal(&during.remote.addr, &before.remote.addr));
	assert_int_equal(ice_agent_send(s.eps[0].a, 0, 1, rtp, sizeof(rtp), &tx), 0);
	assert_media_flows(&s, 0, 1);
	want[0] = s.eps[0].selected_events[0][1] + 1;
	want[1] = s.eps[1].selected_events[0][1] + 1;
	sim_run_until(&s, s.now + 3000, NULL, NULL); /* nothing new without signalling */
	assert_int_equal(s.eps[0].selected_events[0][1], want[0] - 1);
	assert_media_flows(&s, 0, 1);
	/* Offer: the answerer sees new remote credentials (a remote restart)
	 * and restarts too (RFC 8445 §9), keeping what the offer brought. */
	sim_signal(&s.eps[0], &s.eps[1], 1, true);
	assert_int_equal(ice_agent_restart(s.eps[1].a, s.now), 0);
	assert_media_flows(&s, 0, 1);
	sim_signal(&s.eps[1], &s.eps[0], 1, true);
	assert_true(sim_run_until(&s, s.now + T_LIMIT, reselected, want));
	assert_media_flows(&s, 0, 1);
	/* The old generation's credentials are no longer accepted. */
	sim_run_until(&s, s.now + 60000, NULL, NULL);
	assert_int_equal(s.eps[0].consent_lost + s.eps[1].consent_lost, 0);
	sim_free(&s);
}

/*
 * Issue 11: whenever a NAT drops the first check, the pair must complete
 * after a few round trips plus pacing, not after a second (a 1 s
 * nomination wait behind a higher-priority private pair that can never
 * answer, and a TURN Allocate that only left at its first retransmission).
 * Time from gathering start to a selected pair on both sides, both roles,
 * at 20 ms RTT and Ta 50 ms.
 */
static void nat_connect_time(void **state)
{
	static const struct {
		const char *name;
		int kind;
		uint64_t limit_ms;
	} rows[] = {
		{"public <-> port-restricted", 0, 300},
		{"port-restricted <-> port-restricted", 1, 300},
		{"same NAT", 2, 150},
		{"port-restricted <-> symmetric (relay)", 3, 600},
	};

	for (unsigned k = 0; k < ARRAY_SIZE(rows); k++)
		for (int ctl = 0; ctl < 2; ctl++) {
			struct sim s;
			struct scen sc = {NATTED_PAIR, .ctl_l = ctl, .ctl_r = !ctl, .stun = true};
			uint64_t t0;

			sim_init(&s, 120 + k);
			if (rows[k].kind == 0) {
				sc.nat_r = -1;
				sc.ip_r = "203.0.113.20";
			} else if (rows[k].kind == 2) {
				sc.nat_r = 0;
				sc.ip_r = "10.0.1.3";
			}
			sim_add_nat(&s, "203.0.113.101", "10.0.1.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
			if (rows[k].kind == 1 || rows[k].kind == 3)
				sim_add_nat(&s, "203.0.113.102", "10.0.2.0", 24,
					    rows[k].kind == 3 ? SIM_MAP_APD : SIM_MAP_EI,
					    SIM_FILTER_APD);
			if (rows[k].kind == 3) {
				sc.turn = true;
				sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
			}
			sim_enable_stun(&s, "198.51.100.1", 3478);
			t0 = s.now;
			scen_setup(&s, &sc);
			assert_true(sim_run_until(&s, s.now + T_LIMIT, all_selected, &sc));
			print_message("%s, %s: %llu ms\n", rows[k].name,
				      ctl ? "L controlling" : "R controlling",
				      (unsigned long long)(s.now - t0));
			assert_true(s.now - t0 <= rows[k].limit_ms);
			assert_agree(&s, 0, 1);
			sim_free(&s);
		}
}

/* ---- consent ---------------------------------------------------------------------------- */

static void consent_loss(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true};
	struct ice_transmit tx;
	static const uint8_t rtp[12] = {0x80};
	uint64_t silent_at, lost, consent_sent;
	struct ice_agent_stats st;
	unsigned want[2];

	sim_init(&s, 70);
	scen_connect(&s, &sc);
	sim_run_until(&s, s.now + 20000, NULL, NULL);
	ice_agent_get_stats(s.eps[0].a, &st);
	/* 20 s at 5 s +-20%: 3 to 5 consent checks. */
	assert_true(st.consent_requests_sent >= 3 && st.consent_requests_sent <= 5);
	/* Media from the peer does not refresh consent: R stays silent for
	 * STUN, yet we keep feeding L media as if R were still sending. */
	silent_at = s.now;
	s.eps[1].silent = true;
	while (!s.eps[0].consent_lost && s.now < silent_at + 40000) {
		struct ice_recv_result res;
		struct netaddr rb = s.eps[1].base[0];

		assert_int_equal(ice_agent_recv(s.eps[0].a, s.now, &s.eps[0].base[0], &rb, rtp,
						sizeof(rtp), &res),
				 ICE_RECV_DATA);
		assert_true(res.on_selected);
		sim_run_until(&s, s.now + 500, NULL, NULL);
	}
	lost = s.eps[0].consent_lost_at[0][1];
	assert_int_equal(s.eps[0].consent_lost, 1);
	/* RFC 7675: 30 s after the last response, which came at most one
	 * randomised interval (<= 6 s) plus a round trip before the silence. */
	assert_true(lost >= silent_at + 30000 - 6000 - 2 * s.latency_ms);
	assert_true(lost <= silent_at + 30000 + 2 * s.latency_ms);
	assert_false(ice_agent_consent(s.eps[0].a, 0, 1));
	assert_int_equal(ice_agent_send(s.eps[0].a, 0, 1, rtp, sizeof(rtp), &tx), -ENOTCONN);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_DISCONNECTED);
	/* The peer comes back: RFC 7675 §5.1, lost is final, no response
	 * brings consent back, and L stops checking the pair. */
	s.eps[1].silent = false;
	ice_agent_get_stats(s.eps[0].a, &st);
	consent_sent = st.consent_requests_sent;
	/* ticked now and then, as a loop with other timers would */
	for (uint64_t end = s.now + 20000; s.now < end;) {
		sim_run_until(&s, s.now + 500, NULL, NULL);
		ice_agent_tick(s.eps[0].a, s.now);
		sim_ep_drain(&s, &s.eps[0]);
	}
	ice_agent_get_stats(s.eps[0].a, &st);
	assert_int_equal(st.consent_requests_sent, consent_sent);
	assert_int_equal(s.eps[0].consent_regained, 0);
	assert_false(ice_agent_consent(s.eps[0].a, 0, 1));
	assert_int_equal(ice_agent_send(s.eps[0].a, 0, 1, rtp, sizeof(rtp), &tx), -ENOTCONN);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_DISCONNECTED);
	/* Only an ICE restart does: its new pair carries fresh consent. */
	want[0] = s.eps[0].selected_events[0][1] + 1;
	want[1] = s.eps[1].selected_events[0][1] + 1;
	assert_int_equal(ice_agent_restart(s.eps[0].a, s.now), 0);
	sim_signal(&s.eps[0], &s.eps[1], 1, true);
	assert_int_equal(ice_agent_restart(s.eps[1].a, s.now), 0);
	sim_signal(&s.eps[1], &s.eps[0], 1, true);
	assert_true(sim_run_until(&s, s.now + T_LIMIT, reselected, want));
	assert_int_equal(s.eps[0].consent_regained, 1);
	assert_true(ice_agent_consent(s.eps[0].a, 0, 1));
	assert_int_equal(ice_agent_send(s.eps[0].a, 0, 1, rtp, sizeof(rtp), &tx), 0);
	sim_run_until(&s, s.now + 2000, NULL, NULL);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_COMPLETED);
	sim_free(&s);
}

/*
 * A session recovered after its owner restarted (ice_agent_resume): the
 * saved credentials, role and selected pair, behind a NAT as a relay's
 * legs often are. The resumed agent is COMPLETED with consent GRANTED at
 * once, keeps it for a minute with a peer that answers (and answers the
 * peer's own consent checks), and loses it inside the RFC 7675 window
 * once the peer goes silent, like a live agent.
 */
static void resume_keeps_and_loses_consent(void **state)
{
	struct sim s;
	struct scen sc = {.nat_l = 0, .nat_r = -1, .ctl_l = true, .stun = true,
			  .ip_l = "10.0.1.2", .ip_r = "203.0.113.20"};
	struct ice_config cfg = cfg_of(true, false, 99);
	struct ice_resume_stream rs = {.ncomponents = 1};
	char lu[ICE_UFRAG_MAX], lp[ICE_PWD_MAX], ru[ICE_UFRAG_MAX], rp[ICE_PWD_MAX];
	struct ice_pair_info sel, now_sel;
	struct ice_agent_stats st0, st1;
	struct ice_transmit tx;
	static const uint8_t rtp[12] = {0x80};
	const char *u, *p;
	struct ice_agent *a;
	uint64_t t0, silent_at, lost;

	sim_init(&s, 71);
	sim_add_nat(&s, "203.0.113.101", "10.0.1.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_connect(&s, &sc);
	sim_run_until(&s, s.now + 2000, NULL, NULL);
	/* What the owner saved. */
	assert_int_equal(ice_agent_selected_pair(s.eps[0].a, 0, 1, &sel), 0);
	ice_agent_local_credentials(s.eps[0].a, 0, &u, &p);
	snprintf(lu, sizeof(lu), "%s", u);
	snprintf(lp, sizeof(lp), "%s", p);
	ice_agent_local_credentials(s.eps[1].a, 0, &u, &p);
	snprintf(ru, sizeof(ru), "%s", u);
	snprintf(rp, sizeof(rp), "%s", p);
	rs.local_ufrag = lu;
	rs.local_pwd = lp;
	rs.remote_ufrag = ru;
	rs.remote_pwd = rp;
	rs.pair[0].base = sel.base;
	rs.pair[0].remote = sel.remote.addr;
	cfg.tiebreaker = 0x1234567890abcdefull;
	/* The restart: the old agent is gone, a resumed one takes its sockets. */
	ice_agent_free(s.eps[0].a);
	s.eps[0].a = NULL;
	s.eps[0].selected_events[0][1] = 0;
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 1, s.now), 0);
	s.eps[0].a = a;
	assert_int_equal(ice_agent_state(a), ICE_AGENT_STATE_COMPLETED);
	assert_int_equal(ice_agent_consent_state(a, 0, 1), ICE_CONSENT_STATE_GRANTED);
	assert_true(ice_agent_controlling(a));
	assert_int_equal(ice_agent_selected_pair(a, 0, 1, &now_sel), 0);
	assert_true(netaddr_equal(&now_sel.base, &sel.base));
	assert_true(netaddr_equal(&now_sel.remote.addr, &sel.remote.addr));
	assert_int_equal(ice_agent_send(a, 0, 1, rtp, sizeof(rtp), &tx), 0);
	assert_true(netaddr_equal(&tx.remote, &sel.remote.addr));
	sim_ep_drain(&s, &s.eps[0]);
	assert_int_equal(s.eps[0].selected_events[0][1], 1);
	assert_int_equal(s.eps[0].state, ICE_AGENT_STATE_COMPLETED);
	/* A minute with a peer that answers: consent holds on both sides. */
	t0 = s.now;
	ice_agent_get_stats(s.eps[1].a, &st1);
	sim_run_until(&s, s.now + 60000, NULL, NULL);
	ice_agent_get_stats(a, &st0);
	assert_int_equal(s.eps[0].consent_lost + s.eps[1].consent_lost, 0);
	assert_true(ice_agent_consent(a, 0, 1));
	assert_true(ice_agent_consent(s.eps[1].a, 0, 1));
	/* 60 s at 5 s +-20 %: 10 to 15 requests, each with its own id. */
	assert_true(st0.consent_requests_sent >= 10 && st0.consent_requests_sent <= 15);
	assert_int_equal(st0.checks_sent, 0); /* consent requests only, no new checks */
	assert_int_equal(st0.rx_dropped_unknown, 0);
	assert_true(st0.responses_sent >= 10); /* the peer's consent checks answered */
	assert_int_equal(st0.rx_dropped_unauth, 0);
	assert_int_equal(ice_agent_state(a), ICE_AGENT_STATE_COMPLETED);
	(void)t0;
	(void)st1;
	/* The peer goes silent: lost within 30 s of the last answered request. */
	silent_at = s.now;
	s.eps[1].silent = true;
	sim_run_until(&s, s.now + 40000, NULL, NULL);
	assert_int_equal(s.eps[0].consent_lost, 1);
	lost = s.eps[0].consent_lost_at[0][1];
	assert_true(lost >= silent_at + 30000 - 6000 - 2 * s.latency_ms);
	assert_true(lost <= silent_at + 30000 + 2 * s.latency_ms);
	assert_false(ice_agent_consent(a, 0, 1));
	assert_int_equal(ice_agent_send(a, 0, 1, rtp, sizeof(rtp), &tx), -ENOTCONN);
	assert_int_equal(ice_agent_state(a), ICE_AGENT_STATE_DISCONNECTED);
	sim_free(&s);
}

/* What ice_agent_resume refuses. */
static void resume_errors(void **state)
{
	struct ice_config cfg = cfg_of(false, false, 5);
	struct ice_resume_stream rs = {.ncomponents = 2,
				       .local_ufrag = "abcd",
				       .local_pwd = "0123456789012345678901",
				       .remote_ufrag = "wxyz",
				       .remote_pwd = "abcdefghijabcdefghijab"};
	struct ice_agent *a = (struct ice_agent *)&cfg;

	rs.pair[0].base = sim_addr("203.0.113.10", 5000);
	rs.pair[0].remote = sim_addr("203.0.113.20", 6000);
	rs.pair[1].base = sim_addr("203.0.113.10", 5001);
	rs.pair[1].remote = sim_addr("203.0.113.20", 6001);
	assert_int_equal(ice_agent_resume(NULL, &cfg, &rs, 1, 0), -EINVAL);
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 0, 0), -EINVAL);
	assert_null(a);
	rs.remote_pwd = "";
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 1, 0), -EINVAL);
	rs.remote_pwd = "abcdefghijabcdefghijab";
	rs.pair[1].remote = sim_addr("::1", 6001); /* family of the base differs */
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 1, 0), -EINVAL);
	assert_null(a);
	rs.pair[1].remote = sim_addr("203.0.113.20", 6001);
	cfg.lite = true;
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 1, 0), -EINVAL);
	cfg.lite = false;
	cfg.tiebreaker = 0x0123456789abcdefull;
	assert_int_equal(ice_agent_resume(&a, &cfg, &rs, 1, 1000), 0);
	assert_false(ice_agent_controlling(a));
	assert_int_equal(ice_agent_state(a), ICE_AGENT_STATE_COMPLETED);
	assert_true(ice_agent_consent(a, 0, 1) && ice_agent_consent(a, 0, 2));
	{
		struct ice_event ev;
		unsigned sel = 0, failed = 0;

		while (ice_agent_poll_event(a, &ev)) {
			sel += ev.type == ICE_EVENT_SELECTED_PAIR;
			failed += ev.type == ICE_EVENT_FAILED;
		}
		assert_int_equal(sel, 2);
		assert_int_equal(failed, 0);
	}
	/* The first consent check at 0.8..1.2 of the interval. */
	assert_true(ice_agent_next_deadline(a) >= 1000 + 4000);
	assert_true(ice_agent_next_deadline(a) <= 1000 + 6000);
	/* ...with the saved role and tie-breaker (§7.3.1.1). */
	{
		struct ice_transmit tx;
		struct stun_msg m;
		const struct stun_attr *ra;
		uint64_t tb = 0;

		ice_agent_tick(a, ice_agent_next_deadline(a));
		assert_true(ice_agent_poll_transmit(a, &tx));
		assert_true(stun_parse(&m, tx.head, tx.head_len) > 0);
		ra = stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLED);
		assert_non_null(ra);
		assert_int_equal(stun_attr_get_u64(&m, ra, &tb), 0);
		assert_true(tb == 0x0123456789abcdefull);
	}
	ice_agent_free(a);
}

/* ---- loss and duplication ------------------------------------------------------------------ */

static void lossy_network(void **state)
{
	for (unsigned seed = 0; seed < 5; seed++) {
		struct sim s;
		struct scen sc = {.nat_l = 0,
				  .nat_r = -1,
				  .ctl_l = seed & 1,
				  .ctl_r = !(seed & 1),
				  .stun = true,
				  .ip_l = "10.0.0.2",
				  .ip_r = "203.0.113.20",
				  .loss = 25,
				  .dup = 25,
				  .seed = seed};

		sim_init(&s, 80 + seed);
		sim_add_nat(&s, "203.0.113.100", "10.0.0.0", 24, SIM_MAP_EI, SIM_FILTER_APD);
		sim_enable_stun(&s, "198.51.100.1", 3478);
		scen_connect(&s, &sc);
		assert_true(s.lost > 0 && s.duplicated > 0);
		assert_agree(&s, 0, 1);
		assert_int_equal(s.eps[0].failed + s.eps[1].failed, 0);
		sim_free(&s);
	}
}

static void unreachable_fails(void **state)
{
	struct sim s;
	/* Symmetric NATs on both sides and no TURN: no pair can work. */
	struct scen sc = {NATTED_PAIR,
			  .ctl_l = true,
			  .stun = true};

	sim_init(&s, 90);
	nat_pair(&s, SIM_MAP_APD, SIM_FILTER_APD);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	scen_setup(&s, &sc);
	sim_run_until(&s, s.now + 5 * 60000, NULL, NULL);
	assert_int_equal(s.eps[0].failed, 1);
	assert_int_equal(ice_agent_state(s.eps[0].a), ICE_AGENT_STATE_FAILED);
	assert_int_equal(s.eps[0].selected_events[0][1], 0);
	sim_free(&s);
}

static unsigned count_tx(struct ice_agent *a)
{
	struct ice_transmit tx;
	unsigned n = 0;

	while (ice_agent_poll_transmit(a, &tx))
		n++;
	return n;
}

/* ---- hand-made peer: bad input, aggressive nomination, renomination ------------------------ */

struct fake {
	struct ice_agent *a;
	struct netaddr base, peer;
	const char *lufrag, *lpwd;
	char rufrag[16], rpwd[32];
	uint64_t now;
};

static void fake_init_cfg(struct fake *f, const struct ice_config *cfgp)
{
	struct ice_config cfg = *cfgp;
	struct ice_candidate c = {0};

	memset(f, 0, sizeof(*f));
	f->now = 1000;
	assert_int_equal(ice_agent_new(&f->a, &cfg), 0);
	assert_int_equal(ice_agent_add_stream(f->a, 1), 0);
	f->base = sim_addr("203.0.113.10", 5000);
	f->peer = sim_addr("203.0.113.99", 7000);
	assert_int_equal(ice_agent_add_host(f->a, 0, 1, &f->base, 65535), 0);
	ice_agent_local_credentials(f->a, 0, &f->lufrag, &f->lpwd);
	strcpy(f->rufrag, "peerUFRG");
	strcpy(f->rpwd, "peerpasswordpeerpassword");
	assert_int_equal(ice_agent_set_remote_credentials(f->a, 0, f->rufrag, f->rpwd), 0);
	c.component = 1;
	c.addr = f->peer;
	c.type = ICE_CAND_TYPE_HOST;
	c.priority = ice_candidate_priority(126, 1000, 1);
	strcpy(c.foundation, "peer1");
	assert_int_equal(ice_agent_add_remote_candidate(f->a, 0, &c), 0);
	assert_int_equal(ice_agent_start(f->a, f->now), 0);
}

static void fake_init(struct fake *f, bool controlling)
{
	struct ice_config cfg = cfg_of(controlling, false, 99);

	fake_init_cfg(f, &cfg);
}

static bool fake_peer_controlled; /* fake_request as a controlled peer */
static bool fake_peer_tb_set;	  /* fake_request with fake_peer_tb as tie-breaker */
static uint64_t fake_peer_tb;

/* A Binding request as the peer would send it; knobs for breaking it. */
static size_t fake_request(struct fake *f, uint8_t *buf, size_t cap, uint8_t tid[12], bool use_cand,
			   uint32_t prio, bool integrity, const char *pwd, bool unknown_attr,
			   bool priority)
{
	struct stun_builder b;
	char user[64];
	int n;

	for (int i = 0; i < 12; i++)
		tid[i] = (uint8_t)(i * 7 + prio);
	snprintf(user, sizeof(user), "%s:%s", f->lufrag, f->rufrag);
	stun_build_init(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	if (priority)
		stun_build_u32(&b, STUN_ATTR_PRIORITY, prio);
	/* a controlling peer with the largest tie-breaker, or a controlled
	 * one with the smallest: either way the agent keeps its role */
	if (fake_peer_controlled)
		stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, fake_peer_tb_set ? fake_peer_tb : 0);
	else
		stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING,
			       fake_peer_tb_set ? fake_peer_tb : 0xffffffffffffffffull);
	if (use_cand)
		stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	if (unknown_attr)
		stun_build_u32(&b, 0x7ff0, 1);
	if (integrity)
		stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

/* Pop what the agent sent; returns the error code of a response (0 success,
 * -1 none) and leaves any request it sent (our triggered check) in *req. */
static int fake_collect(struct fake *f, struct stun_msg *resp, uint8_t *rbuf, struct stun_msg *req,
			uint8_t *qbuf, const struct netaddr **to)
{
	struct ice_transmit tx;
	int code = -1;

	while (ice_agent_poll_transmit(f->a, &tx)) {
		struct stun_msg m;
		uint8_t tmp[ICE_TX_HEAD_MAX];

		memcpy(tmp, tx.head, tx.head_len);
		assert_true(stun_parse(&m, tx.head, tx.head_len) > 0);
		if (m.cls == STUN_CLASS_REQUEST && req) {
			memcpy(qbuf, tx.head, tx.head_len);
			stun_parse(req, qbuf, tx.head_len);
			if (to)
				*to = NULL;
		} else if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR) {
			memcpy(rbuf, tx.head, tx.head_len);
			stun_parse(resp, rbuf, tx.head_len);
			code = 0;
			if (m.cls == STUN_CLASS_ERROR) {
				const struct stun_attr *e =
					stun_msg_find(resp, STUN_ATTR_ERROR_CODE);

				assert_non_null(e);
				stun_attr_get_error(resp, e, &code, NULL, NULL);
			}
		}
	}
	return code;
}

/* Answer the agent's check as the peer: success with the mapped address. */
static int fake_answer(struct fake *f, const struct stun_msg *req, const struct netaddr *from)
{
	struct stun_builder b;
	uint8_t buf[256];
	struct ice_recv_result res;
	int n;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, req->tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &f->base);
	stun_build_integrity(&b, (const uint8_t *)f->rpwd, strlen(f->rpwd));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	assert_true(n > 0);
	return ice_agent_recv(f->a, f->now, &f->base, from, buf, (size_t)n, &res);
}

/* Tick the fake's agent at f->now and keep the last request it sent. */
static bool fake_tick_request(struct fake *f, struct stun_msg *req, uint8_t *qbuf)
{
	uint8_t rbuf[512];
	struct stun_msg resp;

	memset(req, 0, sizeof(*req));
	ice_agent_tick(f->a, f->now);
	fake_collect(f, &resp, rbuf, req, qbuf, NULL);
	return req->cls == STUN_CLASS_REQUEST && req->len;
}

/* A controlling fake agent checks, nominates and selects its one pair. */
static void fake_select(struct fake *f)
{
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_pair_info sel;

	assert_true(fake_tick_request(f, &req, qbuf));
	assert_int_equal(fake_answer(f, &req, &f->peer), ICE_RECV_HANDLED);
	f->now += 50;
	assert_true(fake_tick_request(f, &req, qbuf));
	assert_non_null(stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE));
	assert_int_equal(fake_answer(f, &req, &f->peer), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_selected_pair(f->a, 0, 1, &sel), 0);
}

/* A second remote candidate for the fake peer, lower in priority. */
static struct netaddr fake_add_second(struct fake *f)
{
	struct ice_candidate c = {0};

	c.component = 1;
	c.addr = sim_addr("203.0.113.98", 7001);
	c.type = ICE_CAND_TYPE_HOST;
	c.priority = ice_candidate_priority(126, 10, 1);
	strcpy(c.foundation, "peer2");
	assert_int_equal(ice_agent_add_remote_candidate(f->a, 0, &c), 0);
	return c.addr;
}

/* An answer to req from `from`: success (code 0) or error `code`, with or
 * without integrity, with or without an unknown comprehension-required
 * attribute. */
static int fake_reply(struct fake *f, const struct stun_msg *req, const struct netaddr *from,
		      int code, bool integrity, bool unknown)
{
	struct stun_builder b;
	uint8_t buf[256];
	struct ice_recv_result res;
	int n;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING,
			code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, req->tid);
	if (code)
		stun_build_error(&b, code, stun_error_reason(code));
	else
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &f->base);
	if (unknown)
		stun_build_u32(&b, 0x7ff1, 1);
	if (integrity)
		stun_build_integrity(&b, (const uint8_t *)f->rpwd, strlen(f->rpwd));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	assert_true(n > 0);
	return ice_agent_recv(f->a, f->now, &f->base, from, buf, (size_t)n, &res);
}

/*
 * RFC 8445 §7.2.5.2, §8.1.1 (issue 11 defect 2): a USE-CANDIDATE check
 * that times out on an already-succeeded pair takes that pair out of the
 * valid list; the next nomination goes to the other valid pair, which
 * then carries media, long before the 60 s nomination timeout.
 */
static void nomination_falls_back(void **state)
{
	struct fake f;
	struct netaddr second;
	struct ice_pair_info sel;
	struct ice_event ev;
	unsigned nominations_first = 0, failed = 0;

	fake_init(&f, true);
	second = fake_add_second(&f);
	while (f.now < 1000 + 50000 && ice_agent_selected_pair(f.a, 0, 1, &sel)) {
		struct ice_transmit tx;

		f.now = ice_agent_next_deadline(f.a);
		ice_agent_tick(f.a, f.now);
		while (ice_agent_poll_transmit(f.a, &tx)) {
			uint8_t buf[ICE_TX_HEAD_MAX];
			struct stun_msg m;

			memcpy(buf, tx.head, tx.head_len);
			assert_true(stun_parse(&m, buf, tx.head_len) > 0);
			if (m.cls != STUN_CLASS_REQUEST)
				continue;
			if (stun_msg_find(&m, STUN_ATTR_USE_CANDIDATE) &&
			    netaddr_equal(&tx.remote, &f.peer)) {
				nominations_first++; /* the first pair's nomination is lost */
				continue;
			}
			fake_reply(&f, &m, &tx.remote, 0, true, false);
		}
	}
	assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, &sel), 0);
	assert_true(netaddr_equal(&sel.remote.addr, &second));
	/* one transaction of Rc sends, not one after another */
	assert_int_equal(nominations_first, ICE_STUN_RC);
	assert_true(f.now < 1000 + 45000);
	while (ice_agent_poll_event(f.a, &ev))
		failed += ev.type == ICE_EVENT_FAILED;
	assert_int_equal(failed, 0);
	ice_agent_free(f.a);
}

/* A nominating check answered with an error falls back too; with no valid
 * pair left and end-of-candidates, the component fails at once. */
static void nomination_refused_fails_at_once(void **state)
{
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_event ev;
	unsigned failed = 0;

	fake_init(&f, true);
	ice_agent_remote_end_of_candidates(f.a, 0);
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_int_equal(fake_reply(&f, &req, &f.peer, 0, true, false), ICE_RECV_HANDLED);
	f.now += 50;
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_non_null(stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE));
	assert_int_equal(fake_reply(&f, &req, &f.peer, STUN_ERROR_BAD_REQUEST, true, false),
			 ICE_RECV_HANDLED);
	while (ice_agent_poll_event(f.a, &ev))
		failed += ev.type == ICE_EVENT_FAILED;
	assert_int_equal(failed, 1);
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_FAILED);
	ice_agent_free(f.a);
}

/* RFC 8489 §6.3.3 (issue 11 defect 9): a success response carrying an
 * unknown comprehension-required attribute fails the check; the same
 * answer without it validates the pair. */
static void response_unknown_attribute_fails(void **state)
{
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_pair_info pi[4];

	fake_init(&f, true);
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_int_equal(fake_reply(&f, &req, &f.peer, 0, true, true), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_pairs(f.a, 0, pi, 4), 1);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_FAILED);
	ice_agent_free(f.a);

	fake_init(&f, true);
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_int_equal(fake_reply(&f, &req, &f.peer, 0, true, false), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_pairs(f.a, 0, pi, 4), 1);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_SUCCEEDED);
	ice_agent_free(f.a);
}

/* The consent request after a selection, answered by `reply`. */
static void fake_consent_round(struct fake *f, int code, bool integrity, bool unknown)
{
	uint8_t qbuf[512];
	struct stun_msg req;

	for (unsigned guard = 0;; guard++) {
		assert_true(guard < 1000);
		f->now = ice_agent_next_deadline(f->a);
		assert_true(f->now != UINT64_MAX);
		if (fake_tick_request(f, &req, qbuf) &&
		    !stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE))
			break;
		if (!ice_agent_consent(f->a, 0, 1))
			return; /* expired: no more requests */
	}
	assert_int_equal(fake_reply(f, &req, &f->peer, code, integrity, unknown),
			 ICE_RECV_HANDLED);
}

/* RFC 7675 §5.2 (issue 11 defect 8): a 403 to a consent check revokes
 * consent at once, with or without integrity; another error does not; a
 * response with an unknown comprehension-required attribute refreshes
 * nothing (defect 9). */
static void consent_403_revokes(void **state)
{
	static const uint8_t rtp[12] = {0x80};
	struct fake f;
	struct ice_transmit tx;

	for (int integrity = 0; integrity < 2; integrity++) {
		fake_init(&f, true);
		fake_select(&f);
		fake_consent_round(&f, STUN_ERROR_SERVER_ERROR, true, false);
		assert_true(ice_agent_consent(f.a, 0, 1));
		fake_consent_round(&f, STUN_ERROR_FORBIDDEN, integrity, false);
		assert_false(ice_agent_consent(f.a, 0, 1));
		assert_int_equal(ice_agent_send(f.a, 0, 1, rtp, sizeof(rtp), &tx), -ENOTCONN);
		assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_DISCONNECTED);
		ice_agent_free(f.a);
	}

	/* Answers with an unknown attribute only: consent runs out. */
	fake_init(&f, true);
	fake_select(&f);
	while (ice_agent_consent(f.a, 0, 1) && f.now < 1000 + 40000)
		fake_consent_round(&f, 0, true, true);
	assert_false(ice_agent_consent(f.a, 0, 1));
	assert_true(f.now <= 1000 + 100 + ICE_CONSENT_TIMEOUT_MS + ICE_CONSENT_INTERVAL_MS * 12 / 10);
	ice_agent_free(f.a);
}

/* RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority, D
 * the controlled one's; the last bit says G > D. */
static void pair_priority_by_role(void **state)
{
	const uint64_t l = ice_candidate_priority(126, 65535, 1), r = ice_candidate_priority(126, 1000, 1);

	for (int ctl = 0; ctl < 2; ctl++) {
		struct fake f;
		struct ice_pair_info pi;
		uint64_t g = ctl ? l : r, d = ctl ? r : l;

		fake_init(&f, ctl);
		assert_int_equal(ice_agent_pairs(f.a, 0, &pi, 1), 1);
		assert_true(pi.priority == ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d));
		ice_agent_free(f.a);
	}
}

/* RFC 8445 §7.3.1.1 with known tie-breakers: the larger one keeps its
 * role (the other is told 487), the smaller one switches. */
static void role_conflict_tiebreakers(void **state)
{
	static const struct {
		bool controlling, peer_controlled;
		uint64_t peer_tb;
		bool want_487, want_controlling;
	} rows[] = {
		{true, false, 5, true, true},	   /* both controlling, ours larger */
		{true, false, 5000, false, false}, /* both controlling, theirs larger */
		{false, true, 5, false, true},	   /* both controlled, ours larger */
		{false, true, 5000, true, false},  /* both controlled, theirs larger */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ice_config cfg = cfg_of(rows[i].controlling, false, 99);
		struct fake f;
		struct ice_recv_result res;
		uint8_t buf[512], rbuf[512], tid[12];
		struct stun_msg resp;
		size_t n;

		cfg.tiebreaker = 1000;
		fake_init_cfg(&f, &cfg);
		fake_peer_controlled = rows[i].peer_controlled;
		fake_peer_tb_set = true;
		fake_peer_tb = rows[i].peer_tb;
		n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd, false,
				 true);
		fake_peer_controlled = fake_peer_tb_set = false;
		assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
				 ICE_RECV_HANDLED);
		assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL),
				 rows[i].want_487 ? STUN_ERROR_ROLE_CONFLICT : 0);
		assert_int_equal(ice_agent_controlling(f.a), rows[i].want_controlling);
		ice_agent_free(f.a);
	}
}

/* RFC 8445 §7.2.5.1: a 487 to our check flips our role and the check is
 * sent again with the other role attribute. */
static void role_conflict_487(void **state)
{
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;

	fake_init(&f, true);
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_non_null(stun_msg_find(&req, STUN_ATTR_ICE_CONTROLLING));
	assert_int_equal(fake_reply(&f, &req, &f.peer, STUN_ERROR_ROLE_CONFLICT, true, false),
			 ICE_RECV_HANDLED);
	assert_false(ice_agent_controlling(f.a));
	f.now += 50;
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_non_null(stun_msg_find(&req, STUN_ATTR_ICE_CONTROLLED));
	ice_agent_free(f.a);
}

/* RFC 7675 §5.1: consent checks every 0.8..1.2 of the interval, not in step. */
static void consent_jitter(void **state)
{
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	uint64_t last = 0, lo = UINT64_MAX, hi = 0;

	fake_init(&f, true);
	fake_select(&f);
	for (unsigned k = 0; k < 21;) {
		f.now = ice_agent_next_deadline(f.a);
		if (!fake_tick_request(&f, &req, qbuf))
			continue;
		fake_reply(&f, &req, &f.peer, 0, true, false);
		if (last) {
			uint64_t d = f.now - last;

			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		last = f.now;
		k++;
	}
	assert_true(lo >= 4000 && hi <= 6000);
	assert_true(hi - lo >= 300);
	ice_agent_free(f.a);
}

/* RFC 8489 §6.2.1: Rc sends RTO apart, doubling, then Rm * RTO: an
 * unanswered check (one pair: RTO 500 ms) fails 39.5 s after it was sent. */
static void check_transaction_timeout(void **state)
{
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_pair_info pi;
	uint64_t t0;
	unsigned sends = 1;

	fake_init(&f, true);
	assert_true(fake_tick_request(&f, &req, qbuf));
	t0 = f.now;
	for (;;) {
		uint64_t d = ice_agent_next_deadline(f.a);

		ice_agent_pairs(f.a, 0, &pi, 1);
		if (pi.state != ICE_PAIR_STATE_IN_PROGRESS)
			break;
		assert_true(d != UINT64_MAX);
		f.now = d;
		sends += fake_tick_request(&f, &req, qbuf);
	}
	assert_int_equal(pi.state, ICE_PAIR_STATE_FAILED);
	assert_int_equal(sends, ICE_STUN_RC);
	assert_true(f.now - t0 == 500ull * 63 + 16 * 500);
	ice_agent_free(f.a);
}

/* RFC 8445 §14.3: RTO = MAX(500 ms, Ta * (Waiting + In-Progress)): the
 * 20th check of 20 unanswered pairs retransmits 1 s after it went out. */
static void check_rto_scales(void **state)
{
	struct fake f;
	struct ice_transmit tx;
	uint64_t first[32] = {0}, gap = 0;

	fake_init(&f, true);
	for (unsigned i = 0; i < 19; i++) {
		struct ice_candidate c = {0};

		c.component = 1;
		c.addr = sim_addr("203.0.113.99", (uint16_t)(7100 + i));
		c.type = ICE_CAND_TYPE_HOST;
		c.priority = ice_candidate_priority(126, (uint16_t)(900 - i), 1);
		snprintf(c.foundation, sizeof(c.foundation), "f%u", i);
		assert_int_equal(ice_agent_add_remote_candidate(f.a, 0, &c), 0);
	}
	while (f.now < 1000 + 3000) {
		f.now = ice_agent_next_deadline(f.a);
		ice_agent_tick(f.a, f.now);
		while (ice_agent_poll_transmit(f.a, &tx)) {
			unsigned port = netaddr_port(&tx.remote);
			unsigned k = port == 7000 ? 31 : port - 7100;

			if (k >= 32)
				continue;
			if (!first[k])
				first[k] = f.now;
			else if (k == 18 && !gap)
				gap = f.now - first[k];
		}
	}
	/* pair 19 of 20 (k 18) went out with 19 * Ta = 950 ms of RTO or more */
	assert_true(gap >= 19 * ICE_TA_MS);
	ice_agent_free(f.a);
}

/* A shared pacing budget (ice_config.pace): one token per Ta for all the
 * agents of an owner, RFC 8445 §14.2. */
struct pace_budget {
	uint64_t next; /* when the next token is due */
	uint32_t ta;
	unsigned granted;
};

static uint64_t pace_take(void *ctx, uint64_t now)
{
	struct pace_budget *b = ctx;

	if (now < b->next)
		return b->next;
	b->next = now + b->ta;
	b->granted++;
	return 0;
}

/*
 * Issue 11 defect 5, the agent's half: the peer's a=ice-pacing is honoured
 * (the larger Ta wins, RFC 8839 §5.5); an owner's budget paces checks
 * across agents (RFC 8445 §14.2); the nominating check waits its turn
 * like the others (§6.1.4.2).
 */
static void pacing_remote_and_shared(void **state)
{
	struct fake f[2];
	struct pace_budget budget = {.ta = ICE_TA_MS};
	uint64_t sent_at[64];
	unsigned nsent = 0;

	/* the peer asks for 200 ms */
	fake_init(&f[0], true);
	fake_add_second(&f[0]);
	assert_int_equal(ice_agent_set_remote_pacing(f[0].a, 200), 0);
	for (unsigned k = 0; k < 2;) {
		uint8_t qbuf[512];
		struct stun_msg req;

		f[0].now = ice_agent_next_deadline(f[0].a);
		if (fake_tick_request(&f[0], &req, qbuf))
			sent_at[k++] = f[0].now;
	}
	assert_true(sent_at[1] - sent_at[0] >= 200);
	ice_agent_free(f[0].a);

	/* two agents, one budget of one check per Ta between them */
	for (unsigned i = 0; i < 2; i++) {
		struct ice_config cfg = cfg_of(true, false, 90 + i);

		cfg.pace = pace_take;
		cfg.pace_ctx = &budget;
		fake_init_cfg(&f[i], &cfg);
		fake_add_second(&f[i]);
	}
	for (uint64_t now = 1000; now < 1000 + 400; now++)
		for (unsigned i = 0; i < 2; i++) {
			uint8_t qbuf[512];
			struct stun_msg req;

			if (ice_agent_next_deadline(f[i].a) > now)
				continue;
			f[i].now = now;
			if (fake_tick_request(&f[i], &req, qbuf)) {
				assert_true(nsent < 64);
				sent_at[nsent++] = now;
				/* answered: the nomination must wait for a token too */
				fake_reply(&f[i], &req, &f[i].peer, 0, true, false);
			}
		}
	assert_true(nsent >= 4);
	assert_int_equal(nsent, budget.granted);
	for (unsigned k = 1; k < nsent; k++)
		assert_true(sent_at[k] - sent_at[k - 1] >= ICE_TA_MS);
	for (unsigned i = 0; i < 2; i++)
		ice_agent_free(f[i].a);
}

/* RFC 7675 §5.1: consent holds while a response to a request sent in the
 * last 30 s has come back. A late response extends it to 30 s after its
 * request went out, not 30 s after it arrived, and a response to a request
 * older than 30 s regains nothing. */
static void consent_counts_from_request(void **state)
{
	struct fake f;
	uint8_t qbuf[512], held[512];
	struct stun_msg req, old;
	uint64_t tq = 0;

	fake_init(&f, true);
	fake_select(&f);
	/* The first consent request after the selection: held, unanswered. */
	while (!tq) {
		f.now = ice_agent_next_deadline(f.a);
		if (fake_tick_request(&f, &req, qbuf) &&
		    !stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE)) {
			tq = f.now;
			memcpy(held, qbuf, sizeof(held));
			assert_true(stun_parse(&old, held, req.len) > 0);
		}
	}
	/* 14 s later (fewer requests since than consent transaction ids are
	 * kept) the response to it arrives; nothing else ever does. */
	while (f.now < tq + 14000) {
		f.now = ice_agent_next_deadline(f.a);
		if (f.now > tq + 14000)
			f.now = tq + 14000;
		fake_tick_request(&f, &req, qbuf);
	}
	assert_int_equal(fake_answer(&f, &old, &f.peer), ICE_RECV_HANDLED);
	assert_true(ice_agent_consent(f.a, 0, 1));
	while (f.now < tq + 30000) {
		f.now = ice_agent_next_deadline(f.a);
		if (f.now > tq + 30000)
			f.now = tq + 30000;
		fake_tick_request(&f, &req, qbuf);
	}
	assert_false(ice_agent_consent(f.a, 0, 1));
	assert_int_equal(ice_agent_consent_state(f.a, 0, 1), ICE_CONSENT_STATE_LOST);
	/* The same answer again now: its request is more than 30 s old. */
	f.now += 1000;
	fake_answer(&f, &old, &f.peer);
	assert_false(ice_agent_consent(f.a, 0, 1));
	ice_agent_free(f.a);
}

/* RFC 7675 §5.1: sending stops the moment consent expires, not at the
 * caller's next tick: once the agent has been told a time past the expiry
 * (here by received media), ice_agent_send refuses and CONSENT_LOST is
 * raised, even before ice_agent_tick runs. */
static void consent_send_stops_at_expiry(void **state)
{
	static const uint8_t rtp[12] = {0x80};
	struct fake f;
	struct ice_transmit tx;
	struct ice_recv_result res;
	struct ice_event ev;
	uint64_t expiry;
	int lost = 0;

	fake_init(&f, true);
	fake_select(&f);
	expiry = f.now + ICE_CONSENT_TIMEOUT_MS;
	count_tx(f.a);
	while (ice_agent_poll_event(f.a, &ev))
		;
	/* Nothing answers; the caller is late with its tick and media arrives. */
	f.now = expiry + 5;
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, rtp, sizeof(rtp), &res),
			 ICE_RECV_DATA);
	assert_int_equal(ice_agent_send(f.a, 0, 1, rtp, sizeof(rtp), &tx), -ENOTCONN);
	assert_false(ice_agent_consent(f.a, 0, 1));
	while (ice_agent_poll_event(f.a, &ev))
		lost += ev.type == ICE_EVENT_CONSENT_LOST;
	assert_int_equal(lost, 1);
	ice_agent_tick(f.a, f.now);
	while (ice_agent_poll_event(f.a, &ev))
		assert_int_not_equal(ev.type, ICE_EVENT_CONSENT_LOST);
	ice_agent_free(f.a);
}

/* RFC 8445 §8.1.2: once a component has a nominated pair, its other pairs
 * leave the check list: an In-Progress check is cancelled (no more
 * retransmissions), nothing Frozen/Waiting is checked any more, and the
 * list (and agent) complete at once rather than after the leftovers time
 * out. */
static void nomination_prunes_component(void **state)
{
	struct fake f;
	struct ice_candidate c = {.component = 1, .type = ICE_CAND_TYPE_HOST, .generation = -1};
	struct netaddr peer2 = sim_addr("203.0.113.98", 7002);
	uint8_t qbuf[512], nbuf[512];
	struct stun_msg req, nom;
	struct ice_pair_info pi[4];
	unsigned requests = 0;

	fake_init(&f, true);
	c.addr = peer2;
	c.priority = ice_candidate_priority(126, 900, 1);
	strcpy(c.foundation, "peer2");
	assert_int_equal(ice_agent_add_remote_candidate(f.a, 0, &c), 0);
	/* pair 1 (the better) checked and answered: its nomination is the
	 * next paced check (the triggered queue, RFC 8445 §6.1.4.2) */
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
	assert_int_equal(count_tx(f.a), 0); /* nothing sent outside the pacing */
	f.now += 50;
	assert_true(fake_tick_request(&f, &req, nbuf));
	assert_non_null(stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE));
	memcpy(&nom, &req, sizeof(nom));
	/* pair 2's check goes out one Ta later and is never answered */
	f.now += 50;
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_null(stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE));
	ice_agent_pairs(f.a, 0, pi, 4);
	assert_int_equal(pi[1].state, ICE_PAIR_STATE_IN_PROGRESS);
	/* the nomination is answered */
	assert_int_equal(fake_answer(&f, &nom, &f.peer), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_COMPLETED);
	/* no check of any kind for the next 3 s (consent starts at 4 s) */
	for (uint64_t end = f.now + 3000; f.now < end; f.now += 50)
		if (fake_tick_request(&f, &req, qbuf))
			requests++;
	assert_int_equal(requests, 0);
	ice_agent_free(f.a);
}

/* RFC 8445 §7.3.1.4: a Failed pair is checked again when the peer's check
 * for it arrives, also once the whole list had failed (every check timed
 * out before the peer's NAT opened): the controlling agent then validates,
 * nominates and completes instead of staying failed. A list failed by the
 * nomination timeout stays failed. */
static void failed_list_revived_by_peer(void **state)
{
	struct fake f;
	struct ice_event ev;
	struct ice_recv_result res;
	uint8_t buf[512], qbuf[512], tid[12];
	struct stun_msg req;
	unsigned failed = 0, requests = 0;
	size_t n;

	fake_init(&f, true);
	assert_int_equal(ice_agent_remote_end_of_candidates(f.a, 0), 0);
	while (!failed) {
		f.now = ice_agent_next_deadline(f.a);
		assert_true(f.now < 1000 + 45000);
		fake_tick_request(&f, &req, qbuf); /* lost */
		while (ice_agent_poll_event(f.a, &ev))
			failed += ev.type == ICE_EVENT_FAILED;
	}
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_FAILED);
	/* The peer's check gets through now. */
	fake_peer_controlled = true;
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd, false, true);
	fake_peer_controlled = false;
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_HANDLED);
	for (uint64_t end = f.now + 100; f.now <= end && !requests; f.now += 10)
		if (fake_tick_request(&f, &req, qbuf)) {
			requests++;
			assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
		}
	assert_int_equal(requests, 1);
	/* nominated, answered, completed */
	for (uint64_t end = f.now + 2000; f.now <= end; f.now += 10)
		if (fake_tick_request(&f, &req, qbuf) &&
		    stun_msg_find(&req, STUN_ATTR_USE_CANDIDATE))
			fake_answer(&f, &req, &f.peer);
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_COMPLETED);
	ice_agent_free(f.a);
}

/* RFC 8445 §7.3.1.4: a request for a pair whose own check is In-Progress
 * cancels that transaction (no more retransmissions, a late answer still
 * counts) and queues a triggered check with a new transaction at once,
 * rather than waiting out the RTO. */
static void triggered_check_on_in_progress(void **state)
{
	struct fake f;
	struct ice_recv_result res;
	uint8_t buf[512], qbuf[512], first_buf[512], tid[12];
	struct stun_msg req, first;
	struct ice_pair_info pi;
	unsigned requests = 0;
	size_t n;

	fake_init(&f, false);
	assert_true(fake_tick_request(&f, &req, qbuf)); /* lost on the way */
	memcpy(first_buf, qbuf, sizeof(first_buf));
	assert_true(stun_parse(&first, first_buf, req.len) > 0);
	ice_agent_pairs(f.a, 0, &pi, 1);
	assert_int_equal(pi.state, ICE_PAIR_STATE_IN_PROGRESS);
	f.now += 100;
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd, false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_HANDLED);
	{
		struct ice_agent_stats st;

		ice_agent_get_stats(f.a, &st);
		assert_int_equal(st.triggered_checks, 1); /* queued as triggered (§7.3.1.4) */
	}
	/* Within one Ta a new check with a new transaction id. */
	for (uint64_t end = f.now + 50; f.now <= end; f.now += 10)
		if (fake_tick_request(&f, &req, qbuf)) {
			requests++;
			assert_memory_not_equal(req.tid, first.tid, STUN_TID_LEN);
		}
	assert_int_equal(requests, 1);
	/* The cancelled transaction is not retransmitted... */
	for (; f.now < 1000 + 700; f.now += 10)
		if (fake_tick_request(&f, &req, qbuf))
			assert_memory_not_equal(req.tid, first.tid, STUN_TID_LEN);
	/* ...but its late answer still validates the pair. */
	assert_int_equal(fake_answer(&f, &first, &f.peer), ICE_RECV_HANDLED);
	ice_agent_pairs(f.a, 0, &pi, 1);
	assert_int_equal(pi.state, ICE_PAIR_STATE_SUCCEEDED);
	ice_agent_free(f.a);
}
/* A controlled agent whose peer answers every check but never nominates
 * fails each component when nomination_timeout_ms has passed since the
 * start (ICE_EVENT_FAILED, error -ETIMEDOUT), not before, and stops
 * checking; a nominating peer is never affected. */
static void nomination_timeout(void **state)
{
	struct ice_config cfg = cfg_of(false, false, 99);
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_event ev;
	struct ice_agent_stats st0, st;
	uint64_t start, failed_at = 0;
	int error = 0;

	cfg.nomination_timeout_ms = 10000;
	fake_init_cfg(&f, &cfg);
	start = f.now;
	while (!failed_at && f.now < start + 20000) {
		f.now = ice_agent_next_deadline(f.a);
		if (fake_tick_request(&f, &req, qbuf))
			assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
		while (ice_agent_poll_event(f.a, &ev))
			if (ev.type == ICE_EVENT_FAILED) {
				failed_at = f.now;
				error = ev.error;
			}
	}
	assert_int_equal(failed_at, start + 10000);
	assert_int_equal(error, -ETIMEDOUT);
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_FAILED);
	/* No more checks after the failure, not even for the peer's check. */
	ice_agent_get_stats(f.a, &st0);
	{
		struct ice_recv_result res;
		uint8_t buf[512], tid[12];
		size_t n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd,
					false, true);

		assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
				 ICE_RECV_HANDLED);
	}
	for (unsigned i = 0; i < 20; i++) {
		f.now += 1000;
		ice_agent_tick(f.a, f.now);
		while (ice_agent_poll_event(f.a, &ev))
			assert_int_not_equal(ev.type, ICE_EVENT_FAILED);
		count_tx(f.a);
	}
	ice_agent_get_stats(f.a, &st);
	assert_int_equal(st.checks_sent, st0.checks_sent);
	ice_agent_free(f.a);

	/* Default: 60 s (ICE_NOMINATION_TIMEOUT_MS); a nominated pair stays. */
	fake_init(&f, true);
	fake_select(&f);
	start = f.now;
	while (f.now < start + 2 * ICE_NOMINATION_TIMEOUT_MS) {
		f.now = ice_agent_next_deadline(f.a);
		if (fake_tick_request(&f, &req, qbuf))
			fake_answer(&f, &req, &f.peer);
		while (ice_agent_poll_event(f.a, &ev))
			assert_int_not_equal(ev.type, ICE_EVENT_FAILED);
	}
	assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_COMPLETED);
	ice_agent_free(f.a);
}

/* A controlling agent with a valid pair whose nominations are never
 * answered fails at the nomination timeout; after that its deadline must
 * not stay in the past (the controlling nomination wait of a list that no
 * longer runs made every tick return "now": a busy event loop). */
static void no_past_deadline_after_failure(void **state)
{
	struct ice_config cfg = cfg_of(true, false, 99);
	struct fake f;
	uint8_t qbuf[512];
	struct stun_msg req;
	struct ice_event ev;
	unsigned failed = 0;
	uint64_t next;

	cfg.nomination_timeout_ms = 10000;
	fake_init_cfg(&f, &cfg);
	assert_true(fake_tick_request(&f, &req, qbuf));
	assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
	while (!failed) {
		f.now = ice_agent_next_deadline(f.a);
		assert_true(f.now <= 1000 + 10000);
		fake_tick_request(&f, &req, qbuf); /* nominations: lost */
		while (ice_agent_poll_event(f.a, &ev))
			failed += ev.type == ICE_EVENT_FAILED;
	}
	next = ice_agent_tick(f.a, f.now);
	assert_true(next > f.now);
	ice_agent_free(f.a);
}

static void malformed_dropped(void **state)
{
	struct fake f;
	struct ice_agent_stats st0, st;
	struct ice_recv_result res;
	uint8_t buf[512], rbuf[512], tid[12];
	struct stun_msg resp;
	size_t n;
	static const uint8_t junk_stun[] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42,
					    1,	  2,	3,    4,    5,	  6,	7,    8,
					    9,	  10,	11,   12,   0x00, 0x06, 0x00, 0x40};

	fake_init(&f, false);
	ice_agent_get_stats(f.a, &st0);
	/* Truncated STUN / attribute overrun: dropped as malformed. */
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, junk_stun, 10, &res),
			 ICE_RECV_DROPPED);
	assert_int_equal(
		ice_agent_recv(f.a, f.now, &f.base, &f.peer, junk_stun, sizeof(junk_stun), &res),
		ICE_RECV_DROPPED);
	/* ChannelData not from a TURN server: dropped. */
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer,
					(const uint8_t[]){0x40, 0, 0, 0}, 4, &res),
			 ICE_RECV_DROPPED);
	/* Unknown base. */
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.peer, &f.peer, junk_stun, 20, &res),
			 ICE_RECV_DROPPED);
	ice_agent_get_stats(f.a, &st);
	assert_int_equal(st.rx_dropped_malformed, st0.rx_dropped_malformed + 2);
	assert_int_equal(st.rx_dropped_unknown, st0.rx_dropped_unknown + 2);
	fake_collect(&f, &resp, rbuf, NULL, NULL, NULL);

	/* Wrong password: 401, counted, no pair learnt. */
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, "wrongpassword",
			 false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_DROPPED);
	assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL), 401);
	/* No MESSAGE-INTEGRITY: 400. */
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, false, f.lpwd, false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_DROPPED);
	assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL), 400);
	/* Authenticated but an unknown comprehension-required attribute: 420
	 * listing it. */
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd, true, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_HANDLED);
	assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL), 420);
	{
		const struct stun_attr *u = stun_msg_find(&resp, STUN_ATTR_UNKNOWN_ATTRIBUTES);
		uint16_t types[4];
		size_t nt = 0;

		assert_non_null(u);
		assert_int_equal(stun_attr_get_unknown(&resp, u, types, 4, &nt), 0);
		assert_int_equal(nt, 1);
		assert_int_equal(types[0], 0x7ff0);
		assert_int_equal(
			stun_check_integrity(&resp, (const uint8_t *)f.lpwd, strlen(f.lpwd)), 0);
	}
	/* Authenticated without PRIORITY: 400. */
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1, true, f.lpwd, false, false);
	ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res);
	assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL), 400);
	/* A response nobody asked for, and one with a bad integrity. */
	{
		struct stun_builder b;
		int m;

		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &f.base);
		stun_build_integrity(&b, (const uint8_t *)"nope", 4);
		m = stun_build_finish(&b);
		assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, (size_t)m, &res),
				 ICE_RECV_DROPPED);
	}
	ice_agent_get_stats(f.a, &st);
	assert_int_equal(st.rx_dropped_unauth, st0.rx_dropped_unauth + 2);
	assert_int_equal(st.errors_sent, 4);
	/* None of it selected anything or learnt a peer-reflexive candidate. */
	{
		struct ice_pair_info pi[8];

		assert_int_equal(ice_agent_pairs(f.a, 0, pi, 8), 1);
		assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, pi), -ENOTCONN);
		assert_int_equal(ice_agent_state(f.a), ICE_AGENT_STATE_CHECKING);
	}
	ice_agent_free(f.a);
}

/* libnice-style (RFC 5245 aggressive): USE-CANDIDATE on the very first
 * check, before our own check of that pair has succeeded. Then the peer
 * renominates a better pair and the selection follows. */
static void aggressive_and_renomination(void **state)
{
	struct fake f;
	struct ice_recv_result res;
	uint8_t buf[512], rbuf[512], qbuf[512], tid[12];
	struct stun_msg resp, req;
	struct ice_pair_info sel;
	struct ice_event ev;
	struct netaddr better = sim_addr("203.0.113.98", 7002);
	size_t n;
	int selected = 0;

	fake_init(&f, false);
	n = fake_request(&f, buf, sizeof(buf), tid, true, 1862270975u, true, f.lpwd, false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &f.peer, buf, n, &res),
			 ICE_RECV_HANDLED);
	assert_int_equal(fake_collect(&f, &resp, rbuf, &req, qbuf, NULL), 0);
	assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, &sel), -ENOTCONN);
	/* Our triggered check goes out at the next Ta; answer it. */
	f.now += 50;
	ice_agent_tick(f.a, f.now);
	memset(&req, 0, sizeof(req));
	fake_collect(&f, &resp, rbuf, &req, qbuf, NULL);
	assert_int_equal(req.cls, STUN_CLASS_REQUEST);
	assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, &sel), 0);
	assert_true(netaddr_equal(&sel.remote.addr, &f.peer));
	while (ice_agent_poll_event(f.a, &ev))
		selected += ev.type == ICE_EVENT_SELECTED_PAIR;
	assert_int_equal(selected, 1);

	/* Renomination: a check with USE-CANDIDATE from a new address (prflx)
	 * with a higher PRIORITY. */
	n = fake_request(&f, buf, sizeof(buf), tid, true, 2130706431u, true, f.lpwd, false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &better, buf, n, &res),
			 ICE_RECV_HANDLED);
	fake_collect(&f, &resp, rbuf, NULL, NULL, NULL);
	f.now += 50;
	ice_agent_tick(f.a, f.now);
	memset(&req, 0, sizeof(req));
	fake_collect(&f, &resp, rbuf, &req, qbuf, NULL);
	assert_int_equal(req.cls, STUN_CLASS_REQUEST);
	assert_int_equal(fake_answer(&f, &req, &better), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, &sel), 0);
	assert_true(netaddr_equal(&sel.remote.addr, &better));
	assert_int_equal(sel.remote.type, ICE_CAND_TYPE_PRFLX);
	selected = 0;
	while (ice_agent_poll_event(f.a, &ev))
		selected += ev.type == ICE_EVENT_SELECTED_PAIR;
	assert_int_equal(selected, 1);
	/* Media from the new remote is on the selected pair, from the old not. */
	{
		static const uint8_t rtp[12] = {0x80, 0x60};

		assert_int_equal(
			ice_agent_recv(f.a, f.now, &f.base, &better, rtp, sizeof(rtp), &res),
			ICE_RECV_DATA);
		assert_true(res.on_selected);
		assert_int_equal(
			ice_agent_recv(f.a, f.now, &f.base, &f.peer, rtp, sizeof(rtp), &res),
			ICE_RECV_DATA);
		assert_false(res.on_selected);
	}
	ice_agent_free(f.a);
}

/* §7.2.5.2.1: a response from another address than the check went to
 * fails the pair; §6.1.2.5: the check list keeps the best max_pairs. */
static void symmetric_response_and_limit(void **state)
{
	struct fake f;
	uint8_t rbuf[512], qbuf[512];
	struct stun_msg resp, req;
	struct ice_pair_info pi[8];
	struct netaddr elsewhere = sim_addr("203.0.113.97", 7000);
	struct ice_config cfg = cfg_of(true, false, 3);
	struct ice_agent *a;
	struct netaddr base = sim_addr("203.0.113.10", 5000);

	fake_init(&f, true);
	f.now += 50;
	ice_agent_tick(f.a, f.now);
	memset(&req, 0, sizeof(req));
	fake_collect(&f, &resp, rbuf, &req, qbuf, NULL);
	assert_int_equal(req.cls, STUN_CLASS_REQUEST);
	assert_int_equal(fake_answer(&f, &req, &elsewhere), ICE_RECV_HANDLED);
	assert_int_equal(ice_agent_pairs(f.a, 0, pi, 8), 1);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_FAILED);
	assert_int_equal(ice_agent_selected_pair(f.a, 0, 1, pi), -ENOTCONN);
	ice_agent_free(f.a);

	cfg.max_pairs = 3;
	assert_int_equal(ice_agent_new(&a, &cfg), 0);
	assert_int_equal(ice_agent_add_stream(a, 1), 0);
	assert_int_equal(ice_agent_add_host(a, 0, 1, &base, 65535), 0);
	assert_int_equal(ice_agent_set_remote_credentials(a, 0, "abcd", "0123456789012345678901"),
			 0);
	for (unsigned i = 0; i < 5; i++) {
		struct ice_candidate c = {
			.component = 1, .type = ICE_CAND_TYPE_HOST, .generation = -1};

		c.addr = sim_addr("198.51.100.50", (uint16_t)(1000 + i));
		c.priority = ice_candidate_priority(126, i * 100, 1);
		snprintf(c.foundation, sizeof(c.foundation), "f%u", i);
		assert_int_equal(ice_agent_add_remote_candidate(a, 0, &c), 0);
	}
	assert_int_equal(ice_agent_pairs(a, 0, pi, 8), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(netaddr_port(&pi[i].remote.addr) >= 1002);
	ice_agent_free(a);
}

/* A check from an address not yet signalled makes a prflx remote; when the
 * trickled candidate for it arrives, it takes the signalled type. */
static void prflx_then_signalled(void **state)
{
	struct fake f;
	struct ice_recv_result res;
	uint8_t buf[512], rbuf[512], tid[12];
	struct stun_msg resp;
	struct ice_pair_info pi[4];
	struct netaddr late = sim_addr("203.0.113.77", 7777);
	struct ice_candidate c = {.component = 1, .type = ICE_CAND_TYPE_HOST, .generation = -1};
	size_t n;
	int np;

	fake_init(&f, false);
	n = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd, false, true);
	assert_int_equal(ice_agent_recv(f.a, f.now, &f.base, &late, buf, n, &res),
			 ICE_RECV_HANDLED);
	assert_int_equal(fake_collect(&f, &resp, rbuf, NULL, NULL, NULL), 0);
	np = ice_agent_pairs(f.a, 0, pi, 4);
	assert_int_equal(np, 2);
	assert_int_equal(pi[1].remote.type, ICE_CAND_TYPE_PRFLX);
	assert_int_equal(pi[1].remote.priority, 1862270975u);
	c.addr = late;
	c.priority = 2130706431u;
	strcpy(c.foundation, "late");
	assert_int_equal(ice_agent_add_remote_candidate(f.a, 0, &c), 0);
	assert_int_equal(ice_agent_pairs(f.a, 0, pi, 4), 2);
	assert_int_equal(pi[1].remote.type, ICE_CAND_TYPE_HOST);
	assert_string_equal(pi[1].remote.foundation, "late");
	assert_true(pi[1].priority == (2130706431ull << 32) + 2 * 2130706431ull);
	ice_agent_free(f.a);
}

/* One check per Ta (RFC 8445 §14.2), the first retransmission after the
 * §14.3 RTO, and Ta from the configuration. */
static void pacing_and_rto(void **state)
{
	struct ice_config cfg = cfg_of(true, false, 11);
	struct netaddr base = sim_addr("203.0.113.10", 5000);
	struct ice_agent_stats st;
	struct ice_agent *a;

	cfg.ta_ms = 20;
	assert_int_equal(ice_agent_new(&a, &cfg), 0);
	assert_int_equal(ice_agent_add_stream(a, 1), 0);
	assert_int_equal(ice_agent_add_host(a, 0, 1, &base, 65535), 0);
	assert_int_equal(ice_agent_set_remote_credentials(a, 0, "abcd", "0123456789012345678901"),
			 0);
	for (unsigned i = 0; i < 40; i++) {
		struct ice_candidate c = {
			.component = 1, .type = ICE_CAND_TYPE_HOST, .generation = -1};

		c.addr = sim_addr("198.51.100.50", (uint16_t)(1000 + i));
		c.priority = ice_candidate_priority(126, 1000 - i, 1);
		snprintf(c.foundation, sizeof(c.foundation), "f%u", i);
		assert_int_equal(ice_agent_add_remote_candidate(a, 0, &c), 0);
	}
	assert_int_equal(ice_agent_start(a, 0), 0);
	assert_int_equal(ice_agent_tick(a, 0), 20);
	assert_int_equal(count_tx(a), 1);
	ice_agent_tick(a, 19);
	assert_int_equal(count_tx(a), 0);
	ice_agent_tick(a, 20);
	assert_int_equal(count_tx(a), 1);
	/* RTO = MAX(500, Ta * (Num-Waiting + Num-In-Progress)): the first
	 * check went out with nothing else in progress, so 500 ms; until
	 * then one paced check per Ta, 25 in all, and no retransmission. */
	for (uint64_t t = 40; t < 500; t += 20) {
		ice_agent_tick(a, t);
		assert_int_equal(count_tx(a), 1);
	}
	ice_agent_get_stats(a, &st);
	assert_int_equal(st.checks_sent, 25);
	assert_int_equal(st.checks_retransmitted, 0);
	ice_agent_tick(a, 500);
	ice_agent_get_stats(a, &st);
	assert_int_equal(st.checks_retransmitted, 1);
	ice_agent_free(a);
}

/* RFC 8445 §6.1.2.6 / §6.1.4.2 / §7.2.5.3.3: a foundation is checked once
 * across the check lists; the other streams' pairs of that foundation stay
 * Frozen until it succeeds, then go Waiting. */
static void unfreeze_across_streams(void **state)
{
	struct fake f;
	struct ice_pair_info pi[4];
	struct netaddr base2 = sim_addr("203.0.113.10", 5002),
		       peer2 = sim_addr("203.0.113.99", 7002);
	struct ice_candidate c = {.component = 1, .type = ICE_CAND_TYPE_HOST, .generation = -1};
	uint8_t rbuf[512], qbuf[512];
	struct stun_msg resp, req;

	fake_init(&f, true); /* stream 0: base 5000 -> peer 7000, foundation peer1 */
	assert_int_equal(ice_agent_add_stream(f.a, 1), 1);
	assert_int_equal(ice_agent_add_host(f.a, 1, 1, &base2, 65535), 0);
	assert_int_equal(ice_agent_set_remote_credentials(f.a, 1, f.rufrag, f.rpwd), 0);
	c.addr = peer2;
	c.priority = ice_candidate_priority(126, 1000, 1);
	strcpy(c.foundation, "peer1"); /* same remote foundation, same base IP */
	assert_int_equal(ice_agent_add_remote_candidate(f.a, 1, &c), 0);
	ice_agent_tick(f.a, f.now);
	memset(&req, 0, sizeof(req));
	fake_collect(&f, &resp, rbuf, &req, qbuf, NULL);
	assert_int_equal(req.cls, STUN_CLASS_REQUEST);
	ice_agent_pairs(f.a, 0, pi, 4);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_IN_PROGRESS);
	ice_agent_pairs(f.a, 1, pi, 4);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_FROZEN);
	/* Ta later: stream 1 may not unfreeze its only pair. */
	f.now += 50;
	ice_agent_tick(f.a, f.now);
	assert_int_equal(count_tx(f.a), 0);
	ice_agent_pairs(f.a, 1, pi, 4);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_FROZEN);
	/* Stream 0's check succeeds: stream 1's pair goes Waiting, is checked. */
	assert_int_equal(fake_answer(&f, &req, &f.peer), ICE_RECV_HANDLED);
	ice_agent_pairs(f.a, 1, pi, 4);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_WAITING);
	f.now += 50;
	ice_agent_tick(f.a, f.now);
	ice_agent_pairs(f.a, 1, pi, 4);
	assert_int_equal(pi[0].state, ICE_PAIR_STATE_IN_PROGRESS);
	ice_agent_free(f.a);
}

/* ice_config.relay_only: with a direct path and a STUN server at hand, L
 * offers, lists, pairs and selects only its relayed candidate, asks no
 * STUN server, and its host base answers no check that did not come
 * through the TURN allocation. */
static void relay_only(void **state)
{
	struct sim s;
	struct scen sc = {PUBLIC_PAIR, .ctl_l = true, .stun = true, .turn = true,
			  .relay_only_l = true};
	struct ice_candidate c[8], def;
	struct ice_pair_info pi[16];
	struct ice_config bad = cfg_of(false, true, 1);
	struct ice_agent *a;
	int n;

	sim_init(&s, 25);
	sim_enable_stun(&s, "198.51.100.1", 3478);
	sim_enable_turn(&s, "198.51.100.2", 3478, "user", "secret");
	scen_connect(&s, &sc);
	n = ice_agent_local_candidates(s.eps[0].a, 0, c, 8);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].type, ICE_CAND_TYPE_RELAY);
	/* its related address does not give the host away either */
	assert_true(netaddr_is_any(&c[0].raddr) && !netaddr_port(&c[0].raddr));
	assert_int_equal(s.eps[0].candidates, 1); /* the one CANDIDATE event */
	assert_int_equal(ice_agent_default_candidate(s.eps[0].a, 0, 1, &def), 0);
	assert_int_equal(def.type, ICE_CAND_TYPE_RELAY);
	assert_int_equal(s.stun_requests, 1); /* R's only */
	n = ice_agent_pairs(s.eps[0].a, 0, pi, 16);
	assert_true(n >= 1);
	for (int i = 0; i < n && i < 16; i++)
		assert_true(pi[i].local.type == ICE_CAND_TYPE_RELAY ||
			    pi[i].local.type == ICE_CAND_TYPE_PRFLX);
	assert_true(has_relay(&s.eps[0].selected[0][1]));
	assert_int_equal(s.eps[0].selected[0][1].local.type, ICE_CAND_TYPE_RELAY);
	assert_media_flows(&s, 0, 1);
	assert_true(s.turn.chandata_in + s.turn.sends >= 1);
	/* A check sent straight to L's host base: dropped, never answered. */
	{
		struct fake f = {
			.a = s.eps[0].a, .base = s.eps[0].base[0], .peer = s.eps[1].base[0]};
		struct ice_recv_result res;
		uint8_t buf[512], tid[12];
		const char *u, *p;
		size_t len;

		sim_drain_all(&s);
		ice_agent_local_credentials(f.a, 0, &f.lufrag, &f.lpwd);
		ice_agent_local_credentials(s.eps[1].a, 0, &u, &p);
		snprintf(f.rufrag, sizeof(f.rufrag), "%s", u);
		snprintf(f.rpwd, sizeof(f.rpwd), "%s", p);
		len = fake_request(&f, buf, sizeof(buf), tid, false, 1862270975u, true, f.lpwd,
				   false, true);
		assert_int_equal(ice_agent_recv(f.a, s.now, &f.base, &f.peer, buf, len, &res),
				 ICE_RECV_DROPPED);
		assert_int_equal(count_tx(f.a), 0);
	}
	sim_free(&s);
	/* Refused combinations. */
	bad.relay_only = true;
	assert_int_equal(ice_agent_new(&a, &bad), -EINVAL);
	bad.lite = false;
	assert_int_equal(ice_agent_new(&a, &bad), 0);
	assert_int_equal(ice_agent_add_stream(a, 1), 0);
	assert_int_equal(ice_agent_gather(a, 0), -EINVAL); /* no TURN server */
	ice_agent_free(a);
}

static void api_errors(void **state)
{
	struct ice_agent *a;
	struct ice_config cfg = cfg_of(false, true, 1);
	struct netaddr any = sim_addr("0.0.0.0", 5000), ok = sim_addr("203.0.113.1", 5000);
	struct ice_transmit tx;

	assert_int_equal(ice_agent_new(&a, &cfg), 0);
	assert_int_equal(ice_agent_add_stream(a, 0), -EINVAL);
	assert_int_equal(ice_agent_add_stream(a, ICE_MAX_COMPONENTS + 1), -EINVAL);
	assert_int_equal(ice_agent_add_stream(a, 1), 0);
	assert_int_equal(ice_agent_add_host(a, 1, 1, &ok, 1), -ENOENT);
	assert_int_equal(ice_agent_add_host(a, 0, 2, &ok, 1), -ENOENT);
	assert_int_equal(ice_agent_add_host(a, 0, 1, &any, 1), -EINVAL);
	assert_int_equal(ice_agent_add_host(a, 0, 1, &ok, 1), 0);
	assert_int_equal(ice_agent_add_host(a, 0, 1, &ok, 1), -EEXIST);
	assert_int_equal(ice_agent_set_controlling(a, true), -EINVAL); /* lite */
	assert_int_equal(ice_agent_set_remote_lite(a, true), -EOPNOTSUPP);
	assert_int_equal(ice_agent_set_remote_credentials(a, 0, "", "x"), -EINVAL);
	assert_int_equal(ice_agent_set_remote_credentials(a, 0, "a:b", "pwd"), -EINVAL);
	assert_int_equal(ice_agent_send(a, 0, 1, (const uint8_t *)"x", 1, &tx), -ENOTCONN);
	assert_int_equal(ice_agent_tick(a, 5), UINT64_MAX);
	assert_string_equal(ice_agent_state_str(ICE_AGENT_STATE_COMPLETED), "completed");
	assert_string_equal(ice_pair_state_str(ICE_PAIR_STATE_IN_PROGRESS), "in-progress");
	assert_string_equal(ice_consent_state_str(ICE_CONSENT_STATE_LOST), "lost");
	assert_string_equal(ice_agent_state_str(99), "unknown");
	ice_agent_free(a);
	ice_agent_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(priority_formula, no_errors_logged),
		cmocka_unit_test_teardown(pair_priority_and_foundations, no_errors_logged),
		cmocka_unit_test_teardown(host_only, no_errors_logged),
		cmocka_unit_test_teardown(host_only_ipv6, no_errors_logged),
		cmocka_unit_test_teardown(rtcp_and_two_streams, no_errors_logged),
		cmocka_unit_test_teardown(nat_one_side, no_errors_logged),
		cmocka_unit_test_teardown(port_restricted_both, no_errors_logged),
		cmocka_unit_test_teardown(same_nat, no_errors_logged),
		cmocka_unit_test_teardown(symmetric_both_relay, no_errors_logged),
		cmocka_unit_test_teardown(relay_two_components, no_errors_logged),
		cmocka_unit_test_teardown(turn_stale_nonce, no_errors_logged),
		cmocka_unit_test_teardown(turn_wrong_password, no_errors_logged),
		cmocka_unit_test_teardown(turn_sha256, no_errors_logged),
		cmocka_unit_test_teardown(role_conflict, no_errors_logged),
		cmocka_unit_test_teardown(lite_peer, no_errors_logged),
		cmocka_unit_test_teardown(trickle, no_errors_logged),
		cmocka_unit_test_teardown(restart, no_errors_logged),
		cmocka_unit_test_teardown(consent_loss, no_errors_logged),
		cmocka_unit_test_teardown(lossy_network, no_errors_logged),
		cmocka_unit_test_teardown(unreachable_fails, no_errors_logged),
		cmocka_unit_test_teardown(malformed_dropped, no_errors_logged),
		cmocka_unit_test_teardown(aggressive_and_renomination, no_errors_logged),
		cmocka_unit_test_teardown(symmetric_response_and_limit, no_errors_logged),
		cmocka_unit_test_teardown(prflx_then_signalled, no_errors_logged),
		cmocka_unit_test_teardown(pacing_and_rto, no_errors_logged),
		cmocka_unit_test_teardown(unfreeze_across_streams, no_errors_logged),
		cmocka_unit_test_teardown(api_errors, no_errors_logged),
		cmocka_unit_test_teardown(consent_counts_from_request, no_errors_logged),
		cmocka_unit_test_teardown(triggered_check_on_in_progress, no_errors_logged),
		cmocka_unit_test_teardown(nomination_timeout, no_errors_logged),
		cmocka_unit_test_teardown(relay_only, no_errors_logged),
		cmocka_unit_test_teardown(consent_send_stops_at_expiry, no_errors_logged),
		cmocka_unit_test_teardown(nomination_prunes_component, no_errors_logged),
		cmocka_unit_test_teardown(failed_list_revived_by_peer, no_errors_logged),
		cmocka_unit_test_teardown(no_past_deadline_after_failure, no_errors_logged),
		cmocka_unit_test_teardown(resume_keeps_and_loses_consent, no_errors_logged),
		cmocka_unit_test_teardown(resume_errors, no_errors_logged),
		cmocka_unit_test_teardown(nat_connect_time, no_errors_logged),
		cmocka_unit_test_teardown(nomination_falls_back, no_errors_logged),
		cmocka_unit_test_teardown(nomination_refused_fails_at_once, no_errors_logged),
		cmocka_unit_test_teardown(response_unknown_attribute_fails, no_errors_logged),
		cmocka_unit_test_teardown(consent_403_revokes, no_errors_logged),
		cmocka_unit_test_teardown(pair_priority_by_role, no_errors_logged),
		cmocka_unit_test_teardown(role_conflict_tiebreakers, no_errors_logged),
		cmocka_unit_test_teardown(role_conflict_487, no_errors_logged),
		cmocka_unit_test_teardown(consent_jitter, no_errors_logged),
		cmocka_unit_test_teardown(check_transaction_timeout, no_errors_logged),
		cmocka_unit_test_teardown(check_rto_scales, no_errors_logged),
		cmocka_unit_test_teardown(pacing_remote_and_shared, no_errors_logged),
		cmocka_unit_test_teardown(unused_relays_freed, no_errors_logged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
