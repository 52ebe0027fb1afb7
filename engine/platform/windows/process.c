/* SPDX-License-Identifier: MIT */
/*
 * Running a Windows program through the call table: CreateProcessW with its
 * output captured through a pipe, returning the output and the exit code.
 */
#include "windows_internal.h"

#include <stdlib.h>
#include <string.h>

int mb_win_run(const mb_win32 *w, const char *cmdline, char **ret_out, DWORD *ret_code,
               mb_error *err)
{
        SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        HANDLE rd, wr;
        WCHAR *wcmd;
        char *out = NULL;
        size_t len = 0;
        DWORD code = 0, e;

        wcmd = mb_w_from_utf8(cmdline);
        if (!wcmd)
                return mb_error_set(err, MB_EINVAL, "command line is not valid UTF-8: %s", cmdline);
        if (!w->CreatePipe(&rd, &wr, &sa, 0)) {
                e = w->GetLastError();
                free(wcmd);
                return mb_w_error(err, MB_EIO, e, "CreatePipe", "cannot run '%s'", cmdline);
        }
        w->SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = NULL;
        si.hStdOutput = wr;
        si.hStdError = wr;
        memset(&pi, 0, sizeof(pi));
        if (!w->CreateProcessW(NULL, wcmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
                e = w->GetLastError();
                w->CloseHandle(rd);
                w->CloseHandle(wr);
                free(wcmd);
                return mb_w_error(err, MB_EIO, e, "CreateProcessW", "cannot run '%s'", cmdline);
        }
        free(wcmd);
        w->CloseHandle(wr);
        out = calloc(1, 1);
        for (;;) {
                char buf[4096], *n;
                DWORD got = 0;

                if (!w->ReadFile(rd, buf, sizeof(buf), &got, NULL) || got == 0)
                        break;
                n = out ? realloc(out, len + got + 1) : NULL;
                if (!n) {
                        free(out);
                        out = NULL;
                        continue;       /* keep draining so the child can exit */
                }
                out = n;
                memcpy(out + len, buf, got);
                len += got;
                out[len] = '\0';
        }
        w->CloseHandle(rd);
        w->WaitForSingleObject(pi.hProcess, INFINITE);
        if (!w->GetExitCodeProcess(pi.hProcess, &code)) {
                e = w->GetLastError();
                w->CloseHandle(pi.hProcess);
                w->CloseHandle(pi.hThread);
                free(out);
                return mb_w_error(err, MB_EIO, e, "GetExitCodeProcess", "'%s'", cmdline);
        }
        w->CloseHandle(pi.hProcess);
        w->CloseHandle(pi.hThread);
        if (!out)
                return mb_error_set(err, MB_ENOMEM, "out of memory reading the output of '%s'", cmdline);
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        *ret_code = code;
        return 0;
}
