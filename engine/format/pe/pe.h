/* SPDX-License-Identifier: MIT */
#ifndef MB_PE_H
#define MB_PE_H

/*
 * UEFI boot programs as PE/COFF images (Microsoft PE Format specification)
 * and what Secure Boot firmware looks at in them: the machine type, the
 * file version from the version resource, the Authenticode digest and the
 * signers of the PKCS#7 SignedData blobs in the attribute certificate table
 * ("Windows Authenticode Portable Executable Signature Format").
 *
 * The PE structures are read byte by byte with every offset checked
 * against the file size (pe.c, plain C, built for every host, the Windows
 * cross build included); the PKCS#7 and X.509 structures are decoded by
 * OpenSSL's libcrypto (pe_sign.c, not on Windows, where the windows
 * target asks crypt32), never by hand.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MB_PE_NAME_MAX 512

/* One X.509 certificate, as the facts carry it. */
typedef struct mb_x509_info {
        char subject[MB_PE_NAME_MAX];   /* X509_NAME_oneline: "/C=US/O=.../CN=..." */
        char issuer[MB_PE_NAME_MAX];
        char sha256[65];                /* of the DER encoding */
} mb_x509_info;

/* One embedded signature (one WIN_CERTIFICATE of type PKCS_SIGNED_DATA). */
typedef struct mb_pe_signature {
        mb_x509_info signer;            /* the SignerInfo's certificate */
        mb_x509_info *certs;            /* every certificate the blob carries, in its order */
        uint32_t n_certs;
        char signed_digest[65];         /* the SHA-256 the signer signed ("" if another algorithm) */
} mb_pe_signature;

typedef struct mb_pe_info {
        uint16_t machine;               /* IMAGE_FILE_MACHINE_* */
        bool has_version;
        uint16_t version[4];            /* VS_FIXEDFILEINFO FileVersion: major.minor.build.revision */
        char authenticode_sha256[65];
        mb_pe_signature *signatures;
        uint32_t n_signatures;
} mb_pe_info;

/* One PKCS#7 SignedData blob of the attribute certificate table: a
 * WIN_CERTIFICATE's bCertificate, pointing into the parsed image. */
typedef struct mb_pe_blob {
        const uint8_t *data;
        size_t size;
} mb_pe_blob;

/* Parses the PE/COFF image data[0..size) as mb_pe_parse does, without the
 * signers: ret gets machine, version and the Authenticode digest (no
 * signatures), *ret_blobs (malloc'd, free it; NULL when unsigned) the
 * PKCS#7 blobs in table order. Needs no libcrypto. Errors as mb_pe_parse. */
int mb_pe_parse_image(const char *name, const uint8_t *data, size_t size, mb_pe_info *ret,
                      mb_pe_blob **ret_blobs, uint32_t *ret_n_blobs, mb_error *err);

/* Parses the PE/COFF image data[0..size) (name is used in messages):
 * headers, sections, version resource, Authenticode SHA-256 digest and the
 * signatures. A file that is not a PE image, or whose headers, sections or
 * certificate table lie outside the file, is MB_ECORRUPT naming name and
 * the structure. ret is filled (free with mb_pe_info_clear) only on 0. */
int mb_pe_parse(const char *name, const uint8_t *data, size_t size, mb_pe_info *ret,
                mb_error *err);
void mb_pe_info_clear(mb_pe_info *pe);
/* The same for a file. mb_pe_parse, mb_pe_parse_file and mb_x509_describe
 * are pe_sign.c's (libcrypto): not in the Windows build. */
int mb_pe_parse_file(const char *path, mb_pe_info *ret, mb_error *err);

/* "x64", "ia32", "aa64", "arm" or "0x%04x". buf holds at least 8 bytes. */
const char *mb_pe_machine_name(uint16_t machine, char buf[8]);
/* "a.b.c.d" of pe->version, or "" when there is none. */
void mb_pe_version_string(const mb_pe_info *pe, char buf[24]);
/* -1, 0, 1 comparing two FileVersion quadruples. */
int mb_pe_version_cmp(const uint16_t a[4], const uint16_t b[4]);
/* Parses "a.b.c.d" (1 to 4 parts); false on anything else. */
bool mb_pe_version_parse(const char *s, uint16_t ret[4]);

/* Describes a DER X.509 certificate (subject, issuer, SHA-256 of der). */
int mb_x509_describe(const uint8_t *der, size_t len, mb_x509_info *ret, mb_error *err);

#endif
