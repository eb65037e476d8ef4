#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# devdax-lib.sh - sourced by the devdax guest scripts (devdax-write.sh, devdax-read.sh)
# of tests/qemu/devdax.sh; runs in the QEMU test guest booted with PMEM_FILE= (a
# file-backed, label-less NVDIMM) and lab.modules=devdax.
#
# Kernel command line: lab.tag=NAME (put in every result line), lab.uuid=UUID (this
# guest's system UUID: famfs-gw --system-uuid), lab.limit=SECONDS (default 120: a script
# still running then, e.g. stuck in a file system call, gets a FAIL line naming the
# step, and the guest powers off with the count of failures as its status).
# Gives what /guest/lib.sh gives (arg, up, since, res, check, failed), and:
#   provision            /dev/dax0.0: made from namespace0.0 (ndctl create-namespace
#                        --mode=devdax --align=2M) unless it came back on its own
#   report_offset        prints where dax0.0 starts in the NVDIMM, which is where it
#                        starts in the host's backing file (offset 0 of the region is
#                        offset 0 of the file: label-less, no other namespace):
#                        DEVDAX_OFFSET=N, DEVDAX_SIZE=N, DEVDAX_REGION=... lines
#   fm_mount [OPT...]    famfs-gw mount [OPT...] /dev/dax0.0 /mnt/famfs (daemonizes once
#                        the mount is ready; its log in /tmp/famfs-mount.log)
#   fm_mounted           /mnt/famfs is a FUSE mount
#   fm_pid               the famfs-gw mount daemon's pid
#   wait_unmounted [S]   until /mnt/famfs is no mount and the daemon is gone (up to S s)
#   finish               stops the watchdog, prints the count line; exit status = the
#                        number of FAILs (at most 100)
# shellcheck disable=SC2317 # functions run through check()
export PATH=/bin
# shellcheck source=lib.sh
. /guest/lib.sh
DAX=/dev/dax0.0
M=/mnt/famfs
: > $R
TAG=$(arg lab.tag devdax)
UUID=$(arg lab.uuid 00000000-0000-4000-8000-0000000000a1)
GW="famfs-gw --system-uuid $UUID"

provision() {
	t0=$(up)
	if [ -c $DAX ]; then
		res PASS "/dev/dax0.0 is there at boot (the devdax info block is in the NVDIMM)"
	else
		check "ndctl create-namespace -f -e namespace0.0 --mode=devdax --align=2M" \
			ndctl create-namespace -f -e namespace0.0 --mode=devdax --align=2M
		echo "DEVDAX: create-namespace took $(since "$t0")s"
	fi
	check "/dev/dax0.0 is a devdax character device with 2 MiB alignment" sh -c "
		[ -c $DAX ] && [ \"\$(cat /sys/bus/dax/devices/dax0.0/align)\" = 2097152 ] ||
			{ ls -l /dev/dax* /sys/bus/dax/devices; daxctl list; exit 1; }"
}

report_offset() {
	d=/sys/bus/dax/devices/dax0.0
	# .../ndbus0/region0/dax0.1/dax0.0: the region is two levels up
	path=$(readlink -f $d)
	region=${path%/*/*}
	ns=$(ls -d "$region"/namespace*.* 2> /dev/null | head -n 1)
	dres=$(cat $d/resource)
	dsize=$(cat $d/size)
	rres=$(cat "$region/resource")
	rsize=$(cat "$region/size")
	echo "DEVDAX_REGION=${region##*/} resource $rres size $rsize; ${ns##*/} mode $(cat "$ns/mode" 2> /dev/null)"
	echo "DEVDAX_DAX=dax0.0 resource $dres size $dsize align $(cat $d/align)"
	OFFSET=$((dres - rres))
	SIZE=$dsize
	echo "DEVDAX_OFFSET=$OFFSET"
	echo "DEVDAX_SIZE=$SIZE"
	check "dax0.0 lies inside ${region##*/}, 2 MiB aligned (offset $OFFSET, $SIZE bytes of $rsize)" \
		[ "$OFFSET" -gt 0 -a $((OFFSET + SIZE)) -le "$rsize" -a $((OFFSET % 2097152)) -eq 0 ]
}

fm_mount() { # [OPT...]
	mkdir -p $M
	# shellcheck disable=SC2086 # GW is a command with options
	$GW mount --log /tmp/famfs-mount.log "$@" $DAX $M
}
fm_mounted() { grep -q " $M fuse" /proc/mounts || { grep " $M " /proc/mounts; cat /tmp/famfs-mount.log; return 1; }; }
fm_pid() { pidof famfs-gw; }
wait_unmounted() { # [SECONDS]
	n=0
	while [ $n -lt $((${1:-10} * 5)) ]; do
		! grep -q " $M " /proc/mounts && [ -z "$(fm_pid)" ] && return 0
		sleep 0.2
		n=$((n + 1))
	done
	echo "still there after ${1:-10}s: $(grep " $M " /proc/mounts) famfs-gw pid $(fm_pid)"
	tail -n 5 /tmp/famfs-mount.log 2> /dev/null
	return 1
}

watchdog() {
	sleep "$(arg lab.limit 120)"
	res FAIL "did not finish in $(arg lab.limit 120)s: stuck in '$(cat /tmp/step)'"
	ps
	tail -n 10 /tmp/famfs-mount.log 2> /dev/null
	f=$(failed)
	sync
	printf "\\$(printf %03o "$f")" | dd of=/dev/port bs=1 seek=244 count=1 2> /dev/null
	poweroff -f
}
: > /tmp/step
watchdog &
WATCHDOG=$!

finish() {
	kill $WATCHDOG
	end_results DEVDAX
}
