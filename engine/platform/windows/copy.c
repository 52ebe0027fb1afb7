/* SPDX-License-Identifier: MIT */
/*
 * File and block copies on the live Windows system through the call table:
 * a tree copy that mirrors one volume's files onto another (the live BCD
 * store and its logs excepted), and a block-for-block volume copy with
 * progress.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The running system's store and its transaction logs: held open by the
 * registry, exported with bcdedit instead of copied. */
static bool is_live_bcd(const char *rel)
{
        static const char *const names[] = {
                "EFI\\Microsoft\\Boot\\BCD", "EFI\\Microsoft\\Boot\\BCD.LOG",
                "EFI\\Microsoft\\Boot\\BCD.LOG1", "EFI\\Microsoft\\Boot\\BCD.LOG2",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(rel, names[i]) == 0)
                        return true;
        return false;
}

typedef struct name_list {
        char **v;
        size_t n;
        bool *dir;
} name_list;

static void names_free(name_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        free(l->dir);
        memset(l, 0, sizeof(*l));
}

static int list_dir(const mb_win32 *w, const char *dir, name_list *ret, mb_error *err)
{
        char pattern[1100];
        WIN32_FIND_DATAW fd;
        WCHAR *wp;
        HANDLE fh;

        memset(ret, 0, sizeof(*ret));
        snprintf(pattern, sizeof(pattern), "%s*", dir);
        wp = mb_w_from_utf8(pattern);
        if (!wp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fh = w->FindFirstFileW(wp, &fd);
        free(wp);
        if (fh == INVALID_HANDLE_VALUE)
                return 0;
        do {
                char *n = mb_w_to_utf8_n(fd.cFileName, MAX_PATH), **nv;
                bool *nd;

                if (!n)
                        break;
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) {
                        free(n);
                        continue;
                }
                nv = mb_reallocarray(ret->v, ret->n + 1, sizeof(*nv));
                nd = nv ? mb_reallocarray(ret->dir, ret->n + 1, sizeof(*nd)) : NULL;
                if (nv)
                        ret->v = nv;
                if (nd)
                        ret->dir = nd;
                if (!nv || !nd) {
                        free(n);
                        w->FindClose(fh);
                        names_free(ret);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                nv[ret->n] = n;
                nd[ret->n] = (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
                ret->n++;
        } while (w->FindNextFileW(fh, &fd));
        w->FindClose(fh);
        return 0;
}

static bool has_name(const name_list *l, const char *n, bool dir)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcasecmp(l->v[i], n) == 0 && l->dir[i] == dir)
                        return true;
        return false;
}

static int remove_tree(const mb_win32 *w, const char *path, bool dir, mb_error *err);

/* Attributes that make CopyFileW refuse to overwrite a file (hidden,
 * read-only) and DeleteFileW refuse to delete it (read-only); and system,
 * which CreateFileW's CREATE_ALWAYS refuses like hidden. */
#define BLOCKING_ATTRS (FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM)

/* Clears the attributes that would stop the existing file at path from
 * being overwritten or deleted; nothing to do when there is no such file. */
static int clear_blocking_attrs(const mb_win32 *w, const WCHAR *wpath, const char *path,
                                mb_error *err)
{
        DWORD a = w->GetFileAttributesW(wpath);

        if (a == INVALID_FILE_ATTRIBUTES || (a & FILE_ATTRIBUTE_DIRECTORY) || !(a & BLOCKING_ATTRS))
                return 0;
        if (!w->SetFileAttributesW(wpath, (a & ~BLOCKING_ATTRS) ? a & ~BLOCKING_ATTRS
                                                                : FILE_ATTRIBUTE_NORMAL))
                return mb_w_error(err, MB_EIO, w->GetLastError(), "SetFileAttributesW",
                                  "cannot clear the read-only, hidden and system attributes of '%s'",
                                  path);
        return 0;
}

/* CopyFileW over an existing file, whatever its attributes; the copy gets
 * the source's attributes (CopyFileW copies them), as robocopy /COPY:DAT
 * would. */
static int copy_file(const mb_win32 *w, const WCHAR *ws, const WCHAR *wd, const char *s,
                     const char *d, mb_error *err)
{
        int r = clear_blocking_attrs(w, wd, d, err);

        if (r == 0 && !w->CopyFileW(ws, wd, FALSE))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "CopyFileW", "cannot copy '%s' to '%s'",
                               s, d);
        return r;
}

static int tree(const mb_win32 *w, const char *from, const char *to, const char *rel,
                bool skip_bcd, int depth, mb_error *err)
{
        char sdir[1100], ddir[1100];
        name_list src, dst;
        int r;

        if (depth > 16)
                return mb_error_set(err, MB_EINVAL, "'%s%s' is nested too deep", from, rel);
        snprintf(sdir, sizeof(sdir), "%s%s", from, rel);
        snprintf(ddir, sizeof(ddir), "%s%s", to, rel);
        r = list_dir(w, sdir, &src, err);
        if (r < 0)
                return r;
        r = list_dir(w, ddir, &dst, err);
        if (r < 0) {
                names_free(&src);
                return r;
        }
        for (size_t i = 0; i < src.n && r == 0; i++) {
                char sub[1100], s[1100], d[1100];
                WCHAR *ws, *wd;

                if (depth == 0 && strcasecmp(src.v[i], "System Volume Information") == 0)
                        continue;
                snprintf(sub, sizeof(sub), "%s%s", rel, src.v[i]);
                if (skip_bcd && !src.dir[i] && is_live_bcd(sub))
                        continue;
                snprintf(s, sizeof(s), "%s%s", from, sub);
                snprintf(d, sizeof(d), "%s%s", to, sub);
                ws = mb_w_from_utf8(s);
                wd = mb_w_from_utf8(d);
                if (!ws || !wd) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                } else if (src.dir[i]) {
                        if (!w->CreateDirectoryW(wd, NULL) && w->GetLastError() != ERROR_ALREADY_EXISTS)
                                r = mb_w_error(err, MB_EIO, w->GetLastError(), "CreateDirectoryW",
                                               "cannot create '%s'", d);
                        if (r == 0) {
                                char next[1100];

                                snprintf(next, sizeof(next), "%s\\", sub);
                                r = tree(w, from, to, next, skip_bcd, depth + 1, err);
                        }
                } else {
                        r = copy_file(w, ws, wd, s, d, err);
                }
                free(ws);
                free(wd);
        }
        for (size_t i = 0; i < dst.n && r == 0; i++) {
                char sub[1100], d[1100];

                snprintf(sub, sizeof(sub), "%s%s", rel, dst.v[i]);
                if ((depth == 0 && strcasecmp(dst.v[i], "System Volume Information") == 0) ||
                    (skip_bcd && !dst.dir[i] && is_live_bcd(sub)) ||
                    has_name(&src, dst.v[i], dst.dir[i]))
                        continue;
                snprintf(d, sizeof(d), "%s%s", to, sub);
                r = remove_tree(w, d, dst.dir[i], err);
        }
        names_free(&src);
        names_free(&dst);
        return r;
}

static int remove_tree(const mb_win32 *w, const char *path, bool dir, mb_error *err)
{
        WCHAR *wp;
        int r = 0;

        if (dir) {
                name_list l;
                char d[1100];

                snprintf(d, sizeof(d), "%s\\", path);
                r = list_dir(w, d, &l, err);
                for (size_t i = 0; i < l.n && r == 0; i++) {
                        char sub[1200];

                        snprintf(sub, sizeof(sub), "%s%s", d, l.v[i]);
                        r = remove_tree(w, sub, l.dir[i], err);
                }
                names_free(&l);
                if (r < 0)
                        return r;
        }
        wp = mb_w_from_utf8(path);
        if (!wp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (!dir && (r = clear_blocking_attrs(w, wp, path, err)) < 0) {
                free(wp);
                return r;
        }
        if (!(dir ? w->RemoveDirectoryW(wp) : w->DeleteFileW(wp)))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), dir ? "RemoveDirectoryW" : "DeleteFileW",
                               "cannot remove '%s'", path);
        free(wp);
        return r;
}

/* Makes the tree under to (a "\\?\Volume{...}\" root) file-identical to from. */
int mb_win_copy_tree(const mb_win32 *w, const char *from, const char *to, bool skip_bcd,
                     mb_error *err)
{
        return tree(w, from, to, "", skip_bcd, 0, err);
}

static int fsctl(const mb_win32 *w, HANDLE h, DWORD code, const char *name, const char *vol,
                 mb_error *err)
{
        DWORD got;

        if (!w->DeviceIoControl(h, code, NULL, 0, NULL, 0, &got, NULL))
                return mb_w_error(err, MB_EIO, w->GetLastError(), "DeviceIoControl", "%s on %s", name, vol);
        return 0;
}

/* Copies volume from onto volume to (device paths without trailing '\'),
 * both locked, to dismounted first; to must be at least as large. Both are
 * opened unbuffered and copied in whole sectors through an aligned buffer. */
int mb_win_copy_blocks(const mb_win32 *w, const char *from, const char *to, mb_progress *progress,
                       mb_error *err)
{
        HANDLE src, dst;
        DWORD e;
        void *buf = NULL;
        size_t len;
        uint64_t size = 0, dsize, done = 0;
        GET_LENGTH_INFORMATION li;
        uint8_t *io;
        int r;

        src = mb_win_open(w, from, GENERIC_READ, FILE_FLAG_NO_BUFFERING, &e);
        if (src == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open '%s'", from);
        dst = mb_win_open(w, to, GENERIC_READ | GENERIC_WRITE, FILE_FLAG_NO_BUFFERING, &e);
        if (dst == INVALID_HANDLE_VALUE) {
                w->CloseHandle(src);
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open '%s'", to);
        }
        r = mb_win_ioctl(w, src, IOCTL_DISK_GET_LENGTH_INFO, "IOCTL_DISK_GET_LENGTH_INFO", from, NULL,
                         0, &buf, &len, err);
        if (r == 0 && len >= sizeof(li)) {
                memcpy(&li, buf, sizeof(li));
                size = (uint64_t)li.Length.QuadPart;
                free(buf);
                buf = NULL;
                r = mb_win_ioctl(w, dst, IOCTL_DISK_GET_LENGTH_INFO, "IOCTL_DISK_GET_LENGTH_INFO", to,
                                 NULL, 0, &buf, &len, err);
                if (r == 0 && len >= sizeof(li)) {
                        memcpy(&li, buf, sizeof(li));
                        dsize = (uint64_t)li.Length.QuadPart;
                        if (dsize < size)
                                r = mb_error_set(err, MB_EINVAL,
                                                 "'%s' (%llu bytes) is smaller than '%s' (%llu bytes)", to,
                                                 (unsigned long long)dsize, from, (unsigned long long)size);
                }
        }
        free(buf);
        if (r == 0 && size % MB_WIN_MIN_SECTOR)
                r = mb_error_set(err, MB_EINVAL, "'%s' is %llu bytes, not whole sectors", from,
                                 (unsigned long long)size);
        if (r == 0)
                r = fsctl(w, src, FSCTL_LOCK_VOLUME, "FSCTL_LOCK_VOLUME", from, err);
        if (r == 0)
                r = fsctl(w, dst, FSCTL_LOCK_VOLUME, "FSCTL_LOCK_VOLUME", to, err);
        if (r == 0)
                r = fsctl(w, dst, FSCTL_DISMOUNT_VOLUME, "FSCTL_DISMOUNT_VOLUME", to, err);
        if (r == 0) {
                fsctl(w, src, FSCTL_ALLOW_EXTENDED_DASD_IO, "FSCTL_ALLOW_EXTENDED_DASD_IO", from, NULL);
                fsctl(w, dst, FSCTL_ALLOW_EXTENDED_DASD_IO, "FSCTL_ALLOW_EXTENDED_DASD_IO", to, NULL);
        }
        io = r == 0 ? mb_win_io_alloc(w, 1 << 20) : NULL;
        if (r == 0 && !io)
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
        while (r == 0 && done < size) {
                DWORD want = (DWORD)(size - done < (1u << 20) ? size - done : (1u << 20)), got = 0, put = 0;

                if (!w->ReadFile(src, io, want, &got, NULL) || got != want) {
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "ReadFile",
                                       "cannot read '%s' at offset %llu", from, (unsigned long long)done);
                        break;
                }
                if (!w->WriteFile(dst, io, got, &put, NULL) || put != got) {
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "WriteFile",
                                       "cannot write '%s' at offset %llu", to, (unsigned long long)done);
                        break;
                }
                done += got;
                if (progress && progress->update)
                        progress->update(progress, to, done, size);
        }
        if (r == 0 && !w->FlushFileBuffers(dst))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "FlushFileBuffers", "'%s'", to);
        mb_win_io_free(w, io);
        /* Closing the handles unlocks; the destination is mounted again on next access. */
        w->CloseHandle(dst);
        w->CloseHandle(src);
        return r;
}
