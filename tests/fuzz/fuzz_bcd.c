/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for BCD stores: the input is written to a temporary file
 * (hivex opens hives by path), opened read-only and listed; when that works
 * the first object is also fetched alone and its devices re-encoded.
 * Build (not wired into meson):
 *   clang -g -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I. -Iengine \
 *     tests/fuzz/fuzz_bcd.c engine/format/bcd/bcd.c engine/format/bcd/bcd_hive.c \
 *     engine/format/bcd/bcd_device.c engine/format/bcd/bcd_windows.c \
 *     engine/error.c engine/guid.c -lhivex
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/format/bcd/bcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[] = "/tmp/fuzz-bcd.XXXXXX";
        mb_bcd_object *objs, *one;
        mb_error err;
        mb_bcd *b;
        size_t n;
        int fd = mkstemp(path);

        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t)size) {
                close(fd);
                unlink(path);
                return 0;
        }
        close(fd);
        if (mb_bcd_open(path, 0, &b, &err) == 0) {
                if (mb_bcd_list(b, &objs, &n, &err) == 0) {
                        if (n > 0 && mb_bcd_get(b, &objs[0].id, &one, &err) == 0) {
                                uint8_t *buf;
                                size_t len;

                                if (one->device.kind != MB_BCD_DEV_NONE &&
                                    mb_bcd_device_encode(&one->device, &buf, &len, &err) == 0)
                                        free(buf);
                                mb_bcd_objects_free(one, 1);
                        }
                        mb_bcd_objects_free(objs, n);
                }
                mb_bcd_close(b);
        }
        unlink(path);
        return 0;
}
