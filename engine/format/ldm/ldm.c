/* SPDX-License-Identifier: MIT */
/*
 * LDM (Windows dynamic disk) database reader and the on-disk structures
 * shared with the writer (ldm_write.c).
 *
 * Format facts come from public descriptions (Linux kernel
 * block/partitions/ldm.c and Documentation/admin-guide/ldm.rst, libldm,
 * DiskAccessLibrary) and were checked against the 19 reference images made
 * by Windows Server 2003 R2 and 2008 R2 (shared/testdata/ldm).
 *
 * Confirmed against the reference images (tests/unit/test_ldm.c checks them):
 *  - PRIVHEAD: magic, checksum = byte sum of the sector with bytes 8..11 as
 *    zero (all 110 PRIVHEAD/TOCBLOCK sectors), version 2.11 (2003) / 2.12
 *    (2008), update sequence (0x18) equal to the current TOCBLOCK's sequence,
 *    copies at config+2047 (0x20) and config+1856 (0x28) plus sector 6 on MBR
 *    disks only, disk/host/group GUID text at 0x30/0x70/0xB0, group name at
 *    0xF0, bytes per sector 512 at 0x10F, logical disk start/size, config
 *    start/size (2048), TOCBLOCK positions (0x13B/0x143: 1/2046 on 2003,
 *    2/2045 on 2008), one config and one log, config region 1481 sectors, log
 *    region 224 sectors, a group-wide 32-bit value at 0x163; host GUID
 *    1b77da20-c717-11d0-a5be-00a0c91db73c on every sample.
 *  - GPT dynamic disk (2008 R2): config_start = first LBA of the metadata
 *    partition (34), config_size 2048, PRIVHEADs at 34+1856 and 34+2047 (the
 *    partition's last LBA), TOCBLOCKs at +2 and +2045 only, logical disk =
 *    the LDM data partition exactly.
 *  - TOCBLOCK: sequence at 0x0C, regions of 34 bytes from 0x24 (name 8,
 *    flags 2, start 8, size 8, 0x0006, 0x0001, 4 zero): config at 17 for
 *    1481, log at 1498 for 224.
 *  - VMDB at config+17: 5924 VBLK slots of 128 bytes, header 512 (slots 0-3),
 *    state 1 when clean, version 4.10, committed/pending sequence, committed
 *    and pending record counts per type, FILETIME at 0xBD.
 *  - VBLK: slot number at 4 (always equal to the slot), record group at 8,
 *    fragment number/count at 12/14 (2003 disk records span two fragments),
 *    empty slots are "VBLK" + slot number + zeros; record header: state,
 *    flags, revision/type, length; the byte layout of every record of the
 *    samples (volume r5, component r3, partition r3, disk r3, group r3) is
 *    reproduced byte for byte by the serializers.
 *  - KLOG: two 512-byte pages at the log region start; entries of 24 bytes
 *    from 0x18 (state, committed, pending, recover sequence); 2003 shows a
 *    commit entry (3, committed-1, committed).
 *  - Object ids and commit transaction ids share one counter.
 *
 * Inferred (public descriptions, not visible in the samples):
 *  - VMDB states 2 (change) and 3 (commit), record states 1 (pending
 *    deletion) and 2 (pending activation), and the write order: records,
 *    VMDB "change", KLOG entry, VMDB "commit", activate/delete, VMDB "clean".
 *    The reader handles each of these states; mbstate's writer uses none of
 *    the intermediate ones (see mb_ldm_write in ldm.h).
 *  - What the reader does with an interrupted update: "change" keeps the old
 *    records, "commit" rolls forward.
 *  - Meaning of the PRIVHEAD value at 0x163 (kept per group), the KLOG header
 *    value at 0x04 and its sequence at 0x0C (kept / incremented).
 *  - Record fields that are zero in every sample (volume id1/id2/size2,
 *    partition hidden count, disk record revision 4, group revision 4).
 */
#include "ldm_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 5808c8aa-7e8f-42e0-85d2-e1e90434cfb3 in on-disk (mixed-endian) form */
static const uint8_t gpt_ldm_meta[16] = { 0xaa, 0xc8, 0x08, 0x58, 0x8f, 0x7e, 0xe0, 0x42,
                                          0x85, 0xd2, 0xe1, 0xe9, 0x04, 0x34, 0xcf, 0xb3 };

/* ---------------------------------------------------------------- helpers */

uint32_t ldm_checksum(const uint8_t *s)
{
        uint32_t sum = 0;

        for (size_t i = 0; i < LDM_SECTOR; i++)
                if (i < 8 || i > 11)
                        sum += s[i];
        return sum;
}

void ldm_guid_from_be(const uint8_t be[16], mb_guid *g)
{
        static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

        for (int i = 0; i < 16; i++)
                g->b[order[i]] = be[i];
}

void ldm_guid_to_be(const mb_guid *g, uint8_t be[16])
{
        static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

        for (int i = 0; i < 16; i++)
                be[i] = g->b[order[i]];
}

uint64_t ldm_filetime_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

void ldm_warn(mb_ldm_db *db, const char *fmt, ...)
{
        size_t n = strlen(db->warnings);
        va_list ap;

        if (n + 2 >= sizeof(db->warnings))
                return;
        va_start(ap, fmt);
        vsnprintf(db->warnings + n, sizeof(db->warnings) - n, fmt, ap);
        va_end(ap);
        n = strlen(db->warnings);
        if (n + 1 < sizeof(db->warnings)) {
                db->warnings[n] = '\n';
                db->warnings[n + 1] = '\0';
        }
}

/* Copies a fixed-size on-disk text field, NUL-terminated. */
static void copy_fixed(char *dst, size_t dst_len, const uint8_t *src, size_t src_len)
{
        size_t n = 0;

        while (n < src_len && n + 1 < dst_len && src[n])
                n++;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

static int read_sector(mb_blockdev *dev, uint64_t lba, uint8_t *buf, mb_error *err)
{
        if (lba > UINT64_MAX / LDM_SECTOR)
                return mb_error_set(err, MB_ECORRUPT, "%s: sector %llu is out of range", dev->name,
                                    (unsigned long long)lba);
        return mb_blockdev_read(dev, lba * LDM_SECTOR, buf, LDM_SECTOR, err);
}

/* ------------------------------------------------------ PRIVHEAD, TOCBLOCK */

int ldm_ph_parse(const uint8_t *b, mb_ldm_dev *d, char *why, size_t why_len)
{
        uint32_t stored = mb_be32(b + 8), sum;
        mb_ldm_dev t;
        char tmp[65];

        if (memcmp(b, "PRIVHEAD", 8) != 0) {
                snprintf(why, why_len, "bad magic");
                return -1;
        }
        sum = ldm_checksum(b);
        if (sum != stored) {
                snprintf(why, why_len, "bad checksum (stored 0x%x, computed 0x%x)", stored, sum);
                return -1;
        }
        memset(&t, 0, sizeof(t));
        t.version_major = mb_be16(b + 0x0C);
        t.version_minor = mb_be16(b + 0x0E);
        if (t.version_major != 2 || (t.version_minor != 11 && t.version_minor != 12)) {
                snprintf(why, why_len, "unsupported version %u.%u", t.version_major,
                         t.version_minor);
                return -1;
        }
        t.timestamp = mb_be64(b + 0x10);
        t.update_seq = mb_be64(b + 0x18);
        t.ph_primary = mb_be64(b + 0x20);
        t.ph_secondary = mb_be64(b + 0x28);
        copy_fixed(tmp, sizeof(tmp), b + 0x30, 64);
        if (mb_guid_parse(tmp, &t.disk_guid) != 0) {
                snprintf(why, why_len, "disk GUID \"%.40s\" is not a GUID", tmp);
                return -1;
        }
        copy_fixed(t.host_guid, sizeof(t.host_guid), b + 0x70, 64);
        copy_fixed(t.group_guid, sizeof(t.group_guid), b + 0xB0, 64);
        copy_fixed(t.group_name, sizeof(t.group_name), b + 0xF0, 31);
        t.bytes_per_sector = mb_be32(b + 0x10F);
        t.flags = mb_be32(b + 0x113);
        t.pub_slice = mb_be16(b + 0x117);
        t.priv_slice = mb_be16(b + 0x119);
        t.logical_disk_start = mb_be64(b + 0x11B);
        t.logical_disk_size = mb_be64(b + 0x123);
        t.config_start = mb_be64(b + 0x12B);
        t.config_size = mb_be64(b + 0x133);
        t.toc_primary = mb_be64(b + 0x13B);
        t.toc_secondary = mb_be64(b + 0x143);
        t.n_configs = mb_be32(b + 0x14B);
        t.n_logs = mb_be32(b + 0x14F);
        t.config_sectors = mb_be64(b + 0x153);
        t.log_sectors = mb_be64(b + 0x15B);
        t.disk_signature = mb_be32(b + 0x163);
        memcpy(t.disk_set_guid, b + 0x167, 16);
        memcpy(t.disk_set_guid2, b + 0x177, 16);
        if (t.config_size < 4 || t.config_size > (1ull << 40) || t.ph_primary >= t.config_size ||
            t.ph_secondary >= t.config_size || t.toc_primary >= t.config_size ||
            t.toc_secondary >= t.config_size || t.config_start > (1ull << 48) ||
            t.logical_disk_start > (1ull << 48) || t.logical_disk_size > (1ull << 48)) {
                snprintf(why, why_len, "region fields out of range");
                return -1;
        }
        if (t.group_guid[0] == '\0') {
                snprintf(why, why_len, "no disk group GUID");
                return -1;
        }
        t.dev_index = d->dev_index;
        t.is_gpt = d->is_gpt;
        t.sector6 = d->sector6;
        *d = t;
        return 0;
}

void ldm_ph_build(const mb_ldm_dev *d, uint8_t b[512])
{
        char g[MB_GUID_STR_LEN];

        memset(b, 0, 512);
        memcpy(b, "PRIVHEAD", 8);
        mb_put_be16(b + 0x0C, d->version_major);
        mb_put_be16(b + 0x0E, d->version_minor);
        mb_put_be64(b + 0x10, d->timestamp);
        mb_put_be64(b + 0x18, d->update_seq);
        mb_put_be64(b + 0x20, d->ph_primary);
        mb_put_be64(b + 0x28, d->ph_secondary);
        mb_guid_format(&d->disk_guid, g);
        memcpy(b + 0x30, g, strlen(g));
        memcpy(b + 0x70, d->host_guid, strnlen(d->host_guid, 64));
        memcpy(b + 0xB0, d->group_guid, strnlen(d->group_guid, 64));
        memcpy(b + 0xF0, d->group_name, strnlen(d->group_name, 31));
        mb_put_be32(b + 0x10F, d->bytes_per_sector);
        mb_put_be32(b + 0x113, d->flags);
        mb_put_be16(b + 0x117, d->pub_slice);
        mb_put_be16(b + 0x119, d->priv_slice);
        mb_put_be64(b + 0x11B, d->logical_disk_start);
        mb_put_be64(b + 0x123, d->logical_disk_size);
        mb_put_be64(b + 0x12B, d->config_start);
        mb_put_be64(b + 0x133, d->config_size);
        mb_put_be64(b + 0x13B, d->toc_primary);
        mb_put_be64(b + 0x143, d->toc_secondary);
        mb_put_be32(b + 0x14B, d->n_configs);
        mb_put_be32(b + 0x14F, d->n_logs);
        mb_put_be64(b + 0x153, d->config_sectors);
        mb_put_be64(b + 0x15B, d->log_sectors);
        mb_put_be32(b + 0x163, d->disk_signature);
        memcpy(b + 0x167, d->disk_set_guid, 16);
        memcpy(b + 0x177, d->disk_set_guid2, 16);
        mb_put_be32(b + 8, ldm_checksum(b));
}

int ldm_toc_parse(const uint8_t *b, mb_ldm_dev *d, char *why, size_t why_len)
{
        uint32_t stored = mb_be32(b + 8), sum;
        mb_ldm_region r[2];
        int have_cfg = -1, have_log = -1;

        if (memcmp(b, "TOCBLOCK", 8) != 0) {
                snprintf(why, why_len, "bad magic");
                return -1;
        }
        sum = ldm_checksum(b);
        if (sum != stored) {
                snprintf(why, why_len, "bad checksum (stored 0x%x, computed 0x%x)", stored, sum);
                return -1;
        }
        for (int i = 0; i < 2; i++) {
                const uint8_t *p = b + 0x24 + 34 * i;

                memset(&r[i], 0, sizeof(r[i]));
                copy_fixed(r[i].name, sizeof(r[i].name), p, 8);
                r[i].flags = mb_be16(p + 8);
                r[i].start = mb_be64(p + 10);
                r[i].size = mb_be64(p + 18);
                r[i].unknown = mb_be16(p + 26);
                r[i].copy = mb_be16(p + 28);
                if (strcmp(r[i].name, "config") == 0)
                        have_cfg = i;
                else if (strcmp(r[i].name, "log") == 0)
                        have_log = i;
                if (r[i].size == 0 || r[i].start >= d->config_size ||
                    r[i].size > d->config_size - r[i].start) {
                        snprintf(why, why_len, "region \"%s\" (%llu+%llu) outside the private region",
                                 r[i].name, (unsigned long long)r[i].start,
                                 (unsigned long long)r[i].size);
                        return -1;
                }
        }
        if (have_cfg < 0 || have_log < 0) {
                snprintf(why, why_len, "no \"config\" and \"log\" regions");
                return -1;
        }
        d->toc_seq = mb_be64(b + 0x0C);
        d->regions[0] = r[have_cfg];
        d->regions[1] = r[have_log];
        return 0;
}

void ldm_toc_build(const mb_ldm_dev *d, uint8_t b[512])
{
        memset(b, 0, 512);
        memcpy(b, "TOCBLOCK", 8);
        mb_put_be64(b + 0x0C, d->toc_seq);
        for (int i = 0; i < 2; i++) {
                uint8_t *p = b + 0x24 + 34 * i;
                const mb_ldm_region *r = &d->regions[i];

                memcpy(p, r->name, strnlen(r->name, 8));
                mb_put_be16(p + 8, r->flags);
                mb_put_be64(p + 10, r->start);
                mb_put_be64(p + 18, r->size);
                mb_put_be16(p + 26, r->unknown);
                mb_put_be16(p + 28, r->copy);
        }
        mb_put_be32(b + 8, ldm_checksum(b));
}

/* ------------------------------------------------------------- records */

struct cur {
        const uint8_t *p, *end;
        int bad;
};

static uint8_t c_u8(struct cur *c)
{
        if (c->bad || c->p >= c->end) {
                c->bad = 1;
                return 0;
        }
        return *c->p++;
}

static uint64_t c_be(struct cur *c, int n)
{
        uint64_t v = 0;

        if (c->bad || c->end - c->p < n) {
                c->bad = 1;
                return 0;
        }
        for (int i = 0; i < n; i++)
                v = v << 8 | *c->p++;
        return v;
}

static uint64_t c_var(struct cur *c)
{
        uint8_t n = c_u8(c);

        if (n > 8) {
                c->bad = 1;
                return 0;
        }
        return c_be(c, n);
}

static void c_str(struct cur *c, char *out, size_t cap)
{
        uint8_t n = c_u8(c);

        out[0] = '\0';
        if (c->bad || c->end - c->p < n || (size_t)n >= cap) {
                c->bad = 1;
                return;
        }
        memcpy(out, c->p, n);
        out[n] = '\0';
        c->p += n;
}

static void c_raw(struct cur *c, uint8_t *out, size_t n)
{
        if (c->bad || (size_t)(c->end - c->p) < n) {
                c->bad = 1;
                return;
        }
        memcpy(out, c->p, n);
        c->p += n;
}

static int grow(void **arr, size_t n, size_t elem)
{
        void *p;

        if ((n & (n - 1)) != 0 && n != 0)
                return 0;       /* capacity is the next power of two */
        p = realloc(*arr, (n ? n * 2 : 4) * elem);
        if (!p)
                return -1;
        *arr = p;
        return 0;
}

int ldm_parse_record(mb_ldm_db *db, const ldm_rec *r, const char *what, mb_error *err)
{
        struct cur c = { r->data + 8, r->data + r->len, 0 };
        uint64_t id = c_var(&c);
        char name[MB_LDM_STR_MAX];

        c_str(&c, name, sizeof(name));
        switch (r->type) {
        case LDM_REC_VOL: {
                mb_ldm_vol v;
                uint8_t g[16] = { 0 };

                if (r->rev != 5)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "%s: volume record %llu has revision %u (only 5 is known)",
                                            what, (unsigned long long)id, r->rev);
                memset(&v, 0, sizeof(v));
                v.id = id;
                strcpy(v.name, name);
                v.rec_flags = r->flags;
                c_str(&c, v.type_str, sizeof(v.type_str));
                c_str(&c, v.drive_str, sizeof(v.drive_str));
                c_raw(&c, (uint8_t *)v.state, 14);
                v.state[14] = '\0';
                v.read_policy = c_u8(&c);
                v.number = (uint32_t)c_var(&c);
                v.flags = (uint32_t)c_be(&c, 4);
                v.n_comps = (uint32_t)c_var(&c);
                v.commit_id = c_be(&c, 8);
                v.unknown_txn = c_be(&c, 8);
                v.size = c_var(&c);
                c_be(&c, 4);
                v.part_type = c_u8(&c);
                c_raw(&c, g, 16);
                ldm_guid_from_be(g, &v.guid);
                if (r->flags & 0x08)
                        v.id1 = c_var(&c);
                if (r->flags & 0x20)
                        v.id2 = c_var(&c);
                if (r->flags & 0x80)
                        v.size2 = c_var(&c);
                if (r->flags & 0x02)
                        c_str(&c, v.hint, sizeof(v.hint));
                if (c.bad)
                        break;
                v.type = MB_LDM_VOL_UNKNOWN;
                if (grow((void **)&db->vols, db->n_vols, sizeof(v)) < 0)
                        return mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                db->vols[db->n_vols++] = v;
                return 0;
        }
        case LDM_REC_COMP: {
                mb_ldm_comp m;

                if (r->rev != 3)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "%s: component record %llu has revision %u (only 3 is known)",
                                            what, (unsigned long long)id, r->rev);
                memset(&m, 0, sizeof(m));
                m.id = id;
                strcpy(m.name, name);
                m.rec_flags = r->flags;
                c_str(&c, m.state, sizeof(m.state));
                m.layout = c_u8(&c);
                m.flags = (uint32_t)c_be(&c, 4);
                m.n_parts = (uint32_t)c_var(&c);
                m.commit_id = c_be(&c, 8);
                c_be(&c, 8);
                m.vol_id = c_var(&c);
                m.logsd = c_var(&c);
                if (r->flags & 0x10) {
                        m.stripe_size = c_var(&c);
                        m.n_columns = (uint32_t)c_var(&c);
                }
                if (c.bad)
                        break;
                m.state_ok = strcmp(m.state, "ACTIVE") == 0;
                if (grow((void **)&db->comps, db->n_comps, sizeof(m)) < 0)
                        return mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                db->comps[db->n_comps++] = m;
                return 0;
        }
        case LDM_REC_PART: {
                mb_ldm_part p;

                if (r->rev != 3)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "%s: partition record %llu has revision %u (only 3 is known)",
                                            what, (unsigned long long)id, r->rev);
                memset(&p, 0, sizeof(p));
                p.id = id;
                strcpy(p.name, name);
                p.rec_flags = r->flags;
                p.flags = (uint32_t)c_be(&c, 4);
                p.commit_id = c_be(&c, 8);
                p.start = c_be(&c, 8);
                p.vol_offset = c_be(&c, 8);
                p.size = c_var(&c);
                p.comp_id = c_var(&c);
                p.disk_id = c_var(&c);
                if (r->flags & 0x08)
                        p.col_index = (uint32_t)c_var(&c);
                if (r->flags & 0x20)
                        p.unknown_txn = c_be(&c, 8);
                if (r->flags & 0x40)
                        p.unknown1 = c_var(&c);
                if (r->flags & 0x02)
                        p.hidden = c_var(&c);
                if (c.bad)
                        break;
                if (grow((void **)&db->parts, db->n_parts, sizeof(p)) < 0)
                        return mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                db->parts[db->n_parts++] = p;
                return 0;
        }
        case LDM_REC_DISK: {
                mb_ldm_disk d;
                char gs[MB_LDM_STR_MAX];
                uint8_t g[16] = { 0 };

                memset(&d, 0, sizeof(d));
                d.id = id;
                strcpy(d.name, name);
                d.rec_flags = r->flags;
                d.rev = r->rev;
                d.dev_index = -1;
                if (r->rev == 3) {
                        c_str(&c, gs, sizeof(gs));
                        if (!c.bad && mb_guid_parse(gs, &d.guid) != 0)
                                return mb_error_set(err, MB_ECORRUPT,
                                                    "%s: disk record %llu (%s) has GUID \"%.40s\", not a GUID",
                                                    what, (unsigned long long)id, name, gs);
                } else if (r->rev == 4) {
                        c_raw(&c, g, 16);
                        ldm_guid_from_be(g, &d.guid);
                        c_raw(&c, g, 16);
                        ldm_guid_from_be(g, &d.alt_guid);
                } else {
                        return mb_error_set(err, MB_ENOTSUP,
                                            "%s: disk record %llu has revision %u (3 and 4 are known)",
                                            what, (unsigned long long)id, r->rev);
                }
                c_str(&c, d.last_device, sizeof(d.last_device));
                d.flags = (uint32_t)c_be(&c, 4);
                d.commit_id = c_be(&c, 8);
                if (c.bad)
                        break;
                if (grow((void **)&db->disks, db->n_disks, sizeof(d)) < 0)
                        return mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                db->disks[db->n_disks++] = d;
                return 0;
        }
        case LDM_REC_GROUP: {
                char gs[MB_LDM_STR_MAX];
                uint8_t g[16] = { 0 };

                if (db->dg_id != 0)
                        return mb_error_set(err, MB_ECORRUPT, "%s: two disk group records (%llu and %llu)",
                                            what, (unsigned long long)db->dg_id,
                                            (unsigned long long)id);
                db->dg_rev = r->rev;
                db->dg_rec_flags = r->flags;
                if (r->rev == 3) {
                        c_str(&c, gs, sizeof(gs));
                } else if (r->rev == 4) {
                        mb_guid gg;

                        c_raw(&c, g, 16);
                        ldm_guid_from_be(g, &gg);
                        mb_guid_format(&gg, gs);
                        c_raw(&c, db->dg_set_guid, 16);
                } else {
                        return mb_error_set(err, MB_ENOTSUP,
                                            "%s: disk group record has revision %u (3 and 4 are known)",
                                            what, r->rev);
                }
                c_be(&c, 4);
                db->dg_commit_id = c_be(&c, 8);
                if (r->flags & 0x08) {
                        db->dg_config_copies = (uint32_t)c_var(&c);
                        db->dg_log_copies = (uint32_t)c_var(&c);
                }
                if (r->flags & 0x10)
                        db->dg_minors = (uint32_t)c_var(&c);
                if (c.bad)
                        break;
                if (strcmp(gs, db->group_guid_str) != 0)
                        ldm_warn(db, "%s: disk group record names GUID %s, the VMDB %s", what, gs,
                                 db->group_guid_str);
                db->dg_id = id ? id : 1;
                return 0;
        }
        default:
                return mb_error_set(err, MB_ENOTSUP, "%s: record %llu has unknown type %u", what,
                                    (unsigned long long)id, r->type);
        }
        return mb_error_set(err, MB_ECORRUPT,
                            "%s: record %llu (type %u, group %u, slot %u) is truncated or has an oversized field",
                            what, (unsigned long long)id, r->type, r->group, r->slots[0]);
}

void ldm_recs_free(ldm_rec *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++) {
                free(r[i].data);
                free(r[i].slots);
        }
        free(r);
}

typedef struct frag {
        uint32_t slot, group;
        uint16_t num, cnt;
} frag;

static int frag_cmp(const void *a, const void *b)
{
        const frag *x = a, *y = b;

        if (x->group != y->group)
                return x->group < y->group ? -1 : 1;
        if (x->num != y->num)
                return x->num < y->num ? -1 : 1;
        return 0;
}

int ldm_scan_records(const uint8_t *img, uint32_t n_vblks, uint32_t vblk_size, uint32_t first_slot,
                     const char *what, ldm_rec **ret, size_t *ret_n, mb_error *err)
{
        size_t payload = vblk_size - 16, n_frags = 0, n_recs = 0;
        frag *frags = NULL;
        ldm_rec *recs = NULL;
        int rc = 0;

        frags = calloc(n_vblks ? n_vblks : 1, sizeof(*frags));
        if (!frags)
                return mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
        for (uint32_t s = first_slot; s < n_vblks; s++) {
                const uint8_t *v = img + (size_t)s * vblk_size;
                frag f;

                if (memcmp(v, "VBLK", 4) != 0)
                        continue;
                f.slot = s;
                f.group = mb_be32(v + 8);
                f.num = mb_be16(v + 12);
                f.cnt = mb_be16(v + 14);
                if (f.cnt == 0)
                        continue;
                if (f.num >= f.cnt) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: VBLK in slot %u claims to be fragment %u of %u", what,
                                          s, f.num, f.cnt);
                        goto out;
                }
                frags[n_frags++] = f;
        }
        qsort(frags, n_frags, sizeof(*frags), frag_cmp);
        recs = calloc(n_frags ? n_frags : 1, sizeof(*recs));
        if (!recs) {
                rc = mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                goto out;
        }
        for (size_t i = 0; i < n_frags;) {
                uint16_t cnt = frags[i].cnt;
                ldm_rec *r = &recs[n_recs];
                size_t total;
                uint32_t len;

                if (frags[i].num != 0 || i + cnt > n_frags) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: record group %u is incomplete (fragment %u of %u in slot %u without the rest)",
                                          what, frags[i].group, frags[i].num, cnt, frags[i].slot);
                        goto out;
                }
                for (uint16_t k = 0; k < cnt; k++) {
                        const frag *f = &frags[i + k];

                        if (f->group != frags[i].group || f->num != k || f->cnt != cnt) {
                                rc = mb_error_set(err, MB_ECORRUPT,
                                                  "%s: record group %u has inconsistent fragments (slot %u: fragment %u of %u)",
                                                  what, frags[i].group, f->slot, f->num, f->cnt);
                                goto out;
                        }
                }
                if (i + cnt < n_frags && frags[i + cnt].group == frags[i].group) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: record group %u has more fragments than its count %u (slot %u)",
                                          what, frags[i].group, cnt, frags[i + cnt].slot);
                        goto out;
                }
                total = (size_t)cnt * payload;
                r->data = malloc(total);
                r->slots = malloc(cnt * sizeof(uint32_t));
                n_recs++;
                if (!r->data || !r->slots) {
                        rc = mb_error_set(err, MB_ENOMEM, "%s: out of memory", what);
                        goto out;
                }
                for (uint16_t k = 0; k < cnt; k++) {
                        memcpy(r->data + (size_t)k * payload,
                               img + (size_t)frags[i + k].slot * vblk_size + 16, payload);
                        r->slots[k] = frags[i + k].slot;
                }
                r->n_slots = cnt;
                r->group = frags[i].group;
                len = mb_be32(r->data + 4);
                if (total < 8 || len > total - 8) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: VBLK record in slot %u (group %u) claims %u bytes but its %u fragment(s) hold %zu",
                                          what, frags[i].slot, frags[i].group, len, cnt,
                                          total < 8 ? (size_t)0 : total - 8);
                        goto out;
                }
                r->len = 8 + (size_t)len;
                r->status = mb_be16(r->data);
                r->flags = r->data[2];
                r->type = r->data[3] & 0x0F;
                r->rev = r->data[3] >> 4;
                {
                        struct cur c = { r->data + 8, r->data + r->len, 0 };

                        r->id = c_var(&c);
                }
                i += cnt;
        }
out:
        free(frags);
        if (rc < 0) {
                ldm_recs_free(recs, n_recs);
                return rc;
        }
        *ret = recs;
        *ret_n = n_recs;
        return 0;
}

/* ------------------------------------------------------------- volume types */

void ldm_derive_types(mb_ldm_db *db)
{
        for (size_t i = 0; i < db->n_vols; i++) {
                mb_ldm_vol *v = &db->vols[i];
                size_t n_comps = 0, n_parts = 0;
                int layout = 0, mixed = 0;

                for (size_t j = 0; j < db->n_comps; j++) {
                        mb_ldm_comp *c = &db->comps[j];

                        if (c->vol_id != v->id)
                                continue;
                        if (n_comps++ && c->layout != layout)
                                mixed = 1;
                        layout = c->layout;
                        for (size_t k = 0; k < db->n_parts; k++)
                                if (db->parts[k].comp_id == c->id)
                                        n_parts++;
                }
                if (n_comps == 0 || mixed)
                        v->type = MB_LDM_VOL_UNKNOWN;
                else if (n_comps > 1)
                        v->type = layout == MB_LDM_LAYOUT_CONCAT ? MB_LDM_VOL_MIRRORED
                                                                 : MB_LDM_VOL_UNKNOWN;
                else if (layout == MB_LDM_LAYOUT_STRIPE)
                        v->type = MB_LDM_VOL_STRIPED;
                else if (layout == MB_LDM_LAYOUT_RAID5)
                        v->type = MB_LDM_VOL_RAID5;
                else if (layout == MB_LDM_LAYOUT_CONCAT)
                        v->type = n_parts > 1 ? MB_LDM_VOL_SPANNED : MB_LDM_VOL_SIMPLE;
                else
                        v->type = MB_LDM_VOL_UNKNOWN;
        }
}

const char *mb_ldm_vol_type_name(mb_ldm_vol_type t)
{
        switch (t) {
        case MB_LDM_VOL_SIMPLE: return "simple";
        case MB_LDM_VOL_SPANNED: return "spanned";
        case MB_LDM_VOL_STRIPED: return "striped";
        case MB_LDM_VOL_MIRRORED: return "mirrored";
        case MB_LDM_VOL_RAID5: return "raid5";
        default: return "unknown";
        }
}

/* ------------------------------------------------------------- probing */

static uint32_t gpt_crc32(const void *data, size_t len)
{
        const uint8_t *p = data;
        uint32_t c = 0xffffffffu;

        for (size_t i = 0; i < len; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xffffffffu;
}

/*
 * The GPT copy whose header is at LBA lba: when its header and array CRCs
 * hold, *found is 1 if it has an LDM metadata entry (its range in
 * meta_first and meta_last), 2 if it has none; when the copy is damaged,
 * *found stays 0 and why says how. Negative only for a read error.
 */
static int gpt_ldm_entry(mb_blockdev *dev, uint64_t lba, int *found, uint64_t *meta_first,
                         uint64_t *meta_last, char *why, size_t why_len, mb_error *err)
{
        uint8_t s[LDM_SECTOR], *ents;
        uint64_t n_sect = dev->size / LDM_SECTOR, alba, bytes;
        uint32_t n, esz, hsize, crc;
        int rc;

        why[0] = '\0';
        rc = read_sector(dev, lba, s, err);
        if (rc < 0)
                return rc;
        if (memcmp(s, "EFI PART", 8) != 0)
                return snprintf(why, why_len, "no GPT header"), 0;
        hsize = mb_le32(s + 0x0c);
        if (hsize < 92 || hsize > LDM_SECTOR)
                return snprintf(why, why_len, "header size %u", hsize), 0;
        crc = mb_le32(s + 0x10);
        memset(s + 0x10, 0, 4);
        if (gpt_crc32(s, hsize) != crc)
                return snprintf(why, why_len, "header CRC mismatch"), 0;
        alba = mb_le64(s + 0x48);
        n = mb_le32(s + 0x50);
        esz = mb_le32(s + 0x54);
        if (esz < 128 || esz > 4096 || esz % 8 || n == 0 || n > 16384 || alba < 2 || alba >= n_sect)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: GPT header has an impossible partition array (%u entries of %u bytes at LBA %llu)",
                                    dev->name, n, esz, (unsigned long long)alba);
        bytes = (uint64_t)n * esz;
        if (bytes > dev->size - alba * LDM_SECTOR)
                return mb_error_set(err, MB_ECORRUPT, "%s: GPT partition array runs past the end of the disk",
                                    dev->name);
        ents = malloc(bytes);
        if (!ents)
                return mb_error_set(err, MB_ENOMEM, "%s: out of memory", dev->name);
        rc = mb_blockdev_read(dev, alba * LDM_SECTOR, ents, bytes, err);
        if (rc < 0) {
                free(ents);
                return rc;
        }
        if (gpt_crc32(ents, bytes) != mb_le32(s + 0x58)) {
                free(ents);
                return snprintf(why, why_len, "partition array CRC mismatch"), 0;
        }
        *found = 2;
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = ents + (size_t)i * esz;

                if (memcmp(e, gpt_ldm_meta, 16) == 0) {
                        *meta_first = mb_le64(e + 32);
                        *meta_last = mb_le64(e + 40);
                        *found = 1;
                        break;
                }
        }
        free(ents);
        return 0;
}

/* kind: 0 no LDM partition, 1 MBR (type 0x42), 2 GPT (LDM metadata partition) */
static int find_ldm_partition(mb_blockdev *dev, int *kind, uint64_t *meta_first,
                              uint64_t *meta_last, mb_error *err)
{
        uint8_t s[LDM_SECTOR];
        int mbr = 0, gpt = 0, rc;
        uint64_t n_sect = dev->size / LDM_SECTOR;

        *kind = 0;
        if (n_sect < 8)
                return 0;
        rc = read_sector(dev, 0, s, err);
        if (rc < 0)
                return rc;
        if (s[510] != 0x55 || s[511] != 0xAA)
                return 0;
        for (int i = 0; i < 4; i++) {
                uint8_t t = s[0x1BE + 16 * i + 4];

                if (t == 0x42)
                        mbr = 1;
                else if (t == 0xEE)
                        gpt = 1;
        }
        if (mbr) {
                *kind = 1;
        } else if (gpt) {
                /* the primary GPT, else its backup at the last sector (the
                 * UEFI spec's recovery rule: a copy is used only when its
                 * header and partition array CRCs hold) */
                char why[2][160];
                int found = 0;

                for (int copy = 0; copy < 2 && !found; copy++) {
                        rc = gpt_ldm_entry(dev, copy ? n_sect - 1 : 1, &found, meta_first, meta_last,
                                           why[copy], sizeof(why[copy]), err);
                        if (rc < 0)
                                return rc;
                }
                if (found == 1)
                        *kind = 2;
                else if (found == 0 && why[0][0] && why[1][0] && strcmp(why[0], "no GPT header") != 0)
                        return mb_error_set(err, MB_ECORRUPT, "%s: both GPT copies are damaged (primary: %s; backup: %s)",
                                            dev->name, why[0], why[1]);
                if (*kind == 2 && (*meta_first > *meta_last || *meta_last >= n_sect))
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: LDM metadata partition LBA %llu-%llu is outside the disk",
                                            dev->name, (unsigned long long)*meta_first,
                                            (unsigned long long)*meta_last);
        }
        if (*kind && dev->sector_size != LDM_SECTOR)
                return mb_error_set(err, MB_ENOTSUP,
                                    "%s: LDM on %u-byte sectors is not supported (512 only)",
                                    dev->name, dev->sector_size);
        return 0;
}

/* Per-device state while reading. */
typedef struct devread {
        int is_ldm;
        int uninitialized;      /* GPT metadata partition never written (interrupted conversion) */
        mb_ldm_dev d;
        uint8_t ph_img[LDM_SECTOR], toc_img[LDM_SECTOR];
        char warn[1024];
        uint8_t *cfg;
        size_t cfg_len;
        uint16_t status;
        uint64_t committed, pending, effective;
        uint32_t cnt_c[5], cnt_p[5];
        uint32_t n_vblks, vblk_size, header_size;
        uint16_t vmajor, vminor;
        uint64_t last_mod;
        char vname[32], vguid[65];
        int have_klog;
        uint8_t klog[LDM_SECTOR];
} devread;

static void dwarn(devread *r, const char *fmt, ...) MB_PRINTF(2, 3);
static void dwarn(devread *r, const char *fmt, ...)
{
        size_t n = strlen(r->warn);
        va_list ap;

        if (n + 2 >= sizeof(r->warn))
                return;
        va_start(ap, fmt);
        vsnprintf(r->warn + n, sizeof(r->warn) - n - 1, fmt, ap);
        va_end(ap);
        n = strlen(r->warn);
        r->warn[n] = '\n';
        r->warn[n + 1] = '\0';
}

/* Records a damaged copy on r's member (also a warning line). */
static void damaged(devread *r, mb_ldm_damage_kind kind, uint64_t lba, const char *why)
{
        mb_ldm_damage *g;

        if (r->d.n_damage >= MB_LDM_DAMAGE_MAX)
                return;
        g = &r->d.damage[r->d.n_damage++];
        g->kind = kind;
        g->lba = lba;
        snprintf(g->why, sizeof(g->why), "%s", why);
}

const char *mb_ldm_damage_name(mb_ldm_damage_kind k)
{
        static const char *const names[] = {
                [MB_LDM_DMG_PRIVHEAD] = "PRIVHEAD", [MB_LDM_DMG_TOCBLOCK] = "TOCBLOCK",
                [MB_LDM_DMG_DATABASE] = "database",
        };

        return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Finds and validates the PRIVHEAD copies; fills r->d. */
static int locate_privhead(mb_blockdev *dev, devread *r, mb_error *err)
{
        uint64_t meta_first = 0, meta_last = 0, n_sect = dev->size / LDM_SECTOR;
        uint64_t cand[3], copies[3];
        int kind, rc, n_cand = 0, n_copies = 0, best = -1;
        char why[3][128], reasons[600] = "";
        uint8_t s[3][LDM_SECTOR];
        int ok[3] = { 0, 0, 0 };
        mb_ldm_dev base;

        rc = find_ldm_partition(dev, &kind, &meta_first, &meta_last, err);
        if (rc < 0 || kind == 0)
                return rc;
        r->is_ldm = 1;
        memset(&base, 0, sizeof(base));
        base.is_gpt = kind == 2;
        if (kind == 1) {
                cand[n_cand++] = 6;
                cand[n_cand++] = n_sect - 1;
        } else {
                cand[n_cand++] = meta_last;
                if (meta_last - meta_first + 1 >= 2048)
                        cand[n_cand++] = meta_first + 1856;
        }
        /* find one valid copy to learn where the others are */
        for (int i = 0; i < n_cand && best < 0; i++) {
                char w[128];

                rc = read_sector(dev, cand[i], s[0], err);
                if (rc < 0)
                        return rc;
                if (ldm_ph_parse(s[0], &base, w, sizeof(w)) == 0)
                        best = i;
                else
                        snprintf(reasons + strlen(reasons), sizeof(reasons) - strlen(reasons),
                                 "%ssector %llu: %s", reasons[0] ? "; " : "",
                                 (unsigned long long)cand[i], w);
        }
        if (best < 0 && kind == 2) {
                /* A metadata partition whose PRIVHEAD sectors were never
                 * written: a conversion interrupted between its GPT write
                 * and its database write. Not dynamic yet (the converter
                 * zeroes the range before creating the partition). */
                bool blank = true;

                for (int i = 0; i < n_cand && blank; i++) {
                        rc = read_sector(dev, cand[i], s[0], err);
                        if (rc < 0)
                                return rc;
                        for (size_t j = 0; j < LDM_SECTOR && blank; j++)
                                blank = s[0][j] == 0;
                }
                if (blank) {
                        r->is_ldm = 0;
                        r->uninitialized = 1;
                        return 0;
                }
        }
        if (best < 0)
                return mb_error_set(err, MB_ECORRUPT, "%s: %s partition found but no valid PRIVHEAD (%s)",
                                    dev->name, kind == 1 ? "MBR LDM (type 0x42)" : "GPT LDM metadata",
                                    reasons);
        if (base.config_start + base.config_size > n_sect)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: PRIVHEAD puts the private region (%llu+%llu) past the end of the disk (%llu sectors)",
                                    dev->name, (unsigned long long)base.config_start,
                                    (unsigned long long)base.config_size, (unsigned long long)n_sect);
        if (kind == 1)
                copies[n_copies++] = 6;
        copies[n_copies++] = base.config_start + base.ph_primary;
        if (base.ph_secondary != base.ph_primary)
                copies[n_copies++] = base.config_start + base.ph_secondary;
        best = -1;
        for (int i = 0; i < n_copies; i++) {
                mb_ldm_dev t = base;

                rc = read_sector(dev, copies[i], s[i], err);
                if (rc < 0)
                        return rc;
                ok[i] = ldm_ph_parse(s[i], &t, why[i], sizeof(why[i])) == 0;
                if (ok[i] && best < 0) {
                        best = i;
                        r->d = t;
                }
        }
        if (best < 0)
                return mb_error_set(err, MB_ECORRUPT, "%s: no valid PRIVHEAD copy (sector %llu: %s)",
                                    dev->name, (unsigned long long)copies[0], why[0]);
        for (int i = 0; i < n_copies; i++) {
                if (!ok[i]) {
                        dwarn(r, "%s: PRIVHEAD copy at sector %llu damaged (%s), used the copy at sector %llu",
                              dev->name, (unsigned long long)copies[i], why[i],
                              (unsigned long long)copies[best]);
                        damaged(r, MB_LDM_DMG_PRIVHEAD, copies[i], why[i]);
                } else if (i != best && memcmp(s[i], s[best], LDM_SECTOR) != 0) {
                        dwarn(r, "%s: PRIVHEAD copies at sectors %llu and %llu differ, used sector %llu",
                              dev->name, (unsigned long long)copies[best],
                              (unsigned long long)copies[i], (unsigned long long)copies[best]);
                        damaged(r, MB_LDM_DMG_PRIVHEAD, copies[i], "differs from the copy used");
                }
        }
        r->d.is_gpt = kind == 2;
        r->d.sector6 = kind == 1;
        memcpy(r->ph_img, s[best], LDM_SECTOR);
        if (r->d.logical_disk_start + r->d.logical_disk_size > n_sect)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: PRIVHEAD data area %llu+%llu runs past the end of the disk",
                                    dev->name, (unsigned long long)r->d.logical_disk_start,
                                    (unsigned long long)r->d.logical_disk_size);
        if (kind == 2 && (r->d.config_start != meta_first ||
                          r->d.config_start + r->d.config_size - 1 != meta_last))
                dwarn(r, "%s: PRIVHEAD private region %llu+%llu is not the LDM metadata partition %llu-%llu",
                      dev->name, (unsigned long long)r->d.config_start,
                      (unsigned long long)r->d.config_size, (unsigned long long)meta_first,
                      (unsigned long long)meta_last);
        return 0;
}

int mb_ldm_probe(mb_blockdev *dev, int *ret_is_dynamic, mb_error *err)
{
        devread *r = calloc(1, sizeof(*r));
        int rc;

        if (!r)
                return mb_error_set(err, MB_ENOMEM, "%s: out of memory", dev->name);
        rc = locate_privhead(dev, r, err);
        if (rc == 0)
                *ret_is_dynamic = r->is_ldm;
        free(r);
        return rc;
}

int ldm_probe_dev(mb_blockdev *dev, mb_ldm_dev *ret, int *state, uint64_t *meta_first,
                  uint64_t *meta_last, mb_error *err)
{
        devread *r;
        int kind, rc;

        *meta_first = *meta_last = 0;
        rc = find_ldm_partition(dev, &kind, meta_first, meta_last, err);
        if (rc < 0)
                return rc;
        *state = 0;
        if (kind == 0)
                return 0;
        r = calloc(1, sizeof(*r));
        if (!r)
                return mb_error_set(err, MB_ENOMEM, "%s: out of memory", dev->name);
        rc = locate_privhead(dev, r, err);
        if (rc == MB_ECORRUPT || (rc == 0 && r->uninitialized)) {
                *state = 1;     /* partition there, no (valid) PRIVHEAD */
                rc = 0;
        } else if (rc == 0) {
                *state = 2;
                *ret = r->d;
        }
        free(r);
        return rc;
}

static int read_toc(mb_blockdev *dev, devread *r, mb_error *err)
{
        mb_ldm_dev *d = &r->d;
        uint64_t pos[6];
        int n = 0, n_ph = 0, best = -1, rc;
        uint64_t best_seq = 0;
        char why[6][128];
        int ok[6];
        mb_ldm_dev t[6];
        uint8_t s[6][LDM_SECTOR];

        pos[n++] = d->toc_primary;
        if (d->toc_secondary != d->toc_primary)
                pos[n++] = d->toc_secondary;
        for (int pass = 0; pass < 2 && best < 0; pass++) {
                int from = pass == 0 ? 0 : n;

                if (pass == 1) {
                        /* the usual places, in case the PRIVHEAD points at damaged copies */
                        const uint64_t std[4] = { 1, 2, d->config_size - 3, d->config_size - 2 };

                        for (int k = 0; k < 4; k++) {
                                int dup = 0;

                                for (int j = 0; j < n; j++)
                                        dup |= pos[j] == std[k];
                                if (!dup)
                                        pos[n++] = std[k];
                        }
                }
                for (int i = from; i < n; i++) {
                        t[i] = *d;
                        rc = read_sector(dev, d->config_start + pos[i], s[i], err);
                        if (rc < 0)
                                return rc;
                        ok[i] = ldm_toc_parse(s[i], &t[i], why[i], sizeof(why[i])) == 0;
                        if (ok[i] && (best < 0 || t[i].toc_seq > best_seq)) {
                                best = i;
                                best_seq = t[i].toc_seq;
                        }
                }
                if (pass == 0)
                        n_ph = n;
        }
        if (best < 0)
                return mb_error_set(err, MB_ECORRUPT, "%s: no valid TOCBLOCK (sector %llu: %s)",
                                    dev->name, (unsigned long long)(d->config_start + pos[0]),
                                    why[0]);
        for (int i = 0; i < n_ph; i++) {
                if (!ok[i]) {
                        dwarn(r, "%s: TOCBLOCK at sector %llu damaged (%s), used the copy at sector %llu",
                              dev->name, (unsigned long long)(d->config_start + pos[i]), why[i],
                              (unsigned long long)(d->config_start + pos[best]));
                        damaged(r, MB_LDM_DMG_TOCBLOCK, d->config_start + pos[i], why[i]);
                } else if (i != best && memcmp(s[i], s[best], LDM_SECTOR) != 0) {
                        dwarn(r, "%s: TOCBLOCKs at sectors %llu and %llu differ, used sector %llu",
                              dev->name, (unsigned long long)(d->config_start + pos[best]),
                              (unsigned long long)(d->config_start + pos[i]),
                              (unsigned long long)(d->config_start + pos[best]));
                        damaged(r, MB_LDM_DMG_TOCBLOCK, d->config_start + pos[i],
                                "differs from the copy used");
                }
        }
        d->toc_seq = t[best].toc_seq;
        d->regions[0] = t[best].regions[0];
        d->regions[1] = t[best].regions[1];
        memcpy(r->toc_img, s[best], LDM_SECTOR);
        return 0;
}

static int read_vmdb(mb_blockdev *dev, devread *r, mb_error *err)
{
        mb_ldm_dev *d = &r->d;
        const mb_ldm_region *cr = &d->regions[0], *lr = &d->regions[1];
        uint64_t lba = d->config_start + cr->start, total;
        uint8_t s[LDM_SECTOR];
        int rc;

        rc = read_sector(dev, lba, s, err);
        if (rc < 0)
                return rc;
        if (memcmp(s, "VMDB", 4) != 0)
                return mb_error_set(err, MB_ECORRUPT, "%s: no VMDB at sector %llu", dev->name,
                                    (unsigned long long)lba);
        r->n_vblks = mb_be32(s + VMDB_N_VBLKS);
        r->vblk_size = mb_be32(s + VMDB_VBLK_SIZE);
        r->header_size = mb_be32(s + VMDB_HEADER_SIZE);
        r->status = mb_be16(s + VMDB_STATUS);
        r->vmajor = mb_be16(s + VMDB_MAJOR);
        r->vminor = mb_be16(s + VMDB_MINOR);
        copy_fixed(r->vname, sizeof(r->vname), s + VMDB_NAME, 31);
        copy_fixed(r->vguid, sizeof(r->vguid), s + VMDB_GUID, 64);
        r->committed = mb_be64(s + VMDB_COMMITTED);
        r->pending = mb_be64(s + VMDB_PENDING);
        for (int i = 0; i < 5; i++) {
                r->cnt_c[i] = mb_be32(s + VMDB_COUNTS_C + 4 * i);
                r->cnt_p[i] = mb_be32(s + VMDB_COUNTS_P + 4 * i);
        }
        r->last_mod = mb_be64(s + VMDB_LAST_MOD);
        if (r->vmajor != 4 || (r->vminor != 10 && r->vminor != 12))
                return mb_error_set(err, MB_ENOTSUP, "%s: VMDB at sector %llu has version %u.%u (4.10 expected)",
                                    dev->name, (unsigned long long)lba, r->vmajor, r->vminor);
        total = (uint64_t)r->n_vblks * r->vblk_size;
        if (r->vblk_size < 32 || r->vblk_size > 65536 || r->header_size < 256 ||
            r->header_size % r->vblk_size != 0 || r->n_vblks <= r->header_size / r->vblk_size ||
            total > cr->size * LDM_SECTOR || total > LDM_MAX_CFG_BYTES)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: VMDB at sector %llu has impossible geometry (%u VBLKs of %u bytes, header %u, config region %llu sectors)",
                                    dev->name, (unsigned long long)lba, r->n_vblks, r->vblk_size,
                                    r->header_size, (unsigned long long)cr->size);
        if (r->status != LDM_DB_CLEAN && r->status != LDM_DB_CHANGE && r->status != LDM_DB_COMMIT)
                return mb_error_set(err, MB_ENOTSUP, "%s: VMDB state %u is not supported (1, 2, 3 are)",
                                    dev->name, r->status);
        r->effective = r->status == LDM_DB_COMMIT ? r->pending : r->committed;
        if (r->status == LDM_DB_CHANGE)
                dwarn(r, "%s: transaction %llu was interrupted before its commit; using committed transaction %llu",
                      dev->name, (unsigned long long)r->pending, (unsigned long long)r->committed);
        else if (r->status == LDM_DB_COMMIT)
                dwarn(r, "%s: transaction %llu was committed but not finished; completing it in memory",
                      dev->name, (unsigned long long)r->pending);
        r->cfg_len = (size_t)((total + LDM_SECTOR - 1) / LDM_SECTOR * LDM_SECTOR);
        r->cfg = calloc(1, r->cfg_len);
        if (!r->cfg)
                return mb_error_set(err, MB_ENOMEM, "%s: out of memory", dev->name);
        rc = mb_blockdev_read(dev, lba * LDM_SECTOR, r->cfg, r->cfg_len, err);
        if (rc < 0)
                return rc;
        /* KLOG: the first page of the log region */
        rc = read_sector(dev, d->config_start + lr->start, r->klog, err);
        if (rc < 0)
                return rc;
        r->have_klog = memcmp(r->klog, "KLOG", 4) == 0;
        if (!r->have_klog)
                dwarn(r, "%s: no KLOG at sector %llu", dev->name,
                      (unsigned long long)(d->config_start + lr->start));
        return 0;
}

static void parse_klog(mb_ldm_db *db, const uint8_t *p)
{
        db->klog_txn = mb_be64(p + 4);
        db->klog_seq = mb_be32(p + 0x0C);
        db->n_klog = 0;
        for (size_t off = 0x18; off + 24 <= LDM_SECTOR && db->n_klog < 20; off += 24) {
                mb_ldm_klog_entry e;

                e.status = p[off];
                e.committed = mb_be64(p + off + 1);
                e.pending = mb_be64(p + off + 9);
                e.recover_seq = mb_be32(p + off + 17);
                if (e.status == 0 && e.committed == 0 && e.pending == 0)
                        continue;
                db->klog[db->n_klog++] = e;
        }
}

void mb_ldm_db_free(mb_ldm_db *db)
{
        if (!db)
                return;
        free(db->disks);
        free(db->parts);
        free(db->comps);
        free(db->vols);
        free(db->cfg);
        free(db->devs);
        free(db);
}

/* Builds the object arrays from the chosen config copy. */
static int load_records(mb_ldm_db *db, const devread *src, const char *what, mb_error *err)
{
        ldm_rec *recs = NULL;
        size_t n = 0;
        uint32_t found[5] = { 0 };
        const uint32_t *want = src->status == LDM_DB_COMMIT ? src->cnt_p : src->cnt_c;
        int rc;

        rc = ldm_scan_records(src->cfg, src->n_vblks, src->vblk_size,
                              src->header_size / src->vblk_size, what, &recs, &n, err);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < n; i++) {
                const ldm_rec *r = &recs[i];
                int live;

                if (r->status > LDM_REC_PENDING_ADD) {
                        rc = mb_error_set(err, MB_ECORRUPT, "%s: record in slot %u has state %u",
                                          what, r->slots[0], r->status);
                        goto out;
                }
                if (src->status == LDM_DB_COMMIT)
                        live = r->status != LDM_REC_PENDING_DELETE;
                else
                        live = r->status != LDM_REC_PENDING_ADD;
                if (!live)
                        continue;
                rc = ldm_parse_record(db, r, what, err);
                if (rc < 0)
                        goto out;
                if (r->type >= 1 && r->type <= 4)
                        found[r->type - 1]++;
        }
        {
                static const char *names[4] = { "volume", "component", "partition", "disk" };

                for (int t = 0; t < 4; t++)
                        if (found[t] != want[t]) {
                                rc = mb_error_set(err, MB_ECORRUPT,
                                                  "%s: VMDB announces %u %s records but %u were found",
                                                  what, want[t], names[t], found[t]);
                                goto out;
                        }
        }
out:
        ldm_recs_free(recs, n);
        return rc;
}

/* Cross-checks references between objects. */
static int link_objects(mb_ldm_db *db, const char *what, mb_error *err)
{
        uint64_t max_id = db->dg_id;

#define DUPCHECK(arr, n, kind)                                                                      \
        for (size_t i = 0; i < (n); i++) {                                                          \
                if ((arr)[i].id > max_id)                                                           \
                        max_id = (arr)[i].id;                                                       \
                for (size_t j = i + 1; j < (n); j++)                                                \
                        if ((arr)[i].id == (arr)[j].id)                                             \
                                return mb_error_set(err, MB_ECORRUPT, "%s: two %s records with id %llu", \
                                                    what, kind, (unsigned long long)(arr)[i].id);   \
        }
        DUPCHECK(db->disks, db->n_disks, "disk")
        DUPCHECK(db->parts, db->n_parts, "partition")
        DUPCHECK(db->comps, db->n_comps, "component")
        DUPCHECK(db->vols, db->n_vols, "volume")
#undef DUPCHECK
        for (size_t i = 0; i < db->n_parts; i++) {
                mb_ldm_part *p = &db->parts[i];
                int hd = 0, hc = 0;

                for (size_t j = 0; j < db->n_disks; j++)
                        hd |= db->disks[j].id == p->disk_id;
                for (size_t j = 0; j < db->n_comps; j++)
                        hc |= db->comps[j].id == p->comp_id;
                if (!hd || !hc)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: partition %s (%llu) refers to %s %llu, which does not exist",
                                            what, p->name, (unsigned long long)p->id,
                                            hd ? "component" : "disk",
                                            (unsigned long long)(hd ? p->comp_id : p->disk_id));
        }
        for (size_t i = 0; i < db->n_comps; i++) {
                mb_ldm_comp *c = &db->comps[i];
                int hv = 0;
                uint32_t n = 0;

                for (size_t j = 0; j < db->n_vols; j++)
                        hv |= db->vols[j].id == c->vol_id;
                if (!hv)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: component %s (%llu) refers to volume %llu, which does not exist",
                                            what, c->name, (unsigned long long)c->id,
                                            (unsigned long long)c->vol_id);
                for (size_t j = 0; j < db->n_parts; j++)
                        n += db->parts[j].comp_id == c->id;
                if (n != c->n_parts)
                        ldm_warn(db, "%s: component %s announces %u partitions, %u found", what,
                                 c->name, c->n_parts, n);
        }
        for (size_t i = 0; i < db->n_vols; i++) {
                uint32_t n = 0;

                for (size_t j = 0; j < db->n_comps; j++)
                        n += db->comps[j].vol_id == db->vols[i].id;
                if (n != db->vols[i].n_comps)
                        ldm_warn(db, "%s: volume %s announces %u components, %u found", what,
                                 db->vols[i].name, db->vols[i].n_comps, n);
        }
        ldm_derive_types(db);
        if (max_id > db->next_id)
                db->next_id = max_id;
        if (db->committed_seq > db->next_id)
                db->next_id = db->committed_seq;
        db->next_id++;
        return 0;
}

int mb_ldm_read_group(mb_blockdev **devs, size_t n_devs, const char *group_guid,
                      mb_ldm_db **ret_db, mb_error *err)
{
        devread *rd = NULL;
        mb_ldm_db *db = NULL;
        const char *group = group_guid;
        size_t best = SIZE_MAX, n_members = 0;
        char what[700];
        int rc = 0;

        if (n_devs == 0)
                return mb_error_set(err, MB_EINVAL, "LDM: no devices to read");
        rd = calloc(n_devs, sizeof(*rd));
        if (!rd)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        for (size_t i = 0; i < n_devs; i++) {
                rd[i].d.dev_index = (int)i;
                rc = locate_privhead(devs[i], &rd[i], err);
                if (rc < 0)
                        goto out;
                if (!rd[i].is_ldm)
                        continue;
                rd[i].d.dev_index = (int)i;
                if (!group) {
                        group = rd[i].d.group_guid;
                } else if (strcmp(group, rd[i].d.group_guid) != 0) {
                        if (group_guid) {
                                rd[i].is_ldm = 0;       /* another group: skipped */
                                continue;
                        }
                        rc = mb_error_set(err, MB_EINVAL,
                                          "LDM: devices belong to different disk groups (%s has %s, another has %s)",
                                          devs[i]->name, rd[i].d.group_guid, group);
                        goto out;
                }
                rc = read_toc(devs[i], &rd[i], err);
                if (rc == 0)
                        rc = read_vmdb(devs[i], &rd[i], err);
                if (rc < 0)
                        goto out;
                if (strcmp(rd[i].vguid, rd[i].d.group_guid) != 0) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: VMDB names disk group %s but the PRIVHEAD %s",
                                          devs[i]->name, rd[i].vguid, rd[i].d.group_guid);
                        goto out;
                }
                n_members++;
                if (best == SIZE_MAX || rd[i].effective > rd[best].effective)
                        best = i;
        }
        if (n_members == 0) {
                rc = mb_error_set(err, MB_ENOENT, "LDM: no dynamic disk%s%s among %zu device(s)",
                                  group_guid ? " of group " : "", group_guid ? group_guid : "",
                                  n_devs);
                goto out;
        }
        db = calloc(1, sizeof(*db));
        if (!db) {
                rc = mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
                goto out;
        }
        db->devs = calloc(n_members, sizeof(*db->devs));
        if (!db->devs) {
                rc = mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
                goto out;
        }
        for (size_t i = 0; i < n_devs; i++) {
                if (!rd[i].is_ldm)
                        continue;
                strncat(db->warnings, rd[i].warn, sizeof(db->warnings) - strlen(db->warnings) - 1);
                if (i != best && rd[i].effective != rd[best].effective)
                        ldm_warn(db, "%s: database copy is at transaction %llu, %s at %llu; using the newer copy",
                                 devs[i]->name, (unsigned long long)rd[i].effective,
                                 devs[best]->name, (unsigned long long)rd[best].effective);
                rd[i].d.cfg_current = rd[i].status == LDM_DB_CLEAN && rd[best].status == LDM_DB_CLEAN &&
                                      rd[i].cfg_len == rd[best].cfg_len &&
                                      memcmp(rd[i].cfg, rd[best].cfg, rd[i].cfg_len) == 0;
                if (i != best && !rd[i].d.cfg_current && rd[i].effective == rd[best].effective &&
                    rd[i].status == LDM_DB_CLEAN && rd[best].status == LDM_DB_CLEAN) {
                        char why[160];

                        /* the same transaction must be the same bytes on every member */
                        snprintf(why, sizeof(why), "unlike %s's at the same sequence %llu",
                                 devs[best]->name, (unsigned long long)rd[best].effective);
                        ldm_warn(db, "%s: database copy at sector %llu is %s", devs[i]->name,
                                 (unsigned long long)(rd[i].d.config_start + rd[i].d.regions[0].start),
                                 why);
                        damaged(&rd[i], MB_LDM_DMG_DATABASE,
                                rd[i].d.config_start + rd[i].d.regions[0].start, why);
                }
                rd[i].d.have_images = 1;
                memcpy(rd[i].d.ph_image, rd[i].ph_img, LDM_SECTOR);
                memcpy(rd[i].d.toc_image, rd[i].toc_img, LDM_SECTOR);
                db->devs[db->n_devs++] = rd[i].d;
        }
        {
                devread *b = &rd[best];

                snprintf(db->group_name, sizeof(db->group_name), "%s", b->vname);
                snprintf(db->group_guid_str, sizeof(db->group_guid_str), "%s", b->vguid);
                if (mb_guid_parse(b->vguid, &db->group_guid) != 0)
                        memset(&db->group_guid, 0, sizeof(db->group_guid));
                db->committed_seq = b->effective;
                db->n_vblks = b->n_vblks;
                db->vblk_size = b->vblk_size;
                db->vmdb_header_size = b->header_size;
                db->vmdb_major = b->vmajor;
                db->vmdb_minor = b->vminor;
                db->last_modified = b->last_mod;
                db->disk_signature = b->d.disk_signature;
                if (b->have_klog)
                        parse_klog(db, b->klog);
                snprintf(what, sizeof(what), "%s: LDM database", devs[best]->name);
                rc = load_records(db, b, what, err);
                if (rc == 0)
                        rc = link_objects(db, what, err);
                if (rc < 0)
                        goto out;
                if (db->dg_id == 0)
                        ldm_warn(db, "%s has no disk group record", what);
                if (b->status == LDM_DB_CLEAN) {
                        db->cfg = b->cfg;
                        db->cfg_len = b->cfg_len;
                        b->cfg = NULL;
                } else {
                        /* an interrupted image is not a base for the writer: rewrite all */
                        for (size_t i = 0; i < db->n_devs; i++)
                                db->devs[i].cfg_current = 0;
                }
        }
        for (size_t i = 0; i < db->n_disks; i++) {
                for (size_t j = 0; j < db->n_devs; j++)
                        if (mb_guid_equal(&db->disks[i].guid, &db->devs[j].disk_guid))
                                db->disks[i].dev_index = db->devs[j].dev_index;
        }
        for (size_t j = 0; j < db->n_devs; j++) {
                int known = 0;

                for (size_t i = 0; i < db->n_disks; i++)
                        known |= db->disks[i].dev_index == db->devs[j].dev_index;
                if (!known)
                        ldm_warn(db, "%s: disk is not in its group's database",
                                 devs[db->devs[j].dev_index]->name);
        }
out:
        for (size_t i = 0; rd && i < n_devs; i++)
                free(rd[i].cfg);
        free(rd);
        if (rc < 0) {
                mb_ldm_db_free(db);
                return rc;
        }
        *ret_db = db;
        return 0;
}

int mb_ldm_read(mb_blockdev **devs, size_t n_devs, mb_ldm_db **ret_db, mb_error *err)
{
        return mb_ldm_read_group(devs, n_devs, NULL, ret_db, err);
}

mb_ldm_vol *mb_ldm_find_vol(mb_ldm_db *db, const char *name)
{
        for (size_t i = 0; i < db->n_vols; i++)
                if (strcmp(db->vols[i].name, name) == 0)
                        return &db->vols[i];
        return NULL;
}

mb_ldm_disk *mb_ldm_find_disk(mb_ldm_db *db, const char *name)
{
        for (size_t i = 0; i < db->n_disks; i++)
                if (strcmp(db->disks[i].name, name) == 0)
                        return &db->disks[i];
        return NULL;
}

mb_ldm_part *mb_ldm_find_part(mb_ldm_db *db, const char *name)
{
        for (size_t i = 0; i < db->n_parts; i++)
                if (strcmp(db->parts[i].name, name) == 0)
                        return &db->parts[i];
        return NULL;
}
