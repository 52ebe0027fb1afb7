/* SPDX-License-Identifier: MIT */
/*
 * The facts model (facts.h): role and type-GUID tables, lookups and
 * builders of disks, partitions, volumes, plexes and BCD objects, their
 * release, and loading, printing and saving a facts document (YAML or JSON).
 */
#include "facts.h"

#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static const struct {
        const char *name;
        const char *type_guid;
        uint64_t attributes;
        mb_fs fs;
        const char *gpt_name;
} roles[MB_ROLE__COUNT] = {
        [MB_ROLE_NONE] = { "none", NULL, 0, MB_FS_NONE, "" },
        [MB_ROLE_EFI] = { "efi", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", 0,
                          MB_FS_FAT32, "EFI system partition" },
        [MB_ROLE_MSR] = { "msr", "e3c9e316-0b5c-4db8-817d-f92df00215ae", 0,
                          MB_FS_NONE, "Microsoft reserved partition" },
        [MB_ROLE_OS] = { "os", "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", 0,
                         MB_FS_NTFS, "Basic data partition" },
        [MB_ROLE_RECOVERY] = { "recovery", "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
                               0x8000000000000001ULL, MB_FS_NTFS, "" },
        [MB_ROLE_LDM_METADATA] = { "ldm-metadata", "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", 0,
                                   MB_FS_NONE, "LDM metadata partition" },
        [MB_ROLE_LDM_DATA] = { "ldm-data", "af9b60a0-1431-4f62-bc68-3311714a69ad", 0,
                               MB_FS_NONE, "LDM data partition" },
};

const char *mb_role_to_string(mb_role r)
{
        return (unsigned)r < MB_ROLE__COUNT ? roles[r].name : "none";
}

int mb_role_from_string(const char *s, mb_role *ret)
{
        for (int r = 0; r < MB_ROLE__COUNT; r++)
                if (strcmp(s, roles[r].name) == 0) {
                        *ret = (mb_role)r;
                        return 0;
                }
        return -1;
}

const char *mb_role_type_guid(mb_role r)
{
        return (unsigned)r < MB_ROLE__COUNT ? roles[r].type_guid : NULL;
}

mb_role mb_role_from_type_guid(const char *type_guid)
{
        if (!type_guid)
                return MB_ROLE_NONE;
        for (int r = 1; r < MB_ROLE__COUNT; r++)
                if (strcasecmp(type_guid, roles[r].type_guid) == 0)
                        return (mb_role)r;
        return MB_ROLE_NONE;
}

uint64_t mb_role_default_attributes(mb_role r)
{
        return (unsigned)r < MB_ROLE__COUNT ? roles[r].attributes : 0;
}

mb_fs mb_role_default_fs(mb_role r)
{
        return (unsigned)r < MB_ROLE__COUNT ? roles[r].fs : MB_FS_NONE;
}

const char *mb_role_default_name(mb_role r)
{
        return (unsigned)r < MB_ROLE__COUNT ? roles[r].gpt_name : "";
}

const char *mb_fs_to_string(mb_fs fs)
{
        static const char *const n[] = { "none", "fat32", "ntfs", "other" };

        return (unsigned)fs < 4 ? n[fs] : "other";
}

const char *mb_style_to_string(mb_style s)
{
        static const char *const n[] = { "raw", "mbr", "gpt" };

        return (unsigned)s < 3 ? n[s] : "raw";
}

const char *mb_plex_state_to_string(mb_plex_state s)
{
        static const char *const n[] = { "healthy", "resyncing", "failed", "missing" };

        return (unsigned)s < 4 ? n[s] : "failed";
}

char *mb_strdup(const char *s)
{
        return s ? strdup(s) : NULL;
}

void *mb_reallocarray(void *p, size_t n, size_t size)
{
        if (size && n > SIZE_MAX / size)
                return NULL;
        return realloc(p, n * size > 0 ? n * size : 1);
}

mb_disk_fact *mb_facts_disk(const mb_facts *f, uint32_t number)
{
        for (uint32_t i = 0; f && i < f->n_disks; i++)
                if (f->disks[i].number == number)
                        return &f->disks[i];
        return NULL;
}

mb_part_fact *mb_disk_part_by_role(const mb_disk_fact *d, mb_role r)
{
        for (uint32_t i = 0; d && i < d->n_partitions; i++)
                if (d->partitions[i].role == r)
                        return &d->partitions[i];
        return NULL;
}

mb_part_fact *mb_disk_part_by_number(const mb_disk_fact *d, uint32_t number)
{
        for (uint32_t i = 0; d && i < d->n_partitions; i++)
                if (d->partitions[i].number == number)
                        return &d->partitions[i];
        return NULL;
}

mb_part_fact *mb_facts_part_by_guid(const mb_facts *f, const char *unique_guid,
                                    mb_disk_fact **ret_disk)
{
        if (!unique_guid)
                return NULL;
        for (uint32_t i = 0; i < f->n_disks; i++)
                for (uint32_t j = 0; j < f->disks[i].n_partitions; j++) {
                        mb_part_fact *p = &f->disks[i].partitions[j];

                        if (p->unique_guid && strcasecmp(p->unique_guid, unique_guid) == 0) {
                                if (ret_disk)
                                        *ret_disk = &f->disks[i];
                                return p;
                        }
                }
        return NULL;
}

bool mb_disk_role_span(const mb_disk_fact *d, mb_role r, uint64_t *ret_first, uint64_t *ret_last)
{
        mb_part_fact *p = mb_disk_part_by_role(d, r), *meta;
        uint64_t first;

        if (!p)
                return false;
        first = p->first_lba;
        if (r == MB_ROLE_MSR && (meta = mb_disk_part_by_role(d, MB_ROLE_LDM_METADATA)) &&
            meta->last_lba + 1 == p->first_lba)
                first = meta->first_lba;
        *ret_first = first;
        *ret_last = p->last_lba;
        return true;
}

mb_bcd_object_fact *mb_bcd_store_object(const mb_bcd_fact *b, const char *id)
{
        for (uint32_t i = 0; b && id && i < b->n_objects; i++)
                if (strcasecmp(b->objects[i].id, id) == 0)
                        return &b->objects[i];
        return NULL;
}

mb_bcd_object_fact *mb_facts_bcd_object(const mb_facts *f, const char *id)
{
        return mb_bcd_store_object(f->bcd, id);
}

const char *mb_bcd_default_id(const mb_bcd_object_fact *bm)
{
        return !bm ? NULL : bm->default_id ? bm->default_id : bm->n_displayorder ? bm->displayorder[0] : NULL;
}

bool mb_bcd_device_names(const mb_bcd_device_fact *dev, const mb_part_fact *part)
{
        return dev && part && dev->kind && strcmp(dev->kind, "partition") == 0 && dev->partition &&
               part->unique_guid && strcasecmp(dev->partition, part->unique_guid) == 0;
}

mb_bcd_object_fact *mb_bcd_store_loader_on(const mb_bcd_fact *b, const mb_part_fact *part)
{
        for (uint32_t i = 0; b && part && i < b->n_objects; i++) {
                mb_bcd_object_fact *o = &b->objects[i];

                if (o->type && strcmp(o->type, "os-loader") == 0 &&
                    mb_bcd_device_names(o->device, part) && mb_bcd_device_names(o->osdevice, part))
                        return o;
        }
        return NULL;
}

mb_bcd_object_fact *mb_facts_bcd_by_description(const mb_facts *f, const char *type,
                                                const char *description)
{
        for (uint32_t i = 0; f->bcd && i < f->bcd->n_objects; i++) {
                mb_bcd_object_fact *o = &f->bcd->objects[i];

                if (o->description && strcmp(o->description, description) == 0 &&
                    (!type || (o->type && strcmp(o->type, type) == 0)))
                        return o;
        }
        return NULL;
}

mb_part_fact *mb_disk_add_part(mb_disk_fact *d)
{
        mb_part_fact *n = mb_reallocarray(d->partitions, d->n_partitions + 1, sizeof(*n));

        if (!n)
                return NULL;
        d->partitions = n;
        memset(&n[d->n_partitions], 0, sizeof(*n));
        return &n[d->n_partitions++];
}

static int part_cmp(const void *a, const void *b)
{
        const mb_part_fact *x = a, *y = b;

        return x->first_lba < y->first_lba ? -1 : x->first_lba > y->first_lba;
}

void mb_disk_sort_parts(mb_disk_fact *d)
{
        if (d->n_partitions > 1)
                qsort(d->partitions, d->n_partitions, sizeof(*d->partitions), part_cmp);
}

void mb_part_fact_clear(mb_part_fact *p)
{
        free(p->type_guid);
        free(p->unique_guid);
        free(p->name);
        free(p->label);
        free(p->content_sha256);
        mb_bcd_fact_free(p->bcd);
        for (uint32_t i = 0; i < p->n_files; i++) {
                free(p->files[i].path);
                free(p->files[i].sha256);
                mb_image_fact_free(p->files[i].image);
        }
        free(p->files);
        memset(p, 0, sizeof(*p));
}

void mb_disk_boot_fact_free(mb_disk_boot_fact *b)
{
        if (!b)
                return;
        free(b->via);
        free(b->reason);
        free(b);
}

void mb_disk_fact_clear(mb_disk_fact *d)
{
        for (uint32_t i = 0; i < d->n_partitions; i++)
                mb_part_fact_clear(&d->partitions[i]);
        free(d->partitions);
        free(d->path);
        free(d->serial);
        free(d->unique_id);
        free(d->location);
        free(d->disk_guid);
        free(d->dynamic_group);
        free(d->dynamic_name);
        for (uint32_t i = 0; i < d->n_ldm_damage; i++) {
                free(d->ldm_damage[i].structure);
                free(d->ldm_damage[i].detail);
        }
        free(d->ldm_damage);
        mb_disk_boot_fact_free(d->boot);
        free(d->gpt_damaged);
        memset(d, 0, sizeof(*d));
}

void mb_bcd_device_fact_free(mb_bcd_device_fact *d)
{
        if (!d)
                return;
        free(d->kind);
        free(d->partition);
        free(d->disk);
        free(d);
}

void mb_bcd_object_fact_clear(mb_bcd_object_fact *o)
{
        free(o->id);
        free(o->type);
        free(o->description);
        mb_bcd_device_fact_free(o->device);
        mb_bcd_device_fact_free(o->osdevice);
        free(o->path);
        if (o->path_check)
                free(o->path_check->volume);
        free(o->path_check);
        for (uint32_t j = 0; j < o->n_displayorder; j++)
                free(o->displayorder[j]);
        free(o->displayorder);
        free(o->default_id);
        free(o->recovery);
        memset(o, 0, sizeof(*o));
}

void mb_bcd_fact_free(mb_bcd_fact *b)
{
        if (!b)
                return;
        for (uint32_t i = 0; i < b->n_objects; i++)
                mb_bcd_object_fact_clear(&b->objects[i]);
        free(b->objects);
        free(b->store);
        free(b);
}

static void cert_fact_clear(mb_cert_fact *c)
{
        free(c->subject);
        free(c->issuer);
        free(c->sha256);
}

void mb_image_fact_free(mb_image_fact *im)
{
        if (!im)
                return;
        for (uint32_t i = 0; i < im->n_signatures; i++) {
                mb_signature_fact *s = &im->signatures[i];

                free(s->subject);
                free(s->issuer);
                free(s->sha256);
                free(s->signed_digest);
                for (uint32_t k = 0; k < s->n_certificates; k++)
                        cert_fact_clear(&s->certificates[k]);
                free(s->certificates);
        }
        free(im->signatures);
        free(im->machine);
        free(im->version);
        free(im->authenticode_sha256);
        free(im);
}

void mb_sig_facts_free(mb_sig_fact *s, uint32_t n)
{
        for (uint32_t i = 0; s && i < n; i++) {
                free(s[i].type);
                free(s[i].sha256);
                free(s[i].subject);
                free(s[i].issuer);
                free(s[i].owner);
        }
        free(s);
}

mb_file_fact *mb_part_file(const mb_part_fact *p, const char *path)
{
        for (uint32_t i = 0; p && i < p->n_files; i++)
                if (strcasecmp(p->files[i].path, path) == 0)
                        return &p->files[i];
        return NULL;
}

mb_volume_fact *mb_facts_add_volume(mb_facts *f)
{
        mb_volume_fact *v = mb_reallocarray(f->volumes, f->n_volumes + 1, sizeof(*v));

        if (!v)
                return NULL;
        f->volumes = v;
        v = &v[f->n_volumes++];
        memset(v, 0, sizeof(*v));
        return v;
}

mb_plex_fact *mb_volume_add_plex(mb_volume_fact *v)
{
        mb_plex_fact *x = mb_reallocarray(v->plexes, v->n_plexes + 1, sizeof(*x));

        if (!x)
                return NULL;
        v->plexes = x;
        x = &x[v->n_plexes++];
        memset(x, 0, sizeof(*x));
        return x;
}

void mb_facts_free(mb_facts *f)
{
        if (!f)
                return;
        for (uint32_t i = 0; i < f->n_disks; i++)
                mb_disk_fact_clear(&f->disks[i]);
        free(f->disks);
        for (uint32_t i = 0; i < f->n_volumes; i++) {
                mb_volume_fact *v = &f->volumes[i];

                for (uint32_t j = 0; j < v->n_plexes; j++)
                        free(v->plexes[j].ldm_disk);
                free(v->plexes);
                free(v->name);
                free(v->kind);
                free(v->group);
        }
        free(f->volumes);
        mb_bcd_fact_free(f->bcd);
        if (f->firmware) {
                for (uint32_t i = 0; i < f->firmware->n_entries; i++) {
                        free(f->firmware->entries[i].description);
                        free(f->firmware->entries[i].partition);
                        free(f->firmware->entries[i].path);
                }
                free(f->firmware->entries);
                free(f->firmware->order);
                mb_sig_facts_free(f->firmware->db, f->firmware->n_db);
                mb_sig_facts_free(f->firmware->dbx, f->firmware->n_dbx);
                free(f->firmware->booted);
                free(f->firmware);
        }
        free(f->target);
        free(f);
}

/* ---------- files ---------- */

#include <stdio.h>
#include <unistd.h>

#include <cyaml/cyaml.h>

#include "yamldoc.h"

extern const cyaml_schema_value_t mb_facts_schema;

/* The facts' own memory comes from malloc, as libcyaml's default allocator does,
 * so mb_facts_free works on loaded and built facts alike. */
static int facts_check(const char *name, const mb_facts *f, mb_ydoc *doc, mb_error *err)
{
        if (f->version != 1)
                return mb_ydoc_error(doc, mb_ynode_get(doc->root, "version"), err,
                                     "unsupported facts version %u; expected 1", f->version);
        (void)name;
        for (uint32_t i = 0; i < f->n_disks; i++) {
                mb_disk_fact *d = &f->disks[i];
                mb_ynode *dn = mb_ynode_at(mb_ynode_get(doc->root, "disks"), i);

                for (uint32_t j = 0; j < i; j++)
                        if (f->disks[j].number == d->number)
                                return mb_ydoc_error(doc, dn, err,
                                                     "disk number %u appears twice; expected unique disk numbers",
                                                     d->number);
                for (uint32_t j = 0; j < d->n_partitions; j++) {
                        mb_part_fact *p = &d->partitions[j];

                        if (p->last_lba < p->first_lba)
                                return mb_ydoc_error(doc, mb_ynode_at(mb_ynode_get(dn, "partitions"), j),
                                                     err, "partition %u ends (LBA %llu) before it starts (LBA %llu)",
                                                     p->number, (unsigned long long)p->last_lba,
                                                     (unsigned long long)p->first_lba);
                }
                mb_disk_sort_parts(d);
        }
        return 0;
}

int mb_facts_load_buffer(const char *name, const char *buf, size_t len, mb_facts **ret,
                         mb_error *err)
{
        void *data = NULL;
        mb_ydoc *doc = NULL;
        int r;

        r = mb_yaml_load(name, buf, len, &mb_facts_schema, &data, &doc, err);
        if (r)
                return r;
        r = facts_check(name, data, doc, err);
        mb_ydoc_free(doc);
        if (r) {
                mb_facts_free(data);
                return r;
        }
        *ret = data;
        return 0;
}

int mb_facts_load(const char *path, mb_facts **ret, mb_error *err)
{
        char *buf;
        size_t len;
        int r;

        r = mb_yaml_read_file(path, &buf, &len, err);
        if (r)
                return r;
        r = mb_facts_load_buffer(path, buf, len, ret, err);
        free(buf);
        return r;
}

int mb_facts_to_string(const mb_facts *f, bool json, char **ret, mb_error *err)
{
        size_t len;

        return mb_yaml_save(&mb_facts_schema, f, json, ret, &len, err);
}

int mb_facts_save(const mb_facts *f, const char *path, bool json, mb_error *err)
{
        char *text, tmp[4096];
        size_t len;
        FILE *fp;
        int r;

        r = mb_yaml_save(&mb_facts_schema, f, json, &text, &len, err);
        if (r)
                return r;
        if (strcmp(path, "-") == 0) {
                fwrite(text, 1, len, stdout);
                free(text);
                return 0;
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        fp = fopen(tmp, "w");
        if (!fp) {
                free(text);
                return mb_error_errno(err, MB_EIO, errno, "cannot write %s", tmp);
        }
        if (fwrite(text, 1, len, fp) != len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
                int e = errno;

                fclose(fp);
                unlink(tmp);
                free(text);
                return mb_error_errno(err, MB_EIO, e, "cannot write %s", tmp);
        }
        free(text);
        if (fclose(fp) != 0 || rename(tmp, path) != 0) {
                int e = errno;

                unlink(tmp);
                return mb_error_errno(err, MB_EIO, e, "cannot replace %s", path);
        }
        return 0;
}

mb_facts *mb_facts_dup(const mb_facts *f)
{
        mb_facts *copy = NULL;
        char *text;
        size_t len;

        if (mb_yaml_save(&mb_facts_schema, f, false, &text, &len, NULL) != 0)
                return NULL;
        if (mb_facts_load_buffer("(copy)", text, len, &copy, NULL) != 0)
                copy = NULL;
        free(text);
        return copy;
}

uint64_t mb_fat32_clusters(uint64_t sectors, uint32_t sector_size)
{
        /* the FAT size rounded up, so a few clusters too few at worst */
        uint64_t fat = ((sectors > 32 ? sectors - 32 : 0) + 2) * 4;
        uint64_t fat_sectors = (fat + sector_size - 1) / sector_size;

        return sectors > 32 + 2 * fat_sectors ? sectors - 32 - 2 * fat_sectors : 0;
}
