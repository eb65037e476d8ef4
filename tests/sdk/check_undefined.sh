#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# check_undefined.sh - ABI check of an FSAL module against libganesha_nfsd.
#
# Usage: check_undefined.sh <module.so> <libganesha_nfsd.so.X>
#
# ganesha.nfsd dlopens FSALs with RTLD_NOW, and Debian's libganesha_nfsd exports
# only what its version script lists. This test fails when the module
#  - does not depend on libganesha_nfsd, or uses none of its symbols;
#  - has an undefined (non-weak) symbol that neither libganesha_nfsd nor one of
#    the module's other direct dependencies (libc, ntirpc, urcu, ...) defines.
# Sanitizer hooks (__asan_*, __ubsan_*, ...) are allowed unresolved: in a
# FAMFS_SANITIZE build the host process provides that runtime.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 <module.so> <libganesha_nfsd.so>" >&2; exit 2; }
mod=$1
lib=$2
for f in "$mod" "$lib"; do
	[ -f "$f" ] || { echo "FAIL: $f not found" >&2; exit 1; }
done

# Symbol names without @VERSION, one per line, sorted.
undefined() { nm -D --undefined-only "$1" | awk '$1 == "U" { sub(/@.*/, "", $2); print $2 }' | sort -u; }
defined() { nm -D --defined-only "$1" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u; }
needed() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'; }

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
needed "$mod" | grep -qxF "$soname" || {
	echo "FAIL: $(basename "$mod") does not depend on $soname" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
undefined "$mod" >"$tmp/undef"
defined "$lib" >"$tmp/ganesha"

# The module's other direct dependencies, resolved the way the loader does.
ldd "$mod" >"$tmp/ldd"
: >"$tmp/others.list"
: >"$tmp/others.names"
while read -r name; do
	[ "$name" = "$soname" ] && continue
	path=$(awk -v n="$name" '$1 == n && $2 == "=>" { print $3 }' "$tmp/ldd")
	[ -n "$path" ] || path=$(awk -v n="$name" '$1 ~ "/" n "$" { print $1 }' "$tmp/ldd")
	[[ -n $path && -f $path ]] || { echo "FAIL: cannot resolve $name" >&2; exit 1; }
	defined "$path" >>"$tmp/others.list"
	echo "$name" >>"$tmp/others.names"
done < <(needed "$mod")
sort -u "$tmp/others.list" >"$tmp/others"

comm -12 "$tmp/undef" "$tmp/ganesha" >"$tmp/from_ganesha"
comm -23 "$tmp/undef" "$tmp/ganesha" | comm -23 - "$tmp/others" |
	grep -Ev '^__(asan|ubsan|lsan|sanitizer)_' >"$tmp/unresolved" || true

n_ganesha=$(wc -l <"$tmp/from_ganesha")
n_total=$(wc -l <"$tmp/undef")
echo "$(basename "$mod"): $n_total undefined symbols; $n_ganesha from $soname:"
sed 's/^/  /' "$tmp/from_ganesha"
echo "other libraries: $(tr '\n' ' ' <"$tmp/others.names")"

if [ -s "$tmp/unresolved" ]; then
	echo "FAIL: not exported by $soname nor by the other libraries:" >&2
	sed 's/^/  /' "$tmp/unresolved" >&2
	exit 1
fi
if [ "$n_ganesha" -eq 0 ]; then
	echo "FAIL: $(basename "$mod") uses no symbol of $soname: the check proves nothing" >&2
	exit 1
fi
echo "PASS"
