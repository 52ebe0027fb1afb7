/* SPDX-License-Identifier: MIT */
/*
 * The partition table of a wing disk: both GPT copies checked raw (header
 * and entry-array CRCs, where the backup must be for the file's size),
 * then read and written through libfdisk, with every write checked after
 * (libfdisk must not have aligned or moved a range). A damaged copy is
 * rewritten from the intact one only by GPT_REPAIR.
 */
#include "platform/posix/gpt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "fault.h"
#include "guid.h"

/* The largest logical sector the wing reads (the header buffer's size). */
#define SECTOR_MAX 4096u
/* The entry array Windows and libfdisk write: 128 entries of 128 bytes. */
#define ENTRY_ARRAY_BYTES 16384u

static uint32_t crc32_table[256];

static uint32_t crc32(const void *data, size_t len)
{
        const uint8_t *p = data;
        uint32_t c = 0xffffffffu;

        if (!crc32_table[1])
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t v = i;

                        for (int k = 0; k < 8; k++)
                                v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
                        crc32_table[i] = v;
                }
        for (size_t i = 0; i < len; i++)
                c = crc32_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
        return c ^ 0xffffffffu;
}

static int read_at(mb_posix_disk *d, uint64_t off, void *buf, size_t len, mb_error *err)
{
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = pread(d->fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mb_error_errno(err, MB_EIO, errno, "%s: cannot read at offset %llu (pread)",
                                              d->path, (unsigned long long)off);
                if (n == 0) {
                        memset(p, 0, len);
                        return 0;
                }
                p += n, off += (uint64_t)n, len -= (size_t)n;
        }
        return 0;
}

/* One GPT header and its entry array, checked. why[] says what is wrong. */
struct hdr_check {
        bool present;           /* "EFI PART" signature */
        bool ok;
        uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
        uint32_t n_entries, entry_size;
        char why[200];
};

static void check_header(mb_posix_disk *d, uint64_t lba, uint64_t sectors, struct hdr_check *h)
{
        uint8_t hdr[SECTOR_MAX];
        uint32_t ss = d->sector, hsize, want, got;
        uint8_t *ents;
        size_t elen;
        mb_error e;

        memset(h, 0, sizeof(*h));
        if (read_at(d, lba * ss, hdr, ss, &e) < 0) {
                snprintf(h->why, sizeof(h->why), "%s", e.msg);
                return;
        }
        if (memcmp(hdr, "EFI PART", 8) != 0) {
                snprintf(h->why, sizeof(h->why), "no GPT signature at LBA %llu",
                         (unsigned long long)lba);
                return;
        }
        h->present = true;
        hsize = mb_le32(hdr + 12);
        if (hsize < 92 || hsize > ss) {
                snprintf(h->why, sizeof(h->why), "header size %u at LBA %llu is invalid", hsize,
                         (unsigned long long)lba);
                return;
        }
        want = mb_le32(hdr + 16);
        mb_put_le32(hdr + 16, 0);
        got = crc32(hdr, hsize);
        if (want != got) {
                snprintf(h->why, sizeof(h->why),
                         "header CRC at LBA %llu is 0x%08x, the header's bytes give 0x%08x",
                         (unsigned long long)lba, want, got);
                return;
        }
        h->my_lba = mb_le64(hdr + 24);
        h->alt_lba = mb_le64(hdr + 32);
        h->first_usable = mb_le64(hdr + 40);
        h->last_usable = mb_le64(hdr + 48);
        h->entries_lba = mb_le64(hdr + 72);
        h->n_entries = mb_le32(hdr + 80);
        h->entry_size = mb_le32(hdr + 84);
        if (h->my_lba != lba) {
                snprintf(h->why, sizeof(h->why), "header at LBA %llu says it is at LBA %llu",
                         (unsigned long long)lba, (unsigned long long)h->my_lba);
                return;
        }
        if (h->entry_size < 128 || h->entry_size % 8 || h->n_entries == 0 ||
            h->n_entries > 65536) {
                snprintf(h->why, sizeof(h->why), "header at LBA %llu has %u entries of %u bytes",
                         (unsigned long long)lba, h->n_entries, h->entry_size);
                return;
        }
        elen = (size_t)h->n_entries * h->entry_size;
        if (h->alt_lba >= sectors || h->last_usable >= sectors ||
            h->entries_lba + (elen + ss - 1) / ss > sectors) {
                snprintf(h->why, sizeof(h->why),
                         "the image is smaller than its GPT claims (GPT at LBA %llu names LBA %llu, "
                         "the image has %llu sectors)",
                         (unsigned long long)lba,
                         (unsigned long long)(h->alt_lba > h->last_usable ? h->alt_lba
                                                                          : h->last_usable),
                         (unsigned long long)sectors);
                h->present = true;
                h->ok = false;
                h->my_lba = ~0ull; /* marks "too small" */
                return;
        }
        ents = malloc(elen);
        if (!ents) {
                snprintf(h->why, sizeof(h->why), "out of memory");
                return;
        }
        if (read_at(d, h->entries_lba * ss, ents, elen, &e) < 0) {
                snprintf(h->why, sizeof(h->why), "%s", e.msg);
                free(ents);
                return;
        }
        want = mb_le32(hdr + 88);
        got = crc32(ents, elen);
        free(ents);
        if (want != got) {
                snprintf(h->why, sizeof(h->why),
                         "partition entry array CRC (LBA %llu) is 0x%08x, its bytes give 0x%08x",
                         (unsigned long long)h->entries_lba, want, got);
                return;
        }
        h->ok = true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static void lower(char *s)
{
        for (; s && *s; s++)
                *s = (char)tolower((unsigned char)*s);
}

void img_table_clear(mb_posix_table *t)
{
        free(t->parts);
        memset(t, 0, sizeof(*t));
}

mb_posix_gpt_part *img_table_role(mb_posix_table *t, mb_role r)
{
        for (uint32_t i = 0; i < t->n_parts; i++)
                if (t->parts[i].role == r)
                        return &t->parts[i];
        return NULL;
}

uint32_t img_system_disk(mb_posix_machine *ip)
{
        for (uint32_t i = 0; ip->booted && i < ip->n_disks; i++) {
                mb_posix_table t;
                mb_error e = { 0 };
                bool found = false;

                if (img_table_read(&ip->disks[i], &t, &e) < 0)
                        continue;
                for (uint32_t j = 0; j < t.n_parts; j++)
                        found |= t.parts[j].role == MB_ROLE_EFI &&
                                 strcasecmp(t.parts[j].unique_guid, ip->booted) == 0;
                img_table_clear(&t);
                if (found)
                        return i;
        }
        return 0;
}

bool img_part_present(mb_posix_machine *ip, const char *unique_guid)
{
        bool found = false;

        for (uint32_t i = 0; unique_guid && !found && i < ip->n_disks; i++) {
                mb_posix_table t;
                mb_error e = { 0 };

                if (img_table_read(&ip->disks[i], &t, &e) < 0)
                        continue;
                for (uint32_t j = 0; j < t.n_parts; j++)
                        found |= strcasecmp(t.parts[j].unique_guid, unique_guid) == 0;
                img_table_clear(&t);
        }
        return found;
}

static int part_cmp(const void *a, const void *b)
{
        const mb_posix_gpt_part *x = a, *y = b;

        return x->first_lba < y->first_lba ? -1 : x->first_lba > y->first_lba;
}

static int fdisk_err(mb_error *err, mb_posix_disk *d, int rc, const char *what, const char *call)
{
        return mb_error_errno(err, MB_EIO, rc < 0 ? -rc : EIO, "%s: %s (%s)", d->path, what, call);
}

/* Fills t's partitions from a libfdisk context holding a GPT or MBR. */
static int read_parts(mb_posix_disk *d, struct fdisk_context *cxt, mb_posix_table *t, mb_error *err)
{
        struct fdisk_table *tb = NULL;
        struct fdisk_iter *it = NULL;
        struct fdisk_partition *pa;
        bool gpt = t->style == MB_STYLE_GPT;
        int rc;

        rc = fdisk_get_partitions(cxt, &tb);
        if (rc < 0)
                return fdisk_err(err, d, rc, "cannot list partitions", "fdisk_get_partitions");
        it = fdisk_new_iter(FDISK_ITER_FORWARD);
        if (!it) {
                fdisk_unref_table(tb);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        while (fdisk_table_next_partition(tb, it, &pa) == 0) {
                mb_posix_gpt_part *n = mb_reallocarray(t->parts, t->n_parts + 1, sizeof(*n)), *p;
                struct fdisk_parttype *type;
                const char *s;
                size_t partno;

                if (!n) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                t->parts = n;
                p = &n[t->n_parts++];
                memset(p, 0, sizeof(*p));
                partno = fdisk_partition_get_partno(pa);
                p->number = (uint32_t)partno + 1;
                p->first_lba = fdisk_partition_get_start(pa);
                p->last_lba = p->first_lba + fdisk_partition_get_size(pa) - 1;
                if (!gpt)
                        continue;
                type = fdisk_partition_get_type(pa);
                if (type && (s = fdisk_parttype_get_string(type)))
                        snprintf(p->type_guid, sizeof(p->type_guid), "%s", s);
                if ((s = fdisk_partition_get_uuid(pa)))
                        snprintf(p->unique_guid, sizeof(p->unique_guid), "%s", s);
                if ((s = fdisk_partition_get_name(pa)))
                        snprintf(p->name, sizeof(p->name), "%s", s);
                lower(p->type_guid);
                lower(p->unique_guid);
                rc = fdisk_gpt_get_partition_attrs(cxt, partno, &p->attributes);
                if (rc < 0) {
                        rc = fdisk_err(err, d, rc, "cannot read partition attributes",
                                       "fdisk_gpt_get_partition_attrs");
                        break;
                }
                rc = 0;
                p->role = mb_role_from_type_guid(p->type_guid);
        }
        fdisk_free_iter(it);
        fdisk_unref_table(tb);
        if (rc < 0)
                return rc;
        if (t->n_parts > 1)
                qsort(t->parts, t->n_parts, sizeof(*t->parts), part_cmp);
        return 0;
}

/* A libfdisk context that sees d's logical sector size: libfdisk asks a
 * block device (BLKSSZGET) but takes 512 for a file unless told, and a
 * 4096-byte image read as 512 shows no GPT. The user sizes are applied by
 * fdisk_assign_device. */
static struct fdisk_context *new_context(mb_posix_disk *d)
{
        struct fdisk_context *cxt = fdisk_new_context();

        if (cxt && fdisk_save_user_sector_size(cxt, d->physical_sector, d->sector) < 0) {
                fdisk_unref_context(cxt);
                return NULL;
        }
        return cxt;
}

int img_table_read(mb_posix_disk *d, mb_posix_table *ret, mb_error *err)
{
        struct hdr_check pri, bak;
        struct fdisk_context *cxt = NULL;
        uint8_t mbr[512];
        mb_posix_table t = { 0 };
        struct stat st;
        bool pmbr;
        int rc;

        if (fstat(d->fd, &st) < 0)
                return mb_error_errno(err, MB_EIO, errno, "%s: cannot stat (fstat)", d->path);
        if (S_ISBLK(st.st_mode)) {
                uint64_t sz = 0;
                off_t e = lseek(d->fd, 0, SEEK_END);

                if (e < 0)
                        return mb_error_errno(err, MB_EIO, errno, "%s: cannot size (lseek)", d->path);
                sz = (uint64_t)e;
                t.size = sz;
        } else {
                t.size = (uint64_t)st.st_size;
        }
        t.sectors = t.size / d->sector;
        if (t.sectors < 68)
                return mb_error_set(err, MB_EINVAL, "%s: image is too small to be a disk (%llu bytes)",
                                    d->path, (unsigned long long)t.size);
        rc = read_at(d, 0, mbr, sizeof(mbr), err);
        if (rc < 0)
                return rc;
        pmbr = mbr[510] == 0x55 && mbr[511] == 0xaa && mbr[446 + 4] == 0xee;
        check_header(d, 1, t.sectors, &pri);
        if (pri.present && pri.my_lba == ~0ull)
                return mb_error_set(err, MB_ECORRUPT, "%s: %s", d->path, pri.why);
        check_header(d, pri.ok ? pri.alt_lba : t.sectors - 1, t.sectors, &bak);
        if (bak.present && bak.my_lba == ~0ull)
                return mb_error_set(err, MB_ECORRUPT, "%s: %s", d->path, bak.why);
        if (!pri.present && !bak.present && !pmbr) {
                bool mbr_parts = mbr[510] == 0x55 && mbr[511] == 0xaa &&
                                 !all_zero(mbr + 446, 64);

                if (!mbr_parts) {
                        t.style = MB_STYLE_RAW;
                        *ret = t;
                        return 0;
                }
                t.style = MB_STYLE_MBR;
        } else {
                /* one damaged copy: read the intact one (as the UEFI spec
                 * has firmware do); rewriting the damaged copy is a planned
                 * change (gpt-repair), never done by reading */
                d->gpt_damaged[0] = '\0';
                if (pri.ok && !bak.ok) {
                        snprintf(d->gpt_damaged, sizeof(d->gpt_damaged), "backup");
                        snprintf(d->gpt_damage, sizeof(d->gpt_damage), "%s", bak.why);
                        d->gpt_needs_repair = true;
                } else if (!pri.ok && bak.ok) {
                        snprintf(d->gpt_damaged, sizeof(d->gpt_damaged), "primary");
                        snprintf(d->gpt_damage, sizeof(d->gpt_damage), "%s", pri.why);
                        d->gpt_needs_repair = true;
                } else if (!pri.ok && !bak.ok) {
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: both GPT copies are damaged (primary: %s; backup: %s)",
                                            d->path, pri.why, bak.why);
                } else {
                        d->gpt_needs_repair = false;
                }
                t.style = MB_STYLE_GPT;
                t.first_usable = pri.ok ? pri.first_usable : bak.first_usable;
                t.last_usable = pri.ok ? pri.last_usable : bak.last_usable;
        }

        cxt = new_context(d);
        if (!cxt)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        rc = fdisk_assign_device(cxt, d->path, 1);
        if (rc < 0) {
                fdisk_unref_context(cxt);
                return fdisk_err(err, d, rc, "cannot open", "fdisk_assign_device");
        }
        if (t.style == MB_STYLE_GPT) {
                char *id = NULL;

                if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                        rc = mb_error_set(err, MB_ECORRUPT, "%s: libfdisk does not see the GPT",
                                          d->path);
                        goto out;
                }
                rc = fdisk_get_disklabel_id(cxt, &id);
                if (rc < 0 || !id) {
                        rc = fdisk_err(err, d, rc, "cannot read the disk GUID",
                                       "fdisk_get_disklabel_id");
                        goto out;
                }
                snprintf(t.disk_guid, sizeof(t.disk_guid), "%s", id);
                lower(t.disk_guid);
                free(id);
        } else if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_DOS)) {
                rc = mb_error_set(err, MB_ECORRUPT, "%s: the MBR cannot be read by libfdisk",
                                  d->path);
                goto out;
        }
        rc = read_parts(d, cxt, &t, err);
out:
        fdisk_unref_context(cxt);
        if (rc < 0) {
                img_table_clear(&t);
                return rc;
        }
        *ret = t;
        return 0;
}

/* A writable libfdisk context on d's GPT. */
static int open_write(mb_posix_disk *d, struct fdisk_context **ret, mb_error *err)
{
        struct fdisk_context *cxt;
        int rc, fd;

        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return rc;
        close(fd);
        cxt = new_context(d);
        if (!cxt)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        rc = fdisk_assign_device(cxt, d->path, 0);
        if (rc < 0) {
                fdisk_unref_context(cxt);
                return fdisk_err(err, d, rc, "cannot open for writing", "fdisk_assign_device");
        }
        *ret = cxt;
        return 0;
}

static int write_close(mb_posix_disk *d, struct fdisk_context *cxt, mb_error *err)
{
        int rc;

        if (mb_fault_pointf(err, "fdisk_write_disklabel of %s", d->path) < 0) {
                fdisk_unref_context(cxt);
                return MB_EIO;
        }
        rc = fdisk_write_disklabel(cxt);
        if (rc < 0) {
                fdisk_unref_context(cxt);
                return fdisk_err(err, d, rc, "cannot write GPT", "fdisk_write_disklabel");
        }
        rc = fdisk_deassign_device(cxt, 0);
        fdisk_unref_context(cxt);
        if (rc < 0)
                return fdisk_err(err, d, rc, "cannot close after writing GPT",
                                 "fdisk_deassign_device");
        return 0;
}

/* Refuses to write a GPT one of whose copies is damaged: the plan's
 * gpt-repair comes first. */
static int ensure_sound(mb_posix_disk *d, mb_error *err)
{
        mb_posix_table t;
        int rc = img_table_read(d, &t, err);

        if (rc < 0)
                return rc;
        img_table_clear(&t);
        if (d->gpt_needs_repair)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: the %s GPT is damaged (%s) while the other copy is intact; not written before the gpt-repair change rewrites it",
                                    d->path, d->gpt_damaged, d->gpt_damage);
        return 0;
}

int img_gpt_repair(mb_posix_disk *d, mb_error *err)
{
        struct fdisk_context *cxt;
        mb_posix_table t;
        int rc = open_write(d, &cxt, err);

        if (rc < 0)
                return rc;
        if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                fdisk_unref_context(cxt);
                return mb_error_set(err, MB_ECORRUPT, "%s: no intact GPT to repair from", d->path);
        }
        rc = write_close(d, cxt, err);
        if (rc < 0)
                return mb_error_prefix(err, "repairing GPT");
        d->gpt_needs_repair = false;
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return mb_error_prefix(err, "after repairing GPT");
        img_table_clear(&t);
        if (d->gpt_needs_repair)
                return mb_error_set(err, MB_ECORRUPT, "%s: GPT still damaged after repair", d->path);
        return 0;
}

int img_gpt_init(mb_posix_disk *d, mb_error *err)
{
        static const uint8_t zeros[2 * SECTOR_MAX + ENTRY_ARRAY_BYTES];
        struct fdisk_context *cxt = NULL;
        /* the first usable LBA: protective MBR, header, entry array (34 on
         * 512-byte sectors, 6 on 4096-byte ones, as Windows lays them out) */
        uint64_t first_lba = 2 + ENTRY_ARRAY_BYTES / d->sector;
        size_t clean = (size_t)first_lba * d->sector;
        char first_text[24];
        struct fdisk_script *sc = NULL;
        mb_posix_table t;
        int rc, fd;

        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        if (t.n_parts > 0) {
                rc = mb_error_set(err, MB_EUNSAFE,
                                  "%s: refusing to initialize: the disk has %u partition(s)",
                                  d->path, t.n_parts);
                img_table_clear(&t);
                return rc;
        }
        /* clean: the first and last 34 sectors (17408 bytes), as diskpart's
         * clean does; on 4096-byte sectors the same 6 sectors (24576 bytes) */
        rc = img_open_rw(d, &fd, err);
        if (rc < 0) {
                img_table_clear(&t);
                return rc;
        }
        if (mb_fault_pointf(err, "pwrite (clean) of %s", d->path) < 0) {
                close(fd);
                img_table_clear(&t);
                return MB_EIO;
        }
        if (pwrite(fd, zeros, clean, 0) != (ssize_t)clean ||
            pwrite(fd, zeros, clean, (off_t)(t.size - clean)) != (ssize_t)clean) {
                rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot clean (pwrite)", d->path);
                close(fd);
                img_table_clear(&t);
                return rc;
        }
        close(fd);
        img_table_clear(&t);

        rc = open_write(d, &cxt, err);
        if (rc < 0)
                return rc;
        sc = fdisk_new_script(cxt);
        snprintf(first_text, sizeof(first_text), "%llu", (unsigned long long)first_lba);
        if (!sc || fdisk_script_set_header(sc, "label", "gpt") < 0 ||
            fdisk_script_set_header(sc, "first-lba", first_text) < 0) {
                fdisk_unref_script(sc);
                fdisk_unref_context(cxt);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        rc = fdisk_apply_script_headers(cxt, sc);
        /* the context holds the script and the script the context: break the
         * cycle, or neither is ever freed */
        fdisk_set_script(cxt, NULL);
        fdisk_unref_script(sc);
        if (rc < 0) {
                fdisk_unref_context(cxt);
                return fdisk_err(err, d, rc, "cannot create GPT with its first usable LBA",
                                 "fdisk_apply_script_headers");
        }
        rc = write_close(d, cxt, err);
        if (rc < 0)
                return rc;
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return mb_error_prefix(err, "after writing GPT");
        if (t.style != MB_STYLE_GPT || t.first_usable != first_lba) {
                rc = mb_error_set(err, MB_EIO, "%s: new GPT reads back as %s with first usable LBA %llu",
                                  d->path, mb_style_to_string(t.style),
                                  (unsigned long long)t.first_usable);
        }
        img_table_clear(&t);
        return rc;
}

static int find_partno(mb_posix_disk *d, struct fdisk_context *cxt, uint32_t number, mb_error *err)
{
        struct fdisk_partition *pa = NULL;
        int rc;

        if (number == 0 || !fdisk_is_partition_used(cxt, number - 1))
                return mb_error_set(err, MB_ENOENT, "%s: partition %u does not exist", d->path,
                                    number);
        rc = fdisk_get_partition(cxt, number - 1, &pa);
        fdisk_unref_partition(pa);
        if (rc < 0)
                return fdisk_err(err, d, rc, "cannot read partition", "fdisk_get_partition");
        return 0;
}

int img_gpt_create(mb_posix_disk *d, uint64_t first, uint64_t last, const char *type_guid,
                   const char *name, uint64_t attributes, uint32_t *ret_number,
                   mb_error *err)
{
        struct fdisk_context *cxt = NULL;
        struct fdisk_partition *pa = NULL;
        struct fdisk_parttype *type = NULL;
        char guid[MB_GUID_STR_LEN];
        mb_guid g;
        mb_posix_table t;
        size_t partno = 0;
        int rc;

        if (!type_guid || mb_guid_parse(type_guid, &g) < 0)
                return mb_error_set(err, MB_EINVAL, "%s: invalid partition type GUID '%s'", d->path,
                                    type_guid ? type_guid : "");
        rc = ensure_sound(d, err);
        if (rc < 0)
                return rc;
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        if (t.style != MB_STYLE_GPT) {
                img_table_clear(&t);
                return mb_error_set(err, MB_ESTATE, "%s: cannot create a partition: the disk is not GPT",
                                    d->path);
        }
        if (first > last || first < t.first_usable || last > t.last_usable) {
                rc = mb_error_set(err, MB_EINVAL,
                                  "%s: partition LBA %llu-%llu is outside the usable area %llu-%llu",
                                  d->path, (unsigned long long)first, (unsigned long long)last,
                                  (unsigned long long)t.first_usable,
                                  (unsigned long long)t.last_usable);
                img_table_clear(&t);
                return rc;
        }
        for (uint32_t i = 0; i < t.n_parts; i++)
                if (first <= t.parts[i].last_lba && t.parts[i].first_lba <= last) {
                        rc = mb_error_set(err, MB_ESTATE,
                                          "%s: partition LBA %llu-%llu overlaps partition %u (LBA %llu-%llu)",
                                          d->path, (unsigned long long)first,
                                          (unsigned long long)last, t.parts[i].number,
                                          (unsigned long long)t.parts[i].first_lba,
                                          (unsigned long long)t.parts[i].last_lba);
                        img_table_clear(&t);
                        return rc;
                }
        img_table_clear(&t);
        if (mb_guid_random(&g) < 0)
                return mb_error_set(err, MB_EIO, "cannot make a random GUID");
        mb_guid_format(&g, guid);

        rc = open_write(d, &cxt, err);
        if (rc < 0)
                return rc;
        type = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), type_guid);
        pa = fdisk_new_partition();
        if (!type || !pa) {
                rc = mb_error_set(err, MB_EINVAL, "%s: invalid partition type '%s'", d->path,
                                  type_guid);
                goto out;
        }
        fdisk_partition_set_start(pa, first);
        fdisk_partition_set_size(pa, last - first + 1);
        fdisk_partition_size_explicit(pa, 1);
        fdisk_partition_partno_follow_default(pa, 1);
        fdisk_partition_set_type(pa, type);
        fdisk_partition_set_uuid(pa, guid);
        if (name && *name)
                fdisk_partition_set_name(pa, name);
        rc = fdisk_add_partition(cxt, pa, &partno);
        if (rc < 0) {
                rc = fdisk_err(err, d, rc, "cannot add partition", "fdisk_add_partition");
                goto out;
        }
        rc = fdisk_gpt_set_partition_attrs(cxt, partno, attributes);
        if (rc < 0) {
                rc = fdisk_err(err, d, rc, "cannot set partition attributes",
                               "fdisk_gpt_set_partition_attrs");
                goto out;
        }
        fdisk_unref_partition(pa);
        fdisk_unref_parttype(type);
        pa = NULL, type = NULL;
        rc = write_close(d, cxt, err);
        cxt = NULL;
        if (rc < 0)
                return rc;
        /* libfdisk may have aligned: read back and check */
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        rc = mb_error_set(err, MB_EIO, "%s: new partition %zu not found after writing", d->path,
                          partno + 1);
        for (uint32_t i = 0; i < t.n_parts; i++)
                if (t.parts[i].number == partno + 1) {
                        if (t.parts[i].first_lba != first || t.parts[i].last_lba != last)
                                rc = mb_error_set(err, MB_EIO,
                                                  "%s: partition %zu was written at LBA %llu-%llu instead of %llu-%llu",
                                                  d->path, partno + 1,
                                                  (unsigned long long)t.parts[i].first_lba,
                                                  (unsigned long long)t.parts[i].last_lba,
                                                  (unsigned long long)first,
                                                  (unsigned long long)last);
                        else {
                                mb_error_clear(err);
                                rc = 0;
                        }
                }
        img_table_clear(&t);
        if (rc == 0 && ret_number)
                *ret_number = (uint32_t)partno + 1;
        return rc;
out:
        fdisk_unref_partition(pa);
        fdisk_unref_parttype(type);
        fdisk_unref_context(cxt);
        return rc;
}

enum set_what { SET_TYPE, SET_ATTRS, SET_NAME };

static int set_field(mb_posix_disk *d, uint32_t number, enum set_what what, const char *s,
                     uint64_t v, mb_error *err)
{
        struct fdisk_context *cxt = NULL;
        struct fdisk_partition *pa = NULL;
        struct fdisk_parttype *type = NULL;
        int rc;

        rc = ensure_sound(d, err);
        if (rc < 0)
                return rc;
        rc = open_write(d, &cxt, err);
        if (rc < 0)
                return rc;
        if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                rc = mb_error_set(err, MB_ESTATE, "%s: the disk is not GPT", d->path);
                goto out;
        }
        rc = find_partno(d, cxt, number, err);
        if (rc < 0)
                goto out;
        switch (what) {
        case SET_ATTRS:
                rc = fdisk_gpt_set_partition_attrs(cxt, number - 1, v);
                if (rc < 0)
                        rc = fdisk_err(err, d, rc, "cannot set partition attributes",
                                       "fdisk_gpt_set_partition_attrs");
                break;
        case SET_TYPE:
                if (mb_guid_parse(s, &(mb_guid){ 0 }) < 0) {
                        rc = mb_error_set(err, MB_EINVAL, "%s: invalid partition type GUID '%s'",
                                          d->path, s);
                        break;
                }
                type = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), s);
                if (!type) {
                        rc = mb_error_set(err, MB_EINVAL, "%s: invalid partition type '%s'",
                                          d->path, s);
                        break;
                }
                rc = fdisk_set_partition_type(cxt, number - 1, type);
                if (rc < 0)
                        rc = fdisk_err(err, d, rc, "cannot set partition type",
                                       "fdisk_set_partition_type");
                break;
        case SET_NAME:
                pa = fdisk_new_partition();
                if (!pa) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                fdisk_partition_set_name(pa, s);
                rc = fdisk_set_partition(cxt, number - 1, pa);
                if (rc < 0)
                        rc = fdisk_err(err, d, rc, "cannot set partition name",
                                       "fdisk_set_partition");
                break;
        }
        if (rc < 0)
                goto out;
        fdisk_unref_partition(pa);
        fdisk_unref_parttype(type);
        return write_close(d, cxt, err);
out:
        fdisk_unref_partition(pa);
        fdisk_unref_parttype(type);
        fdisk_unref_context(cxt);
        return rc;
}

int img_gpt_set_type(mb_posix_disk *d, uint32_t number, const char *type_guid, mb_error *err)
{
        return set_field(d, number, SET_TYPE, type_guid, 0, err);
}

int img_gpt_set_attrs(mb_posix_disk *d, uint32_t number, uint64_t attributes, mb_error *err)
{
        return set_field(d, number, SET_ATTRS, NULL, attributes, err);
}

int img_gpt_set_name(mb_posix_disk *d, uint32_t number, const char *name, mb_error *err)
{
        return set_field(d, number, SET_NAME, name, 0, err);
}

/* Applies one edit to the in-memory table of cxt. */
static int apply_edit(mb_posix_disk *d, struct fdisk_context *cxt, const mb_posix_gpt_edit *e,
                      mb_error *err)
{
        struct fdisk_partition *pa = NULL;
        struct fdisk_parttype *type = NULL;
        char guid[MB_GUID_STR_LEN];
        size_t partno = 0;
        mb_guid g;
        int rc;

        switch (e->kind) {
        case MB_POSIX_GPT_EDIT_DELETE:
                rc = find_partno(d, cxt, e->number, err);
                if (rc < 0)
                        return rc;
                rc = fdisk_delete_partition(cxt, e->number - 1);
                if (rc < 0)
                        return fdisk_err(err, d, rc, "cannot delete partition",
                                         "fdisk_delete_partition");
                return 0;
        case MB_POSIX_GPT_EDIT_TYPE:
                rc = find_partno(d, cxt, e->number, err);
                if (rc < 0)
                        return rc;
                type = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), e->type_guid);
                if (!type)
                        return mb_error_set(err, MB_EINVAL, "%s: invalid partition type '%s'",
                                            d->path, e->type_guid);
                rc = fdisk_set_partition_type(cxt, e->number - 1, type);
                fdisk_unref_parttype(type);
                if (rc < 0)
                        return fdisk_err(err, d, rc, "cannot change the partition type",
                                         "fdisk_set_partition_type");
                return 0;
        case MB_POSIX_GPT_EDIT_RANGE:
                rc = find_partno(d, cxt, e->number, err);
                if (rc < 0)
                        return rc;
                pa = fdisk_new_partition();
                if (!pa)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                fdisk_partition_set_start(pa, e->first_lba);
                fdisk_partition_set_size(pa, e->last_lba - e->first_lba + 1);
                rc = fdisk_set_partition(cxt, e->number - 1, pa);
                fdisk_unref_partition(pa);
                if (rc < 0)
                        return fdisk_err(err, d, rc, "cannot move or resize partition",
                                         "fdisk_set_partition");
                return 0;
        case MB_POSIX_GPT_EDIT_CREATE:
                if (mb_guid_random(&g) < 0)
                        return mb_error_set(err, MB_EIO, "cannot make a random GUID");
                mb_guid_format(&g, guid);
                type = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), e->type_guid);
                pa = fdisk_new_partition();
                if (!type || !pa) {
                        fdisk_unref_partition(pa);
                        fdisk_unref_parttype(type);
                        return mb_error_set(err, MB_EINVAL, "%s: invalid partition type '%s'",
                                            d->path, e->type_guid);
                }
                fdisk_partition_set_start(pa, e->first_lba);
                fdisk_partition_set_size(pa, e->last_lba - e->first_lba + 1);
                fdisk_partition_size_explicit(pa, 1);
                fdisk_partition_partno_follow_default(pa, 1);
                fdisk_partition_set_type(pa, type);
                fdisk_partition_set_uuid(pa, guid);
                if (e->name[0])
                        fdisk_partition_set_name(pa, e->name);
                rc = fdisk_add_partition(cxt, pa, &partno);
                fdisk_unref_partition(pa);
                fdisk_unref_parttype(type);
                if (rc < 0)
                        return fdisk_err(err, d, rc, "cannot add partition", "fdisk_add_partition");
                rc = fdisk_gpt_set_partition_attrs(cxt, partno, e->attributes);
                if (rc < 0)
                        return fdisk_err(err, d, rc, "cannot set partition attributes",
                                         "fdisk_gpt_set_partition_attrs");
                return 0;
        }
        return mb_error_set(err, MB_EINVAL, "unknown GPT edit %d", (int)e->kind);
}

int img_gpt_edit_batch(mb_posix_disk *d, const mb_posix_gpt_edit *edits, size_t n, mb_error *err)
{
        struct fdisk_context *cxt = NULL;
        mb_posix_table t;
        int rc;

        rc = ensure_sound(d, err);
        if (rc < 0)
                return rc;
        rc = open_write(d, &cxt, err);
        if (rc < 0)
                return rc;
        if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                fdisk_unref_context(cxt);
                return mb_error_set(err, MB_ESTATE, "%s: the disk is not GPT", d->path);
        }
        for (size_t i = 0; i < n; i++) {
                rc = apply_edit(d, cxt, &edits[i], err);
                if (rc < 0) {
                        fdisk_unref_context(cxt);
                        return mb_error_prefix(err, "GPT edit %zu of %zu (nothing written)", i + 1, n);
                }
        }
        rc = write_close(d, cxt, err);
        if (rc < 0)
                return rc;
        /* libfdisk may have aligned: every created or moved range must read back exactly */
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return mb_error_prefix(err, "after writing GPT");
        for (size_t i = 0; i < n && rc == 0; i++) {
                const mb_posix_gpt_edit *e = &edits[i];
                bool found = false;

                if (e->kind == MB_POSIX_GPT_EDIT_DELETE)
                        continue;
                for (uint32_t j = 0; j < t.n_parts; j++)
                        found |= t.parts[j].first_lba == e->first_lba &&
                                 t.parts[j].last_lba == e->last_lba;
                if (!found)
                        rc = mb_error_set(err, MB_EIO,
                                          "%s: no partition at LBA %llu-%llu after writing the GPT",
                                          d->path, (unsigned long long)e->first_lba,
                                          (unsigned long long)e->last_lba);
        }
        img_table_clear(&t);
        return rc;
}
