/* SPDX-License-Identifier: MIT */
/*
 * The one translation of an LDM database into facts, used by every target
 * that reads dynamic disks (image, windows).
 *
 * Windows converts a basic GPT disk by retyping each basic data entry to LDM
 * data (af9b60a0-...): the partitions become simple volumes whose
 * description lives in the LDM database, not in the GUID partition array;
 * the ESP, the MSR (less the 1 MiB metadata partition carved from its start)
 * and the recovery partition keep their entries. The type of a dynamic
 * disk's data entry therefore says nothing about its role: the role comes
 * from the database. The os role goes to the entries that are exactly an
 * extent of the os volume, the volume that holds the boot volume.
 */
#include "ldm.h"

#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define SECTOR 512u

static uint32_t number_of(const uint32_t *numbers, int dev_index)
{
        return numbers ? numbers[dev_index] : (uint32_t)dev_index;
}

static const mb_ldm_dev *dev_of(const mb_ldm_db *db, int dev_index)
{
        for (size_t i = 0; dev_index >= 0 && i < db->n_devs; i++)
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

static const mb_ldm_comp *comp_by_id(const mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_comps; i++)
                if (db->comps[i].id == id)
                        return &db->comps[i];
        return NULL;
}

/* The volume an extent belongs to, or NULL. */
static const mb_ldm_vol *vol_of_part(const mb_ldm_db *db, const mb_ldm_part *p)
{
        const mb_ldm_comp *c = comp_by_id(db, p->comp_id);

        for (size_t i = 0; c && i < db->n_vols; i++)
                if (db->vols[i].id == c->vol_id)
                        return &db->vols[i];
        return NULL;
}

int mb_ldm_part_place(const mb_ldm_db *db, const mb_ldm_part *p, const uint32_t *numbers,
                      int32_t *ret_disk, uint64_t *ret_first_lba)
{
        const mb_ldm_disk *k = disk_by_id(db, p->disk_id);
        const mb_ldm_dev *dev = k ? dev_of(db, k->dev_index) : NULL;

        *ret_disk = dev ? (int32_t)number_of(numbers, dev->dev_index) : -1;
        if (!dev && db->n_devs > 0)
                dev = &db->devs[0];
        *ret_first_lba = (dev ? dev->logical_disk_start : 0) + p->start;
        return *ret_disk >= 0;
}

const mb_ldm_vol *mb_ldm_os_volume(const mb_ldm_db *db, const uint32_t *numbers,
                                   const mb_ldm_boot *boot)
{
        const mb_ldm_vol *mirrored = NULL;
        size_t n_mirrored = 0;

        for (size_t i = 0; boot && boot->disk >= 0 && i < db->n_parts; i++) {
                const mb_ldm_vol *v = vol_of_part(db, &db->parts[i]);
                int32_t disk;
                uint64_t first;

                if (v && mb_ldm_part_place(db, &db->parts[i], numbers, &disk, &first) &&
                    disk == boot->disk && first == boot->first_lba)
                        return v;
        }
        for (size_t i = 0; i < db->n_vols; i++)
                if (db->vols[i].type == MB_LDM_VOL_MIRRORED) {
                        mirrored = &db->vols[i];
                        n_mirrored++;
                }
        if (db->n_vols == 1)
                return &db->vols[0];
        return n_mirrored == 1 ? mirrored : NULL;
}

static const char *kind_name(mb_ldm_vol_type t)
{
        return t == MB_LDM_VOL_MIRRORED ? "mirror" : mb_ldm_vol_type_name(t);
}

/* One plex fact per extent: a mirror has one per plex, a spanned, striped
 * or raid5 volume one per extent (as ldmtool lists a volume's partitions). */
static int volume_facts(const mb_ldm_db *db, const mb_ldm_vol *lv, const uint32_t *numbers,
                        mb_facts *f, mb_error *err)
{
        mb_volume_fact *v = mb_facts_add_volume(f);

        if (!v)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        v->name = mb_strdup(lv->name);
        v->kind = mb_strdup(kind_name(lv->type));
        v->size = lv->size * SECTOR;
        v->group = mb_strdup(db->group_guid_str);
        if (!v->name || !v->kind || !v->group)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (size_t c = 0; c < db->n_comps; c++) {
                const mb_ldm_comp *lc = &db->comps[c];

                if (lc->vol_id != lv->id)
                        continue;
                for (size_t p = 0; p < db->n_parts; p++) {
                        const mb_ldm_part *lp = &db->parts[p];
                        const mb_ldm_disk *k;
                        mb_plex_fact *x;
                        uint64_t first;
                        int32_t disk;

                        if (lp->comp_id != lc->id)
                                continue;
                        k = disk_by_id(db, lp->disk_id);
                        if (!(x = mb_volume_add_plex(v)) || !(x->ldm_disk = mb_strdup(k ? k->name : "")))
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        mb_ldm_part_place(db, lp, numbers, &disk, &first);
                        x->disk = disk;
                        x->offset = first * SECTOR;
                        x->length = lp->size * SECTOR;
                        if (disk < 0) {
                                x->state = MB_PLEX_MISSING;
                                x->percent = 0;
                        } else if (!lc->state_ok) {
                                x->state = MB_PLEX_FAILED;
                                x->percent = 0;
                        } else {
                                x->state = MB_PLEX_HEALTHY;
                                x->percent = 100;
                        }
                }
        }
        return 0;
}

/* Roles of the member disks' entries: an entry that is exactly an extent of
 * the os volume is the os partition (whatever its type: LDM data as Windows
 * retypes it, or basic data); a basic data entry that is not is no os. */
static void os_roles(const mb_ldm_db *db, const mb_ldm_vol *os, const uint32_t *numbers, mb_facts *f)
{
        for (size_t i = 0; i < db->n_devs; i++) {
                mb_disk_fact *d = mb_facts_disk(f, number_of(numbers, db->devs[i].dev_index));

                for (uint32_t j = 0; d && j < d->n_partitions; j++) {
                        mb_part_fact *q = &d->partitions[j];
                        bool extent = false;

                        if (q->role != MB_ROLE_OS && q->role != MB_ROLE_LDM_DATA)
                                continue;
                        for (size_t p = 0; os && p < db->n_parts && !extent; p++) {
                                const mb_ldm_part *lp = &db->parts[p];
                                const mb_ldm_vol *v = vol_of_part(db, lp);
                                uint64_t first;
                                int32_t disk;

                                extent = v == os && mb_ldm_part_place(db, lp, numbers, &disk, &first) &&
                                         disk == (int32_t)d->number && first == q->first_lba &&
                                         first + lp->size - 1 == q->last_lba;
                        }
                        if (extent)
                                q->role = MB_ROLE_OS;
                        else if (q->role == MB_ROLE_OS)
                                q->role = MB_ROLE_NONE;
                }
        }
}

/* d's damaged LDM copies, as the reader found them on member m. */
static int damage_facts(const mb_ldm_dev *m, mb_disk_fact *d, mb_error *err)
{
        for (uint32_t i = 0; i < m->n_damage; i++) {
                mb_ldm_damage_fact *v = mb_reallocarray(d->ldm_damage, d->n_ldm_damage + 1,
                                                        sizeof(*v));

                if (!v)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                d->ldm_damage = v;
                v = &v[d->n_ldm_damage++];
                memset(v, 0, sizeof(*v));
                v->structure = mb_strdup(mb_ldm_damage_name(m->damage[i].kind));
                v->sector = m->damage[i].lba;
                v->detail = mb_strdup(m->damage[i].why);
                if (!v->structure || !v->detail)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        return 0;
}

int mb_ldm_facts(const mb_ldm_db *db, const uint32_t *numbers, const mb_ldm_boot *boot,
                 mb_facts *f, mb_error *err)
{
        int rc;

        for (size_t i = 0; i < db->n_disks; i++) {
                const mb_ldm_disk *k = &db->disks[i];
                mb_disk_fact *d;

                if (k->dev_index < 0 || !dev_of(db, k->dev_index) ||
                    !(d = mb_facts_disk(f, number_of(numbers, k->dev_index))))
                        continue;
                d->dynamic = true;
                free(d->dynamic_group);
                free(d->dynamic_name);
                d->dynamic_group = mb_strdup(db->group_guid_str);
                d->dynamic_name = mb_strdup(k->name);
                if (!d->dynamic_group || !d->dynamic_name)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                rc = damage_facts(dev_of(db, k->dev_index), d, err);
                if (rc < 0)
                        return rc;
        }
        for (size_t i = 0; i < db->n_vols; i++) {
                rc = volume_facts(db, &db->vols[i], numbers, f, err);
                if (rc < 0)
                        return rc;
        }
        os_roles(db, mb_ldm_os_volume(db, numbers, boot), numbers, f);
        return 0;
}
