/* SPDX-License-Identifier: MIT */
/*
 * Monitoring views of `check`: one evaluation (disks, plexes, drift, state)
 * and one printer per format, chosen from a table.
 */
#include "monitor.h"
#include "bootability.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "yamldoc.h"

#define MON_MAX_DISKS 16
#define MON_MAX_PLEXES 64

/* ---------- evaluation ---------- */

typedef struct mon_disk {
        const char *name;
        int number;             /* facts disk, -1 when not found */
        bool bootable;
        char why[256];
        size_t drift;           /* drift items whose operation is on this disk */
} mon_disk;

typedef struct mon_plex {
        const char *mirror;     /* role of the mirror: "os" */
        const char *disk;       /* declared disk */
        int number;
        int state;              /* mb_plex_state, or -1: no plex on this disk */
        uint32_t percent;
} mon_plex;

typedef struct mon_eval {
        const mb_mon_input *in;
        bool evaluated;
        mon_disk disks[MON_MAX_DISKS];
        size_t n_disks;
        mon_plex plexes[MON_MAX_PLEXES];
        size_t n_plexes, healthy_plexes;
        unsigned resync_percent;        /* lowest of the resyncing plexes, 100 when none */
        unsigned esps_in_sync, esps_total;
        unsigned fw_entries;
        size_t drift_by_resource[MB_RES__COUNT];
        size_t drift;
        mb_mon_state state;
        char summary[1024];
} mon_eval;

static const mb_disk_fact *bound_disk(const mb_facts *f, const mb_binding *b, int idx)
{
        if (!f || !b || idx < 0 || idx >= MON_MAX_DISKS || b->number[idx] < 0)
                return NULL;
        return mb_facts_disk(f, (uint32_t)b->number[idx]);
}

bool mb_monitor_disk_bootable(const mb_config *c, const mb_facts *f, const mb_binding *b, int idx,
                              char *why, size_t len)
{
        const mb_disk_fact *d = bound_disk(f, b, idx);
        mb_boot_verdict v;

        if (!d)
                return snprintf(why, len, "disk not found"), false;
        /* the firmware's rules, as check decides them (bootability.h) */
        mb_boot_verdict_of(c, f, d, &v);
        snprintf(why, len, "%s", v.bootable ? v.via : v.reason);
        return v.bootable;
}

static void eval_plexes(mon_eval *e, const mb_config *c, const mb_facts *f, const mb_binding *b)
{
        e->resync_percent = 100;
        for (uint32_t m = 0; m < c->site->n_mirrors; m++) {
                const mb_site_mirror *sm = &c->site->mirrors[m];
                const mb_volume_fact *vol = mb_plan_mirror_volume(c, f, b, sm);

                for (uint32_t i = 0; i < sm->n_disks && e->n_plexes < MON_MAX_PLEXES; i++) {
                        int idx = mb_config_disk_index(c, sm->disks[i]);
                        mon_plex *p = &e->plexes[e->n_plexes++];

                        p->mirror = mb_role_to_string(sm->role);
                        p->disk = sm->disks[i];
                        p->number = idx >= 0 && idx < MON_MAX_DISKS ? b->number[idx] : -1;
                        p->state = -1;
                        for (uint32_t x = 0; vol && p->number >= 0 && x < vol->n_plexes; x++)
                                if (vol->plexes[x].disk == p->number) {
                                        p->state = (int)vol->plexes[x].state;
                                        p->percent = vol->plexes[x].percent;
                                }
                        if (p->state == MB_PLEX_HEALTHY)
                                e->healthy_plexes++;
                        if (p->state == MB_PLEX_RESYNCING && p->percent < e->resync_percent)
                                e->resync_percent = p->percent;
                }
        }
}

static bool disk_has_clone_drift(const mb_plan *p, int number, mb_role role)
{
        for (size_t i = 0; i < p->n_changes; i++)
                if (p->changes[i].resource == MB_RES_CLONE && p->changes[i].op.role == role &&
                    (int)p->changes[i].op.disk == number)
                        return true;
        return false;
}

static void eval_esps(mon_eval *e, const mb_config *c, const mb_facts *f, const mb_plan *p)
{
        for (uint32_t k = 0; k < c->site->n_clones; k++) {
                const mb_site_clone *cl = &c->site->clones[k];
                int src = mb_config_disk_index(c, cl->from);
                const mb_disk_fact *sd = bound_disk(f, &p->binding, src);

                if (cl->role != MB_ROLE_EFI)
                        continue;
                e->esps_total += 1 + cl->n_to;
                if (sd && mb_disk_part_by_role(sd, MB_ROLE_EFI))
                        e->esps_in_sync++;
                for (uint32_t t = 0; t < cl->n_to; t++) {
                        int idx = mb_config_disk_index(c, cl->to[t]);
                        const mb_disk_fact *d = bound_disk(f, &p->binding, idx);

                        if (d && mb_disk_part_by_role(d, MB_ROLE_EFI) &&
                            !disk_has_clone_drift(p, (int)d->number, MB_ROLE_EFI))
                                e->esps_in_sync++;
                }
        }
}

static void eval_firmware(mon_eval *e, const mb_facts *f)
{
        for (uint32_t i = 0; f->firmware && i < f->firmware->n_entries; i++) {
                const char *part = f->firmware->entries[i].partition;
                bool ours = false;

                for (size_t k = 0; part && k < e->n_disks && !ours; k++) {
                        const mb_disk_fact *d = e->disks[k].number >= 0 ?
                                mb_facts_disk(f, (uint32_t)e->disks[k].number) : NULL;
                        const mb_part_fact *esp = d ? mb_disk_part_by_role(d, MB_ROLE_EFI) : NULL;

                        ours = esp && esp->unique_guid && strcasecmp(esp->unique_guid, part) == 0;
                }
                e->fw_entries += ours;
        }
}

static const char *const state_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

/* ---------- the state: a table of findings, first state that finds something wins ---------- */

typedef struct mon_rule {
        mb_mon_state state;
        /* Appends this rule's findings ("; "-separated) to b; returns how many. */
        size_t (*find)(const mon_eval *e, mb_buf *b);
} mon_rule;

static void sep(mb_buf *b)
{
        if (b->len)
                mb_buf_put(b, "; ", 2);
}

static size_t find_unevaluated(const mon_eval *e, mb_buf *b)
{
        char msg[4096];

        if (e->evaluated)
                return 0;
        mb_error_format(e->in->err, msg, sizeof(msg));
        sep(b);
        mb_buf_printf(b, "cannot evaluate: %s", msg);
        return 1;
}

static size_t find_unbootable(const mon_eval *e, mb_buf *b)
{
        size_t n = 0;

        for (size_t i = 0; e->evaluated && i < e->n_disks; i++)
                if (!e->disks[i].bootable) {
                        sep(b);
                        if (e->disks[i].number >= 0)
                                mb_buf_printf(b, "%s (disk %d) would not boot: %s", e->disks[i].name,
                                              e->disks[i].number, e->disks[i].why);
                        else
                                mb_buf_printf(b, "%s would not boot: %s", e->disks[i].name, e->disks[i].why);
                        n++;
                }
        return n;
}

static const char *plex_state_name(int s)
{
        return s < 0 ? "absent" : mb_plex_state_to_string((mb_plex_state)s);
}

static size_t find_bad_plex(const mon_eval *e, mb_buf *b)
{
        size_t n = 0;

        for (size_t i = 0; e->evaluated && i < e->n_plexes; i++) {
                const mon_plex *p = &e->plexes[i];

                if (p->state == MB_PLEX_HEALTHY || p->state == MB_PLEX_RESYNCING)
                        continue;
                sep(b);
                mb_buf_printf(b, "%s mirror plex on %s: %s", p->mirror, p->disk, plex_state_name(p->state));
                n++;
        }
        return n;
}

static size_t find_drift(const mon_eval *e, mb_buf *b)
{
        const mb_plan *p = e->in->plan;

        if (!e->evaluated || !p->n_changes)
                return 0;
        sep(b);
        mb_buf_printf(b, "drift: %zu item%s (", p->n_changes, p->n_changes == 1 ? "" : "s");
        for (size_t i = 0; i < p->n_changes && i < 3; i++)
                mb_buf_printf(b, "%s%s: %s", i ? ", " : "", p->changes[i].subject, p->changes[i].current);
        mb_buf_printf(b, "%s)", p->n_changes > 3 ? ", ..." : "");
        return 1;
}

static size_t find_resync(const mon_eval *e, mb_buf *b)
{
        if (!e->evaluated || !e->in->plan->health.resyncing)
                return 0;
        sep(b);
        mb_buf_printf(b, "converging: %s", e->in->plan->health.what);
        return 1;
}

static const mon_rule rules[] = {
        { MB_MON_UNKNOWN, find_unevaluated },
        { MB_MON_CRITICAL, find_unbootable },
        { MB_MON_CRITICAL, find_bad_plex },
        { MB_MON_WARNING, find_drift },
        { MB_MON_WARNING, find_resync },
};

/* '|' separates perfdata (Nagios) and metrics (Checkmk); never in text. */
static void copy_text(char *dst, size_t len, const char *src)
{
        size_t i = 0;

        for (; src && *src && i + 1 < len; src++)
                dst[i++] = *src == '|' ? '/' : *src == '\n' ? ' ' : *src;
        dst[i] = '\0';
}

static void evaluate(const mb_mon_input *in, mon_eval *e)
{
        const mb_config *c = in->config;
        mb_buf b = { 0 };
        size_t i;

        memset(e, 0, sizeof(*e));
        e->in = in;
        e->resync_percent = 100;
        e->evaluated = !in->err && c && in->facts && in->plan;
        if (e->evaluated) {
                const mb_plan *p = in->plan;

                for (uint32_t k = 0; k < c->site->n_disks && k < MON_MAX_DISKS; k++) {
                        mon_disk *d = &e->disks[e->n_disks++];

                        d->name = c->site->disks[k].name;
                        d->number = p->binding.number[k];
                        d->bootable = mb_monitor_disk_bootable(c, in->facts, &p->binding, (int)k, d->why,
                                                               sizeof(d->why));
                        for (size_t j = 0; j < p->n_changes; j++)
                                d->drift += d->number >= 0 && (int)p->changes[j].op.disk == d->number;
                }
                for (size_t j = 0; j < p->n_changes; j++)
                        if (p->changes[j].resource < MB_RES__COUNT)
                                e->drift_by_resource[p->changes[j].resource]++;
                e->drift = p->n_changes;
                eval_plexes(e, c, in->facts, &p->binding);
                eval_esps(e, c, in->facts, p);
                eval_firmware(e, in->facts);
        }
        e->state = MB_MON_OK;
        for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                if (b.len && rules[i].state != rules[i - 1].state)
                        break;
                if (rules[i].find(e, &b))
                        e->state = rules[i].state;
        }
        copy_text(e->summary, sizeof(e->summary), b.failed || !b.len ? "in desired state" : b.data);
        mb_buf_free(&b);
}

mb_mon_state mb_monitor_state(const mb_mon_input *in)
{
        mon_eval *e = malloc(sizeof(*e));
        mb_mon_state s;

        if (!e)
                return MB_MON_UNKNOWN;
        evaluate(in, e);
        s = e->state;
        free(e);
        return s;
}

void mb_monitor_summary(const mb_mon_input *in, char *buf, size_t len)
{
        mon_eval *e = malloc(sizeof(*e));

        if (!e) {
                snprintf(buf, len, "out of memory");
                return;
        }
        evaluate(in, e);
        snprintf(buf, len, "%s - %s", state_names[e->state], e->summary);
        free(e);
}

mb_event mb_monitor_check_event(const mb_mon_input *in)
{
        switch (mb_monitor_state(in)) {
        case MB_MON_OK:
                return MB_EVENT_CHECK_OK;
        case MB_MON_WARNING:
                return in->plan && in->plan->n_changes ? MB_EVENT_CHECK_DRIFT : MB_EVENT_CHECK_CONVERGING;
        case MB_MON_CRITICAL:
                return MB_EVENT_CHECK_NOT_BOOTABLE;
        default:
                return MB_EVENT_CHECK_FAILED;
        }
}

/* ---------- formats ---------- */

const char *mb_mon_state_to_string(mb_mon_state s)
{
        return (unsigned)s < 4 ? state_names[s] : "UNKNOWN";
}

static void disk_line(const mon_eval *e, const mon_disk *d, const char *prefix, mb_buf *b)
{
        char why[256];

        copy_text(why, sizeof(why), d->why);
        mb_buf_printf(b, "%s%s", prefix, d->name);
        if (d->number >= 0)
                mb_buf_printf(b, " (disk %d)", d->number);
        mb_buf_printf(b, ": %s (%s)", d->bootable ? "bootable" : "NOT bootable", why);
        for (size_t i = 0; i < e->n_plexes; i++)
                if (e->plexes[i].number == d->number && d->number >= 0 && strcmp(e->plexes[i].disk, d->name) == 0) {
                        mb_buf_printf(b, ", %s plex %s", e->plexes[i].mirror, plex_state_name(e->plexes[i].state));
                        if (e->plexes[i].state == MB_PLEX_RESYNCING)
                                mb_buf_printf(b, " %u%%", e->plexes[i].percent);
                }
        mb_buf_printf(b, ", %zu drift item%s", d->drift, d->drift == 1 ? "" : "s");
}

static int print_nagios(const mon_eval *e, mb_buf *b)
{
        mb_buf_printf(b, "MBSTATE %s - %s |", state_names[e->state], e->summary);
        if (e->evaluated) {
                mb_buf_printf(b, " 'healthy_plexes'=%zu;;%zu:;0;%zu", e->healthy_plexes, e->n_plexes,
                              e->n_plexes);
                mb_buf_printf(b, " 'resync'=%u%%;;;0;100", e->resync_percent);
                mb_buf_printf(b, " 'esps_in_sync'=%u;%u:;;0;%u", e->esps_in_sync, e->esps_total, e->esps_total);
                mb_buf_printf(b, " 'firmware_entries'=%u;;;0;", e->fw_entries);
                mb_buf_printf(b, " 'drift_items'=%zu;0;;0;", e->drift);
        }
        mb_buf_printf(b, " 'time'=%.3fs;;;0;\n", e->in->seconds);
        for (size_t i = 0; i < e->n_disks; i++) {
                disk_line(e, &e->disks[i], "", b);
                mb_buf_put(b, "\n", 1);
        }
        for (size_t i = 0; e->evaluated && i < e->in->plan->n_changes; i++) {
                const mb_change *ch = &e->in->plan->changes[i];
                char text[768];
                char line[800];

                snprintf(line, sizeof(line), "drift %s %s: %s -> %s", mb_resource_to_string(ch->resource),
                         ch->subject, ch->current, ch->desired);
                copy_text(text, sizeof(text), line);
                mb_buf_printf(b, "%s\n", text);
        }
        return (int)e->state;
}

static int print_checkmk(const mon_eval *e, mb_buf *b)
{
        mb_buf_printf(b, "%d mbstate ", (int)e->state);
        if (e->evaluated)
                mb_buf_printf(b, "healthy_plexes=%zu;;;0;%zu|resync_percent=%u;;;0;100|esps_in_sync=%u;;;0;%u|"
                                 "firmware_entries=%u;;;0;|drift_items=%zu;;;0;|",
                              e->healthy_plexes, e->n_plexes, e->resync_percent, e->esps_in_sync, e->esps_total,
                              e->fw_entries, e->drift);
        mb_buf_printf(b, "time=%.3f;;;0; %s", e->in->seconds, e->summary);
        for (size_t i = 0; i < e->n_disks; i++)
                disk_line(e, &e->disks[i], "\\n", b);
        mb_buf_put(b, "\n", 1);
        return 0;
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void prom_label(mb_buf *b, const char *s)
{
        mb_buf_put(b, "\"", 1);
        for (; s && *s; s++) {
                if (*s == '\\' || *s == '"')
                        mb_buf_printf(b, "\\%c", *s);
                else if (*s == '\n')
                        mb_buf_put(b, "\\n", 2);
                else
                        mb_buf_put(b, s, 1);
        }
        mb_buf_put(b, "\"", 1);
}

static void prom_family(mb_buf *b, const char *name, const char *help)
{
        mb_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int print_prometheus(const mon_eval *e, mb_buf *b)
{
        prom_family(b, "mbstate_check_success",
                    "1 when the check could evaluate the machine, 0 when it could not (unreadable disk, invalid config, lock timeout).");
        mb_buf_printf(b, "mbstate_check_success %d\n", e->evaluated);
        prom_family(b, "mbstate_check_state", "Monitoring state of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
        mb_buf_printf(b, "mbstate_check_state %d\n", (int)e->state);
        prom_family(b, "mbstate_last_check_timestamp_seconds", "Unix time of the last check.");
        mb_buf_printf(b, "mbstate_last_check_timestamp_seconds %.3f\n", e->in->when);
        prom_family(b, "mbstate_check_duration_seconds", "Seconds the last check took.");
        mb_buf_printf(b, "mbstate_check_duration_seconds %.3f\n", e->in->seconds);
        if (!e->evaluated)
                return 0;
        prom_family(b, "mbstate_in_desired_state", "1 when the machine is in the declared state (no drift, no resync).");
        mb_buf_printf(b, "mbstate_in_desired_state %d\n", !e->drift && !e->in->plan->health.resyncing &&
                      !e->in->plan->health.degraded);
        if (e->n_plexes) {
                prom_family(b, "mbstate_plex_healthy", "1 when the mirror has a healthy plex on the declared disk.");
                for (size_t i = 0; i < e->n_plexes; i++) {
                        mb_buf_put(b, "mbstate_plex_healthy{mirror=", 28);
                        prom_label(b, e->plexes[i].mirror);
                        mb_buf_put(b, ",disk=", 6);
                        prom_label(b, e->plexes[i].disk);
                        mb_buf_printf(b, "} %d\n", e->plexes[i].state == MB_PLEX_HEALTHY);
                }
                prom_family(b, "mbstate_mirror_resync_ratio",
                            "Resync progress of the mirror's least synchronized plex, 0 to 1 (1: none running).");
                for (size_t i = 0; i < e->n_plexes; i++) {
                        unsigned pc = 100;

                        if (i && strcmp(e->plexes[i].mirror, e->plexes[i - 1].mirror) == 0)
                                continue;
                        for (size_t j = i; j < e->n_plexes && strcmp(e->plexes[j].mirror, e->plexes[i].mirror) == 0; j++)
                                if (e->plexes[j].state == MB_PLEX_RESYNCING && e->plexes[j].percent < pc)
                                        pc = e->plexes[j].percent;
                        mb_buf_put(b, "mbstate_mirror_resync_ratio{mirror=", 35);
                        prom_label(b, e->plexes[i].mirror);
                        mb_buf_printf(b, "} %.2f\n", pc / 100.0);
                }
        }
        prom_family(b, "mbstate_disk_bootable",
                    "1 when the declared disk would boot on its own (ESP, BCD, firmware entry and its loader present).");
        for (size_t i = 0; i < e->n_disks; i++) {
                mb_buf_put(b, "mbstate_disk_bootable{disk=", 27);
                prom_label(b, e->disks[i].name);
                if (e->disks[i].number >= 0)
                        mb_buf_printf(b, ",number=\"%d\"", e->disks[i].number);
                else
                        mb_buf_put(b, ",number=\"\"", 10);
                mb_buf_printf(b, "} %d\n", e->disks[i].bootable);
        }
        prom_family(b, "mbstate_drift_items", "Differences from the declared state, by resource.");
        for (int r = 0; r < MB_RES__COUNT; r++)
                mb_buf_printf(b, "mbstate_drift_items{resource=\"%s\"} %zu\n",
                              mb_resource_to_string((mb_resource_kind)r), e->drift_by_resource[r]);
        prom_family(b, "mbstate_esps_in_sync", "ESPs of the declared ESP clones that are file-identical to their source.");
        mb_buf_printf(b, "mbstate_esps_in_sync %u\n", e->esps_in_sync);
        prom_family(b, "mbstate_firmware_entries", "Firmware boot entries that name an ESP of a declared disk.");
        mb_buf_printf(b, "mbstate_firmware_entries %u\n", e->fw_entries);
        return 0;
}

static int print_zabbix(const mon_eval *e, mb_buf *b)
{
        const mb_config *c = e->in->config;
        const mb_binding *bind = e->in->plan ? &e->in->plan->binding : NULL;
        bool first = true;

        if (!c)
                return 1;
        mb_buf_put(b, "[", 1);
        for (uint32_t i = 0; i < c->site->n_disks; i++) {
                int n = bind && i < MON_MAX_DISKS ? bind->number[i] : -1;

                mb_buf_printf(b, "%s\n  {\"{#KIND}\": \"disk\", \"{#NAME}\": ", first ? "" : ",");
                mb_buf_json_string(b, c->site->disks[i].name);
                if (n >= 0)
                        mb_buf_printf(b, ", \"{#NUMBER}\": \"%d\"}", n);
                else
                        mb_buf_put(b, ", \"{#NUMBER}\": \"\"}", 18);
                first = false;
        }
        for (uint32_t m = 0; m < c->site->n_mirrors; m++) {
                const mb_site_mirror *sm = &c->site->mirrors[m];
                mb_buf disks = { 0 };

                for (uint32_t i = 0; i < sm->n_disks; i++)
                        mb_buf_printf(&disks, "%s%s", i ? "," : "", sm->disks[i]);
                mb_buf_printf(b, "%s\n  {\"{#KIND}\": \"mirror\", \"{#NAME}\": ", first ? "" : ",");
                mb_buf_json_string(b, mb_role_to_string(sm->role));
                mb_buf_put(b, ", \"{#DISKS}\": ", 14);
                mb_buf_json_string(b, disks.data ? disks.data : "");
                mb_buf_put(b, "}", 1);
                mb_buf_free(&disks);
                first = false;
        }
        mb_buf_put(b, first ? "]\n" : "\n]\n", first ? 2 : 3);
        return 0;
}

typedef struct mon_format {
        const char *name;
        int (*print)(const mon_eval *e, mb_buf *b);
} mon_format;

static const mon_format formats[MB_MON__COUNT] = {
        [MB_MON_TEXT] = { "text", NULL },
        [MB_MON_NAGIOS] = { "nagios", print_nagios },
        [MB_MON_CHECKMK] = { "checkmk", print_checkmk },
        [MB_MON_PROMETHEUS] = { "prometheus", print_prometheus },
        [MB_MON_ZABBIX_DISCOVERY] = { "zabbix-discovery", print_zabbix },
};

int mb_monitor_format_from_string(const char *s, mb_mon_format *ret)
{
        for (int i = 0; i < MB_MON__COUNT; i++)
                if (strcmp(s, formats[i].name) == 0) {
                        *ret = (mb_mon_format)i;
                        return 0;
                }
        return -1;
}

const char *mb_monitor_format_names(void)
{
        return "text, nagios, checkmk, prometheus, zabbix-discovery";
}

int mb_monitor_print(mb_mon_format fmt, const mb_mon_input *in, FILE *out)
{
        mon_eval *e;
        mb_buf b = { 0 };
        int code;

        if ((unsigned)fmt >= MB_MON__COUNT || !formats[fmt].print || !(e = malloc(sizeof(*e))))
                return fmt == MB_MON_NAGIOS ? MB_MON_UNKNOWN : 1;
        evaluate(in, e);
        code = formats[fmt].print(e, &b);
        if (b.failed)
                code = fmt == MB_MON_NAGIOS ? MB_MON_UNKNOWN : 1;
        else if (b.len)
                fwrite(b.data, 1, b.len, out);
        fflush(out);
        mb_buf_free(&b);
        free(e);
        return code;
}

int mb_monitor_write_textfile(const char *path, const mb_mon_input *in, mb_error *err)
{
        mon_eval *e = malloc(sizeof(*e));
        mb_buf b = { 0 };
        char tmp[4096];
        FILE *fp;
        int fd;

        if (!e)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        evaluate(in, e);
        print_prometheus(e, &b);
        free(e);
        if (b.failed) {
                mb_buf_free(&b);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        /* node_exporter and windows_exporter read only *.prom: the temporary name ends otherwise. */
        snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC
#ifdef O_BINARY
                             | O_BINARY
#endif
                  , 0644);
        if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
                int er = errno;

                if (fd >= 0)
                        close(fd);
                mb_buf_free(&b);
                return mb_error_errno(err, MB_EIO, er, "cannot write the textfile %s", tmp);
        }
        if (fwrite(b.data, 1, b.len, fp) != b.len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
                int er = errno;

                fclose(fp);
                unlink(tmp);
                mb_buf_free(&b);
                return mb_error_errno(err, MB_EIO, er, "cannot write the textfile %s", tmp);
        }
        mb_buf_free(&b);
        if (fclose(fp) != 0) {
                int er = errno;

                unlink(tmp);
                return mb_error_errno(err, MB_EIO, er, "cannot write the textfile %s", tmp);
        }
#ifdef _WIN32
        if (!MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
                unsigned long er = GetLastError();

                unlink(tmp);
                return mb_error_set(err, MB_EIO, "cannot replace the textfile %s (MoveFileExA, error %lu)", path, er);
        }
#else
        if (rename(tmp, path) != 0) {
                int er = errno;

                unlink(tmp);
                return mb_error_errno(err, MB_EIO, er, "cannot replace the textfile %s", path);
        }
#endif
        return 0;
}

double mb_monitor_clock(void)
{
#ifdef _WIN32
        return (double)GetTickCount64() / 1000.0;
#else
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}
