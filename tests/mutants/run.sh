#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make mutants: tests/mutants/run.sh BUILD [PATTERN]
#
# Every line of tests/mutants/mutants.tsv (FILE, a GNU sed expression, what
# it breaks) is applied to a copy of FILE; the copy is compiled and linked
# with the other objects of the ICE and codec layers into the unit tests
# that cover them (test_ice_agent, test_turn_client, test_stun), which then
# run. A mutant is killed when a test fails (or hangs past MUTANT_TIMEOUT
# seconds); it survives when they all pass. A line whose expression changes
# nothing, or whose mutant does not compile, is an error of the list. Prints
# one line per mutant and "mutants: K/N killed"; exits 1 unless every one
# was killed. PATTERN (grep -E) picks lines by description.
set -u
build=${1:?usage: run.sh BUILD [PATTERN]}
pattern=${2:-.}
cd "$(dirname "$0")/../.."
top=$PWD
list=tests/mutants/mutants.tsv
timeout_s=${MUTANT_TIMEOUT:-120}
work=$(mktemp -d "${TMPDIR:-/tmp}/icepath-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT
CC=${CC:-gcc}
CFLAGS="-std=c11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Iinclude -Iuserspace/ice -Itests/unit"
LIBS="-lcmocka -lcrypto -lz -lm -lpthread"
tests="test_ice_agent test_turn_client test_stun"
srcs=$(ls userspace/codec/*.c userspace/ice/*.c)

obj_of() { echo "$work/base/$(echo "$1" | tr / _).o"; }

# The unmutated objects, once.
mkdir -p "$work/base"
for f in $srcs tests/unit/test_ice_agent.c tests/unit/test_turn_client.c tests/unit/test_stun.c; do
	echo "$f"
done | xargs -P 2 -I{} sh -c "$CC $CFLAGS -c {} -o $work/base/\$(echo {} | tr / _).o" ||
	{ echo "mutants: the unmutated tree does not compile"; exit 1; }

link_and_run() { # dir mutated-file|"" -> 0 all pass, 1 a test failed
	local dir=$1 mfile=$2 objs="" t
	for f in $srcs; do
		if [ "$f" = "$mfile" ]; then objs="$objs $dir/mutant.o"; else objs="$objs $(obj_of "$f")"; fi
	done
	for t in $tests; do
		$CC -o "$dir/$t" "$(obj_of tests/unit/$t.c)" $objs $LIBS 2>"$dir/link.log" || return 2
		timeout --kill-after=5 "$timeout_s" "$dir/$t" >"$dir/$t.log" 2>&1 || { echo "$t"; return 1; }
	done
	return 0
}

# The unmutated suite must pass, or nothing below means anything.
mkdir -p "$work/none"
if ! link_and_run "$work/none" "" >/dev/null; then
	echo "mutants: the unit tests fail without any mutant"
	exit 1
fi

n=0 killed=0 bad=0
while IFS=$'\t' read -r file expr what; do
	case $file in ''|'#'*) continue ;; esac
	echo "$what" | grep -qE -- "$pattern" || continue
	n=$((n + 1))
	dir=$work/m$n
	mkdir -p "$dir"
	cp "$file" "$dir/src.c"
	if ! sed -i -e "$expr" "$dir/src.c" 2>"$dir/sed.log" || cmp -s "$file" "$dir/src.c"; then
		printf 'mutant %2d  ERROR     %s: the expression changes nothing in %s\n' "$n" "$what" "$file"
		bad=$((bad + 1))
		continue
	fi
	# compiled where the original sits, so its includes resolve the same way
	# a mutant may leave a variable or helper unused: not an error here
	if ! $CC $CFLAGS -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function \
		-I"$(dirname "$file")" -x c -c "$dir/src.c" -o "$dir/mutant.o" 2>"$dir/cc.log"; then
		printf 'mutant %2d  ERROR     %s: does not compile (%s)\n' "$n" "$what" "$(head -1 "$dir/cc.log")"
		bad=$((bad + 1))
		continue
	fi
	by=$(link_and_run "$dir" "$file")
	case $? in
	1) killed=$((killed + 1)); printf 'mutant %2d  killed    %s (by %s)\n' "$n" "$what" "$by" ;;
	2) bad=$((bad + 1)); printf 'mutant %2d  ERROR     %s: does not link\n' "$n" "$what" ;;
	*) printf 'mutant %2d  SURVIVED  %s (%s: %s)\n' "$n" "$what" "$file" "$expr" ;;
	esac
	rm -f "$dir"/test_* "$dir/mutant.o"
done <"$list"
echo "mutants: $killed/$n killed${bad:+, $bad bad lines}"
[ "$killed" -eq "$n" ] && [ "$bad" -eq 0 ]
