#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# nfs_vs_vfs.sh BUILD_DIR - benchmark (figures, never pass/fail): our FSAL against the
# packaged FSAL_VFS, side by side in one ganesha.nfsd, both exporting the same files from
# tmpfs (the famfs device is a file on the same tmpfs), read over NFSv4.0 with libnfs
# (tests/bench/nfsbench.c) on 127.0.0.1. Each figure is the median of 3 alternating
# runs; the ratio is FAMFS / VFS (for CPU per GiB, VFS / FAMFS: higher is better).
set -euo pipefail

build=$(cd "${1:?usage: nfs_vs_vfs.sh BUILD_DIR}" && pwd)
gw=$build/gateway/famfs-gw
bench=$build/tests/nfsbench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/famfs-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2> /dev/null && sleep 1
	umount "$tmp/fs" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export FAMFS_SYSTEM_UUID=b3b3b3b3-0000-4000-8000-00000000b3b3

mkdir -p "$tmp/fs"
mount -t tmpfs -o size=6g famfs-bench "$tmp/fs"
dev=$tmp/fs/famfs.img
vfs=$tmp/fs/vfs
mkdir -p "$vfs/stat"
"$gw" -d "$dev" mkfs --size 4G --log-size 64M > /dev/null
head -c $((1 << 30)) /dev/urandom > "$vfs/big.bin"
"$gw" -d "$dev" cp "$vfs/big.bin" :/big.bin
"$gw" -d "$dev" mkdir /stat /dir
names=()
for i in $(seq -f '%06g' 0 9999); do names+=("/dir/e$i"); done
"$gw" -d "$dev" touch "${names[@]}"
mkdir -p "$vfs/dir"
(cd "$vfs/dir" && for i in $(seq -f '%06g' 0 9999); do : > "e$i"; done)

mkdir -p "$tmp/plugins"
port=$((20800 + RANDOM % 90))
cat > "$tmp/ganesha.conf" <<CONF
NFS_CORE_PARAM { Protocols = 4; NFS_Port = $port; Bind_addr = 127.0.0.1;
                 Enable_NLM = false; Enable_RQUOTA = false; Plugins_Dir = "$tmp/plugins"; }
NFSV4 { Graceless = true; Only_Numeric_Owners = true; }
FAMFS { Log_Follow_Interval_Ms = 1000; }
EXPORT { Export_Id = 1; Path = /; Pseudo = /famfs; Access_Type = RW; Squash = No_Root_Squash;
         Protocols = 4; Transports = TCP; SecType = sys; FSAL { Name = FAMFS; Device = "$dev"; } }
EXPORT { Export_Id = 2; Path = $vfs; Pseudo = /vfs; Access_Type = RW; Squash = No_Root_Squash;
         Protocols = 4; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
CONF
ln -s "$build/fsal_famfs/libfsalfamfs.so" /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so "$tmp/plugins/"
out=$("$gw" serve --ganesha-conf "$tmp/ganesha.conf" --run-dir "$tmp/run" --background 2>&1) || { echo "$out"; exit 1; }
pid=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
gpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ganesha_pid"])' "$tmp/run/serve.json")

url() { echo "nfs://127.0.0.1/$1?version=4&nfsport=$port"; }
for ex in famfs vfs; do
	for _ in $(seq 100); do nfs-ls "$(url $ex)" > /dev/null 2>&1 && break; sleep 0.1; done
	nfs-ls "$(url $ex)" > /dev/null || { grep -iE "famfs|crit|export" "$tmp/run/ganesha.log" | grep -v svc_vc_wait | head -20; exit 1; }
done
cpu() { awk '{ print $14 + $15 }' "/proc/$gpid/stat"; }
median() { sort -g | sed -n 2p; }

declare -A result
run3() { # name export args...
	local name=$1 ex=$2; shift 2
	local vals=()
	for r in 1 2 3; do vals+=("$("$bench" "$(url "$ex")" "$@" 2> /dev/null || echo failed)"); done
	result[$name,$ex]=$(printf '%s\n' "${vals[@]}" | median)
}

# Warm both exports' caches once, then alternate FAMFS and VFS for every figure.
"$bench" "$(url famfs)" seqread /big.bin 16 > /dev/null
"$bench" "$(url vfs)" seqread /big.bin 16 > /dev/null
for ex in famfs vfs; do
	c0=$(cpu)
	run3 seqread $ex seqread /big.bin 16
	c1=$(cpu)
	# 3 runs of 1 GiB: ticks (1/100 s) to seconds per GiB
	result[cpu,$ex]=$(python3 -c "print('%.2f' % (($c1 - $c0) / 100 / 3))")
done
for ex in famfs vfs; do run3 randread $ex randread /big.bin 20000 16; done
for ex in famfs vfs; do
	vals=()
	for r in 1 2 3; do vals+=("$("$bench" "$(url $ex)" create "/create$r" 2000 2> /dev/null || echo failed)"); done
	result[create,$ex]=$(printf '%s\n' "${vals[@]}" | median)
done
for ex in famfs vfs; do run3 stat $ex stat /create1 2000; done
for ex in famfs vfs; do run3 readdir $ex readdir /dir 5; done

printf '\n%-34s %12s %12s %8s\n' "figure (NFSv4.0, libnfs, loopback)" FAMFS VFS ratio
line() { # label key unit [inv]
	local a=${result[$2,famfs]} b=${result[$2,vfs]} ratio
	ratio=$(python3 -c "
a, b = '$a', '$b'
try:
    a, b = float(a), float(b)
    print('%.2f' % ((b / a) if '${4:-}' == 'inv' else (a / b)))
except Exception:
    print('n/a')")
	printf '%-34s %12s %12s %8s\n' "$1 ($3)" "$a" "$b" "$ratio"
	summary+="$2=$ratio "
}
summary=
line "sequential read 1 GiB, 1 MiB x16" seqread "MiB/s"
line "random 4 KiB reads, x16" randread "reads/s"
line "creates" create "files/s"
line "stats (getattr)" stat "ops/s"
line "readdir" readdir "entries/s"
line "ganesha CPU per GiB read" cpu "s, lower=better" inv
echo "nfs bench ratios (FAMFS/VFS): $summary"
