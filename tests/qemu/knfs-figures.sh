#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# knfs-figures.sh WORK_DIR - the kernel NFS client's figures from a kernel-nfs.sh run:
# the time to write (cp) and to read (cat, after a remount with dropped caches) the large
# file, per NFS version, FAMFS against the FSAL_VFS control in the same run, from the
# guests' consoles (WORK_DIR/{famfs,vfs}/console.log). Figures only, never pass/fail;
# the guest is QEMU TCG on one vCPU, so the ratio is the figure, not the speed.
work=${1:?usage: knfs-figures.sh WORK_DIR}
fig() { # SERVER OP VERSION: seconds, or nothing
	grep -a "\\[$1 v$3\\] FIG $2 " "$work/$1/console.log" 2> /dev/null |
		sed -n 's/.* FIG [a-z]* \([0-9]*\) MiB \([0-9.]*\) s.*/\1 \2/p' | head -n 1
}
printed=
for v in 4.0 4.1 4.2; do
	for op in write read; do
		f=$(fig famfs "$op" "$v")
		c=$(fig vfs "$op" "$v")
		[ -n "$f" ] && [ -n "$c" ] || continue
		[ -n "$printed" ] || echo "== the Linux kernel NFS client (QEMU TCG guest), FAMFS against FSAL_VFS"
		printed=1
		python3 - "$v" "$op" $f $c << 'PY'
import sys
v, op, mib, tf, _, tv = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
tf, tv = max(tf, 0.01), max(tv, 0.01)
print("kernel nfs vers=%s %-5s %3.0f MiB: FAMFS %.2f s (%.1f MiB/s), VFS %.2f s (%.1f MiB/s): %.2fx"
      % (v, op, mib, tf, mib / tf, tv, mib / tv, tv / tf))
PY
	done
done
[ -n "$printed" ] || echo "kernel nfs figures: none in $work (the qemu_kernel_nfs test did not run)"
