/* SPDX-License-Identifier: MIT */
/* dynamic: every disk of a mirror is a dynamic disk (data stays in place). */
#include <strings.h>

#include "resource.h"

/* Was disk i of mirror m already a disk of an earlier mirror (or earlier in m)? */
static bool damage_seen(const mb_config *c, const mb_facts *f, const mb_plan *p, uint32_t m,
                        uint32_t i)
{
        const mb_disk_fact *d = res_disk(c, f, p, mb_config_disk_index(c, c->site->mirrors[m].disks[i]));

        for (uint32_t a = 0; a <= m; a++) {
                const mb_site_mirror *sm = &c->site->mirrors[a];

                for (uint32_t b = 0; b < (a == m ? i : sm->n_disks); b++)
                        if (res_disk(c, f, p, mb_config_disk_index(c, sm->disks[b])) == d)
                                return true;
        }
        return false;
}

int mb_res_dynamic_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        int rc;

        const char *group = NULL;

        for (uint32_t m = 0; m < c->site->n_mirrors; m++) {
                const mb_site_mirror *sm = &c->site->mirrors[m];

                for (uint32_t i = 0; i < sm->n_disks; i++) {
                        int idx = mb_config_disk_index(c, sm->disks[i]);
                        mb_disk_fact *d = res_disk(c, f, p, idx);
                        size_t before = p->n_changes;
                        char label[128];
                        mb_op op;

                        if (!d)
                                continue;
                        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
                        if (d->dynamic && d->dynamic_group) {
                                if (group && strcasecmp(group, d->dynamic_group) != 0)
                                        return mb_error_set(err, MB_ESTATE,
                                                            "disk %s belongs to dynamic disk group %s, the other mirror disk to %s; expected one group (import or revert the foreign group first)",
                                                            label, d->dynamic_group, group);
                                group = d->dynamic_group;
                        }
                        if (!d->dynamic) {
                                res_op_init(&op, MB_OP_CONVERT_DYNAMIC, d, MB_ROLE_NONE);
                                rc = mb_plan_add(p, MB_RES_DYNAMIC, label, false, &op, "basic",
                                                 "dynamic (data in place)", err);
                                if (rc)
                                        return rc;
                        } else if (d->n_ldm_damage && !damage_seen(c, f, p, m, i)) {
                                char what[256] = "";

                                /* one change per disk; the disk runs on its intact copies */
                                for (uint32_t k = 0; k < d->n_ldm_damage; k++) {
                                        const mb_ldm_damage_fact *g = &d->ldm_damage[k];
                                        size_t n = strlen(what);

                                        snprintf(what + n, sizeof(what) - n, "%s%s copy at sector %llu: %s",
                                                 k ? "; " : "", g->structure ? g->structure : "?",
                                                 (unsigned long long)g->sector,
                                                 g->detail ? g->detail : "damaged");
                                }
                                res_op_init(&op, MB_OP_LDM_REPAIR, d, MB_ROLE_NONE);
                                rc = mb_plan_add(p, MB_RES_DYNAMIC, label, false, &op, what,
                                                 "every LDM metadata copy intact (rewritten from the intact copy)",
                                                 err);
                                if (rc)
                                        return rc;
                        }
                        rc = mb_plan_status(p, MB_RES_DYNAMIC, label, before, false, err);
                        if (rc)
                                return rc;
                }
        }
        return 0;
}
