/* SPDX-License-Identifier: MIT */
/*
 * UEFI firmware facts on Windows: parsing EFI_LOAD_OPTION boot entries read
 * through the firmware-variable API, and the Secure Boot state and
 * signature databases.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "format/efivars/efivars.h"
#include "guid.h"
#include "sha256.h"

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

/* ---- Secure Boot state and the booted ESP ---- */

#define GLOBAL_GUID "{8be4df61-93ca-11d2-aa0d-00e098032b8c}"
#define IMAGE_SECURITY_DB_GUID "{d719b2cb-3d3a-4596-a3bc-dad00e67656f}"
/* dbx grows with every revocation; the UEFI forum's files stay far below this */
#define SIGDB_MAX (512u * 1024u)

/* Reads one firmware variable into buf (cap bytes): its size, 0 when it
 * does not exist, or a negative MB_E* naming the call. */
static long read_var(const mb_win32 *w, const char *name, const char *guid, void *buf, DWORD cap,
                     mb_error *err)
{
        WCHAR *wn = mb_w_from_utf8(name), *wg = mb_w_from_utf8(guid);
        DWORD len = 0, e = 0;

        if (wn && wg) {
                len = w->GetFirmwareEnvironmentVariableW(wn, wg, buf, cap);
                if (len == 0)
                        e = w->GetLastError();
        }
        free(wn);
        free(wg);
        if (!wn || !wg)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (len == 0 && e == ERROR_ENVVAR_NOT_FOUND)
                return 0;
        if (len == 0)
                return mb_w_error(err, MB_EIO, e, "GetFirmwareEnvironmentVariableW",
                                  "cannot read the firmware variable %s", name);
        return (long)len;
}

static int sig_facts(const char *name, const uint8_t *data, size_t len, mb_sig_fact **ret,
                     uint32_t *ret_n, mb_error *err)
{
        mb_efi_signature *s = NULL;
        mb_sig_fact *out = NULL;
        uint32_t n = 0;
        int r;

        r = mb_efi_siglist_parse(name, data, len, &s, &n, err);
        if (r < 0)
                return r;
        if (n && !(out = calloc(n, sizeof(*out)))) {
                free(s);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        for (uint32_t i = 0; i < n; i++) {
                mb_sig_fact *o = &out[i];
                char g[MB_GUID_STR_LEN], hex[65];

                o->type = strdup(mb_efi_sig_type_to_string(s[i].type));
                o->owner = strdup(mb_guid_format(&s[i].owner, g));
                if (s[i].type == MB_EFI_SIG_X509) {
                        /* the certificate's hash; its names need an X.509
                         * decoder, which the windows build does not carry */
                        mb_sha256_hex(s[i].data, s[i].size, hex);
                        o->sha256 = strdup(hex);
                } else if ((s[i].type == MB_EFI_SIG_SHA256 || s[i].type == MB_EFI_SIG_X509_SHA256) &&
                           s[i].size >= 32) {
                        for (int b = 0; b < 32; b++)
                                snprintf(hex + 2 * b, 3, "%02x", s[i].data[b]);
                        o->sha256 = strdup(hex);
                } else {
                        o->sha256 = strdup("");
                }
                if (!o->type || !o->owner || !o->sha256) {
                        mb_sig_facts_free(out, n);
                        free(s);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
        }
        free(s);
        *ret = out;
        *ret_n = n;
        return 0;
}

int mb_win_read_secure_boot(const mb_win32 *w, mb_firmware_fact *fw, mb_error *err)
{
        static const char *const dbs[] = { "db", "dbx" };
        uint8_t small[4096], *big;
        long len;
        int r = 0;

        /* SecureBoot (UEFI spec, Globally Defined Variables): UINT8, 1 when
         * the platform enforces Secure Boot. Absent: firmware without it. */
        len = read_var(w, "SecureBoot", GLOBAL_GUID, small, sizeof(small), err);
        if (len < 0)
                return (int)len;
        fw->secure_boot = len >= 1 && small[0] == 1;
        big = malloc(SIGDB_MAX);
        if (!big)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (size_t i = 0; i < 2 && r == 0; i++) {
                mb_sig_fact **sig = i ? &fw->dbx : &fw->db;
                uint32_t *n = i ? &fw->n_dbx : &fw->n_db;

                len = read_var(w, dbs[i], IMAGE_SECURITY_DB_GUID, big, SIGDB_MAX, err);
                if (len < 0)
                        r = (int)len;
                else if (len > 0)
                        r = sig_facts(dbs[i], big, (size_t)len, sig, n, err);
        }
        free(big);
        if (r < 0)
                return r;
        /* BootCurrent: UINT16, the Boot#### this boot started from; its
         * device path names the ESP. */
        len = read_var(w, "BootCurrent", GLOBAL_GUID, small, sizeof(small), err);
        if (len < 0)
                return (int)len;
        if (len >= 2) {
                uint32_t num = (uint32_t)(small[0] | small[1] << 8);
                mb_fw_entry_fact e;
                mb_error perr = { 0 };
                char vn[16];

                snprintf(vn, sizeof(vn), "Boot%04X", num);
                len = read_var(w, vn, GLOBAL_GUID, small, sizeof(small), err);
                if (len < 0)
                        return (int)len;
                if (len > 0 && mb_win_parse_load_option(small, (size_t)len, num, &e, &perr) == 0) {
                        fw->booted = e.partition;
                        e.partition = NULL;
                        free(e.description);
                        free(e.path);
                }
        }
        return 0;
}
