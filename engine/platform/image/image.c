/* SPDX-License-Identifier: MIT */
#include "image.h"
#include "target_list.h"

#include "guid.h"

#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "state.h"

#define SECTOR 512u

int mb_image_allow_block_devices;

static bool env_on(const char *name)
{
        const char *v = getenv(name);

        return v && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0);
}

int img_open_rw(img_disk *d, int *ret_fd, mb_error *err)
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

/* ---- facts ---- */

static int probe_fs(img_disk *d, uint64_t off, uint64_t len, mb_fs *ret_fs, char **ret_label,
                    mb_error *err)
{
        blkid_probe pr = blkid_new_probe();
        const char *type = NULL, *label = NULL, *version = NULL;
        int rc;

        *ret_fs = MB_FS_NONE;
        *ret_label = NULL;
        if (!pr)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (blkid_probe_set_device(pr, d->fd, (blkid_loff_t)off, (blkid_loff_t)len) < 0) {
                blkid_free_probe(pr);
                return mb_error_set(err, MB_EIO, "%s: cannot probe at offset %llu (blkid_probe_set_device)",
                                    d->path, (unsigned long long)off);
        }
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
                                                  BLKID_SUBLKS_VERSION);
        blkid_probe_enable_partitions(pr, 0);
        rc = blkid_do_safeprobe(pr);
        if (rc == 0) {
                blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
                blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
                blkid_probe_lookup_value(pr, "VERSION", &version, NULL);
                if (type && strcmp(type, "vfat") == 0 && version && strcmp(version, "FAT32") == 0)
                        *ret_fs = MB_FS_FAT32;
                else if (type && strcmp(type, "ntfs") == 0)
                        *ret_fs = MB_FS_NTFS;
                else if (type)
                        *ret_fs = MB_FS_OTHER;
                if (label && *label && !(*ret_label = strdup(label))) {
                        blkid_free_probe(pr);
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                }
        } else if (rc == -2) {
                *ret_fs = MB_FS_OTHER; /* ambiguous: more than one signature */
        } else if (rc < 0) {
                blkid_free_probe(pr);
                return mb_error_set(err, MB_EIO, "%s: cannot probe at offset %llu (blkid_do_safeprobe)",
                                    d->path, (unsigned long long)off);
        }
        blkid_free_probe(pr);
        return 0;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
        return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* SHA-256 of sectors [first, last] of d. Facts are re-read after every
 * operation and a 524 MiB recovery partition costs about half a second to
 * hash, so the last result is reused while the file's stat is unchanged
 * (between operations) or the range's layout fingerprint is (the fingerprint
 * reads the data extents alone: on a sparse image, a few megabytes). */
static int hash_part(img_disk *d, uint64_t first, uint64_t last, char hex[65], mb_error *err)
{
        uint64_t off = first * SECTOR, len = (last - first + 1) * SECTOR;
        bool same = d->hash_cache.valid && d->hash_cache.first == first && d->hash_cache.last == last;
        char fp[65];
        struct stat st;
        int rc, have_fp;

        if (fstat(d->fd, &st) < 0)
                return mb_error_errno(err, MB_EIO, errno, "%s: cannot stat (fstat)", d->path);
        if (getenv("MB_IMAGE_HASH_REUSE") && !env_on("MB_IMAGE_HASH_REUSE"))
                return img_hash_range(d->fd, off, len, hex, err);   /* the benchmark's baseline */
        if (same && d->hash_cache.stat_valid && ts_eq(d->hash_cache.mtime, st.st_mtim) &&
            ts_eq(d->hash_cache.ctime, st.st_ctim) && d->hash_cache.size == st.st_size) {
                memcpy(hex, d->hash_cache.hex, 65);
                return 0;
        }
        rc = img_range_fingerprint(d->fd, off, len, len / 4, fp, err);
        if (rc < 0)
                return rc;
        have_fp = rc == 0;
        if (same && have_fp && d->hash_cache.have_fp && strcmp(fp, d->hash_cache.fp) == 0) {
                memcpy(hex, d->hash_cache.hex, 65);
        } else {
                rc = img_hash_range(d->fd, off, len, hex, err);
                if (rc < 0)
                        return rc;
        }
        d->hash_cache.valid = true;
        d->hash_cache.stat_valid = true;
        d->hash_cache.have_fp = have_fp;
        d->hash_cache.first = first;
        d->hash_cache.last = last;
        d->hash_cache.mtime = st.st_mtim;
        d->hash_cache.ctime = st.st_ctim;
        d->hash_cache.size = st.st_size;
        memcpy(d->hash_cache.fp, have_fp ? fp : "", have_fp ? 65 : 1);
        memcpy(d->hash_cache.hex, hex, 65);
        return 0;
}

static const char *record_known(void *ctx, const char *path, const char *identity)
{
        return mb_record_lookup(ctx, path, identity);
}

/* The volume's verification record: loaded into *rec when v names a state
 * directory that is safe; *ret_usable false (and no error) when there is
 * none mbstate may write (not created, not readable by this user). */
static int record_open(const mb_verify *v, const char *key, mb_record *rec, bool *ret_usable,
                       mb_error *err)
{
        int rc;

        *ret_usable = false;
        memset(rec, 0, sizeof(*rec));
        if (!v->state_dir)
                return 0;
        rc = mb_state_dir_check(v->state_dir, true, err);
        if (rc == 0)
                rc = mb_record_load(v->state_dir, key, rec, err);
        if (rc == MB_ENOENT || (rc == MB_EIO && access(v->state_dir, R_OK | W_OK | X_OK) != 0)) {
                mb_error_clear(err);
                return 0;
        }
        if (rc < 0)
                return rc;
        *ret_usable = true;
        return 0;
}

/* p->files from the NTFS volume at d[off, off+len): names, sizes, attributes
 * and content hashes. A file whose identity the volume's verification record
 * holds keeps the recorded hash unless the read is deep (asked, or the
 * record's last deep verification is older than v->max_age, or there is no
 * record); the record is rewritten with what was read. MB_ECORRUPT when
 * libntfs-3g cannot read the volume. */
static int recovery_files(img_disk *d, uint64_t off, uint64_t len, mb_part_fact *p, mb_verify *v,
                          mb_error *err)
{
        img_ntfs_file *nf = NULL;
        uint32_t n = 0;
        mb_record rec, out = { 0 };
        bool usable, deep, changed;
        time_t now = time(NULL);
        char *key = NULL;
        int rc;

        if (asprintf(&key, "image-%s-%s", d->serial, p->unique_guid ? p->unique_guid : "mbr") < 0)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        rc = record_open(v, key, &rec, &usable, err);
        if (rc < 0) {
                free(key);
                return rc;
        }
        deep = v->deep || d->rehash || !usable || !rec.deep_at || difftime(now, rec.deep_at) > v->max_age;
        rc = img_ntfs_list(d->path, d->fd, off, len, deep, record_known, &rec, &nf, &n, NULL, err);
        changed = deep || rc < 0 || n != rec.n;
        out.deep_at = deep ? now : rec.deep_at;
        for (uint32_t k = 0; rc == 0 && k < n; k++) {
                changed |= nf[k].hashed;
                rc = mb_record_add(&out, nf[k].path, nf[k].identity, nf[k].sha256, err);
        }
        if (rc == 0 && usable && changed)
                rc = mb_record_save(v->state_dir, key, &out, err);
        if (rc == 0) {
                d->rehash = false;
                v->depth = v->depth == MB_VERIFY_METADATA || !deep ? MB_VERIFY_METADATA : MB_VERIFY_DEEP;
                if (usable && (!v->last_deep || out.deep_at < v->last_deep))
                        v->last_deep = out.deep_at;
        }
        mb_record_clear(&rec);
        mb_record_clear(&out);
        free(key);
        if (rc < 0) {
                img_ntfs_files_free(nf, n);
                return rc;
        }
        p->files = calloc(n ? n : 1, sizeof(*p->files));
        for (uint32_t k = 0; p->files && k < n; k++) {
                mb_file_fact *f = &p->files[p->n_files];

                f->path = nf[k].path;
                nf[k].path = NULL;
                f->size = nf[k].size;
                f->attributes = nf[k].attributes;
                p->n_files++;
                if (!(f->sha256 = strdup(nf[k].sha256)))
                        break;
        }
        rc = p->files && p->n_files == n && (!n || p->files[n - 1].sha256) ? 0 :
             mb_error_set(err, MB_ENOMEM, "out of memory");
        img_ntfs_files_free(nf, n);
        return rc;
}

static int disk_facts(img_disk *d, mb_disk_fact *df, mb_verify *verify, mb_error *err)
{
        img_table t;
        int rc;

        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        df->number = d->number;
        df->path = strdup(d->path);
        df->serial = strdup(d->serial);
        df->size = t.size;
        df->sector_size = SECTOR;
        df->physical_sector_size = d->physical_sector;
        df->online = true;
        df->read_only = d->read_only;
        df->system = d->number == 0;
        df->style = t.style;
        df->first_usable_lba = t.first_usable;
        df->last_usable_lba = t.last_usable;
        if (!df->path || !df->serial)
                goto nomem;
        if (t.style == MB_STYLE_GPT) {
                if (!(df->disk_guid = strdup(t.disk_guid)) || !(df->unique_id = strdup(t.disk_guid)))
                        goto nomem;
                if (d->gpt_needs_repair && !(df->gpt_damaged = strdup(d->gpt_damaged)))
                        goto nomem;
        }
        for (uint32_t i = 0; i < t.n_parts; i++) {
                img_gpt_part *gp = &t.parts[i];
                mb_part_fact *p = mb_disk_add_part(df);
                uint64_t off = gp->first_lba * SECTOR, len = (gp->last_lba - gp->first_lba + 1) * SECTOR;

                if (!p)
                        goto nomem;
                p->number = gp->number;
                p->role = gp->role;
                p->first_lba = gp->first_lba;
                p->last_lba = gp->last_lba;
                p->attributes = gp->attributes;
                if (t.style == MB_STYLE_GPT &&
                    (!(p->type_guid = strdup(gp->type_guid)) ||
                     !(p->unique_guid = strdup(gp->unique_guid)) || !(p->name = strdup(gp->name))))
                        goto nomem;
                if (off + len > t.size) {
                        rc = mb_error_set(err, MB_ECORRUPT,
                                          "%s: partition %u (LBA %llu-%llu) ends past the end of the image",
                                          d->path, gp->number, (unsigned long long)gp->first_lba,
                                          (unsigned long long)gp->last_lba);
                        goto out;
                }
                rc = probe_fs(d, off, len, &p->fs, &p->label, err);
                if (rc < 0)
                        goto out;
                if (p->role == MB_ROLE_EFI && p->fs == MB_FS_FAT32) {
                        img_file *files = NULL;
                        uint32_t n = 0;

                        rc = img_fat_list(d->path, off, &files, &n, NULL, NULL, err);
                        if (rc < 0)
                                goto out;
                        p->files = calloc(n ? n : 1, sizeof(*p->files));
                        if (!p->files) {
                                img_files_free(files, n);
                                goto nomem;
                        }
                        for (uint32_t k = 0; k < n; k++) {
                                p->files[k].path = files[k].path;
                                files[k].path = NULL;
                                p->files[k].size = files[k].size;
                                p->files[k].image = files[k].image;
                                files[k].image = NULL;
                                p->files[k].sha256 = strdup(files[k].sha256);
                                p->n_files++;
                                if (!p->files[k].sha256) {
                                        img_files_free(files, n);
                                        goto nomem;
                                }
                        }
                        img_files_free(files, n);
                }
                if (p->role == MB_ROLE_RECOVERY && p->fs == MB_FS_NTFS) {
                        rc = recovery_files(d, off, len, p, verify, err);
                        if (rc < 0 && rc != MB_ECORRUPT)
                                goto out;
                        if (rc == 0)
                                continue;
                        /* unreadable as NTFS: compared (and copied) by its bytes */
                        mb_error_clear(err);
                }
                if (p->role == MB_ROLE_RECOVERY) {
                        char hex[65];

                        rc = hash_part(d, gp->first_lba, gp->last_lba, hex, err);
                        if (rc < 0) {
                                mb_error_prefix(err, "%s: hashing partition %u", d->path, gp->number);
                                goto out;
                        }
                        if (!(p->content_sha256 = strdup(hex)))
                                goto nomem;
                }
        }
        mb_disk_sort_parts(df);
        rc = 0;
        goto out;
nomem:
        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
out:
        img_table_clear(&t);
        return rc;
}

static int image_read_facts(mb_platform *p, mb_facts **ret, mb_error *err)
{
        img_platform *ip = (img_platform *)p;
        mb_facts *f = calloc(1, sizeof(*f));
        mb_part_fact *esp;
        int rc;

        if (!f || !(f->disks = calloc(ip->n_disks, sizeof(*f->disks))) ||
            !(f->target = strdup(p->spec))) {
                mb_facts_free(f);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        f->version = 1;
        p->verify.depth = MB_VERIFY_NONE;
        p->verify.last_deep = 0;
        for (uint32_t i = 0; i < ip->n_disks; i++) {
                f->n_disks++;
                rc = disk_facts(&ip->disks[i], &f->disks[i], &p->verify, err);
                if (rc < 0) {
                        mb_facts_free(f);
                        return rc;
                }
        }
        /* the store first: its default loader tells the dynamic disks' boot volume */
        esp = mb_disk_part_by_role(&f->disks[0], MB_ROLE_EFI);
        if (esp && esp->fs == MB_FS_FAT32) {
                rc = img_bcd_facts(ip, f, err);
                if (rc < 0) {
                        mb_facts_free(f);
                        return rc;
                }
        }
        rc = img_dynamic_facts(ip, f, err);
        if (rc < 0) {
                mb_facts_free(f);
                return rc;
        }
        rc = img_fw_facts(ip, f, err);
        if (rc < 0) {
                mb_facts_free(f);
                return rc;
        }
        *ret = f;
        return 0;
}

/* ---- writes ---- */

static img_disk *get_disk(img_platform *ip, uint32_t n, mb_error *err)
{
        if (n >= ip->n_disks) {
                mb_error_set(err, MB_EINVAL, "image target: there is no disk %u (%u image(s))", n,
                             ip->n_disks);
                return NULL;
        }
        return &ip->disks[n];
}

static int image_allow_write(mb_platform *p, uint32_t disk, mb_error *err)
{
        img_platform *ip = (img_platform *)p;
        img_disk *d = get_disk(ip, disk, err);
        int rc;

        if (!d)
                return err->code;
        if (d->read_only)
                return mb_error_set(err, MB_EUNSAFE, "%s (disk %u): the %s is read-only", d->path,
                                    disk, d->is_block ? "block device" : "image file");
        rc = img_claim_disk(d, err);
        if (rc == 0 && ip->nvram)
                rc = img_claim_file(ip->nvram, " (the UEFI variable store)", err);
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
        img_disk *d = get_disk(ip, disk, err);
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

/* The partition of role on d now; *t is filled and owned by the caller. */
static int role_part(img_platform *ip, img_disk *d, mb_role role, img_table *t, img_gpt_part **ret,
                     mb_error *err)
{
        return img_role_part(ip, d->number, role, t, ret, err);
}

static int op_init_gpt(img_platform *ip, const mb_op *op, mb_error *err)
{
        img_disk *d = get_disk(ip, op->disk, err);
        img_table t;
        int rc;

        if (!d)
                return err->code;
        rc = img_table_read(d, &t, err);
        img_table_clear(&t);
        if (rc < 0)
                return rc;
        return img_gpt_init(d, err);
}

static int op_part_create(img_platform *ip, const mb_op *op, mb_error *err)
{
        img_disk *d = get_disk(ip, op->disk, err);
        const char *type = op->type_guid[0] ? op->type_guid : mb_role_type_guid(op->role);
        img_gpt_part *p;
        img_table t;
        int rc;

        if (!d)
                return err->code;
        if (!type)
                return mb_error_set(err, MB_EINVAL, "PART_CREATE on disk %u needs a type", op->disk);
        rc = img_table_read(d, &t, err);
        if (rc < 0)
                return rc;
        p = img_table_role(&t, op->role);
        if (p && op->role != MB_ROLE_NONE) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "%s (disk %u): a %s partition already exists (partition %u, LBA %llu-%llu)",
                                  d->path, d->number, mb_role_to_string(op->role), p->number,
                                  (unsigned long long)p->first_lba,
                                  (unsigned long long)p->last_lba);
                img_table_clear(&t);
                return rc;
        }
        img_table_clear(&t);
        return img_gpt_create(d, op->first_lba, op->last_lba, type, op->name, op->attributes,
                              NULL, err);
}

static int op_part_set(img_platform *ip, const mb_op *op, mb_error *err)
{
        img_disk *d = get_disk(ip, op->disk, err);
        img_gpt_part *p;
        img_table t;
        uint32_t number;
        int rc;

        if (!d)
                return err->code;
        rc = role_part(ip, d, op->role, &t, &p, err);
        if (rc < 0)
                return rc;
        number = p->number;
        img_table_clear(&t);
        switch (op->kind) {
        case MB_OP_PART_SET_TYPE:
                return img_gpt_set_type(d, number, op->type_guid, err);
        case MB_OP_PART_SET_ATTRS:
                return img_gpt_set_attrs(d, number, op->attributes, err);
        default:
                return img_gpt_set_name(d, number, op->name, err);
        }
}

static int op_format(img_platform *ip, const mb_op *op, mb_error *err)
{
        img_disk *d = get_disk(ip, op->disk, err);
        img_gpt_part *p;
        img_table t;
        uint64_t first, last;
        int rc, fd;

        if (!d)
                return err->code;
        rc = role_part(ip, d, op->role, &t, &p, err);
        if (rc < 0)
                return rc;
        first = p->first_lba, last = p->last_lba;
        img_table_clear(&t);
        rc = img_open_rw(d, &fd, err);
        if (rc < 0)
                return rc;
        switch (op->fs) {
        case MB_FS_FAT32:
                rc = img_format_fat32(d->path, first, last, op->label, err);
                break;
        case MB_FS_NTFS:
                rc = img_format_ntfs(d->path, fd, first, last, op->label, err);
                break;
        default:
                rc = mb_error_set(err, MB_ENOTSUP, "image target: cannot format as %s",
                                  mb_fs_to_string(op->fs));
        }
        if (rc == 0 && fsync(fd) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", d->path);
        close(fd);
        return rc;
}

/* Resolves (disk, role) and (disk2, role): target and source partitions. */
static int two_parts(img_platform *ip, const mb_op *op, img_disk **ret_dd, img_disk **ret_sd,
                     uint64_t *ret_doff, uint64_t *ret_soff, uint64_t *ret_len, uint64_t *ret_dsize,
                     mb_error *err)
{
        img_disk *dd = get_disk(ip, op->disk, err), *sd;
        img_gpt_part *dp, *sp;
        img_table dt, st;
        int rc;

        if (!dd || !(sd = get_disk(ip, op->disk2, err)))
                return err->code;
        if (op->disk == op->disk2)
                return mb_error_set(err, MB_EINVAL, "source and target are the same disk (%u)",
                                    op->disk);
        rc = role_part(ip, dd, op->role, &dt, &dp, err);
        if (rc < 0)
                return rc;
        rc = role_part(ip, sd, op->role, &st, &sp, err);
        if (rc < 0) {
                img_table_clear(&dt);
                return rc;
        }
        if (dp->last_lba - dp->first_lba != sp->last_lba - sp->first_lba) {
                rc = mb_error_set(err, MB_ESTATE,
                                  "the %s partitions differ in size: %s has %llu sectors, %s has %llu",
                                  mb_role_to_string(op->role), dd->path,
                                  (unsigned long long)(dp->last_lba - dp->first_lba + 1), sd->path,
                                  (unsigned long long)(sp->last_lba - sp->first_lba + 1));
        } else {
                *ret_dd = dd, *ret_sd = sd;
                *ret_doff = dp->first_lba * SECTOR;
                *ret_soff = sp->first_lba * SECTOR;
                *ret_len = (dp->last_lba - dp->first_lba + 1) * SECTOR;
                *ret_dsize = dt.size;
        }
        img_table_clear(&dt);
        img_table_clear(&st);
        return rc;
}

static int op_clone(img_platform *ip, const mb_op *op, mb_progress *progress, mb_error *err)
{
        img_disk *dd, *sd;
        uint64_t doff, soff, len, dsize;
        char what[64];
        int rc, fd;

        rc = two_parts(ip, op, &dd, &sd, &doff, &soff, &len, &dsize, err);
        if (rc < 0)
                return rc;
        rc = img_open_rw(dd, &fd, err);
        if (rc < 0)
                return rc;
        snprintf(what, sizeof(what), "clone %s disk %u -> %u", mb_role_to_string(op->role),
                 op->disk2, op->disk);
        dd->rehash = true;
        rc = img_copy_sparse(sd->fd, soff, fd, doff, len, what, progress, err);
        if (rc < 0)
                mb_error_prefix(err, "cloning %s from %s to %s", mb_role_to_string(op->role),
                                sd->path, dd->path);
        else if (fsync(fd) < 0)
                rc = mb_error_errno(err, MB_EIO, errno, "%s: fsync", dd->path);
        close(fd);
        return rc;
}

static int op_sync(img_platform *ip, const mb_op *op, mb_error *err)
{
        img_disk *dd, *sd;
        uint64_t doff, soff, len, dsize;
        int rc, fd;

        rc = two_parts(ip, op, &dd, &sd, &doff, &soff, &len, &dsize, err);
        if (rc < 0)
                return rc;
        rc = img_open_rw(dd, &fd, err);
        if (rc < 0)
                return rc;
        close(fd);
        return img_fat_sync(dd->path, doff, sd->path, soff, err);
}

static int image_execute(mb_platform *p, const mb_op *op, mb_progress *progress, mb_error *err)
{
        img_platform *ip = (img_platform *)p;
        int rc;

        for (uint32_t i = 0; i < ip->n_disks; i++)
                ip->disks[i].hash_cache.stat_valid = false;
        if (!ip->ldm_caught_up) {
                /* a split a killed run left can only be there before our first write */
                rc = img_dynamic_catch_up(ip, err);
                if (rc < 0)
                        return rc;
                ip->ldm_caught_up = true;
        }
        switch (op->kind) {
        case MB_OP_DISK_ONLINE:
                return get_disk(ip, op->disk, err) ? 0 : err->code;
        case MB_OP_DISK_INIT_GPT:
                return op_init_gpt(ip, op, err);
        case MB_OP_GPT_REPAIR: {
                img_disk *d = get_disk(ip, op->disk, err);

                return d ? img_gpt_repair(d, err) : err->code;
        }
        case MB_OP_PART_CREATE:
                return op_part_create(ip, op, err);
        case MB_OP_PART_SET_TYPE:
        case MB_OP_PART_SET_ATTRS:
        case MB_OP_PART_SET_NAME:
                return op_part_set(ip, op, err);
        case MB_OP_FORMAT:
                return op_format(ip, op, err);
        case MB_OP_CLONE_BLOCKS:
                return op_clone(ip, op, progress, err);
        case MB_OP_SYNC_FILES:
                return op_sync(ip, op, err);
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER:
        case MB_OP_BCD_SET_DEVICE:
        case MB_OP_BCD_DELETE:
        case MB_OP_BCD_DISPLAYORDER:
                return img_bcd_execute(ip, op, err);
        case MB_OP_CONVERT_DYNAMIC:
        case MB_OP_MIRROR_ADD:
        case MB_OP_MIRROR_REMOVE_MISSING:
        case MB_OP_MIRROR_RESYNC:
        case MB_OP_LDM_REPAIR:
                return img_dynamic_execute(ip, op, progress, err);
        case MB_OP_FW_ENTRY:
        case MB_OP_FW_DELETE:
                return img_fw_execute(ip, op, err);
        default:
                return mb_error_set(err, MB_EINVAL, "image target: unknown operation %d",
                                    (int)op->kind);
        }
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
        for (uint32_t i = 0; i < ip->n_disks; i++) {
                if (ip->disks[i].fd >= 0)
                        close(ip->disks[i].fd);
                if (ip->disks[i].lock_fd >= 0)
                        close(ip->disks[i].lock_fd);
                free(ip->disks[i].path);
                free(ip->disks[i].abspath);
        }
        free(ip->disks);
        free(ip->nvram);
        free(ip->booted);
        free(p->spec);
        free(ip);
}

static const mb_platform_ops image_ops = {
        .name = "image",
        .read_facts = image_read_facts,
        .allow_write = image_allow_write,
        .execute = image_execute,
        .identify = image_identify,
        .finish = image_finish,
        .close = image_close,
};

/* Opens one image read-only and fills d (number and path already set). */
static int open_disk(img_disk *d, mb_error *err)
{
        uint8_t h[32];
        mb_sha256 s;
        struct stat st;

        d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
        if (d->fd < 0)
                return mb_error_errno(err, errno == ENOENT ? MB_ENOENT : MB_EIO, errno,
                                      "image target: cannot open disk %u image '%s'", d->number,
                                      d->path);
        if (fstat(d->fd, &st) < 0)
                return mb_error_errno(err, MB_EIO, errno, "image target: cannot stat '%s'", d->path);
        if (S_ISBLK(st.st_mode)) {
                if (!mb_image_allow_block_devices && !env_on("MB_IMAGE_ALLOW_BLOCK_DEVICES"))
                        return mb_error_set(err, MB_EUNSAFE,
                                            "image target: '%s' is a block device, not an image file; refusing "
                                            "(give --allow-block-devices to allow)",
                                            d->path);
        } else if (!S_ISREG(st.st_mode)) {
                return mb_error_set(err, MB_EINVAL, "image target: '%s' is not a regular file",
                                    d->path);
        }
        d->st_dev = st.st_dev;
        d->st_ino = st.st_ino;
        /* root passes access(W_OK) on any file: a file whose mode has no
         * write bit at all is read-only to mbstate too, as the README says */
        d->read_only = access(d->path, W_OK) != 0 ||
                       (!S_ISBLK(st.st_mode) && (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0);
        d->is_block = S_ISBLK(st.st_mode);
        if (d->is_block && !d->read_only) {
                int ro = 0;

                /* root passes access(); a write-protected device says so here */
                if (ioctl(d->fd, BLKROGET, &ro) == 0 && ro)
                        d->read_only = true;
        }
        d->physical_sector = SECTOR;
        if (d->is_block) {
                unsigned int pss = 0;
                int lss = 0;

                /* the device's own sector sizes: the image code reads and
                 * writes 512-byte sectors, so any other logical size is
                 * refused before anything is read or written (a 512e disk,
                 * 4096 physical and 512 logical, is a 512-byte disk) */
                if (ioctl(d->fd, BLKSSZGET, &lss) < 0)
                        return mb_error_errno(err, MB_EIO, errno,
                                              "image target: cannot read the sector size of '%s' (BLKSSZGET)",
                                              d->path);
                if (lss != (int)SECTOR)
                        return mb_error_set(err, MB_ENOTSUP,
                                            "image target: '%s' has %d-byte logical sectors; the image target reads and writes 512-byte sectors only (512n and 512e disks); refusing before any read or write",
                                            d->path, lss);
                if (ioctl(d->fd, BLKPBSZGET, &pss) == 0 && pss >= SECTOR)
                        d->physical_sector = pss;
        }
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

int mb_platform_open_image(const char *list, mb_platform **ret, mb_error *err)
{
        img_platform *ip;
        char *copy, *tok, *save = NULL;
        int rc = 0;

        if (!list || list[strspn(list, ",")] == '\0')
                return mb_error_set(err, MB_EINVAL, "image target: no image files given (image:A.img,B.img)");
        ip = calloc(1, sizeof(*ip));
        copy = strdup(list);
        if (!ip || !copy || asprintf(&ip->base.spec, "image:%s", list) < 0) {
                free(ip);
                free(copy);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        ip->base.ops = &image_ops;
        ip->base.priv = ip;
        save = copy;
        while ((tok = mb_target_list_next(&save))) {
                img_disk *n, *d;

                if (strncmp(tok, "nvram=", 6) == 0) {
                        if ((rc = img_fw_open(ip, tok + 6, err)) < 0)
                                break;
                        continue;
                }
                if (strncmp(tok, "booted=", 7) == 0) {
                        mb_guid g;
                        char text[MB_GUID_STR_LEN];

                        if (ip->booted || mb_guid_parse(tok + 7, &g) != 0) {
                                rc = mb_error_set(err, MB_EINVAL,
                                                  "image target: booted= must be given once, as the unique GUID of an ESP ('%s')",
                                                  tok + 7);
                                break;
                        }
                        if (!(ip->booted = strdup(mb_guid_format(&g, text)))) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        continue;
                }
                if (!(n = mb_reallocarray(ip->disks, ip->n_disks + 1, sizeof(*n)))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                ip->disks = n;
                d = &n[ip->n_disks++];
                memset(d, 0, sizeof(*d));
                d->fd = -1;
                d->lock_fd = -1;
                d->number = ip->n_disks - 1;
                if (!*tok) {
                        rc = mb_error_set(err, MB_EINVAL, "image target: empty image name in '%s'", list);
                        break;
                }
                if (!(d->path = strdup(tok))) {
                        rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                rc = open_disk(d, err);
                if (rc < 0)
                        break;
                {
                        /* a GPT the file cannot hold, or a damaged one, fails here */
                        img_table t;

                        rc = img_table_read(d, &t, err);
                        if (rc < 0) {
                                mb_error_prefix(err, "image target: disk %u", d->number);
                                break;
                        }
                        img_table_clear(&t);
                }
                for (uint32_t i = 0; i + 1 < ip->n_disks; i++)
                        if (ip->disks[i].st_dev == d->st_dev && ip->disks[i].st_ino == d->st_ino) {
                                rc = mb_error_set(err, MB_EINVAL,
                                                  "image target: '%s' (disk %u) and '%s' (disk %u) are the same file",
                                                  ip->disks[i].path, i, d->path, d->number);
                                break;
                        }
                if (rc < 0)
                        break;
        }
        free(copy);
        if (rc == 0 && ip->n_disks == 0)
                rc = mb_error_set(err, MB_EINVAL, "image target: no image files given");
        if (rc < 0) {
                image_close(&ip->base);
                return rc;
        }
        *ret = &ip->base;
        return 0;
}
