#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kill -9 of icepathd at random points of call setup (issue 14), many times
# in a bounded time: an NG client (tests/net/ng_crashsetup.py, one request
# at a time like a SIP proxy's worker) offers and answers plain-RTP calls as
# fast as the relay acknowledges them and records each acknowledgement the
# moment it arrives; the daemon (XDP native, so calls have fast-path flows)
# is killed 0-300 ms after the first acknowledgement and restarted with the same options
# and state file. After each restart:
#   - every call whose offer AND answer were acknowledged is recovered, with
#     the ports its replies gave;
#   - no relay port belongs to two calls, also once new calls are set up;
#   - no flow of an acknowledged call is removed as an orphan.
# Before the durability rule (replies left at once, the state file followed
# up to 200 ms later) this lost acknowledged calls, removed their flows as
# orphans and handed their ports to new calls.
# CRASH_RUNS (default 25) runs, at most CRASH_SECS (default 100) seconds.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
RUNS=${CRASH_RUNS:-25}
BUDGET=${CRASH_SECS:-100}
MAX_CALLS=400 # per run: the ports of one run's calls stay apart from the next run's
DRV=("python3" "$(cd "$(dirname "$0")" && pwd)/ng_crashsetup.py")
command -v python3 >/dev/null || icp_fail "python3 missing (make deps)"

icpd_topology "${1:?usage: test_icepathd_crashsetup.sh BUILD_DIR}"
icpd_xdp_peer

runs=0 failed=0 acked=0 killed_mid=0
start=$SECONDS
for run in $(seq 0 $((RUNS - 1))); do
	[ $((SECONDS - start)) -ge "$BUDGET" ] && break
	acks="$ICP_TMP/acks.$run"
	orph="$ICP_TMP/orphans.$run"
	: >"$acks"
	icpd_start --xdp native
	# not through nsx (a shell function): $! must be the client itself
	ip netns exec "$NS_relay" "${DRV[@]}" drive $ICPD_NG "$acks" $((run * MAX_CALLS)) \
		$MAX_CALLS 2>>"$ICP_TMP/drive.err" &
	drv=$!
	# the kill lands 0-300 ms into setup, counted from the first reply
	WAIT_SECS=10 wait_for test -s "$acks" || icp_fail "run $run: no NG reply at all"
	sleep "$(printf '0.%03d' $((RANDOM % 301)))"
	kill -9 "$ICPD_PID"
	wait "$ICPD_PID" 2>/dev/null
	# what was acknowledged is on record: the client stops here too, so
	# its retransmissions do not meet the restarted daemon
	kill -9 "$drv" 2>/dev/null
	wait "$drv" 2>/dev/null
	[ "$(wc -l <"$acks")" -lt $((2 * MAX_CALLS)) ] && killed_mid=$((killed_mid + 1))
	logpos=$(wc -c <"$ICPD_LOG")
	icpd_start --xdp native
	tail -c +$((logpos + 1)) "$ICPD_LOG" | grep "removing orphan fast-path flow" |
		sed -E 's/.*flow [^ ]*:([0-9]+) -> .*/\1/' >"$orph"
	if ! out=$(nsx "$NS_relay" "${DRV[@]}" check $ICPD_NG "$acks" "$orph" 3); then
		failed=$((failed + 1))
		icp_log "run $run: $(echo "$out" | head -1)"
		echo "$out" | grep FAIL | head -5 >&2
	fi
	acked=$((acked + $(echo "$out" | head -1 | awk '{print $2}' | tr -d ,)))
	runs=$((runs + 1))
	# a clean stop: calls deleted, flows removed, the state file gone
	kill "$ICPD_PID"
	wait "$ICPD_PID" 2>/dev/null
	[ -e "$ICPD_STATE" ] && icp_fail "a clean stop left the state file"
done
icp_log "$runs runs in $((SECONDS - start)) s ($killed_mid killed mid-setup): $acked calls" \
	"acknowledged before a kill, $failed runs with a lost, moved or crossed call"
[ -n "${CRASH_KEEP_LOG:-}" ] && cp "$ICPD_LOG" "$CRASH_KEEP_LOG" && cp "$ICP_TMP/drive.err" "$CRASH_KEEP_LOG.drive"
[ "$runs" -ge $((RUNS < 10 ? RUNS : 10)) ] || icp_fail "only $runs runs in ${BUDGET} s"
[ "$killed_mid" -ge $((runs / 2)) ] || icp_fail "only $killed_mid of $runs kills hit call setup"
[ "$failed" -eq 0 ] || icp_fail "$failed of $runs runs lost, moved or crossed an acknowledged call"
echo "PASS: test_icepathd_crashsetup"
