#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd behind a NAT with --stun and --turn (coturn on the public
# segment): the SDP of its NG offer reply lists every candidate the relay
# will use, host, server-reflexive (the NAT's address) and relayed (coturn's),
# then a=end-of-candidates, and claims no trickle (issue 11, defect 6). The
# reply waits for gathering (--gather-timeout, default 200 ms); the time it
# took is printed.
#
#   relay 10.0.3.2 --[natr: port-restricted NAT]-- 203.0.113.30 -- sw -- turn 203.0.113.3 (coturn)
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_gather.sh BUILD_DIR}
for p in icepathd icepath-ngsdp icepathctl; do
	[ -x "$BUILD/bin/$p" ] || icp_fail "$BUILD/bin/$p is missing: run 'make' first"
done
RELAY=10.0.3.2
NAT_WAN=203.0.113.30
TURN=203.0.113.3
NG=127.0.0.1:2223

cleanup() {
	local rc=$? p
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	(exit $rc)
	icp_cleanup
}
trap cleanup EXIT

ns_new sw; ns_new turn; ns_new natr; ns_new relay
ip -n "$NS_sw" link add br0 type bridge || icp_fail "cannot create a bridge"
ip -n "$NS_sw" link set br0 up
ns_link "$NS_turn" eth0 $TURN/24 "$NS_sw" p-turn -
ns_link "$NS_natr" wan $NAT_WAN/24 "$NS_sw" p-natr -
for p in p-turn p-natr; do ip -n "$NS_sw" link set "$p" master br0; done
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_natr" lan 10.0.3.1/24
ns_route "$NS_relay" default via 10.0.3.1
nat_router "$NS_natr" lan wan port-restricted
start_coturn "$NS_turn" $TURN

log="$ICP_TMP/icepathd.log"
nsx "$NS_relay" "$BUILD/bin/icepathd" --interface pub=$RELAY --listen-ng $NG --xdp off \
	--state-file "$ICP_TMP/icepathd.state" --foreground --log-level debug \
	--stun $TURN:3478 --turn $TURN:3478 --turn-user "$COTURN_USER" --turn-pass "$COTURN_PASS" \
	>>"$log" 2>&1 &
ICP_PIDS+=($!)
WAIT_SECS=10 wait_for nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG ping >/dev/null 2>&1 || {
	tail -20 "$log" >&2
	icp_fail "icepathd did not answer NG ping (log above)"
}

# An ICE caller (its candidates do not matter: nothing is checked here)
cat >"$ICP_TMP/caller.sdp" <<-EOF
v=0
o=- 1 1 IN IP4 192.0.2.50
s=-
c=IN IP4 192.0.2.50
t=0 0
a=ice-options:trickle
m=audio 40000 RTP/AVP 0
a=rtcp-mux
a=ice-ufrag:callr
a=ice-pwd:callerpasswordcallerpass
a=candidate:1 1 udp 2122260223 192.0.2.50 40000 typ host
EOF
sed -i 's/$/\r/' "$ICP_TMP/caller.sdp"

t0=$(date +%s%N)
nsx "$NS_relay" "$BUILD/bin/icepath-ngsdp" offer --server $NG --call-id gather-$ICP_RUN \
	--from-tag caller-tag --ice force --sdp-in "$ICP_TMP/caller.sdp" \
	--sdp-out "$ICP_TMP/offer-out.sdp" || icp_fail "NG offer failed"
ms=$((($(date +%s%N) - t0) / 1000000))
out=$(tr -d '\r' <"$ICP_TMP/offer-out.sdp")
icp_log "offer reply after $ms ms (ngsdp's round trip), its candidates:"
grep '^a=candidate:\|^a=end-of-candidates' <<<"$out" | sed 's/^/    /'

grep -q " $RELAY [0-9]* typ host" <<<"$out" || icp_fail "no host candidate on $RELAY"
grep -q " $NAT_WAN [0-9]* typ srflx raddr $RELAY " <<<"$out" ||
	icp_fail "no server-reflexive candidate on the NAT's address $NAT_WAN (--stun)"
grep -q " $TURN [0-9]* typ relay raddr " <<<"$out" ||
	icp_fail "no relayed candidate on coturn's address $TURN (--turn)"
[ "$(grep -c '^a=end-of-candidates$' <<<"$out")" -eq 1 ] ||
	icp_fail "the m= section does not close with one a=end-of-candidates"
last=$(awk '/^m=/ { m = 1 } m && /^a=(candidate|end-of-candidates)/ { l = $0 } END { print l }' <<<"$out")
[ "$last" = "a=end-of-candidates" ] || icp_fail "a candidate follows a=end-of-candidates"
grep -q trickle <<<"$out" && icp_fail "the relay claims trickle ICE, which NG cannot carry"
# one call, whatever a client's retransmission did meanwhile
calls=$(nsx "$NS_relay" "$BUILD/bin/icepathctl" --server $NG list 2>/dev/null | grep -c gather-)
[ "$calls" -eq 1 ] || icp_fail "$calls calls for one offer"
echo PASS
