/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_FIRMWARE_H
#define MB_POSIX_FIRMWARE_H

/*
 * The machine's UEFI variable store as a file (an OVMF OVMF_VARS.fd): its
 * Boot#### entries and BootOrder as facts, FW_ENTRY and FW_DELETE written as
 * the firmware would. The store is written only when the op's disk was
 * allowed: it is treated as part of that disk.
 */

#include "error.h"
#include "facts.h"
#include "op.h"
#include "platform/posix/disk.h"

/* Checks that path holds a UEFI variable store and records it as ip's. */
int img_fw_open(mb_posix_machine *ip, const char *path, mb_error *err);
/* f->firmware from the store (left NULL without one). */
int img_fw_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err);
/* MB_OP_FW_ENTRY, MB_OP_FW_DELETE; needs the op's disk allowed. FW_ENTRY
 * with the number of an existing Boot#### (any but 0xffff) rewrites that
 * entry to the op's description and device (its number kept); otherwise
 * it rewrites the entry of the op's description, or adds one. */
int img_fw_execute(mb_posix_machine *ip, const mb_op *op, mb_error *err);

#endif
