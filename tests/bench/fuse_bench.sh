#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fuse_bench.sh BUILD_DIR [MIB] - sequential write and read through a famfs-gw FUSE mount
# and directly through the mapping, side by side (fuse_bench), on a famfs device file in
# /dev/shm (memory, like the CXL memory it stands for; /tmp when /dev/shm is too small).
# Figures only, never a pass/fail. Needs /dev/fuse (root).
set -euo pipefail

build=$(realpath "${1:?usage: fuse_bench.sh BUILD_DIR [MIB]}")
mib=${2:-1024}
gw=$build/gateway/famfs-gw
dir=/dev/shm
avail=$(df -k --output=avail "$dir" 2> /dev/null | tail -n 1 || echo 0)
[ "${avail:-0}" -gt $(((3 * mib + 64) * 1024)) ] || dir=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$dir/famfs-fuse-bench.XXXXXX")
mkdir "$tmp/mnt"
export FAMFS_SYSTEM_UUID=0badcafe-0000-4000-8000-00000000be03
cleanup() {
	mountpoint -q "$tmp/mnt" && { "$gw" umount "$tmp/mnt" > /dev/null 2>&1 || umount -l "$tmp/mnt"; }
	rm -rf "$tmp"
}
trap cleanup EXIT

"$gw" -d "$tmp/dev.img" mkfs --size "$((3 * mib + 64))M" > /dev/null
"$gw" mount "$tmp/dev.img" "$tmp/mnt" > /dev/null
"$build/tests/fuse_bench" "$tmp/dev.img" "$tmp/mnt" "$mib" 3
