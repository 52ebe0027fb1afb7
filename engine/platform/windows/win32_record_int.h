/* SPDX-License-Identifier: MIT */
#ifndef MB_WIN32_RECORD_INT_H
#define MB_WIN32_RECORD_INT_H

/* The recorder's internals, shared by win32_record.c and vds_record.c only. */

#include <stdbool.h>
#include <stdint.h>

#include "win32_record.h"

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
#define INNER_TABLE mb_rec_inner()
#define END(v, fail) return mb_rec_end(c) ? (v) : (fail)

/* COM proxies (vds_record.c): wrap an object the inner table or an inner
 * method handed out (recording) or make one (replay, inner NULL). iid picks
 * the methods; NULL = IUnknown only. Owned by the session. */
unsigned mb_rec_proxy_id(const void *proxy);
void *mb_rec_proxy_new(void *inner, const IID *iid, unsigned id);
void mb_rec_out_obj(mb_rec_call *c, const char *key, void **p, const IID *iid);
void mb_rec_proxies_free(void);

#endif
