#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh - the README's run command: set up, build, and show famfs-gw on a demo
# device (a 4 GiB sparse file standing in for a CXL/devdax device).
#
#   scripts/demo.sh [DEVICE-FILE]     (default: build/demo/famfs-demo.img)
#
# The device is made anew each run. Afterwards try, for example:
#   build/gateway/famfs-gw -d DEVICE-FILE ls -l /docs
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$repo/build" --target famfs-gw -j "$(nproc)" > /dev/null

gw=$repo/build/gateway/famfs-gw
dev=${1:-$repo/build/demo/famfs-demo.img}
mkdir -p "$(dirname "$dev")"
rm -f "$dev"
# The demo host plays the master of its own demo device.
export FAMFS_SYSTEM_UUID=${FAMFS_SYSTEM_UUID:-d3e0d3e0-0000-4000-8000-00000000de30}
export FAMFS_GW_DEVICE=$dev

run() { echo "\$ famfs-gw $*"; "$gw" "$@"; echo; }

run mkfs --size 4G
run mkdir -p /docs/guides /data
run cp "$repo/README.md" "$repo/famfs-core/include/famfs/omf.h" :/docs/
head -c $((24 << 20)) /dev/urandom > "$(dirname "$dev")/sample.bin"
run cp -N 3 -B 4 -C 2M "$(dirname "$dev")/sample.bin" :/data/striped.bin
run creat -s 1M /data/a /data/b /data/c
run ls -l /
run ls -l /docs /data
run stat /data/striped.bin
echo "\$ famfs-gw cat /data/striped.bin | cmp - sample.bin"
"$gw" cat /data/striped.bin | cmp - "$(dirname "$dev")/sample.bin" && echo "identical"
echo
run info
run fsck
echo "Demo device: $dev"
echo "Try: $gw -d $dev ls -l /docs"
