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
        for (uint32_t i = 0; i < f->n_disks; i++) {
                const mb_disk_fact *d = &f->disks[i];
                win_blockdev *b = &bds[n];
                DWORD e;

                if (!d->dynamic)
                        continue;
                mb_win_disk_path(d->number, b->name);
                b->w = w;
                b->h = mb_win_open(w, b->name, GENERIC_READ, FILE_FLAG_NO_BUFFERING, &e);
                if (b->h == INVALID_HANDLE_VALUE) {
                        r = mb_w_error(err, MB_EIO, e, "CreateFileW", "cannot open disk %u ('%s')",
                                       d->number, b->name);
                        goto out;
                }
                b->bd.ctx = b;
                b->bd.name = b->name;
                b->bd.size = d->size;
                b->bd.sector_size = d->sector_size ? d->sector_size : 512;
                b->bd.read = wbd_read;
                devs[n] = &b->bd;
                numbers[n] = d->number;
                n++;
        }
        if (n == 0)
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
