/* SPDX-License-Identifier: MIT */
/*
 * mkseed: the byte-level steps of examples/seed/make-images that no stock
 * tool does without loop devices or mounting.
 *
 *   mkseed bcd STORE DISK_GUID ESP_GUID OS_GUID RECOVERY_GUID
 *       writes a Windows Server 2022-like BCD store (mb_bcd_build_windows_store)
 *   mkseed splice SRC DST OFFSET
 *       copies the sparse file SRC into DST at byte OFFSET, data extents only
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "guid.h"
#include "platform/image/image.h"
#ifdef MB_IMAGE_HAVE_BCD
#include "format/bcd/bcd.h"
#endif

static int guid(const char *s, mb_guid *g)
{
        if (mb_guid_parse(s, g) < 0) {
                fprintf(stderr, "mkseed: invalid GUID '%s'\n", s);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        mb_error err = { 0 };
        int rc;

        if (argc == 7 && !strcmp(argv[1], "bcd")) {
#ifdef MB_IMAGE_HAVE_BCD
                mb_guid disk, esp, os, rec;

                if (guid(argv[3], &disk) || guid(argv[4], &esp) || guid(argv[5], &os) ||
                    guid(argv[6], &rec))
                        return 2;
                rc = mb_bcd_build_windows_store(argv[2], &disk, &esp, &disk, &os, &rec, &err);
#else
                rc = mb_error_set(&err, MB_ENOTSUP, "built without the bcd format library");
#endif
        } else if (argc == 5 && !strcmp(argv[1], "splice")) {
                int src = open(argv[2], O_RDONLY | O_CLOEXEC), dst = open(argv[3], O_RDWR | O_CLOEXEC);
                struct stat st;

                if (src < 0 || dst < 0 || fstat(src, &st) < 0) {
                        perror("mkseed: open");
                        return 1;
                }
                rc = img_copy_sparse(src, 0, dst, strtoull(argv[4], NULL, 0), (uint64_t)st.st_size,
                                     "splice", NULL, &err);
                if (rc == 0 && fsync(dst) < 0)
                        rc = mb_error_errno(&err, MB_EIO, 1, "fsync");
                close(src);
                close(dst);
        } else {
                fprintf(stderr, "usage: mkseed bcd STORE DISK_GUID ESP_GUID OS_GUID RECOVERY_GUID\n"
                                "       mkseed splice SRC DST OFFSET\n");
                return 2;
        }
        if (rc < 0) {
                fprintf(stderr, "mkseed: %s\n", err.msg);
                return 1;
        }
        return 0;
}
