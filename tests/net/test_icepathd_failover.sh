#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# HA through Redis (issue 14): two relay hosts share the service address
# 203.0.113.2 on one segment, as keepalived/VRRP runs them; the active
# writes every call to Redis (--redis), the standby (--redis-role standby)
# binds nothing and keeps a copy. N plain-RTP calls between two phones
# carry media both ways; the active is killed with kill -9 mid-media and the
# address moved to the standby (ip addr, and the phones' neighbour entries
# set to the standby's MAC, which is what VRRP's gratuitous ARP does). The
# standby sees the address arrive (rtnetlink), takes the calls over: media
# resumes for every call within 2 s (loss printed per direction), NG deletes
# work on it, and Redis holds nothing afterwards.
# Redis wants a password (requirepass): a pass file others may read is
# refused at start, a wrong password is reported (log, icepath_redis_up 0)
# and writes nothing, the right one (--redis-pass-file) is used throughout.
# Each relay serves two addresses, 203.0.113.2 and 2001:db8:113::2; the
# IPv6 one moves first and alone: the standby takes over on it (any
# --interface address, not only the first), then the IPv4 one follows.
# The standby follows the calls by keyspace notifications (it turns them on
# with CONFIG SET): a call set up and deleted on the active appears in and
# leaves its copy at once, not at the next poll (the delay is printed).
# FAILOVER_NOTIFY=off (test_icepathd_failover_poll.sh): CONFIG is renamed
# away, so the standby says notifications are off and polls every second;
# the same failover must work.
#
#   phone A 203.0.113.21 --+                 +-- relay A 203.0.113.11 (+ .2 first)
#   phone B 203.0.113.22 --+-- sw (bridge) --+-- relay B 203.0.113.12 (+ .2 after)
#   redis   203.0.113.5  --+
set -u
. "$(dirname "$0")/lib.sh"
icp_require_root
BUILD=${1:?usage: test_icepathd_failover.sh BUILD_DIR}
D="$BUILD/bin/icepathd"
GEN="$BUILD/bin/icepath-udpgen"
NGSDP="$BUILD/bin/icepath-ngsdp"
CTL="$BUILD/bin/icepathctl"
for b in "$D" "$GEN" "$NGSDP" "$CTL"; do [ -x "$b" ] || icp_fail "$b missing: run 'make' first"; done
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	icp_fail "redis-server/redis-cli missing (Debian package redis-server; make deps)"
N=${FAILOVER_CALLS:-10} # calls
RATE=100                # packets/s each way per call
SECS=8                  # of media; the kill comes after 3
PKTS=$((RATE * SECS))
VIP=203.0.113.2
VIP6=2001:db8:113::2
REDIS=203.0.113.5
RPASS="pw-$RANDOM-$ICP_RUN"

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

ns_new sw; ns_new ra; ns_new rb; ns_new pa; ns_new pb; ns_new redis
ip -n "$NS_sw" link add br0 type bridge && ip -n "$NS_sw" link set br0 up ||
	icp_fail "cannot create a bridge"
ns_link "$NS_ra" eth0 203.0.113.11/24 "$NS_sw" p-ra -
ns_link "$NS_rb" eth0 203.0.113.12/24 "$NS_sw" p-rb -
ns_link "$NS_pa" eth0 203.0.113.21/24 "$NS_sw" p-pa -
ns_link "$NS_pb" eth0 203.0.113.22/24 "$NS_sw" p-pb -
ns_link "$NS_redis" eth0 $REDIS/24 "$NS_sw" p-redis -
for p in p-ra p-rb p-pa p-pb p-redis; do ip -n "$NS_sw" link set "$p" master br0; done
# the phones compute their UDP sums (see icepathd-topo.sh: XDP rewrites them)
for ns in "$NS_pa" "$NS_pb"; do nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1; done
ip -n "$NS_ra" addr add $VIP/24 dev eth0
ip -n "$NS_ra" addr add $VIP6/64 dev eth0 nodad
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || icp_fail "cannot mount bpffs on $BPFFS"

NOTIFY=${FAILOVER_NOTIFY:-on}
NO_CONFIG=()
[ "$NOTIFY" = off ] && NO_CONFIG=(--rename-command CONFIG "")
bg "$NS_redis" redis-server --bind $REDIS --port 6379 --save '' --appendonly no \
	--protected-mode no --daemonize no --logfile "$ICP_TMP/redis.log" --requirepass "$RPASS" \
	"${NO_CONFIG[@]}"
REDIS_PID=$!
rcli() { REDISCLI_AUTH="$RPASS" nsx "$NS_redis" redis-cli -h $REDIS "$@"; }
WAIT_SECS=10 wait_for sh -c "REDISCLI_AUTH='$RPASS' ip netns exec $NS_redis redis-cli -h $REDIS ping 2>/dev/null | grep -q PONG" ||
	icp_fail "redis-server did not start"
printf '%s\n' "$RPASS" >"$ICP_TMP/redis.pass"
chmod 600 "$ICP_TMP/redis.pass"
printf 'wrong-%s\n' "$RPASS" >"$ICP_TMP/wrong.pass"
chmod 600 "$ICP_TMP/wrong.pass"

# relay NAME ARGS...: icepathd in relay namespace NAME; NG on the service
# address (the standby listens there with IP_FREEBIND before it holds it),
# driven from the Redis host, which plays the SIP proxy
relay() {
	local name=$1 ns
	shift
	ns=NS_$name
	ip netns exec "${!ns}" "$D" --interface pub=$VIP --interface pub6=$VIP6 --listen-ng $VIP:2223 \
		--ng-allow $REDIS/32 --xdp ${FAILOVER_XDP:-generic} \
		--pin-path "$BPFFS/$name" --state-file "$ICP_TMP/$name.state" \
		--redis $REDIS:6379 --redis-pass-file "${PASSFILE:-$ICP_TMP/redis.pass}" \
		--foreground "$@" >>"$ICP_TMP/$name.log" 2>&1 &
	ICP_PIDS+=($!)
	eval "PID_$name=$!"
}
sdp() { printf 'v=0\r\no=phone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' "$1" "$1" "$2"; }
port_of() { sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$1"; }
ng_up() { nsx "$NS_redis" "$CTL" --server $VIP:2223 ping >/dev/null 2>&1; }

# the password file: others may not read it
chmod 644 "$ICP_TMP/redis.pass"
PASSFILE="$ICP_TMP/redis.pass" relay ra
wait "$PID_ra" && icp_fail "icepathd started with a Redis pass file of mode 0644"
grep -q "mode 0644 lets other users read the Redis password; chmod 600" "$ICP_TMP/ra.log" ||
	{ cat "$ICP_TMP/ra.log"; icp_fail "a readable pass file was not refused with what to do"; }
chmod 600 "$ICP_TMP/redis.pass"
: >"$ICP_TMP/ra.log"
# a wrong password: said (without the password), Redis down in the
# metrics, calls still answered (the state file is the store of record),
# nothing written to Redis
PASSFILE="$ICP_TMP/wrong.pass" relay ra --metrics 127.0.0.1:9464
WAIT_SECS=10 wait_for ng_up || { cat "$ICP_TMP/ra.log"; icp_fail "the active did not start"; }
sdp 203.0.113.21 7000 >"$ICP_TMP/w.sdp"
nsx "$NS_redis" "$NGSDP" offer --server $VIP:2223 --call-id "wrong-$ICP_RUN" --from-tag tw \
	--sdp-in "$ICP_TMP/w.sdp" --sdp-out "$ICP_TMP/w-out.sdp" >/dev/null ||
	icp_fail "with a wrong Redis password the offer was not answered"
grep -q "AUTH refused: WRONGPASS" "$ICP_TMP/ra.log" ||
	{ cat "$ICP_TMP/ra.log"; icp_fail "a wrong Redis password was not reported"; }
grep -qF -- "$RPASS" "$ICP_TMP/ra.log" && icp_fail "the Redis password is in the log"
redis_down() { ip netns exec "$NS_ra" curl -s http://127.0.0.1:9464/metrics | grep -qx "icepath_redis_up 0"; }
WAIT_SECS=5 wait_for redis_down ||
	icp_fail "icepath_redis_up does not say Redis is down: $(nsx "$NS_ra" curl -s http://127.0.0.1:9464/metrics | grep redis)"
[ "$(rcli dbsize)" = 0 ] || icp_fail "with a wrong password Redis holds $(rcli dbsize) keys"
kill "$PID_ra"
wait "$PID_ra"
rm -f "$ICP_TMP/ra.state"
icp_log "Redis AUTH: a 0644 pass file refused, a wrong password reported, nothing written"

relay ra
WAIT_SECS=10 wait_for ng_up || { cat "$ICP_TMP/ra.log"; icp_fail "the active did not start"; }
relay rb --redis-role standby
WAIT_SECS=10 wait_for grep -q "binding nothing until the service address" "$ICP_TMP/rb.log" ||
	{ cat "$ICP_TMP/rb.log"; icp_fail "the standby did not start as a standby"; }
nsx "$NS_rb" ss -lnuH | grep -v ":2223 " | grep -q . &&
	icp_fail "the standby bound media sockets: $(nsx "$NS_rb" ss -lnuH)"

# the standby's copy follows: by keyspace notifications, or by polling
if [ "$NOTIFY" = off ]; then
	grep -q "refused CONFIG SET.*set notify-keyspace-events Kgh in redis.conf; the standby polls the calls every 1000 ms instead\|CONFIG GET notify-keyspace-events was refused.*the standby polls the calls every 1000 ms instead" "$ICP_TMP/rb.log" ||
		{ cat "$ICP_TMP/rb.log"; icp_fail "the standby did not say it polls because notifications are off"; }
	HOW=poll
else
	grep -q "subscribed to __keyspace@0__:icepath:calls" "$ICP_TMP/rb.log" ||
		{ cat "$ICP_TMP/rb.log"; icp_fail "the standby did not subscribe to keyspace notifications"; }
	rcli config get notify-keyspace-events | grep -q K || icp_fail "notify-keyspace-events not turned on"
	HOW="keyspace notification"
fi
ms_of() { echo "$1" | awk -F: '{ printf "%d", ($1 * 3600 + $2 * 60 + $3) * 1000 }'; }
# one call set up, then deleted, on the active: in and out of the copy
sdp 203.0.113.21 6990 >"$ICP_TMP/k.sdp"
sdp 203.0.113.22 6992 >"$ICP_TMP/kb.sdp"
T_ACK=$(date +%T.%N | cut -c1-12)
nsx "$NS_redis" "$NGSDP" offer --server $VIP:2223 --call-id "ks-$ICP_RUN" --from-tag tk \
	--sdp-in "$ICP_TMP/k.sdp" --sdp-out "$ICP_TMP/k-out.sdp" >/dev/null || icp_fail "offer ks"
nsx "$NS_redis" "$NGSDP" answer --server $VIP:2223 --call-id "ks-$ICP_RUN" --from-tag tk --to-tag tk2 \
	--sdp-in "$ICP_TMP/kb.sdp" --sdp-out "$ICP_TMP/kb-out.sdp" >/dev/null || icp_fail "answer ks"
WAIT_SECS=5 wait_for grep -q "standby: 1 calls of the active in .* ($HOW)" "$ICP_TMP/rb.log" ||
	{ tail "$ICP_TMP/rb.log"; icp_fail "the standby's copy did not get the call by $HOW"; }
T_SEEN=$(grep "standby: 1 calls of the active" "$ICP_TMP/rb.log" | tail -1 | cut -c1-12)
icp_log "a call whose offer was sent at $T_ACK is in the standby's copy at $T_SEEN ($HOW): $(($(ms_of "$T_SEEN") - $(ms_of "$T_ACK"))) ms"
T_ACK=$(date +%T.%N | cut -c1-12)
nsx "$NS_redis" "$CTL" --server $VIP:2223 delete "ks-$ICP_RUN" >/dev/null || icp_fail "delete ks"
WAIT_SECS=5 wait_for grep -q "standby: 0 calls of the active in .* ($HOW)" "$ICP_TMP/rb.log" ||
	{ tail "$ICP_TMP/rb.log"; icp_fail "the standby's copy did not lose the deleted call by $HOW"; }
T_SEEN=$(grep "standby: 0 calls of the active" "$ICP_TMP/rb.log" | tail -1 | cut -c1-12)
icp_log "a delete sent at $T_ACK leaves the standby's copy at $T_SEEN ($HOW): $(($(ms_of "$T_SEEN") - $(ms_of "$T_ACK"))) ms"

for i in $(seq 1 "$N"); do
	sdp 203.0.113.21 $((7000 + 2 * i)) >"$ICP_TMP/a$i.sdp"
	sdp 203.0.113.22 $((8000 + 2 * i)) >"$ICP_TMP/b$i.sdp"
	nsx "$NS_redis" "$NGSDP" offer --server $VIP:2223 --call-id "ha$i-$ICP_RUN" --from-tag ta$i \
		--sdp-in "$ICP_TMP/a$i.sdp" --sdp-out "$ICP_TMP/a$i-out.sdp" >/dev/null || icp_fail "offer $i"
	nsx "$NS_redis" "$NGSDP" answer --server $VIP:2223 --call-id "ha$i-$ICP_RUN" --from-tag ta$i --to-tag tb$i \
		--sdp-in "$ICP_TMP/b$i.sdp" --sdp-out "$ICP_TMP/b$i-out.sdp" >/dev/null || icp_fail "answer $i"
	# the durability rule: the answer's reply left after Redis had the call
	[ "$(rcli hexists icepath:calls "ha$i-$ICP_RUN")" = 1 ] ||
		icp_fail "call $i: answered before Redis held it"
done
[ "$(rcli hlen icepath:calls)" = "$N" ] || icp_fail "Redis holds $(rcli hlen icepath:calls) calls, not $N"
# a commit writes what it changed, not every call: one whole write (DEL)
# after the connect, then at most one HSET per changed call per turn
dels=$(rcli info commandstats | sed -n 's/^cmdstat_del:calls=\([0-9]*\),.*/\1/p')
hsets=$(rcli info commandstats | sed -n 's/^cmdstat_hset:calls=\([0-9]*\),.*/\1/p')
[ "${dels:-0}" -le 1 ] || icp_fail "Redis got $dels whole rewrites (DEL) for $N calls set up"
[ "${hsets:-0}" -le $((4 * N)) ] ||
	icp_fail "Redis got $hsets HSETs for $N calls (offer + answer each): whole rewrites per commit"
icp_log "Redis writes for $N calls: ${dels:-0} whole, ${hsets:-0} HSETs"
WAIT_SECS=5 wait_for grep -q "standby: $N calls of the active" "$ICP_TMP/rb.log" ||
	icp_fail "the standby's copy does not hold the $N calls"
icp_log "$N calls on the active, in Redis, and in the standby's copy"

# media: A -> relay port facing A -> B, and back, each phone on one port

SENDERS=()
for i in $(seq 1 "$N"); do
	nsx "$NS_pa" "$GEN" send --from 203.0.113.21:$((7000 + 2 * i)) \
		--to $VIP:"$(port_of "$ICP_TMP/b$i-out.sdp")" --count $PKTS --rate $RATE >/dev/null &
	SENDERS+=($!)
	nsx "$NS_pb" "$GEN" send --from 203.0.113.22:$((8000 + 2 * i)) \
		--to $VIP:"$(port_of "$ICP_TMP/a$i-out.sdp")" --count $PKTS --rate $RATE >/dev/null &
	SENDERS+=($!)
done
ICP_PIDS+=("${SENDERS[@]}")
# each receiver binds its phone's port after the sender (SO_REUSEADDR: the
# socket bound last gets the datagrams), so the first ~0.2 s count as lost
sleep 0.2
RECEIVERS=()
for i in $(seq 1 "$N"); do
	nsx "$NS_pb" "$GEN" recv --on 203.0.113.22:$((8000 + 2 * i)) --count $PKTS --timeout 6 \
		>"$ICP_TMP/rb$i.json" 2>/dev/null &
	RECEIVERS+=($!)
	nsx "$NS_pa" "$GEN" recv --on 203.0.113.21:$((7000 + 2 * i)) --count $PKTS --timeout 6 \
		>"$ICP_TMP/ra$i.json" 2>/dev/null &
	RECEIVERS+=($!)
done
ICP_PIDS+=("${RECEIVERS[@]}")
sleep 3

# FAILOVER_CONTROL=1: the same media with no failover, to tell the
# receivers' start-up loss from the failover's
if [ "${FAILOVER_CONTROL:-0}" != 1 ]; then
	icp_log "kill -9 of the active, the service address moves to the standby"
	kill -9 "$PID_ra"
	wait "$PID_ra" 2>/dev/null
	ip -n "$NS_ra" addr del $VIP/24 dev eth0
	ip -n "$NS_ra" addr del $VIP6/64 dev eth0
	# the IPv6 address (the second --interface) first and alone: the
	# standby must take over on it, before the IPv4 one arrives
	ip -n "$NS_rb" addr add $VIP6/64 dev eth0 nodad
	T0=$(date +%s.%N)
	icp_log "$VIP6 added on the standby at $(date +%T.%N | cut -c1-12)"
	WAIT_SECS=5 wait_for grep -q "standby: took over" "$ICP_TMP/rb.log" ||
		{ tail -20 "$ICP_TMP/rb.log"; icp_fail "the standby did not take over when $VIP6 (--interface pub6) arrived"; }
	T1=$(date +%s.%N)
	grep -q "service address $VIP6 (--interface pub6) is on this host" "$ICP_TMP/rb.log" ||
		icp_fail "the take-over does not name $VIP6: $(grep 'taking over' "$ICP_TMP/rb.log")"
	ip -n "$NS_rb" addr add $VIP/24 dev eth0
	# VRRP's gratuitous ARP: the neighbours learn the new owner's MAC
	MAC_B=$(ip -n "$NS_rb" -j link show dev eth0 | jq -r '.[0].address')
	for ns in "$NS_pa" "$NS_pb" "$NS_redis"; do ip -n "$ns" neigh replace $VIP lladdr "$MAC_B" dev eth0; done
	grep "standby: took over\|taking over" "$ICP_TMP/rb.log"
	# the fast path attaches to the interfaces holding the service
	# addresses: once the last one is here, and takes the calls' flows
	if [ "${FAILOVER_XDP:-generic}" != off ]; then
		WAIT_SECS=5 wait_for grep -q "every service address is here: the fast path takes" "$ICP_TMP/rb.log" ||
			{ tail -20 "$ICP_TMP/rb.log"; icp_fail "the fast path did not attach once $VIP arrived"; }
		flows=$(nsx "$NS_rb" "$BUILD/bin/icepath-fpctl" --quiet --pin "$BPFFS/rb" flow count)
		[ "${flows:-0}" -ge "$N" ] || icp_fail "the new active's fast path holds $flows flows for $N calls"
		icp_log "the new active's fast path: $flows flows for $N calls"
	fi
	icp_log "take-over $(echo "($T1 - $T0) * 1000" | bc | cut -d. -f1) ms after $VIP6 moved, then $VIP"
	grep -q "standby: took over $N of $N calls" "$ICP_TMP/rb.log" || icp_fail "the standby did not take every call"

fi
for p in "${SENDERS[@]}"; do wait "$p"; done
for p in "${RECEIVERS[@]}"; do wait "$p"; done
worst=0 total=0
for i in $(seq 1 "$N"); do
	for d in ra rb; do
		u=$(jq -r .unique "$ICP_TMP/$d$i.json")
		lost=$((PKTS - u))
		total=$((total + lost))
		[ "$lost" -gt "$worst" ] && worst=$lost
		# loss in ms at RATE packets/s: the media gap of that direction
		[ $((lost * 1000 / RATE)) -lt 2000 ] ||
			icp_fail "call $i toward ${d#r}: $lost of $PKTS lost ($((lost * 1000 / RATE)) ms): media did not resume within 2 s"
	done
done
[ "${FAILOVER_CONTROL:-0}" = 1 ] && { icp_log "control (no failover): $total packets lost of $((2 * N * PKTS)), worst direction $worst"; echo PASS; exit 0; }
icp_log "failover loss: $total packets of $((2 * N * PKTS)) over $N calls both ways; worst direction $worst packets ($((worst * 1000 / RATE)) ms at $RATE/s)"

ctl_b() { nsx "$NS_redis" "$CTL" --server $VIP:2223 "$@"; }
ctl_b query "ha1-$ICP_RUN" >/dev/null || icp_fail "the new active does not know call 1"
for i in $(seq 1 "$N"); do
	ctl_b delete "ha$i-$ICP_RUN" >"$ICP_TMP/del$i.txt" 2>&1 || { cat "$ICP_TMP/del$i.txt"; icp_fail "delete of call $i failed on the standby"; }
	grep -qi "not found\|warning" "$ICP_TMP/del$i.txt" && { cat "$ICP_TMP/del$i.txt"; icp_fail "delete of call $i: not found"; }
	[ "$(rcli hexists icepath:calls "ha$i-$ICP_RUN")" = 0 ] ||
		icp_fail "call $i: the delete was answered before Redis forgot the call"
done
WAIT_SECS=5 wait_for sh -c "[ \"\$(REDISCLI_AUTH='$RPASS' ip netns exec $NS_redis redis-cli -h $REDIS exists icepath:calls)\" = 0 ]" ||
	icp_fail "Redis still holds $(rcli hlen icepath:calls) calls after the deletes"
left=$(rcli --scan | wc -l)
[ "$left" -eq 0 ] || icp_fail "Redis holds $left keys after the deletes: $(rcli --scan | head -3)"
icp_log "deletes on the new active: $N found; Redis holds no key"

# Redis gone: calls are still answered (and said not to be replicated)
kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
nsx "$NS_redis" "$NGSDP" offer --server $VIP:2223 --call-id "late-$ICP_RUN" --from-tag tl \
	--sdp-in "$ICP_TMP/a1.sdp" --sdp-out "$ICP_TMP/late.sdp" >/dev/null ||
	icp_fail "with Redis gone the offer was not answered"
grep -q "calls are not replicated until it answers again" "$ICP_TMP/rb.log" ||
	icp_fail "with Redis gone the relay did not say the calls are not replicated"
icp_log "Redis gone: the offer is answered, the log says calls are not replicated"
echo PASS
