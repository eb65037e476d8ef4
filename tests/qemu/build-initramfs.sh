#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# build-initramfs.sh GUEST_DIR OUT.cpio - the guest's initramfs (a newc cpio archive,
# uncompressed: the kernel unpacks it faster under TCG than a gzip one).
#
# GUEST_DIR is what fetch-guest.sh made (busybox, modules/). The archive holds busybox
# with a link per applet, the modules with their load order, tests/qemu/init as /init
# and tests/qemu/guest/*.sh under /guest. The cpio is written by the static busybox
# itself, so the host needs no cpio. Takes well under a second.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 2 ] || { echo "usage: build-initramfs.sh GUEST_DIR OUT.cpio" >&2; exit 2; }
guest=$(realpath "$1")
out=$(realpath -m "$2")
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
install -m 755 "$here/init" "$root/init"
install -m 755 "$here"/guest/*.sh "$root/guest/"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2> /dev/null) > "$out.tmp"
mv "$out.tmp" "$out"
