/* SPDX-License-Identifier: MIT */
#ifndef MB_WIN32_RECORD_H
#define MB_WIN32_RECORD_H

#include <stdbool.h>

#include "win32_table.h"
#include "error.h"

/*
 * Recordings of the Win32 calls the windows target makes, and their replay.
 *
 * A recording session puts a table in front of another one (the system's on
 * Windows, a fake one in tests): every call through it goes to the inner
 * table and is written down with its arguments, what it returned (return
 * value, every out-parameter and out-buffer byte, GetLastError) in call
 * order. The Virtual Disk Service's COM objects are recorded the same way:
 * the objects handed out are proxies whose methods (those vds.h declares
 * with a type) are calls of the recording. A replay session answers from a
 * recording instead, on any host: the call asked for must be the next one,
 * with the same arguments, or the replay fails naming both calls and the
 * position; it never makes up an answer. Recording a replay gives the same
 * file back byte for byte.
 *
 * The file format ("mbstate win32 recording, version 1") is described in
 * win32_record.c. Handles and COM objects are written as h<N>/o<N> in the
 * order they were handed out, so a recording does not depend on the
 * values the system chose.
 *
 * The table has no context argument: one session is active per process.
 */

typedef struct mb_win_rec mb_win_rec;

/* What a recording says about how facts were read (its header). */
typedef struct mb_win_rec_info {
        bool content_hash;      /* recovery partitions hashed (their bytes are in the file) */
} mb_win_rec_info;

/* Starts recording the calls made through mb_win_rec_table() to inner; the
 * file is written by mb_win_rec_save. MB_EBUSY if a session is active. */
int mb_win_rec_record(const mb_win32 *inner, const mb_win_rec_info *info, mb_win_rec **ret,
                      mb_error *err);

/* Loads a recording for replay; a malformed file is refused naming its line. */
int mb_win_rec_replay(const char *path, mb_win_rec **ret, mb_error *err);

/* The table to give the windows target. */
const mb_win32 *mb_win_rec_table(mb_win_rec *r);
const mb_win_rec_info *mb_win_rec_get_info(const mb_win_rec *r);

/* Writes the recording so far to path (record sessions). */
int mb_win_rec_save(mb_win_rec *r, const char *path, mb_error *err);

/*
 * The session's verdict: 0, or the first replay mismatch (the call asked
 * for, the one recorded, the position and line) or, with all_used, the
 * calls of the recording that were never asked for.
 */
int mb_win_rec_status(const mb_win_rec *r, bool all_used, mb_error *err);

void mb_win_rec_free(mb_win_rec *r);

#endif
