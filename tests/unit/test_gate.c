/* SPDX-License-Identifier: MIT */
/*
 * The gate (engine/platform/gate.c) on the snapshot target, and the identity
 * the plan records: every destructive op the seed plan has carries its
 * disk's serial and size; executed on a machine where another disk has
 * taken that number, each is refused before the model changes, and the
 * snapshot file stays byte for byte as it was. The windows target's gate
 * tests are in test_windows.c (through the call table), the image target's
 * in tests/e2e/image-gate.sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "plan.h"
#include "platform/platform.h"

static char tmpdir[64];

static void setup(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/mbstate-test-gate-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        cr_assert_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *buf;
        long n;

        cr_assert_not_null(f, "%s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t)n + 1);
        cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *ret_len = (size_t)n;
        return buf;
}

/* A copy of a facts fixture in the temp dir, as the snapshot target's file. */
static void fixture(const char *src, char *buf, size_t len)
{
        char cmd[1024];

        snprintf(buf, len, "%s/facts.yaml", tmpdir);
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, buf);
        cr_assert_eq(system(cmd), 0);
}

/* The seed plan, made from the facts before the seed (disk 1 blank). */
static mb_plan *seed_plan(void)
{
        mb_config *c = NULL;
        mb_facts *f = NULL;
        mb_plan *p = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load("examples/seed/site.yaml", &c, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load("tests/data/seed/facts-before.yaml", &f, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_plan_compute(c, f, &p, &err), 0, "%s", err.msg);
        mb_facts_free(f);
        mb_config_free(c);
        return p;
}

static const mb_op *planned(const mb_plan *p, mb_op_kind kind)
{
        for (size_t i = 0; i < p->n_changes; i++)
                if (p->changes[i].op.kind == kind && p->changes[i].op.disk == 1)
                        return &p->changes[i].op;
        cr_assert_fail("the seed plan has no %s on disk 1", mb_op_kind_to_string(kind));
        return NULL;
}

static const mb_op_kind destructive[] = { MB_OP_DISK_INIT_GPT, MB_OP_FORMAT, MB_OP_CLONE_BLOCKS,
                                          MB_OP_SYNC_FILES };

Test(gate, plan_records_identity_of_every_destructive_op)
{
        mb_plan *p = seed_plan();
        size_t n = 0;

        for (size_t i = 0; i < p->n_changes; i++) {
                const mb_op *op = &p->changes[i].op;

                if (!mb_op_is_destructive(op))
                        continue;
                n++;
                cr_assert_str_eq(op->expect_serial, "6000c29f7d1e3b5a9c0e2f4a6b8d0c1e", "%s",
                                 mb_op_kind_to_string(op->kind));
                cr_assert_eq(op->expect_size, 34359738368ULL, "%s", mb_op_kind_to_string(op->kind));
        }
        for (size_t k = 0; k < sizeof(destructive) / sizeof(destructive[0]); k++)
                cr_assert_not_null(planned(p, destructive[k]));
        cr_assert_geq(n, 4);
        mb_plan_free(p);
}

/* The snapshot target on path, facts read through the gate, disks 0 and 1 allowed. */
static mb_platform *open_snapshot(const char *path)
{
        mb_platform *pl = NULL;
        mb_facts *f = NULL;
        mb_error err = { 0 };
        char spec[600];

        snprintf(spec, sizeof(spec), "snapshot:%s", path);
        cr_assert_eq(mb_platform_open(spec, &pl, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_platform_read_facts(pl, &f, &err), 0, "%s", err.msg);
        mb_facts_free(f);
        return pl;
}

Test(gate, snapshot_refuses_every_destructive_op_on_a_swapped_disk, .init = setup, .fini = teardown)
{
        mb_plan *p = seed_plan();
        char path[512];

        /* the same machine after disk 1 was replaced by another disk */
        fixture("tests/data/seed/facts-secondary-replaced.yaml", path, sizeof(path));
        for (size_t k = 0; k < sizeof(destructive) / sizeof(destructive[0]); k++) {
                mb_platform *pl = open_snapshot(path);
                mb_error err = { 0 };
                size_t n0, n1;
                char *before = slurp(path, &n0), *after;

                cr_assert_eq(mb_platform_allow_write(pl, 0, &err), 0, "%s", err.msg);
                cr_assert_eq(mb_platform_allow_write(pl, 1, &err), 0, "%s", err.msg);
                cr_assert_eq(mb_platform_execute(pl, planned(p, destructive[k]), NULL, &err), MB_EUNSAFE,
                             "%s: %s", mb_op_kind_to_string(destructive[k]), err.msg);
                cr_assert(strstr(err.msg, "target snapshot, disk 1"), "%s", err.msg);
                cr_assert(strstr(err.msg, "serial is now \"6000c2951b7e0d4c3a2f1e0d9c8b7a65\", the plan expected 6000c29f7d1e3b5a9c0e2f4a6b8d0c1e"),
                          "%s", err.msg);
                cr_log_info("snapshot gate: %s", err.msg);
                cr_assert_eq(mb_platform_finish(pl, &err), 0, "%s", err.msg);
                mb_platform_close(pl);
                after = slurp(path, &n1);
                cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "the snapshot file changed");
                free(before);
                free(after);
        }
        mb_plan_free(p);
}

Test(gate, snapshot_applies_the_planned_op_on_the_planned_disk, .init = setup, .fini = teardown)
{
        mb_plan *p = seed_plan();
        mb_platform *pl;
        mb_error err = { 0 };
        char path[512];

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        pl = open_snapshot(path);
        cr_assert_eq(mb_platform_allow_write(pl, 1, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_platform_execute(pl, planned(p, MB_OP_DISK_ONLINE), NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_platform_execute(pl, planned(p, MB_OP_DISK_INIT_GPT), NULL, &err), 0, "%s", err.msg);
        mb_platform_close(pl);
        mb_plan_free(p);
}

Test(gate, snapshot_refuses_a_destructive_op_without_identity, .init = setup, .fini = teardown)
{
        mb_plan *p = seed_plan();
        mb_platform *pl;
        mb_op op;
        mb_error err = { 0 };
        char path[512];

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        pl = open_snapshot(path);
        cr_assert_eq(mb_platform_allow_write(pl, 1, &err), 0, "%s", err.msg);
        op = *planned(p, MB_OP_FORMAT);
        op.expect_serial[0] = '\0';
        op.expect_size = 0;
        cr_assert_eq(mb_platform_execute(pl, &op, NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "target snapshot, disk 1: refusing format: the plan recorded no identity"),
                  "%s", err.msg);
        cr_log_info("snapshot gate: %s", err.msg);
        mb_platform_close(pl);
        mb_plan_free(p);
}

Test(gate, snapshot_refuses_a_disk_not_allowed, .init = setup, .fini = teardown)
{
        mb_plan *p = seed_plan();
        mb_platform *pl;
        mb_error err = { 0 };
        char path[512];

        fixture("tests/data/seed/facts-before.yaml", path, sizeof(path));
        pl = open_snapshot(path);
        cr_assert_eq(mb_platform_allow_write(pl, 0, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_platform_execute(pl, planned(p, MB_OP_DISK_ONLINE), NULL, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "target snapshot: refusing disk-online: disk 1 is not selected for writing by the configuration"),
                  "%s", err.msg);
        cr_log_info("snapshot gate: %s", err.msg);
        mb_platform_close(pl);
        mb_plan_free(p);
}

/* A target whose table has no slot for an op: the gate says which. */
static int fake_handler(mb_platform *p, const mb_op *op, mb_progress *pr, mb_error *err)
{
        (void)p, (void)op, (void)pr, (void)err;
        return 0;
}

static const mb_op_handler fake_handlers[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = fake_handler,
};

Test(gate, empty_handler_slot_is_enotsup_naming_target_and_op)
{
        static const mb_platform_ops ops = { .name = "fake", .handlers = fake_handlers };
        mb_platform pl = { .ops = &ops, .allowed = 1 };
        mb_op op = { .kind = MB_OP_FW_DELETE };
        mb_error err = { 0 };

        cr_assert_eq(mb_platform_execute(&pl, &op, NULL, &err), MB_ENOTSUP);
        cr_assert_str_eq(err.msg, "target fake cannot perform firmware-delete");
        op.kind = MB_OP_DISK_ONLINE;
        cr_assert_eq(mb_platform_execute(&pl, &op, NULL, &err), 0, "%s", err.msg);
}
