/* SPDX-License-Identifier: MIT */
/*
 * Reading the live Windows machine's facts through the call table: disks by
 * their IOCTLs, volumes and their mount points, the dynamic-disk database
 * and VDS plex states, the BCD stores and the firmware, into one mb_facts.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format/ldm/ldm.h"
#include "blockdev.h"
#include "sha256.h"
#include "vds.h"

#define MAX_DISKS 64
#define EFI_GLOBAL_VARIABLE_GUID "{8be4df61-93ca-11d2-aa0d-00e098032b8c}"

void mb_win_disk_path(uint32_t number, char buf[32])
{
        snprintf(buf, 32, "\\\\.\\PhysicalDrive%u", number);
}

/* CreateFileW on a UTF-8 name; INVALID_HANDLE_VALUE with *ret_error set. */
HANDLE mb_win_open(const mb_win32 *w, const char *name, DWORD access, DWORD flags,
                   DWORD *ret_error)
{
        WCHAR *wn = mb_w_from_utf8(name);
        HANDLE h;

        if (!wn) {
                *ret_error = ERROR_INVALID_PARAMETER;
                return INVALID_HANDLE_VALUE;
        }
        h = w->CreateFileW(wn, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                           flags, NULL);
        *ret_error = h == INVALID_HANDLE_VALUE ? w->GetLastError() : 0;
        free(wn);
        return h;
}

void *mb_win_io_alloc(const mb_win32 *w, size_t len)
{
        return w->VirtualAlloc(NULL, (SIZE_T)len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
}

void mb_win_io_free(const mb_win32 *w, void *buf)
{
        if (buf)
                w->VirtualFree(buf, 0, MEM_RELEASE);
}

int mb_win_ioctl(const mb_win32 *w, HANDLE h, DWORD code, const char *code_name,
                 const char *what, const void *in, size_t in_len, void **ret, size_t *ret_len,
                 mb_error *err)
{
        return mb_win_ioctl_e(w, h, code, code_name, what, in, in_len, ret, ret_len, NULL, err);
}

int mb_win_ioctl_e(const mb_win32 *w, HANDLE h, DWORD code, const char *code_name,
                   const char *what, const void *in, size_t in_len, void **ret, size_t *ret_len,
                   DWORD *ret_error, mb_error *err)
{
        size_t size = 4096;

        for (int tries = 0; tries < 8; tries++, size *= 4) {
                void *buf = calloc(1, size);
                DWORD got = 0, e;

                if (!buf)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                if (w->DeviceIoControl(h, code, (LPVOID)in, (DWORD)in_len, buf, (DWORD)size, &got,
                                       NULL)) {
                        *ret = buf;
                        *ret_len = got;
                        return 0;
                }
                e = w->GetLastError();
                free(buf);
                if (ret_error)
                        *ret_error = e;
                if (e != ERROR_INSUFFICIENT_BUFFER && e != ERROR_MORE_DATA)
                        return mb_w_error(err, e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION
                                                       ? MB_ENOTSUP : MB_EIO,
                                          e, "DeviceIoControl", "%s %s", code_name, what);
        }
        return mb_error_set(err, MB_EIO, "%s %s: the answer does not fit in %zu bytes", code_name,
                            what, size);
}

static int query_property(const mb_win32 *w, HANDLE h, STORAGE_PROPERTY_ID id, const char *what,
                          void **ret, size_t *ret_len, mb_error *err)
{
        STORAGE_PROPERTY_QUERY q;

        memset(&q, 0, sizeof(q));
        q.PropertyId = id;
        q.QueryType = PropertyStandardQuery;
        return mb_win_ioctl(w, h, IOCTL_STORAGE_QUERY_PROPERTY, "IOCTL_STORAGE_QUERY_PROPERTY", what,
                            &q, sizeof(q), ret, ret_len, err);
}

/* What a drive without media (an empty card reader, BMC virtual media with
 * nothing attached) answers: "The device is not ready", "No media in drive". */
static bool no_media(DWORD e)
{
        return e == ERROR_NOT_READY || e == ERROR_NO_MEDIA_IN_DRIVE;
}

/* Fills d from the disk's IOCTLs. MB_ENOENT when there is no such disk,
 * MB_ENOMEDIUM_ (err cleared) when the drive has no media: such a drive
 * holds nothing mbstate could use or change. */
#define MB_ENOMEDIUM_ 1
static int read_disk(const mb_win32 *w, uint32_t number, mb_disk_fact *d, mb_error *err)
{
        char path[32], what[64], loc[96];
        const char *bus = NULL;
        void *buf = NULL;
        size_t len = 0;
        DWORD e;
        HANDLE h;
        int r;

        mb_win_disk_path(number, path);
        snprintf(what, sizeof(what), "on disk %u ('%s')", number, path);
        h = mb_win_open(w, path, GENERIC_READ, 0, &e);
        if (h == INVALID_HANDLE_VALUE) {
                if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
                        return MB_ENOENT;
                if (no_media(e))
                        return MB_ENOMEDIUM_;
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open disk %u ('%s')",
                                  number, path);
        }
        d->number = number;
        d->path = mb_strdup(path);

        e = 0;
        r = mb_win_ioctl_e(w, h, IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX",
                           what, NULL, 0, &buf, &len, &e, err);
        if (r < 0 && no_media(e)) {
                mb_error_clear(err);
                w->CloseHandle(h);
                return MB_ENOMEDIUM_;
        }
        if (r == 0)
                r = mb_win_parse_geometry(buf, len, d, err);
        free(buf);
        buf = NULL;
        if (r < 0)
                goto out;
        r = mb_win_read_sector_sizes(w, h, what, d, err);
        if (r < 0)
                goto out;

        r = query_property(w, h, StorageDeviceProperty, what, &buf, &len, err);
        if (r == 0)
                r = mb_win_parse_device_descriptor(buf, len, d, &bus, err);
        free(buf);
        buf = NULL;
        if (r < 0)
                goto out;

        r = query_property(w, h, StorageDeviceIdProperty, what, &buf, &len, err);
        if (r == 0)
                r = mb_win_parse_device_id(buf, len, d, err);
        else if (r == MB_ENOTSUP)
                r = 0;  /* not every bus reports device identifiers */
        free(buf);
        buf = NULL;
        if (r < 0)
                goto out;

        if (mb_win_ioctl(w, h, IOCTL_SCSI_GET_ADDRESS, "IOCTL_SCSI_GET_ADDRESS", what, NULL, 0,
                         &buf, &len, NULL) == 0 && len >= sizeof(SCSI_ADDRESS)) {
                SCSI_ADDRESS a;

                memcpy(&a, buf, sizeof(a));
                snprintf(loc, sizeof(loc), "%s:port%u:path%u:target%u:lun%u", bus ? bus : "unknown",
                         a.PortNumber, a.PathId, a.TargetId, a.Lun);
                d->location = mb_strdup(loc);
        } else if (bus) {
                d->location = mb_strdup(bus);
        }
        free(buf);
        buf = NULL;

        r = mb_win_ioctl(w, h, IOCTL_DISK_GET_DISK_ATTRIBUTES, "IOCTL_DISK_GET_DISK_ATTRIBUTES",
                         what, NULL, 0, &buf, &len, err);
        if (r == 0)
                r = mb_win_parse_disk_attributes(buf, len, d, err);
        free(buf);
        buf = NULL;
        if (r < 0)
                goto out;

        r = mb_win_ioctl(w, h, IOCTL_DISK_GET_DRIVE_LAYOUT_EX, "IOCTL_DISK_GET_DRIVE_LAYOUT_EX",
                         what, NULL, 0, &buf, &len, err);
        if (r == 0)
                r = mb_win_parse_layout(buf, len, d, err);
        free(buf);
        if (r < 0)
                mb_error_prefix(err, "disk %u", number);
out:
        w->CloseHandle(h);
        return r;
}

const mb_win_volume *mb_win_volmap_by_nt(const mb_win_volmap *m, const char *nt)
{
        for (size_t i = 0; m && i < m->n; i++)
                if (m->v[i].nt[0] && strcasecmp(m->v[i].nt, nt) == 0)
                        return &m->v[i];
        return NULL;
}

const mb_win_volume *mb_win_volmap_by_part(const mb_win_volmap *m, uint32_t disk,
                                           const char *part_guid)
{
        for (size_t i = 0; m && part_guid && i < m->n; i++)
                if (m->v[i].disk == (int32_t)disk && strcasecmp(m->v[i].part_guid, part_guid) == 0)
                        return &m->v[i];
        return NULL;
}

void mb_win_volmap_clear(mb_win_volmap *m)
{
        free(m->v);
        m->v = NULL;
        m->n = 0;
}

static mb_fs fs_from_name(const char *n)
{
        if (strcasecmp(n, "NTFS") == 0)
                return MB_FS_NTFS;
        if (strcasecmp(n, "FAT32") == 0)
                return MB_FS_FAT32;
        return n[0] ? MB_FS_OTHER : MB_FS_NONE;
}

/* Extents, NT name, file system of one volume; matched against f's partitions. */
static int read_volume(const mb_win32 *w, const WCHAR *wname, mb_facts *f, mb_win_volume *v,
                       mb_error *err)
{
        char *name = mb_w_to_utf8(wname), *dev;
        WCHAR target[128], label[64], fsname[32];
        void *buf = NULL;
        size_t len = 0, n;
        HANDLE h;
        DWORD e;
        int r;

        memset(v, 0, sizeof(*v));
        v->disk = -1;
        if (!name)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        snprintf(v->name, sizeof(v->name), "%s", name);
        n = strlen(name);
        /* "\\?\Volume{...}\" -> device "\\?\Volume{...}" and DOS name "Volume{...}" */
        if (n > 4 && name[n - 1] == '\\')
                name[n - 1] = '\0';
        dev = name;
        {
                WCHAR *dos = mb_w_from_utf8(dev + 4);

                if (dos && w->QueryDosDeviceW(dos, target, 128)) {
                        char *t = mb_w_to_utf8_n(target, 128);

                        if (t)
                                snprintf(v->nt, sizeof(v->nt), "%s", t);
                        free(t);
                }
                free(dos);
        }
        h = mb_win_open(w, dev, 0, 0, &e);
        if (h == INVALID_HANDLE_VALUE) {
                free(name);
                return 0;       /* a volume that vanished or cannot be queried: not ours */
        }
        r = mb_win_ioctl(w, h, IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS,
                         "IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS", v->name, NULL, 0, &buf, &len, err);
        w->CloseHandle(h);
        if (r == MB_ENOTSUP || r == MB_EIO) {
                /* CD-ROMs and offline volumes have no disk extents. */
                free(buf);
                free(name);
                mb_error_clear(err);
                return 0;
        }
        if (r == 0)
                r = mb_win_parse_extents(buf, len, v->ext, 8, &v->n_ext, err);
        free(buf);
        free(name);
        if (r < 0 || v->n_ext == 0)
                return r;
        v->disk = (int32_t)v->ext[0].disk;

        label[0] = fsname[0] = 0;
        if (!w->GetVolumeInformationW(wname, label, 64, NULL, NULL, NULL, fsname, 32))
                label[0] = fsname[0] = 0;

        if (v->n_ext == 1) {
                mb_disk_fact *d = mb_facts_disk(f, v->ext[0].disk);

                for (uint32_t i = 0; d && i < d->n_partitions; i++) {
                        mb_part_fact *p = &d->partitions[i];
                        uint32_t ss = d->sector_size;

                        if (p->first_lba * ss != v->ext[0].offset ||
                            (p->last_lba - p->first_lba + 1) * ss != v->ext[0].length)
                                continue;
                        v->part_number = p->number;
                        snprintf(v->part_guid, sizeof(v->part_guid), "%s",
                                 p->unique_guid ? p->unique_guid : "");
                        snprintf(v->disk_guid, sizeof(v->disk_guid), "%s",
                                 d->disk_guid ? d->disk_guid : "");
                        {
                                char *fs8 = mb_w_to_utf8_n(fsname, 32);
                                char *lb8 = mb_w_to_utf8_n(label, 64);

                                p->fs = fs8 ? fs_from_name(fs8) : MB_FS_NONE;
                                free(p->label);
                                p->label = lb8 && lb8[0] ? lb8 : NULL;
                                if (!p->label)
                                        free(lb8);
                                free(fs8);
                        }
                        break;
                }
        }
        return 0;
}

int mb_win_volmap_read(const mb_win32 *w, mb_facts *f, mb_win_volmap *ret, mb_error *err)
{
        WCHAR name[MAX_PATH];
        mb_win_volmap m = { 0 };
        HANDLE fh;
        int r = 0;

        fh = w->FindFirstVolumeW(name, MAX_PATH);
        if (fh == INVALID_HANDLE_VALUE) {
                DWORD e = w->GetLastError();

                if (e == ERROR_NO_MORE_FILES) {
                        *ret = m;
                        return 0;
                }
                return mb_w_error(err, MB_EIO, e, "FindFirstVolumeW", "cannot list volumes");
        }
        do {
                mb_win_volume *nv = mb_reallocarray(m.v, m.n + 1, sizeof(*nv));

                if (!nv) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                m.v = nv;
                r = read_volume(w, name, f, &nv[m.n], err);
                if (r < 0)
                        break;
                if (nv[m.n].n_ext > 0)
                        m.n++;
        } while (w->FindNextVolumeW(fh, name, MAX_PATH));
        w->FindVolumeClose(fh);
        if (r < 0) {
                mb_win_volmap_clear(&m);
                return r;
        }
        *ret = m;
        return 0;
}

/* Marks the disk that holds the system partition the machine booted from;
 * *ret_nt is its NT device name (malloc'd) or NULL. */
static void mark_system_disk(const mb_win32 *w, mb_facts *f, const mb_win_volmap *m, char **ret_nt)
{
        WCHAR value[128];
        DWORD len = sizeof(value);
        const mb_win_volume *v;
        WCHAR *key = mb_w_from_utf8("SYSTEM\\Setup"), *val = mb_w_from_utf8("SystemPartition");
        char *nt = NULL;

        if (key && val &&
            w->RegGetValueW(HKEY_LOCAL_MACHINE, key, val, RRF_RT_REG_SZ, NULL, value, &len) == 0)
                nt = mb_w_to_utf8_n(value, 128);
        free(key);
        free(val);
        if (nt && (v = mb_win_volmap_by_nt(m, nt)) && v->disk >= 0) {
                mb_disk_fact *d = mb_facts_disk(f, (uint32_t)v->disk);

                if (d)
                        d->system = true;
        }
        *ret_nt = nt;
}

/*
 * Where the running system's boot volume starts: the volume holding the
 * Windows directory (GetSystemWindowsDirectoryW, "C:\\Windows"), through
 * its drive letter's NT device (QueryDosDeviceW("C:")) to the volume of that
 * NT name and its first disk extent (IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS).
 * disk -1 when a step does not tell; then the LDM database alone decides
 * which volume is the os volume.
 */
static mb_ldm_boot boot_volume(const mb_win32 *w, const mb_facts *f, const mb_win_volmap *m)
{
        mb_ldm_boot b = { .disk = -1 };
        WCHAR dir[MAX_PATH], drive[3], target[128];
        const mb_win_volume *v;
        const mb_disk_fact *d;
        UINT n = w->GetSystemWindowsDirectoryW(dir, MAX_PATH);
        char *nt;

        if (n < 2 || n >= MAX_PATH || dir[1] != ':')
                return b;
        drive[0] = dir[0], drive[1] = ':', drive[2] = 0;
        if (!w->QueryDosDeviceW(drive, target, 128))
                return b;
        nt = mb_w_to_utf8_n(target, 128);
        v = nt ? mb_win_volmap_by_nt(m, nt) : NULL;
        free(nt);
        if (!v || v->n_ext == 0)
                return b;
        d = mb_facts_disk((mb_facts *)f, v->ext[0].disk);
        b.disk = (int32_t)v->ext[0].disk;
        b.first_lba = v->ext[0].offset / (d && d->sector_size ? d->sector_size : 512);
        return b;
}

/* ---- ESP file lists ---- */

typedef struct file_list {
        mb_file_fact *v;
        uint32_t n;
} file_list;

#define BOOT_PROGRAM_MAX (256u << 20)

/* Reads the open h to its end through buf (its size the ReadFile size),
 * SHA-256 into ret_hex and the byte count into *ret_total; with ret_data its
 * bytes too (malloc'd; NULL when larger than BOOT_PROGRAM_MAX), from the same
 * reads. Does not close h; errors name path. */
static int hash_handle(const mb_win32 *w, HANDLE h, const char *path, uint8_t *buf, DWORD buflen,
                       uint64_t *ret_total, char ret_hex[65], uint8_t **ret_data, mb_error *err)
{
        mb_sha256 s;
        uint64_t total = 0;
        uint8_t *keep = NULL;
        bool keeping = ret_data != NULL;
        DWORD got;

        mb_sha256_init(&s);
        for (;;) {
                if (!w->ReadFile(h, buf, buflen, &got, NULL)) {
                        DWORD e = w->GetLastError();

                        free(keep);
                        return mb_w_error(err, MB_EIO, e, "ReadFile", "cannot read '%s'", path);
                }
                if (got == 0)
                        break;
                mb_sha256_update(&s, buf, got);
                if (keeping && total + got <= BOOT_PROGRAM_MAX) {
                        uint8_t *grown = realloc(keep, (size_t)total + got);

                        if (!grown) {
                                free(keep);
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        }
                        keep = grown;
                        memcpy(keep + total, buf, got);
                } else if (keeping) {
                        free(keep);
                        keep = NULL;
                        keeping = false;
                }
                total += got;
        }
        mb_sha256_final_hex(&s, ret_hex);
        *ret_total = total;
        if (ret_data)
                *ret_data = keep;
        return 0;
}

/* SHA-256 and size of a file; with ret_data (boot programs) its bytes too
 * (malloc'd; NULL when larger than BOOT_PROGRAM_MAX), from the same reads. */
static int hash_file_keep(const mb_win32 *w, const char *path, uint64_t *ret_size, char ret_hex[65],
                          uint8_t **ret_data, mb_error *err)
{
        static uint8_t buf[65536];
        DWORD e;
        HANDLE h = mb_win_open(w, path, GENERIC_READ, 0, &e);
        int r;

        if (ret_data)
                *ret_data = NULL;
        if (h == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open '%s'", path);
        r = hash_handle(w, h, path, buf, sizeof(buf), ret_size, ret_hex, ret_data, err);
        w->CloseHandle(h);
        return r;
}

static int hash_file(const mb_win32 *w, const char *path, uint64_t *ret_size, char ret_hex[65],
                     mb_error *err)
{
        return hash_file_keep(w, path, ret_size, ret_hex, NULL, err);
}

/* The ESP files whose PE facts the verdict needs (bootability.h). */
static bool is_boot_program(const char *rel)
{
        return strcasecmp(rel, "EFI/Microsoft/Boot/bootmgfw.efi") == 0 ||
               strcasecmp(rel, "EFI/Boot/bootx64.efi") == 0;
}

/* The ESP being listed. */
typedef struct esp_walk {
        const char *root;               /* "\\?\Volume{...}\" */
        bool system;                    /* the running system's ESP (its BCD is the live store) */
        const char *system_digest;      /* mb_bcd_objects_digest of the live store, or NULL */
        uint64_t system_digest_size;
        const char *store;              /* the store's name in its fact ("disk 1 partition 1 ...") */
        mb_bcd_fact **ret_bcd;          /* where the store read is put (not the system ESP's) */
} esp_walk;

#define BOOT_DIR "EFI/Microsoft/Boot/"

/* The hive's transaction logs: held open with the live store, rewritten
 * whenever bcdedit opens a store; not content. */
static bool is_bcd_log(const char *rel)
{
        return strncasecmp(rel, BOOT_DIR "BCD.LOG", strlen(BOOT_DIR "BCD.LOG")) == 0 &&
               !strchr(rel + strlen(BOOT_DIR), '/');
}

/*
 * The BCD store's fact: SHA-256 of its objects as data
 * (mb_bcd_objects_digest), not of the hive's bytes, so the live store and
 * its `bcdedit /export` copy on the other ESP compare equal exactly when
 * they hold the same objects and elements. The live store's file is held
 * open by the registry: the system ESP's BCD is the store read from
 * HKLM\BCD00000000. Another ESP's store is loaded with RegLoadAppKeyW
 * (through its volume GUID path, no drive letter) and its objects become
 * that partition's bcd fact (*e->ret_bcd); one that cannot be loaded, or is
 * no BCD store, is hashed as bytes and leaves the fact NULL: the file is
 * listed while the partition has no store, which is how facts say "a BCD
 * that is no readable store" (it differs, and the next ESP sync replaces it).
 */
static int bcd_fact(const mb_win32 *w, const esp_walk *e, const char *full, uint64_t *ret_size,
                    char ret_hex[65], mb_error *err);

/* Walks e->root (ending in '\'), rel is the '/'-separated path below it. */
static int walk(const mb_win32 *w, const esp_walk *e, const char *rel, file_list *out, int depth,
                mb_error *err)
{
        const char *root = e->root;

        WIN32_FIND_DATAW fd;
        char pattern[1024];
        WCHAR *wp;
        HANDLE fh;
        int r = 0;

        if (depth > 16)
                return 0;
        snprintf(pattern, sizeof(pattern), "%s%s*", root, rel);
        for (char *c = pattern + strlen(root); *c; c++)
                if (*c == '/')
                        *c = '\\';
        wp = mb_w_from_utf8(pattern);
        if (!wp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fh = w->FindFirstFileW(wp, &fd);
        free(wp);
        if (fh == INVALID_HANDLE_VALUE)
                return 0;
        do {
                char *n = mb_w_to_utf8_n(fd.cFileName, MAX_PATH), sub[1024], full[1024];

                if (!n) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
                    (depth == 0 && strcasecmp(n, "System Volume Information") == 0)) {
                        free(n);
                        continue;
                }
                snprintf(sub, sizeof(sub), "%s%s", rel, n);
                free(n);
                if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
                        char dir[1030];

                        snprintf(dir, sizeof(dir), "%s/", sub);
                        r = walk(w, e, dir, out, depth + 1, err);
                } else if (is_bcd_log(sub)) {
                        continue;
                } else {
                        mb_file_fact *nv = mb_reallocarray(out->v, out->n + 1, sizeof(*nv));
                        mb_image_fact *image = NULL;
                        uint8_t *data = NULL;
                        char hex[65];
                        uint64_t size = 0;

                        if (!nv) {
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        out->v = nv;
                        snprintf(full, sizeof(full), "%s%s", root, sub);
                        for (char *c = full + strlen(root); *c; c++)
                                if (*c == '/')
                                        *c = '\\';
                        if (strcasecmp(sub, BOOT_DIR "BCD") == 0)
                                r = bcd_fact(w, e, full, &size, hex, err);
                        else if (is_boot_program(sub))
                                r = hash_file_keep(w, full, &size, hex, &data, err);
                        else
                                r = hash_file(w, full, &size, hex, err);
                        if (r == 0 && data)
                                r = mb_win_boot_image(w, full, data, (size_t)size, &image, err);
                        free(data);
                        if (r == 0) {
                                char p[1030];

                                snprintf(p, sizeof(p), "/%s", sub);
                                memset(&nv[out->n], 0, sizeof(nv[out->n]));
                                nv[out->n].path = mb_strdup(p);
                                nv[out->n].size = size;
                                nv[out->n].sha256 = mb_strdup(hex);
                                nv[out->n].image = image;
                                out->n++;
                        }
                }
        } while (r == 0 && w->FindNextFileW(fh, &fd));
        w->FindClose(fh);
        return r;
}

static int bcd_fact(const mb_win32 *w, const esp_walk *e, const char *full, uint64_t *ret_size,
                    char ret_hex[65], mb_error *err)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        DWORD load_error = 0;
        int r;

        if (e->system && e->system_digest) {
                memcpy(ret_hex, e->system_digest, 65);
                *ret_size = e->system_digest_size;
                return 0;
        }
        r = mb_win_bcd_read_file(w, full, &objs, &n, &load_error, err);
        if (r < 0 && (load_error != 0 || r == MB_ECORRUPT)) {
                mb_error_clear(err);
                return hash_file(w, full, ret_size, ret_hex, err);
        }
        if (r == 0)
                r = mb_bcd_objects_digest(objs, n, ret_size, ret_hex, err);
        if (r == 0 && e->ret_bcd) {
                mb_bcd_fact_free(*e->ret_bcd);
                *e->ret_bcd = NULL;
                r = mb_bcd_objects_to_fact(objs, n, e->store, e->ret_bcd, err);
        }
        mb_bcd_objects_free(objs, n);
        return r;
}

static int file_cmp(const void *a, const void *b)
{
        return strcmp(((const mb_file_fact *)a)->path, ((const mb_file_fact *)b)->path);
}

static int read_esp_files(const mb_win32 *w, mb_facts *f, const mb_win_volmap *m,
                          const char *system_esp_nt, const char *system_digest,
                          uint64_t system_digest_size, mb_error *err)
{
        for (uint32_t i = 0; i < f->n_disks; i++)
                for (uint32_t j = 0; j < f->disks[i].n_partitions; j++) {
                        mb_part_fact *p = &f->disks[i].partitions[j];
                        const mb_win_volume *v;
                        file_list l = { 0 };
                        int r;

                        if (p->role != MB_ROLE_EFI ||
                            !(v = mb_win_volmap_by_part(m, f->disks[i].number, p->unique_guid)))
                                continue;
                        {
                                char store[96];
                                esp_walk e = { .root = v->name, .system_digest = system_digest,
                                               .system_digest_size = system_digest_size,
                                               .store = store };

                                snprintf(store, sizeof(store), "disk %u partition %u /" BOOT_DIR "BCD",
                                         f->disks[i].number, p->number);
                                e.system = system_esp_nt && v->nt[0] &&
                                           strcasecmp(v->nt, system_esp_nt) == 0;
                                e.ret_bcd = e.system ? NULL : &p->bcd;
                                r = walk(w, &e, "", &l, 0, err);
                        }
                        if (r < 0) {
                                for (uint32_t k = 0; k < l.n; k++) {
                                        free(l.v[k].path);
                                        free(l.v[k].sha256);
                                        mb_image_fact_free(l.v[k].image);
                                }
                                free(l.v);
                                return mb_error_prefix(err, "reading the ESP of disk %u",
                                                       f->disks[i].number);
                        }
                        if (l.n > 1)
                                qsort(l.v, l.n, sizeof(*l.v), file_cmp);
                        p->files = l.v;
                        p->n_files = l.n;
                }
        return 0;
}

/* ---- BCD and firmware ---- */

/* The live store's objects as f->bcd, and their digest for the system
 * ESP's BCD file fact. */
static int read_bcd(const mb_win32 *w, mb_facts *f, uint64_t *ret_size, char ret_hex[65],
                    mb_error *err)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        int r = mb_win_bcd_read_live(w, &objs, &n, err);

        if (r < 0)
                return r;
        r = mb_bcd_objects_to_fact(objs, n, "system store (HKLM\\" MB_WIN_BCD_LIVE_KEY ")",
                                   &f->bcd, err);
        if (r == 0)
                r = mb_bcd_objects_digest(objs, n, ret_size, ret_hex, err);
        mb_bcd_objects_free(objs, n);
        return r;
}

/* The volume holding the partition p of disk df: the volume one of whose
 * extents starts where p starts (a basic partition's volume, or the
 * mirror volume of which p is a plex). */
static const mb_win_volume *volume_of_part(const mb_win_volmap *m, const mb_disk_fact *df,
                                           const mb_part_fact *p)
{
        uint64_t start = p->first_lba * mb_disk_sector(df);

        for (size_t i = 0; i < m->n; i++)
                for (size_t k = 0; k < m->v[i].n_ext; k++)
                        if (m->v[i].ext[k].disk == df->number && m->v[i].ext[k].offset == start)
                                return &m->v[i];
        return NULL;
}

/*
 * Each os-loader of store b (the live one or another ESP's): its path
 * looked up on the volume its device names: the volume's GUID path joined
 * with the loader's path
 * ("\\?\Volume{...}\Windows\system32\winload.efi"; Microsoft, "Naming a
 * Volume": a volume GUID path stands where a drive letter's root would)
 * given to GetFileAttributesW, which compares names without case as the
 * boot manager's NTFS does. A file that is not a directory exists;
 * ERROR_FILE_NOT_FOUND and ERROR_PATH_NOT_FOUND say it does not; any other
 * answer leaves the path unchecked. A mirror volume is read through the
 * volume manager, from whichever plex it serves: the lookup names the
 * volume, not one plex. A ramdisk (WinRE) loads its path from inside its
 * WIM image, which is not looked into.
 */
static int read_loader_paths(const mb_win32 *w, mb_facts *f, mb_bcd_fact *b,
                             const mb_win_volmap *m, mb_error *err)
{
        for (uint32_t i = 0; b && i < b->n_objects; i++) {
                mb_bcd_object_fact *o = &b->objects[i];
                mb_disk_fact *df = NULL;
                const mb_part_fact *p;
                const mb_win_volume *v;
                char path[1024], where[160];
                WCHAR *wp;
                DWORD a, e;
                size_t n;
                int len;

                if (!o->type || strcmp(o->type, "os-loader") != 0 || !o->path || !o->device ||
                    !o->device->kind || strcmp(o->device->kind, "partition") != 0 ||
                    !o->device->partition)
                        continue;
                p = mb_facts_part_by_guid(f, o->device->partition, &df);
                v = p && df ? volume_of_part(m, df, p) : NULL;
                if (!v || !v->name[0])
                        continue;
                n = strlen(v->name);
                len = snprintf(path, sizeof(path), "%.*s\\%s", (int)(v->name[n - 1] == '\\' ? n - 1 : n),
                               v->name, o->path + (o->path[0] == '\\'));
                if (len < 0 || (size_t)len >= sizeof(path))
                        continue;       /* longer than any loader path: not looked up */
                wp = mb_w_from_utf8(path);
                if (!wp)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                a = w->GetFileAttributesW(wp);
                e = a == INVALID_FILE_ATTRIBUTES ? w->GetLastError() : 0;
                free(wp);
                if (a == INVALID_FILE_ATTRIBUTES && e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
                        continue;
                snprintf(where, sizeof(where), "%s (disk %u partition %u)", v->nt[0] ? v->nt : v->name,
                         df->number, p->number);
                if (!(o->path_check = calloc(1, sizeof(*o->path_check))) ||
                    !(o->path_check->volume = mb_strdup(where)))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                o->path_check->exists = a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
        }
        return 0;
}

static int enable_privilege(const mb_win32 *w, const char *name)
{
        HANDLE tok;
        TOKEN_PRIVILEGES tp;
        WCHAR *wn = mb_w_from_utf8(name);
        BOOL ok;

        if (!wn)
                return -1;
        if (!w->OpenProcessToken(w->GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok)) {
                free(wn);
                return -1;
        }
        memset(&tp, 0, sizeof(tp));
        tp.PrivilegeCount = 1;
        tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
        ok = w->LookupPrivilegeValueW(NULL, wn, &tp.Privileges[0].Luid) &&
             w->AdjustTokenPrivileges(tok, FALSE, &tp, sizeof(tp), NULL, NULL) &&
             w->GetLastError() == ERROR_SUCCESS;
        free(wn);
        w->CloseHandle(tok);
        return ok ? 0 : -1;
}

static int read_firmware(const mb_win32 *w, mb_facts *f, mb_error *err)
{
        uint8_t buf[4096];
        WCHAR *guid = mb_w_from_utf8(EFI_GLOBAL_VARIABLE_GUID), *name;
        mb_firmware_fact *fw;
        DWORD len;
        int r = 0;

        if (!guid)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (enable_privilege(w, "SeSystemEnvironmentPrivilege") < 0) {
                free(guid);
                return mb_error_set(err, MB_EUNSAFE,
                                    "cannot enable SeSystemEnvironmentPrivilege to read the firmware boot entries");
        }
        name = mb_w_from_utf8("BootOrder");
        len = name ? w->GetFirmwareEnvironmentVariableW(name, guid, buf, sizeof(buf)) : 0;
        free(name);
        if (len == 0) {
                DWORD e = w->GetLastError();

                /* No BootOrder is the empty boot order: a variable of zero
                 * bytes cannot exist (writing size 0 deletes it). */
                if (e != ERROR_ENVVAR_NOT_FOUND) {
                        free(guid);
                        return mb_w_error(err, MB_EIO, e, "GetFirmwareEnvironmentVariableW",
                                          "cannot read the firmware variable BootOrder");
                }
        }
        fw = calloc(1, sizeof(*fw));
        if (!fw || !(fw->order = calloc(len / 2 + 1, sizeof(uint32_t))) ||
            !(fw->entries = calloc(len / 2 + 1, sizeof(*fw->entries)))) {
                if (fw) {
                        free(fw->order);
                        free(fw);
                }
                free(guid);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        f->firmware = fw;
        for (DWORD i = 0; i + 1 < len; i += 2)
                fw->order[fw->n_order++] = (uint32_t)(buf[i] | buf[i + 1] << 8);
        for (uint32_t i = 0; i < fw->n_order && r == 0; i++) {
                uint8_t opt[4096];
                char vn[16];
                DWORD olen;

                snprintf(vn, sizeof(vn), "Boot%04X", fw->order[i]);
                name = mb_w_from_utf8(vn);
                olen = name ? w->GetFirmwareEnvironmentVariableW(name, guid, opt, sizeof(opt)) : 0;
                free(name);
                if (olen == 0)
                        continue;       /* BootOrder may name an entry that is gone */
                r = mb_win_parse_load_option(opt, olen, fw->order[i], &fw->entries[fw->n_entries],
                                             err);
                if (r == 0)
                        fw->n_entries++;
        }
        free(guid);
        if (r == 0)
                r = mb_win_read_secure_boot(w, fw, err);
        return r;
}

#define HASH_CHUNK (1u << 20)

int mb_win_hash_device_range(const mb_win32 *w, const char *name, uint64_t offset,
                             uint64_t length, char ret_hex[65], mb_error *err)
{
        LARGE_INTEGER pos;
        uint64_t done = 0;
        uint8_t *buf;
        mb_sha256 s;
        DWORD e;
        HANDLE h;
        int r = 0;

        if (offset % MB_WIN_MIN_SECTOR || length % MB_WIN_MIN_SECTOR)
                return mb_error_set(err, MB_EINVAL,
                                    "'%s': bytes %llu+%llu are not whole sectors", name,
                                    (unsigned long long)offset, (unsigned long long)length);
        h = mb_win_open(w, name, GENERIC_READ, FILE_FLAG_NO_BUFFERING, &e);
        if (h == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open '%s'", name);
        buf = mb_win_io_alloc(w, HASH_CHUNK);
        if (!buf) {
                w->CloseHandle(h);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        pos.QuadPart = (int64_t)offset;
        if (!w->SetFilePointerEx(h, pos, NULL, FILE_BEGIN))
                r = mb_w_error(err, MB_EIO, w->GetLastError(), "SetFilePointerEx",
                               "cannot seek '%s' to byte %llu", name, (unsigned long long)offset);
        mb_sha256_init(&s);
        while (r == 0 && done < length) {
                DWORD want = (DWORD)(length - done < HASH_CHUNK ? length - done : HASH_CHUNK), got = 0;

                if (!w->ReadFile(h, buf, want, &got, NULL)) {
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "ReadFile",
                                       "cannot read '%s' at byte %llu", name,
                                       (unsigned long long)(offset + done));
                        break;
                }
                if (got != want) {
                        r = mb_error_set(err, MB_EIO, "'%s': short read at byte %llu (%lu of %lu bytes)",
                                         name, (unsigned long long)(offset + done),
                                         (unsigned long)got, (unsigned long)want);
                        break;
                }
                mb_sha256_update(&s, buf, got);
                done += got;
        }
        mb_win_io_free(w, buf);
        w->CloseHandle(h);
        if (r == 0)
                mb_sha256_final_hex(&s, ret_hex);
        return r;
}

/* The recovery volume being listed (recovery_walk). */
typedef struct rec_walk {
        const char *root;               /* "\\?\Volume{...}\" */
        bool deep;
        const mb_record *known;         /* the volume's record, or NULL */
        file_list out;
        mb_record ids;                  /* what was read: the record to write */
} rec_walk;

/* A file's identity: what NTFS changes whenever its content changes through
 * the file system -- the volume serial and file index (its MFT reference),
 * size and last write time (BY_HANDLE_FILE_INFORMATION). */
static void win_identity(const BY_HANDLE_FILE_INFORMATION *i, char hex[65])
{
        mb_sha256 s;
        uint32_t v[7] = { i->dwVolumeSerialNumber, i->nFileIndexHigh, i->nFileIndexLow,
                          i->nFileSizeHigh, i->nFileSizeLow, i->ftLastWriteTime.dwHighDateTime,
                          i->ftLastWriteTime.dwLowDateTime };
        uint8_t b[28];

        for (int k = 0; k < 7; k++)
                mb_put_le32(b + 4 * k, v[k]);
        mb_sha256_init(&s);
        mb_sha256_update(&s, "win-id-1", 8);
        mb_sha256_update(&s, b, sizeof(b));
        mb_sha256_final_hex(&s, hex);
}

/* One recovery file: identity from its handle, content hash from the record
 * when the identity is the recorded one (and the read is not deep), else
 * read through the same handle. */
static int recovery_file(const mb_win32 *w, rec_walk *e, const char *full, const char *rel,
                         DWORD attributes, mb_error *err)
{
        static uint8_t buf[1 << 20];
        BY_HANDLE_FILE_INFORMATION info;
        mb_file_fact *nv;
        char id[65], hex[65], p[1030];
        const char *known;
        uint64_t size;
        DWORD e_;
        HANDLE h = mb_win_open(w, full, GENERIC_READ, FILE_FLAG_SEQUENTIAL_SCAN | FILE_FLAG_BACKUP_SEMANTICS, &e_);

        if (h == INVALID_HANDLE_VALUE)
                return mb_w_error(err, MB_EIO, e_, "CreateFileW", "cannot open '%s'", full);
        if (!w->GetFileInformationByHandle(h, &info)) {
                e_ = w->GetLastError();
                w->CloseHandle(h);
                return mb_w_error(err, MB_EIO, e_, "GetFileInformationByHandle", "cannot read the identity of '%s'",
                                  full);
        }
        size = (uint64_t)info.nFileSizeHigh << 32 | info.nFileSizeLow;
        win_identity(&info, id);
        snprintf(p, sizeof(p), "/%s", rel);
        known = e->deep ? NULL : mb_record_lookup(e->known, p, id);
        if (known) {
                memcpy(hex, known, 65);
        } else {
                uint64_t total;
                int r = hash_handle(w, h, full, buf, sizeof(buf), &total, hex, NULL, err);

                if (r < 0) {
                        w->CloseHandle(h);
                        return r;
                }
                if (total != size) {
                        w->CloseHandle(h);
                        return mb_error_set(err, MB_EIO, "'%s' changed while it was read (%llu of %llu bytes)",
                                            full, (unsigned long long)total, (unsigned long long)size);
                }
        }
        w->CloseHandle(h);
        if (!(nv = mb_reallocarray(e->out.v, e->out.n + 1, sizeof(*nv))))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        e->out.v = nv;
        memset(&nv[e->out.n], 0, sizeof(*nv));
        nv[e->out.n].path = mb_strdup(p);
        nv[e->out.n].sha256 = mb_strdup(hex);
        nv[e->out.n].size = size;
        nv[e->out.n].attributes = attributes;
        e->out.n++;
        if (!nv[e->out.n - 1].path || !nv[e->out.n - 1].sha256)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        return mb_record_add(&e->ids, p, id, hex, err);
}
/* Lists e->root's files below rel ('/'-separated, ending in '/' or empty).
 * Not content of the copy, as on the image target: System Volume
 * Information and the '$' names in the root (NTFS metadata, the recycle
 * bin), and directories that are reparse points (not followed). */
static int recovery_walk(const mb_win32 *w, rec_walk *e, const char *rel, int depth, mb_error *err)
{
        WIN32_FIND_DATAW fd;
        char pattern[1024];
        WCHAR *wp;
        HANDLE fh;
        int r = 0;

        if (depth > 64)
                return mb_error_set(err, MB_ECORRUPT, "'%s%s': directories nested deeper than 64", e->root, rel);
        snprintf(pattern, sizeof(pattern), "%s%s*", e->root, rel);
        for (char *c = pattern + strlen(e->root); *c; c++)
                if (*c == '/')
                        *c = '\\';
        if (!(wp = mb_w_from_utf8(pattern)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fh = w->FindFirstFileW(wp, &fd);
        free(wp);
        if (fh == INVALID_HANDLE_VALUE) {
                DWORD le = w->GetLastError();

                return le == ERROR_FILE_NOT_FOUND || le == ERROR_NO_MORE_FILES ? 0 :
                       mb_w_error(err, MB_EIO, le, "FindFirstFileW", "cannot list '%s'", pattern);
        }
        do {
                char *n = mb_w_to_utf8_n(fd.cFileName, MAX_PATH), sub[1024], full[1100];

                if (!n) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
                    (depth == 0 && (n[0] == '$' || strcasecmp(n, "System Volume Information") == 0))) {
                        free(n);
                        continue;
                }
                snprintf(sub, sizeof(sub), "%s%s", rel, n);
                free(n);
                if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
                        char dir[1030];

                        if (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
                                continue;
                        snprintf(dir, sizeof(dir), "%s/", sub);
                        r = recovery_walk(w, e, dir, depth + 1, err);
                        continue;
                }
                snprintf(full, sizeof(full), "%s%s", e->root, sub);
                for (char *c = full + strlen(e->root); *c; c++)
                        if (*c == '/')
                                *c = '\\';
                r = recovery_file(w, e, full, sub, fd.dwFileAttributes, err);
        } while (r == 0 && w->FindNextFileW(fh, &fd));
        w->FindClose(fh);
        return r;
}

/* The recovery volume's record, when v names a state directory that is
 * safe: loaded into *rec, *ret_dir set (malloc'd). No record (and no
 * error) when the directory cannot be created by this user. */
static int recovery_record_open(const mb_win32 *w, const mb_verify *v, const char *key, mb_record *rec,
                                char **ret_dir, mb_error *err)
{
        char *dir = NULL;
        int r;

        *ret_dir = NULL;
        memset(rec, 0, sizeof(*rec));
        if (!v || !v->state_dir)
                return 0;
        r = mb_win_state_dir(w, v->state_dir, &dir, err);
        if (r == MB_ENOENT) {
                mb_error_clear(err);
                return 0;
        }
        if (r == 0)
                r = mb_win_record_load(w, dir, key, rec, err);
        if (r < 0) {
                free(dir);
                return r;
        }
        *ret_dir = dir;
        return 0;
}

/* p->files from the recovery volume vol (names, sizes, attributes, content
 * hashes), through its volume GUID path, with the record keyed by the
 * partition's GUID: a file whose identity the record holds keeps the
 * recorded hash unless the read is deep (asked, no record, or the last deep
 * verification older than v->max_age). The record is rewritten with what
 * was read when anything was hashed or the file set changed. */
int mb_win_recovery_files(const mb_win32 *w, const mb_win_volume *vol, mb_part_fact *p, mb_verify *v,
                          mb_error *err)
{
        rec_walk e = { .root = vol->name };
        mb_record rec;
        char key[64], *dir = NULL;
        time_t now = time(NULL);
        bool deep;
        int r;

        snprintf(key, sizeof(key), "windows-%s", p->unique_guid ? p->unique_guid : "none");
        /* \Recovery may grant Administrators nothing: read as a backup
         * program does (best effort; without it, an open names the file) */
        enable_privilege(w, "SeBackupPrivilege");
        r = recovery_record_open(w, v, key, &rec, &dir, err);
        if (r < 0)
                return r;
        deep = !v || v->deep || !dir || !rec.deep_at || difftime(now, rec.deep_at) > v->max_age;
        e.deep = deep;
        e.known = &rec;
        r = recovery_walk(w, &e, "", 0, err);
        if (r == 0 && dir) {
                bool changed = deep || e.ids.n != rec.n;

                for (uint32_t k = 0; !changed && k < e.ids.n; k++)
                        changed = !mb_record_lookup(&rec, e.ids.v[k].path, e.ids.v[k].identity);
                e.ids.deep_at = deep ? now : rec.deep_at;
                if (changed)
                        r = mb_win_record_save(w, dir, key, &e.ids, err);
        }
        if (r == 0 && v) {
                v->depth = v->depth == MB_VERIFY_METADATA || !deep ? MB_VERIFY_METADATA : MB_VERIFY_DEEP;
                if (dir && (!v->last_deep || e.ids.deep_at < v->last_deep))
                        v->last_deep = e.ids.deep_at;
        }
        mb_record_clear(&rec);
        mb_record_clear(&e.ids);
        free(dir);
        if (r < 0) {
                for (uint32_t k = 0; k < e.out.n; k++) {
                        free(e.out.v[k].path);
                        free(e.out.v[k].sha256);
                }
                free(e.out.v);
                return r;
        }
        if (e.out.n > 1)
                qsort(e.out.v, e.out.n, sizeof(*e.out.v), file_cmp);
        p->files = e.out.v;
        p->n_files = e.out.n;
        return 0;
}

/* Every recovery partition: an NTFS volume the system mounted is compared
 * by its files (recovery_files); one without a volume, or not NTFS, by the
 * SHA-256 of its raw bytes through the disk (what a block clone compares). */
static int read_recovery(const mb_win32 *w, mb_facts *f, const mb_win_volmap *m, mb_verify *v,
                         mb_error *err)
{
        for (uint32_t i = 0; i < f->n_disks; i++) {
                mb_disk_fact *d = &f->disks[i];

                for (uint32_t j = 0; j < d->n_partitions; j++) {
                        mb_part_fact *p = &d->partitions[j];
                        const mb_win_volume *vol;
                        uint32_t ss = d->sector_size ? d->sector_size : 512;
                        char path[32], hex[65];
                        int r;

                        if (p->role != MB_ROLE_RECOVERY)
                                continue;
                        vol = p->fs == MB_FS_NTFS ? mb_win_volmap_by_part(m, d->number, p->unique_guid) : NULL;
                        if (vol) {
                                r = mb_win_recovery_files(w, vol, p, v, err);
                                if (r < 0)
                                        return mb_error_prefix(err, "reading the recovery partition %u of disk %u",
                                                               p->number, d->number);
                                continue;
                        }
                        mb_win_disk_path(d->number, path);
                        r = mb_win_hash_device_range(w, path, p->first_lba * ss,
                                                     (p->last_lba - p->first_lba + 1) * ss, hex, err);
                        if (r < 0)
                                return mb_error_prefix(err, "hashing partition %u of disk %u", p->number,
                                                       d->number);
                        free(p->content_sha256);
                        p->content_sha256 = mb_strdup(hex);
                        if (!p->content_sha256)
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
        }
        return 0;
}

/* A drive without media answers "not ready" to a program; without
 * SEM_FAILCRITICALERRORS the system may first ask someone at the console
 * (Abort, Retry, Ignore) and the read waits for an answer nobody gives.
 * Process-wide, as Microsoft advises every application to set it at start;
 * the flags already set are kept. */
static void quiet_critical_errors(const mb_win32 *w)
{
        UINT prev = w->SetErrorMode(SEM_FAILCRITICALERRORS);

        if (prev & ~(UINT)SEM_FAILCRITICALERRORS)
                w->SetErrorMode(prev | SEM_FAILCRITICALERRORS);
}

int mb_win_read_facts(const mb_win32 *w, mb_facts **ret, mb_error *err)
{
        return mb_win_read_facts_opts(w, NULL, ret, err);
}

int mb_win_read_facts_opts(const mb_win32 *w, const mb_win_read_opts *o, mb_facts **ret,
                           mb_error *err)
{
        static const mb_win_read_opts defaults;
        mb_facts *f = calloc(1, sizeof(*f));
        mb_win_volmap m = { 0 };
        char *system_nt = NULL, digest[65] = "";
        uint64_t digest_size = 0;
        int r = 0;

        if (!o)
                o = &defaults;
        if (!f)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        quiet_critical_errors(w);
        f->version = 1;
        f->target = mb_strdup("windows");
        for (uint32_t n = 0; n < MAX_DISKS; n++) {
                mb_disk_fact d;

                memset(&d, 0, sizeof(d));
                r = read_disk(w, n, &d, err);
                if (r == MB_ENOENT || r == MB_ENOMEDIUM_) {
                        mb_disk_fact_clear(&d);
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        mb_disk_fact_clear(&d);
                        goto fail;
                }
                {
                        mb_disk_fact *nd = mb_reallocarray(f->disks, f->n_disks + 1, sizeof(*nd));

                        if (!nd) {
                                mb_disk_fact_clear(&d);
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                goto fail;
                        }
                        f->disks = nd;
                        nd[f->n_disks++] = d;
                }
        }
        if (f->n_disks == 0) {
                r = mb_error_set(err, MB_ENOENT,
                                 "no disks found: \\\\.\\PhysicalDrive0 to \\\\.\\PhysicalDrive%d do not exist",
                                 MAX_DISKS - 1);
                goto fail;
        }
        r = mb_win_volmap_read(w, f, &m, err);
        if (r < 0)
                goto fail;
        {
                mb_ldm_boot boot = boot_volume(w, f, &m);

                r = mb_win_read_ldm(w, f, &boot, err);
        }
        if (r < 0)
                goto fail;
        if (f->n_volumes > 0) {
                /* The LDM database records which plexes exist, not whether a
                 * plex is resynchronizing: that is the volume manager's
                 * live state, which VDS reports. */
                mb_win_vds_plex *v = NULL;
                size_t n = 0;

                r = mb_win_vds_read(w, &v, &n, err);
                if (r < 0) {
                        mb_error_prefix(err, "reading the mirrors' health");
                        goto fail;
                }
                mb_win_vds_apply(f, v, n);
                free(v);
        }
        mark_system_disk(w, f, &m, &system_nt);
        if (!o->no_content_hash) {
                r = read_recovery(w, f, &m, o->verify, err);
                if (r < 0)
                        goto fail;
        }
        r = read_bcd(w, f, &digest_size, digest, err);
        if (r == 0)
                r = read_loader_paths(w, f, f->bcd, &m, err);
        if (r == 0)
                r = read_esp_files(w, f, &m, system_nt, digest, digest_size, err);
        /* the stores on the other ESPs: their loaders' paths as the live one's */
        for (uint32_t i = 0; r == 0 && i < f->n_disks; i++)
                for (uint32_t j = 0; r == 0 && j < f->disks[i].n_partitions; j++)
                        r = read_loader_paths(w, f, f->disks[i].partitions[j].bcd, &m, err);
        if (r == 0)
                r = read_firmware(w, f, err);
        if (r < 0)
                goto fail;
        free(system_nt);
        mb_win_volmap_clear(&m);
        *ret = f;
        return 0;
fail:
        free(system_nt);
        mb_win_volmap_clear(&m);
        mb_facts_free(f);
        return r;
}
