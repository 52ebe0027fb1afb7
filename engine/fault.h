/* SPDX-License-Identifier: MIT */
#ifndef MB_FAULT_H
#define MB_FAULT_H

#include "error.h"

/*
 * Fault injection for tests (GitHub issue 7). Every primitive operation and
 * every write the image target makes passes one fault point first. With
 *
 *   MBSTATE_FAULT_AT=N       the Nth point reached (counting from 1) fails
 *                            with MB_EIO "injected fault #N at WHAT";
 *   MBSTATE_FAULT_KILL=1     ... or, instead, the process kills itself
 *                            there with SIGKILL (a crash before that write);
 *   MBSTATE_FAULT_COUNT=FILE the number of points reached is appended to
 *                            FILE as one line when the process exits,
 *   MBSTATE_FAULT_TRACE=FILE each point reached is appended to FILE as
 *                            "N WHAT",
 *
 * a test learns how many points a run has and fails or crashes each in
 * turn. Without these variables a point costs one load and one branch.
 */

/* 0: not yet read from the environment; 1: off; 2: on. */
extern int mb_fault__state;

int mb_fault__check(const char *what, mb_error *err);
int mb_fault__checkf(mb_error *err, const char *fmt, ...) MB_PRINTF(2, 3);

/* 0, or MB_EIO with err set when this is the point chosen by
 * MBSTATE_FAULT_AT (what names the point: "pwrite disk1.img"). */
static inline int mb_fault_point(const char *what, mb_error *err)
{
        if (mb_fault__state == 1)
                return 0;
        return mb_fault__check(what, err);
}

/* mb_fault_point with a printf-style name, formatted only when enabled. */
#define mb_fault_pointf(err, ...) \
        (mb_fault__state == 1 ? 0 : mb_fault__checkf((err), __VA_ARGS__))

#endif
