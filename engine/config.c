/* SPDX-License-Identifier: MIT */
/*
 * Loading site.yaml into an mb_config: the schema pass (yamldoc.c), then the
 * semantic checks (disk names and selectors, partitions, mirrors and clones,
 * boot entries) that name FILE:LINE:COLUMN; also size parsing and
 * formatting ("100MiB", "fill") and the config-file trust check on Windows.
 */
#include "config.h"
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
        const char *unit;
        uint64_t factor;
} units[] = {
        { "B", 1 },
        { "KiB", 1ULL << 10 },
        { "MiB", 1ULL << 20 },
        { "GiB", 1ULL << 30 },
        { "TiB", 1ULL << 40 },
};

int mb_parse_size(const char *s, uint64_t *ret, bool allow_fill, const char **ret_why)
{
        const char *p = s, *unit;
        uint64_t val = 0;

        if (allow_fill && strcmp(s, "fill") == 0) {
                *ret = MB_SIZE_FILL;
                return 0;
        }
        while (isspace((unsigned char)*p))
                p++;
        if (*p == '-') {
                *ret_why = "negative size";
                return -1;
        }
        if (!isdigit((unsigned char)*p)) {
                *ret_why = allow_fill ? "not a size" : "not a size";
                return -1;
        }
        for (; isdigit((unsigned char)*p); p++) {
                if (val > (UINT64_MAX - 9) / 10) {
                        *ret_why = "size too large";
                        return -1;
                }
                val = val * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ')
                p++;
        unit = p;
        if (!*unit) {
                *ret = val;
                return 0;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strcmp(unit, units[i].unit) == 0) {
                        if (val > UINT64_MAX / units[i].factor) {
                                *ret_why = "size too large";
                                return -1;
                        }
                        *ret = val * units[i].factor;
                        return 0;
                }
        *ret_why = "unknown unit";
        return -1;
}

char *mb_format_size(uint64_t bytes, char *buf, size_t len)
{
        static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        int i = 0;
        double v = (double)bytes;

        while (v >= 1024 && i < 4)
                v /= 1024, i++;
        if (i == 0 || v == (double)(uint64_t)v)
                snprintf(buf, len, "%llu %s", (unsigned long long)v, names[i]);
        else
                snprintf(buf, len, "%.1f %s", v, names[i]);
        return buf;
}

int mb_config_disk_index(const mb_config *c, const char *name)
{
        for (uint32_t i = 0; name && i < c->site->n_disks; i++)
                if (strcmp(c->site->disks[i].name, name) == 0)
                        return (int)i;
        return -1;
}

bool mb_config_has_role(const mb_config *c, mb_role r)
{
        const mb_site_partitions *p = c->site->partitions;

        if (!p)
                return false;
        for (uint32_t i = 0; i < p->n_roles; i++)
                if (p->roles[i] == r)
                        return true;
        for (uint32_t i = 0; i < c->n_layout; i++)
                if (c->layout[i].role == r)
                        return true;
        return false;
}

void mb_config_free(mb_config *c)
{
        if (!c)
                return;
        mb_yaml_free_data(&mb_site_schema, c->site);
        mb_ydoc_free(c->doc);
        free(c->part_disks);
        free(c->layout);
        free(c->min_size);
        free(c->path);
        free(c);
}

#define AT(node, ...) mb_ydoc_error(c->doc, (node), err, __VA_ARGS__)

static mb_ynode *seq_item(mb_ynode *map, const char *key, size_t i)
{
        return mb_ynode_at(mb_ynode_get(map, key), i);
}

int mb_config_check_names(const mb_config *c, const mb_ynode *list, char *const *names, uint32_t n,
                          const char *what, mb_error *err)
{
        for (uint32_t i = 0; i < n; i++) {
                if (mb_config_disk_index(c, names[i]) < 0)
                        return AT(mb_ynode_at(list, i),
                                  "%s: unknown disk '%s'; expected a name declared under 'disks'",
                                  what, names[i]);
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(names[i], names[j]) == 0)
                                return AT(mb_ynode_at(list, i),
                                          "%s: disk '%s' is listed twice; expected each disk once",
                                          what, names[i]);
        }
        return 0;
}

static int check_disks(mb_config *c, mb_error *err)
{
        mb_site *s = c->site;
        mb_ynode *disks = mb_ynode_get(c->doc->root, "disks");

        c->min_size = calloc(s->n_disks, sizeof(*c->min_size));
        if (!c->min_size)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < s->n_disks; i++) {
                mb_site_disk *d = &s->disks[i];
                mb_ynode *dn = mb_ynode_at(disks, i), *mn = mb_ynode_get(dn, "match");
                mb_site_match *m = d->match;
                int selectors;

                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(s->disks[j].name, d->name) == 0)
                                return AT(mb_ynode_get(dn, "name"),
                                          "disk '%s' is declared twice (first at line %d); expected unique disk names",
                                          d->name, mb_ynode_at(disks, j)->line);
                selectors = !!m->number + !!m->serial + !!m->unique_id + !!m->location +
                            !!m->system + !!m->blank;
                if (selectors == 0)
                        return AT(mn, "disk '%s': match has no selector; expected one of number, serial, unique_id, location, system: true, blank: true",
                                  d->name);
                if (m->system && !*m->system)
                        return AT(mb_ynode_get(mn, "system"),
                                  "disk '%s': 'system: false' selects nothing; expected 'system: true' or another selector",
                                  d->name);
                if (m->blank && !*m->blank)
                        return AT(mb_ynode_get(mn, "blank"),
                                  "disk '%s': 'blank: false' selects nothing; expected 'blank: true' or another selector",
                                  d->name);
                if (m->system && m->blank)
                        return AT(mn, "disk '%s': 'system: true' and 'blank: true' never match the same disk (the system disk is not blank); expected one of them",
                                  d->name);
                if (m->min_size) {
                        const char *why = "";

                        if (mb_parse_size(m->min_size, &c->min_size[i], false, &why) < 0)
                                return AT(mb_ynode_get(mn, "min_size"),
                                          "disk '%s': min_size '%s': %s; expected a size such as 32GiB (units B, KiB, MiB, GiB, TiB)",
                                          d->name, m->min_size, why);
                }
                for (uint32_t j = 0; j < i; j++) {
                        mb_site_match *o = s->disks[j].match;

                        if ((m->system && o->system) || (m->number && o->number && *m->number == *o->number) ||
                            (m->serial && o->serial && strcmp(m->serial, o->serial) == 0))
                                return AT(mn, "disk '%s' selects the same disk as '%s'; expected selectors that tell the disks apart",
                                          d->name, s->disks[j].name);
                }
        }
        return 0;
}

static int check_partitions(mb_config *c, mb_error *err)
{
        mb_site_partitions *p = c->site->partitions;
        mb_ynode *pn = mb_ynode_get(c->doc->root, "partitions");
        int fills = 0;
        uint64_t fixed = 0;
        int r;

        c->template_index = -1;
        if (!p)
                return 0;
        r = mb_config_check_names(c, mb_ynode_get(pn, "disks"), p->disks, p->n_disks, "partitions.disks", err);
        if (r)
                return r;
        c->part_disks = calloc(p->n_disks, sizeof(int));
        if (!c->part_disks)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < p->n_disks; i++)
                c->part_disks[i] = mb_config_disk_index(c, p->disks[i]);
        c->n_part_disks = p->n_disks;

        if (p->layout && p->roles)
                return AT(mb_ynode_get(pn, "layout"),
                          "partitions has both 'roles' (with a template) and 'layout'; expected one of the two forms");
        if (!p->layout && !p->roles)
                return AT(pn, "partitions has neither 'roles' nor 'layout'; expected 'template' with 'roles', or 'layout'");
        if (p->roles) {
                if (!p->template_disk)
                        return AT(pn, "partitions.roles needs 'template': the disk whose geometry is copied");
                c->template_index = mb_config_disk_index(c, p->template_disk);
                if (c->template_index < 0)
                        return AT(mb_ynode_get(pn, "template"),
                                  "template: unknown disk '%s'; expected a name declared under 'disks'",
                                  p->template_disk);
                for (uint32_t i = 0; i < p->n_disks; i++)
                        if (c->part_disks[i] == c->template_index)
                                goto listed;
                return AT(mb_ynode_get(pn, "template"),
                          "template disk '%s' is not listed in partitions.disks; expected it among them",
                          p->template_disk);
listed:
                for (uint32_t i = 0; i < p->n_roles; i++)
                        for (uint32_t j = 0; j < i; j++)
                                if (p->roles[i] == p->roles[j])
                                        return AT(seq_item(pn, "roles", i),
                                                  "role '%s' is listed twice; expected each role once",
                                                  mb_role_to_string(p->roles[i]));
                return 0;
        }
        if (p->template_disk)
                return AT(mb_ynode_get(pn, "template"),
                          "'template' goes with 'roles', not with an explicit 'layout'; expected one of the two forms");
        c->layout = calloc(p->n_layout, sizeof(*c->layout));
        if (!c->layout)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        c->n_layout = p->n_layout;
        for (uint32_t i = 0; i < p->n_layout; i++) {
                mb_ynode *en = seq_item(pn, "layout", i);
                const char *why = "";

                c->layout[i].role = p->layout[i].role;
                for (uint32_t j = 0; j < i; j++)
                        if (p->layout[j].role == p->layout[i].role)
                                return AT(mb_ynode_get(en, "role"),
                                          "role '%s' appears twice in layout; expected each role once",
                                          mb_role_to_string(p->layout[i].role));
                if (mb_parse_size(p->layout[i].size, &c->layout[i].size, true, &why) < 0)
                        return AT(mb_ynode_get(en, "size"),
                                  "size '%s': %s; expected a size such as 100MiB (units B, KiB, MiB, GiB, TiB) or 'fill'",
                                  p->layout[i].size, why);
                if (c->layout[i].size == MB_SIZE_FILL) {
                        if (++fills > 1)
                                return AT(mb_ynode_get(en, "size"),
                                          "a second 'fill' partition; expected at most one");
                        continue;
                }
                if (c->layout[i].size == 0 || c->layout[i].size % (1 << 20))
                        return AT(mb_ynode_get(en, "size"),
                                  "size '%s' is not a positive multiple of 1 MiB; expected whole MiB (partitions are 1 MiB aligned)",
                                  p->layout[i].size);
                if (fixed + c->layout[i].size < fixed || fixed + c->layout[i].size > (1ULL << 50))
                        return AT(mb_ynode_get(en, "size"),
                                  "the layout adds up to more than 1 PiB; expected sizes that fit a disk");
                fixed += c->layout[i].size;
        }
        for (uint32_t i = 0; i < p->n_disks; i++) {
                uint64_t min = c->min_size[c->part_disks[i]];

                /* 1 MiB before the first partition, 1 MiB for the backup GPT and alignment */
                if (min && fixed + (2ULL << 20) > min)
                        return AT(mb_ynode_get(pn, "layout"),
                                  "the layout needs %llu MiB but disk '%s' may be as small as its min_size (%llu MiB); expected sizes that fit",
                                  (unsigned long long)((fixed >> 20) + 2), p->disks[i],
                                  (unsigned long long)(min >> 20));
        }
        return 0;
}

bool mb_config_in_partition_disks(const mb_config *c, int disk)
{
        for (uint32_t i = 0; i < c->n_part_disks; i++)
                if (c->part_disks[i] == disk)
                        return true;
        return false;
}


int mb_config_load_buffer(const char *name, const char *buf, size_t len, mb_config **ret,
                          mb_error *err)
{
        mb_config *c = calloc(1, sizeof(*c));
        void *data = NULL;
        int r;

        if (!c || !(c->path = strdup(name))) {
                free(c);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        r = mb_yaml_load(name, buf, len, &mb_site_schema, &data, &c->doc, err);
        if (r)
                goto fail;
        c->site = data;
        if (*c->site->version != 1) {
                r = AT(mb_ynode_get(c->doc->root, "version"),
                       "unsupported version %u; expected 1", *c->site->version);
                goto fail;
        }
        r = check_disks(c, err);
        if (!r)
                r = check_partitions(c, err);
        /* then each resource kind's own sections, in the registry's order */
        for (size_t i = 0; !r && i < MB_RES__COUNT; i++)
                if (mb_resources[i].check)
                        r = mb_resources[i].check(c, err);
        if (r)
                goto fail;
        *ret = c;
        return 0;
fail:
        mb_config_free(c);
        return r;
}

int mb_config_load(const char *path, mb_config **ret, mb_error *err)
{
        char *buf;
        size_t len;
        int r;

        /* the trust rule (trust.h) is applied by the reader, on the open file */
        r = mb_yaml_read_file(path, &buf, &len, err);
        if (r)
                return r;
        r = mb_config_load_buffer(path, buf, len, ret, err);
        free(buf);
        return r;
}
