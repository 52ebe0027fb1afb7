/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_FAT_H
#define MB_POSIX_FAT_H

/*
 * FAT file systems at a byte offset of an image file, through mtools (and
 * mkfs.fat, mkntfs for formatting). The functions take the file's path, not
 * a disk: callers check that the disk may be written before any write.
 */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"

typedef struct mb_posix_file {
        char *path;             /* "/EFI/Boot/bootx64.efi" */
        uint64_t size;
        char sha256[65];
        mb_image_fact *image;   /* a boot program's PE facts (img_is_boot_program), else NULL */
} mb_posix_file;

/* Files of the FAT file system at byte offset off of image path, sorted by
 * path, with sizes and hashes; directories in *ret_dirs (may be NULL)
 * without trailing '/'. Two process starts whatever the file count: one
 * `mdir` listing, one `mcopy -s` of the whole FAT into a private temporary
 * directory (removed before return), hashed in process. */
int img_fat_list(const char *path, uint64_t off, mb_posix_file **ret_files, uint32_t *ret_n,
                 char ***ret_dirs, uint32_t *ret_ndirs, mb_error *err);
void img_files_free(mb_posix_file *f, uint32_t n);
void img_strv_free(char **v, uint32_t n);
/* Copies the file fat_path out of the FAT at off into local path out. */
int img_fat_get(const char *path, uint64_t off, const char *fat_path, const char *out,
                mb_error *err);
/* Writes local file in as fat_path (overwriting). */
int img_fat_put(const char *path, uint64_t off, const char *in, const char *fat_path,
                mb_error *err);
/* Makes the FAT at (dpath, doff) file-identical to (spath, soff). With
 * keep_store, when the target holds \EFI\Microsoft\Boot\BCD, that file and
 * its BCD.LOG, BCD.LOG1, BCD.LOG2 are neither overwritten nor deleted (the
 * ESP keeps its own store); without one there, they are copied too. */
int img_fat_sync(const char *dpath, uint64_t doff, const char *spath, uint64_t soff,
                 bool keep_store, mb_error *err);
/* mkfs.fat -F 32 over sectors [first, last] (of sector bytes) of the image. */
int img_format_fat32(const char *path, uint32_t sector, uint64_t first, uint64_t last,
                     const char *label,
                     mb_error *err);
/* mkntfs (sector-byte sectors) on a sparse temp file, spliced into sectors
 * [first, last] of the image. */
int img_format_ntfs(const char *path, int fd, uint32_t sector, uint64_t first, uint64_t last,
                    const char *label, mb_error *err);

#endif
