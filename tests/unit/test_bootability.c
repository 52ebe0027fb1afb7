/* SPDX-License-Identifier: MIT */
/* The per-disk boot verdict (engine/bootability.c) on facts documents. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootability.h"

/* One disk with an ESP holding bootmgfw.efi (signed by "CN=Signer",
 * issued by "CN=CA") and a BCD; the firmware section is appended. */
static const char disk_doc[] =
        "version: 1\n"
        "target: test\n"
        "disks:\n"
        "- number: 1\n"
        "  size: 1073741824\n"
        "  sector_size: 512\n"
        "  online: true\n"
        "  style: gpt\n"
        "  partitions:\n"
        "  - number: 1\n"
        "    role: efi\n"
        "    unique_guid: 11111111-2222-3333-4444-555555555555\n"
        "    first_lba: 2048\n"
        "    last_lba: 206847\n"
        "    fs: fat32\n"
        "    files:\n"
        "    - path: /EFI/Microsoft/Boot/BCD\n"
        "      size: 1\n"
        "      sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
        "    - path: /EFI/Microsoft/Boot/bootmgfw.efi\n"
        "      size: 1\n"
        "      sha256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
        "      image:\n"
        "        machine: x64\n"
        "        authenticode_sha256: 1111111111111111111111111111111111111111111111111111111111111111\n"
        "        signatures:\n"
        "        - subject: /CN=Signer\n"
        "          issuer: /CN=CA\n"
        "          sha256: 2222222222222222222222222222222222222222222222222222222222222222\n"
        "          signed_digest: 1111111111111111111111111111111111111111111111111111111111111111\n";

static const char entry[] =
        "firmware:\n"
        "  entries:\n"
        "  - number: 4\n"
        "    description: Windows Boot Manager Cloned\n"
        "    partition: 11111111-2222-3333-4444-555555555555\n"
        "    path: %s\n"
        "    active: true\n"
        "  order: [4]\n"
        "  secure_boot: %s\n"
        "  db:\n"
        "  - type: x509\n"
        "    subject: %s\n"
        "    sha256: 3333333333333333333333333333333333333333333333333333333333333333\n"
        "  dbx:\n"
        "  - type: sha256\n"
        "    sha256: %s\n";

static mb_boot_verdict verdict(const char *path, const char *sb, const char *db_subject,
                               const char *dbx)
{
        char doc[8192];
        mb_facts *f = NULL;
        mb_error err = { 0 };
        mb_boot_verdict v;
        int n = snprintf(doc, sizeof(doc), "%s", disk_doc);

        snprintf(doc + n, sizeof(doc) - (size_t)n, entry, path, sb, db_subject, dbx);
        cr_assert_eq(mb_facts_load_buffer("test", doc, strlen(doc), &f, &err), 0, "%s", err.msg);
        mb_boot_verdict_of(NULL, f, &f->disks[0], &v);
        mb_facts_free(f);
        return v;
}

#define NOT_REVOKED "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DIGEST "1111111111111111111111111111111111111111111111111111111111111111"

Test(bootability, boots_through_the_entry_when_signed_by_a_db_issuer)
{
        mb_boot_verdict v = verdict("\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "true", "/CN=CA", NOT_REVOKED);

        cr_assert(v.bootable, "%s", v.reason);
        cr_assert_str_eq(v.via, "Boot0004 \"Windows Boot Manager Cloned\" \\EFI\\Microsoft\\Boot\\bootmgfw.efi");
}

Test(bootability, a_digest_in_dbx_is_refused_and_named)
{
        mb_boot_verdict v = verdict("\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "true", "/CN=CA", DIGEST);

        cr_assert_not(v.bootable);
        cr_assert(v.by_secure_boot);
        cr_assert(strstr(v.reason, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi sha256 " DIGEST " is revoked by dbx"),
                  "%s", v.reason);
        cr_assert(strstr(v.reason, "no fallback \\EFI\\Boot\\bootx64.efi"), "%s", v.reason);
}

Test(bootability, a_signer_outside_db_is_refused_with_secure_boot_only)
{
        mb_boot_verdict v = verdict("\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "true", "/CN=Other", NOT_REVOKED);

        cr_assert_not(v.bootable);
        cr_assert(strstr(v.reason, "signer /CN=Signer (issued by /CN=CA) does not chain to a certificate in db"),
                  "%s", v.reason);
        v = verdict("\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "false", "/CN=Other", DIGEST);
        cr_assert(v.bootable, "%s", v.reason);
        cr_assert_not(v.secure_boot);
}

Test(bootability, an_entry_naming_a_missing_file_is_named)
{
        mb_boot_verdict v = verdict("\\Windows\\system32\\bogus.efi", "false", "/CN=CA", NOT_REVOKED);

        cr_assert_not(v.bootable);
        cr_assert_not(v.by_secure_boot);
        cr_assert(strstr(v.reason, "Boot0004 \"Windows Boot Manager Cloned\" names \\Windows\\system32\\bogus.efi, which is not on disk 1's ESP"),
                  "%s", v.reason);
}

Test(bootability, no_esp)
{
        mb_disk_fact d = { .number = 2 };
        mb_facts f = { .version = 1, .disks = &d, .n_disks = 1 };
        mb_boot_verdict v;
        char line[2048];

        mb_boot_verdict_of(NULL, &f, &d, &v);
        cr_assert_not(v.bootable);
        mb_boot_verdict_line(&d, &v, line, sizeof(line));
        cr_assert_str_eq(line, "disk 2 would not boot: no ESP");
}

/* The verdict of disk_doc's disk with stores (YAML appended to the disk,
 * so it may open with its ESP's own "    bcd:") and the firmware entry. */
static mb_boot_verdict verdict_with(const char *stores)
{
        char doc[8192];
        mb_facts *f = NULL;
        mb_error err = { 0 };
        mb_boot_verdict v;
        int n = snprintf(doc, sizeof(doc), "%s%s", disk_doc, stores);

        snprintf(doc + n, sizeof(doc) - (size_t)n, entry, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "false",
                 "/CN=CA", NOT_REVOKED);
        cr_assert_eq(mb_facts_load_buffer("test", doc, strlen(doc), &f, &err), 0, "%s", err.msg);
        mb_boot_verdict_of(NULL, f, &f->disks[0], &v);
        mb_facts_free(f);
        return v;
}

/* The system store is this ESP's BCD (same file): its os-loader must be on
 * a present disk. */
static mb_boot_verdict verdict_bcd(const char *osdevice)
{
        char stores[1024];

        snprintf(stores, sizeof(stores),
                 "bcd:\n"
                 "  store: disk 1 partition 1 /EFI/Microsoft/Boot/BCD\n"
                 "  objects:\n"
                 "  - id: '{bootmgr}'\n"
                 "    type: boot-manager\n"
                 "    displayorder: ['{11111111-0000-0000-0000-000000000001}']\n"
                 "  - id: '{11111111-0000-0000-0000-000000000001}'\n"
                 "    type: os-loader\n"
                 "    osdevice:\n"
                 "      kind: partition\n"
                 "      partition: %s\n", osdevice);
        return verdict_with(stores);
}

Test(bootability, the_bcd_must_reach_an_os_loader_on_a_present_disk)
{
        mb_boot_verdict v = verdict_bcd("99999999-9999-9999-9999-999999999999");

        cr_assert_not(v.bootable);
        /* the default loader (first in the menu, no default element) names a
         * partition no disk has: the boot manager stops at an error screen */
        cr_assert(strstr(v.reason, "the default loader \"{11111111-0000-0000-0000-000000000001}\" of the BCD on disk 1's ESP boots partition 99999999-9999-9999-9999-999999999999, which is on none of the disks"),
                  "%s", v.reason);
        v = verdict_bcd("11111111-2222-3333-4444-555555555555");
        cr_assert(v.bootable, "%s", v.reason);
}

/* `facts` reports each ESP disk's verdict (mb_facts_boot_verdicts): the
 * same verdict check decides, carried in the facts document and read back
 * from it; a disk without an ESP has none; a stale verdict read from a
 * snapshot is replaced. */
Test(bootability, facts_carry_the_verdict_of_each_esp_disk)
{
        char doc[8192], *text = NULL;
        mb_facts *f = NULL, *back = NULL;
        mb_error err = { 0 };
        mb_boot_verdict v;
        int n = snprintf(doc, sizeof(doc), "%s", disk_doc);

        n = snprintf(doc, sizeof(doc), "%s", disk_doc);
        n += snprintf(doc + n, sizeof(doc) - (size_t)n,
                      "- number: 2\n  size: 1073741824\n  sector_size: 512\n  online: true\n  style: gpt\n"
                      "  boot:\n    bootable: true\n    via: stale\n");
        snprintf(doc + n, sizeof(doc) - (size_t)n, entry, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "true",
                 "/CN=CA", DIGEST);
        cr_assert_eq(mb_facts_load_buffer("test", doc, strlen(doc), &f, &err), 0, "%s", err.msg);
        cr_assert_not_null(f->disks[1].boot, "the snapshot's verdict is read");
        cr_assert_eq(mb_facts_boot_verdicts(f, &err), 0, "%s", err.msg);
        mb_boot_verdict_of(NULL, f, &f->disks[0], &v);
        cr_assert_not_null(f->disks[0].boot);
        cr_assert_not(f->disks[0].boot->bootable);
        cr_assert(f->disks[0].boot->secure_boot);
        cr_assert_null(f->disks[0].boot->via);
        cr_assert_str_eq(f->disks[0].boot->reason, v.reason);
        cr_assert(strstr(v.reason, "is revoked by dbx"), "%s", v.reason);
        cr_assert_null(f->disks[1].boot, "no ESP, no verdict (the stale one is gone)");
        cr_assert_eq(mb_facts_to_string(f, false, &text, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load_buffer("round-trip", text, strlen(text), &back, &err), 0, "%s\n%s",
                     err.msg, text);
        cr_assert_not_null(back->disks[0].boot);
        cr_assert_not(back->disks[0].boot->bootable);
        cr_assert_str_eq(back->disks[0].boot->reason, v.reason);
        free(text);
        mb_facts_free(back);
        mb_facts_free(f);
}

/* Two os-loaders on disk 1 (the ESP's own partition GUID stands for the
 * os volume: the facts place it on a present disk); the default is the
 * first of {bootmgr}'s displayorder. check0/check1: the path_check of each
 * ("" = not checked, else "true"/"false"). */
static mb_boot_verdict verdict_paths(const char *check0, const char *check1, mb_facts **ret_f)
{
        char doc[8192], pc0[128] = "", pc1[128] = "";
        mb_facts *f = NULL;
        mb_error err = { 0 };
        mb_boot_verdict v;
        int n = snprintf(doc, sizeof(doc), "%s", disk_doc);

        if (check0[0])
                snprintf(pc0, sizeof(pc0), "    path_check:\n      volume: disk 1 partition 3\n      exists: %s\n",
                         check0);
        if (check1[0])
                snprintf(pc1, sizeof(pc1), "    path_check:\n      volume: disk 1 partition 3\n      exists: %s\n",
                         check1);
        n += snprintf(doc + n, sizeof(doc) - (size_t)n,
                      "bcd:\n"
                      "  store: disk 1 partition 1 /EFI/Microsoft/Boot/BCD\n"
                      "  objects:\n"
                      "  - id: '{bootmgr}'\n"
                      "    type: boot-manager\n"
                      "    displayorder: ['{11111111-0000-0000-0000-000000000001}',"
                      " '{11111111-0000-0000-0000-000000000002}']\n"
                      "  - id: '{11111111-0000-0000-0000-000000000001}'\n"
                      "    type: os-loader\n"
                      "    description: Windows Server\n"
                      "    osdevice: {kind: partition, partition: 11111111-2222-3333-4444-555555555555}\n"
                      "    path: \\Windows\\system32\\bogus.efi\n"
                      "%s"
                      "  - id: '{11111111-0000-0000-0000-000000000002}'\n"
                      "    type: os-loader\n"
                      "    description: Windows Server - secondary plex\n"
                      "    osdevice: {kind: partition, partition: 11111111-2222-3333-4444-555555555555}\n"
                      "    path: \\Windows\\system32\\winload.efi\n"
                      "%s", pc0, pc1);
        snprintf(doc + n, sizeof(doc) - (size_t)n, entry, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi", "false",
                 "/CN=CA", NOT_REVOKED);
        cr_assert_eq(mb_facts_load_buffer("test", doc, strlen(doc), &f, &err), 0, "%s", err.msg);
        mb_boot_verdict_of(NULL, f, &f->disks[0], &v);
        if (ret_f)
                *ret_f = f;
        else
                mb_facts_free(f);
        return v;
}

/* The boot manager starts its default without a prompt: a default loader
 * whose path is missing on its volume stops the boot, named once with the
 * entry, the path and the volume, even when another loader would work. */
Test(bootability, a_default_loader_whose_path_is_missing_would_not_boot)
{
        mb_facts *f = NULL;
        mb_boot_verdict v = verdict_paths("false", "true", &f);
        char line[2048];

        cr_assert_not(v.bootable);
        mb_boot_verdict_line(&f->disks[0], &v, line, sizeof(line));
        /* (this ESP has no fallback: the second reason) */
        cr_assert_str_eq(line, "disk 1 would not boot: the loader \"Windows Server\" path "
                               "\\Windows\\system32\\bogus.efi does not exist on disk 1 partition 3; "
                               "no fallback \\EFI\\Boot\\bootx64.efi");
        mb_facts_free(f);
        v = verdict_paths("true", "true", NULL);
        cr_assert(v.bootable, "%s", v.reason);
        v = verdict_paths("", "", NULL);
        cr_assert(v.bootable, "not checked is not missing: %s", v.reason);
}

/* A loader that is not the default counts as reaching the os only when its
 * path is not known to be missing. */
Test(bootability, a_loader_with_a_missing_path_does_not_reach_the_os)
{
        mb_boot_verdict v = verdict_paths("", "false", NULL);

        cr_assert(v.bootable, "the default (unchecked) still reaches the os: %s", v.reason);
        v = verdict_paths("false", "false", NULL);
        cr_assert_not(v.bootable);
        cr_assert(strstr(v.reason, "path \\Windows\\system32\\bogus.efi does not exist on disk 1 partition 3"),
                  "%s", v.reason);
}

/* path_check is carried by the facts document and read back. */
Test(bootability, path_check_round_trips_through_the_facts_document)
{
        mb_facts *f = NULL, *back = NULL;
        mb_error err = { 0 };
        char *text = NULL;
        const mb_bcd_object_fact *o;

        verdict_paths("false", "", &f);
        cr_assert_eq(mb_facts_to_string(f, false, &text, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_facts_load_buffer("round-trip", text, strlen(text), &back, &err), 0, "%s", err.msg);
        o = mb_facts_bcd_object(back, "{11111111-0000-0000-0000-000000000001}");
        cr_assert_not_null(o);
        cr_assert_not_null(o->path_check);
        cr_assert_not(o->path_check->exists);
        cr_assert_str_eq(o->path_check->volume, "disk 1 partition 3");
        cr_assert_null(mb_facts_bcd_object(back, "{11111111-0000-0000-0000-000000000002}")->path_check);
        free(text);
        mb_facts_free(back);
        mb_facts_free(f);
}

/* The ESP's own store (part bcd): its default loader decides. On a store
 * the image target read ("disk N ..."), a default naming a partition on no
 * disk means the disk would not boot; on a store Windows read (the system
 * store named as the live one) only a missing loader file is a reason, as
 * for the live store. */
static mb_boot_verdict verdict_own_store(const char *system_store)
{
        char stores[1024];

        snprintf(stores, sizeof(stores),
                 "    bcd:\n"
                 "      store: disk 1 partition 1 /EFI/Microsoft/Boot/BCD\n"
                 "      objects:\n"
                 "      - id: '{bootmgr}'\n"
                 "        type: boot-manager\n"
                 "        default: '{11111111-0000-0000-0000-000000000001}'\n"
                 "        displayorder: ['{11111111-0000-0000-0000-000000000001}']\n"
                 "      - id: '{11111111-0000-0000-0000-000000000001}'\n"
                 "        type: os-loader\n"
                 "        osdevice:\n"
                 "          kind: partition\n"
                 "          partition: 99999999-9999-9999-9999-999999999999\n"
                 "bcd:\n"
                 "  store: %s\n"
                 "  objects: []\n", system_store);
        return verdict_with(stores);
}

Test(bootability, the_esps_own_store_decides)
{
        mb_boot_verdict v = verdict_own_store("disk 0 partition 1 /EFI/Microsoft/Boot/BCD");

        cr_assert_not(v.bootable);
        cr_assert(strstr(v.reason, "the default loader \"{11111111-0000-0000-0000-000000000001}\" of the BCD on disk 1's ESP boots partition 99999999-9999-9999-9999-999999999999, which is on none of the disks"),
                  "%s", v.reason);
        v = verdict_own_store("system store (HKLM\\BCD00000000)");
        cr_assert(v.bootable, "a store Windows read: %s", v.reason);
}
