/* SPDX-License-Identifier: MIT */
/*
 * The image target: a machine of the POSIX wing (engine/platform/posix)
 * named by a list of raw disk images, "image:A.img[:4096],B.img[:4096]
 * [,nvram=F][,booted=GUID][,block-devices=allow]" (a doubled comma is a
 * comma inside a name, a trailing ":512" or ":4096" the disk's logical
 * sector size, engine/target_list.c). What is the image target's own: parsing the
 * list (the system disk is the one whose ESP booted= names, else the first
 * file, disk 0: the wing's img_system_disk), each disk's identity
 * from its resolved path (the serial "IMG-" and 8 hex digits of its
 * SHA-256), refusing block devices unless the list allows them, and refusing
 * writes to read-only files. Facts and operations are the wing's
 * (read_facts.c, execute.c's handler table).
 */
#include "platform/platform.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guid.h"
#include "platform/posix/disk.h"
#include "platform/posix/execute.h"
#include "platform/posix/firmware.h"
#include "platform/posix/gpt.h"
#include "platform/posix/read_facts.h"
#include "platform/lock_keys.h"
#include "sha256.h"
#include "target_list.h"

/* The option of the list that lets block devices be disks (the CLI's
 * --allow-block-devices appends it). */
#define ALLOW_BLOCK_OPTION "block-devices=allow"

typedef struct img_platform {
        mb_platform base;
        mb_posix_machine m;     /* base.priv points here: the wing's handlers take it */
} img_platform;

static mb_posix_disk *get_disk(img_platform *ip, uint32_t n, mb_error *err)
{
        return mb_posix_machine_disk(&ip->m, n, err);
}

static int image_read_facts(mb_platform *p, mb_facts **ret, mb_error *err)
{
        img_platform *ip = (img_platform *)p;

        return mb_posix_read_facts(&ip->m, p->spec, &p->verify, ret, err);
}

static int image_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        img_platform *ip = (img_platform *)p;
        mb_posix_disk *d = get_disk(ip, disk, err);
        int rc;

        if (!d)
                return err->code;
        if (d->read_only)
                return mb_error_set(err, MB_EUNSAFE, "%s (disk %u): the %s is read-only", d->path,
                                    disk, d->is_block ? "block device" : "image file");
        rc = img_claim_disk(d, err);
        if (rc == 0 && ip->m.nvram)
                rc = img_claim_file(ip->m.nvram, " (the UEFI variable store)", err);
        if (rc < 0)
                return rc;
        d->allowed = true;
        return 0;
}

/*
 * The image target's identify: what is behind disk's path now, read from
 * the file system, not from the facts. The serial is the one the facts give
 * ("IMG-" + sha256 of the resolved path, so a path that now resolves to
 * another file names another disk); the size is the file's (or the block
 * device's) now. A path that resolves as before but holds another file than
 * the one opened (replaced behind the path) is refused: such a disk cannot
 * be told apart by serial and size.
 */
static int image_identify(mb_platform *p, uint32_t disk, mb_disk_identity *ret, mb_error *err)
{
        img_platform *ip = (img_platform *)p;
        mb_posix_disk *d = get_disk(ip, disk, err);
        struct stat st;
        uint64_t size = 0;
        uint8_t h[32];
        mb_sha256 s;
        char *abspath;
        int fd;

        if (!d)
                return err->code;
        fd = open(d->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return mb_error_errno(err, MB_EIO, errno, "%s (disk %u): cannot open", d->path, disk);
        if (fstat(fd, &st) < 0 || (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0)) {
                int e = errno;

                close(fd);
                return mb_error_errno(err, MB_EIO, e, "%s (disk %u): cannot read its size", d->path,
                                      disk);
        }
        close(fd);
        if (!S_ISBLK(st.st_mode))
                size = (uint64_t)st.st_size;
        abspath = realpath(d->path, NULL);
        if (!abspath)
                return mb_error_errno(err, MB_EIO, errno, "%s (disk %u): cannot resolve (realpath)",
                                      d->path, disk);
        if (strcmp(abspath, d->abspath) == 0 && (st.st_dev != d->st_dev || st.st_ino != d->st_ino)) {
                free(abspath);
                return mb_error_set(err, MB_EUNSAFE,
                                    "%s (disk %u) is another file now (device %llu inode %llu) than the one opened (device %llu inode %llu)",
                                    d->path, disk, (unsigned long long)st.st_dev,
                                    (unsigned long long)st.st_ino, (unsigned long long)d->st_dev,
                                    (unsigned long long)d->st_ino);
        }
        mb_sha256_init(&s);
        mb_sha256_update(&s, abspath, strlen(abspath));
        mb_sha256_final(&s, h);
        free(abspath);
        snprintf(ret->serial, sizeof(ret->serial), "IMG-%02X%02X%02X%02X", h[0], h[1], h[2], h[3]);
        ret->size = size;
        snprintf(ret->where, sizeof(ret->where), "%s", d->path);
        return 0;
}

static int image_finish(mb_platform *p, mb_error *err)
{
        (void)p, (void)err;
        return 0;
}

static void image_close(mb_platform *p)
{
        img_platform *ip = (img_platform *)p;

        if (!ip)
                return;
        mb_posix_machine_clear(&ip->m);
        free(p->spec);
        free(ip);
}

static const mb_platform_ops image_ops = {
        .name = "image",
        .read_facts = image_read_facts,
        .allow_write = image_allow_write,
        .handlers = mb_posix_handlers,
        .identify = image_identify,
        .finish = image_finish,
        .close = image_close,
        .lock_keys = mb_image_lock_keys,
};

const mb_platform_ops *mb_platform_image_ops(void)
{
        return &image_ops;
}

/* Opens one image read-only and fills d (number and path already set): a
 * regular file, or a block device when allow_block; its identity from its
 * resolved path. */
static int open_disk(mb_posix_disk *d, bool allow_block, mb_error *err)
{
        uint8_t h[32];
        mb_sha256 s;
        struct stat st;
        int rc;

        rc = mb_posix_disk_open(d, &st, err);
        if (rc < 0)
                return rc;
        if (S_ISBLK(st.st_mode)) {
                if (!allow_block)
                        return mb_error_set(err, MB_EUNSAFE,
                                            "image target: '%s' is a block device, not an image file; refusing "
                                            "(give --allow-block-devices to allow)",
                                            d->path);
        } else if (!S_ISREG(st.st_mode)) {
                return mb_error_set(err, MB_EINVAL, "image target: '%s' is not a regular file",
                                    d->path);
        }
        rc = mb_posix_disk_probe(d, &st, err);
        if (rc < 0)
                return rc;
        d->abspath = realpath(d->path, NULL);
        if (!d->abspath)
                return mb_error_errno(err, MB_EIO, errno, "image target: cannot resolve '%s' (realpath)",
                                      d->path);
        mb_sha256_init(&s);
        mb_sha256_update(&s, d->abspath, strlen(d->abspath));
        mb_sha256_final(&s, h);
        snprintf(d->serial, sizeof(d->serial), "IMG-%02X%02X%02X%02X", h[0], h[1], h[2], h[3]);
        return 0;
}

/* Whether the list holds the block-devices option; *ret_spec: the target's
 * spelling without it ("image:" and the list as given when it has none).
 * The items of a valid list are spelled again with their commas doubled,
 * which is how they were given. */
static int list_options(const char *list, bool *ret_allow_block, char **ret_spec, mb_error *err)
{
        char *copy = strdup(list), *save = copy, *tok;
        size_t cap = strlen(list) * 2 + 8, len = 6;
        char *spec = malloc(cap);

        *ret_allow_block = false;
        if (!copy || !spec) {
                free(copy);
                free(spec);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        memcpy(spec, "image:", 7);
        while ((tok = mb_target_list_next(&save))) {
                if (strcmp(tok, ALLOW_BLOCK_OPTION) == 0) {
                        *ret_allow_block = true;
                        continue;
                }
                if (len > 6)
                        spec[len++] = ',';
                for (const char *c = tok; *c; c++) {
                        if (*c == ',')
                                spec[len++] = ',';
                        spec[len++] = *c;
                }
                spec[len] = '\0';
        }
        free(copy);
        if (!*ret_allow_block) {
                free(spec);
                if (asprintf(&spec, "image:%s", list) < 0)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        *ret_spec = spec;
        return 0;
}


int mb_platform_open_image(const char *list, mb_platform **ret, mb_error *err)
{
        img_platform *ip;
        char *copy, *tok, *save = NULL;
        bool allow_block;
        int rc = 0;

        if (!list || list[strspn(list, ",")] == '\0')
                return mb_error_set(err, MB_EINVAL, "image target: no image files given (image:A.img,B.img)");
        ip = calloc(1, sizeof(*ip));
        copy = strdup(list);
        if (!ip || !copy) {
                free(ip);
                free(copy);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        rc = list_options(list, &allow_block, &ip->base.spec, err);
        if (rc < 0) {
                free(ip);
                free(copy);
                return rc;
        }
        ip->base.ops = &image_ops;
        ip->base.priv = &ip->m;
        save = copy;
        while ((tok = mb_target_list_next(&save))) {
                mb_posix_disk *n, *d;

                if (strcmp(tok, ALLOW_BLOCK_OPTION) == 0)
                        continue;
                if (strncmp(tok, "nvram=", 6) == 0) {
                        if ((rc = img_fw_open(&ip->m, tok + 6, err)) < 0)
                                break;
                        continue;
                }
                if (strncmp(tok, "booted=", 7) == 0) {
                        mb_guid g;
                        char text[MB_GUID_STR_LEN];

                        if (ip->m.booted || mb_guid_parse(tok + 7, &g) != 0) {
                                rc = mb_error_set(err, MB_EINVAL,
                                                  "image target: booted= must be given once, as the unique GUID of an ESP ('%s')",
                                                  tok + 7);
                                break;
                        }
                        if (!(ip->m.booted = strdup(mb_guid_format(&g, text)))) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        continue;
                }
                if (!(n = mb_reallocarray(ip->m.disks, ip->m.n_disks + 1, sizeof(*n)))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                ip->m.disks = n;
                d = &n[ip->m.n_disks++];
                memset(d, 0, sizeof(*d));
                d->fd = -1;
                d->lock_fd = -1;
                d->number = ip->m.n_disks - 1;
                d->sector = mb_target_item_sector(tok);
                if (!*tok) {
                        rc = mb_error_set(err, MB_EINVAL, "image target: empty image name in '%s'", list);
                        break;
                }
                if (!(d->path = strdup(tok))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                rc = open_disk(d, allow_block, err);
                if (rc < 0)
                        break;
                {
                        /* a GPT the file cannot hold, or a damaged one, fails here */
                        mb_posix_table t;

                        rc = img_table_read(d, &t, err);
                        if (rc < 0) {
                                mb_error_prefix(err, "image target: disk %u", d->number);
                                break;
                        }
                        img_table_clear(&t);
                }
                for (uint32_t i = 0; i + 1 < ip->m.n_disks; i++)
                        if (ip->m.disks[i].st_dev == d->st_dev && ip->m.disks[i].st_ino == d->st_ino) {
                                rc = mb_error_set(err, MB_EINVAL,
                                                  "image target: '%s' (disk %u) and '%s' (disk %u) are the same file",
                                                  ip->m.disks[i].path, i, d->path, d->number);
                                break;
                        }
                if (rc < 0)
                        break;
        }
        free(copy);
        if (rc == 0 && ip->m.n_disks == 0)
                rc = mb_error_set(err, MB_EINVAL, "image target: no image files given");
        if (rc < 0) {
                image_close(&ip->base);
                return rc;
        }
        *ret = &ip->base;
        return 0;
}

