/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fuzz input read as a sequence of records, so one input can drive a
 * state machine through many datagrams:
 *
 *   +----------+-----------------+---------------------+
 *   | selector | length (16, BE) | length bytes        |
 *   +----------+-----------------+---------------------+
 *
 * A length past the input (or past the caller's buffer) is cut to fit.
 */
#ifndef ICEPATH_FUZZ_RECORDS_H
#define ICEPATH_FUZZ_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copy the next record's bytes into buf; false when the input is used up. */
static inline bool fuzz_next_record(const uint8_t **data, size_t *size, uint8_t *sel,
				    uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;

	if (*size < 3)
		return false;
	*sel = (*data)[0];
	n = (size_t)(*data)[1] << 8 | (*data)[2];
	*data += 3;
	*size -= 3;
	if (n > *size)
		n = *size;
	if (n > cap)
		n = cap;
	memcpy(buf, *data, n);
	*data += n;
	*size -= n;
	*len = n;
	return true;
}

#endif
