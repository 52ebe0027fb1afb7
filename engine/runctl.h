/* SPDX-License-Identifier: MIT */
#ifndef MB_RUNCTL_H
#define MB_RUNCTL_H

#include <stdbool.h>

#include "error.h"

/*
 * Run control for unattended use: one run at a time, and a log of what a
 * run did.
 */

/* The lock of one machine (target): exclusive for apply, shared for
 * plan/check (they must not read a machine half-way through an apply).
 * Waits up to timeout_s seconds. POSIX: flock() on $MBSTATE_LOCK, or on
 * /run/lock/mbstate-KEY.lock (/tmp when /run/lock is not writable), one per
 * file of an image target with KEY a hash of its device and inode (taken in
 * key order), else one with KEY a hash of the target: two runs that share an
 * image file contend however they name it. Windows: the named mutex
 * Global\mbstate (apply only). */
typedef struct mb_lock mb_lock;
int mb_lock_acquire(const char *target, bool exclusive, double timeout_s, mb_lock **ret,
                    mb_error *err);
void mb_lock_release(mb_lock *l);

/* The log: "syslog" (POSIX), "eventlog" (Windows Event Log), or a file path
 * (appended, one timestamped line per event). */
typedef struct mb_log mb_log;
int mb_log_open(const char *spec, mb_log **ret, mb_error *err);
void mb_log_write(mb_log *l, bool error, const char *fmt, ...) MB_PRINTF(3, 4);
void mb_log_close(mb_log *l);

/* Parses "90", "90s", "15m", "2h" into seconds; -1 if not a duration. */
double mb_parse_duration(const char *s);

#endif
