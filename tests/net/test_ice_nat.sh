#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two icepath-peers through NAT topologies (tests/net/ice_lib.sh), coturn
# as STUN/TURN on the public segment. Each case: a pair must be selected,
# its candidate types must be what RFC 8445 makes a correct agent pick, and
# 50 RTP packets must pass each way.
#
#  case                    A (controlling)        B (controlled)
#  public-public           public                 public           host/host
#  prnat-public            port-restricted NAT    public           A: srflx->host
#  prnat-prnat             port-restricted NAT    port-restr. NAT  srflx both
#  symnat-symnat           symmetric NAT          symmetric NAT    a relay on the path
#  relay-only              public, --relay-only   public           relay
#  lite                    port-restricted NAT    public, --lite   A: srflx->host
#  ipv6                    public IPv6            public IPv6      host/host
#  consent                 public                 public, leaves   A: consent-lost
#
# PEER_A / PEER_B override the programs (the libnice interop test reuses
# this file's cases with nice-peer on one side).
set -u
build=${1:?usage: test_ice_nat.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ice_lib.sh"
icp_require_root
command -v jq >/dev/null || icp_fail "jq not installed (Debian package jq; make deps)"
PEER_A=${PEER_A:-$(realpath "$build/bin/icepath-peer")}
PEER_B=${PEER_B:-$(realpath "$build/bin/icepath-peer")}
for b in "$PEER_A" "$PEER_B"; do [ -x "$b" ] || icp_fail "$b not built (make all)"; done
media="--send $MEDIA_N --expect $MEDIA_N --interval 10"

topo_init
topo_public pa 1
topo_public pb 2
topo_natted na 1 port-restricted 10.1.0
topo_natted nb 2 port-restricted 192.168.2
topo_natted sa 3 symmetric 10.3.0
topo_natted sb 4 symmetric 192.168.4

# Both public, no servers: host candidates only. A remote candidate may be
# reported as peer-reflexive when the peer's check arrived before its SDP
# (RFC 8445 §7.3.1.3); the address is the host one either way.
ice_case public-public "$NS_pa" "$PEER_A --controlling $media" \
	"$NS_pb" "$PEER_B --controlled $media" \
	'^host (host|prflx)$' '^host (host|prflx)$'

# A behind a port-restricted NAT, B public, both use STUN. A's check from
# its host base comes back with A's mapped address, which is A's srflx
# candidate (RFC 8445 §7.2.5.3.1: the valid pair's local candidate is the
# one whose address equals the mapped address). B sees A's srflx address:
# srflx, or prflx if the check arrived before A's SDP was read (§7.3.1.3).
stun="--stun $PUB_IP:3478"
ice_case prnat-public "$NS_na" "$PEER_A --controlling $stun $media" \
	"$NS_pb" "$PEER_B --controlled $stun $media" \
	'^srflx host$' '^host (srflx|prflx)$'

# Both behind port-restricted NATs: private addresses are unreachable, the
# NATs' mappings are endpoint-independent, so srflx <-> srflx.
ice_case prnat-prnat "$NS_na" "$PEER_A --controlling $stun $media" \
	"$NS_nb" "$PEER_B --controlled $stun $media" \
	'^srflx (srflx|prflx)$' '^srflx (srflx|prflx)$'

# Both behind symmetric NATs: srflx mappings are useless towards the peer;
# only a path through a TURN relay works. Each side's view of the pair has
# a relay on one end (its own relay, or the peer's as the remote).
if want_case symnat-symnat; then
	ice_case symnat-symnat "$NS_sa" "$PEER_A --controlling $stun ${TURN_ARGS[*]} $media" \
		"$NS_sb" "$PEER_B --controlled $stun ${TURN_ARGS[*]} $media" \
		'(^relay |relay$)' '(^relay |relay$)'
	for side in a b; do
		[ "$(gathered symnat-symnat $side host)/$(gathered symnat-symnat $side srflx)/$(gathered symnat-symnat $side relay)" = 1/1/1 ] ||
			icp_fail "symnat-symnat: peer $side did not gather host/srflx/relay 1/1/1"
	done
fi

# --relay-only: only relayed candidates are offered and used, even with a
# direct path available.
if want_case relay-only; then
	ice_case relay-only "$NS_pa" "$PEER_A --controlling --relay-only ${TURN_ARGS[*]} $media" \
		"$NS_pb" "$PEER_B --controlled $media" \
		'^relay (host|prflx)$' '^host relay$'
	[ "$(gathered relay-only a candidates)" = "$(gathered relay-only a relay)" ] ||
		icp_fail "relay-only: A advertised more than its relayed candidates"
fi

# An ICE-lite peer (RFC 8445 §2.5) on the public side: it only answers,
# the full agent behind the NAT checks and nominates; the lite side's pair
# is its host candidate and the full agent's mapped address.
ice_case lite "$NS_na" "$PEER_A --controlling $stun $media" \
	"$NS_pb" "$PEER_B --controlled --lite $media" \
	'^srflx host$' '^host (srflx|prflx)$'

# IPv6 on the public segment (2001:db8::/32, RFC 3849): host pair over IPv6.
if want_case ipv6; then
	ip -n "$NS_pa" addr add 2001:db8:113::11/64 dev eth0 nodad
	ip -n "$NS_pb" addr add 2001:db8:113::12/64 dev eth0 nodad
	run_pair ipv6 "$NS_pa" "$PEER_A --controlling --bind [2001:db8:113::11] $media" \
		"$NS_pb" "$PEER_B --controlled --bind [2001:db8:113::12] $media"
	expect_sel ipv6 A "$SEL_A" '^host (host|prflx)$'
	expect_sel ipv6 B "$SEL_B" '^host (host|prflx)$'
	grep -q '"address":"2001:db8:113::12"' "$ICP_TMP/ipv6/a.log" ||
		icp_fail "ipv6: A did not select the peer's IPv6 address"
fi

# Consent freshness (RFC 7675): B finishes and leaves; A's consent checks
# go unanswered, A reports consent-lost and sends nothing more: the packet
# count in its consent-lost event is the count it ends with. A can never
# meet its --expect, so it must fail (exit 1) at its timeout.
if want_case consent; then
	dir="$ICP_TMP/consent"
	mkdir -p "$dir"
	icp_log "case consent"
	ip netns exec "$NS_pa" "$PEER_A" --controlling --consent-timeout 1200 --json \
		--send 2000 --expect 2000 --interval 10 --timeout 8 \
		--local-sdp "$dir/a.sdp" --remote-sdp "$dir/b.sdp" >"$dir/a.log" 2>"$dir/a.err" &
	pa=$!
	ICP_PIDS+=("$pa")
	ip netns exec "$NS_pb" "$PEER_B" --controlled --json --send 20 --expect 20 --linger 0 \
		--interval 10 --local-sdp "$dir/b.sdp" --remote-sdp "$dir/a.sdp" >"$dir/b.log" \
		2>"$dir/b.err" || icp_fail "consent: B failed: $(cat "$dir/b.log" "$dir/b.err")"
	wait "$pa" && icp_fail "consent: A met expectations it cannot meet: $(cat "$dir/a.log")"
	lost=$(jq -r 'select(.event == "consent-lost") | .sent' "$dir/a.log" | head -n 1)
	[ -n "$lost" ] || icp_fail "consent: A never reported consent-lost: $(cat "$dir/a.log")"
	jq -e 'select(.event == "consent-regained")' "$dir/a.log" >/dev/null &&
		icp_fail "consent: consent regained with the peer gone"
	final=$(jq -r 'select(.event == "failed") | .reason' "$dir/a.log")
	[[ $final == *"sent $lost/2000"* ]] ||
		icp_fail "consent: A kept sending after consent-lost at $lost packets: $final"
	icp_log "  A lost consent after $lost packets and sent no more ($final)"
fi

# Error paths: usage errors exit 2; a malformed or ICE-less remote SDP is a
# "failed" event naming the reason (and the line), exit 1.
if want_case errors; then
	dir="$ICP_TMP/errors"
	mkdir -p "$dir"
	icp_log "case errors"
	for bad in "" "--controlling" "--controlling --local-sdp x" \
		"--controlled --local-sdp x --remote-sdp y --relay-only" \
		"--controlled --local-sdp x --remote-sdp y --turn 203.0.113.1:3478" \
		"--controlled --local-sdp x --remote-sdp y --stun host.example:3478" \
		"--controlled --local-sdp x --remote-sdp y --send -1" \
		"--controlled --local-sdp x --remote-sdp y --bind nonsense"; do
		# shellcheck disable=SC2086
		nsx "$NS_pa" "$PEER_A" $bad >/dev/null 2>&1
		rc=$?
		[ $rc -eq 2 ] || icp_fail "errors: '$bad' exited $rc, want 2 (usage)"
	done
	peer_err() { # remote SDP text, expected words in the failure
		printf '%b' "$1" >"$dir/r.sdp"
		nsx "$NS_pa" "$PEER_A" --controlled --json --timeout 5 --expect 1 \
			--local-sdp "$dir/l.sdp" --remote-sdp "$dir/r.sdp" >"$dir/out" 2>/dev/null &&
			icp_fail "errors: accepted remote SDP '$1'"
		# a malformed candidate line is a warning, the failure follows
		jq -r 'select(.event == "failed" or .event == "warning") | .reason' "$dir/out" |
			grep -q "$2" ||
			icp_fail "errors: failure for '$1' does not say '$2': $(cat "$dir/out")"
	}
	peer_err 'v=0\r\nm=audio\r\n' 'line 2: m= line has no port'
	peer_err 'v=0\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:abcd\r\n' 'no a=ice-ufrag/a=ice-pwd'
	peer_err 'm=audio 9 RTP/AVP 0\na=ice-ufrag:ab\na=ice-pwd:0123456789012345678901\n' 'RFC 8839'
	peer_err 'm=audio 9 RTP/AVP 0\na=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\na=candidate:1 1 UDP x 192.0.2.1 9 typ host\n' 'line 4: candidate priority'
	help=$(nsx "$NS_pa" "$PEER_A" --help) || icp_fail "errors: --help did not exit 0"
	grep -q -- '--relay-only' <<<"$help" || icp_fail "errors: --help lacks options"
fi

icp_log "PASS: 9 NAT cases, pairs as RFC 8445 predicts, $MEDIA_N RTP packets each way"
