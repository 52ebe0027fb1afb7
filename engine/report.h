/* SPDX-License-Identifier: MIT */
#ifndef MB_REPORT_H
#define MB_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "bootability.h"
#include "monitor.h"
#include "run.h"
#include "runctl.h"
#include "platform/platform.h"

/* What a run of plan, check or apply found and did: filled by engine/run.c,
 * printed by engine/report.c. */
typedef struct mb_report {
        const mb_run_options *o;
        mb_log *log;
        mb_facts *facts;        /* state the plan was made from */
        mb_plan *plan;          /* the initial plan */
        mb_change *applied;
        size_t n_applied;
        mb_plan *final;         /* after apply */
        /* apply that failed: the last plan made, of which the first
         * left_done changes were applied; the rest is what the failure left
         * undone (NULL when the loop converged or never planned) */
        mb_plan *left;
        size_t left_done;
        bool unfinished;        /* the target's finish failed: nothing applied is kept for sure */
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
} mb_report;

/* check and plan: the boot verdicts of the declared disks that the site
 * gives an ESP and that are bound to a disk of the facts. */
void mb_report_boot_verdicts(mb_report *r, const mb_config *c);
/* The report as JSON on r->o->out; code is the exit code it states. */
void mb_report_json(const mb_report *r, int code);
/* The report as text on r->o->out (the error on stderr). */
void mb_report_text(const mb_report *r, const mb_config *c, int code);
/* check --format / --textfile (engine/monitor.c): writes the textfile, then
 * prints the format (or the own report); returns the exit code. */
int mb_report_monitor(mb_report *r, const mb_config *c, const mb_mon_input *mi, int code);

#endif
