#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A plain-RTP callee behind a symmetric NAT changes its NAT mapping mid-call
# (it sends from a new port, so the NAT picks a new public port: to the
# relay, the same as a NAT rebinding). With the NG flag media-handover the
# relay re-latches onto the new source and the XDP fast path's flow is
# replaced: media resumes through the new mapping on the fast path. Without
# it (the default), the stray source does not take the stream over: media
# keeps going to the latched mapping.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=200 # per phase, 2 s at 100 packets/s

icpd_topology "${1:?usage: test_icepathd_handover.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
gen=$(icpd_bin icepath-udpgen)
ng=$(icpd_bin icepath-ngsdp)
sdp() { # sdp IP PORT
	printf 'v=0\r\no=phone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' "$1" "$1" "$2"
}
sdp 10.0.1.2 7078 >"$ICP_TMP/a.sdp"
sdp 10.0.2.2 8078 >"$ICP_TMP/b.sdp"

call() { # call ID [NG flags...]: sets ra (relay port toward A) and rb
	local id=$1 f=()
	shift
	for x in "$@"; do f+=(--flag "$x"); done
	nsx "$NS_relay" "$ng" offer --server $ICPD_NG --call-id "$id" --from-tag ta \
		--sdp-in "$ICP_TMP/a.sdp" --sdp-out "$ICP_TMP/a-out.sdp" "${f[@]}" || icp_fail "offer"
	nsx "$NS_relay" "$ng" answer --server $ICPD_NG --call-id "$id" --from-tag ta --to-tag tb \
		--sdp-in "$ICP_TMP/b.sdp" --sdp-out "$ICP_TMP/b-out.sdp" "${f[@]}" || icp_fail "answer"
	rb=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/a-out.sdp")
	ra=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/b-out.sdp")
}

# phase LABEL B_PORT SEQ: B listens on B_PORT (and on the other port, which
# must get nothing), A sends N packets; prints "<got on B_PORT> <got on other>"
phase() {
	local port=$2 other=$(( $2 == 8078 ? 8079 : 8078 ))
	nsx "$NS_callee" "$gen" recv --on 10.0.2.2:$port --count $N --timeout 4 >"$ICP_TMP/$1.json" &
	local p1=$!
	nsx "$NS_callee" "$gen" recv --on 10.0.2.2:$other --count 1 --timeout 4 --any \
		>"$ICP_TMP/$1-other.json" &
	local p2=$!
	ICP_PIDS+=($p1 $p2)
	sleep 0.3
	nsx "$NS_caller" "$gen" send --from 10.0.1.2:7078 --to $ICPD_RELAY:$ra --count $N \
		--rate 100 --seq "$3" >/dev/null || icp_fail "udpgen send"
	wait $p1 $p2
	echo "$(sed -n 's/.*"unique":\([0-9]*\).*/\1/p' "$ICP_TMP/$1.json")" \
		"$(sed -n 's/.*"received":\([0-9]*\).*/\1/p' "$ICP_TMP/$1-other.json")"
}
fast() { local af; read -r af _ _ < <(icpd_leg_counts "$1" ta); echo "$af"; }

icp_log "call 1, media-handover: B moves from port 8078 to 8079 mid-call"
C1=handover-$ICP_RUN
call "$C1" media-handover
nsx "$NS_callee" "$gen" send --from 10.0.2.2:8078 --to $ICPD_RELAY:$rb --count 1 >/dev/null
read -r got other < <(phase h1 8078 1)
x1=$(fast "$C1")
icp_log "before the move: B got $got of $N on 8078 (XDP carried $x1)"
[ "$got" -eq $N ] || icp_fail "before the move B got $got of $N"
nsx "$NS_callee" "$gen" send --from 10.0.2.2:8079 --to $ICPD_RELAY:$rb --count 1 >/dev/null
WAIT_SECS=5 wait_for grep -q "call $C1 leg tb stream 0: media-handover: RTP moves to 203.0.113.20" \
	"$ICPD_LOG" || icp_fail "the relay did not follow B's new mapping"
read -r got other < <(phase h2 8079 $((N + 1)))
x2=$(fast "$C1")
icp_log "after the move: B got $got of $N on 8079, $other on the old port; XDP $x1 -> $x2"
[ "$got" -eq $N ] || icp_fail "after the move B got $got of $N on its new mapping"
[ "${other:-1}" -eq 0 ] || icp_fail "media still went to the old mapping"
[ $((x2 - x1)) -ge $((N - 5)) ] || icp_fail "the fast path carried only $((x2 - x1)) of $N after the move"
# the flow toward B was replaced in place (same key, new destination): its
# counters go on, they are not counted twice
[ $((x2 - x1)) -le $N ] || icp_fail "XDP counted $((x2 - x1)) packets for $N sent after the move"

icp_log "call 2, default latching: a packet from B's new port does not take the stream"
C2=latch-$ICP_RUN
call "$C2"
nsx "$NS_callee" "$gen" send --from 10.0.2.2:8078 --to $ICPD_RELAY:$rb --count 1 >/dev/null
nsx "$NS_callee" "$gen" send --from 10.0.2.2:8079 --to $ICPD_RELAY:$rb --count 1 >/dev/null
read -r got other < <(phase d1 8078 1)
icp_log "default: B got $got of $N on the latched 8078, $other on 8079"
[ "$got" -eq $N ] || icp_fail "the latched mapping got $got of $N"
[ "${other:-1}" -eq 0 ] || icp_fail "a stray source took the stream over"
grep -q "call $C2 .*media-handover" "$ICPD_LOG" && icp_fail "call 2 re-latched without media-handover"
echo PASS
