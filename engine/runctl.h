/* SPDX-License-Identifier: MIT */
#ifndef MB_RUNCTL_H
#define MB_RUNCTL_H

#include <stdbool.h>

#include "error.h"
#include "monitor_events.h"

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
 * (appended, one timestamped line per event). Opening "eventlog" also
 * registers the event source mbstate (Application log) with this exe as its
 * EventMessageFile when it can (an administrator's run); unregistered, the
 * events are still written. */
typedef struct mb_log mb_log;
int mb_log_open(const char *spec, mb_log **ret, mb_error *err);
/* An event with its stable ID (monitor_events.h) and the ID's level. */
void mb_log_event(mb_log *l, mb_event ev, const char *fmt, ...) MB_PRINTF(3, 4);
/* mb_log_event with MB_EVENT_ERROR or MB_EVENT_INFO. */
void mb_log_write(mb_log *l, bool error, const char *fmt, ...) MB_PRINTF(3, 4);
/* The level of an event ID (MB_LEVEL_INFO for an unknown one). */
mb_event_level mb_event_level_of(mb_event ev);
void mb_log_close(mb_log *l);

/* Parses "90", "90s", "15m", "2h" into seconds; -1 if not a duration. */
double mb_parse_duration(const char *s);

#endif
