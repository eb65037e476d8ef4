#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# perm.sh - NFS permission checks on the FAMFS export answer what FSAL_VFS answers
# (label: nfs). One ganesha.nfsd (started by 'famfs-gw serve --ganesha-conf') serves a
# famfs device file and a directory on a tmpfs (/dev/shm) side by side, each twice: with
# Squash = No_Root_Squash (/famfs, /vfs) and with Squash = All_Squash, anonymous
# 4000:4000 (/famfs_sq, /vfs_sq), a read-only pair (/famfs_ro, /vfs_ro: Access_Type = RO) and
# a pair only another client may use (/famfs_cl, /vfs_cl: a CLIENT block for 127.0.0.2).
# Both trees get the same layout, made as root (famfs-gw on the famfs side, mkdir/chmod/
# chown on the VFS side), once per NFS version (t4/, t3/; sq/t4/, sq/t3/; ro/, cl/):
#   rootdir/   0:0 0755, holding f (0:0 0644) and sub/ (0:0 0755)
#   sticky/    0:0 01777, holding other, other2, otherdir/ (2000:2000) and mine, mine2
#              (1000:1000)
#   grp/       0:3000 0775      sgid/  0:3000 02777      open/  0:0 0777 with rootfile
#              (0:0 0644) and rootw (0:0 0666)
#   sq/tN/open/ 0777 with rootfile (0644) and sq/tN/rootdir/ 0755 (all 0:0) for the
#              squashed exports
# tests/nfs/perm.c does one operation per run as the uid/gid given in the URL; every case
# runs on the FAMFS export, then on the VFS export, and passes when both give the same
# answer (allowed, or refused with the same errno: EACCES vs EPERM matter) and that
# answer is the POSIX one the case names (so a VFS that allows everything fails too).
# Owners, groups and modes of new objects are compared with a stat as root. NFSv4.0 and
# NFSv3 (NFSv3 needs rpcbind; skipped when it cannot run). Needs root.
# One line per case:
#   ok   v4 uid 1000 gid 1000: unlink t4/rootdir/f: FAMFS refused (EACCES) = VFS refused (EACCES)
# Environment: FAMFS_GW (the famfs-gw binary), NFS_PERM (the nfs_perm binary). The FAMFS
# plugin is found the way serve finds it (FAMFS_GW_PLUGIN_DIR, else the build tree next to
# famfs-gw). Last line: "nfs perm: N passed, M failed"; exit status 1 on any failure.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=nfs_env.sh
source "$here/nfs_env.sh"
cd "$NFS_TMP" || exit 1
OPS=${NFS_PERM:?NFS_PERM must name the nfs_perm binary}
export FAMFS_SYSTEM_UUID=11111111-2222-4333-8444-555555555555
unset FAMFS_GW_DEVICE

if [ "$(id -u)" -ne 0 ]; then
	skip "nfs perm: the layout (chown) and ganesha.nfsd need root"
	nfs_summary "nfs perm"
	exit
fi
plugin_dir=${FAMFS_GW_PLUGIN_DIR:-$(dirname "$GW")/../fsal_famfs}
plugin=$(realpath "$plugin_dir/libfsalfamfs.so" 2> /dev/null)
vfs_plugin=/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so
for f in "$plugin" "$vfs_plugin"; do
	[ -e "$f" ] || { check "$f exists" false; nfs_summary "nfs perm"; exit; }
done

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$NFS_TMP
vfs=$(mktemp -d "$shm/famfs-perm-vfs.XXXXXX") || exit 1
chmod 0755 "$vfs"
trap 'nfs_cleanup; rm -rf "$vfs"' EXIT

have_v3=true
if ! nfs_need_rpcbind; then
	have_v3=false
	echo "note: rpcbind is not available: NFSv3 cases are skipped"
fi
versions="4 3"
$have_v3 || versions=4

# --- the same layout in both trees, as root ------------------------------------------------
dev=$NFS_TMP/dev.img
expect_good "$GW" -d "$dev" mkfs --size 1G
fam() { "$GW" -d "$dev" "$@" > /dev/null || echo "layout: famfs-gw $* failed" >&2; }

famfs_layout() { # T
	local t=/$1
	fam mkdir -m 0755 "$t" "$t/rootdir" "$t/rootdir/sub"
	fam touch "$t/rootdir/f"
	fam chmod 0644 "$t/rootdir/f"
	fam mkdir -m 01777 "$t/sticky"
	fam touch "$t/sticky/other" "$t/sticky/other2" "$t/sticky/mine" "$t/sticky/mine2"
	fam mkdir -m 0755 "$t/sticky/otherdir"
	fam chmod 0644 "$t/sticky/other" "$t/sticky/other2" "$t/sticky/mine" "$t/sticky/mine2"
	fam chown 2000:2000 "$t/sticky/other" "$t/sticky/other2" "$t/sticky/otherdir"
	fam chown 1000:1000 "$t/sticky/mine" "$t/sticky/mine2"
	fam mkdir -m 0775 "$t/grp"
	fam chown 0:3000 "$t/grp"
	fam chmod 0775 "$t/grp"
	fam mkdir -m 02777 "$t/sgid"
	fam chown 0:3000 "$t/sgid"
	fam chmod 02777 "$t/sgid"
	fam mkdir -m 0777 "$t/open"
	fam chmod 0777 "$t/open"
	fam touch "$t/open/rootfile" "$t/open/rootw"
	fam chmod 0644 "$t/open/rootfile"
	fam chmod 0666 "$t/open/rootw"
}
vfs_layout() { # T
	local t=$vfs/$1
	mkdir -p "$t/rootdir/sub" "$t/sticky/otherdir" "$t/grp" "$t/sgid" "$t/open"
	chmod 0755 "$t" "$t/rootdir" "$t/rootdir/sub" "$t/sticky/otherdir"
	touch "$t/rootdir/f" "$t/sticky/other" "$t/sticky/other2" "$t/sticky/mine" \
		"$t/sticky/mine2" "$t/open/rootfile" "$t/open/rootw"
	chmod 0644 "$t/rootdir/f" "$t/sticky/other" "$t/sticky/other2" "$t/sticky/mine" \
		"$t/sticky/mine2" "$t/open/rootfile" "$t/open/rootw"
	chmod 01777 "$t/sticky"
	chown 2000:2000 "$t/sticky/other" "$t/sticky/other2" "$t/sticky/otherdir"
	chown 1000:1000 "$t/sticky/mine" "$t/sticky/mine2"
	chown 0:3000 "$t/grp" "$t/sgid"
	chmod 0775 "$t/grp"
	chmod 02777 "$t/sgid"
	chmod 0777 "$t/open"
	chmod 0666 "$t/open/rootw"
}
squash_layout() { # T
	fam mkdir -m 0755 "/sq/$1" "/sq/$1/rootdir"
	fam mkdir -m 0777 "/sq/$1/open"
	fam chmod 0777 "/sq/$1/open"
	fam touch "/sq/$1/open/rootfile"
	fam chmod 0644 "/sq/$1/open/rootfile"
	mkdir -p "$vfs/sq/$1/rootdir" "$vfs/sq/$1/open"
	chmod 0755 "$vfs/sq/$1" "$vfs/sq/$1/rootdir"
	chmod 0777 "$vfs/sq/$1/open"
	touch "$vfs/sq/$1/open/rootfile"
	chmod 0644 "$vfs/sq/$1/open/rootfile"
}
fam mkdir -m 0755 /sq
mkdir -m 0755 "$vfs/sq"
# Export rules: a read-only export (/ro) and one that lets in only another client (/cl).
for d in ro cl; do
	fam mkdir -m 0777 "/$d"
	fam chmod 0777 "/$d"
	fam touch "/$d/f"
	fam chmod 0666 "/$d/f"
	mkdir -m 0777 "$vfs/$d"
	chmod 0777 "$vfs/$d"
	touch "$vfs/$d/f"
	chmod 0666 "$vfs/$d/f"
done
for v in $versions; do
	famfs_layout "t$v"
	vfs_layout "t$v"
	squash_layout "t$v"
done
# The two trees list the same (names, types, modes, owners) before any NFS client runs.
norm_mode() { awk '{m=$2; sub(/^0+/, "", m); while (length(m) < 4) m="0" m; print $1, m, $3}'; }
vfs_list=$(cd "$vfs" && find . -mindepth 1 -printf '%P %#m %U:%G\n' | sort | norm_mode)
famfs_list=$(while read -r p _; do
	"$GW" -d "$dev" stat "/$p" | awk -v p="$p" '/^ *mode:/ {m=$2} /^ *owner:/ {o=$3":"$5}
		END {print p, m, o}'
done <<< "$vfs_list" | norm_mode)
same_layout=false
[ -n "$vfs_list" ] && [ "$famfs_list" = "$vfs_list" ] && same_layout=true
check "the famfs and VFS layouts are the same" $same_layout
$same_layout || diff <(echo "$famfs_list") <(echo "$vfs_list") | head -20

# --- one ganesha.nfsd, four exports -----------------------------------------------------------
port=$(nfs_free_port) || exit 1
NFS_PORT=$port
protos=4
$have_v3 && protos="3, 4"
mkdir -p plugins
ln -s "$plugin" "$vfs_plugin" plugins/
export_block() { # id path pseudo squash fsal-block [access-type [more lines]]
	cat <<EOF
EXPORT {
	Export_Id = $1; Path = "$2"; Pseudo = "$3"; Access_Type = ${6:-RW}; Squash = $4;
	Anonymous_Uid = 4000; Anonymous_Gid = 4000;
	Protocols = $protos; Transports = TCP; SecType = sys;
	FSAL { $5 }
	${7:-}
}
EOF
}
{
	cat <<EOF
NFS_CORE_PARAM {
	Protocols = $protos; NFS_Port = $port; MNT_Port = $((port + 1)); Bind_addr = 127.0.0.1;
	Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; Mount_Path_Pseudo = true;
	Plugins_Dir = "$NFS_TMP/plugins";
}
NFSV4 { Graceless = true; Only_Numeric_Owners = true; }
FAMFS { Log_Follow_Interval_Ms = 1000; }
EOF
	export_block 1 / /famfs No_Root_Squash "Name = FAMFS; Device = \"$dev\";"
	export_block 2 "$vfs" /vfs No_Root_Squash "Name = VFS;"
	export_block 3 /sq /famfs_sq All_Squash "Name = FAMFS; Device = \"$dev\";"
	export_block 4 "$vfs/sq" /vfs_sq All_Squash "Name = VFS;"
	export_block 5 /ro /famfs_ro No_Root_Squash "Name = FAMFS; Device = \"$dev\";" RO
	export_block 6 "$vfs/ro" /vfs_ro No_Root_Squash "Name = VFS;" RO
	only="CLIENT { Clients = 127.0.0.2; Access_Type = RW; }"
	export_block 7 /cl /famfs_cl No_Root_Squash "Name = FAMFS; Device = \"$dev\";" None "$only"
	export_block 8 "$vfs/cl" /vfs_cl No_Root_Squash "Name = VFS;" None "$only"
} > ganesha.conf
out=$("$GW" serve --ganesha-conf ganesha.conf --run-dir "$NFS_TMP/run" --background 2>&1)
sup=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
check "famfs-gw serve --ganesha-conf starts" [ -n "$sup" ]
if [ -z "$sup" ]; then
	printf '%s\n' "$out" | sed 's/^/    /'
	tail -n 20 "$NFS_TMP/run/ganesha.log" 2> /dev/null | sed 's/^/    /'
	nfs_summary "nfs perm"
	exit
fi
nfs_track_pid "$sup"
for ex in famfs vfs famfs_sq vfs_sq famfs_ro vfs_ro; do
	ok=false
	for _ in $(seq 100); do
		nfs-ls "$(nfs_url "/$ex")" > /dev/null 2>&1 && { ok=true; break; }
		sleep 0.1
	done
	check "the /$ex export answers nfs-ls" $ok
done

# --- the cases -----------------------------------------------------------------------------
# outcome VAR EXPORT VERSION UID GID OP ARGS...: "allowed", "refused (ENAME)",
# "unsupported" (this client cannot do OP over this version) or "failed: ..." (no answer
# at all) into VAR; the client's output into VAR_msg.
# shellcheck disable=SC2034 # res and msg are namerefs: they set the caller's variables
outcome() {
	local -n res=$1
	local -n msg=${1}_msg
	local ex=$2 v=$3 uid=$4 gid=$5 rc; shift 5
	msg=$("$OPS" "$(nfs_url "/$ex" "$v")&uid=$uid&gid=$gid" "$@" 2>&1)
	rc=$?
	case $rc in
	0) res=allowed ;;
	1) res="refused ($(sed -n 's/^ERR \([A-Z]*\):.*/\1/p' <<< "$msg" | head -1))" ;;
	3) res=unsupported ;;
	*) res="failed: $(head -1 <<< "$msg")" ;;
	esac
}

# same V UID GID EXPECT OP ARGS... (EXPECT: allowed, EACCES or EPERM): the op on FAMFS,
# then on VFS (the squashed exports when SQ=1 is set for the call).
same() {
	local v=$1 uid=$2 gid=$3 want=$4 fx=famfs vx=vfs f v_ f_msg v__msg
	shift 4
	if [ "${SQ:-0}" = 1 ]; then fx=famfs_sq vx=vfs_sq; fi
	if [ -n "${EX:-}" ]; then fx=famfs_$EX vx=vfs_$EX; fi
	[ "$want" = allowed ] || want="refused ($want)"
	outcome f "$fx" "$v" "$uid" "$gid" "$@"
	outcome v_ "$vx" "$v" "$uid" "$gid" "$@"
	local what="v$v uid $uid gid $gid${SQ:+ (all_squash)}${EX:+ (export $EX)}: $*"
	if [ "$f" = unsupported ] && [ "$v_" = unsupported ]; then
		skip "$what: $f_msg"
	elif [ "$f" = "$v_" ] && [ "$f" = "$want" ]; then
		passes=$((passes + 1))
		echo "ok   $what: FAMFS $f = VFS $v_"
	else
		fails=$((fails + 1))
		if [ "$f" != "$v_" ]; then
			echo "FAIL $what: FAMFS $f != VFS $v_ (POSIX: $want)"
		else
			echo "FAIL $what: FAMFS $f = VFS $v_, but POSIX says $want"
		fi
		echo "    FAMFS: $f_msg"
		echo "    VFS:   $v__msg"
	fi
}

# denied V OP ARGS...: the CLIENT-restricted exports let this client in on neither side
# (NFSv4: the export is not in its pseudo file system; NFSv3: MOUNT says ACCES).
denied() {
	local v=$1 f v_ f_msg v__msg want=NFS4ERR_NOENT
	shift
	[ "$v" = 3 ] && want=MNT3ERR_ACCES
	outcome f famfs_cl "$v" 0 0 "$@"
	outcome v_ vfs_cl "$v" 0 0 "$@"
	if [ "${f//famfs_cl/EX}" = "${v_//vfs_cl/EX}" ] && [[ $f_msg == *"$want"* ]]; then
		passes=$((passes + 1))
		echo "ok   v$v (export cl, another client only): $*: FAMFS and VFS refuse the mount ($want)"
	else
		fails=$((fails + 1))
		echo "FAIL v$v (export cl): $*: FAMFS $f, VFS $v_ (want $want)"
	fi
}

# attrs V PATH WANT: "UID GID MODE" of PATH, stat as root on both exports (the squashed
# ones when SQ=1), must be equal and WANT.
attrs() {
	local v=$1 path=$2 want=$3 fx=famfs vx=vfs f v_ f_msg v__msg
	if [ "${SQ:-0}" = 1 ]; then fx=famfs_sq vx=vfs_sq; fi
	outcome f "$fx" "$v" 0 0 stat "$path"
	outcome v_ "$vx" "$v" 0 0 stat "$path"
	local what="v$v owner of $path${SQ:+ (all_squash)}"
	if [ "$f_msg" = "$v__msg" ] && [ "$f_msg" = "$want" ]; then
		passes=$((passes + 1))
		echo "ok   $what: FAMFS $f_msg = VFS $v__msg"
	else
		fails=$((fails + 1))
		echo "FAIL $what (uid gid mode): FAMFS '$f_msg', VFS '$v__msg', want '$want'"
	fi
}

for v in $versions; do
	t=t$v
	echo "--- NFSv$v"
	# libnfs 4.0 opens the file for writing before an NFSv4 chmod/chown/utimes: without
	# write permission that OPEN is what is refused (EACCES), before the SETATTR (EPERM).
	nw=EPERM
	[ "$v" = 4 ] && nw=EACCES
	# Root's 0755 directory and 0644 file: a plain user may do nothing to them.
	same "$v" 1000 1000 EACCES create "$t/rootdir/new"
	same "$v" 1000 1000 EACCES mkdir "$t/rootdir/newd"
	same "$v" 1000 1000 EACCES truncate "$t/rootdir/f" 10
	same "$v" 1000 1000 EACCES open-write "$t/rootdir/f"
	same "$v" 1000 1000 EACCES utimes-now "$t/rootdir/f"
	same "$v" 1000 1000 "$nw" utimes "$t/rootdir/f"
	same "$v" 1000 1000 "$nw" chmod 0666 "$t/rootdir/f"
	same "$v" 1000 1000 "$nw" chown 1000 1000 "$t/rootdir/f"
	same "$v" 1000 1000 EACCES rename "$t/rootdir/f" "$t/rootdir/g"
	same "$v" 1000 1000 EACCES rename "$t/rootdir/f" "$t/open/g"
	same "$v" 1000 1000 EACCES unlink "$t/rootdir/f"
	same "$v" 1000 1000 EACCES rmdir "$t/rootdir/sub"
	# The sticky directory: only the owner of the entry (or of the directory, or root).
	same "$v" 1000 1000 EPERM unlink "$t/sticky/other"
	same "$v" 1000 1000 EPERM rename "$t/sticky/other2" "$t/sticky/taken"
	same "$v" 1000 1000 EPERM rmdir "$t/sticky/otherdir"
	same "$v" 1000 1000 allowed unlink "$t/sticky/mine"
	same "$v" 1000 1000 allowed rename "$t/sticky/mine2" "$t/sticky/mine3"
	same "$v" 1000 1000 allowed create "$t/sticky/new"
	# A group-writable directory: the group's members only (the primary gid here).
	same "$v" 1000 3000 allowed create "$t/grp/g3"
	attrs "$v" "$t/grp/g3" "1000 3000 0644"
	same "$v" 1000 1000 EACCES create "$t/grp/g1"
	same "$v" 1000 1000 EACCES mkdir "$t/grp/d1"
	same "$v" 2000 3000 allowed unlink "$t/grp/g3"
	# A setgid directory: new objects take its group; new directories its setgid bit.
	same "$v" 1000 1000 allowed create "$t/sgid/x"
	attrs "$v" "$t/sgid/x" "1000 3000 0644"
	same "$v" 1000 1000 allowed mkdir "$t/sgid/d"
	attrs "$v" "$t/sgid/d" "1000 3000 2755"
	# A new object belongs to the caller; the owner may chmod but not give it away.
	same "$v" 1000 1000 allowed create "$t/open/n"
	attrs "$v" "$t/open/n" "1000 1000 0644"
	same "$v" 1000 1000 allowed mkdir "$t/open/nd"
	attrs "$v" "$t/open/nd" "1000 1000 0755"
	same "$v" 1000 1000 allowed chmod 0600 "$t/open/n"
	attrs "$v" "$t/open/n" "1000 1000 0600"
	same "$v" 1000 1000 allowed truncate "$t/open/n" 10
	same "$v" 1000 1000 allowed open-write "$t/open/n"
	same "$v" 1000 1000 allowed utimes-now "$t/open/n"
	same "$v" 1000 1000 allowed utimes "$t/open/n"
	same "$v" 1000 1000 EPERM chown 2000 1000 "$t/open/n"
	same "$v" 1000 1000 EPERM chown 1000 3000 "$t/open/n"
	same "$v" 1000 3000 "$nw" chmod 0666 "$t/open/rootfile"
	same "$v" 1000 1000 "$nw" chown 1000 1000 "$t/open/rootfile"
	same "$v" 1000 1000 EACCES open-write "$t/open/rootfile"
	# Root's 0666 file: anyone may write it and set its times to now, only its owner
	# may chmod it, give it away or set other times.
	same "$v" 1000 1000 allowed open-write "$t/open/rootw"
	same "$v" 1000 1000 allowed truncate "$t/open/rootw" 10
	same "$v" 1000 1000 allowed utimes-now "$t/open/rootw"
	same "$v" 1000 1000 EPERM utimes "$t/open/rootw"
	same "$v" 1000 1000 EPERM chmod 0600 "$t/open/rootw"
	same "$v" 1000 1000 EPERM chown 1000 1000 "$t/open/rootw"
	attrs "$v" "$t/open/rootw" "0 0 0666"
	same "$v" 1000 1000 allowed rename "$t/open/rootfile" "$t/open/moved"
	same "$v" 1000 1000 allowed unlink "$t/open/moved"
	# Root on a No_Root_Squash export may do all of it.
	same "$v" 0 0 allowed create "$t/rootdir/byroot"
	attrs "$v" "$t/rootdir/byroot" "0 0 0644"
	same "$v" 0 0 allowed truncate "$t/rootdir/f" 10
	same "$v" 0 0 allowed chmod 0600 "$t/rootdir/f"
	same "$v" 0 0 allowed chown 1000 1000 "$t/rootdir/f"
	attrs "$v" "$t/rootdir/f" "1000 1000 0600"
	same "$v" 0 0 allowed unlink "$t/sticky/other"
	same "$v" 0 0 allowed rename "$t/sticky/other2" "$t/sticky/taken"
	same "$v" 0 0 allowed rmdir "$t/rootdir/sub"
	same "$v" 0 0 allowed unlink "$t/rootdir/f"
	# All_Squash: everyone is 4000:4000, root included.
	SQ=1 same "$v" 1000 1000 allowed create "$t/open/s1"
	SQ=1 attrs "$v" "$t/open/s1" "4000 4000 0644"
	SQ=1 same "$v" 0 0 allowed create "$t/open/s0"
	SQ=1 attrs "$v" "$t/open/s0" "4000 4000 0644"
	SQ=1 same "$v" 0 0 EACCES create "$t/rootdir/x"
	# ganesha squashes the owner a SETATTR asks for too: chown 0 0 becomes 4000 4000.
	SQ=1 same "$v" 0 0 allowed chown 0 0 "$t/open/s0"
	SQ=1 attrs "$v" "$t/open/s0" "4000 4000 0644"
	# Squashed root is nobody special: root's file is not its own.
	SQ=1 same "$v" 0 0 EACCES open-write "$t/open/rootfile"
	SQ=1 same "$v" 0 0 "$nw" chmod 0666 "$t/open/rootfile"
	SQ=1 same "$v" 0 0 "$nw" chown 0 0 "$t/open/rootfile"
	SQ=1 attrs "$v" "$t/open/rootfile" "0 0 0644"
	SQ=1 same "$v" 0 0 allowed unlink "$t/open/rootfile"
	# Access_Type = RO: reads, but no change, not even by root.
	EX=ro same "$v" 0 0 allowed stat f
	EX=ro same "$v" 0 0 EROFS create "n$v"
	EX=ro same "$v" 1000 1000 EROFS mkdir "d$v"
	EX=ro same "$v" 0 0 EROFS unlink f
	EX=ro same "$v" 0 0 EROFS chmod 0600 f
	# A CLIENT block for another address only: this client gets nothing.
	denied "$v" stat f
	denied "$v" create "n$v"
done
$have_v3 || skip "NFSv3 cases: rpcbind is not available"
skip "cases with supplementary groups: libnfs 4.0 sends the primary gid only"

nfs_summary "nfs perm"
