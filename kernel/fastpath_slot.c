// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_slot: which entries of the flow_ctr array (fp_abi.h) are free.
 * Every flow's value carries the slot of its counters; the flows map is
 * the only truth, and the free list here is this process's copy of it:
 * built by walking the flows map at open, and again whenever fp_meta.gen
 * says another process (icepath-fpctl next to the daemon) changed the
 * flows since. Changes are serialized across processes by flock() on the
 * pin directory and across threads by a mutex, so two flows never get the
 * same slot. Nothing here runs per packet.
 *
 * A new flow gets the lowest free slot, so the flows that live keep their
 * counters and flow_hot copies (fp_abi.h) together at the bottom of the
 * arrays, a few pages the CPU's caches and TLB hold, however many calls
 * came and went (a queue that hands out the longest-free slot spreads them
 * over the whole array after a day of churn). A freed slot first cools for
 * SLOT_COOL_MS in a queue: the program may still count a packet of a flow
 * being removed (it looked the flow up just before the delete), and that
 * packet must not land in a new flow's freshly zeroed counters. When every
 * free slot is cooling, the one freed longest ago is handed out.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>

#include "fastpath_int.h"

#define SLOT_WORDS(fp) (((fp)->max_flows + 63) / 64)

/* How long a freed slot waits before it is handed out again (a packet in
 * flight when its flow was removed takes microseconds). */
#define SLOT_COOL_MS 1000u

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static void ready_mark(struct fastpath *fp, uint32_t s, int ready)
{
	if (ready) {
		fp->slot_ready[s / 64] |= 1ull << (s % 64);
		fp->slot_nready++;
		if (s / 64 < fp->slot_ready_lo)
			fp->slot_ready_lo = s / 64;
	} else {
		fp->slot_ready[s / 64] &= ~(1ull << (s % 64));
		fp->slot_nready--;
	}
}

/* The lowest ready slot; slot_nready > 0. */
static uint32_t ready_lowest(struct fastpath *fp)
{
	uint32_t w = fp->slot_ready_lo;

	while (!fp->slot_ready[w])
		w++;
	fp->slot_ready_lo = w;
	return w * 64 + (uint32_t)__builtin_ctzll(fp->slot_ready[w]);
}

static int slot_is_used(const struct fastpath *fp, uint32_t s)
{
	return (fp->slot_used[s / 64] >> (s % 64)) & 1;
}

static void slot_mark(struct fastpath *fp, uint32_t s, int used)
{
	if (used)
		fp->slot_used[s / 64] |= 1ull << (s % 64);
	else
		fp->slot_used[s / 64] &= ~(1ull << (s % 64));
}

static int meta_read(struct fastpath *fp, struct fp_meta *m)
{
	__u32 zero = 0;
	int err;

	if (bpf_map_lookup_elem(fastpath_fd_meta(fp), &zero, m)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot read the fast path's meta map: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int meta_write(struct fastpath *fp, const struct fp_meta *m)
{
	__u32 zero = 0;
	int err;

	if (bpf_map_update_elem(fastpath_fd_meta(fp), &zero, m, BPF_ANY)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot write the fast path's meta map: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* Flows whose slot is out of range or already taken by another flow (a
 * map edited by hand, or an older icepath): they get fresh slots. */
struct rebuild_ctx {
	struct fastpath *fp;
	struct fp_flow_key *bad;
	size_t nbad, cap;
};

static int rebuild_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	struct rebuild_ctx *rc = ctx;
	struct fp_flow_key *grown;

	if (v->slot < rc->fp->max_flows && !slot_is_used(rc->fp, v->slot)) {
		slot_mark(rc->fp, v->slot, 1);
		return 0;
	}
	if (rc->nbad == rc->cap) {
		rc->cap = rc->cap ? 2 * rc->cap : 64;
		grown = realloc(rc->bad, rc->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		rc->bad = grown;
	}
	rc->bad[rc->nbad++] = *k;
	return 0;
}

/* Give a flow found with a bad slot a fresh, zeroed one. */
static int reslot(struct fastpath *fp, const struct fp_flow_key *k)
{
	struct fp_flow_val v;
	uint32_t s;
	int err;

	if (bpf_map_lookup_elem(fastpath_fd_flows(fp), k, &v))
		return 0; /* gone meanwhile */
	err = fastpath_slot_alloc(fp, &s);
	if (!err)
		err = fastpath_slot_zero(fp, &s, 1);
	if (err)
		return err;
	v.slot = s;
	if (bpf_map_update_elem(fastpath_fd_flows(fp), k, &v, BPF_EXIST))
		return errno != ENOENT ? -errno : 0;
	return fastpath_port_put(fp, k, &v, 0);
}

int fastpath_slot_rebuild(struct fastpath *fp)
{
	struct rebuild_ctx rc = {.fp = fp};
	uint32_t s;
	size_t i;
	int err;

	memset(fp->slot_used, 0, SLOT_WORDS(fp) * sizeof(*fp->slot_used));
	err = fastpath_flow_walk(fp, rebuild_one, &rc);
	if (err)
		goto out;
	fp->slot_head = 0;
	fp->slot_nfree = 0;
	memset(fp->slot_ready, 0, SLOT_WORDS(fp) * sizeof(*fp->slot_ready));
	fp->slot_nready = 0;
	fp->slot_ready_lo = 0;
	for (s = 0; s < fp->max_flows; s++)
		if (!slot_is_used(fp, s))
			ready_mark(fp, s, 1);
	fp->slot_ready_lo = 0;
	if (rc.nbad)
		fastpath_log(LOG_WARNING,
			     "%zu flows under %s had no counter slot of their own; their "
			     "counters restart at zero",
			     rc.nbad, fp->pin_path);
	for (i = 0; i < rc.nbad && !err; i++)
		err = reslot(fp, &rc.bad[i]);
out:
	if (err)
		fastpath_log(LOG_ERR, "cannot rebuild the counter slots of %s: %s", fp->pin_path,
			     strerror(-err));
	free(rc.bad);
	return err;
}

int fastpath_slot_alloc(struct fastpath *fp, uint32_t *slot)
{
	uint32_t now = now_ms();

	/* the cooled slots at the front of the queue become ready */
	while (fp->slot_nfree &&
	       (int32_t)(now - fp->slot_freed_ms[fp->slot_head]) >= (int32_t)SLOT_COOL_MS) {
		ready_mark(fp, fp->slot_free[fp->slot_head], 1);
		fp->slot_head = (fp->slot_head + 1) % fp->max_flows;
		fp->slot_nfree--;
	}
	if (fp->slot_nready) {
		*slot = ready_lowest(fp);
		ready_mark(fp, *slot, 0);
	} else if (fp->slot_nfree) {
		*slot = fp->slot_free[fp->slot_head];
		fp->slot_head = (fp->slot_head + 1) % fp->max_flows;
		fp->slot_nfree--;
	} else {
		fastpath_log(LOG_ERR,
			     "flow table full (%u entries): remove flows, or open the fast "
			     "path with a larger max_flows (icepathd: more sessions; new pins)",
			     fp->max_flows);
		return -ENOSPC;
	}
	slot_mark(fp, *slot, 1);
	return 0;
}

void fastpath_slot_free(struct fastpath *fp, uint32_t slot)
{
	uint32_t tail = (fp->slot_head + fp->slot_nfree) % fp->max_flows;

	/* Twice the same key in a remove_many frees a slot twice: once. */
	if (slot >= fp->max_flows || !slot_is_used(fp, slot))
		return;
	slot_mark(fp, slot, 0);
	fp->slot_free[tail] = slot;
	fp->slot_freed_ms[tail] = now_ms();
	fp->slot_nfree++;
}

#define ZERO_BATCH 4096

int fastpath_slot_zero(struct fastpath *fp, const uint32_t *slots, size_t n)
{
	/* A per-CPU map takes one value per possible CPU for every key. */
	size_t per_key = sizeof(struct fp_flow_ctr) * (size_t)fp->ncpus;
	size_t done, count;
	void *zeros;
	int err = 0;

	zeros = calloc(ZERO_BATCH, per_key);
	if (!zeros) {
		fastpath_log(LOG_ERR, "cannot reset flow counters: out of memory");
		return -ENOMEM;
	}
	for (done = 0; done < n && !err; done += count) {
		count = n - done > ZERO_BATCH ? ZERO_BATCH : n - done;
		err = fastpath_flow_update_batch(fastpath_fd_flow_ctr(fp), slots + done,
						 sizeof(*slots), zeros, per_key, count);
	}
	/* and what was lost after XDP sent it (one __u64 a slot) */
	for (done = 0; done < n && !err; done += count) {
		count = n - done > ZERO_BATCH ? ZERO_BATCH : n - done;
		err = fastpath_flow_update_batch(fastpath_fd_flow_lost(fp), slots + done,
						 sizeof(*slots), zeros, sizeof(__u64), count);
	}
	free(zeros);
	if (err)
		fastpath_log(LOG_ERR, "cannot reset flow counters: %s", strerror(-err));
	return err;
}

int fastpath_slot_lock(struct fastpath *fp)
{
	struct fp_meta m;
	int err;

	pthread_mutex_lock(&fp->lock);
	if (flock(fp->lock_fd, LOCK_EX)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot lock %s: %s", fp->pin_path, strerror(-err));
		goto err_mutex;
	}
	err = meta_read(fp, &m);
	if (!err && m.gen != fp->slot_gen) {
		err = fastpath_slot_rebuild(fp);
		if (!err)
			fp->slot_gen = m.gen;
	}
	if (!err)
		return 0;
	flock(fp->lock_fd, LOCK_UN);
err_mutex:
	pthread_mutex_unlock(&fp->lock);
	return err;
}

void fastpath_slot_unlock(struct fastpath *fp, int changed)
{
	struct fp_meta m = {.abi = FP_ABI_VERSION, .gen = fp->slot_gen + 1};

	/* A failed write leaves other processes with their (now stale) copy:
	 * force them to rebuild by not believing ours either. */
	if (changed && !meta_write(fp, &m))
		fp->slot_gen = m.gen;
	else if (changed)
		fp->slot_gen = ~0ull;
	flock(fp->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&fp->lock);
}

int fastpath_slot_open(struct fastpath *fp)
{
	struct fp_meta m;
	int err;

	fp->lock_fd = -1;
	pthread_mutex_init(&fp->lock, NULL);
	fp->slot_free = calloc(fp->max_flows, sizeof(*fp->slot_free));
	fp->slot_freed_ms = calloc(fp->max_flows, sizeof(*fp->slot_freed_ms));
	fp->slot_used = calloc(SLOT_WORDS(fp), sizeof(*fp->slot_used));
	fp->slot_ready = calloc(SLOT_WORDS(fp), sizeof(*fp->slot_ready));
	if (!fp->slot_free || !fp->slot_freed_ms || !fp->slot_used || !fp->slot_ready) {
		err = -ENOMEM;
		goto err_free;
	}
	fp->lock_fd = open(fp->pin_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fp->lock_fd < 0) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot open pin directory %s: %s", fp->pin_path,
			     strerror(-err));
		goto err_free;
	}
	if (flock(fp->lock_fd, LOCK_EX)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot lock %s: %s", fp->pin_path, strerror(-err));
		goto err_free;
	}
	err = meta_read(fp, &m);
	if (err)
		goto err_unlock;
	if (m.abi && m.abi != FP_ABI_VERSION) {
		fastpath_log(LOG_ERR,
			     "the maps pinned under %s have layout version %u, this icepath "
			     "uses %u; remove them with 'icepath-fpctl --pin %s destroy' "
			     "(installed flows are lost)",
			     fp->pin_path, m.abi, FP_ABI_VERSION, fp->pin_path);
		err = -EPROTO;
		goto err_unlock;
	}
	err = fastpath_slot_rebuild(fp);
	if (err)
		goto err_unlock;
	fp->slot_gen = m.gen;
	if (!m.abi) {
		m.abi = FP_ABI_VERSION;
		err = meta_write(fp, &m);
		if (err)
			goto err_unlock;
	}
	flock(fp->lock_fd, LOCK_UN);
	return 0;

err_unlock:
	flock(fp->lock_fd, LOCK_UN);
err_free:
	fastpath_slot_close(fp);
	return err;
}

void fastpath_slot_close(struct fastpath *fp)
{
	if (fp->lock_fd >= 0)
		close(fp->lock_fd);
	fp->lock_fd = -1;
	free(fp->slot_free);
	free(fp->slot_freed_ms);
	free(fp->slot_used);
	free(fp->slot_ready);
	fp->slot_free = NULL;
	fp->slot_freed_ms = NULL;
	fp->slot_used = NULL;
	fp->slot_ready = NULL;
	pthread_mutex_destroy(&fp->lock);
}
