#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A flood of 100,000 unauthenticated STUN Binding requests to a media port of
# a live ICE call, from one host on the public segment: icepathd's memory
# grows by less than 4 MiB, it answers at most 1 in 100 (issue 9: 1 in 10;
# a token bucket per source, RELAY_STUN_SRC_PER_S), and the call's
# own authenticated checks, sent among the flood, are still answered at once
# (their latencies are printed; a check lost in the socket buffer is
# retransmitted after 50 ms, as an agent would). Then the call's media is
# checked.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
CALL=flood-$ICP_RUN
N=100000

command -v python3 >/dev/null || icp_skip "python3 missing (make deps)"
icpd_topology "${1:?usage: test_icepathd_stunflood.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
# media is not what is measured here: a packet sent before both legs have
# a pair may be dropped (see test_icepathd_restart.sh)
ICPD_EXPECT=990 icpd_peer caller 1000 --timeout 40
ICPD_EXPECT=990 icpd_peer callee 1000 --timeout 40
icpd_offer_answer "$CALL"
WAIT_SECS=20 wait_for icpd_leg_is "$CALL" caller-tag 4 granted || icp_fail "caller leg: no consent"

sdp_attr() { sed -n "s/^a=$2:\([^[:space:]]*\).*/\1/p" "$1" | head -1; }
port=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/caller-remote.sdp" | head -1)
rufrag=$(sdp_attr "$ICP_TMP/caller-remote.sdp" ice-ufrag)
rpwd=$(sdp_attr "$ICP_TMP/caller-remote.sdp" ice-pwd)
pufrag=$(sdp_attr "$ICP_TMP/caller.sdp" ice-ufrag)
[ -n "$port" ] && [ -n "$rufrag" ] && [ -n "$rpwd" ] && [ -n "$pufrag" ] ||
	icp_fail "cannot read the relay's port and ICE credentials from the SDP"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$ICPD_PID/status"; }
rss0=$(rss)
icp_log "flood: $N requests to $ICPD_RELAY:$port from $ICPD_TURN"
nsx "$NS_turn" python3 "$(dirname "$0")/stunflood.py" $ICPD_RELAY "$port" $N \
	"$rufrag" "$rpwd" "$pufrag" >"$ICP_TMP/flood.out" 2>&1 || {
	cat "$ICP_TMP/flood.out"
	icp_fail "stunflood.py failed"
}
cat "$ICP_TMP/flood.out"
rss1=$(rss)
grow=$((rss1 - rss0))
icp_log "daemon RSS $rss0 kB -> $rss1 kB (+$grow kB)"
[ "$grow" -lt 4096 ] || icp_fail "the daemon grew by $grow kB under the flood (limit 4 MiB)"
answered=$(sed -n 's/^answered \([0-9]*\) of.*/\1/p' "$ICP_TMP/flood.out")
# issue 9 asks for at most 1 in 10; the buckets (5/s per source, 200/s in
# all) make it far fewer: hold them to 1 in 100
[ "${answered:-$N}" -le $((N / 100)) ] || icp_fail "$answered of $N unauthenticated requests answered (more than 1 in 100; the bucket allows 5/s per source)"
read -r _ checks _ ok _ _ _ median _ max _ retx < <(grep '^checks' "$ICP_TMP/flood.out")
[ "${ok:-0}" -eq "${checks:-1}" ] || icp_fail "$((checks - ok)) of $checks checks of the real call unanswered within 1 s under the flood"
awk -v m="$max" 'BEGIN { exit !(m < 250) }' || icp_fail "a check of the real call took $max ms under the flood"
kill -0 "$ICPD_PID" || icp_fail "icepathd died under the flood"

icpd_wait_peer caller 60 || icp_fail "caller: media did not get through ($(icpd_peer_received caller) received)"
icpd_wait_peer callee 60 || icp_fail "callee: media did not get through ($(icpd_peer_received callee) received)"
echo PASS
