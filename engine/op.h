/* SPDX-License-Identifier: MIT */
#ifndef MB_OP_H
#define MB_OP_H

/*
 * The operation vocabulary: the primitive changes resources produce and
 * targets perform. One table (op.c) says for each kind its name, whether it
 * destroys data, and what it writes; the gate (mb_platform_execute) applies
 * the write rule and the identity re-check from that table alone.
 *
 * Operations name partitions by (disk number, role), never by partition
 * number or GUID, because the partition may not exist when the plan is made;
 * the target resolves the role against the state at execution time.
 */

#include <stdbool.h>
#include <stdint.h>

#include "facts.h"

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
        MB_OP_BCD_SET_DEFAULT,  /* {bootmgr}'s default = object (bcdedit /default) */
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
        /* BCD object id "{...}". Empty in BCD_SET_DEVICE, BCD_DISPLAYORDER and
         * BCD_SET_DEFAULT: the os-loader whose device and osdevice are
         * (disk, role) in the store edited, which a plan cannot name by id
         * when an earlier op of the same run creates it. */
        char object[40];
        char description[128];
        char path[260];
        char ldm_disk[32];
        uint32_t number;        /* firmware entry number */
        mb_position position;
        /* BCD ops: which store is edited. false: the system store (the one
         * bcdedit edits without /store, on the system disk's ESP); true: the
         * store \EFI\Microsoft\Boot\BCD on the ESP of disk store_disk.
         * (disk, role) still names the device an object is pointed at, which
         * may be on another disk than the store. */
        bool esp_store;
        uint32_t store_disk;
        /* SYNC_FILES of an ESP whose disks each keep their own store (mirror
         * boot: each-disk): the target's \EFI\Microsoft\Boot\BCD (and its
         * BCD.LOG* files) is left as it is; copied from the source only when
         * the target has none. */
        bool keep_store;
        /* Identity of the disk changed, checked again right before a destructive step. */
        char expect_serial[128];
        uint64_t expect_size;
} mb_op;

/* What an op writes, for the gate's "may this be written?" rule. */
typedef enum mb_op_writes {
        MB_WRITES_OP_DISK = 0,  /* op->disk (its table, partitions, LDM database) */
        MB_WRITES_BCD_STORE,    /* a BCD store: the system disk's ESP's, or store_disk's
                                 * when esp_store */
        MB_WRITES_FIRMWARE,     /* the firmware's boot variables */
} mb_op_writes;

typedef struct mb_op_info {
        const char *name;       /* as plans and logs spell it: "clone-blocks" */
        bool destructive;       /* overwrites data: identity re-checked at the gate */
        mb_op_writes writes;
} mb_op_info;

/* The row of kind k; NULL for a value outside the vocabulary. */
const mb_op_info *mb_op_info_of(mb_op_kind k);
const char *mb_op_kind_to_string(mb_op_kind k);
bool mb_op_is_destructive(const mb_op *op);

/* Records in a destructive op the identity (serial, size) the facts give
 * its disk op->disk, for the gate to compare right before the step. Other
 * ops, and a disk the facts do not have, are left as they are (the gate
 * refuses a destructive op without a recorded identity). */
void mb_op_record_identity(mb_op *op, const mb_facts *f);

#endif
