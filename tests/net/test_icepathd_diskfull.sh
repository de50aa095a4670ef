#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The durability rule when the disk is full (issue 14): icepathd's state
# file sits on a 64 KiB tmpfs (in a private mount namespace of this test)
# that is then filled up. An offer whose commit cannot be written is not
# acknowledged: its reply is result error saying "state not durable" and
# ENOSPC's remedy, the call does not exist afterwards (query: not found),
# icepath_state_write_failures_total counts it, icepath_state_durable is 0,
# and the log says it once for the episode. Once space is freed calls are
# answered ok again and are durable: after kill -9 and a restart the calls
# acknowledged before and after the episode are recovered, the refused
# ones are not.
set -u
if [ "${ICP_DISKFULL_NS:-}" != 1 ]; then
	# a mount namespace of our own: the tmpfs goes away with it
	exec env ICP_DISKFULL_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_diskfull.sh BUILD_DIR}
D="$BUILD/bin/icepathd"
NGSDP="$BUILD/bin/icepath-ngsdp"
CTL="$BUILD/bin/icepathctl"
for b in "$D" "$NGSDP" "$CTL"; do [ -x "$b" ] || icp_fail "$b missing: run 'make' first"; done
command -v curl >/dev/null || icp_fail "curl missing (Debian package curl; make deps)"
ST="$ICP_TMP/st"
cleanup() {
	local rc=$?
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	mountpoint -q "$ST" 2>/dev/null && umount -l "$ST"
	(exit $rc)
	icp_cleanup
}
trap cleanup EXIT
mkdir -p "$ST"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$ST" || icp_fail "cannot mount a tmpfs on $ST"
ns_new relay

start() {
	ip netns exec "$NS_relay" "$D" --interface lo=127.0.0.1 --listen-ng 127.0.0.1:2223 --xdp off \
		--port-min 20000 --port-max 20999 --state-file "$ST/calls.state" \
		--pin-path "$ICP_TMP/pin" --metrics 127.0.0.1:9464 --foreground >>"$ICP_TMP/d.log" 2>&1 &
	PID=$!
	ICP_PIDS+=($PID)
	WAIT_SECS=10 wait_for nsx "$NS_relay" "$CTL" ping >/dev/null 2>&1 ||
		{ cat "$ICP_TMP/d.log"; icp_fail "icepathd did not start"; }
}
sdp() { printf 'v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\n' "$1"; }
offer() { # ID: 0 when answered ok; the error (if any) in $ICP_TMP/ID.err
	sdp 7000 >"$ICP_TMP/$1.sdp"
	nsx "$NS_relay" "$NGSDP" offer --call-id "$1" --from-tag t-$1 --sdp-in "$ICP_TMP/$1.sdp" \
		--sdp-out "$ICP_TMP/$1-out.sdp" >/dev/null 2>"$ICP_TMP/$1.err"
}
known() { nsx "$NS_relay" "$CTL" query "$1" >/dev/null 2>&1; }
metric() { nsx "$NS_relay" curl -s http://127.0.0.1:9464/metrics | sed -n "s/^$1 //p"; }

start
offer before-$ICP_RUN || icp_fail "offer before the disk is full: $(cat "$ICP_TMP/before-$ICP_RUN.err")"
[ "$(metric icepath_state_durable)" = 1 ] || icp_fail "icepath_state_durable is not 1 at start"

# fill the file system; the journal's last page may still take a record or
# two (tmpfs allocates by page): offers go on until one is refused
dd if=/dev/zero of="$ST/fill" bs=4k 2>/dev/null
refused=
OK_FULL=()
for i in $(seq 1 16); do
	id=full$i-$ICP_RUN
	if ! offer "$id"; then refused=$id; break; fi
	OK_FULL+=("$id")
done
[ -n "$refused" ] || icp_fail "16 offers answered ok on a full disk"
grep -q "state not durable" "$ICP_TMP/$refused.err" ||
	icp_fail "the refused offer does not say the state is not durable: $(cat "$ICP_TMP/$refused.err")"
grep -q "No space left on device; free disk space" "$ICP_TMP/$refused.err" ||
	icp_fail "the refused offer does not say what failed and what to do: $(cat "$ICP_TMP/$refused.err")"
icp_log "on a full disk the offer is refused: $(head -1 "$ICP_TMP/$refused.err")"
known "$refused" && icp_fail "the refused call $refused exists"
# a second refusal in the same episode: counted, not logged again
offer again-$ICP_RUN && icp_fail "a second offer on a full disk was answered ok"
known again-$ICP_RUN && icp_fail "the refused call again-$ICP_RUN exists"
fails=$(metric icepath_state_write_failures_total)
[ "${fails:-0}" -ge 2 ] || icp_fail "icepath_state_write_failures_total is ${fails:-none}, not >= 2"
[ "$(metric icepath_state_durable)" = 0 ] || icp_fail "icepath_state_durable is not 0 on a full disk"
logged=$(grep -c "state not durable.*logged once until one succeeds" "$ICP_TMP/d.log")
[ "$logged" = 1 ] || icp_fail "the episode was logged $logged times, not once"
icp_log "$fails failed commits counted, the episode logged once"

rm -f "$ST/fill"
offer after-$ICP_RUN || icp_fail "with space again the offer failed: $(cat "$ICP_TMP/after-$ICP_RUN.err")"
[ "$(metric icepath_state_durable)" = 1 ] || icp_fail "icepath_state_durable is not 1 again"
grep -q "state writes succeed again" "$ICP_TMP/d.log" || icp_fail "the end of the episode is not logged"

kill -9 "$PID"
wait "$PID" 2>/dev/null
start
for id in before-$ICP_RUN "${OK_FULL[@]}" after-$ICP_RUN; do
	known "$id" || icp_fail "the acknowledged call $id was not recovered"
done
for id in "$refused" again-$ICP_RUN; do
	known "$id" && icp_fail "the refused call $id came back after the restart"
done
icp_log "after kill -9: $((2 + ${#OK_FULL[@]})) acknowledged calls recovered, the 2 refused ones not"
echo PASS
