#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# ops.sh - every NFS operation against the real ganesha.nfsd with the FAMFS FSAL
# (label: nfs).
#
# Makes a device, fills it from the famfs side (famfs-gw mkdir/cp/touch), starts a
# read-write gateway (the master) and a read-only one (another FAMFS_SYSTEM_UUID on
# the same device, NFSv4 only), and runs tests/nfs/nfsops.c against them: lookups
# and fileids (= famfs inode numbers), readdir of 3000 entries, reads of simple and
# interleaved files, v3 bulk writes, append, overwrite, create modes, mkdir/rmdir,
# unlink, rename, truncate, chmod/chown/utimes, symlinks made and read, hard links refused, stale handles,
# a removed file kept open, three clients at once, names too long, readdir while
# entries move, EROFS. Then it checks the results from the famfs side (cat/ls/stat),
# follows the log both ways (a famfs-side cp appears over NFS, a famfs-side rm
# disappears), stops everything, and requires a clean fsck.
#
# Usage: ops.sh [NFSOPS]   (or NFSOPS=path/to/nfsops in the environment)
# Environment: FAMFS_GW (the famfs-gw binary). Ports: 20700-20799 on 127.0.0.1.
# Last line: "nfs ops: N passed, M failed"; exit status 1 on any failure.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=nfs_env.sh
source "$here/nfs_env.sh"

NFSOPS=${1:-${NFSOPS:-}}
if [ -z "$NFSOPS" ] || [ ! -x "$NFSOPS" ]; then
	echo "ops.sh: give the nfsops binary (argument or NFSOPS)" >&2
	exit 2
fi
NFSOPS=$(realpath "$NFSOPS")
cd "$NFS_TMP" || exit 1

MASTER=11111111-2222-4333-8444-555555555555
OTHER=77777777-2222-4333-8444-555555555555
export FAMFS_SYSTEM_UUID=$MASTER
unset FAMFS_GW_DEVICE

json_get() { # file-or-"-", python expression on j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1]) if sys.argv[1] != "-" else sys.stdin); print(eval(sys.argv[2]))' "$@"
}

# A port P in 20700-20798 such that P and P+1 are free.
ops_free_port() {
	local p i start=$(( (RANDOM + $$) % 98 ))
	for ((i = 0; i < 98; i++)); do
		p=$(( 20700 + (start + i) % 98 ))
		[ "$p" = "${ops_taken:-}" ] && continue
		if ! nfs_port_open "$p" && ! nfs_port_open $((p + 1)) &&
		   ! grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp 2> /dev/null &&
		   ! grep -qi ":$(printf '%04X' $((p + 1))) " /proc/net/tcp 2> /dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# serve RUNDIR PORT [extra serve options]: start a gateway in the background.
start_gw() {
	local run=$1 port=$2
	shift 2
	"$GW" serve -d "$dev" --port "$port" --run-dir "$run" --log-follow-ms 250 \
		--background "$@" > "$run.out" 2> "$run.err"
	local rc=$?
	local sup
	sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' "$run.out")
	[ -n "$sup" ] && nfs_track_pid "$sup"
	if [ $rc -ne 0 ]; then
		sed 's/^/    /' "$run.err" | head -20
		tail -n 20 "$run/ganesha.log" 2> /dev/null | sed 's/^/    /'
		return 1
	fi
	echo "$sup" > "$run.sup"
}

stop_gw() { # RUNDIR
	local sup
	sup=$(cat "$1.sup" 2> /dev/null) || return 0
	kill -TERM "$sup" 2> /dev/null || return 0
	for _ in $(seq 100); do kill -0 "$sup" 2> /dev/null || return 0; sleep 0.2; done
	return 1
}

# Run nfsops; count each "ok"/"FAIL" line.
run_nfsops() {
	local out=$NFS_TMP/nfsops.out line
	"$NFSOPS" "$@" > "$out" 2> "$NFS_TMP/nfsops.err"
	local rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) passes=$((passes + 1)); echo "$line" ;;
		"FAIL "*) fails=$((fails + 1)); echo "$line" ;;
		"# "*) echo "$line" ;;
		esac
	done < "$out"
	if ! grep -q '^nfsops: ' "$out"; then
		fails=$((fails + 1))
		echo "FAIL: nfsops $* ended early (rc=$rc)"
		sed 's/^/    /' "$NFS_TMP/nfsops.err" | tail -20
	elif [ -s "$NFS_TMP/nfsops.err" ]; then
		sed 's/^/    nfsops: /' "$NFS_TMP/nfsops.err" | tail -10
	fi
}

have_v3=true
if ! nfs_need_rpcbind; then
	have_v3=false
	echo "note: rpcbind is not available: NFSv3 cases are skipped"
fi

# --- the device, filled from the famfs side -------------------------------------------
dev=$NFS_TMP/dev.img
expect_good "$GW" -d "$dev" mkfs --size 8G
expect_good "$GW" -d "$dev" mkdir /pre /t3 /t4 /big /big2
expect_good "$GW" -d "$dev" mkdir -m 0750 -u 1234 -g 5678 /pre/dir
printf 'small file over NFS\n' > small.txt
head -c $((5 << 20)) /dev/urandom > rand5m
expect_good "$GW" -d "$dev" cp small.txt :/pre/small.txt
expect_good "$GW" -d "$dev" cp rand5m :/pre/simple.bin
expect_good "$GW" -d "$dev" cp -N 3 -B 4 -C 2M rand5m :/pre/stripe.bin
nbig=3000
# Empty files: famfs-gw touch logs them all under one lock (creat needs a size > 0,
# and 3000 files of one 2 MiB unit each would waste 6 GB).
# shellcheck disable=SC2046
expect_good "$GW" -d "$dev" touch $(seq -f '/big/f%g' 1 $nbig)
# shellcheck disable=SC2046
expect_good "$GW" -d "$dev" touch $(seq -f '/big2/k%g' 1 500) $(seq -f '/big2/r%g' 1 1000)
expect_out "^$nbig$" sh -c "\"$GW\" -d \"$dev\" ls /big | wc -l"

xargs=(-x "nbig=$nbig" -x "local:/pre/small.txt=$NFS_TMP/small.txt"
       -x "local:/pre/simple.bin=$NFS_TMP/rand5m" -x "local:/pre/stripe.bin=$NFS_TMP/rand5m")
for p in /pre/small.txt /pre/simple.bin /pre/stripe.bin /pre/dir /pre /big; do
	ino=$("$GW" -d "$dev" stat --json "$p" | json_get - 'j[0]["ino"]')
	check "famfs-gw stat --json $p gives an inode number ($ino)" [ -n "$ino" ]
	xargs+=(-x "ino:$p=$ino")
done
check "stripe.bin is interleaved" \
	[ "$("$GW" -d "$dev" stat --json /pre/stripe.bin | json_get - 'j[0]["ext_type"]')" != 0 ]

# --- the gateways ------------------------------------------------------------------------
port=$(ops_free_port) || { echo "no free port in 20700-20799"; exit 1; }
ops_taken=$((port + 1))
protos=()
$have_v3 || protos=(--protocols 4)
if ! start_gw "$NFS_TMP/rw" "$port" "${protos[@]}"; then
	fails=$((fails + 1))
	echo "FAIL: the read-write gateway did not start"
	nfs_summary "nfs ops"
	exit 1
fi
NFS_PORT=$port
u4=$(nfs_url /famfs 4)
u3=$(nfs_url /famfs 3)
rport=$(ops_free_port) || { echo "no free port in 20700-20799"; exit 1; }
ro_args=()
if FAMFS_SYSTEM_UUID=$OTHER start_gw "$NFS_TMP/ro" "$rport" --protocols 4; then
	passes=$((passes + 1))
	ro_args=(-r "nfs://127.0.0.1/famfs?version=4&nfsport=$rport")
	expect_out "client|read-only|\(ro\)" "$GW" status --run-dir "$NFS_TMP/ro"
else
	fails=$((fails + 1))
	echo "FAIL: the read-only gateway (system UUID $OTHER) did not start"
fi

# --- every operation ----------------------------------------------------------------------
if $have_v3; then
	run_nfsops -4 "$u4" -3 "$u3" "${ro_args[@]}" "${xargs[@]}"
else
	skip "NFSv3: the checks that need it fail without it"
	run_nfsops -4 "$u4" "${ro_args[@]}" "${xargs[@]}" lookup readdir read append create \
		mkdir-rmdir symlink-link open-unlinked rofs
fi

# --- the results, seen from the famfs side ------------------------------------------------
if $have_v3; then
	expect_out '"size":5242880' "$GW" -d "$dev" stat --json /t3/w5m.bin
	expect_good cmp <("$GW" -d "$dev" cat /t3/w5m.bin) <(nfs-cat "$(nfs_url /famfs/t3/w5m.bin 3)")
	expect_good cmp <("$GW" -d "$dev" cat /t3/over.bin) <(nfs-cat "$(nfs_url /famfs/t3/over.bin)")
	expect_good cmp <("$GW" -d "$dev" cat /t4/victim) <(nfs-cat "$(nfs_url /famfs/t4/victim)")
	for c in 0 1 2; do
		expect_out "^11$" sh -c "\"$GW\" -d \"$dev\" ls /c$c | wc -l"
		expect_good cmp <("$GW" -d "$dev" cat /c$c/big) <(nfs-cat "$(nfs_url /famfs/c$c/big 3)")
	done
fi
expect_good cmp <("$GW" -d "$dev" cat /t4/append.txt) <(nfs-cat "$(nfs_url /famfs/t4/append.txt)")
"$GW" -d "$dev" stat --json /t4/attr0 > attr.json 2> /dev/null
check "chmod over NFS is in the log" [ "$(json_get attr.json 'j[0]["mode"]')" = 0o604 ]
check "chown over NFS is in the log" [ "$(json_get attr.json 'j[0]["uid"]'):$(json_get attr.json 'j[0]["gid"]')" = 4321:8765 ]
check "utimes over NFS is in the log" [ "$(json_get attr.json 'j[0]["mtime_ns"]')" = 1200000000000000000 ]
expect_out '"size":0' "$GW" -d "$dev" stat --json /t4/tr
expect_fail "no such file" "$GW" -d "$dev" stat /t4/ul
expect_fail "no such file" "$GW" -d "$dev" stat /t4/sl
"$GW" -d "$dev" ls /big2 > big2.ls
check "readdir-churn left the k* entries" [ "$(grep -c '^k' big2.ls)" = 500 ]
check "readdir-churn: no r* entries left" [ "$(grep -c '^r' big2.ls)" = 0 ]
check "readdir-churn: 500 m* entries" [ "$(grep -c '^m' big2.ls)" = 500 ]

# --- following the log: famfs-side changes reach NFS clients -------------------------------
expect_good "$GW" -d "$dev" cp rand5m :/t4/from-famfs.bin
run_nfsops -4 "$u4" -x path=/t4/from-famfs.bin -x "file=$NFS_TMP/rand5m" -x secs=2.5 appear
expect_good "$GW" -d "$dev" mkdir /t4/famfs-dir
run_nfsops -4 "$u4" -x path=/t4/famfs-dir -x secs=2.5 appear
expect_good "$GW" -d "$dev" rm /t4/from-famfs.bin
run_nfsops -4 "$u4" -x path=/t4/from-famfs.bin -x secs=2.5 gone
expect_good "$GW" -d "$dev" mv /t4/append.txt /t4/moved.txt
run_nfsops -4 "$u4" -x path=/t4/append.txt -x secs=2.5 gone
run_nfsops -4 "$u4" -x path=/t4/moved.txt -x secs=2.5 appear
if [ ${#ro_args[@]} -gt 0 ]; then
	# The read-only gateway follows the master's log too.
	run_nfsops -4 "${ro_args[1]}" -x path=/t3/w5m.bin -x secs=2.5 appear
fi

# --- stop, and the device must be clean ------------------------------------------------------
check "the read-only gateway stops" stop_gw "$NFS_TMP/ro"
check "the read-write gateway stops" stop_gw "$NFS_TMP/rw"
if grep -Eq 'SIGSEGV|SIGABRT|Segmentation|core dumped' "$NFS_TMP"/rw/*.log "$NFS_TMP"/rw.err 2> /dev/null; then
	fails=$((fails + 1))
	echo "FAIL: ganesha crashed:"
	grep -E 'SIGSEGV|SIGABRT|Segmentation|core dumped' "$NFS_TMP"/rw/*.log | head -5
fi
"$GW" -d "$dev" fsck > fsck.out 2>&1
rc=$?
check "fsck is clean at the end (rc=$rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/    /' fsck.out | tail -20
if [ -n "${OPS_KEEP:-}" ]; then
	cp -r "$NFS_TMP/rw" "$OPS_KEEP/" 2> /dev/null
fi

nfs_summary "nfs ops"
