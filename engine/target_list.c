/* SPDX-License-Identifier: MIT */
/* The item syntax of a target's comma-separated list (image:A.img,B.img). */
#include "target_list.h"

#include <stddef.h>
#include <string.h>

char *mb_target_list_next(char **cursor)
{
        char *start = *cursor, *in = start, *out = start;

        if (!start || !*start)
                return NULL;            /* the end, or a trailing comma */
        for (;;) {
                if (*in == ',' && in[1] == ',') {
                        *out++ = ',';
                        in += 2;
                } else if (*in == ',' || *in == '\0') {
                        *cursor = *in ? in + 1 : NULL;
                        *out = '\0';
                        return start;
                } else {
                        *out++ = *in++;
                }
        }
}

unsigned mb_target_item_sector(char *item)
{
        static const struct {
                const char *suffix;
                unsigned size;
        } sizes[] = { { ":512", 512 }, { ":4096", 4096 } };
        size_t len = strlen(item);

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t sl = strlen(sizes[i].suffix);

                if (len > sl && strcmp(item + len - sl, sizes[i].suffix) == 0) {
                        item[len - sl] = '\0';
                        return sizes[i].size;
                }
        }
        return 0;
}
