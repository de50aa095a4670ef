/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon_log: icepathd's one logger. Lines go to stderr as
 * "icepathd[LEVEL] message" (or syslog when detached). The level is a
 * process-wide setting owned by main(); modules only call daemon_log().
 */
#ifndef ICEPATH_DAEMON_LOG_H
#define ICEPATH_DAEMON_LOG_H

#include <stddef.h>

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

#define log_err(...)   daemon_log(DAEMON_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  daemon_log(DAEMON_LOG_WARN, __VA_ARGS__)
#define log_info(...)  daemon_log(DAEMON_LOG_INFO, __VA_ARGS__)
#define log_debug(...) daemon_log(DAEMON_LOG_DEBUG, __VA_ARGS__)

#endif
