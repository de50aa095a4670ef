#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd --user nobody: root only for setup (sockets, XDP load/attach,
# pins, state file), then uid/gid 65534 with no capability at all on a
# kernel whose bpf(2) lets an open map fd be used without one (CAP_BPF kept
# otherwise, and the log says so). The unprivileged daemon still binds the
# media ports of a new call, installs its fast-path flows (XDP carries the
# media), writes its state file, and on SIGTERM removes every flow and exits 0.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/icepathd-topo.sh"
icp_require_root
N=300
CALL=privdrop-$ICP_RUN
id nobody >/dev/null 2>&1 || icp_skip "no user 'nobody' on this host"

icpd_topology "${1:?usage: test_icepathd_privdrop.sh BUILD_DIR}"
icpd_xdp_peer
# the state file's directory belongs to the daemon's user; the test's own
# temporary directory (root, 0700) must let it through
chmod 0711 "$ICP_TMP"
mkdir -p "$ICP_TMP/state" && chown nobody "$ICP_TMP/state"
ICPD_STATE="$ICP_TMP/state/calls.state"
icpd_start --xdp native --user nobody
grep -q "running as user nobody (uid $(id -u nobody)" "$ICPD_LOG" || {
	tail -20 "$ICPD_LOG"
	icp_fail "no log line saying the daemon switched to nobody"
}
st=/proc/$ICPD_PID/status
icp_log "$(grep -E '^(Uid|Gid|Groups|CapPrm|CapEff|CapBnd|NoNewPrivs):' "$st" | tr '\t' ' ' | paste -sd ';')"
uid=$(id -u nobody)
awk -v u="$uid" '$1 == "Uid:" { exit !($2 == u && $3 == u && $4 == u && $5 == u) }' "$st" ||
	icp_fail "real/effective/saved/fs uid are not all $uid"
grep -q '^NoNewPrivs:[[:space:]]*1' "$st" || icp_fail "no_new_privs is not set"
grep -q '^CapBnd:[[:space:]]*0*$' "$st" ||
	grep -q '^CapBnd:[[:space:]]*0*8000000000$' "$st" || icp_fail "bounding set not reduced"
if grep -q "capabilities: none" "$ICPD_LOG"; then
	grep -q '^CapEff:[[:space:]]*0*$' "$st" || icp_fail "log says no capabilities, CapEff differs"
	grep -q '^CapPrm:[[:space:]]*0*$' "$st" || icp_fail "log says no capabilities, CapPrm differs"
else
	# kernels before 6.5 with unprivileged BPF disabled: CAP_BPF (bit 39) only
	grep -q '^CapEff:[[:space:]]*0*8000000000$' "$st" || icp_fail "CapEff is more than CAP_BPF"
fi

icpd_call "$CALL" $N 15
icpd_check_media "$CALL" $N
[ $((A_FAST + B_FAST)) -gt 0 ] || icp_fail "no packet took the fast path: flows not installed as nobody"
icp_log "as nobody: XDP forwarded $((A_FAST + B_FAST)) packets"
WAIT_SECS=5 wait_for test -s "$ICPD_STATE" || icp_fail "the unprivileged daemon wrote no state file"
[ "$(stat -c %u "$ICPD_STATE")" = "$uid" ] || icp_fail "state file not owned by nobody"

fpctl() { nsx "$NS_relay" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_PIN" "$@"; }
kill -TERM "$ICPD_PID"
wait "$ICPD_PID"
rc=$?
[ $rc -eq 0 ] || icp_fail "icepathd (nobody) exited $rc on SIGTERM"
flows=$(fpctl flow count)
[ "${flows:-1}" -eq 0 ] || icp_fail "$flows flows left after SIGTERM of the unprivileged daemon"
[ ! -e "$ICPD_STATE" ] || icp_fail "state file left after a clean stop"
echo PASS
