/* SPDX-License-Identifier: MIT */
/*
 * Dynamic disks' facts from the LDM database itself: read raw from each
 * dynamic disk (\\.\PhysicalDriveN, through the call table) by
 * engine/format/ldm, the same reader the image target's tests check against
 * Windows-written disks and ldmtool. This gives what the volume manager's
 * IOCTLs do not: the disk group, each disk's LDM name ("Disk1"), volume
 * names ("Volume1") and every plex with its disk and extent, including the
 * plexes of disks that are missing. The translation into facts is the
 * one engine/format/ldm does for every target (mb_ldm_facts), roles of the
 * dynamic disks' entries included.
 */
#include "windows_internal.h"

#include <stdlib.h>
#include <string.h>

#include "format/ldm/ldm.h"

/* A read-only mb_blockdev over a Win32 disk handle. */
typedef struct win_blockdev {
        mb_blockdev bd;
        const mb_win32 *w;
        HANDLE h;
        char name[32];
} win_blockdev;

/* Raw disk handles read whole sectors at sector offsets, unbuffered: reads
 * are widened to sector bounds through an aligned bounce buffer
 * (mb_win_io_alloc). */
static int wbd_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err)
{
        win_blockdev *b = dev->ctx;
        uint32_t ss = dev->sector_size;
        uint64_t start = off / ss * ss, end = (off + len + ss - 1) / ss * ss, done = 0;
        size_t n = (size_t)(end - start);
        uint8_t *tmp;
        LARGE_INTEGER pos;

        if (len == 0)
                return 0;
        tmp = mb_win_io_alloc(b->w, n);
        if (!tmp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        pos.QuadPart = (int64_t)start;
        if (!b->w->SetFilePointerEx(b->h, pos, NULL, FILE_BEGIN)) {
                mb_win_io_free(b->w, tmp);
                return mb_w_error(err, MB_EIO, b->w->GetLastError(), "SetFilePointerEx",
                                  "cannot seek '%s' to byte %llu", b->name, (unsigned long long)start);
        }
        while (done < n) {
                DWORD want = (DWORD)(n - done < (1u << 20) ? n - done : (1u << 20)), got = 0;

                if (!b->w->ReadFile(b->h, tmp + done, want, &got, NULL) || got != want) {
                        DWORD e = got != want && got ? ERROR_NOT_READY : b->w->GetLastError();

                        mb_win_io_free(b->w, tmp);
                        return mb_w_error(err, MB_EIO, e, "ReadFile", "cannot read '%s' at byte %llu",
                                          b->name, (unsigned long long)(start + done));
                }
                done += got;
        }
        memcpy(buf, tmp + (off - start), len);
        mb_win_io_free(b->w, tmp);
        return 0;
}

/* Writes whole sectors at a sector offset through the same aligned bounce
 * buffer; the LDM writer and repair write whole 512-byte sectors. */
static int wbd_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        win_blockdev *b = dev->ctx;
        uint32_t ss = dev->sector_size;
        uint8_t *tmp;
        LARGE_INTEGER pos;
        DWORD got = 0;
        int r = 0;

        if (off % ss || len % ss || len > (1u << 30))
                return mb_error_set(err, MB_EINVAL, "'%s': write of %zu bytes at byte %llu is not whole %u-byte sectors",
                                    b->name, len, (unsigned long long)off, ss);
        tmp = mb_win_io_alloc(b->w, len);
        if (!tmp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        memcpy(tmp, buf, len);
        pos.QuadPart = (int64_t)off;
        if (!b->w->SetFilePointerEx(b->h, pos, NULL, FILE_BEGIN))
                r = mb_w_error(err, MB_EIO, b->w->GetLastError(), "SetFilePointerEx",
                               "cannot seek '%s' to byte %llu", b->name, (unsigned long long)off);
        else if (!b->w->WriteFile(b->h, tmp, (DWORD)len, &got, NULL) || got != len)
                r = mb_w_error(err, MB_EIO, got != len && got ? ERROR_NOT_READY : b->w->GetLastError(),
                               "WriteFile", "cannot write '%s' at byte %llu", b->name,
                               (unsigned long long)off);
        mb_win_io_free(b->w, tmp);
        return r;
}

/*
 * The dynamic disks of f as blockdevs (numbers[] their disk numbers),
 * disk `writable` (or none: -1) opened for writing too.
 */
static int open_dynamic(const mb_win32 *w, const mb_facts *f, int64_t writable,
                        win_blockdev *bds, mb_blockdev **devs, uint32_t *numbers, size_t *ret_n,
                        mb_error *err)
{
        size_t n = 0;

        *ret_n = 0;
        for (uint32_t i = 0; i < f->n_disks; i++) {
                const mb_disk_fact *d = &f->disks[i];
                win_blockdev *b = &bds[n];
                bool wr = (int64_t)d->number == writable;
                DWORD e;

                if (!d->dynamic)
                        continue;
                mb_win_disk_path(d->number, b->name);
                b->w = w;
                b->h = mb_win_open(w, b->name, GENERIC_READ | (wr ? GENERIC_WRITE : 0),
                                   FILE_FLAG_NO_BUFFERING, &e);
                if (b->h == INVALID_HANDLE_VALUE) {
                        *ret_n = n;
                        return mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open disk %u ('%s')",
                                          d->number, b->name);
                }
                b->bd.ctx = b;
                b->bd.name = b->name;
                b->bd.size = d->size;
                b->bd.sector_size = d->sector_size ? d->sector_size : 512;
                b->bd.read = wbd_read;
                b->bd.write = wr ? wbd_write : NULL;
                devs[n] = &b->bd;
                numbers[n] = d->number;
                n++;
        }
        *ret_n = n;
        return 0;
}

int mb_win_repair_ldm(const mb_win32 *w, const mb_facts *f, uint32_t disk, mb_error *err)
{
        win_blockdev *bds = calloc(f->n_disks + 1, sizeof(*bds));
        mb_blockdev **devs = calloc(f->n_disks + 1, sizeof(*devs));
        uint32_t *numbers = calloc(f->n_disks + 1, sizeof(*numbers));
        int *allowed = calloc(f->n_disks + 1, sizeof(*allowed));
        mb_ldm_db *db = NULL;
        size_t n = 0, fixed = 0;
        int r;

        if (!bds || !devs || !numbers || !allowed) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        r = open_dynamic(w, f, disk, bds, devs, numbers, &n, err);
        for (size_t i = 0; i < n; i++)
                allowed[i] = numbers[i] == disk;
        if (r == 0 && n == 0)
                r = mb_error_set(err, MB_ESTATE, "disk %u is not a dynamic disk", disk);
        if (r == 0)
                r = mb_ldm_read(devs, n, &db, err);
        if (r == 0)
                r = mb_ldm_repair(db, devs, n, allowed, &fixed, err);
        for (size_t i = 0; r == 0 && fixed && i < n; i++)
                if (allowed[i] && !w->FlushFileBuffers(bds[i].h))
                        r = mb_w_error(err, MB_EIO, w->GetLastError(), "FlushFileBuffers",
                                       "cannot flush '%s'", bds[i].name);
        if (r < 0)
                mb_error_prefix(err, "repairing the LDM metadata of disk %u", disk);
out:
        for (size_t i = 0; i < n; i++)
                w->CloseHandle(bds[i].h);
        mb_ldm_db_free(db);
        free(bds);
        free(devs);
        free(numbers);
        free(allowed);
        return r;
}

int mb_win_read_ldm(const mb_win32 *w, mb_facts *f, const mb_ldm_boot *boot, mb_error *err)
{
        win_blockdev *bds = calloc(f->n_disks + 1, sizeof(*bds));
        mb_blockdev **devs = calloc(f->n_disks + 1, sizeof(*devs));
        uint32_t *numbers = calloc(f->n_disks + 1, sizeof(*numbers));
        mb_ldm_db *db = NULL;
        size_t n = 0;
        int r = 0;

        if (!bds || !devs || !numbers) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        r = open_dynamic(w, f, -1, bds, devs, numbers, &n, err);
        if (r < 0 || n == 0)
                goto out;
        r = mb_ldm_read(devs, n, &db, err);
        if (r < 0) {
                mb_error_prefix(err, "reading the dynamic disks' LDM database");
                goto out;
        }
        r = mb_ldm_facts(db, numbers, boot && boot->disk >= 0 ? boot : NULL, f, err);
out:
        for (size_t i = 0; i < n; i++)
                w->CloseHandle(bds[i].h);
        mb_ldm_db_free(db);
        free(bds);
        free(devs);
        free(numbers);
        return r;
}
