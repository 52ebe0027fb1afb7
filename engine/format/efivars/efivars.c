/* SPDX-License-Identifier: MIT */
/*
 * OVMF variable stores and EFI load options. Layouts from the UEFI
 * specification (EFI_LOAD_OPTION, device path nodes) and the PI
 * specification / edk2 documentation (firmware volume header, variable
 * store header, authenticated variable records). All multi-byte fields are
 * little-endian; every offset read from the file is checked against the
 * store before it is used.
 */
#include "efivars.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

#define MAX_FILE (64u << 20)
#define MAX_RECORDS 16384u

/* Firmware volume header (PI spec, EFI_FIRMWARE_VOLUME_HEADER). */
#define FV_FS_GUID_OFF   16
#define FV_LENGTH_OFF    32
#define FV_SIG_OFF       40
#define FV_HDRLEN_OFF    48
#define FV_CSUM_OFF      50
#define FV_REVISION_OFF  55
#define FV_BLOCKMAP_OFF  56
#define FV_SIGNATURE     0x4856465fu /* "_FVH" */

/* Variable store header: GUID, size, format, state, reserved. */
#define VS_HDR_SIZE      28
#define VS_FORMATTED     0x5a
#define VS_HEALTHY       0xfe

/* Authenticated variable record header. */
#define AV_HDR_SIZE      60
#define AV_START_ID      0x55aa
#define AV_STATE_OFF     2
#define AV_ATTR_OFF      4
#define AV_NAMESIZE_OFF  36
#define AV_DATASIZE_OFF  40
#define AV_VENDOR_OFF    44

/* Record states: bits cleared in this order as a record lives and dies. */
#define ST_IN_DELETED_TRANSITION 0xfe
#define ST_DELETED               0xfd
#define ST_HEADER_VALID_ONLY     0x7f
#define ST_ADDED                 0x3f

/* Device path nodes. */
#define DP_MEDIA         0x04
#define DP_MEDIA_HD      0x01
#define DP_MEDIA_FILE    0x04
#define DP_END           0x7f
#define DP_END_ENTIRE    0xff
#define DP_HD_LEN        42

/* fff12b8d-7696-4c8b-a985-2747075b4f50: EFI_SYSTEM_NV_DATA_FV_GUID */
static const mb_guid nv_fv_guid = { { 0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
                                      0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 } };
/* aaf32c78-947b-439a-a180-2e144ec37792: authenticated variable store */
static const mb_guid auth_store_guid = { { 0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                           0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 } };
/* ddcf3616-3275-4164-98b6-fe85707ffe7d: the older, non-authenticated store */
static const mb_guid plain_store_guid = { { 0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
                                            0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d } };
const mb_guid mb_efi_global_variable = { { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                           0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c } };

struct mb_efivars {
        char *path;
        uint8_t *buf;           /* the whole file */
        size_t size;
        uint32_t first;         /* offset of the first record */
        uint32_t end;           /* end of the variable store */
        uint32_t next;          /* where the next record goes */
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v), put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v), put32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t align4(uint32_t v) { return (v + 3u) & ~3u; }

/* ---- UTF-8 / UTF-16LE ---- */

/* Appends code point c to out[*n] (cap bytes, NUL kept); false when full. */
static bool utf8_put(char *out, size_t cap, size_t *n, uint32_t c)
{
        uint8_t b[4];
        size_t k;

        if (c < 0x80)
                b[0] = (uint8_t)c, k = 1;
        else if (c < 0x800)
                b[0] = (uint8_t)(0xc0 | c >> 6), b[1] = (uint8_t)(0x80 | (c & 0x3f)), k = 2;
        else if (c < 0x10000)
                b[0] = (uint8_t)(0xe0 | c >> 12), b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)),
                b[2] = (uint8_t)(0x80 | (c & 0x3f)), k = 3;
        else
                b[0] = (uint8_t)(0xf0 | c >> 18), b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f)),
                b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)), b[3] = (uint8_t)(0x80 | (c & 0x3f)), k = 4;
        if (*n + k >= cap)
                return false;
        memcpy(out + *n, b, k);
        *n += k;
        out[*n] = 0;
        return true;
}

/* UTF-16LE units [p, p + 2*units) to UTF-8, stopping at a NUL unit; unpaired
 * surrogates become U+FFFD. False when out is too small. */
static bool utf16_to_utf8(const uint8_t *p, size_t units, char *out, size_t cap)
{
        size_t n = 0;

        if (cap == 0)
                return false;
        out[0] = 0;
        for (size_t i = 0; i < units; i++) {
                uint32_t c = le16(p + 2 * i);

                if (c == 0)
                        break;
                if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
                        uint32_t lo = le16(p + 2 * (i + 1));

                        if (lo >= 0xdc00 && lo < 0xe000) {
                                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                                i++;
                        } else {
                                c = 0xfffd;
                        }
                } else if (c >= 0xd800 && c < 0xe000) {
                        c = 0xfffd;
                }
                if (!utf8_put(out, cap, &n, c))
                        return false;
        }
        return true;
}

/* UTF-8 s to UTF-16LE with a NUL unit, into out (cap bytes); *ret_bytes is
 * the size including the NUL. -1 for invalid UTF-8, -2 when out is too small. */
static int utf8_to_utf16(const char *s, uint8_t *out, size_t cap, size_t *ret_bytes)
{
        const uint8_t *u = (const uint8_t *)s;
        size_t n = 0;

        while (*u) {
                uint32_t c;
                int k;

                if (u[0] < 0x80)
                        c = u[0], k = 1;
                else if ((u[0] & 0xe0) == 0xc0)
                        c = u[0] & 0x1fu, k = 2;
                else if ((u[0] & 0xf0) == 0xe0)
                        c = u[0] & 0x0fu, k = 3;
                else if ((u[0] & 0xf8) == 0xf0)
                        c = u[0] & 0x07u, k = 4;
                else
                        return -1;
                for (int i = 1; i < k; i++) {
                        if ((u[i] & 0xc0) != 0x80)
                                return -1;
                        c = c << 6 | (u[i] & 0x3fu);
                }
                if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
                    c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
                        return -1;
                u += k;
                if (c >= 0x10000) {
                        if (n + 4 > cap)
                                return -2;
                        c -= 0x10000;
                        put16(out + n, (uint16_t)(0xd800 + (c >> 10)));
                        put16(out + n + 2, (uint16_t)(0xdc00 + (c & 0x3ff)));
                        n += 4;
                } else {
                        if (n + 2 > cap)
                                return -2;
                        put16(out + n, (uint16_t)c);
                        n += 2;
                }
        }
        if (n + 2 > cap)
                return -2;
        put16(out + n, 0);
        *ret_bytes = n + 2;
        return 0;
}

/* ---- the store ---- */

typedef struct record {
        uint32_t off;
        uint8_t state;
        uint32_t name_size, data_size;
} record;

/* The record at off, if there is one: false at the end of the records
 * (erased flash) or when off leaves no room for a header. A header whose
 * sizes overrun the store is MB_ECORRUPT. */
static int record_at(const mb_efivars *v, uint32_t off, record *r, mb_error *err)
{
        const uint8_t *h = v->buf + off;
        uint64_t total;

        if ((uint64_t)off + AV_HDR_SIZE > v->end || le16(h) != AV_START_ID)
                return 0;
        r->off = off;
        r->state = h[AV_STATE_OFF];
        r->name_size = le32(h + AV_NAMESIZE_OFF);
        r->data_size = le32(h + AV_DATASIZE_OFF);
        total = (uint64_t)off + AV_HDR_SIZE + r->name_size + r->data_size;
        if (r->state == ST_HEADER_VALID_ONLY && (r->name_size == UINT32_MAX || r->data_size == UINT32_MAX))
                return 0; /* a header whose record was never finished: the end */
        if (total > v->end)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: variable record at offset 0x%x overruns the variable store (name %u bytes, data %u bytes, store ends at 0x%x)",
                                    v->path, off, r->name_size, r->data_size, v->end);
        if (r->name_size < 2 || r->name_size % 2 || r->name_size > 2 * (MB_EFIVAR_NAME_MAX + 1))
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: variable record at offset 0x%x has a name of %u bytes",
                                    v->path, off, r->name_size);
        return 1;
}

static uint32_t record_next(const record *r)
{
        return align4(r->off + AV_HDR_SIZE + r->name_size + r->data_size);
}

static bool record_added(const record *r)
{
        return r->state == ST_ADDED || r->state == (ST_ADDED & ST_IN_DELETED_TRANSITION);
}

/* Walks the records: fails on a damaged one or on more than MAX_RECORDS
 * (lookups are quadratic in the worst case), sets v->next after the last. */
static int walk(mb_efivars *v, mb_error *err)
{
        uint32_t off = v->first, n = 0;
        record r;
        int rc;

        while ((rc = record_at(v, off, &r, err)) > 0) {
                if (++n > MAX_RECORDS)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: more than %u variable records; not a store a firmware wrote",
                                            v->path, MAX_RECORDS);
                off = record_next(&r);
        }
        if (rc < 0)
                return rc;
        v->next = off < v->end ? off : v->end;
        return 0;
}

/*
 * The variable-store geometries OVMF is built with (OvmfPkg's
 * OvmfPkgDefines.fdf.inc): FD_SIZE_IN_KB 1024 or 2048 gives a 128 KiB VARS
 * region whose live variable store ends at 0xe000 (the rest is the
 * fault-tolerant-write working block and spare); FD_SIZE_IN_KB 4096 gives a
 * 0x84000-byte region whose store ends at 0x40000. Debian's OVMF_VARS.fd and
 * OVMF_VARS_4M*.fd are these two.
 */
static const struct {
        uint64_t fv_len;
        uint32_t live_end;
} ovmf_layouts[] = {
        { 0x20000, 0xe000 },
        { 0x84000, 0x40000 },
};

static bool known_layout(uint64_t fv_len, uint32_t live_end)
{
        for (size_t i = 0; i < sizeof(ovmf_layouts) / sizeof(*ovmf_layouts); i++)
                if (ovmf_layouts[i].fv_len == fv_len && ovmf_layouts[i].live_end == live_end)
                        return true;
        return false;
}

static void layouts_text(char *buf, size_t cap)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < sizeof(ovmf_layouts) / sizeof(*ovmf_layouts) && n < cap; i++)
                n += (size_t)snprintf(buf + n, cap - n, "%s%llu bytes with the store ending at %u",
                                      i ? "; " : "", (unsigned long long)ovmf_layouts[i].fv_len,
                                      ovmf_layouts[i].live_end);
}

static int check_headers(mb_efivars *v, mb_error *err)
{
        const uint8_t *b = v->buf;
        mb_guid g;
        uint64_t fv_len, blocks_len = 0;
        uint32_t hlen, vs_size, sum = 0;
        bool terminated = false;

        if (v->size < FV_BLOCKMAP_OFF + 8 + VS_HDR_SIZE)
                return mb_error_set(err, MB_ECORRUPT, "%s: %zu bytes is too small for a UEFI variable store",
                                    v->path, v->size);
        if (le32(b + FV_SIG_OFF) != FV_SIGNATURE)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: not a firmware volume (no _FVH signature at offset 40)", v->path);
        memcpy(g.b, b + FV_FS_GUID_OFF, 16);
        if (!mb_guid_equal(&g, &nv_fv_guid)) {
                char t[MB_GUID_STR_LEN];

                return mb_error_set(err, MB_ENOTSUP,
                                    "%s: firmware volume of file system %s, not an NV variable store (fff12b8d-7696-4c8b-a985-2747075b4f50)",
                                    v->path, mb_guid_format(&g, t));
        }
        fv_len = le64(b + FV_LENGTH_OFF);
        hlen = le16(b + FV_HDRLEN_OFF);
        if (fv_len > v->size || hlen < FV_BLOCKMAP_OFF + 8 || hlen % 2 || hlen + VS_HDR_SIZE > fv_len)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: firmware volume header: length %llu, header length %u do not fit the file (%zu bytes)",
                                    v->path, (unsigned long long)fv_len, hlen, v->size);
        if (b[FV_REVISION_OFF] != 1 && b[FV_REVISION_OFF] != 2)
                return mb_error_set(err, MB_ENOTSUP, "%s: firmware volume header revision %u",
                                    v->path, b[FV_REVISION_OFF]);
        for (uint32_t i = 0; i < hlen; i += 2)
                sum += le16(b + i);
        if (sum & 0xffff)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: firmware volume header checksum is wrong (sum 0x%04x, expected 0)",
                                    v->path, sum & 0xffff);
        for (uint32_t i = FV_BLOCKMAP_OFF; i + 8 <= hlen; i += 8) {
                if (le32(b + i) == 0 && le32(b + i + 4) == 0) {
                        terminated = true;
                        break;
                }
                blocks_len += (uint64_t)le32(b + i) * le32(b + i + 4);
        }
        if (!terminated)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: firmware volume block map has no terminating entry", v->path);
        if (blocks_len != fv_len)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: firmware volume block map covers %llu bytes, but the volume claims %llu",
                                    v->path, (unsigned long long)blocks_len, (unsigned long long)fv_len);
        if (v->size != fv_len)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: the file is %zu bytes, but its firmware volume is %llu bytes; a variable store of another size than its volume is not what the firmware flashes (OVMF fails on it)",
                                    v->path, v->size, (unsigned long long)fv_len);
        memcpy(g.b, b + hlen, 16);
        if (mb_guid_equal(&g, &plain_store_guid))
                return mb_error_set(err, MB_ENOTSUP,
                                    "%s: non-authenticated variable store (ddcf3616-...): only the authenticated format OVMF writes is supported",
                                    v->path);
        if (!mb_guid_equal(&g, &auth_store_guid)) {
                char t[MB_GUID_STR_LEN];

                return mb_error_set(err, MB_ENOTSUP, "%s: unknown variable store signature %s",
                                    v->path, mb_guid_format(&g, t));
        }
        vs_size = le32(b + hlen + 16);
        if (vs_size < VS_HDR_SIZE || (uint64_t)hlen + vs_size > fv_len)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: variable store size %u does not fit the firmware volume (%llu bytes after a %u-byte header)",
                                    v->path, vs_size, (unsigned long long)fv_len, hlen);
        if (!known_layout(fv_len, hlen + vs_size)) {
                char known[160];

                layouts_text(known, sizeof(known));
                return mb_error_set(err, MB_ENOTSUP,
                                    "%s: a %llu-byte firmware volume whose variable store ends at %u bytes is not a known OVMF layout (%s)",
                                    v->path, (unsigned long long)fv_len, hlen + vs_size, known);
        }
        if (b[hlen + 20] != VS_FORMATTED || b[hlen + 21] != VS_HEALTHY)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: variable store is not formatted and healthy (format 0x%02x, state 0x%02x)",
                                    v->path, b[hlen + 20], b[hlen + 21]);
        v->first = align4(hlen + VS_HDR_SIZE);
        v->end = hlen + vs_size;
        return walk(v, err);
}

int mb_efivars_load(const char *path, mb_efivars **ret, mb_error *err)
{
        mb_efivars *v;
        struct stat st;
        ssize_t n;
        size_t got = 0;
        int fd, rc;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return mb_error_errno(err, errno == ENOENT ? MB_ENOENT : MB_EIO, errno,
                                      "%s: cannot open the UEFI variable store (open)", path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
                rc = mb_error_set(err, MB_EINVAL,
                                  "%s: not a regular file of at most %u bytes (a UEFI variable store)",
                                  path, MAX_FILE);
                close(fd);
                return rc;
        }
        v = calloc(1, sizeof(*v));
        if (!v || !(v->path = strdup(path)) || !(v->buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
                mb_efivars_free(v);
                close(fd);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        v->size = (size_t)st.st_size;
        while (got < v->size && (n = read(fd, v->buf + got, v->size - got)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot read (read)", path);
                        close(fd);
                        mb_efivars_free(v);
                        return rc;
                }
                got += (size_t)n;
        }
        close(fd);
        v->size = got;
        rc = check_headers(v, err);
        if (rc < 0) {
                mb_efivars_free(v);
                return rc;
        }
        *ret = v;
        return 0;
}

void mb_efivars_free(mb_efivars *v)
{
        if (!v)
                return;
        free(v->path);
        free(v->buf);
        free(v);
}

const char *mb_efivars_path(const mb_efivars *v)
{
        return v->path;
}

uint32_t mb_efivars_free_space(const mb_efivars *v)
{
        return v->end - v->next;
}

static void record_var(const mb_efivars *v, const record *r, mb_efivar *out)
{
        const uint8_t *h = v->buf + r->off;

        memset(out, 0, sizeof(*out));
        utf16_to_utf8(h + AV_HDR_SIZE, r->name_size / 2, out->name, sizeof(out->name));
        memcpy(out->vendor.b, h + AV_VENDOR_OFF, 16);
        out->attributes = le32(h + AV_ATTR_OFF);
        out->data = h + AV_HDR_SIZE + r->name_size;
        out->size = r->data_size;
        out->offset = r->off;
}

/* Is there a record with state ADDED for the same variable as r after r?
 * (A record left "in deleted transition" is live only without one.) */
static bool has_newer(const mb_efivars *v, const record *r)
{
        record q;
        uint32_t off = record_next(r);

        while (record_at(v, off, &q, NULL) > 0) {
                if (q.state == ST_ADDED && q.name_size == r->name_size &&
                    memcmp(v->buf + q.off + AV_VENDOR_OFF, v->buf + r->off + AV_VENDOR_OFF, 16) == 0 &&
                    memcmp(v->buf + q.off + AV_HDR_SIZE, v->buf + r->off + AV_HDR_SIZE, r->name_size) == 0)
                        return true;
                off = record_next(&q);
        }
        return false;
}

static bool record_live(const mb_efivars *v, const record *r)
{
        if (r->state == ST_ADDED)
                return true;
        return record_added(r) && !has_newer(v, r);
}

int mb_efivars_list(const mb_efivars *v, mb_efivar **ret, uint32_t *ret_n, mb_error *err)
{
        mb_efivar *list = NULL;
        uint32_t n = 0, off = v->first;
        record r;
        int rc;

        while ((rc = record_at(v, off, &r, err)) > 0) {
                if (record_live(v, &r)) {
                        mb_efivar *l = realloc(list, (n + 1) * sizeof(*l));

                        if (!l) {
                                free(list);
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        }
                        list = l;
                        record_var(v, &r, &list[n++]);
                }
                off = record_next(&r);
        }
        if (rc < 0) {
                free(list);
                return rc;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* The live record of (vendor, name16): its offset in *ret_off, or 0. */
static int find(const mb_efivars *v, const mb_guid *vendor, const uint8_t *name16, size_t name_size,
                record *ret, mb_error *err)
{
        uint32_t off = v->first;
        record r;
        int rc;

        while ((rc = record_at(v, off, &r, err)) > 0) {
                if (r.name_size == name_size && record_live(v, &r) &&
                    memcmp(v->buf + r.off + AV_VENDOR_OFF, vendor->b, 16) == 0 &&
                    memcmp(v->buf + r.off + AV_HDR_SIZE, name16, name_size) == 0) {
                        *ret = r;
                        return 1;
                }
                off = record_next(&r);
        }
        return rc;
}

static int encode_name(const mb_efivars *v, const char *name, uint8_t *out, size_t cap,
                       size_t *ret_size, mb_error *err)
{
        int rc = utf8_to_utf16(name, out, cap, ret_size);

        if (rc < 0 || *ret_size < 4)
                return mb_error_set(err, MB_EINVAL, "%s: variable name '%s' is %s", v->path, name,
                                    rc == -1 ? "not valid UTF-8" : rc == -2 ? "too long" : "empty");
        return 0;
}

int mb_efivars_get(const mb_efivars *v, const mb_guid *vendor, const char *name, mb_efivar *ret,
                   mb_error *err)
{
        uint8_t name16[2 * (MB_EFIVAR_NAME_MAX + 1)];
        size_t ns;
        record r;
        int rc;

        rc = encode_name(v, name, name16, sizeof(name16), &ns, err);
        if (rc < 0)
                return rc;
        rc = find(v, vendor, name16, ns, &r, err);
        if (rc < 0)
                return rc;
        if (rc == 0) {
                char g[MB_GUID_STR_LEN];

                return mb_error_set(err, MB_ENOENT, "%s: there is no variable %s-%s", v->path,
                                    name, mb_guid_format(vendor, g));
        }
        record_var(v, &r, ret);
        return 0;
}

int mb_efivars_set(mb_efivars *v, const mb_guid *vendor, const char *name, uint32_t attributes,
                   const void *data, uint32_t size, mb_error *err)
{
        uint8_t name16[2 * (MB_EFIVAR_NAME_MAX + 1)], *h;
        size_t ns;
        uint64_t need;
        record old;
        int found, rc;

        rc = encode_name(v, name, name16, sizeof(name16), &ns, err);
        if (rc < 0)
                return rc;
        if (attributes & ~(MB_EFI_VARIABLE_NV_BS_RT | MB_EFI_VARIABLE_TIME_BASED_AUTH))
                return mb_error_set(err, MB_ENOTSUP,
                                    "%s: variable %s: attributes 0x%x: only non-volatile, boot-service, runtime access and time-based authenticated writes are supported",
                                    v->path, name, attributes);
        if (size && !(attributes & MB_EFI_VARIABLE_NON_VOLATILE))
                return mb_error_set(err, MB_EINVAL,
                                    "%s: variable %s: a variable store file holds non-volatile variables only",
                                    v->path, name);
        found = find(v, vendor, name16, ns, &old, err);
        if (found < 0)
                return found;
        if (size) {
                need = (uint64_t)AV_HDR_SIZE + ns + size;
                if (v->next + need > v->end)
                        return mb_error_set(err, MB_ESTATE,
                                            "%s: the variable store is full: variable %s needs %llu bytes, %u are free",
                                            v->path, name, (unsigned long long)need, v->end - v->next);
                for (uint64_t i = 0; i < need; i++)
                        if (v->buf[v->next + i] != 0xff)
                                return mb_error_set(err, MB_ECORRUPT,
                                                    "%s: the free space of the variable store is not erased at offset 0x%llx",
                                                    v->path, (unsigned long long)(v->next + i));
                h = v->buf + v->next;
                memset(h, 0, AV_HDR_SIZE);
                put16(h, AV_START_ID);
                h[AV_STATE_OFF] = ST_ADDED;
                put32(h + AV_ATTR_OFF, attributes);
                put32(h + AV_NAMESIZE_OFF, (uint32_t)ns);
                put32(h + AV_DATASIZE_OFF, size);
                memcpy(h + AV_VENDOR_OFF, vendor->b, 16);
                memcpy(h + AV_HDR_SIZE, name16, ns);
                memcpy(h + AV_HDR_SIZE + ns, data, size);
                v->next = align4((uint32_t)(v->next + need));
                if (v->next > v->end)
                        v->next = v->end;
        }
        if (found > 0)
                v->buf[old.off + AV_STATE_OFF] &= ST_DELETED;
        return 0;
}

int mb_efivars_save(const mb_efivars *v, const char *path, mb_error *err)
{
        const char *to = path ? path : v->path;
        struct stat st;
        char *tmp;
        size_t done = 0;
        int fd;

        if (mb_fault_pointf(err, "save of the variable store %s", to) < 0)
                return MB_EIO;
        if (asprintf(&tmp, "%s.XXXXXX", to) < 0)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fd = mkstemp(tmp);
        if (fd < 0) {
                int rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot create a temporary file beside it (mkstemp)", to);

                free(tmp);
                return rc;
        }
        if (stat(to, &st) == 0)
                (void)fchmod(fd, st.st_mode & 07777);
        while (done < v->size) {
                ssize_t n = write(fd, v->buf + done, v->size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        goto fail;
                done += (size_t)n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (close(fd) < 0) {
                fd = -1;
                goto fail;
        }
        fd = -1;
        if (rename(tmp, to) < 0)
                goto fail;
        free(tmp);
        return 0;
fail:
        {
                int rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot write the variable store (write/fsync/rename of %s)",
                                        to, tmp);

                if (fd >= 0)
                        close(fd);
                unlink(tmp);
                free(tmp);
                return rc;
        }
}

/* ---- load options ---- */

int mb_efi_load_option_parse(const uint8_t *data, size_t size, mb_efi_load_option *ret,
                             mb_error *err)
{
        mb_efi_load_option o;
        size_t desc_end = 6, fpl, off;
        size_t plen = 0;

        memset(&o, 0, sizeof(o));
        if (size < 6 + 2)
                return mb_error_set(err, MB_ECORRUPT, "load option of %zu bytes is too short", size);
        o.attributes = le32(data);
        fpl = le16(data + 4);
        while (desc_end + 2 <= size && le16(data + desc_end) != 0)
                desc_end += 2;
        if (desc_end + 2 > size)
                return mb_error_set(err, MB_ECORRUPT, "load option: the description has no terminating NUL");
        utf16_to_utf8(data + 6, (desc_end - 6) / 2, o.description, sizeof(o.description));
        off = desc_end + 2;
        if (fpl > size - off)
                return mb_error_set(err, MB_ECORRUPT,
                                    "load option \"%s\": device path of %zu bytes overruns the option (%zu bytes left)",
                                    o.description, fpl, size - off);
        for (size_t p = off, end = off + fpl; p < end;) {
                uint8_t type, sub;
                size_t len;

                if (end - p < 4)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "load option \"%s\": truncated device path node at byte %zu",
                                            o.description, p - off);
                type = data[p], sub = data[p + 1], len = le16(data + p + 2);
                if (len < 4 || len > end - p)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "load option \"%s\": device path node of length %zu at byte %zu",
                                            o.description, len, p - off);
                if (type == DP_END)
                        break; /* end of this instance or of the whole path */
                if (type == DP_MEDIA && sub == DP_MEDIA_HD && len == DP_HD_LEN && !o.has_hd) {
                        const uint8_t *n = data + p + 4;

                        o.has_hd = true;
                        o.part_number = le32(n);
                        o.part_start = le64(n + 4);
                        o.part_size = le64(n + 12);
                        memcpy(o.signature.b, n + 20, 16);
                        o.mbr_type = n[36];
                        o.signature_type = n[37];
                } else if (type == DP_MEDIA && sub == DP_MEDIA_FILE) {
                        char piece[sizeof(o.path)];

                        if (!utf16_to_utf8(data + p + 4, (len - 4) / 2, piece, sizeof(piece)))
                                return mb_error_set(err, MB_ECORRUPT,
                                                    "load option \"%s\": file path longer than %zu bytes",
                                                    o.description, sizeof(o.path) - 1);
                        if (plen && o.path[plen - 1] != '\\' && piece[0] != '\\' && piece[0])
                                o.path[plen++] = '\\';
                        if (plen + strlen(piece) >= sizeof(o.path))
                                return mb_error_set(err, MB_ECORRUPT,
                                                    "load option \"%s\": file path longer than %zu bytes",
                                                    o.description, sizeof(o.path) - 1);
                        memcpy(o.path + plen, piece, strlen(piece) + 1);
                        plen += strlen(piece);
                }
                p += len;
        }
        *ret = o;
        return 0;
}

int mb_efi_load_option_build(const mb_efi_load_option *o, uint8_t **ret, size_t *ret_size,
                             mb_error *err)
{
        uint8_t desc[2 * 256 + 2], path[2 * 260 + 2], *b, *p;
        size_t dl, pl, fpl, total;

        if (!o->has_hd)
                return mb_error_set(err, MB_EINVAL, "load option \"%s\": no partition (HD node) given",
                                    o->description);
        if (utf8_to_utf16(o->description, desc, sizeof(desc), &dl) < 0)
                return mb_error_set(err, MB_EINVAL, "load option \"%s\": invalid or too long description",
                                    o->description);
        if (utf8_to_utf16(o->path, path, sizeof(path), &pl) < 0 || pl < 4 || o->path[0] != '\\')
                return mb_error_set(err, MB_EINVAL,
                                    "load option \"%s\": file path '%s' is not an absolute \\-separated path",
                                    o->description, o->path);
        fpl = DP_HD_LEN + 4 + pl + 4;
        total = 6 + dl + fpl;
        if (!(b = calloc(1, total)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        put32(b, o->attributes);
        put16(b + 4, (uint16_t)fpl);
        memcpy(b + 6, desc, dl);
        p = b + 6 + dl;
        p[0] = DP_MEDIA, p[1] = DP_MEDIA_HD;
        put16(p + 2, DP_HD_LEN);
        put32(p + 4, o->part_number);
        put64(p + 8, o->part_start);
        put64(p + 16, o->part_size);
        memcpy(p + 24, o->signature.b, 16);
        p[40] = o->mbr_type;
        p[41] = o->signature_type;
        p += DP_HD_LEN;
        p[0] = DP_MEDIA, p[1] = DP_MEDIA_FILE;
        put16(p + 2, (uint16_t)(4 + pl));
        memcpy(p + 4, path, pl);
        p += 4 + pl;
        p[0] = DP_END, p[1] = DP_END_ENTIRE;
        put16(p + 2, 4);
        *ret = b;
        *ret_size = total;
        return 0;
}

/* ---- Boot#### and BootOrder ---- */

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* "Boot####" -> number, or -1. */
static int boot_number(const char *name)
{
        int n = 0;

        if (strncmp(name, "Boot", 4) != 0 || strlen(name) != 8)
                return -1;
        for (int i = 4; i < 8; i++) {
                int d = hexval(name[i]);

                if (d < 0)
                        return -1;
                n = n * 16 + d;
        }
        return n;
}

static int cmp_entry(const void *a, const void *b)
{
        const mb_efi_boot_entry *x = a, *y = b;

        return (int)x->number - (int)y->number;
}

int mb_efivars_boot_entries(const mb_efivars *v, mb_efi_boot_entry **ret, uint32_t *ret_n,
                            mb_error *err)
{
        mb_efi_boot_entry *out = NULL;
        mb_efivar *vars;
        uint32_t nv, n = 0;
        int rc;

        rc = mb_efivars_list(v, &vars, &nv, err);
        if (rc < 0)
                return rc;
        for (uint32_t i = 0; i < nv; i++) {
                int num = boot_number(vars[i].name);
                mb_efi_boot_entry *e;

                if (num < 0 || !mb_guid_equal(&vars[i].vendor, &mb_efi_global_variable))
                        continue;
                if (!(e = realloc(out, (n + 1) * sizeof(*e)))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                out = e;
                out[n].number = (uint16_t)num;
                rc = mb_efi_load_option_parse(vars[i].data, vars[i].size, &out[n].option, err);
                if (rc < 0) {
                        mb_error_prefix(err, "%s: variable %s", v->path, vars[i].name);
                        break;
                }
                n++;
        }
        free(vars);
        if (rc < 0) {
                free(out);
                return rc;
        }
        if (n)
                qsort(out, n, sizeof(*out), cmp_entry);
        *ret = out;
        *ret_n = n;
        return 0;
}

int mb_efivars_boot_order(const mb_efivars *v, uint16_t **ret, uint32_t *ret_n, mb_error *err)
{
        mb_efivar var;
        uint16_t *order;
        int rc = mb_efivars_get(v, &mb_efi_global_variable, "BootOrder", &var, err);

        if (rc == MB_ENOENT) {
                mb_error_clear(err);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (rc < 0)
                return rc;
        if (var.size % 2)
                return mb_error_set(err, MB_ECORRUPT, "%s: BootOrder has an odd size (%u bytes)",
                                    v->path, var.size);
        if (!(order = malloc(var.size ? var.size : 1)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < var.size / 2; i++)
                order[i] = le16(var.data + 2 * i);
        *ret = order;
        *ret_n = var.size / 2;
        return 0;
}

int mb_efivars_set_boot_entry(mb_efivars *v, uint16_t number, const mb_efi_load_option *o,
                              mb_error *err)
{
        char name[16];
        uint8_t *data;
        size_t size;
        int rc;

        rc = mb_efi_load_option_build(o, &data, &size, err);
        if (rc < 0)
                return rc;
        snprintf(name, sizeof(name), "Boot%04X", number);
        rc = mb_efivars_set(v, &mb_efi_global_variable, name, MB_EFI_VARIABLE_NV_BS_RT, data,
                            (uint32_t)size, err);
        free(data);
        return rc;
}

int mb_efivars_delete_boot_entry(mb_efivars *v, uint16_t number, mb_error *err)
{
        char name[16];

        snprintf(name, sizeof(name), "Boot%04X", number);
        return mb_efivars_set(v, &mb_efi_global_variable, name, MB_EFI_VARIABLE_NV_BS_RT, NULL, 0,
                              err);
}

int mb_efivars_set_boot_order(mb_efivars *v, const uint16_t *order, uint32_t n, mb_error *err)
{
        uint8_t *data;
        int rc;

        if (n == 0)
                return mb_efivars_set(v, &mb_efi_global_variable, "BootOrder",
                                      MB_EFI_VARIABLE_NV_BS_RT, NULL, 0, err);
        if (n > 0xffff || !(data = malloc(2 * (size_t)n)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
                put16(data + 2 * i, order[i]);
        rc = mb_efivars_set(v, &mb_efi_global_variable, "BootOrder", MB_EFI_VARIABLE_NV_BS_RT, data,
                            2 * n, err);
        free(data);
        return rc;
}
