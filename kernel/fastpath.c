// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath: load, pin, attach and detach the XDP fast path
 * (bpf/icepath.bpf.c through its skeleton). Flows and counters are in
 * fastpath_flow.c.
 *
 * Pinned layout under the pin path (a bpffs directory):
 *   flows, flow_ctr, meta, stats,      the maps (re-used by the next open)
 *   tx_ports
 *   prog, prog-generic                 the programs last attached (native, generic)
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
#include <time.h>
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

/* fastpath_fd_NAME(): the fd of map NAME, for the other files of the layer */
#define MAP_FD(name)                                        \
	int fastpath_fd_##name(const struct fastpath *fp) \
	{                                                   \
		return bpf_map__fd(fp->skel->maps.name);    \
	}
MAP_FD(flows)
MAP_FD(flow_lost)
MAP_FD(ports)
MAP_FD(flow_hot)
MAP_FD(port_nflows)
MAP_FD(port_addrs)
MAP_FD(flow_ctr)
MAP_FD(stats)
MAP_FD(meta)
MAP_FD(tx_ports)
#undef MAP_FD

const char *fastpath_flow_path_str(enum fastpath_flow_path p)
{
	switch (p) {
	case FASTPATH_PATH_IDLE:
		return "idle";
	case FASTPATH_PATH_NATIVE:
		return "native";
	case FASTPATH_PATH_GENERIC:
		return "generic";
	case FASTPATH_PATH_USERSPACE:
		return "userspace";
	}
	return "?";
}

/* ---- clocks --------------------------------------------------------------------- */

/* The program compares and stamps in jiffies (bpf_jiffies64(), a load the
 * JIT inlines) rather than bpf_ktime_get_ns() (70-85 ns a call): userspace
 * converts with one sample of both clocks, taken by test-running
 * icepath_clock, and the jiffy length, which CLOCK_MONOTONIC_COARSE's
 * resolution is (one tick). */
int fastpath_clock_sync(struct fastpath *fp)
{
	unsigned char frame[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);
	struct timespec res;
	int err;

	if (!fp->jiffy_ns) {
		if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec ||
		    res.tv_nsec <= 0)
			fp->jiffy_ns = 4000000; /* CONFIG_HZ=250, the usual */
		else
			fp->jiffy_ns = (uint64_t)res.tv_nsec;
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(fp->skel->progs.icepath_clock), &o)) {
		err = -errno;
		fastpath_log(LOG_ERR, "cannot read the kernel's jiffies (test run: %s)",
			     strerror(-err));
		return err;
	}
	fp->clk_jiffies = fp->skel->bss->clock_jiffies;
	fp->clk_ns = fp->skel->bss->clock_ns;
	return 0;
}

uint64_t fastpath_ms_to_jiffies(const struct fastpath *fp, uint64_t mono_ms)
{
	int64_t d = (int64_t)(mono_ms * 1000000u - fp->clk_ns);

	return fp->clk_jiffies + (uint64_t)(d / (int64_t)fp->jiffy_ns);
}

uint64_t fastpath_jiffies_to_ns(const struct fastpath *fp, uint64_t jiffies)
{
	int64_t d = (int64_t)(jiffies - fp->clk_jiffies);

	return fp->clk_ns + (uint64_t)(d * (int64_t)fp->jiffy_ns);
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

/* Size the flow maps: a pinned table keeps the size it was made with (its
 * flows live in it), a new one gets what was asked for. */
static int size_flow_maps(struct fastpath *fp, uint32_t want)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	fp->max_flows = want;
	err = pin_file(fp, path, sizeof(path), "flows");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries &&
		    info.max_entries != want) {
			fastpath_log(LOG_WARNING,
				     "the flow table pinned under %s holds %u flows, not the %u "
				     "asked for: keeping it (its flows forward meanwhile); to "
				     "resize, stop icepath and run 'icepath-fpctl --pin %s destroy'",
				     fp->pin_path, info.max_entries, want, fp->pin_path);
			fp->max_flows = info.max_entries;
		}
		close(fd);
	}
	err = pin_file(fp, path, sizeof(path), "ports");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* its geometry (port_addrs) was made for this size */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries)
			fp->port_ents = info.max_entries;
		close(fd);
	}
	err = bpf_map__set_max_entries(fp->skel->maps.flows, fp->max_flows);
	if (!err)
		err = bpf_map__set_max_entries(fp->skel->maps.flow_ctr, fp->max_flows);
	if (!err)
		err = bpf_map__set_max_entries(fp->skel->maps.ports, fp->port_ents);
	if (!err)
		err = bpf_map__set_max_entries(fp->skel->maps.port_nflows, fp->port_ents);
	if (!err)
		err = bpf_map__set_max_entries(fp->skel->maps.flow_hot, fp->max_flows);
	if (!err)
		err = bpf_map__set_max_entries(fp->skel->maps.flow_lost, fp->max_flows);
	if (err)
		fastpath_log(LOG_ERR, "cannot size the flow maps for %u flows: %s", fp->max_flows,
			     strerror(-err));
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
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
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
	fp->port_ents = (o->port_addrs && o->port_addrs < FP_PORT_ADDRS ? o->port_addrs
									 : FP_PORT_ADDRS) *
			((uint32_t)o->port_max - o->port_min + 1);
	err = set_pin_paths(fp);
	if (!err)
		err = size_flow_maps(fp, o->max_flows ? o->max_flows : FASTPATH_MAX_FLOWS_DEFAULT);
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
	err = fastpath_port_open(fp, o->port_min, o->port_max);
	if (err) {
		fastpath_log(LOG_ERR, "cannot set up the fast path's port table: %s",
			     strerror(-err));
		goto err_destroy;
	}
	err = fastpath_slot_open(fp);
	if (err)
		goto err_destroy;
	err = fastpath_clock_sync(fp);
	if (err)
		goto err_slots;
	/* Without it no flow gets a next hop: all of them take the userspace
	 * path, which works; the message says so. */
	fastpath_nh_open(fp);
	fp->made_maps = !reused;
	/* the id lets a test (or a person with bpftool) see the maps go */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fastpath_fd_flows(fp), &info, &ilen))
		info.id = 0;
	fastpath_log(LOG_INFO, "%s maps under %s (%u flows, flows map id %u), media ports %u-%u",
		     reused ? "re-opened pinned" : "created", fp->pin_path, fp->max_flows,
		     info.id, o->port_min, o->port_max);
	*out = fp;
	return 0;

err_slots:
	fastpath_slot_close(fp);
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
	fastpath_nh_close(fp);
	fastpath_slot_close(fp);
	icepath__destroy(fp->skel);
	free(fp);
}

int fastpath_fd(const struct fastpath *fp)
{
	return fp ? fastpath_nh_fd(fp) : -1;
}

int fastpath_poll(struct fastpath *fp, uint64_t now_ms)
{
	int err;

	err = fastpath_nh_process(fp);
	if (now_ms >= fp->next_dev_check_ms) {
		fp->next_dev_check_ms = now_ms + FASTPATH_POLL_MS;
		fastpath_clock_sync(fp);
		if (!err)
			err = fastpath_dev_check(fp, now_ms);
	}
	return err;
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

enum fastpath_xdp_mode fastpath_iface_mode(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	return ifindex ? query_mode(ifindex) : FASTPATH_XDP_OFF;
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

static int prog_for(const struct fastpath *fp, enum fastpath_xdp_mode m)
{
	return bpf_program__fd(m == FASTPATH_XDP_GENERIC ? fp->skel->progs.icepath_xdp_generic
							 : fp->skel->progs.icepath_xdp);
}

/* The BPF link attached to ifindex, 0 if none (a netlink attachment).
 * Link ids are global but a link's ifindex is of its own network
 * namespace: only a link whose program is the one running here (prog, from
 * bpf_xdp_query in this namespace) counts. */
static __u32 xdp_link_id(int ifindex, __u32 prog)
{
	struct bpf_link_info info;
	__u32 id = 0, len;
	int fd, hit;

	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		len = sizeof(info);
		memset(&info, 0, sizeof(info));
		hit = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		      (int)info.xdp.ifindex == ifindex && prog && info.prog_id == prog;
		close(fd);
		if (hit)
			return id;
	}
	return 0;
}

/* What removes the XDP program someone else attached to ifname: a BPF link
 * is not removed by 'ip link' (it refuses: "active BPF XDP link"), a
 * netlink attachment is, but only by the command of its own mode ('xdp
 * off' only clears the native slot of a driver that has one). */
static void holder_hint(int ifindex, const char *ifname, char *buf, size_t len)
{
	static const char *const kw[] = {"xdpdrv", "xdpgeneric", "xdpoffload"};
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 link = 0, ids[3];
	size_t used = 0;

	if (!bpf_xdp_query(ifindex, 0, &q))
		link = xdp_link_id(ifindex, q.prog_id	    ? q.prog_id
					    : q.skb_prog_id ? q.skb_prog_id
							    : q.drv_prog_id);
	if (link) {
		snprintf(buf, len,
			 "it is held by BPF link %u, which 'ip link' cannot remove: one icepathd "
			 "per interface, so if another icepathd (or icepath-fpctl) attached it "
			 "under another pin path, stop that daemon (SIGTERM detaches it) or, if it "
			 "is gone, run 'icepath-fpctl --pin THAT_PIN_PATH destroy' "
			 "('bpftool link show id %u' shows who holds it)",
			 link, link);
		return;
	}
	if (bpf_xdp_query(ifindex, 0, &q)) {
		snprintf(buf, len, "'bpftool net show dev %s' shows what holds it", ifname);
		return;
	}
	ids[0] = q.drv_prog_id;
	ids[1] = q.skb_prog_id;
	ids[2] = q.hw_prog_id;
	used = (size_t)snprintf(buf, len, "remove it with");
	for (unsigned i = 0; i < 3 && used < len; i++)
		if (ids[i])
			used += (size_t)snprintf(buf + used, len - used, "%s 'ip link set dev %s %s off'",
						 used > 15 ? " and" : "", ifname, kw[i]);
	if (used <= 15)
		snprintf(buf, len, "'bpftool net show dev %s' shows what holds it", ifname);
}

static int create_link(struct fastpath *fp, const char *ifname, int ifindex,
		       enum fastpath_xdp_mode *got)
{
	char hint[640];
	int fd, x;

	if (fp->mode == FASTPATH_XDP_NATIVE) {
		/* Native frames sent out of an interface that cannot take
		 * them are dropped by the kernel (xdp_tx_errors), the one
		 * silent failure of XDP; the program passes such flows up
		 * instead (pass-no-xmit). Its peer may be about to get its
		 * program (a test attaching both ends), so the mode is not
		 * changed here: fastpath_poll() moves a native interface that
		 * still cannot take native frames to generic mode. */
		x = fastpath_dev_query_xmit((unsigned)ifindex);
		if (x == 0)
			fastpath_log(LOG_WARNING,
				     "%s takes no native XDP frames (a veth whose peer has no XDP "
				     "program, as in a container, or a driver without "
				     "ndo_xdp_xmit): flows toward it take the userspace path "
				     "(pass-no-xmit) until its peer runs XDP; a daemon moves it "
				     "to generic mode at its next check",
				     ifname);
		fd = try_link(prog_for(fp, FASTPATH_XDP_NATIVE), ifindex, XDP_FLAGS_DRV_MODE);
		*got = FASTPATH_XDP_NATIVE;
		if (fd >= 0 || fd == -EBUSY || fd == -EEXIST)
			goto out;
		fastpath_log(LOG_WARNING,
			     "native XDP on %s failed (%s: driver support missing?); falling back "
			     "to generic (skb) mode: forwarding works, slower",
			     ifname, strerror(-fd));
	}
	fd = try_link(prog_for(fp, FASTPATH_XDP_GENERIC), ifindex, XDP_FLAGS_SKB_MODE);
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
	holder_hint(ifindex, ifname, hint, sizeof(hint));
	fastpath_log(LOG_ERR,
		     "cannot attach XDP to %s: it already has an XDP program that icepath did "
		     "not attach under %s; %s; or use another interface, or --xdp off (no fast "
		     "path: media through userspace)",
		     ifname, fp->pin_path, hint);
	return -EBUSY;
}

/* Best effort: the program pins are for people (bpftool) and tests, the
 * links hold the programs. */
static void pin_progs(struct fastpath *fp)
{
	static const char *const names[] = {"prog", "prog-generic"};
	char path[PATH_MAX];

	for (unsigned i = 0; i < 2; i++) {
		if (pin_file(fp, path, sizeof(path), names[i]))
			continue;
		unlink(path);
		if (bpf_obj_pin(prog_for(fp, i ? FASTPATH_XDP_GENERIC : FASTPATH_XDP_NATIVE), path))
			fastpath_log(LOG_WARNING, "cannot pin the program at %s: %s", path,
				     strerror(errno));
	}
}

int fastpath_attach(struct fastpath *fp, const char *ifname, enum fastpath_xdp_mode *got)
{
	char path[PATH_MAX];
	enum fastpath_xdp_mode mode = FASTPATH_XDP_OFF;
	int ifindex, fd, err;
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
	if (err) {
		fastpath_log(LOG_ERR, "cannot attach XDP to %s: pin path too long", ifname);
		return err;
	}

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
		/* The link keeps its mode: the program for that mode goes in. */
		mode = query_mode(ifindex);
		if (bpf_link_update(fd, prog_for(fp, mode), NULL)) {
			err = -errno;
			fastpath_log(LOG_ERR, "cannot replace the XDP program on %s: %s", ifname,
				     strerror(-err));
			close(fd);
			return err;
		}
		fastpath_log(LOG_INFO, "XDP on %s (%s mode) replaced by this program", ifname,
			     fastpath_xdp_mode_str(mode));
		if (mode == FASTPATH_XDP_NATIVE && fastpath_dev_query_xmit((unsigned)ifindex) == 0)
			fastpath_log(LOG_WARNING,
				     "%s takes no native XDP frames (veth peer without XDP?): "
				     "flows toward it from native interfaces take the userspace "
				     "path; detach and attach again for generic mode",
				     ifname);
	} else {
		fd = create_link(fp, ifname, ifindex, &mode);
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
		if (fp->nmade_links < FASTPATH_MAX_DEVS)
			snprintf(fp->made_links[fp->nmade_links++], IF_NAMESIZE, "%s", ifname);
	}
	close(fd);
	pin_progs(fp);
	/* Flows toward it may forward now (or, in generic mode, differently). */
	fastpath_dev_forget(fp, (unsigned)ifindex);
	fastpath_nh_refresh(fp, 0);
	if (got)
		*got = mode;
	return 0;

err_devmap:
	bpf_map_delete_elem(bpf_map__fd(fp->skel->maps.tx_ports), &key);
	return err;
}

int fastpath_relink_generic(struct fastpath *fp, unsigned ifindex)
{
	char name[IF_NAMESIZE], path[PATH_MAX];
	int fd, nfd, err;

	if (!if_indextoname(ifindex, name) || link_pin(fp, name, path, sizeof(path)))
		return -ENODEV;
	fd = existing_link(path, (int)ifindex);
	if (fd < 0)
		return 0; /* not attached by an icepath under this pin path */
	if (query_mode((int)ifindex) != FASTPATH_XDP_NATIVE) {
		close(fd);
		return 0;
	}
	/* A link cannot change its mode: a new one replaces it. Packets that
	 * arrive in between go to the stack, where the daemon forwards them. */
	bpf_link_detach(fd);
	close(fd);
	unlink(path);
	nfd = try_link(prog_for(fp, FASTPATH_XDP_GENERIC), (int)ifindex, XDP_FLAGS_SKB_MODE);
	if (nfd < 0) {
		err = nfd;
		fastpath_log(LOG_ERR,
			     "%s: cannot move XDP to generic mode (%s); its media takes the "
			     "userspace path; restart with --xdp generic",
			     name, strerror(-err));
		return err;
	}
	if (bpf_obj_pin(nfd, path))
		fastpath_log(LOG_WARNING, "cannot pin the XDP link of %s at %s: %s", name, path,
			     strerror(errno));
	close(nfd);
	fastpath_log(LOG_WARNING,
		     "XDP on %s moved from native to generic mode: it takes no native XDP "
		     "frames (a veth whose peer has no XDP program, as in a container, or a "
		     "driver without ndo_xdp_xmit), and the kernel would drop what native "
		     "XDP sends out of it; generic mode sends skbs, which it takes (slower). "
		     "For native mode attach an XDP program to its peer (or turn GRO on "
		     "there) and restart",
		     name);
	return 1;
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
		/* Flows toward it leave XDP (pass-no-devmap), not the wire. */
		fastpath_dev_forget(fp, (unsigned)ifindex);
		fastpath_nh_refresh(fp, (unsigned)ifindex);
	}
	fastpath_log(LOG_INFO, "XDP detached from %s", ifname);
	return 0;
}

void fastpath_abandon(struct fastpath *fp)
{
	char pin[PATH_MAX];
	int made_maps;

	if (!fp)
		return;
	for (unsigned i = 0; i < fp->nmade_links; i++)
		fastpath_detach(fp, fp->made_links[i]);
	made_maps = fp->made_maps;
	snprintf(pin, sizeof(pin), "%s", fp->pin_path);
	fastpath_close(fp);
	/* Made by this start: nothing else can use them (no program of
	 * another run points at them), so nothing pins them after this. */
	if (made_maps && !fastpath_destroy(pin))
		fastpath_log(LOG_INFO, "failed start: the maps it created under %s are removed",
			     pin);
}

int fastpath_teardown(struct fastpath *fp)
{
	char pin[PATH_MAX];
	int err;

	if (!fp)
		return 0;
	snprintf(pin, sizeof(pin), "%s", fp->pin_path);
	fastpath_close(fp);
	err = fastpath_destroy(pin);
	if (!err)
		fastpath_log(LOG_INFO, "XDP detached, pins under %s removed", pin);
	return err;
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
