#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NG request fuzzing against a running icepathd (ng-fuzz: mutated offers,
# answers, deletes, queries... and garbage) for a bounded time, with the XDP
# fast path on so that the calls the fuzzer manages to create install and
# remove flows. The daemon is the ASan+UBSan build (build/asan/bin/icepathd),
# and after every request ng-fuzz sends a datagram to every port of the
# daemon's media range: the ports it has bound and those it has just freed
# (a socket left behind by a refused offer would hand it to a freed call).
# Every reply must be a valid NG reply, the daemon must keep answering, then
# still set up a real call, and stop cleanly on SIGTERM; any sanitizer
# report (use-after-free, leak, undefined behaviour) fails the test.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
SECS=${ICPD_FUZZ_SECONDS:-20}

icpd_topology "${1:?usage: test_icepathd_ngfuzz.sh BUILD_DIR}"
icpd_xdp_peer
PMIN=30000 PMAX=30199
sanitizer_report() {
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$ICPD_LOG" || return 1
	grep -m1 -B2 -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$ICPD_LOG"
}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# a short inactivity timeout: the fuzzer's half-made calls expire during the run
ICPD_DAEMON=../asan/bin/icepathd icpd_start --xdp native --inactivity-timeout 5 \
	--port-min $PMIN --port-max $PMAX
nsx "$NS_relay" "$(icpd_bin ng-fuzz)" --server $ICPD_NG --seconds "$SECS" --count 100000 \
	--netns --poke $ICPD_RELAY:$PMIN-$PMAX >"$ICP_TMP/fuzz.log" 2>&1 || {
	sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above under fuzzing"
	tail -20 "$ICP_TMP/fuzz.log"
	tail -20 "$ICPD_LOG"
	icp_fail "ng-fuzz: the daemon gave an invalid reply or stopped answering"
}
tail -3 "$ICP_TMP/fuzz.log"
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above under fuzzing"
kill -0 "$ICPD_PID" || icp_fail "icepathd died under fuzzing"

CALL=after-fuzz-$ICP_RUN
icpd_call "$CALL" 300 20
icpd_check_media "$CALL" 300

kill -TERM "$ICPD_PID"
wait "$ICPD_PID"
rc=$?
sanitizer_report && icp_fail "icepathd (ASan+UBSan) reported the error above (at exit: leaks)"
[ $rc -eq 0 ] || icp_fail "icepathd exited $rc on SIGTERM after fuzzing"
flows=$(nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_PIN" flow count)
[ "${flows:-1}" -eq 0 ] || icp_fail "$flows flows left after SIGTERM"
echo PASS
