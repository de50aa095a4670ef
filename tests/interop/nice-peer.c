// SPDX-License-Identifier: GPL-2.0-only
/*
 * nice-peer: a libnice ICE endpoint speaking icepath-peer's file-based SDP
 * exchange, for interop tests. It writes nice_agent_generate_local_sdp()
 * to --local-sdp (temp file + rename), waits for --remote-sdp, feeds it to
 * nice_agent_parse_remote_sdp(), and reports the selected pair and media
 * counts in the same text/JSON form as icepath-peer, so the test scripts
 * treat both alike. See --help.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gio/gnetworking.h>
#include <nice/agent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icepath/rtpstat.h"

static const char usage[] =
	"Usage: nice-peer (--controlling | --controlled) [--bind ADDR ...]\n"
	"                 [--stun HOST:PORT] [--turn HOST:PORT --turn-user U --turn-pass P]\n"
	"                 [--relay-only] [--regular-nomination]\n"
	"                 --local-sdp FILE --remote-sdp FILE\n"
	"                 [--send N] [--expect N] [--interval MS] [--timeout SEC]\n"
	"                 [--linger MS] [--json]\n"
	"\n"
	"A libnice (RFC 5245 compatibility) ICE peer for icepath's interop tests.\n"
	"Gathers on --bind addresses (default: libnice's own interface list),\n"
	"writes libnice's SDP to --local-sdp, reads the peer's from --remote-sdp\n"
	"(polled every 50 ms), runs the checks, and on selection sends N RTP\n"
	"packets (v2, PT 0, 160-byte payload, one every --interval ms, default 20)\n"
	"and counts distinct sequence numbers received until --expect N.\n"
	"Nomination is aggressive unless --regular-nomination. Consent freshness\n"
	"(RFC 7675) is on. Output and exit status as icepath-peer: 0 only when a\n"
	"pair was selected and media expectations were met.\n";

struct peer {
	GMainLoop *loop;
	NiceAgent *agent;
	guint stream;
	const char *local_sdp, *remote_sdp;
	bool json, selected, remote_read, done;
	long send_n, expect_n, sent, interval_ms, linger_ms;
	uint8_t seen[65536 / 8];
	long received;
	gint64 start_us;
	int exit_code;
	guint send_timer;
};

static long elapsed_ms(const struct peer *p)
{
	return (long)((g_get_monotonic_time() - p->start_us) / 1000);
}

static void event_failed(struct peer *p, const char *why)
{
	if (p->json)
		printf("{\"event\":\"failed\",\"ms\":%ld,\"reason\":\"%s\"}\n", elapsed_ms(p), why);
	else
		printf("failed after %ld ms: %s\n", elapsed_ms(p), why);
	fflush(stdout);
	p->exit_code = 1;
	g_main_loop_quit(p->loop);
}

static gboolean quit_cb(gpointer data)
{
	struct peer *p = data;

	g_main_loop_quit(p->loop);
	return G_SOURCE_REMOVE;
}

static void check_done(struct peer *p)
{
	if (p->done || !p->selected || p->sent < p->send_n || p->received < p->expect_n)
		return;
	p->done = true;
	if (p->json)
		printf("{\"event\":\"media\",\"ms\":%ld,\"sent\":%ld,\"received\":%ld}\n",
		       elapsed_ms(p), p->sent, p->received);
	else
		printf("media sent %ld received %ld after %ld ms\n", p->sent, p->received,
		       elapsed_ms(p));
	fflush(stdout);
	p->exit_code = 0;
	/* Keep answering checks/consent a little so the peer finishes too. */
	g_timeout_add((guint)p->linger_ms, quit_cb, p);
}

static void recv_cb(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
		    gpointer data)
{
	struct peer *p = data;
	const uint8_t *b = (const uint8_t *)buf;
	uint16_t seq;

	/* RTP v2 (RFC 3550 §5.1), PT 0, our 172-byte packets only. */
	if (len != 172 || (b[0] >> 6) != 2 || (b[1] & 0x7f) != 0)
		return;
	seq = (uint16_t)(b[2] << 8 | b[3]);
	if (!(p->seen[seq / 8] & (1u << (seq % 8)))) {
		p->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		p->received++;
	}
	check_done(p);
}

static gboolean send_cb(gpointer data)
{
	struct peer *p = data;
	uint8_t pkt[172];
	uint32_t ts = (uint32_t)p->sent * 160, ssrc = 0x6e696365; /* "nice" */
	uint16_t seq = (uint16_t)p->sent;

	if (p->sent >= p->send_n) {
		p->send_timer = 0;
		check_done(p);
		return G_SOURCE_REMOVE;
	}
	memset(pkt, 0xd5, sizeof(pkt)); /* PCMU silence */
	rtpstat_write(pkt, &(const struct rtp_hdr){ .seq = seq, .ts = ts, .ssrc = ssrc });
	if (nice_agent_send(p->agent, p->stream, 1, sizeof(pkt), (const gchar *)pkt) ==
	    (gint)sizeof(pkt))
		p->sent++;
	return G_SOURCE_CONTINUE;
}

static void print_cand(const char *role, NiceCandidate *c, bool json)
{
	char ip[NICE_ADDRESS_STRING_LEN];

	nice_address_to_string(&c->addr, ip);
	if (json)
		printf("\"%s\":{\"type\":\"%s\",\"address\":\"%s\",\"port\":%u}", role,
		       nice_candidate_type_to_string(c->type), ip, nice_address_get_port(&c->addr));
	else
		printf("%s %s %s%s%s:%u", role, nice_candidate_type_to_string(c->type),
		       strchr(ip, ':') ? "[" : "", ip, strchr(ip, ':') ? "]" : "",
		       nice_address_get_port(&c->addr));
}

static void selected_cb(NiceAgent *agent, guint stream, guint component, NiceCandidate *l,
			NiceCandidate *r, gpointer data)
{
	struct peer *p = data;

	if (p->json) {
		printf("{\"event\":\"selected\",\"ms\":%ld,", elapsed_ms(p));
		print_cand("local", l, true);
		printf(",");
		print_cand("remote", r, true);
		printf("}\n");
	} else {
		printf("selected ");
		print_cand("local", l, false);
		printf(" ");
		print_cand("remote", r, false);
		printf(" after %ld ms\n", elapsed_ms(p));
	}
	fflush(stdout);
	if (!p->selected) {
		p->selected = true;
		if (p->send_n > 0)
			p->send_timer = g_timeout_add((guint)p->interval_ms, send_cb, p);
		check_done(p);
	}
}

static void state_cb(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct peer *p = data;

	if (state == NICE_COMPONENT_STATE_FAILED && !p->done)
		event_failed(p, "libnice: component failed (no pair could be selected)");
}

static gboolean read_remote_cb(gpointer data)
{
	struct peer *p = data;
	gchar *sdp = NULL;
	int n;

	if (!g_file_get_contents(p->remote_sdp, &sdp, NULL, NULL))
		return G_SOURCE_CONTINUE;
	/* libnice splits the SDP on LF only and would keep the CR of an RFC 8866
	 * CRLF line inside ufrag, pwd and candidate fields: strip CRs. */
	{
		gchar *w = sdp;

		for (const gchar *r = sdp; *r; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
	}
	n = nice_agent_parse_remote_sdp(p->agent, sdp);
	g_free(sdp);
	if (n < 0) {
		event_failed(p, "libnice refused the remote SDP");
		return G_SOURCE_REMOVE;
	}
	p->remote_read = true;
	if (!p->json)
		printf("remote SDP read: %d candidates\n", n);
	fflush(stdout);
	return G_SOURCE_REMOVE;
}

static int write_atomic(const char *path, const char *text)
{
	gchar *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
	GError *err = NULL;
	int ret = 0;

	if (!g_file_set_contents(tmp, text, -1, &err) || rename(tmp, path) < 0) {
		fprintf(stderr, "nice-peer: cannot write %s: %s\n", path,
			err ? err->message : strerror(errno));
		g_clear_error(&err);
		ret = -1;
	}
	g_free(tmp);
	return ret;
}

static void gathered_cb(NiceAgent *agent, guint stream, gpointer data)
{
	struct peer *p = data;
	gchar *sdp = nice_agent_generate_local_sdp(agent);
	GSList *cands = nice_agent_get_local_candidates(agent, stream, 1);

	if (p->json)
		printf("{\"event\":\"gathered\",\"ms\":%ld,\"candidates\":%u}\n", elapsed_ms(p),
		       g_slist_length(cands));
	else
		printf("gathered %u candidates after %ld ms\n", g_slist_length(cands),
		       elapsed_ms(p));
	fflush(stdout);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	if (write_atomic(p->local_sdp, sdp) < 0) {
		p->exit_code = 1;
		g_main_loop_quit(p->loop);
	} else {
		g_timeout_add(50, read_remote_cb, p);
	}
	g_free(sdp);
}

static gboolean timeout_cb(gpointer data)
{
	struct peer *p = data;
	char why[160];

	snprintf(why, sizeof(why), "timeout: selected=%s sent=%ld/%ld received=%ld/%ld",
		 p->selected ? "yes" : "no", p->sent, p->send_n, p->received, p->expect_n);
	event_failed(p, why);
	return G_SOURCE_REMOVE;
}

static int split_hostport(const char *s, char *host, size_t hlen, guint *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long v;

	if (!colon || (size_t)(colon - s) >= hlen)
		return -1;
	v = strtol(colon + 1, &end, 10);
	if (*end || v <= 0 || v > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (guint)v;
	return 0;
}

static long parse_long(const char *opt, const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < min) {
		fprintf(stderr, "nice-peer: %s '%s' is not a number >= %ld\n", opt, s, min);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"controlling", no_argument, NULL, 'C'},
		{"controlled", no_argument, NULL, 'c'},
		{"bind", required_argument, NULL, 'b'},
		{"stun", required_argument, NULL, 's'},
		{"turn", required_argument, NULL, 't'},
		{"turn-user", required_argument, NULL, 'u'},
		{"turn-pass", required_argument, NULL, 'p'},
		{"relay-only", no_argument, NULL, 'r'},
		{"regular-nomination", no_argument, NULL, 'R'},
		{"local-sdp", required_argument, NULL, 'l'},
		{"remote-sdp", required_argument, NULL, 'm'},
		{"send", required_argument, NULL, 'S'},
		{"expect", required_argument, NULL, 'E'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 'T'},
		{"linger", required_argument, NULL, 'L'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct peer p = {.interval_ms = 20, .linger_ms = 1000, .exit_code = 1};
	const char *stun = NULL, *turn = NULL, *turn_user = NULL, *turn_pass = NULL;
	const char *binds[16];
	int nbind = 0, role = -1, c;
	bool relay_only = false, regular = false;
	long timeout_s = 30;
	char host[256];
	guint port;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			role = 1;
			break;
		case 'c':
			role = 0;
			break;
		case 'b':
			if (nbind == 16) {
				fprintf(stderr, "nice-peer: at most 16 --bind addresses\n");
				return 2;
			}
			binds[nbind++] = optarg;
			break;
		case 's':
			stun = optarg;
			break;
		case 't':
			turn = optarg;
			break;
		case 'u':
			turn_user = optarg;
			break;
		case 'p':
			turn_pass = optarg;
			break;
		case 'r':
			relay_only = true;
			break;
		case 'R':
			regular = true;
			break;
		case 'l':
			p.local_sdp = optarg;
			break;
		case 'm':
			p.remote_sdp = optarg;
			break;
		case 'S':
			p.send_n = parse_long("--send", optarg, 0);
			break;
		case 'E':
			p.expect_n = parse_long("--expect", optarg, 0);
			break;
		case 'i':
			p.interval_ms = parse_long("--interval", optarg, 1);
			break;
		case 'T':
			timeout_s = parse_long("--timeout", optarg, 1);
			break;
		case 'L':
			p.linger_ms = parse_long("--linger", optarg, 0);
			break;
		case 'j':
			p.json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (role < 0 || !p.local_sdp || !p.remote_sdp || optind != argc ||
	    (turn && (!turn_user || !turn_pass)) || p.send_n > 65536) {
		fputs(usage, stderr);
		return 2;
	}

	p.start_us = g_get_monotonic_time();
	p.loop = g_main_loop_new(NULL, FALSE);
	p.agent = nice_agent_new_full(g_main_loop_get_context(p.loop), NICE_COMPATIBILITY_RFC5245,
				      NICE_AGENT_OPTION_CONSENT_FRESHNESS |
					      (regular ? NICE_AGENT_OPTION_REGULAR_NOMINATION : 0));
	g_object_set(p.agent, "controlling-mode", role == 1, "upnp", FALSE, NULL);
	if (relay_only)
		g_object_set(p.agent, "force-relay", TRUE, NULL);
	if (stun) {
		if (split_hostport(stun, host, sizeof(host), &port) < 0) {
			fprintf(stderr, "nice-peer: --stun '%s' is not IP:PORT\n", stun);
			return 2;
		}
		g_object_set(p.agent, "stun-server", host, "stun-server-port", port, NULL);
	}
	for (int i = 0; i < nbind; i++) {
		NiceAddress a;

		nice_address_init(&a);
		if (!nice_address_set_from_string(&a, binds[i])) {
			fprintf(stderr, "nice-peer: --bind '%s' is not an IP address\n", binds[i]);
			return 2;
		}
		nice_agent_add_local_address(p.agent, &a);
	}
	p.stream = nice_agent_add_stream(p.agent, 1);
	nice_agent_set_stream_name(p.agent, p.stream, "audio");
	if (turn) {
		if (split_hostport(turn, host, sizeof(host), &port) < 0) {
			fprintf(stderr, "nice-peer: --turn '%s' is not IP:PORT\n", turn);
			return 2;
		}
		nice_agent_set_relay_info(p.agent, p.stream, 1, host, port, turn_user, turn_pass,
					  NICE_RELAY_TYPE_TURN_UDP);
	}
	g_signal_connect(p.agent, "candidate-gathering-done", G_CALLBACK(gathered_cb), &p);
	g_signal_connect(p.agent, "new-selected-pair-full", G_CALLBACK(selected_cb), &p);
	g_signal_connect(p.agent, "component-state-changed", G_CALLBACK(state_cb), &p);
	nice_agent_attach_recv(p.agent, p.stream, 1, g_main_loop_get_context(p.loop), recv_cb, &p);
	if (!nice_agent_gather_candidates(p.agent, p.stream)) {
		fprintf(stderr, "nice-peer: libnice could not start gathering\n");
		return 1;
	}
	g_timeout_add_seconds((guint)timeout_s, timeout_cb, &p);
	g_main_loop_run(p.loop);
	g_object_unref(p.agent);
	g_main_loop_unref(p.loop);
	return p.exit_code;
}
