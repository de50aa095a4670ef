// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names of STUN/TURN codes for logs and replies. The code spaces are sparse
 * (attributes reach 0x8029), so each is a {code, name} table searched in
 * order rather than an array indexed by code; dense enums use designated
 * initializers as elsewhere.
 */
#include <stddef.h>

#include "icepath/compiler.h"
#include "icepath/stun.h"

struct stun_name {
	uint16_t code;
	const char *name;
};

static const char *stun_name_find(const struct stun_name *t, size_t n, uint16_t code,
				  const char *unknown)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return unknown;
}

/* Reason phrases: RFC 8489 §14.8, RFC 8656 §19, RFC 8445 §7.3.1.1. */
static const struct stun_name stun_errors[] = {
	{ STUN_ERROR_TRY_ALTERNATE, "Try Alternate" },
	{ STUN_ERROR_BAD_REQUEST, "Bad Request" },
	{ STUN_ERROR_UNAUTHORIZED, "Unauthorized" },
	{ STUN_ERROR_FORBIDDEN, "Forbidden" },
	{ STUN_ERROR_UNKNOWN_ATTRIBUTE, "Unknown Attribute" },
	{ STUN_ERROR_ALLOCATION_MISMATCH, "Allocation Mismatch" },
	{ STUN_ERROR_STALE_NONCE, "Stale Nonce" },
	{ STUN_ERROR_ADDRESS_FAMILY_NOT_SUPPORTED, "Address Family not Supported" },
	{ STUN_ERROR_WRONG_CREDENTIALS, "Wrong Credentials" },
	{ STUN_ERROR_UNSUPPORTED_TRANSPORT, "Unsupported Transport Protocol" },
	{ STUN_ERROR_ALLOCATION_QUOTA, "Allocation Quota Reached" },
	{ STUN_ERROR_ROLE_CONFLICT, "Role Conflict" },
	{ STUN_ERROR_SERVER_ERROR, "Server Error" },
	{ STUN_ERROR_INSUFFICIENT_CAPACITY, "Insufficient Capacity" },
};

const char *stun_error_reason(int code)
{
	if (code < 0 || code > UINT16_MAX)
		return "Error";
	return stun_name_find(stun_errors, ARRAY_SIZE(stun_errors), (uint16_t)code, "Error");
}

static const struct stun_name stun_methods[] = {
	{ STUN_METHOD_BINDING, "Binding" },
	{ STUN_METHOD_ALLOCATE, "Allocate" },
	{ STUN_METHOD_REFRESH, "Refresh" },
	{ STUN_METHOD_SEND, "Send" },
	{ STUN_METHOD_DATA, "Data" },
	{ STUN_METHOD_CREATE_PERMISSION, "CreatePermission" },
	{ STUN_METHOD_CHANNEL_BIND, "ChannelBind" },
};

const char *stun_method_str(uint16_t method)
{
	return stun_name_find(stun_methods, ARRAY_SIZE(stun_methods), method, "unknown method");
}

static const char *const stun_classes[] = {
	[STUN_CLASS_REQUEST] = "request",
	[STUN_CLASS_INDICATION] = "indication",
	[STUN_CLASS_SUCCESS] = "success response",
	[STUN_CLASS_ERROR] = "error response",
};

const char *stun_class_str(enum stun_class cls)
{
	if ((size_t)cls >= ARRAY_SIZE(stun_classes) || !stun_classes[cls])
		return "unknown class";
	return stun_classes[cls];
}

static const struct stun_name stun_attrs[] = {
	{ STUN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS" },
	{ STUN_ATTR_USERNAME, "USERNAME" },
	{ STUN_ATTR_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY" },
	{ STUN_ATTR_ERROR_CODE, "ERROR-CODE" },
	{ STUN_ATTR_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES" },
	{ STUN_ATTR_CHANNEL_NUMBER, "CHANNEL-NUMBER" },
	{ STUN_ATTR_LIFETIME, "LIFETIME" },
	{ STUN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS" },
	{ STUN_ATTR_DATA, "DATA" },
	{ STUN_ATTR_REALM, "REALM" },
	{ STUN_ATTR_NONCE, "NONCE" },
	{ STUN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS" },
	{ STUN_ATTR_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT" },
	{ STUN_ATTR_DONT_FRAGMENT, "DONT-FRAGMENT" },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256" },
	{ STUN_ATTR_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM" },
	{ STUN_ATTR_USERHASH, "USERHASH" },
	{ STUN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS" },
	{ STUN_ATTR_PRIORITY, "PRIORITY" },
	{ STUN_ATTR_USE_CANDIDATE, "USE-CANDIDATE" },
	{ STUN_ATTR_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS" },
	{ STUN_ATTR_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN" },
	{ STUN_ATTR_SOFTWARE, "SOFTWARE" },
	{ STUN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER" },
	{ STUN_ATTR_FINGERPRINT, "FINGERPRINT" },
	{ STUN_ATTR_ICE_CONTROLLED, "ICE-CONTROLLED" },
	{ STUN_ATTR_ICE_CONTROLLING, "ICE-CONTROLLING" },
};

const char *stun_attr_str(uint16_t type)
{
	return stun_name_find(stun_attrs, ARRAY_SIZE(stun_attrs), type, "unknown attribute");
}
