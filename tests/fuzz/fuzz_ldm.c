/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for the LDM reader: the input is a whole disk, read through
 * a memory blockdev. A useful seed corpus is the first 1100 KiB of the GPT
 * reference images (ldm-2008r2-*-2.img: GPT, metadata partition 34-2081);
 * run with -max_len=1126400 so mutations reach the private region.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iengine \
 *     engine/error.c engine/guid.c engine/blockdev.c \
 *     engine/format/ldm/ldm.c engine/format/ldm/ldm_write.c \
 *     tests/fuzz/fuzz_ldm.c -o fuzz_ldm
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "format/ldm/ldm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mb_blockdev *dev = NULL;
        mb_ldm_db *db = NULL;
        mb_error err;
        uint8_t *buf;
        int dyn = 0;

        if (size == 0)
                return 0;
        buf = malloc(size);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (mb_blockdev_open_memory(buf, size, 0, &dev, &err) == 0) {
                (void)mb_ldm_probe(dev, &dyn, &err);
                if (mb_ldm_read(&dev, 1, &db, &err) == 0) {
                        /* exercise what a caller would do with the result */
                        for (size_t i = 0; i < db->n_vols; i++)
                                (void)mb_ldm_vol_type_name(db->vols[i].type);
                        mb_ldm_db_free(db);
                }
                mb_blockdev_close(dev);
        }
        free(buf);
        return 0;
}
