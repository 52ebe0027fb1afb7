/* SPDX-License-Identifier: MIT */
/*
 * The BCD stores of the machine: the registry hive \EFI\Microsoft\Boot\BCD
 * on each disk's ESP, copied out of the FAT with mtools, read or edited in a
 * temporary file through engine/format/bcd, and put back whole. The system
 * store is the one on the system disk's ESP (img_system_disk); the others
 * are facts of their ESPs. The BCD_* operations edit the system store, or
 * (esp_store) the store on the ESP of store_disk, as bcdedit would. Built without the bcd library, the store reads as
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

/* The ESP of disk: its first byte and partition number. MB_ENOENT naming
 * the disk when it has none. */
static int esp_of(mb_posix_machine *ip, uint32_t disk, uint64_t *ret_off, uint32_t *ret_number,
                  mb_error *err)
{
        mb_posix_disk *d = mb_posix_machine_disk(ip, disk, err);
        mb_posix_gpt_part *esp;
        mb_posix_table t;
        int rc;

        if (!d)
                return err->code;
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        esp = img_table_role(&t, MB_ROLE_EFI);
        if (!esp) {
                img_table_clear(&t);
                return mb_error_set(err, MB_ENOENT, "%s (disk %u): no EFI system partition for a BCD store",
                                    d->path, disk);
        }
        *ret_off = esp->first_lba * d->sector;
        *ret_number = esp->number;
        img_table_clear(&t);
        return 0;
}

/* Copies the store on disk's ESP out to a temporary file (*ret_tmp, the
 * caller unlinks and frees it) and opens it. MB_ENOENT naming the disk when
 * the disk has no ESP or the ESP no store. */
static int store_open(mb_posix_machine *ip, uint32_t disk, int writable, mb_bcd **ret_bcd,
                      char **ret_tmp, uint64_t *ret_off, uint32_t *ret_esp, mb_error *err)
{
        mb_posix_disk *d;
        char *tmp = NULL;
        uint64_t off = 0;
        uint32_t number = 0;
        int rc, fd;

        rc = esp_of(ip, disk, &off, &number, err);
        if (rc < 0)
                return rc;
        d = &ip->disks[disk];
        rc = img_temp_file(d->path, 0, &tmp, &fd, err);
        if (rc < 0)
                return rc;
        close(fd);
        rc = img_fat_get(d->path, off, BCD_PATH, tmp, err);
        if (rc < 0 && strstr(err->msg, "not found"))
                rc = mb_error_set(err, MB_ENOENT,
                                  "%s (disk %u): no BCD store at %s on the EFI system partition (partition %u)",
                                  d->path, disk, BCD_PATH, number);
        if (rc == 0) {
                rc = mb_bcd_open(tmp, writable, ret_bcd, err);
                if (rc < 0) {
                        /* the reader names its file: our temporary copy, not the store */
                        size_t n = strlen(tmp);

                        if (strncmp(err->msg, "BCD ", 4) == 0 && strncmp(err->msg + 4, tmp, n) == 0 &&
                            strncmp(err->msg + 4 + n, ": ", 2) == 0)
                                memmove(err->msg, err->msg + 6 + n, strlen(err->msg + 6 + n) + 1);
                        mb_error_prefix(err, "%s: BCD store %s", d->path, BCD_PATH);
                }
        }
        if (rc < 0) {
                unlink(tmp);
                free(tmp);
                return rc;
        }
        *ret_tmp = tmp;
        *ret_off = off;
        *ret_esp = number;
        return 0;
}

/* The facts of the store on disk's ESP ("disk N partition P /EFI/...");
 * *ret NULL (and 0) when the disk has no ESP or the ESP no store. */
static int store_facts(mb_posix_machine *ip, uint32_t disk, mb_bcd_fact **ret, mb_error *err)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        char *tmp = NULL, *where = NULL;
        uint64_t off = 0;
        uint32_t number = 0;
        mb_bcd *b = NULL;
        int rc;

        *ret = NULL;
        rc = store_open(ip, disk, 0, &b, &tmp, &off, &number, err);
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
        if (rc < 0)
                return mb_error_prefix(err, "%s: BCD store", ip->disks[disk].path);
        if (asprintf(&where, "disk %u partition %u %s", disk, number, BCD_PATH) < 0)
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        else
                rc = mb_bcd_objects_to_fact(objs, n, where, ret, err);
        free(where);
        mb_bcd_objects_free(objs, n);
        return rc;
}

int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        uint32_t sys = img_system_disk(ip);
        int rc;

        for (uint32_t i = 0; i < f->n_disks && i < ip->n_disks; i++) {
                mb_part_fact *esp = mb_disk_part_by_role(&f->disks[i], MB_ROLE_EFI);
                mb_bcd_fact *bf = NULL;

                if (!esp || esp->fs != MB_FS_FAT32)
                        continue;
                rc = store_facts(ip, i, &bf, err);
                if (rc < 0)
                        return rc;
                if (i == sys)
                        f->bcd = bf;
                else
                        esp->bcd = bf;
        }
        return 0;
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

static bool on_partition(const mb_bcd_device *d, const mb_bcd_device *part)
{
        return d->kind == MB_BCD_DEV_PARTITION && !d->mbr &&
               mb_guid_equal(&d->partition_guid, &part->partition_guid);
}

/* The os-loader whose device and osdevice are both the partition dev. */
static const mb_bcd_object *loader_on(const mb_bcd_object *o, size_t n, const mb_bcd_device *dev)
{
        for (size_t i = 0; i < n; i++)
                if (o[i].type == MB_BCD_TYPE_OSLOADER && on_partition(&o[i].device, dev) &&
                    on_partition(&o[i].osdevice, dev))
                        return &o[i];
        return NULL;
}

/* Whether a loader's device boots nothing of this machine: no partition at
 * all, or a partition no present disk has (a failed or replaced disk's). */
static bool boots_nothing_here(mb_posix_machine *ip, const mb_bcd_object *o)
{
        char g[MB_GUID_STR_LEN];

        if (o->device.kind != MB_BCD_DEV_PARTITION || o->device.mbr)
                return true;
        return !img_part_present(ip, mb_guid_format(&o->device.partition_guid, g));
}

/* The object op names: op->object, or when that is empty the os-loader
 * whose device and osdevice are (op->disk, op->role) in this store. */
static int op_object(mb_posix_machine *ip, mb_posix_role_part_fn role_part, const mb_op *op,
                     const mb_bcd_object *objs, size_t n, mb_guid *ret, mb_error *err)
{
        const mb_bcd_object *o;
        mb_bcd_device dev;
        int rc;

        if (op->object[0])
                return parse_object(op->object, ret, err);
        rc = role_device(ip, role_part, op->disk, op->role, &dev, err);
        if (rc < 0)
                return rc;
        if (!(o = loader_on(objs, n, &dev)))
                return mb_error_set(err, MB_ENOENT,
                                    "no os-loader whose device and osdevice are the %s partition of disk %u",
                                    mb_role_to_string(op->role), op->disk);
        *ret = o->id;
        return 0;
}

/* Writes a device element as decoded and edited (its raw bytes). */
static int put_raw_device(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_bcd_device *d,
                          mb_error *err)
{
        mb_bcd_device w = { .kind = MB_BCD_DEV_OTHER, .raw = d->raw, .raw_len = d->raw_len };

        return mb_bcd_set_device(b, id, element, &w, err);
}

/* Moves a ramdisk device (the WinRE loader's) and its options object's
 * ramdisksdidevice to the partition dev: the image path, the options
 * object and every other stored byte are kept. */
static int ramdisk_to(mb_bcd *b, const mb_bcd_object *objs, size_t n, const mb_bcd_object *o,
                      const mb_bcd_device *dev, mb_error *err)
{
        const mb_bcd_object *opts;
        static const uint32_t elements[] = { MB_BCDE_DEVICE, MB_BCDE_OSLOADER_OSDEVICE };
        int rc = 0;

        for (size_t k = 0; k < 2 && rc == 0; k++) {
                const mb_bcd_device *cur = k == 0 ? &o->device : &o->osdevice;
                mb_bcd_device d = { 0 };

                if (cur->kind != MB_BCD_DEV_RAMDISK || (k == 1 && o->type != MB_BCD_TYPE_OSLOADER))
                        continue;
                rc = mb_bcd_device_decode(cur->raw, cur->raw_len, &d, err);
                if (rc == 0)
                        rc = mb_bcd_device_retarget(&d, &dev->partition_guid, &dev->disk_guid, err);
                if (rc == 0)
                        rc = put_raw_device(b, &o->id, elements[k], &d, err);
                mb_bcd_device_clear(&d);
        }
        opts = find_id(objs, n, &o->device.options_id);
        for (size_t i = 0; rc == 0 && opts && i < opts->n_elements; i++) {
                const mb_bcd_element *e = &opts->elements[i];
                mb_bcd_device d = { 0 };

                if (e->type != MB_BCDE_RAMDISK_SDIDEVICE)
                        continue;
                rc = mb_bcd_device_decode(e->data, e->len, &d, err);
                if (rc == 0 && d.kind == MB_BCD_DEV_PARTITION && !d.mbr) {
                        rc = mb_bcd_device_retarget(&d, &dev->partition_guid, &dev->disk_guid, err);
                        if (rc == 0)
                                rc = put_raw_device(b, &opts->id, e->type, &d, err);
                }
                mb_bcd_device_clear(&d);
        }
        return rc;
}

/* BCD_CREATE_LOADER: the loader to (re)use for (op->disk, op->role) as the
 * op describes it, or NULL to copy the default loader. First the loader
 * already booting that partition; else one of the op's description whose
 * device boots nothing here (an interrupted run's, or one left by a disk
 * that is gone). A loader that boots a partition some present disk has is
 * never taken over: it is that disk's. */
static const mb_bcd_object *loader_to_reuse(mb_posix_machine *ip, const mb_bcd_object *objs,
                                            size_t n, const mb_bcd_device *dev, const char *desc)
{
        const mb_bcd_object *o = loader_on(objs, n, dev);

        for (size_t i = 0; !o && i < n; i++)
                if (objs[i].type == MB_BCD_TYPE_OSLOADER && objs[i].description &&
                    strcmp(objs[i].description, desc) == 0 && boots_nothing_here(ip, &objs[i]))
                        o = &objs[i];
        return o;
}

static int edit(mb_posix_machine *ip, mb_posix_role_part_fn role_part, mb_bcd *b, const mb_op *op,
                mb_error *err)
{
        mb_bcd_object *objs = NULL;
        const mb_bcd_object *o;
        mb_bcd_device dev;
        mb_guid id, src, bm;
        size_t n = 0;
        int rc;

        rc = mb_bcd_list(b, &objs, &n, err);
        if (rc < 0)
                return rc;
        mb_bcd_alias_guid("{bootmgr}", &bm);
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
                src = bm;
                if (loader) {
                        const mb_bcd_object *m = find_id(objs, n, &bm);

                        if (m && m->has_default)
                                src = m->default_obj;
                        else if (m && m->n_displayorder)
                                src = m->displayorder[0];
                        else {
                                rc = mb_error_set(err, MB_ENOENT,
                                                  "the BCD store has no default OS loader to copy");
                                break;
                        }
                }
                o = loader ? loader_to_reuse(ip, objs, n, &dev, op->description)
                           : find_desc(objs, n, type, op->description);
                if (o) {
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
                rc = op_object(ip, role_part, op, objs, n, &id, err);
                if (rc < 0)
                        break;
                if (!(o = find_id(objs, n, &id))) {
                        rc = mb_error_set(err, MB_ENOENT, "BCD object %s does not exist", op->object);
                        break;
                }
                rc = role_device(ip, role_part, op->disk, op->role, &dev, err);
                if (rc < 0)
                        break;
                if (op->role == MB_ROLE_RECOVERY && o->device.kind == MB_BCD_DEV_RAMDISK)
                        rc = ramdisk_to(b, objs, n, o, &dev, err);
                else
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
                        const mb_bcd_object *m = find_id(objs, n, &bm);

                        for (size_t i = 0; m && i < m->n_displayorder; i++)
                                if (mb_guid_equal(&m->displayorder[i], &id)) {
                                        rc = set_order(b, objs, n, &id, MB_POS_ABSENT, err);
                                        break;
                                }
                }
                break;
        case MB_OP_BCD_DISPLAYORDER:
                rc = op_object(ip, role_part, op, objs, n, &id, err);
                if (rc == MB_ENOENT && !op->object[0] && op->position == MB_POS_ABSENT) {
                        mb_error_clear(err);    /* no such loader: none to take out */
                        rc = 0;
                        break;
                }
                if (rc < 0)
                        break;
                if (op->position != MB_POS_ABSENT && !find_id(objs, n, &id)) {
                        rc = mb_error_set(err, MB_ENOENT, "BCD object %s does not exist", op->object);
                        break;
                }
                rc = set_order(b, objs, n, &id, op->position, err);
                break;
        case MB_OP_BCD_SET_DEFAULT:
                rc = op_object(ip, role_part, op, objs, n, &id, err);
                if (rc < 0)
                        break;
                if (!find_id(objs, n, &id)) {
                        rc = mb_error_set(err, MB_ENOENT, "BCD object %s does not exist", op->object);
                        break;
                }
                if (!find_id(objs, n, &bm)) {
                        rc = mb_error_set(err, MB_ENOENT, "the BCD store has no {bootmgr}");
                        break;
                }
                rc = mb_bcd_set_object(b, &bm, MB_BCDE_BOOTMGR_DEFAULT, &id, err);
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
        uint32_t disk = op->esp_store ? op->store_disk : img_system_disk(ip), number = 0;
        mb_posix_disk *d = mb_posix_machine_disk(ip, disk, err);
        char *tmp = NULL;
        uint64_t off = 0;
        mb_bcd *b = NULL;
        int rc, fd;

        if (!d)
                return mb_error_prefix(err, "the BCD store on the ESP of disk %u", disk);
        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return mb_error_prefix(err, "editing the BCD store");
        close(fd);
        rc = store_open(ip, disk, 1, &b, &tmp, &off, &number, err);
        if (rc < 0)
                return rc;
        rc = edit(ip, role_part, b, op, err);
        if (rc == 0)
                rc = mb_bcd_commit(b, err);
        mb_bcd_close(b);
        if (rc == 0)
                rc = img_fat_put(d->path, off, tmp, BCD_PATH, err);
        else
                mb_error_prefix(err, "%s (disk %u): BCD store %s", d->path, disk, BCD_PATH);
        unlink(tmp);
        free(tmp);
        return rc;
}

mb_facts *img_bcd_read(mb_posix_machine *ip)
{
        mb_facts *f = calloc(1, sizeof(*f));
        mb_error e = { 0 };

        if (!f)
                return NULL;
        if (store_facts(ip, img_system_disk(ip), &f->bcd, &e) < 0 || !f->bcd) {
                mb_facts_free(f);
                return NULL;
        }
        return f;
}

#else

mb_facts *img_bcd_read(mb_posix_machine *ip)
{
        (void)ip;
        return NULL;
}


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

/* path_check of the os-loaders of one store of f. */
static int store_path_facts(mb_posix_machine *ip, mb_facts *f, mb_bcd_fact *store, mb_error *err)
{
        for (uint32_t i = 0; store && i < store->n_objects; i++) {
                mb_bcd_object_fact *o = &store->objects[i];
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

int img_bcd_path_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        int rc = store_path_facts(ip, f, f->bcd, err);

        for (uint32_t i = 0; rc == 0 && i < f->n_disks; i++)
                for (uint32_t j = 0; rc == 0 && j < f->disks[i].n_partitions; j++)
                        rc = store_path_facts(ip, f, f->disks[i].partitions[j].bcd, err);
        return rc;
}
