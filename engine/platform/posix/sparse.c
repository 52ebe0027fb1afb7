/* SPDX-License-Identifier: MIT */
/*
 * Sparse-aware copies and hashes of byte ranges of file descriptors: data
 * extents found with SEEK_DATA/SEEK_HOLE are copied (copy_file_range, else
 * read/write) and holes punched only where the destination holds data;
 * hashes read only the data extents and hash holes as zeros. Also the
 * layout fingerprint that tells an unchanged range cheaply, and temporary
 * sparse files.
 */
#include "platform/posix/sparse.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "fault.h"
#include "sha256.h"
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

#define CHUNK (1u << 20)

/* The next data extent of fd at or after off, clipped to end: [*ret_start,
 * *ret_end). Returns false when there is none before end. */
static bool next_data(int fd, uint64_t off, uint64_t end, uint64_t *ret_start, uint64_t *ret_end)
{
        off_t d, h;

        if (off >= end)
                return false;
        d = lseek(fd, (off_t)off, SEEK_DATA);
        if (d < 0) {
                if (errno == ENXIO)
                        return false;
                /* no SEEK_DATA support: everything is data */
                *ret_start = off;
                *ret_end = end;
                return true;
        }
        if ((uint64_t)d >= end)
                return false;
        h = lseek(fd, d, SEEK_HOLE);
        if (h < 0)
                h = (off_t)end;
        *ret_start = (uint64_t)d;
        *ret_end = (uint64_t)h < end ? (uint64_t)h : end;
        return true;
}

static int copy_data(int src, uint64_t soff, int dst, uint64_t doff, uint64_t len,
                     mb_error *err)
{
        static __thread char *buf;
        bool plain = false;

        while (len > 0) {
                size_t n = len > CHUNK ? CHUNK : (size_t)len;
                ssize_t r;

                if (!plain) {
                        loff_t so = (loff_t)soff, dof = (loff_t)doff;

                        if (mb_fault_pointf(err, "copy_file_range of %zu bytes to offset %llu", n,
                                            (unsigned long long)doff) < 0)
                                return MB_EIO;
                        r = copy_file_range(src, &so, dst, &dof, n, 0);
                        if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                      errno == EOPNOTSUPP || errno == EBADF)) {
                                plain = true;
                                continue;
                        }
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r < 0)
                                return mb_error_errno(err, MB_EIO, errno,
                                                      "cannot copy %zu bytes at offset %llu (copy_file_range)",
                                                      n, (unsigned long long)soff);
                        if (r == 0)
                                return mb_error_set(err, MB_EIO,
                                                    "source ends at offset %llu (copy_file_range)",
                                                    (unsigned long long)soff);
                } else {
                        if (!buf && !(buf = malloc(CHUNK)))
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        r = pread(src, buf, n, (off_t)soff);
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r <= 0)
                                return mb_error_errno(err, MB_EIO, r < 0 ? errno : EIO,
                                                      "cannot read at offset %llu (pread)",
                                                      (unsigned long long)soff);
                        if (mb_fault_pointf(err, "pwrite of %zd bytes at offset %llu", r,
                                            (unsigned long long)doff) < 0)
                                return MB_EIO;
                        for (ssize_t w = 0; w < r; ) {
                                ssize_t k = pwrite(dst, buf + w, (size_t)(r - w),
                                                   (off_t)(doff + (uint64_t)w));

                                if (k < 0 && errno == EINTR)
                                        continue;
                                if (k <= 0)
                                        return mb_error_errno(err, MB_EIO, k < 0 ? errno : EIO,
                                                              "cannot write at offset %llu (pwrite)",
                                                              (unsigned long long)doff);
                                w += k;
                        }
                }
                soff += (uint64_t)r, doff += (uint64_t)r, len -= (uint64_t)r;
        }
        return 0;
}

/* Makes dst[off, off+len) read as zeros: punches the data extents it holds
 * there (writes zeros where punching is not supported). */
static int zero_range(int dst, uint64_t off, uint64_t len, mb_error *err)
{
        uint64_t end = off + len, s, e;
        static const char zeros[65536];

        while (next_data(dst, off, end, &s, &e)) {
                if (mb_fault_pointf(err, "fallocate (punch hole) of %llu bytes at offset %llu",
                                    (unsigned long long)(e - s), (unsigned long long)s) < 0)
                        return MB_EIO;
                if (fallocate(dst, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s,
                              (off_t)(e - s)) < 0) {
                        if (errno != EOPNOTSUPP && errno != ENOSYS)
                                return mb_error_errno(err, MB_EIO, errno,
                                                      "cannot clear %llu bytes at offset %llu (fallocate)",
                                                      (unsigned long long)(e - s),
                                                      (unsigned long long)s);
                        for (uint64_t p = s; p < e; ) {
                                size_t n = e - p > sizeof(zeros) ? sizeof(zeros) : (size_t)(e - p);
                                ssize_t k = pwrite(dst, zeros, n, (off_t)p);

                                if (k < 0 && errno == EINTR)
                                        continue;
                                if (k <= 0)
                                        return mb_error_errno(err, MB_EIO, k < 0 ? errno : EIO,
                                                              "cannot write zeros at offset %llu (pwrite)",
                                                              (unsigned long long)p);
                                p += (uint64_t)k;
                        }
                }
                off = e;
        }
        return 0;
}

int img_copy_sparse(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off, uint64_t len,
                    const char *what, mb_progress *progress, mb_error *err)
{
        uint64_t end = src_off + len, pos = src_off, s, e;
        int r;

        while (pos < end) {
                if (!next_data(src_fd, pos, end, &s, &e))
                        s = e = end;
                if (s > pos && (r = zero_range(dst_fd, dst_off + (pos - src_off), s - pos, err)) < 0)
                        return r;
                for (uint64_t p = s; p < e; ) {
                        uint64_t n = e - p > 64 * (uint64_t)CHUNK ? 64 * (uint64_t)CHUNK : e - p;

                        r = copy_data(src_fd, p, dst_fd, dst_off + (p - src_off), n, err);
                        if (r < 0)
                                return r;
                        p += n;
                        if (progress && progress->update && p < end)
                                progress->update(progress, what, p - src_off, len);
                }
                pos = e;
        }
        if (progress && progress->update)
                progress->update(progress, what, len, len);
        return 0;
}

/* SHA-256 through libcrypto when built with it (SHA-NI: ~7x faster than
 * the portable mb_sha256 on a 524 MiB recovery partition), else mb_sha256. */
typedef struct hasher {
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
        EVP_MD_CTX *ctx;
#endif
        mb_sha256 s;
} hasher;

static int hasher_init(hasher *h)
{
        mb_sha256_init(&h->s);
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx && EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(h->ctx);
                h->ctx = NULL;
        }
#endif
        return 0;
}

static void hasher_update(hasher *h, const void *p, size_t n)
{
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
        if (h->ctx) {
                EVP_DigestUpdate(h->ctx, p, n);
                return;
        }
#endif
        mb_sha256_update(&h->s, p, n);
}

static void hasher_final(hasher *h, char hex[65])
{
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
        if (h->ctx) {
                uint8_t md[32];
                unsigned int len = 0;

                EVP_DigestFinal_ex(h->ctx, md, &len);
                EVP_MD_CTX_free(h->ctx);
                h->ctx = NULL;
                for (int i = 0; i < 32; i++)
                        snprintf(hex + 2 * i, 3, "%02x", md[i]);
                return;
        }
#endif
        mb_sha256_final_hex(&h->s, hex);
}

static void hasher_abort(hasher *h)
{
#ifdef MB_IMAGE_HAVE_LIBCRYPTO
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
#endif
        (void)h;
}

mb_posix_hasher *img_hasher_new(void)
{
        hasher *h = malloc(sizeof(*h));

        if (h)
                hasher_init(h);
        return (mb_posix_hasher *)h;
}

void img_hasher_update(mb_posix_hasher *h, const void *p, size_t n)
{
        hasher_update((hasher *)h, p, n);
}

void img_hasher_final(mb_posix_hasher *h, char hex[65])
{
        if (hex)
                hasher_final((hasher *)h, hex);
        else
                hasher_abort((hasher *)h);
        free(h);
}

/* Feeds fd[s, e) to h through buf (CHUNK bytes). */
static int hash_data(int fd, uint64_t s, uint64_t e, hasher *h, uint8_t *buf, mb_error *err)
{
        for (uint64_t p = s; p < e;) {
                size_t n = e - p > CHUNK ? CHUNK : (size_t)(e - p);
                ssize_t k = pread(fd, buf, n, (off_t)p);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return mb_error_errno(err, MB_EIO, k < 0 ? errno : EIO,
                                              "cannot read at offset %llu (pread)", (unsigned long long)p);
                hasher_update(h, buf, (size_t)k);
                p += (uint64_t)k;
        }
        return 0;
}

int img_hash_range(int fd, uint64_t off, uint64_t len, char hex[65], mb_error *err)
{
        static const uint8_t zeros[65536];
        uint64_t end = off + len, pos = off, s, e;
        hasher h;
        uint8_t *buf = malloc(CHUNK);

        if (!buf)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        hasher_init(&h);
        while (pos < end) {
                if (!next_data(fd, pos, end, &s, &e))
                        s = e = end;
                for (uint64_t p = pos; p < s; ) {
                        size_t n = s - p > sizeof(zeros) ? sizeof(zeros) : (size_t)(s - p);

                        hasher_update(&h, zeros, n);
                        p += n;
                }
                if (hash_data(fd, s, e, &h, buf, err) < 0) {
                        free(buf);
                        hasher_abort(&h);
                        return err->code;
                }
                pos = e;
        }
        free(buf);
        hasher_final(&h, hex);
        return 0;
}

/*
 * The layout fingerprint of fd[off, off+len): SHA-256 over each data extent's
 * place and length and its bytes, holes skipped. Two ranges with the same
 * fingerprint hold the same bytes, so a whole-range hash computed once can be
 * reused while the fingerprint stays; it costs reading the data alone, not
 * hashing the holes. Returns 1 when more than budget bytes are data (no
 * fingerprint: it would cost as much as the hash itself), 0 when fp is set.
 */
int img_range_fingerprint(int fd, uint64_t off, uint64_t len, uint64_t budget, char fp[65],
                          mb_error *err)
{
        uint64_t end = off + len, pos = off, s, e, data = 0;
        uint8_t *buf = NULL, hdr[16];
        int rc = 0;
        hasher h;

        hasher_init(&h);
        while (pos < end && next_data(fd, pos, end, &s, &e)) {
                data += e - s;
                if (data > budget) {
                        rc = 1;
                        break;
                }
                if (!buf && !(buf = malloc(CHUNK))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                mb_put_le64(hdr, s - off);
                mb_put_le64(hdr + 8, e - s);
                hasher_update(&h, hdr, sizeof(hdr));
                rc = hash_data(fd, s, e, &h, buf, err);
                if (rc < 0)
                        break;
                pos = e;
        }
        free(buf);
        if (rc != 0)
                hasher_abort(&h);
        else
                hasher_final(&h, fp);
        return rc;
}

int img_temp_file(const char *near, uint64_t size, char **ret_path, int *ret_fd, mb_error *err)
{
        char *copy = strdup(near ? near : ".");
        const char *tmp = getenv("TMPDIR");
        const char *dirs[2];
        int fd = -1, e = 0, first = 0;
        char *path = NULL;
        struct stat st;

        if (!copy)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        dirs[0] = dirname(copy);
        dirs[1] = tmp && *tmp ? tmp : "/tmp";
        /* never beside a device node (that would be /dev) */
        if (near && stat(near, &st) == 0 && !S_ISREG(st.st_mode))
                first = 1;
        for (int i = first; i < 2 && fd < 0; i++) {
                free(path);
                if (asprintf(&path, "%s/.mbstate-XXXXXX", dirs[i]) < 0) {
                        path = NULL;
                        break;
                }
                fd = mkostemp(path, O_CLOEXEC);
                e = errno;
        }
        free(copy);
        if (fd < 0) {
                free(path);
                return mb_error_errno(err, MB_EIO, e, "cannot create a temporary file (mkostemp)");
        }
        if (ftruncate(fd, (off_t)size) < 0) {
                e = errno;
                close(fd);
                unlink(path);
                free(path);
                return mb_error_errno(err, MB_EIO, e, "cannot size a temporary file (ftruncate)");
        }
        *ret_path = path;
        *ret_fd = fd;
        return 0;
}
