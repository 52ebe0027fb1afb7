/* SPDX-License-Identifier: MIT */
/* The trust rule for configuration, facts and state files (trust.h): the
 * POSIX branch here, the Windows branch through the Win32 call table. */
#include "trust.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef _WIN32

/* What each kind is called in a refusal, and whether it must be a directory. */
static const struct {
        const char *noun;
        bool dir;
} kinds[] = {
        [MB_TRUST_FILE] = { "file", false },
        [MB_TRUST_STATE_DIR] = { "state directory", true },
        [MB_TRUST_STATE_FILE] = { "state file", false },
};

static const char *who(const struct stat *st)
{
        return (st->st_mode & S_IWOTH) ? "every user" : (st->st_mode & S_IWGRP) ? "its group" : "another user";
}

int mb_trust_check(const char *path, int fd, mb_trust_kind kind, mb_error *err)
{
        struct stat st;
        int r = fd >= 0 ? fstat(fd, &st) : lstat(path, &st);

        if (r < 0)
                return mb_error_errno(err, errno == ENOENT ? MB_ENOENT : MB_EIO, errno,
                                      "%s: cannot read its owner and mode", path);
        if (kinds[kind].dir && !S_ISDIR(st.st_mode))
                return mb_error_set(err, MB_EUNSAFE, "%s: the %s is %s; expected a directory", path,
                                    kinds[kind].noun, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
        if (!kinds[kind].dir && !S_ISREG(st.st_mode))
                return mb_error_set(err, MB_EUNSAFE, "%s: the %s is %s; expected a regular file", path,
                                    kinds[kind].noun, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
        if (!(st.st_mode & (S_IWGRP | S_IWOTH)) && (st.st_uid == 0 || st.st_uid == geteuid()))
                return 0;
        if (kind == MB_TRUST_FILE)
                return mb_error_at(err, MB_EUNSAFE, path, 0, 0,
                                   "refusing a file that %s can modify (mode %04o, owner uid %u); expected it writable by its owner only (chmod go-w, owned by root or you)",
                                   who(&st), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
        return mb_error_set(err, MB_EUNSAFE,
                            "%s: refusing a %s that %s can modify (mode %04o, owner uid %u); expected it writable by its owner only (chmod go-w, owned by root or you)",
                            path, kinds[kind].noun, who(&st), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
}

#else

int mb_trust_check(const char *path, int fd, mb_trust_kind kind, mb_error *err)
{
        (void)fd;
        return mb_trust_check_windows(path, kind, err);
}

#endif
