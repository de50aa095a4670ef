// SPDX-License-Identifier: GPL-2.0-only
/* rtpstat: RTP fixed header and per-flow sequence accounting (see rtpstat.h). */
#include <errno.h>
#include <string.h>

#include "icepath/compiler.h"
#include "icepath/rtpstat.h"

int rtpstat_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h, const char **why)
{
	size_t need;

	if (len < RTP_HDR_LEN) {
		if (why)
			*why = "shorter than the 12-byte RTP fixed header";
		return -EMSGSIZE;
	}
	if ((buf[0] >> 6) != RTP_VERSION) {
		if (why)
			*why = "RTP version is not 2";
		return -EPROTO;
	}
	h->csrc_count = buf[0] & 0x0f;
	/* RFC 3550 §5.1: CC CSRC identifiers of 32 bits follow the fixed header. */
	need = RTP_HDR_LEN + 4u * h->csrc_count;
	if (len < need) {
		if (why)
			*why = "CSRC list runs past the end of the packet";
		return -EMSGSIZE;
	}
	h->marker = buf[1] >> 7;
	h->pt = buf[1] & 0x7f;
	h->seq = (uint16_t)(buf[2] << 8 | buf[3]);
	h->ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	h->ssrc =
		(uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
	return 0;
}

void rtpstat_write(uint8_t *buf, const struct rtp_hdr *h)
{
	buf[0] = RTP_VERSION << 6;
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	buf[2] = h->seq >> 8;
	buf[3] = h->seq & 0xff;
	buf[4] = h->ts >> 24;
	buf[5] = (h->ts >> 16) & 0xff;
	buf[6] = (h->ts >> 8) & 0xff;
	buf[7] = h->ts & 0xff;
	buf[8] = h->ssrc >> 24;
	buf[9] = (h->ssrc >> 16) & 0xff;
	buf[10] = (h->ssrc >> 8) & 0xff;
	buf[11] = h->ssrc & 0xff;
}

static const char *const rtpstat_verdict_names[] = {
	[RTPSTAT_NEW] = "new",
	[RTPSTAT_REORDERED] = "reordered",
	[RTPSTAT_DUPLICATE] = "duplicate",
	[RTPSTAT_TOO_OLD] = "too-old",
};

const char *rtpstat_verdict_str(enum rtpstat_verdict v)
{
	if ((size_t)v >= ARRAY_SIZE(rtpstat_verdict_names) || !rtpstat_verdict_names[v])
		return "?";
	return rtpstat_verdict_names[v];
}

void rtpstat_flow_init(struct rtpstat_flow *f, uint32_t ssrc)
{
	memset(f, 0, sizeof(*f));
	f->ssrc = ssrc;
}

static void seen_set(struct rtpstat_flow *f, int64_t ext)
{
	uint64_t bit = (uint64_t)ext % RTPSTAT_WINDOW;

	f->seen[bit / 64] |= 1ull << (bit % 64);
}

static bool seen_test(const struct rtpstat_flow *f, int64_t ext)
{
	uint64_t bit = (uint64_t)ext % RTPSTAT_WINDOW;

	return f->seen[bit / 64] >> (bit % 64) & 1;
}

static void seen_clear(struct rtpstat_flow *f, int64_t ext)
{
	uint64_t bit = (uint64_t)ext % RTPSTAT_WINDOW;

	f->seen[bit / 64] &= ~(1ull << (bit % 64));
}

enum rtpstat_verdict rtpstat_flow_add(struct rtpstat_flow *f, uint16_t seq)
{
	int64_t ext;

	f->received++;
	if (!f->started) {
		/*
		 * Start the extended numbers one cycle up, so a late packet
		 * from before the first one never goes below zero.
		 */
		f->started = true;
		f->base_ext = f->max_ext = 65536 + seq;
		seen_set(f, f->max_ext);
		f->unique++;
		return RTPSTAT_NEW;
	}
	/* RFC 3550 A.1: the nearest value to the highest seen, either way. */
	ext = f->max_ext + (int16_t)(uint16_t)(seq - (uint16_t)f->max_ext);
	if (ext > f->max_ext) {
		if (ext - f->max_ext >= RTPSTAT_WINDOW)
			memset(f->seen, 0, sizeof(f->seen));
		else
			for (int64_t e = f->max_ext + 1; e < ext; e++)
				seen_clear(f, e);
		f->max_ext = ext;
		seen_set(f, ext);
		f->unique++;
		return RTPSTAT_NEW;
	}
	if (f->max_ext - ext >= RTPSTAT_WINDOW) {
		/* Beyond the window: a late original or a duplicate, we cannot
		 * tell; count it as distinct only inside the span, so it never
		 * hides a loss it cannot prove was not one. */
		f->too_old++;
		if (ext >= f->base_ext && ext >= 0)
			f->unique++;
		return RTPSTAT_TOO_OLD;
	}
	if (ext >= f->base_ext && seen_test(f, ext)) {
		f->duplicates++;
		return RTPSTAT_DUPLICATE;
	}
	seen_set(f, ext);
	if (ext < f->base_ext)
		f->base_ext = ext;
	f->reordered++;
	f->unique++;
	return RTPSTAT_REORDERED;
}

uint64_t rtpstat_flow_expected(const struct rtpstat_flow *f)
{
	return f->started ? (uint64_t)(f->max_ext - f->base_ext + 1) : 0;
}

uint64_t rtpstat_flow_lost(const struct rtpstat_flow *f)
{
	uint64_t exp = rtpstat_flow_expected(f);

	return exp > f->unique ? exp - f->unique : 0;
}
