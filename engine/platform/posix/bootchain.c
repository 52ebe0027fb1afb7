/* SPDX-License-Identifier: MIT */
/*
 * Boot-chain facts of a wing machine: the boot programs on each ESP
 * (\EFI\Microsoft\Boot\bootmgfw.efi and the fallback \EFI\Boot\bootx64.efi)
 * as PE/COFF images, and the Secure Boot state of the variable store
 * (SecureBoot, db, dbx). See engine/format/pe and efivars/siglist.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "format/efivars/efivars.h"
#include "format/pe/pe.h"
#include "platform/posix/bootchain.h"

const char *const mb_boot_programs[] = {
        "/EFI/Microsoft/Boot/bootmgfw.efi",
        "/EFI/Boot/bootx64.efi",
};

static char *dup_or_null(const char *s)
{
        return s && *s ? strdup(s) : NULL;
}

static int cert_fact(const mb_x509_info *x, mb_cert_fact *c)
{
        c->subject = strdup(x->subject);
        c->issuer = strdup(x->issuer);
        c->sha256 = strdup(x->sha256);
        return c->subject && c->issuer && c->sha256 ? 0 : MB_ENOMEM;
}

/* The mb_image_fact of a parsed PE image; NULL when out of memory. */
static mb_image_fact *image_fact(const mb_pe_info *pe)
{
        mb_image_fact *im = calloc(1, sizeof(*im));
        char m[8], v[24];

        if (!im)
                return NULL;
        mb_pe_version_string(pe, v);
        im->machine = strdup(mb_pe_machine_name(pe->machine, m));
        im->version = dup_or_null(v);
        im->authenticode_sha256 = strdup(pe->authenticode_sha256);
        if (!im->machine || !im->authenticode_sha256 || (v[0] && !im->version))
                goto nomem;
        if (pe->n_signatures && !(im->signatures = calloc(pe->n_signatures, sizeof(*im->signatures))))
                goto nomem;
        for (uint32_t i = 0; i < pe->n_signatures; i++) {
                const mb_pe_signature *ps = &pe->signatures[i];
                mb_signature_fact *s = &im->signatures[im->n_signatures++];
                mb_cert_fact signer = { 0 };

                if (cert_fact(&ps->signer, &signer) < 0) {
                        free(signer.subject), free(signer.issuer), free(signer.sha256);
                        goto nomem;
                }
                s->subject = signer.subject;
                s->issuer = signer.issuer;
                s->sha256 = signer.sha256;
                if (ps->signed_digest[0] && !(s->signed_digest = strdup(ps->signed_digest)))
                        goto nomem;
                if (ps->n_certs && !(s->certificates = calloc(ps->n_certs, sizeof(*s->certificates))))
                        goto nomem;
                for (uint32_t k = 0; k < ps->n_certs; k++) {
                        s->n_certificates++;
                        if (cert_fact(&ps->certs[k], &s->certificates[k]) < 0)
                                goto nomem;
                }
        }
        return im;
nomem:
        mb_image_fact_free(im);
        return NULL;
}

bool img_is_boot_program(const char *path)
{
        for (size_t i = 0; i < sizeof(mb_boot_programs) / sizeof(mb_boot_programs[0]); i++)
                if (strcasecmp(path, mb_boot_programs[i]) == 0)
                        return true;
        return false;
}

int img_boot_program_fact(const char *local_path, mb_image_fact **ret, mb_error *err)
{
        mb_error perr = { 0 };
        mb_image_fact *im;
        mb_pe_info pe;

        if (mb_pe_parse_file(local_path, &pe, &perr) < 0) {
                /* Not a boot program the firmware could start: the verdict
                 * says so; the facts still load. */
                if (!(im = calloc(1, sizeof(*im))) || !(im->machine = strdup("none"))) {
                        free(im);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                *ret = im;
                return 0;
        }
        im = image_fact(&pe);
        mb_pe_info_clear(&pe);
        if (!im)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        *ret = im;
        return 0;
}

static int sig_facts(const char *what, const mb_efivars *v, const char *name, mb_sig_fact **ret,
                     uint32_t *ret_n, mb_error *err)
{
        mb_efi_signature *s = NULL;
        mb_sig_fact *out = NULL;
        uint32_t n = 0, k = 0;
        mb_efivar var;
        int rc;

        rc = mb_efivars_get(v, &mb_efi_image_security_database, name, &var, err);
        if (rc == MB_ENOENT)
                return 0;
        if (rc < 0)
                return rc;
        rc = mb_efi_siglist_parse(what, var.data, var.size, &s, &n, err);
        if (rc < 0)
                return rc;
        if (n && !(out = calloc(n, sizeof(*out))))
                goto nomem;
        for (k = 0; k < n; k++) {
                mb_sig_fact *o = &out[k];
                char g[MB_GUID_STR_LEN], hex[65];

                if (!(o->type = strdup(mb_efi_sig_type_to_string(s[k].type))) ||
                    !(o->owner = strdup(mb_guid_format(&s[k].owner, g))))
                        goto nomem;
                if (s[k].type == MB_EFI_SIG_X509) {
                        mb_x509_info x;

                        rc = mb_x509_describe(s[k].data, s[k].size, &x, err);
                        if (rc < 0) {
                                mb_error_prefix(err, "%s: entry %u", what, k + 1);
                                goto fail;
                        }
                        o->subject = strdup(x.subject);
                        o->issuer = strdup(x.issuer);
                        o->sha256 = strdup(x.sha256);
                        if (!o->subject || !o->issuer || !o->sha256)
                                goto nomem;
                } else if ((s[k].type == MB_EFI_SIG_SHA256 || s[k].type == MB_EFI_SIG_X509_SHA256) &&
                           s[k].size >= 32) {
                        for (int b = 0; b < 32; b++)
                                snprintf(hex + 2 * b, 3, "%02x", s[k].data[b]);
                        if (!(o->sha256 = strdup(hex)))
                                goto nomem;
                }
        }
        free(s);
        *ret = out;
        *ret_n = n;
        return 0;
nomem:
        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
fail:
        mb_sig_facts_free(out, n);
        free(s);
        return rc;
}

int img_secure_boot_facts(mb_posix_machine *ip, mb_firmware_fact *fw, mb_error *err)
{
        mb_efivars *v;
        char what[600];
        int rc;

        rc = mb_efivars_load(ip->nvram, &v, err);
        if (rc < 0)
                return rc;
        rc = mb_efivars_secure_boot(v, &fw->secure_boot, err);
        snprintf(what, sizeof(what), "%s: db", ip->nvram);
        if (rc == 0)
                rc = sig_facts(what, v, "db", &fw->db, &fw->n_db, err);
        snprintf(what, sizeof(what), "%s: dbx", ip->nvram);
        if (rc == 0)
                rc = sig_facts(what, v, "dbx", &fw->dbx, &fw->n_dbx, err);
        if (rc == 0 && ip->booted && !(fw->booted = strdup(ip->booted)))
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        mb_efivars_free(v);
        return rc;
}
