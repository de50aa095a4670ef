// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the DTLS entry point (dtls.c): a fresh passive
 * endpoint per input, fed the input as datagrams (a sequence of 2-byte
 * big-endian lengths and bytes; input that is not such a sequence is one
 * datagram), with its timer fired in between. Whatever comes in, no key
 * may ever come out: the endpoint pins a fingerprint nobody can forge.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icepath/dtls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One certificate for the whole run: making a key per input is slow. */
static struct dtls_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	if (dtls_ctx_generate(&ctx, err, sizeof(err)))
		abort();
	return 0;
}

static bool framed(const uint8_t *d, size_t n)
{
	size_t i = 0;

	while (i + 2 <= n) {
		size_t l = (size_t)d[i] << 8 | d[i + 1];

		if (!l || i + 2 + l > n)
			return false;
		i += 2 + l;
	}
	return i == n && n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dtls_config cfg = {.role = DTLS_ROLE_PASSIVE};
	uint8_t out[DTLS_DATAGRAM_MAX];
	struct dtls_srtp_keys k;
	struct dtls_event ev;
	uint64_t now = 1000;
	struct dtls *d;

	if (dtls_new(&d, ctx, &cfg))
		abort();
	/* a fingerprint of all zeros: no certificate hashes to it */
	if (dtls_add_remote_fingerprint(d, "sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
					   "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"))
		abort();
	if (framed(data, size)) {
		for (size_t i = 0; i < size;) {
			size_t l = (size_t)data[i] << 8 | data[i + 1];

			dtls_input(d, now, data + i + 2, l);
			i += 2 + l;
			now += 100;
			dtls_tick(d, now);
			while (dtls_poll_transmit(d, out, sizeof(out)) > 0)
				;
		}
	} else {
		dtls_input(d, now, data, size);
	}
	while (dtls_poll_transmit(d, out, sizeof(out)) > 0)
		;
	while (dtls_poll_event(d, &ev))
		if (ev.type == DTLS_EVENT_CONNECTED)
			abort();
	if (dtls_srtp_keys(d, &k) == 0)
		abort();
	dtls_free(d);
	return 0;
}
