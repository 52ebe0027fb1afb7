/* SPDX-License-Identifier: MIT */
/*
 * mirror: the volume of a role (os) has a healthy plex on every listed disk,
 * at the source's offset and length. Plexes of disks that are gone are
 * removed before a new plex is added; a resync in progress is health, not
 * drift.
 */
#include <inttypes.h>

#include "resource.h"

static mb_volume_fact *volume_at(const mb_facts *f, uint32_t disk, uint64_t offset)
{
        for (uint32_t i = 0; i < f->n_volumes; i++)
                for (uint32_t j = 0; j < f->volumes[i].n_plexes; j++) {
                        const mb_plex_fact *x = &f->volumes[i].plexes[j];

                        if (x->disk == (int32_t)disk && x->offset == offset)
                                return &f->volumes[i];
                }
        return NULL;
}

static int source_index(const mb_config *c, const mb_site_mirror *m)
{
        int src = mb_plan_source_index(c);

        for (uint32_t i = 0; i < m->n_disks; i++)
                if (mb_config_disk_index(c, m->disks[i]) == src)
                        return src;
        return mb_config_disk_index(c, m->disks[0]);
}

/* Config check: the mirrors of site.yaml (row of mb_resources[]). */
int mb_res_mirror_check(const mb_config *c, mb_error *err)
{
        const mb_site *s = c->site;
        mb_ynode *ms = mb_ynode_get(c->doc->root, "mirrors");
        int r;

        for (uint32_t i = 0; i < s->n_mirrors; i++) {
                const mb_site_mirror *m = &s->mirrors[i];
                mb_ynode *mn = mb_ynode_at(ms, i);

                if (!mb_config_has_role(c, m->role))
                        return RES_AT(mb_ynode_get(mn, "role"),
                                      "mirror role '%s' is not among the partitions' roles; expected one of the roles under 'partitions'",
                                      mb_role_to_string(m->role));
                if (m->role != MB_ROLE_OS)
                        return RES_AT(mb_ynode_get(mn, "role"),
                                      "mirror role '%s': only the os volume can be mirrored (Windows mirrors the boot volume on dynamic disks); use a clone for '%s'",
                                      mb_role_to_string(m->role), mb_role_to_string(m->role));
                for (uint32_t j = 0; j < i; j++)
                        if (s->mirrors[j].role == m->role)
                                return RES_AT(mb_ynode_get(mn, "role"),
                                              "role '%s' is mirrored twice; expected one mirror per role",
                                              mb_role_to_string(m->role));
                r = mb_config_check_names(c, mb_ynode_get(mn, "disks"), m->disks, m->n_disks, "mirror disks", err);
                if (r)
                        return r;
                if (m->boot == MB_MIRROR_BOOT_EACH_DISK && !mb_config_has_role(c, MB_ROLE_EFI))
                        return RES_AT(mb_ynode_get(mn, "boot"),
                                      "boot: each-disk needs an ESP on every mirror disk; expected role efi under 'partitions'");
                for (uint32_t j = 0; j < m->n_disks; j++)
                        if (!mb_config_in_partition_disks(c, mb_config_disk_index(c, m->disks[j])))
                                return RES_AT(mb_ynode_at(mb_ynode_get(mn, "disks"), j),
                                              "mirror disk '%s' is not listed in partitions.disks; expected every mirror disk to be partitioned",
                                              m->disks[j]);
        }
        return 0;
}

int mb_res_mirror_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        char cur[MB_CHANGE_TEXT], desired[MB_CHANGE_TEXT];
        int rc;

        for (uint32_t m = 0; m < c->site->n_mirrors; m++) {
                const mb_site_mirror *sm = &c->site->mirrors[m];
                int src = source_index(c, sm);
                mb_disk_fact *sd = res_disk(c, f, p, src);
                mb_part_want want[8];
                const mb_part_want *w = NULL;
                mb_volume_fact *vol;
                bool removed = false;
                char slabel[128];
                int n;

                if (!sd || sd->style != MB_STYLE_GPT)
                        continue;
                mb_plan_disk_label(c, &p->binding, src, slabel, sizeof(slabel));
                n = mb_plan_wanted_parts(c, f, &p->binding, sd, want, 8, err);
                if (n < 0)
                        return n;
                for (int i = 0; i < n; i++)
                        if (want[i].role == sm->role)
                                w = &want[i];
                if (!w)
                        continue;
                vol = volume_at(f, sd->number, w->first_lba * mb_disk_sector(sd));
                for (uint32_t i = 0; i < sm->n_disks; i++) {
                        int idx = mb_config_disk_index(c, sm->disks[i]);
                        mb_disk_fact *t = res_disk(c, f, p, idx);
                        const mb_plex_fact *have = NULL;
                        size_t before = p->n_changes;
                        char label[128], subject[192], size[32];
                        mb_op op;

                        if (idx == src || !t)
                                continue;
                        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
                        snprintf(subject, sizeof(subject), "%s mirror plex on %s",
                                 mb_role_to_string(sm->role), label);
                        for (uint32_t j = 0; vol && j < vol->n_plexes; j++)
                                if (vol->plexes[j].disk == (int32_t)t->number)
                                        have = &vol->plexes[j];
                        if (have) {
                                if (have->offset != w->first_lba * mb_disk_sector(sd) ||
                                    have->length != (w->last_lba - w->first_lba + 1) * mb_disk_sector(sd))
                                        return mb_error_set(err, MB_ESTATE,
                                                            "%s is at byte %" PRIu64 " length %" PRIu64 ", expected byte %" PRIu64 " length %" PRIu64 " as on %s",
                                                            subject, have->offset, have->length,
                                                            w->first_lba * mb_disk_sector(sd),
                                                            (w->last_lba - w->first_lba + 1) * mb_disk_sector(sd), slabel);
                                {
                                        const mb_part_fact *entry = mb_disk_part_by_role(t, sm->role);

                                        if (!entry || entry->first_lba != w->first_lba) {
                                                /* an add interrupted after the database commit */
                                                res_op_init(&op, MB_OP_MIRROR_ADD, t, sm->role);
                                                op.disk2 = sd->number;
                                                op.first_lba = w->first_lba;
                                                op.last_lba = w->last_lba;
                                                snprintf(op.type_guid, sizeof(op.type_guid), "%s", w->type_guid);
                                                snprintf(op.name, sizeof(op.name), "%s", w->name);
                                                rc = mb_plan_add(p, MB_RES_MIRROR, subject, false, &op,
                                                                 "plex without its GPT entry (an interrupted add)",
                                                                 res_text(desired, "plex with its own (LDM data) GPT entry at LBA %llu",
                                                                          (unsigned long long)w->first_lba),
                                                                 err);
                                                if (rc)
                                                        return rc;
                                        }
                                }
                                if (have->state == MB_PLEX_RESYNCING) {
                                        if (!p->health.resyncing || have->percent < p->health.percent)
                                                p->health.percent = have->percent;
                                        p->health.resyncing = true;
                                        snprintf(p->health.what, sizeof(p->health.what),
                                                 "%s mirror: plex on %s resyncing %u%%",
                                                 mb_role_to_string(sm->role), label, have->percent);
                                } else if (have->state == MB_PLEX_FAILED) {
                                        res_op_init(&op, MB_OP_MIRROR_RESYNC, t, sm->role);
                                        op.disk2 = sd->number;
                                        rc = mb_plan_add(p, MB_RES_MIRROR, subject, false, &op, "failed",
                                                         "healthy (reactivate and resynchronize)", err);
                                        if (rc)
                                                return rc;
                                }
                                rc = mb_plan_status(p, MB_RES_MIRROR, subject, before, false, err);
                                if (rc)
                                        return rc;
                                continue;
                        }
                        for (uint32_t j = 0; vol && j < vol->n_plexes && !removed; j++) {
                                const mb_plex_fact *x = &vol->plexes[j];

                                if (x->disk >= 0 && x->state != MB_PLEX_MISSING)
                                        continue;
                                res_op_init(&op, MB_OP_MIRROR_REMOVE_MISSING, t, sm->role);
                                op.disk2 = sd->number;
                                snprintf(op.ldm_disk, sizeof(op.ldm_disk), "%s", x->ldm_disk ? x->ldm_disk : "");
                                rc = mb_plan_add(p, MB_RES_MIRROR, subject, false, &op,
                                                 res_text(cur, "plex on missing disk %s",
                                                          x->ldm_disk ? x->ldm_disk : "(unknown)"),
                                                 "missing disk's plex and disk records removed", err);
                                if (rc)
                                        return rc;
                                removed = true;
                        }
                        for (uint32_t j = 0; j < t->n_partitions; j++) {
                                const mb_part_fact *q = &t->partitions[j];

                                if (q->role == MB_ROLE_LDM_DATA)
                                        continue;
                                if (q->first_lba <= w->last_lba && w->first_lba <= q->last_lba)
                                        return mb_error_set(err, MB_EUNSAFE,
                                                            "disk %s: partition %u (%s, LBA %llu-%llu) occupies the space the %s mirror plex needs (LBA %llu-%llu) and is not a plex of the mirror; mbstate never deletes partitions: remove it by hand if it is expendable",
                                                            label, q->number,
                                                            q->role ? mb_role_to_string(q->role) : (q->type_guid ? q->type_guid : "unknown"),
                                                            (unsigned long long)q->first_lba, (unsigned long long)q->last_lba,
                                                            mb_role_to_string(sm->role),
                                                            (unsigned long long)w->first_lba, (unsigned long long)w->last_lba);
                        }
                        res_op_init(&op, MB_OP_MIRROR_ADD, t, sm->role);
                        op.disk2 = sd->number;
                        op.first_lba = w->first_lba;
                        op.last_lba = w->last_lba;
                        snprintf(op.type_guid, sizeof(op.type_guid), "%s", w->type_guid);
                        snprintf(op.name, sizeof(op.name), "%s", w->name);
                        rc = mb_plan_add(p, MB_RES_MIRROR, subject, false, &op, "no plex",
                                         res_text(desired, "plex of %s at LBA %llu-%llu, synchronized from %s",
                                                  mb_format_size((w->last_lba - w->first_lba + 1) * mb_disk_sector(sd),
                                                                 size, sizeof(size)),
                                                  (unsigned long long)w->first_lba,
                                                  (unsigned long long)w->last_lba, slabel),
                                         err);
                        if (rc)
                                return rc;
                        rc = mb_plan_status(p, MB_RES_MIRROR, subject, before, false, err);
                        if (rc)
                                return rc;
                }
        }
        return 0;
}
