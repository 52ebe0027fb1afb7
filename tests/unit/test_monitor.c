/* SPDX-License-Identifier: MIT */
/* engine/monitor.c: the boot verdict, the state mapping and the formats,
 * on the seed's snapshot (tests/data/seed) converged by apply. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "monitor.h"
#include "plan.h"
#include "run.h"

#define SITE "examples/seed/site.yaml"

static char snap[64];

static void copy_before(void)
{
        char cmd[256];

        snprintf(snap, sizeof(snap), "/tmp/mbstate-monitor-XXXXXX");
        cr_assert_neq(mkdtemp(snap), NULL);
        strcat(snap, "/f.yaml");
        snprintf(cmd, sizeof(cmd), "cp tests/data/seed/facts-before.yaml %s", snap);
        cr_assert_eq(system(cmd), 0);
}

static void remove_snap(void)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf \"$(dirname %s)\"", snap);
        cr_assert_eq(system(cmd), 0);
}

/* Runs a verb on the snapshot; stdout in *ret_out. */
static int run(mb_verb verb, const char *site, int format, bool wait, char **ret_out)
{
        char target[128], *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        mb_run_options o = { .verb = verb, .config_path = site, .target = target, .commands = "target",
                             .wait = wait, .out = out, .lock_timeout = 60, .format = format };
        int code;

        snprintf(target, sizeof(target), "snapshot:%s", snap);
        code = mb_run(&o);
        fclose(out);
        if (ret_out)
                *ret_out = buf;
        else
                free(buf);
        return code;
}

static bool starts(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void load(mb_config **c, mb_facts **f, mb_plan **p)
{
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load(SITE, c, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load("tests/data/seed/facts-before.yaml", f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_plan_compute(*c, *f, p, &err), 0, "%s", err.msg);
}

/* The per-disk verdict is check's (engine/bootability.c): the firmware's
 * entries for the disk's ESP, then the removable-media fallback, then a BCD. */
static void rename_file(mb_part_fact *esp, const char *path)
{
        for (uint32_t i = 0; i < esp->n_files; i++)
                if (strcmp(esp->files[i].path, path) == 0)
                        esp->files[i].path[1] = 'X';    /* /XFI/...: gone */
}

Test(monitor, verdict_is_checks_boot_verdict)
{
        mb_config *c;
        mb_facts *f;
        mb_plan *p;
        mb_binding b;
        mb_firmware_fact *fw;
        mb_part_fact *esp;
        char why[1600];

        load(&c, &f, &p);
        b = p->binding;
        cr_assert(mb_monitor_disk_bootable(c, f, &b, 0, why, sizeof(why)), "%s", why);
        cr_assert_str_eq(why, "Boot0000 \"Windows Boot Manager\" \\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        cr_assert_not(mb_monitor_disk_bootable(c, f, &b, 1, why, sizeof(why)));
        cr_assert_str_eq(why, "no ESP");

        esp = mb_disk_part_by_role(mb_facts_disk(f, 0), MB_ROLE_EFI);
        rename_file(esp, "/EFI/Microsoft/Boot/bootmgfw.efi");
        cr_assert(mb_monitor_disk_bootable(c, f, &b, 0, why, sizeof(why)), "%s", why);
        cr_assert_str_eq(why, "the fallback \\EFI\\Boot\\bootx64.efi");

        fw = f->firmware;               /* a target without a firmware store: the fallback still */
        f->firmware = NULL;
        cr_assert(mb_monitor_disk_bootable(c, f, &b, 0, why, sizeof(why)), "%s", why);
        f->firmware = fw;

        rename_file(esp, "/EFI/Microsoft/Boot/BCD");
        cr_assert_not(mb_monitor_disk_bootable(c, f, &b, 0, why, sizeof(why)));
        cr_assert(strstr(why, "is not on disk 0's ESP"), "%s", why);
        cr_assert(strstr(why, "has no \\EFI\\Microsoft\\Boot\\BCD"), "%s", why);

        b.number[0] = -1;
        cr_assert_not(mb_monitor_disk_bootable(c, f, &b, 0, why, sizeof(why)));
        cr_assert_str_eq(why, "disk not found");
        mb_plan_free(p);
        mb_facts_free(f);
        mb_config_free(c);
}

Test(monitor, states_before_during_and_after_the_seed_apply, .init = copy_before, .fini = remove_snap)
{
        char *out;

        /* before: disk 1 blank -> CRITICAL, named */
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_NAGIOS, false, &out), 2);
        cr_assert(starts(out, "MBSTATE CRITICAL - secondary (disk 1) would not boot: no ESP; "
                              "os mirror plex on primary: absent; os mirror plex on secondary: absent | "
                              "'healthy_plexes'=0;;2:;0;2 "), "%s", out);
        cr_assert(strstr(out, "\nsecondary (disk 1): NOT bootable (no ESP)"), "%s", out);
        free(out);
        /* applied without waiting: the plex resyncs -> WARNING, resync perfdata below 100% */
        cr_assert_eq(run(MB_VERB_APPLY, SITE, 0, false, NULL), 3);
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_NAGIOS, false, &out), 1);
        cr_assert(starts(out, "MBSTATE WARNING - converging: "), "%s", out);
        cr_assert(strstr(out, "'healthy_plexes'=1;;2:;0;2 'resync'="), "%s", out);
        cr_assert_null(strstr(out, "'resync'=100%"), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_CHECKMK, false, &out), 0);
        cr_assert(starts(out, "1 mbstate healthy_plexes=1;;;0;2|"), "%s", out);
        free(out);
        /* converged */
        cr_assert_eq(run(MB_VERB_APPLY, SITE, 0, true, NULL), 0);
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_NAGIOS, false, &out), 0);
        cr_assert(starts(out, "MBSTATE OK - in desired state | 'healthy_plexes'=2;;2:;0;2 'resync'=100%;;;0;100 "
                              "'esps_in_sync'=2;2:;;0;2 'firmware_entries'=2;;;0; 'drift_items'=0;0;;0; 'time'="),
                  "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_PROMETHEUS, false, &out), 0);
        cr_assert(strstr(out, "\nmbstate_check_state 0\n"), "%s", out);
        cr_assert(strstr(out, "\nmbstate_disk_bootable{disk=\"secondary\",number=\"1\"} 1\n"), "%s", out);
        cr_assert(strstr(out, "\nmbstate_plex_healthy{mirror=\"os\",disk=\"secondary\"} 1\n"), "%s", out);
        cr_assert(strstr(out, "\nmbstate_mirror_resync_ratio{mirror=\"os\"} 1.00\n"), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, SITE, MB_MON_ZABBIX_DISCOVERY, false, &out), 0);
        cr_assert_str_eq(out, "[\n  {\"{#KIND}\": \"disk\", \"{#NAME}\": \"primary\", \"{#NUMBER}\": \"0\"},\n"
                              "  {\"{#KIND}\": \"disk\", \"{#NAME}\": \"secondary\", \"{#NUMBER}\": \"1\"},\n"
                              "  {\"{#KIND}\": \"mirror\", \"{#NAME}\": \"os\", \"{#DISKS}\": \"primary,secondary\"}\n]\n");
        free(out);
}

Test(monitor, unknown_when_the_check_cannot_evaluate, .init = copy_before, .fini = remove_snap)
{
        char *out;

        cr_assert_eq(run(MB_VERB_CHECK, "tests/data/no-such-site.yaml", MB_MON_NAGIOS, false, &out), 3);
        cr_assert(starts(out, "MBSTATE UNKNOWN - cannot evaluate: "), "%s", out);
        cr_assert(strstr(out, "no-such-site.yaml"), "%s", out);
        cr_assert(strstr(out, "| 'time'="), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, "tests/data/no-such-site.yaml", MB_MON_CHECKMK, false, &out), 0);
        cr_assert(starts(out, "3 mbstate time="), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, "tests/data/no-such-site.yaml", MB_MON_ZABBIX_DISCOVERY, false, &out), 1);
        free(out);
}

Test(monitor, event_of_each_state)
{
        mb_config *c;
        mb_facts *f;
        mb_plan *p;
        mb_error err = { .code = MB_EIO, .msg = "cannot open disk 1" };
        mb_mon_input in;

        load(&c, &f, &p);
        in = (mb_mon_input){ .config = c, .facts = f, .plan = p };
        cr_assert_eq(mb_monitor_state(&in), MB_MON_CRITICAL);
        cr_assert_eq(mb_monitor_check_event(&in), MB_EVENT_CHECK_NOT_BOOTABLE);
        in.err = &err;
        cr_assert_eq(mb_monitor_state(&in), MB_MON_UNKNOWN);
        cr_assert_eq(mb_monitor_check_event(&in), MB_EVENT_CHECK_FAILED);
        mb_plan_free(p);
        mb_facts_free(f);
        mb_config_free(c);
}

Test(monitor, format_names)
{
        static const struct { const char *name; int fmt; } t[] = {
                { "text", MB_MON_TEXT }, { "nagios", MB_MON_NAGIOS }, { "checkmk", MB_MON_CHECKMK },
                { "prometheus", MB_MON_PROMETHEUS }, { "zabbix-discovery", MB_MON_ZABBIX_DISCOVERY },
        };
        mb_mon_format f;

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                cr_assert_eq(mb_monitor_format_from_string(t[i].name, &f), 0, "%s", t[i].name);
                cr_assert_eq((int)f, t[i].fmt);
        }
        cr_assert_eq(mb_monitor_format_from_string("icinga", &f), -1);
        cr_assert_eq(mb_monitor_format_from_string("", &f), -1);
}
