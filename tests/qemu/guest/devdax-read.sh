#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# devdax-read.sh - the second boot of tests/qemu/devdax.sh: the host made famfs in the
# NVDIMM's backing file (at the offset the first boot found) and is its master, and its
# gateway serves it over NFS; the guest mounts it from its real /dev/dax0.0 (read-only:
# the guest is not the master) and reads what the host wrote. Runs in the QEMU test
# guest (lab.run=/guest/devdax-read.sh lab.modules=devdax lab.tag=NAME lab.uuid=UUID
# lab.offset=N lab.late=PATH lab.late_md5=MD5 lab.wait=SECONDS); its exit status is the
# number of failed checks (at most 100).
#
# Steps: /dev/dax0.0 must be there at boot (its info block is in the backing file) and
# start at lab.offset; famfs-gw info shows the host as the master; famfs-gw mount
# --follow-ms 500, then "DEVDAX: mounted" is printed (the host then creates lab.late, a
# path in famfs, over NFS a few seconds later); ls -l and md5sum -c of host/MD5SUMS (the
# host's md5 of every file it wrote); the guest polls the listing for lab.late (up to
# lab.wait seconds from the mount, default 60) and prints how long it took to be listed
# and to have its full content (lab.late_md5); writes, mkdir, rm and mv fail with
# "Read-only file system" and change nothing; SIGTERM to the mount daemon unmounts.
# shellcheck source=devdax-lib.sh disable=SC2086,SC2317 # paths have no spaces; check runs functions
. /guest/devdax-lib.sh

provision
report_offset
check "dax0.0 starts at the offset the first boot found ($(arg lab.offset none))" [ "$OFFSET" = "$(arg lab.offset '')" ]
$GW -d $DAX info > /tmp/info 2>&1
sed 's/^/DEVDAX: info: /' /tmp/info
check "famfs-gw info: the host's famfs, the host is the master, this guest a client" \
	sh -c "grep -q '^device: .*(devdax)' /tmp/info && grep -q '^role: *client' /tmp/info &&
		grep -q '^master uuid: *$(arg lab.master none)' /tmp/info"

t0=$(up)
check "famfs-gw mount /dev/dax0.0 /mnt/famfs (not the master)" fm_mount --follow-ms 500
echo "DEVDAX: mount took $(since "$t0")s"
tm=$(up)
echo "DEVDAX: mounted at t=${tm}s"
mount_ro() { fm_mounted && { grep " $M fuse" /proc/mounts | grep -q ' ro[ ,]' || { grep " $M " /proc/mounts; false; }; }; }
check "/mnt/famfs is a FUSE mount, read-only" mount_ro

# The host's files; the directory listing is now in the kernel's caches.
check "ls -l: the files the host wrote" sh -c "ls -ln $M/host $M/host/sub > /tmp/ls && grep -q ' data.bin\$' /tmp/ls && grep -q ' readme.txt\$' /tmp/ls"
check "md5sum -c host/MD5SUMS: every file the host wrote over NFS" sh -c "cd $M/host && md5sum -c MD5SUMS"

# The file the host creates over NFS a few seconds after "mounted": it must show up in
# the listing of host/ (which this mount has read already) and then with its content.
LATE=$(arg lab.late host/late.bin)
LATE_MD5=$(arg lab.late_md5 none)
WAIT=$(arg lab.wait 60)
late() {
	seen=
	while [ "$(echo "$(since "$tm") < $WAIT" | bc)" = 1 ]; do
		# shellcheck disable=SC2010 # the listing (readdir) is what is checked
		if ls "$M/${LATE%/*}" | grep -qxF "${LATE##*/}"; then
			[ -n "$seen" ] || { seen=$(since "$tm"); echo "DEVDAX: $LATE listed ${seen}s after the mount" >> /tmp/late; }
			if [ "$(md5sum < "$M/$LATE" | cut -d' ' -f1)" = "$LATE_MD5" ]; then
				echo "DEVDAX: $LATE complete (md5 $LATE_MD5) $(since "$tm")s after the mount" >> /tmp/late
				return 0
			fi
		fi
		sleep 0.2
	done
	echo "after ${WAIT}s: $(ls -ln "$M/$LATE" 2>&1)"
	return 1
}
: > /tmp/late
check "a file the host created over NFS while the guest was mounted appears, with its content" late
cat /tmp/late

erofs() { # CMD...: fails with EROFS (stdin is not the console: busybox rm would ask)
	if out=$("$@" < /dev/null 2>&1); then
		echo "succeeded: $*"
		return 1
	fi
	echo "$out" | grep -q 'Read-only file system' || { echo "$out"; return 1; }
}
before=$(md5sum < $M/host/hello.txt)
check "echo > a new file: Read-only file system" erofs sh -c "echo x > $M/host/new.txt"
check "echo >> an existing file: Read-only file system" erofs sh -c "echo x >> $M/host/hello.txt"
check "mkdir: Read-only file system" erofs mkdir $M/newdir
check "rm -f: Read-only file system" erofs rm -f $M/host/hello.txt
check "mv: Read-only file system" erofs mv $M/host/hello.txt $M/host/moved.txt
unchanged() {
	[ ! -e $M/host/new.txt ] && [ ! -e $M/newdir ] && [ ! -e $M/host/moved.txt ] &&
		[ "$(md5sum < $M/host/hello.txt)" = "$before" ]
}
check "the refused changes changed nothing" unchanged

cd /
pid=$(fm_pid)
check "SIGTERM to the mount daemon (pid $pid)" kill -TERM "$pid"
check "the mount is gone and the daemon exited" wait_unmounted 10
finish
