#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Wire compatibility of icepath's NG layer with the real thing: icepathctl
# (ng_request_encode, ng_reply_parse, the cookie/retry client) against
# rtpengine (Debian package rtpengine-daemon, userspace only), in a
# namespace of its own. Usage: bash tests/net/test_ng_rtpengine.sh BUILD_DIR
#
#   namespace: veth r0 203.0.113.1/24 (rtpengine's media interface)
#              rtpengine NG on 127.0.0.1:2223
#
# Asserts: ping, stats and list parse; an offer sent with `raw` gets an SDP
# rewritten to 203.0.113.1; query parses rtpengine's reply (including the
# untagged side with empty endpoints) into the call/leg/stream table with
# the ports rtpengine allocated; top shows the call; delete with --from-tag
# is accepted; a JSON reply conversion is valid JSON.
set -u
build=${1:?usage: test_ng_rtpengine.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$here/lib.sh"
icp_require_root
ctl=$(cd "$build" && pwd)/bin/icepathctl
[ -x "$ctl" ] || icp_fail "$ctl not built (make all)"
command -v rtpengine >/dev/null || icp_fail "rtpengine not installed (Debian package rtpengine-daemon; make deps)"

ns_new rtp
NS=$NS_rtp
ip -n "$NS" link add r0 type veth peer name r1 || icp_fail "cannot create veth in $NS"
ip -n "$NS" addr add 203.0.113.1/24 dev r0
ip -n "$NS" link set r0 up
ip -n "$NS" link set r1 up

bg "$NS" rtpengine --table=-1 --config-file=none --interface=203.0.113.1 \
	--listen-ng=127.0.0.1:2223 --foreground --log-stderr --log-level=6 \
	--port-min=30000 --port-max=30099 2>"$ICP_TMP/rtpengine.log"

# c ARGS...: icepathctl in the namespace; sets OUT, ERR, RC.
c() {
	OUT=$(nsx "$NS" "$ctl" "$@" 2>"$ICP_TMP/err")
	RC=$?
	ERR=$(cat "$ICP_TMP/err")
}
ok() { [ "$RC" -eq 0 ] || icp_fail "$1: exit $RC; stdout: $OUT; stderr: $ERR; rtpengine: $(tail -5 "$ICP_TMP/rtpengine.log")"; }
has() { grep -qE -- "$1" <<<"$OUT" || icp_fail "$2: stdout lacks /$1/: $OUT"; }

ping_ok() { nsx "$NS" "$ctl" --timeout 200 --retries 0 ping >/dev/null 2>&1; }
WAIT_SECS=15 wait_for ping_ok || icp_fail "rtpengine does not answer ping: $(tail -20 "$ICP_TMP/rtpengine.log")"

icp_log "ping, stats, list"
c ping
ok ping
has "^pong from 127.0.0.1:2223" ping
c stats
ok stats
has "^calls now +0$" stats
c list
ok list
[ -z "$OUT" ] || icp_fail "list: expected no calls: $OUT"

icp_log "offer through raw, then query"
sdp=$'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'
c raw "d7:call-id9:icp-call13:ICE6:remove7:command5:offer8:from-tag5:alice3:sdp${#sdp}:${sdp}e"
ok offer
has '"result": "ok"' offer
has 'c=IN IP4 203\.0\.113\.1' offer
c list
ok "list after offer"
[ "$OUT" = icp-call1 ] || icp_fail "list after offer: $OUT"
c query icp-call1
ok query
has "^call icp-call1$" query
has "^  alice +- +- +- +-$" query
has "^  \(none\) " query
has "^      RTP +local 300[0-9][0-9] +peer 192.0.2.10:4000 " query
has "^      RTCP +local 300[0-9][0-9] +peer 192.0.2.10:4001 " query
has "^      RTP +local 300[0-9][0-9] +peer - " query
c --json query icp-call1
ok "query --json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["tags"]["alice"]["tag"]=="alice"' <<<"$OUT" ||
	icp_fail "query --json: $OUT"
c top --count 2 --interval 0.2
ok top
has "^icp-call1 +2 +-/- " top

icp_log "delete"
c delete icp-call1 --from-tag alice
ok delete
has "^deleted icp-call1 tag alice$" delete
c delete no-such-call --fatal
[ "$RC" -eq 1 ] || icp_fail "delete --fatal of an unknown call: exit $RC, $ERR"
icp_log "PASS"
