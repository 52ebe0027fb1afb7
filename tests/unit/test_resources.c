/* SPDX-License-Identifier: MIT */
/* Each resource's differences, from small edits of the seed facts (no I/O). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plan.h"
#include "platform/platform.h"

static mb_config *cfg;
static mb_facts *facts;     /* the seed machine, converged by the model */

static void converge(mb_facts *f)
{
        for (int i = 0; i < 100; i++) {
                mb_plan *p = NULL;
                mb_error err = { 0 };

                cr_assert_eq(mb_plan_compute(cfg, f, &p, &err), 0, "%s", err.msg);
                if (p->n_changes == 0) {
                        mb_plan_free(p);
                        return;
                }
                cr_assert_eq(mb_model_apply(f, &p->changes[0].op, &err), 0, "%s", err.msg);
                mb_plan_free(p);
        }
        cr_assert_fail("did not converge");
}

static void setup(void)
{
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load("examples/seed/site.yaml", &cfg, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load("tests/data/seed/facts-before.yaml", &facts, &err), 0, "%s", err.msg);
        converge(facts);
}

static void teardown(void)
{
        mb_facts_free(facts);
        mb_config_free(cfg);
}

static mb_plan *plan(void)
{
        mb_plan *p = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_plan_compute(cfg, facts, &p, &err), 0, "%s", err.msg);
        return p;
}

static void expect_one(mb_resource_kind res, mb_op_kind kind)
{
        mb_plan *p = plan();

        cr_assert_eq(p->n_changes, 1, "%zu changes (first %s)", p->n_changes,
                     p->n_changes ? mb_op_kind_to_string(p->changes[0].op.kind) : "-");
        cr_assert_eq(p->changes[0].resource, res);
        cr_assert_eq(p->changes[0].op.kind, kind, "got %s", mb_op_kind_to_string(p->changes[0].op.kind));
        mb_plan_free(p);
}

/* A BCD edit of the system store, and no ESP copy after it: with boot:
 * each-disk the secondary's ESP keeps a store of its own. */
static void expect_bcd_edit(mb_resource_kind res, mb_op_kind kind)
{
        mb_plan *p = plan();

        cr_assert_eq(p->n_changes, 1, "%zu changes (last %s)", p->n_changes,
                     p->n_changes ? mb_op_kind_to_string(p->changes[p->n_changes - 1].op.kind) : "-");
        cr_assert_eq(p->changes[0].resource, res);
        cr_assert_eq(p->changes[0].op.kind, kind, "got %s", mb_op_kind_to_string(p->changes[0].op.kind));
        cr_assert_not(p->changes[0].op.esp_store, "the system store");
        mb_plan_free(p);
}

/* The store on disk 1's ESP, as the converged seed has it. */
static mb_bcd_fact *secondary_store(void)
{
        mb_part_fact *esp = mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_EFI);

        cr_assert_not_null(esp->bcd, "the converged secondary's ESP has its own store");
        return esp->bcd;
}

/* The one change of the plan is op kind on disk 1's own store. */
static void expect_secondary_store_edit(mb_op_kind kind, mb_role role)
{
        mb_plan *p = plan();

        cr_assert_eq(p->n_changes, 1, "%zu changes (first %s)", p->n_changes,
                     p->n_changes ? mb_op_kind_to_string(p->changes[0].op.kind) : "-");
        cr_assert_eq(p->changes[0].resource, MB_RES_DISK_BOOT);
        cr_assert_eq(p->changes[0].op.kind, kind, "got %s", mb_op_kind_to_string(p->changes[0].op.kind));
        cr_assert(p->changes[0].op.esp_store && p->changes[0].op.store_disk == 1, "disk 1's own store");
        cr_assert_eq(p->changes[0].op.role, role);
        mb_plan_free(p);
}

TestSuite(resources, .init = setup, .fini = teardown);

Test(resources, converged_seed_has_no_changes)
{
        mb_plan *p = plan();

        cr_assert_eq(p->n_changes, 0);
        for (size_t i = 0; i < p->n_status; i++)
                cr_assert_eq(p->status[i].n_changes, 0);
        cr_assert_geq(p->n_status, 6);
        mb_plan_free(p);
}

Test(resources, disk_offline)
{
        mb_facts_disk(facts, 1)->online = false;
        expect_one(MB_RES_DISK, MB_OP_DISK_ONLINE);
}

Test(resources, disk_read_only)
{
        mb_facts_disk(facts, 1)->read_only = true;
        expect_one(MB_RES_DISK, MB_OP_DISK_ONLINE);
}

Test(resources, damaged_gpt_copy_is_a_planned_repair)
{
        mb_plan *p;
        mb_error err = { 0 };

        mb_facts_disk(facts, 1)->gpt_damaged = strdup("primary");
        p = plan();
        cr_assert_eq(p->n_changes, 1, "%zu changes", p->n_changes);
        cr_assert_eq(p->changes[0].resource, MB_RES_DISK);
        cr_assert_eq(p->changes[0].op.kind, MB_OP_GPT_REPAIR, "got %s",
                     mb_op_kind_to_string(p->changes[0].op.kind));
        cr_assert_eq(p->changes[0].op.disk, 1);
        cr_assert(!p->changes[0].destructive);
        cr_assert(strstr(p->changes[0].current, "primary GPT damaged, read through the intact backup copy"),
                  "%s", p->changes[0].current);
        cr_assert_eq(mb_model_apply(facts, &p->changes[0].op, &err), 0, "%s", err.msg);
        cr_assert_null(mb_facts_disk(facts, 1)->gpt_damaged);
        mb_plan_free(p);
        p = plan();
        cr_assert_eq(p->n_changes, 0, "%zu changes after the repair", p->n_changes);
        mb_plan_free(p);
}

Test(resources, damaged_gpt_copy_on_an_offline_disk_is_repaired_once_online)
{
        mb_plan *p;

        mb_facts_disk(facts, 1)->gpt_damaged = strdup("backup");
        mb_facts_disk(facts, 1)->online = false;
        p = plan();
        cr_assert_eq(p->n_changes, 2, "%zu changes", p->n_changes);
        cr_assert_eq(p->changes[0].op.kind, MB_OP_DISK_ONLINE);
        cr_assert_eq(p->changes[1].op.kind, MB_OP_GPT_REPAIR);
        cr_assert(strstr(p->changes[1].current, "backup GPT damaged, read through the intact primary copy"),
                  "%s", p->changes[1].current);
        mb_plan_free(p);
}

Test(resources, partition_attributes_drift)
{
        mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_RECOVERY)->attributes = 0;
        expect_one(MB_RES_PARTITION, MB_OP_PART_SET_ATTRS);
}

Test(resources, partition_name_drift)
{
        mb_part_fact *p = mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_EFI);

        free(p->name);
        p->name = strdup("renamed");
        expect_one(MB_RES_PARTITION, MB_OP_PART_SET_NAME);
}

Test(resources, partition_moved_is_refused)
{
        mb_plan *p = NULL;
        mb_error err = { 0 };

        mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_RECOVERY)->first_lba += 2048;
        cr_assert_eq(mb_plan_compute(cfg, facts, &p, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "never moves or resizes"), "%s", err.msg);
}

Test(resources, template_without_role_is_an_error)
{
        mb_plan *p = NULL;
        mb_error err = { 0 };
        mb_disk_fact *d0 = mb_facts_disk(facts, 0);

        mb_disk_part_by_role(d0, MB_ROLE_RECOVERY)->role = MB_ROLE_NONE;
        cr_assert_eq(mb_plan_compute(cfg, facts, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "has no recovery partition"), "%s", err.msg);
}

Test(resources, dynamic_basic_disk)
{
        mb_facts_disk(facts, 1)->dynamic = false;
        {
                mb_plan *p = plan();

                cr_assert_eq(p->changes[0].resource, MB_RES_DYNAMIC);
                cr_assert_eq(p->changes[0].op.kind, MB_OP_CONVERT_DYNAMIC);
                cr_assert_eq(p->changes[0].op.disk, 1);
                mb_plan_free(p);
        }
}

Test(resources, mirror_failed_plex)
{
        facts->volumes[0].plexes[1].state = MB_PLEX_FAILED;
        expect_one(MB_RES_MIRROR, MB_OP_MIRROR_RESYNC);
}

Test(resources, mirror_resyncing_is_health_not_drift)
{
        mb_plan *p;

        facts->volumes[0].plexes[1].state = MB_PLEX_RESYNCING;
        facts->volumes[0].plexes[1].percent = 42;
        p = plan();
        cr_assert_eq(p->n_changes, 0);
        cr_assert(p->health.resyncing);
        cr_assert_eq(p->health.percent, 42);
        cr_assert(strstr(p->health.what, "42%"));
        mb_plan_free(p);
}

Test(resources, boot_entry_wrong_device)
{
        mb_bcd_object_fact *o = mb_facts_bcd_by_description(facts, "boot-manager", "Windows Boot Manager Cloned");

        free(o->device->partition);
        o->device->partition = strdup(mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_EFI)->unique_guid);
        expect_bcd_edit(MB_RES_BOOT_ENTRY, MB_OP_BCD_SET_DEVICE);
}

Test(resources, boot_entry_firmware_order)
{
        uint32_t t = facts->firmware->order[0];

        facts->firmware->order[0] = facts->firmware->order[1];
        facts->firmware->order[1] = t;
        expect_one(MB_RES_BOOT_ENTRY, MB_OP_FW_ENTRY);
}

/* Adds Boot#### number (description, partition GUID or NULL) at the end of
 * the boot order, as a firmware adds its own entries at its first boot. */
static void append_fw_entry(uint32_t number, const char *description, const char *partition)
{
        mb_firmware_fact *fw = facts->firmware;
        mb_fw_entry_fact *e = realloc(fw->entries, (fw->n_entries + 1) * sizeof(*e));
        uint32_t *o = realloc(fw->order, (fw->n_order + 1) * sizeof(*o));

        cr_assert(e && o);
        fw->entries = e, fw->order = o;
        e = &fw->entries[fw->n_entries++];
        memset(e, 0, sizeof(*e));
        e->number = number;
        e->description = strdup(description);
        e->partition = partition ? strdup(partition) : NULL;
        e->active = true;
        fw->order[fw->n_order++] = number;
}

Test(resources, entries_the_firmware_adds_after_ours_are_no_drift)
{
        mb_plan *p;

        append_fw_entry(2, "UEFI QEMU DVD-ROM QM00003", NULL);
        append_fw_entry(3, "UEFI PXEv4 (MAC:525400123456)", NULL);
        append_fw_entry(4, "EFI Internal Shell", NULL);
        p = plan();
        cr_assert_eq(p->n_changes, 0, "%zu changes (first: %s)", p->n_changes,
                     p->n_changes ? p->changes[0].current : "-");
        mb_plan_free(p);
}

Test(resources, a_disk_entry_after_ours_is_drift)
{
        const mb_part_fact *esp0 = mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_EFI);

        append_fw_entry(2, "UEFI QEMU DVD-ROM QM00003", NULL);
        append_fw_entry(5, "Windows Boot Manager (another)", esp0->unique_guid);
        expect_one(MB_RES_BOOT_ENTRY, MB_OP_FW_ENTRY);
}

Test(resources, firmware_entry_to_no_partition_is_a_note)
{
        mb_fw_entry_fact *e = &facts->firmware->entries[0];
        mb_plan *p;
        bool named = false;

        cfg->site->mirrors[0].boot = MB_MIRROR_BOOT_NONE;       /* each-disk removes it instead */
        free(e->partition);
        e->partition = strdup("0badc0de-0000-4000-8000-000000000001");
        p = plan();
        for (size_t i = 0; i < p->n_notes; i++)
                if (strstr(p->notes[i], "0badc0de-0000-4000-8000-000000000001") &&
                    strstr(p->notes[i], "none of the disks"))
                        named = true;
        cr_assert(named, "a note names the entry whose partition is gone");
        mb_plan_free(p);
}

Test(resources, boot_entry_loader_missing_from_menu)
{
        mb_bcd_object_fact *bm = mb_facts_bcd_object(facts, "{bootmgr}");

        cr_assert_eq(bm->n_displayorder, 2);
        bm->n_displayorder = 1; /* hide the plex loader; the array keeps owning its id */
        expect_bcd_edit(MB_RES_DISK_BOOT, MB_OP_BCD_DISPLAYORDER);
        bm->n_displayorder = 2;
}

Test(resources, clone_recovery_differs)
{
        mb_part_fact *p = mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_RECOVERY);

        p->content_sha256[0] = p->content_sha256[0] == '0' ? '1' : '0';
        expect_one(MB_RES_CLONE, MB_OP_CLONE_BLOCKS);
}

Test(resources, clone_esp_file_changed)
{
        mb_part_fact *p = mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_EFI);
        mb_plan *pl;

        p->files[0].size++;
        pl = plan();
        cr_assert_eq(pl->n_changes, 1);
        cr_assert_eq(pl->changes[0].op.kind, MB_OP_SYNC_FILES);
        cr_assert(strstr(pl->changes[0].current, "1 file differs (/EFI/Boot/bootx64.efi)"), "%s",
                  pl->changes[0].current);
        mb_plan_free(pl);
}

Test(resources, clone_esp_synced_after_bcd_edit)
{
        mb_bcd_object_fact *o = mb_facts_bcd_by_description(facts, "boot-manager", "Windows Boot Manager Cloned");
        mb_plan *p;

        free(o->description);
        o->description = strdup("something else");
        p = plan();
        cr_assert_eq(p->changes[0].op.kind, MB_OP_BCD_COPY_BOOTMGR);
        cr_assert_eq(p->n_changes, 1, "each disk keeps its own store: no ESP copy follows");
        mb_plan_free(p);
        /* without boot: each-disk the store is part of the ESP copy */
        cfg->site->mirrors[0].boot = MB_MIRROR_BOOT_NONE;
        p = plan();
        cr_assert_eq(p->changes[p->n_changes - 1].op.kind, MB_OP_SYNC_FILES,
                     "the ESP copy follows the BCD edit");
        mb_plan_free(p);
}

/* ---- each disk boots on its own (mirrors: boot: each-disk) ---- */

Test(resources, each_disk_store_default_on_the_other_plex)
{
        mb_bcd_fact *s = secondary_store();
        mb_bcd_object_fact *bm = mb_bcd_store_object(s, "{bootmgr}");
        const mb_bcd_object_fact *primary_loader =
                mb_bcd_store_loader_on(s, mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_OS));

        cr_assert_not_null(primary_loader);
        cr_assert_not_null(bm->default_id);
        cr_assert_str_neq(bm->default_id, primary_loader->id, "converged: disk 1 boots its own plex");
        free(bm->default_id);
        bm->default_id = strdup(primary_loader->id);
        expect_secondary_store_edit(MB_OP_BCD_SET_DEFAULT, MB_ROLE_OS);
}

Test(resources, each_disk_store_bootmgr_on_the_other_esp)
{
        mb_bcd_object_fact *bm = mb_bcd_store_object(secondary_store(), "{bootmgr}");

        free(bm->device->partition);
        bm->device->partition = strdup(mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_EFI)->unique_guid);
        expect_secondary_store_edit(MB_OP_BCD_SET_DEVICE, MB_ROLE_EFI);
}

Test(resources, each_disk_store_winre_on_the_other_recovery)
{
        mb_bcd_fact *s = secondary_store();
        const mb_bcd_object_fact *own =
                mb_bcd_store_loader_on(s, mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_OS));
        mb_bcd_object_fact *re;

        cr_assert_not_null(own);
        re = mb_bcd_store_object(s, own->recovery);
        /* the seed's listing (bcdedit /enum) names WinRE's id, not its device:
         * give it the ramdisk device of a WinRE on disk 0's recovery partition */
        cr_assert(re && re->device, "the own loader's recoverysequence is in the store");
        free(re->device->kind);
        free(re->device->partition);
        re->device->kind = strdup("ramdisk");
        re->device->partition = strdup(mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_RECOVERY)->unique_guid);
        expect_secondary_store_edit(MB_OP_BCD_SET_DEVICE, MB_ROLE_RECOVERY);
        /* on its own recovery partition it is in place */
        free(re->device->partition);
        re->device->partition = strdup(mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_RECOVERY)->unique_guid);
        {
                mb_plan *p = plan();

                cr_assert_eq(p->n_changes, 0);
                mb_plan_free(p);
        }
}

Test(resources, each_disk_stale_objects_and_firmware_entries_removed)
{
        mb_fw_entry_fact *e = &facts->firmware->entries[0];
        mb_bcd_object_fact *o = mb_bcd_store_object(secondary_store(), "{bootmgr}");
        mb_plan *p;
        bool fw_deleted = false, fw_made = false;

        (void)o;
        /* the system disk's entry now names a partition no disk has */
        free(e->partition);
        e->partition = strdup("0badc0de-0000-4000-8000-000000000001");
        p = plan();
        for (size_t i = 0; i < p->n_changes; i++) {
                const mb_op *op = &p->changes[i].op;

                fw_deleted |= op->kind == MB_OP_FW_DELETE && op->number == e->number;
                fw_made |= op->kind == MB_OP_FW_ENTRY && op->disk == 0 && op->number == 0xffff &&
                           op->position == MB_POS_FIRST;
        }
        cr_assert(fw_deleted, "the entry naming no partition is removed");
        cr_assert(fw_made, "the system disk gets an entry of its own, first");
        mb_plan_free(p);
}

/* ---- the converted boot disk, as Windows converts it ---- */

static const char ldm_data[] = "af9b60a0-1431-4f62-bc68-3311714a69ad";

Test(resources, converged_seed_types_the_os_extents_ldm_data)
{
        for (uint32_t n = 0; n < 2; n++) {
                mb_disk_fact *d = mb_facts_disk(facts, n);
                mb_part_fact *os = mb_disk_part_by_role(d, MB_ROLE_OS);
                mb_part_fact *meta = mb_disk_part_by_role(d, MB_ROLE_LDM_METADATA);
                mb_part_fact *msr = mb_disk_part_by_role(d, MB_ROLE_MSR);

                cr_assert(d->dynamic);
                cr_assert_not_null(os, "disk %u has an os partition", n);
                cr_assert_str_eq(os->type_guid, ldm_data, "disk %u: C:'s entry is %s", n, os->type_guid);
                cr_assert_eq(os->first_lba, 239616);
                cr_assert_eq(os->last_lba, 66031615);
                cr_assert_str_eq(mb_disk_part_by_role(d, MB_ROLE_EFI)->type_guid,
                                 "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
                cr_assert_str_eq(msr->type_guid, "e3c9e316-0b5c-4db8-817d-f92df00215ae");
                cr_assert_str_eq(mb_disk_part_by_role(d, MB_ROLE_RECOVERY)->type_guid,
                                 "de94bba4-06d1-4d40-a16a-bfd50179d6ac");
                /* the metadata partition is the first MiB of the old MSR */
                cr_assert_eq(meta->first_lba, 206848);
                cr_assert_eq(meta->last_lba + 1, msr->first_lba);
                for (uint32_t i = 0; i < d->n_partitions; i++) {
                        cr_assert_str_neq(d->partitions[i].type_guid, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
                                          "disk %u: partition %u is still basic data", n,
                                          d->partitions[i].number);
                        if (i)
                                cr_assert_gt(d->partitions[i].first_lba, d->partitions[i - 1].last_lba,
                                             "disk %u: partitions %u and %u overlap", n,
                                             d->partitions[i - 1].number, d->partitions[i].number);
                }
                /* the free tail is an LDM data entry of its own */
                {
                        mb_part_fact *tail = &d->partitions[d->n_partitions - 1];

                        cr_assert_eq(tail->role, MB_ROLE_LDM_DATA);
                        cr_assert_str_eq(tail->type_guid, ldm_data);
                        cr_assert_eq(tail->first_lba, mb_disk_part_by_role(d, MB_ROLE_RECOVERY)->last_lba + 1);
                        cr_assert_eq(tail->last_lba, d->last_usable_lba);
                }
        }
}

/* A run interrupted right after disk 0's "convert dynamic": disk 0 is the
 * template although its C: entry is LDM data; the next run converts disk 1,
 * mirrors, and converges. */
Test(resources, half_finished_run_from_a_dynamic_template)
{
        mb_facts *f = NULL;
        mb_error err = { 0 };
        mb_plan *p = NULL;
        bool converted = false;

        cr_assert_eq(mb_facts_load("tests/data/seed/facts-before.yaml", &f, &err), 0, "%s", err.msg);
        while (!converted) {
                cr_assert_eq(mb_plan_compute(cfg, f, &p, &err), 0, "%s", err.msg);
                cr_assert_gt(p->n_changes, 0);
                converted = p->changes[0].op.kind == MB_OP_CONVERT_DYNAMIC && p->changes[0].op.disk == 0;
                cr_assert_eq(mb_model_apply(f, &p->changes[0].op, &err), 0, "%s", err.msg);
                mb_plan_free(p);
        }
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_OS)->type_guid, ldm_data);
        cr_assert_not(mb_facts_disk(f, 1)->dynamic);
        cr_assert_eq(mb_plan_compute(cfg, f, &p, &err), 0, "%s", err.msg);
        {
                bool convert1 = false, mirror = false;

                for (size_t i = 0; i < p->n_changes; i++) {
                        const mb_op *op = &p->changes[i].op;

                        cr_assert(!(op->kind == MB_OP_CONVERT_DYNAMIC && op->disk == 0));
                        convert1 |= op->kind == MB_OP_CONVERT_DYNAMIC && op->disk == 1;
                        if (op->kind == MB_OP_MIRROR_ADD) {
                                mirror = true;
                                cr_assert_eq(op->first_lba, 239616);
                                cr_assert_eq(op->last_lba, 66031615);
                                /* the role's own type, not the template's LDM data */
                                cr_assert_str_eq(op->type_guid, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
                        }
                }
                cr_assert(convert1 && mirror);
        }
        mb_plan_free(p);
        converge(f);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_OS)->type_guid, ldm_data);
        mb_facts_free(f);
}

Test(resources, dynamic_template_without_os_extent_says_why)
{
        mb_plan *p = NULL;
        mb_error err = { 0 };

        mb_disk_part_by_role(mb_facts_disk(facts, 0), MB_ROLE_OS)->role = MB_ROLE_LDM_DATA;
        cr_assert_eq(mb_plan_compute(cfg, facts, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "has no os partition (a dynamic disk:"), "%s", err.msg);
}

/* The registry: one row per kind, at its kind's index, each with a name and a
 * diff (the planner calls every row's diff). */
Test(resources, registry_has_a_row_per_kind)
{
        for (int k = 0; k < MB_RES__COUNT; k++) {
                cr_assert_eq(mb_resources[k].kind, (mb_resource_kind)k, "row %d", k);
                cr_assert_not_null(mb_resources[k].name, "row %d", k);
                cr_assert_not_null(mb_resources[k].diff, "row %d", k);
                cr_assert_str_eq(mb_resource_to_string((mb_resource_kind)k), mb_resources[k].name);
                for (int j = 0; j < k; j++)
                        cr_assert_str_neq(mb_resources[j].name, mb_resources[k].name);
        }
        cr_assert_str_eq(mb_resources[MB_RES_BOOT_ENTRY].name, "boot_entry");
        cr_assert_str_eq(mb_resource_to_string(MB_RES__COUNT), "unknown");
}

/* mb_plan_add keeps the change with both sides, cut to what a change holds. */
Test(resources, plan_add_keeps_current_and_desired)
{
        mb_plan p = { 0 };
        mb_op op = { .kind = MB_OP_DISK_ONLINE, .disk = 1 };
        mb_error err = { 0 };
        char longtext[600];

        memset(longtext, 'x', sizeof(longtext) - 1);
        longtext[sizeof(longtext) - 1] = '\0';
        cr_assert_eq(mb_plan_add(&p, MB_RES_DISK, "secondary (disk 1)", false, &op, "offline",
                                 "online, writable", &err), 0);
        cr_assert_eq(mb_plan_add(&p, MB_RES_DISK, "secondary (disk 1)", true, &op, longtext, "", &err), 0);
        cr_assert_eq(p.n_changes, 2);
        cr_assert_str_eq(p.changes[0].current, "offline");
        cr_assert_str_eq(p.changes[0].desired, "online, writable");
        cr_assert_eq(p.changes[0].op.disk, 1);
        cr_assert_eq(strlen(p.changes[1].current), MB_CHANGE_TEXT - 1);
        cr_assert(p.changes[1].destructive);
        free(p.changes);
}

/* ---- firmware: last, directly after the disk entries ---- */

/* Replaces BootOrder with order (n numbers). */
static void set_order(const uint32_t *order, uint32_t n)
{
        mb_firmware_fact *fw = facts->firmware;
        uint32_t *o = realloc(fw->order, n * sizeof(*o));

        cr_assert(o);
        memcpy(o, order, n * sizeof(*o));
        fw->order = o;
        fw->n_order = n;
}

static void expect_order(const uint32_t *order, uint32_t n)
{
        cr_assert_eq(facts->firmware->n_order, n);
        for (uint32_t i = 0; i < n; i++)
                cr_assert_eq(facts->firmware->order[i], order[i], "BootOrder[%u] is %04X, wanted %04X", i,
                             facts->firmware->order[i], order[i]);
}

/* Applies the plan's only change to the facts, then expects no change. */
static void apply_one_then_converged(void)
{
        mb_plan *p = plan();
        mb_error err = { 0 };

        cr_assert_eq(p->n_changes, 1, "%zu changes", p->n_changes);
        cr_assert_eq(mb_model_apply(facts, &p->changes[0].op, &err), 0, "%s", err.msg);
        mb_plan_free(p);
        p = plan();
        cr_assert_eq(p->n_changes, 0, "%zu changes after apply (first: %s)", p->n_changes,
                     p->n_changes ? p->changes[0].current : "-");
        mb_plan_free(p);
}

/* The converged seed has Boot0000 (Windows Boot Manager, disk 0's ESP) and
 * Boot0001 (Windows Boot Manager Cloned, disk 1's ESP). */
Test(resources, shell_between_the_windows_entries_is_drift)
{
        mb_plan *p;

        cr_assert_eq(facts->firmware->entries[1].number, 1);
        append_fw_entry(4, "EFI Internal Shell", NULL);
        set_order((const uint32_t[]){ 0, 4, 1 }, 3);
        p = plan();
        cr_assert_eq(p->n_changes, 1, "%zu changes", p->n_changes);
        cr_assert_eq(p->changes[0].resource, MB_RES_BOOT_ENTRY);
        cr_assert_eq(p->changes[0].op.kind, MB_OP_FW_ENTRY);
        cr_assert_eq(p->changes[0].op.position, MB_POS_LAST);
        cr_assert(strstr(p->changes[0].current, "BootOrder 0000*,0004,0001*"), "%s", p->changes[0].current);
        cr_assert(strstr(p->changes[0].desired, "BootOrder 0000*,0001*,0004"), "%s", p->changes[0].desired);
        mb_plan_free(p);
        apply_one_then_converged();
        expect_order((const uint32_t[]){ 0, 1, 4 }, 3);
}

/* BootOrder as tests/e2e/boot-failover.sh (f) reads it after OVMF's first
 * boot with a DVD drive: 3,4,0,1,2,5,6,7, where Boot0003 and Boot0004 are
 * the two Windows entries and the others name no partition. Only numbers,
 * order and partition-or-none matter here; the descriptions are OVMF's
 * kinds of entry. */
Test(resources, ovmf_order_after_its_first_boot_is_no_drift)
{
        mb_plan *p;

        facts->firmware->entries[0].number = 3;
        facts->firmware->entries[1].number = 4;
        append_fw_entry(0, "UiApp", NULL);
        append_fw_entry(1, "UEFI QEMU DVD-ROM QM00003", NULL);
        append_fw_entry(2, "UEFI Misc Device", NULL);
        append_fw_entry(5, "UEFI Misc Device 2", NULL);
        append_fw_entry(6, "EFI Internal Shell", NULL);
        append_fw_entry(7, "UEFI PXEv4 (MAC:525400123456)", NULL);
        set_order((const uint32_t[]){ 3, 4, 0, 1, 2, 5, 6, 7 }, 8);
        p = plan();
        cr_assert_eq(p->n_changes, 0, "%zu changes (first: %s)", p->n_changes,
                     p->n_changes ? p->changes[0].current : "-");
        mb_plan_free(p);
}

/* PXE ahead of the system disk's entry (an administrator's choice, or a
 * server's factory order): the declared position is relative to the disk
 * entries, so "last" is met by Windows Boot Manager, Cloned; PXE stays
 * first. "first" wants the Cloned entry ahead of PXE too. */
Test(resources, pxe_first_then_both_windows_entries_last)
{
        mb_plan *p;

        append_fw_entry(7, "UEFI PXEv4 (MAC:525400123456)", NULL);
        set_order((const uint32_t[]){ 7, 0, 1 }, 3);
        p = plan();
        cr_assert_eq(p->n_changes, 0, "%zu changes (first: %s)", p->n_changes,
                     p->n_changes ? p->changes[0].current : "-");
        mb_plan_free(p);
}

Test(resources, pxe_first_then_both_windows_entries_first)
{
        static mb_position first = MB_POS_FIRST;
        mb_site_boot_entry *e = NULL;
        mb_position *was;
        mb_plan *p;

        for (uint32_t i = 0; i < cfg->site->n_boot_entries; i++)
                if (strcmp(cfg->site->boot_entries[i].description, "Windows Boot Manager Cloned") == 0)
                        e = &cfg->site->boot_entries[i];
        cr_assert(e);
        was = e->firmware;
        e->firmware = &first;
        append_fw_entry(7, "UEFI PXEv4 (MAC:525400123456)", NULL);
        set_order((const uint32_t[]){ 7, 0, 1 }, 3);
        p = plan();
        cr_assert_eq(p->n_changes, 1, "%zu changes", p->n_changes);
        cr_assert_eq(p->changes[0].op.kind, MB_OP_FW_ENTRY);
        cr_assert_eq(p->changes[0].op.position, MB_POS_FIRST);
        cr_assert(strstr(p->changes[0].current, "BootOrder 0007,0000*,0001*"), "%s", p->changes[0].current);
        cr_assert(strstr(p->changes[0].desired, "BootOrder 0001*,0007,0000*"), "%s", p->changes[0].desired);
        mb_plan_free(p);
        apply_one_then_converged();
        expect_order((const uint32_t[]){ 1, 7, 0 }, 3);
        e->firmware = was;
}

/* No other disk entry: "last" is first, ahead of the firmware's entries. */
Test(resources, only_disk_entry_goes_ahead_of_the_firmware_entries)
{
        mb_plan *p;

        free(facts->firmware->entries[0].partition);
        facts->firmware->entries[0].partition = NULL;   /* Boot0000 now names no partition */
        append_fw_entry(7, "UEFI PXEv4 (MAC:525400123456)", NULL);
        set_order((const uint32_t[]){ 0, 7, 1 }, 3);
        p = plan();
        cr_assert_geq(p->n_changes, 1);
        cr_assert(strstr(p->changes[0].desired, "BootOrder 0001*,0000,0007"), "%s", p->changes[0].desired);
        mb_plan_free(p);
}

/* A loader that boots a disk that is gone is removed, but not while the boot
 * manager starts it: first the default moves to the disk's own loader. */
Test(resources, each_disk_stale_default_moved_before_it_is_removed)
{
        mb_bcd_object_fact *bm = mb_facts_bcd_object(facts, "{bootmgr}");
        mb_bcd_object_fact *o = mb_bcd_store_loader_on(facts->bcd,
                                                       mb_disk_part_by_role(mb_facts_disk(facts, 1), MB_ROLE_OS));
        mb_plan *p;
        bool set_default = false, deleted = false;

        cr_assert_not_null(o);
        free(o->device->partition), free(o->device->disk);
        free(o->osdevice->partition), free(o->osdevice->disk);
        o->device->partition = strdup("0badc0de-0000-4000-8000-000000000002");
        o->osdevice->partition = strdup("0badc0de-0000-4000-8000-000000000002");
        o->device->disk = strdup("0badc0de-0000-4000-8000-000000000003");
        o->osdevice->disk = strdup("0badc0de-0000-4000-8000-000000000003");
        free(o->description);
        o->description = strdup("an old loader");       /* not one a create would reuse */
        free(bm->default_id);
        bm->default_id = strdup(o->id);         /* the gone disk's loader is the default */
        p = plan();
        for (size_t i = 0; i < p->n_changes; i++) {
                const mb_op *op = &p->changes[i].op;

                set_default |= op->kind == MB_OP_BCD_SET_DEFAULT && !op->esp_store && op->disk == 0;
                deleted |= op->kind == MB_OP_BCD_DELETE && !op->esp_store && strcmp(op->object, o->id) == 0;
        }
        cr_assert(set_default, "the default moves to disk 0's own loader");
        cr_assert_not(deleted, "the loader the boot manager starts now is not removed in the same plan");
        mb_plan_free(p);
        free(bm->default_id);
        bm->default_id = strdup(bm->displayorder[0]);   /* moved: now it goes */
        p = plan();
        deleted = false;
        for (size_t i = 0; i < p->n_changes; i++)
                deleted |= p->changes[i].op.kind == MB_OP_BCD_DELETE && !p->changes[i].op.esp_store &&
                           strcmp(p->changes[i].op.object, o->id) == 0;
        cr_assert(deleted, "once it is not started, the loader of the gone disk is removed");
        mb_plan_free(p);
}
