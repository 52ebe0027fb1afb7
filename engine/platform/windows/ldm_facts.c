/* SPDX-License-Identifier: MIT */
/*
 * Dynamic disks' facts from the LDM database itself: read raw from each
 * dynamic disk (\\.\PhysicalDriveN, through the call table) by
 * engine/format/ldm, the same reader the image target's tests check against
 * Windows-written disks and ldmtool. This gives what the volume manager's
 * IOCTLs do not: the disk group, each disk's LDM name ("Disk1"), volume
 * names ("Volume1") and every plex with its disk and extent, including the
 * plexes of disks that are missing.
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

/* Raw disk handles read whole sectors at sector offsets: reads are widened
 * to sector bounds through a bounce buffer. */
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
        tmp = malloc(n);
        if (!tmp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        pos.QuadPart = (int64_t)start;
        if (!b->w->SetFilePointerEx(b->h, pos, NULL, FILE_BEGIN)) {
                free(tmp);
                return mb_w_error(err, MB_EIO, b->w->GetLastError(), "SetFilePointerEx",
                                  "cannot seek '%s' to byte %llu", b->name, (unsigned long long)start);
        }
        while (done < n) {
                DWORD want = (DWORD)(n - done < (1u << 20) ? n - done : (1u << 20)), got = 0;

                if (!b->w->ReadFile(b->h, tmp + done, want, &got, NULL) || got != want) {
                        DWORD e = got != want && got ? ERROR_NOT_READY : b->w->GetLastError();

                        free(tmp);
                        return mb_w_error(err, MB_EIO, e, "ReadFile", "cannot read '%s' at byte %llu",
                                          b->name, (unsigned long long)(start + done));
                }
                done += got;
        }
        memcpy(buf, tmp + (off - start), len);
        free(tmp);
        return 0;
}

static const char *kind_name(mb_ldm_vol_type t)
{
        switch (t) {
        case MB_LDM_VOL_SIMPLE: return "simple";
        case MB_LDM_VOL_SPANNED: return "spanned";
        case MB_LDM_VOL_STRIPED: return "striped";
        case MB_LDM_VOL_MIRRORED: return "mirror";
        case MB_LDM_VOL_RAID5: return "raid5";
        default: return "unknown";
        }
}

static const mb_ldm_dev *member(const mb_ldm_db *db, int dev_index)
{
        for (size_t i = 0; i < db->n_devs; i++)
                if (db->devs[i].dev_index == dev_index)
                        return &db->devs[i];
        return NULL;
}

static const mb_ldm_disk *disk_by_id(const mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_disks; i++)
                if (db->disks[i].id == id)
                        return &db->disks[i];
        return NULL;
}

/* One plex per component of vol: its first extent's disk and offset, the
 * component's total length. A plex on a missing disk keeps the disk's LDM
 * name; its offset is taken relative to a present member's data area (on
 * GPT dynamic disks every member's starts at its first usable LBA). */
static int add_volume(mb_facts *f, const mb_ldm_db *db, const mb_ldm_vol *v, const uint32_t *numbers,
                      mb_error *err)
{
        mb_volume_fact *nv = mb_reallocarray(f->volumes, f->n_volumes + 1, sizeof(*nv)), *vol;

        if (!nv)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        f->volumes = nv;
        vol = &nv[f->n_volumes++];
        memset(vol, 0, sizeof(*vol));
        vol->name = mb_strdup(v->name);
        vol->kind = mb_strdup(kind_name(v->type));
        vol->group = mb_strdup(db->group_guid_str);
        vol->size = v->size * 512;
        vol->plexes = calloc(db->n_comps + 1, sizeof(*vol->plexes));
        if (!vol->name || !vol->kind || !vol->group || !vol->plexes)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (size_t c = 0; c < db->n_comps; c++) {
                const mb_ldm_comp *comp = &db->comps[c];
                const mb_ldm_part *first = NULL;
                const mb_ldm_disk *k;
                const mb_ldm_dev *dev;
                mb_plex_fact *x;
                uint64_t length = 0;

                if (comp->vol_id != v->id)
                        continue;
                for (size_t p = 0; p < db->n_parts; p++)
                        if (db->parts[p].comp_id == comp->id) {
                                length += db->parts[p].size;
                                if (!first || db->parts[p].vol_offset < first->vol_offset)
                                        first = &db->parts[p];
                        }
                if (!first)
                        continue;
                k = disk_by_id(db, first->disk_id);
                dev = k && k->dev_index >= 0 ? member(db, k->dev_index) : NULL;
                x = &vol->plexes[vol->n_plexes++];
                x->disk = dev ? (int32_t)numbers[k->dev_index] : -1;
                x->ldm_disk = mb_strdup(k ? k->name : "");
                if (!x->ldm_disk)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                if (!dev && db->n_devs > 0)
                        dev = &db->devs[0];
                x->offset = ((dev ? dev->logical_disk_start : 0) + first->start) * 512;
                x->length = length * 512;
                if (x->disk < 0) {
                        x->state = MB_PLEX_MISSING;
                        x->percent = 0;
                } else if (!comp->state_ok) {
                        x->state = MB_PLEX_FAILED;
                        x->percent = 0;
                } else {
                        x->state = MB_PLEX_HEALTHY;
                        x->percent = 100;
                }
        }
        return 0;
}

int mb_win_read_ldm(const mb_win32 *w, mb_facts *f, mb_error *err)
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
                b->h = mb_win_open(w, b->name, GENERIC_READ, 0, &e);
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
        for (size_t j = 0; j < db->n_disks; j++) {
                const mb_ldm_disk *k = &db->disks[j];
                mb_disk_fact *d;

                if (k->dev_index < 0 || (size_t)k->dev_index >= n ||
                    !(d = mb_facts_disk(f, numbers[k->dev_index])))
                        continue;
                free(d->dynamic_name);
                free(d->dynamic_group);
                d->dynamic_name = mb_strdup(k->name);
                d->dynamic_group = mb_strdup(db->group_guid_str);
                if (!d->dynamic_name || !d->dynamic_group) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        goto out;
                }
        }
        for (size_t j = 0; j < db->n_vols && r == 0; j++)
                r = add_volume(f, db, &db->vols[j], numbers, err);
out:
        for (size_t i = 0; i < n; i++)
                w->CloseHandle(bds[i].h);
        mb_ldm_db_free(db);
        free(bds);
        free(devs);
        free(numbers);
        return r;
}
