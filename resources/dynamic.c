/* SPDX-License-Identifier: MIT */
/* dynamic: every disk of a mirror is a dynamic disk (data stays in place). */
#include <strings.h>

#include "resource.h"

int mb_res_dynamic_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
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
                                RES_CHANGE(p, MB_RES_DYNAMIC, label, false, &op, "basic");
                                snprintf(p->changes[p->n_changes - 1].desired, 256,
                                         "dynamic (data in place)");
                        }
                        mb_plan_status(p, MB_RES_DYNAMIC, label, before);
                }
        }
        return 0;
}
