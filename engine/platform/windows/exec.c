/* SPDX-License-Identifier: MIT */
/*
 * The Windows target's execute: each operation kind carried out through the
 * call table (disk IOCTLs for online, GPT and layout; diskpart, bcdedit and
 * the copies for the rest), after checking that the disk is still the one
 * the facts describe.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guid.h"

#define EFI_GLOBAL_VARIABLE_GUID "{8be4df61-93ca-11d2-aa0d-00e098032b8c}"

/* The render context of a run: names taken from the volume enumeration. */
typedef struct exec_names {
        const mb_win_volmap *map;
        const mb_win32 *w;
        char options[40];       /* ctx_ramdisk_options' answer */
} exec_names;

static const char *ctx_volume_path(void *data, const mb_disk_fact *d, const mb_part_fact *p)
{
        const mb_win_volume *v = mb_win_volmap_by_part(((exec_names *)data)->map, d->number,
                                                       p->unique_guid);

        return v ? v->name : NULL;
}

static const char *ctx_nt_device(void *data, const mb_disk_fact *d, const mb_part_fact *p)
{
        const mb_win_volume *v = mb_win_volmap_by_part(((exec_names *)data)->map, d->number,
                                                       p->unique_guid);

        return v && v->nt[0] ? v->nt : NULL;
}

/*
 * The n-th drive letter from Z down to D that names no device now:
 * QueryDosDeviceW of "X:" fails with ERROR_FILE_NOT_FOUND for a letter
 * nothing uses (Microsoft, QueryDosDevice: the MS-DOS device names are the
 * drive letters and the other symbolic links). 0 when there are not so many.
 */
static char ctx_free_letter(void *data, int n)
{
        const mb_win32 *w = ((exec_names *)data)->w;

        for (char c = 'Z'; c >= 'D'; c--) {
                WCHAR dev[3] = { (WCHAR)c, ':', 0 }, target[512];

                if (w->QueryDosDeviceW(dev, target, 512) == 0 &&
                    w->GetLastError() == ERROR_FILE_NOT_FOUND && n-- == 0)
                        return c;
        }
        return 0;
}

/* The drive letter whose MS-DOS device name maps to the volume of partition
 * p (QueryDosDeviceW gives the same \Device\HarddiskVolumeN the volume
 * enumeration holds), or 0. */
static char ctx_volume_letter(void *data, const mb_disk_fact *d, const mb_part_fact *p)
{
        exec_names *x = data;
        const mb_win_volume *v = mb_win_volmap_by_part(x->map, d->number, p->unique_guid);

        for (char c = 'C'; v && v->nt[0] && c <= 'Z'; c++) {
                WCHAR dev[3] = { (WCHAR)c, ':', 0 }, target[512];
                DWORD n = x->w->QueryDosDeviceW(dev, target, 512);
                char *t;
                bool same;

                if (n == 0 || !(t = mb_w_to_utf8_n(target, 512)))
                        continue;
                same = strcasecmp(t, v->nt) == 0;
                free(t);
                if (same)
                        return c;
        }
        return 0;
}

/*
 * The ramdisk options object of object's ramdisk device, read now from the
 * op's store: the live one through the registry, another ESP's through
 * RegLoadAppKeyW on its volume GUID path (as facts read it).
 */
static const char *ctx_ramdisk_options(void *data, const mb_facts *f, const mb_op *op,
                                       const char *object)
{
        exec_names *x = data;
        const mb_bcd_fact *store;
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        bool other;
        mb_error err;
        int r;

        mb_win_op_store(f, op, &store, &other);
        if (!store)
                return NULL;    /* RegLoadAppKeyW would make a missing file */
        if (other) {
                const mb_disk_fact *d = mb_facts_disk(f, op->store_disk);
                const mb_part_fact *esp = d ? mb_disk_part_by_role(d, MB_ROLE_EFI) : NULL;
                const mb_win_volume *v = esp ? mb_win_volmap_by_part(x->map, d->number, esp->unique_guid)
                                             : NULL;
                char path[160];
                DWORD load_error;

                if (!v)
                        return NULL;
                snprintf(path, sizeof(path), "%sEFI\\Microsoft\\Boot\\BCD", v->name);
                r = mb_win_bcd_read_file(x->w, path, &objs, &n, &load_error, &err);
        } else {
                r = mb_win_bcd_read_live(x->w, &objs, &n, &err);
        }
        if (r < 0)
                return NULL;
        x->options[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                char id[MB_GUID_STR_LEN], text[40];

                snprintf(text, sizeof(text), "{%s}", mb_guid_format(&objs[i].id, id));
                if ((strcasecmp(text, object) == 0 || (objs[i].alias[0] && strcasecmp(objs[i].alias, object) == 0)) &&
                    objs[i].device.kind == MB_BCD_DEV_RAMDISK)
                        snprintf(x->options, sizeof(x->options), "{%s}",
                                 mb_guid_format(&objs[i].device.options_id, id));
        }
        mb_bcd_objects_free(objs, n);
        return x->options[0] ? x->options : NULL;
}

static int guid_new(GUID *ret, mb_error *err)
{
        mb_guid g;
        char t[MB_GUID_STR_LEN];

        if (mb_guid_random(&g) < 0)
                return mb_error_set(err, MB_EIO, "cannot get random bytes for a GUID");
        mb_guid_format(&g, t);
        return mb_w_guid_parse(t, ret) < 0 ? mb_error_set(err, MB_EIO, "GUID conversion failed") : 0;
}

static int open_disk(mb_win_target *t, uint32_t disk, bool write, HANDLE *ret, mb_error *err)
{
        char path[32];
        DWORD e;

        if (write && (disk >= 64 || !t->allowed[disk]))
                return mb_error_set(err, MB_EUNSAFE,
                                    "disk %u is not selected by the configuration; it is never opened for writing",
                                    disk);
        mb_win_disk_path(disk, path);
        *ret = mb_win_open(t->w, path, GENERIC_READ | (write ? GENERIC_WRITE : 0), 0, &e);
        if (*ret == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open disk %u ('%s')", disk,
                                  path);
        return 0;
}

static int ioctl_in(mb_win_target *t, HANDLE h, DWORD code, const char *name, uint32_t disk,
                    const void *in, size_t in_len, mb_error *err)
{
        DWORD got = 0;

        if (!t->w->DeviceIoControl(h, code, (LPVOID)in, (DWORD)in_len, NULL, 0, &got, NULL))
                return mb_w_error(err, MB_EIO, t->w->GetLastError(), "DeviceIoControl",
                                  "%s on disk %u", name, disk);
        return 0;
}

/* DISK_INIT_GPT cleans the disk: only a blank one (the gate has checked
 * that it is still the disk planned; this is the target's own rule). */
static int check_blank(const mb_facts *f, const mb_op *op, mb_error *err)
{
        const mb_disk_fact *d = mb_facts_disk(f, op->disk);

        if (!d)
                return mb_error_set(err, MB_ESTATE, "disk %u is gone", op->disk);
        if (d->n_partitions > 0)
                return mb_error_set(err, MB_EUNSAFE,
                                    "disk %u has %u partitions; it is initialized only when blank",
                                    op->disk, d->n_partitions);
        return 0;
}

static int do_online(mb_win_target *t, const mb_op *op, mb_error *err)
{
        SET_DISK_ATTRIBUTES a;
        HANDLE h;
        int r = open_disk(t, op->disk, true, &h, err);

        if (r < 0)
                return r;
        mb_win_build_online(&a);
        r = ioctl_in(t, h, IOCTL_DISK_SET_DISK_ATTRIBUTES, "IOCTL_DISK_SET_DISK_ATTRIBUTES", op->disk,
                     &a, sizeof(a), err);
        t->w->CloseHandle(h);
        return r;
}

/* How long IOCTL_DISK_CREATE_DISK's MSR is waited for. */
#define MSR_POLL_MS 100
#define MSR_POLLS 100

/*
 * Waits until the disk's layout, as the disk driver reports it, is the GPT
 * with disk_id that IOCTL_DISK_CREATE_DISK wrote and holds its partitions
 * (the MSR it creates): Microsoft asks to wait for the MSR's arrival before
 * IOCTL_DISK_SET_DRIVE_LAYOUT_EX. *ret_count is the number of partitions
 * then; 0 after the wait means no MSR was made (nothing to remove).
 */
static int wait_for_msr(mb_win_target *t, HANDLE h, const mb_op *op, const GUID *disk_id,
                        DWORD *ret_count, mb_error *err)
{
        char what[48];

        snprintf(what, sizeof(what), "on disk %u", op->disk);
        for (int i = 0;; i++) {
                DRIVE_LAYOUT_INFORMATION_EX l;
                void *buf = NULL;
                size_t len = 0;
                int r = mb_win_ioctl(t->w, h, IOCTL_DISK_GET_DRIVE_LAYOUT_EX,
                                     "IOCTL_DISK_GET_DRIVE_LAYOUT_EX", what, NULL, 0, &buf, &len, err);
                bool ours;

                if (r < 0)
                        return r;
                memset(&l, 0, sizeof(l));
                memcpy(&l, buf, len < offsetof(DRIVE_LAYOUT_INFORMATION_EX, PartitionEntry)
                                        ? len : offsetof(DRIVE_LAYOUT_INFORMATION_EX, PartitionEntry));
                free(buf);
                ours = len >= offsetof(DRIVE_LAYOUT_INFORMATION_EX, PartitionEntry) &&
                       l.PartitionStyle == PARTITION_STYLE_GPT &&
                       memcmp(&l.Gpt.DiskId, disk_id, sizeof(*disk_id)) == 0;
                if (ours && (l.PartitionCount > 0 || i >= MSR_POLLS)) {
                        *ret_count = l.PartitionCount;
                        return 0;
                }
                if (i >= MSR_POLLS)
                        return mb_error_set(err, MB_EIO,
                                            "disk %u: the GPT IOCTL_DISK_CREATE_DISK wrote is not reported after %d ms",
                                            op->disk, MSR_POLLS * MSR_POLL_MS);
                t->w->Sleep(MSR_POLL_MS);
        }
}

static int do_init_gpt(mb_win_target *t, const mb_op *op, mb_error *err)
{
        CREATE_DISK cd;
        DRIVE_LAYOUT_INFORMATION_EX layout;
        DWORD count = 0;
        GUID id;
        HANDLE h;
        int r = guid_new(&id, err);

        if (r < 0 || (r = open_disk(t, op->disk, true, &h, err)) < 0)
                return r;
        mb_win_build_create_gpt(&id, &cd);
        mb_win_build_empty_gpt_layout(&id, &layout);
        r = ioctl_in(t, h, IOCTL_DISK_CREATE_DISK, "IOCTL_DISK_CREATE_DISK", op->disk, &cd, sizeof(cd),
                     err);
        if (r == 0)
                r = wait_for_msr(t, h, op, &id, &count, err);
        /* The input is a whole DRIVE_LAYOUT_INFORMATION_EX (the driver
         * requires at least its size), PartitionCount 0. */
        if (r == 0 && count > 0)
                r = ioctl_in(t, h, IOCTL_DISK_SET_DRIVE_LAYOUT_EX, "IOCTL_DISK_SET_DRIVE_LAYOUT_EX",
                             op->disk, &layout, sizeof(layout), err);
        if (r == 0)
                r = ioctl_in(t, h, IOCTL_DISK_UPDATE_PROPERTIES, "IOCTL_DISK_UPDATE_PROPERTIES",
                             op->disk, NULL, 0, err);
        t->w->CloseHandle(h);
        return r;
}

static int do_layout(mb_win_target *t, const mb_op *op, uint32_t ss, mb_error *err)
{
        void *cur = NULL, *next = NULL;
        size_t cur_len = 0, next_len = 0;
        char what[48];
        GUID id;
        HANDLE h;
        int r = guid_new(&id, err);

        if (r < 0 || (r = open_disk(t, op->disk, true, &h, err)) < 0)
                return r;
        snprintf(what, sizeof(what), "on disk %u", op->disk);
        r = mb_win_ioctl(t->w, h, IOCTL_DISK_GET_DRIVE_LAYOUT_EX, "IOCTL_DISK_GET_DRIVE_LAYOUT_EX",
                         what, NULL, 0, &cur, &cur_len, err);
        if (r == 0)
                r = mb_win_build_layout(cur, cur_len, ss, op, &id, &next, &next_len, err);
        if (r == 0)
                r = ioctl_in(t, h, IOCTL_DISK_SET_DRIVE_LAYOUT_EX, "IOCTL_DISK_SET_DRIVE_LAYOUT_EX",
                             op->disk, next, next_len, err);
        if (r == 0)
                r = ioctl_in(t, h, IOCTL_DISK_UPDATE_PROPERTIES, "IOCTL_DISK_UPDATE_PROPERTIES",
                             op->disk, NULL, 0, err);
        free(cur);
        free(next);
        t->w->CloseHandle(h);
        return r;
}

/* "%SystemRoot%\System32\<tool>" so PATH cannot substitute another program. */
static int system_tool(const mb_win32 *w, const char *cmd, char **ret, mb_error *err)
{
        WCHAR wdir[MAX_PATH];
        char *dir, *out;
        const char *sp = strchr(cmd, ' ');
        size_t tool = sp ? (size_t)(sp - cmd) : strlen(cmd), n;

        if (!w->GetSystemWindowsDirectoryW(wdir, MAX_PATH) || !(dir = mb_w_to_utf8_n(wdir, MAX_PATH)))
                return mb_w_error(err, MB_EIO, w->GetLastError(), "GetSystemWindowsDirectoryW",
                                  "cannot find the Windows folder");
        n = strlen(dir) + strlen(cmd) + 32;
        out = malloc(n);
        if (!out) {
                free(dir);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        snprintf(out, n, "\"%s\\System32\\%.*s.exe\"%s", dir, (int)tool, cmd, cmd + tool);
        free(dir);
        *ret = out;
        return 0;
}

static int run_checked(mb_win_target *t, const char *cmd, char **ret_out, mb_error *err)
{
        char *full = NULL, *out = NULL;
        DWORD code = 0;
        int r = system_tool(t->w, cmd, &full, err);

        if (r < 0)
                return r;
        r = mb_win_run(t->w, full, &out, &code, err);
        free(full);
        if (r < 0)
                return r;
        if (code != 0) {
                r = mb_error_set(err, MB_EIO, "'%s' failed with exit code %lu: %.400s", cmd,
                                 (unsigned long)code, out ? out : "");
                free(out);
                return r;
        }
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        return 0;
}

/* Tries at most this many fresh names for the diskpart script. */
#define SCRIPT_TRIES 8

/*
 * Creates the diskpart script file: in GetTempPath2W's folder (for SYSTEM,
 * %SystemRoot%\SystemTemp, which processes not running as SYSTEM cannot
 * reach; GetTempPathW's %SystemRoot%\Temp lets users create files), under a
 * name from 122 random bits, with CREATE_NEW, so that a file someone made
 * beforehand is never opened: another name is tried instead. *ret_path and
 * *ret_wpath are malloc'd; the caller deletes the file.
 */
static int create_script(mb_win_target *t, HANDLE *ret_h, char **ret_path, WCHAR **ret_wpath,
                         mb_error *err)
{
        WCHAR wtmp[MAX_PATH + 1];
        char *tmp, path[MAX_PATH + 64];
        DWORD n = t->w->GetTempPath2W(MAX_PATH + 1, wtmp), e = 0;

        if (n == 0 || n > MAX_PATH + 1 || !(tmp = mb_w_to_utf8_n(wtmp, MAX_PATH + 1)))
                return mb_w_error(err, MB_EIO, n ? ERROR_INSUFFICIENT_BUFFER : t->w->GetLastError(),
                                  "GetTempPath2W", "cannot find the temporary folder");
        for (int i = 0; i < SCRIPT_TRIES; i++) {
                mb_guid g;
                char name[MB_GUID_STR_LEN];
                WCHAR *wpath;
                HANDLE h;

                if (mb_guid_random(&g) < 0) {
                        free(tmp);
                        return mb_error_set(err, MB_EIO, "cannot get random bytes for a file name");
                }
                mb_guid_format(&g, name);
                snprintf(path, sizeof(path), "%smbstate-diskpart-%s.txt", tmp, name);
                wpath = mb_w_from_utf8(path);
                if (!wpath) {
                        free(tmp);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                h = t->w->CreateFileW(wpath, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                                      FILE_ATTRIBUTE_TEMPORARY, NULL);
                if (h != INVALID_HANDLE_VALUE) {
                        free(tmp);
                        *ret_h = h;
                        *ret_wpath = wpath;
                        *ret_path = mb_strdup(path);
                        if (!*ret_path) {
                                t->w->CloseHandle(h);
                                t->w->DeleteFileW(wpath);
                                free(wpath);
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        }
                        return 0;
                }
                e = t->w->GetLastError();
                free(wpath);
                if (e != ERROR_FILE_EXISTS && e != ERROR_ALREADY_EXISTS)
                        break;
        }
        free(tmp);
        return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot create the diskpart script '%s'",
                          path);
}

static int run_diskpart(mb_win_target *t, const char *script, mb_error *err)
{
        char *path = NULL, *cmd;
        WCHAR *wpath = NULL;
        HANDLE h = INVALID_HANDLE_VALUE;
        DWORD put = 0, e;
        size_t n;
        int r = create_script(t, &h, &path, &wpath, err);

        if (r < 0)
                return r;
        if (!t->w->WriteFile(h, script, (DWORD)strlen(script), &put, NULL) || put != strlen(script)) {
                e = t->w->GetLastError();
                t->w->CloseHandle(h);
                r = mb_w_error(err, MB_EIO, e, "WriteFile", "cannot write the diskpart script '%s'",
                               path);
                goto out;
        }
        t->w->CloseHandle(h);
        n = strlen(path) + 32;
        cmd = malloc(n);
        if (!cmd) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        snprintf(cmd, n, "diskpart /s \"%s\"", path);
        r = run_checked(t, cmd, NULL, err);
        free(cmd);
out:
        t->w->DeleteFileW(wpath);
        free(wpath);
        free(path);
        return r;
}

/* Replaces every MB_WIN_NEW_OBJECT in text with id (malloc'd result). */
static char *substitute(const char *text, const char *id)
{
        size_t pl = strlen(MB_WIN_NEW_OBJECT), il = strlen(id), n = 0;
        const char *p;
        char *out, *o;

        for (p = text; (p = strstr(p, MB_WIN_NEW_OBJECT)); p += pl)
                n++;
        out = malloc(strlen(text) + n * il + 1);
        if (!out)
                return NULL;
        for (o = out, p = text; *p;) {
                if (strncmp(p, MB_WIN_NEW_OBJECT, pl) == 0) {
                        memcpy(o, id, il);
                        o += il;
                        p += pl;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

/*
 * Removes Boot#### (op->number) from BootOrder, then deletes it. A variable
 * cannot hold zero bytes (UEFI SetVariable and SetFirmwareEnvironmentVariableW
 * both delete a variable written with size 0), so when the entry was
 * BootOrder's only one, BootOrder is deleted: an absent BootOrder is the
 * empty boot order, and facts read it as such.
 */
static int fw_delete(mb_win_target *t, const mb_op *op, mb_error *err)
{
        uint8_t order[4096], out[4096];
        WCHAR *guid = mb_w_from_utf8(EFI_GLOBAL_VARIABLE_GUID), *name;
        DWORD len, n = 0, e = 0;
        char vn[16];
        int r = 0;

        if (!guid)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        name = mb_w_from_utf8("BootOrder");
        len = name ? t->w->GetFirmwareEnvironmentVariableW(name, guid, order, sizeof(order)) : 0;
        if (name && len == 0 && (e = t->w->GetLastError()) != ERROR_ENVVAR_NOT_FOUND)
                r = mb_w_error(err, MB_EIO, e, "GetFirmwareEnvironmentVariableW",
                               "cannot read the firmware variable BootOrder");
        for (DWORD i = 0; i + 1 < len; i += 2)
                if ((uint32_t)(order[i] | order[i + 1] << 8) != (op->number & 0xffff)) {
                        out[n++] = order[i];
                        out[n++] = order[i + 1];
                }
        if (r == 0 && len && n != len &&
            !t->w->SetFirmwareEnvironmentVariableW(name, guid, n ? out : NULL, n))
                r = mb_w_error(err, MB_EIO, t->w->GetLastError(), "SetFirmwareEnvironmentVariableW",
                               n ? "cannot rewrite BootOrder" : "cannot delete BootOrder (its only entry goes)");
        free(name);
        snprintf(vn, sizeof(vn), "Boot%04X", op->number & 0xffff);
        name = mb_w_from_utf8(vn);
        if (r == 0 && name && !t->w->SetFirmwareEnvironmentVariableW(name, guid, NULL, 0))
                r = mb_w_error(err, MB_EIO, t->w->GetLastError(), "SetFirmwareEnvironmentVariableW",
                               "cannot delete %s", vn);
        free(name);
        free(guid);
        return r;
}

/* Boot#### (number) read and parsed into *ret; *ret_found false when the
 * variable is absent (BootOrder may name an entry that is gone). */
static int fw_read_entry(mb_win_target *t, const WCHAR *guid, uint32_t number, mb_fw_entry_fact *ret,
                         bool *ret_found, mb_error *err)
{
        uint8_t opt[4096];
        char vn[16];
        WCHAR *name;
        DWORD len, e;

        memset(ret, 0, sizeof(*ret));
        *ret_found = false;
        snprintf(vn, sizeof(vn), "Boot%04X", number & 0xffff);
        if (!(name = mb_w_from_utf8(vn)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        len = t->w->GetFirmwareEnvironmentVariableW(name, guid, opt, sizeof(opt));
        e = len ? 0 : t->w->GetLastError();
        free(name);
        if (len == 0)
                return e == ERROR_ENVVAR_NOT_FOUND ? 0
                       : mb_w_error(err, MB_EIO, e, "GetFirmwareEnvironmentVariableW",
                                    "cannot read the firmware variable %s", vn);
        *ret_found = true;
        return mb_win_parse_load_option(opt, len, number, ret, err);
}

/*
 * After `bcdedit /set {fwbootmgr} displayorder {id} /addlast` (which puts
 * the entry at the end of BootOrder, behind the firmware's own entries):
 * rewrites BootOrder so that the Boot#### whose description is
 * op->description and whose hard drive media node names esp_guid (any
 * partition when esp_guid is NULL) sits directly after the last other
 * entry whose load option names a partition; entries naming none (DVD,
 * removable media, shell, PXE) keep their order behind it. Writes nothing
 * when BootOrder is already so; MB_ESTATE when no such entry is in
 * BootOrder.
 */
static int fw_place(mb_win_target *t, const mb_op *op, const char *esp_guid, mb_error *err)
{
        uint8_t order[4096], out[4096];
        WCHAR *guid = mb_w_from_utf8(EFI_GLOBAL_VARIABLE_GUID), *name = mb_w_from_utf8("BootOrder");
        bool disk[2048];
        int32_t ours = -1;
        DWORD len = 0, e, n = 0, at = 0;
        int r = 0;

        if (!guid || !name) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        len = t->w->GetFirmwareEnvironmentVariableW(name, guid, order, sizeof(order));
        if (len == 0 && (e = t->w->GetLastError()) != ERROR_ENVVAR_NOT_FOUND) {
                r = mb_w_error(err, MB_EIO, e, "GetFirmwareEnvironmentVariableW",
                               "cannot read the firmware variable BootOrder");
                goto out;
        }
        len &= ~(DWORD)1;
        for (DWORD i = 0; i < len / 2 && r == 0; i++) {
                uint32_t number = (uint32_t)(order[2 * i] | order[2 * i + 1] << 8);
                mb_fw_entry_fact fe;
                bool found;

                r = fw_read_entry(t, guid, number, &fe, &found, err);
                disk[i] = r == 0 && found && fe.partition;
                if (r == 0 && found && fe.description && strcmp(fe.description, op->description) == 0 &&
                    fe.partition && (!esp_guid || strcasecmp(fe.partition, esp_guid) == 0))
                        ours = (int32_t)i;
                free(fe.description);
                free(fe.partition);
                free(fe.path);
        }
        if (r == 0 && ours < 0)
                r = mb_error_set(err, MB_ESTATE,
                                 "BootOrder has no entry \"%s\" naming partition %s after bcdedit added it",
                                 op->description, esp_guid ? esp_guid : "(any)");
        if (r < 0)
                goto out;
        for (DWORD i = 0, k = 0; i < len / 2; i++)
                if ((int32_t)i != ours && (k++, disk[i]))
                        at = k;         /* ours goes before the at-th other entry */
        for (DWORD i = 0, k = 0; i <= len / 2; i++) {
                if (k == at && n == 2 * at) {
                        out[n++] = order[2 * ours];
                        out[n++] = order[2 * ours + 1];
                }
                if (i < len / 2 && (int32_t)i != ours) {
                        out[n++] = order[2 * i];
                        out[n++] = order[2 * i + 1];
                        k++;
                }
        }
        if (n == len && memcmp(out, order, len) != 0 &&
            !t->w->SetFirmwareEnvironmentVariableW(name, guid, out, n))
                r = mb_w_error(err, MB_EIO, t->w->GetLastError(), "SetFirmwareEnvironmentVariableW",
                               "cannot rewrite BootOrder");
out:
        free(name);
        free(guid);
        return r;
}

static int run_steps(mb_win_target *t, const mb_facts *f, const mb_op *op, mb_win_steps *s,
                     mb_progress *progress, mb_error *err)
{
        char new_id[40] = "";
        mb_error first;
        int r = 0, failed = 0;

        for (size_t i = 0; i < s->n; i++) {
                mb_win_step *st = &s->v[i];
                char *text;

                if (failed && !st->always)
                        continue;
                r = 0;
                if (failed) {
                        /* a cleanup after a failure: the first error is kept */
                        first = *err;
                        mb_error_clear(err);
                }
                text = new_id[0] ? substitute(st->text, new_id) : mb_strdup(st->text);
                if (!text) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        goto next;
                }
                if (strstr(text, "<")  && st->kind != MB_WIN_STEP_IOCTL && st->kind != MB_WIN_STEP_LDM_REPAIR &&
                    st->kind != MB_WIN_STEP_WAIT && st->kind != MB_WIN_STEP_CHECK) {
                        r = mb_error_set(err, MB_ESTATE, "cannot run '%s': a name it needs is not known yet",
                                         text);
                        free(text);
                        goto next;
                }
                switch (st->kind) {
                case MB_WIN_STEP_IOCTL:
                        break;  /* performed below from op, with the same builders */
                case MB_WIN_STEP_DISKPART:
                        r = run_diskpart(t, text, err);
                        break;
                case MB_WIN_STEP_COMMAND: {
                        char *out = NULL;

                        r = run_checked(t, text, &out, err);
                        if (r == 0 && strncmp(text, "bcdedit ", 8) == 0 && strstr(text, " /copy ") &&
                            mb_win_find_object_id(out ? out : "", new_id) < 0)
                                r = mb_error_set(err, MB_EIO,
                                                 "'%s' did not print the id of the new object: %.300s",
                                                 text, out ? out : "");
                        free(out);
                        break;
                }
                case MB_WIN_STEP_COPYTREE:
                        r = mb_win_copy_tree(t->w, st->arg1, st->arg2,
                                             mb_win_sync_skips_bcd(f, op), err);
                        break;
                case MB_WIN_STEP_MOVE: {
                        WCHAR *a = mb_w_from_utf8(st->arg1), *b = mb_w_from_utf8(st->arg2);

                        if (!a || !b)
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        else if (!t->w->MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
                                r = mb_w_error(err, MB_EIO, t->w->GetLastError(), "MoveFileExW",
                                               "cannot move '%s' over '%s'", st->arg1, st->arg2);
                        free(a);
                        free(b);
                        break;
                }
                case MB_WIN_STEP_COPYBLOCKS:
                        r = mb_win_copy_blocks(t->w, st->arg1, st->arg2, progress, err);
                        break;
                case MB_WIN_STEP_WAIT:
                        break;  /* the executor re-reads facts; resync state comes from there */
                case MB_WIN_STEP_CHECK:
                        r = mb_win_check_plex_entry(f, op, err);
                        break;
                case MB_WIN_STEP_LDM_REPAIR:
                        r = mb_win_repair_ldm(t->w, f, op->disk, err);
                        break;
                case MB_WIN_STEP_FIRMWARE:
                        if (i == 0)
                                r = fw_delete(t, op, err);
                        break;
                case MB_WIN_STEP_FW_PLACE: {
                        const mb_part_fact *esp = mb_facts_disk(f, op->disk)
                                                  ? mb_disk_part_by_role(mb_facts_disk(f, op->disk), MB_ROLE_EFI)
                                                  : NULL;

                        r = fw_place(t, op, esp ? esp->unique_guid : NULL, err);
                        break;
                }
                }
                free(text);
next:
                if (failed) {
                        if (r < 0) {
                                size_t n = strlen(first.msg);

                                snprintf(first.msg + n, sizeof(first.msg) - n,
                                         "; then, cleaning up, %s", err->msg);
                        }
                        *err = first;
                        r = failed;
                } else if (r < 0) {
                        failed = r;
                }
        }
        return failed ? failed : r;
}

int mb_win_identify(const mb_win32 *w, uint32_t disk, mb_disk_identity *ret, mb_error *err)
{
        STORAGE_PROPERTY_QUERY q;
        mb_disk_fact d;
        char path[32], what[64];
        void *buf = NULL;
        size_t len = 0;
        HANDLE h;
        DWORD e;
        int r;

        mb_win_disk_path(disk, path);
        snprintf(what, sizeof(what), "on disk %u ('%s')", disk, path);
        h = mb_win_open(w, path, GENERIC_READ, 0, &e);
        if (h == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open disk %u ('%s')", disk,
                                  path);
        memset(&d, 0, sizeof(d));
        r = mb_win_ioctl(w, h, IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX",
                         what, NULL, 0, &buf, &len, err);
        if (r == 0)
                r = mb_win_parse_geometry(buf, len, &d, err);
        free(buf);
        buf = NULL;
        if (r == 0) {
                memset(&q, 0, sizeof(q));
                q.PropertyId = StorageDeviceProperty;
                q.QueryType = PropertyStandardQuery;
                r = mb_win_ioctl(w, h, IOCTL_STORAGE_QUERY_PROPERTY, "IOCTL_STORAGE_QUERY_PROPERTY",
                                 what, &q, sizeof(q), &buf, &len, err);
                if (r == 0)
                        r = mb_win_parse_device_descriptor(buf, len, &d, NULL, err);
                free(buf);
        }
        w->CloseHandle(h);
        if (r == 0) {
                snprintf(ret->serial, sizeof(ret->serial), "%s", d.serial ? d.serial : "");
                ret->size = d.size;
                snprintf(ret->where, sizeof(ret->where), "%s", path);
        }
        free(d.serial);
        return r;
}

int mb_win_execute(mb_win_target *t, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_facts *f = NULL;
        mb_win_volmap map = { 0 };
        exec_names names;
        mb_win_render_ctx ctx;
        mb_win_steps steps = { 0 };
        const mb_disk_fact *d;
        int r;

        r = mb_win_read_facts_opts(t->w, &t->read_opts, &f, err);
        if (r < 0)
                return mb_error_prefix(err, "re-reading facts before %s", "an operation");
        r = mb_win_volmap_read(t->w, f, &map, err);
        if (r < 0)
                goto out;
        memset(&names, 0, sizeof(names));
        names.map = &map;
        names.w = t->w;
        memset(&ctx, 0, sizeof(ctx));
        ctx.data = &names;
        ctx.volume_path = ctx_volume_path;
        ctx.nt_device = ctx_nt_device;
        ctx.free_letter = ctx_free_letter;
        ctx.volume_letter = ctx_volume_letter;
        ctx.ramdisk_options = ctx_ramdisk_options;
        ctx.system_drive = t->system_drive;
        r = mb_win_render_steps(f, op, &ctx, &steps, err);
        if (r < 0)
                goto out;

        d = mb_facts_disk(f, op->disk);
        switch (op->kind) {
        case MB_OP_DISK_ONLINE:
                r = do_online(t, op, err);
                break;
        case MB_OP_DISK_INIT_GPT:
                r = check_blank(f, op, err);
                if (r == 0)
                        r = do_init_gpt(t, op, err);
                break;
        case MB_OP_PART_CREATE:
        case MB_OP_PART_SET_NAME:
                r = do_layout(t, op, d && d->sector_size ? d->sector_size : 512, err);
                break;
        default:
                r = run_steps(t, f, op, &steps, progress, err);
        }
out:
        mb_win_steps_clear(&steps);
        mb_win_volmap_clear(&map);
        mb_facts_free(f);
        return r;
}
