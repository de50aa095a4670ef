// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_journal: icepathd's lines when systemd's journal is on the other
 * end of stderr (see daemon_log.h). Plain lines keep going to stderr, with
 * a "<N>" syslog priority prefix that journald turns into PRIORITY= (and no
 * timestamp of our own: the journal stamps each line); a line about a call
 * goes through the journal's native protocol instead, so that it carries
 * CALL_ID= as a field of its own and `journalctl CALL_ID=...` finds every
 * line of one call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon_log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

bool daemon_journal_is_stderr(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected;
	 * a child whose stderr was redirected inherits the variable, so only
	 * a match with our own stderr counts (sd_journal_stream_fd(3)) */
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int daemon_journal_open(struct daemon_journal *j, const char *socket_path)
{
	struct sockaddr_un *sun = &j->addr;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	sun->sun_family = AF_UNIX;
	if (snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
		     socket_path ? socket_path : JOURNAL_SOCKET) >= (int)sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return j->fd < 0 ? -errno : 0;
}

void daemon_journal_close(struct daemon_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

/*
 * One field of the native protocol (systemd.journal-fields(7), "Native
 * Journal Protocol"): "KEY=value\n" when value has no newline, else
 * "KEY\n" + 64-bit little-endian length + value + "\n". A call-id comes
 * from the network and may hold anything, so the binary form is kept for it.
 */
static unsigned field(struct iovec *iov, uint8_t *lenbuf, const char *key, const char *v,
		      size_t vlen)
{
	static char nl[] = "\n", eq[] = "=";
	uint64_t n = vlen;

	iov[0] = (struct iovec){(void *)key, strlen(key)};
	if (!memchr(v, '\n', vlen)) {
		iov[1] = (struct iovec){eq, 1};
		iov[2] = (struct iovec){(void *)v, vlen};
		iov[3] = (struct iovec){nl, 1};
		return 4;
	}
	for (unsigned i = 0; i < 8; i++)
		lenbuf[i] = (uint8_t)(n >> (8 * i));
	iov[1] = (struct iovec){nl, 1};
	iov[2] = (struct iovec){lenbuf, 8};
	iov[3] = (struct iovec){(void *)v, vlen};
	iov[4] = (struct iovec){nl, 1};
	return 5;
}

int daemon_journal_send(struct daemon_journal *j, int priority, const char *message,
			const char *call_id)
{
	struct iovec iov[20];
	uint8_t lens[4][8];
	char prio[4];
	unsigned n = 0;
	struct msghdr mh = {.msg_name = &j->addr, .msg_namelen = sizeof(j->addr), .msg_iov = iov};

	if (j->fd < 0)
		return -EBADF;
	snprintf(prio, sizeof(prio), "%d", priority & 7);
	n += field(iov + n, lens[0], "PRIORITY", prio, strlen(prio));
	n += field(iov + n, lens[1], "SYSLOG_IDENTIFIER", "icepathd", 8);
	n += field(iov + n, lens[2], "MESSAGE", message, strlen(message));
	if (call_id && *call_id)
		n += field(iov + n, lens[3], "CALL_ID", call_id, strlen(call_id));
	mh.msg_iovlen = n;
	return sendmsg(j->fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}
