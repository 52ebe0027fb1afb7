/* SPDX-License-Identifier: MIT */
/*
 * The block devices format code reads and writes (blockdev.h): one backed by
 * a file (an image, or a device node), one backed by memory for tests, and
 * the close that releases either.
 */
#include "blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_dev {
        mb_blockdev dev;
        int fd;
        char *path;
};

struct mem_dev {
        mb_blockdev dev;
        uint8_t *buf;
};

#ifndef _WIN32
static int file_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err)
{
        struct file_dev *f = dev->ctx;
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = pread(f->fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mb_error_errno(err, MB_EIO, errno,
                                              "cannot read %s at offset %llu (pread)", dev->name,
                                              (unsigned long long)off);
                if (n == 0)
                        return mb_error_set(err, MB_ECORRUPT,
                                            "%s ends before offset %llu", dev->name,
                                            (unsigned long long)off);
                p += n, off += (uint64_t)n, len -= (size_t)n;
        }
        return 0;
}

static int file_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        struct file_dev *f = dev->ctx;
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(f->fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return mb_error_errno(err, MB_EIO, n < 0 ? errno : EIO,
                                              "cannot write %s at offset %llu (pwrite)",
                                              dev->name, (unsigned long long)off);
                p += n, off += (uint64_t)n, len -= (size_t)n;
        }
        return 0;
}

int mb_blockdev_open_file(const char *path, int writable, mb_blockdev **ret, mb_error *err)
{
        struct file_dev *f;
        struct stat st;
        int fd;

        fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0)
                return mb_error_errno(err, MB_EIO, errno, "cannot open %s", path);
        if (fstat(fd, &st) < 0) {
                int e = errno;
                close(fd);
                return mb_error_errno(err, MB_EIO, e, "cannot stat %s", path);
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return mb_error_set(err, MB_EINVAL, "%s is not a regular file", path);
        }
        f = calloc(1, sizeof(*f));
        if (!f || !(f->path = strdup(path))) {
                free(f);
                close(fd);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        f->fd = fd;
        f->dev.ctx = f;
        f->dev.name = f->path;
        f->dev.size = (uint64_t)st.st_size;
        f->dev.sector_size = 512;
        f->dev.read = file_read;
        f->dev.write = writable ? file_write : NULL;
        *ret = &f->dev;
        return 0;
}
#endif

static int mem_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err)
{
        struct mem_dev *m = dev->ctx;

        (void)err;
        memcpy(buf, m->buf + off, len);
        return 0;
}

static int mem_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        struct mem_dev *m = dev->ctx;

        (void)err;
        memcpy(m->buf + off, buf, len);
        return 0;
}

int mb_blockdev_open_memory(void *buf, size_t size, int writable, mb_blockdev **ret,
                            mb_error *err)
{
        struct mem_dev *m = calloc(1, sizeof(*m));

        if (!m)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        m->buf = buf;
        m->dev.ctx = m;
        m->dev.name = "memory";
        m->dev.size = size;
        m->dev.sector_size = 512;
        m->dev.read = mem_read;
        m->dev.write = writable ? mem_write : NULL;
        *ret = &m->dev;
        return 0;
}

void mb_blockdev_close(mb_blockdev *dev)
{
        if (!dev)
                return;
        if (dev->read == mem_read) {
                free(dev->ctx);
                return;
        }
#ifndef _WIN32
        {
                struct file_dev *f = dev->ctx;

                close(f->fd);
                free(f->path);
                free(f);
        }
#endif
}
