/* SPDX-License-Identifier: MIT */
/*
 * The resource kinds, one row each: the kind, the name reports print, the
 * check of its own sections of site.yaml (none for disk, partition and
 * dynamic: the disks and partitions are the model every kind shares,
 * checked by engine/config.c first) and the diff that adds the kind's
 * changes to a plan. The order of the rows IS the dependency order:
 * mb_plan_compute diffs the kinds in this order, and apply executes the
 * first change of a fresh plan, so a kind's changes come after those of
 * every kind it needs (a partition needs its disk's GPT, a mirror its
 * disks dynamic, a boot entry its partition, a clone the BCD changes the
 * boot entries make, a disk's own boot the store the efi clone copies to
 * its ESP); config loading checks them in this order too. A new
 * kind is one file in resources/, one row here (and its value of
 * mb_resource_kind at the same place), and its schema.
 */
#include "resource.h"

const mb_resource_row mb_resources[MB_RES__COUNT] = {
        [MB_RES_DISK] = { .kind = MB_RES_DISK, .name = "disk", .diff = mb_res_disk_diff },
        [MB_RES_PARTITION] = { .kind = MB_RES_PARTITION, .name = "partition", .diff = mb_res_partition_diff },
        [MB_RES_DYNAMIC] = { .kind = MB_RES_DYNAMIC, .name = "dynamic", .diff = mb_res_dynamic_diff },
        [MB_RES_MIRROR] = { .kind = MB_RES_MIRROR, .name = "mirror",
                            .check = mb_res_mirror_check, .diff = mb_res_mirror_diff },
        [MB_RES_BOOT_ENTRY] = { .kind = MB_RES_BOOT_ENTRY, .name = "boot_entry",
                                .check = mb_res_boot_entry_check, .diff = mb_res_boot_entry_diff },
        [MB_RES_CLONE] = { .kind = MB_RES_CLONE, .name = "clone",
                           .check = mb_res_clone_check, .diff = mb_res_clone_diff },
        [MB_RES_DISK_BOOT] = { .kind = MB_RES_DISK_BOOT, .name = "disk_boot", .diff = mb_res_disk_boot_diff },
};
