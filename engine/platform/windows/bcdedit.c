/* SPDX-License-Identifier: MIT */
#include "windows_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * `bcdedit /enum all /v` output. Only what does not depend on the display
 * language is used: section headings (localized) are ignored, objects are
 * told apart by their "identifier" lines, element names (identifier,
 * device, osdevice, path, description, displayorder) are bcdedit's own
 * keywords, and devices are read as "partition=\Device\HarddiskVolumeN",
 * which the caller maps to a partition. The object type is inferred from
 * the identifier alias and the application path.
 */

static char *trim(char *s)
{
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = '\0';
        return s;
}

static bool contains_ci(const char *hay, const char *needle)
{
        size_t n = strlen(needle);

        for (; *hay; hay++)
                if (strncasecmp(hay, needle, n) == 0)
                        return true;
        return false;
}

static const char *infer_type(const char *id, const char *path)
{
        if (strcasecmp(id, "{fwbootmgr}") == 0)
                return "firmware-boot-manager";
        if (strcasecmp(id, "{bootmgr}") == 0)
                return "boot-manager";
        if (strcasecmp(id, "{memdiag}") == 0)
                return "memdiag";
        if (!path)
                return NULL;
        if (contains_ci(path, "bootmgfw.efi"))
                return "boot-manager";
        if (contains_ci(path, "winload.efi") || contains_ci(path, "winload.exe"))
                return "os-loader";
        if (contains_ci(path, "winresume.efi"))
                return "resume";
        if (contains_ci(path, "memtest.efi"))
                return "memdiag";
        return NULL;
}

static mb_bcd_device_fact *parse_device(const char *value, const mb_win_volmap *map)
{
        mb_bcd_device_fact *d = calloc(1, sizeof(*d));

        if (!d)
                return NULL;
        if (strncasecmp(value, "partition=", 10) == 0) {
                const mb_win_volume *v = mb_win_volmap_by_nt(map, value + 10);

                d->kind = mb_strdup("partition");
                if (v && v->part_guid[0]) {
                        d->partition = mb_strdup(v->part_guid);
                        d->disk = v->disk_guid[0] ? mb_strdup(v->disk_guid) : NULL;
                }
        } else if (strcasecmp(value, "boot") == 0) {
                d->kind = mb_strdup("boot");
        } else {
                d->kind = mb_strdup("other");
        }
        return d;
}

/* `bcdedit /v` prints well-known objects by GUID; facts use their aliases. */
static const char *alias_of(const char *id)
{
        static const struct { const char *guid, *alias; } known[] = {
                { "{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}", "{fwbootmgr}" },
                { "{9dea862c-5cdd-4e70-acc1-f32b344d4795}", "{bootmgr}" },
                { "{b2721d73-1db4-4c62-bf78-c548a880142d}", "{memdiag}" },
                { "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}", "{globalsettings}" },
                { "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}", "{bootloadersettings}" },
                { "{4636856e-540f-4170-a130-a84776f4c654}", "{dbgsettings}" },
                { "{5189b25c-5558-4bf2-bca4-289b11bd29e2}", "{badmemory}" },
                { "{7ff607e0-4395-11db-b0de-0800200c9a66}", "{hypervisorsettings}" },
                { "{1afa9c49-16ab-4a5c-901b-212802da9460}", "{resumeloadersettings}" },
                { "{ae5534e0-a924-466c-b836-758539a3ee3a}", "{ramdiskoptions}" },
                { "{313e8eed-7098-4586-a9bf-309c61f8d449}", "{emssettings}" },
        };

        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                if (strcasecmp(id, known[i].guid) == 0)
                        return known[i].alias;
        return NULL;
}

/* A lower-case id, or the alias of a well-known one (malloc'd). */
static char *object_id(const char *value)
{
        const char *a = alias_of(value);
        char *s = mb_strdup(a ? a : value);

        for (char *c = s; c && *c; c++)
                *c = (char)tolower((unsigned char)*c);
        return s;
}

static bool is_object_id(const char *s)
{
        size_t n = strlen(s);

        return n >= 3 && s[0] == '{' && s[n - 1] == '}' && !strchr(s, ' ');
}

int mb_win_parse_bcdedit(const char *text, const mb_win_volmap *map, const char *store,
                         mb_bcd_fact **ret, mb_error *err)
{
        mb_bcd_fact *b = calloc(1, sizeof(*b));
        mb_bcd_object_fact *o = NULL;
        char *copy = mb_strdup(text), *line, *next;
        char last_key[32] = "";

        if (!b || !copy) {
                free(b);
                free(copy);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        b->store = mb_strdup(store);
        for (line = copy; line; line = next) {
                char *l = line, *key, *value;
                bool continuation = (*l == ' ' || *l == '\t');

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';

                l = trim(l);
                if (!*l || l[0] == '-')
                        continue;
                if (continuation) {
                        key = last_key;
                        value = l;
                } else {
                        key = l;
                        value = l;
                        while (*value && *value != ' ' && *value != '\t')
                                value++;
                        if (!*value) {
                                last_key[0] = '\0';
                                continue;       /* a heading */
                        }
                        *value++ = '\0';
                        value = trim(value);
                        snprintf(last_key, sizeof(last_key), "%s", key);
                }
                if (strcmp(key, "identifier") == 0 && !continuation) {
                        mb_bcd_object_fact *n;

                        if (!is_object_id(value))
                                continue;
                        n = mb_reallocarray(b->objects, b->n_objects + 1, sizeof(*n));
                        if (!n)
                                goto nomem;
                        b->objects = n;
                        o = &n[b->n_objects++];
                        memset(o, 0, sizeof(*o));
                        o->id = object_id(value);
                        continue;
                }
                if (!o)
                        continue;
                if (strcmp(key, "description") == 0 && !continuation) {
                        free(o->description);
                        o->description = mb_strdup(value);
                } else if (strcmp(key, "path") == 0 && !continuation) {
                        free(o->path);
                        o->path = mb_strdup(value);
                } else if (strcmp(key, "device") == 0 && !continuation) {
                        o->device = parse_device(value, map);
                } else if (strcmp(key, "osdevice") == 0 && !continuation) {
                        o->osdevice = parse_device(value, map);
                } else if (strcmp(key, "displayorder") == 0 && is_object_id(value)) {
                        char **n = mb_reallocarray(o->displayorder, o->n_displayorder + 1,
                                                   sizeof(*n));

                        if (!n)
                                goto nomem;
                        o->displayorder = n;
                        n[o->n_displayorder++] = object_id(value);
                }
        }
        for (uint32_t i = 0; i < b->n_objects; i++) {
                const char *t = infer_type(b->objects[i].id, b->objects[i].path);

                b->objects[i].type = t ? mb_strdup(t) : NULL;
        }
        free(copy);
        *ret = b;
        return 0;
nomem:
        free(copy);
        mb_win_bcd_free(b);
        return mb_error_set(err, MB_ENOMEM, "out of memory");
}

static void device_free(mb_bcd_device_fact *d)
{
        if (!d)
                return;
        free(d->kind);
        free(d->partition);
        free(d->disk);
        free(d);
}

void mb_win_bcd_free(mb_bcd_fact *b)
{
        if (!b)
                return;
        for (uint32_t i = 0; i < b->n_objects; i++) {
                mb_bcd_object_fact *o = &b->objects[i];

                free(o->id);
                free(o->type);
                free(o->description);
                device_free(o->device);
                device_free(o->osdevice);
                free(o->path);
                for (uint32_t j = 0; j < o->n_displayorder; j++)
                        free(o->displayorder[j]);
                free(o->displayorder);
        }
        free(b->objects);
        free(b->store);
        free(b);
}

int mb_win_find_object_id(const char *text, char ret[40])
{
        for (const char *p = text; (p = strchr(p, '{')); p++) {
                GUID g;
                char buf[39];

                if (strlen(p) < 38 || p[37] != '}')
                        continue;
                memcpy(buf, p, 38);
                buf[38] = '\0';
                if (mb_w_guid_parse(buf, &g) == 0) {
                        char t[37];

                        mb_w_guid_format(&g, t);
                        snprintf(ret, 40, "{%s}", t);
                        return 0;
                }
        }
        return -1;
}
