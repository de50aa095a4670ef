#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NG request fuzzing against a running icepathd (ng-fuzz: mutated offers,
# answers, deletes, queries... and garbage) for a bounded time, with the XDP
# fast path on so that the calls the fuzzer manages to create install and
# remove flows. Every reply must be a valid NG reply, the daemon must keep
# answering, then still set up a real call, and stop cleanly on SIGTERM.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
SECS=${ICPD_FUZZ_SECONDS:-20}

icpd_topology "${1:?usage: test_icepathd_ngfuzz.sh BUILD_DIR}"
icpd_xdp_peer
# a short inactivity timeout: the fuzzer's half-made calls expire during the run
icpd_start --xdp native --inactivity-timeout 5
nsx "$NS_relay" "$(icpd_bin ng-fuzz)" --server $ICPD_NG --seconds "$SECS" --count 100000 \
	>"$ICP_TMP/fuzz.log" 2>&1 || {
	tail -20 "$ICP_TMP/fuzz.log"
	tail -20 "$ICPD_LOG"
	icp_fail "ng-fuzz: the daemon gave an invalid reply or stopped answering"
}
tail -3 "$ICP_TMP/fuzz.log"
kill -0 "$ICPD_PID" || icp_fail "icepathd died under fuzzing"

CALL=after-fuzz-$ICP_RUN
icpd_call "$CALL" 300 20
icpd_check_media "$CALL" 300

kill -TERM "$ICPD_PID"
wait "$ICPD_PID"
rc=$?
[ $rc -eq 0 ] || icp_fail "icepathd exited $rc on SIGTERM after fuzzing"
flows=$(nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_PIN" flow count)
[ "${flows:-1}" -eq 0 ] || icp_fail "$flows flows left after SIGTERM"
echo PASS
