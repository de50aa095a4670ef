// SPDX-License-Identifier: GPL-2.0-only
/* ICE candidate types and preferences (RFC 8445 §5.1.2). */
#include <errno.h>
#include <string.h>

#include "icepath/ice_candidate.h"
#include "icepath/compiler.h"

static const char *const type_names[] = {
	[ICE_CAND_TYPE_HOST] = "host",
	[ICE_CAND_TYPE_SRFLX] = "srflx",
	[ICE_CAND_TYPE_PRFLX] = "prflx",
	[ICE_CAND_TYPE_RELAY] = "relay",
};

unsigned ice_cand_type_pref(enum ice_cand_type type)
{
	switch (type) {
	case ICE_CAND_TYPE_HOST:
		return ICE_TYPE_PREF_HOST;
	case ICE_CAND_TYPE_PRFLX:
		return ICE_TYPE_PREF_PRFLX;
	case ICE_CAND_TYPE_SRFLX:
		return ICE_TYPE_PREF_SRFLX;
	case ICE_CAND_TYPE_RELAY:
		return ICE_TYPE_PREF_RELAY;
	}
	return 0;
}

const char *ice_cand_type_str(enum ice_cand_type type)
{
	if ((unsigned)type < ARRAY_SIZE(type_names))
		return type_names[type];
	return "unknown";
}

int ice_cand_type_from_str(const char *s, enum ice_cand_type *type)
{
	for (unsigned i = 0; i < ARRAY_SIZE(type_names); i++) {
		if (!strcmp(s, type_names[i])) {
			*type = (enum ice_cand_type)i;
			return 0;
		}
	}
	return -EINVAL;
}
