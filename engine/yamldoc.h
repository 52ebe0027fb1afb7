/* SPDX-License-Identifier: MIT */
#ifndef MB_YAMLDOC_H
#define MB_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "error.h"

/*
 * Loading YAML documents into structs with located errors.
 *
 * libcyaml fills the structs but reports no line numbers, so the document is
 * first parsed into a small tree that keeps every node's position, checked
 * against the same libcyaml schema (keys, types, ranges, enums, counts), and
 * only then handed to libcyaml. Every error names FILE:LINE:COLUMN, what is
 * wrong and what was expected. Aliases are refused (no billion laughs).
 */

#define MB_YAML_MAX_BYTES (1024 * 1024) /* documents larger than 1 MiB are refused */

typedef enum { MB_YNODE_SCALAR, MB_YNODE_MAP, MB_YNODE_SEQ } mb_ynode_type;

typedef struct mb_ynode mb_ynode;
struct mb_ynode {
        mb_ynode_type type;
        char *value;            /* scalars */
        bool plain;             /* unquoted scalar */
        int line, column;       /* 1-based */
        mb_ynode **items;       /* seq: items; map: key, value, key, value ... */
        size_t n_items;
};

typedef struct mb_ydoc {
        char *file;
        mb_ynode *root;
} mb_ydoc;

/* Reads path (size-limited, regular file) into a NUL-terminated buffer. */
int mb_yaml_read_file(const char *path, char **ret_buf, size_t *ret_len, mb_error *err);

/*
 * Parses and validates buf against schema (a top-level CYAML_FLAG_POINTER
 * mapping) and loads it with libcyaml. name is used in messages. On success
 * *ret_data is owned by the caller (free with mb_yaml_free_data) and, if
 * ret_doc is not NULL, the located tree is returned for semantic checks.
 */
int mb_yaml_load(const char *name, const char *buf, size_t len,
                 const cyaml_schema_value_t *schema, void **ret_data, mb_ydoc **ret_doc,
                 mb_error *err);
int mb_yaml_load_file(const char *path, const cyaml_schema_value_t *schema, void **ret_data,
                      mb_ydoc **ret_doc, mb_error *err);
void mb_yaml_free_data(const cyaml_schema_value_t *schema, void *data);
void mb_ydoc_free(mb_ydoc *doc);

/* Tree lookups for semantic checks (NULL-safe). */
mb_ynode *mb_ynode_get(const mb_ynode *map, const char *key);
mb_ynode *mb_ynode_at(const mb_ynode *seq, size_t i);
/* A located error at node (or at the document start when node is NULL). */
int mb_ydoc_error(const mb_ydoc *doc, const mb_ynode *node, mb_error *err, const char *fmt, ...)
        MB_PRINTF(4, 5);

/* Emits data described by schema as YAML (libyaml's emitter) or JSON. */
int mb_yaml_save(const cyaml_schema_value_t *schema, const void *data, bool json,
                 char **ret_text, size_t *ret_len, mb_error *err);

/* Appends s to a JSON string literal (with quotes) in a growing buffer. */
typedef struct mb_buf {
        char *data;
        size_t len, cap;
        bool failed;
} mb_buf;
void mb_buf_printf(mb_buf *b, const char *fmt, ...) MB_PRINTF(2, 3);
void mb_buf_put(mb_buf *b, const char *s, size_t n);
void mb_buf_json_string(mb_buf *b, const char *s);
void mb_buf_free(mb_buf *b);

#endif
