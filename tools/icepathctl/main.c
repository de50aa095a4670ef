// SPDX-License-Identifier: GPL-2.0-only
/* icepathctl: control and watch icepathd over the NG protocol. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icepath/monotime.h"
#include "icepath/ng_client.h"
#include "icepathctl.h"

#define CTL_EXIT_OK	   0
#define CTL_EXIT_ERROR	   1 /* the server answered "error" */
#define CTL_EXIT_USAGE	   2
#define CTL_EXIT_NO_REPLY  3 /* timeout, refused, network error */
#define CTL_EXIT_BAD_REPLY 4 /* a reply that is not valid NG */

static const char usage_text[] =
	"NAME\n"
	"    icepathctl - control and watch icepathd over the NG protocol\n"
	"\n"
	"SYNOPSIS\n"
	"    icepathctl [OPTIONS] ping\n"
	"    icepathctl [OPTIONS] list [--limit N]\n"
	"    icepathctl [OPTIONS] query CALL-ID [--from-tag TAG]\n"
	"    icepathctl [OPTIONS] delete CALL-ID [--from-tag TAG] [--fatal]\n"
	"    icepathctl [OPTIONS] stats\n"
	"    icepathctl [OPTIONS] top [--interval SECONDS] [--count N] [--limit N]\n"
	"    icepathctl [OPTIONS] raw BENCODED-DICT | raw --send-file FILE\n"
	"    icepathctl [OPTIONS] metrics [--metrics ADDR:PORT]\n"
	"\n"
	"DESCRIPTION\n"
	"    icepathctl talks to icepathd (or any rtpengine-compatible media relay) with\n"
	"    the NG control protocol that Kamailio and OpenSIPS use: one UDP datagram\n"
	"    \"COOKIE bencoded-dictionary\" per request and per reply. A request that gets\n"
	"    no reply within --timeout is sent again, byte for byte with the same cookie,\n"
	"    --retries times; the server's cookie cache makes sure it runs only once.\n"
	"\n"
	"COMMANDS\n"
	"    ping      Check that the server answers; prints the round-trip time.\n"
	"    list      Print the call-ids of active calls, one per line (at most\n"
	"              --limit, default 32, as rtpengine).\n"
	"    query     Show one call: per leg the SIP tag, label, ICE state, consent\n"
	"              state and selected candidate pair; per stream the local port,\n"
	"              peer, whether it is forwarded by the XDP fast path or in\n"
	"              userspace, and packet/byte counters of both paths.\n"
	"    delete    Delete a call; with --from-tag, only the dialogue of that tag\n"
	"              (the server decides, as rtpengine does).\n"
	"              Deleting an unknown call is a warning unless --fatal is given.\n"
	"    stats     Server totals: calls, fast path flows, packets and bytes\n"
	"              forwarded on the fast path and in userspace.\n"
	"    top       A live table of calls with packets per second on the fast path\n"
	"              and in userspace, computed from successive queries. Refreshes\n"
	"              every --interval seconds (default 1) until interrupted, or\n"
	"              --count times. The screen is cleared between frames only when\n"
	"              standard output is a terminal.\n"
	"    metrics   Fetch icepathd's Prometheus metrics (HTTP GET /metrics on\n"
	"              --metrics, icepathd's --metrics address) and print every figure:\n"
	"              calls and legs by state, streams and packets/bytes per path and\n"
	"              direction, XDP verdicts, drops by reason, ICE time to a selected\n"
	"              pair, consent losses, NG requests, media ports, process and BPF\n"
	"              map memory. --json prints them as one JSON object.\n"
	"    raw       Send a bencoded dictionary as it is (icepathctl adds the cookie)\n"
	"              and print the reply as JSON; for debugging. --send-file reads\n"
	"              the dictionary from FILE (\"-\" for standard input).\n"
	"\n"
	"OPTIONS\n"
	"    -s, --server ADDR:PORT  NG address of the server (default 127.0.0.1:2223;\n"
	"                            IPv6 as [ADDR]:PORT).\n"
	"    -t, --timeout MS        Wait this long for each reply (default 1000).\n"
	"    -r, --retries N         Resend a request N more times (default 2).\n"
	"    -j, --json              Print the reply dictionary as JSON (top: one JSON\n"
	"                            object per frame and line).\n"
	"    -f, --from-tag TAG      query/delete: select the leg with this tag.\n"
	"        --fatal             delete: an unknown call is an error.\n"
	"    -l, --limit N           list/top: at most N calls (1..1024).\n"
	"    -i, --interval SECONDS  top: time between frames (0.1..3600, default 1).\n"
	"    -c, --count N           top: stop after N frames (default: run until\n"
	"                            interrupted).\n"
	"        --send-file FILE    raw: read the request dictionary from FILE.\n"
	"    -m, --metrics ADDR:PORT metrics: icepathd's metrics address (default\n"
	"                            127.0.0.1:9464).\n"
	"    -h, --help              Show this help.\n"
	"\n"
	"OUTPUT\n"
	"    Human-readable tables by default; --json for scripts. Warnings from the\n"
	"    server (\"warning\" key) go to standard error.\n"
	"\n"
	"EXIT STATUS\n"
	"    0  success\n"
	"    1  the server answered with \"result\": \"error\" (the reason is printed)\n"
	"    2  usage error\n"
	"    3  no reply: timeout, connection refused, or a network error\n"
	"    4  the reply is not a valid NG message\n"
	"\n"
	"EXAMPLES\n"
	"    icepathctl ping\n"
	"    icepathctl --server 192.0.2.1:2223 query a84b4c76e66710@pc33.atlanta.com\n"
	"    icepathctl --json stats | jq .statistics.icepath\n"
	"    icepathctl top --interval 2\n"
	"    icepathctl raw 'd7:command4:pinge'\n";

struct ctl {
	struct ng_client client;
	char server[NETADDR_STRLEN];
	bool json;
	const char *from_tag;
	bool fatal;
	long limit;
	double interval;
	long count;
	const char *send_file;
	const char *metrics; /* NULL: CTL_METRICS_DEFAULT */
	unsigned timeout_ms;
	uint8_t reply[NG_DGRAM_MAX];
	struct ng_reply rep;
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("icepathctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'icepathctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Exchange req; report transport failures and server errors; 0 when "ok"/"pong". */
static int ctl_call(struct ctl *c, struct ng_request *req, ssize_t *len)
{
	char why[NG_REASON_MAX];
	ssize_t n = ng_client_call(&c->client, req, c->reply, sizeof(c->reply), &c->rep, why,
				   sizeof(why));

	if (n == -ETIMEDOUT) {
		fprintf(stderr,
			"icepathctl: %s: no reply from %s after %u attempts of %u ms; is icepathd "
			"running and listening for NG on that address?\n",
			ng_command_str(req->cmd), c->server, c->client.attempts,
			c->client.timeout_ms);
		return CTL_EXIT_NO_REPLY;
	}
	if (n == -ECONNREFUSED) {
		fprintf(stderr,
			"icepathctl: %s: %s refused the request (nothing listens there); start "
			"icepathd or pass --server\n",
			ng_command_str(req->cmd), c->server);
		return CTL_EXIT_NO_REPLY;
	}
	if (n == -EBADMSG) {
		fprintf(stderr, "icepathctl: %s: invalid reply from %s: %s\n",
			ng_command_str(req->cmd), c->server, why);
		return CTL_EXIT_BAD_REPLY;
	}
	if (n < 0) {
		fprintf(stderr, "icepathctl: %s: cannot talk to %s: %s\n", ng_command_str(req->cmd),
			c->server, strerror((int)-n));
		return CTL_EXIT_NO_REPLY;
	}
	*len = n;
	if (c->rep.warning[0])
		fprintf(stderr, "icepathctl: %s: warning from server: %s\n",
			ng_command_str(req->cmd), c->rep.warning);
	if (c->rep.result == NG_RESULT_ERROR) {
		fprintf(stderr, "icepathctl: %s: error from server: %s\n", ng_command_str(req->cmd),
			c->rep.error_reason);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* The reply's dictionary as JSON (the cookie and its space stripped). */
static int ctl_print_json(struct ctl *c, ssize_t n)
{
	const uint8_t *sp = memchr(c->reply, ' ', (size_t)n);

	if (!sp || ctl_json(stdout, sp + 1, (size_t)(n - (sp + 1 - c->reply)))) {
		fprintf(stderr, "icepathctl: reply is not a bencoded dictionary\n");
		return CTL_EXIT_BAD_REPLY;
	}
	return CTL_EXIT_OK;
}

static int set_call_id(struct ng_request *req, const char *id, const char *cmd)
{
	if (strlen(id) > NG_CALL_ID_MAX)
		return usage_error("%s: call-id is %zu bytes; at most %d", cmd, strlen(id),
				   NG_CALL_ID_MAX);
	strcpy(req->call_id, id);
	return 0;
}

static int set_from_tag(struct ctl *c, struct ng_request *req)
{
	if (!c->from_tag)
		return 0;
	if (strlen(c->from_tag) > NG_TAG_MAX)
		return usage_error("--from-tag is %zu bytes; at most %d", strlen(c->from_tag),
				   NG_TAG_MAX);
	strcpy(req->from_tag, c->from_tag);
	return 0;
}

static int cmd_simple(struct ctl *c, enum ng_command cmd, const char *call_id)
{
	struct ng_request req;
	ssize_t n = 0;
	int rc;

	ng_request_init(&req, cmd);
	if (call_id && (rc = set_call_id(&req, call_id, ng_command_str(cmd))))
		return rc;
	if ((rc = set_from_tag(c, &req)))
		return rc;
	if (c->fatal)
		req.flags |= NG_FLAG_FATAL;
	if (c->limit)
		req.limit = c->limit;
	rc = ctl_call(c, &req, &n);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->json)
		return ctl_print_json(c, n);
	switch (cmd) {
	case NG_CMD_PING:
		printf("pong from %s in %.3f ms (%u attempt%s)\n", c->server,
		       (double)c->client.rtt_us / 1000.0, c->client.attempts,
		       c->client.attempts == 1 ? "" : "s");
		break;
	case NG_CMD_LIST:
		ctl_print_list(stdout, &c->rep);
		break;
	case NG_CMD_QUERY:
		ctl_print_query(stdout, call_id, &c->rep, time(NULL));
		break;
	case NG_CMD_DELETE:
		printf("deleted %s%s%s\n", call_id, c->from_tag ? " tag " : "",
		       c->from_tag ? c->from_tag : "");
		break;
	case NG_CMD_STATISTICS:
		if (!c->rep.has_statistics) {
			fprintf(stderr, "icepathctl: stats: reply has no 'statistics'\n");
			return CTL_EXIT_BAD_REPLY;
		}
		ctl_print_stats(stdout, &c->rep.stats);
		break;
	default:
		break;
	}
	return CTL_EXIT_OK;
}

static int cmd_raw(struct ctl *c, const char *body)
{
	uint8_t dgram[NG_DGRAM_MAX];
	char cookie[NG_COOKIE_MAX + 1];
	size_t len, blen;
	ssize_t n;

	ng_client_cookie(&c->client, cookie, sizeof(cookie));
	len = (size_t)snprintf((char *)dgram, sizeof(dgram), "%s ", cookie);
	if (c->send_file) {
		FILE *f = strcmp(c->send_file, "-") ? fopen(c->send_file, "rb") : stdin;

		if (!f) {
			fprintf(stderr, "icepathctl: raw: cannot open %s: %s\n", c->send_file,
				strerror(errno));
			return CTL_EXIT_USAGE;
		}
		blen = fread(dgram + len, 1, sizeof(dgram) - len, f);
		if (!feof(f)) {
			fprintf(stderr,
				"icepathctl: raw: %s is larger than a datagram (%zu bytes)\n",
				c->send_file, sizeof(dgram) - len);
			if (f != stdin)
				fclose(f);
			return CTL_EXIT_USAGE;
		}
		if (f != stdin)
			fclose(f);
	} else {
		blen = strlen(body);
		if (blen > sizeof(dgram) - len)
			return usage_error("raw: request is larger than a datagram");
		memcpy(dgram + len, body, blen);
	}
	n = ng_client_exchange(&c->client, cookie, dgram, len + blen, c->reply, sizeof(c->reply));
	if (n < 0) {
		fprintf(stderr, "icepathctl: raw: no reply from %s: %s\n", c->server,
			n == -ETIMEDOUT ? "timed out" : strerror((int)-n));
		return CTL_EXIT_NO_REPLY;
	}
	return ctl_print_json(c, n);
}

/* Previous frame's rows, to turn counters into rates. */
struct top_state {
	char (*ids)[NG_CALL_ID_MAX + 1]; /* NG_LIST_MAX of them */
	struct ctl_top_row *rows, *prev;
	unsigned n, n_prev;
	uint64_t at_ms, prev_ms;
};

static const struct ctl_top_row *top_find(const struct top_state *t, const char *id)
{
	for (unsigned i = 0; i < t->n_prev; i++)
		if (!strcmp(t->prev[i].call_id, id))
			return &t->prev[i];
	return NULL;
}

/* One sample: statistics, list, a query per call. */
static int top_sample(struct ctl *c, struct top_state *t, struct ng_statistics *st)
{
	char(*ids)[NG_CALL_ID_MAX + 1] = t->ids;
	struct ng_request req;
	unsigned n_ids;
	ssize_t n;
	int rc;

	ng_request_init(&req, NG_CMD_STATISTICS);
	if ((rc = ctl_call(c, &req, &n)))
		return rc;
	*st = c->rep.stats;

	ng_request_init(&req, NG_CMD_LIST);
	req.limit = c->limit ? c->limit : NG_LIST_DEFAULT;
	if ((rc = ctl_call(c, &req, &n)))
		return rc;
	/* The next exchanges reuse the reply buffer: copy the ids out first. */
	n_ids = c->rep.n_calls;
	for (unsigned i = 0; i < n_ids; i++)
		snprintf(ids[i], sizeof(ids[i]), "%.*s", (int)c->rep.calls[i].len,
			 c->rep.calls[i].s);

	t->n = 0;
	t->at_ms = monotime_ms();
	for (unsigned i = 0; i < n_ids; i++) {
		struct ctl_top_row *row = &t->rows[t->n++];
		char why[NG_REASON_MAX];

		ng_request_init(&req, NG_CMD_QUERY);
		strcpy(req.call_id, ids[i]);
		n = ng_client_call(&c->client, &req, c->reply, sizeof(c->reply), &c->rep, why,
				   sizeof(why));
		if (n < 0)
			return ctl_call(c, &req, &n); /* same request again, to report why */
		if (c->rep.result == NG_RESULT_ERROR) {
			/* Deleted between list and query. */
			memset(row, 0, sizeof(*row));
			snprintf(row->call_id, sizeof(row->call_id), "%s", ids[i]);
			row->gone = true;
			continue;
		}
		ctl_top_fill(row, ids[i], &c->rep);
		ctl_top_rate(row, top_find(t, ids[i]), t->at_ms - t->prev_ms);
	}
	return 0;
}

static int cmd_top(struct ctl *c)
{
	struct top_state t = {0};
	struct ng_statistics st;
	bool tty = isatty(STDOUT_FILENO);
	int rc = CTL_EXIT_OK;

	t.rows = calloc(NG_LIST_MAX, sizeof(*t.rows));
	t.prev = calloc(NG_LIST_MAX, sizeof(*t.prev));
	t.ids = calloc(NG_LIST_MAX, sizeof(*t.ids));
	if (!t.rows || !t.prev || !t.ids) {
		fprintf(stderr, "icepathctl: top: out of memory\n");
		rc = CTL_EXIT_NO_REPLY;
		goto out;
	}
	for (long frame = 0; !c->count || frame < c->count; frame++) {
		struct timespec pause;
		struct ctl_top_row *swap;

		if (frame) {
			pause.tv_sec = (time_t)c->interval;
			pause.tv_nsec = (long)((c->interval - (double)pause.tv_sec) * 1e9);
			while (nanosleep(&pause, &pause) && errno == EINTR)
				;
		}
		rc = top_sample(c, &t, &st);
		if (rc)
			goto out;
		if (c->json) {
			ctl_print_top_json(stdout, t.rows, t.n, &st, time(NULL));
		} else {
			if (tty)
				fputs("\033[H\033[2J", stdout); /* home, clear screen */
			else if (frame)
				fputc('\n', stdout);
			ctl_print_top(stdout, t.rows, t.n, &st, c->server, time(NULL));
		}
		fflush(stdout);
		swap = t.prev;
		t.prev = t.rows;
		t.rows = swap;
		t.n_prev = t.n;
		t.prev_ms = t.at_ms;
	}
out:
	free(t.rows);
	free(t.prev);
	free(t.ids);
	return rc;
}

/* metrics is HTTP, not NG: one GET, no retransmission */
static int cmd_metrics(struct ctl *c)
{
	const char *where = c->metrics ? c->metrics : CTL_METRICS_DEFAULT;
	struct netaddr a;
	char why[256], *body;
	size_t len;
	int n;

	if (netaddr_parse(&a, where, -1))
		return usage_error("--metrics '%s': expected ADDR:PORT, e.g. 127.0.0.1:9464", where);
	if (ctl_metrics_fetch(&a, c->timeout_ms, &body, &len, why, sizeof(why))) {
		fprintf(stderr, "icepathctl: metrics from %s: %s\n", where, why);
		return strstr(why, "HTTP") || strstr(why, "larger") ? CTL_EXIT_BAD_REPLY
								    : CTL_EXIT_NO_REPLY;
	}
	n = c->json ? ctl_print_metrics_json(stdout, body, len) : ctl_print_metrics(stdout, body, len);
	free(body);
	if (n < 0) {
		fprintf(stderr, "icepathctl: metrics from %s: not the Prometheus text format\n",
			where);
		return CTL_EXIT_BAD_REPLY;
	}
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"retries", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"from-tag", required_argument, NULL, 'f'},
		{"fatal", no_argument, NULL, 'F'},
		{"limit", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'c'},
		{"send-file", required_argument, NULL, 'S'},
		{"metrics", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct ctl c;
	const char *server = "127.0.0.1:2223";
	long timeout = NG_CLIENT_TIMEOUT_MS, retries = NG_CLIENT_RETRIES;
	struct netaddr addr;
	const char *cmd;
	char *end;
	int opt, rc, nargs;

	c.interval = 1.0;
	while ((opt = getopt_long(argc, argv, "s:t:r:jf:l:i:c:m:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 't':
			if (!parse_long(optarg, 1, 600000, &timeout))
				return usage_error(
					"--timeout '%s': expected milliseconds, 1..600000", optarg);
			break;
		case 'r':
			if (!parse_long(optarg, 0, 100, &retries))
				return usage_error("--retries '%s': expected 0..100", optarg);
			break;
		case 'j':
			c.json = true;
			break;
		case 'f':
			c.from_tag = optarg;
			break;
		case 'F':
			c.fatal = true;
			break;
		case 'l':
			if (!parse_long(optarg, 1, NG_LIST_MAX, &c.limit))
				return usage_error("--limit '%s': expected 1..%d", optarg,
						   NG_LIST_MAX);
			break;
		case 'i':
			errno = 0;
			c.interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || c.interval < 0.1 || c.interval > 3600)
				return usage_error("--interval '%s': expected seconds, 0.1..3600",
						   optarg);
			break;
		case 'c':
			if (!parse_long(optarg, 1, LONG_MAX, &c.count))
				return usage_error("--count '%s': expected a positive number",
						   optarg);
			break;
		case 'S':
			c.send_file = optarg;
			break;
		case 'm':
			c.metrics = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CTL_EXIT_OK;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	cmd = argv[optind++];
	nargs = argc - optind;

	if (netaddr_parse(&addr, server, NG_DEFAULT_PORT))
		return usage_error("--server '%s': expected ADDR:PORT (e.g. 127.0.0.1:2223 or "
				   "[::1]:2223)",
				   server);
	netaddr_str(&addr, c.server, sizeof(c.server));
	c.timeout_ms = (unsigned)timeout;
	if (!strcmp(cmd, "metrics"))
		return nargs ? usage_error("metrics takes no argument") : cmd_metrics(&c);
	rc = ng_client_open(&c.client, &addr, (unsigned)timeout, (unsigned)retries);
	if (rc) {
		fprintf(stderr, "icepathctl: cannot open a UDP socket to %s: %s\n", c.server,
			strerror(-rc));
		return CTL_EXIT_NO_REPLY;
	}

	if (!strcmp(cmd, "ping") && nargs == 0)
		rc = cmd_simple(&c, NG_CMD_PING, NULL);
	else if (!strcmp(cmd, "list") && nargs == 0)
		rc = cmd_simple(&c, NG_CMD_LIST, NULL);
	else if (!strcmp(cmd, "query") && nargs == 1)
		rc = cmd_simple(&c, NG_CMD_QUERY, argv[optind]);
	else if (!strcmp(cmd, "delete") && nargs == 1)
		rc = cmd_simple(&c, NG_CMD_DELETE, argv[optind]);
	else if ((!strcmp(cmd, "stats") || !strcmp(cmd, "statistics")) && nargs == 0)
		rc = cmd_simple(&c, NG_CMD_STATISTICS, NULL);
	else if (!strcmp(cmd, "top") && nargs == 0)
		rc = cmd_top(&c);
	else if (!strcmp(cmd, "raw") && nargs == 1 && !c.send_file)
		rc = cmd_raw(&c, argv[optind]);
	else if (!strcmp(cmd, "raw") && nargs == 0 && c.send_file)
		rc = cmd_raw(&c, NULL);
	else if (!strcmp(cmd, "ping") || !strcmp(cmd, "list") || !strcmp(cmd, "query") ||
		 !strcmp(cmd, "delete") || !strcmp(cmd, "stats") || !strcmp(cmd, "top") ||
		 !strcmp(cmd, "raw") || !strcmp(cmd, "statistics"))
		rc = usage_error("%s: wrong number of arguments", cmd);
	else
		rc = usage_error("unknown command '%s'", cmd);
	ng_client_close(&c.client);
	return rc;
}
