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
 *
 * Held replies (config.hold) wait in an outbox until the daemon has made
 * the turn's state durable and calls ng_server_release(). A parked request
 * (a handler returned NG_PENDING) sits in a small table keyed like the
 * cache, so its retransmissions are dropped rather than run again, until
 * ng_server_complete() or its deadline (ng_server_tick()) answers it; that
 * answer is cached and queued like any other.
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

struct ng_pending {
	bool used;
	uint64_t token;
	uint64_t deadline_ms;
	uint64_t key_hash, body_hash;
	char cookie[NG_COOKIE_MAX + 1];
	bool has_from;
	struct netaddr from;
	enum ng_command cmd;
	char warning[NG_WARNING_MAX]; /* of the request (unknown flags): added to the reply */
};

struct ng_outbox_item {
	bool has_from;
	struct netaddr to;
	uint8_t *data;
	size_t len;
	/* what ng_server_fail_held() needs to answer it again, as an error */
	enum ng_outbox_kind {
		NG_OUTBOX_OTHER,   /* an error, a ping, a query...: leaves as is */
		NG_OUTBOX_CHANGE,  /* an ok offer/answer/delete: a change to make durable */
		NG_OUTBOX_CACHED,  /* a retransmission: leaves as the cache has it then */
	} kind;
	enum ng_command cmd;
	uint64_t key_hash, body_hash;
	char cookie[NG_COOKIE_MAX + 1];
};

struct ng_outbox {
	struct ng_outbox_item *items;
	unsigned n, cap;
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
	s->hold = cfg && cfg->hold;
	s->pending_max = cfg && cfg->pending_max ? cfg->pending_max : NG_PENDING_MAX;
	s->pending_ttl_ms = cfg && cfg->pending_ttl_ms ? cfg->pending_ttl_ms : NG_PENDING_TTL_MS;
	s->on_expired = cfg ? cfg->on_expired : NULL;
	s->pending = calloc(s->pending_max, sizeof(*s->pending));
	s->outbox = calloc(1, sizeof(*s->outbox));
	s->creply = malloc(sizeof(*s->creply));
	s->csdp = malloc(NG_DGRAM_MAX);
	s->cbuf = malloc(NG_DGRAM_MAX);
	if (!s->cache || !s->nodes || !s->sdp_scratch || !s->reply || !s->req || !s->rx || !s->tx ||
	    !s->pending || !s->outbox || !s->creply || !s->csdp || !s->cbuf) {
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
	if (s->outbox) {
		for (unsigned i = 0; i < s->outbox->n; i++)
			free(s->outbox->items[i].data);
		free(s->outbox->items);
	}
	free(s->outbox);
	/* parked requests are dropped unanswered: the client retransmits */
	free(s->pending);
	free(s->creply);
	free(s->csdp);
	free(s->cbuf);
	s->outbox = NULL;
	s->pending = NULL;
	s->creply = NULL;
	s->csdp = NULL;
	s->cbuf = NULL;
	s->n_pending = 0;
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

static void ng_reply_reset_sdp(struct ng_reply *rep, char *sdp)
{
	/* The calls array is large and handlers fill it by count: clear the rest. */
	memset(rep, 0, offsetof(struct ng_reply, calls));
	rep->n_calls = 0;
	rep->has_statistics = false;
	memset(&rep->stats, 0, sizeof(rep->stats));
	rep->token = 0;
	rep->sdp = sdp;
	rep->sdp_cap = NG_DGRAM_MAX;
}

static void ng_reply_reset(struct ng_server *s, struct ng_reply *rep)
{
	ng_reply_reset_sdp(rep, s->sdp_scratch);
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
	if (rc == NG_PENDING) {
		/* the reply comes later; the request's own warnings are kept */
		rep->result = NG_RESULT_OK;
		ng_warn_unknown(rep, "flags", req->unknown_flags, req->n_unknown_flags);
		ng_warn_unknown(rep, "keys", req->unknown_keys, req->n_unknown_keys);
		return rc;
	}
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

/* Queue a copy of a reply for ng_server_release(); a reply that cannot be
 * queued is lost like a datagram (the client retransmits: the cache has it). */
static void ng_outbox_push(struct ng_server *s, const struct netaddr *to, const uint8_t *data,
			   size_t len, enum ng_outbox_kind kind, enum ng_command cmd, uint64_t key,
			   uint64_t body_hash, const char *cookie)
{
	struct ng_outbox *o = s->outbox;
	struct ng_outbox_item *it;
	uint8_t *copy;

	if (o->n == o->cap) {
		unsigned cap = o->cap ? 2 * o->cap : 16;
		struct ng_outbox_item *items = realloc(o->items, cap * sizeof(*items));

		if (!items) {
			s->counters.send_errors++;
			return;
		}
		o->items = items;
		o->cap = cap;
	}
	copy = malloc(len);
	if (!copy) {
		s->counters.send_errors++;
		return;
	}
	memcpy(copy, data, len);
	it = &o->items[o->n++];
	memset(it, 0, sizeof(*it));
	if (to) {
		it->has_from = true;
		it->to = *to;
	}
	it->data = copy;
	it->len = len;
	it->kind = kind;
	it->cmd = cmd;
	it->key_hash = key;
	it->body_hash = body_hash;
	snprintf(it->cookie, sizeof(it->cookie), "%s", cookie);
	s->counters.held++;
}

/* An ok offer/answer/delete acknowledges a change of state. */
static enum ng_outbox_kind ng_outbox_kind_of(enum ng_command cmd, const struct ng_reply *rep)
{
	if (rep->result == NG_RESULT_ERROR)
		return NG_OUTBOX_OTHER;
	return cmd == NG_CMD_OFFER || cmd == NG_CMD_ANSWER || cmd == NG_CMD_DELETE
		       ? NG_OUTBOX_CHANGE
		       : NG_OUTBOX_OTHER;
}

static struct ng_pending *ng_pending_find(struct ng_server *s, uint64_t key,
					  const struct ng_str *ck, const struct netaddr *from)
{
	for (unsigned i = 0; i < s->pending_max && s->n_pending; i++) {
		struct ng_pending *p = &s->pending[i];

		if (p->used && p->key_hash == key && strlen(p->cookie) == ck->len &&
		    !memcmp(p->cookie, ck->s, ck->len) && p->has_from == (from != NULL) &&
		    (!from || netaddr_equal(&p->from, from)))
			return p;
	}
	return NULL;
}

static struct ng_pending *ng_pending_token(struct ng_server *s, uint64_t token)
{
	for (unsigned i = 0; i < s->pending_max && s->n_pending; i++)
		if (s->pending[i].used && s->pending[i].token == token)
			return &s->pending[i];
	return NULL;
}

static struct ng_pending *ng_pending_slot(struct ng_server *s)
{
	for (unsigned i = 0; i < s->pending_max; i++)
		if (!s->pending[i].used)
			return &s->pending[i];
	return NULL;
}

/*
 * Encode rep into out and cache it; a reply that cannot be encoded becomes
 * an error reply built in scratch (which may be rep itself: rep is not
 * read after its encoding failed). Length, or negative when cap cannot
 * hold even the error.
 */
static ssize_t ng_finish(struct ng_server *s, uint64_t now_ms, uint64_t key, uint64_t body_hash,
			 const char *cookie, const struct netaddr *from, enum ng_command cmd,
			 const struct ng_reply *rep, struct ng_reply *scratch, uint8_t *out,
			 size_t cap)
{
	struct ng_str ck = {.s = cookie, .len = strlen(cookie)};
	ssize_t n = ng_reply_encode(cookie, cmd, rep, out, cap);

	if (n < 0) {
		bool dup = n == -EINVAL;

		s->counters.errors++;
		ng_reply_reset_sdp(scratch, NULL);
		scratch->sdp_cap = 0;
		if (dup)
			ng_reply_error(scratch,
				       "%s: the handler's reply cannot be encoded (duplicate tags)",
				       ng_command_str(cmd));
		else
			ng_reply_error(scratch, "%s: reply does not fit in %zu bytes",
				       ng_command_str(cmd), cap);
		n = ng_reply_encode(cookie, cmd, scratch, out, cap);
	}
	if (n < 0)
		return n;
	ng_cache_put(s->cache, now_ms, key, body_hash, &ck, from, out, (size_t)n);
	return n;
}

/* A parked request's token is dead: tell the daemon. */
static void ng_pending_dead(struct ng_server *s, uint64_t token)
{
	if (s->on_expired)
		s->on_expired(s->ctx, token);
}

ssize_t ng_handle(struct ng_server *s, uint64_t now_ms, const struct netaddr *from,
		  const uint8_t *dgram, size_t len, uint8_t *out, size_t cap)
{
	struct ng_reply *rep = s->reply;
	struct ng_cache_entry *hit;
	struct ng_pending *park;
	enum ng_command cmd = NG_CMD_PING;
	struct ng_str ck, body;
	char cookie[NG_COOKIE_MAX + 1];
	uint64_t key, body_hash;
	int rc = 0;
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
	park = ng_pending_find(s, key, &ck, from);
	if (park && park->body_hash == body_hash) {
		/* still being worked on: running it again would make a second
		 * call; the completion answers both copies */
		s->counters.pending_retrans++;
		return 0;
	}
	ng_cache_expire(s->cache, now_ms);
	hit = ng_cache_find(s->cache, key, &ck, from);
	if (hit && hit->body_hash == body_hash) {
		s->counters.cache_hits++;
		if (s->hold) {
			/* its state may have been created this very turn: it
			 * leaves with the turn's other replies */
			ng_outbox_push(s, from, hit->reply, hit->len, NG_OUTBOX_CACHED, cmd, key,
				       body_hash, cookie);
			return 0;
		}
		if (hit->len > cap)
			return -ENOSPC;
		memcpy(out, hit->reply, hit->len);
		return (ssize_t)hit->len;
	}
	if (hit) /* same cookie, other request: forget the old reply */
		ng_cache_kill(s->cache, (unsigned)(hit - s->cache->e));

	ng_reply_reset(s, rep);
	rep->token = ++s->next_token;
	if (ng_parse_request(s, &body, rep) == 0) {
		cmd = s->req->cmd;
		s->counters.commands[cmd]++;
		rc = ng_dispatch(s, now_ms, s->req, rep);
		if (rc == NG_PENDING) {
			struct ng_pending *p = ng_pending_slot(s);

			if (p) {
				memset(p, 0, sizeof(*p));
				p->used = true;
				p->token = rep->token;
				p->deadline_ms = now_ms + s->pending_ttl_ms;
				p->key_hash = key;
				p->body_hash = body_hash;
				memcpy(p->cookie, cookie, sizeof(cookie));
				if (from) {
					p->has_from = true;
					p->from = *from;
				}
				p->cmd = cmd;
				snprintf(p->warning, sizeof(p->warning), "%s", rep->warning);
				s->n_pending++;
				s->counters.parked++;
				return 0;
			}
			s->counters.parked_full++;
			ng_reply_reset(s, rep);
			ng_reply_error(rep, "%s: %u requests already waiting; retry later",
				       ng_command_str(cmd), s->pending_max);
			ng_pending_dead(s, s->next_token);
		}
		if (rep->result == NG_RESULT_ERROR)
			s->counters.command_errors[cmd]++;
	} else {
		s->counters.rejected++;
	}
	if (rep->result == NG_RESULT_ERROR)
		s->counters.errors++;

	n = ng_finish(s, now_ms, key, body_hash, cookie, from, cmd, rep, rep, out, cap);
	if (n > 0 && s->hold) {
		ng_outbox_push(s, from, out, (size_t)n, ng_outbox_kind_of(cmd, rep), cmd, key,
			       body_hash, cookie);
		return 0;
	}
	return n;
}

struct ng_reply *ng_server_reply(struct ng_server *s)
{
	ng_reply_reset_sdp(s->creply, s->csdp);
	return s->creply;
}

static void ng_pending_answer(struct ng_server *s, uint64_t now_ms, struct ng_pending *p,
			      const struct ng_reply *rep)
{
	ssize_t n;

	if (rep->result == NG_RESULT_ERROR) {
		s->counters.command_errors[p->cmd]++;
		s->counters.errors++;
	}
	n = ng_finish(s, now_ms, p->key_hash, p->body_hash, p->cookie, p->has_from ? &p->from : NULL,
		      p->cmd, rep, s->creply, s->cbuf, NG_DGRAM_MAX);
	if (n > 0)
		ng_outbox_push(s, p->has_from ? &p->from : NULL, s->cbuf, (size_t)n,
			       ng_outbox_kind_of(p->cmd, rep), p->cmd, p->key_hash, p->body_hash,
			       p->cookie);
	p->used = false;
	s->n_pending--;
}

int ng_server_complete(struct ng_server *s, uint64_t now_ms, uint64_t token,
		       const struct ng_reply *rep)
{
	struct ng_pending *p = ng_pending_token(s, token);

	if (!p)
		return -ENOENT;
	if (p->warning[0] && rep->result != NG_RESULT_ERROR) {
		/* the request's warnings go with its reply: on a copy, if the
		 * caller's reply is not our own scratch */
		if (rep != s->creply) {
			memcpy(s->creply, rep, sizeof(*rep));
			rep = s->creply;
		}
		ng_reply_warn(s->creply, "%s", p->warning);
	}
	s->counters.completed++;
	ng_pending_answer(s, now_ms, p, rep);
	return 0;
}

void ng_server_tick(struct ng_server *s, uint64_t now_ms)
{
	for (unsigned i = 0; i < s->pending_max && s->n_pending; i++) {
		struct ng_pending *p = &s->pending[i];
		struct ng_reply *rep;
		uint64_t token;

		if (!p->used || p->deadline_ms > now_ms)
			continue;
		token = p->token;
		rep = ng_server_reply(s);
		ng_reply_error(rep, "%s timed out after %llu ms", ng_command_str(p->cmd),
			       (unsigned long long)s->pending_ttl_ms);
		s->counters.expired++;
		ng_pending_answer(s, now_ms, p, rep);
		ng_pending_dead(s, token);
	}
}

uint64_t ng_server_next_deadline(const struct ng_server *s)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < s->pending_max && s->n_pending; i++)
		if (s->pending[i].used && s->pending[i].deadline_ms < next)
			next = s->pending[i].deadline_ms;
	return next;
}

unsigned ng_server_pending(const struct ng_server *s)
{
	return s->n_pending;
}

unsigned ng_server_held(const struct ng_server *s)
{
	return s->outbox ? s->outbox->n : 0;
}

/* Replace a held item's datagram (it owns a copy). */
static void ng_outbox_set(struct ng_outbox_item *it, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len);

	if (!copy)
		return; /* keeps the old one: a lost datagram would be worse */
	memcpy(copy, data, len);
	free(it->data);
	it->data = copy;
	it->len = len;
}

unsigned ng_server_fail_held(struct ng_server *s, uint64_t now_ms, const char *reason)
{
	struct ng_outbox *o = s->outbox;
	unsigned failed = 0;

	if (!o)
		return 0;
	for (unsigned i = 0; i < o->n; i++) {
		struct ng_outbox_item *it = &o->items[i];
		struct ng_str ck = {.s = it->cookie, .len = strlen(it->cookie)};
		const struct netaddr *from = it->has_from ? &it->to : NULL;
		struct ng_cache_entry *e;
		struct ng_reply *rep;
		ssize_t n;

		if (it->kind != NG_OUTBOX_CHANGE)
			continue;
		/* the ok reply leaves the cache: a retransmission gets the error */
		e = ng_cache_find(s->cache, it->key_hash, &ck, from);
		if (e)
			ng_cache_kill(s->cache, (unsigned)(e - s->cache->e));
		rep = ng_server_reply(s);
		ng_reply_error(rep, "%s", reason);
		n = ng_finish(s, now_ms, it->key_hash, it->body_hash, it->cookie, from, it->cmd, rep,
			      rep, s->cbuf, NG_DGRAM_MAX);
		if (n > 0)
			ng_outbox_set(it, s->cbuf, (size_t)n);
		it->kind = NG_OUTBOX_OTHER;
		s->counters.errors++;
		s->counters.command_errors[it->cmd]++;
		failed++;
	}
	/* a retransmission of this turn's request leaves as its first copy now does */
	for (unsigned i = 0; i < o->n && failed; i++) {
		struct ng_outbox_item *it = &o->items[i];
		struct ng_str ck = {.s = it->cookie, .len = strlen(it->cookie)};
		struct ng_cache_entry *e;

		if (it->kind != NG_OUTBOX_CACHED)
			continue;
		e = ng_cache_find(s->cache, it->key_hash, &ck, it->has_from ? &it->to : NULL);
		if (e && e->body_hash == it->body_hash)
			ng_outbox_set(it, e->reply, e->len);
	}
	return failed;
}

unsigned ng_server_release(struct ng_server *s, ng_send_fn send, void *ctx)
{
	struct ng_outbox *o = s->outbox;
	unsigned n;

	if (!o)
		return 0;
	n = o->n;
	for (unsigned i = 0; i < n; i++) {
		struct ng_outbox_item *it = &o->items[i];

		send(ctx, it->has_from ? &it->to : NULL, it->data, it->len);
		free(it->data);
		it->data = NULL;
	}
	o->n = 0;
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

struct ng_send_fd_ctx {
	struct ng_server *s;
	int fd;
};

static void ng_send_fd(void *ctx, const struct netaddr *to, const uint8_t *dgram, size_t len)
{
	struct ng_send_fd_ctx *c = ctx;

	if (!to || sendto(c->fd, dgram, len, 0, &to->sa, netaddr_len(to)) < 0)
		c->s->counters.send_errors++;
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
	/* not holding: completions made since the last call leave now */
	if (!s->hold)
		ng_server_release(s, ng_send_fd, &(struct ng_send_fd_ctx){.s = s, .fd = fd});
	return done;
}
