/* SPDX-License-Identifier: MIT */
/*
 * FAT file systems inside a wing disk, reached through mtools at a byte
 * offset of the file (no loop device, no mount): listing with hashes (two
 * process starts whatever the file count), copying files in and out, making
 * one FAT file-identical to another, and formatting (mkfs.fat, and mkntfs
 * on a sparse temporary file spliced into the partition).
 */
#include "platform/posix/fat.h"
#include "platform/posix/bootchain.h"
#include "platform/posix/sparse.h"
#include "platform/posix/tools.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "guid.h"
#include "sha256.h"

/* The largest logical sector the wing formats. */
#define SECTOR_MAX 4096u

/* "IMG@@OFFSET" as mtools' -i wants it. */
static char *mspec(const char *path, uint64_t off)
{
        char *s;

        if (asprintf(&s, "%s@@%llu", path, (unsigned long long)off) < 0)
                return NULL;
        return s;
}

/* "::/EFI/Boot" for a '/'-separated path. */
static char *mpath(const char *p)
{
        char *s;

        if (asprintf(&s, "::%s", p) < 0)
                return NULL;
        return s;
}

void img_files_free(mb_posix_file *f, uint32_t n)
{
        for (uint32_t i = 0; f && i < n; i++) {
                free(f[i].path);
                mb_image_fact_free(f[i].image);
        }
        free(f);
}

void img_strv_free(char **v, uint32_t n)
{
        for (uint32_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static int file_cmp(const void *a, const void *b)
{
        return strcmp(((const mb_posix_file *)a)->path, ((const mb_posix_file *)b)->path);
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A private (0700) temporary directory in $TMPDIR (or /tmp); malloc'd path. */
static int temp_dir(char **ret, mb_error *err)
{
        const char *tmp = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/.mbstate-esp-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (!mkdtemp(p)) {
                int e = errno;

                free(p);
                return mb_error_errno(err, MB_EIO, e, "cannot create a temporary directory (mkdtemp)");
        }
        *ret = p;
        return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(p);
}

/* Removes the tree dir (depth first, symlinks not followed). */
static void rm_tree(const char *dir)
{
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Copies the whole FAT at spec into dir with one `mcopy -s` and hashes each of
 * files[0..n) from there, in process: two process starts per listing however
 * many files the ESP holds. */
static int hash_files(const char *spec, const char *dir, mb_posix_file *files, uint32_t n,
                      mb_error *err)
{
        const char *argv[] = { "mcopy", "-s", "-n", "-i", spec, "::", dir, NULL };
        int rc = img_run(argv, -1, NULL, NULL, err);

        for (uint32_t i = 0; rc == 0 && i < n; i++) {
                char *fp;
                struct stat st;
                int fd;

                if (asprintf(&fp, "%s%s", dir, files[i].path) < 0)
                        return mb_error_set(err, MB_ENOMEM, "out of memory");
                fd = open(fp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                free(fp);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        rc = mb_error_errno(err, MB_EIO, fd < 0 ? errno : EINVAL,
                                            "%s: mcopy -s did not copy it out", files[i].path);
                } else {
                        files[i].size = (uint64_t)st.st_size;
                        rc = img_hash_range(fd, 0, files[i].size, files[i].sha256, err);
                        if (rc < 0)
                                mb_error_prefix(err, "%s", files[i].path);
                }
                if (fd >= 0)
                        close(fd);
                if (rc == 0 && img_is_boot_program(files[i].path)) {
                        /* the boot programs' PE facts from the same copy: no
                         * process more per boot program */
                        if (asprintf(&fp, "%s%s", dir, files[i].path) < 0)
                                return mb_error_set(err, MB_ENOMEM, "out of memory");
                        rc = img_boot_program_fact(fp, &files[i].image, err);
                        free(fp);
                }
        }
        return rc;
}

int img_fat_list(const char *path, uint64_t off, mb_posix_file **ret_files, uint32_t *ret_n,
                 char ***ret_dirs, uint32_t *ret_ndirs, mb_error *err)
{
        char *spec = mspec(path, off), *out = NULL, *line, *save = NULL;
        mb_posix_file *files = NULL;
        char **dirs = NULL;
        uint32_t n = 0, nd = 0;
        int rc;

        if (!spec)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        {
                const char *argv[] = { "mdir", "-/", "-b", "-a", "-i", spec, "::/", NULL };

                rc = img_run(argv, -1, &out, NULL, err);
        }
        if (rc < 0) {
                /* mdir fails on an empty root ("File ::/ not found"): check */
                if (strstr(err->msg, "not found")) {
                        free(out);
                        out = strdup("");
                        rc = out ? 0 : mb_error_set(err, MB_ENOMEM, "out of memory");
                }
                if (rc < 0) {
                        free(spec);
                        return mb_error_prefix(err, "%s: cannot list the FAT file system at offset %llu",
                                               path, (unsigned long long)off);
                }
        }
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t len = strlen(line);

                while (len && line[len - 1] == '\r')
                        line[--len] = '\0';
                if (strncmp(line, "::/", 3) != 0)
                        continue;
                line += 2, len -= 2;
                if (line[len - 1] == '/') {
                        char **nd2;

                        line[--len] = '\0';
                        if (len == 0)
                                continue;
                        nd2 = mb_reallocarray(dirs, nd + 1, sizeof(*dirs));
                        if (!nd2 || !(nd2[nd] = strdup(line))) {
                                dirs = nd2 ? nd2 : dirs;
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        dirs = nd2;
                        nd++;
                } else {
                        mb_posix_file *nf = mb_reallocarray(files, n + 1, sizeof(*files));

                        if (!nf) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        files = nf;
                        memset(&files[n], 0, sizeof(files[n]));
                        if (!(files[n].path = strdup(line))) {
                                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                                break;
                        }
                        n++;
                }
        }
        free(out);
        if (rc == 0 && n > 0) {
                char *dir = NULL;

                rc = temp_dir(&dir, err);
                if (rc == 0) {
                        rc = hash_files(spec, dir, files, n, err);
                        rm_tree(dir);
                        free(dir);
                }
                if (rc < 0)
                        mb_error_prefix(err, "%s: cannot read the files of the FAT at offset %llu",
                                        path, (unsigned long long)off);
        }
        free(spec);
        if (rc < 0) {
                img_files_free(files, n);
                img_strv_free(dirs, nd);
                return rc;
        }
        if (n > 1)
                qsort(files, n, sizeof(*files), file_cmp);
        if (nd > 1)
                qsort(dirs, nd, sizeof(*dirs), str_cmp);
        *ret_files = files;
        *ret_n = n;
        if (ret_dirs) {
                *ret_dirs = dirs;
                *ret_ndirs = nd;
        } else {
                img_strv_free(dirs, nd);
        }
        return 0;
}

int img_fat_get(const char *path, uint64_t off, const char *fat_path, const char *out,
                mb_error *err)
{
        char *spec = mspec(path, off), *mp = mpath(fat_path);
        int rc;

        if (!spec || !mp) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        } else {
                const char *argv[] = { "mcopy", "-n", "-o", "-i", spec, mp, out, NULL };

                rc = img_run(argv, -1, NULL, NULL, err);
                if (rc < 0)
                        mb_error_prefix(err, "%s: cannot copy %s out of the FAT at offset %llu",
                                        path, fat_path, (unsigned long long)off);
        }
        free(spec);
        free(mp);
        return rc;
}

int img_fat_put(const char *path, uint64_t off, const char *in, const char *fat_path,
                mb_error *err)
{
        char *spec = mspec(path, off), *mp = mpath(fat_path);
        int rc;

        if (!spec || !mp) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        } else {
                const char *argv[] = { "mcopy", "-o", "-m", "-i", spec, in, mp, NULL };

                rc = img_run(argv, -1, NULL, NULL, err);
                if (rc < 0)
                        mb_error_prefix(err, "%s: cannot write %s into the FAT at offset %llu",
                                        path, fat_path, (unsigned long long)off);
        }
        free(spec);
        free(mp);
        return rc;
}

static int run_m(const char *tool, const char *spec, const char *p, const char *image,
                 mb_error *err)
{
        char *mp = mpath(p);
        int rc;

        if (!mp)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        {
                const char *argv[] = { tool, "-i", spec, mp, NULL };

                rc = img_run(argv, -1, NULL, NULL, err);
        }
        if (rc < 0)
                mb_error_prefix(err, "%s: %s %s", image, tool, p);
        free(mp);
        return rc;
}

static const mb_posix_file *find_file(const mb_posix_file *f, uint32_t n, const char *p, bool nocase)
{
        for (uint32_t i = 0; i < n; i++)
                if ((nocase ? strcasecmp : strcmp)(f[i].path, p) == 0)
                        return &f[i];
        return NULL;
}

static bool has_dir(char **d, uint32_t n, const char *p, bool nocase)
{
        for (uint32_t i = 0; i < n; i++)
                if ((nocase ? strcasecmp : strcmp)(d[i], p) == 0)
                        return true;
        return false;
}

/* The store files of an ESP that keeps its own BCD store. */
static const char *const store_files[] = {
        "/EFI/Microsoft/Boot/BCD", "/EFI/Microsoft/Boot/BCD.LOG", "/EFI/Microsoft/Boot/BCD.LOG1",
        "/EFI/Microsoft/Boot/BCD.LOG2",
};

static bool is_store_file(const char *p)
{
        for (size_t i = 0; i < sizeof(store_files) / sizeof(store_files[0]); i++)
                if (strcasecmp(p, store_files[i]) == 0)
                        return true;
        return false;
}

/* Whether directory dir holds (at any depth) a kept file of f. */
static bool holds_kept(const mb_posix_file *f, uint32_t n, const char *dir)
{
        size_t len = strlen(dir);

        for (uint32_t i = 0; i < n; i++)
                if (is_store_file(f[i].path) && strncasecmp(f[i].path, dir, len) == 0 &&
                    f[i].path[len] == '/')
                        return true;
        return false;
}

/* Files of f but the kept ones, when keep (the list is sorted, so is this). */
static uint32_t compared(const mb_posix_file *f, uint32_t n, bool keep, const mb_posix_file **ret)
{
        uint32_t k = 0;

        for (uint32_t i = 0; i < n; i++)
                if (!keep || !is_store_file(f[i].path))
                        ret[k++] = &f[i];
        return k;
}

int img_fat_sync(const char *dpath, uint64_t doff, const char *spath, uint64_t soff,
                 bool keep_store, mb_error *err)
{
        mb_posix_file *sf = NULL, *df = NULL;
        const mb_posix_file **sv = NULL, **dv = NULL;
        char **sd = NULL, **dd = NULL, *dspec = mspec(dpath, doff), *tmp = NULL;
        uint32_t nsf = 0, ndf = 0, nsd = 0, ndd = 0, nsv, ndv;
        bool keep;
        int rc, fd = -1;

        if (!dspec)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        rc = img_fat_list(spath, soff, &sf, &nsf, &sd, &nsd, err);
        if (rc < 0)
                goto out;
        rc = img_fat_list(dpath, doff, &df, &ndf, &dd, &ndd, err);
        if (rc < 0)
                goto out;
        /* the target keeps its own store only when it has one */
        keep = keep_store && find_file(df, ndf, store_files[0], true);

        /* extra files and files whose name differs only in case: delete */
        for (uint32_t i = 0; i < ndf; i++) {
                const mb_posix_file *s = find_file(sf, nsf, df[i].path, false);

                if (s || (keep && is_store_file(df[i].path)))
                        continue;
                rc = run_m("mdel", dspec, df[i].path, dpath, err);
                if (rc < 0)
                        goto out;
        }
        /* extra directories (deepest first: the list is sorted, walk back) */
        for (uint32_t i = ndd; i-- > 0; ) {
                if (has_dir(sd, nsd, dd[i], false) || (keep && holds_kept(df, ndf, dd[i])))
                        continue;
                rc = run_m("mrd", dspec, dd[i], dpath, err);
                if (rc < 0)
                        goto out;
        }
        /* missing directories (parents first) */
        for (uint32_t i = 0; i < nsd; i++) {
                if (has_dir(dd, ndd, sd[i], false))
                        continue;
                rc = run_m("mmd", dspec, sd[i], dpath, err);
                if (rc < 0)
                        goto out;
        }
        rc = img_temp_file(dpath, 0, &tmp, &fd, err);
        if (rc < 0)
                goto out;
        close(fd);
        for (uint32_t i = 0; i < nsf; i++) {
                const mb_posix_file *d = find_file(df, ndf, sf[i].path, false);

                if (keep && is_store_file(sf[i].path))
                        continue;
                if (d && d->size == sf[i].size && strcmp(d->sha256, sf[i].sha256) == 0)
                        continue;
                rc = img_fat_get(spath, soff, sf[i].path, tmp, err);
                if (rc < 0)
                        goto out;
                rc = img_fat_put(dpath, doff, tmp, sf[i].path, err);
                if (rc < 0)
                        goto out;
        }

        /* verify (the kept store files aside) */
        img_files_free(df, ndf);
        img_strv_free(dd, ndd);
        df = NULL, dd = NULL;
        rc = img_fat_list(dpath, doff, &df, &ndf, NULL, NULL, err);
        if (rc < 0)
                goto out;
        sv = calloc(nsf + 1, sizeof(*sv));
        dv = calloc(ndf + 1, sizeof(*dv));
        if (!sv || !dv) {
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
                goto out;
        }
        nsv = compared(sf, nsf, keep, sv);
        ndv = compared(df, ndf, keep, dv);
        if (ndv != nsv) {
                rc = mb_error_set(err, MB_EIO, "%s: after the copy the FAT holds %u files, the source %u%s",
                                  dpath, ndv, nsv, keep ? " (its own BCD store files aside)" : "");
                goto out;
        }
        for (uint32_t i = 0; i < nsv; i++)
                if (strcmp(sv[i]->path, dv[i]->path) != 0 || sv[i]->size != dv[i]->size ||
                    strcmp(sv[i]->sha256, dv[i]->sha256) != 0) {
                        rc = mb_error_set(err, MB_EIO, "%s: after the copy %s differs from the source",
                                          dpath, sv[i]->path);
                        goto out;
                }
out:
        if (tmp) {
                unlink(tmp);
                free(tmp);
        }
        free(sv);
        free(dv);
        img_files_free(sf, nsf);
        img_files_free(df, ndf);
        img_strv_free(sd, nsd);
        img_strv_free(dd, ndd);
        free(dspec);
        return rc;
}

int img_format_fat32(const char *path, uint32_t sector, uint64_t first, uint64_t last,
                     const char *label, mb_error *err)
{
        char off[32], hidden[32], blocks[32], geom[32], ss[16];
        uint64_t sectors = last - first + 1, spt = 63;
        int rc;

        /* FAT32 holds at least 65525 clusters: with fewer the FAT
         * specification (Microsoft's fatgen103, "FAT type determination")
         * makes the volume FAT16 whatever its boot sector says, and mkfs.fat
         * only warns. With one sector a cluster (as here) and mkfs.fat's 32
         * reserved sectors and two FATs, count the clusters (the FAT size
         * rounded up, so a few too few at worst) and refuse before writing:
         * on 4096-byte sectors this is why Microsoft documents a 260 MB
         * minimum ESP for 4K native drives */
        {
                uint64_t clusters = mb_fat32_clusters(sectors, sector);

                if (clusters < MB_FAT32_MIN_CLUSTERS)
                        return mb_error_set(err, MB_EINVAL,
                                            "%s: cannot format FAT32 at LBA %llu-%llu: %llu sectors of %u bytes hold %llu clusters, FAT32 needs at least 65525 (an ESP on %u-byte sectors needs at least %llu MiB); not formatted",
                                            path, (unsigned long long)first, (unsigned long long)last,
                                            (unsigned long long)sectors, sector,
                                            (unsigned long long)clusters, sector,
                                            (unsigned long long)(((65525ull + 32 + 2 * ((65527ull * 4 + sector - 1) / sector)) * sector + (1 << 20) - 1) >> 20));
        }
        /* mkfs.fat rounds the size down to whole tracks: pick the largest
         * sectors-per-track <= 63 that divides the partition, so the file
         * system fills it as Windows' does */
        while (spt > 1 && sectors % spt)
                spt--;
        snprintf(geom, sizeof(geom), "255/%llu", (unsigned long long)spt);
        snprintf(off, sizeof(off), "--offset=%llu", (unsigned long long)first);
        snprintf(hidden, sizeof(hidden), "%llu", (unsigned long long)first);
        /* mkfs.fat's --offset and -h are in sectors of -S bytes, its block
         * count in KiB */
        snprintf(blocks, sizeof(blocks), "%llu", (unsigned long long)(sectors * sector / 1024));
        snprintf(ss, sizeof(ss), "%u", sector);
        {
                const char *argv[] = { "mkfs.fat", "-F", "32", "-S", ss, "-s", "1",
                                       "-g", geom, "-h", hidden, off,
                                       "-n", label && *label ? label : "NO NAME",
                                       path, blocks, NULL };
                const char *argv_nolabel[] = { "mkfs.fat", "-F", "32", "-S", ss, "-s", "1",
                                               "-g", geom, "-h", hidden, off,
                                               path, blocks, NULL };

                rc = img_run(label && *label ? argv : argv_nolabel, -1, NULL, NULL, err);
        }
        if (rc < 0)
                return mb_error_prefix(err, "%s: cannot format FAT32 at LBA %llu-%llu", path,
                                       (unsigned long long)first, (unsigned long long)last);
        return 0;
}

/* mkntfs seeds its volume serial from the clock, so two volumes made in the
 * same second share one: give each a random serial, in the boot sector and in
 * its backup (the sector after the volume's last). */
static int ntfs_new_serial(int fd, uint32_t sector, uint64_t len, mb_error *err)
{
        uint8_t bs[SECTOR_MAX], serial[8];
        mb_guid g;
        uint64_t backup;

        if (pread(fd, bs, sector, 0) != (ssize_t)sector || memcmp(bs + 3, "NTFS    ", 8) != 0)
                return mb_error_set(err, MB_EIO, "mkntfs left no NTFS boot sector");
        if (mb_guid_random(&g) < 0)
                return mb_error_set(err, MB_EIO, "cannot make a random volume serial");
        memcpy(serial, g.b, sizeof(serial));
        /* total sectors (0x28) count sectors of the boot sector's own size (0x0B) */
        backup = mb_le64(bs + 0x28) * mb_le16(bs + 0x0B);
        memcpy(bs + 0x48, serial, sizeof(serial));
        if (pwrite(fd, bs, sector, 0) != (ssize_t)sector)
                return mb_error_errno(err, MB_EIO, errno, "cannot write the NTFS boot sector");
        if (backup + sector <= len && pread(fd, bs, sector, (off_t)backup) == (ssize_t)sector &&
            memcmp(bs + 3, "NTFS    ", 8) == 0) {
                memcpy(bs + 0x48, serial, sizeof(serial));
                if (pwrite(fd, bs, sector, (off_t)backup) != (ssize_t)sector)
                        return mb_error_errno(err, MB_EIO, errno,
                                              "cannot write the NTFS backup boot sector");
        }
        return 0;
}

int img_format_ntfs(const char *path, int fd, uint32_t sector, uint64_t first, uint64_t last,
                    const char *label, mb_error *err)
{
        uint64_t len = (last - first + 1) * sector;
        char start[32], ss[16], *tmp = NULL;
        int tfd, rc;

        snprintf(start, sizeof(start), "%llu", (unsigned long long)first);
        snprintf(ss, sizeof(ss), "%u", sector);
        rc = img_temp_file(path, len, &tmp, &tfd, err);
        if (rc < 0)
                return rc;
        {
                const char *argv[] = { "mkntfs", "-F", "-Q", "-q", "-s", ss, "-p", start,
                                       "-H", "255", "-S", "63", tmp, NULL, NULL, NULL };

                if (label && *label) {
                        argv[12] = "-L";
                        argv[13] = label;
                        argv[14] = tmp;
                }
                rc = img_run(argv, -1, NULL, NULL, err);
        }
        if (rc < 0)
                mb_error_prefix(err, "%s: cannot format NTFS at LBA %llu-%llu", path,
                                (unsigned long long)first, (unsigned long long)last);
        if (rc == 0)
                rc = ntfs_new_serial(tfd, sector, len, err);
        if (rc == 0)
                rc = img_copy_sparse(tfd, 0, fd, first * sector, len, "format ntfs", NULL, err);
        close(tfd);
        unlink(tmp);
        free(tmp);
        return rc;
}
