/* SPDX-License-Identifier: MIT */
/* site.yaml loading: every bad document is refused with FILE:LINE:COLUMN and a reason. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"

static const struct bad {
        char file[64];          /* inline: criterion runs each case in a fresh process */
        int line;               /* 0: the error is about the file, not a line */
        char message[128];      /* substring of the message */
} bad[] = {
        { "syntax-error.yaml", 5, "YAML syntax error" },
        { "unknown-key.yaml", 7, "unknown key 'initialise' in disks; expected one of: name, match, initialize" },
        { "duplicate-key.yaml", 2, "duplicate key 'version' (first at line 1)" },
        { "negative-size.yaml", 10, "size '-5MiB': negative size" },
        { "negative-number.yaml", 4, "number: negative number '-5'" },
        { "size-overflow.yaml", 8, "size too large" },
        { "unknown-unit.yaml", 8, "size '100MB': unknown unit" },
        { "unknown-role.yaml", 11, "roles: 'swap' is not valid; expected one of: efi, msr, os, recovery" },
        { "unknown-disk.yaml", 14, "unknown disk 'tertiary'" },
        { "disk-declared-twice.yaml", 5, "disk 'primary' is declared twice (first at line 3)" },
        { "selector-matches-nothing.yaml", 4, "'system: false' selects nothing" },
        { "selector-empty.yaml", 4, "match has no selector" },
        { "mirror-role-not-partitioned.yaml", 12, "mirror role 'os' is not among the partitions' roles" },
        { "clone-to-itself.yaml", 13, "from disk 'primary' to itself" },
        { "template-not-listed.yaml", 9, "template disk 'primary' is not listed in partitions.disks" },
        { "missing-version.yaml", 1, "missing key 'version'" },
        { "unsupported-version.yaml", 1, "unsupported version 2; expected 1" },
        { "empty.yaml", 1, "the document is empty" },
        { "document-is-list.yaml", 1, "the document is a list; expected a mapping" },
        { "non-utf8.yaml", 3, "expected UTF-8" },
        { "tab-indented.yaml", 3, "tab character in indentation" },
        { "alias-bomb.yaml", 3, "alias '*a' is not allowed" },
        { "too-large.yaml", 0, "expected at most 1048576 bytes (1 MiB)" },
        { "boot-manager-with-plex.yaml", 15, "'plex' belongs to os-loader entries" },
        { "bad-firmware-position.yaml", 16, "firmware: 'sometimes' is not valid; expected one of: first, last, absent" },
        { "role-mirrored-twice.yaml", 15, "role 'os' is mirrored twice" },
        { "two-disks-same-selector.yaml", 6, "selects the same disk as 'primary'" },
        { "two-fills.yaml", 9, "a second 'fill' partition" },
        { "bool-not-bool.yaml", 4, "'yes please' is not a boolean; expected true or false" },
        { "layout-does-not-fit.yaml", 10, "the layout needs 2150 MiB" },
        { "number-overflow.yaml", 4, "4294967296 is too large" },
        { "../../../tests/data/bad", 0, "is a directory; expected a YAML file" },
        { "does-not-exist.yaml", 0, "cannot open: No such file or directory" },
};

ParameterizedTestParameters(config, bad_documents)
{
        return cr_make_param_array(struct bad, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(const struct bad *b, config, bad_documents)
{
        char path[512], formatted[4096];
        mb_config *c = NULL;
        mb_error err = { 0 };
        int r;

        snprintf(path, sizeof(path), "tests/data/bad/%s", b->file);
        r = mb_config_load(path, &c, &err);
        cr_assert(r < 0, "%s was accepted", b->file);
        cr_assert_null(c);
        cr_assert_str_eq(err.file, path, "%s: error names file '%s'", b->file, err.file);
        cr_assert_eq(err.line, b->line, "%s: error at line %d, expected %d (%s)", b->file, err.line,
                     b->line, err.msg);
        cr_assert(strstr(err.msg, b->message), "%s: message '%s' lacks '%s'", b->file, err.msg,
                  b->message);
        mb_error_format(&err, formatted, sizeof(formatted));
        if (b->line)
                cr_assert(strncmp(formatted, path, strlen(path)) == 0 &&
                          formatted[strlen(path)] == ':', "%s: formatted as %s", b->file, formatted);
}

Test(config, bad_directory_has_25_documents)
{
        cr_assert_geq(sizeof(bad) / sizeof(bad[0]), 25);
}

Test(config, alias_bomb_fails_fast_with_bounded_memory)
{
        struct rlimit lim = { 256 << 20, 256 << 20 };
        mb_config *c = NULL;
        mb_error err = { 0 };

#if !defined(__SANITIZE_ADDRESS__)
        setrlimit(RLIMIT_AS, &lim); /* AddressSanitizer reserves far more address space */
#else
        (void)lim;
#endif
        cr_assert(mb_config_load("tests/data/bad/alias-bomb.yaml", &c, &err) < 0);
        cr_assert(strstr(err.msg, "alias"));
}

Test(config, seed_example_loads)
{
        mb_config *c = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load("examples/seed/site.yaml", &c, &err), 0, "%s", err.msg);
        cr_assert_eq(c->site->n_disks, 2);
        cr_assert_str_eq(c->site->disks[1].name, "secondary");
        cr_assert_eq(*c->site->disks[1].match->number, 1);
        cr_assert_eq(c->site->disks[1].initialize, MB_INIT_IF_BLANK);
        cr_assert_eq(c->template_index, 0);
        cr_assert_eq(c->site->partitions->n_roles, 4);
        cr_assert_eq(c->site->n_mirrors, 1);
        cr_assert_eq(c->site->mirrors[0].role, MB_ROLE_OS);
        cr_assert_eq(c->site->n_clones, 2);
        cr_assert_eq(c->site->n_boot_entries, 2);
        cr_assert_eq(*c->site->boot_entries[0].firmware, MB_POS_LAST);
        cr_assert_eq(c->site->boot_entries[1].type, MB_ENTRY_OS_LOADER);
        mb_config_free(c);
}

Test(config, explicit_layout_loads_with_sizes)
{
        mb_config *c = NULL;
        mb_error err = { 0 };

        cr_assert_eq(mb_config_load("examples/replacement/site.yaml", &c, &err), 0, "%s", err.msg);
        cr_assert_eq(c->n_layout, 4);
        cr_assert_eq(c->layout[0].size, 100ULL << 20);
        cr_assert_eq(c->layout[1].size, 16ULL << 20);
        cr_assert_eq(c->layout[2].size, MB_SIZE_FILL);
        cr_assert_eq(c->layout[3].size, 524ULL << 20);
        mb_config_free(c);
}

Test(config, sizes)
{
        const char *why = NULL;
        uint64_t v;

        cr_assert_eq(mb_parse_size("100MiB", &v, false, &why), 0);
        cr_assert_eq(v, 100ULL << 20);
        cr_assert_eq(mb_parse_size("1 TiB", &v, false, &why), 0);
        cr_assert_eq(v, 1ULL << 40);
        cr_assert_eq(mb_parse_size("512B", &v, false, &why), 0);
        cr_assert_eq(v, 512);
        cr_assert_eq(mb_parse_size("4096", &v, false, &why), 0);
        cr_assert_eq(v, 4096);
        cr_assert_eq(mb_parse_size("fill", &v, true, &why), 0);
        cr_assert_eq(v, MB_SIZE_FILL);
        cr_assert_lt(mb_parse_size("fill", &v, false, &why), 0);
        cr_assert_lt(mb_parse_size("-1MiB", &v, false, &why), 0);
        cr_assert_str_eq(why, "negative size");
        cr_assert_lt(mb_parse_size("16777216TiB", &v, false, &why), 0);
        cr_assert_str_eq(why, "size too large");
        cr_assert_lt(mb_parse_size("1 PB", &v, false, &why), 0);
        cr_assert_str_eq(why, "unknown unit");
}
