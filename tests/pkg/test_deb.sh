#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package of `make deb`: tests/pkg/test_deb.sh BUILD_DIR
#
# Asserts: the .deb holds exactly the programs, man pages, unit, conffile
# and docs it should (dpkg-deb -c); Depends came from dh_shlibdeps (the
# programs' libraries); /etc/icepath/icepathd.conf is a conffile and every
# key it shows is one icepathd accepts; lintian reports no error; the
# packaged icepathd answers --version (the package's version) and --help from
# the unpacked tree; the man pages render without warnings; the packaged
# unit passes `systemd-analyze verify` (its ExecStart pointed at the
# unpacked daemon, its Documentation at the unpacked man pages).
set -u
build=${1:?usage: test_deb.sh BUILD_DIR}
cd "$(dirname "$0")/../.."
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/icepath-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

version=$(dpkg-parsechangelog -l tools/debian/changelog -S Version)
deb="$build/icepath_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "$deb missing: run 'make deb'"
echo "package: $deb"

# ---- contents ------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | grep -v '^$' |
	sort >"$tmp/files"
for f in /usr/sbin/icepathd /usr/bin/icepathctl /usr/bin/icepath-peer /usr/bin/icepath-stun \
	/usr/share/man/man8/icepathd.8.gz /usr/share/man/man8/icepathctl.8.gz \
	/usr/share/man/man8/icepath-peer.8.gz /usr/share/man/man8/icepath-stun.8.gz \
	/lib/systemd/system/icepathd.service /etc/icepath/icepathd.conf \
	/usr/share/doc/icepath/copyright /usr/share/doc/icepath/changelog.gz; do
	grep -qx "$f" "$tmp/files" || fail "$f is not in the package"
done
# nothing else than those and their directories
extra=$(grep -v -x -e /usr/sbin/icepathd -e '/usr/bin/icepath.*' -e '/usr/share/man/man8/.*\.8\.gz' \
	-e /lib/systemd/system/icepathd.service -e /etc/icepath/icepathd.conf \
	-e '/usr/share/doc/icepath/.*' "$tmp/files" | while read -r p; do
		grep -q "^$p/" "$tmp/files" || echo "$p"; done)
[ -z "$extra" ] || fail "unexpected files in the package: $extra"
echo "contents: $(wc -l <"$tmp/files") entries, as expected"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libbpf1 libsystemd0 libssl3 zlib1g adduser; do
	grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
echo "Depends: $depends"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/icepath/icepathd.conf "$tmp/control/conffiles" ||
	fail "/etc/icepath/icepathd.conf is not a conffile: $(cat "$tmp/control/conffiles" 2>&1)"

# ---- lintian ---------------------------------------------------------------------
lintian --pedantic "$deb" >"$tmp/lintian" 2>&1
sed 's/^/  lintian: /' "$tmp/lintian"
grep -q '^E: ' "$tmp/lintian" && fail "lintian reports errors (above)"
echo "lintian: $(grep -c '^E: ' "$tmp/lintian") errors, $(grep -c '^W: ' "$tmp/lintian") warnings"

# ---- the unpacked programs ----------------------------------------------------------
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
out=$("$root/usr/sbin/icepathd" --version) || fail "icepathd --version failed"
[ "$out" = "icepathd $version" ] || fail "icepathd --version says '$out', package is $version"
"$root/usr/sbin/icepathd" --help >"$tmp/help" || fail "icepathd --help failed"
for w in --interface --metrics --metrics-allow SIGHUP; do
	grep -q -- "$w" "$tmp/help" || fail "icepathd --help does not mention $w"
done
"$root/usr/bin/icepathctl" --help | grep -q '    icepathctl \[OPTIONS\] metrics' ||
	fail "icepathctl --help lacks the metrics command"
echo "unpacked icepathd: '$out', --help $(wc -l <"$tmp/help") lines"

# The man pages are the --help texts: the same first line of the synopsis.
for m in "$root"/usr/share/man/man8/*.8.gz; do
	w=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "$(basename "$m"): man warns: $w"
done
zcat "$root/usr/share/man/man8/icepathd.8.gz" | grep -q 'metrics\\-allow' ||
	fail "icepathd.8 is not the current --help (no --metrics-allow)"

# Every key the conffile shows (commented) is one icepathd takes: uncomment
# them all (host names made addresses: no resolver here) and parse.
sed -n 's/^#\([a-z-]* = .*\)/\1/p' "$root/etc/icepath/icepathd.conf" |
	sed 's/[a-z]*\.example\.net/192.0.2.1/' >"$tmp/all.conf"
[ "$(wc -l <"$tmp/all.conf")" -ge 15 ] || fail "icepathd.conf shows only $(wc -l <"$tmp/all.conf") keys"
"$root/usr/sbin/icepathd" --config "$tmp/all.conf" --help >/dev/null 2>"$tmp/conf.err" ||
	fail "icepathd rejects a key of its own icepathd.conf: $(cat "$tmp/conf.err")"
echo "icepathd.conf: $(wc -l <"$tmp/all.conf") keys, all accepted"

# ---- the unit ----------------------------------------------------------------------
unit="$root/lib/systemd/system/icepathd.service"
for d in '^Type=notify$' '^WatchdogSec=' '^ExecReload=' '^RuntimeDirectory=icepath$' \
	'^StateDirectory=icepath$' '^ReadWritePaths=/sys/fs/bpf$' '^CapabilityBoundingSet=' \
	'--config /etc/icepath/icepathd.conf'; do
	grep -q -- "$d" "$unit" || fail "icepathd.service lacks /$d/"
done
mkdir -p "$tmp/unit"
sed "s#/usr/sbin/icepathd#$root/usr/sbin/icepathd#" "$unit" >"$tmp/unit/icepathd.service"
MANPATH="$root/usr/share/man" systemd-analyze verify "$tmp/unit/icepathd.service" \
	>"$tmp/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$tmp/verify")"
[ -s "$tmp/verify" ] && fail "systemd-analyze verify warns: $(cat "$tmp/verify")"
echo "systemd-analyze verify: clean"
systemd-analyze security --offline=yes "$tmp/unit/icepathd.service" 2>/dev/null | tail -1
echo PASS
