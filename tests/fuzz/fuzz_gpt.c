/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for the image target's disk reading: the input becomes a
 * 2 MiB disk image file (its first 17 KiB at the start: protective MBR,
 * primary GPT header and entries; the rest at the end: backup entries and
 * header), opened as image:FILE and read whole (GPT checks, libfdisk,
 * blkid probes, LDM, BCD) as `mbstate facts` does; a damaged copy is read
 * through the intact one.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK (2u << 20)
#define HEAD (34u * 512)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char path[64];
        size_t head = size < HEAD ? size : HEAD, tail = size - head;
        mb_platform *p = NULL;
        mb_facts *f = NULL;
        mb_error err;
        char spec[80];
        int fd;

        if (tail > DISK - HEAD)
                return 0;
        if (!path[0]) {
                snprintf(path, sizeof(path), "%s/mbstate-fuzz-gpt-%d.img",
                         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        }
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return 0;
        if (ftruncate(fd, DISK) < 0 || pwrite(fd, data, head, 0) != (ssize_t)head ||
            (tail && pwrite(fd, data + head, tail, DISK - tail) != (ssize_t)tail)) {
                close(fd);
                return 0;
        }
        close(fd);
        snprintf(spec, sizeof(spec), "image:%s", path);
        if (mb_platform_open(spec, &p, &err) == 0) {
                if (mb_platform_read_facts(p, &f, &err) == 0)
                        mb_facts_free(f);
                mb_platform_close(p);
        }
        unlink(path);
        return 0;
}
