/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_BCD_H
#define MB_POSIX_BCD_H

/*
 * The BCD stores (registry hives) on the disks' ESPs, read and edited
 * through a copy taken out of the FAT and put back whole. The system store
 * is the one on the system disk's ESP (img_system_disk). Writes need the
 * disk holding the store edited allowed.
 */

#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "op.h"
#include "platform/posix/disk.h"
#include "platform/posix/gpt.h"

/* Facts of the BCD stores of every FAT32 ESP of f: the system disk's
 * in f->bcd, each other one in its ESP's part->bcd ("disk N partition P
 * /EFI/Microsoft/Boot/BCD"); left NULL when the ESP holds no store. A
 * store that cannot be read is an error naming its disk's file. */
int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* Sets path_check of every os-loader of f->bcd and of every ESP's
 * part->bcd whose device is a partition
 * of one of the disks holding NTFS: its path looked up on that volume (for
 * the os mirror, on the plex of the disk the device names). */
int img_bcd_path_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* The BCD facts of the system ESP alone (a facts value with only bcd
 * filled; the caller frees it), or NULL when there is no store or it cannot
 * be read. */
mb_facts *img_bcd_read(mb_posix_machine *ip);
/* The partition of role on disk now (*t filled, owned by the caller); the
 * caller's rule (dynamic.c's img_role_part knows the os partition of a
 * dynamic disk), so that the store needs nothing of LDM. */
typedef int (*mb_posix_role_part_fn)(mb_posix_machine *ip, uint32_t disk, mb_role role,
                                     mb_posix_table *t, mb_posix_gpt_part **ret, mb_error *err);
/* Performs a BCD_* operation on the system disk's store, or with
 * op->esp_store on the store of store_disk's ESP (MB_ENOENT naming the disk
 * when it has no ESP or no store); a device (disk, role) is the partition
 * role_part finds. An empty op->object (BCD_SET_DEVICE, BCD_DISPLAYORDER,
 * BCD_SET_DEFAULT) is the os-loader whose device and osdevice are (disk,
 * role) in the store edited. BCD_SET_DEVICE of role recovery on a ramdisk
 * device (WinRE) moves the ramdisk's image partition, and its options
 * object's ramdisksdidevice, to that partition. */
int img_bcd_execute(mb_posix_machine *ip, const mb_op *op, mb_posix_role_part_fn role_part,
                    mb_error *err);

#endif
