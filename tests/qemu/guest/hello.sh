#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# hello.sh - a smoke test of the guest image: lab.run=/guest/hello.sh.
echo "hello from $(hostname): kernel $(uname -r), $(nproc) cpu(s), $(grep MemTotal /proc/meminfo)"
ip addr show | grep 'inet '
grep -c . /proc/modules | sed 's/^/modules loaded: /'
