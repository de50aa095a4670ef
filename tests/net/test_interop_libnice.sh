#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# icepath-peer against libnice (tests/interop/nice-peer.c, libnice's own SDP
# from nice_agent_generate_local_sdp / parse_remote_sdp) in both roles, on
# the topologies of tests/net/ice_lib.sh. Each case: a pair selected on both
# sides with the candidate types RFC 8445 predicts, 50 RTP packets each way.
#
#  case                 controlling            controlled
#  direct-ip-nice       icepath (public)       libnice (public)
#  direct-nice-ip       libnice (public)       icepath (public)
#  regular-nice-ip      libnice, regular nomination -> icepath
#  lite-nice-ip         libnice (public)       icepath --lite (public)
#  prnat-ip-nice        icepath behind port-restricted NAT -> libnice public
#  prnat-nice-ip        libnice behind port-restricted NAT -> icepath public
#  prnat2-ip-nice       icepath and libnice each behind a port-restricted NAT
#  symnat-nice-ip       libnice and icepath each behind a symmetric NAT (TURN)
set -u
build=${1:?usage: test_interop_libnice.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ice_lib.sh"
icp_require_root
command -v jq >/dev/null || icp_fail "jq not installed (Debian package jq; make deps)"
IP=$(realpath "$build/bin/icepath-peer")
NICE=$(realpath "$build/bin/nice-peer")
for b in "$IP" "$NICE"; do [ -x "$b" ] || icp_fail "$b not built (make all)"; done
media="--send $MEDIA_N --expect $MEDIA_N --interval 10"
stun="--stun $PUB_IP:3478"

topo_init
topo_public pa 1
topo_public pb 2
topo_natted na 1 port-restricted 10.1.0
topo_natted nb 2 port-restricted 192.168.2
topo_natted sa 3 symmetric 10.3.0
topo_natted sb 4 symmetric 192.168.4

# libnice binds only the addresses given (its own interface scan would also
# offer IPv6 link-local candidates, which icepath skips anyway).
nbind() { printf -- '--bind %s' "$1"; }

ice_case direct-ip-nice "$NS_pa" "$IP --controlling $media" \
	"$NS_pb" "$NICE --controlled $(nbind 203.0.113.12) $media" \
	'^host (host|prflx)$' '^host (host|prflx)$'

ice_case direct-nice-ip "$NS_pa" "$NICE --controlling $(nbind 203.0.113.11) $media" \
	"$NS_pb" "$IP --controlled $media" \
	'^host (host|prflx)$' '^host (host|prflx)$'

# libnice's regular nomination (USE-CANDIDATE on a second check of a valid
# pair) instead of its default aggressive one.
ice_case regular-nice-ip "$NS_pa" \
	"$NICE --controlling --regular-nomination $(nbind 203.0.113.11) $media" \
	"$NS_pb" "$IP --controlled $media" \
	'^host (host|prflx)$' '^host (host|prflx)$'

# icepath as an ICE-lite agent (RFC 8445 §2.5) under a full libnice agent:
# libnice ignores a=ice-lite in parse_remote_sdp, so it must be the
# controlling side, as a full agent facing a lite one is anyway.
ice_case lite-nice-ip "$NS_pa" "$NICE --controlling $(nbind 203.0.113.11) $media" \
	"$NS_pb" "$IP --controlled --lite $media" \
	'^host (host|prflx)$' '^host (host|prflx)$'

# A NATed controlling side: its valid pair's local candidate is its srflx
# (RFC 8445 §7.2.5.3.1); the public side sees that address as srflx/prflx.
ice_case prnat-ip-nice "$NS_na" "$IP --controlling $stun $media" \
	"$NS_pb" "$NICE --controlled $(nbind 203.0.113.12) $stun $media" \
	'^srflx host$' '^host (srflx|prflx)$'

ice_case prnat-nice-ip "$NS_na" "$NICE --controlling $(nbind 10.1.0.2) $stun $media" \
	"$NS_pb" "$IP --controlled $stun $media" \
	'^srflx host$' '^host (srflx|prflx)$'

ice_case prnat2-ip-nice "$NS_na" "$IP --controlling $stun $media" \
	"$NS_nb" "$NICE --controlled $(nbind 192.168.2.2) $stun $media" \
	'^srflx (srflx|prflx)$' '^srflx (srflx|prflx)$'

# Symmetric NATs both sides: only a relayed path works.
ice_case symnat-nice-ip "$NS_sa" \
	"$NICE --controlling $(nbind 10.3.0.2) $stun ${TURN_ARGS[*]} $media" \
	"$NS_sb" "$IP --controlled $stun ${TURN_ARGS[*]} $media" \
	'(^relay |relay$)' '(^relay |relay$)'

icp_log "PASS: icepath-peer and libnice interoperate in both roles, direct and through NATs"
