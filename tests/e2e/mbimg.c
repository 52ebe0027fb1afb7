/* SPDX-License-Identifier: MIT */
/*
 * mbimg: a test driver for the image target, independent of the CLI.
 *
 *   mbimg facts A.img,B.img
 *   mbimg exec A.img,B.img ALLOW KIND [key=value ...]
 *
 * ALLOW is a comma-separated list of disk numbers passed to allow_write
 * ("-" for none). KIND is an operation name (PART_CREATE, FORMAT, ...). Keys:
 * disk disk2 role first last attrs type name fs label object description
 * path position number (hex, a Boot#### number; 0xffff, none, by default)
 * esp_store store_disk keep_store (1 or true) expect_serial expect_size.
 * Prints facts as one line per object (the stores of ESPs other than the
 * system one as "espN bcdstore" and "espN bcd" lines); errors go to stderr
 * with exit status 1.
 *
 * exec stands for a plan and its execution: it reads the facts and records
 * the disk's identity in a destructive op as the plan does
 * (mb_op_record_identity); expect_serial and expect_size replace its halves
 * (a plan made for another disk), identity=none records none. replace_with=FILE renames FILE over
 * the op's disk path after that and before the operation (the disk swapped
 * behind the path between plan and execute). The op goes through the gate,
 * mb_platform_execute.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

static bool serial_given, size_given, identity_none;
static const char *replace_with;

static const char *const kinds[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = "DISK_ONLINE", [MB_OP_DISK_INIT_GPT] = "DISK_INIT_GPT",
        [MB_OP_PART_CREATE] = "PART_CREATE", [MB_OP_PART_SET_TYPE] = "PART_SET_TYPE",
        [MB_OP_PART_SET_ATTRS] = "PART_SET_ATTRS", [MB_OP_PART_SET_NAME] = "PART_SET_NAME",
        [MB_OP_FORMAT] = "FORMAT", [MB_OP_CONVERT_DYNAMIC] = "CONVERT_DYNAMIC",
        [MB_OP_MIRROR_ADD] = "MIRROR_ADD", [MB_OP_MIRROR_REMOVE_MISSING] = "MIRROR_REMOVE_MISSING",
        [MB_OP_MIRROR_RESYNC] = "MIRROR_RESYNC", [MB_OP_CLONE_BLOCKS] = "CLONE_BLOCKS",
        [MB_OP_SYNC_FILES] = "SYNC_FILES", [MB_OP_BCD_COPY_BOOTMGR] = "BCD_COPY_BOOTMGR",
        [MB_OP_BCD_CREATE_LOADER] = "BCD_CREATE_LOADER", [MB_OP_BCD_SET_DEVICE] = "BCD_SET_DEVICE",
        [MB_OP_BCD_DELETE] = "BCD_DELETE", [MB_OP_BCD_DISPLAYORDER] = "BCD_DISPLAYORDER",
        [MB_OP_BCD_SET_DEFAULT] = "BCD_SET_DEFAULT",
        [MB_OP_FW_ENTRY] = "FW_ENTRY", [MB_OP_FW_DELETE] = "FW_DELETE",
        [MB_OP_LDM_REPAIR] = "LDM_REPAIR",
        [MB_OP_GPT_REPAIR] = "GPT_REPAIR",
};

static const char *s(const char *v)
{
        return v ? v : "-";
}

static void dev(const char *key, const mb_bcd_device_fact *d)
{
        if (d)
                printf(" %s=%s:%s:%s", key, s(d->kind), s(d->partition), s(d->disk));
}

/* One store: "PREFIXbcdstore WHERE", then "PREFIXbcd ID ..." per object
 * (PREFIX "" for the system store, "espN " for the store on disk N's ESP). */
static void print_store(const char *prefix, const mb_bcd_fact *b)
{
        printf("%sbcdstore %s\n", prefix, s(b->store));
        for (uint32_t i = 0; i < b->n_objects; i++) {
                const mb_bcd_object_fact *o = &b->objects[i];

                printf("%sbcd %s type=%s", prefix, o->id, s(o->type));
                dev("device", o->device);
                dev("osdevice", o->osdevice);
                printf(" path=%s", s(o->path));
                if (o->path_check)
                        printf(" path_check=%s:%d", s(o->path_check->volume), o->path_check->exists);
                if (o->n_displayorder) {
                        printf(" order=");
                        for (uint32_t k = 0; k < o->n_displayorder; k++)
                                printf("%s%s", k ? "," : "", o->displayorder[k]);
                }
                if (o->default_id)
                        printf(" default=%s", o->default_id);
                if (o->recovery)
                        printf(" recoverysequence=%s", o->recovery);
                printf(" description=%s\n", s(o->description));
        }
}

static void print_facts(const mb_facts *f)
{
        for (uint32_t i = 0; i < f->n_disks; i++) {
                const mb_disk_fact *d = &f->disks[i];

                printf("disk %u path=%s serial=%s size=%" PRIu64 " sector=%u online=%d ro=%d system=%d "
                       "style=%s guid=%s first=%" PRIu64 " last=%" PRIu64 " parts=%u\n",
                       d->number, d->path, s(d->serial), d->size, d->sector_size, d->online,
                       d->read_only, d->system, mb_style_to_string(d->style), s(d->disk_guid),
                       d->first_usable_lba, d->last_usable_lba, d->n_partitions);
                for (uint32_t j = 0; j < d->n_partitions; j++) {
                        const mb_part_fact *p = &d->partitions[j];

                        printf("part %u %u role=%s type=%s guid=%s first=%" PRIu64 " last=%" PRIu64
                               " attrs=0x%016" PRIx64 " fs=%s label=%s sha256=%s files=%u name=%s\n",
                               d->number, p->number, mb_role_to_string(p->role), s(p->type_guid),
                               s(p->unique_guid), p->first_lba, p->last_lba, p->attributes,
                               mb_fs_to_string(p->fs), s(p->label), s(p->content_sha256),
                               p->n_files, s(p->name));
                        for (uint32_t k = 0; k < p->n_files; k++)
                                printf("file %u %u %s %" PRIu64 " %s\n", d->number, p->number,
                                       p->files[k].path, p->files[k].size, p->files[k].sha256);
                }
        }
        if (f->firmware) {
                printf("fworder");
                for (uint32_t i = 0; i < f->firmware->n_order; i++)
                        printf(" %04X", f->firmware->order[i]);
                printf("\n");
                for (uint32_t i = 0; i < f->firmware->n_entries; i++) {
                        const mb_fw_entry_fact *e = &f->firmware->entries[i];

                        printf("fw %04X partition=%s path=%s description=%s\n", e->number,
                               s(e->partition), s(e->path), s(e->description));
                }
        }
        if (f->bcd)
                print_store("", f->bcd);
        for (uint32_t i = 0; i < f->n_disks; i++)
                for (uint32_t j = 0; j < f->disks[i].n_partitions; j++)
                        if (f->disks[i].partitions[j].bcd) {
                                char prefix[32];

                                snprintf(prefix, sizeof(prefix), "esp%u ", f->disks[i].number);
                                print_store(prefix, f->disks[i].partitions[j].bcd);
                        }
}

static int parse_op(int argc, char **argv, mb_op *op)
{
        memset(op, 0, sizeof(*op));
        op->kind = MB_OP__COUNT;
        op->number = 0xffff;    /* as a plan says "no entry yet" */
        for (int k = 0; k < MB_OP__COUNT; k++)
                if (kinds[k] && strcmp(argv[0], kinds[k]) == 0)
                        op->kind = (mb_op_kind)k;
        if (op->kind == MB_OP__COUNT) {
                fprintf(stderr, "mbimg: unknown operation %s\n", argv[0]);
                return -1;
        }
        for (int i = 1; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                const char *k = argv[i], *v;

                if (!eq) {
                        fprintf(stderr, "mbimg: expected key=value: %s\n", argv[i]);
                        return -1;
                }
                *eq = '\0';
                v = eq + 1;
                if (!strcmp(k, "disk"))
                        op->disk = (uint32_t)strtoul(v, NULL, 0);
                else if (!strcmp(k, "disk2"))
                        op->disk2 = (uint32_t)strtoul(v, NULL, 0);
                else if (!strcmp(k, "role")) {
                        if (mb_role_from_string(v, &op->role) < 0) {
                                fprintf(stderr, "mbimg: unknown role %s\n", v);
                                return -1;
                        }
                } else if (!strcmp(k, "first"))
                        op->first_lba = strtoull(v, NULL, 0);
                else if (!strcmp(k, "last"))
                        op->last_lba = strtoull(v, NULL, 0);
                else if (!strcmp(k, "attrs"))
                        op->attributes = strtoull(v, NULL, 0);
                else if (!strcmp(k, "type"))
                        snprintf(op->type_guid, sizeof(op->type_guid), "%s", v);
                else if (!strcmp(k, "name"))
                        snprintf(op->name, sizeof(op->name), "%s", v);
                else if (!strcmp(k, "fs"))
                        op->fs = !strcmp(v, "fat32") ? MB_FS_FAT32 : !strcmp(v, "ntfs") ? MB_FS_NTFS : MB_FS_OTHER;
                else if (!strcmp(k, "label"))
                        snprintf(op->label, sizeof(op->label), "%s", v);
                else if (!strcmp(k, "object"))
                        snprintf(op->object, sizeof(op->object), "%s", v);
                else if (!strcmp(k, "description"))
                        snprintf(op->description, sizeof(op->description), "%s", v);
                else if (!strcmp(k, "path"))
                        snprintf(op->path, sizeof(op->path), "%s", v);
                else if (!strcmp(k, "position"))
                        op->position = !strcmp(v, "first") ? MB_POS_FIRST : !strcmp(v, "last") ? MB_POS_LAST : MB_POS_ABSENT;
                else if (!strcmp(k, "number"))
                        op->number = (uint32_t)strtoul(v, NULL, 16);
                else if (!strcmp(k, "esp_store"))
                        op->esp_store = !strcmp(v, "1") || !strcmp(v, "true");
                else if (!strcmp(k, "store_disk"))
                        op->store_disk = (uint32_t)strtoul(v, NULL, 0);
                else if (!strcmp(k, "keep_store"))
                        op->keep_store = !strcmp(v, "1") || !strcmp(v, "true");
                else if (!strcmp(k, "expect_serial")) {
                        snprintf(op->expect_serial, sizeof(op->expect_serial), "%s", v);
                        serial_given = true;
                } else if (!strcmp(k, "expect_size")) {
                        op->expect_size = strtoull(v, NULL, 0);
                        size_given = true;
                } else if (!strcmp(k, "identity") && !strcmp(v, "none"))
                        identity_none = true;
                else if (!strcmp(k, "replace_with"))
                        replace_with = v;
                else {
                        fprintf(stderr, "mbimg: unknown key %s\n", k);
                        return -1;
                }
        }
        return 0;
}

static void progress_update(mb_progress *p, const char *what, uint64_t done, uint64_t total)
{
        (void)p;
        if (done == total)
                fprintf(stderr, "%s: %" PRIu64 "/%" PRIu64 " bytes\n", what, done, total);
}

int main(int argc, char **argv)
{
        mb_platform *p = NULL;
        mb_error err = { 0 };
        mb_facts *f = NULL;
        int rc;

        if (argc < 3 || (strcmp(argv[1], "facts") && strcmp(argv[1], "exec")) ||
            (!strcmp(argv[1], "exec") && argc < 5)) {
                fprintf(stderr, "usage: mbimg facts LIST | mbimg exec LIST ALLOW KIND [key=value...]\n");
                return 2;
        }
        rc = mb_platform_open_image(argv[2], &p, &err);
        if (rc == 0 && !strcmp(argv[1], "facts")) {
                rc = mb_platform_read_facts(p, &f, &err);
                if (rc == 0)
                        print_facts(f);
                mb_facts_free(f);
        } else if (rc == 0) {
                mb_progress pr = { .update = progress_update };
                mb_op op;

                if (strcmp(argv[3], "-") != 0) {
                        char *save = NULL;

                        for (char *t = strtok_r(argv[3], ",", &save); t && rc == 0;
                             t = strtok_r(NULL, ",", &save))
                                rc = mb_platform_allow_write(p, (uint32_t)strtoul(t, NULL, 0), &err);
                }
                if (rc == 0) {
                        if (parse_op(argc - 4, argv + 4, &op) < 0) {
                                p->ops->close(p);
                                return 2;
                        }
                        rc = mb_platform_read_facts(p, &f, &err);
                }
                if (rc == 0 && !identity_none) {
                        mb_op planned = op;

                        mb_op_record_identity(&planned, f);
                        if (!serial_given)
                                memcpy(op.expect_serial, planned.expect_serial, sizeof(op.expect_serial));
                        if (!size_given)
                                op.expect_size = planned.expect_size;
                }
                if (rc == 0 && replace_with) {
                        const mb_disk_fact *d = mb_facts_disk(f, op.disk);

                        if (!d || rename(replace_with, d->path) < 0) {
                                fprintf(stderr, "mbimg: cannot rename %s over disk %u\n", replace_with,
                                        op.disk);
                                rc = -1;
                                err.msg[0] = 0;
                        }
                }
                mb_facts_free(f);
                if (rc == 0)
                        rc = mb_platform_execute(p, &op, &pr, &err);
        }
        if (p)
                p->ops->close(p);
        if (rc < 0) {
                fprintf(stderr, "mbimg: %s (%s)\n", err.msg, mb_error_code_name(rc));
                return 1;
        }
        return 0;
}
