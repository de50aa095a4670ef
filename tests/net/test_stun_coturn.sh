#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepath-stun against a real STUN server (coturn), behind a NAT and without.
# Usage: bash tests/net/test_stun_coturn.sh BUILD_DIR
#
#   client 10.0.0.2 --- 10.0.0.1 [router, port-restricted NAT] 203.0.113.1 --+
#                                                                              |
#   srv: bridge br0 203.0.113.10 coturn :3478 --------------------------------+
#        also 203.0.113.11 (coturn --secure-stun), 2001:db8::10 (coturn)       |
#                                                                              |
#   pub 203.0.113.20, 2001:db8::20 (public segment, no NAT) -------------------+
#
# Asserts (on the --json output): from behind the NAT the mapped address is
# the router's WAN address, on the port the NAT kept (masquerade keeps the
# source port while the tuple is free, as it is in a fresh namespace), and
# the mapping is reused for a second request from the same local port
# (endpoint-independent mapping); from the public host the mapped address is
# the host's own address and bound port, over IPv4 and IPv6. A coturn with
# --secure-stun answers 401 (exit 3); plus the exit codes for a closed port
# (ICMP), a silent one (timeout), an unbindable address and a bad option.
set -u
build=${1:?usage: test_stun_coturn.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$here/lib.sh"
icp_require_root
stun=$(cd "$build" && pwd)/bin/icepath-stun
[ -x "$stun" ] || icp_fail "$stun not built (make all)"

# json_get KEY < JSON: the value of KEY in icepath-stun's flat JSON object
# (strings unquoted; their values here never hold quotes or commas).
json_get() {
	sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" | tr -d '"'
}

# run NS ARGS...: icepath-stun --json in NS; sets OUT and RC.
run() {
	local ns=$1
	shift
	OUT=$(nsx "$ns" "$stun" --json --timeout 10000 "$@" 2>"$ICP_TMP/stderr")
	RC=$?
	icp_log "icepath-stun $* (in $ns): rc=$RC $OUT"
	[ -s "$ICP_TMP/stderr" ] && sed 's/^/    stderr: /' "$ICP_TMP/stderr"
	return 0
}

expect() { # expect KEY VALUE: OUT has KEY == VALUE
	local got
	got=$(json_get "$1" <<<"$OUT")
	[ "$got" = "$2" ] || icp_fail "$1: got '$got', want '$2' in: $OUT"
}

# extra_coturn NAME IP SS_ADDR [ARGS]: another coturn in $NS_srv, as
# start_coturn does but with extra options (start_coturn takes none).
extra_coturn() {
	local name=$1 ip=$2 ss_addr=$3
	shift 3
	: >"$ICP_TMP/turndb-$name"
	bg "$NS_srv" turnserver -n --listening-ip="$ip" --relay-ip="$ip" --listening-port=3478 \
		--lt-cred-mech --user="$COTURN_USER:$COTURN_PASS" --realm="$COTURN_REALM" \
		--fingerprint --no-tls --no-dtls --no-cli --userdb="$ICP_TMP/turndb-$name" \
		--pidfile="$ICP_TMP/turn-$name.pid" --log-file=stdout --simple-log \
		--no-stdout-log --min-port=50000 --max-port=50999 "$@" \
		>"$ICP_TMP/coturn-$name.log" 2>&1
	WAIT_SECS=10 wait_for eval "nsx '$NS_srv' ss -uln | grep -qF '$ss_addr'" || {
		cat "$ICP_TMP/coturn-$name.log" >&2
		icp_fail "coturn ($name) did not start listening on $ss_addr"
	}
}

ns_new client
ns_new router
ns_new srv
ns_new pub
ns_link "$NS_client" eth0 10.0.0.2/24 "$NS_router" lan0 10.0.0.1/24
ns_link "$NS_router" wan0 203.0.113.1/24 "$NS_srv" p-router -
ns_link "$NS_pub" eth0 203.0.113.20/24 "$NS_srv" p-pub -
ns_route "$NS_client" default via 10.0.0.1
ip -n "$NS_srv" link add br0 type bridge || icp_fail "cannot create a bridge in $NS_srv"
ip -n "$NS_srv" link set p-router master br0
ip -n "$NS_srv" link set p-pub master br0
ip -n "$NS_srv" addr add 203.0.113.10/24 dev br0
ip -n "$NS_srv" link set br0 up
nat_router "$NS_router" lan0 wan0 port-restricted
start_coturn "$NS_srv" 203.0.113.10

# 1. Behind the NAT, kernel-chosen port.
run "$NS_client" 203.0.113.10
[ "$RC" -eq 0 ] || icp_fail "icepath-stun from behind the NAT failed (exit $RC)"
expect ok true
expect mapped_ip 203.0.113.1
expect mapped_attribute XOR-MAPPED-ADDRESS
expect server 203.0.113.10:3478
local_addr=$(json_get local <<<"$OUT")
[ "${local_addr%:*}" = 10.0.0.2 ] || icp_fail "local address $local_addr is not 10.0.0.2:PORT"
port=$(json_get mapped_port <<<"$OUT")
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
	icp_fail "mapped port '$port' is not a port"
[ "$port" = "${local_addr##*:}" ] ||
	icp_fail "NAT did not keep the source port: local $local_addr, mapped port $port"
software=$(json_get software <<<"$OUT")
case $software in [Cc]oturn*) ;; *) icp_fail "SOFTWARE '$software' is not coturn's" ;; esac

# 2. Behind the NAT from a fixed port, twice: same mapping both times.
run "$NS_client" --bind 10.0.0.2:40000 203.0.113.10
[ "$RC" -eq 0 ] || icp_fail "icepath-stun --bind 10.0.0.2:40000 failed (exit $RC)"
expect local 10.0.0.2:40000
expect mapped 203.0.113.1:40000
run "$NS_client" --bind 10.0.0.2:40000 203.0.113.10:3478
[ "$RC" -eq 0 ] || icp_fail "second request from 10.0.0.2:40000 failed (exit $RC)"
expect mapped 203.0.113.1:40000

# 3. Public host, no NAT: the mapped address is its own.
run "$NS_pub" --bind 203.0.113.20:41000 203.0.113.10
[ "$RC" -eq 0 ] || icp_fail "icepath-stun from the public host failed (exit $RC)"
expect local 203.0.113.20:41000
expect mapped 203.0.113.20:41000
run "$NS_pub" 203.0.113.10
[ "$RC" -eq 0 ] || icp_fail "icepath-stun from the public host (any port) failed (exit $RC)"
expect mapped "$(json_get local <<<"$OUT")"
expect mapped_ip 203.0.113.20

# 4. Text output names the same things.
text=$(nsx "$NS_pub" "$stun" --timeout 10000 --bind 203.0.113.20:41001 203.0.113.10) ||
	icp_fail "text mode failed"
grep -qx 'mapped: 203.0.113.20:41001' <<<"$text" || icp_fail "text output: $text"
grep -qx 'local: 203.0.113.20:41001' <<<"$text" || icp_fail "text output: $text"

# 5. IPv6, no NAT: XOR-MAPPED-ADDRESS over IPv6 (RFC 8489 §14.2), from a
# second coturn listening on 2001:db8::10 of the same segment.
ip -n "$NS_srv" addr add 2001:db8::10/64 dev br0 nodad
ip -n "$NS_pub" addr add 2001:db8::20/64 dev eth0 nodad
extra_coturn v6 2001:db8::10 "[2001:db8::10]:3478"
run "$NS_pub" --bind '[2001:db8::20]:41002' '[2001:db8::10]'
[ "$RC" -eq 0 ] || icp_fail "icepath-stun over IPv6 failed (exit $RC)"
expect mapped '[2001:db8::20]:41002'
expect server '[2001:db8::10]:3478'

# 6. An error response from a real server: with --secure-stun coturn wants
# Binding requests authenticated and answers ours 401 (exit 3).
ip -n "$NS_srv" addr add 203.0.113.11/24 dev br0
extra_coturn secure 203.0.113.11 203.0.113.11:3478 --secure-stun
run "$NS_pub" 203.0.113.11
[ "$RC" -eq 3 ] || icp_fail "error response: exit $RC, want 3"
expect ok false
expect error_code 401

# 7. Failures: closed port (ICMP port unreachable) and a silent port.
run "$NS_pub" 203.0.113.10:3479
[ "$RC" -eq 1 ] || icp_fail "closed port: exit $RC, want 1"
expect ok false
nsx "$NS_srv" nft -f - <<-EOF || icp_fail "nft drop rule"
table inet icpdrop {
	chain in { type filter hook input priority filter; udp dport 3480 drop; }
}
EOF
OUT=$(nsx "$NS_pub" "$stun" --json --timeout 1200 203.0.113.10:3480 2>/dev/null)
RC=$?
[ "$RC" -eq 1 ] || icp_fail "silent port: exit $RC, want 1 ($OUT)"
expect ok false
tx=$(json_get transmissions <<<"$OUT")
[ "$tx" -ge 1 ] || icp_fail "silent port: $tx transmissions"
run "$NS_pub" --bind 10.9.9.9 203.0.113.10
[ "$RC" -eq 4 ] || icp_fail "bind to a foreign address: exit $RC, want 4"
nsx "$NS_pub" "$stun" --timeout nope 203.0.113.10 2>/dev/null
[ $? -eq 2 ] || icp_fail "bad --timeout: want exit 2"

icp_log "PASS: mapped address behind NAT = router WAN, public host = itself"
exit 0
