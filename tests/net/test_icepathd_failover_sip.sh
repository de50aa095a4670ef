#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# HA through Redis (issue 14) with a real SIP proxy: Kamailio (its rtpengine
# module pointed at the service address 203.0.113.2, which two relay hosts
# share as keepalived/VRRP runs them) and sipp phones. N sipp calls go
# caller -> Kamailio -> callee; Kamailio's rtpengine_offer/answer set them up
# on the active (--redis), which writes them to Redis; the standby
# (--redis-role standby) keeps a copy. Media both ways on the ports the
# phones' SDP names (icepath-udpgen, counted per direction at each phone),
# plus one ICE call between two icepath-peers (offer/answer through NG from
# the proxy's host) whose peers give up on consent after 6 s without an
# answer. kill -9 of the active mid-media, the address moved (ip addr and
# the neighbours' entries, what VRRP's gratuitous ARP does): the standby
# takes over; media resumes for every call within 2 s in each direction
# (loss printed), the ICE leg keeps consent both ways and its media, the
# phones' BYEs through Kamailio reach the standby, rtpengine_delete is
# answered for every call, query knows none of them, Redis holds no key.
#
#   sipp UAC, udpgen, ICE peer 10.0.1.2 -- NAT 203.0.113.21 --+            +-- relay A .11 (+ .2 first)
#   sipp UAS, udpgen, ICE peer 203.0.113.22 ------------------+-- sw (br) -+-- relay B .12 (+ .2 after)
#   Kamailio                   203.0.113.4  ------------------+            +-- redis .5
#
# The caller is behind a port-restricted NAT (nftables masquerade): its SDP
# names its private address, the relay latches its RTP onto the NAT's (and
# the ICE leg selects a peer-reflexive pair), and the standby must forward
# to what the active had learned. SIP needs no NAT help from Kamailio here:
# its replies follow Via's received= and the NAT keeps port 5060. The callee
# is on the public segment, as a SIP trunk is.
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_failover_sip.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
D="$BUILD/bin/icepathd"
GEN="$BUILD/bin/icepath-udpgen"
NGSDP="$BUILD/bin/icepath-ngsdp"
CTL="$BUILD/bin/icepathctl"
PEER="$BUILD/bin/icepath-peer"
for b in "$D" "$GEN" "$NGSDP" "$CTL" "$PEER"; do [ -x "$b" ] || icp_fail "$b missing: run 'make' first"; done
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	icp_fail "redis-server/redis-cli missing (Debian package redis-server; make deps)"
command -v kamailio >/dev/null || icp_fail "kamailio missing (Debian package kamailio; make deps)"
command -v sipp >/dev/null || icp_fail "sipp missing (Debian package sip-tester; make deps)"
N=${FAILOVER_CALLS:-12} # sipp calls
RATE=100                # packets/s each way per call
SECS=8                  # of media; the kill comes after 3
PKTS=$((RATE * SECS))
HOLD_MS=$(((SECS + 6) * 1000)) # the caller's BYE comes after the media
NI=750                  # ICE call: packets each way, one per 20 ms
VIP=203.0.113.2
REDIS=203.0.113.5
KAM=203.0.113.4
PA=10.0.1.2 # the caller, behind a port-restricted NAT
NAT_A=203.0.113.21
PB=203.0.113.22
CID=sf-$ICP_RUN # sipp's Call-IDs: $CID-K@$PA, K = 1..N
ICE_CALL=ice-$ICP_RUN

BPFFS="$ICP_TMP/bpffs"
cleanup() {
	local rc=$?
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	mountpoint -q "$BPFFS" 2>/dev/null && umount -l "$BPFFS"
	(exit $rc)
	icp_cleanup
}
trap cleanup EXIT

ns_new sw; ns_new ra; ns_new rb; ns_new pa; ns_new na; ns_new pb; ns_new redis; ns_new kam
ip -n "$NS_sw" link add br0 type bridge && ip -n "$NS_sw" link set br0 up ||
	icp_fail "cannot create a bridge"
ns_link "$NS_ra" eth0 203.0.113.11/24 "$NS_sw" p-ra -
ns_link "$NS_rb" eth0 203.0.113.12/24 "$NS_sw" p-rb -
ns_link "$NS_pa" eth0 $PA/24 "$NS_na" lan 10.0.1.1/24
ns_link "$NS_na" wan $NAT_A/24 "$NS_sw" p-na -
ns_route "$NS_pa" default via 10.0.1.1
nat_router "$NS_na" lan wan port-restricted
ns_link "$NS_pb" eth0 $PB/24 "$NS_sw" p-pb -
ns_link "$NS_redis" eth0 $REDIS/24 "$NS_sw" p-redis -
ns_link "$NS_kam" eth0 $KAM/24 "$NS_sw" p-kam -
for p in p-ra p-rb p-na p-pb p-redis p-kam; do ip -n "$NS_sw" link set "$p" master br0; done
# the phones compute their UDP sums (see icepathd-topo.sh: XDP rewrites them)
for ns in "$NS_pa" "$NS_pb"; do nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1; done
ip -n "$NS_ra" addr add $VIP/24 dev eth0
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || icp_fail "cannot mount bpffs on $BPFFS"

bg "$NS_redis" redis-server --bind $REDIS --port 6379 --save '' --appendonly no \
	--protected-mode no --daemonize no --logfile "$ICP_TMP/redis.log"
rcli() { nsx "$NS_redis" redis-cli -h $REDIS "$@"; }
WAIT_SECS=10 wait_for sh -c "ip netns exec $NS_redis redis-cli -h $REDIS ping 2>/dev/null | grep -q PONG" ||
	icp_fail "redis-server did not start"

# relay NAME ARGS...: icepathd in relay namespace NAME, NG on the service
# address (the standby listens there with IP_FREEBIND before it holds it),
# answering the SIP proxy's host only
relay() {
	local name=$1 ns
	shift
	ns=NS_$name
	ip netns exec "${!ns}" "$D" --interface pub=$VIP --listen-ng $VIP:2223 --ng-allow $KAM/32 \
		--xdp ${FAILOVER_XDP:-generic} --pin-path "$BPFFS/$name" --state-file "$ICP_TMP/$name.state" \
		--redis $REDIS:6379 --foreground "$@" >>"$ICP_TMP/$name.log" 2>&1 &
	ICP_PIDS+=($!)
	eval "PID_$name=$!"
}
ctl() { nsx "$NS_kam" "$CTL" --server $VIP:2223 "$@"; }
ng_up() { ctl ping >/dev/null 2>&1; }
relay ra
WAIT_SECS=10 wait_for ng_up || { cat "$ICP_TMP/ra.log"; icp_fail "the active did not start"; }
relay rb --redis-role standby
WAIT_SECS=10 wait_for grep -q "binding nothing until the service address" "$ICP_TMP/rb.log" ||
	{ cat "$ICP_TMP/rb.log"; icp_fail "the standby did not start as a standby"; }

# Kamailio: tests/interop/kamailio/icepath.cfg with plain offer/answer
KD="$ICP_TMP/kamailio"
mkdir -p "$KD/run"
cp "$HERE/../interop/kamailio/icepath.cfg" "$KD/"
echo 'rtpengine_offer("replace-origin replace-session-connection");' >"$KD/offer.inc"
echo 'rtpengine_answer("replace-origin replace-session-connection");' >"$KD/answer.inc"
(cd "$KD" && exec ip netns exec "$NS_kam" kamailio -DD -E -f icepath.cfg -l udp:$KAM:5060 \
	-Y "$KD/run" -P "$KD/kamailio.pid" -w "$KD" -A "RTPENGINE_SOCK=\"udp:$VIP:2223\"" \
	>"$KD/kamailio.log" 2>&1) &
ICP_PIDS+=($!)
KAM_PID=$!
WAIT_SECS=10 wait_for sh -c "ip netns exec $NS_kam ss -Hlnu | grep -q '$KAM:5060'" ||
	{ tail -20 "$KD/kamailio.log"; icp_fail "Kamailio did not start"; }

# the ICE call first: two full ICE agents, offer/answer through NG from the
# proxy's host; consent given up after 6 s without answers, so a take-over
# that does not answer their checks (or does not check on its own) shows
peer() { # NAME NS IP ROLE
	( ip netns exec "$2" "$PEER" "$4" --bind "$3" --local-sdp "$ICP_TMP/$1.sdp" \
		--remote-sdp "$ICP_TMP/$1-remote.sdp" --send $NI --expect $((NI - 2 * 50)) \
		--timeout 40 --consent-timeout 6000 --json >"$ICP_TMP/$1.json" 2>"$ICP_TMP/$1.err"
	  echo $? >"$ICP_TMP/$1.rc" ) &
	ICP_PIDS+=($!)
}
peer icea "$NS_pa" $PA --controlling
peer iceb "$NS_pb" $PB --controlled
WAIT_SECS=10 wait_for test -s "$ICP_TMP/icea.sdp" || icp_fail "ICE caller wrote no SDP"
nsx "$NS_kam" "$NGSDP" offer --server $VIP:2223 --call-id "$ICE_CALL" --from-tag ice-a \
	--sdp-in "$ICP_TMP/icea.sdp" --sdp-out "$ICP_TMP/iceb-remote.sdp" --ice force ||
	icp_fail "NG offer of the ICE call"
WAIT_SECS=10 wait_for test -s "$ICP_TMP/iceb.sdp" || icp_fail "ICE callee wrote no SDP"
nsx "$NS_kam" "$NGSDP" answer --server $VIP:2223 --call-id "$ICE_CALL" --from-tag ice-a --to-tag ice-b \
	--sdp-in "$ICP_TMP/iceb.sdp" --sdp-out "$ICP_TMP/icea-remote.sdp" --ice force ||
	icp_fail "NG answer of the ICE call"
consent() { ctl query "$ICE_CALL" | awk -v tag="$1" '/^  TAG / { t = 1; next } /^  leg / { t = 0 } t && $1 == tag { print $4; exit }'; }
granted() { [ "$(consent "$1")" = granted ]; }
for tag in ice-a ice-b; do
	WAIT_SECS=15 wait_for granted $tag || { ctl query "$ICE_CALL"; icp_fail "ICE leg $tag: no consent before the failover"; }
done
icp_log "ICE call: both legs granted consent on the active"

# the sipp phones: the callee first, then N calls from the caller, one RTP
# port per call from the -inf files (field0)
{ echo SEQUENTIAL; for i in $(seq 1 "$N"); do echo "$((7000 + 2 * i));"; done; } >"$ICP_TMP/uac.csv"
{ echo SEQUENTIAL; for i in $(seq 1 "$N"); do echo "$((8000 + 2 * i));"; done; } >"$ICP_TMP/uas.csv"
(cd "$ICP_TMP" && ip netns exec "$NS_pb" sipp -sf "$HERE/../interop/sipp/uas.xml" -i $PB -p 5060 \
	-inf "$ICP_TMP/uas.csv" -m "$N" -nostdin -trace_err -error_file "$ICP_TMP/uas.err" \
	>"$ICP_TMP/uas.out" 2>&1
	echo $? >"$ICP_TMP/uas.rc") &
ICP_PIDS+=($!)
WAIT_SECS=5 wait_for sh -c "ip netns exec $NS_pb ss -Hlnu | grep -q '$PB:5060'" || icp_fail "sipp UAS does not listen"
(cd "$ICP_TMP" && ip netns exec "$NS_pa" sipp -sf "$HERE/../interop/sipp/uac.xml" $PB:5060 -rsa $KAM:5060 \
	-i $PA -p 5060 -inf "$ICP_TMP/uac.csv" -cid_str "$CID-%u@%s" -m "$N" -r 10 -d $HOLD_MS \
	-nostdin -trace_err -error_file "$ICP_TMP/uac.err" -trace_stat -stf "$ICP_TMP/uac.stat" \
	>"$ICP_TMP/uac.out" 2>&1
	echo $? >"$ICP_TMP/uac.rc") &
UAC_JOB=$!
ICP_PIDS+=("$UAC_JOB")
in_redis() { [ "$(rcli hlen icepath:calls)" = $((N + 1)) ]; }
WAIT_SECS=15 wait_for in_redis || { tail -20 "$KD/kamailio.log"; tail "$ICP_TMP/uac.err" 2>/dev/null;
	icp_fail "Redis holds $(rcli hlen icepath:calls) calls, not $N sipp calls + 1 ICE call"; }
# answered: the answer's record is in Redis (both tags in it)
answered() { for i in $(seq 1 "$N"); do
	rcli hget icepath:calls "$CID-$i@$PA" | grep -q "^leg [0-9]* [^ ]*uas[0-9]* " || return 1; done; }
WAIT_SECS=10 wait_for answered || icp_fail "not every sipp call was answered through Kamailio"
[ "$(grep -c "icepath-test: offer ok $CID-" "$KD/kamailio.log")" = "$N" ] ||
	icp_fail "Kamailio's rtpengine_offer: $(grep -c "offer ok $CID-" "$KD/kamailio.log") of $N ok"
WAIT_SECS=5 wait_for sh -c "[ \$(grep -c 'icepath-test: answer ok $CID-' '$KD/kamailio.log') -ge $N ]" ||
	icp_fail "Kamailio's rtpengine_answer: $(grep -c "answer ok $CID-" "$KD/kamailio.log") of $N ok"
WAIT_SECS=5 wait_for grep -q "standby: $((N + 1)) calls of the active" "$ICP_TMP/rb.log" ||
	icp_fail "the standby's copy does not hold the $((N + 1)) calls"
icp_log "$N sipp calls through Kamailio + 1 ICE call: on the active, in Redis, in the standby's copy"

# leg_ports CALL TAG -> "RELAY-PORT PHONE-PORT" of the leg's RTP stream
leg_ports() {
	ctl query "$1" | awk -v tag="$2" '
		$1 == "leg" { inleg = ($2 == tag) }
		inleg && $1 == "RTP" { p = $5; sub(/.*:/, "", p); print $3, p; exit }'
}
SENDERS=() RECEIVERS=()
for i in $(seq 1 "$N"); do
	c="$CID-$i@$PA"
	from=$(rcli hget icepath:calls "$c" | sed -n 's/^leg [0-9]* \([^ ]*uac[0-9]*\) .*/\1/p' | head -1)
	to=$(rcli hget icepath:calls "$c" | sed -n 's/^leg [0-9]* \([^ ]*uas[0-9]*\) .*/\1/p' | head -1)
	read -r RA PA_PORT < <(leg_ports "$c" "$from")
	read -r RB PB_PORT < <(leg_ports "$c" "$to")
	[ -n "$RA" ] && [ -n "$RB" ] && [ "$PA_PORT" = $((7000 + 2 * i)) ] && [ -n "$PB_PORT" ] ||
		{ ctl query "$c"; icp_fail "call $i: no ports from query (from $from to $to)"; }
	echo "$i $PA_PORT $RA $PB_PORT $RB" >>"$ICP_TMP/ports"
done
# media: caller phone -> relay port facing it -> callee phone, and back;
# each receiver binds after its sender (SO_REUSEADDR: the socket bound last
# gets the datagrams), so the first ~0.2 s count as lost
while read -r i pa ra pb rb; do
	nsx "$NS_pa" "$GEN" send --from $PA:$pa --to $VIP:$ra --count $PKTS --rate $RATE >/dev/null &
	SENDERS+=($!)
	nsx "$NS_pb" "$GEN" send --from $PB:$pb --to $VIP:$rb --count $PKTS --rate $RATE >/dev/null &
	SENDERS+=($!)
done <"$ICP_TMP/ports"
ICP_PIDS+=("${SENDERS[@]}")
sleep 0.2
while read -r i pa ra pb rb; do
	nsx "$NS_pb" "$GEN" recv --on $PB:$pb --count $PKTS --timeout 6 >"$ICP_TMP/toB$i.json" 2>/dev/null &
	RECEIVERS+=($!)
	nsx "$NS_pa" "$GEN" recv --on $PA:$pa --count $PKTS --timeout 6 >"$ICP_TMP/toA$i.json" 2>/dev/null &
	RECEIVERS+=($!)
done <"$ICP_TMP/ports"
ICP_PIDS+=("${RECEIVERS[@]}")
sleep 3

if [ "${FAILOVER_CONTROL:-0}" != 1 ]; then
	icp_log "kill -9 of the active, the service address moves to the standby"
	kill -9 "$PID_ra"
	wait "$PID_ra" 2>/dev/null
	ip -n "$NS_ra" addr del $VIP/24 dev eth0
	T0=$(date +%H:%M:%S.%3N) # the clock of icepathd's log lines
	ip -n "$NS_rb" addr add $VIP/24 dev eth0
	# VRRP's gratuitous ARP: the neighbours learn the new owner's MAC
	MAC_B=$(ip -n "$NS_rb" -j link show dev eth0 | jq -r '.[0].address')
	for ns in "$NS_pb" "$NS_kam" "$NS_redis"; do ip -n "$ns" neigh replace $VIP lladdr "$MAC_B" dev eth0; done
	ip -n "$NS_na" neigh replace $VIP lladdr "$MAC_B" dev wan
	WAIT_SECS=5 wait_for grep -q "standby: took over" "$ICP_TMP/rb.log" ||
		{ tail -20 "$ICP_TMP/rb.log"; icp_fail "the standby did not take over"; }
	grep "standby: t[hoa]" "$ICP_TMP/rb.log"
	# the take-over time from the standby's own log: the address seen, the
	# calls bound and installed
	ms() { local h m s f; IFS=:. read -r h m s f <<<"$1"; echo $((((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$f)); }
	t_seen=$(grep -m1 "standby: the service address" "$ICP_TMP/rb.log" | cut -d' ' -f1)
	t_done=$(grep -m1 "standby: took over" "$ICP_TMP/rb.log" | cut -d' ' -f1)
	icp_log "take-over: address seen $(($(ms "$t_seen") - $(ms "$T0"))) ms after it moved, calls taken over $(($(ms "$t_done") - $(ms "$t_seen"))) ms later"
	grep -q "standby: took over $((N + 1)) of $((N + 1)) calls" "$ICP_TMP/rb.log" ||
		icp_fail "the standby did not take every call"
fi
# behind the NAT: what the relay forwards toward the caller goes to the
# NAT's address it learned (latched RTP, the ICE leg's peer-reflexive pair),
# on the standby as on the active (checked mid-media, before the BYEs)
while read -r i _; do
	c="$CID-$i@$PA"
	from=$(ctl query "$c" | awk '$1 == "leg" && $2 ~ /uac/ { print $2; exit }')
	peer=$(ctl query "$c" | awk -v tag="$from" '$1 == "leg" { inleg = ($2 == tag) } inleg && $1 == "RTP" { print $5; exit }')
	case $peer in $NAT_A:*) ;; *) ctl query "$c"; icp_fail "call $i: the caller's RTP peer is $peer, not behind the NAT's $NAT_A" ;; esac
done <"$ICP_TMP/ports"
ctl query "$ICE_CALL" | grep -q "^  ice-a .* prflx $NAT_A:" ||
	{ ctl query "$ICE_CALL"; icp_fail "the ICE caller's selected pair is not the NAT's peer-reflexive address"; }
icp_log "the caller's media goes to its NAT's address ($NAT_A) on every call, the ICE leg on a prflx pair"

for p in "${SENDERS[@]}"; do wait "$p"; done
for p in "${RECEIVERS[@]}"; do wait "$p"; done
worst=0 total=0
while read -r i _; do
	for d in toA toB; do
		u=$(jq -r .unique "$ICP_TMP/$d$i.json")
		[ -n "$u" ] && [ "$u" != null ] || icp_fail "call $i $d: the receiver printed nothing"
		lost=$((PKTS - u))
		total=$((total + lost))
		[ "$lost" -gt "$worst" ] && worst=$lost
		# loss in ms at RATE packets/s: the media gap of that direction
		[ $((lost * 1000 / RATE)) -lt 2000 ] ||
			icp_fail "sipp call $i $d: $lost of $PKTS lost ($((lost * 1000 / RATE)) ms): media did not resume within 2 s"
	done
done <"$ICP_TMP/ports"
icp_log "sipp calls' loss: $total packets of $((2 * N * PKTS)) over $N calls both ways; worst direction $worst packets ($((worst * 1000 / RATE)) ms at $RATE/s)"

if [ "${FAILOVER_CONTROL:-0}" != 1 ]; then
	# the ICE call: the new active answers the peers' consent checks (or they
	# would have given up 6 s after the kill) and runs its own toward them
	for tag in ice-a ice-b; do
		WAIT_SECS=10 wait_for grep -q "leg $tag: the peer answers the recovered leg's consent" "$ICP_TMP/rb.log" ||
			{ tail -20 "$ICP_TMP/rb.log"; icp_fail "ICE leg $tag: no answer to the new active's consent checks"; }
		[ "$(consent $tag)" = granted ] || { ctl query "$ICE_CALL"; icp_fail "ICE leg $tag: consent $(consent $tag) on the new active"; }
	done
fi
for p in icea iceb; do
	WAIT_SECS=30 wait_for test -s "$ICP_TMP/$p.rc" || icp_fail "ICE peer $p did not finish"
done
for p in icea iceb; do
	grep -q '"event":"consent-lost"' "$ICP_TMP/$p.json" &&
		{ cat "$ICP_TMP/$p.json"; icp_fail "ICE peer $p lost consent across the failover"; }
	rx=$(grep '"event":"media"' "$ICP_TMP/$p.json" | head -1 | sed -n 's/.*"received":\([0-9]*\).*/\1/p')
	[ "$(cat "$ICP_TMP/$p.rc")" = 0 ] && [ -n "$rx" ] ||
		{ cat "$ICP_TMP/$p.json" "$ICP_TMP/$p.err"; icp_fail "ICE peer $p: media did not resume (rc $(cat "$ICP_TMP/$p.rc"))"; }
	icp_log "ICE call toward $p: $rx of $NI received ($((NI - rx)) lost, $(((NI - rx) * 20)) ms at 50/s), consent kept"
done

# the BYEs: sipp's caller hangs up through Kamailio, whose rtpengine_delete
# goes to the service address, now the standby's
WAIT_SECS=30 wait_for test -s "$ICP_TMP/uac.rc" || icp_fail "sipp UAC did not finish"
[ "$(cat "$ICP_TMP/uac.rc")" = 0 ] ||
	{ tail -30 "$ICP_TMP/uac.out"; cat "$ICP_TMP/uac.err" 2>/dev/null | tail; icp_fail "sipp UAC: not every call succeeded (rc $(cat "$ICP_TMP/uac.rc"))"; }
ok=$(grep -c "icepath-test: delete ok $CID-" "$KD/kamailio.log")
bad=$(grep -c "icepath-test: delete failed" "$KD/kamailio.log")
[ "$ok" = "$N" ] && [ "$bad" = 0 ] ||
	{ grep -i "rtpengine\|icepath-test" "$KD/kamailio.log" | tail; icp_fail "Kamailio's rtpengine_delete: $ok ok, $bad failed of $N BYEs"; }
for i in $(seq 1 "$N"); do
	ctl query "$CID-$i@$PA" >/dev/null 2>&1 && icp_fail "call $i is still known after its BYE"
done
icp_log "$N BYEs through Kamailio: rtpengine_delete ok on the new active, query knows none"
ctl delete "$ICE_CALL" >"$ICP_TMP/icedel.txt" 2>&1 || { cat "$ICP_TMP/icedel.txt"; icp_fail "delete of the ICE call failed"; }
grep -qi "not found\|warning" "$ICP_TMP/icedel.txt" && { cat "$ICP_TMP/icedel.txt"; icp_fail "delete of the ICE call: not found"; }
WAIT_SECS=5 wait_for sh -c "[ \"\$(ip netns exec $NS_redis redis-cli -h $REDIS exists icepath:calls)\" = 0 ]" ||
	icp_fail "Redis still holds $(rcli hlen icepath:calls) calls after the deletes"
left=$(rcli --scan | wc -l)
[ "$left" -eq 0 ] || icp_fail "Redis holds $left keys after the deletes: $(rcli --scan | head -3)"
icp_log "Redis holds no key"
kill -0 "$KAM_PID" 2>/dev/null || icp_fail "Kamailio died"
echo PASS
