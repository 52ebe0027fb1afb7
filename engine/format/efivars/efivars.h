/* SPDX-License-Identifier: MIT */
#ifndef MB_EFIVARS_H
#define MB_EFIVARS_H

/*
 * UEFI variable stores as OVMF keeps them in its flash image (OVMF_VARS.fd):
 * a firmware volume whose header carries the NV variable store file system
 * GUID, then a variable store header with the authenticated-variable
 * signature, then variable records appended one after the other, each with
 * a state byte whose bits are cleared as the record is added and later
 * deleted (flash semantics: bits only go from 1 to 0 until a reclaim).
 *
 * A store is read whole into memory (mb_efivars_load), changed there the
 * way the firmware changes it (a new record is appended, the old one is
 * marked deleted), and written back whole (mb_efivars_save). Nothing is
 * ever written unless every change fitted; a damaged or unknown store is an
 * error naming the file.
 *
 * On top of the store: EFI_LOAD_OPTION (Boot####) and BootOrder, with the
 * short-form device path Windows writes for its boot manager:
 * HD(partition, GPT, signature, start, size)/\EFI\...\bootmgfw.efi.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "guid.h"

/* EFI_GLOBAL_VARIABLE: 8be4df61-93ca-11d2-aa0d-00e098032b8c */
extern const mb_guid mb_efi_global_variable;

#define MB_EFI_VARIABLE_NON_VOLATILE       0x00000001u
#define MB_EFI_VARIABLE_BOOTSERVICE_ACCESS 0x00000002u
#define MB_EFI_VARIABLE_RUNTIME_ACCESS     0x00000004u
#define MB_EFI_VARIABLE_NV_BS_RT           0x00000007u
/* Kept as the store holds it (db, dbx); the record's authentication fields
 * (monotonic count, time stamp) are written as zero: the firmware checks
 * authentication on SetVariable, not on reading its own store. */
#define MB_EFI_VARIABLE_TIME_BASED_AUTH    0x00000020u

#define MB_EFI_LOAD_OPTION_ACTIVE          0x00000001u

/* Longest variable name we handle, in characters (without the NUL). */
#define MB_EFIVAR_NAME_MAX 127

typedef struct mb_efivars mb_efivars;

/* One live variable of a store; data points into the store (valid until the
 * store is changed or freed). */
typedef struct mb_efivar {
        char name[MB_EFIVAR_NAME_MAX * 3 + 1]; /* UTF-8 */
        mb_guid vendor;
        uint32_t attributes;
        const uint8_t *data;
        uint32_t size;
        uint32_t offset;        /* of the record's header, in the file */
} mb_efivar;

/* Reads and checks the store in path (at most 64 MiB). Bad firmware volume
 * header or checksum, an unknown file system or store GUID, a store that
 * does not fit its volume, or records that overrun it are MB_ECORRUPT or
 * MB_ENOTSUP, naming the file. *ret is owned by the caller. */
int mb_efivars_load(const char *path, mb_efivars **ret, mb_error *err);
void mb_efivars_free(mb_efivars *v);
/* The file the store was loaded from. */
const char *mb_efivars_path(const mb_efivars *v);

/* The live variables (state "added", not deleted), in store order.
 * *ret (malloc'd, may be NULL when *ret_n is 0) is owned by the caller. */
int mb_efivars_list(const mb_efivars *v, mb_efivar **ret, uint32_t *ret_n, mb_error *err);
/* The live variable (vendor, name): 0 and *ret filled, or MB_ENOENT. */
int mb_efivars_get(const mb_efivars *v, const mb_guid *vendor, const char *name,
                   mb_efivar *ret, mb_error *err);
/* Sets (vendor, name) to data in memory: appends a new record and marks
 * the previous one deleted, as the firmware does. size 0 deletes the
 * variable (no record is appended; deleting an absent one is not an error).
 * A change that does not fit the store's free space is MB_ESTATE ("the
 * variable store ... is full") and leaves the store unchanged. */
int mb_efivars_set(mb_efivars *v, const mb_guid *vendor, const char *name, uint32_t attributes,
                   const void *data, uint32_t size, mb_error *err);
/* Bytes still free for new records. */
uint32_t mb_efivars_free_space(const mb_efivars *v);
/* Writes the store back to path (NULL: the file it was loaded from), through
 * a temporary file renamed over it. */
int mb_efivars_save(const mb_efivars *v, const char *path, mb_error *err);

/* ---- load options ---- */

typedef struct mb_efi_load_option {
        uint32_t attributes;    /* LOAD_OPTION_ACTIVE, ... */
        char description[256];  /* UTF-8 */
        /* The hard-drive media node, when the device path has one. */
        bool has_hd;
        uint32_t part_number;
        uint64_t part_start;    /* LBA */
        uint64_t part_size;     /* sectors */
        uint8_t mbr_type;       /* 2 = GPT */
        uint8_t signature_type; /* 2 = GUID */
        mb_guid signature;      /* GPT: the partition's unique GUID */
        char path[260];         /* file path nodes joined, UTF-8 ("\EFI\Boot\bootx64.efi"); "" if none */
} mb_efi_load_option;

/* Parses an EFI_LOAD_OPTION; every length is checked against size.
 * Device path nodes other than HD() and file paths are skipped. */
int mb_efi_load_option_parse(const uint8_t *data, size_t size, mb_efi_load_option *ret,
                             mb_error *err);
/* Builds the bytes of o: HD() node (o->has_hd must be set), file path node
 * (o->path), end node; no optional data. *ret is malloc'd. */
int mb_efi_load_option_build(const mb_efi_load_option *o, uint8_t **ret, size_t *ret_size,
                             mb_error *err);

/* ---- Boot#### and BootOrder ---- */

typedef struct mb_efi_boot_entry {
        uint16_t number;
        mb_efi_load_option option;
} mb_efi_boot_entry;

/* The Boot#### variables (EFI global namespace, four upper-case hex digits),
 * sorted by number. A load option that cannot be parsed is MB_ECORRUPT
 * naming the file and the variable. */
int mb_efivars_boot_entries(const mb_efivars *v, mb_efi_boot_entry **ret, uint32_t *ret_n,
                            mb_error *err);
/* BootOrder (empty when absent). *ret is malloc'd. */
int mb_efivars_boot_order(const mb_efivars *v, uint16_t **ret, uint32_t *ret_n, mb_error *err);
int mb_efivars_set_boot_entry(mb_efivars *v, uint16_t number, const mb_efi_load_option *o,
                              mb_error *err);
int mb_efivars_delete_boot_entry(mb_efivars *v, uint16_t number, mb_error *err);
int mb_efivars_set_boot_order(mb_efivars *v, const uint16_t *order, uint32_t n, mb_error *err);

/* ---- Secure Boot: SecureBoot, PK, db, dbx (siglist.c) ---- */

/* EFI_IMAGE_SECURITY_DATABASE_GUID d719b2cb-3d3a-4596-a3bc-dad00e67656f:
 * the vendor of db and dbx. */
extern const mb_guid mb_efi_image_security_database;

typedef enum mb_efi_sig_type {
        MB_EFI_SIG_OTHER = 0,
        MB_EFI_SIG_SHA256,      /* EFI_CERT_SHA256_GUID: an Authenticode SHA-256 digest */
        MB_EFI_SIG_X509,        /* EFI_CERT_X509_GUID: a DER certificate */
        MB_EFI_SIG_X509_SHA256, /* EFI_CERT_X509_SHA256_GUID: SHA-256 of a certificate's TBS, + revocation time */
} mb_efi_sig_type;

/* One EFI_SIGNATURE_DATA of a signature list; data points into the
 * variable's bytes (SignatureOwner excluded). */
typedef struct mb_efi_signature {
        mb_efi_sig_type type;
        mb_guid type_guid;      /* the list's SignatureType */
        mb_guid owner;
        const uint8_t *data;
        uint32_t size;
} mb_efi_signature;

/* Parses the EFI_SIGNATURE_LIST sequence of a db/dbx/KEK/PK value (UEFI
 * spec, "Signature Database"): every list's header, SignatureListSize and
 * SignatureSize are checked against size; a list that overruns, a
 * SignatureSize below 16 or a list size that is not header + n * size is
 * MB_ECORRUPT naming what (e.g. "dbx"). *ret (malloc'd) is owned by the
 * caller; it points into data. */
int mb_efi_siglist_parse(const char *what, const uint8_t *data, size_t size,
                         mb_efi_signature **ret, uint32_t *ret_n, mb_error *err);
const char *mb_efi_sig_type_to_string(mb_efi_sig_type t);

/* Whether the firmware will run with Secure Boot on, from a store at rest
 * (the SecureBoot variable itself is volatile, set at each boot): PK is
 * enrolled (user mode) and OVMF's SecureBootEnable
 * (f0a30bc7-af08-4556-99c4-001009c93a44) is absent or 1, as EDK2's
 * AuthVariableLib decides it. */
int mb_efivars_secure_boot(const mb_efivars *v, bool *ret, mb_error *err);

#endif
