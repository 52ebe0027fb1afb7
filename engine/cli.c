/* SPDX-License-Identifier: MIT */
/* mbstate's command line: verbs, options, help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootability.h"
#include "config.h"
#include "monitor.h"
#include "platform/platform.h"
#include "platform/renderers.h"
#include "run.h"
#include "runctl.h"

#ifndef MB_VERSION
#define MB_VERSION "0.0.0"
#endif

#ifdef _WIN32
#define DEFAULT_TARGET "windows"
#else
#define DEFAULT_TARGET NULL
#endif

typedef struct verb {
        const char *name;
        const char *usage;
        const char *help;
        int (*run)(int argc, char **argv, const struct verb *v);
} verb;

static const char general_help[] =
        "Usage: mbstate VERB [OPTIONS]\n"
        "\n"
        "Keeps a Windows Server boot drive mirrored as declared state.\n"
        "\n"
        "Verbs:\n"
        "  apply FILE     converge the machine to FILE: change only what differs\n"
        "  check FILE     drift check: exit 0 in desired state, 2 drift or degraded, 3 resyncing, 1 error\n"
        "  plan FILE      what apply would do, and the operations it would run\n"
        "  facts          the actual state, in site.yaml's vocabulary\n"
        "  validate FILE  schema and semantic check of FILE only\n"
        "\n"
        "Options:\n"
        "  --target T     snapshot:FACTS.yaml | image:A.img[:4096][,B.img...][,nvram=VARS.fd]\n"
        "                 | windows | replay:RECORDING (a machine recorded by facts --record)\n"
        "                 image: disk N is the Nth file, the first the system disk; a comma\n"
        "                 in a path is doubled (image:/srv/vm,,a/d0.img names /srv/vm,a/d0.img);\n"
        "                 a trailing :4096 (or :512, the default) is the image's logical\n"
        "                 sector size (image:a.img:4096,b.img:4096; a block device's own\n"
        "                 size is read, BLKSSZGET); nvram= is the UEFI variable store\n"
        "                 (OVMF VARS file) of the machine\n"
        "  --record FILE  (facts, Windows) write every Win32 call of the read to FILE\n"
        "  --json         one JSON document on stdout (plan, check, apply, facts)\n"
        "  --commands C   plan: also print the commands: windows (IOCTLs, diskpart, bcdedit)\n"
        "                 or target (the operations of the target in use)\n"
        "  --wait[=D]     apply: wait (at most D: 600, 90s, 30m, 2h) until mirror resyncs\n"
        "                 complete; exit 3 if D runs out first\n"
        "  --log L        also log to syslog, eventlog (Windows) or the file L\n"
        "  --format F     check: nagios, checkmk, prometheus or zabbix-discovery (README, Monitoring)\n"
        "  --textfile P   check: also write the Prometheus textfile P (node_exporter, windows_exporter)\n"
        "  --deep         check: read and hash every byte compared (else the record of the last\n"
        "                 deep verification is trusted while file identities are unchanged)\n"
        "  --deep-age D   check: deep when the last deep verification is older than D (default 7d)\n"
        "  --state-dir P  where that record is kept (default /var/lib/mbstate; root-only)\n"
        "  --lock-timeout D  wait up to D (default 30s) for another run to finish\n"
        "  --allow-block-devices  let image: name block devices (refused by default)\n"
        "  --help         help for a verb: mbstate VERB --help\n"
        "  --version      print the version\n"
        "\n"
        "Exit codes: 0 in desired state / converged, 1 error, 2 drift, 3 converging (mirror resync).\n";

static int usage_error(const verb *v, const char *fmt, const char *arg)
{
        fprintf(stderr, "mbstate %s: ", v->name);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nusage: %s\n", v->usage);
        return MB_EXIT_ERROR;
}

typedef struct args {
        const char *file;
        const char *target;
        const char *commands;
        const char *log;
        const char *record;
        const char *format;     /* check --format */
        const char *textfile;   /* check --textfile */
        bool json;
        bool wait;
        double wait_max;
        double lock_timeout;
        bool deep;
        const char *state_dir;
        double deep_age;
        bool help;
        bool allow_block_devices;
} args;

static int parse(int argc, char **argv, const verb *v, bool wants_file, args *a)
{
        memset(a, 0, sizeof(*a));
        a->target = DEFAULT_TARGET;
        a->lock_timeout = 30;
        for (int i = 1; i < argc; i++) {
                const char *s = argv[i];

                if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
                        a->help = true;
                else if (strcmp(s, "--json") == 0)
                        a->json = true;
                else if (strcmp(s, "--wait") == 0)
                        a->wait = true;
                else if (strcmp(s, "--deep") == 0)
                        a->deep = true;
                else if (strcmp(s, "--allow-block-devices") == 0)
                        a->allow_block_devices = true;
                else if (strncmp(s, "--wait=", 7) == 0) {
                        a->wait = true;
                        if ((a->wait_max = mb_parse_duration(s + 7)) <= 0)
                                return usage_error(v, "--wait=%s: expected a duration such as 600, 90s, 30m or 2h", s + 7);
                } else if (strcmp(s, "--target") == 0 || strcmp(s, "--commands") == 0 ||
                           strcmp(s, "--log") == 0 || strcmp(s, "--lock-timeout") == 0 ||
                           strcmp(s, "--record") == 0 || strcmp(s, "--state-dir") == 0 ||
                           strcmp(s, "--deep-age") == 0) {
                        if (i + 1 >= argc)
                                return usage_error(v, "%s needs a value", s);
                        if (strcmp(s, "--target") == 0)
                                a->target = argv[++i];
                        else if (strcmp(s, "--record") == 0)
                                a->record = argv[++i];
                        else if (strcmp(s, "--commands") == 0)
                                a->commands = argv[++i];
                        else if (strcmp(s, "--log") == 0)
                                a->log = argv[++i];
                        else if (strcmp(s, "--state-dir") == 0)
                                a->state_dir = argv[++i];
                        else if (strcmp(s, "--deep-age") == 0) {
                                if ((a->deep_age = mb_parse_duration(argv[++i])) <= 0)
                                        return usage_error(v, "--deep-age %s: expected a duration such as 7d, 12h or 3600", argv[i]);
                        } else if ((a->lock_timeout = mb_parse_duration(argv[++i])) < 0)
                                return usage_error(v, "--lock-timeout %s: expected a duration such as 0, 30 or 5m", argv[i]);
                } else if (strcmp(s, "--format") == 0 || strcmp(s, "--textfile") == 0) {
                        if (i + 1 >= argc)
                                return usage_error(v, "%s needs a value", s);
                        *(s[2] == 'f' ? &a->format : &a->textfile) = argv[++i];
                } else if (strncmp(s, "--format=", 9) == 0)
                        a->format = s + 9;
                else if (strncmp(s, "--textfile=", 11) == 0)
                        a->textfile = s + 11;
                else if (strncmp(s, "--log=", 6) == 0)
                        a->log = s + 6;
                else if (strncmp(s, "--lock-timeout=", 15) == 0) {
                        if ((a->lock_timeout = mb_parse_duration(s + 15)) < 0)
                                return usage_error(v, "--lock-timeout=%s: expected a duration such as 0, 30 or 5m", s + 15);
                } else if (strncmp(s, "--record=", 9) == 0)
                        a->record = s + 9;
                else if (strncmp(s, "--target=", 9) == 0)
                        a->target = s + 9;
                else if (strncmp(s, "--commands=", 11) == 0)
                        a->commands = s + 11;
                else if (s[0] == '-' && s[1])
                        return usage_error(v, "unknown option '%s'", s);
                else if (wants_file && !a->file)
                        a->file = s;
                else
                        return usage_error(v, "unexpected argument '%s'", s);
        }
        if (a->help) {
                printf("usage: %s\n\n%s", v->usage, v->help);
                return -1;
        }
        if (wants_file && !a->file)
                return usage_error(v, "%s", "missing FILE (a site.yaml)");
        if (a->record && strcmp(v->name, "facts") != 0)
                return usage_error(v, "%s", "--record is an option of facts");
        if ((a->deep || a->deep_age > 0) && strcmp(v->name, "check") != 0)
                return usage_error(v, "%s is an option of check (apply always reads every byte)",
                                   a->deep ? "--deep" : "--deep-age");
        if ((a->format || a->textfile) && strcmp(v->name, "check") != 0)
                return usage_error(v, "%s is an option of check", a->format ? "--format" : "--textfile");
        if (a->format && a->json)
                return usage_error(v, "%s", "--json and --format are alternatives: --json is check's own report");
        if (a->textfile && (strlen(a->textfile) < 6 || strcmp(a->textfile + strlen(a->textfile) - 5, ".prom") != 0))
                return usage_error(v, "--textfile %s: expected PATH.prom (textfile collectors read only *.prom)",
                                   a->textfile);
        if (a->commands && !mb_renderer_find(a->commands)) {
                char names[256], msg[512];

                snprintf(msg, sizeof(msg), "--commands takes %s, not '%s'",
                         mb_renderer_names(names, sizeof(names)), a->commands);
                return usage_error(v, "%s", msg);
        }
        return 0;
}

static int need_target(const verb *v, const args *a)
{
        if (!a->target)
                return usage_error(v, "%s", "--target is required on this system (snapshot:FACTS.yaml or image:A.img[,B.img...])");
        return 0;
}

static int run_verb(int argc, char **argv, const verb *v)
{
        mb_run_options o = { 0 };
        args a;
        int r = parse(argc, argv, v, true, &a);

        if (r)
                return r < 0 ? 0 : r;
        if ((r = need_target(v, &a)))
                return r;
        o.verb = strcmp(v->name, "apply") == 0 ? MB_VERB_APPLY
                 : strcmp(v->name, "check") == 0 ? MB_VERB_CHECK : MB_VERB_PLAN;
        o.config_path = a.file;
        o.target = a.target;
        o.target_options.allow_block_devices = a.allow_block_devices;
        o.json = a.json;
        o.commands = a.commands ? a.commands : "target";
        o.wait = a.wait;
        o.wait_max = a.wait_max;
        o.lock_timeout = a.lock_timeout;
        o.log = a.log;
        if (a.format) {
                mb_mon_format f;

                if (mb_monitor_format_from_string(a.format, &f) != 0)
                        return usage_error(v, "--format takes text, nagios, checkmk, prometheus or zabbix-discovery, not '%s'",
                                           a.format);
                o.format = (int)f;
        }
        o.textfile = a.textfile;
        o.deep = a.deep;
        o.state_dir = a.state_dir;
        o.deep_age = a.deep_age;
        o.out = stdout;
        o.progress = stderr;
        return mb_run(&o);
}

static int validate_verb(int argc, char **argv, const verb *v)
{
        mb_config *c = NULL;
        mb_error err = { 0 };
        char msg[4096];
        args a;
        int r = parse(argc, argv, v, true, &a);

        if (r)
                return r < 0 ? 0 : r;
        if (mb_config_load(a.file, &c, &err) != 0) {
                mb_error_format(&err, msg, sizeof(msg));
                fprintf(stderr, "%s\n", msg);
                return MB_EXIT_ERROR;
        }
        printf("%s: valid (version 1, %u disks, %u mirrors, %u clones, %u boot entries)\n", a.file,
               c->site->n_disks, c->site->n_mirrors, c->site->n_clones, c->site->n_boot_entries);
        mb_config_free(c);
        return MB_EXIT_OK;
}

static int facts_verb(int argc, char **argv, const verb *v)
{
        mb_platform *p = NULL;
        mb_facts *f = NULL;
        mb_error err = { 0 };
        char msg[4096];
        args a;
        int r = parse(argc, argv, v, false, &a);

        if (r)
                return r < 0 ? 0 : r;
        if ((r = need_target(v, &a)))
                return r;
        r = mb_platform_open_with(a.target,
                                  &(mb_target_options){ .allow_block_devices = a.allow_block_devices,
                                                        .record = a.record },
                                  &p, &err);
        if (!r)
                r = mb_platform_read_facts(p, &f, &err);
        if (a.record && p) {
                /* written even when the read failed: that answer is the one to look at */
                mb_error ferr = { 0 };
                int fr = mb_platform_finish(p, &ferr);

                if (fr && !r) {
                        err = ferr;
                        r = fr;
                }
        }
        if (!r)
                r = mb_facts_boot_verdicts(f, &err);
        if (!r)
                r = mb_facts_save(f, "-", a.json, &err);
        mb_facts_free(f);
        mb_platform_close(p);
        if (r) {
                mb_error_format(&err, msg, sizeof(msg));
                fprintf(stderr, "mbstate facts: %s\n", msg);
                return MB_EXIT_ERROR;
        }
        return MB_EXIT_OK;
}

static const verb verbs[] = {
        { "apply", "mbstate apply FILE [--target T] [--json] [--wait[=DURATION]] [--log L] [--lock-timeout D]",
          "Converges the machine to the state FILE declares. Each step is decided on\n"
          "freshly read state and printed as it runs; a step that fails stops the run.\n"
          "Running it again changes nothing; an interrupted run is finished by the next.\n"
          "  --wait[=DURATION]  wait (at most DURATION: 600, 90s, 30m, 2h) until mirror\n"
          "                     resyncs complete: a progress bar on a terminal, percentages otherwise\n"
          "  --log L            syslog, eventlog (Windows) or a file: start, each change, outcome\n"
          "  --lock-timeout D   wait up to D for another run (default 30s), then exit 1\n"
          "Exit: 0 converged, 3 converged with a resync still running, 1 error.\n",
          run_verb },
        { "check", "mbstate check FILE [--target T] [--json | --format F] [--textfile P.prom] [--log L] [--lock-timeout D]",
          "Compares the machine with FILE and changes nothing. For cron, Task Scheduler,\n"
          "monitoring. Exit: 0 in desired state, 2 drift, 3 converging (resync), 1 error.\n"
          "  --format nagios     monitoring-plugins output (Nagios, Icinga); exit 0 OK,\n"
          "                      1 WARNING, 2 CRITICAL, 3 UNKNOWN\n"
          "  --format checkmk    a Checkmk local-check line (exit 0 once printed)\n"
          "  --format prometheus the Prometheus text exposition on stdout\n"
          "  --format zabbix-discovery  Zabbix low-level discovery: declared disks and mirrors\n"
          "  --textfile P.prom   also write the exposition to P.prom atomically (textfile collector)\n",
          run_verb },
        { "plan", "mbstate plan FILE [--target T] [--json] [--commands windows|target]",
          "Prints what apply would change, in order, with the operations the target\n"
          "would run. --commands windows shows the diskpart and bcdedit steps of the\n"
          "windows target. Exit codes as for check.\n",
          run_verb },
        { "facts", "mbstate facts [--target T] [--json] [--record FILE]",
          "Prints the actual state (disks, partitions, dynamic volumes and plexes, ESP\n"
          "files, BCD objects, firmware entries) as YAML, or JSON with --json. The output\n"
          "is a valid snapshot: --target snapshot:FILE reads it back.\n"
          "  --record FILE  (Windows) also writes every Win32 call the read made, with\n"
          "                 what it returned, to FILE (text); --target replay:FILE\n"
          "                 reads the same facts from it on any system\n",
          facts_verb },
        { "validate", "mbstate validate FILE",
          "Checks FILE against the site.yaml schema (version 1) and its semantic rules.\n"
          "Errors are printed as FILE:LINE:COLUMN: what is wrong; expected what. Exit 0 or 1.\n",
          validate_verb },
};

int main(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                fputs(general_help, argc < 2 ? stderr : stdout);
                return argc < 2 ? MB_EXIT_ERROR : MB_EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
                printf("mbstate %s\n", MB_VERSION);
                return MB_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].run(argc - 1, argv + 1, &verbs[i]);
        fprintf(stderr, "mbstate: unknown verb '%s'; expected apply, check, plan, facts or validate (see mbstate --help)\n",
                argv[1]);
        return MB_EXIT_ERROR;
}
