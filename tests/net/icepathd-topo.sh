# SPDX-License-Identifier: GPL-2.0-only
#
# The icepathd scenario of shared/DESIGN.md, shared by tools/demo/demo.sh and
# tests/net/test_icepathd_*.sh. Source after tests/net/lib.sh.
#
#   caller 10.0.1.2 --[nata: port-restricted NAT]-- 203.0.113.10 \
#                                                                 +- sw (bridge) -- relay 203.0.113.2 (icepathd)
#   callee 10.0.2.2 --[natb: symmetric NAT]-------- 203.0.113.20 /                \- turn  203.0.113.3 (coturn)
#
# Every address is RFC 5737 (public) or RFC 1918 (behind the NATs) and lives
# only in the namespaces made here.
#
#   icpd_topology              build it, start coturn, mount a private bpffs
#   icpd_start [ARGS...]       start icepathd in the relay namespace (sets ICPD_PID;
#                              ICPD_DAEMON=../asan/bin/icepathd for the sanitized one)
#   icpd_peer NAME ROLE N ...  start icepath-peer as caller/callee, sending N packets
#   icpd_offer_answer CALLID   drive offer/answer through NG, as a SIP proxy does
#   icpd_query CALLID          icepathctl query output (text)

ICPD_RELAY=203.0.113.2
ICPD_TURN=203.0.113.3
ICPD_NG=127.0.0.1:2223

icpd_bin() { # the program from BUILD/bin, failing loudly if it is missing
	local p="$ICPD_BUILD/bin/$1"
	[ -x "$p" ] || icp_fail "$p is missing: run 'make' first"
	echo "$p"
}

# Kill our own processes and unmount the private bpffs before lib.sh's
# cleanup deletes the namespaces (which detaches every XDP program).
icpd_cleanup() {
	local rc=$? p
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ -n "${ICPD_BPFFS:-}" ] && mountpoint -q "$ICPD_BPFFS"; then
		umount -l "$ICPD_BPFFS"
	fi
	(exit $rc)
	icp_cleanup
}

icpd_topology() {
	ICPD_BUILD=${1:?build dir}
	trap icpd_cleanup EXIT
	ns_new sw; ns_new relay; ns_new turn; ns_new nata; ns_new natb; ns_new caller; ns_new callee
	ip -n "$NS_sw" link add br0 type bridge || icp_fail "cannot create a bridge"
	ip -n "$NS_sw" link set br0 up
	ns_link "$NS_relay" eth0 $ICPD_RELAY/24 "$NS_sw" p-relay -
	ns_link "$NS_turn" eth0 $ICPD_TURN/24 "$NS_sw" p-turn -
	ns_link "$NS_nata" wan 203.0.113.10/24 "$NS_sw" p-nata -
	ns_link "$NS_natb" wan 203.0.113.20/24 "$NS_sw" p-natb -
	for p in p-relay p-turn p-nata p-natb; do ip -n "$NS_sw" link set "$p" master br0; done
	ns_link "$NS_caller" eth0 10.0.1.2/24 "$NS_nata" lan 10.0.1.1/24
	ns_link "$NS_callee" eth0 10.0.2.2/24 "$NS_natb" lan 10.0.2.1/24
	ns_route "$NS_caller" default via 10.0.1.1
	# veth hands locally made packets on with a partial UDP checksum (the
	# "NIC" is to finish it); XDP cannot see that, so a packet it rewrites
	# would leave with a wrong sum. Real NICs deliver full sums: the end
	# points here compute them in software, as a host behind a NAT would.
	for ns in "$NS_caller" "$NS_callee"; do
		nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 ||
			icp_fail "ethtool -K eth0 tx off failed in $ns (Debian package ethtool; make deps)"
	done
	ns_route "$NS_callee" default via 10.0.2.1
	nat_router "$NS_nata" lan wan port-restricted
	nat_router "$NS_natb" lan wan symmetric
	# No forwarding sysctl on the relay: a relay is an endpoint, and its
	# XDP program carries the next hop in each flow (no fib lookup).
	start_coturn "$NS_turn" $ICPD_TURN
	# A private bpffs outside /sys: 'ip netns exec' remounts /sys, so a pin
	# under /sys/fs/bpf would die with each daemon's mount namespace and a
	# restarted daemon could not find its maps.
	ICPD_BPFFS="$ICP_TMP/bpffs"
	mkdir -p "$ICPD_BPFFS"
	mount -t bpf bpf "$ICPD_BPFFS" || icp_fail "cannot mount bpffs on $ICPD_BPFFS"
	ICPD_PIN="$ICPD_BPFFS/icepath"
	ICPD_STATE="$ICP_TMP/icepathd.state"
	ICPD_LOG="$ICP_TMP/icepathd.log"
}

# XDP_TX out of a veth needs an XDP program on its peer (shared/DESIGN.md):
# the bridge side gets icepath's own program, with no flows it passes all.
icpd_xdp_peer() {
	nsx "$NS_sw" "$(icpd_bin icepath-fpctl)" --quiet --pin "$ICPD_BPFFS/sw" attach p-relay >/dev/null ||
		icp_fail "cannot attach the pass-through XDP program to the relay's bridge port"
}

# icpd_start [extra icepathd options]: waits until NG answers.
# ICPD_DAEMON=PATH runs another build of it (the ASan one: asan/bin/icepathd).
icpd_start() {
	local d ctl
	# ICPD_DAEMON: another build of the daemon, relative to BUILD/bin
	# (../asan/bin/icepathd: the ASan+UBSan one)
	d=$(icpd_bin "${ICPD_DAEMON:-icepathd}")
	ctl=$(icpd_bin icepathctl)
	ip netns exec "$NS_relay" "$d" --interface pub=$ICPD_RELAY --listen-ng $ICPD_NG \
		--pin-path "$ICPD_PIN" --state-file "$ICPD_STATE" --foreground "$@" \
		>>"$ICPD_LOG" 2>&1 &
	ICPD_PID=$!
	ICP_PIDS+=($ICPD_PID)
	WAIT_SECS=10 wait_for nsx "$NS_relay" "$ctl" --server $ICPD_NG ping >/dev/null 2>&1 || {
		tail -20 "$ICPD_LOG" >&2
		icp_fail "icepathd did not answer NG ping (log above)"
	}
}

# icpd_peer caller|callee N [extra icepath-peer options]: sends and expects
# N packets; JSON events in $ICP_TMP/NAME.json, exit code in NAME.rc.
icpd_peer() {
	local name=$1 n=$2 ns ip role
	shift 2
	case $name in
	caller) ns=$NS_caller ip=10.0.1.2 role=--controlling ;;
	callee) ns=$NS_callee ip=10.0.2.2 role=--controlled ;;
	esac
	rm -f "$ICP_TMP/$name.sdp" "$ICP_TMP/$name-remote.sdp" "$ICP_TMP/$name.rc"
	( ip netns exec "$ns" "$(icpd_bin "${ICPD_PEER_BIN:-icepath-peer}")" $role --bind $ip \
		--stun $ICPD_TURN:3478 --turn $ICPD_TURN:3478 \
		--turn-user "$COTURN_USER" --turn-pass "$COTURN_PASS" \
		--local-sdp "$ICP_TMP/$name.sdp" --remote-sdp "$ICP_TMP/$name-remote.sdp" \
		--send "$n" --expect "${ICPD_EXPECT:-$n}" --json "$@" >"$ICP_TMP/$name.json" 2>"$ICP_TMP/$name.err"
	  echo $? >"$ICP_TMP/$name.rc" ) &
	ICP_PIDS+=($!)
}

# icpd_offer_answer CALLID [icepath-ngsdp options]: offer with the caller's
# SDP (the callee gets the relay's), answer with the callee's (the caller
# gets the relay's), exactly as an rtpengine module in a SIP proxy.
icpd_offer_answer() {
	local call=$1 ng
	shift
	ng=$(icpd_bin icepath-ngsdp)
	WAIT_SECS=20 wait_for test -s "$ICP_TMP/caller.sdp" || icp_fail "caller wrote no SDP"
	nsx "$NS_relay" "$ng" offer --server $ICPD_NG --call-id "$call" --from-tag caller-tag \
		--sdp-in "$ICP_TMP/caller.sdp" --sdp-out "$ICP_TMP/callee-remote.sdp" "$@" ||
		icp_fail "NG offer failed"
	WAIT_SECS=20 wait_for test -s "$ICP_TMP/callee.sdp" || icp_fail "callee wrote no SDP"
	nsx "$NS_relay" "$ng" answer --server $ICPD_NG --call-id "$call" --from-tag caller-tag \
		--to-tag callee-tag --sdp-in "$ICP_TMP/callee.sdp" \
		--sdp-out "$ICP_TMP/caller-remote.sdp" "$@" || icp_fail "NG answer failed"
}

icpd_query() { local c=$1; shift; nsx "$NS_relay" "$(icpd_bin icepathctl)" --server $ICPD_NG "$@" query "$c"; }

# icpd_wait_peer NAME SECS: wait for the peer to exit; its status.
icpd_wait_peer() {
	WAIT_SECS=$2 wait_for test -s "$ICP_TMP/$1.rc" || return 124
	return "$(cat "$ICP_TMP/$1.rc")"
}

# icpd_leg_counts CALLID TAG -> "FAST USER ERRORS" packets of the leg's RTP
# streams, summed (media received from that leg's peer, by path).
icpd_leg_counts() {
	icpd_query "$1" | awk -v tag="$2" '
		$1 == "leg" { inleg = ($2 == tag) }
		inleg && $1 == "RTP" {
			for (i = 1; i <= NF; i++) {
				if ($i == "fast") f += $(i + 1)
				if ($i == "user") u += $(i + 1)
				if ($i == "errors") e += $(i + 1)
			}
		}
		END { printf "%d %d %d\n", f, u, e }'
}

# icpd_leg_field CALLID TAG COLUMN: ICE state (3), consent (4) of a leg from
# the summary table; the selected pair is columns 5.. (icpd_leg_pair).
icpd_leg_field() {
	icpd_query "$1" | awk -v tag="$2" -v col="$3" '
		/^  TAG / { table = 1; next }
		/^  leg / { table = 0 }
		table && $1 == tag { print $col; exit }'
}
icpd_leg_pair() {
	icpd_query "$1" | awk -v tag="$2" '
		/^  TAG / { table = 1; next }
		/^  leg / { table = 0 }
		table && $1 == tag { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print; exit }'
}

# icpd_peer_event NAME EVENT KEY: a number from the peer's JSON event line.
icpd_peer_event() {
	grep "\"event\":\"$2\"" "$ICP_TMP/$1.json" 2>/dev/null | head -1 |
		sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p"
}

# For wait_for, which runs a command (not an expression) until it succeeds.
icpd_has_event() { grep -q "\"event\":\"$2\"" "$ICP_TMP/$1.json" 2>/dev/null; }
icpd_leg_is() { [ "$(icpd_leg_field "$1" "$2" "$3")" = "$4" ]; }

# icpd_peer_received NAME: distinct RTP packets the peer got, from its
# success event or from the reason of its timeout ("received 12/300" from
# icepath-peer, "received=12/300" from nice-peer).
icpd_peer_received() {
	local n
	n=$(icpd_peer_event "$1" media received)
	[ -n "$n" ] || n=$(grep '"event":"failed"' "$ICP_TMP/$1.json" 2>/dev/null |
		sed -n 's/.*received[ =]\([0-9]*\)\/.*/\1/p' | head -1)
	echo "${n:-0}"
}

# icpd_check_media CALLID N: both peers sent N packets; every one of them
# reached the other peer, except those the relay dropped (and counted)
# because the other leg had no path yet. Sets A_FAST A_USER A_DROP (media
# from the caller), B_* (from the callee), CALLER_RX, CALLEE_RX.
icpd_check_media() {
	local call=$1 n=$2
	read -r A_FAST A_USER A_DROP < <(icpd_leg_counts "$call" caller-tag)
	read -r B_FAST B_USER B_DROP < <(icpd_leg_counts "$call" callee-tag)
	CALLER_RX=$(icpd_peer_received caller)
	CALLEE_RX=$(icpd_peer_received callee)
	icp_log "caller -> callee: sent $n, relay XDP $A_FAST, userspace $((A_USER - A_DROP)), dropped (no path yet) $A_DROP, callee got $CALLEE_RX"
	icp_log "callee -> caller: sent $n, relay XDP $B_FAST, userspace $((B_USER - B_DROP)), dropped (no path yet) $B_DROP, caller got $CALLER_RX"
	[ $((A_FAST + A_USER)) -eq "$n" ] || icp_fail "the relay saw $((A_FAST + A_USER)) of the caller's $n packets"
	[ $((B_FAST + B_USER)) -eq "$n" ] || icp_fail "the relay saw $((B_FAST + B_USER)) of the callee's $n packets"
	[ $((CALLEE_RX + A_DROP)) -eq "$n" ] ||
		icp_fail "caller -> callee: $CALLEE_RX received + $A_DROP dropped at the relay != $n sent"
	[ $((CALLER_RX + B_DROP)) -eq "$n" ] ||
		icp_fail "callee -> caller: $CALLER_RX received + $B_DROP dropped at the relay != $n sent"
	# before both legs had a pair, a few packets at most (ICE takes ~1 s)
	[ "$CALLEE_RX" -gt $((n / 2)) ] && [ "$CALLER_RX" -gt $((n / 2)) ] ||
		icp_fail "less than half the media got through"
}

# icpd_call CALLID N TIMEOUT: both peers send (and expect) N packets, the call
# is set up through NG, and both peers are waited for (TIMEOUT + 20 s).
icpd_call() {
	icpd_peer caller "$2" --timeout "$3"
	icpd_peer callee "$2" --timeout "$3"
	icpd_offer_answer "$1"
	icpd_wait_peer caller $(($3 + 20))
	icpd_wait_peer callee $(($3 + 20))
}
