#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every libFuzzer target for a bounded time: run-fuzz.sh BUILD SECONDS.
# Seeds come from tests/fuzz/corpus/NAME/ (NAME = target without "fuzz_");
# new inputs go to BUILD/fuzz/corpus/NAME so the source tree stays clean.
set -u
build=${1:?usage: run-fuzz.sh BUILD SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
rc=0 n=0
for t in "$build"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t"); short=${name#fuzz_}
	work="$build/fuzz/corpus/$short"; mkdir -p "$work"
	seeds=()
	[ -d "$here/corpus/$short" ] && seeds=("$here/corpus/$short")
	n=$((n + 1))
	echo "== $name: ${secs}s, seeds: ${seeds[*]:-none}"
	if "$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/fuzz/$name-" \
		"$work" "${seeds[@]}" >"$build/fuzz/$name.log" 2>&1; then
		grep -E 'stat::number_of_executed_units|cov:' "$build/fuzz/$name.log" | tail -n 2
		echo "== $name: no crash"
	else
		rc=1
		echo "== $name: CRASH; log and reproducer:"
		tail -n 40 "$build/fuzz/$name.log"
		ls "$build/fuzz/$name-"* 2>/dev/null
	fi
done
[ $n -gt 0 ] || { echo "no fuzz targets built"; exit 1; }
exit $rc
