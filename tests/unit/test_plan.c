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
        cr_assert(sync > clone_rec && loader > sync,
                  "clones, then each disk's own boot: the ESP copy before the stores are edited");
        {
                /* disk 1's own store: {bootmgr} on its ESP, its plex's loader default and first */
                int own_bm = -1, own_default = -1, own_first = -1;

                for (size_t i = 0; i < p->n_changes; i++) {
                        const mb_op *o = &p->changes[i].op;

                        if (!o->esp_store)
                                continue;
                        cr_assert_eq(o->store_disk, 1, "only disk 1's store is another ESP's");
                        if (o->kind == MB_OP_BCD_SET_DEVICE && o->role == MB_ROLE_EFI &&
                            strcmp(o->object, "{bootmgr}") == 0)
                                own_bm = (int)i;
                        if (o->kind == MB_OP_BCD_SET_DEFAULT && o->disk == 1 && o->role == MB_ROLE_OS)
                                own_default = (int)i;
                        if (o->kind == MB_OP_BCD_DISPLAYORDER && o->disk == 1 && o->position == MB_POS_FIRST)
                                own_first = (int)i;
                }
                cr_assert(own_bm > sync && own_default > own_bm && own_first > own_default,
                          "disk 1's store after the copy: bootmgr %d, default %d, first %d", own_bm,
                          own_default, own_first);
        }
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
        /* 13 up to the ESP copy, then disk_boot: the system store's loader of
         * the new plex and its place in the menu, and disk 1's own store
         * (boot manager, loader, default, first in the menu) */
        cr_assert(strncmp(out, "drift: 19 changes", 17) == 0, "%s", out);
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

/* ---- sector sizes: positions in the disk's own sectors, sizes in bytes ---- */

static void write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");

        cr_assert_not_null(fp);
        fputs(text, fp);
        fclose(fp);
}

/* Two online 32 GiB disks of these logical sector sizes: disk 0 an empty
 * GPT disk (its usable LBAs as a GPT of that sector size leaves them),
 * disk 1 blank. */
static const char *blank_pair(uint32_t ss0, uint32_t ss1, char *buf, size_t len)
{
        char text[1024];

        snprintf(buf, len, "%s/blank.yaml", tmpdir);
        snprintf(text, sizeof(text),
                 "version: 1\ntarget: windows\ndisks:\n"
                 "- {number: 0, size: 34359738368, sector_size: %u, online: true, system: true, style: gpt,"
                 " first_usable_lba: %u, last_usable_lba: %llu}\n"
                 "- {number: 1, size: 34359738368, sector_size: %u, online: true, system: false, style: raw}\n",
                 ss0, 2 + 16384 / ss0, 34359738368ULL / ss0 - 2 - 16384 / ss0, ss1);
        write_file(buf, text);
        return buf;
}

/* The replacement site's explicit layout on disks 0 and 1, with or without the os mirror. */
static const char *layout_site(bool mirror, char *buf, size_t len)
{
        snprintf(buf, len, "%s/site.yaml", tmpdir);
        write_file(buf,
                   "version: 1\ndisks:\n"
                   "  - { name: a, match: { number: 0 }, initialize: if-blank }\n"
                   "  - { name: b, match: { number: 1 }, initialize: if-blank }\n"
                   "partitions:\n  disks: [a, b]\n  layout:\n"
                   "    - { role: efi, size: 100MiB }\n    - { role: msr, size: 16MiB }\n"
                   "    - { role: os, size: fill }\n    - { role: recovery, size: 524MiB }\n");
        if (mirror) {
                FILE *fp = fopen(buf, "a");

                cr_assert_not_null(fp);
                fputs("mirrors:\n  - { role: os, disks: [a, b] }\n", fp);
                fclose(fp);
        }
        return buf;
}

/* Facts whose LBAs were counted in 512-byte sectors but that say 4096 (the
 * seed machine with sector_size: 4096) are refused, not reinterpreted: no
 * 800 MiB ESP, no recovery partition past the disk's end. */
Test(plan, sector_size_4096_with_512_byte_lbas_is_refused, .init = setup, .fini = teardown)
{
        char path[512], cmd[1200];
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f;
        mb_plan *p = NULL;
        mb_error err = { 0 };

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        snprintf(cmd, sizeof(cmd), "sed -i 's/sector_size: 512/sector_size: 4096/' '%s'", path);
        cr_assert_eq(system(cmd), 0);
        f = load_facts(path);
        cr_assert_eq(mb_facts_disk(f, 0)->sector_size, 4096);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "disk 0: partition") && strstr(err.msg, "past the disk's end") &&
                  strstr(err.msg, "of 4096 bytes"), "%s", err.msg);
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_ERROR);
        mb_facts_free(f);
        mb_config_free(c);
}

/* Disk 0 of blank_pair carrying the partitions want[] (as the source of a
 * layout must), in the facts file path. */
static void give_source(const char *path, uint32_t ss, const mb_part_want *want, int n)
{
        static const char *const fs[] = { [MB_ROLE_EFI] = "fat32", [MB_ROLE_MSR] = "none",
                                          [MB_ROLE_OS] = "ntfs", [MB_ROLE_RECOVERY] = "ntfs" };
        FILE *fp;

        fp = fopen(path, "w");
        cr_assert_not_null(fp);
        fprintf(fp, "version: 1\ntarget: windows\ndisks:\n"
                    "- number: 0\n  size: 34359738368\n  sector_size: %u\n  online: true\n  system: true\n"
                    "  style: gpt\n  disk_guid: 5f1e2d3c-4b5a-4697-8877-665544332211\n"
                    "  first_usable_lba: %u\n  last_usable_lba: %llu\n  partitions:\n",
                ss, 2 + 16384 / ss, 34359738368ULL / ss - 2 - 16384 / ss);
        /* the ESP holds what a disk boots from (the verdict of check looks) */
        static const char esp_files[] =
                ", files: [{path: /EFI/Boot/bootx64.efi, size: 1, sha256: "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}, "
                "{path: /EFI/Microsoft/Boot/BCD, size: 1, sha256: "
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}, "
                "{path: /EFI/Microsoft/Boot/bootmgfw.efi, size: 1, sha256: "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]";
        for (int i = 0; i < n; i++)
                fprintf(fp, "  - {number: %d, role: %s, type_guid: %s, unique_guid: 0b1d3f5a-7c9e-4b2d-8f1a-3c5e7a9b1d0%d,"
                            " first_lba: %llu, last_lba: %llu, attributes: %llu, fs: %s%s}\n",
                        i + 1, mb_role_to_string(want[i].role), want[i].type_guid, i + 1,
                        (unsigned long long)want[i].first_lba, (unsigned long long)want[i].last_lba,
                        (unsigned long long)want[i].attributes, fs[want[i].role],
                        want[i].role == MB_ROLE_EFI ? esp_files : "");
        fprintf(fp, "- {number: 1, size: 34359738368, sector_size: %u, online: true, system: false, style: raw}\n", ss);
        fclose(fp);
}

/* An explicit layout on 4096-byte-sector disks: sizes are bytes, LBAs the
 * disk's own, 1 MiB aligned (a 100 MiB ESP, not 800 MiB; the recovery
 * partition inside the disk); the simulated apply lays the same out on the
 * blank 4096-byte disk. */
/* The whole of a file (NUL-terminated), *n its length. */
static char *read_file(const char *path, size_t *n)
{
        FILE *fp = fopen(path, "rb");
        char *buf = NULL;
        long len;

        if (!fp)
                return NULL;
        if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, fp) == (size_t)len) {
                buf[len] = '\0';
                *n = (size_t)len;
        } else {
                free(buf);
                buf = NULL;
        }
        fclose(fp);
        return buf;
}

/* The layout site with an ESP of esp (e.g. "260MiB") and a's ESP cloned to
 * b (b boots on its own only with a copy of a's ESP: check's verdict). */
static const char *layout_site_esp(const char *esp, char *buf, size_t len)
{
        char *text, *at;
        size_t n;

        layout_site(false, buf, len);
        text = read_file(buf, &n);
        cr_assert_not_null(text);
        at = strstr(text, "size: 100MiB");
        cr_assert_not_null(at);
        {
                FILE *fp = fopen(buf, "w");

                cr_assert_not_null(fp);
                fprintf(fp, "%.*ssize: %s%s", (int)(at - text), text, esp, at + strlen("size: 100MiB"));
                fputs("clones:\n  - { role: efi, from: a, to: [b] }\n", fp);
                fclose(fp);
        }
        free(text);
        return buf;
}

/* On 4096-byte sectors an ESP of 100 MiB holds 25600 sectors, fewer than
 * FAT32's 65525 clusters: refused in plan, before any partition is made,
 * naming the disk and the minimum; the machine is left as it was. */
Test(plan, esp_too_small_for_fat32_on_4096_byte_sectors, .init = setup, .fini = teardown)
{
        char fpath[512], spath[512];
        mb_config *c = load_config(layout_site_esp("100MiB", spath, sizeof(spath)));
        mb_facts *f = load_facts(blank_pair(4096, 4096, fpath, sizeof(fpath)));
        mb_part_want want[8];
        mb_binding b;
        mb_plan *p = NULL;
        mb_error err = { 0 };
        char *before, *after, *out = NULL;
        size_t nb, na;
        int n;

        cr_assert_eq(mb_plan_bind(c, f, &b, &err), 0, "%s", err.msg);
        n = mb_plan_wanted_parts(c, f, &b, mb_facts_disk(f, 0), want, 8, &err);
        cr_assert_eq(n, 4, "%s", err.msg);
        mb_facts_free(f);
        give_source(fpath, 4096, want, n);
        f = load_facts(fpath);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ESTATE, "%s", err.msg);
        cr_assert_null(p);
        cr_assert_not_null(strstr(err.msg, "disk b"), "%s", err.msg);
        cr_assert_not_null(strstr(err.msg, "65525"), "%s", err.msg);
        cr_assert_not_null(strstr(err.msg, "260 MB"), "%s", err.msg);
        mb_facts_free(f);
        before = read_file(fpath, &nb);
        cr_assert_eq(run(MB_VERB_APPLY, spath, fpath, false, false, &out), MB_EXIT_ERROR, "%s", out);
        free(out);
        after = read_file(fpath, &na);
        cr_assert(nb == na && memcmp(before, after, nb) == 0, "the snapshot was written");
        free(before);
        free(after);
        mb_config_free(c);
}

Test(plan, layout_in_bytes_on_4096_byte_sectors, .init = setup, .fini = teardown)
{
        char fpath[512], spath[512];
        mb_config *c;

        layout_site_esp("260MiB", spath, sizeof(spath));
        c = load_config(spath);
        mb_facts *f = load_facts(blank_pair(4096, 4096, fpath, sizeof(fpath)));
        mb_part_want want[8];
        mb_binding b;
        mb_error err = { 0 };
        int n;

        cr_assert_eq(mb_plan_bind(c, f, &b, &err), 0, "%s", err.msg);
        n = mb_plan_wanted_parts(c, f, &b, mb_facts_disk(f, 0), want, 8, &err);
        cr_assert_eq(n, 4, "%s", err.msg);
        cr_assert_eq(want[0].role, MB_ROLE_EFI);
        cr_assert_eq(want[0].first_lba, 256, "1 MiB in 4096-byte sectors");
        cr_assert_eq((want[0].last_lba - want[0].first_lba + 1) * 4096, 260ULL << 20);
        cr_assert_eq((want[3].last_lba - want[3].first_lba + 1) * 4096, 524ULL << 20);
        cr_assert_lt(want[3].last_lba, 34359738368ULL / 4096 - 6, "recovery inside the disk");
        for (int i = 0; i < n; i++)
                cr_assert_eq(want[i].first_lba % 256, 0, "role %d 1 MiB aligned", want[i].role);
        mb_facts_free(f);
        give_source(fpath, 4096, want, n);
        {
                char *out = NULL;

                cr_assert_eq(run(MB_VERB_APPLY, spath, fpath, false, false, &out), MB_EXIT_OK, "%s", out);
                free(out);
                cr_assert_eq(run(MB_VERB_CHECK, spath, fpath, false, false, &out), MB_EXIT_OK, "%s", out);
                free(out);
        }
        f = load_facts(fpath);
        {
                const mb_disk_fact *d = mb_facts_disk(f, 1);
                const mb_part_fact *esp = mb_disk_part_by_role(d, MB_ROLE_EFI);
                const mb_part_fact *rec = mb_disk_part_by_role(d, MB_ROLE_RECOVERY);

                cr_assert_eq(d->first_usable_lba, 6, "GPT on 4096-byte sectors: 2 + 16 KiB of entries");
                cr_assert_not_null(esp);
                cr_assert_eq(esp->first_lba, 256);
                cr_assert_eq((esp->last_lba - esp->first_lba + 1) * 4096, 260ULL << 20);
                cr_assert_not_null(rec);
                cr_assert_eq(rec->last_lba, want[3].last_lba);
                cr_assert_leq(rec->last_lba, d->last_usable_lba);
        }
        mb_facts_free(f);
        mb_config_free(c);
}

/* 512e (512 logical, 4096 physical) is a 512-byte disk: 1 MiB = 2048 sectors. */
Test(plan, layout_on_512e_keeps_1mib_alignment, .init = setup, .fini = teardown)
{
        char fpath[512], spath[512];
        mb_config *c = load_config(layout_site(true, spath, sizeof(spath)));
        mb_facts *f = load_facts(blank_pair(512, 512, fpath, sizeof(fpath)));
        mb_part_want want[8];
        mb_binding b;
        mb_error err = { 0 };

        cr_assert_eq(mb_plan_bind(c, f, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_plan_wanted_parts(c, f, &b, mb_facts_disk(f, 0), want, 8, &err), 4);
        cr_assert_eq(want[0].first_lba, 2048);
        cr_assert_eq((want[0].last_lba - want[0].first_lba + 1) * 512, 100ULL << 20);
        for (int i = 0; i < 4; i++)
                cr_assert_eq(want[i].first_lba % 2048, 0);
        mb_facts_free(f);
        mb_config_free(c);
}

/* A mirror across disks of different logical sector sizes, and a mirror on
 * 4096-byte sectors (LDM), are refused in plan, before any write. */
Test(plan, mirror_sector_sizes_refused_before_any_write, .init = setup, .fini = teardown)
{
        char fpath[512], spath[512], cmd[1200];
        mb_config *c = load_config(layout_site(true, spath, sizeof(spath)));
        mb_facts *f = load_facts(blank_pair(512, 4096, fpath, sizeof(fpath)));
        mb_plan *p = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "os mirror: disk a (disk 0) has 512-byte logical sectors, disk b (disk 1) 4096-byte") &&
                  strstr(err.msg, "expected one logical sector size"), "%s", err.msg);
        mb_facts_free(f);
        mb_config_free(c);
        /* without the mirror, the layout alone still needs one sector size */
        c = load_config(layout_site(false, spath, sizeof(spath)));
        f = load_facts(fpath);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ESTATE);
        cr_assert(strstr(err.msg, "has 512-byte logical sectors") && strstr(err.msg, "4096-byte") &&
                  strstr(err.msg, "expected one logical sector size"), "%s", err.msg);
        mb_facts_free(f);
        mb_config_free(c);
        /* both 4096: the mirror is refused, naming why; nothing is written */
        c = load_config(layout_site(true, spath, sizeof(spath)));
        f = load_facts(blank_pair(4096, 4096, fpath, sizeof(fpath)));
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s.orig'", fpath, fpath);
        cr_assert_eq(system(cmd), 0);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), MB_ENOTSUP);
        cr_assert(strstr(err.msg, "512-byte sectors only"), "%s", err.msg);
        cr_assert_eq(run(MB_VERB_APPLY, spath, fpath, false, false, NULL), MB_EXIT_ERROR);
        snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.orig'", fpath, fpath);
        cr_assert_eq(system(cmd), 0, "the snapshot is unchanged");
        mb_facts_free(f);
        mb_config_free(c);
}

/* A damaged copy of a mirror disk's LDM metadata (a fact) is drift that
 * names disk, structure and sector; apply's ldm-repair (the snapshot model
 * clears it) converges. */
Test(plan, ldm_damage_is_drift_and_repaired, .init = setup, .fini = teardown)
{
        char path[512], cmd[1200], *out = NULL;
        mb_config *c = load_config("examples/seed/site.yaml");
        mb_facts *f;
        mb_plan *p = NULL;
        mb_error err = { 0 };
        int i;

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, true, NULL), MB_EXIT_OK);
        snprintf(cmd, sizeof(cmd),
                 "sed -i '/^  dynamic_name: Disk2$/a\\  ldm_damage:\\n  - {structure: TOCBLOCK, sector: 208893, detail: bad checksum}' '%s'",
                 path);
        cr_assert_eq(system(cmd), 0);
        f = load_facts(path);
        cr_assert_eq(mb_facts_disk(f, 1)->n_ldm_damage, 1, "the fixture edit took");
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        cr_assert_eq(p->n_changes, 1);
        i = index_of(p, MB_OP_LDM_REPAIR, 1, MB_ROLE_NONE);
        cr_assert_geq(i, 0);
        cr_assert_str_eq(p->changes[i].current, "TOCBLOCK copy at sector 208893: bad checksum");
        cr_assert(strstr(p->changes[i].subject, "disk 1"), "%s", p->changes[i].subject);
        mb_plan_free(p);
        mb_facts_free(f);
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, &out), MB_EXIT_DRIFT);
        cr_assert(strstr(out, "TOCBLOCK copy at sector 208893"), "%s", out);
        free(out);
        cr_assert_eq(run(MB_VERB_APPLY, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_OK);
        cr_assert_eq(run(MB_VERB_CHECK, "examples/seed/site.yaml", path, false, false, NULL), MB_EXIT_OK);
        f = load_facts(path);
        cr_assert_eq(mb_facts_disk(f, 1)->n_ldm_damage, 0);
        mb_facts_free(f);
        mb_config_free(c);
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
