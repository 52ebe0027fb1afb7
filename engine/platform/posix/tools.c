/* SPDX-License-Identifier: MIT */
/*
 * Running the external tools of the wing (mtools, mkfs.fat, mkntfs) with
 * posix_spawn, no shell: stdin from /dev/null, a fixed locale, stdout to a
 * descriptor or into memory, stderr kept for the error message.
 */
#include "platform/posix/tools.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"

extern char **environ;

/* environ without LC_ALL/MTOOLS_SKIP_CHECK, plus our values (see img_run);
 * malloc'd array of borrowed strings. */
static char **child_env(void)
{
        size_t n = 0, k = 0;
        char **env;

        while (environ && environ[n])
                n++;
        env = calloc(n + 3, sizeof(*env));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "LC_ALL=", 7) != 0 &&
                    strncmp(environ[i], "MTOOLS_SKIP_CHECK=", 18) != 0)
                        env[k++] = environ[i];
        env[k++] = (char *)"LC_ALL=C.UTF-8";
        env[k++] = (char *)"MTOOLS_SKIP_CHECK=1";
        env[k] = NULL;
        return env;
}

/* Whether argv writes a disk image or a file system: the tools that do are a
 * fault point (mcopy only when its destination is inside an image). */
static bool tool_writes(const char *const *argv)
{
        static const char *const writers[] = { "mkfs.fat", "mkfs.vfat", "mkntfs", "mdel",
                                               "mdeltree", "mrd", "mmd", "mren", "mmove",
                                               "mattrib", "mlabel", "mformat" };
        const char *tool = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        size_t n = 0;

        for (size_t i = 0; i < sizeof(writers) / sizeof(*writers); i++)
                if (strcmp(tool, writers[i]) == 0)
                        return true;
        while (argv[n])
                n++;
        return strcmp(tool, "mcopy") == 0 && n > 1 && strncmp(argv[n - 1], "::", 2) == 0;
}

struct buf {
        char *p;
        size_t len, cap;
};

static int buf_add(struct buf *b, const char *data, size_t len)
{
        if (b->len + len + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *n;

                while (cap < b->len + len + 1)
                        cap *= 2;
                n = realloc(b->p, cap);
                if (!n)
                        return -1;
                b->p = n;
                b->cap = cap;
        }
        memcpy(b->p + b->len, data, len);
        b->len += len;
        b->p[b->len] = '\0';
        return 0;
}

static void trim(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
                s[--n] = '\0';
}

int img_run(const char *const *argv, int out_fd, char **ret_out, size_t *ret_len,
            mb_error *err)
{
        int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, status = 0, r = 0;
        struct buf out = { 0 }, errb = { 0 };
        posix_spawn_file_actions_t fa;
        char **env = child_env();
        pid_t pid;
        bool capture = out_fd < 0 && ret_out;

        if (!env)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (tool_writes(argv)) {
                size_t n = 1;

                while (argv[n])
                        n++;
                if (mb_fault_pointf(err, "%s ... %s %s", argv[0], n > 2 ? argv[n - 2] : "",
                                    argv[n - 1] ? argv[n - 1] : "") < 0) {
                        free(env);
                        return MB_EIO;
                }
        }
        if (pipe2(epipe, O_CLOEXEC) < 0 || (capture && pipe2(opipe, O_CLOEXEC) < 0)) {
                r = mb_error_errno(err, MB_EIO, errno, "cannot run %s (pipe)", argv[0]);
                goto out;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (out_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        else if (capture)
                posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
        else
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, epipe[1], 2);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                r = mb_error_errno(err, MB_EIO, r, "cannot run %s (posix_spawnp)", argv[0]);
                goto out;
        }
        close(epipe[1]);
        epipe[1] = -1;
        if (capture) {
                close(opipe[1]);
                opipe[1] = -1;
        }
        for (;;) {
                struct pollfd pf[2] = { { .fd = epipe[0], .events = POLLIN },
                                        { .fd = capture ? opipe[0] : -1, .events = POLLIN } };
                char chunk[65536];
                bool open_any = false;

                if (pf[0].fd < 0 && pf[1].fd < 0)
                        break;
                if (poll(pf, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t n;

                        if (pf[i].fd < 0)
                                continue;
                        if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                                open_any = true;
                                continue;
                        }
                        n = read(pf[i].fd, chunk, sizeof(chunk));
                        if (n < 0 && errno == EINTR) {
                                open_any = true;
                                continue;
                        }
                        if (n <= 0) {
                                close(pf[i].fd);
                                if (i == 0)
                                        epipe[0] = -1;
                                else
                                        opipe[0] = -1;
                                continue;
                        }
                        open_any = true;
                        if (buf_add(i == 0 ? &errb : &out, chunk, (size_t)n) < 0) {
                                r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        }
                }
                if (!open_any && epipe[0] < 0 && opipe[0] < 0)
                        break;
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                goto out;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char cmd[512] = "";
                size_t n = 0;

                for (int i = 0; argv[i] && n < sizeof(cmd) - 1; i++)
                        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s", i ? " " : "",
                                              argv[i]);
                if (errb.p)
                        trim(errb.p);
                if (WIFEXITED(status))
                        r = mb_error_set(err, MB_EIO, "'%s' failed with exit status %d: %s", cmd,
                                         WEXITSTATUS(status),
                                         errb.p && *errb.p ? errb.p : "(no message)");
                else
                        r = mb_error_set(err, MB_EIO, "'%s' was killed by signal %d", cmd,
                                         WTERMSIG(status));
                goto out;
        }
        if (capture) {
                if (!out.p && buf_add(&out, "", 0) < 0) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        goto out;
                }
                *ret_out = out.p;
                if (ret_len)
                        *ret_len = out.len;
                out.p = NULL;
        }
out:
        for (int i = 0; i < 2; i++) {
                if (opipe[i] >= 0)
                        close(opipe[i]);
                if (epipe[i] >= 0)
                        close(epipe[i]);
        }
        free(out.p);
        free(errb.p);
        free(env);
        return r;
}
