/* SPDX-License-Identifier: MIT */
#ifndef MB_IMAGE_H
#define MB_IMAGE_H

/*
 * The image target's internals: raw disk image files, disk N is the Nth
 * file of the list. Every function re-reads what it needs from the bytes;
 * nothing about a disk's contents is remembered between calls.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "facts.h"
#include "platform/platform.h"

/* Set by the CLI (or env MB_IMAGE_ALLOW_BLOCK_DEVICES=1): accept block
 * devices in the image list. Off by default. */
extern int mb_image_allow_block_devices;

typedef struct img_disk {
        uint32_t number;
        char *path;             /* as given in the list */
        char *abspath;          /* realpath() */
        char serial[16];        /* "IMG-" + 8 hex digits of sha256(abspath) */
        int fd;                 /* read-only */
        int lock_fd;            /* read-write, holding the in-use locks (inuse.c), or -1 */
        dev_t st_dev;
        ino_t st_ino;
        bool read_only;         /* the file is not writable by us (or a write-protected device) */
        bool is_block;          /* a block device (--allow-block-devices) */
        uint32_t physical_sector; /* bytes (BLKPBSZGET on a block device; 512 for a file) */
        bool allowed;           /* allow_write() was called for it */
        bool gpt_needs_repair;  /* img_table_read found one GPT copy damaged, the other intact */
        char gpt_damaged[8];    /* which: "primary" or "backup" ("" when both are sound) */
        char gpt_damage[160];   /* how ("header CRC mismatch", ...) */
        bool rehash;            /* a block clone wrote it: its next read of recovery
                                 * files is deep (the copied files keep identities
                                 * the record may hold with other content) */
        /* The last whole-partition hash. It is reused while the file's stat
         * is unchanged and no operation ran since (image_execute clears
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
} img_disk;

typedef struct img_platform {
        mb_platform base;
        img_disk *disks;
        uint32_t n_disks;
        char *nvram;            /* "nvram=FILE": the UEFI variable store, or NULL */
        char *booted;           /* "booted=GUID": the ESP the machine booted from, or NULL */
        bool ldm_caught_up;     /* img_dynamic_catch_up ran (before the first operation) */
} img_platform;

/* ---- firmware.c ---- */

/* Checks that path holds a UEFI variable store and records it as ip's. */
int img_fw_open(img_platform *ip, const char *path, mb_error *err);
/* f->firmware from the store (left NULL without nvram=). */
int img_fw_facts(img_platform *ip, mb_facts *f, mb_error *err);
/* MB_OP_FW_ENTRY, MB_OP_FW_DELETE; needs allow_write for op->disk. */
int img_fw_execute(img_platform *ip, const mb_op *op, mb_error *err);

/* ---- ntfs.c ---- */

typedef struct img_ntfs_file {
        char *path;             /* "/Recovery/WindowsRE/Winre.wim" */
        uint64_t size;          /* of the unnamed $DATA */
        uint32_t attributes;    /* FILE_ATTRIBUTE_* of $STANDARD_INFORMATION */
        char identity[65];      /* hash of what NTFS changes with the content (ntfs.c) */
        char sha256[65];        /* of the content */
        bool hashed;            /* sha256 was computed now, not taken from known() */
} img_ntfs_file;

/* The SHA-256 last verified for a file whose identity is unchanged, or NULL. */
typedef const char *(*img_ntfs_known)(void *ctx, const char *path, const char *identity);

/* The files of the NTFS volume at fd[off, off+len) (image names it in
 * errors), sorted by path, without the metadata files and System Volume
 * Information. Content is hashed unless deep is false and known() gives the
 * hash for the file's identity. *ret_read (may be NULL): bytes read from fd.
 * A volume libntfs-3g cannot mount read-only is MB_ECORRUPT. */
int img_ntfs_list(const char *image, int fd, uint64_t off, uint64_t len, bool deep,
                  img_ntfs_known known, void *known_ctx, img_ntfs_file **ret_files,
                  uint32_t *ret_n, uint64_t *ret_read, mb_error *err);
void img_ntfs_files_free(img_ntfs_file *f, uint32_t n);

/* Whether path (a Windows path, '\\' or '/' separated) names a file, not a
 * directory, on the NTFS volume at fd[off, off+len), its names compared
 * without case as Windows compares them. MB_ECORRUPT when the volume cannot
 * be read as NTFS. */
int img_ntfs_exists(const char *image, int fd, uint64_t off, uint64_t len, const char *path,
                    bool *ret_exists, mb_error *err);

/* ---- spawn.c ---- */

/* Runs argv (argv[0] looked up in PATH) without a shell, stdin from
 * /dev/null, with MTOOLS_SKIP_CHECK=1 and LC_ALL=C.UTF-8 in its environment
 * (mtools converts FAT long names through the locale's character set: in the
 * C locale it prints '_' for every non-ASCII character, a name nothing can
 * open again; C.UTF-8 is built into glibc, so it needs no installed locale).
 * stdout goes to out_fd when out_fd >= 0, else into *ret_out (malloc'd,
 * NUL-terminated, length in *ret_len) when ret_out is not NULL, else it is
 * discarded. A non-zero exit is MB_EIO with the tool's stderr in the message. */
int img_run(const char *const *argv, int out_fd, char **ret_out, size_t *ret_len,
            mb_error *err);

/* ---- sparse.c ---- */

/* Makes dst[dst_off, dst_off+len) byte-identical to src[src_off, ...): data
 * extents of src are copied (copy_file_range, falling back to read/write),
 * ranges that are holes in src are punched (or zeroed) in dst only where dst
 * holds data. progress may be NULL. */
int img_copy_sparse(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off, uint64_t len,
                    const char *what, mb_progress *progress, mb_error *err);
/* SHA-256 of fd[off, off+len) in hex; holes are hashed as zeros without
 * being read. */
int img_hash_range(int fd, uint64_t off, uint64_t len, char hex[65], mb_error *err);
/* The layout fingerprint of fd[off, off+len): a SHA-256 over each data
 * extent's place, length and bytes (holes skipped); equal fingerprints mean
 * equal bytes. Returns 1 without one when more than budget bytes are data. */
int img_range_fingerprint(int fd, uint64_t off, uint64_t len, uint64_t budget, char fp[65],
                          mb_error *err);
/* SHA-256 as img_hash_range computes it (libcrypto when built with it). */
typedef struct img_hasher img_hasher;
img_hasher *img_hasher_new(void);       /* NULL: out of memory */
void img_hasher_update(img_hasher *h, const void *p, size_t n);
/* Writes the hex digest (hex NULL: discards it) and frees h. */
void img_hasher_final(img_hasher *h, char hex[65]);
/* Creates an empty temporary file of size bytes (sparse) next to near (a
 * path), or in $TMPDIR when that directory is not writable. *ret_path is
 * malloc'd; the caller unlinks it. */
int img_temp_file(const char *near, uint64_t size, char **ret_path, int *ret_fd, mb_error *err);

/* ---- gpt.c ---- */

typedef struct img_gpt_part {
        uint32_t number;        /* 1-based entry index */
        char type_guid[MB_GUID_TEXT];
        char unique_guid[MB_GUID_TEXT];
        char name[128];
        uint64_t first_lba, last_lba;
        uint64_t attributes;
        mb_role role;
} img_gpt_part;

typedef struct img_table {
        mb_style style;
        uint64_t size;          /* bytes */
        uint64_t sectors;
        char disk_guid[MB_GUID_TEXT];
        uint64_t first_usable, last_usable;
        img_gpt_part *parts;    /* sorted by first_lba */
        uint32_t n_parts;
} img_table;

/* Reads the partition table of d: raw checks of both GPT headers and entry
 * arrays (CRCs, image size), then the table through libfdisk. One damaged
 * copy: the intact one is read and d->gpt_needs_repair, gpt_damaged and
 * gpt_damage say which and how; both damaged: MB_ECORRUPT naming the file. */
int img_table_read(img_disk *d, img_table *ret, mb_error *err);
void img_table_clear(img_table *t);
/* The partition of role r in t, or NULL. */
img_gpt_part *img_table_role(img_table *t, mb_role r);
/* Rewrites both GPT copies from the intact one (MB_OP_GPT_REPAIR; needs allow_write). */
int img_gpt_repair(img_disk *d, mb_error *err);
/* Fresh GPT (first usable LBA 34, new disk GUID, no partitions). */
int img_gpt_init(img_disk *d, mb_error *err);
/* New partition at exactly [first, last]; *ret_number is its entry number. */
int img_gpt_create(img_disk *d, uint64_t first, uint64_t last, const char *type_guid,
                   const char *name, uint64_t attributes, uint32_t *ret_number,
                   mb_error *err);
int img_gpt_set_type(img_disk *d, uint32_t number, const char *type_guid, mb_error *err);
int img_gpt_set_attrs(img_disk *d, uint32_t number, uint64_t attributes, mb_error *err);
int img_gpt_set_name(img_disk *d, uint32_t number, const char *name, mb_error *err);

/* One change of a batch: move/resize entry number, delete it, create one,
 * or change its type (in place: unique GUID, name and attributes kept). */
typedef enum {
        IMG_GPT_EDIT_RANGE, IMG_GPT_EDIT_DELETE, IMG_GPT_EDIT_CREATE, IMG_GPT_EDIT_TYPE
} img_gpt_edit_kind;
typedef struct img_gpt_edit {
        img_gpt_edit_kind kind;
        uint32_t number;        /* RANGE, DELETE, TYPE */
        uint64_t first_lba, last_lba;   /* RANGE, CREATE; TYPE: the entry's, checked after */
        char type_guid[MB_GUID_TEXT];   /* CREATE, TYPE */
        char name[72];
        uint64_t attributes;
} img_gpt_edit;
/* Applies edits in order to the GPT in memory and writes both copies once:
 * either every edit is on disk or none is. Created and moved ranges are
 * checked after writing (libfdisk must not have aligned them). */
int img_gpt_edit_batch(img_disk *d, const img_gpt_edit *edits, size_t n, mb_error *err);

/* ---- bootchain.c ---- */

/* The ESP paths of the boot manager and of the fallback, in that order. */
extern const char *const mb_boot_programs[2];
/* Whether path ("/EFI/Boot/bootx64.efi") is one of mb_boot_programs
 * (FAT names compare without case). */
bool img_is_boot_program(const char *path);
/* *ret: the image facts of the boot program copied out to local_path (by
 * img_fat_list's one batched read); a file that is not a PE image gets an
 * image fact with machine "none". MB_ENOMEM only. */
int img_boot_program_fact(const char *local_path, mb_image_fact **ret, mb_error *err);
/* SecureBoot, db, dbx (and booted=) of the nvram= store into fw. */
int img_secure_boot_facts(img_platform *ip, mb_firmware_fact *fw, mb_error *err);

/* ---- fat.c ---- */

typedef struct img_file {
        char *path;             /* "/EFI/Boot/bootx64.efi" */
        uint64_t size;
        char sha256[65];
        mb_image_fact *image;   /* a boot program's PE facts (img_is_boot_program), else NULL */
} img_file;

/* Files of the FAT file system at byte offset off of image path, sorted by
 * path, with sizes and hashes; directories in *ret_dirs (may be NULL)
 * without trailing '/'. Two process starts whatever the file count: one
 * `mdir` listing, one `mcopy -s` of the whole FAT into a private temporary
 * directory (removed before return), hashed in process. */
int img_fat_list(const char *path, uint64_t off, img_file **ret_files, uint32_t *ret_n,
                 char ***ret_dirs, uint32_t *ret_ndirs, mb_error *err);
void img_files_free(img_file *f, uint32_t n);
void img_strv_free(char **v, uint32_t n);
/* Copies the file fat_path out of the FAT at off into local path out. */
int img_fat_get(const char *path, uint64_t off, const char *fat_path, const char *out,
                mb_error *err);
/* Writes local file in as fat_path (overwriting). */
int img_fat_put(const char *path, uint64_t off, const char *in, const char *fat_path,
                mb_error *err);
/* Makes the FAT at (dpath, doff) file-identical to (spath, soff). */
int img_fat_sync(const char *dpath, uint64_t doff, const char *spath, uint64_t soff,
                 mb_error *err);
/* mkfs.fat -F 32 over [first, last] of the image. */
int img_format_fat32(const char *path, uint64_t first, uint64_t last, const char *label,
                     mb_error *err);
/* mkntfs on a sparse temp file, spliced into [first, last] of the image. */
int img_format_ntfs(const char *path, int fd, uint64_t first, uint64_t last,
                    const char *label, mb_error *err);

/* ---- bcd_ops.c ---- */

/* Facts of the BCD store on the ESP at byte offset off of disk d (NULL with
 * 0 when the store does not exist). */
int img_bcd_facts(img_platform *ip, mb_facts *f, mb_error *err);

/* Sets path_check of every os-loader of f->bcd whose device is a partition
 * of one of the images holding NTFS: its path looked up on that volume (for
 * the os mirror, on the plex of the disk the device names). */
int img_bcd_path_facts(img_platform *ip, mb_facts *f, mb_error *err);
/* Performs a BCD_* operation on the system disk's store. */
int img_bcd_execute(img_platform *ip, const mb_op *op, mb_error *err);

/* ---- dynamic.c ---- */

/* Dynamic disks (LDM) of the image list: fills each disk's dynamic,
 * dynamic_group and dynamic_name, f->volumes and the os role of the
 * dynamic disks' entries from the database of every disk group found on the
 * images (MBR and GPT dynamic disks), through mb_ldm_facts; the boot volume
 * is where f->bcd's default loader boots from (read it first). A damaged
 * database is an error naming the file; nothing is written. */
int img_dynamic_facts(img_platform *ip, mb_facts *f, mb_error *err);
/* The partition of role on disk d now (*t is filled and owned by the
 * caller): by GPT type, except the os partition of a dynamic disk, which is
 * the entry that is exactly an extent of the os volume (mb_ldm_os_volume,
 * told by where the default BCD loader boots from). MB_ENOENT names the
 * disk and role when there is none. */
int img_role_part(img_platform *ip, uint32_t disk, mb_role role, img_table *t,
                  img_gpt_part **ret, mb_error *err);
/* MB_OP_CONVERT_DYNAMIC, MB_OP_MIRROR_ADD, MB_OP_MIRROR_REMOVE_MISSING,
 * MB_OP_MIRROR_RESYNC, MB_OP_LDM_REPAIR on the images. */
/* Brings a member's copy of the LDM database that a killed run left a
 * transaction behind up to date (when every member may be written); run
 * before the first operation of an apply. */
int img_dynamic_catch_up(img_platform *ip, mb_error *err);
int img_dynamic_execute(img_platform *ip, const mb_op *op, mb_progress *progress,
                        mb_error *err);

/* ---- image.c ---- */

/* Opens d for writing (O_RDWR) after checking allow_write; closes on error. */
int img_open_rw(img_disk *d, int *ret_fd, mb_error *err);

/* ---- inuse.c ---- */

/* Before the first write to d: refuses it when another process holds a
 * byte-range lock on the image file (a running QEMU does) or the block
 * device is mounted or opened exclusively, naming the holder; else takes the
 * locks a writing QEMU takes, kept in d->lock_fd until the target closes. */
int img_claim_disk(img_disk *d, mb_error *err);
/* The same refusal for another file the run will write (the nvram= store);
 * what follows the path in the message (" (disk 0)", "" ...). */
int img_claim_file(const char *path, const char *what, mb_error *err);

#endif
