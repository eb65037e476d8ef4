#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# cp_kill.sh - famfs-gw cp killed in the middle of a copy leaves no file behind (label:
# fuse).
#
# The source lies on a FUSE mount of another famfs whose daemon is stopped (SIGSTOP), so
# the copy blocks in its first read, deterministically, after the target's space was
# taken. Killed there (SIGKILL, then SIGTERM in a second round): no file of that name, no
# space used, fsck clean; run again, the copy completes with the source's bytes, in one
# log entry, and an upstream-form FILE entry. Also: cp --json says what moved it, and a
# source that is not there is refused before any space is taken.
# Environment: FAMFS_GW (the binary). Needs root, /dev/fuse, python3.
set -uo pipefail

GW=$(realpath "${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}")
tmp=$(mktemp -d)
export FAMFS_SYSTEM_UUID=0f0f0f0f-0000-4000-8000-00000000c0c0
unset FAMFS_GW_DEVICE
src_dev=$tmp/src.img
dev=$tmp/famfs.img
mnt=$tmp/mnt
mkdir -p "$mnt"
dpid=

cleanup() {
	[ -n "$dpid" ] && kill -CONT "$dpid" 2> /dev/null
	mountpoint -q "$mnt" 2> /dev/null && { "$GW" umount "$mnt" > /dev/null 2>&1 || umount -l "$mnt"; }
	rm -rf "$tmp"
}
trap cleanup EXIT

passes=0
fails=0
CHECK_OUT=$tmp/out
# shellcheck source=fuse_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuse_env.sh"
fuse_require

used() { "$GW" -d "$dev" info | sed -n 's/^space: .*, \([0-9]*\) used.*/\1/p'; }
entries() { "$GW" -d "$dev" info | sed -n 's/^log entries: *\([0-9]*\) of.*/\1/p'; }

"$GW" -d "$src_dev" mkfs --size 1G > /dev/null || { echo "FAIL mkfs"; exit 1; }
"$GW" -d "$dev" mkfs --size 1G > /dev/null || { echo "FAIL mkfs"; exit 1; }
head -c 48000000 /dev/urandom > "$tmp/data.bin"
"$GW" -d "$src_dev" cp "$tmp/data.bin" :/data.bin > /dev/null
check "mount the source famfs (attributes cached for a minute)" "$GW" mount --timeout 60 \
	--log "$tmp/m.log" "$src_dev" "$mnt"
dpid=$(cat "/run/famfs-gw/mount$(echo "$mnt" | sed 's,/,%2F,g').pid" 2> /dev/null)
check "the daemon's pid is known ($dpid)" kill -0 "$dpid"
check "stat the source (cached)" stat "$mnt/data.bin"
used0=$(used)
entries0=$(entries)

for sig in KILL TERM; do
	kill -STOP "$dpid"
	"$GW" -d "$dev" cp "$mnt/data.bin" :/data.bin > "$tmp/cp.out" 2>&1 &
	cpid=$!
	sleep 1
	check "SIG$sig round: cp is blocked in the middle (reading)" kill -0 "$cpid"
	kill -"$sig" "$cpid"
	kill -CONT "$dpid"
	wait "$cpid" 2> /dev/null
	check "  cp died of SIG$sig" eval '! kill -0 $cpid 2> /dev/null'
	check "  no file of that name" eval '! "$GW" -d "$dev" stat /data.bin > /dev/null 2>&1'
	check "  no space used ($(used) bytes, before $used0)" [ "$(used)" = "$used0" ]
	check "  nothing logged" [ "$(entries)" = "$entries0" ]
	check "  fsck clean" "$GW" -d "$dev" fsck
done

check "cp again completes (--json)" eval '"$GW" -d "$dev" cp --json "$mnt/data.bin" :/data.bin > "$tmp/cp.json"'
check "  with the source's bytes" eval '"$GW" -d "$dev" cat /data.bin | cmp - "$tmp/data.bin"'
check "  in one log entry" [ "$(entries)" = "$((entries0 + 1))" ]
check "  --json says what moved it" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["files"] == 1 and j["bytes"] == 48000000 and j["errors"] == 0, j
assert j["engine"] in ("io_uring", "pread"), j
' "$tmp/cp.json"
check "  an upstream-form FILE entry (upstream hosts see it)" eval \
	'"$GW" -d "$dev" log | grep -q " file  *data.bin size 48000000 "'
entries1=$(entries)
used1=$(used)
expect_err "a source that is not there is refused" "No such file" \
	"$GW" -d "$dev" cp "$tmp/missing.bin" :/missing.bin
check "  before any space is taken or anything logged" \
	eval '[ "$(used)" = "$used1" ] && [ "$(entries)" = "$entries1" ]'
check "fsck clean at the end" "$GW" -d "$dev" fsck

echo "cp_kill: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
