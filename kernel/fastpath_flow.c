// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_flow: flows, per-flow counters and verdict statistics of the XDP
 * fast path, through the maps of fp_abi.h. A flow is two entries with the
 * same key: flows (the rewrite) and flow_ctr (per-CPU counters). The
 * counters go in first and leave last, so the program always finds them.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fastpath_int.h"

static const char *const stat_names[] = {
#define FP_STAT(name, str, action, why) [FP_STAT_##name] = str,
#include "icepath/fp_stats.def"
};

unsigned fastpath_stat_count(void)
{
	return FP_STAT_COUNT;
}

const char *fastpath_stat_name(unsigned idx)
{
	return idx < FP_STAT_COUNT ? stat_names[idx] : NULL;
}

/* One netaddr into the map form; a v4-mapped IPv6 address is the IPv4
 * address on the wire. */
static int addr_in(const struct netaddr *a, __u8 *family, __be32 addr[4], __be16 *port)
{
	struct netaddr u = *a;

	netaddr_unmap_v4(&u);
	memset(addr, 0, 16);
	switch (netaddr_family(&u)) {
	case AF_INET:
		*family = FP_FAMILY_V4;
		addr[0] = u.in.sin_addr.s_addr;
		*port = u.in.sin_port;
		break;
	case AF_INET6:
		*family = FP_FAMILY_V6;
		memcpy(addr, &u.in6.sin6_addr, 16);
		*port = u.in6.sin6_port;
		break;
	default:
		return -EINVAL;
	}
	return *port ? 0 : -EINVAL;
}

static void addr_out(struct netaddr *a, __u8 family, const __be32 addr[4], __be16 port)
{
	if (family == FP_FAMILY_V4)
		netaddr_from_v4(a, addr[0], ntohs(port));
	else
		netaddr_from_v6(a, (const uint8_t *)addr, ntohs(port));
}

static int channel_ok(uint16_t ch)
{
	return ch == 0 || (ch >= FP_CHANNEL_MIN && ch <= FP_CHANNEL_MAX);
}

static void log_flow(int level, const char *what, const struct fastpath_flow *f, int err)
{
	char l[NETADDR_STRLEN], r[NETADDR_STRLEN];

	fastpath_log(level, "%s flow %s -> %s (channel %u): %s", what,
		     netaddr_str(&f->remote, r, sizeof(r)), netaddr_str(&f->local, l, sizeof(l)),
		     f->in_channel, strerror(-err));
}

static int flow_key(const struct fastpath_flow *f, struct fp_flow_key *k)
{
	__u8 fam2;
	int err;

	memset(k, 0, sizeof(*k));
	err = addr_in(&f->local, &k->family, k->local_addr, &k->local_port);
	if (!err)
		err = addr_in(&f->remote, &fam2, k->remote_addr, &k->remote_port);
	if (!err && (fam2 != k->family || !channel_ok(f->in_channel)))
		err = -EINVAL;
	k->channel = htons(f->in_channel);
	return err;
}

static int flow_val(const struct fastpath_flow *f, struct fp_flow_val *v)
{
	__u8 fam2;
	int err;

	memset(v, 0, sizeof(*v));
	err = addr_in(&f->out_src, &v->family, v->src_addr, &v->src_port);
	if (!err)
		err = addr_in(&f->out_dst, &fam2, v->dst_addr, &v->dst_port);
	if (!err && (fam2 != v->family || !channel_ok(f->out_channel)))
		err = -EINVAL;
	if (f->flags & ~(uint32_t)(FP_FLOW_FORWARD | FP_FLOW_RTP | FP_FLOW_RTCP))
		err = -EINVAL;
	v->channel = htons(f->out_channel);
	v->flags = f->flags;
	v->id = f->id;
	return err;
}

static void flow_from_map(struct fastpath_flow *f, const struct fp_flow_key *k,
			  const struct fp_flow_val *v)
{
	memset(f, 0, sizeof(*f));
	addr_out(&f->local, k->family, k->local_addr, k->local_port);
	addr_out(&f->remote, k->family, k->remote_addr, k->remote_port);
	f->in_channel = ntohs(k->channel);
	addr_out(&f->out_src, v->family, v->src_addr, v->src_port);
	addr_out(&f->out_dst, v->family, v->dst_addr, v->dst_port);
	f->out_channel = ntohs(v->channel);
	f->flags = v->flags;
	f->id = v->id;
}

/* E2BIG is what a full hash map says. */
static int full_err(int err)
{
	if (err == -E2BIG || err == -ENOMEM) {
		fastpath_log(LOG_ERR,
			     "flow table full (%u entries): remove flows or rebuild the "
			     "BPF object with a larger FP_MAX_FLOWS",
			     FP_MAX_FLOWS);
		return -ENOSPC;
	}
	return err;
}

int fastpath_flow_install(struct fastpath *fp, const struct fastpath_flow *f)
{
	struct fp_flow_key k;
	struct fp_flow_val v;
	void *zero;
	int err;

	err = flow_key(f, &k);
	if (!err)
		err = flow_val(f, &v);
	if (err) {
		log_flow(LOG_ERR, "cannot install (bad address, port, channel or flags)", f, err);
		return err;
	}
	zero = calloc(fp->ncpus, sizeof(struct fp_flow_ctr));
	if (!zero)
		return -ENOMEM;
	/* A flow installed again keeps its counters (NOEXIST). */
	err = bpf_map_update_elem(fastpath_fd_flow_ctr(fp), &k, zero, BPF_NOEXIST) ? -errno : 0;
	free(zero);
	if (err && err != -EEXIST) {
		err = full_err(err);
		log_flow(LOG_ERR, "cannot install counters of", f, err);
		return err;
	}
	if (bpf_map_update_elem(fastpath_fd_flows(fp), &k, &v, BPF_ANY)) {
		err = full_err(-errno);
		log_flow(LOG_ERR, "cannot install", f, err);
		return err;
	}
	return 0;
}

int fastpath_flow_set_flags(struct fastpath *fp, const struct fastpath_flow *key_only,
			    uint32_t flags)
{
	struct fp_flow_key k;
	struct fp_flow_val v;
	int err;

	if (flow_key(key_only, &k) ||
	    (flags & ~(uint32_t)(FP_FLOW_FORWARD | FP_FLOW_RTP | FP_FLOW_RTCP))) {
		log_flow(LOG_ERR, "cannot set flags of (bad key or flags)", key_only, -EINVAL);
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(fastpath_fd_flows(fp), &k, &v))
		return -errno;
	v.flags = flags;
	/* Replaced whole: the program sees the old or the new value. */
	if (bpf_map_update_elem(fastpath_fd_flows(fp), &k, &v, BPF_EXIST)) {
		err = -errno;
		log_flow(LOG_ERR, "cannot set flags of", key_only, err);
		return err;
	}
	return 0;
}

int fastpath_flow_remove(struct fastpath *fp, const struct fastpath_flow *key_only)
{
	struct fp_flow_key k;
	int err;

	if (flow_key(key_only, &k)) {
		log_flow(LOG_ERR, "cannot remove (bad key)", key_only, -EINVAL);
		return -EINVAL;
	}
	err = bpf_map_delete_elem(fastpath_fd_flows(fp), &k) ? -errno : 0;
	bpf_map_delete_elem(fastpath_fd_flow_ctr(fp), &k);
	return err;
}

int fastpath_flow_counters(struct fastpath *fp, const struct fastpath_flow *key_only,
			   struct fastpath_counters *out)
{
	struct fp_flow_ctr *per_cpu;
	struct fp_flow_key k;
	int i, err = 0;

	memset(out, 0, sizeof(*out));
	if (flow_key(key_only, &k))
		return -EINVAL;
	per_cpu = calloc(fp->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fastpath_fd_flow_ctr(fp), &k, per_cpu)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < fp->ncpus; i++) {
		out->packets += per_cpu[i].packets;
		out->bytes += per_cpu[i].bytes;
		if (per_cpu[i].last_seen_ns > out->last_seen_ns)
			out->last_seen_ns = per_cpu[i].last_seen_ns;
	}
out:
	free(per_cpu);
	return err;
}

/* Walk the flows map in batches (one syscall per FLOW_BATCH entries rather
 * than two per entry), falling back to get_next_key where batches are not
 * supported. */
#define FLOW_BATCH 4096

static int walk_fallback(struct fastpath *fp, int (*cb)(const struct fastpath_flow *, void *),
			 void *ctx)
{
	struct fp_flow_key k, next;
	struct fp_flow_val v;
	struct fastpath_flow f;
	void *prev = NULL;
	int fd = fastpath_fd_flows(fp), rc;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* removed meanwhile */
		flow_from_map(&f, &k, &v);
		rc = cb(&f, ctx);
		if (rc)
			return rc;
	}
	return errno == ENOENT ? 0 : -errno;
}

int fastpath_flow_foreach(struct fastpath *fp, int (*cb)(const struct fastpath_flow *, void *),
			  void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct fp_flow_key *keys;
	struct fp_flow_val *vals;
	struct fastpath_flow f;
	__u32 token = 0, count, i;
	int fd = fastpath_fd_flows(fp), err, rc = 0, first = 1, done = 0;

	keys = calloc(FLOW_BATCH, sizeof(*keys));
	vals = calloc(FLOW_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	while (!done) {
		count = FLOW_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &count,
					   &bo)
			      ? -errno
			      : 0;
		if (err == -EINVAL && first) {
			rc = walk_fallback(fp, cb, ctx);
			goto out;
		}
		if (err == -ENOENT)
			done = 1; /* last batch, count may still be > 0 */
		else if (err) {
			fastpath_log(LOG_ERR, "cannot read the flow table: %s", strerror(-err));
			rc = err;
			goto out;
		}
		first = 0;
		for (i = 0; i < count; i++) {
			flow_from_map(&f, &keys[i], &vals[i]);
			rc = cb(&f, ctx);
			if (rc)
				goto out;
		}
	}
out:
	free(keys);
	free(vals);
	return rc;
}

static int count_one(const struct fastpath_flow *f, void *ctx)
{
	(void)f;
	++*(long *)ctx;
	return 0;
}

long fastpath_flow_count(struct fastpath *fp)
{
	long n = 0;
	int err = fastpath_flow_foreach(fp, count_one, &n);

	return err ? err : n;
}

/* Batched update of one map (the kernel takes no NOEXIST in batches). */
static int update_batch(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
			size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	size_t done = 0;
	__u32 count;

	while (done < n) {
		count = n - done > FLOW_BATCH ? FLOW_BATCH : n - done;
		if (bpf_map_update_batch(fd, (const char *)keys + done * ksz,
					 (const char *)vals + done * vsz, &count, &bo))
			return -errno;
		done += count;
	}
	return 0;
}

int fastpath_flow_install_many(struct fastpath *fp, const struct fastpath_flow *f, size_t n)
{
	struct fp_flow_key *keys;
	struct fp_flow_val *vals;
	void *zero;
	size_t i;
	int err = 0;

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	zero = calloc(fp->ncpus, sizeof(struct fp_flow_ctr));
	if (!keys || !vals || !zero) {
		err = -ENOMEM;
		fastpath_log(LOG_ERR, "cannot install %zu flows: out of memory", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		err = flow_key(&f[i], &keys[i]);
		if (!err)
			err = flow_val(&f[i], &vals[i]);
		if (err) {
			log_flow(LOG_ERR, "cannot install (bad address, port, channel or flags)",
				 &f[i], err);
			goto out;
		}
	}
	/* Counters one by one: NOEXIST keeps those of re-installed flows,
	 * and batches take no NOEXIST. */
	for (i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fastpath_fd_flow_ctr(fp), &keys[i], zero, BPF_NOEXIST) &&
		    errno != EEXIST)
			err = -errno;
	if (!err)
		err = update_batch(fastpath_fd_flows(fp), keys, sizeof(*keys), vals, sizeof(*vals),
				   n);
	if (err) {
		err = full_err(err);
		fastpath_log(LOG_ERR, "cannot install %zu flows: %s", n, strerror(-err));
	}
out:
	free(keys);
	free(vals);
	free(zero);
	return err;
}

/* Batched delete; a missing key stops the kernel's batch, and is skipped. */
static int delete_batch(int fd, const struct fp_flow_key *keys, size_t n, int *missing)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	size_t done = 0;
	__u32 count;
	int err;

	while (done < n) {
		count = n - done > FLOW_BATCH ? FLOW_BATCH : n - done;
		err = bpf_map_delete_batch(fd, keys + done, &count, &bo) ? -errno : 0;
		done += count;
		if (err == -ENOENT) {
			done++;
			*missing = 1;
			continue;
		}
		if (err)
			return err;
	}
	return 0;
}

int fastpath_flow_remove_many(struct fastpath *fp, const struct fastpath_flow *f, size_t n)
{
	struct fp_flow_key *keys;
	int err = 0, missing = 0, ignored = 0;
	size_t i;

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = flow_key(&f[i], &keys[i]);
		if (err) {
			log_flow(LOG_ERR, "cannot remove (bad key)", &f[i], err);
			goto out;
		}
	}
	err = delete_batch(fastpath_fd_flows(fp), keys, n, &missing);
	if (!err)
		err = delete_batch(fastpath_fd_flow_ctr(fp), keys, n, &ignored);
	if (err)
		fastpath_log(LOG_ERR, "cannot remove %zu flows: %s", n, strerror(-err));
	else if (missing)
		err = -ENOENT;
out:
	free(keys);
	return err;
}

int fastpath_stats(struct fastpath *fp, uint64_t *out, size_t n)
{
	__u64 *per_cpu;
	__u32 idx;
	int i, err = 0;

	per_cpu = calloc(fp->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (idx = 0; idx < FP_STAT_COUNT && idx < n; idx++) {
		out[idx] = 0;
		if (bpf_map_lookup_elem(fastpath_fd_stats(fp), &idx, per_cpu)) {
			err = -errno;
			fastpath_log(LOG_ERR, "cannot read verdict statistics: %s", strerror(-err));
			break;
		}
		for (i = 0; i < fp->ncpus; i++)
			out[idx] += per_cpu[i];
	}
	free(per_cpu);
	return err;
}
