/* SPDX-License-Identifier: MIT */
/* libFuzzer entry: site.yaml bytes through the loader and its semantic checks,
 * then the planner against the seed facts (a valid config must plan or fail
 * cleanly, never crash). Seed corpus: examples/ and tests/data/bad/. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static mb_facts *seed;
        mb_config *c = NULL;
        mb_plan *p = NULL;
        mb_error err;

        if (!seed && mb_facts_load("tests/data/seed/facts-before.yaml", &seed, &err) != 0)
                abort(); /* run from the source root */
        if (size > MB_YAML_MAX_BYTES)
                return 0;
        if (mb_config_load_buffer("fuzz.yaml", (const char *)data, size, &c, &err) == 0) {
                if (mb_plan_compute(c, seed, &p, &err) == 0)
                        mb_plan_free(p);
                mb_config_free(c);
        }
        return 0;
}
