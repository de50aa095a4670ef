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

#define RELAY_STATE_MAGIC    "icepath-state 1"
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
};

struct relay_state_leg {
	bool present;
	char tag[CALL_TAG_MAX], iface[32];
	bool peer_ice, ice_lite;
	unsigned crypto; /* 0: pass-through, else enum relay_crypto_mode + 1 */
	unsigned nstreams; /* highest stream index + 1 */
	struct relay_state_stream streams[CALL_MAX_STREAMS];
};

struct relay_state_call {
	char id[CALL_ID_MAX];
	enum call_latch_mode latch;
	unsigned line; /* of its "call" record */
	struct relay_state_leg legs[2];
};

struct relay_state_parse_stats {
	unsigned calls; /* complete records handed to the callback */
	unsigned bad;	/* call records dropped (each logged with its line) */
};

/*
 * Parse a state file's bytes (name is what log lines call it). Every
 * complete, well-formed call record goes to on_call (a non-zero return
 * counts it as bad); a malformed record drops its whole call with a log
 * line naming the line and why; a file cut before "end" drops its last
 * call. Never reads past len; NUL bytes are malformed. Returns 0, or
 * -EINVAL when the magic line is wrong (nothing parsed).
 */
int relay_state_parse(const char *buf, size_t len, const char *name,
		      int (*on_call)(const struct relay_state_call *c, void *ctx), void *ctx,
		      struct relay_state_parse_stats *st);

#endif
