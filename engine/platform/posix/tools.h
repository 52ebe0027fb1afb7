/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_TOOLS_H
#define MB_POSIX_TOOLS_H

/*
 * External tools of the wing (mtools, mkfs.fat, mkntfs), run without a
 * shell. Contract: img_run returns only when the process has exited; a
 * non-zero exit is an error carrying the tool's stderr.
 */

#include <stddef.h>

#include "error.h"

/* Runs argv (argv[0] looked up in PATH) without a shell, stdin from
 * /dev/null, with MTOOLS_SKIP_CHECK=1 and LC_ALL=C.UTF-8 in its environment
 * (mtools converts FAT long names through the locale's character set: in the
 * C locale it prints '_' for every non-ASCII character, a name nothing can
 * open again; C.UTF-8 is built into glibc, so it needs no installed locale).
 * stdout goes to out_fd when out_fd >= 0, else into *ret_out (malloc'd,
 * NUL-terminated, length in *ret_len) when ret_out is not NULL, else it is
 * discarded. A non-zero exit is MB_EIO with the tool's stderr in the message. */
int img_run(const char *const *argv, int out_fd, char **ret_out, size_t *ret_len,
            mb_error *err);

#endif
