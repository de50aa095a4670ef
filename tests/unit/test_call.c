// SPDX-License-Identifier: GPL-2.0-only
/* call: leg state machine, call table, media port pool; timer heap order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/call.h"
#include "daemon/daemon_log.h"
#include "daemon/timerheap.h"

struct seen {
	unsigned n;
	enum call_leg_state from[16], to[16];
};

static void on_state(void *ctx, struct call_leg *l, enum call_leg_state from,
		     enum call_leg_state to, const char *why)
{
	struct seen *s = ctx;

	if (s->n < 16) {
		s->from[s->n] = from;
		s->to[s->n] = to;
	}
	s->n++;
}

static void state_names(void **state)
{
	for (int s = 0; s < CALL_LEG_STATE_MAX; s++)
		assert_string_not_equal(call_leg_state_str((enum call_leg_state)s), "invalid");
	assert_string_equal(call_leg_state_str(CALL_LEG_STATE_CONSENT_LOST), "consent-lost");
	assert_string_equal(call_leg_state_str(CALL_LEG_STATE_MAX), "invalid");
}

static void transitions_table(void **state)
{
	/* the moves call.h draws, and a few it forbids */
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_NEW, CALL_LEG_STATE_ALLOCATED));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_ALLOCATED, CALL_LEG_STATE_CHECKING));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_ALLOCATED, CALL_LEG_STATE_CONNECTED));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_CHECKING, CALL_LEG_STATE_CONNECTED));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_CONNECTED, CALL_LEG_STATE_CONSENT_LOST));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_CONSENT_LOST, CALL_LEG_STATE_CONNECTED));
	assert_true(call_leg_transition_ok(CALL_LEG_STATE_FAILED, CALL_LEG_STATE_CHECKING));
	for (int s = 0; s < CALL_LEG_STATE_CLOSED; s++)
		assert_true(call_leg_transition_ok((enum call_leg_state)s, CALL_LEG_STATE_CLOSED));
	assert_false(call_leg_transition_ok(CALL_LEG_STATE_NEW, CALL_LEG_STATE_CONNECTED));
	assert_false(call_leg_transition_ok(CALL_LEG_STATE_NEW, CALL_LEG_STATE_CHECKING));
	assert_false(call_leg_transition_ok(CALL_LEG_STATE_CHECKING, CALL_LEG_STATE_CONSENT_LOST));
	assert_false(call_leg_transition_ok(CALL_LEG_STATE_FAILED, CALL_LEG_STATE_CONNECTED));
	for (int s = 0; s < CALL_LEG_STATE_MAX; s++)
		if (s != CALL_LEG_STATE_CLOSED)
			assert_false(call_leg_transition_ok(CALL_LEG_STATE_CLOSED,
							    (enum call_leg_state)s));
	assert_false(call_leg_transition_ok(CALL_LEG_STATE_MAX, CALL_LEG_STATE_NEW));
}

static void transition_raises_events(void **state)
{
	struct call_table t;
	struct seen seen = {0};
	struct call *c;
	struct call_leg *l;

	assert_int_equal(call_table_init(&t, 16), 0);
	t.on_state = on_state;
	t.ctx = &seen;
	assert_int_equal(call_create(&t, "call-1", 1000, &c), 0);
	l = &c->legs[0];
	assert_int_equal(l->state, CALL_LEG_STATE_NEW);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_CONNECTED, "bad", 1001),
			 -EINVAL);
	assert_int_equal(l->state, CALL_LEG_STATE_NEW);
	assert_int_equal(seen.n, 0);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_ALLOCATED, "ports", 1002), 0);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_ALLOCATED, "again", 1003), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(l->state_ms, 1002);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_CHECKING, "ice", 1004), 0);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_CLOSED, "bye", 1005), 0);
	assert_int_equal(call_leg_transition(&t, l, CALL_LEG_STATE_CHECKING, "zombie", 1006),
			 -EINVAL);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.from[1], CALL_LEG_STATE_ALLOCATED);
	assert_int_equal(seen.to[1], CALL_LEG_STATE_CHECKING);
	assert_int_equal(seen.to[2], CALL_LEG_STATE_CLOSED);
	call_table_free(&t);
}

static void settle_follows_streams(void **state)
{
	struct call_table t;
	struct call *c;
	struct call_leg *l;
	struct call_stream *s;

	assert_int_equal(call_table_init(&t, 4), 0);
	assert_int_equal(call_create(&t, "x", 0, &c), 0);
	l = &c->legs[1];
	l->nstreams = 2;
	l->streams[0].active = true;
	l->streams[1].active = false; /* rejected m= line: does not count */
	call_leg_transition(&t, l, CALL_LEG_STATE_ALLOCATED, "", 1);
	call_leg_transition(&t, l, CALL_LEG_STATE_CHECKING, "", 2);
	assert_int_equal(call_leg_settle(&t, l, 3), CALL_LEG_STATE_CHECKING);
	s = &l->streams[0];
	s->ice = true;
	s->remote_set[CALL_COMP_RTP] = true;
	assert_int_equal(call_leg_settle(&t, l, 4), CALL_LEG_STATE_CONNECTED);
	s->consent = false;
	assert_int_equal(call_leg_settle(&t, l, 5), CALL_LEG_STATE_CONSENT_LOST);
	s->consent = true;
	assert_int_equal(call_leg_settle(&t, l, 6), CALL_LEG_STATE_CONNECTED);
	/* a second stream without a pair holds the leg back... */
	l->streams[1].active = true;
	l->streams[1].ice = true;
	s->consent = false;
	assert_int_equal(call_leg_settle(&t, l, 7), CALL_LEG_STATE_CONSENT_LOST);
	s->consent = true;
	assert_int_equal(call_leg_settle(&t, l, 8), CALL_LEG_STATE_CONSENT_LOST);
	/* ...unless it is a BUNDLE member riding on stream 0 (RFC 9143) */
	l->streams[1].bundled = true;
	assert_int_equal(call_leg_settle(&t, l, 9), CALL_LEG_STATE_CONNECTED);
	call_table_free(&t);
}

static void table_find_destroy(void **state)
{
	struct call_table t;
	struct call *c[50], *x;
	char id[32], longid[CALL_ID_MAX + 4];

	assert_int_equal(call_table_init(&t, 7), 0); /* few buckets: chains */
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "id-%d@host", i);
		assert_int_equal(call_create(&t, id, (uint64_t)i, &c[i]), 0);
	}
	assert_int_equal(call_create(&t, "id-7@host", 0, &x), -EEXIST);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	assert_int_equal(call_create(&t, longid, 0, &x), -ENAMETOOLONG);
	assert_int_equal(call_create(&t, "", 0, &x), -ENAMETOOLONG);
	assert_int_equal(t.ncalls, 50);
	assert_ptr_equal(call_find(&t, "id-33@host"), c[33]);
	call_destroy(&t, c[33]);
	call_destroy(&t, c[0]);
	call_destroy(&t, c[49]);
	assert_null(call_find(&t, "id-33@host"));
	assert_ptr_equal(call_find(&t, "id-34@host"), c[34]);
	assert_int_equal(t.ncalls, 47);
	assert_ptr_equal(t.head, c[1]);
	assert_ptr_equal(t.tail, c[48]);
	snprintf(c[5]->legs[0].tag, sizeof(c[5]->legs[0].tag), "from");
	snprintf(c[5]->legs[1].tag, sizeof(c[5]->legs[1].tag), "to");
	assert_ptr_equal(call_leg_by_tag(c[5], "to"), &c[5]->legs[1]);
	assert_ptr_equal(call_leg_other(&c[5]->legs[1]), &c[5]->legs[0]);
	assert_null(call_leg_by_tag(c[5], "nope"));
	assert_null(call_leg_by_tag(c[6], "")); /* empty tags never match */
	assert_int_equal(c[5]->legs[0].streams[3].sock[1].fd, -1);
	call_table_free(&t);
}

static void ports_pairs(void **state)
{
	struct call_ports p;
	int a, b, c;

	assert_int_equal(call_ports_init(&p, 30001, 30007), 0); /* pairs 30002, 30004, 30006 */
	a = call_ports_get(&p);
	b = call_ports_get(&p);
	c = call_ports_get(&p);
	assert_int_equal(a, 30002);
	assert_int_equal(b, 30004);
	assert_int_equal(c, 30006);
	assert_int_equal(call_ports_get(&p), -ENOSPC);
	call_ports_put(&p, 30004);
	call_ports_put(&p, 30005); /* odd: not a pair start, ignored */
	call_ports_put(&p, 40000); /* out of range, ignored */
	assert_int_equal(p.nused, 2);
	assert_int_equal(call_ports_get(&p), 30004);
	call_ports_put(&p, 30002);
	assert_int_equal(call_ports_claim(&p, 30002), 0);
	assert_int_equal(call_ports_claim(&p, 30002), -EBUSY);
	assert_int_equal(call_ports_claim(&p, 30003), -ERANGE);
	call_ports_free(&p);

	/* round robin: a freed pair is reused last */
	assert_int_equal(call_ports_init(&p, 40000, 40009), 0);
	a = call_ports_get(&p);
	call_ports_put(&p, (uint16_t)a);
	assert_int_not_equal(call_ports_get(&p), a);
	call_ports_free(&p);
	assert_int_equal(call_ports_init(&p, 40000, 40000), -EINVAL);
}

static void timerheap_random(void **state)
{
	enum { N = 300 };
	struct timerheap h;
	struct timerheap_node nodes[N];
	uint64_t last = 0;
	unsigned seed = 7, queued = 0;

	timerheap_init(&h);
	for (int i = 0; i < N; i++)
		timerheap_node_init(&nodes[i]);
	assert_int_equal(timerheap_next(&h), TIMERHEAP_NONE);
	for (int round = 0; round < 3000; round++) {
		int i = rand_r(&seed) % N;

		if (rand_r(&seed) % 4 == 0)
			timerheap_remove(&h, &nodes[i]);
		else
			assert_int_equal(
				timerheap_set(&h, &nodes[i], (uint64_t)(rand_r(&seed) % 10000)), 0);
	}
	for (int i = 0; i < N; i++)
		queued += nodes[i].index != SIZE_MAX;
	assert_int_equal(queued, h.n);
	/* popping yields non-decreasing deadlines, each node once */
	while (timerheap_peek(&h)) {
		struct timerheap_node *t = timerheap_peek(&h);

		assert_true(t->deadline_ms >= last);
		last = t->deadline_ms;
		timerheap_remove(&h, t);
		assert_int_equal(t->index, SIZE_MAX);
		queued--;
	}
	assert_int_equal(queued, 0);
	timerheap_set(&h, &nodes[0], 5);
	timerheap_set(&h, &nodes[0], TIMERHEAP_NONE);
	assert_null(timerheap_peek(&h));
	timerheap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_names),
		cmocka_unit_test(transitions_table),
		cmocka_unit_test(transition_raises_events),
		cmocka_unit_test(settle_follows_streams),
		cmocka_unit_test(table_find_destroy),
		cmocka_unit_test(ports_pairs),
		cmocka_unit_test(timerheap_random),
	};

	daemon_log_set_level(DAEMON_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
