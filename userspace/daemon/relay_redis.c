// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_redis: the calls' state in Redis, so that a standby icepathd on
 * another host can take them over (rtpengine's model). The only file that
 * includes hiredis (tests/lint/test_layers.sh).
 *
 * One record format, two stores: a call's value is exactly its records of
 * the state file (relay_state_put_call()), one field per call-id of the hash
 * RELAY_REDIS_KEY; the standby reads them back as a state file made of
 * them (relay_state_apply()), with the same parser the fuzzer drives.
 *
 * Writes are synchronous and bounded (RELAY_REDIS_TIMEOUT_MS), made where
 * the state file is written, as one MULTI/EXEC per turn, so Redis never
 * holds half a turn's changes: after a (re)connect the hash is replaced
 * by the calls there are now (DEL, then one HSET each); after that a turn
 * writes only what it changed, the state journal's own lists (an HDEL per
 * call deleted, an HSET per call changed), so a commit costs the calls it
 * touched, not all of them. A failed write makes the next one whole again. Why not
 * hiredis' non-blocking API on the loop: the state file's write at that
 * point is synchronous already (fsync), a pipelined round trip to a Redis
 * on the service's segment costs well under a millisecond, and a reply that
 * must wait for the write (the durability rule) then needs no second
 * pending queue. A Redis that does not answer costs at most the timeout
 * per write; the connection is then dropped and made again at the next.
 *
 * The standby follows the hash by keyspace notifications, as rtpengine's
 * standby does: a second connection SUBSCRIBEs to
 * __keyspace@DB__:icepath:calls, with notify-keyspace-events holding K
 * (keyspace), h (HSET, HDEL) and g (DEL); icepathd adds them with CONFIG
 * SET when they are missing, and when CONFIG is refused (renamed away, an
 * ACL) says so and what to set, and the standby polls every second
 * instead. Why one hash read again whole (HGETALL) on a notification
 * rather than per-call keys: a keyspace event names the key only, not
 * the field, so with one hash it cannot say which call changed; per-call
 * keys would say it, but a turn's commit would then be a MULTI over many
 * keys and the whole rewrite after a reconnect a SCAN + DEL of keys
 * the standby may be reading. One hash keeps the commit one MULTI/EXEC
 * on one key and the standby's copy one consistent read; the reads are
 * coalesced (every notification the loop's turn found, one HGETALL), so
 * the cost is one read of the calls per turn with changes, which holds
 * for the thousands of calls a relay carries (see README).
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "daemon_log.h"
#include "relay.h"
#include "relay_state.h"

#define RELAY_REDIS_KEY	       "icepath:calls"
#define RELAY_REDIS_TIMEOUT_MS 1000 /* a command's reply */
/* A Redis on the service's segment answers a connect in well under this;
 * a host that does not answer at all must not stall the loop for long. */
#define RELAY_REDIS_CONNECT_MS 200
#define RELAY_REDIS_RETRY_MS   5000 /* between connects after a failure */

struct relay_redis {
	redisContext *c;
	char where[NETADDR_STRLEN + 16]; /* "redis HOST:PORT/DB", for log lines */
	bool down_logged;
	bool synced; /* the hash holds every call: later writes are the changes */
	uint64_t retry_ms; /* no connect before (the loop's clock) */
	uint64_t now_ms;
	/* the standby's subscriber connection (NULL: none, the standby polls) */
	redisContext *sub;
	bool sub_off_logged;
};

static void drop_quiet(struct relay_redis *rr)
{
	rr->down_logged = true;
	rr->synced = false;
	redisFree(rr->c);
	rr->c = NULL;
	rr->retry_ms = rr->now_ms + RELAY_REDIS_RETRY_MS;
}

static void drop(struct relay_redis *rr, const char *what)
{
	if (!rr->down_logged)
		log_err("%s: %s: %s; calls are not replicated until it answers again", rr->where,
			what, rr->c && rr->c->errstr[0] ? rr->c->errstr : "no answer");
	drop_quiet(rr);
}

/* One command of the connect's handshake, refused by the server: said with
 * its reply's text (Redis never echoes the password) and what to do. */
static void refused(struct relay_redis *rr, const char *cmd, const redisReply *rep,
		    const char *fix)
{
	if (!rr->down_logged)
		log_err("%s: %s refused: %s; %s; calls are not replicated until it is accepted "
			"(retried every %u s)",
			rr->where, cmd,
			!rep ? "no answer" : rep->type == REDIS_REPLY_ERROR ? rep->str : "odd reply",
			fix, RELAY_REDIS_RETRY_MS / 1000);
	drop_quiet(rr);
}

static int ensure(struct relay *r)
{
	struct relay_redis *rr = r->redis;
	struct timeval tv = {RELAY_REDIS_TIMEOUT_MS / 1000, (RELAY_REDIS_TIMEOUT_MS % 1000) * 1000};
	struct timeval ctv = {0, RELAY_REDIS_CONNECT_MS * 1000};
	char host[NETADDR_STRLEN];
	redisReply *rep;

	rr->now_ms = r->now_ms;
	if (rr->c)
		return 0;
	if (rr->retry_ms && r->now_ms < rr->retry_ms)
		return -EAGAIN; /* the write is lost for Redis; the state file has it */
	netaddr_ip_str(&r->opts.redis, host, sizeof(host));
	rr->c = redisConnectWithTimeout(host, netaddr_port(&r->opts.redis), ctv);
	if (!rr->c || rr->c->err) {
		drop(rr, "cannot connect");
		return -ECONNREFUSED;
	}
	redisSetTimeout(rr->c, tv);
	if (r->opts.redis_pass[0]) {
		/* binary-safe arguments: the password goes as it is, and is
		 * never in a log line (a refusal says Redis' text only) */
		rep = r->opts.redis_user[0] ? redisCommand(rr->c, "AUTH %s %s", r->opts.redis_user,
							   r->opts.redis_pass)
					    : redisCommand(rr->c, "AUTH %s", r->opts.redis_pass);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			refused(rr, "AUTH", rep,
				r->opts.redis_user[0]
					? "check --redis-user and the password in --redis-pass-file "
					  "against the server's ACL (ACL LIST)"
					: "check the password in --redis-pass-file against the server's "
					  "requirepass");
			freeReplyObject(rep);
			return -EACCES;
		}
		freeReplyObject(rep);
	}
	if (r->opts.redis_db) {
		rep = redisCommand(rr->c, "SELECT %u", r->opts.redis_db);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			refused(rr, "SELECT", rep, "check the /DB of --redis (CONFIG GET databases)");
			freeReplyObject(rep);
			return -EIO;
		}
		freeReplyObject(rep);
	}
	/* a server that wants a password refuses even PING without one:
	 * found here, once, rather than by every write */
	rep = redisCommand(rr->c, "PING");
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		refused(rr, "PING", rep,
			rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOAUTH", 6)
				? "the server wants a password: give --redis-pass-file FILE"
				: "see the server's log");
		freeReplyObject(rep);
		return -EIO;
	}
	freeReplyObject(rep);
	if (rr->down_logged)
		log_info("%s answers again", rr->where);
	rr->down_logged = false;
	return 0;
}

/* AUTH on a new connection c, as ensure() does it; the reply, for the caller */
static redisReply *auth(struct relay *r, redisContext *c)
{
	return r->opts.redis_user[0]
		       ? redisCommand(c, "AUTH %s %s", r->opts.redis_user, r->opts.redis_pass)
		       : redisCommand(c, "AUTH %s", r->opts.redis_pass);
}

/* notify-keyspace-events has what the standby needs: K and h, g (or A) */
static bool notify_enough(const char *v)
{
	bool all = strchr(v, 'A') != NULL;

	return strchr(v, 'K') && (all || (strchr(v, 'h') && strchr(v, 'g')));
}

/* Say once why the standby polls. */
static void sub_off(struct relay_redis *rr, const char *fmt, const char *a, const char *b)
{
	char why[300];

	if (rr->sub_off_logged)
		return;
	rr->sub_off_logged = true;
	snprintf(why, sizeof(why), fmt, a, b);
	log_warn("%s: %s; the standby polls the calls every %u ms instead", rr->where, why,
		 RELAY_HA_REFRESH_MS);
}

int relay_redis_subscribe(struct relay *r)
{
	struct relay_redis *rr = r->redis;
	struct timeval tv = {RELAY_REDIS_TIMEOUT_MS / 1000, (RELAY_REDIS_TIMEOUT_MS % 1000) * 1000};
	struct timeval ctv = {0, RELAY_REDIS_CONNECT_MS * 1000};
	char host[NETADDR_STRLEN], chan[64], events[64] = "";
	redisContext *c;
	redisReply *rep;

	if (!rr)
		return -ENOTCONN;
	if (rr->sub)
		return rr->sub->fd;
	netaddr_ip_str(&r->opts.redis, host, sizeof(host));
	c = redisConnectWithTimeout(host, netaddr_port(&r->opts.redis), ctv);
	if (!c || c->err) {
		redisFree(c);
		return -ECONNREFUSED; /* the store's connection says why */
	}
	redisSetTimeout(c, tv);
	if (r->opts.redis_pass[0]) {
		rep = auth(r, c);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			freeReplyObject(rep);
			redisFree(c);
			return -EACCES; /* said by the store's connection */
		}
		freeReplyObject(rep);
	}
	rep = redisCommand(c, "CONFIG GET notify-keyspace-events");
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		snprintf(events, sizeof(events), "%s", rep->element[1]->str);
	else {
		sub_off(rr,
			"keyspace notifications unknown: CONFIG GET notify-keyspace-events was "
			"refused (%s)%s; set notify-keyspace-events Kgh in redis.conf",
			rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "no answer", "");
		freeReplyObject(rep);
		redisFree(c);
		return -EPERM;
	}
	freeReplyObject(rep);
	if (!notify_enough(events)) {
		char want[80];

		/* keep what is set (for other users), add K, g, h */
		snprintf(want, sizeof(want), "%sKgh", events);
		rep = redisCommand(c, "CONFIG SET notify-keyspace-events %s", want);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			sub_off(rr,
				"the server has keyspace notifications off (notify-keyspace-events "
				"'%s') and refused CONFIG SET (%s); set notify-keyspace-events Kgh "
				"in redis.conf",
				events, rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "no answer");
			freeReplyObject(rep);
			redisFree(c);
			return -EPERM;
		}
		freeReplyObject(rep);
		log_info("%s: notify-keyspace-events '%s' -> '%s' (CONFIG SET): the standby "
			 "follows the calls by keyspace notifications",
			 rr->where, events, want);
	}
	snprintf(chan, sizeof(chan), "__keyspace@%u__:%s", r->opts.redis_db, RELAY_REDIS_KEY);
	rep = redisCommand(c, "SUBSCRIBE %s", chan);
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		sub_off(rr, "SUBSCRIBE %s refused (%s)", chan,
			rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "no answer");
		freeReplyObject(rep);
		redisFree(c);
		return -EIO;
	}
	freeReplyObject(rep);
	rr->sub = c;
	rr->sub_off_logged = false;
	log_info("%s: subscribed to %s: the standby re-reads the calls on each change", rr->where,
		 chan);
	return c->fd;
}

int relay_redis_sub_read(struct relay *r)
{
	struct relay_redis *rr = r->redis;
	redisReply *rep;
	int n = 0;

	if (!rr || !rr->sub)
		return -ENOTCONN;
	/* one read: epoll said the socket is readable, so it does not block */
	if (redisBufferRead(rr->sub) != REDIS_OK)
		goto lost;
	for (;;) {
		if (redisGetReplyFromReader(rr->sub, (void **)&rep) != REDIS_OK)
			goto lost;
		if (!rep)
			break;
		/* ["message", channel, event]: hset, hdel, del... all mean "read again" */
		if (rep->type == REDIS_REPLY_ARRAY)
			n++;
		freeReplyObject(rep);
	}
	return n;
lost:
	log_warn("%s: the subscriber connection is lost (%s); the standby polls until it is "
		 "made again",
		 rr->where, rr->sub->errstr[0] ? rr->sub->errstr : "closed");
	relay_redis_sub_close(r);
	return -EIO;
}

void relay_redis_sub_close(struct relay *r)
{
	if (!r->redis || !r->redis->sub)
		return;
	redisFree(r->redis->sub);
	r->redis->sub = NULL;
}

int relay_redis_open(struct relay *r)
{
	struct relay_redis *rr;
	char a[NETADDR_STRLEN];

	if (!netaddr_family(&r->opts.redis))
		return 0;
	rr = calloc(1, sizeof(*rr));
	if (!rr)
		return -ENOMEM;
	snprintf(rr->where, sizeof(rr->where), "redis %s/%u",
		 netaddr_str(&r->opts.redis, a, sizeof(a)), r->opts.redis_db);
	r->redis = rr;
	/* not fatal: an active relays without it, a standby retries */
	if (!ensure(r))
		log_info("%s: %s", rr->where,
			 r->opts.redis_standby ? "standby, reading the active's calls"
					       : "every call's state is written here");
	return 0;
}

void relay_redis_close(struct relay *r)
{
	if (!r->redis)
		return;
	redisFree(r->redis->sub);
	redisFree(r->redis->c);
	free(r->redis);
	r->redis = NULL;
}

/* Queue one HSET of c's records; -ENOMEM if they cannot be made. */
static int append_call(struct relay *r, const struct call *c)
{
	char *rec = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&rec, &len);

	if (!f)
		return -ENOMEM;
	relay_state_put_call(f, r, c);
	fclose(f);
	redisAppendCommand(r->redis->c, "HSET %s %s %b", RELAY_REDIS_KEY, c->id, rec, len);
	free(rec);
	return 0;
}

void relay_redis_resync(struct relay *r)
{
	if (r->redis)
		r->redis->synced = false;
}

int relay_redis_save(struct relay *r)
{
	struct relay_redis *rr = r->redis;
	bool whole;
	unsigned n = 0, i;
	redisReply *rep;
	int err = 0;

	if (!rr || r->opts.redis_standby)
		return 0;
	if (rr->synced && !r->state_dirty && !r->n_state_gone)
		return 0; /* nothing changed this turn */
	if (ensure(r))
		return -EIO;
	whole = !rr->synced;
	redisAppendCommand(rr->c, "MULTI");
	if (whole) {
		redisAppendCommand(rr->c, "DEL %s", RELAY_REDIS_KEY);
		n++;
		for (struct call *c = r->calls.head; c; c = c->next, n++)
			if (append_call(r, c))
				goto broken;
	} else {
		for (i = 0; i < r->n_state_gone; i++, n++)
			redisAppendCommand(rr->c, "HDEL %s %s", RELAY_REDIS_KEY, r->state_gone[i]);
		for (struct call *c = r->state_dirty; c; c = c->state_next, n++)
			if (append_call(r, c))
				goto broken;
	}
	redisAppendCommand(rr->c, "EXEC");
	/* MULTI, the n commands (QUEUED) and EXEC's array */
	for (i = 0; i < n + 2; i++) {
		if (redisGetReply(rr->c, (void **)&rep) != REDIS_OK) {
			drop(rr, "write failed");
			return -EIO;
		}
		if (rep->type == REDIS_REPLY_ERROR ||
		    (i == n + 1 && rep->type != REDIS_REPLY_ARRAY)) {
			log_err("%s: %s", rr->where,
				rep->type == REDIS_REPLY_ERROR ? rep->str : "transaction aborted");
			err = -EIO;
		}
		freeReplyObject(rep);
	}
	rr->synced = !err;
	return err;
broken:
	/* a transaction queued in part: drop the connection, write whole later */
	drop(rr, "out of memory for a record");
	return -ENOMEM;
}

int relay_redis_load(struct relay *r, char **out, size_t *out_len, unsigned *ncalls)
{
	struct relay_redis *rr = r->redis;
	redisReply *rep;
	size_t len = 0;
	char *buf;
	FILE *f;

	*out = NULL;
	*out_len = 0;
	*ncalls = 0;
	if (!rr || ensure(r))
		return -EIO;
	rep = redisCommand(rr->c, "HGETALL %s", RELAY_REDIS_KEY);
	if (!rep) {
		drop(rr, "read failed");
		return -EIO;
	}
	if (rep->type != REDIS_REPLY_ARRAY) {
		log_err("%s: HGETALL %s: %s", rr->where, RELAY_REDIS_KEY,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "not a hash");
		freeReplyObject(rep);
		return -EIO;
	}
	buf = NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		freeReplyObject(rep);
		return -ENOMEM;
	}
	/* a state file of the calls' records: what relay_state_parse() reads */
	fprintf(f, "%s\n", RELAY_STATE_MAGIC);
	for (size_t i = 1; i < rep->elements; i += 2) {
		if (rep->element[i]->type != REDIS_REPLY_STRING)
			continue;
		fwrite(rep->element[i]->str, 1, rep->element[i]->len, f);
		(*ncalls)++;
	}
	fputs("end\n", f);
	fclose(f);
	freeReplyObject(rep);
	*out = buf;
	*out_len = len;
	return 0;
}

bool relay_redis_up(const struct relay *r)
{
	return r->redis && r->redis->c;
}

const char *relay_redis_where(const struct relay *r)
{
	return r->redis ? r->redis->where : "redis";
}
