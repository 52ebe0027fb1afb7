/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_BCD_H
#define MB_POSIX_BCD_H

/*
 * The BCD store (a registry hive) on the system disk's ESP, read and edited
 * through a copy taken out of the FAT and put back whole. Writes need the
 * system disk (disk 0) allowed.
 */

#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "op.h"
#include "platform/posix/disk.h"
#include "platform/posix/gpt.h"

/* Facts of the BCD store on the ESP of the system disk (f->bcd left NULL
 * when the store does not exist). */
int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* Sets path_check of every os-loader of f->bcd whose device is a partition
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
/* Performs a BCD_* operation on the system disk's store; a device (disk,
 * role) is the partition role_part finds. */
int img_bcd_execute(mb_posix_machine *ip, const mb_op *op, mb_posix_role_part_fn role_part,
                    mb_error *err);

#endif
