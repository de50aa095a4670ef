// SPDX-License-Identifier: GPL-2.0-only
/*
 * ng: NG request parsing and encoding, names of the protocol's values
 * (see include/icepath/ng.h). Replies are in ng_reply.c, the server side
 * (cache, dispatch) in ng_server.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/ng.h"
#include "ng_internal.h"

/* ---- names -------------------------------------------------------------- */

static const char *const ng_command_names[NG_CMD__COUNT] = {
	[NG_CMD_PING] = "ping",
	[NG_CMD_OFFER] = "offer",
	[NG_CMD_ANSWER] = "answer",
	[NG_CMD_DELETE] = "delete",
	[NG_CMD_QUERY] = "query",
	[NG_CMD_LIST] = "list",
	[NG_CMD_STATISTICS] = "statistics",
};

const char *ng_command_str(enum ng_command c)
{
	return (unsigned)c < NG_CMD__COUNT ? ng_command_names[c] : "unknown";
}

static const char *const ng_ice_names[] = {
	[NG_ICE_UNSET] = "",
	[NG_ICE_REMOVE] = "remove",
	[NG_ICE_FORCE] = "force",
	[NG_ICE_DEFAULT] = "default",
	[NG_ICE_FORCE_RELAY] = "force-relay",
	[NG_ICE_OPTIONAL] = "optional",
};

const char *ng_ice_str(enum ng_ice v)
{
	return (unsigned)v < ARRAY_SIZE(ng_ice_names) ? ng_ice_names[v] : "unknown";
}

static const char *const ng_ice_lite_names[] = {
	[NG_ICE_LITE_UNSET] = "",
	[NG_ICE_LITE_FORWARD] = "forward",
	[NG_ICE_LITE_BACKWARD] = "backward",
	[NG_ICE_LITE_BOTH] = "both",
	[NG_ICE_LITE_OFF] = "off",
};

const char *ng_ice_lite_str(enum ng_ice_lite v)
{
	return (unsigned)v < ARRAY_SIZE(ng_ice_lite_names) ? ng_ice_lite_names[v] : "unknown";
}

static const char *const ng_transport_names[] = {
	[NG_TRANSPORT_UNSET] = "",
	[NG_TRANSPORT_RTP_AVP] = "RTP/AVP",
	[NG_TRANSPORT_RTP_AVPF] = "RTP/AVPF",
	[NG_TRANSPORT_RTP_SAVP] = "RTP/SAVP",
	[NG_TRANSPORT_RTP_SAVPF] = "RTP/SAVPF",
	[NG_TRANSPORT_UDP_TLS_RTP_SAVP] = "UDP/TLS/RTP/SAVP",
	[NG_TRANSPORT_UDP_TLS_RTP_SAVPF] = "UDP/TLS/RTP/SAVPF",
	[NG_TRANSPORT_ACCEPT] = "accept",
};

const char *ng_transport_str(enum ng_transport v)
{
	return (unsigned)v < ARRAY_SIZE(ng_transport_names) ? ng_transport_names[v] : "unknown";
}

/* Tables of one-bit values, indexed by the bit's position. */
#define NG_BIT(v) __builtin_ctz(v)

static const char *const ng_flag_names[NG_FLAG__COUNT] = {
	[NG_BIT(NG_FLAG_TRUST_ADDRESS)] = "trust-address",
	[NG_BIT(NG_FLAG_SIP_SOURCE_ADDRESS)] = "SIP-source-address",
	[NG_BIT(NG_FLAG_SYMMETRIC)] = "symmetric",
	[NG_BIT(NG_FLAG_ASYMMETRIC)] = "asymmetric",
	[NG_BIT(NG_FLAG_UNIDIRECTIONAL)] = "unidirectional",
	[NG_BIT(NG_FLAG_STRICT_SOURCE)] = "strict-source",
	[NG_BIT(NG_FLAG_MEDIA_HANDOVER)] = "media-handover",
	[NG_BIT(NG_FLAG_PORT_LATCHING)] = "port-latching",
	[NG_BIT(NG_FLAG_NO_PORT_LATCHING)] = "no-port-latching",
	[NG_BIT(NG_FLAG_NO_RTCP_ATTRIBUTE)] = "no-rtcp-attribute",
	[NG_BIT(NG_FLAG_FULL_RTCP_ATTRIBUTE)] = "full-rtcp-attribute",
	[NG_BIT(NG_FLAG_LOOP_PROTECT)] = "loop-protect",
	[NG_BIT(NG_FLAG_GENERATE_MID)] = "generate-mid",
	[NG_BIT(NG_FLAG_TRICKLE_ICE)] = "trickle-ICE",
	[NG_BIT(NG_FLAG_REJECT_ICE)] = "reject-ICE",
	[NG_BIT(NG_FLAG_RESET)] = "reset",
	[NG_BIT(NG_FLAG_FATAL)] = "fatal",
	[NG_BIT(NG_FLAG_ORIGINAL_SENDRECV)] = "original-sendrecv",
	[NG_BIT(NG_FLAG_PIERCE_NAT)] = "pierce-NAT",
	[NG_BIT(NG_FLAG_NAT_WAIT)] = "NAT-wait",
	[NG_BIT(NG_FLAG_DEBUG)] = "debug",
	[NG_BIT(NG_FLAG_STRIP_EXTMAP)] = "strip-extmap",
};

static const char *const ng_replace_names[NG_REPLACE__COUNT] = {
	[NG_BIT(NG_REPLACE_ORIGIN)] = "origin",
	[NG_BIT(NG_REPLACE_SESSION_CONNECTION)] = "session-connection",
	[NG_BIT(NG_REPLACE_SDP_VERSION)] = "SDP-version",
	[NG_BIT(NG_REPLACE_USERNAME)] = "username",
	[NG_BIT(NG_REPLACE_SESSION_NAME)] = "session-name",
	[NG_BIT(NG_REPLACE_ZERO_ADDRESS)] = "zero-address",
	[NG_BIT(NG_REPLACE_FORCE_INCREMENT_SDP_VER)] = "force-increment-sdp-ver",
};

static const char *const ng_rtcp_mux_names[NG_RTCP_MUX__COUNT] = {
	[NG_BIT(NG_RTCP_MUX_OFFER)] = "offer",
	[NG_BIT(NG_RTCP_MUX_DEMUX)] = "demux",
	[NG_BIT(NG_RTCP_MUX_ACCEPT)] = "accept",
	[NG_BIT(NG_RTCP_MUX_REJECT)] = "reject",
	[NG_BIT(NG_RTCP_MUX_REQUIRE)] = "require",
};

static const char *ng_bit_name(const char *const *names, unsigned n, uint32_t one)
{
	if (!one || (one & (one - 1)) || (unsigned)NG_BIT(one) >= n)
		return NULL;
	return names[NG_BIT(one)];
}

const char *ng_flag_str(uint32_t one_flag)
{
	return ng_bit_name(ng_flag_names, NG_FLAG__COUNT, one_flag);
}

const char *ng_replace_str(uint32_t one_flag)
{
	return ng_bit_name(ng_replace_names, NG_REPLACE__COUNT, one_flag);
}

const char *ng_rtcp_mux_str(uint32_t one_flag)
{
	return ng_bit_name(ng_rtcp_mux_names, NG_RTCP_MUX__COUNT, one_flag);
}

static const char *const ng_dtls_names[] = {
	[NG_DTLS_UNSET] = "",
	[NG_DTLS_OFF] = "off",
	[NG_DTLS_PASSIVE] = "passive",
	[NG_DTLS_ACTIVE] = "active",
};

const char *ng_dtls_str(enum ng_dtls v)
{
	return (unsigned)v < ARRAY_SIZE(ng_dtls_names) ? ng_dtls_names[v] : "unknown";
}

static const char *const ng_sdes_suite_names[NG_SDES_SUITES] = {
	"", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM",
	"AEAD_AES_256_GCM",
};

const char *ng_sdes_suite_str(unsigned n)
{
	return n < NG_SDES_SUITES ? ng_sdes_suite_names[n] : "unknown";
}

static const char *const ng_result_names[] = {
	[NG_RESULT_OK] = "ok",
	[NG_RESULT_PONG] = "pong",
	[NG_RESULT_ERROR] = "error",
	[NG_RESULT_LOAD_LIMIT] = "load limit",
};

const char *ng_result_str(enum ng_result r)
{
	if ((unsigned)r < ARRAY_SIZE(ng_result_names) && ng_result_names[r])
		return ng_result_names[r];
	return "unknown";
}

/*
 * rtpengine writes "trust address", its clients "trust-address"; some
 * scripts use "trust_address" or other letter case. All are one name.
 */
static char ng_fold(uint8_t c)
{
	if (c == ' ' || c == '_')
		return '-';
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return (char)c;
}

bool ng_name_eq(const void *p, size_t len, const char *name)
{
	const uint8_t *s = p;
	size_t n = strlen(name);

	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ng_fold(s[i]) != ng_fold((uint8_t)name[i]))
			return false;
	return true;
}

/* Index of the name matching s among names[0..n), or -1. */
static int ng_name_find(const char *const *names, unsigned n, const uint8_t *s, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (names[i] && names[i][0] && ng_name_eq(s, len, names[i]))
			return (int)i;
	return -1;
}

int ng_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- cookie ------------------------------------------------------------- */

int ng_split_cookie(const uint8_t *dgram, size_t len, struct ng_str *cookie, struct ng_str *body)
{
	const uint8_t *sp = len ? memchr(dgram, ' ', len) : NULL;
	size_t clen;

	if (!sp)
		return -EINVAL;
	clen = (size_t)(sp - dgram);
	if (clen == 0 || clen > NG_COOKIE_MAX)
		return -EINVAL;
	/* The cookie is echoed into logs and replies: printable bytes only. */
	for (size_t i = 0; i < clen; i++)
		if (dgram[i] < 0x21 || dgram[i] > 0x7e)
			return -EINVAL;
	cookie->s = (const char *)dgram;
	cookie->len = clen;
	body->s = (const char *)sp + 1;
	body->len = len - clen - 1;
	return 0;
}

/* ---- request parsing ---------------------------------------------------- */

enum ng_key {
	NG_KEY_COMMAND,
	NG_KEY_CALL_ID,
	NG_KEY_FROM_TAG,
	NG_KEY_TO_TAG,
	NG_KEY_VIA_BRANCH,
	NG_KEY_LABEL,
	NG_KEY_FROM_LABEL,
	NG_KEY_SDP,
	NG_KEY_ICE,
	NG_KEY_ICE_LITE,
	NG_KEY_DIRECTION,
	NG_KEY_INTERFACE,
	NG_KEY_FLAGS,
	NG_KEY_REPLACE,
	NG_KEY_RTCP_MUX,
	NG_KEY_TRANSPORT,
	NG_KEY_RECEIVED_FROM,
	NG_KEY_MEDIA_ADDRESS,
	NG_KEY_ADDRESS_FAMILY,
	NG_KEY_DELETE_DELAY,
	NG_KEY_LIMIT,
	NG_KEY_DTLS,
	NG_KEY_DTLS_REVERSE,
	NG_KEY_SDES,
	NG_KEY_SUPPORTS,
	NG_KEY__COUNT,
};

static const char *const ng_key_names[NG_KEY__COUNT] = {
	[NG_KEY_COMMAND] = "command",
	[NG_KEY_CALL_ID] = "call-id",
	[NG_KEY_FROM_TAG] = "from-tag",
	[NG_KEY_TO_TAG] = "to-tag",
	[NG_KEY_VIA_BRANCH] = "via-branch",
	[NG_KEY_LABEL] = "label",
	[NG_KEY_FROM_LABEL] = "from-label",
	[NG_KEY_SDP] = "sdp",
	[NG_KEY_ICE] = "ICE",
	[NG_KEY_ICE_LITE] = "ICE-lite",
	[NG_KEY_DIRECTION] = "direction",
	[NG_KEY_INTERFACE] = "interface",
	[NG_KEY_FLAGS] = "flags",
	[NG_KEY_REPLACE] = "replace",
	[NG_KEY_RTCP_MUX] = "rtcp-mux",
	[NG_KEY_TRANSPORT] = "transport-protocol",
	[NG_KEY_RECEIVED_FROM] = "received-from",
	[NG_KEY_MEDIA_ADDRESS] = "media-address",
	[NG_KEY_ADDRESS_FAMILY] = "address-family",
	[NG_KEY_DELETE_DELAY] = "delete-delay",
	[NG_KEY_LIMIT] = "limit",
	[NG_KEY_DTLS] = "DTLS",
	[NG_KEY_DTLS_REVERSE] = "DTLS-reverse",
	[NG_KEY_SDES] = "SDES",
	[NG_KEY_SUPPORTS] = "supports",
};

/* Copy a string value into a fixed field, naming the key on failure. */
int ng_copy_str(const struct bencode *v, const char *key, char *out, size_t cap, char *why,
		size_t why_cap)
{
	int rc = bencode_str_copy(v, out, cap);

	if (rc == -ENAMETOOLONG)
		return ng_why(why, why_cap, "%s is %zu bytes; icepath accepts at most %zu", key,
			      v->s.len, cap - 1);
	if (rc && v->type != BENCODE_STR)
		return ng_why(why, why_cap, "%s: expected a string, got %s", key,
			      bencode_type_str(v->type));
	if (rc)
		return ng_why(why, why_cap, "%s contains a NUL byte", key);
	return 0;
}

/* An integer, or a string holding a decimal integer (some clients send those). */
int ng_get_int(const struct bencode *v, const char *key, int64_t *out, char *why, size_t why_cap)
{
	char tmp[24], *end;
	long long x;

	if (v->type == BENCODE_INT) {
		*out = v->i;
		return 0;
	}
	if (v->type != BENCODE_STR)
		return ng_why(why, why_cap, "%s: expected an integer, got %s", key,
			      bencode_type_str(v->type));
	if (bencode_str_copy(v, tmp, sizeof(tmp)) || !tmp[0])
		return ng_why(why, why_cap, "%s: '%.*s' is not an integer", key,
			      (int)(v->s.len > 32 ? 32 : v->s.len), v->s.ptr);
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno || *end)
		return ng_why(why, why_cap, "%s: '%s' is not an integer", key, tmp);
	*out = x;
	return 0;
}

static int ng_expect(const struct bencode *v, enum bencode_type t, const char *key, char *why,
		     size_t why_cap)
{
	if (v->type == t)
		return 0;
	return ng_why(why, why_cap, "%s: expected a %s, got %s", key, bencode_type_str(t),
		      bencode_type_str(v->type));
}

/* v is a list of strings (what "SDES", "supports" and the like hold). */
static int ng_string_list(const struct bencode *v, const char *key, char *why, size_t why_cap)
{
	unsigned idx = 0;

	if (ng_expect(v, BENCODE_LIST, key, why, why_cap))
		return -EINVAL;
	for (const struct bencode *e = v->child; e; e = e->next, idx++)
		if (e->type != BENCODE_STR)
			return ng_why(why, why_cap, "%s[%u]: expected a string, got %s", key, idx,
				      bencode_type_str(e->type));
	return 0;
}

/* One string value matched against names; error lists the choices. */
static int ng_enum_value(const struct bencode *v, const char *key, const char *const *names,
			 unsigned n, int *out, char *why, size_t why_cap)
{
	char choices[160] = "";
	size_t used = 0;
	int i;

	if (ng_expect(v, BENCODE_STR, key, why, why_cap))
		return -EINVAL;
	i = ng_name_find(names, n, v->s.ptr, v->s.len);
	if (i >= 0) {
		*out = i;
		return 0;
	}
	for (unsigned k = 0; k < n; k++) {
		if (!names[k][0])
			continue;
		used += (size_t)snprintf(choices + used, sizeof(choices) - used, "%s%s",
					 used ? ", " : "", names[k]);
		if (used >= sizeof(choices))
			break;
	}
	return ng_why(why, why_cap, "%s: unknown value '%.*s' (expected %s)", key,
		      (int)(v->s.len > 40 ? 40 : v->s.len), v->s.ptr, choices);
}

static void ng_note_unknown(struct ng_str *arr, unsigned *n, const uint8_t *s, size_t len)
{
	if (*n < NG_MAX_UNKNOWN) {
		arr[*n].s = (const char *)s;
		arr[*n].len = len;
	}
	(*n)++;
}

/*
 * One SDES option as the "SDES" list gives it ("off", "no-SUITE",
 * "only-SUITE", "SUITE"; rtpengine also takes them as "SDES-..." flags).
 * false: not an SDES option icepath knows.
 */
static bool ng_sdes_item(const uint8_t *s, size_t len, struct ng_request *req)
{
	static const char *const pre[] = {"no-", "only-", ""};

	if (ng_name_eq(s, len, "off") || ng_name_eq(s, len, "no") ||
	    ng_name_eq(s, len, "disable")) {
		req->sdes_off = true;
		return true;
	}
	for (unsigned p = 0; p < ARRAY_SIZE(pre); p++) {
		size_t pl = strlen(pre[p]);

		if (len < pl || (pl && !ng_name_eq(s, pl, pre[p])))
			continue;
		for (unsigned n = 1; n < NG_SDES_SUITES; n++) {
			if (!ng_name_eq(s + pl, len - pl, ng_sdes_suite_names[n]))
				continue;
			if (p == 0)
				req->sdes_no |= 1u << n;
			else if (p == 1)
				req->sdes_only |= 1u << n;
			return true; /* a bare suite: offered anyway */
		}
	}
	return false;
}

/* A list of strings, each a bit from names or an unknown flag to warn about. */
static int ng_bits(const struct bencode *v, const char *key, const char *const *names, unsigned n,
		   uint32_t *bits, struct ng_request *req, char *why, size_t why_cap)
{
	/* "rtcp-mux=demux" from a client that sends key=value as a string:
	 * one element (flags and replace stay lists: a string there is a
	 * client's mistake worth an error) */
	if (v->type == BENCODE_STR && bits == &req->rtcp_mux) {
		int i = ng_name_find(names, n, v->s.ptr, v->s.len);

		if (i >= 0)
			*bits |= 1u << i;
		else
			ng_note_unknown(req->unknown_flags, &req->n_unknown_flags, v->s.ptr,
					v->s.len);
		return 0;
	}
	if (ng_string_list(v, key, why, why_cap))
		return -EINVAL;
	for (const struct bencode *e = v->child; e; e = e->next) {
		int i = ng_name_find(names, n, e->s.ptr, e->s.len);

		if (i >= 0)
			*bits |= 1u << i;
		else if (bits == &req->flags && e->s.len > 5 && ng_name_eq(e->s.ptr, 5, "SDES-") &&
			 ng_sdes_item(e->s.ptr + 5, e->s.len - 5, req))
			continue;
		else
			ng_note_unknown(req->unknown_flags, &req->n_unknown_flags, e->s.ptr,
					e->s.len);
	}
	return 0;
}

static int ng_parse_address(const struct bencode *v, const char *key, int family,
			    struct netaddr *out, char *why, size_t why_cap)
{
	char ip[64];

	if (ng_copy_str(v, key, ip, sizeof(ip), why, why_cap))
		return -EINVAL;
	if (netaddr_from_str(out, ip, 0))
		return ng_why(why, why_cap, "%s: '%s' is not an IPv4 or IPv6 address", key, ip);
	if (family != AF_UNSPEC && netaddr_family(out) != family)
		return ng_why(why, why_cap, "%s: '%s' is not an %s address", key, ip,
			      family == AF_INET ? "IPv4" : "IPv6");
	return 0;
}

static int ng_parse_family(const struct bencode *v, const char *key, int *family, char *why,
			   size_t why_cap)
{
	static const char *const fams[] = {"IP4", "IP6"};
	int i;

	if (ng_enum_value(v, key, fams, 2, &i, why, why_cap))
		return -EINVAL;
	*family = i == 0 ? AF_INET : AF_INET6;
	return 0;
}

static int ng_parse_received_from(const struct bencode *v, struct ng_request *req, char *why,
				  size_t why_cap)
{
	const char *key = "received-from";
	int family;

	if (ng_expect(v, BENCODE_LIST, key, why, why_cap))
		return -EINVAL;
	if (v->count != 2)
		return ng_why(why, why_cap, "%s: expected [family, address], got %u elements", key,
			      v->count);
	if (ng_parse_family(v->child, key, &family, why, why_cap) ||
	    ng_parse_address(v->child->next, key, family, &req->received_from, why, why_cap))
		return -EINVAL;
	req->has_received_from = true;
	return 0;
}

static int ng_parse_direction(const struct bencode *v, struct ng_request *req, char *why,
			      size_t why_cap)
{
	const char *key = "direction";

	if (ng_expect(v, BENCODE_LIST, key, why, why_cap))
		return -EINVAL;
	if (v->count != 2)
		return ng_why(why, why_cap,
			      "%s: expected two interface names [from, to], got %u elements", key,
			      v->count);
	if (ng_copy_str(v->child, key, req->direction[0], sizeof(req->direction[0]), why,
			why_cap) ||
	    ng_copy_str(v->child->next, key, req->direction[1], sizeof(req->direction[1]), why,
			why_cap))
		return -EINVAL;
	req->n_direction = 2;
	return 0;
}

void ng_request_init(struct ng_request *req, enum ng_command cmd)
{
	memset(req, 0, sizeof(*req));
	req->cmd = cmd;
	req->limit = NG_LIST_DEFAULT;
}

static int ng_parse_key(enum ng_key k, const struct bencode *v, struct ng_request *req, char *why,
			size_t why_cap)
{
	const char *name = ng_key_names[k];
	int i;

	switch (k) {
	case NG_KEY_COMMAND:
		return 0; /* done first, by the caller */
	case NG_KEY_CALL_ID:
		return ng_copy_str(v, name, req->call_id, sizeof(req->call_id), why, why_cap);
	case NG_KEY_FROM_TAG:
		return ng_copy_str(v, name, req->from_tag, sizeof(req->from_tag), why, why_cap);
	case NG_KEY_TO_TAG:
		return ng_copy_str(v, name, req->to_tag, sizeof(req->to_tag), why, why_cap);
	case NG_KEY_VIA_BRANCH:
		return ng_copy_str(v, name, req->via_branch, sizeof(req->via_branch), why, why_cap);
	case NG_KEY_LABEL:
	case NG_KEY_FROM_LABEL:
		return ng_copy_str(v, name, req->label, sizeof(req->label), why, why_cap);
	case NG_KEY_SDP:
		if (ng_expect(v, BENCODE_STR, name, why, why_cap))
			return -EINVAL;
		req->sdp.s = (const char *)v->s.ptr;
		req->sdp.len = v->s.len;
		return 0;
	case NG_KEY_ICE:
		if (ng_enum_value(v, name, ng_ice_names, ARRAY_SIZE(ng_ice_names), &i, why,
				  why_cap))
			return -EINVAL;
		req->ice = (enum ng_ice)i;
		return 0;
	case NG_KEY_ICE_LITE:
		if (ng_enum_value(v, name, ng_ice_lite_names, ARRAY_SIZE(ng_ice_lite_names), &i,
				  why, why_cap))
			return -EINVAL;
		req->ice_lite = (enum ng_ice_lite)i;
		return 0;
	case NG_KEY_DIRECTION:
		return ng_parse_direction(v, req, why, why_cap);
	case NG_KEY_INTERFACE:
		return ng_copy_str(v, name, req->interface, sizeof(req->interface), why, why_cap);
	case NG_KEY_FLAGS:
		return ng_bits(v, name, ng_flag_names, NG_FLAG__COUNT, &req->flags, req, why,
			       why_cap);
	case NG_KEY_REPLACE:
		return ng_bits(v, name, ng_replace_names, NG_REPLACE__COUNT, &req->replace, req,
			       why, why_cap);
	case NG_KEY_RTCP_MUX:
		return ng_bits(v, name, ng_rtcp_mux_names, NG_RTCP_MUX__COUNT, &req->rtcp_mux, req,
			       why, why_cap);
	case NG_KEY_TRANSPORT:
		if (ng_enum_value(v, name, ng_transport_names, ARRAY_SIZE(ng_transport_names), &i,
				  why, why_cap))
			return -EINVAL;
		req->transport = (enum ng_transport)i;
		return 0;
	case NG_KEY_RECEIVED_FROM:
		return ng_parse_received_from(v, req, why, why_cap);
	case NG_KEY_MEDIA_ADDRESS:
		if (ng_parse_address(v, name, AF_UNSPEC, &req->media_address, why, why_cap))
			return -EINVAL;
		req->has_media_address = true;
		return 0;
	case NG_KEY_ADDRESS_FAMILY:
		return ng_parse_family(v, name, &req->address_family, why, why_cap);
	case NG_KEY_DELETE_DELAY:
		if (ng_get_int(v, name, &req->delete_delay, why, why_cap))
			return -EINVAL;
		if (req->delete_delay < 0)
			return ng_why(why, why_cap, "%s: %lld is negative", name,
				      (long long)req->delete_delay);
		/* bounded so that now + delay (ms) cannot wrap, and a call
		 * cannot be parked for days by one request */
		if (req->delete_delay > NG_DELETE_DELAY_MAX)
			return ng_why(why, why_cap, "%s: %lld s is more than %d s", name,
				      (long long)req->delete_delay, NG_DELETE_DELAY_MAX);
		req->has_delete_delay = true;
		return 0;
	case NG_KEY_LIMIT:
		if (ng_get_int(v, name, &req->limit, why, why_cap))
			return -EINVAL;
		if (req->limit <= 0)
			return ng_why(why, why_cap, "%s: must be > 0, got %lld", name,
				      (long long)req->limit);
		if (req->limit > NG_LIST_MAX)
			req->limit = NG_LIST_MAX;
		return 0;
	case NG_KEY_DTLS:
	case NG_KEY_DTLS_REVERSE: {
		enum ng_dtls *out = k == NG_KEY_DTLS ? &req->dtls : &req->dtls_reverse;

		if (v->type == BENCODE_STR &&
		    (ng_name_eq(v->s.ptr, v->s.len, "no") || ng_name_eq(v->s.ptr, v->s.len, "disable"))) {
			*out = NG_DTLS_OFF;
			return 0;
		}
		if (ng_enum_value(v, name, ng_dtls_names, ARRAY_SIZE(ng_dtls_names), &i, why,
				  why_cap))
			return -EINVAL;
		*out = (enum ng_dtls)i;
		return 0;
	}
	case NG_KEY_SDES: {
		if (v->type == BENCODE_STR) { /* "SDES=off" */
			if (ng_sdes_item(v->s.ptr, v->s.len, req))
				return 0;
			return ng_why(why, why_cap, "%s: unknown value '%.*s'", name,
				      (int)(v->s.len > 40 ? 40 : v->s.len), v->s.ptr);
		}
		if (ng_string_list(v, name, why, why_cap))
			return -EINVAL;
		for (const struct bencode *e = v->child; e; e = e->next) {
			if (!ng_sdes_item(e->s.ptr, e->s.len, req))
				return ng_why(why, why_cap,
					      "%s: unknown value '%.*s' (expected off, no-SUITE, "
					      "only-SUITE or SUITE, SUITE one of "
					      "AES_CM_128_HMAC_SHA1_80/_32, AEAD_AES_128/256_GCM)",
					      name, (int)(e->s.len > 40 ? 40 : e->s.len), e->s.ptr);
		}
		return 0;
	}
	case NG_KEY_SUPPORTS: {
		/* what the client understands in replies (Kamailio's rtpengine
		 * module sends it with every request); values icepath does not
		 * know are features of other relays, not errors */
		if (ng_string_list(v, name, why, why_cap))
			return -EINVAL;
		for (const struct bencode *e = v->child; e; e = e->next) {
			if (ng_name_eq(e->s.ptr, e->s.len, "load limit"))
				req->supports_load_limit = true;
		}
		return 0;
	}
	case NG_KEY__COUNT:
		break;
	}
	return 0;
}

/* Keys each command cannot do without (rtpengine's documentation). */
static int ng_check_required(const struct ng_request *req, char *why, size_t why_cap)
{
	const char *cmd = ng_command_str(req->cmd);
	const char *missing = NULL;

	switch (req->cmd) {
	case NG_CMD_ANSWER:
		if (!req->to_tag[0])
			missing = "to-tag";
		/* fall through */
	case NG_CMD_OFFER:
		if (!req->sdp.s)
			missing = "sdp";
		if (!req->from_tag[0])
			missing = "from-tag";
		if (!req->call_id[0])
			missing = "call-id";
		if (!missing && !req->sdp.len)
			return ng_why(why, why_cap, "%s: sdp is empty", cmd);
		break;
	case NG_CMD_DELETE:
	case NG_CMD_QUERY:
		if (!req->call_id[0])
			missing = "call-id";
		break;
	default:
		break;
	}
	if (missing)
		return ng_why(why, why_cap, "%s: missing key '%s'", cmd, missing);
	return 0;
}

int ng_request_parse(const struct bencode *dict, struct ng_request *req, char *why, size_t why_cap)
{
	const struct bencode *cmd;
	uint32_t seen = 0;
	int i;

	_Static_assert(NG_KEY__COUNT <= 32, "seen is a 32-bit mask");
	ng_request_init(req, NG_CMD_PING);
	if (!dict || dict->type != BENCODE_DICT)
		return ng_why(why, why_cap, "request is a %s, expected a dictionary",
			      dict ? bencode_type_str(dict->type) : "nothing");

	cmd = NULL;
	for (const struct bencode *c = dict->child; c; c = c->next)
		if (ng_name_eq(c->key, c->key_len, "command"))
			cmd = c;
	if (!cmd)
		return ng_why(why, why_cap, "missing key 'command'");
	if (cmd->type != BENCODE_STR)
		return ng_why(why, why_cap, "command: expected a string, got %s",
			      bencode_type_str(cmd->type));
	i = ng_name_find(ng_command_names, NG_CMD__COUNT, cmd->s.ptr, cmd->s.len);
	if (i < 0)
		return ng_why(why, why_cap,
			      "unknown command '%.*s' (icepath supports ping, offer, answer, "
			      "delete, query, list, statistics)",
			      (int)(cmd->s.len > 40 ? 40 : cmd->s.len), cmd->s.ptr);
	req->cmd = (enum ng_command)i;

	for (const struct bencode *c = dict->child; c; c = c->next) {
		int k = ng_name_find(ng_key_names, NG_KEY__COUNT, c->key, c->key_len);

		/* "call-id" and "call_id" are one key, "label" and "from-label"
		 * one value: both at once is ambiguous. */
		if (k == NG_KEY_FROM_LABEL)
			k = NG_KEY_LABEL;
		if (k >= 0 && (seen & (1u << k)))
			return ng_why(
				why, why_cap, "%s given twice (as '%.*s' and another spelling)",
				ng_key_names[k], (int)(c->key_len > 40 ? 40 : c->key_len), c->key);
		if (k >= 0)
			seen |= 1u << k;
		if (k < 0) {
			ng_note_unknown(req->unknown_keys, &req->n_unknown_keys, c->key,
					c->key_len);
			continue;
		}
		if (ng_parse_key((enum ng_key)k, c, req, why, why_cap))
			return -EINVAL;
	}
	return ng_check_required(req, why, why_cap);
}

/* ---- request encoding (client side) -------------------------------------- */

static void ng_put_bits(struct bencode_buf *b, const char *key, uint32_t bits,
			const char *const *names, unsigned n)
{
	if (!bits)
		return;
	bencode_put_str(b, key);
	bencode_put_list(b);
	for (unsigned i = 0; i < n; i++)
		if (bits & (1u << i))
			bencode_put_str(b, names[i]);
	bencode_put_end(b);
}

static void ng_put_opt(struct bencode_buf *b, const char *key, const char *v)
{
	if (v[0])
		bencode_put_kv_str(b, key, v);
}

ssize_t ng_request_encode(const struct ng_request *req, uint8_t *out, size_t cap)
{
	char ip[NETADDR_STRLEN];
	struct bencode_buf b;

	if (!req->cookie[0] || strchr(req->cookie, ' '))
		return -EINVAL;
	bencode_buf_init(&b, out, cap);
	bencode_put_raw(&b, req->cookie, strlen(req->cookie));
	bencode_put_raw(&b, " ", 1);
	/* Keys in byte order, as the bencode specification asks. */
	bencode_put_dict(&b);
	if (req->dtls)
		bencode_put_kv_str(&b, "DTLS", ng_dtls_str(req->dtls));
	if (req->dtls_reverse)
		bencode_put_kv_str(&b, "DTLS-reverse", ng_dtls_str(req->dtls_reverse));
	if (req->ice)
		bencode_put_kv_str(&b, "ICE", ng_ice_str(req->ice));
	if (req->ice_lite)
		bencode_put_kv_str(&b, "ICE-lite", ng_ice_lite_str(req->ice_lite));
	if (req->sdes_off || req->sdes_no || req->sdes_only) {
		char item[48];

		bencode_put_str(&b, "SDES");
		bencode_put_list(&b);
		if (req->sdes_off)
			bencode_put_str(&b, "off");
		for (unsigned n = 1; n < NG_SDES_SUITES; n++) {
			if (req->sdes_no & (1u << n)) {
				snprintf(item, sizeof(item), "no-%s", ng_sdes_suite_names[n]);
				bencode_put_str(&b, item);
			}
			if (req->sdes_only & (1u << n)) {
				snprintf(item, sizeof(item), "only-%s", ng_sdes_suite_names[n]);
				bencode_put_str(&b, item);
			}
		}
		bencode_put_end(&b);
	}
	if (req->address_family)
		bencode_put_kv_str(&b, "address-family",
				   req->address_family == AF_INET6 ? "IP6" : "IP4");
	ng_put_opt(&b, "call-id", req->call_id);
	bencode_put_kv_str(&b, "command", ng_command_str(req->cmd));
	if (req->has_delete_delay)
		bencode_put_kv_int(&b, "delete-delay", req->delete_delay);
	if (req->n_direction == 2) {
		bencode_put_str(&b, "direction");
		bencode_put_list(&b);
		bencode_put_str(&b, req->direction[0]);
		bencode_put_str(&b, req->direction[1]);
		bencode_put_end(&b);
	}
	ng_put_bits(&b, "flags", req->flags, ng_flag_names, NG_FLAG__COUNT);
	ng_put_opt(&b, "from-tag", req->from_tag);
	ng_put_opt(&b, "interface", req->interface);
	ng_put_opt(&b, "label", req->label);
	if (req->cmd == NG_CMD_LIST && req->limit != NG_LIST_DEFAULT)
		bencode_put_kv_int(&b, "limit", req->limit);
	if (req->has_media_address)
		bencode_put_kv_str(&b, "media-address",
				   netaddr_ip_str(&req->media_address, ip, sizeof(ip)));
	if (req->has_received_from) {
		bencode_put_str(&b, "received-from");
		bencode_put_list(&b);
		bencode_put_str(&b,
				netaddr_family(&req->received_from) == AF_INET6 ? "IP6" : "IP4");
		bencode_put_str(&b, netaddr_ip_str(&req->received_from, ip, sizeof(ip)));
		bencode_put_end(&b);
	}
	ng_put_bits(&b, "replace", req->replace, ng_replace_names, NG_REPLACE__COUNT);
	ng_put_bits(&b, "rtcp-mux", req->rtcp_mux, ng_rtcp_mux_names, NG_RTCP_MUX__COUNT);
	if (req->sdp.s) {
		bencode_put_str(&b, "sdp");
		bencode_put_bytes(&b, req->sdp.s, req->sdp.len);
	}
	if (req->supports_load_limit) {
		bencode_put_str(&b, "supports");
		bencode_put_list(&b);
		bencode_put_str(&b, "load limit");
		bencode_put_end(&b);
	}
	ng_put_opt(&b, "to-tag", req->to_tag);
	if (req->transport)
		bencode_put_kv_str(&b, "transport-protocol", ng_transport_str(req->transport));
	ng_put_opt(&b, "via-branch", req->via_branch);
	bencode_put_end(&b);
	return bencode_buf_finish(&b);
}
