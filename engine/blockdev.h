/* SPDX-License-Identifier: MIT */
#ifndef MB_BLOCKDEV_H
#define MB_BLOCKDEV_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fault.h"

/*
 * A disk as the byte-level format code sees it: positioned reads and writes
 * of whole byte ranges. The image target backs it with a file, the windows
 * target with a \\.\PhysicalDriveN handle, tests with memory. Format code
 * (GPT, LDM, BCD, FAT) works on this and nothing else.
 */
typedef struct mb_blockdev mb_blockdev;
struct mb_blockdev {
        void *ctx;
        const char *name;       /* for messages: "disk1.img", "\\\\.\\PhysicalDrive1" */
        uint64_t size;          /* bytes */
        uint32_t sector_size;   /* bytes, 512 unless the device says otherwise */
        /* Reads/writes exactly len bytes at off; 0 or negative MB_E* with err set. */
        int (*read)(mb_blockdev *dev, uint64_t off, void *buf, size_t len, mb_error *err);
        int (*write)(mb_blockdev *dev, uint64_t off, const void *buf, size_t len, mb_error *err);
};

static inline int mb_blockdev_read(mb_blockdev *dev, uint64_t off, void *buf, size_t len,
                                   mb_error *err)
{
        if (off > dev->size || len > dev->size - off)
                return mb_error_set(err, MB_ECORRUPT,
                                    "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)",
                                    dev->name, len, (unsigned long long)off,
                                    (unsigned long long)dev->size);
        return dev->read(dev, off, buf, len, err);
}

static inline int mb_blockdev_write(mb_blockdev *dev, uint64_t off, const void *buf, size_t len,
                                    mb_error *err)
{
        if (!dev->write)
                return mb_error_set(err, MB_EUNSAFE, "%s is open read-only", dev->name);
        if (off > dev->size || len > dev->size - off)
                return mb_error_set(err, MB_EINVAL,
                                    "%s: write of %zu bytes at offset %llu is past the end (%llu bytes)",
                                    dev->name, len, (unsigned long long)off,
                                    (unsigned long long)dev->size);
        if (mb_fault_pointf(err, "write of %zu bytes to %s at offset %llu", len, dev->name,
                            (unsigned long long)off) < 0)
                return MB_EIO;
        return dev->write(dev, off, buf, len, err);
}

/* Little-endian and big-endian field access for on-disk structures. */
static inline uint16_t mb_le16(const void *p) { const uint8_t *b = p; return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t mb_le32(const void *p) { const uint8_t *b = p; return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static inline uint64_t mb_le64(const void *p) { const uint8_t *b = p; return (uint64_t)mb_le32(b) | (uint64_t)mb_le32(b + 4) << 32; }
static inline uint16_t mb_be16(const void *p) { const uint8_t *b = p; return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t mb_be32(const void *p) { const uint8_t *b = p; return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }
static inline uint64_t mb_be64(const void *p) { const uint8_t *b = p; return (uint64_t)mb_be32(b) << 32 | mb_be32(b + 4); }
static inline void mb_put_le16(void *p, uint16_t v) { uint8_t *b = p; b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static inline void mb_put_le32(void *p, uint32_t v) { uint8_t *b = p; for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static inline void mb_put_le64(void *p, uint64_t v) { uint8_t *b = p; for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static inline void mb_put_be16(void *p, uint16_t v) { uint8_t *b = p; b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }
static inline void mb_put_be32(void *p, uint32_t v) { uint8_t *b = p; for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (24 - 8 * i)); }
static inline void mb_put_be64(void *p, uint64_t v) { uint8_t *b = p; for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (56 - 8 * i)); }

/* A blockdev over a file opened by path (POSIX); writable when 'writable'. */
int mb_blockdev_open_file(const char *path, int writable, mb_blockdev **ret, mb_error *err);
/* A blockdev over a caller-owned memory buffer (tests, fuzzers). */
int mb_blockdev_open_memory(void *buf, size_t size, int writable, mb_blockdev **ret,
                            mb_error *err);
void mb_blockdev_close(mb_blockdev *dev);

#endif
