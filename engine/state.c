/* SPDX-License-Identifier: MIT */
/* The verification record (state.h). */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAGIC "mbstate verification record 1"
#define RECORD_MAX (64u << 20)

void mb_record_clear(mb_record *r)
{
        for (uint32_t i = 0; r && i < r->n; i++)
                free(r->v[i].path);
        if (r) {
                free(r->v);
                memset(r, 0, sizeof(*r));
        }
}

int mb_record_add(mb_record *r, const char *path, const char *identity, const char *sha256,
                  mb_error *err)
{
        mb_record_entry *nv;

        if (strlen(identity) != 64 || strlen(sha256) != 64 || strchr(path, '\n'))
                return 0;       /* nothing a later lookup could trust: not recorded */
        nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
        if (!nv)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        r->v = nv;
        if (!(nv[r->n].path = strdup(path)))
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        memcpy(nv[r->n].identity, identity, 65);
        memcpy(nv[r->n].sha256, sha256, 65);
        r->n++;
        return 0;
}

static int entry_cmp(const void *a, const void *b)
{
        return strcmp(((const mb_record_entry *)a)->path, ((const mb_record_entry *)b)->path);
}

const char *mb_record_lookup(const mb_record *r, const char *path, const char *identity)
{
        mb_record_entry key = { .path = (char *)path };
        const mb_record_entry *e;

        if (!r || !r->n)
                return NULL;
        e = bsearch(&key, r->v, r->n, sizeof(*r->v), entry_cmp);
        return e && strcmp(e->identity, identity) == 0 ? e->sha256 : NULL;
}

#ifndef _WIN32

/* Writable by root or the effective user only. */
static bool safe(const struct stat *st)
{
        return !(st->st_mode & (S_IWGRP | S_IWOTH)) && (st->st_uid == 0 || st->st_uid == geteuid());
}

static int unsafe(const char *what, const char *path, const struct stat *st, mb_error *err)
{
        return mb_error_set(err, MB_EUNSAFE,
                            "%s: refusing a state %s that %s can modify (mode %04o, owner uid %u); expected it writable by its owner only (chmod go-w, owned by root or you)",
                            path, what,
                            (st->st_mode & S_IWOTH) ? "every user" : (st->st_mode & S_IWGRP) ? "its group" : "another user",
                            (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid);
}

int mb_state_dir_check(const char *dir, bool create, mb_error *err)
{
        struct stat st;

        if (lstat(dir, &st) < 0) {
                if (errno != ENOENT)
                        return mb_error_errno(err, MB_EIO, errno, "%s: cannot read the state directory", dir);
                if (!create)
                        return mb_error_set(err, MB_ENOENT, "%s: no state directory", dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return mb_error_errno(err, errno == EACCES || errno == EROFS ? MB_ENOENT : MB_EIO, errno,
                                              "%s: cannot create the state directory", dir);
                if (lstat(dir, &st) < 0)
                        return mb_error_errno(err, MB_EIO, errno, "%s: cannot read the state directory", dir);
        }
        if (!S_ISDIR(st.st_mode))
                return mb_error_set(err, MB_EUNSAFE, "%s: the state directory is %s; expected a directory",
                                    dir, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
        if (!safe(&st))
                return unsafe("directory", dir, &st, err);
        return 0;
}

static char *record_path(const char *dir, const char *key, const char *suffix)
{
        char *p;

        if (asprintf(&p, "%s/%s%s", dir, key, suffix) < 0)
                return NULL;
        return p;
}

static int parse(const char *path, char *buf, mb_record *r, mb_error *err)
{
        char *save = NULL, *line = strtok_r(buf, "\n", &save);
        unsigned lineno = 1;
        long long deep;

        if (!line || strcmp(line, RECORD_MAGIC) != 0)
                return mb_error_at(err, MB_ECORRUPT, path, 1, 0, "expected '%s'", RECORD_MAGIC);
        line = strtok_r(NULL, "\n", &save);
        lineno++;
        if (!line || sscanf(line, "deep %lld", &deep) != 1 || deep < 0)
                return mb_error_at(err, MB_ECORRUPT, path, lineno, 0, "expected 'deep SECONDS'");
        r->deep_at = (time_t)deep;
        while ((line = strtok_r(NULL, "\n", &save))) {
                lineno++;
                if (strlen(line) < 131 || line[64] != ' ' || line[129] != ' ' || line[130] != '/')
                        return mb_error_at(err, MB_ECORRUPT, path, lineno, 0,
                                           "expected 'IDENTITY SHA256 /PATH'");
                line[64] = line[129] = '\0';
                if (strspn(line, "0123456789abcdef") != 64 || strspn(line + 65, "0123456789abcdef") != 64)
                        return mb_error_at(err, MB_ECORRUPT, path, lineno, 0, "expected hexadecimal hashes");
                if (mb_record_add(r, line + 130, line, line + 65, err) < 0)
                        return err->code;
        }
        if (r->n > 1)
                qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
        return 0;
}

int mb_record_load(const char *dir, const char *key, mb_record *ret, mb_error *err)
{
        char *path = record_path(dir, key, ".rec"), *buf = NULL;
        struct stat st;
        size_t len = 0;
        int fd, rc;

        memset(ret, 0, sizeof(*ret));
        if (!path)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                rc = errno == ENOENT ? 0 : mb_error_errno(err, MB_EIO, errno, "%s: cannot open", path);
                free(path);
                return rc;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX) {
                rc = mb_error_set(err, MB_ECORRUPT, "%s: not a regular file of at most 64 MiB", path);
        } else if (!safe(&st)) {
                rc = unsafe("file", path, &st, err);
        } else if (!(buf = malloc((size_t)st.st_size + 1))) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        } else {
                rc = 0;
                while (rc == 0 && len < (size_t)st.st_size) {
                        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                rc = mb_error_errno(err, MB_EIO, n < 0 ? errno : EIO, "%s: cannot read", path);
                        else
                                len += (size_t)n;
                }
                buf[len] = '\0';
                if (rc == 0)
                        rc = parse(path, buf, ret, err);
        }
        close(fd);
        free(buf);
        free(path);
        if (rc < 0)
                mb_record_clear(ret);
        return rc;
}

int mb_record_save(const char *dir, const char *key, const mb_record *r, mb_error *err)
{
        char *path = record_path(dir, key, ".rec"), *tmp = record_path(dir, key, ".rec.XXXXXX");
        FILE *f = NULL;
        int fd = -1, rc = 0;

        if (!path || !tmp) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        if (r->n > 1)
                qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
        fd = mkostemp(tmp, O_CLOEXEC);  /* mode 0600 */
        if (fd < 0 || !(f = fdopen(fd, "w"))) {
                rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot create a record file", dir);
                if (fd >= 0) {
                        close(fd);
                        unlink(tmp);
                }
                goto out;
        }
        fprintf(f, "%s\ndeep %lld\n", RECORD_MAGIC, (long long)r->deep_at);
        for (uint32_t i = 0; i < r->n; i++)
                fprintf(f, "%s %s %s\n", r->v[i].identity, r->v[i].sha256, r->v[i].path);
        if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot write", tmp);
        if (fclose(f) != 0 && rc == 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot write", tmp);
        if (rc == 0 && rename(tmp, path) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: cannot replace", path);
        if (rc < 0)
                unlink(tmp);
out:
        free(path);
        free(tmp);
        return rc;
}

#else /* _WIN32: the record is kept by the image target only, which Windows builds lack */

int mb_state_dir_check(const char *dir, bool create, mb_error *err)
{
        (void)create;
        return mb_error_set(err, MB_ENOTSUP, "%s: no verification record on this system", dir);
}

int mb_record_load(const char *dir, const char *key, mb_record *ret, mb_error *err)
{
        (void)key, (void)ret;
        return mb_error_set(err, MB_ENOTSUP, "%s: no verification record on this system", dir);
}

int mb_record_save(const char *dir, const char *key, const mb_record *r, mb_error *err)
{
        (void)key, (void)r;
        return mb_error_set(err, MB_ENOTSUP, "%s: no verification record on this system", dir);
}

#endif
