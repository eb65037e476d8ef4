# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# lib.sh - sourced by the QEMU test drivers (tests/qemu/kernel-nfs.sh, devdax.sh), which
# take WORK_DIR [CACHE_DIR]; not a test itself.
#
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$here/lib.sh"     (with the driver's own arguments)
#
# On sourcing: GW (the famfs-gw binary, from FAMFS_GW, made absolute; FAMFS_GW_DEVICE
# is unset), work (WORK_DIR, absolute), repo (the source tree), cache (CACHE_DIR,
# default $QEMU_LAB_CACHE, else <repo>/.cache/qemu-lab); a usage line and exit status 2
# without WORK_DIR. On exit (cleanup): QEMU ($qemu_pid) is killed and every gateway
# supervisor in sups is stopped; SIGINT and SIGTERM exit with 130.
# The driver sets: title (the summary's name), QEMU_LIMIT (seconds per boot), port_base
# (free_port's range), and defines console_lines (below).
# Gives:
#   pass TEXT / fail TEXT     an "ok   TEXT" or "FAIL TEXT" line, counted
#   check NAME CMD...         pass when CMD succeeds, else fail with its last output lines
#                             (CMD's output goes to $work/check.out)
#   check_clean NAME OUT CMD...  CMD (a fsck) into OUT: "NAME is clean: <its last line>",
#                             else fail NAME with its last 20 lines
#   elapsed                   seconds since the driver started, e.g. "42s"
#   total_time                the "   total time ...; logs in $work" line
#   summary                   "$title: N passed, M failed" (after total_time when
#                             summary_total is set); false on any failure
#   die TEXT                  fail TEXT, summary, exit 1
#   need_host TOOL...         die unless every TOOL is installed and GW is an executable
#   stop_pid PID              SIGTERM, wait up to 20 s, then SIGKILL; true when it went on TERM
#   port_open PORT            true when PORT on 127.0.0.1 accepts TCP connections
#   free_port                 a port P (and P+1, serve's MOUNT port) free on 127.0.0.1, in
#                             port_base to port_base+89
#   get_guest FILE            fetch-guest.sh into $cache; sets guest (the guest image's
#                             directory), which must have FILE; dies otherwise
#   build_initramfs [BIN...]  build-initramfs.sh into $work/initramfs.cpio, with BINs
#   run_guest NAME LOG KERNEL_ARG...  boot the guest (run-guest.sh; give it MEM, SMP,
#                             PMEM_FILE in the environment) with its console in LOG, and
#                             wait up to QEMU_LIMIT s (then kill it); once the console
#                             matches $on_console_re, the function named by $on_console
#                             (if set) is called, once. Then shows the console's lines
#                             that console_lines (a filter the driver defines; PASS: and
#                             FAIL: lines become "ok   guest:"/"FAIL guest:") lets through,
#                             counts its PASS/FAIL lines and checks QEMU's exit status.
#   ganesha_log_notes LOG     the warnings and errors ganesha logged (for the record)
#   serve_bg OUT RUN_DIR ARGS...  famfs-gw ARGS... --background, its output in OUT.out and
#                             OUT.err; sets sup (the supervisor, also put in sups; from
#                             RUN_DIR/serve.json when the output does not say it); true
#                             when it runs
# shellcheck disable=SC2154 # here, title, port_base, on_console_re: set by the driver
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GW=${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}
[ $# -ge 1 ] || { echo "usage: ${0##*/} WORK_DIR [CACHE_DIR]" >&2; exit 2; }
GW=$(realpath "$GW")
work=$(realpath -m "$1")
cache=$(realpath -m "${2:-${QEMU_LAB_CACHE:-$repo/.cache/qemu-lab}}")
unset FAMFS_GW_DEVICE

passes=0
fails=0
pass() { passes=$((passes + 1)); echo "ok   $*"; }
fail() { fails=$((fails + 1)); echo "FAIL $*"; }
check() { # NAME CMD...: CMD's output goes to $work/check.out, shown when it fails
	local name=$1
	shift
	if "$@" > "$work/check.out" 2>&1; then
		pass "$name"
	else
		fail "$name"
		sed 's/^/    | /' "$work/check.out" | tail -n 10
	fi
}
check_clean() { # NAME OUT CMD...
	local name=$1 out=$2
	shift 2
	if "$@" > "$out" 2>&1; then
		pass "$name is clean: $(tail -n 1 "$out")"
	else
		fail "$name"
		sed 's/^/    | /' "$out" | tail -n 20
	fi
}
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - t_start))s"; }
total_time() { echo "   total time $(elapsed); logs in $work"; }
summary() {
	[ -z "${summary_total:-}" ] || total_time
	echo "$title: $passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
die() {
	fail "$*"
	summary
	exit 1
}
need_host() { # TOOL...
	local tool missing=
	for tool in "$@"; do
		command -v "$tool" > /dev/null || missing="$missing $tool"
	done
	[ -z "$missing" ] || die "missing on this host:$missing (scripts/setup.sh installs them)"
	[ -x "$GW" ] || die "FAMFS_GW=$GW is not an executable"
}

qemu_pid=
sups=()
cleanup() {
	local p
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2> /dev/null; then
		kill -KILL "$qemu_pid" 2> /dev/null
		wait "$qemu_pid" 2> /dev/null
	fi
	for p in "${sups[@]}"; do
		stop_pid "$p"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # PID
	local i
	kill -0 "$1" 2> /dev/null || return 0
	kill -TERM "$1" 2> /dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2> /dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2> /dev/null
	return 1
}

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
free_port() {
	local p i start=$(((RANDOM + $$) % 90))
	for ((i = 0; i < 90; i++)); do
		p=$((port_base + (start + i) % 90))
		if ! port_open "$p" && ! port_open $((p + 1)) &&
		   ! grep -qi ":$(printf '%04X' "$p") .* 0A " /proc/net/tcp &&
		   ! grep -qi ":$(printf '%04X' $((p + 1))) .* 0A " /proc/net/tcp; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

get_guest() { # FILE
	echo "== guest image (cache $cache)"
	if guest=$("$here/fetch-guest.sh" "$cache" | tail -n 1) && [ -f "$guest/$1" ]; then
		pass "guest kernel $(cat "$guest/kver") and busybox from Debian's archive ($(elapsed))"
	else
		die "fetch the guest's kernel and busybox (apt-get download)"
	fi
}
build_initramfs() { # [BIN...]
	if "$here/build-initramfs.sh" "$guest" "$work/initramfs.cpio" "$@"; then
		pass "initramfs built${1:+ with ${*##*/} and their libraries} ($(du -h "$work/initramfs.cpio" | cut -f1))"
	else
		die "build the initramfs"
	fi
}

run_guest() { # NAME LOG KERNEL_ARG...
	local name=$1 log=$2 rc ticks=0 gp gf t0 hooked=
	shift 2
	t0=$(date +%s)
	"$here/run-guest.sh" "$guest" "$work/initramfs.cpio" "$@" < /dev/null > "$log" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2> /dev/null && [ $ticks -lt $((QEMU_LIMIT * 5)) ]; do
		if [ -n "${on_console:-}" ] && [ -z "$hooked" ] && grep -aq "$on_console_re" "$log"; then
			hooked=1
			$on_console
		fi
		sleep 0.2
		ticks=$((ticks + 1))
	done
	if kill -0 "$qemu_pid" 2> /dev/null; then
		kill -KILL "$qemu_pid"
		wait "$qemu_pid" 2> /dev/null
		rc=timeout
	else
		wait "$qemu_pid"
		rc=$?
	fi
	qemu_pid=
	tr -d '\r' < "$log" | console_lines | sed 's/^PASS: /ok   guest: /; s/^FAIL: /FAIL guest: /'
	gp=$(tr -d '\r' < "$log" | grep -a -c '^PASS: ')
	gf=$(tr -d '\r' < "$log" | grep -a -c '^FAIL: ')
	passes=$((passes + gp))
	fails=$((fails + gf))
	echo "   guest ($name): $gp passed, $gf failed, QEMU exit status $rc, $(($(date +%s) - t0))s"
	if [ "$rc" = timeout ]; then
		fail "$name: the guest did not power off within ${QEMU_LIMIT}s (killed); console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	elif [ $((rc & 1)) -ne 1 ] || [ $((rc >> 1)) -ne "$((gf > 100 ? 100 : gf))" ]; then
		fail "$name: QEMU exit status $rc does not match the $gf failed guest checks; console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	elif [ "$gp" -eq 0 ]; then
		fail "$name: the guest reported no checks; console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	else
		pass "$name: the guest's exit status reached the host (QEMU exit status $rc)"
	fi
}

ganesha_log_notes() { # LOG
	local lines
	# Not shown: ganesha 4.3's start-up noise on a host without Kerberos, RADOS or D-Bus.
	lines=$(grep -a -E ' :(WARN|MAJ|CRIT|FATAL|ERR)[A-Z]* *:' "$1" | grep -v -E 'DBUS|dbus|RADOS|krb5|keytab|realm|principal nfs' | tail -n 25)
	[ -n "$lines" ] && { echo "   ganesha.log warnings and errors (last 25):"; echo "$lines" | sed 's/^/    | /'; }
	return 0
}

serve_bg() { # OUT RUN_DIR ARGS...
	local out=$1 run=$2
	shift 2
	sup=
	if ! "$GW" "$@" --background > "$out.out" 2> "$out.err"; then
		sed 's/^/    | /' "$out.out" "$out.err" | head -n 30
		return 1
	fi
	sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' "$out.out")
	[ -n "$sup" ] || sup=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor_pid"])' \
		"$run/serve.json" 2> /dev/null)
	[ -n "$sup" ] && sups+=("$sup")
	[ -n "$sup" ]
}
