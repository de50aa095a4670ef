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
. "$here/fp_topo.sh"
fp_topo csum
# The point of the test: the sender's veth finishes no checksum.
nsx "$NS_send" ethtool -K s0 tx on >/dev/null || icp_fail "cannot turn on tx offload on s0"
nsx "$NS_send" ethtool -k s0 | grep -q '^tx-checksumming: on' || icp_fail "s0: tx offload not on"
fp_topo_neigh

relay attach r0 r1 >/dev/null || icp_fail "attach on the relay failed"
# redirected frames reach d0 only if d0 runs XDP (a pass-all program)
fp_topo_attach_rx

csum_errors() { nsx "$NS_recv" nstat -az UdpInCsumErrors Udp6InCsumErrors | awk 'NR > 1 { n += $2 } END { print n + 0 }'; }

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
