#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# serve.sh - famfs-gw serve and status against the real ganesha.nfsd (label: nfs).
#
# Part 1 (the gateway's own checks, nothing started): a bad gateway config line, a
#   missing device, a device that holds no famfs, a non-master host (read-only).
# Part 2 (the serve/status machinery with the stock FSAL_VFS, so it does not depend on
#   the FAMFS FSAL): serve --ganesha-conf in the background and in the foreground,
#   status, a client connection, reads over NFSv4 and NFSv3, a busy port, a second
#   serve in the same run directory, SIGTERM through the supervisor, and ganesha dying
#   under the supervisor.
# Part 3 (the FAMFS FSAL): serve -d DEV --background, status (export, role, log
#   position), nfs-ls/nfs-cat over NFSv4 and NFSv3 compared with famfs-gw cat, stop.
#
# Environment: FAMFS_GW (the famfs-gw binary). The FAMFS plugin is found the way serve
# finds it (FAMFS_GW_PLUGIN_DIR, else the build tree next to famfs-gw).
# Last line: "nfs serve: N passed, M failed"; exit status 1 on any failure.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=nfs_env.sh
source "$here/nfs_env.sh"
cd "$NFS_TMP" || exit 1

MASTER=11111111-2222-4333-8444-555555555555
CLIENT=99999999-2222-4333-8444-555555555555
export FAMFS_SYSTEM_UUID=$MASTER
unset FAMFS_GW_DEVICE

json_get() { # file-or-"-", python expression on j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1]) if sys.argv[1] != "-" else sys.stdin); print(eval(sys.argv[2]))' "$@"
}

wait_gone() { # pid [seconds]
	local i
	for ((i = 0; i < ${2:-20} * 10; i++)); do
		kill -0 "$1" 2> /dev/null || return 0
		sleep 0.1
	done
	return 1
}

have_v3=true
if ! nfs_need_rpcbind; then
	have_v3=false
	echo "note: rpcbind is not available: NFSv3 cases are skipped"
fi

# --- a device with files ---------------------------------------------------------------
dev=$NFS_TMP/dev.img
expect_good "$GW" -d "$dev" mkfs --size 256M
expect_good "$GW" -d "$dev" mkdir -p /docs/sub
printf 'hello over NFS\n' > small.txt
head -c 100000 /dev/urandom > medium.bin
head -c $((3 << 20)) /dev/urandom > large.bin
expect_good "$GW" -d "$dev" cp small.txt medium.bin large.bin :/docs/
expect_good "$GW" -d "$dev" cp small.txt :/docs/sub/inner.txt

# --- part 1: refused before anything starts ------------------------------------------------
port=$(nfs_free_port) || exit 1
run0=$NFS_TMP/run0

printf '# a comment\nport = %s\nfrobnicate\n[export a]\ndevice = %s\n' "$port" "$dev" > bad1.conf
expect_fail "serve: bad1.conf:3: expected 'key = value'" "$GW" serve --config bad1.conf --run-dir "$run0"
"$GW" serve --config bad1.conf --run-dir "$run0" > /dev/null 2>&1
check "a bad config line exits 2" [ $? -eq 2 ]
printf 'port = 99999\n[export a]\ndevice = %s\n' "$dev" > bad2.conf
expect_fail "bad2.conf:1: port '99999' is not a number" "$GW" serve --config bad2.conf
printf '[export a]\ndevice = %s\naccess = sometimes\n' "$dev" > bad3.conf
expect_fail "bad3.conf:3: access 'sometimes' must be rw or ro" "$GW" serve --config bad3.conf
printf '[export a]\nport = 1234\n' > bad4.conf
expect_fail "bad4.conf:2: 'port' is a global setting" "$GW" serve --config bad4.conf
printf 'device = %s\n' "$dev" > bad5.conf
expect_fail "bad5.conf:1: 'device' belongs in an \[export NAME\] section" "$GW" serve --config bad5.conf
printf '[export a]\npath = /\n' > bad6.conf
expect_fail "bad6.conf:1: export 'a' has no device" "$GW" serve --config bad6.conf
printf '[export a]\ndevice = %s\n[export a]\ndevice = %s\n' "$dev" "$dev" > bad7.conf
expect_fail "bad7.conf:3: export 'a' is defined twice" "$GW" serve --config bad7.conf
printf '[exports]\n' > bad8.conf
expect_fail "bad8.conf:1: unknown section" "$GW" serve --config bad8.conf

expect_fail "missing.img: No such file" "$GW" serve -d missing.img --port "$port" --run-dir "$run0"
check "no ganesha was started for a missing device" [ ! -e "$run0/ganesha.log" ]
truncate -s 64M zeros.img
expect_fail "zeros.img: not a usable famfs" "$GW" serve -d zeros.img --port "$port" --run-dir "$run0"
expect_fail "export path '/nope' does not exist" "$GW" serve -d "$dev" --path /nope --port "$port" --run-dir "$run0"
expect_fail "nothing to serve" "$GW" serve --run-dir "$run0"
expect_fail "either --config or --ganesha-conf" "$GW" serve --config a --ganesha-conf b
expect_fail "not running" "$GW" status --run-dir "$run0"
"$GW" status --run-dir "$run0" > /dev/null 2>&1
check "status exits 3 when nothing runs" [ $? -eq 3 ]

# A host that is not the master serves read-only, and says so.
expect_fail "fake-plugin/libfsalfamfs.so not found" \
	"$GW" serve -d "$dev" --port "$port" --run-dir "$NFS_TMP/run-client" --dry-run \
	--plugin-dir "$NFS_TMP/fake-plugin"
mkdir -p fake-plugin && : > fake-plugin/libfsalfamfs.so
FAMFS_SYSTEM_UUID=$CLIENT expect_out "not the master: read-only" \
	"$GW" serve -d "$dev" --port "$port" --run-dir "$NFS_TMP/run-client" --dry-run \
	--plugin-dir "$NFS_TMP/fake-plugin"
expect_out "Access_Type = RO" cat "$NFS_TMP/run-client/ganesha.conf"
expect_out "master: read-write" \
	"$GW" serve -d "$dev" --port "$port" --run-dir "$NFS_TMP/run-master" --dry-run \
	--plugin-dir "$NFS_TMP/fake-plugin"
expect_out "Access_Type = RW" cat "$NFS_TMP/run-master/ganesha.conf"
expect_out "Plugins_Dir = \"$NFS_TMP/run-master\"" cat "$NFS_TMP/run-master/ganesha.conf"
check "the run dir links the FAMFS plugin" [ -L "$NFS_TMP/run-master/libfsalfamfs.so" ]
check "the run dir links the stock FSAL_VFS" [ -L "$NFS_TMP/run-master/libfsalvfs.so" ]

# --- part 2: the machinery, with an FSAL_VFS export --------------------------------------
mkdir -p vfsdir && cp small.txt medium.bin vfsdir/
vport=$(nfs_free_port) || exit 1
protocols="3, 4"
$have_v3 || protocols=4
cat > vfs.conf <<EOF
NFS_CORE_PARAM {
	Protocols = $protocols; NFS_Port = $vport; MNT_Port = $((vport + 1));
	Bind_addr = 127.0.0.1; Enable_NLM = false; Enable_RQUOTA = false;
	Enable_UDP = false; Mount_Path_Pseudo = true;
}
NFSV4 { Graceless = true; Only_Numeric_Owners = true; }
EXPORT {
	Export_Id = 7; Path = "$NFS_TMP/vfsdir"; Pseudo = "/vfs"; Access_Type = RW;
	Squash = No_Root_Squash; Protocols = $protocols; Transports = TCP; SecType = sys;
	FSAL { Name = VFS; }
}
EOF
vrun=$NFS_TMP/vrun
NFS_PORT=$vport
"$GW" serve --ganesha-conf vfs.conf --run-dir "$vrun" --background > bg.out 2> bg.err
rc=$?
check "serve --ganesha-conf --background starts (rc=$rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/    /' bg.err
sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' bg.out)
[ -n "$sup" ] && nfs_track_pid "$sup"
check "serve prints the supervisor pid" [ -n "$sup" ]
expect_out "nfs-ls 'nfs://127.0.0.1/vfs\?version=4&nfsport=$vport'" cat bg.out
expect_out "mount -t nfs -o vers=4.1,port=$vport 127.0.0.1:/vfs /mnt" cat bg.out
check "the port accepts connections" nfs_port_open "$vport"
expect_out "^famfs-gw: running" "$GW" status --run-dir "$vrun"
expect_out "export 7: /vfs -> VFS $NFS_TMP/vfsdir" "$GW" status --run-dir "$vrun"
"$GW" status --run-dir "$vrun" --json > st.json
check "status --json: running" [ "$(json_get st.json 'j["running"]')" = True ]
check "status --json: the export" [ "$(json_get st.json 'j["exports"][0]["pseudo"]')" = /vfs ]
exec 7<> "/dev/tcp/127.0.0.1/$vport"
"$GW" status --run-dir "$vrun" --json > st.json
check "status counts a connected client" [ "$(json_get st.json 'j["clients"]')" -ge 1 ]
exec 7>&-
expect_good cmp <(nfs-cat "$(nfs_url /vfs/medium.bin)") medium.bin
if $have_v3; then
	expect_good cmp <(nfs-cat "$(nfs_url /vfs/medium.bin 3)") medium.bin
else
	skip "NFSv3 read from the VFS export"
fi
expect_fail "port $vport on 127.0.0.1 is not free" \
	"$GW" serve --ganesha-conf vfs.conf --run-dir "$NFS_TMP/vrun2"
expect_fail "already runs in $vrun" "$GW" serve --ganesha-conf vfs.conf --run-dir "$vrun"
gpid=$(json_get "$vrun/serve.json" 'j["ganesha_pid"]')
# The allocator settings ganesha runs fastest with reach it (and config/ ships the same).
check "ganesha runs with MALLOC_MMAP_THRESHOLD_=4194304" \
	grep -qz '^MALLOC_MMAP_THRESHOLD_=4194304$' "/proc/$gpid/environ"
check "ganesha runs with MALLOC_TRIM_THRESHOLD_=1073741824" \
	grep -qz '^MALLOC_TRIM_THRESHOLD_=1073741824$' "/proc/$gpid/environ"
dropin=$here/../../config/nfs-ganesha.service.d/famfs.conf
check "the systemd drop-in sets the same" bash -c "grep -q '^Environment=MALLOC_MMAP_THRESHOLD_=4194304\$' '$dropin' && grep -q '^Environment=MALLOC_TRIM_THRESHOLD_=1073741824\$' '$dropin'"
if command -v systemd-analyze > /dev/null && [ -e /lib/systemd/system/nfs-ganesha.service ]; then
	mkdir -p units/nfs-ganesha.service.d
	cp /lib/systemd/system/nfs-ganesha.service units/
	cp "$dropin" units/nfs-ganesha.service.d/
	systemd-analyze verify units/nfs-ganesha.service > verify.out 2>&1
	check "systemd-analyze verify: the drop-in parses cleanly" bash -c \
		"! grep -i 'famfs.conf' verify.out"
	grep -i 'famfs.conf' verify.out | sed 's/^/    /'
else
	skip "systemd-analyze or nfs-ganesha.service missing: the drop-in is not verified"
fi
if [ -n "$sup" ]; then
	kill -TERM "$sup"
	check "SIGTERM stops the supervisor" wait_gone "$sup" 20
	check "and ganesha" wait_gone "$gpid" 5
	check "serve.json says stopped" [ "$(json_get "$vrun/serve.json" 'j["state"]')" = stopped ]
	check "ganesha exited with 0" [ "$(json_get "$vrun/serve.json" 'j["exit_status"]')" = 0 ]
	expect_out "NFS EXIT: regular exit" cat "$vrun/ganesha.log"
	expect_fail "not running: stopped" "$GW" status --run-dir "$vrun"
fi

# Foreground: SIGTERM to serve -> clean exit 0; SIGKILL to ganesha -> non-zero and the log.
"$GW" serve --ganesha-conf vfs.conf --run-dir "$vrun" > fg.out 2> fg.err &
fg=$!
nfs_track_pid "$fg"
check "foreground serve opens the port" nfs_wait_port "$vport" 25
for _ in $(seq 50); do [ "$(json_get "$vrun/serve.json" 'j["state"]' 2>/dev/null)" = running ] && break; sleep 0.1; done
kill -TERM "$fg"
wait "$fg"
rc=$?
check "foreground serve exits 0 after SIGTERM (rc=$rc)" [ $rc -eq 0 ]
expect_out "stopped on signal 15 \(exit status 0\)" cat fg.err
"$GW" serve --ganesha-conf vfs.conf --run-dir "$vrun" > fg.out 2> fg.err &
fg=$!
nfs_track_pid "$fg"
nfs_wait_port "$vport" 25
for _ in $(seq 50); do [ "$(json_get "$vrun/serve.json" 'j["state"]' 2>/dev/null)" = running ] && break; sleep 0.1; done
kill -KILL "$(json_get "$vrun/serve.json" 'j["ganesha_pid"]')"
wait "$fg"
rc=$?
check "serve exits non-zero when ganesha dies (rc=$rc)" [ $rc -ne 0 ]
expect_out "died unexpectedly" cat fg.err
expect_out "last lines of .*ganesha.log" cat fg.err

# --- part 3: the FAMFS FSAL ------------------------------------------------------------------
port=$(nfs_free_port) || exit 1
NFS_PORT=$port
run=$NFS_TMP/run
"$GW" serve -d "$dev" --port "$port" --background --run-dir "$run" > bg.out 2> bg.err
rc=$?
check "serve -d DEV --background starts (rc=$rc)" [ $rc -eq 0 ]
if [ $rc -ne 0 ]; then
	sed 's/^/    /' bg.out bg.err | head -40
else
	sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' bg.out)
	nfs_track_pid "$sup"
	expect_out "master: read-write" cat bg.out
	expect_out "^famfs-gw: running" "$GW" status --run-dir "$run"
	expect_out "export 1: /famfs -> FAMFS / \(rw\)" "$GW" status --run-dir "$run"
	expect_out "device $dev, role master" "$GW" status --run-dir "$run"
	"$GW" status --run-dir "$run" --json > st.json
	check "status: role master" [ "$(json_get st.json 'j["exports"][0]["role"]')" = master ]
	check "status: the device" [ "$(json_get st.json 'j["exports"][0]["device"]')" = "$dev" ]
	logpos=$("$GW" -d "$dev" info --json | json_get - 'j.get("log",{}).get("next_index", "")' 2>/dev/null)
	check "status: the log position" [ "$(json_get st.json 'j["exports"][0]["log_next_index"]')" -ge 5 ]
	[ -n "$logpos" ] && check "status: the log position is the device's" \
		[ "$(json_get st.json 'j["exports"][0]["log_next_index"]')" = "$logpos" ]
	versions=4
	if $have_v3; then versions="4 3"; else skip "NFSv3 on the FAMFS export"; fi
	for v in $versions; do
		nfs-ls "$(nfs_url /famfs/docs "$v")" > ls.out 2> ls.err
		check "nfs-ls v$v lists /docs" grep -q 'large.bin' ls.out
		check "nfs-ls v$v: sizes" grep -Eq " $((3 << 20)) +large.bin" ls.out
		names=$(awk '{print $NF}' ls.out | grep -v '^\.\.\?$' | sort | tr '\n' ' ')
		want=$("$GW" -d "$dev" ls /docs | sed 's,/$,,' | sort | tr '\n' ' ')
		check "nfs-ls v$v names = famfs-gw ls ($names / $want)" [ "$names" = "$want" ]
		for f in small.txt medium.bin large.bin sub/inner.txt; do
			expect_good cmp <(nfs-cat "$(nfs_url "/famfs/docs/$f" "$v")") \
				<("$GW" -d "$dev" cat "/docs/$f")
		done
	done
	# A sub-directory export, read-only, on another pseudo path: serve -d --path.
	kill -TERM "$sup"
	check "SIGTERM stops the FAMFS gateway" wait_gone "$sup" 20
	check "clean exit" [ "$(json_get "$run/serve.json" 'j["exit_status"]')" = 0 ]
	"$GW" serve -d "$dev" --path /docs/sub --pseudo /inner --read-only --port "$port" \
		--background --run-dir "$run" > bg.out 2> bg.err
	rc=$?
	check "serve --path --pseudo --read-only starts (rc=$rc)" [ $rc -eq 0 ]
	if [ $rc -eq 0 ]; then
		sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' bg.out)
		nfs_track_pid "$sup"
		expect_out "inner.txt" nfs-ls "$(nfs_url /inner)"
		expect_good cmp <(nfs-cat "$(nfs_url /inner/inner.txt)") small.txt
		expect_out "export 1: /inner -> FAMFS /docs/sub \(ro\)" "$GW" status --run-dir "$run"
		kill -TERM "$sup"
		check "stop" wait_gone "$sup" 20
	fi
	expect_fail "not running" "$GW" status --run-dir "$run"

	# The shipped samples, with this test's paths and ports put in by sed.
	conf_dir=$here/../../config
	plug=$NFS_TMP/plugins
	mkdir -p "$plug" "$NFS_TMP/build/demo"
	plugin_dir=${FAMFS_GW_PLUGIN_DIR:-$(dirname "$GW")/../fsal_famfs}
	ln -sf "$(realpath "$plugin_dir/libfsalfamfs.so")" "$plug/libfsalfamfs.so"
	ln -sf /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so "$plug/libfsalvfs.so"
	cp --sparse=always "$dev" "$NFS_TMP/build/demo/famfs-demo.img"
	cp --sparse=always "$dev" "$NFS_TMP/famfs-b.img"
	proto_sed='s/Protocols = 3, 4;/Protocols = 3, 4;/'
	$have_v3 || proto_sed='s/Protocols = 3, 4;/Protocols = 4;/'
	for sample in single multi; do
		sed -e "s#/var/lib/famfs-gw/famfs.img#$dev#; s#/var/lib/famfs-gw/famfs-a.img#$dev#" \
		    -e "s#/var/lib/famfs-gw/famfs-b.img#$NFS_TMP/famfs-b.img#" \
		    -e "s#/usr/lib/x86_64-linux-gnu/ganesha#$plug#" \
		    -e "s/= 20490;/= $port;/; s/= 20491;/= $((port + 1));/" -e "$proto_sed" \
		    "$conf_dir/ganesha-famfs-$sample.conf" > "$sample.conf"
		[ "$sample" = multi ] && "$GW" -d "$dev" mkdir -p /projects > /dev/null
		"$GW" serve --ganesha-conf "$sample.conf" --background --run-dir "$run" > bg.out 2> bg.err
		rc=$?
		check "sample ganesha-famfs-$sample.conf serves (rc=$rc)" [ $rc -eq 0 ]
		[ $rc -eq 0 ] || { sed 's/^/    /' bg.err | head -30; continue; }
		sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' bg.out)
		nfs_track_pid "$sup"
		if [ "$sample" = single ]; then
			expect_good cmp <(nfs-cat "$(nfs_url /famfs/docs/medium.bin)") medium.bin
		else
			expect_good cmp <(nfs-cat "$(nfs_url /famfs/a/docs/medium.bin)") medium.bin
			expect_good cmp <(nfs-cat "$(nfs_url /famfs/b/docs/small.txt)") small.txt
			expect_out "export 3: /projects -> FAMFS /projects" "$GW" status --run-dir "$run"
		fi
		kill -TERM "$sup"
		check "sample $sample stops" wait_gone "$sup" 20
	done
	# config/famfs-gw.conf as shipped (its relative device path, from this directory).
	sed "s/^port = 20490/port = $port/" "$conf_dir/famfs-gw.conf" > gw.conf
	FAMFS_GW_PLUGIN_DIR=$plug "$GW" serve --config gw.conf --background --run-dir "$run" \
		> bg.out 2> bg.err
	rc=$?
	check "sample famfs-gw.conf serves (rc=$rc)" [ $rc -eq 0 ]
	if [ $rc -eq 0 ]; then
		sup=$(sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p' bg.out)
		nfs_track_pid "$sup"
		expect_good cmp <(nfs-cat "$(nfs_url /famfs/docs/small.txt)") small.txt
		expect_out "device $NFS_TMP/build/demo/famfs-demo.img" "$GW" status --run-dir "$run"
		kill -TERM "$sup"
		check "sample famfs-gw.conf stops" wait_gone "$sup" 20
	else
		sed 's/^/    /' bg.err | head -30
	fi
fi

nfs_summary "nfs serve"
