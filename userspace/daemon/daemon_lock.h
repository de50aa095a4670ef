/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon_lock: one icepathd owns a pin path and a state file. Each is
 * claimed by flock(LOCK_EX|LOCK_NB) on a lock file holding the owner's pid:
 * the state file's is FILE.lock next to it, the pin path's lives in
 * DAEMON_LOCK_DIR under a name made of the path (bpffs holds no regular
 * files, so it cannot sit next to the pins). The kernel drops the lock when
 * the owner dies, kill -9 included: a stale file never blocks a start.
 */
#ifndef ICEPATH_DAEMON_LOCK_H
#define ICEPATH_DAEMON_LOCK_H

#include <stddef.h>

#define DAEMON_LOCK_DIR "/run/icepath"

struct daemon_lock {
	int fd; /* -1: not held */
	char path[512];
};

/* The lock file of a pin path: DAEMON_LOCK_DIR/pin-PATH.lock, '/' -> '-'. */
int daemon_lock_pin_file(const char *pin_path, char *buf, size_t len);

/*
 * Take the lock at path for "what" (e.g. "pin path /sys/fs/bpf/icepath"),
 * creating the file (and its directory) if needed, and write our pid into
 * it. 0; -EBUSY after a log line naming the holder's pid when another
 * process holds it; another -errno after a log line when the file cannot be
 * made. l->fd is -1 on failure.
 */
int daemon_lock_take(struct daemon_lock *l, const char *path, const char *what);

/* Remove the file and release the lock (in that order: a process that
 * opened the old file sees it unlinked and tries again). Accepts an
 * unheld lock. */
void daemon_lock_release(struct daemon_lock *l);

#endif
