/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_SPARSE_H
#define MB_POSIX_SPARSE_H

/*
 * Sparse-aware copies and hashes of byte ranges of file descriptors. Holes
 * read as zeros everywhere: a copy makes the destination byte-identical, a
 * hash equals the hash of the same bytes written out. No function here
 * knows about partitions or file systems.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "platform/platform.h"

/* Makes dst[dst_off, dst_off+len) byte-identical to src[src_off, ...): data
 * extents of src are copied (copy_file_range, falling back to read/write),
 * ranges that are holes in src are punched (or zeroed) in dst only where dst
 * holds data. progress may be NULL. */
int img_copy_sparse(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off, uint64_t len,
                    const char *what, mb_progress *progress, mb_error *err);
/* SHA-256 of fd[off, off+len) in hex; holes are hashed as zeros without
 * being read. */
int img_hash_range(int fd, uint64_t off, uint64_t len, char hex[65], mb_error *err);
/* The layout fingerprint of fd[off, off+len): a SHA-256 over each data
 * extent's place, length and bytes (holes skipped); equal fingerprints mean
 * equal bytes. Returns 1 without one when more than budget bytes are data. */
int img_range_fingerprint(int fd, uint64_t off, uint64_t len, uint64_t budget, char fp[65],
                          mb_error *err);
/* SHA-256 as img_hash_range computes it (libcrypto when built with it). */
typedef struct mb_posix_hasher mb_posix_hasher;
mb_posix_hasher *img_hasher_new(void);       /* NULL: out of memory */
void img_hasher_update(mb_posix_hasher *h, const void *p, size_t n);
/* Writes the hex digest (hex NULL: discards it) and frees h. */
void img_hasher_final(mb_posix_hasher *h, char hex[65]);
/* Creates an empty temporary file of size bytes (sparse) next to near (a
 * path), or in $TMPDIR when that directory is not writable. *ret_path is
 * malloc'd; the caller unlinks it. */
int img_temp_file(const char *near, uint64_t size, char **ret_path, int *ret_fd, mb_error *err);

#endif
