#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# devdax.sh WORK_DIR [CACHE_DIR] - one famfs shared by a QEMU guest, through its real
# /dev/dax0.0, and the host's gateway, through the file behind it (label: qemu).
#
# The guest (QEMU TCG, 1 vCPU; see fetch-guest.sh, build-initramfs.sh, run-guest.sh)
# gets a label-less NVDIMM whose memory is WORK_DIR/pmem.img on the host
# (memory-backend-file,share=on), and in its initramfs the host's famfs-gw and ndctl
# with their shared libraries. Its kernel comes from Debian's archive, kept in CACHE_DIR
# (default $QEMU_LAB_CACHE, else <repo>/.cache/qemu-lab).
#
#   1. Boot 1 (guest/devdax-write.sh): the guest makes /dev/dax0.0 (ndctl
#      create-namespace --mode=devdax --align=2M), prints where it starts in the NVDIMM
#      (from sysfs: dax0.0's resource minus its region's), makes famfs on /dev/dax0.0
#      as its master (famfs-gw mkfs; libdaxctl validates the device), mounts it
#      (famfs-gw mount, FUSE), writes files with cp, mkdir -p, dd, echo >>, checks them
#      after a remount, prints their md5 and, when the build gives libfamfs_direct.so
#      (FAMFS_DIRECT, with DIRECT_BENCH), reads and maps the 8 MiB file through it
#      straight from /dev/dax0.0 (its counters must say so) against the tmpfs copy; then
#      unmounts.
#   2. The host: famfs-gw -d pmem.img --offset N info finds the superblock the guest
#      wrote (same fs uuid, the guest as master) and no famfs is at offset 0; fsck is
#      clean; 'famfs-gw -d pmem.img --offset N serve' (read-only: the host is not the
#      master) serves it on a free 127.0.0.1 port, and every file the guest wrote is
#      read back over NFS (libnfs nfs-cat) and with famfs-gw cat, md5 for md5; an NFS
#      write is refused.
#   3. Boot 2 (guest/devdax-read.sh), the reverse: the host makes a new famfs at the
#      same offset as its master (famfs-gw mkfs --force) and serves it from a gateway
#      config (device_offset = N, rendered into ganesha.conf as FSAL Device_Offset),
#      read-write; it writes files over NFS (nfs-cp, NFSv3: libnfs's NFSv4 writes stop
#      at about 4 KB) and their md5 list (host/MD5SUMS). The guest mounts /dev/dax0.0
#      (read-only: not the master) and checks them byte for byte (md5sum -c), that
#      writes fail with EROFS, and, a few seconds after it says it is mounted, the host
#      creates one more file over NFS that the guest must see (it polls for up to 60 s and
#      prints how long it took). Then the host's fsck must be clean.
#
# Environment: FAMFS_GW (the famfs-gw binary; the FAMFS plugin is found the way serve
# finds it), QEMU_LAB_CACHE, DEVDAX_PMEM_SIZE (the NVDIMM, default 1G). Needs
# qemu-system-x86_64, ganesha.nfsd, ndctl, nfs-cat/nfs-cp (libnfs-utils), rpcbind
# (started when it is not running, as root), python3, apt-get and dpkg-deb; no KVM,
# no network but Debian's archive (only on the first run), only 127.0.0.1 on the host.
# WORK_DIR keeps the logs: boot1.log and boot2.log (the guest's serial consoles),
# run1/ and run2/ (the gateways' ganesha.conf and ganesha.log); pmem.img is removed
# when everything passed.
# Last line: "qemu devdax: N passed, M failed"; exit status 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
title="qemu devdax"
summary_total=1 # every summary line follows the total time and where the logs are
port_base=20810
PMEM_SIZE=${DEVDAX_PMEM_SIZE:-1G}
QEMU_LIMIT=180 # seconds per boot
LATE_DELAY=3   # the host writes the late file this long after the guest is mounted
GUEST_UUID=9e57d0d0-0000-4000-8000-0000000000a1
HOST_UUID=40570000-0000-4000-8000-0000000000b2
export FAMFS_SYSTEM_UUID=$HOST_UUID

need_rpcbind() { # NFSv3 (the bulk writes): ganesha registers with rpcbind
	[ -S /run/rpcbind.sock ] && port_open 111 && return 0
	command -v rpcbind > /dev/null && [ "$(id -u)" = 0 ] || return 1
	rpcbind -w 2> /dev/null || return 1 # a system service: left running
	for _ in $(seq 30); do port_open 111 && return 0; sleep 0.1; done
	return 1
}

# --- 0. what the test needs -------------------------------------------------------------------
need_host qemu-system-x86_64 ganesha.nfsd ndctl nfs-cat nfs-cp nfs-ls python3 apt-get dpkg-deb
"$GW" mount --help > /dev/null 2>&1 ||
	die "$GW has no 'mount' command ($("$GW" mount --help 2>&1 | head -n 1))"
need_rpcbind || die "rpcbind is not running and cannot be started (NFSv3 for the host's writes)"
mkdir -p "$work"
rm -rf "${work:?}"/run1 "${work:?}"/run2 "$work/hostfiles" "$work"/boot?.log "$work/pmem.img"

# --- the guest image --------------------------------------------------------------------------
get_guest modules/load-order.devdax
bins=("$GW" "$(command -v ndctl)")
# libfamfs_direct.so and direct_bench (its check in the guest), when the build gives them
for b in "${FAMFS_DIRECT:-}" "${DIRECT_BENCH:-}"; do
	[ -n "$b" ] && [ -e "$b" ] && bins+=("$b")
done
for b in daxctl fusermount3; do
	command -v "$b" > /dev/null && bins+=("$(command -v "$b")")
done
build_initramfs "${bins[@]}"
pmem=$work/pmem.img
truncate -s "$PMEM_SIZE" "$pmem"

# boot_guest NAME SCRIPT [KERNEL_ARG...]: boot the guest with the NVDIMM, run
# /guest/SCRIPT; its console in $work/NAME.log. Counts its PASS/FAIL lines and checks
# QEMU's exit status. While it runs, once the console says "DEVDAX: mounted", the
# function named by $on_console (if any) is called, once.
on_console_re='^DEVDAX: mounted'
boot_guest() {
	local name=$1 script=$2
	shift 2
	PMEM_FILE=$pmem MEM=512M SMP=1 run_guest "$name" "$work/$name.log" lab.modules=devdax \
		lab.run="/guest/$script" lab.host="$name" lab.tag="$name" lab.uuid="$GUEST_UUID" "$@"
}
console_lines() { # the guest's result and DEVDAX lines, but not its famfs-gw info
	grep -a -E '^(PASS|FAIL|DEVDAX[A-Z_]*)[:=]' | grep -a -v -E '^DEVDAX: info: ' | sed 's/^DEVDAX/   &/'
}
console_value() { # LOG KEY: the value of the guest's KEY=value line
	tr -d '\r' < "$1" | sed -n "s/^$2=//p" | tail -n 1
}

url() { # PATH [VERSION]: the NFS URL of PATH (inside the export) on $port
	if [ "${2:-4}" = 3 ]; then
		echo "nfs://127.0.0.1/famfs/$1?version=3&nfsport=$port&mountport=$((port + 1))"
	else
		echo "nfs://127.0.0.1/famfs/$1?version=4&nfsport=$port"
	fi
}

# --- 1. boot 1: the guest makes famfs on /dev/dax0.0 and writes files ---------------------------
echo "== boot 1: the guest provisions /dev/dax0.0, makes famfs, writes through famfs-gw mount ($(elapsed))"
boot_guest boot1 devdax-write.sh
log1=$work/boot1.log
offset=$(console_value "$log1" DEVDAX_OFFSET)
daxsize=$(console_value "$log1" DEVDAX_SIZE)
fsuuid=$(console_value "$log1" FS_UUID)
if ! [[ "$offset" =~ ^[0-9]+$ ]] || [ "$offset" -eq 0 ]; then
	die "the guest printed no DEVDAX_OFFSET=N (got '$offset'); console: $log1"
fi
pmem_bytes=$(stat -c %s "$pmem")
echo "   devdax offset in pmem.img: $offset ($((offset >> 20)) MiB); dax0.0: $daxsize bytes; pmem.img: $pmem_bytes bytes"
check "dax0.0 = pmem.img from offset $offset to the end (2 MiB aligned)" \
	[ $((offset % 2097152)) -eq 0 -a "$((offset + daxsize))" -eq "$pmem_bytes" ]

# --- 2. the host reads the guest's famfs from the file, at the offset ---------------------------
echo "== the host: famfs-gw -d pmem.img --offset $offset ($(elapsed))"
H=("$GW" -d "$pmem" --system-uuid "$HOST_UUID" --offset "$offset")
"${H[@]}" info > "$work/info1.out" 2>&1
sed 's/^/    | /' "$work/info1.out"
check "famfs-gw --offset $offset info: the guest's superblock (fs uuid $fsuuid, the guest as master)" \
	bash -c "grep -q '^fs uuid: *$fsuuid\$' '$work/info1.out' && grep -q '^master uuid: *$GUEST_UUID\$' '$work/info1.out' &&
		grep -q '^role: *client' '$work/info1.out'"
check "famfs-gw --offset 0 info: no famfs there (the offset matters)" \
	bash -c "! '$GW' -d '$pmem' --offset 0 info"
check_clean "famfs-gw --offset $offset fsck" "$work/fsck1.out" "${H[@]}" fsck
tr -d '\r' < "$log1" | sed -n 's/^MD5: //p' > "$work/guest.md5"
nfiles=$(grep -c . "$work/guest.md5")
port=$(free_port)
if [ "$nfiles" -eq 0 ]; then
	fail "the guest printed no MD5 lines"
elif [ -z "$port" ]; then
	fail "no free port in 20810-20899 on 127.0.0.1"
elif serve_bg "$work/serve1" "$work/run1" -d "$pmem" --offset "$offset" \
		--system-uuid "$HOST_UUID" serve --port "$port" --run-dir "$work/run1" --protocols 4; then
	pass "famfs-gw -d pmem.img --offset $offset serve --port $port --background (supervisor $sup)"
	check "the gateway serves it read-only (this host is not the master)" grep -q 'read-only' "$work/serve1.out"
	bad_nfs=
	bad_cat=
	while read -r sum path; do
		[ "$(nfs-cat "$(url "$path")" 2> /dev/null | md5sum | cut -d' ' -f1)" = "$sum" ] || bad_nfs="$bad_nfs $path"
		[ "$("${H[@]}" cat "/$path" 2> /dev/null | md5sum | cut -d' ' -f1)" = "$sum" ] || bad_cat="$bad_cat $path"
	done < "$work/guest.md5"
	check "the $nfiles files the guest wrote, read over NFS (nfs-cat), have its md5${bad_nfs:+ (differ:$bad_nfs)}" \
		[ -z "$bad_nfs" ]
	check "... and read with famfs-gw --offset $offset cat${bad_cat:+ (differ:$bad_cat)}" [ -z "$bad_cat" ]
	check "nfs-ls lists the guest's directory" bash -c "nfs-ls '$(url guest/sub)' | grep -q ' s-4096\$'"
	printf 'x\n' > "$work/x.txt"
	check "an NFS write to the read-only gateway fails" bash -c "! nfs-cp '$work/x.txt' '$(url x.txt)'"
	check "stop the gateway (SIGTERM to the supervisor)" stop_pid "$sup"
	ganesha_log_notes "$work/run1/ganesha.log"
else
	fail "famfs-gw -d pmem.img --offset $offset serve"
fi

# --- 3. boot 2: the host's famfs at the offset, served read-write; the guest reads it --------
echo "== boot 2: the host makes famfs at offset $offset and serves it; the guest mounts /dev/dax0.0 ($(elapsed))"
check "famfs-gw --offset $offset mkfs --force (the host becomes the master)" "${H[@]}" mkfs --force
check "famfs-gw --offset $offset mkdir -p /host/sub" "${H[@]}" mkdir -p /host/sub
mkdir -p "$work/hostfiles/sub"
printf 'hello from the host\n' > "$work/hostfiles/hello.txt"
: > "$work/hostfiles/empty.txt"
head -c $(((3 << 20) + 7)) /dev/urandom > "$work/hostfiles/data.bin"
head -c $((2 << 20)) /dev/urandom > "$work/hostfiles/two-mib.bin"
head -c 4097 /dev/urandom > "$work/hostfiles/sub/page-plus-one.bin"
printf 'a file in a sub-directory\n' > "$work/hostfiles/sub/readme.txt"
head -c $((5 << 20)) /dev/urandom > "$work/late.bin"
late_md5=$(md5sum < "$work/late.bin" | cut -d' ' -f1)
(cd "$work/hostfiles" && find . -type f | sed 's|^\./||' | sort | xargs md5sum > "$work/MD5SUMS" && mv "$work/MD5SUMS" .)
port=$(free_port)
cat > "$work/gw.conf" << EOF
# famfs-gw serve --config: the NVDIMM's backing file, famfs at the guest's devdax offset
port = $port
bind = 127.0.0.1
protocols = 3,4
run_dir = $work/run2
log_follow_ms = 500
system_uuid = $HOST_UUID

[export pmem]
device = $pmem
device_offset = $offset
pseudo = /famfs
access = rw
EOF
late_written=
write_late() { # called by boot_guest once the guest is mounted
	local t0
	sleep "$LATE_DELAY"
	t0=$(date +%s.%N)
	if nfs-cp "$work/late.bin" "$(url host/late.bin 3)" > "$work/late.out" 2>&1; then
		late_written="${LATE_DELAY}s after the guest said it was mounted, in $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")s"
	else
		late_written=failed
	fi
}
if [ -z "$port" ]; then
	fail "no free port in 20810-20899 on 127.0.0.1"
elif serve_bg "$work/serve2" "$work/run2" serve --config "$work/gw.conf"; then
	pass "famfs-gw serve --config gw.conf (device_offset = $offset) --background (supervisor $sup)"
	check "the gateway serves it read-write (this host is the master)" grep -q 'master: read-write' "$work/serve2.out"
	check "the rendered ganesha.conf has FSAL Device_Offset = $offset" \
		grep -q "Device_Offset = $offset;" "$work/run2/ganesha.conf"
	bad=
	n=0
	while read -r path; do
		n=$((n + 1))
		nfs-cp "$work/hostfiles/$path" "$(url "host/$path" 3)" > /dev/null 2>&1 || bad="$bad $path"
	done < <(cd "$work/hostfiles" && find . -type f | sed 's|^\./||' | sort)
	check "nfs-cp (NFSv3) $n files into /host (MD5SUMS among them)${bad:+ (failed:$bad)}" [ -z "$bad" ]
	bad=
	while read -r sum path; do
		[ "$(nfs-cat "$(url "host/$path")" 2> /dev/null | md5sum | cut -d' ' -f1)" = "$sum" ] || bad="$bad $path"
	done < "$work/hostfiles/MD5SUMS"
	check "the host reads them back over NFS (md5)${bad:+ (differ:$bad)}" [ -z "$bad" ]
	on_console=write_late
	boot_guest boot2 devdax-read.sh lab.offset="$offset" lab.master="$HOST_UUID" \
		lab.late=host/late.bin lab.late_md5="$late_md5" lab.wait=60
	on_console=
	check "the host wrote host/late.bin over NFS while the guest was mounted (${late_written:-never})" \
		bash -c "[ -n '$late_written' ] && [ '$late_written' != failed ] || cat '$work/late.out'"
	check "famfs-gw status: the gateway still runs after the guest" "$GW" status --run-dir "$work/run2"
	check "stop the gateway (SIGTERM to the supervisor)" stop_pid "$sup"
	ganesha_log_notes "$work/run2/ganesha.log"
	check_clean "famfs-gw --offset $offset fsck" "$work/fsck2.out" "${H[@]}" fsck
else
	fail "famfs-gw serve --config gw.conf (device_offset = $offset)"
fi

if [ "$fails" -eq 0 ]; then
	rm -rf "$pmem" "$work/hostfiles" "$work/late.bin" "$work/initramfs.cpio"
fi
summary
