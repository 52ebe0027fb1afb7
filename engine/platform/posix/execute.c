/* SPDX-License-Identifier: MIT */
/*
 * The wing's operations: one handler per op kind, in a table indexed by the
 * kind (mb_posix_handlers), which a disk-as-file target sets as its
 * handler table. Each handler starts with mb_posix_prologue (the work every
 * operation needs before it touches a disk: the disks' hash caches stop
 * trusting the file's stat, and before the first operation of a run an LDM
 * transaction a killed run left half-done is finished), then resolves the
 * op's partitions by role on the disks as they are now and calls the
 * mechanics (gpt.c, fat.c, sparse.c, bcd.c, dynamic.c, firmware.c). Side
 * effects Windows has on another store are performed here, after the op
 * itself: a mirror add's "secondary plex" BCD loader entry.
 */
#include "platform/posix/execute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "platform/posix/bcd.h"
#include "platform/posix/dynamic.h"
#include "platform/posix/fat.h"
#include "platform/posix/firmware.h"
#include "platform/posix/gpt.h"
#include "platform/posix/sparse.h"


int mb_posix_prologue(mb_posix_machine *ip, mb_error *err)
{
        int rc;

        for (uint32_t i = 0; i < ip->n_disks; i++)
                ip->disks[i].hash_cache.stat_valid = false;
        if (!ip->ldm_caught_up) {
                /* a split a killed run left can only be there before our first write */
                rc = img_dynamic_catch_up(ip, err);
                if (rc < 0)
                        return rc;
                ip->ldm_caught_up = true;
        }
        return 0;
}


/* The partition of role on d now; *t is filled and owned by the caller. */
static int role_part(mb_posix_machine *ip, mb_posix_disk *d, mb_role role, mb_posix_table *t, mb_posix_gpt_part **ret,
                     mb_error *err)
{
        return img_role_part(ip, d->number, role, t, ret, err);
}

static int op_init_gpt(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *d = mb_posix_machine_disk(ip, op->disk, err);
        mb_posix_table t;
        int rc;

        if (!d)
                return err->code;
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        img_table_clear(&t);
        return img_gpt_init(d, err);
}

static int op_part_create(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *d = mb_posix_machine_disk(ip, op->disk, err);
        const char *type = op->type_guid[0] ? op->type_guid : mb_role_type_guid(op->role);
        mb_posix_gpt_part *p;
        mb_posix_table t;
        int rc;

        if (!d)
                return err->code;
        if (!type)
                return mb_error_set(err, MB_EINVAL, "PART_CREATE on disk %u needs a type", op->disk);
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        p = img_table_role(&t, op->role);
        if (p && op->role != MB_ROLE_NONE) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "%s (disk %u): a %s partition already exists (partition %u, LBA %llu-%llu)",
                                  d->path, d->number, mb_role_to_string(op->role), p->number,
                                  (unsigned long long)p->first_lba,
                                  (unsigned long long)p->last_lba);
                img_table_clear(&t);
                return rc;
        }
        img_table_clear(&t);
        return img_gpt_create(d, op->first_lba, op->last_lba, type, op->name, op->attributes,
                              NULL, err);
}

static int op_part_set(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *d = mb_posix_machine_disk(ip, op->disk, err);
        mb_posix_gpt_part *p;
        mb_posix_table t;
        uint32_t number;
        int rc;

        if (!d)
                return err->code;
        rc = role_part(ip, d, op->role, &t, &p, err);
        if (rc < 0)
                return rc;
        number = p->number;
        img_table_clear(&t);
        switch (op->kind) {
        case MB_OP_PART_SET_TYPE:
                return img_gpt_set_type(d, number, op->type_guid, err);
        case MB_OP_PART_SET_ATTRS:
                return img_gpt_set_attrs(d, number, op->attributes, err);
        default:
                return img_gpt_set_name(d, number, op->name, err);
        }
}

static int op_format(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *d = mb_posix_machine_disk(ip, op->disk, err);
        mb_posix_gpt_part *p;
        mb_posix_table t;
        uint64_t first, last;
        int rc, fd;

        if (!d)
                return err->code;
        rc = role_part(ip, d, op->role, &t, &p, err);
        if (rc < 0)
                return rc;
        first = p->first_lba, last = p->last_lba;
        img_table_clear(&t);
        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return rc;
        switch (op->fs) {
        case MB_FS_FAT32:
                rc = img_format_fat32(d->path, d->sector, first, last, op->label, err);
                break;
        case MB_FS_NTFS:
                rc = img_format_ntfs(d->path, fd, d->sector, first, last, op->label, err);
                break;
        default:
                rc = mb_error_set(err, MB_ENOTSUP, "image target: cannot format as %s",
                                  mb_fs_to_string(op->fs));
        }
        if (rc == 0 && fsync(fd) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", d->path);
        close(fd);
        return rc;
}

/* Resolves (disk, role) and (disk2, role): target and source partitions. */
static int two_parts(mb_posix_machine *ip, const mb_op *op, mb_posix_disk **ret_dd, mb_posix_disk **ret_sd,
                     uint64_t *ret_doff, uint64_t *ret_soff, uint64_t *ret_len, uint64_t *ret_dsize,
                     mb_error *err)
{
        mb_posix_disk *dd = mb_posix_machine_disk(ip, op->disk, err), *sd;
        mb_posix_gpt_part *dp, *sp;
        mb_posix_table dt, st;
        uint64_t dn, sn;
        int rc;

        if (!dd || !(sd = mb_posix_machine_disk(ip, op->disk2, err)))
                return err->code;
        if (op->disk == op->disk2)
                return mb_error_set(err, MB_EINVAL, "source and target are the same disk (%u)",
                                    op->disk);
        rc = role_part(ip, dd, op->role, &dt, &dp, err);
        if (rc < 0)
                return rc;
        rc = role_part(ip, sd, op->role, &st, &sp, err);
        if (rc < 0) {
                img_table_clear(&dt);
                return rc;
        }
        dn = dp->last_lba - dp->first_lba + 1;
        sn = sp->last_lba - sp->first_lba + 1;
        if (dd->sector != sd->sector) {
                /* the plan refuses this first: geometry is copied sector for sector */
                rc = mb_error_set(err, MB_ESTATE,
                                  "the %s partitions are on disks of different sector sizes: %s has %u-byte sectors, %s has %u",
                                  mb_role_to_string(op->role), dd->path, dd->sector, sd->path,
                                  sd->sector);
        } else if (dn != sn) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "the %s partitions differ in size: %s has %llu sectors, %s has %llu",
                                  mb_role_to_string(op->role), dd->path, (unsigned long long)dn,
                                  sd->path, (unsigned long long)sn);
        } else {
                *ret_dd = dd, *ret_sd = sd;
                *ret_doff = dp->first_lba * dd->sector;
                *ret_soff = sp->first_lba * sd->sector;
                *ret_len = dn * dd->sector;
                *ret_dsize = dt.size;
        }
        img_table_clear(&dt);
        img_table_clear(&st);
        return rc;
}

static int op_clone(mb_posix_machine *ip, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_disk *dd, *sd;
        uint64_t doff, soff, len, dsize;
        char what[64];
        int rc, fd;

        rc = two_parts(ip, op, &dd, &sd, &doff, &soff, &len, &dsize, err);
        if (rc < 0)
                return rc;
        rc = img_open_rw(dd, &fd, err);
        if (rc < 0)
                return rc;
        snprintf(what, sizeof(what), "clone %s disk %u -> %u", mb_role_to_string(op->role),
                 op->disk2, op->disk);
        dd->rehash = true;
        rc = img_copy_sparse(sd->fd, soff, fd, doff, len, what, progress, err);
        if (rc < 0)
                mb_error_prefix(err, "cloning %s from %s to %s", mb_role_to_string(op->role),
                                sd->path, dd->path);
        else if (fsync(fd) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", dd->path);
        close(fd);
        return rc;
}

static int op_sync(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_posix_disk *dd, *sd;
        uint64_t doff, soff, len, dsize;
        int rc, fd;

        rc = two_parts(ip, op, &dd, &sd, &doff, &soff, &len, &dsize, err);
        if (rc < 0)
                return rc;
        rc = img_open_rw(dd, &fd, err);
        if (rc < 0)
                return rc;
        close(fd);
        return img_fat_sync(dd->path, doff, sd->path, soff, op->keep_store, err);
}

/* ---- side effects ---- */

/* The description of the default OS loader (first in {bootmgr}'s display
 * order, as the snapshot model takes it), "" when there is none. */
static void default_loader_description(const mb_facts *f, char *buf, size_t len)
{
        mb_bcd_object_fact *bm = mb_facts_bcd_object(f, "{bootmgr}");

        buf[0] = '\0';
        if (bm && bm->n_displayorder) {
                mb_bcd_object_fact *o = mb_facts_bcd_object(f, bm->displayorder[0]);

                if (o && o->description)
                        snprintf(buf, len, "%s", o->description);
        }
}

/* After a mirror add of the boot volume: the "<loader> - secondary plex"
 * loader entry Windows adds to the store (booting the new plex), listed
 * last in the boot menu. Each half is skipped when it is there already, so
 * a run killed between the plex and the entry finishes it. No store on the
 * system ESP: nothing to do. */
static int mirror_add_bcd_entry(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_facts *bf = img_bcd_read(ip);
        char desc[160], base[128];
        mb_op lop;
        int rc = 0;

        if (!bf)
                return 0;
        default_loader_description(bf, base, sizeof(base));
        snprintf(desc, sizeof(desc), "%s - secondary plex", base);
        if (base[0] && !mb_facts_bcd_by_description(bf, "os-loader", desc)) {
                memset(&lop, 0, sizeof(lop));
                lop.kind = MB_OP_BCD_CREATE_LOADER;
                lop.disk = op->disk;
                lop.role = MB_ROLE_OS;
                snprintf(lop.description, sizeof(lop.description), "%s", desc);
                rc = img_bcd_execute(ip, &lop, img_role_part, err);
                if (rc < 0)
                        mb_error_prefix(err, "BCD entry \"%s\"", desc);
        }
        mb_facts_free(bf);
        /* ... and Windows lists it in the boot menu */
        if (rc == 0 && base[0] && (bf = img_bcd_read(ip))) {
                mb_bcd_object_fact *o = mb_facts_bcd_by_description(bf, "os-loader", desc);
                mb_bcd_object_fact *bm = mb_facts_bcd_object(bf, "{bootmgr}");
                bool listed = false;

                for (uint32_t i = 0; o && bm && i < bm->n_displayorder; i++)
                        listed |= strcasecmp(bm->displayorder[i], o->id) == 0;
                if (o && bm && !listed) {
                        memset(&lop, 0, sizeof(lop));
                        lop.kind = MB_OP_BCD_DISPLAYORDER;
                        lop.disk = op->disk;
                        lop.position = MB_POS_LAST;
                        snprintf(lop.object, sizeof(lop.object), "%s", o->id);
                        rc = img_bcd_execute(ip, &lop, img_role_part, err);
                        if (rc < 0)
                                mb_error_prefix(err, "BCD entry \"%s\" in the boot menu", desc);
                }
                mb_facts_free(bf);
        }
        return rc;
}

/* ---- the handler table ---- */

/* The machine of p (a target of the wing sets p->priv to it), after the
 * prologue; NULL with err set when the prologue failed. */
static mb_posix_machine *begin(mb_platform *p, mb_error *err)
{
        mb_posix_machine *ip = p->priv;

        return mb_posix_prologue(ip, err) < 0 ? NULL : ip;
}

static int h_disk_online(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip && mb_posix_machine_disk(ip, op->disk, err) ? 0 : err->code;
}

static int h_init_gpt(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? op_init_gpt(ip, op, err) : err->code;
}

static int h_gpt_repair(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);
        mb_posix_disk *d = ip ? mb_posix_machine_disk(ip, op->disk, err) : NULL;

        (void)progress;
        return d ? img_gpt_repair(d, err) : err->code;
}

static int h_part_create(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? op_part_create(ip, op, err) : err->code;
}

static int h_part_set(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? op_part_set(ip, op, err) : err->code;
}

static int h_format(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? op_format(ip, op, err) : err->code;
}

static int h_clone(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        return ip ? op_clone(ip, op, progress, err) : err->code;
}

static int h_sync(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? op_sync(ip, op, err) : err->code;
}

static int h_bcd(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? img_bcd_execute(ip, op, img_role_part, err) : err->code;
}

static int h_dynamic(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        return ip ? img_dynamic_execute(ip, op, progress, err) : err->code;
}

/* The plex and its GPT entry (dynamic.c), then the BCD entry Windows adds. */
static int h_mirror_add(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);
        int rc;

        if (!ip)
                return err->code;
        rc = img_dynamic_execute(ip, op, progress, err);
        return rc < 0 ? rc : mirror_add_bcd_entry(ip, op, err);
}

static int h_fw(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        mb_posix_machine *ip = begin(p, err);

        (void)progress;
        return ip ? img_fw_execute(ip, op, err) : err->code;
}

const mb_op_handler mb_posix_handlers[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = h_disk_online,
        [MB_OP_DISK_INIT_GPT] = h_init_gpt,
        [MB_OP_PART_CREATE] = h_part_create,
        [MB_OP_PART_SET_TYPE] = h_part_set,
        [MB_OP_PART_SET_ATTRS] = h_part_set,
        [MB_OP_PART_SET_NAME] = h_part_set,
        [MB_OP_FORMAT] = h_format,
        [MB_OP_CONVERT_DYNAMIC] = h_dynamic,
        [MB_OP_MIRROR_ADD] = h_mirror_add,
        [MB_OP_MIRROR_REMOVE_MISSING] = h_dynamic,
        [MB_OP_MIRROR_RESYNC] = h_dynamic,
        [MB_OP_CLONE_BLOCKS] = h_clone,
        [MB_OP_SYNC_FILES] = h_sync,
        [MB_OP_BCD_COPY_BOOTMGR] = h_bcd,
        [MB_OP_BCD_CREATE_LOADER] = h_bcd,
        [MB_OP_BCD_SET_DEVICE] = h_bcd,
        [MB_OP_BCD_DELETE] = h_bcd,
        [MB_OP_BCD_DISPLAYORDER] = h_bcd,
        [MB_OP_BCD_SET_DEFAULT] = h_bcd,
        [MB_OP_FW_ENTRY] = h_fw,
        [MB_OP_FW_DELETE] = h_fw,
        [MB_OP_LDM_REPAIR] = h_dynamic,
        [MB_OP_GPT_REPAIR] = h_gpt_repair,
};
