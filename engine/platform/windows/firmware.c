/* SPDX-License-Identifier: MIT */
#include "windows_internal.h"

#include <stdlib.h>
#include <string.h>

#include "blockdev.h"

/*
 * EFI_LOAD_OPTION (UEFI spec 3.1.3): UINT32 Attributes, UINT16
 * FilePathListLength, CHAR16 Description[] (NUL-terminated), then the device
 * path (FilePathListLength bytes), then optional data. Device path nodes:
 * UINT8 Type, UINT8 SubType, UINT16 Length. Hard drive media node (4/1):
 * UINT32 PartitionNumber, UINT64 Start, UINT64 Size, UINT8 Signature[16],
 * UINT8 MBRType, UINT8 SignatureType (2 = GUID). File path node (4/4): CHAR16[].
 */
int mb_win_parse_load_option(const void *buf, size_t len, uint32_t number,
                             mb_fw_entry_fact *ret, mb_error *err)
{
        const uint8_t *b = buf;
        size_t off = 6, desc_end, dp_end;
        uint16_t dp_len;
        mb_fw_entry_fact e;

        memset(&e, 0, sizeof(e));
        if (len < 8)
                return mb_error_set(err, MB_ECORRUPT, "Boot%04X: %zu bytes, too short", number, len);
        dp_len = mb_le16(b + 4);
        for (desc_end = off; desc_end + 1 < len && (b[desc_end] || b[desc_end + 1]); desc_end += 2)
                ;
        if (desc_end + 1 >= len)
                return mb_error_set(err, MB_ECORRUPT, "Boot%04X: description is not terminated", number);
        {
                size_t n = (desc_end - off) / 2;
                WCHAR *wd = calloc(n + 1, sizeof(WCHAR));

                if (!wd)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                for (size_t i = 0; i < n; i++)
                        wd[i] = (WCHAR)mb_le16(b + off + 2 * i);
                e.description = mb_w_to_utf8_n(wd, n);
                free(wd);
        }
        off = desc_end + 2;
        dp_end = off + dp_len;
        if (dp_end > len) {
                free(e.description);
                return mb_error_set(err, MB_ECORRUPT, "Boot%04X: device path runs past the variable",
                                    number);
        }
        while (off + 4 <= dp_end) {
                uint8_t type = b[off], sub = b[off + 1];
                uint16_t nlen = mb_le16(b + off + 2);

                if (nlen < 4 || off + nlen > dp_end)
                        break;
                if (type == 0x7f && sub == 0xff)
                        break;
                if (type == 4 && sub == 1 && nlen >= 42 && b[off + 41] == 2) {
                        GUID g;
                        char t[37];

                        g.Data1 = mb_le32(b + off + 24);
                        g.Data2 = mb_le16(b + off + 28);
                        g.Data3 = mb_le16(b + off + 30);
                        memcpy(g.Data4, b + off + 32, 8);
                        mb_w_guid_format(&g, t);
                        free(e.partition);
                        e.partition = mb_strdup(t);
                } else if (type == 4 && sub == 4) {
                        size_t n = (nlen - 4) / 2;
                        WCHAR *wp = calloc(n + 1, sizeof(WCHAR));

                        if (wp) {
                                for (size_t i = 0; i < n; i++)
                                        wp[i] = (WCHAR)mb_le16(b + off + 4 + 2 * i);
                                free(e.path);
                                e.path = mb_w_to_utf8_n(wp, n);
                                free(wp);
                        }
                }
                off += nlen;
        }
        e.number = number;
        e.active = (mb_le32(b) & 1) != 0;
        *ret = e;
        return 0;
}
