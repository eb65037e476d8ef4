#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# mod-deps.py MODULES_DIR MODULE... - print the module files to load, dependencies
# first, one path (relative to MODULES_DIR) per line: the order of 'insmod' calls that
# 'modprobe MODULE...' would make. Reads the 'depends=' and 'softdep=pre:' entries of
# each module's .modinfo ELF section, so neither kmod nor depmod is needed. Modules
# built into the kernel (MODULES_DIR/modules.builtin) are skipped. Understands .ko,
# .ko.xz and .ko.gz.
import gzip
import lzma
import os
import struct
import sys


def load(path):
    data = open(path, 'rb').read()
    if path.endswith('.xz'):
        return lzma.decompress(data)
    if path.endswith('.gz'):
        return gzip.decompress(data)
    return data


def modinfo(path):
    elf = load(path)
    if elf[:4] != b'\x7fELF' or elf[4] != 2:
        sys.exit('mod-deps: %s is not a 64-bit ELF module' % path)
    shoff, = struct.unpack_from('<Q', elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', elf, 0x3A)

    def section(i):
        base = shoff + i * shentsize
        name, = struct.unpack_from('<I', elf, base)
        off, size = struct.unpack_from('<QQ', elf, base + 0x18)
        return name, off, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = elf.index(b'\0', stroff + name)
        if elf[stroff + name:end] == b'.modinfo':
            return [s.decode('utf-8', 'replace') for s in elf[off:off + size].split(b'\0') if s]
    return []


def norm(name):
    return name.replace('-', '_')


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: mod-deps.py MODULES_DIR MODULE...')
    top = sys.argv[1]
    files = {}
    for root, _, names in os.walk(top):
        for n in names:
            for ext in ('.ko', '.ko.xz', '.ko.gz'):
                if n.endswith(ext):
                    files[norm(n[:-len(ext)])] = os.path.relpath(os.path.join(root, n), top)
    builtin = set()
    try:
        for line in open(os.path.join(top, 'modules.builtin')):
            builtin.add(norm(os.path.basename(line.strip()).split('.ko')[0]))
    except OSError:
        pass
    order, state = [], {}

    def visit(name, soft=False):
        name = norm(name)
        if name in builtin or state.get(name) == 'done':
            return
        if name not in files:
            if soft:
                return
            sys.exit('mod-deps: module %s not found under %s' % (name, top))
        if state.get(name) == 'busy':
            sys.exit('mod-deps: dependency loop at %s' % name)
        state[name] = 'busy'
        for entry in modinfo(os.path.join(top, files[name])):
            key, _, val = entry.partition('=')
            if key == 'depends':
                for dep in filter(None, val.split(',')):
                    visit(dep)
            elif key == 'softdep':
                words = val.split()
                pre = []
                for w in words[1:] if words and words[0] == 'pre:' else []:
                    if w == 'post:':
                        break
                    pre.append(w)
                for dep in pre:
                    visit(dep, soft=True)
        state[name] = 'done'
        order.append(files[name])

    for m in sys.argv[2:]:
        visit(m)
    print('\n'.join(order))


main()
