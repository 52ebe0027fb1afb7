/* SPDX-License-Identifier: MIT */
#ifndef MB_STATE_H
#define MB_STATE_H

/*
 * The verification record: for each volume compared by its files, the
 * content hash last verified for each file together with the file's identity
 * (what its file system changes whenever its content changes through the
 * file system), and when every byte was last read. A default `check` trusts
 * a hash while the identity is unchanged; `check --deep` and `apply` re-read
 * everything and rewrite the record. It lives in a state directory that only
 * root (or the user running mbstate) can write: a directory or record file
 * others can write is refused, as configuration files are.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define MB_STATE_DIR_DEFAULT "/var/lib/mbstate"
/* A deep verification older than this (seconds) makes check read deep. */
#define MB_DEEP_AGE_DEFAULT (7 * 86400.0)

typedef struct mb_record_entry {
        char *path;
        char identity[65];
        char sha256[65];
} mb_record_entry;

typedef struct mb_record {
        time_t deep_at;         /* last read of every byte; 0 = never */
        mb_record_entry *v;     /* sorted by path */
        uint32_t n;
} mb_record;

/* Checks dir (creating it, mode 0700, when missing and create is set):
 * a real directory (not a symbolic link) owned by root or the effective
 * user and writable by nobody else. MB_EUNSAFE otherwise, MB_ENOENT when it
 * is missing and was not created. */
int mb_state_dir_check(const char *dir, bool create, mb_error *err);
/* Loads dir/key.rec into *ret (an empty record, deep_at 0, when there is
 * none). A record file others can write, or one that does not parse, is an
 * error naming it. */
int mb_record_load(const char *dir, const char *key, mb_record *ret, mb_error *err);
/* The hash recorded for path when its identity is the recorded one, else NULL. */
const char *mb_record_lookup(const mb_record *r, const char *path, const char *identity);
/* Replaces dir/key.rec with r (a temporary file in dir, mode 0600, renamed over it). */
int mb_record_save(const char *dir, const char *key, const mb_record *r, mb_error *err);
/* Adds (path, identity, sha256) to r (kept sorted by mb_record_save). */
int mb_record_add(mb_record *r, const char *path, const char *identity, const char *sha256,
                  mb_error *err);
void mb_record_clear(mb_record *r);
/* Parses a record file's text (buf, NUL-terminated, changed in place) into
 * *ret; MB_ECORRUPT naming path and line. */
int mb_record_parse(const char *path, char *buf, mb_record *ret, mb_error *err);
/* The record file's text for r (sorted first); malloc'd, NULL when out of memory. */
char *mb_record_format(mb_record *r, size_t *ret_len);

#endif
