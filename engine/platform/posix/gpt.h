/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_GPT_H
#define MB_POSIX_GPT_H

/*
 * The partition table of a wing disk, read and written through libfdisk
 * after raw checks of both GPT copies. Contract: every write leaves both GPT
 * copies consistent (a batch is all on disk or none of it); writes need the
 * disk allowed (img_open_rw).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "platform/posix/disk.h"

typedef struct mb_posix_gpt_part {
        uint32_t number;        /* 1-based entry index */
        char type_guid[MB_GUID_TEXT];
        char unique_guid[MB_GUID_TEXT];
        char name[128];
        uint64_t first_lba, last_lba;
        uint64_t attributes;
        mb_role role;
} mb_posix_gpt_part;

typedef struct mb_posix_table {
        mb_style style;
        uint64_t size;          /* bytes */
        uint64_t sectors;
        char disk_guid[MB_GUID_TEXT];
        uint64_t first_usable, last_usable;
        mb_posix_gpt_part *parts;    /* sorted by first_lba */
        uint32_t n_parts;
} mb_posix_table;

/* Reads the partition table of d: raw checks of both GPT headers and entry
 * arrays (CRCs, image size), then the table through libfdisk. One damaged
 * copy: the intact one is read and d->gpt_needs_repair, gpt_damaged and
 * gpt_damage say which and how; both damaged: MB_ECORRUPT naming the file. */
int img_table_read(mb_posix_disk *d, mb_posix_table *ret, mb_error *err);
void img_table_clear(mb_posix_table *t);
/* The partition of role r in t, or NULL. */
mb_posix_gpt_part *img_table_role(mb_posix_table *t, mb_role r);
/* The system disk of the machine: the disk whose ESP has the unique GUID
 * the target was told the machine booted from (ip->booted), else disk 0.
 * Every part of the wing that needs "the system disk" asks this. */
uint32_t img_system_disk(mb_posix_machine *ip);
/* Whether some disk of the machine has a partition of that unique GUID now
 * (a disk whose table cannot be read counts as having none). */
bool img_part_present(mb_posix_machine *ip, const char *unique_guid);
/* Rewrites both GPT copies from the intact one (MB_OP_GPT_REPAIR; needs allow_write). */
int img_gpt_repair(mb_posix_disk *d, mb_error *err);
/* Fresh GPT (first usable LBA 34, new disk GUID, no partitions). */
int img_gpt_init(mb_posix_disk *d, mb_error *err);
/* New partition at exactly [first, last]; *ret_number is its entry number. */
int img_gpt_create(mb_posix_disk *d, uint64_t first, uint64_t last, const char *type_guid,
                   const char *name, uint64_t attributes, uint32_t *ret_number,
                   mb_error *err);
int img_gpt_set_type(mb_posix_disk *d, uint32_t number, const char *type_guid, mb_error *err);
int img_gpt_set_attrs(mb_posix_disk *d, uint32_t number, uint64_t attributes, mb_error *err);
int img_gpt_set_name(mb_posix_disk *d, uint32_t number, const char *name, mb_error *err);

/* One change of a batch: move/resize entry number, delete it, create one,
 * or change its type (in place: unique GUID, name and attributes kept). */
typedef enum {
        MB_POSIX_GPT_EDIT_RANGE, MB_POSIX_GPT_EDIT_DELETE, MB_POSIX_GPT_EDIT_CREATE,
        MB_POSIX_GPT_EDIT_TYPE
} mb_posix_gpt_edit_kind;
typedef struct mb_posix_gpt_edit {
        mb_posix_gpt_edit_kind kind;
        uint32_t number;        /* RANGE, DELETE, TYPE */
        uint64_t first_lba, last_lba;   /* RANGE, CREATE; TYPE: the entry's, checked after */
        char type_guid[MB_GUID_TEXT];   /* CREATE, TYPE */
        char name[72];
        uint64_t attributes;
} mb_posix_gpt_edit;
/* Applies edits in order to the GPT in memory and writes both copies once:
 * either every edit is on disk or none is. Created and moved ranges are
 * checked after writing (libfdisk must not have aligned them). */
int img_gpt_edit_batch(mb_posix_disk *d, const mb_posix_gpt_edit *edits, size_t n, mb_error *err);

#endif
