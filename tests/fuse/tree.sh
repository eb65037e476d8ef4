#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tree.sh - a real tree through a FUSE mount (label: fuse): the files of Debian packages
# (unpacked with dpkg-deb -x: thousands of small files, symlinks, a hard link), a few
# large files, names of 255 bytes and paths far past upstream's 79, unpacked with tar
# into `famfs-gw mount` and into tmpfs in the same run, then compared with the archive
# (tar --compare: content, modes, owners, mtimes, symlink targets, hard links) and
# with the tmpfs copy (link counts).
#
# Figures (benchmarks, never pass/fail): the time against tmpfs, the device space used
# against `du -s` of the source, log entries per object. Checks: tar reports nothing;
# the comparison finds nothing; every name has the link count it has in tmpfs; fsck and
# upstream's rules (tests/tools/upstream_check.py) are clean; every byte reads back.
#
# The packages come from Debian's archive (apt-get download, kept in $TREE_CACHE), else
# from /var/cache/apt/archives. Environment: FAMFS_GW (the binary); TREE_CACHE (default
# ~/.cache/famfs-gw-tree). Needs root (or /dev/fuse access), fuse3, dpkg-deb.
set -uo pipefail

GW=$(realpath "${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}")
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
CACHE=${TREE_CACHE:-${HOME:-/root}/.cache/famfs-gw-tree}
PKGS="perl-modules-5.36 libpython3.11-stdlib tzdata perl-base"
tmp=$(mktemp -d)
dev=$tmp/famfs.img
mnt=$tmp/mnt
tfs=$tmp/tmpfs
mkdir -p "$mnt" "$tfs" "$tmp/src" "$CACHE"
unset FAMFS_GW_DEVICE FAMFS_SYSTEM_UUID

cleanup() {
	mountpoint -q "$mnt" 2> /dev/null && { "$GW" umount "$mnt" > /dev/null 2>&1 || umount -l "$mnt"; }
	mountpoint -q "$tfs" 2> /dev/null && umount -l "$tfs"
	rm -rf "$tmp"
}
trap cleanup EXIT

passes=0
fails=0
CHECK_OUT=$tmp/out
# shellcheck source=fuse_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuse_env.sh"
fuse_require
now() { date +%s.%N; }

# ---------------------------------------------------------------- the source tree
updated=false
for p in $PKGS; do
	ls "$CACHE/${p}"_*.deb > /dev/null 2>&1 && continue
	(cd "$CACHE" && apt-get download "$p" > /dev/null 2>&1) && continue
	cp /var/cache/apt/archives/"${p}"_*.deb "$CACHE/" 2> /dev/null && continue
	# Stale package lists: refresh them once, then try again.
	$updated || { apt-get update -qq > /dev/null 2>&1; updated=true; }
	(cd "$CACHE" && apt-get download "$p" > /dev/null 2>&1) ||
		echo "    (package $p: neither downloadable nor in the apt cache)"
done
ndeb=0
for d in "$CACHE"/*.deb; do
	[ -e "$d" ] || continue
	dpkg-deb -x "$d" "$tmp/src" && ndeb=$((ndeb + 1))
done
if [ "$ndeb" -eq 0 ]; then
	echo "FAIL: no Debian package could be downloaded or found in the apt cache"
	exit 1
fi
# A few large files, long names and deep paths.
head -c 30000000 /dev/urandom > "$tmp/src/large-1.bin"
head -c 5000000 /dev/urandom > "$tmp/src/large-2.bin"
name255=$(printf 'n%.0s' $(seq 255))
deep="$tmp/src/deep/$name255/$(printf 'p%.0s' $(seq 200))/$(printf 'q%.0s' $(seq 200))"
mkdir -p "$deep" && echo "far down" > "$deep/$name255"
ln -s "../$name255" "$tmp/src/deep/$name255/link-up"
tar -C "$tmp/src" -cf "$tmp/tree.tar" .
nobj=$(tar -tf "$tmp/tree.tar" | wc -l)
nhard=$(tar -tvf "$tmp/tree.tar" | grep -c '^h')
nsym=$(tar -tvf "$tmp/tree.tar" | grep -c '^l')
du_src=$(du -s -B1 "$tmp/src" | cut -f1)
echo "    (tree: $ndeb packages, $nobj objects, $nsym symlinks, $nhard hard links, du -s $du_src bytes)"

# ---------------------------------------------------------------- tmpfs, then famfs
mount -t tmpfs -o size=2g none "$tfs"
cat "$tmp/tree.tar" > /dev/null
t0=$(now)
tar -C "$tfs" -xf "$tmp/tree.tar"
t_tmpfs=$(echo "$(now) - $t0" | bc)

check "mkfs" "$GW" -d "$dev" mkfs --size 4G
check "mount" "$GW" -d "$dev" mount --log "$tmp/mount.log" "$mnt"
t0=$(now)
tar -C "$mnt" -xf "$tmp/tree.tar" 2> "$tmp/tar.err"
t_famfs=$(echo "$(now) - $t0" | bc)
nerr=$(grep -vc 'Exiting with failure status' "$tmp/tar.err")
check "tar reports nothing ($nerr messages)" bash -c "[ $nerr -eq 0 ]" || head -5 "$tmp/tar.err"
tar -C "$mnt" --compare -f "$tmp/tree.tar" > "$tmp/cmp.out" 2>&1
check "tar --compare: identical, the $nhard hard links included ($(wc -l < "$tmp/cmp.out") lines)" \
	bash -c "[ ! -s '$tmp/cmp.out' ]" || head -5 "$tmp/cmp.out"
links() { (cd "$1" && find . ! -type d -printf '%n %p\n' | sort); }
check "every name has the link count it has in tmpfs" \
	bash -c "diff <(links '$tfs') <(links '$mnt') > '$tmp/links.diff'" || head -5 "$tmp/links.diff"
check "the deep file reads back" cmp "$deep/$name255" \
	"$mnt/deep/$name255/$(printf 'p%.0s' $(seq 200))/$(printf 'q%.0s' $(seq 200))/$name255"
check "the large file reads back" cmp "$tmp/src/large-1.bin" "$mnt/large-1.bin"
sleep 2 # pending commits reach the log
used=$("$GW" -d "$dev" info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["space"]["used"])')
check "umount" "$GW" umount "$mnt"
nent=$("$GW" -d "$dev" log --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_index"])')
check "fsck is clean" "$GW" -d "$dev" fsck
check "upstream's rules hold on the log" python3 "$TOOLS/upstream_check.py" "$dev"
check "no error in the daemon's log" bash -c "! grep -i 'error' '$tmp/mount.log'"

echo "    (tar -x: famfs $t_famfs s, tmpfs $t_tmpfs s: $(echo "scale=1; $t_famfs / $t_tmpfs" | bc)x;" \
	"device space $used bytes, $(echo "scale=2; $used / $du_src" | bc)x du -s;" \
	"$nent log entries, $(echo "scale=2; $nent / $nobj" | bc) per object)"
echo "tree: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
