/* SPDX-License-Identifier: MIT */
/*
 * GUIDs in their on-disk mixed-endian form (guid.h): parsing and printing
 * the 8-4-4-4-12 text, comparison, and random (version 4) GUIDs.
 */
#include "guid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#include <bcrypt.h>
#else
#include <sys/random.h>
#endif

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int mb_guid_parse(const char *s, mb_guid *ret)
{
        /* byte index in the on-disk form for each pair of hex digits in text order */
        static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        mb_guid g;
        size_t len = strlen(s);
        int i = 0;

        if (len == 38 && s[0] == '{' && s[37] == '}')
                s++, len = 36;
        if (len != 36)
                return -1;
        for (const char *p = s; i < 16; ) {
                int hi, lo;

                if (p - s == 8 || p - s == 13 || p - s == 18 || p - s == 23) {
                        if (*p != '-')
                                return -1;
                        p++;
                        continue;
                }
                hi = hexval(p[0]);
                lo = hexval(p[1]);
                if (hi < 0 || lo < 0)
                        return -1;
                g.b[order[i++]] = (uint8_t)(hi << 4 | lo);
                p += 2;
        }
        *ret = g;
        return 0;
}

char *mb_guid_format(const mb_guid *g, char buf[MB_GUID_STR_LEN])
{
        const uint8_t *b = g->b;

        snprintf(buf, MB_GUID_STR_LEN,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10],
                 b[11], b[12], b[13], b[14], b[15]);
        return buf;
}

bool mb_guid_is_null(const mb_guid *g)
{
        static const mb_guid zero;

        return memcmp(g, &zero, sizeof(zero)) == 0;
}

bool mb_guid_equal(const mb_guid *a, const mb_guid *b)
{
        return memcmp(a, b, sizeof(*a)) == 0;
}

int mb_guid_random(mb_guid *ret)
{
        mb_guid g;

#ifdef _WIN32
        if (BCryptGenRandom(NULL, g.b, sizeof(g.b), BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
                return -1;
#else
        if (getrandom(g.b, sizeof(g.b), 0) != (ssize_t)sizeof(g.b))
                return -1;
#endif
        g.b[7] = (uint8_t)((g.b[7] & 0x0f) | 0x40); /* version 4 (time_hi, little-endian) */
        g.b[8] = (uint8_t)((g.b[8] & 0x3f) | 0x80); /* variant 1 */
        *ret = g;
        return 0;
}
