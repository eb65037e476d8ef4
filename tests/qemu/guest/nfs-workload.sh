#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# nfs-workload.sh - what a person does on an NFS mount, with the Linux kernel's NFSv4
# client, once per protocol version. Runs in the QEMU test guest (/init runs it for
# lab.run=/guest/nfs-workload.sh); its exit status is the number of failed checks
# (at most 100).
#
# Kernel command line: lab.port=PORT lab.pseudo=/PATH (the export on 10.0.2.2, the
# host's 127.0.0.1), lab.vers=4.0,4.1,4.2, lab.tag=NAME (put in every result line),
# lab.big=MIB (the large file, default 64), lab.limit=SECONDS (per version; a version
# that takes longer, e.g. an NFS call that never returns on the 'hard' mount, is
# killed and counted as a failure, and the next version runs).
#
# Per version V, in the directory kV of the export: mount; read the files the host put
# in /host (md5sum -c host/MD5SUMS); mkdir -p; cp a large and several small files
# (and a tree with cp -r); ls -l sizes; remount and read everything back (md5);
# mv of a file, of a directory, across directories; rm, rm -r, rmdir; append with
# echo >>; an in-place overwrite with dd conv=notrunc; truncate (shrink, grow, to 0,
# create); an editor-style save (write a temporary file, mv it over the original,
# with the original held open by a reader: the kernel's silly rename) and sed -i;
# echo > over an existing file (O_TRUNC); chmod; touch; df; permissions: as root (not
# squashed: the exports are No_Root_Squash) a directory locked (0755) holding locked/f
# (0644, known content) and a sticky directory sticky (01777) holding sticky/rootf
# (root's, 0666), then as uid 1000 gid 1000 (no other groups; busybox su as the user
# knfs, which the script adds to /etc/passwd: this busybox's setpriv cannot change ids)
# each of these is refused with EACCES, as a local file system refuses it: touch
# locked/new, mkdir locked/d, rm locked/f, mv locked/f locked/g, mv locked/f kV/stolen,
# echo x >> locked/f; chmod 0777 locked/f with EPERM; none of those names appears, and
# locked/f keeps its content, owner and mode 0644 (stat as root); in sticky, uid 1000
# creates sticky/mine (stat: 1000:1000) and removes it, but removing or renaming
# sticky/rootf is refused (EPERM); remount; locked, sticky and their files still root's
# with their modes; the whole tree compared with a copy kept on the guest's tmpfs,
# where every step was done as well (of the permission steps, root's setup: uid 1000
# changes nothing that stays); MD5SUMS (every file's expected md5) and GONE (names that
# must not exist, with those uid 1000 was refused or removed) are written into kV for
# the host to check; umount.
# Output: one "PASS: [TAG vV] what" or "FAIL: [TAG vV] what: why" line per check.
# shellcheck disable=SC2317,SC2086 # functions run through check(); paths have no spaces

# shellcheck source=lib.sh
. /guest/lib.sh
M=/mnt/nfs
L=/tmp/src
PORT=$(arg lab.port 2049)
PSEUDO=$(arg lab.pseudo /famfs)
TAG=$(arg lab.tag nfs)
BIG_MIB=$(arg lab.big 64)
LIMIT=$(arg lab.limit 100)
SMALL="0 1 100 4095 4096 4097 65536 100000 1048579"
USER1000=knfs # uid 1000, gid 1000: made below in /etc/passwd and /etc/group
LOCKED_TEXT="root's file in locked"
ROOTF_TEXT="root's file in sticky"

nfsmount() {
	mount -t nfs4 -o "vers=$V,port=$PORT,addr=10.0.2.2,clientaddr=10.0.2.15,proto=tcp,hard" \
		"10.0.2.2:$PSEUDO" $M
}
mounted() { # the mount is there, with the version asked for
	grep " $M nfs4 " /proc/mounts | grep -q "vers=$V," || { grep " $M " /proc/mounts; return 1; }
}
remount() { # a fresh mount: nothing read comes from the client's caches
	cd / && sync && umount $M && echo 3 > /proc/sys/vm/drop_caches && nfsmount && mounted
}
md5() { md5sum < "$1" | cut -d' ' -f1; }
same() { # FILE EXPECTED_FILE: same content (md5)
	a=$(md5 "$1") || return 1
	b=$(md5 "$2")
	[ "$a" = "$b" ] || { echo "md5 of $1 is $a, expected $b"; return 1; }
}
size_is() { # FILE SIZE, as ls -l shows it
	s=$(ls -ln "$1" | awk '{print $5}')
	[ "$s" = "$2" ] || { echo "ls -l: $1 has $s bytes, expected $2: $(ls -ln "$1")"; return 1; }
}
absent() { # PATH...: none of them exists
	for p in "$@"; do
		[ ! -e "$p" ] || { echo "$p still exists"; return 1; }
	done
}
content_is() { # FILE TEXT: the file holds exactly TEXT and a newline
	printf '%s\n' "$2" > /tmp/want
	cmp "$1" /tmp/want || { echo "content: $(cat "$1" | tr '\n' '|'), expected $2"; return 1; }
}
manifest() { # DIR: "md5  path" of every file, sorted; then every directory
	(cd "$1" && find . -type f ! -name MD5SUMS ! -name GONE | sort | while read -r f; do
		echo "$(md5sum < "$f" | cut -d' ' -f1)  ${f#./}"
	done && find . -type d | sort)
}

# --- the steps; each takes the root it works in (the NFS directory or the tmpfs copy)
op_mkdir() { mkdir -p "$1/a/b/c" && [ -d "$1/a/b/c" ]; }
op_cp_big() { cp $L/big.bin "$1/big.bin"; }
op_cp_small() { for n in $SMALL; do cp $L/s-$n "$1/a/b/c/s-$n" || return 1; done; }
op_cp_tree() { cp -r $L/tree "$1/tree"; }
op_mv_file() { mv "$1/a/b/c/s-100" "$1/a/b/c/renamed-100"; }
op_mv_dir() { mv "$1/a/b" "$1/a/b2"; }
op_mv_across() { mv "$1/a/b2/c/s-65536" "$1/top-65536"; }
op_rm() { rm "$1/a/b2/c/s-1"; }
op_rm_r() { rm -r "$1/tree"; }
op_rmdir() { mkdir "$1/empty" && rmdir "$1/empty"; }
op_append() { echo one > "$1/notes.txt" && echo two >> "$1/notes.txt" && echo three >> "$1/notes.txt"; }
op_overwrite() { dd if=$L/s-4096 of="$1/big.bin" bs=4096 seek=300 conv=notrunc 2> /dev/null; }
op_shrink() { cp $L/s-1048579 "$1/shrink.bin" && truncate -s 1000 "$1/shrink.bin"; }
op_grow() { cp $L/s-100 "$1/grow.bin" && truncate -s 3145733 "$1/grow.bin"; }
op_zero() { truncate -s 0 "$1/a/b2/c/s-4097"; }
op_create() { truncate -s 5000 "$1/sparse.bin"; }
op_save_v1() { printf 'setting = 1\n' > "$1/config.txt"; }
op_save_v2() { # an editor's save: a new file, then rename it over the old one
	printf 'setting = 2\n' > "$1/.config.txt.tmp" && mv "$1/.config.txt.tmp" "$1/config.txt"
}
op_sed() { sed -i 's/= 2/= 3/' "$1/config.txt"; }
op_clobber() { echo replaced > "$1/a/b2/c/s-100000"; }
op_chmod() { chmod 600 "$1/notes.txt"; }
op_perm_setup() { # as root: locked/ (0755) with f (0644), sticky/ (01777) with rootf (0666)
	mkdir "$1/locked" "$1/sticky" && chmod 0755 "$1/locked" && chmod 01777 "$1/sticky" &&
		printf '%s\n' "$LOCKED_TEXT" > "$1/locked/f" && chmod 0644 "$1/locked/f" &&
		printf '%s\n' "$ROOTF_TEXT" > "$1/sticky/rootf" && chmod 0666 "$1/sticky/rootf"
}

# --- uid 1000 ----------------------------------------------------------------------------
as_user() { # CMD...: CMD (its words joined, for sh -c) as uid 1000, gid 1000, groups 1000
	su -s /bin/sh -c "$*" $USER1000 < /dev/null
}
refused() { # EACCES|EPERM CMD...: uid 1000 can run commands, but CMD fails with that error
	# (su's own "can't execute" failure must not pass for a refusal)
	case $1 in EACCES) want="Permission denied" ;; EPERM) want="Operation not permitted" ;; esac
	shift
	as_user true || { echo "cannot run commands as uid 1000"; return 1; }
	if out=$(as_user "$@" 2>&1); then
		echo "uid 1000 was allowed: $*"
		return 1
	fi
	case $out in
	*"$want"*) ;;
	*) echo "failed, but not with '$want': $out"; return 1 ;;
	esac
}
who_is_user() { # the ids as_user runs with
	# shellcheck disable=SC2016 # expanded by the user's shell
	w=$(as_user 'echo $(id -u) $(id -g) $(id -G)')
	[ "$w" = "1000 1000 1000" ] || { echo "uid, gid, groups: '$w', expected '1000 1000 1000'"; return 1; }
}
attrs_are() { # PATH "UID:GID MODE" (octal, as stat -c %a shows it)
	a=$(stat -c '%u:%g %a' "$1") || return 1
	[ "$a" = "$2" ] || { echo "$1 is $a, expected $2"; return 1; }
}
perm_attrs() { # ROOT: what op_perm_setup made, owned by root, with its modes
	attrs_are "$1/locked" "0:0 755" && attrs_are "$1/locked/f" "0:0 644" &&
		attrs_are "$1/sticky" "0:0 1777" && attrs_are "$1/sticky/rootf" "0:0 666"
}

one_version() {
	X=/tmp/mirror-$V # the same steps on tmpfs: the expected result
	D=$M/k$V
	rm -rf "$X"
	mkdir -p "$X"
	check "mount -t nfs4 -o vers=$V" nfsmount
	check "the mount is NFS vers=$V" mounted
	check "read the host's files (md5sum -c host/MD5SUMS)" sh -c "cd $M/host && md5sum -c MD5SUMS"
	for op in mkdir cp_big cp_small cp_tree; do op_$op "$X"; done
	check "mkdir -p a/b/c" op_mkdir "$D"
	t=$(up)
	check "cp a $BIG_MIB MiB file" op_cp_big "$D"
	# Figures (the host prints them against the VFS control; never pass/fail).
	echo "WORKLOAD: [$TAG v$V] FIG write $BIG_MIB MiB $(since "$t") s"
	check "cp $(echo $SMALL | wc -w) small files (0 B to 1 MiB)" op_cp_small "$D"
	check "cp -r a tree" op_cp_tree "$D"
	check "ls -l: the large file's size" size_is "$D/big.bin" $((BIG_MIB << 20))
	sizes() { for n in $SMALL; do size_is "$D/a/b/c/s-$n" "$n" || return 1; done; }
	check "ls -l: the small files' sizes" sizes
	check "remount (umount, drop caches, mount)" remount
	check "read back the large file (md5)" same "$D/big.bin" $L/big.bin
	check "remount (umount, drop caches, mount)" remount
	t=$(up)
	check "read the large file again, nothing cached" sh -c "cat $D/big.bin > /dev/null"
	echo "WORKLOAD: [$TAG v$V] FIG read $BIG_MIB MiB $(since "$t") s"
	small_back() { for n in $SMALL; do same "$D/a/b/c/s-$n" $L/s-$n || return 1; done; }
	check "read back the small files (md5)" small_back
	check "read back the tree (md5)" sh -c "cd $L/tree && for f in \$(find . -type f); do cmp \$f $D/tree/\$f || exit 1; done"

	for op in mv_file mv_dir mv_across rm rm_r rmdir append overwrite shrink grow zero create save_v1; do
		op_$op "$X"
	done
	check "mv (rename a file)" op_mv_file "$D"
	check "mv: the new name has the content, the old one is gone" \
		sh -c "cmp $D/a/b/c/renamed-100 $L/s-100 && [ ! -e $D/a/b/c/s-100 ]"
	check "mv (rename a directory)" op_mv_dir "$D"
	check "mv: the directory's files moved with it" \
		sh -c "[ ! -e $D/a/b ] && cmp $D/a/b2/c/s-4096 $L/s-4096 && [ -d $D/a/b2/c ]"
	check "mv a file to another directory" op_mv_across "$D"
	check "mv: moved across directories" sh -c "cmp $D/top-65536 $L/s-65536 && [ ! -e $D/a/b2/c/s-65536 ]"
	check "rm a file" op_rm "$D"
	check "rm -r a tree" op_rm_r "$D"
	check "rmdir an empty directory" op_rmdir "$D"
	check "rm: the names are gone" absent "$D/a/b2/c/s-1" "$D/tree" "$D/empty"
	check "echo > and echo >> twice" op_append "$D"
	check "append: the content" content_is "$D/notes.txt" "one
two
three"
	check "dd conv=notrunc: overwrite 4 KiB inside the large file" op_overwrite "$D"
	check "truncate -s 1000 (shrink a 1 MiB file)" op_shrink "$D"
	check "truncate -s 3145733 (grow a 100 B file)" op_grow "$D"
	check "truncate -s 0" op_zero "$D"
	check "truncate -s 5000 (a new file)" op_create "$D"
	check "truncate: sizes as ls -l shows them" sh -c "
		s() { [ \"\$(ls -ln \$1 | awk '{print \$5}')\" = \$2 ] || { ls -ln \$1; exit 1; }; }
		s $D/shrink.bin 1000; s $D/grow.bin 3145733; s $D/a/b2/c/s-4097 0; s $D/sparse.bin 5000"
	check "truncate: shrunk file = its first 1000 bytes" same "$D/shrink.bin" "$X/shrink.bin"
	check "truncate: grown file = old bytes + zeros" same "$D/grow.bin" "$X/grow.bin"
	check "truncate: new file = 5000 zero bytes" same "$D/sparse.bin" "$X/sparse.bin"
	check "write config.txt" op_save_v1 "$D"
	exec 3< "$D/config.txt"
	op_save_v2 "$X"
	check "editor-style save: write a temporary file, mv it over config.txt" op_save_v2 "$D"
	check "editor-style save: the new content, no temporary file left" \
		sh -c "cmp $D/config.txt $X/config.txt && [ ! -e $D/.config.txt.tmp ]"
	check "a reader that had config.txt open still reads the old content" content_is /dev/fd/3 "setting = 1"
	exec 3<&-
	op_sed "$X"
	check "sed -i (another editor-style save)" op_sed "$D"
	check "sed -i: the content" content_is "$D/config.txt" "setting = 3"
	check "after the last close, no .nfs* silly-rename file is left" \
		sh -c "sleep 1; ! ls -a $D | grep '^\.nfs'"
	op_clobber "$X"
	check "echo > an existing 100000-byte file (O_TRUNC)" op_clobber "$D"
	check "O_TRUNC: the content" content_is "$D/a/b2/c/s-100000" replaced
	op_chmod "$X"
	check "chmod 600" op_chmod "$D"
	check "chmod: ls -l shows -rw-------" sh -c "ls -ln $D/notes.txt | grep '^-rw------- '"
	touched() { # touch moves the modification time forward
		before=$(stat -c %Y "$D/top-65536") && sleep 1 && touch "$D/top-65536" &&
			after=$(stat -c %Y "$D/top-65536") && [ "$after" -gt "$before" ] ||
			{ echo "mtime $before -> ${after:-?}"; return 1; }
	}
	check "touch updates the modification time" touched
	check "df shows the export's size" sh -c "df -k $M | awk 'NR == 2 && \$2 > 0 {ok = 1} END {exit !ok}' || df -k $M"

	# Permissions: root makes, uid 1000 may not change (the server decides: the client
	# leaves a directory's write permission to it; the sticky bit it checks itself too).
	op_perm_setup "$X"
	check "as root: mkdir locked (0755) with f (0644), sticky (01777) with rootf (0666)" op_perm_setup "$D"
	check "stat: locked, locked/f, sticky, sticky/rootf are 0:0 with those modes" perm_attrs "$D"
	check "su $USER1000: uid 1000, gid 1000, groups 1000" who_is_user
	check "uid 1000: touch locked/new is refused (EACCES)" refused EACCES touch "$D/locked/new"
	check "uid 1000: mkdir locked/d is refused (EACCES)" refused EACCES mkdir "$D/locked/d"
	check "uid 1000: rm locked/f is refused (EACCES)" refused EACCES rm "$D/locked/f"
	check "uid 1000: mv locked/f locked/g is refused (EACCES)" refused EACCES mv "$D/locked/f" "$D/locked/g"
	check "uid 1000: mv locked/f stolen (out of locked) is refused (EACCES)" refused EACCES mv "$D/locked/f" "$D/stolen"
	check "uid 1000: echo x >> locked/f is refused (EACCES)" refused EACCES "echo x >> $D/locked/f"
	check "uid 1000: chmod 0777 locked/f is refused (EPERM)" refused EPERM chmod 0777 "$D/locked/f"
	check "refused: no locked/new, locked/d, locked/g, stolen" \
		absent "$D/locked/new" "$D/locked/d" "$D/locked/g" "$D/stolen"
	locked_kept() { content_is "$D/locked/f" "$LOCKED_TEXT" && attrs_are "$D/locked/f" "0:0 644"; }
	check "as root: locked/f is still there, its content, 0:0 644" locked_kept
	check "uid 1000: touch sticky/mine (a 01777 directory)" as_user touch "$D/sticky/mine"
	check "stat: sticky/mine is 1000:1000" sh -c "[ \"\$(stat -c %u:%g $D/sticky/mine)\" = 1000:1000 ] || ls -ln $D/sticky"
	check "uid 1000: rm sticky/mine (its own file)" as_user rm "$D/sticky/mine"
	check "uid 1000: rm sticky/rootf (root's, 0666) is refused (EPERM): the sticky bit" refused EPERM rm "$D/sticky/rootf"
	check "uid 1000: mv sticky/rootf sticky/taken is refused (EPERM): the sticky bit" \
		refused EPERM mv "$D/sticky/rootf" "$D/sticky/taken"
	check "sticky: mine is gone, rootf and its content are there, no taken" \
		sh -c "[ ! -e $D/sticky/mine ] && [ ! -e $D/sticky/taken ] && cmp $D/sticky/rootf $X/sticky/rootf"

	check "remount" remount
	check "after remount: locked, locked/f, sticky, sticky/rootf unchanged (0:0, modes)" perm_attrs "$D"
	manifest "$X" > /tmp/want.manifest
	manifest "$D" > /tmp/got.manifest
	check "the whole tree after remount = the tmpfs copy ($(grep -c '  ' /tmp/want.manifest) files, md5)" \
		sh -c "diff /tmp/want.manifest /tmp/got.manifest | grep '^[-+][^-+]'; cmp -s /tmp/want.manifest /tmp/got.manifest"
	manifest "$X" | grep '  ' > "$D/MD5SUMS"
	printf '%s\n' a/b a/b/c/s-100 a/b2/c/s-65536 a/b2/c/s-1 tree empty .config.txt.tmp \
		locked/new locked/d locked/g stolen sticky/mine sticky/taken > "$D/GONE"
	check "write MD5SUMS and GONE for the host" sh -c "sync && [ -s $D/MD5SUMS ]"
	cd /
	check "umount" umount $M
	rm -rf "$X"
	echo "DONE v$V"
}

# --- the main part: the source files once, then each version under a time limit --------
if [ "${1:-}" = one ]; then
	V=$2
	one_version
	exit 0
fi
mkdir -p $M $L/tree/sub
# The unprivileged user of the permission checks: busybox su (run by root, it asks no
# password) needs it in /etc/passwd; the initramfs's /etc is writable. Its / is 0700
# (build-initramfs.sh packs a mktemp -d directory): 0755, or uid 1000 reaches nothing.
chmod 755 /
grep -q "^$USER1000:" /etc/passwd || echo "$USER1000:x:1000:1000:permission checks:/tmp:/bin/sh" >> /etc/passwd
grep -q "^$USER1000:" /etc/group || echo "$USER1000:x:1000:" >> /etc/group
: > $R
t0=$(up)
dd if=/dev/urandom of=$L/big.bin bs=1M count="$BIG_MIB" 2> /dev/null
for n in $SMALL; do head -c "$n" /dev/urandom > $L/s-$n; done
echo "tree file 1" > $L/tree/one.txt
head -c 30000 /dev/urandom > $L/tree/sub/two.bin
: > $L/tree/sub/empty
echo "WORKLOAD: [$TAG] source files made in $(since "$t0")s; port $PORT, export $PSEUDO"
for V in $(echo "$(arg lab.vers 4.0,4.1,4.2)" | tr ',' ' '); do
	t0=$(up)
	# Its own session, so that a stuck version can be killed with everything it started.
	setsid sh "$0" one "$V" > /tmp/out-$V 2>&1 &
	pid=$!
	waited=0
	while kill -0 $pid 2> /dev/null && [ $waited -lt "$LIMIT" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if kill -0 $pid 2> /dev/null; then
		kill -9 -- -$pid 2> /dev/null
		sleep 1
		umount -f $M 2> /dev/null || umount -l $M 2> /dev/null
		cat /tmp/out-$V
		res FAIL "did not finish in ${LIMIT}s: stuck in step '$(cat /tmp/step 2> /dev/null)'"
		dmesg | tail -n 8 | sed 's/^/WORKLOAD: dmesg: /'
	else
		wait $pid
		cat /tmp/out-$V
		grep -q "^DONE v$V" /tmp/out-$V || res FAIL "the workload ended early"
	fi
	grep -q " $M " /proc/mounts && { umount $M || umount -l $M; } 2> /dev/null
	echo "WORKLOAD: [$TAG v$V] took $(since "$t0")s"
done
end_results WORKLOAD
