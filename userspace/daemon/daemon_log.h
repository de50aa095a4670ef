/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon_log: icepathd's one logger. Lines go to stderr as
 * "HH:MM:SS.mmm icepathd[LEVEL] message" (or syslog when detached). When
 * stderr is systemd's journal (daemon_journal_is_stderr()), they go there as
 * "<N>message" (syslog priority N, no timestamp: the journal has its own),
 * and a line logged while a call is current (daemon_log_set_call()) is sent
 * through the journal's native protocol with the call-id as CALL_ID=. The
 * level is a process-wide setting owned by main(); modules only call
 * daemon_log().
 */
#ifndef ICEPATH_DAEMON_LOG_H
#define ICEPATH_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

enum daemon_log_level {
	DAEMON_LOG_ERROR,
	DAEMON_LOG_WARN,
	DAEMON_LOG_INFO,
	DAEMON_LOG_DEBUG,
};

/* "error", "warn", "info", "debug" -> 0 and *lvl, or -EINVAL. */
int daemon_log_level_from_str(const char *s, enum daemon_log_level *lvl);
const char *daemon_log_level_str(enum daemon_log_level lvl);
void daemon_log_set_level(enum daemon_log_level lvl);
/* Send lines to syslog (daemon mode) instead of stderr. */
void daemon_log_use_syslog(int on);
/*
 * Copy in to out with every byte outside printable ASCII, and the backslash, written
 * as \xNN: what daemon_log() does to each line, so a call-id or tag from
 * the network cannot break a line, forge one, or send terminal escapes.
 * Truncates at an escape boundary; returns the length written.
 */
size_t daemon_log_escape(char *out, size_t cap, const char *in);
void daemon_log(enum daemon_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the journal (daemon_journal.c) ---------------------------------------- */

/* JOURNAL_STREAM names our stderr (device:inode): systemd's journal reads it. */
bool daemon_journal_is_stderr(void);
/* Log to the journal from now on: plain lines to stderr with "<N>", lines of
 * a call natively through socket_path (NULL: systemd's). 0 or -errno. */
int daemon_log_use_journal(const char *socket_path);
/* The call whose lines come next (NULL or "": none; copied). The event loop
 * sets it around each call's work. */
void daemon_log_set_call(const char *call_id);

struct daemon_journal {
	int fd;
	struct sockaddr_un addr;
};
int daemon_journal_open(struct daemon_journal *j, const char *socket_path);
void daemon_journal_close(struct daemon_journal *j);
/* One entry: PRIORITY, SYSLOG_IDENTIFIER=icepathd, MESSAGE, CALL_ID if any. */
int daemon_journal_send(struct daemon_journal *j, int priority, const char *message,
			const char *call_id);

#define log_err(...)   daemon_log(DAEMON_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  daemon_log(DAEMON_LOG_WARN, __VA_ARGS__)
#define log_info(...)  daemon_log(DAEMON_LOG_INFO, __VA_ARGS__)
#define log_debug(...) daemon_log(DAEMON_LOG_DEBUG, __VA_ARGS__)

#endif
