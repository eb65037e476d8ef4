#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh - the README's run command: set up, build, make a demo device (a 4 GiB
# sparse file standing in for a CXL/devdax device) with a few sample files, and start
# the NFS gateway on it (famfs-gw serve: the packaged ganesha.nfsd with the FAMFS FSAL)
# on 127.0.0.1, then show how to reach it.
#
#   bash scripts/demo.sh [DEVICE-FILE]     (default: build/demo/famfs-demo.img)
#   environment: DEMO_PORT (default 20490)
#
# The device is made anew each run, with this host as its master (mkfs records this
# host's system UUID); a gateway left running by an earlier run is stopped first. The
# gateway keeps running in the background on DEMO_PORT; the last lines say how to stop it
# (stop it before serving config/famfs-gw.conf or config/mixed-cluster/, which use 20490).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$repo/build" --target famfs-gw fsalfamfs -j "$(nproc)" > /dev/null

gw=$repo/build/gateway/famfs-gw
dev=${1:-$repo/build/demo/famfs-demo.img}
port=${DEMO_PORT:-20490}
run_dir=$repo/build/demo/run
mkdir -p "$(dirname "$dev")"
if [ -f "$run_dir/serve.json" ]; then
	old=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j.get("pid", "") if j.get("state") == "running" else "")' "$run_dir/serve.json" 2> /dev/null || true)
	[ -n "$old" ] && kill "$old" 2> /dev/null && sleep 1
fi
rm -f "$dev"
# mkfs records this host's system UUID (/opt/famfs/system_uuid, created if missing; an
# exported FAMFS_SYSTEM_UUID wins), so this host is the demo device's master in any shell.
export FAMFS_GW_DEVICE=$dev

run() { echo "\$ famfs-gw $*"; "$gw" "$@"; echo; }

run mkfs --size 4G
run mkdir -p /docs/guides /data
run cp "$repo/README.md" "$repo/famfs-core/include/famfs/omf.h" :/docs/
head -c $((24 << 20)) /dev/urandom > "$(dirname "$dev")/sample.bin"
run cp -N 3 -B 4 -C 2M "$(dirname "$dev")/sample.bin" :/data/striped.bin
run creat -s 1M /data/a /data/b /data/c
run ls -l /
run ls -l /docs /data
run stat /data/striped.bin
echo "\$ famfs-gw cat /data/striped.bin | cmp - sample.bin"
"$gw" cat /data/striped.bin | cmp - "$(dirname "$dev")/sample.bin" && echo "identical"
echo
run info
run fsck

# NFSv3 needs rpcbind (ganesha registers with it); without it the gateway serves NFSv4.
if ! { [ -S /run/rpcbind.sock ] || pgrep -x rpcbind > /dev/null; }; then
	command -v rpcbind > /dev/null && [ "$(id -u)" -eq 0 ] && rpcbind -w 2> /dev/null || true
fi
run serve -d "$dev" --port "$port" --run-dir "$run_dir" --background
run status --run-dir "$run_dir"
url="nfs://127.0.0.1/famfs/docs?version=4&nfsport=$port"
echo "\$ nfs-ls '$url'"
nfs-ls "$url"
echo
echo "\$ nfs-cat 'nfs://127.0.0.1/famfs/docs/README.md?version=4&nfsport=$port' | head -3"
nfs-cat "nfs://127.0.0.1/famfs/docs/README.md?version=4&nfsport=$port" > "$run_dir/readme.out"
head -3 "$run_dir/readme.out"
echo
echo "The gateway serves $dev on 127.0.0.1:$port (pseudo path /famfs)."
echo "  NFS client library: nfs-ls 'nfs://127.0.0.1/famfs?version=4&nfsport=$port'"
echo "  Linux kernel client: mount -t nfs -o vers=4.1,port=$port 127.0.0.1:/famfs /mnt"
echo "  famfs side:          $gw -d $dev ls -l /docs"
echo "  CXL host (FUSE):     $gw mount $dev /mnt/famfs   (then: $gw umount /mnt/famfs)"
echo "  status:              $gw status --run-dir $run_dir"
echo "  stop:                kill \$(python3 -c 'import json; print(json.load(open(\"$run_dir/serve.json\"))[\"pid\"])')"
