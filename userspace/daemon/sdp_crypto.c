// SPDX-License-Identifier: GPL-2.0-only
/* sdp_crypto: what a peer's SDP says about its media encryption (see sdp_rewrite.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sdp_rewrite.h"

bool sdp_proto_is_dtls(const char *proto)
{
	return !strcmp(proto, "UDP/TLS/RTP/SAVP") || !strcmp(proto, "UDP/TLS/RTP/SAVPF");
}

bool sdp_proto_is_srtp(const char *proto)
{
	return !strcmp(proto, "RTP/SAVP") || !strcmp(proto, "RTP/SAVPF");
}

bool sdp_proto_is_rtp(const char *proto)
{
	return !strcmp(proto, "RTP/AVP") || !strcmp(proto, "RTP/AVPF") ||
	       sdp_proto_is_srtp(proto) || sdp_proto_is_dtls(proto);
}

/* a=fingerprint of section s, appended to d; -EINVAL for a value too long
 * to be any hash dtls.h knows. */
static int take_fingerprints(const struct sdp_section *s, struct sdp_crypto_desc *d, char *err,
			     size_t errlen)
{
	int i = -1;

	while ((i = sdp_attr_find(s, "fingerprint", (size_t)(i + 1))) >= 0) {
		const char *v = sdp_attr_value(&s->lines[i]);

		if (strlen(v) >= DTLS_FINGERPRINT_STRLEN) {
			snprintf(err, errlen, "a=fingerprint is %zu bytes, longer than any hash",
				 strlen(v));
			return -EINVAL;
		}
		if (d->n_fingerprint < DTLS_FINGERPRINTS_MAX)
			snprintf(d->fingerprint[d->n_fingerprint++], DTLS_FINGERPRINT_STRLEN, "%s",
				 v);
	}
	return 0;
}

static int take_setup(const struct sdp_section *s, struct sdp_crypto_desc *d, char *err,
		      size_t errlen)
{
	const char *v = sdp_attr_get(s, "setup");

	if (!v || d->has_setup)
		return 0;
	if (dtls_setup_parse(v, &d->setup)) {
		snprintf(err, errlen, "a=setup:%.32s is not actpass, active, passive or holdconn",
			 v);
		return -EINVAL;
	}
	d->has_setup = true;
	return 0;
}

int sdp_crypto_extract(const struct sdp *sdp, size_t idx, struct sdp_crypto_desc *d, char *err,
		       size_t errlen)
{
	const struct sdp_section *s = sdp_section_const(sdp, (int)idx);
	const struct sdp_section *ses = sdp_section_const(sdp, -1);
	struct sdp_mline m;
	const char *mid;
	char why[160];
	int i = -1, ret;

	memset(d, 0, sizeof(*d));
	if (!s)
		return -EINVAL;
	if (sdp_mline_parse(s->lines[0].value, &m, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	snprintf(d->proto, sizeof(d->proto), "%s", m.proto);
	/* RFC 8122 §5 / RFC 4145 §4: media level wins, session level applies
	 * to every section that has none */
	ret = take_fingerprints(s, d, err, errlen);
	if (!ret && !d->n_fingerprint)
		ret = take_fingerprints(ses, d, err, errlen);
	if (!ret)
		ret = take_setup(s, d, err, errlen);
	if (!ret)
		ret = take_setup(ses, d, err, errlen);
	if (ret)
		return ret;
	/* RFC 4568 §5.1.1: a=crypto is media level only */
	while ((i = sdp_attr_find(s, "crypto", (size_t)(i + 1))) >= 0) {
		const char *v = sdp_attr_value(&s->lines[i]);
		struct sdes_crypto c;

		ret = sdes_parse(v, strlen(v), &c, why, sizeof(why));
		if (ret == -EPROTONOSUPPORT) {
			d->crypto_skipped++;
			continue;
		}
		if (ret) {
			snprintf(err, errlen, "a=crypto: %s", why);
			return -EINVAL;
		}
		if (d->n_crypto < SDP_CRYPTO_MAX)
			d->crypto[d->n_crypto++] = c;
		else
			d->crypto_skipped++;
	}
	d->rtcp_mux = sdp_attr_find(s, "rtcp-mux", 0) >= 0;
	mid = sdp_attr_get(s, "mid");
	if (mid && strlen(mid) < sizeof(d->mid))
		snprintf(d->mid, sizeof(d->mid), "%s", mid);
	return 0;
}
