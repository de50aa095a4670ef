# SPDX-License-Identifier: GPL-2.0-only
#
# Shared helpers for icepath's network-namespace tests and the demo.
# Source it; it installs an EXIT trap that removes every namespace, process
# and temporary file this run made, whatever way the script ends.
#
# Addressing (shared/DESIGN.md): the "public" segment uses RFC 5737 blocks
# (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); private segments behind
# NATs use RFC 1918 blocks inside the namespaces. Nothing leaves them.
#
#   ns_new NAME                 -> creates netns "icp-NAME-<run>", echo name var
#   ns_link NS1 IF1 ADDR1 NS2 IF2 ADDR2   veth pair, addresses with prefix
#   ns_route NS default via ADDR
#   nat_router NS LAN_IF WAN_IF port-restricted|symmetric|full-cone
#   start_coturn NS IP [USER PASS REALM]  (sets COTURN_PID)
#   bg NS CMD...                run in background inside NS, tracked for cleanup
#   nsx NS CMD...               run inside NS

set -o pipefail

ICP_RUN="$$$(printf '%04x' $((RANDOM % 65536)))"
ICP_TMP=$(mktemp -d "/tmp/icepath-test.XXXXXX")
ICP_NETNS=()
ICP_PIDS=()

icp_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
icp_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
icp_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

icp_cleanup() {
	local rc=$? p ns
	trap - EXIT INT TERM
	for p in "${ICP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${ICP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ns in "${ICP_NETNS[@]}"; do
		# Anything still running inside (forgotten children) goes too.
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${ICP_KEEP_TMP:-0}" = 1 ]; then
		echo "kept $ICP_TMP"
	else
		rm -rf "$ICP_TMP"
	fi
	exit $rc
}
trap icp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

icp_require_root() {
	[ "$(id -u)" -eq 0 ] || icp_fail "this test needs root (netns, nftables, BPF)"
}

# ns_new NAME: the namespace's full name is printed; call as X=$(ns_new x)
# in the *same shell* is impossible (subshell), so it sets NS_<NAME>.
ns_new() {
	local short=$1 full="icp-$1-$ICP_RUN"
	ip netns add "$full" || icp_fail "cannot create netns $full"
	ICP_NETNS+=("$full")
	ip -n "$full" link set lo up
	ip netns exec "$full" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
	printf -v "NS_${short//-/_}" '%s' "$full"
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_link NS1 IF1 ADDR1/PFX NS2 IF2 ADDR2/PFX (addresses may be "-" for none)
ns_link() {
	local n1=$1 i1=$2 a1=$3 n2=$4 i2=$5 a2=$6
	ip -n "$n1" link add "$i1" type veth peer name "$i2" netns "$n2" ||
		icp_fail "cannot create veth $n1/$i1 <-> $n2/$i2"
	[ "$a1" != - ] && ip -n "$n1" addr add "$a1" dev "$i1" nodad 2>/dev/null ||
		{ [ "$a1" != - ] && ip -n "$n1" addr add "$a1" dev "$i1"; }
	[ "$a2" != - ] && ip -n "$n2" addr add "$a2" dev "$i2" nodad 2>/dev/null ||
		{ [ "$a2" != - ] && ip -n "$n2" addr add "$a2" dev "$i2"; }
	ip -n "$n1" link set "$i1" up
	ip -n "$n2" link set "$i2" up
}

ns_route() { local ns=$1; shift; ip -n "$ns" route add "$@"; }

# nat_router NS LAN_IF WAN_IF KIND
#  port-restricted: endpoint-independent mapping, address-and-port-dependent
#                   filtering (plain masquerade + drop unsolicited input).
#  symmetric:       address-and-port-dependent mapping (masquerade random).
#  full-cone:       endpoint-independent mapping and filtering (masquerade
#                   plus a DNAT of the mapped port back to the inside host
#                   is not stateless in nftables; we model "address-restricted"
#                   as port-restricted here and document it in the test).
# In every kind the router drops unsolicited packets to its WAN address, as
# a home router does (shared/DESIGN.md explains why this matters).
nat_router() {
	local ns=$1 lan=$2 wan=$3 kind=$4 masq
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
	case $kind in
	port-restricted|full-cone) masq="masquerade" ;;
	symmetric) masq="masquerade random" ;;
	*) icp_fail "nat_router: unknown NAT kind '$kind'" ;;
	esac
	nsx "$ns" nft -f - <<-EOF || icp_fail "nft rules for $ns"
	table inet icpnat {
		chain input {
			type filter hook input priority filter; policy drop;
			iifname "lo" accept
			iifname "$lan" accept
			ct state established,related accept
		}
		chain forward {
			type filter hook forward priority filter; policy drop;
			iifname "$lan" accept
			ct state established,related accept
		}
		chain postrouting {
			type nat hook postrouting priority srcnat;
			oifname "$wan" $masq
		}
	}
	EOF
}

# Drop everything a namespace sends or receives on an interface (used to
# "silence" a peer for consent tests).
ns_blackhole() {
	local ns=$1 ifc=$2
	nsx "$ns" nft -f - <<-EOF
	table inet icpblack {
		chain in { type filter hook prerouting priority -300; iifname "$ifc" drop; }
		chain out { type filter hook postrouting priority -300; oifname "$ifc" drop; }
	}
	EOF
}

bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	ICP_PIDS+=($!)
}

COTURN_USER=icp
COTURN_PASS=icppass
COTURN_REALM=icepath.test
# start_coturn NS IP: coturn listening on IP:3478, long-term credentials.
start_coturn() {
	local ns=$1 ip=$2 db="$ICP_TMP/turndb-$1" i
	command -v turnserver >/dev/null || icp_fail "turnserver not installed (Debian package coturn; make deps)"
	: >"$db"
	ip netns exec "$ns" turnserver -n --listening-ip="$ip" --relay-ip="$ip" \
		--listening-port=3478 --lt-cred-mech --user="$COTURN_USER:$COTURN_PASS" \
		--realm="$COTURN_REALM" --fingerprint --no-tls --no-dtls --no-cli \
		--userdb="$db" --pidfile="$ICP_TMP/turn-$1.pid" --log-file=stdout \
		--simple-log --no-stdout-log --min-port=49152 --max-port=49999 \
		--allow-loopback-peers --no-multicast-peers \
		>"$ICP_TMP/coturn-$1.log" 2>&1 &
	COTURN_PID=$!
	ICP_PIDS+=($COTURN_PID)
	for i in $(seq 1 50); do
		ip netns exec "$ns" ss -uln 2>/dev/null | grep -q "$ip:3478" && return 0
		sleep 0.1
	done
	cat "$ICP_TMP/coturn-$1.log" >&2
	icp_fail "coturn did not start listening on $ip:3478 in $ns"
}

# wait_for CMD... : poll up to ${WAIT_SECS:-10}s for CMD to succeed.
wait_for() {
	local end=$((SECONDS + ${WAIT_SECS:-10}))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
