#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the same relayed RTP through several relays, side by side, in
# one run, on one machine:
#
#   xdp        icepathd --xdp native  (the XDP fast path)
#   userspace  icepathd --xdp off     (recvmmsg/sendmmsg datapath)
#   rtpengine  rtpengine --table=-1   (userspace mode; no kernel module)
#   forward    no relay: the kernel's IP forwarding, as a floor for the cost
#              of the generator, the sink and the veths themselves
#
# Topology (three namespaces, veth pairs, RFC 5737 addresses; nothing leaves):
#
#   snd  s0 192.0.2.10 ---- rs 192.0.2.1   relay   rr 198.51.100.1 ---- d0 198.51.100.10  rcv
#
# Per run: start the relay, set up BENCH_CALLS plain-RTP calls over NG
# (identical offer/answer requests, ICE=remove), measure its RSS before and
# after, then send RTP on the first BENCH_FLOWS calls (one flow per call,
# caller to callee) at one of two loads -- a fixed rate and "as fast as
# possible" -- for BENCH_SECONDS; the sink counts per flow; stop the relay.
# BENCH_REPS rounds over every relay and load. CPU time is
# read from /proc for every process of the pipeline and for ksoftirqd, and
# machine-wide from /proc/stat. tools/bench/report.py takes the medians,
# prints the tables and writes BUILD/bench/results.json.
#
# Knobs (environment): BENCH_SECONDS (per measured run, default 4),
# BENCH_REPS (3), BENCH_CALLS (1000), BENCH_FLOWS (100), BENCH_RATE (fixed
# load, packets/s, 50000), BENCH_SIZE (UDP payload bytes, 172),
# BENCH_RELAYS ("xdp userspace rtpengine forward"), BENCH_LOADS ("fixed max"),
# BENCH_OUT (where results go, default BUILD/bench).
# With the defaults the whole run takes about 3 minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/net/lib.sh"
build=$(cd "${1:?usage: bench.sh BUILD_DIR}" && pwd)
BENCH=$build/bin/icepath-bench
ICEPATHD=$build/bin/icepathd
FPCTL=$build/bin/icepath-fpctl

BENCH_SECONDS=${BENCH_SECONDS:-4}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_CALLS=${BENCH_CALLS:-1000}
BENCH_FLOWS=${BENCH_FLOWS:-100}
BENCH_RATE=${BENCH_RATE:-50000}
BENCH_SIZE=${BENCH_SIZE:-172}
BENCH_RELAYS=${BENCH_RELAYS:-xdp userspace rtpengine forward}
BENCH_LOADS=${BENCH_LOADS:-fixed max}
OUT=${BENCH_OUT:-$build/bench}
NG=127.0.0.1:2223
PORT_MIN=20000
PORT_MAX=29999
PIN=/sys/fs/bpf/icepath-bench-$ICP_RUN
SND_CPU=0
RCV_CPU=1

icp_require_root
[ -x "$BENCH" ] || icp_fail "build first: $BENCH missing (make all)"
for v in BENCH_SECONDS BENCH_REPS BENCH_CALLS BENCH_FLOWS BENCH_RATE BENCH_SIZE; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || icp_fail "$v must be a positive integer, not '${!v}'"
done
[ "$BENCH_FLOWS" -le "$BENCH_CALLS" ] || icp_fail "BENCH_FLOWS ($BENCH_FLOWS) > BENCH_CALLS ($BENCH_CALLS)"
[ "$BENCH_SECONDS" -le 60 ] || icp_fail "BENCH_SECONDS is per run; keep it <= 60"
# 4 media ports per call on the relay (RTP+RTCP on each leg)
[ "$BENCH_CALLS" -le $(((PORT_MAX - PORT_MIN + 1) / 4)) ] ||
	icp_fail "BENCH_CALLS ($BENCH_CALLS) > $(((PORT_MAX - PORT_MIN + 1) / 4)), what ports $PORT_MIN-$PORT_MAX hold"
command -v python3 >/dev/null || icp_fail "python3 missing (make deps)"
command -v ethtool >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v ethtool >/dev/null || icp_fail "ethtool missing (make deps)"
mkdir -p "$OUT"
RUNS=$OUT/runs.jsonl
: >"$RUNS"
LOGDIR=$OUT/logs
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"

bench_cleanup() {
	# icepathd leaves its pins on exit (by design, for restarts): remove them.
	[ -n "${RELAY_PID:-}" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	rm -rf "$PIN"
}
trap 'rc=$?; bench_cleanup; (exit $rc); icp_cleanup' EXIT

# ---- topology -----------------------------------------------------------------
ns_new snd
ns_new relay
ns_new rcv
ns_link "$NS_snd" s0 192.0.2.10/24 "$NS_relay" rs 192.0.2.1/24
ns_link "$NS_relay" rr 198.51.100.1/24 "$NS_rcv" d0 198.51.100.10/24
ns_route "$NS_snd" default via 192.0.2.1
ns_route "$NS_rcv" default via 198.51.100.1
# bpf_fib_lookup() routes only where forwarding is on; the forward baseline
# needs it too. Same setting for every relay.
nsx "$NS_relay" sysctl -qw net.ipv4.conf.all.forwarding=1
# A veth frame from a local socket carries a partial checksum that XDP cannot
# finish; the sender computes sums in software (as a real wire delivers them),
# for every relay alike.
nsx "$NS_snd" ethtool -K s0 tx off >/dev/null || icp_fail "cannot turn off tx checksum offload on s0"
# Frames XDP-redirected into rr are dropped unless its peer d0 runs NAPI:
# GRO on d0 turns it on without an XDP program there.
nsx "$NS_rcv" ethtool -K d0 gro on >/dev/null || icp_fail "cannot turn on GRO on d0"
# Static neighbours: no ARP during a run (XDP passes a packet to the stack
# when the next hop has no neighbour entry).
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip -n "$NS_relay" neigh replace 198.51.100.10 lladdr "$(mac "$NS_rcv" d0)" dev rr nud permanent
ip -n "$NS_relay" neigh replace 192.0.2.10 lladdr "$(mac "$NS_snd" s0)" dev rs nud permanent
ip -n "$NS_snd" neigh replace 192.0.2.1 lladdr "$(mac "$NS_relay" rs)" dev s0 nud permanent
ip -n "$NS_rcv" neigh replace 198.51.100.1 lladdr "$(mac "$NS_relay" rr)" dev d0 nud permanent

# ---- CPU accounting --------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# utime+stime of a process (all threads), in ticks; 0 when it is gone.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ksoftirqd_pids() { pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' '; }
KSOFT_PIDS=$(ksoftirqd_pids)
ksoft_ticks() { local p t=0; for p in $KSOFT_PIDS; do t=$((t + $(proc_ticks "$p"))); done; echo $t; }
# machine-wide: busy ticks (user nice system irq softirq steal) and softirq
stat_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $8 }' /proc/stat; }
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# memlock of the BPF maps a process holds open (preallocated: fixed per run)
bpf_map_kib() { # one awk over every fd: a relay holds thousands of sockets
	awk '/^map_type:/ { m[FILENAME] = 1 } /^memlock:/ { l[FILENAME] = $2 }
	     END { for (f in m) s += l[f]; print int(s / 1024) }' /proc/"$1"/fdinfo/* 2>/dev/null || echo 0
}

# Packets the XDP program forwarded (tx + redirect) and passed for lack of a
# flow, from the fast path's own per-CPU counters: evidence that "xdp" runs
# really took the fast path.
fp_counts() {
	[ -d "$PIN" ] || { echo "0 0"; return; }
	nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" stats |
		awk '$1 == "tx" || $1 == "redirect" { f += $2 } $1 == "pass-no-flow" { p += $2 }
		     END { print f + 0, p + 0 }'
}

# ---- relays ------------------------------------------------------------------------
RELAY_PID=
relay_start() { # MODE
	local mode=$1 log=$LOGDIR/$1.log
	case $mode in
	xdp|userspace)
		[ -x "$ICEPATHD" ] || return 2
		# A fresh daemon every run: no calls recovered from a state file or
		# flows from pins of the previous run.
		fp_destroy
		rm -f "$ICP_TMP/calls.state"
		# nsenter rather than ip netns exec: the latter remounts /sys, and
		# with it bpffs, privately, so pins would not be visible outside.
		nsenter --net=/run/netns/"$NS_relay" "$ICEPATHD" --foreground \
			--interface rs=192.0.2.1 --interface rr=198.51.100.1 --listen-ng "$NG" \
			--port-min $PORT_MIN --port-max $PORT_MAX --pin-path "$PIN" \
			--state-file "$ICP_TMP/calls.state" --inactivity-timeout 600 \
			--xdp "$([ "$mode" = xdp ] && echo native || echo off)" >>"$log" 2>&1 &
		RELAY_PID=$! ;;
	rtpengine)
		command -v rtpengine >/dev/null || return 2
		# --table=-1: no kernel module, the userspace path only; the default
		# log level (6) logs nothing per packet.
		ip netns exec "$NS_relay" rtpengine --table=-1 --config-file=none --foreground \
			--log-stderr --interface=rs/192.0.2.1 --interface=rr/198.51.100.1 \
			--listen-ng="$NG" --port-min=$PORT_MIN --port-max=$PORT_MAX \
			--timeout=600 >>"$log" 2>&1 &
		RELAY_PID=$! ;;
	forward)
		RELAY_PID= ; return 0 ;;
	esac
	local i
	for i in $(seq 1 100); do
		kill -0 "$RELAY_PID" 2>/dev/null || break
		if nsx "$NS_relay" "$BENCH" ng --server "$NG" --ping >/dev/null 2>&1; then
			icp_log "$mode: answering NG (pid $RELAY_PID)"
			return 0
		fi
		sleep 0.1
	done
	echo "bench: $mode did not answer an NG ping; its log ($log):" >&2
	tail -n 20 "$log" >&2
	return 1
}

# The fast path outlives icepathd by design (pins, attached program); the
# next relay must not find it forwarding: detach and unpin, then check.
fp_destroy() {
	[ -d "$PIN" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	rm -rf "$PIN"
	if ip -n "$NS_relay" -d link show | grep -q 'prog/xdp'; then
		icp_log "XDP program still attached in the relay namespace after destroy; detaching"
		ip -n "$NS_relay" link set dev rs xdp off 2>/dev/null
		ip -n "$NS_relay" link set dev rr xdp off 2>/dev/null
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

# ---- one measured run ----------------------------------------------------------------
# run_traffic MODE LOAD REP FLOWS_FILE
run_traffic() {
	local mode=$1 load=$2 rep=$3 flows=$4 tag=$1-$2-$3
	local ready=$ICP_TMP/ready-$tag rx=$ICP_TMP/rx-$tag.json tx=$ICP_TMP/tx-$tag.json
	local rate_arg=() r0 r1 k0 k1 s0 s1 f0 f1 w0 w1 rx_pid
	[ "$load" = fixed ] && rate_arg=(--rate "$BENCH_RATE")
	ip netns exec "$NS_rcv" "$BENCH" recv --flows "$flows" --count "$BENCH_FLOWS" \
		--duration $((BENCH_SECONDS + 30)) --idle-ms 1000 --ready-file "$ready" \
		--cpu $RCV_CPU >"$rx" 2>"$LOGDIR/recv-$tag.err" &
	rx_pid=$!
	ICP_PIDS+=($rx_pid)
	WAIT_SECS=10 wait_for test -e "$ready" || icp_fail "sink did not start ($LOGDIR/recv-$tag.err)"
	r0=$([ -n "$RELAY_PID" ] && proc_ticks "$RELAY_PID" || echo 0)
	f0=$(fp_counts)
	k0=$(ksoft_ticks)
	s0=$(stat_busy)
	w0=$(date +%s.%N)
	ip netns exec "$NS_snd" "$BENCH" send --flows "$flows" --count "$BENCH_FLOWS" \
		--duration "$BENCH_SECONDS" --size "$BENCH_SIZE" "${rate_arg[@]}" \
		--cpu $SND_CPU >"$tx" 2>"$LOGDIR/send-$tag.err" || icp_fail "sender failed: $(cat "$LOGDIR/send-$tag.err")"
	kill -TERM "$rx_pid" # the sink drains what the relay still holds, then reports
	wait "$rx_pid" || icp_fail "sink failed: $(cat "$LOGDIR/recv-$tag.err")"
	r1=$([ -n "$RELAY_PID" ] && proc_ticks "$RELAY_PID" || echo 0)
	k1=$(ksoft_ticks)
	s1=$(stat_busy)
	w1=$(date +%s.%N)
	f1=$(fp_counts)
	printf '{"relay":"%s","load":"%s","rep":%s,"send":%s,"recv":%s,"relay_cpu_s":%s,"ksoftirqd_cpu_s":%s,"machine_busy_s":%s,"machine_softirq_s":%s,"xdp_forwarded":%s,"xdp_pass_no_flow":%s,"wall_s":%s}\n' \
		"$mode" "$load" "$rep" "$(cat "$tx")" "$(cat "$rx")" \
		"$(echo "$r0 $r1 $CLK_TCK" | awk '{ printf "%.2f", ($2 - $1) / $3 }')" \
		"$(echo "$k0 $k1 $CLK_TCK" | awk '{ printf "%.2f", ($2 - $1) / $3 }')" \
		"$(echo "$s0 $s1 $CLK_TCK" | awk '{ printf "%.2f", ($3 - $1) / $5 }')" \
		"$(echo "$s0 $s1 $CLK_TCK" | awk '{ printf "%.2f", ($4 - $2) / $5 }')" \
		"$(echo "$f0 $f1" | awk '{ print $3 - $1 }')" "$(echo "$f0 $f1" | awk '{ print $4 - $2 }')" \
		"$(echo "$w0 $w1" | awk '{ printf "%.2f", $2 - $1 }')" >>"$RUNS"
	icp_log "  $mode $load #$rep: $(python3 -c 'import json,sys; s,r=(json.loads(open(f).read()) for f in sys.argv[1:]); print("offered %d pps, sent %d, received %d (%.2f%% lost), reordered %d" % (s["pps"], s["sent"], r["packets"], 100.0*(1-r["packets"]/s["sent"]) if s["sent"] else 0, r["reordered"]))' "$tx" "$rx")"
}

# ---- main -----------------------------------------------------------------------------
START=$(date -u '+%Y-%m-%d %H:%M UTC')
set -- $BENCH_RELAYS
n_relays=$#
set -- $BENCH_LOADS
# about 2.5 s per run beside the traffic: relay start, call setup, drain, stop
icp_log "bench: relays '$BENCH_RELAYS', $BENCH_CALLS calls, $BENCH_FLOWS flows, ${BENCH_SECONDS}s x $BENCH_REPS per load, fixed load $BENCH_RATE pps, $BENCH_SIZE-byte RTP; about $((n_relays * $# * BENCH_REPS * (BENCH_SECONDS * 10 + 25) / 10)) s"
# relay_up MODE FLOWS: start the relay, set up the calls, write the flows
# file, record memory. 0 ready, 1 failed or skipped (recorded in RUNS).
relay_up() {
	local mode=$1 flows=$2 setup rss0=0 rss1=0 mapk=0
	relay_start "$mode"
	case $? in
	0) ;;
	2)	icp_log "$mode: not available (icepathd not built / rtpengine not installed): skipped"
		printf '{"relay":"%s","skipped":"not available"}\n' "$mode" >>"$RUNS"
		return 1 ;;
	*)	printf '{"relay":"%s","skipped":"did not start, see %s"}\n' "$mode" "$LOGDIR/$mode.log" >>"$RUNS"
		relay_stop
		return 1 ;;
	esac
	[ -n "$RELAY_PID" ] && rss0=$(rss_kib "$RELAY_PID")
	if [ "$mode" = forward ]; then
		setup=$("$BENCH" ng --direct --calls "$BENCH_CALLS" --out "$flows") || icp_fail "flows for forward"
	else
		setup=$(nsx "$NS_relay" "$BENCH" ng --server "$NG" --calls "$BENCH_CALLS" \
			--direction rs,rr --prefix "bench-$mode-$ICP_RUN" --out "$flows" \
			2>"$LOGDIR/ng-$mode.err")
		if [ $? -ne 0 ]; then
			icp_log "$mode: call setup failed: $(cat "$LOGDIR/ng-$mode.err")"
			printf '{"relay":"%s","skipped":"call setup failed: %s"}\n' "$mode" \
				"$(tr -d '"\\' <"$LOGDIR/ng-$mode.err" | head -c 300)" >>"$RUNS"
			relay_stop
			return 1
		fi
		sleep 0.5 # let the relay settle before reading memory
		rss1=$(rss_kib "$RELAY_PID")
		mapk=$(bpf_map_kib "$RELAY_PID")
	fi
	# what the daemon said about its datapath ("XDP attached to rs in native mode")
	local dp=$(grep -o 'XDP attached to [a-z0-9]* in [a-z]* mode\|fast path off[^:]*' \
		"$LOGDIR/$mode.log" 2>/dev/null | sort -u | tr '\n' ';')
	printf '{"relay":"%s","setup":%s,"calls":%s,"rss_before_kib":%s,"rss_after_kib":%s,"bpf_map_kib":%s,"datapath":"%s"}\n' \
		"$mode" "$setup" "$BENCH_CALLS" "$rss0" "$rss1" "$mapk" "$dp" >>"$RUNS"
	icp_log "$mode: $BENCH_CALLS calls up: RSS ${rss0} -> ${rss1} KiB, BPF maps ${mapk} KiB; $setup"
}

for mode in $BENCH_RELAYS; do
	case $mode in xdp|userspace|rtpengine|forward) ;; *) icp_fail "unknown relay '$mode' in BENCH_RELAYS" ;; esac
done
# Repetitions outermost, relays innermost: the machine is shared, and a
# burst of someone else's work then hits every relay alike rather than one.
# A fresh relay and fresh calls for every run: a relay that an overload left
# in a bad state (rtpengine 10.5 stops forwarding a flow whose receive queue
# overflowed) must not spoil the next run.
declare -A DEAD=()
for rep in $(seq 1 "$BENCH_REPS"); do
	for load in $BENCH_LOADS; do
		for mode in $BENCH_RELAYS; do
			[ -n "${DEAD[$mode]:-}" ] && continue
			if ! relay_up "$mode" "$ICP_TMP/flows-$mode"; then
				DEAD[$mode]=1
				continue
			fi
			run_traffic "$mode" "$load" "$rep" "$ICP_TMP/flows-$mode"
			relay_stop
		done
	done
done

python3 "$here/report.py" "$RUNS" "$OUT" "$START" \
	"BENCH_SECONDS=$BENCH_SECONDS BENCH_REPS=$BENCH_REPS BENCH_CALLS=$BENCH_CALLS BENCH_FLOWS=$BENCH_FLOWS BENCH_RATE=$BENCH_RATE BENCH_SIZE=$BENCH_SIZE make bench" \
	"$SND_CPU" "$RCV_CPU" || icp_fail "report failed"

# The ICE agents' row: its own self-contained script (no namespaces).
"$here/agents.sh" "$build" || icp_fail "ICE agents bench failed"
