/* SPDX-License-Identifier: MIT */
/* LDM database writer and builders (see ldm.c for the format notes). */
#include "ldm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_GUID "1b77da20-c717-11d0-a5be-00a0c91db73c"

/* --------------------------------------------------------- serializers */

struct out {
        uint8_t *p;
        size_t len, cap;
        int bad;
};

static void o_raw(struct out *o, const void *v, size_t n)
{
        if (o->bad || o->cap - o->len < n) {
                o->bad = 1;
                return;
        }
        memcpy(o->p + o->len, v, n);
        o->len += n;
}

static void o_u8(struct out *o, uint8_t v)
{
        o_raw(o, &v, 1);
}

static void o_be(struct out *o, uint64_t v, int n)
{
        uint8_t b[8];

        for (int i = 0; i < n; i++)
                b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
        o_raw(o, b, (size_t)n);
}

static int var_len(uint64_t v)
{
        int n = 0;

        while (v) {
                n++;
                v >>= 8;
        }
        return n;
}

/* minimal big-endian, one length byte in front (0 is stored with length 0) */
static void o_var(struct out *o, uint64_t v)
{
        int n = var_len(v);

        o_u8(o, (uint8_t)n);
        o_be(o, v, n);
}

/* like o_var, but values that need more than 4 bytes take all 8 */
static void o_pvar(struct out *o, uint64_t v)
{
        int n = var_len(v);

        if (n > 4)
                n = 8;
        o_u8(o, (uint8_t)n);
        o_be(o, v, n);
}

static void o_str(struct out *o, const char *s)
{
        size_t n = strlen(s);

        if (n > 255) {
                o->bad = 1;
                return;
        }
        o_u8(o, (uint8_t)n);
        o_raw(o, s, n);
}

static void o_begin(struct out *o, uint8_t *buf, size_t cap, uint8_t flags, uint8_t rev, uint8_t type)
{
        o->p = buf;
        o->cap = cap;
        o->len = 0;
        o->bad = 0;
        o_be(o, LDM_REC_ACTIVE, 2);
        o_u8(o, flags);
        o_u8(o, (uint8_t)(rev << 4 | type));
        o_be(o, 0, 4);
}

static int o_end(struct out *o)
{
        if (o->bad || o->len > 0x7fffffff)
                return -1;
        mb_put_be32(o->p + 4, (uint32_t)(o->len - 8));
        return (int)o->len;
}

int ldm_build_vol(const mb_ldm_vol *v, uint8_t *buf, size_t cap)
{
        struct out o;
        uint8_t state[14] = { 0 }, g[16];

        o_begin(&o, buf, cap, v->rec_flags, 5, LDM_REC_VOL);
        o_var(&o, v->id);
        o_str(&o, v->name);
        o_str(&o, v->type_str);
        o_str(&o, v->drive_str);
        memcpy(state, v->state, strnlen(v->state, 14));
        o_raw(&o, state, 14);
        o_u8(&o, v->read_policy);
        o_var(&o, v->number);
        o_be(&o, v->flags, 4);
        o_var(&o, v->n_comps);
        o_be(&o, v->commit_id, 8);
        o_be(&o, v->unknown_txn, 8);
        o_pvar(&o, v->size);
        o_be(&o, 0, 4);
        o_u8(&o, v->part_type);
        ldm_guid_to_be(&v->guid, g);
        o_raw(&o, g, 16);
        if (v->rec_flags & 0x08)
                o_var(&o, v->id1);
        if (v->rec_flags & 0x20)
                o_var(&o, v->id2);
        if (v->rec_flags & 0x80)
                o_pvar(&o, v->size2);
        if (v->rec_flags & 0x02)
                o_str(&o, v->hint);
        return o_end(&o);
}

int ldm_build_comp(const mb_ldm_comp *c, uint8_t *buf, size_t cap)
{
        struct out o;

        o_begin(&o, buf, cap, c->rec_flags, 3, LDM_REC_COMP);
        o_var(&o, c->id);
        o_str(&o, c->name);
        o_str(&o, c->state);
        o_u8(&o, c->layout);
        o_be(&o, c->flags, 4);
        o_var(&o, c->n_parts);
        o_be(&o, c->commit_id, 8);
        o_be(&o, 0, 8);
        o_var(&o, c->vol_id);
        o_var(&o, c->logsd);
        if (c->rec_flags & 0x10) {
                o_pvar(&o, c->stripe_size);
                o_var(&o, c->n_columns);
        }
        return o_end(&o);
}

int ldm_build_part(const mb_ldm_part *p, uint8_t *buf, size_t cap)
{
        struct out o;

        o_begin(&o, buf, cap, p->rec_flags, 3, LDM_REC_PART);
        o_var(&o, p->id);
        o_str(&o, p->name);
        o_be(&o, p->flags, 4);
        o_be(&o, p->commit_id, 8);
        o_be(&o, p->start, 8);
        o_be(&o, p->vol_offset, 8);
        o_pvar(&o, p->size);
        o_var(&o, p->comp_id);
        o_var(&o, p->disk_id);
        if (p->rec_flags & 0x08)
                o_var(&o, p->col_index);
        if (p->rec_flags & 0x20)
                o_be(&o, p->unknown_txn, 8);
        if (p->rec_flags & 0x40)
                o_var(&o, p->unknown1);
        if (p->rec_flags & 0x02)
                o_pvar(&o, p->hidden);
        return o_end(&o);
}

int ldm_build_disk(const mb_ldm_disk *d, uint8_t *buf, size_t cap)
{
        struct out o;
        char gs[MB_GUID_STR_LEN];
        uint8_t g[16];

        o_begin(&o, buf, cap, d->rec_flags, d->rev, LDM_REC_DISK);
        o_var(&o, d->id);
        o_str(&o, d->name);
        if (d->rev == 4) {
                ldm_guid_to_be(&d->guid, g);
                o_raw(&o, g, 16);
                ldm_guid_to_be(&d->alt_guid, g);
                o_raw(&o, g, 16);
        } else {
                o_str(&o, mb_guid_format(&d->guid, gs));
        }
        o_str(&o, d->last_device);
        o_be(&o, d->flags, 4);
        o_be(&o, d->commit_id, 8);
        return o_end(&o);
}

int ldm_build_group(const mb_ldm_db *db, uint8_t *buf, size_t cap)
{
        struct out o;
        uint8_t g[16];

        o_begin(&o, buf, cap, db->dg_rec_flags, db->dg_rev, LDM_REC_GROUP);
        o_var(&o, db->dg_id);
        o_str(&o, db->group_name);
        if (db->dg_rev == 4) {
                ldm_guid_to_be(&db->group_guid, g);
                o_raw(&o, g, 16);
                o_raw(&o, db->dg_set_guid, 16);
        } else {
                o_str(&o, db->group_guid_str);
        }
        o_be(&o, 0, 4);
        o_be(&o, db->dg_commit_id, 8);
        if (db->dg_rec_flags & 0x08) {
                o_var(&o, db->dg_config_copies);
                o_var(&o, db->dg_log_copies);
        }
        if (db->dg_rec_flags & 0x10)
                o_var(&o, db->dg_minors);
        return o_end(&o);
}

/* ---------------------------------------------------------------- writer */

#define REC_MAX 4096

/* One object of the new state, serialized. */
typedef struct nrec {
        int type;
        uint64_t id;
        uint64_t *commit;       /* the object's commit id field */
        uint8_t data[REC_MAX];
        int len;
        const ldm_rec *old;     /* same object in the base image */
        int changed;
        uint32_t group;
        uint32_t *slots;
        size_t n_slots;
} nrec;

static int build_one(mb_ldm_db *db, nrec *r)
{
        switch (r->type) {
        case LDM_REC_VOL:
                for (size_t i = 0; i < db->n_vols; i++)
                        if (db->vols[i].id == r->id)
                                return ldm_build_vol(&db->vols[i], r->data, REC_MAX);
                break;
        case LDM_REC_COMP:
                for (size_t i = 0; i < db->n_comps; i++)
                        if (db->comps[i].id == r->id)
                                return ldm_build_comp(&db->comps[i], r->data, REC_MAX);
                break;
        case LDM_REC_PART:
                for (size_t i = 0; i < db->n_parts; i++)
                        if (db->parts[i].id == r->id)
                                return ldm_build_part(&db->parts[i], r->data, REC_MAX);
                break;
        case LDM_REC_DISK:
                for (size_t i = 0; i < db->n_disks; i++)
                        if (db->disks[i].id == r->id)
                                return ldm_build_disk(&db->disks[i], r->data, REC_MAX);
                break;
        case LDM_REC_GROUP:
                return ldm_build_group(db, r->data, REC_MAX);
        }
        return -1;
}

static void vmdb_build(const mb_ldm_db *db, uint8_t *s, uint16_t status, uint64_t committed,
                       uint64_t pending, const uint32_t cnt_c[4], const uint32_t cnt_p[4],
                       uint64_t last_mod)
{
        memset(s, 0, LDM_SECTOR);
        memcpy(s, "VMDB", 4);
        mb_put_be32(s + VMDB_N_VBLKS, db->n_vblks);
        mb_put_be32(s + VMDB_VBLK_SIZE, db->vblk_size);
        mb_put_be32(s + VMDB_HEADER_SIZE, db->vmdb_header_size);
        mb_put_be16(s + VMDB_STATUS, status);
        mb_put_be16(s + VMDB_MAJOR, db->vmdb_major);
        mb_put_be16(s + VMDB_MINOR, db->vmdb_minor);
        memcpy(s + VMDB_NAME, db->group_name, strnlen(db->group_name, 31));
        memcpy(s + VMDB_GUID, db->group_guid_str, strnlen(db->group_guid_str, 64));
        mb_put_be64(s + VMDB_COMMITTED, committed);
        mb_put_be64(s + VMDB_PENDING, pending);
        for (int i = 0; i < 4; i++) {
                mb_put_be32(s + VMDB_COUNTS_C + 4 * i, cnt_c[i]);
                mb_put_be32(s + VMDB_COUNTS_P + 4 * i, cnt_p[i]);
        }
        mb_put_be64(s + VMDB_LAST_MOD, last_mod);
}

static void clear_slot(uint8_t *img, uint32_t vblk_size, uint32_t slot)
{
        uint8_t *v = img + (size_t)slot * vblk_size;

        memset(v, 0, vblk_size);
        memcpy(v, "VBLK", 4);
        mb_put_be32(v + 4, slot);
}

/* Writes sectors 0 (the VMDB) through the last sector where a and b differ
 * (all of b when full) in one write. */
static int write_config(mb_blockdev *dev, uint64_t lba, const uint8_t *a, const uint8_t *b,
                        size_t len, int full, mb_error *err)
{
        size_t n = len / LDM_SECTOR, last = 0;
        int rc;

        if (full)
                last = n - 1;
        else
                for (size_t i = n; i-- > 1;)
                        if (memcmp(a + i * LDM_SECTOR, b + i * LDM_SECTOR, LDM_SECTOR)) {
                                last = i;
                                break;
                        }
        rc = mb_blockdev_write(dev, lba * LDM_SECTOR, b, (last + 1) * LDM_SECTOR, err);
        if (rc < 0)
                return mb_error_prefix(err, "writing the LDM config region of %s", dev->name);
        return 0;
}

static int write_sector(mb_blockdev *dev, uint64_t lba, const uint8_t *s, const char *what,
                        mb_error *err)
{
        int rc = mb_blockdev_write(dev, lba * LDM_SECTOR, s, LDM_SECTOR, err);

        if (rc < 0)
                return mb_error_prefix(err, "writing %s of %s at sector %llu", what, dev->name,
                                       (unsigned long long)lba);
        return 0;
}

static int check_objects(mb_ldm_db *db, mb_error *err)
{
        for (size_t i = 0; i < db->n_parts; i++) {
                mb_ldm_part *p = &db->parts[i];
                mb_ldm_disk *d = NULL;
                int hc = 0;

                for (size_t j = 0; j < db->n_disks; j++)
                        if (db->disks[j].id == p->disk_id)
                                d = &db->disks[j];
                for (size_t j = 0; j < db->n_comps; j++)
                        hc |= db->comps[j].id == p->comp_id;
                if (!d || !hc)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: partition %s refers to a missing %s",
                                            db->group_name, p->name, d ? "component" : "disk");
        }
        for (size_t i = 0; i < db->n_comps; i++) {
                int hv = 0;

                for (size_t j = 0; j < db->n_vols; j++)
                        hv |= db->vols[j].id == db->comps[i].vol_id;
                if (!hv)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: component %s refers to a missing volume",
                                            db->group_name, db->comps[i].name);
        }
        for (size_t i = 0; i < db->n_vols; i++)
                if (db->vols[i].number < 1 || db->vols[i].number > 255)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: volume %s has number %u (1-255 expected)",
                                            db->group_name, db->vols[i].name, db->vols[i].number);
        return 0;
}

/* Refuses devices that now hold another disk, another group or no LDM partition. */
static int check_device(mb_ldm_db *db, const mb_ldm_dev *d, mb_blockdev *dev, mb_error *err)
{
        mb_ldm_dev cur;
        int state = 0, rc;
        uint64_t mf, ml;
        char g[MB_GUID_STR_LEN];

        if (dev->sector_size != LDM_SECTOR)
                return mb_error_set(err, MB_ENOTSUP, "%s: %u-byte sectors (512 only)", dev->name,
                                    dev->sector_size);
        if (d->config_start + d->config_size > dev->size / LDM_SECTOR ||
            d->regions[0].size * LDM_SECTOR < ((uint64_t)db->n_vblks * db->vblk_size) ||
            d->regions[1].size < 2)
                return mb_error_set(err, MB_EINVAL,
                                    "%s: the private region does not fit the device or the database",
                                    dev->name);
        rc = ldm_probe_dev(dev, &cur, &state, &mf, &ml, err);
        if (rc < 0)
                return mb_error_prefix(err, "checking %s before writing LDM", dev->name);
        if (state == 0 && d->staged && !d->have_images)
                return 0;       /* new member; the caller adds its metadata partition after */
        if (state == 0)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s has no LDM partition (MBR type 0x42 or GPT LDM metadata); refusing to write LDM there",
                                    dev->name);
        if (d->is_gpt && (mf != d->config_start || ml != d->config_start + d->config_size - 1))
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s: the LDM metadata partition (LBA %llu-%llu) is not where the database expects it (%llu+%llu); refusing to write",
                                    dev->name, (unsigned long long)mf, (unsigned long long)ml,
                                    (unsigned long long)d->config_start,
                                    (unsigned long long)d->config_size);
        if (state == 1) {
                if (d->have_images)
                        return mb_error_set(err, MB_EUNSAFE,
                                            "%s: its PRIVHEAD became unreadable since it was read; refusing to write",
                                            dev->name);
                return 0;       /* new member, no PRIVHEAD yet */
        }
        mb_guid_format(&cur.disk_guid, g);
        if (!mb_guid_equal(&cur.disk_guid, &d->disk_guid) ||
            strcmp(cur.group_guid, db->group_guid_str) != 0)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s holds LDM disk %s of group %s, not the expected member of group %s; refusing to write",
                                    dev->name, g, cur.group_guid, db->group_guid_str);
        return 0;
}

static int count_types(const mb_ldm_db *db, uint32_t c[4])
{
        c[0] = (uint32_t)db->n_vols;
        c[1] = (uint32_t)db->n_comps;
        c[2] = (uint32_t)db->n_parts;
        c[3] = (uint32_t)db->n_disks;
        return 0;
}

/*
 * One mb_ldm_write call's working state: the config region the members hold
 * now (base) and the one they will hold (img), the records of each, and the
 * KLOG pages. write_validate fills the geometry, write_build the records and
 * their slots, write_serialize img and the KLOG; write_member puts them on
 * one member; wtx_free releases what the call allocated.
 */
typedef struct {
        size_t cfg_len;         /* bytes of the config region (whole sectors) */
        uint32_t first_slot;    /* first VBLK slot after the VMDB header */
        uint32_t payload;       /* record bytes per VBLK */
        int all_current;        /* every member holds db->cfg: partial writes suffice */
        uint8_t *base, *img;    /* cfg_len each */
        uint8_t *used;          /* n_vblks flags: slot taken in the new image */
        uint8_t *is_new;        /* n_devs flags: member had no PRIVHEAD image when the write began */
        ldm_rec *olds;          /* the records of base */
        size_t n_old;
        nrec *nr;               /* the new state's records, one per object */
        size_t n_new, n_changed, n_deleted;
        int hdr_changed;        /* a PRIVHEAD or TOCBLOCK is new or differs */
        uint64_t pending;       /* the sequence the write commits */
        uint8_t kl[2][LDM_SECTOR];
} wtx;

static void wtx_free(wtx *w)
{
        if (w->nr)
                for (size_t k = 0; k < w->n_new; k++)
                        free(w->nr[k].slots);
        free(w->nr);
        ldm_recs_free(w->olds, w->n_old);
        free(w->base);
        free(w->img);
        free(w->used);
        free(w->is_new);
}

/*
 * Checks that db can be written to devs before anything is allocated or
 * written: a present member, a possible VMDB geometry, a config image of
 * that size, objects that refer to existing objects (check_objects), and per
 * member a device of its own, the same config region as the first member,
 * and a device that still holds it (check_device). Fills w's geometry and
 * all_current. MB_EINVAL, MB_ENOTSUP or MB_EUNSAFE naming the group or device.
 */
static int write_validate(mb_ldm_db *db, mb_blockdev **devs, size_t n_devs, wtx *w,
                          mb_error *err)
{
        int rc;

        if (db->n_devs == 0)
                return mb_error_set(err, MB_EINVAL, "LDM group %s: no present member to write",
                                    db->group_name);
        if (db->vblk_size < 32 || db->vblk_size > 65536 || db->vmdb_header_size < LDM_SECTOR ||
            db->vmdb_header_size % db->vblk_size || db->n_vblks <= db->vmdb_header_size / db->vblk_size ||
            (uint64_t)db->n_vblks * db->vblk_size > LDM_MAX_CFG_BYTES)
                return mb_error_set(err, MB_EINVAL, "LDM group %s: impossible VMDB geometry",
                                    db->group_name);
        w->cfg_len = ((size_t)db->n_vblks * db->vblk_size + LDM_SECTOR - 1) / LDM_SECTOR * LDM_SECTOR;
        w->first_slot = db->vmdb_header_size / db->vblk_size;
        w->payload = db->vblk_size - 16;
        if (db->cfg && db->cfg_len != w->cfg_len)
                return mb_error_set(err, MB_EINVAL, "LDM group %s: config image size mismatch",
                                    db->group_name);
        rc = check_objects(db, err);
        if (rc < 0)
                return rc;
        w->all_current = 1;
        for (size_t i = 0; i < db->n_devs; i++) {
                const mb_ldm_dev *d = &db->devs[i];

                if (d->dev_index < 0 || (size_t)d->dev_index >= n_devs || !devs[d->dev_index])
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: member %zu needs device index %d but %zu device(s) were given",
                                            db->group_name, i, d->dev_index, n_devs);
                for (size_t j = 0; j < i; j++)
                        if (db->devs[j].dev_index == d->dev_index)
                                return mb_error_set(err, MB_EINVAL,
                                                    "LDM group %s: two members on device %d",
                                                    db->group_name, d->dev_index);
                if (d->regions[0].start != db->devs[0].regions[0].start ||
                    d->regions[0].size != db->devs[0].regions[0].size)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "LDM group %s: members have different config regions",
                                            db->group_name);
                rc = check_device(db, d, devs[d->dev_index], err);
                if (rc < 0)
                        return rc;
                if (!d->cfg_current || !db->cfg)
                        w->all_current = 0;
        }
        return 0;
}

/*
 * w->base: the config region the members hold (db->cfg), or for a group
 * never written an empty one (cleared slots, a clean VMDB at the current
 * sequence); w->olds: its records.
 */
static int build_base(const mb_ldm_db *db, wtx *w, mb_error *err)
{
        uint32_t cnt_none[4] = { 0 };
        char what[600];

        if (db->cfg) {
                memcpy(w->base, db->cfg, w->cfg_len);
        } else {
                for (uint32_t s = w->first_slot; s < db->n_vblks; s++)
                        clear_slot(w->base, db->vblk_size, s);
                vmdb_build(db, w->base, LDM_DB_CLEAN, db->committed_seq, db->committed_seq, cnt_none,
                           cnt_none, db->last_modified);
        }
        snprintf(what, sizeof(what), "LDM group %s (writer's base)", db->group_name);
        return ldm_scan_records(w->base, db->n_vblks, db->vblk_size, w->first_slot, what, &w->olds,
                                &w->n_old, err);
}

/*
 * w->nr: every object of db serialized (volumes, components, partitions,
 * disks, then the group), each matched with the same object's record in base
 * (a pending-add record is no match) and marked changed when its bytes past
 * the status differ or it is new; counts the changed and the deleted
 * (base records no object kept) records, and notes a PRIVHEAD or TOCBLOCK
 * that is new or differs.
 */
static int build_records(mb_ldm_db *db, wtx *w, mb_error *err)
{
        size_t k = 0;

        w->n_new = db->n_vols + db->n_comps + db->n_parts + db->n_disks + (db->dg_id ? 1 : 0);
        w->nr = calloc(w->n_new ? w->n_new : 1, sizeof(*w->nr));
        if (!w->nr)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        for (size_t i = 0; i < db->n_vols; i++, k++)
                w->nr[k] = (nrec){ .type = LDM_REC_VOL, .id = db->vols[i].id, .commit = &db->vols[i].commit_id };
        for (size_t i = 0; i < db->n_comps; i++, k++)
                w->nr[k] = (nrec){ .type = LDM_REC_COMP, .id = db->comps[i].id, .commit = &db->comps[i].commit_id };
        for (size_t i = 0; i < db->n_parts; i++, k++)
                w->nr[k] = (nrec){ .type = LDM_REC_PART, .id = db->parts[i].id, .commit = &db->parts[i].commit_id };
        for (size_t i = 0; i < db->n_disks; i++, k++)
                w->nr[k] = (nrec){ .type = LDM_REC_DISK, .id = db->disks[i].id, .commit = &db->disks[i].commit_id };
        if (db->dg_id)
                w->nr[k++] = (nrec){ .type = LDM_REC_GROUP, .id = db->dg_id, .commit = &db->dg_commit_id };
        for (k = 0; k < w->n_new; k++) {
                nrec *r = &w->nr[k];

                r->len = build_one(db, r);
                if (r->len < 0)
                        return mb_error_set(err, MB_EINVAL, "LDM group %s: object %llu does not fit a record",
                                            db->group_name, (unsigned long long)r->id);
                for (size_t i = 0; i < w->n_old; i++)
                        if (w->olds[i].id == r->id && w->olds[i].type == r->type &&
                            w->olds[i].status != LDM_REC_PENDING_ADD)
                                r->old = &w->olds[i];
                r->changed = !r->old || r->old->len != (size_t)r->len ||
                             memcmp(r->old->data + 2, r->data + 2, (size_t)r->len - 2) != 0;
                w->n_changed += r->changed;
        }
        for (size_t i = 0; i < w->n_old; i++) {
                int kept = 0;

                for (k = 0; k < w->n_new; k++)
                        kept |= w->nr[k].old == &w->olds[i];
                w->n_deleted += !kept;
        }
        for (size_t i = 0; i < db->n_devs; i++) {
                uint8_t ph[LDM_SECTOR], toc[LDM_SECTOR];
                mb_ldm_dev *d = &db->devs[i];

                if (!d->have_images) {
                        w->hdr_changed = 1;
                        continue;
                }
                ldm_ph_build(d, ph);
                ldm_toc_build(d, toc);
                if (memcmp(ph, d->ph_image, LDM_SECTOR) || memcmp(toc, d->toc_image, LDM_SECTOR))
                        w->hdr_changed = 1;
        }
        return 0;
}

/*
 * The new sequence (w->pending: the committed one plus the changed records
 * plus one, at least db->next_id) written into each changed object's commit
 * id, the record rebuilt with it; then for each changed record a VBLK group
 * number no base record or earlier changed record uses and free slots
 * (base records keep theirs). MB_EINVAL when the database is full.
 */
static int build_slots(mb_ldm_db *db, wtx *w, mb_error *err)
{
        uint32_t next_slot = w->first_slot, next_group = 1;

        w->pending = db->committed_seq + w->n_changed + 1;
        if (w->pending < db->next_id)
                w->pending = db->next_id;
        for (size_t k = 0; k < w->n_new; k++) {
                if (!w->nr[k].changed)
                        continue;
                *w->nr[k].commit = w->pending;
                w->nr[k].len = build_one(db, &w->nr[k]);
                if (w->nr[k].len < 0)
                        return mb_error_set(err, MB_EINVAL, "LDM: record %llu does not fit",
                                            (unsigned long long)w->nr[k].id);
        }
        for (size_t i = 0; i < w->n_old; i++)
                for (uint16_t f = 0; f < w->olds[i].n_slots; f++)
                        w->used[w->olds[i].slots[f]] = 1;
        for (size_t k = 0; k < w->n_new; k++) {
                nrec *r = &w->nr[k];
                size_t nf;
                int taken;

                if (!r->changed)
                        continue;
                nf = ((size_t)r->len + w->payload - 1) / w->payload;
                do {
                        taken = 0;
                        for (size_t i = 0; i < w->n_old && !taken; i++)
                                taken = w->olds[i].group == next_group;
                        for (size_t j = 0; j < k && !taken; j++)
                                taken = w->nr[j].changed && w->nr[j].group == next_group;
                        if (taken)
                                next_group++;
                } while (taken);
                r->group = next_group++;
                r->slots = calloc(nf, sizeof(uint32_t));
                if (!r->slots || nf > 0xffff)
                        return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
                for (size_t f = 0; f < nf; f++) {
                        while (next_slot < db->n_vblks && w->used[next_slot])
                                next_slot++;
                        if (next_slot >= db->n_vblks)
                                return mb_error_set(err, MB_EINVAL,
                                                    "LDM group %s: the database is full (%u VBLKs)",
                                                    db->group_name, db->n_vblks);
                        w->used[next_slot] = 1;
                        r->slots[r->n_slots++] = next_slot;
                }
        }
        return 0;
}

/*
 * Builds the new state in memory: allocates w's buffers, the base
 * (build_base), the records and what changed (build_records), and when
 * anything must be written the sequence and slots (build_slots). Returns 1
 * when there is something to write, 0 when every record, header and member
 * copy is already current (nothing is written then), <0 on error.
 */
static int write_build(mb_ldm_db *db, wtx *w, mb_error *err)
{
        int rc;

        w->base = calloc(1, w->cfg_len);
        w->img = malloc(w->cfg_len);
        w->used = calloc(db->n_vblks, 1);
        w->is_new = calloc(db->n_devs, 1);
        if (!w->base || !w->img || !w->used || !w->is_new)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        rc = build_base(db, w, err);
        if (rc == 0)
                rc = build_records(db, w, err);
        if (rc < 0)
                return rc;
        if (w->n_changed == 0 && w->n_deleted == 0 && w->all_current && !w->hdr_changed)
                return 0;
        rc = build_slots(db, w, err);
        return rc < 0 ? rc : 1;
}

/* w->kl: the two KLOG pages, the first with the entry committed_seq ->
 * w->pending (state 3, commit) ahead of the group's previous entries (19 at
 * most), the page sequence one past the group's. */
static void serialize_klog(const mb_ldm_db *db, wtx *w)
{
        for (int p = 0; p < 2; p++) {
                memset(w->kl[p], 0, LDM_SECTOR);
                memcpy(w->kl[p], "KLOG", 4);
                mb_put_be64(w->kl[p] + 4, db->klog_txn);
                mb_put_be32(w->kl[p] + 0x0C, p == 0 ? db->klog_seq + 1 : 0);
                mb_put_be32(w->kl[p] + 0x10, 2);
                mb_put_be32(w->kl[p] + 0x14, (uint32_t)p);
        }
        w->kl[0][0x18] = 3;
        mb_put_be64(w->kl[0] + 0x19, db->committed_seq);
        mb_put_be64(w->kl[0] + 0x21, w->pending);
        for (size_t i = 0; i < db->n_klog && i < 19; i++) {
                uint8_t *e = w->kl[0] + 0x18 + 24 * (i + 1);

                e[0] = db->klog[i].status;
                mb_put_be64(e + 1, db->klog[i].committed);
                mb_put_be64(e + 9, db->klog[i].pending);
                mb_put_be32(e + 17, db->klog[i].recover_seq);
        }
}

/*
 * w->img: base with each changed record active in its slots and the slots of
 * replaced or deleted records cleared, its VMDB clean at the new sequence
 * (committed = pending = w->pending, counts of the new objects, modified
 * now: db->last_modified too); w->kl: the KLOG pages (serialize_klog).
 */
static void write_serialize(mb_ldm_db *db, wtx *w)
{
        uint32_t cnt_new[4];
        uint64_t now;

        memcpy(w->img, w->base, w->cfg_len);
        for (size_t k = 0; k < w->n_new; k++) {
                nrec *r = &w->nr[k];

                if (!r->changed)
                        continue;
                mb_put_be16(r->data, LDM_REC_ACTIVE);
                for (size_t f = 0; f < r->n_slots; f++) {
                        uint8_t *v = w->img + (size_t)r->slots[f] * db->vblk_size;
                        size_t off = f * w->payload, n = (size_t)r->len - off;

                        if (n > w->payload)
                                n = w->payload;
                        memset(v, 0, db->vblk_size);
                        memcpy(v, "VBLK", 4);
                        mb_put_be32(v + 4, r->slots[f]);
                        mb_put_be32(v + 8, r->group);
                        mb_put_be16(v + 12, (uint16_t)f);
                        mb_put_be16(v + 14, (uint16_t)r->n_slots);
                        memcpy(v + 16, r->data + off, n);
                }
        }
        for (size_t i = 0; i < w->n_old; i++) {
                int kept_same = 0;

                for (size_t k = 0; k < w->n_new; k++)
                        kept_same |= w->nr[k].old == &w->olds[i] && !w->nr[k].changed;
                if (!kept_same)
                        for (uint16_t f = 0; f < w->olds[i].n_slots; f++)
                                clear_slot(w->img, db->vblk_size, w->olds[i].slots[f]);
        }
        count_types(db, cnt_new);

        serialize_klog(db, w);

        now = ldm_filetime_now();
        vmdb_build(db, w->img, LDM_DB_CLEAN, w->pending, w->pending, cnt_new, cnt_new, now);
        db->last_modified = now;
}

/*
 * Puts the new state on member d (device dev): the config region in one
 * write (VMDB sector through the last sector that differs from base, or all
 * of it when the member's copy is not current), the first KLOG page (both
 * when full), then -- only when new or changed -- both TOCBLOCKs and the
 * PRIVHEADs, secondary before primary (and sector 6 of an MBR member that
 * had one). A new member gets its timestamp here. On success d's PRIVHEAD
 * and TOCBLOCK images are the ones written.
 */
static int write_member(mb_ldm_db *db, mb_ldm_dev *d, mb_blockdev *dev, const wtx *w,
                        mb_error *err)
{
        uint64_t lba = d->config_start + d->regions[1].start;
        int full = !d->cfg_current || !db->cfg, rc;
        uint8_t ph[LDM_SECTOR], toc[LDM_SECTOR];

        rc = write_config(dev, d->config_start + d->regions[0].start, w->base, w->img, w->cfg_len,
                          full, err);
        if (rc == 0)
                rc = write_sector(dev, lba, w->kl[0], "the KLOG", err);
        if (rc == 0 && full)
                rc = write_sector(dev, lba + 1, w->kl[1], "the KLOG", err);
        if (rc < 0)
                return rc;
        if (!d->have_images && d->timestamp == 0)
                d->timestamp = ldm_filetime_now();
        ldm_ph_build(d, ph);
        ldm_toc_build(d, toc);
        if (d->have_images && !memcmp(ph, d->ph_image, LDM_SECTOR) &&
            !memcmp(toc, d->toc_image, LDM_SECTOR))
                return 0;
        rc = write_sector(dev, d->config_start + d->toc_primary, toc, "a TOCBLOCK", err);
        if (rc == 0 && d->toc_secondary != d->toc_primary)
                rc = write_sector(dev, d->config_start + d->toc_secondary, toc, "a TOCBLOCK", err);
        if (rc == 0)
                rc = write_sector(dev, d->config_start + d->ph_secondary, ph, "a PRIVHEAD", err);
        if (rc == 0)
                rc = write_sector(dev, d->config_start + d->ph_primary, ph, "a PRIVHEAD", err);
        if (rc == 0 && d->sector6 && !d->is_gpt)
                rc = write_sector(dev, 6, ph, "a PRIVHEAD", err);
        if (rc < 0)
                return rc;
        memcpy(d->ph_image, ph, LDM_SECTOR);
        memcpy(d->toc_image, toc, LDM_SECTOR);
        d->have_images = 1;
        return 0;
}

/* After every member is written: db describes what is on disk (its config
 * image is w->img, taken from w; the new sequence; the KLOG entry added). */
static void write_done(mb_ldm_db *db, wtx *w)
{
        uint64_t old_committed = db->committed_seq;

        free(db->cfg);
        db->cfg = w->img;
        db->cfg_len = w->cfg_len;
        w->img = NULL;
        db->committed_seq = w->pending;
        if (db->next_id <= w->pending)
                db->next_id = w->pending + 1;
        for (size_t i = 0; i < db->n_devs; i++)
                db->devs[i].cfg_current = 1;
        db->klog_seq++;
        memmove(&db->klog[1], &db->klog[0], sizeof(db->klog[0]) * (db->n_klog < 19 ? db->n_klog : 19));
        db->klog[0] = (mb_ldm_klog_entry){ 3, old_committed, w->pending, 0 };
        if (db->n_klog < 20)
                db->n_klog++;
}

int mb_ldm_write(mb_ldm_db *db, mb_blockdev **devs, size_t n_devs, mb_error *err)
{
        wtx w = { 0 };
        int rc;

        rc = write_validate(db, devs, n_devs, &w, err);
        if (rc < 0)
                return rc;
        rc = write_build(db, &w, err);
        if (rc <= 0)
                goto out;
        write_serialize(db, &w);

        /*
         * A member's config region is replaced in one write (VMDB first
         * sector, through its last changed sector), so a process killed
         * between writes leaves each member's copy whole, old or new: Windows
         * and this reader take the member with the higher committed sequence,
         * and libldm (which counts every record, pending or not, and knows no
         * transaction states) reads each copy. New members come first: a new
         * GPT member is staged (its metadata partition appears only after
         * this write), so the group is never named on a disk whose private
         * region is not complete.
         */
        for (size_t i = 0; i < db->n_devs; i++)
                w.is_new[i] = !db->devs[i].have_images;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < db->n_devs; i++) {
                        if ((pass == 0) != w.is_new[i])
                                continue;
                        rc = write_member(db, &db->devs[i], devs[db->devs[i].dev_index], &w, err);
                        if (rc < 0)
                                goto out;
                }
        write_done(db, &w);
        rc = 0;
out:
        wtx_free(&w);
        return rc;
}

int mb_ldm_repair(mb_ldm_db *db, mb_blockdev **devs, size_t n_devs, const int *allowed,
                  size_t *ret_fixed, mb_error *err)
{
        size_t fixed = 0;
        int rc = 0;

        for (size_t i = 0; i < db->n_devs && rc == 0; i++) {
                mb_ldm_dev *d = &db->devs[i];
                mb_blockdev *dev;

                if (d->n_damage == 0)
                        continue;
                if (d->dev_index < 0 || (size_t)d->dev_index >= n_devs || !devs[d->dev_index])
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: member %zu needs device index %d but %zu device(s) were given",
                                            db->group_name, i, d->dev_index, n_devs);
                if (allowed && !allowed[d->dev_index])
                        continue;
                dev = devs[d->dev_index];
                if (!d->have_images)
                        return mb_error_set(err, MB_EINVAL, "%s: no intact copy was read to repair from",
                                            dev->name);
                rc = check_device(db, d, dev, err);
                for (uint32_t k = 0; k < d->n_damage && rc == 0; k++) {
                        const mb_ldm_damage *g = &d->damage[k];

                        switch (g->kind) {
                        case MB_LDM_DMG_PRIVHEAD:
                                rc = write_sector(dev, g->lba, d->ph_image, "a PRIVHEAD", err);
                                break;
                        case MB_LDM_DMG_TOCBLOCK:
                                rc = write_sector(dev, g->lba, d->toc_image, "a TOCBLOCK", err);
                                break;
                        case MB_LDM_DMG_DATABASE:
                                if (!db->cfg || g->lba != d->config_start + d->regions[0].start)
                                        return mb_error_set(err, MB_ESTATE,
                                                            "%s: the database copy at sector %llu differs but the group has no clean copy to repair it from",
                                                            dev->name, (unsigned long long)g->lba);
                                rc = write_config(dev, g->lba, db->cfg, db->cfg, db->cfg_len, 1, err);
                                if (rc == 0)
                                        d->cfg_current = 1;
                                break;
                        }
                        if (rc == 0)
                                fixed++;
                }
                if (rc == 0)
                        d->n_damage = 0;
        }
        if (ret_fixed)
                *ret_fixed = fixed;
        return rc;
}

/* -------------------------------------------------------------- builders */

/* 1 + the largest N among names "<prefix>N" (names: n strings, stride bytes apart) */
static uint32_t next_number(const char *prefix, const char *first_name, size_t stride, size_t n)
{
        size_t pl = strlen(prefix);
        uint32_t max = 0;

        for (size_t i = 0; i < n; i++) {
                const char *s = first_name + i * stride;
                char *end;
                unsigned long v;

                if (strncmp(s, prefix, pl) != 0 || s[pl] < '0' || s[pl] > '9')
                        continue;
                v = strtoul(s + pl, &end, 10);
                if (*end == '\0' && v > max && v < 100000)
                        max = (uint32_t)v;
        }
        return max + 1;
}

static int push(void **arr, size_t *n, size_t elem, const void *v)
{
        void *p = realloc(*arr, (*n + 1) * elem);

        if (!p)
                return -1;
        *arr = p;
        memcpy((char *)p + *n * elem, v, elem);
        (*n)++;
        return 0;
}

int mb_ldm_db_new(const char *group_name, const mb_guid *group_guid, mb_ldm_db **ret_db,
                  mb_error *err)
{
        mb_ldm_db *db;
        mb_guid g;

        if (!group_name || !*group_name || strlen(group_name) > 31)
                return mb_error_set(err, MB_EINVAL,
                                    "LDM: disk group name \"%s\" must have 1 to 31 characters",
                                    group_name ? group_name : "");
        db = calloc(1, sizeof(*db));
        if (!db)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        if (group_guid) {
                db->group_guid = *group_guid;
        } else if (mb_guid_random(&db->group_guid) != 0) {
                free(db);
                return mb_error_set(err, MB_EIO, "LDM: no random source for a group GUID");
        }
        snprintf(db->group_name, sizeof(db->group_name), "%s", group_name);
        mb_guid_format(&db->group_guid, db->group_guid_str);
        db->dg_id = 1;
        db->dg_rev = 3;
        db->next_id = 2;
        db->n_vblks = 1481 * LDM_SECTOR / 128;
        db->vblk_size = 128;
        db->vmdb_header_size = LDM_SECTOR;
        db->vmdb_major = 4;
        db->vmdb_minor = 10;
        if (mb_guid_random(&g) == 0)
                db->disk_signature = mb_be32(g.b);
        *ret_db = db;
        return 0;
}

static mb_ldm_disk *disk_by_id(mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_disks; i++)
                if (db->disks[i].id == id)
                        return &db->disks[i];
        return NULL;
}

static mb_ldm_vol *vol_by_id(mb_ldm_db *db, uint64_t id)
{
        for (size_t i = 0; i < db->n_vols; i++)
                if (db->vols[i].id == id)
                        return &db->vols[i];
        return NULL;
}

static const mb_ldm_dev *dev_of_disk(const mb_ldm_db *db, const mb_ldm_disk *d)
{
        for (size_t i = 0; i < db->n_devs; i++)
                if (mb_guid_equal(&db->devs[i].disk_guid, &d->guid))
                        return &db->devs[i];
        return NULL;
}

int mb_ldm_init_gpt_disk(mb_ldm_db *db, int dev_index, uint64_t meta_first, uint64_t meta_last,
                         uint64_t data_first, uint64_t data_last, const char *name,
                         const mb_guid *disk_guid, uint64_t *ret_disk_id, mb_error *err)
{
        mb_ldm_dev d;
        mb_ldm_disk k, *rejoin = NULL;
        char nm[MB_LDM_STR_MAX];

        if (dev_index < 0)
                return mb_error_set(err, MB_EINVAL, "LDM: device index %d", dev_index);
        if (meta_last < meta_first || meta_last - meta_first + 1 != 2048)
                return mb_error_set(err, MB_ENOTSUP,
                                    "LDM: metadata partition LBA %llu-%llu is not 2048 sectors (1 MiB) as Windows makes it",
                                    (unsigned long long)meta_first, (unsigned long long)meta_last);
        if (data_last < data_first || (data_first <= meta_last && meta_first <= data_last))
                return mb_error_set(err, MB_EINVAL,
                                    "LDM: data partition LBA %llu-%llu is empty or overlaps the metadata partition",
                                    (unsigned long long)data_first, (unsigned long long)data_last);
        for (size_t i = 0; i < db->n_devs; i++)
                if (db->devs[i].dev_index == dev_index)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: device %d is already a member", db->group_name,
                                            dev_index);
        if (name && (!*name || strlen(name) >= MB_LDM_STR_MAX))
                return mb_error_set(err, MB_EINVAL, "LDM: bad disk name");
        memset(&d, 0, sizeof(d));
        memset(&k, 0, sizeof(k));
        if (disk_guid)
                d.disk_guid = *disk_guid;
        else if (mb_guid_random(&d.disk_guid) != 0)
                return mb_error_set(err, MB_EIO, "LDM: no random source for a disk GUID");
        for (size_t i = 0; i < db->n_disks; i++) {
                mb_ldm_disk *o = &db->disks[i];
                int busy = 0;

                if (!mb_guid_equal(&o->guid, &d.disk_guid))
                        continue;
                /* A missing disk with no extents whose GUID is asked for: the
                 * member a staged write left (mb_ldm_staged_disk); it comes
                 * back on this device. */
                for (size_t j = 0; j < db->n_parts; j++)
                        busy |= db->parts[j].disk_id == o->id;
                if (!disk_guid || o->dev_index >= 0 || dev_of_disk(db, o) || busy)
                        return mb_error_set(err, MB_EINVAL, "LDM group %s: disk GUID already used by %s",
                                            db->group_name, o->name);
                rejoin = o;
        }
        d.dev_index = dev_index;
        d.is_gpt = 1;
        d.version_major = 2;
        d.version_minor = 12;
        d.update_seq = 1;
        d.ph_primary = 2047;
        d.ph_secondary = 1856;
        snprintf(d.host_guid, sizeof(d.host_guid), "%s", HOST_GUID);
        snprintf(d.group_guid, sizeof(d.group_guid), "%s", db->group_guid_str);
        snprintf(d.group_name, sizeof(d.group_name), "%s", db->group_name);
        d.bytes_per_sector = LDM_SECTOR;
        d.logical_disk_start = data_first;
        d.logical_disk_size = data_last - data_first + 1;
        d.config_start = meta_first;
        d.config_size = 2048;
        d.toc_primary = 2;
        d.toc_secondary = 2045;
        d.n_configs = 1;
        d.n_logs = 1;
        d.config_sectors = 1481;
        d.log_sectors = 224;
        d.disk_signature = db->disk_signature;
        d.toc_seq = 1;
        d.regions[0] = (mb_ldm_region){ "config", 0, 17, 1481, 6, 1 };
        d.regions[1] = (mb_ldm_region){ "log", 0, 1498, 224, 6, 1 };
        if (db->n_devs > 0) {
                /* same config/log layout as the other members, so the shared image fits */
                const mb_ldm_dev *o = &db->devs[0];

                if (o->regions[0].start + o->regions[0].size > 2045 ||
                    o->regions[1].start + o->regions[1].size > 1856)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "LDM group %s: its config/log layout does not fit a 1 MiB metadata partition",
                                            db->group_name);
                d.regions[0] = o->regions[0];
                d.regions[1] = o->regions[1];
                d.config_sectors = o->config_sectors;
                d.log_sectors = o->log_sectors;
        }
        if ((uint64_t)db->n_vblks * db->vblk_size > d.regions[0].size * LDM_SECTOR)
                return mb_error_set(err, MB_ENOTSUP, "LDM group %s: database larger than the config region",
                                    db->group_name);
        if (rejoin) {
                uint64_t id = rejoin->id;

                rejoin->dev_index = dev_index;
                if (push((void **)&db->devs, &db->n_devs, sizeof(d), &d) < 0)
                        return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
                if (ret_disk_id)
                        *ret_disk_id = id;
                return 0;
        }
        k.id = db->next_id++;
        if (name)
                snprintf(k.name, sizeof(k.name), "%s", name);
        else
        {
                snprintf(nm, sizeof(nm), "Disk%u",
                         next_number("Disk", db->n_disks ? db->disks[0].name : NULL,
                                     sizeof(mb_ldm_disk), db->n_disks));
                snprintf(k.name, sizeof(k.name), "%s", nm);
        }
        k.guid = d.disk_guid;
        k.dev_index = dev_index;
        k.rev = 3;
        if (push((void **)&db->devs, &db->n_devs, sizeof(d), &d) < 0 ||
            push((void **)&db->disks, &db->n_disks, sizeof(k), &k) < 0)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        if (ret_disk_id)
                *ret_disk_id = k.id;
        return 0;
}

int mb_ldm_stage_dev(mb_ldm_db *db, int dev_index, mb_error *err)
{
        for (size_t i = 0; i < db->n_devs; i++) {
                mb_ldm_dev *d = &db->devs[i];

                if (d->dev_index != dev_index)
                        continue;
                if (d->have_images || !d->is_gpt)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM group %s: device %d is not a new GPT member",
                                            db->group_name, dev_index);
                d->staged = 1;
                return 0;
        }
        return mb_error_set(err, MB_EINVAL, "LDM group %s: device %d is not a member", db->group_name,
                            dev_index);
}

int mb_ldm_staged_disk(mb_blockdev *dev, uint64_t meta_first, mb_guid *ret_disk_guid,
                       char ret_group_guid[65], int *ret_found, mb_error *err)
{
        uint8_t b[LDM_SECTOR];
        char why[160];
        mb_ldm_dev d;
        int rc;

        *ret_found = 0;
        rc = mb_blockdev_read(dev, (meta_first + 2047) * LDM_SECTOR, b, sizeof(b), err);
        if (rc < 0)
                return mb_error_prefix(err, "reading a staged PRIVHEAD of %s", dev->name);
        if (ldm_ph_parse(b, &d, why, sizeof(why)) < 0)
                return 0;
        *ret_disk_guid = d.disk_guid;
        snprintf(ret_group_guid, 65, "%s", d.group_guid);
        *ret_found = 1;
        return 0;
}

static int extent_free(mb_ldm_db *db, uint64_t disk_id, uint64_t start, uint64_t size, mb_error *err)
{
        mb_ldm_disk *k = disk_by_id(db, disk_id);
        const mb_ldm_dev *d;

        if (!k)
                return mb_error_set(err, MB_ENOENT, "LDM group %s: no disk with id %llu", db->group_name,
                                    (unsigned long long)disk_id);
        if (size == 0 || start + size < start)
                return mb_error_set(err, MB_EINVAL, "LDM: empty or wrapping extent on %s", k->name);
        d = dev_of_disk(db, k);
        if (d && start + size > d->logical_disk_size)
                return mb_error_set(err, MB_EINVAL,
                                    "LDM: extent %llu+%llu runs past the data area of %s (%llu sectors)",
                                    (unsigned long long)start, (unsigned long long)size, k->name,
                                    (unsigned long long)d->logical_disk_size);
        for (size_t i = 0; i < db->n_parts; i++) {
                const mb_ldm_part *p = &db->parts[i];

                if (p->disk_id == disk_id && start < p->start + p->size && p->start < start + size)
                        return mb_error_set(err, MB_EINVAL,
                                            "LDM: extent %llu+%llu on %s overlaps partition %s (%llu+%llu)",
                                            (unsigned long long)start, (unsigned long long)size,
                                            k->name, p->name, (unsigned long long)p->start,
                                            (unsigned long long)p->size);
        }
        return 0;
}

static int add_part(mb_ldm_db *db, mb_ldm_disk *k, uint64_t comp_id, uint64_t start, uint64_t size,
                    uint64_t *ret_id, mb_error *err)
{
        mb_ldm_part p;
        char prefix[MB_LDM_STR_MAX + 2];
        uint32_t n;

        memset(&p, 0, sizeof(p));
        snprintf(prefix, sizeof(prefix), "%s-", k->name);
        n = next_number(prefix, db->n_parts ? db->parts[0].name : NULL, sizeof(mb_ldm_part),
                        db->n_parts);
        if (strlen(k->name) + 4 >= MB_LDM_STR_MAX)
                return mb_error_set(err, MB_EINVAL, "LDM: disk name too long");
        snprintf(p.name, sizeof(p.name), "%s-%02u", k->name, n);
        p.id = db->next_id++;
        p.disk_id = k->id;
        p.comp_id = comp_id;
        p.start = start;
        p.size = size;
        p.rec_flags = 0x40;     /* as Windows Server 2008 R2 writes them */
        if (push((void **)&db->parts, &db->n_parts, sizeof(p), &p) < 0)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        if (ret_id)
                *ret_id = p.id;
        return 0;
}

static int add_comp(mb_ldm_db *db, const mb_ldm_vol *v, uint64_t *ret_id, mb_error *err)
{
        mb_ldm_comp c;
        char prefix[MB_LDM_STR_MAX + 2];
        uint32_t n;

        if (strlen(v->name) + 4 >= MB_LDM_STR_MAX)
                return mb_error_set(err, MB_EINVAL, "LDM: volume name too long");
        memset(&c, 0, sizeof(c));
        snprintf(prefix, sizeof(prefix), "%s-", v->name);
        n = next_number(prefix, db->n_comps ? db->comps[0].name : NULL, sizeof(mb_ldm_comp),
                        db->n_comps);
        snprintf(c.name, sizeof(c.name), "%s-%02u", v->name, n);
        c.id = db->next_id++;
        c.vol_id = v->id;
        c.state_ok = 1;
        c.n_parts = 1;
        strcpy(c.state, "ACTIVE");
        c.layout = MB_LDM_LAYOUT_CONCAT;
        if (push((void **)&db->comps, &db->n_comps, sizeof(c), &c) < 0)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        *ret_id = c.id;
        return 0;
}

int mb_ldm_add_simple_volume(mb_ldm_db *db, uint64_t disk_id, uint64_t start, uint64_t size,
                             const char *name, const char *hint, uint8_t part_type,
                             const mb_guid *vol_guid, uint64_t *ret_vol_id, mb_error *err)
{
        mb_ldm_vol v;
        uint32_t number = 0;
        uint64_t comp_id;
        size_t n_vols = db->n_vols, n_comps = db->n_comps, n_parts = db->n_parts;
        uint64_t next_id = db->next_id;
        int rc;

        rc = extent_free(db, disk_id, start, size, err);
        if (rc < 0)
                return rc;
        if ((name && (!*name || strlen(name) + 4 >= MB_LDM_STR_MAX)) ||
            (hint && strlen(hint) >= MB_LDM_STR_MAX))
                return mb_error_set(err, MB_EINVAL, "LDM: bad volume name or hint");
        if (name && mb_ldm_find_vol(db, name))
                return mb_error_set(err, MB_EINVAL, "LDM group %s: volume %s exists", db->group_name,
                                    name);
        for (size_t i = 0; i < db->n_vols; i++)
                if (db->vols[i].number > number)
                        number = db->vols[i].number;
        if (++number > 255)
                return mb_error_set(err, MB_EINVAL, "LDM group %s: no free volume number",
                                    db->group_name);
        memset(&v, 0, sizeof(v));
        v.id = db->next_id++;
        if (name)
                snprintf(v.name, sizeof(v.name), "%s", name);
        else
                snprintf(v.name, sizeof(v.name), "Volume%u",
                         next_number("Volume", db->n_vols ? db->vols[0].name : NULL,
                                     sizeof(mb_ldm_vol), db->n_vols));
        if (vol_guid)
                v.guid = *vol_guid;
        else if (mb_guid_random(&v.guid) != 0)
                return mb_error_set(err, MB_EIO, "LDM: no random source for a volume GUID");
        v.type = MB_LDM_VOL_SIMPLE;
        v.size = size;
        v.part_type = part_type;
        strcpy(v.state, "ACTIVE");
        strcpy(v.type_str, "gen");
        v.read_policy = 3;
        v.number = number;
        v.flags = 0x11;
        v.n_comps = 1;
        if (hint && *hint) {
                snprintf(v.hint, sizeof(v.hint), "%s", hint);
                v.rec_flags |= 0x02;
        }
        if (push((void **)&db->vols, &db->n_vols, sizeof(v), &v) < 0)
                return mb_error_set(err, MB_ENOMEM, "LDM: out of memory");
        rc = add_comp(db, &db->vols[db->n_vols - 1], &comp_id, err);
        if (rc == 0)
                rc = add_part(db, disk_by_id(db, disk_id), comp_id, start, size, NULL, err);
        if (rc < 0) {
                db->n_vols = n_vols;
                db->n_comps = n_comps;
                db->n_parts = n_parts;
                db->next_id = next_id;
                return rc;
        }
        ldm_derive_types(db);
        if (ret_vol_id)
                *ret_vol_id = v.id;
        return 0;
}

int mb_ldm_add_mirror_plex(mb_ldm_db *db, uint64_t vol_id, uint64_t disk_id, uint64_t start,
                           uint64_t *ret_part_id, mb_error *err)
{
        mb_ldm_vol *v = vol_by_id(db, vol_id);
        mb_ldm_disk *k = disk_by_id(db, disk_id);
        size_t n_comps = db->n_comps, n_parts = db->n_parts;
        uint64_t next_id = db->next_id, comp_id, part_id;
        int rc;

        if (!v || !k)
                return mb_error_set(err, MB_ENOENT, "LDM group %s: no %s with id %llu", db->group_name,
                                    v ? "disk" : "volume",
                                    (unsigned long long)(v ? disk_id : vol_id));
        if (v->type != MB_LDM_VOL_SIMPLE && v->type != MB_LDM_VOL_MIRRORED)
                return mb_error_set(err, MB_ENOTSUP, "LDM: volume %s is %s; only simple and mirrored volumes take a plex",
                                    v->name, mb_ldm_vol_type_name(v->type));
        for (size_t i = 0; i < db->n_comps; i++) {
                if (db->comps[i].vol_id != vol_id)
                        continue;
                for (size_t j = 0; j < db->n_parts; j++)
                        if (db->parts[j].comp_id == db->comps[i].id && db->parts[j].disk_id == disk_id)
                                return mb_error_set(err, MB_EINVAL,
                                                    "LDM: %s already holds a plex of volume %s (%s)",
                                                    k->name, v->name, db->parts[j].name);
        }
        rc = extent_free(db, disk_id, start, v->size, err);
        if (rc < 0)
                return rc;
        rc = add_comp(db, v, &comp_id, err);
        if (rc == 0)
                rc = add_part(db, k, comp_id, start, v->size, &part_id, err);
        if (rc < 0) {
                db->n_comps = n_comps;
                db->n_parts = n_parts;
                db->next_id = next_id;
                return rc;
        }
        v = vol_by_id(db, vol_id);
        v->n_comps++;
        ldm_derive_types(db);
        if (ret_part_id)
                *ret_part_id = part_id;
        return 0;
}

int mb_ldm_remove_disk(mb_ldm_db *db, uint64_t disk_id, mb_error *err)
{
        mb_ldm_disk *k = disk_by_id(db, disk_id);
        size_t w;

        if (!k)
                return mb_error_set(err, MB_ENOENT, "LDM group %s: no disk with id %llu", db->group_name,
                                    (unsigned long long)disk_id);
        if (k->dev_index >= 0 || dev_of_disk(db, k))
                return mb_error_set(err, MB_EUNSAFE,
                                    "LDM group %s: disk %s is present; only missing disks can be removed",
                                    db->group_name, k->name);
        /* components with an extent on the disk go, with all their extents */
        for (size_t i = 0; i < db->n_comps; i++) {
                int hit = 0;

                for (size_t j = 0; j < db->n_parts; j++)
                        hit |= db->parts[j].comp_id == db->comps[i].id && db->parts[j].disk_id == disk_id;
                if (hit) {
                        mb_ldm_vol *v = vol_by_id(db, db->comps[i].vol_id);

                        if (v && v->n_comps > 0)
                                v->n_comps--;
                        db->comps[i].id = 0;    /* mark */
                }
        }
        for (size_t j = w = 0; j < db->n_parts; j++) {
                int keep = db->parts[j].disk_id != disk_id;

                if (keep) {
                        int comp_alive = 0;

                        for (size_t i = 0; i < db->n_comps; i++)
                                comp_alive |= db->comps[i].id == db->parts[j].comp_id;
                        keep = comp_alive;
                }
                if (keep)
                        db->parts[w++] = db->parts[j];
        }
        db->n_parts = w;
        for (size_t i = w = 0; i < db->n_comps; i++)
                if (db->comps[i].id != 0)
                        db->comps[w++] = db->comps[i];
        db->n_comps = w;
        for (size_t i = w = 0; i < db->n_vols; i++) {
                int has = 0;

                for (size_t j = 0; j < db->n_comps; j++)
                        has |= db->comps[j].vol_id == db->vols[i].id;
                if (has)
                        db->vols[w++] = db->vols[i];
        }
        db->n_vols = w;
        for (size_t i = w = 0; i < db->n_disks; i++)
                if (db->disks[i].id != disk_id)
                        db->disks[w++] = db->disks[i];
        db->n_disks = w;
        ldm_derive_types(db);
        return 0;
}
