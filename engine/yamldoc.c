/* SPDX-License-Identifier: MIT */
/*
 * The YAML layer under config and facts loading: a growable output buffer
 * (mb_buf) with JSON string escaping, bounded file reading (on POSIX also
 * refusing a file others may modify), libcyaml schema loading, and a node
 * tree with line and column for errors, refusing aliases, duplicate keys,
 * tabs and non-UTF-8 input.
 */
#include "yamldoc.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_NODES 100000

/* ---------- growing buffer ---------- */

void mb_buf_put(mb_buf *b, const char *s, size_t n)
{
        if (b->failed)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *d;

                while (cap < b->len + n + 1)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d) {
                        b->failed = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void mb_buf_printf(mb_buf *b, const char *fmt, ...)
{
        char small[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = true;
                return;
        }
        if ((size_t)n < sizeof(small)) {
                mb_buf_put(b, small, (size_t)n);
                return;
        }
        {
                char *big = malloc((size_t)n + 1);

                if (!big) {
                        b->failed = true;
                        return;
                }
                va_start(ap, fmt);
                vsnprintf(big, (size_t)n + 1, fmt, ap);
                va_end(ap);
                mb_buf_put(b, big, (size_t)n);
                free(big);
        }
}

void mb_buf_json_string(mb_buf *b, const char *s)
{
        mb_buf_put(b, "\"", 1);
        for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
                switch (*p) {
                case '"': mb_buf_put(b, "\\\"", 2); break;
                case '\\': mb_buf_put(b, "\\\\", 2); break;
                case '\n': mb_buf_put(b, "\\n", 2); break;
                case '\r': mb_buf_put(b, "\\r", 2); break;
                case '\t': mb_buf_put(b, "\\t", 2); break;
                default:
                        if (*p < 0x20)
                                mb_buf_printf(b, "\\u%04x", *p);
                        else
                                mb_buf_put(b, (const char *)p, 1);
                }
        }
        mb_buf_put(b, "\"", 1);
}

void mb_buf_free(mb_buf *b)
{
        free(b->data);
        memset(b, 0, sizeof(*b));
}

/* ---------- reading ---------- */

int mb_yaml_read_file(const char *path, char **ret_buf, size_t *ret_len, mb_error *err)
{
        struct stat st;
        char *buf;
        size_t len = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return mb_error_at(err, errno == ENOENT ? MB_ENOENT : MB_EIO, path, 0, 0,
                                   "cannot open: %s; expected a readable YAML file",
                                   strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int dir = S_ISDIR(st.st_mode);

                close(fd);
                return mb_error_at(err, MB_EINVAL, path, 0, 0,
                                   "%s; expected a YAML file",
                                   dir ? "is a directory" : "is not a regular file");
        }
        /* Whoever can edit the file can wipe disks (trust.h). */
        if (mb_trust_check(path, fd, MB_TRUST_FILE, err) == MB_EUNSAFE) {
                close(fd);
                return MB_EUNSAFE;
        }
        mb_error_clear(err);
        if (st.st_size > MB_YAML_MAX_BYTES) {
                close(fd);
                return mb_error_at(err, MB_EINVAL, path, 0, 0,
                                   "file is %lld bytes; expected at most %d bytes (1 MiB)",
                                   (long long)st.st_size, MB_YAML_MAX_BYTES);
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return mb_error_set(err, MB_ENOMEM, "out of memory reading %s", path);
        }
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int e = n < 0 ? errno : EIO;

                        free(buf);
                        close(fd);
                        return mb_error_at(err, MB_EIO, path, 0, 0, "cannot read: %s",
                                           strerror(e));
                }
                len += (size_t)n;
        }
        close(fd);
        buf[len] = '\0';
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

/* ---------- tree ---------- */

static void node_free(mb_ynode *n)
{
        if (!n)
                return;
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        free(n->items);
        free(n->value);
        free(n);
}

void mb_ydoc_free(mb_ydoc *doc)
{
        if (!doc)
                return;
        node_free(doc->root);
        free(doc->file);
        free(doc);
}

static int node_add(mb_ynode *parent, mb_ynode *child)
{
        mb_ynode **items = realloc(parent->items, (parent->n_items + 1) * sizeof(*items));

        if (!items)
                return -1;
        parent->items = items;
        items[parent->n_items++] = child;
        return 0;
}

static void offset_to_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
        *line = 1, *col = 1;
        for (size_t i = 0; i < off && i < len; i++) {
                if (buf[i] == '\n')
                        (*line)++, *col = 1;
                else
                        (*col)++;
        }
}

static int parser_error(yaml_parser_t *p, const char *name, const char *buf, size_t len,
                        mb_error *err)
{
        int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
        const char *problem = p->problem ? p->problem : "unknown problem";

        if (p->error == YAML_READER_ERROR) {
                offset_to_pos(buf, len, p->problem_offset, &line, &col);
                return mb_error_at(err, MB_EINVAL, name, line, col,
                                   "invalid text encoding: %s (byte 0x%02x); expected UTF-8",
                                   problem, (unsigned)(p->problem_value & 0xff));
        }
        if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t')
                return mb_error_at(err, MB_EINVAL, name, line, col,
                                   "tab character in indentation; expected spaces (YAML forbids tabs for indentation)");
        return mb_error_at(err, MB_EINVAL, name, line, col, "YAML syntax error: %s%s%s",
                           problem, p->context ? " " : "", p->context ? p->context : "");
}

/* Builds the located tree from libyaml events. Refuses aliases, duplicate keys,
 * more than one document, nesting deeper than MAX_DEPTH, more than MAX_NODES nodes. */
static int build_tree(const char *name, const char *buf, size_t len, mb_ynode **ret_root,
                      mb_error *err)
{
        yaml_parser_t parser;
        yaml_event_t ev;
        mb_ynode *stack[MAX_DEPTH + 1], *root = NULL;
        int depth = 0, r = 0, docs = 0;
        size_t nodes = 0;
        bool done = false;

        if (!yaml_parser_initialize(&parser))
                return mb_error_set(err, MB_ENOMEM, "cannot initialize the YAML parser");
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

        while (!done) {
                mb_ynode *n = NULL;
                int line, col;

                if (!yaml_parser_parse(&parser, &ev)) {
                        r = parser_error(&parser, name, buf, len, err);
                        break;
                }
                line = (int)ev.start_mark.line + 1;
                col = (int)ev.start_mark.column + 1;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1)
                                r = mb_error_at(err, MB_EINVAL, name, line, col,
                                                "a second YAML document; expected exactly one");
                        break;
                case YAML_ALIAS_EVENT:
                        r = mb_error_at(err, MB_EINVAL, name, line, col,
                                        "alias '*%s' is not allowed; expected plain values (anchors and aliases are refused)",
                                        ev.data.alias.anchor);
                        break;
                case YAML_SCALAR_EVENT:
                case YAML_MAPPING_START_EVENT:
                case YAML_SEQUENCE_START_EVENT:
                        if (++nodes > MAX_NODES) {
                                r = mb_error_at(err, MB_EINVAL, name, line, col,
                                                "too many YAML nodes; expected at most %d",
                                                MAX_NODES);
                                break;
                        }
                        n = calloc(1, sizeof(*n));
                        if (!n) {
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        n->line = line;
                        n->column = col;
                        if (ev.type == YAML_SCALAR_EVENT) {
                                n->type = MB_YNODE_SCALAR;
                                n->value = strndup((const char *)ev.data.scalar.value,
                                                   ev.data.scalar.length);
                                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                                if (!n->value) {
                                        free(n);
                                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                        break;
                                }
                        } else {
                                n->type = ev.type == YAML_MAPPING_START_EVENT ? MB_YNODE_MAP
                                                                              : MB_YNODE_SEQ;
                        }
                        if (depth == 0) {
                                root = n;
                        } else {
                                mb_ynode *parent = stack[depth - 1];

                                /* duplicate keys: a key scalar in a map at an even index */
                                if (parent->type == MB_YNODE_MAP && parent->n_items % 2 == 0) {
                                        if (n->type != MB_YNODE_SCALAR) {
                                                r = mb_error_at(err, MB_EINVAL, name, line, col,
                                                                "complex mapping key; expected a plain key name");
                                                node_free(n);
                                                break;
                                        }
                                        for (size_t i = 0; i < parent->n_items; i += 2)
                                                if (strcmp(parent->items[i]->value, n->value) == 0) {
                                                        r = mb_error_at(err, MB_EINVAL, name, line, col,
                                                                        "duplicate key '%s' (first at line %d); expected each key once",
                                                                        n->value, parent->items[i]->line);
                                                        break;
                                                }
                                        if (r) {
                                                node_free(n);
                                                break;
                                        }
                                }
                                if (node_add(parent, n) < 0) {
                                        node_free(n);
                                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                                        break;
                                }
                        }
                        if (n->type != MB_YNODE_SCALAR) {
                                if (depth >= MAX_DEPTH) {
                                        r = mb_error_at(err, MB_EINVAL, name, line, col,
                                                        "nesting deeper than %d levels", MAX_DEPTH);
                                        if (depth == 0)
                                                node_free(n);
                                        break;
                                }
                                stack[depth++] = n;
                        } else if (depth == 0) {
                                /* a lone scalar document: keep as root */
                        }
                        break;
                case YAML_MAPPING_END_EVENT:
                case YAML_SEQUENCE_END_EVENT:
                        depth--;
                        break;
                default:
                        break;
                }
                yaml_event_delete(&ev);
                if (r)
                        break;
        }
        yaml_parser_delete(&parser);
        if (r) {
                node_free(root);
                return r;
        }
        *ret_root = root;
        return 0;
}

/* ---------- validation against a libcyaml schema ---------- */

typedef struct vctx {
        const char *name;
        mb_error *err;
} vctx;

static int verr(vctx *v, const mb_ynode *n, const char *fmt, ...)
        MB_PRINTF(3, 4);
static int verr(vctx *v, const mb_ynode *n, const char *fmt, ...)
{
        char msg[1536];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return mb_error_at(v->err, MB_EINVAL, v->name, n ? n->line : 1, n ? n->column : 1,
                           "%s", msg);
}

static const char *node_kind(const mb_ynode *n)
{
        return n->type == MB_YNODE_MAP ? "a mapping" : n->type == MB_YNODE_SEQ ? "a list" : "a value";
}

static int check_uint(vctx *v, const mb_ynode *n, const char *key, uint32_t size)
{
        const char *s = n->value;
        uint64_t max = size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1, val;
        char *end;

        if (*s == '-')
                return verr(v, n, "%s: negative number '%s'; expected a whole number from 0 to %" PRIu64,
                            key, s, max);
        if (!*s || !(s[0] >= '0' && s[0] <= '9'))
                return verr(v, n, "%s: '%s' is not a number; expected a whole number from 0 to %" PRIu64,
                            key, s, max);
        errno = 0;
        val = strtoull(s, &end, 0);
        if (*end)
                return verr(v, n, "%s: '%s' is not a number; expected a whole number from 0 to %" PRIu64,
                            key, s, max);
        if (errno == ERANGE || val > max)
                return verr(v, n, "%s: %s is too large; expected at most %" PRIu64, key, s, max);
        return 0;
}

static int check_int(vctx *v, const mb_ynode *n, const char *key, uint32_t size)
{
        const char *s = n->value;
        int64_t max = size >= 8 ? INT64_MAX : (int64_t)((1ULL << (8 * size - 1)) - 1);
        int64_t min = -max - 1, val;
        char *end;

        errno = 0;
        val = strtoll(s, &end, 0);
        if (!*s || *end)
                return verr(v, n, "%s: '%s' is not a number; expected a whole number", key, s);
        if (errno == ERANGE || val > max || val < min)
                return verr(v, n, "%s: %s is out of range; expected %" PRId64 " to %" PRId64,
                            key, s, min, max);
        return 0;
}

static int validate(vctx *v, const mb_ynode *n, const cyaml_schema_value_t *s, const char *key);

static int validate_mapping(vctx *v, const mb_ynode *n, const cyaml_schema_value_t *s,
                            const char *key)
{
        const cyaml_schema_field_t *fields = s->mapping.fields;
        int r;

        if (n->type != MB_YNODE_MAP)
                return verr(v, n, "%s: found %s; expected a mapping of keys", key, node_kind(n));
        for (size_t i = 0; i + 1 < n->n_items; i += 2) {
                const mb_ynode *k = n->items[i];
                const cyaml_schema_field_t *f;

                for (f = fields; f->key; f++)
                        if (strcmp(f->key, k->value) == 0)
                                break;
                if (!f->key) {
                        char list[512] = "";
                        size_t off = 0;

                        for (const cyaml_schema_field_t *g = fields; g->key; g++)
                                off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
                                                        "%s%s", g == fields ? "" : ", ", g->key);
                        return verr(v, k, "unknown key '%s' in %s; expected one of: %s", k->value,
                                    key, list);
                }
                r = validate(v, n->items[i + 1], &f->value, f->key);
                if (r)
                        return r;
        }
        for (const cyaml_schema_field_t *f = fields; f->key; f++) {
                bool found = false;

                if (f->value.flags & CYAML_FLAG_OPTIONAL)
                        continue;
                for (size_t i = 0; i + 1 < n->n_items && !found; i += 2)
                        found = strcmp(n->items[i]->value, f->key) == 0;
                if (!found)
                        return verr(v, n, "missing key '%s' in %s; it is required", f->key, key);
        }
        return 0;
}

static int validate(vctx *v, const mb_ynode *n, const cyaml_schema_value_t *s, const char *key)
{
        if (n->type == MB_YNODE_SCALAR && n->plain && (s->flags & CYAML_FLAG_POINTER_NULL) ==
            CYAML_FLAG_POINTER_NULL && n->value[0] == '\0')
                return 0;
        switch (s->type) {
        case CYAML_MAPPING:
                return validate_mapping(v, n, s, key);
        case CYAML_SEQUENCE:
        case CYAML_SEQUENCE_FIXED:
                if (n->type != MB_YNODE_SEQ)
                        return verr(v, n, "%s: found %s; expected a list", key, node_kind(n));
                if (n->n_items < s->sequence.min)
                        return verr(v, n, "%s: %zu entries; expected at least %u", key,
                                    n->n_items, s->sequence.min);
                if (s->sequence.max != CYAML_UNLIMITED && n->n_items > s->sequence.max)
                        return verr(v, n, "%s: %zu entries; expected at most %u", key,
                                    n->n_items, s->sequence.max);
                for (size_t i = 0; i < n->n_items; i++) {
                        int r = validate(v, n->items[i], s->sequence.entry, key);

                        if (r)
                                return r;
                }
                return 0;
        default:
                break;
        }
        if (n->type != MB_YNODE_SCALAR)
                return verr(v, n, "%s: found %s; expected a single value", key, node_kind(n));
        switch (s->type) {
        case CYAML_UINT:
                return check_uint(v, n, key, s->data_size);
        case CYAML_INT:
                return check_int(v, n, key, s->data_size);
        case CYAML_BOOL:
                if (strcmp(n->value, "true") && strcmp(n->value, "false"))
                        return verr(v, n, "%s: '%s' is not a boolean; expected true or false",
                                    key, n->value);
                return 0;
        case CYAML_ENUM: {
                char list[512] = "";
                size_t off = 0;

                for (uint32_t i = 0; i < s->enumeration.count; i++) {
                        if (strcmp(s->enumeration.strings[i].str, n->value) == 0)
                                return 0;
                        off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
                                                "%s%s", i ? ", " : "", s->enumeration.strings[i].str);
                }
                return verr(v, n, "%s: '%s' is not valid; expected one of: %s", key, n->value,
                            list);
        }
        case CYAML_STRING: {
                size_t len = strlen(n->value);

                if (len < s->string.min)
                        return verr(v, n, "%s: empty or too short; expected at least %u characters",
                                    key, s->string.min);
                if (s->string.max != CYAML_UNLIMITED && len > s->string.max)
                        return verr(v, n, "%s: %zu characters; expected at most %u", key, len,
                                    s->string.max);
                return 0;
        }
        default:
                return 0;
        }
}

/* ---------- loading ---------- */

static void log_to_error(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
        mb_error *err = ctx;
        size_t n;

        if (level < CYAML_LOG_ERROR || !err || err->msg[0])
                return;
        vsnprintf(err->msg, sizeof(err->msg), fmt, args);
        n = strlen(err->msg);
        while (n && err->msg[n - 1] == '\n')
                err->msg[--n] = '\0';
}

static cyaml_config_t cyaml_cfg(void *log_ctx)
{
        cyaml_config_t cfg = {
                .log_fn = log_to_error,
                .log_ctx = log_ctx,
                .mem_fn = cyaml_mem,
                .log_level = CYAML_LOG_ERROR,
                .flags = CYAML_CFG_NO_ALIAS | CYAML_CFG_STYLE_BLOCK,
        };
        return cfg;
}

int mb_yaml_load(const char *name, const char *buf, size_t len,
                 const cyaml_schema_value_t *schema, void **ret_data, mb_ydoc **ret_doc,
                 mb_error *err)
{
        mb_ynode *root = NULL;
        vctx v = { name, err };
        mb_error cerr = { 0 };
        cyaml_config_t cfg = cyaml_cfg(&cerr);
        cyaml_err_t ce;
        void *data = NULL;
        int r;

        r = build_tree(name, buf, len, &root, err);
        if (r)
                return r;
        if (!root) {
                return mb_error_at(err, MB_EINVAL, name, 1, 1,
                                   "the document is empty; expected a mapping starting with 'version: 1'");
        }
        if (root->type != MB_YNODE_MAP) {
                r = verr(&v, root, "the document is %s; expected a mapping at the top level",
                         root->type == MB_YNODE_SEQ ? "a list" : "a single value");
                node_free(root);
                return r;
        }
        r = validate(&v, root, schema, "the document");
        if (r) {
                node_free(root);
                return r;
        }
        ce = cyaml_load_data((const uint8_t *)buf, len, &cfg, schema, (cyaml_data_t **)&data, NULL);
        if (ce != CYAML_OK) {
                r = mb_error_at(err, MB_EINVAL, name, 1, 1, "cannot load: %s (%s)",
                                cerr.msg[0] ? cerr.msg : cyaml_strerror(ce), cyaml_strerror(ce));
                node_free(root);
                return r;
        }
        if (ret_doc) {
                mb_ydoc *doc = calloc(1, sizeof(*doc));

                if (!doc || !(doc->file = strdup(name))) {
                        free(doc);
                        node_free(root);
                        cyaml_free(&cfg, schema, data, 0);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                doc->root = root;
                *ret_doc = doc;
        } else {
                node_free(root);
        }
        *ret_data = data;
        return 0;
}

int mb_yaml_load_file(const char *path, const cyaml_schema_value_t *schema, void **ret_data,
                      mb_ydoc **ret_doc, mb_error *err)
{
        char *buf;
        size_t len;
        int r;

        r = mb_yaml_read_file(path, &buf, &len, err);
        if (r)
                return r;
        r = mb_yaml_load(path, buf, len, schema, ret_data, ret_doc, err);
        free(buf);
        return r;
}

void mb_yaml_free_data(const cyaml_schema_value_t *schema, void *data)
{
        cyaml_config_t cfg = cyaml_cfg(NULL);

        if (data)
                cyaml_free(&cfg, schema, data, 0);
}

mb_ynode *mb_ynode_get(const mb_ynode *map, const char *key)
{
        if (!map || map->type != MB_YNODE_MAP)
                return NULL;
        for (size_t i = 0; i + 1 < map->n_items; i += 2)
                if (strcmp(map->items[i]->value, key) == 0)
                        return map->items[i + 1];
        return NULL;
}

mb_ynode *mb_ynode_at(const mb_ynode *seq, size_t i)
{
        if (!seq || seq->type != MB_YNODE_SEQ || i >= seq->n_items)
                return NULL;
        return seq->items[i];
}

int mb_ydoc_error(const mb_ydoc *doc, const mb_ynode *node, mb_error *err, const char *fmt, ...)
{
        char msg[1536];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return mb_error_at(err, MB_EINVAL, doc ? doc->file : "", node ? node->line : 1,
                           node ? node->column : 1, "%s", msg);
}

/* ---------- saving ---------- */

static uint64_t read_uint(const void *p, uint32_t size)
{
        switch (size) {
        case 1: return *(const uint8_t *)p;
        case 2: return *(const uint16_t *)p;
        case 4: return *(const uint32_t *)p;
        default: return *(const uint64_t *)p;
        }
}

static int64_t read_int(const void *p, uint32_t size)
{
        switch (size) {
        case 1: return *(const int8_t *)p;
        case 2: return *(const int16_t *)p;
        case 4: return *(const int32_t *)p;
        default: return *(const int64_t *)p;
        }
}

static void indent(mb_buf *b, int depth)
{
        for (int i = 0; i < depth; i++)
                mb_buf_put(b, "  ", 2);
}

static void json_value(mb_buf *b, const cyaml_schema_value_t *s, const void *p, uint64_t count,
                       int depth);

static void json_mapping(mb_buf *b, const cyaml_schema_value_t *s, const uint8_t *p, int depth)
{
        bool first = true;

        mb_buf_put(b, "{", 1);
        for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
                const uint8_t *fp = p + f->data_offset;
                uint64_t count = 0;

                if (f->value.flags & CYAML_FLAG_POINTER) {
                        if (!*(void *const *)fp)
                                continue;
                }
                if (f->value.type == CYAML_SEQUENCE)
                        count = read_uint(p + f->count_offset, f->count_size);
                mb_buf_put(b, first ? "\n" : ",\n", first ? 1 : 2);
                first = false;
                indent(b, depth + 1);
                mb_buf_json_string(b, f->key);
                mb_buf_put(b, ": ", 2);
                json_value(b, &f->value, fp, count, depth + 1);
        }
        if (!first) {
                mb_buf_put(b, "\n", 1);
                indent(b, depth);
        }
        mb_buf_put(b, "}", 1);
}

static void json_value(mb_buf *b, const cyaml_schema_value_t *s, const void *p, uint64_t count,
                       int depth)
{
        if (s->flags & CYAML_FLAG_POINTER) {
                p = *(void *const *)p;
                if (!p) {
                        mb_buf_put(b, "null", 4);
                        return;
                }
        }
        switch (s->type) {
        case CYAML_UINT:
                mb_buf_printf(b, "%" PRIu64, read_uint(p, s->data_size));
                break;
        case CYAML_INT:
                mb_buf_printf(b, "%" PRId64, read_int(p, s->data_size));
                break;
        case CYAML_BOOL:
                mb_buf_printf(b, "%s", read_uint(p, s->data_size) ? "true" : "false");
                break;
        case CYAML_ENUM: {
                int64_t val = read_int(p, s->data_size);
                const char *str = NULL;

                for (uint32_t i = 0; i < s->enumeration.count; i++)
                        if (s->enumeration.strings[i].val == val)
                                str = s->enumeration.strings[i].str;
                if (str)
                        mb_buf_json_string(b, str);
                else
                        mb_buf_printf(b, "%" PRId64, val);
                break;
        }
        case CYAML_STRING:
                mb_buf_json_string(b, p);
                break;
        case CYAML_MAPPING:
                json_mapping(b, s, p, depth);
                break;
        case CYAML_SEQUENCE:
        case CYAML_SEQUENCE_FIXED: {
                const cyaml_schema_value_t *e = s->sequence.entry;
                size_t esize = (e->flags & CYAML_FLAG_POINTER) ? sizeof(void *) : e->data_size;

                if (s->type == CYAML_SEQUENCE_FIXED)
                        count = s->sequence.max;
                mb_buf_put(b, "[", 1);
                for (uint64_t i = 0; i < count; i++) {
                        mb_buf_put(b, i ? ",\n" : "\n", i ? 2 : 1);
                        indent(b, depth + 1);
                        json_value(b, e, (const uint8_t *)p + i * esize, 0, depth + 1);
                }
                if (count) {
                        mb_buf_put(b, "\n", 1);
                        indent(b, depth);
                }
                mb_buf_put(b, "]", 1);
                break;
        }
        default:
                mb_buf_put(b, "null", 4);
        }
}

int mb_yaml_save(const cyaml_schema_value_t *schema, const void *data, bool json,
                 char **ret_text, size_t *ret_len, mb_error *err)
{
        if (json) {
                mb_buf b = { 0 };

                json_value(&b, schema, &data, 0, 0);
                mb_buf_put(&b, "\n", 1);
                if (b.failed) {
                        mb_buf_free(&b);
                        return mb_error_set(err, MB_ENOMEM, "out of memory writing JSON");
                }
                *ret_text = b.data;
                *ret_len = b.len;
                return 0;
        } else {
                mb_error cerr = { 0 };
                cyaml_config_t cfg = cyaml_cfg(&cerr);
                char *out = NULL, *copy;
                size_t len = 0;
                cyaml_err_t ce;

                cfg.flags |= CYAML_CFG_DOCUMENT_DELIM;
                ce = cyaml_save_data(&out, &len, &cfg, schema, data, 0);
                if (ce != CYAML_OK)
                        return mb_error_set(err, MB_EINVAL, "cannot write YAML: %s (%s)",
                                            cerr.msg, cyaml_strerror(ce));
                copy = malloc(len + 1);
                if (!copy) {
                        cfg.mem_fn(cfg.mem_ctx, out, 0);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                memcpy(copy, out, len);
                copy[len] = '\0';
                cfg.mem_fn(cfg.mem_ctx, out, 0);
                *ret_text = copy;
                *ret_len = len;
                return 0;
        }
}
