/* SPDX-License-Identifier: MIT */
/* Internal to engine/format/ldm: shared by the reader and the writer. */
#ifndef MB_LDM_INT_H
#define MB_LDM_INT_H

#include <stdarg.h>

#include "ldm.h"

#define LDM_SECTOR 512u
#define LDM_MAX_CFG_BYTES (32u << 20)   /* refuse config regions larger than this */

/* Record types (low nibble of the record header's type byte). */
enum { LDM_REC_VOL = 1, LDM_REC_COMP = 2, LDM_REC_PART = 3, LDM_REC_DISK = 4, LDM_REC_GROUP = 5 };
/* Record states (first 16 bits of a record). */
enum { LDM_REC_ACTIVE = 0, LDM_REC_PENDING_DELETE = 1, LDM_REC_PENDING_ADD = 2 };
/* VMDB update states. */
enum { LDM_DB_CLEAN = 1, LDM_DB_CHANGE = 2, LDM_DB_COMMIT = 3 };

/* VMDB field offsets. */
#define VMDB_N_VBLKS 0x04
#define VMDB_VBLK_SIZE 0x08
#define VMDB_HEADER_SIZE 0x0C
#define VMDB_STATUS 0x10
#define VMDB_MAJOR 0x12
#define VMDB_MINOR 0x14
#define VMDB_NAME 0x16
#define VMDB_GUID 0x35
#define VMDB_COMMITTED 0x75
#define VMDB_PENDING 0x7D
#define VMDB_COUNTS_C 0x85   /* vol, comp, part, disk, disk-access: 5 x u32 */
#define VMDB_COUNTS_P 0xA1
#define VMDB_LAST_MOD 0xBD

/* A record assembled from the VBLK fragments of a config image. */
typedef struct ldm_rec {
        uint32_t group;
        uint16_t status;
        uint8_t flags, type, rev;
        uint64_t id;
        uint8_t *data;          /* record header (8 bytes) + body */
        size_t len;
        uint32_t *slots;        /* fragment slots, fragment order */
        uint16_t n_slots;
} ldm_rec;

/* Sum of the 512 bytes with the checksum field (bytes 8..11) taken as zero. */
uint32_t ldm_checksum(const uint8_t *sector);

/* Parses the records of a config image (VMDB sector first). */
int ldm_scan_records(const uint8_t *img, uint32_t n_vblks, uint32_t vblk_size,
                     uint32_t first_slot, const char *what, ldm_rec **ret, size_t *ret_n,
                     mb_error *err);
void ldm_recs_free(ldm_rec *r, size_t n);

/* Parses one record's body into db's arrays (appends). */
int ldm_parse_record(mb_ldm_db *db, const ldm_rec *r, const char *what, mb_error *err);

/* Serializes PRIVHEAD / TOCBLOCK of d (with checksum). */
void ldm_ph_build(const mb_ldm_dev *d, uint8_t out[512]);
void ldm_toc_build(const mb_ldm_dev *d, uint8_t out[512]);
int ldm_ph_parse(const uint8_t *b, mb_ldm_dev *d, char *why, size_t why_len);
int ldm_toc_parse(const uint8_t *b, mb_ldm_dev *d, char *why, size_t why_len);

/* Serializes one object's record (header + body) into out; returns length or -1. */
int ldm_build_vol(const mb_ldm_vol *v, uint8_t *out, size_t cap);
int ldm_build_comp(const mb_ldm_comp *c, uint8_t *out, size_t cap);
int ldm_build_part(const mb_ldm_part *p, uint8_t *out, size_t cap);
int ldm_build_disk(const mb_ldm_disk *d, uint8_t *out, size_t cap);
int ldm_build_group(const mb_ldm_db *db, uint8_t *out, size_t cap);

/* state: 0 no LDM partition, 1 LDM partition without a valid PRIVHEAD, 2 valid (ret filled) */
int ldm_probe_dev(mb_blockdev *dev, mb_ldm_dev *ret, int *state, uint64_t *meta_first,
                  uint64_t *meta_last, mb_error *err);

void ldm_warn(mb_ldm_db *db, const char *fmt, ...) MB_PRINTF(2, 3);
void ldm_derive_types(mb_ldm_db *db);
uint64_t ldm_filetime_now(void);

/* GUIDs inside records are stored in text byte order; mb_guid is mixed-endian. */
void ldm_guid_from_be(const uint8_t be[16], mb_guid *g);
void ldm_guid_to_be(const mb_guid *g, uint8_t be[16]);

#endif
