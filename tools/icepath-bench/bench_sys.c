// SPDX-License-Identifier: GPL-2.0-only
/* icepath-bench: clock, CPU pinning and own CPU time. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "icepath/monotime.h"

#include "bench.h"

int bench_sys_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		int err = -errno;

		fprintf(stderr, "icepath-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
		return err;
	}
	return 0;
}

void bench_sys_cpu(double *user_s, double *sys_s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
