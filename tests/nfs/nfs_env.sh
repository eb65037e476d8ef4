# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# nfs_env.sh - sourced by the NFS integration tests (tests/nfs/*.sh).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/nfs_env.sh"
#
# Gives:
#   NFS_TMP                   a scratch directory, removed on exit
#   nfs_free_port             print a free TCP port P in 20600-20700 on 127.0.0.1 such
#                             that P+1 (the MOUNT port) is free too
#   nfs_wait_port PORT [S]    wait up to S seconds (default 20) until PORT accepts TCP
#   nfs_port_open PORT        true when PORT on 127.0.0.1 accepts TCP connections
#   nfs_start_ganesha CONF    run ganesha.nfsd -F on CONF (its NFS_Port must be set; it
#                             is read into NFS_PORT) and wait for the port; sets
#                             NFS_GANESHA_PID; logs in $NFS_TMP/ganesha.log
#   nfs_stop_ganesha          SIGTERM it, wait (SIGKILL after 15 s); also run on exit
#   nfs_need_rpcbind          make sure rpcbind runs (NFSv3: ganesha 4.3 must register
#                             with it); starts it when installed and not running, and
#                             leaves it running (a system service). False when missing.
#   nfs_url PATH [VERSION]    nfs://127.0.0.1PATH?version=4&nfsport=$NFS_PORT (version 3
#                             adds mountport=NFS_PORT+1)
#   nfs_track_pid PID         a process (a serve supervisor) to SIGTERM on exit
#   expect_good CMD...        CMD must succeed
#   expect_fail REGEX CMD...  CMD must fail, printing something that matches REGEX
#   expect_out REGEX CMD...   CMD must succeed, its stdout matching REGEX
#   check NAME TEST...        a test(1)/[[ ]]-style condition, counted like the others
#   skip WHY                  print a skipped case (counted in neither total)
#   nfs_summary NAME          print "NAME: N passed, M failed"; returns 1 on failures
# Environment: FAMFS_GW (the famfs-gw binary), optional GANESHA (ganesha.nfsd).
# Only loopback addresses are used.

set -uo pipefail

# shellcheck disable=SC2034 # used by the tests that source this file
GW=${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}
GANESHA=${GANESHA:-$(command -v ganesha.nfsd || echo /usr/bin/ganesha.nfsd)}
NFS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/famfs-nfs.XXXXXX")
NFS_PORT=${NFS_PORT:-}
NFS_GANESHA_PID=
NFS_TRACKED=()
passes=0
fails=0
skips=0

nfs_cleanup() {
	nfs_stop_ganesha
	local p
	for p in "${NFS_TRACKED[@]}"; do
		if kill -0 "$p" 2> /dev/null; then
			kill -TERM "$p" 2> /dev/null
			for _ in $(seq 75); do kill -0 "$p" 2> /dev/null || break; sleep 0.2; done
			kill -KILL "$p" 2> /dev/null
		fi
	done
	rm -rf "$NFS_TMP"
}
trap nfs_cleanup EXIT
trap 'exit 130' INT TERM

nfs_port_open() {
	(exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

nfs_free_port() {
	local base=20600 span=100 start p i
	start=$(( (RANDOM + $$) % span ))
	for ((i = 0; i < span; i++)); do
		p=$(( base + (start + i) % span ))
		if ! nfs_port_open "$p" && ! nfs_port_open $((p + 1)) &&
		   ! grep -qi ":$(printf '%04X' "$p") .* 0A " /proc/net/tcp 2> /dev/null &&
		   ! grep -qi ":$(printf '%04X' $((p + 1))) .* 0A " /proc/net/tcp 2> /dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "nfs_env: no free port in 20600-20700" >&2
	return 1
}

nfs_wait_port() {
	local port=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		nfs_port_open "$port" && return 0
		sleep 0.1
	done
	return 1
}

nfs_start_ganesha() {
	local conf=$1
	NFS_PORT=$(sed -n 's/.*NFS_Port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/Ip' "$conf" | head -1)
	if [ -z "$NFS_PORT" ]; then
		echo "nfs_start_ganesha: $conf sets no NFS_Port" >&2
		return 1
	fi
	"$GANESHA" -F -L "$NFS_TMP/ganesha.log" -f "$conf" -p "$NFS_TMP/ganesha.pid" \
		< /dev/null > "$NFS_TMP/ganesha.out" 2>&1 &
	NFS_GANESHA_PID=$!
	if ! nfs_wait_port "$NFS_PORT" 20; then
		echo "nfs_start_ganesha: port $NFS_PORT did not open; ganesha.log:" >&2
		tail -n 20 "$NFS_TMP/ganesha.log" >&2 2> /dev/null
		nfs_stop_ganesha
		return 1
	fi
}

nfs_stop_ganesha() {
	local pid=$NFS_GANESHA_PID
	[ -n "$pid" ] || return 0
	NFS_GANESHA_PID=
	kill -TERM "$pid" 2> /dev/null || return 0
	for _ in $(seq 75); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
	kill -KILL "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	return 0
}

nfs_need_rpcbind() {
	if [ -S /run/rpcbind.sock ] && nfs_port_open 111; then
		return 0
	fi
	local rpcbind
	rpcbind=$(command -v rpcbind || echo /usr/sbin/rpcbind)
	[ -x "$rpcbind" ] || return 1
	[ "$(id -u)" -eq 0 ] || return 1
	"$rpcbind" -w 2> /dev/null || return 1
	for _ in $(seq 30); do nfs_port_open 111 && return 0; sleep 0.1; done
	return 1
}

nfs_url() {
	local path=$1 version=${2:-4}
	if [ "$version" = 3 ]; then
		echo "nfs://127.0.0.1${path}?version=3&nfsport=${NFS_PORT}&mountport=$((NFS_PORT + 1))"
	else
		echo "nfs://127.0.0.1${path}?version=${version}&nfsport=${NFS_PORT}"
	fi
}

nfs_track_pid() {
	NFS_TRACKED+=("$1")
}

expect_good() {
	if "$@" > "$NFS_TMP/out.txt" 2> "$NFS_TMP/err.txt"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected success): $*"
		sed 's/^/    /' "$NFS_TMP/err.txt" "$NFS_TMP/out.txt" | head -40
	fi
}

expect_fail() { # regex, command...
	local re=$1; shift
	"$@" > "$NFS_TMP/out.txt" 2> "$NFS_TMP/err.txt"
	local rc=$?
	if [ $rc -ne 0 ] && grep -Eq -- "$re" "$NFS_TMP/err.txt" "$NFS_TMP/out.txt"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected failure matching '$re', got rc=$rc): $*"
		sed 's/^/    /' "$NFS_TMP/err.txt" "$NFS_TMP/out.txt" | head -40
	fi
}

expect_out() { # regex that stdout must match, command...
	local re=$1; shift
	if "$@" > "$NFS_TMP/out.txt" 2> "$NFS_TMP/err.txt" && grep -Eq -- "$re" "$NFS_TMP/out.txt"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected output matching '$re'): $*"
		sed 's/^/    /' "$NFS_TMP/out.txt" "$NFS_TMP/err.txt" | head -40
	fi
}

check() { # name, condition...
	local name=$1; shift
	if "$@"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $name"
	fi
}

skip() {
	skips=$((skips + 1))
	echo "SKIP: $*"
}

nfs_summary() {
	[ "$skips" -eq 0 ] || echo "($skips case(s) skipped)"
	echo "$1: $passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
