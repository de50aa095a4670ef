// SPDX-License-Identifier: GPL-2.0-only
/* bencode: decoding, lookups, encoding; every malformed input is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/bencode.h"
#include "icepath/compiler.h"

#define NODES 256

static struct bencode nodes[NODES];

static int decode(const char *s, struct bencode **root, struct bencode_err *err)
{
	return bencode_decode((const uint8_t *)s, strlen(s), nodes, NODES, root, err);
}

/* An offer as Kamailio's rtpengine module sends it (SDP shortened). */
static const char offer[] =
	"d7:command5:offer7:call-id24:a84b4c76e66710@pc33.test8:from-tag10:1928301774"
	"3:sdp58:v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n"
	"3:ICE6:remove5:flagsl13:trust-address9:symmetrice"
	"7:replacel6:origin18:session-connectione"
	"9:directionl4:priv3:pube13:received-froml3:IP411:192.0.2.200e"
	"5:limiti-42ee";

static void decode_offer(void **state)
{
	const struct bencode *v, *flags;
	struct bencode_err err;
	struct bencode *root;
	const uint8_t *p;
	char buf[64];
	int64_t i;
	size_t n;

	assert_int_equal(decode(offer, &root, &err), 0);
	assert_int_equal(root->type, BENCODE_DICT);
	assert_int_equal(root->count, 10);
	assert_true(bencode_str_eq(bencode_dict_get(root, "command"), "offer"));
	assert_int_equal(bencode_str_copy(bencode_dict_get(root, "call-id"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a84b4c76e66710@pc33.test");
	assert_int_equal(bencode_get_str(bencode_dict_get(root, "sdp"), &p, &n), 0);
	assert_int_equal(n, 58);
	assert_memory_equal(p, "v=0\r\n", 5);

	flags = bencode_dict_get(root, "flags");
	assert_true(bencode_is(flags, BENCODE_LIST));
	assert_int_equal(flags->count, 2);
	assert_true(bencode_str_eq(bencode_list_at(flags, 0), "trust-address"));
	assert_true(bencode_str_eq(bencode_list_at(flags, 1), "symmetric"));
	assert_null(bencode_list_at(flags, 2));

	v = bencode_dict_get(root, "limit");
	assert_int_equal(bencode_get_int(v, &i), 0);
	assert_int_equal(i, -42);
	/* Typed getters refuse the wrong type and report absence. */
	assert_int_equal(bencode_get_int(flags, &i), -EINVAL);
	assert_int_equal(bencode_get_str(v, &p, &n), -EINVAL);
	assert_int_equal(bencode_get_int(bencode_dict_get(root, "nope"), &i), -ENOENT);
	assert_null(bencode_dict_get(flags, "command")); /* not a dict */
	assert_int_equal(bencode_dict_get(root, "sdp")->off, 81);
}

static void integers_and_empties(void **state)
{
	static const struct {
		const char *in;
		int64_t v;
	} ints[] = {
		{"i0e", 0},
		{"i7e", 7},
		{"i-7e", -7},
		{"i9223372036854775807e", INT64_MAX},
		{"i-9223372036854775808e", INT64_MIN},
	};
	struct bencode *root;
	int64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		assert_int_equal(decode(ints[i].in, &root, NULL), 0);
		assert_int_equal(bencode_get_int(root, &v), 0);
		assert_true(v == ints[i].v);
	}
	assert_int_equal(decode("0:", &root, NULL), 0);
	assert_int_equal(root->s.len, 0);
	assert_int_equal(decode("le", &root, NULL), 0);
	assert_int_equal(root->count, 0);
	assert_null(root->child);
	assert_int_equal(decode("de", &root, NULL), 0);
	assert_int_equal(root->type, BENCODE_DICT);
	/* Unsorted keys are fine (rtpengine does not sort). */
	assert_int_equal(decode("d1:bi1e1:ai2ee", &root, NULL), 0);
	assert_int_equal(bencode_dict_get(root, "a")->i, 2);
	/* Binary keys and values, NUL included. */
	assert_int_equal(
		bencode_decode((const uint8_t *)"d2:\0x1:\0e", 9, nodes, NODES, &root, NULL), 0);
	assert_non_null(bencode_dict_get_n(root, "\0x", 2));
}

static void malformed_table(void **state)
{
	static const struct {
		const char *in;
		int rc;
		size_t off;
		const char *why;
	} bad[] = {
		{"", -EINVAL, 0, "empty input"},
		{"i-0e", -EINVAL, 0, "negative zero"},
		{"i03e", -EINVAL, 1, "leading zero"},
		{"i-03e", -EINVAL, 2, "leading zero"},
		{"ie", -EINVAL, 0, "no digits"},
		{"i-e", -EINVAL, 0, "no digits"},
		{"i12", -EINVAL, 0, "not terminated"},
		{"i1x2e", -EINVAL, 2, "unexpected byte 0x78 in integer"},
		{"i9223372036854775808e", -EINVAL, 0, "overflows"},
		{"i-9223372036854775809e", -EINVAL, 0, "overflows"},
		{"i99999999999999999999999e", -EINVAL, 0, "overflows"},
		{"-1:a", -EINVAL, 0, "negative string length"},
		{"03:abc", -EINVAL, 0, "leading zero"},
		{"00:", -EINVAL, 0, "leading zero"},
		{"5:abc", -EINVAL, 0, "runs past end"},
		{"d3:key5:abce", -EINVAL, 6, "runs past end"},
		{"99999999999:x", -EINVAL, 0, "exceeds 65536"},
		{"65537:", -EINVAL, 0, "exceeds 65536"},
		{"18446744073709551617:", -EINVAL, 0, "exceeds"},
		{"3abc", -EINVAL, 1, "in string length"},
		{"12", -EINVAL, 0, "not followed by ':'"},
		{"l", -EINVAL, 0, "list not closed"},
		{"li1e", -EINVAL, 0, "list not closed"},
		{"d3:keyi1e", -EINVAL, 0, "dictionary not closed"},
		{"ld", -EINVAL, 1, "dictionary not closed"},
		{"di1ei2ee", -EINVAL, 1, "key must be a byte string"},
		{"dli1eei2ee", -EINVAL, 1, "key must be a byte string"},
		{"d1:ae", -EINVAL, 4, "has no value"},
		{"d1:a", -EINVAL, 4, "has no value"},
		{"d1:ai1e1:ai2ee", -EINVAL, 7, "duplicate dictionary key 'a'"},
		{"x", -EINVAL, 0, "unexpected byte 0x78 where a value starts"},
		{"e", -EINVAL, 0, "where a value starts"},
		{"lxe", -EINVAL, 1, "where a value starts"},
		{"i1ei2e", -EINVAL, 3, "3 bytes of trailing garbage"},
		{"de ", -EINVAL, 2, "trailing garbage"},
	};
	struct bencode_err err;
	struct bencode *root;
	char msg[160];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&err, 0, sizeof(err));
		int rc = decode(bad[i].in, &root, &err);

		if (rc != bad[i].rc || !strstr(err.msg, bad[i].why) || err.off != bad[i].off)
			fail_msg("'%s': rc %d, offset %zu, '%s'; expected %d, %zu, '%s'", bad[i].in,
				 rc, err.off, err.msg, bad[i].rc, bad[i].off, bad[i].why);
		assert_null(root);
	}
	/* The sentence callers log. */
	decode("5:abc", &root, &err);
	assert_string_equal(bencode_err_str(&err, msg, sizeof(msg)),
			    "offset 0: string length 5 runs past end (3 bytes left)");
	/* err may be NULL. */
	assert_int_equal(decode("i-0e", &root, NULL), -EINVAL);
}

static void nesting_limit(void **state)
{
	char deep[2 * BENCODE_MAX_DEPTH + 8];
	struct bencode_err err;
	struct bencode *root;
	size_t n = 0;

	/* Exactly BENCODE_MAX_DEPTH levels is fine... */
	for (int i = 0; i < BENCODE_MAX_DEPTH; i++)
		deep[n++] = 'l';
	for (int i = 0; i < BENCODE_MAX_DEPTH; i++)
		deep[n++] = 'e';
	deep[n] = 0;
	assert_int_equal(decode(deep, &root, &err), 0);
	/* ...one more is refused, at the offset of the list too many. */
	n = 0;
	for (int i = 0; i <= BENCODE_MAX_DEPTH; i++)
		deep[n++] = 'l';
	for (int i = 0; i <= BENCODE_MAX_DEPTH; i++)
		deep[n++] = 'e';
	deep[n] = 0;
	assert_int_equal(decode(deep, &root, &err), -ELOOP);
	assert_int_equal(err.off, BENCODE_MAX_DEPTH);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	/* A megabyte of '[' costs nothing but the same refusal. */
	{
		size_t big = 1 << 20;
		uint8_t *p = malloc(big);

		assert_non_null(p);
		memset(p, 'l', big);
		assert_int_equal(bencode_decode(p, big, nodes, NODES, &root, &err), -ELOOP);
		free(p);
	}
}

static void node_budget(void **state)
{
	struct bencode small[3];
	struct bencode_err err;
	struct bencode *root;

	assert_int_equal(bencode_decode((const uint8_t *)"li1ei2ee", 8, small, 3, &root, &err), 0);
	assert_int_equal(bencode_decode((const uint8_t *)"li1ei2ei3ee", 11, small, 3, &root, &err),
			 -ENOBUFS);
	assert_non_null(strstr(err.msg, "more than 3 values"));
	assert_int_equal(bencode_decode((const uint8_t *)"i1e", 3, small, 0, &root, &err),
			 -ENOBUFS);
}

/* Every proper prefix of a valid message is refused, and nothing reads past it. */
static void truncation_at_every_byte(void **state)
{
	size_t len = strlen(offer);
	struct bencode_err err;
	struct bencode *root;

	for (size_t cut = 0; cut < len; cut++) {
		/* A fresh heap copy of exactly `cut` bytes: ASan catches any over-read. */
		uint8_t *p = malloc(cut ? cut : 1);

		assert_non_null(p);
		memcpy(p, offer, cut);
		int rc = bencode_decode(p, cut, nodes, NODES, &root, &err);

		if (rc != -EINVAL)
			fail_msg("prefix of %zu bytes: rc %d", cut, rc);
		assert_true(err.off <= cut);
		free(p);
	}
}

static void parse_leaves_trailing_bytes(void **state)
{
	struct bencode *root;

	assert_int_equal(bencode_parse((const uint8_t *)"i5eXYZ", 6, nodes, NODES, &root, NULL), 3);
	assert_int_equal(root->i, 5);
	assert_int_equal(bencode_parse((const uint8_t *)"4:spamd", 7, nodes, NODES, &root, NULL),
			 6);
}

static void str_copy(void **state)
{
	struct bencode *root;
	char buf[4];

	assert_int_equal(decode("3:abc", &root, NULL), 0);
	assert_int_equal(bencode_str_copy(root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(bencode_str_copy(root, buf, 3), -ENAMETOOLONG);
	assert_int_equal(bencode_decode((const uint8_t *)"3:a\0c", 5, nodes, NODES, &root, NULL),
			 0);
	assert_int_equal(bencode_str_copy(root, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(decode("i1e", &root, NULL), 0);
	assert_int_equal(bencode_str_copy(root, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(bencode_str_copy(NULL, buf, sizeof(buf)), -ENOENT);
}

static void encode_round_trip(void **state)
{
	uint8_t mem[256];
	struct bencode_buf b;
	struct bencode *root;
	ssize_t n;

	bencode_buf_init(&b, mem, sizeof(mem));
	bencode_put_dict(&b);
	bencode_put_kv_str(&b, "command", "ping");
	bencode_put_str(&b, "flags");
	bencode_put_list(&b);
	bencode_put_str(&b, "a");
	bencode_put_int(&b, INT64_MIN);
	bencode_put_int(&b, 0);
	bencode_put_end(&b);
	bencode_put_kv_int(&b, "n", -12);
	bencode_put_str(&b, "raw");
	bencode_put_raw(&b, "le", 2);
	bencode_put_end(&b);
	n = bencode_buf_finish(&b);
	static const char want[] =
		"d7:command4:ping5:flagsl1:ai-9223372036854775808ei0ee1:ni-12e3:rawlee";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(mem, want, (size_t)n);
	assert_int_equal(bencode_decode(mem, (size_t)n, nodes, NODES, &root, NULL), 0);
	assert_int_equal(bencode_dict_get(root, "n")->i, -12);
	assert_true(bencode_list_at(bencode_dict_get(root, "flags"), 1)->i == INT64_MIN);
}

static void encode_errors(void **state)
{
	uint8_t mem[8];
	struct bencode_buf b;

	/* Out of space: sticky, nothing past cap is written. */
	bencode_buf_init(&b, mem, sizeof(mem));
	bencode_put_str(&b, "abcdef"); /* "6:abcdef" = 8 bytes: fits exactly */
	assert_int_equal(bencode_buf_finish(&b), 8);
	bencode_put_int(&b, 1);
	assert_int_equal(bencode_buf_finish(&b), -ENOSPC);
	bencode_put_str(&b, "");
	assert_int_equal(b.len, 8);
	assert_int_equal(bencode_buf_finish(&b), -ENOSPC);

	/* Unbalanced. */
	bencode_buf_init(&b, mem, sizeof(mem));
	bencode_put_end(&b);
	assert_int_equal(bencode_buf_finish(&b), -EINVAL);
	bencode_buf_init(&b, mem, sizeof(mem));
	bencode_put_dict(&b);
	assert_int_equal(bencode_buf_finish(&b), -EINVAL);
}

static void encode_growable(void **state)
{
	struct bencode_buf b;
	struct bencode *root;
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	bencode_buf_init_dyn(&b, 1 << 16);
	bencode_put_list(&b);
	for (int i = 0; i < 10; i++)
		bencode_put_str(&b, big);
	bencode_put_end(&b);
	assert_true(bencode_buf_finish(&b) > 50000);
	assert_int_equal(bencode_decode(b.data, b.len, nodes, NODES, &root, NULL), 0);
	assert_int_equal(root->count, 10);
	/* Past max: -ENOSPC, not a bigger allocation. */
	for (int i = 0; i < 10; i++)
		bencode_put_str(&b, big);
	assert_int_equal(bencode_buf_finish(&b), -ENOSPC);
	assert_true(b.cap <= 1 << 16);
	bencode_buf_free(&b);
	bencode_buf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_offer),
		cmocka_unit_test(integers_and_empties),
		cmocka_unit_test(malformed_table),
		cmocka_unit_test(nesting_limit),
		cmocka_unit_test(node_budget),
		cmocka_unit_test(truncation_at_every_byte),
		cmocka_unit_test(parse_leaves_trailing_bytes),
		cmocka_unit_test(str_copy),
		cmocka_unit_test(encode_round_trip),
		cmocka_unit_test(encode_errors),
		cmocka_unit_test(encode_growable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
