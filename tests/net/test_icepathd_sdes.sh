#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 12, SDES-SRTP (RFC 4568) against plain RTP through icepathd: an SRTP
# phone (tests/interop/sdes-peer, SRTP on libsrtp2's own API, not icepath's
# glue) and a plain RTP/AVP one (tests/interop/rtp_plain_peer.py), in both
# directions of the offer:
#   1. the SRTP phone offers RTP/SAVP with a=crypto; transport-protocol=RTP/AVP
#      toward the plain phone, which gets no a=crypto; the answer toward the
#      SRTP phone is RTP/SAVP with the relay's own key for the offered tag;
#   2. the plain phone offers; transport-protocol=RTP/SAVP toward the SRTP
#      phone, which gets a=crypto lines of the relay (SDES-no-* honoured);
#      the plain phone's answer has no a=crypto.
# Each way, every packet is checked: the SRTP phone authenticates and
# decrypts the relay's SRTP and SRTCP (no failure), the plain phone gets
# exact-size plain PCMU and plain RTCP (nothing still encrypted).
#
#   srtp  203.0.113.50 --+
#                        +-- sw (bridge) -- relay 203.0.113.2 (icepathd)
#   plain 203.0.113.40 --+
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_sdes.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
RELAY=203.0.113.2 SRTP=203.0.113.50 PLAIN=203.0.113.40 NG=127.0.0.1:2223 SECS=6
for b in icepathd icepath-ngsdp icepathctl sdes-peer; do
	[ -x "$BUILD/bin/$b" ] || icp_fail "$BUILD/bin/$b is missing: run 'make' first"
done
ns_new sw; ns_new relay; ns_new srtp; ns_new plain
ip -n "$NS_sw" link add br0 type bridge || icp_fail "cannot create a bridge"
ip -n "$NS_sw" link set br0 up
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_sw" p-relay -
ns_link "$NS_srtp" eth0 $SRTP/24 "$NS_sw" p-srtp -
ns_link "$NS_plain" eth0 $PLAIN/24 "$NS_sw" p-plain -
for p in p-relay p-srtp p-plain; do ip -n "$NS_sw" link set "$p" master br0; done
LOG=$ICP_TMP/icepathd.log
# --dtls-cert/--dtls-key: a certificate of the operator's (openssl CLI, part
# of Debian's openssl, which libssl-dev pulls in); the daemon must use it
DTLS_OPTS=()
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=icepath-test -keyout "$ICP_TMP/key.pem" -out "$ICP_TMP/cert.pem" 2>/dev/null ||
		icp_fail "openssl could not make a test certificate"
	DTLS_OPTS=(--dtls-cert "$ICP_TMP/cert.pem" --dtls-key "$ICP_TMP/key.pem")
fi
start_relay() {
	ip netns exec "$NS_relay" "$BUILD/bin/icepathd" --interface pub=$RELAY --listen-ng $NG --xdp off \
		--state-file "$ICP_TMP/state" --pin-path "$ICP_TMP/pin" --foreground "${DTLS_OPTS[@]}" >>"$LOG" 2>&1 &
	RELAY_PID=$!
	ICP_PIDS+=($RELAY_PID)
	WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 ||
		{ tail -20 "$LOG" >&2; icp_fail "icepathd did not answer NG ping"; }
}
start_relay
if [ ${#DTLS_OPTS[@]} -gt 0 ]; then
	want=$(openssl x509 -in "$ICP_TMP/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
	grep -q "DTLS certificate sha-256 $want ($ICP_TMP/cert.pem)" "$LOG" ||
		icp_fail "icepathd does not use --dtls-cert (want sha-256 $want): $(grep 'DTLS certificate' "$LOG")"
	icp_log "--dtls-cert: icepathd uses sha-256 $want"
fi
ng() { nsx "$NS_relay" "$BUILD/bin/icepath-ngsdp" "$@" --server $NG; }
plain_sdp() { printf 'v=0\r\no=plain 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' $PLAIN $PLAIN; }
port_of() { sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$1"; }

# check NAME SRTP_JSON PLAIN_JSON: every packet each way made it, as it should
check() {
	icp_log "$1: srtp phone $(cat "$2")"
	icp_log "$1: plain phone $(cat "$3")"
	python3 - "$2" "$3" "$1" <<'PY' || icp_fail "$1: media check failed (above)"
import json, sys
s, p, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
if s["srtp_ok"] < 200: bad.append("the SRTP phone decrypted only %d RTP packets" % s["srtp_ok"])
if s["srtp_fail"]: bad.append("%d SRTP packets failed at the SRTP phone" % s["srtp_fail"])
if s["srtcp_ok"] < 1 or s["srtcp_fail"]: bad.append("SRTCP at the SRTP phone: %d ok, %d failed" % (s["srtcp_ok"], s["srtcp_fail"]))
if p["rtp_plain"] < 200: bad.append("the plain phone got only %d plain PCMU packets" % p["rtp_plain"])
if p["rtp_other"] or p["rtcp_other"]: bad.append("the plain phone got %d RTP / %d RTCP not plain" % (p["rtp_other"], p["rtcp_other"]))
if p["rtcp_plain"] < 1: bad.append("no plain RTCP at the plain phone")
for b in bad: print("FAIL %s: %s" % (name, b))
sys.exit(1 if bad else 0)
PY
}

# ---- 1. the SRTP phone offers -------------------------------------------------
C1=sdes-1-$ICP_RUN
nsx "$NS_srtp" "$BUILD/bin/sdes-peer" offer --bind $SRTP:6000 --sdp-out "$ICP_TMP/1-offer.sdp" \
	--sdp-in "$ICP_TMP/1-answer-for-srtp.sdp" --seconds $SECS >"$ICP_TMP/1-srtp.json" &
SP=$!
ICP_PIDS+=($SP)
WAIT_SECS=5 wait_for test -s "$ICP_TMP/1-offer.sdp" || icp_fail "sdes-peer wrote no offer"
ng offer --call-id $C1 --from-tag srtp --sdp-in "$ICP_TMP/1-offer.sdp" \
	--sdp-out "$ICP_TMP/1-offer-for-plain.sdp" --transport RTP/AVP || icp_fail "NG offer 1"
grep -q '^m=audio [0-9]* RTP/AVP 0' "$ICP_TMP/1-offer-for-plain.sdp" || icp_fail "1: the plain phone's offer is not RTP/AVP"
grep -q '^a=crypto' "$ICP_TMP/1-offer-for-plain.sdp" && icp_fail "1: the plain phone's offer carries a=crypto"
rp=$(port_of "$ICP_TMP/1-offer-for-plain.sdp")
plain_sdp >"$ICP_TMP/1-plain-answer.sdp"
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7078 --to $RELAY:$rp \
	--rtcp-to $RELAY:$((rp + 1)) --seconds $SECS >"$ICP_TMP/1-plain.json" &
PP=$!
ICP_PIDS+=($PP)
ng answer --call-id $C1 --from-tag srtp --to-tag plain --sdp-in "$ICP_TMP/1-plain-answer.sdp" \
	--sdp-out "$ICP_TMP/1-answer-for-srtp.sdp" || icp_fail "NG answer 1"
sed 's/^/  srtp phone gets: /' "$ICP_TMP/1-answer-for-srtp.sdp" | tr -d '\r'
grep -q '^m=audio [0-9]* RTP/SAVP 0' "$ICP_TMP/1-answer-for-srtp.sdp" || icp_fail "1: the SRTP phone's answer is not RTP/SAVP"
grep -q '^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' "$ICP_TMP/1-answer-for-srtp.sdp" ||
	icp_fail "1: the SRTP phone's answer has no a=crypto for its tag 1"
key_srtp=$(sed -n 's/^a=crypto:1 [^ ]* inline:\([^|]*\).*/\1/p' "$ICP_TMP/1-offer.sdp" | tr -d '\r')
grep -q "$key_srtp" "$ICP_TMP/1-answer-for-srtp.sdp" && icp_fail "1: the relay echoed the phone's own key"
wait $SP $PP
check "SRTP offers" "$ICP_TMP/1-srtp.json" "$ICP_TMP/1-plain.json"

# ---- 2. the plain phone offers --------------------------------------------------
C2=sdes-2-$ICP_RUN
plain_sdp >"$ICP_TMP/2-offer.sdp"
ng offer --call-id $C2 --from-tag plain --sdp-in "$ICP_TMP/2-offer.sdp" \
	--sdp-out "$ICP_TMP/2-offer-for-srtp.sdp" --transport RTP/SAVP \
	--sdes no-AES_CM_128_HMAC_SHA1_32 || icp_fail "NG offer 2"
sed 's/^/  srtp phone gets: /' "$ICP_TMP/2-offer-for-srtp.sdp" | tr -d '\r'
grep -q '^m=audio [0-9]* RTP/SAVP 0' "$ICP_TMP/2-offer-for-srtp.sdp" || icp_fail "2: the SRTP phone's offer is not RTP/SAVP"
grep -q '^a=crypto:[0-9]* AES_CM_128_HMAC_SHA1_80 inline:' "$ICP_TMP/2-offer-for-srtp.sdp" ||
	icp_fail "2: no AES_CM_128_HMAC_SHA1_80 a=crypto offered"
grep -q 'AES_CM_128_HMAC_SHA1_32' "$ICP_TMP/2-offer-for-srtp.sdp" && icp_fail "2: SDES-no-AES_CM_128_HMAC_SHA1_32 not honoured"
rs=$(port_of "$ICP_TMP/2-offer-for-srtp.sdp")
nsx "$NS_srtp" "$BUILD/bin/sdes-peer" answer --bind $SRTP:6000 --sdp-in "$ICP_TMP/2-offer-for-srtp.sdp" \
	--sdp-out "$ICP_TMP/2-answer.sdp" --seconds $SECS >"$ICP_TMP/2-srtp.json" &
SP=$!
ICP_PIDS+=($SP)
WAIT_SECS=5 wait_for test -s "$ICP_TMP/2-answer.sdp" || icp_fail "sdes-peer wrote no answer"
ng answer --call-id $C2 --from-tag plain --to-tag srtp --sdp-in "$ICP_TMP/2-answer.sdp" \
	--sdp-out "$ICP_TMP/2-answer-for-plain.sdp" || icp_fail "NG answer 2"
grep -q '^m=audio [0-9]* RTP/AVP 0' "$ICP_TMP/2-answer-for-plain.sdp" || icp_fail "2: the plain phone's answer is not RTP/AVP"
grep -q '^a=crypto' "$ICP_TMP/2-answer-for-plain.sdp" && icp_fail "2: the plain phone's answer carries a=crypto"
rp=$(port_of "$ICP_TMP/2-answer-for-plain.sdp")
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7078 --to $RELAY:$rp \
	--rtcp-to $RELAY:$((rp + 1)) --seconds $SECS >"$ICP_TMP/2-plain.json" &
PP=$!
ICP_PIDS+=($PP)
wait $SP $PP
check "plain offers" "$ICP_TMP/2-srtp.json" "$ICP_TMP/2-plain.json"
nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query $C2 | grep -E "media|RTP" | head -6
grep "keys in place" "$LOG"

# ---- 3. kill -9 mid-call (issues 12 x 14) ------------------------------------------
# The SRTP phone offers as in 1; 3 s into the media icepathd is killed -9
# and started again on the same state file: the call comes back with its
# SRTP keys, and once the restarted relay answers (the mark) media flows
# both ways, decrypted to the plain phone and authenticated at the SRTP
# phone (zero failures after the restart), with no new offer/answer.
C3=sdes-3-$ICP_RUN S3=12 MARK=$ICP_TMP/3-restarted
nsx "$NS_srtp" "$BUILD/bin/sdes-peer" offer --bind $SRTP:6000 --sdp-out "$ICP_TMP/3-offer.sdp" \
	--sdp-in "$ICP_TMP/3-answer-for-srtp.sdp" --seconds $S3 --mark "$MARK" >"$ICP_TMP/3-srtp.json" &
SP=$!
ICP_PIDS+=($SP)
WAIT_SECS=5 wait_for test -s "$ICP_TMP/3-offer.sdp" || icp_fail "sdes-peer wrote no offer"
ng offer --call-id $C3 --from-tag srtp --sdp-in "$ICP_TMP/3-offer.sdp" \
	--sdp-out "$ICP_TMP/3-offer-for-plain.sdp" --transport RTP/AVP || icp_fail "NG offer 3"
rp=$(port_of "$ICP_TMP/3-offer-for-plain.sdp")
plain_sdp >"$ICP_TMP/3-plain-answer.sdp"
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7078 --to $RELAY:$rp \
	--rtcp-to $RELAY:$((rp + 1)) --seconds $S3 --mark "$MARK" >"$ICP_TMP/3-plain.json" &
PP=$!
ICP_PIDS+=($PP)
ng answer --call-id $C3 --from-tag srtp --to-tag plain --sdp-in "$ICP_TMP/3-plain-answer.sdp" \
	--sdp-out "$ICP_TMP/3-answer-for-srtp.sdp" || icp_fail "NG answer 3"
sleep 3
icp_log "3: kill -9 icepathd mid-call"
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
grep -c '^keys ' "$ICP_TMP/state" | sed 's/^/  keys records in the state file: /'
[ "$(stat -c %a "$ICP_TMP/state")" = 600 ] || icp_fail "3: the state file (SRTP keys) is mode $(stat -c %a "$ICP_TMP/state"), not 600"
for f in 3-offer.sdp 3-answer-for-srtp.sdp; do
	k=$(sed -n 's/^a=crypto:[0-9]* [^ ]* inline:\([^|]*\).*/\1/p' "$ICP_TMP/$f" | tr -d '\r')
	[ -n "$k" ] || icp_fail "3: no a=crypto key in $f"
	grep -qF "$k" "$LOG" && icp_fail "3: an SRTP key of $f is in icepathd's log"
done
start_relay
touch "$MARK"
icp_log "3: icepathd restarted"
wait $SP $PP
icp_log "3: srtp phone $(cat "$ICP_TMP/3-srtp.json")"
icp_log "3: plain phone $(cat "$ICP_TMP/3-plain.json")"
python3 - "$ICP_TMP/3-srtp.json" "$ICP_TMP/3-plain.json" <<'PY' || icp_fail "3: media after the restart failed (above)"
import json, sys
s, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = []
if s["srtp_ok_after"] < 100: bad.append("the SRTP phone decrypted only %d RTP packets after the restart" % s["srtp_ok_after"])
if s["srtp_fail_after"]: bad.append("%d SRTP packets failed at the SRTP phone after the restart" % s["srtp_fail_after"])
if s["srtcp_ok_after"] < 1: bad.append("no SRTCP authenticated at the SRTP phone after the restart")
if s["srtcp_fail_after"]: bad.append("%d SRTCP packets refused at the SRTP phone after the restart (a repeated SRTCP index: the restored tx must renumber)" % s["srtcp_fail_after"])
if p["rtp_plain_after"] < 100: bad.append("the plain phone got only %d plain PCMU packets after the restart" % p["rtp_plain_after"])
if p["rtp_other"]: bad.append("the plain phone got %d RTP packets not plain" % p["rtp_other"])
for b in bad: print("FAIL restart: %s" % b)
sys.exit(1 if bad else 0)
PY
echo PASS
