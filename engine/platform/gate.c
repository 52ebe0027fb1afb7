/* SPDX-License-Identifier: MIT */

/*
 * The gate: the generic wrappers every caller reaches a target through.
 * mb_platform_execute is the only door for a change; it alone decides, from
 * the op table (engine/op.c), whether the write is allowed and whether the
 * disk of a destructive op is still the one the plan recorded, and only then
 * calls the target's handler. It lives apart from the target dispatcher
 * (platform.c) so that test drivers linking one target use the same door.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

void mb_platform_close(mb_platform *p)
{
        if (!p)
                return;
        p->ops->close(p);
}

int mb_platform_read_facts(mb_platform *p, mb_facts **ret, mb_error *err)
{
        int r;

        if (!p->ops->read_facts)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot read facts", p->ops->name);
        r = p->ops->read_facts(p, ret, err);
        if (r)
                return r;
        if (!(*ret)->target)
                (*ret)->target = strdup(p->spec ? p->spec : p->ops->name);
        p->system_known = false;
        for (uint32_t i = 0; i < (*ret)->n_disks; i++)
                if ((*ret)->disks[i].system) {
                        p->system_known = true;
                        p->system_disk = (*ret)->disks[i].number;
                }
        return 0;
}

int mb_platform_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        int r;

        if (!p->ops->allow_write)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot write", p->ops->name);
        if (disk >= MB_PLATFORM_MAX_DISKS)
                return mb_error_set(err, MB_EINVAL, "target %s: disk %u: numbers up to %u are supported",
                                    p->ops->name, disk, MB_PLATFORM_MAX_DISKS - 1);
        r = p->ops->allow_write(p, disk, err);
        if (r == 0)
                p->allowed |= UINT64_C(1) << disk;
        return r;
}

static bool gate_allowed(const mb_platform *p, uint32_t disk)
{
        return disk < MB_PLATFORM_MAX_DISKS && (p->allowed >> disk & 1);
}

/* The one message for a write the configuration did not allow. */
static int refuse_unselected(const mb_platform *p, const mb_op_info *info, uint32_t disk,
                             const char *which, mb_error *err)
{
        return mb_error_set(err, MB_EUNSAFE,
                            "target %s: refusing %s: %s %u is not selected for writing by the configuration; nothing was written",
                            p->ops->name, info->name, which, disk);
}

/* "May this be written?" by the op table's rule (see mb_platform_execute). */
static int gate_write_rule(const mb_platform *p, const mb_op *op, const mb_op_info *info,
                           mb_error *err)
{
        switch (info->writes) {
        case MB_WRITES_OP_DISK:
                return gate_allowed(p, op->disk) ? 0 : refuse_unselected(p, info, op->disk, "disk", err);
        case MB_WRITES_BCD_STORE:
                if (op->esp_store)
                        return gate_allowed(p, op->store_disk)
                                       ? 0
                                       : refuse_unselected(p, info, op->store_disk,
                                                           "disk (whose ESP holds the BCD store)", err);
                if (!p->system_known)
                        return mb_error_set(err, MB_EUNSAFE,
                                            "target %s: refusing %s: the system disk (whose ESP holds the BCD store) is not known; read the facts first; nothing was written",
                                            p->ops->name, info->name);
                return gate_allowed(p, p->system_disk)
                               ? 0
                               : refuse_unselected(p, info, p->system_disk, "system disk", err);
        case MB_WRITES_FIRMWARE:
                return p->allowed ? 0
                                  : mb_error_set(err, MB_EUNSAFE,
                                                 "target %s: refusing %s: no disk is selected for writing by the configuration; nothing was written",
                                                 p->ops->name, info->name);
        }
        return mb_error_set(err, MB_EINVAL, "target %s: %s: unknown write class %d", p->ops->name,
                            info->name, (int)info->writes);
}

/* The identity re-check before a destructive step (DESIGN: the disk is still
 * the one planned, serial and size). */
static int gate_identity(mb_platform *p, const mb_op *op, const mb_op_info *info, mb_error *err)
{
        mb_disk_identity now = { 0 };
        int r;

        if (!op->expect_size)
                return mb_error_set(err, MB_EUNSAFE,
                                    "target %s, disk %u: refusing %s: the plan recorded no identity (serial and size) of the disk; nothing was written",
                                    p->ops->name, op->disk, info->name);
        if (!p->ops->identify)
                return mb_error_set(err, MB_EUNSAFE,
                                    "target %s, disk %u: refusing %s: the target cannot tell the disk's identity now; nothing was written",
                                    p->ops->name, op->disk, info->name);
        r = p->ops->identify(p, op->disk, &now, err);
        if (r < 0) {
                mb_error_prefix(err,
                                "target %s, disk %u: refusing %s: the plan expected serial %s, %llu bytes; the disk now cannot be confirmed",
                                p->ops->name, op->disk, info->name, op->expect_serial,
                                (unsigned long long)op->expect_size);
                err->code = MB_EUNSAFE;
                return MB_EUNSAFE;
        }
        if (strcmp(now.serial, op->expect_serial) != 0 || now.size != op->expect_size)
                return mb_error_set(err, MB_EUNSAFE,
                                    "target %s, disk %u%s%s%s: refusing %s: not the disk the plan was made for: serial is now \"%s\", the plan expected %s; size is now %llu bytes, the plan expected %llu; nothing was written",
                                    p->ops->name, op->disk, now.where[0] ? " (" : "", now.where,
                                    now.where[0] ? ")" : "", info->name, now.serial,
                                    op->expect_serial[0] ? op->expect_serial : "(none)",
                                    (unsigned long long)now.size,
                                    (unsigned long long)op->expect_size);
        return 0;
}

int mb_platform_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        const mb_op_info *info = mb_op_info_of(op->kind);
        mb_op_handler h;
        int r;

        if (!info)
                return mb_error_set(err, MB_EINVAL, "target %s: unknown operation %d", p->ops->name,
                                    (int)op->kind);
        if (!p->ops->handlers)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot change anything", p->ops->name);
        h = p->ops->handlers[op->kind];
        if (!h)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot perform %s", p->ops->name,
                                    info->name);
        r = gate_write_rule(p, op, info, err);
        if (r == 0 && info->destructive)
                r = gate_identity(p, op, info, err);
        if (r < 0)
                return r;
        if (mb_fault_pointf(err, "operation %s on disk %u", info->name, op->disk) < 0)
                return MB_EIO;
        return h(p, op, progress, err);
}

int mb_platform_finish(mb_platform *p, mb_error *err)
{
        return p->ops->finish ? p->ops->finish(p, err) : 0;
}
