/* SPDX-License-Identifier: MIT */
/*
 * The windows target, natively: a fake Win32 table replays the IOCTL answers
 * of the seed machine (tests/data/windows/, made by make_seed_buffers.py from
 * the documented byte layouts) and records what the target sends.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "platform/windows/windows_internal.h"

#define MiB (1024ULL * 1024)

/* ---- fixtures ---- */

typedef struct blob {
        uint8_t *data;
        size_t len;
} blob;

static blob load_hex(const char *name)
{
        char path[512];
        FILE *f;
        blob b = { 0 };
        int c, hi = -1;

        snprintf(path, sizeof(path), "%s/%s", MB_TEST_DATA, name);
        f = fopen(path, "r");
        cr_assert_not_null(f, "fixture %s", path);
        b.data = malloc(65536);
        while ((c = fgetc(f)) != EOF) {
                int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

                if (v < 0)
                        continue;
                if (hi < 0) {
                        hi = v;
                } else {
                        b.data[b.len++] = (uint8_t)(hi << 4 | v);
                        hi = -1;
                }
        }
        fclose(f);
        return b;
}

static char *load_text(const char *name)
{
        char path[512];
        FILE *f;
        char *s = calloc(1, 65536);

        snprintf(path, sizeof(path), "%s/%s", MB_TEST_DATA, name);
        f = fopen(path, "r");
        cr_assert_not_null(f, "fixture %s", path);
        fread(s, 1, 65535, f);
        fclose(f);
        return s;
}

/* ---- the fake machine ---- */

#define H(n) ((HANDLE)(uintptr_t)(n))
#define HDISK 0x100     /* + disk number */
#define HVOL 0x200      /* + volume index */
#define HPIPE_R 0x300
#define HPIPE_W 0x301
#define HPROC 0x302
#define HTHREAD 0x303
#define HTOKEN 0x304
#define HSCRIPT 0x305
#define HFINDVOL 0x306

typedef struct sent {
        DWORD code;
        uint32_t disk;
        uint8_t buf[8192];
        size_t len;
} sent;

static struct fake {
        DWORD last_error;
        int n_disks;
        blob geometry[2], descriptor[2], deviceid[2], attributes[2], layout[2];
        int n_vols;
        const char *vol_name[4];
        const char *vol_nt[4];
        const char *vol_fs[4];
        blob vol_extents[4];
        size_t vol_next;
        char *bcdedit_out;
        DWORD exit_code;
        size_t out_pos;
        char *out_now;
        char cmdlines[8][1024];
        int n_cmd;
        char script[4096];
        sent sent[16];
        int n_sent;
        bool elevated;
        FIRMWARE_TYPE firmware;
        blob boot0000;
        const uint8_t *acl;     /* GetNamedSecurityInfoW answer */
        const uint8_t *owner;
} fk;

static char *utf8(LPCWSTR w)
{
        static char buf[4][1024];
        static int slot;
        char *s = mb_w_to_utf8(w), *out = buf[slot++ & 3];

        snprintf(out, 1024, "%s", s ? s : "");
        free(s);
        return out;
}

static void put_w(LPWSTR dst, DWORD len, const char *s)
{
        WCHAR *w = mb_w_from_utf8(s);
        size_t n = mb_w_len(w);

        if (n >= len)
                n = len - 1;
        memcpy(dst, w, n * sizeof(WCHAR));
        dst[n] = 0;
        free(w);
}

static HANDLE WINAPI f_CreateFileW(LPCWSTR name, DWORD a, DWORD s, LPSECURITY_ATTRIBUTES sa, DWORD d,
                                   DWORD fl, HANDLE t)
{
        const char *n = utf8(name);
        unsigned disk;

        (void)a; (void)s; (void)sa; (void)d; (void)fl; (void)t;
        if (sscanf(n, "\\\\.\\PhysicalDrive%u", &disk) == 1) {
                if ((int)disk < fk.n_disks)
                        return H(HDISK + disk);
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        for (int i = 0; i < fk.n_vols; i++)
                if (strncmp(n, fk.vol_name[i], strlen(fk.vol_name[i]) - 1) == 0)
                        return H(HVOL + i);
        if (strstr(n, "mbstate-diskpart-"))
                return H(HSCRIPT);
        fk.last_error = ERROR_FILE_NOT_FOUND;
        return INVALID_HANDLE_VALUE;
}

static BOOL answer(const blob *b, LPVOID out, DWORD out_len, LPDWORD ret)
{
        if (!b->data) {
                fk.last_error = ERROR_NOT_SUPPORTED;
                return FALSE;
        }
        if (b->len > out_len) {
                fk.last_error = ERROR_INSUFFICIENT_BUFFER;
                return FALSE;
        }
        memcpy(out, b->data, b->len);
        *ret = (DWORD)b->len;
        return TRUE;
}

static BOOL WINAPI f_DeviceIoControl(HANDLE h, DWORD code, LPVOID in, DWORD in_len, LPVOID out,
                                     DWORD out_len, LPDWORD ret, LPOVERLAPPED ov)
{
        uintptr_t id = (uintptr_t)h;

        (void)ov;
        if (id >= HVOL && id < HVOL + 4) {
                if (code == IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS)
                        return answer(&fk.vol_extents[id - HVOL], out, out_len, ret);
                fk.last_error = ERROR_INVALID_FUNCTION;
                return FALSE;
        }
        if (id >= HDISK && id < HDISK + 2) {
                int d = (int)(id - HDISK);

                switch (code) {
                case IOCTL_DISK_GET_DRIVE_GEOMETRY_EX:
                        return answer(&fk.geometry[d], out, out_len, ret);
                case IOCTL_STORAGE_QUERY_PROPERTY: {
                        STORAGE_PROPERTY_QUERY q;

                        cr_assert_geq(in_len, sizeof(q));
                        memcpy(&q, in, sizeof(q));
                        cr_assert_eq(q.QueryType, PropertyStandardQuery);
                        return answer(q.PropertyId == StorageDeviceProperty ? &fk.descriptor[d]
                                                                           : &fk.deviceid[d],
                                      out, out_len, ret);
                }
                case IOCTL_DISK_GET_DISK_ATTRIBUTES:
                        return answer(&fk.attributes[d], out, out_len, ret);
                case IOCTL_DISK_GET_DRIVE_LAYOUT_EX:
                        return answer(&fk.layout[d], out, out_len, ret);
                case IOCTL_SCSI_GET_ADDRESS: {
                        SCSI_ADDRESS a = { 8, 0, 0, (UCHAR)d, 0 };
                        blob b = { (uint8_t *)&a, sizeof(a) };

                        return answer(&b, out, out_len, ret);
                }
                case IOCTL_DISK_SET_DISK_ATTRIBUTES:
                case IOCTL_DISK_CREATE_DISK:
                case IOCTL_DISK_SET_DRIVE_LAYOUT_EX:
                case IOCTL_DISK_UPDATE_PROPERTIES: {
                        sent *s = &fk.sent[fk.n_sent++];

                        s->code = code;
                        s->disk = (uint32_t)d;
                        s->len = in_len;
                        if (in_len)
                                memcpy(s->buf, in, in_len);
                        *ret = 0;
                        return TRUE;
                }
                }
        }
        fk.last_error = ERROR_INVALID_FUNCTION;
        return FALSE;
}

static BOOL WINAPI f_CloseHandle(HANDLE h) { (void)h; return TRUE; }

static BOOL WINAPI f_ReadFile(HANDLE h, LPVOID buf, DWORD len, LPDWORD got, LPOVERLAPPED ov)
{
        size_t left;

        (void)ov;
        *got = 0;
        if ((uintptr_t)h != HPIPE_R || !fk.out_now)
                return FALSE;
        left = strlen(fk.out_now) - fk.out_pos;
        if (left > len)
                left = len;
        memcpy(buf, fk.out_now + fk.out_pos, left);
        fk.out_pos += left;
        *got = (DWORD)left;
        return TRUE;
}

static BOOL WINAPI f_WriteFile(HANDLE h, LPCVOID buf, DWORD len, LPDWORD put, LPOVERLAPPED ov)
{
        (void)ov;
        cr_assert_eq((uintptr_t)h, HSCRIPT);
        cr_assert_lt(len, sizeof(fk.script));
        memcpy(fk.script, buf, len);
        fk.script[len] = '\0';
        *put = len;
        return TRUE;
}

static HANDLE WINAPI f_FindFirstVolumeW(LPWSTR name, DWORD len)
{
        if (fk.n_vols == 0) {
                fk.last_error = ERROR_NO_MORE_FILES;
                return INVALID_HANDLE_VALUE;
        }
        put_w(name, len, fk.vol_name[0]);
        fk.vol_next = 1;
        return H(HFINDVOL);
}

static BOOL WINAPI f_FindNextVolumeW(HANDLE h, LPWSTR name, DWORD len)
{
        (void)h;
        if ((int)fk.vol_next >= fk.n_vols) {
                fk.last_error = ERROR_NO_MORE_FILES;
                return FALSE;
        }
        put_w(name, len, fk.vol_name[fk.vol_next++]);
        return TRUE;
}

static BOOL WINAPI f_FindVolumeClose(HANDLE h) { (void)h; return TRUE; }

static int vol_index(const char *n)
{
        for (int i = 0; i < fk.n_vols; i++)
                if (strstr(fk.vol_name[i], n) || strstr(n, fk.vol_name[i] + 4))
                        return i;
        return -1;
}

static BOOL WINAPI f_GetVolumeInformationW(LPCWSTR root, LPWSTR label, DWORD label_len, LPDWORD serial,
                                           LPDWORD maxc, LPDWORD flags, LPWSTR fs, DWORD fs_len)
{
        int i = vol_index(utf8(root));

        (void)serial; (void)maxc; (void)flags;
        if (i < 0)
                return FALSE;
        put_w(label, label_len, "");
        put_w(fs, fs_len, fk.vol_fs[i]);
        return TRUE;
}

static DWORD WINAPI f_QueryDosDeviceW(LPCWSTR dev, LPWSTR target, DWORD len)
{
        int i = vol_index(utf8(dev));

        if (i < 0)
                return 0;
        put_w(target, len, fk.vol_nt[i]);
        return (DWORD)strlen(fk.vol_nt[i]) + 2;
}

static HANDLE WINAPI f_FindFirstFileW(LPCWSTR p, LPWIN32_FIND_DATAW d)
{
        (void)p; (void)d;
        fk.last_error = ERROR_FILE_NOT_FOUND;
        return INVALID_HANDLE_VALUE;
}

static BOOL WINAPI f_DeleteFileW(LPCWSTR p) { (void)p; return TRUE; }

static DWORD WINAPI f_GetTempPathW(DWORD len, LPWSTR buf)
{
        put_w(buf, len, "C:\\Windows\\Temp\\");
        return 16;
}

static UINT WINAPI f_GetSystemWindowsDirectoryW(LPWSTR buf, UINT len)
{
        put_w(buf, len, "C:\\Windows");
        return 10;
}

static LONG WINAPI f_RegGetValueW(HKEY k, LPCWSTR sub, LPCWSTR val, DWORD fl, LPDWORD type,
                                  PVOID data, LPDWORD len)
{
        (void)k; (void)sub; (void)fl; (void)type;
        if (strcmp(utf8(val), "SystemPartition") == 0) {
                put_w(data, *len / sizeof(WCHAR), "\\Device\\HarddiskVolume1");
                return 0;
        }
        return 2;
}

static BOOL WINAPI f_GetFirmwareType(FIRMWARE_TYPE *t)
{
        *t = fk.firmware;
        return TRUE;
}

static DWORD WINAPI f_GetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        const char *n = utf8(name);

        cr_assert_str_eq(utf8(guid), "{8be4df61-93ca-11d2-aa0d-00e098032b8c}");
        if (strcmp(n, "BootOrder") == 0) {
                cr_assert_geq(len, 2);
                memset(buf, 0, 2);
                return 2;
        }
        if (strcmp(n, "Boot0000") == 0 && fk.boot0000.len <= len) {
                memcpy(buf, fk.boot0000.data, fk.boot0000.len);
                return (DWORD)fk.boot0000.len;
        }
        fk.last_error = ERROR_ENVVAR_NOT_FOUND;
        return 0;
}

static BOOL WINAPI f_CreateProcessW(LPCWSTR app, LPWSTR cmd, LPSECURITY_ATTRIBUTES a,
                                    LPSECURITY_ATTRIBUTES b, BOOL inh, DWORD fl, LPVOID env,
                                    LPCWSTR cwd, LPSTARTUPINFOW si, LPPROCESS_INFORMATION pi)
{
        (void)app; (void)a; (void)b; (void)env; (void)cwd;
        cr_assert(inh);
        cr_assert_eq((uintptr_t)si->hStdOutput, HPIPE_W);
        snprintf(fk.cmdlines[fk.n_cmd++ & 7], 1024, "%s", utf8(cmd));
        (void)fl;
        fk.out_now = strstr(utf8(cmd), "/enum") ? fk.bcdedit_out
                     : strstr(utf8(cmd), "/copy") ? "The entry was successfully copied to {063973c5-d0ac-11ed-b884-cfa59b967f58}.\r\n"
                     : "The operation completed successfully.\r\n";
        fk.out_pos = 0;
        pi->hProcess = H(HPROC);
        pi->hThread = H(HTHREAD);
        return TRUE;
}

static DWORD WINAPI f_WaitForSingleObject(HANDLE h, DWORD ms) { (void)h; (void)ms; return WAIT_OBJECT_0; }

static BOOL WINAPI f_GetExitCodeProcess(HANDLE h, LPDWORD code)
{
        (void)h;
        *code = fk.exit_code;
        return TRUE;
}

static BOOL WINAPI f_CreatePipe(HANDLE *r, HANDLE *w, LPSECURITY_ATTRIBUTES sa, DWORD size)
{
        (void)sa; (void)size;
        *r = H(HPIPE_R);
        *w = H(HPIPE_W);
        return TRUE;
}

static BOOL WINAPI f_SetHandleInformation(HANDLE h, DWORD m, DWORD f) { (void)h; (void)m; (void)f; return TRUE; }
static HANDLE WINAPI f_GetCurrentProcess(void) { return H(1); }

static BOOL WINAPI f_OpenProcessToken(HANDLE p, DWORD a, HANDLE *t)
{
        (void)p; (void)a;
        *t = H(HTOKEN);
        return TRUE;
}

static const uint8_t self_sid[] = { 1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
                                    3, 0, 0, 0, 0xf4, 1, 0, 0 }; /* S-1-5-21-1-2-3-500 */

static BOOL WINAPI f_GetTokenInformation(HANDLE t, TOKEN_INFORMATION_CLASS c, LPVOID buf, DWORD len,
                                         LPDWORD ret)
{
        DWORD need = c == TokenElevation ? sizeof(TOKEN_ELEVATION) : sizeof(TOKEN_USER);

        (void)t;
        *ret = need;
        if (len < need) {
                fk.last_error = ERROR_INSUFFICIENT_BUFFER;
                return FALSE;
        }
        if (c == TokenElevation)
                ((TOKEN_ELEVATION *)buf)->TokenIsElevated = fk.elevated;
        else
                ((TOKEN_USER *)buf)->User.Sid = (PSID)self_sid;
        return TRUE;
}

static BOOL WINAPI f_LookupPrivilegeValueW(LPCWSTR s, LPCWSTR n, PLUID l)
{
        (void)s; (void)n;
        l->LowPart = 22;
        return TRUE;
}

static BOOL WINAPI f_AdjustTokenPrivileges(HANDLE t, BOOL d, PTOKEN_PRIVILEGES s, DWORD l,
                                           PTOKEN_PRIVILEGES p, LPDWORD r)
{
        (void)t; (void)d; (void)s; (void)l; (void)p; (void)r;
        fk.last_error = 0;
        return TRUE;
}

static DWORD WINAPI f_GetNamedSecurityInfoW(LPCWSTR n, SE_OBJECT_TYPE t, SECURITY_INFORMATION i,
                                            PSID *owner, PSID *group, PACL *dacl, PACL *sacl,
                                            PSECURITY_DESCRIPTOR *sd)
{
        (void)n; (void)t; (void)i; (void)group; (void)sacl;
        *owner = (PSID)fk.owner;
        *dacl = (PACL)fk.acl;
        *sd = NULL;
        return 0;
}

static DWORD WINAPI f_GetLastError(void) { return fk.last_error; }

static const mb_win32 fake_table = {
        .CreateFileW = f_CreateFileW,
        .DeviceIoControl = f_DeviceIoControl,
        .CloseHandle = f_CloseHandle,
        .ReadFile = f_ReadFile,
        .WriteFile = f_WriteFile,
        .FindFirstVolumeW = f_FindFirstVolumeW,
        .FindNextVolumeW = f_FindNextVolumeW,
        .FindVolumeClose = f_FindVolumeClose,
        .GetVolumeInformationW = f_GetVolumeInformationW,
        .QueryDosDeviceW = f_QueryDosDeviceW,
        .FindFirstFileW = f_FindFirstFileW,
        .DeleteFileW = f_DeleteFileW,
        .GetTempPathW = f_GetTempPathW,
        .GetSystemWindowsDirectoryW = f_GetSystemWindowsDirectoryW,
        .RegGetValueW = f_RegGetValueW,
        .GetFirmwareType = f_GetFirmwareType,
        .GetFirmwareEnvironmentVariableW = f_GetFirmwareEnvironmentVariableW,
        .CreateProcessW = f_CreateProcessW,
        .WaitForSingleObject = f_WaitForSingleObject,
        .GetExitCodeProcess = f_GetExitCodeProcess,
        .CreatePipe = f_CreatePipe,
        .SetHandleInformation = f_SetHandleInformation,
        .GetCurrentProcess = f_GetCurrentProcess,
        .OpenProcessToken = f_OpenProcessToken,
        .GetTokenInformation = f_GetTokenInformation,
        .LookupPrivilegeValueW = f_LookupPrivilegeValueW,
        .AdjustTokenPrivileges = f_AdjustTokenPrivileges,
        .GetNamedSecurityInfoW = f_GetNamedSecurityInfoW,
        .GetLastError = f_GetLastError,
};

static void fk_free(void)
{
        for (int d = 0; d < 2; d++) {
                free(fk.geometry[d].data);
                free(fk.descriptor[d].data);
                free(fk.deviceid[d].data);
                free(fk.attributes[d].data);
                free(fk.layout[d].data);
        }
        for (int i = 0; i < 4; i++)
                free(fk.vol_extents[i].data);
        free(fk.bcdedit_out);
        free(fk.boot0000.data);
        memset(&fk, 0, sizeof(fk));
}

__attribute__((destructor)) static void fk_cleanup(void)
{
        fk_free();
}

/* The seed machine before anything was done: Disk 1 offline and raw. */
static void seed_machine(const char *disk1_layout)
{
        fk_free();
        fk.n_disks = 2;
        for (int d = 0; d < 2; d++) {
                char n[64];

                snprintf(n, sizeof(n), "disk%d_geometry.hex", d);
                fk.geometry[d] = load_hex(n);
                snprintf(n, sizeof(n), "disk%d_descriptor.hex", d);
                fk.descriptor[d] = load_hex(n);
                snprintf(n, sizeof(n), "disk%d_deviceid.hex", d);
                fk.deviceid[d] = load_hex(n);
                snprintf(n, sizeof(n), "disk%d_attributes.hex", d);
                fk.attributes[d] = load_hex(n);
        }
        fk.layout[0] = load_hex("disk0_layout.hex");
        fk.layout[1] = load_hex(disk1_layout);
        fk.n_vols = 3;
        fk.vol_name[0] = "\\\\?\\Volume{0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01}\\";
        fk.vol_nt[0] = "\\Device\\HarddiskVolume1";
        fk.vol_fs[0] = "FAT32";
        fk.vol_extents[0] = load_hex("disk0_part1_extents.hex");
        fk.vol_name[1] = "\\\\?\\Volume{0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03}\\";
        fk.vol_nt[1] = "\\Device\\HarddiskVolume3";
        fk.vol_fs[1] = "NTFS";
        fk.vol_extents[1] = load_hex("disk0_part3_extents.hex");
        fk.vol_name[2] = "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}\\";
        fk.vol_nt[2] = "\\Device\\HarddiskVolume4";
        fk.vol_fs[2] = "NTFS";
        fk.vol_extents[2] = load_hex("disk0_part4_extents.hex");
        fk.bcdedit_out = load_text("bcdedit_enum_all_v.txt");
        fk.elevated = true;
        fk.firmware = FirmwareTypeUefi;
        fk.boot0000 = load_hex("boot0000.hex");
}

static mb_facts *seed_facts(const char *disk1_layout)
{
        mb_facts *f = NULL;
        mb_error err;

        seed_machine(disk1_layout);
        mb_error_clear(&err);
        cr_assert_eq(mb_win_read_facts(&fake_table, &f, &err), 0, "%s", err.msg);
        return f;
}

/* ---- facts ---- */

Test(windows_facts, seed_disk0_exact)
{
        mb_facts *f = seed_facts("disk1_layout_raw.hex");
        mb_disk_fact *d = mb_facts_disk(f, 0);
        static const struct {
                mb_role role;
                uint32_t number;
                uint64_t first, last, attrs;
                const char *type, *guid, *name;
                mb_fs fs;
        } want[] = {
                { MB_ROLE_EFI, 1, 2048, 206847, 0, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                  "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01", "EFI system partition", MB_FS_FAT32 },
                { MB_ROLE_MSR, 2, 206848, 239615, 0, "e3c9e316-0b5c-4db8-817d-f92df00215ae",
                  "0d3e1c2b-0002-4a1b-9c2d-3e4f5a6b7c02", "Microsoft reserved partition", MB_FS_NONE },
                { MB_ROLE_OS, 3, 239616, 239616 + 33685504000ULL / 512 - 1, 0x8000000000000000ULL,
                  "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03",
                  "Basic data partition", MB_FS_NTFS },
                { MB_ROLE_RECOVERY, 4, 33808187392ULL / 512, 33808187392ULL / 512 + 524 * 2048 - 1,
                  0x8000000000000001ULL, "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
                  "0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04", "", MB_FS_NTFS },
        };

        cr_assert_eq(f->n_disks, 2);
        cr_assert_str_eq(f->target, "windows");
        cr_assert_not_null(d);
        cr_assert_str_eq(d->path, "\\\\.\\PhysicalDrive0");
        cr_assert_eq(d->size, 32ULL * 1024 * MiB);
        cr_assert_eq(d->sector_size, 512);
        cr_assert_str_eq(d->serial, "6000c29a1b2c3d4e5f60718293a4b5c6");
        cr_assert_str_eq(d->unique_id, "6000c29a1b2c3d4e5f60718293a4b5c6");
        cr_assert_str_eq(d->location, "sas:port0:path0:target0:lun0");
        cr_assert(d->online);
        cr_assert_not(d->read_only);
        cr_assert(d->system);
        cr_assert_not(d->dynamic);
        cr_assert_eq(d->style, MB_STYLE_GPT);
        cr_assert_str_eq(d->disk_guid, "5e9c4b1a-2f3d-4c8e-9a7b-1c2d3e4f5a6b");
        cr_assert_eq(d->first_usable_lba, 34);
        cr_assert_eq(d->last_usable_lba, 67108830);
        cr_assert_eq(d->n_partitions, 4);
        for (int i = 0; i < 4; i++) {
                mb_part_fact *p = &d->partitions[i];

                cr_assert_eq(p->role, want[i].role, "partition %d", i);
                cr_assert_eq(p->number, want[i].number);
                cr_assert_eq(p->first_lba, want[i].first, "partition %d first %llu", i,
                             (unsigned long long)p->first_lba);
                cr_assert_eq(p->last_lba, want[i].last, "partition %d last", i);
                cr_assert_eq(p->attributes, want[i].attrs, "partition %d attrs", i);
                cr_assert_str_eq(p->type_guid, want[i].type);
                cr_assert_str_eq(p->unique_guid, want[i].guid);
                cr_assert_str_eq(p->name, want[i].name);
                cr_assert_eq(p->fs, want[i].fs, "partition %d fs", i);
        }
        /* The seed's numbers: OS at byte 122683392, 33685504000 bytes;
         * recovery at byte 33808187392, 524 MiB. */
        cr_assert_eq(d->partitions[2].first_lba * 512, 122683392ULL);
        cr_assert_eq((d->partitions[2].last_lba - d->partitions[2].first_lba + 1) * 512,
                     33685504000ULL);
        cr_assert_eq(d->partitions[3].first_lba * 512, 33808187392ULL);
        cr_assert_eq((d->partitions[3].last_lba - d->partitions[3].first_lba + 1) * 512, 524 * MiB);
        mb_facts_free(f);
}

Test(windows_facts, seed_disk1_offline_raw)
{
        mb_facts *f = seed_facts("disk1_layout_raw.hex");
        mb_disk_fact *d = mb_facts_disk(f, 1);

        cr_assert_not_null(d);
        cr_assert_eq(d->size, 32ULL * 1024 * MiB);
        cr_assert_not(d->online);
        cr_assert_not(d->system);
        cr_assert_eq(d->style, MB_STYLE_RAW);
        cr_assert_eq(d->n_partitions, 0);
        cr_assert_null(d->disk_guid);
        cr_assert_str_eq(d->serial, "6000c2917e8d9c0b1a2f3e4d5c6b7a80");
        cr_assert_eq(f->n_volumes, 0);
        mb_facts_free(f);
}

Test(windows_facts, bcd_and_firmware)
{
        mb_facts *f = seed_facts("disk1_layout_raw.hex");
        mb_bcd_object_fact *bm, *plex;

        cr_assert_not_null(f->bcd);
        cr_assert_eq(f->bcd->n_objects, 5);
        bm = mb_facts_bcd_object(f, "{bootmgr}");
        cr_assert_not_null(bm);
        cr_assert_str_eq(bm->type, "boot-manager");
        cr_assert_str_eq(bm->device->kind, "partition");
        cr_assert_str_eq(bm->device->partition, "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01");
        cr_assert_str_eq(bm->device->disk, "5e9c4b1a-2f3d-4c8e-9a7b-1c2d3e4f5a6b");
        cr_assert_eq(bm->n_displayorder, 2);
        cr_assert_str_eq(bm->displayorder[1], "{063973c4-d0ac-11ed-b884-cfa59b967f58}");
        plex = mb_facts_bcd_by_description(f, "os-loader", "Windows Server - secondary plex");
        cr_assert_not_null(plex);
        cr_assert_str_eq(plex->osdevice->partition, "0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03");
        cr_assert_str_eq(mb_facts_bcd_object(f, "{fwbootmgr}")->type,
                         "firmware-boot-manager");

        cr_assert_not_null(f->firmware);
        cr_assert_eq(f->firmware->n_order, 1);
        cr_assert_eq(f->firmware->n_entries, 1);
        cr_assert_str_eq(f->firmware->entries[0].description, "Windows Boot Manager");
        cr_assert_str_eq(f->firmware->entries[0].partition, "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01");
        cr_assert_str_eq(f->firmware->entries[0].path, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        cr_assert(f->firmware->entries[0].active);
        cr_assert_eq(fk.n_cmd, 1);
        cr_assert(strstr(fk.cmdlines[0], "bcdedit.exe /enum all /v"));
        mb_facts_free(f);
}

Test(windows_facts, bcdedit_headings_in_another_language)
{
        const char *text =
                "\r\nWindows-Start-Manager\r\n---------------------\r\n"
                "identifier              {9dea862c-5cdd-4e70-acc1-f32b344d4795}\r\n"
                "device                  partition=\\Device\\HarddiskVolume1\r\n"
                "path                    \\EFI\\Microsoft\\Boot\\bootmgfw.efi\r\n"
                "description             Windows-Start-Manager\r\n"
                "displayorder            {063973C0-D0AC-11ED-B884-CFA59B967F58}\r\n";
        mb_bcd_fact *b = NULL;
        mb_error err;

        cr_assert_eq(mb_win_parse_bcdedit(text, NULL, "test", &b, &err), 0);
        cr_assert_eq(b->n_objects, 1);
        cr_assert_str_eq(b->objects[0].id, "{bootmgr}");
        cr_assert_str_eq(b->objects[0].type, "boot-manager");
        cr_assert_str_eq(b->objects[0].description, "Windows-Start-Manager");
        cr_assert_str_eq(b->objects[0].displayorder[0], "{063973c0-d0ac-11ed-b884-cfa59b967f58}");
        cr_assert_str_eq(b->objects[0].device->kind, "partition");
        cr_assert_null(b->objects[0].device->partition);
        mb_win_bcd_free(b);
}

Test(windows_facts, disk_open_denied_is_a_clear_error)
{
        mb_facts *f = NULL;
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        free(fk.geometry[0].data);
        fk.geometry[0].data = NULL;     /* the first IOCTL fails */
        cr_assert_lt(mb_win_read_facts(&fake_table, &f, &err), 0);
        cr_assert(strstr(err.msg, "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX on disk 0 ('\\\\.\\PhysicalDrive0')"),
                  "%s", err.msg);
        cr_assert(strstr(err.msg, "(DeviceIoControl, error 50)"), "%s", err.msg);
}

/* ---- changes: IOCTL input buffers, field by field (byte offsets) ---- */

static uint64_t le64(const uint8_t *p) { return mb_le64(p); }
static uint32_t le32(const uint8_t *p) { return mb_le32(p); }

static mb_win_target target(void)
{
        mb_win_target t;

        memset(&t, 0, sizeof(t));
        t.w = &fake_table;
        t.allowed[0] = t.allowed[1] = true;
        t.system_drive = 'C';
        return t;
}

Test(windows_exec, online_disk1)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_ONLINE, .disk = 1 };
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_sent, 1);
        cr_assert_eq(fk.sent[0].code, 0x0007c0f4);      /* IOCTL_DISK_SET_DISK_ATTRIBUTES */
        cr_assert_eq(fk.sent[0].disk, 1);
        cr_assert_eq(fk.sent[0].len, 40);
        cr_assert_eq(le32(fk.sent[0].buf), 40);         /* Version */
        cr_assert_eq(fk.sent[0].buf[4], 1);             /* Persist */
        cr_assert_eq(le64(fk.sent[0].buf + 8), 0);      /* Attributes: online, writable */
        cr_assert_eq(le64(fk.sent[0].buf + 16), 3);     /* AttributesMask: offline | read-only */
        for (int i = 24; i < 40; i++)
                cr_assert_eq(fk.sent[0].buf[i], 0);
}

Test(windows_exec, refuses_disk_not_selected)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_ONLINE, .disk = 1 };
        mb_error err;

        t.allowed[1] = false;
        seed_machine("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "never opened for writing"));
        cr_assert_eq(fk.n_sent, 0);
}

Test(windows_exec, init_gpt_leaves_no_msr)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1, .expect_size = 32ULL << 30 };
        mb_error err;

        snprintf(op.expect_serial, sizeof(op.expect_serial), "6000c2917e8d9c0b1a2f3e4d5c6b7a80");
        seed_machine("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_sent, 3);
        cr_assert_eq(fk.sent[0].code, 0x0007c058);      /* IOCTL_DISK_CREATE_DISK */
        cr_assert_eq(fk.sent[0].len, 24);
        cr_assert_eq(le32(fk.sent[0].buf), 1);          /* PARTITION_STYLE_GPT */
        cr_assert_eq(le32(fk.sent[0].buf + 20), 128);   /* MaxPartitionCount */
        cr_assert_eq(fk.sent[1].code, 0x0007c054);      /* IOCTL_DISK_SET_DRIVE_LAYOUT_EX */
        cr_assert_eq(le32(fk.sent[1].buf), 1);
        cr_assert_eq(le32(fk.sent[1].buf + 4), 0);      /* PartitionCount: no MSR */
        cr_assert_eq(memcmp(fk.sent[1].buf + 8, fk.sent[0].buf + 4, 16), 0); /* same DiskId */
        cr_assert_eq(fk.sent[2].code, 0x00070140);      /* IOCTL_DISK_UPDATE_PROPERTIES */
}

Test(windows_exec, init_gpt_checks_identity)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1, .expect_size = 32ULL << 30 };
        mb_error err;

        snprintf(op.expect_serial, sizeof(op.expect_serial), "someone-else");
        seed_machine("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "serial"), "%s", err.msg);
        cr_assert_eq(fk.n_sent, 0);

        /* and never on a disk with partitions */
        op.expect_serial[0] = '\0';
        op.disk = 0;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "blank"), "%s", err.msg);
        cr_assert_eq(fk.n_sent, 0);
}

static const uint8_t efi_type_le[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                         0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const uint8_t recovery_type_le[16] = { 0xa4, 0xbb, 0x94, 0xde, 0xd1, 0x06, 0x40, 0x4d,
                                              0xa1, 0x6a, 0xbf, 0xd5, 0x01, 0x79, 0xd6, 0xac };

Test(windows_exec, create_efi_partition)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_CREATE, .disk = 1, .role = MB_ROLE_EFI,
                     .first_lba = 2048, .last_lba = 206847 };
        const uint8_t *e;
        const char *name = "EFI system partition";
        mb_error err;

        seed_machine("disk1_layout_empty_gpt.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_sent, 2);
        cr_assert_eq(fk.sent[0].code, 0x0007c054);
        cr_assert_eq(fk.sent[0].len, 48 + 144);
        cr_assert_eq(le32(fk.sent[0].buf), 1);
        cr_assert_eq(le32(fk.sent[0].buf + 4), 1);
        cr_assert_eq(memcmp(fk.sent[0].buf + 8, fk.layout[1].data + 8, 40), 0); /* GPT header kept */
        e = fk.sent[0].buf + 48;
        cr_assert_eq(le32(e), 1);                       /* PARTITION_STYLE_GPT */
        cr_assert_eq(le64(e + 8), 1 * MiB);             /* StartingOffset */
        cr_assert_eq(le64(e + 16), 100 * MiB);          /* PartitionLength */
        cr_assert_eq(e[28], 1);                         /* RewritePartition */
        cr_assert_eq(memcmp(e + 32, efi_type_le, 16), 0);
        cr_assert_neq(le64(e + 48) | le64(e + 56), 0);  /* PartitionId: new, random */
        cr_assert_eq(le64(e + 64), 0);                  /* Attributes */
        for (size_t i = 0; i < 36; i++)
                cr_assert_eq(mb_le16(e + 72 + 2 * i), i < strlen(name) ? (uint16_t)name[i] : 0);
        cr_assert_eq(fk.sent[1].code, 0x00070140);
}

Test(windows_exec, create_recovery_partition_with_attributes)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_CREATE, .disk = 1, .role = MB_ROLE_RECOVERY,
                     .first_lba = 33808187392ULL / 512,
                     .last_lba = 33808187392ULL / 512 + 524 * 2048 - 1,
                     .attributes = 0x8000000000000001ULL };
        const uint8_t *e;
        mb_error err;

        seed_machine("disk1_layout_empty_gpt.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        e = fk.sent[0].buf + 48;
        cr_assert_eq(le64(e + 8), 33808187392ULL);
        cr_assert_eq(le64(e + 16), 524 * MiB);
        cr_assert_eq(memcmp(e + 32, recovery_type_le, 16), 0);
        cr_assert_eq(le64(e + 64), 0x8000000000000001ULL);
}

Test(windows_exec, create_refuses_overlap)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_CREATE, .disk = 1, .role = MB_ROLE_EFI,
                     .first_lba = 4096, .last_lba = 8191 };
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "overlaps partition 1"), "%s", err.msg);
        cr_assert_eq(fk.n_sent, 0);
}

Test(windows_exec, set_name_keeps_everything_else)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_SET_NAME, .disk = 1, .role = MB_ROLE_RECOVERY };
        mb_error err;

        snprintf(op.name, sizeof(op.name), "Recovery");
        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.sent[0].len, 48 + 4 * 144);
        /* entries 1-3 byte for byte as read */
        cr_assert_eq(memcmp(fk.sent[0].buf + 48, fk.layout[1].data + 48, 3 * 144), 0);
        cr_assert_eq(mb_le16(fk.sent[0].buf + 48 + 3 * 144 + 72), 'R');
        cr_assert_eq(mb_le16(fk.sent[0].buf + 48 + 3 * 144 + 72 + 16), 0);
        cr_assert_eq(fk.sent[0].buf[48 + 3 * 144 + 28], 1);
}

Test(windows_exec, diskpart_runs_the_rendered_script)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_SET_ATTRS, .disk = 1, .role = MB_ROLE_RECOVERY,
                     .attributes = 0x8000000000000001ULL };
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fk.script, "select disk 1\nselect partition 4\ngpt attributes=0x8000000000000001\n");
        cr_assert_str_eq(fk.cmdlines[fk.n_cmd - 1],
                         "\"C:\\Windows\\System32\\diskpart.exe\" /s \"C:\\Windows\\Temp\\mbstate-diskpart-1.txt\"");

        fk.exit_code = 2;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "exit code 2"), "%s", err.msg);
}

Test(windows_exec, bcd_copy_uses_the_printed_id)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_BCD_COPY_BOOTMGR, .disk = 0, .role = MB_ROLE_EFI };
        mb_error err;

        snprintf(op.description, sizeof(op.description), "Windows Boot Manager Cloned");
        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(strstr(fk.cmdlines[fk.n_cmd - 2],
                         "bcdedit.exe\" /copy {bootmgr} /d \"Windows Boot Manager Cloned\""));
        cr_assert(strstr(fk.cmdlines[fk.n_cmd - 1],
                         "bcdedit.exe\" /set {063973c5-d0ac-11ed-b884-cfa59b967f58} device partition=\\Device\\HarddiskVolume1"),
                  "%s", fk.cmdlines[fk.n_cmd - 1]);
}

/* ---- reviewable commands ---- */

static char *render(const mb_facts *f, const mb_op *op)
{
        char *text = NULL;
        mb_error err;

        cr_assert_eq(mb_windows_render_op(f, op, &text, &err), 0, "%s", err.msg);
        return text;
}

Test(windows_render, seed_steps)
{
        mb_facts *f = seed_facts("disk1_layout_seed.hex");
        mb_op op;
        char *t;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_CONVERT_DYNAMIC;
        op.disk = 1;
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n  select disk 1\n  convert dynamic\nEOF\n");
        free(t);

        /* the seed's defect, fixed */
        op.kind = MB_OP_PART_SET_ATTRS;
        op.role = MB_ROLE_RECOVERY;
        op.attributes = 0x8000000000000001ULL;
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n  select disk 1\n  select partition 4\n"
                            "  gpt attributes=0x8000000000000001\nEOF\n");
        free(t);

        op.kind = MB_OP_PART_SET_TYPE;
        snprintf(op.type_guid, sizeof(op.type_guid), "de94bba4-06d1-4d40-a16a-bfd50179d6ac");
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n  select disk 1\n  select partition 4\n"
                            "  set id=de94bba4-06d1-4d40-a16a-bfd50179d6ac override\nEOF\n");
        free(t);

        op.kind = MB_OP_FORMAT;
        op.fs = MB_FS_FAT32;
        op.role = MB_ROLE_EFI;
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n  select disk 1\n  select partition 1\n"
                            "  format fs=fat32 quick\nEOF\n");
        free(t);

        op.kind = MB_OP_MIRROR_ADD;
        op.role = MB_ROLE_OS;
        op.disk2 = 0;
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n  select volume=C\n  add disk=1\nEOF\n");
        free(t);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_BCD_COPY_BOOTMGR;
        op.disk = 1;
        op.role = MB_ROLE_EFI;
        snprintf(op.description, sizeof(op.description), "Windows Boot Manager Cloned");
        t = render(f, &op);
        cr_assert_str_eq(t, "bcdedit /copy {bootmgr} /d \"Windows Boot Manager Cloned\"\n"
                            "bcdedit /set {<id printed by bcdedit /copy>} device partition="
                            "<\\Device\\HarddiskVolumeN of disk 1's efi partition>\n");
        free(t);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_SYNC_FILES;
        op.disk = 1;
        op.disk2 = 0;
        op.role = MB_ROLE_EFI;
        t = render(f, &op);
        cr_assert_str_eq(t,
                "copy tree \\\\?\\Volume{0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01}\\ -> "
                "\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}\\ (copy every file, delete files the "
                "source does not have; except \\EFI\\Microsoft\\Boot\\BCD and its BCD.LOG* files)\n"
                "bcdedit /export \"\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}\\EFI\\Microsoft\\Boot\\BCD.mbstate\"\n"
                "move \\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}\\EFI\\Microsoft\\Boot\\BCD.mbstate -> "
                "\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}\\EFI\\Microsoft\\Boot\\BCD (replace)\n");
        free(t);

        op.kind = MB_OP_CLONE_BLOCKS;
        op.role = MB_ROLE_RECOVERY;
        t = render(f, &op);
        cr_assert_str_eq(t, "copy blocks \\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04} -> "
                            "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14} (524 MiB; both volumes "
                            "locked, the destination dismounted)\n");
        free(t);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_FW_ENTRY;
        op.position = MB_POS_LAST;
        snprintf(op.description, sizeof(op.description), "Windows Server - secondary plex");
        t = render(f, &op);
        cr_assert_str_eq(t, "bcdedit /set {fwbootmgr} displayorder "
                            "{063973c4-d0ac-11ed-b884-cfa59b967f58} /addlast\n");
        free(t);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_DISK_ONLINE;
        op.disk = 1;
        t = render(f, &op);
        cr_assert_str_eq(t, "IOCTL_DISK_SET_DISK_ATTRIBUTES \\\\.\\PhysicalDrive1: Version=40 Persist=TRUE "
                            "Attributes=0x0 AttributesMask=0x3 (online, writable)\n");
        free(t);
        mb_facts_free(f);
}

Test(windows_render, refuses_injection_and_unknown)
{
        mb_facts *f = seed_facts("disk1_layout_seed.hex");
        mb_op op;
        char *t = NULL;
        mb_error err;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_BCD_COPY_BOOTMGR;
        op.disk = 1;
        op.role = MB_ROLE_EFI;
        snprintf(op.description, sizeof(op.description), "x\" & format c: & \"");
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_EINVAL);
        cr_assert_null(t);

        op.kind = MB_OP_BCD_DELETE;
        snprintf(op.object, sizeof(op.object), "{bootmgr} /f");
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_EINVAL);

        op.kind = MB_OP_CONVERT_DYNAMIC;
        op.disk = 7;
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_ENOENT);
        cr_assert(strstr(err.msg, "disk 7"));
        mb_facts_free(f);
}

/* ---- preflight and the config file's ACL ---- */

Test(windows_security, refuses_without_elevation)
{
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        fk.elevated = false;
        cr_assert_eq(mb_win_preflight(&fake_table, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "must run elevated"), "%s", err.msg);
        fk.elevated = true;
        fk.firmware = FirmwareTypeBios;
        cr_assert_eq(mb_win_preflight(&fake_table, NULL, &err), MB_ENOTSUP);
        cr_assert(strstr(err.msg, "UEFI"), "%s", err.msg);
}

typedef struct ace_spec {
        uint8_t type;
        uint32_t mask;
        const char *sid;
} ace_spec;

/* An ACL: ACEs of (type, mask, SID). */
static size_t acl_build(uint8_t *buf, const ace_spec *aces, int n)
{
        size_t off = 8;

        for (int i = 0; i < n; i++) {
                unsigned long sub[8];
                int ns = 0;
                unsigned long long auth;
                const char *p = aces[i].sid + 4;
                char *end;
                uint8_t *a = buf + off;

                auth = strtoull(p, &end, 10);
                while (*end == '-') {
                        sub[ns++] = strtoul(end + 1, &end, 10);
                }
                a[0] = aces[i].type;
                a[1] = 0;
                mb_put_le16(a + 2, (uint16_t)(8 + 8 + 4 * ns));
                mb_put_le32(a + 4, aces[i].mask);
                a[8] = 1;
                a[9] = (uint8_t)ns;
                memset(a + 10, 0, 6);
                a[15] = (uint8_t)auth;
                for (int j = 0; j < ns; j++)
                        mb_put_le32(a + 16 + 4 * j, (uint32_t)sub[j]);
                off += 16 + 4 * (size_t)ns;
        }
        buf[0] = 2;
        mb_put_le16(buf + 2, (uint16_t)off);
        mb_put_le16(buf + 4, (uint16_t)n);
        return off;
}

Test(windows_security, config_acl)
{
        static const ace_spec ok[] = {
                { 0, 0x001f01ff, "S-1-5-32-544" }, { 0, 0x001f01ff, "S-1-5-18" },
                { 0, 0x001200a9, "S-1-5-32-545" },     /* Users: read & execute */
        }, bad[] = {
                { 0, 0x001f01ff, "S-1-5-32-544" }, { 0, 0x001301bf, "S-1-5-11" }, /* Authenticated Users: modify */
        };
        static const uint8_t admins[] = { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0 };
        static const uint8_t user[] = { 1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
                                        3, 0, 0, 0, 0xe9, 3, 0, 0 }; /* S-1-5-21-1-2-3-1001 */
        uint8_t acl[512];
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        acl_build(acl, ok, 3);
        fk.acl = acl;
        fk.owner = admins;
        cr_assert_eq(mb_win_check_config_acl(&fake_table, "C:\\ProgramData\\mbstate\\site.yaml", &err), 0,
                     "%s", err.msg);

        acl_build(acl, bad, 2);
        cr_assert_eq(mb_win_check_config_acl(&fake_table, "C:\\ProgramData\\mbstate\\site.yaml", &err),
                     MB_EUNSAFE);
        cr_assert(strstr(err.msg, "can be modified by S-1-5-11"), "%s", err.msg);

        acl_build(acl, ok, 3);
        fk.owner = user;
        cr_assert_eq(mb_win_check_config_acl(&fake_table, "site.yaml", &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "owned by S-1-5-21-1-2-3-1001"), "%s", err.msg);

        fk.owner = self_sid;    /* the elevated administrator running mbstate */
        cr_assert_eq(mb_win_check_config_acl(&fake_table, "site.yaml", &err), 0, "%s", err.msg);

        fk.acl = NULL;
        cr_assert_eq(mb_win_check_config_acl(&fake_table, "site.yaml", &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "no DACL"), "%s", err.msg);
}

Test(windows_util, guid_and_strings)
{
        GUID g;
        char t[37];
        WCHAR *w = mb_w_from_utf8("Grüße \xf0\x9f\x92\xbe");
        char *back = mb_w_to_utf8(w);

        cr_assert_eq(mb_w_guid_parse("{C12A7328-F81F-11D2-BA4B-00A0C93EC93B}", &g), 0);
        cr_assert_eq(g.Data1, 0xc12a7328u);
        mb_w_guid_format(&g, t);
        cr_assert_str_eq(t, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        cr_assert_lt(mb_w_guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93", &g), 0);
        cr_assert_eq(mb_w_len(w), 8);   /* the emoji is a surrogate pair */
        cr_assert_str_eq(back, "Grüße \xf0\x9f\x92\xbe");
        free(w);
        free(back);
}
