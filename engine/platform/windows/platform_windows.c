/* SPDX-License-Identifier: MIT */
#include "windows_internal.h"

#include <stdlib.h>
#include <string.h>

/* Preflight with an explicit table (tests pass a fake one). */
int mb_win_preflight(const mb_win32 *w, bool *ret_hibernation, mb_error *err)
{
        DWORD value = 0, len = sizeof(value);
        WCHAR *key, *name;
        int r = mb_win_check_elevated(w, err);

        if (r == 0)
                r = mb_win_check_uefi(w, err);
        if (r < 0)
                return r;
        key = mb_w_from_utf8("SYSTEM\\CurrentControlSet\\Control\\Power");
        name = mb_w_from_utf8("HibernateEnabled");
        if (!key || !name || w->RegGetValueW(HKEY_LOCAL_MACHINE, key, name, RRF_RT_REG_DWORD, NULL,
                                             &value, &len) != 0)
                value = 0;
        free(key);
        free(name);
        if (ret_hibernation)
                *ret_hibernation = value != 0;
        return 0;
}

static int win_read_facts(mb_platform *p, mb_facts **ret, mb_error *err)
{
        mb_win_target *t = p->priv;

        return mb_win_read_facts(t->w, ret, err);
}

static int win_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        mb_win_target *t = p->priv;

        if (disk >= sizeof(t->allowed) / sizeof(t->allowed[0]))
                return mb_error_set(err, MB_EINVAL, "disk %u: numbers up to 63 are supported", disk);
        t->allowed[disk] = true;
        return 0;
}

static int win_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        return mb_win_execute(p->priv, op, progress, err);
}

static void win_close(mb_platform *p)
{
        if (!p)
                return;
        free(p->priv);
        free(p->spec);
        free(p);
}

static const mb_platform_ops win_ops = {
        .name = "windows",
        .read_facts = win_read_facts,
        .allow_write = win_allow_write,
        .execute = win_execute,
        .finish = NULL,
        .close = win_close,
};

int mb_win_platform_open(const mb_win32 *w, mb_platform **ret, mb_error *err)
{
        mb_platform *p;
        mb_win_target *t;
        WCHAR dir[MAX_PATH];
        int r = mb_win_preflight(w, NULL, err);

        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        t = calloc(1, sizeof(*t));
        if (!p || !t) {
                free(p);
                free(t);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        t->w = w;
        t->system_drive = 'C';
        if (w->GetSystemWindowsDirectoryW(dir, MAX_PATH) && dir[0] && dir[1] == ':')
                t->system_drive = (char)(dir[0] & 0x7f);
        p->ops = &win_ops;
        p->spec = mb_strdup("windows");
        p->priv = t;
        *ret = p;
        return 0;
}

#ifdef _WIN32

int mb_platform_open_windows(mb_platform **ret, mb_error *err)
{
        return mb_win_platform_open(&mb_win32_system, ret, err);
}

int mb_windows_check_config_acl(const char *path, mb_error *err)
{
        return mb_win_check_config_acl(&mb_win32_system, path, err);
}

int mb_windows_preflight(bool *ret_hibernation, mb_error *err)
{
        return mb_win_preflight(&mb_win32_system, ret_hibernation, err);
}

#else

/* mb_platform_open_windows() itself is engine/platform/platform.c's stub here. */

int mb_windows_check_config_acl(const char *path, mb_error *err)
{
        (void)path;
        return mb_error_set(err, MB_ENOTSUP, "config ACL checks are done on Windows only");
}

int mb_windows_preflight(bool *ret_hibernation, mb_error *err)
{
        (void)ret_hibernation;
        return mb_error_set(err, MB_ENOTSUP, "the windows target runs only on Windows");
}

#endif
