/* SPDX-License-Identifier: MIT */
#ifndef MB_TRUST_H
#define MB_TRUST_H

/*
 * Whether a file mbstate acts on may be trusted: whoever can modify a
 * site.yaml or a facts file can make mbstate wipe disks, and whoever can
 * write the verification record can make `check` trust content that is not
 * there. One rule for all of them: writable by root / Administrators /
 * SYSTEM or by the user running mbstate only.
 *
 *  - POSIX: not a symbolic link, owned by root or the effective user, no
 *    group or world write bit.
 *  - Windows: the owner and every allow entry of the DACL that grants a
 *    write right are Administrators, SYSTEM, TrustedInstaller or the running
 *    user (engine/platform/windows/security.c, through the Win32 call table).
 *
 * Callers: the YAML reader (site.yaml and facts/snapshot files, which get
 * the same rule) and the state directory check (engine/state.c on POSIX,
 * the windows target's record on Windows).
 */

#include <stdbool.h>

#include "error.h"

typedef enum mb_trust_kind {
        MB_TRUST_FILE,          /* a configuration or facts file (and, on Windows, its folder) */
        MB_TRUST_STATE_DIR,     /* the verification record's directory: no one else may add files */
        MB_TRUST_STATE_FILE,    /* a record file in it */
} mb_trust_kind;

/* 0 when path (fd, when not -1, is the open file: its metadata is the one
 * checked, so the file cannot be swapped between check and read) may be
 * trusted; MB_EUNSAFE naming path and who else can modify it; MB_EIO when
 * its metadata cannot be read. */
int mb_trust_check(const char *path, int fd, mb_trust_kind kind, mb_error *err);

#ifdef _WIN32
/* The Windows branch over the real call table (platform_windows.c). */
int mb_trust_check_windows(const char *path, mb_trust_kind kind, mb_error *err);
#endif

#endif
