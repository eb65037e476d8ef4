#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# build-initramfs.sh GUEST_DIR OUT.cpio [HOST_BINARY...] - the guest's initramfs (a newc
# cpio archive, uncompressed: the kernel unpacks it faster under TCG than a gzip one).
#
# GUEST_DIR is what fetch-guest.sh made (busybox, modules/). The archive holds busybox
# with a link per applet, the modules with their load orders, tests/qemu/init as /init
# and tests/qemu/guest/*.sh under /guest: the scripts lab.run= names and the ones they
# source (lib.sh, devdax-lib.sh: never run by themselves). The cpio is written by the
# static busybox itself, so the host needs no cpio. Takes well under a second.
# Each HOST_BINARY (e.g. famfs-gw, /usr/bin/ndctl) goes into /bin under its own name
# (replacing a busybox applet of that name), with the shared libraries that ldd finds
# for it at the same paths, and the dynamic loader: the guest runs the host's glibc.
# glibc's libgcc_s.so.1 comes along too: glibc loads it at run time (ldd does not show
# it) for pthread_cancel and pthread_exit, which libfuse3's multi-threaded loop calls
# when it stops (without it the FUSE daemon aborts on SIGTERM, leaving its mount).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] || { echo "usage: build-initramfs.sh GUEST_DIR OUT.cpio [HOST_BINARY...]" >&2; exit 2; }
guest=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
root=$(mktemp -d "${TMPDIR:-/tmp}/famfs-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,run,mnt/nfs,root,guest,lib/modules}
cp "$guest/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp "$guest"/modules/* "$root/lib/modules/"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo '127.0.0.1 localhost' > "$root/etc/hosts"
for bin in "$@"; do
	[ -x "$bin" ] || { echo "build-initramfs: $bin is not an executable" >&2; exit 1; }
	rm -f "$root/bin/$(basename "$bin")"
	cp -L "$bin" "$root/bin/"
	# (ldd fails on a static binary: it needs nothing)
	libs=$(ldd "$bin" 2> /dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}') || true
	libc=$(echo "$libs" | grep '/libc\.so\.6$' || true)
	[ -z "$libc" ] || [ ! -e "$(dirname "$libc")/libgcc_s.so.1" ] || libs="$libs $(dirname "$libc")/libgcc_s.so.1"
	for lib in $libs; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
install -m 755 "$here/init" "$root/init"
install -m 755 "$here"/guest/*.sh "$root/guest/"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2> /dev/null) > "$out.tmp"
mv "$out.tmp" "$out"
