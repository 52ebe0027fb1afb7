/* SPDX-License-Identifier: MIT */
#ifndef MB_PLAN_H
#define MB_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "facts.h"
#include "op.h"

/* The resource kinds in dependency order: one per row of mb_resources[]. */
typedef enum mb_resource_kind {
        MB_RES_DISK = 0,
        MB_RES_PARTITION,
        MB_RES_DYNAMIC,
        MB_RES_MIRROR,
        MB_RES_BOOT_ENTRY,
        MB_RES_CLONE,
        MB_RES_DISK_BOOT,
        MB_RES__COUNT,
} mb_resource_kind;

const char *mb_resource_to_string(mb_resource_kind k);

struct mb_plan;

/* One resource kind. */
typedef struct mb_resource_row {
        mb_resource_kind kind;
        const char *name;       /* in reports, JSON and the log: "boot_entry" */
        /* Checks the kind's own sections of site.yaml once the disks and
         * partitions (the model every kind shares, engine/config.c) are
         * checked; NULL when the kind has none. 0, or MB_EINVAL with a
         * FILE:LINE:COLUMN message. */
        int (*check)(const mb_config *c, mb_error *err);
        /* Adds the kind's differences between config and facts to the plan
         * (pure, no I/O); fails when the difference cannot be removed safely. */
        int (*diff)(const mb_config *c, const mb_facts *f, struct mb_plan *p, mb_error *err);
} mb_resource_row;

/* The resource kinds, indexed by kind, in dependency order
 * (resources/registry.c); mb_plan_compute diffs them in this order. */
extern const mb_resource_row mb_resources[MB_RES__COUNT];

#define MB_CHANGE_TEXT 256

/* One difference between the desired and the actual state, and the
 * primitive operation that removes it. */
typedef struct mb_change {
        mb_resource_kind resource;
        char subject[128];      /* "secondary efi (disk 1)" */
        char current[MB_CHANGE_TEXT]; /* what is there now, for people */
        char desired[MB_CHANGE_TEXT]; /* what site.yaml wants */
        bool destructive;       /* overwrites or removes data on the disk changed */
        mb_op op;
} mb_change;

/* Declared disk name -> facts disk number. */
typedef struct mb_binding {
        int number[16];         /* -1 when unbound */
        uint32_t n;
} mb_binding;

/* One declared plex of a mirror, as the facts show it. */
typedef struct mb_plex_health {
        mb_role mirror;         /* the mirror's role (os) */
        int disk;               /* index into site->disks */
        int number;             /* facts disk number; -1 when the disk is absent */
        mb_plex_state state;    /* MB_PLEX_MISSING: disk absent or no plex on it */
        uint32_t percent;       /* resync progress (100 when healthy) */
        char ldm_disk[32];      /* LDM disk name, also for a missing disk ("Disk2") */
} mb_plex_health;

#define MB_MAX_PLEX_HEALTH 16

typedef struct mb_health {
        bool resyncing;         /* a mirror plex is resyncing */
        uint32_t percent;       /* lowest resync progress */
        char what[256];         /* "os mirror: plex on disk 1 resyncing 42%" */
        bool degraded;          /* a declared mirror disk is absent: a state, not an error */
        char degraded_what[1024]; /* "os mirror has no plex on secondary (...); primary boots alone: yes" */
        mb_plex_health plexes[MB_MAX_PLEX_HEALTH];
        uint32_t n_plexes;
} mb_health;

/* Per resource, the outcome for reports: kept (in desired state) or changes needed. */
typedef struct mb_resource_status {
        mb_resource_kind resource;
        char subject[128];
        int n_changes;
        bool conflict;          /* a difference the plan refuses to remove (see conflicts) */
} mb_resource_status;

typedef struct mb_plan {
        mb_change *changes;
        size_t n_changes;
        mb_binding binding;
        mb_health health;
        mb_resource_status *status;
        size_t n_status;
        char **notes;           /* things not changed, said once ("no firmware store on this target") */
        size_t n_notes;
        /* differences the plan refuses to remove (a boot manager that would be
         * downgraded or replaced by a revoked one): each says both sides and
         * what to do; apply converges the rest and exits 1 */
        char **conflicts;
        size_t n_conflicts;
        /* the facts the plan is computed from, borrowed while mb_plan_compute
         * runs (mb_plan_add records disk identities from them); NULL after */
        const mb_facts *facts;
} mb_plan;

/*
 * Computes the plan: a pure function of the loaded config and the facts.
 * Returns MB_EUNSAFE/MB_EINVAL/MB_ESTATE when the desired state cannot be
 * reached safely (a non-blank disk that would need cleaning, a template
 * disk without a role, ...), with a message naming the disk and partition.
 */
int mb_plan_compute(const mb_config *c, const mb_facts *f, mb_plan **ret, mb_error *err);
void mb_plan_free(mb_plan *p);

/* Binds declared disks to facts disks by their selectors. A mirror disk
 * that matches no disk while the present disks' LDM database shows a plex
 * on a missing disk is left unbound (number -1): the mirror is degraded,
 * which mb_plan_compute reports in health, not as an error. */
int mb_plan_bind(const mb_config *c, const mb_facts *f, mb_binding *ret, mb_error *err);

/*
 * Adds one change to the plan: the resource and subject it belongs to, the
 * operation that removes the difference, and the current and desired state
 * as people read them (each cut to MB_CHANGE_TEXT - 1 bytes). The one place
 * a change enters a plan. Returns 0, or MB_ENOMEM with err set and the plan
 * unchanged.
 */
int mb_plan_add(mb_plan *p, mb_resource_kind res, const char *subject, bool destructive,
                const mb_op *op, const char *current, const char *desired, mb_error *err);
int mb_plan_note(mb_plan *p, const char *fmt, ...) MB_PRINTF(2, 3);
/* The volume of declared mirror m: the largest one with a plex on one of
 * its bound disks; NULL when none. Pure. */
const mb_volume_fact *mb_plan_mirror_volume(const mb_config *c, const mb_facts *f, const mb_binding *b,
                                            const struct mb_site_mirror *m);
/* Adds the outcome row of one resource: the changes added since
 * changes_before are its; conflict when the plan refuses its difference.
 * Returns 0, or MB_ENOMEM with err set. */
int mb_plan_status(mb_plan *p, mb_resource_kind res, const char *subject, size_t changes_before,
                   bool conflict, mb_error *err);
int mb_plan_conflict(mb_plan *p, const char *fmt, ...) MB_PRINTF(2, 3);

/* "secondary (disk 1)" */
const char *mb_plan_disk_label(const mb_config *c, const mb_binding *b, int idx, char *buf,
                               size_t len);

/* Desired partition geometry of a role on a disk (template or layout). */
typedef struct mb_part_want {
        mb_role role;
        uint64_t first_lba, last_lba;
        char type_guid[MB_GUID_TEXT];
        uint64_t attributes;
        char name[72];
} mb_part_want;

/* Fills want[] (one per role, disk order); returns count or a negative MB_E*. */
int mb_plan_wanted_parts(const mb_config *c, const mb_facts *f, const mb_binding *b,
                         const mb_disk_fact *disk, mb_part_want *want, size_t max,
                         mb_error *err);

/* The source disk of the layout: the template, or the first partitioned disk. */
int mb_plan_source_index(const mb_config *c);

#endif
