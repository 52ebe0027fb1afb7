/* SPDX-License-Identifier: MIT */
/* disk: online, writable, GPT with both copies intact; a blank disk may be
 * initialized, nothing else is. */
#include "resource.h"

static bool in_partitions(const mb_config *c, int idx)
{
        for (uint32_t i = 0; i < c->n_part_disks; i++)
                if (c->part_disks[i] == idx)
                        return true;
        return false;
}

static void list_partitions(const mb_disk_fact *d, char *buf, size_t len)
{
        size_t off = 0;

        buf[0] = '\0';
        for (uint32_t i = 0; i < d->n_partitions && off < len; i++) {
                const mb_part_fact *p = &d->partitions[i];
                char size[32];

                off += (size_t)snprintf(buf + off, len - off, "%spartition %u (%s, %s at LBA %llu)",
                                        i ? ", " : "", p->number,
                                        p->role ? mb_role_to_string(p->role) : (p->type_guid ? p->type_guid : "unknown type"),
                                        mb_format_size((p->last_lba - p->first_lba + 1) * mb_disk_sector(d), size, sizeof(size)),
                                        (unsigned long long)p->first_lba);
        }
}

int mb_res_disk_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        char cur[MB_CHANGE_TEXT], want[MB_CHANGE_TEXT];
        int rc;

        for (uint32_t i = 0; i < c->site->n_disks; i++) {
                const mb_site_disk *sd = &c->site->disks[i];
                mb_disk_fact *d = res_disk(c, f, p, (int)i);
                size_t before = p->n_changes;
                char label[128], parts[1024];
                mb_op op;

                if (!d)
                        continue;
                mb_plan_disk_label(c, &p->binding, (int)i, label, sizeof(label));
                /* The system disk is never made writable by a plan: a write
                 * it needs is refused by the target, naming the disk. */
                if (d->system && d->online && d->read_only) {
                        int rc = mb_plan_note(p, "disk %s is the system disk and is read-only; mbstate never makes the system disk writable, so every change to it will be refused (on Windows, find out who set it, then diskpart 'attributes disk clear readonly')",
                                              label);

                        if (rc < 0)
                                return mb_error_set(err, rc, "out of memory");
                } else if (!d->online || d->read_only) {
                        res_op_init(&op, MB_OP_DISK_ONLINE, d, MB_ROLE_NONE);
                        rc = mb_plan_add(p, MB_RES_DISK, label, false, &op,
                                         res_text(cur, "%s%s", d->online ? "online" : "offline",
                                                  d->read_only ? ", read-only" : ""),
                                         "online, writable", err);
                        if (rc)
                                return rc;
                }
                if (d->style == MB_STYLE_GPT && d->gpt_damaged) {
                        /* before anything else writes this disk's GPT: the
                         * image target refuses GPT writes until then */
                        res_op_init(&op, MB_OP_GPT_REPAIR, d, MB_ROLE_NONE);
                        rc = mb_plan_add(p, MB_RES_DISK, label, false, &op,
                                         res_text(cur, "%s GPT damaged, read through the intact %s copy",
                                                  d->gpt_damaged,
                                                  strcmp(d->gpt_damaged, "primary") == 0 ? "backup" : "primary"),
                                         res_text(want, "both GPT copies intact (the %s rewritten from the other)",
                                                  d->gpt_damaged),
                                         err);
                        if (rc)
                                return rc;
                }
                if (in_partitions(c, (int)i) && d->style != MB_STYLE_GPT) {
                        if (d->n_partitions > 0) {
                                list_partitions(d, parts, sizeof(parts));
                                return mb_error_set(err, MB_EUNSAFE,
                                                    "disk %s is %s with %u partitions (%s) and would have to be cleaned to become GPT; mbstate never cleans a disk that has partitions; nothing was written",
                                                    label, mb_style_to_string(d->style), d->n_partitions, parts);
                        }
                        if ((int)i == mb_plan_source_index(c))
                                return mb_error_set(err, MB_ESTATE,
                                                    "template disk %s is not GPT (%s); expected the system's GPT boot disk",
                                                    label, mb_style_to_string(d->style));
                        if (sd->initialize != MB_INIT_IF_BLANK)
                                return mb_error_set(err, MB_EUNSAFE,
                                                    "disk %s is blank (%s) and needs a GPT, but its 'initialize' is 'never'; set 'initialize: if-blank' to let mbstate initialize it",
                                                    label, mb_style_to_string(d->style));
                        res_op_init(&op, MB_OP_DISK_INIT_GPT, d, MB_ROLE_NONE);
                        rc = mb_plan_add(p, MB_RES_DISK, label, true, &op,
                                         res_text(cur, "%s, no partitions",
                                                  d->style == MB_STYLE_RAW ? "not initialized"
                                                                           : mb_style_to_string(d->style)),
                                         "GPT, no partitions (clean, convert gpt)", err);
                        if (rc)
                                return rc;
                }
                rc = mb_plan_status(p, MB_RES_DISK, label, before, false, err);
                if (rc)
                        return rc;
        }
        return 0;
}
