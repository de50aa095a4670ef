/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon_opts: icepathd's options, from the command line and from a config
 * file with the same names (`key = value`). Parsing is separate from main()
 * so tests drive it with argv arrays and files.
 */
#ifndef ICEPATH_DAEMON_OPTS_H
#define ICEPATH_DAEMON_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "daemon_log.h"
#include "icepath/netaddr.h"
#include "icepath/ng.h"

#define DAEMON_MAX_INTERFACES 8
#define DAEMON_IFNAME_MAX     32
#define DAEMON_CRED_MAX	      128
#define DAEMON_PATH_MAX	      256
#define DAEMON_NAME_MAX	      64  /* --user, --group */
#define DAEMON_WARN_MAX	      512 /* daemon_opts.warnings */
#define DAEMON_CONFIG_MAX     (1u << 20) /* bytes of a --config file */

#define DAEMON_DEFAULT_NG	"127.0.0.1:2223" /* rtpengine's NG port */
#define DAEMON_DEFAULT_PORT_MIN 30000
#define DAEMON_DEFAULT_PORT_MAX 40000
#define DAEMON_DEFAULT_PIN_PATH "/sys/fs/bpf/icepath"
/* bpffs holds no regular files, so the state file lives beside it */
#define DAEMON_DEFAULT_STATE_FILE "/run/icepath/calls.state"
#define DAEMON_DEFAULT_INACTIVITY 60 /* seconds without media on a plain-RTP leg */
#define DAEMON_MEDIA_THREADS_MAX  64 /* --media-threads */
/* the NG reply of an ICE leg with --stun/--turn waits for gathering this long */
#define DAEMON_DEFAULT_GATHER_TIMEOUT_MS 200
#define DAEMON_GATHER_TIMEOUT_MAX_MS	 5000

enum daemon_xdp_mode {
	DAEMON_XDP_NATIVE, /* driver mode, falls back to generic with a log line */
	DAEMON_XDP_GENERIC,
	DAEMON_XDP_OFF, /* userspace datapath only */
};

/*
 * --endpoint-learning, as rtpengine names it: how a plain-RTP (non-ICE)
 * stream learns its peer's address from the media it receives (SIP phones
 * behind NAT announce private addresses in their SDP).
 */
enum daemon_learning {
	/* RELAY_LEARN_MS of learning: sources ranked by how well they match the
	 * SDP (address and port > address > port > any), the best one wins;
	 * an exact SDP match is taken at once. A spoofer who guesses the port
	 * loses to the real peer unless it is first and ranks as well. */
	DAEMON_LEARN_HEURISTIC,
	/* RELAY_LEARN_MS of following the latest source, then it is kept */
	DAEMON_LEARN_DELAYED,
	DAEMON_LEARN_IMMEDIATE, /* the first packet's source is kept (first wins) */
	DAEMON_LEARN_OFF,	/* never: media goes where the SDP says */
};

const char *daemon_learning_str(enum daemon_learning m);

/* ---- deploy: metrics server (one block, see daemon_opts.c) ---- */
#define DAEMON_MAX_METRICS_ALLOW 8
#define DAEMON_DEFAULT_METRICS_HOST "127.0.0.1" /* --metrics PORT alone: loopback */

/* --metrics-allow ADDR/PREFIX: who may scrape (loopback always may). */
struct daemon_cidr {
	struct netaddr net; /* port 0 */
	unsigned prefix;    /* bits */
};

/* addr (any port) lies inside c. */
bool daemon_cidr_match(const struct daemon_cidr *c, const struct netaddr *addr);
/* ---- end deploy ---- */

/* --interface NAME=ADDR[!ADVERTISED] */
struct daemon_iface {
	char name[DAEMON_IFNAME_MAX];
	struct netaddr local;	   /* port 0 */
	struct netaddr advertised; /* what SDP and candidates say; == local without '!' */
};

struct daemon_opts {
	struct daemon_iface ifaces[DAEMON_MAX_INTERFACES];
	unsigned nifaces;
	struct netaddr listen_ng;
	uint16_t port_min, port_max;
	enum daemon_xdp_mode xdp;
	struct netaddr stun, turn; /* family 0: not configured */
	char turn_user[DAEMON_CRED_MAX], turn_pass[DAEMON_CRED_MAX];
	char pin_path[DAEMON_PATH_MAX];
	char pidfile[DAEMON_PATH_MAX];
	char state_file[DAEMON_PATH_MAX];
	char dtls_cert[DAEMON_PATH_MAX], dtls_key[DAEMON_PATH_MAX]; /* "": generate */
	char config[DAEMON_PATH_MAX];
	enum daemon_log_level log_level;
	bool foreground;
	unsigned inactivity_s;
	/* how long an NG reply waits for the leg's STUN/TURN candidates */
	unsigned gather_timeout_ms;
	enum daemon_learning learning; /* --endpoint-learning, default heuristic */
	int media_threads; /* --media-threads; -1: one per online CPU (relay_worker.c) */
	/* RFC 7675 consent check interval and timeout, ms; 0: the RFC's 5 s
	 * and 30 s (ICE_CONSENT_*). No option sets them: tests shorten them. */
	uint32_t consent_interval_ms, consent_timeout_ms;
	/* --max-sessions: offers that would create a call beyond this many are
	 * refused (rtpengine's max-sessions); 0: no limit but the port range.
	 * daemon_opts_session_cap() is the effective bound (BPF map sizing). */
	unsigned max_sessions;
	/* --ng-allow: senders NG requests are accepted from; required when
	 * --listen-ng is not a loopback address */
	struct ng_allow ng_allow[NG_ALLOW_MAX];
	unsigned n_ng_allow;
	/* --user/--group: privileges are dropped to these after setup;
	 * resolved (getpwnam/getgrnam) when the options are checked */
	char user[DAEMON_NAME_MAX], group[DAEMON_NAME_MAX];
	bool drop_privileges;
	uid_t run_uid;
	gid_t run_gid;
	/* --turn-pass-file: read into turn_pass when the options are checked */
	char turn_pass_file[DAEMON_PATH_MAX];
	bool turn_pass_on_cmdline;
	/* what parsing found unwise but not wrong, one per line, for main()
	 * to log once logging is set up */
	char warnings[DAEMON_WARN_MAX];
	bool help, version;
	/* deploy: --metrics ADDR:PORT (family 0: no metrics server) and
	 * --metrics-allow CIDR, repeatable */
	/* --redis HOST:PORT[/DB] (family 0: no Redis) and --redis-role */
	struct netaddr redis;
	unsigned redis_db;
	bool redis_standby;
	/* --redis-user (Redis 6 ACL; empty: the default user) and
	 * --redis-pass-file, read into redis_pass when the options are checked */
	char redis_user[DAEMON_CRED_MAX], redis_pass[DAEMON_CRED_MAX];
	char redis_pass_file[DAEMON_PATH_MAX];
	struct netaddr metrics;
	struct daemon_cidr metrics_allow[DAEMON_MAX_METRICS_ALLOW];
	unsigned n_metrics_allow;
};

void daemon_opts_defaults(struct daemon_opts *o);

/*
 * Parse argv (a --config FILE is read first, then the command line overrides
 * it). On error returns -EINVAL and writes a message naming the option, the
 * value and what is expected into err. The result is checked for
 * consistency (at least one interface, port range, TURN credentials).
 */
int daemon_opts_parse(struct daemon_opts *o, int argc, char *const argv[], char *err,
		      size_t errlen);

/* One option by its long name without dashes ("port-min", "interface");
 * value NULL for flags. Used by the config file reader. */
int daemon_opts_set(struct daemon_opts *o, const char *key, const char *value, char *err,
		    size_t errlen);

/* Read `key = value` lines ('#' comments, blank lines). Errors name the line. */
int daemon_opts_load_file(struct daemon_opts *o, const char *path, char *err, size_t errlen);
/* The same over bytes (len of them, NUL bytes refused); name is what error
 * messages call the source. Does no I/O of its own but what options do
 * (a host name in --stun/--turn is resolved). */
int daemon_opts_load_buf(struct daemon_opts *o, const char *name, const char *buf, size_t len,
			 char *err, size_t errlen);

/* Media ports in --port-min..--port-max (RTP even, RTCP odd) */
unsigned daemon_opts_ports(const struct daemon_opts *o);
/* The most calls the daemon can hold: --max-sessions, or what the port
 * range allows for one m= line per call (2 ports per leg, 2 legs). */
unsigned daemon_opts_session_cap(const struct daemon_opts *o);

/* Man-page style help text (printed by --help). */
const char *daemon_opts_usage(void);

const char *daemon_xdp_mode_str(enum daemon_xdp_mode m);

/* The interface with this name, or the first one for NULL/"" ; NULL if none. */
const struct daemon_iface *daemon_opts_iface(const struct daemon_opts *o, const char *name);

#endif
