// SPDX-License-Identifier: GPL-2.0-only
/* relay_crypto: DTLS-SRTP and SDES-SRTP terminated per leg (see relay_crypto.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_log.h"
#include "icepath/compiler.h"
#include "icepath/demux.h"
#include "icepath/ice.h"
#include "icepath/sdp.h"
#include "relay.h"
#include "relay_crypto.h"
#include "relay_state.h"
#include "sdp_rewrite.h"

/* NG's SDES suite numbers are srtpctx's (ng.h cannot include srtpctx.h). */
_Static_assert(NG_SDES_SUITES == SRTPCTX_SUITE_COUNT, "NG SDES suites follow srtpctx");

#define RELAY_CBUF_LEN (RELAY_DGRAM_MAX + SRTPCTX_TRAILER_MAX)

/* What the relay offers a SIP phone with SDES, best first: SHA1_80 is what
 * every SRTP phone speaks (RFC 4568 §6.2.1), GCM what newer ones prefer. */
static const enum srtpctx_suite sdes_offer_order[] = {
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_80,
	SRTPCTX_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTPCTX_SUITE_AEAD_AES_128_GCM,
	SRTPCTX_SUITE_AEAD_AES_256_GCM,
};

static const char *const mode_names[] = {
	[RELAY_CRYPTO_PLAIN] = "plain RTP",
	[RELAY_CRYPTO_DTLS] = "DTLS-SRTP",
	[RELAY_CRYPTO_SDES] = "SDES-SRTP",
};

const char *relay_crypto_mode_str(enum relay_crypto_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "unknown";
}

static enum relay_crypto_mode mode_for_proto(const char *proto)
{
	if (sdp_proto_is_dtls(proto))
		return RELAY_CRYPTO_DTLS;
	if (sdp_proto_is_srtp(proto))
		return RELAY_CRYPTO_SDES;
	return RELAY_CRYPTO_PLAIN;
}

/* ---- set-up --------------------------------------------------------------- */

/*
 * No --dtls-cert: the certificate is made once and, with --state-file, kept
 * next to it (FILE.dtls-cert.pem, FILE.dtls-key.pem, 0600), so a restarted
 * relay's a=fingerprint is the one its recovered calls' browsers pinned
 * (RFC 5763 §5): a fresh one per start would fail a new handshake.
 */
static int cert_kept(struct relay *r, char *err, size_t err_len)
{
	char cert[sizeof(r->state_path) + 16], key[sizeof(r->state_path) + 16];
	int ret;

	if (!r->state_path[0])
		return dtls_ctx_generate(&r->dtls_ctx, err, err_len);
	snprintf(cert, sizeof(cert), "%s.dtls-cert.pem", r->state_path);
	snprintf(key, sizeof(key), "%s.dtls-key.pem", r->state_path);
	if (!access(cert, F_OK) || !access(key, F_OK))
		return dtls_ctx_load(&r->dtls_ctx, cert, key, err, err_len);
	ret = dtls_ctx_generate(&r->dtls_ctx, err, err_len);
	if (ret)
		return ret;
	if (dtls_ctx_save(r->dtls_ctx, cert, key, err, err_len)) {
		/* the relay still runs; its restarts get other fingerprints */
		unlink(cert);
		log_warn("%s: a restart will have another a=fingerprint, so recovered DTLS "
			 "calls cannot handshake again; give --dtls-cert/--dtls-key",
			 err);
	}
	return 0;
}

int relay_crypto_init(struct relay *r)
{
	char err[256];
	int ret;

	r->cbuf = malloc(RELAY_CBUF_LEN);
	if (!r->cbuf)
		return -ENOMEM;
	if (r->opts.dtls_cert[0])
		ret = dtls_ctx_load(&r->dtls_ctx, r->opts.dtls_cert, r->opts.dtls_key, err,
				    sizeof(err));
	else
		ret = cert_kept(r, err, sizeof(err));
	if (ret) {
		log_err("DTLS certificate: %s", err);
		return ret;
	}
	ret = srtpctx_lib_init();
	if (ret) {
		log_err("cannot set up libsrtp2: %s; the relay needs it for DTLS/SDES legs",
			strerror(-ret));
		return ret;
	}
	r->srtp_ready = true;
	log_info("DTLS certificate %s (%s)", dtls_ctx_fingerprint(r->dtls_ctx),
		 r->opts.dtls_cert[0] ? r->opts.dtls_cert
		 : r->state_path[0]   ? "made once, kept next to the state file"
				      : "made at start, ECDSA P-256");
	return 0;
}

void relay_crypto_fini(struct relay *r)
{
	dtls_ctx_free(r->dtls_ctx);
	r->dtls_ctx = NULL;
	if (r->srtp_ready)
		srtpctx_lib_shutdown();
	r->srtp_ready = false;
	free(r->cbuf);
	r->cbuf = NULL;
}

static void srtp_drop(struct relay_crypto *c)
{
	srtpctx_free(c->rx);
	srtpctx_free(c->tx);
	c->rx = c->tx = NULL;
	c->suite = SRTPCTX_SUITE_NONE;
	c->dtls_done = false;
	memset(c->rx_key, 0, sizeof(c->rx_key)); /* key material */
	memset(c->rx_salt, 0, sizeof(c->rx_salt));
	memset(c->tx_key, 0, sizeof(c->tx_key));
	memset(c->tx_salt, 0, sizeof(c->tx_salt));
}

void relay_crypto_free(struct relay *r, struct call_leg *l)
{
	struct relay_crypto *c = l->crypto;

	if (!c)
		return;
	relay_worker_recall(r, l->call); /* the worker gives the contexts back */
	r->sdes_rekeys_gone += c->rekeys;
	timerheap_remove(&r->timers, &c->timer);
	dtls_free(c->dtls);
	srtp_drop(c);
	memset(c->local, 0, sizeof(c->local)); /* key material */
	memset(&c->peer, 0, sizeof(c->peer));
	free(c);
	l->crypto = NULL;
}

static struct relay_crypto *crypto_new(struct call_leg *l)
{
	struct relay_crypto *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	timerheap_node_init(&c->timer);
	c->timer.kind = RELAY_TIMER_DTLS;
	c->timer.owner = l;
	c->suites = SRTPCTX_SUITES_ALL;
	l->crypto = c;
	return c;
}

void relay_crypto_recovered(struct relay *r, struct call_leg *l, unsigned mode)
{
	(void)r;
	if (l->crypto || mode > RELAY_CRYPTO_SDES || !crypto_new(l))
		return;
	l->crypto->mode = (enum relay_crypto_mode)mode;
}

static void dtls_log(void *ctx, enum dtls_log_level level, const char *msg)
{
	(void)ctx;
	if (level >= DTLS_LOG_WARN)
		log_warn("%s", msg);
	else if (level == DTLS_LOG_INFO)
		log_info("%s", msg);
	else
		log_debug("%s", msg);
}

static int dtls_make(struct relay *r, struct call_leg *l, enum dtls_role role,
		     struct ng_reply *rep)
{
	struct relay_crypto *c = l->crypto;
	char name[CALL_ID_MAX + CALL_TAG_MAX + 8];
	struct dtls_config cfg = {
		.role = role,
		.log = dtls_log,
		.name = name,
	};
	int err;

	if (c->dtls)
		return 0;
	snprintf(name, sizeof(name), "%s/%s", l->call->id, l->tag[0] ? l->tag : "-");
	err = dtls_new(&c->dtls, r->dtls_ctx, &cfg);
	if (err)
		return ng_reply_error(rep, "cannot make a DTLS endpoint: %s", strerror(-err));
	return 0;
}

/* The first active RTP section (the leg's DTLS transport), or -1. */
static int first_rtp(const struct call_leg *l, const struct sdp *sdp)
{
	for (unsigned i = 0; i < l->nstreams && i < sdp->n_media; i++)
		if (l->streams[i].active && sdp_proto_is_rtp(l->streams[i].proto))
			return (int)i;
	return -1;
}

/* Media sections i and j are in the session's first BUNDLE group. */
static bool same_bundle(const struct sdp *sdp, unsigned i, unsigned j)
{
	const char *mids[SDP_MAX_MEDIA];
	char buf[SDP_MAX_LINE_LEN];
	bool in_i = false, in_j = false;
	int n = sdp_bundle_mids(sdp, buf, sizeof(buf), mids, ARRAY_SIZE(mids));

	for (int k = 0; k < n; k++) {
		int m = sdp_media_by_mid(sdp, mids[k]);

		in_i |= m == (int)i;
		in_j |= m == (int)j;
	}
	return in_i && in_j;
}

static void add_fingerprints(struct call_leg *l, const struct sdp_crypto_desc *d,
			     struct ng_reply *rep)
{
	unsigned ok = 0;

	for (size_t i = 0; i < d->n_fingerprint; i++) {
		int err = dtls_add_remote_fingerprint(l->crypto->dtls, d->fingerprint[i]);

		if (!err || err == -E2BIG) /* -E2BIG: a re-offer's, already known */
			ok++;
		else
			log_info("call %s leg %s: a=fingerprint:%s not usable: %s", l->call->id,
				 l->tag, d->fingerprint[i], strerror(-err));
	}
	if (!ok)
		ng_reply_warn(rep, "the SDP toward leg '%s' has no usable a=fingerprint: its DTLS "
				   "handshake will fail closed (no keys, no media)", l->tag);
}

static int srtp_keys(struct call_leg *l, enum srtpctx_suite suite, const uint8_t *rk,
		     const uint8_t *rs, const uint8_t *lk, const uint8_t *ls)
{
	struct relay_crypto *c = l->crypto;
	size_t kl = srtpctx_suite_key_len(suite), sl = srtpctx_suite_salt_len(suite);
	int err;

	srtp_drop(c);
	err = srtpctx_new(&c->rx, suite, SRTPCTX_INBOUND, rk, kl, rs, sl, 0);
	if (!err)
		err = srtpctx_new(&c->tx, suite, SRTPCTX_OUTBOUND, lk, kl, ls, sl, 0);
	if (err) {
		srtp_drop(c);
		log_warn("call %s leg %s: cannot set up SRTP %s: %s", l->call->id, l->tag,
			 srtpctx_suite_str(suite), strerror(-err));
		return err;
	}
	c->suite = suite;
	memcpy(c->rx_key, rk, kl);
	memcpy(c->rx_salt, rs, sl);
	memcpy(c->tx_key, lk, kl);
	memcpy(c->tx_salt, ls, sl);
	log_info("call %s leg %s: SRTP %s keys in place (%s)", l->call->id, l->tag,
		 srtpctx_suite_str(suite), relay_crypto_mode_str(c->mode));
	return 0;
}

/* Suites toward a leg per SDES-no-X / SDES-only-X. */
static unsigned suites_allowed(const struct ng_request *req)
{
	unsigned s = SRTPCTX_SUITES_ALL;

	if (req->sdes_only)
		s &= req->sdes_only;
	return s & ~req->sdes_no;
}

/*
 * The peer's key p (its offer's or answer's chosen a=crypto) for the
 * relay's local[0] of the same suite. The same key again (a re-INVITE that
 * changes nothing else) keeps the contexts, their rollover counters and
 * replay windows. A new key of the same suite replaces the inbound context
 * only (RFC 4568 §7.1.4: the new key applies from the new offer/answer on,
 * its SSRCs start over at ROC 0; §6.1: each direction has its own key);
 * a first key, or another suite, sets up both.
 */
static int sdes_peer_key(struct call_leg *l, const struct sdes_crypto *p)
{
	struct relay_crypto *c = l->crypto;
	struct srtpctx *rx;
	int err;

	if (c->rx && c->peer.suite == p->suite && !memcmp(c->peer.key, p->key, p->key_len) &&
	    !memcmp(c->peer.salt, p->salt, p->salt_len))
		return 0;
	if (!c->rx || !c->tx || c->suite != p->suite) {
		if (c->rx)
			c->rekeys++;
		err = srtp_keys(l, p->suite, p->key, p->salt, c->local[0].key, c->local[0].salt);
	} else {
		err = srtpctx_new(&rx, p->suite, SRTPCTX_INBOUND, p->key, p->key_len, p->salt,
				  p->salt_len, 0);
		if (!err) {
			srtpctx_free(c->rx);
			c->rx = rx;
			c->rekeys++;
			memcpy(c->rx_key, p->key, p->key_len);
			memcpy(c->rx_salt, p->salt, p->salt_len);
			log_info("call %s leg %s: SDES re-keyed: the peer's new %s key replaces the "
				 "old one (RFC 4568 §7.1.4)", l->call->id, l->tag,
				 srtpctx_suite_str(p->suite));
		}
	}
	if (!err)
		c->peer = *p;
	return err;
}

/* The offerer speaks SDES: take its first usable a=crypto, answer with a key
 * of ours for the same suite and tag (RFC 4568 §7.1.2). A re-offer keeps
 * our key unless the suite changes. */
static int sdes_take_offer(struct call_leg *l, const struct sdp_crypto_desc *d,
			   const struct ng_request *req, struct ng_reply *rep)
{
	struct relay_crypto *c = l->crypto;
	unsigned ok = suites_allowed(req);

	for (size_t i = 0; i < d->n_crypto; i++) {
		const struct sdes_crypto *p = &d->crypto[i];

		if (!(ok & SRTPCTX_SUITE_BIT(p->suite)) || p->has_mki)
			continue;
		if (!c->n_local || c->local[0].suite != p->suite) {
			if (sdes_generate(&c->local[0], p->tag, p->suite))
				return ng_reply_error(rep, "no randomness for an SDES key");
		}
		c->local[0].tag = p->tag; /* RFC 4568 §7.1.2: the answer's tag is the offer's */
		c->n_local = 1;
		return sdes_peer_key(l, p)
			       ? ng_reply_error(rep, "cannot set up SRTP for leg '%s'", l->tag)
			       : 0;
	}
	return ng_reply_error(rep, "the offer's RTP/SAVP section has no a=crypto line icepath "
				   "can use (AES_CM_128_HMAC_SHA1_80/_32, AEAD_AES_128/256_GCM, no "
				   "MKI, as SDES-* allow)");
}

/* The relay offers SDES toward l: a fresh key per allowed suite. */
static int sdes_make_offer(struct call_leg *l, const struct ng_request *req, struct ng_reply *rep)
{
	struct relay_crypto *c = l->crypto;
	unsigned ok = suites_allowed(req);

	if (c->n_local)
		return 0; /* a re-offer keeps its keys */
	for (size_t i = 0; i < ARRAY_SIZE(sdes_offer_order); i++) {
		if (!(ok & SRTPCTX_SUITE_BIT(sdes_offer_order[i])))
			continue;
		if (sdes_generate(&c->local[c->n_local], c->n_local + 1, sdes_offer_order[i]))
			return ng_reply_error(rep, "no randomness for an SDES key");
		c->n_local++;
	}
	if (!c->n_local)
		return ng_reply_error(rep, "SDES-no/SDES-only leave no crypto suite to offer");
	return 0;
}

/* The answerer chose one of our a=crypto lines by its tag (RFC 4568 §7.1.3). */
static int sdes_take_answer(struct call_leg *l, const struct sdp_crypto_desc *d,
			    struct ng_reply *rep)
{
	struct relay_crypto *c = l->crypto;

	for (size_t i = 0; i < d->n_crypto; i++)
		for (unsigned k = 0; k < c->n_local; k++) {
			const struct sdes_crypto *p = &d->crypto[i];

			if (p->tag != c->local[k].tag || p->suite != c->local[k].suite ||
			    p->has_mki)
				continue;
			c->local[0] = c->local[k];
			c->n_local = 1;
			return sdes_peer_key(l, p);
		}
	ng_reply_warn(rep, "the answer of leg '%s' accepts none of the relay's a=crypto lines: "
			   "no SRTP toward it, its media is dropped", l->tag);
	return 0;
}

int relay_crypto_restore(struct call_leg *l, const struct relay_state_keys *k)
{
	struct relay_crypto *c = l->crypto;
	size_t kl = srtpctx_suite_key_len(k->suite), sl = srtpctx_suite_salt_len(k->suite);
	int err;

	if (!c || c->mode == RELAY_CRYPTO_PLAIN || !kl)
		return -EINVAL;
	err = srtp_keys(l, k->suite, k->rx_key, k->rx_salt, k->tx_key, k->tx_salt);
	if (err)
		return err;
	/* the same tx key with its indexes back at 0: every source goes on
	 * under a new SSRC, so no index (and keystream) repeats (srtpctx.h) */
	srtpctx_renumber(c->tx);
	c->setup = k->setup;
	c->dtls_done = c->mode == RELAY_CRYPTO_DTLS && k->dtls_done;
	c->rekeys = k->rekeys;
	if (c->mode == RELAY_CRYPTO_SDES) {
		/* a re-INVITE with the same lines keeps these contexts
		 * (sdes_peer_key()); the lifetime and parameters are not kept */
		memset(&c->peer, 0, sizeof(c->peer));
		c->peer.tag = k->peer_tag;
		c->peer.suite = k->suite;
		c->peer.key_len = kl;
		c->peer.salt_len = sl;
		memcpy(c->peer.key, k->rx_key, kl);
		memcpy(c->peer.salt, k->rx_salt, sl);
		memset(c->local, 0, sizeof(c->local));
		c->local[0] = c->peer;
		c->local[0].tag = k->local_tag;
		memcpy(c->local[0].key, k->tx_key, kl);
		memcpy(c->local[0].salt, k->tx_salt, sl);
		c->n_local = 1;
	}
	return 0;
}

/* ---- offer and answer ------------------------------------------------------- */

static const char *proto_from_req(const struct ng_request *req, const char *theirs)
{
	if (req->transport == NG_TRANSPORT_UNSET || req->transport == NG_TRANSPORT_ACCEPT)
		return theirs;
	return ng_transport_str(req->transport);
}

static bool crypto_flags(const struct ng_request *req)
{
	return req->dtls || req->dtls_reverse || req->sdes_off || req->sdes_no || req->sdes_only;
}

int relay_crypto_offer(struct relay *r, struct call_leg *a, struct call_leg *b,
		       const struct sdp *sdp, const struct ng_request *req, uint64_t now_ms,
		       struct ng_reply *rep)
{
	struct sdp_crypto_desc *d = malloc(sizeof(*d));
	char why[200], bproto[64];
	enum dtls_role role;
	int i0 = first_rtp(a, sdp), err = 0;

	(void)now_ms;
	/* keys may be replaced: the call's worker gives its contexts back */
	relay_worker_recall(r, a->call);
	if (!d)
		return ng_reply_error(rep, "out of memory");
	if (i0 < 0) {
		if (req->transport || crypto_flags(req))
			ng_reply_warn(rep, "no active RTP section in the offer: transport-protocol, "
					   "DTLS and SDES flags have nothing to act on");
		goto out;
	}
	if (sdp_crypto_extract(sdp, (size_t)i0, d, why, sizeof(why))) {
		err = ng_reply_error(rep, "SDP media section %d: %s", i0 + 1, why);
		goto out;
	}
	snprintf(bproto, sizeof(bproto), "%s", proto_from_req(req, d->proto));
	/* DTLS=off toward an SRTP protocol: SRTP without DTLS is SDES */
	if (req->dtls == NG_DTLS_OFF && sdp_proto_is_dtls(bproto))
		memmove(bproto, bproto + 8, strlen(bproto + 8) + 1); /* "UDP/TLS/" */
	if (!a->crypto && !strcmp(bproto, d->proto)) {
		if (crypto_flags(req))
			ng_reply_warn(rep, "DTLS/SDES flags ignored: both legs speak %s, so its "
					   "encryption passes through end to end (transport-protocol= "
					   "makes the relay terminate it)", d->proto);
		goto out;
	}
	if ((!a->crypto && !crypto_new(a)) || (!b->crypto && !crypto_new(b))) {
		err = ng_reply_error(rep, "out of memory");
		goto out;
	}
	a->crypto->mode = mode_for_proto(d->proto);
	b->crypto->mode = mode_for_proto(bproto);
	snprintf(a->crypto->proto, sizeof(a->crypto->proto), "%s", d->proto);
	snprintf(b->crypto->proto, sizeof(b->crypto->proto), "%s", bproto);
	b->crypto->sdes_off = req->sdes_off;
	for (size_t i = 0; i < sdp->n_media && i < CALL_MAX_STREAMS; i++) {
		const char *mid = sdp_attr_get(sdp_section_const(sdp, (int)i), "mid");

		snprintf(a->crypto->st[i].mid, sizeof(a->crypto->st[i].mid), "%s",
			 mid && strlen(mid) < sizeof(a->crypto->st[i].mid) ? mid : "");
	}
	/* one DTLS association (and one SRTP context pair) per leg: the
	 * sections of the first one's BUNDLE group share it (relay_bundle.c
	 * demuxes them), others are not bridged */
	for (unsigned i = (unsigned)i0 + 1; i < a->nstreams; i++)
		if (a->streams[i].active && sdp_proto_is_rtp(a->streams[i].proto) &&
		    !same_bundle(sdp, (unsigned)i0, i) &&
		    (a->crypto->mode != RELAY_CRYPTO_PLAIN || b->crypto->mode != RELAY_CRYPTO_PLAIN)) {
			ng_reply_warn(rep, "the relay terminates SRTP on the first media section and "
					   "its BUNDLE group only: section %u is not bridged (one "
					   "DTLS/SDES context per leg)", i + 1);
			break;
		}
	log_info("call %s: media terminated by the relay: leg %s speaks %s (%s), leg %s %s (%s)",
		 a->call->id, a->tag, d->proto, relay_crypto_mode_str(a->crypto->mode),
		 b->tag[0] ? b->tag : "(answerer)", bproto, relay_crypto_mode_str(b->crypto->mode));
	/* toward A the relay is the answerer (RFC 5763 §5) */
	switch (a->crypto->mode) {
	case RELAY_CRYPTO_DTLS:
		if (req->dtls_reverse == NG_DTLS_PASSIVE && d->setup != DTLS_SETUP_PASSIVE)
			role = DTLS_ROLE_PASSIVE;
		else if (req->dtls_reverse == NG_DTLS_ACTIVE && d->setup != DTLS_SETUP_ACTIVE)
			role = DTLS_ROLE_ACTIVE;
		else if (dtls_role_for_answer(d->has_setup ? d->setup : DTLS_SETUP_ACTPASS,
					      &role)) {
			err = ng_reply_error(rep, "offer's a=setup:%s leaves the relay no DTLS role",
					     dtls_setup_str(d->setup));
			goto out;
		}
		a->crypto->setup = role == DTLS_ROLE_ACTIVE ? DTLS_SETUP_ACTIVE : DTLS_SETUP_PASSIVE;
		a->crypto->dtls_stream = (unsigned)i0;
		if ((err = dtls_make(r, a, role, rep)))
			goto out;
		if (dtls_state(a->crypto->dtls) == DTLS_STATE_NEW && dtls_role(a->crypto->dtls) != role)
			dtls_set_role(a->crypto->dtls, role);
		add_fingerprints(a, d, rep);
		break;
	case RELAY_CRYPTO_SDES:
		if ((err = sdes_take_offer(a, d, req, rep)))
			goto out;
		break;
	case RELAY_CRYPTO_PLAIN:
		break;
	}
	/* toward B the relay is the offerer */
	switch (b->crypto->mode) {
	case RELAY_CRYPTO_DTLS:
		role = req->dtls == NG_DTLS_PASSIVE  ? DTLS_ROLE_PASSIVE
		       : req->dtls == NG_DTLS_ACTIVE ? DTLS_ROLE_ACTIVE
						     : DTLS_ROLE_UNDECIDED;
		b->crypto->setup = role == DTLS_ROLE_PASSIVE  ? DTLS_SETUP_PASSIVE
				   : role == DTLS_ROLE_ACTIVE ? DTLS_SETUP_ACTIVE
							      : DTLS_SETUP_ACTPASS;
		b->crypto->dtls_stream = (unsigned)i0;
		err = dtls_make(r, b, role, rep);
		break;
	case RELAY_CRYPTO_SDES:
		if (b->crypto->sdes_off)
			ng_reply_warn(rep, "SDES-off toward an %s leg: no a=crypto is offered, so "
					   "its media cannot be protected", bproto);
		else
			err = sdes_make_offer(b, req, rep);
		break;
	case RELAY_CRYPTO_PLAIN:
		break;
	}
out:
	free(d);
	return err;
}

int relay_crypto_answer(struct relay *r, struct call_leg *a, struct call_leg *b,
			const struct sdp *sdp, const struct ng_request *req, uint64_t now_ms,
			struct ng_reply *rep)
{
	struct sdp_crypto_desc *d;
	enum dtls_role role;
	char why[200];
	int i0, err = 0;

	(void)now_ms;
	relay_worker_recall(r, a->call); /* as at the offer */
	if (!a->crypto || !b->crypto) {
		if ((req->transport && req->transport != NG_TRANSPORT_ACCEPT) || crypto_flags(req))
			ng_reply_warn(rep, "transport-protocol/DTLS/SDES in an answer of a call whose "
					   "offer kept one protocol end to end: ignored, the "
					   "encryption passes through");
		return 0;
	}
	i0 = first_rtp(b, sdp);
	if (i0 < 0)
		return 0;
	d = malloc(sizeof(*d));
	if (!d)
		return ng_reply_error(rep, "out of memory");
	if (sdp_crypto_extract(sdp, (size_t)i0, d, why, sizeof(why))) {
		err = ng_reply_error(rep, "SDP media section %d: %s", i0 + 1, why);
		goto out;
	}
	if (mode_for_proto(d->proto) != b->crypto->mode) {
		ng_reply_warn(rep, "the answerer speaks %s, not the %s it was offered: no media "
				   "can flow toward it", d->proto, b->crypto->proto);
	} else if (b->crypto->mode == RELAY_CRYPTO_DTLS) {
		/* RFC 5763 §5: the answer's a=setup settles who is client */
		if (b->crypto->setup == DTLS_SETUP_ACTPASS) {
			if (!d->has_setup ||
			    dtls_role_from_answer(d->setup, &role)) {
				ng_reply_warn(rep, "the answer's a=setup is missing or not active/"
						   "passive: the relay stays passive toward it");
				role = DTLS_ROLE_PASSIVE;
			}
			if (dtls_state(b->crypto->dtls) == DTLS_STATE_NEW)
				dtls_set_role(b->crypto->dtls, role);
		}
		add_fingerprints(b, d, rep);
	} else if (b->crypto->mode == RELAY_CRYPTO_SDES) {
		err = sdes_take_answer(b, d, rep);
	}
	/* the answer's DTLS= is the relay's role toward the offerer */
	if (a->crypto->mode == RELAY_CRYPTO_DTLS && a->crypto->dtls &&
	    dtls_state(a->crypto->dtls) == DTLS_STATE_NEW &&
	    (req->dtls == NG_DTLS_PASSIVE || req->dtls == NG_DTLS_ACTIVE)) {
		role = req->dtls == NG_DTLS_PASSIVE ? DTLS_ROLE_PASSIVE : DTLS_ROLE_ACTIVE;
		dtls_set_role(a->crypto->dtls, role);
		a->crypto->setup = role == DTLS_ROLE_ACTIVE ? DTLS_SETUP_ACTIVE : DTLS_SETUP_PASSIVE;
	}
	if (req->transport && req->transport != NG_TRANSPORT_ACCEPT &&
	    strcmp(ng_transport_str(req->transport), a->crypto->proto))
		ng_reply_warn(rep, "answer's transport-protocol %s: the offerer offered %s, the "
				   "relay answers it in %s", ng_transport_str(req->transport),
				   a->crypto->proto, a->crypto->proto);
out:
	free(d);
	return err;
}

int relay_crypto_write_sdp(struct relay *r, struct call_leg *l, struct sdp *sdp, bool is_offer,
			   struct ng_reply *rep)
{
	struct relay_crypto *c = l->crypto;
	char lines[SRTPCTX_SUITE_COUNT][SDES_LINE_MAX];
	const char *crypto[SRTPCTX_SUITE_COUNT];
	int err;

	if (!c)
		return 0;
	for (unsigned k = 0; k < c->n_local && k < SRTPCTX_SUITE_COUNT; k++) {
		if (sdes_format(&c->local[k], lines[k], sizeof(lines[k])) < 0)
			return ng_reply_error(rep, "cannot write a=crypto for leg '%s'", l->tag);
		crypto[k] = lines[k];
	}
	for (unsigned i = 0; i < l->nstreams && i < sdp->n_media; i++) {
		struct call_stream *s = &l->streams[i];
		struct sdp_rewrite_crypto w = {.proto = c->proto, .rtcp_mux = s->rtcp_mux};

		if (!s->active || !sdp_proto_is_rtp(s->proto))
			continue;
		if (c->mode == RELAY_CRYPTO_DTLS) {
			w.fingerprint = dtls_ctx_fingerprint(r->dtls_ctx);
			w.setup = dtls_setup_str(c->setup);
		} else if (c->mode == RELAY_CRYPTO_SDES && !c->sdes_off) {
			w.crypto = crypto;
			w.n_crypto = c->n_local;
		}
		/* JSEP (RFC 8829 §5.3.1): an answer's sections carry the offer's mids */
		if (!is_offer && c->st[i].mid[0])
			w.mid = c->st[i].mid;
		err = sdp_rewrite_crypto(sdp, i, &w);
		if (err)
			return ng_reply_error(rep, "media section %u: cannot rewrite its crypto "
						   "attributes: %s", i + 1, strerror(-err));
	}
	/* the relay answers a bundling offerer with its group (the other leg
	 * answered without one: relay_bundle.c demuxes); a peer without ICE
	 * otherwise gets a port pair per m= line, never a BUNDLE */
	if (!is_offer && l->bundle.on)
		return relay_bundle_write_group(l, sdp) ? ng_reply_error(rep, "cannot write "
			"a=group:BUNDLE toward leg '%s'", l->tag) : 0;
	if (!relay_leg_ice(l))
		sdp_rewrite_strip_bundle(sdp);
	return 0;
}

/* ---- DTLS ------------------------------------------------------------------- */

static void send_to_peer(struct relay *r, struct call_leg *l, const uint8_t *buf, size_t len)
{
	struct relay_crypto *c = l->crypto;
	struct call_stream *s;
	struct ice_transmit tx;
	int fd;

	if (c->dtls_stream >= l->nstreams)
		return;
	s = &l->streams[c->dtls_stream];
	if (l->agent && s->ice) {
		if (!s->consent || ice_agent_send(l->agent, (unsigned)s->ice_stream,
						  (c->dtls_comp) + 1, buf, len, &tx) < 0)
			return; /* no pair yet: DTLS retransmits */
		fd = relay_fd_for_local(l, &tx.local);
		if (fd < 0)
			return;
		relay_out_tx(r, fd, &tx);
	} else {
		if (!s->remote_set[c->dtls_comp] || s->sock[c->dtls_comp].fd < 0)
			return;
		relay_out_plain(r, s->sock[c->dtls_comp].fd, &s->remote[c->dtls_comp], buf, len);
	}
	relay_out_flush(r); /* buf is ours for this call only */
}

static void dtls_drain(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	struct relay_crypto *c = l->crypto;
	uint8_t buf[DTLS_MTU_BYTES * 2];
	struct dtls_event ev;
	struct dtls_srtp_keys k;
	uint64_t next;
	ssize_t n;

	while ((n = dtls_poll_transmit(c->dtls, buf, sizeof(buf))) > 0)
		send_to_peer(r, l, buf, (size_t)n);
	while (dtls_poll_event(c->dtls, &ev)) {
		switch (ev.type) {
		case DTLS_EVENT_CONNECTED:
			r->dtls_connected++;
			/* new keys replace contexts a worker may hold: back
			 * first; the turn's sync hands the call out again */
			relay_worker_recall(r, l->call);
			if (!dtls_srtp_keys(c->dtls, &k) &&
			    !srtp_keys(l, k.suite, k.remote_key, k.remote_salt, k.local_key,
				       k.local_salt))
				c->dtls_done = true;
			relay_call_changed(r, l->call);
			memset(&k, 0, sizeof(k));
			break;
		case DTLS_EVENT_FAILED:
			r->dtls_failed++;
			log_warn("call %s leg %s: DTLS failed: %s; no media toward or from it",
				 l->call->id, l->tag, ev.reason);
			break;
		case DTLS_EVENT_CLOSED:
			/* the peer's close_notify (RFC 5246 §7.2.1) ends the
			 * association and its SRTP keys (RFC 5764 §4.2 derives
			 * them from it): nothing more goes to or from the leg
			 * until it negotiates again */
			r->dtls_closed_by_peer++;
			srtp_drop(c);
			log_info("call %s leg %s: DTLS closed by the peer (close_notify): its SRTP "
				 "keys are gone, media to and from it is dropped", l->call->id,
				 l->tag);
			break;
		}
	}
	next = dtls_next_deadline(c->dtls);
	if (next == UINT64_MAX)
		timerheap_remove(&r->timers, &c->timer);
	else
		timerheap_set(&r->timers, &c->timer, next > now_ms ? next : now_ms);
}

void relay_crypto_close(struct relay *r, struct call_leg *l)
{
	struct relay_crypto *c = l->crypto;
	uint8_t buf[DTLS_MTU_BYTES * 2];
	enum dtls_state st;
	ssize_t n;

	if (!c || !c->dtls)
		return;
	st = dtls_state(c->dtls);
	if (st != DTLS_STATE_HANDSHAKING && st != DTLS_STATE_VERIFYING && st != DTLS_STATE_CONNECTED)
		return;
	/* RFC 5246 §7.2.1: the relay's end of the association says so
	 * (close_notify), while the leg's transport is still there */
	dtls_close(c->dtls);
	while ((n = dtls_poll_transmit(c->dtls, buf, sizeof(buf))) > 0)
		send_to_peer(r, l, buf, (size_t)n);
	r->dtls_close_sent++;
	log_info("call %s leg %s: DTLS close_notify sent", l->call->id, l->tag);
}

void relay_crypto_start(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	struct relay_crypto *c = l->crypto;

	if (!c || !c->dtls || c->started || dtls_role(c->dtls) != DTLS_ROLE_ACTIVE)
		return;
	c->started = true;
	dtls_start(c->dtls, now_ms);
	dtls_drain(r, l, now_ms);
}

void relay_crypto_tick(struct relay *r, struct call_leg *l, uint64_t now_ms)
{
	if (!l->crypto || !l->crypto->dtls)
		return;
	dtls_tick(l->crypto->dtls, now_ms);
	dtls_drain(r, l, now_ms);
}

/* ---- datapath ----------------------------------------------------------------- */

static void count_fail(struct relay *r, struct relay_crypto_stream *st, int err)
{
	if (err == -EBADMSG) {
		st->auth_fail++;
		r->srtp_auth_fail++;
	} else if (err == -EALREADY) {
		st->replay++;
		r->srtp_replay++;
	} else {
		st->other++;
		r->srtp_other++;
	}
}

int relay_crypto_rx(struct relay *r, struct call_leg *l, struct call_stream *s, unsigned comp,
		    const uint8_t **data, size_t *len, uint64_t now_ms)
{
	struct relay_crypto *c = l->crypto;
	struct relay_crypto_stream *st;
	enum demux_class cls;
	size_t n;
	int err;

	if (!c)
		return 0;
	st = &c->st[s->index < CALL_MAX_STREAMS ? s->index : 0];
	cls = demux_classify((*data)[0], *len > 1 ? (*data)[1] : 0, (__u32)*len);
	if (cls == DEMUX_DTLS) {
		if (c->mode != RELAY_CRYPTO_DTLS || !c->dtls) {
			count_fail(r, st, -EINVAL);
			return -EINVAL;
		}
		/* answers go where the peer's DTLS comes from (its bundle transport) */
		c->dtls_stream = s->index;
		c->dtls_comp = comp;
		if (dtls_input(c->dtls, now_ms, *data, *len))
			count_fail(r, st, -EINVAL);
		dtls_drain(r, l, now_ms);
		return 1;
	}
	if (c->mode == RELAY_CRYPTO_PLAIN)
		return cls == DEMUX_RTP || cls == DEMUX_RTCP ? 0 : (count_fail(r, st, -EINVAL), -EINVAL);
	/* c->rx is lent to the call's media worker (relay_worker.c) */
	if ((cls != DEMUX_RTP && cls != DEMUX_RTCP) || !c->rx || c->lent ||
	    *len > RELAY_DGRAM_MAX) {
		count_fail(r, st, -EINVAL); /* nothing unauthenticated goes on */
		return -EINVAL;
	}
	memcpy(r->cbuf, *data, *len);
	n = *len;
	err = cls == DEMUX_RTCP ? srtpctx_unprotect_rtcp(c->rx, r->cbuf, &n)
				: srtpctx_unprotect_rtp(c->rx, r->cbuf, &n);
	if (err) {
		count_fail(r, st, err);
		return err == -EBADMSG || err == -EALREADY ? err : -EINVAL;
	}
	if (cls == DEMUX_RTCP) /* reports about what a restored tx renumbered */
		srtpctx_unrenumber_rtcp(c->tx, r->cbuf, n);
	st->decrypted++;
	*data = r->cbuf;
	*len = n;
	return 0;
}

int relay_crypto_tx(struct relay *r, struct call_leg *o, struct call_stream *d,
		    const uint8_t **data, size_t *len)
{
	struct relay_crypto *c = o->crypto;
	struct relay_crypto_stream *st;
	enum demux_class cls;
	size_t n = *len;
	int err;

	if (!c || c->mode == RELAY_CRYPTO_PLAIN)
		return 0;
	st = &c->st[d->index < CALL_MAX_STREAMS ? d->index : 0];
	cls = demux_classify((*data)[0], *len > 1 ? (*data)[1] : 0, (__u32)*len);
	if ((cls != DEMUX_RTP && cls != DEMUX_RTCP) || !c->tx || c->lent || n > RELAY_DGRAM_MAX)
		return -1; /* no keys yet (DTLS still shaking hands), lent, or not RTP */
	if (*data != r->cbuf)
		memcpy(r->cbuf, *data, n);
	err = cls == DEMUX_RTCP ? srtpctx_protect_rtcp(c->tx, r->cbuf, &n, RELAY_CBUF_LEN)
				: srtpctx_protect_rtp(c->tx, r->cbuf, &n, RELAY_CBUF_LEN);
	if (err)
		return -1;
	st->encrypted++;
	*data = r->cbuf;
	*len = n;
	return 0;
}
