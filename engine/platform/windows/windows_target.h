/* SPDX-License-Identifier: MIT */
#ifndef MB_WINDOWS_TARGET_H
#define MB_WINDOWS_TARGET_H

#include <stdbool.h>

#include "error.h"
#include "facts.h"
#include "platform/platform.h"

/*
 * The live Windows target's public entry points beyond platform.h
 * (mb_platform_open_windows). All are built on every host; the ones that
 * need the live system return MB_ENOTSUP where it is not Windows.
 */

/*
 * The exact steps the windows target runs for op, as text an administrator
 * reviews: diskpart scripts (between "diskpart /s <<" and "EOF" lines),
 * bcdedit command lines, IOCTLs with their input fields, copies through
 * \\?\Volume{GUID}\ paths. Pure: depends on facts and op only. Values that
 * exist only at run time (the id printed by `bcdedit /copy`, a volume's NT
 * device name) appear as <...>. The executor renders through the same code.
 * *ret_text is malloc'd; untouched on failure.
 */
int mb_windows_render_op(const mb_facts *facts, const mb_op *op, char **ret_text,
                         mb_error *err);

/*
 * Preflight of the live system: elevated (MB_EUNSAFE otherwise), UEFI
 * firmware (MB_ENOTSUP otherwise); *ret_hibernation is set to whether a
 * hibernation file is enabled (reported, not refused). MB_ENOTSUP off Windows.
 */
int mb_windows_preflight(bool *ret_hibernation, mb_error *err);

/*
 * The windows target recording every Win32 call it makes (and what VDS
 * answers) into path, written by mb_platform_finish; the format is
 * described in win32_record.c. MB_ENOTSUP off Windows.
 */
int mb_windows_open_recording(const char *path, mb_platform **ret, mb_error *err);

#endif
