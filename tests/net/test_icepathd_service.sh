#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepathd as systemd runs it (icepathd.service), without systemd: a
# notify socket of the test's own stands in for NOTIFY_SOCKET.
#  - READY=1 comes once NG answers and XDP is attached, not before;
#  - with WATCHDOG_USEC set, WATCHDOG=1 keeps coming from the loop's timer
#    at half the interval;
#  - SIGHUP (ExecReload): RELOADING=1 then READY=1; log-level changes at
#    once, a changed port range is named as needing a restart, a broken
#    config changes nothing and the daemon keeps running;
#  - the daemon sets up with only the capabilities of the unit's
#    CapabilityBoundingSet (setpriv --bounding-set).
# Usage: bash tests/net/test_icepathd_service.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
build=$(cd "${1:?usage: test_icepathd_service.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
d=$build/bin/icepathd
ctl=$build/bin/icepathctl
[ -x "$d" ] && [ -x "$ctl" ] || icp_fail "build first (make)"
command -v python3 >/dev/null || icp_fail "python3 is missing (make deps)"
command -v setpriv >/dev/null || icp_fail "setpriv is missing (util-linux)"

ns_new svc
ns_new peer
ns_link "$NS_svc" eth0 192.0.2.1/24 "$NS_peer" eth0 192.0.2.2/24
BPFFS="$ICP_TMP/bpffs"
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || icp_fail "cannot mount bpffs on $BPFFS"
trap 'rc=$?; for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3;
	mountpoint -q "$BPFFS" && umount -l "$BPFFS"; (exit $rc); icp_cleanup' EXIT

# The notify socket: every datagram, one per line, with a monotonic stamp.
NOTIFY="$ICP_TMP/notify.sock"
python3 - "$NOTIFY" >"$ICP_TMP/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    m = s.recv(4096).decode(errors="replace").replace("\n", " ")
    print("%.3f %s" % (time.monotonic(), m), flush=True)
PY
ICP_PIDS+=($!)
wait_for test -S "$NOTIFY" || icp_fail "the notify listener did not start"

# The unit's CapabilityBoundingSet, minus setuid/setgid (no --user here): without
# CAP_PERFMON the program does not load (EPERM); CAP_SYS_ADMIN is not needed.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$here/../../tools/debian/icepath.icepathd.service" |
	tr ' ' '\n' | grep -v -e SETUID -e SETGID | sed 's/^CAP_//' | tr 'A-Z' 'a-z' |
	sed 's/^/+/' | paste -sd, -)
[ -n "$caps" ] || icp_fail "no CapabilityBoundingSet in icepathd.service"
icp_log "bounding set: $caps"

cat >"$ICP_TMP/icepathd.conf" <<CONF
interface = pub=192.0.2.1
port-min = 30000
port-max = 30100
log-level = info
CONF
LOG="$ICP_TMP/icepathd.log"
# WATCHDOG_PID must be the daemon's own pid: exec keeps the shell's.
ip netns exec "$NS_svc" env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 \
	setpriv --bounding-set=-all,$caps --inh-caps=-all \
	bash -c 'export WATCHDOG_PID=$$; exec "$0" "$@"' "$d" --config "$ICP_TMP/icepathd.conf" \
	--foreground --xdp native --pin-path "$BPFFS/icepath" --state-file "$ICP_TMP/state" \
	>"$LOG" 2>&1 &
PID=$!
ICP_PIDS+=($PID)

icp_log "READY=1 after setup"
WAIT_SECS=20 wait_for grep -q 'READY=1' "$ICP_TMP/notify.log" ||
	{ cat "$LOG"; icp_fail "no READY=1 from icepathd"; }
grep -q 'fast path attached to eth0 (native XDP)' "$LOG" ||
	{ cat "$LOG"; icp_fail "READY=1 came before XDP was attached"; }
nsx "$NS_svc" "$ctl" --timeout 200 --retries 0 ping >/dev/null ||
	icp_fail "READY=1 came but NG does not answer"
# the veth's peer has no XDP program, so the daemon moves it to generic
# mode at its first check (never silently off): STATUS says which it runs
grep -Eq 'STATUS=NG on 127.0.0.1:2223, XDP (native|generic)' "$ICP_TMP/notify.log" ||
	icp_fail "no STATUS= with the NG address: $(cat "$ICP_TMP/notify.log")"

icp_log "WATCHDOG=1 from the loop"
grep -q 'systemd watchdog: every 200 ms' "$LOG" || icp_fail "the watchdog interval is not half of 400 ms"
sleep 2
n=$(grep -c 'WATCHDOG=1' "$ICP_TMP/notify.log")
[ "$n" -ge 7 ] || icp_fail "$n WATCHDOG=1 in ~2 s, expected about 10 (every 200 ms)"
icp_log "$n WATCHDOG=1 so far"

icp_log "SIGHUP: reload"
sed -i 's/^log-level = info/log-level = debug/; s/^port-max = 30100/port-max = 30200/' \
	"$ICP_TMP/icepathd.conf"
kill -HUP $PID
WAIT_SECS=5 wait_for grep -q 'reload: log-level debug' "$LOG" || { cat "$LOG"; icp_fail "no reload line"; }
grep -q 'reload: port-min/port-max changed, but it only takes effect on a restart' "$LOG" ||
	icp_fail "a changed port range was not named as restart-only"
grep -A1 'RELOADING=1' "$ICP_TMP/notify.log" | grep -q 'READY=1' ||
	icp_fail "no RELOADING=1 then READY=1: $(cat "$ICP_TMP/notify.log")"
echo 'port-min = nonsense' >>"$ICP_TMP/icepathd.conf"
kill -HUP $PID
WAIT_SECS=5 wait_for grep -q 'nothing changed, fix the configuration' "$LOG" ||
	{ cat "$LOG"; icp_fail "a broken config was not reported"; }
nsx "$NS_svc" "$ctl" ping >/dev/null || icp_fail "icepathd died on a broken config"
kill -0 $PID || icp_fail "icepathd is gone"
sleep 0.5 # two and more watchdog intervals
n2=$(grep -c 'WATCHDOG=1' "$ICP_TMP/notify.log")
[ "$n2" -gt "$n" ] || icp_fail "the watchdog stopped after the reloads"

kill -TERM $PID
WAIT_SECS=10 wait_for grep -q 'STOPPING=1' "$ICP_TMP/notify.log" || icp_fail "no STOPPING=1"
wait $PID
rc=$?
[ "$rc" -eq 0 ] || icp_fail "icepathd exited $rc on SIGTERM"
echo PASS
