/* SPDX-License-Identifier: MIT */
/* The trust rule's POSIX branch (engine/trust.c) and the state directory and
 * record built on it (engine/state.c). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "state.h"
#include "trust.h"

static char tmp[64];

static void setup(void)
{
        strcpy(tmp, "/tmp/mbstate-trust.XXXXXX");
        cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        cr_assert_eq(system(cmd), 0);
}

TestSuite(trust, .init = setup, .fini = teardown);

static void make(const char *name, mode_t mode, char *ret_path)
{
        int fd;

        sprintf(ret_path, "%s/%s", tmp, name);
        fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, "version: 1\n", 11), 11);
        close(fd);
        cr_assert_eq(chmod(ret_path, mode), 0);
}

Test(trust, file_writable_by_owner_only_is_trusted)
{
        mb_error err = { 0 };
        char p[128];

        make("site.yaml", 0644, p);
        cr_assert_eq(mb_trust_check(p, -1, MB_TRUST_FILE, &err), 0, "%s", err.msg);
}

Test(trust, group_and_world_write_refused_naming_who)
{
        static const struct { mode_t mode; const char *who; } cases[] = {
                { 0664, "its group" }, { 0646, "every user" }, { 0666, "every user" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                mb_error err = { 0 };
                char p[128], want[96];
                int fd;

                make("open.yaml", cases[i].mode, p);
                fd = open(p, O_RDONLY);
                cr_assert_eq(mb_trust_check(p, fd, MB_TRUST_FILE, &err), MB_EUNSAFE, "mode %o", cases[i].mode);
                close(fd);
                snprintf(want, sizeof(want), "refusing a file that %s can modify", cases[i].who);
                cr_assert(strstr(err.msg, want), "%s", err.msg);
                cr_assert_str_eq(err.file, p);
        }
}

Test(trust, another_owner_refused)
{
        mb_error err = { 0 };
        char p[128];

        make("theirs.yaml", 0644, p);
        if (geteuid() != 0)
                cr_skip_test("chown to another user needs root");
        cr_assert_eq(chown(p, 4321, 4321), 0);
        cr_assert_eq(mb_trust_check(p, -1, MB_TRUST_FILE, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "another user") && strstr(err.msg, "owner uid 4321"), "%s", err.msg);
}

Test(trust, config_loading_refuses_an_open_file)
{
        mb_config *c = NULL;
        mb_error err = { 0 };
        char p[128];

        make("site.yaml", 0666, p);
        cr_assert_eq(mb_config_load(p, &c, &err), MB_EUNSAFE);
        cr_assert_null(c);
        cr_assert(strstr(err.msg, "every user"), "%s", err.msg);
}

Test(trust, state_dir_created_private_and_checked)
{
        mb_error err = { 0 };
        char d[128], link[128];
        struct stat st;

        snprintf(d, sizeof(d), "%s/state", tmp);
        cr_assert_eq(mb_state_dir_check(d, false, &err), MB_ENOENT);
        mb_error_clear(&err);
        cr_assert_eq(mb_state_dir_check(d, true, &err), 0, "%s", err.msg);
        cr_assert_eq(stat(d, &st), 0);
        cr_assert_eq(st.st_mode & 07777, 0700);

        cr_assert_eq(chmod(d, 0770), 0);
        cr_assert_eq(mb_state_dir_check(d, true, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "refusing a state directory that its group can modify"), "%s", err.msg);
        cr_assert(strstr(err.msg, d), "%s", err.msg);
        mb_error_clear(&err);

        cr_assert_eq(chmod(d, 0700), 0);
        snprintf(link, sizeof(link), "%s/link", tmp);
        cr_assert_eq(symlink(d, link), 0);
        cr_assert_eq(mb_state_dir_check(link, true, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "the state directory is a symbolic link"), "%s", err.msg);
}

Test(trust, record_file_others_can_write_refused)
{
        mb_record r = { .deep_at = 1700000000 }, back;
        mb_error err = { 0 };
        char p[160];
        static const char id[] = "1111111111111111111111111111111111111111111111111111111111111111";
        static const char sha[] = "2222222222222222222222222222222222222222222222222222222222222222";

        cr_assert_eq(mb_record_add(&r, "/Recovery/WindowsRE/Winre.wim", id, sha, &err), 0);
        cr_assert_eq(mb_record_save(tmp, "k", &r, &err), 0, "%s", err.msg);
        cr_assert_eq(mb_record_load(tmp, "k", &back, &err), 0, "%s", err.msg);
        cr_assert_eq(back.deep_at, 1700000000);
        cr_assert_str_eq(mb_record_lookup(&back, "/Recovery/WindowsRE/Winre.wim", id), sha);
        cr_assert_null(mb_record_lookup(&back, "/Recovery/WindowsRE/Winre.wim", sha));
        mb_record_clear(&back);

        snprintf(p, sizeof(p), "%s/k.rec", tmp);
        cr_assert_eq(chmod(p, 0602), 0);
        cr_assert_eq(mb_record_load(tmp, "k", &back, &err), MB_EUNSAFE);
        cr_assert(strstr(err.msg, "refusing a state file that every user can modify"), "%s", err.msg);
        mb_record_clear(&r);
}

Test(trust, record_text_round_trips_and_bad_lines_are_named)
{
        mb_record r = { .deep_at = 42 }, back;
        mb_error err = { 0 };
        static const char id[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        static const char sha[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        char bad[] = "mbstate verification record 1\ndeep 5\nnot a line\n";
        size_t len;
        char *text;

        cr_assert_eq(mb_record_add(&r, "/Recovery/WindowsRE/ReAgent.xml", id, sha, &err), 0);
        cr_assert_eq(mb_record_add(&r, "/Recovery/WindowsRE/Winre.wim", sha, id, &err), 0);
        text = mb_record_format(&r, &len);
        cr_assert_not_null(text);
        cr_assert_eq(strlen(text), len);
        cr_assert_eq(mb_record_parse("x.rec", text, &back, &err), 0, "%s", err.msg);
        cr_assert_eq(back.n, 2);
        cr_assert_eq(back.deep_at, 42);
        cr_assert_str_eq(mb_record_lookup(&back, "/Recovery/WindowsRE/Winre.wim", sha), id);
        free(text);
        mb_record_clear(&back);
        mb_record_clear(&r);

        cr_assert_eq(mb_record_parse("x.rec", bad, &back, &err), MB_ECORRUPT);
        cr_assert_eq(err.line, 3);
        cr_assert_eq(back.n, 0);
}
