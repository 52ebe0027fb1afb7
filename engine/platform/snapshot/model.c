/* SPDX-License-Identifier: MIT */
/*
 * The effect of each primitive operation on facts, with the rules Windows
 * has. The snapshot target applies these to its file; they also document
 * what every other target must achieve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guid.h"
#include "platform/platform.h"
#include "sha256.h"
#include "yamldoc.h"

static char *new_guid_text(void)
{
        char buf[MB_GUID_STR_LEN];
        mb_guid g;

        if (mb_guid_random(&g) < 0)
                return NULL;
        return strdup(mb_guid_format(&g, buf));
}

static mb_part_fact *role_part(mb_facts *f, uint32_t disk, mb_role role, mb_disk_fact **ret_d,
                               mb_error *err)
{
        mb_disk_fact *d = mb_facts_disk(f, disk);
        mb_part_fact *p;

        if (!d) {
                mb_error_set(err, MB_ENOENT, "disk %u does not exist", disk);
                return NULL;
        }
        p = mb_disk_part_by_role(d, role);
        if (!p)
                mb_error_set(err, MB_ENOENT, "disk %u has no %s partition", disk,
                             mb_role_to_string(role));
        if (ret_d)
                *ret_d = d;
        return p;
}

static mb_part_fact *system_esp(mb_facts *f)
{
        for (uint32_t i = 0; i < f->n_disks; i++)
                if (f->disks[i].system)
                        return mb_disk_part_by_role(&f->disks[i], MB_ROLE_EFI);
        return NULL;
}

/* The BCD file on an ESP changes with every edit of its store (esp NULL:
 * the system ESP's, whose store is f->bcd). */
static void touch_bcd_file(mb_facts *f, mb_part_fact *esp)
{
        char *text = NULL, hex[65];

        if (!esp)
                esp = system_esp(f);
        if (!esp || mb_facts_to_string(f, false, &text, NULL) != 0)
                return;
        mb_sha256_hex(text, strlen(text), hex);
        free(text);
        for (uint32_t i = 0; i < esp->n_files; i++)
                if (strcasecmp(esp->files[i].path, "/EFI/Microsoft/Boot/BCD") == 0) {
                        free(esp->files[i].sha256);
                        esp->files[i].sha256 = strdup(hex);
                }
}

static int add_part(mb_disk_fact *d, mb_role role, uint64_t first, uint64_t last,
                    const char *type, const char *name, uint64_t attrs, mb_part_fact **ret,
                    mb_error *err)
{
        uint32_t number = 1;
        mb_part_fact *p;

        for (bool used = true; used; ) {
                used = false;
                for (uint32_t i = 0; i < d->n_partitions; i++)
                        if (d->partitions[i].number == number)
                                used = true, number++;
        }
        p = mb_disk_add_part(d);
        if (!p)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        p->number = number;
        p->role = role;
        p->type_guid = strdup(type);
        p->unique_guid = new_guid_text();
        p->name = strdup(name ? name : "");
        p->first_lba = first;
        p->last_lba = last;
        p->attributes = attrs;
        p->fs = MB_FS_NONE;
        mb_disk_sort_parts(d);
        if (ret)
                *ret = mb_disk_part_by_number(d, number);
        return 0;
}

static int check_free(const mb_disk_fact *d, uint64_t first, uint64_t last, mb_error *err)
{
        if (first < d->first_usable_lba || last > d->last_usable_lba || last < first)
                return mb_error_set(err, MB_ESTATE,
                                    "disk %u: LBA %llu-%llu is outside the usable area %llu-%llu",
                                    d->number, (unsigned long long)first, (unsigned long long)last,
                                    (unsigned long long)d->first_usable_lba,
                                    (unsigned long long)d->last_usable_lba);
        for (uint32_t i = 0; i < d->n_partitions; i++) {
                const mb_part_fact *q = &d->partitions[i];

                if (q->first_lba <= last && first <= q->last_lba && q->role != MB_ROLE_LDM_DATA)
                        return mb_error_set(err, MB_ESTATE,
                                            "disk %u: LBA %llu-%llu is not free (partition %u at %llu-%llu)",
                                            d->number, (unsigned long long)first,
                                            (unsigned long long)last, q->number,
                                            (unsigned long long)q->first_lba,
                                            (unsigned long long)q->last_lba);
        }
        return 0;
}

static mb_bcd_device_fact *device_for(const mb_disk_fact *d, const mb_part_fact *p)
{
        mb_bcd_device_fact *dev = calloc(1, sizeof(*dev));

        if (!dev)
                return NULL;
        dev->kind = strdup("partition");
        dev->partition = mb_strdup(p->unique_guid);
        dev->disk = mb_strdup(d->disk_guid);
        return dev;
}


static mb_bcd_object_fact *bcd_add_copy(mb_bcd_fact *b, const mb_bcd_object_fact *src,
                                        const char *description)
{
        mb_bcd_object_fact *objs, *o;
        char *guid = new_guid_text(), id[48];
        size_t src_index = (size_t)(src - b->objects);

        if (!guid)
                return NULL;
        snprintf(id, sizeof(id), "{%s}", guid);
        free(guid);
        objs = mb_reallocarray(b->objects, b->n_objects + 1, sizeof(*objs));
        if (!objs)
                return NULL;
        b->objects = objs;
        src = &objs[src_index];
        o = &objs[b->n_objects++];
        memset(o, 0, sizeof(*o));
        o->id = strdup(id);
        o->type = mb_strdup(src->type);
        o->description = strdup(description);
        o->path = mb_strdup(src->path);
        o->recovery = mb_strdup(src->recovery);
        return o;
}

/* The default OS loader: {bootmgr}'s default, else the first of its
 * display order (as bcd.c's copy takes it). */
static mb_bcd_object_fact *default_loader(mb_bcd_fact *b)
{
        mb_bcd_object_fact *bm = mb_bcd_store_object(b, "{bootmgr}"), *o = NULL;

        if (bm && bm->default_id)
                o = mb_bcd_store_object(b, bm->default_id);
        if (!o && bm && bm->n_displayorder)
                o = mb_bcd_store_object(b, bm->displayorder[0]);
        return o;
}

static int displayorder_add(mb_bcd_object_fact *owner, const char *id, mb_position pos)
{
        char **n;

        for (uint32_t i = 0; i < owner->n_displayorder; i++)
                if (strcasecmp(owner->displayorder[i], id) == 0) {
                        free(owner->displayorder[i]);
                        memmove(&owner->displayorder[i], &owner->displayorder[i + 1],
                                (owner->n_displayorder - i - 1) * sizeof(char *));
                        owner->n_displayorder--;
                        break;
                }
        if (pos == MB_POS_ABSENT)
                return 0;
        n = mb_reallocarray(owner->displayorder, owner->n_displayorder + 1, sizeof(*n));
        if (!n)
                return MB_ENOMEM;
        owner->displayorder = n;
        if (pos == MB_POS_FIRST) {
                memmove(&n[1], &n[0], owner->n_displayorder * sizeof(char *));
                n[0] = strdup(id);
        } else {
                n[owner->n_displayorder] = strdup(id);
        }
        owner->n_displayorder++;
        return 0;
}

/* The store an op edits: f->bcd, or (esp_store) the store on the ESP of
 * store_disk (f->bcd when that is the system disk); *ret_esp that ESP
 * (NULL for the system store). MB_ENOENT naming the disk when none. */
static mb_bcd_fact *op_store(mb_facts *f, const mb_op *op, mb_part_fact **ret_esp, mb_error *err)
{
        mb_disk_fact *d;
        mb_part_fact *esp;

        *ret_esp = NULL;
        if (!op->esp_store) {
                if (!f->bcd)
                        mb_error_set(err, MB_ESTATE, "no BCD store");
                return f->bcd;
        }
        if (!(d = mb_facts_disk(f, op->store_disk)) || !(esp = mb_disk_part_by_role(d, MB_ROLE_EFI))) {
                mb_error_set(err, MB_ENOENT, "disk %u has no EFI system partition for a BCD store",
                             op->store_disk);
                return NULL;
        }
        if (d->system && f->bcd)
                return f->bcd;
        if (!esp->bcd)
                mb_error_set(err, MB_ENOENT,
                             "disk %u: no BCD store at /EFI/Microsoft/Boot/BCD on its EFI system partition (partition %u)",
                             op->store_disk, esp->number);
        *ret_esp = esp;
        return esp->bcd;
}

/* The object op names in b: op->object, or when that is empty the
 * os-loader whose device and osdevice are (op->disk, op->role). */
static mb_bcd_object_fact *op_object(mb_facts *f, mb_bcd_fact *b, const mb_op *op, mb_error *err)
{
        mb_bcd_object_fact *o;
        mb_part_fact *p;

        if (op->object[0]) {
                if (!(o = mb_bcd_store_object(b, op->object)))
                        mb_error_set(err, MB_ENOENT, "BCD object %s not found", op->object);
                return o;
        }
        if (!(p = role_part(f, op->disk, op->role, NULL, err)))
                return NULL;
        if (!(o = mb_bcd_store_loader_on(b, p)))
                mb_error_set(err, MB_ENOENT,
                             "BCD store %s: no os-loader whose device and osdevice are the %s partition of disk %u",
                             b->store ? b->store : "(system)", mb_role_to_string(op->role), op->disk);
        return o;
}

/* BCD_CREATE_LOADER's loader to reuse, as the image target's bcd.c: the
 * one already on p, else one of the description booting nothing present
 * (no partition, or one no disk has); never another present disk's. */
static mb_bcd_object_fact *loader_to_reuse(mb_facts *f, mb_bcd_fact *b, const mb_part_fact *p,
                                           const char *desc)
{
        mb_bcd_object_fact *o = mb_bcd_store_loader_on(b, p);

        for (uint32_t i = 0; !o && i < b->n_objects; i++) {
                mb_bcd_object_fact *x = &b->objects[i];
                bool partition = x->device && x->device->kind && strcmp(x->device->kind, "partition") == 0;

                if (x->type && strcmp(x->type, "os-loader") == 0 && x->description &&
                    strcmp(x->description, desc) == 0 &&
                    (!partition || !mb_facts_part_by_guid(f, x->device->partition, NULL)))
                        o = x;
        }
        return o;
}

static int set_dev(mb_bcd_device_fact **slot, const mb_disk_fact *d, const mb_part_fact *p)
{
        mb_bcd_device_fact *n = device_for(d, p);

        if (!n)
                return MB_ENOMEM;
        mb_bcd_device_fact_free(*slot);
        *slot = n;
        return 0;
}

/* A ramdisk device moved to partition p of d (its kind kept). */
static int set_ramdisk(mb_bcd_device_fact *dev, const mb_disk_fact *d, const mb_part_fact *p)
{
        char *part = mb_strdup(p->unique_guid), *disk = mb_strdup(d->disk_guid);

        if ((p->unique_guid && !part) || (d->disk_guid && !disk)) {
                free(part), free(disk);
                return MB_ENOMEM;
        }
        free(dev->partition), free(dev->disk);
        dev->partition = part;
        dev->disk = disk;
        return 0;
}

static bool is_ramdisk(const mb_bcd_device_fact *d)
{
        return d && d->kind && strcmp(d->kind, "ramdisk") == 0;
}

static int bcd_op(mb_facts *f, const mb_op *op, mb_error *err)
{
        mb_disk_fact *d;
        mb_part_fact *p, *esp;
        mb_bcd_object_fact *o, *src, *bm;
        mb_bcd_fact *b = op_store(f, op, &esp, err);
        int r = 0;

        if (!b)
                return err->code;
        switch (op->kind) {
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER:
                if (!(p = role_part(f, op->disk, op->role, &d, err)))
                        return err->code;
                src = op->kind == MB_OP_BCD_COPY_BOOTMGR ? mb_bcd_store_object(b, "{bootmgr}")
                                                         : default_loader(b);
                if (!src)
                        return mb_error_set(err, MB_ESTATE, "BCD: no %s object to copy",
                                            op->kind == MB_OP_BCD_COPY_BOOTMGR ? "{bootmgr}" : "default loader");
                if (op->kind == MB_OP_BCD_CREATE_LOADER &&
                    (o = loader_to_reuse(f, b, p, op->description))) {
                        r = set_dev(&o->device, d, p);
                        if (r == 0)
                                r = set_dev(&o->osdevice, d, p);
                        break;
                }
                if (!(o = bcd_add_copy(b, src, op->description)))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                r = set_dev(&o->device, d, p);
                if (r == 0 && op->kind == MB_OP_BCD_CREATE_LOADER) {
                        r = set_dev(&o->osdevice, d, p);
                        if (r == 0 && (bm = mb_bcd_store_object(b, "{bootmgr}")))
                                r = displayorder_add(bm, o->id, MB_POS_LAST);
                }
                break;
        case MB_OP_BCD_SET_DEVICE:
                if (!(p = role_part(f, op->disk, op->role, &d, err)) || !(o = op_object(f, b, op, err)))
                        return err->code;
                if (op->role == MB_ROLE_RECOVERY && is_ramdisk(o->device)) {
                        r = set_ramdisk(o->device, d, p);
                        if (r == 0 && is_ramdisk(o->osdevice))
                                r = set_ramdisk(o->osdevice, d, p);
                        break;
                }
                r = set_dev(&o->device, d, p);
                if (r == 0 && o->type && strcmp(o->type, "os-loader") == 0)
                        r = set_dev(&o->osdevice, d, p);
                break;
        case MB_OP_BCD_DISPLAYORDER:
                if (!(o = op_object(f, b, op, err))) {
                        if (!op->object[0] && op->position == MB_POS_ABSENT && err->code == MB_ENOENT) {
                                mb_error_clear(err);
                                break;  /* no such loader: none to take out */
                        }
                        return err->code;
                }
                if (!(bm = mb_bcd_store_object(b, "{bootmgr}")))
                        return mb_error_set(err, MB_ESTATE, "BCD has no {bootmgr}");
                r = displayorder_add(bm, o->id, op->position);
                break;
        case MB_OP_BCD_SET_DEFAULT:
                if (!(o = op_object(f, b, op, err)))
                        return err->code;
                if (!(bm = mb_bcd_store_object(b, "{bootmgr}")))
                        return mb_error_set(err, MB_ESTATE, "BCD has no {bootmgr}");
                free(bm->default_id);
                if (!(bm->default_id = strdup(o->id)))
                        r = MB_ENOMEM;
                break;
        case MB_OP_BCD_DELETE:
                for (uint32_t i = 0; i < b->n_objects; i++)
                        if (strcasecmp(b->objects[i].id, op->object) == 0) {
                                mb_bcd_object_fact tmp = b->objects[i];

                                memmove(&b->objects[i], &b->objects[i + 1],
                                        (b->n_objects - i - 1) * sizeof(tmp));
                                b->n_objects--;
                                mb_bcd_object_fact_clear(&tmp);
                                break;
                        }
                break;
        default:
                break;
        }
        if (r)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        touch_bcd_file(f, esp);
        return 0;
}

static mb_bcd_device_fact *dev_dup(const mb_bcd_device_fact *d, bool *nomem)
{
        mb_bcd_device_fact *n;

        if (!d)
                return NULL;
        if (!(n = calloc(1, sizeof(*n))) || (d->kind && !(n->kind = strdup(d->kind))) ||
            (d->partition && !(n->partition = strdup(d->partition))) ||
            (d->disk && !(n->disk = strdup(d->disk))))
                *nomem = true;
        return n;
}

/* A deep copy of store b, its store text replaced by where. */
static mb_bcd_fact *store_dup(const mb_bcd_fact *b, const char *where)
{
        mb_bcd_fact *n = calloc(1, sizeof(*n));
        bool nomem = !n;

        if (n && !(n->store = strdup(where)))
                nomem = true;
        if (n && b->n_objects && !(n->objects = calloc(b->n_objects, sizeof(*n->objects))))
                nomem = true;
        for (uint32_t i = 0; !nomem && i < b->n_objects; i++) {
                const mb_bcd_object_fact *o = &b->objects[i];
                mb_bcd_object_fact *c = &n->objects[n->n_objects++];

                c->id = mb_strdup(o->id);
                c->type = mb_strdup(o->type);
                c->description = mb_strdup(o->description);
                c->path = mb_strdup(o->path);
                c->default_id = mb_strdup(o->default_id);
                c->recovery = mb_strdup(o->recovery);
                c->device = dev_dup(o->device, &nomem);
                c->osdevice = dev_dup(o->osdevice, &nomem);
                if ((o->id && !c->id) || (o->type && !c->type) || (o->description && !c->description) ||
                    (o->path && !c->path) || (o->default_id && !c->default_id) ||
                    (o->recovery && !c->recovery))
                        nomem = true;
                if (o->path_check) {
                        if (!(c->path_check = calloc(1, sizeof(*c->path_check))) ||
                            (o->path_check->volume &&
                             !(c->path_check->volume = strdup(o->path_check->volume))))
                                nomem = true;
                        else
                                c->path_check->exists = o->path_check->exists;
                }
                if (o->n_displayorder && !nomem) {
                        if (!(c->displayorder = calloc(o->n_displayorder, sizeof(char *))))
                                nomem = true;
                        for (uint32_t k = 0; !nomem && k < o->n_displayorder; k++) {
                                if (!(c->displayorder[k] = strdup(o->displayorder[k])))
                                        nomem = true;
                                c->n_displayorder++;
                        }
                }
        }
        if (nomem) {
                mb_bcd_fact_free(n);
                return NULL;
        }
        return n;
}

/* Does firmware entry e name the partition op points an entry at? */
static bool fw_names_target(const mb_facts *f, const mb_fw_entry_fact *e, const mb_op *op)
{
        const mb_part_fact *p = mb_disk_part_by_role(mb_facts_disk(f, op->disk), op->role);

        return p && p->unique_guid && e->partition && strcasecmp(e->partition, p->unique_guid) == 0;
}

static int fw_op(mb_facts *f, const mb_op *op, mb_error *err)
{
        mb_firmware_fact *fw = f->firmware;
        mb_fw_entry_fact *e = NULL;
        mb_disk_fact *d;
        mb_part_fact *p;
        uint32_t number = 0, *order, kept_at = UINT32_MAX;

        if (!fw)
                return mb_error_set(err, MB_ENOTSUP, "this machine has no firmware boot entries");
        /* FW_ENTRY with an existing entry's number rewrites (renames) that one */
        for (uint32_t i = 0; op->kind == MB_OP_FW_ENTRY && op->number < 0xffff && i < fw->n_entries; i++)
                if (fw->entries[i].number == op->number)
                        e = &fw->entries[i];
        /* a new entry (0xffff) takes no other entry of its description (a
         * survivor's own), only one already naming the same ESP */
        for (uint32_t i = 0; !e && i < fw->n_entries; i++)
                if (fw->entries[i].description && strcmp(fw->entries[i].description, op->description) == 0 &&
                    (op->kind != MB_OP_FW_ENTRY || op->number < 0xffff ||
                     fw_names_target(f, &fw->entries[i], op)))
                        e = &fw->entries[i];
        /* drop it from the order; re-added below */
        for (uint32_t i = 0; e && i < fw->n_order; i++)
                if (fw->order[i] == e->number) {
                        if (kept_at == UINT32_MAX)
                                kept_at = (uint32_t)i;
                        memmove(&fw->order[i], &fw->order[i + 1], (fw->n_order - i - 1) * sizeof(uint32_t));
                        fw->n_order--;
                        i--;
                }
        if (op->kind == MB_OP_FW_DELETE) {
                if (e) {
                        size_t i = (size_t)(e - fw->entries);

                        free(e->description), free(e->partition), free(e->path);
                        memmove(e, e + 1, (fw->n_entries - i - 1) * sizeof(*e));
                        fw->n_entries--;
                }
                return 0;
        }
        if (!(p = role_part(f, op->disk, op->role, &d, err)))
                return err->code;
        if (!e) {
                mb_fw_entry_fact *n;

                for (bool used = true; used; ) {
                        used = false;
                        for (uint32_t i = 0; i < fw->n_entries; i++)
                                if (fw->entries[i].number == number)
                                        used = true, number++;
                }
                n = mb_reallocarray(fw->entries, fw->n_entries + 1, sizeof(*n));
                if (!n)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                fw->entries = n;
                e = &n[fw->n_entries++];
                memset(e, 0, sizeof(*e));
                e->number = number;
                e->description = strdup(op->description);
        }
        if (strcmp(e->description ? e->description : "", op->description) != 0) {
                free(e->description);
                e->description = strdup(op->description);
        }
        free(e->partition);
        free(e->path);
        e->partition = mb_strdup(p->unique_guid);
        e->path = strdup(op->path);
        e->active = true;
        order = mb_reallocarray(fw->order, fw->n_order + 1, sizeof(*order));
        if (!order)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fw->order = order;
        if (op->position == MB_POS_ABSENT && kept_at != UINT32_MAX) {
                /* a rename: the entry keeps its place */
                memmove(&order[kept_at + 1], &order[kept_at], (fw->n_order - kept_at) * sizeof(*order));
                order[kept_at] = e->number;
        } else if (op->position == MB_POS_FIRST) {
                memmove(&order[1], &order[0], fw->n_order * sizeof(*order));
                order[0] = e->number;
        } else {
                /* "last": directly after the last entry that names a disk
                 * partition, ahead of the ones that name none (what the
                 * firmware adds), as the image and windows targets place it */
                uint32_t at = 0;

                for (uint32_t i = 0; i < fw->n_order; i++)
                        for (uint32_t k = 0; k < fw->n_entries; k++)
                                if (fw->entries[k].number == order[i] && fw->entries[k].partition)
                                        at = i + 1;
                memmove(&order[at + 1], &order[at], (fw->n_order - at) * sizeof(*order));
                order[at] = e->number;
        }
        fw->n_order++;
        return 0;
}

static const char *group_of(mb_facts *f)
{
        for (uint32_t i = 0; i < f->n_disks; i++)
                if (f->disks[i].dynamic && f->disks[i].dynamic_group)
                        return f->disks[i].dynamic_group;
        return NULL;
}


/* The data area of a converted disk, [first, last], as the image target
 * lays it out: an LDM data entry over each stretch that no other entry
 * covers (the space LDM may allocate), none elsewhere. */
static int ldm_data_gaps(mb_disk_fact *d, uint64_t first, uint64_t last, mb_error *err)
{
        struct { uint64_t first, last; } gaps[64];
        uint32_t n_gaps = 0;
        uint64_t pos = first;
        int r;

        for (uint32_t i = 0; i < d->n_partitions;) {
                if (d->partitions[i].role != MB_ROLE_LDM_DATA) {
                        i++;
                        continue;
                }
                mb_part_fact_clear(&d->partitions[i]);
                memmove(&d->partitions[i], &d->partitions[i + 1],
                        (d->n_partitions - i - 1) * sizeof(*d->partitions));
                d->n_partitions--;
        }
        mb_disk_sort_parts(d);
        for (uint32_t i = 0; i < d->n_partitions && pos <= last; i++) {
                const mb_part_fact *q = &d->partitions[i];

                if (q->last_lba < pos || q->first_lba > last)
                        continue;
                if (q->first_lba > pos && n_gaps < 64) {
                        gaps[n_gaps].first = pos;
                        gaps[n_gaps++].last = q->first_lba - 1;
                }
                pos = q->last_lba + 1;
        }
        if (pos <= last && n_gaps < 64) {
                gaps[n_gaps].first = pos;
                gaps[n_gaps++].last = last;
        }
        for (uint32_t g = 0; g < n_gaps; g++) {
                r = add_part(d, MB_ROLE_LDM_DATA, gaps[g].first, gaps[g].last,
                             mb_role_type_guid(MB_ROLE_LDM_DATA), "LDM data partition", 0, NULL, err);
                if (r)
                        return r;
        }
        return 0;
}

static int convert_dynamic(mb_facts *f, const mb_op *op, mb_error *err)
{
        mb_disk_fact *d = mb_facts_disk(f, op->disk);
        mb_part_fact *msr;
        const char *group;
        char name[32];
        int r;

        if (!d)
                return mb_error_set(err, MB_ENOENT, "disk %u does not exist", op->disk);
        if (d->style != MB_STYLE_GPT)
                return mb_error_set(err, MB_ESTATE, "disk %u: convert dynamic needs a GPT disk", d->number);
        if (d->dynamic)
                return 0;
        if (mb_disk_sector(d) != 512)
                return mb_error_set(err, MB_ENOTSUP,
                                    "disk %u: LDM (dynamic disks) on %u-byte sectors is not supported (512-byte sectors only)",
                                    d->number, mb_disk_sector(d));
        msr = mb_disk_part_by_role(d, MB_ROLE_MSR);
        if (!msr || msr->last_lba - msr->first_lba + 1 < 2 * 2048)
                return mb_error_set(err, MB_ESTATE,
                                    "disk %u: convert dynamic needs a Microsoft reserved partition of at least 2 MiB to take the 1 MiB LDM metadata partition from",
                                    d->number);
        {
                uint64_t first = msr->first_lba;

                msr->first_lba += 2048;
                r = add_part(d, MB_ROLE_LDM_METADATA, first, first + 2047,
                             mb_role_type_guid(MB_ROLE_LDM_METADATA), "LDM metadata partition", 0, NULL, err);
                if (r)
                        return r;
        }
        group = group_of(f);
        d->dynamic = true;
        d->dynamic_group = group ? strdup(group) : new_guid_text();
        {
                uint32_t n = 0;

                for (uint32_t i = 0; i < f->n_disks; i++)
                        n += f->disks[i].dynamic;
                snprintf(name, sizeof(name), "Disk%u", n);
        }
        d->dynamic_name = strdup(name);
        /* As Windows converts: every basic data entry becomes a simple volume
         * over its extent and is retyped LDM data in place; the os role
         * stays with the boot volume's extent (facts take it from the LDM
         * database, engine/format/ldm/ldm_facts.c). */
        for (uint32_t i = 0; i < d->n_partitions; i++) {
                mb_part_fact *q = &d->partitions[i];
                mb_volume_fact *v;
                mb_plex_fact *x;
                char vname[32];

                if (q->role != MB_ROLE_OS &&
                    !(q->type_guid && strcasecmp(q->type_guid, mb_role_type_guid(MB_ROLE_OS)) == 0))
                        continue;
                free(q->type_guid);
                if (!(q->type_guid = strdup(mb_role_type_guid(MB_ROLE_LDM_DATA))))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                if (!(v = mb_facts_add_volume(f)) || !(x = mb_volume_add_plex(v)))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                snprintf(vname, sizeof(vname), "Volume%u", f->n_volumes);
                v->name = strdup(vname);
                v->kind = strdup("simple");
                v->size = (q->last_lba - q->first_lba + 1) * mb_disk_sector(d);
                v->group = strdup(d->dynamic_group);
                x->disk = (int32_t)d->number;
                x->ldm_disk = strdup(name);
                x->offset = q->first_lba * mb_disk_sector(d);
                x->length = v->size;
                x->state = MB_PLEX_HEALTHY;
                x->percent = 100;
        }
        msr = mb_disk_part_by_role(d, MB_ROLE_MSR);
        return ldm_data_gaps(d, msr->last_lba + 1, d->last_usable_lba, err);
}

static int mirror_add(mb_facts *f, const mb_op *op, mb_error *err)
{
        mb_disk_fact *t = mb_facts_disk(f, op->disk), *s = mb_facts_disk(f, op->disk2);
        mb_volume_fact *vol = NULL;
        mb_plex_fact *x;
        mb_part_fact *np = NULL;
        mb_bcd_object_fact *loader;
        int r;

        if (!t || !s)
                return mb_error_set(err, MB_ENOENT, "disk %u or %u does not exist", op->disk, op->disk2);
        if (!t->dynamic || !s->dynamic)
                return mb_error_set(err, MB_ESTATE, "add mirror needs both disks dynamic (disk %u: %s, disk %u: %s)",
                                    s->number, s->dynamic ? "dynamic" : "basic", t->number,
                                    t->dynamic ? "dynamic" : "basic");
        for (uint32_t i = 0; i < f->n_volumes && !vol; i++)
                for (uint32_t j = 0; j < f->volumes[i].n_plexes; j++)
                        if (f->volumes[i].plexes[j].disk == (int32_t)s->number &&
                            f->volumes[i].plexes[j].offset == op->first_lba * mb_disk_sector(s))
                                vol = &f->volumes[i];
        if (!vol)
                return mb_error_set(err, MB_ESTATE, "disk %u has no volume at LBA %llu to mirror",
                                    s->number, (unsigned long long)op->first_lba);
        if (mb_disk_sector(t) != mb_disk_sector(s))
                return mb_error_set(err, MB_ESTATE, "disk %u has %u-byte sectors, disk %u %u-byte; a mirror needs one logical sector size",
                                    t->number, mb_disk_sector(t), s->number, mb_disk_sector(s));
        if (op->last_lba - op->first_lba + 1 < vol->size / mb_disk_sector(t))
                return mb_error_set(err, MB_ESTATE, "the plex (%llu sectors) is smaller than the volume (%llu sectors)",
                                    (unsigned long long)(op->last_lba - op->first_lba + 1),
                                    (unsigned long long)(vol->size / mb_disk_sector(t)));
        r = check_free(t, op->first_lba, op->last_lba, err);
        if (r)
                return mb_error_prefix(err, "add mirror needs unallocated space of the volume's size");
        /* the plex's entry is LDM data, like the source's extent */
        r = add_part(t, MB_ROLE_OS, op->first_lba, op->last_lba, mb_role_type_guid(MB_ROLE_LDM_DATA),
                     op->name, 0, &np, err);
        if (r)
                return r;
        np->fs = MB_FS_NTFS;
        {
                const mb_part_fact *msr = mb_disk_part_by_role(t, MB_ROLE_MSR);

                r = ldm_data_gaps(t, msr ? msr->last_lba + 1 : t->first_usable_lba, t->last_usable_lba, err);
                if (r)
                        return r;
        }
        if (!(x = mb_volume_add_plex(vol)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        x->disk = (int32_t)t->number;
        x->ldm_disk = mb_strdup(t->dynamic_name);
        x->offset = op->first_lba * mb_disk_sector(t);
        x->length = vol->size;
        x->state = MB_PLEX_RESYNCING;
        x->percent = 0;
        free(vol->kind);
        vol->kind = strdup("mirror");
        /* Windows adds a loader entry for the secondary plex of a boot volume. */
        loader = f->bcd ? default_loader(f->bcd) : NULL;
        if (loader && loader->description) {
                char desc[160];
                mb_op lop = { 0 };

                snprintf(desc, sizeof(desc), "%s - secondary plex", loader->description);
                if (!mb_facts_bcd_by_description(f, "os-loader", desc)) {
                        lop.kind = MB_OP_BCD_CREATE_LOADER;
                        lop.disk = t->number;
                        lop.role = MB_ROLE_OS;
                        snprintf(lop.description, sizeof(lop.description), "%s", desc);
                        return bcd_op(f, &lop, err);
                }
        }
        return 0;
}

static bool is_store_file(const char *path)
{
        static const char *const names[] = {
                "/EFI/Microsoft/Boot/BCD", "/EFI/Microsoft/Boot/BCD.LOG",
                "/EFI/Microsoft/Boot/BCD.LOG1", "/EFI/Microsoft/Boot/BCD.LOG2",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(path, names[i]) == 0)
                        return true;
        return false;
}

static int file_cmp(const void *a, const void *b)
{
        return strcmp(((const mb_file_fact *)a)->path, ((const mb_file_fact *)b)->path);
}

/* The store on the ESP p of disk d: f->bcd for the system disk's, else p->bcd. */
static mb_bcd_fact **esp_store_slot(mb_facts *f, mb_disk_fact *d, mb_part_fact *p)
{
        return d && d->system ? &f->bcd : &p->bcd;
}

/* CLONE_BLOCKS and SYNC_FILES: p's files become src's. An ESP that keeps
 * its own store (SYNC_FILES with keep_store) and has one keeps its BCD and
 * BCD.LOG* files and its store; otherwise its store becomes a copy of the
 * source ESP's (none when that has none), as the files are copied. */
static int copy_files(mb_facts *f, const mb_op *op, mb_part_fact *p, const mb_part_fact *src,
                      mb_error *err)
{
        mb_disk_fact *dd = mb_facts_disk(f, op->disk), *sd = mb_facts_disk(f, op->disk2);
        bool esp = p->role == MB_ROLE_EFI, keep = false;
        mb_file_fact *files;
        uint32_t n = 0;

        for (uint32_t i = 0; esp && op->kind == MB_OP_SYNC_FILES && op->keep_store && i < p->n_files; i++)
                keep |= strcasecmp(p->files[i].path, "/EFI/Microsoft/Boot/BCD") == 0;
        files = calloc(src->n_files + p->n_files + 1, sizeof(*files));
        if (!files)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < src->n_files; i++) {
                if (keep && is_store_file(src->files[i].path))
                        continue;
                files[n].path = strdup(src->files[i].path);
                files[n].size = src->files[i].size;
                files[n].sha256 = mb_strdup(src->files[i].sha256);
                files[n++].attributes = src->files[i].attributes;
        }
        for (uint32_t i = 0; i < p->n_files; i++) {
                if (keep && is_store_file(p->files[i].path)) {
                        files[n++] = p->files[i];       /* moved: kept as it is */
                        p->files[i].path = NULL;
                        p->files[i].sha256 = NULL;
                        p->files[i].image = NULL;
                        continue;
                }
                free(p->files[i].path), free(p->files[i].sha256);
                mb_image_fact_free(p->files[i].image);
        }
        free(p->files);
        p->files = files;
        p->n_files = n;
        qsort(files, n, sizeof(*files), file_cmp);
        for (uint32_t i = 0; i < n; i++)
                if (!files[i].path)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (esp && !keep) {
                mb_bcd_fact **slot = esp_store_slot(f, dd, p), *from = *esp_store_slot(f, sd, (mb_part_fact *)src);
                mb_bcd_fact *copy = NULL;
                char where[96];

                snprintf(where, sizeof(where), "disk %u partition %u /EFI/Microsoft/Boot/BCD",
                         op->disk, p->number);
                if (from && from != *slot && !(copy = store_dup(from, where)))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                if (from != *slot) {
                        mb_bcd_fact_free(*slot);
                        *slot = copy;
                }
        }
        return 0;
}

int mb_model_apply(mb_facts *facts, const mb_op *op, mb_error *err)
{
        mb_facts *f = mb_facts_dup(facts), tmp;
        mb_disk_fact *d;
        mb_part_fact *p, *src;
        int r = 0;

        if (!f)
                return mb_error_set(err, MB_ENOMEM, "out of memory copying facts");
        d = mb_facts_disk(f, op->disk);
        if (!d) {
                mb_facts_free(f);
                return mb_error_set(err, MB_ENOENT, "disk %u does not exist", op->disk);
        }
        switch (op->kind) {
        case MB_OP_DISK_ONLINE:
                d->online = true;
                d->read_only = false;
                break;
        case MB_OP_GPT_REPAIR:
                free(d->gpt_damaged);
                d->gpt_damaged = NULL;
                break;
        case MB_OP_DISK_INIT_GPT:
                if (d->n_partitions)
                        r = mb_error_set(err, MB_ESTATE, "disk %u: convert gpt needs an empty disk; it has %u partitions",
                                         d->number, d->n_partitions);
                else if (op->expect_size && d->size != op->expect_size)
                        r = mb_error_set(err, MB_EUNSAFE, "disk %u: size %llu is not the %llu bytes planned; refusing to initialize it",
                                         d->number, (unsigned long long)d->size, (unsigned long long)op->expect_size);
                else if (op->expect_serial[0] && (!d->serial || strcmp(d->serial, op->expect_serial)))
                        r = mb_error_set(err, MB_EUNSAFE, "disk %u: serial %s is not the %s planned; refusing to initialize it",
                                         d->number, d->serial ? d->serial : "(none)", op->expect_serial);
                else if (!d->online)
                        r = mb_error_set(err, MB_ESTATE, "disk %u is offline", d->number);
                if (r)
                        break;
                d->style = MB_STYLE_GPT;
                free(d->disk_guid);
                d->disk_guid = new_guid_text();
                d->first_usable_lba = 2 + 16384 / mb_disk_sector(d);
                d->last_usable_lba = 0;
                d->last_usable_lba = mb_disk_last_usable(d);
                break;
        case MB_OP_PART_CREATE:
                if (d->style != MB_STYLE_GPT) {
                        r = mb_error_set(err, MB_ESTATE, "disk %u is not GPT", d->number);
                        break;
                }
                if (mb_disk_part_by_role(d, op->role)) {
                        r = mb_error_set(err, MB_ESTATE, "disk %u already has a %s partition", d->number,
                                         mb_role_to_string(op->role));
                        break;
                }
                r = check_free(d, op->first_lba, op->last_lba, err);
                if (!r)
                        r = add_part(d, op->role, op->first_lba, op->last_lba, op->type_guid, op->name,
                                     op->attributes, NULL, err);
                break;
        case MB_OP_PART_SET_TYPE:
        case MB_OP_PART_SET_ATTRS:
        case MB_OP_PART_SET_NAME:
        case MB_OP_FORMAT:
                if (!(p = role_part(f, op->disk, op->role, NULL, err))) {
                        r = err->code;
                        break;
                }
                if (op->kind == MB_OP_PART_SET_TYPE) {
                        free(p->type_guid);
                        p->type_guid = strdup(op->type_guid);
                        p->role = mb_role_from_type_guid(op->type_guid);
                } else if (op->kind == MB_OP_PART_SET_ATTRS) {
                        p->attributes = op->attributes;
                } else if (op->kind == MB_OP_PART_SET_NAME) {
                        free(p->name);
                        p->name = strdup(op->name);
                } else {
                        char hex[65], *g = new_guid_text();

                        mb_sha256_hex(g ? g : "", g ? strlen(g) : 0, hex);
                        free(g);
                        p->fs = op->fs;
                        free(p->label);
                        p->label = op->label[0] ? strdup(op->label) : NULL;
                        for (uint32_t i = 0; i < p->n_files; i++)
                                free(p->files[i].path), free(p->files[i].sha256);
                        free(p->files);
                        p->files = NULL;
                        p->n_files = 0;
                        free(p->content_sha256);
                        p->content_sha256 = p->role == MB_ROLE_EFI ? NULL : strdup(hex);
                }
                break;
        case MB_OP_CONVERT_DYNAMIC:
                r = convert_dynamic(f, op, err);
                break;
        case MB_OP_MIRROR_ADD:
                r = mirror_add(f, op, err);
                break;
        case MB_OP_MIRROR_RESYNC:
                for (uint32_t i = 0; i < f->n_volumes; i++)
                        for (uint32_t j = 0; j < f->volumes[i].n_plexes; j++)
                                if (f->volumes[i].plexes[j].disk == (int32_t)op->disk) {
                                        f->volumes[i].plexes[j].state = MB_PLEX_HEALTHY;
                                        f->volumes[i].plexes[j].percent = 100;
                                }
                break;
        case MB_OP_MIRROR_REMOVE_MISSING:
                for (uint32_t i = 0; i < f->n_volumes; i++) {
                        mb_volume_fact *v = &f->volumes[i];

                        for (uint32_t j = 0; j < v->n_plexes; j++)
                                if (v->plexes[j].ldm_disk && strcmp(v->plexes[j].ldm_disk, op->ldm_disk) == 0 &&
                                    (v->plexes[j].disk < 0 || v->plexes[j].state == MB_PLEX_MISSING)) {
                                        free(v->plexes[j].ldm_disk);
                                        memmove(&v->plexes[j], &v->plexes[j + 1],
                                                (v->n_plexes - j - 1) * sizeof(*v->plexes));
                                        v->n_plexes--;
                                        j--;
                                }
                        if (v->n_plexes == 1) {
                                free(v->kind);
                                v->kind = strdup("simple");
                        }
                }
                break;
        case MB_OP_CLONE_BLOCKS:
        case MB_OP_SYNC_FILES:
                if (!(src = role_part(f, op->disk2, op->role, NULL, err)) ||
                    !(p = role_part(f, op->disk, op->role, NULL, err))) {
                        r = err->code;
                        break;
                }
                if (op->kind == MB_OP_CLONE_BLOCKS) {
                        if (src->last_lba - src->first_lba != p->last_lba - p->first_lba) {
                                r = mb_error_set(err, MB_ESTATE, "block clone needs equal partition sizes");
                                break;
                        }
                        free(p->content_sha256);
                        p->content_sha256 = mb_strdup(src->content_sha256);
                        p->fs = src->fs;
                        free(p->label);
                        p->label = mb_strdup(src->label);
                }
                if (op->kind != MB_OP_CLONE_BLOCKS && p->fs != MB_FS_FAT32)
                        r = mb_error_set(err, MB_ESTATE, "disk %u's ESP has no FAT32 file system", op->disk);
                else
                        r = copy_files(f, op, p, src, err);
                break;
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER:
        case MB_OP_BCD_SET_DEVICE:
        case MB_OP_BCD_DELETE:
        case MB_OP_BCD_DISPLAYORDER:
        case MB_OP_BCD_SET_DEFAULT:
                r = bcd_op(f, op, err);
                break;
        case MB_OP_FW_ENTRY:
        case MB_OP_FW_DELETE:
                r = fw_op(f, op, err);
                break;
        case MB_OP_LDM_REPAIR:
                if (!(d = mb_facts_disk(f, op->disk)) || !d->dynamic) {
                        r = mb_error_set(err, MB_ESTATE, "disk %u is not a dynamic disk", op->disk);
                        break;
                }
                for (uint32_t i = 0; i < d->n_ldm_damage; i++)
                        free(d->ldm_damage[i].structure), free(d->ldm_damage[i].detail);
                free(d->ldm_damage);
                d->ldm_damage = NULL;
                d->n_ldm_damage = 0;
                break;
        default:
                r = mb_error_set(err, MB_ENOTSUP, "unknown operation %d", op->kind);
        }
        if (r) {
                mb_facts_free(f);
                return r;
        }
        /* swap contents so the caller's pointer now holds the new state */
        tmp = *facts;
        *facts = *f;
        *f = tmp;
        mb_facts_free(f);
        return 0;
}
