/* SPDX-License-Identifier: MIT */
#ifndef MB_CONFIG_H
#define MB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "yamldoc.h"

/*
 * site.yaml, schema version 1 (DESIGN.md §2). The mb_site_* structs are what
 * libcyaml fills (schemas/site_schema.c); mb_config adds what the semantic
 * checks derive (sizes in bytes, disk indices). One owner: mb_config_free.
 */

typedef enum mb_init_policy { MB_INIT_NEVER = 0, MB_INIT_IF_BLANK } mb_init_policy;
typedef enum mb_entry_type { MB_ENTRY_BOOT_MANAGER = 0, MB_ENTRY_OS_LOADER } mb_entry_type;

typedef struct mb_site_match {
        uint32_t *number;
        char *serial;
        char *unique_id;
        char *location;
        bool *system;
        bool *blank;
        char *min_size;
} mb_site_match;

typedef struct mb_site_disk {
        char *name;
        mb_site_match *match;
        mb_init_policy initialize;
} mb_site_disk;

typedef struct mb_site_layout {
        mb_role role;
        char *size;             /* "100MiB", "fill" */
} mb_site_layout;

typedef struct mb_site_partitions {
        char **disks;
        uint32_t n_disks;
        char *template_disk;
        mb_role *roles;
        uint32_t n_roles;
        mb_site_layout *layout;
        uint32_t n_layout;
} mb_site_partitions;

/* mirrors: boot: -- what the mirror's disks boot */
typedef enum mb_mirror_boot {
        MB_MIRROR_BOOT_NONE = 0,        /* nothing beyond boot_entries (the default) */
        MB_MIRROR_BOOT_EACH_DISK,       /* each disk of an os mirror boots on its own: its own
                                         * firmware entry, and its ESP's BCD boots its plex first */
} mb_mirror_boot;

typedef struct mb_site_mirror {
        mb_role role;
        char **disks;
        uint32_t n_disks;
        mb_mirror_boot boot;
} mb_site_mirror;

/* clones: from: booted -- the disk whose ESP the machine booted from */
#define MB_CLONE_FROM_BOOTED "booted"

typedef struct mb_site_clone {
        mb_role role;
        char *from;             /* a declared disk, or MB_CLONE_FROM_BOOTED */
        char **to;
        uint32_t n_to;
} mb_site_clone;

typedef struct mb_site_boot_entry {
        char *description;
        mb_entry_type type;
        char *esp;              /* boot-manager: the disk whose ESP it boots */
        mb_position *firmware;  /* boot-manager: place in the firmware order (default last) */
        char *plex;             /* os-loader: the disk whose plex it boots */
} mb_site_boot_entry;

typedef struct mb_site {
        uint32_t *version;
        mb_site_disk *disks;
        uint32_t n_disks;
        mb_site_partitions *partitions;
        mb_site_mirror *mirrors;
        uint32_t n_mirrors;
        mb_site_clone *clones;
        uint32_t n_clones;
        mb_site_boot_entry *boot_entries;
        uint32_t n_boot_entries;
} mb_site;

#define MB_SIZE_FILL UINT64_MAX

/* A partition the site wants on every partitioned disk, in disk order. */
typedef struct mb_layout_entry {
        mb_role role;
        uint64_t size;          /* bytes, or MB_SIZE_FILL */
} mb_layout_entry;

typedef struct mb_config {
        char *path;
        mb_site *site;
        mb_ydoc *doc;           /* located tree, for messages after loading */
        int template_index;     /* index into site->disks, -1 with an explicit layout */
        int *part_disks;        /* indices into site->disks */
        uint32_t n_part_disks;
        mb_layout_entry *layout;  /* explicit layout, parsed */
        uint32_t n_layout;
        uint64_t *min_size;     /* per disk, 0 = none */
} mb_config;

/* Loads and checks site.yaml; every error is FILE:LINE:COLUMN located. */
int mb_config_load(const char *path, mb_config **ret, mb_error *err);
/* The same for a document in memory; name is used in messages (fuzzing, tests). */
int mb_config_load_buffer(const char *name, const char *buf, size_t len, mb_config **ret,
                          mb_error *err);
void mb_config_free(mb_config *c);

/* Index of a declared disk by name, or -1. */
int mb_config_disk_index(const mb_config *c, const char *name);
/* Is role one of the partitions' roles? */
bool mb_config_has_role(const mb_config *c, mb_role r);
/* Is the declared disk with index disk one of partitions.disks? */
bool mb_config_in_partition_disks(const mb_config *c, int disk);
/* For the resources' config checks: each of the n names (the YAML sequence
 * list, for messages) is a declared disk, each once; what names the list
 * ("mirror disks"). 0, or MB_EINVAL with a FILE:LINE:COLUMN message. */
int mb_config_check_names(const mb_config *c, const mb_ynode *list, char *const *names, uint32_t n,
                          const char *what, mb_error *err);

/* Parses "100MiB", "1 GiB", "512B", "4096" (bytes), "fill"; 0 or -1. */
int mb_parse_size(const char *s, uint64_t *ret, bool allow_fill, const char **ret_why);
/* Formats bytes as "100 MiB" / "31.4 GiB" for people. */
char *mb_format_size(uint64_t bytes, char *buf, size_t len);

extern const cyaml_schema_value_t mb_site_schema;

#endif
