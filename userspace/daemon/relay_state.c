// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_state: the state file that lets a restarted icepathd (even after
 * kill -9) take its calls back while the pinned fast path keeps forwarding.
 *
 * Text, one record per line, fields separated by one space, strings
 * percent-encoded (so a call-id with spaces or '%' survives):
 *
 *   icepath-state 2
 *   call <call-id> <created unix s> [<latch mode: 0 default, 1 strict-source,
 *        2 media-handover>]
 *   leg <side> <tag|-> <interface> <peer_ice 0|1> <ice_lite 0|1> [<crypto: 0 pass-through,
 *       1 plain RTP, 2 DTLS-SRTP, 3 SDES-SRTP>]
 *   stream <side> <index> <active> <rtcp_mux> <media> <proto> <local RTP addr:port>
 *          <remote RTP|-> <remote RTCP|-> <flow id RTP> <flow id RTCP> <ufrag|-> <pwd|->
 *          [<peer ufrag|-> <peer pwd|->]
 *   learn <side> <index> <comp 0 RTP, 1 RTCP> <latched 0|1> <sdp known 0|1>
 *         <announced by the SDP|-> <latched at unix ms|0> <learning until unix ms|0>
 *         <rank of remote 0-3>
 *   count <side> <index> <comp> <rx user packets> <bytes> <rx fast packets of removed
 *         flows> <bytes> <tx user packets> <bytes> <dropped> <foreign>
 *   keys <side> <suite 1-4> <rx master key||salt, hex> <tx master key||salt, hex>
 *        <a=setup 0-3> <DTLS handshake done 0|1> <SDES re-keys> <peer a=crypto tag>
 *        <local a=crypto tag>      (a terminated leg that has SRTP keys; after its leg)
 *   ...
 *   end
 *   [gone <call-id>] [call ...]   appended commits, each closed by "end"
 *   end
 *
 * What a plain-RTP stream learned (remote, latched, when) is kept apart from
 * what its SDP only announced, so a recovered stream re-latches exactly as
 * before the crash: one that never latched (a phone behind NAT whose RTCP
 * had not arrived yet) still learns. Counters survive a restart: userspace
 * ones here, the fast path's in its pinned per-flow counters (rx fast =
 * the removed flows' packets written here + the live flows' in BPF).
 *
 * Durability (issue 14): NG replies leave only after relay_state_commit().
 * A commit appends the records of the calls changed since the last one (a
 * later record of a call-id replaces an earlier one, "gone" deletes it)
 * and "end", with one write and one fdatasync(); a snapshot (FILE.tmp,
 * created anew and never through a symbolic link, fsync()ed, rename()d
 * over FILE, then the directory fsync()ed) replaces the lot when the
 * journal outgrows the snapshot, every RELAY_STATE_CHECKPOINT_MS (the
 * counters of every call), and first after a start. A commit cut by a
 * crash lacks its "end" and is ignored; its replies were never sent.
 * The keys records make the file (and the Redis hash) secret: the file and
 * its snapshots are created 0600 and a file found more open is chmod()ed
 * back (relay_state_load()); key bytes are never logged.
 * Version 1 files (one snapshot, no learn/count records) are still read,
 * their remotes taken as latched as that version did.
 * Read back with relay_state_parse() (bytes -> records, no I/O); only a
 * whole valid call record opens sockets.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/ice.h"
#include "relay.h"
#include "relay_crypto.h"
#include "relay_state.h"

static void put_str(FILE *f, const char *s)
{
	if (!*s) {
		fputc('-', f);
		return;
	}
	/* "-" alone means empty: a real "-" is written encoded */
	if (!strcmp(s, "-")) {
		fputs("%2D", f);
		return;
	}
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch == '%' || ch >= 0x7f)
			fprintf(f, "%%%02X", ch);
		else
			fputc(ch, f);
	}
}

static void put_addr(FILE *f, const struct netaddr *a, bool set)
{
	char buf[NETADDR_STRLEN];

	fprintf(f, " %s", set ? netaddr_str(a, buf, sizeof(buf)) : "-");
}

/* A monotonic stamp as unix ms (0 stays 0: "none"). */
static unsigned long long unix_ms(const struct relay *r, uint64_t mono_ms)
{
	int64_t u = (int64_t)mono_ms + r->unix_offset_ms;

	return mono_ms && u > 0 ? (unsigned long long)u : 0;
}

/* A unix ms stamp read back, on this run's monotonic clock (at least 1:
 * a stamp before this clock's zero is still "set", and long past). */
static uint64_t mono_ms(const struct relay *r, int64_t unix_ms)
{
	int64_t m = unix_ms - r->unix_offset_ms;

	return !unix_ms ? 0 : m > 0 ? (uint64_t)m : 1;
}

static void put_stream(FILE *f, const struct relay *r, const struct call_leg *l, unsigned side,
		       unsigned i)
{
	const struct call_stream *s = &l->streams[i];
	const char *uf = s->local_ufrag, *pw = s->local_pwd;

	if (l->agent && s->ice)
		ice_agent_local_credentials(l->agent, (unsigned)s->ice_stream, &uf, &pw);
	fprintf(f, "stream %u %u %d %d ", side, i, s->active, s->rtcp_mux);
	put_str(f, s->media);
	fputc(' ', f);
	put_str(f, s->proto);
	put_addr(f, &s->local[0], s->sock[0].fd >= 0);
	put_addr(f, &s->remote[0], s->remote_set[0]);
	put_addr(f, &s->remote[1], s->remote_set[1]);
	fprintf(f, " %llu %llu ",
		(unsigned long long)(s->flow_installed[0] ? s->flow[0].id : 0),
		(unsigned long long)(s->flow_installed[1] ? s->flow[1].id : 0));
	put_str(f, uf);
	fputc(' ', f);
	put_str(f, pw);
	fputc(' ', f);
	put_str(f, s->remote_ufrag);
	fputc(' ', f);
	put_str(f, s->remote_pwd);
	fputc('\n', f);
	for (unsigned k = 0; k < CALL_NCOMP; k++) {
		int rank = s->learn_rank[k] < 0 ? 0 : s->learn_rank[k] > 3 ? 3 : s->learn_rank[k];

		fprintf(f, "learn %u %u %u %d %d", side, i, k, s->latched[k], s->sdp_known[k]);
		put_addr(f, &s->sdp_remote[k], s->sdp_set[k]);
		fprintf(f, " %llu %llu %d\n", unix_ms(r, s->latched_ms[k]),
			unix_ms(r, s->learn_until_ms[k]), rank);
		fprintf(f, "count %u %u %u %llu %llu %llu %llu %llu %llu %llu %llu\n", side, i, k,
			(unsigned long long)s->rx_user[k].packets,
			(unsigned long long)s->rx_user[k].bytes,
			(unsigned long long)s->fast_base[k].packets,
			(unsigned long long)s->fast_base[k].bytes,
			(unsigned long long)s->tx_user[k].packets,
			(unsigned long long)s->tx_user[k].bytes,
			(unsigned long long)(k ? 0 : s->dropped),
			(unsigned long long)(k ? 0 : s->foreign));
	}
}

static void put_hex(FILE *f, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	fputc(' ', f);
	for (size_t i = 0; i < na; i++)
		fprintf(f, "%02x", a[i]);
	for (size_t i = 0; i < nb; i++)
		fprintf(f, "%02x", b[i]);
}

/* A terminated leg's SRTP keys, so a restart or a standby rebuilds its
 * contexts without a handshake (relay_crypto.h). */
static void put_keys(FILE *f, const struct call_leg *l, unsigned side)
{
	const struct relay_crypto *c = l->crypto;
	size_t kl, sl;

	if (!c || c->mode == RELAY_CRYPTO_PLAIN || !c->rx || !c->tx)
		return;
	kl = srtpctx_suite_key_len(c->suite);
	sl = srtpctx_suite_salt_len(c->suite);
	fprintf(f, "keys %u %d", side, (int)c->suite);
	put_hex(f, c->rx_key, kl, c->rx_salt, sl);
	put_hex(f, c->tx_key, kl, c->tx_salt, sl);
	fprintf(f, " %d %d %llu %u %u\n", (int)c->setup, c->dtls_done,
		(unsigned long long)c->rekeys,
		c->mode == RELAY_CRYPTO_SDES ? (unsigned)c->peer.tag : 0,
		c->mode == RELAY_CRYPTO_SDES && c->n_local ? (unsigned)c->local[0].tag : 0);
}

static void put_call(FILE *f, const struct relay *r, const struct call *c)
{
	fputs("call ", f);
	put_str(f, c->id);
	fprintf(f, " %lld %d\n", (long long)relay_unix_time(r, c->created_ms), (int)c->latch);
	for (unsigned side = 0; side < 2; side++) {
		const struct call_leg *l = &c->legs[side];

		fprintf(f, "leg %u ", side);
		put_str(f, l->tag);
		fputc(' ', f);
		put_str(f, l->iface);
		fprintf(f, " %d %d %d\n", l->peer_ice || l->agent, l->ice_lite,
			l->crypto ? (int)l->crypto->mode + 1 : 0);
		put_keys(f, l, side);
		for (unsigned i = 0; i < l->nstreams; i++)
			put_stream(f, r, l, side, i);
	}
}

/* The rename is durable once the directory entry is on disk. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) && errno != EINVAL) /* some file systems cannot */
		err = -errno;
	close(fd);
	return err;
}

/* What to do about a write that failed with err, for the log and the NG
 * error-reason. */
static const char *fix_for(int err)
{
	switch (-err) {
	case ENOSPC:
		return "free disk space on its file system";
	case EDQUOT:
		return "raise the disk quota or free space";
	case EROFS:
	case EACCES:
	case EPERM:
		return "make its directory writable for icepathd";
	case EIO:
		return "check the disk (dmesg)";
	default:
		return "check its file system";
	}
}

/* The failure of one step, said once in r->state_why. */
static void state_failed(struct relay *r, const char *what, const char *path, int err)
{
	snprintf(r->state_why, sizeof(r->state_why),
		 "state not durable: %s %s: %s; %s (--state-file), then retry", what, path,
		 strerror(-err), fix_for(err));
}

/* ---- the journal's bookkeeping -------------------------------------------------- */

void relay_state_mark(struct relay *r, struct call *c)
{
	if (c->state_dirty)
		return;
	c->state_dirty = true;
	c->state_next = r->state_dirty;
	r->state_dirty = c;
}

void relay_state_gone(struct relay *r, struct call *c)
{
	if (c->state_dirty) {
		for (struct call **p = &r->state_dirty; *p; p = &(*p)->state_next)
			if (*p == c) {
				*p = c->state_next;
				break;
			}
		c->state_dirty = false;
	}
	if (r->journal_fd < 0 && !r->redis)
		return; /* the next commit is a snapshot: it will not have c */
	if (r->n_state_gone == r->cap_state_gone) {
		unsigned cap = r->cap_state_gone ? 2 * r->cap_state_gone : 64;
		char(*g)[CALL_ID_MAX] = realloc(r->state_gone, cap * sizeof(*g));

		if (!g) {
			/* cannot say it in the journal: say it in a snapshot,
			 * and to Redis in a whole write */
			relay_state_close(r);
			relay_redis_resync(r);
			return;
		}
		r->state_gone = g;
		r->cap_state_gone = cap;
	}
	snprintf(r->state_gone[r->n_state_gone++], CALL_ID_MAX, "%s", c->id);
}

/* Everything is in the file now. */
static void state_clean(struct relay *r)
{
	while (r->state_dirty) {
		struct call *c = r->state_dirty;

		r->state_dirty = c->state_next;
		c->state_dirty = false;
		c->state_next = NULL;
		c->state_new = false;
	}
	r->n_state_gone = 0;
}

void relay_state_close(struct relay *r)
{
	if (r->journal_fd >= 0)
		close(r->journal_fd);
	r->journal_fd = -1;
}

void relay_state_release(struct relay *r)
{
	relay_state_close(r);
	state_clean(r);
	free(r->state_gone);
	r->state_gone = NULL;
	r->cap_state_gone = 0;
}

/* A snapshot; quiet: a commit's, which logs the failure itself (once). */
static int snapshot(struct relay *r, bool quiet)
{
	char tmp[sizeof(r->state_path) + 8], dir[sizeof(r->state_path)];
	const char *d;
	FILE *f;
	long size = 0;
	int fd, err = 0;

	if (!r->state_path[0] || r->opts.redis_standby)
		return 0;
	snprintf(dir, sizeof(dir), "%s", r->state_path);
	d = dirname(dir);
	mkdir(d, 0750);
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->state_path);
	/* a FILE.tmp left by a crash, or planted (a symlink to a file the
	 * daemon may write), is removed and created anew, never followed */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		state_failed(r, "cannot create", tmp, err);
		if (!quiet)
			log_err("%s; calls will not survive a restart", r->state_why);
		return err;
	}
	fprintf(f, "%s\n", RELAY_STATE_MAGIC);
	for (struct call *c = r->calls.head; c; c = c->next)
		put_call(f, r, c);
	fprintf(f, "end\n");
	size = ftell(f);
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, r->state_path) < 0)
		err = -errno;
	if (!err)
		err = sync_dir(d);
	relay_state_close(r);
	if (err) {
		state_failed(r, "cannot write", r->state_path, err);
		if (!quiet)
			log_err("%s", r->state_why);
		unlink(tmp);
		return err;
	}
	for (struct call *c = r->calls.head; c; c = c->next)
		c->state_new = false;
	/* the next commits append to what was just renamed in */
	r->journal_fd = open(r->state_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (r->journal_fd < 0)
		log_warn("state file %s: cannot open it for appending (%s); every commit will "
			 "rewrite it whole",
			 r->state_path, strerror(errno));
	r->snapshot_bytes = size > 0 ? (size_t)size : 0;
	r->journal_bytes = 0;
	r->snapshot_ms = r->now_ms;
	state_clean(r);
	return 0;
}

int relay_state_save(struct relay *r)
{
	return snapshot(r, false);
}

static int commit_file(struct relay *r, uint64_t now_ms)
{
	size_t compact = r->snapshot_bytes > RELAY_STATE_COMPACT_MIN ? r->snapshot_bytes
								      : RELAY_STATE_COMPACT_MIN;
	char *chunk = NULL;
	size_t len = 0, off = 0;
	FILE *f;
	int err = 0;

	if (!r->state_path[0])
		return 0;
	if (r->journal_fd < 0 || r->journal_bytes > compact ||
	    now_ms >= r->snapshot_ms + RELAY_STATE_CHECKPOINT_MS)
		return snapshot(r, true);
	if (!r->state_dirty && !r->n_state_gone)
		return 0;
	f = open_memstream(&chunk, &len);
	if (!f)
		return snapshot(r, true);
	/* gone first: a call deleted and made again in one turn stays */
	for (unsigned i = 0; i < r->n_state_gone; i++) {
		fputs("gone ", f);
		put_str(f, r->state_gone[i]);
		fputc('\n', f);
	}
	for (struct call *c = r->state_dirty; c; c = c->state_next)
		put_call(f, r, c);
	fputs("end\n", f);
	if (fclose(f)) {
		free(chunk);
		return snapshot(r, true);
	}
	while (off < len) {
		ssize_t n = write(r->journal_fd, chunk + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	free(chunk);
	if (!err && fdatasync(r->journal_fd))
		err = -errno;
	if (err) {
		/* a torn append has no "end": ignored on reading; the snapshot
		 * replaces the file whole */
		if (!r->state_failing)
			log_warn("state file %s: append failed (%s); writing it whole",
				 r->state_path, strerror(-err));
		relay_state_close(r);
		return snapshot(r, true);
	}
	r->journal_bytes += len;
	state_clean(r);
	return 0;
}

/* The turn's commit: the file (journal or snapshot), then Redis. */
int relay_state_commit(struct relay *r, uint64_t now_ms)
{
	int err, rerr;

	/* a standby owns no calls: the active's are in Redis */
	if (r->opts.redis_standby)
		return 0;
	/* Redis first, while the turn's lists of changed and deleted calls
	 * are there (the file's commit empties them); both before any reply
	 * leaves, so a call acknowledged to NG is in both (relay_redis.c says
	 * why this write is synchronous) */
	rerr = relay_redis_save(r);
	err = commit_file(r, now_ms);
	/* the store of record: the state file when there is one (a Redis that
	 * does not answer is logged by relay_redis.c: calls are not
	 * replicated, but they survive a restart); Redis alone otherwise */
	if (!r->state_path[0]) {
		err = rerr;
		if (err)
			snprintf(r->state_why, sizeof(r->state_why),
				 "state not durable: %s did not take the write; see why in "
				 "icepathd's log, make it answer, then retry",
				 relay_redis_where(r));
		else
			state_clean(r); /* no file: the lists were Redis' alone */
	}
	if (err) {
		r->state_failures++;
		if (!r->state_failing)
			log_err("%s (failed state writes are counted in "
				"icepath_state_write_failures_total; logged once until one "
				"succeeds)",
				r->state_why);
		r->state_failing = true;
	} else if (r->state_failing) {
		log_info("state writes succeed again after %llu failures: calls are durable",
			 (unsigned long long)r->state_failures);
		r->state_failing = false;
	}
	return err;
}

void relay_state_put_call(FILE *f, struct relay *r, const struct call *c)
{
	put_call(f, r, c);
}

/* ---- recovery ------------------------------------------------------------------ */

struct orphan_walk {
	struct relay *r;
	struct fastpath_flow *keys;
	size_t n, cap;
};

static bool flow_owned(struct relay *r, const struct fastpath_flow *f)
{
	for (struct call *c = r->calls.head; c; c = c->next)
		for (unsigned side = 0; side < 2; side++)
			for (unsigned i = 0; i < c->legs[side].nstreams; i++)
				for (unsigned k = 0; k < CALL_NCOMP; k++) {
					const struct call_stream *s = &c->legs[side].streams[i];

					if (s->flow_installed[k] &&
					    netaddr_equal(&s->flow[k].local, &f->local) &&
					    netaddr_equal(&s->flow[k].remote, &f->remote) &&
					    s->flow[k].in_channel == f->in_channel)
						return true;
				}
	return false;
}

static int collect_orphan(const struct fastpath_flow *f, void *ctx)
{
	struct orphan_walk *w = ctx;

	if (flow_owned(w->r, f))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct fastpath_flow *k = realloc(w->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		w->keys = k;
		w->cap = cap;
	}
	w->keys[w->n++] = *f;
	return 0;
}

static void remove_orphans(struct relay *r)
{
	char a[NETADDR_STRLEN], b[NETADDR_STRLEN];
	struct orphan_walk w = {.r = r};

	if (!r->fp)
		return;
	fastpath_flow_foreach(r->fp, collect_orphan, &w);
	for (size_t i = 0; i < w.n; i++) {
		log_warn("removing orphan fast-path flow %s -> %s (id %llu): no recovered call "
			 "owns it",
			 netaddr_str(&w.keys[i].remote, a, sizeof(a)),
			 netaddr_str(&w.keys[i].out_dst, b, sizeof(b)),
			 (unsigned long long)w.keys[i].id);
		fastpath_flow_remove(r->fp, &w.keys[i]);
	}
	free(w.keys);
}

/* After a call's streams are back: adopt the flows the fast path still has. */
static void adopt_flows(struct relay *r, struct call *c, const uint64_t ids[2][CALL_MAX_STREAMS][2])
{
	struct fastpath_counters fc;

	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++) {
			struct call_stream *s = &l->streams[i];

			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				struct fastpath_flow f = {0};

				if (!ids[side][i][k] || !r->fp)
					continue;
				f.local = s->local[k];
				f.remote = s->remote[k];
				if (fastpath_flow_counters(r->fp, &f, &fc))
					continue;
				/* the rest of the flow is recomputed by sync: same
				 * key, so the entry is replaced in place, never gone */
				s->flow[k] = f;
				s->flow[k].id = ids[side][i][k];
				s->flow_installed[k] = true;
				if (ids[side][i][k] > r->next_flow_id)
					r->next_flow_id = ids[side][i][k];
			}
		}
	}
}

static void finish_call(struct relay *r, struct call *c, uint64_t ids[2][CALL_MAX_STREAMS][2],
			uint64_t now)
{

	adopt_flows(r, c, (const uint64_t(*)[CALL_MAX_STREAMS][2])ids);
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		l->recovered = true;
		call_leg_transition(&r->calls, l, CALL_LEG_STATE_ALLOCATED,
				    "recovered from state file", now);
		call_leg_settle(&r->calls, l, now);
		if (l->peer_ice)
			relay_agent_resume(r, l, now);
		relay_idle_arm(r, l, now);
	}
	relay_call_changed(r, c);
	memset(ids, 0, sizeof(uint64_t) * 2 * CALL_MAX_STREAMS * 2);
}

/*
 * One whole record to a call: every field first, then the sockets (the
 * streams count is set before any opens, so relay_call_delete() closes
 * what a failure leaves open: nothing stays bound for a refused record).
 */
struct apply_ctx {
	struct relay *r;
	uint64_t now;
};

static int apply_call(const struct relay_state_call *rc, void *ctx)
{
	struct relay *r = ((struct apply_ctx *)ctx)->r;
	uint64_t now = ((struct apply_ctx *)ctx)->now;
	uint64_t ids[2][CALL_MAX_STREAMS][2];
	const struct daemon_iface *ifc[2] = {NULL, NULL};
	struct call *c;
	int err;

	memset(ids, 0, sizeof(ids));
	for (unsigned side = 0; side < 2; side++) {
		const struct relay_state_leg *sl = &rc->legs[side];

		if (!sl->nstreams)
			continue;
		ifc[side] = daemon_opts_iface(&r->opts, sl->iface);
		if (!ifc[side]) {
			log_warn("state file %s:%u: call %s: interface '%s' is not configured "
				 "(--interface); call dropped",
				 r->state_path, rc->line, rc->id, sl->iface);
			return -EINVAL;
		}
		for (unsigned i = 0; i < sl->nstreams; i++)
			if (sl->streams[i].has_local &&
			    !netaddr_same_ip(&sl->streams[i].local, &ifc[side]->local)) {
				log_warn("state file %s:%u: call %s: stream %u is not on interface "
					 "%s's address; call dropped",
					 r->state_path, rc->line, rc->id, i, sl->iface);
				return -EINVAL;
			}
	}
	err = call_create(&r->calls, rc->id, now, &c);
	if (err) {
		log_warn("state file %s:%u: call %s cannot be created (%s); skipped",
			 r->state_path, rc->line, rc->id, strerror(-err));
		return err;
	}
	r->managed_calls++;
	c->latch = rc->latch;
	for (unsigned side = 0; side < 2; side++) {
		const struct relay_state_leg *sl = &rc->legs[side];
		struct call_leg *l = &c->legs[side];

		snprintf(l->tag, sizeof(l->tag), "%s", sl->tag);
		snprintf(l->iface, sizeof(l->iface), "%s", sl->iface);
		l->peer_ice = sl->peer_ice;
		l->ice_lite = sl->ice_lite;
		if (sl->crypto)
			relay_crypto_recovered(r, l, sl->crypto - 1);
		if (sl->crypto && sl->keys.present && relay_crypto_restore(l, &sl->keys))
			log_warn("state file %s:%u: call %s leg %s: its SRTP keys cannot be "
				 "restored: its media is dropped until it negotiates again",
				 r->state_path, rc->line, rc->id, l->tag);
		else if (sl->crypto > 1 && !sl->keys.present)
			log_warn("state file %s:%u: call %s leg %s: %s with no SRTP keys kept: "
				 "its media is dropped until it negotiates again",
				 r->state_path, rc->line, rc->id, l->tag,
				 relay_crypto_mode_str((enum relay_crypto_mode)(sl->crypto - 1)));
		l->nstreams = sl->nstreams;
		for (unsigned i = 0; i < sl->nstreams; i++) {
			const struct relay_state_stream *ss = &sl->streams[i];
			struct call_stream *s = &l->streams[i];

			s->index = i;
			s->active = ss->active;
			s->rtcp_mux = s->offer_mux = ss->rtcp_mux;
			snprintf(s->media, sizeof(s->media), "%s", ss->media);
			snprintf(s->proto, sizeof(s->proto), "%s", ss->proto);
			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				const struct relay_state_comp *q = &ss->comp[k];

				s->remote_set[k] = ss->remote_set[k];
				if (ss->remote_set[k])
					s->remote[k] = ss->remote[k];
				ids[side][i][k] = ss->flow_id[k];
				if (rc->version < 2) {
					/* version 1 did not say: its remotes are
					 * taken as settled, as that version did */
					s->latched[k] = ss->remote_set[k];
					continue;
				}
				/* learned is learned, announced is only announced:
				 * a stream that never latched goes on learning */
				s->latched[k] = q->has_learn && q->latched;
				s->latched_ms[k] = mono_ms(r, q->latched_ms);
				s->sdp_known[k] = q->has_learn && q->sdp_known;
				s->sdp_set[k] = q->announced_set;
				if (q->announced_set)
					s->sdp_remote[k] = q->announced;
				s->learn_until_ms[k] = mono_ms(r, q->learn_until_ms);
				s->learn_rank[k] = (int)q->learn_rank;
				if (!q->has_count)
					continue;
				s->rx_user[k].packets = q->rx_user_packets;
				s->rx_user[k].bytes = q->rx_user_bytes;
				s->fast_base[k].packets = q->fast_base_packets;
				s->fast_base[k].bytes = q->fast_base_bytes;
				s->tx_user[k].packets = q->tx_user_packets;
				s->tx_user[k].bytes = q->tx_user_bytes;
				if (k == CALL_COMP_RTP) {
					s->dropped = q->dropped;
					s->foreign = q->foreign;
				}
			}
			snprintf(s->local_ufrag, sizeof(s->local_ufrag), "%s", ss->ufrag);
			snprintf(s->local_pwd, sizeof(s->local_pwd), "%s", ss->pwd);
			snprintf(s->remote_ufrag, sizeof(s->remote_ufrag), "%s", ss->remote_ufrag);
			snprintf(s->remote_pwd, sizeof(s->remote_pwd), "%s", ss->remote_pwd);
		}
	}
	for (unsigned side = 0; side < 2; side++) {
		struct call_leg *l = &c->legs[side];

		for (unsigned i = 0; i < l->nstreams; i++) {
			const struct relay_state_stream *ss = &rc->legs[side].streams[i];

			if (!ss->has_local)
				continue;
			err = relay_stream_open(r, l, &l->streams[i], ifc[side],
						netaddr_port(&ss->local));
			if (err) {
				log_warn("state file %s:%u: call %s: port %u cannot be bound again "
					 "(%s); call dropped",
					 r->state_path, rc->line, rc->id, netaddr_port(&ss->local),
					 strerror(-err));
				relay_call_delete(r, c, "state file record unusable", now);
				return err;
			}
		}
	}
	finish_call(r, c, ids, now);
	return 0;
}

/* The file's bytes: never through a symbolic link, never more than the cap. */
static char *read_state(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("cannot read state file %s: %s%s; starting without calls", path,
				 strerror(errno),
				 errno == ELOOP ? " (a symbolic link: not followed)" : "");
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)RELAY_STATE_FILE_MAX) {
		log_warn("state file %s: not a regular file of at most %u bytes; starting without "
			 "calls",
			 path, RELAY_STATE_FILE_MAX);
		close(fd);
		return NULL;
	}
	/* it holds SRTP master keys: owner only (relay_state.c's header) */
	if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700))
		log_warn("state file %s: mode %o, and it holds SRTP keys: cannot make it 0600 "
			 "(%s)",
			 path, (unsigned)(st.st_mode & 0777), strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	while (buf && *len < (size_t)st.st_size &&
	       (n = read(fd, buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return buf;
}

unsigned relay_state_apply(struct relay *r, const char *buf, size_t len, const char *name,
			   uint64_t now)
{
	struct apply_ctx ctx = {.r = r, .now = now};
	struct relay_state_parse_stats st = {0};

	if (buf)
		relay_state_parse(buf, len, name, apply_call, &ctx, &st);
	remove_orphans(r);
	if (buf)
		log_info("recovered %u calls from %s (version %u)%s", st.calls, name, st.version,
			 st.bad ? " (some records unusable: see above)" : "");
	if (buf && st.version == 1)
		log_info("%s is version 1: its streams are taken as latched; it is rewritten as "
			 "version %s",
			 name, &RELAY_STATE_MAGIC[14]);
	if (buf)
		relay_state_dirty(r, now);
	return st.calls;
}

int relay_state_recover(struct relay *r, uint64_t now)
{
	size_t len = 0;
	char *buf = r->state_path[0] ? read_state(r->state_path, &len) : NULL;

	relay_state_apply(r, buf, len, r->state_path, now);
	free(buf);
	return 0;
}
