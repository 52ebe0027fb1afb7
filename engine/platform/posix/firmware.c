/* SPDX-License-Identifier: MIT */
/*
 * The firmware of a wing machine: the UEFI variable store of the machine
 * the disks belong to, a file (the image target's "nvram=FILE", an OVMF
 * OVMF_VARS.fd). Facts are its Boot#### entries and BootOrder; FW_ENTRY and
 * FW_DELETE rewrite them as the firmware would. The file is written only
 * when the disk an operation names was selected for writing: the store is
 * treated as part of that disk.
 */
#include "platform/posix/firmware.h"
#include "platform/posix/bootchain.h"
#include "platform/posix/gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/efivars/efivars.h"
#include "guid.h"

int img_fw_open(mb_posix_machine *ip, const char *path, mb_error *err)
{
        mb_efivars *v;
        int rc;

        if (ip->nvram)
                return mb_error_set(err, MB_EINVAL, "image target: nvram= is given twice ('%s' and '%s')",
                                    ip->nvram, path);
        if (!*path)
                return mb_error_set(err, MB_EINVAL, "image target: nvram= names no file");
        rc = mb_efivars_load(path, &v, err);
        if (rc < 0)
                return mb_error_prefix(err, "image target: nvram");
        mb_efivars_free(v);
        if (!(ip->nvram = strdup(path)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        return 0;
}

int img_fw_facts(mb_posix_machine *ip, mb_facts *f, mb_error *err)
{
        mb_firmware_fact *fw;
        mb_efi_boot_entry *e = NULL;
        mb_efivars *v;
        uint16_t *order = NULL;
        uint32_t n = 0, no = 0;
        int rc;

        if (!ip->nvram)
                return 0;
        rc = mb_efivars_load(ip->nvram, &v, err);
        if (rc < 0)
                return rc;
        rc = mb_efivars_boot_entries(v, &e, &n, err);
        if (rc == 0)
                rc = mb_efivars_boot_order(v, &order, &no, err);
        mb_efivars_free(v);
        if (rc < 0)
                goto out;
        if (!(fw = calloc(1, sizeof(*fw))))
                goto nomem;
        f->firmware = fw;
        if (n && !(fw->entries = calloc(n, sizeof(*fw->entries))))
                goto nomem;
        for (uint32_t i = 0; i < n; i++) {
                mb_fw_entry_fact *x = &fw->entries[fw->n_entries++];
                const mb_efi_load_option *o = &e[i].option;

                x->number = e[i].number;
                x->active = o->attributes & MB_EFI_LOAD_OPTION_ACTIVE;
                if (!(x->description = strdup(o->description)))
                        goto nomem;
                if (o->has_hd && o->mbr_type == 2 && o->signature_type == 2) {
                        char g[MB_GUID_STR_LEN];

                        if (!(x->partition = strdup(mb_guid_format(&o->signature, g))))
                                goto nomem;
                }
                if (o->path[0] && !(x->path = strdup(o->path)))
                        goto nomem;
        }
        if (no && !(fw->order = calloc(no, sizeof(*fw->order))))
                goto nomem;
        for (uint32_t i = 0; i < no; i++)
                fw->order[fw->n_order++] = order[i];
        rc = img_secure_boot_facts(ip, fw, err);
        goto out;
nomem:
        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
out:
        free(e);
        free(order);
        return rc;
}

static bool same_option(const mb_efi_load_option *a, const mb_efi_load_option *b)
{
        return a->attributes == b->attributes && strcmp(a->description, b->description) == 0 &&
               a->has_hd == b->has_hd && a->part_number == b->part_number &&
               a->part_start == b->part_start && a->part_size == b->part_size &&
               a->mbr_type == b->mbr_type && a->signature_type == b->signature_type &&
               mb_guid_equal(&a->signature, &b->signature) && strcmp(a->path, b->path) == 0;
}

/* The load option for op: HD() of (disk, role)'s partition now, op->path. */
static int option_for(mb_posix_disk *d, const mb_op *op, mb_efi_load_option *o, mb_error *err)
{
        mb_posix_gpt_part *p;
        mb_posix_table t;
        int rc;

        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        p = img_table_role(&t, op->role);
        if (!p || t.style != MB_STYLE_GPT) {
                img_table_clear(&t);
                return mb_error_set(err, MB_ENOENT,
                                    "%s (disk %u): there is no %s partition for firmware entry \"%s\"",
                                    d->path, d->number, mb_role_to_string(op->role), op->description);
        }
        memset(o, 0, sizeof(*o));
        o->attributes = MB_EFI_LOAD_OPTION_ACTIVE;
        snprintf(o->description, sizeof(o->description), "%s", op->description);
        o->has_hd = true;
        o->part_number = p->number;
        o->part_start = p->first_lba;
        o->part_size = p->last_lba - p->first_lba + 1;
        o->mbr_type = 2;
        o->signature_type = 2;
        rc = mb_guid_parse(p->unique_guid, &o->signature);
        if (rc < 0)
                rc = mb_error_set(err, MB_ECORRUPT, "%s: partition %u has an invalid unique GUID",
                                  d->path, p->number);
        snprintf(o->path, sizeof(o->path), "%s", op->path);
        img_table_clear(&t);
        return rc;
}

int img_fw_execute(mb_posix_machine *ip, const mb_op *op, mb_error *err)
{
        mb_efi_boot_entry *e = NULL, *found = NULL;
        mb_efi_load_option o;
        mb_efivars *v = NULL;
        uint16_t *order = NULL, *norder = NULL, number = 0;
        uint32_t n = 0, no = 0, nn = 0;
        bool order_changed = false, changed = false, keep = false;
        mb_posix_disk *d;
        struct stat st;
        int rc;

        if (!ip->nvram)
                return mb_error_set(err, MB_ENOTSUP,
                                    "image target: no firmware store: add nvram=FILE (an OVMF_VARS.fd) to the image list");
        if (op->disk >= ip->n_disks)
                return mb_error_set(err, MB_EINVAL, "image target: there is no disk %u (%u image(s))",
                                    op->disk, ip->n_disks);
        d = &ip->disks[op->disk];
        if (stat(ip->nvram, &st) == 0 &&
            (access(ip->nvram, W_OK) != 0 || (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0))
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s: refusing to write firmware entry \"%s\": the variable store is read-only (its mode has no write bit)",
                                    ip->nvram, op->description);
        if (!d->allowed)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s: refusing to write firmware entry \"%s\": it names disk %u (%s), which is not selected for writing",
                                    ip->nvram, op->description, d->number, d->path);
        if (op->kind == MB_OP_FW_ENTRY) {
                rc = option_for(d, op, &o, err);
                if (rc < 0)
                        return rc;
        }
        rc = mb_efivars_load(ip->nvram, &v, err);
        if (rc == 0)
                rc = mb_efivars_boot_entries(v, &e, &n, err);
        if (rc == 0)
                rc = mb_efivars_boot_order(v, &order, &no, err);
        if (rc < 0)
                goto out;
        /* FW_ENTRY naming an existing entry by number (not 0xffff) rewrites
         * that entry (a rename keeps its number); else the entry is the
         * one of the op's description, as for FW_DELETE with one */
        for (uint32_t i = 0; op->kind == MB_OP_FW_ENTRY && op->number < 0xffff && i < n; i++)
                if (e[i].number == op->number)
                        found = &e[i];
        /* a new FW_ENTRY (0xffff) takes no other entry of its description:
         * that one may be a survivor's own, which must keep booting it; it
         * only finds itself, made by a run killed before it was recorded */
        for (uint32_t i = 0; !found && i < n; i++)
                if (op->kind == MB_OP_FW_ENTRY && op->number >= 0xffff
                            ? same_option(&e[i].option, &o)
                            : op->description[0] ? strcmp(e[i].option.description, op->description) == 0
                                                 : e[i].number == op->number)
                        found = &e[i];
        if (found) {
                number = found->number;
        } else if (op->kind == MB_OP_FW_ENTRY) {
                /* the lowest number no Boot#### uses (e is sorted) */
                for (uint32_t i = 0; i < n && e[i].number == number; i++)
                        number++;
        }
        if (!(norder = calloc(no + 1, sizeof(*norder)))) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        /* position "absent" on FW_ENTRY: an entry already in BootOrder keeps
         * its place there (a rename); one not in it goes as "last" */
        for (uint32_t i = 0; op->kind == MB_OP_FW_ENTRY && op->position == MB_POS_ABSENT && found && i < no;
             i++)
                keep |= order[i] == number;
        if (op->kind == MB_OP_FW_ENTRY && op->position == MB_POS_FIRST)
                norder[nn++] = number;
        for (uint32_t i = 0; i < no; i++)
                if (keep || !(found || op->kind == MB_OP_FW_ENTRY) || order[i] != number)
                        norder[nn++] = order[i];
        if (op->kind == MB_OP_FW_ENTRY && op->position != MB_POS_FIRST && !keep) {
                /* "last": directly after the last entry that names a disk
                 * partition, ahead of the entries the firmware adds itself
                 * (DVD, removable media, shell, PXE), which keep their order */
                uint32_t at = 0;

                for (uint32_t i = 0; i < nn; i++)
                        for (uint32_t k = 0; k < n; k++)
                                if (e[k].number == norder[i] && e[k].option.has_hd)
                                        at = i + 1;
                memmove(&norder[at + 1], &norder[at], (nn - at) * sizeof(*norder));
                norder[at] = number;
                nn++;
        }
        order_changed = nn != no || memcmp(norder, order, no * sizeof(*order)) != 0;

        if (op->kind == MB_OP_FW_DELETE) {
                if (found) {
                        rc = mb_efivars_delete_boot_entry(v, number, err);
                        changed = true;
                }
        } else if (!found || !same_option(&found->option, &o)) {
                rc = mb_efivars_set_boot_entry(v, number, &o, err);
                changed = true;
        }
        if (rc == 0 && order_changed) {
                rc = mb_efivars_set_boot_order(v, norder, nn, err);
                changed = true;
        }
        if (rc == 0 && changed)
                rc = mb_efivars_save(v, NULL, err);
out:
        if (rc < 0)
                mb_error_prefix(err, "firmware entry \"%s\"", op->description);
        mb_efivars_free(v);
        free(e);
        free(order);
        free(norder);
        return rc;
}
