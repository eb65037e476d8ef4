# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# lib.sh - sourced by the QEMU test guest's scripts (nfs-workload.sh, devdax-lib.sh); runs
# in the guest (busybox sh), where build-initramfs.sh puts it in /guest with the others.
# Not a test itself: lab.run= names a script that sources it.
#
#   . /guest/lib.sh
#
# Sets R=/tmp/results, where res keeps every result line (the script empties it once).
# Reads TAG (put in every result line) and, when set, V (then "[TAG vV]").
# Gives:
#   arg NAME [DEFAULT]   a value from the kernel command line
#   up                   seconds since boot
#   since T              seconds from uptime T to now
#   res PASS|FAIL TEXT   a result line: "PASS: [TAG] TEXT (t=...s)", also in $R
#   check NAME CMD...    PASS when CMD succeeds, else FAIL with its last output lines; NAME
#                        goes to /tmp/step (what a script stuck in CMD was doing)
#   failed               the number of FAIL lines in $R, at most 100 (an exit status)
#   end_results WORD     prints "WORD: [TAG] P passed, F failed" and exits with failed
R=/tmp/results
arg() { # NAME [DEFAULT]: the value of NAME= on the kernel command line
	for a in $(cat /proc/cmdline); do
		case $a in "$1="*) echo "${a#*=}"; return ;; esac
	done
	echo "$2"
}
up() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$(up) - $1" | bc; }

res() { # PASS|FAIL TEXT
	echo "$1: [$TAG${V:+ v$V}] $2 (t=$(up)s)" >> $R
	echo "$1: [$TAG${V:+ v$V}] $2 (t=$(up)s)"
}
check() { # NAME CMD...: PASS when CMD succeeds, else FAIL with its last output lines
	name=$1
	shift
	echo "$name" > /tmp/step
	if out=$("$@" 2>&1); then
		res PASS "$name"
	else
		res FAIL "$name: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	fi
}

failed() {
	f=$(grep -c '^FAIL' $R)
	[ "$f" -gt 100 ] && f=100
	echo "$f"
}
end_results() { # WORD
	echo "$1: [$TAG] $(grep -c '^PASS' $R) passed, $(grep -c '^FAIL' $R) failed"
	exit "$(failed)"
}
