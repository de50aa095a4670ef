#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 12, the WebRTC <-> SIP gateway with a real browser: headless Chromium
# (ICE, DTLS-SRTP, rtcp-mux, BUNDLE, AVPF) calls a plain RTP/AVP endpoint of
# the test's own (tests/interop/rtp_plain_peer.py, separate RTCP port)
# through icepathd, with the flags that make rtpengine do it:
#   offer   ICE=remove DTLS=off SDES-off transport-protocol=RTP/AVP
#           rtcp-mux=demux DTLS-reverse=passive
#   answer  ICE=force DTLS=passive transport-protocol=UDP/TLS/RTP/SAVPF
#           rtcp-mux=require
# Passes when: the plain side's SDP is RTP/AVP without fingerprint, setup,
# ICE or rtcp-mux lines; the browser's is UDP/TLS/RTP/SAVPF with the relay's
# fingerprint; the browser reports ICE connected and DTLS connected (getStats
# transport.dtlsState); its RTP reaches the plain side decrypted (exactly
# 12 + 160 bytes of PCMU, no SRTP tag) and its RTCP plain on the RTCP port;
# the plain side's RTP reaches the browser (inbound-rtp packetsReceived); the
# relay installed no fast-path flow for the call and counted no
# authentication failure.
#
#   browser 203.0.113.30 --+
#                          +-- sw (bridge) -- relay 203.0.113.2 (icepathd)
#   plain   203.0.113.40 --+
#
# The other way round too: the plain endpoint offers RTP/AVP and the browser
# answers (offer ICE=force transport-protocol=UDP/TLS/RTP/SAVPF rtcp-mux=offer
# generate-mid; answer ICE=remove transport-protocol=RTP/AVP rtcp-mux=demux):
# the browser gets the relay's a=setup:actpass, fingerprint, a=mid, ICE and
# a=rtcp-mux, and the same media checks hold.
#
# Then, while the first call runs, forged SRTP, SRTCP and DTLS from the browser's
# own selected address and port (tests/interop/udp_forge.py, a raw socket):
# none of it may reach the plain side, the SRTP failures are counted per
# stream in query, and the call goes on. The daemon is the ASan+UBSan build
# when there is one (build/asan/bin/icepathd); any sanitizer report fails.
#
# Chromium's page talks to a small HTTP server on 127.0.0.1 of its own
# namespace (tests/interop/webrtc_page.py): the offer, the answer and its
# states go through files. Nothing leaves the namespaces made here.
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_webrtc_gw.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
RELAY=203.0.113.2 BROWSER=203.0.113.30 PLAIN=203.0.113.40 NG=127.0.0.1:2223
CALL=webrtc-gw-$ICP_RUN
CHROME=$(command -v chromium || command -v chromium-browser) ||
	icp_skip "no chromium (Debian package chromium; tools/install-deps.sh installs it)"
for b in icepathd icepath-ngsdp icepathctl; do
	[ -x "$BUILD/bin/$b" ] || icp_fail "$BUILD/bin/$b is missing: run 'make' first"
done
DAEMON=$BUILD/bin/${ICPD_DAEMON:-icepathd}
[ -z "${ICPD_DAEMON:-}" ] && [ -x "$BUILD/asan/bin/icepathd" ] && DAEMON=$BUILD/asan/bin/icepathd
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitizer_report() {
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG" || return 1
	grep -m1 -B2 -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"
}

ns_new sw; ns_new relay; ns_new browser; ns_new plain
ip -n "$NS_sw" link add br0 type bridge || icp_fail "cannot create a bridge"
ip -n "$NS_sw" link set br0 up
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_sw" p-relay -
ns_link "$NS_browser" eth0 $BROWSER/24 "$NS_sw" p-browser -
ns_link "$NS_plain" eth0 $PLAIN/24 "$NS_sw" p-plain -
for p in p-relay p-browser p-plain; do ip -n "$NS_sw" link set "$p" master br0; done

LOG=$ICP_TMP/icepathd.log
ip netns exec "$NS_relay" "$DAEMON" --interface pub=$RELAY --listen-ng $NG --xdp off \
	--state-file "$ICP_TMP/state" --pin-path "$ICP_TMP/pin" --foreground >>"$LOG" 2>&1 &
DPID=$!
ICP_PIDS+=($DPID)
WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 ||
	{ tail -20 "$LOG" >&2; icp_fail "icepathd did not answer NG ping"; }
grep -q "DTLS certificate sha-256 " "$LOG" || icp_fail "icepathd made no DTLS certificate at start"
icp_log "daemon: ${DAEMON#$BUILD/}"

# the browser and its page server, in the browser's namespace
PAGE=$ICP_TMP/page
mkdir -p "$PAGE"
nsx "$NS_browser" python3 "$HERE/../interop/webrtc_page.py" 8080 "$PAGE" &
ICP_PIDS+=($!)
page_up() {
	nsx "$NS_browser" python3 -c \
		'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/")' 2>/dev/null
}
WAIT_SECS=5 wait_for page_up ||
	icp_fail "the page server did not start"
nsx "$NS_browser" "$CHROME" --headless=new --no-sandbox --disable-gpu \
	--use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
	--disable-features=WebRtcHideLocalIpsWithMdns --no-first-run --no-default-browser-check \
	--user-data-dir="$ICP_TMP/chrome" --remote-debugging-port=0 \
	http://127.0.0.1:8080/ >"$ICP_TMP/chrome.log" 2>&1 &
ICP_PIDS+=($!)
WAIT_SECS=30 wait_for test -s "$PAGE/offer.sdp" ||
	{ tail -20 "$ICP_TMP/chrome.log" >&2; icp_fail "Chromium posted no offer"; }
icp_log "browser offer: $(grep -c '^a=candidate' "$PAGE/offer.sdp") candidates, $(sed -n 's/^m=audio [0-9]* \([^ ]*\) .*/\1/p' "$PAGE/offer.sdp" | tr -d '\r')"

ng() { nsx "$NS_relay" "$BUILD/bin/icepath-ngsdp" "$@" --server $NG --call-id "${NGCALL:-$CALL}"; }
ng offer --from-tag browser --sdp-in "$PAGE/offer.sdp" --sdp-out "$ICP_TMP/plain-offer.sdp" \
	--ice remove --dtls off --sdes off --transport RTP/AVP --rtcp-mux demux \
	--dtls-reverse passive 2>"$ICP_TMP/offer.warn" || icp_fail "NG offer: $(cat "$ICP_TMP/offer.warn")"
icp_log "offer warnings: $(cat "$ICP_TMP/offer.warn")"
sed 's/^/  plain side gets: /' "$ICP_TMP/plain-offer.sdp" | tr -d '\r'
grep -q '^m=audio [0-9]* RTP/AVP ' "$ICP_TMP/plain-offer.sdp" || icp_fail "the plain side's m= is not RTP/AVP"
for a in fingerprint setup ice-ufrag ice-pwd candidate rtcp-mux crypto 'group:BUNDLE'; do
	grep -q "^a=$a" "$ICP_TMP/plain-offer.sdp" && icp_fail "the plain side's SDP has a=$a"
done
rport=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/plain-offer.sdp")
rrtcp=$(sed -n 's/^a=rtcp:\([0-9]*\).*/\1/p' "$ICP_TMP/plain-offer.sdp" | tr -d '\r')
[ -n "$rrtcp" ] || rrtcp=$((rport + 1))
[ "$rrtcp" -ne "$rport" ] || icp_fail "the plain side's RTCP is not on a port of its own"

printf 'v=0\r\no=trunk 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' \
	$PLAIN $PLAIN >"$ICP_TMP/plain-answer.sdp"
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7078 \
	--to $RELAY:$rport --rtcp-to $RELAY:$rrtcp --seconds 15 >"$ICP_TMP/plain.json" &
PLAIN_PID=$!
ICP_PIDS+=($PLAIN_PID)
ng answer --from-tag browser --to-tag trunk --sdp-in "$ICP_TMP/plain-answer.sdp" \
	--sdp-out "$ICP_TMP/browser-answer.sdp" --ice force --dtls passive \
	--transport UDP/TLS/RTP/SAVPF --rtcp-mux require 2>"$ICP_TMP/answer.warn" ||
	icp_fail "NG answer: $(cat "$ICP_TMP/answer.warn")"
icp_log "answer warnings: $(cat "$ICP_TMP/answer.warn")"
sed 's/^/  browser gets: /' "$ICP_TMP/browser-answer.sdp" | tr -d '\r'
grep -q '^m=audio [0-9]* UDP/TLS/RTP/SAVPF ' "$ICP_TMP/browser-answer.sdp" ||
	icp_fail "the browser's answer is not UDP/TLS/RTP/SAVPF"
fp=$(sed -n 's/.*DTLS certificate \(sha-256 [0-9A-F:]*\).*/\1/p' "$LOG" | head -1)
grep -q "^a=fingerprint:$fp" "$ICP_TMP/browser-answer.sdp" || icp_fail "the browser's answer lacks the relay's fingerprint"
grep -q '^a=setup:passive' "$ICP_TMP/browser-answer.sdp" || icp_fail "the browser's answer is not a=setup:passive"
grep -q '^a=rtcp-mux' "$ICP_TMP/browser-answer.sdp" || icp_fail "the browser's answer lacks a=rtcp-mux"
grep -q '^a=ice-ufrag' "$ICP_TMP/browser-answer.sdp" || icp_fail "the browser's answer lacks ICE"
cp "$ICP_TMP/browser-answer.sdp" "$PAGE/answer.sdp.tmp" && mv "$PAGE/answer.sdp.tmp" "$PAGE/answer.sdp"

connected() {
	tail -1 "$PAGE/report.jsonl" 2>/dev/null | grep -q '"dtls":"connected"' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"ice":"(connected|completed)"' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"rx":[1-9]'
}
WAIT_SECS=20 wait_for connected || {
	tail -3 "$PAGE/report.jsonl" >&2
	grep -i "dtls\|srtp\|error\|warn" "$LOG" | tail -20 >&2
	icp_fail "the browser did not reach ICE+DTLS connected with media from the plain side"
}
icp_log "browser: $(tail -1 "$PAGE/report.jsonl")"
grep -q '"error"' "$PAGE/report.jsonl" && icp_fail "the page reported an error: $(grep '"error"' "$PAGE/report.jsonl" | head -1)"
rx1=$(tail -1 "$PAGE/report.jsonl" | sed -n 's/.*"rx":\([0-9]*\).*/\1/p')

# an attacker on the browser's 5-tuple: forged SRTP/SRTCP/DTLS
bpeer=$(nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query "$CALL" |
	awk '/^  browser / { print $NF; exit }')
bport=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/browser-answer.sdp")
case $bpeer in 203.0.113.30:*) ;; *) icp_fail "no selected pair toward the browser in query ($bpeer)" ;; esac
FORGED=200
for k in srtp srtcp dtls; do
	nsx "$NS_browser" python3 "$HERE/../interop/udp_forge.py" --src "$bpeer" --dst $RELAY:$bport \
		--kind $k --count $FORGED || icp_fail "udp_forge $k"
done
wait $PLAIN_PID
icp_log "plain side: $(cat "$ICP_TMP/plain.json")"
read -r rtp_plain rtp_other rtcp_plain rtcp_other < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))
print(s["rtp_plain"], s["rtp_other"], s["rtcp_plain"], s["rtcp_other"])' "$ICP_TMP/plain.json")
[ "$rtp_plain" -ge 100 ] || icp_fail "only $rtp_plain plain PCMU packets reached the plain side"
[ "$rtp_other" -eq 0 ] || icp_fail "$rtp_other RTP packets reached the plain side not as plain PCMU (still SRTP?)"
[ "$rtcp_plain" -ge 1 ] || icp_fail "no plain RTCP reached the plain side's RTCP port"
[ "$rtcp_other" -eq 0 ] || icp_fail "$rtcp_other RTCP packets reached the plain side not as plain RTCP"
rx=$(tail -1 "$PAGE/report.jsonl" | sed -n 's/.*"rx":\([0-9]*\).*/\1/p')
icp_log "browser received $rx RTP packets from the plain side (decrypted by Chromium)"
nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query "$CALL" >"$ICP_TMP/query.txt" ||
	icp_fail "query failed"
cat "$ICP_TMP/query.txt"
auth=$(sed -n 's/.*srtp auth-failed \([0-9]*\).*/\1/p' "$ICP_TMP/query.txt" | head -1)
[ "${auth:-0}" -ge $((2 * FORGED)) ] ||
	icp_fail "query counts ${auth:-0} SRTP/SRTCP authentication failures, $((2 * FORGED)) were forged"
icp_log "forged: $((2 * FORGED)) SRTP/SRTCP counted as auth failures ($auth), $FORGED bad DTLS records taken and discarded by the relay's DTLS endpoint; none reached the plain side"
rx2=$(tail -1 "$PAGE/report.jsonl" | sed -n 's/.*"rx":\([0-9]*\).*/\1/p')
[ "$rx2" -gt "$rx1" ] || icp_fail "the browser stopped receiving after the forged packets ($rx1 -> $rx2)"
grep -q '"dtls":"connected"' <(tail -1 "$PAGE/report.jsonl") || icp_fail "the browser's DTLS left connected"
grep -q "SRTP AEAD_AES_256_GCM\|SRTP AEAD_AES_128_GCM\|SRTP AES_CM_128_HMAC_SHA1_80" "$LOG" ||
	icp_fail "the log names no SRTP suite"
grep "keys in place" "$LOG" | head -1
grep -q "fast" "$ICP_TMP/query.txt" && grep -Eq "fast [1-9]" "$ICP_TMP/query.txt" &&
	icp_fail "the fast path carried packets of a crypto call"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above"

# ---- kill -9 mid-call and a restart (issues 12 x 14; GW_RESTART=0 leaves it out) ----
# The call comes back from the state file with its DTLS-SRTP keys: the
# browser, told nothing, keeps DTLS connected and its inbound-rtp goes on
# rising; the plain side gets decrypted RTP again; the certificate (no
# --dtls-cert: kept next to the state file) keeps its fingerprint (offer 2
# below checks the same $fp).
if [ "${GW_RESTART:-1}" = 1 ]; then
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	icp_log "restart: icepathd killed -9 mid-call"
	ip netns exec "$NS_relay" "$DAEMON" --interface pub=$RELAY --listen-ng $NG --xdp off \
		--state-file "$ICP_TMP/state" --pin-path "$ICP_TMP/pin" --foreground >>"$LOG" 2>&1 &
	DPID=$!
	ICP_PIDS+=($DPID)
	WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 ||
		{ tail -20 "$LOG" >&2; icp_fail "restart: icepathd did not answer NG ping"; }
	rx3=$(tail -1 "$PAGE/report.jsonl" | sed -n 's/.*"rx":\([0-9]*\).*/\1/p')
	nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7078 \
		--to $RELAY:$rport --rtcp-to $RELAY:$rrtcp --seconds 5 >"$ICP_TMP/plain-restart.json" ||
		icp_fail "restart: rtp_plain_peer"
	rx4=$(tail -1 "$PAGE/report.jsonl" | sed -n 's/.*"rx":\([0-9]*\).*/\1/p')
	icp_log "restart: plain side $(cat "$ICP_TMP/plain-restart.json")"
	icp_log "restart: browser $(tail -1 "$PAGE/report.jsonl")"
	p_after=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["rtp_plain"] if not s["rtp_other"] else -1)' "$ICP_TMP/plain-restart.json")
	[ "$p_after" -ge 100 ] || icp_fail "restart: the plain side got $p_after plain PCMU packets from the browser after the restart (-1: some not plain)"
	# the second plain run has an SSRC of its own (random): the page then
	# reports that new inbound-rtp, whose count starts at 0
	new=$(( rx4 - rx3 >= 100 || (rx4 < rx3 && rx4 >= 100) ))
	[ "$new" = 1 ] || icp_fail "restart: the browser's inbound-rtp went $rx3 -> $rx4 after the restart"
	grep -q '"dtls":"connected"' <(tail -1 "$PAGE/report.jsonl") || icp_fail "restart: the browser's DTLS left connected"
	grep -q "keys cannot be restored\|with no SRTP keys kept" "$LOG" && icp_fail "restart: keys not restored: $(grep 'keys' "$LOG" | tail -2)"
	icp_log "restart: browser inbound-rtp $rx3 -> $rx4, $p_after plain packets at the plain side, DTLS connected"
fi

# ---- the plain endpoint calls the browser ----------------------------------------
NGCALL=webrtc-gw2-$ICP_RUN
printf 'v=0\r\no=trunk 2 2 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 7080 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' \
	$PLAIN $PLAIN >"$ICP_TMP/plain-offer2.sdp"
ng offer --from-tag trunk2 --sdp-in "$ICP_TMP/plain-offer2.sdp" --sdp-out "$ICP_TMP/browser-offer2.sdp" \
	--ice force --transport UDP/TLS/RTP/SAVPF --rtcp-mux offer --flag generate-mid \
	2>"$ICP_TMP/offer2.warn" || icp_fail "NG offer 2: $(cat "$ICP_TMP/offer2.warn")"
icp_log "offer 2 warnings: $(cat "$ICP_TMP/offer2.warn")"
sed 's/^/  browser is offered: /' "$ICP_TMP/browser-offer2.sdp" | tr -d '\r'
grep -q '^m=audio [0-9]* UDP/TLS/RTP/SAVPF 0' "$ICP_TMP/browser-offer2.sdp" || icp_fail "2: the browser's offer is not UDP/TLS/RTP/SAVPF"
for a in "fingerprint:$fp" setup:actpass mid:0 ice-ufrag rtcp-mux; do
	grep -q "^a=$a" "$ICP_TMP/browser-offer2.sdp" || icp_fail "2: the browser's offer lacks a=$a"
done
cp "$ICP_TMP/browser-offer2.sdp" "$PAGE/remote-offer.sdp.tmp" && mv "$PAGE/remote-offer.sdp.tmp" "$PAGE/remote-offer.sdp"
nsx "$NS_browser" "$CHROME" --headless=new --no-sandbox --disable-gpu \
	--use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
	--disable-features=WebRtcHideLocalIpsWithMdns --no-first-run --no-default-browser-check \
	--user-data-dir="$ICP_TMP/chrome2" --remote-debugging-port=0 \
	"http://127.0.0.1:8080/?role=answer" >"$ICP_TMP/chrome2.log" 2>&1 &
ICP_PIDS+=($!)
WAIT_SECS=30 wait_for test -s "$PAGE/local-answer.sdp" || {
	tail -3 "$PAGE/report-answer.jsonl" >&2
	icp_fail "2: Chromium posted no answer"
}
ng answer --from-tag trunk2 --to-tag browser2 --sdp-in "$PAGE/local-answer.sdp" \
	--sdp-out "$ICP_TMP/plain-answer2.sdp" --ice remove --transport RTP/AVP --rtcp-mux demux \
	2>"$ICP_TMP/answer2.warn" || icp_fail "NG answer 2: $(cat "$ICP_TMP/answer2.warn")"
icp_log "answer 2 warnings: $(cat "$ICP_TMP/answer2.warn")"
grep -q '^m=audio [0-9]* RTP/AVP 0' "$ICP_TMP/plain-answer2.sdp" || icp_fail "2: the plain side's answer is not RTP/AVP"
for a in fingerprint setup ice-ufrag candidate rtcp-mux crypto; do
	grep -q "^a=$a" "$ICP_TMP/plain-answer2.sdp" && icp_fail "2: the plain side's answer has a=$a"
done
rport=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$ICP_TMP/plain-answer2.sdp")
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_peer.py" --bind $PLAIN:7080 \
	--to $RELAY:$rport --rtcp-to $RELAY:$((rport + 1)) --seconds 10 >"$ICP_TMP/plain2.json" &
PLAIN_PID=$!
ICP_PIDS+=($PLAIN_PID)
connected2() {
	tail -1 "$PAGE/report-answer.jsonl" 2>/dev/null | grep -q '"dtls":"connected"' &&
		tail -1 "$PAGE/report-answer.jsonl" | grep -Eq '"ice":"(connected|completed)"' &&
		tail -1 "$PAGE/report-answer.jsonl" | grep -Eq '"rx":[1-9]'
}
WAIT_SECS=20 wait_for connected2 || {
	tail -3 "$PAGE/report-answer.jsonl" >&2
	icp_fail "2: the answering browser did not reach ICE+DTLS connected with media"
}
icp_log "browser (answerer): $(tail -1 "$PAGE/report-answer.jsonl")"
wait $PLAIN_PID
icp_log "plain side (offerer): $(cat "$ICP_TMP/plain2.json")"
read -r rtp_plain rtp_other rtcp_plain rtcp_other < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))
print(s["rtp_plain"], s["rtp_other"], s["rtcp_plain"], s["rtcp_other"])' "$ICP_TMP/plain2.json")
[ "$rtp_plain" -ge 100 ] && [ "$rtp_other" -eq 0 ] && [ "$rtcp_plain" -ge 1 ] && [ "$rtcp_other" -eq 0 ] ||
	icp_fail "2: the plain side got $rtp_plain plain / $rtp_other other RTP, $rtcp_plain / $rtcp_other RTCP"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above"
kill "$DPID" 2>/dev/null
wait "$DPID"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above at exit"
echo PASS
