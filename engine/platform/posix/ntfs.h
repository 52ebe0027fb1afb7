/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_NTFS_H
#define MB_POSIX_NTFS_H

/*
 * The files of an NTFS volume at a byte range of a file descriptor, read in
 * process with libntfs-3g (mounted read-only; nothing is written).
 */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct mb_posix_ntfs_file {
        char *path;             /* "/Recovery/WindowsRE/Winre.wim" */
        uint64_t size;          /* of the unnamed $DATA */
        uint32_t attributes;    /* FILE_ATTRIBUTE_* of $STANDARD_INFORMATION */
        char identity[65];      /* hash of what NTFS changes with the content (ntfs.c) */
        char sha256[65];        /* of the content */
        bool hashed;            /* sha256 was computed now, not taken from known() */
} mb_posix_ntfs_file;

/* The SHA-256 last verified for a file whose identity is unchanged, or NULL. */
typedef const char *(*mb_posix_ntfs_known)(void *ctx, const char *path, const char *identity);

/* The files of the NTFS volume at fd[off, off+len) (image names it in
 * errors), sorted by path, without the metadata files and System Volume
 * Information. Content is hashed unless deep is false and known() gives the
 * hash for the file's identity. *ret_read (may be NULL): bytes read from fd.
 * A volume libntfs-3g cannot mount read-only is MB_ECORRUPT. */
int img_ntfs_list(const char *image, int fd, uint64_t off, uint64_t len, bool deep,
                  mb_posix_ntfs_known known, void *known_ctx, mb_posix_ntfs_file **ret_files,
                  uint32_t *ret_n, uint64_t *ret_read, mb_error *err);
void img_ntfs_files_free(mb_posix_ntfs_file *f, uint32_t n);

/* Whether path (a Windows path, '\\' or '/' separated) names a file, not a
 * directory, on the NTFS volume at fd[off, off+len), its names compared
 * without case as Windows compares them. MB_ECORRUPT when the volume cannot
 * be read as NTFS. */
int img_ntfs_exists(const char *image, int fd, uint64_t off, uint64_t len, const char *path,
                    bool *ret_exists, mb_error *err);

#endif
