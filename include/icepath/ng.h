/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ng: rtpengine's "NG" control protocol, as Kamailio's and OpenSIPS's
 * rtpengine modules speak it over UDP.
 *
 *   request:  COOKIE SP bencoded-dict     "5323_1 d7:command4:pinge"
 *   reply:    COOKIE SP bencoded-dict     "5323_1 d6:result4:ponge"
 *
 * The cookie matches a reply to its request and detects retransmissions: a
 * request whose cookie (from the same source, same bytes) was answered in
 * the last NG_CACHE_TTL_MS gets the cached reply byte-for-byte, and the
 * command is not executed again.
 *
 * Key names follow rtpengine's documentation; rtpengine spells many keys and
 * flags with spaces ("received from", "trust address") and its clients use
 * hyphens ("received-from", "trust-address"); icepath treats ' ', '-' and
 * '_' in key names and flag strings as the same character, so every
 * spelling is accepted. Letter case is significant, as in rtpengine.
 *
 * A datagram without a cookie (no space, empty cookie, cookie longer than
 * NG_COOKIE_MAX or holding control bytes) is dropped without a reply, as
 * rtpengine does: a reply cannot be matched without one. Anything else that
 * is wrong (bad bencode, JSON, unknown command, missing key, bad value) gets
 * "result": "error" with an "error-reason" that names the key and the value.
 *
 * Strings in a parsed request are either copied into fixed buffers (ids,
 * tags, interface names: too long is an error, not a truncation) or, for
 * the SDP body, point into the datagram (struct ng_str, not NUL-terminated),
 * valid while the handler runs.
 */
#ifndef ICEPATH_NG_H
#define ICEPATH_NG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "icepath/bencode.h"
#include "icepath/netaddr.h"

#define NG_DEFAULT_PORT 2223	   /* what Kamailio's rtpengine_sock examples use */
#define NG_DGRAM_MAX	65535	   /* bytes: largest UDP payload */
#define NG_COOKIE_MAX	64	   /* bytes; Kamailio's cookies are ~20 */
#define NG_CALL_ID_MAX	255	   /* bytes (SIP Call-ID) */
#define NG_TAG_MAX	127	   /* bytes (From/To tag, via-branch, label) */
#define NG_IFNAME_MAX	63	   /* bytes (logical interface name) */
#define NG_MAX_UNKNOWN	16	   /* unknown flags/keys remembered per request */
#define NG_MAX_NODES	4096	   /* bencode values per datagram */
#define NG_LIST_DEFAULT 32	   /* rtpengine's default "limit" for list */
#define NG_LIST_MAX	1024	   /* most call-ids one list reply carries */
#define NG_MAX_LEGS	4	   /* tags per call in a query reply */
#define NG_MAX_MEDIAS	4	   /* m= sections per leg */
#define NG_MAX_STREAMS	2	   /* RTP and RTCP */
#define NG_CACHE_TTL_MS 30000	   /* rtpengine keeps replies ~30 s */
#define NG_CACHE_SLOTS	4096	   /* default cached replies */
#define NG_CACHE_BYTES	(8u << 20) /* default bytes of cached replies */
#define NG_REASON_MAX	256	   /* error-reason text */
#define NG_WARNING_MAX	1024	   /* warning text: whole sentences, never cut */
#define NG_DELETE_DELAY_MAX 3600   /* seconds; rtpengine's default delete-delay is 30 */
#define NG_ALLOW_MAX	32	   /* networks in an NG allow-list */
#define NG_PENDING_MAX	256	   /* default parked requests (see NG_PENDING) */
#define NG_PENDING_TTL_MS 10000	   /* a parked request unanswered this long gets an error */

enum ng_command {
	NG_CMD_PING,
	NG_CMD_OFFER,
	NG_CMD_ANSWER,
	NG_CMD_DELETE,
	NG_CMD_QUERY,
	NG_CMD_LIST,
	NG_CMD_STATISTICS,
	NG_CMD__COUNT,
};
const char *ng_command_str(enum ng_command c);

/* "ICE" key. UNSET: key absent (rtpengine: same as DEFAULT). */
enum ng_ice {
	NG_ICE_UNSET,
	NG_ICE_REMOVE,
	NG_ICE_FORCE,
	NG_ICE_DEFAULT,
	NG_ICE_FORCE_RELAY,
	NG_ICE_OPTIONAL,
};
const char *ng_ice_str(enum ng_ice v);

/* "ICE-lite" key (offer only). */
enum ng_ice_lite {
	NG_ICE_LITE_UNSET,
	NG_ICE_LITE_FORWARD,  /* towards the peer the offer goes to */
	NG_ICE_LITE_BACKWARD, /* towards the peer that sent the offer */
	NG_ICE_LITE_BOTH,
	NG_ICE_LITE_OFF,
};
const char *ng_ice_lite_str(enum ng_ice_lite v);

/* "transport-protocol" key. */
enum ng_transport {
	NG_TRANSPORT_UNSET,
	NG_TRANSPORT_RTP_AVP,
	NG_TRANSPORT_RTP_AVPF,
	NG_TRANSPORT_RTP_SAVP,
	NG_TRANSPORT_RTP_SAVPF,
	NG_TRANSPORT_UDP_TLS_RTP_SAVP,
	NG_TRANSPORT_UDP_TLS_RTP_SAVPF,
	NG_TRANSPORT_ACCEPT, /* answer: go along with the answerer's protocol */
};
const char *ng_transport_str(enum ng_transport v);

/* "flags" list: the strings icepath knows, as bits. */
enum ng_flag {
	NG_FLAG_TRUST_ADDRESS = 1u << 0,
	NG_FLAG_SIP_SOURCE_ADDRESS = 1u << 1,
	NG_FLAG_SYMMETRIC = 1u << 2,
	NG_FLAG_ASYMMETRIC = 1u << 3,
	NG_FLAG_UNIDIRECTIONAL = 1u << 4,
	NG_FLAG_STRICT_SOURCE = 1u << 5,
	NG_FLAG_MEDIA_HANDOVER = 1u << 6,
	NG_FLAG_PORT_LATCHING = 1u << 7,
	NG_FLAG_NO_PORT_LATCHING = 1u << 8,
	NG_FLAG_NO_RTCP_ATTRIBUTE = 1u << 9,
	NG_FLAG_FULL_RTCP_ATTRIBUTE = 1u << 10,
	NG_FLAG_LOOP_PROTECT = 1u << 11,
	NG_FLAG_GENERATE_MID = 1u << 12,
	NG_FLAG_TRICKLE_ICE = 1u << 13,
	NG_FLAG_REJECT_ICE = 1u << 14,
	NG_FLAG_RESET = 1u << 15,
	NG_FLAG_FATAL = 1u << 16, /* delete: unknown call is an error */
	NG_FLAG_ORIGINAL_SENDRECV = 1u << 17,
	NG_FLAG_PIERCE_NAT = 1u << 18,
	NG_FLAG_NAT_WAIT = 1u << 19,
	NG_FLAG_DEBUG = 1u << 20,
	NG_FLAG_STRIP_EXTMAP = 1u << 21,
	NG_FLAG__COUNT = 22,
};
/* "trust-address" for NG_FLAG_TRUST_ADDRESS; NULL for a non-flag value. */
const char *ng_flag_str(uint32_t one_flag);

/* "replace" list. */
enum ng_replace {
	NG_REPLACE_ORIGIN = 1u << 0,
	NG_REPLACE_SESSION_CONNECTION = 1u << 1,
	NG_REPLACE_SDP_VERSION = 1u << 2,
	NG_REPLACE_USERNAME = 1u << 3,
	NG_REPLACE_SESSION_NAME = 1u << 4,
	NG_REPLACE_ZERO_ADDRESS = 1u << 5,
	NG_REPLACE_FORCE_INCREMENT_SDP_VER = 1u << 6,
	NG_REPLACE__COUNT = 7,
};
const char *ng_replace_str(uint32_t one_flag);

/* "rtcp-mux" list (RFC 5761). */
enum ng_rtcp_mux {
	NG_RTCP_MUX_OFFER = 1u << 0,
	NG_RTCP_MUX_DEMUX = 1u << 1,
	NG_RTCP_MUX_ACCEPT = 1u << 2,
	NG_RTCP_MUX_REJECT = 1u << 3,
	NG_RTCP_MUX_REQUIRE = 1u << 4,
	NG_RTCP_MUX__COUNT = 5,
};
const char *ng_rtcp_mux_str(uint32_t one_flag);

/* "DTLS" and "DTLS-reverse" keys (rtpengine): DTLS-SRTP toward the leg
 * the SDP goes to ("DTLS") or back toward the sender ("DTLS-reverse"). */
enum ng_dtls {
	NG_DTLS_UNSET,
	NG_DTLS_OFF,	 /* "off", "no", "disable": no DTLS toward that side */
	NG_DTLS_PASSIVE, /* the relay is DTLS server (a=setup:passive) */
	NG_DTLS_ACTIVE,	 /* the relay is DTLS client (a=setup:active) */
};
const char *ng_dtls_str(enum ng_dtls v);

/* SDES crypto suites as NG names them ("SDES-no-AES_CM_128_HMAC_SHA1_32"),
 * bit (1 << n) for suite n; n matches enum srtpctx_suite (the daemon checks). */
#define NG_SDES_SUITES 5 /* index 0 unused */
const char *ng_sdes_suite_str(unsigned n);

/* A byte string inside the datagram: NOT NUL-terminated. */
struct ng_str {
	const char *s;
	size_t len;
};

struct ng_request {
	enum ng_command cmd;
	char cookie[NG_COOKIE_MAX + 1];
	char call_id[NG_CALL_ID_MAX + 1]; /* "" when absent */
	char from_tag[NG_TAG_MAX + 1];
	char to_tag[NG_TAG_MAX + 1];
	char via_branch[NG_TAG_MAX + 1];
	char label[NG_TAG_MAX + 1]; /* "label" or "from-label" */
	struct ng_str sdp;	    /* s == NULL when absent */
	enum ng_ice ice;
	enum ng_ice_lite ice_lite;
	char direction[2][NG_IFNAME_MAX + 1];
	unsigned n_direction; /* 0 or 2 */
	char interface[NG_IFNAME_MAX + 1];
	uint32_t flags;	   /* enum ng_flag bits */
	uint32_t replace;  /* enum ng_replace bits */
	uint32_t rtcp_mux; /* enum ng_rtcp_mux bits */
	enum ng_transport transport;
	enum ng_dtls dtls, dtls_reverse;
	/* "SDES" list or SDES-* flags: off; no-SUITE; only-SUITE; SUITE */
	bool sdes_off;
	uint32_t sdes_no, sdes_only; /* 1u << suite */
	bool supports_load_limit; /* "supports" lists "load limit" (Kamailio's module) */
	bool has_received_from; /* ["IP4"|"IP6", address], port 0 */
	struct netaddr received_from;
	bool has_media_address; /* "media address", port 0 */
	struct netaddr media_address;
	int address_family; /* "address family": AF_UNSPEC/INET/INET6 */
	bool has_delete_delay;
	int64_t delete_delay; /* seconds */
	int64_t limit;	      /* list: NG_LIST_DEFAULT unless given;
			       * larger than NG_LIST_MAX is clamped */
	/* Flags and keys icepath does not implement: the reply warns about them. */
	struct ng_str unknown_flags[NG_MAX_UNKNOWN];
	unsigned n_unknown_flags; /* may exceed NG_MAX_UNKNOWN: a count */
	struct ng_str unknown_keys[NG_MAX_UNKNOWN];
	unsigned n_unknown_keys;
};

/*
 * Fill req from a decoded request dictionary. 0, or -EINVAL with a sentence
 * in why ("ICE: unknown value 'sometimes' (expected remove, force, default,
 * force-relay or optional)"). Checks the keys each command requires.
 * Unknown keys and flags are not errors: they are counted in req.
 */
int ng_request_parse(const struct bencode *dict, struct ng_request *req, char *why, size_t why_cap);
/* Zero req; limit = NG_LIST_DEFAULT. */
void ng_request_init(struct ng_request *req, enum ng_command cmd);
/* Encode "COOKIE d...e" with the keys that are set (client side). */
ssize_t ng_request_encode(const struct ng_request *req, uint8_t *out, size_t cap);

/* ---- replies ------------------------------------------------------------ */

enum ng_result {
	NG_RESULT_OK,
	NG_RESULT_PONG,
	NG_RESULT_ERROR,
	/* the session limit, to a client that said it understands it
	 * ("supports": ["load limit"]): it tries another relay */
	NG_RESULT_LOAD_LIMIT,
};
const char *ng_result_str(enum ng_result r);

/* rtpengine's "stats" dictionary. */
struct ng_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;
};

/* Media flags (query "medias" -> "flags"). */
enum ng_media_flag {
	NG_MEDIA_INITIALIZED = 1u << 0,
	NG_MEDIA_RTCP_MUX = 1u << 1,
	NG_MEDIA_DTLS_SRTP = 1u << 2,
	NG_MEDIA_SDES = 1u << 3,
	NG_MEDIA_PASSTHROUGH = 1u << 4,
	NG_MEDIA_ICE = 1u << 5,
	NG_MEDIA__COUNT = 6,
};

/* One packet stream: RTP or RTCP of one media section of one leg. */
struct ng_stream {
	bool rtcp;		   /* flags "RTP" or "RTCP" */
	uint16_t local_port;	   /* 0: absent */
	struct netaddr endpoint;   /* AF_UNSPEC: not known yet */
	struct netaddr advertised; /* "advertised endpoint" */
	int64_t last_packet;	   /* UNIX seconds, 0: none */
	bool kernelized;	   /* XDP forwards this stream (its flow's last packet says so) */
	/* "icepath" -> "fastpath mode": what the stream's flow really runs in,
	 * "native", "generic", "idle" or "userspace (pass-no-xmit)"; "" without a flow */
	char fastpath_mode[48];
	/* Packets received on this stream, split by who forwarded them; "stats"
	 * on the wire is their sum, errors included. */
	struct ng_stats fastpath;  /* "icepath" -> "fastpath" */
	struct ng_stats userspace; /* "icepath" -> "userspace" */
	/* "icepath" -> "foreign": media dropped because it came from neither
	 * the selected (or a valid) ICE pair's peer; counted in errors too */
	uint64_t foreign;
	/* "icepath" -> "SRTP auth failures" / "SRTP replays": packets of a
	 * stream whose SRTP the relay terminates that failed RFC 3711
	 * authentication or replay checks (dropped, counted in errors too) */
	uint64_t srtp_auth_fail, srtp_replay;
	/* "icepath" -> "BUNDLE undemuxed" (on the bundle transport's RTP
	 * stream): packets of a bundling leg whose SSRC/MID matched no stream
	 * (or two), dropped; bundle: the stream is that transport (the key is
	 * sent, 0 included, so a client tells "none dropped" from "no BUNDLE") */
	uint64_t bundle_undemuxed;
	bool bundle;
};

struct ng_media {
	unsigned index;	   /* 1-based */
	char type[16];	   /* "audio", "video" */
	char protocol[32]; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF" */
	uint32_t flags;	   /* enum ng_media_flag bits */
	struct ng_stream streams[NG_MAX_STREAMS];
	unsigned n_streams;
};

/* icepath's view of a leg's ICE agent (query "tags" -> TAG -> "icepath"). */
struct ng_leg_ice {
	char state[24];	    /* ICE agent state, "" when ICE is off */
	char consent[24];   /* RFC 7675 consent state */
	bool has_pair;	    /* a selected (nominated) pair exists */
	char local_type[8]; /* "host", "srflx", "prflx", "relay" */
	char remote_type[8];
	struct netaddr local;
	struct netaddr remote;
};

struct ng_leg {
	char tag[NG_TAG_MAX + 1]; /* "" for a side that has no tag yet */
	char label[NG_TAG_MAX + 1];
	char in_dialogue_with[NG_TAG_MAX + 1];
	int64_t created; /* UNIX seconds */
	struct ng_media medias[NG_MAX_MEDIAS];
	unsigned n_medias;
	struct ng_leg_ice ice;
};

/* query (and delete) replies. */
struct ng_call_info {
	int64_t created;     /* UNIX seconds */
	int64_t last_signal; /* "last signal" */
	struct ng_leg legs[NG_MAX_LEGS];
	unsigned n_legs;
};

/* statistics reply: rtpengine's names, plus icepath's split. */
struct ng_statistics {
	uint64_t uptime_s;	   /* totalstatistics.uptime */
	uint64_t sessions_own;	   /* currentstatistics.sessionsown: calls now */
	uint64_t managed_sessions; /* totalstatistics.managedsessions: calls ever */
	uint64_t packet_rate;	   /* currentstatistics.packetrate (pps) */
	uint64_t byte_rate;	   /* currentstatistics.byterate (B/s) */
	uint64_t error_rate;
	uint64_t relayed_packets;  /* totalstatistics.relayedpackets */
	uint64_t relayed_errors;   /* totalstatistics.relayedpacketerrors */
	struct ng_stats fastpath;  /* icepath.fastpath */
	struct ng_stats userspace; /* icepath.userspace */
	uint64_t fastpath_flows;   /* icepath."fastpath flows": installed now */
};

struct ng_reply {
	enum ng_result result;
	char error_reason[NG_REASON_MAX];
	char warning[NG_WARNING_MAX]; /* "" = none; ng_reply_warn() appends */
	/* offer/answer: rewritten SDP. ng_handle() points sdp at a scratch
	 * buffer of sdp_cap bytes; a handler may write there, or point sdp at
	 * its own memory that stays valid until ng_handle() returns. */
	char *sdp;
	size_t sdp_len;
	size_t sdp_cap;
	/* query, delete (optional for delete) */
	bool has_call;
	struct ng_call_info call;
	/* list: strings that stay valid until ng_handle() returns (the reply
	 * is encoded right after the handler), or on the client side pointers
	 * into the reply datagram; ng_reply_add_call() appends. */
	struct ng_str calls[NG_LIST_MAX];
	unsigned n_calls;
	/* statistics */
	bool has_statistics;
	struct ng_statistics stats;
	/* server side, set by ng_handle() before the handler runs: the
	 * request's token, which a handler that parks it (returns NG_PENDING)
	 * keeps for ng_server_complete(). Never on the wire. */
	uint64_t token;
};

/* result = error, error_reason = printf(fmt...). Returns -EINVAL. */
int ng_reply_error(struct ng_reply *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append "; "-separated text to warning (truncated with "..." when full). */
void ng_reply_warn(struct ng_reply *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* 0, or -ENOSPC past NG_LIST_MAX. */
int ng_reply_add_call(struct ng_reply *rep, const char *call_id);
/* Sum of a stream's fastpath and userspace counters ("stats"). */
struct ng_stats ng_stream_total(const struct ng_stream *st);

/* "COOKIE d...e" for rep (server side); length or -ENOSPC. */
ssize_t ng_reply_encode(const char *cookie, enum ng_command cmd, const struct ng_reply *rep,
			uint8_t *out, size_t cap);
/*
 * Client side: split the cookie off a reply datagram and fill rep from it.
 * String fields are copied; rep->sdp and rep->calls point into dgram.
 * 0, or -EINVAL with why. cookie may be NULL (not checked) or the cookie
 * the reply must carry.
 */
int ng_reply_parse(const uint8_t *dgram, size_t len, const char *cookie, struct ng_reply *rep,
		   char *why, size_t why_cap);

/*
 * Split "COOKIE SP body". 0, or -EINVAL when there is no usable cookie
 * (see the top of this file).
 */
int ng_split_cookie(const uint8_t *dgram, size_t len, struct ng_str *cookie, struct ng_str *body);

/* ---- server: parse, cache, dispatch, encode ----------------------------- */

/*
 * What the daemon implements. Each handler gets the time ng_handle() was
 * given (now_ms: handlers read no clock), the parsed request and a reply
 * preset to result "ok"; it returns 0, or a negative errno after
 * ng_reply_error() (a negative return without an error_reason becomes
 * "<command> failed: <strerror>"). A NULL handler answers "command not
 * supported". ping is answered by ng_handle() itself.
 *
 * A handler may instead return NG_PENDING: the request is parked (its reply
 * is not ready, e.g. an offer waiting for ICE gathering). The handler keeps
 * rep->token (and copies what it needs of req: req and rep are scratch) and
 * later calls ng_server_complete() with the reply. A retransmission of a
 * parked request is not run again (dropped: the completion answers it).
 */
#define NG_PENDING 1

struct ng_ops {
	int (*offer)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		       struct ng_reply *rep);
	int (*answer)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		        struct ng_reply *rep);
	int (*delete_call)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		             struct ng_reply *rep);
	int (*query)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		       struct ng_reply *rep);
	int (*list)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		      struct ng_reply *rep);
	int (*statistics)(void *ctx, uint64_t now_ms, const struct ng_request *req,
		            struct ng_reply *rep);
};

/*
 * One network of an NG allow-list: an address and a prefix length (CIDR).
 * An IPv4 network also matches IPv4-mapped IPv6 senders (::ffff:a.b.c.d),
 * which is what a socket bound to [::] sees from IPv4 proxies.
 */
struct ng_allow {
	struct netaddr net; /* port 0, host bits cleared */
	uint8_t prefix;	    /* 0-32 (IPv4) or 0-128 (IPv6) */
};

/*
 * Parse "CIDR[,CIDR...]" ("192.0.2.10", "198.51.100.0/24", "2001:db8::/32")
 * into out (cap entries), appending after *n. 0, or -EINVAL with why naming
 * the entry and what is expected.
 */
int ng_allow_parse(const char *list, struct ng_allow *out, unsigned cap, unsigned *n, char *why,
		   size_t why_cap);
/* from is inside one of the n networks. */
bool ng_allow_match(const struct ng_allow *allow, unsigned n, const struct netaddr *from);
/* "192.0.2.0/24"; always NUL-terminated, returns buf. */
const char *ng_allow_str(const struct ng_allow *a, char *buf, size_t len);

struct ng_server_config {
	unsigned cache_slots;  /* 0: NG_CACHE_SLOTS */
	size_t cache_bytes;    /* 0: NG_CACHE_BYTES */
	uint64_t cache_ttl_ms; /* 0: NG_CACHE_TTL_MS */
	/* n_allow > 0: requests from any other sender are dropped unanswered
	 * and counted in counters.denied (so a spoofed source gets nothing
	 * back: no reflection). 0: every sender is served. */
	const struct ng_allow *allow;
	unsigned n_allow;
	/* optional: told of each dropped sender (ctx is the handlers' ctx,
	 * denied the count so far), e.g. for a rate-limited log line */
	void (*on_denied)(void *ctx, const struct netaddr *from, uint64_t denied);
	/* hold: ng_handle() writes no reply to out (it returns 0); every
	 * reply (new, retransmitted from the cache, completed) waits in the
	 * server until ng_server_release(), so that the daemon makes the
	 * state a turn created durable before any of it is acknowledged.
	 * false: ng_handle() answers at once, as before (completions still
	 * wait for ng_server_release()). */
	bool hold;
	unsigned pending_max;	 /* parked requests at most; 0: NG_PENDING_MAX */
	uint64_t pending_ttl_ms; /* 0: NG_PENDING_TTL_MS */
	/* optional: a parked request timed out (ng_server_tick()) and was
	 * answered with an error; its token is dead: forget what was kept */
	void (*on_expired)(void *ctx, uint64_t token);
};

struct ng_server_counters {
	uint64_t requests;    /* datagrams seen */
	uint64_t send_errors; /* replies ng_server_serve() could not send */
	uint64_t no_cookie;   /* dropped: no cookie, no reply */
	uint64_t malformed;   /* bad bencode / JSON / not a dict */
	uint64_t errors;      /* replies with result error (malformed included) */
	uint64_t cache_hits;  /* retransmissions answered from the cache */
	uint64_t denied;      /* dropped unanswered: sender not in the allow-list */
	uint64_t commands[NG_CMD__COUNT];
	uint64_t command_errors[NG_CMD__COUNT]; /* of commands[]: result error */
	uint64_t rejected;			/* not a request: error reply, no command run */
	uint64_t held;		  /* replies queued for ng_server_release() */
	uint64_t parked;	  /* requests a handler parked (NG_PENDING) */
	uint64_t parked_full;	  /* refused: pending_max requests already parked */
	uint64_t pending_retrans; /* retransmissions of a parked request, dropped */
	uint64_t completed;	  /* parked requests answered by ng_server_complete() */
	uint64_t expired;	  /* parked requests answered by a timeout */
};

struct ng_cache;
struct ng_pending;
struct ng_outbox;

struct ng_server {
	const struct ng_ops *ops;
	void *ctx;
	struct ng_cache *cache;
	struct bencode *nodes;	/* NG_MAX_NODES */
	char *sdp_scratch;	/* NG_DGRAM_MAX */
	struct ng_reply *reply; /* scratch, large */
	struct ng_request *req;
	uint8_t *rx, *tx; /* NG_DGRAM_MAX each, for ng_server_serve() */
	struct ng_server_counters counters;
	struct ng_allow allow[NG_ALLOW_MAX];
	unsigned n_allow;
	void (*on_denied)(void *ctx, const struct netaddr *from, uint64_t denied);
	bool hold;
	struct ng_pending *pending; /* pending_max slots */
	unsigned pending_max, n_pending;
	uint64_t pending_ttl_ms;
	uint64_t next_token;
	void (*on_expired)(void *ctx, uint64_t token);
	struct ng_outbox *outbox;
	struct ng_reply *creply; /* scratch of ng_server_reply() */
	char *csdp;		 /* NG_DGRAM_MAX, creply's SDP */
	uint8_t *cbuf;		 /* NG_DGRAM_MAX, a completion's datagram */
};

/* 0 or -ENOMEM. cfg may be NULL (defaults). */
int ng_server_init(struct ng_server *s, const struct ng_ops *ops, void *ctx,
		   const struct ng_server_config *cfg);
/* Accepts NULL and a zeroed server. */
void ng_server_destroy(struct ng_server *s);

/*
 * Handle one request datagram received at now_ms (any monotonic clock) from
 * `from` (may be NULL: then the cache keys on the cookie alone). Writes the
 * reply datagram to out and returns its length; 0 means "send nothing" (no
 * cookie); negative only when cap cannot even hold an error reply.
 * A reply that does not fit in cap becomes an error reply saying so.
 * With config.hold, nothing is written to out and 0 is returned: the reply
 * (or the cached one, for a retransmission) waits for ng_server_release().
 * A request parked by its handler returns 0 and waits for
 * ng_server_complete(); its retransmissions return 0 and run nothing.
 */
ssize_t ng_handle(struct ng_server *s, uint64_t now_ms, const struct netaddr *from,
		  const uint8_t *dgram, size_t len, uint8_t *out, size_t cap);

/*
 * A UDP socket for NG on addr: bound, non-blocking, close-on-exec. Returns
 * the fd or -errno (-EADDRINUSE, -EADDRNOTAVAIL: say which address).
 */
int ng_server_listen(const struct netaddr *addr);
/*
 * Answer the datagrams waiting on fd (from ng_server_listen()), at most max
 * (0: 64) so one busy client cannot starve the event loop; call it when
 * epoll says fd is readable. Returns how many were handled, or -errno when
 * receiving failed for another reason than "nothing left". A reply that
 * cannot be sent is counted in counters.send_errors, not returned.
 * Without config.hold, completed parked requests are sent at the end too.
 */
int ng_server_serve(struct ng_server *s, int fd, uint64_t now_ms, unsigned max);

/* Cached replies now (for tests and statistics). */
unsigned ng_server_cached(const struct ng_server *s);

/* ---- held and parked replies -------------------------------------------- */

/*
 * A reply for ng_server_complete(), preset to result "ok" like a handler's
 * (sdp at a scratch buffer of sdp_cap bytes). Its own scratch: a
 * completion may be made from inside a handler of another request.
 */
struct ng_reply *ng_server_reply(struct ng_server *s);
/*
 * Answer the parked request of token with rep (from ng_server_reply(), or
 * the caller's own): encoded, cached for retransmissions and queued like
 * any reply (so it too leaves only at ng_server_release()). 0, or -ENOENT
 * when token is not parked (already completed, timed out, or never was).
 */
int ng_server_complete(struct ng_server *s, uint64_t now_ms, uint64_t token,
		       const struct ng_reply *rep);
/* Parked requests whose deadline has passed get an error reply ("timed
 * out"), queued; on_expired is told each token. */
void ng_server_tick(struct ng_server *s, uint64_t now_ms);
/* The earliest deadline of a parked request, UINT64_MAX when none. */
uint64_t ng_server_next_deadline(const struct ng_server *s);
/* Parked requests now. */
unsigned ng_server_pending(const struct ng_server *s);
/* Replies waiting for ng_server_release(). */
unsigned ng_server_held(const struct ng_server *s);
/*
 * Send every waiting reply, oldest first, through send (to is the request's
 * sender; NULL when ng_handle() was given none); the queue is empty after.
 * Returns how many were handed to send.
 */
/*
 * The turn's state could not be made durable: every waiting ok reply of an
 * offer, answer or delete becomes an error reply with error-reason reason
 * (and so does its cached copy, so a retransmission is told the same);
 * other replies (ping, query, errors) leave as they are. Returns how many
 * were turned.
 */
unsigned ng_server_fail_held(struct ng_server *s, uint64_t now_ms, const char *reason);
typedef void (*ng_send_fn)(void *ctx, const struct netaddr *to, const uint8_t *dgram,
			   size_t len);
unsigned ng_server_release(struct ng_server *s, ng_send_fn send, void *ctx);

#endif
