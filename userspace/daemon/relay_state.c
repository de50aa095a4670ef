// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay_state: the state file that lets a restarted icepathd (even after
 * kill -9) take its calls back while the pinned fast path keeps forwarding.
 *
 * Text, one record per line, fields separated by one space, strings
 * percent-encoded (so a call-id with spaces or '%' survives):
 *
 *   icepath-state 1
 *   call <call-id> <created unix s> [<latch mode: 0 default, 1 strict-source,
 *        2 media-handover>]
 *   leg <side> <tag|-> <interface> <peer_ice 0|1> <ice_lite 0|1>
 *   stream <side> <index> <active> <rtcp_mux> <media> <proto> <local RTP addr:port>
 *          <remote RTP|-> <remote RTCP|-> <flow id RTP> <flow id RTCP> <ufrag|-> <pwd|->
 *          [<peer ufrag|-> <peer pwd|->]
 *
 * (the peer's credentials, for the recovered leg's resumed agent, are
 * absent from files of older versions) *   end
 *
 * Written to FILE.tmp, fsync()ed, then rename()d over FILE: a reader sees
 * the old or the new file, never half of one.
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

#define STATE_MAGIC    "icepath-state 1"
#define STATE_LINE_MAX 4096

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

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decode a percent-encoded token in place; "-" is the empty string. */
static int get_str(char *tok, char *out, size_t cap)
{
	size_t n = 0;

	if (!tok)
		return -EINVAL;
	if (!strcmp(tok, "-")) {
		out[0] = 0;
		return 0;
	}
	for (char *p = tok; *p; p++) {
		int ch = (unsigned char)*p;

		if (ch == '%') {
			int hi = hexval((unsigned char)p[1]),
			    lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = hi * 16 + lo;
			p += 2;
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = (char)ch;
	}
	out[n] = 0;
	return 0;
}

int relay_state_save(struct relay *r)
{
	char tmp[sizeof(r->state_path) + 8], dir[sizeof(r->state_path)];
	FILE *f;
	int fd, err = 0;

	if (!r->state_path[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", r->state_path);
	mkdir(dirname(dir), 0750);
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		log_err("cannot write state file %s: %s; calls will not survive a restart (see "
			"--state-file)",
			tmp, strerror(-err));
		return err;
	}
	fprintf(f, "%s\n", STATE_MAGIC);
	for (struct call *c = r->calls.head; c; c = c->next) {
		fputs("call ", f);
		put_str(f, c->id);
		fprintf(f, " %lld %d\n", (long long)relay_unix_time(r, c->created_ms), (int)c->latch);
		for (unsigned side = 0; side < 2; side++) {
			const struct call_leg *l = &c->legs[side];

			fprintf(f, "leg %u ", side);
			put_str(f, l->tag);
			fputc(' ', f);
			put_str(f, l->iface);
			fprintf(f, " %d %d\n", l->peer_ice || l->agent, l->ice_lite);
			for (unsigned i = 0; i < l->nstreams; i++) {
				const struct call_stream *s = &l->streams[i];
				const char *uf = s->local_ufrag, *pw = s->local_pwd;

				if (l->agent && s->ice)
					ice_agent_local_credentials(
						l->agent, (unsigned)s->ice_stream, &uf, &pw);
				fprintf(f, "stream %u %u %d %d ", side, i, s->active, s->rtcp_mux);
				put_str(f, s->media);
				fputc(' ', f);
				put_str(f, s->proto);
				put_addr(f, &s->local[0], s->sock[0].fd >= 0);
				put_addr(f, &s->remote[0], s->remote_set[0]);
				put_addr(f, &s->remote[1], s->remote_set[1]);
				fprintf(f, " %llu %llu ",
					(unsigned long long)(s->flow_installed[0] ? s->flow[0].id
										  : 0),
					(unsigned long long)(s->flow_installed[1] ? s->flow[1].id
										  : 0));
				put_str(f, uf);
				fputc(' ', f);
				put_str(f, pw);
				fputc(' ', f);
				put_str(f, s->remote_ufrag);
				fputc(' ', f);
				put_str(f, s->remote_pwd);
				fputc('\n', f);
			}
		}
	}
	fprintf(f, "end\n");
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, r->state_path) < 0)
		err = -errno;
	if (err) {
		log_err("cannot write state file %s: %s", r->state_path, strerror(-err));
		unlink(tmp);
	}
	return err;
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

static int parse_stream(struct relay *r, struct call *c, char *save, unsigned side,
			uint64_t ids[2][CALL_MAX_STREAMS][2])
{
	char *tok[12];
	struct call_leg *l = &c->legs[side];
	const struct daemon_iface *ifc = daemon_opts_iface(&r->opts, l->iface);
	struct call_stream *s;
	struct netaddr local;
	unsigned idx;
	int err;

	/* index active rtcp_mux media proto local remote-rtp remote-rtcp
	 * flow-rtp flow-rtcp ufrag pwd (the side was read by the caller) */
	for (int i = 0; i < 12; i++)
		if (!(tok[i] = strtok_r(NULL, " \n", &save)))
			return -EINVAL;
	idx = (unsigned)atoi(tok[0]);
	if (idx >= CALL_MAX_STREAMS || !ifc)
		return -EINVAL;
	s = &l->streams[idx];
	s->index = idx;
	s->active = atoi(tok[1]);
	s->rtcp_mux = s->offer_mux = atoi(tok[2]);
	if (get_str(tok[3], s->media, sizeof(s->media)) ||
	    get_str(tok[4], s->proto, sizeof(s->proto)))
		return -EINVAL;
	if (strcmp(tok[5], "-")) {
		if (netaddr_parse(&local, tok[5], -1) || !netaddr_same_ip(&local, &ifc->local))
			return -EINVAL;
		err = relay_stream_open(r, l, s, ifc, netaddr_port(&local));
		if (err)
			return err;
	}
	for (unsigned k = 0; k < CALL_NCOMP; k++) {
		if (!strcmp(tok[6 + k], "-"))
			continue;
		if (netaddr_parse(&s->remote[k], tok[6 + k], -1))
			return -EINVAL;
		s->remote_set[k] = true;
		/* the peer's address is settled: no re-latching to a stray source */
		s->latched[k] = true;
	}
	ids[side][idx][0] = strtoull(tok[8], NULL, 10);
	ids[side][idx][1] = strtoull(tok[9], NULL, 10);
	if (get_str(tok[10], s->local_ufrag, sizeof(s->local_ufrag)) ||
	    get_str(tok[11], s->local_pwd, sizeof(s->local_pwd)))
		return -EINVAL;
	/* optional: the peer's credentials (both or neither) */
	tok[0] = strtok_r(NULL, " \n", &save);
	tok[1] = tok[0] ? strtok_r(NULL, " \n", &save) : NULL;
	if (tok[0] && (get_str(tok[0], s->remote_ufrag, sizeof(s->remote_ufrag)) ||
		       get_str(tok[1], s->remote_pwd, sizeof(s->remote_pwd))))
		return -EINVAL;
	if (idx + 1 > l->nstreams)
		l->nstreams = idx + 1;
	return 0;
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

int relay_state_recover(struct relay *r, uint64_t now)
{
	uint64_t ids[2][CALL_MAX_STREAMS][2];
	char line[STATE_LINE_MAX], id[CALL_ID_MAX];
	struct call *c = NULL;
	unsigned lineno = 0, ncalls = 0, bad = 0;
	bool skip = false;
	FILE *f;

	memset(ids, 0, sizeof(ids));
	f = r->state_path[0] ? fopen(r->state_path, "r") : NULL;
	if (!f) {
		if (r->state_path[0] && errno != ENOENT)
			log_warn("cannot read state file %s: %s; starting without calls",
				 r->state_path, strerror(errno));
		remove_orphans(r);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *kind = strtok_r(line, " \n", &save);

		lineno++;
		if (!kind)
			continue;
		if (lineno == 1) {
			if (strcmp(kind, "icepath-state") ||
			    !(kind = strtok_r(NULL, " \n", &save)) || strcmp(kind, "1")) {
				log_warn("state file %s: not an icepath state file (version 1); "
					 "ignored",
					 r->state_path);
				break;
			}
			continue;
		}
		if (!strcmp(kind, "call") || !strcmp(kind, "end")) {
			if (c && !skip) {
				finish_call(r, c, ids, now);
				ncalls++;
			} else if (c) {
				relay_call_delete(r, c, "state file record unusable", now);
				bad++;
			}
			c = NULL;
			skip = false;
			if (!strcmp(kind, "end"))
				break;
			if (get_str(strtok_r(NULL, " \n", &save), id, sizeof(id)) ||
			    call_create(&r->calls, id, now, &c)) {
				log_warn("state file %s:%u: bad call record; skipped",
					 r->state_path, lineno);
				c = NULL;
				bad++;
				continue;
			}
			r->managed_calls++;
			/* optional after the creation time: the latch mode */
			if (strtok_r(NULL, " \n", &save)) {
				char *t = strtok_r(NULL, " \n", &save);
				int m = t ? atoi(t) : CALL_LATCH_DEFAULT;

				if (m >= CALL_LATCH_DEFAULT && m <= CALL_LATCH_HANDOVER)
					c->latch = (enum call_latch_mode)m;
			}
			continue;
		}
		if (!c || skip)
			continue;
		if (!strcmp(kind, "leg")) {
			char *t_side = strtok_r(NULL, " \n", &save),
			     *t_tag = strtok_r(NULL, " \n", &save),
			     *t_if = strtok_r(NULL, " \n", &save),
			     *t_ice = strtok_r(NULL, " \n", &save),
			     *t_lite = strtok_r(NULL, " \n", &save);
			unsigned side = t_side ? (unsigned)atoi(t_side) : 2;

			if (side > 1 || !t_lite ||
			    get_str(t_tag, c->legs[side].tag, sizeof(c->legs[side].tag)) ||
			    get_str(t_if, c->legs[side].iface, sizeof(c->legs[side].iface))) {
				log_warn("state file %s:%u: bad leg record; call %s dropped",
					 r->state_path, lineno, c->id);
				skip = true;
				continue;
			}
			c->legs[side].peer_ice = atoi(t_ice);
			c->legs[side].ice_lite = atoi(t_lite);
		} else if (!strcmp(kind, "stream")) {
			char *t_side = strtok_r(NULL, " \n", &save);
			unsigned side = t_side ? (unsigned)atoi(t_side) : 2;
			int err = side > 1 ? -EINVAL : parse_stream(r, c, save, side, ids);

			if (err) {
				log_warn("state file %s:%u: stream of call %s not recoverable "
					 "(%s); call dropped",
					 r->state_path, lineno, c->id, strerror(-err));
				skip = true;
			}
		}
	}
	if (c) {
		/* no "end": the file was cut; what we have of the last call is
		 * incomplete */
		relay_call_delete(r, c, "state file truncated", now);
		bad++;
	}
	fclose(f);
	remove_orphans(r);
	log_info("recovered %u calls from %s%s", ncalls, r->state_path,
		 bad ? " (some records unusable: see above)" : "");
	relay_state_dirty(r, now);
	return 0;
}
