#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# ganesha-sdk.sh - prepare the nfs-ganesha FSAL SDK in <repo>/.cache/ganesha-sdk.
#
# Debian ships ganesha.nfsd and libganesha_nfsd.so but no -dev package, so an
# out-of-tree FSAL gets its headers from Debian's source package of exactly the
# installed version (../shared/docs/ganesha-fsal-sdk.md). This script:
#   1. checks that the installed nfs-ganesha is upstream 4.3 (the only version the
#      config.h rules below are valid for);
#   2. downloads the orig tarball of that Debian version through a private apt
#      source list and verifies its SHA256 against the signed Sources index;
#   3. extracts the headers an FSAL needs into .cache/ganesha-sdk/src/...;
#   4. generates .cache/ganesha-sdk/include/config.h from config-h.in.cmake with
#      the macro set Debian's build used (doc sections 2 and 3);
#   5. writes a stamp last. With a matching stamp the script does nothing.
#
# Layout produced (cmake/GaneshaSDK.cmake consumes it):
#   include/config.h
#   src/include/...                                  (incl. os/linux, FSAL/)
#   src/FSAL/*.h
#   src/FSAL/Stackable_FSALs/FSAL_MDCACHE/*.h
#   stamp
#
# Environment: GANESHA_SDK_DIR (output dir), GANESHA_SDK_MIRROR (Debian mirror).
# Run by scripts/setup.sh; needs network only when the SDK is (re)built.
set -euo pipefail

# Upstream version the SDK recipe was measured on. Another version has other
# struct layouts and needs a new recipe, not just a new download.
readonly SDK_UPSTREAM=4.3
# Bump when the extraction or the config.h rules change, to force a rebuild.
readonly SDK_RECIPE=1

# config.h macros that Debian's 4.3-2 build defines; every other #cmakedefine
# is left undefined. DEBUG_SAL, _USE_9P, _USE_NLM, _USE_NFS3, _USE_RQUOTA,
# USE_NFSACL3, _HAVE_GSSAPI and USE_DBUS change struct layouts: see the doc.
readonly CONFIG_DEFINES=(
	_MSPAC_SUPPORT USE_NFSIDMAP USE_DBUS USE_CAPS USE_BLKID
	_USE_9P _USE_NFS3 _USE_NLM _USE_RQUOTA USE_NFSACL3
	RPCBIND HAVE_KRB5 USE_GSS_KRB5_CCACHE_NAME LINUX _HAVE_GSSAPI
	HAVE_STRING_H HAVE_STRNLEN HAVE_DAEMON ENABLE_VFS_POSIX_ACL
	GSH_CAN_HOST_LOCAL_FS HAVE_URCU_REF_GET_UNLESS_ZERO
)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sdk=${GANESHA_SDK_DIR:-$repo/.cache/ganesha-sdk}
mirror=${GANESHA_SDK_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "ganesha-sdk: error: $*" >&2
	exit 1
}
say() { echo "ganesha-sdk: $*"; }

# --- 1. installed version -------------------------------------------------
pkgver=$(dpkg-query -W -f='${Version}' nfs-ganesha 2>/dev/null) ||
	die "nfs-ganesha is not installed (run scripts/setup.sh as root)"
[ -n "$pkgver" ] || die "nfs-ganesha is not installed (run scripts/setup.sh as root)"
upver=${pkgver#*:}   # drop an epoch
upver=${upver%-*}    # drop the Debian revision
[ "$upver" = "$SDK_UPSTREAM" ] ||
	die "installed nfs-ganesha is $pkgver (upstream $upver), but the FSAL SDK recipe is for upstream $SDK_UPSTREAM only"

command -v ganesha.nfsd >/dev/null || die "ganesha.nfsd not found in PATH (package nfs-ganesha $pkgver is installed)"
release=$(ganesha.nfsd -v 2>&1 | sed -n 's/.*Release = V\([^[:space:]]*\).*/\1/p') || true
[ "$release" = "$SDK_UPSTREAM" ] ||
	die "ganesha.nfsd reports release '${release:-?}', dpkg says nfs-ganesha $pkgver; the FSAL SDK is for $SDK_UPSTREAM"

stamp_text="nfs-ganesha $pkgver recipe $SDK_RECIPE"
sdk_ready() {
	[ -f "$sdk/stamp" ] && [ -f "$sdk/include/config.h" ] &&
		[ "$(cat "$sdk/stamp")" = "$stamp_text" ]
}
sdk_ready && exit 0

# One builder at a time; a second caller waits and then finds the stamp.
mkdir -p "$(dirname "$sdk")"
exec 9>"$sdk.lock"
flock 9
sdk_ready && exit 0

work=$(mktemp -d "$sdk.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- 2. download the orig tarball -----------------------------------------
say "fetching Debian source nfs-ganesha $pkgver from $mirror"
[ -r "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/dl"
echo "deb-src [signed-by=$keyring] $mirror $suite main" >"$work/apt/sources.list"
# A private source list, index and cache: the system's apt state is not touched.
apt_opts=(
	-o "Dir::Etc::SourceList=$work/apt/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/apt/lists"
	-o "Dir::Cache=$work/apt/cache"
	-o APT::Sandbox::User=root
)
log=$work/apt.log
apt-get "${apt_opts[@]}" -qq update >"$log" 2>&1 ||
	{ cat "$log" >&2; die "apt-get update of $mirror $suite (deb-src) failed"; }

# Lines look like: 'URL' FILE SIZE SHA256:HEX
apt-get "${apt_opts[@]}" source --print-uris "nfs-ganesha=$pkgver" >"$work/uris" 2>>"$log" ||
	{ cat "$log" >&2; die "Debian source nfs-ganesha $pkgver not found in $mirror $suite"; }
read -r orig_url orig_name _ orig_hash < <(
	sed -n "s/^'\([^']*\)' \(nfs-ganesha_${upver//./\\.}\.orig\.tar\.[a-z0-9]*\) \([0-9]*\) \(SHA256:[0-9a-f]*\)\$/\1 \2 \3 \4/p" \
		"$work/uris") || true
[ -n "${orig_hash:-}" ] || { cat "$work/uris" >&2; die "no SHA256-checked orig tarball in the source record of nfs-ganesha $pkgver"; }
orig=$work/dl/$orig_name
sha_ok() { [ -f "$orig" ] && echo "${orig_hash#SHA256:}  $orig" | sha256sum --quiet -c - >/dev/null 2>&1; }

# The debian.tar.xz of 4.3-2 answers 404 and apt-get then exits non-zero, but it
# still stores the orig tarball: only that one is needed.
(cd "$work/dl" && apt-get "${apt_opts[@]}" -qq source --download-only "nfs-ganesha=$pkgver") >>"$log" 2>&1 || true
if ! sha_ok; then
	rm -f "$orig"
	/usr/lib/apt/apt-helper "${apt_opts[@]}" download-file "$orig_url" "$orig" "$orig_hash" >>"$log" 2>&1 ||
		{ cat "$log" >&2; die "could not download $orig_url"; }
fi
sha_ok || die "$orig_name does not match $orig_hash"

# --- 3. extract the FSAL headers ------------------------------------------
mkdir -p "$work/sdk/src" "$work/sdk/include"
# src/include is taken whole (a directory member extracts recursively), less
# other OSes and the LTTng trace headers (USE_LTTNG is off in Debian's build).
tar -xf "$orig" -C "$work/sdk/src" --strip-components=2 \
	--wildcards --no-wildcards-match-slash \
	--exclude='*/src/include/os/freebsd' --exclude='*/src/include/os/darwin' \
	--exclude='*/src/include/gsh_lttng' \
	'*/src/include' '*/src/FSAL/*.h' '*/src/FSAL/Stackable_FSALs/FSAL_MDCACHE/*.h'
for f in include/config-h.in.cmake include/fsal_api.h include/fsal.h include/fsal_up.h \
	include/sal_data.h include/export_mgr.h include/FSAL/fsal_commonlib.h \
	include/os/linux/extended_types.h FSAL/Stackable_FSALs/FSAL_MDCACHE/mdcache_ext.h; do
	[ -f "$work/sdk/src/$f" ] || die "$orig_name lacks src/$f"
done

# --- 4. config.h ----------------------------------------------------------
# Rules (doc section 3), applied in this order by one sed script:
#  (a) '#cmakedefine NAME ...' -> '#define NAME 1' for each name in CONFIG_DEFINES
#  (b) every other '#cmakedefine NAME ...' -> '/* #undef NAME */'
#  (c) @VAR@ placeholders -> the values of Debian's build
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
defines=("${CONFIG_DEFINES[@]}")
if [ "$(dpkg-architecture -qDEB_HOST_ARCH_ENDIAN)" = little ]; then
	defines+=(LITTLEEND)
fi
{
	for m in "${defines[@]}"; do
		printf 's/^#cmakedefine[[:space:]]\\+%s[[:space:]].*/#define %s 1/\n' "$m" "$m"
	done
	printf '%s\n' 's|^#cmakedefine[[:space:]]\+\([A-Za-z0-9_]\+\).*|/* #undef \1 */|'
	while read -r var val; do
		printf 's|@%s@|%s|g\n' "$var" "$val"
	done <<-EOF
		GANESHA_MAJOR_VERSION ${upver%%.*}
		GANESHA_MINOR_VERSION .${upver#*.}
		GANESHA_EXTRA_VERSION
		GANESHA_VERSION $upver
		GANESHA_BUILD_RELEASE 1
		VERSION_COMMENT FSAL SDK from Debian nfs-ganesha $pkgver
		_GIT_HEAD_COMMIT unknown
		_GIT_DESCRIBE debian/$pkgver
		BUILD_HOST_NAME debian
		FSAL_DESTINATION /usr/lib/$multiarch/ganesha
		SYSCONFDIR /etc
		RUNTIMEDIR /var/run/ganesha
		SYSSTATEDIR /var
	EOF
} >"$work/config.sed"
config=$work/sdk/include/config.h
sed -f "$work/config.sed" "$work/sdk/src/include/config-h.in.cmake" >"$config"
if grep -n '@[A-Za-z0-9_]*@\|#cmakedefine' "$config" >&2; then
	die "config.h still has unsubstituted placeholders (lines above)"
fi
for m in "${defines[@]}"; do
	grep -qx "#define $m 1" "$config" || die "config-h.in.cmake has no #cmakedefine $m"
done

# --- 5. install, stamp last -----------------------------------------------
rm -rf "$sdk"
mv "$work/sdk" "$sdk"
echo "$stamp_text" >"$sdk/stamp"
say "ready: ${sdk#"$repo"/} (nfs-ganesha $pkgver)"
