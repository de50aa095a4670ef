#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Early media (issue 11): icepathd between two libnice agents (offer from
# the caller A, answer from the callee B, ICE=force). Each peer sends as
# soon as it has its own selected pair, which can be before the relay has
# one toward the other peer: the relay holds that media (at most 64
# packets / 200 ms per stream) and sends it on the pair once selected.
# The callee must receive >= 90% of what the caller sent (it sends only
# from the moment it has its pair), and the other way round; the figures
# and the relay's own count of what it dropped for want of a pair
# (/metrics, reason no-path) must be 0.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=300
CALL=early-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_early_media.sh BUILD_DIR}"
icpd_bin nice-peer >/dev/null
icpd_xdp_peer
M=$ICPD_RELAY:9464
command -v curl >/dev/null || icp_fail "curl is missing (Debian package curl; make deps)"
icpd_start --xdp native --metrics $M --metrics-allow $ICPD_RELAY/32
export ICPD_PEER_BIN=nice-peer
# a peer may miss some of it: the figures below judge, not its exit code
ICPD_EXPECT=1 icpd_peer caller $N --timeout 20
ICPD_EXPECT=1 icpd_peer callee $N --timeout 20
icpd_offer_answer "$CALL" --ice force
icpd_wait_peer caller 40
icpd_wait_peer callee 40
for t in caller-tag callee-tag; do
	st=$(icpd_leg_field "$CALL" $t 3)
	case $st in connected|completed) ;; *)
		cat "$ICP_TMP"/*.json "$ICP_TMP"/*.err >&2
		icp_fail "leg $t with libnice: ICE $st" ;;
	esac
	icp_log "leg $t: $(icpd_leg_pair "$CALL" $t)"
done
grep "early media" "$ICPD_LOG" | sed 's/^/relay: /' >&2
# Not icpd_check_media: its sums leave out media dropped before the
# relay counts it as received (from a source no check has validated yet)
read -r A_FAST A_USER A_DROP < <(icpd_leg_counts "$CALL" caller-tag)
read -r B_FAST B_USER B_DROP < <(icpd_leg_counts "$CALL" callee-tag)
CALLER_RX=$(icpd_peer_received caller)
CALLEE_RX=$(icpd_peer_received callee)
icp_log "caller -> callee: sent $N, relay XDP $A_FAST, userspace $A_USER (incl. held early), dropped $A_DROP, callee got $CALLEE_RX"
icp_log "callee -> caller: sent $N, relay XDP $B_FAST, userspace $B_USER (incl. held early), dropped $B_DROP, caller got $CALLER_RX"
echo "early media: callee got $CALLEE_RX of the caller's $N ($((100 * CALLEE_RX / N))%), caller got $CALLER_RX of the callee's $N ($((100 * CALLER_RX / N))%)"
# media dropped because the other leg had no pair yet, the reason early
# media is held for (a source not yet validated counts elsewhere)
nopath=$(nsx "$NS_relay" curl -sS --max-time 5 "http://$M/metrics" |
	sed -n 's/^icepath_drops_total{path="userspace",reason="no-path"} //p')
echo "early media: the relay dropped ${nopath:-?} packets for want of a pair"
[ "${nopath:-x}" = 0 ] || icp_fail "the relay dropped ${nopath:-?} packets (no pair yet), expected 0"
[ $((10 * CALLEE_RX)) -ge $((9 * N)) ] ||
	icp_fail "the callee got $CALLEE_RX of $N packets the caller sent (< 90%): early media lost"
[ $((10 * CALLER_RX)) -ge $((9 * N)) ] ||
	icp_fail "the caller got $CALLER_RX of $N packets the callee sent (< 90%): early media lost"
echo PASS
