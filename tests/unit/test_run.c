/* SPDX-License-Identifier: MIT */
/*
 * apply's per-resource outcomes (engine/report.c), folded CFEngine-style,
 * on the snapshot target of the seed machine with a fault injected into the
 * Nth operation (engine/fault.c): a resource whose changes were all applied
 * before the failure is "repaired", the one whose change failed and those
 * the failure left undone are "failed", one without changes "kept".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/lock_keys.h"
#include "target_list.h"
#include "platform/renderers.h"
#include "run.h"

/* Runs apply --json on a copy of the seed's facts with the op-th operation
 * failing; returns the JSON report (caller frees), *ret_code the exit code. */
static char *apply_failing_at(const char *op, int *ret_code)
{
        char facts[] = "/tmp/mbstate-test-run-XXXXXX", target[64], *json = NULL;
        FILE *in = fopen("tests/data/seed/facts-before.yaml", "rb"), *out = tmpfile();
        size_t len = 0, n;
        char buf[65536];
        int fd = mkstemp(facts);
        mb_run_options o = {
                .verb = MB_VERB_APPLY,
                .config_path = "examples/seed/site.yaml",
                .json = true,
                .commands = "target",
                .lock_timeout = 10,
        };

        cr_assert(in && out && fd >= 0);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                cr_assert_eq(write(fd, buf, n), (ssize_t)n);
        fclose(in);
        close(fd);
        snprintf(target, sizeof(target), "snapshot:%s", facts);
        o.target = target;
        o.out = out;
        cr_assert_eq(setenv("MBSTATE_FAULT_AT", op, 1), 0);
        *ret_code = mb_run(&o);
        unsetenv("MBSTATE_FAULT_AT");
        len = (size_t)ftell(out);
        rewind(out);
        json = calloc(1, len + 1);
        cr_assert_not_null(json);
        cr_assert_eq(fread(json, 1, len, out), len);
        fclose(out);
        unlink(facts);
        return json;
}

static void expect_state(const char *json, const char *resource, const char *subject, const char *state,
                         int changes)
{
        char row[512];

        snprintf(row, sizeof(row), "{\"resource\": \"%s\", \"subject\": \"%s\", \"state\": \"%s\", \"changes\": %d}",
                 resource, subject, state, changes);
        cr_assert(strstr(json, row), "expected %s in:\n%s", row, json);
}

/* The third operation (creating the secondary's ESP) fails: the disk's two
 * changes (online, GPT) were applied before it. */
Test(run, applied_before_a_later_failure_is_repaired)
{
        int code;
        char *json = apply_failing_at("3", &code);

        cr_assert_eq(code, MB_EXIT_ERROR);
        cr_assert(strstr(json, "injected fault #3 at operation partition-create on disk 1"), "%s", json);
        expect_state(json, "disk", "primary (disk 0)", "kept", 0);
        expect_state(json, "disk", "secondary (disk 1)", "repaired", 2);
        expect_state(json, "partition", "secondary (disk 1) efi", "failed", 2);
        /* never reached: left undone by the failure */
        expect_state(json, "partition", "secondary (disk 1) msr", "failed", 1);
        expect_state(json, "mirror", "os mirror plex on secondary (disk 1)", "failed", 1);
        free(json);
}

/* The first operation fails: the resource with the failed change is failed. */
Test(run, the_failed_change_is_failed)
{
        int code;
        char *json = apply_failing_at("1", &code);

        cr_assert_eq(code, MB_EXIT_ERROR);
        expect_state(json, "disk", "secondary (disk 1)", "failed", 2);
        expect_state(json, "disk", "primary (disk 0)", "kept", 0);
        free(json);
}

/* The fourth (formatting the ESP) fails: the ESP's partition-create was
 * applied, its format was not, so the partition is failed, the disk repaired. */
Test(run, a_resource_with_one_of_two_changes_applied_is_failed)
{
        int code;
        char *json = apply_failing_at("4", &code);

        cr_assert_eq(code, MB_EXIT_ERROR);
        cr_assert(strstr(json, "injected fault #4 at operation format on disk 1"), "%s", json);
        expect_state(json, "disk", "secondary (disk 1)", "repaired", 2);
        expect_state(json, "partition", "secondary (disk 1) efi", "failed", 2);
        free(json);
}

/* plan --commands NAME finds its renderer in the registry; an unknown NAME
 * finds none, and the error names the known ones. */
Test(run, renderers_by_name)
{
        char names[128], *text = NULL;
        mb_op op = { .kind = MB_OP_DISK_ONLINE, .disk = 7 };
        mb_facts facts = { 0 };
        mb_error err = { 0 };

        cr_assert_not_null(mb_renderer_find("windows"));
        cr_assert_not_null(mb_renderer_find("target"));
        cr_assert_null(mb_renderer_find("linux"));
        cr_assert_null(mb_renderer_find(NULL));
        cr_assert_str_eq(mb_renderer_names(names, sizeof(names)), "'windows' or 'target'");
        cr_assert_eq(mb_renderer_find("target")->render(&facts, &op, &text, &err), 0, "%s", err.msg);
        cr_assert_str_eq(text, "disk-online disk 7");
        free(text);
}

/* Lock keys come from the target's lock_keys: an image spelling gives one
 * identity per file, the same for the same file however it is spelled; a
 * target without the operation gives none (its spelling is locked). */
Test(run, lock_keys_of_an_image_spelling)
{
        char a[] = "/tmp/mbstate-test-lock-XXXXXX", spell[256], other[300], **ids = NULL, **ids2 = NULL;
        size_t n = 0, n2 = 0;
        mb_error err = { 0 };
        int fd = mkstemp(a);

        cr_assert(fd >= 0);
        close(fd);
        snprintf(spell, sizeof(spell), "image:%s,nvram=/tmp/mbstate-test-lock-absent", a);
        cr_assert_eq(mb_platform_lock_keys(spell, 16, &ids, &n, &err), 0, "%s", err.msg);
        cr_assert_eq(n, 2);
        cr_assert_str_eq(ids[1], "/tmp/mbstate-test-lock-absent"); /* not there: its name */
        /* the same file through another path: the same identity */
        snprintf(other, sizeof(other), "image:/tmp/./%s", a + 5);
        cr_assert_eq(mb_platform_lock_keys(other, 16, &ids2, &n2, &err), 0, "%s", err.msg);
        cr_assert_eq(n2, 1);
        cr_assert_str_eq(ids2[0], ids[0]);
        cr_assert(strchr(ids[0], ':'), "device:inode, not %s", ids[0]);
        mb_lock_keys_free(ids2, n2);
        /* a sector size on the item names the same file */
        snprintf(other, sizeof(other), "image:%s:4096", a);
        cr_assert_eq(mb_platform_lock_keys(other, 16, &ids2, &n2, &err), 0, "%s", err.msg);
        cr_assert_eq(n2, 1);
        cr_assert_str_eq(ids2[0], ids[0]);
        mb_lock_keys_free(ids2, n2);
        /* more files than locks */
        cr_assert_eq(mb_platform_lock_keys(spell, 1, &ids2, &n2, &err), MB_EINVAL);
        cr_assert(strstr(err.msg, "more than 1 image files"), "%s", err.msg);
        /* a target without lock_keys */
        cr_assert_eq(mb_platform_lock_keys("snapshot:/tmp/x.yaml", 16, &ids2, &n2, &err), 0);
        cr_assert_eq(n2, 0);
        mb_lock_keys_free(ids, n);
        unlink(a);
}

/* An image item's sector size: only a trailing ":512" or ":4096" is one,
 * cut from the item; anything else is part of the file name. */
Test(run, image_item_sector_size)
{
        static const struct {
                const char *item, *path;
                unsigned size;
        } cases[] = {
                { "a.img:4096", "a.img", 4096 },
                { "a.img:512", "a.img", 512 },
                { "a.img", "a.img", 0 },
                { "a:b.img", "a:b.img", 0 },
                { "disk:1024", "disk:1024", 0 },
                { "x:512:512", "x:512", 512 },
                { ":4096", ":4096", 0 },        /* no name left: a name */
                { "d:40960", "d:40960", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];

                snprintf(buf, sizeof(buf), "%s", cases[i].item);
                cr_assert_eq(mb_target_item_sector(buf), cases[i].size, "%s", cases[i].item);
                cr_assert_str_eq(buf, cases[i].path, "%s", cases[i].item);
        }
}
