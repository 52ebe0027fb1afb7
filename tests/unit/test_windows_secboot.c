/* SPDX-License-Identifier: MIT */
/*
 * The windows target's Secure Boot facts (engine/platform/windows/firmware.c:
 * SecureBoot, db, dbx, BootCurrent) through the call table's
 * GetFirmwareEnvironmentVariableW. The db and dbx bytes are real: the
 * variables of Debian's OVMF_VARS_4M.ms.fd (Microsoft's two 2011 CAs in db),
 * read from the installed ovmf package at test time, never committed.
 * Behaviour of the call (winbase.h, GetFirmwareEnvironmentVariableW): the
 * number of bytes stored, or 0 with GetLastError; an absent variable is
 * ERROR_ENVVAR_NOT_FOUND (203).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/efivars/efivars.h"
#include "platform/windows/windows_internal.h"

#define MS_VARS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
#define GLOBAL "{8be4df61-93ca-11d2-aa0d-00e098032b8c}"
#define IMAGE_DB "{d719b2cb-3d3a-4596-a3bc-dad00e67656f}"
#define ESP_GUID "2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35"

static struct {
        mb_efivars *ms;         /* the recorded store */
        bool secure_boot;       /* serve SecureBoot = 1 */
        bool damaged_dbx;
        DWORD deny;             /* error for every call, 0 = none */
        DWORD last_error;
        uint8_t boot3[512];
        size_t boot3_len;
} fk;

static DWORD WINAPI f_GetLastError(void)
{
        return fk.last_error;
}

static DWORD serve(const void *data, size_t len, void *buf, DWORD cap)
{
        if (len > cap) {
                fk.last_error = ERROR_INSUFFICIENT_BUFFER;
                return 0;
        }
        memcpy(buf, data, len);
        return (DWORD)len;
}

static DWORD WINAPI f_GetFirmwareEnvironmentVariableW(LPCWSTR name, LPCWSTR guid, PVOID buf, DWORD len)
{
        char *n = mb_w_to_utf8(name), *g = mb_w_to_utf8(guid);
        DWORD r = 0;
        mb_efivar v;

        fk.last_error = ERROR_ENVVAR_NOT_FOUND;
        if (fk.deny) {
                fk.last_error = fk.deny;
        } else if (strcmp(g, IMAGE_DB) == 0 && fk.ms &&
                   mb_efivars_get(fk.ms, &mb_efi_image_security_database, n, &v, NULL) == 0) {
                r = serve(v.data, fk.damaged_dbx && strcmp(n, "dbx") == 0 ? v.size - 5 : v.size, buf, len);
        } else if (strcmp(g, GLOBAL) == 0 && strcmp(n, "SecureBoot") == 0 && fk.secure_boot) {
                r = serve("\1", 1, buf, len);
        } else if (strcmp(g, GLOBAL) == 0 && strcmp(n, "BootCurrent") == 0 && fk.boot3_len) {
                r = serve("\3\0", 2, buf, len);
        } else if (strcmp(g, GLOBAL) == 0 && strcmp(n, "Boot0003") == 0 && fk.boot3_len) {
                r = serve(fk.boot3, fk.boot3_len, buf, len);
        }
        free(n);
        free(g);
        return r;
}

static const mb_win32 table = {
        .GetFirmwareEnvironmentVariableW = f_GetFirmwareEnvironmentVariableW,
        .GetLastError = f_GetLastError,
};

static void setup(void)
{
        mb_error err = { 0 };

        memset(&fk, 0, sizeof(fk));
        cr_assert_eq(mb_efivars_load(MS_VARS, &fk.ms, &err), 0,
                     "%s (Debian: ovmf; scripts/deps.sh installs it)", err.msg);
}

static void teardown(void)
{
        mb_efivars_free(fk.ms);
}

/* Boot0003 as Windows writes it: HD(1, GPT, ESP_GUID, 2048, 204800)/\EFI\Microsoft\Boot\bootmgfw.efi */
static void boot3(void)
{
        mb_efi_load_option o = { .attributes = MB_EFI_LOAD_OPTION_ACTIVE, .has_hd = true,
                                 .part_number = 1, .part_start = 2048, .part_size = 204800,
                                 .mbr_type = 2, .signature_type = 2 };
        uint8_t *b = NULL;
        size_t n = 0;

        snprintf(o.description, sizeof(o.description), "Windows Boot Manager");
        snprintf(o.path, sizeof(o.path), "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        cr_assert_eq(mb_guid_parse(ESP_GUID, &o.signature), 0);
        cr_assert_eq(mb_efi_load_option_build(&o, &b, &n, NULL), 0);
        cr_assert_leq(n, sizeof(fk.boot3));
        memcpy(fk.boot3, b, n);
        fk.boot3_len = n;
        free(b);
}

TestSuite(windows_secboot, .init = setup, .fini = teardown);

Test(windows_secboot, secure_boot_db_dbx_and_the_booted_esp)
{
        mb_firmware_fact fw = { 0 };
        mb_error err = { 0 };

        fk.secure_boot = true;
        boot3();
        cr_assert_eq(mb_win_read_secure_boot(&table, &fw, &err), 0, "%s", err.msg);
        cr_assert(fw.secure_boot);
        cr_assert_eq(fw.n_db, 2);
        cr_assert_str_eq(fw.db[0].type, "x509");
        /* SHA-256 of the DER of Microsoft Windows Production PCA 2011 and of
         * Microsoft Corporation UEFI CA 2011 */
        cr_assert_str_eq(fw.db[0].sha256, "e8e95f0733a55e8bad7be0a1413ee23c51fcea64b3c8fa6a786935fddcc71961");
        cr_assert_str_eq(fw.db[1].sha256, "48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507");
        cr_assert_eq(fw.n_dbx, 1);
        cr_assert_str_eq(fw.dbx[0].type, "sha256");
        cr_assert_not_null(fw.booted);
        cr_assert_str_eq(fw.booted, ESP_GUID);
        mb_sig_facts_free(fw.db, fw.n_db);
        mb_sig_facts_free(fw.dbx, fw.n_dbx);
        free(fw.booted);
}

Test(windows_secboot, absent_variables_are_secure_boot_off_and_empty_lists)
{
        mb_firmware_fact fw = { 0 };
        mb_error err = { 0 };

        mb_efivars_free(fk.ms);
        fk.ms = NULL;
        cr_assert_eq(mb_win_read_secure_boot(&table, &fw, &err), 0, "%s", err.msg);
        cr_assert_not(fw.secure_boot);
        cr_assert_eq(fw.n_db, 0);
        cr_assert_eq(fw.n_dbx, 0);
        cr_assert_null(fw.booted);
}

Test(windows_secboot, a_damaged_dbx_is_corrupt_naming_it)
{
        mb_firmware_fact fw = { 0 };
        mb_error err = { 0 };

        fk.damaged_dbx = true;
        cr_assert_eq(mb_win_read_secure_boot(&table, &fw, &err), MB_ECORRUPT);
        cr_assert(strstr(err.msg, "dbx: the EFI_SIGNATURE_LIST at offset 0 is inconsistent"), "%s", err.msg);
        mb_sig_facts_free(fw.db, fw.n_db);
}

Test(windows_secboot, a_refused_read_names_the_call)
{
        mb_firmware_fact fw = { 0 };
        mb_error err = { 0 };

        fk.deny = 5; /* ERROR_ACCESS_DENIED */
        cr_assert_eq(mb_win_read_secure_boot(&table, &fw, &err), MB_EIO);
        cr_assert(strstr(err.msg, "SecureBoot"), "%s", err.msg);
        cr_assert(strstr(err.msg, "GetFirmwareEnvironmentVariableW"), "%s", err.msg);
}
