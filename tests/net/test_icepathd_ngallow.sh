#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NG on a public address: refused at startup without --ng-allow; with it,
# the allowed sender (the proxy, here the relay host itself) is served,
# and a sender outside the list (the caller's NAT, 203.0.113.10) gets no
# reply at all - no error either, so a spoofed source learns nothing and
# list/query cannot reflect - while the daemon logs the drop and says at
# startup which networks it serves.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root

icpd_topology "${1:?usage: test_icepathd_ngallow.sh BUILD_DIR}"
ICPD_NG=$ICPD_RELAY:2223
ctl=$(icpd_bin icepathctl)

out=$(nsx "$NS_relay" "$(icpd_bin icepathd)" --interface pub=$ICPD_RELAY --listen-ng $ICPD_NG \
	--xdp off --foreground 2>&1)
rc=$?
[ $rc -eq 2 ] || icp_fail "a public --listen-ng without --ng-allow started (exit $rc)"
grep -q "is not a loopback address.*--ng-allow" <<<"$out" || icp_fail "refusal does not say why: $out"
icp_log "refused: $out"

icpd_start --xdp off --ng-allow "$ICPD_RELAY/32,198.51.100.0/24"
grep -q "NG on $ICPD_NG accepts requests only from $ICPD_RELAY/32,198.51.100.0/24" "$ICPD_LOG" ||
	icp_fail "startup does not say which NG senders are served"
nsx "$NS_relay" "$ctl" --server $ICPD_NG ping >/dev/null || icp_fail "the allowed sender is not served"
if nsx "$NS_caller" "$ctl" --server $ICPD_NG --timeout 300 --retries 1 list >/dev/null 2>&1; then
	icp_fail "a sender outside --ng-allow got a reply"
fi
WAIT_SECS=5 wait_for grep -q "NG request from 203.0.113.10:[0-9]* dropped: not in --ng-allow (2 dropped so far)" \
	"$ICPD_LOG" || { tail -5 "$ICPD_LOG"; icp_fail "the dropped requests are not logged and counted"; }
nsx "$NS_relay" "$ctl" --server $ICPD_NG ping >/dev/null || icp_fail "the daemon stopped serving its proxy"
echo PASS
