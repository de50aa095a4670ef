#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run icepath's tests: tests/run-tests.sh BUILD [lint|unit|asan|fuzz|pkg|bpf|net]...
# (no kind: all of them). Each test is one program; exit 0 passes,
# 77 is a skip that the test explains on its own output (kernel lacks a
# feature), anything else fails. Ends with "N passed, N failed, N skipped".
set -u
build=${1:?usage: run-tests.sh BUILD [lint|unit|asan|fuzz|pkg|bpf|net]...}
shift
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(lint unit asan fuzz pkg bpf net)

here=$(cd "$(dirname "$0")" && pwd)
log_dir="$build/test-logs"
mkdir -p "$log_dir"
pass=0 fail=0 skip=0
failed=()

run_one() { # kind name timeout command...
	local kind=$1 name=$2 limit=$3
	shift 3
	local log="$log_dir/$kind-$name.log" start end rc
	start=$(date +%s)
	printf '[ RUN      ] %-5s %s\n' "$kind" "$name"
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	# cmocka's own summary lines, so CI shows what ran inside each program.
	grep -E '^\[(  PASSED  |  FAILED  |==========)\]' "$log" | sed 's/^/    /'
	case $rc in
	0)	pass=$((pass + 1))
		printf '[       OK ] %-5s %s (%ss)\n' "$kind" "$name" $((end - start)) ;;
	77)	skip=$((skip + 1))
		printf '[  SKIPPED ] %-5s %s: %s\n' "$kind" "$name" "$(grep -m1 -i 'skip' "$log")" ;;
	124|137) fail=$((fail + 1)); failed+=("$kind/$name")
		printf '[  FAILED  ] %-5s %s: timed out after %ss; last lines:\n' "$kind" "$name" "$limit"
		tail -n 30 "$log" | sed 's/^/    /' ;;
	*)	fail=$((fail + 1)); failed+=("$kind/$name")
		printf '[  FAILED  ] %-5s %s (exit %d); last lines:\n' "$kind" "$name" "$rc"
		tail -n 40 "$log" | sed 's/^/    /' ;;
	esac
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "icepath: $1 tests need root (BPF, netns); run 'make check' as root" >&2
		fail=$((fail + 1)); failed+=("$1/*: not root")
		return 1
	fi
}

for kind in "${kinds[@]}"; do
	case $kind in
	lint)
		# Source rules (layering, file size): shell over the tree and the
		# built archives, no root needed.
		for t in "$here"/lint/test_*.sh; do
			[ -f "$t" ] || continue
			run_one lint "$(basename "$t" .sh)" 120 bash "$t" "$build"
		done ;;
	unit)
		for t in "$build"/tests/test_*; do
			[ -x "$t" ] || continue
			case $(basename "$t") in test_bpf_*) continue ;; esac
			run_one unit "$(basename "$t")" 600 "$t"
		done ;;
	asan)
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		for t in "$build"/asan/tests/test_*; do
			[ -x "$t" ] || continue
			run_one asan "$(basename "$t")" 900 "$t"
		done
		unset ASAN_OPTIONS UBSAN_OPTIONS ;;
	fuzz)
		# Regression only: each built libFuzzer target runs once over
		# every seed in tests/fuzz/corpus/NAME (no mutation; `make fuzz`
		# does the real fuzzing). A target without seeds is an error.
		for t in "$build"/fuzz/fuzz_*; do
			[ -x "$t" ] || continue
			name=$(basename "$t")
			seeds=("$here/fuzz/corpus/${name#fuzz_}"/*)
			if [ ! -f "${seeds[0]}" ]; then
				fail=$((fail + 1)); failed+=("fuzz/$name: no seeds")
				printf '[  FAILED  ] fuzz  %s: no seed files in tests/fuzz/corpus/%s\n' \
					"$name" "${name#fuzz_}"
				continue
			fi
			# -error_exitcode: libFuzzer's default for a crash is 77,
			# which would read as a skip here
			run_one fuzz "$name" 300 "$t" -error_exitcode=1 -runs=0 "${seeds[@]}"
		done ;;
	pkg)
		# The Debian package (make deb) and its systemd unit: contents,
		# lintian, the packaged programs run from the unpacked tree.
		for t in "$here"/pkg/test_*.sh; do
			[ -f "$t" ] || continue
			run_one pkg "$(basename "$t" .sh)" 600 bash "$t" "$build"
		done ;;
	bpf)
		need_root bpf || continue
		for t in "$build"/tests/test_bpf_*; do
			[ -x "$t" ] || continue
			run_one bpf "$(basename "$t")" 600 "$t"
		done ;;
	net)
		need_root net || continue
		for t in "$here"/net/test_*.sh; do
			[ -f "$t" ] || continue
			run_one net "$(basename "$t" .sh)" 900 bash "$t" "$build"
		done ;;
	*)	echo "run-tests.sh: unknown kind '$kind'" >&2; exit 2 ;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
