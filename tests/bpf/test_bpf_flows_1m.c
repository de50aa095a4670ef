// SPDX-License-Identifier: GPL-2.0-only
/*
 * One million flows through fastpath.h (batched map updates) in a table
 * asked for at that size (fastpath_opts.max_flows), counted,
 * sampled, the table filled to its last slot (the next install is -ENOSPC)
 * and emptied again. Times are printed for information, never asserted.
 * Needs root (BPF maps); no interface is attached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icepath/fastpath.h"
#include "icepath/fp_abi.h"

#define N_FLOWS 1000000u
/* The table asked for at open (fastpath_opts.max_flows): a million and a
 * few, so filling it to the last slot is a step of its own. */
#define TABLE_FLOWS (N_FLOWS + 1000u)

struct env {
	struct fastpath *fp;
	char pin[128];
	struct fastpath_flow *flows;
};
static struct env E;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Flow i: from 10.0.0.0 + i (RFC 1918, map entries only: no packet is
 * sent) to the relay's 192.0.2.1:30000, every 4th one over IPv6. */
static void make_flow(struct fastpath_flow *f, uint32_t i)
{
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};

	memset(f, 0, sizeof(*f));
	if (i % 4 == 3) {
		v6[12] = i >> 24;
		v6[13] = i >> 16;
		v6[14] = i >> 8;
		v6[15] = i;
		netaddr_from_v6(&f->remote, v6, 5000 + i % 1000);
		v6[15] = 1;
		v6[12] = v6[13] = v6[14] = 0;
		netaddr_from_v6(&f->local, v6, 30000);
		v6[3] = 0xb9;
		netaddr_from_v6(&f->out_src, v6, 30002);
		netaddr_from_v6(&f->out_dst, v6, 6000);
	} else {
		netaddr_from_v4(&f->remote, htonl(0x0a000000u + i), 5000 + i % 1000);
		netaddr_from_v4(&f->local, htonl(0xc0000201u), 30000);
		netaddr_from_v4(&f->out_src, htonl(0xc6336401u), 30002);
		netaddr_from_v4(&f->out_dst, htonl(0xc6336414u), 6000 + i % 1000);
	}
	f->flags = FASTPATH_FLOW_FORWARD | FASTPATH_FLOW_RTP | FASTPATH_FLOW_RTCP;
	f->id = i;
}

struct check_ctx {
	uint8_t *seen;
	unsigned bad;
};

static int check_one(const struct fastpath_flow *f, void *ctx)
{
	struct check_ctx *c = ctx;
	struct fastpath_flow want;

	if (f->id >= N_FLOWS || c->seen[f->id]) {
		c->bad++;
		return 0;
	}
	c->seen[f->id] = 1;
	make_flow(&want, (uint32_t)f->id);
	if (!netaddr_equal(&f->remote, &want.remote) || !netaddr_equal(&f->out_dst, &want.out_dst))
		c->bad++;
	return 0;
}

/* Every installed flow has a counter slot of its own (read from the
 * pinned flows map itself); returns how many flows there are. */
static uint32_t distinct_slots(void)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	static struct fp_flow_key keys[4096];
	static struct fp_flow_val vals[4096];
	uint8_t *seen = calloc(TABLE_FLOWS, 1);
	__u32 token = 0, count, i, total = 0;
	char path[200];
	int fd, err, first = 1;

	assert_non_null(seen);
	snprintf(path, sizeof(path), "%s/flows", E.pin);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	do {
		count = 4096;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &count,
					   &bo)
			      ? -errno
			      : 0;
		assert_true(err == 0 || err == -ENOENT);
		first = 0;
		for (i = 0; i < count; i++) {
			assert_true(vals[i].slot < TABLE_FLOWS);
			if (seen[vals[i].slot])
				fail_msg("slot %u given to two flows", vals[i].slot);
			seen[vals[i].slot] = 1;
		}
		total += count;
	} while (!err);
	close(fd);
	free(seen);
	return total;
}

static void million(void **state)
{
	struct check_ctx c = {0};
	struct fastpath_counters n;
	struct fastpath_flow extra;
	uint32_t i, fill;
	double t;
	struct fastpath_flow *more;

	t = now_s();
	assert_int_equal(fastpath_flow_install_many(E.fp, E.flows, N_FLOWS), 0);
	print_message("installed %u flows in %.2f s\n", N_FLOWS, now_s() - t);

	t = now_s();
	assert_int_equal(fastpath_flow_count(E.fp), N_FLOWS);
	print_message("counted them in %.2f s\n", now_s() - t);

	/* Every flow comes back once, with its own addresses. */
	c.seen = calloc(N_FLOWS, 1);
	assert_non_null(c.seen);
	assert_int_equal(fastpath_flow_foreach(E.fp, check_one, &c), 0);
	assert_int_equal(c.bad, 0);
	for (i = 0; i < N_FLOWS; i++)
		if (!c.seen[i])
			fail_msg("flow %u missing from foreach", i);
	free(c.seen);

	for (i = 0; i < N_FLOWS; i += 99991) {
		assert_int_equal(fastpath_flow_counters(E.fp, &E.flows[i], &n), 0);
		assert_int_equal(n.packets, 0);
	}

	/* Installing the same flows again replaces, never duplicates. */
	assert_int_equal(fastpath_flow_install_many(E.fp, E.flows, 1000), 0);
	assert_int_equal(fastpath_flow_count(E.fp), N_FLOWS);
	assert_int_equal(distinct_slots(), N_FLOWS);

	/* Fill the table to TABLE_FLOWS; one more is refused as full. */
	fill = TABLE_FLOWS - N_FLOWS;
	more = calloc(fill + 1, sizeof(*more));
	assert_non_null(more);
	for (i = 0; i <= fill; i++)
		make_flow(&more[i], N_FLOWS + i);
	assert_int_equal(fastpath_flow_install_many(E.fp, more, fill), 0);
	assert_int_equal(fastpath_flow_count(E.fp), TABLE_FLOWS);
	assert_int_equal(distinct_slots(), TABLE_FLOWS);
	extra = more[fill];
	assert_int_equal(fastpath_flow_install(E.fp, &extra), -ENOSPC);
	assert_int_equal(fastpath_flow_remove_many(E.fp, more, fill), 0);
	free(more);

	t = now_s();
	assert_int_equal(fastpath_flow_remove_many(E.fp, E.flows, N_FLOWS), 0);
	print_message("removed them in %.2f s\n", now_s() - t);
	assert_int_equal(fastpath_flow_count(E.fp), 0);
	/* Removing what is gone says so. */
	assert_int_equal(fastpath_flow_remove_many(E.fp, E.flows, 10), -ENOENT);
}

static int setup(void **state)
{
	struct fastpath_opts o = {.port_min = 30000,
				  .port_max = 40000,
				  .mode = FASTPATH_XDP_OFF,
				  .max_flows = TABLE_FLOWS};
	uint32_t i;

	if (getuid() != 0) {
		print_message("BPF tests need root\n");
		return -1;
	}
	snprintf(E.pin, sizeof(E.pin), "/sys/fs/bpf/icepath-test-1m-%d", (int)getpid());
	o.pin_path = E.pin;
	E.flows = calloc(N_FLOWS, sizeof(*E.flows));
	if (!E.flows)
		return -1;
	for (i = 0; i < N_FLOWS; i++)
		make_flow(&E.flows[i], i);
	return fastpath_open(&E.fp, &o) ? -1 : 0;
}

static int teardown(void **state)
{
	free(E.flows);
	fastpath_close(E.fp);
	return fastpath_destroy(E.pin) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(million),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
