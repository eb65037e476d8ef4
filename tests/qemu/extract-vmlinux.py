#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# extract-vmlinux.py VMLINUZ VMLINUX - pull the ELF vmlinux out of an xz-compressed
# bzImage (Debian's vmlinuz). QEMU boots the ELF through its PVH entry, which skips
# the xz decompressor of the bzImage (about 2 s under TCG).
import lzma
import sys

data = open(sys.argv[1], 'rb').read()
pos = 0
while True:
    pos = data.find(b'\xfd7zXZ\x00', pos)
    if pos < 0:
        sys.exit('extract-vmlinux: no xz stream with an ELF payload in ' + sys.argv[1])
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[pos:])
        if out[:4] == b'\x7fELF':
            with open(sys.argv[2], 'wb') as f:
                f.write(out)
            print('vmlinux: %d bytes (xz stream at %#x)' % (len(out), pos))
            break
    except lzma.LZMAError:
        pass
    pos += 1
