#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathctl and ng-fuzz against ng-fake (icepath's NG layer with a stub
# call table standing in for icepathd), on the loopback of a namespace of
# their own. Usage: bash tests/net/test_icepathctl.sh BUILD_DIR
#
# Asserts: ping survives a lost datagram by resending the same cookie (the
# server's cookie cache answers once); list/query/stats/delete print what
# the stub holds, as tables and as JSON; top prints --count frames with
# rates from the second frame on, fast path far above userspace (the stub
# counts 50 vs 5 packets/s); errors from the server exit 1, a closed port
# and a silent server exit 3, usage errors 2; ng-fuzz sends its requests,
# every reply is valid NG and the server still answers ping.
set -u
build=${1:?usage: test_icepathctl.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$here/lib.sh"
icp_require_root
bin=$(cd "$build" && pwd)/bin
for b in icepathctl ng-fake ng-fuzz; do
	[ -x "$bin/$b" ] || icp_fail "$bin/$b not built (make all)"
done

ns_new ctl
NS=$NS_ctl
SRV=127.0.0.1:2223

# ctl ARGS...: icepathctl in the namespace; sets OUT, ERR, RC.
ctl() {
	OUT=$(nsx "$NS" "$bin/icepathctl" --server "$SRV" "$@" 2>"$ICP_TMP/err")
	RC=$?
	ERR=$(cat "$ICP_TMP/err")
}
expect_rc() { [ "$RC" -eq "$1" ] || icp_fail "$2: exit $RC, expected $1; stdout: $OUT; stderr: $ERR"; }
expect_out() { grep -qE -- "$1" <<<"$OUT" || icp_fail "$2: stdout lacks /$1/: $OUT"; }
expect_err() { grep -qE -- "$1" <<<"$ERR" || icp_fail "$2: stderr lacks /$1/: $ERR"; }
is_json() { python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin.read().split("\n\n") if l.strip()]' <<<"$1"; }

# --drop 1: the first datagram (our first ping) is lost.
bg "$NS" "$bin/ng-fake" --listen "$SRV" --calls 3 --drop 1 --max-seconds 120 >"$ICP_TMP/fake.log"
wait_for grep -q listening "$ICP_TMP/fake.log" || icp_fail "ng-fake did not start"

icp_log "ping across a lost datagram"
ctl ping --timeout 300
expect_rc 0 ping
expect_out "^pong from 127.0.0.1:2223 in [0-9.]+ ms \(2 attempts\)$" ping

icp_log "list, query, stats"
ctl list
expect_rc 0 list
[ "$OUT" = $'call-1\ncall-2\ncall-3' ] || icp_fail "list: $OUT"
ctl query call-1
expect_rc 0 query
expect_out "^call call-1$" query
expect_out "ft01 +- +completed +fresh +host 203.0.113.1:30000 -> srflx 198.51.100.7:40000" query
expect_out "RTP +local 30000 +peer 198.51.100.7:40000 +fastpath +fast [0-9]+ pkts" query
ctl --json query call-2
expect_rc 0 "query --json"
is_json "$OUT" || icp_fail "query --json is not JSON: $OUT"
expect_out '"ice": "completed"' "query --json"
ctl stats
expect_rc 0 stats
expect_out "^calls now +3$" stats
expect_out "^fast path flows +3$" stats
ctl --json stats
is_json "$OUT" || icp_fail "stats --json is not JSON: $OUT"

icp_log "top: frames and rates"
ctl top --count 3 --interval 0.5
expect_rc 0 top
[ "$(grep -c '^CALL-ID' <<<"$OUT")" -eq 3 ] || icp_fail "top: expected 3 frames: $OUT"
# First frame has no rate yet; the last one has, fast path far above userspace.
first=$(grep -m1 '^call-1 ' <<<"$OUT")
last=$(grep '^call-1 ' <<<"$OUT" | tail -n1)
[ "$(awk '{print $4}' <<<"$first")" = - ] || icp_fail "top: first frame has a rate: $first"
read -r fast user < <(awk '{print $4, $5}' <<<"$last")
[[ $fast =~ ^[0-9]+$ && $user =~ ^[0-9]+$ ]] || icp_fail "top: no rates in last frame: $last"
[ "$fast" -gt 0 ] && [ "$fast" -gt $((2 * user)) ] ||
	icp_fail "top: fast $fast pps should far exceed user $user pps: $last"
grep -q $'\033' <<<"$OUT" && icp_fail "top: ANSI escapes although stdout is not a tty"
# On a terminal (script(1) gives it one), each frame starts by clearing the screen.
tty_out=$(nsx "$NS" script -qec "$bin/icepathctl --server $SRV top --count 2 --interval 0.2" /dev/null)
[ "$(grep -o $'\033\[H\033\[2J' <<<"$tty_out" | wc -l)" -eq 2 ] ||
	icp_fail "top on a tty: expected 2 screen clears: $(cat -v <<<"$tty_out")"
ctl top --count 2 --interval 0.2 --json
expect_rc 0 "top --json"
[ "$(wc -l <<<"$OUT")" -eq 2 ] || icp_fail "top --json: expected 2 lines: $OUT"
while read -r line; do is_json "$line" || icp_fail "top --json line is not JSON: $line"; done <<<"$OUT"
expect_out '"fastpath pps": [0-9]' "top --json"

icp_log "raw and --send-file"
ctl raw 'd7:command4:pinge'
expect_rc 0 raw
expect_out '"result": "pong"' raw
printf 'd7:command4:liste' >"$ICP_TMP/req"
ctl raw --send-file "$ICP_TMP/req"
expect_out '"call-3"' "raw --send-file"
ctl raw 'd7:command5:dancee'
expect_out '"error-reason": "unknown command' "raw error"

icp_log "delete and errors"
ctl delete call-3
expect_rc 0 delete
expect_out "^deleted call-3$" delete
ctl list
[ "$OUT" = $'call-1\ncall-2' ] || icp_fail "list after delete: $OUT"
ctl delete call-3 --fatal
expect_rc 1 "delete --fatal of a deleted call"
expect_err "error from server: unknown call-id 'call-3'" "delete --fatal"
ctl delete call-3
expect_rc 0 "delete of a deleted call"
expect_err "warning from server: call-id 'call-3' not found" delete
ctl query nope
expect_rc 1 "query unknown"
ctl dance
expect_rc 2 "unknown command"
expect_err "unknown command 'dance'" "unknown command"
ctl query
expect_rc 2 "query without call-id"
ctl --limit 0 list
expect_rc 2 "--limit 0"
ctl --help
expect_rc 0 --help
expect_out "EXIT STATUS" --help

icp_log "closed port and silent server"
SRV=127.0.0.1:2299 ctl ping
expect_rc 3 "closed port"
expect_err "refused" "closed port"
bg "$NS" "$bin/ng-fake" --listen 127.0.0.1:2224 --drop 1000 --max-seconds 60 >/dev/null
sleep 0.3
SRV=127.0.0.1:2224 ctl ping --timeout 100 --retries 1
expect_rc 3 "silent server"
expect_err "no reply from 127.0.0.1:2224 after 2 attempts of 100 ms" "silent server"

icp_log "ng-fuzz: 2000 mutated requests, then ping"
out=$(nsx "$NS" "$bin/ng-fuzz" --server "$SRV" --count 2000 --seconds 60 --seed 1 --verbose 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || icp_fail "ng-fuzz exit $rc"
grep -q "sent 2000 " <<<"$out" || icp_fail "ng-fuzz did not send 2000 requests"
grep -q "invalid 0), .*final ping: pong" <<<"$out" || icp_fail "ng-fuzz: $out"
nsx "$NS" "$bin/ng-fuzz" --server 192.0.2.1:2223 --count 1 >/dev/null 2>&1
[ $? -eq 2 ] || icp_fail "ng-fuzz must refuse a non-loopback target without --netns"
ctl ping
expect_rc 0 "ping after fuzz"

icp_log "PASS"
