/* SPDX-License-Identifier: MIT */
/*
 * LDM reader/writer tests. Reference images (shared/testdata/ldm, made by
 * Windows Server 2003 R2 and 2008 R2) are extracted into a temporary
 * directory per test; tests that need them skip when they are absent.
 * ldmtool (Debian package ldmtool) is the independent reader we compare
 * against; those comparisons are skipped when it is not installed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/ldm/ldm.h"
#include "format/ldm/ldm_int.h"

#define G2003 "03c0c4fc-8b6f-402b-9431-4be2e5823b1c"
#define G2008 "06495a84-fbfd-11e1-8cf9-52540061f5db"

/* ------------------------------------------------------------ helpers */

static char tarball[1024];

static int find_testdata(void)
{
        const char *env = getenv("MB_TESTDATA");
        const char *dirs[2] = { env, "../shared/testdata" };

        for (int i = 0; i < 2; i++) {
                if (!dirs[i] || !*dirs[i])
                        continue;
                snprintf(tarball, sizeof(tarball), "%s/ldm/ldm-data.tar.xz", dirs[i]);
                if (access(tarball, R_OK) == 0)
                        return 1;
        }
        return 0;
}

static char *make_tmpdir(void)
{
        char *d = strdup("/tmp/mb-ldm-test-XXXXXX");

        cr_assert_not_null(mkdtemp(d));
        return d;
}

static void rm_rf(const char *dir)
{
        char cmd[1200];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

/* Extracts the named images (NULL-terminated) into a fresh temp dir. */
static char *extract(const char *const *names)
{
        char cmd[4096], *dir;
        size_t n;

        if (!find_testdata())
                cr_skip_test("reference data not found (../shared/testdata/ldm/ldm-data.tar.xz or $MB_TESTDATA)");
        dir = make_tmpdir();
        n = (size_t)snprintf(cmd, sizeof(cmd), "tar -xJf '%s' -C '%s'", tarball, dir);
        for (const char *const *p = names; *p; p++)
                n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", *p);
        cr_assert_eq(system(cmd), 0, "tar failed: %s", cmd);
        return dir;
}

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
        snprintf(out, n, "%s/%s", dir, name);
}

static mb_blockdev *open_dev(const char *path, int writable)
{
        mb_blockdev *d = NULL;
        mb_error e;

        mb_error_clear(&e);
        cr_assert_eq(mb_blockdev_open_file(path, writable, &d, &e), 0, "%s", e.msg);
        return d;
}

static int have_ldmtool(void)
{
        return system("command -v ldmtool >/dev/null 2>&1") == 0;
}

static char *run(const char *cmd)
{
        FILE *f = popen(cmd, "r");
        size_t cap = 65536, len = 0;
        char *buf = malloc(cap);

        cr_assert_not_null(f);
        for (;;) {
                size_t n = fread(buf + len, 1, cap - len - 1, f);

                if (n == 0)
                        break;
                len += n;
                if (cap - len < 1024)
                        buf = realloc(buf, cap *= 2);
        }
        buf[len] = '\0';
        pclose(f);
        return buf;
}

/* ldmtool -d each image <args> */
static char *ldmtool(const char *dir, const char *const *imgs, const char *args)
{
        char cmd[8192];
        size_t n = (size_t)snprintf(cmd, sizeof(cmd), "ldmtool");

        for (const char *const *p = imgs; *p; p++)
                n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " -d '%s/%s'", dir, *p);
        snprintf(cmd + n, sizeof(cmd) - n, " %s 2>/dev/null", args);
        return run(cmd);
}

/* "key" : "value" or "key" : number */
static int json_get(const char *js, const char *key, char *out, size_t n)
{
        char pat[128];
        const char *p, *e;

        snprintf(pat, sizeof(pat), "\"%s\" :", key);
        p = strstr(js, pat);
        if (!p)
                return -1;
        p += strlen(pat);
        while (*p == ' ')
                p++;
        if (*p == '"') {
                e = strchr(++p, '"');
        } else {
                e = p;
                while (*e && *e != ',' && *e != '\n')
                        e++;
        }
        if (!e || (size_t)(e - p) >= n)
                return -1;
        memcpy(out, p, (size_t)(e - p));
        out[e - p] = '\0';
        return 0;
}

/* "key" : [ "a", "b" ] -> count, names joined by ',' in out (sorted by caller) */
static int json_list(const char *js, const char *key, char out[][MB_LDM_STR_MAX], int max)
{
        char pat[128];
        const char *p, *end;
        int n = 0;

        snprintf(pat, sizeof(pat), "\"%s\" : [", key);
        p = strstr(js, pat);
        if (!p)
                return -1;
        p += strlen(pat);
        end = strchr(p, ']');
        while (p && p < end && n < max) {
                const char *a = strchr(p, '"'), *b;

                if (!a || a > end)
                        break;
                b = strchr(a + 1, '"');
                snprintf(out[n++], MB_LDM_STR_MAX, "%.*s", (int)(b - a - 1), a + 1);
                p = b + 1;
        }
        return n;
}

static int in_list(char list[][MB_LDM_STR_MAX], int n, const char *s)
{
        for (int i = 0; i < n; i++)
                if (strcmp(list[i], s) == 0)
                        return 1;
        return 0;
}

static mb_ldm_db *read_imgs(const char *dir, const char *const *imgs, mb_blockdev **devs, size_t *n)
{
        mb_ldm_db *db = NULL;
        mb_error e;
        char p[1200];

        *n = 0;
        for (const char *const *i = imgs; *i; i++) {
                path_of(p, sizeof(p), dir, *i);
                devs[(*n)++] = open_dev(p, 0);
        }
        mb_error_clear(&e);
        cr_assert_eq(mb_ldm_read(devs, *n, &db, &e), 0, "read failed: %s", e.msg);
        return db;
}

static void close_all(mb_blockdev **devs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                mb_blockdev_close(devs[i]);
}

static const char *ldmtool_type(mb_ldm_vol_type t)
{
        return t == MB_LDM_VOL_RAID5 ? "RAID5" : mb_ldm_vol_type_name(t);
}

/* Compares every volume, partition and disk of db with ldmtool's view. */
static void compare_with_ldmtool(mb_ldm_db *db, const char *dir, const char *const *imgs)
{
        char buf[512], list[64][MB_LDM_STR_MAX], cmd[1024], *js;
        int n;

        if (!have_ldmtool())
                return;
        js = ldmtool(dir, imgs, "scan");
        cr_assert(strstr(js, db->group_guid_str), "ldmtool scan: %s", js);
        free(js);
        snprintf(cmd, sizeof(cmd), "show diskgroup %s", db->group_guid_str);
        js = ldmtool(dir, imgs, cmd);
        cr_assert_eq(json_get(js, "name", buf, sizeof(buf)), 0, "%s", js);
        cr_assert_str_eq(buf, db->group_name);
        n = json_list(js, "volumes", list, 64);
        cr_assert_eq((size_t)n, db->n_vols, "ldmtool sees %d volumes, we %zu", n, db->n_vols);
        for (size_t i = 0; i < db->n_vols; i++)
                cr_assert(in_list(list, n, db->vols[i].name), "%s", db->vols[i].name);
        n = json_list(js, "disks", list, 64);
        cr_assert_eq((size_t)n, db->n_disks);
        for (size_t i = 0; i < db->n_disks; i++)
                cr_assert(in_list(list, n, db->disks[i].name), "%s", db->disks[i].name);
        free(js);
        for (size_t i = 0; i < db->n_vols; i++) {
                mb_ldm_vol *v = &db->vols[i];
                char g[MB_GUID_STR_LEN];
                int np = 0;

                snprintf(cmd, sizeof(cmd), "show volume %s '%s'", db->group_guid_str, v->name);
                js = ldmtool(dir, imgs, cmd);
                cr_assert_eq(json_get(js, "type", buf, sizeof(buf)), 0, "%s", js);
                cr_assert_str_eq(buf, ldmtool_type(v->type), "volume %s", v->name);
                json_get(js, "size", buf, sizeof(buf));
                cr_assert_eq(strtoull(buf, NULL, 10), v->size, "volume %s size", v->name);
                json_get(js, "guid", buf, sizeof(buf));
                cr_assert_str_eq(buf, mb_guid_format(&v->guid, g));
                if (json_get(js, "hint", buf, sizeof(buf)) == 0)
                        cr_assert_str_eq(buf, v->hint);
                else
                        cr_assert_str_eq(v->hint, "");
                n = json_list(js, "partitions", list, 64);
                for (size_t c = 0; c < db->n_comps; c++) {
                        if (db->comps[c].vol_id != v->id)
                                continue;
                        if (json_get(js, "chunk-size", buf, sizeof(buf)) == 0 && db->comps[c].stripe_size)
                                cr_assert_eq(strtoull(buf, NULL, 10), db->comps[c].stripe_size);
                        for (size_t p = 0; p < db->n_parts; p++)
                                if (db->parts[p].comp_id == db->comps[c].id) {
                                        cr_assert(in_list(list, n, db->parts[p].name), "%s",
                                                  db->parts[p].name);
                                        np++;
                                }
                }
                cr_assert_eq(np, n, "volume %s: %d partitions, ldmtool %d", v->name, np, n);
                free(js);
        }
        for (size_t p = 0; p < db->n_parts; p++) {
                snprintf(cmd, sizeof(cmd), "show partition %s '%s'", db->group_guid_str, db->parts[p].name);
                js = ldmtool(dir, imgs, cmd);
                json_get(js, "start", buf, sizeof(buf));
                cr_assert_eq(strtoull(buf, NULL, 10), db->parts[p].start, "%s", db->parts[p].name);
                json_get(js, "size", buf, sizeof(buf));
                cr_assert_eq(strtoull(buf, NULL, 10), db->parts[p].size);
                free(js);
        }
        for (size_t d = 0; d < db->n_disks; d++) {
                mb_ldm_disk *k = &db->disks[d];
                char g[MB_GUID_STR_LEN];

                snprintf(cmd, sizeof(cmd), "show disk %s '%s'", db->group_guid_str, k->name);
                js = ldmtool(dir, imgs, cmd);
                json_get(js, "guid", buf, sizeof(buf));
                cr_assert_str_eq(buf, mb_guid_format(&k->guid, g));
                json_get(js, "present", buf, sizeof(buf));
                cr_assert_str_eq(buf, k->dev_index >= 0 ? "true" : "false", "disk %s", k->name);
                if (k->dev_index >= 0) {
                        const mb_ldm_dev *dv = NULL;

                        for (size_t i = 0; i < db->n_devs; i++)
                                if (db->devs[i].dev_index == k->dev_index)
                                        dv = &db->devs[i];
                        cr_assert_not_null(dv);
                        json_get(js, "data-start", buf, sizeof(buf));
                        cr_assert_eq(strtoull(buf, NULL, 10), dv->logical_disk_start);
                        json_get(js, "data-size", buf, sizeof(buf));
                        cr_assert_eq(strtoull(buf, NULL, 10), dv->logical_disk_size);
                        json_get(js, "metadata-start", buf, sizeof(buf));
                        cr_assert_eq(strtoull(buf, NULL, 10), dv->config_start);
                        json_get(js, "metadata-size", buf, sizeof(buf));
                        cr_assert_eq(strtoull(buf, NULL, 10), dv->config_size);
                }
                free(js);
        }
}

/* Every PRIVHEAD, TOCBLOCK and record rebuilt from the parsed db equals what Windows wrote. */
static void check_serializers(mb_ldm_db *db)
{
        ldm_rec *recs = NULL;
        size_t n = 0;
        mb_error e;
        uint8_t buf[4096];

        for (size_t i = 0; i < db->n_devs; i++) {
                uint8_t b[512];

                ldm_ph_build(&db->devs[i], b);
                cr_assert_eq(memcmp(b, db->devs[i].ph_image, 512), 0, "PRIVHEAD of device %zu", i);
                ldm_toc_build(&db->devs[i], b);
                cr_assert_eq(memcmp(b, db->devs[i].toc_image, 512), 0, "TOCBLOCK of device %zu", i);
        }
        cr_assert_not_null(db->cfg);
        mb_error_clear(&e);
        cr_assert_eq(ldm_scan_records(db->cfg, db->n_vblks, db->vblk_size,
                                      db->vmdb_header_size / db->vblk_size, "t", &recs, &n, &e), 0);
        for (size_t i = 0; i < n; i++) {
                int len = -1;

                switch (recs[i].type) {
                case LDM_REC_VOL:
                        for (size_t k = 0; k < db->n_vols; k++)
                                if (db->vols[k].id == recs[i].id)
                                        len = ldm_build_vol(&db->vols[k], buf, sizeof(buf));
                        break;
                case LDM_REC_COMP:
                        for (size_t k = 0; k < db->n_comps; k++)
                                if (db->comps[k].id == recs[i].id)
                                        len = ldm_build_comp(&db->comps[k], buf, sizeof(buf));
                        break;
                case LDM_REC_PART:
                        for (size_t k = 0; k < db->n_parts; k++)
                                if (db->parts[k].id == recs[i].id)
                                        len = ldm_build_part(&db->parts[k], buf, sizeof(buf));
                        break;
                case LDM_REC_DISK:
                        for (size_t k = 0; k < db->n_disks; k++)
                                if (db->disks[k].id == recs[i].id)
                                        len = ldm_build_disk(&db->disks[k], buf, sizeof(buf));
                        break;
                case LDM_REC_GROUP:
                        len = ldm_build_group(db, buf, sizeof(buf));
                        break;
                }
                cr_assert_eq((size_t)len, recs[i].len, "record %llu type %u: length %d vs %zu",
                             (unsigned long long)recs[i].id, recs[i].type, len, recs[i].len);
                cr_assert_eq(memcmp(buf, recs[i].data, recs[i].len), 0, "record %llu type %u differs",
                             (unsigned long long)recs[i].id, recs[i].type);
        }
        ldm_recs_free(recs, n);
}

/* ------------------------------------------------- reference image sets */

struct set {
        const char *imgs[4];
        const char *group, *vol;
        mb_ldm_vol_type type;
};

static void check_set(const struct set *s)
{
        char *dir = extract(s->imgs);
        mb_blockdev *devs[4];
        size_t n;
        mb_ldm_db *db = read_imgs(dir, s->imgs, devs, &n);
        mb_ldm_vol *v;

        cr_assert_str_eq(db->group_guid_str, s->group);
        v = mb_ldm_find_vol(db, s->vol);
        cr_assert_not_null(v, "no %s", s->vol);
        cr_assert_eq(v->type, s->type, "%s is %s", s->vol, mb_ldm_vol_type_name(v->type));
        cr_assert_eq(db->n_devs, n);
        cr_assert_str_eq(db->warnings, "", "unexpected warnings: %s", db->warnings);
        for (size_t i = 0; i < n; i++) {
                int dyn = 0;
                mb_error e;

                cr_assert_eq(mb_ldm_probe(devs[i], &dyn, &e), 0);
                cr_assert_eq(dyn, 1);
        }
        for (size_t p = 0; p < db->n_parts; p++)
                for (size_t c = 0; c < db->n_comps; c++)
                        if (db->comps[c].id == db->parts[p].comp_id && db->comps[c].vol_id == v->id) {
                                /* every extent of the named volume is on one of these images */
                                int present = 0;

                                for (size_t d = 0; d < db->n_disks; d++)
                                        if (db->disks[d].id == db->parts[p].disk_id)
                                                present = db->disks[d].dev_index >= 0;
                                cr_assert(present, "%s", db->parts[p].name);
                        }
        check_serializers(db);
        compare_with_ldmtool(db, dir, s->imgs);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

Test(ldm_ref, w2003_simple)
{
        struct set s = { { "ldm-2003r2-simple-1.img" }, G2003, "Volume1", MB_LDM_VOL_SIMPLE };
        check_set(&s);
}

Test(ldm_ref, w2003_spanned)
{
        struct set s = { { "ldm-2003r2-spanned-1.img", "ldm-2003r2-spanned-2.img" }, G2003,
                         "Volume2", MB_LDM_VOL_SPANNED };
        check_set(&s);
}

Test(ldm_ref, w2003_striped)
{
        struct set s = { { "ldm-2003r2-striped-1.img", "ldm-2003r2-striped-2.img" }, G2003,
                         "Stripe1", MB_LDM_VOL_STRIPED };
        check_set(&s);
}

Test(ldm_ref, w2003_mirrored)
{
        struct set s = { { "ldm-2003r2-mirrored-1.img", "ldm-2003r2-mirrored-2.img" }, G2003,
                         "Volume3", MB_LDM_VOL_MIRRORED };
        check_set(&s);
}

Test(ldm_ref, w2003_raid5)
{
        struct set s = { { "ldm-2003r2-raid5-1.img", "ldm-2003r2-raid5-2.img", "ldm-2003r2-raid5-3.img" },
                         G2003, "Raid1", MB_LDM_VOL_RAID5 };
        check_set(&s);
}

Test(ldm_ref, w2008_spanned)
{
        struct set s = { { "ldm-2008r2-spanned-1.img", "ldm-2008r2-spanned-2.img" }, G2008,
                         "Volume1", MB_LDM_VOL_SPANNED };
        check_set(&s);
}

Test(ldm_ref, w2008_striped)
{
        struct set s = { { "ldm-2008r2-striped-1.img", "ldm-2008r2-striped-2.img" }, G2008,
                         "Volume2", MB_LDM_VOL_STRIPED };
        check_set(&s);
}

Test(ldm_ref, w2008_raid5)
{
        struct set s = { { "ldm-2008r2-raid5-1.img", "ldm-2008r2-raid5-2.img", "ldm-2008r2-raid5-3.img" },
                         G2008, "Volume4", MB_LDM_VOL_RAID5 };
        check_set(&s);
}

Test(ldm_ref, w2008_mirrored)
{
        struct set s = { { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img" }, G2008,
                         "Volume3", MB_LDM_VOL_MIRRORED };
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        char *dir;
        mb_blockdev *devs[2];
        size_t n;
        mb_ldm_db *db;
        mb_ldm_vol *v;
        int seen = 0;

        check_set(&s);
        dir = extract(imgs);
        db = read_imgs(dir, imgs, devs, &n);
        v = mb_ldm_find_vol(db, "Volume3");
        cr_assert_eq(v->size, 32768);
        cr_assert_str_eq(v->hint, "G:");
        for (size_t c = 0; c < db->n_comps; c++)
                for (size_t p = 0; p < db->n_parts; p++)
                        if (db->comps[c].vol_id == v->id && db->parts[p].comp_id == db->comps[c].id) {
                                cr_assert(strcmp(db->parts[p].name, "Disk5-01") == 0 ||
                                          strcmp(db->parts[p].name, "Disk6-01") == 0, "%s", db->parts[p].name);
                                seen++;
                        }
        cr_assert_eq(seen, 2);
        /* mirrored-2 is the GPT disk */
        cr_assert_eq(db->devs[1].is_gpt, 1);
        cr_assert_eq(db->devs[0].is_gpt, 0);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

Test(ldm_ref, split_records_and_klog)
{
        const char *imgs[] = { "ldm-2003r2-mirrored-1.img", NULL };
        const char *imgs8[] = { "ldm-2008r2-spanned-2.img", NULL };
        char *dir = extract(imgs), *dir8;
        mb_blockdev *devs[1];
        size_t n, n_recs = 0, split = 0;
        mb_ldm_db *db = read_imgs(dir, imgs, devs, &n);
        ldm_rec *recs = NULL;
        mb_ldm_disk *d1 = mb_ldm_find_disk(db, "Disk1");
        mb_error e;

        /* 2003 R2 disk records carry the device path and span two VBLKs */
        cr_assert_not_null(d1);
        cr_assert(strncmp(d1->last_device, "SCSI\\DISK&VEN_RED_HAT", 21) == 0, "%s", d1->last_device);
        cr_assert_eq(ldm_scan_records(db->cfg, db->n_vblks, db->vblk_size, 4, "t", &recs, &n_recs, &e), 0);
        for (size_t i = 0; i < n_recs; i++)
                split += recs[i].n_slots > 1;
        cr_assert_geq(split, 10);
        ldm_recs_free(recs, n_recs);
        /* KLOG of 2003 R2: the last commit */
        cr_assert_eq(db->committed_seq, 1133);
        cr_assert_geq(db->n_klog, 1);
        cr_assert_eq(db->klog[0].status, 3);
        cr_assert_eq(db->klog[0].committed, 1132);
        cr_assert_eq(db->klog[0].pending, 1133);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);

        dir8 = extract(imgs8);
        db = read_imgs(dir8, imgs8, devs, &n);
        cr_assert_eq(db->committed_seq, 39);
        cr_assert_eq(db->n_klog, 2);
        cr_assert_eq(db->klog[0].pending, 39);
        cr_assert_eq(db->devs[0].is_gpt, 1);
        cr_assert_eq(db->devs[0].config_start, 34);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir8);
        free(dir8);
}

/* ------------------------------------------------------------ corruption */

static uint8_t *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *b;

        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        *len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        b = malloc(*len);
        cr_assert_eq(fread(b, 1, *len, f), *len);
        fclose(f);
        return b;
}

static void patch(const char *path, uint64_t off, const void *data, size_t n)
{
        int fd = open(path, O_WRONLY);

        cr_assert_geq(fd, 0);
        cr_assert_eq(pwrite(fd, data, n, (off_t)off), (ssize_t)n);
        close(fd);
}

static void patch_u8_xor(const char *path, uint64_t off, uint8_t x)
{
        int fd = open(path, O_RDWR);
        uint8_t b;

        cr_assert_geq(fd, 0);
        cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
        b ^= x;
        cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
        close(fd);
}

/* Reads imgs; expects rc; returns the db (or NULL) and checks nothing was written. */
static mb_ldm_db *read_expect(const char *dir, const char *const *imgs, int want_rc, mb_error *e)
{
        mb_blockdev *devs[4];
        uint8_t *before[4];
        size_t n = 0, len[4];
        mb_ldm_db *db = NULL;
        char p[1200];
        int rc;

        for (const char *const *i = imgs; *i; i++, n++) {
                path_of(p, sizeof(p), dir, *i);
                before[n] = slurp(p, &len[n]);
                devs[n] = open_dev(p, 0);
        }
        mb_error_clear(e);
        rc = mb_ldm_read(devs, n, &db, e);
        cr_assert_eq(rc, want_rc, "rc %d (%s), wanted %d", rc, e->msg, want_rc);
        close_all(devs, n);
        for (size_t i = 0; i < n; i++) {
                size_t l;
                uint8_t *after;

                path_of(p, sizeof(p), dir, imgs[i]);
                after = slurp(p, &l);
                cr_assert(l == len[i] && memcmp(after, before[i], l) == 0, "%s was modified", imgs[i]);
                free(after);
                free(before[i]);
        }
        return db;
}

Test(ldm_corrupt, privhead_copy_damaged)
{
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        char *dir = extract(imgs), p[1200];
        mb_ldm_db *db;
        mb_error e;

        /* GPT disk: secondary copy (34 + 1856) */
        path_of(p, sizeof(p), dir, imgs[1]);
        patch_u8_xor(p, 1890 * 512 + 0x40, 0x55);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert(strstr(db->warnings, "PRIVHEAD copy at sector 1890 damaged (bad checksum"), "%s", db->warnings);
        cr_assert(strstr(db->warnings, "used the copy at sector 2081"), "%s", db->warnings);
        cr_assert_not_null(mb_ldm_find_vol(db, "Volume3"));
        mb_ldm_db_free(db);
        /* and the primary (last LBA of the metadata partition) too: nothing valid left */
        patch_u8_xor(p, 2081 * 512 + 0x40, 0x55);
        db = read_expect(dir, imgs, MB_ECORRUPT, &e);
        cr_assert(strstr(e.msg, "no valid PRIVHEAD"), "%s", e.msg);
        /* restore the secondary: the primary is damaged, the secondary is used */
        patch_u8_xor(p, 1890 * 512 + 0x40, 0x55);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert(strstr(db->warnings, "PRIVHEAD copy at sector 2081 damaged"), "%s", db->warnings);
        mb_ldm_db_free(db);
        /* MBR disk: sector 6 */
        path_of(p, sizeof(p), dir, imgs[0]);
        patch(p, 6 * 512, "PRIVHEAX", 8);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert(strstr(db->warnings, "PRIVHEAD copy at sector 6 damaged (bad magic)"), "%s", db->warnings);
        mb_ldm_db_free(db);
        rm_rf(dir);
        free(dir);
}

Test(ldm_corrupt, tocblock_bad_checksum)
{
        const char *imgs[] = { "ldm-2008r2-spanned-2.img", NULL };
        char *dir = extract(imgs), p[1200];
        mb_ldm_db *db;
        mb_error e;

        path_of(p, sizeof(p), dir, imgs[0]);
        patch_u8_xor(p, 36 * 512 + 0x3D, 0x01);  /* config region size byte */
        db = read_expect(dir, imgs, 0, &e);
        cr_assert(strstr(db->warnings, "TOCBLOCK at sector 36 damaged (bad checksum"), "%s", db->warnings);
        cr_assert(strstr(db->warnings, "used the copy at sector 2079"), "%s", db->warnings);
        cr_assert_eq(db->n_vols, 5);
        mb_ldm_db_free(db);
        patch_u8_xor(p, 2079 * 512 + 0x10, 0x01);
        db = read_expect(dir, imgs, MB_ECORRUPT, &e);
        cr_assert(strstr(e.msg, "no valid TOCBLOCK"), "%s", e.msg);
        rm_rf(dir);
        free(dir);
}

Test(ldm_corrupt, vblk_impossible_length)
{
        const char *imgs[] = { "ldm-2008r2-spanned-2.img", NULL };
        char *dir = extract(imgs), p[1200];
        uint8_t big[4] = { 0x00, 0x00, 0x7f, 0xff };
        mb_ldm_db *db;
        mb_error e;

        /* slot 4 (first VBLK after the VMDB) of the config at 34 + 17: its record length */
        path_of(p, sizeof(p), dir, imgs[0]);
        patch(p, (34 + 17) * 512 + 4 * 128 + 16 + 4, big, 4);
        db = read_expect(dir, imgs, MB_ECORRUPT, &e);
        cr_assert_null(db);
        cr_assert(strstr(e.msg, "slot 4") && strstr(e.msg, "claims 32767 bytes"), "%s", e.msg);
        rm_rf(dir);
        free(dir);
}

Test(ldm_corrupt, members_disagree)
{
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        char *dir = extract(imgs), p[1200];
        uint8_t seq[8] = { 0, 0, 0, 0, 0, 0, 0, 38 };
        mb_ldm_db *db;
        mb_error e;

        path_of(p, sizeof(p), dir, imgs[1]);
        patch(p, (34 + 17) * 512 + VMDB_COMMITTED, seq, 8);
        patch(p, (34 + 17) * 512 + VMDB_PENDING, seq, 8);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert(strstr(db->warnings, "ldm-2008r2-mirrored-2.img: database copy is at transaction 38"),
                  "%s", db->warnings);
        cr_assert(strstr(db->warnings, "ldm-2008r2-mirrored-1.img at 39; using the newer copy"), "%s",
                  db->warnings);
        cr_assert_eq(db->committed_seq, 39);
        cr_assert_eq(db->devs[1].cfg_current, 0);
        mb_ldm_db_free(db);
        rm_rf(dir);
        free(dir);
}

/* Members written by Windows hold byte-identical config regions at the same
 * sequence and intact copies: the reader finds no damage on any reference
 * set; then each damaged copy is found (kind, sector) and mb_ldm_repair
 * brings every byte back from the intact copy, writing nothing else. */
Test(ldm_corrupt, damaged_copies_found_and_repaired)
{
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        char *dir = extract(imgs), p0[1200], p1[1200];
        uint8_t *orig[2], *after;
        size_t len[2], l, fixed = 0;
        mb_blockdev *devs[2];
        mb_ldm_db *db;
        mb_error e;

        path_of(p0, sizeof(p0), dir, imgs[0]);
        path_of(p1, sizeof(p1), dir, imgs[1]);
        orig[0] = slurp(p0, &len[0]);
        orig[1] = slurp(p1, &len[1]);
        db = read_expect(dir, imgs, 0, &e);
        for (size_t i = 0; i < db->n_devs; i++)
                cr_assert_eq(db->devs[i].n_damage, 0, "device %zu: %s", i, db->devs[i].damage[0].why);
        mb_ldm_db_free(db);
        /* GPT member: its PRIVHEAD copy at 34 + 1856, its TOCBLOCK at 34 + 2045,
         * one byte of the last (unused) VBLK sector of its config region */
        patch_u8_xor(p1, 1890 * 512 + 0x40, 0x55);
        patch(p1, (34 + 2045) * 512, "TOCBLOCX", 8);
        patch_u8_xor(p1, (34 + 17 + 1480) * 512 + 300, 0x01);
        /* MBR member: the PRIVHEAD copy at sector 6 */
        patch(p0, 6 * 512, "PRIVHEAX", 8);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert_eq(db->devs[0].n_damage, 1);
        cr_assert_eq(db->devs[0].damage[0].kind, MB_LDM_DMG_PRIVHEAD);
        cr_assert_eq(db->devs[0].damage[0].lba, 6);
        cr_assert_eq(db->devs[1].n_damage, 3, "%s", db->warnings);
        cr_assert_eq(db->devs[1].damage[0].kind, MB_LDM_DMG_PRIVHEAD);
        cr_assert_eq(db->devs[1].damage[0].lba, 1890);
        cr_assert_eq(db->devs[1].damage[1].kind, MB_LDM_DMG_TOCBLOCK);
        cr_assert_eq(db->devs[1].damage[1].lba, 34 + 2045);
        cr_assert_eq(db->devs[1].damage[2].kind, MB_LDM_DMG_DATABASE);
        cr_assert_eq(db->devs[1].damage[2].lba, 34 + 17);
        cr_assert(strstr(db->devs[1].damage[2].why, "same sequence"), "%s", db->devs[1].damage[2].why);
        devs[0] = open_dev(p0, 1);
        devs[1] = open_dev(p1, 1);
        {
                int allowed[2] = { 0, 1 };

                /* only the allowed member is written */
                cr_assert_eq(mb_ldm_repair(db, devs, 2, allowed, &fixed, &e), 0, "%s", e.msg);
                cr_assert_eq(fixed, 3);
                cr_assert_eq(db->devs[0].n_damage, 1);
                cr_assert_eq(mb_ldm_repair(db, devs, 2, NULL, &fixed, &e), 0, "%s", e.msg);
                cr_assert_eq(fixed, 1);
        }
        close_all(devs, 2);
        mb_ldm_db_free(db);
        after = slurp(p0, &l);
        cr_assert(l == len[0] && memcmp(after, orig[0], l) == 0, "MBR member not restored byte for byte");
        free(after);
        after = slurp(p1, &l);
        cr_assert(l == len[1] && memcmp(after, orig[1], l) == 0, "GPT member not restored byte for byte");
        free(after);
        db = read_expect(dir, imgs, 0, &e);
        cr_assert_str_eq(db->warnings, "", "%s", db->warnings);
        mb_ldm_db_free(db);
        free(orig[0]);
        free(orig[1]);
        rm_rf(dir);
        free(dir);
}

Test(ldm_corrupt, random_damage_never_crashes)
{
        const char *imgs[] = { "ldm-2008r2-raid5-2.img", NULL };
        char *dir = extract(imgs), p[1200];
        size_t len;
        uint8_t *img, *orig;
        unsigned seed = 12345;

        path_of(p, sizeof(p), dir, imgs[0]);
        img = slurp(p, &len);
        orig = malloc(len);
        memcpy(orig, img, len);
        for (int it = 0; it < 400; it++) {
                mb_blockdev *d = NULL;
                mb_ldm_db *db = NULL;
                mb_error e;
                int flips = 1 + it % 8;

                for (int f = 0; f < flips; f++) {
                        seed = seed * 1103515245u + 12345u;
                        /* PRIVHEADs, TOCBLOCKs, VMDB and the first VBLK sectors */
                        size_t sect = (seed >> 8) % 4 == 0 ? 34 + 2 : (seed >> 8) % 4 == 1 ? 1890
                                      : 34 + 17 + (seed >> 12) % 12;
                        seed = seed * 1103515245u + 12345u;
                        img[sect * 512 + (seed >> 8) % 512] ^= (uint8_t)(1u << ((seed >> 20) % 8));
                }
                cr_assert_eq(mb_blockdev_open_memory(img, len, 0, &d, &e), 0);
                if (mb_ldm_read(&d, 1, &db, &e) == 0)
                        mb_ldm_db_free(db);
                mb_blockdev_close(d);
                memcpy(img, orig, len);
        }
        free(img);
        free(orig);
        rm_rf(dir);
        free(dir);
}

Test(ldm, probe_non_ldm)
{
        uint8_t *buf = calloc(1, 1 << 20);
        mb_blockdev *d = NULL;
        mb_ldm_db *db = NULL;
        mb_error e;
        int dyn = 7;

        cr_assert_eq(mb_blockdev_open_memory(buf, 1 << 20, 0, &d, &e), 0);
        cr_assert_eq(mb_ldm_probe(d, &dyn, &e), 0);
        cr_assert_eq(dyn, 0);
        cr_assert_eq(mb_ldm_read(&d, 1, &db, &e), MB_ENOENT);
        cr_assert_null(db);
        mb_ldm_db_free(NULL);
        mb_blockdev_close(d);
        free(buf);
}

/* ---------------------------------------------------------------- writer */

/* A GPT disk like Windows makes: LDM metadata 34-2081, MSR, LDM data to the end. */
static void make_gpt_image(const char *path, uint64_t sectors)
{
        char cmd[2048];
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, (off_t)(sectors * 512)), 0);
        close(fd);
        snprintf(cmd, sizeof(cmd),
                 "sgdisk -a 1 -n 1:34:2081 -t 1:5808C8AA-7E8F-42E0-85D2-E1E90434CFB3 "
                 "-n 2:2082:4129 -t 2:E3C9E316-0B5C-4DB8-817D-F92DF00215AE "
                 "-n 3:4130:%llu -t 3:AF9B60A0-1431-4F62-BC68-3311714A69AD '%s' >/dev/null 2>&1",
                 (unsigned long long)(sectors - 34), path);
        if (system("command -v sgdisk >/dev/null 2>&1") != 0)
                cr_skip_test("sgdisk not installed");
        cr_assert_eq(system(cmd), 0, "%s", cmd);
}

#define IMG_SECTORS 32768ull   /* 16 MiB; data partition 4130-32734 */
#define DATA_FIRST 4130ull
#define DATA_LAST (IMG_SECTORS - 35)

static mb_ldm_db *new_group_on(const char *dir, const char *const *imgs, size_t n, mb_blockdev **devs,
                               uint64_t *disk_ids)
{
        mb_ldm_db *db = NULL;
        mb_error e;
        char p[1200];

        mb_error_clear(&e);
        cr_assert_eq(mb_ldm_db_new("MBSTATE-Dg0", NULL, &db, &e), 0, "%s", e.msg);
        for (size_t i = 0; i < n; i++) {
                path_of(p, sizeof(p), dir, imgs[i]);
                make_gpt_image(p, IMG_SECTORS);
                devs[i] = open_dev(p, 1);
                cr_assert_eq(mb_ldm_init_gpt_disk(db, (int)i, 34, 2081, DATA_FIRST, DATA_LAST, NULL, NULL,
                                                  &disk_ids[i], &e), 0, "%s", e.msg);
        }
        return db;
}

Test(ldm_write, simple_volume_gpt)
{
        const char *imgs[] = { "w1.img", NULL };
        char *dir = make_tmpdir();
        mb_blockdev *devs[1];
        uint64_t disk_id, vol_id;
        mb_ldm_db *db = new_group_on(dir, imgs, 1, devs, &disk_id), *rd;
        mb_ldm_vol *v;
        mb_error e;
        size_t n;

        cr_assert_eq(mb_ldm_add_simple_volume(db, disk_id, 128, 20000, "Volume1", "C:", 0x07, NULL,
                                              &vol_id, &e), 0, "%s", e.msg);
        cr_assert_eq(mb_ldm_write(db, devs, 1, &e), 0, "%s", e.msg);
        cr_assert_gt(db->committed_seq, 0);
        close_all(devs, 1);

        rd = read_imgs(dir, imgs, devs, &n);
        cr_assert_str_eq(rd->warnings, "", "%s", rd->warnings);
        cr_assert_str_eq(rd->group_guid_str, db->group_guid_str);
        cr_assert_eq(rd->committed_seq, db->committed_seq);
        v = mb_ldm_find_vol(rd, "Volume1");
        cr_assert_not_null(v);
        cr_assert_eq(v->type, MB_LDM_VOL_SIMPLE);
        cr_assert_eq(v->size, 20000);
        cr_assert_str_eq(v->hint, "C:");
        cr_assert_eq(rd->n_parts, 1);
        cr_assert_eq(rd->parts[0].start, 128);
        cr_assert_str_eq(rd->parts[0].name, "Disk1-01");
        cr_assert_eq(rd->disks[0].dev_index, 0);
        check_serializers(rd);
        compare_with_ldmtool(rd, dir, imgs);
        if (have_ldmtool()) {
                char cmd[256], *js, buf[64];

                snprintf(cmd, sizeof(cmd), "show volume %s Volume1", rd->group_guid_str);
                js = ldmtool(dir, imgs, cmd);
                cr_assert_eq(json_get(js, "type", buf, sizeof(buf)), 0, "%s", js);
                cr_assert_str_eq(buf, "simple");
                free(js);
        }
        mb_ldm_db_free(rd);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

/* Our GPT layout against the 2008 R2 GPT member (mirrored-2). */
Test(ldm_write, layout_matches_windows_2008r2)
{
        const char *ref[] = { "ldm-2008r2-mirrored-2.img", NULL };
        const char *imgs[] = { "w1.img", NULL };
        char *rdir = extract(ref), *dir = make_tmpdir();
        mb_blockdev *devs[1], *rdevs[1];
        uint64_t disk_id;
        mb_ldm_db *db = new_group_on(dir, imgs, 1, devs, &disk_id), *mine, *win;
        const mb_ldm_dev *a, *b;
        mb_error e;
        size_t n, rn;

        cr_assert_eq(mb_ldm_add_simple_volume(db, disk_id, 0, 1000, NULL, NULL, 7, NULL, NULL, &e), 0);
        cr_assert_eq(mb_ldm_write(db, devs, 1, &e), 0, "%s", e.msg);
        close_all(devs, 1);
        mine = read_imgs(dir, imgs, devs, &n);
        win = read_imgs(rdir, ref, rdevs, &rn);
        a = &mine->devs[0];
        b = &win->devs[0];
        cr_assert_eq(a->is_gpt, b->is_gpt);
        cr_assert_eq(a->version_major, b->version_major);
        cr_assert_eq(a->version_minor, b->version_minor);
        cr_assert_eq(a->config_start, b->config_start);
        cr_assert_eq(a->config_size, b->config_size);
        cr_assert_eq(a->ph_primary, b->ph_primary);
        cr_assert_eq(a->ph_secondary, b->ph_secondary);
        cr_assert_eq(a->toc_primary, b->toc_primary);
        cr_assert_eq(a->toc_secondary, b->toc_secondary);
        cr_assert_eq(a->update_seq, b->update_seq);
        cr_assert_eq(a->toc_seq, b->toc_seq);
        cr_assert_eq(a->n_configs, b->n_configs);
        cr_assert_eq(a->n_logs, b->n_logs);
        cr_assert_eq(a->config_sectors, b->config_sectors);
        cr_assert_eq(a->log_sectors, b->log_sectors);
        cr_assert_eq(a->bytes_per_sector, b->bytes_per_sector);
        cr_assert_eq(a->flags, b->flags);
        cr_assert_str_eq(a->host_guid, b->host_guid);
        for (int i = 0; i < 2; i++) {
                cr_assert_str_eq(a->regions[i].name, b->regions[i].name);
                cr_assert_eq(a->regions[i].start, b->regions[i].start);
                cr_assert_eq(a->regions[i].size, b->regions[i].size);
                cr_assert_eq(a->regions[i].flags, b->regions[i].flags);
                cr_assert_eq(a->regions[i].unknown, b->regions[i].unknown);
                cr_assert_eq(a->regions[i].copy, b->regions[i].copy);
        }
        cr_assert_eq(mine->n_vblks, win->n_vblks);
        cr_assert_eq(mine->vblk_size, win->vblk_size);
        cr_assert_eq(mine->vmdb_header_size, win->vmdb_header_size);
        cr_assert_eq(mine->vmdb_major, win->vmdb_major);
        cr_assert_eq(mine->vmdb_minor, win->vmdb_minor);
        cr_assert_eq(mine->dg_rev, win->dg_rev);
        cr_assert_eq(mine->disks[0].rev, win->disks[0].rev);
        cr_assert_eq(mine->parts[0].rec_flags, win->parts[0].rec_flags);
        /* data area is the LDM data partition */
        cr_assert_eq(a->logical_disk_start, DATA_FIRST);
        cr_assert_eq(a->logical_disk_size, DATA_LAST - DATA_FIRST + 1);
        mb_ldm_db_free(mine);
        mb_ldm_db_free(win);
        mb_ldm_db_free(db);
        close_all(devs, n);
        close_all(rdevs, rn);
        rm_rf(dir);
        rm_rf(rdir);
        free(dir);
        free(rdir);
}

Test(ldm_write, mirror_then_remove_missing)
{
        const char *imgs[] = { "a.img", "b.img", NULL };
        const char *only_a[] = { "a.img", NULL };
        char *dir = make_tmpdir();
        mb_blockdev *devs[2];
        uint64_t ids[2], vol_id, part_id;
        mb_ldm_db *db = new_group_on(dir, imgs, 2, devs, ids), *rd;
        mb_ldm_vol *v;
        mb_ldm_disk *kb;
        mb_error e;
        size_t n;
        uint64_t seq1;

        cr_assert_eq(mb_ldm_add_simple_volume(db, ids[0], 2048, 16384, NULL, "G:", 7, NULL, &vol_id, &e), 0);
        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), 0, "%s", e.msg);
        seq1 = db->committed_seq;
        /* second step: a plex on the other disk (a transaction over an existing database) */
        cr_assert_eq(mb_ldm_add_mirror_plex(db, vol_id, ids[0], 30000, NULL, &e), MB_EINVAL);
        cr_assert_eq(mb_ldm_add_mirror_plex(db, vol_id, ids[1], 4096, &part_id, &e), 0, "%s", e.msg);
        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), 0, "%s", e.msg);
        cr_assert_gt(db->committed_seq, seq1);
        close_all(devs, 2);

        rd = read_imgs(dir, imgs, devs, &n);
        cr_assert_str_eq(rd->warnings, "", "%s", rd->warnings);
        v = mb_ldm_find_vol(rd, "Volume1");
        cr_assert_not_null(v);
        cr_assert_eq(v->type, MB_LDM_VOL_MIRRORED);
        cr_assert_eq(rd->n_comps, 2);
        cr_assert_not_null(mb_ldm_find_part(rd, "Disk1-01"));
        cr_assert_not_null(mb_ldm_find_part(rd, "Disk2-01"));
        cr_assert_eq(rd->committed_seq, db->committed_seq);
        check_serializers(rd);
        compare_with_ldmtool(rd, dir, imgs);
        if (have_ldmtool()) {
                char cmd[256], *js, buf[64], list[4][MB_LDM_STR_MAX];

                snprintf(cmd, sizeof(cmd), "show volume %s Volume1", rd->group_guid_str);
                js = ldmtool(dir, imgs, cmd);
                cr_assert_eq(json_get(js, "type", buf, sizeof(buf)), 0, "%s", js);
                cr_assert_str_eq(buf, "mirrored");
                cr_assert_eq(json_list(js, "partitions", list, 4), 2);
                cr_assert(in_list(list, 2, "Disk1-01") && in_list(list, 2, "Disk2-01"));
                free(js);
        }
        mb_ldm_db_free(rd);
        mb_ldm_db_free(db);
        close_all(devs, n);

        /* b.img is gone: drop it from the group through a.img alone */
        {
                char p[1200];

                path_of(p, sizeof(p), dir, "a.img");
                devs[0] = open_dev(p, 1);
                cr_assert_eq(mb_ldm_read(devs, 1, &rd, &e), 0, "%s", e.msg);
                kb = mb_ldm_find_disk(rd, "Disk2");
                cr_assert_not_null(kb);
                cr_assert_eq(kb->dev_index, -1);
                cr_assert_eq(mb_ldm_remove_disk(rd, rd->disks[0].id == kb->id ? rd->disks[1].id : rd->disks[0].id, &e),
                             MB_EUNSAFE);
                cr_assert_eq(mb_ldm_remove_disk(rd, kb->id, &e), 0, "%s", e.msg);
                cr_assert_eq(mb_ldm_write(rd, devs, 1, &e), 0, "%s", e.msg);
                mb_ldm_db_free(rd);
                mb_blockdev_close(devs[0]);
        }
        rd = read_imgs(dir, only_a, devs, &n);
        cr_assert_str_eq(rd->warnings, "", "%s", rd->warnings);
        cr_assert_eq(rd->n_disks, 1);
        v = mb_ldm_find_vol(rd, "Volume1");
        cr_assert_eq(v->type, MB_LDM_VOL_SIMPLE);
        cr_assert_eq(v->n_comps, 1);
        compare_with_ldmtool(rd, dir, only_a);
        mb_ldm_db_free(rd);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

Test(ldm_write, record_split_over_vblks)
{
        const char *imgs[] = { "w1.img", NULL };
        char *dir = make_tmpdir();
        mb_blockdev *devs[1];
        uint64_t disk_id;
        mb_ldm_db *db = new_group_on(dir, imgs, 1, devs, &disk_id), *rd;
        char name[200];
        mb_ldm_vol *v;
        ldm_rec *recs = NULL;
        size_t n, n_recs = 0, split = 0;
        mb_error e;

        memset(name, 'V', 150);
        name[150] = '\0';
        cr_assert_eq(mb_ldm_add_simple_volume(db, disk_id, 0, 5000, name, "D:", 7, NULL, NULL, &e), 0);
        cr_assert_eq(mb_ldm_write(db, devs, 1, &e), 0, "%s", e.msg);
        close_all(devs, 1);
        rd = read_imgs(dir, imgs, devs, &n);
        v = mb_ldm_find_vol(rd, name);
        cr_assert_not_null(v);
        cr_assert_str_eq(v->hint, "D:");
        cr_assert_eq(ldm_scan_records(rd->cfg, rd->n_vblks, rd->vblk_size, 4, "t", &recs, &n_recs, &e), 0);
        for (size_t i = 0; i < n_recs; i++)
                split += recs[i].n_slots > 1;
        cr_assert_geq(split, 2);        /* the volume and its component */
        ldm_recs_free(recs, n_recs);
        compare_with_ldmtool(rd, dir, imgs);
        mb_ldm_db_free(rd);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

Test(ldm_write, refuses_wrong_device)
{
        const char *imgs[] = { "a.img", "b.img", NULL };
        char *dir = make_tmpdir();
        mb_blockdev *devs[2], *swapped[2];
        uint64_t ids[2];
        mb_ldm_db *db = new_group_on(dir, imgs, 2, devs, ids), *other = NULL;
        mb_error e;

        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), 0, "%s", e.msg);
        swapped[0] = devs[1];
        swapped[1] = devs[0];
        cr_assert_eq(mb_ldm_write(db, swapped, 2, &e), MB_EUNSAFE);   /* checked even when nothing changed */
        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), 0, "%s", e.msg);  /* nothing changed: no write at all */
        cr_assert_eq(mb_ldm_add_simple_volume(db, ids[0], 0, 100, NULL, NULL, 7, NULL, NULL, &e), 0);
        cr_assert_eq(mb_ldm_write(db, swapped, 2, &e), MB_EUNSAFE);
        cr_assert(strstr(e.msg, "refusing"), "%s", e.msg);
        /* a new group may not take over a member of this one */
        cr_assert_eq(mb_ldm_db_new("OTHER-Dg0", NULL, &other, &e), 0);
        cr_assert_eq(mb_ldm_init_gpt_disk(other, 0, 34, 2081, DATA_FIRST, DATA_LAST, NULL, NULL, NULL, &e), 0);
        cr_assert_eq(mb_ldm_write(other, devs, 1, &e), MB_EUNSAFE);
        mb_ldm_db_free(other);
        mb_ldm_db_free(db);
        close_all(devs, 2);
        rm_rf(dir);
        free(dir);
}

/* A new member is staged: its private region is written before its disk has
 * an LDM metadata partition (only when asked), it is found again by
 * mb_ldm_staged_disk, and a group that already names it (missing) takes it
 * back as that disk rather than as a second one. */
Test(ldm_write, staged_member_rejoins)
{
        const char *imgs[] = { "a.img", "b.img", NULL };
        char *dir = make_tmpdir(), p[1200], cmd[1400], grp[65];
        mb_blockdev *devs[2], *one[1];
        uint64_t ids[2], id_again = 0;
        mb_ldm_db *db = new_group_on(dir, imgs, 1, devs, ids), *rd = NULL;
        mb_guid g;
        mb_error e;
        size_t n;
        int found = 0;

        cr_assert_eq(mb_ldm_write(db, devs, 1, &e), 0, "%s", e.msg);
        /* b: a basic GPT disk, its MSR where the metadata partition will be */
        path_of(p, sizeof(p), dir, imgs[1]);
        make_gpt_image(p, IMG_SECTORS);
        snprintf(cmd, sizeof(cmd),
                 "sgdisk -Z '%s' >/dev/null 2>&1 && sgdisk -a 1 -n 1:34:4129 -t 1:E3C9E316-0B5C-4DB8-817D-F92DF00215AE '%s' >/dev/null 2>&1",
                 p, p);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        devs[1] = open_dev(p, 1);
        cr_assert_eq(mb_ldm_init_gpt_disk(db, 1, 34, 2081, DATA_FIRST, DATA_LAST, NULL, NULL, &ids[1], &e),
                     0, "%s", e.msg);
        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), MB_EUNSAFE, "a disk without an LDM partition");
        cr_assert(strstr(e.msg, "has no LDM partition"), "%s", e.msg);
        cr_assert_eq(mb_ldm_stage_dev(db, 0, &e), MB_EINVAL, "a member already written is not new");
        cr_assert_eq(mb_ldm_stage_dev(db, 1, &e), 0, "%s", e.msg);
        cr_assert_eq(mb_ldm_write(db, devs, 2, &e), 0, "%s", e.msg);
        cr_assert_eq(mb_ldm_staged_disk(devs[1], 34, &g, grp, &found, &e), 0, "%s", e.msg);
        cr_assert_eq(found, 1);
        cr_assert(mb_guid_equal(&g, &db->devs[1].disk_guid));
        cr_assert_str_eq(grp, db->group_guid_str);
        cr_assert_eq(mb_ldm_staged_disk(devs[0], 4000, &g, grp, &found, &e), 0, "%s", e.msg);
        cr_assert_eq(found, 0, "no PRIVHEAD there");

        /* a's copy names b, which no reader finds yet: missing */
        one[0] = devs[0];
        cr_assert_eq(mb_ldm_read(one, 1, &rd, &e), 0, "%s", e.msg);
        cr_assert_eq(rd->n_disks, 2);
        cr_assert_eq(mb_ldm_init_gpt_disk(rd, 1, 34, 2081, DATA_FIRST, DATA_LAST, NULL, &db->devs[1].disk_guid,
                                          &id_again, &e), 0, "%s", e.msg);
        cr_assert_eq(rd->n_disks, 2, "rejoined, not added");
        cr_assert_eq(id_again, ids[1]);
        mb_ldm_db_free(rd);
        mb_ldm_db_free(db);
        close_all(devs, 2);

        /* the metadata partition made after the write: both members read, in step */
        snprintf(cmd, sizeof(cmd),
                 "sgdisk -a 1 -d 1 -n 1:34:2081 -t 1:5808C8AA-7E8F-42E0-85D2-E1E90434CFB3 "
                 "-n 2:2082:4129 -t 2:E3C9E316-0B5C-4DB8-817D-F92DF00215AE "
                 "-n 3:4130:%llu -t 3:AF9B60A0-1431-4F62-BC68-3311714A69AD '%s' >/dev/null 2>&1",
                 (unsigned long long)DATA_LAST, p);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        rd = read_imgs(dir, imgs, devs, &n);
        cr_assert_eq(n, 2);
        cr_assert_str_eq(rd->warnings, "", "%s", rd->warnings);
        cr_assert_eq(rd->n_devs, 2);
        compare_with_ldmtool(rd, dir, imgs);
        mb_ldm_db_free(rd);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

/* A memory device that fails every write after the first 'budget'. */
struct flaky {
        mb_blockdev dev;
        mb_blockdev *inner;
        int budget;
};

static int flaky_read(mb_blockdev *d, uint64_t off, void *buf, size_t len, mb_error *err)
{
        struct flaky *f = d->ctx;

        return f->inner->read(f->inner, off, buf, len, err);
}

static int flaky_write(mb_blockdev *d, uint64_t off, const void *buf, size_t len, mb_error *err)
{
        struct flaky *f = d->ctx;

        if (f->budget <= 0)
                return mb_error_set(err, MB_EIO, "%s: simulated power loss", d->name);
        f->budget--;
        return f->inner->write(f->inner, off, buf, len, err);
}

Test(ldm_write, interrupted_write_keeps_a_committed_state)
{
        const char *imgs[] = { "w1.img", NULL };
        char *dir = make_tmpdir(), p[1200];
        mb_blockdev *devs[1];
        uint64_t disk_id;
        mb_ldm_db *db = new_group_on(dir, imgs, 1, devs, &disk_id);
        uint8_t *base, *work;
        size_t len;
        uint64_t seq_old = 0;
        int saw_old = 0, saw_new = 0, done = 0;
        mb_error e;

        cr_assert_eq(mb_ldm_add_simple_volume(db, disk_id, 0, 4000, "Old", NULL, 7, NULL, NULL, &e), 0);
        cr_assert_eq(mb_ldm_write(db, devs, 1, &e), 0, "%s", e.msg);
        seq_old = db->committed_seq;
        mb_ldm_db_free(db);
        close_all(devs, 1);
        path_of(p, sizeof(p), dir, imgs[0]);
        base = slurp(p, &len);
        work = malloc(len);
        for (int budget = 0; budget < 200 && !done; budget++) {
                mb_blockdev *mem = NULL, *fd;
                struct flaky f;
                mb_ldm_db *w = NULL, *r = NULL;
                int rc;

                memcpy(work, base, len);
                cr_assert_eq(mb_blockdev_open_memory(work, len, 1, &mem, &e), 0);
                f.inner = mem;
                f.budget = budget;
                f.dev = *mem;
                f.dev.ctx = &f;
                f.dev.read = flaky_read;
                f.dev.write = flaky_write;
                fd = &f.dev;
                cr_assert_eq(mb_ldm_read(&fd, 1, &w, &e), 0, "%s", e.msg);
                cr_assert_eq(mb_ldm_add_simple_volume(w, w->disks[0].id, 5000, 3000, "New", NULL, 7,
                                                      NULL, NULL, &e), 0);
                /* and change an existing record too */
                snprintf(mb_ldm_find_vol(w, "Old")->hint, MB_LDM_STR_MAX, "E:");
                mb_ldm_find_vol(w, "Old")->rec_flags |= 0x02;
                rc = mb_ldm_write(w, &fd, 1, &e);
                done = rc == 0;
                cr_assert(rc == 0 || rc == MB_EIO, "%d %s", rc, e.msg);
                mb_ldm_db_free(w);
                /* whatever happened, the disk reads as the old or the new committed state */
                cr_assert_eq(mb_ldm_read(&mem, 1, &r, &e), 0, "budget %d: %s", budget, e.msg);
                if (r->committed_seq == seq_old) {
                        cr_assert_null(mb_ldm_find_vol(r, "New"), "budget %d", budget);
                        cr_assert_str_eq(mb_ldm_find_vol(r, "Old")->hint, "");
                        saw_old = 1;
                        cr_assert_eq(saw_new, 0, "budget %d: went back to the old state", budget);
                } else {
                        cr_assert_gt(r->committed_seq, seq_old);
                        cr_assert_not_null(mb_ldm_find_vol(r, "New"), "budget %d", budget);
                        cr_assert_str_eq(mb_ldm_find_vol(r, "Old")->hint, "E:");
                        saw_new = 1;
                }
                cr_assert_eq(r->n_vols, r->committed_seq == seq_old ? 1 : 2);
                mb_ldm_db_free(r);
                mb_blockdev_close(mem);
        }
        cr_assert(done && saw_old && saw_new);
        free(base);
        free(work);
        rm_rf(dir);
        free(dir);
}

/* ------------------------------------------ the LDM -> facts translation */

#include "facts.h"

/* The GPT entries of image dev (none for an MBR disk), as facts with the
 * roles their types give (what a target reads before the translation). */
static void gpt_facts(mb_blockdev *dev, mb_disk_fact *d)
{
        uint8_t hdr[512], *ents;
        mb_error e;
        uint32_t n, sz;

        mb_error_clear(&e);
        cr_assert_eq(dev->read(dev, 512, hdr, 512, &e), 0, "%s", e.msg);
        if (memcmp(hdr, "EFI PART", 8) != 0)
                return;
        d->style = MB_STYLE_GPT;
        n = mb_le32(hdr + 0x50), sz = mb_le32(hdr + 0x54);
        ents = malloc((size_t)n * sz);
        cr_assert_not_null(ents);
        cr_assert_eq(dev->read(dev, mb_le64(hdr + 0x48) * 512, ents, (size_t)n * sz, &e), 0, "%s", e.msg);
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *x = ents + (size_t)i * sz;
                char buf[MB_GUID_STR_LEN];
                mb_guid g;
                mb_part_fact *p;

                memcpy(g.b, x, 16);
                if (mb_guid_is_null(&g))
                        continue;
                p = mb_disk_add_part(d);
                cr_assert_not_null(p);
                p->number = i + 1;
                p->type_guid = mb_strdup(mb_guid_format(&g, buf));
                p->role = mb_role_from_type_guid(p->type_guid);
                p->first_lba = mb_le64(x + 32);
                p->last_lba = mb_le64(x + 40);
        }
        mb_disk_sort_parts(d);
        free(ents);
}

/* Facts of the reference images imgs as disks numbered numbers[] (the
 * translation must map devices to disk numbers), translated with boot. */
static mb_facts *set_facts(const char *dir, const char *const *imgs, const uint32_t *numbers,
                           const mb_ldm_boot *boot, void (*edit)(mb_facts *), mb_ldm_db **ret_db,
                           mb_blockdev **devs, size_t *n)
{
        mb_facts *f = calloc(1, sizeof(*f));
        mb_error e;

        cr_assert_not_null(f);
        *ret_db = read_imgs(dir, imgs, devs, n);
        f->disks = calloc(*n, sizeof(*f->disks));
        cr_assert_not_null(f->disks);
        for (size_t i = 0; i < *n; i++) {
                f->disks[i].number = numbers[i];
                f->n_disks++;
                gpt_facts(devs[i], &f->disks[i]);
        }
        if (edit)
                edit(f);
        mb_error_clear(&e);
        cr_assert_eq(mb_ldm_facts(*ret_db, numbers, boot, f, &e), 0, "%s", e.msg);
        return f;
}

static const mb_volume_fact *volume_named(const mb_facts *f, const char *name)
{
        for (uint32_t i = 0; i < f->n_volumes; i++)
                if (strcmp(f->volumes[i].name, name) == 0)
                        return &f->volumes[i];
        cr_assert_fail("no volume %s in facts", name);
        return NULL;
}

/* Windows 2008 R2's mirrored Volume3: disks, names, one plex per extent at
 * the places ldmtool reports (Disk5-01 at data-start 63 + 65 on the MBR
 * disk, Disk6-01 at data-start 65570 + 94 on the GPT disk). The GPT disk's
 * one LDM data entry spans the whole data area, not the extent: no os role. */
Test(ldm_facts, w2008_mirrored_plexes_and_roles)
{
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        const uint32_t numbers[] = { 4, 9 };
        char *dir = extract(imgs);
        mb_blockdev *devs[2];
        mb_ldm_db *db;
        size_t n;
        mb_facts *f = set_facts(dir, imgs, numbers, NULL, NULL, &db, devs, &n);
        const mb_volume_fact *v = volume_named(f, "Volume3");
        mb_disk_fact *gpt = mb_facts_disk(f, 9);

        cr_assert(mb_facts_disk(f, 4)->dynamic && gpt->dynamic);
        cr_assert_str_eq(mb_facts_disk(f, 4)->dynamic_name, "Disk5");
        cr_assert_str_eq(gpt->dynamic_name, "Disk6");
        cr_assert_str_eq(gpt->dynamic_group, G2008);
        cr_assert_str_eq(v->kind, "mirror");
        cr_assert_eq(v->size, 32768 * 512);
        cr_assert_eq(v->n_plexes, 2);
        for (uint32_t i = 0; i < 2; i++) {
                const mb_plex_fact *x = &v->plexes[i];
                bool on5 = strcmp(x->ldm_disk, "Disk5") == 0;

                cr_assert_eq(x->disk, on5 ? 4 : 9);
                cr_assert_eq(x->offset, (on5 ? 63 + 65 : 65570 + 94) * 512ULL);
                cr_assert_eq(x->length, 32768 * 512);
                cr_assert_eq(x->state, MB_PLEX_HEALTHY);
        }
        /* the group's only mirror is the os volume without a hint ... */
        cr_assert_eq(mb_ldm_os_volume(db, numbers, NULL), mb_ldm_find_vol(db, "Volume3"));
        /* ... but no entry is exactly its extent: the roles stay the types' */
        cr_assert_null(mb_disk_part_by_role(gpt, MB_ROLE_OS));
        cr_assert_eq(mb_disk_part_by_number(gpt, 1)->role, MB_ROLE_LDM_METADATA);
        cr_assert_eq(mb_disk_part_by_number(gpt, 2)->role, MB_ROLE_MSR);
        cr_assert_eq(mb_disk_part_by_number(gpt, 3)->role, MB_ROLE_LDM_DATA);
        cr_assert_eq(mb_disk_part_by_number(gpt, 3)->first_lba, 65570);
        mb_facts_free(f);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

/* The same disks as a converted boot disk lays its entries out (diskpart on
 * a real GPT boot mirror: the volume's extent is a "Dynamic Data" entry of
 * its own, the rest of the data area another): the entry that is exactly
 * Volume3's extent is the os partition, whatever its type; a basic data
 * entry that is no extent of the os volume is not. */
/* Entry 3 of the GPT disk (65570-102366) split as a converted disk has it:
 * LDM data 65664-98431 (Volume3's extent), basic data after it. */
static void split_as_converted(mb_facts *f)
{
        mb_disk_fact *d = mb_facts_disk(f, 1);
        mb_part_fact *p = mb_disk_part_by_number(d, 3);

        p->last_lba = 65663;
        p = mb_disk_add_part(d);
        p->number = 4, p->first_lba = 65664, p->last_lba = 65664 + 32768 - 1;
        p->type_guid = mb_strdup("af9b60a0-1431-4f62-bc68-3311714a69ad");
        p->role = MB_ROLE_LDM_DATA;
        p = mb_disk_add_part(d);
        p->number = 5, p->first_lba = 98432, p->last_lba = 102366;
        p->type_guid = mb_strdup("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
        p->role = MB_ROLE_OS;   /* basic data: the role its type gives */
        mb_disk_sort_parts(d);
}

Test(ldm_facts, os_role_from_the_database_not_the_type)
{
        const char *imgs[] = { "ldm-2008r2-mirrored-1.img", "ldm-2008r2-mirrored-2.img", NULL };
        const uint32_t numbers[] = { 0, 1 };
        char *dir = extract(imgs);
        mb_blockdev *devs[2];
        mb_ldm_db *db;
        size_t n;
        mb_facts *f = set_facts(dir, imgs, numbers, NULL, split_as_converted, &db, devs, &n);
        mb_disk_fact *d = mb_facts_disk(f, 1);
        mb_part_fact *p = mb_disk_part_by_role(d, MB_ROLE_OS);

        cr_assert_not_null(p);
        cr_assert_eq(p->number, 4);
        cr_assert_str_eq(p->type_guid, "af9b60a0-1431-4f62-bc68-3311714a69ad");
        cr_assert_eq(mb_disk_part_by_number(d, 5)->role, MB_ROLE_NONE);
        cr_assert_eq(mb_disk_part_by_number(d, 3)->role, MB_ROLE_LDM_DATA);
        mb_facts_free(f);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}

/* Windows 2008 R2's spanned set holds four volumes of the group: Volume1
 * spanned over both present disks (one plex fact per extent), Volume3's
 * mirror on two missing disks. The boot hint picks the os volume before the
 * "only mirror" rule; without one, the only mirror. */
Test(ldm_facts, w2008_spanned_extents_missing_disks_and_the_boot_hint)
{
        const char *imgs[] = { "ldm-2008r2-spanned-1.img", "ldm-2008r2-spanned-2.img", NULL };
        const uint32_t numbers[] = { 0, 1 };
        const mb_ldm_boot at_disk2 = { 1, 65570 + 94 }, nowhere = { 1, 12345 };
        char *dir = extract(imgs);
        mb_blockdev *devs[2];
        mb_ldm_db *db;
        size_t n;
        mb_facts *f = set_facts(dir, imgs, numbers, &at_disk2, NULL, &db, devs, &n);
        const mb_volume_fact *v = volume_named(f, "Volume1"), *m = volume_named(f, "Volume3");

        cr_assert_str_eq(v->kind, "spanned");
        cr_assert_eq(v->size, 129024 * 512);
        cr_assert_eq(v->n_plexes, 2);
        for (uint32_t i = 0; i < 2; i++) {
                bool on1 = strcmp(v->plexes[i].ldm_disk, "Disk1") == 0;

                cr_assert_eq(v->plexes[i].disk, on1 ? 0 : 1);
                cr_assert_eq(v->plexes[i].offset, (on1 ? 63 + 65 : 65570 + 94) * 512ULL);
                cr_assert_eq(v->plexes[i].length, (on1 ? 96256 : 32768) * 512ULL);
        }
        cr_assert_str_eq(m->kind, "mirror");
        cr_assert_eq(m->n_plexes, 2);
        for (uint32_t i = 0; i < 2; i++) {
                cr_assert_eq(m->plexes[i].disk, -1);
                cr_assert_eq(m->plexes[i].state, MB_PLEX_MISSING);
        }
        cr_assert_eq(mb_ldm_os_volume(db, numbers, &at_disk2), mb_ldm_find_vol(db, "Volume1"));
        cr_assert_eq(mb_ldm_os_volume(db, numbers, &nowhere), mb_ldm_find_vol(db, "Volume3"));
        cr_assert_eq(mb_ldm_os_volume(db, numbers, NULL), mb_ldm_find_vol(db, "Volume3"));
        mb_facts_free(f);
        mb_ldm_db_free(db);
        close_all(devs, n);
        rm_rf(dir);
        free(dir);
}
