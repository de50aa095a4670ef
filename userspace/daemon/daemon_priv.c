// SPDX-License-Identifier: GPL-2.0-only
/* daemon_priv: drop root after setup, keep only what is used (see daemon_priv.h). */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon_log.h"
#include "daemon_priv.h"

#ifndef CAP_BPF
#define CAP_BPF 39 /* Linux 5.8 */
#endif

/* Permitted and effective sets; inheritable always empty. */
static int caps_set(uint64_t permitted, uint64_t effective)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].permitted = (uint32_t)permitted;
	data[1].permitted = (uint32_t)(permitted >> 32);
	data[0].effective = (uint32_t)effective;
	data[1].effective = (uint32_t)(effective >> 32);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int caps_get(uint64_t *permitted, uint64_t *effective)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	*effective = data[0].effective | (uint64_t)data[1].effective << 32;
	return 0;
}

int daemon_priv_prepare_dir(const struct daemon_opts *o, const char *file)
{
	char buf[DAEMON_PATH_MAX + 32], *dir;
	struct stat st;

	if (!o->drop_privileges || !file[0])
		return 0;
	snprintf(buf, sizeof(buf), "%s", file);
	dir = dirname(buf);
	if (stat(dir, &st) && errno == ENOENT) {
		if (mkdir(dir, 0750) || chown(dir, o->run_uid, o->run_gid)) {
			log_err("cannot create the state directory %s for --user %s: %s", dir,
				o->user, strerror(errno));
			return -errno;
		}
		return 0;
	}
	if ((st.st_uid == o->run_uid && (st.st_mode & 0300) == 0300) ||
	    (st.st_gid == o->run_gid && (st.st_mode & 0030) == 0030) ||
	    (st.st_mode & 0003) == 0003)
		return 0;
	log_err("the state file directory %s (uid %u, mode %04o) is not writable by --user %s: "
		"chown %s %s, or give --state-file in a directory the user owns (systemd: "
		"RuntimeDirectory=icepath)",
		dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), o->user, o->user, dir);
	return -EACCES;
}

int daemon_priv_drop(const struct daemon_opts *o, bool need_bpf, int (*probe)(void *ctx),
		     void *ctx)
{
	const uint64_t bpf = 1ull << CAP_BPF;
	uint64_t keep = need_bpf ? bpf : 0, prm = ~0ull, eff = ~0ull;
	const char *kept = "none";
	gid_t gid = o->run_gid;
	int err;

	/* the bounding set first, while CAP_SETPCAP is still there: nothing
	 * executed later can gain more */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
		    errno != EINVAL) {
			err = -errno;
			log_err("cannot drop capability %d from the bounding set: %s", cap,
				strerror(-err));
			return err;
		}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(1, &gid) ||
	    setresgid(gid, gid, gid) || setresuid(o->run_uid, o->run_uid, o->run_uid)) {
		err = -errno;
		log_err("cannot switch to --user %s (uid %u, gid %u): %s", o->user,
			(unsigned)o->run_uid, (unsigned)gid, strerror(-err));
		return err;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	err = caps_set(keep, keep);
	if (!err && need_bpf && probe) {
		/* does this kernel want CAP_BPF for map updates on open fds? */
		err = caps_set(keep, 0);
		if (!err && probe(ctx) == 0) {
			keep = 0;
			err = caps_set(0, 0);
		} else if (!err) {
			err = caps_set(keep, keep);
			if (!err && probe(ctx)) {
				log_err("the fast path's maps are not usable as --user %s even with "
					"CAP_BPF; run without --user or with --xdp off",
					o->user);
				return -EPERM;
			}
			kept = "cap_bpf (fast-path map updates need it on this kernel)";
		}
	}
	if (err) {
		log_err("cannot set capabilities after switching to --user %s: %s", o->user,
			strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		log_err("cannot set no_new_privs: %s", strerror(-err));
		return err;
	}
	/* belt and braces: the switch must be irreversible */
	if (setuid(0) == 0 || caps_get(&prm, &eff) || prm != keep || eff != keep) {
		log_err("privileges were not dropped as asked (--user %s); refusing to run", o->user);
		return -EPERM;
	}
	log_info("running as user %s (uid %u, gid %u), capabilities: %s", o->user,
		 (unsigned)o->run_uid, (unsigned)gid, kept);
	return 0;
}
