/* SPDX-License-Identifier: MIT */
/* libFuzzer entry: facts documents through the loader, and what loads back
 * out through the emitter and the model's copy. Seed corpus: tests/data/seed/. */
#include <stdint.h>
#include <stdlib.h>

#include "facts.h"
#include "yamldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mb_facts *f = NULL, *copy;
        mb_error err;
        char *text = NULL;

        if (size > MB_YAML_MAX_BYTES)
                return 0;
        if (mb_facts_load_buffer("fuzz.yaml", (const char *)data, size, &f, &err) != 0)
                return 0;
        if (mb_facts_to_string(f, true, &text, &err) == 0)
                free(text);
        copy = mb_facts_dup(f);
        mb_facts_free(copy);
        mb_facts_free(f);
        return 0;
}
