#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Speed report (issue 11): icepath-peer <-> icepath-peer and libnice's
# nice-peer <-> nice-peer (tests/interop/nice-peer.c) in the same
# topologies of tests/net/ice_lib.sh, one run, side by side. The figure is
# the later of the two peers' "selected" events, in ms from each peer's
# process start (both peers start together and read each other's SDP when
# it appears, so gathering and the SDP exchange are inside it). A report,
# not a timed assertion: every run must connect and pass 20 RTP packets
# each way; the times are printed.
#
#  topology                              A (controlling)        B (controlled)
#  public <-> port-restricted            port-restricted NAT    public
#  port-restricted <-> port-restricted   port-restricted NAT    port-restricted NAT
#  same NAT (host pair)                  behind NAT router R    behind R too (other LAN port)
#  port-restricted <-> symmetric (relay) port-restricted NAT    symmetric NAT, coturn TURN
#
# SPEED_REPS (default 1) runs per cell; the table shows each run's figure.
set -u
build=${1:?usage: test_ice_speed.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ice_lib.sh"
icp_require_root
command -v jq >/dev/null || icp_fail "jq not installed (Debian package jq; make deps)"
IP=$(realpath "$build/bin/icepath-peer")
NICE=$(realpath "$build/bin/nice-peer")
for b in "$IP" "$NICE"; do [ -x "$b" ] || icp_fail "$b not built (make all)"; done
MEDIA_N=20
media="--send $MEDIA_N --expect $MEDIA_N --interval 10"
stun="--stun $PUB_IP:3478"
reps=${SPEED_REPS:-1}

topo_init
topo_public pb 2
topo_natted na 1 port-restricted 10.1.0
topo_natted nb 2 port-restricted 192.168.2
topo_natted sb 4 symmetric 192.168.4
# A second host behind na's router, on a LAN port of its own: both peers
# behind one NAT, their host candidates routed by it.
ns_new nc
ns_link "$NS_na_r" lan2 10.1.1.1/24 "$NS_nc" eth0 10.1.1.2/24
ns_route "$NS_nc" default via 10.1.1.1
nsx "$NS_na_r" nft add rule inet icpnat forward iifname lan2 accept
nsx "$NS_na_r" nft add rule inet icpnat input iifname lan2 accept

nbind() { printf -- '--bind %s' "$1"; }

# selected_ms CASE: the later "selected" of the two peers of the last run
selected_ms() {
	local dir="$ICP_TMP/$1" a b
	a=$(jq -r 'select(.event == "selected") | .ms' "$dir/a.log" | head -n 1)
	b=$(jq -r 'select(.event == "selected") | .ms' "$dir/b.log" | head -n 1)
	[ -n "$a" ] && [ -n "$b" ] || icp_fail "$1: no selected event"
	echo $((a > b ? a : b))
}

declare -A T
row() { # key label ns_a bind_a ns_b bind_b extra
	local key=$1 ns_a=$3 ba=$4 ns_b=$5 bb=$6 extra=$7 r
	for ((r = 1; r <= reps; r++)); do
		run_pair "$key-ip-$r" "$ns_a" "$IP --controlling $extra $media" \
			"$ns_b" "$IP --controlled $extra $media"
		T[$key,ip]+="$(selected_ms "$key-ip-$r") "
		run_pair "$key-nice-$r" "$ns_a" "$NICE --controlling $(nbind "$ba") $extra $media" \
			"$ns_b" "$NICE --controlled $(nbind "$bb") $extra $media"
		T[$key,nice]+="$(selected_ms "$key-nice-$r") "
	done
}

row pub-pr "public <-> port-restricted" "$NS_na" 10.1.0.2 "$NS_pb" 203.0.113.12 "$stun"
row pr-pr "port-restricted <-> port-restricted" "$NS_na" 10.1.0.2 "$NS_nb" 192.168.2.2 "$stun"
row same "same NAT (host pair)" "$NS_na" 10.1.0.2 "$NS_nc" 10.1.1.2 "$stun"
row relay "port-restricted <-> symmetric (relay)" "$NS_na" 10.1.0.2 "$NS_sb" 192.168.4.2 \
	"$stun ${TURN_ARGS[*]}"

echo
echo "time until both sides have a selected pair, ms from process start ($reps run(s) each):"
printf '| %-40s | %-24s | %-24s |\n' topology "icepath <-> icepath" "libnice <-> libnice"
printf '|%s|%s|%s|\n' "------------------------------------------" "--------------------------" "--------------------------"
for k in pub-pr:"public <-> port-restricted" pr-pr:"port-restricted <-> port-restricted" \
	same:"same NAT (host pair)" relay:"port-restricted <-> symmetric (relay)"; do
	key=${k%%:*}
	printf '| %-40s | %-24s | %-24s |\n' "${k#*:}" "${T[$key,ip]% }" "${T[$key,nice]% }"
done
echo "(command: tests/net/test_ice_speed.sh BUILD, SPEED_REPS=$reps)"
icp_log "PASS: icepath-peer and libnice connect in every topology (report above)"
