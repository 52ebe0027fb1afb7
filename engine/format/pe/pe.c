/* SPDX-License-Identifier: MIT */
/*
 * PE/COFF boot programs: headers, version resource, Authenticode digest
 * and the PKCS#7 blobs of the certificate table (see pe.h); plain C, built
 * for every host. The signers are pe_sign.c's (libcrypto). Layouts from Microsoft's "PE Format" page
 * (COFF file header, optional header PE32/PE32+, data directories,
 * section table, resource directory) and "Windows Authenticode Portable
 * Executable Signature Format" (which bytes the digest covers,
 * WIN_CERTIFICATE, SpcIndirectDataContent).
 */
#include "format/pe/pe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#define PE32_MAGIC      0x10b
#define PE32PLUS_MAGIC  0x20b
#define DIR_RESOURCE    2
#define DIR_SECURITY    4
#define RT_VERSION      16
#define WIN_CERT_REVISION_2_0       0x0200
#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define VS_FFI_SIGNATURE 0xfeef04bdu

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* True when [off, off+len) lies inside [0, size). */
static bool inside(size_t size, uint64_t off, uint64_t len)
{
        return off <= size && len <= size - off;
}

typedef struct section {
        uint32_t va, vsize, raw, rawsize;
} section;

typedef struct pe_layout {
        uint32_t opt;           /* offset of the optional header */
        uint32_t checksum;      /* offset of CheckSum */
        uint32_t dirs;          /* offset of the first data directory */
        uint32_t n_dirs;
        uint32_t size_of_headers;
        section *sec;
        uint32_t n_sec;
} pe_layout;

static int corrupt(mb_error *err, const char *name, const char *what)
{
        return mb_error_set(err, MB_ECORRUPT, "%s: not a valid PE/COFF image: %s", name, what);
}

static int read_layout(const char *name, const uint8_t *d, size_t size, uint16_t *ret_machine,
                       pe_layout *l, mb_error *err)
{
        uint32_t pe, opt_size, magic;

        if (size < 64 || d[0] != 'M' || d[1] != 'Z')
                return corrupt(err, name, "no MZ header");
        pe = le32(d + 0x3c);
        if (!inside(size, pe, 24) || memcmp(d + pe, "PE\0\0", 4) != 0)
                return corrupt(err, name, "no PE signature at e_lfanew");
        *ret_machine = le16(d + pe + 4);
        l->n_sec = le16(d + pe + 6);
        opt_size = le16(d + pe + 20);
        l->opt = pe + 24;
        if (!inside(size, l->opt, opt_size) || opt_size < 2)
                return corrupt(err, name, "the optional header lies outside the file");
        magic = le16(d + l->opt);
        if (magic != PE32_MAGIC && magic != PE32PLUS_MAGIC)
                return corrupt(err, name, "unknown optional header magic");
        /* CheckSum is at 64 in both; the data directories follow
         * NumberOfRvaAndSizes at 92 (PE32) or 108 (PE32+). */
        l->checksum = l->opt + 64;
        {
                uint32_t nrva = magic == PE32_MAGIC ? 92 : 108;

                if (opt_size < nrva + 4)
                        return corrupt(err, name, "the optional header is too short");
                l->n_dirs = le32(d + l->opt + nrva);
                l->dirs = l->opt + nrva + 4;
                if ((uint64_t)l->n_dirs * 8 > opt_size - nrva - 4)
                        return corrupt(err, name, "NumberOfRvaAndSizes overruns the optional header");
        }
        l->size_of_headers = le32(d + l->opt + 60);
        if (l->size_of_headers > size || l->size_of_headers < l->opt + opt_size)
                return corrupt(err, name, "SizeOfHeaders is outside the file");
        if (!inside(size, (uint64_t)l->opt + opt_size, (uint64_t)l->n_sec * 40))
                return corrupt(err, name, "the section table lies outside the file");
        if (l->n_sec && !(l->sec = calloc(l->n_sec, sizeof(*l->sec))))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < l->n_sec; i++) {
                const uint8_t *s = d + l->opt + opt_size + 40 * i;

                l->sec[i].vsize = le32(s + 8);
                l->sec[i].va = le32(s + 12);
                l->sec[i].rawsize = le32(s + 16);
                l->sec[i].raw = le32(s + 20);
                if (l->sec[i].rawsize && !inside(size, l->sec[i].raw, l->sec[i].rawsize)) {
                        free(l->sec);
                        l->sec = NULL;
                        return corrupt(err, name, "a section's raw data lies outside the file");
                }
        }
        return 0;
}

static void dir_entry(const uint8_t *d, const pe_layout *l, uint32_t i, uint32_t *ret_va,
                      uint32_t *ret_size)
{
        *ret_va = *ret_size = 0;
        if (i < l->n_dirs) {
                *ret_va = le32(d + l->dirs + 8 * i);
                *ret_size = le32(d + l->dirs + 8 * i + 4);
        }
}

/* File offset of an RVA, or false when no section holds [rva, rva+len). */
static bool rva_to_off(const pe_layout *l, size_t size, uint32_t rva, uint32_t len, uint64_t *ret)
{
        for (uint32_t i = 0; i < l->n_sec; i++) {
                const section *s = &l->sec[i];
                uint32_t span = s->rawsize < s->vsize || !s->vsize ? s->rawsize : s->vsize;

                if (rva >= s->va && rva - s->va <= span && len <= span - (rva - s->va)) {
                        *ret = (uint64_t)s->raw + (rva - s->va);
                        return inside(size, *ret, len);
                }
        }
        return false;
}

static int raw_cmp(const void *a, const void *b)
{
        const section *x = a, *y = b;

        return x->raw < y->raw ? -1 : x->raw > y->raw;
}

/* The Authenticode digest: the headers without CheckSum and without the
 * certificate table's directory entry, then every section's raw data in
 * file order, then whatever follows the sections except the certificate
 * table itself. */
static int authenticode(const char *name, const uint8_t *d, size_t size, const pe_layout *l,
                        char ret[65], mb_error *err)
{
        mb_sha256 h;
        uint32_t cert_off, cert_size;
        uint64_t hashed, end;
        section *s;

        dir_entry(d, l, DIR_SECURITY, &cert_off, &cert_size);
        if (cert_size && !inside(size, cert_off, cert_size))
                return corrupt(err, name, "the attribute certificate table lies outside the file");
        mb_sha256_init(&h);
        mb_sha256_update(&h, d, l->checksum);
        if (l->n_dirs > DIR_SECURITY) {
                uint32_t ce = l->dirs + 8 * DIR_SECURITY;

                mb_sha256_update(&h, d + l->checksum + 4, ce - (l->checksum + 4));
                mb_sha256_update(&h, d + ce + 8, l->size_of_headers - (ce + 8));
        } else {
                mb_sha256_update(&h, d + l->checksum + 4, l->size_of_headers - (l->checksum + 4));
        }
        hashed = l->size_of_headers;
        if (l->n_sec && !(s = malloc(l->n_sec * sizeof(*s))))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (!l->n_sec)
                s = NULL;
        else
                memcpy(s, l->sec, l->n_sec * sizeof(*s));
        qsort(s, l->n_sec, sizeof(*s), raw_cmp);
        for (uint32_t i = 0; i < l->n_sec; i++) {
                if (!s[i].rawsize)
                        continue;
                mb_sha256_update(&h, d + s[i].raw, s[i].rawsize);
                hashed += s[i].rawsize;
        }
        free(s);
        end = size;
        if (cert_size) {
                if (end < cert_size)
                        return corrupt(err, name, "the attribute certificate table is larger than the file");
                end -= cert_size;
        }
        if (end > hashed) {
                /* The trailing data between the last section and the certificate
                 * table (or the end of the file). */
                uint64_t from = hashed;

                for (uint32_t i = 0; i < l->n_sec; i++)
                        if (l->sec[i].rawsize && (uint64_t)l->sec[i].raw + l->sec[i].rawsize > from)
                                from = (uint64_t)l->sec[i].raw + l->sec[i].rawsize;
                if (from < end)
                        mb_sha256_update(&h, d + from, end - from);
        }
        mb_sha256_final_hex(&h, ret);
        return 0;
}

/* ---- version resource ---- */

/* The first entry of the resource directory at dir (offset in the file,
 * base = the resource section's start): with want >= 0 the entry whose
 * integer id is want. Returns the entry's offset field, or false. */
static bool rsrc_entry(const uint8_t *d, size_t size, uint64_t base, uint64_t dir, long want,
                       uint32_t *ret)
{
        uint32_t n;

        if (!inside(size, dir, 16))
                return false;
        n = (uint32_t)le16(d + dir + 12) + le16(d + dir + 14);
        if (!inside(size, dir + 16, (uint64_t)n * 8))
                return false;
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = d + dir + 16 + 8 * i;
                uint32_t id = le32(e);

                if (want >= 0 && ((id & 0x80000000u) || id != (uint32_t)want))
                        continue;
                *ret = le32(e + 4);
                (void)base;
                return true;
        }
        return false;
}

static void read_version(const uint8_t *d, size_t size, const pe_layout *l, mb_pe_info *pe)
{
        uint32_t va, vs, e, data_rva, data_size;
        uint64_t base, off;
        static const char key[] = "VS_VERSION_INFO";
        long want = RT_VERSION;

        dir_entry(d, l, DIR_RESOURCE, &va, &vs);
        if (!va || !vs || !rva_to_off(l, size, va, vs, &base))
                return;
        off = base;
        /* type RT_VERSION -> first name -> first language -> data entry */
        for (int level = 0; level < 3; level++, want = -1) {
                if (!rsrc_entry(d, size, base, off, want, &e))
                        return;
                if (level < 2 && !(e & 0x80000000u))
                        return;
                off = base + (e & 0x7fffffffu);
        }
        if (!inside(size, off, 16))
                return;
        data_rva = le32(d + off);
        data_size = le32(d + off + 4);
        if (!rva_to_off(l, size, data_rva, data_size, &off) || data_size < 6 + 32 + 52)
                return;
        /* VS_VERSIONINFO: wLength, wValueLength, wType, szKey (UTF-16, NUL),
         * padding to 32 bits, then VS_FIXEDFILEINFO. */
        for (size_t i = 0; i < sizeof(key); i++)
                if (le16(d + off + 6 + 2 * i) != (uint8_t)key[i])
                        return;
        off += (6 + 2 * sizeof(key) + 3) & ~3u;
        if (!inside(size, off, 52) || le32(d + off) != VS_FFI_SIGNATURE)
                return;
        pe->version[0] = (uint16_t)(le32(d + off + 8) >> 16);
        pe->version[1] = (uint16_t)le32(d + off + 8);
        pe->version[2] = (uint16_t)(le32(d + off + 12) >> 16);
        pe->version[3] = (uint16_t)le32(d + off + 12);
        pe->has_version = true;
}

/* The attribute certificate table: WIN_CERTIFICATE entries, each 8-byte
 * aligned; only PKCS#7 SignedData (revision 2.0) is Authenticode. */
static int read_signatures(const char *name, const uint8_t *d, size_t size, const pe_layout *l,
                           mb_pe_blob **ret, uint32_t *ret_n, mb_error *err)
{
        uint32_t off, len;
        uint64_t pos, end;

        dir_entry(d, l, DIR_SECURITY, &off, &len);
        if (!len)
                return 0;
        if (!inside(size, off, len))
                return corrupt(err, name, "the attribute certificate table lies outside the file");
        pos = off;
        end = (uint64_t)off + len;
        while (pos + 8 <= end) {
                uint32_t wlen = le32(d + pos);
                uint16_t rev = le16(d + pos + 4), type = le16(d + pos + 6);

                if (wlen < 8 || wlen > end - pos)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s: certificate table entry at offset %llu has length %u, past the table's end",
                                            name, (unsigned long long)pos, wlen);
                if (rev == WIN_CERT_REVISION_2_0 && type == WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
                        mb_pe_blob *grown = realloc(*ret, (*ret_n + 1) * sizeof(*grown));

                        if (!grown)
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        *ret = grown;
                        grown[*ret_n].data = d + pos + 8;
                        grown[*ret_n].size = wlen - 8;
                        (*ret_n)++;
                }
                pos += ((uint64_t)wlen + 7) & ~(uint64_t)7;
        }
        return 0;
}

void mb_pe_info_clear(mb_pe_info *pe)
{
        if (!pe)
                return;
        for (uint32_t i = 0; i < pe->n_signatures; i++)
                free(pe->signatures[i].certs);
        free(pe->signatures);
        memset(pe, 0, sizeof(*pe));
}

int mb_pe_parse_image(const char *name, const uint8_t *data, size_t size, mb_pe_info *ret,
                      mb_pe_blob **ret_blobs, uint32_t *ret_n_blobs, mb_error *err)
{
        mb_pe_info pe = { 0 };
        pe_layout l = { 0 };
        mb_pe_blob *blobs = NULL;
        uint32_t n = 0;
        int rc;

        rc = read_layout(name, data, size, &pe.machine, &l, err);
        if (rc < 0)
                return rc;
        rc = authenticode(name, data, size, &l, pe.authenticode_sha256, err);
        if (rc == 0)
                rc = read_signatures(name, data, size, &l, &blobs, &n, err);
        if (rc == 0)
                read_version(data, size, &l, &pe);
        free(l.sec);
        if (rc < 0) {
                free(blobs);
                return rc;
        }
        *ret = pe;
        *ret_blobs = blobs;
        *ret_n_blobs = n;
        return 0;
}

const char *mb_pe_machine_name(uint16_t machine, char buf[8])
{
        static const struct { uint16_t m; const char *name; } names[] = {
                { 0x8664, "x64" }, { 0x014c, "ia32" }, { 0xaa64, "aa64" }, { 0x01c4, "arm" },
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].m == machine)
                        return names[i].name;
        snprintf(buf, 8, "0x%04x", machine);
        return buf;
}

void mb_pe_version_string(const mb_pe_info *pe, char buf[24])
{
        buf[0] = 0;
        if (pe->has_version)
                snprintf(buf, 24, "%u.%u.%u.%u", pe->version[0], pe->version[1], pe->version[2],
                         pe->version[3]);
}

int mb_pe_version_cmp(const uint16_t a[4], const uint16_t b[4])
{
        for (int i = 0; i < 4; i++)
                if (a[i] != b[i])
                        return a[i] < b[i] ? -1 : 1;
        return 0;
}

bool mb_pe_version_parse(const char *s, uint16_t ret[4])
{
        uint16_t v[4] = { 0 };
        int i = 0;

        if (!s || !*s)
                return false;
        for (;;) {
                char *end;
                unsigned long x;

                if (*s < '0' || *s > '9')
                        return false;
                errno = 0;
                x = strtoul(s, &end, 10);
                if (errno || x > 0xffff)
                        return false;
                v[i++] = (uint16_t)x;
                s = end;
                if (!*s)
                        break;
                if (*s != '.' || i == 4)
                        return false;
                s++;
        }
        memcpy(ret, v, sizeof(v));
        return true;
}
