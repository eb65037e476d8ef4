#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fixture.sh - famfs-gw on the image that upstream famfs wrote (tests/fixtures).
#
# Extends the 10 MiB metadata image to its 4 GiB device size, then checks that
# info/log/ls -l/stat/fsck show exactly what the manifest lists, that a file copied
# in with famfs-gw cp reads back identical (simple and interleaved), that the log
# still validates with upstream's rules (tests/tools/upstream_check.py, an
# independent implementation), and that nothing upstream wrote was changed. Finally a
# famfs-gw FUSE mount of the image (as a non-master host) shows the same files and bytes.
# Environment: FAMFS_GW (the binary), FIXTURES (tests/fixtures).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GW=${FAMFS_GW:?}
FIX=${FIXTURES:-$here/../fixtures}
CHECK=$here/../tools/upstream_check.py
MANIFEST=$FIX/famfs-v48-meta-10MiB.manifest.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

img=$tmp/famfs.img
gunzip -c "$FIX/famfs-v48-meta-10MiB.img.gz" > "$img"
truncate -s 4G "$img"
cp "$img" "$tmp/pristine.img"
export FAMFS_GW_DEVICE=$img
# Act as the host that made the image: its master.
export FAMFS_SYSTEM_UUID=5a5a5a5a-0000-4000-8000-000000000001

fails=0
passes=0
check() { # name, command...
	local name=$1; shift
	if "$@"; then echo "ok - $name"; passes=$((passes + 1)); else echo "FAIL - $name"; fails=$((fails + 1)); fi
}

"$GW" info --json > "$tmp/info.json"
"$GW" log --json > "$tmp/log.json"
"$GW" fsck --json > "$tmp/fsck.json"
"$GW" ls -l / > "$tmp/ls-root"
"$GW" ls -l /dir1 /dir1/subdir /dir2 > "$tmp/ls-dirs"

compare_manifest() {
	python3 - "$MANIFEST" "$tmp/info.json" "$tmp/log.json" <<'EOF'
import json, sys
man = json.load(open(sys.argv[1]))
info = json.load(open(sys.argv[2]))
log = json.load(open(sys.argv[3]))
bad = []
for k, v in man["superblock"].items():
    if k == "daxdev":
        for dk, dv in v.items():
            if info["superblock"]["daxdev"][dk] != dv:
                bad.append("daxdev.%s: %r != %r" % (dk, info["superblock"]["daxdev"][dk], dv))
    elif info["superblock"][k] != v:
        bad.append("superblock.%s: %r != %r" % (k, info["superblock"][k], v))
for k, v in man["log"].items():
    if info["log"][k] != v:
        bad.append("log.%s: %r != %r" % (k, info["log"][k], v))
if len(log["entries"]) != len(man["entries"]):
    bad.append("entry count %d != %d" % (len(log["entries"]), len(man["entries"])))
for me, le in zip(man["entries"], log["entries"]):
    for k, v in me.items():
        if le.get(k) != v:
            bad.append("entry %d %s: %r != %r" % (me["index"], k, le.get(k), v))
    if not le["valid"]:
        bad.append("entry %d invalid" % me["index"])
for b in bad:
    print("  mismatch:", b)
sys.exit(1 if bad else 0)
EOF
}
check "info --json and log --json equal the manifest" compare_manifest

check_stat() {
	python3 - "$MANIFEST" "$GW" <<'EOF'
import json, subprocess, sys
man = json.load(open(sys.argv[1]))
gw = sys.argv[2]
paths = [e["path"] for e in man["entries"]]
out = json.loads(subprocess.check_output([gw, "stat", "--json"] + ["/" + p for p in paths]))
bad = []
for e, s in zip(man["entries"], out):
    want = {"dir": "dir", "file": "file"}[e["type"]]
    if s["type"] != want: bad.append("%s type" % e["path"])
    for k in ("mode", "uid", "gid"):
        if s[k] != e[k]: bad.append("%s %s %r != %r" % (e["path"], k, s[k], e[k]))
    if e["type"] == "file":
        for k in ("size", "ext_type", "extents", "strips", "nstrips", "chunk_size"):
            if k in e and s.get(k) != e[k]: bad.append("%s %s" % (e["path"], k))
    if s["ino"] != e["index"] + 2: bad.append("%s ino %d" % (e["path"], s["ino"]))
for b in bad: print("  mismatch:", b)
sys.exit(1 if bad else 0)
EOF
}
check "stat --json of every path equals the manifest" check_stat

check_ls() {
	diff -u - "$tmp/ls-root" <<'EOF' &&
drwxr-xr-x      0      0            0        2 dir1/
-rw-r--r--   1000   1000         5000        4 hello.txt
-r--r--r--      0      0      9437184        7 striped4m.bin
drwxrwxrwt      0      0            0        8 dir2/
EOF
	diff -u - "$tmp/ls-dirs" <<'EOF'
/dir1:
drwxr-x---   1000   1000            0        3 subdir/
-rw-------      0      0      3145851        5 blob.bin
/dir1/subdir:
-rw-r--r--      0      0     20975617        6 striped.bin
/dir2:
-rw-r-----      0      0            1        9 small
EOF
}
check "ls -l lists the manifest's tree" check_ls

check_fsck() {
	"$GW" fsck > "$tmp/fsck.txt" &&
	grep -q "0 error(s), 0 warning(s)" "$tmp/fsck.txt" &&
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["clean"] and r["files"] == 5 and r["directories"] == 3 and r["collisions"] == 0 \
     and r["entries_valid"] == 8 and r["bad_entries"] == 0
sys.exit(0 if ok else 1)' "$tmp/fsck.json"
}
check "fsck reports no error (8 entries, 5 files, 3 dirs, 0 collisions)" check_fsck
check "the untouched image passes the upstream rules" python3 "$CHECK" "$img"

head -c 5000000 /dev/urandom > "$tmp/new.bin"
head -c 9000000 /dev/urandom > "$tmp/striped-new.bin"
check "cp a new file into the upstream image" "$GW" cp "$tmp/new.bin" :/dir2/new.bin
check "cp an interleaved file (3 strips, 4 buckets)" \
	"$GW" cp -N 3 -B 4 -C 2M "$tmp/striped-new.bin" :/dir1/subdir/
check "the new file reads back identical" \
	bash -c '"$0" cat /dir2/new.bin | cmp - "$1"' "$GW" "$tmp/new.bin"
check "the interleaved file reads back identical" \
	bash -c '"$0" cat /dir1/subdir/striped-new.bin | cmp - "$1"' "$GW" "$tmp/striped-new.bin"
check "cp out of famfs gives the same bytes" \
	bash -c '"$0" cp :/dir2/new.bin "$1/out.bin" && cmp "$1/out.bin" "$2"' "$GW" "$tmp" \
	"$tmp/new.bin"
check "the log still passes the upstream rules" python3 "$CHECK" "$img"
check "fsck is still clean" "$GW" fsck
check "the superblock is byte-identical to upstream's" cmp -n 200 "$img" "$tmp/pristine.img"
check "upstream's 8 entries are byte-identical" \
	cmp -i $((0x200000 + 48)) -n $((8 * 544)) "$img" "$tmp/pristine.img"
# Upstream's own files kept their content (the data area was zeros).
check "upstream's files were not overwritten" \
	bash -c 'cmp <("$0" cat /hello.txt) <(head -c 5000 /dev/zero)' "$GW"

# A mix of changes upstream famfs cannot make; upstream's rules must still hold for
# every entry upstream understands (nothing freed is reused: upstream hosts may exist).
mix() {
	"$GW" mkdir -p /dir1/new/deeper &&
	"$GW" touch /dir2/empty &&
	"$GW" mv /dir1/subdir /dir1/renamed &&
	"$GW" cp "$tmp/new.bin" :/dir1/renamed/under-renamed.bin &&
	"$GW" mkdir /dir1/renamed/newdir &&
	"$GW" chmod 600 /hello.txt &&
	"$GW" chown 5:6 /dir2 &&
	"$GW" truncate -s 8M /dir2/new.bin &&
	"$GW" rm /dir2/small &&
	"$GW" mv /dir2/new.bin /dir2/moved.bin &&
	"$GW" creat -s 3M /after-mix.bin &&
	"$GW" rm -r /dir1/new
}
check "a mix of remove, rename, resize, chmod/chown, empty files" mix
check "after the mix, the log passes the upstream rules" python3 "$CHECK" "$img"
check "after the mix, fsck is clean" "$GW" fsck
check "upstream's 8 entries are still byte-identical" \
	cmp -i $((0x200000 + 48)) -n $((8 * 544)) "$img" "$tmp/pristine.img"
check_view() {
	"$GW" ls -l / /dir1 /dir1/renamed /dir2 > "$tmp/after" &&
	grep -q '^-rw------- .*hello.txt$' "$tmp/after" &&
	grep -q 'under-renamed.bin$' "$tmp/after" &&
	grep -q 'striped.bin$' "$tmp/after" &&
	grep -q ' 8388608 .*moved.bin$' "$tmp/after" &&
	grep -q ' 0 .*empty$' "$tmp/after" &&
	! grep -q 'small$' "$tmp/after" &&
	bash -c '"$0" cat /dir1/renamed/under-renamed.bin | cmp - "$1"' "$GW" "$tmp/new.bin" &&
	bash -c '"$0" cat /dir2/moved.bin | head -c 5000000 | cmp - "$1"' "$GW" "$tmp/new.bin" &&
	bash -c '"$0" cat /dir2/moved.bin | tail -c +5000001 | cmp - <(head -c 3388608 /dev/zero)' "$GW"
}
check "the namespace after the mix is what the commands said" check_view

# The direct path of a CXL host: famfs-gw mount of the same image, as a host that is
# not its master (read-only), shows every file with the content famfs-gw cat gives.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ]; then
	mnt=$tmp/mnt
	mkdir "$mnt"
	fuse_view() {
		local f
		FAMFS_SYSTEM_UUID=5a5a5a5a-0000-4000-8000-0000000000c2 "$GW" mount \
			--log "$tmp/mount.log" "$img" "$mnt" > /dev/null || return 1
		grep " $mnt " /proc/mounts | grep -q '[ ,]ro[ ,]' || return 1
		for f in hello.txt dir1/blob.bin striped4m.bin dir1/renamed/striped.bin \
			dir1/renamed/under-renamed.bin \
			dir1/renamed/striped-new.bin dir2/moved.bin after-mix.bin; do
			"$GW" cat "/$f" | cmp - "$mnt/$f" || return 1
		done
		[ "$(stat -c '%a %s' "$mnt/hello.txt")" = "600 5000" ] &&
			[ "$(find "$mnt" | wc -l)" -eq "$(($("$GW" ls -l / /dir1 /dir1/renamed \
				/dir1/renamed/newdir /dir2 | grep -c '^[-d]') + 1))" ]
	}
	check "a FUSE mount of the image shows the same files and bytes" fuse_view
	check "it unmounts" "$GW" umount "$mnt"
else
	echo "skip - FUSE mount of the image (needs root and /dev/fuse)"
fi

echo "fixture: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
