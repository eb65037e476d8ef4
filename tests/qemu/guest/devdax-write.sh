#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# devdax-write.sh - the first boot of tests/qemu/devdax.sh: the guest makes famfs on its
# real /dev/dax0.0 and fills it through the FUSE mount with plain shell tools; the host
# then reads it from the NVDIMM's backing file. Runs in the QEMU test guest
# (lab.run=/guest/devdax-write.sh lab.modules=devdax lab.tag=NAME lab.uuid=UUID); its
# exit status is the number of failed checks (at most 100).
#
# Steps: make /dev/dax0.0 (ndctl create-namespace) and print where it starts in the
# NVDIMM (DEVDAX_OFFSET=N); famfs-gw mkfs /dev/dax0.0 as this guest (the master; its
# FS_UUID= printed); famfs-gw mount /dev/dax0.0 /mnt/famfs; mkdir -p, echo > and
# echo >>, dd, cp, cp -r into /mnt/famfs/guest, every step done as well in a tmpfs copy;
# ls -l sizes; famfs-gw umount, mount again and compare the whole tree with the copy;
# print "MD5: <md5>  <path>" for every file (the host checks them over NFS); famfs-gw
# umount (the daemon must exit); famfs-gw fsck on /dev/dax0.0.
# shellcheck source=devdax-lib.sh disable=SC2086,SC2317 # paths have no spaces; check runs functions
. /guest/devdax-lib.sh
L=/tmp/src
X=/tmp/mirror

provision
report_offset
check "famfs-gw mkfs on /dev/dax0.0 (this guest becomes the master)" $GW -d $DAX mkfs
$GW -d $DAX info > /tmp/info 2>&1
sed 's/^/DEVDAX: info: /' /tmp/info
echo "FS_UUID=$(sed -n 's/^fs uuid: *//p' /tmp/info)"
check "famfs-gw info: /dev/dax0.0 opened as a devdax device (libdaxctl), this guest is the master" \
	sh -c "grep -q '^device: .*(devdax)' /tmp/info && grep -q '^role: *master' /tmp/info"

t0=$(up)
check "famfs-gw mount /dev/dax0.0 /mnt/famfs" fm_mount
echo "DEVDAX: mount took $(since "$t0")s"
mount_rw() { fm_mounted && { grep " $M fuse" /proc/mounts | grep -q ' rw[ ,]' || { grep " $M " /proc/mounts; false; }; }; }
check "/mnt/famfs is a FUSE mount, read-write" mount_rw

# The sources (random content), then the same steps in famfs and in the tmpfs copy.
mkdir -p $L/tree/sub $X
SMALL="0 1 4095 4096 4097 65536 1048579 2097152 2097153"
for n in $SMALL; do head -c "$n" /dev/urandom > $L/s-$n; done
dd if=/dev/urandom of=$L/big.bin bs=1M count=8 2> /dev/null
echo "tree file 1" > $L/tree/one.txt
head -c 30000 /dev/urandom > $L/tree/sub/two.bin
: > $L/tree/sub/empty

op_mkdir() { mkdir -p "$1/guest/sub/deeper" && [ -d "$1/guest/sub/deeper" ]; }
op_echo() {
	echo "hello from the guest" > "$1/guest/hello.txt" &&
		echo "a second line" >> "$1/guest/hello.txt" &&
		echo "a third line" >> "$1/guest/hello.txt"
}
op_dd() { dd if=$L/big.bin of="$1/guest/big.bin" bs=1M 2> /dev/null; }
op_dd_small() { dd if=$L/s-65536 of="$1/guest/sub/dd-4k.bin" bs=4096 count=5 2> /dev/null; }
op_cp() { for n in $SMALL; do cp $L/s-$n "$1/guest/sub/s-$n" || return 1; done; }
op_cp_r() { cp -r $L/tree "$1/guest/sub/deeper/tree"; }
op_append_big() { # echo >> onto a file of exactly one allocation unit (2 MiB)
	cp $L/s-2097152 "$1/guest/grown.bin" && echo "past 2 MiB" >> "$1/guest/grown.bin"
}
t0=$(up)
for op in mkdir echo dd dd_small cp cp_r append_big; do op_$op $X; done
check "mkdir -p guest/sub/deeper" op_mkdir $M
check "echo > and echo >> twice" op_echo $M
check "dd an 8 MiB file (bs=1M)" op_dd $M
check "dd bs=4096 count=5" op_dd_small $M
check "cp $(echo $SMALL | wc -w) files (0 B to 2 MiB + 1)" op_cp $M
check "cp -r a tree" op_cp_r $M
check "echo >> onto a 2 MiB file" op_append_big $M
echo "DEVDAX: writes took $(since "$t0")s"
sizes() {
	for f in $(cd $X && find . -type f); do
		a=$(ls -ln "$X/$f" | awk '{print $5}')
		b=$(ls -ln "$M/$f" | awk '{print $5}')
		[ "$a" = "$b" ] || { echo "ls -l $f: $b bytes, expected $a"; return 1; }
	done
}
check "ls -l: every file's size" sizes
check "the content read back through the mount (cmp)" sh -c "cd $X && for f in \$(find . -type f); do cmp \$f $M/\$f || exit 1; done"

manifest() { # DIR: "md5  path" of every file, sorted; then every directory
	(cd "$1" && find . -type f | sort | while read -r f; do
		echo "$(md5sum < "$f" | cut -d' ' -f1)  ${f#./}"
	done && find . -type d | sort)
}
cd /
t0=$(up)
check "famfs-gw umount /mnt/famfs" famfs-gw umount $M
check "the mount is gone and the daemon exited" wait_unmounted 10
check "famfs-gw mount again" fm_mount
echo "DEVDAX: umount + mount took $(since "$t0")s"
manifest $X > /tmp/want.manifest
manifest $M > /tmp/got.manifest
check "after the remount, the whole tree = the tmpfs copy ($(grep -c '  ' /tmp/want.manifest) files, md5)" \
	sh -c "diff /tmp/want.manifest /tmp/got.manifest; cmp -s /tmp/want.manifest /tmp/got.manifest"
grep '  ' /tmp/got.manifest | sed 's/^/MD5: /'
if [ -e /bin/libfamfs_direct.so ] && [ -x /bin/direct_bench ]; then
	# The preload library on a real devdax device: the 8 MiB file from its 2 MiB pages.
	direct() { # MODE WANT: big.bin read that way = the tmpfs copy; the counters say WANT
		: > /tmp/ds
		FAMFS_DIRECT_STATS=/tmp/ds FAMFS_DIRECT_VERBOSE=1 LD_PRELOAD=/bin/libfamfs_direct.so \
			direct_bench $M/guest/big.bin "$1" $X/guest/big.bin || return 1
		cat /tmp/ds
		grep -q "$2" /tmp/ds
	}
	check "libfamfs_direct.so: pread of big.bin from /dev/dax0.0 directly = the tmpfs copy" \
		direct cmp 'direct reads [1-9]'
	check "libfamfs_direct.so: mmap of big.bin maps /dev/dax0.0 directly = the tmpfs copy" \
		direct cmp-mmap 'direct mmaps 1'
fi
check "famfs-gw umount" famfs-gw umount $M
check "the mount is gone and the daemon exited" wait_unmounted 10
$GW -d $DAX fsck > /tmp/fsck 2>&1
check "famfs-gw fsck /dev/dax0.0: $(tail -n 1 /tmp/fsck)" grep -q ' 0 error(s)' /tmp/fsck
finish
