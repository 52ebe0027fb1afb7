/* SPDX-License-Identifier: MIT */
/*
 * clone: a role's contents copied from one disk to others. efi is compared
 * file by file (path, size, SHA-256) and synchronized, after any BCD edit of
 * the same run so that the copy carries it; other roles (recovery) are
 * compared by their files (names, sizes, attributes, content) when the target
 * reads both volumes' files, else by a hash of the whole partition, and
 * copied block for block.
 */
#include <strings.h>

#include "resource.h"

/* FILE_ATTRIBUTE_READONLY | HIDDEN | SYSTEM: what robocopy copies and a
 * reader of the copy sees; ARCHIVE is left out (any write sets it, backup
 * software clears it). */
#define COMPARED_ATTRIBUTES 0x7u

static const mb_file_fact *find_file(const mb_part_fact *p, const char *path)
{
        for (uint32_t i = 0; p && i < p->n_files; i++)
                if (strcasecmp(p->files[i].path, path) == 0)
                        return &p->files[i];
        return NULL;
}

/* The BCD hive's transaction logs (BCD.LOG, BCD.LOG1, BCD.LOG2) are not
 * content: Windows rewrites them whenever a store is opened, the live
 * store's are held open, and the ESP sync does not copy them. The store
 * itself is compared by the fact the target reports for it (on windows a
 * hash of its objects, see engine/platform/windows/read_facts.c). */
static bool ignored(const char *path)
{
        static const char logs[] = "/EFI/Microsoft/Boot/BCD.LOG";

        return strncasecmp(path, logs, sizeof(logs) - 1) == 0 && !strchr(path + sizeof(logs) - 1, '/');
}

/* Describes how dst's files differ from src's; returns the number of differences. */
static int files_diff(const mb_part_fact *src, const mb_part_fact *dst, char *buf, size_t len)
{
        int changed = 0, missing = 0, extra = 0;
        size_t off = 0;
        char names[160] = "";

        for (uint32_t i = 0; i < src->n_files; i++) {
                const mb_file_fact *a = &src->files[i], *b = find_file(dst, a->path);

                if (ignored(a->path))
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
                if (!ignored(dst->files[i].path) && !find_file(src, dst->files[i].path)) {
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

int mb_res_clone_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        for (uint32_t k = 0; k < c->site->n_clones; k++) {
                const mb_site_clone *sc = &c->site->clones[k];
                int from = mb_config_disk_index(c, sc->from);
                mb_disk_fact *sd = res_disk(c, f, p, from);
                const mb_part_fact *sp = sd ? mb_disk_part_by_role(sd, sc->role) : NULL;
                char slabel[128];

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

                        if (!t)
                                continue;
                        mb_plan_disk_label(c, &p->binding, idx, label, sizeof(label));
                        snprintf(subject, sizeof(subject), "%s of %s on %s", mb_role_to_string(sc->role),
                                 slabel, label);
                        if (sc->role == MB_ROLE_EFI) {
                                bool pending = bcd_changes_pending(p);

                                if (!tp)
                                        snprintf(what, sizeof(what), "no ESP yet");
                                else if (tp->fs != MB_FS_FAT32)
                                        snprintf(what, sizeof(what), "no FAT32 file system yet");
                                else if (!files_diff(sp, tp, what, sizeof(what)) && !pending)
                                        goto kept;
                                else if (!what[0])
                                        snprintf(what, sizeof(what), "identical before this run's BCD changes");
                                res_op_init(&op, MB_OP_SYNC_FILES, t, sc->role);
                                op.disk2 = sd->number;
                                RES_CHANGE(p, MB_RES_CLONE, subject, true, &op, "%s", what);
                                snprintf(p->changes[p->n_changes - 1].desired, 256,
                                         "file-identical to %s's ESP (%u files, BCD included)", slabel, sp->n_files);
                        } else {
                                if (tp && tp->last_lba - tp->first_lba != sp->last_lba - sp->first_lba)
                                        return mb_error_set(err, MB_ESTATE,
                                                            "clone of %s: partition %u on %s has %llu sectors, the source %llu; expected equal sizes for a block copy",
                                                            mb_role_to_string(sc->role), tp->number, label,
                                                            (unsigned long long)(tp->last_lba - tp->first_lba + 1),
                                                            (unsigned long long)(sp->last_lba - sp->first_lba + 1));
                                if (by_files(sp, tp)) {
                                        if (!files_diff(sp, tp, what, sizeof(what)))
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
                                RES_CHANGE(p, MB_RES_CLONE, subject, true, &op, "%s", what);
                                if (!sp->content_sha256)
                                        snprintf(p->changes[p->n_changes - 1].desired, 256,
                                                 "file-identical to %s's %s partition (%u files), copied block for block",
                                                 slabel, mb_role_to_string(sc->role), sp->n_files);
                                else
                                        snprintf(p->changes[p->n_changes - 1].desired, 256,
                                                 "block-identical to %s's %s partition", slabel,
                                                 mb_role_to_string(sc->role));
                        }
kept:
                        mb_plan_status(p, MB_RES_CLONE, subject, before);
                }
        }
        return 0;
}
