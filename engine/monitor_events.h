/* SPDX-License-Identifier: MIT */
#ifndef MB_MONITOR_EVENTS_H
#define MB_MONITOR_EVENTS_H

/*
 * The event IDs of mbstate's Windows Event Log source "mbstate" (Application
 * log), one per condition, stable across versions so that SCOM, Splunk or
 * Wazuh rules can match them (README, "Monitoring"). Each has a message in
 * the message table engine/monitor_events.mc, compiled into mbstate.exe
 * (windmc, windres), with the same severity: the value given to ReportEventW
 * is the full message ID, severity in bits 30-31 (Information 1, Warning 2,
 * Error 3) above the 16-bit ID Event Viewer shows. --log FILE and syslog
 * carry the same level (info, warning, error).
 */
typedef enum mb_event {
        MB_EVENT_INFO = 100,            /* Information: a run started, a change applied */
        MB_EVENT_ERROR = 101,           /* Error: what failed, before the outcome */
        MB_EVENT_CHECK_OK = 1000,       /* Information: check, in the desired state */
        MB_EVENT_CHECK_CONVERGING = 1001, /* Warning: check, a mirror resync running */
        MB_EVENT_CHECK_DRIFT = 1002,    /* Warning: check, drift; every declared disk still boots */
        MB_EVENT_CHECK_NOT_BOOTABLE = 1003, /* Error: check, a declared disk would not boot on its own,
                                             * or a mirror plex is missing or failed */
        MB_EVENT_CHECK_FAILED = 1004,   /* Error: check could not evaluate */
        MB_EVENT_APPLY_CHANGED = 2000,  /* Information: apply changed the machine and converged */
        MB_EVENT_APPLY_UNCHANGED = 2001, /* Information: apply, nothing to change */
        MB_EVENT_APPLY_FAILED = 2002,   /* Error: apply failed */
        MB_EVENT_PLAN = 3000,           /* Information: plan's outcome */
} mb_event;

typedef enum mb_event_level {
        MB_LEVEL_INFO = 1,
        MB_LEVEL_WARNING = 2,
        MB_LEVEL_ERROR = 3,
} mb_event_level;

#endif
