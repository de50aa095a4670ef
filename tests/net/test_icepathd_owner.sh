#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One owner (issue 14): one icepathd per pin path, state file and interface.
#  1. a second icepathd on the same pin path, or the same state file, is
#     refused before it touches anything, and says the owner's pid; the
#     owner's program, link and maps are untouched;
#  2. a start that fails at any step (NG port taken; interface taken by a
#     netlink XDP program; by another icepath's BPF link; --metrics port
#     taken, after attach and recovery; --pidfile unwritable, after
#     relay_init) leaves no pin, no attached program and no map: the
#     flows map whose id the failed start logged is gone from the kernel;
#  3. the hint printed for a taken interface is true: the command it gives
#     frees the interface and the next start succeeds; '--xdp generic' (the
#     old hint) is refused as well, '--xdp off' starts;
#  4. a failed start after a crash (kill -9) leaves the crashed run's maps
#     and link in place (its flows forward for the next start to recover);
#  5. SIGTERM detaches the program, removes every pin and the maps.
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_owner.sh BUILD_DIR}
D="$BUILD/bin/icepathd"
FPCTL="$BUILD/bin/icepath-fpctl"
CTL="$BUILD/bin/icepathctl"
[ -x "$D" ] && [ -x "$FPCTL" ] || icp_fail "$D or $FPCTL missing: run 'make' first"
RELAY=203.0.113.2
# OWNER_KEEP_GOING=1: report every failed check, not only the first (to see
# all that an old build gets wrong); the exit status is 1 all the same
FAILS=0
bad() {
	[ "${OWNER_KEEP_GOING:-0}" = 1 ] || icp_fail "$*"
	printf 'FAIL: %s\n' "$*" >&2
	FAILS=$((FAILS + 1))
}

# a private bpffs (ip netns exec remounts /sys: see icepathd-topo.sh)
BPFFS="$ICP_TMP/bpffs"
cleanup() {
	local rc=$?
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	if mountpoint -q "$BPFFS" 2>/dev/null; then
		rm -rf "$BPFFS"/* 2>/dev/null
		umount -l "$BPFFS"
	fi
	(exit $rc)
	icp_cleanup
}
trap cleanup EXIT

ns_new relay
ns_new sw
ns_link "$NS_relay" eth0 $RELAY/24 "$NS_sw" p-relay -
ns_link "$NS_relay" dum0 - "$NS_sw" p-dum -
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || icp_fail "cannot mount bpffs on $BPFFS"
PIN="$BPFFS/icepath"
STATE="$ICP_TMP/calls.state"
LOCK="/run/icepath/pin$(printf '%s' "$PIN" | tr / -).lock"

N=0
# start LOG NGPORT [ARGS...]: icepathd in the background, sets PID
start() {
	local log=$1 port=$2
	shift 2
	ip netns exec "$NS_relay" "$D" --interface pub=$RELAY --listen-ng 127.0.0.1:"$port" \
		--foreground "$@" >"$log" 2>&1 &
	PID=$!
	ICP_PIDS+=($PID)
}
ping_ng() { nsx "$NS_relay" "$CTL" --server 127.0.0.1:"$1" ping >/dev/null 2>&1; }
# start_ok LOG PORT ARGS...: running and answering NG
start_ok() {
	start "$@"
	WAIT_SECS=10 wait_for ping_ng "$2" || { cat "$1" >&2; icp_fail "icepathd did not start ($1)"; }
}
# must_fail WHAT LOG PORT ARGS...: the start exits non-zero within 10 s
must_fail() {
	local what=$1 rc
	shift
	start "$@"
	if ! WAIT_SECS=10 wait_for sh -c "! kill -0 $PID 2>/dev/null"; then
		bad "$what: icepathd started (expected a refusal)"
		kill -9 "$PID"; wait "$PID" 2>/dev/null
		return
	fi
	wait "$PID"
	rc=$?
	[ "$rc" -ne 0 ] || { cat "$1" >&2; bad "$what: icepathd exited 0"; }
}
map_id() { sed -n 's/.*flows map id \([0-9]*\).*/\1/p' "$1" | tail -1; }
map_alive() { bpftool map show id "$1" >/dev/null 2>&1; }
# the kernel frees a map whose last reference went in a deferred work item:
# give it a moment before calling it left behind
map_gone() { WAIT_SECS=5 wait_for sh -c "! bpftool map show id $1 >/dev/null 2>&1"; }
xdp_on() { ip -n "$NS_relay" -d link show dev "${1:-eth0}" | grep -q 'prog/xdp'; }
prog_id() { ip -n "$NS_relay" -d link show dev eth0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1; }
# nothing_left WHAT LOG [PROG]: no pin, the logged map freed, and no
# program on eth0 (or the stranger's PROG, as it was)
nothing_left() {
	local what=$1 log=$2 want=${3:-} id
	id=$(map_id "$log")
	if [ -e "$PIN" ] && [ -n "$(ls -A "$PIN" 2>/dev/null)" ]; then
		ls -l "$PIN" >&2
		bad "$what: the failed start left pins under $PIN"
	fi
	if [ -n "$want" ]; then
		[ "$(prog_id)" = "$want" ] || bad "$what: eth0's program changed ($want -> $(prog_id))"
	else
		xdp_on eth0 && bad "$what: the failed start left an XDP program on eth0"
	fi
	if [ -n "$id" ] && ! map_gone "$id"; then
		bad "$what: the failed start left its flows map (id $id) in the kernel"
	fi
	icp_log "$what: refused, nothing left (flows map ${id:-none} freed, no pin, no XDP of its own)"
}
# OWNER_KEEP_GOING: an old build's leftovers must not fail the next section
isolate() {
	[ "${OWNER_KEEP_GOING:-0}" = 1 ] || return 0
	nsx "$NS_relay" "$FPCTL" --quiet --pin "$PIN" destroy 2>/dev/null
	nsx "$NS_relay" ip link set dev eth0 xdpgeneric off 2>/dev/null
	nsx "$NS_relay" ip link set dev eth0 xdpdrv off 2>/dev/null
}
wait_gone() { WAIT_SECS=10 wait_for sh -c "! kill -0 $1 2>/dev/null"; }

# ---- 1. one owner -------------------------------------------------------------
start_ok "$ICP_TMP/a.log" 2301 --pin-path "$PIN" --state-file "$STATE"
A=$PID
grep -q 'XDP attached to eth0' "$ICP_TMP/a.log" || bad "the owner did not attach XDP"
A_MAP=$(bpftool -j map show pinned "$PIN/flows" | jq -r .id)
A_PROG=$(prog_id)
[ -n "$A_MAP" ] && [ -n "$A_PROG" ] || bad "no flows map id / program id for the owner"
[ "$(cat "$LOCK")" = "$A" ] || bad "the lock file $LOCK does not hold the owner's pid $A"

must_fail "same pin path" "$ICP_TMP/b.log" 2302 --pin-path "$PIN" --state-file "$ICP_TMP/b.state"
grep -q "pin path $PIN is owned by another icepathd (pid $A" "$ICP_TMP/b.log" ||
	{ cat "$ICP_TMP/b.log" >&2; bad "the refused start did not name the owner's pid $A"; }
must_fail "same state file" "$ICP_TMP/c.log" 2303 --pin-path "$BPFFS/other" --state-file "$STATE"
grep -q "state file $STATE is owned by another icepathd (pid $A" "$ICP_TMP/c.log" ||
	{ cat "$ICP_TMP/c.log" >&2; bad "the refused start did not name the state file's owner"; }
[ -e "$BPFFS/other" ] && bad "the refused start made a pin directory"
[ "$(prog_id)" = "$A_PROG" ] || bad "the owner's XDP program on eth0 was replaced"
map_alive "$A_MAP" || bad "the owner's flows map is gone"
[ -e "$PIN/link-eth0" ] && [ -e "$PIN/flows" ] || bad "the owner's pins are gone"
ping_ng 2301 || bad "the owner stopped answering NG"
icp_log "second daemons refused with the owner's pid; the owner is untouched"

# ---- 5. SIGTERM ---------------------------------------------------------------
kill -TERM "$A"
wait_gone "$A" || bad "icepathd did not stop on SIGTERM"
wait "$A"; rc=$?
[ "$rc" -eq 0 ] || bad "icepathd exited $rc on SIGTERM"
xdp_on eth0 && bad "SIGTERM left the XDP program attached to eth0"
[ -e "$PIN" ] && { ls -l "$PIN" >&2; bad "SIGTERM left the pin directory $PIN"; }
map_gone "$A_MAP" || bad "SIGTERM left the flows map (id $A_MAP) in the kernel"
[ -e "$LOCK" ] && bad "SIGTERM left the lock file $LOCK"
icp_log "SIGTERM: program detached, pins and maps gone"

isolate
# ---- 2. failures at each step -------------------------------------------------
# the NG port is taken (before the fast path is opened)
bg "$NS_relay" python3 -c 'import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",2310)); time.sleep(120)'
HOLD_NG=$!
bg "$NS_relay" python3 -c 'import socket,time
s=socket.socket(); s.bind(("127.0.0.1",9310)); s.listen(); time.sleep(120)'
# both holders bound before icepathd starts (a slow python start lost the
# UDP port to the daemon once, and the daemon then started)
WAIT_SECS=5 wait_for sh -c "ip netns exec $NS_relay ss -lntu | grep -q ':9310 ' &&
	ip netns exec $NS_relay ss -lnu | grep -q ':2310 '" ||
	bad "the port holders did not start"
must_fail "NG port taken" "$ICP_TMP/d.log" 2310 --pin-path "$PIN" --state-file "$STATE"
nothing_left "NG port taken" "$ICP_TMP/d.log"

# the metrics port is taken: fails after attach and state recovery
must_fail "metrics port taken" "$ICP_TMP/e.log" 2311 --pin-path "$PIN" --state-file "$STATE" \
	--metrics 127.0.0.1:9310
grep -q 'XDP attached to eth0' "$ICP_TMP/e.log" || bad "metrics case: the start did not get to attach"
nothing_left "metrics port taken (after attach)" "$ICP_TMP/e.log"

# --pidfile cannot be written: fails after relay_init
must_fail "pidfile unwritable" "$ICP_TMP/f.log" 2312 --pin-path "$PIN" --state-file "$STATE" \
	--pidfile "$ICP_TMP/no/such/dir/pid"
nothing_left "pidfile unwritable (after init)" "$ICP_TMP/f.log"
kill "$HOLD_NG" 2>/dev/null

isolate
# ---- 2+3. interface taken by a netlink XDP program ----------------------------
# icepath's own program as the stranger: loaded by fpctl (on dum0) under
# another pin path, attached to eth0 by netlink (not a link) in skb mode
nsx "$NS_relay" "$FPCTL" --quiet --pin "$BPFFS/stranger" attach dum0 >/dev/null ||
	bad "cannot load the stranger program"
nsx "$NS_relay" bpftool net attach xdpgeneric pinned "$BPFFS/stranger/prog-generic" dev eth0 ||
	bad "cannot attach the stranger program to eth0 by netlink"
S_PROG=$(prog_id)
for mode in native generic; do
	must_fail "eth0 taken by netlink ($mode)" "$ICP_TMP/g-$mode.log" 2313 --pin-path "$PIN" \
		--state-file "$STATE" --xdp $mode
	nothing_left "eth0 taken by netlink, --xdp $mode" "$ICP_TMP/g-$mode.log" "$S_PROG"
done
grep -q -- "--xdp generic" "$ICP_TMP/g-native.log" &&
	bad "the refusal still suggests --xdp generic, which is refused as well"
HINT=$(grep -o "'ip link set dev eth0 [a-z]* off'" "$ICP_TMP/g-native.log" | head -1 | tr -d "'")
[ -n "$HINT" ] || { cat "$ICP_TMP/g-native.log" >&2; bad "no 'ip link' command in the refusal"; }
# the old hint does not free it
nsx "$NS_relay" ip link set dev eth0 xdp off 2>/dev/null
[ "$(prog_id)" = "$S_PROG" ] || bad "'ip link set dev eth0 xdp off' freed it (the test assumed not)"
start_ok "$ICP_TMP/h.log" 2314 --pin-path "$PIN" --state-file "$STATE" --xdp off
kill -TERM "$PID"; wait_gone "$PID"
icp_log "the hint: $HINT ('ip link set dev eth0 xdp off' leaves it; --xdp off starts)"
nsx "$NS_relay" $HINT || bad "the hint '$HINT' failed"
xdp_on eth0 && bad "the hint '$HINT' did not free eth0"
start_ok "$ICP_TMP/i.log" 2315 --pin-path "$PIN" --state-file "$STATE"
grep -q 'XDP attached to eth0' "$ICP_TMP/i.log" || bad "after the hint: no XDP on eth0"
kill -TERM "$PID"; wait_gone "$PID"
xdp_on eth0 && bad "SIGTERM left XDP on eth0"

isolate
# ---- 2+3. interface taken by another icepath's BPF link -----------------------
nsx "$NS_relay" "$FPCTL" --quiet --pin "$BPFFS/stranger" attach eth0 >/dev/null ||
	bad "cannot attach the stranger's link to eth0"
# the link whose program runs on eth0 (this bpftool prints no ifindex)
L_ID=$(bpftool -j link show | jq -r --argjson p "$(prog_id)" \
	'.[] | select(.type == "xdp" and .prog_id == $p) | .id' | head -1)
[ -n "$L_ID" ] || bad "cannot find the stranger's link on eth0 with bpftool"
must_fail "eth0 taken by a link" "$ICP_TMP/j.log" 2316 --pin-path "$PIN" --state-file "$STATE"
nothing_left "eth0 taken by another icepath's link" "$ICP_TMP/j.log" "$(prog_id)"
grep -q "held by BPF link ${L_ID:-x}, which 'ip link' cannot remove" "$ICP_TMP/j.log" ||
	{ cat "$ICP_TMP/j.log" >&2; bad "the refusal does not name BPF link $L_ID"; }
nsx "$NS_relay" ip link set dev eth0 xdpgeneric off 2>/dev/null
xdp_on eth0 || bad "'ip link' removed a BPF link (the hint says it cannot)"
grep -q "icepath-fpctl --pin THAT_PIN_PATH destroy" "$ICP_TMP/j.log" || bad "no fpctl hint"
nsx "$NS_relay" "$FPCTL" --quiet --pin "$BPFFS/stranger" destroy || bad "fpctl destroy failed"
start_ok "$ICP_TMP/k.log" 2317 --pin-path "$PIN" --state-file "$STATE"
grep -q 'XDP attached to eth0' "$ICP_TMP/k.log" || bad "after the hint: no XDP on eth0"
icp_log "the link hint (link $L_ID, 'icepath-fpctl --pin PATH destroy') is true"

# ---- 4. a failed start after a crash keeps the crashed run's fast path --------
K_MAP=$(bpftool -j map show pinned "$PIN/flows" | jq -r .id)
K_PROG=$(prog_id)
kill -9 "$PID"; wait "$PID" 2>/dev/null
[ -e "$PIN/link-eth0" ] && map_alive "$K_MAP" && xdp_on eth0 ||
	bad "kill -9 took the fast path away (it must keep forwarding)"
must_fail "metrics port taken after a crash" "$ICP_TMP/l.log" 2318 --pin-path "$PIN" \
	--state-file "$STATE" --metrics 127.0.0.1:9310
[ -e "$PIN/link-eth0" ] && [ -e "$PIN/flows" ] || bad "the failed start removed the crashed run's pins"
map_alive "$K_MAP" || bad "the failed start freed the crashed run's flows map"
xdp_on eth0 || bad "the failed start detached the crashed run's program"
start_ok "$ICP_TMP/m.log" 2319 --pin-path "$PIN" --state-file "$STATE"
[ "$(bpftool -j map show pinned "$PIN/flows" | jq -r .id)" = "$K_MAP" ] ||
	bad "the restart did not re-open the crashed run's maps"
kill -TERM "$PID"; wait_gone "$PID"
xdp_on eth0 && bad "SIGTERM after a restart left XDP on eth0"
[ -e "$PIN" ] && bad "SIGTERM after a restart left $PIN"
map_gone "$K_MAP" || bad "SIGTERM after a restart left the flows map"
icp_log "after kill -9 a failed start keeps the crashed run's maps and link; SIGTERM removes them"
[ "$FAILS" -eq 0 ] || icp_fail "$FAILS checks failed"
echo PASS
