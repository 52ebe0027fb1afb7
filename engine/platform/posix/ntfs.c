/* SPDX-License-Identifier: MIT */
/*
 * The files of an NTFS volume inside an image, read in process with
 * libntfs-3g (read-only mount through a device whose reads are preads at the
 * partition's offset of the image file). Used to compare a recovery copy by
 * its files, as the copy the seed made with robocopy is, rather than by the
 * partition's bytes, which NTFS rewrites (journal, volume flags) on its own.
 */
#include "platform/posix/ntfs.h"
#include "platform/posix/sparse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include "sha256.h"

#define CHUNK (1u << 20)

/* ---- the device: fd[off, off+len) ---- */

typedef struct ndev {
        int fd;
        uint64_t off, len, pos;
        uint64_t bytes_read;
} ndev;

static int d_open(struct ntfs_device *dev, int flags)
{
        if ((flags & O_ACCMODE) != O_RDONLY) {
                errno = EROFS;
                return -1;
        }
        NDevSetOpen(dev);
        NDevSetReadOnly(dev);
        return 0;
}

static int d_close(struct ntfs_device *dev)
{
        NDevClearOpen(dev);
        return 0;
}

static s64 d_seek(struct ntfs_device *dev, s64 offset, int whence)
{
        ndev *n = dev->d_private;
        s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (s64)n->pos : (s64)n->len;

        if (base + offset < 0) {
                errno = EINVAL;
                return -1;
        }
        n->pos = (uint64_t)(base + offset);
        return (s64)n->pos;
}

static s64 d_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
        ndev *n = dev->d_private;
        ssize_t r;

        if (offset < 0 || count < 0) {
                errno = EINVAL;
                return -1;
        }
        if ((uint64_t)offset >= n->len)
                return 0;
        if ((uint64_t)count > n->len - (uint64_t)offset)
                count = (s64)(n->len - (uint64_t)offset);
        r = pread(n->fd, buf, (size_t)count, (off_t)(n->off + (uint64_t)offset));
        if (r > 0)
                n->bytes_read += (uint64_t)r;
        return r;
}

static s64 d_read(struct ntfs_device *dev, void *buf, s64 count)
{
        ndev *n = dev->d_private;
        s64 r = d_pread(dev, buf, count, (s64)n->pos);

        if (r > 0)
                n->pos += (uint64_t)r;
        return r;
}

static s64 d_write(struct ntfs_device *dev, const void *buf, s64 count)
{
        (void)dev, (void)buf, (void)count;
        errno = EROFS;
        return -1;
}

static s64 d_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 offset)
{
        (void)dev, (void)buf, (void)count, (void)offset;
        errno = EROFS;
        return -1;
}

static int d_sync(struct ntfs_device *dev)
{
        (void)dev;
        return 0;
}

static int d_stat(struct ntfs_device *dev, struct stat *st)
{
        ndev *n = dev->d_private;

        memset(st, 0, sizeof(*st));
        st->st_mode = S_IFREG | 0400;
        st->st_size = (off_t)n->len;
        return 0;
}

static int d_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
        (void)dev, (void)request, (void)argp;
        errno = ENOTTY;
        return -1;
}

static struct ntfs_device_operations dops = {
        .open = d_open, .close = d_close, .seek = d_seek, .read = d_read, .write = d_write,
        .pread = d_pread, .pwrite = d_pwrite, .sync = d_sync, .stat = d_stat, .ioctl = d_ioctl,
};

/* ---- the walk ---- */

typedef struct dent {
        char *name;
        MFT_REF mref;
        unsigned type;
} dent;

typedef struct dlist {
        dent *v;
        size_t n;
        int err;
} dlist;

static int filldir(void *ctx, const ntfschar *name, const int name_len, const int name_type,
                   const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
        dlist *l = ctx;
        char *s = NULL;
        dent *nv;

        (void)pos;
        if (name_type == FILE_NAME_DOS)         /* the 8.3 alias of a long name */
                return 0;
        if (ntfs_ucstombs(name, name_len, &s, 0) < 0) {
                l->err = errno ? errno : EILSEQ;
                return -1;
        }
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
                free(s);
                return 0;
        }
        nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
        if (!nv) {
                free(s);
                l->err = ENOMEM;
                return -1;
        }
        l->v = nv;
        l->v[l->n++] = (dent){ s, mref, dt_type };
        return 0;
}

static void dlist_free(dlist *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].name);
        free(l->v);
}

typedef struct walk {
        ntfs_volume *vol;
        bool deep;
        mb_posix_ntfs_known known;
        void *known_ctx;
        mb_posix_ntfs_file *files;
        uint32_t n;
        uint64_t hashed;        /* content bytes read */
        mb_error *err;
        const char *image;
} walk;

/* The file's identity: what NTFS changes whenever the file's content changes
 * through the file system (record number and sequence, sizes, the
 * $STANDARD_INFORMATION modification and MFT-change times, the cluster runs
 * of its unnamed $DATA). */
static void identity(ntfs_inode *ni, ntfs_attr *na, char hex[65])
{
        mb_sha256 s;
        uint64_t v[7] = { ni->mft_no, le16_to_cpu(ni->mrec->sequence_number),
                          (uint64_t)na->data_size, (uint64_t)na->initialized_size,
                          (uint64_t)na->allocated_size,
                          (uint64_t)sle64_to_cpu(ni->last_data_change_time),
                          (uint64_t)sle64_to_cpu(ni->last_mft_change_time) };

        mb_sha256_init(&s);
        mb_sha256_update(&s, "ntfs-id-1", 9);
        mb_sha256_update(&s, v, sizeof(v));
        if (NAttrNonResident(na) && na->rl)
                for (runlist_element *r = na->rl; r->length; r++) {
                        int64_t e[3] = { r->vcn, r->lcn, r->length };

                        mb_sha256_update(&s, e, sizeof(e));
                }
        mb_sha256_final_hex(&s, hex);
}

static int hash_data(walk *w, ntfs_attr *na, const char *path, char hex[65])
{
        uint8_t *buf = malloc(CHUNK);
        mb_posix_hasher *h = img_hasher_new();
        s64 pos = 0;

        if (!buf || !h) {
                free(buf);
                if (h)
                        img_hasher_final(h, NULL);
                return mb_error_set(w->err, MB_ENOMEM, "out of memory");
        }
        while (pos < na->data_size) {
                s64 want = na->data_size - pos < CHUNK ? na->data_size - pos : CHUNK;
                s64 r = ntfs_attr_pread(na, pos, want, buf);

                if (r <= 0) {
                        free(buf);
                        img_hasher_final(h, NULL);
                        return mb_error_errno(w->err, MB_EIO, r < 0 ? errno : EIO,
                                              "%s: cannot read %s from the NTFS volume", w->image, path);
                }
                img_hasher_update(h, buf, (size_t)r);
                pos += r;
        }
        free(buf);
        w->hashed += (uint64_t)pos;
        img_hasher_final(h, hex);
        return 0;
}

static int add_file(walk *w, ntfs_inode *ni, const char *path)
{
        ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
        mb_posix_ntfs_file *f, *nf;
        const char *known;
        int rc = 0;

        if (!na)
                return mb_error_errno(w->err, MB_ECORRUPT, errno,
                                      "%s: %s on the NTFS volume has no readable data attribute",
                                      w->image, path);
        if (NAttrNonResident(na) && ntfs_attr_map_whole_runlist(na) < 0) {
                rc = mb_error_errno(w->err, MB_ECORRUPT, errno,
                                    "%s: cannot map the clusters of %s on the NTFS volume", w->image, path);
                goto out;
        }
        nf = realloc(w->files, (w->n + 1) * sizeof(*nf));
        if (!nf) {
                rc = mb_error_set(w->err, MB_ENOMEM, "out of memory");
                goto out;
        }
        w->files = nf;
        f = &w->files[w->n];
        memset(f, 0, sizeof(*f));
        if (!(f->path = strdup(path))) {
                rc = mb_error_set(w->err, MB_ENOMEM, "out of memory");
                goto out;
        }
        w->n++;
        f->size = (uint64_t)na->data_size;
        f->attributes = le32_to_cpu(ni->flags);
        identity(ni, na, f->identity);
        known = !w->deep && w->known ? w->known(w->known_ctx, f->path, f->identity) : NULL;
        if (known && strlen(known) == 64) {
                memcpy(f->sha256, known, 65);
        } else {
                rc = hash_data(w, na, path, f->sha256);
                f->hashed = true;
        }
out:
        ntfs_attr_close(na);
        return rc;
}

/* Not content of the copy: the metadata files (records below 16 and, in the
 * root, $Extend and the other '$' names) and System Volume Information,
 * which Windows keeps per volume. */
static bool skipped(const char *dir, const dent *e)
{
        if (MREF(e->mref) < FILE_first_user)
                return true;
        return dir[0] == '\0' && (e->name[0] == '$' || strcasecmp(e->name, "System Volume Information") == 0);
}

static int walk_dir(walk *w, ntfs_inode *dir, const char *dpath, int depth)
{
        dlist l = { 0 };
        s64 pos = 0;
        int rc = 0;

        if (depth > 64)
                return mb_error_set(w->err, MB_ECORRUPT, "%s: NTFS directories nested deeper than 64 at %s",
                                    w->image, dpath);
        if (ntfs_readdir(dir, &pos, &l, filldir) < 0 || l.err) {
                int e = l.err ? l.err : errno;

                dlist_free(&l);
                return mb_error_errno(w->err, MB_ECORRUPT, e, "%s: cannot read the NTFS directory %s/",
                                      w->image, dpath);
        }
        for (size_t i = 0; rc == 0 && i < l.n; i++) {
                ntfs_inode *ni;
                char *path;

                if (skipped(dpath, &l.v[i]))
                        continue;
                if (asprintf(&path, "%s/%s", dpath, l.v[i].name) < 0) {
                        rc = mb_error_set(w->err, MB_ENOMEM, "out of memory");
                        break;
                }
                ni = ntfs_inode_open(w->vol, l.v[i].mref);
                if (!ni) {
                        rc = mb_error_errno(w->err, MB_ECORRUPT, errno,
                                            "%s: cannot open %s on the NTFS volume", w->image, path);
                } else if (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) {
                        rc = walk_dir(w, ni, path, depth + 1);
                        ntfs_inode_close(ni);
                } else {
                        rc = add_file(w, ni, path);
                        ntfs_inode_close(ni);
                }
                free(path);
        }
        dlist_free(&l);
        return rc;
}

static int file_cmp(const void *a, const void *b)
{
        return strcmp(((const mb_posix_ntfs_file *)a)->path, ((const mb_posix_ntfs_file *)b)->path);
}

void img_ntfs_files_free(mb_posix_ntfs_file *f, uint32_t n)
{
        for (uint32_t i = 0; f && i < n; i++)
                free(f[i].path);
        free(f);
}

int img_ntfs_list(const char *image, int fd, uint64_t off, uint64_t len, bool deep,
                  mb_posix_ntfs_known known, void *known_ctx, mb_posix_ntfs_file **ret_files,
                  uint32_t *ret_n, uint64_t *ret_read, mb_error *err)
{
        ndev n = { .fd = fd, .off = off, .len = len };
        struct ntfs_device *dev;
        ntfs_volume *vol;
        ntfs_inode *root;
        walk w = { .deep = deep, .known = known, .known_ctx = known_ctx, .err = err, .image = image };
        int rc;

        ntfs_log_set_handler(ntfs_log_handler_null);
        dev = ntfs_device_alloc(image, 0, &dops, &n);
        if (!dev)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY);
        if (!vol) {
                rc = mb_error_errno(err, MB_ECORRUPT, errno,
                                    "%s: the NTFS volume at offset %llu cannot be read", image,
                                    (unsigned long long)off);
                ntfs_device_free(dev);
                return rc;
        }
        w.vol = vol;
        root = ntfs_inode_open(vol, FILE_root);
        if (!root) {
                rc = mb_error_errno(err, MB_ECORRUPT, errno,
                                    "%s: the NTFS volume at offset %llu has no readable root directory",
                                    image, (unsigned long long)off);
        } else {
                rc = walk_dir(&w, root, "", 0);
                ntfs_inode_close(root);
        }
        ntfs_umount(vol, FALSE);        /* frees dev */
        if (rc < 0) {
                img_ntfs_files_free(w.files, w.n);
                return rc;
        }
        if (w.n > 1)
                qsort(w.files, w.n, sizeof(*w.files), file_cmp);
        *ret_files = w.files;
        *ret_n = w.n;
        if (ret_read)
                *ret_read = n.bytes_read;
        return 0;
}

int img_ntfs_exists(const char *image, int fd, uint64_t off, uint64_t len, const char *path,
                    bool *ret_exists, mb_error *err)
{
        ndev n = { .fd = fd, .off = off, .len = len };
        struct ntfs_device *dev;
        ntfs_volume *vol;
        ntfs_inode *ni;
        char *p = strdup(path);

        if (!p)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (char *c = p; *c; c++)
                if (*c == '\\')
                        *c = '/';
        ntfs_log_set_handler(ntfs_log_handler_null);
        dev = ntfs_device_alloc(image, 0, &dops, &n);
        if (!dev) {
                free(p);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY);
        if (!vol) {
                int rc = mb_error_errno(err, MB_ECORRUPT, errno,
                                        "%s: the NTFS volume at offset %llu cannot be read", image,
                                        (unsigned long long)off);

                ntfs_device_free(dev);
                free(p);
                return rc;
        }
        /* names compare through the volume's $UpCase table, as Windows compares them */
        ntfs_set_ignore_case(vol);
        ni = ntfs_pathname_to_inode(vol, NULL, p);
        *ret_exists = ni && !(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY);
        if (ni)
                ntfs_inode_close(ni);
        ntfs_umount(vol, FALSE);
        free(p);
        return 0;
}
