// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng_server: one NG datagram in, one reply datagram out. Parses, answers
 * retransmissions from the cookie cache, dispatches to the daemon's
 * handlers, encodes and caches the reply.
 *
 * The cache is a ring of slots in arrival order (the oldest is evicted
 * first: when it expires, when the slots run out, or when the byte budget
 * would be exceeded) plus hash chains for lookup. The key is the cookie and
 * the sender's address; a hash of the request body is kept too, so a
 * different request that reuses a cookie is executed, not answered with
 * somebody else's reply (rtpengine would answer it from the cache).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icepath/ng.h"
#include "ng_internal.h"

struct ng_cache_entry {
	bool live;
	uint64_t expires_ms;
	uint64_t key_hash;
	uint64_t body_hash;
	char cookie[NG_COOKIE_MAX + 1];
	bool has_from;
	struct netaddr from;
	uint8_t *reply;
	size_t len;
	int32_t chain; /* next entry in the same bucket, -1 ends */
};

struct ng_cache {
	struct ng_cache_entry *e;
	int32_t *bucket; /* first entry of each chain, -1 when empty */
	unsigned slots;	 /* ring size == bucket count */
	unsigned head;	 /* oldest */
	unsigned count;	 /* ring entries in use, live or not */
	unsigned live;
	size_t bytes;
	size_t max_bytes;
	uint64_t ttl_ms;
};

static uint64_t ng_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define NG_FNV_INIT 0xcbf29ce484222325ull

static uint64_t ng_key_hash(const struct ng_str *cookie, const struct netaddr *from)
{
	uint64_t h = ng_fnv(NG_FNV_INIT, cookie->s, cookie->len);

	if (from) {
		uint32_t a = netaddr_hash(from);

		h = ng_fnv(h, &a, sizeof(a));
	}
	return h;
}

static bool ng_cache_match(const struct ng_cache_entry *e, uint64_t key, const struct ng_str *ck,
			   const struct netaddr *from)
{
	return e->live && e->key_hash == key && strlen(e->cookie) == ck->len &&
	       !memcmp(e->cookie, ck->s, ck->len) && e->has_from == (from != NULL) &&
	       (!from || netaddr_equal(&e->from, from));
}

/* Remove entry i from its chain and free its reply. */
static void ng_cache_kill(struct ng_cache *c, unsigned i)
{
	struct ng_cache_entry *e = &c->e[i];
	int32_t *link = &c->bucket[e->key_hash % c->slots];

	if (!e->live)
		return;
	while (*link != -1 && *link != (int32_t)i)
		link = &c->e[*link].chain;
	if (*link == (int32_t)i)
		*link = e->chain;
	free(e->reply);
	e->reply = NULL;
	c->bytes -= e->len;
	e->len = 0;
	e->live = false;
	c->live--;
}

static void ng_cache_pop(struct ng_cache *c)
{
	ng_cache_kill(c, c->head);
	c->head = (c->head + 1) % c->slots;
	c->count--;
}

static void ng_cache_expire(struct ng_cache *c, uint64_t now_ms)
{
	while (c->count && (!c->e[c->head].live || c->e[c->head].expires_ms <= now_ms))
		ng_cache_pop(c);
}

static struct ng_cache_entry *ng_cache_find(struct ng_cache *c, uint64_t key,
					    const struct ng_str *ck, const struct netaddr *from)
{
	for (int32_t i = c->bucket[key % c->slots]; i != -1; i = c->e[i].chain)
		if (ng_cache_match(&c->e[i], key, ck, from))
			return &c->e[i];
	return NULL;
}

static void ng_cache_put(struct ng_cache *c, uint64_t now_ms, uint64_t key, uint64_t body_hash,
			 const struct ng_str *ck, const struct netaddr *from, const uint8_t *reply,
			 size_t len)
{
	struct ng_cache_entry *e;
	uint8_t *copy;
	unsigned i;

	if (len > c->max_bytes)
		return; /* larger than the whole budget: never cached */
	while (c->count && (c->count == c->slots || c->bytes + len > c->max_bytes))
		ng_cache_pop(c);
	copy = malloc(len);
	if (!copy)
		return; /* a cache miss later, not an error now */
	memcpy(copy, reply, len);
	i = (c->head + c->count) % c->slots;
	e = &c->e[i];
	memset(e, 0, sizeof(*e));
	e->live = true;
	e->expires_ms = now_ms + c->ttl_ms;
	e->key_hash = key;
	e->body_hash = body_hash;
	memcpy(e->cookie, ck->s, ck->len);
	e->cookie[ck->len] = 0;
	if (from) {
		e->has_from = true;
		e->from = *from;
	}
	e->reply = copy;
	e->len = len;
	e->chain = c->bucket[key % c->slots];
	c->bucket[key % c->slots] = (int32_t)i;
	c->count++;
	c->live++;
	c->bytes += len;
}

static void ng_cache_destroy(struct ng_cache *c)
{
	if (!c)
		return;
	if (c->e)
		for (unsigned i = 0; i < c->slots; i++)
			free(c->e[i].reply);
	free(c->e);
	free(c->bucket);
	free(c);
}

static struct ng_cache *ng_cache_new(const struct ng_server_config *cfg)
{
	struct ng_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->slots = cfg && cfg->cache_slots ? cfg->cache_slots : NG_CACHE_SLOTS;
	c->max_bytes = cfg && cfg->cache_bytes ? cfg->cache_bytes : NG_CACHE_BYTES;
	c->ttl_ms = cfg && cfg->cache_ttl_ms ? cfg->cache_ttl_ms : NG_CACHE_TTL_MS;
	c->e = calloc(c->slots, sizeof(*c->e));
	c->bucket = malloc(c->slots * sizeof(*c->bucket));
	if (!c->e || !c->bucket) {
		ng_cache_destroy(c);
		return NULL;
	}
	for (unsigned i = 0; i < c->slots; i++)
		c->bucket[i] = -1;
	return c;
}

unsigned ng_server_cached(const struct ng_server *s)
{
	return s->cache ? s->cache->live : 0;
}

int ng_server_init(struct ng_server *s, const struct ng_ops *ops, void *ctx,
		   const struct ng_server_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->cache = ng_cache_new(cfg);
	s->nodes = calloc(NG_MAX_NODES, sizeof(*s->nodes));
	s->sdp_scratch = malloc(NG_DGRAM_MAX);
	s->reply = malloc(sizeof(*s->reply));
	s->req = malloc(sizeof(*s->req));
	s->rx = malloc(NG_DGRAM_MAX);
	s->tx = malloc(NG_DGRAM_MAX);
	if (!s->cache || !s->nodes || !s->sdp_scratch || !s->reply || !s->req || !s->rx || !s->tx) {
		ng_server_destroy(s);
		return -ENOMEM;
	}
	if (cfg && cfg->n_allow) {
		if (cfg->n_allow > NG_ALLOW_MAX) {
			ng_server_destroy(s);
			return -E2BIG;
		}
		memcpy(s->allow, cfg->allow, cfg->n_allow * sizeof(*cfg->allow));
		s->n_allow = cfg->n_allow;
		s->on_denied = cfg->on_denied;
	}
	return 0;
}

void ng_server_destroy(struct ng_server *s)
{
	if (!s)
		return;
	ng_cache_destroy(s->cache);
	free(s->nodes);
	free(s->sdp_scratch);
	free(s->reply);
	free(s->req);
	free(s->rx);
	free(s->tx);
	s->rx = NULL;
	s->tx = NULL;
	s->cache = NULL;
	s->nodes = NULL;
	s->sdp_scratch = NULL;
	s->reply = NULL;
	s->req = NULL;
}

static void ng_reply_reset(struct ng_server *s, struct ng_reply *rep)
{
	/* The calls array is large and handlers fill it by count: clear the rest. */
	memset(rep, 0, offsetof(struct ng_reply, calls));
	rep->n_calls = 0;
	rep->has_statistics = false;
	memset(&rep->stats, 0, sizeof(rep->stats));
	rep->sdp = s->sdp_scratch;
	rep->sdp_cap = NG_DGRAM_MAX;
}

/* Warn about what the request asked for that icepath does not do. */
static void ng_warn_unknown(struct ng_reply *rep, const char *what, const struct ng_str *arr,
			    unsigned n)
{
	char list[160];
	size_t used = 0;
	unsigned shown = n < NG_MAX_UNKNOWN ? n : NG_MAX_UNKNOWN;

	if (!n)
		return;
	list[0] = 0;
	for (unsigned i = 0; i < shown && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%.*s", i ? ", " : "",
					 (int)(arr[i].len > 40 ? 40 : arr[i].len), arr[i].s);
	ng_reply_warn(rep, "unsupported %s ignored: %s%s", what, list, n > shown ? ", ..." : "");
}

static int ng_dispatch(struct ng_server *s, uint64_t now_ms, const struct ng_request *req,
		       struct ng_reply *rep)
{
	int (*op)(void *, uint64_t, const struct ng_request *, struct ng_reply *) = NULL;
	int rc;

	switch (req->cmd) {
	case NG_CMD_PING:
		rep->result = NG_RESULT_PONG;
		return 0;
	case NG_CMD_OFFER:
		op = s->ops ? s->ops->offer : NULL;
		break;
	case NG_CMD_ANSWER:
		op = s->ops ? s->ops->answer : NULL;
		break;
	case NG_CMD_DELETE:
		op = s->ops ? s->ops->delete_call : NULL;
		break;
	case NG_CMD_QUERY:
		op = s->ops ? s->ops->query : NULL;
		break;
	case NG_CMD_LIST:
		op = s->ops ? s->ops->list : NULL;
		break;
	case NG_CMD_STATISTICS:
		op = s->ops ? s->ops->statistics : NULL;
		break;
	case NG_CMD__COUNT:
		break;
	}
	if (!op)
		return ng_reply_error(rep, "command '%s' is not supported by this server",
				      ng_command_str(req->cmd));
	rc = op(s->ctx, now_ms, req, rep);
	if (rc < 0 && rep->result != NG_RESULT_ERROR)
		ng_reply_error(rep, "%s failed: %s", ng_command_str(req->cmd), strerror(-rc));
	if (rc >= 0 && rep->result == NG_RESULT_ERROR && !rep->error_reason[0])
		snprintf(rep->error_reason, sizeof(rep->error_reason), "%s failed",
			 ng_command_str(req->cmd));
	if (rep->result != NG_RESULT_ERROR) {
		ng_warn_unknown(rep, "flags", req->unknown_flags, req->n_unknown_flags);
		ng_warn_unknown(rep, "keys", req->unknown_keys, req->n_unknown_keys);
	}
	return rc;
}

/* Parse the body into s->req or fill an error reply. */
static int ng_parse_request(struct ng_server *s, const struct ng_str *body, struct ng_reply *rep)
{
	struct bencode_err berr;
	struct bencode *root;
	char why[NG_REASON_MAX], msg[160];
	int rc;

	if (body->len && body->s[0] == '{') {
		s->counters.malformed++;
		return ng_reply_error(rep, "JSON NG messages are not supported; send bencode");
	}
	rc = bencode_decode((const uint8_t *)body->s, body->len, s->nodes, NG_MAX_NODES, &root,
			    &berr);
	if (rc) {
		s->counters.malformed++;
		return ng_reply_error(rep, "malformed bencode: %s",
				      bencode_err_str(&berr, msg, sizeof(msg)));
	}
	if (root->type != BENCODE_DICT) {
		s->counters.malformed++;
		return ng_reply_error(rep, "request is a %s, expected a dictionary",
				      bencode_type_str(root->type));
	}
	if (ng_request_parse(root, s->req, why, sizeof(why)))
		return ng_reply_error(rep, "%s", why);
	return 0;
}

ssize_t ng_handle(struct ng_server *s, uint64_t now_ms, const struct netaddr *from,
		  const uint8_t *dgram, size_t len, uint8_t *out, size_t cap)
{
	struct ng_reply *rep = s->reply;
	struct ng_cache_entry *hit;
	enum ng_command cmd = NG_CMD_PING;
	struct ng_str ck, body;
	char cookie[NG_COOKIE_MAX + 1];
	uint64_t key, body_hash;
	ssize_t n;

	s->counters.requests++;
	/* before anything is parsed: a sender outside the allow-list learns
	 * nothing, not even that an NG server listens here */
	if (s->n_allow && (!from || !ng_allow_match(s->allow, s->n_allow, from))) {
		s->counters.denied++;
		if (s->on_denied && from)
			s->on_denied(s->ctx, from, s->counters.denied);
		return 0;
	}
	if (ng_split_cookie(dgram, len, &ck, &body)) {
		s->counters.no_cookie++;
		return 0;
	}
	memcpy(cookie, ck.s, ck.len);
	cookie[ck.len] = 0;

	key = ng_key_hash(&ck, from);
	body_hash = ng_fnv(NG_FNV_INIT, body.s, body.len);
	ng_cache_expire(s->cache, now_ms);
	hit = ng_cache_find(s->cache, key, &ck, from);
	if (hit && hit->body_hash == body_hash) {
		s->counters.cache_hits++;
		if (hit->len > cap)
			return -ENOSPC;
		memcpy(out, hit->reply, hit->len);
		return (ssize_t)hit->len;
	}
	if (hit) /* same cookie, other request: forget the old reply */
		ng_cache_kill(s->cache, (unsigned)(hit - s->cache->e));

	ng_reply_reset(s, rep);
	if (ng_parse_request(s, &body, rep) == 0) {
		cmd = s->req->cmd;
		s->counters.commands[cmd]++;
		ng_dispatch(s, now_ms, s->req, rep);
		if (rep->result == NG_RESULT_ERROR)
			s->counters.command_errors[cmd]++;
	} else {
		s->counters.rejected++;
	}
	if (rep->result == NG_RESULT_ERROR)
		s->counters.errors++;

	n = ng_reply_encode(cookie, cmd, rep, out, cap);
	if (n == -EINVAL) {
		s->counters.errors++;
		ng_reply_reset(s, rep);
		ng_reply_error(rep, "%s: the handler's reply cannot be encoded (duplicate tags)",
			       ng_command_str(cmd));
		n = ng_reply_encode(cookie, cmd, rep, out, cap);
	} else if (n < 0) {
		s->counters.errors++;
		ng_reply_reset(s, rep);
		ng_reply_error(rep, "%s: reply does not fit in %zu bytes", ng_command_str(cmd),
			       cap);
		n = ng_reply_encode(cookie, cmd, rep, out, cap);
	}
	if (n < 0)
		return n;
	ng_cache_put(s->cache, now_ms, key, body_hash, &ck, from, out, (size_t)n);
	return n;
}

int ng_server_listen(const struct netaddr *addr)
{
	int fd = socket(netaddr_family(addr), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (bind(fd, &addr->sa, netaddr_len(addr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int ng_server_serve(struct ng_server *s, int fd, uint64_t now_ms, unsigned max)
{
	int done = 0;

	if (!max)
		max = 64;
	while ((unsigned)done < max) {
		struct netaddr from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, s->rx, NG_DGRAM_MAX, MSG_DONTWAIT, &from.sa, &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		done++;
		n = ng_handle(s, now_ms, &from, s->rx, (size_t)n, s->tx, NG_DGRAM_MAX);
		if (n > 0 && sendto(fd, s->tx, (size_t)n, 0, &from.sa, flen) < 0)
			s->counters.send_errors++;
	}
	return done;
}
