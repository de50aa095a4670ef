#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd in a container (issue 13, failure 1): the relay's eth0 is a veth
# whose peer (the bridge port p-relay) runs no XDP program, as with Docker,
# Podman, LXC or a Kubernetes pod. Native XDP_TX out of such a veth is
# dropped by the kernel (xdp_tx_errors) and a call would get one packet per
# direction, then silence. icepathd must see it and say so: it moves eth0
# to generic XDP (skbs, which the veth takes), media flows for the whole
# call with every packet accounted for, the fast path still carries it,
# query shows the streams' real mode, and the veth counts no XDP transmit
# error.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=500 # 10 s of media each way
CALL=container-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_container.sh BUILD_DIR}"
# no icpd_xdp_peer: the bridge side of the relay's veth has no XDP program
icpd_start --xdp native
grep -q "moved from native to generic mode" "$ICPD_LOG" ||
	{ tail -20 "$ICPD_LOG"; icp_fail "icepathd did not say why eth0 cannot run native XDP"; }
nsx "$NS_relay" ip -d link show eth0 | grep -q "xdpgeneric" ||
	icp_fail "eth0 is not in generic XDP mode: $(nsx "$NS_relay" ip -d link show eth0 | grep -i xdp)"
icpd_call "$CALL" $N 25
icpd_check_media "$CALL" $N
fw=$((A_FAST + A_USER - A_DROP + B_FAST + B_USER - B_DROP))
[ $((100 * (A_FAST + B_FAST))) -gt $((90 * fw)) ] ||
	icp_fail "fast path carried $((A_FAST + B_FAST)) of $fw forwarded packets (<= 90%)"
icp_log "XDP (generic) forwarded $((A_FAST + B_FAST)) of $fw packets after nomination"
q=$(icpd_query "$CALL")
echo "$q" | grep -q "xdp generic" || { echo "$q"; icp_fail "query does not show the generic mode"; }
errs=$(nsx "$NS_relay" ethtool -S eth0 | awk '/xdp/ && /err/ { n += $2 } END { print n + 0 }')
[ "$errs" = 0 ] || icp_fail "eth0 counted $errs XDP transmit errors"
echo PASS
