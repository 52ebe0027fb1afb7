/* SPDX-License-Identifier: MIT */
#ifndef MB_RUN_H
#define MB_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "plan.h"
#include "platform/platform.h"

/* Exit codes (DESIGN.md §7). */
enum {
        MB_EXIT_OK = 0,
        MB_EXIT_ERROR = 1,
        MB_EXIT_DRIFT = 2,
        MB_EXIT_CONVERGING = 3,
};

typedef enum { MB_VERB_PLAN, MB_VERB_CHECK, MB_VERB_APPLY } mb_verb;

typedef struct mb_run_options {
        mb_verb verb;
        const char *config_path;
        const char *target;
        mb_target_options target_options;       /* what the command line asks of the target */
        bool json;
        const char *commands;   /* NULL, "windows" or "target": which commands to show */
        bool wait;              /* apply: wait for resyncs */
        double wait_max;        /* seconds; 0 = no limit */
        double lock_timeout;    /* seconds to wait for another run's lock */
        const char *log;        /* NULL, "syslog", "eventlog" or a file */
        int format;             /* check: an mb_mon_format (engine/monitor.h); 0 = the own report */
        const char *textfile;   /* check: also write the Prometheus textfile here */
        bool deep;              /* check --deep: re-read every byte compared (apply always does) */
        const char *state_dir;  /* --state-dir: the verification records; NULL = the default */
        double deep_age;        /* --deep-age: seconds after which check reads deep; 0 = 7 days */
        FILE *out;              /* report stream (stdout) */
        FILE *progress;         /* progress stream (stderr) or NULL */
} mb_run_options;

/* Runs plan, check or apply and prints the report; returns the exit code. */
int mb_run(const mb_run_options *o);

/* Describes an operation as the target will run it (one or more lines). */
int mb_op_commands(const char *which, const mb_facts *f, const mb_op *op, char **ret_text);

#endif
