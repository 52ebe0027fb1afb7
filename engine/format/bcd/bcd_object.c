/* SPDX-License-Identifier: MIT */
/*
 * BCD objects and elements as data, whatever read them: libhivex on a store
 * file (bcd.c, the image target) or the Win32 registry functions on the live
 * store and on store files (the windows target). A reader hands over each
 * object's key name and Description\Type, then each element's key name,
 * registry value type and bytes; this file decodes them, names well-known
 * objects, and turns a list of objects into the facts both targets report.
 * No libhivex here: this file builds for Windows too.
 */
#include "bcd.h"
#include "bcd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blockdev.h"
#include "sha256.h"

/* ---- well-known names ---------------------------------------------------- */

/* The GUIDs behind the well-known identifiers `bcdedit /? ID` lists (the
 * names are Microsoft's, "Boot Options Identifiers"; the GUIDs as the
 * Windows SDK and NT headers define them, GUID_*_SETTINGS_GROUP etc.).
 * {kerneldbgsettings} and {emssettings} are two different objects. */

static const struct { const char *guid, *alias; } aliases[] = {
        { "9dea862c-5cdd-4e70-acc1-f32b344d4795", "{bootmgr}" },
        { "a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba", "{fwbootmgr}" },
        { "b2721d73-1db4-4c62-bf78-c548a880142d", "{memdiag}" },
        { "466f5a88-0af2-4f76-9038-095b170dc21c", "{ntldr}" },
        { "fa926493-6f1c-4193-a414-58f0b2456d1e", "{current}" },
        { "1cae1eb7-a0df-4d4d-9851-4860e34ef535", "{default}" },
        { "7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e", "{globalsettings}" },
        { "6efb52bf-1766-41db-a6b3-0ee5eff72bd7", "{bootloadersettings}" },
        { "1afa9c49-16ab-4a5c-901b-212802da9460", "{resumeloadersettings}" },
        { "4636856e-540f-4170-a130-a84776f4c654", "{dbgsettings}" },
        { "0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9", "{emssettings}" },
        { "5189b25c-5558-4bf2-bca4-289b11bd29e2", "{badmemory}" },
        { "7ff607e0-4395-11db-b0de-0800200c9a66", "{hypervisorsettings}" },
        { "313e8eed-7098-4586-a9bf-309c61f8d449", "{kerneldbgsettings}" },
        { "ae5534e0-a924-466c-b836-758539a3ee3a", "{ramdiskoptions}" },
        { "cbd971bf-b7b8-4885-951a-fa03044f5d71", "{setupldr}" },
};

const char *mb_bcd_alias(const mb_guid *id)
{
        char s[MB_GUID_STR_LEN];

        mb_guid_format(id, s);
        for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
                if (strcmp(s, aliases[i].guid) == 0)
                        return aliases[i].alias;
        return NULL;
}

int mb_bcd_alias_guid(const char *alias, mb_guid *ret)
{
        for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
                if (strcasecmp(alias, aliases[i].alias) == 0)
                        return mb_guid_parse(aliases[i].guid, ret);
        return -1;
}

const char *mb_bcd_type_name(uint32_t type)
{
        switch (type) {
        case MB_BCD_TYPE_FWBOOTMGR: return "firmware-boot-manager";
        case MB_BCD_TYPE_BOOTMGR: return "boot-manager";
        case MB_BCD_TYPE_OSLOADER: return "os-loader";
        case MB_BCD_TYPE_RESUME: return "resume";
        case MB_BCD_TYPE_MEMDIAG: return "memdiag";
        case MB_BCD_TYPE_NTLDR: return "ntldr";
        case MB_BCD_TYPE_SETUPLDR: return "setupldr";
        case MB_BCD_TYPE_BOOTSECTOR: return "boot-sector";
        case MB_BCD_TYPE_STARTUP: return "startup";
        case MB_BCD_TYPE_BOOTAPP: return "boot-app";
        case 0x101fffffu: return "firmware-application";
        case MB_BCD_TYPE_INHERIT_ANY: return "settings";
        case 0x20200001u: return "fwbootmgr-settings";
        case 0x20200002u: return "bootmgr-settings";
        case MB_BCD_TYPE_INHERIT_OSLOADER: return "os-loader-settings";
        case MB_BCD_TYPE_INHERIT_RESUME: return "resume-settings";
        case 0x20200005u: return "memdiag-settings";
        case 0x20200006u: return "ntldr-settings";
        case 0x20200007u: return "setupldr-settings";
        case 0x20200008u: return "boot-sector-settings";
        case 0x20200009u: return "startup-settings";
        case 0x20300000u: return "device-settings";
        case MB_BCD_TYPE_DEVICE: return "device";
        default: return NULL;
        }
}

/* ---- UTF-16 ------------------------------------------------------------- */

int mb_bcd_utf16(const char *s, uint8_t **ret, size_t *ret_len)
{
        size_t n = strlen(s), o = 0;
        uint8_t *out = malloc(n * 4 + 2); /* each byte makes at most one UTF-16 unit... x2 */
        const unsigned char *p = (const unsigned char *)s;

        if (!out)
                return MB_ENOMEM;
        while (*p) {
                uint32_t cp;
                int extra;

                if (*p < 0x80) { cp = *p; extra = 0; }
                else if ((*p & 0xe0) == 0xc0) { cp = *p & 0x1f; extra = 1; }
                else if ((*p & 0xf0) == 0xe0) { cp = *p & 0x0f; extra = 2; }
                else if ((*p & 0xf8) == 0xf0) { cp = *p & 0x07; extra = 3; }
                else { free(out); return MB_EINVAL; }
                p++;
                for (int i = 0; i < extra; i++, p++) {
                        if ((*p & 0xc0) != 0x80) { free(out); return MB_EINVAL; }
                        cp = cp << 6 | (*p & 0x3f);
                }
                if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) { free(out); return MB_EINVAL; }
                if (cp >= 0x10000) {
                        cp -= 0x10000;
                        mb_put_le16(out + o, (uint16_t)(0xd800 | cp >> 10)); o += 2;
                        mb_put_le16(out + o, (uint16_t)(0xdc00 | (cp & 0x3ff))); o += 2;
                } else {
                        mb_put_le16(out + o, (uint16_t)cp); o += 2;
                }
        }
        mb_put_le16(out + o, 0);
        o += 2;
        *ret = out;
        *ret_len = o;
        return 0;
}

char *mb_bcd_utf8(const uint8_t *s, size_t len)
{
        char *out = malloc(len / 2 * 3 + 1);
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i + 1 < len; i += 2) {
                uint32_t cp = mb_le16(s + i);

                if (cp == 0)
                        break;
                if (cp >= 0xd800 && cp < 0xdc00 && i + 3 < len &&
                    mb_le16(s + i + 2) >= 0xdc00 && mb_le16(s + i + 2) < 0xe000) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (mb_le16(s + i + 2) - 0xdc00);
                        i += 2;
                } else if (cp >= 0xd800 && cp < 0xe000) {
                        cp = 0xfffd;
                }
                if (cp < 0x80) {
                        out[o++] = (char)cp;
                } else if (cp < 0x800) {
                        out[o++] = (char)(0xc0 | cp >> 6);
                        out[o++] = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                        out[o++] = (char)(0xe0 | cp >> 12);
                        out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
                        out[o++] = (char)(0x80 | (cp & 0x3f));
                } else {
                        out[o++] = (char)(0xf0 | cp >> 18);
                        out[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
                        out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
                        out[o++] = (char)(0x80 | (cp & 0x3f));
                }
        }
        out[o] = '\0';
        return out;
}

/* ---- decoding ----------------------------------------------------------- */

static void object_clear(mb_bcd_object *o)
{
        free(o->description);
        free(o->path);
        free(o->systemroot);
        free(o->displayorder);
        mb_bcd_device_clear(&o->device);
        mb_bcd_device_clear(&o->osdevice);
        for (size_t i = 0; i < o->n_elements; i++)
                free(o->elements[i].data);
        free(o->elements);
        memset(o, 0, sizeof(*o));
}

void mb_bcd_objects_free(mb_bcd_object *objs, size_t n)
{
        if (!objs)
                return;
        for (size_t i = 0; i < n; i++)
                object_clear(&objs[i]);
        free(objs);
}

/* Splits a REG_MULTI_SZ of "{guid}" strings; unparsable entries are skipped. */
static int parse_guid_list(const uint8_t *data, size_t len, mb_guid **ret, size_t *ret_n)
{
        size_t cap = len / 2 / 38 + 1, n = 0, i = 0;
        mb_guid *v = calloc(cap, sizeof(*v));

        if (!v)
                return MB_ENOMEM;
        while (i + 1 < len) {
                size_t start = i;
                char *s;

                while (i + 1 < len && mb_le16(data + i) != 0)
                        i += 2;
                if (i == start)
                        break;
                s = mb_bcd_utf8(data + start, i - start);
                if (!s) {
                        free(v);
                        return MB_ENOMEM;
                }
                if (n < cap && mb_guid_parse(s, &v[n]) == 0)
                        n++;
                free(s);
                i += 2;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int parse_guid_value(const uint8_t *data, size_t len, mb_guid *ret)
{
        char *s = mb_bcd_utf8(data, len);
        int r;

        if (!s)
                return -1;
        r = mb_guid_parse(s, ret);
        free(s);
        return r;
}

static int is_bootmgr_type(uint32_t t)
{
        return (t & 0xfff00000u) == 0x10100000u;
}

/* Fills the decoded fields of o from its element e. */
static int decode_element(mb_bcd_object *o, const mb_bcd_element *e, mb_error *err)
{
        int r = 0;

        switch (e->type) {
        case MB_BCDE_DESCRIPTION:
        case MB_BCDE_PATH:
        case MB_BCDE_OSLOADER_SYSTEMROOT: {
                char **dst = e->type == MB_BCDE_DESCRIPTION ? &o->description :
                             e->type == MB_BCDE_PATH ? &o->path : &o->systemroot;

                if (e->type == MB_BCDE_OSLOADER_SYSTEMROOT && o->type != MB_BCD_TYPE_OSLOADER)
                        break;
                if (e->reg_type != MB_REG_SZ && e->reg_type != MB_REG_EXPAND_SZ)
                        break;
                free(*dst);
                if (!(*dst = mb_bcd_utf8(e->data, e->len)))
                        r = MB_ENOMEM;
                break;
        }
        case MB_BCDE_DEVICE:
        case MB_BCDE_OSLOADER_OSDEVICE:
                if (e->reg_type != MB_REG_BINARY)
                        break;
                if (e->type == MB_BCDE_DEVICE) {
                        mb_bcd_device_clear(&o->device);
                        r = mb_bcd_device_decode(e->data, e->len, &o->device, err);
                } else {
                        mb_bcd_device_clear(&o->osdevice);
                        r = mb_bcd_device_decode(e->data, e->len, &o->osdevice, err);
                }
                break;
        case MB_BCDE_BOOTMGR_DISPLAYORDER:
                if (!is_bootmgr_type(o->type) || e->reg_type != MB_REG_MULTI_SZ)
                        break;
                free(o->displayorder);
                o->displayorder = NULL;
                r = parse_guid_list(e->data, e->len, &o->displayorder, &o->n_displayorder);
                break;
        case 0x23000003u: /* default (boot manager) / resumeobject (OS loader) */
                if (e->reg_type != MB_REG_SZ)
                        break;
                if (is_bootmgr_type(o->type))
                        o->has_default = parse_guid_value(e->data, e->len, &o->default_obj) == 0;
                else if (o->type == MB_BCD_TYPE_OSLOADER)
                        o->has_resume = parse_guid_value(e->data, e->len, &o->resume_obj) == 0;
                break;
        case MB_BCDE_BOOTMGR_RESUMEOBJECT:
                if (is_bootmgr_type(o->type) && e->reg_type == MB_REG_SZ)
                        o->has_resume = parse_guid_value(e->data, e->len, &o->resume_obj) == 0;
                break;
        case MB_BCDE_RECOVERYSEQUENCE:
                if (e->reg_type == MB_REG_MULTI_SZ) {
                        mb_guid *v;
                        size_t n;

                        r = parse_guid_list(e->data, e->len, &v, &n);
                        if (r == 0) {
                                o->has_recovery_seq = n > 0;
                                if (n > 0)
                                        o->recovery_seq = v[0];
                                free(v);
                        }
                }
                break;
        default:
                break;
        }
        if (r == MB_ENOMEM)
                return mb_error_set(err, MB_ENOMEM, "BCD: out of memory decoding element %08x",
                                    e->type);
        return r;
}


/* ---- building objects from what a reader found --------------------------- */

int mb_bcd_object_begin(mb_bcd_object *o, const char *key_name, uint32_t type,
                        const char *store, mb_error *err)
{
        const char *alias;

        memset(o, 0, sizeof(*o));
        if (!key_name || key_name[0] != '{' || strlen(key_name) != 38 ||
            mb_guid_parse(key_name, &o->id) != 0)
                return mb_error_set(err, MB_ECORRUPT, "BCD %s: object key \"%s\" is not a {GUID}",
                                    store, key_name ? key_name : "");
        alias = mb_bcd_alias(&o->id);
        snprintf(o->alias, sizeof(o->alias), "%s", alias ? alias : "");
        o->type = type;
        return 0;
}

int mb_bcd_object_add_element(mb_bcd_object *o, const char *key_name, uint32_t reg_type,
                              const void *data, size_t len, const char *store, mb_error *err)
{
        char gs[MB_GUID_STR_LEN], *end;
        mb_bcd_element *n, *e;
        unsigned long et;

        et = strtoul(key_name, &end, 16);
        if (strlen(key_name) != 8 || *end != '\0' || key_name[0] == '-' || key_name[0] == '+')
                return mb_error_set(err, MB_ECORRUPT,
                                    "BCD %s: object {%s}: element key \"%s\" is not 8 hex digits",
                                    store, mb_guid_format(&o->id, gs), key_name);
        n = mb_reallocarray(o->elements, o->n_elements + 1, sizeof(*n));
        if (!n)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", store);
        o->elements = n;
        e = &n[o->n_elements];
        e->data = malloc(len ? len : 1);
        if (!e->data)
                return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", store);
        if (len)
                memcpy(e->data, data, len);
        e->type = (uint32_t)et;
        e->reg_type = reg_type;
        e->len = len;
        o->n_elements++;
        return decode_element(o, e, err);
}

/* ---- facts ---------------------------------------------------------------- */

static char *id_text(const mb_guid *g)
{
        const char *alias = mb_bcd_alias(g);
        char buf[MB_GUID_STR_LEN], s[MB_GUID_STR_LEN + 2];

        if (alias)
                return mb_strdup(alias);
        snprintf(s, sizeof(s), "{%s}", mb_guid_format(g, buf));
        return mb_strdup(s);
}

/* NULL when the element is absent; *ret_nomem set when out of memory. */
static mb_bcd_device_fact *device_fact(const mb_bcd_device *dev, bool *ret_nomem)
{
        mb_bcd_device_fact *f;
        char buf[MB_GUID_STR_LEN];
        const char *kind;

        if (dev->kind == MB_BCD_DEV_NONE)
                return NULL;
        f = calloc(1, sizeof(*f));
        if (!f) {
                *ret_nomem = true;
                return NULL;
        }
        switch (dev->kind) {
        case MB_BCD_DEV_PARTITION:
        case MB_BCD_DEV_RAMDISK:
                kind = dev->kind == MB_BCD_DEV_RAMDISK ? "ramdisk"
                       : dev->mbr ? "mbr-partition" : "partition";
                f->kind = mb_strdup(kind);
                if (dev->mbr) {
                        char s[40];

                        snprintf(s, sizeof(s), "%08x", dev->mbr_signature);
                        f->disk = mb_strdup(s);
                        snprintf(s, sizeof(s), "%llu", (unsigned long long)dev->mbr_offset);
                        f->partition = mb_strdup(s);
                } else {
                        f->partition = mb_strdup(mb_guid_format(&dev->partition_guid, buf));
                        f->disk = mb_strdup(mb_guid_format(&dev->disk_guid, buf));
                }
                if (!f->partition || !f->disk)
                        *ret_nomem = true;
                break;
        case MB_BCD_DEV_BOOT:
                f->kind = mb_strdup("boot");
                break;
        default:
                f->kind = mb_strdup("other");
                break;
        }
        if (!f->kind)
                *ret_nomem = true;
        return f;
}

int mb_bcd_objects_to_fact(const mb_bcd_object *objs, size_t n, const char *store,
                           mb_bcd_fact **ret, mb_error *err)
{
        mb_bcd_fact *bf = calloc(1, sizeof(*bf));
        bool nomem = false;

        if (!bf || !(bf->objects = calloc(n ? n : 1, sizeof(*bf->objects))) ||
            !(bf->store = mb_strdup(store)))
                goto nomem;
        for (size_t i = 0; i < n; i++) {
                mb_bcd_object_fact *o = &bf->objects[bf->n_objects++];
                const char *tn = mb_bcd_type_name(objs[i].type);
                char tbuf[16];

                snprintf(tbuf, sizeof(tbuf), "0x%08x", objs[i].type);
                o->id = id_text(&objs[i].id);
                o->type = mb_strdup(tn ? tn : tbuf);
                o->description = mb_strdup(objs[i].description);
                o->path = mb_strdup(objs[i].path);
                o->device = device_fact(&objs[i].device, &nomem);
                o->osdevice = device_fact(&objs[i].osdevice, &nomem);
                if (nomem || !o->id || !o->type || (objs[i].description && !o->description) ||
                    (objs[i].path && !o->path))
                        goto nomem;
                if ((objs[i].has_default && !(o->default_id = id_text(&objs[i].default_obj))) ||
                    (objs[i].has_recovery_seq && !(o->recovery = id_text(&objs[i].recovery_seq))))
                        goto nomem;
                if (objs[i].n_displayorder) {
                        o->displayorder = calloc(objs[i].n_displayorder, sizeof(char *));
                        if (!o->displayorder)
                                goto nomem;
                        for (size_t j = 0; j < objs[i].n_displayorder; j++) {
                                o->displayorder[o->n_displayorder] = id_text(&objs[i].displayorder[j]);
                                if (!o->displayorder[o->n_displayorder++])
                                        goto nomem;
                        }
                }
        }
        *ret = bf;
        return 0;
nomem:
        mb_bcd_fact_free(bf);
        return mb_error_set(err, MB_ENOMEM, "BCD %s: out of memory", store);
}

/* ---- digest ---------------------------------------------------------------- */

static int cmp_obj(const void *a, const void *b)
{
        return memcmp(&(*(const mb_bcd_object *const *)a)->id,
                      &(*(const mb_bcd_object *const *)b)->id, sizeof(mb_guid));
}

static int cmp_elem(const void *a, const void *b)
{
        uint32_t x = (*(const mb_bcd_element *const *)a)->type;
        uint32_t y = (*(const mb_bcd_element *const *)b)->type;

        return x < y ? -1 : x > y;
}

int mb_bcd_objects_digest(const mb_bcd_object *objs, size_t n, uint64_t *ret_size,
                          char ret_hex[65], mb_error *err)
{
        const mb_bcd_object **o = calloc(n ? n : 1, sizeof(*o));
        mb_sha256 s;
        uint8_t w[16];

        if (!o)
                return mb_error_set(err, MB_ENOMEM, "BCD digest: out of memory");
        for (size_t i = 0; i < n; i++)
                o[i] = &objs[i];
        qsort(o, n, sizeof(*o), cmp_obj);
        mb_sha256_init(&s);
        mb_sha256_update(&s, "mbstate BCD objects 1\n", 22);
        for (size_t i = 0; i < n; i++) {
                const mb_bcd_element **e = calloc(o[i]->n_elements ? o[i]->n_elements : 1,
                                                  sizeof(*e));

                if (!e) {
                        free(o);
                        return mb_error_set(err, MB_ENOMEM, "BCD digest: out of memory");
                }
                for (size_t j = 0; j < o[i]->n_elements; j++)
                        e[j] = &o[i]->elements[j];
                qsort(e, o[i]->n_elements, sizeof(*e), cmp_elem);
                mb_sha256_update(&s, o[i]->id.b, 16);
                mb_put_le32(w, o[i]->type);
                mb_put_le32(w + 4, (uint32_t)o[i]->n_elements);
                mb_sha256_update(&s, w, 8);
                for (size_t j = 0; j < o[i]->n_elements; j++) {
                        mb_put_le32(w, e[j]->type);
                        mb_put_le32(w + 4, e[j]->reg_type);
                        mb_put_le64(w + 8, e[j]->len);
                        mb_sha256_update(&s, w, 16);
                        mb_sha256_update(&s, e[j]->data, e[j]->len);
                }
                free(e);
        }
        free(o);
        *ret_size = s.len;
        mb_sha256_final_hex(&s, ret_hex);
        return 0;
}
