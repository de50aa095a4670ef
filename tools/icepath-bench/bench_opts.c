// SPDX-License-Identifier: GPL-2.0-only
/* icepath-bench: the options `send` and `recv` share, and strict numbers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int bench_opts_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int bench_opts_take(struct bench_opts *o, int c, const char *arg)
{
	double v;

	switch (c) {
	case 'f':
		o->flows = arg;
		return 1;
	case 'n':
		if (bench_opts_num(arg, 0, 1e6, &v) || v != (long)v)
			break;
		o->count = (long)v;
		return 1;
	case 'd':
		if (bench_opts_num(arg, 0.001, 3600, &v))
			break;
		o->duration = v;
		return 1;
	case 'c':
		if (bench_opts_num(arg, 0, 4095, &v) || v != (long)v)
			break;
		o->cpu = (long)v;
		return 1;
	default:
		return 0;
	}
	fprintf(stderr,
		"icepath-bench: bad value '%s' (--count 0..1000000, --duration "
		"0.001..3600 seconds, --cpu 0..4095)\n",
		arg);
	return -EINVAL;
}

int bench_opts_start(const struct bench_opts *o, const char *who, struct bench_flows *fl)
{
	int err;

	if (!o->flows) {
		fprintf(stderr, "icepath-bench %s: --flows FILE is required\n", who);
		return -EINVAL;
	}
	err = bench_flows_load(fl, o->flows, (size_t)o->count);
	if (!err)
		err = bench_sys_pin_cpu((int)o->cpu);
	return err;
}
