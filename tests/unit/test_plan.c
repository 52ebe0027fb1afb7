/* SPDX-License-Identifier: MIT */
/* The planner and apply loop on the seed machine, through the snapshot target. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "plan.h"
#include "run.h"

static char tmpdir[256];

static void setup(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/mbstate-test-plan-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        cr_assert_eq(system(cmd), 0);
}

/* Copies a fixture to the temp dir and returns the path. */
static const char *fixture(const char *src, char *buf, size_t len)
{
        char cmd[1024];

        snprintf(buf, len, "%s/facts.yaml", tmpdir);
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, buf);
        cr_assert_eq(system(cmd), 0);
        return buf;
}

static mb_config *load_config(const char *path)
{
        mb_config *c = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load(path, &c, &err), 0, "%s: %s", path, err.msg);
        return c;
}

static mb_facts *load_facts(const char *path)
{
        mb_facts *f = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_facts_load(path, &f, &err), 0, "%s: %s", path, err.msg);
        return f;
}

static int run(mb_verb verb, const char *config, const char *facts_path, bool json, bool wait,
               char **ret_out)
{
        char target[600], *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        mb_run_options o = { .verb = verb, .config_path = config, .target = target,
                             .json = json, .commands = "target", .wait = wait, .out = out,
                             .lock_timeout = 60 };
        int code;

        snprintf(target, sizeof(target), "snapshot:%s", facts_path);
        code = mb_run(&o);
        fclose(out);
        if (ret_out)
                *ret_out = buf;
        else
                free(buf);
        return code;
}

static int index_of(const mb_plan *p, mb_op_kind kind, uint32_t disk, mb_role role)
{
        for (size_t i = 0; i < p->n_changes; i++)
                if (p->changes[i].op.kind == kind && p->changes[i].op.disk == disk &&
                    (role == MB_ROLE_NONE || p->changes[i].op.role == role))
                        return (int)i;
        return -1;
}

TestSuite(plan, .init = setup, .fini = teardown);

Test(plan, seed_plan_has_every_step_in_a_valid_order)
{
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f = load_facts("tests/data/seed/facts-before.yaml");
        mb_plan *p = NULL;
        mb_error err = { 0 };
        int online, gpt, efi, msr, rec, fmt, dyn0, dyn1, mirror, bootmgr, fw, loader, clone_rec, sync;

        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        online = index_of(p, MB_OP_DISK_ONLINE, 1, MB_ROLE_NONE);
        gpt = index_of(p, MB_OP_DISK_INIT_GPT, 1, MB_ROLE_NONE);
        efi = index_of(p, MB_OP_PART_CREATE, 1, MB_ROLE_EFI);
        msr = index_of(p, MB_OP_PART_CREATE, 1, MB_ROLE_MSR);
        rec = index_of(p, MB_OP_PART_CREATE, 1, MB_ROLE_RECOVERY);
        fmt = index_of(p, MB_OP_FORMAT, 1, MB_ROLE_EFI);
        dyn0 = index_of(p, MB_OP_CONVERT_DYNAMIC, 0, MB_ROLE_NONE);
        dyn1 = index_of(p, MB_OP_CONVERT_DYNAMIC, 1, MB_ROLE_NONE);
        mirror = index_of(p, MB_OP_MIRROR_ADD, 1, MB_ROLE_OS);
        bootmgr = index_of(p, MB_OP_BCD_COPY_BOOTMGR, 1, MB_ROLE_EFI);
        fw = index_of(p, MB_OP_FW_ENTRY, 1, MB_ROLE_EFI);
        loader = index_of(p, MB_OP_BCD_CREATE_LOADER, 1, MB_ROLE_OS);
        clone_rec = index_of(p, MB_OP_CLONE_BLOCKS, 1, MB_ROLE_RECOVERY);
        sync = index_of(p, MB_OP_SYNC_FILES, 1, MB_ROLE_EFI);
        cr_assert(online >= 0 && gpt > online, "online %d, gpt %d", online, gpt);
        cr_assert(efi > gpt && msr > efi && rec > msr && fmt > efi, "partitions after gpt");
        cr_assert(index_of(p, MB_OP_PART_CREATE, 1, MB_ROLE_OS) < 0, "os space is the mirror's");
        cr_assert(dyn0 > rec && dyn1 > dyn0, "dynamic after partitions");
        cr_assert(mirror > dyn1, "mirror after dynamic");
        cr_assert(bootmgr > mirror && fw > bootmgr && loader > mirror, "boot entries after mirror");
        cr_assert(clone_rec > loader && sync > clone_rec, "clones last, ESP copy after BCD edits");
        cr_assert(p->changes[gpt].destructive);
        cr_assert_eq(p->changes[rec].op.attributes, 0x8000000000000001ULL,
                     "recovery attributes copied from the template (the seed got this wrong)");
        cr_assert_eq(p->changes[mirror].op.first_lba, 122683392 / 512);
        cr_assert_eq((p->changes[mirror].op.last_lba - p->changes[mirror].op.first_lba + 1) * 512,
                     33685504000ULL);
        for (size_t i = 0; i < p->n_changes; i++)
                cr_assert(p->changes[i].op.disk == 1 || p->changes[i].op.kind == MB_OP_CONVERT_DYNAMIC,
                          "change %zu (%s) writes the primary", i, mb_op_kind_to_string(p->changes[i].op.kind));
        mb_plan_free(p);
        mb_facts_free(f);
        mb_config_free(c);
}

Test(plan, seed_apply_converges_and_second_apply_changes_nothing)
{
        char path[512], *out = NULL;
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f;
        mb_plan *p = NULL;
        mb_error err = { 0 };
        mb_disk_fact *d0, *d1;
        mb_part_fact *r0, *r1, *os1;

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, false, NULL),
                     MB_EXIT_CONVERGING, "the new plex is resyncing");
        f = load_facts(path);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        cr_assert_eq(p->n_changes, 0, "plan after apply is empty (first: %s)",
                     p->n_changes ? p->changes[0].subject : "");
        cr_assert(p->health.resyncing);
        d0 = mb_facts_disk(f, 0);
        d1 = mb_facts_disk(f, 1);
        r0 = mb_disk_part_by_role(d0, MB_ROLE_RECOVERY);
        r1 = mb_disk_part_by_role(d1, MB_ROLE_RECOVERY);
        cr_assert_eq(r0->attributes, 0x8000000000000001ULL);
        cr_assert_eq(r1->attributes, 0x8000000000000001ULL);
        cr_assert_str_eq(r1->content_sha256, r0->content_sha256);
        os1 = mb_disk_part_by_role(d1, MB_ROLE_OS);
        cr_assert_not_null(os1);
        cr_assert_eq(os1->first_lba * 512, 122683392ULL);
        cr_assert_eq((os1->last_lba - os1->first_lba + 1) * 512, 33685504000ULL);
        cr_assert(d0->dynamic && d1->dynamic);
        cr_assert_str_eq(d0->dynamic_group, d1->dynamic_group);
        cr_assert_not_null(mb_facts_bcd_by_description(f, "boot-manager", "Windows Boot Manager Cloned"));
        cr_assert_not_null(mb_facts_bcd_by_description(f, "os-loader", "Windows Server - secondary plex"));
        cr_assert_eq(f->firmware->n_order, 2);
        mb_plan_free(p);
        mb_facts_free(f);

        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, true, false, &out), MB_EXIT_CONVERGING);
        cr_assert(strstr(out, "\"changed\": false"), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_CONVERGING);
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, true, NULL), MB_EXIT_OK,
                     "--wait completes the resync");
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_OK);
        mb_config_free(c);
}

Test(plan, check_and_plan_report_drift_with_exit_2)
{
        char path[512], *out = NULL;

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, &out), MB_EXIT_DRIFT);
        cr_assert(strncmp(out, "drift: 14 changes", 17) == 0, "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_PLAN, "examples/seed/site.yaml", path, true, false, &out), MB_EXIT_DRIFT);
        cr_assert(strstr(out, "\"in_desired_state\": false"));
        free(out);
}

Test(plan, replacement_of_failed_secondary_rebuilds_only_the_new_disk)
{
        char path[512];
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f;
        mb_plan *p = NULL;
        mb_error err = { 0 };

        fixture("tests/data/seed/facts-secondary-replaced.yaml", path, sizeof(path));
        f = load_facts(path);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        cr_assert_geq(index_of(p, MB_OP_MIRROR_REMOVE_MISSING, 1, MB_ROLE_OS), 0);
        cr_assert_geq(index_of(p, MB_OP_PART_CREATE, 1, MB_ROLE_EFI), 0);
        cr_assert_geq(index_of(p, MB_OP_MIRROR_ADD, 1, MB_ROLE_OS), 0);
        cr_assert_geq(index_of(p, MB_OP_BCD_SET_DEVICE, 1, MB_ROLE_EFI), 0, "cloned entry points at the new ESP");
        cr_assert_geq(index_of(p, MB_OP_CLONE_BLOCKS, 1, MB_ROLE_RECOVERY), 0);
        cr_assert_geq(index_of(p, MB_OP_SYNC_FILES, 1, MB_ROLE_EFI), 0);
        for (size_t i = 0; i < p->n_changes; i++)
                cr_assert_eq(p->changes[i].op.disk, 1, "change %zu (%s) on disk %u", i,
                             mb_op_kind_to_string(p->changes[i].op.kind), p->changes[i].op.disk);
        mb_plan_free(p);
        mb_facts_free(f);
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, true, NULL), MB_EXIT_OK);
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_OK);
        mb_config_free(c);
}

Test(plan, secondary_with_a_partition_is_refused_and_nothing_written)
{
        char path[512], cmd[1200], *out = NULL;
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f = load_facts("tests/data/seed/facts-secondary-used.yaml");
        mb_plan *p = NULL;
        mb_error err = { 0 };

        cr_assert_lt(mb_plan_compute(c, f, &p, &err), 0);
        cr_assert(strstr(err.msg, "partition 1"), "%s", err.msg);
        cr_assert(strstr(err.msg, "never"), "%s", err.msg);
        fixture("tests/data/seed/facts-secondary-used.yaml", path, sizeof(path));
        cr_assert_eq(run(MB_VERB_PLAN, "examples/seed/site.yaml", path, false, false, &out), MB_EXIT_ERROR);
        free(out);
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_ERROR);
        snprintf(cmd, sizeof(cmd), "cmp -s '%s' tests/data/seed/facts-secondary-used.yaml", path);
        cr_assert_eq(system(cmd), 0, "the snapshot was not written");
        mb_facts_free(f);
        mb_config_free(c);
}

Test(plan, undeclared_disk_never_appears)
{
        char path[512];
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f, *g;
        mb_plan *p = NULL;
        mb_error err = { 0 };
        mb_disk_fact *d2;

        f = load_facts("tests/data/seed/facts-third-disk.yaml");
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        for (size_t i = 0; i < p->n_changes; i++) {
                cr_assert_neq(p->changes[i].op.disk, 2);
                cr_assert_neq(p->changes[i].op.disk2, 2);
        }
        mb_plan_free(p);
        fixture("tests/data/seed/facts-third-disk.yaml", path, sizeof(path));
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_CONVERGING);
        g = load_facts(path);
        d2 = mb_facts_disk(g, 2);
        cr_assert_not_null(d2);
        cr_assert(!d2->online && d2->style == MB_STYLE_RAW && d2->n_partitions == 0,
                  "the third disk is untouched");
        mb_facts_free(g);
        mb_facts_free(f);
        mb_config_free(c);
}

Test(plan, replacement_site_with_blank_selector_and_layout)
{
        char path[512];

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        /* disk 1 is offline and raw: the blank selector finds it */
        cr_assert_eq(run(MB_VERB_APPLY, "examples/replacement/site.yaml", path, false, true, NULL), MB_EXIT_OK);
        cr_assert_eq(run(MB_VERB_CHECK, "examples/replacement/site.yaml", path, false, false, NULL), MB_EXIT_OK,
                     "a converged secondary still matches blank: true");
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_OK,
                     "both forms describe the same machine");
}

/* The facts of fixture src without its last disk (the one that failed and
 * was taken out, not yet replaced). */
static mb_facts *without_last_disk(const char *src, uint32_t number)
{
        mb_facts *f = load_facts(src);

        cr_assert_gt(f->n_disks, 1);
        cr_assert_eq(f->disks[f->n_disks - 1].number, number);
        f->n_disks--;   /* free_without() counts it back in to free it */
        return f;
}

static void free_without(mb_facts *f)
{
        f->n_disks++;
        mb_facts_free(f);
}

Test(plan, absent_secondary_with_a_missing_plex_is_degraded_not_an_error)
{
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f = without_last_disk("tests/data/seed/facts-secondary-replaced.yaml", 1);
        mb_plan *p = NULL;
        mb_error err = { 0 };
        const mb_plex_health *sec = NULL;

        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        cr_assert_eq(p->binding.number[0], 0);
        cr_assert_eq(p->binding.number[1], -1, "secondary left unbound");
        cr_assert(p->health.degraded);
        cr_assert(strstr(p->health.degraded_what, "os mirror has no plex on secondary (missing: LDM disk Disk2 "),
                  "%s", p->health.degraded_what);
        cr_assert(strstr(p->health.degraded_what, "; primary boots alone: "), "%s", p->health.degraded_what);
        cr_assert_eq(p->health.n_plexes, 2);
        for (uint32_t i = 0; i < p->health.n_plexes; i++)
                if (p->health.plexes[i].disk == 1)
                        sec = &p->health.plexes[i];
        cr_assert_not_null(sec);
        cr_assert_eq(sec->number, -1);
        cr_assert_eq(sec->state, MB_PLEX_MISSING);
        cr_assert_str_eq(sec->ldm_disk, "Disk2");
        /* nothing the plan does touches a disk other than the survivor, and
         * nothing on the survivor destroys data */
        for (size_t i = 0; i < p->n_changes; i++) {
                cr_assert_eq(p->changes[i].op.disk, 0, "change %zu on disk %u", i, p->changes[i].op.disk);
                cr_assert(!p->changes[i].destructive, "change %zu (%s) is destructive", i,
                          mb_op_kind_to_string(p->changes[i].op.kind));
                cr_assert_neq(p->changes[i].op.kind, MB_OP_MIRROR_REMOVE_MISSING,
                              "the missing plex is kept until a disk replaces it");
        }
        mb_plan_free(p);
        free_without(f);
        mb_config_free(c);
}

Test(plan, absent_disk_without_a_missing_plex_is_still_an_error)
{
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f = without_last_disk("tests/data/seed/facts-before.yaml", 1);
        mb_plan *p = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "disk 'secondary': no disk matches { number: 1 }"), "%s", err.msg);
        free_without(f);
        mb_config_free(c);
}
