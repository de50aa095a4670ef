// SPDX-License-Identifier: GPL-2.0-only
/*
 * icepath-agentbench: what an ICE agent costs at scale, measured with the
 * agent's own API on a virtual clock over an in-memory network.
 *
 *   icepath-agentbench [PAIRS [SECONDS]]     (defaults: 1000 pairs, 60 s)
 *
 * PAIRS pairs of agents (one controlling, one controlled; one stream, one
 * component, one host candidate each) are signalled, started and connected
 * with 1 ms one-way latency; then consent runs for SECONDS virtual seconds,
 * each agent serviced only at the deadline it returned (a min-heap, as an
 * epoll loop with a timer wheel would). Printed:
 *   heap bytes per agent   malloc'd bytes (mallinfo2) of the connected
 *                          agents with drained queues, over 2 * PAIRS
 *   us per agent-second    process CPU time of the consent phase (the agents
 *                          and this harness) over 2 * PAIRS * SECONDS
 * One line, key=value, for tools/bench/agents.sh.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "icepath/ice.h"

#define LATENCY_MS 1
#define PKT_MAX	   512

struct pkt {
	uint64_t at;
	struct netaddr src, dst;
	uint16_t len;
	uint8_t buf[PKT_MAX];
};

struct heap_ent {
	uint64_t at;
	uint32_t id;
};

struct bench {
	unsigned n; /* agents: 2 * pairs; agent 2i controls, 2i+1 is controlled */
	struct ice_agent **a;
	uint64_t *deadline;
	struct netaddr *base;
	unsigned *selected;
	unsigned connected, consent_lost, failed;
	struct pkt *q; /* FIFO ring: one latency, so arrival order is time order */
	size_t qhead, qlen, qcap;
	struct heap_ent *h;
	size_t hlen, hcap;
	uint64_t now, delivered;
};

static void die(const char *what)
{
	fprintf(stderr, "icepath-agentbench: %s\n", what);
	exit(1);
}

static struct netaddr addr_of(unsigned id)
{
	struct netaddr a;

	/* 10.0.0.0/8 (controlling) and 11.0.0.0/8 (controlled): the index in
	 * the address, so delivery needs no lookup table */
	netaddr_from_v4(&a, htonl(((id & 1 ? 11u : 10u) << 24) | (id >> 1)), 5000);
	return a;
}

static unsigned id_of(const struct netaddr *a)
{
	uint32_t ip = ntohl(a->in.sin_addr.s_addr);

	return ((ip & 0xffffff) << 1) | ((ip >> 24) == 11);
}

static void heap_push(struct bench *b, uint64_t at, uint32_t id)
{
	size_t i;

	if (b->hlen == b->hcap) {
		b->hcap = b->hcap ? b->hcap * 2 : 1024;
		b->h = realloc(b->h, b->hcap * sizeof(*b->h));
		if (!b->h)
			die("out of memory");
	}
	i = b->hlen++;
	while (i && b->h[(i - 1) / 2].at > at) {
		b->h[i] = b->h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	b->h[i].at = at;
	b->h[i].id = id;
}

static struct heap_ent heap_pop(struct bench *b)
{
	struct heap_ent top = b->h[0], last = b->h[--b->hlen];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= b->hlen)
			break;
		if (c + 1 < b->hlen && b->h[c + 1].at < b->h[c].at)
			c++;
		if (b->h[c].at >= last.at)
			break;
		b->h[i] = b->h[c];
		i = c;
	}
	if (b->hlen)
		b->h[i] = last;
	return top;
}

static void q_push(struct bench *b, const struct ice_transmit *tx)
{
	struct pkt *p;
	int n;

	if (b->qlen == b->qcap) {
		size_t ncap = b->qcap ? b->qcap * 2 : 1024;
		struct pkt *nq = malloc(ncap * sizeof(*nq));

		if (!nq)
			die("out of memory");
		for (size_t i = 0; i < b->qlen; i++)
			nq[i] = b->q[(b->qhead + i) % b->qcap];
		free(b->q);
		b->q = nq;
		b->qcap = ncap;
		b->qhead = 0;
	}
	p = &b->q[(b->qhead + b->qlen) % b->qcap];
	n = ice_transmit_flatten(tx, p->buf, sizeof(p->buf));
	if (n < 0)
		die("datagram too long");
	p->len = (uint16_t)n;
	p->src = tx->local;
	p->dst = tx->remote;
	p->at = b->now + LATENCY_MS;
	b->qlen++;
}

/* After any call into agent id: its datagrams, its events, its deadline. */
static void drain(struct bench *b, unsigned id)
{
	struct ice_transmit tx;
	struct ice_event ev;
	uint64_t d;

	while (ice_agent_poll_transmit(b->a[id], &tx))
		q_push(b, &tx);
	while (ice_agent_poll_event(b->a[id], &ev)) {
		if (ev.type == ICE_EVENT_SELECTED_PAIR && !b->selected[id]++)
			b->connected++;
		b->consent_lost += ev.type == ICE_EVENT_CONSENT_LOST;
		b->failed += ev.type == ICE_EVENT_FAILED;
	}
	d = ice_agent_next_deadline(b->a[id]);
	if (d != b->deadline[id]) {
		b->deadline[id] = d;
		if (d != UINT64_MAX)
			heap_push(b, d, id);
	}
}

/* Run the network and the agents' timers up to `until`, or until every
 * agent is connected when `until_connected`. */
static void run(struct bench *b, uint64_t until, bool until_connected)
{
	while (!(until_connected && b->connected == b->n)) {
		uint64_t next = UINT64_MAX;

		if (b->qlen)
			next = b->q[b->qhead].at;
		if (b->hlen && b->h[0].at < next)
			next = b->h[0].at;
		if (next > until)
			break;
		b->now = next;
		while (b->qlen && b->q[b->qhead].at <= b->now) {
			struct pkt *p = &b->q[b->qhead];
			struct ice_recv_result res;
			unsigned id = id_of(&p->dst);

			b->qhead = (b->qhead + 1) % b->qcap;
			b->qlen--;
			if (id >= b->n)
				continue;
			ice_agent_recv(b->a[id], b->now, &p->dst, &p->src, p->buf, p->len, &res);
			b->delivered++;
			drain(b, id);
		}
		while (b->hlen && b->h[0].at <= b->now) {
			struct heap_ent e = heap_pop(b);

			if (e.at != b->deadline[e.id])
				continue; /* stale: the agent moved its deadline */
			b->deadline[e.id] = UINT64_MAX;
			ice_agent_tick(b->a[e.id], b->now);
			drain(b, e.id);
		}
	}
	if (b->now < until && !until_connected)
		b->now = until;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long pairs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	unsigned long seconds = argc > 2 ? strtoul(argv[2], NULL, 10) : 60;
	struct bench b = {0};
	uint64_t t_start;
	size_t heap0, heap1;
	double c0, c1;

	if (!pairs || pairs > (1u << 23) || !seconds)
		die("usage: icepath-agentbench [PAIRS (1..8388608) [SECONDS]]");
	b.n = (unsigned)pairs * 2;
	b.a = calloc(b.n, sizeof(*b.a));
	b.deadline = malloc(b.n * sizeof(*b.deadline));
	b.base = malloc(b.n * sizeof(*b.base));
	b.selected = calloc(b.n, sizeof(*b.selected));
	if (!b.a || !b.deadline || !b.base || !b.selected)
		die("out of memory");
	b.now = 1000;
	heap0 = heap_in_use();
	for (unsigned id = 0; id < b.n; id++) {
		struct ice_config cfg = {0};

		cfg.controlling = !(id & 1);
		/* the agent's own splitmix64, seeded per agent: a benchmark
		 * needs speed and repeatability, not secrecy */
		cfg.seed = id + 1;
		b.base[id] = addr_of(id);
		if (ice_agent_new(&b.a[id], &cfg) || ice_agent_add_stream(b.a[id], 1) != 0 ||
		    ice_agent_add_host(b.a[id], 0, 1, &b.base[id], 65535))
			die("cannot create an agent");
		b.deadline[id] = UINT64_MAX;
	}
	for (unsigned id = 0; id < b.n; id++) {
		unsigned peer = id ^ 1;
		struct ice_candidate c;
		const char *u, *p;

		ice_agent_local_credentials(b.a[peer], 0, &u, &p);
		if (ice_agent_set_remote_credentials(b.a[id], 0, u, p) ||
		    ice_agent_local_candidates(b.a[peer], 0, &c, 1) != 1 ||
		    ice_agent_add_remote_candidate(b.a[id], 0, &c) ||
		    ice_agent_remote_end_of_candidates(b.a[id], 0) ||
		    ice_agent_gather(b.a[id], b.now) || ice_agent_start(b.a[id], b.now))
			die("cannot signal an agent");
		drain(&b, id);
	}
	t_start = b.now;
	run(&b, b.now + 60000, true);
	if (b.connected != b.n)
		die("not every agent connected within 60 virtual seconds");
	/* let the check lists complete and the queues empty */
	run(&b, b.now + 2000, false);
	/* the agents' bytes: the harness's own queues do not count */
	heap1 = heap_in_use() - b.qcap * sizeof(*b.q) - b.hcap * sizeof(*b.h);
	c0 = cpu_s();
	run(&b, b.now + seconds * 1000, false);
	c1 = cpu_s();
	printf("pairs=%lu agents=%u connect_ms=%llu heap_bytes_per_agent=%.0f "
	       "us_per_agent_second=%.3f consent_lost=%u failed=%u datagrams=%llu\n",
	       pairs, b.n, (unsigned long long)(b.now - t_start - 2000 - seconds * 1000),
	       (double)(heap1 - heap0) / b.n, (c1 - c0) * 1e6 / ((double)b.n * (double)seconds),
	       b.consent_lost, b.failed, (unsigned long long)b.delivered);
	for (unsigned id = 0; id < b.n; id++)
		ice_agent_free(b.a[id]);
	free(b.a);
	free(b.deadline);
	free(b.base);
	free(b.selected);
	free(b.q);
	free(b.h);
	return b.consent_lost || b.failed ? 1 : 0;
}
