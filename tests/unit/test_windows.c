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
#include <strings.h>

#include "blockdev.h"
#include "platform/windows/windows_internal.h"
#include "sha256.h"
#include "format/ldm/ldm.h"
#include "platform/windows/vds.h"

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
#define HFILE 0x1000    /* + index in fk.files */
#define HFIND 0x2000    /* + index in fk.finds */
#define CHUNK (1u << 20)
#define MAX_FILES 64
#define ERROR_DIR_NOT_EMPTY_ 145u
#define S_FALSE_FAKE ((HRESULT)1)

/* A file or directory of the fake volumes, by the full path the target
 * spells ("\\?\Volume{...}\EFI\Boot\bootx64.efi"); path[0] == 0: deleted. */
typedef struct ffile {
        char path[400];
        bool dir;
        bool locked;            /* held open elsewhere (the live BCD hive) */
        uint8_t *data;
        size_t len;
} ffile;

typedef struct ffind {
        int idx[MAX_FILES + 2]; /* -1 ".", -2 ".." */
        int n, i;
        bool used;
} ffind;

/* A `bcdedit /store <path>` answer. */
typedef struct fstore {
        const char *path;
        const char *out;
} fstore;

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
        DWORD exit_code;        /* diskpart's */
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
        /* the disks' bytes in 1 MiB chunks, allocated when written; unwritten reads as zeros */
        uint8_t **chunks[2];
        uint64_t dpos[2], vpos[4];
        uint64_t vol_len[4];    /* IOCTL_DISK_GET_LENGTH_INFO; 0: the extent's length */
        ffile files[MAX_FILES];
        int n_files;
        uint64_t fpos[MAX_FILES];
        ffind finds[8];
        fstore stores[4];
        DWORD proc_code;        /* exit code of the last process */
        int n_copied;
        char fsctl_log[512];
        DWORD fail_fsctl;       /* this FSCTL fails with ERROR_ACCESS_DENIED */
        DWORD fail_read_at_disk;/* ReadFile on a disk fails once the position passes this many MiB (0: never) */
        uint8_t boot_order[16];
        int n_boot_order;       /* 0: BootOrder is {0000} */
        char fw_set[8][16];     /* SetFirmwareEnvironmentVariableW names, in order */
        uint8_t fw_set_data[8][16];
        DWORD fw_set_len[8];
        int n_fw_set;
        /* VDS: one pack, one volume, its plexes */
        struct {
                int32_t status, health;
                int disk;               /* index of the VDS disk object; -1: one VDS no longer has */
                uint64_t offset, size;
        } vds_plex[3];
        int n_vds_plex;
        HRESULT co_init_hr, co_create_hr;
        int n_co_init, n_co_uninit, n_mem_freed, n_mem_alloc;
        int com_refs;           /* references handed out and not released */
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

/* ---- the fake disks' bytes ---- */

static uint64_t disk_size(int d)
{
        return fk.geometry[d].data ? mb_le64(fk.geometry[d].data + 24) : 0;
}

static void disk_rw(int d, uint64_t off, void *buf, size_t len, bool write)
{
        uint8_t *b = buf;

        if (!fk.chunks[d])
                fk.chunks[d] = calloc(disk_size(d) / CHUNK + 1, sizeof(*fk.chunks[d]));
        while (len > 0) {
                uint64_t c = off / CHUNK, in = off % CHUNK;
                size_t n = CHUNK - in < len ? CHUNK - in : len;

                if (write) {
                        if (!fk.chunks[d][c])
                                fk.chunks[d][c] = calloc(1, CHUNK);
                        memcpy(fk.chunks[d][c] + in, b, n);
                } else if (fk.chunks[d][c]) {
                        memcpy(b, fk.chunks[d][c] + in, n);
                } else {
                        memset(b, 0, n);
                }
                b += n;
                off += n;
                len -= n;
        }
}

/* Disk, offset and length of volume i (its first extent, or fk.vol_len). */
static void vol_geometry(int i, int *ret_disk, uint64_t *ret_off, uint64_t *ret_len)
{
        const uint8_t *b = fk.vol_extents[i].data;

        *ret_disk = b ? (int)mb_le32(b + 8) : 0;
        *ret_off = b ? mb_le64(b + 16) : 0;
        *ret_len = fk.vol_len[i] ? fk.vol_len[i] : b ? mb_le64(b + 24) : 0;
}

/* VOLUME_DISK_EXTENTS with one extent. */
static blob extents_blob(uint32_t disk, uint64_t off, uint64_t len)
{
        blob b = { calloc(1, 32), 32 };

        mb_put_le32(b.data, 1);
        mb_put_le32(b.data + 8, disk);
        mb_put_le64(b.data + 16, off);
        mb_put_le64(b.data + 24, len);
        return b;
}

/* ---- the fake file system ---- */

static int file_find(const char *path)
{
        for (int i = 0; i < fk.n_files; i++)
                if (fk.files[i].path[0] && strcasecmp(fk.files[i].path, path) == 0)
                        return i;
        return -1;
}

static void parent_of(const char *path, char *buf, size_t len)
{
        const char *e = strrchr(path, '\\');

        snprintf(buf, len, "%.*s", e ? (int)(e - path) : 0, path);
}

static bool is_vol_root(const char *dir)
{
        for (int i = 0; i < fk.n_vols; i++)
                if (strncasecmp(dir, fk.vol_name[i], strlen(fk.vol_name[i]) - 1) == 0 &&
                    strlen(dir) == strlen(fk.vol_name[i]) - 1)
                        return true;
        return false;
}

static bool dir_exists(const char *dir)
{
        int i = file_find(dir);

        return is_vol_root(dir) || (i >= 0 && fk.files[i].dir);
}

/* Adds (or replaces) a file; data NULL with dir true: a directory. */
static int fs_put(const char *path, bool dir, const void *data, size_t len)
{
        int i = file_find(path);

        if (i < 0) {
                cr_assert_lt(fk.n_files, MAX_FILES);
                i = fk.n_files++;
                memset(&fk.files[i], 0, sizeof(fk.files[i]));
                snprintf(fk.files[i].path, sizeof(fk.files[i].path), "%s", path);
        }
        free(fk.files[i].data);
        fk.files[i].dir = dir;
        fk.files[i].data = len ? malloc(len) : NULL;
        if (len)
                memcpy(fk.files[i].data, data, len);
        fk.files[i].len = len;
        return i;
}

/* Adds a text file and every missing parent directory below the volume root. */
static int fs_text(const char *path, const char *text)
{
        char parent[400];

        parent_of(path, parent, sizeof(parent));
        if (!dir_exists(parent))
                fs_text(parent, NULL);
        return fs_put(path, text == NULL, text, text ? strlen(text) : 0);
}

static const char *fs_content(const char *path)
{
        static char buf[4096];
        int i = file_find(path);

        if (i < 0 || fk.files[i].dir)
                return NULL;
        snprintf(buf, sizeof(buf), "%.*s", (int)fk.files[i].len, (const char *)fk.files[i].data);
        return buf;
}

static HANDLE WINAPI f_CreateFileW(LPCWSTR name, DWORD a, DWORD s, LPSECURITY_ATTRIBUTES sa, DWORD d,
                                   DWORD fl, HANDLE t)
{
        const char *n = utf8(name);
        unsigned disk;
        int i;

        (void)a; (void)s; (void)sa; (void)d; (void)fl; (void)t;
        if (sscanf(n, "\\\\.\\PhysicalDrive%u", &disk) == 1) {
                if ((int)disk < fk.n_disks) {
                        fk.dpos[disk] = 0;
                        return H(HDISK + disk);
                }
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        if (strstr(n, "mbstate-diskpart-"))
                return H(HSCRIPT);
        if ((i = file_find(n)) >= 0) {
                if (fk.files[i].locked) {
                        fk.last_error = ERROR_SHARING_VIOLATION;
                        return INVALID_HANDLE_VALUE;
                }
                fk.fpos[i] = 0;
                return H(HFILE + i);
        }
        for (i = 0; i < fk.n_vols; i++)
                if (strncmp(n, fk.vol_name[i], strlen(fk.vol_name[i]) - 1) == 0 &&
                    (n[strlen(fk.vol_name[i]) - 1] == '\0' || strcmp(n, fk.vol_name[i]) == 0)) {
                        fk.vpos[i] = 0;
                        return H(HVOL + i);
                }
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

/* What IOCTL_DISK_CREATE_DISK does to the disk's layout (defined at the end). */
static void disk_created(int d, const void *in, DWORD in_len);

static BOOL WINAPI f_DeviceIoControl(HANDLE h, DWORD code, LPVOID in, DWORD in_len, LPVOID out,
                                     DWORD out_len, LPDWORD ret, LPOVERLAPPED ov)
{
        uintptr_t id = (uintptr_t)h;

        (void)ov;
        if (id >= HVOL && id < HVOL + 4) {
                int v = (int)(id - HVOL), vd;
                uint64_t voff, vlen;
                const char *name = code == FSCTL_LOCK_VOLUME ? "lock"
                                   : code == FSCTL_DISMOUNT_VOLUME ? "dismount"
                                   : code == FSCTL_ALLOW_EXTENDED_DASD_IO ? "dasd" : NULL;

                if (code == IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS)
                        return answer(&fk.vol_extents[v], out, out_len, ret);
                if (code == IOCTL_DISK_GET_LENGTH_INFO) {
                        GET_LENGTH_INFORMATION li;
                        blob b = { (uint8_t *)&li, sizeof(li) };

                        vol_geometry(v, &vd, &voff, &vlen);
                        li.Length.QuadPart = (int64_t)vlen;
                        return answer(&b, out, out_len, ret);
                }
                if (name) {
                        size_t l = strlen(fk.fsctl_log);

                        snprintf(fk.fsctl_log + l, sizeof(fk.fsctl_log) - l, "%s%s:%d", l ? " " : "",
                                 name, v);
                        if (code == fk.fail_fsctl) {
                                fk.last_error = ERROR_ACCESS_DENIED;
                                return FALSE;
                        }
                        *ret = 0;
                        return TRUE;
                }
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
                        if (code == IOCTL_DISK_CREATE_DISK)
                                disk_created(d, in, in_len);
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
        uintptr_t id = (uintptr_t)h;
        size_t left;

        (void)ov;
        *got = 0;
        if (id >= HDISK && id < HDISK + 2) {
                int d = (int)(id - HDISK);
                uint64_t size = disk_size(d);

                if (fk.fail_read_at_disk && fk.dpos[d] >= (uint64_t)fk.fail_read_at_disk * CHUNK) {
                        fk.last_error = 1117;   /* ERROR_IO_DEVICE */
                        return FALSE;
                }
                left = fk.dpos[d] < size ? (size_t)(size - fk.dpos[d] < len ? size - fk.dpos[d] : len) : 0;
                disk_rw(d, fk.dpos[d], buf, left, false);
                fk.dpos[d] += left;
                *got = (DWORD)left;
                return TRUE;
        }
        if (id >= HVOL && id < HVOL + 4) {
                int v = (int)(id - HVOL), d;
                uint64_t off, vlen;

                vol_geometry(v, &d, &off, &vlen);
                left = fk.vpos[v] < vlen ? (size_t)(vlen - fk.vpos[v] < len ? vlen - fk.vpos[v] : len) : 0;
                disk_rw(d, off + fk.vpos[v], buf, left, false);
                fk.vpos[v] += left;
                *got = (DWORD)left;
                return TRUE;
        }
        if (id >= HFILE && id < HFILE + MAX_FILES) {
                ffile *f = &fk.files[id - HFILE];
                uint64_t *pos = &fk.fpos[id - HFILE];

                left = *pos < f->len ? f->len - *pos : 0;
                if (left > len)
                        left = len;
                memcpy(buf, f->data + *pos, left);
                *pos += left;
                *got = (DWORD)left;
                return TRUE;
        }
        if (id != HPIPE_R || !fk.out_now)
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
        uintptr_t id = (uintptr_t)h;

        (void)ov;
        if (id >= HVOL && id < HVOL + 4) {
                int v = (int)(id - HVOL), d;
                uint64_t off, vlen;

                vol_geometry(v, &d, &off, &vlen);
                cr_assert_leq(fk.vpos[v] + len, vlen, "write past the end of volume %d", v);
                disk_rw(d, off + fk.vpos[v], (void *)buf, len, true);
                fk.vpos[v] += len;
                *put = len;
                return TRUE;
        }
        cr_assert_eq(id, HSCRIPT);
        cr_assert_lt(len, sizeof(fk.script));
        memcpy(fk.script, buf, len);
        fk.script[len] = '\0';
        *put = len;
        return TRUE;
}

static BOOL WINAPI f_SetFilePointerEx(HANDLE h, LARGE_INTEGER dist, LARGE_INTEGER *ret_pos, DWORD method)
{
        uintptr_t id = (uintptr_t)h;
        uint64_t *pos = id >= HDISK && id < HDISK + 2 ? &fk.dpos[id - HDISK]
                        : id >= HVOL && id < HVOL + 4 ? &fk.vpos[id - HVOL]
                        : id >= HFILE && id < HFILE + MAX_FILES ? &fk.fpos[id - HFILE] : NULL;

        cr_assert_eq(method, FILE_BEGIN);
        if (!pos || dist.QuadPart < 0) {
                fk.last_error = ERROR_INVALID_PARAMETER;
                return FALSE;
        }
        *pos = (uint64_t)dist.QuadPart;
        if (ret_pos)
                ret_pos->QuadPart = dist.QuadPart;
        return TRUE;
}

static BOOL WINAPI f_FlushFileBuffers(HANDLE h) { (void)h; return TRUE; }

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

static void fill_find(int idx, LPWIN32_FIND_DATAW d)
{
        const char *name = idx == -1 ? "." : idx == -2 ? ".." : strrchr(fk.files[idx].path, '\\') + 1;

        memset(d, 0, sizeof(*d));
        d->dwFileAttributes = idx < 0 || fk.files[idx].dir ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_NORMAL;
        d->nFileSizeLow = idx < 0 ? 0 : (DWORD)fk.files[idx].len;
        put_w(d->cFileName, MAX_PATH, name);
}

static HANDLE WINAPI f_FindFirstFileW(LPCWSTR p, LPWIN32_FIND_DATAW d)
{
        char dir[400], parent[400];
        const char *pat = utf8(p);
        size_t n = strlen(pat);
        ffind *f = NULL;
        int k;

        cr_assert(n >= 2 && strcmp(pat + n - 2, "\\*") == 0, "pattern %s", pat);
        snprintf(dir, sizeof(dir), "%.*s", (int)(n - 2), pat);
        if (!dir_exists(dir)) {
                fk.last_error = ERROR_PATH_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        for (k = 0; k < 8 && !f; k++)
                if (!fk.finds[k].used)
                        f = &fk.finds[k];
        cr_assert_not_null(f, "more than 8 open FindFirstFileW handles");
        k--;
        memset(f, 0, sizeof(*f));
        if (!is_vol_root(dir)) {
                f->idx[f->n++] = -1;
                f->idx[f->n++] = -2;
        }
        for (int i = 0; i < fk.n_files; i++) {
                if (!fk.files[i].path[0])
                        continue;
                parent_of(fk.files[i].path, parent, sizeof(parent));
                if (strcasecmp(parent, dir) == 0)
                        f->idx[f->n++] = i;
        }
        if (f->n == 0) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        f->used = true;
        fill_find(f->idx[f->i++], d);
        return H(HFIND + k);
}

static BOOL WINAPI f_FindNextFileW(HANDLE h, LPWIN32_FIND_DATAW d)
{
        ffind *f = &fk.finds[(uintptr_t)h - HFIND];

        if (f->i >= f->n) {
                fk.last_error = ERROR_NO_MORE_FILES;
                return FALSE;
        }
        fill_find(f->idx[f->i++], d);
        return TRUE;
}

static BOOL WINAPI f_FindClose(HANDLE h)
{
        fk.finds[(uintptr_t)h - HFIND].used = false;
        return TRUE;
}

static BOOL WINAPI f_CopyFileW(LPCWSTR from, LPCWSTR to, BOOL fail_if_exists)
{
        char src[400], dst[400], parent[400];
        int i, j;

        snprintf(src, sizeof(src), "%s", utf8(from));
        snprintf(dst, sizeof(dst), "%s", utf8(to));
        i = file_find(src);
        j = file_find(dst);
        parent_of(dst, parent, sizeof(parent));
        if (i < 0 || fk.files[i].dir) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return FALSE;
        }
        if (fk.files[i].locked || (j >= 0 && fk.files[j].locked)) {
                fk.last_error = ERROR_SHARING_VIOLATION;
                return FALSE;
        }
        if ((j >= 0 && (fail_if_exists || fk.files[j].dir)) || !dir_exists(parent)) {
                fk.last_error = j >= 0 ? ERROR_ACCESS_DENIED : ERROR_PATH_NOT_FOUND;
                return FALSE;
        }
        {
                uint8_t *copy = malloc(fk.files[i].len + 1);

                memcpy(copy, fk.files[i].data, fk.files[i].len);
                fs_put(dst, false, copy, fk.files[i].len);
                free(copy);
        }
        fk.n_copied++;
        return TRUE;
}

static BOOL WINAPI f_CreateDirectoryW(LPCWSTR p, LPSECURITY_ATTRIBUTES sa)
{
        char path[400], parent[400];

        (void)sa;
        snprintf(path, sizeof(path), "%s", utf8(p));
        parent_of(path, parent, sizeof(parent));
        if (file_find(path) >= 0) {
                fk.last_error = ERROR_ALREADY_EXISTS;
                return FALSE;
        }
        if (!dir_exists(parent)) {
                fk.last_error = ERROR_PATH_NOT_FOUND;
                return FALSE;
        }
        fs_put(path, true, NULL, 0);
        return TRUE;
}

static BOOL WINAPI f_DeleteFileW(LPCWSTR p)
{
        const char *path = utf8(p);
        int i;

        if (strstr(path, "mbstate-diskpart-"))
                return TRUE;
        i = file_find(path);
        if (i < 0 || fk.files[i].dir) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return FALSE;
        }
        if (fk.files[i].locked) {
                fk.last_error = ERROR_SHARING_VIOLATION;
                return FALSE;
        }
        free(fk.files[i].data);
        memset(&fk.files[i], 0, sizeof(fk.files[i]));
        return TRUE;
}

static BOOL WINAPI f_RemoveDirectoryW(LPCWSTR p)
{
        char path[400], parent[400];
        int i;

        snprintf(path, sizeof(path), "%s", utf8(p));
        i = file_find(path);
        if (i < 0 || !fk.files[i].dir) {
                fk.last_error = ERROR_PATH_NOT_FOUND;
                return FALSE;
        }
        for (int j = 0; j < fk.n_files; j++) {
                if (!fk.files[j].path[0])
                        continue;
                parent_of(fk.files[j].path, parent, sizeof(parent));
                if (strcasecmp(parent, path) == 0) {
                        fk.last_error = ERROR_DIR_NOT_EMPTY_;
                        return FALSE;
                }
        }
        memset(&fk.files[i], 0, sizeof(fk.files[i]));
        return TRUE;
}

static BOOL WINAPI f_MoveFileExW(LPCWSTR from, LPCWSTR to, DWORD flags)
{
        char src[400], dst[400];
        int i, j;

        cr_assert(flags & MOVEFILE_REPLACE_EXISTING);
        snprintf(src, sizeof(src), "%s", utf8(from));
        snprintf(dst, sizeof(dst), "%s", utf8(to));
        i = file_find(src);
        j = file_find(dst);
        if (i < 0) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return FALSE;
        }
        if (j >= 0) {
                free(fk.files[j].data);
                memset(&fk.files[j], 0, sizeof(fk.files[j]));
        }
        snprintf(fk.files[i].path, sizeof(fk.files[i].path), "%s", dst);
        return TRUE;
}

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

        /* db and dbx (EFI_IMAGE_SECURITY_DATABASE_GUID): none on this
         * machine; tests/unit/test_windows_secboot.c serves real ones */
        if (strcmp(utf8(guid), "{d719b2cb-3d3a-4596-a3bc-dad00e67656f}") == 0) {
                fk.last_error = ERROR_ENVVAR_NOT_FOUND;
                return 0;
        }
        cr_assert_str_eq(utf8(guid), "{8be4df61-93ca-11d2-aa0d-00e098032b8c}");
        if (strcmp(n, "BootOrder") == 0) {
                if (fk.n_boot_order == 0) {
                        cr_assert_geq(len, 2);
                        memset(buf, 0, 2);
                        return 2;
                }
                cr_assert_geq(len, (DWORD)fk.n_boot_order * 2);
                memcpy(buf, fk.boot_order, (size_t)fk.n_boot_order * 2);
                return (DWORD)fk.n_boot_order * 2;
        }
        if (strcmp(n, "Boot0000") == 0 && fk.boot0000.len <= len) {
                memcpy(buf, fk.boot0000.data, fk.boot0000.len);
                return (DWORD)fk.boot0000.len;
        }
        fk.last_error = ERROR_ENVVAR_NOT_FOUND;
        return 0;
}

static BOOL WINAPI f_SetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        int k = fk.n_fw_set++;

        cr_assert_lt(k, 8);
        cr_assert_str_eq(utf8(guid), "{8be4df61-93ca-11d2-aa0d-00e098032b8c}");
        cr_assert_leq(len, 16);
        snprintf(fk.fw_set[k], sizeof(fk.fw_set[k]), "%s", utf8(name));
        if (len)
                memcpy(fk.fw_set_data[k], buf, len);
        fk.fw_set_len[k] = len;
        return TRUE;
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
        fk.proc_code = strstr(utf8(cmd), "diskpart.exe") ? fk.exit_code : 0;
        fk.out_now = strstr(utf8(cmd), "/enum") ? fk.bcdedit_out
                     : strstr(utf8(cmd), "/copy") ? "The entry was successfully copied to {063973c5-d0ac-11ed-b884-cfa59b967f58}.\r\n"
                     : "The operation completed successfully.\r\n";
        if (strstr(utf8(cmd), "/export \"")) {
                char path[400];
                const char *p = strstr(utf8(cmd), "/export \"") + 9, *q = strchr(p, '"');

                snprintf(path, sizeof(path), "%.*s", (int)(q - p), p);
                fs_text(path, "exported by bcdedit");
        }
        if (strstr(utf8(cmd), "/store \"")) {
                const char *p = strstr(utf8(cmd), "/store \"") + 8, *q = strchr(p, '"');

                fk.proc_code = 1;
                fk.out_now = "The boot configuration data store could not be opened.\r\n";
                for (int i = 0; i < 4 && q; i++)
                        if (fk.stores[i].path && strlen(fk.stores[i].path) == (size_t)(q - p) &&
                            strncasecmp(fk.stores[i].path, p, (size_t)(q - p)) == 0) {
                                fk.proc_code = 0;
                                fk.out_now = (char *)fk.stores[i].out;
                        }
        }
        fk.out_pos = 0;
        pi->hProcess = H(HPROC);
        pi->hThread = H(HTHREAD);
        return TRUE;
}

static DWORD WINAPI f_WaitForSingleObject(HANDLE h, DWORD ms) { (void)h; (void)ms; return WAIT_OBJECT_0; }

static BOOL WINAPI f_GetExitCodeProcess(HANDLE h, LPDWORD code)
{
        (void)h;
        *code = fk.proc_code;
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

/* ---- a fake Virtual Disk Service: COM objects implementing the vtables ---- */

typedef struct fobj {
        const void *vtbl;
        const IID *iid;         /* what QueryInterface answers */
        struct fobj **items;    /* an enumeration's objects */
        int n, pos;
        int index;
} fobj;

#define E_NOINTERFACE_ ((HRESULT)0x80004002u)
#define VDS_E_OBJECT_NOT_FOUND_ ((HRESULT)0x80042405u)

static HRESULT WINAPI c_qi(void *self, REFIID iid, void **ret)
{
        fobj *o = self;

        if (memcmp(iid, o->iid, sizeof(GUID)) != 0) {
                *ret = NULL;
                return E_NOINTERFACE_;
        }
        fk.com_refs++;
        *ret = self;
        return S_OK;
}

static ULONG WINAPI c_addref(void *self) { (void)self; return (ULONG)++fk.com_refs; }
static ULONG WINAPI c_release(void *self) { (void)self; return (ULONG)--fk.com_refs; }
static HRESULT WINAPI c_unused(void *self) { (void)self; cr_assert_fail("a VDS method mbstate does not use was called"); return E_NOINTERFACE_; }

static fobj o_loader, o_service, o_provider, o_pack, o_volume, o_plex[3], o_disk[2];
static fobj o_enum_prov, o_enum_pack, o_enum_vol, o_enum_plex;
static fobj *items_prov[] = { &o_provider }, *items_pack[] = { &o_pack }, *items_vol[] = { &o_volume };
static fobj *items_plex[3] = { &o_plex[0], &o_plex[1], &o_plex[2] };

static const GUID vds_disk_id[2] = { { 0xd15c0000, 1, 2, { 3, 4, 5, 6, 7, 8, 9, 0 } },
                                     { 0xd15c0001, 1, 2, { 3, 4, 5, 6, 7, 8, 9, 1 } } };

static void *hand_out(fobj *o)
{
        fk.com_refs++;
        o->pos = 0;
        return o;
}

static HRESULT WINAPI c_load_service(void *self, LPWSTR machine, void **ret)
{
        (void)self;
        cr_assert_null(machine);
        *ret = hand_out(&o_service);
        return S_OK;
}

static HRESULT WINAPI c_ready(void *self) { (void)self; return S_OK; }

static HRESULT WINAPI c_query_providers(void *self, DWORD masks, void **ret)
{
        (void)self;
        cr_assert_eq(masks, MB_VDS_QUERY_SOFTWARE_PROVIDERS);
        *ret = hand_out(&o_enum_prov);
        return S_OK;
}

static HRESULT WINAPI c_get_object(void *self, mb_vds_object_id id, int32_t type, void **ret)
{
        (void)self;
        cr_assert_eq(type, MB_VDS_OT_DISK);
        for (int d = 0; d < 2; d++)
                if (memcmp(&id, &vds_disk_id[d], sizeof(id)) == 0) {
                        *ret = hand_out(&o_disk[d]);
                        return S_OK;
                }
        *ret = NULL;
        return VDS_E_OBJECT_NOT_FOUND_;
}

static HRESULT WINAPI c_next(void *self, ULONG count, void **ret, ULONG *fetched)
{
        fobj *e = self;

        cr_assert_eq(count, 1);
        if (e->pos >= e->n) {
                *fetched = 0;
                return S_FALSE_FAKE;
        }
        ret[0] = e->items[e->pos++];
        fk.com_refs++;
        *fetched = 1;
        return S_OK;
}

static HRESULT WINAPI c_query_packs(void *self, void **ret) { (void)self; *ret = hand_out(&o_enum_pack); return S_OK; }
static HRESULT WINAPI c_query_volumes(void *self, void **ret) { (void)self; *ret = hand_out(&o_enum_vol); return S_OK; }

static HRESULT WINAPI c_query_plexes(void *self, void **ret)
{
        (void)self;
        o_enum_plex.n = fk.n_vds_plex;
        *ret = hand_out(&o_enum_plex);
        return S_OK;
}

static HRESULT WINAPI c_plex_props(void *self, mb_vds_volume_plex_prop *p)
{
        int i = ((fobj *)self)->index;

        memset(p, 0, sizeof(*p));
        p->type = 10;   /* VDS_VPT_SIMPLE */
        p->status = fk.vds_plex[i].status;
        p->health = fk.vds_plex[i].health;
        p->size = fk.vds_plex[i].size;
        p->n_members = 1;
        return S_OK;
}

static HRESULT WINAPI c_plex_extents(void *self, mb_vds_disk_extent **ret, LONG *n)
{
        int i = ((fobj *)self)->index;
        mb_vds_disk_extent *e = calloc(1, sizeof(*e));

        fk.n_mem_alloc++;
        if (fk.vds_plex[i].disk >= 0)
                e->disk_id = vds_disk_id[fk.vds_plex[i].disk];
        else
                memset(&e->disk_id, 0xee, sizeof(e->disk_id));
        e->type = 2;    /* VDS_DET_DATA */
        e->offset = fk.vds_plex[i].offset;
        e->size = fk.vds_plex[i].size;
        *ret = e;
        *n = 1;
        return S_OK;
}

static LPWSTR co_string(const char *s)
{
        fk.n_mem_alloc++;
        return mb_w_from_utf8(s);
}

static HRESULT WINAPI c_disk_props(void *self, mb_vds_disk_prop *p)
{
        char name[32];

        snprintf(name, sizeof(name), "\\\\?\\PhysicalDrive%d", ((fobj *)self)->index);
        memset(p, 0, sizeof(*p));
        p->id = vds_disk_id[((fobj *)self)->index];
        p->bytes_per_sector = 512;
        p->disk_address = co_string("Port0Path0Target0Lun0");
        p->name = co_string(name);
        p->friendly_name = co_string("VMware Virtual disk SCSI Disk Device");
        p->adaptor_name = co_string("LSI Adapter, SAS 3000 series");
        p->device_path = co_string("\\\\?\\scsi#disk");
        return S_OK;
}

#define UNKNOWN_SLOTS .QueryInterface = c_qi, .AddRef = c_addref, .Release = c_release
static const mb_vds_loader_vtbl v_loader = { UNKNOWN_SLOTS, .LoadService = c_load_service };
static const mb_vds_service_vtbl v_service = {
        UNKNOWN_SLOTS, .IsServiceReady = c_ready, .WaitForServiceReady = c_ready,
        .GetProperties = c_unused, .QueryProviders = c_query_providers,
        .QueryMaskedDisks = c_unused, .QueryUnallocatedDisks = c_unused, .GetVdsObject = c_get_object,
        .QueryDriveLetters = c_unused, .QueryFileSystemTypes = c_unused, .Reenumerate = c_unused,
        .Refresh = c_unused, .CleanupObsoleteMountPoints = c_unused, .Advise = c_unused,
        .Unadvise = c_unused, .Reboot = c_unused, .SetFlags = c_unused, .ClearFlags = c_unused,
};
static const mb_vds_enum_vtbl v_enum = { UNKNOWN_SLOTS, .Next = c_next, .Skip = c_unused,
                                         .Reset = c_unused, .Clone = c_unused };
static const mb_vds_sw_provider_vtbl v_provider = { UNKNOWN_SLOTS, .QueryPacks = c_query_packs,
                                                    .CreatePack = c_unused };
static const mb_vds_pack_vtbl v_pack = {
        UNKNOWN_SLOTS, .GetProperties = c_unused, .GetProvider = c_unused,
        .QueryVolumes = c_query_volumes, .QueryDisks = c_unused, .CreateVolume = c_unused,
        .AddDisk = c_unused, .MigrateDisks = c_unused, .ReplaceDisk = c_unused,
        .RemoveMissingDisk = c_unused, .Recover = c_unused,
};
static const mb_vds_volume_vtbl v_volume = {
        UNKNOWN_SLOTS, .GetProperties = c_unused, .GetPack = c_unused, .QueryPlexes = c_query_plexes,
        .Extend = c_unused, .Shrink = c_unused, .AddPlex = c_unused, .BreakPlex = c_unused,
        .RemovePlex = c_unused, .Delete = c_unused, .SetFlags = c_unused, .ClearFlags = c_unused,
};
static const mb_vds_plex_vtbl v_plex = { UNKNOWN_SLOTS, .GetProperties = c_plex_props,
                                         .GetVolume = c_unused, .QueryExtents = c_plex_extents,
                                         .Repair = c_unused };
static const mb_vds_disk_vtbl v_disk = {
        UNKNOWN_SLOTS, .GetProperties = c_disk_props, .GetPack = c_unused,
        .GetIdentificationData = c_unused, .QueryExtents = c_unused, .ConvertStyle = c_unused,
        .SetFlags = c_unused, .ClearFlags = c_unused,
};

static void vds_objects(void)
{
        o_loader = (fobj){ &v_loader, &mb_IID_IVdsServiceLoader, NULL, 0, 0, 0 };
        o_service = (fobj){ &v_service, &mb_IID_IVdsService, NULL, 0, 0, 0 };
        o_provider = (fobj){ &v_provider, &mb_IID_IVdsSwProvider, NULL, 0, 0, 0 };
        o_pack = (fobj){ &v_pack, &mb_IID_IVdsPack, NULL, 0, 0, 0 };
        o_volume = (fobj){ &v_volume, &mb_IID_IVdsVolume, NULL, 0, 0, 0 };
        for (int i = 0; i < 3; i++)
                o_plex[i] = (fobj){ &v_plex, &mb_IID_IVdsVolumePlex, NULL, 0, 0, i };
        for (int d = 0; d < 2; d++)
                o_disk[d] = (fobj){ &v_disk, &mb_IID_IVdsDisk, NULL, 0, 0, d };
        o_enum_prov = (fobj){ &v_enum, &mb_IID_IEnumVdsObject, items_prov, 1, 0, 0 };
        o_enum_pack = (fobj){ &v_enum, &mb_IID_IEnumVdsObject, items_pack, 1, 0, 0 };
        o_enum_vol = (fobj){ &v_enum, &mb_IID_IEnumVdsObject, items_vol, 1, 0, 0 };
        o_enum_plex = (fobj){ &v_enum, &mb_IID_IEnumVdsObject, items_plex, 0, 0, 0 };
}

static HRESULT WINAPI f_CoInitializeEx(LPVOID r, DWORD flags)
{
        cr_assert_null(r);
        cr_assert_eq(flags, COINIT_MULTITHREADED);
        fk.n_co_init++;
        return fk.co_init_hr;
}

static void WINAPI f_CoUninitialize(void) { fk.n_co_uninit++; }

static HRESULT WINAPI f_CoInitializeSecurity(PSECURITY_DESCRIPTOR sd, LONG n, void *a, void *r1, DWORD authn,
                                             DWORD imp, void *l, DWORD caps, void *r3)
{
        (void)sd; (void)n; (void)a; (void)r1; (void)l; (void)caps; (void)r3;
        cr_assert_eq(authn, 6);         /* RPC_C_AUTHN_LEVEL_PKT_PRIVACY, as [MS-VDS] 2.1 asks */
        cr_assert_eq(imp, 3);           /* RPC_C_IMP_LEVEL_IMPERSONATE */
        return S_OK;
}

static HRESULT WINAPI f_CoCreateInstance(REFCLSID clsid, LPVOID outer, DWORD ctx, REFIID iid, LPVOID *ret)
{
        cr_assert_eq(memcmp(clsid, &mb_CLSID_VdsLoader, sizeof(GUID)), 0);
        cr_assert_eq(memcmp(iid, &mb_IID_IVdsServiceLoader, sizeof(GUID)), 0);
        cr_assert_null(outer);
        cr_assert(ctx & CLSCTX_LOCAL_SERVER);
        if (FAILED(fk.co_create_hr)) {
                *ret = NULL;
                return fk.co_create_hr;
        }
        *ret = hand_out(&o_loader);
        return S_OK;
}

static void WINAPI f_CoTaskMemFree(LPVOID p)
{
        if (p)
                fk.n_mem_freed++;
        free(p);
}

/* VDS's view of the mirrored seed machine: both plexes healthy. */
static void vds_healthy_mirror(void)
{
        vds_objects();
        fk.n_vds_plex = 2;
        for (int i = 0; i < 2; i++) {
                fk.vds_plex[i].status = MB_VDS_VPS_ONLINE;
                fk.vds_plex[i].health = MB_VDS_H_HEALTHY;
                fk.vds_plex[i].disk = i;
                fk.vds_plex[i].offset = 122683392ULL;
                fk.vds_plex[i].size = 33685504000ULL;
        }
}

static DWORD WINAPI f_GetLastError(void) { return fk.last_error; }

/* The attribute, temporary-folder, error-mode and memory calls, and Sleep;
 * defined with the tests of the behaviours they model, at the end. */
static DWORD WINAPI f_GetTempPath2W(DWORD len, LPWSTR buf);
static UINT WINAPI f_SetErrorMode(UINT mode);
static DWORD WINAPI f_GetFileAttributesW(LPCWSTR path);
static BOOL WINAPI f_SetFileAttributesW(LPCWSTR path, DWORD attributes);
static LPVOID WINAPI f_VirtualAlloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect);
static BOOL WINAPI f_VirtualFree(LPVOID address, SIZE_T size, DWORD type);
static void WINAPI f_Sleep(DWORD ms);

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
        .SetFilePointerEx = f_SetFilePointerEx,
        .FlushFileBuffers = f_FlushFileBuffers,
        .FindFirstFileW = f_FindFirstFileW,
        .FindNextFileW = f_FindNextFileW,
        .FindClose = f_FindClose,
        .CopyFileW = f_CopyFileW,
        .CreateDirectoryW = f_CreateDirectoryW,
        .DeleteFileW = f_DeleteFileW,
        .RemoveDirectoryW = f_RemoveDirectoryW,
        .MoveFileExW = f_MoveFileExW,
        .SetFirmwareEnvironmentVariableW = f_SetFirmwareEnvironmentVariableW,
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
        .CoInitializeEx = f_CoInitializeEx,
        .CoCreateInstance = f_CoCreateInstance,
        .CoUninitialize = f_CoUninitialize,
        .CoInitializeSecurity = f_CoInitializeSecurity,
        .CoTaskMemFree = f_CoTaskMemFree,
        .GetTempPath2W = f_GetTempPath2W,
        .SetErrorMode = f_SetErrorMode,
        .GetFileAttributesW = f_GetFileAttributesW,
        .SetFileAttributesW = f_SetFileAttributesW,
        .VirtualAlloc = f_VirtualAlloc,
        .VirtualFree = f_VirtualFree,
        .GetLastError = f_GetLastError,
        .Sleep = f_Sleep,
};

static void fk_free(void)
{
        for (int d = 0; d < 2; d++) {
                for (uint64_t c = 0; fk.chunks[d] && c <= disk_size(d) / CHUNK; c++)
                        free(fk.chunks[d][c]);
                free(fk.chunks[d]);
        }
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
        for (int i = 0; i < fk.n_files; i++)
                free(fk.files[i].data);
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

/* Whole-partition hashes read 524 MiB per recovery partition: only the
 * tests about them (on shrunk partitions) ask for them. */
static const mb_win_read_opts no_hash = { .no_content_hash = true };

static mb_facts *seed_facts(const char *disk1_layout)
{
        mb_facts *f = NULL;
        mb_error err;

        seed_machine(disk1_layout);
        mb_error_clear(&err);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
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
        mb_bcd_fact_free(b);
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

/* ---- recovery partitions: hashed raw through the disk ---- */

/* The layout entry of the partition starting at byte off (its index). */
static int layout_entry_at(const blob *layout, uint64_t off)
{
        uint32_t n = mb_le32(layout->data + 4);

        for (uint32_t i = 0; i < n; i++)
                if (mb_le64(layout->data + 48 + i * 144 + 8) == off)
                        return (int)i;
        cr_assert_fail("no partition at byte %llu", (unsigned long long)off);
        return -1;
}

#define RECOVERY_OFF 33808187392ULL

/* Shrinks both disks' recovery partitions to len bytes (so a test hashes a
 * little, not 524 MiB) and fills them with the same bytes. */
static void small_recovery(uint8_t *content, size_t len)
{
        for (int d = 0; d < 2; d++) {
                int e = layout_entry_at(&fk.layout[d], RECOVERY_OFF);

                mb_put_le64(fk.layout[d].data + 48 + e * 144 + 16, len);
        }
        for (size_t i = 0; i < len; i++)
                content[i] = (uint8_t)(i * 31 + 7 + i / 4096);
        disk_rw(0, RECOVERY_OFF, content, len, true);
        disk_rw(1, RECOVERY_OFF, content, len, true);
}

Test(windows_facts, recovery_content_hash)
{
        size_t len = 3 * MiB + 512;     /* not a whole number of 1 MiB reads */
        uint8_t *content = malloc(len), byte = 0x5a;
        char want[65];
        mb_facts *f = NULL;
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        small_recovery(content, len);
        mb_sha256_hex(content, len, want);
        cr_assert_eq(mb_win_read_facts(&fake_table, &f, &err), 0, "%s", err.msg);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_RECOVERY)->content_sha256, want);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_RECOVERY)->content_sha256, want);
        cr_assert_null(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_OS)->content_sha256);
        mb_facts_free(f);

        /* the partition's last byte differs on disk 1; the byte after it does not count */
        disk_rw(1, RECOVERY_OFF + len - 1, &byte, 1, true);
        disk_rw(0, RECOVERY_OFF + len, &byte, 1, true);
        cr_assert_eq(mb_win_read_facts(&fake_table, &f, &err), 0, "%s", err.msg);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_RECOVERY)->content_sha256, want);
        cr_assert_str_neq(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_RECOVERY)->content_sha256, want);
        mb_facts_free(f);

        /* an unreadable sector is an error that names the partition and the call */
        fk.fail_read_at_disk = (DWORD)(RECOVERY_OFF / CHUNK) + 1;
        f = NULL;
        cr_assert_eq(mb_win_read_facts(&fake_table, &f, &err), MB_EIO);
        cr_assert_null(f);
        cr_assert(strstr(err.msg, "hashing partition 4 of disk 0: cannot read '\\\\.\\PhysicalDrive0' at byte 33809235968"),
                  "%s", err.msg);
        cr_assert(strstr(err.msg, "(ReadFile, error 1117)"), "%s", err.msg);
        free(content);
}

/* ---- the ESP's files; the BCD compared by its objects ---- */

#define ESP0 "\\\\?\\Volume{0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01}"
#define ESP1 "\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}"
#define BOOT "\\EFI\\Microsoft\\Boot\\"

static const char store_a[] =
        "\r\nWindows Boot Manager\r\n--------------------\r\n"
        "identifier              {9dea862c-5cdd-4e70-acc1-f32b344d4795}\r\n"
        "device                  partition=\\Device\\HarddiskVolume1\r\n"
        "displayorder            {063973c0-d0ac-11ed-b884-cfa59b967f58}\r\n"
        "                        {063973c4-d0ac-11ed-b884-cfa59b967f58}\r\n"
        "timeout                 30\r\n\r\n"
        "Windows Boot Loader\r\n-------------------\r\n"
        "identifier              {063973C0-D0AC-11ED-B884-CFA59B967F58}\r\n"
        "description             Windows Server\r\n";
/* The same objects, listed in another order with other headings. */
static const char store_b[] =
        "\nChargeur de d\xc3\xa9marrage\n--------\n"
        "identifier              {063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
        "description             Windows Server\n\n"
        "Gestionnaire\n------------\n"
        "identifier              {9dea862c-5cdd-4e70-acc1-f32b344d4795}\n"
        "timeout                 30\n"
        "device                  partition=\\Device\\HarddiskVolume1\n"
        "displayorder            {063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
        "                        {063973c4-d0ac-11ed-b884-cfa59b967f58}\n";
/* The boot menu in the other order: a different store. */
static const char store_c[] =
        "identifier              {9dea862c-5cdd-4e70-acc1-f32b344d4795}\n"
        "device                  partition=\\Device\\HarddiskVolume1\n"
        "displayorder            {063973c4-d0ac-11ed-b884-cfa59b967f58}\n"
        "                        {063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
        "timeout                 30\n"
        "identifier              {063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
        "description             Windows Server\n";

Test(windows_facts, bcd_canonical_text)
{
        char *a = NULL, *b = NULL, *c = NULL;
        size_t la, lb, lc;
        mb_error err;

        cr_assert_eq(mb_win_bcd_canonical(store_a, &a, &la, &err), 0);
        cr_assert_str_eq(a,
                "identifier\t{063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
                "description\tWindows Server\n"
                "identifier\t{9dea862c-5cdd-4e70-acc1-f32b344d4795}\n"
                "device\tpartition=\\Device\\HarddiskVolume1\n"
                "displayorder\t{063973c0-d0ac-11ed-b884-cfa59b967f58}\n"
                "\t{063973c4-d0ac-11ed-b884-cfa59b967f58}\n"
                "timeout\t30\n");
        cr_assert_eq(la, strlen(a));
        cr_assert_eq(mb_win_bcd_canonical(store_b, &b, &lb, &err), 0);
        cr_assert_str_eq(a, b);
        cr_assert_eq(mb_win_bcd_canonical(store_c, &c, &lc, &err), 0);
        cr_assert_str_neq(a, c);
        free(a);
        free(b);
        free(c);
}

/* Both ESPs with files; disk 0's is the running system's (its BCD and
 * logs held open by the registry). */
static void two_esps(void)
{
        seed_machine("disk1_layout_seed.hex");
        fk.vol_name[3] = ESP1 "\\";
        fk.vol_nt[3] = "\\Device\\HarddiskVolume5";
        fk.vol_fs[3] = "FAT32";
        fk.vol_extents[3] = extents_blob(1, 1 * MiB, 100 * MiB);
        fk.n_vols = 4;
        fs_text(ESP0 BOOT "bootmgfw.efi", "boot manager 10.0.20348");
        fs_text(ESP0 "\\EFI\\Boot\\bootx64.efi", "boot manager 10.0.20348");
        fk.files[fs_text(ESP0 BOOT "BCD", "live hive bytes")].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG", "")].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG1", "log1")].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG2", "log2")].locked = true;
        fs_text(ESP1 BOOT "bootmgfw.efi", "boot manager 10.0.20348");
        fs_text(ESP1 "\\EFI\\Boot\\bootx64.efi", "boot manager 10.0.20348");
        fs_text(ESP1 BOOT "BCD", "exported hive bytes");
        fs_text(ESP1 BOOT "BCD.LOG1", "other log");
        fk.stores[0] = (fstore){ ESP0 BOOT "BCD", store_a };
        fk.stores[1] = (fstore){ ESP1 BOOT "BCD", store_b };
}

static const mb_file_fact *esp_file(const mb_facts *f, uint32_t disk, const char *path)
{
        const mb_part_fact *p = mb_disk_part_by_role(mb_facts_disk(f, disk), MB_ROLE_EFI);

        for (uint32_t i = 0; p && i < p->n_files; i++)
                if (strcmp(p->files[i].path, path) == 0)
                        return &p->files[i];
        return NULL;
}

Test(windows_facts, esp_bcd_compared_by_objects)
{
        mb_facts *f = NULL;
        const mb_file_fact *b0, *b1;
        char hex[65];
        mb_error err;

        two_esps();
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_EFI)->n_files, 3);
        cr_assert_eq(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_EFI)->n_files, 3);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_EFI)->files[0].path,
                         "/EFI/Boot/bootx64.efi");      /* sorted */
        cr_assert_null(esp_file(f, 0, "/EFI/Microsoft/Boot/BCD.LOG1"));
        cr_assert_null(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD.LOG1"));
        b0 = esp_file(f, 0, "/EFI/Microsoft/Boot/BCD");
        b1 = esp_file(f, 1, "/EFI/Microsoft/Boot/BCD");
        cr_assert_not_null(b0);
        cr_assert_not_null(b1);
        cr_assert_str_eq(b0->sha256, b1->sha256);
        cr_assert_eq(b0->size, b1->size);
        {
                char *canon;
                size_t len;

                cr_assert_eq(mb_win_bcd_canonical(store_a, &canon, &len, &err), 0);
                mb_sha256_hex(canon, len, hex);
                cr_assert_str_eq(b0->sha256, hex);
                cr_assert_eq(b0->size, len);
                free(canon);
        }
        mb_sha256_hex("boot manager 10.0.20348", 23, hex);
        cr_assert_str_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/bootmgfw.efi")->sha256, hex);
        cr_assert(strstr(fk.cmdlines[1], "bcdedit.exe /store \"" ESP0 BOOT "BCD\" /enum all /v"),
                  "%s", fk.cmdlines[1]);
        mb_facts_free(f);

        /* the secondary's boot menu is in another order: the stores differ */
        fk.stores[1].out = store_c;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_str_neq(esp_file(f, 0, "/EFI/Microsoft/Boot/BCD")->sha256,
                          esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256);
        mb_facts_free(f);
}

Test(windows_facts, esp_bcd_fallbacks)
{
        mb_facts *f = NULL;
        char hex[65];
        mb_error err;

        /* /store refused on the live store: the system store's listing stands in */
        two_esps();
        fk.stores[0].path = NULL;
        fk.stores[1].out = fk.bcdedit_out;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_str_eq(esp_file(f, 0, "/EFI/Microsoft/Boot/BCD")->sha256,
                         esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256);
        mb_facts_free(f);

        /* a store bcdedit cannot open on the other ESP: its bytes are hashed */
        fk.stores[1].path = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        mb_sha256_hex("exported hive bytes", 19, hex);
        cr_assert_str_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256, hex);
        cr_assert_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->size, 19);
        mb_facts_free(f);
}

/* ---- dynamic disks: the LDM database read raw ---- */

#define META_FIRST 206848ULL    /* carved from the start of the MSR, as Windows does */
#define META_LAST (META_FIRST + 2047)
#define OS_FIRST 239616ULL
#define OS_SECTORS (33685504000ULL / 512)

static int mem_rw(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, bool write)
{
        disk_rw((int)(uintptr_t)dev->ctx, off, (void *)buf, len, write);
        return 0;
}

static int dev_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err)
{
        (void)err;
        return mem_rw(dev, off, buf, len, false);
}

static int dev_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        (void)err;
        return mem_rw(dev, off, buf, len, true);
}

static const uint8_t ldm_meta_type_le[16] = { 0xaa, 0xc8, 0x08, 0x58, 0x8f, 0x7e, 0xe0, 0x42,
                                              0x85, 0xd2, 0xe1, 0xe9, 0x04, 0x34, 0xcf, 0xb3 };

/* A protective MBR and a GPT whose only entry is the LDM metadata partition
 * (what the LDM reader looks at), in disk d's bytes; the layout IOCTL gets
 * the same partition as number 5. */
static void make_dynamic(int d)
{
        uint8_t s[512];
        uint8_t *l;
        uint32_t n;

        memset(s, 0, sizeof(s));
        s[0x1be + 4] = 0xee;
        s[510] = 0x55;
        s[511] = 0xaa;
        disk_rw(d, 0, s, 512, true);
        memset(s, 0, sizeof(s));
        memcpy(s, "EFI PART", 8);
        mb_put_le64(s + 0x48, 2);
        mb_put_le32(s + 0x50, 128);
        mb_put_le32(s + 0x54, 128);
        disk_rw(d, 512, s, 512, true);
        memset(s, 0, sizeof(s));
        memcpy(s, ldm_meta_type_le, 16);
        s[16] = (uint8_t)(0x50 + d);
        mb_put_le64(s + 32, META_FIRST);
        mb_put_le64(s + 40, META_LAST);
        disk_rw(d, 1024, s, 512, true);

        n = mb_le32(fk.layout[d].data + 4);
        l = realloc(fk.layout[d].data, 48 + (n + 1) * 144);
        memset(l + 48 + n * 144, 0, 144);
        mb_put_le32(l + 48 + n * 144, 1);                       /* GPT */
        mb_put_le64(l + 48 + n * 144 + 8, META_FIRST * 512);
        mb_put_le64(l + 48 + n * 144 + 16, 2048 * 512);
        mb_put_le32(l + 48 + n * 144 + 24, 5);
        memcpy(l + 48 + n * 144 + 32, ldm_meta_type_le, 16);
        l[48 + n * 144 + 48] = (uint8_t)(0x60 + d);
        mb_put_le32(l + 4, n + 1);
        fk.layout[d].data = l;
        fk.layout[d].len = 48 + (n + 1) * 144;
}

/* The seed machine after "convert dynamic" on both disks and "add mirror":
 * group WIN-SEEDDg0, Disk1 and Disk2 (data areas from the end of the MSR,
 * as Windows converts), Volume1 (C:) mirrored on both. */
static void mirrored_machine(char ret_group[65])
{
        mb_blockdev devs[2], *pdevs[2] = { &devs[0], &devs[1] };
        uint64_t id[2], vol, part;
        mb_ldm_db *db = NULL;
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        for (int d = 0; d < 2; d++) {
                make_dynamic(d);
                devs[d] = (mb_blockdev){ .ctx = (void *)(uintptr_t)d, .name = d ? "disk1" : "disk0",
                                         .size = disk_size(d), .sector_size = 512,
                                         .read = dev_read, .write = dev_write };
        }
        cr_assert_eq(mb_ldm_db_new("WIN-SEEDDg0", NULL, &db, &err), 0, "%s", err.msg);
        for (int d = 0; d < 2; d++)
                cr_assert_eq(mb_ldm_init_gpt_disk(db, d, META_FIRST, META_LAST, OS_FIRST, 67108830,
                                                  d ? "Disk2" : "Disk1", NULL, &id[d], &err), 0,
                             "%s", err.msg);
        cr_assert_eq(mb_ldm_add_simple_volume(db, id[0], 0, OS_SECTORS, "Volume1", "C:",
                                              0x07, NULL, &vol, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_add_mirror_plex(db, vol, id[1], 0, &part, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_write(db, pdevs, 2, &err), 0, "%s", err.msg);
        snprintf(ret_group, 65, "%s", db->group_guid_str);
        mb_ldm_db_free(db);
        vds_healthy_mirror();
}

Test(windows_facts, ldm_names_volumes_plexes)
{
        char group[65];
        mb_facts *f = NULL;
        mb_volume_fact *v;
        mb_error err;

        mirrored_machine(group);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert(mb_facts_disk(f, 0)->dynamic);
        cr_assert_str_eq(mb_facts_disk(f, 0)->dynamic_name, "Disk1");
        cr_assert_str_eq(mb_facts_disk(f, 1)->dynamic_name, "Disk2");
        cr_assert_str_eq(mb_facts_disk(f, 0)->dynamic_group, group);
        cr_assert_str_eq(mb_facts_disk(f, 1)->dynamic_group, group);
        cr_assert_eq(f->n_volumes, 1);
        v = &f->volumes[0];
        cr_assert_str_eq(v->name, "Volume1");
        cr_assert_str_eq(v->kind, "mirror");
        cr_assert_str_eq(v->group, group);
        cr_assert_eq(v->size, 33685504000ULL);
        cr_assert_eq(v->n_plexes, 2);
        for (int i = 0; i < 2; i++) {
                cr_assert_eq(v->plexes[i].disk, i);
                cr_assert_str_eq(v->plexes[i].ldm_disk, i ? "Disk2" : "Disk1");
                cr_assert_eq(v->plexes[i].offset, 122683392ULL);   /* the seed's "Offset in Bytes" */
                cr_assert_eq(v->plexes[i].length, 33685504000ULL);
                cr_assert_eq(v->plexes[i].state, MB_PLEX_HEALTHY);
        }
        mb_facts_free(f);
}

Test(windows_facts, ldm_plex_of_a_missing_disk)
{
        char group[65];
        mb_facts *f = NULL;
        mb_volume_fact *v;
        mb_error err;

        /* Disk 1 failed and was replaced by a blank disk */
        mirrored_machine(group);
        for (uint64_t c = 0; c <= disk_size(1) / CHUNK; c++) {
                free(fk.chunks[1][c]);
                fk.chunks[1][c] = NULL;
        }
        free(fk.layout[1].data);
        fk.layout[1] = load_hex("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_not(mb_facts_disk(f, 1)->dynamic);
        cr_assert_null(mb_facts_disk(f, 1)->dynamic_name);
        cr_assert_eq(f->n_volumes, 1);
        v = &f->volumes[0];
        cr_assert_eq(v->n_plexes, 2);
        cr_assert_eq(v->plexes[0].disk, 0);
        cr_assert_eq(v->plexes[0].state, MB_PLEX_HEALTHY);
        cr_assert_eq(v->plexes[1].disk, -1);
        cr_assert_str_eq(v->plexes[1].ldm_disk, "Disk2");
        cr_assert_eq(v->plexes[1].state, MB_PLEX_MISSING);
        mb_facts_free(f);
}

Test(windows_facts, ldm_unreadable_is_a_clear_error)
{
        char group[65];
        mb_facts *f = NULL;
        mb_error err;

        mirrored_machine(group);
        fk.fail_read_at_disk = 1;       /* nothing past the first MiB can be read */
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_EIO);
        cr_assert(strstr(err.msg, "reading the dynamic disks' LDM database"), "%s", err.msg);
        cr_assert(strstr(err.msg, "'\\\\.\\PhysicalDrive0'"), "%s", err.msg);
        cr_assert(strstr(err.msg, "(ReadFile, error 1117)"), "%s", err.msg);
}

/* ---- plex health from VDS ---- */

static mb_facts *replaced_facts(void);

static mb_facts *mirrored_facts(void)
{
        mb_facts *f = NULL;
        mb_error err;

        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        return f;
}

Test(windows_vds, healthy_resyncing_failed)
{
        char group[65];
        mb_facts *f;

        mirrored_machine(group);
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_HEALTHY);
        cr_assert_eq(f->volumes[0].plexes[1].percent, 100);
        /* every reference released, every buffer VDS allocated freed, COM closed */
        cr_assert_eq(fk.com_refs, 0);
        cr_assert_eq(fk.n_mem_alloc, 2 + 2 * 5);
        cr_assert_eq(fk.n_mem_freed, fk.n_mem_alloc);
        cr_assert_eq(fk.n_co_init, 1);
        cr_assert_eq(fk.n_co_uninit, 1);
        mb_facts_free(f);

        /* "add mirror" just ran: the new plex is being rebuilt */
        fk.vds_plex[1].health = MB_VDS_H_REBUILDING;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[0].state, MB_PLEX_HEALTHY);
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_RESYNCING);
        cr_assert_eq(f->volumes[0].plexes[1].percent, 0);
        mb_facts_free(f);

        fk.vds_plex[1].health = MB_VDS_H_STALE;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_FAILED);
        mb_facts_free(f);

        fk.vds_plex[1].health = MB_VDS_H_FAILED;
        fk.vds_plex[1].status = MB_VDS_VPS_FAILED;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_FAILED);
        cr_assert_eq(f->volumes[0].plexes[0].state, MB_PLEX_HEALTHY);
        mb_facts_free(f);

        fk.vds_plex[1].status = MB_VDS_VPS_NO_MEDIA;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_MISSING);
        mb_facts_free(f);
        cr_assert_eq(fk.com_refs, 0);
}

Test(windows_vds, matched_by_disk_and_offset)
{
        char group[65];
        mb_facts *f;

        /* the same offset on both disks: only the disk tells the plexes apart */
        mirrored_machine(group);
        fk.vds_plex[0].health = MB_VDS_H_REBUILDING;
        fk.vds_plex[0].disk = 1;
        fk.vds_plex[1].disk = 0;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[0].disk, 0);
        cr_assert_eq(f->volumes[0].plexes[0].state, MB_PLEX_HEALTHY);
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_RESYNCING);
        mb_facts_free(f);

        /* an extent elsewhere on the disk is another volume's */
        fk.vds_plex[0].offset += 1 * MiB;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_HEALTHY);
        mb_facts_free(f);
}

Test(windows_vds, missing_disk_and_com_answers)
{
        char group[65];
        mb_facts *f = NULL;
        mb_error err;

        /* Disk 1 replaced: VDS keeps the plex (no media) of a disk it no longer has */
        f = replaced_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_MISSING);
        mb_facts_free(f);

        mirrored_machine(group);
        fk.vds_plex[1].disk = -1;
        fk.vds_plex[1].status = MB_VDS_VPS_NO_MEDIA;
        f = mirrored_facts();
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_HEALTHY);  /* LDM's word stands */
        cr_assert_eq(fk.com_refs, 0);
        mb_facts_free(f);

        /* COM already initialized otherwise on this thread: used, not uninitialized */
        fk.co_init_hr = (HRESULT)0x80010106u;   /* RPC_E_CHANGED_MODE */
        fk.n_co_uninit = 0;
        f = mirrored_facts();
        cr_assert_eq(fk.n_co_uninit, 0);
        mb_facts_free(f);

        /* the service cannot start: facts fail and say why */
        fk.co_init_hr = S_OK;
        fk.co_create_hr = (HRESULT)0x80070422u;
        fk.n_co_init = fk.n_co_uninit = 0;
        f = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_EIO);
        cr_assert_null(f);
        cr_assert_str_eq(err.msg, "reading the mirrors' health: Virtual Disk Service: "
                                  "CoCreateInstance(VdsLoader) failed (HRESULT 0x80070422)");
        cr_assert_eq(fk.n_co_init, 1);
        cr_assert_eq(fk.n_co_uninit, 1);
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
        t.read_opts = no_hash;
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
        /* the script's name is random (see windef_diskpart_script_cannot_be_planted) */
        cr_assert(strncmp(fk.cmdlines[fk.n_cmd - 1],
                          "\"C:\\Windows\\System32\\diskpart.exe\" /s \"C:\\Windows\\SystemTemp\\mbstate-diskpart-",
                          strlen("\"C:\\Windows\\System32\\diskpart.exe\" /s \"C:\\Windows\\SystemTemp\\mbstate-diskpart-")) == 0,
                  "%s", fk.cmdlines[fk.n_cmd - 1]);

        fk.exit_code = 2;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "'diskpart /s \"C:\\Windows\\SystemTemp\\mbstate-diskpart-"), "%s", err.msg);
        cr_assert(strstr(err.msg, ".txt\"' failed with exit code 2"), "%s", err.msg);
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

/* ---- a missing disk's records, dropped through diskpart ---- */

/* Facts of the mirrored machine after Disk 1 was replaced by a blank disk. */
static mb_facts *replaced_facts(void)
{
        char group[65];
        mb_facts *f = NULL;
        mb_error err;

        mirrored_machine(group);
        for (uint64_t c = 0; c <= disk_size(1) / CHUNK; c++) {
                free(fk.chunks[1][c]);
                fk.chunks[1][c] = NULL;
        }
        free(fk.layout[1].data);
        fk.layout[1] = load_hex("disk1_layout_raw.hex");
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        return f;
}

Test(windows_render, remove_missing_disk)
{
        mb_facts *f = replaced_facts();
        mb_op op = { .kind = MB_OP_MIRROR_REMOVE_MISSING, .disk = 1, .disk2 = 0, .role = MB_ROLE_OS };
        char *t;

        snprintf(op.ldm_disk, sizeof(op.ldm_disk), "Disk2");
        t = render(f, &op);
        cr_assert_str_eq(t, "diskpart /s <<EOF\n"
                            "  rem LDM disk Disk2, the dynamic disk group's only missing disk\n"
                            "  select disk M0\n"
                            "  delete disk override\n"
                            "EOF\n");
        free(t);
        mb_facts_free(f);
}

Test(windows_render, remove_missing_refuses_what_it_cannot_tell_apart)
{
        mb_facts *f = replaced_facts();
        mb_op op = { .kind = MB_OP_MIRROR_REMOVE_MISSING, .disk = 1, .disk2 = 0, .role = MB_ROLE_OS };
        mb_plex_fact *x;
        char *t = NULL;
        mb_error err;

        snprintf(op.ldm_disk, sizeof(op.ldm_disk), "Disk1");    /* present */
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "LDM disk Disk1 holds no plex of a missing disk"), "%s", err.msg);

        /* a second missing disk: which of M0/M1 is Disk2 is not knowable */
        x = &f->volumes[0].plexes[0];
        free(x->ldm_disk);
        x->ldm_disk = strdup("Disk3");
        x->disk = -1;
        x->state = MB_PLEX_MISSING;
        snprintf(op.ldm_disk, sizeof(op.ldm_disk), "Disk2");
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_ENOTSUP);
        cr_assert(strstr(err.msg, "2 disks of the group are missing (Disk3, Disk2)"), "%s", err.msg);
        cr_assert_null(t);

        snprintf(op.ldm_disk, sizeof(op.ldm_disk), "Disk2\"\nclean");
        cr_assert_eq(mb_windows_render_op(f, &op, &t, &err), MB_EINVAL);
        mb_facts_free(f);
}

Test(windows_exec, remove_missing_runs_the_rendered_script)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_MIRROR_REMOVE_MISSING, .disk = 1, .disk2 = 0, .role = MB_ROLE_OS };
        mb_facts *f = replaced_facts();
        mb_error err;

        mb_facts_free(f);
        snprintf(op.ldm_disk, sizeof(op.ldm_disk), "Disk2");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fk.script, "rem LDM disk Disk2, the dynamic disk group's only missing disk\n"
                                    "select disk M0\ndelete disk override\n");
        cr_assert(strstr(fk.cmdlines[(fk.n_cmd - 1) & 7], "diskpart.exe\" /s \"C:\\Windows\\SystemTemp\\mbstate-diskpart-"),
                  "%s", fk.cmdlines[(fk.n_cmd - 1) & 7]);
        fk.exit_code = 1;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "'diskpart /s ") && strstr(err.msg, "failed with exit code 1"), "%s", err.msg);
}

/* ---- ESP file copies ---- */

Test(windows_copy, tree_makes_the_destination_file_identical)
{
        mb_error err;

        two_esps();
        fs_text(ESP1 "\\EFI\\Boot\\bootx64.efi", "an older boot manager");
        fs_text(ESP1 "\\EFI\\Old\\stale.efi", "stale");             /* extra file in an extra folder */
        fs_text(ESP0 "\\EFI\\Microsoft\\Recovery\\BCD", "recovery store"); /* a missing folder */
        fs_text(ESP1 "\\System Volume Information\\tracking.log", "kept");
        cr_assert_eq(mb_win_copy_tree(&fake_table, ESP0 "\\", ESP1 "\\", true, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fs_content(ESP1 "\\EFI\\Boot\\bootx64.efi"), "boot manager 10.0.20348");
        cr_assert_str_eq(fs_content(ESP1 "\\EFI\\Microsoft\\Recovery\\BCD"), "recovery store");
        cr_assert_eq(file_find(ESP1 "\\EFI\\Old\\stale.efi"), -1);
        cr_assert_eq(file_find(ESP1 "\\EFI\\Old"), -1);
        cr_assert_str_eq(fs_content(ESP1 "\\System Volume Information\\tracking.log"), "kept");
        /* the live store and its logs are neither copied nor deleted: bcdedit /export writes the store */
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD"), "exported hive bytes");
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD.LOG1"), "other log");
        cr_assert_eq(file_find(ESP1 BOOT "BCD.LOG2"), -1);
        cr_assert_eq(fk.n_copied, 3);   /* bootx64.efi, bootmgfw.efi, Recovery\BCD: not the store, not its logs */
}

Test(windows_copy, tree_from_a_store_that_is_not_live)
{
        mb_error err;

        /* copying back from the secondary: its store is an ordinary file */
        two_esps();
        fk.files[file_find(ESP0 BOOT "BCD")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG1")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG2")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG")].locked = false;
        cr_assert_eq(mb_win_copy_tree(&fake_table, ESP1 "\\", ESP0 "\\", false, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fs_content(ESP0 BOOT "BCD"), "exported hive bytes");
        cr_assert_str_eq(fs_content(ESP0 BOOT "BCD.LOG1"), "other log");
        cr_assert_eq(file_find(ESP0 BOOT "BCD.LOG2"), -1);
}

Test(windows_copy, tree_failure_names_the_file)
{
        mb_error err;

        two_esps();
        fk.files[fs_text(ESP1 "\\EFI\\Boot\\bootx64.efi", "in use")].locked = true;
        cr_assert_eq(mb_win_copy_tree(&fake_table, ESP0 "\\", ESP1 "\\", true, &err), MB_EIO);
        cr_assert(strstr(err.msg, "cannot copy '" ESP0 "\\EFI\\Boot\\bootx64.efi' to '" ESP1
                                  "\\EFI\\Boot\\bootx64.efi'"), "%s", err.msg);
        cr_assert(strstr(err.msg, "(CopyFileW, error 32)"), "%s", err.msg);
}

Test(windows_exec, sync_files_exports_the_live_store)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_SYNC_FILES, .disk = 1, .disk2 = 0, .role = MB_ROLE_EFI };
        mb_error err;

        two_esps();
        fs_text(ESP1 BOOT "BCD.mbstate", "left over by an interrupted run");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(strstr(fk.cmdlines[(fk.n_cmd - 1) & 7],
                         "bcdedit.exe\" /export \"" ESP1 BOOT "BCD.mbstate\""), "%s",
                  fk.cmdlines[(fk.n_cmd - 1) & 7]);
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD"), "exported by bcdedit");
        cr_assert_eq(file_find(ESP1 BOOT "BCD.mbstate"), -1);
        cr_assert_str_eq(fs_content(ESP1 BOOT "bootmgfw.efi"), "boot manager 10.0.20348");
}

/* ---- block copies ---- */

Test(windows_copy, blocks_lock_dismount_and_copy_every_byte)
{
        size_t len = 2 * MiB + 4096;    /* a last piece shorter than 1 MiB */
        uint8_t *content = malloc(len), *back = malloc(len);
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        fk.vol_name[3] = "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}\\";
        fk.vol_nt[3] = "\\Device\\HarddiskVolume8";
        fk.vol_fs[3] = "NTFS";
        fk.vol_extents[3] = extents_blob(1, RECOVERY_OFF, 524 * MiB);
        fk.n_vols = 4;
        fk.vol_len[2] = len;
        fk.vol_len[3] = len + 512;      /* the destination may be larger */
        for (size_t i = 0; i < len; i++)
                content[i] = (uint8_t)(i * 131 + i / 512);
        disk_rw(0, RECOVERY_OFF, content, len, true);
        cr_assert_eq(mb_win_copy_blocks(&fake_table, "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}",
                                        "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}", NULL, &err),
                     0, "%s", err.msg);
        disk_rw(1, RECOVERY_OFF, back, len, false);
        cr_assert_eq(memcmp(content, back, len), 0);
        cr_assert_str_eq(fk.fsctl_log, "lock:2 lock:3 dismount:3 dasd:2 dasd:3");

        /* a destination that is too small is refused before anything is locked */
        fk.fsctl_log[0] = '\0';
        fk.vol_len[3] = len - 512;
        cr_assert_eq(mb_win_copy_blocks(&fake_table, "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}",
                                        "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}", NULL, &err),
                     MB_EINVAL);
        cr_assert(strstr(err.msg, "is smaller than"), "%s", err.msg);
        cr_assert_str_eq(fk.fsctl_log, "");

        /* a volume in use cannot be locked: nothing is written */
        fk.vol_len[3] = len;
        fk.fail_fsctl = FSCTL_LOCK_VOLUME;
        memset(back, 0, len);
        disk_rw(1, RECOVERY_OFF, back, len, true);
        cr_assert_eq(mb_win_copy_blocks(&fake_table, "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}",
                                        "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}", NULL, &err),
                     MB_EIO);
        cr_assert(strstr(err.msg, "FSCTL_LOCK_VOLUME on \\\\?\\Volume{0d3e1c2b-0004"), "%s", err.msg);
        disk_rw(1, RECOVERY_OFF, back, len, false);
        for (size_t i = 0; i < len; i += 4096)
                cr_assert_eq(back[i], 0);
        free(content);
        free(back);
}

typedef struct progress_log {
        mb_progress p;
        uint64_t last, total;
        int calls;
} progress_log;

static void progress_update(mb_progress *p, const char *what, uint64_t done, uint64_t total)
{
        progress_log *l = (progress_log *)p;

        (void)what;
        cr_assert_gt(done, l->last);
        l->last = done;
        l->total = total;
        l->calls++;
}

Test(windows_copy, blocks_report_progress)
{
        progress_log l = { { NULL, progress_update }, 0, 0, 0 };
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        fk.vol_name[3] = "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}\\";
        fk.vol_extents[3] = extents_blob(1, RECOVERY_OFF, 524 * MiB);
        fk.n_vols = 4;
        fk.vol_len[2] = fk.vol_len[3] = 3 * MiB;
        cr_assert_eq(mb_win_copy_blocks(&fake_table, "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}",
                                        "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}", &l.p, &err),
                     0, "%s", err.msg);
        cr_assert_eq(l.calls, 3);
        cr_assert_eq(l.last, 3 * MiB);
        cr_assert_eq(l.total, 3 * MiB);
}

/* ---- firmware entries ---- */

Test(windows_exec, firmware_delete)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_FW_DELETE, .number = 0x0003 };
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        fk.n_boot_order = 3;
        memcpy(fk.boot_order, (const uint8_t[]){ 0x00, 0x00, 0x03, 0x00, 0x01, 0x00 }, 6);
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 2);
        /* BootOrder first, without 0003, the others in their order; then Boot0003 deleted */
        cr_assert_str_eq(fk.fw_set[0], "BootOrder");
        cr_assert_eq(fk.fw_set_len[0], 4);
        cr_assert_eq(memcmp(fk.fw_set_data[0], (const uint8_t[]){ 0x00, 0x00, 0x01, 0x00 }, 4), 0);
        cr_assert_str_eq(fk.fw_set[1], "Boot0003");
        cr_assert_eq(fk.fw_set_len[1], 0);

        /* not in BootOrder: only the variable goes */
        fk.n_fw_set = 0;
        op.number = 0x000a;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 1);
        cr_assert_str_eq(fk.fw_set[0], "Boot000A");
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

/* The facts the windows target builds from the seed machine's buffers are
 * the seed machine of tests/data/seed/facts-before.yaml: same disks, same
 * partitions at the same places with the same types, attributes, names and
 * file systems. Identifiers the seed does not show (GUIDs, serials) are
 * invented on both sides and not compared. */
Test(windows_facts, seed_buffers_are_the_seed_fixture)
{
        mb_facts *f = seed_facts("disk1_layout_raw.hex"), *want = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_facts_load(MB_TEST_DATA "/../seed/facts-before.yaml", &want, &err), 0, "%s", err.msg);
        cr_assert_eq(f->n_disks, want->n_disks);
        for (uint32_t i = 0; i < want->n_disks; i++) {
                mb_disk_fact *w = &want->disks[i], *d = mb_facts_disk(f, w->number);

                cr_assert_not_null(d, "disk %u", w->number);
                cr_assert_eq(d->size, w->size, "disk %u size", w->number);
                cr_assert_eq(d->sector_size, w->sector_size);
                cr_assert_eq(d->online, w->online, "disk %u online", w->number);
                cr_assert_eq(d->system, w->system, "disk %u system", w->number);
                cr_assert_eq(d->style, w->style, "disk %u style", w->number);
                cr_assert_eq(d->dynamic, w->dynamic);
                cr_assert_eq(d->n_partitions, w->n_partitions, "disk %u partitions", w->number);
                if (w->style == MB_STYLE_GPT) {
                        cr_assert_eq(d->first_usable_lba, w->first_usable_lba);
                        cr_assert_eq(d->last_usable_lba, w->last_usable_lba);
                }
                for (uint32_t j = 0; j < w->n_partitions; j++) {
                        mb_part_fact *p = &d->partitions[j], *q = &w->partitions[j];

                        cr_assert_eq(p->number, q->number, "disk %u partition %u", w->number, j);
                        cr_assert_eq(p->role, q->role, "partition %u role", q->number);
                        cr_assert_str_eq(p->type_guid, q->type_guid);
                        cr_assert_eq(p->first_lba, q->first_lba, "partition %u first LBA", q->number);
                        cr_assert_eq(p->last_lba, q->last_lba, "partition %u last LBA", q->number);
                        cr_assert_eq(p->attributes, q->attributes, "partition %u attributes", q->number);
                        cr_assert_str_eq(p->name ? p->name : "", q->name ? q->name : "");
                        cr_assert_eq(p->fs, q->fs, "partition %u file system", q->number);
                }
        }
        mb_facts_free(want);
        mb_facts_free(f);
}

/* ==== Windows as documented: the defects of issue 12, item 3 ====
 *
 * The calls below model what Microsoft documents, and the tests check the
 * target follows it:
 * (a) IOCTL_DISK_CREATE_DISK makes an MSR; IOCTL_DISK_SET_DRIVE_LAYOUT_EX
 *     wants at least sizeof(DRIVE_LAYOUT_INFORMATION_EX) and is sent once the
 *     MSR has arrived (winioctl.h IOCTL_DISK_CREATE_DISK remarks; ntdddisk.h
 *     IOCTL_DISK_SET_DRIVE_LAYOUT_EX);
 * (c) GetTempPath2W for SYSTEM is %SystemRoot%\SystemTemp (fileapi.h);
 * (d) CopyFileW fails with ERROR_ACCESS_DENIED over a hidden or read-only
 *     file and copies the source's attributes; DeleteFileW fails on a
 *     read-only file (winbase.h CopyFile, fileapi.h DeleteFile);
 * (e) a drive without media answers ERROR_NOT_READY;
 * (g) noncached I/O wants sector-aligned buffers, offsets and lengths
 *     (File Buffering; CreateFile "Physical Disks and Volumes");
 * (i) VDS_HEALTH (vds.h);
 * (j) a firmware variable written with size 0 is deleted (winbase.h
 *     SetFirmwareEnvironmentVariable; UEFI SetVariable).
 */

#define WD_SECTOR 512u

static struct wd {
        struct { char path[400]; DWORD attrs; } attrs[MAX_FILES];
        int n_attrs;
        UINT error_mode;
        int seq, seq_error_mode, seq_disk_open;   /* call order */
        int n_alloc, n_free, n_sleep;
        DWORD disk_flags[2], vol_flags[4];      /* CreateFileW flags of the open handles */
        int misaligned;                         /* raw transfers Windows would refuse */
        int raw_transfers;
        char created[8][400];                   /* diskpart scripts created, in order */
        DWORD created_disposition[8];
        int n_created;
        char deleted[8][400];
        int n_deleted;
        bool name_taken;                        /* the first script name is someone else's file */
        bool no_media[2];
        bool boot_order_absent;
        int msr_delay;                          /* layout reads after CREATE_DISK before the MSR shows */
        int layout_polls;
        bool created_disk[2];
} wd;

static int wd_attr_index(const char *path)
{
        for (int i = 0; i < wd.n_attrs; i++)
                if (strcasecmp(wd.attrs[i].path, path) == 0)
                        return i;
        return -1;
}

/* A file's attributes: as set, else normal (a directory for directories). */
static DWORD wd_attrs_of(const char *path)
{
        int i = file_find(path), a = wd_attr_index(path);

        if (i < 0 && !is_vol_root(path))
                return INVALID_FILE_ATTRIBUTES;
        if (i < 0 || fk.files[i].dir)
                return FILE_ATTRIBUTE_DIRECTORY;
        return a >= 0 && wd.attrs[a].attrs ? wd.attrs[a].attrs : FILE_ATTRIBUTE_NORMAL;
}

static void wd_set_attrs(const char *path, DWORD attrs)
{
        int a = wd_attr_index(path);

        if (a < 0) {
                cr_assert_lt(wd.n_attrs, MAX_FILES);
                a = wd.n_attrs++;
                snprintf(wd.attrs[a].path, sizeof(wd.attrs[a].path), "%s", path);
        }
        wd.attrs[a].attrs = attrs == FILE_ATTRIBUTE_NORMAL ? 0 : attrs;
}

static DWORD WINAPI f_GetTempPath2W(DWORD len, LPWSTR buf)
{
        put_w(buf, len, "C:\\Windows\\SystemTemp\\");
        return 22;
}

static UINT WINAPI f_SetErrorMode(UINT mode)
{
        UINT prev = wd.error_mode;

        wd.error_mode = mode;
        wd.seq_error_mode = ++wd.seq;
        return prev;
}

static DWORD WINAPI f_GetFileAttributesW(LPCWSTR path)
{
        DWORD a = wd_attrs_of(utf8(path));

        if (a == INVALID_FILE_ATTRIBUTES)
                fk.last_error = ERROR_FILE_NOT_FOUND;
        return a;
}

static BOOL WINAPI f_SetFileAttributesW(LPCWSTR path, DWORD attributes)
{
        const char *p = utf8(path);

        if (wd_attrs_of(p) == INVALID_FILE_ATTRIBUTES) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return FALSE;
        }
        cr_assert_eq(attributes & FILE_ATTRIBUTE_DIRECTORY, 0);
        wd_set_attrs(p, attributes);
        return TRUE;
}

/* Page-aligned as VirtualAlloc's (64 KiB allocation granularity). */
static LPVOID WINAPI f_VirtualAlloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect)
{
        void *p = NULL;

        cr_assert_null(address);
        cr_assert_eq(type, MEM_COMMIT | MEM_RESERVE);
        cr_assert_eq(protect, PAGE_READWRITE);
        cr_assert_eq(posix_memalign(&p, 65536, size), 0);
        memset(p, 0, size);     /* committed pages read as zeros */
        wd.n_alloc++;
        return p;
}

static BOOL WINAPI f_VirtualFree(LPVOID address, SIZE_T size, DWORD type)
{
        cr_assert_eq(size, 0);  /* MEM_RELEASE wants 0 */
        cr_assert_eq(type, MEM_RELEASE);
        free(address);
        wd.n_free++;
        return TRUE;
}

static void WINAPI f_Sleep(DWORD ms)
{
        (void)ms;
        wd.n_sleep++;
}

/* The MSR partition IOCTL_DISK_CREATE_DISK makes on a GPT disk: the only
 * entry of the new layout, which carries the CREATE_DISK's disk GUID. Where
 * it sits does not matter to the target, which only removes it. */
static void disk_created(int d, const void *in, DWORD in_len)
{
        static const uint8_t msr_type_le[16] = { 0x16, 0xe3, 0xc9, 0xe3, 0x5c, 0x0b, 0xb8, 0x4d,
                                                 0x81, 0x7d, 0xf9, 0x2d, 0xf0, 0x02, 0x15, 0xae };
        uint8_t *l = calloc(1, 48 + 144);

        cr_assert_geq(in_len, 24);
        cr_assert_eq(mb_le32(in), PARTITION_STYLE_GPT);
        mb_put_le32(l, PARTITION_STYLE_GPT);
        mb_put_le32(l + 4, 1);
        memcpy(l + 8, (const uint8_t *)in + 4, 16);                    /* DiskId */
        mb_put_le64(l + 24, 34 * 512);                                  /* StartingUsableOffset */
        mb_put_le64(l + 32, disk_size(d) - (34 + 33) * 512);            /* UsableLength */
        mb_put_le32(l + 40, 128);
        mb_put_le32(l + 48, PARTITION_STYLE_GPT);
        mb_put_le64(l + 48 + 8, 34 * 512);
        mb_put_le64(l + 48 + 16, 128 * MiB);
        mb_put_le32(l + 48 + 24, 1);
        memcpy(l + 48 + 32, msr_type_le, 16);
        l[48 + 48] = 0x35;                                              /* a PartitionId */
        free(fk.layout[d].data);
        fk.layout[d] = (blob){ l, 48 + 144 };
        wd.created_disk[d] = true;
}

/* ---- the same machine, with the documented refusals ---- */

static bool wd_is_script(const char *path)
{
        return strstr(path, "mbstate-diskpart-") != NULL;
}

static HANDLE WINAPI wd_CreateFileW(LPCWSTR name, DWORD a, DWORD s, LPSECURITY_ATTRIBUTES sa, DWORD d,
                                    DWORD fl, HANDLE t)
{
        const char *n = utf8(name);
        HANDLE h;

        if (wd_is_script(n)) {
                int k = wd.n_created++;

                cr_assert_lt(k, 8);
                snprintf(wd.created[k], sizeof(wd.created[k]), "%s", n);
                wd.created_disposition[k] = d;
                if (k == 0 && wd.name_taken && d == CREATE_NEW) {
                        fk.last_error = ERROR_FILE_EXISTS;
                        return INVALID_HANDLE_VALUE;
                }
        }
        h = f_CreateFileW(name, a, s, sa, d, fl, t);
        if (h != INVALID_HANDLE_VALUE) {
                uintptr_t id = (uintptr_t)h;

                if (id >= HDISK && id < HDISK + 2) {
                        wd.disk_flags[id - HDISK] = fl;
                        if (!wd.seq_disk_open)
                                wd.seq_disk_open = ++wd.seq;
                }
                if (id >= HVOL && id < HVOL + 4)
                        wd.vol_flags[id - HVOL] = fl;
        }
        return h;
}

static BOOL WINAPI wd_DeviceIoControl(HANDLE h, DWORD code, LPVOID in, DWORD in_len, LPVOID out,
                                      DWORD out_len, LPDWORD ret, LPOVERLAPPED ov)
{
        uintptr_t id = (uintptr_t)h;

        if (id >= HDISK && id < HDISK + 2) {
                int d = (int)(id - HDISK);

                if (wd.no_media[d]) {
                        /* opening works; every request answers "not ready" */
                        fk.last_error = ERROR_NOT_READY;
                        return FALSE;
                }
                if (code == IOCTL_DISK_GET_DRIVE_LAYOUT_EX && wd.created_disk[d]) {
                        wd.layout_polls++;
                        if (wd.msr_delay > 0) {
                                /* not arrived yet: the disk still reads as it was */
                                static const uint8_t raw[48] = { PARTITION_STYLE_RAW };
                                blob b = { (uint8_t *)raw, sizeof(raw) };

                                wd.msr_delay--;
                                return answer(&b, out, out_len, ret);
                        }
                }
        }
        return f_DeviceIoControl(h, code, in, in_len, out, out_len, ret, ov);
}

/* Noncached raw I/O: sector-aligned buffer, whole sectors, handle opened
 * with FILE_FLAG_NO_BUFFERING. Windows refuses the rest with
 * ERROR_INVALID_PARAMETER. */
static bool wd_raw_ok(HANDLE h, LPCVOID buf, DWORD len)
{
        uintptr_t id = (uintptr_t)h;
        DWORD fl;

        if (id >= HDISK && id < HDISK + 2)
                fl = wd.disk_flags[id - HDISK];
        else if (id >= HVOL && id < HVOL + 4)
                fl = wd.vol_flags[id - HVOL];
        else
                return true;
        wd.raw_transfers++;
        if ((fl & FILE_FLAG_NO_BUFFERING) && (uintptr_t)buf % WD_SECTOR == 0 && len % WD_SECTOR == 0)
                return true;
        wd.misaligned++;
        fk.last_error = ERROR_INVALID_PARAMETER;
        return false;
}

static BOOL WINAPI wd_ReadFile(HANDLE h, LPVOID buf, DWORD len, LPDWORD got, LPOVERLAPPED ov)
{
        if (!wd_raw_ok(h, buf, len)) {
                *got = 0;
                return FALSE;
        }
        return f_ReadFile(h, buf, len, got, ov);
}

static BOOL WINAPI wd_WriteFile(HANDLE h, LPCVOID buf, DWORD len, LPDWORD put, LPOVERLAPPED ov)
{
        if (!wd_raw_ok(h, buf, len)) {
                *put = 0;
                return FALSE;
        }
        return f_WriteFile(h, buf, len, put, ov);
}

static BOOL WINAPI wd_CopyFileW(LPCWSTR from, LPCWSTR to, BOOL fail_if_exists)
{
        char src[400], dst[400];

        snprintf(src, sizeof(src), "%s", utf8(from));
        snprintf(dst, sizeof(dst), "%s", utf8(to));
        if (file_find(dst) >= 0 &&
            (wd_attrs_of(dst) & (FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_READONLY))) {
                fk.last_error = ERROR_ACCESS_DENIED;
                return FALSE;
        }
        if (!f_CopyFileW(from, to, fail_if_exists))
                return FALSE;
        wd_set_attrs(dst, wd_attrs_of(src));
        return TRUE;
}

static BOOL WINAPI wd_DeleteFileW(LPCWSTR p)
{
        char path[400];

        snprintf(path, sizeof(path), "%s", utf8(p));
        if (wd_is_script(path)) {
                cr_assert_lt(wd.n_deleted, 8);
                snprintf(wd.deleted[wd.n_deleted++], sizeof(wd.deleted[0]), "%s", path);
        } else if (file_find(path) >= 0 && (wd_attrs_of(path) & FILE_ATTRIBUTE_READONLY)) {
                fk.last_error = ERROR_ACCESS_DENIED;
                return FALSE;
        }
        if (!f_DeleteFileW(p))
                return FALSE;
        if (wd_attr_index(path) >= 0)
                wd.attrs[wd_attr_index(path)].attrs = 0;
        return TRUE;
}

static DWORD WINAPI wd_GetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        if (wd.boot_order_absent && strcmp(utf8(name), "BootOrder") == 0) {
                fk.last_error = ERROR_ENVVAR_NOT_FOUND;
                return 0;
        }
        return f_GetFirmwareEnvironmentVariableW(name, guid, buf, len);
}

static BOOL WINAPI wd_SetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        BOOL ok = f_SetFirmwareEnvironmentVariableW(name, guid, buf, len);

        if (ok && strcmp(utf8(name), "BootOrder") == 0) {
                wd.boot_order_absent = len == 0;
                fk.n_boot_order = (int)(len / 2);
                memcpy(fk.boot_order, buf ? buf : fk.boot_order, len);
        }
        return ok;
}

static mb_win32 wd_table(void)
{
        mb_win32 t = fake_table;

        t.CreateFileW = wd_CreateFileW;
        t.DeviceIoControl = wd_DeviceIoControl;
        t.ReadFile = wd_ReadFile;
        t.WriteFile = wd_WriteFile;
        t.CopyFileW = wd_CopyFileW;
        t.DeleteFileW = wd_DeleteFileW;
        t.GetFirmwareEnvironmentVariableW = wd_GetFirmwareEnvironmentVariableW;
        t.SetFirmwareEnvironmentVariableW = wd_SetFirmwareEnvironmentVariableW;
        return t;
}

/* ---- (a) the MSR CREATE_DISK makes is removed once it has arrived ---- */

Test(windef, init_gpt_waits_for_the_msr_then_sends_a_whole_layout)
{
        mb_win32 w = wd_table();
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1, .expect_size = 32ULL << 30 };
        mb_error err;

        t.w = &w;
        seed_machine("disk1_layout_raw.hex");
        wd.msr_delay = 3;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_sent, 3);
        cr_assert_eq(fk.sent[0].code, IOCTL_DISK_CREATE_DISK);
        /* the layout was read until the MSR showed: 3 reads without it, a pause after each */
        cr_assert_eq(wd.layout_polls, 4);
        cr_assert_eq(wd.n_sleep, 3);
        cr_assert_eq(fk.sent[1].code, IOCTL_DISK_SET_DRIVE_LAYOUT_EX);
        cr_assert_geq(fk.sent[1].len, sizeof(DRIVE_LAYOUT_INFORMATION_EX));
        cr_assert_eq(sizeof(DRIVE_LAYOUT_INFORMATION_EX), 48 + 144);
        cr_assert_eq(le32(fk.sent[1].buf), PARTITION_STYLE_GPT);
        cr_assert_eq(le32(fk.sent[1].buf + 4), 0);      /* no partition left: the MSR goes */
        cr_assert_eq(memcmp(fk.sent[1].buf + 8, fk.sent[0].buf + 4, 16), 0);
        for (size_t i = 48; i < fk.sent[1].len; i++)
                cr_assert_eq(fk.sent[1].buf[i], 0, "byte %zu", i);
        cr_assert_eq(fk.sent[2].code, IOCTL_DISK_UPDATE_PROPERTIES);
}

Test(windef, init_gpt_does_not_write_a_layout_the_driver_has_not_reported)
{
        mb_win32 w = wd_table();
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1, .expect_size = 32ULL << 30 };
        mb_error err;

        t.w = &w;
        seed_machine("disk1_layout_raw.hex");
        wd.msr_delay = 1000;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "disk 1: the GPT IOCTL_DISK_CREATE_DISK wrote is not reported"), "%s",
                  err.msg);
        cr_assert_eq(fk.n_sent, 1);     /* CREATE_DISK only: no SET_DRIVE_LAYOUT_EX */
}

/* ---- (c) the diskpart script cannot be planted or read by users ---- */

static bool wd_script_name_ok(const char *path)
{
        static const char dir[] = "C:\\Windows\\SystemTemp\\mbstate-diskpart-";
        GUID g;
        char id[37];

        if (strncmp(path, dir, strlen(dir)) != 0 || strlen(path) != strlen(dir) + 36 + 4 ||
            strcmp(path + strlen(dir) + 36, ".txt") != 0)
                return false;
        snprintf(id, sizeof(id), "%.36s", path + strlen(dir));
        return mb_w_guid_parse(id, &g) == 0;
}

Test(windef, diskpart_script_cannot_be_planted)
{
        mb_win32 w = wd_table();
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_PART_SET_ATTRS, .disk = 1, .role = MB_ROLE_RECOVERY,
                     .attributes = 0x8000000000000001ULL };
        char want[600];
        mb_error err;

        t.w = &w;
        seed_machine("disk1_layout_seed.hex");
        wd.name_taken = true;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        /* the first name was someone else's file: never opened, another name tried */
        cr_assert_eq(wd.n_created, 2);
        for (int i = 0; i < 2; i++) {
                cr_assert_eq(wd.created_disposition[i], CREATE_NEW, "script %d", i);
                cr_assert(wd_script_name_ok(wd.created[i]), "%s", wd.created[i]);
        }
        cr_assert_str_neq(wd.created[0], wd.created[1]);
        snprintf(want, sizeof(want), "\"C:\\Windows\\System32\\diskpart.exe\" /s \"%s\"", wd.created[1]);
        cr_assert_str_eq(fk.cmdlines[fk.n_cmd - 1], want);
        cr_assert_str_eq(fk.script, "select disk 1\nselect partition 4\ngpt attributes=0x8000000000000001\n");
        /* ours is deleted after the run, the other file is left alone */
        cr_assert_eq(wd.n_deleted, 1);
        cr_assert_str_eq(wd.deleted[0], wd.created[1]);

        /* the next run takes a new name, and deletes its script when diskpart fails */
        fk.exit_code = 2;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert_eq(wd.n_created, 3);
        cr_assert(wd_script_name_ok(wd.created[2]), "%s", wd.created[2]);
        cr_assert_str_neq(wd.created[2], wd.created[1]);
        cr_assert_eq(wd.n_deleted, 2);
        cr_assert_str_eq(wd.deleted[1], wd.created[2]);
}

/* ---- (d) an ESP re-sync over hidden, read-only and system files ---- */

Test(windef, esp_resync_over_hidden_and_read_only_files)
{
        mb_win32 w = wd_table();
        mb_error err;

        two_esps();
        wd_set_attrs(ESP0 BOOT "bootmgfw.efi", FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_READONLY |
                                                FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE);
        fs_text(ESP1 "\\EFI\\Old\\stale.efi", "stale");
        wd_set_attrs(ESP1 "\\EFI\\Old\\stale.efi", FILE_ATTRIBUTE_READONLY);
        cr_assert_eq(mb_win_copy_tree(&w, ESP0 "\\", ESP1 "\\", true, &err), 0, "%s", err.msg);
        /* the copy has the source's attributes, the read-only extra file is gone */
        cr_assert_eq(wd_attrs_of(ESP1 BOOT "bootmgfw.efi"), FILE_ATTRIBUTE_HIDDEN |
                     FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE);
        cr_assert_eq(file_find(ESP1 "\\EFI\\Old\\stale.efi"), -1);

        /* the boot manager is updated on disk 0: the next re-sync overwrites the hidden copy */
        fs_text(ESP0 BOOT "bootmgfw.efi", "boot manager 10.0.20348.2340");
        cr_assert_eq(mb_win_copy_tree(&w, ESP0 "\\", ESP1 "\\", true, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fs_content(ESP1 BOOT "bootmgfw.efi"), "boot manager 10.0.20348.2340");
        cr_assert_eq(wd_attrs_of(ESP1 BOOT "bootmgfw.efi"), FILE_ATTRIBUTE_HIDDEN |
                     FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE);
        /* a plain file keeps its plain attributes */
        cr_assert_eq(wd_attrs_of(ESP1 "\\EFI\\Boot\\bootx64.efi"), FILE_ATTRIBUTE_NORMAL);
}

/* ---- (e) a drive without media is no disk, and raises no dialog ---- */

Test(windef, disk_without_media_is_skipped)
{
        mb_win32 w = wd_table();
        mb_facts *f = NULL;
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        wd.error_mode = 0x8000;         /* SEM_NOOPENFILEERRORBOX, set before: kept */
        wd.no_media[1] = true;
        cr_assert_eq(mb_win_read_facts_opts(&w, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(f->n_disks, 1);
        cr_assert_eq(f->disks[0].number, 0);
        cr_assert_eq(f->disks[0].n_partitions, 4);
        cr_assert_eq(wd.error_mode, 0x8000 | SEM_FAILCRITICALERRORS);
        cr_assert(wd.seq_error_mode > 0 && wd.seq_error_mode < wd.seq_disk_open,
                  "SetErrorMode (call %d) before the first disk is opened (call %d)",
                  wd.seq_error_mode, wd.seq_disk_open);
        mb_facts_free(f);

        /* any other answer is still an error that names the disk */
        wd.no_media[1] = false;
        fk.geometry[1].data[20] = 7;    /* BytesPerSector 7: implausible */
        f = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&w, &no_hash, &f, &err), MB_ECORRUPT);
        cr_assert_null(f);
}

/* ---- (g) raw I/O is unbuffered, sector-aligned, whole sectors ---- */

Test(windef, raw_io_is_unbuffered_and_aligned)
{
        mb_win32 w = wd_table();
        size_t len = 3 * MiB + 1024;
        uint8_t *content = malloc(len), *back = malloc(len);
        char hex[65], want[65];
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        for (size_t i = 0; i < len; i++)
                content[i] = (uint8_t)(i * 7 + i / 4096);
        disk_rw(0, RECOVERY_OFF, content, len, true);
        cr_assert_eq(mb_win_hash_device_range(&w, "\\\\.\\PhysicalDrive0", RECOVERY_OFF, len, hex, &err), 0,
                     "%s", err.msg);
        mb_sha256_hex(content, len, want);
        cr_assert_str_eq(hex, want);
        cr_assert_geq(wd.raw_transfers, 4);
        cr_assert_eq(wd.misaligned, 0);
        cr_assert_eq(wd.n_alloc, 1);
        cr_assert_eq(wd.n_free, 1);
        /* a range that is not whole sectors is refused before anything is read */
        cr_assert_eq(mb_win_hash_device_range(&w, "\\\\.\\PhysicalDrive0", RECOVERY_OFF + 1, 512, hex, &err),
                     MB_EINVAL);

        /* a block clone of a volume, both handles unbuffered */
        fk.vol_name[3] = "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}\\";
        fk.vol_extents[3] = extents_blob(1, RECOVERY_OFF, 524 * MiB);
        fk.n_vols = 4;
        fk.vol_len[2] = fk.vol_len[3] = len;
        wd.raw_transfers = 0;
        cr_assert_eq(mb_win_copy_blocks(&w, "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}",
                                        "\\\\?\\Volume{1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14}", NULL, &err),
                     0, "%s", err.msg);
        disk_rw(1, RECOVERY_OFF, back, len, false);
        cr_assert_eq(memcmp(content, back, len), 0);
        cr_assert_eq(wd.raw_transfers, 2 * 4);  /* 3 MiB + 1024: 4 reads, 4 writes */
        cr_assert_eq(wd.misaligned, 0);
        cr_assert_eq(wd.n_alloc, 2);
        cr_assert_eq(wd.n_free, 2);
        free(content);
        free(back);
}

/* ---- (i) every VDS_HEALTH value a plex can report ---- */

Test(windef, vds_health_values)
{
        static const struct { int32_t health; mb_plex_state want; } cases[] = {
                { MB_VDS_H_HEALTHY, MB_PLEX_HEALTHY },
                { MB_VDS_H_REBUILDING, MB_PLEX_RESYNCING },
                { MB_VDS_H_STALE, MB_PLEX_FAILED },
                { MB_VDS_H_FAILING, MB_PLEX_FAILED },   /* working, with I/O errors */
                { MB_VDS_H_FAILING_REDUNDANCY, MB_PLEX_FAILED },
                { MB_VDS_H_FAILED_REDUNDANCY, MB_PLEX_FAILED },
                { MB_VDS_H_FAILED_REDUNDANCY_FAILING, MB_PLEX_FAILED },
                { MB_VDS_H_FAILED, MB_PLEX_FAILED },
                { MB_VDS_H_REPLACED, MB_PLEX_FAILED },   /* reserved */
                { MB_VDS_H_PENDING_FAILURE, MB_PLEX_FAILED },
                { MB_VDS_H_DEGRADED, MB_PLEX_FAILED },
                { 12, MB_PLEX_FAILED },                 /* a value Windows may add */
                { MB_VDS_H_UNKNOWN, MB_PLEX_HEALTHY },  /* VDS cannot tell: the LDM database's word */
        };
        char group[65];

        mirrored_machine(group);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                mb_facts *f;

                fk.vds_plex[1].health = cases[i].health;
                f = mirrored_facts();
                cr_assert_eq(f->volumes[0].plexes[1].state, cases[i].want, "VDS_HEALTH %d",
                             cases[i].health);
                cr_assert_eq(f->volumes[0].plexes[0].state, MB_PLEX_HEALTHY);
                mb_facts_free(f);
        }
        cr_assert_eq(fk.com_refs, 0);
}

/* ---- (j) the last BootOrder entry: BootOrder goes, facts read it as empty ---- */

Test(windef, removing_the_only_boot_entry)
{
        mb_win32 w = wd_table();
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_FW_DELETE, .number = 0x0003 };
        mb_facts *f = NULL;
        mb_error err;

        t.w = &w;
        seed_machine("disk1_layout_seed.hex");
        fk.n_boot_order = 1;
        memcpy(fk.boot_order, (const uint8_t[]){ 0x03, 0x00 }, 2);
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 2);
        cr_assert_str_eq(fk.fw_set[0], "BootOrder");
        cr_assert_eq(fk.fw_set_len[0], 0);     /* no zero-byte variable exists: size 0 deletes */
        cr_assert_str_eq(fk.fw_set[1], "Boot0003");
        cr_assert_eq(fk.fw_set_len[1], 0);
        cr_assert(wd.boot_order_absent);

        /* a machine without BootOrder has an empty boot order, not unreadable facts */
        cr_assert_eq(mb_win_read_facts_opts(&w, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_not_null(f->firmware);
        cr_assert_eq(f->firmware->n_order, 0);
        cr_assert_eq(f->firmware->n_entries, 0);
        mb_facts_free(f);

        /* deleting another entry then touches only its variable */
        fk.n_fw_set = 0;
        op.number = 0x0004;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 1);
        cr_assert_str_eq(fk.fw_set[0], "Boot0004");
}
