#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# cp_bench.sh BUILD_DIR [MIB] - famfs-gw cp into and out of famfs against cp(1) between
# the same files and tmpfs, side by side in one run: a source in the page cache, and the
# same source cold (dropped from the page cache with dd iflag=nocache; famfs-gw cp then
# reads it with O_DIRECT). The famfs device is a file in /dev/shm (memory, like the CXL
# memory it stands for; written once first, as memory that exists), the tmpfs target too;
# the source lives on the disk ($TMPDIR).
# Figures only, never a pass/fail.
set -euo pipefail

build=$(realpath "${1:?usage: cp_bench.sh BUILD_DIR [MIB]}")
mib=${2:-1024}
gw=$build/gateway/famfs-gw
dir=/dev/shm
avail=$(df -k --output=avail "$dir" 2> /dev/null | tail -n 1 || echo 0)
[ "${avail:-0}" -gt $(((4 * mib + 64) * 1024)) ] || dir=${TMPDIR:-/tmp}
shm=$(mktemp -d "$dir/famfs-cp-bench.XXXXXX")
disk=$(mktemp -d "${TMPDIR:-/tmp}/famfs-cp-bench.XXXXXX")
trap 'rm -rf "$shm" "$disk"' EXIT
export FAMFS_SYSTEM_UUID=0badcafe-0000-4000-8000-00000000be05
dev=$shm/dev.img
# Memory is there before anyone writes it: the stand-in is written once (tmpfs would
# otherwise allocate and zero each page at its first touch, which CXL memory never does).
head -c "$((3 * mib + 64))M" /dev/zero > "$dev"
"$gw" -d "$dev" mkfs > /dev/null
head -c "${mib}M" /dev/urandom > "$disk/src"
sync
secs() { # CMD...: wall nanoseconds of CMD
	local t0
	t0=$(date +%s%N)
	"$@" > /dev/null
	echo $(($(date +%s%N) - t0))
}
drop() { dd if="$disk/src" iflag=nocache count=0 status=none; }
cat "$disk/src" > /dev/null # in the page cache
t_cp_warm=$(secs cp "$disk/src" "$shm/ref1")
t_gw_warm=$(secs "$gw" -d "$dev" cp "$disk/src" :/warm)
# the same into a tmpfs file written before (its pages exist, as the device's do)
t_dd_warm=$(secs dd if="$disk/src" of="$shm/ref1" bs=1M conv=notrunc status=none)
drop
t_cp_cold=$(secs cp "$disk/src" "$shm/ref2")
drop
t_gw_cold=$(secs "$gw" -d "$dev" cp "$disk/src" :/cold)
direct=$("$gw" -d "$dev" cp --json "$shm/ref1" :/json | python3 -c 'import json,sys; print(json.load(sys.stdin)["engine"])')
rm -f "$shm/ref2"
t_cp_out=$(secs cp "$shm/ref1" "$shm/out1")
rm -f "$shm/out1"
t_gw_out=$(secs "$gw" -d "$dev" cp :/warm "$shm/out2")
cmp "$disk/src" "$shm/out2"
echo "== famfs-gw cp ($direct) against cp(1), $mib MiB, one run"
python3 - "$mib" "$t_cp_warm" "$t_gw_warm" "$t_cp_cold" "$t_gw_cold" "$t_cp_out" "$t_gw_out" \
	"$t_dd_warm" << 'PY'
import sys
mib = float(sys.argv[1])
cw, gw, cc, gc, co, go, dw = (float(a) / 1e9 for a in sys.argv[2:])
r = lambda t: mib / t
print("cp into famfs, source in the page cache: famfs-gw %.0f MiB/s, cp to tmpfs %.0f: %.2fx "
      "(dd into a tmpfs file written before: %.0f MiB/s, %.2fx)" % (r(gw), r(cw), cw / gw, r(dw), dw / gw))
print("cp into famfs, cold source (O_DIRECT): famfs-gw %.0f MiB/s, cp to tmpfs %.0f: %.2fx" % (r(gc), r(cc), cc / gc))
print("cp out of famfs to tmpfs: famfs-gw %.0f MiB/s, cp tmpfs to tmpfs %.0f: %.2fx" % (r(go), r(co), co / go))
PY
