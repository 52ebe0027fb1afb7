/* SPDX-License-Identifier: MIT */
/*
 * Boot-chain facts of the windows target: each ESP's boot programs
 * (\EFI\Microsoft\Boot\bootmgfw.efi, \EFI\Boot\bootx64.efi) as PE/COFF
 * images. Machine, file version and Authenticode digest come from
 * engine/format/pe (plain C, the bytes the ESP walk already read); the
 * signers of each PKCS#7 SignedData blob from crypt32, through the call
 * table, in the sequence Microsoft documents for decoding a message
 * (CryptMsgOpenToDecode, CryptMsgUpdate with the whole blob, then
 * CryptMsgGetParam for CMSG_SIGNER_CERT_INFO_PARAM -- the signer's issuer
 * and serial number --, CMSG_CERT_COUNT_PARAM and CMSG_CERT_PARAM -- the
 * certificates the message carries --, and CMSG_CONTENT_PARAM -- the
 * SpcIndirectDataContent, decoded by CryptDecodeObjectEx with
 * SPC_INDIRECT_DATA_CONTENT_STRUCT); each certificate through
 * CertCreateCertificateContext, its names through CertNameToStrW.
 *
 * Names are written as the image target writes them (OpenSSL's
 * X509_NAME_oneline: "/C=US/O=.../CN=...", attributes in encoded order), so
 * db subjects and signer issuers compare across targets: CertNameToStrW with
 * CERT_X500_NAME_STR keeps the encoded order (only CERT_NAME_STR_REVERSE_FLAG
 * reverses it), CERT_NAME_STR_CRLF_FLAG separates the RDNs by "\r\n",
 * CERT_NAME_STR_NO_QUOTING_FLAG leaves values as they are, and the few X.500
 * keys whose names differ are mapped (S -> ST, E -> emailAddress, ...).
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/pe/pe.h"
#include "sha256.h"

#define NAME_FLAGS (CERT_X500_NAME_STR | CERT_NAME_STR_CRLF_FLAG | CERT_NAME_STR_NO_QUOTING_FLAG)
#define ENCODING (X509_ASN_ENCODING | PKCS_7_ASN_ENCODING)

/* CertNameToStr's X.500 keys (its documentation's table) whose OpenSSL
 * short names differ; every other key is the same in both. */
static const struct {
        const char *win, *openssl;
} key_names[] = {
        { "S", "ST" }, { "E", "emailAddress" }, { "T", "title" }, { "G", "GN" },
        { "I", "initials" }, { "SERIALNUMBER", "serialNumber" }, { "POSTALCODE", "postalCode" },
};

/* One name blob as "/K=V/K=V" (malloc'd), or NULL with err set. */
static char *name_text(const mb_win32 *w, CERT_NAME_BLOB *blob, const char *what, mb_error *err)
{
        DWORD n = w->CertNameToStrW(X509_ASN_ENCODING, blob, NAME_FLAGS, NULL, 0);
        WCHAR *buf;
        char *u, *out;
        size_t cap, off = 0;

        if (n == 0) {
                mb_error_set(err, MB_ECORRUPT, "CertNameToStrW cannot write the %s name", what);
                return NULL;
        }
        if (!(buf = calloc(n, sizeof(*buf)))) {
                mb_error_set(err, MB_ENOMEM, "out of memory");
                return NULL;
        }
        w->CertNameToStrW(X509_ASN_ENCODING, blob, NAME_FLAGS, buf, n);
        buf[n - 1] = 0;
        u = mb_w_to_utf8(buf);
        free(buf);
        /* each "K=V" grows by at most its leading '/' and a longer key */
        cap = u ? 4 * strlen(u) + 64 : 0;
        if (!u || !(out = malloc(cap))) {
                free(u);
                mb_error_set(err, MB_ENOMEM, "out of memory");
                return NULL;
        }
        out[0] = 0;
        for (char *rdn = u, *next; rdn && *rdn; rdn = next) {
                char *eq;
                const char *key = rdn;

                next = strstr(rdn, "\r\n");
                if (next) {
                        *next = 0;
                        next += 2;
                }
                if ((eq = strchr(rdn, '=')))
                        *eq = 0;
                for (size_t i = 0; eq && i < sizeof(key_names) / sizeof(key_names[0]); i++)
                        if (strcmp(rdn, key_names[i].win) == 0)
                                key = key_names[i].openssl;
                if (off < cap)
                        off += (size_t)snprintf(out + off, cap - off, "/%s%s%s", key, eq ? "=" : "",
                                                eq ? eq + 1 : "");
        }
        free(u);
        return out;
}

/* A parameter of the message in a malloc'd buffer (two calls: size, data). */
static int msg_param(const mb_win32 *w, HCRYPTMSG msg, DWORD param, DWORD index, uint8_t **ret,
                     DWORD *ret_len, mb_error *err)
{
        DWORD len = 0;
        uint8_t *buf;

        if (!w->CryptMsgGetParam(msg, param, index, NULL, &len) || len == 0)
                return mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CryptMsgGetParam",
                                  "parameter %lu of the signature", (unsigned long)param);
        if (!(buf = malloc(len)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (!w->CryptMsgGetParam(msg, param, index, buf, &len)) {
                free(buf);
                return mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CryptMsgGetParam",
                                  "parameter %lu of the signature", (unsigned long)param);
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static bool blob_eq(const CRYPT_INTEGER_BLOB *a, const CRYPT_INTEGER_BLOB *b)
{
        return a->cbData == b->cbData && (!a->cbData || memcmp(a->pbData, b->pbData, a->cbData) == 0);
}

/* The certificate der as a fact; *ret_is_signer when it is the one whose
 * issuer and serial number the SignerInfo names. */
static int cert_fact(const mb_win32 *w, const uint8_t *der, DWORD len, const CERT_INFO *signer,
                     mb_cert_fact *ret, bool *ret_is_signer, mb_error *err)
{
        PCCERT_CONTEXT ctx = w->CertCreateCertificateContext(X509_ASN_ENCODING, der, len);
        char hex[65];

        if (!ctx)
                return mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CertCreateCertificateContext",
                                  "a certificate of the signature");
        mb_sha256_hex(der, len, hex);
        ret->subject = name_text(w, &ctx->pCertInfo->Subject, "subject", err);
        ret->issuer = ret->subject ? name_text(w, &ctx->pCertInfo->Issuer, "issuer", err) : NULL;
        ret->sha256 = mb_strdup(hex);
        *ret_is_signer = blob_eq(&ctx->pCertInfo->Issuer, &signer->Issuer) &&
                         blob_eq(&ctx->pCertInfo->SerialNumber, &signer->SerialNumber);
        w->CertFreeCertificateContext(ctx);
        if (!ret->subject || !ret->issuer)
                return err->code ? err->code : mb_error_set(err, MB_ENOMEM, "out of memory");
        return ret->sha256 ? 0 : mb_error_set(err, MB_ENOMEM, "out of memory");
}

/* The SHA-256 the signer signed (SpcIndirectDataContent's DigestInfo), or
 * NULL when it is another algorithm. */
static int signed_digest(const mb_win32 *w, HCRYPTMSG msg, char **ret, mb_error *err)
{
        uint8_t *content = NULL, *dec = NULL;
        DWORD len = 0, dlen = 0;
        SPC_INDIRECT_DATA_CONTENT *spc;
        int r = msg_param(w, msg, CMSG_CONTENT_PARAM, 0, &content, &len, err);

        *ret = NULL;
        if (r < 0)
                return r;
        if (!w->CryptDecodeObjectEx(X509_ASN_ENCODING, SPC_INDIRECT_DATA_CONTENT_STRUCT, content, len, 0,
                                    NULL, NULL, &dlen) ||
            !(dec = malloc(dlen)) ||
            !w->CryptDecodeObjectEx(X509_ASN_ENCODING, SPC_INDIRECT_DATA_CONTENT_STRUCT, content, len, 0,
                                    NULL, dec, &dlen)) {
                r = dec || !dlen ? mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CryptDecodeObjectEx",
                                              "the signature's SpcIndirectDataContent")
                                 : mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        spc = (SPC_INDIRECT_DATA_CONTENT *)dec;
        if (spc->DigestAlgorithm.pszObjId && strcmp(spc->DigestAlgorithm.pszObjId, szOID_NIST_sha256) == 0 &&
            spc->Digest.cbData == 32) {
                static const char x[] = "0123456789abcdef";
                char hex[65];

                for (int i = 0; i < 32; i++) {
                        hex[2 * i] = x[spc->Digest.pbData[i] >> 4];
                        hex[2 * i + 1] = x[spc->Digest.pbData[i] & 15];
                }
                hex[64] = 0;
                if (!(*ret = mb_strdup(hex)))
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
        }
out:
        free(dec);
        free(content);
        return r;
}

static int signature_fact(const mb_win32 *w, const mb_pe_blob *b, mb_signature_fact *s, mb_error *err)
{
        HCRYPTMSG msg = w->CryptMsgOpenToDecode(ENCODING, 0, 0, 0, NULL, NULL);
        uint8_t *info_buf = NULL;
        DWORD info_len = 0, count = 0, clen = sizeof(count);
        bool found = false;
        int r = 0;

        if (!msg)
                return mb_w_error(err, MB_EIO, w->GetLastError(), "CryptMsgOpenToDecode", "a signature");
        if (!w->CryptMsgUpdate(msg, b->data, (DWORD)b->size, TRUE)) {
                r = mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CryptMsgUpdate",
                               "a signature is not a PKCS#7 message");
                goto out;
        }
        r = msg_param(w, msg, CMSG_SIGNER_CERT_INFO_PARAM, 0, &info_buf, &info_len, err);
        if (r < 0)
                goto out;
        if (!w->CryptMsgGetParam(msg, CMSG_CERT_COUNT_PARAM, 0, &count, &clen)) {
                r = mb_w_error(err, MB_ECORRUPT, w->GetLastError(), "CryptMsgGetParam",
                               "the signature's certificate count");
                goto out;
        }
        if (count > 64)
                count = 64;
        if (count && !(s->certificates = calloc(count, sizeof(*s->certificates)))) {
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        for (DWORD i = 0; i < count; i++) {
                uint8_t *der = NULL;
                DWORD len = 0;
                bool is_signer = false;
                mb_cert_fact *cf = &s->certificates[s->n_certificates];

                r = msg_param(w, msg, CMSG_CERT_PARAM, i, &der, &len, err);
                if (r == 0) {
                        s->n_certificates++;
                        r = cert_fact(w, der, len, (const CERT_INFO *)info_buf, cf, &is_signer, err);
                }
                free(der);
                if (r < 0)
                        goto out;
                if (is_signer && !found) {
                        found = true;
                        s->subject = mb_strdup(cf->subject);
                        s->issuer = mb_strdup(cf->issuer);
                        s->sha256 = mb_strdup(cf->sha256);
                        if (!s->subject || !s->issuer || !s->sha256) {
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                goto out;
                        }
                }
        }
        if (!found) {
                r = mb_error_set(err, MB_ECORRUPT, "a signature names a signer whose certificate it does not carry");
                goto out;
        }
        r = signed_digest(w, msg, &s->signed_digest, err);
out:
        free(info_buf);
        w->CryptMsgClose(msg);
        return r;
}

int mb_win_boot_image(const mb_win32 *w, const char *name, const uint8_t *data, size_t size,
                      mb_image_fact **ret, mb_error *err)
{
        mb_image_fact *im = calloc(1, sizeof(*im));
        mb_pe_blob *blobs = NULL;
        uint32_t n = 0;
        mb_pe_info pe;
        mb_error perr = { 0 };
        char m[8], v[24];
        int r = 0;

        if (!im)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (mb_pe_parse_image(name, data, size, &pe, &blobs, &n, &perr) < 0) {
                /* not a program the firmware could start: the verdict says so */
                if (!(im->machine = mb_strdup("none"))) {
                        free(im);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                *ret = im;
                return 0;
        }
        mb_pe_version_string(&pe, v);
        im->machine = mb_strdup(mb_pe_machine_name(pe.machine, m));
        im->version = v[0] ? mb_strdup(v) : NULL;
        im->authenticode_sha256 = mb_strdup(pe.authenticode_sha256);
        mb_pe_info_clear(&pe);
        if (!im->machine || !im->authenticode_sha256 || (v[0] && !im->version))
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
        if (r == 0 && n && !(im->signatures = calloc(n, sizeof(*im->signatures))))
                r = mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; r == 0 && i < n; i++) {
                r = signature_fact(w, &blobs[i], &im->signatures[i], err);
                im->n_signatures++;
                if (r < 0)
                        mb_error_prefix(err, "%s: signature %u", name, i + 1);
        }
        free(blobs);
        if (r < 0) {
                mb_image_fact_free(im);
                return r;
        }
        *ret = im;
        return 0;
}
