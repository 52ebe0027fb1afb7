/* SPDX-License-Identifier: MIT */
/*
 * clone: a role's contents copied from one disk to others. efi is compared
 * file by file (path, size, SHA-256) and synchronized, after any BCD edit of
 * the same run so that the copy carries it; other roles (recovery) are
 * compared by their files (names, sizes, attributes, content) when the target
 * reads both volumes' files, else by a hash of the whole partition, and
 * copied block for block.
 */
#include <stdlib.h>
#include <strings.h>

#include "resource.h"

#define BOOTMGR "/EFI/Microsoft/Boot/bootmgfw.efi"
/* FILE_ATTRIBUTE_READONLY | HIDDEN | SYSTEM: what robocopy copies and a
 * reader of the copy sees; ARCHIVE is left out (any write sets it, backup
 * software clears it). */
#define COMPARED_ATTRIBUTES 0x7u

static const mb_file_fact *find_file(const mb_part_fact *p, const char *path)
{
        return mb_part_file(p, path);
}

/* "a.b.c.d" (1 to 4 decimal parts, each < 65536) into v; false otherwise. */
static bool version_parse(const char *s, uint16_t v[4])
{
        int i = 0;

        memset(v, 0, 4 * sizeof(*v));
        while (*s && i < 4) {
                char *end;
                unsigned long x = strtoul(s, &end, 10);

                if (end == s || x > 0xffff)
                        return false;
                v[i++] = (uint16_t)x;
                s = end;
                if (*s == '.')
                        s++;
                else if (*s)
                        return false;
        }
        return !*s && i > 0;
}

static int version_cmp(const uint16_t a[4], const uint16_t b[4])
{
        for (int i = 0; i < 4; i++)
                if (a[i] != b[i])
                        return a[i] < b[i] ? -1 : 1;
        return 0;
}

/* The BCD hive's transaction logs (BCD.LOG, BCD.LOG1, BCD.LOG2) are not
 * content: Windows rewrites them whenever a store is opened, the live
 * store's are held open, and the ESP sync does not copy them. The store
 * itself is compared by the fact the target reports for it (on windows a
 * hash of its objects, see engine/platform/windows/read_facts.c).
 *
 * With own_store (the disks of a mirror with boot: each-disk), the store
 * itself is the target disk's own (resources/disk_boot.c edits it) and is
 * not compared either, once the target has one. */
static bool ignored(const char *path, bool own_store)
{
        static const char logs[] = "/EFI/Microsoft/Boot/BCD.LOG";

        return (strncasecmp(path, logs, sizeof(logs) - 1) == 0 && !strchr(path + sizeof(logs) - 1, '/')) ||
               (own_store && strcasecmp(path, "/EFI/Microsoft/Boot/BCD") == 0);
}

/* Describes how dst's files differ from src's; returns the number of
 * differences. own_store: dst keeps its own BCD store, when it has one. */
static int files_diff(const mb_part_fact *src, const mb_part_fact *dst, bool own_store, char *buf,
                      size_t len)
{
        int changed = 0, missing = 0, extra = 0;
        size_t off = 0;
        char names[160] = "";

        own_store = own_store && find_file(dst, "/EFI/Microsoft/Boot/BCD");

        for (uint32_t i = 0; i < src->n_files; i++) {
                const mb_file_fact *a = &src->files[i], *b = find_file(dst, a->path);

                if (ignored(a->path, own_store))
                        continue;
                if (!b)
                        missing++;
                else if (a->size != b->size || strcasecmp(a->sha256, b->sha256) != 0 ||
                         ((a->attributes ^ b->attributes) & COMPARED_ATTRIBUTES))
                        changed++;
                else
                        continue;
                if (!names[0])
                        snprintf(names, sizeof(names), "%s", a->path);
        }
        for (uint32_t i = 0; dst && i < dst->n_files; i++)
                if (!ignored(dst->files[i].path, own_store) && !find_file(src, dst->files[i].path)) {
                        extra++;
                        if (!names[0])
                                snprintf(names, sizeof(names), "%s", dst->files[i].path);
                }
        buf[0] = '\0';
#define ADD(...) off += (size_t)snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__)
        if (changed)
                ADD("%d file%s differ%s", changed, changed > 1 ? "s" : "", changed > 1 ? "" : "s");
        if (missing)
                ADD("%s%d file%s missing", off ? ", " : "", missing, missing > 1 ? "s" : "");
        if (extra)
                ADD("%s%d extra file%s", off ? ", " : "", extra, extra > 1 ? "s" : "");
        if (names[0])
                ADD(" (%s%s)", names, changed + missing + extra > 1 ? ", ..." : "");
#undef ADD
        return changed + missing + extra;
}

static bool revoked(const mb_facts *f, const mb_image_fact *im)
{
        const mb_firmware_fact *fw = f->firmware;

        for (uint32_t i = 0; fw && im && im->authenticode_sha256 && i < fw->n_dbx; i++)
                if (fw->dbx[i].type && strcmp(fw->dbx[i].type, "sha256") == 0 && fw->dbx[i].sha256 &&
                    strcasecmp(fw->dbx[i].sha256, im->authenticode_sha256) == 0)
                        return true;
        return false;
}

/* "version 10.0.20348.1, sha256 ..." of a boot manager, for people. */
static void describe_bootmgr(const mb_file_fact *file, char *buf, size_t len)
{
        const mb_image_fact *im = file ? file->image : NULL;

        if (!file)
                snprintf(buf, len, "none");
        else if (!im || !im->authenticode_sha256)
                snprintf(buf, len, "file sha256 %s", file->sha256);
        else
                snprintf(buf, len, "version %s, sha256 %s", im->version ? im->version : "unknown",
                         im->authenticode_sha256);
}

/* Whether copying src's ESP over dst's would spread a boot manager that dbx
 * revokes, or replace dst's with an older version (Windows serviced the
 * boot manager while booted from dst). Fills why with both sides and what
 * to do. Pure: facts only. */
static bool bootmgr_conflict(const mb_facts *f, const mb_part_fact *sp, const mb_part_fact *tp,
                             const char *slabel, const char *label, char *why, size_t len)
{
        const mb_file_fact *a = mb_part_file(sp, BOOTMGR), *b = tp ? mb_part_file(tp, BOOTMGR) : NULL;
        const mb_image_fact *ai = a ? a->image : NULL, *bi = b ? b->image : NULL;
        uint16_t va[4], vb[4];
        char da[200], db[200];

        describe_bootmgr(a, da, sizeof(da));
        describe_bootmgr(b, db, sizeof(db));
        if (ai && revoked(f, ai) && !(bi && revoked(f, bi))) {
                snprintf(why, len,
                         "not copying the ESP of %s: its \\EFI\\Microsoft\\Boot\\bootmgfw.efi (%s) is revoked by dbx; "
                         "%s keeps its own (%s). Install the current boot manager on %s (the KB5025885 steps), "
                         "or clone from the disk that has it (from: booted)",
                         slabel, da, label, db, slabel);
                return true;
        }
        if (ai && bi && ai->version && bi->version && sp && tp &&
            version_parse(ai->version, va) && version_parse(bi->version, vb) &&
            version_cmp(vb, va) > 0) {
                snprintf(why, len,
                         "not copying the ESP of %s: it would downgrade %s's \\EFI\\Microsoft\\Boot\\bootmgfw.efi "
                         "from %s to %s. Windows was serviced while booted from %s: clone from it "
                         "(from: booted, or from: the disk it is), or update %s's boot manager first",
                         slabel, label, db, da, label, slabel);
                return true;
        }
        return false;
}

/* Whether a clone of sp onto tp is decided by their files: both volumes'
 * file lists were read (the target leaves content_sha256 NULL then). */
static bool by_files(const mb_part_fact *sp, const mb_part_fact *tp)
{
        return tp && sp->fs == MB_FS_NTFS && tp->fs == MB_FS_NTFS && !sp->content_sha256 &&
               !tp->content_sha256;
}

static bool bcd_changes_pending(const mb_plan *p)
{
        for (size_t i = 0; i < p->n_changes; i++)
                switch (p->changes[i].op.kind) {
                case MB_OP_BCD_COPY_BOOTMGR:
                case MB_OP_BCD_CREATE_LOADER:
                case MB_OP_BCD_SET_DEVICE:
                case MB_OP_BCD_DELETE:
                case MB_OP_BCD_DISPLAYORDER:
                case MB_OP_MIRROR_ADD: /* Windows adds the plex's loader entry */
                        return true;
                default:
                        break;
                }
        return false;
}

/* The declared disk whose ESP the machine booted from (facts' firmware
 * booted), or a negative MB_E* naming what is missing. */
static int booted_index(const mb_config *c, const mb_facts *f, const mb_plan *p, mb_role role,
                        mb_error *err)
{
        mb_disk_fact *d = NULL;

        if (!f->firmware || !f->firmware->booted)
                return mb_error_set(err, MB_ESTATE,
                                    "clone of %s from: booted: the target does not say which ESP the machine booted from "
                                    "(windows: BootCurrent; image target: add booted=GUID of that ESP to the image list)",
                                    mb_role_to_string(role));
        if (!mb_facts_part_by_guid(f, f->firmware->booted, &d) || !d)
                return mb_error_set(err, MB_ESTATE,
                                    "clone of %s from: booted: the ESP the machine booted from (partition %s) is on none of the disks",
                                    mb_role_to_string(role), f->firmware->booted);
        for (uint32_t i = 0; i < c->site->n_disks && i < p->binding.n; i++)
                if (p->binding.number[i] >= 0 && (uint32_t)p->binding.number[i] == d->number)
                        return (int)i;
        return mb_error_set(err, MB_ESTATE,
                            "clone of %s from: booted: the machine booted from disk %u, which is not a declared disk",
                            mb_role_to_string(role), d->number);
}

/* Config check: the clones of site.yaml (row of mb_resources[]). */
int mb_res_clone_check(const mb_config *c, mb_error *err)
{
        const mb_site *s = c->site;
        mb_ynode *cs = mb_ynode_get(c->doc->root, "clones");
        int r;

        for (uint32_t i = 0; i < s->n_clones; i++) {
                const mb_site_clone *k = &s->clones[i];
                mb_ynode *kn = mb_ynode_at(cs, i);
                bool booted;

                if (!mb_config_has_role(c, k->role))
                        return RES_AT(mb_ynode_get(kn, "role"),
                                      "clone role '%s' is not among the partitions' roles; expected one of the roles under 'partitions'",
                                      mb_role_to_string(k->role));
                if (k->role == MB_ROLE_MSR)
                        return RES_AT(mb_ynode_get(kn, "role"),
                                      "the msr role has no contents to clone; expected efi or recovery");
                for (uint32_t j = 0; j < s->n_mirrors; j++)
                        if (s->mirrors[j].role == k->role)
                                return RES_AT(mb_ynode_get(kn, "role"),
                                              "role '%s' is both mirrored and cloned; expected one of the two",
                                              mb_role_to_string(k->role));
                for (uint32_t j = 0; j < i; j++)
                        if (s->clones[j].role == k->role)
                                return RES_AT(mb_ynode_get(kn, "role"),
                                              "role '%s' is cloned twice; expected one clone per role",
                                              mb_role_to_string(k->role));
                booted = strcmp(k->from, MB_CLONE_FROM_BOOTED) == 0;
                if (booted && mb_config_disk_index(c, k->from) >= 0)
                        return RES_AT(mb_ynode_get(kn, "from"),
                                      "clone from: 'booted' is both a declared disk and the disk the machine booted from; rename the disk");
                if (!booted && mb_config_disk_index(c, k->from) < 0)
                        return RES_AT(mb_ynode_get(kn, "from"),
                                      "clone from: unknown disk '%s'; expected a name declared under 'disks' or 'booted'",
                                      k->from);
                r = mb_config_check_names(c, mb_ynode_get(kn, "to"), k->to, k->n_to, "clone to", err);
                if (r)
                        return r;
                if (booted && k->n_to < 2)
                        return RES_AT(mb_ynode_get(kn, "to"),
                                      "clone of '%s' from: booted: expected every disk that may have booted under 'to' (at least two); "
                                      "the one the machine booted from is the source",
                                      mb_role_to_string(k->role));
                for (uint32_t j = 0; j < k->n_to && !booted; j++)
                        if (strcmp(k->to[j], k->from) == 0)
                                return RES_AT(mb_ynode_at(mb_ynode_get(kn, "to"), j),
                                              "clone of '%s' from disk '%s' to itself; expected a different target disk",
                                              mb_role_to_string(k->role), k->from);
                if (!booted && !mb_config_in_partition_disks(c, mb_config_disk_index(c, k->from)))
                        return RES_AT(mb_ynode_get(kn, "from"),
                                      "clone source '%s' is not listed in partitions.disks", k->from);
                for (uint32_t j = 0; j < k->n_to; j++)
                        if (!mb_config_in_partition_disks(c, mb_config_disk_index(c, k->to[j])))
                                return RES_AT(mb_ynode_at(mb_ynode_get(kn, "to"), j),
                                              "clone target '%s' is not listed in partitions.disks", k->to[j]);
        }
        return 0;
}

int mb_res_clone_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        char want[MB_CHANGE_TEXT];
        int rc;

        for (uint32_t k = 0; k < c->site->n_clones; k++) {
                const mb_site_clone *sc = &c->site->clones[k];
                int from = strcmp(sc->from, MB_CLONE_FROM_BOOTED) == 0 ? booted_index(c, f, p, sc->role, err)
                                                                       : mb_config_disk_index(c, sc->from);
                mb_disk_fact *sd;
                const mb_part_fact *sp;
                char slabel[128];

                if (from < -1)
                        return from;    /* from: booted, unresolved; err is set */
                sd = res_disk(c, f, p, from);
                sp = sd ? mb_disk_part_by_role(sd, sc->role) : NULL;
                if (!sd)
                        continue;
                mb_plan_disk_label(c, &p->binding, from, slabel, sizeof(slabel));
                if (!sp)
                        return mb_error_set(err, MB_ESTATE,
                                            "clone of %s: source disk %s has no %s partition",
                                            mb_role_to_string(sc->role), slabel,
                                            mb_role_to_string(sc->role));
                for (uint32_t i = 0; i < sc->n_to; i++) {
                        int idx = mb_config_disk_index(c, sc->to[i]);
                        mb_disk_fact *t = res_disk(c, f, p, idx);
                        const mb_part_fact *tp = t ? mb_disk_part_by_role(t, sc->role) : NULL;
                        size_t before = p->n_changes;
                        char label[128], subject[192], what[256];
                        mb_op op;

                        if (!t || idx == from)
                                continue;
                        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
                        snprintf(subject, sizeof(subject), "%s of %s on %s", mb_role_to_string(sc->role),
                                 slabel, label);
                        if (sc->role == MB_ROLE_EFI) {
                                bool own = res_each_disk_plex(c, sc->to[i]) &&
                                           res_each_disk_plex(c, c->site->disks[from].name);
                                bool pending = bcd_changes_pending(p) &&
                                               !(own && mb_part_file(tp, "/EFI/Microsoft/Boot/BCD"));

                                if (!tp)
                                        snprintf(what, sizeof(what), "no ESP yet");
                                else if (tp->fs != MB_FS_FAT32)
                                        snprintf(what, sizeof(what), "no FAT32 file system yet");
                                else if (!files_diff(sp, tp, own, what, sizeof(what)) && !pending)
                                        goto kept;
                                if (tp && tp->fs == MB_FS_FAT32 && what[0]) {
                                        char why[1200];

                                        if (bootmgr_conflict(f, sp, tp, slabel, label, why, sizeof(why))) {
                                                if (mb_plan_conflict(p, "%s: %s", subject, why) < 0)
                                                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                                                rc = mb_plan_status(p, MB_RES_CLONE, subject, before, true, err);
                                                if (rc)
                                                        return rc;
                                                continue;
                                        }
                                }
                                if (!what[0])
                                        snprintf(what, sizeof(what), "identical before this run's BCD changes");
                                res_op_init(&op, MB_OP_SYNC_FILES, t, sc->role);
                                op.disk2 = sd->number;
                                op.keep_store = own;
                                rc = mb_plan_add(p, MB_RES_CLONE, subject, true, &op, what,
                                                 own ? res_text(want, "file-identical to %s's ESP (%u files) but for the BCD store, which is %s's own (copied when it has none)",
                                                                slabel, sp->n_files, label)
                                                     : res_text(want, "file-identical to %s's ESP (%u files, BCD included)",
                                                                slabel, sp->n_files),
                                                 err);
                                if (rc)
                                        return rc;
                        } else {
                                if (tp && tp->last_lba - tp->first_lba != sp->last_lba - sp->first_lba)
                                        return mb_error_set(err, MB_ESTATE,
                                                            "clone of %s: partition %u on %s has %llu sectors, the source %llu; expected equal sizes for a block copy",
                                                            mb_role_to_string(sc->role), tp->number, label,
                                                            (unsigned long long)(tp->last_lba - tp->first_lba + 1),
                                                            (unsigned long long)(sp->last_lba - sp->first_lba + 1));
                                if (by_files(sp, tp)) {
                                        if (!files_diff(sp, tp, false, what, sizeof(what)))
                                                goto kept;
                                } else if (tp && tp->content_sha256 && sp->content_sha256 &&
                                           strcasecmp(tp->content_sha256, sp->content_sha256) == 0) {
                                        goto kept;
                                } else {
                                        snprintf(what, sizeof(what), "%s",
                                                 !tp ? "no partition yet" : !tp->content_sha256 ? "contents unknown" :
                                                 !sp->content_sha256 ? "not readable as NTFS" : "contents differ (SHA-256)");
                                }
                                res_op_init(&op, MB_OP_CLONE_BLOCKS, t, sc->role);
                                op.disk2 = sd->number;
                                if (!sp->content_sha256)
                                        res_text(want, "file-identical to %s's %s partition (%u files), copied block for block",
                                                 slabel, mb_role_to_string(sc->role), sp->n_files);
                                else
                                        res_text(want, "block-identical to %s's %s partition", slabel,
                                                 mb_role_to_string(sc->role));
                                rc = mb_plan_add(p, MB_RES_CLONE, subject, true, &op, what, want, err);
                                if (rc)
                                        return rc;
                        }
kept:
                        rc = mb_plan_status(p, MB_RES_CLONE, subject, before, false, err);
                        if (rc)
                                return rc;
                }
        }
        return 0;
}
