/* SPDX-License-Identifier: MIT */
#ifndef MB_SHA256_H
#define MB_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4), incremental. */
typedef struct mb_sha256 {
        uint32_t h[8];
        uint64_t len;           /* bytes hashed so far */
        uint8_t buf[64];
        size_t used;
} mb_sha256;

void mb_sha256_init(mb_sha256 *s);
void mb_sha256_update(mb_sha256 *s, const void *data, size_t len);
void mb_sha256_final(mb_sha256 *s, uint8_t out[32]);
/* Finishes and writes 64 lower-case hex digits + NUL. */
void mb_sha256_final_hex(mb_sha256 *s, char out[65]);
void mb_sha256_hex(const void *data, size_t len, char out[65]);

#endif
