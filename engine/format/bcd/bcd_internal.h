/* SPDX-License-Identifier: MIT */
#ifndef MB_BCD_INTERNAL_H
#define MB_BCD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Checks the regf base block and the chain of hive bins of a hive file held
 * in memory (len bytes): signature, checksum, version, sizes, every bin's
 * header. name is used in messages. 0 or MB_ECORRUPT. */
int mb_bcd_hive_check(const uint8_t *buf, size_t len, const char *name, mb_error *err);

/* The regf header checksum: XOR of the first 127 dwords, with 0 and ~0
 * mapped to 1 and ~1 as Windows does. */
uint32_t mb_bcd_hive_checksum(const uint8_t *base);

/* UTF-8 -> UTF-16LE with a terminating NUL (counted in *ret_len). */
int mb_bcd_utf16(const char *s, uint8_t **ret, size_t *ret_len);
/* UTF-16LE (len bytes, NUL-terminated or not) -> UTF-8, malloc'd; NULL on
 * bad input or no memory. */
char *mb_bcd_utf8(const uint8_t *s, size_t len);

#endif
