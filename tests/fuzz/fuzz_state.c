// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the state-file parser (relay_state_parse: bytes ->
 * call records, no sockets): whatever the bytes, no crash, no read past
 * them, and every record handed on is one the apply step can trust
 * (a call-id, stream counts in bounds, streams only on legs given; in
 * version 2 learn/count fields only on streams given, ranks in 0-3; in
 * version 1 none; keys only on an SRTP-terminated leg, with a suite and
 * setup in range, version 2 only), and the stats add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_log.h"
#include "daemon/relay_state.h"
#include "icepath/sdes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_call(const struct relay_state_call *c, void *ctx)
{
	unsigned *n = ctx;

	if (!c->id[0] || strlen(c->id) >= sizeof(c->id) || c->latch > CALL_LATCH_HANDOVER ||
	    (c->version != 1 && c->version != 2))
		abort();
	for (unsigned side = 0; side < 2; side++) {
		const struct relay_state_leg *l = &c->legs[side];

		if (l->nstreams > CALL_MAX_STREAMS || (l->nstreams && !l->present))
			abort();
		if (l->keys.present &&
		    (c->version < 2 || l->crypto < 2 || l->crypto > 3 ||
		     l->keys.suite == SRTPCTX_SUITE_NONE || l->keys.suite >= SRTPCTX_SUITE_COUNT ||
		     l->keys.setup > 3 || l->keys.peer_tag > SDES_TAG_MAX ||
		     l->keys.local_tag > SDES_TAG_MAX))
			abort();
		for (unsigned i = 0; i < l->nstreams; i++) {
			const struct relay_state_stream *s = &l->streams[i];

			if (s->has_local && !netaddr_port(&s->local))
				abort();
			if (i + 1 == l->nstreams && !s->present)
				abort(); /* the count comes from the highest stream given */
			for (unsigned k = 0; k < CALL_NCOMP; k++) {
				const struct relay_state_comp *q = &s->comp[k];

				if ((q->has_learn || q->has_count) && (!s->present || c->version < 2))
					abort();
				if (q->learn_rank > 3 || q->latched_ms < 0 || q->learn_until_ms < 0 ||
				    (q->announced_set && !netaddr_port(&q->announced)))
					abort();
			}
		}
	}
	(*n)++;
	/* refusing some records must not disturb the parse of the rest */
	return (*n % 3) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_state_parse_stats st;
	unsigned n = 0;
	char *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees overreads */

	if (!copy)
		return 0;
	daemon_log_set_level(DAEMON_LOG_ERROR);
	memcpy(copy, data, size);
	if (relay_state_parse(copy, size, "fuzz", check_call, &n, &st) == 0 &&
	    (st.calls + st.bad < n || (st.version != 2 && (st.superseded || st.torn)) ||
	     (size && st.version != 1 && st.version != 2)))
		abort();
	free(copy);
	return 0;
}
