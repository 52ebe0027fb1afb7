/* SPDX-License-Identifier: MIT */
#ifndef MB_ERROR_H
#define MB_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __MINGW32__
#define MB_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define MB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/*
 * Error codes: every fallible function returns 0 or one of these (negative),
 * and fills an mb_error with a message that says what, which object, why and
 * which call. Library code never prints; the CLI reports.
 */
enum {
        MB_OK = 0,
        MB_EIO = -1,        /* read/write/system call failed */
        MB_EINVAL = -2,     /* bad input: config, facts file, arguments */
        MB_ECORRUPT = -3,   /* on-disk structure damaged or inconsistent */
        MB_ENOMEM = -4,
        MB_EUNSAFE = -5,    /* refused by a safety rule */
        MB_ENOTSUP = -6,    /* operation not supported by this target */
        MB_ENOENT = -7,     /* object not found */
        MB_ESTATE = -8,     /* the machine is not in a state that allows this */
        MB_EBUSY = -9,      /* another run holds the lock */
};

typedef struct mb_error {
        int code;
        char file[512];     /* source document, when the error is about one */
        int line;           /* 1-based; 0 when unknown */
        int column;         /* 1-based; 0 when unknown */
        char msg[2048];
} mb_error;

/* Clears err (err may be NULL). */
void mb_error_clear(mb_error *err);

/* Sets err (if not NULL) to code and a printf-style message; returns code. */
int mb_error_set(mb_error *err, int code, const char *fmt, ...)
        MB_PRINTF(3, 4);

/* Like mb_error_set, plus strerror(errnum). */
int mb_error_errno(mb_error *err, int code, int errnum, const char *fmt, ...)
        MB_PRINTF(4, 5);

/* Sets a located error about a document: FILE:LINE:COLUMN is printed first. */
int mb_error_at(mb_error *err, int code, const char *file, int line, int column,
                const char *fmt, ...) MB_PRINTF(6, 7);

/* Prefixes the existing message with context ("writing GPT of disk 1: ..."). */
int mb_error_prefix(mb_error *err, const char *fmt, ...)
        MB_PRINTF(2, 3);

/* Formats err for people: "FILE:LINE:COLUMN: msg" or "msg". */
void mb_error_format(const mb_error *err, char *buf, size_t len);

const char *mb_error_code_name(int code);

#endif
