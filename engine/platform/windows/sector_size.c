/* SPDX-License-Identifier: MIT */
/*
 * The physical sector size of a disk, from the storage stack's access
 * alignment descriptor: IOCTL_STORAGE_QUERY_PROPERTY with
 * StorageAccessAlignmentProperty and PropertyStandardQuery returns
 * STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR (winioctl.h; Microsoft Learn,
 * "STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR structure"). The logical size it
 * reports must be the geometry's BytesPerSector: every LBA mbstate computes
 * is in that unit.
 */
#include "windows_internal.h"

#include <stdlib.h>
#include <string.h>

int mb_win_read_sector_sizes(const mb_win32 *w, HANDLE h, const char *what, mb_disk_fact *d,
                             mb_error *err)
{
        STORAGE_PROPERTY_QUERY q;
        void *buf = NULL;
        size_t len = 0;
        int r;

        memset(&q, 0, sizeof(q));
        q.PropertyId = StorageAccessAlignmentProperty;
        q.QueryType = PropertyStandardQuery;
        d->physical_sector_size = 0;
        r = mb_win_ioctl(w, h, IOCTL_STORAGE_QUERY_PROPERTY,
                         "IOCTL_STORAGE_QUERY_PROPERTY(StorageAccessAlignmentProperty)", what, &q,
                         sizeof(q), &buf, &len, err);
        if (r == MB_ENOTSUP) {
                /* older port drivers do not answer it: the size stays unknown */
                mb_error_clear(err);
                return 0;
        }
        if (r == 0) {
                r = mb_win_parse_access_alignment(buf, len, d, err);
                if (r < 0)
                        mb_error_prefix(err, "%s", what + (strncmp(what, "on ", 3) == 0 ? 3 : 0));
        }
        free(buf);
        return r;
}
