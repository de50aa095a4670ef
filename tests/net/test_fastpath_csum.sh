#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A same-host sender with TX checksum offload ON (a PBX container next to
# the relay, issue 13): on a veth its packets carry a partial UDP checksum
# (the pseudo-header sum only, the "NIC" is to finish it). The fast path
# must send every packet with a correct sum: here the receiver's kernel
# verifies each one (a bad sum is dropped and counted in Udp InCsumErrors),
# every packet must arrive, all of them through XDP, with InCsumErrors 0.
# IPv4 and IPv6, odd and even sizes, up to 1400 bytes.
#
#   sender s0 192.0.2.10 ---- r0 192.0.2.1  relay  r1 198.51.100.1 ---- d0 198.51.100.20 receiver
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_fastpath_csum.sh BUILD_DIR}" && pwd)
FPCTL=$build/bin/icepath-fpctl
UDPGEN=$build/bin/icepath-udpgen
[ -x "$FPCTL" ] && [ -x "$UDPGEN" ] || icp_fail "build first: $FPCTL / $UDPGEN missing"
icp_require_root
command -v ethtool >/dev/null || icp_fail "ethtool missing (make deps)"

PIN=/sys/fs/bpf/icepath-test-csum-$ICP_RUN
PIN_PEERS=/sys/fs/bpf/icepath-test-csum-peers-$ICP_RUN
fp_cleanup() {
	[ -n "${NS_relay:-}" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	[ -n "${NS_recv:-}" ] && nsenter --net=/run/netns/"$NS_recv" "$FPCTL" -q -p "$PIN_PEERS" destroy
	[ -d "$PIN" ] && echo "leftover $PIN" >&2
	[ -d "$PIN_PEERS" ] && echo "leftover $PIN_PEERS" >&2
}
trap 'rc=$?; fp_cleanup; (exit $rc); icp_cleanup' EXIT
relay() { nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" "$@"; }

ns_new send
ns_new relay
ns_new recv
ns_link "$NS_send" s0 192.0.2.10/24 "$NS_relay" r0 192.0.2.1/24
ns_link "$NS_relay" r1 198.51.100.1/24 "$NS_recv" d0 198.51.100.20/24
ip -n "$NS_send" addr add 2001:db8:1::10/64 dev s0 nodad
ip -n "$NS_relay" addr add 2001:db8:1::1/64 dev r0 nodad
ip -n "$NS_relay" addr add 2001:db8:2::1/64 dev r1 nodad
ip -n "$NS_recv" addr add 2001:db8:2::20/64 dev d0 nodad
# The point of the test: the sender's veth finishes no checksum.
nsx "$NS_send" ethtool -K s0 tx on >/dev/null || icp_fail "cannot turn on tx offload on s0"
nsx "$NS_send" ethtool -k s0 | grep -q '^tx-checksumming: on' || icp_fail "s0: tx offload not on"
mac_d0=$(ip -n "$NS_recv" -o link show d0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n "$NS_relay" neigh replace 198.51.100.20 lladdr "$mac_d0" dev r1 nud permanent
ip -n "$NS_relay" -6 neigh replace 2001:db8:2::20 lladdr "$mac_d0" dev r1 nud permanent

relay attach r0 r1 >/dev/null || icp_fail "attach on the relay failed"
# redirected frames reach d0 only if d0 runs XDP (a pass-all program)
nsenter --net=/run/netns/"$NS_recv" "$FPCTL" -q -p "$PIN_PEERS" attach d0 >/dev/null ||
	icp_fail "attach on the receiver failed"

listening() { ip netns exec "$1" ss -Huln "sport = :$2" | grep -q .; }
field() { echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
fp_stat() { relay stats | awk -v k="$1" '$1 == k { print $2 }'; }
csum_errors() { nsx "$NS_recv" nstat -az UdpInCsumErrors Udp6InCsumErrors | awk 'NR > 1 { n += $2 } END { print n + 0 }'; }

# one LOCAL REMOTE OUT_SRC OUT_DST: 500 packets through a flow
one() {
	local local_=$1 remote=$2 out_src=$3 out_dst=$4 n=500 rx relay_rx before
	relay flow add "$local_" "$remote" "$out_src" "$out_dst" --lifetime forever ||
		icp_fail "flow add $local_ failed"
	before=$(fp_stat redirect)
	bg "$NS_recv" "$UDPGEN" recv --on "$out_dst" --count $n --timeout 3 >"$ICP_TMP/rx.json" 2>/dev/null
	rx=$!
	bg "$NS_relay" "$UDPGEN" recv --on "$local_" --count 1 --timeout 3 --any >"$ICP_TMP/relay.json" 2>/dev/null
	relay_rx=$!
	wait_for listening "$NS_recv" "${out_dst##*:}" || icp_fail "receiver did not listen"
	wait_for listening "$NS_relay" "${local_##*:}" || icp_fail "relay socket did not listen"
	nsx "$NS_send" "$UDPGEN" send --from "$remote" --to "$local_" --count $n --rate 2000 >/dev/null ||
		icp_fail "sender failed"
	wait "$rx" "$relay_rx"
	icp_log "$remote -> $out_dst: receiver $(cat "$ICP_TMP/rx.json")"
	[ "$(field "$(cat "$ICP_TMP/rx.json")" unique)" = $n ] ||
		icp_fail "$remote -> $out_dst: receiver got $(field "$(cat "$ICP_TMP/rx.json")" unique) of $n (stats: $(relay stats | grep -v ' 0$' | tr '\n' ' '))"
	[ "$(field "$(cat "$ICP_TMP/relay.json")" received)" = 0 ] ||
		icp_fail "the relay's socket saw packets: they took the userspace path"
	[ $(($(fp_stat redirect) - before)) -eq $n ] ||
		icp_fail "XDP redirected $(($(fp_stat redirect) - before)) of $n"
	relay flow get "$local_" "$remote" | grep -q "path=native" ||
		icp_fail "flow not reported native: $(relay flow get "$local_" "$remote")"
}

# one LOCAL REMOTE OUT_SRC OUT_DST SIZE: 300 packets of SIZE through a flow
one() {
	local local_=$1 remote=$2 out_src=$3 out_dst=$4 size=$5 n=300 rx before errs
	relay flow add "$local_" "$remote" "$out_src" "$out_dst" --lifetime forever ||
		icp_fail "flow add $local_ failed"
	before=$(fp_stat redirect)
	errs=$(csum_errors)
	bg "$NS_recv" "$UDPGEN" recv --on "$out_dst" --count $n --timeout 3 >"$ICP_TMP/rx.json" 2>/dev/null
	rx=$!
	wait_for listening "$NS_recv" "${out_dst##*:}" || icp_fail "receiver did not listen"
	nsx "$NS_send" "$UDPGEN" send --from "$remote" --to "$local_" --count $n --rate 2000 \
		--size "$size" >/dev/null || icp_fail "sender failed"
	wait "$rx"
	errs=$(($(csum_errors) - errs))
	icp_log "$remote -> $out_dst, $size bytes: receiver $(cat "$ICP_TMP/rx.json"), checksum errors $errs"
	[ "$errs" = 0 ] || icp_fail "$errs of $n forwarded packets had a bad UDP checksum at the receiver"
	[ "$(field "$(cat "$ICP_TMP/rx.json")" unique)" = $n ] ||
		icp_fail "receiver got $(field "$(cat "$ICP_TMP/rx.json")" unique) of $n"
	[ $(($(fp_stat redirect) - before)) -eq $n ] ||
		icp_fail "XDP redirected $(($(fp_stat redirect) - before)) of $n (the rest went up)"
	relay flow del "$local_" "$remote"
}

icp_log "sender with TX checksum offload on"
one 192.0.2.1:30000 192.0.2.10:5000 198.51.100.1:30002 198.51.100.20:6000 172
one 192.0.2.1:30000 192.0.2.10:5000 198.51.100.1:30002 198.51.100.20:6000 333
one 192.0.2.1:30000 192.0.2.10:5000 198.51.100.1:30002 198.51.100.20:6000 1400
one "[2001:db8:1::1]:30004" "[2001:db8:1::10]:5002" "[2001:db8:2::1]:30006" "[2001:db8:2::20]:6002" 161
one 192.0.2.1:30008 192.0.2.10:5004 "[2001:db8:2::1]:30010" "[2001:db8:2::20]:6004" 200
relay stats | grep -v ' 0$'
icp_log "PASS"
