/* SPDX-License-Identifier: MIT */
#ifndef MB_LOCK_KEYS_H
#define MB_LOCK_KEYS_H

#include <stddef.h>

#include "error.h"
#include "platform/platform.h"

/*
 * What a run must lock, before the target is opened (engine/runctl.c takes
 * one lock per identity). For a target whose ops have lock_keys, the
 * identities it returns for the spelling; for any other, none (*ret_n 0:
 * the caller locks the spelling itself). *ret_ids is malloc'd, each string
 * too (mb_lock_keys_free). Fails as the target's lock_keys fails
 * (MB_EINVAL: more than max things named).
 */
int mb_platform_lock_keys(const char *spec, size_t max, char ***ret_ids, size_t *ret_n, mb_error *err);
void mb_lock_keys_free(char **ids, size_t n);

/* The image target's operations (engine/platform/image/image.c), for the
 * lock keys of an image: spelling before the target is opened. */
const mb_platform_ops *mb_platform_image_ops(void);

/* The image target's lock_keys (engine/platform/image/lock_keys.c): one
 * identity per file named (disk images and the nvram= store), its device
 * and inode, or, for a file not there (yet), its resolved path. */
int mb_image_lock_keys(const char *list, size_t max, char ***ret_ids, size_t *ret_n, mb_error *err);

#endif
