/* SPDX-License-Identifier: MIT */
/*
 * snapshot:FACTS.yaml — a facts file captured by `mbstate facts`. Reading
 * returns it; every operation is applied to the model with Windows' rules
 * (model.c); finish() writes the file back atomically. A simulator for
 * what-if and for tests.
 */
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

struct snapshot {
        char *path;
        mb_facts *facts;
        bool dirty;
        bool writable[64];
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

static int snap_allow(mb_platform *p, uint32_t disk, mb_error *err)
{
        struct snapshot *s = p->priv;

        if (disk >= 64)
                return mb_error_set(err, MB_EINVAL, "disk number %u out of range", disk);
        s->writable[disk] = true;
        return 0;
}

static int snap_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        struct snapshot *s = p->priv;
        int r;

        if (op->disk >= 64 || !s->writable[op->disk])
                return mb_error_set(err, MB_EUNSAFE,
                                    "refusing to write disk %u: site.yaml does not select it", op->disk);
        r = mb_model_apply(s->facts, op, err);
        if (r)
                return r;
        if (progress && progress->update)
                progress->update(progress, mb_op_kind_to_string(op->kind), 1, 1);
        s->dirty = true;
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
        .execute = snap_execute,
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
