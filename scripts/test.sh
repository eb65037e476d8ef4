#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# test.sh - set up and run every test (the README's test command; CI runs it).
#
#   1. scripts/setup.sh (Debian packages, nfs-ganesha FSAL SDK)
#   2. build with -Wall -Wextra -Werror in build/ and run all of ctest
#   3. build with AddressSanitizer + UBSan in build-asan/ and run all of ctest again
#   4. build the libFuzzer harnesses with clang in build-fuzz/ and run tests/fuzz/run.sh:
#      each target's corpus, then FAMFS_FUZZ_SECONDS (default 30) of fuzzing per target
#   5. run the benchmarks (figures only, never a pass/fail on time)
#
# Options: --no-asan (skip step 3), --no-fuzz (skip step 4), --no-bench (skip step 5).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
asan=1
fuzz=1
bench=1
for arg in "$@"; do
	case $arg in
	--no-asan) asan=0 ;;
	--no-fuzz) fuzz=0 ;;
	--no-bench) bench=0 ;;
	*) echo "usage: scripts/test.sh [--no-asan] [--no-fuzz] [--no-bench]" >&2; exit 2 ;;
	esac
done

"$repo/scripts/setup.sh"
jobs=$(nproc)

run_suite() {
	local dir=$1; shift
	echo "== configure and build $dir ($*)"
	cmake -S "$repo" -B "$repo/$dir" -DFAMFS_WERROR=ON "$@" >/dev/null
	cmake --build "$repo/$dir" -j "$jobs" >/dev/null
	echo "== ctest in $dir"
	ctest --test-dir "$repo/$dir" --output-on-failure -j "$jobs"
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$asan" = 1 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DFAMFS_SANITIZE=ON
fi
if [ "$fuzz" = 1 ]; then
	echo "== configure and build build-fuzz (clang, libFuzzer harnesses only)"
	CC=clang cmake -S "$repo" -B "$repo/build-fuzz" -DFAMFS_WERROR=ON -DFAMFS_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$repo/build-fuzz" --target fuzz -j "$jobs" >/dev/null
	echo "== fuzz targets: corpus, then ${FAMFS_FUZZ_SECONDS:-30}s each"
	"$repo/tests/fuzz/run.sh" "$repo/build-fuzz" "${FAMFS_FUZZ_SECONDS:-30}"
fi
if [ "$bench" = 1 ]; then
	echo "== benchmarks (figures, not tests)"
	"$repo/tests/bench/run.sh" "$repo/build"
fi
