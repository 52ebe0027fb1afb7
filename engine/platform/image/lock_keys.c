/* SPDX-License-Identifier: MIT */
/*
 * The image target's lock keys: one identity per file an image spelling
 * names (disk images and the nvram= store), so that two runs naming the
 * same file in any spelling, order or company contend for its lock.
 */
#include "platform/lock_keys.h"
#include "target_list.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mb_image_lock_keys(const char *list, size_t max, char ***ret_ids, size_t *ret_n, mb_error *err)
{
        char *copy = strdup(list), *tok, *save = copy, **ids = NULL;
        size_t k = 0;
        int rc = 0;

        if (!copy)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        while ((tok = mb_target_list_next(&save))) {
                const char *path = strncmp(tok, "nvram=", 6) == 0 ? tok + 6 : tok;
                struct stat st;
                char id[64], resolved[PATH_MAX], **n;

                /* options of the list name no file */
                if (strncmp(tok, "booted=", 7) == 0 || strcmp(tok, "block-devices=allow") == 0)
                        continue;
                if (path == tok)        /* a disk's ":4096" names no other file */
                        (void)mb_target_item_sector(tok);
                if (k == max) {
                        rc = mb_error_set(err, MB_EINVAL,
                                          "the target names more than %zu image files; mbstate locks at most %zu",
                                          max, max);
                        break;
                }
                const char *which = id;

                if (stat(path, &st) == 0)
                        snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev,
                                 (unsigned long long)st.st_ino);
                else    /* not there (yet): the run will fail on it; lock its name */
                        which = realpath(path, resolved) ? resolved : path;
                if (!(n = realloc(ids, (k + 1) * sizeof(*ids)))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                ids = n;
                if (!(ids[k] = strdup(which))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                k++;
        }
        free(copy);
        if (rc) {
                while (k)
                        free(ids[--k]);
                free(ids);
                return rc;
        }
        *ret_ids = ids;
        *ret_n = k;
        return 0;
}
