/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * simnet: a simulated UDP network in virtual time for ICE agent tests.
 *
 * Endpoints (each one ICE agent with host bases), NAT boxes with
 * endpoint-independent or address-and-port-dependent mapping and
 * endpoint-independent, address-dependent or address-and-port-dependent
 * filtering (RFC 4787), a STUN server and a TURN server model (RFC 8656:
 * long-term auth with 401/438, Allocate, Refresh, CreatePermission,
 * ChannelBind, Send/Data indications, ChannelData) built on the STUN codec.
 * Latency, loss and duplication knobs; a deterministic PRNG; no sleeps.
 *
 * Static functions only: one unit test includes it.
 */
#ifndef ICEPATH_TESTS_SIMNET_H
#define ICEPATH_TESTS_SIMNET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/channel_data.h"
#include "icepath/ice.h"
#include "icepath/stun.h"

#define SIM_FN static __attribute__((unused))

#define SIM_MAX_EPS	   4
#define SIM_MAX_BASES	   4
#define SIM_MAX_NATS	   4
#define SIM_MAX_MAPPINGS   64
#define SIM_MAX_SENT	   16
#define SIM_MAX_ALLOCS	   8
#define SIM_MAX_TURN_PEERS 16
#define SIM_PKT_MAX	   2048

enum sim_mapping { SIM_MAP_EI, SIM_MAP_APD };
enum sim_filter { SIM_FILTER_EI, SIM_FILTER_AD, SIM_FILTER_APD };

struct sim_pkt {
	uint64_t at;
	struct netaddr src, dst;
	size_t len;
	uint8_t buf[SIM_PKT_MAX];
};

struct sim_nat_map {
	struct netaddr inside, remote; /* remote only matters for APD mapping */
	uint16_t port;
	struct netaddr sent[SIM_MAX_SENT];
	unsigned nsent;
};

struct sim_nat {
	struct netaddr pub;		  /* port ignored */
	uint32_t inside_net, inside_mask; /* host order, IPv4 */
	enum sim_mapping mapping;
	enum sim_filter filter;
	struct sim_nat_map maps[SIM_MAX_MAPPINGS];
	unsigned nmaps;
	uint16_t next_port;
	unsigned dropped_inbound;
};

struct sim_turn_alloc {
	bool used;
	struct netaddr client; /* as seen by the server */
	struct netaddr relay;
	uint64_t expiry;
	struct netaddr perms[SIM_MAX_TURN_PEERS];
	uint64_t perm_expiry[SIM_MAX_TURN_PEERS];
	unsigned nperms;
	struct netaddr chan_peer[SIM_MAX_TURN_PEERS];
	uint16_t chan[SIM_MAX_TURN_PEERS];
	unsigned nchan;
};

struct sim_turn {
	bool on;
	struct netaddr addr;
	const char *user, *pass, *realm;
	char nonce[32];
	unsigned nonce_gen;
	uint8_t key[STUN_MAX_KEY_LEN];
	int key_len;
	struct sim_turn_alloc allocs[SIM_MAX_ALLOCS];
	uint16_t next_relay_port;
	unsigned stale_nonce_once; /* answer the next N authenticated requests with 438 */
	/* RFC 8489 §9.2.4: offer PASSWORD-ALGORITHMS (SHA-256, MD5) in 401/438
	 * and insist on them (400 otherwise) */
	bool offer_sha256;
	uint8_t key256[STUN_MAX_KEY_LEN];
	int key256_len;
	bool req_sha256;		/* the request being answered used SHA-256 */
	unsigned auth_sha256, auth_md5; /* requests that passed, by algorithm */
	unsigned allocates, refreshes, permissions, channel_binds, sends, datas, chandata_in,
		chandata_out, releases, errors_401, errors_438;
};

struct sim_ep {
	bool used;
	struct ice_agent *a;
	int nat; /* -1: public */
	struct netaddr base[SIM_MAX_BASES];
	unsigned base_stream[SIM_MAX_BASES], base_comp[SIM_MAX_BASES];
	unsigned nbases;
	uint64_t deadline;
	bool silent;		   /* drops everything it would send and receive */
	struct sim_ep *trickle_to; /* forward CANDIDATE events to this peer */
	/* what the events said */
	enum ice_agent_state state;
	unsigned selected_events[ICE_MAX_STREAMS][ICE_MAX_COMPONENTS + 1];
	struct ice_pair_info selected[ICE_MAX_STREAMS][ICE_MAX_COMPONENTS + 1];
	uint64_t consent_lost_at[ICE_MAX_STREAMS][ICE_MAX_COMPONENTS + 1];
	unsigned consent_lost, consent_regained, failed, role_changes, gathering_done, candidates,
		turn_errors;
	unsigned data_rx; /* ICE_RECV_DATA deliveries */
	unsigned stun_rx; /* STUN datagrams that reached it */
};

struct sim {
	uint64_t now;
	uint32_t latency_ms;
	unsigned loss_pct, dup_pct; /* 0..100 */
	uint64_t rng;
	struct sim_pkt **q;
	unsigned nq, capq;
	struct sim_ep eps[SIM_MAX_EPS];
	struct sim_nat nats[SIM_MAX_NATS];
	unsigned nnats;
	bool stun_on;
	struct netaddr stun_addr;
	unsigned stun_requests;
	struct sim_turn turn;
	unsigned delivered, lost, duplicated, undeliverable;
};

SIM_FN uint32_t sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 11);
}

SIM_FN struct netaddr sim_addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	if (netaddr_from_str(&a, ip, port))
		abort();
	return a;
}

SIM_FN void sim_init(struct sim *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->latency_ms = 10;
	s->rng = seed ? seed : 88172645463325252ull;
	s->now = 1000;
}

SIM_FN void sim_free(struct sim *s)
{
	for (unsigned i = 0; i < s->nq; i++)
		free(s->q[i]);
	free(s->q);
	for (unsigned i = 0; i < SIM_MAX_EPS; i++)
		ice_agent_free(s->eps[i].a);
	memset(s, 0, sizeof(*s));
}

SIM_FN int sim_add_nat(struct sim *s, const char *pub_ip, const char *inside_net, unsigned prefix,
		       enum sim_mapping m, enum sim_filter f)
{
	struct sim_nat *n = &s->nats[s->nnats];
	struct netaddr in = sim_addr(inside_net, 0);

	n->pub = sim_addr(pub_ip, 0);
	n->inside_net = ntohl(in.in.sin_addr.s_addr);
	n->inside_mask = prefix ? ~0u << (32 - prefix) : 0;
	n->mapping = m;
	n->filter = f;
	n->next_port = 40000;
	return (int)s->nnats++;
}

SIM_FN void sim_enable_stun(struct sim *s, const char *ip, uint16_t port)
{
	s->stun_on = true;
	s->stun_addr = sim_addr(ip, port);
}

SIM_FN void sim_enable_turn(struct sim *s, const char *ip, uint16_t port, const char *user,
			    const char *pass)
{
	struct sim_turn *t = &s->turn;

	t->on = true;
	t->addr = sim_addr(ip, port);
	t->user = user;
	t->pass = pass;
	t->realm = "sim.example";
	snprintf(t->nonce, sizeof(t->nonce), "nonce-%u", t->nonce_gen);
	t->key_len = stun_key_long_term(STUN_PASSWORD_ALG_MD5, user, t->realm, pass, t->key);
	t->key256_len =
		stun_key_long_term(STUN_PASSWORD_ALG_SHA256, user, t->realm, pass, t->key256);
	t->next_relay_port = 50000;
}

/* An endpoint with one agent; bases are added with sim_ep_add_base. */
SIM_FN struct sim_ep *sim_ep_new(struct sim *s, unsigned idx, const struct ice_config *cfg, int nat)
{
	struct sim_ep *e = &s->eps[idx];

	memset(e, 0, sizeof(*e));
	e->used = true;
	e->nat = nat;
	e->deadline = UINT64_MAX;
	if (ice_agent_new(&e->a, cfg))
		abort();
	return e;
}

SIM_FN int sim_ep_add_base(struct sim_ep *e, unsigned stream, unsigned comp, const char *ip,
			   uint16_t port)
{
	e->base[e->nbases] = sim_addr(ip, port);
	e->base_stream[e->nbases] = stream;
	e->base_comp[e->nbases] = comp;
	return ice_agent_add_host(e->a, stream, comp, &e->base[e->nbases++], 65535);
}

SIM_FN void sim_push(struct sim *s, const struct netaddr *src, const struct netaddr *dst,
		     const uint8_t *buf, size_t len, uint64_t at)
{
	struct sim_pkt *p;

	if (len > SIM_PKT_MAX)
		return;
	if (s->nq == s->capq) {
		s->capq = s->capq ? s->capq * 2 : 64;
		s->q = realloc(s->q, s->capq * sizeof(*s->q));
		if (!s->q)
			abort();
	}
	p = malloc(sizeof(*p));
	if (!p)
		abort();
	p->at = at;
	p->src = *src;
	p->dst = *dst;
	p->len = len;
	memcpy(p->buf, buf, len);
	s->q[s->nq++] = p;
}

/* A datagram leaves a host: loss, duplication and latency apply once. */
SIM_FN void sim_send(struct sim *s, const struct netaddr *src, const struct netaddr *dst,
		     const uint8_t *buf, size_t len)
{
	if (s->loss_pct && sim_rand(s) % 100 < s->loss_pct) {
		s->lost++;
		return;
	}
	sim_push(s, src, dst, buf, len, s->now + s->latency_ms);
	if (s->dup_pct && sim_rand(s) % 100 < s->dup_pct) {
		s->duplicated++;
		sim_push(s, src, dst, buf, len, s->now + s->latency_ms + 1);
	}
}

static bool sim_inside(const struct sim_nat *n, const struct netaddr *a)
{
	return netaddr_family(a) == AF_INET &&
	       (ntohl(a->in.sin_addr.s_addr) & n->inside_mask) == n->inside_net;
}

static struct sim_nat_map *sim_nat_out(struct sim *s, struct sim_nat *n, const struct netaddr *src,
				       const struct netaddr *dst)
{
	struct sim_nat_map *m = NULL;

	for (unsigned i = 0; i < n->nmaps; i++) {
		struct sim_nat_map *x = &n->maps[i];

		if (netaddr_equal(&x->inside, src) &&
		    (n->mapping == SIM_MAP_EI || netaddr_equal(&x->remote, dst))) {
			m = x;
			break;
		}
	}
	if (!m) {
		if (n->nmaps >= SIM_MAX_MAPPINGS)
			return NULL;
		m = &n->maps[n->nmaps++];
		memset(m, 0, sizeof(*m));
		m->inside = *src;
		m->remote = *dst;
		m->port = n->next_port++;
	}
	for (unsigned i = 0; i < m->nsent; i++)
		if (netaddr_equal(&m->sent[i], dst))
			return m;
	if (m->nsent < SIM_MAX_SENT)
		m->sent[m->nsent++] = *dst;
	return m;
}

static struct sim_nat_map *sim_nat_in(struct sim_nat *n, const struct netaddr *src, uint16_t port)
{
	for (unsigned i = 0; i < n->nmaps; i++) {
		struct sim_nat_map *m = &n->maps[i];

		if (m->port != port)
			continue;
		if (n->filter == SIM_FILTER_EI)
			return m;
		for (unsigned k = 0; k < m->nsent; k++) {
			if (n->filter == SIM_FILTER_AD && netaddr_same_ip(&m->sent[k], src))
				return m;
			if (n->filter == SIM_FILTER_APD && netaddr_equal(&m->sent[k], src))
				return m;
		}
		return NULL;
	}
	return NULL;
}

/* ---- STUN server ----------------------------------------------------------- */

static void sim_stun_server(struct sim *s, const struct netaddr *src, const uint8_t *buf,
			    size_t len)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t out[256];
	int n;

	if (stun_parse(&m, buf, len) < 0 || m.cls != STUN_CLASS_REQUEST ||
	    m.method != STUN_METHOD_BINDING)
		return;
	s->stun_requests++;
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	if (n > 0)
		sim_send(s, &s->stun_addr, src, out, (size_t)n);
}

/* ---- TURN server ----------------------------------------------------------- */

static struct sim_turn_alloc *sim_turn_find(struct sim *s, const struct netaddr *client)
{
	for (unsigned i = 0; i < SIM_MAX_ALLOCS; i++)
		if (s->turn.allocs[i].used && netaddr_equal(&s->turn.allocs[i].client, client))
			return &s->turn.allocs[i];
	return NULL;
}

static bool sim_turn_permitted(const struct sim *s, const struct sim_turn_alloc *al,
			       const struct netaddr *peer)
{
	for (unsigned i = 0; i < al->nperms; i++)
		if (netaddr_same_ip(&al->perms[i], peer) && al->perm_expiry[i] > s->now)
			return true;
	return false;
}

static void sim_turn_permit(struct sim *s, struct sim_turn_alloc *al, const struct netaddr *peer)
{
	for (unsigned i = 0; i < al->nperms; i++)
		if (netaddr_same_ip(&al->perms[i], peer)) {
			al->perm_expiry[i] = s->now + 300000;
			return;
		}
	if (al->nperms < SIM_MAX_TURN_PEERS) {
		al->perms[al->nperms] = *peer;
		al->perm_expiry[al->nperms++] = s->now + 300000;
	}
}

static void sim_turn_reply(struct sim *s, const struct netaddr *client, struct stun_builder *b,
			   bool auth)
{
	int n;

	if (auth && s->turn.req_sha256)
		stun_build_integrity_sha256(b, s->turn.key256, (size_t)s->turn.key256_len);
	else if (auth)
		stun_build_integrity(b, s->turn.key, (size_t)s->turn.key_len);
	stun_build_fingerprint(b);
	n = stun_build_finish(b);
	if (n > 0)
		sim_send(s, &s->turn.addr, client, b->buf, (size_t)n);
}

static void sim_turn_error(struct sim *s, const struct netaddr *client, const struct stun_msg *m,
			   int code)
{
	struct stun_builder b;
	uint8_t out[512];

	stun_build_init(&b, out, sizeof(out), m->method, STUN_CLASS_ERROR, m->tid);
	stun_build_error(&b, code, stun_error_reason(code));
	if (code == STUN_ERROR_UNAUTHORIZED || code == STUN_ERROR_STALE_NONCE) {
		stun_build_string(&b, STUN_ATTR_REALM, s->turn.realm);
		stun_build_string(&b, STUN_ATTR_NONCE, s->turn.nonce);
		if (s->turn.offer_sha256) {
			static const uint16_t algs[] = {STUN_PASSWORD_ALG_SHA256,
							STUN_PASSWORD_ALG_MD5};

			stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, 2);
		}
	}
	sim_turn_reply(s, client, &b, false);
}

static void sim_turn_client_msg(struct sim *s, const struct netaddr *client, const uint8_t *buf,
				size_t len)
{
	struct sim_turn *t = &s->turn;
	struct sim_turn_alloc *al = sim_turn_find(s, client);
	const struct stun_attr *a;
	struct stun_builder b;
	struct stun_msg m;
	struct netaddr peer;
	uint8_t out[SIM_PKT_MAX];
	char nonce[64], user[128];
	uint32_t lifetime = 600;

	if (len && buf[0] >= 0x40 && buf[0] <= 0x4f) {
		uint16_t ch, dlen;
		const uint8_t *data;

		if (!al || channel_data_parse(buf, len, &ch, &data, &dlen) < 0)
			return;
		for (unsigned i = 0; i < al->nchan; i++)
			if (al->chan[i] == ch) {
				t->chandata_in++;
				sim_send(s, &al->relay, &al->chan_peer[i], data, dlen);
			}
		return;
	}
	if (stun_parse(&m, buf, len) < 0)
		return;
	if (m.cls == STUN_CLASS_INDICATION && m.method == STUN_METHOD_SEND) {
		const struct stun_attr *pa = stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS);
		const struct stun_attr *da = stun_msg_find(&m, STUN_ATTR_DATA);

		if (!al || !pa || !da || stun_attr_get_xor_addr(&m, pa, &peer) ||
		    !sim_turn_permitted(s, al, &peer))
			return;
		t->sends++;
		sim_send(s, &al->relay, &peer, stun_attr_value(&m, da), da->len);
		return;
	}
	if (m.cls != STUN_CLASS_REQUEST)
		return;
	/* Long-term credentials (RFC 8489 §9.2.4). */
	a = stun_msg_find(&m, STUN_ATTR_USERNAME);
	if ((m.integrity < 0 && m.integrity_sha256 < 0) || !a) {
		t->errors_401++;
		sim_turn_error(s, client, &m, STUN_ERROR_UNAUTHORIZED);
		return;
	}
	t->req_sha256 = false;
	if (t->offer_sha256) {
		/* §9.2.4: both attributes, the list as offered, SHA-256 picked
		 * (the first of ours), and MESSAGE-INTEGRITY-SHA256. */
		const struct stun_attr *pa = stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS);
		const struct stun_attr *pb = stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHM);
		uint16_t algs[4], alg;
		size_t n, one;

		if (!pa || !pb || stun_attr_get_password_algs(&m, pa, algs, 4, &n) || n != 2 ||
		    algs[0] != STUN_PASSWORD_ALG_SHA256 || algs[1] != STUN_PASSWORD_ALG_MD5 ||
		    stun_attr_get_password_algs(&m, pb, &alg, 1, &one) ||
		    alg != STUN_PASSWORD_ALG_SHA256 || m.integrity_sha256 < 0) {
			sim_turn_error(s, client, &m, STUN_ERROR_BAD_REQUEST);
			return;
		}
		t->req_sha256 = true;
	}
	if (stun_attr_get_string(&m, a, user, sizeof(user)) || strcmp(user, t->user) ||
	    stun_check_integrity(&m, t->req_sha256 ? t->key256 : t->key,
				 (size_t)(t->req_sha256 ? t->key256_len : t->key_len))) {
		t->errors_401++;
		sim_turn_error(s, client, &m, STUN_ERROR_UNAUTHORIZED);
		return;
	}
	if (t->req_sha256)
		t->auth_sha256++;
	else
		t->auth_md5++;
	a = stun_msg_find(&m, STUN_ATTR_NONCE);
	if (!a || stun_attr_get_string(&m, a, nonce, sizeof(nonce)) || strcmp(nonce, t->nonce) ||
	    t->stale_nonce_once) {
		if (t->stale_nonce_once) {
			t->stale_nonce_once--;
			snprintf(t->nonce, sizeof(t->nonce), "nonce-%u", ++t->nonce_gen);
		}
		t->errors_438++;
		sim_turn_error(s, client, &m, STUN_ERROR_STALE_NONCE);
		return;
	}
	stun_build_init(&b, out, sizeof(out), m.method, STUN_CLASS_SUCCESS, m.tid);
	switch (m.method) {
	case STUN_METHOD_ALLOCATE:
		if (al) {
			sim_turn_error(s, client, &m, STUN_ERROR_ALLOCATION_MISMATCH);
			return;
		}
		for (unsigned i = 0; i < SIM_MAX_ALLOCS && !al; i++)
			if (!t->allocs[i].used)
				al = &t->allocs[i];
		if (!al) {
			sim_turn_error(s, client, &m, STUN_ERROR_ALLOCATION_QUOTA);
			return;
		}
		memset(al, 0, sizeof(*al));
		al->used = true;
		al->client = *client;
		al->relay = t->addr;
		netaddr_set_port(&al->relay, t->next_relay_port++);
		al->expiry = s->now + 600000;
		t->allocates++;
		stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &al->relay);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, client);
		stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
		break;
	case STUN_METHOD_REFRESH:
		if (!al) {
			sim_turn_error(s, client, &m, STUN_ERROR_ALLOCATION_MISMATCH);
			return;
		}
		a = stun_msg_find(&m, STUN_ATTR_LIFETIME);
		if (a)
			stun_attr_get_u32(&m, a, &lifetime);
		t->refreshes++;
		if (!lifetime) {
			t->releases++;
			al->used = false;
		} else {
			al->expiry = s->now + (uint64_t)lifetime * 1000;
		}
		stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
		a = stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS);
		if (!al || !a || stun_attr_get_xor_addr(&m, a, &peer)) {
			sim_turn_error(s, client, &m, STUN_ERROR_BAD_REQUEST);
			return;
		}
		t->permissions++;
		sim_turn_permit(s, al, &peer);
		break;
	case STUN_METHOD_CHANNEL_BIND: {
		const struct stun_attr *ca = stun_msg_find(&m, STUN_ATTR_CHANNEL_NUMBER);
		uint16_t ch;
		bool found = false;

		a = stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS);
		if (!al || !a || !ca || stun_attr_get_xor_addr(&m, a, &peer) ||
		    stun_attr_get_channel(&m, ca, &ch)) {
			sim_turn_error(s, client, &m, STUN_ERROR_BAD_REQUEST);
			return;
		}
		for (unsigned i = 0; i < al->nchan; i++)
			if (al->chan[i] == ch)
				found = true;
		if (!found && al->nchan < SIM_MAX_TURN_PEERS) {
			al->chan[al->nchan] = ch;
			al->chan_peer[al->nchan++] = peer;
		}
		t->channel_binds++;
		sim_turn_permit(s, al, &peer);
		break;
	}
	default:
		sim_turn_error(s, client, &m, STUN_ERROR_BAD_REQUEST);
		return;
	}
	sim_turn_reply(s, client, &b, true);
}

/* A peer's datagram reached a relayed address. */
static bool sim_turn_relay_in(struct sim *s, const struct netaddr *src, const struct netaddr *dst,
			      const uint8_t *buf, size_t len)
{
	struct sim_turn_alloc *al = NULL;
	struct stun_builder b;
	uint8_t out[SIM_PKT_MAX], tid[STUN_TID_LEN] = {7};

	for (unsigned i = 0; i < SIM_MAX_ALLOCS && !al; i++)
		if (s->turn.allocs[i].used && netaddr_equal(&s->turn.allocs[i].relay, dst))
			al = &s->turn.allocs[i];
	if (!al)
		return false;
	if (!sim_turn_permitted(s, al, src))
		return true; /* RFC 8656 §10: no permission, silently dropped */
	for (unsigned i = 0; i < al->nchan; i++)
		if (netaddr_equal(&al->chan_peer[i], src)) {
			int n = channel_data_build(out, sizeof(out), al->chan[i], buf, len, false);

			if (n > 0) {
				s->turn.chandata_out++;
				sim_send(s, &s->turn.addr, &al->client, out, (size_t)n);
			}
			return true;
		}
	stun_build_init(&b, out, sizeof(out), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, src);
	stun_build_attr(&b, STUN_ATTR_DATA, buf, len);
	{
		int n = stun_build_finish(&b);

		if (n > 0) {
			s->turn.datas++;
			sim_send(s, &s->turn.addr, &al->client, out, (size_t)n);
		}
	}
	return true;
}

/* ---- routing ------------------------------------------------------------------ */

static struct sim_ep *sim_ep_by_base(struct sim *s, const struct netaddr *a, unsigned *bi)
{
	for (unsigned i = 0; i < SIM_MAX_EPS; i++) {
		struct sim_ep *e = &s->eps[i];

		if (!e->used)
			continue;
		for (unsigned b = 0; b < e->nbases; b++)
			if (netaddr_equal(&e->base[b], a)) {
				if (bi)
					*bi = b;
				return e;
			}
	}
	return NULL;
}

static void sim_deliver_ep(struct sim *s, struct sim_ep *e, const struct netaddr *src,
			   const struct netaddr *dst, const uint8_t *buf, size_t len)
{
	struct ice_recv_result res;
	int v;

	if (e->silent)
		return;
	s->delivered++;
	if (len && buf[0] <= 3)
		e->stun_rx++;
	v = ice_agent_recv(e->a, s->now, dst, src, buf, len, &res);
	if (v == ICE_RECV_DATA)
		e->data_rx++;
}

/*
 * Move a datagram one hop at s->now. from_nat: the NAT whose inside it
 * comes from (-1: public or already translated).
 */
static void sim_route(struct sim *s, struct netaddr src, struct netaddr dst, const uint8_t *buf,
		      size_t len, int from_nat)
{
	struct sim_ep *e;

	/* Outbound through the sender's NAT unless the destination is a
	 * neighbour on the same private network. */
	if (from_nat >= 0) {
		struct sim_nat *n = &s->nats[from_nat];

		if (!sim_inside(n, &dst)) {
			struct sim_nat_map *m = sim_nat_out(s, n, &src, &dst);

			if (!m)
				return;
			src = n->pub;
			netaddr_set_port(&src, m->port);
		}
	}
	/* Private addresses are reachable only from their own network. */
	e = sim_ep_by_base(s, &dst, NULL);
	if (e && (e->nat < 0 || e->nat == from_nat)) {
		sim_deliver_ep(s, e, &src, &dst, buf, len);
		return;
	}
	for (unsigned i = 0; i < s->nnats; i++) {
		struct sim_nat *n = &s->nats[i];
		struct sim_nat_map *m;

		if (!netaddr_same_ip(&n->pub, &dst))
			continue;
		m = sim_nat_in(n, &src, netaddr_port(&dst));
		if (!m) {
			n->dropped_inbound++;
			return;
		}
		e = sim_ep_by_base(s, &m->inside, NULL);
		if (e)
			sim_deliver_ep(s, e, &src, &m->inside, buf, len);
		return;
	}
	if (s->stun_on && netaddr_equal(&dst, &s->stun_addr)) {
		sim_stun_server(s, &src, buf, len);
		return;
	}
	if (s->turn.on && netaddr_equal(&dst, &s->turn.addr)) {
		sim_turn_client_msg(s, &src, buf, len);
		return;
	}
	if (s->turn.on && netaddr_same_ip(&dst, &s->turn.addr) &&
	    sim_turn_relay_in(s, &src, &dst, buf, len))
		return;
	s->undeliverable++;
}

/* ---- driving -------------------------------------------------------------------- */

SIM_FN void sim_ep_drain(struct sim *s, struct sim_ep *e)
{
	struct ice_transmit tx;
	struct ice_event ev;
	uint8_t buf[SIM_PKT_MAX];

	while (ice_agent_poll_transmit(e->a, &tx)) {
		int n = ice_transmit_flatten(&tx, buf, sizeof(buf));

		if (n > 0 && !e->silent)
			sim_send(s, &tx.local, &tx.remote, buf, (size_t)n);
	}
	while (ice_agent_poll_event(e->a, &ev)) {
		switch (ev.type) {
		case ICE_EVENT_CANDIDATE:
			e->candidates++;
			if (e->trickle_to)
				ice_agent_add_remote_candidate(e->trickle_to->a, ev.stream,
							       &ev.candidate);
			break;
		case ICE_EVENT_GATHERING_DONE:
			e->gathering_done++;
			break;
		case ICE_EVENT_STATE:
			e->state = ev.state;
			break;
		case ICE_EVENT_SELECTED_PAIR:
			e->selected_events[ev.stream][ev.component]++;
			e->selected[ev.stream][ev.component] = ev.pair;
			break;
		case ICE_EVENT_CONSENT_LOST:
			e->consent_lost++;
			e->consent_lost_at[ev.stream][ev.component] = s->now;
			break;
		case ICE_EVENT_CONSENT_REGAINED:
			e->consent_regained++;
			break;
		case ICE_EVENT_ROLE_CHANGED:
			e->role_changes++;
			break;
		case ICE_EVENT_TURN_ERROR:
			e->turn_errors++;
			break;
		case ICE_EVENT_FAILED:
			e->failed++;
			break;
		}
	}
	e->deadline = ice_agent_next_deadline(e->a);
}

SIM_FN void sim_drain_all(struct sim *s)
{
	for (unsigned i = 0; i < SIM_MAX_EPS; i++)
		if (s->eps[i].used)
			sim_ep_drain(s, &s->eps[i]);
}

/* Advance one step: deliver what is due, tick who is due. False when idle
 * past `until`. */
SIM_FN bool sim_step(struct sim *s, uint64_t until)
{
	uint64_t next = UINT64_MAX;

	sim_drain_all(s);
	for (unsigned i = 0; i < s->nq; i++)
		if (s->q[i]->at < next)
			next = s->q[i]->at;
	for (unsigned i = 0; i < SIM_MAX_EPS; i++)
		if (s->eps[i].used && s->eps[i].deadline < next)
			next = s->eps[i].deadline;
	if (next > until) {
		s->now = until;
		return false;
	}
	if (next > s->now)
		s->now = next;
	for (unsigned i = 0; i < s->nq;) {
		struct sim_pkt *p = s->q[i];

		if (p->at > s->now) {
			i++;
			continue;
		}
		s->q[i] = s->q[--s->nq];
		{
			struct sim_ep *e = sim_ep_by_base(s, &p->src, NULL);
			int nat = e ? e->nat : -1;

			sim_route(s, p->src, p->dst, p->buf, p->len, nat);
		}
		free(p);
		sim_drain_all(s);
	}
	for (unsigned i = 0; i < SIM_MAX_EPS; i++) {
		struct sim_ep *e = &s->eps[i];

		if (e->used && e->deadline <= s->now) {
			ice_agent_tick(e->a, s->now);
			sim_ep_drain(s, e);
		}
	}
	return true;
}

/* Run until pred(s, ctx) holds or virtual time passes until. */
SIM_FN bool sim_run_until(struct sim *s, uint64_t until, bool (*pred)(struct sim *, void *),
			  void *ctx)
{
	unsigned guard = 0;

	while (!(pred && pred(s, ctx))) {
		if (!sim_step(s, until))
			return pred ? pred(s, ctx) : true;
		if (++guard > 5000000)
			abort(); /* a livelock in virtual time is a bug */
	}
	return true;
}

/* Offer/answer: credentials and every local candidate of stream 0..n-1,
 * then end-of-candidates (non-trickle) unless trickle. */
SIM_FN void sim_signal(struct sim_ep *from, struct sim_ep *to, unsigned nstreams, bool eoc)
{
	struct ice_candidate c[ICE_MAX_LOCAL_CANDIDATES];

	for (unsigned st = 0; st < nstreams; st++) {
		const char *u, *p;
		int n;

		ice_agent_local_credentials(from->a, st, &u, &p);
		ice_agent_set_remote_credentials(to->a, st, u, p);
		n = ice_agent_local_candidates(from->a, st, c, ICE_MAX_LOCAL_CANDIDATES);
		for (int i = 0; i < n && i < ICE_MAX_LOCAL_CANDIDATES; i++)
			ice_agent_add_remote_candidate(to->a, st, &c[i]);
		if (eoc)
			ice_agent_remote_end_of_candidates(to->a, st);
	}
}

#endif
