/* SPDX-License-Identifier: MIT */
/* The POSIX wing's hole-aware copy and hash (engine/platform/posix/sparse.c). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/posix/sparse.h"
#include "platform/posix/tools.h"
#include "sha256.h"

#define MiB (1024 * 1024)

static int tmpfile_sized(char *path, off_t size)
{
        int fd = mkstemp(path);

        cr_assert(fd >= 0);
        cr_assert(ftruncate(fd, size) == 0);
        return fd;
}

static void fill(int fd, off_t off, size_t len, int byte)
{
        char *b = malloc(len);

        memset(b, byte, len);
        cr_assert(pwrite(fd, b, len, off) == (ssize_t)len);
        free(b);
}

static char *slurp(int fd, off_t off, size_t len)
{
        char *b = malloc(len);

        cr_assert(pread(fd, b, len, off) == (ssize_t)len);
        return b;
}

Test(image_sparse, copy_is_byte_identical_and_clears_stale_data)
{
        char sp[] = "/tmp/mbt-src-XXXXXX", dp[] = "/tmp/mbt-dst-XXXXXX";
        int src = tmpfile_sized(sp, 16 * MiB), dst = tmpfile_sized(dp, 20 * MiB);
        mb_error err = { 0 };
        char *a, *b;

        /* source: data at 1 MiB and 9 MiB+512, holes elsewhere */
        fill(src, 1 * MiB, 100000, 0xaa);
        fill(src, 9 * MiB + 512, 3 * MiB, 0x55);
        /* destination: stale data everywhere in the target range and around it */
        fill(dst, 0, 20 * MiB, 0xee);

        cr_assert_eq(img_copy_sparse(src, 0, dst, 2 * MiB + 512, 16 * MiB, "t", NULL, &err), 0,
                     "%s", err.msg);
        a = slurp(src, 0, 16 * MiB);
        b = slurp(dst, 2 * MiB + 512, 16 * MiB);
        cr_assert(memcmp(a, b, 16 * MiB) == 0, "copied range differs");
        free(b);
        b = slurp(dst, 0, 2 * MiB + 512);
        for (size_t i = 0; i < 2 * MiB + 512; i++)
                cr_assert_eq((unsigned char)b[i], 0xee, "byte %zu before the range changed", i);
        free(b);
        b = slurp(dst, 18 * MiB + 512, 2 * MiB - 512);
        for (size_t i = 0; i < 2 * MiB - 512; i++)
                cr_assert_eq((unsigned char)b[i], 0xee, "byte %zu after the range changed", i);
        free(a);
        free(b);
        close(src);
        close(dst);
        unlink(sp);
        unlink(dp);
}

Test(image_sparse, copy_keeps_holes)
{
        char sp[] = "/tmp/mbt-src-XXXXXX", dp[] = "/tmp/mbt-dst-XXXXXX";
        int src = tmpfile_sized(sp, 256 * MiB), dst = tmpfile_sized(dp, 256 * MiB);
        mb_error err = { 0 };
        struct stat st;

        fill(src, 128 * MiB, 4096, 1);
        cr_assert_eq(img_copy_sparse(src, 0, dst, 0, 256 * MiB, "t", NULL, &err), 0, "%s", err.msg);
        cr_assert(fstat(dst, &st) == 0);
        cr_assert_lt(st.st_blocks * 512, 4 * MiB, "destination is not sparse: %lld bytes allocated",
                     (long long)st.st_blocks * 512);
        close(src);
        close(dst);
        unlink(sp);
        unlink(dp);
}

Test(image_sparse, hash_counts_holes_as_zeros)
{
        char sp[] = "/tmp/mbt-src-XXXXXX";
        int fd = tmpfile_sized(sp, 8 * MiB);
        mb_error err = { 0 };
        char got[65], want[65];
        char *all;

        fill(fd, 3 * MiB + 7, 1000, 0x42);
        all = slurp(fd, 512, 8 * MiB - 1024);
        mb_sha256_hex(all, 8 * MiB - 1024, want);
        cr_assert_eq(img_hash_range(fd, 512, 8 * MiB - 1024, got, &err), 0, "%s", err.msg);
        cr_assert_str_eq(got, want);
        free(all);
        close(fd);
        unlink(sp);
}

/* The layout fingerprint that lets the image target reuse a partition hash:
 * it follows every byte of data and every data extent's place, and gives up
 * (1) past its budget of data. */
Test(image_sparse, fingerprint_follows_data_and_layout)
{
        char ap[] = "/tmp/mbt-fpa-XXXXXX", bp[] = "/tmp/mbt-fpb-XXXXXX";
        int a = tmpfile_sized(ap, 64 * MiB), b = tmpfile_sized(bp, 64 * MiB);
        char fa[65], fb[65], f2[65];
        mb_error err = { 0 };

        fill(a, 5 * MiB, 8192, 0x11);
        fill(b, 5 * MiB, 8192, 0x11);
        cr_assert_eq(img_range_fingerprint(a, 0, 64 * MiB, 16 * MiB, fa, &err), 0, "%s", err.msg);
        cr_assert_eq(img_range_fingerprint(b, 0, 64 * MiB, 16 * MiB, fb, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fa, fb, "same bytes, same layout");
        /* one byte changed */
        fill(b, 5 * MiB + 4000, 1, 0x12);
        cr_assert_eq(img_range_fingerprint(b, 0, 64 * MiB, 16 * MiB, f2, &err), 0, "%s", err.msg);
        cr_assert_str_neq(fa, f2, "a changed byte must change the fingerprint");
        /* data made elsewhere, the old extent's bytes unchanged */
        fill(b, 5 * MiB + 4000, 1, 0x11);
        fill(b, 40 * MiB, 4096, 0x33);
        cr_assert_eq(img_range_fingerprint(b, 0, 64 * MiB, 16 * MiB, f2, &err), 0, "%s", err.msg);
        cr_assert_str_neq(fa, f2, "new data must change the fingerprint");
        /* same range seen from another offset: the places are relative */
        cr_assert_eq(img_range_fingerprint(a, 1 * MiB, 32 * MiB, 16 * MiB, fa, &err), 0, "%s", err.msg);
        cr_assert_eq(img_range_fingerprint(b, 1 * MiB, 32 * MiB, 16 * MiB, fb, &err), 0, "%s", err.msg);
        cr_assert_str_eq(fa, fb, "the range 1-33 MiB holds the same bytes in both");
        /* over budget: no fingerprint */
        fill(a, 10 * MiB, 20 * MiB, 0x44);
        cr_assert_eq(img_range_fingerprint(a, 0, 64 * MiB, 16 * MiB, fa, &err), 1);
        close(a);
        close(b);
        unlink(ap);
        unlink(bp);
}

Test(image_sparse, run_reports_stderr_and_status)
{
        const char *argv[] = { "sh", "-c", "echo out; echo boom >&2; exit 3", NULL };
        const char *ok[] = { "sh", "-c", "printf hello", NULL };
        mb_error err = { 0 };
        char *out = NULL;
        size_t len = 0;

        cr_assert_eq(img_run(argv, -1, &out, &len, &err), MB_EIO);
        cr_assert(strstr(err.msg, "exit status 3") && strstr(err.msg, "boom"), "%s", err.msg);
        cr_assert_null(out);
        cr_assert_eq(img_run(ok, -1, &out, &len, &err), 0, "%s", err.msg);
        cr_assert_str_eq(out, "hello");
        cr_assert_eq(len, 5);
        free(out);
}
