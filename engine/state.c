/* SPDX-License-Identifier: MIT */
/* The verification record (state.h). */
#include "state.h"
#include "trust.h"

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

/* Splits buf at its newlines (in place): the next line, or NULL at the end. */
static char *next_line(char **pos)
{
        char *line = *pos, *nl;

        while (line && *line == '\n')
                line++;
        if (!line || !*line)
                return NULL;
        nl = strchr(line, '\n');
        if (nl) {
                *nl = '\0';
                *pos = nl + 1;
        } else {
                *pos = line + strlen(line);
        }
        return line;
}

int mb_record_parse(const char *path, char *buf, mb_record *r, mb_error *err)
{
        char *pos = buf, *line = next_line(&pos);
        unsigned lineno = 1;
        long long deep;

        memset(r, 0, sizeof(*r));
        if (!line || strcmp(line, RECORD_MAGIC) != 0)
                return mb_error_at(err, MB_ECORRUPT, path, 1, 0, "expected '%s'", RECORD_MAGIC);
        line = next_line(&pos);
        lineno++;
        if (!line || sscanf(line, "deep %lld", &deep) != 1 || deep < 0)
                return mb_error_at(err, MB_ECORRUPT, path, lineno, 0, "expected 'deep SECONDS'");
        r->deep_at = (time_t)deep;
        while ((line = next_line(&pos))) {
                lineno++;
                if (strlen(line) < 131 || line[64] != ' ' || line[129] != ' ' || line[130] != '/')
                        goto bad;
                line[64] = line[129] = '\0';
                if (strspn(line, "0123456789abcdef") != 64 || strspn(line + 65, "0123456789abcdef") != 64) {
                        mb_record_clear(r);
                        return mb_error_at(err, MB_ECORRUPT, path, lineno, 0, "expected hexadecimal hashes");
                }
                if (mb_record_add(r, line + 130, line, line + 65, err) < 0) {
                        mb_record_clear(r);
                        return err->code;
                }
        }
        if (r->n > 1)
                qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
        return 0;
bad:
        mb_record_clear(r);
        return mb_error_at(err, MB_ECORRUPT, path, lineno, 0, "expected 'IDENTITY SHA256 /PATH'");
}

char *mb_record_format(mb_record *r, size_t *ret_len)
{
        size_t cap = sizeof(RECORD_MAGIC) + 32 + (size_t)r->n * 132, len;
        char *buf;

        for (uint32_t i = 0; i < r->n; i++)
                cap += strlen(r->v[i].path);
        if (!(buf = malloc(cap)))
                return NULL;
        if (r->n > 1)
                qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
        len = (size_t)snprintf(buf, cap, "%s\ndeep %lld\n", RECORD_MAGIC, (long long)r->deep_at);
        for (uint32_t i = 0; i < r->n && len < cap; i++)
                len += (size_t)snprintf(buf + len, cap - len, "%s %s %s\n", r->v[i].identity,
                                        r->v[i].sha256, r->v[i].path);
        *ret_len = len;
        return buf;
}

#ifndef _WIN32

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
        }
        return mb_trust_check(dir, -1, MB_TRUST_STATE_DIR, err);
}

static char *record_path(const char *dir, const char *key, const char *suffix)
{
        char *p;

        if (asprintf(&p, "%s/%s%s", dir, key, suffix) < 0)
                return NULL;
        return p;
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
        } else if ((rc = mb_trust_check(path, fd, MB_TRUST_STATE_FILE, err)) < 0) {
                /* others can write it */
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
                        rc = mb_record_parse(path, buf, ret, err);
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
        {
                size_t len;
                char *text = mb_record_format((mb_record *)r, &len);

                if (!text || fwrite(text, 1, len, f) != len)
                        rc = mb_error_set(err, MB_EIO, "%s: cannot write", tmp);
                free(text);
        }
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

#else /* _WIN32: the windows target keeps its records through the Win32 call table (windows/record.c) */

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
