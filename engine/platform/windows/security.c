/* SPDX-License-Identifier: MIT */
/*
 * Windows security checks through the call table: elevation of the running
 * token, UEFI firmware, and the ACL rule that only trusted principals may
 * change the config file and the directories above it.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "state.h"
#include "trust.h"

/* Access bits that let a holder change a file's contents or its ACL. */
#define W_FILE_WRITE_DATA 0x00000002u
#define W_FILE_APPEND_DATA 0x00000004u
#define W_FILE_DELETE_CHILD 0x00000040u
#define W_DELETE 0x00010000u
#define W_WRITE_DAC 0x00040000u
#define W_WRITE_OWNER 0x00080000u
#define W_GENERIC_WRITE 0x40000000u
#define W_GENERIC_ALL 0x10000000u
#define FILE_WRITE_MASK (W_FILE_WRITE_DATA | W_FILE_APPEND_DATA | W_DELETE | W_WRITE_DAC | \
                         W_WRITE_OWNER | W_GENERIC_WRITE | W_GENERIC_ALL)
#define DIR_WRITE_MASK (W_FILE_DELETE_CHILD | W_WRITE_DAC | W_WRITE_OWNER | W_GENERIC_ALL)
/* The state directory: nobody else may add, replace or delete a record
 * (FILE_ADD_FILE and FILE_ADD_SUBDIRECTORY are FILE_WRITE_DATA's and
 * FILE_APPEND_DATA's bits on a directory). */
#define STATE_DIR_WRITE_MASK (FILE_WRITE_MASK | DIR_WRITE_MASK)

#define ACE_ALLOWED 0x00
#define ACE_ALLOWED_CALLBACK 0x09
#define ACE_INHERIT_ONLY 0x08

static size_t sid_len(const uint8_t *sid)
{
        return 8 + 4 * (size_t)sid[1];
}

void mb_win_sid_to_string(const void *sid, char *buf, size_t len)
{
        const uint8_t *s = sid;
        uint64_t auth = 0;
        size_t o;

        for (int i = 0; i < 6; i++)
                auth = auth << 8 | s[2 + i];
        o = (size_t)snprintf(buf, len, "S-%u-%llu", s[0], (unsigned long long)auth);
        for (int i = 0; i < s[1] && o < len; i++)
                o += (size_t)snprintf(buf + o, len - o, "-%lu",
                                      (unsigned long)mb_le32(s + 8 + 4 * i));
}

/* Administrators, SYSTEM, TrustedInstaller, CREATOR OWNER (the owner is
 * checked on its own), or the running user. */
static bool trusted_sid(const uint8_t *sid, const void *self_sid)
{
        static const char *const trusted[] = {
                "S-1-5-18", "S-1-5-32-544", "S-1-3-0",
                "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        };
        char s[256];

        if (self_sid && memcmp(sid, self_sid, sid_len(sid)) == 0 &&
            sid_len(sid) == sid_len(self_sid))
                return true;
        mb_win_sid_to_string(sid, s, sizeof(s));
        for (size_t i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++)
                if (strcmp(s, trusted[i]) == 0)
                        return true;
        return false;
}

static int acl_check_mask(const void *acl, size_t len, const void *self_sid, uint32_t mask,
                          const char *what, mb_error *err)
{
        const uint8_t *a = acl;
        size_t off = 8, size;
        uint16_t count;

        if (!acl)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s has no DACL: everyone may modify it; refusing (whoever can edit it can wipe disks)",
                                    what);
        if (len < 8)
                return mb_error_set(err, MB_ECORRUPT, "%s: ACL of %zu bytes is too short", what, len);
        size = mb_le16(a + 2);
        count = mb_le16(a + 4);
        if (size > len)
                size = len;
        for (uint16_t i = 0; i < count; i++) {
                uint8_t type, flags;
                uint16_t ace_size;
                uint32_t access;
                const uint8_t *sid;

                if (off + 8 > size)
                        return mb_error_set(err, MB_ECORRUPT, "%s: ACL entry %u runs past the ACL", what, i);
                type = a[off];
                flags = a[off + 1];
                ace_size = mb_le16(a + off + 2);
                if (ace_size < 16 || off + ace_size > size)
                        return mb_error_set(err, MB_ECORRUPT, "%s: ACL entry %u has a bad size", what, i);
                access = mb_le32(a + off + 4);
                sid = a + off + 8;
                if ((type == ACE_ALLOWED || type == ACE_ALLOWED_CALLBACK) &&
                    !(flags & ACE_INHERIT_ONLY) && (access & mask) &&
                    sid_len(sid) <= (size_t)ace_size - 8 && !trusted_sid(sid, self_sid)) {
                        char s[256];

                        mb_win_sid_to_string(sid, s, sizeof(s));
                        return mb_error_set(err, MB_EUNSAFE,
                                            "%s can be modified by %s (access mask 0x%08lx), who is not an administrator; "
                                            "refusing (whoever can edit it can wipe disks): allow write access to Administrators and SYSTEM only",
                                            what, s, (unsigned long)access);
                }
                off += ace_size;
        }
        return 0;
}

int mb_win_acl_check(const void *acl, size_t len, const void *self_sid, const char *what,
                     mb_error *err)
{
        return acl_check_mask(acl, len, self_sid, FILE_WRITE_MASK, what, err);
}

static void *token_info(const mb_win32 *w, TOKEN_INFORMATION_CLASS cls, DWORD *ret_error)
{
        HANDLE tok;
        DWORD len = 0;
        void *buf;

        if (!w->OpenProcessToken(w->GetCurrentProcess(), TOKEN_QUERY, &tok)) {
                *ret_error = w->GetLastError();
                return NULL;
        }
        w->GetTokenInformation(tok, cls, NULL, 0, &len);
        if (len == 0 || !(buf = calloc(1, len))) {
                *ret_error = w->GetLastError();
                w->CloseHandle(tok);
                return NULL;
        }
        if (!w->GetTokenInformation(tok, cls, buf, len, &len)) {
                *ret_error = w->GetLastError();
                free(buf);
                w->CloseHandle(tok);
                return NULL;
        }
        w->CloseHandle(tok);
        return buf;
}

int mb_win_check_elevated(const mb_win32 *w, mb_error *err)
{
        DWORD e = 0;
        TOKEN_ELEVATION *te = token_info(w, TokenElevation, &e);
        bool elevated;

        if (!te)
                return mb_w_error(err, MB_EIO, e, "GetTokenInformation",
                                  "cannot tell whether mbstate runs elevated");
        elevated = te->TokenIsElevated != 0;
        free(te);
        if (!elevated)
                return mb_error_set(err, MB_EUNSAFE,
                                    "mbstate must run elevated (as Administrator): it reads raw disks and changes disks and the boot configuration; "
                                    "start it from an elevated prompt or a task that runs with highest privileges");
        return 0;
}

int mb_win_check_uefi(const mb_win32 *w, mb_error *err)
{
        FIRMWARE_TYPE t = FirmwareTypeUnknown;

        if (!w->GetFirmwareType(&t))
                return mb_w_error(err, MB_EIO, w->GetLastError(), "GetFirmwareType",
                                  "cannot read the firmware type");
        if (t != FirmwareTypeUefi)
                return mb_error_set(err, MB_ENOTSUP,
                                    "this machine booted through %s firmware; mbstate manages UEFI/GPT boot drives only",
                                    t == FirmwareTypeBios ? "BIOS (legacy)" : "unknown");
        return 0;
}

static int check_one(const mb_win32 *w, const char *path, const void *self_sid, uint32_t mask,
                     const char *what, mb_error *err)
{
        WCHAR *wp = mb_w_from_utf8(path);
        PSID owner = NULL;
        PACL dacl = NULL;
        PSECURITY_DESCRIPTOR sd = NULL;
        DWORD e;
        int r;

        if (!wp)
                return mb_error_set(err, MB_EINVAL, "'%s' is not valid UTF-8", path);
        e = w->GetNamedSecurityInfoW(wp, SE_FILE_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                                     NULL, &dacl, NULL, &sd);
        free(wp);
        if (e != ERROR_SUCCESS)
                return mb_w_error(err, e == ERROR_FILE_NOT_FOUND ? MB_ENOENT : MB_EIO, e,
                                  "GetNamedSecurityInfoW", "cannot read the permissions of %s", what);
        if (owner && !trusted_sid(owner, self_sid)) {
                char s[256];

                mb_win_sid_to_string(owner, s, sizeof(s));
                r = mb_error_set(err, MB_EUNSAFE,
                                 "%s is owned by %s, who is not an administrator and can change its permissions; "
                                 "refusing (whoever can edit it can wipe disks)", what, s);
        } else {
                r = acl_check_mask(dacl, dacl ? mb_le16((const uint8_t *)dacl + 2) : 0, self_sid,
                                   mask, what, err);
        }
        if (sd)
                w->LocalFree(sd);
        return r;
}

int mb_win_check_config_acl(const mb_win32 *w, const char *path, mb_error *err)
{
        DWORD e = 0;
        TOKEN_USER *tu = token_info(w, TokenUser, &e);
        char what[600], dir[520];
        const char *slash;
        int r;

        snprintf(what, sizeof(what), "config file '%s'", path);
        r = check_one(w, path, tu ? tu->User.Sid : NULL, FILE_WRITE_MASK, what, err);
        if (r == 0) {
                slash = strrchr(path, '\\');
                if (!slash || (strrchr(path, '/') && strrchr(path, '/') > slash))
                        slash = strrchr(path, '/');
                if (slash && (size_t)(slash - path) < sizeof(dir) - 2) {
                        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
                        if (dir[0] && !(strlen(dir) == 2 && dir[1] == ':')) {
                                snprintf(what, sizeof(what),
                                         "the folder '%s' of config file '%s' (it lets others replace the file)",
                                         dir, path);
                                r = check_one(w, dir, tu ? tu->User.Sid : NULL, DIR_WRITE_MASK, what,
                                              err);
                        }
                }
        }
        free(tu);
        return r;
}

int mb_win_trust_check(const mb_win32 *w, const char *path, mb_trust_kind kind, mb_error *err)
{
        DWORD e = 0;
        TOKEN_USER *tu;
        char what[600];
        int r;

        if (kind == MB_TRUST_FILE)
                return mb_win_check_config_acl(w, path, err);
        tu = token_info(w, TokenUser, &e);
        snprintf(what, sizeof(what), kind == MB_TRUST_STATE_DIR ? "the state directory '%s'" : "the state file '%s'",
                 path);
        r = check_one(w, path, tu ? tu->User.Sid : NULL,
                      kind == MB_TRUST_STATE_DIR ? STATE_DIR_WRITE_MASK : FILE_WRITE_MASK, what, err);
        free(tu);
        return r;
}

/* FOLDERID_ProgramData (KnownFolders.h): {62AB5D82-FDC1-4DC3-A9DD-070D1D495D97}. */
static const GUID folderid_program_data = {
        0x62ab5d82, 0xfdc1, 0x4dc3, { 0xa9, 0xdd, 0x07, 0x0d, 0x1d, 0x49, 0x5d, 0x97 }
};

int mb_win_state_dir(const mb_win32 *w, const char *asked, char **ret_dir, mb_error *err)
{
        WCHAR *wdir = NULL;
        char *dir = NULL;
        DWORD attrs;
        int r = 0;

        if (asked && strcmp(asked, MB_STATE_DIR_DEFAULT) != 0) {
                dir = mb_strdup(asked);
        } else {
                LPWSTR pd = NULL;
                HRESULT hr = w->SHGetKnownFolderPath(&folderid_program_data, KF_FLAG_DEFAULT, NULL, &pd);
                char *base;

                if (FAILED(hr) || !pd) {
                        if (pd)
                                w->CoTaskMemFree(pd);
                        return mb_error_set(err, MB_EIO,
                                            "cannot find the ProgramData folder for the state directory (SHGetKnownFolderPath, HRESULT 0x%08lx)",
                                            (unsigned long)(uint32_t)hr);
                }
                base = mb_w_to_utf8(pd);
                w->CoTaskMemFree(pd);
                if (base && (dir = malloc(strlen(base) + 10)))
                        sprintf(dir, "%s%smbstate", base,
                                base[0] && base[strlen(base) - 1] == '\\' ? "" : "\\");
                free(base);
        }
        if (!dir || !(wdir = mb_w_from_utf8(dir))) {
                free(dir);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        attrs = w->GetFileAttributesW(wdir);
        if (attrs == INVALID_FILE_ATTRIBUTES) {
                DWORD e = w->GetLastError();
                PSECURITY_DESCRIPTOR sd = NULL;
                WCHAR *sddl = mb_w_from_utf8(MB_WIN_STATE_DIR_SDDL);

                if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND) {
                        r = mb_w_error(err, MB_EIO, e, "GetFileAttributesW", "cannot read the state directory '%s'", dir);
                } else if (!sddl) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                } else if (!w->ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
                                                                                   NULL)) {
                        r = mb_w_error(err, MB_EIO, w->GetLastError(),
                                       "ConvertStringSecurityDescriptorToSecurityDescriptorW",
                                       "cannot build the state directory's security descriptor '%s'",
                                       MB_WIN_STATE_DIR_SDDL);
                } else {
                        SECURITY_ATTRIBUTES sa = { sizeof(sa), sd, FALSE };

                        if (!w->CreateDirectoryW(wdir, &sa) && (e = w->GetLastError()) != ERROR_ALREADY_EXISTS)
                                r = mb_w_error(err, e == ERROR_ACCESS_DENIED ? MB_ENOENT : MB_EIO, e,
                                               "CreateDirectoryW", "cannot create the state directory '%s'", dir);
                        w->LocalFree(sd);
                }
                free(sddl);
                if (r == 0)
                        attrs = w->GetFileAttributesW(wdir);
        }
        free(wdir);
        if (r == 0 && attrs != INVALID_FILE_ATTRIBUTES &&
            (!(attrs & FILE_ATTRIBUTE_DIRECTORY) || (attrs & FILE_ATTRIBUTE_REPARSE_POINT)))
                r = mb_error_set(err, MB_EUNSAFE, "the state directory '%s' is %s; expected a directory", dir,
                                 (attrs & FILE_ATTRIBUTE_REPARSE_POINT) ? "a link (reparse point)" : "not a directory");
        if (r == 0)
                r = mb_win_trust_check(w, dir, MB_TRUST_STATE_DIR, err);
        if (r < 0) {
                free(dir);
                return r;
        }
        *ret_dir = dir;
        return 0;
}
