/* SPDX-License-Identifier: MIT */
/*
 * engine/format/pe and efivars/siglist.c on damaged input. The well-formed
 * file is Debian shim-signed's shimx64.efi, which Microsoft signed, read from
 * the installed package at test time (never committed); its digest is the
 * one osslsigncode computes (tests/e2e/bootchain.sh). Each damage is made in
 * memory at a documented offset of the PE format (e_lfanew at 0x3c, the
 * certificate table entry in the optional header's data directories).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/efivars/efivars.h"
#include "format/pe/pe.h"

#define SHIM "/usr/lib/shim/shimx64.efi.signed"
#define SHIM_DIGEST "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8"

static uint8_t *load(size_t *ret_n)
{
        FILE *fp = fopen(SHIM, "rb");
        uint8_t *buf;
        long n;

        cr_assert_not_null(fp, "%s (Debian: shim-signed; scripts/deps.sh installs it)", SHIM);
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n);
        cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        *ret_n = (size_t)n;
        return buf;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Offset of the certificate table's data directory entry (PE32+). */
static size_t cert_entry(const uint8_t *d)
{
        return le32(d + 0x3c) + 24 + 144;
}

static void refused(const uint8_t *d, size_t n, const char *what)
{
        mb_pe_info pe;
        mb_error err = { 0 };

        cr_assert_eq(mb_pe_parse("shim.efi", d, n, &pe, &err), MB_ECORRUPT, "%s", what);
        cr_assert(strstr(err.msg, "shim.efi"), "%s", err.msg);
        cr_assert(strstr(err.msg, what), "%s", err.msg);
}

Test(pe, shim_digest_and_signers)
{
        size_t n;
        uint8_t *d = load(&n);
        mb_pe_info pe;
        mb_error err = { 0 };
        char m[8];

        cr_assert_eq(mb_pe_parse("shim.efi", d, n, &pe, &err), 0, "%s", err.msg);
        cr_assert_str_eq(mb_pe_machine_name(pe.machine, m), "x64");
        cr_assert_str_eq(pe.authenticode_sha256, SHIM_DIGEST);
        cr_assert_eq(pe.n_signatures, 2);
        cr_assert_str_eq(pe.signatures[0].signed_digest, SHIM_DIGEST);
        cr_assert(strstr(pe.signatures[0].signer.issuer, "CN=Microsoft Corporation UEFI CA 2011"));
        cr_assert(strstr(pe.signatures[1].signer.issuer, "CN=Microsoft UEFI CA 2023"));
        mb_pe_info_clear(&pe);
        free(d);
}

Test(pe, the_digest_ignores_checksum_and_certificate_table)
{
        size_t n;
        uint8_t *d = load(&n);
        mb_pe_info pe;
        mb_error err = { 0 };
        size_t ce = cert_entry(d);

        /* CheckSum (optional header + 64) changed, the table cut to its first entry */
        put32(d + le32(d + 0x3c) + 24 + 64, 0x12345678);
        put32(d + ce + 4, (le32(d + le32(d + ce)) + 7) & ~7u);
        cr_assert_eq(mb_pe_parse("shim.efi", d, le32(d + ce) + le32(d + ce + 4), &pe, &err), 0, "%s", err.msg);
        cr_assert_str_eq(pe.authenticode_sha256, SHIM_DIGEST);
        cr_assert_eq(pe.n_signatures, 1);
        mb_pe_info_clear(&pe);
        free(d);
}

Test(pe, damaged_files_are_refused_naming_the_structure)
{
        size_t n;
        uint8_t *d = load(&n);
        size_t ce = cert_entry(d);
        uint32_t off = le32(d + ce), len = le32(d + ce + 4);

        refused(d, 100, "no PE signature");
        refused(d, 50, "no MZ header");
        refused(d, 4096, "a section's raw data lies outside the file");
        put32(d + ce + 4, (uint32_t)n);
        refused(d, n, "the attribute certificate table lies outside the file");
        put32(d + ce + 4, len);
        put32(d + off, len + 64);       /* the first WIN_CERTIFICATE claims more than the table */
        refused(d, n, "past the table's end");
        put32(d + off, len);
        d[off + 8] ^= 0xff;             /* the PKCS#7 blob's first byte */
        refused(d, n, "is not a PKCS#7 SignedData blob");
        free(d);
}

Test(pe, versions)
{
        uint16_t a[4], b[4];

        cr_assert(mb_pe_version_parse("10.0.20348.2169", a));
        cr_assert(mb_pe_version_parse("10.0.20348.1", b));
        cr_assert_gt(mb_pe_version_cmp(a, b), 0);
        cr_assert_not(mb_pe_version_parse("10.0.x", a));
        cr_assert_not(mb_pe_version_parse("1.2.3.4.5", a));
        cr_assert_not(mb_pe_version_parse("70000", a));
}

/* EFI_SIGNATURE_LIST: one EFI_CERT_SHA256 list of one entry (UEFI spec,
 * "Signature Database"), then damaged. */
Test(pe, signature_lists)
{
        uint8_t l[76] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                          0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };
        mb_efi_signature *s = NULL;
        uint32_t n = 0;
        mb_error err = { 0 };

        put32(l + 16, 76);
        put32(l + 20, 0);
        put32(l + 24, 48);
        memset(l + 44, 0xab, 32);
        cr_assert_eq(mb_efi_siglist_parse("dbx", l, sizeof(l), &s, &n, &err), 0, "%s", err.msg);
        cr_assert_eq(n, 1);
        cr_assert_eq(s[0].type, MB_EFI_SIG_SHA256);
        cr_assert_eq(s[0].size, 32);
        cr_assert_eq(s[0].data[0], 0xab);
        free(s);
        put32(l + 24, 47);      /* 48 bytes of entries are not a whole number of 47 */
        cr_assert_eq(mb_efi_siglist_parse("dbx", l, sizeof(l), &s, &n, &err), MB_ECORRUPT);
        cr_assert(strstr(err.msg, "dbx: the EFI_SIGNATURE_LIST at offset 0 is inconsistent"), "%s", err.msg);
        put32(l + 24, 48);
        cr_assert_eq(mb_efi_siglist_parse("dbx", l, 60, &s, &n, &err), MB_ECORRUPT);
        cr_assert_eq(mb_efi_siglist_parse("dbx", l, 20, &s, &n, &err), MB_ECORRUPT);
        cr_assert(strstr(err.msg, "too short for an EFI_SIGNATURE_LIST header"), "%s", err.msg);
}
