/* SPDX-License-Identifier: MIT */
/*
 * The snapshot model (engine/platform/snapshot/model.c) on each ESP's own
 * BCD store: ops that edit store_disk's store (esp_store), a loader named
 * by its device (empty object), bcd-set-default, WinRE moved to a disk's
 * own recovery partition, the ESP sync that keeps the target's store,
 * BCD_CREATE_LOADER that never takes over another present disk's loader,
 * and a firmware entry rewritten by number. The facts are the image
 * target's, read from the seed images (tests/data/image/facts-two-esps.yaml).
 * mb_model_apply swaps a new value into the facts: pointers into them are
 * taken again after each op.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "platform/platform.h"

#define LOADER0 "{063973c0-d0ac-11ed-b884-cfa59b967f58}"
#define WINRE "{063973c1-d0ac-11ed-b884-cfa59b967f58}"
#define OS0 "c5e2b7a4-1f9d-4e36-b8c0-2a7d6f1e9b57"
#define ESP1 "63974f27-beec-4404-9d7f-9f5d67382d4a"
#define OS1 "806479d9-d807-445a-934d-e7864ed40969"
#define RE1 "41b431f1-a970-42a7-8925-3ac465c556fc"
#define DISK1 "4a799477-791a-c14f-b2d9-077370737da3"

static mb_facts *f;

static void setup(void)
{
        mb_error err = { 0 };

        cr_assert_eq(mb_facts_load("tests/data/image/facts-two-esps.yaml", &f, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
        mb_facts_free(f);
}

TestSuite(model, .init = setup, .fini = teardown);

static mb_op bcd(mb_op_kind kind, bool esp_store, uint32_t store_disk, const char *object,
                 uint32_t disk, mb_role role)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = kind;
        op.esp_store = esp_store;
        op.store_disk = store_disk;
        op.disk = disk;
        op.role = role;
        op.number = 0xffff;
        snprintf(op.object, sizeof(op.object), "%s", object);
        return op;
}

static int apply(mb_op op, mb_error *err)
{
        memset(err, 0, sizeof(*err));
        return mb_model_apply(f, &op, err);
}

static void ok(mb_op op)
{
        mb_error err;

        cr_assert_eq(apply(op, &err), 0, "%s: %s", mb_op_kind_to_string(op.kind), err.msg);
}

static mb_part_fact *esp(uint32_t disk)
{
        return mb_disk_part_by_role(mb_facts_disk(f, disk), MB_ROLE_EFI);
}

static mb_bcd_object_fact *obj(mb_bcd_fact *b, const char *id)
{
        for (uint32_t i = 0; b && i < b->n_objects; i++)
                if (strcasecmp(b->objects[i].id, id) == 0)
                        return &b->objects[i];
        return NULL;
}

static mb_bcd_object_fact *by_desc(mb_bcd_fact *b, const char *desc, uint32_t nth)
{
        for (uint32_t i = 0; b && i < b->n_objects; i++)
                if (b->objects[i].description && strcmp(b->objects[i].description, desc) == 0 &&
                    nth-- == 0)
                        return &b->objects[i];
        return NULL;
}

static const char *file_sha(const mb_part_fact *p, const char *path)
{
        for (uint32_t i = 0; i < p->n_files; i++)
                if (strcasecmp(p->files[i].path, path) == 0)
                        return p->files[i].sha256;
        return NULL;
}

static void sync_esp(bool keep)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_SYNC_FILES;
        op.disk = 1;
        op.disk2 = 0;
        op.role = MB_ROLE_EFI;
        op.keep_store = keep;
        ok(op);
}

Test(model, esp_store_without_a_store_is_enoent_naming_the_disk)
{
        mb_error err;

        cr_assert_null(esp(1)->bcd);
        cr_assert_eq(apply(bcd(MB_OP_BCD_SET_DEVICE, true, 1, "{bootmgr}", 1, MB_ROLE_EFI), &err),
                     MB_ENOENT);
        cr_assert(strstr(err.msg, "disk 1: no BCD store"), "%s", err.msg);
        cr_assert_null(esp(1)->bcd);
        cr_assert_eq(apply(bcd(MB_OP_BCD_SET_DEVICE, true, 7, "{bootmgr}", 1, MB_ROLE_EFI), &err),
                     MB_ENOENT);
}

Test(model, sync_keep_store_copies_the_store_only_when_there_is_none)
{
        const char *sha0 = strdup(file_sha(esp(0), "/EFI/Microsoft/Boot/BCD")), *sha1;

        sync_esp(true);
        cr_assert_not_null(esp(1)->bcd);
        cr_assert_str_eq(esp(1)->bcd->store, "disk 1 partition 1 /EFI/Microsoft/Boot/BCD");
        cr_assert_eq(esp(1)->bcd->n_objects, f->bcd->n_objects);
        cr_assert_str_eq(file_sha(esp(1), "/EFI/Microsoft/Boot/BCD"), sha0, "the file is copied");

        /* an edit of disk 1's store: the system store is not touched */
        ok(bcd(MB_OP_BCD_SET_DEVICE, true, 1, "{bootmgr}", 1, MB_ROLE_EFI));
        cr_assert_str_eq(obj(esp(1)->bcd, "{bootmgr}")->device->partition, ESP1);
        cr_assert_str_neq(obj(f->bcd, "{bootmgr}")->device->partition, ESP1);
        cr_assert_str_eq(file_sha(esp(0), "/EFI/Microsoft/Boot/BCD"), sha0);
        sha1 = strdup(file_sha(esp(1), "/EFI/Microsoft/Boot/BCD"));
        cr_assert_str_neq(sha1, sha0, "disk 1's BCD file changes with its store");

        /* the target has a store now: kept, file and store */
        sync_esp(true);
        cr_assert_str_eq(obj(esp(1)->bcd, "{bootmgr}")->device->partition, ESP1);
        cr_assert_str_eq(file_sha(esp(1), "/EFI/Microsoft/Boot/BCD"), sha1);
        cr_assert_eq(esp(1)->n_files, esp(0)->n_files);

        /* without keep_store the source's store replaces it */
        sync_esp(false);
        cr_assert_str_neq(obj(esp(1)->bcd, "{bootmgr}")->device->partition, ESP1);
        cr_assert_str_eq(file_sha(esp(1), "/EFI/Microsoft/Boot/BCD"), sha0);
        free((void *)sha0);
        free((void *)sha1);
}

Test(model, disk_1_store_boots_disk_1)
{
        mb_bcd_object_fact *l, *bm, *re;
        mb_op op;
        mb_error err;

        sync_esp(true);
        /* no loader on (1, os) yet: a clear error naming the store and (disk, role) */
        cr_assert_eq(apply(bcd(MB_OP_BCD_SET_DEFAULT, true, 1, "", 1, MB_ROLE_OS), &err), MB_ENOENT);
        cr_assert(strstr(err.msg, "disk 1 partition 1 /EFI/Microsoft/Boot/BCD") &&
                  strstr(err.msg, "os partition of disk 1"), "%s", err.msg);

        op = bcd(MB_OP_BCD_CREATE_LOADER, true, 1, "", 1, MB_ROLE_OS);
        snprintf(op.description, sizeof(op.description), "Windows Server - secondary plex");
        ok(op);
        ok(bcd(MB_OP_BCD_SET_DEFAULT, true, 1, "", 1, MB_ROLE_OS));
        op = bcd(MB_OP_BCD_DISPLAYORDER, true, 1, "", 1, MB_ROLE_OS);
        op.position = MB_POS_FIRST;
        ok(op);
        ok(bcd(MB_OP_BCD_SET_DEVICE, true, 1, WINRE, 1, MB_ROLE_RECOVERY));

        l = by_desc(esp(1)->bcd, "Windows Server - secondary plex", 0);
        cr_assert_not_null(l);
        cr_assert_str_eq(l->device->partition, OS1);
        cr_assert_str_eq(l->osdevice->partition, OS1);
        cr_assert_str_eq(l->recovery, WINRE);
        bm = obj(esp(1)->bcd, "{bootmgr}");
        cr_assert_str_eq(bm->default_id, l->id);
        cr_assert_eq(bm->n_displayorder, 2);
        cr_assert_str_eq(bm->displayorder[0], l->id);
        cr_assert_str_eq(bm->displayorder[1], LOADER0);
        re = obj(esp(1)->bcd, WINRE);
        cr_assert_str_eq(re->device->kind, "ramdisk");
        cr_assert_str_eq(re->device->partition, RE1);
        cr_assert_str_eq(re->device->disk, DISK1);
        cr_assert_str_eq(re->osdevice->kind, "ramdisk");
        cr_assert_str_eq(re->osdevice->partition, RE1);
        /* the system store is as it was */
        cr_assert_null(by_desc(f->bcd, "Windows Server - secondary plex", 0));
        cr_assert_str_eq(obj(f->bcd, "{bootmgr}")->default_id, LOADER0);
        cr_assert_str_neq(obj(f->bcd, WINRE)->device->partition, RE1);

        /* BCD_DISPLAYORDER absent with an empty object takes the loader out */
        op = bcd(MB_OP_BCD_DISPLAYORDER, true, 1, "", 1, MB_ROLE_OS);
        op.position = MB_POS_ABSENT;
        ok(op);
        bm = obj(esp(1)->bcd, "{bootmgr}");     /* the model swaps in a new value */
        cr_assert_eq(bm->n_displayorder, 1);
        cr_assert_str_eq(bm->displayorder[0], LOADER0);
}

Test(model, create_loader_never_takes_over_a_present_disks_loader)
{
        mb_bcd_object_fact *o;
        uint32_t n;
        mb_op op = bcd(MB_OP_BCD_CREATE_LOADER, false, 0, "", 1, MB_ROLE_OS);

        snprintf(op.description, sizeof(op.description), "Windows Server");
        ok(op);
        cr_assert_str_eq(obj(f->bcd, LOADER0)->device->partition, OS0, "disk 0's loader stays");
        o = by_desc(f->bcd, "Windows Server", 1);
        cr_assert_not_null(o, "a second loader of that description");
        cr_assert_str_eq(o->device->partition, OS1);
        n = f->bcd->n_objects;
        /* again, under another description: the loader on (1, os) is reused */
        snprintf(op.description, sizeof(op.description), "Other");
        ok(op);
        cr_assert_eq(f->bcd->n_objects, n);
        cr_assert_null(by_desc(f->bcd, "Other", 0));

        /* a loader of the description whose partition no disk has is reused */
        o = by_desc(f->bcd, "Windows Server", 1);
        free(o->device->partition);
        o->device->partition = strdup("0a0a0a0a-0000-4000-8000-000000000000");
        free(o->osdevice->partition);
        o->osdevice->partition = strdup("0a0a0a0a-0000-4000-8000-000000000000");
        snprintf(op.description, sizeof(op.description), "Windows Server");
        ok(op);
        cr_assert_eq(f->bcd->n_objects, n);
        o = by_desc(f->bcd, "Windows Server", 1);
        cr_assert_str_eq(o->device->partition, OS1);
        cr_assert_str_eq(obj(f->bcd, LOADER0)->device->partition, OS0);
}

Test(model, set_default_of_a_missing_object_is_enoent)
{
        mb_error err;

        cr_assert_eq(apply(bcd(MB_OP_BCD_SET_DEFAULT, false, 0, "{0a0a0a0a-0000-4000-8000-000000000000}",
                               0, MB_ROLE_OS), &err), MB_ENOENT);
        cr_assert_str_eq(obj(f->bcd, "{bootmgr}")->default_id, LOADER0);
}

/* FW_ENTRY: "Windows Boot Manager Cloned" on disk's ESP, Boot#### number, first. */
static mb_op fw_entry(uint32_t disk, uint32_t number)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_FW_ENTRY;
        op.disk = disk;
        op.role = MB_ROLE_EFI;
        op.number = number;
        op.position = MB_POS_FIRST;
        snprintf(op.description, sizeof(op.description), "Windows Boot Manager Cloned");
        snprintf(op.path, sizeof(op.path), "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        return op;
}

Test(model, firmware_entry_rewritten_by_number)
{
        mb_op op = fw_entry(1, 0);

        ok(op);
        cr_assert_eq(f->firmware->n_entries, 1);
        cr_assert_eq(f->firmware->entries[0].number, 0);
        cr_assert_str_eq(f->firmware->entries[0].description, "Windows Boot Manager Cloned");
        cr_assert_str_eq(f->firmware->entries[0].partition, ESP1);
        /* no number: an entry of a new description is added */
        op.number = 0xffff;
        op.disk = 0;
        snprintf(op.description, sizeof(op.description), "Windows Boot Manager");
        ok(op);
        cr_assert_eq(f->firmware->n_entries, 2);
        cr_assert_str_eq(f->firmware->entries[0].description, "Windows Boot Manager Cloned");
}

/* A new entry (no number) for disk 1 takes no entry of its description that
 * boots another disk (a survivor's own "Windows Boot Manager Cloned" after
 * its primary was replaced): that one keeps booting its disk; run again
 * with the entry already made, nothing is added. */
Test(model, new_firmware_entry_never_takes_another_disks_entry)
{
        mb_op op = fw_entry(0, 0);

        ok(op);                 /* disk 0's entry carries the name */
        op.disk = 1;
        op.number = 0xffff;
        op.position = MB_POS_LAST;
        ok(op);
        cr_assert_eq(f->firmware->n_entries, 2, "a second entry, not disk 0's taken");
        cr_assert_str_neq(f->firmware->entries[0].partition, ESP1, "disk 0's entry still boots disk 0");
        cr_assert_str_eq(f->firmware->entries[1].partition, ESP1);
        ok(op);                 /* a killed run's repeat finds its own entry */
        cr_assert_eq(f->firmware->n_entries, 2);
}
