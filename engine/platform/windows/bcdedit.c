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
        mb_bcd_fact_free(b);
        return mb_error_set(err, MB_ENOMEM, "out of memory");
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

/* ---- canonical dump, for comparing two stores ---- */

typedef struct canon_elem {
        char *key;
        char *values;           /* continuation values joined with '\n', in printed order */
} canon_elem;

typedef struct canon_obj {
        char *id;
        canon_elem *e;
        size_t n;
} canon_obj;

static int elem_cmp(const void *a, const void *b)
{
        return strcmp(((const canon_elem *)a)->key, ((const canon_elem *)b)->key);
}

static int obj_cmp(const void *a, const void *b)
{
        return strcmp(((const canon_obj *)a)->id, ((const canon_obj *)b)->id);
}

static char *join(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        char *s = malloc(la + lb + 2);

        if (!s)
                return NULL;
        memcpy(s, a, la);
        s[la] = '\n';
        memcpy(s + la + 1, b, lb + 1);
        return s;
}

/*
 * Two BCD stores hold the same objects when their `bcdedit /store X /enum
 * all /v` listings agree object by object and element by element, whatever
 * order bcdedit printed them in and whatever the hive files' bytes are (the
 * live store is held open by the registry and copied with `bcdedit
 * /export`, which rewrites the hive). The canonical text is: objects sorted
 * by identifier (lower case), each as "identifier <id>" followed by its
 * elements sorted by keyword, "<keyword>\t<value>[\n\t<continuation>...]".
 * Headings and their underlines (localized) are left out; values are
 * compared as printed, which is stable between two listings made by the
 * same bcdedit on the same machine.
 */
int mb_win_bcd_canonical(const char *text, char **ret, size_t *ret_len, mb_error *err)
{
        char *copy = mb_strdup(text), *line, *next, *out = NULL;
        canon_obj *objs = NULL, *o = NULL;
        canon_elem *last = NULL;
        size_t n_objs = 0, len = 0, cap = 0;
        int r = 0;

        if (!copy)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        for (line = copy; line; line = next) {
                bool continuation = (*line == ' ' || *line == '\t');
                char *l, *key, *value;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                l = trim(line);
                if (!*l || l[0] == '-')
                        continue;
                if (continuation) {
                        char *j;

                        if (!last)
                                continue;
                        j = join(last->values, l);
                        if (!j)
                                goto nomem;
                        free(last->values);
                        last->values = j;
                        continue;
                }
                key = l;
                value = l;
                while (*value && *value != ' ' && *value != '\t')
                        value++;
                if (!*value || (next && strncmp(next + strspn(next, " \t\r"), "--", 2) == 0)) {
                        last = NULL;    /* a heading (underlined), in any language */
                        continue;
                }
                *value++ = '\0';
                value = trim(value);
                if (strcmp(key, "identifier") == 0) {
                        canon_obj *n = mb_reallocarray(objs, n_objs + 1, sizeof(*n));

                        if (!n)
                                goto nomem;
                        objs = n;
                        o = &objs[n_objs++];
                        memset(o, 0, sizeof(*o));
                        o->id = mb_strdup(value);
                        if (!o->id)
                                goto nomem;
                        for (char *c = o->id; *c; c++)
                                *c = (char)tolower((unsigned char)*c);
                        last = NULL;
                        continue;
                }
                if (!o)
                        continue;
                {
                        canon_elem *n = mb_reallocarray(o->e, o->n + 1, sizeof(*n));

                        if (!n)
                                goto nomem;
                        o->e = n;
                        last = &n[o->n++];
                        last->key = mb_strdup(key);
                        last->values = mb_strdup(value);
                        if (!last->key || !last->values)
                                goto nomem;
                }
        }
        if (n_objs > 1)
                qsort(objs, n_objs, sizeof(*objs), obj_cmp);
        for (size_t i = 0; i < n_objs; i++) {
                if (objs[i].n > 1)
                        qsort(objs[i].e, objs[i].n, sizeof(*objs[i].e), elem_cmp);
                for (size_t j = 0; j <= objs[i].n; j++) {
                        const char *k = j == 0 ? "identifier" : objs[i].e[j - 1].key;
                        const char *v = j == 0 ? objs[i].id : objs[i].e[j - 1].values;
                        size_t need = strlen(k) + 2 * strlen(v) + 4;

                        if (len + need >= cap) {
                                char *b = realloc(out, cap = (len + need) * 2 + 256);

                                if (!b)
                                        goto nomem;
                                out = b;
                        }
                        len += (size_t)sprintf(out + len, "%s\t", k);
                        for (const char *c = v; *c; c++) {
                                out[len++] = *c;
                                if (*c == '\n')
                                        out[len++] = '\t';
                        }
                        out[len++] = '\n';
                        out[len] = '\0';
                }
        }
        if (!out && !(out = calloc(1, 1)))
                goto nomem;
        *ret = out;
        *ret_len = len;
        out = NULL;
        goto done;
nomem:
        r = mb_error_set(err, MB_ENOMEM, "out of memory");
done:
        free(out);
        for (size_t i = 0; i < n_objs; i++) {
                for (size_t j = 0; j < objs[i].n; j++) {
                        free(objs[i].e[j].key);
                        free(objs[i].e[j].values);
                }
                free(objs[i].e);
                free(objs[i].id);
        }
        free(objs);
        free(copy);
        return r;
}
