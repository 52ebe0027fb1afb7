/* SPDX-License-Identifier: MIT */
#ifndef MB_WINDOWS_INTERNAL_H
#define MB_WINDOWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "win32_table.h"
#include "facts.h"
#include "format/bcd/bcd.h"
#include "platform/platform.h"
#include "platform/windows/windows_target.h"
#include "state.h"
#include "trust.h"

/*
 * The windows target's logic, host-independent: it reaches the system only
 * through an mb_win32 table. Split as
 *   ioctl.c     IOCTL output parsing and input building (pure)
 *   sector_size.c  a disk's physical sector size (the access alignment query)
 *   facts.c     reading facts through the table
 *   commands.c  the reviewable text of every operation (pure)
 *   exec.c      performing operations through the table
 *   security.c  elevation, firmware, config ACL
 *   process.c   running diskpart/bcdedit
 */

/* ---- ioctl.c: parsing (each fills only the fields it names) ---- */

/* IOCTL_DISK_GET_DRIVE_GEOMETRY_EX -> size, sector_size. */
int mb_win_parse_geometry(const void *buf, size_t len, mb_disk_fact *d, mb_error *err);
/* IOCTL_STORAGE_QUERY_PROPERTY(StorageDeviceProperty) -> serial, and the bus
 * name into ret_bus (static string, may be NULL). */
int mb_win_parse_device_descriptor(const void *buf, size_t len, mb_disk_fact *d,
                                   const char **ret_bus, mb_error *err);
/* IOCTL_STORAGE_QUERY_PROPERTY(StorageDeviceIdProperty) -> unique_id: the
 * first NAA, EUI-64 or vendor identifier, as lower-case hex (binary) or text. */
int mb_win_parse_device_id(const void *buf, size_t len, mb_disk_fact *d, mb_error *err);
/* IOCTL_STORAGE_QUERY_PROPERTY(StorageAccessAlignmentProperty) ->
 * physical_sector_size (left as is when the descriptor says 0). Needs
 * d->sector_size: a BytesPerLogicalSector that differs from it is
 * MB_ECORRUPT, as is a physical sector that is not a power of two and a
 * multiple of it. */
int mb_win_parse_access_alignment(const void *buf, size_t len, mb_disk_fact *d, mb_error *err);
/* IOCTL_DISK_GET_DISK_ATTRIBUTES -> online, read_only. */
int mb_win_parse_disk_attributes(const void *buf, size_t len, mb_disk_fact *d, mb_error *err);
/* IOCTL_DISK_GET_DRIVE_LAYOUT_EX -> style, disk_guid, usable LBAs, partitions
 * (number, role, type, unique GUID, name, LBAs, attributes), dynamic. Needs
 * d->sector_size. */
int mb_win_parse_layout(const void *buf, size_t len, mb_disk_fact *d, mb_error *err);

typedef struct mb_win_extent {
        uint32_t disk;
        uint64_t offset;        /* bytes */
        uint64_t length;        /* bytes */
} mb_win_extent;

/* IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS -> up to max extents; *ret_n set. */
int mb_win_parse_extents(const void *buf, size_t len, mb_win_extent *ret, size_t max,
                         size_t *ret_n, mb_error *err);

/* What the volume enumeration found, for facts and for the executor. */
typedef struct mb_win_volume {
        char name[64];          /* "\\?\Volume{...}\" as FindFirstVolumeW gave it */
        char nt[96];            /* "\Device\HarddiskVolumeN" (QueryDosDeviceW) */
        mb_win_extent ext[8];
        size_t n_ext;
        char part_guid[37];     /* basic GPT partition holding it, when one extent */
        char disk_guid[37];
        int32_t disk;           /* disk of ext[0], -1 none */
        uint32_t part_number;   /* 0 when not a basic partition */
} mb_win_volume;

typedef struct mb_win_volmap {
        mb_win_volume *v;
        size_t n;
} mb_win_volmap;

const mb_win_volume *mb_win_volmap_by_nt(const mb_win_volmap *m, const char *nt);
const mb_win_volume *mb_win_volmap_by_part(const mb_win_volmap *m, uint32_t disk,
                                           const char *part_guid);
void mb_win_volmap_clear(mb_win_volmap *m);
/* Enumerates volumes and matches them against the disks of f (partition
 * GUIDs, fs, labels filled in f). */
int mb_win_volmap_read(const mb_win32 *w, mb_facts *f, mb_win_volmap *ret, mb_error *err);

/* ---- bcd_registry.c: BCD stores read as data ---- */

/* The live system store, under HKEY_LOCAL_MACHINE. */
#define MB_WIN_BCD_LIVE_KEY "BCD00000000"

/* Every object of the live store (HKLM\BCD00000000), decoded by
 * engine/format/bcd. Free with mb_bcd_objects_free(). */
int mb_win_bcd_read_live(const mb_win32 *w, mb_bcd_object **ret, size_t *ret_n, mb_error *err);
/* Every object of the store file at path (which must exist: RegLoadAppKeyW
 * creates a missing file), loaded read-only as an application hive and
 * unloaded again. When the load itself fails, *ret_load_error is its Win32
 * error (else 0). */
int mb_win_bcd_read_file(const mb_win32 *w, const char *path, mb_bcd_object **ret,
                         size_t *ret_n, DWORD *ret_load_error, mb_error *err);

/* ---- bcdedit.c ---- */

/* The first "{guid}" in text (bcdedit /copy's message), normalized. */
/* The boot program data[0..size) (name for messages) as an image fact:
 * machine, file version and Authenticode digest (engine/format/pe), and the
 * signers of its PKCS#7 signatures through crypt32 (boot_programs.c). A
 * file that is not a PE image is machine "none". */
int mb_win_boot_image(const mb_win32 *w, const char *name, const uint8_t *data, size_t size,
                      mb_image_fact **ret, mb_error *err);

int mb_win_find_object_id(const char *text, char ret[40]);

/* ---- firmware.c ---- */

/* An EFI_LOAD_OPTION (Boot####) -> entry (description, partition GUID of
 * its HD node, file path, active). */
int mb_win_parse_load_option(const void *buf, size_t len, uint32_t number,
                             mb_fw_entry_fact *ret, mb_error *err);
/* fw's secure_boot (SecureBoot), db and dbx (EFI_SIGNATURE_LISTs under
 * EFI_IMAGE_SECURITY_DATABASE_GUID; x509 entries by their hash only) and
 * booted (BootCurrent -> Boot#### -> its HD node's partition GUID), through
 * GetFirmwareEnvironmentVariableW. An absent variable is not an error
 * (SecureBoot absent: off); a damaged signature list is MB_ECORRUPT. */
int mb_win_read_secure_boot(const mb_win32 *w, mb_firmware_fact *fw, mb_error *err);

/* ---- ioctl.c: building input buffers ---- */

/* SET_DISK_ATTRIBUTES for "online and writable", persisted. */
void mb_win_build_online(SET_DISK_ATTRIBUTES *ret);
/* CREATE_DISK for an empty GPT with disk_id and 128 entries. */
void mb_win_build_create_gpt(const GUID *disk_id, CREATE_DISK *ret);
/* An empty GPT DRIVE_LAYOUT_INFORMATION_EX (no partitions, so nothing such as
 * an MSR is left behind). */
void mb_win_build_empty_gpt_layout(const GUID *disk_id, DRIVE_LAYOUT_INFORMATION_EX *ret);
/*
 * A new layout from the current one (as IOCTL_DISK_GET_DRIVE_LAYOUT_EX
 * returned it) for a PART_CREATE (new_id names the new partition),
 * PART_SET_TYPE, PART_SET_ATTRS or PART_SET_NAME: existing entries are
 * kept byte for byte, RewritePartition set on the one that changes.
 * *ret is malloc'd.
 */
int mb_win_build_layout(const void *cur, size_t cur_len, uint32_t sector_size, const mb_op *op,
                        const GUID *new_id, void **ret, size_t *ret_len, mb_error *err);

const char *mb_win_bus_name(uint32_t bus);

/* ---- process.c ---- */

/* Runs cmdline (UTF-8, quoted as CreateProcessW wants it), collecting its
 * stdout+stderr (UTF-8/OEM bytes as they come) into *ret_out (may be NULL)
 * and its exit code into *ret_code. Fails only if it could not run. */
int mb_win_run(const mb_win32 *w, const char *cmdline, char **ret_out, DWORD *ret_code,
               mb_error *err);

/* ---- commands.c ---- */

/*
 * What the executor knows at run time and a plan printed offline does not.
 * mb_windows_render_op() renders with no context: values only known then
 * are shown as <...> placeholders, and volume paths assume the volume GUID
 * of a GPT basic partition is its partition GUID (as Windows names them).
 */
typedef struct mb_win_render_ctx {
        void *data;
        /* "\\?\Volume{...}\" of the partition, or NULL to use the partition GUID. */
        const char *(*volume_path)(void *data, const mb_disk_fact *d, const mb_part_fact *p);
        /* NT device name ("\Device\HarddiskVolume3") for bcdedit, or NULL. */
        const char *(*nt_device)(void *data, const mb_disk_fact *d, const mb_part_fact *p);
        /* Id of the object a previous `bcdedit /copy` printed, or NULL. */
        const char *new_object;
        /* Drive letter of the running system's volume ('C'), 0 = unknown. */
        char system_drive;
        /* The n-th (0, 1) drive letter free now, for the temporary letters
         * of a BCD op on another ESP's store; 0 when there is none. */
        char (*free_letter)(void *data, int n);
        /* The drive letter partition p of d has now, or 0 (then a temporary
         * one is assigned and removed again). */
        char (*volume_letter)(void *data, const mb_disk_fact *d, const mb_part_fact *p);
        /* The ramdisk options object ("{guid}") that object's device names,
         * in the store the op edits (esp_store: on disk store_disk's ESP;
         * else the system store), read from the store now; NULL when it is
         * not a ramdisk or the store cannot be read. */
        const char *(*ramdisk_options)(void *data, const mb_facts *f, const mb_op *op,
                                       const char *object);
} mb_win_render_ctx;

/* Stands for the id `bcdedit /copy` prints, until the executor knows it. */
#define MB_WIN_NEW_OBJECT "{<id printed by bcdedit /copy>}"

/* One rendered step: a diskpart script, a command line, an IOCTL or a copy. */
typedef enum mb_win_step_kind {
        MB_WIN_STEP_IOCTL = 0,  /* described for people; exec builds the same buffer */
        MB_WIN_STEP_DISKPART,   /* text = the script, run as diskpart /s FILE */
        MB_WIN_STEP_COMMAND,    /* text = the command line */
        MB_WIN_STEP_COPYTREE,   /* arg1 -> arg2, file-identical, except BCD files */
        MB_WIN_STEP_COPYBLOCKS, /* arg1 -> arg2 (volume devices), whole volume */
        MB_WIN_STEP_WAIT,       /* wait for a resync */
        MB_WIN_STEP_FIRMWARE,   /* a firmware variable write (arg1 variable, arg2 entry) */
        MB_WIN_STEP_MOVE,       /* rename arg1 over arg2 */
        MB_WIN_STEP_CHECK,      /* nothing is changed: mb_win_check_plex_entry() on fresh facts */
        MB_WIN_STEP_LDM_REPAIR, /* described for people; exec runs mb_win_repair_ldm() */
        MB_WIN_STEP_FW_PLACE,   /* BootOrder rewritten: the op's entry directly after the disk entries */
} mb_win_step_kind;

typedef struct mb_win_step {
        mb_win_step_kind kind;
        char *text;
        char *arg1, *arg2;
        bool always;            /* runs after an earlier step failed too (a temporary
                                 * drive letter's removal) */
} mb_win_step;

typedef struct mb_win_steps {
        mb_win_step *v;
        size_t n;
} mb_win_steps;

int mb_win_render_steps(const mb_facts *facts, const mb_op *op, const mb_win_render_ctx *ctx,
                        mb_win_steps *ret, mb_error *err);
void mb_win_steps_clear(mb_win_steps *s);
/* 0 when the store op edits (mb_win_op_store) holds the loader entry of the
 * os plex on op->disk (an os-loader whose device and osdevice are that
 * partition, whatever its description); MB_ESTATE saying why mbstate does
 * not make one otherwise. */
int mb_win_check_plex_entry(const mb_facts *f, const mb_op *op, mb_error *err);
/*
 * The store a BCD op edits, as the facts hold it: with op->esp_store the
 * store on disk store_disk's ESP (its part bcd), except when that ESP is
 * the system disk's, whose store is the system store (f->bcd, edited
 * without /store); else the system store. *ret_other is true when it is
 * another ESP's store (edited through bcdedit /store), *ret the store or
 * NULL when the facts have none there.
 */
void mb_win_op_store(const mb_facts *f, const mb_op *op, const mb_bcd_fact **ret,
                     bool *ret_other);
/* SYNC_FILES: whether the tree copy leaves \EFI\Microsoft\Boot\BCD and its
 * logs alone on both sides: the source is the live store (exported
 * instead), or keep_store and the target has a readable store of its own. */
bool mb_win_sync_skips_bcd(const mb_facts *f, const mb_op *op);
/* The steps as one text, the form `plan --commands windows` prints. */
int mb_win_steps_to_text(const mb_win_steps *s, char **ret, mb_error *err);

/* ---- facts.c ---- */

int mb_win_read_facts(const mb_win32 *w, mb_facts **ret, mb_error *err);

/* How facts are read; all false is the real thing. */
typedef struct mb_win_read_opts {
        bool no_content_hash;   /* tests: leave content_sha256 unset (524 MiB each) */
        mb_verify *verify;      /* the recovery files' record (in/out); NULL: none, read deep */
} mb_win_read_opts;

int mb_win_read_facts_opts(const mb_win32 *w, const mb_win_read_opts *o, mb_facts **ret,
                           mb_error *err);
/* p->files of the recovery volume vol, read through its volume GUID path
 * (vol->name) and checked against the verification record of v (NULL: no
 * record, every byte read); see read_facts.c. */
int mb_win_recovery_files(const mb_win32 *w, const mb_win_volume *vol, mb_part_fact *p, mb_verify *v,
                          mb_error *err);
/* SHA-256 of bytes [offset, offset + length) of the device name (a disk or
 * volume path), read raw and unbuffered through the table in 1 MiB pieces:
 * every byte counts, holes and unwritten areas read as what the device
 * returns. offset and length are whole sectors (MB_EINVAL otherwise). */
int mb_win_hash_device_range(const mb_win32 *w, const char *name, uint64_t offset,
                             uint64_t length, char ret_hex[65], mb_error *err);
/* CreateFileW on a UTF-8 name, shared read/write, OPEN_EXISTING. */
HANDLE mb_win_open(const mb_win32 *w, const char *name, DWORD access, DWORD flags,
                   DWORD *ret_error);
/* DeviceIoControl with a growing output buffer; *ret malloc'd. Errors name
 * code_name and what; MB_ENOTSUP for "not supported" answers. */
int mb_win_ioctl(const mb_win32 *w, HANDLE h, DWORD code, const char *code_name,
                 const char *what, const void *in, size_t in_len, void **ret, size_t *ret_len,
                 mb_error *err);
/* The same; on failure *ret_error (may be NULL) is the Win32 error. */
int mb_win_ioctl_e(const mb_win32 *w, HANDLE h, DWORD code, const char *code_name,
                   const char *what, const void *in, size_t in_len, void **ret, size_t *ret_len,
                   DWORD *ret_error, mb_error *err);
/* The physical sector size of the open disk h into d->physical_sector_size
 * (sector_size.c), after d->sector_size was read from the geometry. A
 * device that does not answer the query (ERROR_NOT_SUPPORTED,
 * ERROR_INVALID_FUNCTION) leaves it 0 and is no error; what names the disk
 * in errors. */
int mb_win_read_sector_sizes(const mb_win32 *w, HANDLE h, const char *what, mb_disk_fact *d,
                             mb_error *err);

/*
 * Raw I/O on disk and volume handles is unbuffered: the handles are opened
 * with FILE_FLAG_NO_BUFFERING (Microsoft file systems open volume handles
 * noncached anyway), so every transfer starts at a sector offset, moves
 * whole sectors and uses a buffer aligned to the sector size. These buffers
 * come from VirtualAlloc, page-aligned, so aligned for every sector size;
 * NULL when out of memory. mb_win_io_free(w, NULL) is a no-op.
 */
void *mb_win_io_alloc(const mb_win32 *w, size_t len);
void mb_win_io_free(const mb_win32 *w, void *buf);
/* The smallest sector size a disk has; offsets and lengths of raw I/O are
 * multiples of the disk's own, so of this. */
#define MB_WIN_MIN_SECTOR 512u
/* "\\.\PhysicalDriveN" */
void mb_win_disk_path(uint32_t number, char buf[32]);

/* ---- ldm_facts.c ---- */

/* Group, LDM disk names and volumes with their plexes (healthy, failed as
 * the database records it, or missing) from the LDM database read raw from
 * the dynamic disks of f, and the os role on the os volume's entries: the
 * volume with an extent where boot (disk -1: unknown) says the running
 * system's boot volume starts. Nothing when no disk is dynamic. */
struct mb_ldm_boot;
int mb_win_read_ldm(const mb_win32 *w, mb_facts *f, const struct mb_ldm_boot *boot, mb_error *err);
/* Rewrites the damaged copies of disk's LDM metadata from its intact ones
 * (mb_ldm_repair): raw sector writes to \\.\PhysicalDriveN inside the LDM
 * metadata partition, which no volume covers; every dynamic disk is read,
 * disk alone is opened for writing. */
int mb_win_repair_ldm(const mb_win32 *w, const mb_facts *f, uint32_t disk, mb_error *err);

/* ---- exec.c ---- */

typedef struct mb_win_target {
        const mb_win32 *w;
        bool allowed[64];       /* disks site.yaml selected (allow_write) */
        char system_drive;
        mb_win_read_opts read_opts;
        struct mb_win_rec *rec; /* the recording or replay w belongs to, or NULL */
        char *record_path;      /* recording: written by finish */
        bool rec_replay;        /* rec is a replay */
} mb_win_target;

/* Performs op through the table (one of the target's handlers; the gate,
 * mb_platform_execute, has allowed it and re-checked the disk's identity). */
int mb_win_execute(mb_win_target *t, const mb_op *op, mb_progress *progress, mb_error *err);
/* The disk's identity now, through the table: serial from
 * IOCTL_STORAGE_QUERY_PROPERTY(StorageDeviceProperty), size from
 * IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, on \\.\PhysicalDriveN opened for reading. */
int mb_win_identify(const mb_win32 *w, uint32_t disk, mb_disk_identity *ret, mb_error *err);

/* ---- platform_windows.c ---- */

/* mb_platform_open_windows / mb_windows_preflight over an explicit table. */
int mb_win_platform_open(const mb_win32 *w, mb_platform **ret, mb_error *err);
/*
 * The windows target over a recording session (win32_record.h), which it
 * then owns: a recording (record_path set) is written by finish, even when
 * the facts read failed; a replay is the "replay" target, read-only, whose
 * facts read must use the whole recording. A replay mismatch replaces the
 * target's own error.
 */
int mb_win_platform_open_rec(struct mb_win_rec *rec, const char *record_path, mb_platform **ret,
                             mb_error *err);
int mb_win_preflight(const mb_win32 *w, bool *ret_hibernation, mb_error *err);

/* ---- copy.c ---- */

int mb_win_copy_tree(const mb_win32 *w, const char *from, const char *to, bool skip_bcd,
                     mb_error *err);
int mb_win_copy_blocks(const mb_win32 *w, const char *from, const char *to, mb_progress *progress,
                       mb_error *err);

/* ---- security.c ---- */

int mb_win_check_elevated(const mb_win32 *w, mb_error *err);
int mb_win_check_uefi(const mb_win32 *w, mb_error *err);
int mb_win_check_config_acl(const mb_win32 *w, const char *path, mb_error *err);
/* The trust rule's Windows branch (engine/trust.h): the owner and every
 * allow entry granting a write right (for a state directory also adding
 * or deleting files in it) are Administrators, SYSTEM, TrustedInstaller or
 * the running user; MB_EUNSAFE naming path and the offending trustee. */
int mb_win_trust_check(const mb_win32 *w, const char *path, mb_trust_kind kind, mb_error *err);

/* The state directory's DACL: protected (no inherited entries), full
 * control for SYSTEM and Administrators, inherited by files and folders. */
#define MB_WIN_STATE_DIR_SDDL "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
/* The verification records' directory: asked, or for NULL and
 * MB_STATE_DIR_DEFAULT %ProgramData%\mbstate (SHGetKnownFolderPath
 * FOLDERID_ProgramData). Created with MB_WIN_STATE_DIR_SDDL when missing;
 * refused (MB_EUNSAFE) when it is a link or others may write it. *ret_dir
 * malloc'd. MB_ENOENT when it is missing and cannot be created. */
int mb_win_state_dir(const mb_win32 *w, const char *asked, char **ret_dir, mb_error *err);
/* The record dir\key.rec (an empty one when there is none), read and
 * written through the table; the file is checked as MB_TRUST_STATE_FILE. */
int mb_win_record_load(const mb_win32 *w, const char *dir, const char *key, mb_record *ret,
                       mb_error *err);
int mb_win_record_save(const mb_win32 *w, const char *dir, const char *key, mb_record *r,
                       mb_error *err);
/* Parses a self-relative ACL: 0 if only administrators, SYSTEM,
 * TrustedInstaller or self_sid may write; MB_EUNSAFE naming the SID otherwise. */
int mb_win_acl_check(const void *acl, size_t len, const void *self_sid, const char *what,
                     mb_error *err);
void mb_win_sid_to_string(const void *sid, char *buf, size_t len);

#endif
