/* SPDX-License-Identifier: MIT */
/* Per-disk boot verdict (see bootability.h). */
#include "bootability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOOTMGR "/EFI/Microsoft/Boot/bootmgfw.efi"
#define FALLBACK "/EFI/Boot/bootx64.efi"
#define BCD "/EFI/Microsoft/Boot/BCD"

/* "\EFI\x" <-> "/EFI/x" */
static void to_fat(const char *in, char *out, size_t len)
{
        size_t i = 0;

        for (; in[i] && i + 1 < len; i++)
                out[i] = in[i] == '\\' ? '/' : in[i];
        out[i] = 0;
}

static void to_efi(const char *in, char *out, size_t len)
{
        size_t i = 0;

        for (; in[i] && i + 1 < len; i++)
                out[i] = in[i] == '/' ? '\\' : in[i];
        out[i] = 0;
}

static bool in_list(const mb_sig_fact *s, uint32_t n, const char *type, const char *sha256)
{
        for (uint32_t i = 0; sha256 && i < n; i++)
                if (s[i].type && s[i].sha256 && strcmp(s[i].type, type) == 0 &&
                    strcasecmp(s[i].sha256, sha256) == 0)
                        return true;
        return false;
}

static bool issued_by_db(const mb_firmware_fact *fw, const char *issuer)
{
        for (uint32_t i = 0; issuer && i < fw->n_db; i++)
                if (fw->db[i].type && strcmp(fw->db[i].type, "x509") == 0 && fw->db[i].subject &&
                    strcmp(fw->db[i].subject, issuer) == 0)
                        return true;
        return false;
}

/* Secure Boot's decision on one program; "" when it would run. */
static void secure_boot_check(const mb_firmware_fact *fw, const mb_image_fact *im, const char *name,
                              char *why, size_t len)
{
        const char *dig = im->authenticode_sha256;

        why[0] = 0;
        if (in_list(fw->dbx, fw->n_dbx, "sha256", dig)) {
                snprintf(why, len, "%s sha256 %s is revoked by dbx", name, dig);
                return;
        }
        if (in_list(fw->db, fw->n_db, "sha256", dig))
                return;
        if (!im->n_signatures) {
                snprintf(why, len, "%s (sha256 %s) is not signed and its digest is not in db", name, dig);
                return;
        }
        for (uint32_t i = 0; i < im->n_signatures; i++) {
                const mb_signature_fact *s = &im->signatures[i];
                bool revoked = in_list(fw->dbx, fw->n_dbx, "x509", s->sha256), trusted;

                for (uint32_t k = 0; k < s->n_certificates && !revoked; k++)
                        revoked = in_list(fw->dbx, fw->n_dbx, "x509", s->certificates[k].sha256);
                if (revoked) {
                        snprintf(why, len, "%s: the certificate chain of signer %s is revoked by dbx", name,
                                 s->subject ? s->subject : "?");
                        continue;
                }
                if (!s->signed_digest || !dig || strcasecmp(s->signed_digest, dig) != 0) {
                        snprintf(why, len, "%s: signature %u was made for sha256 %s, the file's digest is %s",
                                 name, i + 1, s->signed_digest ? s->signed_digest : "(not SHA-256)", dig);
                        continue;
                }
                trusted = in_list(fw->db, fw->n_db, "x509", s->sha256) || issued_by_db(fw, s->issuer);
                for (uint32_t k = 0; k < s->n_certificates && !trusted; k++)
                        trusted = in_list(fw->db, fw->n_db, "x509", s->certificates[k].sha256) ||
                                  issued_by_db(fw, s->certificates[k].issuer);
                if (trusted) {
                        why[0] = 0;
                        return;
                }
                snprintf(why, len, "%s: signer %s (issued by %s) does not chain to a certificate in db",
                         name, s->subject ? s->subject : "?", s->issuer ? s->issuer : "?");
        }
}

/* Why the os-loader o would not start, "" when it may: its path was looked
 * up on the volume its device names and is not there. */
static void loader_check(const mb_bcd_object_fact *o, char *why, size_t len)
{
        why[0] = 0;
        if (o->path_check && !o->path_check->exists)
                snprintf(why, len, "the loader \"%s\" path %s does not exist on %s",
                         o->description ? o->description : o->id, o->path ? o->path : "",
                         o->path_check->volume ? o->path_check->volume : "its device");
}

static bool is_os_loader(const mb_bcd_object_fact *o)
{
        return o && o->type && strcmp(o->type, "os-loader") == 0;
}

static void store_check(const mb_facts *f, const mb_disk_fact *disk, const mb_bcd_fact *s, bool live,
                        char *why, size_t len);

/* The BCD of the ESP reaches an os-loader on a present disk whose path is
 * not known to be missing, and its default loader (the default element, or
 * the first of {bootmgr}'s displayorder) is not known to be broken; "" if
 * so (or when the facts cannot tell: the store read is another ESP's,
 * different). The store is the ESP's own when the facts carry it (part
 * bcd), else the system store when the ESP's file has its bytes: the one
 * the facts name ("disk 0 partition 1 ..."), or, for the live store, the
 * system disk's. */
static void bcd_check(const mb_facts *f, const mb_disk_fact *disk, const mb_part_fact *esp,
                      char *why, size_t len)
{
        const mb_file_fact *bcd = mb_part_file(esp, BCD), *sys = NULL;
        unsigned dn, pn;
        bool live = false;

        why[0] = 0;
        if (!bcd) {
                snprintf(why, len, "disk %u's ESP has no \\EFI\\Microsoft\\Boot\\BCD", disk->number);
                return;
        }
        if (esp->bcd) {
                /* a store Windows read (the system store is not "disk N ..."):
                 * how it names a dynamic boot volume is not yet observed */
                store_check(f, disk, esp->bcd,
                            f->bcd && f->bcd->store && strncmp(f->bcd->store, "disk ", 5) != 0, why, len);
                return;
        }
        if (!f->bcd || !f->bcd->store)
                return;
        if (sscanf(f->bcd->store, "disk %u partition %u", &dn, &pn) == 2) {
                const mb_disk_fact *sd = mb_facts_disk(f, dn);
                const mb_part_fact *sp = sd ? mb_disk_part_by_number(sd, pn) : NULL;

                sys = sp ? mb_part_file(sp, BCD) : NULL;
        } else {
                /* the live store (Windows): the one on the ESP the system booted from */
                live = true;
                for (uint32_t i = 0; i < f->n_disks && !sys; i++) {
                        const mb_part_fact *sp = f->disks[i].system
                                                         ? mb_disk_part_by_role(&f->disks[i], MB_ROLE_EFI)
                                                         : NULL;

                        sys = sp ? mb_part_file(sp, BCD) : NULL;
                }
        }
        if (!sys || !sys->sha256 || !bcd->sha256 || strcmp(sys->sha256, bcd->sha256) != 0)
                return;
        store_check(f, disk, f->bcd, live, why, len);
}

/* The rules of bcd_check on one store's objects. */
static void store_check(const mb_facts *f, const mb_disk_fact *disk, const mb_bcd_fact *s, bool live,
                        char *why, size_t len)
{
        const mb_bcd_object_fact *bm = mb_bcd_store_object(s, "{bootmgr}"), *def;

        why[0] = 0;
        if (!bm)
                return;
        /* the boot manager starts the default without a prompt: a missing file
         * there, or a device on a disk that is gone, stops an unattended boot
         * at an error screen */
        def = mb_bcd_store_object(s, mb_bcd_default_id(bm));
        if (is_os_loader(def)) {
                loader_check(def, why, len);
                if (why[0])
                        return;
                if (!live && def->osdevice && def->osdevice->kind &&
                    strcmp(def->osdevice->kind, "partition") == 0 && def->osdevice->partition &&
                    !mb_facts_part_by_guid(f, def->osdevice->partition, NULL)) {
                        snprintf(why, len, "the default loader \"%s\" of the BCD on disk %u's ESP boots partition %s, which is on none of the disks",
                                 def->description ? def->description : def->id, disk->number,
                                 def->osdevice->partition);
                        return;
                }
        }
        for (uint32_t i = 0; i < bm->n_displayorder; i++) {
                const mb_bcd_object_fact *o = mb_bcd_store_object(s, bm->displayorder[i]);

                if (!is_os_loader(o) || !o->osdevice || !o->osdevice->partition ||
                    !mb_facts_part_by_guid(f, o->osdevice->partition, NULL))
                        continue;
                loader_check(o, why, len);
                if (!why[0])
                        return;
        }
        /* on Windows, how the store names a dynamic boot volume is not yet
         * observed (README): there only a loader found missing is a reason */
        if (!why[0] && !live)
                snprintf(why, len, "the BCD on disk %u's ESP reaches no os-loader on a disk that is present",
                         disk->number);
}

typedef struct candidate {
        char label[200];
        char path[300];         /* FAT form */
} candidate;

void mb_disk_boot_verdict(const mb_facts *f, const mb_disk_fact *disk, mb_boot_verdict *ret)
{
        const mb_firmware_fact *fw = f->firmware;
        const mb_part_fact *esp = NULL;
        candidate c[66];
        size_t nc = 0, off = 0;
        char why[768];

        memset(ret, 0, sizeof(*ret));
        ret->secure_boot = fw && fw->secure_boot;
        for (uint32_t i = 0; i < disk->n_partitions && !esp; i++)
                if (disk->partitions[i].role == MB_ROLE_EFI)
                        esp = &disk->partitions[i];
        if (!esp) {
                snprintf(ret->reason, sizeof(ret->reason), "no ESP");
                return;
        }
        if (esp->fs != MB_FS_FAT32) {
                snprintf(ret->reason, sizeof(ret->reason), "its ESP (partition %u) has no FAT file system",
                         esp->number);
                return;
        }
        if (fw) {
                for (uint32_t i = 0; i < fw->n_order && nc < 64; i++)
                        for (uint32_t k = 0; k < fw->n_entries; k++) {
                                const mb_fw_entry_fact *e = &fw->entries[k];

                                if (e->number != fw->order[i] || !e->active || !e->partition ||
                                    !esp->unique_guid || strcasecmp(e->partition, esp->unique_guid) != 0)
                                        continue;
                                snprintf(c[nc].label, sizeof(c[nc].label), "Boot%04X \"%s\"", e->number,
                                         e->description ? e->description : "");
                                to_fat(e->path ? e->path : "", c[nc].path, sizeof(c[nc].path));
                                nc++;
                        }
        } else {
                snprintf(c[nc].label, sizeof(c[nc].label), "the boot manager");
                snprintf(c[nc].path, sizeof(c[nc].path), "%s", BOOTMGR);
                nc++;
        }
        snprintf(c[nc].label, sizeof(c[nc].label), "the fallback");
        snprintf(c[nc].path, sizeof(c[nc].path), "%s", FALLBACK);
        nc++;
        for (size_t i = 0; i < nc; i++) {
                const mb_file_fact *file = mb_part_file(esp, c[i].path);
                const mb_image_fact *im = file ? file->image : NULL;
                char name[300];
                bool sb = false;

                to_efi(c[i].path, name, sizeof(name));
                why[0] = 0;
                if (!file) {
                        if (i + 1 == nc && nc > 1)
                                snprintf(why, sizeof(why), "no fallback %s", name);
                        else
                                snprintf(why, sizeof(why), "%s names %s, which is not on disk %u's ESP",
                                         c[i].label, name, disk->number);
                } else if (im && im->machine && strcmp(im->machine, "none") == 0) {
                        snprintf(why, sizeof(why), "%s is not a PE/COFF boot program", name);
                } else if (im && im->machine && strcmp(im->machine, "x64") != 0) {
                        snprintf(why, sizeof(why), "%s is a program for %s, not x64", name, im->machine);
                } else if (ret->secure_boot && im) {
                        secure_boot_check(fw, im, name, why, sizeof(why));
                        sb = why[0] != 0;
                }
                if (!why[0])
                        bcd_check(f, disk, esp, why, sizeof(why));
                if (!why[0]) {
                        ret->bootable = true;
                        ret->by_secure_boot = false;
                        snprintf(ret->via, sizeof(ret->via), "%s %s", c[i].label, name);
                        ret->reason[0] = 0;
                        return;
                }
                ret->by_secure_boot |= sb;
                if (strstr(ret->reason, why))   /* the same store behind another entry */
                        continue;
                if (off < sizeof(ret->reason))
                        off += (size_t)snprintf(ret->reason + off, sizeof(ret->reason) - off, "%s%s",
                                                off ? "; " : "", why);
        }
}

void mb_boot_verdict_of(const mb_config *cfg, const mb_facts *f, const mb_disk_fact *disk,
                        mb_boot_verdict *ret)
{
        (void)cfg;      /* the site's names are the caller's; the rules are the disk's */
        mb_disk_boot_verdict(f, disk, ret);
}

int mb_facts_boot_verdicts(mb_facts *f, mb_error *err)
{
        for (uint32_t i = 0; i < f->n_disks; i++) {
                mb_disk_fact *d = &f->disks[i];
                mb_disk_boot_fact *b;
                mb_boot_verdict v;
                bool has_esp = false;

                mb_disk_boot_fact_free(d->boot);
                d->boot = NULL;
                for (uint32_t k = 0; k < d->n_partitions; k++)
                        has_esp |= d->partitions[k].role == MB_ROLE_EFI;
                if (!has_esp)
                        continue;
                mb_disk_boot_verdict(f, d, &v);
                if (!(b = calloc(1, sizeof(*b))))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                b->bootable = v.bootable;
                b->secure_boot = v.secure_boot;
                d->boot = b;
                if ((v.via[0] && !(b->via = strdup(v.via))) ||
                    (v.reason[0] && !(b->reason = strdup(v.reason))))
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        return 0;
}

void mb_boot_verdict_line(const mb_disk_fact *disk, const mb_boot_verdict *v, char *buf, size_t len)
{
        if (v->bootable)
                snprintf(buf, len, "disk %u boots%s through %s", disk->number,
                         v->secure_boot ? " with Secure Boot on" : "", v->via);
        else
                snprintf(buf, len, "disk %u would not boot%s: %s", disk->number,
                         v->by_secure_boot ? " with Secure Boot on" : "", v->reason);
}
