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

/* ---- internal to win32_record.c and vds_record.c ---- */

/* One call being recorded or replayed. */
typedef struct mb_rec_call mb_rec_call;

bool mb_rec_begin(mb_rec_call **ret, const char *name);
bool mb_rec_live(mb_rec_call *c);       /* true: call the inner table now (recording) */
void mb_rec_after(mb_rec_call *c);      /* recording: captures the inner GetLastError */
const mb_win32 *mb_rec_inner(void);
bool mb_rec_end(mb_rec_call *c);        /* false: the replay failed */
void mb_rec_in_u(mb_rec_call *c, const char *key, unsigned long long v);
void mb_rec_in_x(mb_rec_call *c, const char *key, unsigned long long v);
void mb_rec_in_bytes(mb_rec_call *c, const char *key, const void *p, size_t n);
void mb_rec_in_guid(mb_rec_call *c, const char *key, const GUID *g);
void mb_rec_in_wstr(mb_rec_call *c, const char *key, const WCHAR *w);
void mb_rec_in_ptr(mb_rec_call *c, const char *key, const void *p);
void mb_rec_in_obj(mb_rec_call *c, const char *key, void *proxy);
void mb_rec_out_u32(mb_rec_call *c, const char *key, DWORD *p);
void mb_rec_out_i32(mb_rec_call *c, const char *key, int32_t *p);
void mb_rec_out_bytes(mb_rec_call *c, const char *key, void *p, size_t cap, size_t n);
void mb_rec_out_wstr(mb_rec_call *c, const char *key, WCHAR *p, size_t cap);
/* A CoTaskMem string: recorded as text; replayed as a malloc'd copy. */
void mb_rec_out_costr(mb_rec_call *c, const char *key, WCHAR **p);
/* A CoTaskMem array of n elements of size bytes (replay: malloc'd). */
void mb_rec_out_coarray(mb_rec_call *c, const char *key, void **p, size_t size, LONG *n);
void mb_rec_ret_i32(mb_rec_call *c, int32_t *v);

/* A wrapper's frame: BEGIN names the call (returning fail when the replay
 * has already failed or does not have it), LIVE runs the inner call when
 * recording, END returns v or, when the replay failed, fail. */
#define BEGIN(name, fail)                               \
        mb_rec_call *c;                                 \
        if (!mb_rec_begin(&c, name))                    \
                return fail
#define LIVE(stmt)                                      \
        do {                                            \
                if (mb_rec_live(c)) {                   \
                        stmt;                           \
                        mb_rec_after(c);                \
                }                                       \
        } while (0)
#define IN mb_rec_inner()
#define END(v, fail) return mb_rec_end(c) ? (v) : (fail)

/* COM proxies (vds_record.c): wrap an object the inner table or an inner
 * method handed out (recording) or make one (replay, inner NULL). iid picks
 * the methods; NULL = IUnknown only. Owned by the session. */
unsigned mb_rec_proxy_id(const void *proxy);
void *mb_rec_proxy_new(void *inner, const IID *iid, unsigned id);
void mb_rec_out_obj(mb_rec_call *c, const char *key, void **p, const IID *iid);
void mb_rec_proxies_free(void);

#endif
