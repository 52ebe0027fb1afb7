/* SPDX-License-Identifier: MIT */
/*
 * The registry hive ("regf") byte level: writing a new, empty BCD store and
 * checking a hive file's base block and bins before libhivex parses it.
 *
 * Layout (all little-endian; learnt from the public "Windows NT Registry File
 * (REGF) format" documentation and checked against a store written by
 * Windows):
 *
 *   base block, 4096 bytes
 *     0x000 "regf"          0x004 primary sequence   0x008 secondary sequence
 *     0x00c last written (FILETIME)   0x014 major 1   0x018 minor 3
 *     0x01c file type 0 (primary)     0x020 file format 1
 *     0x024 root cell offset          0x028 size of all hive bins
 *     0x02c clustering factor 1       0x030 file name tail, UTF-16LE, 64 bytes
 *     0x1fc checksum: XOR of the dwords at 0x000..0x1f8
 *   hive bins, each a multiple of 4096 bytes, from file offset 4096
 *     0x00 "hbin"  0x04 offset of this bin from the first  0x08 bin size
 *     0x14 timestamp (first bin)      then cells
 *   cell: int32 size (negative = in use, multiple of 8) then the record;
 *   cell offsets are relative to the first bin and point at the size field.
 *
 * Records used here: "nk" key, "sk" security descriptor, "vk" value, "lf"
 * subkey list with 4-character name hints, and a value list (array of vk
 * offsets).
 */
#include "bcd.h"
#include "bcd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"

#define REGF_BASE       4096u
#define HBIN_SIZE       4096u
#define HBIN_HDR        32u

/* nk flags */
#define KEY_HIVE_ENTRY  0x0004
#define KEY_NO_DELETE   0x0008
#define KEY_COMP_NAME   0x0020

uint32_t mb_bcd_hive_checksum(const uint8_t *base)
{
        uint32_t x = 0;

        for (size_t i = 0; i < 0x1fc; i += 4)
                x ^= mb_le32(base + i);
        if (x == 0xffffffffu)
                x = 0xfffffffeu;
        else if (x == 0)
                x = 1;
        return x;
}

int mb_bcd_hive_check(const uint8_t *buf, size_t len, const char *name, mb_error *err)
{
        uint32_t sum, major, minor, root, bins;
        uint64_t off;

        if (len < REGF_BASE + HBIN_SIZE)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: file is %zu bytes, a registry hive has at least %u",
                                    name, len, REGF_BASE + HBIN_SIZE);
        if (memcmp(buf, "regf", 4) != 0)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: not a registry hive (no \"regf\" signature at offset 0)",
                                    name);
        sum = mb_bcd_hive_checksum(buf);
        if (sum != mb_le32(buf + 0x1fc))
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: base block checksum is 0x%08x, computed 0x%08x",
                                    name, mb_le32(buf + 0x1fc), sum);
        major = mb_le32(buf + 0x14);
        minor = mb_le32(buf + 0x18);
        if (major != 1 || minor < 2 || minor > 6)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: unsupported hive version %u.%u", name, major, minor);
        if (mb_le32(buf + 0x1c) != 0)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: file type %u is not a primary hive (a transaction log?)",
                                    name, mb_le32(buf + 0x1c));
        bins = mb_le32(buf + 0x28);
        if (bins == 0 || bins % HBIN_SIZE != 0)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: hive bins size %u is not a positive multiple of %u",
                                    name, bins, HBIN_SIZE);
        if ((uint64_t)REGF_BASE + bins > len)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: truncated: the header announces %u bytes of hive bins, the file has %zu",
                                    name, bins, len - REGF_BASE);
        for (off = 0; off < bins; ) {
                const uint8_t *hb = buf + REGF_BASE + off;
                uint32_t bsize;

                if (memcmp(hb, "hbin", 4) != 0)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "BCD %s: no \"hbin\" signature at file offset %llu",
                                            name, (unsigned long long)(REGF_BASE + off));
                bsize = mb_le32(hb + 8);
                if (mb_le32(hb + 4) != off || bsize < HBIN_SIZE || bsize % HBIN_SIZE != 0 ||
                    bsize > bins - off)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "BCD %s: hive bin at file offset %llu has offset %u size %u (expected offset %llu, size a multiple of %u within %u)",
                                            name, (unsigned long long)(REGF_BASE + off),
                                            mb_le32(hb + 4), bsize, (unsigned long long)off,
                                            HBIN_SIZE, bins);
                off += bsize;
        }
        root = mb_le32(buf + 0x24);
        if (root < HBIN_HDR || root % 8 != 0 || (uint64_t)root + 4 + 0x4c > bins ||
            memcmp(buf + REGF_BASE + root + 4, "nk", 2) != 0)
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: root cell offset 0x%x does not point at a key (\"nk\") record",
                                    name, root);
        return 0;
}

/* ---- writing a new hive ------------------------------------------------ */

struct bin {
        uint8_t *b;     /* the first hive bin; cell offsets index it directly */
        uint32_t used;
};

/* Allocates a cell for a record of len bytes; returns its offset. */
static uint32_t cell_alloc(struct bin *h, uint32_t len)
{
        uint32_t size = (len + 4 + 7) & ~7u;
        uint32_t off = h->used;

        mb_put_le32(h->b + off, (uint32_t)-(int32_t)size);
        h->used += size;
        return off;
}

static uint8_t *cell_data(struct bin *h, uint32_t off)
{
        return h->b + off + 4;
}

/* A SID S-1-5-<subs...> into p; returns its length. */
static size_t put_sid(uint8_t *p, const uint32_t *subs, int n)
{
        p[0] = 1;
        p[1] = (uint8_t)n;
        memset(p + 2, 0, 5);
        p[7] = 5; /* SECURITY_NT_AUTHORITY */
        for (int i = 0; i < n; i++)
                mb_put_le32(p + 8 + 4 * i, subs[i]);
        return 8 + 4 * (size_t)n;
}

/*
 * A self-relative security descriptor as Windows puts on a new BCD store:
 * owner BUILTIN\Administrators, a DACL granting Administrators admin_mask and
 * SYSTEM full control (KEY_ALL_ACCESS). The group is SYSTEM here (Windows
 * writes the creating machine's domain-users SID). Returns the length.
 */
static size_t build_sd(uint8_t *p, uint32_t admin_mask)
{
        static const uint32_t ba[] = { 32, 544 }, sy[] = { 18 };
        size_t o, acl, n;

        p[0] = 1;
        p[1] = 0;
        mb_put_le16(p + 2, 0x8004); /* SE_SELF_RELATIVE | SE_DACL_PRESENT */
        mb_put_le32(p + 12, 0);     /* no SACL */
        mb_put_le32(p + 16, 20);    /* DACL right after the header */
        acl = 20;
        p[acl] = 2;                 /* ACL_REVISION */
        p[acl + 1] = 0;
        mb_put_le16(p + acl + 6, 0);
        mb_put_le16(p + acl + 4, 2); /* two ACEs */
        o = acl + 8;
        /* ACCESS_ALLOWED_ACE: type 0, flags 0, size, mask, SID */
        p[o] = 0; p[o + 1] = 0;
        mb_put_le32(p + o + 4, admin_mask);
        n = put_sid(p + o + 8, ba, 2);
        mb_put_le16(p + o + 2, (uint16_t)(8 + n));
        o += 8 + n;
        p[o] = 0; p[o + 1] = 0;
        mb_put_le32(p + o + 4, 0x000f003f); /* KEY_ALL_ACCESS */
        n = put_sid(p + o + 8, sy, 1);
        mb_put_le16(p + o + 2, (uint16_t)(8 + n));
        o += 8 + n;
        mb_put_le16(p + acl + 2, (uint16_t)(o - acl));
        mb_put_le32(p + 4, (uint32_t)o);    /* owner */
        o += put_sid(p + o, ba, 2);
        mb_put_le32(p + 8, (uint32_t)o);    /* group */
        o += put_sid(p + o, sy, 1);
        return o;
}

struct nk_args {
        uint16_t flags;
        uint32_t parent, n_sub, sublist, n_val, vallist, sk;
        uint32_t max_subname, max_valname, max_valdata;
        const char *name;
};

static void put_nk(uint8_t *d, uint64_t ts, const struct nk_args *a)
{
        size_t len = strlen(a->name);

        memcpy(d, "nk", 2);
        mb_put_le16(d + 0x02, a->flags);
        mb_put_le64(d + 0x04, ts);
        mb_put_le32(d + 0x0c, 2);           /* access bits, as Windows sets them */
        mb_put_le32(d + 0x10, a->parent);
        mb_put_le32(d + 0x14, a->n_sub);
        mb_put_le32(d + 0x18, 0);           /* volatile subkeys */
        mb_put_le32(d + 0x1c, a->sublist);
        mb_put_le32(d + 0x20, 0xffffffffu);
        mb_put_le32(d + 0x24, a->n_val);
        mb_put_le32(d + 0x28, a->vallist);
        mb_put_le32(d + 0x2c, a->sk);
        mb_put_le32(d + 0x30, 0xffffffffu); /* no class name */
        mb_put_le32(d + 0x34, a->max_subname);
        mb_put_le32(d + 0x38, 0);
        mb_put_le32(d + 0x3c, a->max_valname);
        mb_put_le32(d + 0x40, a->max_valdata);
        mb_put_le32(d + 0x44, 0);
        mb_put_le16(d + 0x48, (uint16_t)len);
        mb_put_le16(d + 0x4a, 0);
        memcpy(d + 0x4c, a->name, len);
}

static uint64_t filetime_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

/* Builds the whole 8 KiB file image of an empty store into img. */
static void build_empty_store(uint8_t *img, const char *path)
{
        static const char keyname[] = "BCD00000001";
        uint8_t sd1[128], sd2[128], *d;
        size_t sd1_len, sd2_len, plen;
        uint64_t now = filetime_now();
        struct bin h = { img + REGF_BASE, HBIN_HDR };
        uint32_t root, sk1, objects, sk2, desc, vlist, vk, data, lf;
        const char *tail;

        memset(img, 0, REGF_BASE + HBIN_SIZE);
        sd1_len = build_sd(sd1, 0x000f003f);  /* root: Administrators full control */
        sd2_len = build_sd(sd2, 0x00060019);  /* below: KEY_READ | WRITE_DAC | WRITE_OWNER */

        root = cell_alloc(&h, 0x4c + 12);
        sk1 = cell_alloc(&h, 0x14 + (uint32_t)sd1_len);
        objects = cell_alloc(&h, 0x4c + 7);
        sk2 = cell_alloc(&h, 0x14 + (uint32_t)sd2_len);
        desc = cell_alloc(&h, 0x4c + 11);
        vlist = cell_alloc(&h, 4);
        vk = cell_alloc(&h, 0x14 + 7);
        data = cell_alloc(&h, sizeof(keyname) * 2);
        lf = cell_alloc(&h, 4 + 2 * 8);

        put_nk(cell_data(&h, root), now, &(struct nk_args){
                .flags = KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME,
                .parent = 0xffffffffu, .n_sub = 2, .sublist = lf, .n_val = 0,
                .vallist = 0xffffffffu, .sk = sk1, .max_subname = 2 * 11, .name = "NewStoreRoot" });
        put_nk(cell_data(&h, objects), now, &(struct nk_args){
                .flags = KEY_COMP_NAME, .parent = root, .sublist = 0xffffffffu,
                .vallist = 0xffffffffu, .sk = sk2, .name = "Objects" });
        put_nk(cell_data(&h, desc), now, &(struct nk_args){
                .flags = KEY_COMP_NAME, .parent = root, .sublist = 0xffffffffu, .n_val = 1,
                .vallist = vlist, .sk = sk2, .max_valname = 2 * 7,
                .max_valdata = sizeof(keyname) * 2, .name = "Description" });

        /* the two security cells form a circular list; refcount = keys using it */
        d = cell_data(&h, sk1);
        memcpy(d, "sk", 2);
        mb_put_le32(d + 4, sk2);
        mb_put_le32(d + 8, sk2);
        mb_put_le32(d + 12, 1);
        mb_put_le32(d + 16, (uint32_t)sd1_len);
        memcpy(d + 20, sd1, sd1_len);
        d = cell_data(&h, sk2);
        memcpy(d, "sk", 2);
        mb_put_le32(d + 4, sk1);
        mb_put_le32(d + 8, sk1);
        mb_put_le32(d + 12, 2);
        mb_put_le32(d + 16, (uint32_t)sd2_len);
        memcpy(d + 20, sd2, sd2_len);

        mb_put_le32(cell_data(&h, vlist), vk);
        d = cell_data(&h, vk);
        memcpy(d, "vk", 2);
        mb_put_le16(d + 2, 7);
        mb_put_le32(d + 4, sizeof(keyname) * 2);
        mb_put_le32(d + 8, data);
        mb_put_le32(d + 12, 1);         /* REG_SZ */
        mb_put_le16(d + 16, 1);         /* name is ASCII */
        memcpy(d + 20, "KeyName", 7);
        d = cell_data(&h, data);
        for (size_t i = 0; i < sizeof(keyname); i++)
                mb_put_le16(d + 2 * i, (uint8_t)keyname[i]);

        /* subkeys sorted case-insensitively: Description, Objects */
        d = cell_data(&h, lf);
        memcpy(d, "lf", 2);
        mb_put_le16(d + 2, 2);
        mb_put_le32(d + 4, desc);
        memcpy(d + 8, "Desc", 4);
        mb_put_le32(d + 12, objects);
        memcpy(d + 16, "Obje", 4);

        /* the rest of the bin is one free cell */
        mb_put_le32(h.b + h.used, HBIN_SIZE - h.used);

        memcpy(h.b, "hbin", 4);
        mb_put_le32(h.b + 4, 0);
        mb_put_le32(h.b + 8, HBIN_SIZE);
        mb_put_le64(h.b + 0x14, now);

        memcpy(img, "regf", 4);
        mb_put_le32(img + 0x04, 1);
        mb_put_le32(img + 0x08, 1);
        mb_put_le64(img + 0x0c, now);
        mb_put_le32(img + 0x14, 1);
        mb_put_le32(img + 0x18, 3);
        mb_put_le32(img + 0x1c, 0);
        mb_put_le32(img + 0x20, 1);
        mb_put_le32(img + 0x24, root);
        mb_put_le32(img + 0x28, HBIN_SIZE);
        mb_put_le32(img + 0x2c, 1);
        /* file name: the last 31 characters of the path, '\'-separated */
        plen = strlen(path);
        tail = plen > 31 ? path + plen - 31 : path;
        for (size_t i = 0; tail[i]; i++)
                mb_put_le16(img + 0x30 + 2 * i, (uint8_t)(tail[i] == '/' ? '\\' : tail[i]));
        mb_put_le32(img + 0x1fc, mb_bcd_hive_checksum(img));
}

int mb_bcd_create(const char *path, mb_error *err)
{
        uint8_t img[REGF_BASE + HBIN_SIZE];
        size_t done = 0;
        int fd;

        build_empty_store(img, path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return mb_error_errno(err, errno == EEXIST ? MB_EINVAL : MB_EIO, errno,
                                      "BCD %s: cannot create the store file (open)", path);
        while (done < sizeof(img)) {
                ssize_t n = write(fd, img + done, sizeof(img) - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int e = n < 0 ? errno : EIO;

                        close(fd);
                        unlink(path);
                        return mb_error_errno(err, MB_EIO, e, "BCD %s: writing the new store (write)",
                                              path);
                }
                done += (size_t)n;
        }
        if (fsync(fd) != 0) {
                int e = errno;

                close(fd);
                unlink(path);
                return mb_error_errno(err, MB_EIO, e, "BCD %s: writing the new store (fsync)",
                                      path);
        }
        if (close(fd) != 0) {
                int e = errno;

                unlink(path);
                return mb_error_errno(err, MB_EIO, e, "BCD %s: writing the new store (close)",
                                      path);
        }
        return 0;
}
