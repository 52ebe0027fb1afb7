/* SPDX-License-Identifier: MIT */
/* The item syntax of a target's comma-separated list (image:A.img,B.img). */
#include "target_list.h"

#include <stddef.h>

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
