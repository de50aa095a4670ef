// SPDX-License-Identifier: GPL-2.0-only
/* icepath-bench: the flows file shared by `ng`, `send` and `recv`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_flows_append(struct bench_flows *fl, const struct bench_flow *f)
{
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 256;
		struct bench_flow *v = realloc(fl->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = *f;
	return 0;
}

void bench_flows_free(struct bench_flows *fl)
{
	if (!fl)
		return;
	free(fl->v);
	memset(fl, 0, sizeof(*fl));
}

int bench_flows_load(struct bench_flows *fl, const char *path, size_t max)
{
	char line[512], s_ssrc[16], s_src[80], s_dst[80], s_rcv[80], s_rel[80];
	struct bench_flow f;
	unsigned lineno = 0;
	int err = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (!fp) {
		err = -errno;
		fprintf(stderr, "icepath-bench: cannot open flows file %s: %s\n", path,
			strerror(errno));
		return err;
	}
	while (fgets(line, sizeof(line), fp) && (!max || fl->n < max)) {
		char *hash = strchr(line, '#'), *end;
		unsigned long ssrc;

		lineno++;
		if (hash)
			*hash = 0;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		memset(&f, 0, sizeof(f));
		if (sscanf(line, "%15s %79s %79s %79s %79s", s_ssrc, s_src, s_dst, s_rcv, s_rel) !=
		    5) {
			fprintf(stderr,
				"icepath-bench: %s:%u: expected 5 fields "
				"(ssrc src dst rcv relay_src)\n",
				path, lineno);
			err = -EINVAL;
			break;
		}
		errno = 0;
		ssrc = strtoul(s_ssrc, &end, 16);
		if (errno || *end || ssrc > UINT32_MAX || netaddr_parse(&f.src, s_src, -1) ||
		    netaddr_parse(&f.dst, s_dst, -1) || netaddr_parse(&f.rcv, s_rcv, -1) ||
		    (strcmp(s_rel, "-") && netaddr_parse(&f.relay_src, s_rel, -1))) {
			fprintf(stderr,
				"icepath-bench: %s:%u: bad SSRC (hex) or address "
				"(ip:port)\n",
				path, lineno);
			err = -EINVAL;
			break;
		}
		f.ssrc = (uint32_t)ssrc;
		err = bench_flows_append(fl, &f);
		if (err)
			break;
	}
	fclose(fp);
	if (!err && fl->n == 0) {
		fprintf(stderr, "icepath-bench: %s holds no flows\n", path);
		err = -ENOENT;
	}
	return err;
}

int bench_flows_save(const struct bench_flows *fl, const char *path)
{
	char a[NETADDR_STRLEN], b[NETADDR_STRLEN], c[NETADDR_STRLEN], d[NETADDR_STRLEN];
	FILE *fp = fopen(path, "w");
	int err = 0;

	if (!fp) {
		err = -errno;
		fprintf(stderr, "icepath-bench: cannot write %s: %s\n", path, strerror(errno));
		return err;
	}
	fprintf(fp, "# ssrc src dst rcv relay_src (icepath-bench flows)\n");
	for (size_t i = 0; i < fl->n; i++) {
		const struct bench_flow *f = &fl->v[i];

		fprintf(fp, "%08x %s %s %s %s\n", f->ssrc, netaddr_str(&f->src, a, sizeof(a)),
			netaddr_str(&f->dst, b, sizeof(b)), netaddr_str(&f->rcv, c, sizeof(c)),
			netaddr_family(&f->relay_src) ? netaddr_str(&f->relay_src, d, sizeof(d))
						      : "-");
	}
	if (fclose(fp) != 0) {
		err = -errno;
		fprintf(stderr, "icepath-bench: cannot write %s: %s\n", path, strerror(errno));
	}
	return err;
}
