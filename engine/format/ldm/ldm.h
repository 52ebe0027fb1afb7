/* SPDX-License-Identifier: MIT */
#ifndef MB_LDM_H
#define MB_LDM_H

/*
 * Windows Logical Disk Manager ("dynamic disk") database: reader, writer and
 * the few edits mbstate needs. All values are in 512-byte sectors; other
 * sector sizes are refused (MB_ENOTSUP).
 *
 * On disk, every member of a disk group carries a private region: PRIVHEAD
 * copies, TOCBLOCKs, the VMDB header followed by VBLK records ("config"
 * region) and the KLOG ("log" region). The config and log regions are the
 * same on every member. mb_ldm_read gathers them into an mb_ldm_db; the
 * builders edit that in memory; mb_ldm_write puts it on every present member
 * as one new committed state: no pending stage is ever written; each
 * member's config region is replaced in one write that already holds the
 * records active and the VMDB clean at the new sequence (see mb_ldm_write).
 */

#include <stddef.h>
#include <stdint.h>

#include "blockdev.h"
#include "error.h"
#include "guid.h"

#define MB_LDM_STR_MAX 256 /* variable-length strings: up to 255 bytes + NUL */
#define MB_LDM_WARN_MAX 4096

typedef enum {
        MB_LDM_VOL_SIMPLE,
        MB_LDM_VOL_SPANNED,
        MB_LDM_VOL_STRIPED,
        MB_LDM_VOL_MIRRORED,
        MB_LDM_VOL_RAID5,
        MB_LDM_VOL_UNKNOWN
} mb_ldm_vol_type;

/* Component layouts as stored in component records. */
enum { MB_LDM_LAYOUT_STRIPE = 1, MB_LDM_LAYOUT_CONCAT = 2, MB_LDM_LAYOUT_RAID5 = 3 };

typedef struct mb_ldm_disk {
        uint64_t id;
        char name[MB_LDM_STR_MAX];
        mb_guid guid;
        int dev_index;          /* index into devs[] or -1 if not present (missing disk) */
        /* the rest of the record, kept so that the writer reproduces it */
        uint8_t rev;            /* 3: GUID stored as text, 4: GUID stored binary */
        uint8_t rec_flags;
        mb_guid alt_guid;       /* rev 4 only */
        char last_device[MB_LDM_STR_MAX];
        uint32_t flags;
        uint64_t commit_id;
} mb_ldm_disk;

typedef struct mb_ldm_part {
        uint64_t id;
        char name[MB_LDM_STR_MAX];
        uint64_t disk_id;
        uint64_t start;         /* sectors, relative to the disk's LDM data area (logical_disk_start) */
        uint64_t vol_offset;    /* offset of this extent in its column */
        uint64_t size;
        uint64_t comp_id;
        uint8_t rec_flags;      /* 0x08 column index, 0x20 txn id, 0x40 unknown1, 0x02 hidden */
        uint32_t flags;
        uint64_t commit_id;
        uint32_t col_index;
        uint64_t unknown_txn;
        uint64_t unknown1;
        uint64_t hidden;
} mb_ldm_part;

typedef struct mb_ldm_comp {
        uint64_t id;
        char name[MB_LDM_STR_MAX];
        uint64_t vol_id;
        int state_ok;           /* state is "ACTIVE" */
        uint32_t n_parts;       /* extents the record announces */
        char state[MB_LDM_STR_MAX];
        uint8_t layout;         /* MB_LDM_LAYOUT_* */
        uint8_t rec_flags;      /* 0x10: stripe_size and n_columns present */
        uint32_t flags;
        uint64_t commit_id;
        uint64_t logsd;
        uint64_t stripe_size;
        uint32_t n_columns;
} mb_ldm_comp;

typedef struct mb_ldm_vol {
        uint64_t id;
        char name[MB_LDM_STR_MAX];
        mb_ldm_vol_type type;   /* derived from the components */
        uint64_t size;          /* sectors */
        uint8_t part_type;      /* 0x07 NTFS */
        char hint[MB_LDM_STR_MAX]; /* drive hint e.g. "G:" ("" when absent) */
        mb_guid guid;           /* volume GUID */
        char state[16];         /* "ACTIVE" */
        char type_str[MB_LDM_STR_MAX];  /* "gen" or "raid5" */
        char drive_str[MB_LDM_STR_MAX]; /* "8000000000000000" disables drive letters */
        uint8_t read_policy;    /* 3 for gen, 4 for raid5 */
        uint32_t number;        /* volume number, 1..255 */
        uint32_t flags;         /* 0x11 by default */
        uint32_t n_comps;
        uint8_t rec_flags;      /* 0x02 hint, 0x08 id1, 0x20 id2, 0x80 size2 */
        uint64_t commit_id;
        uint64_t unknown_txn;
        uint64_t id1, id2, size2;
} mb_ldm_vol;

/* One entry of the kernel update log (KLOG). */
typedef struct mb_ldm_klog_entry {
        uint8_t status;         /* 3: commit */
        uint64_t committed;
        uint64_t pending;
        uint32_t recover_seq;
} mb_ldm_klog_entry;

typedef struct mb_ldm_region {
        char name[9];           /* "config" or "log" */
        uint16_t flags;
        uint64_t start, size;   /* sectors, relative to config_start */
        uint16_t unknown;       /* 6 */
        uint16_t copy;          /* 1 */
} mb_ldm_region;

/* Which redundant structure of a member is damaged (mb_ldm_damage). */
typedef enum {
        MB_LDM_DMG_PRIVHEAD,    /* a PRIVHEAD copy unreadable or unlike the one used */
        MB_LDM_DMG_TOCBLOCK,    /* a TOCBLOCK copy unreadable or unlike the one used */
        MB_LDM_DMG_DATABASE,    /* config region unlike the group's at the same sequence */
} mb_ldm_damage_kind;

#define MB_LDM_DAMAGE_MAX 6

/* One damaged copy the reader found on a member: where it is and why. */
typedef struct mb_ldm_damage {
        mb_ldm_damage_kind kind;
        uint64_t lba;           /* the damaged copy's first sector (absolute) */
        char why[160];
} mb_ldm_damage;

/* A present member: its PRIVHEAD and TOCBLOCK values (sectors). */
typedef struct mb_ldm_dev {
        int dev_index;          /* index into devs[] */
        int is_gpt;
        int sector6;            /* MBR: a PRIVHEAD copy lives at sector 6 */
        /* PRIVHEAD */
        uint16_t version_major, version_minor;  /* 2.11 (2003), 2.12 (2008) */
        uint64_t timestamp;     /* FILETIME */
        uint64_t update_seq;
        uint64_t ph_primary, ph_secondary;      /* relative to config_start */
        mb_guid disk_guid;
        char host_guid[65];
        char group_guid[65];
        char group_name[32];
        uint32_t bytes_per_sector;
        uint32_t flags;
        uint16_t pub_slice, priv_slice;
        uint64_t logical_disk_start, logical_disk_size;
        uint64_t config_start, config_size;
        uint64_t toc_primary, toc_secondary;    /* relative to config_start */
        uint32_t n_configs, n_logs;
        uint64_t config_sectors, log_sectors;
        uint32_t disk_signature;
        uint8_t disk_set_guid[16], disk_set_guid2[16];
        /* TOCBLOCK */
        uint64_t toc_seq;
        mb_ldm_region regions[2];   /* [0] config, [1] log */
        /* writer bookkeeping */
        int cfg_current;        /* config region equals the group's copy */
        int have_images;        /* ph_image/toc_image hold what is on disk */
        int staged;             /* new member whose metadata partition the caller
                                 * creates after mb_ldm_write (mb_ldm_stage_dev) */
        uint8_t ph_image[512], toc_image[512];
        /* copies found damaged by the reader; mb_ldm_repair rewrites them */
        mb_ldm_damage damage[MB_LDM_DAMAGE_MAX];
        uint32_t n_damage;
} mb_ldm_dev;

typedef struct mb_ldm_db {
        char group_name[32];
        mb_guid group_guid;
        char group_guid_str[65];        /* text form as stored (may not be a GUID) */
        uint64_t committed_seq;
        mb_ldm_disk *disks; size_t n_disks;
        mb_ldm_part *parts; size_t n_parts;
        mb_ldm_comp *comps; size_t n_comps;
        mb_ldm_vol *vols; size_t n_vols;
        /* disk group record */
        uint64_t dg_id;
        uint8_t dg_rev, dg_rec_flags;
        uint8_t dg_set_guid[16];        /* rev 4 */
        uint64_t dg_commit_id;
        uint32_t dg_config_copies, dg_log_copies, dg_minors;
        /* VMDB */
        uint32_t n_vblks, vblk_size, vmdb_header_size;
        uint16_t vmdb_major, vmdb_minor;
        uint64_t last_modified;         /* FILETIME */
        uint8_t *cfg; size_t cfg_len;   /* config region as read (writer's base) */
        /* KLOG */
        uint64_t klog_txn;
        uint32_t klog_seq;
        mb_ldm_klog_entry klog[20]; size_t n_klog;
        /* present members */
        mb_ldm_dev *devs; size_t n_devs;
        uint32_t disk_signature;        /* group-wide PRIVHEAD value */
        uint64_t next_id;               /* next free object id */
        char warnings[MB_LDM_WARN_MAX]; /* one per line; reported, not fatal */
} mb_ldm_db;

/*
 * Is there LDM on this disk (MBR partition type 0x42, or GPT with the LDM
 * metadata partition 5808c8aa-7e8f-42e0-85d2-e1e90434cfb3)? Sets
 * *ret_is_dynamic to 1 when a valid PRIVHEAD is found, 0 when the disk has no
 * LDM partition. An LDM partition without any valid PRIVHEAD is MB_ECORRUPT.
 */
int mb_ldm_probe(mb_blockdev *dev, int *ret_is_dynamic, mb_error *err);

/*
 * Reads the database of the one disk group found on devs (disks of no group
 * are skipped; disks of two different groups are MB_EINVAL). When members
 * disagree, the newest copy wins and a warning is recorded. Damaged copies of
 * PRIVHEAD/TOCBLOCK are skipped with a warning; nothing is ever written.
 */
int mb_ldm_read(mb_blockdev **devs, size_t n_devs, mb_ldm_db **ret_db, mb_error *err);

/* Like mb_ldm_read, but only the group with this GUID text; others skipped. */
int mb_ldm_read_group(mb_blockdev **devs, size_t n_devs, const char *group_guid,
                      mb_ldm_db **ret_db, mb_error *err);

void mb_ldm_db_free(mb_ldm_db *db);

/*
 * An empty group (no disks) named group_name (at most 31 bytes; Windows uses
 * "<HOST>Dg0"), with group_guid or a random one when NULL.
 */
int mb_ldm_db_new(const char *group_name, const mb_guid *group_guid, mb_ldm_db **ret_db,
                  mb_error *err);

/*
 * Writer: serializes db to the private region of every present member
 * (db->devs, device devs[dev_index]), bumping committed_seq: per member (new
 * members first) the config region in one write (records active, VMDB clean
 * at the new sequence; only through the last changed sector when the member
 * held the group's current copy), the KLOG entry, then TOCBLOCKs and
 * PRIVHEADs (secondary before primary) where new or changed. Writes nothing
 * and returns 0 when every record, header and copy is already current. devs must be indexed as in the read / builders. Refuses
 * (MB_EUNSAFE) a device whose PRIVHEAD names another disk or group, or that
 * has no LDM partition unless the member is staged. On failure each member
 * holds the previous or the new committed state; db should then be
 * discarded and read again.
 */
int mb_ldm_write(mb_ldm_db *db, mb_blockdev **devs, size_t n_devs, mb_error *err);

/*
 * Rewrites every copy the reader found damaged (db->devs[].damage) from the
 * intact copy it used: a PRIVHEAD or TOCBLOCK copy gets the member's own
 * valid sector image, a config region unlike the group's at the same
 * sequence gets the group's (db->cfg). Nothing else is written and no
 * sequence changes, so a volume manager holding the database in memory
 * (Windows) sees the same transaction. Only members whose device index is
 * in allowed[] (NULL: every member) are written; *ret_fixed counts the
 * copies rewritten. A database damage without a clean group copy (an
 * interrupted transaction) is MB_ESTATE: the next write completes it.
 */
int mb_ldm_repair(mb_ldm_db *db, mb_blockdev **devs, size_t n_devs, const int *allowed,
                  size_t *ret_fixed, mb_error *err);

const char *mb_ldm_damage_name(mb_ldm_damage_kind k); /* "PRIVHEAD", "TOCBLOCK", "database" */

/*
 * Marks the new member on device dev_index (added by mb_ldm_init_gpt_disk,
 * not yet written) as staged: mb_ldm_write writes its private region although
 * the device has no LDM metadata partition yet, and before any other member,
 * so the caller can add the partition afterwards and no reader ever sees a
 * metadata partition without a database. The caller answers for the range
 * being free (unallocated, or the Microsoft reserved partition's).
 */
int mb_ldm_stage_dev(mb_ldm_db *db, int dev_index, mb_error *err);

/* The PRIVHEAD a staged write left at the end of [meta_first, meta_first +
 * 2047] of dev (a conversion interrupted before its GPT write): *ret_found 1
 * with its disk and group GUIDs, 0 when there is none. */
int mb_ldm_staged_disk(mb_blockdev *dev, uint64_t meta_first, mb_guid *ret_disk_guid,
                       char ret_group_guid[65], int *ret_found, mb_error *err);

/*
 * Adds device devs[dev_index] to the group as a GPT dynamic disk whose LDM
 * metadata partition occupies LBA [meta_first, meta_last] (must be 2048
 * sectors, as Windows makes it) and whose LDM data partition is
 * [data_first, data_last]. Lays out PRIVHEAD copies (meta_last and
 * meta_first + 1856), TOCBLOCKs (+2, +2045), config (+17, 1481 sectors) and
 * log (+1498, 224 sectors) as Windows Server 2008 R2 does, and adds a disk
 * record named "DiskN" (or name). disk_guid NULL: random. A disk_guid that
 * a missing disk with no extents of the group has (a staged member whose
 * metadata partition never appeared) brings that disk back on this device
 * instead. Nothing is written until mb_ldm_write.
 */
int mb_ldm_init_gpt_disk(mb_ldm_db *db, int dev_index, uint64_t meta_first, uint64_t meta_last,
                         uint64_t data_first, uint64_t data_last, const char *name,
                         const mb_guid *disk_guid, uint64_t *ret_disk_id, mb_error *err);

/*
 * Adds a simple volume over the extent [start, start + size) of disk disk_id
 * (start relative to that disk's data area); the data stays where it is.
 * name NULL: "VolumeN"; hint NULL or "": no drive hint; part_type 0x07 for
 * NTFS; vol_guid NULL: random.
 */
int mb_ldm_add_simple_volume(mb_ldm_db *db, uint64_t disk_id, uint64_t start, uint64_t size,
                             const char *name, const char *hint, uint8_t part_type,
                             const mb_guid *vol_guid, uint64_t *ret_vol_id, mb_error *err);

/*
 * Adds a second (third...) plex to volume vol_id: a component with one extent
 * of the volume's size at start on disk disk_id (which holds no other plex of
 * that volume); the volume becomes mirrored. The caller makes the extent's
 * data identical to the volume's (it is declared in sync).
 */
int mb_ldm_add_mirror_plex(mb_ldm_db *db, uint64_t vol_id, uint64_t disk_id, uint64_t start,
                           uint64_t *ret_part_id, mb_error *err);

/*
 * Drops a missing disk (dev_index -1), every partition on it and every
 * component that had one; volumes left without components are dropped, a
 * mirror left with one plex becomes simple.
 */
int mb_ldm_remove_disk(mb_ldm_db *db, uint64_t disk_id, mb_error *err);

/* Lookups: NULL when absent. */
mb_ldm_vol *mb_ldm_find_vol(mb_ldm_db *db, const char *name);
mb_ldm_disk *mb_ldm_find_disk(mb_ldm_db *db, const char *name);
mb_ldm_part *mb_ldm_find_part(mb_ldm_db *db, const char *name);

const char *mb_ldm_vol_type_name(mb_ldm_vol_type t); /* "simple", ..., "raid5" */

/* ---- facts (ldm_facts.c) ---- */

struct mb_facts;

/* Where the boot volume starts, when the caller knows it (the BCD default
 * loader's osdevice, the running system's boot volume): a disk number and
 * an LBA; disk -1 when unknown. */
typedef struct mb_ldm_boot {
        int32_t disk;
        uint64_t first_lba;
} mb_ldm_boot;

/* Where extent p lies: *ret_disk the disk number of its member (numbers[]
 * maps dev_index to disk numbers; NULL: the same), -1 for a missing disk;
 * *ret_first_lba its first LBA (for a missing disk, as if its data area
 * started where a present member's does). Returns 1 when present. */
int mb_ldm_part_place(const mb_ldm_db *db, const mb_ldm_part *p, const uint32_t *numbers,
                      int32_t *ret_disk, uint64_t *ret_first_lba);

/*
 * The os volume: the one with an extent where boot says the boot volume
 * starts; without such a hint, the group's only volume, or else its only
 * mirrored volume; NULL when none of these tells it.
 */
const mb_ldm_vol *mb_ldm_os_volume(const mb_ldm_db *db, const uint32_t *numbers,
                                   const mb_ldm_boot *boot);

/*
 * Adds db to facts f whose disks (numbered as numbers[] says) already hold
 * their GPT entries: each member disk's dynamic, dynamic_group and
 * dynamic_name; one volume fact per volume with one plex fact per extent
 * (healthy, failed when its component is not ACTIVE, missing on a missing
 * disk); and the os role on the entries that are exactly an extent of the
 * os volume (mb_ldm_os_volume), taken from basic data entries that are not.
 */
int mb_ldm_facts(const mb_ldm_db *db, const uint32_t *numbers, const mb_ldm_boot *boot,
                 struct mb_facts *f, mb_error *err);

#endif
