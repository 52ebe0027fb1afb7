/* SPDX-License-Identifier: MIT */
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"

#ifndef MB_HAVE_IMAGE
int mb_platform_open_image(const char *list, mb_platform **ret, mb_error *err)
{
        (void)list, (void)ret;
        return mb_error_set(err, MB_ENOTSUP, "the image target is not built into this mbstate");
}
#endif

#ifndef MB_HAVE_WINDOWS
int mb_platform_open_windows(mb_platform **ret, mb_error *err)
{
        (void)ret;
        return mb_error_set(err, MB_ENOTSUP,
                            "the windows target is only available in the Windows build of mbstate");
}
#endif

#ifndef MB_HAVE_WINDOWS_RENDER
int mb_platform_open_replay(const char *path, mb_platform **ret, mb_error *err)
{
        (void)path, (void)ret;
        return mb_error_set(err, MB_ENOTSUP, "the replay target is not built into this mbstate");
}
#endif

int mb_platform_open(const char *spec, mb_platform **ret, mb_error *err)
{
        mb_platform *p = NULL;
        int r;

        if (strncmp(spec, "snapshot:", 9) == 0 && spec[9])
                r = mb_platform_open_snapshot(spec + 9, &p, err);
        else if (strncmp(spec, "image:", 6) == 0 && spec[6])
                r = mb_platform_open_image(spec + 6, &p, err);
        else if (strcmp(spec, "windows") == 0)
                r = mb_platform_open_windows(&p, err);
        else if (strncmp(spec, "replay:", 7) == 0 && spec[7])
                r = mb_platform_open_replay(spec + 7, &p, err);
        else
                return mb_error_set(err, MB_EINVAL,
                                    "unknown target '%s'; expected snapshot:FACTS.yaml, image:A.img[,B.img...], windows or replay:RECORDING",
                                    spec);
        if (r)
                return r;
        if (!p->spec)
                p->spec = strdup(spec);
        *ret = p;
        return 0;
}

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
        if (!r && !(*ret)->target)
                (*ret)->target = strdup(p->spec ? p->spec : p->ops->name);
        return r;
}

int mb_platform_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        if (!p->ops->allow_write)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot write", p->ops->name);
        return p->ops->allow_write(p, disk, err);
}

int mb_platform_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        const mb_op_info *info = mb_op_info_of(op->kind);
        mb_op_handler h = NULL;

        if (!info)
                return mb_error_set(err, MB_EINVAL, "target %s: unknown operation %d", p->ops->name,
                                    (int)op->kind);
        if (p->ops->handlers)
                h = p->ops->handlers[op->kind];
        if (!h && !p->ops->execute)
                return mb_error_set(err, MB_ENOTSUP, "target %s cannot perform %s", p->ops->name,
                                    info->name);
        if (mb_fault_pointf(err, "operation %s on disk %u", info->name, op->disk) < 0)
                return MB_EIO;
        return h ? h(p, op, progress, err) : p->ops->execute(p, op, progress, err);
}

int mb_platform_finish(mb_platform *p, mb_error *err)
{
        return p->ops->finish ? p->ops->finish(p, err) : 0;
}
