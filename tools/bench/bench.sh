#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the fast path measured at its own limit, side by side in one
# run with its own reference and the userspace relays:
#
#   gen        the in-kernel generator alone: its frames dropped (XDP_DROP)
#              at the relay's ingress, what it can offer at most
#   bare       the bench's own XDP rewrite + devmap redirect (bpf/bench_bare):
#              the local limit of an XDP relay in this topology
#   xdp        icepathd --xdp native, calls set up over NG
#   xdplib     icepath's XDP program with the flows installed by its own
#              library (icepath-bench fp), no daemon and no calls: the flow
#              counts beyond BENCH_XDP_MAX_CALLS (100k), where NG calls
#              cannot go here
#   userspace  icepathd --xdp off
#   rtpengine  rtpengine --table=-1 (userspace; no kernel module)
#   srtp       SDES-SRTP -> relay -> plain RTP (issue 12): BENCH_SRTP_CALLS
#              calls offered RTP/SAVP with a=crypto and transport-protocol=
#              RTP/AVP toward the sink (the same NG flags for both relays),
#              through icepathd --xdp off --media-threads 1, then N (one
#              per CPU), then rtpengine --table=-1; the socket sender sends
#              packets it protected before the clock started (icepath-bench
#              send --srtp), the sink counts plain RTP. pps at the sink,
#              loss, the relay's CPU time (cores busy, and per thread) and
#              pps per core.
#   srtp-paced the same relays and calls at one offered rate
#              (BENCH_SRTP_PACED_PPS over BENCH_SRTP_CALLS calls, a rate
#              rtpengine forwards without loss here), both directions:
#              SRTP -> RTP as above and RTP -> SRTP (plain offer,
#              transport-protocol=RTP/SAVP: the relay offers a=crypto to the
#              sink and protects). The sink is icepath-bench recv: every
#              packet's SSRC, sequence and size checked, and for RTP -> SRTP
#              authenticated and decrypted with the key the relay offered
#              (--srtp-keys). The relays differ in CPU, not in throughput:
#              pps per core (sink packets per relay CPU second, all
#              threads) and the ratio icepathd / rtpengine of it per round.
#
# Topology (three namespaces, veth pairs with two queues each, RFC 5737
# addresses; nothing leaves them):
#
#   gen  g0 192.0.2.10 ---- r0 192.0.2.1  relay  r1 198.51.100.1 ---- k0 198.51.100.10  sink
#
# XDP rows: `icepath-bench xdp` attaches the sink (count, XDP_DROP) on k0,
# the relay program on r0 (or finds icepathd's), and runs the generator
# (BPF_PROG_RUN, BPF_F_TEST_XDP_LIVE_FRAMES) on g0: 242-byte RTP frames
# round-robin over the flows, one thread per CPU and RX queue, for
# BENCH_SECONDS with BPF statistics off (pps at the sink), then
# BENCH_STATS_SECONDS with them on (ns/packet of each program on live
# traffic; the kernel turns them off when the tool's fd closes).
# Userspace rows: the same sink on k0 counts, the socket sender
# (`icepath-bench send`, sendmmsg, as fast as it can) feeds the relay.
#
# Flow counts: BENCH_FLOWS for the bare relay (flows without calls), as many
# of them as BENCH_XDP_MAX_CALLS allows for icepathd --xdp native (one call
# per flow: 4 relay ports each) and BENCH_US_MAX_CALLS for the userspace
# relays; the counts above are reported as not measured, with the reason.
# BENCH_REPS rounds, every row once per round (a burst of someone else's
# work hits all rows alike); report.py takes medians, and each ratio to bare
# is taken per round, between runs seconds apart.
#
# Knobs (environment): BENCH_SECONDS (3), BENCH_STATS_SECONDS (1),
# BENCH_REPS (3), BENCH_FLOWS ("1 1000 4000 100000"), BENCH_XDP_MAX_CALLS
# (4000: icepathd's 4 sockets per call within a 20000 open-file limit), BENCH_US_MAX_CALLS (1000), BENCH_MQ_FLOWS (1000: the two-queue
# rows, 0: none), BENCH_LIB_FLOWS (the library row's flow counts; default:
# those of BENCH_FLOWS beyond BENCH_XDP_MAX_CALLS), BENCH_ROWS ("gen bare xdp xdplib userspace rtpengine srtp srtp-paced"),
# BENCH_SRTP_CALLS (4), BENCH_SRTP_PPS_MAX (200000: what the flat-out SRTP
# sender protects packets for), BENCH_SRTP_PACED_PPS (30000: the paced rows),
# BENCH_FRAMES (0; N: exactly N generator frames per phase instead of
# BENCH_SECONDS, for the test), BENCH_GEN_RATE (0: flat out), BENCH_RATE
# (socket sender, 0: flat out), BENCH_VERIFY (0; 1: the sink checks every
# checksum), BENCH_PAIRED (1: a bare run right before and after each icepath
# XDP run, for its ratio; 0: the round's bare rows only), BENCH_OUT
# (BUILD/bench). With the defaults: about 5 minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/net/lib.sh"
build=$(cd "${1:?usage: bench.sh BUILD_DIR}" && pwd)
BENCH=$build/bin/icepath-bench
ICEPATHD=$build/bin/icepathd
FPCTL=$build/bin/icepath-fpctl

BENCH_SECONDS=${BENCH_SECONDS:-3}
BENCH_STATS_SECONDS=${BENCH_STATS_SECONDS:-1}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_FLOWS=${BENCH_FLOWS:-1 1000 4000 100000}
BENCH_XDP_MAX_CALLS=${BENCH_XDP_MAX_CALLS:-4000}
BENCH_US_MAX_CALLS=${BENCH_US_MAX_CALLS:-1000}
BENCH_MQ_FLOWS=${BENCH_MQ_FLOWS:-1000}
# the library row's flow counts: by default those NG calls cannot reach
BENCH_LIB_FLOWS=${BENCH_LIB_FLOWS:-$(for n in $BENCH_FLOWS; do [ "$n" -gt "$BENCH_XDP_MAX_CALLS" ] && echo "$n"; done)}
BENCH_ROWS=${BENCH_ROWS:-gen bare xdp xdplib userspace rtpengine srtp srtp-paced}
BENCH_SRTP_CALLS=${BENCH_SRTP_CALLS:-4}
# the srtp-paced rows' offered rate (packets a second over all calls): one
# rtpengine forwards without loss here, so the relays are compared on CPU
BENCH_SRTP_PACED_PPS=${BENCH_SRTP_PACED_PPS:-30000}
# the most pps the SRTP sender protects packets for (memory: ~210 B each)
BENCH_SRTP_PPS_MAX=${BENCH_SRTP_PPS_MAX:-200000}
BENCH_FRAMES=${BENCH_FRAMES:-0}
BENCH_GEN_RATE=${BENCH_GEN_RATE:-0}
BENCH_RATE=${BENCH_RATE:-0}
BENCH_VERIFY=${BENCH_VERIFY:-0}
BENCH_PAIRED=${BENCH_PAIRED:-1}
OUT=${BENCH_OUT:-$build/bench}
NG=127.0.0.1:2223
PORT_MIN=20000
# The relays get the ports the largest row needs (4 a call) and no more:
# icepathd raises its open-file limit to one fd per port of its range at
# start, or refuses to start, so the range must fit the hard limit too.
calls_max=$BENCH_XDP_MAX_CALLS
[ "${BENCH_US_MAX_CALLS:-0}" -gt "$calls_max" ] 2>/dev/null && calls_max=$BENCH_US_MAX_CALLS
PORT_MAX=$((PORT_MIN + 4 * calls_max + 63))
[ $PORT_MAX -le 65535 ] || PORT_MAX=65535
PIN=/sys/fs/bpf/icepath-bench-$ICP_RUN
SND_CPU=0
UDP_SIZE=200 # UDP payload of a 242-byte frame (12 RTP + 188), for the socket sender

icp_require_root
[ -x "$BENCH" ] || icp_fail "build first: $BENCH missing (make all)"
for v in BENCH_SECONDS BENCH_REPS BENCH_XDP_MAX_CALLS BENCH_US_MAX_CALLS BENCH_SRTP_CALLS BENCH_SRTP_PACED_PPS; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || icp_fail "$v must be a positive integer, not '${!v}'"
done
for v in BENCH_STATS_SECONDS BENCH_MQ_FLOWS BENCH_FRAMES BENCH_GEN_RATE BENCH_RATE BENCH_VERIFY BENCH_PAIRED; do
	[[ ${!v} =~ ^[0-9]+$ ]] || icp_fail "$v must be a whole number, not '${!v}'"
done
for n in $BENCH_FLOWS $BENCH_LIB_FLOWS; do
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] && [ "$n" -le 1000000 ] ||
		icp_fail "BENCH_FLOWS/BENCH_LIB_FLOWS hold '$n': flow counts are 1..1000000"
done
[ "$BENCH_SECONDS" -le 60 ] || icp_fail "BENCH_SECONDS is per run; keep it <= 60"
# 4 media ports per call on the relay (RTP+RTCP on each leg)
max_calls=$(((PORT_MAX - PORT_MIN + 1) / 4))
[ "$BENCH_XDP_MAX_CALLS" -le $max_calls ] && [ "$BENCH_US_MAX_CALLS" -le $max_calls ] ||
	icp_fail "BENCH_XDP_MAX_CALLS/BENCH_US_MAX_CALLS > $max_calls, what ports $PORT_MIN-$PORT_MAX hold"
for r in $BENCH_ROWS; do
	case $r in gen|bare|xdp|xdplib|userspace|rtpengine|srtp|srtp-paced) ;; *) icp_fail "unknown row '$r' in BENCH_ROWS" ;; esac
done
command -v python3 >/dev/null || icp_fail "python3 missing (make deps)"
command -v ethtool >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v ethtool >/dev/null || icp_fail "ethtool missing (make deps)"
# icepathd holds 4 sockets per call (RTP and RTCP on each leg): the hard
# open-file limit bounds the calls (20000 on this VM: about 4900 calls)
ulimit -n "$(ulimit -Hn)" 2>/dev/null
need_fds=$((PORT_MAX - PORT_MIN + 1 + 200))
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $need_fds ] ||
	icp_fail "BENCH_XDP_MAX_CALLS=$BENCH_XDP_MAX_CALLS needs $need_fds open files, the hard limit is $(ulimit -Hn): lower BENCH_XDP_MAX_CALLS or raise the limit (ulimit -Hn, as root with CAP_SYS_RESOURCE)"
mkdir -p "$OUT"
RUNS=$OUT/runs.jsonl
: >"$RUNS"
LOGDIR=$OUT/logs
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"

RELAY_PID=
SINK_PID=
bench_cleanup() {
	# icepathd leaves its pins on exit (by design, for restarts): remove them.
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	rm -rf "$PIN"
}
trap 'rc=$?; bench_cleanup; (exit $rc); icp_cleanup' EXIT

# ---- topology -----------------------------------------------------------------
ns_new gen
ns_new relay
ns_new sink
# No IPv6 (router and neighbour solicitations) and static neighbours (no
# ARP): the sink must count exactly the relayed frames.
for ns in "$NS_gen" "$NS_relay" "$NS_sink"; do
	nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
# Two queues on every veth: a generator thread per CPU lands on its own RX
# queue of r0 (veth picks the queue by the sending CPU).
veth2() { # NS1 IF1 NS2 IF2
	ip -n "$1" link add "$2" numtxqueues 2 numrxqueues 2 type veth \
		peer name "$4" numtxqueues 2 numrxqueues 2 netns "$3" ||
		icp_fail "cannot create veth $1/$2 <-> $3/$4 with two queues"
}
veth2 "$NS_gen" g0 "$NS_relay" r0
veth2 "$NS_relay" r1 "$NS_sink" k0
# The generator's anchor: a spare veth it is attached to while it runs (see
# `icepath-bench xdp --help`); never up, it carries nothing.
ip -n "$NS_gen" link add gx0 type veth peer name gx1 || icp_fail "cannot create the anchor veth"
ip -n "$NS_gen" addr add 192.0.2.10/24 dev g0
ip -n "$NS_relay" addr add 192.0.2.1/24 dev r0
# the relay's further addresses: flows beyond 12,500 (LIB_PORTS) go to the
# next one, as a relay with 100k streams has several addresses
for a in 2 3 4 5 6 7 8 9; do ip -n "$NS_relay" addr add 192.0.2.$a/24 dev r0; done
ip -n "$NS_relay" addr add 198.51.100.1/24 dev r1
ip -n "$NS_sink" addr add 198.51.100.10/24 dev k0
for l in "$NS_gen g0" "$NS_relay r0" "$NS_relay r1" "$NS_sink k0"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ns_route "$NS_gen" default via 192.0.2.1
ns_route "$NS_sink" default via 198.51.100.1
# No forwarding sysctl: icepath's program forwards on the next hop it was
# given at install, and the bare one on its own table. r0 must take native
# XDP frames, and so must r1: a veth does only while its peer has an XDP
# program or GRO. The sink's program comes and goes between runs, so GRO on
# g0 and k0, as a NIC's driver would take the frames; otherwise icepathd
# (rightly) runs r0/r1 in generic mode.
for l in "$NS_gen g0" "$NS_sink k0"; do
	set -- $l
	nsx "$1" ethtool -K "$2" gro on >/dev/null || icp_fail "cannot turn on GRO on $2"
done
# The socket sender computes sums in software (as a real wire delivers
# them): a partial checksum on a veth cannot be finished by XDP.
nsx "$NS_gen" ethtool -K g0 tx off >/dev/null || icp_fail "cannot turn off tx checksum offload on g0"
# Likewise the userspace relays' sends on r1: the sink sees the frames as a
# wire would carry them, with finished checksums it can verify.
nsx "$NS_relay" ethtool -K r1 tx off >/dev/null || icp_fail "cannot turn off tx checksum offload on r1"
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip -n "$NS_relay" neigh replace 198.51.100.10 lladdr "$(mac "$NS_sink" k0)" dev r1 nud permanent
ip -n "$NS_relay" neigh replace 192.0.2.10 lladdr "$(mac "$NS_gen" g0)" dev r0 nud permanent
ip -n "$NS_gen" neigh replace 192.0.2.1 lladdr "$(mac "$NS_relay" r0)" dev g0 nud permanent
ip -n "$NS_sink" neigh replace 198.51.100.1 lladdr "$(mac "$NS_relay" r1)" dev k0 nud permanent

# ---- measurements ----------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
stat_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# locked memory of the BPF maps a process holds open
bpf_map_kib() { # one awk over every fd: a relay holds thousands of sockets
	awk '/^map_type:/ { m[FILENAME] = 1 } /^memlock:/ { l[FILENAME] = $2 }
	     END { for (f in m) s += l[f]; print int(s / 1024) }' /proc/"$1"/fdinfo/* 2>/dev/null || echo 0
}
# Packets icepath's program forwarded (tx + redirect), from its own per-CPU
# counters: evidence that the xdp rows took the fast path.
fp_forwarded() {
	[ -d "$PIN" ] || { echo 0; return; }
	nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" stats |
		awk '$1 == "tx" || $1 == "redirect" { f += $2 } END { print f + 0 }'
}

# XDP packets per RX queue of r0, "[q0,q1]": which queues the generator fed
rxq_xdp() {
	nsx "$NS_relay" ethtool -S r0 2>/dev/null |
		awk '/rx_queue_[01]_xdp_packets:/ { q[substr($1, 10, 1)] = $2 }
		     END { printf "[%d,%d]", q[0], q[1] }'
}

# ---- relays ------------------------------------------------------------------------
relay_start() { # MODE
	local mode=$1 log=$LOGDIR/$1.log i
	case $mode in
	xdp|userspace)
		[ -x "$ICEPATHD" ] || return 2
		# A fresh daemon every time: no calls from a state file, no flows
		# from the pins of the previous one.
		fp_destroy
		rm -f "$ICP_TMP/calls.state"
		# nsenter rather than ip netns exec: the latter remounts /sys, and
		# with it bpffs, privately, so pins would not be visible outside.
		nsenter --net=/run/netns/"$NS_relay" "$ICEPATHD" --foreground \
			--interface r0=192.0.2.1 --interface r1=198.51.100.1 --listen-ng "$NG" \
			--port-min $PORT_MIN --port-max $PORT_MAX --pin-path "$PIN" \
			--state-file "$ICP_TMP/calls.state" --inactivity-timeout 600 \
			--xdp "$([ "$mode" = xdp ] && echo native || echo off)" \
			${RELAY_EXTRA:+$RELAY_EXTRA} >>"$log" 2>&1 &
		RELAY_PID=$! ;;
	rtpengine)
		command -v rtpengine >/dev/null || return 2
		# --table=-1: no kernel module, the userspace path only; the default
		# log level (6) logs nothing per packet.
		ip netns exec "$NS_relay" rtpengine --table=-1 --config-file=none --foreground \
			--log-stderr --interface=r0/192.0.2.1 --interface=r1/198.51.100.1 \
			--listen-ng="$NG" --port-min=$PORT_MIN --port-max=$PORT_MAX \
			--timeout=600 >>"$log" 2>&1 &
		RELAY_PID=$! ;;
	esac
	for i in $(seq 1 100); do
		kill -0 "$RELAY_PID" 2>/dev/null || break
		if nsx "$NS_relay" "$BENCH" ng --server "$NG" --ping >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: $mode did not answer an NG ping; its log ($log):" >&2
	tail -n 20 "$log" >&2
	return 1
}

# The fast path outlives icepathd by design (pins, attached program); the
# next row must not find it forwarding: detach and unpin, then check.
fp_destroy() {
	[ -d "$PIN" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	rm -rf "$PIN"
	if ip -n "$NS_relay" -d link show | grep -q 'prog/xdp'; then
		ip -n "$NS_relay" link set dev r0 xdp off 2>/dev/null
		ip -n "$NS_relay" link set dev r1 xdp off 2>/dev/null
		! ip -n "$NS_relay" -d link show | grep -q 'prog/xdp' ||
			icp_fail "cannot detach XDP from the relay's interfaces"
	fi
}

relay_stop() {
	[ -n "$RELAY_PID" ] || return 0
	kill "$RELAY_PID" 2>/dev/null
	local i
	for i in $(seq 1 50); do kill -0 "$RELAY_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
	fp_destroy
}

# relay_up MODE CALLS FLOWS_FILE REP: start the relay, set up CALLS calls,
# write the flows file, record memory. 0 ready, 1 failed (recorded).
relay_up() {
	local mode=$1 calls=$2 flows=$3 rep=$4 setup rss0 rss1 mapk dp
	relay_start "$mode"
	case $? in
	0) ;;
	2)	printf '{"row":"%s","calls":%s,"rep":%s,"skipped":"not available (icepathd not built / rtpengine not installed)"}\n' \
			"$mode" "$calls" "$rep" >>"$RUNS"
		return 1 ;;
	*)	printf '{"row":"%s","calls":%s,"rep":%s,"skipped":"did not start, see %s"}\n' \
			"$mode" "$calls" "$rep" "$LOGDIR/$mode.log" >>"$RUNS"
		relay_stop
		return 1 ;;
	esac
	rss0=$(rss_kib "$RELAY_PID")
	setup=$(nsx "$NS_relay" "$BENCH" ng --server "$NG" --calls "$calls" \
		--direction r0,r1 --prefix "bench-$mode-$calls-$rep-$ICP_RUN" --out "$flows" \
		2>"$LOGDIR/ng-$mode.err")
	if [ $? -ne 0 ]; then
		icp_log "$mode: call setup failed: $(cat "$LOGDIR/ng-$mode.err")"
		printf '{"row":"%s","calls":%s,"rep":%s,"skipped":"call setup failed: %s"}\n' "$mode" \
			"$calls" "$rep" "$(tr -d '"\\' <"$LOGDIR/ng-$mode.err" | head -c 300)" >>"$RUNS"
		relay_stop
		return 1
	fi
	sleep 0.5 # let the relay settle before reading memory
	rss1=$(rss_kib "$RELAY_PID")
	mapk=$(bpf_map_kib "$RELAY_PID")
	# what the daemon said about its datapath ("XDP attached to r0 in native mode")
	dp=$(grep -o 'XDP attached to [a-z0-9]* in [a-z]* mode\|fast path off[^:]*' \
		"$LOGDIR/$mode.log" 2>/dev/null | sort -u | tr '\n' ';')
	printf '{"row":"%s","calls":%s,"rep":%s,"setup":%s,"rss_before_kib":%s,"rss_after_kib":%s,"bpf_map_kib":%s,"datapath":"%s"}\n' \
		"$mode" "$calls" "$rep" "$setup" "$rss0" "$rss1" "$mapk" "$dp" >>"$RUNS"
	icp_log "$mode: $calls calls up: RSS ${rss0} -> ${rss1} KiB, BPF maps ${mapk} KiB"
}

# lib_up FLOWS REP: icepath's fast path with FLOWS flows installed through its
# library (no daemon). 0 ready, 1 failed (recorded).
lib_up() {
	local n=$1 rep=$2 out
	fp_destroy
	out=$(nsenter --net=/run/netns/"$NS_relay" "$BENCH" fp --pin "$PIN" --port-min $PORT_MIN \
		--port-max $((PORT_MIN + LIB_PORTS - 1)) --attach r0 --attach r1 \
		--flows "$ICP_TMP/flows-bare" --count "$n" 2>"$LOGDIR/fp-$n-$rep.err")
	if [ $? -ne 0 ]; then
		printf '{"row":"xdplib","calls":0,"rep":%s,"skipped":"icepath-bench fp failed: %s"}\n' \
			"$rep" "$(tr -d '"\\' <"$LOGDIR/fp-$n-$rep.err" | head -c 300)" >>"$RUNS"
		fp_destroy
		return 1
	fi
	printf '{"row":"xdplib","flows":%s,"calls":0,"rep":%s,"setup":%s}\n' "$n" "$rep" "$out" >>"$RUNS"
	icp_log "xdplib: $n flows installed through the library: $out"
}

# ---- one measured run ----------------------------------------------------------------
# xdp_run ROW FLOWS_FILE FLOWS CALLS THREADS REP: the in-kernel generator
xdp_run() {
	local row=$1 flows=$2 n=$3 calls=$4 threads=$5 rep=$6 tag=$1${PAIR:+-${PAIR/:/-}}-$3-$5-$6 relay f0 f1 q0 q1 out
	local args=(--duration "$BENCH_SECONDS" --stats-duration "$BENCH_STATS_SECONDS")
	case $row in gen) relay=drop ;; bare) relay=bare ;; *) relay=attached ;; esac
	[ "$BENCH_FRAMES" -gt 0 ] && args+=(--frames "$BENCH_FRAMES")
	[ "$BENCH_GEN_RATE" -gt 0 ] && args+=(--rate "$BENCH_GEN_RATE")
	[ "$BENCH_VERIFY" = 1 ] && args+=(--verify)
	f0=$(fp_forwarded)
	q0=$(rxq_xdp)
	out=$("$BENCH" xdp --flows "$flows" --count "$n" --gen "$NS_gen:g0" --anchor "$NS_gen:gx0" \
		--relay-in "$NS_relay:r0" --relay-out "$NS_relay:r1" --sink "$NS_sink:k0" \
		--relay "$relay" --threads "$threads" "${args[@]}" 2>"$LOGDIR/xdp-$tag.err") ||
		icp_fail "icepath-bench xdp ($tag) failed: $(cat "$LOGDIR/xdp-$tag.err")"
	f1=$(fp_forwarded)
	q1=$(rxq_xdp)
	printf '{"row":"%s","flows":%s,"calls":%s,"threads":%s,"rep":%s,"pair":"%s","sender":"xdp-gen","xdp_forwarded":%s,"rxq_before":%s,"rxq_after":%s,"run":%s}\n' \
		"$row" "$n" "$calls" "$threads" "$rep" "${PAIR:-}" $((f1 - f0)) "$q0" "$q1" "$out" >>"$RUNS"
	icp_log "  $row${PAIR:+ ($PAIR)} flows=$n threads=$threads #$rep: $(echo "$out" | python3 -c 'import json,sys; o=json.load(sys.stdin); print("gen %d pps, sink %d pps, relay %.0f ns/pkt" % (o["gen_pps"], o["sink_pps"], o["ns_relay"]))')"
}

# socket_run ROW FLOWS_FILE FLOWS CALLS REP: the socket sender, the XDP sink
socket_run() {
	local row=$1 flows=$2 n=$3 calls=$4 rep=$5 tag=$1-$3-$5 ready tx rx b0 b1 rate=()
	ready=$ICP_TMP/ready-$tag tx=$ICP_TMP/tx-$tag.json rx=$ICP_TMP/rx-$tag.json
	[ "$BENCH_RATE" -gt 0 ] && rate=(--rate "$BENCH_RATE")
	"$BENCH" xdp-sink --sink "$NS_sink:k0" --ready-file "$ready" \
		$([ "$BENCH_VERIFY" = 1 ] && echo --verify) >"$rx" 2>"$LOGDIR/sink-$tag.err" &
	SINK_PID=$!
	WAIT_SECS=10 wait_for test -e "$ready" || icp_fail "sink did not start ($LOGDIR/sink-$tag.err)"
	b0=$(stat_busy)
	ip netns exec "$NS_gen" "$BENCH" send --flows "$flows" --count "$n" \
		--duration "$BENCH_SECONDS" --size $UDP_SIZE "${rate[@]}" --cpu $SND_CPU \
		>"$tx" 2>"$LOGDIR/send-$tag.err" || icp_fail "sender failed: $(cat "$LOGDIR/send-$tag.err")"
	b1=$(stat_busy)
	sleep 0.5 # what the relay still holds in its socket buffers
	kill -TERM "$SINK_PID"
	wait "$SINK_PID" || icp_fail "sink failed: $(cat "$LOGDIR/sink-$tag.err")"
	SINK_PID=
	printf '{"row":"%s","flows":%s,"calls":%s,"threads":1,"rep":%s,"sender":"socket","machine_busy_s":%s,"send":%s,"sink":%s}\n' \
		"$row" "$n" "$calls" "$rep" "$(echo "$b0 $b1 $CLK_TCK" | awk '{ printf "%.2f", ($2 - $1) / $3 }')" \
		"$(cat "$tx")" "$(cat "$rx")" >>"$RUNS"
	icp_log "  $row flows=$n #$rep: $(python3 -c 'import json,sys; s,r=(json.load(open(f)) for f in sys.argv[1:]); print("sent %d pps, sink %d pps" % (s["pps"], r["packets"]/s["seconds"]))' "$tx" "$rx")"
}

# ---- SRTP <-> RTP rows (issue 12) ---------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks (utime + stime) of every thread of PID, summed by thread name:
# {"icepathd": 12, "icepath-m0": 140, "icepath-m1": 133}
task_ticks() {
	python3 - "$1" <<'PY'
import glob, json, sys
out = {}
for f in glob.glob(f"/proc/{sys.argv[1]}/task/*/stat"):
    try:
        s = open(f).read()
    except OSError:
        continue
    name, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
    out[name] = out.get(name, 0) + int(rest[11]) + int(rest[12])
print(json.dumps(out))
PY
}
ticks_s() { echo "$1 $2 $CLK_TCK" | awk '{ printf "%.2f", ($2 - $1) / $3 }'; }

# srtp_calls ROW DIR REP: BENCH_SRTP_CALLS SDES calls on the relay started
# last, the same NG requests for icepathd and rtpengine. The caller (the
# sender, 192.0.2.10) offers, the sink (198.51.100.10) answers:
#   srtp2rtp  the caller offers RTP/SAVP with a=crypto (SRTP_CRYPTO), NG
#             transport-protocol=RTP/AVP: the relay unprotects, the sink
#             gets plain RTP
#   rtp2srtp  the caller offers plain RTP/AVP, transport-protocol=RTP/SAVP:
#             the relay offers its a=crypto to the sink (written, one per
#             call, to $ICP_TMP/keys-ROW-REP for the receiver), the sink
#             answers RTP/SAVP with a key of its own; the relay protects
# Writes the flows file $ICP_TMP/flows-ROW-REP. 0 ready, 1 failed (recorded).
SRTP_CRYPTO=
srtp_calls() {
	local row=$1 dir=$2 rep=$3 tag=$1-$3 flows=$ICP_TMP/flows-$1-$3 keys=$ICP_TMP/keys-$1-$3
	local k sdp port addr line proto transport crypto_in
	case $dir in
	srtp2rtp) proto=RTP/SAVP transport=RTP/AVP crypto_in="a=crypto:$SRTP_CRYPTO\r\n" ;;
	rtp2srtp) proto=RTP/AVP transport=RTP/SAVP crypto_in= ;;
	esac
	: >"$flows"
	: >"$keys"
	for k in $(seq 0 $((BENCH_SRTP_CALLS - 1))); do
		sdp=$ICP_TMP/srtp-$tag-$k
		printf "v=0\r\no=caller 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio %d $proto 0\r\na=rtpmap:0 PCMU/8000\r\n${crypto_in}a=sendrecv\r\n" \
			$((30000 + 2 * k)) >"$sdp.offer"
		nsx "$NS_relay" "$build/bin/icepath-ngsdp" offer --server "$NG" --call-id "srtp-$tag-$k-$ICP_RUN" \
			--from-tag caller --direction r0,r1 --transport $transport --sdp-in "$sdp.offer" \
			--sdp-out "$sdp.offer-out" 2>>"$LOGDIR/ng-$tag.err" || { srtp_setup_failed "$row" "$dir" "$rep" "$tag"; return 1; }
		line=
		if [ "$dir" = rtp2srtp ]; then
			# the relay's key toward the sink, for the suite the sink answers
			line=$(tr -d '\r' <"$sdp.offer-out" | sed -n 's/^a=crypto:\([0-9]* AES_CM_128_HMAC_SHA1_80 .*\)/\1/p' | head -1)
			[ -n "$line" ] || { echo "no AES_CM_128_HMAC_SHA1_80 a=crypto in the relay's offer: $(tr -d '\r' <"$sdp.offer-out" | tr '\n' '|')" >>"$LOGDIR/ng-$tag.err"
				srtp_setup_failed "$row" "$dir" "$rep" "$tag"; return 1; }
			echo "$line" >>"$keys"
			line="a=crypto:${line%% *} AES_CM_128_HMAC_SHA1_80 inline:$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(30)).decode())')\r\n"
		fi
		printf "v=0\r\no=sink 1 1 IN IP4 198.51.100.10\r\ns=-\r\nc=IN IP4 198.51.100.10\r\nt=0 0\r\nm=audio %d $([ "$dir" = rtp2srtp ] && echo RTP/SAVP || echo RTP/AVP) 0\r\na=rtpmap:0 PCMU/8000\r\n${line}a=sendrecv\r\n" \
			$((40000 + 2 * k)) >"$sdp.answer"
		nsx "$NS_relay" "$build/bin/icepath-ngsdp" answer --server "$NG" --call-id "srtp-$tag-$k-$ICP_RUN" \
			--from-tag caller --to-tag sink --sdp-in "$sdp.answer" --sdp-out "$sdp.answer-out" \
			2>>"$LOGDIR/ng-$tag.err" || { srtp_setup_failed "$row" "$dir" "$rep" "$tag"; return 1; }
		port=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$sdp.answer-out")
		addr=$(sed -n 's/^c=IN IP4 \([0-9.]*\).*/\1/p' "$sdp.answer-out" | head -1)
		# the relay terminates SRTP: a=crypto on the SRTP side only
		if [ "$dir" = srtp2rtp ]; then
			grep -q '^a=crypto' "$sdp.answer-out" && ! grep -q '^a=crypto' "$sdp.offer-out"
		else
			! grep -q '^a=crypto' "$sdp.answer-out" && grep -q '^a=crypto' "$sdp.offer-out"
		fi || icp_log "  $row: call $k: the relay did not terminate SRTP (offer $(tr -d '\r' <"$sdp.offer-out" | tr '\n' '|') answer $(tr -d '\r' <"$sdp.answer-out" | tr '\n' '|'))"
		printf '%08x 192.0.2.10:%d %s:%s 198.51.100.10:%d -\n' $((0x5e000000 + k)) $((30000 + 2 * k)) \
			"$addr" "$port" $((40000 + 2 * k)) >>"$flows"
	done
}
srtp_setup_failed() { # ROW DIR REP TAG
	printf '{"row":"%s","dir":"%s","calls":%s,"rep":%s,"skipped":"call setup failed: %s"}\n' "$1" "$2" \
		"$BENCH_SRTP_CALLS" "$3" "$(tr -d '"\\' <"$LOGDIR/ng-$4.err" | tr '\n' ' ' | head -c 300)" >>"$RUNS"
	relay_stop
}

# srtp_run ROW MODE DIR REP [PPS]: one SRTP <-> RTP run. Without PPS (the
# flat-out rows, srtp2rtp only): the sender as fast as it can, the XDP sink
# counts on k0. With PPS (the paced rows): PPS packets a second in all, and
# the sink is a userspace receiver (icepath-bench recv) that checks every
# packet: RTP of the flow's SSRC, sequence accounting, the bytes; for
# rtp2srtp it authenticates and decrypts each packet with the relay's key
# (libsrtp2). The relay's CPU: the process (all threads) and per thread name.
srtp_run() {
	local row=$1 mode=$2 dir=$3 rep=$4 pps=${5:-0} tag=$1-$4 flows=$ICP_TMP/flows-$1-$4 ready tx rx
	local c0 c1 t0 t1 b0 b1 w0 w1 snd=() sink
	relay_start "$mode" ||
		{ printf '{"row":"%s","dir":"%s","calls":%s,"rep":%s,"skipped":"relay did not start (see %s)"}\n' \
			"$row" "$dir" "$BENCH_SRTP_CALLS" "$rep" "$LOGDIR/$mode.log" >>"$RUNS"; relay_stop; return 1; }
	SRTP_CRYPTO="1 AES_CM_128_HMAC_SHA1_80 inline:$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(30)).decode())')"
	srtp_calls "$row" "$dir" "$rep" || return 1
	ready=$ICP_TMP/ready-$tag tx=$ICP_TMP/tx-$tag.json rx=$ICP_TMP/rx-$tag.json
	rm -f "$ready"
	if [ "$pps" -gt 0 ]; then
		sink=recv
		ip netns exec "$NS_sink" "$BENCH" recv --flows "$flows" --ready-file "$ready" --idle-ms 300 \
			--duration $((BENCH_SECONDS + 30)) \
			$([ "$dir" = rtp2srtp ] && echo "--srtp-keys $ICP_TMP/keys-$tag") \
			>"$rx" 2>"$LOGDIR/sink-$tag.err" &
	else
		sink=xdp-sink
		"$BENCH" xdp-sink --sink "$NS_sink:k0" --ready-file "$ready" >"$rx" 2>"$LOGDIR/sink-$tag.err" &
	fi
	SINK_PID=$!
	WAIT_SECS=10 wait_for test -e "$ready" || icp_fail "sink did not start ($LOGDIR/sink-$tag.err)"
	if [ "$dir" = srtp2rtp ]; then
		# packets protected before the clock starts, split over the calls (a
		# sender that ran out says "exhausted" and the row says so)
		snd=(--srtp "$SRTP_CRYPTO" --packets
			$(( ($([ "$pps" -gt 0 ] && echo "$pps" || echo "$BENCH_SRTP_PPS_MAX")) * BENCH_SECONDS / BENCH_SRTP_CALLS + 64)))
	fi
	[ "$pps" -gt 0 ] && snd+=(--rate "$pps")
	c0=$(cpu_ticks "$RELAY_PID") t0=$(task_ticks "$RELAY_PID") b0=$(stat_busy) w0=$(date +%s.%N)
	ip netns exec "$NS_gen" "$BENCH" send --flows "$flows" --duration "$BENCH_SECONDS" \
		--size $UDP_SIZE --cpu $SND_CPU "${snd[@]}" \
		>"$tx" 2>"$LOGDIR/send-$tag.err" || icp_fail "SRTP bench sender failed: $(cat "$LOGDIR/send-$tag.err")"
	c1=$(cpu_ticks "$RELAY_PID") t1=$(task_ticks "$RELAY_PID") b1=$(stat_busy) w1=$(date +%s.%N)
	sleep 0.5 # what the relay still holds in its socket buffers
	kill -TERM "$SINK_PID"
	wait "$SINK_PID" || icp_fail "sink failed ($?): $(cat "$LOGDIR/sink-$tag.err") $(cat "$rx")"
	SINK_PID=
	printf '{"row":"%s","dir":"%s","paced_pps":%s,"calls":%s,"threads":"%s","rep":%s,"sender":"socket-srtp","sink_kind":"%s","size":%s,"relay_cpu_s":%s,"relay_wall_s":%s,"machine_busy_s":%s,"thread_cpu_s":%s,"send":%s,"sink":%s}\n' \
		"$row" "$dir" "$pps" "$BENCH_SRTP_CALLS" "${RELAY_THREADS:-default}" "$rep" "$sink" $UDP_SIZE \
		"$(ticks_s "$c0" "$c1")" "$(echo "$w0 $w1" | awk '{ printf "%.3f", $2 - $1 }')" "$(ticks_s "$b0" "$b1")" \
		"$(python3 -c 'import json,sys; a,b=(json.loads(x) for x in sys.argv[1:3]); t=int(sys.argv[3]); print(json.dumps({k: round((b[k]-a.get(k,0))/t, 2) for k in sorted(b)}))' "$t0" "$t1" "$CLK_TCK")" \
		"$(cat "$tx")" "$(cat "$rx")" >>"$RUNS"
	icp_log "  $row ($dir) #$rep: $(tail -n 1 "$RUNS" | python3 -c 'import json,sys; o=json.load(sys.stdin); s,r=o["send"],o["sink"]; p=r["packets"]/s["seconds"]; c=o["relay_cpu_s"]/s["seconds"]; print("sent %d pps%s, sink %d pps, relay %.2f cores (%s), %d pps/core" % (s["pps"], " (exhausted)" if s.get("exhausted") else "", p, c, " + ".join("%s %.2f" % (k, v/s["seconds"]) for k, v in o["thread_cpu_s"].items() if v > 0), p/c if c else 0))')"
	relay_stop
}

has_row() { [[ " $BENCH_ROWS " == *" $1 "* ]]; }

# bare_pair before|after ROW FLOWS REP: with BENCH_PAIRED=1, the bare
# program at the same flow count right before and right after each icepath
# XDP run (seconds apart, not a round apart): report.py takes that run's
# ratio to the mean of its two neighbours, so drift and someone else's
# burst between the rows of a round do not enter the ratio.
bare_pair() {
	[ "$BENCH_PAIRED" = 1 ] && has_row bare || return 0
	PAIR="$1:$2" xdp_run bare "$ICP_TMP/flows-bare" "$3" 0 1 "$4"
}

# ---- main -----------------------------------------------------------------------------
START=$(date -u '+%Y-%m-%d %H:%M UTC')
T0=$SECONDS
icp_log "bench: rows '$BENCH_ROWS', flows '$BENCH_FLOWS', ${BENCH_SECONDS}s + ${BENCH_STATS_SECONDS}s per run, $BENCH_REPS rounds"
# flows without calls for gen and bare (distinct 4-tuples)
max_flows=$(printf '%s\n' $BENCH_FLOWS $BENCH_LIB_FLOWS "$BENCH_MQ_FLOWS" | sort -n | tail -1)
# 12,500 relay ports an address (icepathd's range holds them), then the next
# address: one flow per relay address and port, as a relay's own port
# carries one stream
LIB_PORTS=12500
[ $((PORT_MAX - PORT_MIN + 1)) -ge $LIB_PORTS ] || LIB_PORTS=$((PORT_MAX - PORT_MIN + 1))
"$BENCH" xdp-flows --count "$max_flows" --ports $LIB_PORTS --out "$ICP_TMP/flows-bare" || icp_fail "xdp-flows"
for n in $BENCH_FLOWS; do
	[ "$n" -gt "$BENCH_XDP_MAX_CALLS" ] && has_row xdp &&
		printf '{"row":"xdp","flows":%s,"not_measured":"one NG call per flow: %s calls need %s relay ports and sockets (RTP and RTCP on each leg), more than one address has ports (64k) and than the open-file limit here (%s) allows; BENCH_XDP_MAX_CALLS=%s; the library row has icepath at this flow count"}\n' \
			"$n" "$n" $((4 * n)) "$(ulimit -Hn)" "$BENCH_XDP_MAX_CALLS" >>"$RUNS"
	for m in userspace rtpengine; do
		[ "$n" -gt "$BENCH_US_MAX_CALLS" ] && has_row $m &&
			printf '{"row":"%s","flows":%s,"not_measured":"%s calls through a userspace relay: beyond BENCH_US_MAX_CALLS=%s (a relay far below line rate; the row would measure the call count, not the path)"}\n' \
				"$m" "$n" "$n" "$BENCH_US_MAX_CALLS" >>"$RUNS"
	done
done
declare -A DEAD=()
for rep in $(seq 1 "$BENCH_REPS"); do
	if has_row gen; then
		xdp_run gen "$ICP_TMP/flows-bare" "$max_flows" 0 1 "$rep"
		[ "$BENCH_MQ_FLOWS" -gt 0 ] && xdp_run gen "$ICP_TMP/flows-bare" "$max_flows" 0 2 "$rep"
	fi
	if has_row bare; then
		for n in $BENCH_FLOWS; do
			xdp_run bare "$ICP_TMP/flows-bare" "$n" 0 1 "$rep"
		done
		[ "$BENCH_MQ_FLOWS" -gt 0 ] && xdp_run bare "$ICP_TMP/flows-bare" "$BENCH_MQ_FLOWS" 0 2 "$rep"
	fi
	for mode in xdp userspace rtpengine; do
		has_row $mode || continue
		[ -n "${DEAD[$mode]:-}" ] && continue
		limit=$([ $mode = xdp ] && echo "$BENCH_XDP_MAX_CALLS" || echo "$BENCH_US_MAX_CALLS")
		for n in $BENCH_FLOWS; do
			[ "$n" -le "$limit" ] || continue
			f=$ICP_TMP/flows-$mode-$n
			[ $mode = xdp ] && bare_pair before xdp "$n" "$rep"
			if ! relay_up $mode "$n" "$f" "$rep"; then
				DEAD[$mode]=1
				break
			fi
			if [ $mode = xdp ]; then
				xdp_run xdp "$f" "$n" "$n" 1 "$rep"
				[ "$n" = "$BENCH_MQ_FLOWS" ] && xdp_run xdp "$f" "$n" "$n" 2 "$rep"
			else
				socket_run $mode "$f" "$n" "$n" "$rep"
			fi
			relay_stop
			[ $mode = xdp ] && bare_pair after xdp "$n" "$rep"
		done
	done
	if has_row srtp; then
		RELAY_EXTRA="--media-threads 1" RELAY_THREADS=1 srtp_run srtp-icepathd-1 userspace srtp2rtp "$rep"
		RELAY_EXTRA="--media-threads $(nproc)" RELAY_THREADS=$(nproc) srtp_run srtp-icepathd-n userspace srtp2rtp "$rep"
		RELAY_THREADS=default srtp_run srtp-rtpengine rtpengine srtp2rtp "$rep"
	fi
	if has_row srtp-paced; then
		# the same offered rate to every relay, both directions
		for dir in srtp2rtp rtp2srtp; do
			RELAY_EXTRA="--media-threads 1" RELAY_THREADS=1 \
				srtp_run paced-$dir-icepathd-1 userspace $dir "$rep" "$BENCH_SRTP_PACED_PPS"
			RELAY_EXTRA="--media-threads $(nproc)" RELAY_THREADS=$(nproc) \
				srtp_run paced-$dir-icepathd-n userspace $dir "$rep" "$BENCH_SRTP_PACED_PPS"
			RELAY_THREADS=default srtp_run paced-$dir-rtpengine rtpengine $dir "$rep" "$BENCH_SRTP_PACED_PPS"
		done
	fi
	if has_row xdplib && [ -z "${DEAD[xdplib]:-}" ]; then
		for n in $BENCH_LIB_FLOWS; do
			bare_pair before xdplib "$n" "$rep"
			if ! lib_up "$n" "$rep"; then
				DEAD[xdplib]=1
				break
			fi
			xdp_run xdplib "$ICP_TMP/flows-bare" "$n" 0 1 "$rep"
			fp_destroy
			bare_pair after xdplib "$n" "$rep"
		done
	fi
done
DURATION=$((SECONDS - T0))

python3 "$here/report.py" "$RUNS" "$OUT" "$START" \
	"BENCH_SECONDS=$BENCH_SECONDS BENCH_STATS_SECONDS=$BENCH_STATS_SECONDS BENCH_REPS=$BENCH_REPS BENCH_FLOWS='$BENCH_FLOWS' BENCH_XDP_MAX_CALLS=$BENCH_XDP_MAX_CALLS BENCH_US_MAX_CALLS=$BENCH_US_MAX_CALLS BENCH_MQ_FLOWS=$BENCH_MQ_FLOWS BENCH_LIB_FLOWS='$(echo $BENCH_LIB_FLOWS)' BENCH_PAIRED=$BENCH_PAIRED BENCH_ROWS='$BENCH_ROWS' make bench" \
	"$DURATION" || icp_fail "report failed"

# The ICE agents' row: its own self-contained script (no namespaces).
"$here/agents.sh" "$build" || icp_fail "ICE agents bench failed"
