/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * monotime: CLOCK_MONOTONIC readings for the layers that do I/O (the daemon's
 * event loop, the tools). The sans-I/O ICE agent never reads a clock: its
 * callers read one here and pass the value in, which is what lets the tests
 * drive it on a virtual clock. It is the clock of the fast path's last_seen_ns
 * (bpf_ktime_get_ns()) too.
 */
#ifndef ICEPATH_MONOTIME_H
#define ICEPATH_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotime_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer (clock_gettime(2)). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t monotime_us(void)
{
	return monotime_ns() / 1000u;
}

static inline uint64_t monotime_ms(void)
{
	return monotime_ns() / 1000000u;
}

static inline double monotime_s(void)
{
	return (double)monotime_ns() / 1e9;
}

#endif
