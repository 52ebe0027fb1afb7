/* SPDX-License-Identifier: MIT */
/*
 * The BCD store of the machine: the registry hive \EFI\Microsoft\Boot\BCD
 * on the system disk's ESP (disk 0), copied out of the FAT with mtools,
 * read or edited in a temporary file through engine/format/bcd, and put
 * back whole. Facts are the store's objects; the BCD_* operations edit it
 * as bcdedit would. Built without the bcd library, the store reads as
 * absent and every BCD operation is MB_ENOTSUP.
 */
#include "platform/posix/bcd.h"
#include "platform/posix/fat.h"
#include "platform/posix/gpt.h"
#include "platform/posix/ntfs.h"
#include "platform/posix/sparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef MB_IMAGE_HAVE_BCD
#include "format/bcd/bcd.h"
#include "guid.h"

#define BCD_PATH "/EFI/Microsoft/Boot/BCD"

/* Where the system store lives: disk 0's ESP (byte offset). MB_ENOENT
 * when there is no ESP. */
static int locate_store(mb_posix_machine *ip, uint64_t *ret_off, char **ret_fat_path, mb_error *err)
{
        mb_posix_disk *d = &ip->disks[0];
        mb_posix_gpt_part *esp;
        mb_posix_table t;
        int rc;

        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        esp = img_table_role(&t, MB_ROLE_EFI);
        if (!esp) {
                img_table_clear(&t);
                return mb_error_set(err, MB_ENOENT, "%s: the system disk has no EFI system partition",
                                    d->path);
        }
        *ret_off = esp->first_lba * d->sector;
        img_table_clear(&t);
        *ret_fat_path = strdup(BCD_PATH);
        return *ret_fat_path ? 0 : mb_error_set(err, MB_ENOMEM, "out of memory");
}

/* Copies the store out to a temporary file and opens it. */
static int store_open(mb_posix_machine *ip, int writable, mb_bcd **ret_bcd, char **ret_tmp,
                      uint64_t *ret_off, char **ret_fat_path, mb_error *err)
{
        mb_posix_disk *d = &ip->disks[0];
        char *tmp = NULL, *fat_path = NULL;
        uint64_t off = 0;
        int rc, fd;

        rc = locate_store(ip, &off, &fat_path, err);
        if (rc < 0)
                return rc;
        rc = img_temp_file(d->path, 0, &tmp, &fd, err);
        if (rc < 0) {
                free(fat_path);
                return rc;
        }
        close(fd);
        rc = img_fat_get(d->path, off, fat_path, tmp, err);
        if (rc < 0 && strstr(err->msg, "not found"))
                rc = mb_error_set(err, MB_ENOENT, "%s: no BCD store at %s on the EFI system partition",
                                  d->path, fat_path);
        if (rc == 0) {
                rc = mb_bcd_open(tmp, writable, ret_bcd, err);
                if (rc < 0) {
                        /* the reader names its file: our temporary copy, not the store */
                        size_t n = strlen(tmp);

                        if (strncmp(err->msg, "BCD ", 4) == 0 && strncmp(err->msg + 4, tmp, n) == 0 &&
                            strncmp(err->msg + 4 + n, ": ", 2) == 0)
                                memmove(err->msg, err->msg + 6 + n, strlen(err->msg + 6 + n) + 1);
                        mb_error_prefix(err, "%s: BCD store %s", d->path, fat_path);
                }
        }
        if (rc < 0) {
                unlink(tmp);
                free(tmp);
                free(fat_path);
                return rc;
        }
        *ret_tmp = tmp;
        *ret_off = off;
        *ret_fat_path = fat_path;
        return 0;
}

int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        char *tmp = NULL, *fat_path = NULL;
        uint64_t off = 0;
        mb_bcd *b = NULL;
        mb_bcd_fact *bf;
        int rc;

        rc = store_open(ip, 0, &b, &tmp, &off, &fat_path, err);
        if (rc == MB_ENOENT) {
                mb_error_clear(err);
                return 0;
        }
        if (rc < 0)
                return rc;
        rc = mb_bcd_list(b, &objs, &n, err);
        mb_bcd_close(b);
        unlink(tmp);
        free(tmp);
        if (rc < 0) {
                free(fat_path);
                return mb_error_prefix(err, "%s: BCD store", ip->disks[0].path);
        }
        {
                mb_posix_table t;
                uint32_t number = 0;
                char *where = NULL;

                if (img_table_read(&ip->disks[0], &t, err) == 0) {
                        mb_posix_gpt_part *esp = img_table_role(&t, MB_ROLE_EFI);

                        number = esp ? esp->number : 0;
                        img_table_clear(&t);
                }
                mb_error_clear(err);
                if (asprintf(&where, "disk 0 partition %u %s", number, fat_path) < 0)
                        where = NULL;
                rc = where ? mb_bcd_objects_to_fact(objs, n, where, &bf, err)
                           : mb_error_set(err, MB_ENOMEM, "out of memory");
                free(where);
        }
        mb_bcd_objects_free(objs, n);
        free(fat_path);
        if (rc == 0)
                f->bcd = bf;
        return rc;
}

/* The BCD device naming (disk, role): partition and disk GUIDs as on disk now. */
static int role_device(mb_posix_machine *ip, mb_posix_role_part_fn role_part, uint32_t disk,
                       mb_role role, mb_bcd_device *ret, mb_error *err)
{
        mb_posix_gpt_part *p;
        mb_posix_table t;
        int rc;

        if (disk >= ip->n_disks)
                return mb_error_set(err, MB_EINVAL, "image target: there is no disk %u", disk);
        rc = role_part(ip, disk, role, &t, &p, err);
        if (rc < 0)
                return mb_error_prefix(err, "the BCD device");
        memset(ret, 0, sizeof(*ret));
        if (t.style != MB_STYLE_GPT) {
                rc = mb_error_set(err, MB_ENOENT, "%s: no %s partition for the BCD device",
                                  ip->disks[disk].path, mb_role_to_string(role));
        } else if (mb_guid_parse(p->unique_guid, &ret->partition_guid) < 0 ||
                   mb_guid_parse(t.disk_guid, &ret->disk_guid) < 0) {
                rc = mb_error_set(err, MB_ECORRUPT, "%s: unreadable GUIDs", ip->disks[disk].path);
        } else {
                ret->kind = MB_BCD_DEV_PARTITION;
        }
        img_table_clear(&t);
        return rc;
}

static int parse_object(const char *s, mb_guid *ret, mb_error *err)
{
        if (mb_bcd_alias_guid(s, ret) == 0 || mb_guid_parse(s, ret) == 0)
                return 0;
        return mb_error_set(err, MB_EINVAL, "invalid BCD object id '%s'", s);
}

static const mb_bcd_object *find_desc(const mb_bcd_object *o, size_t n, uint32_t type,
                                      const char *desc)
{
        for (size_t i = 0; i < n; i++)
                if (o[i].type == type && o[i].description && strcmp(o[i].description, desc) == 0)
                        return &o[i];
        return NULL;
}

static const mb_bcd_object *find_id(const mb_bcd_object *o, size_t n, const mb_guid *id)
{
        for (size_t i = 0; i < n; i++)
                if (mb_guid_equal(&o[i].id, id))
                        return &o[i];
        return NULL;
}

/* {bootmgr}'s displayorder with id placed at pos (or removed). */
static int set_order(mb_bcd *b, const mb_bcd_object *objs, size_t n, const mb_guid *id,
                     mb_position pos, mb_error *err)
{
        mb_guid bm, *list;
        const mb_bcd_object *o;
        size_t k = 0;
        int rc;

        mb_bcd_alias_guid("{bootmgr}", &bm);
        o = find_id(objs, n, &bm);
        if (!o)
                return mb_error_set(err, MB_ENOENT, "the BCD store has no {bootmgr}");
        list = calloc(o->n_displayorder + 1, sizeof(*list));
        if (!list)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (pos == MB_POS_FIRST)
                list[k++] = *id;
        for (size_t i = 0; i < o->n_displayorder; i++)
                if (!mb_guid_equal(&o->displayorder[i], id))
                        list[k++] = o->displayorder[i];
        if (pos == MB_POS_LAST)
                list[k++] = *id;
        rc = mb_bcd_set_object_list(b, &bm, MB_BCDE_BOOTMGR_DISPLAYORDER, list, k, err);
        free(list);
        return rc;
}

static int set_devices(mb_bcd *b, const mb_guid *id, uint32_t type, const mb_bcd_device *dev,
                       mb_error *err)
{
        int rc = mb_bcd_set_device(b, id, MB_BCDE_DEVICE, dev, err);

        if (rc == 0 && type == MB_BCD_TYPE_OSLOADER)
                rc = mb_bcd_set_device(b, id, MB_BCDE_OSLOADER_OSDEVICE, dev, err);
        return rc;
}

static int edit(mb_posix_machine *ip, mb_posix_role_part_fn role_part, mb_bcd *b, const mb_op *op,
                mb_error *err)
{
        mb_bcd_object *objs = NULL;
        const mb_bcd_object *o;
        mb_bcd_device dev;
        mb_guid id, src;
        size_t n = 0;
        int rc;

        rc = mb_bcd_list(b, &objs, &n, err);
        if (rc < 0)
                return rc;
        switch (op->kind) {
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER: {
                bool loader = op->kind == MB_OP_BCD_CREATE_LOADER;
                uint32_t type = loader ? MB_BCD_TYPE_OSLOADER : MB_BCD_TYPE_BOOTMGR;

                rc = role_device(ip, role_part, op->disk, op->role, &dev, err);
                if (rc < 0)
                        break;
                if (!op->description[0]) {
                        rc = mb_error_set(err, MB_EINVAL, "%s needs a description",
                                          loader ? "BCD_CREATE_LOADER" : "BCD_COPY_BOOTMGR");
                        break;
                }
                mb_bcd_alias_guid("{bootmgr}", &src);
                if (loader) {
                        const mb_bcd_object *bm = find_id(objs, n, &src);

                        if (bm && bm->has_default)
                                src = bm->default_obj;
                        else if (bm && bm->n_displayorder)
                                src = bm->displayorder[0];
                        else {
                                rc = mb_error_set(err, MB_ENOENT,
                                                  "the BCD store has no default OS loader to copy");
                                break;
                        }
                }
                o = find_desc(objs, n, type, op->description);
                if (o) {
                        /* already there (an interrupted run): only the device */
                        id = o->id;
                } else {
                        if (!find_id(objs, n, &src)) {
                                rc = mb_error_set(err, MB_ENOENT, "the BCD store has no object to copy");
                                break;
                        }
                        if (mb_guid_random(&id) < 0) {
                                rc = mb_error_set(err, MB_EIO, "cannot make a random GUID");
                                break;
                        }
                        rc = mb_bcd_copy_object(b, &src, &id, op->description, err);
                        if (rc < 0)
                                break;
                }
                rc = set_devices(b, &id, type, &dev, err);
                break;
        }
        case MB_OP_BCD_SET_DEVICE:
                rc = parse_object(op->object, &id, err);
                if (rc < 0)
                        break;
                if (!(o = find_id(objs, n, &id))) {
                        rc = mb_error_set(err, MB_ENOENT, "BCD object %s does not exist", op->object);
                        break;
                }
                rc = role_device(ip, role_part, op->disk, op->role, &dev, err);
                if (rc == 0)
                        rc = set_devices(b, &id, o->type, &dev, err);
                break;
        case MB_OP_BCD_DELETE:
                rc = parse_object(op->object, &id, err);
                if (rc < 0)
                        break;
                if (!find_id(objs, n, &id))
                        break; /* already gone */
                rc = mb_bcd_delete_object(b, &id, err);
                if (rc == 0) {
                        mb_guid bm;
                        const mb_bcd_object *m;

                        mb_bcd_alias_guid("{bootmgr}", &bm);
                        m = find_id(objs, n, &bm);
                        for (size_t i = 0; m && i < m->n_displayorder; i++)
                                if (mb_guid_equal(&m->displayorder[i], &id)) {
                                        rc = set_order(b, objs, n, &id, MB_POS_ABSENT, err);
                                        break;
                                }
                }
                break;
        case MB_OP_BCD_DISPLAYORDER:
                rc = parse_object(op->object, &id, err);
                if (rc < 0)
                        break;
                if (op->position != MB_POS_ABSENT && !find_id(objs, n, &id)) {
                        rc = mb_error_set(err, MB_ENOENT, "BCD object %s does not exist", op->object);
                        break;
                }
                rc = set_order(b, objs, n, &id, op->position, err);
                break;
        default:
                rc = mb_error_set(err, MB_EINVAL, "not a BCD operation");
        }
        mb_bcd_objects_free(objs, n);
        return rc;
}

int img_bcd_execute(mb_posix_machine *ip, const mb_op *op, mb_posix_role_part_fn role_part,
                    mb_error *err)
{
        mb_posix_disk *d = &ip->disks[0];
        char *tmp = NULL, *fat_path = NULL;
        uint64_t off = 0;
        mb_bcd *b = NULL;
        int rc, fd;

        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return mb_error_prefix(err, "editing the BCD store");
        close(fd);
        rc = store_open(ip, 1, &b, &tmp, &off, &fat_path, err);
        if (rc < 0)
                return rc;
        rc = edit(ip, role_part, b, op, err);
        if (rc == 0)
                rc = mb_bcd_commit(b, err);
        mb_bcd_close(b);
        if (rc == 0)
                rc = img_fat_put(d->path, off, tmp, fat_path, err);
        else
                mb_error_prefix(err, "%s: BCD store %s", d->path, fat_path);
        unlink(tmp);
        free(tmp);
        free(fat_path);
        return rc;
}

#else

int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        (void)ip, (void)f, (void)err;
        return 0;
}

int img_bcd_execute(mb_posix_machine *ip, const mb_op *op, mb_posix_role_part_fn role_part,
                    mb_error *err)
{
        (void)ip, (void)op, (void)role_part;
        return mb_error_set(err, MB_ENOTSUP,
                            "image target: BCD operations need the bcd format library, which was not built");
}

#endif

mb_facts *img_bcd_read(mb_posix_machine *ip)
{
        mb_facts *f = calloc(1, sizeof(*f));
        mb_error e = { 0 };

        if (!f)
                return NULL;
        if (img_bcd_facts(ip, f, &e) < 0 || !f->bcd) {
                mb_facts_free(f);
                return NULL;
        }
        return f;
}

/* The loader's partition by its GUID: the image holding it and the byte span. */
static mb_posix_disk *loader_volume(mb_posix_machine *ip, const mb_facts *f, const char *guid,
                               const mb_part_fact **ret_part, const mb_disk_fact **ret_disk)
{
        mb_disk_fact *df = NULL;
        const mb_part_fact *p = mb_facts_part_by_guid(f, guid, &df);

        if (!p || !df)
                return NULL;
        for (uint32_t i = 0; i < ip->n_disks; i++)
                if (ip->disks[i].number == df->number) {
                        *ret_part = p;
                        *ret_disk = df;
                        return &ip->disks[i];
                }
        return NULL;
}

int img_bcd_path_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        for (uint32_t i = 0; f->bcd && i < f->bcd->n_objects; i++) {
                mb_bcd_object_fact *o = &f->bcd->objects[i];
                const mb_part_fact *p = NULL;
                const mb_disk_fact *df = NULL;
                mb_posix_disk *d;
                uint64_t ss;
                bool exists = false;
                int rc;

                /* a ramdisk (WinRE) loads its path from inside the WIM image: not here */
                if (!o->type || strcmp(o->type, "os-loader") != 0 || !o->path || !o->device ||
                    !o->device->kind || strcmp(o->device->kind, "partition") != 0 ||
                    !o->device->partition)
                        continue;
                d = loader_volume(ip, f, o->device->partition, &p, &df);
                if (!d || p->fs != MB_FS_NTFS)
                        continue;
                ss = mb_disk_sector(df);
                rc = img_ntfs_exists(d->path, d->fd, p->first_lba * ss,
                                     (p->last_lba - p->first_lba + 1) * ss, o->path, &exists, err);
                if (rc == MB_ECORRUPT) {        /* not readable as NTFS: not judged here */
                        mb_error_clear(err);
                        continue;
                }
                if (rc < 0)
                        return rc;
                if (!(o->path_check = calloc(1, sizeof(*o->path_check))) ||
                    asprintf(&o->path_check->volume, "disk %u partition %u", df->number, p->number) < 0) {
                        if (o->path_check)
                                o->path_check->volume = NULL;
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                o->path_check->exists = exists;
        }
        return 0;
}
