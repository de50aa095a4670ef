#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The XDP fast path needs no forwarding sysctl (issue 13): a relay is an
# endpoint, not a router. Same three namespaces as test_fastpath.sh, with
# net.ipv4.ip_forward=0 and IPv6 forwarding off on the relay, explicitly (a
# new netns inherits the host's IPv4 setting): IPv4 and IPv6 flows are
# forwarded by XDP all the same, none reaches the relay's socket, and the
# receiver gets every packet. With a fib lookup in the program (forwarding
# required) every packet would go up as pass-fwd-off.
#
#   sender s0 192.0.2.10 ---- r0 192.0.2.1  relay  r1 198.51.100.1 ---- d0 198.51.100.20 receiver
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_fastpath_noforward.sh BUILD_DIR}" && pwd)
. "$here/fp_topo.sh"
fp_topo nofwd
nsx "$NS_send" ethtool -K s0 tx off >/dev/null || icp_fail "cannot turn off tx offload on s0"
for k in net.ipv4.ip_forward=0 net.ipv4.conf.all.forwarding=0 net.ipv6.conf.all.forwarding=0 \
	net.ipv4.conf.r0.forwarding=0 net.ipv4.conf.r1.forwarding=0 \
	net.ipv6.conf.r0.forwarding=0 net.ipv6.conf.r1.forwarding=0; do
	nsx "$NS_relay" sysctl -qw "$k" || icp_fail "sysctl $k"
done
for k in net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv6.conf.r0.forwarding; do
	[ "$(nsx "$NS_relay" sysctl -n "$k")" = 0 ] || icp_fail "$k is not 0"
done
fp_topo_neigh

relay attach r0 r1 >/dev/null || icp_fail "attach on the relay failed"
# redirected frames reach d0 only if d0 runs XDP (a pass-all program)
fp_topo_attach_rx


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

icp_log "forwarding off on the relay; IPv4 -> IPv4"
one 192.0.2.1:30000 192.0.2.10:5000 198.51.100.1:30002 198.51.100.20:6000
icp_log "IPv6 -> IPv6"
one "[2001:db8:1::1]:30004" "[2001:db8:1::10]:5002" "[2001:db8:2::1]:30006" "[2001:db8:2::20]:6002"
icp_log "IPv4 -> IPv6"
one 192.0.2.1:30008 192.0.2.10:5004 "[2001:db8:2::1]:30010" "[2001:db8:2::20]:6004"
relay stats | grep -v ' 0$'
icp_log "PASS"
