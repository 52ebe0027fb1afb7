/* SPDX-License-Identifier: MIT */
/*
 * plan / check / apply: load, read facts, plan, and for apply execute the
 * first change of a fresh plan until nothing is left. Re-planning after
 * every operation means every step is decided on re-read state: an
 * interrupted run is finished by the next one, and an operation whose
 * effect already happened (Windows adding the plex's loader entry itself)
 * is not repeated. The reports are engine/report.c.
 */
#include "run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "report.h"
#include "state.h"

#define MAX_STEPS 200


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

static int apply_loop(mb_report *r, const mb_config *c, mb_platform *pl)
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
                mb_plan_free(r->left);
                r->left = NULL;
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
                /* kept until the next plan: what is left if the run stops here */
                r->left = p;
                r->left_done = 1;
                p = NULL;
                mb_facts_free(f);
                f = NULL;
                rc = mb_platform_read_facts(pl, &f, &r->err);
                if (rc) {
                        mb_error_prefix(&r->err, "re-reading the machine after %s",
                                        mb_op_kind_to_string(r->applied[r->n_applied - 1].op.kind));
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
                        r->unfinished = true;
                }
        }
        mb_facts_free(f);
        if (rc) {
                if (p) {
                        /* the change that failed or did not converge is its first */
                        mb_plan_free(r->left);
                        r->left = p;
                        r->left_done = 0;
                }
                return rc;
        }
        mb_plan_free(r->left);
        r->left = NULL;
        r->final = p;
        return 0;
}


int mb_run(const mb_run_options *o)
{
        mb_report r = { .o = o };
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
                rc = mb_platform_open_with(o->target, &o->target_options, &pl, &r.err);
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
                mb_report_boot_verdicts(&r, c);
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
                exit_code = mb_report_monitor(&r, c, &mi, code);
        else if (o->json)
                mb_report_json(&r, code);
        else
                mb_report_text(&r, c, code);
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
        mb_plan_free(r.left);
        free(r.applied);
        mb_facts_free(r.facts);
        mb_platform_close(pl);
        mb_lock_release(lock);
        mb_config_free(c);
        mb_log_close(r.log);
        return exit_code;
}
