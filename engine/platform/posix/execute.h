/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_EXECUTE_H
#define MB_POSIX_EXECUTE_H

/*
 * The wing's handler table. Contract: a target that embeds a
 * mb_posix_machine sets p->priv to it and .handlers to mb_posix_handlers;
 * every handler runs mb_posix_prologue first, then performs its op on the
 * disks as they are now (partitions are found by role at the time of the
 * op, never from cached facts). A disk is written only when the target
 * allowed it (img_open_rw).
 */

#include "error.h"
#include "op.h"
#include "platform/platform.h"
#include "platform/posix/disk.h"

/* One handler per op kind; every slot is filled. */
extern const mb_op_handler mb_posix_handlers[MB_OP__COUNT];

/* What every operation needs first: the disks' hash caches stop trusting
 * the file's stat (a write in the same clock tick keeps the mtime), and
 * before the first operation of a run the LDM catch-up (img_dynamic_catch_up)
 * finishes a transaction a killed run left behind. */
int mb_posix_prologue(mb_posix_machine *ip, mb_error *err);

#endif
