/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay_state: the state file's records, parsed from bytes without any I/O
 * (relay_state_parse.c; what the fuzzer drives) and applied to the relay
 * (relay_state.c: sockets, ports, flows). The format is described at the
 * top of relay_state.c.
 */
#ifndef ICEPATH_RELAY_STATE_H
#define ICEPATH_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "icepath/srtpctx.h"

#define RELAY_STATE_MAGIC    "icepath-state 2" /* what this version writes; reads 1 too */
#define RELAY_STATE_LINE_MAX 4096	   /* bytes per record line */
#define RELAY_STATE_FILE_MAX (64u << 20) /* bytes of a state file read back */

struct relay_state_stream {
	bool present;
	bool active, rtcp_mux;
	char media[32], proto[64];
	bool has_local; /* bound before the restart: rebind local */
	struct netaddr local;
	bool remote_set[CALL_NCOMP];
	struct netaddr remote[CALL_NCOMP];
	uint64_t flow_id[CALL_NCOMP]; /* 0: no fast-path flow */
	char ufrag[260], pwd[260];	     /* the relay's ICE credentials */
	char remote_ufrag[260], remote_pwd[260]; /* the peer's ("" in old files) */
	/* version 2, per component: what was learned (latched, from remote[],
	 * when) apart from what the SDP only announced; what was counted */
	struct relay_state_comp {
		bool has_learn;	 /* a "learn" record was read */
		bool latched;	 /* the peer is learned and kept */
		bool sdp_known;	 /* an SDP was read for it */
		bool announced_set;
		struct netaddr announced; /* the SDP's address */
		int64_t latched_ms;	  /* unix ms it was kept; 0: unknown */
		int64_t learn_until_ms;	  /* unix ms a learning window closes; 0: none */
		unsigned learn_rank;	  /* of the source now in remote[] (0-3) */
		bool has_count;		  /* a "count" record was read */
		uint64_t rx_user_packets, rx_user_bytes;
		uint64_t fast_base_packets, fast_base_bytes; /* of flows gone; live ones are in BPF */
		uint64_t tx_user_packets, tx_user_bytes;
		uint64_t dropped, foreign; /* per m= line: on the RTP component */
	} comp[CALL_NCOMP];
};

/* A terminated leg's SRTP keys ("keys" record, version 2): secret. */
struct relay_state_keys {
	bool present;
	enum srtpctx_suite suite;
	uint8_t rx_key[SRTPCTX_KEY_MAX], rx_salt[SRTPCTX_SALT_MAX]; /* the suite's lengths */
	uint8_t tx_key[SRTPCTX_KEY_MAX], tx_salt[SRTPCTX_SALT_MAX];
	unsigned setup; /* enum dtls_setup */
	bool dtls_done; /* from a completed DTLS handshake */
	uint64_t rekeys;
	uint32_t peer_tag, local_tag; /* SDES a=crypto tags; 0 for DTLS */
};

struct relay_state_leg {
	bool present;
	char tag[CALL_TAG_MAX], iface[32];
	bool peer_ice, ice_lite;
	unsigned crypto; /* 0: pass-through, else enum relay_crypto_mode + 1 */
	struct relay_state_keys keys;
	unsigned nstreams; /* highest stream index + 1 */
	struct relay_state_stream streams[CALL_MAX_STREAMS];
};

struct relay_state_call {
	unsigned version; /* of the file: 1 (every remote taken as latched) or 2 */
	char id[CALL_ID_MAX];
	enum call_latch_mode latch;
	unsigned line; /* of its "call" record */
	struct relay_state_leg legs[2];
};

struct relay_state_parse_stats {
	unsigned calls;	     /* complete records handed to the callback */
	unsigned bad;	     /* call records dropped (each logged with its line) */
	unsigned superseded; /* version 2: records a later one (or "gone") replaced */
	unsigned torn;	     /* version 2: lines of a last commit cut by a crash */
	unsigned version;    /* of the file, 0 when the magic line is wrong */
};

/*
 * Parse a state file's bytes (name is what log lines call it). Every
 * complete, well-formed call record goes to on_call (a non-zero return
 * counts it as bad); a malformed record drops its whole call with a log
 * line naming the line and why. Version 1: one snapshot, a file cut before
 * "end" drops its last call. Version 2: a snapshot and then appended
 * commits, each closed by "end"; the last record of a call-id wins, "gone"
 * removes it, and lines after the last "end" (a commit a crash cut; its
 * replies were never sent) are ignored. Never reads past len; NUL bytes are
 * malformed. Returns 0, or -EINVAL when the magic line is wrong (nothing
 * parsed).
 */
int relay_state_parse(const char *buf, size_t len, const char *name,
		      int (*on_call)(const struct relay_state_call *c, void *ctx), void *ctx,
		      struct relay_state_parse_stats *st);

#endif
