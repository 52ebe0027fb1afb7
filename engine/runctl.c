/* SPDX-License-Identifier: MIT */
#include "runctl.h"
#include "sha256.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <process.h>
#include <windows.h>
#undef MB_OK
#define getpid _getpid
#else
#include <fcntl.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>
#endif

struct mb_lock {
#ifdef _WIN32
        HANDLE mutex;
#else
        int fd;
#endif
};

#ifndef _WIN32
static void sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}
#endif

static double now_s(void)
{
#ifdef _WIN32
        return (double)GetTickCount64() / 1000.0;
#else
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

#ifndef _WIN32
/* A stable key for the machine a target names: image paths resolved. */
static void target_key(const char *target, char out[17])
{
        char hex[65], *copy = NULL, *tok, *save = NULL, resolved[4096];
        size_t n = strlen(target);
        mb_sha256 s;

        mb_sha256_init(&s);
        if (n > 6 && strncmp(target, "image:", 6) == 0 && (copy = malloc(n - 5))) {
                memcpy(copy, target + 6, n - 5);
                for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        const char *p = realpath(tok, resolved) ? resolved : tok;

                        mb_sha256_update(&s, p, strlen(p) + 1);
                }
                free(copy);
        } else {
                mb_sha256_update(&s, target, strlen(target));
        }
        mb_sha256_final_hex(&s, hex);
        memcpy(out, hex, 16);
        out[16] = '\0';
}
#endif

int mb_lock_acquire(const char *target, bool exclusive, double timeout_s, mb_lock **ret,
                    mb_error *err)
{
        mb_lock *l = calloc(1, sizeof(*l));
        double deadline = now_s() + (timeout_s > 0 ? timeout_s : 0);

        if (!l)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
#ifdef _WIN32
        (void)target;
        if (!exclusive) {
                *ret = l;
                return 0;
        }
        l->mutex = CreateMutexW(NULL, FALSE, L"Global\\mbstate");
        if (!l->mutex) {
                free(l);
                return mb_error_set(err, MB_EIO, "cannot create the lock Global\\mbstate (CreateMutexW, error %lu)",
                                    (unsigned long)GetLastError());
        }
        for (;;) {
                DWORD w = WaitForSingleObject(l->mutex, 1000);

                if (w == WAIT_OBJECT_0 || w == WAIT_ABANDONED)
                        break;
                if (now_s() >= deadline) {
                        CloseHandle(l->mutex);
                        free(l);
                        return mb_error_set(err, MB_EBUSY,
                                            "another mbstate run holds the lock Global\\mbstate; waited %.0f s (--lock-timeout)",
                                            timeout_s);
                }
        }
#else
        {
                const char *path = getenv("MBSTATE_LOCK");
                char fallback[96], primary[96], key[17];

                target_key(target, key);
                if (!path || !*path) {
                        snprintf(primary, sizeof(primary), "/run/lock/mbstate-%s.lock", key);
                        path = primary;
                }
                l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (l->fd < 0 && !getenv("MBSTATE_LOCK")) {
                        snprintf(fallback, sizeof(fallback), "/tmp/mbstate-%u-%s.lock", (unsigned)geteuid(), key);
                        path = fallback;
                        l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                }
                if (l->fd < 0) {
                        int e = errno;

                        free(l);
                        return mb_error_errno(err, MB_EIO, e, "cannot open the lock file %s", path);
                }
                while (flock(l->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
                        if (errno != EWOULDBLOCK && errno != EINTR) {
                                int e = errno;

                                close(l->fd);
                                free(l);
                                return mb_error_errno(err, MB_EIO, e, "cannot lock %s (flock)", path);
                        }
                        if (now_s() >= deadline) {
                                close(l->fd);
                                free(l);
                                return mb_error_set(err, MB_EBUSY,
                                                    "another mbstate run holds the lock %s; waited %.0f s (--lock-timeout)",
                                                    path, timeout_s);
                        }
                        sleep_ms(100);
                }
        }
#endif
        *ret = l;
        return 0;
}

void mb_lock_release(mb_lock *l)
{
        if (!l)
                return;
#ifdef _WIN32
        if (l->mutex) {
                ReleaseMutex(l->mutex);
                CloseHandle(l->mutex);
        }
#else
        flock(l->fd, LOCK_UN);
        close(l->fd);
#endif
        free(l);
}

/* ---------- log ---------- */

struct mb_log {
        enum { LOG_TO_FILE, LOG_TO_SYSLOG, LOG_TO_EVENTLOG } kind;
        FILE *fp;
#ifdef _WIN32
        HANDLE source;
#endif
};

int mb_log_open(const char *spec, mb_log **ret, mb_error *err)
{
        mb_log *l = calloc(1, sizeof(*l));

        if (!l)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (strcmp(spec, "syslog") == 0) {
#ifdef _WIN32
                free(l);
                return mb_error_set(err, MB_ENOTSUP, "--log syslog is for POSIX systems; use --log eventlog on Windows");
#else
                l->kind = LOG_TO_SYSLOG;
                openlog("mbstate", LOG_PID, LOG_DAEMON);
#endif
        } else if (strcmp(spec, "eventlog") == 0) {
#ifdef _WIN32
                l->kind = LOG_TO_EVENTLOG;
                l->source = RegisterEventSourceW(NULL, L"mbstate");
                if (!l->source) {
                        free(l);
                        return mb_error_set(err, MB_EIO, "cannot open the Windows Event Log (RegisterEventSourceW, error %lu)",
                                            (unsigned long)GetLastError());
                }
#else
                free(l);
                return mb_error_set(err, MB_ENOTSUP, "--log eventlog is for Windows; use --log syslog or --log FILE");
#endif
        } else {
                l->kind = LOG_TO_FILE;
                l->fp = fopen(spec, "a");
                if (!l->fp) {
                        int e = errno;

                        free(l);
                        return mb_error_errno(err, MB_EIO, e, "cannot open the log file %s", spec);
                }
        }
        *ret = l;
        return 0;
}

void mb_log_write(mb_log *l, bool error, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        if (!l)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        switch (l->kind) {
        case LOG_TO_FILE: {
                char stamp[32];
                time_t t = time(NULL);
                struct tm tm;

#ifdef _WIN32
                gmtime_s(&tm, &t);
#else
                gmtime_r(&t, &tm);
#endif
                strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
                fprintf(l->fp, "%s mbstate[%ld] %s: %s\n", stamp, (long)getpid(),
                        error ? "error" : "info", msg);
                fflush(l->fp);
                break;
        }
#ifndef _WIN32
        case LOG_TO_SYSLOG:
                syslog(error ? LOG_ERR : LOG_INFO, "%s", msg);
                break;
#else
        case LOG_TO_EVENTLOG: {
                wchar_t wmsg[2048];
                const wchar_t *strings[1] = { wmsg };

                MultiByteToWideChar(CP_UTF8, 0, msg, -1, wmsg, 2048);
                ReportEventW(l->source, error ? EVENTLOG_ERROR_TYPE : EVENTLOG_INFORMATION_TYPE,
                             0, 1, NULL, 1, 0, strings, NULL);
                break;
        }
#endif
        default:
                break;
        }
}

void mb_log_close(mb_log *l)
{
        if (!l)
                return;
        if (l->kind == LOG_TO_FILE && l->fp)
                fclose(l->fp);
#ifndef _WIN32
        if (l->kind == LOG_TO_SYSLOG)
                closelog();
#else
        if (l->kind == LOG_TO_EVENTLOG && l->source)
                DeregisterEventSource(l->source);
#endif
        free(l);
}

double mb_parse_duration(const char *s)
{
        char *end;
        double v;

        if (!s || !*s)
                return -1;
        errno = 0;
        v = strtod(s, &end);
        if (errno || v < 0 || end == s)
                return -1;
        if (*end == '\0' || strcmp(end, "s") == 0)
                return v;
        if (strcmp(end, "m") == 0)
                return v * 60;
        if (strcmp(end, "h") == 0)
                return v * 3600;
        return -1;
}
