/* SPDX-License-Identifier: MIT */
#ifndef MB_GUID_H
#define MB_GUID_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A GUID as Windows and UEFI store it on disk: the first three fields
 * little-endian, the last eight bytes as they are ("mixed endian").
 * Text form is the usual lower-case 8-4-4-4-12.
 */
typedef struct mb_guid {
        uint8_t b[16];
} mb_guid;

#define MB_GUID_STR_LEN 37 /* 36 chars + NUL */

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces. */
int mb_guid_parse(const char *s, mb_guid *ret);
/* Writes the lower-case text form (no braces) into buf[MB_GUID_STR_LEN]. */
char *mb_guid_format(const mb_guid *g, char buf[MB_GUID_STR_LEN]);
bool mb_guid_is_null(const mb_guid *g);
bool mb_guid_equal(const mb_guid *a, const mb_guid *b);
/* A random (version 4) GUID from the system's random source. */
int mb_guid_random(mb_guid *ret);

#endif
