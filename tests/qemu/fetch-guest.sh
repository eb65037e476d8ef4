#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fetch-guest.sh CACHE_DIR - the QEMU guest's kernel and userland, from Debian's archive.
#
# Downloads with 'apt-get download' (into CACHE_DIR/debs) the kernel package that
# linux-image-amd64 depends on (linux-image-<version>-amd64) and busybox-static, and
# extracts what the guest needs into CACHE_DIR/guest-<kernel package>/:
#   vmlinux        the kernel as an ELF (QEMU boots it through the PVH entry)
#   busybox        the static busybox (the whole guest userland; also builds the cpio)
#   kver           the kernel release (uname -r)
#   modules/       the modules for virtio-net and the NFSv4 client, with load-order
#                  (insmod order, dependencies first; see mod-deps.py), and those of
#                  each extra set in load-order.SET (the guest's /init loads a set
#                  when the kernel command line says lab.modules=SET[,SET]):
#                    devdax  NVDIMM (ACPI NFIT) pmem as devdax (/dev/daxX.Y) and FUSE
# Idempotent and cached: a complete directory (its 'done' file names the module sets
# it was made with) is used as it is; one made with other sets is made again from the
# cached .debs. When the package lists
# cannot name the kernel package (offline, no 'apt-get update' yet), the newest cached
# directory is used; failing that, root runs 'apt-get update' once.
# Prints the guest directory as its last line. Concurrent callers serialise on a lock.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: fetch-guest.sh CACHE_DIR" >&2; exit 2; }
cache=$(realpath -m "$1")
mkdir -p "$cache/debs"
exec 9> "$cache/.lock"
flock 9

# The modules the guest loads (their dependencies are added by mod-deps.py): always,
# and per extra set.
MODULES="virtio_pci virtio_net nfsv4"
DEVDAX_MODULES="nfit nd_pmem dax_pmem device_dax fuse"
SETS="devdax"
set_modules() { # SET: its modules
	case $1 in
	devdax) echo "$DEVDAX_MODULES" ;;
	esac
}
spec="modules: $MODULES"
for s in $SETS; do
	spec="$spec; $s: $(set_modules "$s")"
done
complete() { [ -f "$1/done" ] && [ "$(cat "$1/done")" = "$spec" ]; }

kernel_pkg() {
	apt-cache depends linux-image-amd64 2> /dev/null |
		awk '/Depends: linux-image-[0-9].*-amd64$/ {print $2; exit}'
}
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
	newest=$(ls -dt "$cache"/guest-*/ 2> /dev/null | head -1)
	if [ -n "$newest" ] && complete "$newest"; then
		echo "fetch-guest: package lists unavailable, using the cached ${newest%/}" >&2
		echo "${newest%/}"
		exit 0
	fi
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >&2
		kpkg=$(kernel_pkg)
	fi
	[ -n "$kpkg" ] || { echo "fetch-guest: cannot find the kernel package (apt-cache depends linux-image-amd64)" >&2; exit 1; }
fi
guest=$cache/guest-$kpkg
if complete "$guest"; then
	echo "$guest"
	exit 0
fi

cd "$cache/debs"
get() { # package: download its .deb unless it is cached; print the file name
	local deb
	deb=$(ls "$1"_*.deb 2> /dev/null | head -1)
	if [ -z "$deb" ]; then
		# As root apt-get would warn that its sandbox user cannot write here.
		apt-get download -q -o APT::Sandbox::User=root "$1" >&2
		deb=$(ls "$1"_*.deb | head -1)
	fi
	echo "$cache/debs/$deb"
}
kdeb=$(get "$kpkg")
bdeb=$(get busybox-static)
# Older kernel packages are of no more use.
for old in linux-image-*_*.deb; do
	[ "$old" = "$(basename "$kdeb")" ] || rm -f "$old"
done
for old in "$cache"/guest-*; do
	[ "$old" = "$guest" ] || [ ! -e "$old" ] || rm -rf "$old"
done

rm -rf "$guest" "$guest.tmp"
mkdir -p "$guest.tmp/x/k" "$guest.tmp/x/b" "$guest.tmp/modules"
trap 'rm -rf "$guest.tmp"' EXIT
dpkg-deb -x "$kdeb" "$guest.tmp/x/k"
dpkg-deb -x "$bdeb" "$guest.tmp/x/b"
kv=$(ls "$guest.tmp/x/k/lib/modules")
cp "$guest.tmp/x/b/bin/busybox" "$guest.tmp/busybox"
python3 "$here/extract-vmlinux.py" "$guest.tmp/x/k/boot/vmlinuz-$kv" "$guest.tmp/vmlinux" >&2
mdir=$guest.tmp/x/k/lib/modules/$kv
n=0
add() { # LIST ORDER [SKIP]: write ORDER, the modules of LIST that SKIP does not name;
	# each file is copied once (copied: "path name" pairs)
	local rel name
	: > "$2"
	while read -r rel; do
		[ -n "${3:-}" ] && grep -qxF "$rel" "$3" && continue
		name=$(awk -v r="$rel" '$1 == r {print $2}' "$guest.tmp/copied")
		if [ -z "$name" ]; then
			n=$((n + 1))
			name=$(printf '%02d-%s' "$n" "$(basename "$rel")")
			name=${name%.xz}
			name=${name%.gz}
			case $rel in
			*.xz) xz -dc "$mdir/$rel" > "$guest.tmp/modules/$name" ;;
			*.gz) gzip -dc "$mdir/$rel" > "$guest.tmp/modules/$name" ;;
			*) cp "$mdir/$rel" "$guest.tmp/modules/$name" ;;
			esac
			echo "$rel $name" >> "$guest.tmp/copied"
		fi
		echo "$name" >> "$2"
	done < "$1"
}
: > "$guest.tmp/copied"
python3 "$here/mod-deps.py" "$mdir" $MODULES > "$guest.tmp/base"
add "$guest.tmp/base" "$guest.tmp/modules/load-order"
for s in $SETS; do
	# shellcheck disable=SC2046,SC2086 # lists of module names
	python3 "$here/mod-deps.py" "$mdir" $MODULES $(set_modules "$s") > "$guest.tmp/deps"
	add "$guest.tmp/deps" "$guest.tmp/modules/load-order.$s" "$guest.tmp/base"
done
echo "$kv" > "$guest.tmp/kver"
rm -rf "$guest.tmp/x" "$guest.tmp/base" "$guest.tmp/deps" "$guest.tmp/copied"
echo "$spec" > "$guest.tmp/done"
mv "$guest.tmp" "$guest"
trap - EXIT
echo "fetch-guest: $kpkg ($kv), busybox, $n modules in $guest" >&2
echo "$guest"
