#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The scenario of test_icepathd_media.sh with --xdp off: the userspace
# datapath alone gives the same media result (every packet accounted for,
# none by XDP).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=400
CALL=xdpoff-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_xdp_off.sh BUILD_DIR}"
icpd_start --xdp off
icpd_call "$CALL" $N 20
grep -q 'fast path off' "$ICPD_LOG" || icp_fail "icepathd did not say the fast path is off"
icpd_check_media "$CALL" $N
[ $((A_FAST + B_FAST)) -eq 0 ] || icp_fail "XDP forwarded packets with --xdp off"
icp_log "userspace forwarded $((A_USER - A_DROP + B_USER - B_DROP)) packets"
echo PASS
