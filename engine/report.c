/* SPDX-License-Identifier: MIT */
/*
 * The reports of plan, check and apply: a run's plan, what apply did, the
 * per-resource outcomes (kept, repaired, failed, drift, conflict), the boot
 * verdicts, health and notes, as text for people and as JSON for tools,
 * and the commands a target would run for an operation (plan --commands).
 * Nothing here reads or changes a machine; engine/run.c fills the report.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/renderers.h"
#include "yamldoc.h"

int mb_op_commands(const char *which, const mb_facts *f, const mb_op *op, char **ret_text)
{
        const mb_renderer *rd = mb_renderer_find(which);
        mb_error err = { 0 };
        mb_buf b = { 0 };

        if (!rd)
                rd = mb_renderer_find(MB_RENDERER_DEFAULT);
        if (rd->render(f, op, ret_text, &err) == 0)
                return 0;
        /* MB_ESTATE: what the commands name is made by an earlier change of
         * the plan (a new disk's ESP, its plex): they are rendered when the
         * change runs, from the facts read then */
        mb_buf_printf(&b, err.code == MB_ESTATE ? "(rendered when it runs, not before: %s)" : "(cannot render: %s)",
                      err.msg);
        if (b.failed)
                return MB_ENOMEM;
        *ret_text = b.data;
        return 0;
}

/* ---------- reports ---------- */

/* The verdicts of the declared disks that the site gives an ESP and that
 * are bound to a disk of the facts. */
void mb_report_boot_verdicts(mb_report *r, const mb_config *c)
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

static void json_boot(mb_buf *b, const mb_report *r)
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

static void json_change(mb_buf *b, const mb_report *r, const mb_change *c, const mb_facts *f)
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

/* Did the failed apply leave a change of resource s undone: the change that
 * failed, or one it never reached? Also when nothing was applied, or the
 * target's finish failed (then what was applied may not be kept). */
static bool left_undone(const mb_report *r, const mb_resource_status *s)
{
        if (r->unfinished || (!r->left && !r->n_applied))
                return true;
        for (size_t i = r->left_done; r->left && i < r->left->n_changes; i++)
                if (r->left->changes[i].resource == s->resource &&
                    strcmp(r->left->changes[i].subject, s->subject) == 0)
                        return true;
        return false;
}

/*
 * The outcome of one resource, folded as CFEngine folds promises: a
 * difference the plan refuses is "conflict"; no difference "kept"; plan and
 * check report "drift"; apply "repaired" when every change of the resource
 * was applied (also before a later failure elsewhere), "failed" when one of
 * its changes failed or was left undone by the failure.
 */
static const char *resource_state(const mb_report *r, const mb_resource_status *s)
{
        if (s->conflict)
                return "conflict";
        if (s->n_changes == 0)
                return "kept";
        if (r->o->verb != MB_VERB_APPLY)
                return "drift";
        return r->failed && left_undone(r, s) ? "failed" : "repaired";
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

void mb_report_json(const mb_report *r, int code)
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

void mb_report_text(const mb_report *r, const mb_config *c, int code)
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


int mb_report_monitor(mb_report *r, const mb_config *c, const mb_mon_input *mi, int code)
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
                mb_report_json(r, code);
        else
                mb_report_text(r, c, code);
        return code;
}
