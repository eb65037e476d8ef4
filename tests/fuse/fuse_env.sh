# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# fuse_env.sh - sourced by the tests that mount famfs with FUSE (tests/fuse/*.sh,
# tests/mixed/gw_fuse.sh).
#
#   CHECK_OUT=FILE; source "$(dirname "${BASH_SOURCE[0]}")/../fuse/fuse_env.sh"
#
# Gives:
#   fuse_require             /dev/fuse is there (loads the fuse module if needed), else
#                            says so and exits 1
#   ok TEXT / bad TEXT       count a pass / a failure (the caller's passes/fails)
#   check NAME CMD...        CMD must succeed; its output is shown when it does not
#   expect_err NAME TEXT CMD...
#                            CMD must fail and print TEXT
# CHECK_OUT names the scratch file for a command's output.

fuse_require() {
	[ -c /dev/fuse ] || modprobe fuse 2> /dev/null || true
	if [ ! -c /dev/fuse ]; then
		echo "FAIL: /dev/fuse is missing (the fuse kernel module is needed)"
		exit 1
	fi
}

ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

check() { # NAME CMD...
	local name=$1
	shift
	if "$@" > "$CHECK_OUT" 2>&1; then ok "$name"; else
		bad "$name"
		sed 's/^/    | /' "$CHECK_OUT" | tail -n 8
	fi
}

expect_err() { # NAME ERRTEXT CMD...: CMD fails and says ERRTEXT
	local name=$1 text=$2
	shift 2
	if "$@" > "$CHECK_OUT" 2>&1; then
		bad "$name (succeeded)"
	elif grep -q "$text" "$CHECK_OUT"; then
		ok "$name"
	else
		bad "$name (wanted '$text')"
		sed 's/^/    | /' "$CHECK_OUT" | tail -n 4
	fi
}
