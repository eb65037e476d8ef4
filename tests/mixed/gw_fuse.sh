#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# gw_fuse.sh - the NFS gateway and a FUSE mount as two hosts on one device file
# (label: mixed).
#
# The gateway (famfs-gw serve, ganesha.nfsd with the FAMFS FSAL) runs with one system
# UUID, the FUSE daemon (famfs-gw mount -f) with another; NFS clients are libnfs tools
# (nfs-cat, nfs-cp, nfs-ls) and tests/mixed/nfsop.c. Both daemons follow the log at
# their default interval (1 s); every "visible" check polls for up to 5 s and prints how
# long the change took to show on the other side.
#
# A. The FUSE host is the master (mkfs with its UUID, --no-upstream so freed space is
#    reused), the gateway a client with a read-only export. In the mount: mkdir -p, cp of
#    random data, echo >> append, truncate (grow, shrink), a write in place, mv (of a file
#    across directories, of a directory, over an existing file), rm, rm -r; each shows
#    over NFS byte for byte (md5 of nfs-cat). The export refuses writes (EROFS). Space
#    reuse: a file removed in the mount while an NFS client reads it reads back its old
#    content to the end; its space waits for the gateway's host (famfs-gw hosts) while the
#    reader holds it, and is reused once it is done. A file replaced again and again in
#    the mount (rm, or mv over it) while NFS clients read it in a loop never shows them
#    anything but a whole version, or a prefix of one when a read fails.
#    Then a memory error under the file that lies last (as in C), which the master grows
#    in the mount: the grow fails with EIO, the FUSE daemon stays up, the other files read.
# B. A fresh device; the gateway host is the master (read-write NFS), the FUSE host a
#    client (a read-only mount). Files written over NFS (nfs-cp over NFSv3: libnfs 4.0.0
#    cannot send NFSv4 WRITEs over 4 KB) appear in the mount with the same md5; mkdir,
#    rename (of a file, of a directory, over an existing file), truncate, append, a write
#    in place, unlink and rmdir over NFS show in the mount (ls, stat, content); every change
#    in the mount fails with EROFS. A file removed over NFS while the mount holds it open
#    reads to the end through the descriptor, and its space waits for the FUSE host until
#    it is closed, then is reused.
# C. On B's device, with both daemons running: the device file is cut short 16 MiB into
#    the file that lies last on it (a memory error, SIGBUS, under that file only). Reading
#    it fails with EIO in the mount and over NFS; every other file still reads correctly
#    on both sides; both daemons stay up and keep following the log; the FUSE daemon logs
#    the error once. Last, the master (the gateway) grows that file over NFS: NFS4ERR_IO,
#    and ganesha.nfsd stays up.
#
# Environment: FAMFS_GW (the famfs-gw binary), NFSOP (tests/mixed/nfsop.c built). Needs
# root, /dev/fuse, ganesha.nfsd and libnfs-utils; NFSv3 needs rpcbind (started with -w
# when installed and not running; without it the bulk writes of B go over NFSv4 in small
# pieces). Prints "ok"/"FAIL" lines and "mixed gw+fuse: N passed, M failed"; exit 1 on
# any failure.
# shellcheck disable=SC2016 # eval '...' conditions expand when they run
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../nfs/nfs_env.sh
source "$here/../nfs/nfs_env.sh"
GW=$(realpath "$GW")
NFSOP=$(realpath "${NFSOP:?NFSOP must name the nfsop helper (tests/mixed/nfsop.c)}")
FUSE_HOST=6d6d6d6d-0000-4000-8000-00000000f05e
GW_HOST=6d6d6d6d-0000-4000-8000-0000000067a7
unset FAMFS_GW_DEVICE FAMFS_SYSTEM_UUID
cd "$NFS_TMP" || exit 1

MOUNTS=()
cleanup() {
	local m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2> /dev/null || continue
		"$GW" umount --timeout 10 "$m" > /dev/null 2>&1 || umount -l "$m"
	done
	nfs_cleanup
}
trap cleanup EXIT

# Reporting: passes/fails are nfs_env.sh's counters; check and expect_err replace its own.
CHECK_OUT=$NFS_TMP/out
# shellcheck source=../fuse/fuse_env.sh
source "$here/../fuse/fuse_env.sh"
fuse_require

declare -A delays=([fuse-to-nfs]="" [nfs-to-fuse]="")
# within DIRECTION NAME CMD...: poll CMD (every 50 ms, up to 5 s) until it succeeds; the
# delay counts as one of DIRECTION's (fuse-to-nfs, nfs-to-fuse; - for none)
within() {
	local dir=$1 name=$2 t0 ms
	shift 2
	t0=$(date +%s%N)
	while :; do
		if "$@" > "$NFS_TMP/out" 2>&1; then
			ms=$((($(date +%s%N) - t0) / 1000000))
			ok "$name (after $ms ms)"
			[ "$dir" = - ] || delays[$dir]+="$ms "
			return 0
		fi
		ms=$((($(date +%s%N) - t0) / 1000000))
		if [ "$ms" -ge 5000 ]; then
			bad "$name (not within 5 s)"
			sed 's/^/    | /' "$NFS_TMP/out" | tail -n 6
			return 1
		fi
		sleep 0.05
	done
}

# --- the two hosts -------------------------------------------------------------------------
md5() { md5sum < "$1" | cut -d' ' -f1; }
url() { nfs_url "/famfs$1" "${2:-4}"; } # a path inside the export
EXP4=
# nfs-cat (libnfs 4.0.0) reads up to the size it found at open and loops for ever when the
# file shrinks in between (READ then answers 0 bytes at EOF): it runs only once the size is
# the expected one, and under timeout.
nfs_same() { # PATH LOCAL: nfs-cat PATH has LOCAL's md5
	local sum
	"$NFSOP" "$EXP4" stat "$1" | grep -q "^size=$(stat -c %s "$2") " || return 1
	sum=$(timeout 20 nfs-cat "$(url "$1")" | md5sum | cut -d' ' -f1) || return 1
	[ "$sum" = "$(md5 "$2")" ]
}
nfs_gone() { # PATH: no such name over NFS
	! "$NFSOP" "$EXP4" stat "$1" 2> /dev/null
}
nfs_is_dir() { "$NFSOP" "$EXP4" stat "$1" | grep -q 'type=dir'; }
nfs_names() { # DIR: the names nfs-ls lists, sorted
	nfs-ls "$(url "$1")" | awk '{print $NF}' | grep -v '^\.\.\?$' | sort
}
fuse_same() { [ -f "$1" ] && [ "$(md5 "$1")" = "$(md5 "$2")" ]; }
# extents PATH: "offset length" lines of a file's extents (as the host UUID=$CLI_HOST)
extents() {
	"$GW" -d "$dev" --system-uuid "$CLI_HOST" stat --json "$1" | python3 -c '
import json, sys
for e in json.load(sys.stdin)[0].get("extents", []):
    print(int(e["offset"], 0), int(e["len"], 0))'
}
overlaps() { # EXTENTS-A EXTENTS-B (each "offset length" lines): true when they share a byte
	python3 - "$1" "$2" << 'EOF'
import sys
def parse(s):
    return [tuple(map(int, l.split())) for l in s.splitlines() if l.strip()]
a, b = parse(sys.argv[1]), parse(sys.argv[2])
sys.exit(0 if any(o1 < o2 + l2 and o2 < o1 + l1 for o1, l1 in a for o2, l2 in b) else 1)
EOF
}
slot() { # UUID FIELD: that host's process's FIELD in famfs-gw hosts --json
	"$GW" -d "$dev" --system-uuid "$CLI_HOST" hosts --json | python3 -c '
import json, sys
print([h for h in json.load(sys.stdin)["hosts"] if h["system_uuid"] == sys.argv[1]][0][sys.argv[2]])
' "$1" "$2"
}
log_entries() {
	"$GW" -d "$dev" --system-uuid "$CLI_HOST" hosts --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["log_entries"])'
}
nfs_md5() { timeout 20 nfs-cat "$(url "$1")" | md5sum | cut -d' ' -f1; }

# prepare_cut MOUNT PATH: CUT = 16 MiB into PATH's space; OTHERS = every other file (paths
# in the mount), WANT[f] = its md5. True when PATH lies past every other file's space.
declare -A WANT
prepare_cut() {
	local mnt=$1 path=$2 ext start oext='' f
	ext=$(extents "$path")
	start=$(echo "$ext" | awk 'NR == 1 {print $1}')
	CUT=$((start + (16 << 20)))
	mapfile -t OTHERS < <(cd "$mnt" && find . -type f ! -path ".$path" | sed 's,^\.,,' | sort)
	WANT=()
	for f in "${OTHERS[@]}"; do
		oext+=$(extents "$f")$'\n'
		WANT[$f]=$(md5 "$mnt$f")
	done
	echo "$path from $start; cut at $CUT; ${#OTHERS[@]} other files"
	! overlaps "$oext" "$CUT $((1 << 40))" && ! overlaps "$ext" "0 $start"
}
same_everywhere() { # MOUNT: every file of OTHERS reads its md5 in the mount and over NFS
	local f bad=0
	for f in "${OTHERS[@]}"; do
		[ "$(md5 "$1$f")" = "${WANT[$f]}" ] || { echo "mount: $f differs"; bad=1; }
		[ "$(nfs_md5 "$f")" = "${WANT[$f]}" ] || { echo "NFS: $f differs"; bad=1; }
	done
	return $bad
}

untrack() { # PID: a process of ours that has been waited for is no longer cleanup's
	local p keep=()
	for p in "${NFS_TRACKED[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	NFS_TRACKED=("${keep[@]}")
}
start_fuse() { # UUID MOUNTPOINT LOG: famfs-gw mount -f in the background; sets FUSE_PID
	mkdir -p "$2"
	"$GW" --system-uuid "$1" mount -f --follow-ms 1000 --log "$3" "$dev" "$2" \
		> "$3.out" 2>&1 &
	FUSE_PID=$!
	MOUNTS+=("$2")
	nfs_track_pid "$FUSE_PID"
	for _ in $(seq 100); do
		mountpoint -q "$2" && return 0
		kill -0 "$FUSE_PID" 2> /dev/null || break
		sleep 0.1
	done
	cat "$3.out" "$3" 2> /dev/null | sed 's/^/    | /'
	return 1
}
stop_fuse() { # MOUNTPOINT PID NAME LOG: famfs-gw umount; the daemon exits with 0
	local rc
	check "$3: famfs-gw umount" "$GW" umount "$1"
	wait "$2"
	rc=$?
	untrack "$2"
	check "$3: the FUSE daemon exited cleanly (status $rc)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || grep -v '^$' "$4.out" | head -n 12 | sed 's/^/    | /'
}
start_gw() { # UUID RUNDIR [serve options]: a gateway on a free port; sets GW_SUP, EXP4
	local uuid=$1 run=$2
	shift 2
	NFS_PORT=$(nfs_free_port) || return 1
	"$GW" --system-uuid "$uuid" serve -d "$dev" --port "$NFS_PORT" --run-dir "$run" \
		--log-follow-ms 1000 --background "$@" > "$run.out" 2>&1 || {
		sed 's/^/    | /' "$run.out" | tail -n 20
		return 1
	}
	GW_SUP=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' "$run.out")
	[ -n "$GW_SUP" ] && nfs_track_pid "$GW_SUP"
	EXP4=$(url "" 4)
}
stop_gw() { # RUNDIR NAME
	kill -TERM "$GW_SUP" 2> /dev/null
	for _ in $(seq 100); do kill -0 "$GW_SUP" 2> /dev/null || break; sleep 0.2; done
	kill -0 "$GW_SUP" 2> /dev/null || untrack "$GW_SUP"
	local st
	st="$(grep -o '"state":"[a-z]*"' "$1/serve.json"), $(grep -o '"exit_status":[0-9-]*' "$1/serve.json")"
	check "$2: the gateway stopped cleanly ($st)" grep -q '"exit_status":0' "$1/serve.json"
}
ganesha_pid() { sed -n 's/.*"ganesha_pid":\([0-9]*\).*/\1/p' "$1/serve.json"; }

have_v3=true
if ! nfs_need_rpcbind; then
	have_v3=false
	echo "note: rpcbind is not available: B's bulk writes go over NFSv4 in small pieces"
fi

# ============================================================================================
echo "== A: the FUSE host is the master, the gateway a read-only client"
dev=$NFS_TMP/a.img
CLI_HOST=$FUSE_HOST
ma=$NFS_TMP/ma
"$GW" -d "$dev" --system-uuid "$FUSE_HOST" mkfs --size 256M --no-upstream > /dev/null ||
	{ echo "FAIL mkfs"; exit 1; }
check "A: mount as the master (famfs-gw mount -f)" start_fuse "$FUSE_HOST" "$ma" "$NFS_TMP/a-fuse.log"
A_FUSE=$FUSE_PID
check "A: the mount is read-write" grep -q " $ma fuse.famfs rw," /proc/mounts
check "A: the gateway starts as another host" start_gw "$GW_HOST" "$NFS_TMP/a-run" --protocols 4
check "A: the gateway is not the master: read-only" grep -q "not the master: read-only" "$NFS_TMP/a-run.out"

# mkdir -p, cp, append, truncate, mv, rm
check "A: mkdir -p in the mount" mkdir -p "$ma/data/deep/er"
within fuse-to-nfs "A: the directories show over NFS" nfs_is_dir /data/deep/er
head -c 3000000 /dev/urandom > rand1.bin
check "A: cp 3 MB of random data into the mount" cp rand1.bin "$ma/data/rand1.bin"
within fuse-to-nfs "A: nfs-cat reads it with the same md5" nfs_same /data/rand1.bin rand1.bin
printf 'line 1\n' > log.exp
printf 'line 1\n' > "$ma/data/log.txt"
within fuse-to-nfs "A: a new text file shows over NFS" nfs_same /data/log.txt log.exp
for i in 2 3; do
	echo "line $i" >> log.exp
	echo "line $i" >> "$ma/data/log.txt"
	within fuse-to-nfs "A: echo >> (line $i) shows over NFS" nfs_same /data/log.txt log.exp
done
cp rand1.bin r1.exp && truncate -s 7000000 r1.exp
check "A: truncate -s (grow) in the mount" truncate -s 7000000 "$ma/data/rand1.bin"
within fuse-to-nfs "A: the grown file reads over NFS (zeros after the old end)" nfs_same /data/rand1.bin r1.exp
truncate -s 1000000 r1.exp
check "A: truncate -s (shrink) in the mount" truncate -s 1000000 "$ma/data/rand1.bin"
within fuse-to-nfs "A: the shrunk file reads over NFS" nfs_same /data/rand1.bin r1.exp
check "A: mv across directories in the mount" mv "$ma/data/rand1.bin" "$ma/data/deep/er/moved.bin"
within fuse-to-nfs "A: the move shows over NFS (new name, same md5; old name gone)" \
	eval 'nfs_same /data/deep/er/moved.bin r1.exp && nfs_gone /data/rand1.bin'
printf 'version 2, longer than version 1\n' > log.exp
printf 'version 2, longer than version 1\n' > "$ma/data/.log.txt.swp"
check "A: mv over an existing file (an editor's save)" mv "$ma/data/.log.txt.swp" "$ma/data/log.txt"
within fuse-to-nfs "A: the replaced file reads its new content over NFS" nfs_same /data/log.txt log.exp
cat "$ma/data/deep/er/moved.bin" > /dev/null
printf 'IN PLACE' | dd of=r1.exp bs=1 seek=500000 conv=notrunc status=none
check "A: write in place (dd conv=notrunc) in the mount" eval \
	'printf "IN PLACE" | dd of="$ma/data/deep/er/moved.bin" bs=1 seek=500000 conv=notrunc status=none'
within fuse-to-nfs "A: the new bytes read over NFS" nfs_same /data/deep/er/moved.bin r1.exp
check "A: mv of a directory in the mount" mv "$ma/data/deep/er" "$ma/data/er2"
within fuse-to-nfs "A: the moved directory's file reads over NFS; the old path is gone" \
	eval 'nfs_same /data/er2/moved.bin r1.exp && nfs_gone /data/deep/er'
check "A: and back" mv "$ma/data/er2" "$ma/data/deep/er"
within fuse-to-nfs "A: the directory is back over NFS" \
	eval 'nfs_same /data/deep/er/moved.bin r1.exp && nfs_gone /data/er2'
check "A: rm in the mount" rm "$ma/data/deep/er/moved.bin"
within fuse-to-nfs "A: the removed file is gone over NFS" nfs_gone /data/deep/er/moved.bin
check "A: rm -r of a tree in the mount" rm -r "$ma/data/deep"
within fuse-to-nfs "A: the removed tree is gone over NFS" nfs_gone /data/deep
expect_err "A: the gateway's export refuses a mkdir (EROFS)" "Read-only file system" \
	"$NFSOP" "$EXP4" mkdir /nope
expect_err "A: and a write" "Read-only file system" "$NFSOP" "$EXP4" append /data/log.txt x
check "A: nfs-ls lists what the mount lists" eval '[ "$(nfs_names /data)" = "$(ls -A "$ma/data" | sort)" ]'

# A file removed in the mount while an NFS client reads it.
head -c 8000000 /dev/urandom > victim.bin
cp victim.bin "$ma/victim.bin"
within fuse-to-nfs "A: an 8 MB file shows over NFS" nfs_same /victim.bin victim.bin
vext=$(extents /victim.bin)
r0=$(log_entries)
"$NFSOP" "$EXP4" slowread /victim.bin got.bin 131072 100 2> slow.err &
reader=$!
nfs_track_pid "$reader"
for _ in $(seq 100); do [ "$(stat -c %s got.bin 2> /dev/null || echo 0)" -ge 1000000 ] && break; sleep 0.05; done
check "A: rm in the mount while an NFS client reads the file (read so far: $(stat -c %s got.bin) bytes)" \
	rm "$ma/victim.bin"
fext=
for i in 1 2 3 4; do
	head -c 8000000 /dev/urandom > "fill$i.bin"
	cp "fill$i.bin" "$ma/fill$i.bin"
	fext+=$(extents "/fill$i.bin")$'\n'
done
within - "A: the gateway replays the remove (log entry $r0)" \
	eval '[ "$(slot "$GW_HOST" replayed)" -gt "$r0" ]'
if kill -0 "$reader" 2> /dev/null; then
	check "A: the freed space waits for the gateway while its NFS client reads the file" \
		eval '[ "$(slot "$GW_HOST" safe)" -le "$r0" ] && [ "$(slot "$GW_HOST" holds_back_bytes)" -ge 8000000 ]'
else
	bad "A: the NFS reader finished too early to show the freed space waiting"
fi
check "A: files created meanwhile did not take the removed file's space" \
	eval '! overlaps "$vext" "$fext"'
wait "$reader"
rc=$?
untrack "$reader"
if [ $rc -eq 0 ]; then
	check "A: the NFS reader read the removed file to the end, all old content (md5)" \
		[ "$(md5 got.bin)" = "$(md5 victim.bin)" ]
else
	echo "    (the reader got an error after $(stat -c %s got.bin) bytes: $(cat slow.err))"
	check "A: what the NFS reader got before its error is the old content" \
		cmp -n "$(stat -c %s got.bin)" got.bin victim.bin
fi
for i in 1 2 3 4; do
	check "A: fill$i.bin reads over NFS with its own md5" nfs_same "/fill$i.bin" fill$i.bin
done
within - "A: once the reader is done, no freed space waits for the gateway" \
	eval '[ "$(slot "$GW_HOST" holds_back_bytes)" -eq 0 ]'
head -c 8000000 /dev/urandom > reuse.bin
cp reuse.bin "$ma/reuse.bin"
check "A: a new file reuses the removed file's space" overlaps "$vext" "$(extents /reuse.bin)"
within - "A: and reads over NFS with its own md5" nfs_same /reuse.bin reuse.bin

# One name replaced again and again in the mount while NFS clients read it in a loop.
mkdir -p "$ma/churn" reads
nver=8
for k in $(seq $nver); do head -c $((1000000 + k * 65536)) /dev/urandom > "v$k.bin"; done
cp v1.bin "$ma/churn/cur"
within fuse-to-nfs "A: churn: the first version shows over NFS" nfs_same /churn/cur v1.bin
for k in $(seq $nver); do md5 "v$k.bin"; done > versions.md5
: > reads/whole
(
	# Each read: a whole version (its md5 is counted) or kept for the check below.
	n=0
	while [ ! -e stop ]; do
		n=$((n + 1))
		timeout 20 nfs-cat "$(url /churn/cur)" > "reads/r$n" 2> "reads/e$n"
		k=$(grep -nx "$(md5 "reads/r$n")" versions.md5 | cut -d: -f1)
		if [ -n "$k" ]; then echo "$k" >> reads/whole; rm "reads/r$n"; fi
		[ -s "reads/e$n" ] || rm "reads/e$n"
	done
) &
loop=$!
nfs_track_pid "$loop"
prev_ext=$(extents /churn/cur)
reused=0
for k in $(seq 2 $nver); do
	cp "v$k.bin" "$ma/churn/.next"
	if [ $((k % 2)) -eq 1 ]; then rm "$ma/churn/cur"; fi
	mv "$ma/churn/.next" "$ma/churn/cur"
	e=$(extents /churn/cur)
	overlaps "$prev_ext" "$e" && reused=$((reused + 1))
	prev_ext+=$'\n'$e
	sleep 0.7
done
sleep 1.5
touch stop
wait "$loop"
untrack "$loop"
result=$(python3 - "$nver" << 'EOF'
import glob, sys
vers = [open("v%d.bin" % k, "rb").read() for k in range(1, int(sys.argv[1]) + 1)]
whole = open("reads/whole").read().split()
partial = empty = bad = 0
for r in glob.glob("reads/r*"):
    d = open(r, "rb").read()
    if not d:
        empty += 1
    elif any(len(d) < len(v) and v.startswith(d) for v in vers):
        partial += 1
    else:
        bad += 1
        print("bad read %s (%d bytes)" % (r, len(d)), file=sys.stderr)
print(len(whole), partial, empty, bad, len(set(whole)))
EOF
)
read -r full partial empty nbad seen <<< "$result"
echo "    (churn: $((full + partial + empty + nbad)) reads: $full whole versions, $partial prefixes," \
	"$empty empty, $nbad bad; $seen versions seen; $reused of $((nver - 1)) versions reused freed space)"
check "A: churn: every NFS read was one version or a prefix of one, never other bytes" [ "$nbad" = 0 ]
check "A: churn: the NFS readers saw the versions change ($seen seen)" [ "${seen:-0}" -ge 3 ]
check "A: churn: freed space was reused meanwhile ($reused times)" [ "$reused" -ge 1 ]
within - "A: churn: the last version reads over NFS" nfs_same /churn/cur "v$nver.bin"
cat reads/e* 2> /dev/null | sort | uniq -c | sed 's/^/    (nfs-cat errors:/; s/$/)/'
rm -rf reads

check "A: the FUSE daemon logged no error" eval '! grep -i error "$NFS_TMP/a-fuse.log"'

# A memory error under a file that the master, the FUSE host, then grows (see C).
head -c 19000000 /dev/urandom > alast.bin
cp alast.bin "$ma/alast.bin"
within fuse-to-nfs "A: a 19 MB file shows over NFS" nfs_same /alast.bin alast.bin
check "A: it lies last on the device, past the other files" prepare_cut "$ma" /alast.bin
check "A: truncate the device file to $CUT bytes (through alast.bin)" truncate -s "$CUT" "$dev"
expect_err "A: growing alast.bin in the mount (its new bytes lie past the cut) fails with EIO" \
	"Input/output error" truncate -s 20000000 "$ma/alast.bin"
check "A: the FUSE daemon still runs after that" kill -0 "$A_FUSE"
check "A: every other file still reads correctly in the mount and over NFS (md5)" \
	same_everywhere "$ma"
stop_fuse "$ma" "$A_FUSE" "A" "$NFS_TMP/a-fuse.log"
stop_gw "$NFS_TMP/a-run" "A"

# ============================================================================================
echo "== B: the gateway host is the master (read-write NFS), the FUSE host a read-only client"
dev=$NFS_TMP/b.img
CLI_HOST=$GW_HOST
mb=$NFS_TMP/mb
"$GW" -d "$dev" --system-uuid "$GW_HOST" mkfs --size 512M --no-upstream > /dev/null || { echo "FAIL mkfs"; exit 1; }
if $have_v3; then
	check "B: the gateway starts as the master" start_gw "$GW_HOST" "$NFS_TMP/b-run"
else
	check "B: the gateway starts as the master" start_gw "$GW_HOST" "$NFS_TMP/b-run" --protocols 4
fi
check "B: the gateway is the master: read-write" grep -q "master: read-write" "$NFS_TMP/b-run.out"
check "B: mount as another host (famfs-gw mount -f)" start_fuse "$FUSE_HOST" "$mb" "$NFS_TMP/b-fuse.log"
B_FUSE=$FUSE_PID
check "B: the mount is read-only" grep -q " $mb fuse.famfs ro," /proc/mounts
check "B: the FUSE daemon says it is not the master" grep -q "not the famfs master" "$NFS_TMP/b-fuse.log"

nfs_put() { # LOCAL PATH: write a file over NFS (v3 nfs-cp; v4 in small pieces without v3)
	if $have_v3; then
		nfs-cp "$1" "$(url "$2" 3)"
	else
		"$NFSOP" "$EXP4" put "$1" "$2"
	fi
}
printf 'a small file written over NFS\n' > small.exp
head -c 3000000 /dev/urandom > b3.bin
head -c 12000000 /dev/urandom > b12.bin
for f in small.exp:/small.txt b3.bin:/b3.bin b12.bin:/b12.bin; do
	check "B: nfs-cp ${f%%:*} to ${f#*:}" nfs_put "${f%%:*}" "${f#*:}"
	within nfs-to-fuse "B: ${f#*:} shows in the mount with the same md5" \
		fuse_same "$mb${f#*:}" "${f%%:*}"
done
check "B: mkdir over NFS" "$NFSOP" "$EXP4" mkdir /dir
within nfs-to-fuse "B: the directory shows in the mount" test -d "$mb/dir"
check "B: mkdir of a subdirectory over NFS" "$NFSOP" "$EXP4" mkdir /dir/sub
within nfs-to-fuse "B: ls in the mount shows it" eval 'ls "$mb/dir" | grep -qx sub'
check "B: rename across directories over NFS" "$NFSOP" "$EXP4" rename /b3.bin /dir/sub/moved.bin
within nfs-to-fuse "B: the rename shows in the mount (new name, same md5; old name gone)" \
	eval '[ ! -e "$mb/b3.bin" ] && fuse_same "$mb/dir/sub/moved.bin" b3.bin'
head -c 100000 b3.bin > moved.exp
check "B: truncate (shrink) over NFS" "$NFSOP" "$EXP4" truncate /dir/sub/moved.bin 100000
within nfs-to-fuse "B: stat in the mount shows the new size, and the content" \
	eval '[ "$(stat -c %s "$mb/dir/sub/moved.bin")" -eq 100000 ] && cmp "$mb/dir/sub/moved.bin" moved.exp'
truncate -s 5000000 moved.exp
check "B: truncate (grow) over NFS" "$NFSOP" "$EXP4" truncate /dir/sub/moved.bin 5000000
within nfs-to-fuse "B: the grown file reads zeros after the old end in the mount" \
	cmp "$mb/dir/sub/moved.bin" moved.exp
cat "$mb/dir/sub/moved.bin" > /dev/null # its pages are in the mount's page cache
printf 'IN PLACE' | dd of=moved.exp bs=1 seek=4000 conv=notrunc status=none
check "B: write in place over NFS (no size change, no log entry)" \
	"$NFSOP" "$EXP4" write /dir/sub/moved.bin 4000 'IN PLACE'
within nfs-to-fuse "B: the new bytes read in the mount (a new open drops cached pages)" \
	cmp "$mb/dir/sub/moved.bin" moved.exp
printf 'appended over NFSv4\n' >> small.exp
check "B: append over NFS" "$NFSOP" "$EXP4" append /small.txt 'appended over NFSv4
'
within nfs-to-fuse "B: the append shows in the mount" cmp "$mb/small.txt" small.exp
printf 'a replacement\n' > repl.exp
check "B: write a new file and rename it over an existing one over NFS" \
	eval '"$NFSOP" "$EXP4" put repl.exp /dir/.tmp && "$NFSOP" "$EXP4" rename /dir/.tmp /small.txt'
within nfs-to-fuse "B: the replaced file reads its new content in the mount" cmp "$mb/small.txt" repl.exp
check "B: rename of a directory over NFS" "$NFSOP" "$EXP4" rename /dir /dir2
within nfs-to-fuse "B: the mount shows the moved tree; the old path is gone" \
	eval '[ ! -e "$mb/dir" ] && cmp "$mb/dir2/sub/moved.bin" moved.exp'
check "B: and back" "$NFSOP" "$EXP4" rename /dir2 /dir
within nfs-to-fuse "B: the directory is back in the mount" \
	eval '[ ! -e "$mb/dir2" ] && cmp "$mb/dir/sub/moved.bin" moved.exp'
check "B: unlink over NFS" "$NFSOP" "$EXP4" unlink /dir/sub/moved.bin
within nfs-to-fuse "B: the file is gone from the mount (stat, ls)" \
	eval '! stat "$mb/dir/sub/moved.bin" && [ -z "$(ls -A "$mb/dir/sub")" ]'
check "B: rmdir over NFS" "$NFSOP" "$EXP4" rmdir /dir/sub
within nfs-to-fuse "B: the directory is gone from the mount" eval '! ls -d "$mb/dir/sub"'
check "B: ls in the mount lists what nfs-ls lists" eval '[ "$(nfs_names "")" = "$(ls -A "$mb" | sort)" ]'
expect_err "B: the mount refuses cp (EROFS)" "Read-only file system" cp small.exp "$mb/new.txt"
expect_err "B: the mount refuses echo >>" "Read-only file system" eval 'echo x >> "$mb/small.txt"'
expect_err "B: the mount refuses mkdir" "Read-only file system" mkdir "$mb/newdir"
expect_err "B: the mount refuses rm" "Read-only file system" rm "$mb/small.txt"
expect_err "B: the mount refuses mv" "Read-only file system" mv "$mb/small.txt" "$mb/dir/x"
expect_err "B: the mount refuses truncate" "Read-only file system" truncate -s 0 "$mb/b12.bin"
expect_err "B: the mount refuses touch" "Read-only file system" touch "$mb/b12.bin"
check "B: the refused changes changed nothing" \
	eval 'cmp "$mb/small.txt" repl.exp && cmp "$mb/b12.bin" b12.bin && [ ! -e "$mb/new.txt" ]'

# A file removed over NFS while the FUSE host reads it through an open descriptor.
head -c 8000000 /dev/urandom > bvictim.bin
check "B: nfs-cp an 8 MB file" nfs_put bvictim.bin /bvictim.bin
within nfs-to-fuse "B: it shows in the mount" fuse_same "$mb/bvictim.bin" bvictim.bin
bvext=$(extents /bvictim.bin)
exec 4< "$mb/bvictim.bin"
dd bs=1M count=1 status=none <&4 > bgot.bin
r0=$(log_entries)
check "B: unlink over NFS while the mount holds the file open (1 MiB read)" \
	"$NFSOP" "$EXP4" unlink /bvictim.bin
fext=
for i in 1 2 3; do
	head -c 8000000 /dev/urandom > "bfill$i.bin"
	nfs_put "bfill$i.bin" "/bfill$i.bin" > /dev/null
	fext+=$(extents "/bfill$i.bin")$'\n'
done
within - "B: the FUSE host replays the remove (log entry $r0)" \
	eval '[ "$(slot "$FUSE_HOST" replayed)" -gt "$r0" ] && [ ! -e "$mb/bvictim.bin" ]'
check "B: the freed space waits for the FUSE host while the file is open in its mount" \
	eval '[ "$(slot "$FUSE_HOST" safe)" -le "$r0" ] && [ "$(slot "$FUSE_HOST" holds_back_bytes)" -ge 8000000 ]'
check "B: files written meanwhile over NFS did not take the removed file's space" \
	eval '! overlaps "$bvext" "$fext"'
cat <&4 >> bgot.bin
exec 4<&-
check "B: the open descriptor reads the removed file to the end, all old content (md5)" \
	[ "$(md5 bgot.bin)" = "$(md5 bvictim.bin)" ]
for i in 1 2 3; do
	within nfs-to-fuse "B: bfill$i.bin reads in the mount with its own md5" fuse_same "$mb/bfill$i.bin" "bfill$i.bin"
done
within - "B: once it is closed, no freed space waits for the FUSE host" \
	eval '[ "$(slot "$FUSE_HOST" holds_back_bytes)" -eq 0 ]'
head -c 8000000 /dev/urandom > breuse.bin
check "B: nfs-cp another 8 MB file" nfs_put breuse.bin /breuse.bin
check "B: it reuses the removed file's space" overlaps "$bvext" "$(extents /breuse.bin)"
within - "B: and reads in the mount with its own md5" fuse_same "$mb/breuse.bin" breuse.bin

# ============================================================================================
echo "== C: a memory error (SIGBUS) under one file: the device file cut short"
head -c 40000000 /dev/urandom > last.bin
check "C: nfs-cp a 40 MB file (it goes last on the device)" nfs_put last.bin /last.bin
within nfs-to-fuse "C: it shows in the mount with the same md5" fuse_same "$mb/last.bin" last.bin
check "C: and reads over NFS with the same md5" nfs_same /last.bin last.bin
check "C: it lies last on the device, past the other files" prepare_cut "$mb" /last.bin
check "C: before the cut, the ${#OTHERS[@]} other files read the same in the mount and over NFS" \
	same_everywhere "$mb"
gpid=$(ganesha_pid "$NFS_TMP/b-run")
check "C: truncate the device file to $CUT bytes (through last.bin)" truncate -s "$CUT" "$dev"
expect_err "C: reading last.bin in the mount fails with EIO" "Input/output error" cat "$mb/last.bin"
expect_err "C: and again (the file answers EIO from now on)" "Input/output error" \
	cp "$mb/last.bin" copy.bin
check "C: reading last.bin over NFSv4 fails" eval '! nfs-cat "$(url /last.bin)" > /dev/null'
if $have_v3; then
	check "C: reading last.bin over NFSv3 fails" eval '! nfs-cat "$(url /last.bin 3)" > /dev/null'
fi
check "C: every other file still reads correctly in the mount and over NFS (md5)" \
	same_everywhere "$mb"
check "C: stat of last.bin still works in the mount" eval '[ "$(stat -c %s "$mb/last.bin")" -eq 40000000 ]'
check "C: the FUSE daemon still runs" kill -0 "$B_FUSE"
check "C: the mount is still mounted" mountpoint -q "$mb"
check "C: ganesha.nfsd still runs" kill -0 "$gpid"
check "C: famfs-gw status says the gateway runs" \
	eval '"$GW" status --run-dir "$NFS_TMP/b-run" | grep "^famfs-gw: running"'
check "C: the FUSE daemon logged the memory error once" \
	eval '[ "$(grep -c "memory error (SIGBUS).*last.bin" "$NFS_TMP/b-fuse.log")" -eq 1 ]'
check "C: the gateway logged it too" grep -q 'memory error (SIGBUS).*last.bin' "$NFS_TMP/b-run/ganesha.log"
check "C: mkdir over NFS after the error" "$NFSOP" "$EXP4" mkdir /after
within nfs-to-fuse "C: the mount still follows the log: the directory shows" test -d "$mb/after"
check "C: rename over NFS after the error" "$NFSOP" "$EXP4" rename /small.txt /after/small.txt
within nfs-to-fuse "C: the renamed file shows and reads in the mount" cmp "$mb/after/small.txt" repl.exp
check "C: the FUSE daemon still runs at the end" kill -0 "$B_FUSE"
stop_fuse "$mb" "$B_FUSE" "C" "$NFS_TMP/b-fuse.log"
# The master grows the file: the new bytes, zeroed first, lie past the cut too.
expect_err "C: growing last.bin over NFS (its new bytes lie past the cut) fails with NFS4ERR_IO" \
	"NFS4ERR_IO(" timeout 20 "$NFSOP" "$EXP4" truncate /last.bin 41000000
check "C: ganesha.nfsd still runs after that" kill -0 "$gpid"
stop_gw "$NFS_TMP/b-run" "C"

# ============================================================================================
for d in fuse-to-nfs nfs-to-fuse; do
	[ -n "${delays[$d]}" ] || continue
	# shellcheck disable=SC2086 # the delays are words
	mapfile -t sorted < <(printf '%s\n' ${delays[$d]} | sort -n)
	n=${#sorted[@]}
	[ "$n" -gt 0 ] && echo "delays $d: $n changes, min ${sorted[0]} ms, median" \
		"${sorted[$(((n - 1) / 2))]} ms, max ${sorted[$((n - 1))]} ms (${delays[$d]% })"
done
nfs_summary "mixed gw+fuse"
