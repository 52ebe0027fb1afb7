/* SPDX-License-Identifier: MIT */
/* libcyaml schema of site.yaml, version 1 (DESIGN.md §2). */
#include "config.h"

static const cyaml_strval_t role_strings[] = {
        { "efi", MB_ROLE_EFI },
        { "msr", MB_ROLE_MSR },
        { "os", MB_ROLE_OS },
        { "recovery", MB_ROLE_RECOVERY },
};

static const cyaml_strval_t init_strings[] = {
        { "never", MB_INIT_NEVER },
        { "if-blank", MB_INIT_IF_BLANK },
};

static const cyaml_strval_t entry_type_strings[] = {
        { "boot-manager", MB_ENTRY_BOOT_MANAGER },
        { "os-loader", MB_ENTRY_OS_LOADER },
};

static const cyaml_strval_t mirror_boot_strings[] = {
        { "none", MB_MIRROR_BOOT_NONE },
        { "each-disk", MB_MIRROR_BOOT_EACH_DISK },
};

static const cyaml_strval_t position_strings[] = {
        { "first", MB_POS_FIRST },
        { "last", MB_POS_LAST },
        { "absent", MB_POS_ABSENT },
};

static const cyaml_schema_value_t string_entry = {
        CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, 64),
};

static const cyaml_schema_value_t role_entry = {
        CYAML_VALUE_ENUM(CYAML_FLAG_STRICT, mb_role, role_strings, CYAML_ARRAY_LEN(role_strings)),
};

static const cyaml_schema_field_t match_fields[] = {
        CYAML_FIELD_UINT_PTR("number", CYAML_FLAG_OPTIONAL, mb_site_match, number),     /* number: 1 */
        CYAML_FIELD_STRING_PTR("serial", CYAML_FLAG_OPTIONAL, mb_site_match, serial, 1, 128),
        CYAML_FIELD_STRING_PTR("unique_id", CYAML_FLAG_OPTIONAL, mb_site_match, unique_id, 1, 256),
        CYAML_FIELD_STRING_PTR("location", CYAML_FLAG_OPTIONAL, mb_site_match, location, 1, 256),
        CYAML_FIELD_BOOL_PTR("system", CYAML_FLAG_OPTIONAL, mb_site_match, system),    /* system: true */
        CYAML_FIELD_BOOL_PTR("blank", CYAML_FLAG_OPTIONAL, mb_site_match, blank),      /* blank: true */
        CYAML_FIELD_STRING_PTR("min_size", CYAML_FLAG_OPTIONAL, mb_site_match, min_size, 1, 32),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t disk_fields[] = {
        CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, mb_site_disk, name, 1, 64),
        CYAML_FIELD_MAPPING_PTR("match", CYAML_FLAG_POINTER, mb_site_disk, match, match_fields),
        CYAML_FIELD_ENUM("initialize", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, mb_site_disk,
                         initialize, init_strings, CYAML_ARRAY_LEN(init_strings)),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t disk_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_site_disk, disk_fields),
};

static const cyaml_schema_field_t layout_fields[] = {
        CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, mb_site_layout, role, role_strings,
                         CYAML_ARRAY_LEN(role_strings)),
        CYAML_FIELD_STRING_PTR("size", CYAML_FLAG_POINTER, mb_site_layout, size, 1, 32),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t layout_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_site_layout, layout_fields),
};

static const cyaml_schema_field_t partitions_fields[] = {
        CYAML_FIELD_SEQUENCE_COUNT("disks", CYAML_FLAG_POINTER, mb_site_partitions, disks, n_disks, &string_entry, 1, 16),
        CYAML_FIELD_STRING_PTR("template", CYAML_FLAG_OPTIONAL, mb_site_partitions,
                               template_disk, 1, 64),
        CYAML_FIELD_SEQUENCE_COUNT("roles", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, mb_site_partitions, roles, n_roles, &role_entry, 1, 8),
        CYAML_FIELD_SEQUENCE_COUNT("layout", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, mb_site_partitions, layout, n_layout, &layout_entry, 1, 8),
        CYAML_FIELD_END
};

static const cyaml_schema_field_t mirror_fields[] = {
        CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, mb_site_mirror, role, role_strings,
                         CYAML_ARRAY_LEN(role_strings)),
        CYAML_FIELD_SEQUENCE_COUNT("disks", CYAML_FLAG_POINTER, mb_site_mirror, disks, n_disks, &string_entry, 2, 2),
        CYAML_FIELD_ENUM("boot", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, mb_site_mirror, boot,
                         mirror_boot_strings, CYAML_ARRAY_LEN(mirror_boot_strings)),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t mirror_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_site_mirror, mirror_fields),
};

static const cyaml_schema_field_t clone_fields[] = {
        CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, mb_site_clone, role, role_strings,
                         CYAML_ARRAY_LEN(role_strings)),
        CYAML_FIELD_STRING_PTR("from", CYAML_FLAG_POINTER, mb_site_clone, from, 1, 64),
        CYAML_FIELD_SEQUENCE_COUNT("to", CYAML_FLAG_POINTER, mb_site_clone, to, n_to, &string_entry, 1, 16),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t clone_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_site_clone, clone_fields),
};

static const cyaml_schema_field_t boot_entry_fields[] = {
        CYAML_FIELD_STRING_PTR("description", CYAML_FLAG_POINTER, mb_site_boot_entry,
                               description, 1, 120),
        CYAML_FIELD_ENUM("type", CYAML_FLAG_STRICT, mb_site_boot_entry, type,
                         entry_type_strings, CYAML_ARRAY_LEN(entry_type_strings)),
        CYAML_FIELD_STRING_PTR("esp", CYAML_FLAG_OPTIONAL, mb_site_boot_entry, esp, 1, 64),
        CYAML_FIELD_ENUM_PTR("firmware", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT,
                             mb_site_boot_entry, firmware, position_strings,
                             CYAML_ARRAY_LEN(position_strings)),
        CYAML_FIELD_STRING_PTR("plex", CYAML_FLAG_OPTIONAL, mb_site_boot_entry, plex, 1, 64),
        CYAML_FIELD_END
};

static const cyaml_schema_value_t boot_entry_entry = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, mb_site_boot_entry, boot_entry_fields),
};

static const cyaml_schema_field_t site_fields[] = {
        CYAML_FIELD_UINT_PTR("version", CYAML_FLAG_DEFAULT, mb_site, version),
        CYAML_FIELD_SEQUENCE_COUNT("disks", CYAML_FLAG_POINTER, mb_site, disks, n_disks, &disk_entry, 1, 16),
        CYAML_FIELD_MAPPING_PTR("partitions", CYAML_FLAG_OPTIONAL, mb_site, partitions,
                                partitions_fields),
        CYAML_FIELD_SEQUENCE_COUNT("mirrors", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, mb_site, mirrors, n_mirrors, &mirror_entry, 0, 8),
        CYAML_FIELD_SEQUENCE_COUNT("clones", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, mb_site, clones, n_clones, &clone_entry, 0, 16),
        CYAML_FIELD_SEQUENCE_COUNT("boot_entries", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, mb_site, boot_entries, n_boot_entries, &boot_entry_entry, 0, 16),
        CYAML_FIELD_END
};

const cyaml_schema_value_t mb_site_schema = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, mb_site, site_fields),
};
