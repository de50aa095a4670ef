# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The fast path's three-host topology, shared by test_fastpath*.sh; sourced
# after lib.sh with BUILD set:
#
#   sender s0 192.0.2.10 ---- r0 192.0.2.1  relay  r1 198.51.100.1 ---- d0 198.51.100.20 receiver
#          2001:db8:1::10       2001:db8:1::1      2001:db8:2::1          2001:db8:2::20
#
# fp_topo NAME: the namespaces and links (IPv4 and IPv6), FPCTL/UDPGEN, the
# pins PIN (the relay's fast path) and PIN_RX (a passing program on the
# receiver's veth: redirected frames reach d0 only if d0 runs XDP), a trap
# that destroys both pins and the namespaces on every exit, and relay() to
# run icepath-fpctl on the relay's pins. The sender's checksum offload and
# the forwarding sysctls are each test's own business.
#
# The tools run under 'nsenter --net' rather than 'ip netns exec': the
# latter gives each process a private /sys, and with it a private bpffs, so
# pins would vanish with the process.

fp_topo() {
	local name=$1
	FPCTL=$build/bin/icepath-fpctl
	UDPGEN=$build/bin/icepath-udpgen
	[ -x "$FPCTL" ] && [ -x "$UDPGEN" ] || icp_fail "build first: $FPCTL / $UDPGEN missing"
	icp_require_root
	command -v ethtool >/dev/null || icp_fail "ethtool missing (make deps)"
	PIN=/sys/fs/bpf/icepath-test-$name-$ICP_RUN
	PIN_RX=/sys/fs/bpf/icepath-test-$name-rx-$ICP_RUN
	trap 'rc=$?; fp_topo_cleanup; (exit $rc); icp_cleanup' EXIT

	ns_new send
	ns_new relay
	ns_new recv
	ns_link "$NS_send" s0 192.0.2.10/24 "$NS_relay" r0 192.0.2.1/24
	ns_link "$NS_relay" r1 198.51.100.1/24 "$NS_recv" d0 198.51.100.20/24
	ip -n "$NS_send" addr add 2001:db8:1::10/64 dev s0 nodad
	ip -n "$NS_relay" addr add 2001:db8:1::1/64 dev r0 nodad
	ip -n "$NS_relay" addr add 2001:db8:2::1/64 dev r1 nodad
	ip -n "$NS_recv" addr add 2001:db8:2::20/64 dev d0 nodad
}

fp_topo_cleanup() {
	[ -n "${NS_relay:-}" ] && nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" destroy
	[ -n "${NS_recv:-}" ] && nsenter --net=/run/netns/"$NS_recv" "$FPCTL" -q -p "$PIN_RX" destroy
	[ -d "$PIN" ] && echo "leftover $PIN" >&2
	[ -d "$PIN_RX" ] && echo "leftover $PIN_RX" >&2
}

relay() { nsenter --net=/run/netns/"$NS_relay" "$FPCTL" -q -p "$PIN" "$@"; }
# a UDP socket listens on port $2 in namespace $1
listening() { ip netns exec "$1" ss -Huln "sport = :$2" | grep -q .; }
# the value of key $2 in the one-line JSON $1 (icepath-udpgen's reports)
field() { echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
# one verdict counter of the relay's fast path (icepath-fpctl stats)
fp_stat() { relay stats | awk -v k="$1" '$1 == k { print $2 }'; }

# The relay's neighbour entries for d0 (a real deployment learns them by
# ARP/ND; a missing one makes the program pass to userspace: pass-no-neigh).
fp_topo_neigh() {
	local mac
	mac=$(ip -n "$NS_recv" -o link show d0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ip -n "$NS_relay" neigh replace 198.51.100.20 lladdr "$mac" dev r1 nud permanent
	ip -n "$NS_relay" -6 neigh replace 2001:db8:2::20 lladdr "$mac" dev r1 nud permanent
}

# A pass-all program on the receiver's veth, so XDP_REDIRECTed frames land.
fp_topo_attach_rx() {
	nsenter --net=/run/netns/"$NS_recv" "$FPCTL" -q -p "$PIN_RX" attach d0 >/dev/null ||
		icp_fail "attach on the receiver failed"
}
