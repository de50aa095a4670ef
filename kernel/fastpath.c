// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath: load, pin, attach and detach the XDP fast path
 * (bpf/icepath.bpf.c through its skeleton). Flows and counters are in
 * fastpath_flow.c.
 *
 * Pinned layout under the pin path (a bpffs directory):
 *   flows, flow_ctr, meta, stats,      the maps (re-used by the next open)
 *   tx_ports
 *   prog                               the program last attached
 *   link-IFNAME                        one XDP bpf_link per attached interface
 * The links keep the program attached after the daemon exits; the next
 * fastpath_attach() swaps in its own program with bpf_link_update(), which
 * is atomic: no packet sees an interface without the program.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>

#include "fastpath_int.h"
#include "icepath.skel.h"

/* Process-wide like libbpf's own print hook: the library has no context
 * object in fastpath_destroy() or before fastpath_open() succeeds. */
static fastpath_log_fn log_fn;
static void *log_ctx;

void fastpath_set_logger(fastpath_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void fastpath_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, msg, log_ctx);
	else
		fprintf(stderr, "icepath: fastpath: %s\n", msg);
}

/* libbpf's warnings go to the same place, one log line per text line: the
 * verifier log arrives as one message of thousands of lines. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg, *line, *save = NULL;
	va_list ap2;
	int n;

	if (level != LIBBPF_WARN)
		return 0;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return 0;
	msg = malloc(n + 1);
	if (!msg)
		return 0;
	vsnprintf(msg, n + 1, fmt, ap);
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fastpath_log(LOG_WARNING, "%s", line);
	free(msg);
	return 0;
}

const char *fastpath_xdp_mode_str(enum fastpath_xdp_mode m)
{
	switch (m) {
	case FASTPATH_XDP_NATIVE:
		return "native";
	case FASTPATH_XDP_GENERIC:
		return "generic";
	case FASTPATH_XDP_OFF:
		return "off";
	}
	return "?";
}

int fastpath_fd_flows(const struct fastpath *fp)
{
	return bpf_map__fd(fp->skel->maps.flows);
}

int fastpath_fd_flow_ctr(const struct fastpath *fp)
{
	return bpf_map__fd(fp->skel->maps.flow_ctr);
}

int fastpath_fd_stats(const struct fastpath *fp)
{
	return bpf_map__fd(fp->skel->maps.stats);
}

int fastpath_fd_meta(const struct fastpath *fp)
{
	return bpf_map__fd(fp->skel->maps.meta);
}

/* The pin directory's parent must be a bpffs; mount one there if it is not
 * (a fresh boot without systemd's /sys/fs/bpf mount). */
static int ensure_pin_dir(const char *pin_path)
{
	char parent[PATH_MAX];
	struct statfs st;
	char *slash;
	int err;

	snprintf(parent, sizeof(parent), "%s", pin_path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		fastpath_log(LOG_ERR,
			     "pin path '%s' must be a directory under a bpffs mount, "
			     "e.g. %s",
			     pin_path, FASTPATH_PIN_PATH_DEFAULT);
		return -EINVAL;
	}
	*slash = '\0';
	if (statfs(parent, &st)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot use pin path %s: %s: %s", pin_path, parent,
			     strerror(-err));
		return err;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
			err = -errno;
			fastpath_log(LOG_ERR,
				     "%s is not a bpffs and mounting one failed: %s; "
				     "mount it ('mount -t bpf bpf %s') or choose another pin path",
				     parent, strerror(-err), parent);
			return err;
		}
		/* Under 'ip netns exec' (a private mount namespace) this mount
		 * and the pins in it end with the process. */
		fastpath_log(LOG_INFO,
			     "mounted bpffs on %s (pins last as long as this mount "
			     "namespace: under 'ip netns exec' that is this process; "
			     "use 'nsenter --net=/run/netns/NAME' to keep the host's)",
			     parent);
	}
	if (mkdir(pin_path, 0700) && errno != EEXIST) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot create pin directory %s: %s", pin_path,
			     strerror(-err));
		return err;
	}
	return 0;
}

static int pin_file(const struct fastpath *fp, char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", fp->pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* libbpf re-uses a pinned map when type, sizes and flags match, and
 * pins a new one otherwise; internal maps (.rodata) are never pinned, so a
 * new load always gets its own knobs. The devmap is the exception: the
 * kernel adds BPF_F_RDONLY_PROG to every devmap (and refuses it from the
 * object), so libbpf's check would always see a mismatch; it is re-used by
 * hand (reuse_devmap) and pinned after load (pin_devmap). */
static int set_pin_paths(struct fastpath *fp)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, fp->skel->obj)
	{
		if (bpf_map__is_internal(map) || map == fp->skel->maps.tx_ports)
			continue;
		err = pin_file(fp, path, sizeof(path), bpf_map__name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err) {
			fastpath_log(LOG_ERR, "cannot set pin path for map %s under %s: %s",
				     bpf_map__name(map), fp->pin_path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* 1 when a pinned devmap was taken over, 0 when there was none. */
static int reuse_devmap(struct fastpath *fp)
{
	struct bpf_map *map = fp->skel->maps.tx_ports;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	err = pin_file(fp, path, sizeof(path), bpf_map__name(map));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err && (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map)))
		err = -EINVAL;
	if (!err)
		err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (err) {
		fastpath_log(LOG_ERR, "cannot re-use the pinned map %s: %s", path, strerror(-err));
		return err;
	}
	return 1;
}

static int pin_devmap(struct fastpath *fp)
{
	struct bpf_map *map = fp->skel->maps.tx_ports;
	char path[PATH_MAX];
	int err;

	err = pin_file(fp, path, sizeof(path), bpf_map__name(map));
	if (!err && access(path, F_OK) == 0)
		return 0;
	if (!err)
		err = bpf_map__pin(map, path);
	if (err)
		fastpath_log(LOG_ERR, "cannot pin map %s: %s", path, strerror(-err));
	return err;
}

static int pinned_maps_exist(const struct fastpath *fp)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, fp->skel->obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		if (!pin_file(fp, path, sizeof(path), bpf_map__name(map)) &&
		    access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

int fastpath_open(struct fastpath **out, const struct fastpath_opts *o)
{
	const char *pin = o && o->pin_path ? o->pin_path : FASTPATH_PIN_PATH_DEFAULT;
	struct fastpath *fp;
	int err, reused;

	*out = NULL;
	if (!o || o->port_min == 0 || o->port_min > o->port_max) {
		fastpath_log(LOG_ERR, "invalid media port range %u-%u: need 1 <= min <= max",
			     o ? o->port_min : 0, o ? o->port_max : 0);
		return -EINVAL;
	}
	if (o->mode != FASTPATH_XDP_NATIVE && o->mode != FASTPATH_XDP_GENERIC &&
	    o->mode != FASTPATH_XDP_OFF) {
		fastpath_log(LOG_ERR, "invalid XDP mode %d", (int)o->mode);
		return -EINVAL;
	}
	if (strlen(pin) >= sizeof(fp->pin_path) - 32) {
		fastpath_log(LOG_ERR, "pin path too long: %s", pin);
		return -ENAMETOOLONG;
	}
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	snprintf(fp->pin_path, sizeof(fp->pin_path), "%s", pin);
	fp->mode = o->mode;
	fp->ncpus = libbpf_num_possible_cpus();
	if (fp->ncpus <= 0) {
		err = fp->ncpus ? fp->ncpus : -EINVAL;
		fastpath_log(LOG_ERR, "cannot count possible CPUs: %s", strerror(-err));
		goto err_free;
	}
	libbpf_set_print(libbpf_print);

	err = ensure_pin_dir(fp->pin_path);
	if (err)
		goto err_free;

	fp->skel = icepath__open();
	if (!fp->skel) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot open the embedded BPF object: %s", strerror(-err));
		goto err_free;
	}
	fp->skel->rodata->port_min = o->port_min;
	fp->skel->rodata->port_max = o->port_max;
	err = set_pin_paths(fp);
	if (err)
		goto err_destroy;
	reused = pinned_maps_exist(fp);
	err = reuse_devmap(fp);
	if (err < 0)
		goto err_destroy;
	err = icepath__load(fp->skel);
	if (err) {
		if (reused)
			fastpath_log(LOG_ERR,
				     "cannot re-use the maps pinned under %s (%s): they were "
				     "made by another icepath build; remove them with "
				     "'icepath-fpctl --pin %s destroy' (installed flows are lost)",
				     fp->pin_path, strerror(-err), fp->pin_path);
		else
			fastpath_log(LOG_ERR,
				     "cannot load the XDP program: %s (libbpf's messages "
				     "above say why; BPF needs root or CAP_BPF+CAP_NET_ADMIN)",
				     strerror(-err));
		goto err_destroy;
	}
	err = pin_devmap(fp);
	if (err)
		goto err_destroy;
	err = fastpath_slot_open(fp);
	if (err)
		goto err_destroy;
	fastpath_log(LOG_INFO, "%s maps under %s, media ports %u-%u",
		     reused ? "re-opened pinned" : "created", fp->pin_path, o->port_min,
		     o->port_max);
	*out = fp;
	return 0;

err_destroy:
	icepath__destroy(fp->skel);
err_free:
	free(fp);
	return err;
}

void fastpath_close(struct fastpath *fp)
{
	if (!fp)
		return;
	fastpath_slot_close(fp);
	icepath__destroy(fp->skel);
	free(fp);
}

static int link_pin(const struct fastpath *fp, const char *ifname, char *buf, size_t len)
{
	char name[IF_NAMESIZE + 8];

	snprintf(name, sizeof(name), "link-%s", ifname);
	return pin_file(fp, buf, len, name);
}

static enum fastpath_xdp_mode query_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return FASTPATH_XDP_OFF;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
	case XDP_ATTACHED_HW:
		return FASTPATH_XDP_NATIVE;
	case XDP_ATTACHED_SKB:
		return FASTPATH_XDP_GENERIC;
	}
	return FASTPATH_XDP_OFF;
}

/* bpf_fib_lookup() refuses to route for an interface without forwarding
 * (every packet would become pass-fwd-off): say so at attach time. */
static void check_forwarding(const char *ifname)
{
	static const char *const fmt[] = {"/proc/sys/net/ipv4/conf/%s/forwarding",
					  "/proc/sys/net/ipv6/conf/%s/forwarding"};
	char path[128];
	unsigned i;
	int c;
	FILE *f;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), fmt[i], ifname);
		f = fopen(path, "r");
		if (!f)
			continue;
		c = fgetc(f);
		fclose(f);
		if (c == '0')
			fastpath_log(
				LOG_WARNING,
				"%s forwarding is off on %s: the XDP fast path cannot route "
				"from it and passes its media to userspace (stat pass-fwd-off); "
				"enable it with 'sysctl -w net.%s.conf.%s.forwarding=1'",
				i ? "IPv6" : "IPv4", ifname, i ? "ipv6" : "ipv4", ifname);
	}
}

/* The link pinned for ifname, if it still holds that interface. */
static int existing_link(const char *path, int ifindex)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP ||
	    (int)info.xdp.ifindex != ifindex) {
		/* The interface went away (or was re-created): stale. */
		close(fd);
		unlink(path);
		return -ENOENT;
	}
	return fd;
}

/* One attach attempt: the link fd or -errno. */
static int try_link(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);

	return fd >= 0 ? fd : -errno;
}

static int create_link(struct fastpath *fp, const char *ifname, int ifindex, int prog_fd,
		       enum fastpath_xdp_mode *got)
{
	int fd;

	if (fp->mode == FASTPATH_XDP_NATIVE) {
		fd = try_link(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		*got = FASTPATH_XDP_NATIVE;
		if (fd >= 0 || fd == -EBUSY || fd == -EEXIST)
			goto out;
		fastpath_log(LOG_WARNING,
			     "native XDP on %s failed (%s: driver support missing?); falling back "
			     "to generic (skb) mode: forwarding works, slower",
			     ifname, strerror(-fd));
	}
	fd = try_link(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
	*got = FASTPATH_XDP_GENERIC;
	if (fd >= 0 || fd == -EBUSY || fd == -EEXIST)
		goto out;
	fastpath_log(LOG_ERR,
		     "cannot attach XDP to %s in %s mode: %s; run with --xdp off to "
		     "use the userspace path only",
		     ifname, fp->mode == FASTPATH_XDP_NATIVE ? "native or generic" : "generic",
		     strerror(-fd));
	return fd;
out:
	if (fd >= 0)
		return fd;
	fastpath_log(LOG_ERR,
		     "cannot attach XDP to %s: it already has an XDP program that "
		     "icepath did not attach under %s; remove it ('ip link set dev %s xdp off') "
		     "or use another interface",
		     ifname, fp->pin_path, ifname);
	return -EBUSY;
}

int fastpath_attach(struct fastpath *fp, const char *ifname, enum fastpath_xdp_mode *got)
{
	char path[PATH_MAX], prog_path[PATH_MAX];
	enum fastpath_xdp_mode mode = FASTPATH_XDP_OFF;
	int ifindex, prog_fd, fd, err;
	__u32 key, val;

	if (got)
		*got = FASTPATH_XDP_OFF;
	if (fp->mode == FASTPATH_XDP_OFF) {
		fastpath_log(LOG_INFO,
			     "XDP off: %s not attached, its media takes the userspace path",
			     ifname);
		return 0;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fastpath_log(LOG_ERR,
			     "cannot attach XDP to %s: no such interface in this network "
			     "namespace",
			     ifname);
		return -ENODEV;
	}
	err = link_pin(fp, ifname, path, sizeof(path));
	if (!err)
		err = pin_file(fp, prog_path, sizeof(prog_path), "prog");
	if (err) {
		fastpath_log(LOG_ERR, "cannot attach XDP to %s: pin path too long", ifname);
		return err;
	}
	prog_fd = bpf_program__fd(fp->skel->progs.icepath_xdp);

	/* The devmap entry first: the moment the program runs here, packets
	 * routed out of this interface can be redirected to it. */
	key = val = ifindex;
	if (bpf_map_update_elem(bpf_map__fd(fp->skel->maps.tx_ports), &key, &val, BPF_ANY)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot add %s to the redirect map: %s", ifname,
			     strerror(-err));
		return err;
	}

	fd = existing_link(path, ifindex);
	if (fd >= 0) {
		if (bpf_link_update(fd, prog_fd, NULL)) {
			err = -errno;
			fastpath_log(LOG_ERR, "cannot replace the XDP program on %s: %s", ifname,
				     strerror(-err));
			close(fd);
			return err;
		}
		mode = query_mode(ifindex);
		fastpath_log(LOG_INFO, "XDP on %s (%s mode) replaced by this program", ifname,
			     fastpath_xdp_mode_str(mode));
	} else {
		fd = create_link(fp, ifname, ifindex, prog_fd, &mode);
		if (fd < 0) {
			err = fd;
			goto err_devmap;
		}
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			fastpath_log(LOG_ERR, "cannot pin the XDP link of %s at %s: %s", ifname,
				     path, strerror(-err));
			bpf_link_detach(fd);
			close(fd);
			goto err_devmap;
		}
		fastpath_log(LOG_INFO, "XDP attached to %s in %s mode", ifname,
			     fastpath_xdp_mode_str(mode));
	}
	close(fd);

	/* Best effort: the program pin is for people (bpftool), the links
	 * hold the program. */
	unlink(prog_path);
	if (bpf_obj_pin(prog_fd, prog_path))
		fastpath_log(LOG_WARNING, "cannot pin the program at %s: %s", prog_path,
			     strerror(errno));
	check_forwarding(ifname);
	if (got)
		*got = mode;
	return 0;

err_devmap:
	bpf_map_delete_elem(bpf_map__fd(fp->skel->maps.tx_ports), &key);
	return err;
}

int fastpath_detach(struct fastpath *fp, const char *ifname)
{
	char path[PATH_MAX];
	int fd, err, ifindex;
	__u32 key;

	if (link_pin(fp, ifname, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		fastpath_log(LOG_ERR,
			     "cannot detach XDP from %s: no icepath attachment under %s (%s)",
			     ifname, fp->pin_path, strerror(-err));
		return err;
	}
	err = bpf_link_detach(fd) ? -errno : 0;
	close(fd);
	if (err && err != -ENOLINK) {
		fastpath_log(LOG_ERR, "cannot detach XDP from %s: %s", ifname, strerror(-err));
		return err;
	}
	unlink(path);
	ifindex = if_nametoindex(ifname);
	if (ifindex) {
		key = ifindex;
		bpf_map_delete_elem(bpf_map__fd(fp->skel->maps.tx_ports), &key);
	}
	fastpath_log(LOG_INFO, "XDP detached from %s", ifname);
	return 0;
}

int fastpath_destroy(const char *pin_path)
{
	const char *pin = pin_path ? pin_path : FASTPATH_PIN_PATH_DEFAULT;
	struct dirent *de;
	int dfd, fd, err = 0;
	DIR *dir;

	dir = opendir(pin);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		fastpath_log(LOG_ERR, "cannot open pin directory %s: %s", pin, strerror(-err));
		return err;
	}
	dfd = dirfd(dir);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, "link-", 5)) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/%s", pin, de->d_name);
			fd = bpf_obj_get(path);
			/* Detach explicitly: a link may be held open elsewhere. */
			if (fd >= 0) {
				if (bpf_link_detach(fd) && errno != ENOLINK)
					fastpath_log(LOG_WARNING, "cannot detach %s: %s", path,
						     strerror(errno));
				close(fd);
			}
		}
		if (unlinkat(dfd, de->d_name, 0)) {
			err = -errno;
			fastpath_log(LOG_ERR, "cannot remove %s/%s: %s", pin, de->d_name,
				     strerror(-err));
		}
	}
	closedir(dir);
	if (rmdir(pin) && !err) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot remove pin directory %s: %s", pin, strerror(-err));
	}
	return err;
}
