/* SPDX-License-Identifier: MIT */
/*
 * The wing's disks: a disk is a file descriptor on an image file or a block
 * device. This file opens one (read-only, with its kind, read-only state
 * and sector sizes), opens it for writing once the target allowed it, keeps
 * the machine's set of disks, and refuses a disk another process is using.
 *
 * Images in use by another process. QEMU, while it has an image open for
 * writing, holds open-file-description (OFD) read locks on bytes 100-101
 * (the permissions it holds: consistent read, write) and 201 (the write
 * permission it does not share), as /proc/locks shows for a running
 * `qemu-system-x86_64 -drive file=IMG,format=raw`. Before the first write
 * an image that any other open file description holds a byte-range lock on
 * is refused, naming the holder; then mbstate takes the same locks as a
 * writing QEMU for the rest of the run, so a VM started meanwhile fails with
 * 'Failed to get "write" lock'. A block device is probed with O_EXCL, which
 * fails with EBUSY while it is mounted or held open exclusively.
 */
#include "platform/posix/disk.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* "qemu-system-x86_64 (pid 123)" for the process whose fd names the file (a
 * regular file: only an fd whose fdinfo lists a lock), or "" when none is
 * found. Reads /proc; nothing is written. */
static void find_holder(const struct stat *want, char *buf, size_t cap)
{
        DIR *proc = opendir("/proc");
        struct dirent *pe;
        pid_t self = getpid();

        buf[0] = '\0';
        if (!proc)
                return;
        while (!buf[0] && (pe = readdir(proc))) {
                char path[300], line[512];
                struct dirent *fe;
                DIR *fds;

                if (!isdigit((unsigned char)pe->d_name[0]) || atoi(pe->d_name) == (int)self)
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
                if (!(fds = opendir(path)))
                        continue;
                while (!buf[0] && (fe = readdir(fds))) {
                        struct stat st;
                        bool match, locked = false;
                        FILE *f;

                        if (fe->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "/proc/%s/fd/%s", pe->d_name, fe->d_name);
                        if (stat(path, &st) < 0)
                                continue;
                        match = S_ISBLK(want->st_mode) ? S_ISBLK(st.st_mode) && st.st_rdev == want->st_rdev
                                                       : st.st_dev == want->st_dev && st.st_ino == want->st_ino;
                        if (!match)
                                continue;
                        snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pe->d_name, fe->d_name);
                        if (!S_ISBLK(want->st_mode) && (f = fopen(path, "re"))) {
                                while (fgets(line, sizeof(line), f))
                                        if (strncmp(line, "lock:", 5) == 0)
                                                locked = true;
                                fclose(f);
                        }
                        if (!locked && !S_ISBLK(want->st_mode))
                                continue;
                        snprintf(path, sizeof(path), "/proc/%s/cmdline", pe->d_name);
                        line[0] = '\0';
                        if ((f = fopen(path, "re"))) {
                                size_t n = fread(line, 1, sizeof(line) - 1, f);

                                line[n] = '\0';
                                fclose(f);
                        }
                        snprintf(buf, cap, "%s (pid %s)",
                                 line[0] ? (strrchr(line, '/') ? strrchr(line, '/') + 1 : line) : "a process",
                                 pe->d_name);
                }
                closedir(fds);
        }
        closedir(proc);
}

/* Whether another open file description holds a byte-range lock anywhere
 * in fd's file (a write lock over the whole file would conflict with it). */
static bool locked_by_other(int fd)
{
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

        return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

static int in_use_error(mb_error *err, const char *path, const char *what, const struct stat *st,
                        const char *how)
{
        char holder[320];

        find_holder(st, holder, sizeof(holder));
        return mb_error_set(err, MB_EUNSAFE, "%s%s: in use by %s, which %s; refusing to write (stop it first)",
                            path, what, holder[0] ? holder : "another process", how);
}

int img_claim_file(const char *path, const char *what, mb_error *err)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return 0;       /* opening it for the write will say why */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && locked_by_other(fd)) {
                close(fd);
                return in_use_error(err, path, what, &st, "holds a lock on it");
        }
        close(fd);
        return 0;
}

int img_claim_disk(mb_posix_disk *d, mb_error *err)
{
        char what[32];
        struct stat st;
        int fd;

        snprintf(what, sizeof(what), " (disk %u)", d->number);
        if (d->lock_fd >= 0)
                return 0;
        if (d->is_block) {
                fd = open(d->path, O_RDONLY | O_EXCL | O_CLOEXEC);
                if (fd < 0 && errno == EBUSY && stat(d->path, &st) == 0)
                        return in_use_error(err, d->path, what, &st,
                                            "has it open, or it is mounted (the kernel refused an exclusive open: EBUSY)");
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        fd = open(d->path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return mb_error_errno(err, MB_EIO, errno, "%s: cannot open for writing (open)", d->path);
        if (fstat(fd, &st) < 0 || st.st_dev != d->st_dev || st.st_ino != d->st_ino) {
                close(fd);
                return mb_error_set(err, MB_EUNSAFE, "%s: the file was replaced since it was opened", d->path);
        }
        if (locked_by_other(fd)) {
                close(fd);
                return in_use_error(err, d->path, what, &st, "holds a lock on it");
        }
        {
                /* the locks a writing QEMU holds: permissions 0-1 held, write not shared */
                static const struct { off_t start, len; } bytes[] = { { 100, 2 }, { 201, 1 } };

                for (size_t i = 0; i < sizeof(bytes) / sizeof(*bytes); i++) {
                        struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
                                            .l_start = bytes[i].start, .l_len = bytes[i].len };

                        if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
                                int e = errno;

                                close(fd);
                                if (e == EAGAIN || e == EACCES)
                                        return in_use_error(err, d->path, what, &st, "holds a lock on it");
                                return mb_error_errno(err, MB_EIO, e, "%s: cannot lock bytes %lld-%lld (F_OFD_SETLK)",
                                                      d->path, (long long)bytes[i].start,
                                                      (long long)(bytes[i].start + bytes[i].len - 1));
                        }
                }
        }
        d->lock_fd = fd;
        return 0;
}

/* ---- the machine's disks ---- */

#define SECTOR_DEFAULT 512u      /* a file's, when the target gives none */

mb_posix_disk *mb_posix_machine_disk(mb_posix_machine *m, uint32_t n, mb_error *err)
{
        if (n >= m->n_disks) {
                mb_error_set(err, MB_EINVAL, "image target: there is no disk %u (%u image(s))", n,
                             m->n_disks);
                return NULL;
        }
        return &m->disks[n];
}

void mb_posix_machine_clear(mb_posix_machine *m)
{
        for (uint32_t i = 0; i < m->n_disks; i++) {
                if (m->disks[i].fd >= 0)
                        close(m->disks[i].fd);
                if (m->disks[i].lock_fd >= 0)
                        close(m->disks[i].lock_fd);
                free(m->disks[i].path);
                free(m->disks[i].abspath);
        }
        free(m->disks);
        free(m->nvram);
        free(m->booted);
        m->disks = NULL;
        m->n_disks = 0;
        m->nvram = m->booted = NULL;
}

int mb_posix_disk_open(mb_posix_disk *d, struct stat *st, mb_error *err)
{
        d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
        if (d->fd < 0)
                return mb_error_errno(err, errno == ENOENT ? MB_ENOENT : MB_EIO, errno,
                                      "image target: cannot open disk %u image '%s'", d->number,
                                      d->path);
        if (fstat(d->fd, st) < 0)
                return mb_error_errno(err, MB_EIO, errno, "image target: cannot stat '%s'", d->path);
        return 0;
}

int mb_posix_disk_probe(mb_posix_disk *d, const struct stat *st, mb_error *err)
{
        d->st_dev = st->st_dev;
        d->st_ino = st->st_ino;
        /* root passes access(W_OK) on any file: a file whose mode has no
         * write bit at all is read-only to mbstate too, as the README says */
        d->read_only = access(d->path, W_OK) != 0 ||
                       (!S_ISBLK(st->st_mode) && (st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0);
        d->is_block = S_ISBLK(st->st_mode);
        if (d->is_block && !d->read_only) {
                int ro = 0;

                /* root passes access(); a write-protected device says so here */
                if (ioctl(d->fd, BLKROGET, &ro) == 0 && ro)
                        d->read_only = true;
        }
        if (d->is_block) {
                unsigned int pss = 0;
                int lss = 0;

                /* the device's own sector sizes; the unit of its LBAs is
                 * the logical one (a 512e disk, 4096 physical and 512
                 * logical, is a 512-byte disk with 1 MiB alignment) */
                if (ioctl(d->fd, BLKSSZGET, &lss) < 0)
                        return mb_error_errno(err, MB_EIO, errno,
                                              "image target: cannot read the sector size of '%s' (BLKSSZGET)",
                                              d->path);
                if (d->sector && d->sector != (uint32_t)lss)
                        return mb_error_set(err, MB_EINVAL,
                                            "image target: '%s' was given as %u-byte sectors but the device has %d-byte logical sectors; refusing before any read or write",
                                            d->path, d->sector, lss);
                d->sector = (uint32_t)lss;
                d->physical_sector = d->sector;
                if (ioctl(d->fd, BLKPBSZGET, &pss) == 0 && pss >= d->sector)
                        d->physical_sector = pss;
        } else {
                if (!d->sector)
                        d->sector = SECTOR_DEFAULT;
                d->physical_sector = d->sector;
        }
        if (d->sector != 512 && d->sector != 4096)
                return mb_error_set(err, MB_ENOTSUP,
                                    "image target: '%s' has %u-byte logical sectors; the image target reads and writes 512- and 4096-byte sectors only; refusing before any read or write",
                                    d->path, d->sector);
        return 0;
}

int img_open_rw(mb_posix_disk *d, int *ret_fd, mb_error *err)
{
        struct stat st;
        int fd;

        if (!d->allowed)
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s (disk %u): refusing to write: the disk is not selected for writing",
                                    d->path, d->number);
        fd = open(d->path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return mb_error_errno(err, MB_EIO, errno, "%s: cannot open for writing (open)",
                                      d->path);
        if (fstat(fd, &st) < 0 || st.st_dev != d->st_dev || st.st_ino != d->st_ino) {
                close(fd);
                return mb_error_set(err, MB_EUNSAFE, "%s: the file was replaced since it was opened",
                                    d->path);
        }
        *ret_fd = fd;
        return 0;
}
