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
#      after a remount, prints their md5 and unmounts.
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
repo=$(cd "$here/../.." && pwd)
GW=${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}
[ $# -ge 1 ] || { echo "usage: devdax.sh WORK_DIR [CACHE_DIR]" >&2; exit 2; }
GW=$(realpath "$GW")
work=$(realpath -m "$1")
cache=$(realpath -m "${2:-${QEMU_LAB_CACHE:-$repo/.cache/qemu-lab}}")
PMEM_SIZE=${DEVDAX_PMEM_SIZE:-1G}
QEMU_LIMIT=180 # seconds per boot
LATE_DELAY=3   # the host writes the late file this long after the guest is mounted
GUEST_UUID=9e57d0d0-0000-4000-8000-0000000000a1
HOST_UUID=40570000-0000-4000-8000-0000000000b2
export FAMFS_SYSTEM_UUID=$HOST_UUID
unset FAMFS_GW_DEVICE

passes=0
fails=0
pass() { passes=$((passes + 1)); echo "ok   $*"; }
fail() { fails=$((fails + 1)); echo "FAIL $*"; }
check() { # NAME CMD...: CMD's output goes to $work/check.out, shown when it fails
	local name=$1
	shift
	if "$@" > "$work/check.out" 2>&1; then
		pass "$name"
	else
		fail "$name"
		sed 's/^/    | /' "$work/check.out" | tail -n 10
	fi
}
summary() {
	echo "   total time $(elapsed); logs in $work"
	echo "qemu devdax: $passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - t_start))s"; }

qemu_pid=
sups=()
cleanup() {
	local p
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2> /dev/null; then
		kill -KILL "$qemu_pid" 2> /dev/null
		wait "$qemu_pid" 2> /dev/null
	fi
	for p in "${sups[@]}"; do
		stop_pid "$p"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # PID: SIGTERM, wait up to 20 s, then SIGKILL; true when it went on TERM
	local i
	kill -0 "$1" 2> /dev/null || return 0
	kill -TERM "$1" 2> /dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2> /dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2> /dev/null
	return 1
}

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
free_port() { # a port P (and P+1, serve's MOUNT port) free on 127.0.0.1, in 20810-20899
	local p i start=$(((RANDOM + $$) % 90))
	for ((i = 0; i < 90; i++)); do
		p=$((20810 + (start + i) % 90))
		if ! port_open "$p" && ! port_open $((p + 1)) &&
		   ! grep -qi ":$(printf '%04X' "$p") .* 0A " /proc/net/tcp &&
		   ! grep -qi ":$(printf '%04X' $((p + 1))) .* 0A " /proc/net/tcp; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
need_rpcbind() { # NFSv3 (the bulk writes): ganesha registers with rpcbind
	[ -S /run/rpcbind.sock ] && port_open 111 && return 0
	command -v rpcbind > /dev/null && [ "$(id -u)" = 0 ] || return 1
	rpcbind -w 2> /dev/null || return 1 # a system service: left running
	for _ in $(seq 30); do port_open 111 && return 0; sleep 0.1; done
	return 1
}

# --- 0. what the test needs -------------------------------------------------------------------
missing=
for tool in qemu-system-x86_64 ganesha.nfsd ndctl nfs-cat nfs-cp nfs-ls python3 apt-get dpkg-deb; do
	command -v "$tool" > /dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	fail "missing on this host:$missing (scripts/setup.sh installs them)"
	summary
	exit 1
fi
if [ ! -x "$GW" ]; then
	fail "FAMFS_GW=$GW is not an executable"
	summary
	exit 1
fi
if ! "$GW" mount --help > /dev/null 2>&1; then
	fail "$GW has no 'mount' command ($("$GW" mount --help 2>&1 | head -n 1))"
	summary
	exit 1
fi
if ! need_rpcbind; then
	fail "rpcbind is not running and cannot be started (NFSv3 for the host's writes)"
	summary
	exit 1
fi
mkdir -p "$work"
rm -rf "${work:?}"/run1 "${work:?}"/run2 "$work/hostfiles" "$work"/boot?.log "$work/pmem.img"

# --- the guest image --------------------------------------------------------------------------
echo "== guest image (cache $cache)"
if guest=$("$here/fetch-guest.sh" "$cache" | tail -n 1) && [ -f "$guest/modules/load-order.devdax" ]; then
	pass "guest kernel $(cat "$guest/kver") and busybox from Debian's archive ($(elapsed))"
else
	fail "fetch the guest's kernel and busybox (apt-get download)"
	summary
	exit 1
fi
bins=("$GW" "$(command -v ndctl)")
for b in daxctl fusermount3; do
	command -v "$b" > /dev/null && bins+=("$(command -v "$b")")
done
if "$here/build-initramfs.sh" "$guest" "$work/initramfs.cpio" "${bins[@]}"; then
	pass "initramfs built with ${bins[*]##*/} and their libraries ($(du -h "$work/initramfs.cpio" | cut -f1))"
else
	fail "build the initramfs"
	summary
	exit 1
fi
pmem=$work/pmem.img
truncate -s "$PMEM_SIZE" "$pmem"

# boot_guest NAME SCRIPT [KERNEL_ARG...]: boot the guest with the NVDIMM, run
# /guest/SCRIPT; its console in $work/NAME.log. Counts its PASS/FAIL lines and checks
# QEMU's exit status. While it runs, once the console says "DEVDAX: mounted", the
# function named by $on_mounted (if any) is called, once.
boot_guest() {
	local name=$1 script=$2 log=$work/$1.log rc ticks=0 gp gf t0 hooked=
	shift 2
	t0=$(date +%s)
	PMEM_FILE=$pmem MEM=512M SMP=1 "$here/run-guest.sh" "$guest" "$work/initramfs.cpio" \
		lab.modules=devdax lab.run="/guest/$script" lab.host="$name" lab.tag="$name" \
		lab.uuid="$GUEST_UUID" "$@" < /dev/null > "$log" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2> /dev/null && [ $ticks -lt $((QEMU_LIMIT * 5)) ]; do
		if [ -n "${on_mounted:-}" ] && [ -z "$hooked" ] && grep -aq '^DEVDAX: mounted' "$log"; then
			hooked=1
			$on_mounted
		fi
		sleep 0.2
		ticks=$((ticks + 1))
	done
	if kill -0 "$qemu_pid" 2> /dev/null; then
		kill -KILL "$qemu_pid"
		wait "$qemu_pid" 2> /dev/null
		rc=timeout
	else
		wait "$qemu_pid"
		rc=$?
	fi
	qemu_pid=
	tr -d '\r' < "$log" | grep -a -E '^(PASS|FAIL|DEVDAX[A-Z_]*)[:=]' | grep -a -v -E '^DEVDAX: info: ' |
		sed 's/^PASS: /ok   guest: /; s/^FAIL: /FAIL guest: /; s/^DEVDAX/   &/'
	gp=$(tr -d '\r' < "$log" | grep -a -c '^PASS: ')
	gf=$(tr -d '\r' < "$log" | grep -a -c '^FAIL: ')
	passes=$((passes + gp))
	fails=$((fails + gf))
	echo "   guest ($name): $gp passed, $gf failed, QEMU exit status $rc, $(($(date +%s) - t0))s"
	if [ "$rc" = timeout ]; then
		fail "$name: the guest did not power off within ${QEMU_LIMIT}s (killed); console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	elif [ $((rc & 1)) -ne 1 ] || [ $((rc >> 1)) -ne "$((gf > 100 ? 100 : gf))" ]; then
		fail "$name: QEMU exit status $rc does not match the $gf failed guest checks; console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	elif [ "$gp" -eq 0 ]; then
		fail "$name: the guest reported no checks; console: $log"
		tr -d '\r' < "$log" | tail -n 15 | sed 's/^/    | /'
	else
		pass "$name: the guest's exit status reached the host (QEMU exit status $rc)"
	fi
}
console_value() { # LOG KEY: the value of the guest's KEY=value line
	tr -d '\r' < "$1" | sed -n "s/^$2=//p" | tail -n 1
}

ganesha_log_notes() { # LOG: the warnings and errors ganesha logged (for the record)
	local lines
	# Not shown: ganesha 4.3's start-up noise on a host without Kerberos, RADOS or D-Bus.
	lines=$(grep -a -E ' :(WARN|MAJ|CRIT|FATAL|ERR)[A-Z]* *:' "$1" | grep -v -E 'DBUS|dbus|RADOS|krb5|keytab|realm|principal nfs' | tail -n 25)
	[ -n "$lines" ] && { echo "   ganesha.log warnings and errors (last 25):"; echo "$lines" | sed 's/^/    | /'; }
	return 0
}

serve_bg() { # NAME ARGS...: famfs-gw ARGS... --background; sets sup; true when it runs
	local name=$1
	shift
	sup=
	if ! "$GW" "$@" --background > "$work/$name.out" 2> "$work/$name.err"; then
		sed 's/^/    | /' "$work/$name.out" "$work/$name.err" | head -n 30
		return 1
	fi
	sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' "$work/$name.out")
	[ -n "$sup" ] && sups+=("$sup")
	[ -n "$sup" ]
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
	fail "the guest printed no DEVDAX_OFFSET=N (got '$offset'); console: $log1"
	summary
	exit 1
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
if "${H[@]}" fsck > "$work/fsck1.out" 2>&1; then
	pass "famfs-gw --offset $offset fsck is clean: $(tail -n 1 "$work/fsck1.out")"
else
	fail "famfs-gw --offset $offset fsck"
	sed 's/^/    | /' "$work/fsck1.out" | tail -n 20
fi
tr -d '\r' < "$log1" | sed -n 's/^MD5: //p' > "$work/guest.md5"
nfiles=$(grep -c . "$work/guest.md5")
port=$(free_port)
if [ "$nfiles" -eq 0 ]; then
	fail "the guest printed no MD5 lines"
elif [ -z "$port" ]; then
	fail "no free port in 20810-20899 on 127.0.0.1"
elif serve_bg serve1 -d "$pmem" --offset "$offset" --system-uuid "$HOST_UUID" serve \
		--port "$port" --run-dir "$work/run1" --protocols 4; then
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
elif serve_bg serve2 serve --config "$work/gw.conf"; then
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
	on_mounted=write_late
	boot_guest boot2 devdax-read.sh lab.offset="$offset" lab.master="$HOST_UUID" \
		lab.late=host/late.bin lab.late_md5="$late_md5" lab.wait=60
	on_mounted=
	check "the host wrote host/late.bin over NFS while the guest was mounted (${late_written:-never})" \
		bash -c "[ -n '$late_written' ] && [ '$late_written' != failed ] || cat '$work/late.out'"
	check "famfs-gw status: the gateway still runs after the guest" "$GW" status --run-dir "$work/run2"
	check "stop the gateway (SIGTERM to the supervisor)" stop_pid "$sup"
	ganesha_log_notes "$work/run2/ganesha.log"
	if "${H[@]}" fsck > "$work/fsck2.out" 2>&1; then
		pass "famfs-gw --offset $offset fsck is clean: $(tail -n 1 "$work/fsck2.out")"
	else
		fail "famfs-gw --offset $offset fsck"
		sed 's/^/    | /' "$work/fsck2.out" | tail -n 20
	fi
else
	fail "famfs-gw serve --config gw.conf (device_offset = $offset)"
fi

if [ "$fails" -eq 0 ]; then
	rm -rf "$pmem" "$work/hostfiles" "$work/late.bin" "$work/initramfs.cpio"
fi
summary
