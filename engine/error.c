/* SPDX-License-Identifier: MIT */
/*
 * The error model (error.h): setting, prefixing and formatting an mb_error,
 * with errno and FILE:LINE:COLUMN variants, and the names of the MB_E* codes.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

void mb_error_clear(mb_error *err)
{
        if (err)
                memset(err, 0, sizeof(*err));
}

static int error_vset(mb_error *err, int code, const char *fmt, va_list ap)
{
        if (!err)
                return code;
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        return code;
}

int mb_error_set(mb_error *err, int code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (err) {
                err->file[0] = '\0';
                err->line = err->column = 0;
        }
        error_vset(err, code, fmt, ap);
        va_end(ap);
        return code;
}

int mb_error_errno(mb_error *err, int code, int errnum, const char *fmt, ...)
{
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        if (err) {
                err->file[0] = '\0';
                err->line = err->column = 0;
        }
        error_vset(err, code, fmt, ap);
        va_end(ap);
        if (err) {
                n = strlen(err->msg);
                snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
        }
        return code;
}

int mb_error_at(mb_error *err, int code, const char *file, int line, int column,
                const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        error_vset(err, code, fmt, ap);
        va_end(ap);
        if (err) {
                snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
                err->line = line;
                err->column = column;
        }
        return code;
}

int mb_error_prefix(mb_error *err, const char *fmt, ...)
{
        char prefix[1024], old[sizeof(err->msg)];
        va_list ap;

        if (!err)
                return MB_EINVAL;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
        return err->code;
}

void mb_error_format(const mb_error *err, char *buf, size_t len)
{
        if (err->file[0] && err->line > 0)
                snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line,
                         err->column > 0 ? err->column : 1, err->msg);
        else if (err->file[0])
                snprintf(buf, len, "%s: %s", err->file, err->msg);
        else
                snprintf(buf, len, "%s", err->msg);
}

const char *mb_error_code_name(int code)
{
        static const char *const names[] = {
                [0] = "ok",        [1] = "io",       [2] = "invalid",
                [3] = "corrupt",   [4] = "nomem",    [5] = "unsafe",
                [6] = "notsup",    [7] = "notfound", [8] = "state",
                [9] = "busy",
        };

        if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])))
                return "unknown";
        return names[-code];
}
