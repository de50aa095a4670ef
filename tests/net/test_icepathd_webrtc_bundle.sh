#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# WebRTC <-> SIP gateway with BUNDLE (issue 12): headless Chromium (Debian
# chromium, fake camera and microphone) sends audio AND video on one
# transport (a=group:BUNDLE 0 1, rtcp-mux, DTLS-SRTP, the MID RTP header
# extension) through icepathd to a plain RTP/AVP endpoint of the test's own
# with two m= lines on separate ports and separate RTCP ports
# (tests/interop/rtp_plain_av_peer.py), with the flags of
# test_icepathd_webrtc_gw.sh:
#   offer   ICE=remove DTLS=off SDES-off transport-protocol=RTP/AVP
#           rtcp-mux=demux DTLS-reverse=passive
#   answer  ICE=force DTLS=passive transport-protocol=UDP/TLS/RTP/SAVPF
#           rtcp-mux=require
# The trunk answers PCMU, and VP8 with its RTX (RFC 4588) and a=rtcp-fb nack.
# Passes when: the plain side's SDP has two m= lines on different ports
# (RTCP on ports of their own), no BUNDLE group, no fingerprint/ICE/rtcp-mux;
# the browser's answer bundles both mids and answers the MID extension; the
# browser reaches ICE and DTLS connected; its audio arrives decrypted
# (exactly 160 bytes of PCMU after the RTP header and the browser's header
# extensions, no SRTP tag) only at the audio port, its video only at the
# video port (VP8's payload type and RTX's only), with disjoint SSRCs; the
# plain side NACKs 10 video packets once and Chromium's retransmissions (RTX
# on its a=ssrc-group:FID SSRC: 1 to 10, none it did not ask for) reach the
# video port; RTCP arrives plain on both RTCP ports, each from the SSRCs of
# its own kind; the plain side's audio and video reach the browser (getStats
# inbound-rtp audio and video packetsReceived > 0, and video framesDecoded
# > 0: the plain side replays the VP8 payloads it received under its own
# SSRC, which Chromium can decode only if they arrived decrypted); query's
# "bundle undemuxed" is 0 (every RTP packet Chromium sends, RTX included,
# carries the MID the relay answered; the answer has no FEC, RED or
# bandwidth feedback, so no FEC and no padding probes); no authentication
# failure, no fast-path packet; at delete the relay sends the browser a DTLS
# close_notify and /metrics counts it (icepath_dtls_close_notify_total
# {direction="sent"} 1, icepath_sdes_rekeys_total 0, no bundle-demux drop);
# no sanitizer report (ASan+UBSan daemon).
#
#   browser 203.0.113.30 --+
#                          +-- sw (bridge) -- relay 203.0.113.2 (icepathd)
#   plain   203.0.113.40 --+
#
# Chromium's page talks to a small HTTP server on 127.0.0.1 of its own
# namespace (tests/interop/webrtc_page.py, ?video=1). Nothing leaves the
# namespaces made here.
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_webrtc_bundle.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
RELAY=203.0.113.2 BROWSER=203.0.113.30 PLAIN=203.0.113.40 NG=127.0.0.1:2223 M=127.0.0.1:9464
CALL=webrtc-bundle-$ICP_RUN
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
ip netns exec "$NS_relay" "$DAEMON" --interface pub=$RELAY --listen-ng $NG --xdp off --metrics $M \
	--state-file "$ICP_TMP/state" --pin-path "$ICP_TMP/pin" --foreground >>"$LOG" 2>&1 &
DPID=$!
ICP_PIDS+=($DPID)
WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 ||
	{ tail -20 "$LOG" >&2; icp_fail "icepathd did not answer NG ping"; }
icp_log "daemon: ${DAEMON#$BUILD/}"

PAGE=$ICP_TMP/page
mkdir -p "$PAGE"
nsx "$NS_browser" python3 "$HERE/../interop/webrtc_page.py" 8080 "$PAGE" &
ICP_PIDS+=($!)
page_up() {
	nsx "$NS_browser" python3 -c \
		'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/")' 2>/dev/null
}
WAIT_SECS=5 wait_for page_up || icp_fail "the page server did not start"
nsx "$NS_browser" "$CHROME" --headless=new --no-sandbox --disable-gpu \
	--use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
	--disable-features=WebRtcHideLocalIpsWithMdns --no-first-run --no-default-browser-check \
	--user-data-dir="$ICP_TMP/chrome" --remote-debugging-port=0 \
	"http://127.0.0.1:8080/?video=1" >"$ICP_TMP/chrome.log" 2>&1 &
ICP_PIDS+=($!)
WAIT_SECS=30 wait_for test -s "$PAGE/offer.sdp" ||
	{ tail -20 "$ICP_TMP/chrome.log" >&2; tail -3 "$PAGE/report.jsonl" >&2; icp_fail "Chromium posted no offer"; }
OFFER=$PAGE/offer.sdp
grep -q '^a=group:BUNDLE 0 1' "$OFFER" || icp_fail "Chromium's offer does not bundle mids 0 and 1"
grep -q '^m=video ' "$OFFER" || icp_fail "Chromium's offer has no video"
# the VP8 payload type as Chromium numbers it
VPT=$(sed -n 's/^a=rtpmap:\([0-9]*\) VP8\/90000.*/\1/p' "$OFFER" | head -1)
[ -n "$VPT" ] || icp_fail "Chromium's offer has no VP8"
RPT=$(sed -n "s/^a=fmtp:\\([0-9]*\\) apt=$VPT\r*$/\\1/p" "$OFFER" | head -1)
[ -n "$RPT" ] || icp_fail "Chromium's offer has no RTX for VP8"
icp_log "browser offer: $(grep -c '^m=' "$OFFER") m= lines, $(grep '^a=group' "$OFFER" | tr -d '\r'), VP8 is PT $VPT, mid extension $(grep -c 'sdes:mid' "$OFFER") times"

ng() { nsx "$NS_relay" "$BUILD/bin/icepath-ngsdp" "$@" --server $NG --call-id "$CALL"; }
ng offer --from-tag browser --sdp-in "$OFFER" --sdp-out "$ICP_TMP/plain-offer.sdp" \
	--ice remove --dtls off --sdes off --transport RTP/AVP --rtcp-mux demux \
	--dtls-reverse passive 2>"$ICP_TMP/offer.warn" || icp_fail "NG offer: $(cat "$ICP_TMP/offer.warn")"
icp_log "offer warnings: $(cat "$ICP_TMP/offer.warn")"
sed 's/^/  plain side gets: /' "$ICP_TMP/plain-offer.sdp" | tr -d '\r'
PO=$ICP_TMP/plain-offer.sdp
[ "$(grep -c '^m=' "$PO")" -eq 2 ] || icp_fail "the plain side's SDP has not two m= lines"
grep -q '^m=audio [0-9]* RTP/AVP ' "$PO" || icp_fail "the plain side's audio is not RTP/AVP"
grep -q '^m=video [0-9]* RTP/AVP ' "$PO" || icp_fail "the plain side's video is not RTP/AVP"
for a in fingerprint setup ice-ufrag ice-pwd candidate rtcp-mux crypto 'group:BUNDLE'; do
	grep -q "^a=$a" "$PO" && icp_fail "the plain side's SDP has a=$a"
done
# the port and a=rtcp port of each m= section
section_ports() { # FILE KIND -> "RTP RTCP"
	tr -d '\r' <"$1" | awk -v k="$2" '
		/^m=/ { ins = ($0 ~ "^m=" k " "); if (ins) { split($0, f, " "); rtp = f[2] } }
		ins && /^a=rtcp:/ { sub(/^a=rtcp:/, ""); split($0, f, " "); rtcp = f[1] }
		END { if (rtcp == "") rtcp = rtp + 1; print rtp, rtcp }'
}
read -r aport artcp < <(section_ports "$PO" audio)
read -r vport vrtcp < <(section_ports "$PO" video)
icp_log "plain side: audio $aport/$artcp, video $vport/$vrtcp"
[ "$aport" != "$vport" ] || icp_fail "audio and video share port $aport toward the plain side"
for p in "$artcp" "$vrtcp"; do
	case $p in "$aport" | "$vport") icp_fail "RTCP port $p is an RTP port" ;; esac
done
[ "$artcp" != "$vrtcp" ] || icp_fail "audio and video share RTCP port $artcp"

printf 'v=0\r\no=trunk 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\nm=video 7090 RTP/AVP %s %s\r\na=rtpmap:%s VP8/90000\r\na=rtcp-fb:%s nack\r\na=rtpmap:%s rtx/90000\r\na=fmtp:%s apt=%s\r\na=sendrecv\r\n' \
	$PLAIN $PLAIN "$VPT" "$RPT" "$VPT" "$VPT" "$RPT" "$RPT" "$VPT" >"$ICP_TMP/plain-answer.sdp"
nsx "$NS_plain" python3 "$HERE/../interop/rtp_plain_av_peer.py" \
	--audio $PLAIN:7078 --video $PLAIN:7090 --video-pt "$VPT" \
	--audio-to $RELAY:$aport --audio-rtcp-to $RELAY:$artcp \
	--video-to $RELAY:$vport --video-rtcp-to $RELAY:$vrtcp --seconds 15 --rtx-pt "$RPT" --nack-at 100 \
	--ready "$ICP_TMP/plain.ready" >"$ICP_TMP/plain.json" &
PLAIN_PID=$!
ICP_PIDS+=($PLAIN_PID)
# bound before the browser gets its answer: Chromium's first video frame is
# its only key frame (the trunk negotiates no PLI), lost on a closed port
WAIT_SECS=10 wait_for test -s "$ICP_TMP/plain.ready" || icp_fail "the plain peer did not start"
ng answer --from-tag browser --to-tag trunk --sdp-in "$ICP_TMP/plain-answer.sdp" \
	--sdp-out "$ICP_TMP/browser-answer.sdp" --ice force --dtls passive \
	--transport UDP/TLS/RTP/SAVPF --rtcp-mux require 2>"$ICP_TMP/answer.warn" ||
	icp_fail "NG answer: $(cat "$ICP_TMP/answer.warn")"
icp_log "answer warnings: $(cat "$ICP_TMP/answer.warn")"
sed 's/^/  browser gets: /' "$ICP_TMP/browser-answer.sdp" | tr -d '\r'
BA=$ICP_TMP/browser-answer.sdp
grep -q '^a=group:BUNDLE 0 1' "$BA" || icp_fail "the browser's answer does not bundle 0 1"
grep -q '^m=audio [0-9]* UDP/TLS/RTP/SAVPF ' "$BA" || icp_fail "the browser's audio answer is not UDP/TLS/RTP/SAVPF"
grep -q "^m=video [0-9]* UDP/TLS/RTP/SAVPF $VPT" "$BA" || icp_fail "the browser's video answer is not UDP/TLS/RTP/SAVPF $VPT"
# the relay answers the MID extension it demuxes by (the trunk knows none)
MIDX=$(tr -d '\r' <"$OFFER" | sed -n 's|^a=extmap:\([0-9]*\) urn:ietf:params:rtp-hdrext:sdes:mid$|\1|p' | head -1)
[ -n "$MIDX" ] || icp_fail "Chromium offered no MID header extension"
[ "$(grep -c "^a=extmap:$MIDX urn:ietf:params:rtp-hdrext:sdes:mid" "$BA")" -eq 2 ] ||
	icp_fail "the browser's answer does not answer the MID extension (id $MIDX) in both sections"
cp "$BA" "$PAGE/answer.sdp.tmp" && mv "$PAGE/answer.sdp.tmp" "$PAGE/answer.sdp"

connected() {
	tail -1 "$PAGE/report.jsonl" 2>/dev/null | grep -q '"dtls":"connected"' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"ice":"(connected|completed)"' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"rx":[1-9]' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"rxVideo":[1-9]' &&
		tail -1 "$PAGE/report.jsonl" | grep -Eq '"framesDecoded":[1-9]'
}
WAIT_SECS=20 wait_for connected || {
	tail -3 "$PAGE/report.jsonl" >&2
	grep -i "dtls\|srtp\|bundle\|error\|warn" "$LOG" | tail -20 >&2
	nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query "$CALL" >&2
	icp_fail "the browser did not reach ICE+DTLS connected with audio and decoded video from the plain side"
}
icp_log "browser: $(tail -1 "$PAGE/report.jsonl")"
grep -q '"error"' "$PAGE/report.jsonl" && icp_fail "the page reported an error: $(grep '"error"' "$PAGE/report.jsonl" | head -1)"
wait $PLAIN_PID
icp_log "plain side: $(cat "$ICP_TMP/plain.json")"
python3 - "$ICP_TMP/plain.json" "$VPT" "$RPT" <<'PY' || icp_fail "the plain side's media is not as it should be (above)"
import json, sys
s = json.load(open(sys.argv[1])); vpt, rpt = sys.argv[2:4]; a, v = s["audio"], s["video"]; bad = []
if a["rtp_plain"] < 100: bad.append("only %d plain PCMU packets at the audio port" % a["rtp_plain"])
if a["rtp_other"]: bad.append("%d RTP packets at the audio port not plain PCMU" % a["rtp_other"])
if set(a["pt"]) != {"0"}: bad.append("audio port payload types %s, not only PCMU 0" % a["pt"])
if v["rtp_plain"] < 100: bad.append("only %d video RTP packets at the video port" % v["rtp_plain"])
if v["rtp_other"]: bad.append("%d malformed RTP packets at the video port" % v["rtp_other"])
if set(v["pt"]) != {vpt, rpt}: bad.append("video port payload types %s, not VP8 %s and its RTX %s" % (v["pt"], vpt, rpt))
# the trunk NACKed 10 packets once: Chromium resends them on its RTX SSRC
# (the offer's a=ssrc-group:FID partner), each at most once, none unasked;
# RTX padding probes would be counted apart (the answer has no BWE feedback)
if s["nack_sent"] != 10: bad.append("the plain side sent no NACK")
if not 1 <= s["rtx"] <= 10 or s["rtx_unasked"]: bad.append("RTX: %d retransmissions, %d unasked" % (s["rtx"], s["rtx_unasked"]))
if len(v["ssrcs"]) != 2: bad.append("video SSRCs %s, not the media one and its RTX" % v["ssrcs"])
if set(a["ssrcs"]) & set(v["ssrcs"]): bad.append("SSRCs at both ports: %s" % (set(a["ssrcs"]) & set(v["ssrcs"])))
for k, x in (("audio", a), ("video", v)):
    if x["rtcp_plain"] < 1: bad.append("no plain RTCP at the %s RTCP port" % k)
    if x["rtcp_other"]: bad.append("%d RTCP packets at the %s RTCP port not plain" % (x["rtcp_other"], k))
    if len(x["sources"]) != 2: bad.append("%s from %s, not from the relay's RTP and RTCP ports" % (k, x["sources"]))
if set(a["rtcp_ssrcs"]) & set(v["ssrcs"]): bad.append("video SSRCs' RTCP at the audio RTCP port")
if set(v["rtcp_ssrcs"]) & set(a["ssrcs"]): bad.append("audio SSRCs' RTCP at the video RTCP port")
if v["sent"] < 50: bad.append("the plain side replayed only %d video packets" % v["sent"])
for b in bad: print("  " + b)
sys.exit(1 if bad else 0)
PY
nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG query "$CALL" >"$ICP_TMP/query.txt" ||
	icp_fail "query failed"
cat "$ICP_TMP/query.txt"
# exactly one bundle transport, and nothing on it matched no m= line: every
# RTP packet Chromium sends (RTX too) carries the MID the relay answered, and
# an SSRC of its a=ssrc lines; its RTCP a sender SSRC of those or report
# blocks about the SSRCs the relay sent toward it; no FEC or RED was
# answered, so Chromium sends none
[ "$(grep -c 'bundle undemuxed' "$ICP_TMP/query.txt")" -eq 1 ] ||
	icp_fail "query shows not exactly one bundle transport"
und=$(sed -n 's/.*bundle undemuxed \([0-9]*\).*/\1/p' "$ICP_TMP/query.txt")
[ "$und" -eq 0 ] || icp_fail "$und packets of the browser's bundle matched no m= line"
grep -q "srtp auth-failed" "$ICP_TMP/query.txt" && icp_fail "SRTP authentication failures counted"
grep -Eq "fast [1-9]" "$ICP_TMP/query.txt" && icp_fail "the fast path carried packets of a crypto call"
icp_log "bundle undemuxed $und; header extensions (Chromium's MID) on $(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); print(s["audio"]["ext"], "audio and", s["video"]["ext"], "video packets;", s["rtx"], "RTX retransmissions of", s["nack_sent"], "NACKed,", s["rtx_padding"], "RTX padding")' "$ICP_TMP/plain.json")"
# the call ends: the relay says goodbye to the browser's DTLS, and /metrics
# counts it (and no bundle-demux drop, no SDES re-key)
nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG delete "$CALL" --fatal >/dev/null ||
	icp_fail "delete failed"
nsx "$NS_relay" curl -s --max-time 5 "http://$M/metrics" >"$ICP_TMP/metrics.txt" ||
	icp_fail "no /metrics scrape"
for want in 'icepath_dtls_close_notify_total{direction="sent"} 1' \
	'icepath_sdes_rekeys_total 0' 'icepath_drops_total{path="userspace",reason="bundle-demux"} 0'; do
	grep -qxF "$want" "$ICP_TMP/metrics.txt" ||
		icp_fail "/metrics lacks '$want': $(grep -E 'close_notify|rekeys|bundle' "$ICP_TMP/metrics.txt")"
done
icp_log "metrics: $(grep -E '^icepath_(dtls_close_notify|sdes_rekeys)' "$ICP_TMP/metrics.txt" | tr '\n' ' ')"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above"
kill "$DPID" 2>/dev/null
wait "$DPID"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above at exit"
echo PASS
