/* SPDX-License-Identifier: MIT */
/*
 * BCD stores read as data through the registry functions of the call table:
 * the live store is the key HKLM\BCD00000000, a store file on another ESP is
 * loaded as an application hive (RegLoadAppKeyW). Both have the layout of a
 * store file (engine/format/bcd/bcd.h):
 *
 *   Objects\{guid}\Description        value Type, REG_DWORD
 *   Objects\{guid}\Elements\XXXXXXXX  value Element
 *
 * Keys and values are handed to engine/format/bcd, which decodes elements
 * for the image target too. Nothing here depends on bcdedit's text, so the
 * display language and drive letters do not matter.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_NAME_MAX 256        /* registry key names are at most 255 characters */

/* RegOpenKeyExW of a UTF-8 subkey; the Win32 error, or 0. */
static LONG open_key(const mb_win32 *w, HKEY parent, const char *sub, HKEY *ret)
{
        WCHAR *ws = mb_w_from_utf8(sub);
        LONG e;

        if (!ws)
                return (LONG)ERROR_INVALID_PARAMETER;
        e = w->RegOpenKeyExW(parent, ws, 0, KEY_READ, ret);
        free(ws);
        return e;
}

/* The subkey name at index into name (UTF-8); ERROR_NO_MORE_ITEMS at the end. */
static LONG subkey_at(const mb_win32 *w, HKEY key, DWORD index, char name[KEY_NAME_MAX * 3])
{
        WCHAR wn[KEY_NAME_MAX + 1];
        DWORD len = KEY_NAME_MAX + 1;
        LONG e = w->RegEnumKeyExW(key, index, wn, &len, NULL, NULL, NULL, NULL);
        char *u;

        if (e != 0)
                return e;
        if (len > KEY_NAME_MAX)
                return (LONG)ERROR_MORE_DATA;
        wn[len] = 0;
        u = mb_w_to_utf8_n(wn, len);
        if (!u)
                return (LONG)ERROR_INVALID_PARAMETER;
        snprintf(name, KEY_NAME_MAX * 3, "%s", u);
        free(u);
        return 0;
}

/* A value's type and bytes (*ret malloc'd); the Win32 error, or 0. */
static LONG query_value(const mb_win32 *w, HKEY key, const WCHAR *name, DWORD *ret_type,
                        uint8_t **ret, DWORD *ret_len)
{
        DWORD len = 0, type = 0;
        uint8_t *buf = NULL;
        LONG e = w->RegQueryValueExW(key, name, NULL, &type, NULL, &len);

        for (int tries = 0; e == 0 && tries < 8; tries++) {
                DWORD have = len;
                uint8_t *n = realloc(buf, have ? have : 1);

                if (!n) {
                        free(buf);
                        return (LONG)ERROR_NOT_ENOUGH_MEMORY;
                }
                buf = n;
                e = w->RegQueryValueExW(key, name, NULL, &type, buf, &len);
                if (e == (LONG)ERROR_MORE_DATA) {
                        e = 0;          /* it grew in between: ask again */
                        continue;
                }
                if (e == 0 && len <= have) {
                        *ret_type = type;
                        *ret = buf;
                        *ret_len = len;
                        return 0;
                }
        }
        free(buf);
        return e ? e : (LONG)ERROR_MORE_DATA;
}

static int reg_error(mb_error *err, LONG e, const char *call, const char *store, const char *what)
{
        return mb_w_error(err, e == (LONG)ERROR_NOT_ENOUGH_MEMORY ? MB_ENOMEM : MB_EIO, (DWORD)e,
                          call, "BCD %s: %s", store, what);
}

/* Reads Objects\<name> into o. */
static int read_object(const mb_win32 *w, HKEY objects, const char *name, const char *store,
                       mb_bcd_object *o, mb_error *err)
{
        static const WCHAR type_w[] = { 'T', 'y', 'p', 'e', 0 };
        static const WCHAR element_w[] = { 'E', 'l', 'e', 'm', 'e', 'n', 't', 0 };
        HKEY obj = NULL, desc = NULL, elems = NULL;
        char what[KEY_NAME_MAX * 3 + 64];
        uint8_t *data = NULL;
        DWORD type = 0, len = 0;
        LONG e;
        int r;

        snprintf(what, sizeof(what), "object %s", name);
        if ((e = open_key(w, objects, name, &obj)) != 0)
                return reg_error(err, e, "RegOpenKeyExW", store, what);
        if ((e = open_key(w, obj, "Description", &desc)) != 0) {
                r = e == (LONG)ERROR_FILE_NOT_FOUND
                    ? mb_error_set(err, MB_ECORRUPT, "BCD %s: object %s has no Description key",
                                   store, name)
                    : reg_error(err, e, "RegOpenKeyExW", store, what);
                goto out;
        }
        e = query_value(w, desc, type_w, &type, &data, &len);
        if (e != 0 && e != (LONG)ERROR_FILE_NOT_FOUND) {
                r = reg_error(err, e, "RegQueryValueExW", store, what);
                goto out;
        }
        if (e != 0 || type != REG_DWORD || len != 4) {
                r = mb_error_set(err, MB_ECORRUPT,
                                 "BCD %s: object %s has no REG_DWORD Description\\Type value",
                                 store, name);
                goto out;
        }
        r = mb_bcd_object_begin(o, name, (uint32_t)(data[0] | data[1] << 8 | data[2] << 16 |
                                                    (uint32_t)data[3] << 24), store, err);
        free(data);
        data = NULL;
        if (r < 0)
                goto out;
        e = open_key(w, obj, "Elements", &elems);
        if (e == (LONG)ERROR_FILE_NOT_FOUND) {
                r = 0;
                goto out;
        }
        if (e != 0) {
                r = reg_error(err, e, "RegOpenKeyExW", store, what);
                goto out;
        }
        for (DWORD i = 0;; i++) {
                char ename[KEY_NAME_MAX * 3];
                HKEY el = NULL;

                e = subkey_at(w, elems, i, ename);
                if (e == (LONG)ERROR_NO_MORE_ITEMS)
                        break;
                if (e != 0) {
                        r = reg_error(err, e, "RegEnumKeyExW", store, what);
                        goto out;
                }
                if ((e = open_key(w, elems, ename, &el)) != 0) {
                        r = reg_error(err, e, "RegOpenKeyExW", store, what);
                        goto out;
                }
                e = query_value(w, el, element_w, &type, &data, &len);
                w->RegCloseKey(el);
                if (e == (LONG)ERROR_FILE_NOT_FOUND)
                        continue;       /* an element key without a value: nothing to report */
                if (e != 0) {
                        r = reg_error(err, e, "RegQueryValueExW", store, what);
                        goto out;
                }
                r = mb_bcd_object_add_element(o, ename, type, data, len, store, err);
                free(data);
                data = NULL;
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        free(data);
        if (elems)
                w->RegCloseKey(elems);
        if (desc)
                w->RegCloseKey(desc);
        w->RegCloseKey(obj);
        return r;
}

/* Every object under root (a key that holds Objects). */
static int read_root(const mb_win32 *w, HKEY root, const char *store, mb_bcd_object **ret,
                     size_t *ret_n, mb_error *err)
{
        mb_bcd_object *objs = NULL;
        size_t n = 0;
        HKEY objects;
        LONG e = open_key(w, root, "Objects", &objects);
        int r = 0;

        if (e == (LONG)ERROR_FILE_NOT_FOUND)
                return mb_error_set(err, MB_ECORRUPT, "BCD %s: not a BCD store: no Objects key",
                                    store);
        if (e != 0)
                return reg_error(err, e, "RegOpenKeyExW", store, "opening Objects");
        for (DWORD i = 0;; i++) {
                char name[KEY_NAME_MAX * 3];
                mb_bcd_object *nv;

                e = subkey_at(w, objects, i, name);
                if (e == (LONG)ERROR_NO_MORE_ITEMS)
                        break;
                if (e != 0) {
                        r = reg_error(err, e, "RegEnumKeyExW", store, "listing Objects");
                        break;
                }
                nv = mb_reallocarray(objs, n + 1, sizeof(*nv));
                if (!nv) {
                        r = mb_error_set(err, MB_ENOMEM, "out of memory");
                        break;
                }
                objs = nv;
                memset(&objs[n], 0, sizeof(objs[n]));
                n++;
                if ((r = read_object(w, objects, name, store, &objs[n - 1], err)) < 0)
                        break;
        }
        w->RegCloseKey(objects);
        if (r < 0) {
                mb_bcd_objects_free(objs, n);
                return r;
        }
        *ret = objs;
        *ret_n = n;
        return 0;
}

int mb_win_bcd_read_live(const mb_win32 *w, mb_bcd_object **ret, size_t *ret_n, mb_error *err)
{
        HKEY root;
        LONG e = open_key(w, HKEY_LOCAL_MACHINE, MB_WIN_BCD_LIVE_KEY, &root);
        int r;

        if (e != 0)
                return reg_error(err, e, "RegOpenKeyExW", "system store",
                                 "opening HKLM\\" MB_WIN_BCD_LIVE_KEY);
        r = read_root(w, root, "system store (HKLM\\" MB_WIN_BCD_LIVE_KEY ")", ret, ret_n, err);
        w->RegCloseKey(root);
        return r;
}

int mb_win_bcd_read_file(const mb_win32 *w, const char *path, mb_bcd_object **ret,
                         size_t *ret_n, DWORD *ret_load_error, mb_error *err)
{
        WCHAR *wp = mb_w_from_utf8(path);
        HKEY root;
        LONG e;
        int r;

        *ret_load_error = 0;
        if (!wp)
                return mb_error_set(err, MB_EINVAL, "BCD %s: path is not valid UTF-8", path);
        e = w->RegLoadAppKeyW(wp, &root, KEY_READ, 0, 0);
        free(wp);
        if (e != 0) {
                *ret_load_error = (DWORD)e;
                return mb_w_error(err, MB_EIO, (DWORD)e, "RegLoadAppKeyW",
                                  "BCD %s: cannot load the store", path);
        }
        r = read_root(w, root, path, ret, ret_n, err);
        w->RegCloseKey(root);   /* unloads the application hive */
        return r;
}
