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
# gone the recovered legs lose consent. Then a restart without the state
# file removes the orphan flows and says so.
# Last, the ASan+UBSan daemon (BUILD/asan/bin/icepathd) starts on a
# corrupted state file: it recovers the one good call, drops the others
# with a log line each, leaves no port bound for a refused record, survives
# datagrams to every port the file names, and stops cleanly with no
# sanitizer report and no leak.
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
# drops happen only before both legs have a pair; remember them, and the
# packet counters, which the restart must not reset (issue 14)
read -r A_FAST0 A_USER0 A_DROP0 < <(icpd_leg_counts "$CALL" caller-tag)
read -r B_FAST0 B_USER0 B_DROP0 < <(icpd_leg_counts "$CALL" callee-tag)
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
# counters survive: userspace ones from the state file, the fast path's in
# the pinned per-flow counters; media went on meanwhile, so no fewer
read -r A_FAST1 A_USER1 _ < <(icpd_leg_counts "$CALL" caller-tag)
read -r B_FAST1 B_USER1 _ < <(icpd_leg_counts "$CALL" callee-tag)
icp_log "counters across the restart: caller leg $((A_FAST0 + A_USER0)) -> $((A_FAST1 + A_USER1))," \
	"callee leg $((B_FAST0 + B_USER0)) -> $((B_FAST1 + B_USER1)) packets"
[ $((A_FAST1 + A_USER1)) -ge $((A_FAST0 + A_USER0)) ] && [ $((B_FAST1 + B_USER1)) -ge $((B_FAST0 + B_USER0)) ] ||
	icp_fail "the restart reset the counters"
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
# the error counters came back from the state file (the drops before the
# paths, at most): the recovered daemon itself dropped nothing
read -r _ _ e1 < <(icpd_leg_counts "$CALL" caller-tag)
read -r _ _ e2 < <(icpd_leg_counts "$CALL" callee-tag)
[ $((e1 + e2)) -le $((A_DROP0 + B_DROP0)) ] ||
	icp_fail "the recovered daemon dropped $((e1 + e2 - A_DROP0 - B_DROP0)) packets"

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

icp_log "ASan daemon on a corrupted state file"
asan_d="$ICPD_BUILD/asan/bin/icepathd"
[ -x "$asan_d" ] || icp_fail "$asan_d is missing: run 'make' first"
R=$ICPD_RELAY
{
	echo "icepath-state 1"
	# good: recovered
	echo "call good-$ICP_RUN 1700000000 0"
	echo "leg 0 caller-tag pub 0 0"
	echo "stream 0 0 1 0 audio RTP/AVP $R:30100 198.51.100.7:40000 198.51.100.7:40001 0 0 - -"
	echo "leg 1 callee-tag pub 0 0"
	echo "stream 1 0 1 0 audio RTP/AVP $R:30102 198.51.100.8:40000 198.51.100.8:40001 0 0 - -"
	# leg A's socket would be bound, then the same line is bad
	echo "call bad-field 1700000000 0"
	echo "leg 0 a pub 0 0"
	echo "stream 0 0 1 0 audio RTP/AVP $R:30200 not-an-address - 0 0 - -"
	echo "leg 1 b pub 0 0"
	# leg B's port is the good call's: cannot be bound, leg A's comes free
	echo "call busy-port 1700000000 0"
	echo "leg 0 a pub 0 0"
	echo "stream 0 0 1 0 audio RTP/AVP $R:30300 198.51.100.7:40000 - 0 0 - -"
	echo "leg 1 b pub 0 0"
	echo "stream 1 0 1 0 audio RTP/AVP $R:30100 198.51.100.8:40000 - 0 0 - -"
	# hostile fields
	printf 'call %%00%%0a\x1b[31m 1 0\n'
	echo "call huge-index 1 0"
	echo "leg 0 a pub 0 0"
	echo "stream 0 4294967296 1 0 audio RTP/AVP $R:30400 - - 0 0 - -"
	echo "call other-iface 1 0"
	echo "leg 0 a nowhere 0 0"
	echo "stream 0 0 1 0 audio RTP/AVP 192.0.2.99:30500 - - 0 0 - -"
	head -c 3000 /dev/urandom | tr '\n' ' '
	echo
	printf 'call cut-%s 1 0\nleg 0 a pub 0 0\nstream 0 0 1 0 audio RTP/AVP %s:30600 - -' "$ICP_RUN" "$R"
} >"$ICPD_STATE"
export ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ICPD_DAEMON=../asan/bin/icepathd icpd_start --xdp native
grep -q "recovered 1 calls" "$ICPD_LOG" || { tail -30 "$ICPD_LOG"; icp_fail "the ASan daemon did not recover exactly the good call"; }
icpd_query "good-$ICP_RUN" >/dev/null || icp_fail "the good call of the corrupted file is not known to NG"
bound=$(nsx "$NS_relay" ss -Huln | awk '{print $4}')
for p in 30200 30201 30300 30301 30400 30600; do
	grep -q ":$p\$" <<<"$bound" && icp_fail "port $p of a refused record is still bound"
done
grep -q ":30100\$" <<<"$bound" || icp_fail "the good call's port 30100 is not bound"
# datagrams to every port the file named, bound or freed
for p in 30100 30101 30102 30103 30200 30201 30300 30301 30400 30600; do
	nsx "$NS_caller" bash -c "for i in 1 2 3; do printf 'x%.0s' {1..172} >/dev/udp/$R/$p; done" 2>/dev/null
done
sleep 1
kill -0 "$ICPD_PID" 2>/dev/null || icp_fail "the ASan daemon died (log: $ICPD_LOG)"
kill -TERM "$ICPD_PID"
wait "$ICPD_PID"
rc=$?
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$ICPD_LOG"; then
	grep -A20 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$ICPD_LOG" | head -40
	icp_fail "sanitizer report from the daemon on a corrupted state file"
fi
[ $rc -eq 0 ] || icp_fail "the ASan daemon exited $rc on SIGTERM"
echo PASS
