/* SPDX-License-Identifier: MIT */
#ifndef MB_PLATFORM_H
#define MB_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "facts.h"
#include "op.h"

/*
 * Targets (platform back ends). Resources never touch a disk: they emit
 * changes, each carrying one primitive operation (mb_op, engine/op.h). A
 * target reads facts and performs operations; that is all it does. Every
 * operation passes one gate, mb_platform_execute(), which alone decides
 * whether the disk may be written and whether it is still the disk the plan
 * was made for, and then calls the target's handler for the op's kind.
 */

/* Progress of long operations (block clones, resync); NULL = silent. */
typedef struct mb_progress {
        void *ctx;
        void (*update)(struct mb_progress *p, const char *what, uint64_t done, uint64_t total);
} mb_progress;

typedef struct mb_platform mb_platform;

/* Performs one operation of the kind its slot in the handler table names. On
 * failure nothing half-done is left that a second run cannot finish. */
typedef int (*mb_op_handler)(mb_platform *p, const mb_op *op, mb_progress *progress,
                             mb_error *err);

/* What a disk is now, as the gate compares it with what the plan recorded. */
typedef struct mb_disk_identity {
        char serial[128];
        uint64_t size;          /* bytes */
        char where[256];        /* how the disk is named in messages: a path, "disk 1" */
} mb_disk_identity;

typedef struct mb_platform_ops {
        const char *name;       /* "image", "snapshot", "windows" */
        /* Reads the whole actual state. *ret is owned by the caller. */
        int (*read_facts)(mb_platform *p, mb_facts **ret, mb_error *err);
        /* Allows writes to the disk with this number (selected by site.yaml).
         * Platforms refuse every write to a disk that was not allowed. */
        int (*allow_write)(mb_platform *p, uint32_t disk, mb_error *err);
        /* One handler per op kind (MB_OP__COUNT slots, designated
         * initializers); an empty slot is an op this target cannot perform. */
        const mb_op_handler *handlers;
        /* The disk's identity now (serial and size), read from the disk, not
         * from cached facts. Required for every target that performs a
         * destructive op: the gate refuses such an op without it. */
        int (*identify)(mb_platform *p, uint32_t disk, mb_disk_identity *ret, mb_error *err);
        /* Called once after the last operation of a run (snapshot writes its file). */
        int (*finish)(mb_platform *p, mb_error *err);
        /* Releases everything: the back end's state, p->spec and p itself. */
        void (*close)(mb_platform *p);
        /* Optional, called before the target is opened (no mb_platform):
         * the identities of what a run on the spelling args (after "name:")
         * must lock, for a target that can name one thing several ways (a
         * file by any path). *ret_ids and its strings are malloc'd; none
         * (*ret_n 0) locks the spelling itself. MB_EINVAL when args names
         * more than max things. engine/platform/lock_keys.h. */
        int (*lock_keys)(const char *args, size_t max, char ***ret_ids, size_t *ret_n, mb_error *err);
} mb_platform_ops;

/* How deep read_facts verifies content it compares by files against the
 * verification record (engine/state.h). The caller sets the inputs before
 * read_facts; the target sets the outputs (targets without a record leave
 * them 0). */
typedef struct mb_verify {
        bool deep;              /* in: read and hash every byte (check --deep, apply) */
        const char *state_dir;  /* in: the records' directory; NULL = MB_STATE_DIR_DEFAULT */
        double max_age;         /* in: seconds; an older deep verification makes the read deep */
        int depth;              /* out: MB_VERIFY_* of the last read */
        time_t last_deep;       /* out: the oldest record's last deep verification, 0 = never */
} mb_verify;

enum { MB_VERIFY_NONE = 0, MB_VERIFY_METADATA, MB_VERIFY_DEEP };

/* Disk numbers the gate can allow (a bit each). */
#define MB_PLATFORM_MAX_DISKS 64

struct mb_platform {
        const mb_platform_ops *ops;
        char *spec;             /* the target as spelled: "image:a.img,b.img" */
        void *priv;
        mb_verify verify;
        /* The gate's own record, kept by the generic wrappers, never by a
         * target: the disks allowed by mb_platform_allow_write (bit n = disk
         * n), and the system disk as the last mb_platform_read_facts saw it
         * (the disk whose facts say system: true). */
        uint64_t allowed;
        bool system_known;
        uint32_t system_disk;
};

/* What the command line asks of a target beyond its spelling. Targets that
 * cannot honour an option refuse it when it is set. */
typedef struct mb_target_options {
        bool allow_block_devices;       /* disk-as-file targets may open block devices */
        const char *record;             /* record every call the target makes to this file */
} mb_target_options;

/* mb_platform_open with options (o may be NULL: none). */
int mb_platform_open_with(const char *spec, const mb_target_options *o, mb_platform **ret,
                          mb_error *err);

/* Opens a target by its spelling: "snapshot:PATH", "image:PATH[,PATH...]", "windows",
 * "replay:RECORDING". */
int mb_platform_open(const char *spec, mb_platform **ret, mb_error *err);
void mb_platform_close(mb_platform *p);

/* Generic wrappers: check the operation exists before calling (MB_ENOTSUP).
 * read_facts also records which disk is the system disk, for the gate. */
int mb_platform_read_facts(mb_platform *p, mb_facts **ret, mb_error *err);
/* Lets the target claim the disk (locks, read-only refusal) and, when it
 * does, records the disk in the gate as allowed. */
int mb_platform_allow_write(mb_platform *p, uint32_t disk, mb_error *err);
/*
 * The gate: the only door for a change. Before the target's handler runs it
 * refuses (MB_EUNSAFE, nothing written) an op whose write is not allowed,
 * by the op table's one rule: MB_WRITES_OP_DISK needs op->disk allowed;
 * MB_WRITES_BCD_STORE needs the disk whose ESP holds the store edited allowed:
 * store_disk for an op with esp_store, else the system disk (from the facts read);
 * MB_WRITES_FIRMWARE needs some disk allowed. A destructive op must carry
 * the identity the plan recorded (expect_size non-zero) and the target's
 * identify must report the same serial and size for op->disk now. A kind
 * the target has no handler for is MB_ENOTSUP naming target and op.
 */
int mb_platform_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err);
int mb_platform_finish(mb_platform *p, mb_error *err);

/* Back ends (each returns MB_ENOTSUP where it is not built). */
int mb_platform_open_snapshot(const char *path, mb_platform **ret, mb_error *err);
int mb_platform_open_image(const char *list, mb_platform **ret, mb_error *err);
int mb_platform_open_windows(mb_platform **ret, mb_error *err);
/* A recording of the windows target (mbstate facts --record) fed back on
 * any host: facts only, the calls checked one by one against the file. */
int mb_platform_open_replay(const char *path, mb_platform **ret, mb_error *err);

/*
 * The snapshot model's rules, shared by the snapshot target (which applies
 * them to its file) and by tests: applies op's effect to facts in memory,
 * with the constraints Windows has. Fails without changing facts.
 */
int mb_model_apply(mb_facts *facts, const mb_op *op, mb_error *err);

#endif
