#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd between a caller behind a port-restricted NAT and a callee behind
# a symmetric NAT (coturn on the public segment, shared/DESIGN.md): both legs
# complete ICE, media flows both ways, every packet is accounted for (received
# by the peer, or dropped by the relay before the other leg had a path), and
# once a leg's flow is installed every packet of it takes the XDP fast path.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=400
CALL=media-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_media.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
icpd_call "$CALL" $N 20
grep -q 'native XDP' "$ICPD_LOG" || icp_fail "XDP did not attach in native mode"
for t in caller-tag callee-tag; do
	st=$(icpd_leg_field "$CALL" $t 3)
	case $st in connected|completed) ;; *) icp_fail "leg $t: ICE $st" ;; esac
	[ "$(icpd_leg_field "$CALL" $t 4)" = granted ] || icp_fail "leg $t: consent not granted"
	icp_log "leg $t: $(icpd_leg_pair "$CALL" $t)"
done
icpd_leg_pair "$CALL" callee-tag | grep -q 'prflx\|relay' ||
	icp_fail "callee behind a symmetric NAT: expected a prflx/relay remote candidate"
icpd_check_media "$CALL" $N
# Userspace forwards what arrives before a leg's flow is installed (the
# relay installs it once both legs have a nominated pair and consent); from
# then on XDP must forward every packet of the flow. Exactly: the program
# passed up none of the call's flows' packets (their not_fwd counters:
# every packet that reached XDP after the install, STUN aside, which is
# told apart before the flow lookup), so the userspace ones are exactly
# those that came before it.
fp_flows=$(nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" -q -p "$ICPD_PIN" flow show) ||
	icp_fail "icepath-fpctl flow show failed"
printf '%s\n' "$fp_flows" | sed 's/^/    /'
nflows=$(printf '%s\n' "$fp_flows" | grep -c 'local=')
passed=$(printf '%s\n' "$fp_flows" | sed -n 's/.* not_fwd=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$nflows" -ge 2 ] || icp_fail "$nflows fast-path flows installed, expected one per direction at least"
[ "$passed" -eq 0 ] ||
	icp_fail "XDP passed $passed packets of installed flows to userspace (not_fwd above)"
icp_log "XDP forwarded $((A_FAST + B_FAST)) packets, userspace $((A_USER - A_DROP + B_USER - B_DROP)) before the flows were installed, XDP passed up none of the flows' packets"
echo PASS
