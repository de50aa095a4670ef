#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages icepath needs, only those that are missing.
# Not root, or no apt: print the exact command and stop.
set -euo pipefail

# package            what it is for (README's dependency table says the same)
PKGS=(
	make gcc clang llvm pkg-config      # build; clang -target bpf, libFuzzer
	libclang-rt-14-dev                  # clang's sanitizer and libFuzzer runtimes
	libbpf-dev bpftool libelf-dev       # BPF loader, skeletons
	linux-libc-dev                      # uapi headers for BPF and kernel/
	libmnl-dev                          # rtnetlink (kernel/netif.c), netdev genetlink
	libnl-3-dev libnl-route-3-dev       # fast path next hops: link/route/neighbour caches
	libssl-dev zlib1g-dev               # HMAC/MD5/SHA, CRC-32; DTLS (libssl)
	libsrtp2-dev                        # SRTP/SRTCP (userspace/crypto/srtpctx.c)
	libcmocka-dev                       # unit tests
	iproute2 nftables                   # netns topologies, NAT models
	ethtool                             # veth checksum offload off in XDP tests (a local
	                                    # sender's offloaded UDP sum is partial on a veth);
	                                    # GRO on the bench's receiving veth
	coturn                              # STUN/TURN server in tests and demo
	libnice-dev                         # interop peer
	jq                                  # netns tests read JSON output (peers, icepathctl)
	rtpengine-daemon                    # comparison in make bench; NG interop test
	python3                             # make bench's report (tools/bench/report.py)
	libsystemd-dev                      # sd_notify (Type=notify, watchdog), the journal
	debhelper lintian                   # make deb: dh build, lintian check of the .deb
	prometheus                          # promtool check metrics, a real scraper in tests
	curl                                # HTTP requests to /metrics in the netns tests
	chromium                            # a real WebRTC peer: the WebRTC <-> SIP gateway test
	libhiredis-dev                      # --redis: calls replicated for a standby (relay_redis.c)
	redis-server                        # the Redis of test_icepathd_failover (and redis-cli)
	kamailio                            # the SIP proxy (its rtpengine module) of test_icepathd_failover_sip
	                                    # and test_kamailio_readme; its service must not start (policy-rc.d)
	sip-tester                          # sipp: the SIP phones of those tests
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "icepath: missing packages: ${missing[*]}" >&2
	echo "icepath: as root, run:  apt-get update && $line" >&2
	exit 1
fi

echo "icepath: installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A service that a package would start (coturn, rtpengine, kamailio) must not start:
# tests run their own instances in namespaces.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
