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

#include <hivex.h>
#include <unistd.h>

#include "blockdev.h"
#include "format/bcd/bcd.h"
#include "format/bcd/bcd_internal.h"
#include "platform/windows/windows_internal.h"
#include "sha256.h"
#include "format/ldm/ldm.h"
#include "platform/windows/vds.h"
#include "bootability.h"
#include "format/pe/pe.h"

#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

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
        /* StorageAccessAlignmentProperty: no data answers ERROR_NOT_SUPPORTED,
         * or alignment_error when set */
        blob alignment[2];
        DWORD alignment_error;
        int alignment_queries[2];
        int n_vols;
        const char *vol_name[4];
        const char *vol_nt[4];
        const char *c_drive_nt;                 /* QueryDosDeviceW("C:"), NULL: no C: */
        const char *vol_fs[4];
        blob vol_extents[4];
        size_t vol_next;
        DWORD exit_code;        /* diskpart's */
        size_t out_pos;
        char *out_now;
        char cmdlines[8][1024];
        int n_cmd;
        char script[4096];
        char scripts[8192];     /* every script written, each followed by "--\n" */
        const char *used_letters; /* drive letters QueryDosDeviceW knows besides C: */
        char letter_of_vol3;    /* a drive letter of volume 3 (disk 1's ESP in two_esps), or 0 */
        DWORD bcdedit_code;     /* exit code of bcdedit */
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
        int n_disk_writes[2];   /* WriteFile calls on disk handles */
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
                        if (q.PropertyId == StorageAccessAlignmentProperty)
                                fk.alignment_queries[d]++;
                        if (q.PropertyId == StorageAccessAlignmentProperty && fk.alignment_error) {
                                fk.last_error = fk.alignment_error;
                                return FALSE;
                        }
                        return answer(q.PropertyId == StorageDeviceProperty ? &fk.descriptor[d]
                                      : q.PropertyId == StorageAccessAlignmentProperty
                                              ? &fk.alignment[d] : &fk.deviceid[d],
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
        if (id >= HDISK && id < HDISK + 2) {
                int d = (int)(id - HDISK);

                cr_assert_leq(fk.dpos[d] + len, disk_size(d), "write past the end of disk %d", d);
                disk_rw(d, fk.dpos[d], (void *)buf, len, true);
                fk.dpos[d] += len;
                fk.n_disk_writes[d]++;
                *put = len;
                return TRUE;
        }
        cr_assert_eq(id, HSCRIPT);
        cr_assert_lt(len, sizeof(fk.script));
        memcpy(fk.script, buf, len);
        fk.script[len] = '\0';
        {
                size_t at = strlen(fk.scripts);

                cr_assert_lt(at + len + 4, sizeof(fk.scripts));
                memcpy(fk.scripts + at, buf, len);
                memcpy(fk.scripts + at + len, "--\n", 4);
        }
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
        int i;

        if (strcmp(utf8(dev), "C:") == 0) {
                if (!fk.c_drive_nt) {
                        fk.last_error = ERROR_FILE_NOT_FOUND;
                        return 0;
                }
                put_w(target, len, fk.c_drive_nt);
                return (DWORD)strlen(fk.c_drive_nt) + 2;
        }
        if (strlen(utf8(dev)) == 2 && utf8(dev)[1] == ':' && utf8(dev)[0] == fk.letter_of_vol3) {
                put_w(target, len, fk.vol_nt[3]);
                return (DWORD)strlen(fk.vol_nt[3]) + 2;
        }
        if (strlen(utf8(dev)) == 2 && utf8(dev)[1] == ':') {
                /* another drive letter: a volume when used_letters has it */
                if (!fk.used_letters || !strchr(fk.used_letters, utf8(dev)[0])) {
                        fk.last_error = ERROR_FILE_NOT_FOUND;
                        return 0;
                }
                put_w(target, len, "\\Device\\HarddiskVolume9");
                return (DWORD)strlen("\\Device\\HarddiskVolume9") + 2;
        }
        i = vol_index(utf8(dev));

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
                *len = (DWORD)(strlen("\\Device\\HarddiskVolume1") + 1) * sizeof(WCHAR); /* the size copied, NUL included */
                return 0;
        }
        return 2;
}

/* ---- the registry: BCD stores served from hive files through libhivex ----
 *
 * HKLM\BCD00000000 is the hive file rg.live (the running system's store);
 * RegLoadAppKeyW loads the bytes of a file of the fake volumes. Keys are
 * handles into open hives; every function answers as its documentation says
 * (ERROR_FILE_NOT_FOUND for a missing key or value, ERROR_MORE_DATA with
 * the size for a short buffer, ERROR_NO_MORE_ITEMS past the last index).
 */
#define HKEY_BASE 0x7000
#define ERROR_BADDB_ 1009u      /* "The configuration registry database is corrupt." */

static struct reg {
        char live[256];         /* hive file of HKLM\BCD00000000; "" = no such key */
        hive_h *hives[8];
        char tmp[8][256];       /* hive files made from the fake volumes' bytes */
        int n_hives;
        struct { int hive; hive_node_h node; bool open; } keys[512];
        int n_keys;
        int n_open, n_close;    /* keys handed out and closed */
        int n_app;              /* RegLoadAppKeyW calls */
        char app_path[4][400];
} rg;

static void rg_free(void)
{
        for (int i = 0; i < rg.n_hives; i++) {
                if (rg.hives[i])
                        hivex_close(rg.hives[i]);
                if (rg.tmp[i][0])
                        unlink(rg.tmp[i]);
        }
        if (rg.live[0])
                unlink(rg.live);
        memset(&rg, 0, sizeof(rg));
}

static HKEY rg_key(int hive, hive_node_h node)
{
        int k = 0;

        while (k < rg.n_keys && rg.keys[k].open)
                k++;            /* a closed key's handle is reused, as Windows may */
        cr_assert_lt(k, 512);
        if (k == rg.n_keys)
                rg.n_keys++;
        rg.keys[k].hive = hive;
        rg.keys[k].node = node;
        rg.keys[k].open = true;
        rg.n_open++;
        return (HKEY)(uintptr_t)(HKEY_BASE + k);
}

static int rg_slot(HKEY k)
{
        uintptr_t v = (uintptr_t)k;

        cr_assert(v >= HKEY_BASE && v < HKEY_BASE + (uintptr_t)rg.n_keys, "not a key handle");
        cr_assert(rg.keys[v - HKEY_BASE].open, "key used after RegCloseKey");
        return (int)(v - HKEY_BASE);
}

static int rg_open_hive(const char *path)
{
        hive_h *h = hivex_open(path, 0);

        if (!h)
                return -1;
        cr_assert_lt(rg.n_hives, 8);
        rg.hives[rg.n_hives] = h;
        return rg.n_hives++;
}

static LONG WINAPI f_RegOpenKeyExW(HKEY parent, LPCWSTR sub, DWORD opts, REGSAM sam, PHKEY ret)
{
        char path[512], *save = NULL;
        hive_node_h node;
        int hive;

        cr_assert_eq(opts, 0);
        cr_assert_eq(sam, KEY_READ, "the BCD is only ever opened for reading");
        snprintf(path, sizeof(path), "%s", utf8(sub));
        if (parent == HKEY_LOCAL_MACHINE) {
                char *rest;

                if (strncasecmp(path, "BCD00000000", 11) != 0 || !rg.live[0] ||
                    (path[11] && path[11] != '\\'))
                        return (LONG)ERROR_FILE_NOT_FOUND;
                if ((hive = rg_open_hive(rg.live)) < 0)
                        return (LONG)ERROR_BADDB_;
                node = hivex_root(rg.hives[hive]);
                rest = path[11] ? path + 12 : path + 11;
                memmove(path, rest, strlen(rest) + 1);
        } else {
                int k = rg_slot(parent);

                hive = rg.keys[k].hive;
                node = rg.keys[k].node;
        }
        for (char *part = strtok_r(path, "\\", &save); part; part = strtok_r(NULL, "\\", &save)) {
                node = hivex_node_get_child(rg.hives[hive], node, part);
                if (!node)
                        return (LONG)ERROR_FILE_NOT_FOUND;
        }
        *ret = rg_key(hive, node);
        return 0;
}

static LONG WINAPI f_RegEnumKeyExW(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                   LPDWORD reserved, LPWSTR cls, LPDWORD cls_len, PFILETIME t)
{
        int k = rg_slot(key);
        hive_node_h *kids = hivex_node_children(rg.hives[rg.keys[k].hive], rg.keys[k].node);
        size_t n = 0;
        char *kn;
        LONG r = 0;

        cr_assert_null(reserved);
        cr_assert_null(cls);
        cr_assert_null(cls_len);
        (void)t;
        cr_assert_not_null(kids);
        while (kids[n])
                n++;
        if (index >= n) {
                free(kids);
                return (LONG)ERROR_NO_MORE_ITEMS;
        }
        kn = hivex_node_name(rg.hives[rg.keys[k].hive], kids[index]);
        if (strlen(kn) + 1 > *name_len) {
                r = (LONG)ERROR_MORE_DATA;
        } else {
                put_w(name, *name_len, kn);
                *name_len = (DWORD)strlen(kn);  /* characters, without the NUL */
        }
        free(kn);
        free(kids);
        return r;
}

/* Copies a value's bytes as RegQueryValueExW/RegEnumValueW do. */
static LONG rg_answer(int k, hive_value_h v, LPDWORD type, LPBYTE data, LPDWORD len)
{
        hive_type t;
        size_t n;
        char *bytes = hivex_value_value(rg.hives[rg.keys[k].hive], v, &t, &n);
        LONG r = 0;

        cr_assert_not_null(bytes);
        if (type)
                *type = (DWORD)t;
        if (data && len && *len < n)
                r = (LONG)ERROR_MORE_DATA;
        else if (data)
                memcpy(data, bytes, n);
        if (len)
                *len = (DWORD)n;
        free(bytes);
        return r;
}

static LONG WINAPI f_RegQueryValueExW(HKEY key, LPCWSTR name, LPDWORD reserved, LPDWORD type,
                                      LPBYTE data, LPDWORD len)
{
        int k = rg_slot(key);
        hive_value_h v;

        cr_assert_null(reserved);
        v = hivex_node_get_value(rg.hives[rg.keys[k].hive], rg.keys[k].node, utf8(name));
        if (!v)
                return (LONG)ERROR_FILE_NOT_FOUND;
        return rg_answer(k, v, type, data, len);
}

static LONG WINAPI f_RegEnumValueW(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                   LPDWORD reserved, LPDWORD type, LPBYTE data, LPDWORD len)
{
        int k = rg_slot(key);
        hive_value_h *vals = hivex_node_values(rg.hives[rg.keys[k].hive], rg.keys[k].node);
        size_t n = 0;
        char *vn;
        LONG r;

        cr_assert_null(reserved);
        while (vals[n])
                n++;
        if (index >= n) {
                free(vals);
                return (LONG)ERROR_NO_MORE_ITEMS;
        }
        vn = hivex_value_key(rg.hives[rg.keys[k].hive], vals[index]);
        if (strlen(vn) + 1 > *name_len) {
                r = (LONG)ERROR_MORE_DATA;
        } else {
                put_w(name, *name_len, vn);
                *name_len = (DWORD)strlen(vn);
                r = rg_answer(k, vals[index], type, data, len);
        }
        free(vn);
        free(vals);
        return r;
}

static LONG WINAPI f_RegCloseKey(HKEY key)
{
        rg.keys[rg_slot(key)].open = false;
        rg.n_close++;
        if (rg.n_close == rg.n_open) {
                /* every key is closed: a test that reads facts many times
                 * reuses the slots (the counters stay, for the balance checks) */
                for (int i = 0; i < rg.n_hives; i++) {
                        if (rg.hives[i])
                                hivex_close(rg.hives[i]);
                        if (rg.tmp[i][0])
                                unlink(rg.tmp[i]);
                        rg.hives[i] = NULL;
                        rg.tmp[i][0] = '\0';
                }
                rg.n_hives = 0;
                rg.n_keys = 0;
        }
        return 0;
}

static LONG WINAPI f_RegLoadAppKeyW(LPCWSTR file, PHKEY ret, REGSAM sam, DWORD opts, DWORD res)
{
        const char *path = utf8(file);
        int i = file_find(path), hive, fd;

        cr_assert_eq(sam, KEY_READ, "stores on other ESPs are only read");
        cr_assert_eq(opts, 0);
        cr_assert_eq(res, 0);
        snprintf(rg.app_path[rg.n_app++ & 3], sizeof(rg.app_path[0]), "%s", path);
        /* the documented trap: a missing file would be created as an empty hive */
        cr_assert_geq(i, 0, "RegLoadAppKeyW on a file that does not exist: %s", path);
        if (fk.files[i].locked)
                return (LONG)ERROR_SHARING_VIOLATION;
        cr_assert_lt(rg.n_hives, 8);
        snprintf(rg.tmp[rg.n_hives], sizeof(rg.tmp[0]), "/tmp/mbstate-test-hive.XXXXXX");
        fd = mkstemp(rg.tmp[rg.n_hives]);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, fk.files[i].data, fk.files[i].len), (ssize_t)fk.files[i].len);
        close(fd);
        hive = rg_open_hive(rg.tmp[rg.n_hives]);
        if (hive < 0) {
                unlink(rg.tmp[rg.n_hives]);
                rg.tmp[rg.n_hives][0] = '\0';
                return (LONG)ERROR_BADDB_;
        }
        *ret = rg_key(hive, hivex_root(rg.hives[hive]));
        return 0;
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
        fk.proc_code = strstr(utf8(cmd), "diskpart.exe") ? fk.exit_code
                       : strstr(utf8(cmd), "bcdedit.exe") ? fk.bcdedit_code : 0;
        fk.out_now = strstr(utf8(cmd), "/copy") ? "The entry was successfully copied to {063973c5-d0ac-11ed-b884-cfa59b967f58}.\r\n"
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
static HCRYPTMSG WINAPI f_CryptMsgOpenToDecode(DWORD encoding, DWORD flags, DWORD type,
                                               HCRYPTPROV_LEGACY prov, PCERT_INFO recipient,
                                               PCMSG_STREAM_INFO stream);
static BOOL WINAPI f_CryptMsgUpdate(HCRYPTMSG msg, const BYTE *data, DWORD len, BOOL final);
static BOOL WINAPI f_CryptMsgGetParam(HCRYPTMSG msg, DWORD param, DWORD index, void *data, DWORD *len);
static BOOL WINAPI f_CryptMsgClose(HCRYPTMSG msg);
static PCCERT_CONTEXT WINAPI f_CertCreateCertificateContext(DWORD encoding, const BYTE *data, DWORD len);
static BOOL WINAPI f_CertFreeCertificateContext(PCCERT_CONTEXT cert);
static DWORD WINAPI f_CertNameToStrW(DWORD encoding, PCERT_NAME_BLOB name, DWORD type, LPWSTR buf,
                                     DWORD len);
static BOOL WINAPI f_CryptDecodeObjectEx(DWORD encoding, LPCSTR type, const BYTE *data, DWORD len,
                                         DWORD flags, PCRYPT_DECODE_PARA para, void *ret,
                                         DWORD *ret_len);

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
        .RegOpenKeyExW = f_RegOpenKeyExW,
        .RegEnumKeyExW = f_RegEnumKeyExW,
        .RegQueryValueExW = f_RegQueryValueExW,
        .RegEnumValueW = f_RegEnumValueW,
        .RegCloseKey = f_RegCloseKey,
        .RegLoadAppKeyW = f_RegLoadAppKeyW,
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
        .CryptMsgOpenToDecode = f_CryptMsgOpenToDecode,
        .CryptMsgUpdate = f_CryptMsgUpdate,
        .CryptMsgGetParam = f_CryptMsgGetParam,
        .CryptMsgClose = f_CryptMsgClose,
        .CertCreateCertificateContext = f_CertCreateCertificateContext,
        .CertFreeCertificateContext = f_CertFreeCertificateContext,
        .CertNameToStrW = f_CertNameToStrW,
        .CryptDecodeObjectEx = f_CryptDecodeObjectEx,
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
                free(fk.alignment[d].data);
                free(fk.attributes[d].data);
                free(fk.layout[d].data);
        }
        for (int i = 0; i < 4; i++)
                free(fk.vol_extents[i].data);
        free(fk.boot0000.data);
        rg_free();
        for (int i = 0; i < fk.n_files; i++)
                free(fk.files[i].data);
        memset(&fk, 0, sizeof(fk));
}

__attribute__((destructor)) static void fk_cleanup(void)
{
        fk_free();
}

#define ESP0 "\\\\?\\Volume{0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01}"
#define OS0_VOL "\\\\?\\Volume{0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03}"
#define ESP1 "\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}"
#define BOOT "\\EFI\\Microsoft\\Boot\\"

/* The seed machine's GPT names (disk*_layout*.hex). */
#define DISK0_GUID "5e9c4b1a-2f3d-4c8e-9a7b-1c2d3e4f5a6b"
#define ESP0_GUID "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01"
#define OS0_GUID "0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03"
#define REC0_GUID "0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04"
#define DISK1_GUID "77a0c1d2-3e4f-4a5b-8c6d-7e8f90a1b2c3"       /* disk1_layout_seed.hex */
#define ESP1_GUID "1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11"
#define OS1_GUID "1d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c13"
#define PLEX_ENTRY "063973c4-d0ac-11ed-b884-cfa59b967f58"      /* the seed transcript's id */

static mb_guid G(const char *s)
{
        mb_guid g;

        cr_assert_eq(mb_guid_parse(s, &g), 0, "%s", s);
        return g;
}

/*
 * The seed machine's system store as a hive file at a new temporary path
 * (written into path): the store of a fresh UEFI Windows Server 2022 install
 * (mb_bcd_build_windows_store, engine/format/bcd/bcd_windows.c) on disk 0,
 * with the GUIDs the seed transcript shows. With plex, the entry Windows
 * adds when it mirrors the boot volume onto disk 1 (the transcript's
 * "Windows Server - secondary plex", {063973c4-...}): a copy of the loader
 * whose device and osdevice are the os plex's partition on disk 1, listed
 * last in the boot menu.
 */
static void seed_store(char *path, size_t len, bool plex)
{
        mb_guid d0 = G(DISK0_GUID), esp = G(ESP0_GUID), os = G(OS0_GUID), rec = G(REC0_GUID);
        mb_error err;
        int fd;

        snprintf(path, len, "/tmp/mbstate-test-bcd.XXXXXX");
        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        close(fd);
        unlink(path);
        cr_assert_eq(mb_bcd_build_windows_store(path, &d0, &esp, &d0, &os, &rec, &err), 0, "%s",
                     err.msg);
        if (plex) {
                mb_guid loader = G(MB_BCD_SEED_LOADER_GUID), id = G(PLEX_ENTRY), bm = G("9dea862c-5cdd-4e70-acc1-f32b344d4795");
                mb_guid order[2] = { loader, id };
                mb_bcd_device dev;
                mb_bcd *b;

                memset(&dev, 0, sizeof(dev));
                dev.kind = MB_BCD_DEV_PARTITION;
                dev.disk_guid = G(DISK1_GUID);
                dev.partition_guid = G(OS1_GUID);
                cr_assert_eq(mb_bcd_open(path, 1, &b, &err), 0, "%s", err.msg);
                cr_assert_eq(mb_bcd_copy_object(b, &loader, &id, "Windows Server - secondary plex", &err), 0);
                cr_assert_eq(mb_bcd_set_device(b, &id, MB_BCDE_DEVICE, &dev, &err), 0);
                cr_assert_eq(mb_bcd_set_device(b, &id, MB_BCDE_OSLOADER_OSDEVICE, &dev, &err), 0);
                cr_assert_eq(mb_bcd_set_object_list(b, &bm, MB_BCDE_BOOTMGR_DISPLAYORDER, order, 2, &err), 0);
                cr_assert_eq(mb_bcd_commit(b, &err), 0, "%s", err.msg);
                mb_bcd_close(b);
        }
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
        fk.c_drive_nt = fk.vol_nt[1];           /* C: is the os volume */
        fk.vol_fs[1] = "NTFS";
        fk.vol_extents[1] = load_hex("disk0_part3_extents.hex");
        fk.vol_name[2] = "\\\\?\\Volume{0d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c04}\\";
        fk.vol_nt[2] = "\\Device\\HarddiskVolume4";
        fk.vol_fs[2] = "NTFS";
        fk.vol_extents[2] = load_hex("disk0_part4_extents.hex");
        /* the loader the store's "Windows Server" entry names, on C: */
        fs_text(OS0_VOL "\\Windows\\System32\\winload.efi", "os loader 10.0.20348");
        /* disk1_layout_seed.hex is the machine after the mirror was added:
         * its store has the entry Windows adds for the plex on disk 1 */
        seed_store(rg.live, sizeof(rg.live), strcmp(disk1_layout, "disk1_layout_seed.hex") == 0);
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
        mb_bcd_object_fact *bm, *loader;

        /* read from HKLM\BCD00000000 through the registry functions */
        cr_assert_not_null(f->bcd);
        cr_assert_str_eq(f->bcd->store, "system store (HKLM\\BCD00000000)");
        cr_assert_eq(f->bcd->n_objects, 14);
        bm = mb_facts_bcd_object(f, "{bootmgr}");
        cr_assert_not_null(bm);
        cr_assert_str_eq(bm->type, "boot-manager");
        cr_assert_str_eq(bm->device->kind, "partition");
        cr_assert_str_eq(bm->device->partition, ESP0_GUID);
        cr_assert_str_eq(bm->device->disk, DISK0_GUID);
        cr_assert_eq(bm->n_displayorder, 1);
        cr_assert_str_eq(bm->displayorder[0], "{" MB_BCD_SEED_LOADER_GUID "}");
        loader = mb_facts_bcd_object(f, "{" MB_BCD_SEED_LOADER_GUID "}");
        cr_assert_str_eq(loader->type, "os-loader");
        cr_assert_str_eq(loader->description, "Windows Server");
        cr_assert_str_eq(loader->osdevice->partition, OS0_GUID);
        cr_assert_str_eq(mb_facts_bcd_object(f, "{fwbootmgr}")->type,
                         "firmware-boot-manager");
        cr_assert_null(mb_facts_bcd_by_description(f, "os-loader", "Windows Server - secondary plex"));
        /* every key opened was closed; no program was run for facts */
        cr_assert_gt(rg.n_open, 14);
        cr_assert_eq(rg.n_open, rg.n_close);
        cr_assert_eq(fk.n_cmd, 0);

        cr_assert_not_null(f->firmware);
        cr_assert_eq(f->firmware->n_order, 1);
        cr_assert_eq(f->firmware->n_entries, 1);
        cr_assert_str_eq(f->firmware->entries[0].description, "Windows Boot Manager");
        cr_assert_str_eq(f->firmware->entries[0].partition, "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01");
        cr_assert_str_eq(f->firmware->entries[0].path, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        cr_assert(f->firmware->entries[0].active);
        mb_facts_free(f);
}

/* ---- BCD read as data: the registry against the seed's real transcript ----
 *
 * tests/data/windows/seed_bcdedit_enum.txt is `bcdedit /enum` on the seed
 * machine after the mirror was added (see its .source note). The store of
 * that machine is served through the registry functions, and every value the
 * listing shows must be what the registry read decoded: the listing is the
 * oracle here, never an input of mbstate. Drive letters are resolved as the
 * transcript's own diskpart lines set them (P: disk 0's ESP) and as C: is
 * the mirrored os volume (a plex on disk 0 and one on disk 1).
 */

typedef enum { K_STR, K_OBJ, K_LIST, K_DEV, K_INT, K_BOOL, K_INTLIST } kw_kind;

static const struct keyword {
        const char *name;
        uint32_t bootmgr, loader;       /* element type in each class (0: not there) */
        kw_kind kind;
} keywords[] = {
        { "device", 0x11000001, 0x11000001, K_DEV },
        { "path", 0x12000002, 0x12000002, K_STR },
        { "description", 0x12000004, 0x12000004, K_STR },
        { "locale", 0x12000005, 0x12000005, K_STR },
        { "inherit", 0x14000006, 0x14000006, K_LIST },
        { "recoverysequence", 0, 0x14000008, K_LIST },
        { "recoveryenabled", 0, 0x16000009, K_BOOL },
        { "isolatedcontext", 0, 0x16000060, K_BOOL },
        { "displaymessageoverride", 0, 0x15000066, K_INT },
        { "bootshutdowndisabled", 0x16000074, 0, K_BOOL },
        { "allowedinmemorysettings", 0, 0x17000077, K_INTLIST },
        { "osdevice", 0, 0x21000001, K_DEV },
        { "systemroot", 0, 0x22000002, K_STR },
        { "resumeobject", 0x23000006, 0x23000003, K_OBJ },
        { "default", 0x23000003, 0, K_OBJ },
        { "displayorder", 0x24000001, 0, K_LIST },
        { "toolsdisplayorder", 0x24000010, 0, K_LIST },
        { "timeout", 0x25000004, 0, K_INT },
        { "nx", 0, 0x25000020, K_INT },
};

/* bcdedit's names for values (bcdedit /? TYPES): numbers as stored. */
static const struct { const char *name; uint64_t value; } value_names[] = {
        { "Yes", 1 }, { "No", 0 },
        { "Recovery", 3 },                               /* displaymessageoverride */
        { "OptIn", 0 }, { "OptOut", 1 }, { "AlwaysOff", 2 }, { "AlwaysOn", 3 }, /* nx */
};

static uint64_t value_of(const char *text)
{
        for (size_t i = 0; i < sizeof(value_names) / sizeof(value_names[0]); i++)
                if (strcmp(text, value_names[i].name) == 0)
                        return value_names[i].value;
        return strtoull(text, NULL, 0);
}

/* The GUID a transcript id names ({current} is the running loader: the
 * boot manager's default on this machine). */
static mb_guid transcript_id(const char *id)
{
        mb_guid g;

        if (strcmp(id, "{current}") == 0 || strcmp(id, "{default}") == 0)
                return G(MB_BCD_SEED_LOADER_GUID);
        if (mb_bcd_alias_guid(id, &g) == 0)
                return g;
        return G(id);
}

static bool letter_is(const mb_bcd_device *d, const char *value)
{
        static const struct { const char *letter, *disk, *part; } letters[] = {
                { "partition=P:", DISK0_GUID, ESP0_GUID },
                { "partition=C:", DISK0_GUID, OS0_GUID },
                { "partition=C:", DISK1_GUID, OS1_GUID },
        };
        char dg[MB_GUID_STR_LEN], pg[MB_GUID_STR_LEN];

        if (d->kind != MB_BCD_DEV_PARTITION || d->mbr)
                return false;
        mb_guid_format(&d->disk_guid, dg);
        mb_guid_format(&d->partition_guid, pg);
        for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
                if (strcmp(value, letters[i].letter) == 0 && strcmp(dg, letters[i].disk) == 0 &&
                    strcmp(pg, letters[i].part) == 0)
                        return true;
        return false;
}

static const mb_bcd_element *element(const mb_bcd_object *o, uint32_t type)
{
        for (size_t i = 0; i < o->n_elements; i++)
                if (o->elements[i].type == type)
                        return &o->elements[i];
        return NULL;
}

/* GUIDs of a REG_SZ / REG_MULTI_SZ element, in order. */
static size_t element_guids(const mb_bcd_element *e, mb_guid *out, size_t max)
{
        size_t n = 0, i = 0;

        while (i + 1 < e->len && n < max) {
                size_t start = i;
                char *t;

                while (i + 1 < e->len && (e->data[i] | e->data[i + 1]) != 0)
                        i += 2;
                if (i == start)
                        break;
                t = mb_bcd_utf8(e->data + start, i - start);
                cr_assert_eq(mb_guid_parse(t, &out[n]), 0, "%s", t);
                n++;
                free(t);
                i += 2;
        }
        return n;
}

/* Checks one transcript line (keyword, its values) against object o. */
static void check_element(const mb_bcd_object *o, const char *id, const char *key,
                          char values[][128], size_t n_values)
{
        const struct keyword *k = NULL;
        const mb_bcd_element *e;
        bool bootmgr = (o->type & 0xfff00000u) == 0x10100000u;
        uint32_t type;

        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
                if (strcmp(keywords[i].name, key) == 0)
                        k = &keywords[i];
        cr_assert_not_null(k, "%s: the transcript shows \"%s\", which this test does not know", id, key);
        type = bootmgr ? k->bootmgr : k->loader;
        cr_assert_neq(type, 0, "%s: %s in an object of type %08x", id, key, o->type);
        e = element(o, type);
        cr_assert_not_null(e, "%s: no element %08x (%s) in the registry", id, type, key);
        switch (k->kind) {
        case K_STR: {
                char *t = mb_bcd_utf8(e->data, e->len);

                cr_assert_eq(e->reg_type, REG_SZ);
                cr_assert_str_eq(t, values[0], "%s %s", id, key);
                free(t);
                break;
        }
        case K_OBJ:
        case K_LIST: {
                mb_guid g[8];
                size_t n = element_guids(e, g, 8);

                cr_assert_eq(e->reg_type, k->kind == K_OBJ ? REG_SZ : REG_MULTI_SZ);
                cr_assert_eq(n, n_values, "%s %s: %zu ids, the transcript shows %zu", id, key, n,
                             n_values);
                for (size_t i = 0; i < n; i++) {
                        mb_guid want = transcript_id(values[i]);

                        cr_assert(mb_guid_equal(&g[i], &want), "%s %s[%zu] is not %s", id, key, i,
                                  values[i]);
                }
                break;
        }
        case K_DEV: {
                mb_bcd_device d;
                mb_error err;

                cr_assert_eq(mb_bcd_device_decode(e->data, e->len, &d, &err), 0);
                cr_assert(letter_is(&d, values[0]), "%s %s is not %s", id, key, values[0]);
                mb_bcd_device_clear(&d);
                break;
        }
        case K_INT:
                cr_assert_eq(e->len, 8);
                cr_assert_eq(mb_le64(e->data), value_of(values[0]), "%s %s", id, key);
                break;
        case K_BOOL:
                cr_assert_eq(e->len, 1);
                cr_assert_eq(e->data[0], value_of(values[0]), "%s %s", id, key);
                break;
        case K_INTLIST:
                cr_assert_eq(e->len, 8 * n_values);
                for (size_t i = 0; i < n_values; i++)
                        cr_assert_eq(mb_le64(e->data + 8 * i), value_of(values[i]), "%s %s", id, key);
                break;
        }
}

static const mb_bcd_object *object_by_id(const mb_bcd_object *objs, size_t n, const mb_guid *id)
{
        for (size_t i = 0; i < n; i++)
                if (mb_guid_equal(&objs[i].id, id))
                        return &objs[i];
        return NULL;
}

/* Walks the transcript: per object, every element line is checked and the
 * object must hold no element the listing does not show. Returns how many
 * objects it listed. */
static size_t check_transcript(const char *text, const mb_bcd_object *objs, size_t n_objs)
{
        char *copy = strdup(text), *lines[256], key[64] = "", values[8][128], id[64] = "";
        const mb_bcd_object *o = NULL;
        size_t n_values = 0, n_lines = 0, n_listed = 0, n = 0;

        for (char *p = copy; p && n < 256; ) {
                lines[n++] = p;
                p = strchr(p, '\n');
                if (p)
                        *p++ = '\0';
        }
        for (size_t i = 0;; i++) {
                char *line = i < n ? lines[i] : NULL, k[64] = "", v[128] = "";
                bool cont = line && line[0] == ' ';

                if (line && (line[0] == '-' || (i + 1 < n && lines[i + 1][0] == '-')))
                        continue;       /* a heading (localized) and its underline */

                if (line && strncmp(line, "PS ", 3) == 0 && !o)
                        continue;       /* the prompt */
                if (line && line[0] == '`')
                        line = NULL;    /* the end of the listing */
                if (line && !cont && sscanf(line, "%63s %127[^\r\n]", k, v) < 2)
                        continue;       /* headings and their underlines */
                if ((!line || !cont) && key[0] && o) {
                        if (strcmp(key, "identifier") != 0) {
                                check_element(o, id, key, values, n_values);
                                n_lines++;
                        }
                        key[0] = '\0';
                }
                if (!line || strncmp(line, "The entry", 9) == 0)
                        break;
                if (cont) {
                        cr_assert_lt(n_values, 8);
                        sscanf(line, " %127[^\r\n]", values[n_values++]);
                        continue;
                }
                if (strcmp(k, "identifier") == 0) {
                        mb_guid g = transcript_id(v);

                        if (o)
                                cr_assert_eq(o->n_elements, n_lines,
                                             "%s: the registry holds %zu elements, bcdedit shows %zu",
                                             id, o->n_elements, n_lines);
                        o = object_by_id(objs, n_objs, &g);
                        cr_assert_not_null(o, "object %s is not in the registry", v);
                        snprintf(id, sizeof(id), "%s", v);
                        n_lines = 0;
                        n_listed++;
                }
                snprintf(key, sizeof(key), "%s", k);
                snprintf(values[0], sizeof(values[0]), "%s", v);
                n_values = 1;
        }
        cr_assert_not_null(o);
        cr_assert_eq(o->n_elements, n_lines, "%s: the registry holds %zu elements, bcdedit shows %zu",
                     id, o->n_elements, n_lines);
        free(copy);
        return n_listed;
}

Test(windows_bcd_registry, seed_transcript_objects_are_the_registry_read)
{
        char *text = load_text("seed_bcdedit_enum.txt");
        mb_bcd_object *objs = NULL;
        const mb_bcd_object *bm;
        mb_guid bmg = G("9dea862c-5cdd-4e70-acc1-f32b344d4795");
        size_t n = 0;
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_bcd_read_live(&fake_table, &objs, &n, &err), 0, "%s", err.msg);
        /* `bcdedit /enum` lists {bootmgr} and the objects of its boot menu */
        bm = object_by_id(objs, n, &bmg);
        cr_assert_not_null(bm);
        cr_assert_eq(check_transcript(text, objs, n), 1 + bm->n_displayorder);
        cr_assert_eq(rg.n_open, rg.n_close);
        mb_bcd_objects_free(objs, n);
        free(text);
}

/* The same store as facts: devices named by partition and disk GUID, never
 * by drive letter or NT device name; the plex entry is on disk 1. */
Test(windows_bcd_registry, drive_letters_do_not_reach_the_facts)
{
        mb_facts *f;
        mb_bcd_object_fact *cur, *plex;
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cur = mb_facts_bcd_object(f, "{" MB_BCD_SEED_LOADER_GUID "}");
        plex = mb_facts_bcd_object(f, "{" PLEX_ENTRY "}");
        cr_assert_not_null(cur);
        cr_assert_not_null(plex);
        cr_assert_str_eq(cur->device->kind, "partition");
        cr_assert_str_eq(cur->device->disk, DISK0_GUID);
        cr_assert_str_eq(cur->device->partition, OS0_GUID);
        cr_assert_str_eq(plex->description, "Windows Server - secondary plex");
        cr_assert_str_eq(plex->device->disk, DISK1_GUID);
        cr_assert_str_eq(plex->device->partition, OS1_GUID);
        cr_assert_str_eq(plex->osdevice->partition, OS1_GUID);
        cr_assert_eq(fk.n_cmd, 0);
        mb_facts_free(f);
}

/* Defect 3(h): {313e8eed-...} is {kerneldbgsettings}; the windows target's
 * own table called it {emssettings}. Ids now come from engine/format/bcd. */
Test(windows_bcd_registry, kerneldbgsettings_is_not_emssettings)
{
        mb_guid kd = G("313e8eed-7098-4586-a9bf-309c61f8d449");
        mb_bcd_object_fact *o, *ems;
        mb_facts *f;
        mb_bcd *b;
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        cr_assert_eq(mb_bcd_open(rg.live, 1, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_create_object(b, &kd, MB_BCD_TYPE_INHERIT_OSLOADER, NULL, &err), 0);
        cr_assert_eq(mb_bcd_commit(b, &err), 0, "%s", err.msg);
        mb_bcd_close(b);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        o = mb_facts_bcd_object(f, "{kerneldbgsettings}");
        ems = mb_facts_bcd_object(f, "{emssettings}");
        cr_assert_not_null(o);
        cr_assert_str_eq(o->type, "os-loader-settings");
        cr_assert_not_null(ems);                /* the store's own {0ce4991b-...} */
        cr_assert_str_eq(ems->type, "settings");
        cr_assert_neq(o, ems);
        mb_facts_free(f);
}

/* A store that is not a BCD store, or no live store at all: a clear error
 * naming the store and the call. */
Test(windows_bcd_registry, errors_name_the_store)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        DWORD load = 0;
        mb_error err;

        seed_machine("disk1_layout_raw.hex");
        unlink(rg.live);
        rg.live[0] = '\0';
        cr_assert_lt(mb_win_bcd_read_live(&fake_table, &objs, &n, &err), 0);
        cr_assert(strstr(err.msg, "BCD system store: opening HKLM\\BCD00000000") &&
                  strstr(err.msg, "(RegOpenKeyExW, error 2)"), "%s", err.msg);
        fs_text(ESP0 BOOT "BCD", "not a hive");
        cr_assert_lt(mb_win_bcd_read_file(&fake_table, ESP0 BOOT "BCD", &objs, &n, &load, &err), 0);
        cr_assert_eq(load, 1009);
        cr_assert(strstr(err.msg, "cannot load the store") && strstr(err.msg, "RegLoadAppKeyW"),
                  "%s", err.msg);
        cr_assert_eq(rg.n_open, rg.n_close);
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


static blob file_bytes(const char *path)
{
        FILE *f = fopen(path, "rb");
        blob b = { 0 };

        cr_assert_not_null(f, "%s", path);
        b.data = malloc(1 << 20);
        b.len = fread(b.data, 1, 1 << 20, f);
        fclose(f);
        return b;
}

/* A copy of the hive at from, rewritten by libhivex with the same objects
 * (different bytes, as `bcdedit /export` writes a new hive), as a blob;
 * with swap, {bootmgr}'s boot menu has its two entries the other way round. */
static blob rewritten_store(const char *from, bool swap)
{
        char tmp[64] = "/tmp/mbstate-test-bcd2.XXXXXX";
        mb_guid bm = G("9dea862c-5cdd-4e70-acc1-f32b344d4795");
        mb_guid order[2] = { G(PLEX_ENTRY), G(MB_BCD_SEED_LOADER_GUID) };
        blob in = file_bytes(from), out;
        mb_bcd_object *o;
        mb_bcd *b;
        mb_error err;
        int fd = mkstemp(tmp);

        cr_assert_eq(write(fd, in.data, in.len), (ssize_t)in.len);
        close(fd);
        cr_assert_eq(mb_bcd_open(tmp, 1, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_get(b, &bm, &o, &err), 0, "%s", err.msg);
        if (swap)
                cr_assert_eq(mb_bcd_set_object_list(b, &bm, MB_BCDE_BOOTMGR_DISPLAYORDER, order, 2, &err), 0);
        else
                cr_assert_eq(mb_bcd_set_object_list(b, &bm, MB_BCDE_BOOTMGR_DISPLAYORDER,
                                                    o->displayorder, o->n_displayorder, &err), 0);
        mb_bcd_objects_free(o, 1);
        cr_assert_eq(mb_bcd_commit(b, &err), 0, "%s", err.msg);
        mb_bcd_close(b);
        out = file_bytes(tmp);
        unlink(tmp);
        cr_assert(in.len != out.len || memcmp(in.data, out.data, in.len) != 0,
                  "the rewritten hive must differ in bytes");
        free(in.data);
        return out;
}

/* Both ESPs with files; disk 0's is the running system's (its BCD and
 * logs held open by the registry); the live store has the plex entry and
 * disk 1's ESP a copy of it in other hive bytes. */
static void two_esps(void)
{
        blob live, copy;

        seed_machine("disk1_layout_seed.hex");
        fk.vol_name[3] = ESP1 "\\";
        fk.vol_nt[3] = "\\Device\\HarddiskVolume5";
        fk.vol_fs[3] = "FAT32";
        fk.vol_extents[3] = extents_blob(1, 1 * MiB, 100 * MiB);
        fk.n_vols = 4;
        fs_text(ESP0 BOOT "bootmgfw.efi", "boot manager 10.0.20348");
        fs_text(ESP0 "\\EFI\\Boot\\bootx64.efi", "boot manager 10.0.20348");
        live = file_bytes(rg.live);
        fs_text(ESP0 BOOT "BCD", NULL);
        fk.files[fs_put(ESP0 BOOT "BCD", false, live.data, live.len)].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG", "")].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG1", "log1")].locked = true;
        fk.files[fs_text(ESP0 BOOT "BCD.LOG2", "log2")].locked = true;
        fs_text(ESP1 BOOT "bootmgfw.efi", "boot manager 10.0.20348");
        fs_text(ESP1 "\\EFI\\Boot\\bootx64.efi", "boot manager 10.0.20348");
        copy = rewritten_store(rg.live, false);
        fs_put(ESP1 BOOT "BCD", false, copy.data, copy.len);
        fs_text(ESP1 BOOT "BCD.LOG1", "other log");
        free(live.data);
        free(copy.data);
}

/* A file of the fake volumes as a blob (a copy), and whether one is equal to it. */
static blob file_blob(const char *path)
{
        int i = file_find(path);
        blob b;

        cr_assert_geq(i, 0, "%s", path);
        b.len = fk.files[i].len;
        b.data = malloc(b.len ? b.len : 1);
        memcpy(b.data, fk.files[i].data, b.len);
        return b;
}

static bool blob_is(const char *path, const blob *b)
{
        int i = file_find(path);

        return i >= 0 && fk.files[i].len == b->len && memcmp(fk.files[i].data, b->data, b->len) == 0;
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
        mb_bcd_object *objs;
        size_t n;
        uint64_t size;
        char hex[65];
        blob swapped;
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
        /* same objects in other hive bytes: equal */
        cr_assert_str_eq(b0->sha256, b1->sha256);
        cr_assert_eq(b0->size, b1->size);
        /* the live store is read from the registry, its file never loaded;
         * the other ESP's store through RegLoadAppKeyW */
        cr_assert_eq(rg.n_app, 1);
        cr_assert_str_eq(rg.app_path[0], ESP1 BOOT "BCD");
        cr_assert_eq(rg.n_open, rg.n_close);
        cr_assert_eq(fk.n_cmd, 0, "no program runs while facts are read");
        /* the digest is the objects' (engine/format/bcd), not the bytes' */
        cr_assert_eq(mb_win_bcd_read_live(&fake_table, &objs, &n, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_objects_digest(objs, n, &size, hex, &err), 0);
        mb_bcd_objects_free(objs, n);
        cr_assert_str_eq(b0->sha256, hex);
        cr_assert_eq(b0->size, size);
        mb_sha256_hex("boot manager 10.0.20348", 23, hex);
        cr_assert_str_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/bootmgfw.efi")->sha256, hex);
        mb_facts_free(f);

        /* the secondary's boot menu is in another order: the stores differ */
        swapped = rewritten_store(rg.live, true);
        fs_put(ESP1 BOOT "BCD", false, swapped.data, swapped.len);
        free(swapped.data);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_str_neq(esp_file(f, 0, "/EFI/Microsoft/Boot/BCD")->sha256,
                          esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256);
        mb_facts_free(f);
}

Test(windows_facts, esp_bcd_that_does_not_load_is_hashed_as_bytes)
{
        mb_facts *f = NULL;
        char hex[65];
        mb_error err;

        two_esps();
        fs_text(ESP1 BOOT "BCD", "not a hive");
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        mb_sha256_hex("not a hive", 10, hex);
        cr_assert_str_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256, hex);
        cr_assert_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->size, 10);
        cr_assert_str_neq(esp_file(f, 0, "/EFI/Microsoft/Boot/BCD")->sha256, hex);
        /* listed as a file, but no store in the facts: a BCD that is no readable store */
        cr_assert_null(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_EFI)->bcd);
        mb_facts_free(f);

        /* a registry hive that is no BCD store (no Objects key): its bytes too */
        {
                char tmp[64] = "/tmp/mbstate-test-hive3.XXXXXX";
                int fd = mkstemp(tmp);
                blob live = file_bytes(rg.live), b;
                hive_h *h;

                cr_assert_eq(write(fd, live.data, live.len), (ssize_t)live.len);
                close(fd);
                h = hivex_open(tmp, HIVEX_OPEN_WRITE);
                cr_assert_not_null(h);
                cr_assert_eq(hivex_node_delete_child(h, hivex_node_get_child(h, hivex_root(h), "Objects")), 0);
                cr_assert_eq(hivex_commit(h, tmp, 0), 0);
                hivex_close(h);
                b = file_bytes(tmp);
                unlink(tmp);
                fs_put(ESP1 BOOT "BCD", false, b.data, b.len);
                cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
                mb_sha256_hex(b.data, b.len, hex);
                cr_assert_str_eq(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD")->sha256, hex);
                cr_assert_null(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_EFI)->bcd);
                cr_assert_eq(rg.n_open, rg.n_close);
                mb_facts_free(f);
                free(b.data);
                free(live.data);
        }
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

/* CRC-32 (the UEFI specification's GPT checksum: IEEE 802.3 polynomial). */
static uint32_t gpt_crc(const uint8_t *p, size_t len)
{
        uint32_t c = 0xffffffffu;

        for (size_t i = 0; i < len; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xffffffffu;
}

/* A protective MBR and a GPT (header and array as the UEFI specification
 * lays them out, CRCs included) whose only entry is the LDM metadata
 * partition (what the LDM reader looks at), in disk d's bytes; the layout
 * IOCTL gets the same partition as number 5. */
static void make_dynamic(int d)
{
        uint8_t s[512], ents[128 * 128];
        uint8_t *l;
        uint32_t n;

        memset(s, 0, sizeof(s));
        s[0x1be + 4] = 0xee;
        s[510] = 0x55;
        s[511] = 0xaa;
        disk_rw(d, 0, s, 512, true);
        memset(ents, 0, sizeof(ents));
        memcpy(ents, ldm_meta_type_le, 16);
        ents[16] = (uint8_t)(0x50 + d);
        mb_put_le64(ents + 32, META_FIRST);
        mb_put_le64(ents + 40, META_LAST);
        disk_rw(d, 1024, ents, sizeof(ents), true);
        memset(s, 0, sizeof(s));
        memcpy(s, "EFI PART", 8);
        mb_put_le32(s + 0x08, 0x00010000);                      /* revision 1.0 */
        mb_put_le32(s + 0x0c, 92);                              /* header size */
        mb_put_le64(s + 0x18, 1);                               /* my LBA */
        mb_put_le64(s + 0x48, 2);
        mb_put_le32(s + 0x50, 128);
        mb_put_le32(s + 0x54, 128);
        mb_put_le32(s + 0x58, gpt_crc(ents, sizeof(ents)));
        mb_put_le32(s + 0x10, gpt_crc(s, 92));
        disk_rw(d, 512, s, 512, true);

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

/* Windows retypes C:'s entry LDM data when it converts the boot disk, and
 * the os plex's entry on the mirror disk is LDM data too: the os role comes
 * from the LDM database (the entry that is exactly Volume1's extent). */
Test(windows_facts, ldm_os_role_from_the_database)
{
        static const uint8_t ldm_data_le[16] = { 0xa0, 0x60, 0x9b, 0xaf, 0x31, 0x14, 0x62, 0x4f,
                                                 0xbc, 0x68, 0x33, 0x11, 0x71, 0x4a, 0x69, 0xad };
        char group[65];
        mb_facts *f = NULL;
        mb_error err;

        mirrored_machine(group);
        for (int d = 0; d < 2; d++) {
                uint32_t n = mb_le32(fk.layout[d].data + 4);
                bool found = false;

                for (uint32_t i = 0; i < n; i++) {
                        uint8_t *e = fk.layout[d].data + 48 + i * 144;

                        if (mb_le64(e + 8) != OS_FIRST * 512)
                                continue;
                        mb_put_le64(e + 16, OS_SECTORS * 512);
                        memcpy(e + 32, ldm_data_le, 16);
                        found = true;
                }
                if (!found) {   /* the mirror disk: the plex's entry */
                        uint8_t *l = realloc(fk.layout[d].data, 48 + (n + 1) * 144), *e;

                        cr_assert_not_null(l);
                        e = l + 48 + n * 144;
                        memset(e, 0, 144);
                        mb_put_le32(e, 1);
                        mb_put_le64(e + 8, OS_FIRST * 512);
                        mb_put_le64(e + 16, OS_SECTORS * 512);
                        mb_put_le32(e + 24, n + 1);
                        memcpy(e + 32, ldm_data_le, 16);
                        e[48] = (uint8_t)(0x70 + d);
                        mb_put_le32(l + 4, n + 1);
                        fk.layout[d].data = l;
                        fk.layout[d].len = 48 + (n + 1) * 144;
                }
        }
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        for (uint32_t d = 0; d < 2; d++) {
                const mb_part_fact *os = mb_disk_part_by_role(mb_facts_disk(f, d), MB_ROLE_OS);

                cr_assert_not_null(os, "disk %u has no os partition", d);
                cr_assert_eq(os->first_lba, OS_FIRST);
                cr_assert_eq(os->last_lba, OS_FIRST + OS_SECTORS - 1);
                cr_assert_str_eq(os->type_guid, "af9b60a0-1431-4f62-bc68-3311714a69ad");
        }
        mb_facts_free(f);
}

/* Two mirrored volumes in the group: the database alone cannot tell which
 * holds the system; the running system's boot volume does (the Windows
 * directory's drive, its NT device, that volume's first disk extent). */
Test(windows_facts, ldm_os_volume_from_the_boot_volume)
{
        mb_blockdev devs[2], *pdevs[2] = { &devs[0], &devs[1] };
        uint64_t id[2], vol, vol2, part;
        mb_ldm_db *db = NULL;
        mb_facts *f = NULL;
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
        /* a small mirrored data volume in the tail first, then C: */
        cr_assert_eq(mb_ldm_add_simple_volume(db, id[0], 66866000, 2048, "Volume2", "D:",
                                              0x07, NULL, &vol2, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_add_mirror_plex(db, vol2, id[1], 66866000, &part, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_add_simple_volume(db, id[0], 0, OS_SECTORS, "Volume1", "C:",
                                              0x07, NULL, &vol, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_add_mirror_plex(db, vol, id[1], 0, &part, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_ldm_write(db, pdevs, 2, &err), 0, "%s", err.msg);
        mb_ldm_db_free(db);
        vds_healthy_mirror();

        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(f->n_volumes, 2);
        {
                const mb_part_fact *os = mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_OS);

                cr_assert_not_null(os, "the boot volume's extent tells the os volume");
                cr_assert_eq(os->first_lba, OS_FIRST);
        }
        mb_facts_free(f);

        /* without a C: the database alone decides, and two mirrors do not */
        fk.c_drive_nt = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_null(mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_OS));
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

/* The windows target as mbstate opens it (preflight through the table),
 * facts read through the gate, disk 1 allowed. */
static mb_platform *gate_target(const char *disk1_layout, mb_facts **ret_facts)
{
        mb_platform *p = NULL;
        mb_error err;

        seed_machine(disk1_layout);
        cr_assert_eq(mb_win_platform_open(&fake_table, &p, &err), 0, "%s", err.msg);
        ((mb_win_target *)p->priv)->read_opts = no_hash;
        cr_assert_eq(mb_platform_read_facts(p, ret_facts, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_platform_allow_write(p, 1, &err), 0, "%s", err.msg);
        return p;
}

/* Nothing reached a disk, a volume, a process or the firmware. */
static void assert_nothing_written(void)
{
        cr_assert_eq(fk.n_sent, 0);
        cr_assert_eq(fk.n_cmd, 0);
        cr_assert_eq(fk.n_disk_writes[0] + fk.n_disk_writes[1], 0);
        cr_assert_eq(fk.n_copied, 0);
        cr_assert_eq(fk.n_fw_set, 0);
}

/* Disks 0 and 1 trade places: number 1 now answers with disk 0's
 * documented geometry and descriptor (another serial, another size). */
static void swap_disks(void)
{
        blob g = fk.geometry[1], d = fk.descriptor[1];

        fk.geometry[1] = fk.geometry[0], fk.descriptor[1] = fk.descriptor[0];
        fk.geometry[0] = g, fk.descriptor[0] = d;
}

Test(windows_exec, init_gpt_checks_identity)
{
        mb_facts *f = NULL;
        mb_platform *p = gate_target("disk1_layout_raw.hex", &f);
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1, .expect_size = 32ULL << 30 };
        mb_error err;

        snprintf(op.expect_serial, sizeof(op.expect_serial), "someone-else");
        cr_assert_eq(mb_platform_execute(p, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "serial"), "%s", err.msg);
        cr_assert_eq(fk.n_sent, 0);
        mb_platform_close(p);
        mb_facts_free(f);

        /* and never on a disk with partitions */
        op.expect_serial[0] = '\0';
        op.disk = 0;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "blank"), "%s", err.msg);
        cr_assert_eq(fk.n_sent, 0);
}

/* Each destructive kind, planned for disk 1 and executed after another disk
 * took number 1, is refused at the gate before any call that writes. */
Test(windows_gate, swapped_disk_refused_for_every_destructive_kind)
{
        static const mb_op_kind kinds[] = { MB_OP_DISK_INIT_GPT, MB_OP_FORMAT, MB_OP_CLONE_BLOCKS,
                                            MB_OP_SYNC_FILES };

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                mb_facts *f = NULL;
                mb_platform *p = gate_target("disk1_layout_raw.hex", &f);
                mb_op op = { .kind = kinds[i], .disk = 1, .disk2 = 0, .role = MB_ROLE_EFI,
                             .fs = MB_FS_FAT32 };
                mb_error err;

                mb_op_record_identity(&op, f);
                cr_assert_eq(op.expect_size, 32ULL << 30, "the plan records disk 1's size");
                swap_disks();
                cr_assert_eq(mb_platform_execute(p, &op, NULL, &err), MB_EUNSAFE,
                             "%s: %s", mb_op_kind_to_string(kinds[i]), err.msg);
                cr_assert(strstr(err.msg, "target windows, disk 1"), "%s", err.msg);
                cr_assert(strstr(err.msg, "not the disk the plan was made for"), "%s", err.msg);
                cr_assert(strstr(err.msg, op.expect_serial), "%s", err.msg);
                cr_log_info("windows gate: %s", err.msg);
                assert_nothing_written();
                mb_platform_close(p);
                mb_facts_free(f);
        }
}

Test(windows_gate, destructive_op_without_identity_refused)
{
        mb_facts *f = NULL;
        mb_platform *p = gate_target("disk1_layout_raw.hex", &f);
        mb_op op = { .kind = MB_OP_DISK_INIT_GPT, .disk = 1 };
        mb_error err;

        cr_assert_eq(mb_platform_execute(p, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "the plan recorded no identity"), "%s", err.msg);
        cr_log_info("windows gate: %s", err.msg);
        assert_nothing_written();
        mb_platform_close(p);
        mb_facts_free(f);
}

Test(windows_gate, disk_not_allowed_refused)
{
        mb_facts *f = NULL;
        mb_platform *p = gate_target("disk1_layout_raw.hex", &f);
        mb_op op = { .kind = MB_OP_PART_SET_NAME, .disk = 0, .role = MB_ROLE_OS };
        mb_op bcd = { .kind = MB_OP_BCD_DELETE, .disk = 1 };
        mb_error err;

        cr_assert_eq(mb_platform_execute(p, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "target windows: refusing partition-set-name: disk 0 is not selected for writing by the configuration"),
                  "%s", err.msg);
        cr_log_info("windows gate: %s", err.msg);
        /* a BCD edit writes the system disk's ESP: disk 0 here, not allowed */
        snprintf(bcd.object, sizeof(bcd.object), "{00000000-0000-0000-0000-000000000000}");
        cr_assert_eq(mb_platform_execute(p, &bcd, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "system disk 0 is not selected for writing"), "%s", err.msg);
        assert_nothing_written();
        mb_platform_close(p);
        mb_facts_free(f);
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
                            "{063973c4-d0ac-11ed-b884-cfa59b967f58} /addlast\n"
                            "SetFirmwareEnvironmentVariableW BootOrder {8be4df61-93ca-11d2-aa0d-00e098032b8c} = "
                            "BootOrder with the Boot#### of \"Windows Server - secondary plex\" on partition "
                            "0d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c01 moved directly after the last entry whose "
                            "load option names a partition (hard drive media path), ahead of the entries "
                            "that name none\n");
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

        blob store;

        two_esps();
        store = file_blob(ESP1 BOOT "BCD");
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
        cr_assert(blob_is(ESP1 BOOT "BCD", &store));
        free(store.data);
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD.LOG1"), "other log");
        cr_assert_eq(file_find(ESP1 BOOT "BCD.LOG2"), -1);
        cr_assert_eq(fk.n_copied, 3);   /* bootx64.efi, bootmgfw.efi, Recovery\BCD: not the store, not its logs */
}

Test(windows_copy, tree_from_a_store_that_is_not_live)
{
        mb_error err;

        blob store;

        /* copying back from the secondary: its store is an ordinary file */
        two_esps();
        store = file_blob(ESP1 BOOT "BCD");
        fk.files[file_find(ESP0 BOOT "BCD")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG1")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG2")].locked = false;
        fk.files[file_find(ESP0 BOOT "BCD.LOG")].locked = false;
        cr_assert_eq(mb_win_copy_tree(&fake_table, ESP1 "\\", ESP0 "\\", false, &err), 0, "%s", err.msg);
        cr_assert(blob_is(ESP0 BOOT "BCD", &store));
        free(store.data);
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

/* ---- each ESP's own store ----
 *
 * two_esps(): disk 1's ESP holds a copy of the seed's system store as
 * `bcdedit /export` leaves it there (the transcript's BCD2 renamed BCD):
 * {bootmgr}, "Windows Server" on disk 0's os partition and "Windows Server -
 * secondary plex" on disk 1's, both with the seed's Windows RE loader as
 * their recoverysequence (its ramdisk options {063973c2-...}).
 */

#define REC1_GUID "1d3e1c2b-0004-4a1b-9c2d-3e4f5a6b7c14"
#define WINRE "{" MB_BCD_SEED_WINRE_GUID "}"
#define RAMDISK_OPTS "{" MB_BCD_SEED_RAMDISK_GUID "}"

static const mb_bcd_object_fact *store_obj(const mb_bcd_fact *b, const char *id)
{
        for (uint32_t i = 0; b && i < b->n_objects; i++)
                if (strcmp(b->objects[i].id, id) == 0)
                        return &b->objects[i];
        return NULL;
}

static mb_bcd_fact *esp_store(const mb_facts *f, uint32_t disk)
{
        return mb_disk_part_by_role(mb_facts_disk(f, disk), MB_ROLE_EFI)->bcd;
}

Test(windows_facts, each_esp_store_read_as_data)
{
        mb_facts *f = NULL;
        const mb_bcd_fact *b;
        const mb_bcd_object_fact *o;
        mb_error err;

        two_esps();
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        /* the system ESP's store is the system store (f->bcd), not repeated */
        cr_assert_null(esp_store(f, 0));
        b = esp_store(f, 1);
        cr_assert_not_null(b);
        cr_assert_str_eq(b->store, "disk 1 partition 1 /EFI/Microsoft/Boot/BCD");
        cr_assert_eq(b->n_objects, f->bcd->n_objects);
        o = store_obj(b, "{bootmgr}");
        cr_assert_not_null(o);
        cr_assert_str_eq(o->device->partition, ESP0_GUID, "a copy of the system store: its boot manager is still disk 0's ESP");
        cr_assert_str_eq(o->default_id, "{" MB_BCD_SEED_LOADER_GUID "}");
        o = store_obj(b, "{" PLEX_ENTRY "}");
        cr_assert_not_null(o);
        cr_assert_str_eq(o->osdevice->partition, OS1_GUID);
        cr_assert_str_eq(o->recovery, WINRE);
        /* no volume of the fakes is disk 1's os plex: unchecked; the loader
         * on disk 0's os volume finds its winload.efi there */
        cr_assert_null(o->path_check);
        o = store_obj(b, "{" MB_BCD_SEED_LOADER_GUID "}");
        cr_assert_not_null(o->path_check);
        cr_assert(o->path_check->exists);
        cr_assert_str_eq(store_obj(b, WINRE)->device->kind, "ramdisk");
        /* one RegLoadAppKeyW for the store, giving both its digest and its objects */
        cr_assert_eq(rg.n_app, 1);
        cr_assert_eq(rg.n_open, rg.n_close);
        cr_assert_eq(fk.n_cmd, 0);
        mb_facts_free(f);

        /* an ESP without a BCD: no store */
        fs_text(ESP1 BOOT "BCD", NULL);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_null(esp_store(f, 1));
        cr_assert_null(esp_file(f, 1, "/EFI/Microsoft/Boot/BCD"));
        mb_facts_free(f);
}

static mb_facts *two_esps_facts(void)
{
        mb_facts *f = NULL;
        mb_error err;

        two_esps();
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        return f;
}

static mb_op store_op(mb_op_kind kind, uint32_t disk, mb_role role, const char *object)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = kind;
        op.disk = disk;
        op.role = role;
        op.esp_store = true;
        op.store_disk = 1;
        snprintf(op.object, sizeof(op.object), "%s", object);
        return op;
}

#define ASSIGN_ESP1 "diskpart /s <<EOF\n  select disk 1\n  select partition 1\n  assign letter=<free drive letter>\nEOF\n"
#define REMOVE_ESP1 "diskpart /s <<EOF\n  select disk 1\n  select partition 1\n  remove letter=<free drive letter>\nEOF\n"
#define STORE1 "bcdedit /store <free drive letter>:\\EFI\\Microsoft\\Boot\\BCD "

Test(windows_render, esp_store_ops)
{
        mb_facts *f = two_esps_facts();
        mb_op op;
        char *t;

        /* {bootmgr} default in disk 1's store = the loader booting disk 1's plex */
        op = store_op(MB_OP_BCD_SET_DEFAULT, 1, MB_ROLE_OS, "");
        t = render(f, &op);
        cr_assert_str_eq(t, ASSIGN_ESP1 STORE1 "/default {" PLEX_ENTRY "}\n" REMOVE_ESP1);
        free(t);
        /* the system store: no /store, no letter */
        op.esp_store = false;
        t = render(f, &op);
        cr_assert_str_eq(t, "bcdedit /default {" PLEX_ENTRY "}\n");
        free(t);
        /* esp_store on the system disk is the system store */
        op = store_op(MB_OP_BCD_SET_DEFAULT, 0, MB_ROLE_OS, "");
        op.store_disk = 0;
        t = render(f, &op);
        cr_assert_str_eq(t, "bcdedit /default {" MB_BCD_SEED_LOADER_GUID "}\n");
        free(t);
        /* disk 0's loader second in disk 1's boot menu */
        op = store_op(MB_OP_BCD_DISPLAYORDER, 0, MB_ROLE_OS, "");
        op.position = MB_POS_LAST;
        t = render(f, &op);
        cr_assert_str_eq(t, ASSIGN_ESP1 STORE1 "/displayorder {" MB_BCD_SEED_LOADER_GUID "} /addlast\n" REMOVE_ESP1);
        free(t);
        /* {bootmgr} of disk 1's store onto disk 1's ESP */
        op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_EFI, "{bootmgr}");
        t = render(f, &op);
        cr_assert_str_eq(t, ASSIGN_ESP1 STORE1 "/set {bootmgr} device partition=<\\Device\\HarddiskVolumeN of disk 1's efi partition>\n" REMOVE_ESP1);
        free(t);
        /* the loader of disk 1's plex in disk 1's store is Windows' own
         * entry: a check of the store as it is, no letter for it */
        op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_OS, "");
        t = render(f, &op);
        cr_assert_str_eq(t, "check: an OS loader whose device and osdevice are the os plex on disk 1, which Windows "
                            "adds when it adds the plex (diskpart add disk=1); bcdedit names devices by volume and "
                            "both plexes are one volume, so it cannot point an entry at this disk's plex (bcdedit "
                            "/copy {default} would boot from disk 0); mbstate makes no such entry\n", "%s", t);
        free(t);
        /* Windows RE on disk 1's recovery partition: the recoverysequence of
         * the loader booting disk 1's plex, a second letter for partition 4 */
        op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_RECOVERY, "");
        t = render(f, &op);
        cr_assert_str_eq(t, ASSIGN_ESP1
                         "diskpart /s <<EOF\n  select disk 1\n  select partition 4\n  assign letter=<second free drive letter>\nEOF\n"
                         STORE1 "/set " WINRE " device ramdisk=[<second free drive letter>:]\\Recovery\\WindowsRE\\Winre.wim,{<ramdisk options " WINRE " names>}\n"
                         STORE1 "/set " WINRE " osdevice ramdisk=[<second free drive letter>:]\\Recovery\\WindowsRE\\Winre.wim,{<ramdisk options " WINRE " names>}\n"
                         STORE1 "/set {<ramdisk options " WINRE " names>} ramdisksdidevice partition=<second free drive letter>:\n"
                         "diskpart /s <<EOF\n  select disk 1\n  select partition 4\n  remove letter=<second free drive letter>\nEOF\n"
                         REMOVE_ESP1, "%s", t);
        free(t);
        /* an explicit id is kept as it is; the copy of {bootmgr} names the store too */
        op = store_op(MB_OP_BCD_DELETE, 0, MB_ROLE_NONE, "{" MB_BCD_SEED_LOADER_GUID "}");
        t = render(f, &op);
        cr_assert_str_eq(t, ASSIGN_ESP1 STORE1 "/delete {" MB_BCD_SEED_LOADER_GUID "}\n" REMOVE_ESP1);
        free(t);
        mb_facts_free(f);
}

static void render_fails(const mb_facts *f, const mb_op *op, int code, const char *want)
{
        char *text = NULL;
        mb_error err;

        mb_error_clear(&err);
        cr_assert_eq(mb_windows_render_op(f, op, &text, &err), code, "%s", err.msg);
        cr_assert_null(text);
        cr_assert(strstr(err.msg, want), "%s", err.msg);
}

Test(windows_render, esp_store_refusals)
{
        mb_facts *f = two_esps_facts();
        mb_part_fact *os1 = mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_OS);
        mb_op op;

        /* no loader boots the partition named */
        free(os1->unique_guid);
        os1->unique_guid = mb_strdup("1d3e1c2b-0003-4a1b-9c2d-000000000000");
        op = store_op(MB_OP_BCD_SET_DEFAULT, 1, MB_ROLE_OS, "");
        render_fails(f, &op, MB_ESTATE,
                     "bcd-set-default: the store on disk 1's ESP has no OS loader whose device and osdevice "
                     "are the os partition of disk 1 (1d3e1c2b-0003-4a1b-9c2d-000000000000)");
        /* an empty object where a kind needs an id */
        op = store_op(MB_OP_BCD_DELETE, 1, MB_ROLE_OS, "");
        render_fails(f, &op, MB_EINVAL, "bcd-delete: no BCD object id");
        /* an injected id */
        op = store_op(MB_OP_BCD_SET_DEFAULT, 1, MB_ROLE_OS, "{x} & del");
        render_fails(f, &op, MB_EINVAL, "invalid BCD object id");
        /* role recovery on what is no loader */
        op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_RECOVERY, "{bootmgr}");
        render_fails(f, &op, MB_ESTATE,
                     "the store on disk 1's ESP has no OS loader {bootmgr} to point at disk 1's recovery partition");
        /* a recovery partition whose files are known and hold no Winre.wim */
        {
                mb_part_fact *rec1 = mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_RECOVERY);

                rec1->files = calloc(1, sizeof(*rec1->files));
                rec1->files[0].path = mb_strdup("/Recovery/WindowsRE/ReAgent.xml");
                rec1->n_files = 1;
                op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_RECOVERY, WINRE);
                render_fails(f, &op, MB_ESTATE,
                             "bcd-set-device: disk 1's recovery partition (partition 4) has no \\Recovery\\WindowsRE\\Winre.wim to boot");
                free(rec1->files[0].path);
                rec1->files[0].path = mb_strdup("/Recovery/WindowsRE/winre.wim");
                op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_RECOVERY, WINRE);
                free(render(f, &op));   /* names compare without case, as NTFS's */
        }
        /* the store was not read (none, or unreadable) */
        mb_bcd_fact_free(esp_store(f, 1));
        mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_EFI)->bcd = NULL;
        op = store_op(MB_OP_BCD_DISPLAYORDER, 0, MB_ROLE_OS, "");
        render_fails(f, &op, MB_ESTATE, "the store on disk 1's ESP was not read");
        mb_facts_free(f);
}

Test(windows_exec, esp_store_edited_through_a_temporary_letter)
{
        mb_win_target t = target();
        mb_op op = store_op(MB_OP_BCD_SET_DEFAULT, 1, MB_ROLE_OS, "");
        mb_error err;

        two_esps();
        fk.used_letters = "ZD";         /* the first free letter from Z down is Y */
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 3);
        cr_assert(strstr(fk.cmdlines[0], "diskpart.exe\" /s "), "%s", fk.cmdlines[0]);
        cr_assert(strstr(fk.cmdlines[1], "bcdedit.exe\" /store Y:\\EFI\\Microsoft\\Boot\\BCD /default {" PLEX_ENTRY "}"),
                  "%s", fk.cmdlines[1]);
        cr_assert(strstr(fk.cmdlines[2], "diskpart.exe\" /s "), "%s", fk.cmdlines[2]);
        cr_assert_str_eq(fk.scripts, "select disk 1\nselect partition 1\nassign letter=Y\n--\n"
                                     "select disk 1\nselect partition 1\nremove letter=Y\n--\n");

        /* bcdedit fails: the letter is removed all the same, and the error is bcdedit's */
        fk.n_cmd = 0;
        fk.scripts[0] = '\0';
        fk.bcdedit_code = 1;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "'bcdedit /store Y:\\EFI\\Microsoft\\Boot\\BCD /default {" PLEX_ENTRY "}' failed with exit code 1"),
                  "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 3);
        cr_assert_str_eq(fk.scripts, "select disk 1\nselect partition 1\nassign letter=Y\n--\n"
                                     "select disk 1\nselect partition 1\nremove letter=Y\n--\n");

        /* the assignment fails: nothing is run on the store, the removal is tried */
        fk.n_cmd = 0;
        fk.scripts[0] = '\0';
        fk.bcdedit_code = 0;
        fk.exit_code = 2;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_EIO);
        cr_assert(strstr(err.msg, "failed with exit code 2"), "%s", err.msg);
        cr_assert(strstr(err.msg, "; then, cleaning up, "), "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 2, "%d: %s | %s | %s", fk.n_cmd, fk.cmdlines[0], fk.cmdlines[1], err.msg);
        cr_assert(!strstr(fk.cmdlines[0], "bcdedit") && !strstr(fk.cmdlines[1], "bcdedit"));

        /* the ESP has a letter already (an administrator's): used as it is,
         * neither assigned nor removed */
        fk.n_cmd = 0;
        fk.scripts[0] = '\0';
        fk.exit_code = 0;
        fk.letter_of_vol3 = 'P';
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 1);
        cr_assert(strstr(fk.cmdlines[0], "bcdedit.exe\" /store P:\\EFI\\Microsoft\\Boot\\BCD /default {" PLEX_ENTRY "}"),
                  "%s", fk.cmdlines[0]);
        cr_assert_str_eq(fk.scripts, "");
        fk.letter_of_vol3 = 0;

        /* no free letter: nothing runs */
        fk.n_cmd = 0;
        fk.exit_code = 0;
        fk.used_letters = "DEFGHIJKLMNOPQRSTUVWXYZ";
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "no free drive letter to give disk 1's efi partition"), "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0);
}

Test(windows_exec, empty_object_resolved_from_the_store_as_it_is_when_the_op_runs)
{
        mb_win_target t = target();
        mb_op op = store_op(MB_OP_BCD_SET_DEFAULT, 1, MB_ROLE_OS, "");
        char path[64];
        blob without;
        mb_error err;

        /* disk 1's store before the loader of its plex is there */
        two_esps();
        seed_store(path, sizeof(path), false);
        without = file_bytes(path);
        unlink(path);
        fs_put(ESP1 BOOT "BCD", false, without.data, without.len);
        free(without.data);
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "has no OS loader whose device and osdevice are the os partition of disk 1"),
                  "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0, "nothing runs, no letter is assigned");
        /* the plex entry's check looks in the store the op names */
        {
                mb_op check = store_op(MB_OP_BCD_CREATE_LOADER, 1, MB_ROLE_OS, "");

                snprintf(check.description, sizeof(check.description), "Windows Server - secondary plex");
                cr_assert_eq(mb_win_execute(&t, &check, NULL, &err), MB_ESTATE);
                cr_assert(strstr(err.msg, "boot entry \"Windows Server - secondary plex\": the BCD store on disk 1's ESP "
                                          "has no OS loader whose device and osdevice are the os plex on disk 1"),
                          "%s", err.msg);
                check.esp_store = false;        /* the system store has it */
                cr_assert_eq(mb_win_execute(&t, &check, NULL, &err), 0, "%s", err.msg);
                cr_assert_eq(fk.n_cmd, 0);
        }

        /* once it is there (made by an earlier op of the same apply), the
         * same op finds it by what it boots */
        {
                blob with = rewritten_store(rg.live, false);

                fs_put(ESP1 BOOT "BCD", false, with.data, with.len);
                free(with.data);
        }
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(strstr(fk.cmdlines[1], "/store Z:\\EFI\\Microsoft\\Boot\\BCD /default {" PLEX_ENTRY "}"),
                  "%s", fk.cmdlines[1]);
}

Test(windows_exec, winre_pointed_at_the_recovery_partition_of_the_stores_disk)
{
        mb_win_target t = target();
        mb_op op = store_op(MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_RECOVERY, "");
        mb_error err;

        int loads;

        two_esps();
        loads = rg.n_app;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 7);
        cr_assert(strstr(fk.cmdlines[2], "bcdedit.exe\" /store Z:\\EFI\\Microsoft\\Boot\\BCD /set " WINRE
                                         " device ramdisk=[Y:]\\Recovery\\WindowsRE\\Winre.wim," RAMDISK_OPTS),
                  "%s", fk.cmdlines[2]);
        cr_assert(strstr(fk.cmdlines[3], "/store Z:\\EFI\\Microsoft\\Boot\\BCD /set " WINRE
                                         " osdevice ramdisk=[Y:]\\Recovery\\WindowsRE\\Winre.wim," RAMDISK_OPTS),
                  "%s", fk.cmdlines[3]);
        cr_assert(strstr(fk.cmdlines[4], "/store Z:\\EFI\\Microsoft\\Boot\\BCD /set " RAMDISK_OPTS
                                         " ramdisksdidevice partition=Y:"),
                  "%s", fk.cmdlines[4]);
        cr_assert_str_eq(fk.scripts, "select disk 1\nselect partition 1\nassign letter=Z\n--\n"
                                     "select disk 1\nselect partition 4\nassign letter=Y\n--\n"
                                     "select disk 1\nselect partition 4\nremove letter=Y\n--\n"
                                     "select disk 1\nselect partition 1\nremove letter=Z\n--\n");
        /* the options id was read from disk 1's store itself (a second load) */
        cr_assert_eq(rg.n_app - loads, 2, "the facts read and the options read");
        cr_assert_str_eq(rg.app_path[(rg.n_app - 1) & 3], ESP1 BOOT "BCD");
        cr_assert_eq(rg.n_open, rg.n_close);

        /* the WinRE loader's device is no ramdisk: refused before anything runs */
        {
                char tmp[64] = "/tmp/mbstate-test-bcd4.XXXXXX";
                blob b = file_blob(ESP1 BOOT "BCD");
                mb_guid winre = G(MB_BCD_SEED_WINRE_GUID);
                mb_bcd_device dev;
                mb_bcd *h;
                int fd = mkstemp(tmp);

                cr_assert_eq(write(fd, b.data, b.len), (ssize_t)b.len);
                close(fd);
                free(b.data);
                memset(&dev, 0, sizeof(dev));
                dev.kind = MB_BCD_DEV_PARTITION;
                dev.disk_guid = G(DISK1_GUID);
                dev.partition_guid = G(REC1_GUID);
                cr_assert_eq(mb_bcd_open(tmp, 1, &h, &err), 0, "%s", err.msg);
                cr_assert_eq(mb_bcd_set_device(h, &winre, MB_BCDE_DEVICE, &dev, &err), 0, "%s", err.msg);
                cr_assert_eq(mb_bcd_commit(h, &err), 0, "%s", err.msg);
                mb_bcd_close(h);
                b = file_bytes(tmp);
                unlink(tmp);
                fs_put(ESP1 BOOT "BCD", false, b.data, b.len);
                free(b.data);
        }
        fk.n_cmd = 0;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "the Windows RE loader " WINRE " in the store on disk 1's ESP has no ramdisk device"),
                  "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0);
}

Test(windows_exec, sync_files_keeps_the_targets_own_store)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_SYNC_FILES, .disk = 1, .disk2 = 0, .role = MB_ROLE_EFI,
                     .keep_store = true };
        blob own;
        char *text = NULL;
        mb_facts *f;
        mb_error err;

        two_esps();
        own = file_blob(ESP1 BOOT "BCD");
        fs_text(ESP0 BOOT "new.efi", "a file only disk 0 has");
        f = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_windows_render_op(f, &op, &text, &err), 0, "%s", err.msg);
        cr_assert_str_eq(text, "copy tree " ESP0 "\\ -> " ESP1 "\\ (copy every file, delete files the source does not have; "
                               "except \\EFI\\Microsoft\\Boot\\BCD and its BCD.LOG* files: disk 1 keeps its own store)\n");
        free(text);
        mb_facts_free(f);
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0, "no export");
        cr_assert(blob_is(ESP1 BOOT "BCD", &own), "disk 1's store is left as it was");
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD.LOG1"), "other log");
        cr_assert_str_eq(fs_content(ESP1 BOOT "new.efi"), "a file only disk 0 has");
        free(own.data);

        /* a BCD that is no readable store is no store of its own: the export replaces it */
        fs_text(ESP1 BOOT "BCD", "not a hive");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(strstr(fk.cmdlines[(fk.n_cmd - 1) & 7], "bcdedit.exe\" /export \"" ESP1 BOOT "BCD.mbstate\""),
                  "%s", fk.cmdlines[(fk.n_cmd - 1) & 7]);
        cr_assert_str_eq(fs_content(ESP1 BOOT "BCD"), "exported by bcdedit");
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

/* ---- (g) the LDM database is read unbuffered too ---- */

Test(windef, ldm_reads_are_unbuffered_and_aligned)
{
        mb_win32 w = wd_table();
        char group[65];
        mb_facts *f = NULL;
        mb_error err;

        mirrored_machine(group);
        cr_assert_eq(mb_win_read_facts_opts(&w, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(f->n_volumes, 1);
        cr_assert_eq(f->volumes[0].n_plexes, 2);
        cr_assert_gt(wd.raw_transfers, 0);
        cr_assert_eq(wd.misaligned, 0, "%d LDM reads Windows would refuse", wd.misaligned);
        cr_assert_eq(wd.n_alloc, wd.n_free);
        mb_facts_free(f);
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

/* ---- BCD: the secondary plex's loader entry is Windows' own (defect 3(f)) ----
 *
 * Windows adds "<loader> - secondary plex" when it mirrors the boot volume
 * (seed transcript), with device and osdevice on the plex's disk. Nothing
 * bcdedit can run makes that entry (both plexes are the volume C:), so the
 * windows target checks for it and never runs `bcdedit /copy {default}`,
 * whose copy boots from disk 0 under a name that says disk 1.
 */

static mb_op plex_loader_op(void)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_BCD_CREATE_LOADER;
        op.disk = 1;
        op.role = MB_ROLE_OS;
        snprintf(op.description, sizeof(op.description), "Windows Server - secondary plex");
        return op;
}

Test(windows_plex_entry, rendered_as_a_check_not_a_copy)
{
        mb_facts *f = seed_facts("disk1_layout_seed.hex");
        mb_op op = plex_loader_op();
        char *t = render(f, &op);

        cr_assert(strncmp(t, "check: an OS loader whose device and osdevice are the os plex on disk 1", 71) == 0,
                  "%s", t);
        cr_assert_null(strstr(t, "\nbcdedit"), "%s", t);
        cr_assert(strncmp(t, "bcdedit", 7) != 0, "%s", t);
        free(t);
        mb_facts_free(f);
}

Test(windows_plex_entry, present_when_windows_made_it)
{
        mb_win_target t = target();
        mb_op op = plex_loader_op();
        mb_error err;

        seed_machine("disk1_layout_seed.hex");     /* its store has the plex's entry */
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0, "nothing is run: %s", fk.cmdlines[0]);
        cr_assert_eq(fk.n_sent, 0);
}

Test(windows_plex_entry, absent_is_an_error_and_nothing_is_made)
{
        mb_win_target t = target();
        mb_op op = plex_loader_op();
        mb_error err;

        seed_machine("disk1_layout_seed.hex");
        unlink(rg.live);
        seed_store(rg.live, sizeof(rg.live), false);    /* the mirror is there, the entry is not */
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "no OS loader whose device and osdevice are the os plex on disk 1 (partition " OS1_GUID ")") &&
                  strstr(err.msg, "does not fake it"), "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 0, "nothing is run: %s", fk.cmdlines[0]);
}

/* What `bcdedit /copy {default} /d "Windows Server - secondary plex"` left
 * behind: the plex entry's name on a copy that boots from disk 0. It is
 * not taken for the plex's entry, and not "repaired" with bcdedit either. */
Test(windows_plex_entry, a_copy_of_default_is_not_the_plex_entry)
{
        mb_guid loader = G(MB_BCD_SEED_LOADER_GUID), id = G("063973c6-d0ac-11ed-b884-cfa59b967f58");
        mb_win_target t = target();
        mb_bcd_object_fact *o;
        mb_facts *f;
        mb_bcd *b;
        mb_op op;
        mb_error err;
        char *text;

        seed_machine("disk1_layout_seed.hex");
        unlink(rg.live);
        seed_store(rg.live, sizeof(rg.live), false);
        cr_assert_eq(mb_bcd_open(rg.live, 1, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_copy_object(b, &loader, &id, "Windows Server - secondary plex", &err), 0);
        cr_assert_eq(mb_bcd_commit(b, &err), 0, "%s", err.msg);
        mb_bcd_close(b);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        o = mb_facts_bcd_by_description(f, "os-loader", "Windows Server - secondary plex");
        cr_assert_not_null(o);
        cr_assert_str_eq(o->device->disk, DISK0_GUID);  /* claims disk 1, boots disk 0 */
        cr_assert_lt(mb_win_check_plex_entry(f, &(mb_op){ .disk = 1, .description = "x" }, &err), 0);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_BCD_SET_DEVICE;
        op.disk = 1;
        op.role = MB_ROLE_OS;
        snprintf(op.object, sizeof(op.object), "%s", o->id);
        snprintf(op.description, sizeof(op.description), "Windows Server - secondary plex");
        text = render(f, &op);
        cr_assert(strstr(text, "check: {063973c6-d0ac-11ed-b884-cfa59b967f58} \"Windows Server - secondary plex\" boots from " OS0_GUID ", not from the os plex on disk 1"),
                  "%s", text);
        cr_assert(strstr(text, "bcdedit /delete {063973c6-d0ac-11ed-b884-cfa59b967f58}"), "%s", text);
        cr_assert_null(strstr(text, "\nbcdedit"), "%s", text);
        free(text);
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert_eq(fk.n_cmd, 0, "nothing is run: %s", fk.cmdlines[0]);
        mb_facts_free(f);
}

/* ---- bcdedit only for changes, only by its absolute path (defect 3(b)) ---- */

Test(windows_bcdedit, facts_run_nothing_and_changes_run_system32_bcdedit)
{
        mb_win_target t = target();
        mb_op op;
        mb_facts *f;
        mb_error err;

        two_esps();
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        mb_facts_free(f);
        cr_assert_eq(fk.n_cmd, 0, "facts started %s", fk.cmdlines[0]);

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_BCD_COPY_BOOTMGR;
        op.disk = 1;
        op.role = MB_ROLE_EFI;
        snprintf(op.description, sizeof(op.description), "Windows Boot Manager Cloned");
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_cmd, 2);
        cr_assert_str_eq(fk.cmdlines[0], "\"C:\\Windows\\System32\\bcdedit.exe\" /copy {bootmgr} /d \"Windows Boot Manager Cloned\"");
        cr_assert_str_eq(fk.cmdlines[1], "\"C:\\Windows\\System32\\bcdedit.exe\" /set {063973c5-d0ac-11ed-b884-cfa59b967f58} device partition=\\Device\\HarddiskVolume5");
}

/* ---- a store Windows wrote, through the registry functions ----
 *
 * BCD-NEW (shared test data) is an empty store made by Windows: as the live
 * store and as another ESP's store it reads as no objects, and both give
 * the digest of no objects. Skipped when the shared data is absent. */
Test(windows_bcd_registry, windows_written_empty_store)
{
        char path[1024];
        const char *dir = getenv("MB_TESTDATA");
        mb_bcd_object *objs = (mb_bcd_object *)1;
        size_t n = 99;
        uint64_t size;
        char empty[65], hex[65];
        DWORD load = 0;
        blob b;
        FILE *in, *out;
        mb_error err;

        snprintf(path, sizeof(path), "%s/bcd/BCD-NEW",
                 dir ? dir : MB_TEST_DATA "/../../../../shared/testdata");
        if (access(path, R_OK) != 0)
                cr_skip_test("%s not found (set MB_TESTDATA to the shared testdata folder)", path);
        two_esps();
        in = fopen(path, "rb");
        out = fopen(rg.live, "wb");
        cr_assert(in && out);
        b.data = malloc(1 << 16);
        b.len = fread(b.data, 1, 1 << 16, in);
        cr_assert_eq(fwrite(b.data, 1, b.len, out), b.len);
        fclose(in);
        fclose(out);
        cr_assert_eq(mb_win_bcd_read_live(&fake_table, &objs, &n, &err), 0, "%s", err.msg);
        cr_assert_eq(n, 0);
        cr_assert_eq(mb_bcd_objects_digest(objs, n, &size, empty, &err), 0);
        mb_bcd_objects_free(objs, n);
        fs_put(ESP1 BOOT "BCD", false, b.data, b.len);
        free(b.data);
        cr_assert_eq(mb_win_bcd_read_file(&fake_table, ESP1 BOOT "BCD", &objs, &n, &load, &err), 0,
                     "%s", err.msg);
        cr_assert_eq(n, 0);
        cr_assert_eq(mb_bcd_objects_digest(objs, n, &size, hex, &err), 0);
        cr_assert_str_eq(hex, empty);
        mb_bcd_objects_free(objs, n);
        cr_assert_eq(rg.n_open, rg.n_close);
}

/* ---- recordings of the Win32 calls, and their replay ---- */

#include <unistd.h>

#include "platform/windows/win32_record.h"

typedef struct tmp_name {
        char s[256];
} tmp_name;

static tmp_name rec_tmp(const char *name)
{
        tmp_name t;

        snprintf(t.s, sizeof(t.s), "/tmp/mbstate-test-rec-%d-%s", (int)getpid(), name);
        return t;
}

static char *file_text(const char *path)
{
        FILE *f = fopen(path, "rb");
        char *s;
        long n;

        cr_assert_not_null(f, "%s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        s = calloc(1, (size_t)n + 1);
        cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        return s;
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "wb");

        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
}

/* The facts as `mbstate facts` prints them. */
static char *facts_text(const mb_facts *f)
{
        tmp_name tmp = rec_tmp("facts.yaml");
        const char *path = tmp.s;
        mb_error err = { 0 };
        char *s;

        cr_assert_eq(mb_facts_save(f, path, false, &err), 0, "%s", err.msg);
        s = file_text(path);
        unlink(path);
        return s;
}

/* Opens the windows target over rec as `mbstate facts` does (preflight
 * included), reads facts, writes the recording (record_path), closes. */
static mb_facts *read_through(mb_win_rec *rec, const char *record_path)
{
        mb_platform *p = NULL;
        mb_facts *f = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_win_platform_open_rec(rec, record_path, &p, &err), 0, "%s", err.msg);
        cr_assert_eq(p->ops->read_facts(p, &f, &err), 0, "%s", err.msg);
        if (p->ops->finish)
                cr_assert_eq(p->ops->finish(p, &err), 0, "%s", err.msg);
        p->ops->close(p);
        return f;
}

/* Facts read through a recording of the fake machine, written to path. */
static mb_facts *record_facts(const char *path, bool content_hash)
{
        mb_win_rec_info info = { .content_hash = content_hash };
        mb_win_rec *rec = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_win_rec_record(&fake_table, &info, &rec, &err), 0, "%s", err.msg);
        return read_through(rec, path);
}

/* The replay target's facts from path; NULL with *ret_err on failure. */
static mb_facts *replay_facts(const char *path, mb_error *ret_err)
{
        mb_platform *p = NULL;
        mb_facts *f = NULL;
        int r;

        mb_error_clear(ret_err);
        r = mb_platform_open_replay(path, &p, ret_err);
        if (r == 0) {
                cr_assert_str_eq(p->ops->name, "replay");
                cr_assert_null(p->ops->handlers, "a replay cannot change anything");
                r = p->ops->read_facts(p, &f, ret_err);
                p->ops->close(p);
        }
        return r == 0 ? f : NULL;
}

/* Records the replay of from into to; the replay must be used up. */
static mb_facts *rerecord(const char *from, const char *to, bool content_hash)
{
        mb_win_rec_info info = { .content_hash = content_hash };
        mb_win_rec *inner = NULL, *outer = NULL;
        mb_error err = { 0 };
        mb_facts *f;

        cr_assert_eq(mb_win_rec_replay(from, &inner, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_win_rec_record(mb_win_rec_table(inner), &info, &outer, &err), 0, "%s", err.msg);
        f = read_through(outer, to);
        cr_assert_eq(mb_win_rec_status(inner, true, &err), 0, "%s", err.msg);
        mb_win_rec_free(inner);
        return f;
}

/* The whole round trip on the fake machine as it stands: the recording's
 * facts, its replay's and its re-recording's are the direct read's, and
 * the re-recording is the recording byte for byte. Returns the recording. */
static char *round_trip(bool content_hash)
{
        mb_win_read_opts o = { .no_content_hash = !content_hash };
        tmp_name t1 = rec_tmp("a.txt"), t2 = rec_tmp("b.txt");
        const char *path = t1.s, *again = t2.s;
        mb_facts *direct = NULL, *f;
        mb_error err = { 0 };
        char *want, *got, *rec, *rec2;

        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &o, &direct, &err), 0, "%s", err.msg);
        want = facts_text(direct);
        mb_facts_free(direct);

        f = record_facts(path, content_hash);
        got = facts_text(f);
        cr_assert_str_eq(got, want, "facts read while recording");
        free(got);
        mb_facts_free(f);

        f = replay_facts(path, &err);
        cr_assert_not_null(f, "%s", err.msg);
        got = facts_text(f);
        cr_assert_str_eq(got, want, "facts replayed");
        free(got);
        mb_facts_free(f);

        f = rerecord(path, again, content_hash);
        got = facts_text(f);
        cr_assert_str_eq(got, want, "facts replayed while recording");
        free(got);
        mb_facts_free(f);
        rec = file_text(path);
        rec2 = file_text(again);
        cr_assert_str_eq(rec2, rec, "the recording of the replay is the recording");
        free(rec2);
        free(want);
        unlink(path);
        unlink(again);
        return rec;
}

/* The seed machine from the seed buffers; the committed recording
 * (tests/data/windows/seed-recording.txt, used by tests/e2e/replay.sh) is
 * exactly what recording it gives (MB_WRITE_SEED_RECORDING=1 rewrites it). */
Test(windows_record, seed_round_trip_byte_for_byte)
{
        char *rec, *committed;

        seed_machine("disk1_layout_raw.hex");
        rec = round_trip(false);
        cr_assert(strncmp(rec, "mbstate win32 recording, version 1\ncontent-hash: no\n", 52) == 0);
        cr_assert(strstr(rec, "call 1 GetCurrentProcess\n"), "the preflight is recorded");
        cr_assert(strstr(rec, "> name \"\\\\.\\PhysicalDrive0\"\n"));
        cr_assert(strstr(rec, " RegOpenKeyExW\n"), "the BCD store is read from the registry");
        cr_assert_null(strstr(rec, "CreateProcessW"), "reading facts starts no program");
        if (getenv("MB_WRITE_SEED_RECORDING"))  /* regenerates it, after a change of format */
                write_text(MB_TEST_DATA "/seed-recording.txt", rec);
        committed = file_text(MB_TEST_DATA "/seed-recording.txt");
        cr_assert(strcmp(rec, committed) == 0,
                  "tests/data/windows/seed-recording.txt is not what recording the seed buffers gives");
        free(committed);
        free(rec);
}

/* A mirrored machine: the LDM database read raw and VDS's answers through
 * the COM proxies (a plex being rebuilt) come back the same. */
Test(windows_record, mirrored_machine_with_vds)
{
        char group[65], *rec;
        mb_facts *f;
        mb_error err = { 0 };
        tmp_name tmp = rec_tmp("vds.txt");
        const char *path = tmp.s;

        mirrored_machine(group);
        fk.vds_plex[1].health = MB_VDS_H_REBUILDING;
        rec = round_trip(false);
        cr_assert(strstr(rec, "IVdsVolumePlex::GetProperties\n"));
        cr_assert(strstr(rec, "IVdsDisk::GetProperties\n"));
        cr_assert(strstr(rec, "< name \"\\\\?\\PhysicalDrive1\"\n"));
        cr_assert_eq(fk.com_refs, 0, "every reference the recording took was released");
        cr_assert_eq(fk.n_mem_freed, fk.n_mem_alloc);
        write_text(path, rec);
        f = replay_facts(path, &err);
        cr_assert_not_null(f, "%s", err.msg);
        cr_assert_eq(f->n_volumes, 1);
        cr_assert_eq(f->volumes[0].plexes[1].state, MB_PLEX_RESYNCING);
        cr_assert_eq(f->volumes[0].plexes[0].state, MB_PLEX_HEALTHY);
        mb_facts_free(f);
        unlink(path);
        free(rec);
}

/* Recovery partitions hashed: their bytes are in the recording (zero runs
 * written short) and the replay hashes them again. */
Test(windows_record, content_hash_bytes)
{
        size_t len = 2 * MiB + 512;
        uint8_t *content = malloc(len);
        char want[65], *rec;
        tmp_name tmp = rec_tmp("hash.txt");
        const char *path = tmp.s;
        mb_facts *f;
        mb_error err = { 0 };

        seed_machine("disk1_layout_seed.hex");
        small_recovery(content, len);
        mb_sha256_hex(content, len, want);
        rec = round_trip(true);
        cr_assert(strstr(rec, "content-hash: yes\n"));
        write_text(path, rec);
        f = replay_facts(path, &err);
        cr_assert_not_null(f, "%s", err.msg);
        cr_assert_str_eq(mb_disk_part_by_role(mb_facts_disk(f, 1), MB_ROLE_RECOVERY)->content_sha256, want);
        mb_facts_free(f);
        unlink(path);
        free(rec);
        free(content);
}

/* Replaces the first occurrence of from in text (which must hold it). */
static char *edit(const char *text, const char *from, const char *to)
{
        const char *at = strstr(text, from);
        char *out;

        cr_assert_not_null(at, "%s not in the recording", from);
        out = malloc(strlen(text) + strlen(to) + 1);
        sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
        return out;
}

static void replay_fails(const char *text, const char *want1, const char *want2)
{
        tmp_name tmp = rec_tmp("bad.txt");
        const char *path = tmp.s;
        mb_error err = { 0 };
        mb_facts *f;

        write_text(path, text);
        f = replay_facts(path, &err);
        cr_assert_null(f, "the replay must fail");
        cr_assert(strstr(err.msg, want1), "'%s' not in: %s", want1, err.msg);
        if (want2)
                cr_assert(strstr(err.msg, want2), "'%s' not in: %s", want2, err.msg);
        unlink(path);
}

/* A replay never answers a call the recording does not have as the next
 * one with the same arguments: it fails naming the call and its place. */
Test(windows_record, mismatch_is_a_clear_error)
{
        char *rec, *bad;

        seed_machine("disk1_layout_raw.hex");
        rec = file_text(MB_TEST_DATA "/seed-recording.txt");

        /* another argument */
        bad = edit(rec, "> name \"\\\\.\\PhysicalDrive1\"", "> name \"\\\\.\\PhysicalDrive7\"");
        replay_fails(bad, "CreateFileW (line ", "argument name is \"\\\\.\\PhysicalDrive1\" here, \"\\\\.\\PhysicalDrive7\" in the recording");
        free(bad);
        /* another call */
        bad = edit(rec, "call 2 OpenProcessToken", "call 2 OpenThreadToken");
        replay_fails(bad, "call 2 (line ", "the target asks for OpenProcessToken, the recording has OpenThreadToken");
        free(bad);
        /* the recording ends early */
        bad = strdup(rec);
        *strstr(bad, "call 12 ") = '\0';
        replay_fails(bad, "call 12: the target asks for", "the recording ends after call 11");
        free(bad);
        /* calls left over */
        bad = malloc(strlen(rec) + 128);
        {
                unsigned last = 0;
                const char *p = rec;

                while ((p = strstr(p, "\ncall ")))
                        last = (unsigned)strtoul(p++ + 6, NULL, 10);
                sprintf(bad, "%scall %u Sleep\n> ms 1\n< error 0\n", rec, last + 1);
                replay_fails(bad, "the recording has 1 more from call", "Sleep");
        }
        free(bad);
        /* not a recording, or a newer one: named by file and line */
        replay_fails("facts:\n", "not an mbstate win32 recording", NULL);
        replay_fails("mbstate win32 recording, version 2\n", "unsupported recording version", NULL);
        bad = edit(rec, "call 3 ", "call 4 ");
        replay_fails(bad, "expected 'call 3 NAME'", NULL);
        free(bad);
        free(rec);
}

/* A member added to mb_win32 without its wrapper in win32_record.c
 * (rec_fill_table) would be a NULL in the recording table. */
Test(windows_record, every_table_member_is_recorded)
{
        mb_win_rec *rec = NULL;
        mb_error err = { 0 };
        const mb_win32 *t;

        cr_assert_eq(mb_win_rec_record(&fake_table, NULL, &rec, &err), 0, "%s", err.msg);
        t = mb_win_rec_table(rec);
        cr_assert_eq(sizeof(*t) % sizeof(void (*)(void)), 0);
        for (size_t i = 0; i < sizeof(*t) / sizeof(void (*)(void)); i++) {
                void (*fn)(void);

                memcpy(&fn, (const char *)t + i * sizeof(fn), sizeof(fn));
                cr_assert(fn != NULL, "member %zu of mb_win32 has no wrapper in win32_record.c", i);
        }
        mb_win_rec_free(rec);
}

/* The registry reads, GetTempPath2W, SetErrorMode, file attributes and
 * VirtualAlloc/VirtualFree, which the facts read of this version does not
 * call yet: a small fake answers them, a fixed sequence of calls goes
 * through a recording, its replay and a recording of the replay. */
#define HKEY_BCD ((HKEY)(uintptr_t)0x500)
#define HKEY_APP ((HKEY)(uintptr_t)0x600)
#define ERROR_NO_MORE_ITEMS_ 259

static LONG WINAPI g_RegOpenKeyExW(HKEY k, LPCWSTR sub, DWORD o, REGSAM sam, PHKEY ret)
{
        (void)k; (void)o; (void)sam;
        cr_assert_str_eq(utf8(sub), "BCD00000000\\Objects");
        *ret = HKEY_BCD;
        return 0;
}

static LONG WINAPI g_RegEnumKeyExW(HKEY k, DWORD i, LPWSTR name, LPDWORD len, LPDWORD res, LPWSTR cls,
                                   LPDWORD cls_len, PFILETIME ft)
{
        (void)k; (void)res; (void)cls; (void)cls_len;
        if (i > 0)
                return ERROR_NO_MORE_ITEMS_;
        put_w(name, *len, "{9dea862c-5cdd-4e70-acc1-f32b344d4795}");
        *len = 38;
        if (ft) {
                ft->dwLowDateTime = 0x11111111;
                ft->dwHighDateTime = 0x01d9c000;
        }
        return 0;
}

static LONG WINAPI g_RegQueryValueExW(HKEY k, LPCWSTR v, LPDWORD res, LPDWORD type, LPBYTE data,
                                      LPDWORD len)
{
        static const uint8_t element[4] = { 0x02, 0x00, 0x00, 0x10 };

        (void)k; (void)v; (void)res;
        if (type)
                *type = 3;      /* REG_BINARY */
        if (!data || *len < sizeof(element)) {
                *len = sizeof(element);
                return data ? ERROR_MORE_DATA : 0;
        }
        memcpy(data, element, sizeof(element));
        *len = sizeof(element);
        return 0;
}

static LONG WINAPI g_RegEnumValueW(HKEY k, DWORD i, LPWSTR name, LPDWORD name_len, LPDWORD res,
                                   LPDWORD type, LPBYTE data, LPDWORD len)
{
        (void)k; (void)res;
        if (i > 0)
                return ERROR_NO_MORE_ITEMS_;
        put_w(name, *name_len, "Element");
        *name_len = 7;
        if (type)
                *type = 1;      /* REG_SZ */
        if (data && *len >= 6)
                memcpy(data, "A\0B\0\0\0", 6);
        *len = 6;
        return 0;
}

static LONG WINAPI g_RegCloseKey(HKEY k) { return k == HKEY_BCD || k == HKEY_APP ? 0 : 6; }

static LONG WINAPI g_RegLoadAppKeyW(LPCWSTR file, PHKEY ret, REGSAM sam, DWORD o, DWORD res)
{
        (void)sam; (void)o; (void)res;
        if (strstr(utf8(file), "missing")) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return ERROR_FILE_NOT_FOUND;
        }
        *ret = HKEY_APP;
        return 0;
}

static DWORD WINAPI g_GetTempPath2W(DWORD len, LPWSTR buf)
{
        put_w(buf, len, "C:\\Windows\\SystemTemp\\");
        return 22;
}

static UINT WINAPI g_SetErrorMode(UINT mode) { (void)mode; return 0; }
static DWORD WINAPI g_GetFileAttributesW(LPCWSTR p) { (void)p; return 0x23; /* read-only, hidden, archive */ }
static BOOL WINAPI g_SetFileAttributesW(LPCWSTR p, DWORD a) { (void)p; return a == 0x80; }

static LPVOID WINAPI g_VirtualAlloc(LPVOID a, SIZE_T size, DWORD type, DWORD prot)
{
        (void)a; (void)type; (void)prot;
        return calloc(1, size);
}

static BOOL WINAPI g_VirtualFree(LPVOID a, SIZE_T size, DWORD type)
{
        (void)size; (void)type;
        free(a);
        return TRUE;
}

/* The calls, and what they answered as text. */
static void new_members(const mb_win32 *w, char *log, size_t cap)
{
        WCHAR name[64], *sub = mb_w_from_utf8("BCD00000000\\Objects"), *val = mb_w_from_utf8("Element");
        WCHAR *file = mb_w_from_utf8("\\\\?\\Volume{1d3e1c2b-0001-4a1b-9c2d-3e4f5a6b7c11}\\EFI\\Microsoft\\Boot\\BCD");
        WCHAR *missing = mb_w_from_utf8("C:\\missing");
        DWORD len, type = 0, nlen;
        uint8_t data[16];
        FILETIME ft = { 0, 0 };
        HKEY k = NULL, app = NULL;
        LONG r;
        uint8_t *mem;
        size_t o = 0;

#define LOG(...) (o += (size_t)snprintf(log + o, cap - o, __VA_ARGS__))
        r = w->RegOpenKeyExW(HKEY_LOCAL_MACHINE, sub, 0, 0x20019, &k);
        LOG("open %ld %d;", (long)r, k == NULL);
        len = 64;
        r = w->RegEnumKeyExW(k, 0, name, &len, NULL, NULL, NULL, &ft);
        LOG("enum %ld %s %lu %lx;", (long)r, utf8(name), (unsigned long)len, (unsigned long)ft.dwHighDateTime);
        len = 64;
        r = w->RegEnumKeyExW(k, 1, name, &len, NULL, NULL, NULL, NULL);
        LOG("enum %ld;", (long)r);
        len = 0;
        r = w->RegQueryValueExW(k, val, NULL, &type, NULL, &len);
        LOG("size %ld %lu %lu;", (long)r, (unsigned long)type, (unsigned long)len);
        len = 2;
        r = w->RegQueryValueExW(k, val, NULL, &type, data, &len);
        LOG("short %ld %lu;", (long)r, (unsigned long)len);
        len = sizeof(data);
        r = w->RegQueryValueExW(k, val, NULL, &type, data, &len);
        LOG("value %ld %02x%02x%02x%02x;", (long)r, data[0], data[1], data[2], data[3]);
        nlen = 64;
        len = sizeof(data);
        r = w->RegEnumValueW(k, 0, name, &nlen, NULL, &type, data, &len);
        LOG("value0 %ld %s %lu %lu;", (long)r, utf8(name), (unsigned long)type, (unsigned long)len);
        LOG("close %ld;", (long)w->RegCloseKey(k));
        r = w->RegLoadAppKeyW(file, &app, 0x20019, 0, 0);
        LOG("app %ld %d;", (long)r, app == HKEY_APP || app != NULL);
        LOG("close %ld;", (long)w->RegCloseKey(app));
        r = w->RegLoadAppKeyW(missing, &app, 0x20019, 0, 0);
        LOG("missing %ld %lu;", (long)r, (unsigned long)w->GetLastError());
        LOG("temp %lu %s;", (unsigned long)w->GetTempPath2W(64, name), utf8(name));
        LOG("mode %u;", w->SetErrorMode(0x1));
        LOG("attrs %lx;", (unsigned long)w->GetFileAttributesW(file));
        LOG("set %d %d;", w->SetFileAttributesW(file, 0x80), w->SetFileAttributesW(file, 0x20));
        mem = w->VirtualAlloc(NULL, 8192, 0x3000, 0x04);
        LOG("alloc %d %d;", mem != NULL, mem && mem[8191] == 0);
        if (mem)
                mem[0] = 1;     /* the memory is the process's to use */
        LOG("free %d", w->VirtualFree(mem, 0, 0x8000));
#undef LOG
        free(sub);
        free(val);
        free(file);
        free(missing);
}

Test(windows_record, registry_temp_attributes_memory)
{
        mb_win32 t = fake_table;
        mb_win_rec_info info = { 0 };
        mb_win_rec *rec = NULL, *inner = NULL;
        tmp_name t1 = rec_tmp("new1.txt"), t2 = rec_tmp("new2.txt");
        char direct[1024], recorded[1024], replayed[1024], again[1024];
        char *f1, *f2;
        mb_error err = { 0 };

        seed_machine("disk1_layout_raw.hex");
        t.RegOpenKeyExW = g_RegOpenKeyExW;
        t.RegEnumKeyExW = g_RegEnumKeyExW;
        t.RegQueryValueExW = g_RegQueryValueExW;
        t.RegEnumValueW = g_RegEnumValueW;
        t.RegCloseKey = g_RegCloseKey;
        t.RegLoadAppKeyW = g_RegLoadAppKeyW;
        t.GetTempPath2W = g_GetTempPath2W;
        t.SetErrorMode = g_SetErrorMode;
        t.GetFileAttributesW = g_GetFileAttributesW;
        t.SetFileAttributesW = g_SetFileAttributesW;
        t.VirtualAlloc = g_VirtualAlloc;
        t.VirtualFree = g_VirtualFree;
        new_members(&t, direct, sizeof(direct));

        cr_assert_eq(mb_win_rec_record(&t, &info, &rec, &err), 0, "%s", err.msg);
        new_members(mb_win_rec_table(rec), recorded, sizeof(recorded));
        cr_assert_eq(mb_win_rec_save(rec, t1.s, &err), 0, "%s", err.msg);
        mb_win_rec_free(rec);
        cr_assert_str_eq(recorded, direct);

        cr_assert_eq(mb_win_rec_replay(t1.s, &inner, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_win_rec_record(mb_win_rec_table(inner), &info, &rec, &err), 0, "%s", err.msg);
        new_members(mb_win_rec_table(rec), again, sizeof(again));
        cr_assert_eq(mb_win_rec_save(rec, t2.s, &err), 0, "%s", err.msg);
        mb_win_rec_free(rec);
        cr_assert_eq(mb_win_rec_status(inner, true, &err), 0, "%s", err.msg);
        mb_win_rec_free(inner);
        cr_assert_str_eq(again, direct);
        f1 = file_text(t1.s);
        f2 = file_text(t2.s);
        cr_assert_str_eq(f2, f1);
        cr_assert(strstr(f1, "call 1 RegOpenKeyExW\n> key hkey:0x80000002\n"));
        cr_assert(strstr(f1, "< name \"{9dea862c-5cdd-4e70-acc1-f32b344d4795}\"\n"));
        cr_assert(strstr(f1, "< path \"C:\\Windows\\SystemTemp\\\"\n"));

        /* the replay alone, without a recording on top */
        cr_assert_eq(mb_win_rec_replay(t1.s, &inner, &err), 0, "%s", err.msg);
        new_members(mb_win_rec_table(inner), replayed, sizeof(replayed));
        cr_assert_eq(mb_win_rec_status(inner, true, &err), 0, "%s", err.msg);
        mb_win_rec_free(inner);
        cr_assert_str_eq(replayed, direct);
        unlink(t1.s);
        unlink(t2.s);
        free(f1);
        free(f2);
}

/* A damaged PRIVHEAD copy of disk 1 is a fact; the plan shows what is
 * rewritten; executing it writes that one sector through the table (disk 1
 * alone), from the intact copy, and the facts then have no damage. */
Test(windows_exec, ldm_repair_from_the_intact_copy)
{
        mb_win_target t = target();
        mb_op op = { .kind = MB_OP_LDM_REPAIR, .disk = 1 };
        uint8_t good[512], bad[512], now[512];
        char group[65], *text = NULL;
        mb_facts *f = NULL;
        mb_error err;

        mirrored_machine(group);
        disk_rw(1, (META_FIRST + 1856) * 512, good, 512, false);
        cr_assert_eq(memcmp(good, "PRIVHEAD", 8), 0);
        memcpy(bad, good, 512);
        memcpy(bad, "PRIVHEAX", 8);
        disk_rw(1, (META_FIRST + 1856) * 512, bad, 512, true);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_disk(f, 0)->n_ldm_damage, 0);
        cr_assert_eq(mb_facts_disk(f, 1)->n_ldm_damage, 1);
        cr_assert_str_eq(mb_facts_disk(f, 1)->ldm_damage[0].structure, "PRIVHEAD");
        cr_assert_eq(mb_facts_disk(f, 1)->ldm_damage[0].sector, META_FIRST + 1856);
        cr_assert_eq(mb_windows_render_op(f, &op, &text, &err), 0, "%s", err.msg);
        cr_assert_str_eq(text, "rewrite from the intact copy, raw to \\\\.\\PhysicalDrive1 (inside the LDM metadata partition): PRIVHEAD at sector 208704 (bad magic)\n");
        free(text);
        mb_facts_free(f);
        fk.n_disk_writes[0] = fk.n_disk_writes[1] = 0;
        t.allowed[0] = false;   /* the other member is read, never written */
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_disk_writes[0], 0);
        cr_assert_eq(fk.n_disk_writes[1], 1);
        disk_rw(1, (META_FIRST + 1856) * 512, now, 512, false);
        cr_assert_eq(memcmp(now, good, 512), 0, "the copy is the intact one, byte for byte");
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_disk(f, 1)->n_ldm_damage, 0);
        mb_facts_free(f);
        /* run again (the damage is gone): nothing is written */
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_disk_writes[1], 1);
}

/* ---- boot-chain facts: the boot programs' PE facts and signers ----
 *
 * The crypt32 calls answered, as Microsoft documents them, from what
 * OpenSSL's libcrypto reads of the same PKCS#7 bytes:
 *  - CryptMsgGetParam: with no buffer, the size in *len and TRUE; a buffer
 *    too small, ERROR_MORE_DATA; CMSG_SIGNER_CERT_INFO_PARAM a CERT_INFO of
 *    which only Issuer and SerialNumber are set (the SignerInfo's
 *    IssuerAndSerialNumber), CMSG_CERT_COUNT_PARAM a DWORD, CMSG_CERT_PARAM
 *    the certificate's encoding, CMSG_CONTENT_PARAM the inner content's
 *    encoding (a SpcIndirectDataContent for Authenticode);
 *  - CRYPT_INTEGER_BLOB serial numbers are little-endian (CERT_INFO: "the
 *    least significant byte is the zero byte of pbData");
 *  - CertNameToStrW with CERT_X500_NAME_STR: "KEY=value" per attribute in
 *    the encoded order, X.500 key names of its documentation's table
 *    (CN, C, O, OU, L, S, E, STREET, ...), otherwise "OID.<dotted>";
 *    CERT_NAME_STR_CRLF_FLAG separates RDNs by "\r\n"; returns the number
 *    of characters including the NUL, the size needed when len is 0;
 *  - CryptDecodeObjectEx(SPC_INDIRECT_DATA_CONTENT_STRUCT): the structure
 *    followed by the data its pointers point at, in one caller buffer. */

#define SHIM "/usr/lib/shim/shimx64.efi.signed"
#define ERROR_MORE_DATA_ 234u
#define CRYPT_E_ASN1_BADTAG_ 0x8009310Bu

typedef struct {
        ASN1_OBJECT *type;
        ASN1_TYPE *value;
} T_SPC_ATTR;
typedef struct {
        X509_ALGOR *alg;
        ASN1_OCTET_STRING *digest;
} T_DIGEST_INFO;
typedef struct {
        T_SPC_ATTR *data;
        T_DIGEST_INFO *digest;
} T_SPC_INDIRECT;
ASN1_SEQUENCE(T_SPC_ATTR) = {
        ASN1_SIMPLE(T_SPC_ATTR, type, ASN1_OBJECT),
        ASN1_OPT(T_SPC_ATTR, value, ASN1_ANY),
} ASN1_SEQUENCE_END(T_SPC_ATTR)
ASN1_SEQUENCE(T_DIGEST_INFO) = {
        ASN1_SIMPLE(T_DIGEST_INFO, alg, X509_ALGOR),
        ASN1_SIMPLE(T_DIGEST_INFO, digest, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(T_DIGEST_INFO)
ASN1_SEQUENCE(T_SPC_INDIRECT) = {
        ASN1_SIMPLE(T_SPC_INDIRECT, data, T_SPC_ATTR),
        ASN1_SIMPLE(T_SPC_INDIRECT, digest, T_DIGEST_INFO),
} ASN1_SEQUENCE_END(T_SPC_INDIRECT)
DECLARE_ASN1_FUNCTIONS(T_SPC_INDIRECT)
IMPLEMENT_ASN1_FUNCTIONS(T_SPC_INDIRECT)

static struct {
        unsigned n_open, n_close, n_ctx, n_ctx_free;
} cr;

typedef struct fake_msg {
        PKCS7 *p7;
} fake_msg;

static HCRYPTMSG WINAPI f_CryptMsgOpenToDecode(DWORD encoding, DWORD flags, DWORD type,
                                               HCRYPTPROV_LEGACY prov, PCERT_INFO recipient,
                                               PCMSG_STREAM_INFO stream)
{
        cr_assert_eq(encoding, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING);
        cr_assert(!flags && !type && !prov && !recipient && !stream);
        cr.n_open++;
        return calloc(1, sizeof(fake_msg));
}

static BOOL WINAPI f_CryptMsgUpdate(HCRYPTMSG msg, const BYTE *data, DWORD len, BOOL final)
{
        fake_msg *m = msg;
        const unsigned char *p = data;

        cr_assert(final, "the whole blob in one update");
        if (!(m->p7 = d2i_PKCS7(NULL, &p, len)) || !PKCS7_type_is_signed(m->p7)) {
                fk.last_error = CRYPT_E_ASN1_BADTAG_;
                return FALSE;
        }
        return TRUE;
}

static BOOL WINAPI f_CryptMsgClose(HCRYPTMSG msg)
{
        fake_msg *m = msg;

        PKCS7_free(m->p7);
        free(m);
        cr.n_close++;
        return TRUE;
}

/* Copies src to the caller's buffer by CryptMsgGetParam's size protocol. */
static BOOL give(void *data, DWORD *len, const void *src, DWORD n)
{
        if (!data) {
                *len = n;
                return TRUE;
        }
        if (*len < n) {
                *len = n;
                fk.last_error = ERROR_MORE_DATA_;
                return FALSE;
        }
        memcpy(data, src, n);
        *len = n;
        return TRUE;
}

/* A little-endian copy of an ASN1_INTEGER's magnitude. */
static void serial_le(const ASN1_INTEGER *i, BYTE *out)
{
        for (int k = 0; k < i->length; k++)
                out[k] = i->data[i->length - 1 - k];
}

static BOOL WINAPI f_CryptMsgGetParam(HCRYPTMSG msg, DWORD param, DWORD index, void *data, DWORD *len)
{
        fake_msg *m = msg;
        STACK_OF(X509) *certs = m->p7->d.sign->cert;
        BOOL ok = FALSE;

        if (param == CMSG_CERT_COUNT_PARAM) {
                DWORD n = (DWORD)sk_X509_num(certs);

                return give(data, len, &n, sizeof(n));
        }
        if (param == CMSG_CERT_PARAM) {
                unsigned char *der = NULL;
                int n = i2d_X509(sk_X509_value(certs, (int)index), &der);

                ok = n > 0 && give(data, len, der, (DWORD)n);
                OPENSSL_free(der);
                return ok;
        }
        if (param == CMSG_CONTENT_PARAM) {
                ASN1_TYPE *other = m->p7->d.sign->contents->d.other;

                cr_assert_eq(other->type, V_ASN1_SEQUENCE);
                return give(data, len, other->value.sequence->data, (DWORD)other->value.sequence->length);
        }
        if (param == CMSG_SIGNER_CERT_INFO_PARAM) {
                PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(m->p7), (int)index);
                unsigned char *iss = NULL;
                int ni = i2d_X509_NAME(si->issuer_and_serial->issuer, &iss);
                const ASN1_INTEGER *ser = si->issuer_and_serial->serial;
                DWORD need = (DWORD)(sizeof(CERT_INFO) + (size_t)ni + (size_t)ser->length);
                CERT_INFO *ci = data;

                if (data && *len >= need) {
                        memset(ci, 0, sizeof(*ci));
                        ci->Issuer.pbData = (BYTE *)(ci + 1);
                        ci->Issuer.cbData = (DWORD)ni;
                        memcpy(ci->Issuer.pbData, iss, (size_t)ni);
                        ci->SerialNumber.pbData = ci->Issuer.pbData + ni;
                        ci->SerialNumber.cbData = (DWORD)ser->length;
                        serial_le(ser, ci->SerialNumber.pbData);
                        *len = need;
                        ok = TRUE;
                } else {
                        if (data)
                                fk.last_error = ERROR_MORE_DATA_;
                        ok = !data;
                        *len = need;
                }
                OPENSSL_free(iss);
                return ok;
        }
        cr_assert_fail("CryptMsgGetParam: parameter %lu is not one the target asks for", (unsigned long)param);
        return FALSE;
}

typedef struct fake_cert {
        CERT_CONTEXT ctx;
        CERT_INFO info;
        BYTE data[];
} fake_cert;

static PCCERT_CONTEXT WINAPI f_CertCreateCertificateContext(DWORD encoding, const BYTE *data, DWORD len)
{
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, len);
        unsigned char *sub = NULL, *iss = NULL;
        int ns, ni;
        const ASN1_INTEGER *ser;
        fake_cert *c;

        cr_assert_eq(encoding, X509_ASN_ENCODING);
        if (!x) {
                fk.last_error = CRYPT_E_ASN1_BADTAG_;
                return NULL;
        }
        ns = i2d_X509_NAME(X509_get_subject_name(x), &sub);
        ni = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
        ser = X509_get0_serialNumber(x);
        c = calloc(1, sizeof(*c) + len + (size_t)ns + (size_t)ni + (size_t)ser->length);
        cr_assert_not_null(c);
        c->ctx.dwCertEncodingType = encoding;
        c->ctx.pbCertEncoded = c->data;
        c->ctx.cbCertEncoded = len;
        c->ctx.pCertInfo = &c->info;
        memcpy(c->data, data, len);
        c->info.Subject.pbData = c->data + len;
        c->info.Subject.cbData = (DWORD)ns;
        memcpy(c->info.Subject.pbData, sub, (size_t)ns);
        c->info.Issuer.pbData = c->info.Subject.pbData + ns;
        c->info.Issuer.cbData = (DWORD)ni;
        memcpy(c->info.Issuer.pbData, iss, (size_t)ni);
        c->info.SerialNumber.pbData = c->info.Issuer.pbData + ni;
        c->info.SerialNumber.cbData = (DWORD)ser->length;
        serial_le(ser, c->info.SerialNumber.pbData);
        OPENSSL_free(sub);
        OPENSSL_free(iss);
        X509_free(x);
        cr.n_ctx++;
        return &c->ctx;
}

static BOOL WINAPI f_CertFreeCertificateContext(PCCERT_CONTEXT cert)
{
        free((void *)cert);
        cr.n_ctx_free++;
        return TRUE;
}

static DWORD WINAPI f_CertNameToStrW(DWORD encoding, PCERT_NAME_BLOB name, DWORD type, LPWSTR buf,
                                     DWORD len)
{
        static const struct { int nid; const char *key; } keys[] = {
                { NID_commonName, "CN" }, { NID_countryName, "C" }, { NID_organizationName, "O" },
                { NID_organizationalUnitName, "OU" }, { NID_localityName, "L" },
                { NID_stateOrProvinceName, "S" }, { NID_pkcs9_emailAddress, "E" },
                { NID_streetAddress, "STREET" },
        };
        const unsigned char *p = name->pbData;
        X509_NAME *n = d2i_X509_NAME(NULL, &p, name->cbData);
        char text[4096] = "", obj[128];
        size_t off = 0;
        WCHAR *w;
        DWORD need;

        cr_assert_eq(encoding, X509_ASN_ENCODING);
        cr_assert_eq(type, CERT_X500_NAME_STR | CERT_NAME_STR_CRLF_FLAG | CERT_NAME_STR_NO_QUOTING_FLAG);
        cr_assert_not_null(n);
        for (int i = 0; i < X509_NAME_entry_count(n); i++) {
                X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
                int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
                const char *key = NULL;
                unsigned char *v = NULL;

                for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                        if (keys[k].nid == nid)
                                key = keys[k].key;
                if (!key) {
                        OBJ_obj2txt(obj + 4, sizeof(obj) - 4, X509_NAME_ENTRY_get_object(e), 1);
                        memcpy(obj, "OID.", 4);
                        key = obj;
                }
                cr_assert_geq(ASN1_STRING_to_UTF8(&v, X509_NAME_ENTRY_get_data(e)), 0);
                off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s=%s", i ? "\r\n" : "", key, v);
                OPENSSL_free(v);
        }
        X509_NAME_free(n);
        w = mb_w_from_utf8(text);
        need = (DWORD)mb_w_len(w) + 1;
        if (buf && len) {
                DWORD k = need < len ? need : len;

                memcpy(buf, w, (k - 1) * sizeof(WCHAR));
                buf[k - 1] = 0;
                free(w);
                return k;
        }
        free(w);
        return need;
}

static BOOL WINAPI f_CryptDecodeObjectEx(DWORD encoding, LPCSTR type, const BYTE *data, DWORD len,
                                         DWORD flags, PCRYPT_DECODE_PARA para, void *ret,
                                         DWORD *ret_len)
{
        const unsigned char *p = data;
        T_SPC_INDIRECT *spc;
        char oid[128];
        size_t no, nd;
        DWORD need;
        SPC_INDIRECT_DATA_CONTENT *v = ret;

        cr_assert_eq(encoding, X509_ASN_ENCODING);
        cr_assert(type == SPC_INDIRECT_DATA_CONTENT_STRUCT && !flags && !para);
        if (!(spc = d2i_T_SPC_INDIRECT(NULL, &p, len))) {
                fk.last_error = CRYPT_E_ASN1_BADTAG_;
                return FALSE;
        }
        OBJ_obj2txt(oid, sizeof(oid), spc->digest->alg->algorithm, 1);
        no = strlen(oid) + 1;
        nd = (size_t)spc->digest->digest->length;
        need = (DWORD)(sizeof(*v) + no + nd);
        if (!ret || *ret_len < need) {
                BOOL ok = !ret;

                if (ret)
                        fk.last_error = ERROR_MORE_DATA_;
                *ret_len = need;
                T_SPC_INDIRECT_free(spc);
                return ok;
        }
        memset(v, 0, sizeof(*v));
        v->DigestAlgorithm.pszObjId = (char *)(v + 1);
        memcpy(v->DigestAlgorithm.pszObjId, oid, no);
        v->Digest.pbData = (BYTE *)(v + 1) + no;
        v->Digest.cbData = (DWORD)nd;
        memcpy(v->Digest.pbData, spc->digest->digest->data, nd);
        *ret_len = need;
        T_SPC_INDIRECT_free(spc);
        return TRUE;
}

static blob read_whole(const char *path)
{
        blob b = { 0 };
        FILE *fp = fopen(path, "rb");
        long n;

        cr_assert_not_null(fp, "%s (Debian: shim-signed; scripts/deps.sh installs it)", path);
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        b.data = malloc((size_t)n);
        b.len = (size_t)n;
        cr_assert_eq(fread(b.data, 1, b.len, fp), b.len);
        fclose(fp);
        return b;
}

static mb_sig_fact sig(const char *type, const char *sha256, const char *subject)
{
        mb_sig_fact s = { 0 };

        s.type = strdup(type);
        s.sha256 = sha256 ? strdup(sha256) : NULL;
        s.subject = subject ? strdup(subject) : NULL;
        return s;
}

/* Both ESPs serve Debian shim-signed's shimx64.efi (signed by Microsoft)
 * as their boot manager; the facts of the windows target equal what the
 * image target's reader (engine/format/pe with libcrypto) reads of the
 * same bytes, and the verdict on them applies the Secure Boot rules. */
Test(windows_bootchain, boot_manager_facts_equal_the_image_targets_and_the_verdict_applies_secure_boot)
{
        blob shim = read_whole(SHIM);
        mb_facts *f = NULL;
        mb_pe_info pe;
        mb_error err = { 0 };
        const mb_file_fact *bm;
        const mb_image_fact *im;
        mb_boot_verdict v;
        char m[8], ver[24];

        two_esps();
        fs_text(ESP0 BOOT "bootmgfw.efi", NULL);
        fs_put(ESP0 BOOT "bootmgfw.efi", false, shim.data, shim.len);
        fs_text(ESP1 BOOT "bootmgfw.efi", NULL);
        fs_put(ESP1 BOOT "bootmgfw.efi", false, shim.data, shim.len);
        memset(&cr, 0, sizeof(cr));
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_pe_parse("shimx64.efi", shim.data, shim.len, &pe, &err), 0, "%s", err.msg);
        cr_assert_geq(pe.n_signatures, 1);
        for (uint32_t d = 0; d < 2; d++) {
                bm = esp_file(f, d, "/EFI/Microsoft/Boot/bootmgfw.efi");
                cr_assert_not_null(bm);
                cr_assert_not_null(im = bm->image, "disk %u: the boot manager's PE facts", d);
                cr_assert_str_eq(im->machine, mb_pe_machine_name(pe.machine, m));
                mb_pe_version_string(&pe, ver);
                if (ver[0])
                        cr_assert_str_eq(im->version, ver);
                else
                        cr_assert_null(im->version);
                cr_assert_str_eq(im->authenticode_sha256, pe.authenticode_sha256);
                cr_assert_eq(im->n_signatures, pe.n_signatures);
                for (uint32_t i = 0; i < pe.n_signatures; i++) {
                        const mb_signature_fact *s = &im->signatures[i];
                        const mb_pe_signature *ps = &pe.signatures[i];

                        cr_assert_str_eq(s->subject, ps->signer.subject);
                        cr_assert_str_eq(s->issuer, ps->signer.issuer);
                        cr_assert_str_eq(s->sha256, ps->signer.sha256);
                        cr_assert_str_eq(s->signed_digest, ps->signed_digest);
                        cr_assert_eq(s->n_certificates, ps->n_certs);
                        for (uint32_t k = 0; k < ps->n_certs; k++) {
                                cr_assert_str_eq(s->certificates[k].subject, ps->certs[k].subject);
                                cr_assert_str_eq(s->certificates[k].issuer, ps->certs[k].issuer);
                                cr_assert_str_eq(s->certificates[k].sha256, ps->certs[k].sha256);
                        }
                }
                /* the fallback is not a PE image here: said so, as on images */
                cr_assert_str_eq(esp_file(f, d, "/EFI/Boot/bootx64.efi")->image->machine, "none");
        }
        cr_assert_str_eq(im->signatures[0].issuer,
                         "/C=US/ST=Washington/L=Redmond/O=Microsoft Corporation/CN=Microsoft Corporation UEFI CA 2011");
        cr_assert_eq(cr.n_open, cr.n_close, "every message closed");
        cr_assert_eq(cr.n_ctx, cr.n_ctx_free, "every certificate context freed");

        /* Secure Boot on, db trusts the signer's issuer by name: disk 0 boots
         * through its firmware entry */
        cr_assert_not_null(f->firmware);
        f->firmware->secure_boot = true;
        f->firmware->db = calloc(1, sizeof(mb_sig_fact));
        f->firmware->db[0] = sig("x509", "3333333333333333333333333333333333333333333333333333333333333333",
                                 pe.signatures[0].signer.issuer);
        f->firmware->n_db = 1;
        mb_boot_verdict_of(NULL, f, mb_facts_disk(f, 0), &v);
        cr_assert(v.bootable, "%s", v.reason);
        cr_assert(v.secure_boot);
        cr_assert(strstr(v.via, "bootmgfw.efi"), "%s", v.via);
        /* db trusts another name only: refused by Secure Boot */
        free(f->firmware->db[0].subject);
        f->firmware->db[0].subject = strdup("/CN=Someone Else");
        mb_boot_verdict_of(NULL, f, mb_facts_disk(f, 0), &v);
        cr_assert_not(v.bootable);
        cr_assert(v.by_secure_boot);
        cr_assert(strstr(v.reason, "does not chain to a certificate in db"), "%s", v.reason);
        /* db holds the signer's certificate itself (by hash), no name matches */
        free(f->firmware->db[0].sha256);
        f->firmware->db[0].sha256 = strdup(pe.signatures[0].signer.sha256);
        mb_boot_verdict_of(NULL, f, mb_facts_disk(f, 0), &v);
        cr_assert(v.bootable, "%s", v.reason);
        /* trusted again, but the digest is in dbx: revoked */
        free(f->firmware->db[0].subject);
        f->firmware->db[0].subject = strdup(pe.signatures[0].signer.issuer);
        f->firmware->dbx = calloc(1, sizeof(mb_sig_fact));
        f->firmware->dbx[0] = sig("sha256", pe.authenticode_sha256, NULL);
        f->firmware->n_dbx = 1;
        mb_boot_verdict_of(NULL, f, mb_facts_disk(f, 0), &v);
        cr_assert_not(v.bootable);
        cr_assert(v.by_secure_boot);
        cr_assert(strstr(v.reason, "is revoked by dbx"), "%s", v.reason);
        cr_assert(strstr(v.reason, pe.authenticode_sha256), "%s", v.reason);
        mb_pe_info_clear(&pe);
        mb_facts_free(f);
        free(shim.data);
}

/* A signature crypt32 cannot decode is an error naming the file. */
Test(windows_bootchain, a_signature_crypt32_cannot_decode_names_the_file)
{
        blob shim = read_whole(SHIM);
        mb_image_fact *im = NULL;
        mb_pe_info pe;
        mb_pe_blob *blobs = NULL;
        uint32_t n = 0;
        mb_error err = { 0 };

        cr_assert_eq(mb_pe_parse_image("shim", shim.data, shim.len, &pe, &blobs, &n, &err), 0, "%s", err.msg);
        cr_assert_geq(n, 1);
        memset((uint8_t *)blobs[0].data, 0xff, 16);     /* the blob's first bytes: no PKCS#7 */
        free(blobs);
        mb_pe_info_clear(&pe);
        memset(&cr, 0, sizeof(cr));
        cr_assert_lt(mb_win_boot_image(&fake_table, "X:\\EFI\\Microsoft\\Boot\\bootmgfw.efi", shim.data, shim.len,
                                       &im, &err), 0);
        cr_assert_null(im);
        cr_assert(strstr(err.msg, "bootmgfw.efi: signature 1"), "%s", err.msg);
        cr_assert(strstr(err.msg, "CryptMsgUpdate"), "%s", err.msg);
        cr_assert_eq(cr.n_open, cr.n_close);
        free(shim.data);
}

/* The crypt32 calls through the recorder: the facts read while recording,
 * from the replay and from its re-recording are the direct read's (the
 * CERT_INFO, certificate contexts and SpcIndirectDataContent rebuilt from
 * their recorded blobs), and the re-recording is the recording. */
Test(windows_bootchain, crypt32_calls_record_and_replay)
{
        blob shim = read_whole(SHIM);
        char *rec;

        two_esps();
        fs_text(ESP0 BOOT "bootmgfw.efi", NULL);
        fs_put(ESP0 BOOT "bootmgfw.efi", false, shim.data, shim.len);
        rec = round_trip(false);
        cr_assert(strstr(rec, " CryptMsgUpdate\n"), "the signature is decoded through the table");
        cr_assert(strstr(rec, " CertNameToStrW\n"));
        cr_assert(strstr(rec, "S=Washington"), "CertNameToStrW's own key (S) is what was recorded");
        cr_assert_null(strstr(rec, "ST=Washington"), "the mapping to OpenSSL's names is the target's");
        cr_assert(strstr(rec, "< digest_algorithm "), "the signed digest's algorithm is recorded");
        cr_assert_null(strstr(rec, "unrecorded"), "nothing the replay needs is left out");
        free(rec);
        free(shim.data);
}

/* ---- recovery volumes compared by their files, and the state directory ----
 *
 * A recovery volume as Microsoft's WinRE deployment documents it ("Deploy
 * Windows RE", learn.microsoft.com/windows-hardware/manufacture/desktop/
 * deploy-windows-re: Winre.wim copied to \Recovery\WindowsRE on the
 * recovery tools partition, registered with reagentc /setreimage /path
 * R:\Recovery\WindowsRE), with ReAgent.xml beside it, and System Volume
 * Information in the root, which is not content. The files' bytes are
 * stand-ins: the test is about the listing, the identities and the record.
 * FindFirstFileW answers "." and ".." in every directory but a volume's
 * root, as NTFS does. */

#define VFS_ROOT "\\\\?\\Volume{3f1d9a52-7c1e-4d0b-9a55-2b7e8c6d4f10}\\"
#define VFS_STATE "C:\\ProgramData\\mbstate"
#define VFS_MAGIC 0x5646u

typedef struct vfs_file {
        const char *path;       /* below VFS_ROOT, '\' separated */
        uint8_t data[4096];
        DWORD size, attrs, index;
        FILETIME written;
} vfs_file;

typedef struct vfs_state_file {
        char name[128];
        char *data;
        size_t len;
} vfs_state_file;

static struct {
        vfs_file f[4];
        int n;
        uint64_t content_read;  /* bytes ReadFile returned from the volume's files */
        bool dir_exists;
        char sddl[128];
        PSECURITY_DESCRIPTOR created_with;
        vfs_state_file st[8];
        int n_st;
} vfs;

static uint8_t vfs_sd[20];

typedef struct vfs_handle {
        unsigned magic;
        int file;               /* index in vfs.f, or -1 */
        int st;                 /* index in vfs.st (state files), or -1 */
        bool write;
        size_t pos;
        /* a listing */
        char names[8][64];
        DWORD attrs[8];
        int n, next;
} vfs_handle;

static char *vfs_utf8(LPCWSTR w) { return mb_w_to_utf8(w); }

static void vfs_setup(void)
{
        static const struct { const char *path; const char *text; DWORD attrs; } files[] = {
                { "Recovery\\WindowsRE\\Winre.wim", "MSWIM\0\0\0 stand-in for the WinRE image", 0x27 },
                { "Recovery\\WindowsRE\\ReAgent.xml", "<?xml version='1.0' encoding='utf-8'?><WindowsRE version=\"2.0\"/>", 0x26 },
                { "System Volume Information\\WPSettings.dat", "not content", 0x26 },
        };

        memset(&vfs, 0, sizeof(vfs));
        for (int i = 0; i < 3; i++) {
                vfs_file *f = &vfs.f[vfs.n++];

                f->path = files[i].path;
                f->size = 40 + 1000 * (DWORD)i;
                for (DWORD k = 0; k < f->size; k++)
                        f->data[k] = (uint8_t)(k * 7 + i);
                memcpy(f->data, files[i].text, strlen(files[i].text));
                f->attrs = files[i].attrs;
                f->index = 0x40 + (DWORD)i;
                f->written.dwHighDateTime = 0x01da0000;
                f->written.dwLowDateTime = 1000 + (DWORD)i;
        }
}

static vfs_handle *vfs_new(void)
{
        vfs_handle *h = calloc(1, sizeof(*h));

        cr_assert_not_null(h);
        h->magic = VFS_MAGIC;
        h->file = h->st = -1;
        return h;
}

static bool vfs_add_name(vfs_handle *h, const char *name, DWORD attrs)
{
        for (int i = 0; i < h->n; i++)
                if (strcmp(h->names[i], name) == 0)
                        return false;
        snprintf(h->names[h->n], sizeof(h->names[0]), "%s", name);
        h->attrs[h->n++] = attrs;
        return true;
}

static void vfs_fill(vfs_handle *h, WIN32_FIND_DATAW *d)
{
        WCHAR *w = mb_w_from_utf8(h->names[h->next]);

        memset(d, 0, sizeof(*d));
        d->dwFileAttributes = h->attrs[h->next];
        memcpy(d->cFileName, w, (mb_w_len(w) + 1) * sizeof(WCHAR));
        free(w);
        for (int i = 0; i < vfs.n; i++) {
                const char *base = strrchr(vfs.f[i].path, '\\');

                if (base && strcmp(base + 1, h->names[h->next]) == 0)
                        d->nFileSizeLow = vfs.f[i].size;
        }
        h->next++;
}

static HANDLE WINAPI v_FindFirstFileW(LPCWSTR pattern, LPWIN32_FIND_DATAW d)
{
        char *p = vfs_utf8(pattern), dir[512];
        size_t root = strlen(VFS_ROOT), dl;
        vfs_handle *h;

        cr_assert(strncmp(p, VFS_ROOT, root) == 0, "listing outside the volume: %s", p);
        cr_assert(p[strlen(p) - 1] == '*', "%s", p);
        snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(p) - root - 1), p + root);
        free(p);
        dl = strlen(dir);
        h = vfs_new();
        if (dl) {
                vfs_add_name(h, ".", FILE_ATTRIBUTE_DIRECTORY);
                vfs_add_name(h, "..", FILE_ATTRIBUTE_DIRECTORY);
        }
        for (int i = 0; i < vfs.n; i++) {
                const char *rest, *sep;
                char name[64];

                if (strncmp(vfs.f[i].path, dir, dl) != 0)
                        continue;
                rest = vfs.f[i].path + dl;
                sep = strchr(rest, '\\');
                snprintf(name, sizeof(name), "%.*s", sep ? (int)(sep - rest) : (int)strlen(rest), rest);
                vfs_add_name(h, name, sep ? FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM :
                                            vfs.f[i].attrs);
        }
        if (!h->n) {
                free(h);
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        vfs_fill(h, d);
        return h;
}

static BOOL WINAPI v_FindNextFileW(HANDLE hh, LPWIN32_FIND_DATAW d)
{
        vfs_handle *h = hh;

        cr_assert_eq(h->magic, VFS_MAGIC);
        if (h->next >= h->n) {
                fk.last_error = ERROR_NO_MORE_FILES;
                return FALSE;
        }
        vfs_fill(h, d);
        return TRUE;
}

static BOOL WINAPI v_FindClose(HANDLE hh)
{
        cr_assert_eq(((vfs_handle *)hh)->magic, VFS_MAGIC);
        free(hh);
        return TRUE;
}

static int vfs_state_find(const char *name)
{
        for (int i = 0; i < vfs.n_st; i++)
                if (strcmp(vfs.st[i].name, name) == 0)
                        return i;
        return -1;
}

static HANDLE WINAPI v_CreateFileW(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa,
                                   DWORD disp, DWORD flags, HANDLE t)
{
        char *p = vfs_utf8(name);
        vfs_handle *h = vfs_new();

        (void)share, (void)sa, (void)flags, (void)t;
        if (strncmp(p, VFS_ROOT, strlen(VFS_ROOT)) == 0) {
                cr_assert_eq(access, GENERIC_READ, "%s opened for writing", p);
                for (int i = 0; i < vfs.n; i++)
                        if (strcmp(vfs.f[i].path, p + strlen(VFS_ROOT)) == 0)
                                h->file = i;
        } else {
                cr_assert(strncmp(p, VFS_STATE "\\", strlen(VFS_STATE) + 1) == 0, "unexpected file %s", p);
                cr_assert(vfs.dir_exists);
                h->st = vfs_state_find(p);
                h->write = access == GENERIC_WRITE;
                if (disp == CREATE_ALWAYS) {
                        if (h->st < 0) {
                                h->st = vfs.n_st++;
                                snprintf(vfs.st[h->st].name, sizeof(vfs.st[0].name), "%s", p);
                        }
                        free(vfs.st[h->st].data);
                        vfs.st[h->st].data = NULL;
                        vfs.st[h->st].len = 0;
                }
        }
        free(p);
        if (h->file < 0 && h->st < 0) {
                free(h);
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_HANDLE_VALUE;
        }
        return h;
}

static BOOL WINAPI v_ReadFile(HANDLE hh, LPVOID buf, DWORD len, LPDWORD got, LPOVERLAPPED ov)
{
        vfs_handle *h = hh;
        const uint8_t *src;
        size_t size, n;

        (void)ov;
        cr_assert_eq(h->magic, VFS_MAGIC);
        src = h->file >= 0 ? vfs.f[h->file].data : (const uint8_t *)vfs.st[h->st].data;
        size = h->file >= 0 ? vfs.f[h->file].size : vfs.st[h->st].len;
        n = size - h->pos < len ? size - h->pos : len;
        memcpy(buf, src + h->pos, n);
        h->pos += n;
        *got = (DWORD)n;
        if (h->file >= 0)
                vfs.content_read += n;
        return TRUE;
}

static BOOL WINAPI v_WriteFile(HANDLE hh, LPCVOID buf, DWORD len, LPDWORD put, LPOVERLAPPED ov)
{
        vfs_handle *h = hh;
        vfs_state_file *s;

        (void)ov;
        cr_assert(h->magic == VFS_MAGIC && h->st >= 0 && h->write);
        s = &vfs.st[h->st];
        s->data = realloc(s->data, s->len + len + 1);
        memcpy(s->data + s->len, buf, len);
        s->len += len;
        s->data[s->len] = '\0';
        *put = len;
        return TRUE;
}

static BOOL WINAPI v_FlushFileBuffers(HANDLE h) { (void)h; return TRUE; }

static BOOL WINAPI v_CloseHandle(HANDLE hh)
{
        if (hh != H(HTOKEN)) {
                cr_assert_eq(((vfs_handle *)hh)->magic, VFS_MAGIC);
                free(hh);
        }
        return TRUE;
}

static BOOL WINAPI v_GetFileInformationByHandle(HANDLE hh, LPBY_HANDLE_FILE_INFORMATION i)
{
        vfs_handle *h = hh;
        const vfs_file *f;

        cr_assert(h->magic == VFS_MAGIC && h->file >= 0);
        f = &vfs.f[h->file];
        memset(i, 0, sizeof(*i));
        i->dwFileAttributes = f->attrs;
        i->ftLastWriteTime = f->written;
        i->dwVolumeSerialNumber = 0x5a3c91e2;
        i->nFileSizeLow = f->size;
        i->nNumberOfLinks = 1;
        i->nFileIndexHigh = 0x00010000;         /* sequence number 1 */
        i->nFileIndexLow = f->index;
        return TRUE;
}

static BOOL WINAPI v_MoveFileExW(LPCWSTR from, LPCWSTR to, DWORD flags)
{
        char *a = vfs_utf8(from), *b = vfs_utf8(to);
        int i = vfs_state_find(a), j = vfs_state_find(b);

        cr_assert(flags & MOVEFILE_REPLACE_EXISTING);
        cr_assert_geq(i, 0, "%s", a);
        if (j >= 0) {
                free(vfs.st[j].data);
                vfs.st[j].data = vfs.st[i].data;
                vfs.st[j].len = vfs.st[i].len;
                vfs.st[i] = vfs.st[--vfs.n_st];
                memset(&vfs.st[vfs.n_st], 0, sizeof(vfs.st[0]));
        } else {
                snprintf(vfs.st[i].name, sizeof(vfs.st[0].name), "%s", b);
        }
        free(a);
        free(b);
        return TRUE;
}

static BOOL WINAPI v_DeleteFileW(LPCWSTR p) { (void)p; return TRUE; }

static HRESULT WINAPI v_SHGetKnownFolderPath(const GUID *id, DWORD flags, HANDLE token, LPWSTR *ret)
{
        GUID want;

        (void)flags, (void)token;
        cr_assert_eq(mb_w_guid_parse("62AB5D82-FDC1-4DC3-A9DD-070D1D495D97", &want), 0);
        cr_assert_eq(memcmp(id, &want, sizeof(want)), 0, "not FOLDERID_ProgramData");
        *ret = mb_w_from_utf8("C:\\ProgramData");
        return S_OK;
}

static DWORD WINAPI v_GetFileAttributesW(LPCWSTR path)
{
        char *p = vfs_utf8(path);
        bool dir = strcmp(p, VFS_STATE) == 0;

        free(p);
        cr_assert(dir, "unexpected GetFileAttributesW");
        if (!vfs.dir_exists) {
                fk.last_error = ERROR_FILE_NOT_FOUND;
                return INVALID_FILE_ATTRIBUTES;
        }
        return FILE_ATTRIBUTE_DIRECTORY;
}

static BOOL WINAPI v_ConvertSddl(LPCWSTR sddl, DWORD rev, PSECURITY_DESCRIPTOR *sd, ULONG *len)
{
        char *s = vfs_utf8(sddl);

        (void)len;
        cr_assert_eq(rev, SDDL_REVISION_1);
        snprintf(vfs.sddl, sizeof(vfs.sddl), "%s", s);
        free(s);
        *sd = vfs_sd;
        return TRUE;
}

static BOOL WINAPI v_CreateDirectoryW(LPCWSTR path, LPSECURITY_ATTRIBUTES sa)
{
        char *p = vfs_utf8(path);

        cr_assert_str_eq(p, VFS_STATE);
        free(p);
        vfs.created_with = sa ? sa->lpSecurityDescriptor : NULL;
        vfs.dir_exists = true;
        return TRUE;
}

static HLOCAL WINAPI v_LocalFree(HLOCAL p) { (void)p; return NULL; }

static mb_win32 vfs_table(void)
{
        static const ace_spec admins_only[] = {
                { 0, 0x001f01ff, "S-1-5-18" }, { 0, 0x001f01ff, "S-1-5-32-544" },
        };
        static uint8_t acl[256];
        static const uint8_t admins[] = { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0 };
        mb_win32 t = fake_table;

        seed_machine("disk1_layout_raw.hex");
        acl_build(acl, admins_only, 2);
        fk.acl = acl;
        fk.owner = admins;
        vfs_setup();
        t.FindFirstFileW = v_FindFirstFileW;
        t.FindNextFileW = v_FindNextFileW;
        t.FindClose = v_FindClose;
        t.CreateFileW = v_CreateFileW;
        t.ReadFile = v_ReadFile;
        t.WriteFile = v_WriteFile;
        t.FlushFileBuffers = v_FlushFileBuffers;
        t.CloseHandle = v_CloseHandle;
        t.GetFileInformationByHandle = v_GetFileInformationByHandle;
        t.MoveFileExW = v_MoveFileExW;
        t.DeleteFileW = v_DeleteFileW;
        t.SHGetKnownFolderPath = v_SHGetKnownFolderPath;
        t.GetFileAttributesW = v_GetFileAttributesW;
        t.ConvertStringSecurityDescriptorToSecurityDescriptorW = v_ConvertSddl;
        t.CreateDirectoryW = v_CreateDirectoryW;
        t.LocalFree = v_LocalFree;
        return t;
}

static const mb_win_volume vfs_volume = { .name = VFS_ROOT };

static void vfs_hex(int i, char hex[65])
{
        mb_sha256 s;

        mb_sha256_init(&s);
        mb_sha256_update(&s, vfs.f[i].data, vfs.f[i].size);
        mb_sha256_final_hex(&s, hex);
}

static void vfs_read(const mb_win32 *t, mb_verify *v, mb_part_fact *p)
{
        mb_error err = { 0 };

        mb_part_fact_clear(p);
        memset(p, 0, sizeof(*p));
        p->unique_guid = strdup("6c0b7d1e-2a44-4b9e-8f0d-1c2b3a4d5e6f");
        vfs.content_read = 0;
        cr_assert_eq(mb_win_recovery_files(t, &vfs_volume, p, v, &err), 0, "%s", err.msg);
}

Test(windows_recovery, files_compared_by_identity_and_record)
{
        mb_win32 t = vfs_table();
        mb_verify v = { .state_dir = MB_STATE_DIR_DEFAULT, .max_age = MB_DEEP_AGE_DEFAULT };
        mb_part_fact p = { 0 };
        char wim[65], xml[65];
        int rec;

        /* first check: no state directory yet -- created admin-only, every byte read */
        vfs_read(&t, &v, &p);
        cr_assert(vfs.dir_exists);
        cr_assert_str_eq(vfs.sddl, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
        cr_assert_eq(vfs.created_with, (PSECURITY_DESCRIPTOR)vfs_sd);
        cr_assert_eq(v.depth, MB_VERIFY_DEEP);
        cr_assert_eq(vfs.content_read, vfs.f[0].size + vfs.f[1].size);
        cr_assert_eq(p.n_files, 2, "System Volume Information is not content");
        cr_assert_str_eq(p.files[0].path, "/Recovery/WindowsRE/ReAgent.xml");
        cr_assert_str_eq(p.files[1].path, "/Recovery/WindowsRE/Winre.wim");
        vfs_hex(0, wim);
        vfs_hex(1, xml);
        cr_assert_str_eq(p.files[1].sha256, wim);
        cr_assert_str_eq(p.files[0].sha256, xml);
        cr_assert_eq(p.files[1].size, vfs.f[0].size);
        cr_assert_eq(p.files[1].attributes, 0x27);
        cr_assert_null(p.content_sha256);
        rec = vfs_state_find(VFS_STATE "\\windows-6c0b7d1e-2a44-4b9e-8f0d-1c2b3a4d5e6f.rec");
        cr_assert_geq(rec, 0, "the record was written");
        cr_assert(strstr(vfs.st[rec].data, " /Recovery/WindowsRE/Winre.wim\n"), "%s", vfs.st[rec].data);
        cr_assert_eq(vfs_state_find(VFS_STATE "\\windows-6c0b7d1e-2a44-4b9e-8f0d-1c2b3a4d5e6f.rec.new"), -1);
        cr_assert_neq(v.last_deep, 0);

        /* second check: identities unchanged -- no content read */
        v.depth = MB_VERIFY_NONE;
        vfs_read(&t, &v, &p);
        cr_assert_eq(vfs.content_read, 0);
        cr_assert_eq(v.depth, MB_VERIFY_METADATA);
        cr_assert_str_eq(p.files[1].sha256, wim);

        /* a byte changed behind the file system's back: identity unchanged, the
         * default check keeps the recorded hash; --deep reads and finds it */
        vfs.f[0].data[10] ^= 0xff;
        vfs_read(&t, &v, &p);
        cr_assert_str_eq(p.files[1].sha256, wim);
        v.deep = true;
        v.depth = MB_VERIFY_NONE;
        vfs_read(&t, &v, &p);
        cr_assert_eq(v.depth, MB_VERIFY_DEEP);
        cr_assert_str_neq(p.files[1].sha256, wim);
        vfs_hex(0, wim);
        cr_assert_str_eq(p.files[1].sha256, wim);

        /* a write through the file system moves the last write time: that
         * file alone is read again by the default check */
        v.deep = false;
        vfs.f[0].data[11] ^= 0xff;
        vfs.f[0].written.dwLowDateTime++;
        vfs_read(&t, &v, &p);
        cr_assert_eq(vfs.content_read, vfs.f[0].size, "read %llu", (unsigned long long)vfs.content_read);
        vfs_hex(0, wim);
        cr_assert_str_eq(p.files[1].sha256, wim);

        /* a record older than max_age makes the default check deep */
        v.max_age = -1;
        v.depth = MB_VERIFY_NONE;
        vfs_read(&t, &v, &p);
        cr_assert_eq(v.depth, MB_VERIFY_DEEP);
        cr_assert_eq(vfs.content_read, vfs.f[0].size + vfs.f[1].size);
        mb_part_fact_clear(&p);
}

Test(windows_recovery, no_record_reads_every_byte)
{
        mb_win32 t = vfs_table();
        mb_part_fact p = { 0 };

        vfs_read(&t, NULL, &p);
        cr_assert_eq(vfs.content_read, vfs.f[0].size + vfs.f[1].size);
        cr_assert_eq(vfs.n_st, 0);
        cr_assert(!vfs.dir_exists);
        cr_assert_eq(p.n_files, 2);
        mb_part_fact_clear(&p);
}

Test(windows_recovery, state_dir_others_can_write_refused)
{
        static const ace_spec users_add[] = {
                { 0, 0x001f01ff, "S-1-5-18" }, { 0, 0x001f01ff, "S-1-5-32-544" },
                { 0, 0x001200ab, "S-1-5-32-545" },     /* Users: read & execute + create files */
        };
        static uint8_t acl[256];
        mb_win32 t = vfs_table();
        mb_verify v = { .state_dir = MB_STATE_DIR_DEFAULT, .max_age = MB_DEEP_AGE_DEFAULT };
        mb_part_fact p = { 0 };
        mb_error err = { 0 };
        char *dir = NULL;

        vfs.dir_exists = true;
        acl_build(acl, users_add, 3);
        fk.acl = acl;
        cr_assert_eq(mb_win_state_dir(&t, NULL, &dir, &err), MB_EUNSAFE);
        cr_assert_null(dir);
        cr_assert(strstr(err.msg, "the state directory 'C:\\ProgramData\\mbstate'"), "%s", err.msg);
        cr_assert(strstr(err.msg, "S-1-5-32-545"), "%s", err.msg);

        /* the check refuses too: nothing read, nothing written */
        p.unique_guid = strdup("6c0b7d1e-2a44-4b9e-8f0d-1c2b3a4d5e6f");
        cr_assert_eq(mb_win_recovery_files(&t, &vfs_volume, &p, &v, &err), MB_EUNSAFE);
        cr_assert_eq(vfs.content_read, 0);
        cr_assert_eq(vfs.n_st, 0);
        mb_part_fact_clear(&p);
}

/* The recovery walk and the ProgramData lookup through a recording, its
 * replay and a recording of the replay: the same answers, the same file. */
static void recovery_log(const mb_win32 *w, char *log, size_t cap)
{
        mb_part_fact p = { 0 };
        mb_error err = { 0 };
        LPWSTR pd = NULL;
        HRESULT hr;
        size_t o = 0;
        char *s;

        p.unique_guid = strdup("6c0b7d1e-2a44-4b9e-8f0d-1c2b3a4d5e6f");
        cr_assert_eq(mb_win_recovery_files(w, &vfs_volume, &p, NULL, &err), 0, "%s", err.msg);
        for (uint32_t i = 0; i < p.n_files; i++)
                o += (size_t)snprintf(log + o, cap - o, "%s %llu %x %s;", p.files[i].path,
                                      (unsigned long long)p.files[i].size, p.files[i].attributes,
                                      p.files[i].sha256);
        hr = w->SHGetKnownFolderPath(&(GUID){ 0x62ab5d82, 0xfdc1, 0x4dc3,
                                              { 0xa9, 0xdd, 0x07, 0x0d, 0x1d, 0x49, 0x5d, 0x97 } },
                                     0, NULL, &pd);
        s = pd ? mb_w_to_utf8(pd) : NULL;
        snprintf(log + o, cap - o, "hr %ld %s", (long)hr, s ? s : "-");
        free(s);
        w->CoTaskMemFree(pd);
        mb_part_fact_clear(&p);
}

Test(windows_record, recovery_walk_round_trip)
{
        mb_win32 t = vfs_table();
        mb_win_rec_info info = { .content_hash = true };
        mb_win_rec *rec = NULL, *inner = NULL;
        tmp_name t1 = rec_tmp("recovery1.txt"), t2 = rec_tmp("recovery2.txt");
        char direct[2048], recorded[2048], again[2048];
        char *f1, *f2;
        mb_error err = { 0 };

        recovery_log(&t, direct, sizeof(direct));
        cr_assert(strstr(direct, "/Recovery/WindowsRE/Winre.wim 40 27 "), "%s", direct);
        cr_assert(strstr(direct, "hr 0 C:\\ProgramData"), "%s", direct);

        cr_assert_eq(mb_win_rec_record(&t, &info, &rec, &err), 0, "%s", err.msg);
        recovery_log(mb_win_rec_table(rec), recorded, sizeof(recorded));
        cr_assert_eq(mb_win_rec_save(rec, t1.s, &err), 0, "%s", err.msg);
        mb_win_rec_free(rec);
        cr_assert_str_eq(recorded, direct);

        cr_assert_eq(mb_win_rec_replay(t1.s, &inner, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_win_rec_record(mb_win_rec_table(inner), &info, &rec, &err), 0, "%s", err.msg);
        recovery_log(mb_win_rec_table(rec), again, sizeof(again));
        cr_assert_eq(mb_win_rec_save(rec, t2.s, &err), 0, "%s", err.msg);
        mb_win_rec_free(rec);
        cr_assert_eq(mb_win_rec_status(inner, true, &err), 0, "%s", err.msg);
        mb_win_rec_free(inner);
        cr_assert_str_eq(again, direct);
        f1 = file_text(t1.s);
        f2 = file_text(t2.s);
        cr_assert_str_eq(f2, f1);
        cr_assert(strstr(f1, "GetFileInformationByHandle\n"), "no GetFileInformationByHandle call recorded");
        cr_assert(strstr(f1, "SHGetKnownFolderPath\n> folder {62ab5d82-fdc1-4dc3-a9dd-070d1d495d97}"), "%s", f1);
        unlink(t1.s);
        unlink(t2.s);
        free(f1);
        free(f2);
}

/* ---- sector sizes: the physical sector from the access alignment descriptor ---- */

/* An IOCTL_STORAGE_QUERY_PROPERTY(StorageAccessAlignmentProperty) answer,
 * packed from the documented layout of STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR
 * (winioctl.h; Microsoft Learn, "STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR
 * structure"): seven little-endian DWORDs Version, Size, BytesPerCacheLine,
 * BytesOffsetForCacheAlignment, BytesPerLogicalSector, BytesPerPhysicalSector,
 * BytesOffsetForSectorAlignment; Version and Size are the structure's 28
 * bytes. The cache line fields are 0 (mbstate reads neither). */
static blob alignment_answer(uint32_t logical, uint32_t physical)
{
        const uint32_t v[7] = { 28, 28, 0, 0, logical, physical, 0 };
        blob b = { malloc(28), 28 };

        cr_assert_not_null(b.data);
        for (int i = 0; i < 7; i++)
                for (int k = 0; k < 4; k++)
                        b.data[i * 4 + k] = (uint8_t)(v[i] >> (8 * k));
        return b;
}

/* The seed machine with both disks answering the alignment query. */
static void sector_machine(uint32_t logical, uint32_t physical)
{
        seed_machine("disk1_layout_raw.hex");
        for (int d = 0; d < 2; d++) {
                fk.alignment[d] = alignment_answer(logical, physical);
                for (int k = 0; k < 4; k++)     /* DISK_GEOMETRY.BytesPerSector at 20 */
                        fk.geometry[d].data[20 + k] = (uint8_t)(logical >> (8 * k));
        }
}

static mb_facts *sector_facts(void)
{
        mb_facts *f = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        return f;
}

/* 512e: 512-byte logical sectors on 4096-byte physical ones. The facts say
 * both, the YAML and JSON facts carry the physical size, and the partitions
 * stay where they are in 512-byte LBAs (the ESP at 1 MiB, 4 KiB aligned). */
Test(windows_sectors, disk_512e)
{
        mb_facts *f;
        mb_error err = { 0 };
        char *text = NULL;

        sector_machine(512, 4096);
        f = sector_facts();
        for (uint32_t i = 0; i < 2; i++) {
                mb_disk_fact *d = mb_facts_disk(f, i);

                cr_assert_not_null(d);
                cr_assert_eq(d->sector_size, 512, "disk %u", i);
                cr_assert_eq(d->physical_sector_size, 4096, "disk %u", i);
                cr_assert_eq(fk.alignment_queries[i], 1, "disk %u asked once", i);
        }
        cr_assert_eq(f->disks[0].partitions[0].first_lba, 2048);
        cr_assert_eq(f->disks[0].partitions[0].first_lba * 512 % 4096, 0);
        cr_assert_eq(mb_facts_to_string(f, false, &text, &err), 0, "%s", err.msg);
        cr_assert(strstr(text, "physical_sector_size: 4096"), "%s", text);
        free(text);
        text = NULL;
        cr_assert_eq(mb_facts_to_string(f, true, &text, &err), 0, "%s", err.msg);
        cr_assert(strstr(text, "\"physical_sector_size\": 4096") ||
                  strstr(text, "\"physical_sector_size\":4096"), "%s", text);
        free(text);
        mb_facts_free(f);
}

/* 4Kn: 4096-byte logical and physical sectors. The seed's byte offsets are
 * whole 4 KiB sectors, so the layout reads back in 4096-byte LBAs. */
Test(windows_sectors, disk_4kn)
{
        mb_facts *f;
        mb_disk_fact *d;

        sector_machine(4096, 4096);
        f = sector_facts();
        d = mb_facts_disk(f, 0);
        cr_assert_not_null(d);
        cr_assert_eq(d->sector_size, 4096);
        cr_assert_eq(d->physical_sector_size, 4096);
        cr_assert_eq(d->partitions[0].first_lba, 256, "the ESP at 1 MiB is LBA 256");
        cr_assert_eq(d->partitions[2].first_lba * 4096, 122683392ULL);
        cr_assert_eq(mb_facts_disk(f, 1)->physical_sector_size, 4096);
        mb_facts_free(f);
}

/* 512n: 512 and 512. */
Test(windows_sectors, disk_512n)
{
        mb_facts *f;

        sector_machine(512, 512);
        f = sector_facts();
        for (uint32_t i = 0; i < 2; i++) {
                cr_assert_eq(mb_facts_disk(f, i)->sector_size, 512);
                cr_assert_eq(mb_facts_disk(f, i)->physical_sector_size, 512);
        }
        mb_facts_free(f);
}

/* A device whose driver does not answer the query (ERROR_NOT_SUPPORTED, or
 * ERROR_INVALID_FUNCTION): the physical size stays unknown (0), the rest of
 * the facts are read as before. Any other failure names the disk. */
Test(windows_sectors, query_not_supported)
{
        static const DWORD unsupported[] = { ERROR_NOT_SUPPORTED, ERROR_INVALID_FUNCTION };
        mb_facts *f = NULL;
        mb_error err = { 0 };

        for (size_t k = 0; k < 2; k++) {
                sector_machine(512, 4096);
                fk.alignment_error = unsupported[k];
                f = sector_facts();
                for (uint32_t i = 0; i < 2; i++) {
                        cr_assert_eq(mb_facts_disk(f, i)->sector_size, 512);
                        cr_assert_eq(mb_facts_disk(f, i)->physical_sector_size, 0,
                                     "error %lu, disk %u", (unsigned long)unsupported[k], i);
                        cr_assert_eq(fk.alignment_queries[i], 1);
                }
                cr_assert_eq(mb_facts_disk(f, 0)->n_partitions, 4);
                mb_facts_free(f);
        }

        sector_machine(512, 4096);
        fk.alignment_error = 1117;      /* ERROR_IO_DEVICE */
        f = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_EIO);
        cr_assert_null(f);
        cr_assert(strstr(err.msg, "StorageAccessAlignmentProperty") &&
                  strstr(err.msg, "disk 0 ('\\\\.\\PhysicalDrive0')"), "%s", err.msg);
}

/* A descriptor whose logical sector is not the geometry's BytesPerSector:
 * which one addresses the disk cannot be told, so the facts are refused,
 * naming the disk and both numbers. So are a physical sector that is not a
 * power of two (1536 bytes: three logical ones) and a truncated descriptor. */
Test(windows_sectors, logical_size_contradicts_the_geometry)
{
        mb_facts *f = NULL;
        mb_error err = { 0 };

        sector_machine(512, 4096);
        free(fk.alignment[1].data);
        fk.alignment[1] = alignment_answer(4096, 4096);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_ECORRUPT);
        cr_assert_null(f);
        cr_assert(strstr(err.msg, "disk 1 ('\\\\.\\PhysicalDrive1')"), "%s", err.msg);
        cr_assert(strstr(err.msg, "4096-byte logical sectors") &&
                  strstr(err.msg, "512-byte sectors (IOCTL_DISK_GET_DRIVE_GEOMETRY_EX)"), "%s",
                  err.msg);

        sector_machine(512, 1536);
        mb_error_clear(&err);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_ECORRUPT);
        cr_assert(strstr(err.msg, "disk 0 (") && strstr(err.msg, "1536"), "%s", err.msg);

        sector_machine(512, 4096);
        fk.alignment[0].len = 20;       /* ends before BytesPerLogicalSector */
        mb_error_clear(&err);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), MB_ECORRUPT);
        cr_assert(strstr(err.msg, "disk 0 (") && strstr(err.msg, "20 bytes"), "%s", err.msg);
        cr_assert_null(f);
}

/* The renderer and the executor turn LBAs into bytes with the logical
 * sector size; the physical one changes nothing there. On a 512e disk the
 * ESP at LBA 2048 is at 1 MiB, a whole number of 4096-byte physical
 * sectors; on a 4Kn disk the same 1 MiB is LBA 256. */
Test(windows_sectors, partition_offsets_in_logical_sectors)
{
        static const struct { uint32_t logical; uint64_t first, last; } disks[] = {
                { 512, 2048, 206847 }, { 4096, 256, 25855 },
        };

        for (size_t k = 0; k < 2; k++) {
                mb_op op = { .kind = MB_OP_PART_CREATE, .disk = 1, .role = MB_ROLE_EFI,
                             .first_lba = disks[k].first, .last_lba = disks[k].last };
                mb_win_target t = target();
                mb_facts *f;
                mb_error err = { 0 };
                char *text;

                sector_machine(disks[k].logical, 4096);
                free(fk.layout[1].data);
                fk.layout[1] = load_hex("disk1_layout_empty_gpt.hex");
                f = sector_facts();
                cr_assert_eq(mb_facts_disk(f, 1)->physical_sector_size, 4096);
                text = render(f, &op);
                cr_assert(strstr(text, "StartingOffset=1048576 PartitionLength=104857600"), "%s", text);
                free(text);
                mb_facts_free(f);

                cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
                cr_assert_eq(fk.sent[0].code, IOCTL_DISK_SET_DRIVE_LAYOUT_EX);
                cr_assert_eq(le64(fk.sent[0].buf + 48 + 8), 1 * MiB);           /* StartingOffset */
                cr_assert_eq(le64(fk.sent[0].buf + 48 + 16), 100 * MiB);        /* PartitionLength */
                cr_assert_eq(le64(fk.sent[0].buf + 48 + 8) % 4096, 0);
        }
}

/* ---- an os-loader's path on the volume its device names ---- */

static DWORD WINAPI denied_GetFileAttributesW(LPCWSTR path)
{
        (void)path;
        fk.last_error = 5;      /* ERROR_ACCESS_DENIED */
        return INVALID_FILE_ATTRIBUTES;
}

/* GetFileAttributesW on C:'s volume GUID path joined with the loader's
 * path, through the call table: the file found (its name compared without
 * case: the store says system32, the folder is System32), then gone, then
 * a refusal that is neither "file" nor "path not found", which leaves the
 * path unchecked. */
Test(windows_facts, loader_path_looked_up_on_its_volume)
{
        mb_facts *f = seed_facts("disk1_layout_raw.hex");
        const mb_bcd_object_fact *o = mb_facts_bcd_object(f, "{" MB_BCD_SEED_LOADER_GUID "}");
        mb_win32 t = fake_table;
        mb_error err;
        int i;

        cr_assert_str_eq(o->path, "\\Windows\\system32\\winload.efi");
        cr_assert_not_null(o->path_check);
        cr_assert(o->path_check->exists);
        cr_assert_str_eq(o->path_check->volume, "\\Device\\HarddiskVolume3 (disk 0 partition 3)");
        cr_assert_null(mb_facts_bcd_by_description(f, "os-loader", "Windows Recovery Environment")->path_check,
                       "a ramdisk's loader is inside its WIM: not looked up");
        mb_facts_free(f);

        seed_machine("disk1_layout_raw.hex");
        {
                /* disk 0's ESP: an x64 boot program (Debian's signed shim,
                 * read at test time: scripts/deps.sh installs shim-signed)
                 * and the live store's file */
                blob live = file_bytes(rg.live), pe = file_bytes("/usr/lib/shim/shimx64.efi.signed");

                fs_text(ESP0 BOOT "bootmgfw.efi", NULL);
                fs_put(ESP0 BOOT "bootmgfw.efi", false, pe.data, pe.len);
                free(pe.data);
                fk.files[fs_put(ESP0 BOOT "BCD", false, live.data, live.len)].locked = true;
                free(live.data);
        }
        i = file_find(OS0_VOL "\\Windows\\System32\\winload.efi");
        cr_assert_geq(i, 0);
        fk.files[i].path[0] = '\0';     /* deleted */
        f = NULL;
        mb_error_clear(&err);
        cr_assert_eq(mb_win_read_facts_opts(&fake_table, &no_hash, &f, &err), 0, "%s", err.msg);
        o = mb_facts_bcd_object(f, "{" MB_BCD_SEED_LOADER_GUID "}");
        cr_assert_not_null(o->path_check);
        cr_assert_not(o->path_check->exists);
        {
                /* the system disk's verdict: its ESP holds the live store */
                mb_boot_verdict v;

                mb_disk_boot_verdict(f, mb_facts_disk(f, 0), &v);
                cr_assert_not(v.bootable);
                cr_assert(strstr(v.reason, "the loader \"Windows Server\" path \\Windows\\system32\\winload.efi "
                                           "does not exist on \\Device\\HarddiskVolume3 (disk 0 partition 3)"),
                          "%s", v.reason);
        }
        mb_facts_free(f);

        seed_machine("disk1_layout_raw.hex");
        t.GetFileAttributesW = denied_GetFileAttributesW;
        f = NULL;
        cr_assert_eq(mb_win_read_facts_opts(&t, &no_hash, &f, &err), 0, "%s", err.msg);
        cr_assert_null(mb_facts_bcd_object(f, "{" MB_BCD_SEED_LOADER_GUID "}")->path_check);
        mb_facts_free(f);
}

/* ---- firmware: last, placed directly after the disk entries ----
 *
 * `bcdedit /set {fwbootmgr} displayorder {id} /addlast` adds the entry at
 * the end of the firmware's order (Microsoft's BCDEdit documentation of
 * /addlast); the windows target then rewrites BootOrder so the entry sits
 * directly after the last entry whose load option names a partition. The
 * load options below are built from the UEFI specification's layouts
 * ("Load Options": EFI_LOAD_OPTION; "Device Path Protocol": the hard drive
 * media node, type 4 subtype 1, the file path node, type 4 subtype 4, the
 * ACPI, PCI and MAC address nodes and the end node); Boot0000 is the seed's
 * boot0000.hex. */

#define CLONED_ENTRY "063973c5-d0ac-11ed-b884-cfa59b967f58"    /* the id the fake bcdedit /copy prints */

static struct {
        blob boot0001, boot0002;        /* PXE; Windows Boot Manager Cloned on disk 1's ESP */
        bool bcdedit_adds;              /* the fake bcdedit /addlast appends Boot0002 to BootOrder */
} fwp;

static size_t lo_put16(uint8_t *b, size_t at, uint16_t v)
{
        b[at] = (uint8_t)v;
        b[at + 1] = (uint8_t)(v >> 8);
        return at + 2;
}

/* EFI_LOAD_OPTION: Attributes (LOAD_OPTION_ACTIVE), FilePathListLength,
 * Description (UCS-2, NUL-terminated), then the device path dp. */
static blob load_option(const char *description, const uint8_t *dp, size_t dp_len)
{
        blob o;
        size_t at = 0;

        o.data = calloc(1, 6 + 2 * (strlen(description) + 1) + dp_len);
        cr_assert(o.data);
        o.data[0] = 1;
        at = lo_put16(o.data, 4, (uint16_t)dp_len);
        for (const char *c = description; *c; c++)
                at = lo_put16(o.data, at, (uint8_t)*c);
        at = lo_put16(o.data, at, 0);
        memcpy(o.data + at, dp, dp_len);
        o.len = at + dp_len;
        return o;
}

/* HD(1, GPT, esp, 2048, 204800) / \EFI\Microsoft\Boot\bootmgfw.efi / End */
static blob disk_option(const char *description, const char *esp)
{
        static const char *path = "\\EFI\\Microsoft\\Boot\\bootmgfw.efi";
        uint8_t dp[256] = { 0 };
        mb_guid g = G(esp);
        size_t at, plen = 2 * (strlen(path) + 1);

        dp[0] = 4, dp[1] = 1, lo_put16(dp, 2, 42);
        dp[4] = 1;                              /* PartitionNumber */
        lo_put16(dp, 8, 2048);                  /* PartitionStart (LBA) */
        dp[16] = 0x00, dp[17] = 0x20, dp[18] = 0x03;    /* PartitionSize 204800 sectors */
        memcpy(dp + 24, g.b, 16);               /* PartitionSignature */
        dp[40] = 2;                             /* MBRType: GPT */
        dp[41] = 2;                             /* SignatureType: GUID */
        at = 42;
        dp[at] = 4, dp[at + 1] = 4, lo_put16(dp, at + 2, (uint16_t)(4 + plen));
        at += 4;
        for (const char *c = path; *c; c++)
                at = lo_put16(dp, at, (uint8_t)*c);
        at = lo_put16(dp, at, 0);
        dp[at] = 0x7f, dp[at + 1] = 0xff, lo_put16(dp, at + 2, 4);
        return load_option(description, dp, at + 4);
}

/* PciRoot(0x0)/Pci(0x3,0x0)/MAC(525400123456,0x1)/End: no partition */
static blob pxe_option(void)
{
        uint8_t dp[64] = { 0 };
        size_t at = 0;

        dp[0] = 2, dp[1] = 1, lo_put16(dp, 2, 12);      /* ACPI: HID PNP0A03, UID 0 */
        memcpy(dp + 4, (const uint8_t[]){ 0xd0, 0x41, 0x03, 0x0a }, 4);
        at = 12;
        dp[at] = 1, dp[at + 1] = 1, lo_put16(dp, at + 2, 6);    /* PCI: function 0, device 3 */
        dp[at + 5] = 3;
        at += 6;
        dp[at] = 3, dp[at + 1] = 11, lo_put16(dp, at + 2, 37); /* MAC address, IfType 1 */
        memcpy(dp + at + 4, (const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
        dp[at + 36] = 1;
        at += 37;
        dp[at] = 0x7f, dp[at + 1] = 0xff, lo_put16(dp, at + 2, 4);
        return load_option("UEFI PXEv4 (MAC:525400123456)", dp, at + 4);
}

static DWORD WINAPI fwp_GetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        const char *n = utf8(name);
        const blob *b = strcmp(n, "Boot0001") == 0 ? &fwp.boot0001
                        : strcmp(n, "Boot0002") == 0 ? &fwp.boot0002 : NULL;

        if (b && b->len && b->len <= len) {
                memcpy(buf, b->data, b->len);
                return (DWORD)b->len;
        }
        return f_GetFirmwareEnvironmentVariableW(name, guid, buf, len);
}

static BOOL WINAPI fwp_CreateProcessW(LPCWSTR app, LPWSTR cmd, LPSECURITY_ATTRIBUTES a,
                                      LPSECURITY_ATTRIBUTES b, BOOL inh, DWORD fl, LPVOID env,
                                      LPCWSTR cwd, LPSTARTUPINFOW si, LPPROCESS_INFORMATION pi)
{
        if (fwp.bcdedit_adds && strstr(utf8(cmd), "/set {fwbootmgr} displayorder {" CLONED_ENTRY "} /addlast")) {
                int k = 0;

                /* /addlast: to the end; moved there if it is listed */
                for (int i = 0; i < fk.n_boot_order; i++)
                        if (fk.boot_order[2 * i] != 2 || fk.boot_order[2 * i + 1] != 0) {
                                fk.boot_order[2 * k] = fk.boot_order[2 * i];
                                fk.boot_order[2 * k + 1] = fk.boot_order[2 * i + 1];
                                k++;
                        }
                fk.boot_order[2 * k] = 2;
                fk.boot_order[2 * k + 1] = 0;
                fk.n_boot_order = k + 1;
        }
        return f_CreateProcessW(app, cmd, a, b, inh, fl, env, cwd, si, pi);
}

/* The seed machine with its mirror, its live store holding the copy of
 * {bootmgr} that `bcdedit /copy {bootmgr} /d "Windows Boot Manager Cloned"`
 * makes, device = disk 1's ESP; BootOrder = order (n entries). */
static void fwp_machine(mb_win32 *w, const uint8_t *order, int n)
{
        mb_guid bm = G("9dea862c-5cdd-4e70-acc1-f32b344d4795"), id = G(CLONED_ENTRY);
        mb_bcd_device dev;
        mb_error err;
        mb_bcd *b;

        seed_machine("disk1_layout_seed.hex");
        memset(&dev, 0, sizeof(dev));
        dev.kind = MB_BCD_DEV_PARTITION;
        dev.disk_guid = G(DISK1_GUID);
        dev.partition_guid = G(ESP1_GUID);
        cr_assert_eq(mb_bcd_open(rg.live, 1, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_copy_object(b, &bm, &id, "Windows Boot Manager Cloned", &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_set_device(b, &id, MB_BCDE_DEVICE, &dev, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_bcd_commit(b, &err), 0, "%s", err.msg);
        mb_bcd_close(b);
        free(fwp.boot0001.data);
        free(fwp.boot0002.data);
        fwp.boot0001 = pxe_option();
        fwp.boot0002 = disk_option("Windows Boot Manager Cloned", ESP1_GUID);
        fwp.bcdedit_adds = true;
        memcpy(fk.boot_order, order, (size_t)n * 2);
        fk.n_boot_order = n;
        *w = fake_table;
        w->GetFirmwareEnvironmentVariableW = fwp_GetFirmwareEnvironmentVariableW;
        w->CreateProcessW = fwp_CreateProcessW;
}

static mb_op fwp_op(void)
{
        mb_op op;

        memset(&op, 0, sizeof(op));
        op.kind = MB_OP_FW_ENTRY;
        op.disk = 1;
        op.role = MB_ROLE_EFI;
        op.position = MB_POS_LAST;
        op.number = 0xffff;
        snprintf(op.description, sizeof(op.description), "Windows Boot Manager Cloned");
        snprintf(op.path, sizeof(op.path), "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        return op;
}

static bool ran(const char *command)
{
        for (int i = 0; i < fk.n_cmd && i < 8; i++)
                if (strstr(fk.cmdlines[i], command))
                        return true;
        return false;
}

Test(windows_fw_place, pxe_after_windows_boot_manager)
{
        mb_win32 w;
        mb_win_target t = target();
        mb_op op = fwp_op();
        mb_error err;

        fwp_machine(&w, (const uint8_t[]){ 0x00, 0x00, 0x01, 0x00 }, 2);      /* WBM, PXE */
        t.w = &w;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(ran("bcdedit.exe\" /set {fwbootmgr} displayorder {" CLONED_ENTRY "} /addlast"));
        /* one variable written, BootOrder: Windows Boot Manager, Cloned, PXE */
        cr_assert_eq(fk.n_fw_set, 1, "%d variables written (first %s)", fk.n_fw_set, fk.fw_set[0]);
        cr_assert_str_eq(fk.fw_set[0], "BootOrder");
        cr_assert_eq(fk.fw_set_len[0], 6);
        cr_assert_eq(memcmp(fk.fw_set_data[0], (const uint8_t[]){ 0x00, 0x00, 0x02, 0x00, 0x01, 0x00 }, 6), 0,
                     "BootOrder %02x%02x,%02x%02x,%02x%02x", fk.fw_set_data[0][1], fk.fw_set_data[0][0],
                     fk.fw_set_data[0][3], fk.fw_set_data[0][2], fk.fw_set_data[0][5], fk.fw_set_data[0][4]);
}

Test(windows_fw_place, already_after_the_disk_entries_writes_nothing)
{
        mb_win32 w;
        mb_win_target t = target();
        mb_op op = fwp_op();
        mb_error err;

        fwp_machine(&w, (const uint8_t[]){ 0x00, 0x00 }, 1);  /* WBM only: /addlast is the place */
        t.w = &w;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(ran("/addlast"));
        cr_assert_eq(fk.n_fw_set, 0, "wrote %s", fk.fw_set[0]);
}

Test(windows_fw_place, a_listed_entry_that_is_gone_counts_as_no_disk)
{
        mb_win32 w;
        mb_win_target t = target();
        mb_op op = fwp_op();
        mb_error err;

        /* PXE, WBM, Boot0009 (no variable), after bcdedit: ..., Cloned */
        fwp_machine(&w, (const uint8_t[]){ 0x01, 0x00, 0x00, 0x00, 0x09, 0x00 }, 3);
        t.w = &w;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 1);
        cr_assert_eq(fk.fw_set_len[0], 8);
        cr_assert_eq(memcmp(fk.fw_set_data[0],
                            (const uint8_t[]){ 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x09, 0x00 }, 8), 0);
}

Test(windows_fw_place, bcdedit_added_nothing_is_an_error_and_writes_nothing)
{
        mb_win32 w;
        mb_win_target t = target();
        mb_op op = fwp_op();
        mb_error err;

        fwp_machine(&w, (const uint8_t[]){ 0x00, 0x00, 0x01, 0x00 }, 2);
        fwp.bcdedit_adds = false;
        t.w = &w;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "BootOrder has no entry \"Windows Boot Manager Cloned\" naming partition "
                                  ESP1_GUID), "%s", err.msg);
        cr_assert_eq(fk.n_fw_set, 0);
}

Test(windows_fw_place, first_is_bcdedit_addfirst_alone)
{
        mb_win32 w;
        mb_win_target t = target();
        mb_op op = fwp_op();
        mb_error err;

        fwp_machine(&w, (const uint8_t[]){ 0x00, 0x00, 0x01, 0x00 }, 2);
        op.position = MB_POS_FIRST;
        t.w = &w;
        cr_assert_eq(mb_win_execute(&t, &op, NULL, &err), 0, "%s", err.msg);
        cr_assert(ran("displayorder {" CLONED_ENTRY "} /addfirst"));
        cr_assert_eq(fk.n_fw_set, 0);
}
