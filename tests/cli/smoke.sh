#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# smoke.sh - every famfs-gw command, and each kind of bad input, on device files.
#
# One line per case: expect_good CMD...  or  expect_fail "REGEX" CMD...
# (the command must fail with a non-zero status and print a message matching REGEX).
# Environment: FAMFS_GW (the binary).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GW=${FAMFS_GW:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

MASTER=11111111-2222-4333-8444-555555555555
CLIENT=99999999-2222-4333-8444-555555555555
export FAMFS_SYSTEM_UUID=$MASTER
unset FAMFS_GW_DEVICE
passes=0
fails=0

expect_good() {
	if "$@" > out.txt 2> err.txt; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected success): $*"
		sed 's/^/    /' err.txt
	fi
}

expect_fail() { # regex, command...
	local re=$1; shift
	"$@" > out.txt 2> err.txt
	local rc=$?
	if [ $rc -ne 0 ] && grep -Eq -- "$re" err.txt out.txt; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected failure matching '$re', got rc=$rc): $*"
		sed 's/^/    /' err.txt out.txt
	fi
}

expect_out() { # regex that stdout must match, command...
	local re=$1; shift
	if "$@" > out.txt 2> err.txt && grep -Eq -- "$re" out.txt; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL (expected output matching '$re'): $*"
		sed 's/^/    /' out.txt err.txt
	fi
}

gw() { "$GW" -d dev.img "$@"; }

# --- help and usage --------------------------------------------------------------
expect_out "usage: famfs-gw" "$GW" --help
for c in mkfs info fsck log ls stat mkdir creat cp cat; do
	expect_out "usage: famfs-gw .*$c" "$GW" "$c" --help
done
expect_fail "unknown command" "$GW" frobnicate
expect_fail "no device" "$GW" info
expect_fail "usage" "$GW"

# --- devices that are not usable ---------------------------------------------------
expect_fail "No such file" "$GW" -d missing.img info
mkdir adir
expect_fail "neither a devdax" "$GW" -d adir info
mkfifo afifo
expect_fail "neither a devdax" "$GW" -d afifo --system-uuid $CLIENT fsck </dev/null
expect_fail "not a devdax device" "$GW" -d /dev/null info
expect_fail "too small" "$GW" -d small.img mkfs --size 4M
truncate -s 12582913 odd.img
expect_fail "not a multiple of 2 MiB" "$GW" -d odd.img info
truncate -s 64M zeros.img
expect_fail "no famfs magic" "$GW" -d zeros.img info
expect_fail "no famfs magic" "$GW" -d zeros.img fsck

# --- mkfs --------------------------------------------------------------------------
expect_fail "power of two" gw mkfs --size 4G --log-size 12M
expect_good gw mkfs --size 4G
expect_fail "already holds a famfs.*--force" gw mkfs
expect_good gw mkfs --force
expect_fail "size" gw mkfs --size banana
FAMFS_GW_DEVICE=env.img expect_good "$GW" mkfs --size 256M --log-size 16M
expect_out "length 0x1000000" env FAMFS_GW_DEVICE=env.img "$GW" info

# --- info, fsck, log on a fresh file system -----------------------------------------
expect_out "role: +master" gw info
expect_out '"role":"client"' "$GW" -d dev.img --system-uuid $CLIENT info --json
expect_good python3 -c 'import json,subprocess,sys; json.loads(subprocess.check_output(sys.argv[1:]))' "$GW" -d dev.img info --json
expect_out "0 error\(s\), 0 warning\(s\)" gw fsck
expect_out '"clean":true' gw fsck --json
expect_out "0 entries, 0 invalid" gw log

# --- mkdir ---------------------------------------------------------------------------
expect_good gw mkdir /a
expect_good gw mkdir -m 0700 -u 1000 -g 1000 a/private
expect_good gw mkdir -p /x/y/z
expect_good gw mkdir -p x/y/z
expect_fail "already exists" gw mkdir /a
expect_fail "parent directory .* does not exist" gw mkdir no/such/dir
expect_fail "octal" gw mkdir -m 999 m
expect_fail "at most 255" gw mkdir "$(printf 'd%.0s' {1..256})"
expect_good gw mkdir "$(printf 'd%.0s' {1..255})"
expect_good gw mkdir -p "$(printf 'd%.0s' {1..255})/$(printf 'e%.0s' {1..200})/$(printf 'f%.0s' {1..200})"
expect_fail "empty path" gw mkdir ""
expect_fail "'\.' or '\.\.'" gw mkdir "a/../b"
expect_fail "'\.' or '\.\.'" gw mkdir "a//b"
expect_fail "missing PATH" gw mkdir
expect_out "drwx------ +1000 +1000" gw ls -l /a

# --- creat ---------------------------------------------------------------------------
expect_good gw creat -s 4096 /a/f1
expect_good gw creat -s 1M -m 0600 a/f2 a/f3 a/f4
printf 'b/one 10\nb/two 3M\n# comment\nb/three\n' > list.txt
expect_good gw mkdir b
expect_good gw creat -s 1 --from list.txt
expect_out "-rw-r--r-- .* 3145728 .* two" gw ls -l b
expect_fail "-s SIZE is required" gw creat /a/nosize
expect_fail "greater than 0" gw creat -s 0 /a/zero
expect_fail "already exists" gw creat -s 1 /a/f1
expect_fail "not a directory" gw creat -s 1 /a/f1/under
expect_fail "no free space" gw creat -s 10G /big
expect_fail "nstrips" gw creat -s 8M -N 5 -B 4 -C 2M /striped
expect_fail "power of two" gw creat -s 8M -N 2 -B 4 -C 3M /striped
expect_fail "smaller than 1 GiB" gw creat -s 8M -N 2 -B 8 -C 2M /striped
expect_good gw creat -s 8M -N 2 -B 4 -C 2M /striped
expect_out "interleaved, 2 strips, chunk 0x200000" gw stat /striped
expect_fail "at most 255" gw creat -s 1 "$(printf 'f%.0s' {1..256})"
expect_good gw creat -s 1 "$(printf 'f%.0s' {1..255})"
expect_out "$(printf 'f%.0s' {1..255})" gw ls /
expect_fail "not the famfs master" "$GW" -d dev.img --system-uuid $CLIENT creat -s 1 /c
expect_fail "not the famfs master" "$GW" -d dev.img --system-uuid $CLIENT mkdir /c
expect_fail "not a UUID" "$GW" -d dev.img --system-uuid nonsense info

# --- ls and stat ---------------------------------------------------------------------
expect_out "^a/$" gw ls
expect_out "f1" gw ls /a
expect_out "^/a/f1$" gw ls /a/f1
expect_fail "no such file" gw ls /nope
expect_out "size: 4096" gw stat /a/f1
expect_out "extent 0: offset 0x[0-9a-f]+ length 0x200000" gw stat a/f1
expect_out '"type":"dir"' gw stat --json /a
expect_fail "no such file" gw stat /a/nope
expect_fail "missing PATH" gw stat

# --- cp and cat ----------------------------------------------------------------------
head -c 3000000 /dev/urandom > r1.bin
head -c 10 /dev/urandom > r2.bin
: > empty.bin
mkdir -p tree/sub && echo hello > tree/sub/h.txt && echo top > tree/t.txt
expect_good gw cp r1.bin :/a/r1.bin
expect_good gw cp r1.bin r2.bin :/b
expect_good bash -c '"$0" -d dev.img cat /a/r1.bin | cmp - r1.bin' "$GW"
expect_good bash -c '"$0" -d dev.img cat /b/r2.bin | cmp - r2.bin' "$GW"
expect_good gw cp r1.bin :/a/r1.bin # same size: rewritten, restartable
expect_fail "different size" gw cp r2.bin :/a/r1.bin
expect_fail "use -r" gw cp tree :/tree
expect_good gw cp -r tree :/
# Small files are packed: 4 KiB and one log entry each; --upstream gives a 2 MiB unit.
mkdir -p tiny && for i in $(seq 100); do echo "tiny $i" > "tiny/t$i"; done
used() { gw info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["space"]["used"])'; }
nent() { gw log --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_index"])'; }
u0=$(used) e0=$(nent)
expect_good gw cp -r tiny :/
u1=$(used) e1=$(nent)
expect_good [ $((u1 - u0)) -eq $((100 * 4096)) ]
expect_good [ $((e1 - e0)) -eq 101 ] # the directory and one entry per file
expect_good bash -c '"$0" -d dev.img cat /tiny/t77 | cmp - tiny/t77' "$GW"
expect_good gw cp --upstream tiny/t1 :/t1-upstream
expect_out "extent 0: offset 0x[0-9a-f]*00000 length 0x200000" gw stat /t1-upstream
expect_good gw cp -r :/tree back
expect_good diff -r tree back
expect_good gw cp :/a/r1.bin out.bin
expect_good cmp out.bin r1.bin
expect_fail "one side must be a famfs path" gw cp r1.bin r2.bin
expect_fail "one side must be a famfs path" gw cp :/a/r1.bin :/b/x
expect_fail "must be an existing famfs directory" gw cp r1.bin r2.bin :/nodir
expect_fail "No such file" gw cp nothere.bin :/a/
expect_good bash -c '"$0" -d dev.img cp empty.bin :/a/ 2>&1 | grep -q "empty file skipped"' "$GW"
expect_fail "is a directory" gw cat /a
expect_fail "no such file" gw cat /a/nothing
# A progress bar on a terminal (script(1) gives cp one), none in a pipe.
head -c $((80 << 20)) /dev/urandom > big.bin
expect_good bash -c 'script -qec "$0 -d dev.img cp big.bin :/big.bin" /dev/null | tr "\r" "\n" | grep -Eq "big.bin +\[#+\] 100% +[0-9.]+ MiB/s"' "$GW"
expect_good bash -c '"$0" -d dev.img cp :/big.bin big.out 2>&1 | grep -c "MiB/s" | grep -qx 0' "$GW"
expect_good cmp big.out big.bin
expect_good gw cp -N 2 -B 4 -C 2M r1.bin :/b/striped-r1
expect_good bash -c '"$0" -d dev.img cat /b/striped-r1 | cmp - r1.bin' "$GW"

# --- changes upstream famfs cannot make: rm, mv, truncate, chmod, chown, touch -----------
for c in rm mv truncate chmod chown touch hosts compact; do
	expect_out "usage: famfs-gw .*$c" "$GW" "$c" --help
done
expect_good gw mkdir /w
expect_good gw touch /w/empty
expect_out "^-rw-r--r-- .* 0 .* empty$" gw ls -l /w
expect_good gw cp r2.bin :/w/small
expect_good bash -c 'printf "0123456789" | cmp - <("$0" -d dev.img cat /w/small | head -c 0) 2>/dev/null; true' "$GW"
expect_good gw truncate -s 5M /w/small
expect_out "size: 5242880" gw stat /w/small
expect_good bash -c '"$0" -d dev.img cat /w/small | tail -c +11 | cmp - <(head -c $((5242880 - 10)) /dev/zero)' "$GW"
expect_good gw truncate -s 3 /w/small
expect_good bash -c '"$0" -d dev.img cat /w/small | cmp - <(head -c 3 r2.bin)' "$GW"
expect_good gw truncate -s 0 /w/empty
expect_fail "interleaved file cannot grow" gw truncate -s 100M /striped
expect_fail "no such file" gw truncate -s 1 /w/none
expect_good gw chmod 0600 /w/small
expect_good gw chown 42:43 /w/small
expect_out "-rw------- +42 +43 +3 .* small" gw ls -l /w
expect_fail "octal" gw chmod 9x /w/small
expect_good gw ln -s small /w/link
expect_out "^lrwxrwxrwx .* link -> small$" gw ls -l /w
expect_out "type: symbolic link" gw stat /w/link
expect_out '"target":"small"' gw stat --json /w/link
expect_fail "at most 375" gw ln -s "$(printf 'x%.0s' $(seq 376))" /w/link2
expect_good gw ln /w/small /w/hard
expect_good gw cp :/w/hard "$tmp/hard.out"
expect_good cmp "$tmp/hard.out" <(gw cat /w/small)
expect_out "^-rw------- +42 +43 +3 .* hard$" gw ls -l /w
expect_out "links: 2 .hard links" gw stat /w/hard
expect_fail "not allowed" gw ln /w /w/dirlink
expect_fail "File exists" gw ln /w/small /w/hard
expect_good gw rm /w/hard
expect_good gw rm /w/link
expect_fail "numeric" gw chown bob /w/small
expect_good gw mv /w/small /w/renamed
expect_fail "no such file" gw stat /w/small
expect_good gw mkdir /w/sub
expect_good gw mv /w/renamed /w/sub
expect_out "renamed" gw ls /w/sub
expect_good gw cp r1.bin :/w/target
# An editor's save: write a temporary file, rename it over the old one.
expect_good gw cp r2.bin :/w/target.tmp
expect_good gw mv /w/target.tmp /w/target
expect_good bash -c '"$0" -d dev.img cat /w/target | cmp - r2.bin' "$GW"
expect_good gw mkdir /w/emptydir
expect_fail "parent directory: No such file" gw mv /w/target /w/not-there/x
expect_fail "cannot move into itself|Invalid argument" gw mv /w /w/sub/w
expect_fail "is a directory \(use -r\)" gw rm /w/sub
expect_fail "no such file" gw rm /w/nothing
expect_good gw rm -f /w/nothing
expect_good gw rm /w/target
expect_fail "Directory not empty|use -r" gw rm /w/sub
expect_good gw rm -r /w/sub
expect_out "^emptydir/$" gw ls /w
expect_out "upstream famfs hosts: may exist" gw hosts
expect_out '"pending_bytes":[1-9]' gw hosts --json
expect_fail "not the famfs master" "$GW" -d dev.img --system-uuid $CLIENT rm /w/empty
expect_out "0 error\(s\)" gw fsck
# Names reused as the other type: upstream hosts still hold the old object there, so the
# new one goes to extension form (logged MKDIR/FILE entries would break their logplay).
expect_good gw creat -s 1M /ux
expect_good gw rm /ux
expect_good gw mkdir /ux
expect_good gw creat -s 1M /ux/inner
expect_good gw mkdir /uy
expect_good gw rm -r /uy
expect_good gw creat -s 1M /uy
expect_good gw creat -s 1M /uq
expect_good gw mv /uq /uq2
expect_good gw mkdir /uq
expect_good gw mkdir /uw
expect_good gw mv /uw /uw2
expect_good gw creat -s 1M /uw
expect_out "^-.* uy$" gw ls -l /
expect_out "^d.* ux/$" gw ls -l /
expect_good python3 "$here/../tools/upstream_check.py" dev.img
# A file grown piecewise holds 3 extents: compaction must not log it in upstream form.
expect_good gw creat -s 1M /g3
expect_good gw creat -s 1M /g3b1
expect_good gw truncate -s 3M /g3
expect_good gw creat -s 1M /g3b2
expect_good gw truncate -s 5M /g3
expect_good gw hosts --no-upstream
expect_out "declared absent" gw hosts
expect_out "log compacted: [0-9]+ -> [0-9]+ entries, generation 1" gw compact
expect_out "generation 1" gw fsck
expect_good python3 "$here/../tools/upstream_check.py" dev.img
expect_out "size: 5242880" gw stat /g3
expect_good bash -c '"$0" -d dev.img cat /a/r1.bin | cmp - r1.bin' "$GW"

# --- a full log -----------------------------------------------------------------------
expect_good "$GW" -d full.img mkfs --size 32G # sparse: room for 15420 files
expect_good bash -c 'for i in $(seq 0 15419); do echo "f$i"; done > names.txt'
expect_good "$GW" -d full.img creat -s 1 --from names.txt
expect_fail "log is full" "$GW" -d full.img creat -s 1 /one-more
expect_fail "log is full" "$GW" -d full.img mkdir /one-more
expect_out "15420 of 15420 entries used" "$GW" -d full.img fsck
expect_out "^f15419$" bash -c '"$0" -d full.img ls | tail -1' "$GW"

# Multi-object commands survive a compaction in their middle (the view is rebuilt).
expect_good "$GW" -d big.img mkfs --size 32G
expect_good "$GW" -d big.img mkdir /d /m1 /m2
expect_good bash -c 'for i in $(seq 0 7709); do echo "d/f$i"; done > dnames.txt'
expect_good "$GW" -d big.img creat -s 1 --from dnames.txt
expect_good "$GW" -d big.img rm -r /d
expect_out "generation 1" "$GW" -d big.img fsck
expect_fail "no such" "$GW" -d big.img ls /d
expect_good bash -c 'for i in $(seq 0 7799); do echo "m1/g$i"; done > mnames.txt'
expect_good "$GW" -d big.img creat -s 1 --from mnames.txt
expect_good bash -c '"$0" -d big.img mv $(sed "s|^|/|" mnames.txt) /m2' "$GW"
expect_out "generation 2" "$GW" -d big.img fsck
expect_out "^7800$" bash -c '"$0" -d big.img ls /m2 | wc -l' "$GW"
expect_out "^0$" bash -c '"$0" -d big.img ls /m1 | wc -l' "$GW"
expect_out "0 error\(s\)" "$GW" -d big.img fsck

# --- corruption is reported, with where it is ---------------------------------------------
expect_good cp dev.img bad-entry.img
# Entry 1 starts at 0x200000 + 48 + 544; flip a byte of its path.
printf 'Z' | dd of=bad-entry.img bs=1 seek=$((0x200000 + 48 + 544 + 30)) conv=notrunc status=none
expect_fail "log entry 1: CRC mismatch" "$GW" -d bad-entry.img fsck
expect_fail "INVALID: log entry 1: CRC mismatch" "$GW" -d bad-entry.img log
expect_fail "replay stopped: log entry 1" "$GW" -d bad-entry.img mkdir /more
flip() { # FILE OFFSET: invert every bit of one byte
	python3 -c "import sys; f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2])); b = f.read(1)
f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))" "$1" "$2"
}
expect_good cp dev.img bad-sb.img
flip bad-sb.img 50 # a byte of the file-system UUID: flipped, so it always changes
expect_fail "superblock: CRC mismatch" "$GW" -d bad-sb.img info
expect_fail "superblock: CRC mismatch" "$GW" -d bad-sb.img fsck
expect_good cp dev.img bad-log.img
flip bad-log.img $((0x200000 + 16))
expect_fail "log header: CRC mismatch" "$GW" -d bad-log.img ls
# A damaged host table header is an fsck error (it was not reported), and so is a log
# header whose next_index hides committed entries (it exited 0 with a warning).
expect_good cp dev.img bad-ht.img
flip bad-ht.img $((0x1000 + 24))
expect_fail "host table: the header is damaged .*CRC mismatch" "$GW" -d bad-ht.img fsck
expect_good cp dev.img hidden.img
python3 - hidden.img <<'EOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0x200000 + 32)
    f.write(struct.pack("<2Q", 3, 3))  # next_seqnum, next_index: not under the header CRC
EOF
expect_fail "valid entries \(3\.\.[0-9]+\) lie past next_index 3: the header is damaged" \
	"$GW" -d hidden.img fsck
expect_good cp dev.img v46.img
python3 - v46.img <<'EOF'
import struct, sys, zlib
with open(sys.argv[1], "r+b") as f:
    sb = bytearray(f.read(200))
    struct.pack_into("<Q", sb, 8, 46)
    struct.pack_into("<Q", sb, 96, zlib.crc32(bytes(sb[:96])))
    f.seek(0); f.write(sb)
EOF
expect_fail "version 46 is not supported" "$GW" -d v46.img info
expect_good python3 "$here/../tools/upstream_check.py" dev.img
expect_out "0 error\(s\)" gw fsck

echo "cli smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
