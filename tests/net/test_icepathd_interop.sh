#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Interop: icepathd between two libnice agents (nice-peer, RFC 5245
# compatibility, aggressive nomination), behind the same NATs as the other
# icepathd tests. libnice's SDP has no v=/o=/s= lines: the relay rewrites it
# all the same. Both legs must complete ICE with the relay, and media must
# flow both ways through the fast path.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=300
CALL=interop-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_interop.sh BUILD_DIR}"
icpd_bin nice-peer >/dev/null
icpd_xdp_peer
icpd_start --xdp native
ICPD_PEER_BIN=nice-peer icpd_call "$CALL" $N 20
for t in caller-tag callee-tag; do
	st=$(icpd_leg_field "$CALL" $t 3)
	case $st in connected|completed) ;; *)
		cat "$ICP_TMP"/*.json "$ICP_TMP"/*.err >&2
		icp_fail "leg $t with libnice: ICE $st" ;;
	esac
	icp_log "leg $t: $(icpd_leg_pair "$CALL" $t)"
done
icpd_check_media "$CALL" $N
[ $((A_FAST + B_FAST)) -gt 0 ] || icp_fail "no media on the fast path"
echo PASS
