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
#
# The guest reaches the host's 127.0.0.1:PORT as 10.0.2.2:PORT; nothing on the host
# is reachable from outside (no host forwards). KVM is not used: TCG works everywhere.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: run-guest.sh GUEST_DIR INITRAMFS [KERNEL_ARG...]" >&2; exit 2; }
guest=$1
initrd=$2
shift 2
# shellcheck disable=SC2054 # the commas are inside QEMU options
cmd=(qemu-system-x86_64 -name famfs-test-guest -machine q35,accel=tcg -cpu max
	-smp "${SMP:-1}" -m "${MEM:-512M}"
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
