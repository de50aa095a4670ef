// SPDX-License-Identifier: GPL-2.0-only
/* fastpath_mem: kernel memory held by the fast path's maps (see fastpath.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "fastpath_int.h"
#include "icepath.skel.h"

/* The kernel charges a map's memory to "memlock" in its fdinfo (the
 * figure RLIMIT_MEMLOCK accounting used before 5.11, kept since): the
 * one number that covers every map type, per-CPU values included. */
static int map_memlock(int fd, uint64_t *bytes)
{
	char path[64], line[128];
	uint64_t v;
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1) {
			*bytes = v;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int fastpath_map_memory(struct fastpath *fp, uint64_t *bytes)
{
	struct bpf_map *map;
	uint64_t one = 0;
	int err;

	*bytes = 0;
	if (!fp)
		return -EINVAL;
	bpf_object__for_each_map(map, fp->skel->obj) {
		if (bpf_map__fd(map) < 0)
			continue;
		err = map_memlock(bpf_map__fd(map), &one);
		if (err)
			return err;
		*bytes += one;
	}
	return 0;
}
