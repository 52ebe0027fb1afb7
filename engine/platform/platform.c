/* SPDX-License-Identifier: MIT */

/*
 * Opening a target by its spelling, and the stand-ins for targets not built
 * into this mbstate. The generic wrappers, the gate among them, are in
 * gate.c.
 */
#include "platform/platform.h"
#include "platform/windows/windows_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The image list with the option item that lets block devices be disks. */
static int open_image(const char *list, const mb_target_options *o, mb_platform **ret,
                      mb_error *err)
{
        char *with;
        int r;

        if (!o || !o->allow_block_devices)
                return mb_platform_open_image(list, ret, err);
        if (asprintf(&with, "%s,block-devices=allow", list) < 0)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        r = mb_platform_open_image(with, ret, err);
        free(with);
        return r;
}

int mb_platform_open(const char *spec, mb_platform **ret, mb_error *err)
{
        return mb_platform_open_with(spec, NULL, ret, err);
}

int mb_platform_open_with(const char *spec, const mb_target_options *o, mb_platform **ret,
                          mb_error *err)
{
        mb_platform *p = NULL;
        int r;

        if (o && o->record && strcmp(spec, "windows") != 0)
                return mb_error_set(err, MB_EINVAL, "--record records the windows target, not '%s'",
                                    spec);
        if (o && o->allow_block_devices && strncmp(spec, "image:", 6) != 0)
                return mb_error_set(err, MB_EINVAL,
                                    "--allow-block-devices is an option of the image target, not of '%s'",
                                    spec);
        if (o && o->record) {
                r = mb_windows_open_recording(o->record, &p, err);
                goto opened;
        }

        if (strncmp(spec, "snapshot:", 9) == 0 && spec[9])
                r = mb_platform_open_snapshot(spec + 9, &p, err);
        else if (strncmp(spec, "image:", 6) == 0 && spec[6])
                r = open_image(spec + 6, o, &p, err);
        else if (strcmp(spec, "windows") == 0)
                r = mb_platform_open_windows(&p, err);
        else if (strncmp(spec, "replay:", 7) == 0 && spec[7])
                r = mb_platform_open_replay(spec + 7, &p, err);
        else
                return mb_error_set(err, MB_EINVAL,
                                    "unknown target '%s'; expected snapshot:FACTS.yaml, image:A.img[,B.img...], windows or replay:RECORDING",
                                    spec);
opened:
        if (r)
                return r;
        if (!p->spec)
                p->spec = strdup(spec);
        *ret = p;
        return 0;
}
