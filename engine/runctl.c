/* SPDX-License-Identifier: MIT */

/*
 * Run control around a plan or an apply: the per-disk locks two runs on
 * the same machine contend for (keys from the target's lock_keys op), the
 * run log and its events (a file, syslog or the Windows event log), and
 * the parsing of durations such as --wait 5m.
 */
#include "runctl.h"
#include "platform/lock_keys.h"
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
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#endif

#define MB_LOCK_MAX 16

struct mb_lock {
#ifdef _WIN32
        HANDLE mutex;
#else
        int fd[MB_LOCK_MAX];    /* one per file of an image target, sorted by key */
        size_t n;
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
static void key_of(const void *p, size_t n, char out[17])
{
        char hex[65];
        mb_sha256 s;

        mb_sha256_init(&s);
        mb_sha256_update(&s, p, n);
        mb_sha256_final_hex(&s, hex);
        memcpy(out, hex, 16);
        out[16] = '\0';
}

static int cmp_key(const void *a, const void *b)
{
        return strcmp(a, b);
}

/*
 * The lock keys of a target, sorted and each once: one per identity the
 * target's lock_keys gives for the spelling (engine/platform/lock_keys.h;
 * an image target's files, so two runs naming the same file in any
 * spelling, order or company contend), else one for the target text.
 * Returns the number of keys, or a negative MB_E* with err set.
 */
static int target_keys(const char *target, char (*keys)[17], size_t max, mb_error *err)
{
        char **ids = NULL;
        size_t n = 0, k = 0;
        int rc = mb_platform_lock_keys(target, max, &ids, &n, err);

        if (rc)
                return rc;
        for (; k < n; k++)
                key_of(ids[k], strlen(ids[k]), keys[k]);
        mb_lock_keys_free(ids, n);
        if (k == 0)
                key_of(target, strlen(target), keys[k++]);
        qsort(keys, k, sizeof(keys[0]), cmp_key);
        {
                /* one file named twice is one lock (the open refuses it later,
                 * naming both paths; two flocks of it here would wait forever) */
                size_t u = 0;

                for (size_t i = 0; i < k; i++)
                        if (u == 0 || strcmp(keys[i], keys[u - 1]) != 0)
                                memmove(keys[u++], keys[i], sizeof(keys[0]));
                k = u;
        }
        return (int)k;
}

/* Takes one lock file, waiting until deadline; fills *ret_fd. */
static int lock_one(const char *fixed, const char *key, bool exclusive, double deadline,
                    double timeout_s, int *ret_fd, mb_error *err)
{
        char fallback[96], primary[96];
        const char *path = fixed;
        int fd;

        if (!path) {
                snprintf(primary, sizeof(primary), "/run/lock/mbstate-%s.lock", key);
                path = primary;
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && !fixed) {
                snprintf(fallback, sizeof(fallback), "/tmp/mbstate-%u-%s.lock", (unsigned)geteuid(), key);
                path = fallback;
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
                return mb_error_errno(err, MB_EIO, errno, "cannot open the lock file %s", path);
        while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        int e = errno;

                        close(fd);
                        return mb_error_errno(err, MB_EIO, e, "cannot lock %s (flock)", path);
                }
                if (now_s() >= deadline) {
                        close(fd);
                        return mb_error_set(err, MB_EBUSY,
                                            "another mbstate run holds the lock %s; waited %.0f s (--lock-timeout)",
                                            path, timeout_s);
                }
                sleep_ms(100);
        }
        *ret_fd = fd;
        return 0;
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
                const char *fixed = getenv("MBSTATE_LOCK");
                char keys[MB_LOCK_MAX][17] = { "" }; /* unused with MBSTATE_LOCK */
                int n = 1;

                if (fixed && !*fixed)
                        fixed = NULL;
                if (!fixed)
                        n = target_keys(target, keys, MB_LOCK_MAX, err);
                if (n < 0) {
                        free(l);
                        return n;
                }
                for (int i = 0; i < n; i++) {
                        int rc = lock_one(fixed, keys[i], exclusive, deadline, timeout_s,
                                          &l->fd[l->n], err);

                        if (rc < 0) {
                                mb_lock_release(l);
                                return rc;
                        }
                        l->n++;
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
        for (size_t i = l->n; i-- > 0;) {
                flock(l->fd[i], LOCK_UN);
                close(l->fd[i]);
        }
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

static const struct {
        mb_event ev;
        mb_event_level level;
} event_levels[] = {
        { MB_EVENT_INFO, MB_LEVEL_INFO },
        { MB_EVENT_ERROR, MB_LEVEL_ERROR },
        { MB_EVENT_CHECK_OK, MB_LEVEL_INFO },
        { MB_EVENT_CHECK_CONVERGING, MB_LEVEL_WARNING },
        { MB_EVENT_CHECK_DRIFT, MB_LEVEL_WARNING },
        { MB_EVENT_CHECK_NOT_BOOTABLE, MB_LEVEL_ERROR },
        { MB_EVENT_CHECK_FAILED, MB_LEVEL_ERROR },
        { MB_EVENT_APPLY_CHANGED, MB_LEVEL_INFO },
        { MB_EVENT_APPLY_UNCHANGED, MB_LEVEL_INFO },
        { MB_EVENT_APPLY_FAILED, MB_LEVEL_ERROR },
        { MB_EVENT_PLAN, MB_LEVEL_INFO },
};

mb_event_level mb_event_level_of(mb_event ev)
{
        for (size_t i = 0; i < sizeof(event_levels) / sizeof(event_levels[0]); i++)
                if (event_levels[i].ev == ev)
                        return event_levels[i].level;
        return MB_LEVEL_INFO;
}

#ifdef _WIN32
/* HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\mbstate with
 * EventMessageFile = this exe (its message table) and TypesSupported =
 * error | warning | information, written when missing or different. Best
 * effort: without the right to write HKLM the events are logged all the
 * same, shown without their message text. */
static void register_event_source(void)
{
        static const wchar_t key[] = L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\mbstate";
        wchar_t exe[MAX_PATH], have[MAX_PATH];
        DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
        DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH), size = sizeof(have), have_types = 0, tsize = sizeof(DWORD);
        HKEY k;

        if (n == 0 || n >= MAX_PATH)
                return;
        if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_QUERY_VALUE, &k) == ERROR_SUCCESS) {
                bool same = RegQueryValueExW(k, L"EventMessageFile", NULL, NULL, (BYTE *)have, &size) == ERROR_SUCCESS &&
                            size == (n + 1) * sizeof(wchar_t) && memcmp(have, exe, size) == 0 &&
                            RegQueryValueExW(k, L"TypesSupported", NULL, NULL, (BYTE *)&have_types, &tsize) == ERROR_SUCCESS &&
                            have_types == types;

                RegCloseKey(k);
                if (same)
                        return;
        }
        if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, key, 0, NULL, 0, KEY_SET_VALUE, NULL, &k, NULL) != ERROR_SUCCESS)
                return;
        RegSetValueExW(k, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe, (n + 1) * sizeof(wchar_t));
        RegSetValueExW(k, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
        RegCloseKey(k);
}
#endif

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
                register_event_source();
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

static void log_vevent(mb_log *l, mb_event ev, const char *fmt, va_list ap)
{
        static const char *const level_names[] = { "info", "info", "warning", "error" };
        mb_event_level level = mb_event_level_of(ev);
        bool error = level == MB_LEVEL_ERROR;
        char msg[2048];

        if (!l)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
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
                fprintf(l->fp, "%s mbstate[%ld] %s: %s\n", stamp, (long)getpid(), level_names[level], msg);
                fflush(l->fp);
                break;
        }
#ifndef _WIN32
        case LOG_TO_SYSLOG:
                syslog(error ? LOG_ERR : level == MB_LEVEL_WARNING ? LOG_WARNING : LOG_INFO, "%s", msg);
                break;
#else
        case LOG_TO_EVENTLOG: {
                wchar_t wmsg[2048];
                const wchar_t *strings[1] = { wmsg };

                MultiByteToWideChar(CP_UTF8, 0, msg, -1, wmsg, 2048);
                /* The full message ID: severity in bits 30-31 (monitor_events.mc). */
                ReportEventW(l->source,
                             error ? EVENTLOG_ERROR_TYPE
                                   : level == MB_LEVEL_WARNING ? EVENTLOG_WARNING_TYPE : EVENTLOG_INFORMATION_TYPE,
                             0, ((DWORD)level << 30) | (DWORD)ev, NULL, 1, 0, strings, NULL);
                break;
        }
#endif
        default:
                break;
        }
        (void)error;
}

void mb_log_event(mb_log *l, mb_event ev, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vevent(l, ev, fmt, ap);
        va_end(ap);
}

void mb_log_write(mb_log *l, bool error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vevent(l, error ? MB_EVENT_ERROR : MB_EVENT_INFO, fmt, ap);
        va_end(ap);
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
        if (strcmp(end, "d") == 0)
                return v * 86400;
        return -1;
}
