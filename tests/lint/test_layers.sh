#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The layering rules of README's "Folders" section, checked over the sources
# and the built archives: tests/lint/test_layers.sh BUILD
#
#   codec   leaves: libc, libcrypto, zlib, and other codec headers
#   crypto  DTLS-SRTP, SRTP, SDES: codec, libssl, libsrtp2 (only it includes
#           <openssl/ssl.h> or <srtp2/...>)
#   ice     the agent and the TURN client: codec only
#   ng      the NG protocol: codec only
#   kernel  libbpf, libnl, libmnl, the BPF skeleton: codec only, no calls
#   daemon  everything, but the kernel only through icepath/fastpath.h (and
#           the rtnetlink monitor, icepath/netif.h, only in relay_ha.c: the
#           standby watching for the service address), the clock
#           (icepath/monotime.h) only in relay_loop.c and main.c, and hiredis
#           only in relay_redis.c
#   bpf     fp_abi.h, fp_stats.def and demux.h only
#
# Three checks: every #include "icepath/X.h" of a file is allowed for its
# folder (and no userspace file includes libbpf/libnl/libmnl or a skeleton);
# turn_client.h does not include ice.h;
# no archive leaves a symbol undefined that only a layer above it defines (an
# arrow running up that no header shows); no file of userspace/, kernel/ or
# bpf/ is over MAX_LINES lines; no include cycle among headers.
set -u
build=${1:?usage: test_layers.sh BUILD}
cd "$(dirname "$0")/../.."
MAX_LINES=1000
fail=0
bad() { echo "layering: $*"; fail=1; }

# The public headers by layer (include/icepath/NAME.h, or NAME itself).
hdr_codec="stun channel_data sdp bencode rtpstat netaddr ice_candidate demux"
hdr_crypto="dtls srtpctx sdes"
hdr_ice="ice ice_transmit turn_client"
hdr_ng="ng ng_client"
hdr_kernel="fastpath fp_abi fp_stats.def netif"
hdr_base="compiler" # language helpers, no layer of their own
hdr_clock="monotime" # reads the clock: for the I/O layers' loops and the tools
hdr_bench="bench_abi" # make bench's BPF layouts: bpf/bench_*.bpf.c and tools only

allowed_for() { # folder -> the public headers its files may include
	case $1 in
	userspace/codec|include/codec) echo "$hdr_base $hdr_codec" ;;
	userspace/crypto|include/crypto) echo "$hdr_base $hdr_codec $hdr_crypto" ;;
	userspace/ice|include/ice) echo "$hdr_base $hdr_codec $hdr_ice" ;;
	userspace/ng|include/ng) echo "$hdr_base $hdr_codec $hdr_ng $hdr_clock" ;;
	kernel|include/kernel) echo "$hdr_base $hdr_codec $hdr_kernel" ;;
	userspace/daemon) echo "$hdr_base $hdr_codec $hdr_crypto $hdr_ice $hdr_ng fastpath $hdr_clock netif" ;;
	bpf) echo "$hdr_base fp_abi fp_stats.def demux $hdr_bench" ;;
	include/clock|include/base|include/bench) echo "" ;;
	*) echo "?" ;;
	esac
}

layer_of_header() { # NAME -> the layer that owns include/icepath/NAME
	local n=$1 l
	for l in base codec crypto ice ng kernel clock bench; do
		local v="hdr_$l"
		case " ${!v} " in *" $n "*) echo "$l"; return ;; esac
	done
	echo "?"
}

check_file() { # file folder-key
	local f=$1 key=$2 allow inc name
	allow=" $(allowed_for "$key") "
	while IFS= read -r inc; do
		name=${inc#icepath/}
		name=${name%.h}
		case "$allow" in
		*" $name "*) ;;
		*) bad "$f includes \"$inc\", which its layer ($key) may not use" ;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(icepath\/[^"]*\)".*/\1/p' "$f")
	case $key in
	userspace/*)
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](bpf/|libmnl/|netlink/|linux/bpf\.h|.*\.skel\.h)' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: only kernel/ talks to libbpf and netlink"; done |
			grep . && fail=1 ;;
	esac
	case $key:$(basename "$f") in
	userspace/daemon:relay_loop.c|userspace/daemon:main.c) ;;
	userspace/daemon:*)
		# Time comes in from the loop: one clock read per turn, in the
		# loop's file; the rest of the daemon gets now_ms.
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"icepath/monotime\.h"' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: only relay_loop.c (and main.c) read the clock; take now_ms"; done |
			grep . && fail=1 ;;
	esac
	case $key:$(basename "$f") in
	userspace/daemon:relay_ha.c) ;;
	userspace/daemon:*)
		# The daemon's one view of rtnetlink: the standby's address watch.
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"icepath/netif\.h"' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: only relay_ha.c (the standby) watches rtnetlink in the daemon"; done |
			grep . && fail=1 ;;
	esac
	case $key:$(basename "$f") in
	userspace/daemon:relay_redis.c) ;;
	*)
		# One file talks to Redis: one record format, one store driver.
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]hiredis/' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: only userspace/daemon/relay_redis.c talks to hiredis"; done |
			grep . && fail=1 ;;
	esac
	case $key in
	userspace/crypto|include/crypto) ;;
	*)
		# TLS and SRTP state stays behind the crypto layer's own API.
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](openssl/ssl\.h|openssl/tls1\.h|openssl/srtp\.h|srtp2/)' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: only userspace/crypto/ talks to libssl and libsrtp2"; done |
			grep . && fail=1 ;;
	esac
	case $key in
	userspace/codec|userspace/crypto|userspace/ice|userspace/ng)
		# The daemon's private headers are out of reach below it.
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(\.\./)*(daemon/)?(relay|call|daemon_opts|daemon_log|sdp_rewrite|timerheap)\.h"' "$f" |
			while IFS= read -r l; do echo "layering: $f:$l: a daemon header below the daemon"; done |
			grep . && fail=1 ;;
	esac
}

for dir in userspace/codec userspace/crypto userspace/ice userspace/ng userspace/daemon kernel bpf; do
	[ -d "$dir" ] || { bad "missing folder $dir"; continue; }
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		check_file "$f" "$dir"
	done
done
[ -e userspace/icepathd ] && bad "userspace/icepathd exists: the daemon lives in userspace/daemon"
for f in userspace/*.c userspace/*.h; do
	[ -f "$f" ] && bad "$f sits flat in userspace/: it belongs in a layer's folder"
done

# Public headers: each may include only its own layer and those below it.
for f in include/icepath/*.h include/icepath/*.def; do
	name=$(basename "$f"); name=${name%.h}
	l=$(layer_of_header "$name")
	[ "$l" = "?" ] && { bad "$f is in no layer (add it to tests/lint/test_layers.sh)"; continue; }
	check_file "$f" "include/$l"
done

# The TURN client stands alone: what it shares with the agent is in
# ice_transmit.h, so turn_client.h never pulls in the agent's ice.h.
grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"icepath/ice\.h"' include/icepath/turn_client.h |
	while IFS= read -r l; do echo "layering: include/icepath/turn_client.h:$l: use icepath/ice_transmit.h, not the agent's ice.h"; done |
	grep . && fail=1

# Headers that belong to the daemon alone may not be public.
for n in relay call daemon_opts daemon_log sdp_rewrite timerheap; do
	[ -e "include/icepath/$n.h" ] && bad "include/icepath/$n.h is daemon-private: it lives in userspace/daemon/"
done

# Symbols: an archive may only need what its own layer line links.
declare -A link=(
	[codec]="codec" [crypto]="crypto codec" [ice]="ice codec" [ng]="ng codec"
	[kernel]="kernel codec" [daemon]="daemon ng ice kernel crypto codec"
)
declare -A owner=()
for l in "${!link[@]}"; do
	a="$build/lib/libicepath-$l.a"
	[ -f "$a" ] || { bad "$a not built"; continue; }
	while read -r sym; do owner[$sym]=$l; done < <(nm -g --defined-only "$a" 2>/dev/null | awk 'NF==3 {print $3}')
done
for l in "${!link[@]}"; do
	a="$build/lib/libicepath-$l.a"
	[ -f "$a" ] || continue
	while read -r sym; do
		o=${owner[$sym]:-}
		[ -z "$o" ] && continue # libc, libcrypto, libbpf...
		case " ${link[$l]} " in
		*" $o "*) ;;
		*) bad "libicepath-$l.a needs $sym, defined by the $o layer above it" ;;
		esac
	done < <(nm -g --undefined-only "$a" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u)
done

# Size: a big module is a folder of prefixed files over one private header.
for f in userspace/*/*.c kernel/*.c bpf/*.c; do
	[ -f "$f" ] || continue
	n=$(wc -l <"$f")
	[ "$n" -gt "$MAX_LINES" ] && bad "$f has $n lines (over $MAX_LINES): split it along a seam"
done

# Include cycles among headers (tsort names any loop it finds).
edges=$(for f in include/icepath/*.h userspace/*/*.h kernel/*.h; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while IFS= read -r inc; do echo "$(basename "$f") $(basename "$inc")"; done
done)
if [ -n "$edges" ]; then
	cyc=$(echo "$edges" | tsort 2>&1 >/dev/null | grep -v '^tsort: -: input contains a loop:$' | sed 's/^tsort: //')
	[ -n "$cyc" ] && bad "include cycle among headers: $(echo "$cyc" | tr '\n' ' ')"
fi

if [ "$fail" -ne 0 ]; then
	echo "layering: FAILED (README.md, \"Folders\", has the rules)"
	exit 1
fi
echo "layering: ok ($(ls userspace/*/*.c kernel/*.c | wc -l) sources, ${#owner[@]} symbols in ${#link[@]} archives)"
