#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# posix.sh - every NFS operation a client uses, against famfs-gw serve and the FAMFS
# FSAL, with libnfs (label: nfs). tests/nfs/posix_ops.c does the operations over NFSv4.0
# and NFSv3; this script starts the gateway, runs it (also three clients at once),
# checks from the famfs side what the clients did (famfs-gw cat/stat/fsck), that a file
# made on the famfs side shows up over NFS within about a second (the FSAL follows the
# log), and that a gateway on a host that is not the master refuses writes.
# Environment: FAMFS_GW, POSIX_OPS (the posix_ops binary).
# Last line: "nfs posix: N passed, M failed".
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=nfs_env.sh
source "$here/nfs_env.sh"
cd "$NFS_TMP" || exit 1
OPS=${POSIX_OPS:?POSIX_OPS must name the posix_ops binary}
export FAMFS_SYSTEM_UUID=11111111-2222-4333-8444-555555555555
unset FAMFS_GW_DEVICE

have_v3=true
nfs_need_rpcbind || have_v3=false

dev=$NFS_TMP/dev.img
expect_good "$GW" -d "$dev" mkfs --size 4G
port=$(nfs_free_port) || exit 1
out=$("$GW" serve -d "$dev" --port "$port" --run-dir "$NFS_TMP/run" --background 2>&1)
pid=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
check "the gateway starts" [ -n "$pid" ]
nfs_track_pid "$pid"
v4="nfs://127.0.0.1/famfs?version=4&nfsport=$port"
v3="nfs://127.0.0.1/famfs?version=3&nfsport=$port&mountport=$((port + 1))"

expect_out "posix ops v4: [0-9]+ passed, 0 failed" "$OPS" "$v4" 4
if $have_v3; then
	expect_out "posix ops v3: [0-9]+ passed, 0 failed" "$OPS" "$v3" 3
else
	skip "NFSv3: rpcbind is not available"
fi

# Three clients at once, each in its own directory.
"$OPS" "$v4" 4 a > a.out 2>&1 & p1=$!
"$OPS" "$v4" 4 b > b.out 2>&1 & p2=$!
"$OPS" "$v4" 4 c > c.out 2>&1 & p3=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
check "three clients at once all pass" [ $((r1 + r2 + r3)) -eq 0 ]
grep -h 'FAIL' a.out b.out c.out | sed 's/^/    (/; s/$/)/'

# What the clients did, seen from the famfs side.
expect_out "size: 8192" "$GW" -d "$dev" stat /ops4/victim
expect_out "owner: uid 1234 gid 5678" "$GW" -d "$dev" stat /ops4/victim
expect_out "^many/$" "$GW" -d "$dev" ls /ops4a
check "the famfs side counts 300 entries" [ "$("$GW" -d "$dev" ls /ops4b/many | wc -l)" -eq 300 ]
expect_out "0 error\(s\)" "$GW" -d "$dev" fsck

# Written over NFS (v3 bulk), read on the famfs side, and the reverse.
head -c $((3 << 20)) /dev/urandom > bulk.bin
if $have_v3; then
	expect_good nfs-cp bulk.bin "nfs://127.0.0.1/famfs/bulk.bin?version=3&nfsport=$port&mountport=$((port + 1))"
	expect_good bash -c '"$0" -d "$1" cat /bulk.bin | cmp - "$2"' "$GW" "$dev" bulk.bin
fi
head -c 777777 /dev/urandom > side.bin
expect_good "$GW" -d "$dev" cp side.bin :/side.bin
seen=false
for _ in $(seq 30); do
	if nfs-ls "$v4" 2> /dev/null | grep -q ' side.bin$'; then seen=true; break; fi
	sleep 0.1
done
check "a file made on the famfs side is listed over NFS within 3 s" $seen
expect_good bash -c 'nfs-cat "nfs://127.0.0.1/famfs/side.bin?version=4&nfsport=$0" | cmp - "$1"' "$port" side.bin
expect_good "$GW" -d "$dev" rm /side.bin
gone=false
for _ in $(seq 30); do
	if ! nfs-ls "$v4" 2> /dev/null | grep -q ' side.bin$'; then gone=true; break; fi
	sleep 0.1
done
check "a file removed on the famfs side disappears over NFS" $gone

# A gateway on a host that is not the master serves read-only.
port2=$(nfs_free_port) || exit 1
out=$(FAMFS_SYSTEM_UUID=99999999-2222-4333-8444-555555555555 "$GW" serve -d "$dev" --port "$port2" \
	--run-dir "$NFS_TMP/run2" --protocols 4 --background 2>&1)
pid2=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
check "a non-master gateway says read-only" grep -q "read-only" <<< "$out"
if [ -n "$pid2" ]; then
	nfs_track_pid "$pid2"
	printf 'x\n' > x.txt
	expect_fail "ROFS|Read-only|read-only|EROFS|failed" nfs-cp x.txt "nfs://127.0.0.1/famfs/x.txt?version=4&nfsport=$port2"
	expect_good bash -c 'nfs-cat "nfs://127.0.0.1/famfs/ops4/victim?version=4&nfsport=$0" > /dev/null' "$port2"
	kill "$pid2"
fi

# An interleaved file (3 strips over 4 buckets) read over NFS.
head -c $((9 << 20)) /dev/urandom > striped.bin
expect_good "$GW" -d "$dev" cp -N 3 -B 4 -C 2M striped.bin :/striped.bin
expect_out "interleaved, 3 strips" "$GW" -d "$dev" stat /striped.bin
for _ in $(seq 30); do # the FSAL learns of it from the log within about a second
	nfs-ls "$v4" 2> /dev/null | grep -q ' striped.bin$' && break
	sleep 0.1
done
expect_good bash -c 'nfs-cat "nfs://127.0.0.1/famfs/striped.bin?version=4&nfsport=$0" | cmp - "$1"' "$port" striped.bin

kill "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
expect_out "regular exit" cat "$NFS_TMP/run/ganesha.log"

# A directory of 100,000 entries, listed whole over NFS (a sparse 256 GiB device: every
# file holds one 2 MiB unit; a 64 MiB log holds the entries).
big=$NFS_TMP/big.img
expect_good "$GW" -d "$big" mkfs --size 256G --log-size 64M
expect_good "$GW" -d "$big" mkdir /big
python3 -c 'for i in range(100000): print("big/f%06d" % i)' > names.txt
expect_good "$GW" -d "$big" creat -s 1 --from names.txt
port3=$(nfs_free_port) || exit 1
out=$("$GW" serve -d "$big" --port "$port3" --run-dir "$NFS_TMP/run3" --protocols 4 --background 2>&1)
pid3=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
if [ -n "$pid3" ]; then
	nfs_track_pid "$pid3"
	n=$(nfs-ls "nfs://127.0.0.1/famfs/big?version=4&nfsport=$port3" | grep -c ' f[0-9]*$')
	check "readdir of a 100,000-entry directory lists every entry ($n)" [ "$n" -eq 100000 ]
	kill "$pid3"
else
	check "the gateway on the 100,000-entry device starts" false
fi
nfs_summary "nfs posix"
