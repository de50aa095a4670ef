#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The egress stops taking native XDP frames in the middle of a call (issue
# 13, "never silently off", while running): the relay's eth0 is a veth whose
# peer (the bridge port p-relay) runs an XDP program at the start, so
# icepathd attaches in native mode and the call's media takes XDP_TX; five
# seconds in, the peer's program is removed, as when a container runtime or
# an operator reloads the bridge side. From then on the kernel drops what
# native XDP sends out of eth0 (xdp_tx_errors). icepathd must notice (its
# poll of the XDP transmit error counters and xdp-features), take the flows
# off native XDP, and keep the media flowing; and its counters must say what
# really left: the frames the kernel dropped are not "forwarded". So every
# packet the relay reports forwarded (fast + userspace, both legs) must have
# arrived at a peer, and the media after the removal must get through.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=750 # 15 s of media each way
CALL=takeback-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_xdp_takeback.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
grep -q "XDP attached to pub in native mode\|native XDP" "$ICPD_LOG" ||
	{ tail -20 "$ICPD_LOG"; icp_fail "XDP did not attach in native mode"; }
icpd_peer caller $N --timeout 35
icpd_peer callee $N --timeout 35
icpd_offer_answer "$CALL"
# ICE takes about a second; then media rides native XDP for a few seconds
sleep 5
read -r f0 _ < <(icpd_leg_counts "$CALL" caller-tag)
[ "$f0" -gt 0 ] || icp_fail "no media took the fast path before the removal ($f0 packets)"
q=$(icpd_query "$CALL")
echo "$q" | grep -q "xdp native" || { echo "$q"; icp_fail "the streams do not run in native XDP"; }
nsx "$NS_sw" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_BPFFS/sw" detach p-relay ||
	icp_fail "cannot detach the bridge port's XDP program"
icp_log "p-relay's XDP program removed after $f0 caller packets on the fast path"
icpd_wait_peer caller 60
icpd_wait_peer callee 60

errs=$(nsx "$NS_relay" ethtool -S eth0 | awk '/xdp/ && /err/ { n += $2 } END { print n + 0 }')
read -r A_FAST A_USER A_DROP < <(icpd_leg_counts "$CALL" caller-tag)
read -r B_FAST B_USER B_DROP < <(icpd_leg_counts "$CALL" callee-tag)
CALLER_RX=$(icpd_peer_received caller)
CALLEE_RX=$(icpd_peer_received callee)
claimed=$((A_FAST + A_USER - A_DROP + B_FAST + B_USER - B_DROP))
icp_log "caller -> callee: sent $N, relay fast $A_FAST, userspace $((A_USER - A_DROP)), dropped $A_DROP, callee got $CALLEE_RX"
icp_log "callee -> caller: sent $N, relay fast $B_FAST, userspace $((B_USER - B_DROP)), dropped $B_DROP, caller got $CALLER_RX"
icp_log "eth0 XDP transmit errors: $errs; relay says it forwarded $claimed, peers got $((CALLER_RX + CALLEE_RX))"
# the removal must really have cost frames, or this tests nothing
[ "$errs" -gt 0 ] || icp_fail "the kernel dropped no XDP frame: the removal did not bite"
grep -q "the kernel dropped [0-9]* XDP frames sent out of eth0" "$ICPD_LOG" ||
	icp_fail "icepathd did not say the kernel dropped its XDP frames on eth0"
# what the relay counts as forwarded is what arrived (the dropped frames
# are in neither), and everything sent is accounted for
[ "$claimed" -eq $((CALLER_RX + CALLEE_RX)) ] ||
	icp_fail "relay counts $claimed packets forwarded, the peers received $((CALLER_RX + CALLEE_RX)) ($errs dropped by the kernel after XDP sent them)"
[ $((A_FAST + A_USER + B_FAST + B_USER + errs)) -ge $((2 * N)) ] ||
	icp_fail "the relay accounts for $((A_FAST + A_USER + B_FAST + B_USER)) + $errs lost of $((2 * N)) packets"
# media kept flowing after the removal: all but the frames lost in the
# poll interval (and before ICE) arrived
for rx in "$CALLEE_RX" "$CALLER_RX"; do
	[ "$rx" -gt $((N * 80 / 100)) ] || icp_fail "only $rx of $N packets arrived: the media stopped"
done
q=$(icpd_query "$CALL")
! echo "$q" | grep -q "xdp native" || { echo "$q"; icp_fail "query still shows native XDP toward eth0"; }
nsx "$NS_relay" ip -d link show eth0 | grep -q "xdpgeneric" ||
	icp_log "eth0 stays native; its flows take the userspace path"
echo PASS
