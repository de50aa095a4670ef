// SPDX-License-Identifier: GPL-2.0-only
/* daemon_log: leveled log lines for icepathd (see daemon_log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "icepath/compiler.h"

#include "daemon_log.h"

/* The only mutable file-scope state of the library: a logger is process-wide
 * by nature, and main() sets it once from --log-level. */
static enum daemon_log_level log_level = DAEMON_LOG_INFO;
static int log_syslog;
static bool log_journal;
static struct daemon_journal journal = {.fd = -1};
static char log_call[512]; /* a copy of the current call's id, "" for none:
			    * the call may be freed before the next line */

static const char *const level_names[] = {
	[DAEMON_LOG_ERROR] = "error",
	[DAEMON_LOG_WARN] = "warn",
	[DAEMON_LOG_INFO] = "info",
	[DAEMON_LOG_DEBUG] = "debug",
};

int daemon_log_level_from_str(const char *s, enum daemon_log_level *lvl)
{
	for (unsigned i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*lvl = (enum daemon_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *daemon_log_level_str(enum daemon_log_level lvl)
{
	if ((unsigned)lvl < ARRAY_SIZE(level_names))
		return level_names[lvl];
	return "?";
}

void daemon_log_set_level(enum daemon_log_level lvl)
{
	log_level = lvl;
}

void daemon_log_use_syslog(int on)
{
	log_syslog = on;
	if (on)
		openlog("icepathd", LOG_PID, LOG_DAEMON);
}

int daemon_log_use_journal(const char *socket_path)
{
	int err;

	daemon_journal_close(&journal);
	err = daemon_journal_open(&journal, socket_path);
	/* without the socket, "<N>" lines on stderr still reach the journal */
	log_journal = true;
	return err;
}

void daemon_log_set_call(const char *call_id)
{
	snprintf(log_call, sizeof(log_call), "%s", call_id ? call_id : "");
}

size_t daemon_log_escape(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!cap)
		return 0;
	for (; *in; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (n + 1 >= cap)
				break;
			out[n++] = (char)ch;
			continue;
		}
		if (n + 4 >= cap)
			break;
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[ch >> 4];
		out[n++] = hex[ch & 15];
	}
	out[n] = 0;
	return n;
}

void daemon_log(enum daemon_log_level lvl, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char raw[1024], line[4 * sizeof(raw)];
	struct timespec ts;
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* call-ids, tags, SDP values and ICE ufrags come from the network:
	 * one line stays one line, and no terminal escape reaches a console */
	daemon_log_escape(line, sizeof(line), raw);
	if (log_syslog) {
		syslog(prio[lvl], "%s", line);
		return;
	}
	if (log_journal) {
		if (log_call[0] && !daemon_journal_send(&journal, prio[lvl], line, log_call))
			return;
		fprintf(stderr, "<%d>%s\n", prio[lvl], line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%02ld:%02ld:%02ld.%03ld icepathd[%s] %s\n", (ts.tv_sec / 3600) % 24,
		(ts.tv_sec / 60) % 60, ts.tv_sec % 60, ts.tv_nsec / 1000000, level_names[lvl],
		line);
}
