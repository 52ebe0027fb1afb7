/* SPDX-License-Identifier: MIT */
/*
 * Win32 call recordings (see win32_record.h). The file, version 1:
 *
 *   mbstate win32 recording, version 1
 *   content-hash: yes                    how facts were read (header lines)
 *   # comment                            anywhere; blank lines are ignored
 *   call 1 CreateFileW                   calls numbered from 1, in order
 *   > name "\\.\PhysicalDrive0"          an argument: compared on replay
 *   > access 0x80000000
 *   < return h1                          a result: given back on replay
 *   < error 0                            GetLastError right after the call
 *   call 2 DeviceIoControl
 *   > in bytes 0
 *   < out bytes 168                      bytes: 64 a line as hex, "| zero N"
 *   | 0100000000000000...                for a run of N zero bytes
 *
 * Values: numbers in decimal or 0x hex; strings in quotes, the text as it
 * is except % (%25), control characters (%XX) and anything beyond ASCII
 * (%uXXXX, UTF-16 units), so every string comes back unit for unit; null;
 * handles h<N> in the order calls returned them (null, invalid); COM
 * objects o<N>; pointers that carry no data "set" or null; GUIDs {...}.
 * Output strings are recorded up to their NUL. A call that failed has only
 * its return value and error recorded (a registry read answering
 * ERROR_MORE_DATA also the size it asks for). Answers that point into the
 * recorded process (a TOKEN_USER, a security descriptor) are written as
 * "unrecorded", and a replay that needs one fails. GetLastError is not a
 * call of its own: it answers the error recorded with the call before it.
 * COM methods are calls named "Interface::Method" with "> self o<N>"
 * (vds_record.c).
 */
#include "win32_record_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define HEADER "mbstate win32 recording, version 1"
#define FAKE_HANDLE_BASE 0x10000u
#define REPLAY_FAILED_ERROR 0x20000001u /* a customer code: never a system answer */
#define MAX_DEPTH 4

typedef struct field {
        char dir;               /* '>' argument, '<' result */
        char *key;
        char *text;             /* the value as written; for bytes "bytes N" */
        uint8_t *bytes;
        size_t n_bytes;
        unsigned line;
} field;

typedef struct rcall {
        char *name;
        unsigned line;
        field *f;
        size_t n;
} rcall;

typedef struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
} sbuf;

struct mb_rec_call {
        mb_win_rec *r;
        rcall *want;            /* replay: the recorded call */
        size_t fpos;
        DWORD error;
        bool bad;
};

struct mb_win_rec {
        bool replay;
        const mb_win32 *inner;
        mb_win32 table;
        mb_win_rec_info info;
        char *path;
        sbuf out;               /* record: the file so far */
        unsigned n_done;        /* calls recorded or replayed */
        struct { uintptr_t v; unsigned id; } *hmap;
        size_t n_hmap;
        unsigned next_h, next_o;
        rcall *calls;           /* replay */
        size_t n_calls;
        DWORD last_error;
        bool failed;
        mb_error fail;
};

/* Sessions stack so that a recording of a replay works: a call that the
 * top session forwards enters the table of the session below it. */
static mb_win_rec *stack[MAX_DEPTH];
static int n_stack, nesting;
static mb_rec_call calls[MAX_DEPTH];

static mb_win_rec *cur(void)
{
        int i = n_stack - 1 - nesting;

        return i >= 0 ? stack[i] : NULL;
}

/* ---- text ---- */

static void sb_add(sbuf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *ns;

                while (cap < b->len + n + 1)
                        cap *= 2;
                ns = realloc(b->s, cap);
                if (!ns) {
                        b->oom = true;
                        return;
                }
                b->s = ns;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) MB_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
        char tmp[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n >= 0)
                sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A WCHAR string (n units) as the file writes it, quotes included. */
static void wstr_encode(sbuf *b, const WCHAR *w, size_t n)
{
        sb_add(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                WCHAR c = w[i];
                char one = (char)c;

                if (c >= 0x20 && c < 0x7f && c != '%')
                        sb_add(b, &one, 1);
                else if (c < 0x80)
                        sb_printf(b, "%%%02X", (unsigned)c);
                else
                        sb_printf(b, "%%u%04X", (unsigned)c);
        }
        sb_add(b, "\"", 1);
}

static int hexv(char c)
{
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
}

/* The inverse of wstr_encode: *ret malloc'd, NUL-terminated; -1 if malformed. */
static int wstr_decode(const char *s, WCHAR **ret, size_t *ret_n)
{
        size_t len = strlen(s), n = 0;
        WCHAR *w;

        if (len < 2 || s[0] != '"' || s[len - 1] != '"')
                return -1;
        w = malloc(len * sizeof(WCHAR));
        if (!w)
                return -1;
        for (size_t i = 1; i < len - 1;) {
                if (s[i] != '%') {
                        w[n++] = (unsigned char)s[i++];
                        continue;
                }
                if (s[i + 1] == 'u') {
                        unsigned v = 0;

                        for (int k = 2; k < 6; k++) {
                                int h = i + (size_t)k < len - 1 ? hexv(s[i + k]) : -1;

                                if (h < 0)
                                        goto bad;
                                v = v << 4 | (unsigned)h;
                        }
                        w[n++] = (WCHAR)v;
                        i += 6;
                } else {
                        int hi = i + 2 < len - 1 ? hexv(s[i + 1]) : -1, lo = hi >= 0 ? hexv(s[i + 2]) : -1;

                        if (hi < 0 || lo < 0)
                                goto bad;
                        w[n++] = (WCHAR)(hi << 4 | lo);
                        i += 3;
                }
        }
        w[n] = 0;
        *ret = w;
        *ret_n = n;
        return 0;
bad:
        free(w);
        return -1;
}

static void bytes_encode(sbuf *b, const uint8_t *p, size_t n)
{
        static const char hx[] = "0123456789abcdef";
        size_t zero = 0;

        sb_printf(b, "bytes %zu\n", n);
        for (size_t i = 0; i < n; i += 64) {
                size_t m = n - i < 64 ? n - i : 64;
                char line[2 + 128 + 2];
                bool all_zero = true;

                for (size_t k = 0; k < m && all_zero; k++)
                        all_zero = p[i + k] == 0;
                if (all_zero) {
                        zero += m;
                        continue;
                }
                if (zero) {
                        sb_printf(b, "| zero %zu\n", zero);
                        zero = 0;
                }
                line[0] = '|';
                line[1] = ' ';
                for (size_t k = 0; k < m; k++) {
                        line[2 + 2 * k] = hx[p[i + k] >> 4];
                        line[3 + 2 * k] = hx[p[i + k] & 15];
                }
                line[2 + 2 * m] = '\n';
                sb_add(b, line, 3 + 2 * m);
        }
        if (zero)
                sb_printf(b, "| zero %zu\n", zero);
}

/* ---- failing a replay ---- */

static void failf(mb_rec_call *c, const char *fmt, ...) MB_PRINTF(2, 3);
static void failf(mb_rec_call *c, const char *fmt, ...)
{
        mb_win_rec *r = c->r;
        char what[1200];
        va_list ap;

        c->bad = true;
        if (r->failed)
                return;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        r->failed = true;
        mb_error_set(&r->fail, MB_EINVAL, "replay of '%s': %s", r->path ? r->path : "(memory)", what);
}

/* The next recorded field of c, which must be dir key. */
static field *want_field(mb_rec_call *c, char dir, const char *key)
{
        field *f;

        if (c->bad)
                return NULL;
        if (c->fpos >= c->want->n) {
                failf(c, "call %u %s (line %u): the target passes %s %s, which the recording does not have",
                      c->r->n_done + 1, c->want->name, c->want->line,
                      dir == '>' ? "argument" : "result", key);
                return NULL;
        }
        f = &c->want->f[c->fpos];
        if (f->dir != dir || strcmp(f->key, key) != 0) {
                failf(c, "call %u %s (line %u): the target expects %s %s where the recording has %s %s",
                      c->r->n_done + 1, c->want->name, f->line, dir == '>' ? "argument" : "result",
                      key, f->dir == '>' ? "argument" : "result", f->key);
                return NULL;
        }
        c->fpos++;
        return f;
}

/* ---- calls ---- */

bool mb_rec_begin(mb_rec_call **ret, const char *name)
{
        mb_win_rec *r = cur();
        mb_rec_call *c = &calls[nesting];

        nesting++;
        memset(c, 0, sizeof(*c));
        c->r = r;
        *ret = c;
        if (!r->replay) {
                sb_printf(&r->out, "call %u %s\n", r->n_done + 1, name);
                return true;
        }
        if (r->failed) {
                c->bad = true;
        } else if (r->n_done >= r->n_calls) {
                failf(c, "call %u: the target asks for %s, and the recording ends after call %u",
                      r->n_done + 1, name, r->n_done);
        } else if (strcmp(r->calls[r->n_done].name, name) != 0) {
                failf(c, "call %u (line %u): the target asks for %s, the recording has %s",
                      r->n_done + 1, r->calls[r->n_done].line, name, r->calls[r->n_done].name);
        } else {
                c->want = &r->calls[r->n_done];
        }
        if (c->bad) {
                nesting--;
                r->last_error = REPLAY_FAILED_ERROR;
                return false;
        }
        return true;
}

bool mb_rec_live(mb_rec_call *c)
{
        return !c->r->replay;
}

const mb_win32 *mb_rec_inner(void)
{
        return calls[nesting - 1].r->inner;
}

void mb_rec_after(mb_rec_call *c)
{
        if (!c->r->replay)
                c->error = c->r->inner->GetLastError ? c->r->inner->GetLastError() : 0;
}

bool mb_rec_end(mb_rec_call *c)
{
        mb_win_rec *r = c->r;

        nesting--;
        if (!r->replay) {
                sb_printf(&r->out, "< error %lu\n", (unsigned long)c->error);
                r->last_error = c->error;
                r->n_done++;
                return true;
        }
        if (!c->bad) {
                field *f = want_field(c, '<', "error");
                char *end;

                if (f) {
                        unsigned long v = strtoul(f->text, &end, 0);

                        if (*end)
                                failf(c, "line %u: error '%s' is not a number", f->line, f->text);
                        r->last_error = (DWORD)v;
                }
                if (!c->bad && c->fpos < c->want->n)
                        failf(c, "call %u %s (line %u): the recording has %s %s, which the target does not use",
                              r->n_done + 1, c->want->name, c->want->f[c->fpos].line,
                              c->want->f[c->fpos].dir == '>' ? "argument" : "result",
                              c->want->f[c->fpos].key);
        }
        if (c->bad) {
                r->last_error = REPLAY_FAILED_ERROR;
                return false;
        }
        r->n_done++;
        return true;
}

/* An argument as text: written (record) or compared (replay). */
static void in_text(mb_rec_call *c, const char *key, const char *text)
{
        field *f;

        if (!c->r->replay) {
                sb_printf(&c->r->out, "> %s %s\n", key, text);
                return;
        }
        if (!(f = want_field(c, '>', key)))
                return;
        if (strcmp(f->text, text) != 0)
                failf(c, "call %u %s (line %u): argument %s is %.300s here, %.300s in the recording",
                      c->r->n_done + 1, c->want->name, f->line, key, text, f->text);
}

void mb_rec_in_u(mb_rec_call *c, const char *key, unsigned long long v)
{
        char t[32];

        snprintf(t, sizeof(t), "%llu", v);
        in_text(c, key, t);
}

void mb_rec_in_x(mb_rec_call *c, const char *key, unsigned long long v)
{
        char t[32];

        snprintf(t, sizeof(t), "0x%llx", v);
        in_text(c, key, t);
}

void mb_rec_in_ptr(mb_rec_call *c, const char *key, const void *p)
{
        in_text(c, key, p ? "set" : "null");
}

void mb_rec_in_guid(mb_rec_call *c, const char *key, const GUID *g)
{
        char t[40];

        if (!g) {
                in_text(c, key, "null");
                return;
        }
        t[0] = '{';
        mb_w_guid_format(g, t + 1);
        strcat(t, "}");
        in_text(c, key, t);
}

void mb_rec_in_wstr(mb_rec_call *c, const char *key, const WCHAR *w)
{
        sbuf b = { 0 };

        if (!w) {
                in_text(c, key, "null");
                return;
        }
        wstr_encode(&b, w, mb_w_len(w));
        in_text(c, key, b.s ? b.s : "\"\"");
        free(b.s);
}

void mb_rec_in_bytes(mb_rec_call *c, const char *key, const void *p, size_t n)
{
        field *f;

        if (!c->r->replay) {
                sb_printf(&c->r->out, "> %s ", key);
                bytes_encode(&c->r->out, p, p ? n : 0);
                return;
        }
        if (!(f = want_field(c, '>', key)))
                return;
        if (!p)
                n = 0;
        if (f->n_bytes != n || (n && memcmp(f->bytes, p, n) != 0)) {
                size_t at = 0;

                while (at < n && at < f->n_bytes && f->bytes[at] == ((const uint8_t *)p)[at])
                        at++;
                failf(c, "call %u %s (line %u): argument %s differs from the recording (%zu bytes here, %zu recorded, first difference at byte %zu)",
                      c->r->n_done + 1, c->want->name, f->line, key, n, f->n_bytes, at);
        }
}

/* ---- handles ---- */

static unsigned handle_id(mb_win_rec *r, uintptr_t v)
{
        for (size_t i = r->n_hmap; i-- > 0;)
                if (r->hmap[i].v == v)
                        return r->hmap[i].id;
        return 0;
}

static void handle_text(mb_win_rec *r, HANDLE h, char t[32])
{
        uintptr_t v = (uintptr_t)h;
        unsigned id;

        if (!h)
                snprintf(t, 32, "null");
        else if (h == INVALID_HANDLE_VALUE)
                snprintf(t, 32, "invalid");
        else if ((id = handle_id(r, v)))
                snprintf(t, 32, "h%u", id);
        else if (((uint32_t)v & 0xfffffff0u) == 0x80000000u)
                snprintf(t, 32, "hkey:0x%08x", (unsigned)(uint32_t)v);      /* HKEY_LOCAL_MACHINE, ... */
        else
                snprintf(t, 32, "unknown");
}

static void mb_rec_in_handle(mb_rec_call *c, const char *key, HANDLE h)
{
        char t[32];

        handle_text(c->r, h, t);
        in_text(c, key, t);
}

static void map_handle(mb_win_rec *r, uintptr_t v, unsigned id)
{
        void *n = mb_reallocarray(r->hmap, r->n_hmap + 1, sizeof(*r->hmap));

        if (!n)
                return;
        r->hmap = n;
        r->hmap[r->n_hmap].v = v;
        r->hmap[r->n_hmap++].id = id;
}

/* A handle the call returned: named h<N> from the next number. */
static void mb_rec_out_handle(mb_rec_call *c, const char *key, HANDLE *p)
{
        mb_win_rec *r = c->r;
        field *f;

        if (!r->replay) {
                if (!p) {
                        sb_printf(&r->out, "< %s null\n", key);
                } else if (!*p || *p == INVALID_HANDLE_VALUE) {
                        sb_printf(&r->out, "< %s %s\n", key, *p ? "invalid" : "null");
                } else {
                        map_handle(r, (uintptr_t)*p, ++r->next_h);
                        sb_printf(&r->out, "< %s h%u\n", key, r->next_h);
                }
                return;
        }
        if (!(f = want_field(c, '<', key)))
                return;
        if (!p) {
                if (strcmp(f->text, "null") != 0)
                        failf(c, "call %u %s (line %u): the recording has %s %s where the target passes no buffer",
                              r->n_done + 1, c->want->name, f->line, key, f->text);
        } else if (strcmp(f->text, "null") == 0) {
                *p = NULL;
        } else if (strcmp(f->text, "invalid") == 0) {
                *p = INVALID_HANDLE_VALUE;
        } else {
                unsigned id = 0;
                char tail;

                if (sscanf(f->text, "h%u%c", &id, &tail) != 1 || id != r->next_h + 1) {
                        failf(c, "line %u: %s '%s' is not h%u, the next handle", f->line, key, f->text,
                              r->next_h + 1);
                        return;
                }
                r->next_h = id;
                *p = (HANDLE)(uintptr_t)(FAKE_HANDLE_BASE + 16u * id);
                map_handle(r, (uintptr_t)*p, id);
        }
}

/* ---- results ---- */

/* The recorded text of result key, or NULL (c failed, or p NULL matched "null"). */
static const char *out_text(mb_rec_call *c, const char *key, const void *p)
{
        field *f = want_field(c, '<', key);

        if (!f)
                return NULL;
        if (!p) {
                if (strcmp(f->text, "null") != 0)
                        failf(c, "call %u %s (line %u): the recording has %s where the target passes no buffer",
                              c->r->n_done + 1, c->want->name, f->line, key);
                return NULL;
        }
        if (strcmp(f->text, "null") == 0) {
                failf(c, "call %u %s (line %u): the target passes a buffer for %s, which the recording does not have",
                      c->r->n_done + 1, c->want->name, f->line, key);
                return NULL;
        }
        return f->text;
}

static bool out_number(mb_rec_call *c, const char *key, const void *p, long long *ret)
{
        const char *t = out_text(c, key, p);
        char *end;

        if (!t)
                return false;
        *ret = strtoll(t, &end, 0);
        if (*end || end == t) {
                failf(c, "line %u: %s '%s' is not a number", c->want->f[c->fpos - 1].line, key, t);
                return false;
        }
        return true;
}

void mb_rec_out_u32(mb_rec_call *c, const char *key, DWORD *p)
{
        long long v;

        if (!c->r->replay) {
                if (p)
                        sb_printf(&c->r->out, "< %s %lu\n", key, (unsigned long)*p);
                else
                        sb_printf(&c->r->out, "< %s null\n", key);
        } else if (out_number(c, key, p, &v)) {
                *p = (DWORD)v;
        }
}

void mb_rec_out_i32(mb_rec_call *c, const char *key, int32_t *p)
{
        long long v;

        if (!c->r->replay) {
                if (p)
                        sb_printf(&c->r->out, "< %s %ld\n", key, (long)*p);
                else
                        sb_printf(&c->r->out, "< %s null\n", key);
        } else if (out_number(c, key, p, &v)) {
                *p = (int32_t)v;
        }
}

static void out_u64(mb_rec_call *c, const char *key, uint64_t *p)
{
        long long v;

        if (!c->r->replay) {
                if (p)
                        sb_printf(&c->r->out, "< %s %llu\n", key, (unsigned long long)*p);
                else
                        sb_printf(&c->r->out, "< %s null\n", key);
        } else if (out_number(c, key, p, &v)) {
                *p = (uint64_t)v;
        }
}

void mb_rec_ret_i32(mb_rec_call *c, int32_t *v)
{
        mb_rec_out_i32(c, "return", v);
}

void mb_rec_out_bytes(mb_rec_call *c, const char *key, void *p, size_t cap, size_t n)
{
        field *f;

        if (!c->r->replay) {
                if (!p) {
                        sb_printf(&c->r->out, "< %s null\n", key);
                        return;
                }
                sb_printf(&c->r->out, "< %s ", key);
                bytes_encode(&c->r->out, p, n < cap ? n : cap);
                return;
        }
        if (!out_text(c, key, p))
                return;
        f = &c->want->f[c->fpos - 1];
        if (f->n_bytes > cap) {
                failf(c, "call %u %s (line %u): %zu bytes of %s recorded, the target's buffer holds %zu",
                      c->r->n_done + 1, c->want->name, f->line, f->n_bytes, key, cap);
                return;
        }
        if (f->n_bytes)
                memcpy(p, f->bytes, f->n_bytes);
}

void mb_rec_out_wstr(mb_rec_call *c, const char *key, WCHAR *p, size_t cap)
{
        const char *t;
        WCHAR *w;
        size_t n;

        if (!c->r->replay) {
                size_t len = 0;

                if (!p) {
                        sb_printf(&c->r->out, "< %s null\n", key);
                        return;
                }
                while (len < cap && p[len])
                        len++;
                sb_printf(&c->r->out, "< %s ", key);
                wstr_encode(&c->r->out, p, len);
                sb_add(&c->r->out, "\n", 1);
                return;
        }
        if (!(t = out_text(c, key, p)))
                return;
        if (wstr_decode(t, &w, &n) < 0) {
                failf(c, "line %u: %s is not a quoted string", c->want->f[c->fpos - 1].line, key);
                return;
        }
        if (n + 1 > cap && !(n == cap && cap > 0)) {
                failf(c, "call %u %s: %s has %zu characters recorded, the target's buffer holds %zu",
                      c->r->n_done + 1, c->want->name, key, n, cap);
        } else {
                memcpy(p, w, n * sizeof(WCHAR));
                if (n < cap)
                        p[n] = 0;
        }
        free(w);
}

void mb_rec_out_costr(mb_rec_call *c, const char *key, WCHAR **p)
{
        const char *t;
        size_t n;

        if (!c->r->replay) {
                if (!*p) {
                        sb_printf(&c->r->out, "< %s null\n", key);
                        return;
                }
                sb_printf(&c->r->out, "< %s ", key);
                wstr_encode(&c->r->out, *p, mb_w_len(*p));
                sb_add(&c->r->out, "\n", 1);
                return;
        }
        {
                field *f = want_field(c, '<', key);

                if (!f)
                        return;
                t = f->text;
        }
        *p = NULL;
        if (strcmp(t, "null") != 0 && wstr_decode(t, p, &n) < 0)
                failf(c, "line %u: %s is not a quoted string", c->want->f[c->fpos - 1].line, key);
}

void mb_rec_out_coarray(mb_rec_call *c, const char *key, void **p, size_t size, LONG *n)
{
        field *f;
        int32_t count = *n;

        mb_rec_out_i32(c, "count", &count);
        if (!c->r->replay) {
                sb_printf(&c->r->out, "< %s ", key);
                bytes_encode(&c->r->out, *p, *p && count > 0 ? (size_t)count * size : 0);
                return;
        }
        if (!(f = want_field(c, '<', key)))
                return;
        if (count < 0 || f->n_bytes != (size_t)count * size) {
                failf(c, "line %u: %s holds %zu bytes, not %ld elements of %zu", f->line, key,
                      f->n_bytes, (long)count, size);
                return;
        }
        *n = count;
        *p = calloc(1, f->n_bytes + 1);
        if (*p && f->n_bytes)
                memcpy(*p, f->bytes, f->n_bytes);
}

/* Objects: the proxy's number (vds_record.c makes proxies). */
void mb_rec_in_obj(mb_rec_call *c, const char *key, void *proxy)
{
        char t[16];

        if (proxy)
                snprintf(t, sizeof(t), "o%u", mb_rec_proxy_id(proxy));
        else
                snprintf(t, sizeof(t), "null");
        in_text(c, key, t);
}

void mb_rec_out_obj(mb_rec_call *c, const char *key, void **p, const IID *iid)
{
        mb_win_rec *r = c->r;
        const char *t;

        if (!r->replay) {
                if (!*p) {
                        sb_printf(&r->out, "< %s null\n", key);
                        return;
                }
                *p = mb_rec_proxy_new(*p, iid, ++r->next_o);
                sb_printf(&r->out, "< %s o%u\n", key, r->next_o);
                return;
        }
        {
                field *f = want_field(c, '<', key);
                unsigned id;
                char tail;

                if (!f)
                        return;
                t = f->text;
                *p = NULL;
                if (strcmp(t, "null") == 0)
                        return;
                if (sscanf(t, "o%u%c", &id, &tail) != 1 || id != r->next_o + 1) {
                        failf(c, "line %u: %s '%s' is not o%u, the next object", f->line, key, t,
                              r->next_o + 1);
                        return;
                }
                r->next_o = id;
                *p = mb_rec_proxy_new(NULL, iid, id);
        }
}

/* ---- sessions ---- */

static void rec_fill_table(mb_win32 *t);

int mb_win_rec_record(const mb_win32 *inner, const mb_win_rec_info *info, mb_win_rec **ret,
                      mb_error *err)
{
        mb_win_rec *r;

        if (n_stack >= MAX_DEPTH)
                return mb_error_set(err, MB_EBUSY, "too many Win32 recording sessions at once");
        r = calloc(1, sizeof(*r));
        if (!r)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        r->inner = inner;
        if (info)
                r->info = *info;
        rec_fill_table(&r->table);
        sb_printf(&r->out, "%s\ncontent-hash: %s\n", HEADER, r->info.content_hash ? "yes" : "no");
        sb_printf(&r->out, "# Every call the windows target made through its Win32 call table, in order\n"
                           "# (engine/platform/windows/win32_record.c describes the format).\n");
        stack[n_stack++] = r;
        *ret = r;
        return 0;
}

static char *dupn(const char *s, size_t n)
{
        char *d = malloc(n + 1);

        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

static int parse_error(mb_win_rec *r, unsigned line, mb_error *err, const char *what)
{
        return mb_error_at(err, MB_EINVAL, r->path, (int)line, 0, "%s", what);
}

/* Reads the continuation lines of a bytes value into f. */
static int parse_bytes(mb_win_rec *r, char **lines, size_t n_lines, size_t *i, field *f,
                       mb_error *err)
{
        unsigned long long want;
        char *end;

        want = strtoull(f->text + 6, &end, 10);
        if (*end || end == f->text + 6)
                return parse_error(r, f->line, err, "expected 'bytes N'");
        f->bytes = calloc(1, want + 1);
        if (!f->bytes)
                return mb_error_set(err, MB_ENOMEM, "out of memory (%llu bytes at line %u of %s)",
                                    want, f->line, r->path);
        while (f->n_bytes < want) {
                char *s;

                if (++*i >= n_lines || lines[*i][0] != '|' || lines[*i][1] != ' ')
                        return parse_error(r, (unsigned)*i + 1, err,
                                           "the bytes value ends early (expected a '| ' line)");
                s = lines[*i] + 2;
                if (strncmp(s, "zero ", 5) == 0) {
                        unsigned long long z = strtoull(s + 5, &end, 10);

                        if (*end || z == 0 || z > want - f->n_bytes)
                                return parse_error(r, (unsigned)*i + 1, err, "bad zero run");
                        f->n_bytes += z;        /* calloc'd */
                        continue;
                }
                for (; *s; s += 2) {
                        int hi = hexv(s[0]), lo = hi >= 0 ? hexv(s[1]) : -1;

                        if (hi < 0 || lo < 0 || f->n_bytes >= want)
                                return parse_error(r, (unsigned)*i + 1, err,
                                                   "expected hex digits (two per byte) within the byte count");
                        f->bytes[f->n_bytes++] = (uint8_t)(hi << 4 | lo);
                }
        }
        return 0;
}

static int parse_recording(mb_win_rec *r, char *text, mb_error *err)
{
        char **lines = NULL;
        size_t n_lines = 0, i;
        bool header_done = false;
        int rc = 0;

        for (char *p = text; p && *p;) {
                char *nl = strchr(p, '\n');
                char **nv = mb_reallocarray(lines, n_lines + 1, sizeof(*lines));

                if (!nv) {
                        free(lines);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                lines = nv;
                lines[n_lines++] = p;
                if (nl) {
                        if (nl > p && nl[-1] == '\r')
                                nl[-1] = '\0';
                        *nl = '\0';
                        p = nl + 1;
                } else {
                        p = NULL;
                }
        }
        if (n_lines == 0 || strcmp(lines[0], HEADER) != 0) {
                rc = parse_error(r, 1, err, n_lines && strncmp(lines[0], "mbstate win32 recording, version ", 33) == 0
                                                    ? "unsupported recording version (this mbstate reads version 1)"
                                                    : "not an mbstate win32 recording (expected '" HEADER "')");
                free(lines);
                return rc;
        }
        for (i = 1; i < n_lines && rc == 0; i++) {
                char *s = lines[i], *sp;
                rcall *c;

                if (s[0] == '\0' || s[0] == '#')
                        continue;
                if (!header_done && strncmp(s, "call ", 5) != 0) {
                        if (strcmp(s, "content-hash: yes") == 0)
                                r->info.content_hash = true;
                        else if (strcmp(s, "content-hash: no") == 0)
                                r->info.content_hash = false;
                        else
                                rc = parse_error(r, (unsigned)i + 1, err, "unknown header line (expected 'content-hash: yes|no' or a call)");
                        continue;
                }
                header_done = true;
                if (strncmp(s, "call ", 5) == 0) {
                        unsigned long num = strtoul(s + 5, &sp, 10);
                        rcall *nc;

                        if (num != r->n_calls + 1 || *sp != ' ' || !sp[1]) {
                                char what[96];

                                snprintf(what, sizeof(what), "expected 'call %zu NAME'", r->n_calls + 1);
                                rc = parse_error(r, (unsigned)i + 1, err, what);
                                break;
                        }
                        nc = mb_reallocarray(r->calls, r->n_calls + 1, sizeof(*nc));
                        if (!nc) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        r->calls = nc;
                        memset(&nc[r->n_calls], 0, sizeof(*nc));
                        nc[r->n_calls].name = mb_strdup(sp + 1);
                        nc[r->n_calls++].line = (unsigned)i + 1;
                        continue;
                }
                if ((s[0] != '>' && s[0] != '<') || s[1] != ' ' || !(sp = strchr(s + 2, ' ')) ||
                    r->n_calls == 0) {
                        rc = parse_error(r, (unsigned)i + 1, err,
                                         "expected '> KEY VALUE', '< KEY VALUE' or 'call N NAME'");
                        break;
                }
                c = &r->calls[r->n_calls - 1];
                {
                        field *nf = mb_reallocarray(c->f, c->n + 1, sizeof(*nf));

                        if (!nf) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        c->f = nf;
                        nf = &c->f[c->n++];
                        memset(nf, 0, sizeof(*nf));
                        nf->dir = s[0];
                        nf->key = dupn(s + 2, (size_t)(sp - s - 2));
                        nf->text = mb_strdup(sp + 1);
                        nf->line = (unsigned)i + 1;
                        if (strncmp(nf->text, "bytes ", 6) == 0)
                                rc = parse_bytes(r, lines, n_lines, &i, nf, err);
                }
        }
        free(lines);
        return rc;
}

int mb_win_rec_replay(const char *path, mb_win_rec **ret, mb_error *err)
{
        mb_win_rec *r;
        FILE *f;
        char *text = NULL;
        size_t len = 0, cap = 0;
        int rc;

        if (n_stack >= MAX_DEPTH)
                return mb_error_set(err, MB_EBUSY, "too many Win32 recording sessions at once");
        f = fopen(path, "rb");
        if (!f)
                return mb_error_errno(err, MB_EIO, errno, "cannot open the recording '%s'", path);
        for (;;) {
                if (len + 65536 + 1 > cap) {
                        char *n = realloc(text, cap = cap ? cap * 2 : 1 << 20);

                        if (!n) {
                                free(text);
                                fclose(f);
                                return mb_error_set(err, MB_ENOMEM, "out of memory reading '%s'", path);
                        }
                        text = n;
                }
                {
                        size_t got = fread(text + len, 1, 65536, f);

                        len += got;
                        if (got < 65536)
                                break;
                }
        }
        if (ferror(f)) {
                free(text);
                fclose(f);
                return mb_error_set(err, MB_EIO, "cannot read the recording '%s'", path);
        }
        fclose(f);
        text[len] = '\0';
        if (strlen(text) != len) {
                free(text);
                return mb_error_set(err, MB_EINVAL, "%s: not a text file (a NUL byte)", path);
        }
        r = calloc(1, sizeof(*r));
        if (!r) {
                free(text);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        r->replay = true;
        r->path = mb_strdup(path);
        rec_fill_table(&r->table);
        rc = parse_recording(r, text, err);
        free(text);
        if (rc < 0) {
                mb_win_rec_free(r);
                return rc;
        }
        stack[n_stack++] = r;
        *ret = r;
        return 0;
}

const mb_win32 *mb_win_rec_table(mb_win_rec *r)
{
        return &r->table;
}

const mb_win_rec_info *mb_win_rec_get_info(const mb_win_rec *r)
{
        return &r->info;
}

int mb_win_rec_save(mb_win_rec *r, const char *path, mb_error *err)
{
        FILE *f;
        bool ok;

        if (r->replay)
                return mb_error_set(err, MB_EINVAL, "a replay session has nothing to save");
        if (r->out.oom)
                return mb_error_set(err, MB_ENOMEM, "out of memory while recording");
        f = fopen(path, "wb");
        if (!f)
                return mb_error_errno(err, MB_EIO, errno, "cannot write the recording '%s'", path);
        ok = fwrite(r->out.s, 1, r->out.len, f) == r->out.len;
        ok = fclose(f) == 0 && ok;
        if (!ok)
                return mb_error_set(err, MB_EIO, "cannot write the recording '%s'", path);
        return 0;
}

int mb_win_rec_status(const mb_win_rec *r, bool all_used, mb_error *err)
{
        if (r->failed) {
                if (err)
                        *err = r->fail;
                return r->fail.code ? r->fail.code : MB_EINVAL;
        }
        if (r->out.oom)
                return mb_error_set(err, MB_ENOMEM, "out of memory while recording");
        if (all_used && r->replay && r->n_done < r->n_calls)
                return mb_error_set(err, MB_EINVAL,
                                    "replay of '%s': the target made %u calls; the recording has %zu more from call %u %s (line %u)",
                                    r->path, r->n_done, r->n_calls - r->n_done, r->n_done + 1,
                                    r->calls[r->n_done].name, r->calls[r->n_done].line);
        return 0;
}

void mb_win_rec_free(mb_win_rec *r)
{
        if (!r)
                return;
        for (int i = 0; i < n_stack; i++)
                if (stack[i] == r) {
                        memmove(&stack[i], &stack[i + 1], (size_t)(n_stack - i - 1) * sizeof(*stack));
                        if (--n_stack == 0)
                                mb_rec_proxies_free();
                        break;
                }
        for (size_t i = 0; i < r->n_calls; i++) {
                for (size_t k = 0; k < r->calls[i].n; k++) {
                        free(r->calls[i].f[k].key);
                        free(r->calls[i].f[k].text);
                        free(r->calls[i].f[k].bytes);
                }
                free(r->calls[i].f);
                free(r->calls[i].name);
        }
        free(r->calls);
        free(r->hmap);
        free(r->out.s);
        free(r->path);
        free(r);
}

/* ---- the table ---- */

/* A result that holds pointers into the process (a TOKEN_USER, a security
 * descriptor): written as "unrecorded"; a replay that needs it fails. */
static void unrecorded(mb_rec_call *c, const char *key)
{
        if (!c->r->replay) {
                sb_printf(&c->r->out, "< %s unrecorded\n", key);
                return;
        }
        if (want_field(c, '<', key))
                failf(c, "call %u %s: the recording does not hold %s (it points into the recorded process)",
                      c->r->n_done + 1, c->want->name, key);
}

static void in_i(mb_rec_call *c, const char *key, long long v)
{
        char t[32];

        snprintf(t, sizeof(t), "%lld", v);
        in_text(c, key, t);
}

/* *p on entry (an in/out length), or null. */
static void in_len(mb_rec_call *c, const char *key, const DWORD *p)
{
        if (p)
                mb_rec_in_u(c, key, *p);
        else
                in_text(c, key, "null");
}

static void ret_bool(mb_rec_call *c, BOOL *r)
{
        int32_t v = *r;

        mb_rec_ret_i32(c, &v);
        *r = v;
}

static void ret_u32(mb_rec_call *c, DWORD *r)
{
        mb_rec_out_u32(c, "return", r);
}

static void ret_long(mb_rec_call *c, LONG *r)
{
        int32_t v = *r;

        mb_rec_ret_i32(c, &v);
        *r = v;
}

static void out_key(mb_rec_call *c, const char *key, HKEY *p)
{
        HANDLE h = p ? (HANDLE)*p : NULL;

        mb_rec_out_handle(c, key, p ? &h : NULL);
        if (p)
                *p = (HKEY)h;
}

static void out_filetime(mb_rec_call *c, const char *key, FILETIME *p)
{
        uint64_t v = p ? (uint64_t)p->dwHighDateTime << 32 | p->dwLowDateTime : 0;

        out_u64(c, key, p ? &v : NULL);
        if (p) {
                p->dwLowDateTime = (DWORD)v;
                p->dwHighDateTime = (DWORD)(v >> 32);
        }
}

static void out_find_data(mb_rec_call *c, WIN32_FIND_DATAW *d)
{
        if (c->r->replay && d)
                memset(d, 0, sizeof(*d));
        mb_rec_out_u32(c, "attributes", d ? &d->dwFileAttributes : NULL);
        out_filetime(c, "created", d ? &d->ftCreationTime : NULL);
        out_filetime(c, "accessed", d ? &d->ftLastAccessTime : NULL);
        out_filetime(c, "written", d ? &d->ftLastWriteTime : NULL);
        mb_rec_out_u32(c, "size_high", d ? &d->nFileSizeHigh : NULL);
        mb_rec_out_u32(c, "size_low", d ? &d->nFileSizeLow : NULL);
        mb_rec_out_wstr(c, "file_name", d ? d->cFileName : NULL, MAX_PATH);
        mb_rec_out_wstr(c, "alternate_name", d ? d->cAlternateFileName : NULL, 14);
}

static void *aligned_zalloc(size_t size)
{
        void *p;

#ifdef _WIN32
        p = _aligned_malloc(size ? size : 1, 4096);
#else
        if (posix_memalign(&p, 4096, size ? size : 1) != 0)
                p = NULL;
#endif
        if (p)
                memset(p, 0, size);
        return p;
}

static void aligned_free(void *p)
{
#ifdef _WIN32
        _aligned_free(p);
#else
        free(p);
#endif
}

/* One wrapper per table member (BEGIN, LIVE, END: win32_record.h): its
 * arguments, the inner call (recording only), its results. A new member is
 * one more function like these and one line in rec_fill_table. */

static HANDLE WINAPI x_CreateFileW(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa,
                                   DWORD disposition, DWORD flags, HANDLE templ)
{
        HANDLE h = INVALID_HANDLE_VALUE;

        BEGIN("CreateFileW", INVALID_HANDLE_VALUE);
        mb_rec_in_wstr(c, "name", name);
        mb_rec_in_x(c, "access", access);
        mb_rec_in_x(c, "share", share);
        mb_rec_in_ptr(c, "security", sa);
        mb_rec_in_u(c, "disposition", disposition);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_handle(c, "template", templ);
        LIVE(h = INNER_TABLE->CreateFileW(name, access, share, sa, disposition, flags, templ));
        mb_rec_out_handle(c, "return", &h);
        END(h, INVALID_HANDLE_VALUE);
}

static BOOL WINAPI x_DeviceIoControl(HANDLE h, DWORD code, LPVOID in, DWORD in_len, LPVOID out,
                                     DWORD out_len, LPDWORD ret_len, LPOVERLAPPED ov)
{
        BOOL r = FALSE;

        BEGIN("DeviceIoControl", FALSE);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_x(c, "code", code);
        mb_rec_in_bytes(c, "in", in, in_len);
        mb_rec_in_u(c, "out_len", out_len);
        mb_rec_in_ptr(c, "overlapped", ov);
        LIVE(r = INNER_TABLE->DeviceIoControl(h, code, in, in_len, out, out_len, ret_len, ov));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_u32(c, "ret_len", ret_len);
                mb_rec_out_bytes(c, "out", out, out_len, ret_len ? *ret_len : 0);
        }
        END(r, FALSE);
}

static BOOL WINAPI x_CloseHandle(HANDLE h)
{
        BOOL r = FALSE;

        BEGIN("CloseHandle", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->CloseHandle(h));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_ReadFile(HANDLE h, LPVOID buf, DWORD len, LPDWORD ret_len, LPOVERLAPPED ov)
{
        BOOL r = FALSE;

        BEGIN("ReadFile", FALSE);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_u(c, "len", len);
        mb_rec_in_ptr(c, "overlapped", ov);
        LIVE(r = INNER_TABLE->ReadFile(h, buf, len, ret_len, ov));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_u32(c, "ret_len", ret_len);
                mb_rec_out_bytes(c, "data", buf, len, ret_len ? *ret_len : 0);
        }
        END(r, FALSE);
}

static BOOL WINAPI x_WriteFile(HANDLE h, LPCVOID buf, DWORD len, LPDWORD ret_len, LPOVERLAPPED ov)
{
        BOOL r = FALSE;

        BEGIN("WriteFile", FALSE);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_bytes(c, "data", buf, len);
        mb_rec_in_ptr(c, "overlapped", ov);
        LIVE(r = INNER_TABLE->WriteFile(h, buf, len, ret_len, ov));
        ret_bool(c, &r);
        if (r)
                mb_rec_out_u32(c, "ret_len", ret_len);
        END(r, FALSE);
}

static BOOL WINAPI x_SetFilePointerEx(HANDLE h, LARGE_INTEGER dist, LARGE_INTEGER *ret_pos,
                                      DWORD method)
{
        BOOL r = FALSE;
        uint64_t pos = 0;

        BEGIN("SetFilePointerEx", FALSE);
        mb_rec_in_handle(c, "handle", h);
        in_i(c, "distance", (long long)dist.QuadPart);
        mb_rec_in_u(c, "method", method);
        LIVE(r = INNER_TABLE->SetFilePointerEx(h, dist, ret_pos, method));
        ret_bool(c, &r);
        if (r) {
                if (ret_pos)
                        pos = (uint64_t)ret_pos->QuadPart;
                out_u64(c, "position", ret_pos ? &pos : NULL);
                if (ret_pos)
                        ret_pos->QuadPart = (int64_t)pos;
        }
        END(r, FALSE);
}

static BOOL WINAPI x_FlushFileBuffers(HANDLE h)
{
        BOOL r = FALSE;

        BEGIN("FlushFileBuffers", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->FlushFileBuffers(h));
        ret_bool(c, &r);
        END(r, FALSE);
}

static HANDLE WINAPI x_FindFirstVolumeW(LPWSTR name, DWORD len)
{
        HANDLE h = INVALID_HANDLE_VALUE;

        BEGIN("FindFirstVolumeW", INVALID_HANDLE_VALUE);
        mb_rec_in_u(c, "len", len);
        LIVE(h = INNER_TABLE->FindFirstVolumeW(name, len));
        mb_rec_out_handle(c, "return", &h);
        if (h != INVALID_HANDLE_VALUE)
                mb_rec_out_wstr(c, "name", name, len);
        END(h, INVALID_HANDLE_VALUE);
}

static BOOL WINAPI x_FindNextVolumeW(HANDLE h, LPWSTR name, DWORD len)
{
        BOOL r = FALSE;

        BEGIN("FindNextVolumeW", FALSE);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->FindNextVolumeW(h, name, len));
        ret_bool(c, &r);
        if (r)
                mb_rec_out_wstr(c, "name", name, len);
        END(r, FALSE);
}

static BOOL WINAPI x_FindVolumeClose(HANDLE h)
{
        BOOL r = FALSE;

        BEGIN("FindVolumeClose", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->FindVolumeClose(h));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_GetVolumeInformationW(LPCWSTR root, LPWSTR label, DWORD label_len,
                                           LPDWORD serial, LPDWORD max_component,
                                           LPDWORD fs_flags, LPWSTR fs_name, DWORD fs_name_len)
{
        BOOL r = FALSE;

        BEGIN("GetVolumeInformationW", FALSE);
        mb_rec_in_wstr(c, "root", root);
        mb_rec_in_u(c, "label_len", label ? label_len : 0);
        mb_rec_in_u(c, "fs_name_len", fs_name ? fs_name_len : 0);
        LIVE(r = INNER_TABLE->GetVolumeInformationW(root, label, label_len, serial, max_component, fs_flags,
                                           fs_name, fs_name_len));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_wstr(c, "label", label, label_len);
                mb_rec_out_u32(c, "serial", serial);
                mb_rec_out_u32(c, "max_component", max_component);
                mb_rec_out_u32(c, "fs_flags", fs_flags);
                mb_rec_out_wstr(c, "fs_name", fs_name, fs_name_len);
        }
        END(r, FALSE);
}

static DWORD WINAPI x_QueryDosDeviceW(LPCWSTR device, LPWSTR target, DWORD len)
{
        DWORD r = 0;

        BEGIN("QueryDosDeviceW", 0);
        mb_rec_in_wstr(c, "device", device);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->QueryDosDeviceW(device, target, len));
        ret_u32(c, &r);
        if (r)
                mb_rec_out_wstr(c, "target", target, len);
        END(r, 0);
}

static HANDLE WINAPI x_FindFirstFileW(LPCWSTR pattern, LPWIN32_FIND_DATAW data)
{
        HANDLE h = INVALID_HANDLE_VALUE;

        BEGIN("FindFirstFileW", INVALID_HANDLE_VALUE);
        mb_rec_in_wstr(c, "pattern", pattern);
        LIVE(h = INNER_TABLE->FindFirstFileW(pattern, data));
        mb_rec_out_handle(c, "return", &h);
        if (h != INVALID_HANDLE_VALUE)
                out_find_data(c, data);
        END(h, INVALID_HANDLE_VALUE);
}

static BOOL WINAPI x_FindNextFileW(HANDLE h, LPWIN32_FIND_DATAW data)
{
        BOOL r = FALSE;

        BEGIN("FindNextFileW", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->FindNextFileW(h, data));
        ret_bool(c, &r);
        if (r)
                out_find_data(c, data);
        END(r, FALSE);
}

static BOOL WINAPI x_FindClose(HANDLE h)
{
        BOOL r = FALSE;

        BEGIN("FindClose", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->FindClose(h));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_CopyFileW(LPCWSTR from, LPCWSTR to, BOOL fail_if_exists)
{
        BOOL r = FALSE;

        BEGIN("CopyFileW", FALSE);
        mb_rec_in_wstr(c, "from", from);
        mb_rec_in_wstr(c, "to", to);
        mb_rec_in_u(c, "fail_if_exists", (unsigned)fail_if_exists);
        LIVE(r = INNER_TABLE->CopyFileW(from, to, fail_if_exists));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_CreateDirectoryW(LPCWSTR path, LPSECURITY_ATTRIBUTES sa)
{
        BOOL r = FALSE;

        BEGIN("CreateDirectoryW", FALSE);
        mb_rec_in_wstr(c, "path", path);
        mb_rec_in_ptr(c, "security", sa);
        LIVE(r = INNER_TABLE->CreateDirectoryW(path, sa));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_DeleteFileW(LPCWSTR path)
{
        BOOL r = FALSE;

        BEGIN("DeleteFileW", FALSE);
        mb_rec_in_wstr(c, "path", path);
        LIVE(r = INNER_TABLE->DeleteFileW(path));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_RemoveDirectoryW(LPCWSTR path)
{
        BOOL r = FALSE;

        BEGIN("RemoveDirectoryW", FALSE);
        mb_rec_in_wstr(c, "path", path);
        LIVE(r = INNER_TABLE->RemoveDirectoryW(path));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_MoveFileExW(LPCWSTR from, LPCWSTR to, DWORD flags)
{
        BOOL r = FALSE;

        BEGIN("MoveFileExW", FALSE);
        mb_rec_in_wstr(c, "from", from);
        mb_rec_in_wstr(c, "to", to);
        mb_rec_in_x(c, "flags", flags);
        LIVE(r = INNER_TABLE->MoveFileExW(from, to, flags));
        ret_bool(c, &r);
        END(r, FALSE);
}

static DWORD WINAPI x_GetTempPathW(DWORD len, LPWSTR buf)
{
        DWORD r = 0;

        BEGIN("GetTempPathW", 0);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->GetTempPathW(len, buf));
        ret_u32(c, &r);
        if (r && r < len)
                mb_rec_out_wstr(c, "path", buf, len);
        END(r, 0);
}

static DWORD WINAPI x_GetTempPath2W(DWORD len, LPWSTR buf)
{
        DWORD r = 0;

        BEGIN("GetTempPath2W", 0);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->GetTempPath2W(len, buf));
        ret_u32(c, &r);
        if (r && r < len)
                mb_rec_out_wstr(c, "path", buf, len);
        END(r, 0);
}

static UINT WINAPI x_GetSystemWindowsDirectoryW(LPWSTR buf, UINT len)
{
        DWORD r = 0;

        BEGIN("GetSystemWindowsDirectoryW", 0);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->GetSystemWindowsDirectoryW(buf, len));
        ret_u32(c, &r);
        if (r && r < len)
                mb_rec_out_wstr(c, "path", buf, len);
        END((UINT)r, 0);
}

#define ERROR_MORE_DATA_ 234

/* The results of a registry value read: type, size, bytes (cap: the size on entry). */
static void out_reg_value(mb_rec_call *c, LONG r, LPDWORD type, void *data, LPDWORD len, DWORD cap)
{
        if (r != 0 && r != ERROR_MORE_DATA_)
                return;
        mb_rec_out_u32(c, "type", type);
        mb_rec_out_u32(c, "data_len", len);
        mb_rec_out_bytes(c, "data", r == 0 ? data : NULL, cap, len ? *len : 0);
}

static LONG WINAPI x_RegGetValueW(HKEY key, LPCWSTR subkey, LPCWSTR value, DWORD flags,
                                  LPDWORD ret_type, PVOID data, LPDWORD data_len)
{
        DWORD cap = data_len ? *data_len : 0;
        LONG r = 0;

        BEGIN("RegGetValueW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        mb_rec_in_wstr(c, "subkey", subkey);
        mb_rec_in_wstr(c, "value", value);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_ptr(c, "data", data);
        in_len(c, "data_len", data_len);
        LIVE(r = INNER_TABLE->RegGetValueW(key, subkey, value, flags, ret_type, data, data_len));
        ret_long(c, &r);
        out_reg_value(c, r, ret_type, data, data_len, cap);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegOpenKeyExW(HKEY key, LPCWSTR subkey, DWORD options, REGSAM sam, PHKEY ret_key)
{
        LONG r = 0;

        BEGIN("RegOpenKeyExW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        mb_rec_in_wstr(c, "subkey", subkey);
        mb_rec_in_x(c, "options", options);
        mb_rec_in_x(c, "sam", sam);
        LIVE(r = INNER_TABLE->RegOpenKeyExW(key, subkey, options, sam, ret_key));
        ret_long(c, &r);
        if (r == 0)
                out_key(c, "key_opened", ret_key);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegEnumKeyExW(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                   LPDWORD reserved, LPWSTR cls, LPDWORD cls_len, PFILETIME last_write)
{
        DWORD name_cap = name_len ? *name_len : 0, cls_cap = cls_len ? *cls_len : 0;
        LONG r = 0;

        BEGIN("RegEnumKeyExW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        mb_rec_in_u(c, "index", index);
        in_len(c, "name_len", name_len);
        mb_rec_in_ptr(c, "reserved", reserved);
        mb_rec_in_ptr(c, "class", cls);
        in_len(c, "class_len", cls_len);
        LIVE(r = INNER_TABLE->RegEnumKeyExW(key, index, name, name_len, reserved, cls, cls_len, last_write));
        ret_long(c, &r);
        if (r == 0) {
                mb_rec_out_u32(c, "name_len", name_len);
                mb_rec_out_wstr(c, "name", name, name_cap);
                mb_rec_out_u32(c, "class_len", cls_len);
                mb_rec_out_wstr(c, "class", cls, cls_cap);
                out_filetime(c, "last_write", last_write);
        }
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegQueryValueExW(HKEY key, LPCWSTR value, LPDWORD reserved, LPDWORD ret_type,
                                      LPBYTE data, LPDWORD data_len)
{
        DWORD cap = data_len ? *data_len : 0;
        LONG r = 0;

        BEGIN("RegQueryValueExW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        mb_rec_in_wstr(c, "value", value);
        mb_rec_in_ptr(c, "reserved", reserved);
        mb_rec_in_ptr(c, "data", data);
        in_len(c, "data_len", data_len);
        LIVE(r = INNER_TABLE->RegQueryValueExW(key, value, reserved, ret_type, data, data_len));
        ret_long(c, &r);
        out_reg_value(c, r, ret_type, data, data_len, cap);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegEnumValueW(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                   LPDWORD reserved, LPDWORD ret_type, LPBYTE data, LPDWORD data_len)
{
        DWORD name_cap = name_len ? *name_len : 0, cap = data_len ? *data_len : 0;
        LONG r = 0;

        BEGIN("RegEnumValueW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        mb_rec_in_u(c, "index", index);
        in_len(c, "name_len", name_len);
        mb_rec_in_ptr(c, "reserved", reserved);
        mb_rec_in_ptr(c, "data", data);
        in_len(c, "data_len", data_len);
        LIVE(r = INNER_TABLE->RegEnumValueW(key, index, name, name_len, reserved, ret_type, data, data_len));
        ret_long(c, &r);
        if (r == 0 || r == ERROR_MORE_DATA_) {
                mb_rec_out_u32(c, "name_len", name_len);
                mb_rec_out_wstr(c, "name", r == 0 ? name : NULL, name_cap);
        }
        out_reg_value(c, r, ret_type, data, data_len, cap);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegCloseKey(HKEY key)
{
        LONG r = 0;

        BEGIN("RegCloseKey", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_handle(c, "key", (HANDLE)key);
        LIVE(r = INNER_TABLE->RegCloseKey(key));
        ret_long(c, &r);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static LONG WINAPI x_RegLoadAppKeyW(LPCWSTR file, PHKEY ret_key, REGSAM sam, DWORD options,
                                    DWORD reserved)
{
        LONG r = 0;

        BEGIN("RegLoadAppKeyW", (LONG)REPLAY_FAILED_ERROR);
        mb_rec_in_wstr(c, "file", file);
        mb_rec_in_x(c, "sam", sam);
        mb_rec_in_x(c, "options", options);
        mb_rec_in_u(c, "reserved", reserved);
        LIVE(r = INNER_TABLE->RegLoadAppKeyW(file, ret_key, sam, options, reserved));
        ret_long(c, &r);
        if (r == 0)
                out_key(c, "key_opened", ret_key);
        END(r, (LONG)REPLAY_FAILED_ERROR);
}

static BOOL WINAPI x_GetFirmwareType(FIRMWARE_TYPE *ret)
{
        BOOL r = FALSE;
        DWORD t;

        BEGIN("GetFirmwareType", FALSE);
        LIVE(r = INNER_TABLE->GetFirmwareType(ret));
        ret_bool(c, &r);
        if (r) {
                t = ret ? (DWORD)*ret : 0;
                mb_rec_out_u32(c, "type", ret ? &t : NULL);
                if (ret)
                        *ret = (FIRMWARE_TYPE)t;
        }
        END(r, FALSE);
}

static DWORD WINAPI x_GetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        DWORD r = 0;

        BEGIN("GetFirmwareEnvironmentVariableW", 0);
        mb_rec_in_wstr(c, "name", name);
        mb_rec_in_wstr(c, "guid", guid);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->GetFirmwareEnvironmentVariableW(name, guid, buf, len));
        ret_u32(c, &r);
        if (r)
                mb_rec_out_bytes(c, "data", buf, len, r);
        END(r, 0);
}

static BOOL WINAPI x_SetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        BOOL r = FALSE;

        BEGIN("SetFirmwareEnvironmentVariableW", FALSE);
        mb_rec_in_wstr(c, "name", name);
        mb_rec_in_wstr(c, "guid", guid);
        mb_rec_in_bytes(c, "data", buf, len);
        LIVE(r = INNER_TABLE->SetFirmwareEnvironmentVariableW(name, guid, buf, len));
        ret_bool(c, &r);
        END(r, FALSE);
}

static BOOL WINAPI x_CreateProcessW(LPCWSTR app, LPWSTR cmdline, LPSECURITY_ATTRIBUTES psa,
                                    LPSECURITY_ATTRIBUTES tsa, BOOL inherit, DWORD flags,
                                    LPVOID env, LPCWSTR cwd, LPSTARTUPINFOW si,
                                    LPPROCESS_INFORMATION pi)
{
        BOOL r = FALSE;

        BEGIN("CreateProcessW", FALSE);
        mb_rec_in_wstr(c, "application", app);
        mb_rec_in_wstr(c, "command_line", cmdline);
        mb_rec_in_ptr(c, "process_security", psa);
        mb_rec_in_ptr(c, "thread_security", tsa);
        mb_rec_in_u(c, "inherit", (unsigned)inherit);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_ptr(c, "environment", env);
        mb_rec_in_wstr(c, "directory", cwd);
        mb_rec_in_x(c, "startup_flags", si ? si->dwFlags : 0);
        mb_rec_in_handle(c, "stdin", si ? si->hStdInput : NULL);
        mb_rec_in_handle(c, "stdout", si ? si->hStdOutput : NULL);
        mb_rec_in_handle(c, "stderr", si ? si->hStdError : NULL);
        LIVE(r = INNER_TABLE->CreateProcessW(app, cmdline, psa, tsa, inherit, flags, env, cwd, si, pi));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_handle(c, "process", pi ? &pi->hProcess : NULL);
                mb_rec_out_handle(c, "thread", pi ? &pi->hThread : NULL);
                mb_rec_out_u32(c, "process_id", pi ? &pi->dwProcessId : NULL);
                mb_rec_out_u32(c, "thread_id", pi ? &pi->dwThreadId : NULL);
        }
        END(r, FALSE);
}

static DWORD WINAPI x_WaitForSingleObject(HANDLE h, DWORD ms)
{
        DWORD r = 0;

        BEGIN("WaitForSingleObject", 0xFFFFFFFFu);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_u(c, "ms", ms);
        LIVE(r = INNER_TABLE->WaitForSingleObject(h, ms));
        ret_u32(c, &r);
        END(r, 0xFFFFFFFFu);
}

static BOOL WINAPI x_GetExitCodeProcess(HANDLE h, LPDWORD ret_code)
{
        BOOL r = FALSE;

        BEGIN("GetExitCodeProcess", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->GetExitCodeProcess(h, ret_code));
        ret_bool(c, &r);
        if (r)
                mb_rec_out_u32(c, "code", ret_code);
        END(r, FALSE);
}

static BOOL WINAPI x_CreatePipe(HANDLE *ret_read, HANDLE *ret_write, LPSECURITY_ATTRIBUTES sa, DWORD size)
{
        BOOL r = FALSE;

        BEGIN("CreatePipe", FALSE);
        mb_rec_in_u(c, "inherit", sa ? (unsigned)sa->bInheritHandle : 0);
        mb_rec_in_u(c, "size", size);
        LIVE(r = INNER_TABLE->CreatePipe(ret_read, ret_write, sa, size));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_handle(c, "read", ret_read);
                mb_rec_out_handle(c, "write", ret_write);
        }
        END(r, FALSE);
}

static BOOL WINAPI x_SetHandleInformation(HANDLE h, DWORD mask, DWORD flags)
{
        BOOL r = FALSE;

        BEGIN("SetHandleInformation", FALSE);
        mb_rec_in_handle(c, "handle", h);
        mb_rec_in_x(c, "mask", mask);
        mb_rec_in_x(c, "flags", flags);
        LIVE(r = INNER_TABLE->SetHandleInformation(h, mask, flags));
        ret_bool(c, &r);
        END(r, FALSE);
}

static HANDLE WINAPI x_GetCurrentProcess(void)
{
        HANDLE h = NULL;

        BEGIN("GetCurrentProcess", NULL);
        LIVE(h = INNER_TABLE->GetCurrentProcess());
        mb_rec_out_handle(c, "return", &h);
        END(h, NULL);
}

static BOOL WINAPI x_OpenProcessToken(HANDLE process, DWORD access, HANDLE *ret_token)
{
        BOOL r = FALSE;

        BEGIN("OpenProcessToken", FALSE);
        mb_rec_in_handle(c, "process", process);
        mb_rec_in_x(c, "access", access);
        LIVE(r = INNER_TABLE->OpenProcessToken(process, access, ret_token));
        ret_bool(c, &r);
        if (r)
                mb_rec_out_handle(c, "token", ret_token);
        END(r, FALSE);
}

#define TOKEN_ELEVATION_CLASS 20

static BOOL WINAPI x_GetTokenInformation(HANDLE token, TOKEN_INFORMATION_CLASS cls, LPVOID buf,
                                         DWORD len, LPDWORD ret_len)
{
        BOOL r = FALSE;

        BEGIN("GetTokenInformation", FALSE);
        mb_rec_in_handle(c, "token", token);
        mb_rec_in_u(c, "class", (unsigned)cls);
        mb_rec_in_ptr(c, "buffer", buf);
        mb_rec_in_u(c, "len", len);
        LIVE(r = INNER_TABLE->GetTokenInformation(token, cls, buf, len, ret_len));
        ret_bool(c, &r);
        mb_rec_out_u32(c, "ret_len", ret_len);
        if (r && (unsigned)cls == TOKEN_ELEVATION_CLASS)
                mb_rec_out_bytes(c, "data", buf, len, ret_len ? *ret_len : 0);
        else if (r)
                unrecorded(c, "data");
        END(r, FALSE);
}

static BOOL WINAPI x_LookupPrivilegeValueW(LPCWSTR system, LPCWSTR name, PLUID ret_luid)
{
        BOOL r = FALSE;

        BEGIN("LookupPrivilegeValueW", FALSE);
        mb_rec_in_wstr(c, "system", system);
        mb_rec_in_wstr(c, "name", name);
        LIVE(r = INNER_TABLE->LookupPrivilegeValueW(system, name, ret_luid));
        ret_bool(c, &r);
        if (r) {
                mb_rec_out_u32(c, "luid_low", ret_luid ? &ret_luid->LowPart : NULL);
                mb_rec_out_i32(c, "luid_high", ret_luid ? (int32_t *)&ret_luid->HighPart : NULL);
        }
        END(r, FALSE);
}

static BOOL WINAPI x_AdjustTokenPrivileges(HANDLE token, BOOL disable_all, PTOKEN_PRIVILEGES state,
                                           DWORD len, PTOKEN_PRIVILEGES prev, LPDWORD ret_len)
{
        BOOL r = FALSE;

        BEGIN("AdjustTokenPrivileges", FALSE);
        mb_rec_in_handle(c, "token", token);
        mb_rec_in_u(c, "disable_all", (unsigned)disable_all);
        mb_rec_in_bytes(c, "state", state, state ? len : 0);
        mb_rec_in_ptr(c, "previous", prev);
        LIVE(r = INNER_TABLE->AdjustTokenPrivileges(token, disable_all, state, len, prev, ret_len));
        ret_bool(c, &r);
        if (r && prev)
                unrecorded(c, "previous");
        if (r)
                mb_rec_out_u32(c, "ret_len", ret_len);
        END(r, FALSE);
}

static DWORD WINAPI x_GetNamedSecurityInfoW(LPCWSTR name, SE_OBJECT_TYPE type, SECURITY_INFORMATION info,
                                            PSID *ret_owner, PSID *ret_group, PACL *ret_dacl,
                                            PACL *ret_sacl, PSECURITY_DESCRIPTOR *ret_sd)
{
        DWORD r = 0;

        BEGIN("GetNamedSecurityInfoW", REPLAY_FAILED_ERROR);
        mb_rec_in_wstr(c, "name", name);
        mb_rec_in_u(c, "type", (unsigned)type);
        mb_rec_in_x(c, "info", info);
        LIVE(r = INNER_TABLE->GetNamedSecurityInfoW(name, type, info, ret_owner, ret_group, ret_dacl, ret_sacl,
                                           ret_sd));
        ret_u32(c, &r);
        if (r == 0)
                unrecorded(c, "security_descriptor");
        END(r, REPLAY_FAILED_ERROR);
}

static HLOCAL WINAPI x_LocalFree(HLOCAL p)
{
        DWORD r = 0;
        HLOCAL back = NULL;

        BEGIN("LocalFree", p);
        mb_rec_in_ptr(c, "memory", p);
        LIVE(back = INNER_TABLE->LocalFree(p); r = back != NULL);
        mb_rec_out_u32(c, "failed", &r);
        END(r ? p : NULL, p);
}

static HRESULT WINAPI x_CoInitializeEx(LPVOID reserved, DWORD flags)
{
        LONG r = 0;

        BEGIN("CoInitializeEx", (HRESULT)0x80004005u);
        mb_rec_in_ptr(c, "reserved", reserved);
        mb_rec_in_x(c, "flags", flags);
        LIVE(r = INNER_TABLE->CoInitializeEx(reserved, flags));
        ret_long(c, &r);
        END((HRESULT)r, (HRESULT)0x80004005u);
}

static HRESULT WINAPI x_CoCreateInstance(REFCLSID clsid, LPVOID outer, DWORD ctx, REFIID iid, LPVOID *ret)
{
        LONG r = 0;

        BEGIN("CoCreateInstance", (HRESULT)0x80004005u);
        mb_rec_in_guid(c, "class", clsid);
        mb_rec_in_ptr(c, "outer", outer);
        mb_rec_in_x(c, "context", ctx);
        mb_rec_in_guid(c, "interface", iid);
        LIVE(r = INNER_TABLE->CoCreateInstance(clsid, outer, ctx, iid, ret));
        ret_long(c, &r);
        if (SUCCEEDED(r))
                mb_rec_out_obj(c, "object", ret, iid);
        END((HRESULT)r, (HRESULT)0x80004005u);
}

static void WINAPI x_CoUninitialize(void)
{
        BEGIN("CoUninitialize", );
        LIVE(INNER_TABLE->CoUninitialize());
        mb_rec_end(c);
}

static HRESULT WINAPI x_CoInitializeSecurity(PSECURITY_DESCRIPTOR sd, LONG n_auth, void *auth,
                                             void *reserved1, DWORD authn_level, DWORD imp_level,
                                             void *auth_list, DWORD capabilities, void *reserved3)
{
        LONG r = 0;

        BEGIN("CoInitializeSecurity", (HRESULT)0x80004005u);
        mb_rec_in_ptr(c, "security", sd);
        in_i(c, "n_auth", n_auth);
        mb_rec_in_ptr(c, "auth", auth);
        mb_rec_in_ptr(c, "reserved1", reserved1);
        mb_rec_in_u(c, "authn_level", authn_level);
        mb_rec_in_u(c, "imp_level", imp_level);
        mb_rec_in_ptr(c, "auth_list", auth_list);
        mb_rec_in_x(c, "capabilities", capabilities);
        mb_rec_in_ptr(c, "reserved3", reserved3);
        LIVE(r = INNER_TABLE->CoInitializeSecurity(sd, n_auth, auth, reserved1, authn_level, imp_level,
                                          auth_list, capabilities, reserved3));
        ret_long(c, &r);
        END((HRESULT)r, (HRESULT)0x80004005u);
}

/* What COM methods handed out (strings, arrays): the inner allocator's
 * memory when recording, the replay's own (malloc) when replaying. */
static void WINAPI x_CoTaskMemFree(LPVOID p)
{
        BEGIN("CoTaskMemFree", );
        mb_rec_in_ptr(c, "memory", p);
        if (mb_rec_live(c)) {
                INNER_TABLE->CoTaskMemFree(p);
                mb_rec_after(c);
                mb_rec_end(c);
        } else if (mb_rec_end(c)) {
                free(p);
        }
}

static DWORD WINAPI x_GetLastError(void)
{
        mb_win_rec *r = cur();

        return r ? r->last_error : 0;
}

static void WINAPI x_Sleep(DWORD ms)
{
        BEGIN("Sleep", );
        mb_rec_in_u(c, "ms", ms);
        LIVE(INNER_TABLE->Sleep(ms));
        mb_rec_end(c);
}

static UINT WINAPI x_SetErrorMode(UINT mode)
{
        DWORD r = 0;

        BEGIN("SetErrorMode", 0);
        mb_rec_in_x(c, "mode", mode);
        LIVE(r = INNER_TABLE->SetErrorMode(mode));
        ret_u32(c, &r);
        END((UINT)r, 0);
}

static DWORD WINAPI x_GetFileAttributesW(LPCWSTR path)
{
        DWORD r = 0xFFFFFFFFu;

        BEGIN("GetFileAttributesW", 0xFFFFFFFFu);
        mb_rec_in_wstr(c, "path", path);
        LIVE(r = INNER_TABLE->GetFileAttributesW(path));
        ret_u32(c, &r);
        END(r, 0xFFFFFFFFu);
}

static BOOL WINAPI x_GetFileInformationByHandle(HANDLE h, LPBY_HANDLE_FILE_INFORMATION ret)
{
        BOOL r = FALSE;

        BEGIN("GetFileInformationByHandle", FALSE);
        mb_rec_in_handle(c, "handle", h);
        LIVE(r = INNER_TABLE->GetFileInformationByHandle(h, ret));
        ret_bool(c, &r);
        if (r)
                mb_rec_out_bytes(c, "info", ret, sizeof(*ret), sizeof(*ret));
        END(r, FALSE);
}

/* The folder's path is CoTaskMem memory: recorded as text, replayed as a
 * malloc'd copy (x_CoTaskMemFree frees either). */
static HRESULT WINAPI x_SHGetKnownFolderPath(const GUID *id, DWORD flags, HANDLE token,
                                             LPWSTR *ret_path)
{
        LONG r = 0;

        BEGIN("SHGetKnownFolderPath", (HRESULT)0x80004005u);
        mb_rec_in_guid(c, "folder", id);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_ptr(c, "token", token);
        LIVE(r = INNER_TABLE->SHGetKnownFolderPath(id, flags, token, ret_path));
        ret_long(c, &r);
        if (r >= 0)
                mb_rec_out_costr(c, "path", ret_path);
        END((HRESULT)r, (HRESULT)0x80004005u);
}

static BOOL WINAPI x_ConvertStringSecurityDescriptorToSecurityDescriptorW(
        LPCWSTR sddl, DWORD revision, PSECURITY_DESCRIPTOR *ret_sd, ULONG *ret_len)
{
        BOOL r = FALSE;

        BEGIN("ConvertStringSecurityDescriptorToSecurityDescriptorW", FALSE);
        mb_rec_in_wstr(c, "sddl", sddl);
        mb_rec_in_u(c, "revision", revision);
        LIVE(r = INNER_TABLE->ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, revision,
                                                                                   ret_sd, ret_len));
        ret_bool(c, &r);
        if (r)
                unrecorded(c, "security_descriptor");
        END(r, FALSE);
}

static BOOL WINAPI x_SetFileAttributesW(LPCWSTR path, DWORD attributes)
{
        BOOL r = FALSE;

        BEGIN("SetFileAttributesW", FALSE);
        mb_rec_in_wstr(c, "path", path);
        mb_rec_in_x(c, "attributes", attributes);
        LIVE(r = INNER_TABLE->SetFileAttributesW(path, attributes));
        ret_bool(c, &r);
        END(r, FALSE);
}

/* Memory from VirtualAlloc is the process's own: recorded as whether it was
 * given; a replay gives page-aligned zeroed memory of the size asked for. */
static LPVOID WINAPI x_VirtualAlloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect)
{
        LPVOID p = NULL;
        DWORD given = 0;

        BEGIN("VirtualAlloc", NULL);
        mb_rec_in_ptr(c, "address", address);
        mb_rec_in_u(c, "size", (unsigned long long)size);
        mb_rec_in_x(c, "type", type);
        mb_rec_in_x(c, "protect", protect);
        LIVE(p = INNER_TABLE->VirtualAlloc(address, size, type, protect); given = p != NULL);
        mb_rec_out_u32(c, "given", &given);
        if (!mb_rec_end(c))
                return NULL;
        if (!mb_rec_live(c) && given)
                p = aligned_zalloc(size);
        return p;
}

static BOOL WINAPI x_VirtualFree(LPVOID address, SIZE_T size, DWORD type)
{
        BOOL r = FALSE;

        BEGIN("VirtualFree", FALSE);
        mb_rec_in_ptr(c, "address", address);
        mb_rec_in_u(c, "size", (unsigned long long)size);
        mb_rec_in_x(c, "type", type);
        LIVE(r = INNER_TABLE->VirtualFree(address, size, type));
        ret_bool(c, &r);
        if (!mb_rec_end(c))
                return FALSE;
        if (!mb_rec_live(c) && r)
                aligned_free(address);
        return r;
}

/* ---- crypt32 ---- */

/* A byte string the call hands out inside a structure (a name, a serial
 * number, a digest): recording, its bytes; replay, *ret points at the
 * recording's copy (owned by the session). */
static bool out_blob(mb_rec_call *c, const char *key, const BYTE *p, DWORD n, const uint8_t **ret,
                     size_t *ret_n)
{
        field *f;

        if (!c->r->replay) {
                sb_printf(&c->r->out, "< %s ", key);
                bytes_encode(&c->r->out, p, n);
                return true;
        }
        if (!(f = want_field(c, '<', key)))
                return false;
        *ret = f->bytes;
        *ret_n = f->n_bytes;
        return true;
}

static HCRYPTMSG WINAPI x_CryptMsgOpenToDecode(DWORD encoding, DWORD flags, DWORD type,
                                               HCRYPTPROV_LEGACY prov, PCERT_INFO recipient,
                                               PCMSG_STREAM_INFO stream)
{
        HCRYPTMSG r = NULL;

        BEGIN("CryptMsgOpenToDecode", NULL);
        mb_rec_in_x(c, "encoding", encoding);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_u(c, "type", type);
        mb_rec_in_u(c, "provider", (unsigned long long)prov);
        mb_rec_in_ptr(c, "recipient", recipient);
        mb_rec_in_ptr(c, "stream", stream);
        LIVE(r = INNER_TABLE->CryptMsgOpenToDecode(encoding, flags, type, prov, recipient, stream));
        mb_rec_out_handle(c, "msg", &r);
        END(r, NULL);
}

static BOOL WINAPI x_CryptMsgUpdate(HCRYPTMSG msg, const BYTE *data, DWORD len, BOOL final)
{
        BOOL r = FALSE;

        BEGIN("CryptMsgUpdate", FALSE);
        mb_rec_in_handle(c, "msg", msg);
        mb_rec_in_bytes(c, "data", data, len);
        mb_rec_in_u(c, "final", (unsigned)final);
        LIVE(r = INNER_TABLE->CryptMsgUpdate(msg, data, len, final));
        ret_bool(c, &r);
        END(r, FALSE);
}

/* CMSG_SIGNER_CERT_INFO_PARAM hands out a CERT_INFO whose Issuer and
 * SerialNumber point into the caller's buffer: recorded as the two blobs,
 * rebuilt the same way on replay. Every other parameter the target asks
 * for (certificate count, certificates, content) is plain bytes. */
static BOOL WINAPI x_CryptMsgGetParam(HCRYPTMSG msg, DWORD param, DWORD index, void *data, DWORD *len)
{
        BOOL r = FALSE;
        DWORD cap = len ? *len : 0;

        BEGIN("CryptMsgGetParam", FALSE);
        mb_rec_in_handle(c, "msg", msg);
        mb_rec_in_u(c, "param", param);
        mb_rec_in_u(c, "index", index);
        mb_rec_in_u(c, "cap", data ? cap : 0);
        LIVE(r = INNER_TABLE->CryptMsgGetParam(msg, param, index, data, len));
        ret_bool(c, &r);
        if (!r)
                END(r, FALSE);
        mb_rec_out_u32(c, "len", len);
        if (!data || !len) {
                END(r, FALSE);
        } else if (param == CMSG_SIGNER_CERT_INFO_PARAM) {
                CERT_INFO *ci = data;
                bool live = mb_rec_live(c);     /* on replay data is the target's empty buffer */
                const uint8_t *issuer = NULL, *serial = NULL;
                size_t ni = 0, ns = 0;

                if (!out_blob(c, "issuer", live ? ci->Issuer.pbData : NULL, live ? ci->Issuer.cbData : 0,
                              &issuer, &ni) ||
                    !out_blob(c, "serial", live ? ci->SerialNumber.pbData : NULL,
                              live ? ci->SerialNumber.cbData : 0, &serial, &ns))
                        END(r, FALSE);
                if (!mb_rec_live(c)) {
                        if (cap < sizeof(*ci) + ni + ns) {
                                failf(c, "call %u CryptMsgGetParam: the recorded CERT_INFO needs %zu bytes, the target's buffer holds %lu",
                                      c->r->n_done + 1, sizeof(*ci) + ni + ns, (unsigned long)cap);
                                END(r, FALSE);
                        }
                        memset(ci, 0, sizeof(*ci));
                        ci->Issuer.pbData = (BYTE *)(ci + 1);
                        ci->Issuer.cbData = (DWORD)ni;
                        ci->SerialNumber.pbData = ci->Issuer.pbData + ni;
                        ci->SerialNumber.cbData = (DWORD)ns;
                        if (ni)
                                memcpy(ci->Issuer.pbData, issuer, ni);
                        if (ns)
                                memcpy(ci->SerialNumber.pbData, serial, ns);
                }
        } else {
                mb_rec_out_bytes(c, "data", data, cap, *len);
        }
        END(r, FALSE);
}

static BOOL WINAPI x_CryptMsgClose(HCRYPTMSG msg)
{
        BOOL r = FALSE;

        BEGIN("CryptMsgClose", FALSE);
        mb_rec_in_handle(c, "msg", msg);
        LIVE(r = INNER_TABLE->CryptMsgClose(msg));
        ret_bool(c, &r);
        END(r, FALSE);
}

/* A certificate context made on replay: the context, its CERT_INFO and
 * the bytes they point at, in one allocation. */
typedef struct replay_cert {
        CERT_CONTEXT ctx;
        CERT_INFO info;
        BYTE data[];
} replay_cert;

/* The context points into crypt32's memory: recorded as the fields the
 * target reads (the encoding is the argument), rebuilt on replay. */
static PCCERT_CONTEXT WINAPI x_CertCreateCertificateContext(DWORD encoding, const BYTE *data, DWORD len)
{
        PCCERT_CONTEXT r = NULL;
        const uint8_t *subject = NULL, *issuer = NULL, *serial = NULL;
        size_t ns = 0, ni = 0, nr = 0;
        DWORD present;
        replay_cert *rc;

        BEGIN("CertCreateCertificateContext", NULL);
        mb_rec_in_x(c, "encoding", encoding);
        mb_rec_in_bytes(c, "data", data, len);
        LIVE(r = INNER_TABLE->CertCreateCertificateContext(encoding, data, len));
        present = r != NULL;
        mb_rec_out_u32(c, "cert", &present);
        if (!present)
                END(r, NULL);
        if (!out_blob(c, "subject", r ? r->pCertInfo->Subject.pbData : NULL,
                      r ? r->pCertInfo->Subject.cbData : 0, &subject, &ns) ||
            !out_blob(c, "issuer", r ? r->pCertInfo->Issuer.pbData : NULL,
                      r ? r->pCertInfo->Issuer.cbData : 0, &issuer, &ni) ||
            !out_blob(c, "serial", r ? r->pCertInfo->SerialNumber.pbData : NULL,
                      r ? r->pCertInfo->SerialNumber.cbData : 0, &serial, &nr))
                END(r, NULL);
        if (!mb_rec_live(c)) {
                if (!(rc = calloc(1, sizeof(*rc) + len + ns + ni + nr))) {
                        failf(c, "out of memory");
                        END(NULL, NULL);
                }
                rc->ctx.dwCertEncodingType = encoding;
                rc->ctx.pbCertEncoded = rc->data;
                rc->ctx.cbCertEncoded = len;
                rc->ctx.pCertInfo = &rc->info;
                memcpy(rc->data, data, len);
                rc->info.Subject.pbData = rc->data + len;
                rc->info.Subject.cbData = (DWORD)ns;
                rc->info.Issuer.pbData = rc->info.Subject.pbData + ns;
                rc->info.Issuer.cbData = (DWORD)ni;
                rc->info.SerialNumber.pbData = rc->info.Issuer.pbData + ni;
                rc->info.SerialNumber.cbData = (DWORD)nr;
                if (ns)
                        memcpy(rc->info.Subject.pbData, subject, ns);
                if (ni)
                        memcpy(rc->info.Issuer.pbData, issuer, ni);
                if (nr)
                        memcpy(rc->info.SerialNumber.pbData, serial, nr);
                r = &rc->ctx;
        }
        END(r, NULL);
}

static BOOL WINAPI x_CertFreeCertificateContext(PCCERT_CONTEXT cert)
{
        BOOL r = FALSE;

        BEGIN("CertFreeCertificateContext", FALSE);
        mb_rec_in_ptr(c, "cert", cert);
        LIVE(r = INNER_TABLE->CertFreeCertificateContext(cert));
        ret_bool(c, &r);
        if (!mb_rec_end(c))
                return FALSE;
        if (!mb_rec_live(c))
                free((void *)cert);     /* a replay_cert: ctx is its first member */
        return r;
}

static DWORD WINAPI x_CertNameToStrW(DWORD encoding, PCERT_NAME_BLOB name, DWORD type, LPWSTR buf,
                                     DWORD len)
{
        DWORD r = 0;

        BEGIN("CertNameToStrW", 0);
        mb_rec_in_x(c, "encoding", encoding);
        mb_rec_in_bytes(c, "name", name ? name->pbData : NULL, name ? name->cbData : 0);
        mb_rec_in_x(c, "type", type);
        mb_rec_in_u(c, "len", buf ? len : 0);
        LIVE(r = INNER_TABLE->CertNameToStrW(encoding, name, type, buf, len));
        ret_u32(c, &r);
        if (buf && len)
                mb_rec_out_wstr(c, "str", buf, len);
        END(r, 0);
}

/* Only the SpcIndirectDataContent is decoded: recorded as the digest's
 * algorithm and bytes (what the target reads), rebuilt on replay. */
static BOOL WINAPI x_CryptDecodeObjectEx(DWORD encoding, LPCSTR type, const BYTE *data, DWORD len,
                                         DWORD flags, PCRYPT_DECODE_PARA para, void *ret,
                                         DWORD *ret_len)
{
        BOOL r = FALSE;
        DWORD cap = ret_len ? *ret_len : 0;
        bool spc = type == SPC_INDIRECT_DATA_CONTENT_STRUCT;

        BEGIN("CryptDecodeObjectEx", FALSE);
        mb_rec_in_x(c, "encoding", encoding);
        mb_rec_in_u(c, "type", (unsigned long long)(uintptr_t)type);
        mb_rec_in_bytes(c, "data", data, len);
        mb_rec_in_x(c, "flags", flags);
        mb_rec_in_ptr(c, "para", para);
        mb_rec_in_u(c, "cap", ret ? cap : 0);
        LIVE(r = INNER_TABLE->CryptDecodeObjectEx(encoding, type, data, len, flags, para, ret, ret_len));
        ret_bool(c, &r);
        if (!r)
                END(r, FALSE);
        mb_rec_out_u32(c, "len", ret_len);
        if (!ret) {
                END(r, FALSE);
        } else if (!spc) {
                unrecorded(c, "value");
        } else {
                SPC_INDIRECT_DATA_CONTENT *v = ret;
                bool live = mb_rec_live(c);     /* on replay ret is the target's empty buffer */
                const char *oid = live ? v->DigestAlgorithm.pszObjId : NULL;
                const uint8_t *alg = NULL, *dig = NULL;
                size_t na = 0, nd = 0;

                if (!out_blob(c, "digest_algorithm", (const BYTE *)oid, oid ? (DWORD)strlen(oid) + 1 : 0,
                              &alg, &na) ||
                    !out_blob(c, "digest", live ? v->Digest.pbData : NULL, live ? v->Digest.cbData : 0,
                              &dig, &nd))
                        END(r, FALSE);
                if (!mb_rec_live(c)) {
                        if (cap < sizeof(*v) + na + nd || (na && alg[na - 1])) {
                                failf(c, "call %u CryptDecodeObjectEx: the recorded SPC_INDIRECT_DATA_CONTENT does not fit the target's %lu bytes",
                                      c->r->n_done + 1, (unsigned long)cap);
                                END(r, FALSE);
                        }
                        memset(v, 0, sizeof(*v));
                        v->DigestAlgorithm.pszObjId = na ? (char *)(v + 1) : NULL;
                        if (na)
                                memcpy(v + 1, alg, na);
                        v->Digest.pbData = (BYTE *)(v + 1) + na;
                        v->Digest.cbData = (DWORD)nd;
                        if (nd)
                                memcpy(v->Digest.pbData, dig, nd);
                }
        }
        END(r, FALSE);
}

static void rec_fill_table(mb_win32 *t)
{
        memset(t, 0, sizeof(*t));
        t->CreateFileW = x_CreateFileW;
        t->DeviceIoControl = x_DeviceIoControl;
        t->CloseHandle = x_CloseHandle;
        t->ReadFile = x_ReadFile;
        t->WriteFile = x_WriteFile;
        t->SetFilePointerEx = x_SetFilePointerEx;
        t->FlushFileBuffers = x_FlushFileBuffers;
        t->FindFirstVolumeW = x_FindFirstVolumeW;
        t->FindNextVolumeW = x_FindNextVolumeW;
        t->FindVolumeClose = x_FindVolumeClose;
        t->GetVolumeInformationW = x_GetVolumeInformationW;
        t->QueryDosDeviceW = x_QueryDosDeviceW;
        t->FindFirstFileW = x_FindFirstFileW;
        t->FindNextFileW = x_FindNextFileW;
        t->FindClose = x_FindClose;
        t->CopyFileW = x_CopyFileW;
        t->CreateDirectoryW = x_CreateDirectoryW;
        t->DeleteFileW = x_DeleteFileW;
        t->RemoveDirectoryW = x_RemoveDirectoryW;
        t->MoveFileExW = x_MoveFileExW;
        t->GetTempPathW = x_GetTempPathW;
        t->GetSystemWindowsDirectoryW = x_GetSystemWindowsDirectoryW;
        t->RegGetValueW = x_RegGetValueW;
        t->RegOpenKeyExW = x_RegOpenKeyExW;
        t->RegEnumKeyExW = x_RegEnumKeyExW;
        t->RegQueryValueExW = x_RegQueryValueExW;
        t->RegEnumValueW = x_RegEnumValueW;
        t->RegCloseKey = x_RegCloseKey;
        t->RegLoadAppKeyW = x_RegLoadAppKeyW;
        t->GetFirmwareType = x_GetFirmwareType;
        t->GetFirmwareEnvironmentVariableW = x_GetFirmwareEnvironmentVariableW;
        t->SetFirmwareEnvironmentVariableW = x_SetFirmwareEnvironmentVariableW;
        t->CreateProcessW = x_CreateProcessW;
        t->WaitForSingleObject = x_WaitForSingleObject;
        t->GetExitCodeProcess = x_GetExitCodeProcess;
        t->CreatePipe = x_CreatePipe;
        t->SetHandleInformation = x_SetHandleInformation;
        t->GetCurrentProcess = x_GetCurrentProcess;
        t->OpenProcessToken = x_OpenProcessToken;
        t->GetTokenInformation = x_GetTokenInformation;
        t->LookupPrivilegeValueW = x_LookupPrivilegeValueW;
        t->AdjustTokenPrivileges = x_AdjustTokenPrivileges;
        t->GetNamedSecurityInfoW = x_GetNamedSecurityInfoW;
        t->LocalFree = x_LocalFree;
        t->CoInitializeEx = x_CoInitializeEx;
        t->CoCreateInstance = x_CoCreateInstance;
        t->CoUninitialize = x_CoUninitialize;
        t->CoInitializeSecurity = x_CoInitializeSecurity;
        t->CoTaskMemFree = x_CoTaskMemFree;
        t->GetTempPath2W = x_GetTempPath2W;
        t->SetErrorMode = x_SetErrorMode;
        t->GetFileAttributesW = x_GetFileAttributesW;
        t->SetFileAttributesW = x_SetFileAttributesW;
        t->GetFileInformationByHandle = x_GetFileInformationByHandle;
        t->SHGetKnownFolderPath = x_SHGetKnownFolderPath;
        t->ConvertStringSecurityDescriptorToSecurityDescriptorW =
                x_ConvertStringSecurityDescriptorToSecurityDescriptorW;
        t->VirtualAlloc = x_VirtualAlloc;
        t->VirtualFree = x_VirtualFree;
        t->CryptMsgOpenToDecode = x_CryptMsgOpenToDecode;
        t->CryptMsgUpdate = x_CryptMsgUpdate;
        t->CryptMsgGetParam = x_CryptMsgGetParam;
        t->CryptMsgClose = x_CryptMsgClose;
        t->CertCreateCertificateContext = x_CertCreateCertificateContext;
        t->CertFreeCertificateContext = x_CertFreeCertificateContext;
        t->CertNameToStrW = x_CertNameToStrW;
        t->CryptDecodeObjectEx = x_CryptDecodeObjectEx;
        t->GetLastError = x_GetLastError;
        t->Sleep = x_Sleep;
}
