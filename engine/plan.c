/* SPDX-License-Identifier: MIT */

/*
 * The planner: binds the declared disks to the machine's disks, computes
 * the wanted partition layout and the mirror's health, and runs every
 * resource's diff in the registry's order (resources/registry.c) into one
 * plan of changes. mb_plan_add is the one door a change enters a plan by.
 * Pure: it reads config and facts and writes nothing but the plan.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor.h"

const char *mb_resource_to_string(mb_resource_kind k)
{
        return (unsigned)k < MB_RES__COUNT && mb_resources[k].name ? mb_resources[k].name : "unknown";
}

int mb_plan_add(mb_plan *p, mb_resource_kind res, const char *subject, bool destructive,
                const mb_op *op, const char *current, const char *desired, mb_error *err)
{
        mb_change *n = mb_reallocarray(p->changes, p->n_changes + 1, sizeof(*n));

        if (!n)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        p->changes = n;
        n = &n[p->n_changes++];
        memset(n, 0, sizeof(*n));
        n->resource = res;
        snprintf(n->subject, sizeof(n->subject), "%s", subject);
        n->destructive = destructive;
        n->op = *op;
        snprintf(n->current, sizeof(n->current), "%s", current);
        snprintf(n->desired, sizeof(n->desired), "%s", desired);
        mb_op_record_identity(&n->op, p->facts);
        return 0;
}

int mb_plan_note(mb_plan *p, const char *fmt, ...)
{
        char buf[512], **n;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < p->n_notes; i++)
                if (strcmp(p->notes[i], buf) == 0)
                        return 0;
        n = mb_reallocarray(p->notes, p->n_notes + 1, sizeof(*n));
        if (!n)
                return MB_ENOMEM;
        p->notes = n;
        if (!(n[p->n_notes] = strdup(buf)))
                return MB_ENOMEM;
        p->n_notes++;
        return 0;
}

int mb_plan_conflict(mb_plan *p, const char *fmt, ...)
{
        char buf[1536], **n;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        n = mb_reallocarray(p->conflicts, p->n_conflicts + 1, sizeof(*n));
        if (!n)
                return MB_ENOMEM;
        p->conflicts = n;
        if (!(n[p->n_conflicts] = strdup(buf)))
                return MB_ENOMEM;
        p->n_conflicts++;
        return 0;
}

int mb_plan_status(mb_plan *p, mb_resource_kind res, const char *subject, size_t changes_before,
                   bool conflict, mb_error *err)
{
        mb_resource_status *n = mb_reallocarray(p->status, p->n_status + 1, sizeof(*n));

        if (!n)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        p->status = n;
        n = &n[p->n_status++];
        memset(n, 0, sizeof(*n));
        n->resource = res;
        snprintf(n->subject, sizeof(n->subject), "%s", subject);
        n->n_changes = (int)(p->n_changes - changes_before);
        n->conflict = conflict;
        return 0;
}

void mb_plan_free(mb_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_notes; i++)
                free(p->notes[i]);
        free(p->notes);
        for (size_t i = 0; i < p->n_conflicts; i++)
                free(p->conflicts[i]);
        free(p->conflicts);
        free(p->status);
        free(p->changes);
        free(p);
}

const char *mb_plan_disk_label(const mb_config *c, const mb_binding *b, int idx, char *buf,
                               size_t len)
{
        if (idx < 0 || (uint32_t)idx >= c->site->n_disks)
                snprintf(buf, len, "(unknown disk)");
        else if (b->number[idx] >= 0)
                snprintf(buf, len, "%s (disk %d)", c->site->disks[idx].name, b->number[idx]);
        else
                snprintf(buf, len, "%s", c->site->disks[idx].name);
        return buf;
}

int mb_plan_source_index(const mb_config *c)
{
        if (c->template_index >= 0)
                return c->template_index;
        return c->n_part_disks ? c->part_disks[0] : -1;
}

/* ---------- binding ---------- */

static bool selector_match(const mb_config *c, int idx, const mb_disk_fact *d)
{
        const mb_site_match *m = c->site->disks[idx].match;

        if (m->number && d->number != *m->number)
                return false;
        if (m->serial && (!d->serial || strcasecmp(d->serial, m->serial) != 0))
                return false;
        if (m->unique_id && (!d->unique_id || strcasecmp(d->unique_id, m->unique_id) != 0))
                return false;
        if (m->location && (!d->location || strcasecmp(d->location, m->location) != 0))
                return false;
        if (m->system && !d->system)
                return false;
        if (c->min_size[idx] && d->size < c->min_size[idx])
                return false;
        return true;
}

/* A disk that "blank: true" may select: blank, or already one of ours
 * (same dynamic group as a bound disk, or carrying the source's efi partition
 * at the same place), so that the selector still holds once converged. */
static bool blank_candidate(const mb_facts *f, const mb_binding *b, const mb_disk_fact *d,
                            const mb_disk_fact *source)
{
        mb_part_fact *mine, *theirs;

        if (d->n_partitions == 0)
                return true;
        for (uint32_t i = 0; i < b->n; i++) {
                const mb_disk_fact *o = b->number[i] >= 0 ? mb_facts_disk(f, (uint32_t)b->number[i]) : NULL;

                if (o && o != d && o->dynamic && d->dynamic && o->dynamic_group &&
                    d->dynamic_group && strcasecmp(o->dynamic_group, d->dynamic_group) == 0)
                        return true;
        }
        if (source && source != d && (mine = mb_disk_part_by_role(d, MB_ROLE_EFI)) &&
            (theirs = mb_disk_part_by_role(source, MB_ROLE_EFI)) &&
            mine->first_lba == theirs->first_lba && mine->last_lba == theirs->last_lba)
                return true;
        return false;
}

static void describe_selector(const mb_config *c, int idx, char *buf, size_t len)
{
        const mb_site_match *m = c->site->disks[idx].match;
        size_t off = 0;

#define ADD(...) off += (size_t)snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__)
        ADD("{");
        if (m->number)
                ADD(" number: %u", *m->number);
        if (m->serial)
                ADD(" serial: %s", m->serial);
        if (m->unique_id)
                ADD(" unique_id: %s", m->unique_id);
        if (m->location)
                ADD(" location: %s", m->location);
        if (m->system)
                ADD(" system: true");
        if (m->blank)
                ADD(" blank: true");
        if (m->min_size)
                ADD(" min_size: %s", m->min_size);
        ADD(" }");
#undef ADD
}

static void describe_disks(const mb_facts *f, char *buf, size_t len)
{
        size_t off = 0;

        buf[0] = '\0';
        for (uint32_t i = 0; i < f->n_disks; i++) {
                char size[32];
                const mb_disk_fact *d = &f->disks[i];

                off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
                                        "%sdisk %u (%s, serial %s, %u partitions%s)",
                                        i ? "; " : "", d->number,
                                        mb_format_size(d->size, size, sizeof(size)),
                                        d->serial ? d->serial : "none", d->n_partitions,
                                        d->system ? ", system" : "");
        }
}

static bool in_mirror(const mb_config *c, uint32_t idx)
{
        for (uint32_t m = 0; m < c->site->n_mirrors; m++)
                for (uint32_t i = 0; i < c->site->mirrors[m].n_disks; i++)
                        if (mb_config_disk_index(c, c->site->mirrors[m].disks[i]) == (int)idx)
                                return true;
        return false;
}

/* Does the LDM database of the present disks name a plex on a disk that is
 * not here? (What diskpart shows as a "Missing" dynamic disk and a volume
 * in "Failed Redundancy".) */
static bool plex_on_missing_disk(const mb_facts *f)
{
        for (uint32_t v = 0; v < f->n_volumes; v++)
                for (uint32_t x = 0; x < f->volumes[v].n_plexes; x++)
                        if (f->volumes[v].plexes[x].disk < 0 ||
                            f->volumes[v].plexes[x].state == MB_PLEX_MISSING)
                                return true;
        return false;
}

int mb_plan_bind(const mb_config *c, const mb_facts *f, mb_binding *ret, mb_error *err)
{
        mb_binding b;
        const mb_site *s = c->site;
        char sel[256], disks[1024];
        int src = mb_plan_source_index(c);

        memset(&b, 0, sizeof(b));
        b.n = s->n_disks;
        for (uint32_t i = 0; i < 16; i++)
                b.number[i] = -1;
        /* pass 0: selectors other than blank; pass 1: blank */
        for (int pass = 0; pass < 2; pass++) {
                for (uint32_t i = 0; i < s->n_disks; i++) {
                        const mb_site_match *m = s->disks[i].match;
                        const mb_disk_fact *found = NULL, *source = NULL;
                        int count = 0;

                        if ((pass == 0) == !!m->blank)
                                continue;
                        if (pass == 1 && src >= 0 && b.number[src] >= 0)
                                source = mb_facts_disk(f, (uint32_t)b.number[src]);
                        for (uint32_t j = 0; j < f->n_disks; j++) {
                                const mb_disk_fact *d = &f->disks[j];
                                bool taken = false;

                                for (uint32_t k = 0; k < s->n_disks; k++)
                                        if (k != i && b.number[k] == (int)d->number)
                                                taken = true;
                                if (!selector_match(c, (int)i, d))
                                        continue;
                                if (pass == 1 && (taken || !blank_candidate(f, &b, d, source)))
                                        continue;
                                if (pass == 0 && taken) {
                                        for (uint32_t k = 0; k < s->n_disks; k++)
                                                if (b.number[k] == (int)d->number)
                                                        return mb_ydoc_error(c->doc,
                                                                             mb_ynode_get(mb_ynode_at(mb_ynode_get(c->doc->root, "disks"), i), "match"),
                                                                             err, "disk '%s' selects disk %u, which '%s' already selects; expected selectors that tell the disks apart",
                                                                             s->disks[i].name, d->number, s->disks[k].name);
                                }
                                found = d;
                                count++;
                        }
                        describe_selector(c, (int)i, sel, sizeof(sel));
                        describe_disks(f, disks, sizeof(disks));
                        if (count == 0 && in_mirror(c, i) && plex_on_missing_disk(f))
                                continue; /* degraded: reported by mb_plan_compute */
                        if (count == 0)
                                return mb_error_set(err, MB_ESTATE,
                                                    "disk '%s': no disk matches %s; disks present: %s",
                                                    s->disks[i].name, sel, disks[0] ? disks : "none");
                        if (count > 1)
                                return mb_error_set(err, MB_ESTATE,
                                                    "disk '%s': %d disks match %s; expected exactly one (add serial: or number: to the selector); disks present: %s",
                                                    s->disks[i].name, count, sel, disks);
                        b.number[i] = (int)found->number;
                }
        }
        *ret = b;
        return 0;
}

/* ---------- wanted geometry ---------- */

int mb_plan_wanted_parts(const mb_config *c, const mb_facts *f, const mb_binding *b,
                         const mb_disk_fact *disk, mb_part_want *want, size_t max,
                         mb_error *err)
{
        const mb_site_partitions *sp = c->site->partitions;
        size_t n = 0;

        if (!sp)
                return 0;
        if (c->template_index >= 0 && b->number[c->template_index] < 0)
                return 0; /* the template disk is absent (a degraded mirror): nothing to compare */
        if (c->template_index >= 0) {
                const mb_disk_fact *t = mb_facts_disk(f, (uint32_t)b->number[c->template_index]);

                for (uint32_t i = 0; i < sp->n_roles && n < max; i++) {
                        mb_role r = sp->roles[i];
                        mb_part_fact *tp = mb_disk_part_by_role(t, r);
                        mb_part_want *w = &want[n];

                        if (!tp || !mb_disk_role_span(t, r, &w->first_lba, &w->last_lba))
                                return mb_error_set(err, MB_ESTATE,
                                                    "template disk '%s' (disk %u) has no %s partition%s; expected every role in partitions.roles on the template",
                                                    sp->template_disk, t->number, mb_role_to_string(r),
                                                    r == MB_ROLE_OS && t->dynamic
                                                            ? " (a dynamic disk: no extent of its boot volume, or no volume of its disk group could be told to be the boot volume)"
                                                            : "");
                        w->role = r;
                        /* a dynamic disk's volume extents are typed LDM data, which
                         * is no role's type: the copy gets the role's own */
                        snprintf(w->type_guid, sizeof(w->type_guid), "%s",
                                 tp->type_guid && mb_role_from_type_guid(tp->type_guid) == r
                                         ? tp->type_guid : mb_role_type_guid(r));
                        w->attributes = tp->attributes;
                        snprintf(w->name, sizeof(w->name), "%s", tp->name ? tp->name : "");
                        n++;
                }
        } else {
                uint32_t ss = mb_disk_sector(disk);
                uint64_t align = 1048576 / ss; /* 1 MiB in the disk's sectors */
                uint64_t lba = align, fixed_after, end;

                /* Like Windows Setup: 1 MiB aligned, and 1 MiB left free before the backup GPT. */
                end = mb_disk_last_usable(disk) + 1;
                end -= end % align;
                end -= align;
                for (uint32_t i = 0; i < c->n_layout && n < max; i++) {
                        mb_part_want *w = &want[n];
                        uint64_t sectors;

                        if (c->layout[i].size == MB_SIZE_FILL) {
                                fixed_after = 0;
                                for (uint32_t j = i + 1; j < c->n_layout; j++)
                                        fixed_after += c->layout[j].size / ss;
                                if (end < lba + fixed_after + align)
                                        return mb_error_set(err, MB_ESTATE,
                                                            "disk %u (%llu bytes) is too small for the layout; expected at least %llu MiB",
                                                            disk->number, (unsigned long long)disk->size,
                                                            (unsigned long long)((lba + fixed_after) / align + 2));
                                sectors = end - fixed_after - lba;
                        } else {
                                sectors = c->layout[i].size / ss;
                        }
                        if (lba + sectors > end)
                                return mb_error_set(err, MB_ESTATE,
                                                    "disk %u (%llu bytes) is too small for the layout: role %s would end at LBA %llu, past the last usable LBA %llu",
                                                    disk->number, (unsigned long long)disk->size,
                                                    mb_role_to_string(c->layout[i].role),
                                                    (unsigned long long)(lba + sectors - 1),
                                                    (unsigned long long)(end - 1));
                        w->role = c->layout[i].role;
                        w->first_lba = lba;
                        w->last_lba = lba + sectors - 1;
                        snprintf(w->type_guid, sizeof(w->type_guid), "%s", mb_role_type_guid(w->role));
                        w->attributes = mb_role_default_attributes(w->role);
                        snprintf(w->name, sizeof(w->name), "%s", mb_role_default_name(w->role));
                        lba += sectors;
                        n++;
                }
        }
        return (int)n;
}

/* ---------- health: every declared plex, and the degraded state ---------- */

const mb_volume_fact *mb_plan_mirror_volume(const mb_config *c, const mb_facts *f, const mb_binding *b,
                                            const mb_site_mirror *m)
{
        const mb_volume_fact *best = NULL;

        for (uint32_t v = 0; v < f->n_volumes; v++)
                for (uint32_t x = 0; x < f->volumes[v].n_plexes; x++)
                        for (uint32_t i = 0; i < m->n_disks; i++) {
                                int idx = mb_config_disk_index(c, m->disks[i]);

                                if (idx >= 0 && idx < (int)(sizeof(b->number) / sizeof(b->number[0])) &&
                                    b->number[idx] >= 0 &&
                                    f->volumes[v].plexes[x].disk == b->number[idx] &&
                                    (!best || f->volumes[v].size > best->size))
                                        best = &f->volumes[v];
                        }
        return best;
}

/* The LDM name of the volume's plex on a disk that is not present, not
 * yet paired with another declared disk. */
static const char *missing_ldm_disk(const mb_volume_fact *vol, const mb_health *h)
{
        for (uint32_t x = 0; vol && x < vol->n_plexes; x++) {
                const mb_plex_fact *p = &vol->plexes[x];
                bool used = false;

                if (p->disk >= 0 && p->state != MB_PLEX_MISSING)
                        continue;
                for (uint32_t k = 0; k < h->n_plexes; k++)
                        if (p->ldm_disk && strcmp(h->plexes[k].ldm_disk, p->ldm_disk) == 0)
                                used = true;
                if (!used)
                        return p->ldm_disk ? p->ldm_disk : "";
        }
        return "";
}

/* Appends, for the system store's OS loaders, which reach d's os
 * partition and which name a partition on no present disk: what the boot
 * menu of a survivor offers. Returns the new length. */
static size_t loaders_of(const mb_facts *f, const mb_disk_fact *d, char *buf, size_t len, size_t off)
{
        const mb_part_fact *os = d ? mb_disk_part_by_role(d, MB_ROLE_OS) : NULL;
        const char *sep = "; its BCD: ";

        if (!d || !d->system || !f->bcd || !os || !os->unique_guid)
                return off;
        for (uint32_t i = 0; i < f->bcd->n_objects; i++) {
                const mb_bcd_object_fact *o = &f->bcd->objects[i];
                const char *part = o->osdevice && o->osdevice->partition ? o->osdevice->partition : NULL;
                const char *what;

                if (!o->type || strcmp(o->type, "os-loader") != 0 || !part)
                        continue;
                if (strcasecmp(part, os->unique_guid) == 0)
                        what = "reaches its os plex";
                else if (!mb_facts_part_by_guid(f, part, NULL))
                        what = "names a partition on no present disk";
                else
                        continue;
                off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s\"%s\" %s", sep,
                                        o->description ? o->description : o->id, what);
                sep = ", ";
        }
        return off;
}

static void plan_health(const mb_config *c, const mb_facts *f, mb_plan *p)
{
        mb_health *h = &p->health;
        size_t off = 0;

#define ADD(...) off += (size_t)snprintf(h->degraded_what + off, off < sizeof(h->degraded_what) ? sizeof(h->degraded_what) - off : 0, __VA_ARGS__)
        for (uint32_t m = 0; m < c->site->n_mirrors; m++) {
                const mb_site_mirror *sm = &c->site->mirrors[m];
                const mb_volume_fact *vol = mb_plan_mirror_volume(c, f, &p->binding, sm);

                for (uint32_t i = 0; i < sm->n_disks && h->n_plexes < MB_MAX_PLEX_HEALTH; i++) {
                        int idx = mb_config_disk_index(c, sm->disks[i]);
                        mb_plex_health *x = &h->plexes[h->n_plexes];

                        memset(x, 0, sizeof(*x));
                        x->mirror = sm->role;
                        x->disk = idx;
                        x->number = idx >= 0 ? p->binding.number[idx] : -1;
                        x->state = MB_PLEX_MISSING;
                        for (uint32_t k = 0; vol && x->number >= 0 && k < vol->n_plexes; k++)
                                if (vol->plexes[k].disk == x->number) {
                                        x->state = vol->plexes[k].state;
                                        x->percent = x->state == MB_PLEX_HEALTHY ? 100 : vol->plexes[k].percent;
                                        snprintf(x->ldm_disk, sizeof(x->ldm_disk), "%s",
                                                 vol->plexes[k].ldm_disk ? vol->plexes[k].ldm_disk : "");
                                }
                        if (x->number < 0) {
                                snprintf(x->ldm_disk, sizeof(x->ldm_disk), "%s", missing_ldm_disk(vol, h));
                                h->degraded = true;
                                ADD("%s%s mirror has no plex on %s (missing: %s%s in the present disks' LDM database, no present disk matches its selector; when it went and its serial are not recorded)",
                                    off ? "; " : "", mb_role_to_string(sm->role), sm->disks[i],
                                    x->ldm_disk[0] ? "LDM disk " : "its plex", x->ldm_disk);
                        }
                        h->n_plexes++;
                }
        }
        if (h->degraded)
                for (uint32_t i = 0; i < c->site->n_disks; i++) {
                        char why[256];
                        bool ok;

                        if (p->binding.number[i] < 0)
                                continue;
                        ok = mb_monitor_disk_bootable(c, f, &p->binding, (int)i, why, sizeof(why));
                        ADD("; %s boots alone: %s (%s)", c->site->disks[i].name, ok ? "yes" : "no", why);
                        off = loaders_of(f, mb_facts_disk(f, (uint32_t)p->binding.number[i]),
                                         h->degraded_what, sizeof(h->degraded_what), off);
                }
        if (h->degraded) {
                /* a disk present but not selected (too small for min_size, not
                 * blank) is why a replacement is not taken: name them all */
                char disks[512];

                describe_disks(f, disks, sizeof(disks));
                ADD("; disks present: %s", disks);
        }
#undef ADD
}

/* ---------- the plan ---------- */

/*
 * Geometry every resource relies on, checked before any change is planned:
 * each bound disk's partitions lie on the disk in its own sector size (facts
 * whose LBAs were counted in another one are refused, not reinterpreted);
 * the disks of the partition layout and of each mirror share one logical
 * sector size (geometry is copied sector for sector, a plex byte for byte);
 * a mirror (LDM) is on 512-byte sectors: the LDM layout Windows writes on
 * 4096-byte sectors is not documented and no public reader reads it.
 */
/* An ESP mbstate would create on a disk must hold a FAT32 file system:
 * refused in plan (before any partition is written) when its size in the
 * disk's sectors gives fewer clusters than FAT32 needs (on 4096-byte
 * sectors Microsoft documents a 260 MB minimum ESP). An ESP that exists
 * already is what it is and is not judged here. */
static int check_esp_size(const mb_config *c, const mb_facts *f, const mb_binding *b,
                          mb_error *err)
{
        const mb_site_partitions *sp = c->site->partitions;

        for (uint32_t i = 0; sp && i < sp->n_disks; i++) {
                int idx = mb_config_disk_index(c, sp->disks[i]);
                const mb_disk_fact *d = idx >= 0 && b->number[idx] >= 0
                                                ? mb_facts_disk(f, (uint32_t)b->number[idx]) : NULL;
                mb_part_want want[16];
                char label[128];
                int n;

                if (!d || mb_disk_part_by_role(d, MB_ROLE_EFI))
                        continue;
                n = mb_plan_wanted_parts(c, f, b, d, want, 16, err);
                if (n < 0)
                        return n;
                for (int k = 0; k < n; k++) {
                        uint64_t sectors = want[k].last_lba - want[k].first_lba + 1;
                        uint32_t ss = mb_disk_sector(d);

                        if (want[k].role != MB_ROLE_EFI ||
                            mb_fat32_clusters(sectors, ss) >= MB_FAT32_MIN_CLUSTERS)
                                continue;
                        mb_plan_disk_label(c, b, idx, label, sizeof(label));
                        return mb_error_set(err, MB_ESTATE,
                                            "disk %s: an ESP of %llu MiB on %u-byte sectors holds %llu FAT32 clusters; FAT32 needs at least 65525 (Microsoft documents a 260 MB minimum ESP on 4K native drives); make the efi partition larger",
                                            label, (unsigned long long)((sectors * ss) >> 20), ss,
                                            (unsigned long long)mb_fat32_clusters(sectors, ss));
                }
        }
        return 0;
}

static int check_geometry(const mb_config *c, const mb_facts *f, const mb_binding *b,
                          mb_error *err)
{
        const mb_site *s = c->site;
        char l1[128], l2[128];

        for (uint32_t i = 0; i < b->n; i++) {
                const mb_disk_fact *d = b->number[i] >= 0 ? mb_facts_disk(f, (uint32_t)b->number[i]) : NULL;
                uint32_t ss = mb_disk_sector(d);

                if (!d)
                        continue;
                if (ss < 512 || ss > 65536 || (ss & (ss - 1)))
                        return mb_error_set(err, MB_ESTATE, "disk %u: sector size %u is not a power of two from 512 to 65536",
                                            d->number, ss);
                for (uint32_t k = 0; k < d->n_partitions; k++) {
                        const mb_part_fact *p = &d->partitions[k];

                        if (p->last_lba >= d->size / ss)
                                return mb_error_set(err, MB_ESTATE,
                                                    "disk %u: partition %u (%s) ends at LBA %llu, past the disk's end (%llu sectors of %u bytes); its positions are not in this disk's sector size",
                                                    d->number, p->number, mb_role_to_string(p->role),
                                                    (unsigned long long)p->last_lba,
                                                    (unsigned long long)(d->size / ss), ss);
                }
        }
        for (uint32_t pass = 0; pass < 2; pass++) /* one size first, then LDM's */
        for (uint32_t m = 0; m <= s->n_mirrors; m++) {
                char **names = m < s->n_mirrors ? s->mirrors[m].disks : s->partitions ? s->partitions->disks : NULL;
                uint32_t n = m < s->n_mirrors ? s->mirrors[m].n_disks : s->partitions ? s->partitions->n_disks : 0;
                const mb_disk_fact *first = NULL;
                int first_idx = -1;

                for (uint32_t i = 0; i < n; i++) {
                        int idx = mb_config_disk_index(c, names[i]);
                        const mb_disk_fact *d = idx >= 0 && b->number[idx] >= 0
                                                        ? mb_facts_disk(f, (uint32_t)b->number[idx]) : NULL;

                        if (!d)
                                continue;
                        if (pass == 1 && m < s->n_mirrors && mb_disk_sector(d) != 512) {
                                mb_plan_disk_label(c, b, idx, l1, sizeof(l1));
                                return mb_error_set(err, MB_ENOTSUP,
                                                    "%s mirror: disk %s has %u-byte logical sectors; a mirror makes the disks dynamic (LDM) and mbstate writes LDM on 512-byte sectors only (how Windows lays out LDM on %u-byte sectors is not documented)",
                                                    mb_role_to_string(s->mirrors[m].role), l1,
                                                    mb_disk_sector(d), mb_disk_sector(d));
                        }
                        if (!first) {
                                first = d;
                                first_idx = idx;
                        } else if (pass == 0 && mb_disk_sector(d) != mb_disk_sector(first)) {
                                mb_plan_disk_label(c, b, first_idx, l1, sizeof(l1));
                                mb_plan_disk_label(c, b, idx, l2, sizeof(l2));
                                return mb_error_set(err, MB_ESTATE,
                                                    "%s%s: disk %s has %u-byte logical sectors, disk %s %u-byte; expected one logical sector size (a partition layout is copied sector for sector, a mirror plex byte for byte)",
                                                    m < s->n_mirrors ? mb_role_to_string(s->mirrors[m].role) : "",
                                                    m < s->n_mirrors ? " mirror" : "partitions", l1,
                                                    mb_disk_sector(first), l2, mb_disk_sector(d));
                        }
                }
        }
        return 0;
}

int mb_plan_compute(const mb_config *c, const mb_facts *f, mb_plan **ret, mb_error *err)
{
        mb_plan *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        p->facts = f;
        r = mb_plan_bind(c, f, &p->binding, err);
        if (!r)
                r = check_geometry(c, f, &p->binding, err);
        if (!r)
                r = check_esp_size(c, f, &p->binding, err);
        for (size_t i = 0; !r && i < MB_RES__COUNT; i++)
                r = mb_resources[i].diff(c, f, p, err);
        if (!r)
                plan_health(c, f, p);
        if (r) {
                mb_plan_free(p);
                return r;
        }
        p->facts = NULL;
        *ret = p;
        return 0;
}
