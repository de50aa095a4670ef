// SPDX-License-Identifier: GPL-2.0-only
/* daemon_opts: icepathd command line and config file (see daemon_opts.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "icepath/compiler.h"

#include "daemon_opts.h"

static const char *const xdp_mode_names[] = {
	[DAEMON_XDP_NATIVE] = "native",
	[DAEMON_XDP_GENERIC] = "generic",
	[DAEMON_XDP_OFF] = "off",
};

static const char *const learning_names[] = {
	[DAEMON_LEARN_HEURISTIC] = "heuristic",
	[DAEMON_LEARN_DELAYED] = "delayed",
	[DAEMON_LEARN_IMMEDIATE] = "immediate",
	[DAEMON_LEARN_OFF] = "off",
};

const char *daemon_learning_str(enum daemon_learning m)
{
	if ((size_t)m >= ARRAY_SIZE(learning_names) || !learning_names[m])
		return "?";
	return learning_names[m];
}

const char *daemon_xdp_mode_str(enum daemon_xdp_mode m)
{
	if ((unsigned)m < ARRAY_SIZE(xdp_mode_names))
		return xdp_mode_names[m];
	return "?";
}

void daemon_opts_defaults(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	netaddr_parse(&o->listen_ng, DAEMON_DEFAULT_NG, -1);
	o->port_min = DAEMON_DEFAULT_PORT_MIN;
	o->port_max = DAEMON_DEFAULT_PORT_MAX;
	o->xdp = DAEMON_XDP_NATIVE;
	snprintf(o->pin_path, sizeof(o->pin_path), "%s", DAEMON_DEFAULT_PIN_PATH);
	snprintf(o->state_file, sizeof(o->state_file), "%s", DAEMON_DEFAULT_STATE_FILE);
	o->log_level = DAEMON_LOG_INFO;
	o->inactivity_s = DAEMON_DEFAULT_INACTIVITY;
	o->media_threads = -1; /* one per CPU */
	o->gather_timeout_ms = DAEMON_DEFAULT_GATHER_TIMEOUT_MS;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* HOST:PORT or [V6]:PORT; HOST may be a name (resolved once, at startup). */
static int parse_hostport(struct netaddr *a, const char *s, int default_port)
{
	char host[256];
	const char *colon, *port_s;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	unsigned long port;

	if (netaddr_parse(a, s, default_port) == 0)
		return 0;
	colon = strrchr(s, ':');
	if (!colon || s[0] == '[') {
		if (default_port < 0)
			return -EINVAL;
		snprintf(host, sizeof(host), "%s", s);
		port = (unsigned long)default_port;
	} else {
		port_s = colon + 1;
		if (parse_uint(port_s, 65535, &port) || (size_t)(colon - s) >= sizeof(host) ||
		    colon == s)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	netaddr_set_port(a, (uint16_t)port);
	return 0;
}

static int set_interface(struct daemon_opts *o, const char *v, char *err, size_t errlen)
{
	struct daemon_iface *ifc;
	char buf[160], *addr, *adv, *eq;

	if (o->nifaces >= DAEMON_MAX_INTERFACES)
		return fail(err, errlen, "--interface: at most %d interfaces",
			    DAEMON_MAX_INTERFACES);
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return fail(err, errlen, "--interface '%s': too long", v);
	ifc = &o->ifaces[o->nifaces];
	memset(ifc, 0, sizeof(*ifc));
	eq = strchr(buf, '=');
	if (eq) {
		*eq = 0;
		addr = eq + 1;
		if (!*buf || strlen(buf) >= sizeof(ifc->name))
			return fail(err, errlen,
				    "--interface '%s': NAME must be 1-%zu characters before '='", v,
				    sizeof(ifc->name) - 1);
		snprintf(ifc->name, sizeof(ifc->name), "%s", buf);
	} else {
		addr = buf;
		snprintf(ifc->name, sizeof(ifc->name), "default");
	}
	adv = strchr(addr, '!');
	if (adv)
		*adv++ = 0;
	if (netaddr_from_str(&ifc->local, addr, 0))
		return fail(err, errlen,
			    "--interface '%s': '%s' is not an IPv4/IPv6 address (expected "
			    "NAME=ADDR[!ADVERTISED])",
			    v, addr);
	if (netaddr_is_any(&ifc->local))
		return fail(err, errlen,
			    "--interface '%s': the wildcard address cannot be advertised; give the "
			    "interface's own address",
			    v);
	ifc->advertised = ifc->local;
	if (adv && netaddr_from_str(&ifc->advertised, adv, 0))
		return fail(err, errlen,
			    "--interface '%s': advertised address '%s' is not an IP address", v,
			    adv);
	if (netaddr_family(&ifc->advertised) != netaddr_family(&ifc->local))
		return fail(err, errlen,
			    "--interface '%s': address and advertised address differ in family", v);
	for (unsigned i = 0; i < o->nifaces; i++)
		if (strcmp(o->ifaces[i].name, ifc->name) == 0)
			return fail(err, errlen, "--interface '%s': name '%s' given twice", v,
				    ifc->name);
	o->nifaces++;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!v || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int set_string(char *dst, size_t cap, const char *key, const char *v, char *err,
		      size_t errlen)
{
	if (!v || !*v)
		return fail(err, errlen, "--%s needs a value", key);
	if (strlen(v) >= cap)
		return fail(err, errlen, "--%s: value longer than %zu bytes", key, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Options that take a value; foreground, help and version take none. */
static const char *const value_keys[] = {
	"interface", "listen-ng",  "port-min", "port-max",   "xdp",	  "stun",
	"turn",	     "turn-user",  "turn-pass", "pin-path",  "state-file", "pidfile",
	"config",    "log-level", "inactivity-timeout", "endpoint-learning", "max-sessions", "ng-allow",
	"user",	     "group",	   "turn-pass-file", "metrics", "metrics-allow", "gather-timeout",
	"dtls-cert", "dtls-key", "media-threads",
	"redis",     "redis-role", "redis-user", "redis-pass-file",
};

static bool takes_value(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(value_keys); i++)
		if (!strcmp(key, value_keys[i]))
			return true;
	return false;
}

/* ---- deploy: --metrics, --metrics-allow ------------------------------------- */

bool daemon_cidr_match(const struct daemon_cidr *c, const struct netaddr *addr)
{
	struct netaddr a = *addr;
	const uint8_t *x, *y;
	unsigned bits = c->prefix, i;

	netaddr_unmap_v4(&a);
	if (netaddr_family(&a) != netaddr_family(&c->net))
		return false;
	if (netaddr_family(&a) == AF_INET) {
		x = (const uint8_t *)&a.in.sin_addr;
		y = (const uint8_t *)&c->net.in.sin_addr;
	} else {
		x = a.in6.sin6_addr.s6_addr;
		y = c->net.in6.sin6_addr.s6_addr;
	}
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (x[i] != y[i])
			return false;
	return !bits || !((x[i] ^ y[i]) & (uint8_t)(0xff00u >> bits));
}

static int set_metrics(struct daemon_opts *o, const char *v, char *err, size_t errlen)
{
	char buf[96];
	unsigned long port;

	/* a bare port: loopback, so nothing is exposed by accident */
	if (!parse_uint(v, 65535, &port)) {
		snprintf(buf, sizeof(buf), "%s:%lu", DAEMON_DEFAULT_METRICS_HOST, port);
		v = buf;
	}
	if (netaddr_parse(&o->metrics, v, -1) || !netaddr_port(&o->metrics))
		return fail(err, errlen,
			    "--metrics '%s': expected [ADDR:]PORT, e.g. 127.0.0.1:9464 or 9464", v);
	return 0;
}

static int set_metrics_allow(struct daemon_opts *o, const char *v, char *err, size_t errlen)
{
	struct daemon_cidr *c;
	char buf[64], *slash;
	unsigned long bits;
	unsigned max;

	if (o->n_metrics_allow >= DAEMON_MAX_METRICS_ALLOW)
		return fail(err, errlen, "--metrics-allow: at most %d networks",
			    DAEMON_MAX_METRICS_ALLOW);
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return fail(err, errlen, "--metrics-allow '%s': too long", v);
	c = &o->metrics_allow[o->n_metrics_allow];
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (netaddr_from_str(&c->net, buf, 0))
		return fail(err, errlen,
			    "--metrics-allow '%s': expected ADDR/PREFIX, e.g. 192.0.2.0/24", v);
	max = netaddr_family(&c->net) == AF_INET ? 32 : 128;
	bits = max;
	if (slash && parse_uint(slash, max, &bits))
		return fail(err, errlen, "--metrics-allow '%s': prefix must be 0-%u", v, max);
	c->prefix = (unsigned)bits;
	o->n_metrics_allow++;
	return 0;
}

/* The deploy options; 1 when key is none of them. */
/* --redis HOST:PORT[/DB] */
static int set_redis(struct daemon_opts *o, const char *v, char *err, size_t errlen)
{
	char hp[300];
	const char *slash = strrchr(v, '/');
	unsigned long db = 0;

	if (strlen(v) >= sizeof(hp))
		return fail(err, errlen, "--redis '%s': too long", v);
	snprintf(hp, sizeof(hp), "%s", v);
	if (slash) {
		hp[slash - v] = '\0';
		if (parse_uint(slash + 1, 65535, &db))
			return fail(err, errlen, "--redis '%s': /DB must be a database number", v);
	}
	if (parse_hostport(&o->redis, hp, 6379))
		return fail(err, errlen, "--redis '%s': expected HOST:PORT[/DB]", v);
	o->redis_db = (unsigned)db;
	return 0;
}

static int set_deploy(struct daemon_opts *o, const char *key, const char *v, char *err,
		      size_t errlen)
{
	if (!strcmp(key, "metrics"))
		return set_metrics(o, v, err, errlen);
	if (!strcmp(key, "metrics-allow"))
		return set_metrics_allow(o, v, err, errlen);
	if (!strcmp(key, "redis"))
		return set_redis(o, v, err, errlen);
	if (!strcmp(key, "redis-role")) {
		if (strcmp(v, "active") && strcmp(v, "standby"))
			return fail(err, errlen, "--redis-role '%s': expected active or standby", v);
		o->redis_standby = !strcmp(v, "standby");
		return 0;
	}
	if (!strcmp(key, "redis-user"))
		return set_string(o->redis_user, sizeof(o->redis_user), key, v, err, errlen);
	if (!strcmp(key, "redis-pass-file"))
		return set_string(o->redis_pass_file, sizeof(o->redis_pass_file), key, v, err,
				  errlen);
	return 1;
}

/* ---- end deploy ------------------------------------------------------------- */

int daemon_opts_set(struct daemon_opts *o, const char *key, const char *v, char *err, size_t errlen)
{
	unsigned long n;
	int rc;

	if (!strcmp(key, "foreground"))
		return parse_bool(v, &o->foreground)
			       ? fail(err, errlen, "foreground: '%s' is not yes/no", v)
			       : 0;
	if (!strcmp(key, "help")) {
		o->help = true;
		return 0;
	}
	if (!strcmp(key, "version")) {
		o->version = true;
		return 0;
	}
	if (!takes_value(key))
		return fail(err, errlen, "unknown option '%s' (see icepathd --help)", key);
	if (!v)
		return fail(err, errlen, "--%s needs a value", key);
	if (!strcmp(key, "interface"))
		return set_interface(o, v, err, errlen);
	if (!strcmp(key, "listen-ng")) {
		if (netaddr_parse(&o->listen_ng, v, -1))
			return fail(err, errlen,
				    "--listen-ng '%s': expected ADDR:PORT, e.g. 127.0.0.1:2223", v);
		return 0;
	}
	if (!strcmp(key, "port-min") || !strcmp(key, "port-max")) {
		if (parse_uint(v, 65535, &n) || n < 1024)
			return fail(err, errlen, "--%s '%s': expected a port number 1024-65535",
				    key, v);
		if (key[6] == 'i')
			o->port_min = (uint16_t)n;
		else
			o->port_max = (uint16_t)n;
		return 0;
	}
	if (!strcmp(key, "xdp")) {
		if (!strcmp(v, "native"))
			o->xdp = DAEMON_XDP_NATIVE;
		else if (!strcmp(v, "generic"))
			o->xdp = DAEMON_XDP_GENERIC;
		else if (!strcmp(v, "off"))
			o->xdp = DAEMON_XDP_OFF;
		else
			return fail(err, errlen, "--xdp '%s': expected native, generic or off", v);
		return 0;
	}
	if (!strcmp(key, "stun") || !strcmp(key, "turn")) {
		/* RFC 8489 §18.6: 3478 is the default STUN/TURN port over UDP */
		if (parse_hostport(key[0] == 's' && key[1] == 't' ? &o->stun : &o->turn, v, 3478))
			return fail(err, errlen, "--%s '%s': expected HOST:PORT", key, v);
		return 0;
	}
	if (!strcmp(key, "turn-user"))
		return set_string(o->turn_user, sizeof(o->turn_user), key, v, err, errlen);
	if (!strcmp(key, "turn-pass"))
		return set_string(o->turn_pass, sizeof(o->turn_pass), key, v, err, errlen);
	if (!strcmp(key, "pin-path"))
		return set_string(o->pin_path, sizeof(o->pin_path), key, v, err, errlen);
	if (!strcmp(key, "state-file"))
		return set_string(o->state_file, sizeof(o->state_file), key, v, err, errlen);
	if (!strcmp(key, "dtls-cert"))
		return set_string(o->dtls_cert, sizeof(o->dtls_cert), key, v, err, errlen);
	if (!strcmp(key, "dtls-key"))
		return set_string(o->dtls_key, sizeof(o->dtls_key), key, v, err, errlen);
	if (!strcmp(key, "pidfile"))
		return set_string(o->pidfile, sizeof(o->pidfile), key, v, err, errlen);
	if (!strcmp(key, "config"))
		return set_string(o->config, sizeof(o->config), key, v, err, errlen);
	if (!strcmp(key, "log-level")) {
		if (daemon_log_level_from_str(v, &o->log_level))
			return fail(err, errlen,
				    "--log-level '%s': expected error, warn, info or debug", v);
		return 0;
	}
	if (!strcmp(key, "max-sessions")) {
		/* rtpengine spells "no limit" -1 */
		if (!strcmp(v, "-1")) {
			o->max_sessions = 0;
			return 0;
		}
		if (parse_uint(v, 1000000, &n) || n == 0)
			return fail(err, errlen,
				    "--max-sessions '%s': expected a number of calls 1-1000000 "
				    "(-1: no limit but the port range)",
				    v);
		o->max_sessions = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "ng-allow")) {
		char why[200];

		if (ng_allow_parse(v, o->ng_allow, NG_ALLOW_MAX, &o->n_ng_allow, why, sizeof(why)))
			return fail(err, errlen, "--ng-allow '%s': %s", v, why);
		return 0;
	}
	if (!strcmp(key, "user"))
		return set_string(o->user, sizeof(o->user), key, v, err, errlen);
	if (!strcmp(key, "group"))
		return set_string(o->group, sizeof(o->group), key, v, err, errlen);
	if (!strcmp(key, "turn-pass-file"))
		return set_string(o->turn_pass_file, sizeof(o->turn_pass_file), key, v, err,
				  errlen);
	if ((rc = set_deploy(o, key, v, err, errlen)) <= 0)
		return rc;
	if (!strcmp(key, "endpoint-learning")) {
		for (unsigned i = 0; i <= DAEMON_LEARN_OFF; i++) {
			if (!strcmp(v, daemon_learning_str((enum daemon_learning)i))) {
				o->learning = (enum daemon_learning)i;
				return 0;
			}
		}
		return fail(err, errlen,
			    "--endpoint-learning '%s': expected heuristic, delayed, immediate or off",
			    v);
	}
	if (!strcmp(key, "gather-timeout")) {
		if (parse_uint(v, DAEMON_GATHER_TIMEOUT_MAX_MS, &n))
			return fail(err, errlen,
				    "--gather-timeout '%s': expected milliseconds 0-%u", v,
				    DAEMON_GATHER_TIMEOUT_MAX_MS);
		o->gather_timeout_ms = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "media-threads")) {
		if (parse_uint(v, DAEMON_MEDIA_THREADS_MAX, &n))
			return fail(err, errlen, "--media-threads '%s': expected a count 0-%u", v,
				    DAEMON_MEDIA_THREADS_MAX);
		o->media_threads = (int)n;
		return 0;
	}
	if (!strcmp(key, "inactivity-timeout")) {
		if (parse_uint(v, 86400, &n))
			return fail(err, errlen,
				    "--inactivity-timeout '%s': expected seconds 0-86400", v);
		o->inactivity_s = (unsigned)n;
		return 0;
	}
	return fail(err, errlen, "unknown option '%s' (see icepathd --help)", key);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static void warn(struct daemon_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct daemon_opts *o, const char *fmt, ...)
{
	size_t used = strlen(o->warnings);
	va_list ap;

	if (used + 2 >= sizeof(o->warnings))
		return;
	va_start(ap, fmt);
	vsnprintf(o->warnings + used, sizeof(o->warnings) - used - 1, fmt, ap);
	va_end(ap);
	used = strlen(o->warnings);
	o->warnings[used] = '\n';
	o->warnings[used + 1] = 0;
}

int daemon_opts_load_buf(struct daemon_opts *o, const char *name, const char *buf, size_t len,
			 char *err, size_t errlen)
{
	char line[512], sub[256], *k, *v, *eq, *hash;
	unsigned lineno = 0;
	size_t pos = 0;
	int rc;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		lineno++;
		if (n >= sizeof(line) - 1)
			return fail(err, errlen, "%s:%u: line longer than %zu bytes", name, lineno,
				    sizeof(line) - 2);
		if (memchr(buf + pos, 0, n))
			return fail(err, errlen, "%s:%u: NUL byte in line", name, lineno);
		memcpy(line, buf + pos, n);
		line[n] = 0;
		pos += n + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		v = NULL;
		if (eq) {
			*eq = 0;
			v = trim(eq + 1);
		}
		k = trim(k);
		if (!strcmp(k, "config"))
			return fail(err, errlen, "%s:%u: 'config' cannot be nested", name, lineno);
		rc = daemon_opts_set(o, k, v, sub, sizeof(sub));
		if (rc)
			return fail(err, errlen, "%s:%u: %s", name, lineno, sub);
	}
	return 0;
}

int daemon_opts_load_file(struct daemon_opts *o, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "--config %s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)DAEMON_CONFIG_MAX) {
		close(fd);
		return fail(err, errlen, "--config %s: not a regular file of at most %u bytes", path,
			    DAEMON_CONFIG_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return fail(err, errlen, "--config %s: out of memory", path);
	}
	while (len < (size_t)st.st_size &&
	       (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = daemon_opts_load_buf(o, path, buf, len, err, errlen);
	free(buf);
	if (!rc && o->turn_pass[0] && (st.st_mode & 077))
		warn(o,
		     "--config %s holds turn-pass and is readable by others (mode %04o); chmod 600 "
		     "it, or move the password to --turn-pass-file",
		     path, (unsigned)(st.st_mode & 07777));
	return rc;
}

/* --turn-pass-file, --redis-pass-file (opt): the first line into dst (cap
 * bytes), owner root or the daemon's user, 0600; what: whose password. */
static int read_secret(struct daemon_opts *o, const char *opt, const char *path, char *dst,
		       size_t cap, const char *what, char *err, size_t errlen)
{
	char buf[DAEMON_CRED_MAX + 2];
	struct stat st;
	ssize_t n;
	char *nl;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "%s %s: cannot open: %s%s", opt, path, strerror(errno),
			    errno == ELOOP ? " (a symbolic link: give the file itself)" : "");
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s %s: not a regular file", opt, path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail(err, errlen,
			    "%s %s: mode %04o lets other users read the %s password; chmod 600 %s",
			    opt, path, (unsigned)(st.st_mode & 07777), what, path);
	}
	if (st.st_uid != 0 && !(o->drop_privileges && st.st_uid == o->run_uid)) {
		close(fd);
		return fail(err, errlen, "%s %s: owned by uid %u; it must belong to root%s", opt,
			    path, (unsigned)st.st_uid, o->drop_privileges ? " or the --user" : "");
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fail(err, errlen, "%s %s: cannot read: %s", opt, path, strerror(errno));
	buf[n] = 0;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	if (nl && nl > buf && nl[-1] == '\r')
		nl[-1] = 0;
	if (!nl && (size_t)n == sizeof(buf) - 1)
		return fail(err, errlen, "%s %s: password longer than %d bytes", opt, path,
			    DAEMON_CRED_MAX - 1);
	if (!buf[0] || strlen(buf) >= cap)
		return fail(err, errlen, "%s %s: %s", opt, path,
			    buf[0] ? "password too long" : "empty first line: no password");
	memcpy(dst, buf, strlen(buf) + 1);
	memset(buf, 0, sizeof(buf));
	return 0;
}

/* --user/--group to ids, now: a typo fails at startup, not after setup. */
static int resolve_user(struct daemon_opts *o, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	if (o->group[0] && !o->user[0])
		return fail(err, errlen,
			    "--group %s needs --user: the daemon would keep running as root", o->group);
	if (!o->user[0])
		return 0;
	errno = 0;
	pw = getpwnam(o->user);
	if (!pw)
		return fail(err, errlen, "--user %s: no such user%s%s (create a system user, e.g. "
			    "adduser --system --group %s)",
			    o->user, errno ? ": " : "", errno ? strerror(errno) : "", o->user);
	if (pw->pw_uid == 0)
		return fail(err, errlen, "--user %s: is uid 0; give an unprivileged user", o->user);
	o->run_uid = pw->pw_uid;
	o->run_gid = pw->pw_gid;
	if (o->group[0]) {
		errno = 0;
		gr = getgrnam(o->group);
		if (!gr)
			return fail(err, errlen, "--group %s: no such group", o->group);
		o->run_gid = gr->gr_gid;
	}
	o->drop_privileges = true;
	return 0;
}

unsigned daemon_opts_ports(const struct daemon_opts *o)
{
	return o->port_max >= o->port_min ? (unsigned)(o->port_max - o->port_min) + 1 : 0;
}

unsigned daemon_opts_session_cap(const struct daemon_opts *o)
{
	/* a call with one m= line holds an RTP/RTCP port pair on each leg */
	unsigned by_ports = daemon_opts_ports(o) / 4;

	if (o->max_sessions && o->max_sessions < by_ports)
		return o->max_sessions;
	return by_ports;
}

static int check(struct daemon_opts *o, char *err, size_t errlen)
{
	int rc;

	if (o->help || o->version)
		return 0;
	if (!o->dtls_cert[0] != !o->dtls_key[0])
		return fail(err, errlen, "--%s given without --%s: give both PEM files or neither "
			    "(neither: a fresh certificate is made at start)",
			    o->dtls_cert[0] ? "dtls-cert" : "dtls-key",
			    o->dtls_cert[0] ? "dtls-key" : "dtls-cert");
	if (!o->nifaces)
		return fail(err, errlen,
			    "no --interface given: name at least one local address for media, e.g. "
			    "--interface pub=192.0.2.10");
	/* RTP even, RTCP odd (RFC 3550 §11): the range must hold one pair */
	if (o->port_min >= o->port_max)
		return fail(err, errlen, "--port-min %u is not below --port-max %u", o->port_min,
			    o->port_max);
	if (o->redis_standby && !netaddr_family(&o->redis))
		return fail(err, errlen,
			    "--redis-role standby needs --redis HOST:PORT: the calls it takes "
			    "over come from there");
	if (!netaddr_is_loopback(&o->listen_ng) && !o->n_ng_allow) {
		char buf[NETADDR_STRLEN];

		return fail(err, errlen,
			    "--listen-ng %s is not a loopback address: whoever reaches it controls "
			    "every call (and NG over UDP is trivially spoofed); give --ng-allow "
			    "CIDR[,CIDR...] with the SIP proxies' addresses",
			    netaddr_str(&o->listen_ng, buf, sizeof(buf)));
	}
	rc = resolve_user(o, err, errlen);
	if (rc)
		return rc;
	if (o->turn_pass_file[0]) {
		if (o->turn_pass[0])
			return fail(err, errlen,
				    "--turn-pass and --turn-pass-file both given: keep the file");
		rc = read_secret(o, "--turn-pass-file", o->turn_pass_file, o->turn_pass,
				 sizeof(o->turn_pass), "TURN", err, errlen);
		if (rc)
			return rc;
	}
	if (o->redis_pass_file[0]) {
		if (!netaddr_family(&o->redis))
			return fail(err, errlen,
				    "--redis-pass-file without --redis HOST:PORT: nothing to "
				    "authenticate to");
		rc = read_secret(o, "--redis-pass-file", o->redis_pass_file, o->redis_pass,
				 sizeof(o->redis_pass), "Redis", err, errlen);
		if (rc)
			return rc;
	}
	if (o->redis_user[0] && !o->redis_pass[0])
		return fail(err, errlen,
			    "--redis-user %s needs --redis-pass-file FILE: Redis' AUTH takes a "
			    "user and a password",
			    o->redis_user);
	if (netaddr_family(&o->turn) && (!o->turn_user[0] || !o->turn_pass[0]))
		return fail(err, errlen,
			    "--turn needs --turn-user and --turn-pass-file (long-term credentials)");
	if (o->turn_pass_on_cmdline)
		warn(o, "--turn-pass on the command line is visible to every local user (ps, "
			"/proc/PID/cmdline); put the password in a mode 0600 file and give "
			"--turn-pass-file");
	return 0;
}

int daemon_opts_parse(struct daemon_opts *o, int argc, char *const argv[], char *err, size_t errlen)
{
	char sub[256], key[64];
	const char *a, *v, *eq;
	int rc, i;

	/* the file first, so any command-line option overrides it */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			rc = daemon_opts_load_file(o, argv[i + 1], err, errlen);
			if (rc)
				return rc;
		} else if (!strncmp(argv[i], "--config=", 9)) {
			rc = daemon_opts_load_file(o, argv[i] + 9, err, errlen);
			if (rc)
				return rc;
		}
	}
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "-h"))
			a = "--help";
		if (strncmp(a, "--", 2) != 0 || !a[2])
			return fail(err, errlen, "unexpected argument '%s' (options start with --)",
				    a);
		a += 2;
		eq = strchr(a, '=');
		if (eq) {
			if ((size_t)(eq - a) >= sizeof(key))
				return fail(err, errlen, "unknown option '--%s'", a);
			memcpy(key, a, (size_t)(eq - a));
			key[eq - a] = 0;
			v = eq + 1;
		} else {
			snprintf(key, sizeof(key), "%s", a);
			v = NULL;
			if (takes_value(key)) {
				if (i + 1 >= argc)
					return fail(err, errlen, "--%s needs a value", key);
				v = argv[++i];
			}
		}
		if (!strcmp(key, "config"))
			continue;
		if (!strcmp(key, "turn-pass"))
			o->turn_pass_on_cmdline = true;
		rc = daemon_opts_set(o, key, v, sub, sizeof(sub));
		if (rc)
			return fail(err, errlen, "%s", sub);
	}
	return check(o, err, errlen);
}

const struct daemon_iface *daemon_opts_iface(const struct daemon_opts *o, const char *name)
{
	if (!o->nifaces)
		return NULL;
	if (!name || !*name)
		return &o->ifaces[0];
	for (unsigned i = 0; i < o->nifaces; i++)
		if (!strcmp(o->ifaces[i].name, name))
			return &o->ifaces[i];
	return NULL;
}
