#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validate a famfs image with upstream famfs's rules, independently of famfs-core.

Written from the format description (struct offsets, CRC coverage, logplay and
bitmap rules, the kernel's fmap acceptance), in Python so that a shared bug in
our C code cannot hide itself. Checks:
  superblock: magic, version == 48 (upstream's strict equality), CRC, alloc unit
  log header: magic, CRC, length, last index, next_seqnum == next_index
  every entry < next_index: seqnum == index, CRC over bytes [0, 536)
  FILE: relative non-empty path, size > 0, every extent offset != 0, extents
        PMD (2 MiB) aligned, <= 2 simple extents or 1 interleaved extent with
        1..16 strips (what the kernel accepts), no allocation collisions
  MKDIR: relative non-empty path; parents exist when replayed in order
  logplay's path rules: a FILE or MKDIR never names a path an earlier FILE or MKDIR
        took (upstream fails with "exists where dir should be" on a type conflict and
        unmounts), and a parent is a directory, not a file
usage: upstream_check.py IMAGE [--allow-version 47]
Prints one line per problem and "upstream-check: OK (N entries)" when clean.
"""
import struct
import sys
import zlib

SB_MAGIC = 0x87B282FF
LOG_MAGIC = 0x00000BADCAFEF00D
LOG_OFF = 0x200000
ENTRY = 544
PMD = 0x200000


def main():
    path = sys.argv[1]
    versions = {48}
    if "--allow-version" in sys.argv:
        versions.add(int(sys.argv[sys.argv.index("--allow-version") + 1]))
    problems = []
    with open(path, "rb") as f:
        sb = f.read(200)
        magic, version, log_off, log_len, unit = struct.unpack_from("<5Q", sb, 0)
        crc = struct.unpack_from("<Q", sb, 96)[0]
        dd_size = struct.unpack_from("<Q", sb, 112)[0]
        if magic != SB_MAGIC:
            problems.append("superblock: bad magic 0x%x" % magic)
        if version not in versions:
            problems.append("superblock: version %d, upstream wants 48" % version)
        if zlib.crc32(sb[:96]) != crc:
            problems.append("superblock: CRC mismatch")
        if unit not in (4096, PMD):
            problems.append("superblock: alloc unit 0x%x" % unit)
        if problems:
            print("\n".join(problems))
            return 1
        f.seek(LOG_OFF)
        log = f.read(log_len)
    lmagic, llen, last, lcrc, nseq, nidx = struct.unpack_from("<6Q", log, 0)
    if lmagic != LOG_MAGIC:
        problems.append("log: bad magic")
    if zlib.crc32(log[:24]) != lcrc:
        problems.append("log: header CRC mismatch")
    if llen != log_len or last != (log_len - 48) // ENTRY - 1:
        problems.append("log: length/last index inconsistent")
    if nseq != nidx or nidx > last + 1:
        problems.append("log: next_seqnum %d next_index %d" % (nseq, nidx))
    nbits = (dd_size + unit - 1) // unit
    used = bytearray(nbits)
    for b in range((LOG_OFF + log_len + unit - 1) // unit):
        used[b] = 1
    dirs = {""}
    files = set()
    for i in range(nidx):
        e = log[48 + i * ENTRY: 48 + (i + 1) * ENTRY]
        seq, etype = struct.unpack_from("<QI", e, 0)
        ecrc = struct.unpack_from("<Q", e, 536)[0]
        where = "entry %d" % i
        if seq != i:
            problems.append("%s: seqnum %d" % (where, seq))
            continue
        if zlib.crc32(e[:536]) != ecrc:
            problems.append("%s: CRC mismatch" % where)
            continue
        if etype == 1:
            mpath = e[28:108].split(b"\0")[0].decode()
            if not mpath or mpath.startswith("/"):
                problems.append("%s: bad mkdir path %r" % (where, mpath))
                continue
            parent = mpath.rsplit("/", 1)[0] if "/" in mpath else ""
            if parent not in dirs:
                problems.append("%s: parent of %s missing%s" % (
                    where, mpath, " (it is a file)" if parent in files else ""))
            if mpath in files:
                problems.append("%s: mkdir %s: a file exists where the dir should be" % (where, mpath))
            elif mpath in dirs:
                problems.append("%s: mkdir %s: the directory was already logged" % (where, mpath))
            dirs.add(mpath)
        elif etype == 0:
            size, flags, uid, gid, mode = struct.unpack_from("<QIIII", e, 16)
            fpath = e[40:120].split(b"\0")[0].decode()
            ext_type, count = struct.unpack_from("<I4xI", e, 120)
            if not fpath or fpath.startswith("/"):
                problems.append("%s: bad file path %r" % (where, fpath))
            if size == 0:
                problems.append("%s: size 0" % where)
            if ext_type == 0:
                exts = [struct.unpack_from("<3Q", e, 136 + 24 * k) for k in range(count)]
                if not 1 <= count <= 2:
                    problems.append("%s: %d simple extents (kernel takes 1..2)" % (where, count))
                total = sum(x[2] for x in exts)
            else:
                nstrips, chunk = struct.unpack_from("<2Q", e, 136)
                exts = [struct.unpack_from("<3Q", e, 152 + 24 * k) for k in range(nstrips)]
                if count != 1 or not 1 <= nstrips <= 16 or chunk == 0 or chunk % PMD:
                    problems.append("%s: bad interleave geometry" % where)
                total = sum(x[2] for x in exts)
            if total < size:
                problems.append("%s: extents smaller than the file" % where)
            for dev, off, ln in exts:
                if dev != 0 or off == 0 or off % PMD or ln % PMD:
                    problems.append("%s: extent (%d, 0x%x, 0x%x) rejected" % (where, dev, off, ln))
                for b in range(off // unit, (off + ln + unit - 1) // unit):
                    if b < nbits:
                        if used[b]:
                            problems.append("%s: allocation collision at unit %d" % (where, b))
                        used[b] = 1
            parent = fpath.rsplit("/", 1)[0] if "/" in fpath else ""
            if parent not in dirs:
                problems.append("%s: parent of %s missing%s" % (
                    where, fpath, " (it is a file)" if parent in files else ""))
            if fpath in dirs:
                problems.append("%s: file %s: a directory exists where the file should be" % (where, fpath))
            elif fpath in files:
                problems.append("%s: file %s: the path was already logged as a file" % (where, fpath))
            files.add(fpath)
        # other types: upstream logplay skips them
    for p in problems:
        print(p)
    if problems:
        return 1
    print("upstream-check: OK (%d entries, %d files, %d dirs)" % (nidx, len(files), len(dirs) - 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
