/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for tests (fault.h): counts the fault points a run passes
 * and fails the one MBSTATE_FAULT_AT names, so every point can be proved to
 * leave the disks recoverable.
 */
#include "fault.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mb_fault__state;

static unsigned long fault_at;  /* 0: never fail */
static unsigned long fault_seen;
static int fault_kill;
static const char *fault_count_file;
static const char *fault_trace_file;

static void fault_write_count(void)
{
        FILE *f = fopen(fault_count_file, "a");

        if (!f)
                return;
        fprintf(f, "%lu\n", fault_seen);
        fclose(f);
}

static unsigned long env_number(const char *name)
{
        const char *v = getenv(name);
        char *end;
        unsigned long n;

        if (!v || !*v)
                return 0;
        n = strtoul(v, &end, 10);
        return *end ? 0 : n;
}

static void fault_init(void)
{
        const char *kill = getenv("MBSTATE_FAULT_KILL");
        const char *count = getenv("MBSTATE_FAULT_COUNT");
        const char *trace = getenv("MBSTATE_FAULT_TRACE");

        fault_at = env_number("MBSTATE_FAULT_AT");
        fault_kill = kill && strcmp(kill, "1") == 0;
        if (count && *count) {
                fault_count_file = count;
                atexit(fault_write_count);
        }
        if (trace && *trace)
                fault_trace_file = trace;
        mb_fault__state = fault_at || fault_count_file || fault_trace_file ? 2 : 1;
}

int mb_fault__check(const char *what, mb_error *err)
{
        if (mb_fault__state == 0)
                fault_init();
        if (mb_fault__state == 1)
                return 0;
        fault_seen++;
        if (fault_trace_file) {
                FILE *f = fopen(fault_trace_file, "a");

                if (f) {
                        fprintf(f, "%lu %s\n", fault_seen, what);
                        fclose(f);
                }
        }
        if (fault_at == 0 || fault_seen != fault_at)
                return 0;
        if (fault_kill) {
                fprintf(stderr, "mbstate: injected crash #%lu at %s\n", fault_seen, what);
#ifdef SIGKILL
                raise(SIGKILL);
#endif
                abort();
        }
        return mb_error_set(err, MB_EIO, "injected fault #%lu at %s", fault_seen, what);
}

int mb_fault__checkf(mb_error *err, const char *fmt, ...)
{
        char what[512];
        va_list ap;

        if (mb_fault__state == 1)
                return 0;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return mb_fault__check(what, err);
}
