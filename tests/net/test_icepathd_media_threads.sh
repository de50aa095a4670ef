#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 12, crypto media over cores (relay_worker.c): icepathd
# --media-threads 2 carries two SDES-SRTP <-> plain RTP calls at the same
# time (tests/interop/sdes-peer on libsrtp2 and rtp_plain_peer.py, as in
# test_icepathd_sdes.sh), and
#   - every packet of both calls makes it, each way, SRTP authenticated and
#     decrypted at the SRTP phones, plain PCMU/RTCP at the plain phones;
#   - the two calls are owned by different media threads, and at shutdown
#     each thread says it forwarded packets (both > 0): with one thread
#     doing all the work this fails;
#   - the NG query's counters of a call include what its thread forwarded.
#
#   srtp  203.0.113.50 (:6000, :6002) --+
#                                       +-- sw (bridge) -- relay 203.0.113.2
#   plain 203.0.113.40 (:7078, :7080) --+
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_media_threads.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
RELAY=203.0.113.2 SRTP=203.0.113.50 PLAIN=203.0.113.40 NG=127.0.0.1:2224 SECS=5
# the ASan+UBSan daemon when there is one (build/asan/bin/icepathd), as
# test_icepathd_webrtc_gw.sh; ICPD_DAEMON=icepathd (relative to BUILD/bin)
# picks another; any sanitizer report fails
DAEMON=$BUILD/bin/${ICPD_DAEMON:-icepathd}
[ -z "${ICPD_DAEMON:-}" ] && [ -x "$BUILD/asan/bin/icepathd" ] && DAEMON=$BUILD/asan/bin/icepathd
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for b in icepath-ngsdp icepathctl sdes-peer; do
	[ -x "$BUILD/bin/$b" ] || icp_fail "$BUILD/bin/$b is missing: run 'make' first"
done
[ -x "$DAEMON" ] || icp_fail "$DAEMON is missing: run 'make' first"
ns_new sw; ns_new relay; ns_new srtp; ns_new plain
ip -n "$NS_sw" link add br0 type bridge || icp_fail "cannot create a bridge"
ip -n "$NS_sw" link set br0 up
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_sw" p-relay -
ns_link "$NS_srtp" eth0 $SRTP/24 "$NS_sw" p-srtp -
ns_link "$NS_plain" eth0 $PLAIN/24 "$NS_sw" p-plain -
for p in p-relay p-srtp p-plain; do ip -n "$NS_sw" link set "$p" master br0; done
LOG=$ICP_TMP/icepathd.log
ip netns exec "$NS_relay" "$DAEMON" --interface pub=$RELAY --listen-ng $NG --xdp off \
	--media-threads 2 --port-min 20000 --port-max 20999 \
	--state-file "$ICP_TMP/state" --pin-path "$ICP_TMP/pin" --foreground >>"$LOG" 2>&1 &
DPID=$!
ICP_PIDS+=($DPID)
WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 ||
	{ tail -20 "$LOG" >&2; icp_fail "icepathd did not answer NG ping"; }
grep -q "media threads: 2" "$LOG" || icp_fail "icepathd did not start 2 media threads: $(grep 'media thread' "$LOG")"
ng() { nsx "$NS_relay" "$BUILD/bin/icepath-ngsdp" "$@" --server $NG; }
plain_sdp() { printf 'v=0\r\no=plain 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' $PLAIN $PLAIN "$1"; }
port_of() { sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$1"; }

# call K SRTP_PORT PLAIN_PORT: the SRTP phone offers, the plain phone answers
PIDS=()
call() {
	local k=$1 c=mt-$1-$ICP_RUN rp
	nsx "$NS_srtp" "$BUILD/bin/sdes-peer" offer --bind $SRTP:$2 --sdp-out "$ICP_TMP/$k-offer.sdp" \
		--sdp-in "$ICP_TMP/$k-answer-for-srtp.sdp" --seconds $SECS >"$ICP_TMP/$k-srtp.json" &
	PIDS+=($!); ICP_PIDS+=($!)
	WAIT_SECS=5 wait_for test -s "$ICP_TMP/$k-offer.sdp" || icp_fail "sdes-peer $k wrote no offer"
	ng offer --call-id $c --from-tag srtp --sdp-in "$ICP_TMP/$k-offer.sdp" \
		--sdp-out "$ICP_TMP/$k-offer-for-plain.sdp" --transport RTP/AVP || icp_fail "NG offer $k"
	rp=$(port_of "$ICP_TMP/$k-offer-for-plain.sdp")
	plain_sdp $3 >"$ICP_TMP/$k-plain-answer.sdp"
	nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:$3 --to $RELAY:$rp \
		--rtcp-to $RELAY:$((rp + 1)) --seconds $SECS >"$ICP_TMP/$k-plain.json" &
	PIDS+=($!); ICP_PIDS+=($!)
	ng answer --call-id $c --from-tag srtp --to-tag plain --sdp-in "$ICP_TMP/$k-plain-answer.sdp" \
		--sdp-out "$ICP_TMP/$k-answer-for-srtp.sdp" || icp_fail "NG answer $k"
}
call 1 6000 7078
call 2 6002 7080
wait "${PIDS[@]}"
for k in 1 2; do
	icp_log "call $k: srtp phone $(cat "$ICP_TMP/$k-srtp.json")"
	icp_log "call $k: plain phone $(cat "$ICP_TMP/$k-plain.json")"
	python3 - "$ICP_TMP/$k-srtp.json" "$ICP_TMP/$k-plain.json" "call $k" <<'PY' || icp_fail "call $k: media check failed (above)"
import json, sys
s, p, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
if s["srtp_ok"] < 150: bad.append("the SRTP phone decrypted only %d RTP packets" % s["srtp_ok"])
if s["srtp_fail"]: bad.append("%d SRTP packets failed at the SRTP phone" % s["srtp_fail"])
if s["srtcp_ok"] < 1 or s["srtcp_fail"]: bad.append("SRTCP at the SRTP phone: %d ok, %d failed" % (s["srtcp_ok"], s["srtcp_fail"]))
if p["rtp_plain"] < 150: bad.append("the plain phone got only %d plain PCMU packets" % p["rtp_plain"])
if p["rtp_other"] or p["rtcp_other"]: bad.append("the plain phone got %d RTP / %d RTCP not plain" % (p["rtp_other"], p["rtcp_other"]))
if p["rtcp_plain"] < 1: bad.append("no plain RTCP at the plain phone")
for b in bad: print("FAIL %s: %s" % (name, b))
sys.exit(1 if bad else 0)
PY
done
# the query's counters include the thread's: both directions forwarded
q=$(nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query mt-1-$ICP_RUN)
echo "$q" | head -12
grep "media thread . forwards" "$LOG"
t1=$(sed -n "s/.*call mt-1-$ICP_RUN: media thread \([0-9]*\) forwards.*/\1/p" "$LOG" | tail -1)
t2=$(sed -n "s/.*call mt-2-$ICP_RUN: media thread \([0-9]*\) forwards.*/\1/p" "$LOG" | tail -1)
[ -n "$t1" ] && [ -n "$t2" ] || icp_fail "a call never got a media thread (t1='$t1' t2='$t2')"
[ "$t1" != "$t2" ] || icp_fail "both calls on media thread $t1: the work is not spread"
kill -TERM $DPID
WAIT_SECS=10 wait_for sh -c "! kill -0 $DPID 2>/dev/null" || icp_fail "icepathd did not stop on SIGTERM"
grep "media thread [01]: .* packets forwarded" "$LOG" || icp_fail "no per-thread figures at shutdown"
for t in 0 1; do
	n=$(sed -n "s/.*media thread $t: \([0-9]*\) packets forwarded.*/\1/p" "$LOG")
	[ "${n:-0}" -gt 100 ] || icp_fail "media thread $t forwarded ${n:-0} packets (want > 100): one thread did the work"
done
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"; then
	grep -m1 -B2 -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"
	icp_fail "sanitizer report in the daemon log ($DAEMON)"
fi
icp_log "daemon: $DAEMON"
echo PASS
