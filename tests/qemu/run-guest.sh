#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run-guest.sh GUEST_DIR INITRAMFS [KERNEL_ARG...] - boot the test guest under QEMU (TCG,
# one vCPU, user-mode networking), its serial console on standard input/output. It
# execs QEMU, so a caller that starts it in the background gets QEMU's pid.
#
# GUEST_DIR is what fetch-guest.sh made, INITRAMFS what build-initramfs.sh made. The
# kernel arguments go to the guest's /init: lab.run=/guest/SCRIPT runs a script and
# powers off, QEMU then exits with (script status << 1) | 1; without it the guest
# gives a shell (quit with 'poweroff -f', or Ctrl-A x).
# Environment: MEM (default 512M), SMP (default 1: with 2 host cores a second vCPU
# competes with QEMU's network thread and the NFS server), DRYRUN=1 prints the command.
# PMEM_FILE=FILE gives the guest a label-less NVDIMM (ACPI NFIT) whose memory is FILE,
# mapped shared (memory-backend-file,share=on): what the guest writes there is in FILE,
# and what the host writes into FILE the guest sees. PMEM_SIZE (default: FILE's size,
# 1G when FILE is missing or empty; a multiple of 2M, at least 1G here) is the NVDIMM's
# size; FILE must be empty or exactly that long (QEMU's rule). In the guest,
# lab.modules=devdax loads the drivers; 'ndctl create-namespace -f -e namespace0.0
# --mode=devdax --align=2M' then makes /dev/dax0.0 (kept in FILE across boots).
#
# The guest reaches the host's 127.0.0.1:PORT as 10.0.2.2:PORT; nothing on the host
# is reachable from outside (no host forwards). KVM is not used: TCG works everywhere.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: run-guest.sh GUEST_DIR INITRAMFS [KERNEL_ARG...]" >&2; exit 2; }
guest=$1
initrd=$2
shift 2
machine=q35,accel=tcg
mem=${MEM:-512M}
pmem=()
if [ -n "${PMEM_FILE:-}" ]; then
	size=${PMEM_SIZE:-}
	if [ -z "$size" ]; then
		size=$(stat -c %s "$PMEM_FILE" 2> /dev/null || echo 0)
		[ "$size" != 0 ] || size=1G
	fi
	machine=$machine,nvdimm=on
	mem=$mem,slots=4,maxmem=64G
	# shellcheck disable=SC2054 # the commas are inside QEMU options
	pmem=(-object "memory-backend-file,id=pm0,share=on,mem-path=$PMEM_FILE,size=$size,align=2M"
		-device nvdimm,id=nv0,memdev=pm0)
fi
# shellcheck disable=SC2054 # the commas are inside QEMU options
cmd=(qemu-system-x86_64 -name famfs-test-guest -machine "$machine" -cpu max
	-smp "${SMP:-1}" -m "$mem" "${pmem[@]}"
	-kernel "$guest/vmlinux" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 quiet $*"
	-nographic -no-reboot -serial mon:stdio -display none -vga none
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ -n "${DRYRUN:-}" ]; then
	printf '%q ' "${cmd[@]}"
	echo
	exit 0
fi
exec "${cmd[@]}"
