#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh - replay every fuzz target's seed corpus, then fuzz each for a while.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is a build configured with CC=clang -DFAMFS_FUZZ=ON (targets built). Each
# target first runs its corpus (tests/fuzz/corpus/<target>/) once, then fuzzes for
# SECONDS (default 30) from a copy of it in a temporary directory: new inputs found are
# not added to the repository's corpus. A crash, leak, UBSan report or timeout fails the
# run, with the crashing input's path (kept) and the sanitizer's report. The mutations
# follow a fixed seed (FAMFS_FUZZ_SEED, default 1), so the test command explores the same
# inputs on every machine and a CI run repeats what a developer ran; give another seed
# (or 0: random) to explore further.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
bin=$build/tests/fuzz
targets=(fuzz_omf fuzz_path fuzz_replay fuzz_hosts)

work=$(mktemp -d "${TMPDIR:-/tmp}/famfs-fuzz.XXXXXX")
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fail TARGET LOG: print the report and the crashing input(s).
fail() {
	local t=$1 log=$2
	echo "FAIL $t: sanitizer report ($log):" >&2
	sed -n '/^==[0-9]*==ERROR\|runtime error\|^SUMMARY\|deadly signal\|ALARM\|out-of-memory/,$p' \
		"$log" | head -80 >&2
	for a in "$work/art-$t"/*; do
		[ -e "$a" ] && echo "FAIL $t: crashing input kept at $a" >&2
	done
	failed=1
}

for t in "${targets[@]}"; do
	[ -x "$bin/$t" ] || { echo "run.sh: $bin/$t is not built" >&2; exit 2; }
	mkdir -p "$work/art-$t" "$work/corpus-$t"
	cp "$here/corpus/$t"/* "$work/corpus-$t/"
	echo "== $t: corpus replay"
	if ! "$bin/$t" -runs=0 -timeout=10 -artifact_prefix="$work/art-$t/" \
		"$here/corpus/$t" >"$work/$t-replay.log" 2>&1; then
		fail "$t" "$work/$t-replay.log"
		continue
	fi
	echo "== $t: fuzzing for ${seconds}s"
	if ! "$bin/$t" -max_total_time="$seconds" -seed="${FAMFS_FUZZ_SEED:-1}" -max_len=65536 -timeout=10 \
		-artifact_prefix="$work/art-$t/" -print_final_stats=1 \
		"$work/corpus-$t" >"$work/$t-fuzz.log" 2>&1; then
		fail "$t" "$work/$t-fuzz.log"
		continue
	fi
	grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$work/$t-fuzz.log" |
		sed "s/^/   /"
done

if [ "$failed" = 1 ]; then
	echo "fuzz: FAILED (logs and inputs in $work)" >&2
	exit 1
fi
rm -rf "$work"
echo "fuzz: all targets passed"
