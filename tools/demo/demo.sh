#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: icepathd between a caller behind a port-restricted NAT and a
# callee behind a symmetric NAT, with coturn on the public segment; the
# offer/answer goes through icepathd over NG exactly as a SIP proxy would
# send it. Prints what happened, then silences the callee and shows RFC 7675
# consent loss stopping the forwarding toward it.
#
#   tools/demo/demo.sh BUILD_DIR        (as root; everything is cleaned up)
#
# Exit status 0 when every step worked, 1 at the first that did not.
set -u
build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/net/lib.sh"
. "$here/tests/net/icepathd-topo.sh"
icp_require_root

CALL=demo-$ICP_RUN
CALLER_SEND=3000 # 60 s of 20 ms packets: the caller keeps talking through the consent phase
CALLEE_SEND=300  # 6 s; then the callee only answers checks (--linger)

say() { printf '\n== %s\n' "$*"; }

say "building the network (namespaces, NATs, coturn)"
icpd_topology "$build"
icpd_xdp_peer
icp_log "caller 10.0.1.2 behind a port-restricted NAT (203.0.113.10)"
icp_log "callee 10.0.2.2 behind a symmetric NAT (203.0.113.20)"
icp_log "coturn $ICPD_TURN:3478, icepathd $ICPD_RELAY (NG on $ICPD_NG in its namespace)"

say "starting icepathd"
icpd_start --xdp native
grep -E 'fast path attached|listening' "$ICPD_LOG" | sed 's/^/   /'

say "starting the two ICE endpoints (icepath-peer, STUN and TURN configured)"
ICPD_EXPECT=$CALLEE_SEND icpd_peer caller $CALLER_SEND --timeout 120
icpd_peer callee $CALLEE_SEND --linger 120000 --timeout 120

say "offer/answer through icepathd over NG (what Kamailio/OpenSIPS would send)"
icpd_offer_answer "$CALL"
icp_log "offer:  caller SDP -> icepathd -> callee ($(grep -c '^a=candidate' "$ICP_TMP/callee-remote.sdp") relay candidates for the callee)"
icp_log "answer: callee SDP -> icepathd -> caller ($(grep -c '^a=candidate' "$ICP_TMP/caller-remote.sdp") relay candidates for the caller)"

WAIT_SECS=30 wait_for icpd_has_event callee media ||
	icp_fail "the callee did not receive its $CALLEE_SEND packets (see $ICP_TMP/callee.json)"
WAIT_SECS=30 wait_for icpd_has_event caller selected || icp_fail "caller: no pair"
sleep 1 # let the last packets of the callee land

say "report"
gathered() {
	printf '%s (%s host, %s srflx, %s relay)' "$(icpd_peer_event "$1" gathered candidates)" \
		"$(icpd_peer_event "$1" gathered host)" "$(icpd_peer_event "$1" gathered srflx)" \
		"$(icpd_peer_event "$1" gathered relay)"
}
printf '   %-10s %-34s %s\n' "" caller callee
printf '   %-10s %-34s %s\n' gathered "$(gathered caller)" "$(gathered callee)"
printf '   %-10s %-34s %s\n' relay "$(grep -c '^a=candidate' "$ICP_TMP/caller-remote.sdp") host candidate(s) in its answer" \
	"$(grep -c '^a=candidate' "$ICP_TMP/callee-remote.sdp") host candidate(s) in its offer"
printf '   %-10s %-34s %s\n' nominated "$(icpd_peer_event caller selected ms) ms after start" \
	"$(icpd_peer_event callee selected ms) ms after start"
# the relay's side: from its checks starting to the pair selected on the leg
relay_ms() {
	awk -v tag="$1" '
		function ms(t) { split(t, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
		index($0, "leg " tag ": allocated -> checking") { s = ms($1) }
		index($0, "leg " tag " stream 0 comp 1: selected pair") && !e { e = ms($1) }
		END { if (s != "" && e != "") print e - s " ms"; else print "?" }' "$ICPD_LOG"
}
printf '   %-10s %-34s %s\n' "at relay" "$(relay_ms caller-tag) after its checks began" \
	"$(relay_ms callee-tag) after its checks began"
echo
echo "   selected pair per leg at the relay (relay side -> peer side):"
for t in caller-tag callee-tag; do
	printf '     %-11s %s  ICE %s, consent %s\n' "$t" "$(icpd_leg_pair "$CALL" $t)" \
		"$(icpd_leg_field "$CALL" $t 3)" "$(icpd_leg_field "$CALL" $t 4)"
done
read -r af au ae < <(icpd_leg_counts "$CALL" caller-tag)
read -r bf bu be < <(icpd_leg_counts "$CALL" callee-tag)
echo
echo "   packets forwarded by the relay, per direction:"
printf '     caller -> callee: XDP %6d  userspace %4d  (%d dropped before the callee leg had a path)\n' \
	"$af" $((au - ae)) "$ae"
printf '     callee -> caller: XDP %6d  userspace %4d  (%d dropped)\n' "$bf" $((bu - be)) "$be"
echo "   the callee received all $(icpd_peer_event callee media received) packets it waited for and sent its $CALLEE_SEND"
[ "$bf" -gt 0 ] && [ "$af" -gt 0 ] || icp_fail "media did not take the XDP fast path"
echo
icpd_query "$CALL" | sed 's/^/   /'

say "silencing the callee (its NAT drops everything) - waiting for RFC 7675 consent to expire (30 s)"
ns_blackhole "$NS_natb" wan
t0=$SECONDS
WAIT_SECS=60 wait_for icpd_leg_is "$CALL" callee-tag 4 lost ||
	icp_fail "consent toward the callee was not lost within 60 s"
icp_log "consent toward the callee lost after $((SECONDS - t0)) s; leg callee-tag is now: ICE $(icpd_leg_field "$CALL" callee-tag 3), consent $(icpd_leg_field "$CALL" callee-tag 4)"
grep -E 'consent lost|drops' "$ICPD_LOG" | sed 's/^/   /'
read -r f1 u1 e1 < <(icpd_leg_counts "$CALL" caller-tag)
sleep 2
read -r f2 u2 e2 < <(icpd_leg_counts "$CALL" caller-tag)
kill -0 "$(pgrep -f "icepath-peer --controlling.*$ICP_TMP" | head -1)" 2>/dev/null ||
	icp_fail "the caller stopped sending too early to show anything"
printf '   caller -> callee over 2 s: XDP %d -> %d, userspace forwarded %d -> %d\n' \
	"$f1" "$f2" $((u1 - e1)) $((u2 - e2))
[ "$f1" -eq "$f2" ] && [ $((u1 - e1)) -eq $((u2 - e2)) ] ||
	icp_fail "packets still forwarded toward the callee after consent was lost"
echo "   forwarding toward the callee stopped: the caller's packets are dropped at the relay"

say "demo done: every step worked"
