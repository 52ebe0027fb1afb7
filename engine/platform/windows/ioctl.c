/* SPDX-License-Identifier: MIT */
/*
 * Parsers and builders of the Windows disk IOCTL structures: geometry,
 * device descriptor and id, disk attributes, GPT drive layouts and volume
 * extents read into facts, and the SET_DISK_ATTRIBUTES, CREATE_DISK and
 * drive layout buffers the target sends.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Layout entry offsets (win32_layout.c asserts them against the headers). */
#define LAYOUT_HDR offsetof(DRIVE_LAYOUT_INFORMATION_EX, PartitionEntry)
#define ENTRY_SIZE sizeof(PARTITION_INFORMATION_EX)

const char *mb_win_bus_name(uint32_t bus)
{
        static const char *const names[] = {
                "unknown", "scsi", "atapi", "ata", "1394", "ssa", "fibre", "usb", "raid",
                "iscsi", "sas", "sata", "sd", "mmc", "virtual", "file-backed-virtual",
                "spaces", "nvme", "scm", "ufs",
        };

        return bus < sizeof(names) / sizeof(names[0]) ? names[bus] : "unknown";
}

int mb_win_parse_geometry(const void *buf, size_t len, mb_disk_fact *d, mb_error *err)
{
        DISK_GEOMETRY_EX g;

        if (len < offsetof(DISK_GEOMETRY_EX, Data))
                return mb_error_set(err, MB_ECORRUPT,
                                    "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX returned %zu bytes, expected at least %zu",
                                    len, offsetof(DISK_GEOMETRY_EX, Data));
        memcpy(&g, buf, offsetof(DISK_GEOMETRY_EX, Data));
        if (g.Geometry.BytesPerSector < 512 || (g.Geometry.BytesPerSector & 511) ||
            g.DiskSize.QuadPart <= 0)
                return mb_error_set(err, MB_ECORRUPT,
                                    "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX: implausible geometry (%lu bytes per sector, size %lld)",
                                    (unsigned long)g.Geometry.BytesPerSector,
                                    (long long)g.DiskSize.QuadPart);
        d->sector_size = g.Geometry.BytesPerSector;
        d->size = (uint64_t)g.DiskSize.QuadPart;
        return 0;
}

int mb_win_parse_access_alignment(const void *buf, size_t len, mb_disk_fact *d, mb_error *err)
{
        STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR a;

        if (len < sizeof(a))
                return mb_error_set(err, MB_ECORRUPT,
                                    "STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR: %zu bytes, expected at least %zu",
                                    len, sizeof(a));
        memcpy(&a, buf, sizeof(a));
        if (a.BytesPerLogicalSector != d->sector_size)
                return mb_error_set(err, MB_ECORRUPT,
                                    "the storage stack reports %lu-byte logical sectors "
                                    "(StorageAccessAlignmentProperty) but the disk driver %lu-byte "
                                    "sectors (IOCTL_DISK_GET_DRIVE_GEOMETRY_EX); refusing to guess "
                                    "which addresses the disk",
                                    (unsigned long)a.BytesPerLogicalSector,
                                    (unsigned long)d->sector_size);
        if (a.BytesPerPhysicalSector == 0)
                return 0;       /* the descriptor does not tell */
        if (a.BytesPerPhysicalSector < a.BytesPerLogicalSector ||
            a.BytesPerPhysicalSector % a.BytesPerLogicalSector ||
            (a.BytesPerPhysicalSector & (a.BytesPerPhysicalSector - 1)))
                return mb_error_set(err, MB_ECORRUPT,
                                    "StorageAccessAlignmentProperty: implausible physical sector "
                                    "of %lu bytes for %lu-byte logical sectors",
                                    (unsigned long)a.BytesPerPhysicalSector,
                                    (unsigned long)a.BytesPerLogicalSector);
        d->physical_sector_size = a.BytesPerPhysicalSector;
        return 0;
}

/* A NUL-terminated ASCII string at off inside buf, trimmed of spaces. */
static char *descriptor_string(const uint8_t *buf, size_t len, DWORD off)
{
        size_t end, start;
        char *s;

        if (off == 0 || off >= len)
                return NULL;
        for (end = off; end < len && buf[end]; end++)
                ;
        for (start = off; start < end && buf[start] == ' '; start++)
                ;
        while (end > start && buf[end - 1] == ' ')
                end--;
        if (end == start)
                return NULL;
        s = malloc(end - start + 1);
        if (!s)
                return NULL;
        memcpy(s, buf + start, end - start);
        s[end - start] = '\0';
        return s;
}

int mb_win_parse_device_descriptor(const void *buf, size_t len, mb_disk_fact *d,
                                   const char **ret_bus, mb_error *err)
{
        STORAGE_DEVICE_DESCRIPTOR sd;
        size_t used;

        if (len < offsetof(STORAGE_DEVICE_DESCRIPTOR, RawDeviceProperties))
                return mb_error_set(err, MB_ECORRUPT,
                                    "STORAGE_DEVICE_DESCRIPTOR: %zu bytes, expected at least %zu",
                                    len, offsetof(STORAGE_DEVICE_DESCRIPTOR, RawDeviceProperties));
        memcpy(&sd, buf, offsetof(STORAGE_DEVICE_DESCRIPTOR, RawDeviceProperties));
        used = sd.Size < len ? sd.Size : len;
        free(d->serial);
        d->serial = descriptor_string(buf, used, sd.SerialNumberOffset);
        if (ret_bus)
                *ret_bus = mb_win_bus_name((uint32_t)sd.BusType);
        return 0;
}

int mb_win_parse_device_id(const void *buf, size_t len, mb_disk_fact *d, mb_error *err)
{
        /* Preference: NAA, EUI-64, then T10 vendor id; device association only. */
        static const int rank[] = { [StorageIdTypeFCPHName] = 3, [StorageIdTypeEUI64] = 2,
                                    [StorageIdTypeVendorId] = 1 };
        const uint8_t *b = buf;
        STORAGE_DEVICE_ID_DESCRIPTOR h;
        size_t off, used;
        const uint8_t *best = NULL;
        size_t best_len = 0;
        int best_rank = 0, best_binary = 0;

        if (len < offsetof(STORAGE_DEVICE_ID_DESCRIPTOR, Identifiers))
                return mb_error_set(err, MB_ECORRUPT,
                                    "STORAGE_DEVICE_ID_DESCRIPTOR: %zu bytes, too short", len);
        memcpy(&h, buf, offsetof(STORAGE_DEVICE_ID_DESCRIPTOR, Identifiers));
        used = h.Size < len ? h.Size : len;
        off = offsetof(STORAGE_DEVICE_ID_DESCRIPTOR, Identifiers);
        for (DWORD i = 0; i < h.NumberOfIdentifiers; i++) {
                STORAGE_IDENTIFIER id;
                size_t hdr = offsetof(STORAGE_IDENTIFIER, Identifier);
                int r;

                if (off + hdr > used)
                        break;
                memcpy(&id, b + off, hdr);
                if (off + hdr + id.IdentifierSize > used)
                        break;
                r = (unsigned)id.Type < sizeof(rank) / sizeof(rank[0]) ? rank[id.Type] : 0;
                if (id.Association == StorageIdAssocDevice && r > best_rank &&
                    id.IdentifierSize > 0) {
                        best = b + off + hdr;
                        best_len = id.IdentifierSize;
                        best_rank = r;
                        best_binary = id.CodeSet == StorageIdCodeSetBinary;
                }
                if (id.NextOffset == 0)
                        break;
                off += id.NextOffset;
        }
        free(d->unique_id);
        d->unique_id = NULL;
        if (!best)
                return 0;
        if (best_binary) {
                char *s = malloc(best_len * 2 + 1);

                if (!s)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                for (size_t i = 0; i < best_len; i++)
                        sprintf(s + 2 * i, "%02x", best[i]);
                d->unique_id = s;
        } else {
                {
                        char *s = malloc(best_len + 1);
                        size_t n = 0;

                        if (!s)
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        for (size_t i = 0; i < best_len && best[i]; i++)
                                s[n++] = (char)best[i];
                        while (n > 0 && s[n - 1] == ' ')
                                n--;
                        s[n] = '\0';
                        d->unique_id = s;
                }
        }
        return 0;
}

int mb_win_parse_disk_attributes(const void *buf, size_t len, mb_disk_fact *d, mb_error *err)
{
        GET_DISK_ATTRIBUTES a;

        if (len < sizeof(a))
                return mb_error_set(err, MB_ECORRUPT,
                                    "GET_DISK_ATTRIBUTES: %zu bytes, expected %zu", len, sizeof(a));
        memcpy(&a, buf, sizeof(a));
        d->online = !(a.Attributes & DISK_ATTRIBUTE_OFFLINE);
        d->read_only = (a.Attributes & DISK_ATTRIBUTE_READ_ONLY) != 0;
        return 0;
}

static char *guid_text(const GUID *g)
{
        char buf[37];

        mb_w_guid_format(g, buf);
        return mb_strdup(buf);
}

static bool guid_is_null(const GUID *g)
{
        static const GUID zero;

        return memcmp(g, &zero, sizeof(zero)) == 0;
}

int mb_win_parse_layout(const void *buf, size_t len, mb_disk_fact *d, mb_error *err)
{
        DRIVE_LAYOUT_INFORMATION_EX h;
        uint32_t ss = d->sector_size ? d->sector_size : 512;

        if (len < LAYOUT_HDR)
                return mb_error_set(err, MB_ECORRUPT,
                                    "DRIVE_LAYOUT_INFORMATION_EX: %zu bytes, expected at least %zu",
                                    len, (size_t)LAYOUT_HDR);
        memcpy(&h, buf, LAYOUT_HDR);
        if (h.PartitionCount > (len - LAYOUT_HDR) / ENTRY_SIZE)
                return mb_error_set(err, MB_ECORRUPT,
                                    "DRIVE_LAYOUT_INFORMATION_EX: %lu partitions do not fit in %zu bytes",
                                    (unsigned long)h.PartitionCount, len);
        for (uint32_t i = 0; i < d->n_partitions; i++)
                mb_part_fact_clear(&d->partitions[i]);
        d->n_partitions = 0;
        free(d->disk_guid);
        d->disk_guid = NULL;
        d->first_usable_lba = d->last_usable_lba = 0;
        d->dynamic = false;

        switch (h.PartitionStyle) {
        case PARTITION_STYLE_GPT:
                d->style = MB_STYLE_GPT;
                d->disk_guid = guid_text(&h.Gpt.DiskId);
                d->first_usable_lba = (uint64_t)h.Gpt.StartingUsableOffset.QuadPart / ss;
                d->last_usable_lba = ((uint64_t)h.Gpt.StartingUsableOffset.QuadPart +
                                      (uint64_t)h.Gpt.UsableLength.QuadPart) / ss - 1;
                break;
        case PARTITION_STYLE_MBR:
                d->style = MB_STYLE_MBR;
                break;
        case PARTITION_STYLE_RAW:
                d->style = MB_STYLE_RAW;
                return 0;
        default:
                return mb_error_set(err, MB_ECORRUPT, "DRIVE_LAYOUT_INFORMATION_EX: unknown partition style %lu",
                                    (unsigned long)h.PartitionStyle);
        }

        for (uint32_t i = 0; i < h.PartitionCount; i++) {
                PARTITION_INFORMATION_EX e;
                mb_part_fact *p;

                memcpy(&e, (const uint8_t *)buf + LAYOUT_HDR + i * ENTRY_SIZE, sizeof(e));
                if (e.PartitionStyle == PARTITION_STYLE_GPT) {
                        if (guid_is_null(&e.Gpt.PartitionType))
                                continue;
                } else if (e.PartitionStyle == PARTITION_STYLE_MBR) {
                        if (e.Mbr.PartitionType == 0 || e.PartitionNumber == 0)
                                continue;
                } else {
                        continue;
                }
                if (e.StartingOffset.QuadPart < 0 || e.PartitionLength.QuadPart <= 0 ||
                    e.StartingOffset.QuadPart % ss || e.PartitionLength.QuadPart % ss)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "partition %lu: offset %lld / length %lld not in whole %u-byte sectors",
                                            (unsigned long)e.PartitionNumber,
                                            (long long)e.StartingOffset.QuadPart,
                                            (long long)e.PartitionLength.QuadPart, ss);
                p = mb_disk_add_part(d);
                if (!p)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                p->number = e.PartitionNumber;
                p->first_lba = (uint64_t)e.StartingOffset.QuadPart / ss;
                p->last_lba = p->first_lba + (uint64_t)e.PartitionLength.QuadPart / ss - 1;
                if (e.PartitionStyle == PARTITION_STYLE_GPT) {
                        p->type_guid = guid_text(&e.Gpt.PartitionType);
                        p->unique_guid = guid_text(&e.Gpt.PartitionId);
                        p->name = mb_w_to_utf8_n(e.Gpt.Name, 36);
                        p->attributes = e.Gpt.Attributes;
                        p->role = mb_role_from_type_guid(p->type_guid);
                        if (!p->type_guid || !p->unique_guid || !p->name)
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        if (p->role == MB_ROLE_LDM_METADATA || p->role == MB_ROLE_LDM_DATA)
                                d->dynamic = true;
                } else {
                        char t[8];

                        snprintf(t, sizeof(t), "0x%02x", e.Mbr.PartitionType);
                        p->type_guid = mb_strdup(t);
                        if (e.Mbr.PartitionType == 0x42)
                                d->dynamic = true;
                }
        }
        mb_disk_sort_parts(d);
        return 0;
}

int mb_win_parse_extents(const void *buf, size_t len, mb_win_extent *ret, size_t max,
                         size_t *ret_n, mb_error *err)
{
        VOLUME_DISK_EXTENTS h;
        size_t n, hdr = offsetof(VOLUME_DISK_EXTENTS, Extents);

        if (len < hdr)
                return mb_error_set(err, MB_ECORRUPT, "VOLUME_DISK_EXTENTS: %zu bytes, too short", len);
        memcpy(&h, buf, hdr);
        n = h.NumberOfDiskExtents;
        if (n > (len - hdr) / sizeof(DISK_EXTENT))
                return mb_error_set(err, MB_ECORRUPT,
                                    "VOLUME_DISK_EXTENTS: %zu extents do not fit in %zu bytes", n, len);
        if (n > max)
                n = max;
        for (size_t i = 0; i < n; i++) {
                DISK_EXTENT e;

                memcpy(&e, (const uint8_t *)buf + hdr + i * sizeof(DISK_EXTENT), sizeof(e));
                ret[i].disk = e.DiskNumber;
                ret[i].offset = (uint64_t)e.StartingOffset.QuadPart;
                ret[i].length = (uint64_t)e.ExtentLength.QuadPart;
        }
        *ret_n = n;
        return 0;
}

void mb_win_build_online(SET_DISK_ATTRIBUTES *ret)
{
        memset(ret, 0, sizeof(*ret));
        /* The documentation says sizeof(GET_DISK_ATTRIBUTES); the disk class
         * driver checks for the size of the structure it receives. */
        ret->Version = sizeof(SET_DISK_ATTRIBUTES);
        ret->Persist = TRUE;
        ret->Attributes = 0;
        ret->AttributesMask = DISK_ATTRIBUTE_OFFLINE | DISK_ATTRIBUTE_READ_ONLY;
}

void mb_win_build_create_gpt(const GUID *disk_id, CREATE_DISK *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->PartitionStyle = PARTITION_STYLE_GPT;
        ret->Gpt.DiskId = *disk_id;
        ret->Gpt.MaxPartitionCount = 128;
}

void mb_win_build_empty_gpt_layout(const GUID *disk_id, DRIVE_LAYOUT_INFORMATION_EX *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->PartitionStyle = PARTITION_STYLE_GPT;
        ret->PartitionCount = 0;
        ret->Gpt.DiskId = *disk_id;
        ret->Gpt.MaxPartitionCount = 128;
}

static int find_entry(uint8_t *entries, DWORD count, uint32_t ss, const mb_op *op, mb_error *err)
{
        const char *want = mb_role_type_guid(op->role);
        int found = -1;

        for (DWORD i = 0; i < count; i++) {
                PARTITION_INFORMATION_EX e;
                char t[37];

                memcpy(&e, entries + i * ENTRY_SIZE, sizeof(e));
                if (e.PartitionStyle != PARTITION_STYLE_GPT)
                        continue;
                mb_w_guid_format(&e.Gpt.PartitionType, t);
                if (op->first_lba && (uint64_t)e.StartingOffset.QuadPart == op->first_lba * ss) {
                        found = (int)i;
                        break;
                }
                if (want && strcmp(t, want) == 0 && found < 0)
                        found = (int)i;
        }
        if (found < 0)
                return mb_error_set(err, MB_ENOENT, "disk %u has no %s partition", op->disk,
                                    mb_role_to_string(op->role));
        return found;
}

int mb_win_build_layout(const void *cur, size_t cur_len, uint32_t ss, const mb_op *op,
                        const GUID *new_id, void **ret, size_t *ret_len, mb_error *err)
{
        DRIVE_LAYOUT_INFORMATION_EX h;
        size_t out_len;
        uint8_t *out, *entries;
        DWORD count;
        PARTITION_INFORMATION_EX e;
        int idx, r;

        if (cur_len < LAYOUT_HDR)
                return mb_error_set(err, MB_ECORRUPT, "current drive layout is %zu bytes, too short",
                                    cur_len);
        memcpy(&h, cur, LAYOUT_HDR);
        if (h.PartitionStyle != PARTITION_STYLE_GPT)
                return mb_error_set(err, MB_ESTATE, "disk %u is not a GPT disk", op->disk);
        if (h.PartitionCount > (cur_len - LAYOUT_HDR) / ENTRY_SIZE)
                return mb_error_set(err, MB_ECORRUPT, "current drive layout is truncated");
        count = h.PartitionCount + (op->kind == MB_OP_PART_CREATE ? 1 : 0);
        out_len = LAYOUT_HDR + (count ? count : 1) * ENTRY_SIZE;
        out = calloc(1, out_len);
        if (!out)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        memcpy(out, cur, LAYOUT_HDR + h.PartitionCount * ENTRY_SIZE);
        entries = out + LAYOUT_HDR;

        switch (op->kind) {
        case MB_OP_PART_CREATE: {
                uint64_t first = (uint64_t)h.Gpt.StartingUsableOffset.QuadPart / ss;
                uint64_t last = ((uint64_t)h.Gpt.StartingUsableOffset.QuadPart +
                                 (uint64_t)h.Gpt.UsableLength.QuadPart) / ss - 1;
                const char *type = op->type_guid[0] ? op->type_guid : mb_role_type_guid(op->role);
                const char *name = op->name[0] ? op->name : mb_role_default_name(op->role);
                WCHAR *wname;

                if (op->first_lba < first || op->last_lba > last || op->last_lba < op->first_lba) {
                        r = mb_error_set(err, MB_EINVAL,
                                         "disk %u: partition at LBA %llu-%llu is outside the usable area %llu-%llu",
                                         op->disk, (unsigned long long)op->first_lba,
                                         (unsigned long long)op->last_lba,
                                         (unsigned long long)first, (unsigned long long)last);
                        goto fail;
                }
                for (DWORD i = 0; i < h.PartitionCount; i++) {
                        uint64_t s, l;

                        memcpy(&e, entries + i * ENTRY_SIZE, sizeof(e));
                        s = (uint64_t)e.StartingOffset.QuadPart / ss;
                        l = s + (uint64_t)e.PartitionLength.QuadPart / ss - 1;
                        if (op->first_lba <= l && s <= op->last_lba) {
                                r = mb_error_set(err, MB_EUNSAFE,
                                                 "disk %u: new %s partition at LBA %llu-%llu overlaps partition %lu (LBA %llu-%llu)",
                                                 op->disk, mb_role_to_string(op->role),
                                                 (unsigned long long)op->first_lba,
                                                 (unsigned long long)op->last_lba,
                                                 (unsigned long)e.PartitionNumber,
                                                 (unsigned long long)s, (unsigned long long)l);
                                goto fail;
                        }
                }
                memset(&e, 0, sizeof(e));
                e.PartitionStyle = PARTITION_STYLE_GPT;
                e.StartingOffset.QuadPart = (int64_t)(op->first_lba * ss);
                e.PartitionLength.QuadPart = (int64_t)((op->last_lba - op->first_lba + 1) * ss);
                e.PartitionNumber = 0;
                e.RewritePartition = TRUE;
                if (!type || mb_w_guid_parse(type, &e.Gpt.PartitionType) < 0) {
                        r = mb_error_set(err, MB_EINVAL, "no valid type GUID for role %s",
                                         mb_role_to_string(op->role));
                        goto fail;
                }
                e.Gpt.PartitionId = *new_id;
                e.Gpt.Attributes = op->attributes;
                wname = mb_w_from_utf8(name ? name : "");
                if (!wname || mb_w_len(wname) > 36) {
                        free(wname);
                        r = mb_error_set(err, MB_EINVAL, "partition name \"%s\" is longer than 36 UTF-16 units",
                                         name);
                        goto fail;
                }
                memcpy(e.Gpt.Name, wname, mb_w_len(wname) * sizeof(WCHAR));
                free(wname);
                memcpy(entries + h.PartitionCount * ENTRY_SIZE, &e, sizeof(e));
                break;
        }
        case MB_OP_PART_SET_TYPE:
        case MB_OP_PART_SET_ATTRS:
        case MB_OP_PART_SET_NAME:
                idx = find_entry(entries, h.PartitionCount, ss, op, err);
                if (idx < 0) {
                        r = idx;
                        goto fail;
                }
                memcpy(&e, entries + (size_t)idx * ENTRY_SIZE, sizeof(e));
                e.RewritePartition = TRUE;
                if (op->kind == MB_OP_PART_SET_TYPE) {
                        if (mb_w_guid_parse(op->type_guid, &e.Gpt.PartitionType) < 0) {
                                r = mb_error_set(err, MB_EINVAL, "invalid type GUID \"%s\"", op->type_guid);
                                goto fail;
                        }
                } else if (op->kind == MB_OP_PART_SET_ATTRS) {
                        e.Gpt.Attributes = op->attributes;
                } else {
                        WCHAR *wname = mb_w_from_utf8(op->name);

                        if (!wname || mb_w_len(wname) > 36) {
                                free(wname);
                                r = mb_error_set(err, MB_EINVAL,
                                                 "partition name \"%s\" is longer than 36 UTF-16 units", op->name);
                                goto fail;
                        }
                        memset(e.Gpt.Name, 0, sizeof(e.Gpt.Name));
                        memcpy(e.Gpt.Name, wname, mb_w_len(wname) * sizeof(WCHAR));
                        free(wname);
                }
                memcpy(entries + (size_t)idx * ENTRY_SIZE, &e, sizeof(e));
                break;
        default:
                r = mb_error_set(err, MB_EINVAL, "operation %d does not change the drive layout",
                                 (int)op->kind);
                goto fail;
        }
        h.PartitionCount = count;
        memcpy(out, &h, LAYOUT_HDR);
        *ret = out;
        *ret_len = out_len;     /* at least sizeof(DRIVE_LAYOUT_INFORMATION_EX), as the driver requires */
        return 0;
fail:
        free(out);
        return r;
}
