/* SPDX-License-Identifier: MIT */
/*
 * BCD stores through libhivex: open/validate, list objects and elements,
 * edit, commit atomically. See bcd.h for the hive layout.
 */
#include "bcd.h"
#include "bcd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "fault.h"

#define MAX_STORE_SIZE (256u << 20) /* far above any real store */

struct mb_bcd {
        hive_h *h;
        char *path;
        int writable;
        hive_node_h objects;
};

/* ---- helpers ------------------------------------------------------------- */

static const char *gstr(const mb_guid *g, char buf[MB_GUID_STR_LEN + 2])
{
        char s[MB_GUID_STR_LEN];

        snprintf(buf, MB_GUID_STR_LEN + 2, "{%s}", mb_guid_format(g, s));
        return buf;
}

/* Error after a failed hivex call (errno set by hivex). */
static int hx_fail(mb_error *err, int code, const mb_bcd *b, const char *call, const char *fmt, ...)
        MB_PRINTF(5, 6);
static int hx_fail(mb_error *err, int code, const mb_bcd *b, const char *call, const char *fmt, ...)
{
        char what[1024];
        int e = errno;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (e == ENOMEM)
                code = MB_ENOMEM;
        return mb_error_set(err, code, "BCD %s: %s: %s (%s)", b->path, what,
                            e ? strerror(e) : "not found", call);
}

/* Child by name: 0 and *ret (0 if absent), or an error if hivex failed. */
static int child(mb_bcd *b, hive_node_h node, const char *name, hive_node_h *ret, mb_error *err)
{
        hive_node_h c;

        errno = 0;
        c = hivex_node_get_child(b->h, node, name);
        if (c == 0 && errno != 0)
                return hx_fail(err, MB_ECORRUPT, b, "hivex_node_get_child", "reading key %s", name);
        *ret = c;
        return 0;
}

static int find_object(mb_bcd *b, const mb_guid *id, hive_node_h *ret, mb_error *err)
{
        char name[MB_GUID_STR_LEN + 2];
        hive_node_h n;
        int r;

        r = child(b, b->objects, gstr(id, name), &n, err);
        if (r < 0)
                return r;
        if (n == 0)
                return mb_error_set(err, MB_ENOENT, "BCD %s: no object %s", b->path, name);
        *ret = n;
        return 0;
}

static int add_child(mb_bcd *b, hive_node_h parent, const char *name, hive_node_h *ret,
                     mb_error *err)
{
        hive_node_h n;

        errno = 0;
        n = hivex_node_add_child(b->h, parent, name);
        if (n == 0)
                return hx_fail(err, MB_EIO, b, "hivex_node_add_child", "adding key %s", name);
        *ret = n;
        return 0;
}

static int need_writable(mb_bcd *b, mb_error *err)
{
        if (!b->writable)
                return mb_error_set(err, MB_EUNSAFE, "BCD %s is open read-only", b->path);
        return 0;
}

/* Writes Elements\XXXXXXXX\Element of object id. */
static int set_element(mb_bcd *b, const mb_guid *id, uint32_t element, hive_type t,
                       const void *data, size_t len, mb_error *err)
{
        char name[16], gs[MB_GUID_STR_LEN + 2];
        hive_node_h obj, elems, el;
        hive_set_value v;
        int r;

        if ((r = need_writable(b, err)) < 0 || (r = find_object(b, id, &obj, err)) < 0)
                return r;
        if ((r = child(b, obj, "Elements", &elems, err)) < 0)
                return r;
        if (elems == 0 && (r = add_child(b, obj, "Elements", &elems, err)) < 0)
                return r;
        snprintf(name, sizeof(name), "%08x", element);
        if ((r = child(b, elems, name, &el, err)) < 0)
                return r;
        if (el == 0 && (r = add_child(b, elems, name, &el, err)) < 0)
                return r;
        v.key = (char *)"Element";
        v.t = t;
        v.len = len;
        v.value = (char *)data;
        errno = 0;
        if (hivex_node_set_value(b->h, el, &v, 0) != 0)
                return hx_fail(err, MB_EIO, b, "hivex_node_set_value",
                               "object %s: setting element %08x", gstr(id, gs), element);
        return 0;
}

static int check_format(mb_bcd *b, uint32_t element, int fmt, const char *what, mb_error *err)
{
        if ((int)(element >> 24 & 0xf) != fmt)
                return mb_error_set(err, MB_EINVAL,
                                    "BCD %s: element %08x is not a %s element (format %u)",
                                    b->path, element, what, element >> 24 & 0xf);
        return 0;
}

/* ---- open / close / commit ----------------------------------------------- */

static int read_file(const char *path, uint8_t **ret, size_t *ret_len, mb_error *err)
{
        struct stat st;
        uint8_t *buf;
        size_t done = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return mb_error_errno(err, errno == ENOENT ? MB_ENOENT : MB_EIO, errno,
                                      "BCD %s: cannot open (open)", path);
        if (fstat(fd, &st) != 0) {
                int e = errno;

                close(fd);
                return mb_error_errno(err, MB_EIO, e, "BCD %s: fstat", path);
        }
        if (!S_ISREG(st.st_mode) || st.st_size > MAX_STORE_SIZE) {
                close(fd);
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: not a regular file of at most %u bytes", path,
                                    MAX_STORE_SIZE);
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", path);
        }
        while (done < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;

                        free(buf);
                        close(fd);
                        return mb_error_errno(err, MB_EIO, e, "BCD %s: read", path);
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        close(fd);
        *ret = buf;
        *ret_len = done;
        return 0;
}

int mb_bcd_open(const char *path, int writable, mb_bcd **ret, mb_error *err)
{
        mb_bcd *b;
        uint8_t *buf = NULL;
        size_t len = 0;
        hive_node_h root, desc = 0;
        int r;

        if ((r = read_file(path, &buf, &len, err)) < 0)
                return r;
        r = mb_bcd_hive_check(buf, len, path, err);
        free(buf);
        if (r < 0)
                return r;
        b = calloc(1, sizeof(*b));
        if (!b || !(b->path = strdup(path))) {
                free(b);
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", path);
        }
        b->writable = writable;
        errno = 0;
        b->h = hivex_open(path, writable ? HIVEX_OPEN_WRITE : 0);
        if (!b->h) {
                r = hx_fail(err, MB_ECORRUPT, b, "hivex_open", "not a readable registry hive");
                goto fail;
        }
        errno = 0;
        root = hivex_root(b->h);
        if (root == 0) {
                r = hx_fail(err, MB_ECORRUPT, b, "hivex_root", "no root key");
                goto fail;
        }
        if ((r = child(b, root, "Description", &desc, err)) < 0 ||
            (r = child(b, root, "Objects", &b->objects, err)) < 0)
                goto fail;
        if (desc == 0 || b->objects == 0) {
                r = mb_error_set(err, MB_ECORRUPT,
                                 "BCD %s: not a BCD store: the root key has no %s key (hivex_node_get_child)",
                                 path, desc == 0 ? "Description" : "Objects");
                goto fail;
        }
        *ret = b;
        return 0;
fail:
        mb_bcd_close(b);
        return r;
}

void mb_bcd_close(mb_bcd *b)
{
        if (!b)
                return;
        if (b->h)
                hivex_close(b->h);
        free(b->path);
        free(b);
}

int mb_bcd_commit(mb_bcd *b, mb_error *err)
{
        char *tmp, *dircopy;
        struct stat st;
        int fd, r;

        if ((r = need_writable(b, err)) < 0)
                return r;
        if (mb_fault_pointf(err, "BCD commit of %s", b->path) < 0)
                return MB_EIO;
        if (asprintf(&tmp, "%s.tmp.XXXXXX", b->path) < 0)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", b->path);
        fd = mkstemp(tmp);
        if (fd < 0) {
                r = mb_error_errno(err, MB_EIO, errno, "BCD %s: creating temporary file %s (mkstemp)",
                                   b->path, tmp);
                free(tmp);
                return r;
        }
        /* keep the store's permissions (mkstemp makes the file 0600) */
        if (stat(b->path, &st) == 0)
                fchmod(fd, st.st_mode & 07777);
        close(fd);
        errno = 0;
        if (hivex_commit(b->h, tmp, 0) != 0) {
                r = hx_fail(err, MB_EIO, b, "hivex_commit", "writing %s", tmp);
                goto fail;
        }
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
                r = mb_error_errno(err, MB_EIO, errno, "BCD %s: flushing %s (fsync)", b->path, tmp);
                if (fd >= 0)
                        close(fd);
                goto fail;
        }
        close(fd);
        if (rename(tmp, b->path) != 0) {
                r = mb_error_errno(err, MB_EIO, errno, "BCD %s: replacing it with %s (rename)",
                                   b->path, tmp);
                goto fail;
        }
        free(tmp);
        /* make the rename durable; failure to open the directory is not fatal */
        dircopy = strdup(b->path);
        if (dircopy) {
                fd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                        fsync(fd);
                        close(fd);
                }
                free(dircopy);
        }
        return 0;
fail:
        unlink(tmp);
        free(tmp);
        return r;
}

/* ---- listing ------------------------------------------------------------- */

/* Reads one object key into o through the shared element decoder. */
static int read_object(mb_bcd *b, hive_node_h node, mb_bcd_object *o, mb_error *err)
{
        char *name, gs[MB_GUID_STR_LEN + 2];
        hive_node_h desc, elems, *kids = NULL;
        hive_value_h tv;
        hive_type t;
        size_t len, n = 0;
        uint32_t type;
        int r;

        errno = 0;
        name = hivex_node_name(b->h, node);
        if (!name)
                return hx_fail(err, MB_ECORRUPT, b, "hivex_node_name", "reading an object key name");
        snprintf(gs, sizeof(gs), "%s", name);
        if ((r = child(b, node, "Description", &desc, err)) < 0)
                goto out;
        if (desc == 0) {
                r = mb_error_set(err, MB_ECORRUPT,
                                 "BCD %s: object %s has no Description key (hivex_node_get_child)",
                                 b->path, gs);
                goto out;
        }
        errno = 0;
        tv = hivex_node_get_value(b->h, desc, "Type");
        if (tv == 0 || hivex_value_type(b->h, tv, &t, &len) != 0 || t != hive_t_REG_DWORD ||
            len != 4) {
                r = mb_error_set(err, MB_ECORRUPT,
                                 "BCD %s: object %s has no REG_DWORD Description\\Type value (hivex_node_get_value)",
                                 b->path, gs);
                goto out;
        }
        type = (uint32_t)hivex_value_dword(b->h, tv);
        if ((r = mb_bcd_object_begin(o, name, type, b->path, err)) < 0)
                goto out;
        if ((r = child(b, node, "Elements", &elems, err)) < 0 || elems == 0)
                goto out;
        errno = 0;
        kids = hivex_node_children(b->h, elems);
        if (!kids) {
                r = hx_fail(err, MB_ECORRUPT, b, "hivex_node_children",
                            "object %s: listing elements", gs);
                goto out;
        }
        while (kids[n])
                n++;
        for (size_t i = 0; i < n; i++) {
                char *ename, *data;
                hive_value_h v;

                errno = 0;
                ename = hivex_node_name(b->h, kids[i]);
                if (!ename) {
                        r = hx_fail(err, MB_ECORRUPT, b, "hivex_node_name",
                                    "object %s: reading an element name", gs);
                        goto out;
                }
                errno = 0;
                v = hivex_node_get_value(b->h, kids[i], "Element");
                if (v == 0) {
                        if (errno != 0)
                                r = hx_fail(err, MB_ECORRUPT, b, "hivex_node_get_value",
                                            "object %s: element %s", gs, ename);
                        free(ename);
                        if (r < 0)
                                goto out;
                        continue; /* an element key without a value: nothing to report */
                }
                errno = 0;
                data = hivex_value_value(b->h, v, &t, &len);
                if (!data) {
                        r = hx_fail(err, MB_ECORRUPT, b, "hivex_value_value",
                                    "object %s: reading element %s", gs, ename);
                        free(ename);
                        goto out;
                }
                r = mb_bcd_object_add_element(o, ename, (uint32_t)t, data, len, b->path, err);
                free(data);
                free(ename);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        free(name);
        free(kids);
        return r;
}

int mb_bcd_list(mb_bcd *b, mb_bcd_object **ret_objs, size_t *ret_n, mb_error *err)
{
        hive_node_h *kids;
        mb_bcd_object *objs;
        size_t n = 0;
        int r;

        errno = 0;
        kids = hivex_node_children(b->h, b->objects);
        if (!kids)
                return hx_fail(err, MB_ECORRUPT, b, "hivex_node_children", "listing Objects");
        while (kids[n])
                n++;
        objs = calloc(n ? n : 1, sizeof(*objs));
        if (!objs) {
                free(kids);
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", b->path);
        }
        for (size_t i = 0; i < n; i++) {
                if ((r = read_object(b, kids[i], &objs[i], err)) < 0) {
                        mb_bcd_objects_free(objs, n);
                        free(kids);
                        return r;
                }
        }
        free(kids);
        *ret_objs = objs;
        *ret_n = n;
        return 0;
}

int mb_bcd_get(mb_bcd *b, const mb_guid *id, mb_bcd_object **ret_obj, mb_error *err)
{
        hive_node_h node;
        mb_bcd_object *o;
        int r;

        if ((r = find_object(b, id, &node, err)) < 0)
                return r;
        o = calloc(1, sizeof(*o));
        if (!o)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", b->path);
        if ((r = read_object(b, node, o, err)) < 0) {
                mb_bcd_objects_free(o, 1);
                return r;
        }
        *ret_obj = o;
        return 0;
}

/* ---- editing ------------------------------------------------------------- */

int mb_bcd_set_string(mb_bcd *b, const mb_guid *id, uint32_t element, const char *value,
                      mb_error *err)
{
        uint8_t *u;
        size_t len;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_STRING, "string", err)) < 0)
                return r;
        if ((r = mb_bcd_utf16(value, &u, &len)) < 0)
                return mb_error_set(err, r, "BCD %s: element %08x: value is not valid UTF-8",
                                    b->path, element);
        r = set_element(b, id, element, hive_t_REG_SZ, u, len, err);
        free(u);
        return r;
}

int mb_bcd_set_object(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_guid *value,
                      mb_error *err)
{
        char s[MB_GUID_STR_LEN + 2];
        uint8_t *u;
        size_t len;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_OBJECT, "object", err)) < 0)
                return r;
        if ((r = mb_bcd_utf16(gstr(value, s), &u, &len)) < 0)
                return mb_error_set(err, r, "BCD %s: out of memory", b->path);
        r = set_element(b, id, element, hive_t_REG_SZ, u, len, err);
        free(u);
        return r;
}

int mb_bcd_set_object_list(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_guid *ids,
                           size_t n, mb_error *err)
{
        /* each entry "{guid}" = 38 UTF-16 units + NUL; one more NUL at the end */
        size_t len = n * 39 * 2 + 2, o = 0;
        uint8_t *buf;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_OBJECTLIST, "object list", err)) < 0)
                return r;
        buf = calloc(1, len);
        if (!buf)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", b->path);
        for (size_t i = 0; i < n; i++) {
                char s[MB_GUID_STR_LEN + 2];

                gstr(&ids[i], s);
                for (size_t k = 0; k <= 38; k++, o += 2)
                        mb_put_le16(buf + o, (uint8_t)s[k]);
        }
        r = set_element(b, id, element, hive_t_REG_MULTI_SZ, buf, len, err);
        free(buf);
        return r;
}

int mb_bcd_set_integer(mb_bcd *b, const mb_guid *id, uint32_t element, uint64_t value,
                       mb_error *err)
{
        uint8_t buf[8];
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_INTEGER, "integer", err)) < 0)
                return r;
        mb_put_le64(buf, value);
        return set_element(b, id, element, hive_t_REG_BINARY, buf, sizeof(buf), err);
}

int mb_bcd_set_integer_list(mb_bcd *b, const mb_guid *id, uint32_t element,
                            const uint64_t *values, size_t n, mb_error *err)
{
        uint8_t *buf;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_INTEGERLIST, "integer list", err)) < 0)
                return r;
        buf = calloc(n ? n : 1, 8);
        if (!buf)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", b->path);
        for (size_t i = 0; i < n; i++)
                mb_put_le64(buf + 8 * i, values[i]);
        r = set_element(b, id, element, hive_t_REG_BINARY, buf, n * 8, err);
        free(buf);
        return r;
}

int mb_bcd_set_boolean(mb_bcd *b, const mb_guid *id, uint32_t element, int value, mb_error *err)
{
        uint8_t v = value ? 1 : 0;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_BOOLEAN, "boolean", err)) < 0)
                return r;
        return set_element(b, id, element, hive_t_REG_BINARY, &v, 1, err);
}

int mb_bcd_set_device(mb_bcd *b, const mb_guid *id, uint32_t element, const mb_bcd_device *dev,
                      mb_error *err)
{
        uint8_t *buf;
        size_t len;
        int r;

        if ((r = check_format(b, element, MB_BCD_FMT_DEVICE, "device", err)) < 0)
                return r;
        if ((r = mb_bcd_device_encode(dev, &buf, &len, err)) < 0)
                return mb_error_prefix(err, "BCD %s: element %08x: ", b->path, element);
        r = set_element(b, id, element, hive_t_REG_BINARY, buf, len, err);
        free(buf);
        return r;
}

int mb_bcd_delete_element(mb_bcd *b, const mb_guid *id, uint32_t element, mb_error *err)
{
        char name[16], gs[MB_GUID_STR_LEN + 2];
        hive_node_h obj, elems = 0, el = 0;
        int r;

        if ((r = need_writable(b, err)) < 0 || (r = find_object(b, id, &obj, err)) < 0)
                return r;
        snprintf(name, sizeof(name), "%08x", element);
        if ((r = child(b, obj, "Elements", &elems, err)) < 0)
                return r;
        if (elems && (r = child(b, elems, name, &el, err)) < 0)
                return r;
        if (el == 0)
                return mb_error_set(err, MB_ENOENT, "BCD %s: object %s has no element %s",
                                    b->path, gstr(id, gs), name);
        errno = 0;
        if (hivex_node_delete_child(b->h, el) != 0)
                return hx_fail(err, MB_EIO, b, "hivex_node_delete_child",
                               "object %s: deleting element %s", gstr(id, gs), name);
        return 0;
}

int mb_bcd_create_object(mb_bcd *b, const mb_guid *id, uint32_t type, const char *description,
                         mb_error *err)
{
        char name[MB_GUID_STR_LEN + 2];
        hive_node_h obj = 0, desc = 0, elems = 0;
        hive_set_value v;
        uint8_t tbuf[4];
        int r;

        if ((r = need_writable(b, err)) < 0)
                return r;
        gstr(id, name);
        if ((r = child(b, b->objects, name, &obj, err)) < 0)
                return r;
        if (obj != 0)
                return mb_error_set(err, MB_EINVAL, "BCD %s: object %s already exists", b->path,
                                    name);
        if ((r = add_child(b, b->objects, name, &obj, err)) < 0)
                return r;
        if ((r = add_child(b, obj, "Description", &desc, err)) < 0)
                goto undo;
        mb_put_le32(tbuf, type);
        v.key = (char *)"Type";
        v.t = hive_t_REG_DWORD;
        v.len = 4;
        v.value = (char *)tbuf;
        errno = 0;
        if (hivex_node_set_value(b->h, desc, &v, 0) != 0) {
                r = hx_fail(err, MB_EIO, b, "hivex_node_set_value", "object %s: setting Type", name);
                goto undo;
        }
        if ((r = add_child(b, obj, "Elements", &elems, err)) < 0)
                goto undo;
        if (description &&
            (r = mb_bcd_set_string(b, id, MB_BCDE_DESCRIPTION, description, err)) < 0)
                goto undo;
        return 0;
undo:
        hivex_node_delete_child(b->h, obj);
        return r;
}

int mb_bcd_copy_object(mb_bcd *b, const mb_guid *src, const mb_guid *new_id,
                       const char *new_description, mb_error *err)
{
        mb_bcd_object *o;
        hive_node_h node;
        int r;

        if ((r = need_writable(b, err)) < 0 || (r = mb_bcd_get(b, src, &o, err)) < 0)
                return r;
        if ((r = mb_bcd_create_object(b, new_id, o->type, NULL, err)) < 0)
                goto out;
        for (size_t i = 0; i < o->n_elements; i++) {
                const mb_bcd_element *e = &o->elements[i];

                if ((r = set_element(b, new_id, e->type, (hive_type)e->reg_type, e->data, e->len,
                                     err)) < 0)
                        goto undo;
        }
        if (new_description &&
            (r = mb_bcd_set_string(b, new_id, MB_BCDE_DESCRIPTION, new_description, err)) < 0)
                goto undo;
        r = 0;
        goto out;
undo:
        if (find_object(b, new_id, &node, NULL) == 0)
                hivex_node_delete_child(b->h, node);
out:
        mb_bcd_objects_free(o, 1);
        return r;
}

int mb_bcd_delete_object(mb_bcd *b, const mb_guid *id, mb_error *err)
{
        char gs[MB_GUID_STR_LEN + 2];
        hive_node_h node;
        int r;

        if ((r = need_writable(b, err)) < 0 || (r = find_object(b, id, &node, err)) < 0)
                return r;
        errno = 0;
        if (hivex_node_delete_child(b->h, node) != 0)
                return hx_fail(err, MB_EIO, b, "hivex_node_delete_child", "deleting object %s",
                               gstr(id, gs));
        return 0;
}
