/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_READ_FACTS_H
#define MB_POSIX_READ_FACTS_H

/*
 * The whole actual state of a machine of the wing, read from its disks and
 * its variable store. Contract: nothing is written to a disk; the only state
 * kept is each disk's hash cache (disk.h) and the verification records in
 * verify->state_dir.
 */

#include "error.h"
#include "facts.h"
#include "platform/platform.h"
#include "platform/posix/disk.h"

/* *ret: the facts of every disk of ip (in order), the BCD store of the
 * system disk's ESP, the dynamic disks and the firmware; f->target is a
 * copy of target. verify's inputs choose how deep recovery files are
 * verified; its outputs say how deep they were. */
int mb_posix_read_facts(mb_posix_machine *ip, const char *target, mb_verify *verify,
                        mb_facts **ret, mb_error *err);

#endif
