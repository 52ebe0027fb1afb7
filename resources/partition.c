/* SPDX-License-Identifier: MIT */
/*
 * partition: every partitioned disk carries the declared roles at the
 * template's (or layout's) geometry, with its type, attributes, name and
 * file system. Partitions are created and labelled, never moved, resized or
 * deleted; the template disk is only checked. Space of a mirrored role on
 * the other disks is left to the mirror resource.
 */
#include "resource.h"

static const mb_part_fact *overlapping(const mb_disk_fact *d, uint64_t first, uint64_t last)
{
        for (uint32_t i = 0; i < d->n_partitions; i++) {
                const mb_part_fact *q = &d->partitions[i];

                if (q->first_lba <= last && first <= q->last_lba)
                        return q;
        }
        return NULL;
}

static void part_label(const char *disk_label, mb_role r, char *buf, size_t len)
{
        snprintf(buf, len, "%s %s", disk_label, mb_role_to_string(r));
}

/* "holds <phrase>": what a partition's file system fact means to a reader. */
static const char *fs_phrase(mb_fs fs)
{
        switch (fs) {
        case MB_FS_NONE:
                return "no file system that blkid recognizes";
        case MB_FS_FAT32:
                return "a fat32 file system";
        case MB_FS_NTFS:
                return "an ntfs file system";
        default:
                return "a file system other than fat32 or ntfs";
        }
}

static int check_source(const mb_config *c, const mb_facts *f, mb_plan *p, int idx,
                        mb_error *err)
{
        mb_disk_fact *d = res_disk(c, f, p, idx);
        mb_part_want want[8];
        char label[128];
        int n;

        if (!d)
                return 0;
        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
        if (d->style != MB_STYLE_GPT)
                return 0; /* the disk resource reported it */
        n = mb_plan_wanted_parts(c, f, &p->binding, d, want, 8, err);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                uint64_t first, last;

                if (!mb_disk_role_span(d, want[i].role, &first, &last) ||
                    first != want[i].first_lba || last != want[i].last_lba)
                        return mb_error_set(err, MB_ESTATE,
                                            "source disk %s has no %s partition at LBA %llu-%llu as the layout declares; mbstate never changes the source disk's partitions",
                                            label, mb_role_to_string(want[i].role),
                                            (unsigned long long)want[i].first_lba,
                                            (unsigned long long)want[i].last_lba);
                /* the ESP the system boots from: everything else is copied from it */
                if (want[i].role == MB_ROLE_EFI) {
                        const mb_part_fact *q = mb_disk_part_by_role(d, MB_ROLE_EFI);

                        if (q && q->fs != MB_FS_FAT32)
                                return mb_error_set(err, MB_ESTATE,
                                                    "source disk %s (%s): partition %u (efi) holds %s; expected the FAT32 EFI system partition the machine boots from",
                                                    label, d->path ? d->path : "?", q->number,
                                                    fs_phrase(q->fs));
                }
        }
        return 0;
}

static int diff_disk(const mb_config *c, const mb_facts *f, mb_plan *p, int idx, mb_error *err)
{
        char cur[MB_CHANGE_TEXT], desired[MB_CHANGE_TEXT];
        int rc;

        mb_disk_fact *d = res_disk(c, f, p, idx);
        bool will_be_gpt = false;
        mb_part_want want[8];
        char label[128], subject[160], size[32];
        int n;

        if (!d)
                return 0;
        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
        for (size_t i = 0; i < p->n_changes; i++)
                if (p->changes[i].op.kind == MB_OP_DISK_INIT_GPT && p->changes[i].op.disk == d->number)
                        will_be_gpt = true;
        if (d->style != MB_STYLE_GPT && !will_be_gpt)
                return 0;
        n = mb_plan_wanted_parts(c, f, &p->binding, d, want, 8, err);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                const mb_part_want *w = &want[i];
                mb_part_fact *q = mb_disk_part_by_role(d, w->role);
                mb_fs fs = mb_role_default_fs(w->role);
                bool format = false;
                size_t before = p->n_changes;
                mb_op op;

                part_label(label, w->role, subject, sizeof(subject));
                if (res_mirrored(c, w->role))
                        continue;
                if (w->last_lba > mb_disk_last_usable(d))
                        return mb_error_set(err, MB_ESTATE,
                                            "disk %s (%s, %s) is too small: the %s partition would end at LBA %llu, past its last usable LBA %llu; expected a disk at least as large as the template",
                                            label, d->path ? d->path : "?",
                                            mb_format_size(d->size, size, sizeof(size)),
                                            mb_role_to_string(w->role), (unsigned long long)w->last_lba,
                                            (unsigned long long)mb_disk_last_usable(d));
                if (!q) {
                        const mb_part_fact *o = overlapping(d, w->first_lba, w->last_lba);

                        if (o)
                                return mb_error_set(err, MB_EUNSAFE,
                                                    "disk %s: partition %u (%s, LBA %llu-%llu) occupies the space of the %s partition (LBA %llu-%llu); mbstate never deletes or moves partitions; remove it by hand if it is expendable",
                                                    label, o->number,
                                                    o->role ? mb_role_to_string(o->role) : (o->type_guid ? o->type_guid : "unknown type"),
                                                    (unsigned long long)o->first_lba, (unsigned long long)o->last_lba,
                                                    mb_role_to_string(w->role), (unsigned long long)w->first_lba,
                                                    (unsigned long long)w->last_lba);
                        res_op_init(&op, MB_OP_PART_CREATE, d, w->role);
                        op.first_lba = w->first_lba;
                        op.last_lba = w->last_lba;
                        op.attributes = w->attributes;
                        snprintf(op.type_guid, sizeof(op.type_guid), "%s", w->type_guid);
                        snprintf(op.name, sizeof(op.name), "%s", w->name);
                        rc = mb_plan_add(p, MB_RES_PARTITION, subject, false, &op, "absent",
                                         res_text(desired, "%s at LBA %llu-%llu, type %s, attributes 0x%016llx",
                                 mb_format_size((w->last_lba - w->first_lba + 1) * mb_disk_sector(d), size, sizeof(size)),
                                 (unsigned long long)w->first_lba, (unsigned long long)w->last_lba,
                                 w->type_guid, (unsigned long long)w->attributes),
                                         err);
                        if (rc)
                                return rc;
                        format = fs != MB_FS_NONE && !res_block_cloned(c, w->role, idx);
                } else {
                        uint64_t first, last;

                        mb_disk_role_span(d, w->role, &first, &last);
                        if (first != w->first_lba || last != w->last_lba)
                                return mb_error_set(err, MB_EUNSAFE,
                                                    "disk %s: partition %u (%s) is at LBA %llu-%llu but the template puts it at LBA %llu-%llu; mbstate never moves or resizes partitions",
                                                    label, q->number, mb_role_to_string(w->role),
                                                    (unsigned long long)first, (unsigned long long)last,
                                                    (unsigned long long)w->first_lba, (unsigned long long)w->last_lba);
                        if (q->attributes != w->attributes) {
                                res_op_init(&op, MB_OP_PART_SET_ATTRS, d, w->role);
                                op.attributes = w->attributes;
                                rc = mb_plan_add(p, MB_RES_PARTITION, subject, false, &op,
                                                 res_text(cur, "attributes 0x%016llx", (unsigned long long)q->attributes),
                                                 res_text(desired, "attributes 0x%016llx", (unsigned long long)w->attributes),
                                                 err);
                                if (rc)
                                        return rc;
                        }
                        if (strcmp(q->name ? q->name : "", w->name) != 0) {
                                res_op_init(&op, MB_OP_PART_SET_NAME, d, w->role);
                                snprintf(op.name, sizeof(op.name), "%s", w->name);
                                rc = mb_plan_add(p, MB_RES_PARTITION, subject, false, &op,
                                                 res_text(cur, "name \"%s\"", q->name ? q->name : ""),
                                                 res_text(desired, "name \"%s\"", w->name), err);
                                if (rc)
                                        return rc;
                        }
                        if (fs != MB_FS_NONE && q->fs != fs && q->fs != MB_FS_NONE &&
                            !res_block_cloned(c, w->role, idx))
                                return mb_error_set(err, MB_EUNSAFE,
                                                    "disk %s (%s): partition %u (%s) holds %s, expected %s; mbstate does not reformat a file system it did not create",
                                                    label, d->path ? d->path : "?", q->number,
                                                    mb_role_to_string(w->role), fs_phrase(q->fs),
                                                    fs_phrase(fs));
                        format = fs != MB_FS_NONE && q->fs == MB_FS_NONE &&
                                 !res_block_cloned(c, w->role, idx);
                }
                if (format) {
                        res_op_init(&op, MB_OP_FORMAT, d, w->role);
                        op.fs = fs;
                        snprintf(op.label, sizeof(op.label), "%s",
                                 w->role == MB_ROLE_EFI ? "SYSTEM" : w->role == MB_ROLE_RECOVERY ? "Recovery" : "");
                        rc = mb_plan_add(p, MB_RES_PARTITION, subject, true, &op, "no file system",
                                         res_text(desired, "%s file system", mb_fs_to_string(fs)), err);
                        if (rc)
                                return rc;
                }
                rc = mb_plan_status(p, MB_RES_PARTITION, subject, before, false, err);
                if (rc)
                        return rc;
        }
        return 0;
}

int mb_res_partition_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        int src = mb_plan_source_index(c);
        int r;

        if (!c->site->partitions)
                return 0;
        r = check_source(c, f, p, src, err);
        for (uint32_t i = 0; !r && i < c->n_part_disks; i++)
                if (c->part_disks[i] != src)
                        r = diff_disk(c, f, p, c->part_disks[i], err);
        return r;
}
