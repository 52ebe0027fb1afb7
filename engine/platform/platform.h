/* SPDX-License-Identifier: MIT */
#ifndef MB_PLATFORM_H
#define MB_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "facts.h"

/*
 * Targets (platform back ends). Resources never touch a disk: they emit
 * changes, each carrying one primitive operation (mb_op). A platform reads
 * facts and performs operations; that is all it does.
 *
 * Operations name partitions by (disk number, role), never by partition
 * number or GUID, because the partition may not exist when the plan is made;
 * the platform resolves the role against the state at execution time.
 */

typedef enum mb_op_kind {
        MB_OP_DISK_ONLINE = 0,  /* online + writable */
        MB_OP_DISK_INIT_GPT,    /* clean + convert gpt, no MSR left behind (destructive) */
        MB_OP_PART_CREATE,      /* role at [first_lba, last_lba], type_guid, attributes, name */
        MB_OP_PART_SET_TYPE,    /* role's partition gets type_guid */
        MB_OP_PART_SET_ATTRS,   /* role's partition gets attributes */
        MB_OP_PART_SET_NAME,    /* role's partition gets name */
        MB_OP_FORMAT,           /* role's partition gets file system fs, label (destructive) */
        MB_OP_CONVERT_DYNAMIC,  /* basic GPT disk -> dynamic, data in place */
        MB_OP_MIRROR_ADD,       /* volume of role on disk2 (source) gains a plex on disk */
        MB_OP_MIRROR_REMOVE_MISSING, /* drop plex/disk records of a missing disk (ldm_disk) */
        MB_OP_MIRROR_RESYNC,    /* wait for/perform the resync of the plex on disk */
        MB_OP_CLONE_BLOCKS,     /* copy role's partition of disk2 onto role's partition of disk */
        MB_OP_SYNC_FILES,       /* make role's file system on disk file-identical to disk2's */
        MB_OP_BCD_COPY_BOOTMGR, /* copy {bootmgr} as description, device = (disk, role) */
        MB_OP_BCD_CREATE_LOADER,/* copy the default loader as description, device+osdevice = (disk, role) */
        MB_OP_BCD_SET_DEVICE,   /* object's device (and osdevice for loaders) = (disk, role) */
        MB_OP_BCD_DELETE,       /* delete object */
        MB_OP_BCD_DISPLAYORDER, /* object in {bootmgr} displayorder (position) */
        MB_OP_FW_ENTRY,         /* firmware entry description -> (disk, role) path, at position */
        MB_OP_FW_DELETE,        /* delete firmware entry number */
        MB_OP_LDM_REPAIR,       /* rewrite disk's damaged LDM metadata copies from its intact ones */
        MB_OP_GPT_REPAIR,       /* rewrite the damaged GPT copy of disk from the intact one */
        MB_OP__COUNT,
} mb_op_kind;

typedef struct mb_op {
        mb_op_kind kind;
        uint32_t disk;          /* the disk changed */
        mb_role role;           /* the partition changed, by role */
        uint32_t disk2;         /* source disk (clone, sync, mirror) */
        uint64_t first_lba, last_lba;
        uint64_t attributes;
        char type_guid[MB_GUID_TEXT];
        char name[72];          /* GPT partition name */
        mb_fs fs;
        char label[33];
        char object[40];        /* BCD object id "{...}" */
        char description[128];
        char path[260];
        char ldm_disk[32];
        uint32_t number;        /* firmware entry number */
        mb_position position;
        /* Identity of the disk changed, checked again right before a destructive step. */
        char expect_serial[128];
        uint64_t expect_size;
} mb_op;

const char *mb_op_kind_to_string(mb_op_kind k);
bool mb_op_is_destructive(const mb_op *op);

/* Progress of long operations (block clones, resync); NULL = silent. */
typedef struct mb_progress {
        void *ctx;
        void (*update)(struct mb_progress *p, const char *what, uint64_t done, uint64_t total);
} mb_progress;

typedef struct mb_platform mb_platform;

typedef struct mb_platform_ops {
        const char *name;       /* "image", "snapshot", "windows" */
        /* Reads the whole actual state. *ret is owned by the caller. */
        int (*read_facts)(mb_platform *p, mb_facts **ret, mb_error *err);
        /* Allows writes to the disk with this number (selected by site.yaml).
         * Platforms refuse every write to a disk that was not allowed. */
        int (*allow_write)(mb_platform *p, uint32_t disk, mb_error *err);
        /* Performs one operation; on failure nothing half-done is left that a
         * second run cannot finish. */
        int (*execute)(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err);
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

struct mb_platform {
        const mb_platform_ops *ops;
        char *spec;             /* the target as spelled: "image:a.img,b.img" */
        void *priv;
        mb_verify verify;
};

/* Opens a target by its spelling: "snapshot:PATH", "image:PATH[,PATH...]", "windows",
 * "replay:RECORDING". */
int mb_platform_open(const char *spec, mb_platform **ret, mb_error *err);
void mb_platform_close(mb_platform *p);

/* Generic wrappers: check the operation exists before calling (MB_ENOTSUP). */
int mb_platform_read_facts(mb_platform *p, mb_facts **ret, mb_error *err);
int mb_platform_allow_write(mb_platform *p, uint32_t disk, mb_error *err);
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
