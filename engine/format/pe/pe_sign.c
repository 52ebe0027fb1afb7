/* SPDX-License-Identifier: MIT */
/*
 * The signers of a PE/COFF boot program (see pe.h): each PKCS#7 SignedData
 * blob of the attribute certificate table ("Windows Authenticode Portable
 * Executable Signature Format") decoded by OpenSSL's libcrypto -- the
 * signer's certificate, every certificate the blob carries, the digest the
 * signer signed (SpcIndirectDataContent). The PE parsing is pe.c's.
 */
#include "format/pe/pe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "sha256.h"

#define MAX_FILE (256u << 20)

/* SpcIndirectDataContent (Authenticode): data, then DigestInfo. Decoded by
 * libcrypto from these templates. */
typedef struct {
        ASN1_OBJECT *type;
        ASN1_TYPE *value;
} MB_SPC_ATTR;
typedef struct {
        X509_ALGOR *alg;
        ASN1_OCTET_STRING *digest;
} MB_DIGEST_INFO;
typedef struct {
        MB_SPC_ATTR *data;
        MB_DIGEST_INFO *digest;
} MB_SPC_INDIRECT;

ASN1_SEQUENCE(MB_SPC_ATTR) = {
        ASN1_SIMPLE(MB_SPC_ATTR, type, ASN1_OBJECT),
        ASN1_OPT(MB_SPC_ATTR, value, ASN1_ANY),
} ASN1_SEQUENCE_END(MB_SPC_ATTR)
ASN1_SEQUENCE(MB_DIGEST_INFO) = {
        ASN1_SIMPLE(MB_DIGEST_INFO, alg, X509_ALGOR),
        ASN1_SIMPLE(MB_DIGEST_INFO, digest, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(MB_DIGEST_INFO)
ASN1_SEQUENCE(MB_SPC_INDIRECT) = {
        ASN1_SIMPLE(MB_SPC_INDIRECT, data, MB_SPC_ATTR),
        ASN1_SIMPLE(MB_SPC_INDIRECT, digest, MB_DIGEST_INFO),
} ASN1_SEQUENCE_END(MB_SPC_INDIRECT)
DECLARE_ASN1_FUNCTIONS(MB_SPC_INDIRECT)
IMPLEMENT_ASN1_FUNCTIONS(MB_SPC_INDIRECT)

static void hex(const uint8_t *b, size_t n, char *out)
{
        static const char x[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = x[b[i] >> 4];
                out[2 * i + 1] = x[b[i] & 15];
        }
        out[2 * n] = 0;
}

static int describe(X509 *c, mb_x509_info *ret, mb_error *err)
{
        unsigned char *der = NULL;
        int len = i2d_X509(c, &der);

        if (len <= 0)
                return mb_error_set(err, MB_ECORRUPT, "a certificate cannot be re-encoded");
        mb_sha256_hex(der, (size_t)len, ret->sha256);
        OPENSSL_free(der);
        X509_NAME_oneline(X509_get_subject_name(c), ret->subject, sizeof(ret->subject));
        X509_NAME_oneline(X509_get_issuer_name(c), ret->issuer, sizeof(ret->issuer));
        return 0;
}

int mb_x509_describe(const uint8_t *der, size_t len, mb_x509_info *ret, mb_error *err)
{
        const unsigned char *p = der;
        X509 *c = d2i_X509(NULL, &p, (long)len);
        int rc;

        if (!c)
                return mb_error_set(err, MB_ECORRUPT, "not a DER X.509 certificate (%zu bytes)", len);
        rc = describe(c, ret, err);
        X509_free(c);
        return rc;
}

static void signed_digest(PKCS7 *p7, char out[65])
{
        const unsigned char *p;
        MB_SPC_INDIRECT *spc;
        ASN1_TYPE *other;

        out[0] = 0;
        if (!PKCS7_type_is_signed(p7) || !p7->d.sign->contents ||
            !(other = p7->d.sign->contents->d.other) || other->type != V_ASN1_SEQUENCE)
                return;
        p = other->value.sequence->data;
        spc = d2i_MB_SPC_INDIRECT(NULL, &p, other->value.sequence->length);
        if (!spc)
                return;
        if (OBJ_obj2nid(spc->digest->alg->algorithm) == NID_sha256 && spc->digest->digest->length == 32)
                hex(spc->digest->digest->data, 32, out);
        MB_SPC_INDIRECT_free(spc);
}

static int add_signature(const char *name, const uint8_t *blob, size_t len, mb_pe_info *pe,
                         mb_error *err)
{
        const unsigned char *p = blob;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
        STACK_OF(X509) *signers, *certs;
        mb_pe_signature *s, *grown;
        int rc = 0, nc;

        if (!p7 || !PKCS7_type_is_signed(p7)) {
                PKCS7_free(p7);
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: certificate table entry %u is not a PKCS#7 SignedData blob",
                                    name, pe->n_signatures + 1);
        }
        grown = realloc(pe->signatures, (pe->n_signatures + 1) * sizeof(*grown));
        if (!grown) {
                PKCS7_free(p7);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        pe->signatures = grown;
        s = &pe->signatures[pe->n_signatures];
        memset(s, 0, sizeof(*s));
        signers = PKCS7_get0_signers(p7, NULL, 0);
        if (!signers || sk_X509_num(signers) < 1) {
                rc = mb_error_set(err, MB_ECORRUPT,
                                  "%s: signature %u names a signer whose certificate it does not carry",
                                  name, pe->n_signatures + 1);
                goto out;
        }
        rc = describe(sk_X509_value(signers, 0), &s->signer, err);
        if (rc < 0)
                goto out;
        certs = p7->d.sign->cert;
        nc = certs ? sk_X509_num(certs) : 0;
        if (nc > 0 && !(s->certs = calloc((size_t)nc, sizeof(*s->certs)))) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        for (int i = 0; i < nc; i++) {
                rc = describe(sk_X509_value(certs, i), &s->certs[s->n_certs], err);
                if (rc < 0)
                        goto out;
                s->n_certs++;
        }
        signed_digest(p7, s->signed_digest);
        pe->n_signatures++;
out:
        if (rc < 0)
                free(s->certs);
        sk_X509_free(signers);
        PKCS7_free(p7);
        return rc;
}


int mb_pe_parse(const char *name, const uint8_t *data, size_t size, mb_pe_info *ret, mb_error *err)
{
        mb_pe_info pe;
        mb_pe_blob *blobs;
        uint32_t n;
        int rc;

        rc = mb_pe_parse_image(name, data, size, &pe, &blobs, &n, err);
        if (rc < 0)
                return rc;
        for (uint32_t i = 0; i < n && rc == 0; i++)
                rc = add_signature(name, blobs[i].data, blobs[i].size, &pe, err);
        free(blobs);
        if (rc < 0) {
                mb_pe_info_clear(&pe);
                return rc;
        }
        *ret = pe;
        return 0;
}

int mb_pe_parse_file(const char *path, mb_pe_info *ret, mb_error *err)
{
        FILE *fp = fopen(path, "rb");
        uint8_t *buf = NULL;
        long n;
        int rc;

        if (!fp)
                return mb_error_errno(err, MB_EIO, errno, "cannot open %s", path);
        if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
                fclose(fp);
                return mb_error_errno(err, MB_EIO, errno, "cannot read %s", path);
        }
        if ((unsigned long)n > MAX_FILE) {
                fclose(fp);
                return mb_error_set(err, MB_EINVAL, "%s: %ld bytes is too large for a boot program", path, n);
        }
        if (!(buf = malloc(n ? (size_t)n : 1))) {
                fclose(fp);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                rc = mb_error_errno(err, MB_EIO, errno, "cannot read %s", path);
        } else {
                rc = mb_pe_parse(path, buf, (size_t)n, ret, err);
        }
        fclose(fp);
        free(buf);
        return rc;
}
