#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# RFC 7675 at the relay: the callee goes silent (its NAT drops everything);
# within 30 s the relay's consent toward it expires and forwarding toward it
# stops at once, in the XDP fast path (flow flag off: drop) and in userspace.
# When the callee is heard again, consent stays lost (RFC 7675 §5.1: only an
# ICE restart brings it back) and nothing is forwarded toward it.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
CALL=consent-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_consent.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
# the caller talks for 70 s; the callee sends 200 packets, then only answers
# checks (--linger) so that it can be heard again later
ICPD_EXPECT=200 icpd_peer caller 3500 --timeout 90
icpd_peer callee 200 --linger 90000 --timeout 90
icpd_offer_answer "$CALL"
WAIT_SECS=30 wait_for icpd_has_event callee media || icp_fail "callee: no media"
read -r f0 u0 e0 < <(icpd_leg_counts "$CALL" caller-tag)
[ "$f0" -gt 0 ] || icp_fail "no media from the caller on the fast path"

icp_log "silencing the callee"
ns_blackhole "$NS_natb" wan
WAIT_SECS=60 wait_for icpd_leg_is "$CALL" callee-tag 4 lost ||
	icp_fail "consent toward the silent callee was not lost within 60 s"
icp_log "consent lost: $(grep -m1 'consent lost' "$ICPD_LOG")"
grep -q 'fast path drops (no consent' "$ICPD_LOG" || icp_fail "the fast-path flow was not turned off"
read -r f1 u1 e1 < <(icpd_leg_counts "$CALL" caller-tag)
sleep 3
read -r f2 u2 e2 < <(icpd_leg_counts "$CALL" caller-tag)
icp_log "caller -> callee during 3 s without consent: XDP $f1 -> $f2, userspace forwarded $((u1 - e1)) -> $((u2 - e2))"
[ "$f1" -eq "$f2" ] || icp_fail "XDP kept forwarding toward the callee without consent"
[ $((u1 - e1)) -eq $((u2 - e2)) ] || icp_fail "userspace kept forwarding toward the callee without consent"
pgrep -f "icepath-peer --controlling.*$ICP_TMP" >/dev/null || icp_fail "the caller stopped early"

icp_log "the callee is heard again"
nsx "$NS_natb" nft delete table inet icpblack
sleep 10
icpd_leg_is "$CALL" callee-tag 4 granted &&
	icp_fail "consent toward the callee came back without an ICE restart (RFC 7675 5.1)"
read -r f3 u3 e3 < <(icpd_leg_counts "$CALL" caller-tag)
icp_log "caller -> callee 10 s after the callee was heard again: XDP $f2 -> $f3"
[ "$f3" -eq "$f2" ] || icp_fail "XDP forwarded toward the callee although consent was lost"
echo PASS
