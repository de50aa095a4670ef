# SPDX-License-Identifier: GPL-2.0-only
#
# ICE topologies for the netns tests (sourced after lib.sh; not a test).
#
#   public segment 203.0.113.0/24: a bridge in namespace "pub"; coturn
#   (STUN/TURN) listens on 203.0.113.1:3478 inside "pub".
#   A public peer:     203.0.113.1N on the bridge.
#   A NATed peer:      10.N.0.2/24 (or 192.168.N.2/24) behind a router whose
#                      WAN is 203.0.113.2N, NAT kind from lib.sh nat_router
#                      (port-restricted = masquerade, symmetric = masquerade
#                      random), unsolicited inbound dropped.
#
#   topo_init                       the public segment and coturn
#   topo_public NAME N              peer namespace NAME at 203.0.113.1N
#   topo_natted NAME N KIND LANPFX  peer NAME at LANPFX.2 behind router NAME-r
#   run_pair CASE NS_A "CMD_A..." NS_B "CMD_B..."
#       runs both peers (A writes a.sdp and reads b.sdp, B the other way),
#       waits, fails the test unless both exit 0, and sets
#       SEL_A / SEL_B = "LOCALTYPE REMOTETYPE" from their "selected" events.

PUB_IP=203.0.113.1
TURN_ARGS=()
PEER_TIMEOUT=${PEER_TIMEOUT:-20}
MEDIA_N=${MEDIA_N:-50}

topo_init() {
	ns_new pub
	ip -n "$NS_pub" link add br0 type bridge || icp_fail "cannot create a bridge in $NS_pub"
	ip -n "$NS_pub" addr add "$PUB_IP/24" dev br0
	ip -n "$NS_pub" link set br0 up
	# The Internet swallows packets to private addresses; a namespace
	# without a route (or with a blackhole one) fails the send instead,
	# and coturn closes a whole allocation when a relayed send fails (a
	# peer's private host candidate is then enough to kill the relay). So
	# the default route leads into a veth pair whose far end answers
	# nothing: sends succeed, packets vanish there.
	ip -n "$NS_pub" link add sink0 type veth peer name sink1
	ip -n "$NS_pub" link set sink1 up
	ip -n "$NS_pub" link set sink0 up
	ip -n "$NS_pub" route add default dev sink0
	start_coturn "$NS_pub" "$PUB_IP"
	TURN_ARGS=(--turn "$PUB_IP:3478" --turn-user "$COTURN_USER" --turn-pass "$COTURN_PASS")
}

# Plug interface IF of namespace NS into the public bridge with ADDR/24.
topo_plug() {
	local ns=$1 ifc=$2 addr=$3 port="p${RANDOM}"
	ip -n "$NS_pub" link add "$port" type veth peer name "$ifc" netns "$ns" ||
		icp_fail "cannot plug $ns/$ifc into the public segment"
	ip -n "$NS_pub" link set "$port" master br0 up
	ip -n "$ns" addr add "$addr/24" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
}

topo_public() {
	local name=$1 n=$2
	ns_new "$name"
	topo_plug "$(ns_of "$name")" eth0 "203.0.113.1$n"
}

topo_natted() {
	local name=$1 n=$2 kind=$3 lan=$4 r="$1-r"
	ns_new "$r"
	ns_new "$name"
	topo_plug "$(ns_of "$r")" wan "203.0.113.2$n"
	ns_link "$(ns_of "$r")" lan "$lan.1/24" "$(ns_of "$name")" eth0 "$lan.2/24"
	ns_route "$(ns_of "$name")" default via "$lan.1"
	nat_router "$(ns_of "$r")" lan wan "$kind"
}

# The full namespace name lib.sh's ns_new gave NAME.
ns_of() {
	local v="NS_${1//-/_}"
	printf '%s' "${!v}"
}

# Selected pair types from a --json event log: "LOCAL REMOTE" of the last
# "selected" event.
sel_types() {
	jq -r 'select(.event == "selected") | "\(.local.type) \(.remote.type)"' "$1" 2>/dev/null |
		tail -n 1
}

# ICE_CASES="a b": run only those cases (debugging); default all.
want_case() {
	[ -z "${ICE_CASES:-}" ] && return 0
	[[ " $ICE_CASES " == *" $1 "* ]]
}

run_pair() {
	local name=$1 ns_a=$2 cmd_a=$3 ns_b=$4 cmd_b=$5 dir="$ICP_TMP/$1" pa pb ra rb
	mkdir -p "$dir"
	icp_log "case $name"
	# shellcheck disable=SC2086 # the commands are word lists on purpose
	ip netns exec "$ns_a" $cmd_a ${PEER_OPTS:-} --local-sdp "$dir/a.sdp" --remote-sdp "$dir/b.sdp" \
		--timeout "$PEER_TIMEOUT" --json >"$dir/a.log" 2>"$dir/a.err" &
	pa=$!
	ICP_PIDS+=("$pa")
	# shellcheck disable=SC2086
	ip netns exec "$ns_b" $cmd_b ${PEER_OPTS:-} --local-sdp "$dir/b.sdp" --remote-sdp "$dir/a.sdp" \
		--timeout "$PEER_TIMEOUT" --json >"$dir/b.log" 2>"$dir/b.err" &
	pb=$!
	ICP_PIDS+=("$pb")
	wait "$pa"
	ra=$?
	wait "$pb"
	rb=$?
	SEL_A=$(sel_types "$dir/a.log")
	SEL_B=$(sel_types "$dir/b.log")
	if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then
		for s in a b; do
			echo "--- $name: peer $s (${s^^}) events, stderr, SDP" >&2
			cat "$dir/$s.log" "$dir/$s.err" >&2
			cat "$dir/$s.sdp" >&2 2>/dev/null
		done
		icp_fail "$name: peer A exited $ra, peer B exited $rb"
	fi
	local ma mb
	ma=$(jq -r 'select(.event == "media") | "\(.sent)/\(.received)"' "$dir/a.log" | tail -n 1)
	mb=$(jq -r 'select(.event == "media") | "\(.sent)/\(.received)"' "$dir/b.log" | tail -n 1)
	icp_log "  A selected [$SEL_A] media sent/received $ma;  B selected [$SEL_B] media $mb"
	[ "$ma" = "$MEDIA_N/$MEDIA_N" ] || icp_fail "$name: A media sent/received $ma, want $MEDIA_N/$MEDIA_N"
	[ "$mb" = "$MEDIA_N/$MEDIA_N" ] || icp_fail "$name: B media sent/received $mb, want $MEDIA_N/$MEDIA_N"
}

# gathered CASE SIDE FIELD: a count from side's (a/b) "gathered" event.
gathered() {
	jq -r "select(.event == \"gathered\") | .$3" "$ICP_TMP/$1/$2.log" | head -n 1
}

# expect_sel CASE SIDE "GOT" PATTERN: PATTERN is an extended regex over
# "LOCAL REMOTE" (e.g. '^srflx (srflx|prflx)$').
expect_sel() {
	local name=$1 side=$2 got=$3 re=$4
	[[ $got =~ $re ]] || icp_fail "$name: peer $side selected [$got], RFC 8445 wants /$re/"
}

# ice_case CASE NS_A "CMD_A..." NS_B "CMD_B..." RE_A RE_B: run_pair, then
# each side's selected pair must match its regex (see expect_sel). Runs
# nothing when ICE_CASES leaves CASE out.
ice_case() {
	local name=$1 ns_a=$2 cmd_a=$3 ns_b=$4 cmd_b=$5 re_a=$6 re_b=$7
	want_case "$name" || return 0
	run_pair "$name" "$ns_a" "$cmd_a" "$ns_b" "$cmd_b"
	expect_sel "$name" A "$SEL_A" "$re_a"
	expect_sel "$name" B "$SEL_B" "$re_b"
}
