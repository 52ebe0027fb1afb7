/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_DYNAMIC_H
#define MB_POSIX_DYNAMIC_H

/*
 * Dynamic disks (LDM) over the machine's file descriptors: facts from the
 * database of every disk group found, and the conversions and mirror
 * operations, each of which reads the database again from all disks and
 * writes every member's copy. The LDM code writes LDM only: side effects
 * Windows has on other stores (the BCD entry of a mirror add) belong to the
 * caller (execute.c).
 */

#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "op.h"
#include "platform/platform.h"
#include "platform/posix/disk.h"
#include "platform/posix/gpt.h"

/* Dynamic disks (LDM) of the machine: fills each disk's dynamic,
 * dynamic_group and dynamic_name, f->volumes and the os role of the
 * dynamic disks' entries from the database of every disk group found on the
 * disks (MBR and GPT dynamic disks), through mb_ldm_facts; the boot volume
 * is where f->bcd's default loader boots from (read it first). A damaged
 * database is an error naming the file; nothing is written. */
int img_dynamic_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* The partition of role on disk d now (*t is filled and owned by the
 * caller): by GPT type, except the os partition of a dynamic disk, which is
 * the entry that is exactly an extent of the os volume (mb_ldm_os_volume,
 * told by where the default BCD loader boots from). MB_ENOENT names the
 * disk and role when there is none. */
int img_role_part(mb_posix_machine *ip, uint32_t disk, mb_role role, mb_posix_table *t,
                  mb_posix_gpt_part **ret, mb_error *err);
/* Brings a member's copy of the LDM database that a killed run left a
 * transaction behind up to date (when every member may be written); run
 * before the first operation of an apply (mb_posix_prologue). */
int img_dynamic_catch_up(mb_posix_machine *ip, mb_error *err);
/* MB_OP_CONVERT_DYNAMIC, MB_OP_MIRROR_ADD, MB_OP_MIRROR_REMOVE_MISSING,
 * MB_OP_MIRROR_RESYNC, MB_OP_LDM_REPAIR on the disks' LDM databases. */
int img_dynamic_execute(mb_posix_machine *ip, const mb_op *op, mb_progress *progress,
                        mb_error *err);

#endif
