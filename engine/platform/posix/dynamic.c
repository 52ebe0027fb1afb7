/* SPDX-License-Identifier: MIT */
/*
 * Dynamic disks (LDM) and the boot-volume mirror on image files.
 *
 * Layout of a GPT disk converted here, as Windows converts a basic GPT disk
 * that holds the boot volume (the 2008 R2 reference disks show the metadata
 * and data partitions of a disk made dynamic while empty):
 *
 *   - LDM metadata partition (5808c8aa-...): the first 2048 sectors (1 MiB)
 *     of the Microsoft reserved partition, which shrinks by as much. It holds
 *     the private region written by engine/format/ldm (PRIVHEAD copies at
 *     +1856 and +2047, TOCBLOCKs at +2 and +2045, config at +17, log at
 *     +1498).
 *   - The LDM data area (PRIVHEAD logical disk) runs from the first sector
 *     after the MSR to the last usable LBA, as on the reference disks where
 *     it is the LDM data partition exactly.
 *   - Every basic data entry is retyped LDM data (af9b60a0-...) in place
 *     (same number, range, unique GUID, name and attributes) and becomes a
 *     simple volume over the same extent, data in place: "the primary
 *     partitions become simple volumes, and information about them is then
 *     stored in the dynamic disk database and not in the GUID partition
 *     array" (Microsoft), and a real converted boot disk lists C: as
 *     "Dynamic Data" (diskpart "list partition"). The ESP (before the data
 *     area), the MSR and the recovery partition keep their entries and
 *     types; the recovery partition stays a partition diskpart can select.
 *     Facts take the os role from the database (engine/format/ldm,
 *     mb_ldm_facts), not from the type.
 *   - LDM data partitions also cover each stretch of the data area that no
 *     other entry covers: the space LDM may allocate. A GPT never has
 *     overlapping entries (sgdisk -v is clean).
 *   - Adding a mirror plex takes its extent from an LDM data partition: the
 *     extent gets an LDM data entry of its own (a dynamic volume's extent,
 *     as on the converted source disk) and the LDM data partitions are
 *     recomputed around it.
 *
 * Every operation reads the database again from all images; nothing is
 * remembered between operations.
 */
#include "platform/posix/dynamic.h"
#include "platform/posix/bcd.h"
#include "platform/posix/gpt.h"
#include "platform/posix/sparse.h"
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "format/ldm/ldm.h"
#include "guid.h"

/* The LDM metadata partition: 1 MiB of 512-byte sectors. The wing writes
 * LDM on 512-byte sectors only (the plan refuses a mirror on other sizes:
 * what Windows writes on 4096-byte sectors is not documented). */
#define LDM_SECTOR 512u
#define LDM_META_SECTORS 2048u
#define LDM_GROUP_NAME "MBSTATEDg0" /* Windows names the group "<computer name>Dg0" */

static const char ldm_meta_type[] = "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3";
static const char ldm_data_type[] = "af9b60a0-1431-4f62-bc68-3311714a69ad";

/* ---- block devices over the images ---- */

typedef struct img_bdev {
        mb_blockdev dev;
        int fd;
        bool own_fd;
} img_bdev;

static int bdev_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err)
{
        img_bdev *b = dev->ctx;
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = pread(b->fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mb_error_errno(err, MB_EIO, errno, "%s: cannot read at offset %llu (pread)",
                                              dev->name, (unsigned long long)off);
                if (n == 0) {
                        memset(p, 0, len);
                        return 0;
                }
                p += n, off += (uint64_t)n, len -= (size_t)n;
        }
        return 0;
}

static int bdev_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        img_bdev *b = dev->ctx;
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(b->fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return mb_error_errno(err, MB_EIO, n < 0 ? errno : EIO,
                                              "%s: cannot write at offset %llu (pwrite)", dev->name,
                                              (unsigned long long)off);
                p += n, off += (uint64_t)n, len -= (size_t)n;
        }
        return 0;
}

/* Every image as a blockdev (index = disk number): writable for the disks
 * in write_mask that were allowed, read-only (the target's own fd) for the
 * others. *ret_devs is freed with bdevs_close. */
static int bdevs_open(mb_posix_machine *ip, const bool *writable, img_bdev **ret_b,
                      mb_blockdev ***ret_devs, mb_error *err)
{
        img_bdev *b = calloc(ip->n_disks, sizeof(*b));
        mb_blockdev **devs = calloc(ip->n_disks, sizeof(*devs));
        int rc = 0;

        if (!b || !devs) {
                free(b), free(devs);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        for (uint32_t i = 0; i < ip->n_disks; i++) {
                mb_posix_disk *d = &ip->disks[i];
                struct stat st;

                b[i].fd = d->fd;
                if (writable && writable[i]) {
                        rc = img_open_rw(d, &b[i].fd, err);
                        if (rc < 0)
                                break;
                        b[i].own_fd = true;
                        b[i].dev.write = bdev_write;
                }
                if (fstat(b[i].fd, &st) < 0) {
                        rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot stat (fstat)", d->path);
                        break;
                }
                if (S_ISBLK(st.st_mode)) {
                        off_t e = lseek(b[i].fd, 0, SEEK_END);

                        b[i].dev.size = e > 0 ? (uint64_t)e : 0;
                } else {
                        b[i].dev.size = (uint64_t)st.st_size;
                }
                b[i].dev.ctx = &b[i];
                b[i].dev.name = d->path;
                b[i].dev.sector_size = d->sector;
                b[i].dev.read = bdev_read;
                devs[i] = &b[i].dev;
        }
        if (rc < 0) {
                for (uint32_t i = 0; i < ip->n_disks; i++)
                        if (b[i].own_fd)
                                close(b[i].fd);
                free(b), free(devs);
                return rc;
        }
        *ret_b = b;
        *ret_devs = devs;
        return 0;
}

/* Closes the writable descriptors (after fsync); the first failure wins. */
static int bdevs_close(mb_posix_machine *ip, img_bdev *b, mb_blockdev **devs, int rc, mb_error *err)
{
        for (uint32_t i = 0; b && i < ip->n_disks; i++) {
                if (!b[i].own_fd)
                        continue;
                if (fsync(b[i].fd) < 0 && rc == 0)
                        rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", ip->disks[i].path);
                close(b[i].fd);
        }
        free(b);
        free(devs);
        return rc;
}

/* ---- reading the database ---- */

/* The group GUID text of disk i alone, "" when it is not dynamic. */
static int disk_group(mb_blockdev **devs, uint32_t i, char *buf, size_t len, mb_error *err)
{
        mb_ldm_db *db = NULL;
        int rc;

        buf[0] = '\0';
        rc = mb_ldm_read(&devs[i], 1, &db, err);
        if (rc == MB_ENOENT) {
                mb_error_clear(err);
                return 0;
        }
        if (rc < 0)
                return rc;
        snprintf(buf, len, "%s", db->group_guid_str);
        mb_ldm_db_free(db);
        return 0;
}

/* The database of the group that disk `member` belongs to, read from every
 * image (devs indexed by disk number), or *ret_db NULL when that disk is not
 * dynamic. member < 0: the first group found on any image (NULL when none). */
static int read_group_of(mb_posix_machine *ip, mb_blockdev **devs, int member, mb_ldm_db **ret_db,
                         mb_error *err)
{
        char group[65] = "";
        int rc;

        *ret_db = NULL;
        for (uint32_t i = 0; i < ip->n_disks && !group[0]; i++) {
                if (member >= 0 && i != (uint32_t)member)
                        continue;
                rc = disk_group(devs, i, group, sizeof(group), err);
                if (rc < 0)
                        return rc;
        }
        if (!group[0])
                return 0;
        return mb_ldm_read_group(devs, ip->n_disks, group, ret_db, err);
}

static const mb_ldm_disk *ldm_disk_of_dev(const mb_ldm_db *db, uint32_t number)
{
        for (size_t i = 0; i < db->n_disks; i++)
                if (db->disks[i].dev_index == (int)number)
                        return &db->disks[i];
        return NULL;
}

static const mb_ldm_dev *ldm_dev_of(const mb_ldm_db *db, uint32_t number)
{
        for (size_t i = 0; i < db->n_devs; i++)
                if (db->devs[i].dev_index == (int)number)
                        return &db->devs[i];
        return NULL;
}

static mb_ldm_comp *ldm_comp_by_id(mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_comps; i++)
                if (db->comps[i].id == id)
                        return &db->comps[i];
        return NULL;
}

static mb_ldm_vol *ldm_vol_by_id(mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_vols; i++)
                if (db->vols[i].id == id)
                        return &db->vols[i];
        return NULL;
}

/* ---- facts ---- */

/* Where the boot volume starts on the images: the partition that the
 * osdevice of the default OS loader of bf's store names (the first of
 * {bootmgr}'s display order, as the snapshot model takes it); disk -1 when
 * bf has no store or it names no partition of the images. */
static void boot_hint_of(mb_posix_machine *ip, const mb_facts *bf, mb_ldm_boot *ret)
{
        mb_bcd_object_fact *bm = bf ? mb_facts_bcd_object(bf, "{bootmgr}") : NULL, *o = NULL;
        const char *guid;

        ret->disk = -1;
        ret->first_lba = 0;
        if (bm && bm->n_displayorder)
                o = mb_facts_bcd_object(bf, bm->displayorder[0]);
        guid = o && o->osdevice ? o->osdevice->partition : NULL;
        for (uint32_t i = 0; guid && i < ip->n_disks && ret->disk < 0; i++) {
                mb_posix_table t;
                mb_error e = { 0 };

                if (img_table_read(&ip->disks[i], &t, &e) < 0)
                        continue;
                for (uint32_t j = 0; j < t.n_parts; j++)
                        if (strcasecmp(t.parts[j].unique_guid, guid) == 0) {
                                ret->disk = (int32_t)i;
                                ret->first_lba = t.parts[j].first_lba;
                        }
                img_table_clear(&t);
        }
}

/* boot_hint_of the system disk's store as it is now. */
static void boot_hint(mb_posix_machine *ip, mb_ldm_boot *ret)
{
        mb_facts *bf = img_bcd_read(ip);

        boot_hint_of(ip, bf, ret);
        mb_facts_free(bf);
}

int img_dynamic_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        char (*groups)[65] = calloc(ip->n_disks, sizeof(*groups));
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        mb_ldm_boot boot;
        int rc;

        if (!groups)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        boot_hint_of(ip, f, &boot);
        rc = bdevs_open(ip, NULL, &b, &devs, err);
        if (rc < 0) {
                free(groups);
                return rc;
        }
        for (uint32_t i = 0; i < ip->n_disks && rc == 0; i++)
                rc = disk_group(devs, i, groups[i], sizeof(groups[i]), err);
        for (uint32_t i = 0; i < ip->n_disks && rc == 0; i++) {
                mb_ldm_db *db = NULL;
                bool seen = false;

                if (!groups[i][0])
                        continue;
                for (uint32_t j = 0; j < i; j++)
                        seen |= strcmp(groups[j], groups[i]) == 0;
                if (seen)
                        continue;
                rc = mb_ldm_read_group(devs, ip->n_disks, groups[i], &db, err);
                if (rc == 0)
                        rc = mb_ldm_facts(db, NULL, &boot, f, err);
                mb_ldm_db_free(db);
        }
        free(groups);
        return bdevs_close(ip, b, devs, rc, err);
}

/* ---- the GPT around the data area ---- */

/* The stretches of [lf, ll] that no partition other than an LDM data
 * partition covers, as CREATE edits of LDM data partitions; DELETE edits for
 * the LDM data partitions that are neither exactly one of them nor exactly
 * one of the n_keep ranges in keep (the extents of dynamic volumes, and a
 * partition about to be created; counted as covering their range).
 * Returns the number of edits written to e (at most max). */
static int data_part_edits(const mb_posix_table *t, uint64_t lf, uint64_t ll, const mb_posix_gpt_edit *keep,
                           int n_keep, mb_posix_gpt_edit *e, int max)
{
        uint64_t pos = lf;
        int n = 0;
        struct { uint64_t first, last; } gaps[64];
        int n_gaps = 0;

        while (pos <= ll && n_gaps < 64) {
                uint64_t next_busy = ll + 1, busy_end = 0;

                for (uint32_t i = 0; i < t->n_parts + (uint32_t)n_keep; i++) {
                        uint64_t a, z;

                        if (i >= t->n_parts) {
                                a = keep[i - t->n_parts].first_lba, z = keep[i - t->n_parts].last_lba;
                        } else {
                                if (t->parts[i].role == MB_ROLE_LDM_DATA)
                                        continue;
                                a = t->parts[i].first_lba, z = t->parts[i].last_lba;
                        }
                        if (z < pos || a > ll)
                                continue;
                        if (a <= pos) {
                                next_busy = pos;
                                if (z > busy_end)
                                        busy_end = z;
                        } else if (a < next_busy) {
                                next_busy = a;
                        }
                }
                if (next_busy == pos) {
                        pos = busy_end + 1;
                        continue;
                }
                gaps[n_gaps].first = pos;
                gaps[n_gaps].last = next_busy - 1;
                n_gaps++;
                pos = next_busy;
        }
        for (uint32_t i = 0; i < t->n_parts && n < max; i++) {
                const mb_posix_gpt_part *p = &t->parts[i];
                bool kept = false;

                if (p->role != MB_ROLE_LDM_DATA)
                        continue;
                for (int g = 0; g < n_gaps; g++)
                        kept |= gaps[g].first == p->first_lba && gaps[g].last == p->last_lba;
                for (int k = 0; k < n_keep; k++)
                        kept |= keep[k].first_lba == p->first_lba && keep[k].last_lba == p->last_lba;
                if (!kept) {
                        memset(&e[n], 0, sizeof(e[n]));
                        e[n].kind = MB_POSIX_GPT_EDIT_DELETE;
                        e[n++].number = p->number;
                }
        }
        for (int g = 0; g < n_gaps && n < max; g++) {
                bool have = false;

                for (uint32_t i = 0; i < t->n_parts; i++)
                        have |= t->parts[i].role == MB_ROLE_LDM_DATA &&
                                t->parts[i].first_lba == gaps[g].first &&
                                t->parts[i].last_lba == gaps[g].last;
                if (have)
                        continue;
                memset(&e[n], 0, sizeof(e[n]));
                e[n].kind = MB_POSIX_GPT_EDIT_CREATE;
                e[n].first_lba = gaps[g].first;
                e[n].last_lba = gaps[g].last;
                snprintf(e[n].type_guid, sizeof(e[n].type_guid), "%s", ldm_data_type);
                snprintf(e[n].name, sizeof(e[n].name), "LDM data partition");
                n++;
        }
        return n;
}

static mb_posix_disk *disk_of(mb_posix_machine *ip, uint32_t n, mb_error *err)
{
        if (n >= ip->n_disks) {
                mb_error_set(err, MB_EINVAL, "image target: there is no disk %u (%u image(s))", n,
                             ip->n_disks);
                return NULL;
        }
        return &ip->disks[n];
}

/* Every present member of db must be writable; returns the mask to open. */
static int members_writable(mb_posix_machine *ip, const mb_ldm_db *db, int also, bool *mask,
                            mb_error *err)
{
        memset(mask, 0, ip->n_disks * sizeof(*mask));
        for (size_t i = 0; db && i < db->n_devs; i++) {
                mb_posix_disk *d = &ip->disks[db->devs[i].dev_index];

                if (!d->allowed)
                        return mb_error_set(err, MB_EUNSAFE,
                                            "%s (disk %u) belongs to dynamic disk group %s but is not selected for writing; every member holds the group's database, so none can be changed",
                                            d->path, d->number, db->group_guid_str);
                mask[d->number] = true;
        }
        if (also >= 0)
                mask[also] = true;
        return 0;
}

/* ---- convert dynamic ---- */

/* Zeroes sectors [first, first+count) of d (hole-punched where the file
 * system allows, written otherwise). */
static int zero_range(mb_posix_disk *d, uint64_t first, uint64_t count, mb_error *err)
{
        static const uint8_t zero[LDM_META_SECTORS * LDM_SECTOR];     /* the range in one write */
        uint64_t off = first * d->sector, end = (first + count) * d->sector;
        int fd, rc;

        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return rc;
        while (off < end) {
                size_t len = end - off < sizeof(zero) ? (size_t)(end - off) : sizeof(zero);
                ssize_t w;

                if (mb_fault_pointf(err, "pwrite (clear LDM metadata range) of %zu bytes to %s at offset %llu",
                                    len, d->path, (unsigned long long)off) < 0) {
                        close(fd);
                        return err->code;
                }
                w = pwrite(fd, zero, len, (off_t)off);

                if (w <= 0) {
                        int e = w < 0 ? errno : EIO;

                        close(fd);
                        return mb_error_errno(err, MB_EIO, e,
                                              "%s (disk %u): cannot clear the LDM metadata range at byte %llu (pwrite)",
                                              d->path, d->number, (unsigned long long)off);
                }
                off += (uint64_t)w;
        }
        if (fsync(fd) < 0) {
                int e = errno;

                close(fd);
                return mb_error_errno(err, MB_EIO, e, "%s (disk %u): cannot flush (fsync)", d->path,
                                      d->number);
        }
        close(fd);
        return 0;
}

static int op_convert(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *d = disk_of(ip, op->disk, err);
        mb_posix_gpt_edit edits[40];
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        mb_ldm_db *db = NULL;
        mb_posix_gpt_part *msr, *meta;
        uint64_t meta_first = 0, lf, ll, disk_id;
        mb_posix_table t = { 0 };
        bool *mask = NULL, resume = false;
        char staged_group[65] = "";
        mb_guid staged_guid;
        int rc, n = 0, staged = 0;

        if (!d)
                return err->code;
        if (!d->allowed)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s (disk %u): refusing to write: the disk is not selected for writing",
                                    d->path, d->number);
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        if (d->sector != LDM_SECTOR) {
                /* the plan refuses this first; kept so no other caller writes it */
                rc = mb_error_set(err, MB_ENOTSUP,
                                  "%s (disk %u): convert dynamic on %u-byte sectors: the LDM layout Windows writes on them is not documented; refusing",
                                  d->path, d->number, d->sector);
                goto out;
        }
        if (t.style != MB_STYLE_GPT) {
                rc = mb_error_set(err, MB_ESTATE, "%s (disk %u): convert dynamic needs a GPT disk (it is %s)",
                                  d->path, d->number, mb_style_to_string(t.style));
                goto out;
        }
        msr = img_table_role(&t, MB_ROLE_MSR);
        if ((meta = img_table_role(&t, MB_ROLE_LDM_METADATA))) {
                int dyn = 0;

                /* Either converted (nothing to do), or a conversion interrupted
                 * after its GPT write: the metadata partition exists but was
                 * never written; finish it with the database write alone. */
                rc = bdevs_open(ip, NULL, &b, &devs, err);
                if (rc < 0)
                        goto out;
                rc = mb_ldm_probe(devs[d->number], &dyn, err);
                rc = bdevs_close(ip, b, devs, rc, err);
                if (rc < 0 || dyn)
                        goto out;
                if (!msr || meta->last_lba - meta->first_lba + 1 != LDM_META_SECTORS ||
                    msr->first_lba != meta->last_lba + 1) {
                        rc = mb_error_set(err, MB_ESTATE,
                                          "%s (disk %u): an LDM metadata partition without a database that is not where conversion puts it (before the Microsoft reserved partition); refusing to guess",
                                          d->path, d->number);
                        goto out;
                }
                resume = true;
                meta_first = meta->first_lba;
        } else if (!msr || msr->last_lba - msr->first_lba + 1 < 2 * LDM_META_SECTORS) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "%s (disk %u): convert dynamic needs a Microsoft reserved partition of at least 2 MiB to take the 1 MiB LDM metadata partition from",
                                  d->path, d->number);
                goto out;
        }
        if (!resume)
                meta_first = msr->first_lba;
        lf = msr->last_lba + 1;
        ll = t.last_usable;
        /* every basic data entry becomes a simple volume in place */
        for (uint32_t i = 0; i < t.n_parts; i++) {
                const mb_posix_gpt_part *q = &t.parts[i];

                if (q->role != MB_ROLE_OS)
                        continue;
                if (q->first_lba < lf || q->last_lba > ll) {
                        rc = mb_error_set(err, MB_ESTATE,
                                          "%s (disk %u): the basic data partition %u (LBA %llu-%llu) is not after the Microsoft reserved partition; it cannot become a simple volume in place",
                                          d->path, d->number, q->number, (unsigned long long)q->first_lba,
                                          (unsigned long long)q->last_lba);
                        goto out;
                }
        }

        rc = bdevs_open(ip, NULL, &b, &devs, err);
        if (rc < 0)
                goto out;
        rc = read_group_of(ip, devs, -1, &db, err);
        /* A conversion interrupted after its database write and before its
         * GPT write left this disk's private region in the MSR, and the
         * other members may already name it (missing): it rejoins as that
         * disk rather than as a second one. */
        if (rc == 0 && db && !resume)
                rc = mb_ldm_staged_disk(devs[d->number], meta_first, &staged_guid, staged_group,
                                        &staged, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc < 0)
                goto out;
        if (!db && (rc = mb_ldm_db_new(LDM_GROUP_NAME, NULL, &db, err)) < 0)
                goto out;
        staged = staged && strcmp(staged_group, db->group_guid_str) == 0;
        rc = mb_ldm_init_gpt_disk(db, (int)d->number, meta_first, meta_first + LDM_META_SECTORS - 1,
                                  lf, ll, NULL, staged ? &staged_guid : NULL, &disk_id, err);
        if (rc == 0 && !resume)
                rc = mb_ldm_stage_dev(db, (int)d->number, err);
        for (uint32_t i = 0; i < t.n_parts && rc == 0; i++) {
                const mb_posix_gpt_part *q = &t.parts[i];

                if (q->role == MB_ROLE_OS)
                        rc = mb_ldm_add_simple_volume(db, disk_id, q->first_lba - lf,
                                                      q->last_lba - q->first_lba + 1, NULL, NULL, 0x07,
                                                      NULL, NULL, err);
        }
        if (rc < 0)
                goto out;

        /* GPT in one write: MSR shrinks, metadata and data partitions appear */
        memset(edits, 0, sizeof(edits));
        if (!resume) {
        edits[n].kind = MB_POSIX_GPT_EDIT_RANGE;
        edits[n].number = msr->number;
        edits[n].first_lba = meta_first + LDM_META_SECTORS;
        edits[n++].last_lba = msr->last_lba;
        edits[n].kind = MB_POSIX_GPT_EDIT_CREATE;
        edits[n].first_lba = meta_first;
        edits[n].last_lba = meta_first + LDM_META_SECTORS - 1;
        snprintf(edits[n].type_guid, sizeof(edits[n].type_guid), "%s", ldm_meta_type);
        snprintf(edits[n++].name, sizeof(edits[n].name), "LDM metadata partition");
        n += data_part_edits(&t, lf, ll, NULL, 0, &edits[n], (int)(sizeof(edits) / sizeof(edits[0])) - n - 8);
        }
        /* ... and the basic data entries are retyped LDM data: the volumes
         * are described by the database, not by the partition array */
        for (uint32_t i = 0; i < t.n_parts; i++) {
                const mb_posix_gpt_part *q = &t.parts[i];

                if (q->role != MB_ROLE_OS)
                        continue;
                if (n >= (int)(sizeof(edits) / sizeof(edits[0]))) {
                        rc = mb_error_set(err, MB_ENOTSUP,
                                          "%s (disk %u): too many partitions to convert in one GPT write",
                                          d->path, d->number);
                        goto out;
                }
                edits[n].kind = MB_POSIX_GPT_EDIT_TYPE;
                edits[n].number = q->number;
                edits[n].first_lba = q->first_lba;
                edits[n].last_lba = q->last_lba;
                snprintf(edits[n++].type_guid, sizeof(edits[0].type_guid), "%s", ldm_data_type);
        }

        mask = calloc(ip->n_disks, sizeof(*mask));
        if (!mask) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        rc = members_writable(ip, db, (int)d->number, mask, err);
        if (rc < 0)
                goto out;
        /*
         * The metadata range (the first 1 MiB of the MSR) is zeroed, the
         * database written (this disk's private region first, staged in the
         * MSR's space, then the other members'), then the GPT in one write:
         * MSR shrinks, the metadata and data partitions appear. Until that
         * write the disk reads as basic (our reader and libldm find its
         * private region through the metadata partition alone), so a run
         * killed anywhere leaves either a basic disk or a whole dynamic one,
         * and the next run converts again. (An older order left a metadata
         * partition with zero PRIVHEADs: resume finishes it with the
         * database write alone.)
         */
        if (!resume) {
                rc = zero_range(d, meta_first, LDM_META_SECTORS, err);
                if (rc < 0)
                        goto out;
        }
        rc = bdevs_open(ip, mask, &b, &devs, err);
        if (rc < 0)
                goto out;
        rc = mb_ldm_write(db, devs, ip->n_disks, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc < 0) {
                mb_error_prefix(err, "%s (disk %u): writing the LDM database", d->path, d->number);
                goto out;
        }
        if (n > 0) {
                rc = img_gpt_edit_batch(d, edits, (size_t)n, err);
                if (rc < 0)
                        mb_error_prefix(err, "%s (disk %u): converting to dynamic", d->path, d->number);
        }
out:
        free(mask);
        mb_ldm_db_free(db);
        img_table_clear(&t);
        return rc;
}

/* ---- mirror ---- */

/* The volume with an extent on disk `src` starting at absolute LBA `first`,
 * and the LDM disk record of `dst`. */
static int find_mirror_parts(mb_posix_machine *ip, mb_ldm_db *db, const mb_op *op, mb_ldm_vol **ret_vol,
                             const mb_ldm_disk **ret_dst, const mb_ldm_dev **ret_dst_dev,
                             mb_error *err)
{
        const mb_ldm_dev *sdev = ldm_dev_of(db, op->disk2), *tdev = ldm_dev_of(db, op->disk);
        const mb_ldm_disk *sk = ldm_disk_of_dev(db, op->disk2), *tk = ldm_disk_of_dev(db, op->disk);

        if (!sdev || !sk || !tdev || !tk)
                return mb_error_set(err, MB_ESTATE,
                                    "add mirror needs both disks dynamic in one group (%s: %s, %s: %s)",
                                    ip->disks[op->disk2].path, sk ? "dynamic" : "not a member",
                                    ip->disks[op->disk].path, tk ? "dynamic" : "not a member");
        for (size_t i = 0; i < db->n_parts; i++) {
                const mb_ldm_part *p = &db->parts[i];
                mb_ldm_comp *c;

                if (p->disk_id != sk->id || sdev->logical_disk_start + p->start != op->first_lba)
                        continue;
                if (!(c = ldm_comp_by_id(db, p->comp_id)) || !(*ret_vol = ldm_vol_by_id(db, c->vol_id)))
                        continue;
                *ret_dst = tk;
                *ret_dst_dev = tdev;
                return 0;
        }
        return mb_error_set(err, MB_ESTATE, "%s (disk %u, %s) has no dynamic volume at LBA %llu to mirror",
                            ip->disks[op->disk2].path, op->disk2, sk->name,
                            (unsigned long long)op->first_lba);
}

/* Copies the extent of the source plex onto the target extent, holes kept. */
static int sync_plex(mb_posix_machine *ip, uint32_t src, uint64_t src_lba, uint32_t dst, uint64_t dst_lba,
                     uint64_t sectors, mb_progress *progress, mb_error *err)
{
        mb_posix_disk *dd = &ip->disks[dst];
        char what[64];
        int fd, rc;

        rc = img_open_rw(dd, &fd, err);
        if (rc < 0)
                return rc;
        snprintf(what, sizeof(what), "mirror resync disk %u -> %u", src, dst);
        rc = img_copy_sparse(ip->disks[src].fd, src_lba * ip->disks[src].sector, fd,
                             dst_lba * dd->sector, sectors * ip->disks[src].sector, what, progress,
                             err);
        if (rc < 0)
                mb_error_prefix(err, "synchronizing the plex from %s to %s", ip->disks[src].path,
                                dd->path);
        else if (fsync(fd) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", dd->path);
        close(fd);
        return rc;
}

/* Reads the group of disk `member` from every image; MB_ESTATE when that
 * disk is not dynamic. */
static int read_db(mb_posix_machine *ip, uint32_t member, mb_ldm_db **ret_db, mb_error *err)
{
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        int rc;

        rc = bdevs_open(ip, NULL, &b, &devs, err);
        if (rc < 0)
                return rc;
        rc = read_group_of(ip, devs, (int)member, ret_db, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc == 0 && !*ret_db)
                rc = mb_error_set(err, MB_ESTATE, "%s (disk %u) is not a dynamic disk",
                                  ip->disks[member].path, member);
        return rc;
}

/* Commits db to every present member (all must be selected for writing). */
static int write_db(mb_posix_machine *ip, mb_ldm_db *db, mb_error *err)
{
        bool *mask = calloc(ip->n_disks, sizeof(*mask));
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        int rc;

        if (!mask)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        rc = members_writable(ip, db, -1, mask, err);
        if (rc == 0)
                rc = bdevs_open(ip, mask, &b, &devs, err);
        free(mask);
        if (rc < 0)
                return rc;
        rc = mb_ldm_write(db, devs, ip->n_disks, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc < 0)
                mb_error_prefix(err, "writing the LDM database of group %s", db->group_guid_str);
        return rc;
}

/*
 * MIRROR_ADD: disk (target) gains a plex of the volume whose extent on disk2
 * (source) starts at first_lba. Order: copy the data (sparse-aware), commit
 * the database with the new component and extent on every member, then the
 * target's GPT (the plex's LDM data entry, LDM data partitions around it;
 * op's type is not used: Windows types a dynamic volume's extent LDM data
 * whatever the source's type was). The "<loader> - secondary plex" BCD
 * entry Windows adds for a boot volume is the caller's (execute.c): the LDM
 * code writes LDM and the GPT only.
 */
static int op_mirror_add(mb_posix_machine *ip, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_disk *t = disk_of(ip, op->disk, err), *s;
        mb_posix_gpt_edit edits[40], keep[16];
        const mb_ldm_disk *tk = NULL;
        const mb_ldm_dev *tdev = NULL;
        mb_ldm_vol *vol = NULL;
        mb_ldm_db *db = NULL;
        mb_posix_table tt = { 0 };
        uint64_t lf, ll, src_first;
        bool resume = false, exact = false;
        int rc, n = 0, n_keep = 1;

        if (!t || !(s = disk_of(ip, op->disk2, err)))
                return err->code;
        if (op->disk == op->disk2)
                return mb_error_set(err, MB_EINVAL, "add mirror: source and target are the same disk (%u)",
                                    op->disk);
        rc = read_db(ip, op->disk, &db, err);
        if (rc < 0)
                return rc;
        rc = find_mirror_parts(ip, db, op, &vol, &tk, &tdev, err);
        if (rc < 0)
                goto out;
        src_first = op->first_lba;
        lf = tdev->logical_disk_start;
        ll = lf + tdev->logical_disk_size - 1;
        if (op->last_lba < op->first_lba || op->last_lba - op->first_lba + 1 < vol->size) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "add mirror: the extent LBA %llu-%llu is smaller than volume %s (%llu sectors)",
                                  (unsigned long long)op->first_lba, (unsigned long long)op->last_lba,
                                  vol->name, (unsigned long long)vol->size);
                goto out;
        }
        if (op->first_lba < lf || op->first_lba + vol->size - 1 > ll) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "%s (disk %u): the plex LBA %llu-%llu is outside the LDM data area %llu-%llu",
                                  t->path, t->number, (unsigned long long)op->first_lba,
                                  (unsigned long long)(op->first_lba + vol->size - 1),
                                  (unsigned long long)lf, (unsigned long long)ll);
                goto out;
        }
        rc = img_table_read(t, &tt, err);
        if (rc < 0)
                goto out;
        /* An add interrupted after its database commit: the plex is there,
         * its GPT entry (and maybe the BCD entry) is not. */
        for (size_t i = 0; i < db->n_parts && !resume; i++) {
                const mb_ldm_part *p = &db->parts[i];
                const mb_ldm_comp *c = ldm_comp_by_id(db, p->comp_id);

                resume = p->disk_id == tk->id && c && c->vol_id == vol->id &&
                         lf + p->start == op->first_lba;
        }
        for (uint32_t i = 0; i < tt.n_parts && resume; i++)
                if (tt.parts[i].first_lba == op->first_lba &&
                    tt.parts[i].last_lba == op->first_lba + vol->size - 1 &&
                    (tt.parts[i].role == MB_ROLE_LDM_DATA || tt.parts[i].role == MB_ROLE_OS)) {
                        rc = 0; /* complete already: entry present */
                        goto out;
                }
        for (uint32_t i = 0; i < tt.n_parts; i++) {
                const mb_posix_gpt_part *q = &tt.parts[i];

                if (q->role != MB_ROLE_LDM_DATA && q->first_lba <= op->first_lba + vol->size - 1 &&
                    op->first_lba <= q->last_lba) {
                        rc = mb_error_set(err, MB_ESTATE,
                                          "%s (disk %u): add mirror needs unallocated space; partition %u (LBA %llu-%llu) is in the way",
                                          t->path, t->number, q->number,
                                          (unsigned long long)q->first_lba,
                                          (unsigned long long)q->last_lba);
                        goto out;
                }
        }
        if (!resume) {
                rc = mb_ldm_add_mirror_plex(db, vol->id, tk->id, op->first_lba - lf, NULL, err);
                if (rc < 0)
                        goto out;
                rc = sync_plex(ip, op->disk2, src_first, op->disk, op->first_lba, vol->size, progress, err);
                if (rc < 0)
                        goto out;
                rc = write_db(ip, db, err);
                if (rc < 0)
                        goto out;
        }

        /* the plex's entry, and every other extent of a dynamic volume on
         * this disk, stay LDM data entries of their own */
        memset(keep, 0, sizeof(keep));
        keep[0].kind = MB_POSIX_GPT_EDIT_CREATE;
        keep[0].first_lba = op->first_lba;
        keep[0].last_lba = op->first_lba + vol->size - 1;
        snprintf(keep[0].type_guid, sizeof(keep[0].type_guid), "%s", ldm_data_type);
        snprintf(keep[0].name, sizeof(keep[0].name), "%s", op->name);
        keep[0].attributes = op->attributes;
        for (size_t i = 0; i < db->n_parts && n_keep < 16; i++)
                if (db->parts[i].disk_id == tk->id && lf + db->parts[i].start != op->first_lba) {
                        keep[n_keep].first_lba = lf + db->parts[i].start;
                        keep[n_keep++].last_lba = lf + db->parts[i].start + db->parts[i].size - 1;
                }
        n = data_part_edits(&tt, lf, ll, keep, n_keep, edits, 39);
        for (uint32_t i = 0; i < tt.n_parts && !exact; i++)
                exact = tt.parts[i].role == MB_ROLE_LDM_DATA && tt.parts[i].first_lba == keep[0].first_lba &&
                        tt.parts[i].last_lba == keep[0].last_lba;
        if (!exact)     /* an LDM data entry that is exactly the extent already serves */
                edits[n++] = keep[0];
        rc = n ? img_gpt_edit_batch(t, edits, (size_t)n, err) : 0;
        if (rc < 0) {
                mb_error_prefix(err, "%s (disk %u): the GPT entry of the new plex", t->path, t->number);
                goto out;
        }

out:
        img_table_clear(&tt);
        mb_ldm_db_free(db);
        return rc;
}

/* MIRROR_REMOVE_MISSING: drops the missing LDM disk ldm_disk with its
 * extents and components (a mirror left with one plex becomes simple). */
static int op_remove_missing(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_ldm_db *db = NULL;
        mb_ldm_disk *k;
        int rc;

        if (!op->ldm_disk[0])
                return mb_error_set(err, MB_EINVAL, "remove missing: no LDM disk name given");
        rc = read_db(ip, op->disk2 < ip->n_disks ? op->disk2 : op->disk, &db, err);
        if (rc < 0)
                return rc;
        k = mb_ldm_find_disk(db, op->ldm_disk);
        if (!k) {
                rc = 0;         /* already gone */
        } else if (k->dev_index >= 0) {
                rc = mb_error_set(err, MB_EUNSAFE,
                                  "LDM disk %s of group %s is present (%s); only a missing disk is removed",
                                  k->name, db->group_guid_str, ip->disks[k->dev_index].path);
        } else {
                rc = mb_ldm_remove_disk(db, k->id, err);
                if (rc == 0)
                        rc = write_db(ip, db, err);
        }
        mb_ldm_db_free(db);
        return rc;
}

/* LDM_REPAIR: rewrites the damaged copies of disk's LDM metadata (PRIVHEAD,
 * TOCBLOCK, a database unlike the group's at the same sequence) from the
 * intact ones, writing to disk alone and changing no sequence
 * (mb_ldm_repair). Nothing damaged any more: nothing to do. */
static int op_ldm_repair(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        mb_ldm_db *db = NULL;
        bool *mask;
        int *allowed;
        size_t fixed = 0;
        int rc;

        if (op->disk >= ip->n_disks || !ip->disks[op->disk].allowed)
                return mb_error_set(err, MB_EUNSAFE, "LDM repair: disk %u is not selected for writing",
                                    op->disk);
        mask = calloc(ip->n_disks, sizeof(*mask));
        allowed = calloc(ip->n_disks, sizeof(*allowed));
        if (!mask || !allowed) {
                free(mask), free(allowed);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        mask[op->disk] = true;
        allowed[op->disk] = 1;
        rc = bdevs_open(ip, mask, &b, &devs, err);
        if (rc == 0) {
                rc = read_group_of(ip, devs, (int)op->disk, &db, err);
                if (rc == 0 && !db)
                        rc = mb_error_set(err, MB_ESTATE, "%s (disk %u) is not a dynamic disk",
                                          ip->disks[op->disk].path, op->disk);
                if (rc == 0)
                        rc = mb_ldm_repair(db, devs, ip->n_disks, allowed, &fixed, err);
                rc = bdevs_close(ip, b, devs, rc, err);
        }
        free(mask);
        free(allowed);
        mb_ldm_db_free(db);
        if (rc < 0)
                mb_error_prefix(err, "repairing the LDM metadata of %s (disk %u)",
                                ip->disks[op->disk].path, op->disk);
        return rc;
}

/* MIRROR_RESYNC: copies every plex of the volumes with an extent on disk
 * from the healthy plex on disk2 again, then marks its component ACTIVE. */
static int op_resync(mb_posix_machine *ip, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_ldm_db *db = NULL;
        const mb_ldm_disk *tk, *sk;
        const mb_ldm_dev *tdev, *sdev;
        bool changed = false;
        int rc;

        rc = read_db(ip, op->disk, &db, err);
        if (rc < 0)
                return rc;
        tk = ldm_disk_of_dev(db, op->disk), sk = ldm_disk_of_dev(db, op->disk2);
        tdev = ldm_dev_of(db, op->disk), sdev = ldm_dev_of(db, op->disk2);
        if (!tk || !sk || !tdev || !sdev) {
                rc = mb_error_set(err, MB_ESTATE, "resync needs disks %u and %u in one dynamic disk group",
                                  op->disk, op->disk2);
                goto out;
        }
        for (size_t i = 0; i < db->n_parts && rc == 0; i++) {
                mb_ldm_part *tp = &db->parts[i];
                mb_ldm_comp *tc = ldm_comp_by_id(db, tp->comp_id);

                if (tp->disk_id != tk->id || !tc)
                        continue;
                for (size_t j = 0; j < db->n_parts; j++) {
                        mb_ldm_part *sp = &db->parts[j];
                        mb_ldm_comp *sc = ldm_comp_by_id(db, sp->comp_id);

                        if (sp->disk_id != sk->id || !sc || sc->vol_id != tc->vol_id || !sc->state_ok)
                                continue;
                        rc = sync_plex(ip, op->disk2, sdev->logical_disk_start + sp->start, op->disk,
                                       tdev->logical_disk_start + tp->start, tp->size, progress, err);
                        if (rc == 0 && !tc->state_ok) {
                                snprintf(tc->state, sizeof(tc->state), "ACTIVE");
                                tc->state_ok = 1;
                                changed = true;
                        }
                        break;
                }
        }
        if (rc == 0 && changed)
                rc = write_db(ip, db, err);
out:
        mb_ldm_db_free(db);
        return rc;
}

/*
 * A run killed between two members' writes of one change leaves one member's
 * copy of the database a transaction behind (readers take the newer copy).
 * Before the first operation of an apply, the older copy is brought up to
 * date when every member is selected for writing, so no such split outlives
 * the next apply that changes anything.
 */
int img_dynamic_catch_up(mb_posix_machine *ip, mb_error *err)
{
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        mb_ldm_db *db = NULL;
        bool stale = false, allowed = true;
        int rc;

        rc = bdevs_open(ip, NULL, &b, &devs, err);
        if (rc < 0)
                return rc;
        rc = read_group_of(ip, devs, -1, &db, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc < 0 || !db) {
                /* an unreadable group is the operation's to report */
                mb_error_clear(err);
                mb_ldm_db_free(db);
                return 0;
        }
        for (size_t i = 0; i < db->n_devs; i++) {
                bool same_seq = false;

                /* a copy unlike the group's at the same sequence is no
                 * transaction behind: the planned LDM repair rewrites it */
                for (uint32_t k = 0; k < db->devs[i].n_damage; k++)
                        same_seq |= db->devs[i].damage[k].kind == MB_LDM_DMG_DATABASE;
                stale |= !db->devs[i].cfg_current && !same_seq;
                allowed &= ip->disks[db->devs[i].dev_index].allowed;
        }
        if (stale && allowed)
                rc = write_db(ip, db, err);
        mb_ldm_db_free(db);
        return rc;
}

int img_dynamic_execute(mb_posix_machine *ip, const mb_op *op, mb_progress *progress, mb_error *err)
{
        switch (op->kind) {
        case MB_OP_CONVERT_DYNAMIC:
                return op_convert(ip, op, err);
        case MB_OP_MIRROR_ADD:
                return op_mirror_add(ip, op, progress, err);
        case MB_OP_MIRROR_REMOVE_MISSING:
                return op_remove_missing(ip, op, err);
        case MB_OP_MIRROR_RESYNC:
                return op_resync(ip, op, progress, err);
        case MB_OP_LDM_REPAIR:
                return op_ldm_repair(ip, op, err);
        default:
                return mb_error_set(err, MB_EINVAL, "image target: operation %d is not a dynamic-disk operation",
                                    (int)op->kind);
        }
}

/* The entry of t (disk `disk`) that is exactly an extent of the os volume of
 * the disk's group; *ret NULL when the disk is not dynamic or has none. */
static int os_entry(mb_posix_machine *ip, uint32_t disk, mb_posix_table *t, mb_posix_gpt_part **ret, mb_error *err)
{
        mb_blockdev **devs = NULL;
        img_bdev *b = NULL;
        mb_ldm_db *db = NULL;
        const mb_ldm_vol *os;
        mb_ldm_boot boot;
        int rc;

        *ret = NULL;
        rc = bdevs_open(ip, NULL, &b, &devs, err);
        if (rc < 0)
                return rc;
        rc = read_group_of(ip, devs, (int)disk, &db, err);
        rc = bdevs_close(ip, b, devs, rc, err);
        if (rc < 0 || !db)
                return rc;
        boot_hint(ip, &boot);
        os = mb_ldm_os_volume(db, NULL, &boot);
        for (size_t i = 0; os && i < db->n_parts && !*ret; i++) {
                const mb_ldm_part *p = &db->parts[i];
                const mb_ldm_comp *c = ldm_comp_by_id(db, p->comp_id);
                uint64_t first;
                int32_t on;

                if (!c || c->vol_id != os->id || !mb_ldm_part_place(db, p, NULL, &on, &first) ||
                    on != (int32_t)disk)
                        continue;
                for (uint32_t j = 0; j < t->n_parts; j++)
                        if (t->parts[j].first_lba == first && t->parts[j].last_lba == first + p->size - 1 &&
                            (t->parts[j].role == MB_ROLE_LDM_DATA || t->parts[j].role == MB_ROLE_OS))
                                *ret = &t->parts[j];
        }
        mb_ldm_db_free(db);
        return 0;
}

int img_role_part(mb_posix_machine *ip, uint32_t disk, mb_role role, mb_posix_table *t,
                  mb_posix_gpt_part **ret, mb_error *err)
{
        mb_posix_disk *d = disk_of(ip, disk, err);
        int rc;

        if (!d)
                return err->code;
        rc = img_table_read(d, t, err);
        if (rc < 0)
                return rc;
        *ret = NULL;
        if (role == MB_ROLE_OS && img_table_role(t, MB_ROLE_LDM_METADATA))
                rc = os_entry(ip, disk, t, ret, err);
        else
                *ret = img_table_role(t, role);
        if (rc == 0 && !*ret)
                rc = mb_error_set(err, MB_ENOENT, "%s (disk %u): there is no %s partition", d->path,
                                  d->number, mb_role_to_string(role));
        if (rc < 0)
                img_table_clear(t);
        return rc;
}
