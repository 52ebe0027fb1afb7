/* SPDX-License-Identifier: MIT */
/*
 * The Windows target as an mb_platform: preflight (elevation, UEFI,
 * hibernation), read facts, allow-write, execute and close over one call
 * table (the system's, a recording's or a replay's), and the entry points
 * the engine calls to open it.
 */
#include "windows_internal.h"
#include "win32_record.h"

#include <stdio.h>
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
        mb_facts *f = NULL;
        int r;

        /* a recording or replay reads deep, without a record: the record's
         * own files are this machine's, not the recorded one's */
        t->read_opts.verify = t->rec ? NULL : &p->verify;
        r = mb_win_read_facts_opts(t->w, &t->read_opts, &f, err);

        if (t->rec && t->rec_replay) {
                mb_error rerr = { 0 };
                int rr = mb_win_rec_status(t->rec, r == 0, &rerr);

                if (rr < 0) {
                        mb_facts_free(f);
                        *err = rerr;
                        return rr;
                }
        }
        if (r == 0)
                *ret = f;
        return r;
}

static int win_finish(mb_platform *p, mb_error *err)
{
        mb_win_target *t = p->priv;

        if (!t->rec || !t->record_path)
                return 0;
        return mb_win_rec_save(t->rec, t->record_path, err);
}

static int win_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        mb_win_target *t = p->priv;

        if (disk >= sizeof(t->allowed) / sizeof(t->allowed[0]))
                return mb_error_set(err, MB_EINVAL, "disk %u: numbers up to 63 are supported", disk);
        t->allowed[disk] = true;
        return 0;
}

static int win_perform(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        return mb_win_execute(p->priv, op, progress, err);
}

/* Every kind is performed by exec.c: the IOCTLs for online and the GPT
 * layout, the rendered diskpart/bcdedit/copy steps for the rest. */
static const mb_op_handler win_handlers[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = win_perform,
        [MB_OP_DISK_INIT_GPT] = win_perform,
        [MB_OP_PART_CREATE] = win_perform,
        [MB_OP_PART_SET_TYPE] = win_perform,
        [MB_OP_PART_SET_ATTRS] = win_perform,
        [MB_OP_PART_SET_NAME] = win_perform,
        [MB_OP_FORMAT] = win_perform,
        [MB_OP_CONVERT_DYNAMIC] = win_perform,
        [MB_OP_MIRROR_ADD] = win_perform,
        [MB_OP_MIRROR_REMOVE_MISSING] = win_perform,
        [MB_OP_MIRROR_RESYNC] = win_perform,
        [MB_OP_CLONE_BLOCKS] = win_perform,
        [MB_OP_SYNC_FILES] = win_perform,
        [MB_OP_BCD_COPY_BOOTMGR] = win_perform,
        [MB_OP_BCD_CREATE_LOADER] = win_perform,
        [MB_OP_BCD_SET_DEVICE] = win_perform,
        [MB_OP_BCD_DELETE] = win_perform,
        [MB_OP_BCD_DISPLAYORDER] = win_perform,
        [MB_OP_BCD_SET_DEFAULT] = win_perform,
        [MB_OP_FW_ENTRY] = win_perform,
        [MB_OP_FW_DELETE] = win_perform,
        [MB_OP_LDM_REPAIR] = win_perform,
        [MB_OP_GPT_REPAIR] = win_perform,
};

static int win_identify(mb_platform *p, uint32_t disk, mb_disk_identity *ret, mb_error *err)
{
        mb_win_target *t = p->priv;

        return mb_win_identify(t->w, disk, ret, err);
}

static void win_close(mb_platform *p)
{
        mb_win_target *t;

        if (!p)
                return;
        t = p->priv;
        if (t) {
                mb_win_rec_free(t->rec);
                free(t->record_path);
        }
        free(p->priv);
        free(p->spec);
        free(p);
}

static const mb_platform_ops win_ops = {
        .name = "windows",
        .read_facts = win_read_facts,
        .allow_write = win_allow_write,
        .handlers = win_handlers,
        .identify = win_identify,
        .finish = win_finish,
        .close = win_close,
};

/* A recorded machine: facts only. */
static const mb_platform_ops replay_ops = {
        .name = "replay",
        .read_facts = win_read_facts,
        .allow_write = win_allow_write,
        .handlers = NULL,       /* a recording changes nothing */
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

int mb_win_platform_open_rec(struct mb_win_rec *rec, const char *record_path, mb_platform **ret,
                             mb_error *err)
{
        mb_platform *p = NULL;
        mb_win_target *t;
        int r = mb_win_platform_open(mb_win_rec_table(rec), &p, err);

        if (r < 0) {
                mb_error rerr = { 0 };

                if (mb_win_rec_status(rec, false, &rerr) < 0)
                        *err = rerr;
                if (record_path && mb_win_rec_save(rec, record_path, &rerr) < 0)
                        mb_error_prefix(err, "(and the recording was not written: %s)", rerr.msg);
                mb_win_rec_free(rec);
                return r;
        }
        t = p->priv;
        t->rec = rec;
        t->rec_replay = record_path == NULL;
        t->read_opts.no_content_hash = !mb_win_rec_get_info(rec)->content_hash;
        if (record_path && !(t->record_path = mb_strdup(record_path))) {
                win_close(p);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        if (t->rec_replay)
                p->ops = &replay_ops;
        *ret = p;
        return 0;
}

int mb_platform_open_replay(const char *path, mb_platform **ret, mb_error *err)
{
        mb_win_rec *rec = NULL;
        mb_platform *p = NULL;
        char *spec = malloc(strlen(path) + 8);
        int r;

        if (!spec)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        r = mb_win_rec_replay(path, &rec, err);
        if (r == 0)
                r = mb_win_platform_open_rec(rec, NULL, &p, err);
        if (r < 0) {
                free(spec);
                return r;
        }
        sprintf(spec, "replay:%s", path);
        free(p->spec);
        p->spec = spec;
        *ret = p;
        return 0;
}

#ifdef _WIN32

int mb_platform_open_windows(mb_platform **ret, mb_error *err)
{
        return mb_win_platform_open(&mb_win32_system, ret, err);
}

int mb_trust_check_windows(const char *path, mb_trust_kind kind, mb_error *err)
{
        return mb_win_trust_check(&mb_win32_system, path, kind, err);
}

int mb_windows_open_recording(const char *path, mb_platform **ret, mb_error *err)
{
        static const mb_win_rec_info full = { .content_hash = true };
        mb_win_rec *rec = NULL;
        int r = mb_win_rec_record(&mb_win32_system, &full, &rec, err);

        if (r < 0)
                return r;
        return mb_win_platform_open_rec(rec, path, ret, err);
}

int mb_windows_preflight(bool *ret_hibernation, mb_error *err)
{
        return mb_win_preflight(&mb_win32_system, ret_hibernation, err);
}

#else

/* mb_platform_open_windows() itself is engine/platform/platform.c's stub here. */

int mb_windows_preflight(bool *ret_hibernation, mb_error *err)
{
        (void)ret_hibernation;
        return mb_error_set(err, MB_ENOTSUP, "the windows target runs only on Windows");
}

int mb_windows_open_recording(const char *path, mb_platform **ret, mb_error *err)
{
        (void)path, (void)ret;
        return mb_error_set(err, MB_ENOTSUP,
                            "--record records the Win32 calls of the windows target: only in the Windows build of mbstate");
}

#endif
