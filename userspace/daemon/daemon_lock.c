// SPDX-License-Identifier: GPL-2.0-only
/* daemon_lock: exclusive ownership of a pin path and a state file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_lock.h"
#include "daemon_log.h"

int daemon_lock_pin_file(const char *pin_path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/pin", DAEMON_LOCK_DIR);
	size_t k;

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	k = (size_t)n;
	for (const char *p = pin_path; *p && k + 1 < len; p++)
		buf[k++] = *p == '/' ? '-' : *p;
	buf[k] = '\0';
	n = snprintf(buf + k, len - k, ".lock");
	return n < 0 || (size_t)n >= len - k ? -ENAMETOOLONG : 0;
}

/* The pid in a lock file, 0 if it holds none. */
static long holder_pid(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	if (n <= 0)
		return 0;
	b[n] = '\0';
	return strtol(b, NULL, 10);
}

static void make_dir(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	mkdir(dirname(buf), 0750);
}

int daemon_lock_take(struct daemon_lock *l, const char *path, const char *what)
{
	struct stat a, b;
	char pid[24];
	int fd, err, n;

	l->fd = -1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	make_dir(path);
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -errno;
			log_err("cannot create the lock file %s of %s: %s", path, what,
				strerror(-err));
			return err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			err = -errno;
			if (err == -EWOULDBLOCK) {
				long holder = holder_pid(fd);

				log_err("%s is owned by another icepathd (pid %ld, lock %s): one "
					"icepathd per pin path, state file and interface; stop "
					"that one, or give this one its own --interface, "
					"--pin-path and --state-file (README: running a relay set)",
					what, holder, path);
				err = -EBUSY;
			} else {
				log_err("cannot lock %s (%s): %s", path, what, strerror(-err));
			}
			close(fd);
			return err;
		}
		/* the owner before us may have removed the file after we
		 * opened it: that lock guards nothing, take the new file's */
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			break;
		close(fd);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {
		err = -errno;
		log_err("cannot write the lock file %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	l->fd = fd;
	return 0;
}

void daemon_lock_release(struct daemon_lock *l)
{
	if (l->fd < 0)
		return;
	/* under --user the directory may not be ours any more: the file
	 * then stays, unlocked, and the next start takes it */
	unlink(l->path);
	close(l->fd);
	l->fd = -1;
}
