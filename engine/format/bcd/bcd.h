/* SPDX-License-Identifier: MIT */
#ifndef MB_BCD_H
#define MB_BCD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "guid.h"

/*
 * Boot Configuration Data stores. A store is a registry hive file:
 *
 *   <root>\Description\KeyName                 REG_SZ "BCD00000001"
 *   <root>\Objects\{GUID}\Description\Type     REG_DWORD object type
 *   <root>\Objects\{GUID}\Elements\XXXXXXXX\Element
 *
 * XXXXXXXX is the element type in 8 lower-case hex digits; its format nibble
 * (bits 24-27) says how Element is stored: 1 device (REG_BINARY, see
 * bcd_device.c), 2 string (REG_SZ), 3 object (REG_SZ "{guid}"), 4 object list
 * (REG_MULTI_SZ of "{guid}"), 5 integer (REG_BINARY, 8 bytes LE), 6 boolean
 * (REG_BINARY, 1 byte), 7 integer list (REG_BINARY, n * 8 bytes LE).
 *
 * Stores are edited in memory through libhivex and written back by
 * mb_bcd_commit(); mb_bcd_create() writes a new empty hive with our own code
 * because hivex cannot create one.
 */

typedef struct mb_bcd mb_bcd;

/* Registry value types, as both Win32 (winnt.h) and libhivex number them. */
#define MB_REG_SZ          1u
#define MB_REG_EXPAND_SZ   2u
#define MB_REG_BINARY      3u
#define MB_REG_DWORD       4u
#define MB_REG_MULTI_SZ    7u

/* Object types (Description\Type). */
#define MB_BCD_TYPE_FWBOOTMGR           0x10100001u
#define MB_BCD_TYPE_BOOTMGR             0x10100002u
#define MB_BCD_TYPE_OSLOADER            0x10200003u
#define MB_BCD_TYPE_RESUME              0x10200004u
#define MB_BCD_TYPE_MEMDIAG             0x10200005u
#define MB_BCD_TYPE_NTLDR               0x10300006u
#define MB_BCD_TYPE_SETUPLDR            0x10300007u
#define MB_BCD_TYPE_BOOTSECTOR          0x10300008u
#define MB_BCD_TYPE_STARTUP             0x10400009u
#define MB_BCD_TYPE_BOOTAPP             0x1040000au
#define MB_BCD_TYPE_INHERIT_ANY         0x20100000u /* {globalsettings}, {dbgsettings}, ... */
#define MB_BCD_TYPE_INHERIT_OSLOADER    0x20200003u /* {bootloadersettings}, {hypervisorsettings} */
#define MB_BCD_TYPE_INHERIT_RESUME      0x20200004u /* {resumeloadersettings} */
#define MB_BCD_TYPE_DEVICE              0x30000000u /* ramdisk options */

/* Element types used by this module (the same number can mean different
 * things in different application classes: 0x23000003 is "default" in the
 * boot manager and "resumeobject" in an OS loader). */
#define MB_BCDE_DEVICE                  0x11000001u /* BcdLibraryDevice_ApplicationDevice */
#define MB_BCDE_PATH                    0x12000002u /* BcdLibraryString_ApplicationPath */
#define MB_BCDE_DESCRIPTION             0x12000004u /* BcdLibraryString_Description */
#define MB_BCDE_LOCALE                  0x12000005u /* BcdLibraryString_PreferredLocale */
#define MB_BCDE_INHERIT                 0x14000006u /* BcdLibraryObjectList_InheritedObjects */
#define MB_BCDE_RECOVERYSEQUENCE        0x14000008u /* BcdLibraryObjectList_RecoverySequence */
#define MB_BCDE_RECOVERYENABLED         0x16000009u /* BcdLibraryBoolean_AutoRecoveryEnabled */
#define MB_BCDE_BADMEMORYACCESS         0x1600000bu
#define MB_BCDE_ISOLATEDCONTEXT         0x16000060u
#define MB_BCDE_DISPLAYMESSAGEOVERRIDE  0x15000066u
#define MB_BCDE_BOOTSHUTDOWNDISABLED    0x16000074u
#define MB_BCDE_ALLOWEDINMEMORYSETTINGS 0x17000077u
#define MB_BCDE_BOOTMGR_DISPLAYORDER    0x24000001u /* BcdBootMgrObjectList_DisplayOrder */
#define MB_BCDE_BOOTMGR_DEFAULT         0x23000003u /* BcdBootMgrObject_DefaultObject */
#define MB_BCDE_BOOTMGR_TIMEOUT         0x25000004u
#define MB_BCDE_BOOTMGR_RESUMEOBJECT    0x23000006u
#define MB_BCDE_BOOTMGR_TOOLSDISPLAYORDER 0x24000010u
#define MB_BCDE_OSLOADER_OSDEVICE       0x21000001u /* BcdOSLoaderDevice_OSDevice */
#define MB_BCDE_OSLOADER_SYSTEMROOT     0x22000002u
#define MB_BCDE_OSLOADER_RESUMEOBJECT   0x23000003u /* BcdOSLoaderObject_AssociatedResumeObject */
#define MB_BCDE_OSLOADER_NX             0x25000020u /* 0 OptIn, 1 OptOut, 2 AlwaysOff, 3 AlwaysOn */
#define MB_BCDE_OSLOADER_WINPE          0x26000022u
#define MB_BCDE_OSLOADER_BOOTMENUPOLICY 0x250000c2u /* 0 Legacy, 1 Standard */
#define MB_BCDE_RESUME_FILEDEVICE       0x21000001u
#define MB_BCDE_RESUME_FILEPATH         0x22000002u
#define MB_BCDE_RAMDISK_SDIDEVICE       0x31000003u
#define MB_BCDE_RAMDISK_SDIPATH         0x32000004u

/* Element format: (type >> 24) & 0xf. */
enum {
        MB_BCD_FMT_DEVICE = 1, MB_BCD_FMT_STRING = 2, MB_BCD_FMT_OBJECT = 3,
        MB_BCD_FMT_OBJECTLIST = 4, MB_BCD_FMT_INTEGER = 5, MB_BCD_FMT_BOOLEAN = 6,
        MB_BCD_FMT_INTEGERLIST = 7,
};

typedef enum {
        MB_BCD_DEV_NONE,        /* element absent */
        MB_BCD_DEV_PARTITION,   /* partition=X: on a GPT disk, or on an MBR disk (mbr set) */
        MB_BCD_DEV_BOOT,        /* boot */
        MB_BCD_DEV_RAMDISK,     /* ramdisk=[partition]\path,{options} (GPT parent) */
        MB_BCD_DEV_OTHER,       /* locate, MBR partition, ...: raw bytes only */
} mb_bcd_dev_kind;

typedef struct mb_bcd_device {
        mb_bcd_dev_kind kind;
        mb_guid partition_guid; /* PARTITION, RAMDISK: GPT partition unique GUID */
        mb_guid disk_guid;      /* PARTITION, RAMDISK: GPT disk GUID */
        int mbr;                /* PARTITION: an MBR disk, named by signature and offset */
        uint32_t mbr_signature; /* PARTITION with mbr: the disk signature (MBR offset 0x1b8) */
        uint64_t mbr_offset;    /* PARTITION with mbr: the partition's first byte on the disk */
        mb_guid options_id;     /* RAMDISK: the device-options object ({ramdiskoptions}-like) */
        char ramdisk_path[260]; /* RAMDISK: "\Recovery\WindowsRE\Winre.wim" (UTF-8) */
        uint8_t *raw;           /* the element bytes as stored (decoded devices too); owned */
        size_t raw_len;
} mb_bcd_device;

/* One element as stored: reg_type is the hivex/registry value type. */
typedef struct mb_bcd_element {
        uint32_t type;
        uint32_t reg_type;
        uint8_t *data;
        size_t len;
} mb_bcd_element;

typedef struct mb_bcd_object {
        mb_guid id;
        char alias[32];         /* "{bootmgr}", "{memdiag}", ... or "" */
        uint32_t type;          /* Description\Type */
        char *description;      /* 0x12000004, or NULL */
        mb_bcd_device device;   /* 0x11000001 */
        mb_bcd_device osdevice; /* 0x21000001 (OS loaders: osdevice; resume: filedevice) */
        char *path;             /* 0x12000002, or NULL */
        char *systemroot;       /* 0x22000002 of an OS loader, or NULL */
        mb_guid *displayorder;  /* 0x24000001 of a boot manager */
        size_t n_displayorder;
        mb_guid default_obj;    /* 0x23000003 of a boot manager */
        int has_default;
        mb_guid resume_obj;     /* 0x23000006 of a boot manager, 0x23000003 of an OS loader */
        int has_resume;
        mb_guid recovery_seq;   /* first entry of 0x14000008 */
        int has_recovery_seq;
        mb_bcd_element *elements; /* every element, in store order */
        size_t n_elements;
} mb_bcd_object;

/* Writes a new empty store at path (fails if it exists): the hive bytes are
 * ours, with the keys and values Windows puts in a new store. */
int mb_bcd_create(const char *path, mb_error *err);

/* Opens a store file. Checks the regf base block and hive bins before hivex
 * sees them, then that the hive has the BCD keys; anything wrong is
 * MB_ECORRUPT naming the file. writable allows edits and mb_bcd_commit(). */
int mb_bcd_open(const char *path, int writable, mb_bcd **ret, mb_error *err);
void mb_bcd_close(mb_bcd *b);

/* Writes the edited hive back to the path it was opened from: to a temporary
 * file in the same directory, fsync, rename over the original. */
int mb_bcd_commit(mb_bcd *b, mb_error *err);

/* All objects of the store with their decoded well-known elements and every
 * raw element. Free with mb_bcd_objects_free(). */
int mb_bcd_list(mb_bcd *b, mb_bcd_object **ret_objs, size_t *ret_n, mb_error *err);
void mb_bcd_objects_free(mb_bcd_object *objs, size_t n);
/* One object by id; MB_ENOENT if absent. Free with mb_bcd_objects_free(o, 1). */
int mb_bcd_get(mb_bcd *b, const mb_guid *id, mb_bcd_object **ret_obj, mb_error *err);

/* New object with Description\Type and, if description is not NULL, the
 * description element. MB_EINVAL if the id exists. */
int mb_bcd_create_object(mb_bcd *b, const mb_guid *id, uint32_t type, const char *description,
                         mb_error *err);
/* Like bcdedit /copy: a new object with the same type and all elements of
 * src; its description becomes new_description when that is not NULL. */
int mb_bcd_copy_object(mb_bcd *b, const mb_guid *src, const mb_guid *new_id,
                       const char *new_description, mb_error *err);
/* Removes the object key and everything under it (references to it in other
 * objects are left alone, as bcdedit /delete /cleanup=no). */
int mb_bcd_delete_object(mb_bcd *b, const mb_guid *id, mb_error *err);

/* Element setters. Each checks that the element's format nibble fits the
 * setter (MB_EINVAL otherwise) and replaces any existing value. */
int mb_bcd_set_device(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_bcd_device *dev,
                      mb_error *err);
int mb_bcd_set_string(mb_bcd *b, const mb_guid *id, uint32_t element, const char *value,
                      mb_error *err);
int mb_bcd_set_integer(mb_bcd *b, const mb_guid *id, uint32_t element, uint64_t value,
                       mb_error *err);
int mb_bcd_set_integer_list(mb_bcd *b, const mb_guid *id, uint32_t element,
                            const uint64_t *values, size_t n, mb_error *err);
int mb_bcd_set_boolean(mb_bcd *b, const mb_guid *id, uint32_t element, int value,
                       mb_error *err);
int mb_bcd_set_object_list(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_guid *ids,
                           size_t n, mb_error *err);
int mb_bcd_set_object(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_guid *value,
                      mb_error *err);
/* Removes an element; MB_ENOENT if the object or element is absent. */
int mb_bcd_delete_element(mb_bcd *b, const mb_guid *id, uint32_t element, mb_error *err);

/* Encodes dev (PARTITION, BOOT, RAMDISK; OTHER copies dev->raw) into the
 * element byte form; *ret is malloc'd. */
int mb_bcd_device_encode(const mb_bcd_device *dev, uint8_t **ret, size_t *ret_len,
                         mb_error *err);
/* Decodes element bytes into *ret (which owns a copy of the bytes in raw).
 * Unknown or short layouts become MB_BCD_DEV_OTHER, never an error; only
 * out-of-memory fails. */
int mb_bcd_device_decode(const uint8_t *data, size_t len, mb_bcd_device *ret, mb_error *err);
void mb_bcd_device_clear(mb_bcd_device *dev);
/* Points a decoded device (as mb_bcd_device_decode left it, raw set) at
 * the GPT partition part of disk: a partition device on a GPT disk, or the
 * partition holding a ramdisk's image (its path and options object kept).
 * The two GUIDs are patched in dev->raw and in the fields; every other
 * stored byte stays, so writing back dev->raw (an MB_BCD_DEV_OTHER device
 * carrying those bytes) changes nothing else of the element. MB_EINVAL for
 * any other device (boot, MBR, locate, ...), dev unchanged. */
int mb_bcd_device_retarget(mb_bcd_device *dev, const mb_guid *part, const mb_guid *disk,
                           mb_error *err);

/*
 * Building objects from any reader of a store (libhivex here, the Win32
 * registry functions on Windows), so every target decodes elements with the
 * same code. mb_bcd_object_begin() starts *o (zeroed first) from the key
 * name under Objects ("{guid}") and Description\Type; then each element is
 * added with its key name under Elements ("12000004"), the registry value
 * type of its Element value and its bytes (copied). Bad key names are
 * MB_ECORRUPT naming store. Free with mb_bcd_objects_free().
 */
int mb_bcd_object_begin(mb_bcd_object *o, const char *key_name, uint32_t type,
                        const char *store, mb_error *err);
int mb_bcd_object_add_element(mb_bcd_object *o, const char *key_name, uint32_t reg_type,
                              const void *data, size_t len, const char *store, mb_error *err);

/* The facts of a store's objects: ids by alias where well-known, types by
 * name, devices as partition and disk GUIDs as stored (an MBR partition as
 * kind "mbr-partition", disk = signature in hex, partition = byte offset).
 * store says where it was read. Free with mb_bcd_fact_free(). */
int mb_bcd_objects_to_fact(const mb_bcd_object *objs, size_t n, const char *store,
                           mb_bcd_fact **ret, mb_error *err);

/* SHA-256 of the objects as data: objects ordered by GUID, elements by type,
 * each element's registry type and bytes. Two stores with the same objects
 * and elements have the same digest whatever their hive bytes (the live
 * store and its `bcdedit /export` copy, a store rewritten by libhivex).
 * *ret_size is the number of bytes hashed. */
int mb_bcd_objects_digest(const mb_bcd_object *objs, size_t n, uint64_t *ret_size,
                          char ret_hex[65], mb_error *err);

/* Well-known object GUID -> "{bootmgr}" etc., or NULL. */
const char *mb_bcd_alias(const mb_guid *id);
/* "{bootmgr}" etc. -> GUID; -1 if unknown. */
int mb_bcd_alias_guid(const char *alias, mb_guid *ret);
/* Object type -> "boot-manager", "os-loader", ...; NULL if unknown. */
const char *mb_bcd_type_name(uint32_t type);

/* Fixed identifiers used by mb_bcd_build_windows_store() when the caller
 * passes none (values from a Windows Server 2022 install). */
#define MB_BCD_SEED_RESUME_GUID   "063973bf-d0ac-11ed-b884-cfa59b967f58"
#define MB_BCD_SEED_LOADER_GUID   "063973c0-d0ac-11ed-b884-cfa59b967f58"
#define MB_BCD_SEED_WINRE_GUID    "063973c1-d0ac-11ed-b884-cfa59b967f58"
#define MB_BCD_SEED_RAMDISK_GUID  "063973c2-d0ac-11ed-b884-cfa59b967f58"

/* Creates at path a store like a fresh UEFI Windows Server 2022 install:
 * {fwbootmgr}, {bootmgr} on the ESP, the "Windows Server" loader and its
 * resume object on the OS partition, the Windows RE loader (ramdisk
 * \Recovery\WindowsRE\Winre.wim on recovery_part_guid, or on the OS
 * partition when that is NULL) with its ramdisk options, {memdiag} and the
 * settings objects they inherit from. The recovery partition is taken to be
 * on the OS disk. Loader/resume/WinRE/ramdisk GUIDs are
 * the MB_BCD_SEED_* values. Fails if path exists. */
int mb_bcd_build_windows_store(const char *path, const mb_guid *esp_disk_guid,
                               const mb_guid *esp_part_guid, const mb_guid *os_disk_guid,
                               const mb_guid *os_part_guid, const mb_guid *recovery_part_guid,
                               mb_error *err);

#endif
