#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# netif (rtnetlink interfaces, kernel/netif.c) in a namespace we build:
# the addresses icepath-netif lists must be exactly what `ip -j addr` says
# are usable host-candidate addresses (up, not loopback, not link-local,
# not tentative), IPv6 ranks above IPv4, and the monitor reports address
# and link changes in order.
set -u
build=${1:?usage: test_netif.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
icp_require_root
tool=$(realpath "$build/bin/icepath-netif")
[ -x "$tool" ] || icp_fail "$tool not built (make all)"
command -v jq >/dev/null || icp_fail "jq not installed (Debian package jq)"

ns_new a
ns_new b
# No duplicate address detection: addresses are usable at once, so the
# comparison below does not race the kernel's DAD timer.
for ns in "$NS_a" "$NS_b"; do
	nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
done
ns_link "$NS_a" va 10.1.0.1/24 "$NS_b" vb 10.1.0.2/24
ip -n "$NS_a" addr add 10.1.0.5/24 dev va
ip -n "$NS_a" addr add 2001:db8:1::1/64 dev va nodad
# (veth, not dummy: this kernel may have no dummy driver)
ip -n "$NS_a" link add dm0 type veth peer name dmb netns "$NS_b"
# No IPv6 on dm0: its link-local address would come and go with the link
# and add events the monitor check below does not cause on purpose.
nsx "$NS_a" sysctl -qw net.ipv6.conf.dm0.disable_ipv6=1
ip -n "$NS_a" addr add 192.168.7.1/24 dev dm0
ip -n "$NS_a" addr add 169.254.9.9/16 dev dm0
ip -n "$NS_a" link set dm0 up
ip -n "$NS_a" link add dd0 type veth peer name ddb netns "$NS_b"
ip -n "$NS_a" addr add 192.168.8.1/24 dev dd0 # stays down

# What `ip` says is a candidate: up, not loopback, not link scope, not
# tentative/deprecated/dadfailed.
expected() {
	nsx "$NS_a" ip -j addr show | jq -r '
		.[] | select((.flags | index("UP")) and ((.flags | index("LOOPBACK")) | not))
		| .ifname as $n | .addr_info[]
		| select(.scope != "link" and .scope != "host" and (.local | startswith("169.254.") | not))
		| select((.tentative // false) == false and (.deprecated // false) == false
			 and (.dadfailed // false) == false)
		| "\($n) \(.local)/\(.prefixlen)"' | sort
}
got=$(nsx "$NS_a" "$tool" list | awk '{print $2, $3}' | sort)
want=$(expected)
icp_log "icepath-netif list:"; sed 's/^/  /' <<<"$got"
[ -n "$want" ] || icp_fail "ip -j addr found no addresses at all"
[ "$got" = "$want" ] || icp_fail "list differs from ip -j addr:
--- ip
$want
--- icepath-netif
$got"
for a in "va 10.1.0.1/24" "va 10.1.0.5/24" "va 2001:db8:1::1/64" "dm0 192.168.7.1/24"; do
	grep -qx "$a" <<<"$got" || icp_fail "missing $a"
done
for a in 192.168.8.1 127.0.0.1 169.254.9.9 fe80:; do
	grep -q " $a" <<<"$got" && icp_fail "$a must not be listed"
done

# --link-local adds fe80::/10 and 169.254/16; --down adds dd0.
ll=$(nsx "$NS_a" "$tool" list --link-local)
grep -q ' fe80:' <<<"$ll" || icp_fail "--link-local did not list an fe80:: address: $ll"
grep -q ' 169.254.9.9/16' <<<"$ll" || icp_fail "--link-local did not list 169.254.9.9"
nsx "$NS_a" "$tool" list --down | grep -q ' 192.168.8.1/24' || icp_fail "--down did not list dd0"
nsx "$NS_a" "$tool" list -4 | grep -q ':' && icp_fail "-4 listed an IPv6 address"
nsx "$NS_a" "$tool" list -6 | grep -q ' 10\.' && icp_fail "-6 listed an IPv4 address"

# RFC 8421: IPv6 first. Every IPv6 local preference beats every IPv4 one.
min6=$(nsx "$NS_a" "$tool" list -6 | sed 's/.*local-pref=//' | sort -n | head -1)
max4=$(nsx "$NS_a" "$tool" list -4 | sed 's/.*local-pref=//' | sort -n | tail -1)
[ "$min6" -gt "$max4" ] || icp_fail "IPv6 local-pref $min6 not above IPv4 $max4"
# Distinct preferences, so pairs of different bases never tie.
dups=$(nsx "$NS_a" "$tool" list | sed 's/.*local-pref=//' | sort | uniq -d)
[ -z "$dups" ] || icp_fail "duplicate local preferences: $dups"

# index/name agree with the kernel.
idx=$(nsx "$NS_a" ip -j link show va | jq '.[0].ifindex')
[ "$(nsx "$NS_a" "$tool" index va)" = "$idx" ] || icp_fail "index va != $idx"
[ "$(nsx "$NS_a" "$tool" name "$idx")" = va ] || icp_fail "name $idx != va"
nsx "$NS_a" "$tool" index nosuchif 2>/dev/null && icp_fail "index of a missing interface succeeded"

# Monitor: four changes, reported in order.
out="$ICP_TMP/monitor.out"
bg "$NS_a" "$tool" monitor --count 4 --timeout 20 >"$out"
mon=${ICP_PIDS[-1]}
WAIT_SECS=10 wait_for grep -qx ready "$out" || icp_fail "monitor never became ready"
ip -n "$NS_a" addr add 10.1.0.9/24 dev va
ip -n "$NS_a" addr del 10.1.0.9/24 dev va
ip -n "$NS_a" link set dm0 down
ip -n "$NS_a" link set dm0 up
wait "$mon"
rc=$?
icp_log "monitor output:"; sed 's/^/  /' "$out"
[ $rc -eq 0 ] || icp_fail "monitor exited $rc (3 = timeout before 4 events)"
events=$(grep -v '^ready$' "$out" | awk '{ print $1, $3, $4 }')
want_ev="addr-added va 10.1.0.9/24
addr-removed va 10.1.0.9/24
link-down dm0
link-up dm0"
got_ev=$(sed 's/ $//' <<<"$events")
[ "$got_ev" = "$want_ev" ] || icp_fail "monitor events differ:
--- want
$want_ev
--- got
$got_ev"
icp_log "PASS: list matches ip -j addr ($(wc -l <<<"$got") addresses), monitor saw 4 events"
