#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# disk-outside.py BEFORE AFTER: compares two images of the system disk outside
# the ranges the procedure may change (GitHub issue 7): the protective MBR and
# both GPT copies, the ESP (BCD and the files the plan names) and any LDM
# metadata partition, taken from the GPTs of both images. Everything else (the
# os and recovery partitions, the MSR, free space) must be byte-identical.
# Reads data extents only (SEEK_DATA/SEEK_HOLE): a hole equals zeros.
# Prints "identical" and exits 0, or the first differing blocks and exits 1.
import hashlib
import os
import struct
import sys
import uuid

SECTOR = 512
BLOCK = 65536
ESP = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
LDM_META = uuid.UUID("5808c8aa-7e8f-42e0-85d2-e1e90434cfb3")
ZERO = bytes(BLOCK)


def gpt_parts(f):
    """(type, first, last) of every used entry of the primary GPT."""
    f.seek(SECTOR)
    hdr = f.read(SECTOR)
    if hdr[:8] != b"EFI PART":
        return []
    entries_lba, n, size = struct.unpack_from("<QII", hdr, 72)
    f.seek(entries_lba * SECTOR)
    raw = f.read(n * size)
    out = []
    for i in range(n):
        e = raw[i * size:(i + 1) * size]
        t = uuid.UUID(bytes_le=e[:16])
        if t.int:
            first, last = struct.unpack_from("<QQ", e, 32)
            out.append((t, first, last))
    return out


def excluded(paths):
    size = os.path.getsize(paths[0])
    sectors = size // SECTOR
    ranges = [(0, 34 * SECTOR), ((sectors - 33) * SECTOR, size)]
    for p in paths:
        with open(p, "rb") as f:
            for t, first, last in gpt_parts(f):
                if t in (ESP, LDM_META):
                    ranges.append((first * SECTOR, (last + 1) * SECTOR))
    return sorted(ranges)


def blocks(path, ranges):
    """{offset: sha256} of every 64 KiB block holding data outside ranges,
    with the excluded bytes read as zeros."""
    out = {}
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    pos = 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            off = start - start % BLOCK
            while off < end:
                buf = bytearray(os.pread(fd, BLOCK, off))
                for a, b in ranges:
                    lo, hi = max(a, off), min(b, off + len(buf))
                    if lo < hi:
                        buf[lo - off:hi - off] = bytes(hi - lo)
                if buf.strip(b"\0"):
                    out[off] = hashlib.sha256(buf).hexdigest()
                off += BLOCK
            pos = end
    finally:
        os.close(fd)
    return out


def where(off, parts):
    lba = off // SECTOR
    for t, first, last in parts:
        if first <= lba <= last:
            return "partition type %s LBA %d-%d" % (t, first, last)
    return "outside every partition"


def main():
    before, after = sys.argv[1], sys.argv[2]
    ranges = excluded([before, after])
    a, b = blocks(before, ranges), blocks(after, ranges)
    diff = sorted(o for o in set(a) | set(b) if a.get(o) != b.get(o))
    if not diff:
        print("identical (%d data blocks outside %d excluded ranges)" % (len(a), len(ranges)))
        return 0
    with open(before, "rb") as f:
        parts = gpt_parts(f)
    print("%d block(s) of 64 KiB differ outside the allowed ranges, first at:" % len(diff))
    for o in diff[:5]:
        print("  offset %d (LBA %d, %s)" % (o, o // SECTOR, where(o, parts)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
