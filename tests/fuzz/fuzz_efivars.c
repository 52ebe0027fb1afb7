/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for UEFI variable stores (engine/format/efivars): the input
 * is an OVMF_VARS.fd-style file, loaded, listed, its Boot#### and BootOrder
 * decoded, then edited in memory as the image target's firmware operations
 * do (an entry added, one deleted, the order rewritten; nothing is saved).
 * The same bytes are also parsed as one EFI load option.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/efivars/efivars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char path[64];
        mb_efi_load_option o;
        mb_efi_boot_entry *e = NULL;
        mb_efivar *vars = NULL;
        mb_efivars *v = NULL;
        uint16_t *order = NULL;
        uint32_t n = 0, no = 0, nv = 0;
        mb_error err;
        int fd;

        memset(&o, 0, sizeof(o));
        if (mb_efi_load_option_parse(data, size, &o, &err) == 0) {
                uint8_t *out = NULL;
                size_t len = 0;

                if (mb_efi_load_option_build(&o, &out, &len, &err) == 0)
                        free(out);
        }
        if (!path[0])
                snprintf(path, sizeof(path), "%s/mbstate-fuzz-vars-%d.fd",
                         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t)size) {
                close(fd);
                unlink(path);
                return 0;
        }
        close(fd);
        if (mb_efivars_load(path, &v, &err) == 0) {
                if (mb_efivars_list(v, &vars, &nv, &err) == 0)
                        free(vars);
                if (mb_efivars_boot_order(v, &order, &no, &err) == 0 && no > 0)
                        (void)mb_efivars_set_boot_order(v, order, no, &err);
                if (mb_efivars_boot_entries(v, &e, &n, &err) == 0 && n > 0) {
                        (void)mb_efivars_set_boot_entry(v, (uint16_t)(e[n - 1].number + 1),
                                                        &e[0].option, &err);
                        (void)mb_efivars_delete_boot_entry(v, e[0].number, &err);
                }
                free(e);
                free(order);
                mb_efivars_free(v);
        }
        unlink(path);
        return 0;
}
