// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sans-I/O TURN client (RFC 8656 over UDP). One allocation, its
 * permissions and channels; every request is a STUN transaction
 * retransmitted per RFC 8489 §6.2.1 (RTO doubling, Rc sends, Rm*RTO last
 * wait) and authenticated with the long-term mechanism (§9.2): the first
 * Allocate goes without credentials, the 401 brings REALM and NONCE (and,
 * from an RFC 8489 server, PASSWORD-ALGORITHMS: then the first algorithm
 * we support is used, both attributes go in every request and integrity is
 * MESSAGE-INTEGRITY-SHA256 only, §9.2.5), and a 438 (stale nonce) on any
 * request brings a fresh NONCE to retry with.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/demux.h"
#include "icepath/stun.h"
#include "icepath/turn_client.h"
#include "icepath/compiler.h"
#include "ice_queue.h"

struct turn_txn {
	bool used;
	uint8_t tid[STUN_TID_LEN];
	uint16_t method;
	int peer;	   /* index into peers[] for CreatePermission/ChannelBind, else -1 */
	uint32_t lifetime; /* Refresh: requested lifetime */
	unsigned sent;
	uint32_t rto;
	uint64_t next_ms;
	size_t len;
	uint8_t msg[ICE_TX_HEAD_MAX];
};

struct turn_peer {
	struct netaddr addr;
	bool perm_wanted, perm_ok, perm_pending;
	uint64_t perm_refresh_ms;
	bool chan_wanted, chan_ok, chan_pending;
	uint64_t chan_refresh_ms;
};

struct turn_client {
	struct turn_client_config cfg;
	char username[STUN_USERNAME_MAX];
	char password[256];
	char software[128];
	char realm[TURN_REALM_MAX];
	char nonce[TURN_NONCE_MAX];
	uint8_t key[STUN_MAX_KEY_LEN];
	int key_len; /* 0: no credentials learnt yet */
	/* PASSWORD-ALGORITHMS as the server sent it (echoed verbatim), and the
	 * algorithm picked from it; algs_len 0: a pre-RFC 8489 server, MD5 */
	uint8_t algs[TURN_PASSWORD_ALGS_MAX];
	size_t algs_len;
	uint16_t alg;
	enum turn_alloc_state state;
	struct netaddr relayed, mapped;
	uint32_t lifetime_s;
	uint64_t refresh_ms; /* next Refresh, UINT64_MAX when none */
	unsigned stale_retries;
	struct turn_txn txns[TURN_MAX_TXNS];
	struct turn_peer peers[TURN_MAX_PEERS];
	unsigned npeers;
	struct ice_queue out; /* requests to send to the server */
	struct ice_queue events;
};

static const char *const state_names[] = {
	[TURN_ALLOC_STATE_IDLE] = "idle",
	[TURN_ALLOC_STATE_ALLOCATING] = "allocating",
	[TURN_ALLOC_STATE_ALLOCATED] = "allocated",
	[TURN_ALLOC_STATE_FAILED] = "failed",
	[TURN_ALLOC_STATE_RELEASING] = "releasing",
	[TURN_ALLOC_STATE_RELEASED] = "released",
};

const char *turn_alloc_state_str(enum turn_alloc_state s)
{
	if ((unsigned)s < ARRAY_SIZE(state_names))
		return state_names[s];
	return "unknown";
}

__attribute__((format(printf, 3, 4))) static void
turn_log(const struct turn_client *tc, enum ice_log_level lvl, const char *fmt, ...)
{
	char srv[NETADDR_STRLEN], msg[512];
	int n;
	va_list ap;

	if (!tc->cfg.log)
		return;
	n = snprintf(msg, sizeof(msg), "turn %s: ", netaddr_str(&tc->cfg.server, srv, sizeof(srv)));
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	tc->cfg.log(tc->cfg.log_ctx, lvl, msg);
}

/* "401 Unauthorized" / "timed out" for the log. */
static const char *turn_error_str(int error, char *buf, size_t cap)
{
	if (error == -ETIMEDOUT)
		return "no answer (timed out)";
	if (error < 0)
		snprintf(buf, cap, "%s", strerror(-error));
	else
		snprintf(buf, cap, "%d %s", error, stun_error_reason(error));
	return buf;
}

static void turn_push_event(struct turn_client *tc, const struct turn_event *ev)
{
	/* Out of memory loses the event only; the state stays queryable. */
	ice_queue_push(&tc->events, ev, sizeof(*ev));
}

/* The one transition function of the allocation machine. */
static void turn_set_state(struct turn_client *tc, enum turn_alloc_state to, int error)
{
#define B(x) (1u << TURN_ALLOC_STATE_##x)
	static const unsigned legal[] = {
		[TURN_ALLOC_STATE_IDLE] = B(ALLOCATING) | B(RELEASED),
		[TURN_ALLOC_STATE_ALLOCATING] = B(ALLOCATED) | B(FAILED) | B(RELEASED),
		[TURN_ALLOC_STATE_ALLOCATED] = B(RELEASING) | B(FAILED),
		[TURN_ALLOC_STATE_FAILED] = B(ALLOCATING) | B(RELEASED),
		[TURN_ALLOC_STATE_RELEASING] = B(RELEASED),
		[TURN_ALLOC_STATE_RELEASED] = 0,
	};
#undef B
	struct turn_event ev = {0};
	char why[64];

	if (tc->state == to)
		return;
	if (!(legal[tc->state] & (1u << to))) {
		/* the callers only ask for legal moves; this guards them */
		turn_log(tc, ICE_LOG_ERROR, "refused move %s -> %s",
			 turn_alloc_state_str(tc->state), turn_alloc_state_str(to));
		return;
	}
	if (to == TURN_ALLOC_STATE_FAILED)
		turn_log(tc, ICE_LOG_WARN, "allocation %s -> failed: %s",
			 turn_alloc_state_str(tc->state), turn_error_str(error, why, sizeof(why)));
	else
		turn_log(tc, ICE_LOG_INFO, "allocation %s -> %s", turn_alloc_state_str(tc->state),
			 turn_alloc_state_str(to));
	tc->state = to;
	switch (to) {
	case TURN_ALLOC_STATE_ALLOCATED:
		ev.type = TURN_EVENT_ALLOCATED;
		break;
	case TURN_ALLOC_STATE_FAILED:
		ev.type = TURN_EVENT_FAILED;
		ev.error = error;
		tc->refresh_ms = UINT64_MAX;
		break;
	case TURN_ALLOC_STATE_RELEASED:
		ev.type = TURN_EVENT_RELEASED;
		tc->refresh_ms = UINT64_MAX;
		break;
	default:
		return;
	}
	turn_push_event(tc, &ev);
}

static int turn_queue(struct turn_client *tc, const uint8_t *buf, size_t len)
{
	return ice_queue_push_datagram(&tc->out, &tc->cfg.base, &tc->cfg.server, buf, len);
}

int turn_client_new(struct turn_client **out, const struct turn_client_config *cfg)
{
	struct turn_client *tc;

	if (!out || !cfg || !cfg->random || !cfg->username || !cfg->password ||
	    strlen(cfg->username) >= STUN_USERNAME_MAX || strlen(cfg->password) >= 256)
		return -EINVAL;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	tc->cfg = *cfg;
	strcpy(tc->username, cfg->username);
	strcpy(tc->password, cfg->password);
	if (cfg->software)
		snprintf(tc->software, sizeof(tc->software), "%s", cfg->software);
	tc->cfg.username = tc->username;
	tc->cfg.password = tc->password;
	tc->cfg.software = tc->software[0] ? tc->software : NULL;
	if (!tc->cfg.rto_ms)
		tc->cfg.rto_ms = ICE_STUN_RTO_MS;
	if (!tc->cfg.rc)
		tc->cfg.rc = ICE_STUN_RC;
	if (!tc->cfg.rm)
		tc->cfg.rm = ICE_STUN_RM;
	if (!tc->cfg.lifetime_s)
		tc->cfg.lifetime_s = TURN_LIFETIME_S;
	if (!tc->cfg.relayed_family)
		tc->cfg.relayed_family = netaddr_family(&tc->cfg.server);
	tc->refresh_ms = UINT64_MAX;
	ice_queue_init(&tc->out);
	ice_queue_init(&tc->events);
	*out = tc;
	return 0;
}

void turn_client_free(struct turn_client *tc)
{
	if (!tc)
		return;
	ice_queue_clear(&tc->out);
	ice_queue_clear(&tc->events);
	free(tc);
}

enum turn_alloc_state turn_client_state(const struct turn_client *tc)
{
	return tc->state;
}

const struct netaddr *turn_client_server(const struct turn_client *tc)
{
	return &tc->cfg.server;
}

const struct netaddr *turn_client_base(const struct turn_client *tc)
{
	return &tc->cfg.base;
}

int turn_client_relayed(const struct turn_client *tc, struct netaddr *relayed,
			struct netaddr *mapped)
{
	if (tc->state != TURN_ALLOC_STATE_ALLOCATED)
		return -ENOTCONN;
	if (relayed)
		*relayed = tc->relayed;
	if (mapped)
		*mapped = tc->mapped;
	return 0;
}

static struct turn_txn *turn_txn_alloc(struct turn_client *tc)
{
	for (unsigned i = 0; i < TURN_MAX_TXNS; i++)
		if (!tc->txns[i].used)
			return &tc->txns[i];
	return NULL;
}

/* Build and send a request of `method` (credentials added once known). */
static int turn_request(struct turn_client *tc, uint64_t now, uint16_t method, int peer,
			uint32_t lifetime)
{
	struct turn_txn *t = turn_txn_alloc(tc);
	struct stun_builder b;
	int len;

	if (!t)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	tc->cfg.random(t->tid, sizeof(t->tid), tc->cfg.random_ctx);
	stun_build_init(&b, t->msg, sizeof(t->msg), method, STUN_CLASS_REQUEST, t->tid);
	switch (method) {
	case STUN_METHOD_ALLOCATE:
		stun_build_transport(&b, TURN_PROTO_UDP);
		/* RFC 8656 §7.2: IPv4 is the default; ask for IPv6. The family
		 * byte, then 3 bytes RFFU (§18.8). */
		if (tc->cfg.relayed_family == AF_INET6)
			stun_build_u32(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
				       (uint32_t)TURN_FAMILY_IPV6 << 24);
		stun_build_u32(&b, STUN_ATTR_LIFETIME, tc->cfg.lifetime_s);
		break;
	case STUN_METHOD_REFRESH:
		stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &tc->peers[peer].addr);
		break;
	case STUN_METHOD_CHANNEL_BIND:
		stun_build_channel(&b, (uint16_t)(TURN_CHANNEL_MIN + peer));
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &tc->peers[peer].addr);
		break;
	}
	if (tc->cfg.software)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, tc->cfg.software);
	if (tc->key_len > 0) {
		stun_build_string(&b, STUN_ATTR_USERNAME, tc->username);
		stun_build_string(&b, STUN_ATTR_REALM, tc->realm);
		stun_build_string(&b, STUN_ATTR_NONCE, tc->nonce);
		if (tc->algs_len) {
			/* RFC 8489 §9.2.5: the server's list as it was, our pick,
			 * and MESSAGE-INTEGRITY-SHA256 only. */
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, tc->algs, tc->algs_len);
			stun_build_password_algs(&b, STUN_ATTR_PASSWORD_ALGORITHM, &tc->alg, 1);
			stun_build_integrity_sha256(&b, tc->key, (size_t)tc->key_len);
		} else {
			stun_build_integrity(&b, tc->key, (size_t)tc->key_len);
		}
	}
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	if (len < 0)
		return -EMSGSIZE;
	t->used = true;
	t->method = method;
	t->peer = peer;
	t->lifetime = lifetime;
	t->len = (size_t)len;
	t->sent = 1;
	t->rto = tc->cfg.rto_ms;
	t->next_ms = now + t->rto;
	return turn_queue(tc, t->msg, t->len);
}

int turn_client_allocate(struct turn_client *tc, uint64_t now_ms)
{
	int err;

	if (tc->state != TURN_ALLOC_STATE_IDLE && tc->state != TURN_ALLOC_STATE_FAILED)
		return -EALREADY;
	err = turn_request(tc, now_ms, STUN_METHOD_ALLOCATE, -1, 0);
	if (err)
		return err;
	turn_set_state(tc, TURN_ALLOC_STATE_ALLOCATING, 0);
	return 0;
}

int turn_client_release(struct turn_client *tc, uint64_t now_ms)
{
	int err;

	if (tc->state != TURN_ALLOC_STATE_ALLOCATED) {
		if (tc->state != TURN_ALLOC_STATE_RELEASING) {
			/* an Allocate in flight is abandoned, not failed later */
			for (unsigned i = 0; i < TURN_MAX_TXNS; i++)
				tc->txns[i].used = false;
			turn_set_state(tc, TURN_ALLOC_STATE_RELEASED, 0);
		}
		return 0;
	}
	/* Every other transaction is moot now. */
	for (unsigned i = 0; i < TURN_MAX_TXNS; i++)
		tc->txns[i].used = false;
	err = turn_request(tc, now_ms, STUN_METHOD_REFRESH, -1, 0);
	if (err) {
		turn_set_state(tc, TURN_ALLOC_STATE_RELEASED, 0);
		return err;
	}
	turn_set_state(tc, TURN_ALLOC_STATE_RELEASING, 0);
	tc->refresh_ms = UINT64_MAX;
	return 0;
}

static int turn_peer_find(const struct turn_client *tc, const struct netaddr *peer)
{
	for (unsigned i = 0; i < tc->npeers; i++)
		if (netaddr_equal(&tc->peers[i].addr, peer))
			return (int)i;
	return -1;
}

static int turn_peer_get(struct turn_client *tc, const struct netaddr *peer)
{
	int i = turn_peer_find(tc, peer);

	if (i >= 0)
		return i;
	if (tc->npeers >= TURN_MAX_PEERS)
		return -ENOSPC;
	memset(&tc->peers[tc->npeers], 0, sizeof(tc->peers[0]));
	tc->peers[tc->npeers].addr = *peer;
	return (int)tc->npeers++;
}

bool turn_client_permitted(const struct turn_client *tc, const struct netaddr *peer)
{
	/* Permissions are per IP address, any port (RFC 8656 §9). */
	for (unsigned i = 0; i < tc->npeers; i++)
		if (tc->peers[i].perm_ok && netaddr_same_ip(&tc->peers[i].addr, peer))
			return true;
	return false;
}

/* RFC 8656 §9: permissions are per IP address. Another entry (port) of
 * peer i's IP holds one, or is installing one, and keeps it refreshed. */
static bool turn_ip_covered(const struct turn_client *tc, int i)
{
	for (unsigned j = 0; j < tc->npeers; j++) {
		const struct turn_peer *q = &tc->peers[j];

		if ((int)j != i && q->perm_wanted &&
		    netaddr_same_ip(&q->addr, &tc->peers[i].addr) &&
		    (q->perm_ok || q->perm_pending || q->chan_pending))
			return true;
	}
	return false;
}

static int turn_peer_kick(struct turn_client *tc, int i, uint64_t now)
{
	struct turn_peer *p = &tc->peers[i];
	int err = 0;

	if (tc->state != TURN_ALLOC_STATE_ALLOCATED)
		return 0; /* sent once allocated */
	if (p->chan_wanted && !p->chan_ok && !p->chan_pending) {
		/* ChannelBind installs the permission too (RFC 8656 §12.2). */
		err = turn_request(tc, now, STUN_METHOD_CHANNEL_BIND, i, 0);
		p->chan_pending = !err;
	} else if (p->perm_wanted && !p->perm_ok && !p->perm_pending && !p->chan_pending &&
		   !turn_ip_covered(tc, i)) {
		err = turn_request(tc, now, STUN_METHOD_CREATE_PERMISSION, i, 0);
		p->perm_pending = !err;
	}
	return err;
}

static int turn_peer_want(struct turn_client *tc, const struct netaddr *peer, bool channel,
			  uint64_t now)
{
	int i;

	/* RFC 8656 §9.1: a peer of the relayed address's family (not the
	 * server's: an IPv6 server may relay IPv4 and the other way round). */
	if (netaddr_family(peer) != (netaddr_family(&tc->relayed) ? netaddr_family(&tc->relayed)
								 : tc->cfg.relayed_family))
		return -EAFNOSUPPORT;
	i = turn_peer_get(tc, peer);
	if (i < 0)
		return i;
	tc->peers[i].perm_wanted = true;
	tc->peers[i].chan_wanted |= channel;
	return turn_peer_kick(tc, i, now);
}

int turn_client_permit(struct turn_client *tc, const struct netaddr *peer, uint64_t now_ms)
{
	return turn_peer_want(tc, peer, false, now_ms);
}

int turn_client_bind_channel(struct turn_client *tc, const struct netaddr *peer, uint64_t now_ms)
{
	return turn_peer_want(tc, peer, true, now_ms);
}

static struct turn_txn *turn_txn_find(struct turn_client *tc, const uint8_t *tid)
{
	for (unsigned i = 0; i < TURN_MAX_TXNS; i++)
		if (tc->txns[i].used && !memcmp(tc->txns[i].tid, tid, STUN_TID_LEN))
			return &tc->txns[i];
	return NULL;
}

/*
 * RFC 8489 §9.2: a NONCE starting with the "nonce cookie" carries 24 bits of
 * STUN Security Features in the next 4 base64 characters. Bit 0 (password
 * algorithms) is the least significant one (erratum 6290 corrects the
 * prose). True if the cookie is there and says PASSWORD-ALGORITHMS is used.
 */
static bool turn_nonce_wants_algs(const char *nonce)
{
	static const char cookie[] = "obMatJos2";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *last;

	if (strncmp(nonce, cookie, sizeof(cookie) - 1) || strlen(nonce) < sizeof(cookie) + 3)
		return false;
	/* the 4th character holds the low 6 bits of the 24 */
	last = strchr(b64, nonce[sizeof(cookie) - 1 + 3]);
	return last && *last && ((last - b64) & 1);
}

/*
 * PASSWORD-ALGORITHMS of a 401/438 (RFC 8489 §9.2.5): keep it for echoing
 * and pick the first algorithm we support. 0, or -EPROTONOSUPPORT when it
 * lists none we know (no retry then), -EPROTO when malformed.
 */
static int turn_learn_algs(struct turn_client *tc, const struct stun_msg *m,
			   const struct stun_attr *pa)
{
	uint16_t algs[16];
	size_t n;

	if (pa->len > sizeof(tc->algs) || stun_attr_get_password_algs(m, pa, algs, 16, &n))
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (algs[i] != STUN_PASSWORD_ALG_SHA256 && algs[i] != STUN_PASSWORD_ALG_MD5)
			continue;
		memcpy(tc->algs, stun_attr_value(m, pa), pa->len);
		tc->algs_len = pa->len;
		tc->alg = algs[i];
		return 0;
	}
	return -EPROTONOSUPPORT;
}

/* 401/438: learn REALM/NONCE (and the algorithm) and derive the key. 0 if a
 * retry makes sense. */
static int turn_learn_auth(struct turn_client *tc, const struct stun_msg *m, int code)
{
	const struct stun_attr *realm = stun_msg_find(m, STUN_ATTR_REALM);
	const struct stun_attr *nonce = stun_msg_find(m, STUN_ATTR_NONCE);
	const struct stun_attr *pa = stun_msg_find(m, STUN_ATTR_PASSWORD_ALGORITHMS);
	bool had_key = tc->key_len > 0;
	uint16_t alg = tc->alg;
	int len, err;

	if (!nonce || stun_attr_get_string(m, nonce, tc->nonce, sizeof(tc->nonce)))
		return -EPROTO;
	/* §9.2.5: a nonce cookie announcing PASSWORD-ALGORITHMS without the
	 * attribute is a downgrade attempt: no retry. */
	if (!pa && turn_nonce_wants_algs(tc->nonce))
		return -EPROTO;
	if (code == STUN_ERROR_UNAUTHORIZED) {
		/* A 401 after we sent credentials means they are wrong. */
		if (had_key && !realm)
			return -EACCES;
		if (!realm || stun_attr_get_string(m, realm, tc->realm, sizeof(tc->realm)))
			return -EPROTO;
		if (had_key)
			return -EACCES;
		tc->algs_len = 0;
		tc->alg = STUN_PASSWORD_ALG_MD5;
		if (pa) {
			err = turn_learn_algs(tc, m, pa);
			if (err)
				return err;
		}
		len = stun_key_long_term(tc->alg, tc->username, tc->realm, tc->password, tc->key);
		if (len < 0)
			return -EINVAL;
		tc->key_len = len;
		return 0;
	}
	/* 438: a new nonce, same key; bounded so a broken server cannot loop us. */
	if (++tc->stale_retries > 4)
		return -EPROTO;
	if (realm)
		stun_attr_get_string(m, realm, tc->realm, sizeof(tc->realm));
	if (pa && tc->key_len > 0) {
		/* The list goes with the nonce; the key cannot change here. */
		err = turn_learn_algs(tc, m, pa);
		if (err || tc->alg != alg)
			return err ? err : -EPROTO;
	}
	return tc->key_len > 0 ? 0 : -EPROTO;
}

int turn_client_password_alg(const struct turn_client *tc)
{
	return tc->key_len > 0 ? tc->alg : 0;
}

static void turn_txn_failed(struct turn_client *tc, struct turn_txn *t, int error, uint64_t now)
{
	struct turn_event ev = {0};
	struct turn_peer *p;
	char peer[NETADDR_STRLEN], why[64];

	t->used = false;
	switch (t->method) {
	case STUN_METHOD_ALLOCATE:
		turn_set_state(tc, TURN_ALLOC_STATE_FAILED, error);
		break;
	case STUN_METHOD_REFRESH:
		turn_set_state(tc,
			       t->lifetime ? TURN_ALLOC_STATE_FAILED : TURN_ALLOC_STATE_RELEASED,
			       error);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
	case STUN_METHOD_CHANNEL_BIND:
		p = &tc->peers[t->peer];
		turn_log(tc, ICE_LOG_WARN, "%s for %s refused: %s", stun_method_str(t->method),
			 netaddr_str(&p->addr, peer, sizeof(peer)),
			 turn_error_str(error, why, sizeof(why)));
		p->perm_pending = p->chan_pending = false;
		p->perm_wanted = p->chan_wanted = false; /* no retry storm */
		/* a refused refresh ends it too: left "ok", its refresh
		 * deadline (already past) would resend at every tick */
		p->perm_ok = p->chan_ok = false;
		ev.type = TURN_EVENT_PERMISSION_FAILED;
		ev.error = error;
		ev.peer = p->addr;
		turn_push_event(tc, &ev);
		/* other ports of that IP were counting on this one: they ask
		 * for themselves now (once each) */
		for (unsigned j = 0; j < tc->npeers; j++)
			if (&tc->peers[j] != p && netaddr_same_ip(&tc->peers[j].addr, &p->addr))
				turn_peer_kick(tc, (int)j, now);
		break;
	}
}

static void turn_schedule_refresh(struct turn_client *tc, uint64_t now, uint32_t lifetime)
{
	uint32_t margin =
		lifetime > 2 * TURN_REFRESH_MARGIN_S ? TURN_REFRESH_MARGIN_S : lifetime / 2;

	tc->lifetime_s = lifetime;
	tc->refresh_ms = now + (uint64_t)(lifetime - margin) * 1000;
}

static void turn_on_success(struct turn_client *tc, uint64_t now, struct turn_txn *t,
			    const struct stun_msg *m)
{
	const struct stun_attr *a;
	struct turn_event ev = {0};
	struct turn_peer *p;
	uint32_t lifetime = TURN_LIFETIME_S;

	t->used = false;
	tc->stale_retries = 0;
	switch (t->method) {
	case STUN_METHOD_ALLOCATE:
		a = stun_msg_find(m, STUN_ATTR_XOR_RELAYED_ADDRESS);
		if (!a || stun_attr_get_xor_addr(m, a, &tc->relayed)) {
			turn_set_state(tc, TURN_ALLOC_STATE_FAILED, -EPROTO);
			return;
		}
		a = stun_msg_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS);
		if (!a || stun_attr_get_xor_addr(m, a, &tc->mapped))
			memset(&tc->mapped, 0, sizeof(tc->mapped));
		a = stun_msg_find(m, STUN_ATTR_LIFETIME);
		if (a)
			stun_attr_get_u32(m, a, &lifetime);
		turn_schedule_refresh(tc, now, lifetime);
		turn_set_state(tc, TURN_ALLOC_STATE_ALLOCATED, 0);
		for (unsigned i = 0; i < tc->npeers; i++)
			turn_peer_kick(tc, (int)i, now);
		break;
	case STUN_METHOD_REFRESH:
		if (!t->lifetime) {
			turn_set_state(tc, TURN_ALLOC_STATE_RELEASED, 0);
			return;
		}
		a = stun_msg_find(m, STUN_ATTR_LIFETIME);
		if (a)
			stun_attr_get_u32(m, a, &lifetime);
		turn_schedule_refresh(tc, now, lifetime);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
		p = &tc->peers[t->peer];
		p->perm_pending = false;
		p->perm_ok = true;
		p->perm_refresh_ms = now + (uint64_t)TURN_PERMISSION_REFRESH_S * 1000;
		turn_peer_kick(tc, t->peer, now);
		break;
	case STUN_METHOD_CHANNEL_BIND:
		p = &tc->peers[t->peer];
		p->chan_pending = false;
		if (!p->chan_ok) {
			ev.type = TURN_EVENT_CHANNEL_BOUND;
			ev.peer = p->addr;
			ev.channel = (uint16_t)(TURN_CHANNEL_MIN + t->peer);
			turn_push_event(tc, &ev);
		}
		p->chan_ok = p->perm_ok = true;
		p->chan_refresh_ms = now + (uint64_t)TURN_CHANNEL_REFRESH_S * 1000;
		p->perm_refresh_ms = now + (uint64_t)TURN_PERMISSION_REFRESH_S * 1000;
		break;
	}
}

static int turn_on_response(struct turn_client *tc, uint64_t now, const struct stun_msg *m)
{
	struct turn_txn *t = turn_txn_find(tc, m->tid);
	const struct stun_attr *a;
	int code = 0, err;

	if (!t || t->method != m->method)
		return TURN_RECV_NOT_MINE;
	if (m->cls == STUN_CLASS_SUCCESS) {
		/* Once we hold a key, a success must prove the server knows it. */
		if (tc->key_len > 0 && stun_check_integrity(m, tc->key, (size_t)tc->key_len)) {
			turn_log(tc, ICE_LOG_DEBUG, "%s success without valid integrity: dropped",
				 stun_method_str(m->method));
			return TURN_RECV_DROPPED;
		}
		if (m->nunknown) {
			/* RFC 8489 §6.3.3: unknown comprehension-required
			 * attributes fail the transaction. */
			turn_log(tc, ICE_LOG_WARN, "%s success with unknown attribute 0x%04x",
				 stun_method_str(m->method), m->unknown[0]);
			turn_txn_failed(tc, t, STUN_ERROR_UNKNOWN_ATTRIBUTE, now);
			return TURN_RECV_HANDLED;
		}
		turn_on_success(tc, now, t, m);
		return TURN_RECV_HANDLED;
	}
	a = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
	if (!a || stun_attr_get_error(m, a, &code, NULL, NULL))
		return TURN_RECV_DROPPED;
	if (tc->key_len > 0 && code != STUN_ERROR_UNAUTHORIZED && code != STUN_ERROR_STALE_NONCE &&
	    ((m->integrity < 0 && m->integrity_sha256 < 0)
		     ? code == STUN_ERROR_BAD_REQUEST
		     : stun_check_integrity(m, tc->key, (size_t)tc->key_len) != 0)) {
		/* RFC 8489 §9.2.5: once we authenticate, an error whose
		 * integrity fails, or a 400 without any, is discarded as never
		 * received (anyone can forge those); retransmissions go on. */
		turn_log(tc, ICE_LOG_DEBUG, "%s error %d without valid integrity: dropped",
			 stun_method_str(m->method), code);
		return TURN_RECV_DROPPED;
	}
	/* RFC 8489 §6.3.4: likewise for an error response (no 401 retry). */
	if ((code == STUN_ERROR_UNAUTHORIZED || code == STUN_ERROR_STALE_NONCE) && !m->nunknown) {
		uint16_t method = t->method;
		int peer = t->peer;
		uint32_t lifetime = t->lifetime;

		err = turn_learn_auth(tc, m, code);
		if (err)
			turn_log(tc, ICE_LOG_WARN, "%s: %d %s, no retry: %s",
				 stun_method_str(method), code, stun_error_reason(code),
				 err == -EACCES		   ? "wrong username or password"
				 : err == -EPROTONOSUPPORT ? "no password algorithm in common"
							   : "bad challenge");
		else
			turn_log(tc, ICE_LOG_DEBUG, "%s: %d %s, retrying with realm \"%s\"",
				 stun_method_str(method), code, stun_error_reason(code), tc->realm);
		t->used = false;
		if (!err)
			err = turn_request(tc, now, method, peer, lifetime);
		if (err) {
			struct turn_txn gone = {
				.used = true, .method = method, .peer = peer, .lifetime = lifetime};

			turn_txn_failed(tc, &gone, code, now);
		}
		return TURN_RECV_HANDLED;
	}
	turn_txn_failed(tc, t, code, now);
	return TURN_RECV_HANDLED;
}

int turn_client_recv(struct turn_client *tc, uint64_t now_ms, const uint8_t *buf, size_t len,
		     struct turn_recv *out)
{
	struct stun_msg m;
	const struct stun_attr *pa, *da;

	if (len && demux_first_byte(buf[0]) == DEMUX_CHANNEL_DATA) {
		/* ChannelData, RFC 8656 §12.4: the channel names the peer. */
		uint16_t ch, dlen;
		const uint8_t *data;
		unsigned i;

		if (channel_data_parse(buf, len, &ch, &data, &dlen) < 0)
			return TURN_RECV_DROPPED;
		i = (unsigned)ch - TURN_CHANNEL_MIN;
		if (i >= tc->npeers || !tc->peers[i].chan_ok)
			return TURN_RECV_DROPPED;
		out->peer = tc->peers[i].addr;
		out->data = data;
		out->len = dlen;
		return TURN_RECV_DATA;
	}
	if (stun_parse(&m, buf, len) < 0)
		return TURN_RECV_DROPPED;
	if (m.cls == STUN_CLASS_INDICATION && m.method == STUN_METHOD_DATA) {
		/* RFC 8656 §11.6: XOR-PEER-ADDRESS and DATA are required. */
		pa = stun_msg_find(&m, STUN_ATTR_XOR_PEER_ADDRESS);
		da = stun_msg_find(&m, STUN_ATTR_DATA);
		if (!pa || !da || stun_attr_get_xor_addr(&m, pa, &out->peer))
			return TURN_RECV_DROPPED;
		if (!turn_client_permitted(tc, &out->peer))
			return TURN_RECV_DROPPED;
		out->data = stun_attr_value(&m, da);
		out->len = da->len;
		return TURN_RECV_DATA;
	}
	if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR)
		return turn_on_response(tc, now_ms, &m);
	return TURN_RECV_NOT_MINE;
}

int turn_client_wrap(struct turn_client *tc, const struct netaddr *peer, const uint8_t *data,
		     size_t len, bool copy, struct ice_transmit *tx)
{
	int i = turn_peer_find(tc, peer);
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN];
	int n;

	if (tc->state != TURN_ALLOC_STATE_ALLOCATED)
		return -ENOTCONN;
	if (i < 0 || !tc->peers[i].perm_wanted)
		return -EPERM;
	if (len > 0xffff)
		return -EMSGSIZE;
	tx->local = tc->cfg.base;
	tx->remote = tc->cfg.server;
	tx->pad_len = 0;
	if (tc->peers[i].chan_ok) {
		uint16_t ch = (uint16_t)(TURN_CHANNEL_MIN + i);

		tx->head[0] = (uint8_t)(ch >> 8);
		tx->head[1] = (uint8_t)ch;
		tx->head[2] = (uint8_t)(len >> 8);
		tx->head[3] = (uint8_t)len;
		tx->head_len = CHANNEL_DATA_HEADER_LEN;
		/* Over UDP the padding to 4 bytes is optional (RFC 8656 §12.5). */
	} else {
		/* Send indication (RFC 8656 §11.1): XOR-PEER-ADDRESS then DATA. */
		tc->cfg.random(tid, sizeof(tid), tc->cfg.random_ctx);
		stun_build_init(&b, tx->head, sizeof(tx->head), STUN_METHOD_SEND,
				STUN_CLASS_INDICATION, tid);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
		if (copy) {
			stun_build_attr(&b, STUN_ATTR_DATA, data, len);
			n = stun_build_finish(&b);
			if (n < 0)
				return -EMSGSIZE;
			tx->head_len = (size_t)n;
			tx->payload = NULL;
			tx->payload_len = 0;
			return 0;
		}
		n = stun_build_finish(&b);
		if (n < 0 || (size_t)n + STUN_ATTR_HEADER_LEN > sizeof(tx->head))
			return -EMSGSIZE;
		size_t pad = (4 - (len & 3)) & 3;
		size_t mlen = (size_t)n - STUN_HEADER_LEN + STUN_ATTR_HEADER_LEN + len + pad;

		if (mlen > 0xffff)
			return -EMSGSIZE;
		tx->head[n] = STUN_ATTR_DATA >> 8;
		tx->head[n + 1] = STUN_ATTR_DATA & 0xff;
		tx->head[n + 2] = (uint8_t)(len >> 8);
		tx->head[n + 3] = (uint8_t)len;
		tx->head[2] = (uint8_t)(mlen >> 8);
		tx->head[3] = (uint8_t)mlen;
		tx->head_len = (size_t)n + STUN_ATTR_HEADER_LEN;
		tx->pad_len = pad;
	}
	if (copy) {
		if (tx->head_len + len > sizeof(tx->head))
			return -EMSGSIZE;
		memcpy(tx->head + tx->head_len, data, len);
		tx->head_len += len;
		memset(tx->head + tx->head_len, 0, tx->pad_len);
		tx->head_len += tx->pad_len;
		tx->pad_len = 0;
		tx->payload = NULL;
		tx->payload_len = 0;
	} else {
		tx->payload = data;
		tx->payload_len = len;
	}
	return 0;
}

uint64_t turn_client_next_deadline(const struct turn_client *tc)
{
	uint64_t next = tc->refresh_ms;

	for (unsigned i = 0; i < TURN_MAX_TXNS; i++)
		if (tc->txns[i].used && tc->txns[i].next_ms < next)
			next = tc->txns[i].next_ms;
	if (tc->state == TURN_ALLOC_STATE_ALLOCATED) {
		for (unsigned i = 0; i < tc->npeers; i++) {
			const struct turn_peer *p = &tc->peers[i];

			if (p->perm_ok && !p->perm_pending && p->perm_refresh_ms < next)
				next = p->perm_refresh_ms;
			if (p->chan_ok && !p->chan_pending && p->chan_refresh_ms < next)
				next = p->chan_refresh_ms;
		}
	}
	return next;
}

uint64_t turn_client_tick(struct turn_client *tc, uint64_t now)
{
	for (unsigned i = 0; i < TURN_MAX_TXNS; i++) {
		struct turn_txn *t = &tc->txns[i];

		if (!t->used || t->next_ms > now)
			continue;
		if (t->sent >= tc->cfg.rc) {
			turn_txn_failed(tc, t, -ETIMEDOUT, now);
			continue;
		}
		/* RFC 8489 §6.2.1: RTO doubles; after the Rc-th send wait Rm*RTO. */
		t->sent++;
		t->rto *= 2;
		t->next_ms = now + (t->sent == tc->cfg.rc ? (uint64_t)tc->cfg.rm * tc->cfg.rto_ms
							  : t->rto);
		turn_queue(tc, t->msg, t->len);
	}
	if (tc->state == TURN_ALLOC_STATE_ALLOCATED) {
		if (tc->refresh_ms <= now) {
			tc->refresh_ms = UINT64_MAX;
			if (turn_request(tc, now, STUN_METHOD_REFRESH, -1, tc->cfg.lifetime_s))
				tc->refresh_ms = now + tc->cfg.rto_ms; /* table full: try later */
		}
		for (unsigned i = 0; i < tc->npeers; i++) {
			struct turn_peer *p = &tc->peers[i];

			if (p->chan_ok && !p->chan_pending && p->chan_refresh_ms <= now) {
				p->chan_pending =
					!turn_request(tc, now, STUN_METHOD_CHANNEL_BIND, (int)i, 0);
				if (p->chan_pending)
					p->perm_refresh_ms = UINT64_MAX;
			} else if (p->perm_ok && !p->perm_pending && !p->chan_pending &&
				   p->perm_refresh_ms <= now) {
				p->perm_pending = !turn_request(
					tc, now, STUN_METHOD_CREATE_PERMISSION, (int)i, 0);
			}
		}
	}
	return turn_client_next_deadline(tc);
}

bool turn_client_poll_transmit(struct turn_client *tc, struct ice_transmit *tx)
{
	return ice_queue_pop_datagram(&tc->out, tx);
}

bool turn_client_poll_event(struct turn_client *tc, struct turn_event *ev)
{
	return ice_queue_pop(&tc->events, ev, sizeof(*ev));
}
