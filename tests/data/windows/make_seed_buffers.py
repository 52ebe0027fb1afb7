#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the IOCTL answers of the seed machine (shared/seed: Windows Server
2022, two 32 GiB VMware disks on LSI SAS) as hex files for
tests/unit/test_windows.c.

The bytes are packed here field by field from the documented x64 layouts
(winioctl.h), independently of the C structures in
engine/platform/windows/win32_compat.h, so the test checks those too.
Identifiers that the seed does not show (GUIDs, serials) are invented.
Run it from this folder to regenerate the files.
"""
import struct
import uuid

MiB = 1024 * 1024
GiB = 1024 * MiB
DISK_SIZE = 32 * GiB
SECTOR = 512

DISK0_GUID = "5e9c4b1a-2f3d-4c8e-9a7b-1c2d3e4f5a6b"
DISK1_GUID = "77a0c1d2-3e4f-4a5b-8c6d-7e8f90a1b2c3"
TYPES = {
    "efi": "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
    "msr": "e3c9e316-0b5c-4db8-817d-f92df00215ae",
    "os": "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
    "recovery": "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
}
# role, offset (bytes), length (bytes), unique GUID, attributes, name
DISK0_PARTS = [
    ("efi", 1 * MiB, 100 * MiB, "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01", 0,
     "EFI system partition"),
    ("msr", 206848 * SECTOR, 16 * MiB, "0d3e1c2b-0002-4a1b-9c2d-3e4f5a6b7c02", 0,
     "Microsoft reserved partition"),
    ("os", 122683392, 33685504000, "0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03",
     0x8000000000000000, "Basic data partition"),
    ("recovery", 33808187392, 524 * MiB, "0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04",
     0x8000000000000001, ""),
]
# Disk 1 after the seed's manual steps: same geometry, the recovery
# partition's attributes lost (the defect mbstate fixes).
DISK1_PARTS = [
    ("efi", 1 * MiB, 100 * MiB, "1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11", 0,
     "EFI system partition"),
    ("msr", 206848 * SECTOR, 16 * MiB, "1d3e1c2b-0002-4a1b-9c2d-3e4f5a6b7c12", 0,
     "Microsoft reserved partition"),
    ("os", 122683392, 33685504000, "1d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c13", 0,
     "Basic data partition"),
    ("recovery", 33808187392, 524 * MiB, "1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14", 0,
     "Basic data partition"),
]


def guid(s):
    return uuid.UUID(s).bytes_le


def geometry():
    # DISK_GEOMETRY (24) + DiskSize (8) + DISK_PARTITION_INFO + DISK_DETECTION_INFO
    cyl = DISK_SIZE // (255 * 63 * SECTOR)
    g = struct.pack("<qIIII", cyl, 12, 255, 63, SECTOR)
    g += struct.pack("<q", DISK_SIZE)
    g += struct.pack("<II", 24, 1) + guid(DISK0_GUID)  # DISK_PARTITION_INFO (GPT)
    g += struct.pack("<II", 24, 0) + bytes(16)         # DISK_DETECTION_INFO (none)
    return g


def descriptor(serial):
    # STORAGE_DEVICE_DESCRIPTOR: Version, Size, DeviceType, Modifier, Removable,
    # CommandQueueing, VendorIdOffset, ProductIdOffset, RevisionOffset,
    # SerialNumberOffset, BusType, RawPropertiesLength, then strings.
    strings = b"VMware  \0Virtual disk    \x002.0 \0" + serial.encode() + b"\0"
    hdr_len = 40
    vendor = hdr_len
    product = vendor + 9
    rev = product + 17
    ser = rev + 5
    size = hdr_len + len(strings)
    return struct.pack("<IIBBBBIIIIII", 40, size, 0, 0, 0, 1, vendor, product, rev, ser,
                       0xA, 0) + bytes(hdr_len - 36) + strings


def device_id(naa):
    # STORAGE_DEVICE_ID_DESCRIPTOR with a vendor-id (ASCII) then an NAA (binary)
    # identifier, both device-associated.
    vid = b"VMware  Virtual disk    "
    ids = b""
    e1_len = (16 + len(vid) + 3) & ~3
    ids += struct.pack("<IIHHI", 2, 1, len(vid), e1_len, 0) + vid
    ids += bytes(e1_len - 16 - len(vid))
    n = bytes.fromhex(naa)
    e2_len = (16 + len(n) + 3) & ~3
    ids += struct.pack("<IIHHI", 1, 3, len(n), e2_len, 0) + n + bytes(e2_len - 16 - len(n))
    return struct.pack("<III", 12 + len(ids), 12 + len(ids), 2) + ids


def attributes(offline):
    return struct.pack("<IIQ", 16, 0, 1 if offline else 0)


def entry(number, role, off, length, uid, attrs, name):
    e = struct.pack("<I", 1) + bytes(4)                      # PartitionStyle GPT + pad
    e += struct.pack("<qqIBB", off, length, number, 0, 0) + bytes(2)
    n = name.encode("utf-16-le").ljust(72, b"\0")
    e += guid(TYPES[role]) + guid(uid) + struct.pack("<Q", attrs) + n
    assert len(e) == 144
    return e


def layout(disk_guid, parts):
    first_usable = 34 * SECTOR
    usable = (DISK_SIZE // SECTOR - 34 - 33) * SECTOR
    h = struct.pack("<II", 1, len(parts))
    h += guid(disk_guid) + struct.pack("<qqI", first_usable, usable, 128) + bytes(4)
    assert len(h) == 48
    for i, p in enumerate(parts):
        h += entry(i + 1, *p)
    return h


def raw_layout():
    # An uninitialized disk: PARTITION_STYLE_RAW, no entries; Windows still
    # returns one zeroed entry's room.
    return struct.pack("<II", 2, 0) + bytes(40) + bytes(144)


def extents(disk, off, length):
    # VOLUME_DISK_EXTENTS: count, pad, then DISK_EXTENT {DiskNumber, pad, offset, length}
    return struct.pack("<I4xI4xqq", 1, disk, off, length)


def load_option(desc, part_number, start_lba, size_lba, part_guid, path, active=True):
    hd = struct.pack("<BBHIQQ", 4, 1, 42, part_number, start_lba, size_lba) + guid(part_guid) + \
        struct.pack("<BB", 2, 2)
    fp_s = (path + "\0").encode("utf-16-le")
    fp = struct.pack("<BBH", 4, 4, 4 + len(fp_s)) + fp_s
    end = struct.pack("<BBH", 0x7f, 0xff, 4)
    dp = hd + fp + end
    d = (desc + "\0").encode("utf-16-le")
    return struct.pack("<IH", 1 if active else 0, len(dp)) + d + dp + b"WINDOWS\0"


def write(name, data):
    with open(name, "w") as f:
        h = data.hex()
        for i in range(0, len(h), 64):
            f.write(h[i:i + 64] + "\n")


write("disk0_geometry.hex", geometry())
write("disk1_geometry.hex", geometry())
write("disk0_descriptor.hex", descriptor("6000c29a1b2c3d4e5f60718293a4b5c6"))
write("disk1_descriptor.hex", descriptor("6000c2917e8d9c0b1a2f3e4d5c6b7a80"))
write("disk0_deviceid.hex", device_id("6000c29a1b2c3d4e5f60718293a4b5c6"))
write("disk1_deviceid.hex", device_id("6000c2917e8d9c0b1a2f3e4d5c6b7a80"))
write("disk0_attributes.hex", attributes(False))
write("disk1_attributes.hex", attributes(True))
write("disk0_layout.hex", layout(DISK0_GUID, DISK0_PARTS))
write("disk1_layout_raw.hex", raw_layout())
write("disk1_layout_empty_gpt.hex", layout(DISK1_GUID, []))
write("disk1_layout_seed.hex", layout(DISK1_GUID, DISK1_PARTS))
for i, p in enumerate(DISK0_PARTS):
    write("disk0_part%d_extents.hex" % (i + 1), extents(0, p[1], p[2]))
write("boot0000.hex", load_option("Windows Boot Manager", 1, 2048, 204800, DISK0_PARTS[0][3],
                                  "\\EFI\\Microsoft\\Boot\\bootmgfw.efi"))
