// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the bencode decoder. Beyond "no crash, no over-read":
 * the decoder accepts only canonical integers and lengths and keeps key
 * order, so re-encoding an accepted value must give back the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(struct bencode_buf *b, const struct bencode *v)
{
	switch (v->type) {
	case BENCODE_INT:
		bencode_put_int(b, v->i);
		break;
	case BENCODE_STR:
		bencode_put_bytes(b, v->s.ptr, v->s.len);
		break;
	case BENCODE_LIST:
	case BENCODE_DICT:
		/* Depth is bounded by BENCODE_MAX_DEPTH, so recursion is too. */
		if (v->type == BENCODE_LIST)
			bencode_put_list(b);
		else
			bencode_put_dict(b);
		for (const struct bencode *c = v->child; c; c = c->next) {
			if (v->type == BENCODE_DICT)
				bencode_put_bytes(b, c->key, c->key_len);
			reencode(b, c);
		}
		bencode_put_end(b);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bencode nodes[512];
	struct bencode_err err;
	struct bencode *root;
	struct bencode_buf b;
	ssize_t n;

	n = bencode_parse(data, size, nodes, 512, &root, &err);
	if (n < 0) {
		if (root || err.off > size)
			abort();
		return 0;
	}
	if ((size_t)n > size || !root)
		abort();
	bencode_buf_init_dyn(&b, size + 64);
	reencode(&b, root);
	if (bencode_buf_finish(&b) != n || memcmp(b.data, data, (size_t)n))
		abort();
	bencode_buf_free(&b);
	return 0;
}
