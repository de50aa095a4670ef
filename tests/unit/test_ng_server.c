// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng_server: held replies (released by the daemon after its commit) and
 * parked requests (a handler answers later with ng_server_complete()):
 * nothing is acknowledged before its release, a retransmission is never run
 * twice (held, parked, or answered), a parked request times out with an
 * error, a full table refuses with one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/ng.h"
#include "icepath/compiler.h"

#define OFFER(ck, id) ck " d7:command5:offer7:call-id" id "8:from-tag1:f3:sdp3:v=0e"
#define ANSWER(ck, id) ck " d7:command6:answer7:call-id" id "8:from-tag1:f6:to-tag1:t3:sdp3:v=0e"

struct sent {
	struct netaddr to;
	bool has_to;
	uint8_t data[2048];
	size_t len;
};

/* The handlers' world: which calls ran, which were parked, what was sent. */
struct world {
	struct ng_server srv;
	struct netaddr from;
	uint64_t now;
	unsigned offers, answers;
	bool park;		/* offers park instead of answering */
	uint64_t tokens[8];	/* parked offers */
	unsigned n_tokens;
	bool answer_completes;	/* the answer handler completes the first parked offer */
	uint64_t expired[8];
	unsigned n_expired;
	struct sent sent[16];
	unsigned n_sent;
};

static int w_offer(void *ctx, uint64_t now_ms, const struct ng_request *req, struct ng_reply *rep)
{
	struct world *w = ctx;

	(void)now_ms;
	w->offers++;
	if (w->park) {
		w->tokens[w->n_tokens++] = rep->token;
		return NG_PENDING;
	}
	rep->sdp_len = (size_t)snprintf(rep->sdp, rep->sdp_cap, "v=0 offer %s", req->call_id);
	return 0;
}

static int w_answer(void *ctx, uint64_t now_ms, const struct ng_request *req,
		    struct ng_reply *rep)
{
	struct world *w = ctx;

	w->answers++;
	if (w->answer_completes && w->n_tokens) {
		/* from inside another request's handler: its own scratch */
		struct ng_reply *c = ng_server_reply(&w->srv);

		c->sdp_len = (size_t)snprintf(c->sdp, c->sdp_cap, "v=0 gathered");
		assert_int_equal(ng_server_complete(&w->srv, now_ms, w->tokens[0], c), 0);
	}
	rep->sdp_len = (size_t)snprintf(rep->sdp, rep->sdp_cap, "v=0 answer %s", req->call_id);
	return 0;
}

static void w_expired(void *ctx, uint64_t token)
{
	struct world *w = ctx;

	w->expired[w->n_expired++] = token;
}

static void w_send(void *ctx, const struct netaddr *to, const uint8_t *d, size_t len)
{
	struct world *w = ctx;
	struct sent *s = &w->sent[w->n_sent++];

	assert_true(len <= sizeof(s->data));
	s->has_to = to != NULL;
	if (to)
		s->to = *to;
	memcpy(s->data, d, len);
	s->len = len;
}

static const struct ng_ops w_ops = {.offer = w_offer, .answer = w_answer};

static struct world *world_new(bool hold, unsigned pending_max)
{
	struct world *w = calloc(1, sizeof(*w));
	struct ng_server_config cfg = {.hold = hold,
				       .pending_max = pending_max,
				       .pending_ttl_ms = 5000,
				       .on_expired = w_expired};

	assert_non_null(w);
	assert_int_equal(ng_server_init(&w->srv, &w_ops, w, &cfg), 0);
	netaddr_from_str(&w->from, "192.0.2.7", 5060);
	w->now = 1000;
	return w;
}

static void world_free(struct world *w)
{
	ng_server_destroy(&w->srv);
	free(w);
}

static ssize_t w_handle(struct world *w, const char *dgram)
{
	static uint8_t out[NG_DGRAM_MAX];

	return ng_handle(&w->srv, w->now, &w->from, (const uint8_t *)dgram, strlen(dgram), out,
			 sizeof(out));
}

/* The reply sent[i] parses, carries cookie and has this result. */
static struct ng_reply *w_reply(struct world *w, unsigned i, const char *cookie,
				enum ng_result want)
{
	static struct ng_reply rep;
	char why[NG_REASON_MAX];

	assert_true(i < w->n_sent);
	if (ng_reply_parse(w->sent[i].data, w->sent[i].len, cookie, &rep, why, sizeof(why)))
		fail_msg("reply %u does not parse: %s", i, why);
	if (rep.result != want)
		fail_msg("reply %u: result %s (%s)", i, ng_result_str(rep.result), rep.error_reason);
	assert_true(w->sent[i].has_to);
	assert_true(netaddr_equal(&w->sent[i].to, &w->from));
	return &rep;
}

/* Held: nothing leaves before the release; a retransmission in the same
 * turn is answered from the cache at the release, not run again. */
static void hold_until_release(void **state)
{
	struct world *w = world_new(true, 0);
	struct ng_reply *rep;

	(void)state;
	assert_int_equal(w_handle(w, OFFER("h1", "1:a")), 0);
	assert_int_equal(ng_server_held(&w->srv), 1);
	assert_int_equal(w->offers, 1);
	assert_int_equal(w_handle(w, OFFER("h1", "1:a")), 0); /* retransmission */
	assert_int_equal(w_handle(w, "h2 d7:command4:pinge"), 0);
	assert_int_equal(w->offers, 1);
	assert_int_equal(ng_server_held(&w->srv), 3);
	assert_int_equal(w->n_sent, 0);

	assert_int_equal(ng_server_release(&w->srv, w_send, w), 3);
	assert_int_equal(ng_server_held(&w->srv), 0);
	rep = w_reply(w, 0, "h1", NG_RESULT_OK);
	assert_memory_equal(rep->sdp, "v=0 offer a", rep->sdp_len);
	assert_int_equal(w->sent[0].len, w->sent[1].len);
	assert_memory_equal(w->sent[0].data, w->sent[1].data, w->sent[0].len);
	w_reply(w, 2, "h2", NG_RESULT_PONG);
	assert_int_equal(w->srv.counters.cache_hits, 1);
	assert_int_equal(w->srv.counters.held, 3);

	/* nothing left: a second release sends nothing */
	assert_int_equal(ng_server_release(&w->srv, w_send, w), 0);
	world_free(w);
}

/* Parked: the retransmission is dropped while pending, the completion
 * answers once, a later retransmission gets the same bytes from the cache;
 * the token is dead after. */
static void park_complete_retransmit(void **state)
{
	struct world *w = world_new(true, 0);
	struct ng_reply *rep, *c;
	uint8_t first[2048];
	size_t first_len;

	(void)state;
	w->park = true;
	/* an unknown flag: its warning must reach the completed reply */
	assert_int_equal(w_handle(w, "p1 d7:command5:offer7:call-id1:b8:from-tag1:f"
				     "3:sdp3:v=05:flagsl6:frobleee"),
			 0);
	assert_int_equal(w->n_tokens, 1);
	assert_int_equal(ng_server_pending(&w->srv), 1);
	assert_int_equal(ng_server_held(&w->srv), 0);
	assert_int_equal(ng_server_next_deadline(&w->srv), w->now + 5000);

	w->now += 100;
	assert_int_equal(w_handle(w, "p1 d7:command5:offer7:call-id1:b8:from-tag1:f"
				     "3:sdp3:v=05:flagsl6:frobleee"),
			 0);
	assert_int_equal(w->offers, 1);
	assert_int_equal(w->srv.counters.pending_retrans, 1);
	assert_int_equal(ng_server_held(&w->srv), 0);
	ng_server_tick(&w->srv, w->now); /* not due */
	assert_int_equal(ng_server_pending(&w->srv), 1);

	c = ng_server_reply(&w->srv);
	c->sdp_len = (size_t)snprintf(c->sdp, c->sdp_cap, "v=0 gathered b");
	assert_int_equal(ng_server_complete(&w->srv, w->now, w->tokens[0], c), 0);
	assert_int_equal(ng_server_pending(&w->srv), 0);
	assert_int_equal(ng_server_next_deadline(&w->srv), UINT64_MAX);
	assert_int_equal(ng_server_held(&w->srv), 1);
	assert_int_equal(ng_server_complete(&w->srv, w->now, w->tokens[0], c), -ENOENT);

	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	rep = w_reply(w, 0, "p1", NG_RESULT_OK);
	assert_memory_equal(rep->sdp, "v=0 gathered b", rep->sdp_len);
	assert_non_null(strstr(rep->warning, "frob"));
	first_len = w->sent[0].len;
	memcpy(first, w->sent[0].data, first_len);

	assert_int_equal(w_handle(w, "p1 d7:command5:offer7:call-id1:b8:from-tag1:f"
				     "3:sdp3:v=05:flagsl6:frobleee"),
			 0);
	assert_int_equal(w->offers, 1);
	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	assert_int_equal(w->sent[1].len, first_len);
	assert_memory_equal(w->sent[1].data, first, first_len);
	assert_int_equal(w->srv.counters.completed, 1);
	assert_int_equal(w->n_expired, 0);
	world_free(w);
}

/* Nobody completes: at its deadline the request gets an error, the daemon
 * is told the token, a retransmission gets that error, not a second run. */
static void park_times_out(void **state)
{
	struct world *w = world_new(true, 0);
	struct ng_reply *c;

	(void)state;
	w->park = true;
	assert_int_equal(w_handle(w, OFFER("t1", "1:c")), 0);
	ng_server_tick(&w->srv, w->now + 4999);
	assert_int_equal(ng_server_pending(&w->srv), 1);
	assert_int_equal(w->n_expired, 0);
	w->now += 5000;
	ng_server_tick(&w->srv, w->now);
	assert_int_equal(ng_server_pending(&w->srv), 0);
	assert_int_equal(w->n_expired, 1);
	assert_int_equal(w->expired[0], w->tokens[0]);
	assert_int_equal(w->srv.counters.expired, 1);
	assert_int_equal(w->srv.counters.command_errors[NG_CMD_OFFER], 1);
	c = ng_server_reply(&w->srv);
	assert_int_equal(ng_server_complete(&w->srv, w->now, w->tokens[0], c), -ENOENT);

	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	assert_string_equal(w_reply(w, 0, "t1", NG_RESULT_ERROR)->error_reason,
			    "offer timed out after 5000 ms");
	assert_int_equal(w_handle(w, OFFER("t1", "1:c")), 0);
	assert_int_equal(w->offers, 1);
	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	w_reply(w, 1, "t1", NG_RESULT_ERROR);
	world_free(w);
}

/* A full table refuses at once with an error, and the token is dead. */
static void park_table_full(void **state)
{
	struct world *w = world_new(true, 1);

	(void)state;
	w->park = true;
	assert_int_equal(w_handle(w, OFFER("f1", "1:d")), 0);
	assert_int_equal(w_handle(w, OFFER("f2", "1:e")), 0);
	assert_int_equal(ng_server_pending(&w->srv), 1);
	assert_int_equal(w->n_expired, 1);
	assert_int_equal(w->expired[0], w->tokens[1]);
	assert_int_equal(w->srv.counters.parked_full, 1);
	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	assert_non_null(strstr(w_reply(w, 0, "f2", NG_RESULT_ERROR)->error_reason,
			       "1 requests already waiting"));
	/* the slot frees with the completion */
	assert_int_equal(ng_server_complete(&w->srv, w->now, w->tokens[0], ng_server_reply(&w->srv)),
			 0);
	assert_int_equal(w_handle(w, OFFER("f3", "1:g")), 0);
	assert_int_equal(ng_server_pending(&w->srv), 1);
	world_free(w);
}

/* A completion made inside another request's handler; and without hold,
 * ng_handle() answers at once while completions still wait for release. */
static void complete_inside_handler_unheld(void **state)
{
	static uint8_t out[NG_DGRAM_MAX];
	struct world *w = world_new(false, 0);
	struct ng_reply rep;
	char why[NG_REASON_MAX];
	ssize_t n;

	(void)state;
	w->park = true;
	w->answer_completes = true;
	n = ng_handle(&w->srv, w->now, &w->from, (const uint8_t *)OFFER("u1", "1:h"),
		      strlen(OFFER("u1", "1:h")), out, sizeof(out));
	assert_int_equal(n, 0);
	n = ng_handle(&w->srv, w->now, &w->from, (const uint8_t *)ANSWER("u2", "1:h"),
		      strlen(ANSWER("u2", "1:h")), out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(ng_reply_parse(out, (size_t)n, "u2", &rep, why, sizeof(why)), 0);
	assert_memory_equal(rep.sdp, "v=0 answer h", rep.sdp_len);
	assert_int_equal(ng_server_held(&w->srv), 1);
	assert_int_equal(ng_server_release(&w->srv, w_send, w), 1);
	assert_memory_equal(w_reply(w, 0, "u1", NG_RESULT_OK)->sdp, "v=0 gathered", 12);
	world_free(w);
}

/* Destroying with parked requests and held replies frees them (ASan). */
static void destroy_with_pending(void **state)
{
	struct world *w = world_new(true, 0);

	(void)state;
	w->park = true;
	assert_int_equal(w_handle(w, OFFER("d1", "1:i")), 0);
	w->park = false;
	assert_int_equal(w_handle(w, OFFER("d2", "1:j")), 0);
	assert_int_equal(ng_server_pending(&w->srv), 1);
	assert_int_equal(ng_server_held(&w->srv), 1);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hold_until_release),
		cmocka_unit_test(park_complete_retransmit),
		cmocka_unit_test(park_times_out),
		cmocka_unit_test(park_table_full),
		cmocka_unit_test(complete_inside_handler_unheld),
		cmocka_unit_test(destroy_with_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
