/* SPDX-License-Identifier: MIT */
/* The windows target's verification records (engine/state.h), read and
 * written through the Win32 call table in the state directory that
 * security.c resolves, creates and checks. */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_MAX (64u << 20)

static WCHAR *record_name(const char *dir, const char *key, const char *suffix, char **ret_utf8)
{
        size_t n = strlen(dir) + strlen(key) + strlen(suffix) + 2;
        char *p = malloc(n);
        WCHAR *wp;

        if (!p)
                return NULL;
        snprintf(p, n, "%s\\%s%s", dir, key, suffix);
        wp = mb_w_from_utf8(p);
        if (!wp || !ret_utf8)
                free(p);
        else
                *ret_utf8 = p;
        return wp;
}

int mb_win_record_load(const mb_win32 *w, const char *dir, const char *key, mb_record *ret,
                       mb_error *err)
{
        char *path = NULL, *buf = NULL;
        WCHAR *wp = record_name(dir, key, ".rec", &path);
        size_t len = 0, cap = 2 * 65536;
        HANDLE h;
        DWORD e;
        int r = 0;

        memset(ret, 0, sizeof(*ret));
        if (!wp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        h = w->CreateFileW(wp, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, NULL);
        free(wp);
        if (h == INVALID_HANDLE_VALUE) {
                e = w->GetLastError();
                r = e == ERROR_FILE_NOT_FOUND ? 0 :
                    mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open the record '%s'", path);
                free(path);
                return r;
        }
        r = mb_win_trust_check(w, path, MB_TRUST_STATE_FILE, err);
        while (r == 0) {
                DWORD got = 0;

                if (len > RECORD_MAX) {
                        r = mb_error_set(err, MB_ECORRUPT, "%s: larger than 64 MiB", path);
                        break;
                }
                if (!buf || len + 65536 + 1 > cap) {
                        char *nb;

                        cap = buf ? cap * 2 : cap;
                        if (!(nb = realloc(buf, cap))) {
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        buf = nb;
                }
                if (!w->ReadFile(h, buf + len, 65536, &got, NULL)) {
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "ReadFile", "cannot read the record '%s'", path);
                        break;
                }
                if (got == 0)
                        break;
                len += got;
        }
        w->CloseHandle(h);
        if (r == 0) {
                buf[len] = '\0';
                if (strlen(buf) != len)
                        r = mb_error_set(err, MB_ECORRUPT, "%s: holds a NUL byte; expected a record's text", path);
                else
                        r = mb_record_parse(path, buf, ret, err);
        }
        free(buf);
        free(path);
        return r;
}

int mb_win_record_save(const mb_win32 *w, const char *dir, const char *key, mb_record *rec,
                       mb_error *err)
{
        char *path = NULL, *tmp = NULL;
        WCHAR *wp = record_name(dir, key, ".rec", &path), *wt = record_name(dir, key, ".rec.new", &tmp);
        size_t len = 0, done = 0;
        char *text = mb_record_format(rec, &len);
        HANDLE h = INVALID_HANDLE_VALUE;
        int r = 0;

        if (!wp || !wt || !text) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        /* no security attributes: the file inherits the directory's DACL */
        h = w->CreateFileW(wt, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h == INVALID_HANDLE_VALUE) {
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "CreateFileW", "cannot create '%s'", tmp);
                goto out;
        }
        while (r == 0 && done < len) {
                DWORD put = 0, want = len - done > 1048576 ? 1048576 : (DWORD)(len - done);

                if (!w->WriteFile(h, text + done, want, &put, NULL) || put == 0)
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "WriteFile", "cannot write '%s'", tmp);
                done += put;
        }
        if (r == 0 && !w->FlushFileBuffers(h))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "FlushFileBuffers", "cannot write '%s'", tmp);
        w->CloseHandle(h);
        if (r == 0 && !w->MoveFileExW(wt, wp, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "MoveFileExW", "cannot replace '%s'", path);
        if (r < 0)
                w->DeleteFileW(wt);
out:
        free(wp);
        free(wt);
        free(path);
        free(tmp);
        free(text);
        return r;
}
