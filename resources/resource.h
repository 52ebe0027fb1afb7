/* SPDX-License-Identifier: MIT */
#ifndef MB_RESOURCE_H
#define MB_RESOURCE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plan.h"

/* The facts disk a declared disk is bound to (NULL if unbound). */
static inline mb_disk_fact *res_disk(const mb_config *c, const mb_facts *f, const mb_plan *p,
                                     int idx)
{
        (void)c;
        if (idx < 0 || p->binding.number[idx] < 0)
                return NULL;
        return mb_facts_disk(f, (uint32_t)p->binding.number[idx]);
}

static inline void res_op_init(mb_op *op, mb_op_kind kind, const mb_disk_fact *d, mb_role role)
{
        memset(op, 0, sizeof(*op));
        op->kind = kind;
        op->disk = d ? d->number : 0;
        op->role = role;
}

/* Is id in boot manager bm's displayorder (its boot menu)? */
static inline bool res_bcd_listed(const mb_bcd_object_fact *bm, const char *id)
{
        for (uint32_t i = 0; bm && i < bm->n_displayorder; i++)
                if (strcasecmp(bm->displayorder[i], id) == 0)
                        return true;
        return false;
}

/* Is role block-cloned onto the disk with index to_idx? */
static inline bool res_block_cloned(const mb_config *c, mb_role role, int to_idx)
{
        for (uint32_t i = 0; i < c->site->n_clones; i++) {
                const mb_site_clone *k = &c->site->clones[i];

                if (k->role != role || role == MB_ROLE_EFI)
                        continue;
                for (uint32_t j = 0; j < k->n_to; j++)
                        if (mb_config_disk_index(c, k->to[j]) == to_idx)
                                return true;
        }
        return false;
}

/* Is role mirrored (so its space on non-source disks belongs to the mirror)? */
static inline bool res_mirrored(const mb_config *c, mb_role role)
{
        for (uint32_t i = 0; i < c->site->n_mirrors; i++)
                if (c->site->mirrors[i].role == role)
                        return true;
        return false;
}

/* Prints a change's current or desired text (as many bytes as mb_change
 * holds) into buf and returns buf, for mb_plan_add's arguments. */
static inline MB_PRINTF(2, 3) const char *res_text(char buf[static MB_CHANGE_TEXT], const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, MB_CHANGE_TEXT, fmt, ap);
        va_end(ap);
        return buf;
}

/* A message at a node of site.yaml, for the config checks: FILE:LINE:COLUMN. */
#define RES_AT(node, ...) mb_ydoc_error(c->doc, (node), err, __VA_ARGS__)

/* The resources' config checks and diffs (rows of mb_resources[],
 * resources/registry.c): a diff adds its differences to the plan (pure,
 * no I/O). */
int mb_res_mirror_check(const mb_config *c, mb_error *err);
int mb_res_boot_entry_check(const mb_config *c, mb_error *err);
int mb_res_clone_check(const mb_config *c, mb_error *err);
int mb_res_disk_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_partition_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_dynamic_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_mirror_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_boot_entry_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_clone_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);
int mb_res_disk_boot_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err);

/* Does a mirror declare boot: each-disk (resources/disk_boot.c)? Is disk
 * name in such a mirror? */
bool res_each_disk_boot(const mb_config *c);
bool res_each_disk_plex(const mb_config *c, const char *name);
/* Is BootOrder position at where "last" puts an entry: directly after the
 * other entries that name a disk partition (resources/boot_entry.c)? */
bool res_fw_last_in_place(const mb_firmware_fact *fw, uint32_t at);

#endif
