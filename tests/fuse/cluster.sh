#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# cluster.sh - the shipped mixed-cluster example (config/mixed-cluster/) works as shipped
# (labels: fuse, nfs).
#
# From a scratch directory that holds build/demo/famfs-demo.img (as scripts/demo.sh
# makes it, with /docs), as the famfs master: gateway.conf (only its port changed) is
# served with famfs-gw serve --config; cxl-host-mount.sh mounts the same device with
# FUSE; a file made in the mount shows in both exports over NFS (libnfs), and a file made
# over NFS shows in the mount, each within about a second; then cxl-host-mount.sh as
# another host gives a read-only mount that sees the same files. nfs-client.fstab's
# lines parse as fstab entries, and famfs-gw-mount.service names an ExecStart that
# famfs-gw accepts.
# Environment: FAMFS_GW (the binary). Needs root, /dev/fuse, ganesha.nfsd, libnfs-utils.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../nfs/nfs_env.sh
source "$here/../nfs/nfs_env.sh"
conf=$here/../../config/mixed-cluster
GW=$(realpath "$GW")
export FAMFS_GW=$GW
export FAMFS_SYSTEM_UUID=c1c1c1c1-0000-4000-8000-00000000a11a
OTHER=c1c1c1c1-0000-4000-8000-00000000b22b
unset FAMFS_GW_DEVICE
cd "$NFS_TMP" || exit 1
mnt=$NFS_TMP/mnt
ro=$NFS_TMP/ro
mounts_cleanup() {
	for m in "$mnt" "$ro"; do
		mountpoint -q "$m" 2> /dev/null && { "$GW" umount "$m" > /dev/null 2>&1 || umount -l "$m"; }
	done
}
trap 'mounts_cleanup; nfs_cleanup' EXIT

# within SECS CMD...: poll until CMD succeeds
within() {
	local limit=$1 t0
	shift
	t0=$(date +%s%N)
	while ! "$@" > /dev/null 2>&1; do
		[ $((($(date +%s%N) - t0) / 1000000000)) -ge "$limit" ] && return 1
		sleep 0.05
	done
	echo "    (after $((($(date +%s%N) - t0) / 1000000)) ms)"
}

dev=build/demo/famfs-demo.img
mkdir -p build/demo
expect_good "$GW" -d "$dev" mkfs --size 2G
expect_good "$GW" -d "$dev" mkdir -p /docs
echo "shipped" > small.txt
expect_good "$GW" -d "$dev" cp small.txt :/docs/

port=$(nfs_free_port) || exit 1
NFS_PORT=$port
sed "s/^port = 20490/port = $port/" "$conf/gateway.conf" > gateway.conf
"$GW" serve --config gateway.conf --protocols 4 --background --run-dir "$NFS_TMP/run" \
	> serve.out 2> serve.err
rc=$?
check "gateway.conf as shipped serves (rc=$rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { sed 's/^/    /' serve.err | head -20; nfs_summary "mixed-cluster config"; exit 1; }
sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' serve.out)
nfs_track_pid "$sup"
expect_good cmp <(nfs-cat "$(nfs_url /famfs/docs/small.txt)") small.txt
expect_good cmp <(nfs-cat "$(nfs_url /famfs-docs/small.txt)") small.txt

FAMFS_MOUNT_LOG=$NFS_TMP/mount.log expect_good sh "$conf/cxl-host-mount.sh" "$dev" "$mnt"
check "cxl-host-mount.sh mounted read-write (master)" [ -f "$mnt/docs/small.txt" ]
echo "from the CXL host" > "$mnt/docs/cxl.txt"
nfs_sees() { nfs-cat "$(nfs_url "$1")" 2> /dev/null | grep -q "$2"; }
check "a file made in the FUSE mount reaches the NFS export" \
	within 5 nfs_sees /famfs/docs/cxl.txt 'from the CXL host'
check "and the read-only docs export" within 5 nfs_sees /famfs-docs/cxl.txt 'from the CXL host'
expect_good nfs-cp small.txt "$(nfs_url /famfs/docs/via-nfs.txt)"
check "a file made over NFS reaches the FUSE mount" within 5 cmp small.txt "$mnt/docs/via-nfs.txt"

FAMFS_SYSTEM_UUID=$OTHER FAMFS_MOUNT_LOG=$NFS_TMP/ro.log expect_good sh "$conf/cxl-host-mount.sh" "$dev" "$ro"
check "another CXL host's mount is read-only" [ "$(grep " $ro " /proc/mounts | grep -c '[ ,]ro[ ,]')" = 1 ]
expect_good cmp "$ro/docs/cxl.txt" "$mnt/docs/cxl.txt"
expect_fail "Read-only file system" touch "$ro/docs/new"
expect_good "$GW" umount "$ro"
expect_good "$GW" umount "$mnt"

# nfs-client.fstab: six fields per line, nfs4, the pseudo paths gateway.conf exports.
check "nfs-client.fstab lines are fstab entries of gateway.conf's exports" [ \
	"$(grep -v '^#' "$conf/nfs-client.fstab" | awk 'NF && (NF != 6 || $3 != "nfs4") {bad++} END {print bad+0}')" = 0 ]
for p in $(grep -v '^#' "$conf/nfs-client.fstab" | awk 'NF {sub(/^[^:]*:/, "", $1); print $1}'); do
	expect_good grep -q "^pseudo = $p\$" "$conf/gateway.conf"
done
# famfs-gw-mount.service: its ExecStart options are ones famfs-gw mount takes.
opts=$(sed -n 's#^ExecStart=[^ ]*famfs-gw mount \(.*\) /dev/dax0.0 /mnt/famfs$#\1#p' \
	"$conf/famfs-gw-mount.service")
check "famfs-gw-mount.service has an ExecStart" [ -n "$opts" ]
# shellcheck disable=SC2086 # the options are words
expect_fail "cannot open famfs" "$GW" mount $opts "$NFS_TMP/small.txt" "$mnt"

kill -TERM "$sup"
for _ in $(seq 100); do kill -0 "$sup" 2> /dev/null || break; sleep 0.2; done
check "the gateway stops" [ "$(kill -0 "$sup" 2> /dev/null && echo running || echo gone)" = gone ]
nfs_summary "mixed-cluster config"
