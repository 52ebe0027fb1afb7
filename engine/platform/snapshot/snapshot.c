/* SPDX-License-Identifier: MIT */
/*
 * snapshot:FACTS.yaml — a facts file captured by `mbstate facts`. Reading
 * returns it; every operation is applied to the model with Windows' rules
 * (model.c); finish() writes the file back atomically. A simulator for
 * what-if and for tests. Which disks may be written and whether a disk is
 * still the planned one is the gate's (platform.c); identify answers from
 * the model as the operations so far left it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

struct snapshot {
        char *path;
        mb_facts *facts;
        bool dirty;
};

static int snap_read(mb_platform *p, mb_facts **ret, mb_error *err)
{
        struct snapshot *s = p->priv;
        mb_facts *copy = mb_facts_dup(s->facts);

        (void)err;
        if (!copy)
                return mb_error_set(err, MB_ENOMEM, "out of memory copying facts");
        *ret = copy;
        return 0;
}

/* Nothing to claim: a file the run writes back at the end. */
static int snap_allow(mb_platform *p, uint32_t disk, mb_error *err)
{
        (void)p, (void)disk, (void)err;
        return 0;
}

/* Every op the model knows: its effect on the facts, with Windows' rules. */
static int snap_apply(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        struct snapshot *s = p->priv;
        int r = mb_model_apply(s->facts, op, err);

        if (r)
                return r;
        if (progress && progress->update)
                progress->update(progress, mb_op_kind_to_string(op->kind), 1, 1);
        s->dirty = true;
        return 0;
}

static const mb_op_handler snap_handlers[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = snap_apply,
        [MB_OP_DISK_INIT_GPT] = snap_apply,
        [MB_OP_PART_CREATE] = snap_apply,
        [MB_OP_PART_SET_TYPE] = snap_apply,
        [MB_OP_PART_SET_ATTRS] = snap_apply,
        [MB_OP_PART_SET_NAME] = snap_apply,
        [MB_OP_FORMAT] = snap_apply,
        [MB_OP_CONVERT_DYNAMIC] = snap_apply,
        [MB_OP_MIRROR_ADD] = snap_apply,
        [MB_OP_MIRROR_REMOVE_MISSING] = snap_apply,
        [MB_OP_MIRROR_RESYNC] = snap_apply,
        [MB_OP_CLONE_BLOCKS] = snap_apply,
        [MB_OP_SYNC_FILES] = snap_apply,
        [MB_OP_BCD_COPY_BOOTMGR] = snap_apply,
        [MB_OP_BCD_CREATE_LOADER] = snap_apply,
        [MB_OP_BCD_SET_DEVICE] = snap_apply,
        [MB_OP_BCD_DELETE] = snap_apply,
        [MB_OP_BCD_DISPLAYORDER] = snap_apply,
        [MB_OP_BCD_SET_DEFAULT] = snap_apply,
        [MB_OP_FW_ENTRY] = snap_apply,
        [MB_OP_FW_DELETE] = snap_apply,
        [MB_OP_LDM_REPAIR] = snap_apply,
        [MB_OP_GPT_REPAIR] = snap_apply,
};

/* The disk as the model holds it now (after the operations applied so far). */
static int snap_identify(mb_platform *p, uint32_t disk, mb_disk_identity *ret, mb_error *err)
{
        struct snapshot *s = p->priv;
        const mb_disk_fact *d = mb_facts_disk(s->facts, disk);

        if (!d)
                return mb_error_set(err, MB_ENOENT, "%s: there is no disk %u", s->path, disk);
        snprintf(ret->serial, sizeof(ret->serial), "%s", d->serial ? d->serial : "");
        ret->size = d->size;
        snprintf(ret->where, sizeof(ret->where), "%s", s->path);
        return 0;
}

static int snap_finish(mb_platform *p, mb_error *err)
{
        struct snapshot *s = p->priv;

        if (!s->dirty)
                return 0;
        s->dirty = false;
        return mb_facts_save(s->facts, s->path, false, err);
}

static void snap_close(mb_platform *p)
{
        struct snapshot *s = p->priv;

        mb_facts_free(s->facts);
        free(s->path);
        free(s);
        free(p->spec);
        free(p);
}

static const mb_platform_ops snapshot_ops = {
        .name = "snapshot",
        .read_facts = snap_read,
        .allow_write = snap_allow,
        .handlers = snap_handlers,
        .identify = snap_identify,
        .finish = snap_finish,
        .close = snap_close,
};

int mb_platform_open_snapshot(const char *path, mb_platform **ret, mb_error *err)
{
        struct snapshot *s = calloc(1, sizeof(*s));
        mb_platform *p = calloc(1, sizeof(*p));
        int r;

        if (!s || !p || !(s->path = strdup(path))) {
                free(s);
                free(p);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        r = mb_facts_load(path, &s->facts, err);
        if (r) {
                free(s->path);
                free(s);
                free(p);
                return r;
        }
        p->ops = &snapshot_ops;
        p->priv = s;
        *ret = p;
        return 0;
}
