/* SPDX-License-Identifier: MIT */
/* libcyaml schema of a facts document (`mbstate facts`), version 1 (DESIGN.md §3). */
#include "facts.h"
#include "yamldoc.h"

#define SEQ(key, flags, st, member, entry, min, max) \
        CYAML_FIELD_SEQUENCE_COUNT(key, (flags) | CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, st, \
                                   member, n_##member, entry, min, max)
#define STR(key, st, member) \
        CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_OPTIONAL, st, member, 0, 4096)

static const cyaml_strval_t role_strings[] = {
        { "none", MB_ROLE_NONE },          { "efi", MB_ROLE_EFI },
        { "msr", MB_ROLE_MSR },            { "os", MB_ROLE_OS },
        { "recovery", MB_ROLE_RECOVERY },  { "ldm-metadata", MB_ROLE_LDM_METADATA },
        { "ldm-data", MB_ROLE_LDM_DATA },
};
static const cyaml_strval_t fs_strings[] = {
        { "none", MB_FS_NONE }, { "fat32", MB_FS_FAT32 }, { "ntfs", MB_FS_NTFS }, { "other", MB_FS_OTHER },
};
static const cyaml_strval_t style_strings[] = {
        { "raw", MB_STYLE_RAW }, { "mbr", MB_STYLE_MBR }, { "gpt", MB_STYLE_GPT },
};
static const cyaml_strval_t plex_strings[] = {
        { "healthy", MB_PLEX_HEALTHY }, { "resyncing", MB_PLEX_RESYNCING },
        { "failed", MB_PLEX_FAILED },   { "missing", MB_PLEX_MISSING },
};

static const cyaml_schema_field_t cert_fields[] = {
        STR("subject", mb_cert_fact, subject),
        STR("issuer", mb_cert_fact, issuer),
        STR("sha256", mb_cert_fact, sha256),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t cert_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_cert_fact, cert_fields),
};

static const cyaml_schema_field_t signature_fields[] = {
        STR("subject", mb_signature_fact, subject),
        STR("issuer", mb_signature_fact, issuer),
        STR("sha256", mb_signature_fact, sha256),
        STR("signed_digest", mb_signature_fact, signed_digest),
        SEQ("certificates", 0, mb_signature_fact, certificates, &cert_entry, 0, 64),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t signature_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_signature_fact, signature_fields),
};

static const cyaml_schema_field_t image_fields[] = {
        STR("machine", mb_image_fact, machine),
        STR("version", mb_image_fact, version),
        STR("authenticode_sha256", mb_image_fact, authenticode_sha256),
        SEQ("signatures", 0, mb_image_fact, signatures, &signature_entry, 0, 64),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t file_fields[] = {
        CYAML_FIELD_STRING_PTR("path", CYAML_FLAG_POINTER, mb_file_fact, path, 1, 4096),
        CYAML_FIELD_UINT("size", CYAML_FLAG_DEFAULT, mb_file_fact, size),
        CYAML_FIELD_STRING_PTR("sha256", CYAML_FLAG_POINTER, mb_file_fact, sha256, 64, 64),
        CYAML_FIELD_MAPPING_PTR("image", CYAML_FLAG_OPTIONAL, mb_file_fact, image, image_fields),
        CYAML_FIELD_UINT("attributes", CYAML_FLAG_OPTIONAL, mb_file_fact, attributes),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t file_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_file_fact, file_fields),
};

static const cyaml_schema_field_t device_fields[] = {
        STR("kind", mb_bcd_device_fact, kind),
        STR("partition", mb_bcd_device_fact, partition),
        STR("disk", mb_bcd_device_fact, disk),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t path_check_fields[] = {
        STR("volume", mb_bcd_path_fact, volume),
        CYAML_FIELD_BOOL("exists", CYAML_FLAG_DEFAULT, mb_bcd_path_fact, exists),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t id_entry = {
        CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, 64),
};

static const cyaml_schema_field_t object_fields[] = {
        CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, mb_bcd_object_fact, id, 1, 64),
        STR("type", mb_bcd_object_fact, type),
        STR("description", mb_bcd_object_fact, description),
        CYAML_FIELD_MAPPING_PTR("device", CYAML_FLAG_OPTIONAL, mb_bcd_object_fact, device,
                                device_fields),
        CYAML_FIELD_MAPPING_PTR("osdevice", CYAML_FLAG_OPTIONAL, mb_bcd_object_fact, osdevice,
                                device_fields),
        STR("path", mb_bcd_object_fact, path),
        CYAML_FIELD_MAPPING_PTR("path_check", CYAML_FLAG_OPTIONAL, mb_bcd_object_fact, path_check,
                                path_check_fields),
        SEQ("displayorder", 0, mb_bcd_object_fact, displayorder, &id_entry, 0, 256),
        STR("default", mb_bcd_object_fact, default_id),
        STR("recoverysequence", mb_bcd_object_fact, recovery),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t object_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_bcd_object_fact, object_fields),
};

static const cyaml_schema_field_t bcd_fields[] = {
        STR("store", mb_bcd_fact, store),
        SEQ("objects", 0, mb_bcd_fact, objects, &object_entry, 0, 1024),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t part_fields[] = {
        CYAML_FIELD_UINT("number", CYAML_FLAG_DEFAULT, mb_part_fact, number),
        CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, mb_part_fact, role, role_strings,
                         CYAML_ARRAY_LEN(role_strings)),
        STR("type_guid", mb_part_fact, type_guid),
        STR("unique_guid", mb_part_fact, unique_guid),
        /* quoted: an empty name must read back as "", not as null */
        CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_OPTIONAL | CYAML_FLAG_SCALAR_QUOTE_DOUBLE,
                               mb_part_fact, name, 0, 4096),
        CYAML_FIELD_UINT("first_lba", CYAML_FLAG_DEFAULT, mb_part_fact, first_lba),
        CYAML_FIELD_UINT("last_lba", CYAML_FLAG_DEFAULT, mb_part_fact, last_lba),
        CYAML_FIELD_UINT("attributes", CYAML_FLAG_OPTIONAL, mb_part_fact, attributes),
        CYAML_FIELD_ENUM("fs", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, mb_part_fact, fs,
                         fs_strings, CYAML_ARRAY_LEN(fs_strings)),
        STR("label", mb_part_fact, label),
        STR("content_sha256", mb_part_fact, content_sha256),
        SEQ("files", 0, mb_part_fact, files, &file_entry, 0, 100000),
        CYAML_FIELD_MAPPING_PTR("bcd", CYAML_FLAG_OPTIONAL, mb_part_fact, bcd, bcd_fields),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t part_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_part_fact, part_fields),
};

static const cyaml_schema_field_t damage_fields[] = {
        STR("structure", mb_ldm_damage_fact, structure),
        CYAML_FIELD_UINT("sector", CYAML_FLAG_DEFAULT, mb_ldm_damage_fact, sector),
        STR("detail", mb_ldm_damage_fact, detail),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t damage_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_ldm_damage_fact, damage_fields),
};
static const cyaml_schema_field_t boot_fields[] = {
        CYAML_FIELD_BOOL("bootable", CYAML_FLAG_DEFAULT, mb_disk_boot_fact, bootable),
        CYAML_FIELD_BOOL("secure_boot", CYAML_FLAG_OPTIONAL, mb_disk_boot_fact, secure_boot),
        STR("via", mb_disk_boot_fact, via),
        STR("reason", mb_disk_boot_fact, reason),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t disk_fields[] = {
        CYAML_FIELD_UINT("number", CYAML_FLAG_DEFAULT, mb_disk_fact, number),
        STR("path", mb_disk_fact, path),
        STR("serial", mb_disk_fact, serial),
        STR("unique_id", mb_disk_fact, unique_id),
        STR("location", mb_disk_fact, location),
        CYAML_FIELD_UINT("size", CYAML_FLAG_DEFAULT, mb_disk_fact, size),
        CYAML_FIELD_UINT("sector_size", CYAML_FLAG_DEFAULT, mb_disk_fact, sector_size),
        CYAML_FIELD_UINT("physical_sector_size", CYAML_FLAG_OPTIONAL, mb_disk_fact, physical_sector_size),
        CYAML_FIELD_BOOL("online", CYAML_FLAG_DEFAULT, mb_disk_fact, online),
        CYAML_FIELD_BOOL("read_only", CYAML_FLAG_OPTIONAL, mb_disk_fact, read_only),
        CYAML_FIELD_BOOL("system", CYAML_FLAG_OPTIONAL, mb_disk_fact, system),
        CYAML_FIELD_ENUM("style", CYAML_FLAG_STRICT, mb_disk_fact, style, style_strings,
                         CYAML_ARRAY_LEN(style_strings)),
        STR("disk_guid", mb_disk_fact, disk_guid),
        CYAML_FIELD_UINT("first_usable_lba", CYAML_FLAG_OPTIONAL, mb_disk_fact, first_usable_lba),
        CYAML_FIELD_UINT("last_usable_lba", CYAML_FLAG_OPTIONAL, mb_disk_fact, last_usable_lba),
        CYAML_FIELD_BOOL("dynamic", CYAML_FLAG_OPTIONAL, mb_disk_fact, dynamic),
        STR("dynamic_group", mb_disk_fact, dynamic_group),
        STR("dynamic_name", mb_disk_fact, dynamic_name),
        SEQ("ldm_damage", 0, mb_disk_fact, ldm_damage, &damage_entry, 0, 64),
        CYAML_FIELD_MAPPING_PTR("boot", CYAML_FLAG_OPTIONAL, mb_disk_fact, boot, boot_fields),
        STR("gpt_damaged", mb_disk_fact, gpt_damaged),
        SEQ("partitions", 0, mb_disk_fact, partitions, &part_entry, 0, 128),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t disk_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_disk_fact, disk_fields),
};

static const cyaml_schema_field_t plex_fields[] = {
        CYAML_FIELD_INT("disk", CYAML_FLAG_DEFAULT, mb_plex_fact, disk),
        STR("ldm_disk", mb_plex_fact, ldm_disk),
        CYAML_FIELD_UINT("offset", CYAML_FLAG_DEFAULT, mb_plex_fact, offset),
        CYAML_FIELD_UINT("length", CYAML_FLAG_DEFAULT, mb_plex_fact, length),
        CYAML_FIELD_ENUM("state", CYAML_FLAG_STRICT, mb_plex_fact, state, plex_strings,
                         CYAML_ARRAY_LEN(plex_strings)),
        CYAML_FIELD_UINT("percent", CYAML_FLAG_OPTIONAL, mb_plex_fact, percent),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t plex_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_plex_fact, plex_fields),
};

static const cyaml_schema_field_t volume_fields[] = {
        STR("name", mb_volume_fact, name),
        STR("kind", mb_volume_fact, kind),
        CYAML_FIELD_UINT("size", CYAML_FLAG_DEFAULT, mb_volume_fact, size),
        STR("group", mb_volume_fact, group),
        SEQ("plexes", 0, mb_volume_fact, plexes, &plex_entry, 0, 32),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t volume_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_volume_fact, volume_fields),
};

static const cyaml_schema_field_t fw_entry_fields[] = {
        CYAML_FIELD_UINT("number", CYAML_FLAG_DEFAULT, mb_fw_entry_fact, number),
        STR("description", mb_fw_entry_fact, description),
        STR("partition", mb_fw_entry_fact, partition),
        STR("path", mb_fw_entry_fact, path),
        CYAML_FIELD_BOOL("active", CYAML_FLAG_OPTIONAL, mb_fw_entry_fact, active),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t fw_entry_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_fw_entry_fact, fw_entry_fields),
};
static const cyaml_schema_value_t order_entry = {
        CYAML_VALUE_UINT(CYAML_FLAG_DEFAULT, uint32_t),
};

static const cyaml_schema_field_t sig_fields[] = {
        STR("type", mb_sig_fact, type),
        STR("sha256", mb_sig_fact, sha256),
        STR("subject", mb_sig_fact, subject),
        STR("issuer", mb_sig_fact, issuer),
        STR("owner", mb_sig_fact, owner),
        CYAML_FIELD_END
};
static const cyaml_schema_value_t sig_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_sig_fact, sig_fields),
};

static const cyaml_schema_field_t firmware_fields[] = {
        SEQ("entries", 0, mb_firmware_fact, entries, &fw_entry_entry, 0, 1024),
        SEQ("order", 0, mb_firmware_fact, order, &order_entry, 0, 1024),
        CYAML_FIELD_BOOL("secure_boot", CYAML_FLAG_OPTIONAL, mb_firmware_fact, secure_boot),
        SEQ("db", 0, mb_firmware_fact, db, &sig_entry, 0, 4096),
        SEQ("dbx", 0, mb_firmware_fact, dbx, &sig_entry, 0, 4096),
        STR("booted", mb_firmware_fact, booted),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t facts_fields[] = {
        CYAML_FIELD_UINT("version", CYAML_FLAG_DEFAULT, mb_facts, version),
        STR("target", mb_facts, target),
        SEQ("disks", 0, mb_facts, disks, &disk_entry, 0, 64),
        SEQ("volumes", 0, mb_facts, volumes, &volume_entry, 0, 256),
        CYAML_FIELD_MAPPING_PTR("bcd", CYAML_FLAG_OPTIONAL, mb_facts, bcd, bcd_fields),
        CYAML_FIELD_MAPPING_PTR("firmware", CYAML_FLAG_OPTIONAL, mb_facts, firmware,
                                firmware_fields),
        CYAML_FIELD_END
};

const cyaml_schema_value_t mb_facts_schema = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, mb_facts, facts_fields),
};
