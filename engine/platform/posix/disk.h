/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_DISK_H
#define MB_POSIX_DISK_H

/*
 * The POSIX wing's disk: a disk reached through a file descriptor (a raw
 * image file or a block device), and the machine, the set of such disks a
 * disk-as-file target works on (disk N is the Nth; the system disk is the
 * one whose ESP booted= names, else disk 0: gpt.h's img_system_disk).
 * Every function of the wing re-reads what it needs from the bytes;
 * nothing about a disk's contents is remembered between calls except the
 * whole-partition hash cache below, whose validity rules are stated there.
 *
 * The target that embeds a machine fills the disks (path, fd, identity) when
 * it opens; the wing never decides which files are disks or whether a block
 * device may be one. Include graph of the wing (gcc -MM, wing headers only):
 * engine/platform/posix/README.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "op.h"

typedef struct mb_posix_disk {
        uint32_t number;
        char *path;             /* as given in the list */
        char *abspath;          /* realpath() */
        char serial[16];        /* the target's identity of the disk ("IMG-..." for images) */
        int fd;                 /* read-only */
        int lock_fd;            /* read-write, holding the in-use locks (img_claim_disk), or -1 */
        dev_t st_dev;
        ino_t st_ino;
        bool read_only;         /* the file is not writable by us (or a write-protected device) */
        bool is_block;          /* a block device */
        uint32_t sector;        /* logical sector size, bytes: the unit of every LBA of the
                                 * disk (BLKSSZGET on a block device; for a file the size
                                 * the target gave, 512 by default) */
        uint32_t physical_sector; /* bytes (BLKPBSZGET on a block device; the logical size
                                   * for a file) */
        bool allowed;           /* the target allowed writes to it (allow_write) */
        bool gpt_needs_repair;  /* img_table_read found one GPT copy damaged, the other intact */
        char gpt_damaged[8];    /* which: "primary" or "backup" ("" when both are sound) */
        char gpt_damage[160];   /* how ("header CRC mismatch", ...) */
        bool rehash;            /* a block clone wrote it: its next read of recovery
                                 * files is deep (the copied files keep identities
                                 * the record may hold with other content) */
        /* The last whole-partition hash. It is reused while the file's stat
         * is unchanged and no operation ran since (mb_posix_prologue clears
         * stat_valid: a write in the same clock tick keeps the mtime), or
         * while the range's layout fingerprint (img_range_fingerprint) is
         * the same, which holds exactly when the bytes are. */
        struct {
                bool valid, stat_valid, have_fp;
                uint64_t first, last;
                struct timespec mtime, ctime;
                off_t size;
                char fp[65];
                char hex[65];
        } hash_cache;
} mb_posix_disk;

typedef struct mb_posix_machine {
        mb_posix_disk *disks;
        uint32_t n_disks;
        char *nvram;            /* the UEFI variable store (a file), or NULL */
        char *booted;           /* the unique GUID of the ESP the machine booted from, or NULL */
        bool ldm_caught_up;     /* img_dynamic_catch_up ran (before the first operation) */
} mb_posix_machine;

/* Disk n of m, or NULL with MB_EINVAL in err ("image target: there is no
 * disk N (M image(s))"). */
mb_posix_disk *mb_posix_machine_disk(mb_posix_machine *m, uint32_t n, mb_error *err);
/* Closes every disk's descriptors and frees the disks, nvram and booted. */
void mb_posix_machine_clear(mb_posix_machine *m);

/* Opens d->path read-only into d->fd and fills st (d->number and d->path
 * already set); errors name the disk number and path. The caller decides
 * what kinds of file it accepts from st. */
int mb_posix_disk_open(mb_posix_disk *d, struct stat *st, mb_error *err);
/* From an open d and its st: st_dev/st_ino, read_only (no write permission,
 * no write bit at all, or a write-protected device), is_block and the
 * sector sizes. d->sector on entry is the size the target asked for (0:
 * none); a block device's own BLKSSZGET size wins, and a different size
 * asked for it is MB_EINVAL; a file takes the asked size or 512. Sizes
 * other than 512 and 4096 are MB_ENOTSUP, refused before any read or
 * write. */
int mb_posix_disk_probe(mb_posix_disk *d, const struct stat *st, mb_error *err);

/* Opens d for writing (O_RDWR) after checking d->allowed and that the path
 * still names the file opened; closes on error. */
int img_open_rw(mb_posix_disk *d, int *ret_fd, mb_error *err);

/* Before the first write to d: refuses it when another process holds a
 * byte-range lock on the image file (a running QEMU does) or the block
 * device is mounted or opened exclusively, naming the holder; else takes the
 * locks a writing QEMU takes, kept in d->lock_fd until the target closes. */
int img_claim_disk(mb_posix_disk *d, mb_error *err);
/* The same refusal for another file the run will write (the nvram= store);
 * what follows the path in the message (" (disk 0)", "" ...). */
int img_claim_file(const char *path, const char *what, mb_error *err);

#endif
