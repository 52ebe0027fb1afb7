/* SPDX-License-Identifier: MIT */
#ifndef MB_FACTS_H
#define MB_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/*
 * The actual state of a machine, in the vocabulary of site.yaml
 * (DESIGN.md §3). Every target produces one of these; resources compare
 * it with the desired state. The struct is also the libcyaml schema's
 * target (schemas/facts_schema.c), so `mbstate facts` output loads back
 * into exactly this.
 *
 * GUIDs are kept in their lower-case text form (no braces); sizes in bytes,
 * positions in logical sectors of the disk.
 */

typedef enum mb_role {
        MB_ROLE_NONE = 0,       /* not one of ours, or unknown type */
        MB_ROLE_EFI,
        MB_ROLE_MSR,
        MB_ROLE_OS,
        MB_ROLE_RECOVERY,
        MB_ROLE_LDM_METADATA,   /* dynamic disk private region */
        MB_ROLE_LDM_DATA,       /* dynamic disk data area */
        MB_ROLE__COUNT,
} mb_role;

typedef enum mb_fs {
        MB_FS_NONE = 0,
        MB_FS_FAT32,
        MB_FS_NTFS,
        MB_FS_OTHER,
} mb_fs;

typedef enum mb_style {
        MB_STYLE_RAW = 0,       /* not initialized */
        MB_STYLE_MBR,
        MB_STYLE_GPT,
} mb_style;

typedef enum mb_plex_state {
        MB_PLEX_HEALTHY = 0,
        MB_PLEX_RESYNCING,
        MB_PLEX_FAILED,
        MB_PLEX_MISSING,
} mb_plex_state;

#define MB_GUID_TEXT 37

/* Where a firmware boot entry stands in BootOrder. */
typedef enum mb_position {
        MB_POS_ABSENT = 0,
        MB_POS_FIRST,
        MB_POS_LAST,
} mb_position;

/* An X.509 certificate: names as OpenSSL's X509_NAME_oneline writes them. */
typedef struct mb_cert_fact {
        char *subject;
        char *issuer;
        char *sha256;           /* of the DER encoding */
} mb_cert_fact;

/* One Authenticode signature of a boot program. */
typedef struct mb_signature_fact {
        char *subject;          /* the signer's certificate */
        char *issuer;
        char *sha256;
        char *signed_digest;    /* the Authenticode SHA-256 the signer signed; NULL if not SHA-256 */
        mb_cert_fact *certificates; /* every certificate the signature carries */
        uint32_t n_certificates;
} mb_signature_fact;

/* A boot program (PE/COFF image) on an ESP. */
typedef struct mb_image_fact {
        char *machine;          /* x64, ia32, aa64, arm or 0x.... */
        char *version;          /* file version "a.b.c.d"; NULL without a version resource */
        char *authenticode_sha256;
        mb_signature_fact *signatures;
        uint32_t n_signatures;
} mb_image_fact;

typedef struct mb_file_fact {
        char *path;             /* "/EFI/Microsoft/Boot/BCD" ('/' separated, case kept) */
        uint64_t size;
        char *sha256;           /* 64 hex digits */
        mb_image_fact *image;   /* boot managers (bootmgfw.efi, bootx64.efi): the PE facts; else NULL */
        uint32_t attributes;    /* NTFS files: FILE_ATTRIBUTE_* (0 on FAT) */
} mb_file_fact;

typedef struct mb_part_fact {
        uint32_t number;        /* 1-based GPT entry index */
        mb_role role;           /* guessed from the type GUID */
        char *type_guid;
        char *unique_guid;
        char *name;             /* GPT partition name, UTF-8 */
        uint64_t first_lba;
        uint64_t last_lba;      /* inclusive */
        uint64_t attributes;    /* GPT attribute bits */
        mb_fs fs;
        char *label;            /* file system label, may be NULL */
        char *content_sha256;   /* whole-partition hash (a recovery partition whose files
                                   cannot be read); may be NULL */
        mb_file_fact *files;    /* FAT file list (ESPs), NTFS file list (recovery, when
                                   content_sha256 is NULL); sorted by path */
        uint32_t n_files;
        struct mb_bcd_fact *bcd; /* ESPs: the store \EFI\Microsoft\Boot\BCD on this ESP as
                                   read, when it is not the system store (that one is
                                   mb_facts.bcd); NULL when it has none or the target
                                   did not read it */
} mb_part_fact;

/* A damaged or diverging copy of a dynamic disk's LDM metadata (the disk
 * runs on its other copy; apply rewrites this one from it). */
typedef struct mb_ldm_damage_fact {
        char *structure;        /* "PRIVHEAD", "TOCBLOCK", "database" */
        uint64_t sector;        /* first sector of the damaged copy */
        char *detail;           /* what is wrong with it */
} mb_ldm_damage_fact;
/* Would the disk start the machine on its own (a disk that holds an ESP;
 * computed by `facts` from the other facts, see bootability.h). */
typedef struct mb_disk_boot_fact {
        bool bootable;
        bool secure_boot;       /* judged with Secure Boot enforcing */
        char *via;              /* what would start, when bootable */
        char *reason;           /* why not, when not bootable */
} mb_disk_boot_fact;

typedef struct mb_disk_fact {
        uint32_t number;        /* Windows disk number; image: index in the target list */
        char *path;             /* \\.\PhysicalDriveN or the image file */
        char *serial;
        char *unique_id;
        char *location;
        uint64_t size;          /* bytes */
        uint32_t sector_size;   /* logical, bytes: the unit of every LBA */
        uint32_t physical_sector_size; /* bytes; 0 when the target cannot tell */
        bool online;
        bool read_only;
        bool system;            /* holds the ESP the running system booted from */
        mb_style style;
        char *disk_guid;        /* GPT disk GUID */
        uint64_t first_usable_lba;
        uint64_t last_usable_lba;
        bool dynamic;
        char *dynamic_group;    /* LDM disk group GUID when dynamic */
        char *dynamic_name;     /* LDM disk name ("Disk1") */
        mb_ldm_damage_fact *ldm_damage; /* damaged copies of its LDM metadata */
        uint32_t n_ldm_damage;
        mb_disk_boot_fact *boot; /* the boot verdict (facts output), or NULL */
        char *gpt_damaged;      /* "primary" or "backup": that GPT copy is damaged, the other
                                 * intact and read; NULL when both are sound */
        mb_part_fact *partitions; /* sorted by first_lba */
        uint32_t n_partitions;
} mb_disk_fact;

typedef struct mb_plex_fact {
        int32_t disk;           /* disk number, -1 when the disk is missing */
        char *ldm_disk;         /* LDM disk name, also known for a missing disk */
        uint64_t offset;        /* bytes from the start of the disk */
        uint64_t length;        /* bytes */
        mb_plex_state state;
        uint32_t percent;       /* resync progress, 0-100 */
} mb_plex_fact;

typedef struct mb_volume_fact {
        char *name;             /* LDM volume name ("Volume1") */
        char *kind;             /* simple, mirror, spanned, striped, raid5 */
        uint64_t size;          /* bytes */
        char *group;            /* disk group GUID */
        mb_plex_fact *plexes;
        uint32_t n_plexes;
} mb_volume_fact;

typedef struct mb_bcd_device_fact {
        char *kind;             /* partition, boot, other */
        char *partition;        /* partition unique GUID */
        char *disk;             /* disk GUID */
} mb_bcd_device_fact;

/* Whether an object's path names a file on the volume its device names,
 * looked up without case as NTFS and Windows do. */
typedef struct mb_bcd_path_fact {
        char *volume;           /* where it was looked up: "disk 0 partition 3" */
        bool exists;
} mb_bcd_path_fact;

typedef struct mb_bcd_object_fact {
        char *id;               /* "{bootmgr}" or "{guid}" */
        char *type;             /* boot-manager, os-loader, resume, memdiag, ... or 0x10200003 */
        char *description;
        mb_bcd_device_fact *device;
        mb_bcd_device_fact *osdevice;
        char *path;
        mb_bcd_path_fact *path_check; /* os-loader on a partition device; NULL when unchecked */
        char **displayorder;    /* ids */
        uint32_t n_displayorder;
        char *default_id;       /* boot managers: the default element (0x23000003), or NULL */
        char *recovery;         /* os-loaders: the first of recoverysequence (0x14000008), or NULL */
} mb_bcd_object_fact;

typedef struct mb_bcd_fact {
        char *store;            /* where it was read: "disk 0 partition 1 /EFI/Microsoft/Boot/BCD" */
        mb_bcd_object_fact *objects;
        uint32_t n_objects;
} mb_bcd_fact;

typedef struct mb_fw_entry_fact {
        uint32_t number;        /* Boot#### */
        char *description;
        char *partition;        /* unique GUID of the partition the device path names */
        char *path;
        bool active;
} mb_fw_entry_fact;

/* One entry of db or dbx (an EFI_SIGNATURE_DATA). */
typedef struct mb_sig_fact {
        char *type;             /* sha256 (an image digest), x509, x509-sha256, other */
        char *sha256;           /* sha256: the digest; x509: of the DER; x509-sha256: the TBS hash */
        char *subject;          /* x509 only */
        char *issuer;
        char *owner;            /* SignatureOwner GUID */
} mb_sig_fact;

typedef struct mb_firmware_fact {
        mb_fw_entry_fact *entries;
        uint32_t n_entries;
        uint32_t *order;        /* BootOrder */
        uint32_t n_order;
        bool secure_boot;       /* the firmware enforces Secure Boot */
        mb_sig_fact *db;        /* allowed signers and digests */
        uint32_t n_db;
        mb_sig_fact *dbx;       /* revoked signers and digests */
        uint32_t n_dbx;
        char *booted;           /* unique GUID of the ESP the running system booted from, or NULL */
} mb_firmware_fact;

typedef struct mb_facts {
        uint32_t version;       /* facts format version, 1 */
        char *target;           /* "image:...", "windows", "snapshot:..." */
        mb_disk_fact *disks;
        uint32_t n_disks;
        mb_volume_fact *volumes;
        uint32_t n_volumes;
        mb_bcd_fact *bcd;       /* the system store; NULL when none was found */
        mb_firmware_fact *firmware; /* NULL when the target has no firmware store */
} mb_facts;

const char *mb_role_to_string(mb_role r);
int mb_role_from_string(const char *s, mb_role *ret);
const char *mb_fs_to_string(mb_fs fs);
const char *mb_style_to_string(mb_style s);
const char *mb_plex_state_to_string(mb_plex_state s);

/* The GPT type GUID of a role, or NULL (MB_ROLE_NONE). */
const char *mb_role_type_guid(mb_role r);
/* The role a GPT type GUID stands for (MB_ROLE_NONE if not ours). */
mb_role mb_role_from_type_guid(const char *type_guid);
/* The default GPT attributes, file system and partition name of a role. */
uint64_t mb_role_default_attributes(mb_role r);
mb_fs mb_role_default_fs(mb_role r);
const char *mb_role_default_name(mb_role r);

/* Loads a facts file (YAML or JSON); errors are located (file:line:col). */
int mb_facts_load(const char *path, mb_facts **ret, mb_error *err);
/* The same for a document in memory; name is used in messages. */
int mb_facts_load_buffer(const char *name, const char *buf, size_t len, mb_facts **ret,
                         mb_error *err);
/* Writes facts as YAML or JSON to path ("-" = stdout); atomically for files. */
int mb_facts_save(const mb_facts *f, const char *path, bool json, mb_error *err);
/* Writes facts to a memory buffer (NUL-terminated, caller frees). */
int mb_facts_to_string(const mb_facts *f, bool json, char **ret, mb_error *err);
mb_facts *mb_facts_dup(const mb_facts *f);
void mb_facts_free(mb_facts *f);

/* A disk's logical sector size (512 when the facts do not say) and the
 * last LBA a GPT leaves usable at its end (backup header and 16 KiB of
 * entries): positions are in the disk's own sectors, sizes in bytes. */
/* The clusters of a FAT32 file system of `sectors` sectors of sector_size
 * bytes, one sector a cluster, 32 reserved sectors and two FATs (how
 * mbstate formats an ESP). FAT32 needs at least MB_FAT32_MIN_CLUSTERS:
 * with fewer, the FAT specification (fatgen103, "FAT type determination")
 * makes the volume FAT16 whatever its boot sector says. */
#define MB_FAT32_MIN_CLUSTERS 65525u
uint64_t mb_fat32_clusters(uint64_t sectors, uint32_t sector_size);

static inline uint32_t mb_disk_sector(const mb_disk_fact *d)
{
        return d && d->sector_size ? d->sector_size : 512;
}
static inline uint64_t mb_disk_last_usable(const mb_disk_fact *d)
{
        uint32_t ss = mb_disk_sector(d);

        return d->last_usable_lba ? d->last_usable_lba : d->size / ss - 2 - 16384 / ss;
}

/* Lookups. */
mb_disk_fact *mb_facts_disk(const mb_facts *f, uint32_t number);
mb_part_fact *mb_disk_part_by_role(const mb_disk_fact *d, mb_role r);
mb_part_fact *mb_disk_part_by_number(const mb_disk_fact *d, uint32_t number);
mb_part_fact *mb_facts_part_by_guid(const mb_facts *f, const char *unique_guid,
                                    mb_disk_fact **ret_disk);
/* The sector span a role occupies: for MSR on a dynamic disk this includes
 * the LDM metadata partition that conversion carved from its start. */
bool mb_disk_role_span(const mb_disk_fact *d, mb_role r, uint64_t *ret_first,
                       uint64_t *ret_last);
mb_bcd_object_fact *mb_facts_bcd_object(const mb_facts *f, const char *id);
/* The object id (or alias "{bootmgr}") of store b; NULL when absent or b NULL. */
mb_bcd_object_fact *mb_bcd_store_object(const mb_bcd_fact *b, const char *id);
/* The id a boot manager object starts: its default element, else the first
 * of its displayorder; NULL when it has neither (or bm is NULL). */
const char *mb_bcd_default_id(const mb_bcd_object_fact *bm);
/* Does dev name partition part (a "partition" device with its unique GUID)? */
bool mb_bcd_device_names(const mb_bcd_device_fact *dev, const mb_part_fact *part);
/* The os-loader of store b whose device and osdevice are part, or NULL. */
mb_bcd_object_fact *mb_bcd_store_loader_on(const mb_bcd_fact *b, const mb_part_fact *part);
mb_bcd_object_fact *mb_facts_bcd_by_description(const mb_facts *f, const char *type,
                                                const char *description);

/* Allocation helpers used by targets that build facts. */
char *mb_strdup(const char *s);
void *mb_reallocarray(void *p, size_t n, size_t size);
mb_part_fact *mb_disk_add_part(mb_disk_fact *d);  /* zeroed; keeps no order */
void mb_disk_sort_parts(mb_disk_fact *d);
void mb_part_fact_clear(mb_part_fact *p);
void mb_disk_fact_clear(mb_disk_fact *d);
void mb_disk_boot_fact_free(mb_disk_boot_fact *b);
/* Zeroed entries appended to facts being built; NULL when out of memory. */
mb_volume_fact *mb_facts_add_volume(mb_facts *f);
mb_plex_fact *mb_volume_add_plex(mb_volume_fact *v);
void mb_bcd_device_fact_free(mb_bcd_device_fact *d);
void mb_bcd_object_fact_clear(mb_bcd_object_fact *o);
void mb_bcd_fact_free(mb_bcd_fact *b);
void mb_image_fact_free(mb_image_fact *im);
void mb_sig_facts_free(mb_sig_fact *s, uint32_t n);
/* A file of an ESP by path, compared without case ("/EFI/Boot/bootx64.efi"). */
mb_file_fact *mb_part_file(const mb_part_fact *p, const char *path);

#endif
