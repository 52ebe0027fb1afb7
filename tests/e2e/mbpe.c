/* SPDX-License-Identifier: MIT */
/* Test driver for tests/e2e/bootchain.sh and boot-failover.sh:
 *   mbpe FILE...            what engine/format/pe reads from PE files, one
 *                           "key: value" line each (checked against
 *                           osslsigncode and sbverify)
 *   mbpe --vars VARS        Secure Boot state, db and dbx of an OVMF store
 *   mbpe --dbx-add VARS HEX appends an EFI_CERT_SHA256 entry to dbx, as an
 *                           authenticated SetVariable append would */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/efivars/efivars.h"
#include "format/pe/pe.h"

/* EFI_CERT_SHA256_GUID c1c41626-504c-4092-aca9-41f936934328 */
static const uint8_t cert_sha256[16] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                         0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };

static int fail(const mb_error *err)
{
        fprintf(stderr, "mbpe: %s\n", err->msg);
        return 1;
}

static void list(const char *name, const mb_efivars *v)
{
        mb_efi_signature *s = NULL;
        mb_error err = { 0 };
        mb_efivar var;
        uint32_t n = 0;

        if (mb_efivars_get(v, &mb_efi_image_security_database, name, &var, &err) < 0)
                return;
        if (mb_efi_siglist_parse(name, var.data, var.size, &s, &n, &err) < 0) {
                fail(&err);
                return;
        }
        for (uint32_t i = 0; i < n; i++) {
                mb_x509_info x;

                printf("%s %s", name, mb_efi_sig_type_to_string(s[i].type));
                if (s[i].type == MB_EFI_SIG_X509 && mb_x509_describe(s[i].data, s[i].size, &x, &err) == 0)
                        printf(" %s subject=%s", x.sha256, x.subject);
                else if (s[i].type == MB_EFI_SIG_SHA256 && s[i].size >= 32)
                        for (int b = 0; b < 32; b++)
                                printf("%s%02x", b ? "" : " ", s[i].data[b]);
                printf("\n");
        }
        free(s);
}

static int vars(int argc, char **argv)
{
        mb_error err = { 0 };
        mb_efivars *v;
        bool on;

        if (argc < 3 || mb_efivars_load(argv[2], &v, &err) < 0)
                return argc < 3 ? 2 : fail(&err);
        if (strcmp(argv[1], "--vars") == 0) {
                if (mb_efivars_secure_boot(v, &on, &err) < 0)
                        return fail(&err);
                printf("secure_boot: %s\n", on ? "on" : "off");
                list("db", v);
                list("dbx", v);
        } else {
                mb_efivar dbx;
                uint8_t *buf;
                size_t old = 0;

                if (argc < 4 || strlen(argv[3]) != 64)
                        return 2;
                if (mb_efivars_get(v, &mb_efi_image_security_database, "dbx", &dbx, &err) == 0)
                        old = dbx.size;
                buf = malloc(old + 28 + 48);
                if (!buf)
                        return 1;
                if (old)
                        memcpy(buf, dbx.data, old);
                /* one EFI_SIGNATURE_LIST: type, ListSize 76, HeaderSize 0,
                 * SignatureSize 48 (owner + digest) */
                memcpy(buf + old, cert_sha256, 16);
                buf[old + 16] = 76, buf[old + 17] = buf[old + 18] = buf[old + 19] = 0;
                memset(buf + old + 20, 0, 4);
                buf[old + 24] = 48, buf[old + 25] = buf[old + 26] = buf[old + 27] = 0;
                memset(buf + old + 28, 0x11, 16);
                for (int b = 0; b < 32; b++)
                        sscanf(argv[3] + 2 * b, "%2hhx", &buf[old + 44 + b]);
                /* NV+BS+RT+TIME_BASED_AUTHENTICATED_WRITE_ACCESS, as OVMF keeps dbx */
                if (mb_efivars_set(v, &mb_efi_image_security_database, "dbx", 0x27, buf,
                                   (uint32_t)(old + 76), &err) < 0 ||
                    mb_efivars_save(v, NULL, &err) < 0)
                        return fail(&err);
                free(buf);
        }
        mb_efivars_free(v);
        return 0;
}

int main(int argc, char **argv)
{
        int status = 0;

        if (argc > 1 && (strcmp(argv[1], "--vars") == 0 || strcmp(argv[1], "--dbx-add") == 0))
                return vars(argc, argv);
        for (int i = 1; i < argc; i++) {
                mb_error err = { 0 };
                mb_pe_info pe;
                char m[8], v[24];

                if (mb_pe_parse_file(argv[i], &pe, &err) < 0) {
                        fprintf(stderr, "mbpe: %s\n", err.msg);
                        status = 1;
                        continue;
                }
                mb_pe_version_string(&pe, v);
                printf("file: %s\nmachine: %s\nversion: %s\nauthenticode_sha256: %s\nsignatures: %u\n",
                       argv[i], mb_pe_machine_name(pe.machine, m), v, pe.authenticode_sha256,
                       pe.n_signatures);
                for (uint32_t k = 0; k < pe.n_signatures; k++) {
                        const mb_pe_signature *s = &pe.signatures[k];

                        printf("signature %u signed_digest: %s\n", k + 1, s->signed_digest);
                        printf("signature %u signer subject: %s\n", k + 1, s->signer.subject);
                        printf("signature %u signer issuer: %s\n", k + 1, s->signer.issuer);
                        for (uint32_t c = 0; c < s->n_certs; c++)
                                printf("signature %u certificate subject: %s\n"
                                       "signature %u certificate issuer: %s\n",
                                       k + 1, s->certs[c].subject, k + 1, s->certs[c].issuer);
                }
                mb_pe_info_clear(&pe);
        }
        return status;
}
