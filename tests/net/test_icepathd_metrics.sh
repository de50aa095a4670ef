#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd --metrics under a live call (the topology of icepathd-topo.sh):
#  - a scrape of /metrics passes `promtool check metrics` and shows the call:
#    fast-path packets, XDP verdicts, two legs connected, the ICE histogram,
#    NG offer/answer counted ok;
#  - a scraper outside --metrics-allow gets 403; bad requests get 404/405;
#  - icepathctl metrics prints the same figures (and --json is JSON);
#  - a real Prometheus server (config in a temp dir, listening on the relay
#    namespace's loopback) scrapes icepathd and answers a query for the
#    fast-path packet counter with what icepathd reports.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
for p in promtool prometheus curl; do
	command -v $p >/dev/null || icp_fail "$p is missing (Debian packages prometheus, curl; make deps)"
done
N=300
CALL=metrics-$ICP_RUN
M=$ICPD_RELAY:9464

icpd_topology "${1:?usage: test_icepathd_metrics.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native --metrics $M --metrics-allow $ICPD_RELAY/32
grep -q "metrics on http://$M/metrics" "$ICPD_LOG" || icp_fail "no 'metrics on' line in the log"
# The caller also sends an RTCP receiver report after every 10th RTP packet
# on its one (rtcp-mux) component: the fast path forwards it on the RTP
# flow and must count it as RTCP (issue 14), not as RTP.
icpd_peer caller $N --timeout 20 --rtcp-every 10
icpd_peer callee $N --timeout 20
icpd_offer_answer "$CALL"
icpd_wait_peer caller 40
icpd_wait_peer callee 40
# RTP exactly N per leg: a muxed RTCP counted as RTP fails here
icpd_check_media "$CALL" $N
RTCP_SENT=$(icpd_peer_event caller media rtcp_sent)
[ "${RTCP_SENT:-0}" -ge $((N / 10 / 2)) ] || icp_fail "the caller sent ${RTCP_SENT:-0} RTCP reports"
# the caller leg's RTCP stream: what the relay got of those reports, by path
read -r R_FAST R_USER < <(icpd_query "$CALL" | awk '
	$1 == "leg" { inleg = ($2 == "caller-tag") }
	inleg && $1 == "RTCP" {
		for (i = 1; i <= NF; i++) {
			if ($i == "fast") f += $(i + 1)
			if ($i == "user") u += $(i + 1)
		}
	}
	END { printf "%d %d\n", f, u }')
icp_log "caller RTCP (rtcp-mux): sent $RTCP_SENT, relay XDP $R_FAST, userspace $R_USER"
[ $((R_FAST + R_USER)) -eq "$RTCP_SENT" ] ||
	icp_fail "the relay counted $((R_FAST + R_USER)) RTCP of the caller's $RTCP_SENT on its RTCP stream"
[ "$R_FAST" -gt 0 ] || icp_fail "no muxed RTCP counted as RTCP on the fast path"

scrape() { nsx "$NS_relay" curl -sS --max-time 5 "$@"; }
icp_log "scrape and promtool check metrics"
scrape -o "$ICP_TMP/scrape.txt" -D "$ICP_TMP/scrape.head" "http://$M/metrics" ||
	icp_fail "scrape of http://$M/metrics failed"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$ICP_TMP/scrape.head" ||
	icp_fail "scrape: Content-Type is not the text format: $(cat "$ICP_TMP/scrape.head")"
promtool check metrics <"$ICP_TMP/scrape.txt" >"$ICP_TMP/promtool.out" 2>&1 ||
	icp_fail "promtool check metrics: $(cat "$ICP_TMP/promtool.out")"
icp_log "promtool check metrics: ok ($(grep -vc '^#' "$ICP_TMP/scrape.txt") samples)"
val() { # the value of one sample line (exact name and labels)
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }' \
		"$ICP_TMP/scrape.txt"
}
ge() { # SAMPLE MIN
	local v
	v=$(val "$1")
	awk -v v="$v" -v m="$2" 'BEGIN { exit !(v != "missing" && v + 0 >= m + 0) }' ||
		icp_fail "$1 is $v, expected >= $2"
	icp_log "  $1 = $v"
}
FAST_RX='icepath_packets_total{path="fastpath",direction="rx"}'
ge "$FAST_RX" $((N / 2))
ge 'icepath_rtcp_packets_total{path="fastpath",direction="rx"}' "$R_FAST"
ge 'icepath_packets_total{path="userspace",direction="rx"}' 1
ge 'icepath_calls' 1
ge 'icepath_legs{state="connected"}' 2
ge 'icepath_streams{path="fastpath"}' 2
ge 'icepath_fastpath_flows' 2
ge 'icepath_fastpath_attached{mode="native"}' 1
ge 'icepath_xdp_verdicts_total{verdict="pass-stun"}' 1
ge 'icepath_ice_selected_pair_seconds_count' 2
ge 'icepath_ng_requests_total{command="offer",result="ok"}' 1
ge 'icepath_ng_requests_total{command="answer",result="ok"}' 1
ge 'icepath_media_port_pairs_used' 2
ge 'icepath_bpf_map_bytes' 1000000
ge 'process_resident_memory_bytes' 1000000
# every verdict of fp_stats.def is there, and XDP forwarded what it counted
nv=$(grep -c '^FP_STAT(' "$(dirname "$0")/../../include/icepath/fp_stats.def")
[ "$(grep -c '^icepath_xdp_verdicts_total{' "$ICP_TMP/scrape.txt")" -eq "$nv" ] ||
	icp_fail "not every fp_stats.def verdict is exported ($nv expected)"
fwd=$(awk '$1 ~ /^icepath_xdp_verdicts_total\{verdict="(tx|redirect)"\}$/ { s += $2 } END { print s + 0 }' \
	"$ICP_TMP/scrape.txt")
[ "$fwd" -ge "$(val "$FAST_RX")" ] || icp_fail "XDP tx+redirect $fwd < fast-path rx $(val "$FAST_RX")"

icp_log "refused and bad requests"
code=$(nsx "$NS_turn" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$M/metrics")
[ "$code" = 403 ] || icp_fail "a scraper outside --metrics-allow got $code, expected 403"
code=$(scrape -o /dev/null -w '%{http_code}' "http://$M/")
[ "$code" = 404 ] || icp_fail "GET / got $code, expected 404"
code=$(scrape -o /dev/null -w '%{http_code}' -X POST -d x "http://$M/metrics")
[ "$code" = 405 ] || icp_fail "POST got $code, expected 405"
code=$(scrape -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" \
	"http://$M/metrics")
[ "$code" = 431 ] || icp_fail "a 5000-byte header got $code, expected 431"
nsx "$NS_relay" "$(icpd_bin icepathctl)" --server $ICPD_NG ping >/dev/null ||
	icp_fail "icepathd stopped answering NG after the bad requests"

icp_log "icepathctl metrics"
ctl=$(icpd_bin icepathctl)
nsx "$NS_relay" "$ctl" --metrics $M metrics >"$ICP_TMP/ctl.txt" || icp_fail "icepathctl metrics failed"
grep -qE '^packets_total path=fastpath direction=rx +[0-9]+$' "$ICP_TMP/ctl.txt" ||
	icp_fail "icepathctl metrics lacks the fast-path packets: $(head -40 "$ICP_TMP/ctl.txt")"
grep -qE '^legs state=connected +2$' "$ICP_TMP/ctl.txt" || icp_fail "icepathctl metrics: legs"
nsx "$NS_relay" "$ctl" --json --metrics $M metrics |
	jq -e '.metrics[] | select(.name == "icepath_packets_total" and .labels.path == "fastpath"
		and .labels.direction == "rx") | .value > 0' >/dev/null ||
	icp_fail "icepathctl --json metrics lacks the fast-path packets"
nsx "$NS_relay" "$ctl" --metrics 127.0.0.1:1 metrics 2>/dev/null
[ $? -eq 3 ] || icp_fail "icepathctl metrics to a closed port: expected exit 3"

icp_log "a Prometheus server scrapes icepathd"
mkdir -p "$ICP_TMP/prom"
cat >"$ICP_TMP/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: icepath
    static_configs:
      - targets: ['$M']
YML
promtool check config "$ICP_TMP/prom/prometheus.yml" >/dev/null || icp_fail "promtool check config"
bg "$NS_relay" prometheus --config.file="$ICP_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$ICP_TMP/prom/data" --web.listen-address=127.0.0.1:9090 \
	>"$ICP_TMP/prom/log" 2>&1
q() { nsx "$NS_relay" promtool query instant http://127.0.0.1:9090 "$1" 2>/dev/null; }
WAIT_SECS=60 wait_for nsx "$NS_relay" curl -sf http://127.0.0.1:9090/-/ready -o /dev/null ||
	{ tail -20 "$ICP_TMP/prom/log"; icp_fail "prometheus did not become ready"; }
has_fast() { q "$FAST_RX" | grep -q 'icepath_packets_total'; }
WAIT_SECS=30 wait_for has_fast ||
	{ tail -20 "$ICP_TMP/prom/log"; icp_fail "prometheus has no $FAST_RX after 30 s"; }
answer=$(q "$FAST_RX")
icp_log "prometheus: $answer"
got=$(sed -n 's/.* => \([0-9.e+]*\) @.*/\1/p' <<<"$answer" | head -1)
[ "$got" = "$(val "$FAST_RX")" ] ||
	icp_fail "prometheus answers $got for the fast-path rx counter, icepathd said $(val "$FAST_RX")"
[ "$(q 'up{job="icepath"}' | sed -n 's/.* => \([0-9]*\) @.*/\1/p')" = 1 ] || icp_fail "up{job=icepath} != 1"
# the README's Grafana query answers too (one rate per path)
sleep 2
q 'sum by (path) (rate(icepath_packets_total{direction="rx"}[1m]))' >"$ICP_TMP/rate" ||
	icp_fail "the README's rate query failed"
grep -q 'path="fastpath"' "$ICP_TMP/rate" || icp_fail "rate query: $(cat "$ICP_TMP/rate")"
echo PASS
