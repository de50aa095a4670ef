#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# README's Kamailio example ("WebRTC <-> SIP trunk", under the NG protocol's
# flags) is what Kamailio runs: the test copies its rtpengine_offer(...) and
# rtpengine_answer(...) lines out of README.md as written into the test
# proxy's offer.inc and answer.inc (tests/interop/kamailio/icepath.cfg
# includes them), so a README that Kamailio's parser or its rtpengine module
# refuses fails here. One call: a sipp caller with a browser's SDP (ICE,
# DTLS fingerprint, rtcp-mux; tests/interop/sipp/uac_webrtc.xml) through
# Kamailio to a plain RTP/AVP sipp callee. Between Kamailio and icepathd a
# recording NG relay (tests/interop/ng_tap.py) keeps every datagram: each
# offer/answer/delete is answered "ok" with no warning (no flag "not
# implemented", no key "unsupported"); the callee's INVITE carries plain
# RTP/AVP with no ICE, fingerprint, setup or rtcp-mux lines, the caller's
# 200 OK carries UDP/TLS/RTP/SAVPF with the relay's ICE credentials and
# candidate, its fingerprint with a=setup:passive, and a=rtcp-mux; the BYE's
# rtpengine_delete leaves no call. (Media through DTLS-SRTP with a real
# browser is test_icepathd_webrtc_gw's part.)
#
#   webrtc-side sipp 203.0.113.30 --+
#   plain sipp       203.0.113.40 --+-- sw (bridge) -- relay 203.0.113.2 (icepathd)
#   Kamailio + tap   203.0.113.4  --+
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_kamailio_readme.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
README="$HERE/../../README.md"
D="$BUILD/bin/icepathd"
CTL="$BUILD/bin/icepathctl"
for b in "$D" "$CTL"; do [ -x "$b" ] || icp_fail "$b missing: run 'make' first"; done
command -v kamailio >/dev/null || icp_fail "kamailio missing (Debian package kamailio; make deps)"
command -v sipp >/dev/null || icp_fail "sipp missing (Debian package sip-tester; make deps)"
command -v python3 >/dev/null || icp_fail "python3 missing (make deps)"
RELAY=203.0.113.2
KAM=203.0.113.4
PA=203.0.113.30
PB=203.0.113.40
CID=readme-$ICP_RUN

# README's Kamailio block: from "Kamailio (rtpengine module):" to its
# closing fence; one offer and one answer line in it
block=$(awk '/^Kamailio \(rtpengine module\):$/ { f = 1; next }
	f && /^```/ { if (open) exit; open = 1; next }
	f && open' "$README")
[ -n "$block" ] || icp_fail "README.md has no Kamailio (rtpengine module) block"
offer=$(grep '^rtpengine_offer(' <<<"$block")
answer=$(grep '^rtpengine_answer(' <<<"$block")
[ "$(grep -c . <<<"$offer")" = 1 ] && [ "$(grep -c . <<<"$answer")" = 1 ] ||
	icp_fail "README's Kamailio block: not one rtpengine_offer and one rtpengine_answer line"
grep -q '^loadmodule "rtpengine.so"$' <<<"$block" && grep -q '^rtpengine_delete();' <<<"$block" ||
	icp_fail "README's Kamailio block lost its loadmodule or rtpengine_delete line"
icp_log "README: $offer"
icp_log "README: $answer"

cleanup() {
	local rc=$?
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	(exit $rc)
	icp_cleanup
}
trap cleanup EXIT
ns_new sw; ns_new relay; ns_new pa; ns_new pb; ns_new kam
ip -n "$NS_sw" link add br0 type bridge && ip -n "$NS_sw" link set br0 up ||
	icp_fail "cannot create a bridge"
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_sw" p-relay -
ns_link "$NS_pa" eth0 $PA/24 "$NS_sw" p-pa -
ns_link "$NS_pb" eth0 $PB/24 "$NS_sw" p-pb -
ns_link "$NS_kam" eth0 $KAM/24 "$NS_sw" p-kam -
for p in p-relay p-pa p-pb p-kam; do ip -n "$NS_sw" link set "$p" master br0; done

nsx "$NS_relay" "$D" --interface pub=$RELAY --listen-ng $RELAY:2223 --ng-allow $KAM/32 --xdp off \
	--state-file "$ICP_TMP/relay.state" --foreground >"$ICP_TMP/relay.log" 2>&1 &
ICP_PIDS+=($!)
WAIT_SECS=10 wait_for sh -c "ip netns exec $NS_kam $CTL --server $RELAY:2223 ping >/dev/null 2>&1" ||
	{ cat "$ICP_TMP/relay.log"; icp_fail "icepathd did not start"; }
TAP="$ICP_TMP/ng.tap"
bg "$NS_kam" python3 "$HERE/../interop/ng_tap.py" --listen 127.0.0.1:2224 --server $RELAY:2223 --log "$TAP"
WAIT_SECS=5 wait_for sh -c "ip netns exec $NS_kam ss -Hlnu | grep -q '127.0.0.1:2224'" || icp_fail "the NG tap did not start"

KD="$ICP_TMP/kamailio"
mkdir -p "$KD/run"
cp "$HERE/../interop/kamailio/icepath.cfg" "$KD/"
printf '%s\n' "$offer" >"$KD/offer.inc"
printf '%s\n' "$answer" >"$KD/answer.inc"
nsx "$NS_kam" kamailio -c -f "$KD/icepath.cfg" -A 'RTPENGINE_SOCK="udp:127.0.0.1:2224"' >"$KD/check.log" 2>&1 ||
	{ cat "$KD/check.log"; icp_fail "Kamailio refuses its config with README's lines"; }
(cd "$KD" && exec ip netns exec "$NS_kam" kamailio -DD -E -f icepath.cfg -l udp:$KAM:5060 \
	-Y "$KD/run" -P "$KD/kamailio.pid" -w "$KD" -A 'RTPENGINE_SOCK="udp:127.0.0.1:2224"' \
	>"$KD/kamailio.log" 2>&1) &
ICP_PIDS+=($!)
WAIT_SECS=10 wait_for sh -c "ip netns exec $NS_kam ss -Hlnu | grep -q '$KAM:5060'" ||
	{ tail -20 "$KD/kamailio.log"; icp_fail "Kamailio did not start"; }

printf 'SEQUENTIAL\n40000;\n' >"$ICP_TMP/uac.csv"
printf 'SEQUENTIAL\n40100;\n' >"$ICP_TMP/uas.csv"
mkdir -p "$ICP_TMP/uas" "$ICP_TMP/uac"
(cd "$ICP_TMP/uas" && ip netns exec "$NS_pb" sipp -sf "$HERE/../interop/sipp/uas.xml" -i $PB -p 5060 \
	-inf "$ICP_TMP/uas.csv" -m 1 -nostdin -trace_msg -message_file "$ICP_TMP/uas/msg.log" \
	>"$ICP_TMP/uas/out" 2>&1
	echo $? >"$ICP_TMP/uas.rc") &
ICP_PIDS+=($!)
WAIT_SECS=5 wait_for sh -c "ip netns exec $NS_pb ss -Hlnu | grep -q '$PB:5060'" || icp_fail "sipp UAS does not listen"
(cd "$ICP_TMP/uac" && ip netns exec "$NS_pa" sipp -sf "$HERE/../interop/sipp/uac_webrtc.xml" $PB:5060 \
	-rsa $KAM:5060 -i $PA -p 5060 -inf "$ICP_TMP/uac.csv" -cid_str "$CID-%u@%s" -m 1 -d 1000 \
	-nostdin -trace_msg -message_file "$ICP_TMP/uac/msg.log" >"$ICP_TMP/uac/out" 2>&1
	echo $? >"$ICP_TMP/uac.rc") &
ICP_PIDS+=($!)
WAIT_SECS=20 wait_for test -s "$ICP_TMP/uac.rc" || icp_fail "sipp UAC did not finish"
WAIT_SECS=5 wait_for test -s "$ICP_TMP/uas.rc" || icp_fail "sipp UAS did not finish"
[ "$(cat "$ICP_TMP/uac.rc")" = 0 ] && [ "$(cat "$ICP_TMP/uas.rc")" = 0 ] ||
	{ tail -20 "$ICP_TMP/uac/out"; grep -i "icepath-test\|rtpengine" "$KD/kamailio.log" | tail;
	  icp_fail "the call did not complete (UAC rc $(cat "$ICP_TMP/uac.rc"), UAS rc $(cat "$ICP_TMP/uas.rc"))"; }
for op in offer answer delete; do
	grep -q "icepath-test: $op ok $CID-1@" "$KD/kamailio.log" ||
		{ grep -i "icepath-test\|rtpengine" "$KD/kamailio.log" | tail; icp_fail "Kamailio's rtpengine $op did not succeed"; }
done

# what went over NG: Kamailio's module turned README's flags into these
# requests; every reply is ok and warns about none of them
for cmd in offer answer delete; do
	grep -q "^request .*7:command${#cmd}:$cmd" "$TAP" || icp_fail "no NG $cmd request went through the tap"
done
grep '^request .*command5:offer' "$TAP" | head -1 | sed 's/^/    /'
grep '^request .*command6:answer' "$TAP" | head -1 | sed 's/^/    /'
nrep=$(grep -c '^reply ' "$TAP")
nok=$(grep -cE '^reply .*6:result(2:ok|4:pong)' "$TAP")
[ "$nrep" -ge 4 ] && [ "$nrep" = "$nok" ] ||
	{ grep '^reply ' "$TAP" | grep -vE '6:result(2:ok|4:pong)'; icp_fail "$nok of $nrep NG replies say result ok"; }
# the warnings, bencode strings cut at their length: there are none, not
# about a flag of README's lines nor about the two keys Kamailio's module
# adds (received-from, supports), which icepathd takes without a warning
warns=$(grep '^reply ' "$TAP" | awk '{ while ((i = index($0, "7:warning")) > 0) {
	$0 = substr($0, i + 9); n = $0 + 0; print substr($0, index($0, ":") + 1, n) } }' | sort -u)
if [ -n "$warns" ]; then
	sed 's/^/    warning: /' <<<"$warns"
	icp_fail "icepathd warns on a call made with README's lines (Kamailio's own keys included)"
fi
icp_log "NG: $nrep replies (ping, offer, answer, delete), all ok, no warning about README's flags"

# the SDPs each phone got: sipp's message logs, the INVITE at the callee and
# the 200 OK at the caller
sdp_of() { # FILE FIRST-LINE-PATTERN: the body of the first such message received
	awk -v pat="$2" '/^----------------------------------------------- / { if (m) exit; r = 0; next }
		/message received/ { r = 1; next }
		r && /^\r?$/ { next }
		r && $0 ~ pat { m = 1 }
		{ r = 0 }
		m' "$1" | tr -d '\r'
}
inv=$(sdp_of "$ICP_TMP/uas/msg.log" "^INVITE ")
ok=$(sdp_of "$ICP_TMP/uac/msg.log" "^SIP/2.0 200 OK")
grep -q '^m=audio [0-9]* RTP/AVP ' <<<"$inv" || { echo "$inv"; icp_fail "the callee's INVITE is not plain RTP/AVP"; }
grep -qE '^a=(ice-ufrag|ice-pwd|candidate|fingerprint|setup|rtcp-mux|crypto)' <<<"$inv" &&
	{ echo "$inv"; icp_fail "the callee's INVITE carries ICE, DTLS, SDES or rtcp-mux lines"; }
grep -q "^c=IN IP4 $RELAY" <<<"$inv" || { echo "$inv"; icp_fail "the callee's INVITE does not point at the relay"; }
grep -q '^m=audio [0-9]* UDP/TLS/RTP/SAVPF ' <<<"$ok" || { echo "$ok"; icp_fail "the caller's 200 OK is not UDP/TLS/RTP/SAVPF"; }
for a in '^a=ice-ufrag:' '^a=ice-pwd:' "^a=candidate:.* $RELAY " '^a=fingerprint:sha-256 ' '^a=setup:passive' '^a=rtcp-mux'; do
	grep -qE "$a" <<<"$ok" || { echo "$ok"; icp_fail "the caller's 200 OK has no line matching $a"; }
done
grep -q '^a=fingerprint:sha-256 4A:AD:B9' <<<"$ok" && icp_fail "the caller got its own fingerprint back"
icp_log "SDP: the callee got plain RTP/AVP, the caller UDP/TLS/RTP/SAVPF with the relay's ICE, fingerprint (passive) and rtcp-mux"
left=$(nsx "$NS_kam" "$CTL" --server $RELAY:2223 list | grep -c "$CID" || true)
[ "$left" = 0 ] || icp_fail "the call is still on the relay after the BYE"
echo PASS
