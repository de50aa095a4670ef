#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd between a caller behind a port-restricted NAT and a callee behind
# a symmetric NAT (coturn on the public segment, shared/DESIGN.md): both legs
# complete ICE, media flows both ways, every packet is accounted for (received
# by the peer, or dropped by the relay before the other leg had a path), and
# after nomination more than 99% of it takes the XDP fast path.
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
# after nomination (everything the relay forwarded): > 99% by XDP
fw=$((A_FAST + A_USER - A_DROP + B_FAST + B_USER - B_DROP))
[ $((100 * (A_FAST + B_FAST))) -gt $((99 * fw)) ] ||
	icp_fail "fast path carried $((A_FAST + B_FAST)) of $fw forwarded packets (<= 99%)"
icp_log "XDP forwarded $((A_FAST + B_FAST)) of $fw packets after nomination"
echo PASS
