/* SPDX-License-Identifier: MIT */
/*
 * The call table's real side: mb_win32_system, every entry bound to the
 * Win32 function it stands for (some looked up at run time), and the UTF-16,
 * GUID and error-text helpers the Windows code shares.
 */
#include "win32_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mb_w_len(const WCHAR *w)
{
        size_t n = 0;

        while (w && w[n])
                n++;
        return n;
}

WCHAR *mb_w_from_utf8(const char *s)
{
        size_t len = strlen(s), o = 0;
        WCHAR *w = malloc((len + 1) * sizeof(WCHAR));
        const unsigned char *p = (const unsigned char *)s;

        if (!w)
                return NULL;
        while (*p) {
                uint32_t c;
                int extra;

                if (*p < 0x80) { c = *p; extra = 0; }
                else if ((*p & 0xe0) == 0xc0) { c = *p & 0x1f; extra = 1; }
                else if ((*p & 0xf0) == 0xe0) { c = *p & 0x0f; extra = 2; }
                else if ((*p & 0xf8) == 0xf0) { c = *p & 0x07; extra = 3; }
                else goto bad;
                p++;
                for (int i = 0; i < extra; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                goto bad;
                        c = c << 6 | (*p & 0x3f);
                }
                if (c >= 0x10000) {
                        c -= 0x10000;
                        w[o++] = (WCHAR)(0xd800 | (c >> 10));
                        w[o++] = (WCHAR)(0xdc00 | (c & 0x3ff));
                } else {
                        w[o++] = (WCHAR)c;
                }
        }
        w[o] = 0;
        return w;
bad:
        free(w);
        return NULL;
}

char *mb_w_to_utf8_n(const WCHAR *w, size_t n)
{
        size_t len = 0, o = 0;
        char *s;

        while (len < n && w[len])
                len++;
        s = malloc(len * 3 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                uint32_t c = w[i];

                if (c >= 0xd800 && c < 0xdc00 && i + 1 < len && w[i + 1] >= 0xdc00 &&
                    w[i + 1] < 0xe000) {
                        c = 0x10000 + ((c - 0xd800) << 10) + (w[i + 1] - 0xdc00u);
                        i++;
                }
                if (c < 0x80) {
                        s[o++] = (char)c;
                } else if (c < 0x800) {
                        s[o++] = (char)(0xc0 | c >> 6);
                        s[o++] = (char)(0x80 | (c & 0x3f));
                } else if (c < 0x10000) {
                        s[o++] = (char)(0xe0 | c >> 12);
                        s[o++] = (char)(0x80 | (c >> 6 & 0x3f));
                        s[o++] = (char)(0x80 | (c & 0x3f));
                } else {
                        s[o++] = (char)(0xf0 | c >> 18);
                        s[o++] = (char)(0x80 | (c >> 12 & 0x3f));
                        s[o++] = (char)(0x80 | (c >> 6 & 0x3f));
                        s[o++] = (char)(0x80 | (c & 0x3f));
                }
        }
        s[o] = '\0';
        return s;
}

char *mb_w_to_utf8(const WCHAR *w)
{
        return mb_w_to_utf8_n(w, (size_t)-1);
}

const char *mb_w_error_text(DWORD code)
{
        static const struct { DWORD code; const char *text; } texts[] = {
                { 0, "The operation completed successfully" },
                { 1, "Incorrect function" },
                { 2, "The system cannot find the file specified" },
                { 3, "The system cannot find the path specified" },
                { 5, "Access is denied" },
                { 6, "The handle is invalid" },
                { 19, "The media is write protected" },
                { 21, "The device is not ready" },
                { 32, "The process cannot access the file because it is being used by another process" },
                { 50, "The request is not supported" },
                { 80, "The file exists" },
                { 87, "The parameter is incorrect" },
                { 122, "The data area passed to a system call is too small" },
                { 203, "The system could not find the environment option that was entered" },
                { 234, "More data is available" },
                { 1112, "No media in drive" },
                { 1117, "The request could not be performed because of an I/O device error" },
                { 1314, "A required privilege is not held by the client" },
        };
        static char buf[32];

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                if (texts[i].code == code)
                        return texts[i].text;
        snprintf(buf, sizeof(buf), "system error %lu", (unsigned long)code);
        return buf;
}

int mb_w_error(mb_error *err, int code, DWORD win_error, const char *call, const char *fmt, ...)
{
        char what[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return mb_error_set(err, code, "%s: %s (%s, error %lu)", what, mb_w_error_text(win_error),
                            call, (unsigned long)win_error);
}

void mb_w_guid_format(const GUID *g, char buf[37])
{
        snprintf(buf, 37, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1],
                 g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
}

int mb_w_guid_parse(const char *s, GUID *ret)
{
        static const int pos[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
        uint8_t b[16];
        size_t len;

        if (*s == '{')
                s++;
        len = strlen(s);
        if (len < 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' ||
            (len > 36 && !(len == 37 && s[36] == '}')))
                return -1;
        for (int i = 0; i < 16; i++) {
                int hi = hexval(s[pos[i]]), lo = hexval(s[pos[i] + 1]);

                if (hi < 0 || lo < 0)
                        return -1;
                b[i] = (uint8_t)(hi << 4 | lo);
        }
        ret->Data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        ret->Data2 = (uint16_t)(b[4] << 8 | b[5]);
        ret->Data3 = (uint16_t)(b[6] << 8 | b[7]);
        memcpy(ret->Data4, b + 8, 8);
        return 0;
}

#ifdef _WIN32

static HRESULT WINAPI co_create_instance(REFCLSID clsid, LPVOID outer, DWORD ctx, REFIID iid,
                                         LPVOID *ret)
{
        return CoCreateInstance(clsid, (LPUNKNOWN)outer, ctx, iid, ret);
}

static HRESULT WINAPI co_initialize_security(PSECURITY_DESCRIPTOR sd, LONG n_auth, void *auth,
                                             void *reserved1, DWORD authn_level, DWORD imp_level,
                                             void *auth_list, DWORD capabilities, void *reserved3)
{
        return CoInitializeSecurity(sd, n_auth, (SOLE_AUTHENTICATION_SERVICE *)auth, reserved1,
                                    authn_level, imp_level, auth_list, capabilities, reserved3);
}

static DWORD WINAPI get_named_security_info(LPCWSTR name, SE_OBJECT_TYPE type,
                                            SECURITY_INFORMATION info, PSID *owner, PSID *group,
                                            PACL *dacl, PACL *sacl, PSECURITY_DESCRIPTOR *sd)
{
        return GetNamedSecurityInfoW((LPWSTR)name, type, info, owner, group, dacl, sacl, sd);
}

static LONG WINAPI reg_get_value(HKEY key, LPCWSTR subkey, LPCWSTR value, DWORD flags,
                                 LPDWORD type, PVOID data, LPDWORD len)
{
        return RegGetValueW(key, subkey, value, flags, type, data, len);
}

/* GetFirmwareType exists from Windows 8 on, and some Windows-compatible
 * environments (wine) lack it: look it up at run time; without it, the
 * classic test tells BIOS (the firmware-variable API is not supported)
 * from UEFI (any other answer). */
static BOOL WINAPI get_firmware_type(FIRMWARE_TYPE *ret)
{
        typedef BOOL (WINAPI *fn_t)(FIRMWARE_TYPE *);
        HMODULE k = GetModuleHandleW(L"kernel32.dll");
        FARPROC p = k ? GetProcAddress(k, "GetFirmwareType") : NULL;
        fn_t fn;

        if (p) {
                memcpy(&fn, &p, sizeof(fn));
                return fn(ret);
        }
        if (GetFirmwareEnvironmentVariableW(L"", L"{00000000-0000-0000-0000-000000000000}", NULL, 0) == 0 &&
            GetLastError() == ERROR_INVALID_FUNCTION)
                *ret = FirmwareTypeBios;
        else
                *ret = FirmwareTypeUefi;
        return TRUE;
}

/* GetTempPath2W exists on Windows 11 and Server 2022, and on Windows 10
 * 1607 and Server 2016 or later with the updates of March 2025 or later
 * (KB5053594); a static import would keep the program from starting on a
 * system without them. There, GetTempPathW, which GetTempPath2W equals for
 * processes that do not run as SYSTEM (the script's name and CREATE_NEW
 * still keep a planted file from being used). */
static DWORD WINAPI get_temp_path2(DWORD len, LPWSTR buf)
{
        typedef DWORD (WINAPI *fn_t)(DWORD, LPWSTR);
        HMODULE k = GetModuleHandleW(L"kernel32.dll");
        FARPROC p = k ? GetProcAddress(k, "GetTempPath2W") : NULL;
        fn_t fn;

        if (!p)
                return GetTempPathW(len, buf);
        memcpy(&fn, &p, sizeof(fn));
        return fn(len, buf);
}

static HRESULT WINAPI sh_get_known_folder_path(const GUID *id, DWORD flags, HANDLE token,
                                                LPWSTR *ret_path)
{
        return SHGetKnownFolderPath(id, flags, token, ret_path);
}

const mb_win32 mb_win32_system = {
        .CreateFileW = CreateFileW,
        .DeviceIoControl = DeviceIoControl,
        .CloseHandle = CloseHandle,
        .ReadFile = ReadFile,
        .WriteFile = WriteFile,
        .SetFilePointerEx = SetFilePointerEx,
        .FlushFileBuffers = FlushFileBuffers,
        .FindFirstVolumeW = FindFirstVolumeW,
        .FindNextVolumeW = FindNextVolumeW,
        .FindVolumeClose = FindVolumeClose,
        .GetVolumeInformationW = GetVolumeInformationW,
        .QueryDosDeviceW = QueryDosDeviceW,
        .FindFirstFileW = FindFirstFileW,
        .FindNextFileW = FindNextFileW,
        .FindClose = FindClose,
        .CopyFileW = CopyFileW,
        .CreateDirectoryW = CreateDirectoryW,
        .DeleteFileW = DeleteFileW,
        .RemoveDirectoryW = RemoveDirectoryW,
        .MoveFileExW = MoveFileExW,
        .GetTempPathW = GetTempPathW,
        .GetSystemWindowsDirectoryW = GetSystemWindowsDirectoryW,
        .RegGetValueW = reg_get_value,
        .RegOpenKeyExW = RegOpenKeyExW,
        .RegEnumKeyExW = RegEnumKeyExW,
        .RegQueryValueExW = RegQueryValueExW,
        .RegEnumValueW = RegEnumValueW,
        .RegCloseKey = RegCloseKey,
        .RegLoadAppKeyW = RegLoadAppKeyW,
        .GetFirmwareType = get_firmware_type,
        .GetFirmwareEnvironmentVariableW = GetFirmwareEnvironmentVariableW,
        .SetFirmwareEnvironmentVariableW = SetFirmwareEnvironmentVariableW,
        .CreateProcessW = CreateProcessW,
        .WaitForSingleObject = WaitForSingleObject,
        .GetExitCodeProcess = GetExitCodeProcess,
        .CreatePipe = CreatePipe,
        .SetHandleInformation = SetHandleInformation,
        .GetCurrentProcess = GetCurrentProcess,
        .OpenProcessToken = OpenProcessToken,
        .GetTokenInformation = GetTokenInformation,
        .LookupPrivilegeValueW = LookupPrivilegeValueW,
        .AdjustTokenPrivileges = AdjustTokenPrivileges,
        .GetNamedSecurityInfoW = get_named_security_info,
        .LocalFree = LocalFree,
        .CoInitializeEx = CoInitializeEx,
        .CoCreateInstance = co_create_instance,
        .CoUninitialize = CoUninitialize,
        .CoInitializeSecurity = co_initialize_security,
        .CoTaskMemFree = CoTaskMemFree,
        .GetTempPath2W = get_temp_path2,
        .SetErrorMode = SetErrorMode,
        .GetFileAttributesW = GetFileAttributesW,
        .SetFileAttributesW = SetFileAttributesW,
        .GetFileInformationByHandle = GetFileInformationByHandle,
        .SHGetKnownFolderPath = sh_get_known_folder_path,
        .ConvertStringSecurityDescriptorToSecurityDescriptorW =
                ConvertStringSecurityDescriptorToSecurityDescriptorW,
        .VirtualAlloc = VirtualAlloc,
        .VirtualFree = VirtualFree,
        .CryptMsgOpenToDecode = CryptMsgOpenToDecode,
        .CryptMsgUpdate = CryptMsgUpdate,
        .CryptMsgGetParam = CryptMsgGetParam,
        .CryptMsgClose = CryptMsgClose,
        .CertCreateCertificateContext = CertCreateCertificateContext,
        .CertFreeCertificateContext = CertFreeCertificateContext,
        .CertNameToStrW = CertNameToStrW,
        .CryptDecodeObjectEx = CryptDecodeObjectEx,
        .GetLastError = GetLastError,
        .Sleep = Sleep,
};

#endif
