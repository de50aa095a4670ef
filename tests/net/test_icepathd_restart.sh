#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kill -9 of icepathd during media: the pinned fast path keeps forwarding
# while no daemon runs, the restarted daemon recovers the call from its state
# file, each ICE leg with an agent resumed from the credentials and selected
# pairs it had (ice_agent_resume()): it answers the peers' consent checks
# (the peers' consent timeout is cut to 6 s, so this is tested), runs its own
# consent checks toward them (answered, per the log), and the receivers'
# sequence-number counts show that no packet was lost; once the peers are
# gone the recovered legs lose consent. Then a restart without the state file removes the orphan flows and
# says so.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=1000 # 20 s of media each way
CALL=restart-$ICP_RUN

icpd_topology "${1:?usage: test_icepathd_restart.sh BUILD_DIR}"
icpd_xdp_peer
icpd_start --xdp native
# peers give up on consent after 6 s without answers (checks every 1 s): the
# restarted daemon must answer them for the 15 s of media left
icpd_peer caller $N --timeout 28 --consent-timeout 6000
icpd_peer callee $N --timeout 28 --consent-timeout 6000
icpd_offer_answer "$CALL"
WAIT_SECS=20 wait_for icpd_leg_is "$CALL" callee-tag 4 granted || icp_fail "callee leg: no consent"
WAIT_SECS=20 wait_for icpd_leg_is "$CALL" caller-tag 4 granted || icp_fail "caller leg: no consent"
sleep 2
# drops happen only before both legs have a pair; remember them, the
# killed daemon's counters die with it
read -r _ _ A_DROP0 < <(icpd_leg_counts "$CALL" caller-tag)
read -r _ _ B_DROP0 < <(icpd_leg_counts "$CALL" callee-tag)
[ -s "$ICPD_STATE" ] || icp_fail "no state file at $ICPD_STATE"

icp_log "kill -9 icepathd during media"
kill -9 "$ICPD_PID"
wait "$ICPD_PID" 2>/dev/null
fpctl() { nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_PIN" "$@"; }
flows=$(fpctl flow count)
[ "${flows:-0}" -ge 2 ] || icp_fail "the fast path lost its flows when the daemon died ($flows)"
sleep 3 # media goes on, daemon-less
icpd_start --xdp native
if ! grep -q "recovered 1 calls" "$ICPD_LOG"; then
	tail -20 "$ICPD_LOG"
	icp_fail "the restarted daemon did not recover the call"
fi
grep -q "orphan" "$ICPD_LOG" && icp_fail "the restarted daemon removed a flow of a recovered call"
icpd_query "$CALL" >/dev/null || icp_fail "the recovered call is not known to NG"
# the recovered legs run their own RFC 7675 checks toward the peers, and the
# peers (the relay's credentials and roles as before the crash) answer them
for tag in caller-tag callee-tag; do
	WAIT_SECS=10 wait_for grep -q "leg $tag: the peer answers the recovered leg's consent" \
		"$ICPD_LOG" || icp_fail "leg $tag: no answer to the recovered leg's consent checks"
done

icpd_wait_peer caller 50
icpd_wait_peer callee 50
CALLER_RX=$(icpd_peer_received caller)
CALLEE_RX=$(icpd_peer_received callee)
icp_log "caller -> callee: $N sent, $CALLEE_RX received, $A_DROP0 dropped before the callee leg had a path"
icp_log "callee -> caller: $N sent, $CALLER_RX received, $B_DROP0 dropped before the caller leg had a path"
[ $((CALLEE_RX + A_DROP0)) -eq $N ] || icp_fail "caller -> callee lost $((N - CALLEE_RX - A_DROP0)) packets"
[ $((CALLER_RX + B_DROP0)) -eq $N ] || icp_fail "callee -> caller lost $((N - CALLER_RX - B_DROP0)) packets"
grep -q consent-lost "$ICP_TMP/caller.json" "$ICP_TMP/callee.json" &&
	icp_fail "a peer lost consent: the recovered daemon did not answer its checks"
read -r _ _ e1 < <(icpd_leg_counts "$CALL" caller-tag)
read -r _ _ e2 < <(icpd_leg_counts "$CALL" callee-tag)
[ $((e1 + e2)) -eq 0 ] || icp_fail "the recovered daemon dropped $((e1 + e2)) packets"

# the peers are gone: the recovered legs' resumed agents stop getting
# answers and lose consent within RFC 7675's 30 s, as live legs do
icp_log "peers gone: the recovered legs lose consent"
for tag in caller-tag callee-tag; do
	WAIT_SECS=45 wait_for icpd_leg_is "$CALL" $tag 4 lost ||
		icp_fail "leg $tag: the recovered leg kept consent toward a peer that is gone"
done
grep -q "RFC 7675 consent lost" "$ICPD_LOG" || icp_fail "no consent-lost line in the log"

icp_log "restart without the state file: the flows are orphans"
kill -9 "$ICPD_PID"
wait "$ICPD_PID" 2>/dev/null
rm -f "$ICPD_STATE"
icpd_start --xdp native
grep -q "removing orphan fast-path flow" "$ICPD_LOG" || icp_fail "orphan flows were not reported"
flows=$(fpctl flow count)
[ "${flows:-1}" -eq 0 ] || icp_fail "$flows orphan flows left in the fast path"

icp_log "SIGTERM: flows removed, clean exit"
kill -TERM "$ICPD_PID"
wait "$ICPD_PID"
rc=$?
[ $rc -eq 0 ] || icp_fail "icepathd exited $rc on SIGTERM"
echo PASS
