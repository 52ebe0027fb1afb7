/* SPDX-License-Identifier: MIT */
/*
 * The Windows target's rendering of an operation as the commands an
 * administrator would type (diskpart scripts, bcdedit lines, copies): the
 * steps exec.c runs and `--commands windows` prints, with checks that every
 * name put on a command line is one the facts hold.
 */
#include "windows_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EFI_GLOBAL_GUID "{8be4df61-93ca-11d2-aa0d-00e098032b8c}"
#define BCD_TMP_NAME "BCD.mbstate"

/* ---- steps ---- */

static int add_step(mb_win_steps *s, mb_win_step_kind kind, char *text, const char *a1,
                    const char *a2, mb_error *err)
{
        mb_win_step *v;

        if (!text)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        v = mb_reallocarray(s->v, s->n + 1, sizeof(*v));
        if (!v) {
                free(text);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        s->v = v;
        v[s->n].kind = kind;
        v[s->n].text = text;
        v[s->n].arg1 = mb_strdup(a1);
        v[s->n].arg2 = mb_strdup(a2);
        v[s->n].always = false;
        s->n++;
        return 0;
}

static char *fmt(const char *f, ...) MB_PRINTF(1, 2);
static char *fmt(const char *f, ...)
{
        va_list ap;
        char *s;
        int n;

        va_start(ap, f);
        n = vsnprintf(NULL, 0, f, ap);
        va_end(ap);
        if (n < 0 || !(s = malloc((size_t)n + 1)))
                return NULL;
        va_start(ap, f);
        vsnprintf(s, (size_t)n + 1, f, ap);
        va_end(ap);
        return s;
}

/* Appends to a growing malloc'd string; on failure frees it and sets NULL. */
static void append(char **buf, size_t *len, const char *text, size_t n)
{
        char *b;

        if (!*buf)
                return;
        b = realloc(*buf, *len + n + 1);
        if (!b) {
                free(*buf);
                *buf = NULL;
                return;
        }
        memcpy(b + *len, text, n);
        *len += n;
        b[*len] = '\0';
        *buf = b;
}

void mb_win_steps_clear(mb_win_steps *s)
{
        for (size_t i = 0; s && i < s->n; i++) {
                free(s->v[i].text);
                free(s->v[i].arg1);
                free(s->v[i].arg2);
        }
        if (s) {
                free(s->v);
                s->v = NULL;
                s->n = 0;
        }
}

/* ---- resolving names ---- */

typedef struct render {
        const mb_facts *facts;
        const mb_op *op;
        const mb_win_render_ctx *ctx;
        mb_error *err;
        char buf[4][320];       /* scratch for names */
        /* BCD ops: the store edited (mb_win_op_store), and the bcdedit
         * argument that names it ("/store S:\EFI\Microsoft\Boot\BCD ", or ""
         * for the system store) */
        const mb_bcd_fact *store;
        bool other_store;
        char store_arg[96];
        char letter[2][40];     /* temporary drive letters: "S", or a placeholder offline */
        bool had_letter[2];     /* the partition had that letter already: none assigned */
        const mb_disk_fact *store_d;    /* other_store: the disk and ESP holding it */
        const mb_part_fact *store_esp;
} render;

static const mb_disk_fact *need_disk(render *r, uint32_t number)
{
        const mb_disk_fact *d = mb_facts_disk(r->facts, number);

        if (!d)
                mb_error_set(r->err, MB_ENOENT, "%s: disk %u is not in the facts",
                             mb_op_kind_to_string(r->op->kind), number);
        return d;
}

/* The partition of role on d, or NULL (no error). */
static const mb_part_fact *role_part(const mb_disk_fact *d, mb_role role)
{
        return d ? mb_disk_part_by_role(d, role) : NULL;
}

/* "\\?\Volume{guid}\" (with_slash) or without the trailing backslash. */
static const char *volume_path(render *r, int slot, const mb_disk_fact *d, const mb_part_fact *p,
                               mb_role role, bool with_slash)
{
        const char *v = NULL;
        size_t n;

        if (p && r->ctx && r->ctx->volume_path)
                v = r->ctx->volume_path(r->ctx->data, d, p);
        if (v)
                snprintf(r->buf[slot], sizeof(r->buf[slot]), "%s", v);
        else if (p && p->unique_guid)
                snprintf(r->buf[slot], sizeof(r->buf[slot]), "\\\\?\\Volume{%s}\\", p->unique_guid);
        else
                snprintf(r->buf[slot], sizeof(r->buf[slot]),
                         "\\\\?\\Volume{<unique GUID of the %s partition of disk %u, once created>}\\",
                         mb_role_to_string(role), d ? d->number : 0);
        n = strlen(r->buf[slot]);
        if (!with_slash && n > 0 && r->buf[slot][n - 1] == '\\')
                r->buf[slot][n - 1] = '\0';
        else if (with_slash && n > 0 && r->buf[slot][n - 1] != '\\' && n + 1 < sizeof(r->buf[slot]))
                strcat(r->buf[slot], "\\");
        return r->buf[slot];
}

static const char *nt_device(render *r, int slot, const mb_disk_fact *d, const mb_part_fact *p,
                             mb_role role)
{
        const char *v = NULL;

        if (p && r->ctx && r->ctx->nt_device)
                v = r->ctx->nt_device(r->ctx->data, d, p);
        if (v)
                snprintf(r->buf[slot], sizeof(r->buf[slot]), "%s", v);
        else
                snprintf(r->buf[slot], sizeof(r->buf[slot]),
                         "<\\Device\\HarddiskVolumeN of disk %u's %s partition>", d ? d->number : 0,
                         mb_role_to_string(role));
        return r->buf[slot];
}

/* A BCD object id: "{bootmgr}"-style aliases and "{guid}" are kept as they are. */
static bool valid_object(const char *id)
{
        size_t n = strlen(id);

        if (n < 3 || id[0] != '{' || id[n - 1] != '}')
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
                      (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-'))
                        return false;
        return true;
}

static const char *position_flag(mb_position p)
{
        return p == MB_POS_FIRST ? "/addfirst" : p == MB_POS_LAST ? "/addlast" : "/remove";
}

/* ---- BCD stores and the objects in them ---- */

static bool is_type(const mb_bcd_object_fact *o, const char *type)
{
        return o && o->type && strcmp(o->type, type) == 0;
}

void mb_win_op_store(const mb_facts *f, const mb_op *op, const mb_bcd_fact **ret, bool *ret_other)
{
        const mb_disk_fact *d;
        const mb_part_fact *esp;

        *ret = f->bcd;
        *ret_other = false;
        if (!op->esp_store)
                return;
        d = mb_facts_disk(f, op->store_disk);
        if (d && d->system)
                return;         /* the system ESP's store is the system store */
        esp = role_part(d, MB_ROLE_EFI);
        *ret = esp ? esp->bcd : NULL;
        *ret_other = true;
}

/* Where the op's store is, for messages: "the system store" or
 * "the store on disk 1's ESP". */
static const char *store_name(render *r)
{
        if (!r->other_store)
                return "the system store";
        snprintf(r->buf[3], sizeof(r->buf[3]), "the store on disk %u's ESP", r->op->store_disk);
        return r->buf[3];
}

/*
 * The object a BCD op names, into id: op->object as it is, or for an empty
 * one the os-loader of the op's store whose device and osdevice are the
 * (disk, role) partition -- found in the facts read right before the op
 * runs, so a loader an earlier op of the same apply made is found by what
 * it boots. For BCD_SET_DEVICE with role recovery the empty object is the
 * Windows RE loader that loader names as its recoverysequence (the one to
 * point at that disk's recovery partition).
 */
static int resolve_object(render *r, char id[40])
{
        const mb_op *op = r->op;
        const mb_disk_fact *d;
        const mb_part_fact *p;
        const mb_bcd_object_fact *o;
        mb_role role = op->kind == MB_OP_BCD_SET_DEVICE && op->role == MB_ROLE_RECOVERY
                       ? MB_ROLE_OS : op->role;

        if (op->object[0]) {
                if (!valid_object(op->object))
                        return mb_error_set(r->err, MB_EINVAL, "%s: invalid BCD object id \"%s\"",
                                            mb_op_kind_to_string(op->kind), op->object);
                snprintf(id, 40, "%s", op->object);
                return 0;
        }
        if (op->kind != MB_OP_BCD_SET_DEVICE && op->kind != MB_OP_BCD_DISPLAYORDER &&
            op->kind != MB_OP_BCD_SET_DEFAULT)
                return mb_error_set(r->err, MB_EINVAL, "%s: no BCD object id",
                                    mb_op_kind_to_string(op->kind));
        if (!(d = need_disk(r, op->disk)))
                return r->err->code;
        p = role_part(d, role);
        if (!p || !p->unique_guid)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no %s partition for a loader to boot",
                                    mb_op_kind_to_string(op->kind), d->number, mb_role_to_string(role));
        if (!r->store)
                return mb_error_set(r->err, MB_ESTATE, "%s: %s was not read (there is none, or it is no readable BCD store)",
                                    mb_op_kind_to_string(op->kind), store_name(r));
        o = mb_bcd_store_loader_on(r->store, p);
        if (!o)
                return mb_error_set(r->err, MB_ESTATE,
                                    "%s: %s has no OS loader whose device and osdevice are the %s partition of disk %u (%s)",
                                    mb_op_kind_to_string(op->kind), store_name(r), mb_role_to_string(role),
                                    d->number, p->unique_guid);
        if (role != op->role) {
                if (!o->recovery)
                        return mb_error_set(r->err, MB_ESTATE,
                                            "%s: the OS loader %s in %s (the os plex on disk %u) has no recoverysequence",
                                            mb_op_kind_to_string(op->kind), o->id, store_name(r), d->number);
                snprintf(id, 40, "%s", o->recovery);
        } else {
                snprintf(id, 40, "%s", o->id);
        }
        return 0;
}

/* Description text for a command line: no quotes, no control characters. */
static int check_description(render *r, const char *s)
{
        if (!*s)
                return mb_error_set(r->err, MB_EINVAL, "%s: empty BCD description", mb_op_kind_to_string(r->op->kind));
        for (const char *p = s; *p; p++)
                if (*p == '"' || (unsigned char)*p < 0x20)
                        return mb_error_set(r->err, MB_EINVAL,
                                            "%s: BCD description \"%s\" contains a quote or control character",
                                            mb_op_kind_to_string(r->op->kind), s);
        return 0;
}

static const char *diskpart_fs(mb_fs fs)
{
        return fs == MB_FS_FAT32 ? "fat32" : fs == MB_FS_NTFS ? "ntfs" : NULL;
}

static const char *size_text(uint64_t bytes, char buf[32])
{
        if (bytes % (1024 * 1024) == 0)
                snprintf(buf, 32, "%llu MiB", (unsigned long long)(bytes >> 20));
        else
                snprintf(buf, 32, "%llu bytes", (unsigned long long)bytes);
        return buf;
}

/* "select disk N\nselect partition P\n" for a role's partition. */
static char *select_partition(render *r, const mb_disk_fact *d)
{
        const mb_part_fact *p = role_part(d, r->op->role);

        if (!p)
                return fmt("select disk %u\nselect partition <number of disk %u's %s partition, once created>\n",
                           d->number, d->number, mb_role_to_string(r->op->role));
        return fmt("select disk %u\nselect partition %u\n", d->number, p->number);
}

static int diskpart(render *r, mb_win_steps *s, char *select, const char *tail)
{
        char *script;

        if (!select)
                return mb_error_set(r->err, MB_ENOMEM, "out of memory");
        script = fmt("%s%s\n", select, tail);
        free(select);
        return add_step(s, MB_WIN_STEP_DISKPART, script, NULL, NULL, r->err);
}

/* ---- per operation ---- */

static int render_disk_online(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        SET_DISK_ATTRIBUTES a;
        char path[32];

        mb_win_build_online(&a);
        mb_win_disk_path(d->number, path);
        return add_step(s, MB_WIN_STEP_IOCTL,
                        fmt("IOCTL_DISK_SET_DISK_ATTRIBUTES %s: Version=%lu Persist=%s Attributes=0x%llx AttributesMask=0x%llx (online, writable)",
                            path, (unsigned long)a.Version, a.Persist ? "TRUE" : "FALSE",
                            (unsigned long long)a.Attributes, (unsigned long long)a.AttributesMask),
                        NULL, NULL, r->err);
}

static int render_init_gpt(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        char path[32];
        int rc;

        mb_win_disk_path(d->number, path);
        rc = add_step(s, MB_WIN_STEP_IOCTL,
                      fmt("check %s is still serial \"%s\", %llu bytes, with no partitions",
                          path, r->op->expect_serial[0] ? r->op->expect_serial : (d->serial ? d->serial : ""),
                          (unsigned long long)(r->op->expect_size ? r->op->expect_size : d->size)),
                      NULL, NULL, r->err);
        if (rc == 0)
                rc = add_step(s, MB_WIN_STEP_IOCTL,
                              fmt("IOCTL_DISK_CREATE_DISK %s: PartitionStyle=GPT MaxPartitionCount=128 DiskId=<new random GUID>",
                                  path),
                              NULL, NULL, r->err);
        if (rc == 0)
                rc = add_step(s, MB_WIN_STEP_IOCTL,
                              fmt("IOCTL_DISK_SET_DRIVE_LAYOUT_EX %s: PartitionStyle=GPT PartitionCount=0 (no MSR left behind)",
                                  path),
                              NULL, NULL, r->err);
        if (rc == 0)
                rc = add_step(s, MB_WIN_STEP_IOCTL, fmt("IOCTL_DISK_UPDATE_PROPERTIES %s", path),
                              NULL, NULL, r->err);
        return rc;
}

static int render_part_create(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_op *op = r->op;
        const char *type = op->type_guid[0] ? op->type_guid : mb_role_type_guid(op->role);
        const char *name = op->name[0] ? op->name : mb_role_default_name(op->role);
        uint32_t ss = d->sector_size ? d->sector_size : 512;
        char path[32], sz[32];
        int rc;

        if (!type)
                return mb_error_set(r->err, MB_EINVAL, "%s: no type GUID for role %s",
                                    mb_op_kind_to_string(op->kind), mb_role_to_string(op->role));
        if (op->last_lba < op->first_lba)
                return mb_error_set(r->err, MB_EINVAL, "%s: last LBA %llu before first LBA %llu",
                                    mb_op_kind_to_string(op->kind), (unsigned long long)op->last_lba,
                                    (unsigned long long)op->first_lba);
        mb_win_disk_path(d->number, path);
        rc = add_step(s, MB_WIN_STEP_IOCTL,
                      fmt("IOCTL_DISK_SET_DRIVE_LAYOUT_EX %s: keep the existing partitions, add %s partition: "
                          "StartingOffset=%llu PartitionLength=%llu (LBA %llu-%llu, %s) PartitionType={%s} "
                          "PartitionId=<new random GUID> Attributes=0x%016llx Name=\"%s\"",
                          path, mb_role_to_string(op->role),
                          (unsigned long long)(op->first_lba * ss),
                          (unsigned long long)((op->last_lba - op->first_lba + 1) * ss),
                          (unsigned long long)op->first_lba, (unsigned long long)op->last_lba,
                          size_text((op->last_lba - op->first_lba + 1) * ss, sz), type,
                          (unsigned long long)op->attributes, name ? name : ""),
                      NULL, NULL, r->err);
        if (rc == 0)
                rc = add_step(s, MB_WIN_STEP_IOCTL, fmt("IOCTL_DISK_UPDATE_PROPERTIES %s", path),
                              NULL, NULL, r->err);
        return rc;
}

static int render_set_name(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_part_fact *p = role_part(d, r->op->role);
        char path[32];

        if (!p)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no %s partition",
                                    mb_op_kind_to_string(r->op->kind), d->number, mb_role_to_string(r->op->role));
        mb_win_disk_path(d->number, path);
        return add_step(s, MB_WIN_STEP_IOCTL,
                        fmt("IOCTL_DISK_SET_DRIVE_LAYOUT_EX %s: partition %u Name=\"%s\" (everything else kept)",
                            path, p->number, r->op->name),
                        NULL, NULL, r->err);
}

static int render_format(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const char *fs = diskpart_fs(r->op->fs);
        char tail[96];

        if (!fs)
                return mb_error_set(r->err, MB_EINVAL, "%s: cannot format as %s",
                                    mb_op_kind_to_string(r->op->kind), mb_fs_to_string(r->op->fs));
        for (const char *c = r->op->label; *c; c++)
                if (*c == '"' || (unsigned char)*c < 0x20)
                        return mb_error_set(r->err, MB_EINVAL, "%s: label \"%s\" contains a quote or control character",
                                            mb_op_kind_to_string(r->op->kind), r->op->label);
        if (r->op->label[0])
                snprintf(tail, sizeof(tail), "format fs=%s label=\"%s\" quick", fs, r->op->label);
        else
                snprintf(tail, sizeof(tail), "format fs=%s quick", fs);
        return diskpart(r, s, select_partition(r, d), tail);
}

static int render_mirror_add(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_disk_fact *src = need_disk(r, r->op->disk2);
        char drive = r->ctx && r->ctx->system_drive ? r->ctx->system_drive : 'C';

        if (!src)
                return r->err->code;
        if (r->op->role != MB_ROLE_OS || !src->system)
                return mb_error_set(r->err, MB_ENOTSUP,
                                    "%s: the windows target mirrors only the running system's volume (role os on the system disk), not role %s on disk %u",
                                    mb_op_kind_to_string(r->op->kind), mb_role_to_string(r->op->role), src->number);
        return add_step(s, MB_WIN_STEP_DISKPART, fmt("select volume=%c\nadd disk=%u\n", drive, d->number),
                        NULL, NULL, r->err);
}

/*
 * diskpart names the group's missing disks M0, M1, ... ("list disk") and
 * says nothing that ties those numbers to LDM disk names except in
 * localized text, which is never parsed. So the script is rendered only
 * when the disk to drop is the group's one missing disk: it is then M0.
 * "delete disk override" drops the disk record and its half of every mirror
 * (the plex records); nothing is written to any present disk's data.
 */
static int render_remove_missing(render *r, mb_win_steps *s)
{
        const char *missing[16];
        size_t n = 0;
        bool found = false;

        if (!r->op->ldm_disk[0])
                return mb_error_set(r->err, MB_EINVAL, "%s: no LDM disk name", mb_op_kind_to_string(r->op->kind));
        for (const char *c = r->op->ldm_disk; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == '"')
                        return mb_error_set(r->err, MB_EINVAL, "%s: invalid LDM disk name \"%s\"",
                                            mb_op_kind_to_string(r->op->kind), r->op->ldm_disk);
        for (uint32_t i = 0; i < r->facts->n_volumes; i++)
                for (uint32_t j = 0; j < r->facts->volumes[i].n_plexes; j++) {
                        const mb_plex_fact *x = &r->facts->volumes[i].plexes[j];
                        bool seen = false;

                        if (x->disk >= 0 && x->state != MB_PLEX_MISSING)
                                continue;
                        for (size_t k = 0; k < n; k++)
                                seen |= strcmp(missing[k], x->ldm_disk ? x->ldm_disk : "") == 0;
                        if (!seen && n < 16)
                                missing[n++] = x->ldm_disk ? x->ldm_disk : "";
                        found |= x->ldm_disk && strcmp(x->ldm_disk, r->op->ldm_disk) == 0;
                }
        if (!found)
                return mb_error_set(r->err, MB_ESTATE, "%s: LDM disk %s holds no plex of a missing disk",
                                    mb_op_kind_to_string(r->op->kind), r->op->ldm_disk);
        if (n > 1)
                return mb_error_set(r->err, MB_ENOTSUP,
                                    "%s: %zu disks of the group are missing (%s, %s%s); diskpart numbers them M0, M1, ... "
                                    "in an order mbstate does not read: remove %s by hand (diskpart: list disk, "
                                    "select disk M<n>, delete disk override) and run again",
                                    mb_op_kind_to_string(r->op->kind), n, missing[0], missing[1], n > 2 ? ", ..." : "",
                                    r->op->ldm_disk);
        return add_step(s, MB_WIN_STEP_DISKPART,
                        fmt("rem LDM disk %s, the dynamic disk group's only missing disk\n"
                            "select disk M0\n"
                            "delete disk override\n", r->op->ldm_disk),
                        NULL, NULL, r->err);
}

static int render_clone_blocks(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_disk_fact *src = need_disk(r, r->op->disk2);
        const mb_part_fact *sp, *dp;
        char sz[32];

        if (!src)
                return r->err->code;
        sp = role_part(src, r->op->role);
        dp = role_part(d, r->op->role);
        if (!sp)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no %s partition to copy from",
                                    mb_op_kind_to_string(r->op->kind), src->number, mb_role_to_string(r->op->role));
        return add_step(s, MB_WIN_STEP_COPYBLOCKS,
                        fmt("copy blocks %s -> %s (%s; both volumes locked, the destination dismounted)",
                            volume_path(r, 0, src, sp, r->op->role, false),
                            volume_path(r, 1, d, dp, r->op->role, false),
                            size_text((sp->last_lba - sp->first_lba + 1) *
                                      (src->sector_size ? src->sector_size : 512), sz)),
                        r->buf[0], r->buf[1], r->err);
}

static int render_sync_files(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_disk_fact *src = need_disk(r, r->op->disk2);
        const mb_part_fact *sp, *dp;
        const char *from, *to;
        bool live_store, keep;
        int rc;

        if (!src)
                return r->err->code;
        sp = role_part(src, r->op->role);
        dp = role_part(d, r->op->role);
        if (!sp)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no %s partition to copy from",
                                    mb_op_kind_to_string(r->op->kind), src->number, mb_role_to_string(r->op->role));
        /* The running system's store is held open by the registry: it is
         * exported by bcdedit instead of copied. With keep_store a target
         * with a store of its own keeps it; one without (or whose BCD is no
         * readable store) gets the source's. */
        keep = r->op->keep_store && r->op->role == MB_ROLE_EFI && dp && dp->bcd;
        live_store = r->op->role == MB_ROLE_EFI && src->system && !keep;
        from = volume_path(r, 0, src, sp, r->op->role, true);
        to = volume_path(r, 1, d, dp, r->op->role, true);
        if (keep)
                snprintf(r->buf[2], sizeof(r->buf[2]),
                         "; except \\EFI\\Microsoft\\Boot\\BCD and its BCD.LOG* files: disk %u keeps its own store",
                         d->number);
        else if (live_store && r->op->keep_store)
                snprintf(r->buf[2], sizeof(r->buf[2]),
                         "; except \\EFI\\Microsoft\\Boot\\BCD and its BCD.LOG* files: disk %u has no readable store of its own and gets the system store's export",
                         d->number);
        else
                snprintf(r->buf[2], sizeof(r->buf[2]), "%s",
                         live_store ? "; except \\EFI\\Microsoft\\Boot\\BCD and its BCD.LOG* files" : "");
        rc = add_step(s, MB_WIN_STEP_COPYTREE,
                      fmt("copy tree %s -> %s (copy every file, delete files the source does not have%s)",
                          from, to, r->buf[2]),
                      from, to, r->err);
        if (rc == 0 && live_store) {
                snprintf(r->buf[2], sizeof(r->buf[2]), "%sEFI\\Microsoft\\Boot\\" BCD_TMP_NAME, to);
                snprintf(r->buf[3], sizeof(r->buf[3]), "%sEFI\\Microsoft\\Boot\\BCD", to);
                rc = add_step(s, MB_WIN_STEP_COMMAND, fmt("bcdedit /export \"%s\"", r->buf[2]),
                              NULL, NULL, r->err);
                if (rc == 0)
                        rc = add_step(s, MB_WIN_STEP_MOVE,
                                      fmt("move %s -> %s (replace)", r->buf[2], r->buf[3]),
                                      r->buf[2], r->buf[3], r->err);
        }
        return rc;
}

bool mb_win_sync_skips_bcd(const mb_facts *f, const mb_op *op)
{
        const mb_disk_fact *src = mb_facts_disk(f, op->disk2);
        const mb_part_fact *dp = role_part(mb_facts_disk(f, op->disk), op->role);

        if (op->role != MB_ROLE_EFI)
                return false;
        return (op->keep_store && dp && dp->bcd) || (src && src->system);
}

/* A bcdedit command line on the op's store: "bcdedit [/store X] " + rest
 * (which is freed). */
static int bcdedit(render *r, mb_win_steps *s, char *rest)
{
        char *line;

        if (!rest)
                return mb_error_set(r->err, MB_ENOMEM, "out of memory");
        line = fmt("bcdedit %s%s", r->store_arg, rest);
        free(rest);
        return add_step(s, MB_WIN_STEP_COMMAND, line, NULL, NULL, r->err);
}

static int render_bcd_device(render *r, const char *object, const mb_disk_fact *d,
                             bool osdevice, mb_win_steps *s)
{
        const mb_part_fact *p = role_part(d, r->op->role);
        const char *dev;
        int rc;

        dev = nt_device(r, 0, d, p, r->op->role);
        rc = bcdedit(r, s, fmt("/set %s device partition=%s", object, dev));
        if (rc == 0 && osdevice)
                rc = bcdedit(r, s, fmt("/set %s osdevice partition=%s", object, dev));
        return rc;
}

/* A temporary drive letter (slot 0: the op's ESP store, 1: a recovery
 * partition) for partition p of d: assigned by a diskpart script before the
 * op's commands, removed by one after them that runs even when they fail
 * (added by the caller with remove_letter). */
static int assign_letter(render *r, int slot, const mb_disk_fact *d, const mb_part_fact *p,
                         mb_win_steps *s)
{
        char c = r->ctx && r->ctx->volume_letter ? r->ctx->volume_letter(r->ctx->data, d, p) : 0;

        if (c) {
                /* a letter the administrator gave it: used, not taken away */
                snprintf(r->letter[slot], sizeof(r->letter[slot]), "%c", c);
                r->had_letter[slot] = true;
                return 0;
        }
        c = r->ctx && r->ctx->free_letter ? r->ctx->free_letter(r->ctx->data, slot) : 0;
        if (r->ctx && r->ctx->free_letter && !c)
                return mb_error_set(r->err, MB_ESTATE,
                                    "%s: no free drive letter to give disk %u's %s partition for the time of the change",
                                    mb_op_kind_to_string(r->op->kind), d->number, mb_role_to_string(p->role));
        if (c)
                snprintf(r->letter[slot], sizeof(r->letter[slot]), "%c", c);
        else
                snprintf(r->letter[slot], sizeof(r->letter[slot]), "%s",
                         slot ? "<second free drive letter>" : "<free drive letter>");
        return add_step(s, MB_WIN_STEP_DISKPART,
                        fmt("select disk %u\nselect partition %u\nassign letter=%s\n", d->number,
                            p->number, r->letter[slot]),
                        NULL, NULL, r->err);
}

static int remove_letter(render *r, int slot, const mb_disk_fact *d, const mb_part_fact *p,
                         mb_win_steps *s)
{
        int rc;

        if (r->had_letter[slot])
                return 0;
        rc = add_step(s, MB_WIN_STEP_DISKPART,
                      fmt("select disk %u\nselect partition %u\nremove letter=%s\n", d->number,
                          p->number, r->letter[slot]),
                      NULL, NULL, r->err);
        if (rc == 0)
                s->v[s->n - 1].always = true;
        return rc;
}

/*
 * The op edits the store on another disk's ESP (other_store): that ESP gets
 * a temporary drive letter and bcdedit names the store by it (bcdedit
 * /store; the seed transcript reaches disk 1's ESP by a letter diskpart
 * assigned). The letter is removed after the op's commands, even when one
 * of them fails.
 */
static int open_store(render *r, mb_win_steps *s)
{
        r->store_d = need_disk(r, r->op->store_disk);
        if (!r->store_d)
                return r->err->code;
        r->store_esp = role_part(r->store_d, MB_ROLE_EFI);
        if (!r->store_esp)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no ESP whose BCD store to edit",
                                    mb_op_kind_to_string(r->op->kind), r->store_d->number);
        if (assign_letter(r, 0, r->store_d, r->store_esp, s) < 0)
                return r->err->code;
        snprintf(r->store_arg, sizeof(r->store_arg), "/store %s:\\EFI\\Microsoft\\Boot\\BCD ",
                 r->letter[0]);
        return 0;
}

#define WINRE_WIM "\\Recovery\\WindowsRE\\Winre.wim"

/*
 * The Windows RE loader object pointed at disk d's recovery partition:
 * device and osdevice ramdisk=[R:]\Recovery\WindowsRE\Winre.wim,{options},
 * and the options object's ramdisksdidevice partition=R:, R: a temporary
 * letter of that partition. A ramdisk boot is a loader whose device names
 * the image and a "device options" object by GUID, the options holding
 * ramdisksdidevice and ramdisksdipath (Microsoft's Windows Deployment
 * Services technical reference shows both objects in bcdedit's listing;
 * `bcdedit /enum` of a UEFI install shows Windows RE's as
 * ramdisk=[D:]\Recovery\WindowsRE\Winre.wim,{guid}). {options} is the
 * object the loader's ramdisk already names, read from the store when the
 * op runs; ramdisksdipath is left as it is.
 */
static int render_winre_device(render *r, const char *object, const mb_disk_fact *d,
                               mb_win_steps *s)
{
        const mb_part_fact *p = role_part(d, MB_ROLE_RECOVERY);
        const mb_bcd_object_fact *o = mb_bcd_store_object(r->store, object);
        const char *opts = NULL;
        char opt[80];
        int rc;

        if (!p)
                return mb_error_set(r->err, MB_ESTATE, "%s: disk %u has no recovery partition",
                                    mb_op_kind_to_string(r->op->kind), d->number);
        if (p->n_files > 0) {
                bool has = false;

                for (uint32_t i = 0; i < p->n_files; i++)
                        has |= strcasecmp(p->files[i].path, "/Recovery/WindowsRE/Winre.wim") == 0;
                if (!has)
                        return mb_error_set(r->err, MB_ESTATE,
                                            "%s: disk %u's recovery partition (partition %u) has no \\Recovery\\WindowsRE\\Winre.wim to boot",
                                            mb_op_kind_to_string(r->op->kind), d->number, p->number);
        }
        if (!o || !is_type(o, "os-loader"))
                return mb_error_set(r->err, MB_ESTATE,
                                    "%s: %s has no OS loader %s to point at disk %u's recovery partition",
                                    mb_op_kind_to_string(r->op->kind), store_name(r), object, d->number);
        if (r->ctx && r->ctx->ramdisk_options) {
                opts = r->ctx->ramdisk_options(r->ctx->data, r->facts, r->op, object);
                if (!opts)
                        return mb_error_set(r->err, MB_ESTATE,
                                            "%s: the Windows RE loader %s in %s has no ramdisk device whose options object could be read",
                                            mb_op_kind_to_string(r->op->kind), object, store_name(r));
                snprintf(opt, sizeof(opt), "%s", opts);
                if (!valid_object(opt))
                        return mb_error_set(r->err, MB_EINVAL, "%s: invalid ramdisk options id \"%s\"",
                                            mb_op_kind_to_string(r->op->kind), opt);
        } else {
                snprintf(opt, sizeof(opt), "{<ramdisk options %s names>}", object);
        }
        rc = assign_letter(r, 1, d, p, s);
        if (rc == 0)
                rc = bcdedit(r, s, fmt("/set %s device ramdisk=[%s:]" WINRE_WIM ",%s", object,
                                       r->letter[1], opt));
        if (rc == 0)
                rc = bcdedit(r, s, fmt("/set %s osdevice ramdisk=[%s:]" WINRE_WIM ",%s", object,
                                       r->letter[1], opt));
        if (rc == 0)
                rc = bcdedit(r, s, fmt("/set %s ramdisksdidevice partition=%s:", opt, r->letter[1]));
        if (rc == 0)
                rc = remove_letter(r, 1, d, p, s);
        return rc;
}

static const char *new_object(render *r)
{
        return r->ctx && r->ctx->new_object ? r->ctx->new_object : MB_WIN_NEW_OBJECT;
}

/*
 * The loader entry of a mirror's plex on disk d (site.yaml's os-loader
 * boot entry). Windows adds it itself when it adds the plex of the boot
 * volume ("<loader> - secondary plex", seed transcript), with device and
 * osdevice naming the plex's partition on that disk. bcdedit cannot make
 * it: it names devices by volume, and both plexes are the one volume C:,
 * so `bcdedit /copy {default}` (or /set ... partition=C:) gives an entry
 * that boots from disk 0 under a name that says disk 1. The step is
 * therefore a check of what Windows made (mb_win_check_plex_entry), and
 * apply fails with this reason when it is not there; old is the entry
 * the plan found by description that boots from elsewhere, or NULL.
 */
static int render_plex_entry(render *r, const mb_disk_fact *d, const mb_bcd_object_fact *old,
                             mb_win_steps *s)
{
        const char *why = "bcdedit names devices by volume and both plexes are one volume, so it "
                          "cannot point an entry at this disk's plex (bcdedit /copy {default} would "
                          "boot from disk 0); mbstate makes no such entry";

        if (old)
                return add_step(s, MB_WIN_STEP_CHECK,
                                fmt("check: %s \"%s\" boots from %s, not from the os plex on disk %u; "
                                    "%s. Delete it (bcdedit /delete %s); Windows adds the plex's own "
                                    "entry when it adds the plex (diskpart add disk=%u)",
                                    old->id, old->description ? old->description : "",
                                    old->device && old->device->partition ? old->device->partition
                                                                          : "another device",
                                    d->number, why, old->id, d->number),
                                NULL, NULL, r->err);
        return add_step(s, MB_WIN_STEP_CHECK,
                        fmt("check: an OS loader whose device and osdevice are the os plex on disk %u, "
                            "which Windows adds when it adds the plex (diskpart add disk=%u); %s",
                            d->number, d->number, why),
                        NULL, NULL, r->err);
}

int mb_win_check_plex_entry(const mb_facts *f, const mb_op *op, mb_error *err)
{
        const mb_disk_fact *d = mb_facts_disk(f, op->disk);
        const mb_part_fact *p = d ? role_part(d, MB_ROLE_OS) : NULL;
        const mb_bcd_fact *store;
        bool other;
        char part[64] = "", where[64] = "the BCD store";

        mb_win_op_store(f, op, &store, &other);
        if (mb_bcd_store_loader_on(store, p))
                return 0;
        if (p && p->unique_guid)
                snprintf(part, sizeof(part), " (partition %s)", p->unique_guid);
        if (other)
                snprintf(where, sizeof(where), "the BCD store on disk %u's ESP", op->store_disk);
        return mb_error_set(err, MB_ESTATE,
                            "boot entry \"%s\": %s has no OS loader whose device and osdevice are the os plex on disk %u%s. "
                            "Windows adds that entry when it adds the plex of the boot volume; bcdedit cannot make it "
                            "(it names devices by volume and both plexes are C:, so a copy of {default} would boot from disk 0), "
                            "and mbstate does not fake it",
                            op->description[0] ? op->description : "(by device)", where, op->disk, part);
}

static int render_bcd_copy(render *r, const mb_disk_fact *d, mb_win_steps *s, bool loader)
{
        int rc = check_description(r, r->op->description);

        if (rc < 0)
                return rc;
        if (loader && r->op->role == MB_ROLE_OS)
                return render_plex_entry(r, d, NULL, s);
        rc = bcdedit(r, s, fmt("/copy %s /d \"%s\"", loader ? "{default}" : "{bootmgr}",
                               r->op->description));
        if (rc < 0)
                return rc;
        return render_bcd_device(r, new_object(r), d, loader, s);
}

static int render_bcd_set_device(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        const mb_bcd_object_fact *o;
        const mb_part_fact *os;
        char id[40];
        int rc = resolve_object(r, id);

        if (rc < 0)
                return rc;
        if (r->op->role == MB_ROLE_RECOVERY)
                return render_winre_device(r, id, d, s);
        o = mb_bcd_store_object(r->store, id);
        if (is_type(o, "os-loader") && r->op->role == MB_ROLE_OS) {
                os = role_part(d, MB_ROLE_OS);
                return render_plex_entry(r, d, mb_bcd_store_loader_on(r->store, os) == o
                                                       ? NULL : o, s);
        }
        return render_bcd_device(r, id, d, is_type(o, "os-loader"), s);
}

/* BCD_DISPLAYORDER, BCD_SET_DEFAULT and BCD_DELETE of the op's object. */
static int render_bcd_object_op(render *r, mb_win_steps *s)
{
        char id[40];
        int rc = resolve_object(r, id);

        if (rc < 0)
                return rc;
        switch (r->op->kind) {
        case MB_OP_BCD_DISPLAYORDER:
                return bcdedit(r, s, fmt("/displayorder %s %s", id, position_flag(r->op->position)));
        case MB_OP_BCD_SET_DEFAULT:
                return bcdedit(r, s, fmt("/default %s", id));
        default:
                return bcdedit(r, s, fmt("/delete %s", id));
        }
}

static int render_fw_entry(render *r, mb_win_steps *s)
{
        const mb_bcd_object_fact *o = NULL;
        const mb_disk_fact *d = mb_facts_disk(r->facts, r->op->disk);
        const mb_part_fact *esp = role_part(d, MB_ROLE_EFI);
        char id[160], esp_text[80];
        int rc;

        if (esp && esp->unique_guid)
                snprintf(esp_text, sizeof(esp_text), "partition %s", esp->unique_guid);
        else
                snprintf(esp_text, sizeof(esp_text), "disk %u's ESP", r->op->disk);

        if (r->facts->bcd)
                for (uint32_t i = 0; i < r->facts->bcd->n_objects; i++) {
                        const mb_bcd_object_fact *c = &r->facts->bcd->objects[i];

                        if (c->description && strcmp(c->description, r->op->description) == 0 &&
                            c->id && strcasecmp(c->id, "{bootmgr}") != 0 &&
                            c->id && strcasecmp(c->id, "{fwbootmgr}") != 0) {
                                o = c;
                                break;
                        }
                }
        if (o)
                snprintf(id, sizeof(id), "%s", o->id);
        else if (d && d->system)
                /* the system disk's entry is the system store's own boot
                 * manager, which Windows keeps in the firmware's list */
                snprintf(id, sizeof(id), "{bootmgr}");
        else if (r->ctx && r->ctx->new_object)
                snprintf(id, sizeof(id), "%s", r->ctx->new_object);
        else
                snprintf(id, sizeof(id), "{<id of the BCD object \"%s\">}", r->op->description);
        if (r->op->position == MB_POS_ABSENT)
                /* in place: the description only (a survivor's entry named as
                 * the system disk's, so the new disk's may carry its name) */
                return add_step(s, MB_WIN_STEP_COMMAND,
                                fmt("bcdedit /set %s description \"%s\"", id, r->op->description), NULL,
                                NULL, r->err);
        rc = add_step(s, MB_WIN_STEP_COMMAND,
                      fmt("bcdedit /set {fwbootmgr} displayorder %s %s", id,
                          position_flag(r->op->position)),
                      NULL, NULL, r->err);
        /* /addlast puts it behind the firmware's own entries (DVD, shell,
         * PXE); "last" wants it directly after the disk entries */
        if (rc == 0 && r->op->position == MB_POS_LAST)
                rc = add_step(s, MB_WIN_STEP_FW_PLACE,
                              fmt("SetFirmwareEnvironmentVariableW BootOrder " EFI_GLOBAL_GUID
                                  " = BootOrder with the Boot#### of \"%s\" on %s moved directly after "
                                  "the last entry whose load option names a partition (hard drive media "
                                  "path), ahead of the entries that name none",
                                  r->op->description, esp_text),
                              "BootOrder", NULL, r->err);
        return rc;
}

/* The damaged LDM copies of d, rewritten from the intact ones by raw sector
 * writes (no Windows command does this; diskpart rewrites the database only
 * as a side effect of a configuration change). */
static int render_ldm_repair(render *r, const mb_disk_fact *d, mb_win_steps *s)
{
        char *text;
        size_t len;

        if (!d->dynamic)
                return mb_error_set(r->err, MB_ESTATE, "disk %u is not a dynamic disk", d->number);
        if (d->n_ldm_damage == 0)       /* repaired meanwhile: the executor finds nothing to write */
                return add_step(s, MB_WIN_STEP_LDM_REPAIR,
                                fmt("nothing to rewrite: every LDM metadata copy of disk %u is intact",
                                    d->number),
                                NULL, NULL, r->err);
        text = fmt("rewrite from the intact copy, raw to \\\\.\\PhysicalDrive%u (inside the LDM metadata partition):",
                   d->number);
        len = text ? strlen(text) : 0;
        for (uint32_t i = 0; text && i < d->n_ldm_damage; i++) {
                const mb_ldm_damage_fact *g = &d->ldm_damage[i];
                char line[320];
                int n = snprintf(line, sizeof(line), " %s at sector %llu (%s);",
                                 g->structure ? g->structure : "?", (unsigned long long)g->sector,
                                 g->detail ? g->detail : "damaged");

                append(&text, &len, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : strlen(line));
        }
        if (text && len && text[len - 1] == ';')
                text[--len] = '\0';
        return add_step(s, MB_WIN_STEP_LDM_REPAIR, text, NULL, NULL, r->err);
}

static int render_fw_delete(render *r, mb_win_steps *s)
{
        char name[16];
        int rc;

        snprintf(name, sizeof(name), "Boot%04X", r->op->number & 0xffff);
        rc = add_step(s, MB_WIN_STEP_FIRMWARE,
                      fmt("SetFirmwareEnvironmentVariableW BootOrder " EFI_GLOBAL_GUID
                          " = BootOrder without %04X (size 0, which deletes BootOrder, when it was the only entry)",
                          r->op->number & 0xffff),
                      "BootOrder", name, r->err);
        if (rc == 0)
                rc = add_step(s, MB_WIN_STEP_FIRMWARE,
                              fmt("SetFirmwareEnvironmentVariableW %s " EFI_GLOBAL_GUID " (delete: size 0)",
                                  name),
                              name, NULL, r->err);
        return rc;
}

int mb_win_render_steps(const mb_facts *facts, const mb_op *op, const mb_win_render_ctx *ctx,
                        mb_win_steps *ret, mb_error *err)
{
        render r = { .facts = facts, .op = op, .ctx = ctx, .err = err };
        mb_win_steps s = { 0 };
        const mb_disk_fact *d = NULL;
        char tail[96];
        int rc;

        switch (op->kind) {
        case MB_OP_BCD_DELETE: case MB_OP_BCD_DISPLAYORDER: case MB_OP_BCD_SET_DEFAULT:
        case MB_OP_FW_ENTRY: case MB_OP_FW_DELETE:
                break;
        default:
                d = need_disk(&r, op->disk);
                if (!d)
                        return err->code;
        }
        if (mb_op_info_of(op->kind)->writes == MB_WRITES_BCD_STORE) {
                mb_win_op_store(facts, op, &r.store, &r.other_store);
                if (r.other_store && (rc = open_store(&r, &s)) < 0) {
                        mb_win_steps_clear(&s);
                        return rc;
                }
        }

        switch (op->kind) {
        case MB_OP_DISK_ONLINE:
                rc = render_disk_online(&r, d, &s);
                break;
        case MB_OP_DISK_INIT_GPT:
                rc = render_init_gpt(&r, d, &s);
                break;
        case MB_OP_PART_CREATE:
                rc = render_part_create(&r, d, &s);
                break;
        case MB_OP_PART_SET_TYPE: {
                GUID g;

                if (mb_w_guid_parse(op->type_guid, &g) < 0) {
                        rc = mb_error_set(err, MB_EINVAL, "%s: invalid type GUID \"%s\"",
                                          mb_op_kind_to_string(op->kind), op->type_guid);
                        break;
                }
                snprintf(tail, sizeof(tail), "set id=%s override", op->type_guid);
                rc = diskpart(&r, &s, select_partition(&r, d), tail);
                break;
        }
        case MB_OP_PART_SET_ATTRS:
                snprintf(tail, sizeof(tail), "gpt attributes=0x%016llx",
                         (unsigned long long)op->attributes);
                rc = diskpart(&r, &s, select_partition(&r, d), tail);
                break;
        case MB_OP_PART_SET_NAME:
                rc = render_set_name(&r, d, &s);
                break;
        case MB_OP_FORMAT:
                rc = render_format(&r, d, &s);
                break;
        case MB_OP_CONVERT_DYNAMIC:
                rc = add_step(&s, MB_WIN_STEP_DISKPART,
                              fmt("select disk %u\nconvert dynamic\n", d->number), NULL, NULL, err);
                break;
        case MB_OP_MIRROR_ADD:
                rc = render_mirror_add(&r, d, &s);
                break;
        case MB_OP_MIRROR_REMOVE_MISSING:
                rc = render_remove_missing(&r, &s);
                break;
        case MB_OP_MIRROR_RESYNC:
                rc = add_step(&s, MB_WIN_STEP_WAIT,
                              fmt("wait until the plex of the %s volume on disk %u is healthy (facts re-read every 10 s)",
                                  mb_role_to_string(op->role), d->number),
                              NULL, NULL, err);
                break;
        case MB_OP_CLONE_BLOCKS:
                rc = render_clone_blocks(&r, d, &s);
                break;
        case MB_OP_SYNC_FILES:
                rc = render_sync_files(&r, d, &s);
                break;
        case MB_OP_BCD_COPY_BOOTMGR:
                rc = render_bcd_copy(&r, d, &s, false);
                break;
        case MB_OP_BCD_CREATE_LOADER:
                rc = render_bcd_copy(&r, d, &s, true);
                break;
        case MB_OP_BCD_SET_DEVICE:
                rc = render_bcd_set_device(&r, d, &s);
                break;
        case MB_OP_BCD_DELETE:
        case MB_OP_BCD_DISPLAYORDER:
        case MB_OP_BCD_SET_DEFAULT:
                rc = render_bcd_object_op(&r, &s);
                break;
        case MB_OP_FW_ENTRY:
                rc = check_description(&r, op->description);
                if (rc == 0)
                        rc = render_fw_entry(&r, &s);
                break;
        case MB_OP_FW_DELETE:
                rc = render_fw_delete(&r, &s);
                break;
        case MB_OP_LDM_REPAIR:
                rc = render_ldm_repair(&r, d, &s);
                break;
        case MB_OP_GPT_REPAIR:
                /* the windows target reads the layout through the disk
                 * driver and never reports a damaged copy */
                rc = mb_error_set(err, MB_ENOTSUP,
                                  "gpt-repair of disk %u: no Windows command is known to rewrite one GPT copy from the other",
                                  op->disk);
                break;
        default:
                rc = mb_error_set(err, MB_EINVAL, "unknown operation %d", (int)op->kind);
        }
        if (rc == 0 && r.other_store && !r.had_letter[0]) {
                bool used = false;

                for (size_t i = 1; i < s.n; i++)
                        used |= strstr(s.v[i].text, r.store_arg) != NULL;
                if (used) {
                        rc = remove_letter(&r, 0, r.store_d, r.store_esp, &s);
                } else {
                        /* only checks: the store needs no letter */
                        free(s.v[0].text);
                        free(s.v[0].arg1);
                        free(s.v[0].arg2);
                        memmove(&s.v[0], &s.v[1], (s.n - 1) * sizeof(s.v[0]));
                        s.n--;
                }
        }
        if (rc < 0) {
                mb_win_steps_clear(&s);
                return rc;
        }
        *ret = s;
        return 0;
}

int mb_win_steps_to_text(const mb_win_steps *s, char **ret, mb_error *err)
{
        size_t len = 0;
        char *out = calloc(1, 1);

        for (size_t i = 0; out && i < s->n; i++) {
                const mb_win_step *st = &s->v[i];

                if (st->kind == MB_WIN_STEP_DISKPART) {
                        const char *line = st->text;

                        append(&out, &len, "diskpart /s <<EOF\n", 18);
                        while (*line) {
                                const char *nl = strchr(line, '\n');
                                size_t n = nl ? (size_t)(nl - line) : strlen(line);

                                append(&out, &len, "  ", 2);
                                append(&out, &len, line, n);
                                append(&out, &len, "\n", 1);
                                line += n + (nl ? 1 : 0);
                        }
                        append(&out, &len, "EOF\n", 4);
                } else {
                        append(&out, &len, st->text, strlen(st->text));
                        append(&out, &len, "\n", 1);
                }
        }
        if (!out)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        *ret = out;
        return 0;
}

int mb_windows_render_op(const mb_facts *facts, const mb_op *op, char **ret_text, mb_error *err)
{
        mb_win_steps s = { 0 };
        int rc = mb_win_render_steps(facts, op, NULL, &s, err);

        if (rc < 0)
                return rc;
        rc = mb_win_steps_to_text(&s, ret_text, err);
        mb_win_steps_clear(&s);
        return rc;
}
