/* SPDX-License-Identifier: MIT */
/* Facts documents: what `mbstate facts` prints loads back into the same model. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts.h"

static mb_facts *load(const char *path)
{
        mb_facts *f = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_facts_load(path, &f, &err), 0, "%s: %s", path, err.msg);
        return f;
}

Test(facts, seed_fixture_is_the_seed_machine)
{
        mb_facts *f = load("tests/data/seed/facts-before.yaml");
        mb_disk_fact *d0 = mb_facts_disk(f, 0), *d1 = mb_facts_disk(f, 1);
        mb_part_fact *p;

        cr_assert_eq(f->n_disks, 2);
        cr_assert(d0->system && d0->style == MB_STYLE_GPT && d0->n_partitions == 4);
        cr_assert_eq(d0->size, 32ULL << 30);
        p = mb_disk_part_by_role(d0, MB_ROLE_EFI);
        cr_assert_eq(p->first_lba * 512, 1024 * 1024);
        cr_assert_eq((p->last_lba - p->first_lba + 1) * 512, 100ULL << 20);
        p = mb_disk_part_by_role(d0, MB_ROLE_MSR);
        cr_assert_eq((p->last_lba - p->first_lba + 1) * 512, 16ULL << 20);
        p = mb_disk_part_by_role(d0, MB_ROLE_OS);
        cr_assert_eq(p->first_lba * 512, 122683392ULL);
        cr_assert_eq((p->last_lba + 1) * 512, 33808187392ULL);
        p = mb_disk_part_by_role(d0, MB_ROLE_RECOVERY);
        cr_assert_eq(p->first_lba * 512, 33808187392ULL);
        cr_assert_eq((p->last_lba - p->first_lba + 1) * 512, 524ULL << 20);
        cr_assert_str_eq(p->type_guid, "de94bba4-06d1-4d40-a16a-bfd50179d6ac");
        cr_assert_eq(p->attributes, 0x8000000000000001ULL);
        cr_assert(!d1->online && d1->style == MB_STYLE_RAW && d1->n_partitions == 0);
        cr_assert_eq(d1->size, d0->size);
        cr_assert_not_null(mb_facts_bcd_object(f, "{bootmgr}"));
        cr_assert_str_eq(mb_facts_bcd_object(f, "{063973c0-d0ac-11ed-b884-cfa59b967f58}")->description,
                         "Windows Server");
        cr_assert_not_null(mb_facts_bcd_object(f, "{063973bf-d0ac-11ed-b884-cfa59b967f58}"));
        cr_assert_not_null(mb_facts_bcd_object(f, "{063973c1-d0ac-11ed-b884-cfa59b967f58}"));
        mb_facts_free(f);
}

static void round_trip(const char *path, bool json)
{
        mb_facts *f = load(path), *g = NULL;
        char *a = NULL, *b = NULL, tmp[] = "/tmp/mbstate-facts-XXXXXX";
        mb_error err = { 0 };
        int fd = mkstemp(tmp);

        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(mb_facts_save(f, tmp, json, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load(tmp, &g, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_to_string(f, false, &a, &err), 0);
        cr_assert_eq(mb_facts_to_string(g, false, &b, &err), 0);
        cr_assert_str_eq(a, b, "%s via %s differs", path, json ? "JSON" : "YAML");
        unlink(tmp);
        free(a);
        free(b);
        mb_facts_free(f);
        mb_facts_free(g);
}

Test(facts, round_trip_yaml)
{
        round_trip("tests/data/seed/facts-before.yaml", false);
        round_trip("tests/data/seed/facts-secondary-replaced.yaml", false);
}

Test(facts, round_trip_json)
{
        round_trip("tests/data/seed/facts-before.yaml", true);
        round_trip("tests/data/seed/facts-secondary-replaced.yaml", true);
}

Test(facts, damaged_facts_are_located_errors)
{
        static const char doc[] = "version: 1\ndisks:\n- number: 0\n  size: 10\n  sector_size: 512\n  online: true\n  style: floppy\n";
        char tmp[] = "/tmp/mbstate-facts-XXXXXX";
        mb_facts *f = NULL;
        mb_error err = { 0 };
        int fd = mkstemp(tmp);

        cr_assert_eq(write(fd, doc, sizeof(doc) - 1), (ssize_t)(sizeof(doc) - 1));
        close(fd);
        cr_assert_lt(mb_facts_load(tmp, &f, &err), 0);
        cr_assert_eq(err.line, 7);
        cr_assert(strstr(err.msg, "'floppy' is not valid; expected one of: raw, mbr, gpt"), "%s", err.msg);
        unlink(tmp);
}

Test(facts, roles_from_type_guids)
{
        cr_assert_eq(mb_role_from_type_guid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"), MB_ROLE_EFI);
        cr_assert_eq(mb_role_from_type_guid("de94bba4-06d1-4d40-a16a-bfd50179d6ac"), MB_ROLE_RECOVERY);
        cr_assert_eq(mb_role_from_type_guid("5808c8aa-7e8f-42e0-85d2-e1e90434cfb3"), MB_ROLE_LDM_METADATA);
        cr_assert_eq(mb_role_from_type_guid("0fc63daf-8483-4772-8e79-3d69d8477de4"), MB_ROLE_NONE);
        cr_assert_eq(mb_role_default_attributes(MB_ROLE_RECOVERY), 0x8000000000000001ULL);
}
