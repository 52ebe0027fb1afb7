/* SPDX-License-Identifier: MIT */
#ifndef MB_WIN32_TABLE_H
#define MB_WIN32_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "win32_compat.h"
#include "error.h"

/*
 * Every Win32 call the windows target makes goes through one of these
 * pointers (as SQLite's os_win.c does), so tests can replace any of them:
 * tests/unit/test_windows.c replays buffers recorded on the seed machine and
 * records the buffers the target sends. The logic that uses the table never
 * calls Win32 directly and compiles on every host; only the real table
 * (win32_table.c, _WIN32 only) names the system functions.
 */
typedef struct mb_win32 {
        /* Files, devices, volumes. */
        HANDLE (WINAPI *CreateFileW)(LPCWSTR name, DWORD access, DWORD share,
                                     LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD flags,
                                     HANDLE templ);
        BOOL (WINAPI *DeviceIoControl)(HANDLE h, DWORD code, LPVOID in, DWORD in_len, LPVOID out,
                                       DWORD out_len, LPDWORD ret_len, LPOVERLAPPED ov);
        BOOL (WINAPI *CloseHandle)(HANDLE h);
        BOOL (WINAPI *ReadFile)(HANDLE h, LPVOID buf, DWORD len, LPDWORD ret_len, LPOVERLAPPED ov);
        BOOL (WINAPI *WriteFile)(HANDLE h, LPCVOID buf, DWORD len, LPDWORD ret_len,
                                 LPOVERLAPPED ov);
        BOOL (WINAPI *SetFilePointerEx)(HANDLE h, LARGE_INTEGER dist, LARGE_INTEGER *ret_pos,
                                        DWORD method);
        BOOL (WINAPI *FlushFileBuffers)(HANDLE h);
        HANDLE (WINAPI *FindFirstVolumeW)(LPWSTR name, DWORD len);
        BOOL (WINAPI *FindNextVolumeW)(HANDLE h, LPWSTR name, DWORD len);
        BOOL (WINAPI *FindVolumeClose)(HANDLE h);
        BOOL (WINAPI *GetVolumeInformationW)(LPCWSTR root, LPWSTR label, DWORD label_len,
                                             LPDWORD serial, LPDWORD max_component,
                                             LPDWORD fs_flags, LPWSTR fs_name, DWORD fs_name_len);
        DWORD (WINAPI *QueryDosDeviceW)(LPCWSTR device, LPWSTR target, DWORD len);
        HANDLE (WINAPI *FindFirstFileW)(LPCWSTR pattern, LPWIN32_FIND_DATAW data);
        BOOL (WINAPI *FindNextFileW)(HANDLE h, LPWIN32_FIND_DATAW data);
        BOOL (WINAPI *FindClose)(HANDLE h);
        BOOL (WINAPI *CopyFileW)(LPCWSTR from, LPCWSTR to, BOOL fail_if_exists);
        BOOL (WINAPI *CreateDirectoryW)(LPCWSTR path, LPSECURITY_ATTRIBUTES sa);
        BOOL (WINAPI *DeleteFileW)(LPCWSTR path);
        BOOL (WINAPI *RemoveDirectoryW)(LPCWSTR path);
        BOOL (WINAPI *MoveFileExW)(LPCWSTR from, LPCWSTR to, DWORD flags);
        DWORD (WINAPI *GetTempPathW)(DWORD len, LPWSTR buf);
        UINT (WINAPI *GetSystemWindowsDirectoryW)(LPWSTR buf, UINT len);
        LONG (WINAPI *RegGetValueW)(HKEY key, LPCWSTR subkey, LPCWSTR value, DWORD flags,
                                    LPDWORD ret_type, PVOID data, LPDWORD data_len);

        /* Registry keys: the live BCD store (HKLM\BCD00000000) and store
         * files loaded as application hives. */
        LONG (WINAPI *RegOpenKeyExW)(HKEY key, LPCWSTR subkey, DWORD options, REGSAM sam,
                                     PHKEY ret_key);
        LONG (WINAPI *RegEnumKeyExW)(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                     LPDWORD reserved, LPWSTR cls, LPDWORD cls_len,
                                     PFILETIME last_write);
        LONG (WINAPI *RegQueryValueExW)(HKEY key, LPCWSTR value, LPDWORD reserved,
                                        LPDWORD ret_type, LPBYTE data, LPDWORD data_len);
        LONG (WINAPI *RegEnumValueW)(HKEY key, DWORD index, LPWSTR name, LPDWORD name_len,
                                     LPDWORD reserved, LPDWORD ret_type, LPBYTE data,
                                     LPDWORD data_len);
        LONG (WINAPI *RegCloseKey)(HKEY key);
        LONG (WINAPI *RegLoadAppKeyW)(LPCWSTR file, PHKEY ret_key, REGSAM sam, DWORD options,
                                      DWORD reserved);

        /* Firmware. */
        BOOL (WINAPI *GetFirmwareType)(FIRMWARE_TYPE *ret);
        DWORD (WINAPI *GetFirmwareEnvironmentVariableW)(LPCWSTR name, LPCWSTR guid, PVOID buf,
                                                        DWORD len);
        BOOL (WINAPI *SetFirmwareEnvironmentVariableW)(LPCWSTR name, LPCWSTR guid, PVOID buf,
                                                      DWORD len);

        /* Child processes (diskpart, bcdedit). */
        BOOL (WINAPI *CreateProcessW)(LPCWSTR app, LPWSTR cmdline, LPSECURITY_ATTRIBUTES psa,
                                      LPSECURITY_ATTRIBUTES tsa, BOOL inherit, DWORD flags,
                                      LPVOID env, LPCWSTR cwd, LPSTARTUPINFOW si,
                                      LPPROCESS_INFORMATION pi);
        DWORD (WINAPI *WaitForSingleObject)(HANDLE h, DWORD ms);
        BOOL (WINAPI *GetExitCodeProcess)(HANDLE h, LPDWORD ret_code);
        BOOL (WINAPI *CreatePipe)(HANDLE *ret_read, HANDLE *ret_write, LPSECURITY_ATTRIBUTES sa,
                                  DWORD size);
        BOOL (WINAPI *SetHandleInformation)(HANDLE h, DWORD mask, DWORD flags);

        /* Security: elevation, privileges, the config file's ACL. */
        HANDLE (WINAPI *GetCurrentProcess)(void);
        BOOL (WINAPI *OpenProcessToken)(HANDLE process, DWORD access, HANDLE *ret_token);
        BOOL (WINAPI *GetTokenInformation)(HANDLE token, TOKEN_INFORMATION_CLASS cls, LPVOID buf,
                                           DWORD len, LPDWORD ret_len);
        BOOL (WINAPI *LookupPrivilegeValueW)(LPCWSTR system, LPCWSTR name, PLUID ret_luid);
        BOOL (WINAPI *AdjustTokenPrivileges)(HANDLE token, BOOL disable_all,
                                             PTOKEN_PRIVILEGES state, DWORD len,
                                             PTOKEN_PRIVILEGES prev, LPDWORD ret_len);
        DWORD (WINAPI *GetNamedSecurityInfoW)(LPCWSTR name, SE_OBJECT_TYPE type,
                                              SECURITY_INFORMATION info, PSID *ret_owner,
                                              PSID *ret_group, PACL *ret_dacl, PACL *ret_sacl,
                                              PSECURITY_DESCRIPTOR *ret_sd);
        HLOCAL (WINAPI *LocalFree)(HLOCAL p);

        /* COM, for the Virtual Disk Service. */
        HRESULT (WINAPI *CoInitializeEx)(LPVOID reserved, DWORD flags);
        HRESULT (WINAPI *CoCreateInstance)(REFCLSID clsid, LPVOID outer, DWORD ctx, REFIID iid,
                                           LPVOID *ret);
        void (WINAPI *CoUninitialize)(void);
        HRESULT (WINAPI *CoInitializeSecurity)(PSECURITY_DESCRIPTOR sd, LONG n_auth, void *auth,
                                               void *reserved1, DWORD authn_level, DWORD imp_level,
                                               void *auth_list, DWORD capabilities, void *reserved3);
        void (WINAPI *CoTaskMemFree)(LPVOID p);

        /* File attributes, the administrators-only temporary folder, the
         * error mode, page-aligned buffers for unbuffered raw I/O. */
        DWORD (WINAPI *GetTempPath2W)(DWORD len, LPWSTR buf);
        UINT (WINAPI *SetErrorMode)(UINT mode);
        DWORD (WINAPI *GetFileAttributesW)(LPCWSTR path);
        /* A file's attributes, size, last write time, volume serial and
         * file index (the recovery files' identities). */
        BOOL (WINAPI *GetFileInformationByHandle)(HANDLE h, LPBY_HANDLE_FILE_INFORMATION ret);
        /* The state directory: %ProgramData% (shell32; the path is freed
         * with CoTaskMemFree) and its administrators-only security
         * descriptor from SDDL (freed with LocalFree). */
        HRESULT (WINAPI *SHGetKnownFolderPath)(const GUID *id, DWORD flags, HANDLE token,
                                                LPWSTR *ret_path);
        BOOL (WINAPI *ConvertStringSecurityDescriptorToSecurityDescriptorW)(
                LPCWSTR sddl, DWORD revision, PSECURITY_DESCRIPTOR *ret_sd, ULONG *ret_len);
        BOOL (WINAPI *SetFileAttributesW)(LPCWSTR path, DWORD attributes);
        LPVOID (WINAPI *VirtualAlloc)(LPVOID address, SIZE_T size, DWORD type, DWORD protect);
        BOOL (WINAPI *VirtualFree)(LPVOID address, SIZE_T size, DWORD type);

        /* crypt32: the signers of the boot programs' PKCS#7 SignedData
         * (a low-level message decode, then its certificates and the
         * SpcIndirectDataContent the signer signed). */
        HCRYPTMSG (WINAPI *CryptMsgOpenToDecode)(DWORD encoding, DWORD flags, DWORD type,
                                                 HCRYPTPROV_LEGACY prov, PCERT_INFO recipient,
                                                 PCMSG_STREAM_INFO stream);
        BOOL (WINAPI *CryptMsgUpdate)(HCRYPTMSG msg, const BYTE *data, DWORD len, BOOL final);
        BOOL (WINAPI *CryptMsgGetParam)(HCRYPTMSG msg, DWORD param, DWORD index, void *data,
                                        DWORD *len);
        BOOL (WINAPI *CryptMsgClose)(HCRYPTMSG msg);
        PCCERT_CONTEXT (WINAPI *CertCreateCertificateContext)(DWORD encoding, const BYTE *data,
                                                              DWORD len);
        BOOL (WINAPI *CertFreeCertificateContext)(PCCERT_CONTEXT cert);
        DWORD (WINAPI *CertNameToStrW)(DWORD encoding, PCERT_NAME_BLOB name, DWORD type, LPWSTR buf,
                                       DWORD len);
        BOOL (WINAPI *CryptDecodeObjectEx)(DWORD encoding, LPCSTR type, const BYTE *data, DWORD len,
                                           DWORD flags, PCRYPT_DECODE_PARA para, void *ret,
                                           DWORD *ret_len);

        /* Misc. */
        DWORD (WINAPI *GetLastError)(void);
        void (WINAPI *Sleep)(DWORD ms);
} mb_win32;

#ifdef _WIN32
/* The table of the real system functions. */
extern const mb_win32 mb_win32_system;
#endif

/* UTF-8 <-> UTF-16 (WCHAR) without the C library's locale. Both return a
 * malloc'd NUL-terminated string, or NULL on invalid input/out of memory. */
WCHAR *mb_w_from_utf8(const char *s);
char *mb_w_to_utf8(const WCHAR *w);
/* Same, for a WCHAR buffer of at most n units (stops at the first NUL). */
char *mb_w_to_utf8_n(const WCHAR *w, size_t n);
size_t mb_w_len(const WCHAR *w);

/* The English text of a Win32 error code ("Access is denied"), never
 * localized, so messages and tests are stable; "error N" when unknown. */
const char *mb_w_error_text(DWORD code);

/* Sets err: "<what>: <text> (<call>, error <code>)"; returns code. */
int mb_w_error(mb_error *err, int code, DWORD win_error, const char *call, const char *fmt, ...)
        MB_PRINTF(5, 6);

/* GUID <-> text ("xxxxxxxx-xxxx-...", lower case, no braces). */
void mb_w_guid_format(const GUID *g, char buf[37]);
int mb_w_guid_parse(const char *s, GUID *ret);

#endif
