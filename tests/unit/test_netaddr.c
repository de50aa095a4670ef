// SPDX-License-Identifier: GPL-2.0-only
/* netaddr: parsing, printing, comparison; malformed text is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "icepath/ice_candidate.h"
#include "icepath/netaddr.h"
#include "icepath/compiler.h"

static void parse_and_print(void **state)
{
	static const struct {
		const char *in;
		int def;
		const char *out;
	} ok[] = {
		{ "192.0.2.1:3478", -1, "192.0.2.1:3478" },
		{ "192.0.2.1", 3478, "192.0.2.1:3478" },
		{ "[2001:db8::1]:5", -1, "[2001:db8::1]:5" },
		{ "2001:db8::1", 7, "[2001:db8::1]:7" },
		{ "[::1]", 9, "[::1]:9" },
	};
	char buf[NETADDR_STRLEN];
	struct netaddr a;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(netaddr_parse(&a, ok[i].in, ok[i].def), 0);
		assert_string_equal(netaddr_str(&a, buf, sizeof(buf)), ok[i].out);
	}
}

static void parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:-1", "192.0.2.1:12x",
		"192.0.2", "[2001:db8::1", "[2001:db8::1]x", "host.example:80",
		"[::1]:99999", "192.0.2.1",
	};
	struct netaddr a;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(netaddr_parse(&a, bad[i], -1), -EINVAL);
	assert_int_equal(netaddr_parse(&a, NULL, 1), -EINVAL);
}

static void compare_and_classify(void **state)
{
	struct netaddr a, b, c;

	assert_int_equal(netaddr_parse(&a, "198.51.100.7:1000", -1), 0);
	assert_int_equal(netaddr_parse(&b, "198.51.100.7:1001", -1), 0);
	assert_false(netaddr_equal(&a, &b));
	assert_true(netaddr_same_ip(&a, &b));
	netaddr_set_port(&b, 1000);
	assert_true(netaddr_equal(&a, &b));
	assert_int_equal(netaddr_hash(&a), netaddr_hash(&b));

	assert_int_equal(netaddr_parse(&c, "[::ffff:198.51.100.7]:1000", -1), 0);
	assert_false(netaddr_equal(&a, &c));
	netaddr_unmap_v4(&c);
	assert_true(netaddr_equal(&a, &c));

	assert_int_equal(netaddr_parse(&c, "169.254.1.1:1", -1), 0);
	assert_true(netaddr_is_link_local(&c));
	assert_int_equal(netaddr_parse(&c, "[fe80::1]:1", -1), 0);
	assert_true(netaddr_is_link_local(&c));
	assert_int_equal(netaddr_parse(&c, "127.0.0.2:1", -1), 0);
	assert_true(netaddr_is_loopback(&c));
	assert_int_equal(netaddr_parse(&c, "0.0.0.0:1", -1), 0);
	assert_true(netaddr_is_any(&c));
}

static void candidate_priority(void **state)
{
	enum ice_cand_type t;

	/* RFC 8445 §5.1.2.1 with the recommended values: host, local pref
	 * 65535, component 1 -> 126 << 24 | 65535 << 8 | 255. */
	assert_int_equal(ice_candidate_priority(ICE_TYPE_PREF_HOST, 65535, 1), 2130706431u);
	assert_int_equal(ice_candidate_priority(ICE_TYPE_PREF_RELAY, 65535, 2), 16777214u);
	assert_int_equal(ice_cand_type_from_str("srflx", &t), 0);
	assert_int_equal(t, ICE_CAND_TYPE_SRFLX);
	assert_string_equal(ice_cand_type_str(t), "srflx");
	assert_int_equal(ice_cand_type_from_str("bogus", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_and_print),
		cmocka_unit_test(parse_rejects_malformed),
		cmocka_unit_test(compare_and_classify),
		cmocka_unit_test(candidate_priority),
	};
	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
