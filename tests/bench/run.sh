#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh BUILD_DIR - benchmarks (figures, never pass/fail on time):
#   * files created per second through famfs-core (bench_create)
#   * files created per second through 'famfs-gw creat --from' (one run, one lock)
#   * time to replay a full 8 MiB log (15420 entries)
#   * famfs-gw cp in and out against cp(1) and tmpfs, warm and cold source (cp_bench.sh)
#   * the FAMFS FSAL against the packaged FSAL_VFS over NFS (nfs_bench.sh), and the
#     kernel NFS client's write/read times per version, NFSv4.0/4.1/4.2, from this build's
#     qemu_kernel_nfs run (tests/qemu/knfs-figures.sh)
#   * sequential write/read through a famfs-gw FUSE mount against the mapping (fuse_bench.sh)
#   * reads, mmap and writes through libfamfs_direct.so against FUSE and the mapping
#     (direct_bench.sh)
#   * a real tree (Debian packages) unpacked with tar into a FUSE mount and into tmpfs:
#     time, space against du -s, log entries per object (tests/fuse/tree.sh)
# Each is compared with upstream famfs's measured 90-120 ms per created file.
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FAMFS_SYSTEM_UUID=0badcafe-0000-4000-8000-00000000be02

"$build/tests/bench_create" "$tmp/lib.img" 10000
"$(dirname "${BASH_SOURCE[0]}")/cp_bench.sh" "$build" 1024

gw=$build/gateway/famfs-gw
n=15000
"$gw" -d "$tmp/cli.img" mkfs --size 64G > /dev/null
for i in $(seq 1 $n); do echo "file$i"; done > "$tmp/names"
t0=$(date +%s.%N)
"$gw" -d "$tmp/cli.img" creat -s 4096 --from "$tmp/names" 2> /dev/null
t1=$(date +%s.%N)
python3 - "$n" "$t0" "$t1" <<'PY'
import sys
n, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
dt = t1 - t0
per = dt / n
print("famfs-gw creat --from: %d files in %.3f s = %.0f files/s (%.1f us/file, whole process)" %
      (n, dt, n / dt, per * 1e6))
print("famfs-gw creat --from vs upstream famfs creat (90-120 ms/file): %.0fx to %.0fx faster" %
      (0.090 / per, 0.120 / per))
PY
t0=$(date +%s.%N)
"$gw" -d "$tmp/cli.img" info > /dev/null
t1=$(date +%s.%N)
python3 -c 'import sys; print("famfs-gw info on a %d-entry log (process start + replay): %.1f ms" % (int(sys.argv[1]), (float(sys.argv[3]) - float(sys.argv[2])) * 1e3))' "$n" "$t0" "$t1"

# The FUSE mount against the mapping, side by side (needs /dev/fuse: root).
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ]; then
	"$(dirname "${BASH_SOURCE[0]}")/fuse_bench.sh" "$build" 1024
	"$(dirname "${BASH_SOURCE[0]}")/direct_bench.sh" "$build" 512
	echo "== a real tree through FUSE, against tmpfs"
	FAMFS_GW=$gw bash "$(dirname "${BASH_SOURCE[0]}")/../fuse/tree.sh" | grep '^    (' ||
		echo "tree: failed (see the fuse_tree test)"
else
	echo "fuse bench: skipped (needs root and /dev/fuse)"
fi

# The kernel NFS client's figures from the qemu_kernel_nfs test of this build, if it ran.
bash "$(dirname "${BASH_SOURCE[0]}")/../qemu/knfs-figures.sh" "$build/tests/qemu-kernel-nfs"

# The gateway against FSAL_VFS, side by side (needs root for its tmpfs).
if [ "$(id -u)" -eq 0 ]; then
	"$(dirname "${BASH_SOURCE[0]}")/nfs_bench.sh" "$build"
else
	echo "nfs bench: skipped (mounting its tmpfs needs root)"
fi
