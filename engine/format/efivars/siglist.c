/* SPDX-License-Identifier: MIT */
/*
 * EFI_SIGNATURE_LIST sequences (db, dbx, KEK, PK; see efivars.h). Plain
 * bytes, no store: built on every host, the windows target included. Layout from the
 * UEFI specification, "Signature Database" (EFI_SIGNATURE_LIST:
 * SignatureType, SignatureListSize, SignatureHeaderSize, SignatureSize,
 * header, then EFI_SIGNATURE_DATA entries of SignatureOwner + data).
 */
#include <stdlib.h>
#include <string.h>

#include "format/efivars/efivars.h"

const mb_guid mb_efi_image_security_database = { { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                                   0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f } };

static const struct {
        mb_efi_sig_type type;
        const char *name;
        mb_guid guid;
} sig_types[] = {
        /* EFI_CERT_SHA256_GUID c1c41626-504c-4092-aca9-41f936934328 */
        { MB_EFI_SIG_SHA256, "sha256",
          { { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 } } },
        /* EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072 */
        { MB_EFI_SIG_X509, "x509",
          { { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 } } },
        /* EFI_CERT_X509_SHA256_GUID 3bd2a492-96c0-4079-b420-fcf98ef103ed */
        { MB_EFI_SIG_X509_SHA256, "x509-sha256",
          { { 0x92, 0xa4, 0xd2, 0x3b, 0xc0, 0x96, 0x79, 0x40, 0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed } } },
};

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *mb_efi_sig_type_to_string(mb_efi_sig_type t)
{
        for (size_t i = 0; i < sizeof(sig_types) / sizeof(sig_types[0]); i++)
                if (sig_types[i].type == t)
                        return sig_types[i].name;
        return "other";
}

static mb_efi_sig_type type_of(const mb_guid *g)
{
        for (size_t i = 0; i < sizeof(sig_types) / sizeof(sig_types[0]); i++)
                if (mb_guid_equal(&sig_types[i].guid, g))
                        return sig_types[i].type;
        return MB_EFI_SIG_OTHER;
}

int mb_efi_siglist_parse(const char *what, const uint8_t *data, size_t size,
                         mb_efi_signature **ret, uint32_t *ret_n, mb_error *err)
{
        mb_efi_signature *out = NULL;
        uint32_t n = 0;
        size_t pos = 0;

        while (pos < size) {
                uint32_t list_size, header_size, sig_size, count;
                mb_guid type;
                size_t first;

                if (size - pos < 28) {
                        free(out);
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: %zu bytes at offset %zu are too short for an EFI_SIGNATURE_LIST header",
                                            what, size - pos, pos);
                }
                memcpy(type.b, data + pos, 16);
                list_size = le32(data + pos + 16);
                header_size = le32(data + pos + 20);
                sig_size = le32(data + pos + 24);
                if (list_size < 28 || list_size > size - pos || sig_size < 16 ||
                    header_size > list_size - 28 ||
                    (list_size - 28 - header_size) % sig_size != 0) {
                        free(out);
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: the EFI_SIGNATURE_LIST at offset %zu is inconsistent "
                                            "(SignatureListSize %u, SignatureHeaderSize %u, SignatureSize %u, %zu bytes left)",
                                            what, pos, list_size, header_size, sig_size, size - pos);
                }
                count = (list_size - 28 - header_size) / sig_size;
                first = pos + 28 + header_size;
                if (count) {
                        mb_efi_signature *grown = realloc(out, (n + count) * sizeof(*out));

                        if (!grown) {
                                free(out);
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        }
                        out = grown;
                }
                for (uint32_t i = 0; i < count; i++) {
                        mb_efi_signature *s = &out[n++];
                        const uint8_t *e = data + first + (size_t)i * sig_size;

                        s->type_guid = type;
                        s->type = type_of(&type);
                        memcpy(s->owner.b, e, 16);
                        s->data = e + 16;
                        s->size = sig_size - 16;
                }
                pos += list_size;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}
