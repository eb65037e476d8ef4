#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# direct_bench.sh BUILD_DIR [MIB] - reads and writes of one file of a famfs-gw FUSE mount
# through libfamfs_direct.so, through FUSE alone, and with memcpy on the device mapping
# itself (the baseline), side by side in one run (direct_bench), printed as ratios to the
# baseline. The device is a file in /dev/shm (memory, like the CXL memory it stands for;
# /tmp when /dev/shm is too small). Figures only, never a pass/fail. Needs /dev/fuse.
set -euo pipefail

build=$(realpath "${1:?usage: direct_bench.sh BUILD_DIR [MIB]}")
mib=${2:-512}
gw=$build/gateway/famfs-gw
bench=$build/tests/direct_bench
preload=$build/direct/libfamfs_direct.so
dir=/dev/shm
avail=$(df -k --output=avail "$dir" 2> /dev/null | tail -n 1 || echo 0)
[ "${avail:-0}" -gt $(((3 * mib + 64) * 1024)) ] || dir=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$dir/famfs-direct-bench.XXXXXX")
mkdir "$tmp/mnt"
export FAMFS_SYSTEM_UUID=0badcafe-0000-4000-8000-00000000be04
cleanup() {
	mountpoint -q "$tmp/mnt" && { "$gw" umount "$tmp/mnt" > /dev/null 2>&1 || umount -l "$tmp/mnt"; }
	rm -rf "$tmp"
}
trap cleanup EXIT

"$gw" -d "$tmp/dev.img" mkfs --size "$((2 * mib + 64))M" > /dev/null
head -c "${mib}M" /dev/urandom > "$tmp/src"
"$gw" -d "$tmp/dev.img" cp "$tmp/src" :/file > /dev/null
rm -f "$tmp/src"
"$gw" mount --log "$tmp/mount.log" "$tmp/dev.img" "$tmp/mnt" > /dev/null
f=$tmp/mnt/file
fig() { awk '{print $2}'; }
map_seq=$("$bench" "$f" map-seq | fig)
map_rand=$("$bench" "$f" map-rand | fig)
map_write=$("$bench" "$f" map-write | fig)
fuse_seq=$("$bench" "$f" io-seq | fig)
fuse_rand=$("$bench" "$f" io-rand | fig)
pre_seq=$(LD_PRELOAD=$preload "$bench" "$f" io-seq | fig)
pre_rand=$(LD_PRELOAD=$preload "$bench" "$f" io-rand | fig)
pre_mseq=$(LD_PRELOAD=$preload "$bench" "$f" mmap-seq | fig)
pre_mwrite=$(LD_PRELOAD=$preload "$bench" "$f" mmap-write | fig)
echo "== direct mappings (libfamfs_direct.so) against FUSE and the device mapping, $mib MiB file"
python3 - "$map_seq" "$map_rand" "$map_write" "$fuse_seq" "$fuse_rand" "$pre_seq" "$pre_rand" \
	"$pre_mseq" "$pre_mwrite" << 'PY'
import sys
ms, mr, mw, fs, fr, ps, pr, pms, pmw = map(float, sys.argv[1:])
print("direct: sequential read (1 MiB pread): preload %.0f MiB/s, FUSE %.0f, device mapping %.0f: "
      "preload %.2fx of the mapping (FUSE %.2fx)" % (ps, fs, ms, ps / ms, fs / ms))
print("direct: random read (64 KiB pread): preload %.0f MiB/s, FUSE %.0f, device mapping %.0f: "
      "preload %.2fx of the mapping (FUSE %.2fx)" % (pr, fr, mr, pr / mr, fr / mr))
print("direct: mmap of the file, sequential memcpy: preload %.0f MiB/s: %.2fx of the mapping"
      % (pms, pms / ms))
print("direct: write through mmap + msync: preload %.0f MiB/s, mapping + cache flush %.0f: %.2fx"
      % (pmw, mw, pmw / mw))
PY
