/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_BCD_H
#define MB_POSIX_BCD_H

/*
 * The BCD store (a registry hive) on the system disk's ESP, read and edited
 * through a copy taken out of the FAT and put back whole. Writes need the
 * system disk (disk 0) allowed.
 */

#include "error.h"
#include "facts.h"
#include "op.h"
#include "platform/posix/disk.h"

/* Facts of the BCD store on the ESP of the system disk (f->bcd left NULL
 * when the store does not exist). */
int img_bcd_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* The BCD facts of the system ESP alone (a facts value with only bcd
 * filled; the caller frees it), or NULL when there is no store or it cannot
 * be read. */
mb_facts *img_bcd_read(mb_posix_machine *ip);
/* Performs a BCD_* operation on the system disk's store. */
int img_bcd_execute(mb_posix_machine *ip, const mb_op *op, mb_error *err);

#endif
