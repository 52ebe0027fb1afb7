/* SPDX-License-Identifier: MIT */
/*
 * Device elements (format nibble 1: 0x11000001 device, 0x21000001 osdevice,
 * 0x31000003 ramdisksdidevice, ...), stored as REG_BINARY. All integers
 * little-endian, GUIDs in the on-disk mixed-endian form (as mb_guid holds
 * them).
 *
 *   0x00  16  GUID of an additional-options object (ramdisk: the options
 *             object that holds ramdisksdidevice/ramdisksdipath); zero if none
 *   0x10      device descriptor:
 *     +0x00 u32  device type: 0 block I/O (ramdisk), 5 boot, 6 partition
 *     +0x04 u32  flags (ramdisk: 1, otherwise 0)
 *     +0x08 u32  descriptor size in bytes (0x48 for partition and boot)
 *     +0x0c u32  0
 *   partition (type 6), size 0x48, element 0x58 bytes:
 *     +0x10 16   partition: GPT partition unique GUID (MBR: u64 byte offset of
 *                the partition on the disk)
 *     +0x20 u32  local device type 0 (hard disk)
 *     +0x24 u32  partition style: 0 GPT, 1 MBR
 *     +0x28 16   disk: GPT disk GUID (MBR: u32 disk signature)
 *     +0x38 16   zero
 *   boot (type 5), size 0x48: the rest is zero.
 *   ramdisk (type 0, flags 1, size = element length - 0x10):
 *     +0x10 u32  local device type 3 (ramdisk)
 *     +0x14 20   zero (image base, size, offset: filled in at boot)
 *     +0x28 u32  1
 *     +0x2c u32  bytes from +0x28 to the end of the element
 *     +0x30 u32  5
 *     +0x34 0x48 descriptor of the partition holding the image (as above)
 *     +0x7c      image path, UTF-16LE, NUL-terminated
 *
 * Sources: the MBR partition example on mistyprojects.co.uk "Devices
 * Partition - Data"; ReactOS boot/environ/include/bl.h (BL_DEVICE_DESCRIPTOR,
 * BL_LOCAL_DEVICE, BL_PARTITION_TYPE: GptPartition = 0, MbrPartition = 1;
 * BL_DEVICE_TYPE: BootDevice = 5, PartitionDevice = 6, LocateDevice = 8);
 * and several public scripts that patch BCD stores offline with hivexregedit
 * (same 0x58-byte GPT layout; the ramdisk layout with boot.wim examples).
 * Anything else (locate, MBR, VHD, ...) is kept as raw bytes (DEV_OTHER).
 */
#include "bcd.h"
#include "bcd_internal.h"

#include <stdlib.h>
#include <string.h>

#include "blockdev.h"

#define DEV_BLOCKIO     0
#define DEV_BOOT        5
#define DEV_PARTITION   6
#define LOCAL_HARDDISK  0
#define LOCAL_RAMDISK   3
#define STYLE_GPT       0
#define STYLE_MBR       1
#define DESC_SIZE       0x48u
#define PART_ELEMENT    (0x10u + DESC_SIZE)
#define RAMDISK_PATH    0x8cu   /* element offset of the ramdisk image path */

void mb_bcd_device_clear(mb_bcd_device *dev)
{
        if (!dev)
                return;
        free(dev->raw);
        memset(dev, 0, sizeof(*dev));
}

/* Writes a GPT partition descriptor (0x48 bytes) at d. */
static void put_partition(uint8_t *d, const mb_guid *part, const mb_guid *disk)
{
        memset(d, 0, DESC_SIZE);
        mb_put_le32(d + 0x00, DEV_PARTITION);
        mb_put_le32(d + 0x08, DESC_SIZE);
        memcpy(d + 0x10, part->b, 16);
        mb_put_le32(d + 0x20, LOCAL_HARDDISK);
        mb_put_le32(d + 0x24, STYLE_GPT);
        memcpy(d + 0x28, disk->b, 16);
}

/* Writes an MBR partition descriptor (0x48 bytes) at d. */
static void put_mbr_partition(uint8_t *d, uint64_t offset, uint32_t signature)
{
        memset(d, 0, DESC_SIZE);
        mb_put_le32(d + 0x00, DEV_PARTITION);
        mb_put_le32(d + 0x08, DESC_SIZE);
        mb_put_le64(d + 0x10, offset);
        mb_put_le32(d + 0x20, LOCAL_HARDDISK);
        mb_put_le32(d + 0x24, STYLE_MBR);
        mb_put_le32(d + 0x28, signature);
}

/* Reads an MBR partition descriptor at d (avail bytes); 0 if it is one. */
static int get_mbr_partition(const uint8_t *d, size_t avail, uint64_t *offset,
                             uint32_t *signature)
{
        if (avail < DESC_SIZE || mb_le32(d) != DEV_PARTITION || mb_le32(d + 0x08) < DESC_SIZE ||
            mb_le32(d + 0x20) != LOCAL_HARDDISK || mb_le32(d + 0x24) != STYLE_MBR)
                return -1;
        *offset = mb_le64(d + 0x10);
        *signature = mb_le32(d + 0x28);
        return 0;
}

/* Reads a GPT partition descriptor at d (avail bytes); 0 if it is one. */
static int get_partition(const uint8_t *d, size_t avail, mb_guid *part, mb_guid *disk)
{
        if (avail < DESC_SIZE || mb_le32(d) != DEV_PARTITION || mb_le32(d + 0x08) < DESC_SIZE ||
            mb_le32(d + 0x20) != LOCAL_HARDDISK || mb_le32(d + 0x24) != STYLE_GPT)
                return -1;
        memcpy(part->b, d + 0x10, 16);
        memcpy(disk->b, d + 0x28, 16);
        return 0;
}

int mb_bcd_device_encode(const mb_bcd_device *dev, uint8_t **ret, size_t *ret_len, mb_error *err)
{
        uint8_t *buf, *path16 = NULL;
        size_t len, plen = 0;

        switch (dev->kind) {
        case MB_BCD_DEV_PARTITION:
        case MB_BCD_DEV_BOOT:
                len = PART_ELEMENT;
                break;
        case MB_BCD_DEV_RAMDISK:
                if (dev->ramdisk_path[0] != '\\' ||
                    memchr(dev->ramdisk_path, '\0', sizeof(dev->ramdisk_path)) == NULL)
                        return mb_error_set(err, MB_EINVAL,
                                            "BCD ramdisk device: image path must start with '\\'");
                if (mb_bcd_utf16(dev->ramdisk_path, &path16, &plen) != 0)
                        return mb_error_set(err, MB_EINVAL,
                                            "BCD ramdisk device: image path \"%s\" is not valid UTF-8",
                                            dev->ramdisk_path);
                len = RAMDISK_PATH + plen;
                break;
        case MB_BCD_DEV_OTHER:
                if (!dev->raw || dev->raw_len < 0x10)
                        return mb_error_set(err, MB_EINVAL,
                                            "BCD device of unknown kind needs its raw bytes (%zu given)",
                                            dev->raw_len);
                len = dev->raw_len;
                break;
        default:
                return mb_error_set(err, MB_EINVAL, "BCD device kind %d cannot be stored",
                                    (int)dev->kind);
        }
        buf = calloc(1, len);
        if (!buf) {
                free(path16);
                return mb_error_set(err, MB_ENOMEM, "BCD device element: out of memory");
        }
        switch (dev->kind) {
        case MB_BCD_DEV_PARTITION:
                memcpy(buf, dev->options_id.b, 16);
                if (dev->mbr)
                        put_mbr_partition(buf + 0x10, dev->mbr_offset, dev->mbr_signature);
                else
                        put_partition(buf + 0x10, &dev->partition_guid, &dev->disk_guid);
                break;
        case MB_BCD_DEV_BOOT:
                memcpy(buf, dev->options_id.b, 16);
                mb_put_le32(buf + 0x10, DEV_BOOT);
                mb_put_le32(buf + 0x18, DESC_SIZE);
                break;
        case MB_BCD_DEV_RAMDISK:
                memcpy(buf, dev->options_id.b, 16);
                mb_put_le32(buf + 0x10, DEV_BLOCKIO);
                mb_put_le32(buf + 0x14, 1);
                mb_put_le32(buf + 0x18, (uint32_t)(len - 0x10));
                mb_put_le32(buf + 0x20, LOCAL_RAMDISK);
                mb_put_le32(buf + 0x38, 1);
                mb_put_le32(buf + 0x3c, (uint32_t)(len - 0x38));
                mb_put_le32(buf + 0x40, 5);
                put_partition(buf + 0x44, &dev->partition_guid, &dev->disk_guid);
                memcpy(buf + RAMDISK_PATH, path16, plen);
                break;
        default:
                memcpy(buf, dev->raw, len);
                break;
        }
        free(path16);
        *ret = buf;
        *ret_len = len;
        return 0;
}

int mb_bcd_device_decode(const uint8_t *data, size_t len, mb_bcd_device *ret, mb_error *err)
{
        mb_bcd_device d;
        const uint8_t *desc = data + 0x10;

        memset(&d, 0, sizeof(d));
        d.kind = MB_BCD_DEV_OTHER;
        d.raw = malloc(len ? len : 1);
        if (!d.raw)
                return mb_error_set(err, MB_ENOMEM, "BCD device element: out of memory");
        memcpy(d.raw, data, len);
        d.raw_len = len;
        if (len >= PART_ELEMENT) {
                uint32_t type = mb_le32(desc), flags = mb_le32(desc + 4);

                memcpy(d.options_id.b, data, 16);
                if (type == DEV_PARTITION &&
                    get_partition(desc, len - 0x10, &d.partition_guid, &d.disk_guid) == 0) {
                        d.kind = MB_BCD_DEV_PARTITION;
                } else if (type == DEV_PARTITION &&
                           get_mbr_partition(desc, len - 0x10, &d.mbr_offset,
                                             &d.mbr_signature) == 0) {
                        d.kind = MB_BCD_DEV_PARTITION;
                        d.mbr = 1;
                } else if (type == DEV_BOOT) {
                        d.kind = MB_BCD_DEV_BOOT;
                } else if (type == DEV_BLOCKIO && flags == 1 && len >= RAMDISK_PATH + 2 &&
                           mb_le32(desc + 0x10) == LOCAL_RAMDISK &&
                           get_partition(data + 0x44, len - 0x44, &d.partition_guid,
                                         &d.disk_guid) == 0) {
                        char *p = mb_bcd_utf8(data + RAMDISK_PATH, len - RAMDISK_PATH);

                        if (!p) {
                                free(d.raw);
                                return mb_error_set(err, MB_ENOMEM,
                                                    "BCD device element: out of memory");
                        }
                        if (strlen(p) < sizeof(d.ramdisk_path)) {
                                strcpy(d.ramdisk_path, p);
                                d.kind = MB_BCD_DEV_RAMDISK;
                        } else {
                                memset(&d.partition_guid, 0, sizeof(d.partition_guid));
                                memset(&d.disk_guid, 0, sizeof(d.disk_guid));
                        }
                        free(p);
                }
        }
        *ret = d;
        return 0;
}

int mb_bcd_device_retarget(mb_bcd_device *dev, const mb_guid *part, const mb_guid *disk,
                           mb_error *err)
{
        size_t at;

        if (dev->kind == MB_BCD_DEV_PARTITION && !dev->mbr)
                at = 0x10;
        else if (dev->kind == MB_BCD_DEV_RAMDISK)
                at = 0x44;
        else
                return mb_error_set(err, MB_EINVAL,
                                    "BCD device: only a GPT partition or a ramdisk on one can be pointed at another partition");
        if (!dev->raw || dev->raw_len < at + DESC_SIZE ||
            get_partition(dev->raw + at, dev->raw_len - at, &(mb_guid){ 0 }, &(mb_guid){ 0 }) < 0)
                return mb_error_set(err, MB_EINVAL, "BCD device: its stored bytes hold no GPT partition descriptor");
        memcpy(dev->raw + at + 0x10, part->b, 16);
        memcpy(dev->raw + at + 0x28, disk->b, 16);
        dev->partition_guid = *part;
        dev->disk_guid = *disk;
        return 0;
}
