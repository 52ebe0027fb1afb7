/* SPDX-License-Identifier: MIT */
/*
 * The few POSIX names the engine uses that mingw-w64's C library lacks,
 * force-included into every file of the Windows cross build by
 * cross/mingw-w64-x86_64.txt. Semantics are the closest Windows has:
 * fsync -> _commit (flushes the file to disk), O_CLOEXEC -> 0 (handles are
 * not inherited unless asked), strndup -> a plain implementation.
 */
#ifndef MB_MINGW_POSIX_COMPAT_H
#define MB_MINGW_POSIX_COMPAT_H
#ifdef _WIN32

#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define fsync(fd) _commit(fd)

static inline char *mb_compat_strndup(const char *s, size_t n)
{
        size_t len = 0;
        char *d;

        while (len < n && s[len])
                len++;
        d = malloc(len + 1);
        if (d) {
                memcpy(d, s, len);
                d[len] = '\0';
        }
        return d;
}
#define strndup(s, n) mb_compat_strndup((s), (n))

#endif
#endif
