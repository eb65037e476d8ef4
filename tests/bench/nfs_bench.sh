#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# nfs_bench.sh [BUILD_DIR] - benchmark, never pass/fail on time: the FAMFS FSAL against
# the packaged FSAL_VFS, side by side in one ganesha.nfsd (started by 'famfs-gw serve
# --ganesha-conf'), both exporting the same files from one tmpfs (the famfs device is a
# file on it), measured with libnfs (tests/bench/nfs_bench.c) over 127.0.0.1:
#   * sequential read of a 1 GiB random file, 1 MiB READs, 32 in flight (MiB/s)
#   * ganesha's CPU time (user+system, /proc/PID/stat) per GiB of that read
#   * random 4 KiB READs, 20000 of them, 16 in flight (reads/s)
#   * creates: 2000 empty files (files/s): over NFSv4.0 one at a time (OPEN/CREATE +
#     CLOSE; libnfs has one open-owner, whose seqid serialises OPENs: several in flight
#     fail with BAD_SEQID/BAD_STATEID), over NFSv3 8 in flight (CREATE)
#   * stats: 20000 LOOKUP+GETATTR over a 10000-entry directory, 16 in flight (ops/s)
#   * readdir: that directory listed 3 times (entries/s)
#   * the loopback TCP ceiling (tests/bench/tcp_ceiling: one connection over 127.0.0.1,
#     1 MiB writes), measured in each repetition, and each sequential read as a
#     fraction of it
# Each measurement alternates between the two exports (which one goes first swaps every
# repetition); a figure is the median of the repetitions, the ratio the median of the
# per-repetition ratios FAMFS / VFS (VFS / FAMFS for the CPU time), so above 1 is always
# "FAMFS is better". Other work on the machine adds noise: see "Every run". Targets: >= 1.3
# for the sequential read, >= 1.0 for the rest; the "met" column only notes them.
# A measurement that fails (the FAMFS FSAL is new) prints "failed" and the bench goes on;
# if ganesha dies it is restarted. The last line is machine-readable:
#   nfs_bench: reps=5 v4.seqread.famfs=... v4.seqread.vfs=... v4.seqread.ratio=... ...
#
# BUILD_DIR (default: ./build) holds gateway/famfs-gw, fsal_famfs/libfsalfamfs.so and
# tests/nfs_bench (override with NFS_BENCH_BIN). Needs root (it mounts a tmpfs).
# Environment: NFS_BENCH_VERS, the NFS versions measured, in turn (default "4 3": NFSv4.0,
#   then NFSv3 when rpcbind runs or can be started; "4" or "3" for one), and
#   NFS_BENCH_REPS (5). About 80 s for both versions. Traffic: 127.0.0.1 only, ports 20800-20899.
set -uo pipefail

build=$(cd "${1:-build}" 2> /dev/null && pwd) || { echo "usage: nfs_bench.sh [BUILD_DIR]" >&2; exit 2; }
gw=$build/gateway/famfs-gw
plugin=$build/fsal_famfs/libfsalfamfs.so
bench=${NFS_BENCH_BIN:-$build/tests/nfs_bench}
tcp=$(dirname "$bench")/tcp_ceiling
vfs_plugin=/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so
versions=${NFS_BENCH_VERS:-4 3}
reps=${NFS_BENCH_REPS:-5}
for f in "$gw" "$plugin" "$bench" "$vfs_plugin"; do
	[ -e "$f" ] || { echo "nfs_bench: $f is missing (build it first)" >&2; exit 2; }
done
for v in $versions; do
	case $v in 3 | 4) ;; *) echo "nfs_bench: NFS_BENCH_VERS: $v is neither 3 nor 4" >&2; exit 2 ;; esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "nfs_bench: skipped (mounting its tmpfs needs root)"
	exit 0
fi

export FAMFS_SYSTEM_UUID=b3b3b3b3-0000-4000-8000-00000000b3b3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/famfs-nfs-bench.XXXXXX")
sup='' gpid=''
stop_gateway() {
	[ -n "$sup" ] || return 0
	kill -TERM "$sup" 2> /dev/null
	for _ in $(seq 100); do kill -0 "$sup" 2> /dev/null || break; sleep 0.1; done
	kill -KILL "$sup" 2> /dev/null
	[ -n "$gpid" ] && kill -KILL "$gpid" 2> /dev/null
	sup='' gpid=''
}
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	stop_gateway
	mountpoint -q "$tmp/fs" && umount "$tmp/fs"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
t_start=$(now)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
port_listened() { grep -qi ":$(printf '%04X' "$1") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2> /dev/null; }

# --- the files: one tmpfs, a famfs device file and a VFS directory with the same files
mkdir -p "$tmp/fs"
mount -t tmpfs -o size=8g,mode=0755 famfs-nfs-bench "$tmp/fs" || exit 1
dev=$tmp/fs/famfs.img
vfs=$tmp/fs/vfs
mkdir -p "$vfs/dir"
echo "nfs_bench: setting up (1 GiB file, 10000-entry directory) in a tmpfs"
# room for 10000 + reps x 2000 files in the log (the default 8M log holds ~15000 entries)
"$gw" -d "$dev" mkfs --size 4G --log-size 64M > /dev/null || exit 1
head -c $((1 << 30)) /dev/urandom > "$vfs/big.bin" || exit 1
"$gw" -d "$dev" cp "$vfs/big.bin" :/big.bin > /dev/null || exit 1
cmp <("$gw" -d "$dev" cat /big.bin) "$vfs/big.bin" || { echo "nfs_bench: famfs copy differs" >&2; exit 1; }
"$gw" -d "$dev" mkdir /dir > /dev/null || exit 1
# empty files (famfs-gw creat needs a size, and every non-empty file takes 2 MiB)
seq -f 'e%06g' 0 9999 > "$tmp/names"
(cd "$vfs/dir" && xargs touch < "$tmp/names") || exit 1
sed 's,^,/dir/,' "$tmp/names" | xargs "$gw" -d "$dev" touch || exit 1
if [ "$(find "$vfs/dir" -type f | wc -l)" != 10000 ] ||
   [ "$("$gw" -d "$dev" ls /dir | wc -l)" != 10000 ]; then
	echo "nfs_bench: the directories do not hold 10000 entries" >&2
	exit 1
fi

# --- one ganesha, two exports ----------------------------------------------------------
port=
for _ in $(seq 50); do
	p=$((20800 + RANDOM % 99))
	if ! port_open $p && ! port_open $((p + 1)) && ! port_listened $p && ! port_listened $((p + 1)); then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "nfs_bench: no free port pair in 20800-20899" >&2; exit 1; }
# NFSv3: ganesha 4.3 registers with rpcbind and exits when it cannot (the clients do
# not use it: they are given the NFS and MOUNT ports).
protos=4
if [[ " $versions " = *" 3 "* ]]; then
	if ! { [ -S /run/rpcbind.sock ] && port_open 111; }; then
		rpcbind -w 2> /dev/null
		for _ in $(seq 30); do port_open 111 && break; sleep 0.1; done
	fi
	if port_open 111; then
		protos="3, 4"
	else
		echo "nfs_bench: NFSv3 skipped: it needs rpcbind, which does not run" >&2
		versions=${versions//3/}
		[ -n "${versions// /}" ] || exit 1
	fi
fi
mkdir -p "$tmp/plugins"
ln -s "$plugin" "$vfs_plugin" "$tmp/plugins/"
# Same process, same settings for both; ganesha's defaults otherwise (MDCACHE included).
cat > "$tmp/ganesha.conf" <<CONF
NFS_CORE_PARAM {
	Protocols = $protos; NFS_Port = $port; MNT_Port = $((port + 1)); Bind_addr = 127.0.0.1;
	Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; Mount_Path_Pseudo = true;
	Plugins_Dir = "$tmp/plugins";
}
NFSV4 { Graceless = true; Only_Numeric_Owners = true; }
FAMFS { Log_Follow_Interval_Ms = 1000; }
EXPORT {
	Export_Id = 1; Path = "/"; Pseudo = "/famfs"; Access_Type = RW; Squash = No_Root_Squash;
	Protocols = $protos; Transports = TCP; SecType = sys;
	FSAL { Name = FAMFS; Device = "$dev"; }
}
EXPORT {
	Export_Id = 2; Path = "$vfs"; Pseudo = "/vfs"; Access_Type = RW; Squash = No_Root_Squash;
	Protocols = $protos; Transports = TCP; SecType = sys;
	FSAL { Name = VFS; }
}
CONF

url() { # export [version (default: $vers, else 4)]
	if [ "${2:-${vers:-4}}" = 3 ]; then
		echo "nfs://127.0.0.1/$1?version=3&nfsport=$port&mountport=$((port + 1))"
	else
		echo "nfs://127.0.0.1/$1?version=4&nfsport=$port"
	fi
}
restarts=0
start_gateway() {
	local out
	out=$("$gw" serve --ganesha-conf "$tmp/ganesha.conf" --run-dir "$tmp/run" --background 2>&1) ||
		{ echo "nfs_bench: famfs-gw serve failed:"; echo "$out"; return 1; } >&2
	sup=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
	gpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ganesha_pid"])' \
		"$tmp/run/serve.json")
	local ex ok
	for ex in famfs vfs; do
		ok=false
		for _ in $(seq 100); do
			nfs-ls "$(url $ex 4)" > /dev/null 2>&1 && { ok=true; break; }
			sleep 0.1
		done
		$ok || echo "nfs_bench: the /$ex export does not answer nfs-ls" >&2
	done
}
# Restart ganesha when it died (a crash in either FSAL takes both exports down).
ensure_gateway() { # what-was-running
	[ -n "$gpid" ] && kill -0 "$gpid" 2> /dev/null && return 0
	echo "nfs_bench: ganesha died during $1; last log lines:" >&2
	tail -n 15 "$tmp/run/ganesha.log" 2> /dev/null | sed 's/^/    /' >&2
	cp "$tmp/run/ganesha.log" "$tmp/ganesha-crash-$restarts.log" 2> /dev/null
	restarts=$((restarts + 1))
	notes+=("ganesha died during $1 and was restarted")
	stop_gateway
	start_gateway
}
start_gateway || exit 1
echo "nfs_bench: ganesha.nfsd pid $gpid on 127.0.0.1:$port, exports /famfs (FAMFS) and /vfs (VFS)"

# --- measurements -----------------------------------------------------------------------
declare -A vals  # "version,figure,export" -> space-separated values of the repetitions
notes=()
errlog=$tmp/err.txt

run() { # figure export TEST ARGS... : one nfs_bench run, its first number into vals
	local fig=$1 ex=$2 out v; shift 2
	out=$(timeout 120 "$bench" "$(url "$ex")" "$@" 2> "$errlog")
	local rc=$?
	if [ $rc -ne 0 ] || [ -z "$out" ]; then
		[ $rc -eq 124 ] && echo "timed out after 120 s" >> "$errlog"
		notes+=("v$vers $fig on $ex ($*) failed (exit $rc): $(tr '\n' ' ' < "$errlog" | cut -c1-300)")
		vals[$vers,$fig,$ex]+="failed "
		ensure_gateway "v$vers $fig on $ex"
		return 1
	fi
	grep -q 'short READ' "$errlog" && notes+=("v$vers $fig on $ex: $(grep 'short READ' "$errlog")")
	read -r v rest <<< "$out"
	vals[$vers,$fig,$ex]+="$v "
	[ "$fig" = seqread ] && [ -n "${rest:-}" ] && vals[$vers,cpu,$ex]+="$rest "
	return 0
}
order() { # repetition -> the two exports, first one swapping each time
	if (($1 % 2)); then echo famfs vfs; else echo vfs famfs; fi
}

declare -A cdepth=([4]=1 [3]=8)
for vers in $versions; do
	# Warm-up (not counted): a pass over the big file and the directory on each export.
	for ex in famfs vfs; do
		timeout 120 "$bench" "$(url $ex)" seqread /big.bin 32 > /dev/null 2>&1 ||
			ensure_gateway "the v$vers warm-up on $ex"
		timeout 120 "$bench" "$(url $ex)" readdir /dir 1 > /dev/null 2>&1 ||
			ensure_gateway "the v$vers warm-up on $ex"
	done
	for r in $(seq "$reps"); do
		echo "nfs_bench: NFSv$vers, repetition $r of $reps"
		[ -x "$tcp" ] && vals[$vers,tcp,famfs]+="$("$tcp" 2048 2> /dev/null || echo failed) "
		for ex in $(order "$r"); do run seqread "$ex" seqread /big.bin 32 "$gpid"; done
		for ex in $(order "$r"); do run randread "$ex" randread /big.bin 20000 16; done
		for ex in $(order "$r"); do
			run create "$ex" create "/create-v$vers-$r" 2000 "${cdepth[$vers]}"
		done
		for ex in $(order "$r"); do run stat "$ex" stat /dir 20000 16; done
		for ex in $(order "$r"); do run readdir "$ex" readdir /dir 3; done
	done
done

# --- the table --------------------------------------------------------------------------
median() { # values... -> the median of the numeric ones, or "failed"
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "failed";
			else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
machine="nfs_bench: reps=$reps"
line() { # key label target inverse(0/1)
	local key=$1 label=$2 target=$3 inv=$4 a b ratio met
	# shellcheck disable=SC2086 # the values, one word each
	a=$(median ${vals[$vers,$key,famfs]:-})
	# shellcheck disable=SC2086
	b=$(median ${vals[$vers,$key,vfs]:-})
	# The ratio: the median of the per-repetition ratios (the two runs of a repetition
	# are back to back, so a slow spell of the machine hits both).
	ratio=$(awk -v a="${vals[$vers,$key,famfs]:-}" -v b="${vals[$vers,$key,vfs]:-}" \
		    -v inv="$inv" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); k = 0
		for (i = 1; i <= n; i++)
			if (x[i] ~ /^[0-9.]+$/ && y[i] ~ /^[0-9.]+$/ && x[i] + 0 > 0 && y[i] + 0 > 0)
				r[++k] = inv ? y[i] / x[i] : x[i] / y[i]
		if (!k) { print "n/a"; exit }
		for (i = 2; i <= k; i++)  # insertion sort, k is small
			for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
		printf "%.2f", k % 2 ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2 }')
	met=$(awk -v r="$ratio" -v t="$target" 'BEGIN {
		if (r !~ /^[0-9.]+$/) print "-"; else print (r + 0 >= t + 0 ? "met" : "missed") }')
	printf '%-42s %12s %12s %7s %12s\n' "$label" "$a" "$b" "$ratio" ">=$target $met"
	machine+=" v$vers.$key.famfs=$a v$vers.$key.vfs=$b v$vers.$key.ratio=$ratio"
}
for vers in $versions; do
	name=NFSv3
	[ "$vers" = 4 ] && name=NFSv4.0
	printf '\n%-42s %12s %12s %7s %12s\n' "$name (libnfs, 127.0.0.1)" FAMFS VFS ratio target
	line seqread "seq read 1 GiB, 1 MiB READs x32 (MiB/s)" 1.3 0
	line cpu "ganesha CPU per GiB read (s, lower=better)" 1.0 1
	line randread "random 4 KiB READs x16 (reads/s)" 1.0 0
	line create "creates, 2000 empty files x${cdepth[$vers]} (files/s)" 1.0 0
	line stat "stats, LOOKUP+GETATTR x16 (ops/s)" 1.0 0
	line readdir "readdir, 10000 entries x3 (entries/s)" 1.0 0
	# shellcheck disable=SC2086 # the values, one word each
	ceil=$(median ${vals[$vers,tcp,famfs]:-})
	sf=$(median ${vals[$vers,seqread,famfs]:-})
	sv=$(median ${vals[$vers,seqread,vfs]:-})
	frac() { awk -v s="$1" -v c="$2" 'BEGIN { if (s !~ /^[0-9.]+$/ || c !~ /^[0-9.]+$/ || !c) print "n/a"; else printf "%.2f", s / c }'; }
	printf '%-42s %12s %12s %7s %12s\n' "loopback TCP ceiling, 1 connection (MiB/s)" "$ceil" "" "" ""
	printf '%-42s %12s %12s %7s %12s\n' "seq read as a fraction of the ceiling" "$(frac "$sf" "$ceil")" \
		"$(frac "$sv" "$ceil")" "" ">=0.8"
	machine+=" v$vers.tcp=$ceil v$vers.seqread.famfs.of_tcp=$(frac "$sf" "$ceil")"
done
echo
echo "FAMFS, VFS: the median of $reps runs. ratio: the median of the $reps per-repetition ratios"
echo "FAMFS/VFS (VFS/FAMFS for the CPU time): above 1, FAMFS is better."
echo "Load average before/after: $load0 / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)"
echo "Every run (FAMFS | VFS):"
for vers in $versions; do
	for key in seqread cpu randread create stat readdir; do
		printf '  v%s %-8s %s| %s\n' "$vers" "$key" "${vals[$vers,$key,famfs]:-none }" \
			"${vals[$vers,$key,vfs]:-none}"
	done
done
for n in "${notes[@]}"; do echo "note: $n"; done
machine+=" restarts=$restarts seconds=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')"
echo "$machine"
exit 0
