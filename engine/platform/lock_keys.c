/* SPDX-License-Identifier: MIT */
/*
 * Lock keys by target spelling: which target's lock_keys operation answers
 * for a spelling, asked before the target is opened, since opening already
 * reads the machine (the snapshot its file, the image target its GPTs) and
 * a run must hold its lock before it reads. One row per target that has
 * the operation; a spelling no row claims has no keys of its own.
 */
#include "platform/lock_keys.h"

#include <stdlib.h>
#include <string.h>

static const struct {
        const char *prefix;     /* the spelling's "name:" */
        const mb_platform_ops *(*ops)(void);
} targets[] = {
#ifdef MB_HAVE_IMAGE
        { "image:", mb_platform_image_ops },
#endif
        { NULL, NULL },         /* keeps the array non-empty where no target has keys */
};

int mb_platform_lock_keys(const char *spec, size_t max, char ***ret_ids, size_t *ret_n, mb_error *err)
{
        *ret_ids = NULL;
        *ret_n = 0;
        for (size_t i = 0; spec && targets[i].prefix; i++) {
                size_t n = strlen(targets[i].prefix);
                const mb_platform_ops *ops = targets[i].ops();

                if (strncmp(spec, targets[i].prefix, n) != 0 || !spec[n] || !ops->lock_keys)
                        continue;
                return ops->lock_keys(spec + n, max, ret_ids, ret_n, err);
        }
        return 0;
}

void mb_lock_keys_free(char **ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}
