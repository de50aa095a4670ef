#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Plain RTP (SIP phones, no ICE) behind NATs: their SDP announces private
# addresses, so the relay latches onto the first packet of each; then the XDP
# fast path forwards, and while it does the call outlives an inactivity
# timeout shorter than the media (the fast path's last-seen counters keep it
# alive: userspace sees no packet). When the media stops, the call is deleted
# after the timeout, with a log line saying why.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
CALL=plain-$ICP_RUN
N=600 # 6 s at 100 packets/s, twice the inactivity timeout
TIMEOUT=3

icpd_topology "${1:?usage: test_icepathd_plain.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native --inactivity-timeout $TIMEOUT
gen=$(icpd_bin icepath-udpgen)
ng=$(icpd_bin icepath-ngsdp)
sdp() { # sdp IP PORT
	printf 'v=0\r\no=phone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' "$1" "$1" "$2"
}
sdp 10.0.1.2 7078 >"$ICP_TMP/a.sdp"
sdp 10.0.2.2 8078 >"$ICP_TMP/b.sdp"
nsx "$NS_relay" "$ng" offer --server $ICPD_NG --call-id "$CALL" --from-tag ta \
	--sdp-in "$ICP_TMP/a.sdp" --sdp-out "$ICP_TMP/a-out.sdp" || icp_fail "offer"
nsx "$NS_relay" "$ng" answer --server $ICPD_NG --call-id "$CALL" --from-tag ta --to-tag tb \
	--sdp-in "$ICP_TMP/b.sdp" --sdp-out "$ICP_TMP/b-out.sdp" || icp_fail "answer"
grep -q ice- "$ICP_TMP/a-out.sdp" "$ICP_TMP/b-out.sdp" && icp_fail "ICE appeared in plain SDP"
rb=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/a-out.sdp")
ra=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/b-out.sdp")
icp_log "relay ports: toward A $ra, toward B $rb"

# B speaks once (the relay latches its NAT mapping), then listens there
nsx "$NS_callee" "$gen" send --from 10.0.2.2:8078 --to $ICPD_RELAY:$rb --count 1 >/dev/null
nsx "$NS_callee" "$gen" recv --on 10.0.2.2:8078 --count $N --timeout 5 >"$ICP_TMP/b-recv.json" &
rpid=$!
ICP_PIDS+=($rpid)
sleep 0.3
nsx "$NS_caller" "$gen" send --from 10.0.1.2:7078 --to $ICPD_RELAY:$ra --count $N --rate 100 \
	>/dev/null || icp_fail "udpgen send"
wait $rpid
cat "$ICP_TMP/b-recv.json"
grep -q "\"unique\":$N" "$ICP_TMP/b-recv.json" || icp_fail "B did not get all $N packets"
grep -q '"lost":0' "$ICP_TMP/b-recv.json" || icp_fail "B lost packets"
grep -Eq "RTP peer learn(ing from|ed:) 203.0.113.10" "$ICPD_LOG" || icp_fail "A was not latched to its NAT address"
grep -Eq "RTP peer learn(ing from|ed:) 203.0.113.20" "$ICPD_LOG" || icp_fail "B was not latched to its NAT address"
grep -q "deleted" "$ICPD_LOG" && icp_fail "the call was deleted while the fast path carried media"
read -r af au ae < <(icpd_leg_counts "$CALL" ta)
icp_log "A -> B: XDP $af, userspace $au (the latching packet)"
[ "$af" -ge $((N - 5)) ] || icp_fail "the fast path carried only $af of $N packets"

WAIT_SECS=$((TIMEOUT + 10)) wait_for grep -q "call $CALL: deleted (no media for $TIMEOUT s" "$ICPD_LOG" ||
	icp_fail "the silent call was not deleted by the inactivity timeout"
grep "no media for" "$ICPD_LOG" | head -1
nsx "$NS_relay" "$(icpd_bin icepathctl)" --server $ICPD_NG query "$CALL" >/dev/null 2>&1 &&
	icp_fail "the deleted call still answers query"
flows=$(nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_PIN" flow count)
[ "${flows:-1}" -eq 0 ] || icp_fail "$flows flows left after the timeout"
echo PASS
