#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# kernel-nfs.sh WORK_DIR [CACHE_DIR] - the real Linux kernel NFS client, in a QEMU guest,
# against the gateway (famfs-gw serve: the packaged ganesha.nfsd with the FAMFS FSAL)
# (label: qemu).
#
#   1. The guest (fetch-guest.sh, build-initramfs.sh): Debian's current kernel package
#      and busybox-static, fetched with 'apt-get download' and kept in CACHE_DIR
#      (default $QEMU_LAB_CACHE, else <repo>/.cache/qemu-lab); the initramfs is built
#      in WORK_DIR at every run (well under a second).
#   2. FAMFS: a 4 GiB famfs device file (mkfs as the master), a few files put in /host
#      with famfs-gw cp, 'famfs-gw serve -d DEV --protocols 4 --background' on a free
#      127.0.0.1 port; the guest (QEMU TCG, 1 vCPU) runs guest/nfs-workload.sh for
#      NFS vers 4.0, 4.1 and 4.2, which prints a PASS or FAIL line per check; QEMU's
#      exit status carries the guest's count of failures. Then the host checks, with
#      famfs-gw cat/stat, every file the guest left (the md5 list it wrote in kV/MD5SUMS)
#      and that the names in kV/GONE are gone; the gateway is stopped (SIGTERM to the
#      supervisor) and famfs-gw fsck must be clean.
#   3. VFS, the control: the same guest workload against the stock FSAL_VFS exporting a
#      directory (serve --ganesha-conf), checked on the host with md5sum. It shows that
#      the harness itself is right: a check that fails with FAMFS and passes here is
#      the FAMFS FSAL's.
#
# Environment: FAMFS_GW (the famfs-gw binary; the FAMFS plugin is found the way serve
# finds it), KNFS_VERSIONS (default 4.0,4.1,4.2), KNFS_BIG_MIB (default 64),
# KNFS_LIMIT (seconds per version in the guest, default 100), KNFS_SERVERS (default
# "famfs vfs"), QEMU_LAB_CACHE. Needs qemu-system-x86_64, ganesha.nfsd with
# nfs-ganesha-vfs, python3, apt-get and dpkg-deb; no KVM, no network but Debian's
# archive (only on the first run), only 127.0.0.1 on the host.
# WORK_DIR keeps the logs: <server>/console.log (the guest's serial console),
# <server>/run/ganesha.log; the data files are removed when everything passed.
# Figures (knfs-figures.sh): the large file's write and read time per version, FAMFS
# against VFS. Last line: "kernel nfs: N passed, M failed"; exit status 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
title="kernel nfs"
port_base=20710
VERSIONS=${KNFS_VERSIONS:-4.0,4.1,4.2}
BIG_MIB=${KNFS_BIG_MIB:-64}
LIMIT=${KNFS_LIMIT:-100}
SERVERS=${KNFS_SERVERS:-famfs vfs}
nvers=$(echo "$VERSIONS" | tr ',' '\n' | grep -c .)
# The guest's own limit per version, plus boot, making the source files and slack.
QEMU_LIMIT=$((nvers * LIMIT + 60))
export FAMFS_SYSTEM_UUID=5e1f7e57-0000-4000-8000-00000000c0de

# --- 0. what the test needs ---------------------------------------------------------------
need_host qemu-system-x86_64 ganesha.nfsd python3 apt-get dpkg-deb
mkdir -p "$work"
rm -rf "${work:?}/famfs" "${work:?}/vfs" "$work/hostfiles"

# --- 1. the guest image ----------------------------------------------------------------------
get_guest "done"
# shellcheck disable=SC2119 # no host binaries in this guest
build_initramfs

# The files the host puts into the export before the guest boots (read in the guest
# with md5sum -c host/MD5SUMS).
mkdir -p "$work/hostfiles/docs"
printf 'hello from the host\n' > "$work/hostfiles/hello.txt"
head -c $(((3 << 20) + 7)) /dev/urandom > "$work/hostfiles/data.bin"
printf 'a file in a sub-directory\n' > "$work/hostfiles/docs/readme.txt"
(cd "$work/hostfiles" && md5sum hello.txt data.bin docs/readme.txt > MD5SUMS)

# boot_guest NAME PORT PSEUDO: run the workload in a guest; its console in
# $work/NAME/console.log; counts its PASS/FAIL lines and checks QEMU's exit status.
boot_guest() {
	MEM=768M SMP=1 run_guest "$1" "$work/$1/console.log" lab.run=/guest/nfs-workload.sh \
		lab.host="$1" lab.port="$2" lab.pseudo="$3" lab.vers="$VERSIONS" lab.tag="$1" \
		lab.big="$BIG_MIB" lab.limit="$LIMIT"
}
console_lines() { grep -a -E '^(PASS|FAIL|WORKLOAD): '; }

# host_check NAME READ EXISTS: the files the guest left, seen from the host. READ PATH
# writes a file's content (PATH relative to the export's root); EXISTS PATH is true when
# the name exists.
host_check() {
	local name=$1 read=$2 exists=$3 v sums n bad gone sum path
	for v in $(echo "$VERSIONS" | tr ',' ' '); do
		sums=$work/$name/MD5SUMS-$v
		if ! $read "k$v/MD5SUMS" > "$sums" 2> /dev/null || [ ! -s "$sums" ]; then
			fail "host ($name): k$v/MD5SUMS, the guest's list of its files, is missing"
			continue
		fi
		n=0
		bad=
		while read -r sum path; do
			n=$((n + 1))
			[ "$($read "k$v/$path" 2> /dev/null | md5sum | cut -d' ' -f1)" = "$sum" ] ||
				bad="$bad $path"
		done < "$sums"
		check "host ($name): the $n files the guest left in k$v have its md5${bad:+ (differ:$bad)}" \
			[ -z "$bad" ]
		gone=
		while read -r path; do
			$exists "k$v/$path" && gone="$gone $path"
		done < <($read "k$v/GONE" 2> /dev/null)
		check "host ($name): the names the guest removed or renamed in k$v are gone${gone:+ (still there:$gone)}" \
			[ -z "$gone" ]
		check "host ($name): k$v/big.bin is ${BIG_MIB} MiB" \
			[ "$($read "k$v/big.bin" 2> /dev/null | wc -c)" = $((BIG_MIB << 20)) ]
	done
}

# --- 2. the gateway with the FAMFS FSAL ----------------------------------------------------
if [[ " $SERVERS " == *" famfs "* ]]; then
	echo "== FAMFS: famfs-gw serve -d DEV, kernel NFS client vers $VERSIONS ($(elapsed))"
	mkdir -p "$work/famfs"
	dev=$work/famfs/dev.img
	famfs_read() { "$GW" -d "$dev" cat "/$1"; }
	famfs_exists() { "$GW" -d "$dev" stat "/$1" > /dev/null 2>&1; }
	check "famfs-gw mkfs --size 4G (as the master)" "$GW" -d "$dev" mkfs --size 4G
	check "famfs-gw cp -r the host's files into /host" \
		"$GW" -d "$dev" cp -r "$work/hostfiles" :/host
	port=$(free_port)
	if [ -z "$port" ]; then
		fail "no free port in 20710-20799 on 127.0.0.1"
	elif serve_bg "$work/famfs/serve" "$work/famfs/run" -d "$dev" serve --port "$port" \
			--run-dir "$work/famfs/run" --protocols 4; then
		pass "famfs-gw serve -d DEV --port $port --protocols 4 --background (supervisor $sup)"
		boot_guest famfs "$port" /famfs
		host_check famfs famfs_read famfs_exists
		check "famfs-gw status: the gateway still runs after the guest" \
			"$GW" status --run-dir "$work/famfs/run"
		check "stop the gateway (SIGTERM to the supervisor)" stop_pid "$sup"
		ganesha_log_notes "$work/famfs/run/ganesha.log"
		check_clean "famfs-gw fsck" "$work/famfs/fsck.out" "$GW" -d "$dev" fsck
		"$GW" -d "$dev" info > "$work/famfs/info.out" 2>&1
	else
		fail "famfs-gw serve -d DEV --port $port --protocols 4 --background"
	fi
fi

# --- 3. the control: the same workload against FSAL_VFS ---------------------------------------
if [[ " $SERVERS " == *" vfs "* ]]; then
	echo "== VFS (control): the stock FSAL_VFS, same workload ($(elapsed))"
	mkdir -p "$work/vfs/export"
	cp -r "$work/hostfiles" "$work/vfs/export/host"
	vfs_read() { cat "$work/vfs/export/$1"; }
	vfs_exists() { [ -e "$work/vfs/export/$1" ]; }
	port=$(free_port)
	cat > "$work/vfs/ganesha.conf" << EOF
NFS_CORE_PARAM {
	Protocols = 4; NFS_Port = $port; MNT_Port = $((port + 1));
	Bind_addr = 127.0.0.1; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
}
NFSV4 { Graceless = true; Only_Numeric_Owners = true; }
EXPORT {
	Export_Id = 1; Path = "$work/vfs/export"; Pseudo = "/vfs"; Access_Type = RW;
	Squash = No_Root_Squash; Protocols = 4; Transports = TCP; SecType = sys;
	FSAL { Name = VFS; }
}
EOF
	if [ -z "$port" ]; then
		fail "no free port in 20710-20799 on 127.0.0.1"
	elif serve_bg "$work/vfs/serve" "$work/vfs/run" serve --ganesha-conf "$work/vfs/ganesha.conf" \
			--run-dir "$work/vfs/run"; then
		pass "famfs-gw serve --ganesha-conf (FSAL_VFS) --port $port --background (supervisor $sup)"
		boot_guest vfs "$port" /vfs
		host_check vfs vfs_read vfs_exists
		check "stop the VFS gateway (SIGTERM to the supervisor)" stop_pid "$sup"
		ganesha_log_notes "$work/vfs/run/ganesha.log"
	else
		fail "famfs-gw serve --ganesha-conf (FSAL_VFS)"
	fi
fi

bash "$here/knfs-figures.sh" "$work"
total_time
if [ "$fails" -eq 0 ]; then
	rm -rf "$work/famfs/dev.img" "$work/vfs/export" "$work/hostfiles" "$work/initramfs.cpio"
fi
summary
