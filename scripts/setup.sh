#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# setup.sh - the project's one set-up step (both README commands run it).
#
# On Debian bookworm: installs the Debian packages the project needs (only the
# missing ones; apt-get is not called at all when none is missing), then prepares
# the nfs-ganesha FSAL SDK with scripts/ganesha-sdk.sh. Safe to run again: a
# second run on a set-up machine prints nothing and takes well under a second.
# Installing needs root; with everything installed it also runs as a normal user.
set -euo pipefail

# Everything the build, the tests and the demo need. One package per purpose;
# extend here.
readonly PACKAGES=(
	# toolchain
	build-essential cmake pkgconf git ca-certificates dpkg-dev xz-utils
	# libFuzzer harnesses (tests/fuzz/): clang with its fuzzer and sanitizer runtimes
	clang
	# famfs core, FUSE daemon, gateway
	zlib1g-dev uuid-dev libdaxctl-dev libfuse3-dev fuse3 liburing-dev
	# tests: unit tests, NFS client, JSON in test scripts
	libcmocka-dev libnfs-dev libnfs-utils python3
	# NFSv3 in the gateway tests: ganesha registers v3 and MOUNT with rpcbind
	rpcbind
	# the kernel NFS client test boots a QEMU guest (TCG)
	qemu-system-x86
	# the devdax QEMU test: the guest's /dev/dax0.0 is made with the host's ndctl
	ndctl daxctl
	# NFS server and the headers/libraries its FSAL SDK needs
	nfs-ganesha nfs-ganesha-vfs libntirpc-dev liburcu-dev libkrb5-dev
	libdbus-1-dev libacl1-dev
	# verifies the deb-src index that scripts/ganesha-sdk.sh downloads
	debian-archive-keyring
)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# One dpkg-query for all (it exits 1 when a package is unknown, and still
# reports the others).
installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null |
	awk '$1 == "ii" { printf "%s ", $2 }') " || true
missing=()
for pkg in "${PACKAGES[@]}"; do
	[[ $installed == *" $pkg "* ]] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing Debian packages: ${missing[*]}" >&2
		echo "setup: installing them needs root: run 'sudo scripts/setup.sh' (or as root)" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$repo/scripts/ganesha-sdk.sh"
