/* SPDX-License-Identifier: MIT */
#ifndef MB_MONITOR_H
#define MB_MONITOR_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "error.h"
#include "facts.h"
#include "monitor_events.h"
#include "plan.h"

/*
 * `check` in the formats monitoring systems read (README, "Monitoring"):
 * the monitoring-plugins API (Nagios, Icinga), a Checkmk local check, the
 * Prometheus text exposition format (stdout or a node_exporter/
 * windows_exporter textfile) and Zabbix low-level discovery. All of them
 * are views of one evaluation: a state (OK/WARNING/CRITICAL/UNKNOWN) taken
 * from the plan's drift items, the mirror health and a per-disk boot
 * verdict.
 */

typedef enum mb_mon_state {
        MB_MON_OK = 0,
        MB_MON_WARNING = 1,
        MB_MON_CRITICAL = 2,
        MB_MON_UNKNOWN = 3,
} mb_mon_state;

typedef enum mb_mon_format {
        MB_MON_TEXT = 0,        /* not a monitoring format: check's own report */
        MB_MON_NAGIOS,
        MB_MON_CHECKMK,
        MB_MON_PROMETHEUS,
        MB_MON_ZABBIX_DISCOVERY,
        MB_MON__COUNT,
} mb_mon_format;

/* What one check saw. Any pointer may be NULL when the run failed before
 * producing it; err is non-NULL exactly when the check could not evaluate. */
typedef struct mb_mon_input {
        const mb_config *config;
        const mb_facts *facts;
        const mb_plan *plan;
        const mb_error *err;
        double seconds;         /* time the check took */
        double when;            /* Unix time it ran */
} mb_mon_input;

/* "nagios", "checkmk", "prometheus", "zabbix-discovery" (or "text"); -1 otherwise. */
int mb_monitor_format_from_string(const char *s, mb_mon_format *ret);
const char *mb_monitor_format_names(void);      /* for messages: "nagios, checkmk, ..." */
const char *mb_mon_state_to_string(mb_mon_state s);

/* The state of a check (the README's mapping table). */
mb_mon_state mb_monitor_state(const mb_mon_input *in);

/* The one-line summary of a check ("secondary (disk 1) would not boot: ..."). */
void mb_monitor_summary(const mb_mon_input *in, char *buf, size_t len);

/* The event ID of a check's outcome (monitor_events.h): from its state, a
 * WARNING split into drift and converging. */
mb_event mb_monitor_check_event(const mb_mon_input *in);

/* Prints the check in format fmt on out; returns the exit code the format
 * calls for (nagios: the state; the others 0 once printed, 1 when nothing
 * could be printed). */
int mb_monitor_print(mb_mon_format fmt, const mb_mon_input *in, FILE *out);

/* Writes the Prometheus exposition of the check to path atomically: a
 * temporary file beside it (not ending in .prom), fsync, then rename. */
int mb_monitor_write_textfile(const char *path, const mb_mon_input *in, mb_error *err);

/*
 * Whether the declared disk idx (index into site->disks) would boot on its
 * own, with the reason in why. The one place the verdict is made: today
 * from presence -- the disk is found, has an ESP with a file system and
 * \EFI\Microsoft\Boot\BCD, and a firmware entry names that ESP and a loader
 * file present on it (without a firmware store on the target:
 * \EFI\Microsoft\Boot\bootmgfw.efi present).
 */
bool mb_monitor_disk_bootable(const mb_config *c, const mb_facts *f, const mb_binding *b, int idx,
                              char *why, size_t len);

/* Seconds on a monotonic clock, for the time a check takes. */
double mb_monitor_clock(void);

#endif
