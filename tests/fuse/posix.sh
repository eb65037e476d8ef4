#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# posix.sh - famfs-gw mount on a real /dev/fuse mount, used with plain shell tools
# (label: fuse).
#
# On a famfs device file, as the master: cp (small, large, many), cat, ls -l, stat,
# mkdir -p, mv (within and across directories, over an existing file), rm, rmdir,
# truncate (grow, shrink), append (>>), an editor-style write-then-rename, chmod, chown,
# touch -d, df, a removed file still readable through an open descriptor, names the
# format cannot hold (ENAMETOOLONG), symbolic links, fifos and device nodes (made, read,
# renamed, removed, a tree with links unpacked by tar and compared), hard links (made,
# counted, written through, renamed, removed one name at a time; none to a directory),
# a symlink target over the format's limit refused, interleaved files
# (made with famfs-gw cp -N/-B/-C) read and written in place through the mount. The log
# follower: what another process (famfs-gw, the same host) creates, grows or removes
# shows in the mount within about a second. Then a second mount of the same device as a
# host that is not the master: it reads everything and refuses every change with EROFS.
# Finally umount and SIGTERM stop the daemons cleanly and famfs-gw fsck is clean, and
# every file written through the mount reads back identical with famfs-gw cat.
# Environment: FAMFS_GW (the binary). Needs root (or /dev/fuse access) and fuse3.
set -uo pipefail

GW=$(realpath "${FAMFS_GW:?FAMFS_GW must name the famfs-gw binary}")
tmp=$(mktemp -d)
MASTER=0f0f0f0f-0000-4000-8000-00000000f05e
CLIENT=0f0f0f0f-0000-4000-8000-00000000c11e
dev=$tmp/famfs.img
mnt=$tmp/mnt
ro=$tmp/ro
mkdir -p "$mnt" "$ro"
unset FAMFS_GW_DEVICE FAMFS_SYSTEM_UUID

cleanup() {
	for m in "$mnt" "$ro"; do
		mountpoint -q "$m" 2> /dev/null && { "$GW" umount "$m" > /dev/null 2>&1 || umount -l "$m"; }
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

passes=0
fails=0
CHECK_OUT=$tmp/out
# shellcheck source=fuse_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuse_env.sh"
fuse_require

# within SECS CMD...: poll CMD until it succeeds; prints the delay
within() {
	local limit=$1 t0 now
	shift
	t0=$(date +%s%N)
	while :; do
		if "$@" > /dev/null 2>&1; then
			now=$(date +%s%N)
			echo "    (after $(((now - t0) / 1000000)) ms)"
			return 0
		fi
		now=$(date +%s%N)
		[ $(((now - t0) / 1000000000)) -ge "$limit" ] && return 1
		sleep 0.05
	done
}
gw() { "$GW" -d "$dev" --system-uuid "$MASTER" "$@"; }
md5() { md5sum < "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- the master's mount
gw mkfs --size 4G > /dev/null || { echo "FAIL mkfs"; exit 1; }
gw mkdir /pre
head -c 3000000 /dev/urandom > "$tmp/pre.bin"
gw cp "$tmp/pre.bin" :/pre/pre.bin > /dev/null
# An interleaved file: 2 strips, 4 buckets, 2 MiB chunks.
head -c 20000000 /dev/urandom > "$tmp/il.bin"
gw cp -N 2 -B 4 -C 2M "$tmp/il.bin" :/il.bin > /dev/null

check "mount (master, detached)" "$GW" --system-uuid "$MASTER" mount --log "$tmp/m.log" \
	--follow-ms 200 "$dev" "$mnt"
check "mount shows in /proc/mounts as fuse.famfs" grep -q " $mnt fuse.famfs " /proc/mounts
check "ls -l of the root" bash -c "ls -l '$mnt' | grep -q 'il.bin'"
check "cat a file famfs-gw cp put in" cmp "$tmp/pre.bin" "$mnt/pre/pre.bin"
check "interleaved file reads back" cmp "$tmp/il.bin" "$mnt/il.bin"

# Small and large files, many files.
head -c 70000000 /dev/urandom > "$tmp/big.bin"
check "cp a 70 MB file in" cp "$tmp/big.bin" "$mnt/big.bin"
check "it reads back identical" cmp "$tmp/big.bin" "$mnt/big.bin"
check "famfs-gw cat agrees" bash -c "'$GW' -d '$dev' --system-uuid '$MASTER' cat /big.bin | cmp - '$tmp/big.bin'"
check "mkdir -p" mkdir -p "$mnt/a/b/c/d"
check "cp 200 small files" bash -c "for i in \$(seq 200); do echo file \$i > '$mnt/a/b/f'\$i || exit 1; done"
check "ls counts 200 + 1" bash -c "[ \$(ls '$mnt/a/b' | wc -l) -eq 201 ]"
check "cat of one of them" bash -c "[ \"\$(cat '$mnt/a/b/f137')\" = 'file 137' ]"
check "stat size and mode" bash -c "[ \"\$(stat -c '%s %A' '$mnt/a/b/f1')\" = '7 -rw-r--r--' ]"
check "cp -r a tree out and compare" bash -c "cp -r '$mnt/a' '$tmp/a-out' && diff -r '$mnt/a' '$tmp/a-out'"

# Renames.
check "mv within a directory" mv "$mnt/a/b/f1" "$mnt/a/b/g1"
check "mv across directories" mv "$mnt/a/b/f2" "$mnt/a/b/c/d/g2"
echo keep > "$mnt/a/target"
check "mv over an existing file" mv "$mnt/a/b/f3" "$mnt/a/target"
check "the target has the new content" bash -c "[ \"\$(cat '$mnt/a/target')\" = 'file 3' ]"
check "old names are gone" bash -c "! ls '$mnt/a/b/f1' '$mnt/a/b/f2' '$mnt/a/b/f3' 2>/dev/null"
check "mv a directory" mv "$mnt/a/b/c" "$mnt/cdir"
check "its files moved with it" test -f "$mnt/cdir/d/g2"
expect_err "mv a directory into itself" "subdirectory of itself" mv "$mnt/cdir" "$mnt/cdir/d/x"

# Append, truncate, editor-style save.
printf 'line1\n' > "$mnt/log.txt"
check "append >>" bash -c "for i in 2 3 4; do echo line\$i >> '$mnt/log.txt'; done"
check "appended content" bash -c "[ \"\$(cat '$mnt/log.txt' | tr '\n' ' ')\" = 'line1 line2 line3 line4 ' ]"
check "truncate -s grow" truncate -s 5000000 "$mnt/log.txt"
check "grown size and zeros" bash -c "[ \$(stat -c %s '$mnt/log.txt') -eq 5000000 ] && \
	[ \"\$(tail -c 100 '$mnt/log.txt' | tr -d '\\0' | wc -c)\" -eq 0 ]"
check "truncate -s shrink" truncate -s 6 "$mnt/log.txt"
check "shrunk content" bash -c "[ \"\$(cat '$mnt/log.txt')\" = 'line1' ]"
check "truncate to 0 and write again" bash -c ": > '$mnt/log.txt' && echo fresh >> '$mnt/log.txt' && \
	[ \"\$(cat '$mnt/log.txt')\" = fresh ]"
check "editor save: write temp, rename over" bash -c "printf 'v1\n' > '$mnt/doc' && \
	printf 'v2 longer text\n' > '$mnt/.doc.swp' && mv '$mnt/.doc.swp' '$mnt/doc' && \
	[ \"\$(cat '$mnt/doc')\" = 'v2 longer text' ]"
check "write in place in the middle of a file" bash -c "printf XYZ | dd of='$mnt/big.bin' bs=1 seek=1000000 \
	conv=notrunc status=none && printf XYZ | dd of='$tmp/big.bin' bs=1 seek=1000000 conv=notrunc \
	status=none && cmp '$tmp/big.bin' '$mnt/big.bin'"
check "write in place into the interleaved file" bash -c "head -c 5000000 /dev/urandom > '$tmp/patch' && \
	dd if='$tmp/patch' of='$mnt/il.bin' bs=1M seek=3 conv=notrunc status=none && \
	dd if='$tmp/patch' of='$tmp/il.bin' bs=1M seek=3 conv=notrunc status=none && \
	cmp '$tmp/il.bin' '$mnt/il.bin' && '$GW' -d '$dev' cat /il.bin | cmp - '$tmp/il.bin'"

# Attributes.
check "chmod" bash -c "chmod 640 '$mnt/doc' && [ \$(stat -c %a '$mnt/doc') = 640 ]"
check "chown" bash -c "chown 1234:5678 '$mnt/doc' && [ \"\$(stat -c '%u:%g' '$mnt/doc')\" = 1234:5678 ]"
check "touch -d sets mtime" bash -c "touch -d '2024-05-06 07:08:09' '$mnt/doc' && \
	[ \"\$(date -r '$mnt/doc' +%F)\" = 2024-05-06 ]"
check "touch creates an empty file" bash -c "touch '$mnt/empty' && [ \$(stat -c %s '$mnt/empty') -eq 0 ]"
check "df shows the device" bash -c "df -h '$mnt' | grep -q famfs"

# Remove.
check "rm a file" rm "$mnt/a/b/f4"
check "rm -r a tree" rm -r "$mnt/cdir"
expect_err "rmdir of a non-empty directory" "not empty" rmdir "$mnt/a"
check "rmdir of an empty directory" bash -c "mkdir '$mnt/e' && rmdir '$mnt/e'"
check "removed file stays readable through an open descriptor" bash -c "
	head -c 4000000 /dev/urandom > '$tmp/open.bin'; cp '$tmp/open.bin' '$mnt/open.bin'
	exec 3< '$mnt/open.bin'; rm '$mnt/open.bin'; [ ! -e '$mnt/open.bin' ] && cmp - '$tmp/open.bin' <&3"

# Names and paths as long as Linux allows (in extension entries); longer is refused.
long=$(printf 'n%.0s' $(seq 255))
check "a name of 255 bytes" bash -c "echo hi > '$mnt/$long' && [ \"\$(cat '$mnt/$long')\" = hi ]"
expect_err "a name of 256 bytes" "too long" touch "$mnt/${long}x"
longd=$(printf 'd%.0s' $(seq 255))
deep="$mnt/$longd/$longd/$longd/$longd/$longd/$longd"
check "a path of 1,500 bytes" bash -c "mkdir -p '$deep' && echo deep > '$deep/f' && cmp - '$deep/f' <<< deep"
check "a symlink with a long name" ln -s . "$mnt/l${long:1}"
check "it resolves" test -d "$mnt/l${long:1}/$longd"
expect_err "a long name leaves a target of at most 199 bytes" "too long" \
	ln -s "$longd/$longd" "$mnt/m${long:1}"
check "rename to and from long names" bash -c "mv '$mnt/$long' '$mnt/short-again' && mv '$mnt/short-again' '$mnt/$long'"
# Hard links (XE_LINK): one object, several names.
check "ln: a hard link" ln "$mnt/doc" "$mnt/hard"
check "  both names show 2 links and one inode" bash -c \
	"[ \"\$(stat -c '%h %i' '$mnt/doc')\" = \"\$(stat -c '%h %i' '$mnt/hard')\" ] && [ \$(stat -c %h '$mnt/doc') -eq 2 ]"
check "  a write through one name reads through the other" bash -c \
	"echo linked >> '$mnt/hard' && tail -n 1 '$mnt/doc' | grep -qx linked"
check "  a third name in a subdirectory" ln "$mnt/hard" "$mnt/pre/hard3"
check "  removing the first name keeps the data" bash -c \
	"cp '$mnt/doc' '$tmp/doc.keep' && rm '$mnt/doc' && cmp '$tmp/doc.keep' '$mnt/hard' && [ \$(stat -c %h '$mnt/hard') -eq 2 ]"
check "  rename of a hard link, and over another name of the same file (nothing happens)" bash -c \
	"mv '$mnt/pre/hard3' '$mnt/hard3' && mv -f '$mnt/hard3' '$mnt/hard3b' && [ \$(stat -c %h '$mnt/hard') -eq 2 ]"
check "  ls lists each name once with the file's inode" bash -c \
	"[ \$(ls -i '$mnt' | grep -c \"^ *\$(stat -c %i '$mnt/hard') \") -eq 2 ]"
expect_err "  a hard link to a directory is refused" "not allowed\|Operation not permitted" \
	ln "$mnt/pre" "$mnt/pre-link"
check "  the names go back: doc again, then the extra ones removed" bash -c \
	"ln '$mnt/hard' '$mnt/doc' && rm '$mnt/hard' '$mnt/hard3b' && [ \$(stat -c %h '$mnt/doc') -eq 1 ] && cmp '$tmp/doc.keep' '$mnt/doc'"
expect_err "a symlink target over the format's 375 bytes" "too long" \
	ln -s "$(printf 't%.0s' $(seq 400))" "$mnt/sym-long"
check "no name left by the refused symlink" test ! -e "$mnt/sym-long" -a ! -L "$mnt/sym-long"

# Symbolic links, fifos, sockets and device nodes (XE_MKNOD entries).
check "ln -s" ln -s doc "$mnt/sym"
check "readlink" bash -c "[ \"\$(readlink '$mnt/sym')\" = doc ]"
check "reading through the link" cmp "$mnt/sym" "$mnt/doc"
check "ls -l shows the link" bash -c "ls -l '$mnt/sym' | grep -q '^l.* -> doc\$'"
check "mkfifo" bash -c "mkfifo '$mnt/fifo' && [ -p '$mnt/fifo' ]"
check "mknod c 1 3 (root)" bash -c "mknod '$mnt/null' c 1 3 && [ \"\$(stat -c %t:%T '$mnt/null')\" = 1:3 ]"
check "a symlink renamed and removed" bash -c "ln -s a/b '$mnt/sym2' && mv '$mnt/sym2' '$mnt/sym3' && [ \"\$(readlink '$mnt/sym3')\" = a/b ] && rm '$mnt/sym3' && [ ! -L '$mnt/sym3' ]"
check "fallocate grows a file" bash -c "fallocate -l 3M '$mnt/falloc' && [ \$(stat -c %s '$mnt/falloc') -eq 3145728 ]"
check "fallocate --punch-hole reads zeros, keeps the size" bash -c "head -c 8192 /dev/urandom > '$mnt/punch' && fallocate -p -o 100 -l 1000 '$mnt/punch' && [ \$(stat -c %s '$mnt/punch') -eq 8192 ] && cmp <(head -c 1000 '$mnt/punch' | tail -c 900) <(head -c 900 /dev/zero)"
# A tree with links, unpacked with tar and compared with its source.
mkdir -p "$tmp/src/zone/Europe" "$tmp/src/zone/posix"
for z in Paris Berlin Rome; do head -c $((RANDOM + 100)) /dev/urandom > "$tmp/src/zone/Europe/$z"; done
ln -s Europe/Paris "$tmp/src/zone/CET"
ln -s ../Europe "$tmp/src/zone/posix/Europe"
ln -s /usr/share/zoneinfo/UTC "$tmp/src/zone/abs"
ln -s missing "$tmp/src/zone/dangling"
mkfifo "$tmp/src/zone/pipe"
touch -h -d '2020-01-02 03:04:05' "$tmp/src/zone/CET"
tar -C "$tmp/src" -cf "$tmp/zone.tar" zone
check "tar -x of a tree with symlinks and a fifo" tar -C "$mnt" -xf "$tmp/zone.tar"
check "tar --compare: identical" tar -C "$mnt" --compare -f "$tmp/zone.tar"
check "a link into a directory resolves" cmp "$mnt/zone/posix/Europe/Rome" "$tmp/src/zone/Europe/Rome"

# Small files cost what they hold: 300 files of 1 KiB take pages, not 2 MiB blocks each.
used0=$(gw info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["space"]["used"])')
mkdir "$mnt/small"
for k in $(seq 300); do head -c 1000 /dev/urandom > "$mnt/small/f$k"; done
used1=$(gw info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["space"]["used"])')
echo "    (300 files of 1000 bytes took $((used1 - used0)) bytes of the device)"
check "300 small files take at most 300 pages of 4 KiB" [ $((used1 - used0)) -le $((300 * 4096)) ]
head -c 1000 /dev/urandom > "$tmp/one"
cp "$tmp/one" "$mnt/small/f7"
check "a small file rewritten in place reads back" cmp "$tmp/one" "$mnt/small/f7"
head -c 300000 /dev/urandom > "$tmp/grow"
dd if="$tmp/grow" of="$mnt/small/grown" bs=4096 status=none
check "a small file written page by page reads back" cmp "$tmp/grow" "$mnt/small/grown"
check "the packed files read back identical with famfs-gw cat" \
	bash -c "'$GW' -d '$dev' --system-uuid $MASTER cat /small/grown | cmp - '$tmp/grow'"

# One log entry per written file: size, map and attributes are logged at its last close.
nent() { gw log --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_index"])'; }
mkdir -p "$tmp/tree/d"
for k in $(seq 50); do head -c $((k * 300)) /dev/urandom > "$tmp/tree/d/f$k"; done
touch -d '2021-05-06 07:08:09' "$tmp/tree/d/f"*
tar -C "$tmp/tree" -cf "$tmp/tree.tar" d
mkdir "$mnt/untar"
sleep 2 # what earlier steps left pending is committed first
e0=$(nent)
check "tar -x of 50 files" tar -C "$mnt/untar" -xf "$tmp/tree.tar"
sleep 2 # the directory's own times are committed within the commit interval
e1=$(nent)
echo "    (50 files and their directory took $((e1 - e0)) log entries)"
check "at most 2 log entries per file (a create, then one commit)" [ $((e1 - e0)) -le 102 ]
check "tar --compare of the unpacked files: identical" tar -C "$mnt/untar" --compare -f "$tmp/tree.tar"
check "another process sees the committed files (famfs-gw cat)" \
	bash -c "'$GW' -d '$dev' --system-uuid $MASTER cat /untar/d/f50 | cmp - '$tmp/tree/d/f50'"
check "and their times" bash -c "'$GW' -d '$dev' --system-uuid $MASTER stat /untar/d/f7 | grep -q 2021-05-06"
# A file held open: committed within the interval, not only at close.
exec 7> "$mnt/untar/held"
echo "written, not closed" >&7
check "a file held open reaches the log within the commit interval" within 5 \
	bash -c "'$GW' -d '$dev' --system-uuid $MASTER cat /untar/held | grep -q 'not closed'"
exec 7>&-
# fsync commits at once.
check "fsync: the new size is in the log at once" python3 -c "
import os, subprocess, sys
fd = os.open('$mnt/untar/synced', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b'x' * 12345)
os.fsync(fd)
out = subprocess.run(['$GW', '-d', '$dev', '--system-uuid', '$MASTER', 'cat', '/untar/synced'],
                     capture_output=True).stdout
os.close(fd)
sys.exit(0 if len(out) == 12345 else 1)"

# The log follower: another process of this host changes the log.
gw creat -s 1M /from-cli > /dev/null
check "a file famfs-gw created shows up" within 5 test -f "$mnt/from-cli"
gw truncate -s 3M /from-cli > /dev/null
check "its new size shows up" within 5 bash -c "[ \$(stat -c %s '$mnt/from-cli') -eq 3145728 ]"
gw mv /from-cli /pre/moved > /dev/null
check "a rename by famfs-gw shows up" within 5 bash -c "[ -f '$mnt/pre/moved' ] && [ ! -e '$mnt/from-cli' ]"
gw rm /pre/moved > /dev/null
check "a remove by famfs-gw shows up" within 5 bash -c "[ ! -e '$mnt/pre/moved' ]"

# ---------------------------------------------------------------- a client host's mount
check "mount as another host (detached)" "$GW" --system-uuid "$CLIENT" mount --log "$tmp/ro.log" \
	--follow-ms 200 "$dev" "$ro"
check "the client's mount is read-only" bash -c "grep ' $ro ' /proc/mounts | grep -q '[ ,]ro[ ,]'"
check "it says so in its log" grep -q "not the famfs master" "$tmp/ro.log"
check "the client reads a file" cmp "$tmp/big.bin" "$ro/big.bin"
check "the client reads the interleaved file" cmp "$tmp/il.bin" "$ro/il.bin"
expect_err "client: create refused" "Read-only file system" touch "$ro/new"
expect_err "client: write refused" "Read-only file system" bash -c "echo x >> '$ro/doc'"
expect_err "client: mkdir refused" "Read-only file system" mkdir "$ro/newdir"
expect_err "client: rm refused" "Read-only file system" rm "$ro/doc"
expect_err "client: mv refused" "Read-only file system" mv "$ro/doc" "$ro/doc2"
expect_err "client: truncate refused" "Read-only file system" truncate -s 0 "$ro/doc"
expect_err "client: chmod refused" "Read-only file system" chmod 600 "$ro/doc"
echo "live" > "$mnt/live.txt"
check "the master's new file reaches the client" within 5 bash -c "[ \"\$(cat '$ro/live.txt')\" = live ]"
echo "more" >> "$mnt/live.txt"
check "the master's append reaches the client" within 5 bash -c "[ \"\$(cat '$ro/live.txt' | tr '\n' ' ')\" = 'live more ' ]"
rm "$mnt/live.txt"
check "the master's remove reaches the client" within 5 bash -c "[ ! -e '$ro/live.txt' ]"

# ---------------------------------------------------------------- stop
rpid=$(cat /run/famfs-gw/mount*"$(basename "$tmp")"*ro.pid 2> /dev/null || true)
if [ -n "$rpid" ]; then
	kill -TERM "$rpid"
	check "SIGTERM stops the client's daemon and unmounts" within 10 bash -c "! mountpoint -q '$ro' && ! kill -0 $rpid"
else
	check "umount the client's mount" "$GW" umount "$ro"
fi
check "umount the master's mount" "$GW" umount "$mnt"
check "nothing mounted any more" bash -c "! grep -q ' $tmp/' /proc/mounts"
check "fsck is clean" gw fsck
check "files written through the mount read back with famfs-gw cat" bash -c \
	"'$GW' -d '$dev' cat /big.bin | cmp - '$tmp/big.bin' && [ \"\$('$GW' -d '$dev' cat /a/target)\" = 'file 3' ]"
expect_err "umount of something that is not mounted" "not mounted" "$GW" umount "$mnt"
expect_err "mount on a missing directory" "No such file" "$GW" mount "$dev" "$tmp/nodir"
expect_err "mount of a file that is not famfs" "cannot open famfs" bash -c \
	"head -c 64M /dev/zero > '$tmp/zero.img' && '$GW' mount '$tmp/zero.img' '$mnt'"

echo "fuse posix: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
