/* SPDX-License-Identifier: MIT */
/*
 * plan / check / apply: load, read facts, plan, and for apply execute the
 * first change of a fresh plan until nothing is left. Re-planning after
 * every operation means every step is decided on re-read state: an
 * interrupted run is finished by the next one, and an operation whose
 * effect already happened (Windows adding the plex's loader entry itself)
 * is not repeated.
 */
#include "run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootability.h"
#include "monitor.h"
#include "platform/platform.h"
#include "runctl.h"
#include "state.h"
#include "yamldoc.h"

#define MAX_STEPS 200

#ifdef MB_HAVE_WINDOWS_RENDER
int mb_windows_render_op(const mb_facts *facts, const mb_op *op, char **ret_text, mb_error *err);
#endif

static void op_generic(const mb_facts *f, const mb_op *op, mb_buf *b)
{
        const mb_disk_fact *d = mb_facts_disk(f, op->disk);

        mb_buf_printf(b, "%s disk %u", mb_op_kind_to_string(op->kind), op->disk);
        if (d && d->path)
                mb_buf_printf(b, " (%s)", d->path);
        if (op->role)
                mb_buf_printf(b, " role %s", mb_role_to_string(op->role));
        switch (op->kind) {
        case MB_OP_PART_CREATE:
        case MB_OP_MIRROR_ADD:
                mb_buf_printf(b, " lba %" PRIu64 "-%" PRIu64 " type %s", op->first_lba, op->last_lba,
                              op->type_guid);
                if (op->kind == MB_OP_PART_CREATE)
                        mb_buf_printf(b, " attributes 0x%016" PRIx64 " name \"%s\"", op->attributes, op->name);
                if (op->kind == MB_OP_MIRROR_ADD)
                        mb_buf_printf(b, " from disk %u", op->disk2);
                break;
        case MB_OP_PART_SET_ATTRS:
                mb_buf_printf(b, " attributes 0x%016" PRIx64, op->attributes);
                break;
        case MB_OP_PART_SET_NAME:
                mb_buf_printf(b, " name \"%s\"", op->name);
                break;
        case MB_OP_FORMAT:
                mb_buf_printf(b, " fs %s label \"%s\"", mb_fs_to_string(op->fs), op->label);
                break;
        case MB_OP_CLONE_BLOCKS:
        case MB_OP_SYNC_FILES:
                mb_buf_printf(b, " from disk %u", op->disk2);
                break;
        case MB_OP_MIRROR_REMOVE_MISSING:
                mb_buf_printf(b, " ldm-disk %s", op->ldm_disk);
                break;
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER:
                mb_buf_printf(b, " description \"%s\"", op->description);
                break;
        case MB_OP_BCD_SET_DEVICE:
        case MB_OP_BCD_DELETE:
        case MB_OP_BCD_DISPLAYORDER:
                mb_buf_printf(b, " object %s", op->object);
                break;
        case MB_OP_FW_ENTRY:
                mb_buf_printf(b, " description \"%s\" path %s position %s", op->description,
                              op->path, op->position == MB_POS_FIRST ? "first" : "last");
                break;
        case MB_OP_FW_DELETE:
                mb_buf_printf(b, " Boot%04X", op->number);
                break;
        case MB_OP_DISK_INIT_GPT:
                mb_buf_printf(b, " expect-serial %s expect-size %" PRIu64, op->expect_serial,
                              op->expect_size);
                break;
        default:
                break;
        }
}

int mb_op_commands(const char *which, const mb_facts *f, const mb_op *op, char **ret_text)
{
        mb_buf b = { 0 };

#ifdef MB_HAVE_WINDOWS_RENDER
        if (which && strcmp(which, "windows") == 0) {
                mb_error err = { 0 };

                if (mb_windows_render_op(f, op, ret_text, &err) == 0)
                        return 0;
                mb_buf_printf(&b, "(cannot render: %s)", err.msg);
                *ret_text = b.data;
                return b.failed ? MB_ENOMEM : 0;
        }
#else
        (void)which;
#endif
        op_generic(f, op, &b);
        if (b.failed)
                return MB_ENOMEM;
        *ret_text = b.data;
        return 0;
}

/* ---------- reports ---------- */

typedef struct report {
        const mb_run_options *o;
        mb_log *log;
        mb_facts *facts;        /* state the plan was made from */
        mb_plan *plan;          /* the initial plan */
        mb_change *applied;
        size_t n_applied;
        mb_plan *final;         /* after apply */
        const mb_config *config;
        mb_error err;
        bool failed;
        /* check and plan: the boot verdict of each declared disk with an ESP */
        struct boot_row {
                const char *name;
                const mb_disk_fact *disk;
                mb_boot_verdict v;
        } boot[16];
        size_t n_boot;
        size_t n_unbootable;
        mb_verify verify;       /* how the first read verified content */
} report;

/* The verdicts of the declared disks that the site gives an ESP and that
 * are bound to a disk of the facts. */
static void boot_verdicts(report *r, const mb_config *c)
{
        if (!r->plan || !r->facts || !mb_config_has_role(c, MB_ROLE_EFI))
                return;
        for (uint32_t i = 0; i < c->n_part_disks && r->n_boot < 16; i++) {
                int idx = c->part_disks[i];
                int num = idx >= 0 && (uint32_t)idx < r->plan->binding.n ? r->plan->binding.number[idx] : -1;
                const mb_disk_fact *d = num >= 0 ? mb_facts_disk(r->facts, (uint32_t)num) : NULL;
                struct boot_row *row;

                if (!d)
                        continue;
                row = &r->boot[r->n_boot++];
                row->name = c->site->disks[idx].name;
                row->disk = d;
                mb_boot_verdict_of(c, r->facts, d, &row->v);
                r->n_unbootable += !row->v.bootable;
        }
}

static void json_boot(mb_buf *b, const report *r)
{
        mb_buf_printf(b, "  \"boot\": [");
        for (size_t i = 0; i < r->n_boot; i++) {
                const struct boot_row *row = &r->boot[i];

                mb_buf_put(b, i ? ",\n    " : "\n    ", i ? 6 : 5);
                mb_buf_put(b, "{\"disk\": ", 9);
                mb_buf_json_string(b, row->name);
                mb_buf_printf(b, ", \"number\": %u, \"bootable\": %s, \"secure_boot\": %s, \"via\": ",
                              row->disk->number, row->v.bootable ? "true" : "false",
                              row->v.secure_boot ? "true" : "false");
                mb_buf_json_string(b, row->v.via);
                mb_buf_put(b, ", \"reason\": ", 12);
                mb_buf_json_string(b, row->v.reason);
                mb_buf_put(b, "}", 1);
        }
        mb_buf_put(b, r->n_boot ? "\n  ],\n" : "],\n", r->n_boot ? 6 : 3);
}

static void json_change(mb_buf *b, const report *r, const mb_change *c, const mb_facts *f)
{
        char *cmd = NULL;

        mb_buf_put(b, "{\"resource\": ", 13);
        mb_buf_json_string(b, mb_resource_to_string(c->resource));
        mb_buf_put(b, ", \"subject\": ", 13);
        mb_buf_json_string(b, c->subject);
        mb_buf_put(b, ", \"current\": ", 13);
        mb_buf_json_string(b, c->current);
        mb_buf_put(b, ", \"desired\": ", 13);
        mb_buf_json_string(b, c->desired);
        mb_buf_printf(b, ", \"destructive\": %s, \"operation\": ", c->destructive ? "true" : "false");
        mb_buf_json_string(b, mb_op_kind_to_string(c->op.kind));
        if (mb_op_commands(r->o->commands, f, &c->op, &cmd) == 0) {
                mb_buf_put(b, ", \"commands\": ", 14);
                mb_buf_json_string(b, cmd);
                free(cmd);
        }
        mb_buf_put(b, "}", 1);
}

static const char *resource_state(const report *r, const mb_resource_status *s)
{
        if (s->conflict)
                return "conflict";
        if (s->n_changes == 0)
                return "kept";
        if (r->o->verb == MB_VERB_APPLY && !r->failed)
                return "repaired";
        return r->o->verb == MB_VERB_APPLY ? "failed" : "drift";
}

/* t as UTC; false when it cannot be represented. */
static bool utc(time_t t, struct tm *tm)
{
#ifdef _WIN32
        return gmtime_s(tm, &t) == 0;
#else
        return gmtime_r(&t, tm) != NULL;
#endif
}

static void print_json(const report *r, int code)
{
        mb_buf b = { 0 };
        const mb_plan *p = r->plan;
        const mb_plan *last = r->final ? r->final : r->plan;
        bool changed = r->n_applied > 0;
        bool in_state = !r->failed && last && last->n_changes == 0 && !last->n_conflicts &&
                        !r->n_unbootable && !last->health.degraded;

        mb_buf_printf(&b, "{\n  \"changed\": %s,\n  \"in_desired_state\": %s,\n  \"exit_code\": %d,\n",
                      changed ? "true" : "false", in_state ? "true" : "false", code);
        mb_buf_put(&b, "  \"verb\": ", 10);
        mb_buf_json_string(&b, r->o->verb == MB_VERB_APPLY ? "apply" : r->o->verb == MB_VERB_CHECK ? "check" : "plan");
        mb_buf_put(&b, ",\n  \"config\": ", 13);
        mb_buf_json_string(&b, r->o->config_path);
        mb_buf_put(&b, ",\n  \"target\": ", 13);
        mb_buf_json_string(&b, r->o->target);
        if (r->verify.depth != MB_VERIFY_NONE) {
                char when[32] = "";
                struct tm tm;

                if (r->verify.last_deep && utc(r->verify.last_deep, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
                mb_buf_printf(&b, ",\n  \"verification\": {\"depth\": \"%s\", \"last_deep\": ",
                              r->verify.depth == MB_VERIFY_DEEP ? "deep" : "metadata");
                if (when[0])
                        mb_buf_json_string(&b, when);
                else
                        mb_buf_put(&b, "null", 4);
                mb_buf_put(&b, "}", 1);
        }
        mb_buf_put(&b, ",\n  \"changes\": [", 16);
        for (size_t i = 0; p && i < p->n_changes; i++) {
                mb_buf_put(&b, i ? ",\n    " : "\n    ", i ? 6 : 5);
                json_change(&b, r, &p->changes[i], r->facts);
        }
        mb_buf_put(&b, p && p->n_changes ? "\n  ],\n" : "],\n", p && p->n_changes ? 6 : 3);
        mb_buf_put(&b, "  \"applied\": [", 14);
        for (size_t i = 0; i < r->n_applied; i++) {
                mb_buf_put(&b, i ? ",\n    " : "\n    ", i ? 6 : 5);
                json_change(&b, r, &r->applied[i], r->facts);
        }
        mb_buf_put(&b, r->n_applied ? "\n  ],\n" : "],\n", r->n_applied ? 6 : 3);
        mb_buf_put(&b, "  \"resources\": [", 16);
        for (size_t i = 0; p && i < p->n_status; i++) {
                mb_buf_put(&b, i ? ",\n    " : "\n    ", i ? 6 : 5);
                mb_buf_put(&b, "{\"resource\": ", 13);
                mb_buf_json_string(&b, mb_resource_to_string(p->status[i].resource));
                mb_buf_put(&b, ", \"subject\": ", 13);
                mb_buf_json_string(&b, p->status[i].subject);
                mb_buf_put(&b, ", \"state\": ", 11);
                mb_buf_json_string(&b, resource_state(r, &p->status[i]));
                mb_buf_printf(&b, ", \"changes\": %d}", p->status[i].n_changes);
        }
        mb_buf_put(&b, p && p->n_status ? "\n  ],\n" : "],\n", p && p->n_status ? 6 : 3);
        json_boot(&b, r);
        mb_buf_printf(&b, "  \"health\": {\"resyncing\": %s, \"percent\": %u, \"detail\": ",
                      last && last->health.resyncing ? "true" : "false",
                      last && last->health.resyncing ? last->health.percent : 100);
        mb_buf_json_string(&b, last && last->health.resyncing ? last->health.what : "");
        mb_buf_printf(&b, ", \"degraded\": %s, \"degraded_detail\": ",
                      last && last->health.degraded ? "true" : "false");
        mb_buf_json_string(&b, last && last->health.degraded ? last->health.degraded_what : "");
        mb_buf_put(&b, ", \"plexes\": [", 13);
        for (uint32_t i = 0; last && i < last->health.n_plexes; i++) {
                const mb_plex_health *x = &last->health.plexes[i];

                mb_buf_put(&b, i ? ", " : "", i ? 2 : 0);
                mb_buf_put(&b, "{\"mirror\": ", 11);
                mb_buf_json_string(&b, mb_role_to_string(x->mirror));
                mb_buf_put(&b, ", \"disk\": ", 10);
                mb_buf_json_string(&b, r->config ? r->config->site->disks[x->disk].name : "");
                mb_buf_printf(&b, ", \"number\": %d, \"state\": ", x->number);
                mb_buf_json_string(&b, mb_plex_state_to_string(x->state));
                mb_buf_printf(&b, ", \"percent\": %u, \"ldm_disk\": ", x->percent);
                mb_buf_json_string(&b, x->ldm_disk);
                mb_buf_put(&b, "}", 1);
        }
        mb_buf_put(&b, "]},\n  \"notes\": [", 16);
        for (size_t i = 0; last && i < last->n_notes; i++) {
                mb_buf_put(&b, i ? ", " : "", i ? 2 : 0);
                mb_buf_json_string(&b, last->notes[i]);
        }
        mb_buf_printf(&b, "],\n  \"conflicts\": [");
        for (size_t i = 0; last && i < last->n_conflicts; i++) {
                mb_buf_put(&b, i ? ", " : "", i ? 2 : 0);
                mb_buf_json_string(&b, last->conflicts[i]);
        }
        mb_buf_put(&b, "],\n  \"errors\": [", 16);
        if (r->failed) {
                char msg[4096];

                mb_error_format(&r->err, msg, sizeof(msg));
                mb_buf_json_string(&b, msg);
        }
        mb_buf_put(&b, "]\n}\n", 4);
        if (!b.failed)
                fputs(b.data, r->o->out);
        mb_buf_free(&b);
}

static void print_change(FILE *out, size_t i, const mb_change *c, const char *cmd)
{
        fprintf(out, "%3zu. %-10s %s: %s -> %s%s\n", i + 1, mb_resource_to_string(c->resource),
                c->subject, c->current, c->desired, c->destructive ? "  [destructive]" : "");
        if (cmd) {
                const char *s = cmd;

                while (*s) {
                        const char *e = strchr(s, '\n');
                        size_t n = e ? (size_t)(e - s) : strlen(s);

                        fprintf(out, "       %.*s\n", (int)n, s);
                        s += n + (e ? 1 : 0);
                }
        }
}

static void print_bindings(FILE *out, const mb_config *c, const mb_plan *p)
{
        fprintf(out, "disks:");
        for (uint32_t i = 0; i < c->site->n_disks; i++)
                fprintf(out, "%s %s = disk %d", i ? "," : "", c->site->disks[i].name,
                        p->binding.number[i]);
        fprintf(out, "\n");
}

static void summary(const mb_plan *p, char *buf, size_t len)
{
        size_t destructive = 0, off = 0;

        for (size_t i = 0; i < p->n_changes; i++)
                destructive += p->changes[i].destructive;
        off = (size_t)snprintf(buf, len, "%zu change%s", p->n_changes, p->n_changes == 1 ? "" : "s");
        if (destructive)
                off += (size_t)snprintf(buf + off, off < len ? len - off : 0, ", %zu destructive", destructive);
        if (p->n_changes) {
                off += (size_t)snprintf(buf + off, off < len ? len - off : 0, " (");
                for (size_t i = 0; i < p->n_changes && i < 3; i++)
                        off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s: %s", i ? "; " : "",
                                                p->changes[i].subject, p->changes[i].current);
                off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s)", p->n_changes > 3 ? "; ..." : "");
        }
}

/* "verified: metadata (files against the record; last deep verification
 * 2026-12-06 13:40:00 UTC)" or "verified: deep (every byte read)". */
static void print_verify(FILE *out, const mb_verify *v)
{
        char when[32] = "never";
        struct tm tm;

        if (v->depth == MB_VERIFY_NONE)
                return;
        if (v->depth == MB_VERIFY_DEEP) {
                fprintf(out, "verified: deep (every byte compared was read)\n");
                return;
        }
        if (v->last_deep && utc(v->last_deep, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        fprintf(out, "verified: metadata (file identities against the record; last deep verification %s)\n",
                when);
}

static void print_text(const report *r, const mb_config *c, int code)
{
        FILE *out = r->o->out;
        const mb_plan *p = r->plan, *last = r->final ? r->final : r->plan;
        char line[2048];

        if (r->failed) {
                char msg[4096];

                mb_error_format(&r->err, msg, sizeof(msg));
                fprintf(stderr, "mbstate: %s\n", msg);
                if (r->o->verb != MB_VERB_APPLY || !r->n_applied)
                        return;
        }
        if (r->o->verb == MB_VERB_CHECK && p) {
                if (p->health.degraded)
                        fprintf(out, "degraded: %s\n", p->health.degraded_what);
                if (p->n_changes) {
                        summary(p, line, sizeof(line));
                        fprintf(out, "drift: %s\n", line);
                }
                for (size_t i = 0; i < r->n_boot; i++) {
                        if (r->boot[i].v.bootable)
                                continue;
                        mb_boot_verdict_line(r->boot[i].disk, &r->boot[i].v, line, sizeof(line));
                        fprintf(out, "drift: %s\n", line);
                }
                /* differences and a degraded mirror are said above, conflicts below */
                if (!p->n_changes && !r->n_unbootable && !p->n_conflicts && !p->health.degraded) {
                        if (p->health.resyncing)
                                fprintf(out, "converging: %s\n", p->health.what);
                        else
                                fprintf(out, "in desired state\n");
                }
                print_verify(out, &r->verify);
        }
        if (r->o->verb != MB_VERB_APPLY && p) {
                if (r->o->verb == MB_VERB_PLAN)
                        print_bindings(out, c, p);
                for (size_t i = 0; i < p->n_changes; i++) {
                        char *cmd = NULL;

                        if (r->o->verb == MB_VERB_PLAN)
                                mb_op_commands(r->o->commands, r->facts, &p->changes[i].op, &cmd);
                        print_change(out, i, &p->changes[i], cmd);
                        free(cmd);
                }
                if (r->o->verb == MB_VERB_PLAN) {
                        if (p->n_changes) {
                                summary(p, line, sizeof(line));
                                fprintf(out, "%s\n", line);
                        } else {
                                fprintf(out, "No changes.%s%s\n", p->health.resyncing ? " " : "",
                                        p->health.resyncing ? p->health.what : "");
                        }
                        if (p->health.degraded)
                                fprintf(out, "degraded: %s\n", p->health.degraded_what);
                }
        }
        if (r->o->verb == MB_VERB_APPLY && !r->failed) {
                if (!r->n_applied && last && last->health.degraded)
                        fprintf(out, "No changes: all that can be done without the missing disk is done.\n");
                else if (!r->n_applied)
                        fprintf(out, "%s\n", last && last->n_conflicts ? "No changes applied."
                                                                       : "No changes: in desired state.");
                else
                        fprintf(out, "converged: %zu change%s applied\n", r->n_applied,
                                r->n_applied == 1 ? "" : "s");
                if (last && last->health.resyncing)
                        fprintf(out, "converging: %s\n", last->health.what);
                if (last && last->health.degraded)
                        fprintf(out, "degraded: %s\n", last->health.degraded_what);
        }
        for (size_t i = 0; last && i < last->n_conflicts; i++)
                fprintf(out, "conflict: %s\n", last->conflicts[i]);
        for (size_t i = 0; last && i < last->n_notes; i++)
                fprintf(out, "note: %s\n", last->notes[i]);
        (void)code;
}

/* ---------- running ---------- */

static void progress_update(mb_progress *p, const char *what, uint64_t done, uint64_t total)
{
        FILE *out = p->ctx;

        if (!out || total == 0)
                return;
        if (isatty(fileno(out)))
                fprintf(out, "\r  %s: %3u%%", what, (unsigned)(done * 100 / total));
        else if (done == total)
                fprintf(out, "  %s: 100%%\n", what);
        if (done == total && isatty(fileno(out)))
                fprintf(out, "\n");
        fflush(out);
}

static bool same_change(const mb_change *a, const mb_change *b)
{
        return a->resource == b->resource && a->op.kind == b->op.kind && a->op.disk == b->op.disk &&
               a->op.role == b->op.role && strcmp(a->subject, b->subject) == 0;
}

static int apply_loop(report *r, const mb_config *c, mb_platform *pl)
{
        mb_progress progress = { r->o->progress, progress_update };
        mb_plan *p = NULL;
        mb_facts *f = NULL;
        int rc;

        for (uint32_t i = 0; i < c->site->n_disks; i++)
                if (r->plan->binding.number[i] >= 0) {
                        rc = mb_platform_allow_write(pl, (uint32_t)r->plan->binding.number[i], &r->err);
                        if (rc)
                                return rc;
                }
        f = mb_facts_dup(r->facts);
        if (!f)
                return mb_error_set(&r->err, MB_ENOMEM, "out of memory");
        for (int step = 0;; step++) {
                mb_change *ch, *n;

                rc = mb_plan_compute(c, f, &p, &r->err);
                if (rc)
                        break;
                if (p->n_changes == 0)
                        break;
                ch = &p->changes[0];
                if (step >= MAX_STEPS) {
                        rc = mb_error_set(&r->err, MB_ESTATE,
                                          "did not converge after %d operations; still to do: %s: %s",
                                          step, ch->subject, ch->current);
                        break;
                }
                if (r->n_applied && same_change(&r->applied[r->n_applied - 1], ch)) {
                        rc = mb_error_set(&r->err, MB_ESTATE,
                                          "did not converge: %s (%s) had no effect; still %s, expected %s",
                                          ch->subject, mb_op_kind_to_string(ch->op.kind), ch->current,
                                          ch->desired);
                        break;
                }
                if (r->o->progress && !r->o->json)
                        fprintf(r->o->progress, "[%zu] %s %s: %s -> %s\n", r->n_applied + 1,
                                mb_resource_to_string(ch->resource), ch->subject, ch->current, ch->desired);
                rc = mb_platform_execute(pl, &ch->op, &progress, &r->err);
                if (rc) {
                        mb_error_prefix(&r->err, "%s: %s failed (nothing further was done)", ch->subject,
                                        mb_op_kind_to_string(ch->op.kind));
                        break;
                }
                n = mb_reallocarray(r->applied, r->n_applied + 1, sizeof(*n));
                if (!n) {
                        rc = mb_error_set(&r->err, MB_ENOMEM, "out of memory");
                        break;
                }
                r->applied = n;
                r->applied[r->n_applied++] = *ch;
                mb_log_write(r->log, false, "applied %s %s: %s -> %s (%s)", mb_resource_to_string(ch->resource),
                             ch->subject, ch->current, ch->desired, mb_op_kind_to_string(ch->op.kind));
                mb_plan_free(p);
                p = NULL;
                mb_facts_free(f);
                f = NULL;
                rc = mb_platform_read_facts(pl, &f, &r->err);
                if (rc) {
                        mb_error_prefix(&r->err, "re-reading the machine after %s", mb_op_kind_to_string(ch->op.kind));
                        break;
                }
        }
        if (!rc && r->o->wait) {
                double start = (double)time(NULL);
                bool tty = r->o->progress && isatty(fileno(r->o->progress));

                while (p && p->health.resyncing) {
                        mb_op op = { .kind = MB_OP_MIRROR_RESYNC };

                        if (r->o->progress) {
                                unsigned pc = p->health.percent, bar = pc / 5;

                                if (tty)
                                        fprintf(r->o->progress, "\r  resync [%.*s%*s] %3u%%", (int)bar,
                                                "####################", (int)(20 - bar), "", pc);
                                else
                                        fprintf(r->o->progress, "  resync %u%%\n", pc);
                                fflush(r->o->progress);
                        }
                        if (r->o->wait_max > 0 && (double)time(NULL) - start >= r->o->wait_max)
                                break; /* still converging: exit 3 */
                        for (uint32_t v = 0; v < f->n_volumes; v++)
                                for (uint32_t x = 0; x < f->volumes[v].n_plexes; x++)
                                        if (f->volumes[v].plexes[x].state == MB_PLEX_RESYNCING)
                                                op.disk = (uint32_t)f->volumes[v].plexes[x].disk;
                        rc = mb_platform_execute(pl, &op, &progress, &r->err);
                        mb_plan_free(p);
                        p = NULL;
                        mb_facts_free(f);
                        f = NULL;
                        if (!rc)
                                rc = mb_platform_read_facts(pl, &f, &r->err);
                        if (!rc)
                                rc = mb_plan_compute(c, f, &p, &r->err);
                        if (rc)
                                break;
                }
                if (tty && !rc)
                        fprintf(r->o->progress, "\r  resync %s\n",
                                p && p->health.resyncing ? "still running" : "complete                       ");
        }
        {
                mb_error ferr = { 0 };
                int frc = mb_platform_finish(pl, &ferr);

                if (frc && !rc) {
                        r->err = ferr;
                        rc = frc;
                }
        }
        mb_facts_free(f);
        if (rc) {
                mb_plan_free(p);
                return rc;
        }
        r->final = p;
        return 0;
}

/* check --format / --textfile (engine/monitor.c): writes the textfile, then
 * prints the format (or the own report); returns the exit code. */
static int monitor_report(report *r, const mb_config *c, const mb_mon_input *mi, int code)
{
        const mb_run_options *o = r->o;
        mb_mon_input in = *mi;

        if (o->textfile) {
                mb_error terr = { 0 };
                char msg[4096];

                if (mb_monitor_write_textfile(o->textfile, &in, &terr) != 0) {
                        mb_error_format(&terr, msg, sizeof(msg));
                        fprintf(stderr, "mbstate: %s\n", msg);
                        if (!r->failed)
                                code = MB_EXIT_ERROR;
                }
        }
        if (o->format)
                return mb_monitor_print((mb_mon_format)o->format, &in, o->out);
        if (o->json)
                print_json(r, code);
        else
                print_text(r, c, code);
        return code;
}

int mb_run(const mb_run_options *o)
{
        report r = { .o = o };
        mb_config *c = NULL;
        mb_platform *pl = NULL;
        int rc, code, exit_code;

        mb_lock *lock = NULL;
        static const char *const verbs[] = { "plan", "check", "apply" };
        double started = mb_monitor_clock();
        mb_mon_input mi;
        mb_event outcome;
        char summary_text[1100];

        if (o->log && mb_log_open(o->log, &r.log, &r.err) != 0) {
                char msg[4096];

                mb_error_format(&r.err, msg, sizeof(msg));
                fprintf(stderr, "mbstate: %s\n", msg);
                return MB_EXIT_ERROR;
        }
        mb_log_write(r.log, false, "%s %s --target %s: start", verbs[o->verb], o->config_path, o->target);
        rc = mb_config_load(o->config_path, &c, &r.err);
        r.config = c;
        if (!rc)
                rc = mb_lock_acquire(o->target, o->verb == MB_VERB_APPLY, o->lock_timeout, &lock, &r.err);
        if (!rc)
                rc = mb_platform_open(o->target, &pl, &r.err);
        if (!rc) {
                pl->verify.deep = o->deep || o->verb == MB_VERB_APPLY;
                pl->verify.state_dir = o->state_dir ? o->state_dir : MB_STATE_DIR_DEFAULT;
                pl->verify.max_age = o->deep_age > 0 ? o->deep_age : MB_DEEP_AGE_DEFAULT;
                rc = mb_platform_read_facts(pl, &r.facts, &r.err);
                r.verify = pl->verify;
                /* apply's re-reads after each operation trust the record its
                 * first, deep, read just refreshed (a file an operation
                 * changed has a new identity and is read again) */
                pl->verify.deep = o->deep;
        }
        if (!rc)
                rc = mb_plan_compute(c, r.facts, &r.plan, &r.err);
        if (!rc && o->verb != MB_VERB_APPLY)
                boot_verdicts(&r, c);
        if (!rc && o->verb == MB_VERB_APPLY)
                rc = apply_loop(&r, c, pl);
        r.failed = rc != 0;
        if (r.failed)
                code = MB_EXIT_ERROR;
        else if (o->verb == MB_VERB_APPLY && r.final && r.final->n_conflicts)
                code = MB_EXIT_ERROR;   /* the rest converged; the conflicts are the operator's */
        else if (o->verb == MB_VERB_APPLY && r.final && r.final->health.degraded)
                code = MB_EXIT_DRIFT; /* a degraded mirror: not in desired state while a disk is missing */
        else if (o->verb == MB_VERB_APPLY)
                code = r.final && r.final->health.resyncing ? MB_EXIT_CONVERGING : MB_EXIT_OK;
        else if (r.plan->n_changes || r.plan->n_conflicts || r.plan->health.degraded ||
                 (o->verb == MB_VERB_CHECK && r.n_unbootable))
                code = MB_EXIT_DRIFT;
        else
                code = r.plan->health.resyncing ? MB_EXIT_CONVERGING : MB_EXIT_OK;
        exit_code = code;
        mi = (mb_mon_input){ .config = c, .facts = r.facts, .plan = r.plan, .err = r.failed ? &r.err : NULL,
                             .seconds = mb_monitor_clock() - started, .when = (double)time(NULL) };
        if (o->format || o->textfile)
                exit_code = monitor_report(&r, c, &mi, code);
        else if (o->json)
                print_json(&r, code);
        else
                print_text(&r, c, code);
        if (r.failed) {
                char msg[4096];

                mb_error_format(&r.err, msg, sizeof(msg));
                mb_log_write(r.log, true, "%s %s: %s", verbs[o->verb], o->config_path, msg);
        }
        summary_text[0] = '\0';
        if (o->verb == MB_VERB_CHECK) {
                outcome = mb_monitor_check_event(&mi);
                summary_text[0] = ' ';
                mb_monitor_summary(&mi, summary_text + 1, sizeof(summary_text) - 1);
        }
        else if (o->verb == MB_VERB_APPLY)
                outcome = r.failed ? MB_EVENT_APPLY_FAILED : r.n_applied ? MB_EVENT_APPLY_CHANGED : MB_EVENT_APPLY_UNCHANGED;
        else
                outcome = r.failed ? MB_EVENT_ERROR : MB_EVENT_PLAN;
        mb_log_event(r.log, outcome, "%s %s: exit %d (%s; %zu change%s %s)%s", verbs[o->verb],
                     o->config_path, code,
                     code == 0 ? "in desired state" : code == 1 ? "error" : code == 2 ? "drift" : "converging",
                     o->verb == MB_VERB_APPLY ? r.n_applied : (r.plan ? r.plan->n_changes : 0),
                     (o->verb == MB_VERB_APPLY ? r.n_applied : (r.plan ? r.plan->n_changes : 0)) == 1 ? "" : "s",
                     o->verb == MB_VERB_APPLY ? "applied" : "needed", summary_text);
        mb_plan_free(r.plan);
        mb_plan_free(r.final);
        free(r.applied);
        mb_facts_free(r.facts);
        mb_platform_close(pl);
        mb_lock_release(lock);
        mb_config_free(c);
        mb_log_close(r.log);
        return exit_code;
}
