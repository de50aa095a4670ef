#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The XDP fast path end to end: sender -> relay -> receiver, three network
# namespaces joined by veth pairs, icepath's program attached natively on
# both relay interfaces, one flow installed through fastpath.h
# (icepath-fpctl), RTP bursts from icepath-udpgen.
#
#   sender  s0 192.0.2.10 ---- r0 192.0.2.1   relay   r1 198.51.100.1 ---- d0 198.51.100.20  receiver
#           (udpgen send)          [XDP]  (socket on :30000)  [XDP]            [XDP pass] (udpgen recv :6000)
#
# Checks: every packet arrives rewritten (source 198.51.100.1:30002, all
# sequence numbers), the relay's own socket on the media port sees none,
# the flow counters match; the pinned state survives the tool exiting and a
# "daemon restart" (re-open, re-attach) with forwarding going on; with the
# flow removed the packets reach the relay's socket instead; with consent
# off they are dropped (neither socket sees them).
#
# The topology and its cleanup: fp_topo.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_fastpath.sh BUILD_DIR}" && pwd)
. "$here/fp_topo.sh"
fp_topo fp
# A local sender's UDP checksum is only partial (checksum offload) when its
# frame reaches XDP through a veth; a NIC always delivers complete sums.
# The sender computes them in software, as the far end of a real wire has.
nsx "$NS_send" ethtool -K s0 tx off >/dev/null || icp_fail "cannot turn off tx checksum offload on s0"
# No forwarding sysctl: each flow carries its next hop, resolved when it is
# installed (test_fastpath_noforward.sh proves it with forwarding off).
# The relay knows its next hop (a real deployment learns it by ARP; a
# missing entry would make the program pass to userspace: pass-no-neigh).
fp_topo_neigh

icp_log "attach XDP on the relay (r0, r1) and a passing one on the receiver (d0)"
out=$(relay attach r0 r1) || icp_fail "attach on the relay failed"
echo "$out"
echo "$out" | grep -q "^r0 native$" || icp_fail "r0 not attached natively: $out"
echo "$out" | grep -q "^r1 native$" || icp_fail "r1 not attached natively: $out"
# Frames redirected into r1 arrive on d0 only if d0 runs an XDP program.
fp_topo_attach_rx

LOCAL=192.0.2.1:30000 REMOTE=192.0.2.10:5000 OUT_SRC=198.51.100.1:30002 OUT_DST=198.51.100.20:6000
relay flow add $LOCAL $REMOTE $OUT_SRC $OUT_DST --id 7 --lifetime forever || icp_fail "flow add failed"


# burst N EXPECT_RX EXPECT_RELAY: N packets from the sender; the receiver
# must get EXPECT_RX of them, the relay's socket EXPECT_RELAY.
burst_no=0
burst() {
	local n=$1 want_rx=$2 want_relay=$3 rx relay_out
	burst_no=$((burst_no + 1))
	rx=$ICP_TMP/rx-$burst_no.json relay_out=$ICP_TMP/relay-$burst_no.json
	# Each side stops after what it expects, or 3 s of silence.
	bg "$NS_recv" "$UDPGEN" recv --on $OUT_DST --count "$want_rx" --timeout 3 \
		$([ "$want_rx" = 0 ] && echo --any) >"$rx" 2>/dev/null
	local rx_pid=$!
	bg "$NS_relay" "$UDPGEN" recv --on $LOCAL --count "$want_relay" --timeout 3 --any \
		>"$relay_out" 2>/dev/null
	local relay_pid=$!
	wait_for listening "$NS_recv" "${OUT_DST##*:}" || icp_fail "receiver did not listen"
	wait_for listening "$NS_relay" "${LOCAL##*:}" || icp_fail "relay socket did not listen"
	ip netns exec "$NS_send" "$UDPGEN" send --from $REMOTE --to $LOCAL --count "$n" \
		--rate 2000 --seq $((burst_no * 10000 % 65536)) >/dev/null || icp_fail "sender failed"
	wait "$rx_pid" "$relay_pid"
	RX_JSON=$(cat "$rx") RELAY_JSON=$(cat "$relay_out")
	icp_log "burst $burst_no: receiver $RX_JSON"
	icp_log "burst $burst_no: relay socket $RELAY_JSON"
}

counter() { relay flow get $LOCAL $REMOTE | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

RTP_SIZE=172 # udpgen default UDP payload; IP length = 20 + 8 + 172
N=1000

icp_log "burst through the fast path"
burst $N $N 0
[ "$(field "$RX_JSON" received)" = $N ] || icp_fail "receiver got $(field "$RX_JSON" received) of $N"
[ "$(field "$RX_JSON" unique)" = $N ] || icp_fail "sequence numbers missing or duplicated"
[ "$(field "$RX_JSON" not_rtp)" = 0 ] || icp_fail "payload damaged"
[ "$(field "$RX_JSON" source)" = $OUT_SRC ] ||
	icp_fail "not rewritten: source $(field "$RX_JSON" source), expected $OUT_SRC"
[ "$(field "$RELAY_JSON" received)" = 0 ] ||
	icp_fail "the relay's socket saw $(field "$RELAY_JSON" received) packets of a fast-pathed flow"
[ "$(counter packets)" = $N ] || icp_fail "flow counter packets=$(counter packets), expected $N"
[ "$(counter bytes)" = $((N * (28 + RTP_SIZE))) ] ||
	icp_fail "flow counter bytes=$(counter bytes), expected $((N * (28 + RTP_SIZE)))"
[ "$(fp_stat redirect)" -ge $N ] || icp_fail "redirect stat $(fp_stat redirect) < $N"

# bridge LOCAL REMOTE OUT_SRC OUT_DST: a flow across address families.
bridge() {
	local saved="$LOCAL $REMOTE $OUT_SRC $OUT_DST"
	LOCAL=$1 REMOTE=$2 OUT_SRC=$3 OUT_DST=$4
	relay flow add $LOCAL $REMOTE $OUT_SRC $OUT_DST --lifetime forever ||
		icp_fail "flow add $LOCAL failed"
	burst 300 300 0
	[ "$(field "$RX_JSON" unique)" = 300 ] || icp_fail "$REMOTE -> $OUT_DST: $(field "$RX_JSON" unique) of 300"
	[ "$(field "$RX_JSON" source)" = "$OUT_SRC" ] ||
		icp_fail "not rewritten: source $(field "$RX_JSON" source), expected $OUT_SRC"
	[ "$(field "$RELAY_JSON" received)" = 0 ] || icp_fail "the relay's socket saw bridged packets"
	[ "$(counter packets)" = 300 ] || icp_fail "bridged flow counter $(counter packets)"
	relay flow del $LOCAL $REMOTE || icp_fail "flow del failed"
	set -- $saved
	LOCAL=$1 REMOTE=$2 OUT_SRC=$3 OUT_DST=$4
}
icp_log "IPv6 -> IPv4 and IPv4 -> IPv6 bridging"
bridge "[2001:db8:1::1]:30004" "[2001:db8:1::10]:5002" 198.51.100.1:30006 198.51.100.20:6000
bridge 192.0.2.1:30008 192.0.2.10:5004 "[2001:db8:2::1]:30010" "[2001:db8:2::20]:6002"

icp_log "daemon restart: nothing runs; re-open the pins, re-attach (atomic replace)"
relay flow show | grep -q "id=7 packets=$N" || icp_fail "flow or its counters lost: $(relay flow show)"
relay attach r0 r1 >/dev/null || icp_fail "re-attach failed"
burst 500 500 0
[ "$(field "$RX_JSON" unique)" = 500 ] || icp_fail "after restart: $(field "$RX_JSON" unique) of 500"
[ "$(field "$RELAY_JSON" received)" = 0 ] || icp_fail "after restart the relay's socket saw packets"
[ "$(counter packets)" = $((N + 500)) ] || icp_fail "counters did not continue: $(counter packets)"

icp_log "flow removed: the packets go to the relay's socket (userspace path)"
no_flow_before=$(fp_stat pass-no-flow)
relay flow del $LOCAL $REMOTE || icp_fail "flow del failed"
relay flow get $LOCAL $REMOTE 2>/dev/null && icp_fail "flow still there"
burst 300 0 300
[ "$(field "$RELAY_JSON" received)" = 300 ] ||
	icp_fail "relay socket got $(field "$RELAY_JSON" received) of 300 after removal"
[ "$(field "$RX_JSON" received)" = 0 ] || icp_fail "receiver still got packets after removal"
[ $(($(fp_stat pass-no-flow) - no_flow_before)) -ge 300 ] || icp_fail "pass-no-flow did not count them"

icp_log "consent lost (flow without 'forward'): dropped, neither socket sees them"
relay flow add $LOCAL $REMOTE $OUT_SRC $OUT_DST -f rtp,rtcp --lifetime forever ||
	icp_fail "flow add failed"
drop_before=$(fp_stat drop-consent)
burst 200 0 0
[ "$(field "$RELAY_JSON" received)" = 0 ] || icp_fail "relay socket saw packets without consent"
[ "$(field "$RX_JSON" received)" = 0 ] || icp_fail "receiver got packets without consent"
[ $(($(fp_stat drop-consent) - drop_before)) = 200 ] ||
	icp_fail "drop-consent moved by $(($(fp_stat drop-consent) - drop_before)), expected 200"

icp_log "consent regained: forwarded again"
relay flow set $LOCAL $REMOTE forward,rtp,rtcp || icp_fail "flow set failed"
burst 200 200 0
[ "$(field "$RX_JSON" unique)" = 200 ] || icp_fail "after consent regained: $(field "$RX_JSON" unique) of 200"

relay stats
icp_log "detach: no XDP program left on the relay"
relay detach r0 r1 || icp_fail "detach failed"
ip -n "$NS_relay" link show r0 | grep -q xdp && icp_fail "r0 still has XDP"
ip -n "$NS_relay" link show r1 | grep -q xdp && icp_fail "r1 still has XDP"
icp_log "PASS"
