/* SPDX-License-Identifier: MIT */
/*
 * UEFI variable stores: Debian's blank OVMF_VARS_4M.fd (package ovmf) read,
 * Boot#### and BootOrder written the way the firmware writes (append, old
 * record marked deleted) and read back, damaged and full stores refused
 * without a byte written, hostile load options refused. The independent
 * check, OVMF booting through the entries, is tests/e2e/boot-failover.sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/format/efivars/efivars.h"

#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

static char dir[64], vars[128];

static void setup(void)
{
        char cmd[512];

        snprintf(dir, sizeof(dir), "/tmp/mb-efivars-test.XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(vars, sizeof(vars), "%s/vars.fd", dir);
        if (access(OVMF_VARS, R_OK) != 0)
                cr_skip_test("%s is missing: install the Debian package ovmf", OVMF_VARS);
        snprintf(cmd, sizeof(cmd), "cp %s %s", OVMF_VARS, vars);
        cr_assert_eq(system(cmd), 0);
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)system(cmd);
}

static uint8_t *slurp(const char *path, size_t *ret_size)
{
        FILE *f = fopen(path, "rb");
        uint8_t *b;
        long n;

        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        b = malloc((size_t)n);
        cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *ret_size = (size_t)n;
        return b;
}

static void spew(const char *path, const uint8_t *b, size_t n)
{
        FILE *f = fopen(path, "wb");

        cr_assert_not_null(f);
        cr_assert_eq(fwrite(b, 1, n, f), n);
        fclose(f);
}

static mb_efi_load_option esp_option(const char *desc, const char *guid, uint32_t part,
                                     uint64_t start, uint64_t size)
{
        mb_efi_load_option o;

        memset(&o, 0, sizeof(o));
        o.attributes = MB_EFI_LOAD_OPTION_ACTIVE;
        snprintf(o.description, sizeof(o.description), "%s", desc);
        o.has_hd = true;
        o.part_number = part;
        o.part_start = start;
        o.part_size = size;
        o.mbr_type = 2;
        o.signature_type = 2;
        cr_assert_eq(mb_guid_parse(guid, &o.signature), 0);
        snprintf(o.path, sizeof(o.path), "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        return o;
}

TestSuite(efivars, .init = setup, .fini = teardown);

Test(efivars, blank_ovmf_store)
{
        mb_error err = { 0 };
        mb_efivars *v;
        mb_efivar *list;
        mb_efi_boot_entry *e;
        uint16_t *order;
        uint32_t n;

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_list(v, &list, &n, &err), 0);
        cr_assert_eq(n, 0);
        free(list);
        /* 0x40000 of store minus the 0x48-byte volume header and 28-byte store header */
        cr_assert_eq(mb_efivars_free_space(v), 0x40000 - 0x48 - 28);
        cr_assert_eq(mb_efivars_boot_entries(v, &e, &n, &err), 0);
        cr_assert_eq(n, 0);
        free(e);
        cr_assert_eq(mb_efivars_boot_order(v, &order, &n, &err), 0);
        cr_assert_eq(n, 0);
        free(order);
        mb_efivars_free(v);
}

Test(efivars, write_read_back)
{
        mb_error err = { 0 };
        mb_efivars *v;
        mb_efi_load_option o = esp_option("Windows Boot Manager", "2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35",
                                          1, 2048, 204800);
        mb_efi_boot_entry *e;
        uint16_t order[2] = { 0x0000, 0x0001 }, *got;
        uint32_t n;
        char g[MB_GUID_STR_LEN];
        uint8_t *b;
        size_t size;

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_set_boot_entry(v, 0, &o, &err), 0, "%s", err.msg);
        o = esp_option("Windows Boot Manager Cloned \xe2\x9c\x93", "8a3f2c1e-0000-4000-8000-00000000abcd",
                       1, 2048, 204800);
        cr_assert_eq(mb_efivars_set_boot_entry(v, 1, &o, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_set_boot_order(v, order, 2, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_save(v, NULL, &err), 0, "%s", err.msg);
        mb_efivars_free(v);

        /* the records, by hand: header at 0x64, StartId, state ADDED, name "Boot0000" */
        b = slurp(vars, &size);
        cr_assert_eq(size, 540672);
        cr_assert_eq(b[0x64], 0xaa);
        cr_assert_eq(b[0x65], 0x55);
        cr_assert_eq(b[0x66], 0x3f);
        cr_assert_eq(b[0x64 + 60], 'B');
        cr_assert_eq(b[0x64 + 61], 0);
        free(b);

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_boot_entries(v, &e, &n, &err), 0, "%s", err.msg);
        cr_assert_eq(n, 2);
        cr_assert_eq(e[0].number, 0);
        cr_assert_str_eq(e[0].option.description, "Windows Boot Manager");
        cr_assert(e[0].option.has_hd);
        cr_assert_eq(e[0].option.part_number, 1);
        cr_assert_eq(e[0].option.part_start, 2048);
        cr_assert_eq(e[0].option.part_size, 204800);
        cr_assert_eq(e[0].option.mbr_type, 2);
        cr_assert_eq(e[0].option.signature_type, 2);
        cr_assert_str_eq(mb_guid_format(&e[0].option.signature, g), "2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35");
        cr_assert_str_eq(e[0].option.path, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        cr_assert_eq(e[0].option.attributes, MB_EFI_LOAD_OPTION_ACTIVE);
        cr_assert_str_eq(e[1].option.description, "Windows Boot Manager Cloned \xe2\x9c\x93");
        free(e);
        cr_assert_eq(mb_efivars_boot_order(v, &got, &n, &err), 0);
        cr_assert_eq(n, 2);
        cr_assert_eq(got[0], 0);
        cr_assert_eq(got[1], 1);
        free(got);
        mb_efivars_free(v);
}

Test(efivars, rewrite_marks_old_deleted_and_delete)
{
        mb_error err = { 0 };
        mb_efivars *v;
        mb_efi_load_option o = esp_option("Windows Boot Manager", "2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35",
                                          1, 2048, 204800);
        mb_efivar var, *list;
        mb_efi_boot_entry *e;
        uint32_t n, first, second, free0;

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        free0 = mb_efivars_free_space(v);
        cr_assert_eq(mb_efivars_set_boot_entry(v, 0, &o, &err), 0);
        cr_assert_eq(mb_efivars_get(v, &mb_efi_global_variable, "Boot0000", &var, &err), 0);
        first = var.offset;
        o.part_number = 2;
        cr_assert_eq(mb_efivars_set_boot_entry(v, 0, &o, &err), 0);
        cr_assert_eq(mb_efivars_get(v, &mb_efi_global_variable, "Boot0000", &var, &err), 0);
        second = var.offset;
        cr_assert_gt(second, first, "the new record is appended");
        cr_assert_eq(second % 4, 0, "records start 4-byte aligned");
        cr_assert_lt(mb_efivars_free_space(v), free0);
        cr_assert_eq(mb_efivars_save(v, NULL, &err), 0);
        mb_efivars_free(v);

        {
                size_t size;
                uint8_t *b = slurp(vars, &size);

                cr_assert_eq(b[first + 2], 0x3d, "old record: state ADDED & DELETED, got 0x%02x", b[first + 2]);
                cr_assert_eq(b[second + 2], 0x3f);
                free(b);
        }
        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_boot_entries(v, &e, &n, &err), 0);
        cr_assert_eq(n, 1);
        cr_assert_eq(e[0].option.part_number, 2);
        free(e);
        cr_assert_eq(mb_efivars_delete_boot_entry(v, 0, &err), 0);
        cr_assert_eq(mb_efivars_list(v, &list, &n, &err), 0);
        cr_assert_eq(n, 0);
        free(list);
        cr_assert_eq(mb_efivars_get(v, &mb_efi_global_variable, "Boot0000", &var, &err), MB_ENOENT);
        mb_efivars_free(v);
}

/* Loading fails with code and a message naming the file. */
static void refused(const uint8_t *b, size_t size, int code, const char *what)
{
        mb_error err = { 0 };
        mb_efivars *v = NULL;

        spew(vars, b, size);
        cr_assert_eq(mb_efivars_load(vars, &v, &err), code, "%s: got %d (%s)", what,
                     err.code, err.msg);
        cr_assert_null(v);
        cr_assert_not_null(strstr(err.msg, vars), "%s: message names the file: %s", what, err.msg);
}

/* Makes the 0x48-byte volume header's 16-bit words add up to zero again. */
static void fix_checksum(uint8_t *b)
{
        uint16_t sum = 0;

        b[0x32] = b[0x33] = 0;
        for (int i = 0; i < 0x48; i += 2)
                sum = (uint16_t)(sum + (b[i] | b[i + 1] << 8));
        sum = (uint16_t)-sum;
        b[0x32] = (uint8_t)sum, b[0x33] = (uint8_t)(sum >> 8);
}

Test(efivars, damaged_stores_refused)
{
        size_t size;
        uint8_t *orig = slurp(vars, &size), *b = malloc(size);

        memcpy(b, orig, size);
        b[40] = 'X';                    /* _FVH */
        refused(b, size, MB_ECORRUPT, "signature");
        memcpy(b, orig, size);
        b[0x2c] ^= 0x01;                /* attributes: the checksum no longer adds up */
        refused(b, size, MB_ECORRUPT, "checksum");
        memcpy(b, orig, size);
        b[0x10] ^= 0xff;                /* file system GUID, with a correct checksum */
        fix_checksum(b);
        refused(b, size, MB_ENOTSUP, "file system GUID");
        memcpy(b, orig, size);
        b[0x48] ^= 0x01;                /* store GUID */
        refused(b, size, MB_ENOTSUP, "store GUID");
        memcpy(b, orig, size);
        b[0x5c] = 0xff;                 /* format */
        refused(b, size, MB_ECORRUPT, "store not formatted");
        memcpy(b, orig, size);
        b[0x5a] = 0xff, b[0x5b] = 0xff; /* store size past the volume */
        refused(b, size, MB_ECORRUPT, "store size");
        refused(orig, 100, MB_ECORRUPT, "truncated file");
        memcpy(b, orig, size);
        b[0x64] = 0xaa, b[0x65] = 0x55, b[0x66] = 0x3f; /* a record whose data overruns the store */
        memset(b + 0x64 + 36, 0, 8);
        b[0x64 + 36] = 4;
        b[0x64 + 40] = 0xf0, b[0x64 + 41] = 0xff, b[0x64 + 42] = 0xff, b[0x64 + 43] = 0x0f;
        refused(b, size, MB_ECORRUPT, "record overrun");
        free(b);
        free(orig);
}

/* The file must be exactly its firmware volume, its block map must cover
 * the volume, and the volume must be one of OVMF's layouts: a store padded to
 * 1 MiB made OVMF fail with a #GP. */
Test(efivars, geometry_checked)
{
        size_t size;
        uint8_t *orig = slurp(vars, &size), *b = calloc(1, 1u << 20);
        mb_error err = { 0 };
        mb_efivars *v = NULL;

        cr_assert_eq(size, 0x84000);
        memcpy(b, orig, size);
        memset(b + size, 0xff, (1u << 20) - size);
        refused(b, 1u << 20, MB_ECORRUPT, "padded to 1 MiB");
        refused(orig, size - 4096, MB_ECORRUPT, "one block short");
        memcpy(b, orig, size);
        b[56] = 131;                    /* block map: 131 x 4096, the volume still 0x84000 */
        fix_checksum(b);
        refused(b, size, MB_ECORRUPT, "block map shorter than the volume");
        memcpy(b, orig, size);
        memset(b + size, 0xff, 4096);
        b[56] = 133;                    /* a consistent 0x85000-byte volume: no OVMF layout */
        b[32] = 0x00, b[33] = 0x50, b[34] = 0x08;
        fix_checksum(b);
        refused(b, size + 4096, MB_ENOTSUP, "unknown layout");
        spew(vars, b, size + 4096);
        cr_assert_eq(mb_efivars_load(vars, &v, &err), MB_ENOTSUP);
        cr_assert_not_null(strstr(err.msg, "not a known OVMF layout"), "%s", err.msg);
        free(b);
        free(orig);
        if (access("/usr/share/OVMF/OVMF_VARS.fd", R_OK) == 0) {
                /* the 128 KiB layout of the 1 MiB / 2 MiB builds loads */
                mb_error e2 = { 0 };

                cr_assert_eq(mb_efivars_load("/usr/share/OVMF/OVMF_VARS.fd", &v, &e2), 0, "%s", e2.msg);
                mb_efivars_free(v);
        }
}

Test(efivars, full_store_writes_nothing)
{
        mb_error err = { 0 };
        mb_efivars *v;
        size_t size, size2;
        uint8_t *before = slurp(vars, &size), *after;
        uint8_t *big = calloc(1, 0x40000);
        uint32_t free0;

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0);
        free0 = mb_efivars_free_space(v);
        cr_assert_eq(mb_efivars_set(v, &mb_efi_global_variable, "Big", MB_EFI_VARIABLE_NV_BS_RT, big,
                                    0x3ffa0, &err), MB_ESTATE);
        cr_assert_not_null(strstr(err.msg, "full"), "%s", err.msg);
        cr_assert_not_null(strstr(err.msg, vars), "%s", err.msg);
        cr_assert_eq(mb_efivars_free_space(v), free0);
        mb_efivars_free(v);
        after = slurp(vars, &size2);
        cr_assert_eq(size, size2);
        cr_assert_eq(memcmp(before, after, size), 0, "nothing written");
        free(before), free(after), free(big);
}

Test(efivars, record_in_deleted_transition)
{
        mb_error err = { 0 };
        mb_efivars *v;
        mb_efivar *list;
        uint32_t n;
        size_t size;
        uint8_t *b, one = 1, two = 2;

        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_set(v, &mb_efi_global_variable, "Timeout", MB_EFI_VARIABLE_NV_BS_RT,
                                    &one, 1, &err), 0);
        cr_assert_eq(mb_efivars_save(v, NULL, &err), 0);
        mb_efivars_free(v);
        /* a firmware interrupted between "old in transition" and "new added" */
        b = slurp(vars, &size);
        cr_assert_eq(b[0x66], 0x3f);
        b[0x66] = 0x3e;
        spew(vars, b, size);
        free(b);
        cr_assert_eq(mb_efivars_load(vars, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_efivars_list(v, &list, &n, &err), 0);
        cr_assert_eq(n, 1, "the record in transition is still the live one");
        free(list);
        cr_assert_eq(mb_efivars_set(v, &mb_efi_global_variable, "Timeout", MB_EFI_VARIABLE_NV_BS_RT,
                                    &two, 1, &err), 0);
        cr_assert_eq(mb_efivars_list(v, &list, &n, &err), 0);
        cr_assert_eq(n, 1);
        cr_assert_eq(list[0].data[0], 2);
        free(list);
        mb_efivars_free(v);
}

Test(load_options, hostile)
{
        mb_error err = { 0 };
        mb_efi_load_option o = esp_option("W", "2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35", 1, 2048, 204800), p;
        uint8_t *b;
        size_t n;

        cr_assert_eq(mb_efi_load_option_build(&o, &b, &n, &err), 0);
        cr_assert_eq(mb_efi_load_option_parse(b, n, &p, &err), 0, "%s", err.msg);
        for (size_t cut = 0; cut < n - 4; cut++)      /* every truncation before the end node */
                cr_assert_eq(mb_efi_load_option_parse(b, cut, &p, &err), MB_ECORRUPT, "cut at %zu", cut);
        b[4] = 0xff, b[5] = 0xff;       /* FilePathListLength past the option */
        cr_assert_eq(mb_efi_load_option_parse(b, n, &p, &err), MB_ECORRUPT);
        free(b);
        cr_assert_eq(mb_efi_load_option_build(&o, &b, &n, &err), 0);
        b[6 + 4 + 2] = 0, b[6 + 4 + 3] = 0; /* HD node of length 0 */
        cr_assert_eq(mb_efi_load_option_parse(b, n, &p, &err), MB_ECORRUPT);
        free(b);
        o.has_hd = false;
        cr_assert_eq(mb_efi_load_option_build(&o, &b, &n, &err), MB_EINVAL);
}
