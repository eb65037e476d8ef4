#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# direct.sh - libfamfs_direct.so under unmodified programs on real FUSE mounts
# (label: fuse).
#
# One device file, two "hosts": the master's mount and a read-only mount with another
# system UUID. Under LD_PRELOAD, dd and python3 (os.pread, mmap) read the right bytes of
# simple, interleaved and packed files, and the preload's counters show that the bytes
# came from the direct mapping; md5sum (stdio) reads the right bytes through FUSE;
# FAMFS_DIRECT=0 and files of other file systems are left alone. A store through the
# master's direct mapping, flushed with msync, is seen by the other host's direct mapping
# after its own msync(MS_INVALIDATE), without a re-open. A file that another host grows
# and then shrinks, read through one descriptor: the new bytes after the growth, nothing
# past the new end after the shrink (remapped, never read past the extents). A user who
# cannot open the device gets the right bytes through FUSE and a message saying why. A
# memory error under the mapping (the device file cut short under the last file): EIO
# for read() of that file, SIGBUS for a program touching its mmap, a file below the cut
# still reads directly, and the daemons keep running.
# Environment: FAMFS_GW (the binary), FAMFS_DIRECT (libfamfs_direct.so). Needs root,
# /dev/fuse, python3 and setpriv.
set -uo pipefail

GW=$(realpath "${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}")
PRELOAD=$(realpath "${FAMFS_DIRECT:?FAMFS_DIRECT must name libfamfs_direct.so}")
PY=/usr/bin/python3
tmp=$(mktemp -d)
chmod 755 "$tmp" # the unprivileged user below reaches the mount through it
MASTER=0f0f0f0f-0000-4000-8000-00000000d1e0
CLIENT=0f0f0f0f-0000-4000-8000-00000000d1e1
dev=$tmp/famfs.img
mnt=$tmp/mnt
ro=$tmp/ro
stats=$tmp/stats
mkdir -p "$mnt" "$ro"
unset FAMFS_GW_DEVICE FAMFS_SYSTEM_UUID FAMFS_DIRECT_MIN FAMFS_DIRECT_RECHECK_MS

cleanup() {
	for m in "$mnt" "$ro"; do
		mountpoint -q "$m" 2> /dev/null && { "$GW" umount "$m" > /dev/null 2>&1 || umount -l "$m"; }
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

passes=0
fails=0
CHECK_OUT=$tmp/out
# shellcheck source=fuse_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuse_env.sh"
fuse_require

gw() { "$GW" -d "$dev" --system-uuid "$MASTER" "$@"; }
md5() { md5sum < "$1" | cut -d' ' -f1; }
# pre CMD...: run CMD with the preload library, its counters going to $stats (emptied)
pre() {
	: > "$stats"
	chmod 666 "$stats"
	env LD_PRELOAD="$PRELOAD" FAMFS_DIRECT_STATS="$stats" "$@"
}
# counter NAME: that counter of the last run under pre ("direct reads", "direct mmaps", ...)
counter() { sed -n "s/.*$1 \([0-9]*\).*/\1/p" "$stats" | awk '{s += $1} END {print s + 0}'; }
direct_bytes() { sed -n 's/.*direct reads [0-9]* (\([0-9]*\) bytes).*/\1/p' "$stats" | awk '{s += $1} END {print s + 0}'; }
# within SECS CMD...: poll CMD until it succeeds
within() {
	local limit=$1 t0
	shift
	t0=$(date +%s)
	while ! "$@" > /dev/null 2>&1; do
		[ $(($(date +%s) - t0)) -ge "$limit" ] && return 1
		sleep 0.05
	done
}
# same_md5 WANT-FILE CMD...: CMD's output has WANT-FILE's md5
same_md5() {
	local want=$1 got
	shift
	want=$(md5 "$want")
	got=$("$@" | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "md5 $got, want $want"; return 1; }
}
# pymd5 FILE: md5 of FILE read through a read-only mmap, under the preload
pymd5() {
	pre "$PY" -c '
import hashlib, mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    sys.stdout.write(hashlib.md5(m).hexdigest() + "\n")' "$1"
}

[ -x "$PY" ] || { echo "FAIL $PY is missing"; exit 1; }

# ---------------------------------------------------------------- files and mounts
gw mkfs --size 4G > /dev/null || { echo "FAIL mkfs"; exit 1; }
head -c 20000000 /dev/urandom > "$tmp/simple.bin"
head -c 20000000 /dev/urandom > "$tmp/il.bin"
head -c 300000 /dev/urandom > "$tmp/small.bin"
head -c 4194304 /dev/urandom > "$tmp/g.bin"
head -c 4194304 /dev/urandom > "$tmp/g2.bin"
head -c 8388608 /dev/zero > "$tmp/shared.bin"
gw cp "$tmp/simple.bin" :/simple.bin > /dev/null
gw cp -N 2 -B 4 -C 2M "$tmp/il.bin" :/il.bin > /dev/null
gw cp "$tmp/small.bin" :/small.bin > /dev/null
gw cp "$tmp/g.bin" :/g.bin > /dev/null
gw cp "$tmp/shared.bin" :/shared.bin > /dev/null
chmod 600 "$dev" # only root opens the device: used by the unprivileged check below

check "mount (master)" "$GW" --system-uuid "$MASTER" mount --log "$tmp/m.log" --follow-ms 200 \
	"$dev" "$mnt"
check "mount as another host (read-only)" "$GW" --system-uuid "$CLIENT" mount --log "$tmp/ro.log" \
	--follow-ms 200 "$dev" "$ro"

# ---------------------------------------------------------------- unmodified programs read
for f in simple il; do
	check "dd of the $f file under the preload: same md5" \
		same_md5 "$tmp/$f.bin" pre dd if="$mnt/$f.bin" bs=1M status=none
	check "  every byte came from the direct mapping" [ "$(direct_bytes)" -eq 20000000 ]
	check "dd of the $f file on the other host: same md5, all direct" eval \
		'same_md5 "$tmp/$f.bin" pre dd if="$ro/$f.bin" bs=1M status=none && [ "$(direct_bytes)" -eq 20000000 ]'
	check "python3 mmap of the $f file: same md5, mapped directly" eval \
		'[ "$(pymd5 "$mnt/$f.bin")" = "$(md5 "$tmp/$f.bin")" ] && [ "$(counter "direct mmaps")" -eq 1 ]'
done
check "python3 os.pread of the interleaved file at odd offsets: right bytes, direct" eval '
	pre "$PY" -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
want = open(sys.argv[2], \"rb\").read()
for off, n in ((0, 1), (2097151, 2), (4194300, 3000000), (19999990, 100), (5, 7340032)):
    assert os.pread(fd, n, off) == want[off:off + n], (off, n)
" "$mnt/il.bin" "$tmp/il.bin" && [ "$(counter "direct reads")" -eq 5 ]'
check "python3 mmap of a packed 300 KB file: same md5, mapped directly" eval \
	'[ "$(pymd5 "$mnt/small.bin")" = "$(md5 "$tmp/small.bin")" ] && [ "$(counter "direct mmaps")" -eq 1 ]'
check "  dd of it reads through FUSE (packed files stay there): same md5" eval \
	'same_md5 "$tmp/small.bin" pre dd if="$mnt/small.bin" bs=64k status=none && [ "$(counter "direct reads")" -eq 0 ]'
check "md5sum (stdio) under the preload: same md5" eval \
	'[ "$(pre md5sum < "$mnt/simple.bin" | cut -d" " -f1)" = "$(md5 "$tmp/simple.bin")" ]'
check "FAMFS_DIRECT=0: dd reads through FUSE" eval \
	'same_md5 "$tmp/simple.bin" pre env FAMFS_DIRECT=0 dd if="$mnt/simple.bin" bs=1M status=none && [ "$(counter "direct reads")" -eq 0 ]'
check "a file of another file system is left alone" eval \
	'same_md5 "$tmp/simple.bin" pre dd if="$tmp/simple.bin" bs=1M status=none && [ "$(counter "direct reads")" -eq 0 ] && [ "$(counter refused)" -eq 0 ]'

# ---------------------------------------------------------------- two hosts, one mapping
# The reader (other host) maps first; the writer (master) stores and flushes; the reader
# drops its cached lines and sees the store, through the same mapping, never re-opened.
cat > "$tmp/share.py" << 'EOF'
import ctypes, mmap, os, sys, time
role, path, sync = sys.argv[1], sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.msync.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
MS_INVALIDATE, MS_SYNC = 2, 4
PAGE = 4096
def wait(name):
    t = time.time()
    while not os.path.exists(os.path.join(sync, name)):
        assert time.time() - t < 30, "timed out waiting for " + name
        time.sleep(0.02)
def mark(name):
    open(os.path.join(sync, name), "w").close()
msg = b"written by the master host through its direct mapping"
off = 5 * 1048576 + 123
writer = role == "writer"
f = open(path, "r+b" if writer else "rb")
m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_WRITE if writer else mmap.ACCESS_COPY)
# ACCESS_COPY maps MAP_PRIVATE: still the device's pages until written, and writable for
# ctypes, which needs a writable buffer to give the address.
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
start = (addr + off) // PAGE * PAGE
if writer:
    wait("reader-mapped")
    m[off:off + len(msg)] = msg
    assert libc.msync(start, PAGE, MS_SYNC) == 0
    mark("written")
else:
    assert m[off:off + len(msg)] == bytes(len(msg)), "not zero before the store"
    mark("reader-mapped")
    wait("written")
    assert libc.msync(start, PAGE, MS_INVALIDATE) == 0
    got = m[off:off + len(msg)]
    assert got == msg, got
    print("seen")
EOF
mkdir -p "$tmp/sync"
pre "$PY" "$tmp/share.py" reader "$ro/shared.bin" "$tmp/sync" > "$tmp/reader.out" 2>&1 &
rpid=$!
check "the master's process stores into its direct mapping and flushes" \
	pre "$PY" "$tmp/share.py" writer "$mnt/shared.bin" "$tmp/sync"
check "  (mapped directly)" grep -q "direct mmaps 1" "$stats"
wait "$rpid"
rrc=$?
check "the other host's mapping sees the store after its msync, not re-opened (rc=$rrc)" \
	eval '[ $rrc -eq 0 ] && grep -q "^seen" "$tmp/reader.out" && [ "$(grep -c "direct mmaps 1" "$stats")" -eq 2 ]'
[ $rrc -eq 0 ] || sed 's/^/    | /' "$tmp/reader.out" | tail -n 5

# ---------------------------------------------------------------- resized by another host
cat > "$tmp/resize.py" << 'EOF'
import hashlib, os, sys, time
path, sync = sys.argv[1], sys.argv[2]
def wait_size(fd, size):
    t = time.time()
    while os.fstat(fd).st_size != size:
        assert time.time() - t < 30, "size stays %d" % os.fstat(fd).st_size
        time.sleep(0.05)
fd = os.open(path, os.O_RDONLY)
print("before", hashlib.md5(os.pread(fd, 8 << 20, 0)).hexdigest())
open(os.path.join(sync, "ready"), "w").close()
wait_size(fd, 8 << 20)
print("grown", hashlib.md5(os.pread(fd, 8 << 20, 0)).hexdigest())
open(os.path.join(sync, "grown-read"), "w").close()
wait_size(fd, 1 << 20)
print("past-end", len(os.pread(fd, 1 << 20, 2 << 20)))
print("shrunk", hashlib.md5(os.pread(fd, 8 << 20, 0)).hexdigest())
EOF
mkdir -p "$tmp/rs"
pre "$PY" "$tmp/resize.py" "$ro/g.bin" "$tmp/rs" > "$tmp/resize.out" 2>&1 &
rpid=$!
within 30 test -e "$tmp/rs/ready"
cat "$tmp/g2.bin" >> "$mnt/g.bin"
within 30 test -e "$tmp/rs/grown-read"
truncate -s 1M "$mnt/g.bin"
wait "$rpid"
rrc=$?
cat "$tmp/g.bin" "$tmp/g2.bin" > "$tmp/g12.bin"
check "a reader on the other host gets the first map's bytes (rc=$rrc)" \
	grep -qx "before $(md5 "$tmp/g.bin")" "$tmp/resize.out"
check "  after the master grows the file: the new bytes, same descriptor" \
	grep -qx "grown $(md5 "$tmp/g12.bin")" "$tmp/resize.out"
check "  after the master shrinks it: nothing past the new end" grep -qx "past-end 0" "$tmp/resize.out"
check "  and the first MiB, right" grep -qx "shrunk $(head -c 1M "$tmp/g.bin" | md5sum | cut -d' ' -f1)" \
	"$tmp/resize.out"
check "  the changed map was noticed (remapped)" [ "$(counter remapped)" -ge 1 ]
[ $rrc -eq 0 ] || sed 's/^/    | /' "$tmp/resize.out" | tail -n 5

# ---------------------------------------------------------------- a device this user cannot open
if command -v setpriv > /dev/null; then
	check "a user who cannot open the device: dd reads the right bytes through FUSE" eval \
		'same_md5 "$tmp/simple.bin" pre env FAMFS_DIRECT_VERBOSE=1 setpriv --reuid=nobody --regid=nogroup --clear-groups dd if="$mnt/simple.bin" bs=1M status=none 2> "$tmp/nobody.err" && [ "$(counter "direct reads")" -eq 0 ]'
	check "  and is told why" grep -q "cannot open the device $dev for a direct mapping: Permission denied" \
		"$tmp/nobody.err"
else
	bad "setpriv is missing (util-linux)"
fi

# ---------------------------------------------------------------- a memory error
head -c 40000000 /dev/urandom > "$tmp/last.bin"
gw cp "$tmp/last.bin" :/last.bin > /dev/null
start=$(gw stat --json /last.bin | "$PY" -c 'import json, sys
print(min(int(e["offset"], 0) for e in json.load(sys.stdin)[0]["extents"]))')
# (the interleaved file's strips spread over the device: the cut may reach it too)
maxother=$(for f in simple.bin small.bin g.bin shared.bin; do gw stat --json "/$f"; done |
	"$PY" -c 'import json, sys
d = json.JSONDecoder(); s = sys.stdin.read().strip(); i = 0; m = 0
while i < len(s):
    o, i = d.raw_decode(s, i)
    while i < len(s) and s[i].isspace(): i += 1
    for e in o[0]["extents"]: m = max(m, int(e["offset"], 0) + int(e["len"], 0))
print(m)')
cut=$((start + (16 << 20)))
check "last.bin lies past every other file (from $start; others end by $maxother)" [ "$maxother" -le "$start" ]
within 10 test -e "$mnt/last.bin"
check "truncate the device file to $cut bytes (through last.bin)" truncate -s "$cut" "$dev"
expect_err "dd of last.bin under the preload fails with EIO" "Input/output error" \
	pre dd if="$mnt/last.bin" of=/dev/null bs=1M
check "  the preload counted the memory error" [ "$(counter "memory errors")" -ge 1 ]
pre "$PY" -c 'import hashlib, mmap, sys
f = open(sys.argv[1], "rb"); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
print(hashlib.md5(m).hexdigest())' "$mnt/last.bin" > /dev/null 2>&1
prc=$?
check "a program touching its mmap past the cut gets SIGBUS (rc=$prc)" [ $prc -eq 135 ]
check "another file still reads directly, same md5" eval \
	'same_md5 "$tmp/simple.bin" pre dd if="$mnt/simple.bin" bs=1M status=none && [ "$(direct_bytes)" -eq 20000000 ]'
check "the daemons still run" eval 'mountpoint -q "$mnt" && mountpoint -q "$ro" && ls "$mnt" > /dev/null'

echo "direct: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
