// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_flow: flows, per-flow counters and verdict statistics of the XDP
 * fast path, through the maps of fp_abi.h. A flow is its entry in flows
 * (the rewrite), whose value names a slot of the flow_ctr array (its
 * counters, fastpath_slot.c). A new flow's slot is zeroed before the flow
 * appears, and freed only after it is gone, so the program never counts a
 * packet into another flow's counters. Every value written here carries its
 * next hop (fastpath_nh.c) and a deadline in jiffies.
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

static uint64_t deadline_of(const struct fastpath *fp, uint32_t lifetime_ms)
{
	if (lifetime_ms == FASTPATH_LIFETIME_FOREVER)
		return FP_DEADLINE_NEVER;
	return fastpath_ms_to_jiffies(fp, fastpath_now_ms() +
						  (lifetime_ms ? lifetime_ms : FASTPATH_FLOW_LIFETIME_MS));
}

/* Sum of n bytes as 16-bit words in memory order (RFC 1071), each word
 * complemented when invert: how the program sums, so the parts summed here
 * add up with its own. */
static uint32_t sum16(const void *buf, size_t n, int invert)
{
	const uint8_t *b = buf;
	uint32_t s = 0;
	uint16_t w;
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		memcpy(&w, b + i, 2);
		s += invert ? (uint16_t)~w : w;
	}
	return s;
}

/* The flow's constant checksum parts (fp_abi.h): what the program would
 * otherwise sum on every packet from the key and the rewrite. */
static void flow_csums(const struct fp_flow_key *k, struct fp_flow_val *v)
{
	struct {
		__be16 frag_off;
		__be32 saddr, daddr;
	} __attribute__((packed)) ip4 = {htons(0x4000) /* DF */, v->src_addr[0], v->dst_addr[0]};
	__be16 proto = htons(IPPROTO_UDP);

	v->csum_in = sum16(k->remote_addr, 16, 0) + sum16(k->local_addr, 16, 0) + proto;
	v->csum_udp = sum16(k->remote_addr, 16, 1) + sum16(k->local_addr, 16, 1) +
		      sum16(&k->remote_port, 2, 1) + sum16(&k->local_port, 2, 1) +
		      sum16(v->src_addr, 16, 0) + sum16(v->dst_addr, 16, 0) +
		      sum16(&v->src_port, 2, 0) + sum16(&v->dst_port, 2, 0);
	v->csum_ip4 = v->family == FP_FAMILY_V4 ? sum16(&ip4, sizeof(ip4), 0) : 0;
}

static int flow_val(const struct fastpath_flow *f, const struct fp_flow_key *k,
		    struct fp_flow_val *v)
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
	flow_csums(k, v);
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

/* The rewrite, its next hop and deadline: the whole value but the slot. */
static int flow_val_full(struct fastpath *fp, const struct fastpath_flow *f,
			 const struct fp_flow_key *k, struct fp_flow_val *v)
{
	int err = flow_val(f, k, v);

	if (err)
		return err;
	v->deadline = deadline_of(fp, f->lifetime_ms);
	fastpath_nh_resolve(fp, v);
	return 0;
}

/* E2BIG is what a full hash map says (the slots normally run out first). */
static int full_err(const struct fastpath *fp, int err)
{
	if (err == -E2BIG || err == -ENOMEM) {
		fastpath_log(LOG_ERR,
			     "flow table full (%u entries): remove flows, or open the fast "
			     "path with a larger max_flows (new pins)",
			     fp->max_flows);
		return -ENOSPC;
	}
	return err;
}

static int valid_flags(uint32_t flags)
{
	return !(flags & ~(uint32_t)(FP_FLOW_FORWARD | FP_FLOW_RTP | FP_FLOW_RTCP));
}

int fastpath_flow_install(struct fastpath *fp, const struct fastpath_flow *f)
{
	struct fp_flow_key k;
	struct fp_flow_val v, old;
	int err, fresh;

	err = flow_key(f, &k);
	if (!err)
		err = flow_val(f, &k, &v);
	if (err) {
		log_flow(LOG_ERR, "cannot install (bad address, port, channel or flags)", f, err);
		return err;
	}
	err = fastpath_slot_lock(fp);
	if (err)
		return err;
	/* Resolved under the lock: a next hop change processed in between
	 * cannot be overwritten by an older answer. */
	flow_val_full(fp, f, &k, &v);
	/* A flow installed again keeps its slot, so its counters. */
	fresh = bpf_map_lookup_elem(fastpath_fd_flows(fp), &k, &old) != 0;
	if (!fresh) {
		v.slot = old.slot;
	} else {
		err = fastpath_slot_alloc(fp, &v.slot);
		if (!err)
			err = fastpath_slot_zero(fp, &v.slot, 1);
		if (err)
			goto out;
	}
	if (bpf_map_update_elem(fastpath_fd_flows(fp), &k, &v, BPF_ANY)) {
		err = full_err(fp, -errno);
		log_flow(LOG_ERR, "cannot install", f, err);
		if (fresh)
			fastpath_slot_free(fp, v.slot);
	} else if (fastpath_port_put(fp, &k, &v, fresh)) {
		fastpath_port_rebuild(fp);
	}
out:
	fastpath_slot_unlock(fp, fresh && !err);
	return err;
}

/*
 * Rewrite one field of an installed flow's value: looked up and replaced
 * whole under the slot lock (a remove and re-install in between would
 * change the slot), so the program sees the old or the new value.
 */
enum flow_field { FLOW_FIELD_FLAGS, FLOW_FIELD_DEADLINE };

static int flow_modify(struct fastpath *fp, const struct fastpath_flow *key_only,
		       const struct fp_flow_key *k, enum flow_field field, uint32_t arg,
		       const char *what)
{
	struct fp_flow_val v;
	int err;

	err = fastpath_slot_lock(fp);
	if (err)
		return err;
	if (bpf_map_lookup_elem(fastpath_fd_flows(fp), k, &v)) {
		err = -errno;
	} else {
		if (field == FLOW_FIELD_FLAGS)
			v.flags = arg;
		else
			v.deadline = deadline_of(fp, arg);
		if (bpf_map_update_elem(fastpath_fd_flows(fp), k, &v, BPF_EXIST)) {
			err = -errno;
			log_flow(LOG_ERR, what, key_only, err);
		} else if (fastpath_port_put(fp, k, &v, 0)) {
			fastpath_port_rebuild(fp);
		}
	}
	fastpath_slot_unlock(fp, 0);
	return err;
}

int fastpath_flow_set_flags(struct fastpath *fp, const struct fastpath_flow *key_only,
			    uint32_t flags)
{
	struct fp_flow_key k;

	if (flow_key(key_only, &k) || !valid_flags(flags)) {
		log_flow(LOG_ERR, "cannot set flags of (bad key or flags)", key_only, -EINVAL);
		return -EINVAL;
	}
	return flow_modify(fp, key_only, &k, FLOW_FIELD_FLAGS, flags, "cannot set flags of");
}

int fastpath_flow_extend(struct fastpath *fp, const struct fastpath_flow *key_only,
			 uint32_t lifetime_ms)
{
	struct fp_flow_key k;

	if (flow_key(key_only, &k)) {
		log_flow(LOG_ERR, "cannot extend (bad key)", key_only, -EINVAL);
		return -EINVAL;
	}
	return flow_modify(fp, key_only, &k, FLOW_FIELD_DEADLINE, lifetime_ms, "cannot extend");
}

int fastpath_flow_remove(struct fastpath *fp, const struct fastpath_flow *key_only)
{
	struct fp_flow_key k;
	struct fp_flow_val v;
	int err;

	if (flow_key(key_only, &k)) {
		log_flow(LOG_ERR, "cannot remove (bad key)", key_only, -EINVAL);
		return -EINVAL;
	}
	err = fastpath_slot_lock(fp);
	if (err)
		return err;
	if (bpf_map_lookup_elem(fastpath_fd_flows(fp), &k, &v) ||
	    bpf_map_delete_elem(fastpath_fd_flows(fp), &k))
		err = -errno;
	else
		fastpath_slot_free(fp, v.slot);
	if (!err && fastpath_port_del(fp, &k))
		fastpath_port_rebuild(fp);
	fastpath_slot_unlock(fp, !err);
	return err;
}

static const char *nh_str(__u8 nh, __u8 nh_flags)
{
	switch (nh) {
	case FP_NH_READY:
		return nh_flags & FP_NH_XMIT_OK ? "ready" : "no-xmit";
	case FP_NH_NO_NEIGH:
		return "no-neigh";
	case FP_NH_NO_DEVMAP:
		return "no-devmap";
	}
	return "no-route";
}

int fastpath_flow_counters(struct fastpath *fp, const struct fastpath_flow *key_only,
			   struct fastpath_counters *out)
{
	struct fp_flow_key k;
	struct fp_flow_val v;
	struct fp_flow_ctr *c;
	uint64_t last = 0, now_j;
	__u64 lost = 0;
	int i, latest = -1, err = 0;

	memset(out, 0, sizeof(*out));
	if (flow_key(key_only, &k))
		return -EINVAL;
	/* One value per possible CPU (the kernel pads each to 8 bytes; 48 is). */
	c = calloc((size_t)fp->ncpus, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fastpath_fd_flows(fp), &k, &v) ||
	    bpf_map_lookup_elem(fastpath_fd_flow_ctr(fp), &v.slot, c)) {
		err = -errno;
		goto out;
	}
	if (bpf_map_lookup_elem(fastpath_fd_flow_lost(fp), &v.slot, &lost))
		lost = 0;
	for (i = 0; i < fp->ncpus; i++) {
		out->packets += c[i].packets;
		out->bytes += c[i].bytes;
		out->rtcp_packets += c[i].rtcp_packets;
		out->rtcp_bytes += c[i].rtcp_bytes;
		out->not_forwarded += c[i].not_fwd;
		if (c[i].last_seen > last)
			last = c[i].last_seen;
		/* The CPU that saw a packet last tells the path. */
		if ((c[i].packets || c[i].not_fwd) &&
		    (latest < 0 || c[i].last_seen > c[latest].last_seen))
			latest = i;
	}
	/* Sent by XDP, dropped by the egress (fastpath_dev.c): not forwarded. */
	if (lost > out->packets)
		lost = out->packets;
	out->packets -= lost;
	out->not_forwarded += lost;
	if (out->rtcp_packets > out->packets)
		out->rtcp_packets = out->packets;
	if (last)
		out->last_seen_ns = fastpath_jiffies_to_ns(fp, last);
	if (latest < 0) {
		out->path = FASTPATH_PATH_IDLE;
		out->why = nh_str(v.nh, v.nh_flags);
	} else {
		out->why = fastpath_stat_name(c[latest].last_stat);
		if (c[latest].last_stat == FP_STAT_TX || c[latest].last_stat == FP_STAT_REDIRECT)
			out->path = c[latest].generic ? FASTPATH_PATH_GENERIC : FASTPATH_PATH_NATIVE;
		else
			out->path = FASTPATH_PATH_USERSPACE;
		if (!out->why)
			out->why = "?";
	}
	if (v.deadline == FP_DEADLINE_NEVER) {
		out->deadline_in_ms = INT64_MAX;
	} else {
		now_j = fastpath_ms_to_jiffies(fp, fastpath_now_ms());
		out->deadline_in_ms = ((int64_t)(v.deadline - now_j) * (int64_t)fp->jiffy_ns) /
				      1000000;
	}
out:
	free(c);
	return err;
}

/* Walk the flows map in batches (one syscall per FLOW_BATCH entries rather
 * than two per entry), falling back to get_next_key where batches are not
 * supported. */
#define FLOW_BATCH 4096

static int walk_fallback(struct fastpath *fp, fastpath_raw_cb cb, void *ctx)
{
	struct fp_flow_key k, next;
	struct fp_flow_val v;
	void *prev = NULL;
	int fd = fastpath_fd_flows(fp), rc;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* removed meanwhile */
		rc = cb(&k, &v, ctx);
		if (rc)
			return rc;
	}
	return errno == ENOENT ? 0 : -errno;
}

int fastpath_flow_walk(struct fastpath *fp, fastpath_raw_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct fp_flow_key *keys;
	struct fp_flow_val *vals;
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
			rc = cb(&keys[i], &vals[i], ctx);
			if (rc)
				goto out;
		}
	}
out:
	free(keys);
	free(vals);
	return rc;
}

struct foreach_ctx {
	int (*cb)(const struct fastpath_flow *, void *);
	void *ctx;
};

static int foreach_one(const struct fp_flow_key *k, const struct fp_flow_val *v, void *ctx)
{
	struct foreach_ctx *fc = ctx;
	struct fastpath_flow f;

	flow_from_map(&f, k, v);
	return fc->cb(&f, fc->ctx);
}

int fastpath_flow_foreach(struct fastpath *fp, int (*cb)(const struct fastpath_flow *, void *),
			  void *ctx)
{
	struct foreach_ctx fc = {cb, ctx};

	return fastpath_flow_walk(fp, foreach_one, &fc);
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
int fastpath_flow_update_batch(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
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

/* New keys of one install_many, by key: the same key given twice must
 * get one slot. Open addressing, index + 1 in each cell (0: empty). */
struct key_set {
	uint32_t *cell;
	size_t mask;
};

static uint64_t key_hash(const struct fp_flow_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64 bits */
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int key_set_init(struct key_set *ks, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	ks->mask = size - 1;
	ks->cell = calloc(size, sizeof(*ks->cell));
	return ks->cell ? 0 : -ENOMEM;
}

/* The index of an earlier equal key, or i after adding key i. */
static uint32_t key_set_add(struct key_set *ks, const struct fp_flow_key *keys, uint32_t i)
{
	size_t c = key_hash(&keys[i]) & ks->mask;

	while (ks->cell[c]) {
		if (!memcmp(&keys[ks->cell[c] - 1], &keys[i], sizeof(keys[i])))
			return ks->cell[c] - 1;
		c = (c + 1) & ks->mask;
	}
	ks->cell[c] = i + 1;
	return i;
}

/* Slots for n flows: the installed ones keep theirs, new ones get fresh
 * ones (listed in fresh[], *nfresh of them). Nothing is installed yet, so
 * on failure the fresh slots are simply given back. */
static int assign_slots(struct fastpath *fp, const struct fp_flow_key *keys,
			struct fp_flow_val *vals, size_t n, uint32_t *fresh, size_t *nfresh,
			uint8_t *isnew)
{
	struct key_set ks;
	struct fp_flow_val old;
	uint32_t first;
	size_t i;
	int err;

	*nfresh = 0;
	err = key_set_init(&ks, n);
	for (i = 0; i < n && !err; i++) {
		if (!bpf_map_lookup_elem(fastpath_fd_flows(fp), &keys[i], &old)) {
			vals[i].slot = old.slot;
			continue;
		}
		first = key_set_add(&ks, keys, (uint32_t)i);
		if (first != i) {
			vals[i].slot = vals[first].slot;
			continue;
		}
		err = fastpath_slot_alloc(fp, &vals[i].slot);
		if (!err) {
			fresh[(*nfresh)++] = vals[i].slot;
			isnew[i] = 1;
		}
	}
	free(ks.cell);
	if (err)
		for (i = 0; i < *nfresh; i++)
			fastpath_slot_free(fp, fresh[i]);
	return err;
}

int fastpath_flow_install_many(struct fastpath *fp, const struct fastpath_flow *f, size_t n)
{
	struct fp_flow_key *keys;
	struct fp_flow_val *vals;
	uint32_t *fresh;
	uint8_t *isnew;
	size_t i, nfresh = 0;
	int err = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX - 1)
		return -E2BIG;
	keys = calloc(n, sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	fresh = calloc(n, sizeof(*fresh));
	isnew = calloc(n, sizeof(*isnew));
	if (!keys || !vals || !fresh || !isnew) {
		err = -ENOMEM;
		fastpath_log(LOG_ERR, "cannot install %zu flows: out of memory", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		err = flow_key(&f[i], &keys[i]);
		if (!err)
			err = flow_val(&f[i], &keys[i], &vals[i]);
		if (err) {
			log_flow(LOG_ERR, "cannot install (bad address, port, channel or flags)",
				 &f[i], err);
			goto out;
		}
	}
	err = fastpath_slot_lock(fp);
	if (err)
		goto out;
	for (i = 0; i < n; i++)
		flow_val_full(fp, &f[i], &keys[i], &vals[i]);
	err = assign_slots(fp, keys, vals, n, fresh, &nfresh, isnew);
	if (!err)
		err = fastpath_slot_zero(fp, fresh, nfresh);
	if (!err)
		err = fastpath_flow_update_batch(fastpath_fd_flows(fp), keys, sizeof(*keys), vals,
						 sizeof(*vals), n);
	if (err) {
		err = full_err(fp, err);
		fastpath_log(LOG_ERR, "cannot install %zu flows: %s", n, strerror(-err));
		/* Some may be in: the flows map says which slots are taken. */
		fastpath_slot_rebuild(fp);
		fastpath_port_rebuild(fp);
	} else {
		/* A key given twice is new once (isnew marks its first). The
		 * batch wrote the last copy: mirror in the same order. */
		for (i = 0; i < n && !err; i++)
			err = fastpath_port_put(fp, &keys[i], &vals[i], isnew[i]);
		if (err) {
			err = 0;
			fastpath_port_rebuild(fp);
		}
	}
	fastpath_slot_unlock(fp, nfresh > 0);
out:
	free(keys);
	free(vals);
	free(fresh);
	free(isnew);
	return err;
}

int fastpath_flow_remove_many(struct fastpath *fp, const struct fastpath_flow *f, size_t n)
{
	struct fp_flow_key k;
	struct fp_flow_val v;
	int err = 0, missing = 0, fd = fastpath_fd_flows(fp);
	size_t i;

	for (i = 0; i < n; i++) {
		err = flow_key(&f[i], &k);
		if (err) {
			log_flow(LOG_ERR, "cannot remove (bad key)", &f[i], err);
			return err;
		}
	}
	err = fastpath_slot_lock(fp);
	if (err)
		return err;
	/* One syscall per flow, as a batched delete would cost plus the
	 * lookup of its slot: the value comes back with the delete. */
	for (i = 0; i < n && !err; i++) {
		flow_key(&f[i], &k);
		if (!bpf_map_lookup_and_delete_elem(fd, &k, &v)) {
			fastpath_slot_free(fp, v.slot);
			if (fastpath_port_del(fp, &k))
				fastpath_port_rebuild(fp);
		} else if (errno == ENOENT)
			missing = 1;
		else
			err = -errno;
	}
	if (err)
		fastpath_log(LOG_ERR, "cannot remove %zu flows: %s", n, strerror(-err));
	else if (missing)
		err = -ENOENT;
	fastpath_slot_unlock(fp, 1);
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
