#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh [PYNFS_DIR] - run the NFSv4 conformance suite pynfs against the FAMFS FSAL and
# the packaged FSAL_VFS, side by side in one ganesha.nfsd, and compare them. Run by hand
# (not part of ctest): pynfs is not in this repository, and a full run takes about 45
# minutes (suite 4.0 about 12 minutes per export, mostly waiting out leases; 4.1 and 4.2
# about 3-4 minutes each).
#
#   git clone https://github.com/kofemann/pynfs /tmp/pynfs   # outside this repository
#   apt-get install -y python3-ply && (cd /tmp/pynfs && python3 setup.py build)
#   bash tests/pynfs/run.sh /tmp/pynfs
#
# What it does: makes a famfs device file (famfs-gw mkfs --size 8G --no-upstream, so the
# space pynfs frees is reused; on /dev/shm, else $TMPDIR; this host is its master) and an
# empty directory on a tmpfs (/dev/shm) for VFS, starts one ganesha.nfsd with 'famfs-gw
# serve --ganesha-conf' exporting them as /famfs (FSAL FAMFS) and /vfs (FSAL VFS), both
# Access_Type = RW, Squash = No_Root_Squash, Protocols = 4, on 127.0.0.1 only (a free port
# in 20900-20999), Lease_Lifetime = 20 s (pynfs waits out leases). Then, for each export
# in turn:
#   nfs4.0/testserver.py 127.0.0.1:PORT/EX --maketree all                    (suite 4.0)
#   nfs4.1/testserver.py 127.0.0.1:PORT/EX --maketree --minorversion 1 all   (4.1)
#   nfs4.1/testserver.py 127.0.0.1:PORT/EX --maketree --minorversion 2 all   (4.2)
# (both make EX/tmp and EX/tree), each bounded by PYNFS_TIMEOUT seconds, its output saved
# as RESULTS/SUITE-EX.txt. When ganesha dies during a run, its log is kept as
# RESULTS/ganesha-died-SUITE-EX.log and it is restarted for the next run.
# It prints one table (suite | FAMFS passed/failed/skipped | VFS passed/failed/skipped, from
# pynfs's "Of those: X Skipped, Y Failed, Z Warned, W Passed" line; warned = passed with a
# remark; skipped includes the tests pynfs did not run because a test they depend on did
# not pass), the tests that pass on VFS but fail on FAMFS with pynfs's message, the tests
# that pass on VFS and are not passed on FAMFS (the skipped ones as one line per
# dependency), and the reverse (fail on VFS, pass on FAMFS).
# The same report is saved as RESULTS/summary.txt. Exit status: 0 when no test passes on
# VFS and fails on FAMFS, 1 otherwise, 2 when it could not run.
#
# Arguments and environment:
#   PYNFS_DIR       the built pynfs tree (or the first argument)
#   FAMFS_GW        the famfs-gw binary (default: build/gateway/famfs-gw in this repository);
#                   the FAMFS plugin is taken from FAMFS_GW_PLUGIN_DIR, else ../fsal_famfs
#                   next to it, as 'famfs-gw serve' does
#   PYNFS_RESULTS   where the outputs go (default: a new ${TMPDIR:-/tmp}/famfs-pynfs.XXXXXX,
#                   kept after the run)
#   PYNFS_SUITES    which suites (default "4.0 4.1 4.2")
#   PYNFS_EXPORTS   which exports (default "famfs vfs")
#   PYNFS_TESTS     test codes, flags and options given to testserver.py (default "all";
#                   e.g. "--rundeps access setattr" or "all noLOCK1"; the two suites have
#                   different flags: testserver.py --showflags); tests not asked for are
#                   not counted
#   PYNFS_TIMEOUT   seconds per testserver.py run (default 1200)
#   PYNFS_PYTHON    the python interpreter (default python3)
# "run.sh --report RESULTS" prints that report again from the outputs saved in RESULTS.
# Needs root (ganesha.nfsd and FSAL_VFS). Traffic: 127.0.0.1 only.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage() {
	echo "usage: [FAMFS_GW=...] tests/pynfs/run.sh PYNFS_DIR (or PYNFS_DIR=...)" >&2
	echo "       tests/pynfs/run.sh --report RESULTS" >&2
	exit 2
}
python=${PYNFS_PYTHON:-python3}
# --- the comparison (python, parsing what testserver.py printed) ---------------------------
compare() { # RESULTS SUITES: the table and the lists, from the saved outputs
"$python" - "$1" "$2" << 'PY'
import os, re, sys

results, suites = sys.argv[1], sys.argv[2].split()
line_re = re.compile(r"^(\S+)\s+(st_\S+)\s+: (.+?)\s*$")

def parse(path):
    """{code: (name, result, message)} and the 'Of those' counts of one output."""
    tests, counts, cur = {}, None, None
    if not os.path.exists(path):
        return None, None
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.match(line)
            if m:
                cur = m.group(1)
                tests[cur] = [m.group(2), m.group(3), []]
                continue
            m = re.match(r"Of those: (\d+) Skipped, (\d+) Failed, (\d+) Warned, (\d+) Passed", line)
            if m:
                counts = tuple(int(x) for x in m.groups())
                cur = None
            elif line.startswith("*****"):
                cur = None
            elif cur and line.startswith("          "):
                tests[cur][2].append(line.strip())
            else:
                cur = None
    return {c: (n, r, " ".join(msg)) for c, (n, r, msg) in tests.items()}, counts

def cell(counts, path):
    if counts is None:
        return "no summary (see %s)" % os.path.basename(path)
    sk, fa, wa, pa = counts
    s = "%d/%d/%d" % (pa + wa, fa, sk)
    return s + (" (%d warned)" % wa if wa else "")

good = ("PASS", "WARNING")
rows, worse, skipped, better = [], [], [], []
for s in suites:
    pf, pv = ("%s/%s-%s.txt" % (results, s, e) for e in ("famfs", "vfs"))
    tf, cf = parse(pf)
    tv, cv = parse(pv)
    rows.append((s, cell(cf, pf), cell(cv, pv)))
    if tf is None or tv is None:
        continue
    for code in sorted(set(tf) | set(tv)):
        rf = tf.get(code, ("", "not run", ""))
        rv = tv.get(code, ("", "not run", ""))
        name = rf[0] or rv[0]
        if rv[1] in good and rf[1] == "FAILURE":
            worse.append((s, code, name, rf[2]))
        elif rv[1] in good and rf[1] not in good:
            skipped.append((s, code, name, rf[1] + (": " + rf[2] if rf[2] else "")))
        elif rv[1] == "FAILURE" and rf[1] in good:
            better.append((s, code, name, rv[2]))

print("suite | FAMFS passed/failed/skipped | VFS passed/failed/skipped")
for r in rows:
    print("%-5s | %-27s | %s" % r)

def show(title, items, total=None):
    print("\n%s: %d" % (title, len(items) if total is None else total))
    for s, code, name, msg in items:
        print("  %s %-10s %-50s %s" % (s, code, name, msg[:300]))

show("pass on VFS, FAIL on FAMFS", worse)
# tests skipped because a test they depend on did not pass: one line per dependency
omitted, rest = {}, []
for s, code, name, msg in skipped:
    m = re.match(r"OMIT: Dependency (\S+)", msg)
    if m:
        omitted.setdefault((s, m.group(1)), []).append(code)
    else:
        rest.append((s, code, name, msg))
show("pass on VFS, not passed (skipped/not run) on FAMFS", rest, len(skipped))
for (s, dep), codes in sorted(omitted.items()):
    print("  %s skipped, as %s did not pass: %s" % (s, dep, " ".join(codes)))
show("FAIL on VFS, pass on FAMFS", better)
sys.exit(1 if worse else 0)
PY
}

case ${1:-} in
-h | --help) usage ;;
--report)
	if [ $# -ne 2 ] || [ ! -d "$2" ]; then usage; fi
	have=
	for s in 4.0 4.1 4.2; do
		if [ -e "$2/$s-famfs.txt" ] || [ -e "$2/$s-vfs.txt" ]; then have+="$s "; fi
	done
	compare "$2" "$have"
	exit
	;;
esac
[ $# -le 1 ] || usage
pynfs=${1:-${PYNFS_DIR:-}}
[ -n "$pynfs" ] || usage
pynfs=$(cd "$pynfs" 2> /dev/null && pwd) || { echo "pynfs: $1: no such directory" >&2; exit 2; }
gw=${FAMFS_GW:-$repo/build/gateway/famfs-gw}
[ -x "$gw" ] || { echo "pynfs: $gw is missing (build it, or set FAMFS_GW)" >&2; exit 2; }
gw=$(realpath "$gw")
plugin=$(realpath "${FAMFS_GW_PLUGIN_DIR:-$(dirname "$gw")/../fsal_famfs}/libfsalfamfs.so" 2> /dev/null)
vfs_plugin=/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so
suites=${PYNFS_SUITES:-4.0 4.1 4.2}
exports=${PYNFS_EXPORTS:-famfs vfs}
read -ra tests <<< "${PYNFS_TESTS:-all}"
limit=${PYNFS_TIMEOUT:-1200}
for f in "$plugin" "$vfs_plugin" "$pynfs/nfs4.0/testserver.py" "$pynfs/nfs4.1/testserver.py"; do
	[ -e "$f" ] || { echo "pynfs: ${f:-libfsalfamfs.so} is missing" >&2; exit 2; }
done
[ -e "$pynfs/nfs4.0/xdrdef/nfs4_pack.py" ] ||
	{ echo "pynfs: $pynfs is not built (python3 setup.py build, which needs python3-ply)" >&2; exit 2; }
for s in $suites; do
	case $s in 4.0 | 4.1 | 4.2) ;; *) echo "pynfs: PYNFS_SUITES: $s is not 4.0, 4.1 or 4.2" >&2; exit 2 ;; esac
done
for e in $exports; do
	case $e in famfs | vfs) ;; *) echo "pynfs: PYNFS_EXPORTS: $e is not famfs or vfs" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "pynfs: needs root (ganesha.nfsd, FSAL_VFS)" >&2; exit 2; }

if [ -n "${PYNFS_RESULTS:-}" ]; then
	results=$PYNFS_RESULTS
	mkdir -p "$results" || exit 2
else
	results=$(mktemp -d "${TMPDIR:-/tmp}/famfs-pynfs.XXXXXX") || exit 2
fi
results=$(cd "$results" && pwd)
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$shm/famfs-pynfs.XXXXXX") || exit 2
export FAMFS_SYSTEM_UUID=c4c4c4c4-0000-4000-8000-00000000c4c4 # this host: the master
unset FAMFS_GW_DEVICE
sup='' gpid=''
stop_gateway() {
	[ -n "$sup" ] || return 0
	kill -TERM "$sup" 2> /dev/null
	for _ in $(seq 150); do kill -0 "$sup" 2> /dev/null || break; sleep 0.1; done
	kill -KILL "$sup" 2> /dev/null
	[ -n "$gpid" ] && kill -KILL "$gpid" 2> /dev/null
	sup='' gpid=''
}
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	stop_gateway
	[ -f "$tmp/run/ganesha.log" ] && cp "$tmp/run/ganesha.log" "$results/ganesha.log"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
port_listened() { grep -qi ":$(printf '%04X' "$1") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2> /dev/null; }

# --- the famfs device and the VFS directory -----------------------------------------------
dev=$tmp/famfs.img
vfs=$tmp/vfs
mkdir -m 0755 "$vfs" || exit 2
"$gw" -d "$dev" mkfs --size 8G --no-upstream > /dev/null || { echo "pynfs: mkfs failed" >&2; exit 2; }

# --- one ganesha, two exports -------------------------------------------------------------
port=
for _ in $(seq 50); do
	p=$((20900 + RANDOM % 99))
	if ! port_open $p && ! port_open $((p + 1)) && ! port_listened $p && ! port_listened $((p + 1)); then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "pynfs: no free port pair in 20900-20999" >&2; exit 2; }
mkdir -p "$tmp/plugins"
ln -s "$plugin" "$vfs_plugin" "$tmp/plugins/"
cat > "$results/ganesha.conf" << CONF
NFS_CORE_PARAM {
	Protocols = 4; NFS_Port = $port; MNT_Port = $((port + 1)); Bind_addr = 127.0.0.1;
	Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
	Plugins_Dir = "$tmp/plugins";
}
NFSV4 { Graceless = true; Only_Numeric_Owners = true; Lease_Lifetime = 20; Minor_Versions = 0, 1, 2; }
FAMFS { Log_Follow_Interval_Ms = 1000; }
EXPORT {
	Export_Id = 1; Path = "/"; Pseudo = "/famfs"; Access_Type = RW; Squash = No_Root_Squash;
	Protocols = 4; Transports = TCP; SecType = sys;
	FSAL { Name = FAMFS; Device = "$dev"; }
}
EXPORT {
	Export_Id = 2; Path = "$vfs"; Pseudo = "/vfs"; Access_Type = RW; Squash = No_Root_Squash;
	Protocols = 4; Transports = TCP; SecType = sys;
	FSAL { Name = VFS; }
}
CONF
start_gateway() {
	local out
	out=$("$gw" serve --ganesha-conf "$results/ganesha.conf" --run-dir "$tmp/run" --background 2>&1) ||
		{ echo "pynfs: famfs-gw serve failed:"; echo "$out"; tail -n 20 "$tmp/run/ganesha.log"; } >&2
	sup=$(printf '%s\n' "$out" | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p')
	gpid=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ganesha_pid"])' \
		"$tmp/run/serve.json" 2> /dev/null)
	[ -n "$sup" ] && [ -n "$gpid" ] || return 1
	for _ in $(seq 200); do port_open "$port" && return 0; sleep 0.1; done
	echo "pynfs: ganesha does not listen on 127.0.0.1:$port" >&2
	return 1
}
start_gateway || exit 2
echo "pynfs: ganesha.nfsd pid $gpid on 127.0.0.1:$port, exports /famfs (FAMFS) and /vfs (VFS)"
echo "pynfs: results in $results"

# --- the runs -----------------------------------------------------------------------------
for s in $suites; do
	for e in $exports; do
		out=$results/$s-$e.txt
		if [ "$s" = 4.0 ]; then
			cmd=(nfs4.0/testserver.py "127.0.0.1:$port/$e" --maketree --showomit "${tests[@]}")
		else
			cmd=(nfs4.1/testserver.py "127.0.0.1:$port/$e" --maketree --showomit --minorversion "${s#4.}" "${tests[@]}")
		fi
		echo "pynfs: suite $s on /$e ..."
		t0=$SECONDS
		(cd "$pynfs" && timeout -k 10 "$limit" "$python" "${cmd[@]}") > "$out" 2>&1
		rc=$?
		[ $rc -eq 124 ] && echo "pynfs: TIMED OUT after $limit s" >> "$out"
		echo "pynfs: suite $s on /$e: exit $rc, $((SECONDS - t0)) s: $(grep -h '^Of those:' "$out" | tail -1)"
		if ! kill -0 "$gpid" 2> /dev/null; then
			echo "pynfs: ganesha DIED during suite $s on /$e; restarting it" | tee -a "$out" >&2
			cp "$tmp/run/ganesha.log" "$results/ganesha-died-$s-$e.log" 2> /dev/null
			stop_gateway
			start_gateway || exit 2
		fi
	done
done

compare "$results" "$suites" | tee "$results/summary.txt"
exit "${PIPESTATUS[0]}"
