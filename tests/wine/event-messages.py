#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the Event Log message table inside mbstate.exe.

    event-messages.py MESSAGETABLE.bin engine/monitor_events.mc engine/monitor_events.h README.md

MESSAGETABLE.bin is the RT_MESSAGETABLE resource extracted from the exe
(wrestool -x -R --type=11). Its layout is MESSAGE_RESOURCE_DATA as Microsoft
documents it (winnt.h; "MESSAGE_RESOURCE_DATA structure"): a DWORD block
count, then blocks of (LowId, HighId, OffsetToEntries), each entry a WORD
length (including itself), a WORD flags (1: UTF-16LE text, 0: ANSI) and the
text. Every message of the .mc file must be there under its full ID
(severity in bits 30-31), every MB_EVENT_* of the header must have one, and
the README's event table must list each ID with its level.
"""
import re
import struct
import sys

blob = open(sys.argv[1], "rb").read()
mc = open(sys.argv[2], encoding="utf-8").read()
header = open(sys.argv[3], encoding="utf-8").read()
readme = open(sys.argv[4], encoding="utf-8").read()

table = {}
(nblocks,) = struct.unpack_from("<I", blob, 0)
for b in range(nblocks):
    low, high, off = struct.unpack_from("<III", blob, 4 + 12 * b)
    for msg_id in range(low, high + 1):
        length, flags = struct.unpack_from("<HH", blob, off)
        raw = blob[off + 4:off + length]
        text = raw.decode("utf-16-le" if flags & 1 else "cp1252").rstrip("\0")
        table[msg_id] = text
        off += length

severity = {"Informational": 1, "Warning": 2, "Error": 3}
levels = {1: "Information", 2: "Warning", 3: "Error"}
want = {}
for m in re.finditer(r"MessageId=(\d+)\s*\nSeverity=(\w+)\s*\nSymbolicName=\w+\s*\nLanguage=English\s*\n(.*?)\n\.\n", mc, re.S):
    want[int(m.group(1))] = (severity[m.group(2)], m.group(3))
bad = 0
ids = [int(v) for v in re.findall(r"MB_EVENT_\w+ = (\d+)", header)]
for i in ids:
    if i not in want:
        print("FAIL event %d of monitor_events.h has no message in the .mc file" % i)
        bad += 1
for i, (sev, text) in sorted(want.items()):
    full = (sev << 30) | i
    got = table.get(full)
    first = text.split("%n")[0]
    if got is None:
        print("FAIL event %d: no message 0x%08x in the exe's message table" % (i, full))
        bad += 1
    elif not got.startswith(first):
        print("FAIL event %d: message %r, expected %r" % (i, got, first))
        bad += 1
    elif not re.search(r"^\| %d \| %s \|" % (i, levels[sev]), readme, re.M):
        print("FAIL event %d: not in the README's table as %s" % (i, levels[sev]))
        bad += 1
    else:
        print("ok   event %d (0x%08x, %s): %s" % (i, full, levels[sev], got.replace("\r\n", " | ").strip()))
if len(table) != len(want):
    print("FAIL the exe has %d messages, the .mc file %d" % (len(table), len(want)))
    bad += 1
sys.exit(1 if bad or not want else 0)
