/* SPDX-License-Identifier: MIT */
/*
 * Replays inputs through one fuzz target's entry without libFuzzer, in the
 * normal build: `replay_fuzz_X DIR PREFIX` feeds every DIR/PREFIX* file (the
 * crashes fuzzing found, kept in tests/data/fuzz-regressions/) and exits 0
 * when none crashed (under ASan/UBSan, a report aborts the run).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f) {
                perror(path);
                return -1;
        }
        do {
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

                        if (!nb) {
                                free(buf);
                                fclose(f);
                                return -1;
                        }
                        buf = nb;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
        } while (n > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        struct dirent **ents = NULL;
        int n, count = 0, rc = 0;

        if (argc != 3) {
                fprintf(stderr, "usage: %s DIR PREFIX\n", argv[0]);
                return 2;
        }
        n = scandir(argv[1], &ents, NULL, alphasort);
        if (n < 0) {
                perror(argv[1]);
                return 1;
        }
        for (int i = 0; i < n; i++) {
                char path[4096];

                if (strncmp(ents[i]->d_name, argv[2], strlen(argv[2])) == 0) {
                        snprintf(path, sizeof(path), "%s/%s", argv[1], ents[i]->d_name);
                        if (replay(path) < 0)
                                rc = 1;
                        else
                                printf("replayed %s\n", path);
                        count++;
                }
                free(ents[i]);
        }
        free(ents);
        printf("%d input(s) for %s replayed\n", count, argv[2]);
        return rc;
}
