#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# cxl-host-mount.sh [DEVICE] [MOUNTPOINT] - mount famfs on a host attached to the CXL
# memory of a mixed cluster (see README.md next to this file).
#
# DEVICE defaults to $FAMFS_GW_DEVICE, else /dev/dax0.0; MOUNTPOINT to /mnt/famfs.
# On the famfs master the mount is read-write, on every other host read-only. Changes
# other hosts log appear within --follow-ms. Messages go to $FAMFS_MOUNT_LOG (default
# /var/log/famfs-gw-mount.log when writable, else syslog). Stop with
# 'famfs-gw umount MOUNTPOINT'. FAMFS_GW names the famfs-gw binary (default: the
# repository's build, else famfs-gw on PATH).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gw=${FAMFS_GW:-$here/../../build/gateway/famfs-gw}
[ -x "$gw" ] || gw=famfs-gw
dev=${1:-${FAMFS_GW_DEVICE:-/dev/dax0.0}}
mnt=${2:-/mnt/famfs}
log=${FAMFS_MOUNT_LOG:-/var/log/famfs-gw-mount.log}
mkdir -p "$mnt"
if touch "$log" 2> /dev/null; then
	exec "$gw" mount --follow-ms 1000 --log "$log" "$dev" "$mnt"
fi
exec "$gw" mount --follow-ms 1000 "$dev" "$mnt"
