/* SPDX-License-Identifier: MIT */
/*
 * The Virtual Disk Service walk ([MS-VDS]): providers, packs, volumes and
 * plexes, read through COM in the call table, giving each mirror plex its
 * disk and state for the facts.
 */
#include "vds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows_internal.h"

/* [MS-VDS] 1.9 (interfaces), and the loader class of the local service. */
const CLSID mb_CLSID_VdsLoader = { 0x9c38ed61, 0xd565, 0x4728, { 0xae, 0xee, 0xc8, 0x09, 0x52, 0xf0, 0xec, 0xde } };
const IID mb_IID_IVdsServiceLoader = { 0xe0393303, 0x90d4, 0x4a97, { 0xab, 0x71, 0xe9, 0xb6, 0x71, 0xee, 0x27, 0x29 } };
const IID mb_IID_IVdsService = { 0x0818a8ef, 0x9ba9, 0x40d8, { 0xa6, 0xf9, 0xe2, 0x28, 0x33, 0xcc, 0x77, 0x1e } };
const IID mb_IID_IEnumVdsObject = { 0x118610b7, 0x8d94, 0x4030, { 0xb5, 0xb8, 0x50, 0x08, 0x89, 0x78, 0x8e, 0x4e } };
const IID mb_IID_IVdsSwProvider = { 0x9aa58360, 0xce33, 0x4f92, { 0xb6, 0x58, 0xed, 0x24, 0xb1, 0x44, 0x25, 0xb8 } };
const IID mb_IID_IVdsPack = { 0x3b69d7f5, 0x9d94, 0x4648, { 0x91, 0xca, 0x79, 0x93, 0x9b, 0xa2, 0x63, 0xbf } };
const IID mb_IID_IVdsVolume = { 0x88306bb2, 0xe71f, 0x478c, { 0x86, 0xa2, 0x79, 0xda, 0x20, 0x0a, 0x0f, 0x11 } };
const IID mb_IID_IVdsVolumePlex = { 0x4daa0135, 0xe1d1, 0x40f1, { 0xaa, 0xa5, 0x3c, 0xc1, 0xe5, 0x32, 0x21, 0xc3 } };
const IID mb_IID_IVdsDisk = { 0x07e5c822, 0xf00c, 0x47a1, { 0x8f, 0xce, 0xb2, 0x44, 0xda, 0x56, 0xfd, 0x06 } };

/* x64 layouts of the structures VDS fills in (the same on the native test build). */
_Static_assert(sizeof(mb_vds_volume_plex_prop) == 48, "VDS_VOLUME_PLEX_PROP");
_Static_assert(offsetof(mb_vds_volume_plex_prop, size) == 32, "VDS_VOLUME_PLEX_PROP.ullSize");
_Static_assert(sizeof(mb_vds_disk_extent) == 80, "VDS_DISK_EXTENT");
_Static_assert(offsetof(mb_vds_disk_extent, offset) == 24, "VDS_DISK_EXTENT.ullOffset");
_Static_assert(offsetof(mb_vds_disk_extent, member_index) == 72, "VDS_DISK_EXTENT.memberIdx");
_Static_assert(offsetof(mb_vds_disk_prop, size) == 40, "VDS_DISK_PROP.ullSize");
_Static_assert(offsetof(mb_vds_disk_prop, u) == 72, "VDS_DISK_PROP.DiskGuid");
_Static_assert(offsetof(mb_vds_disk_prop, name) == 96, "VDS_DISK_PROP.pwszName");
_Static_assert(sizeof(mb_vds_disk_prop) == 128, "VDS_DISK_PROP");

#define RPC_E_CHANGED_MODE_ ((HRESULT)0x80010106u)
#define RPC_C_AUTHN_LEVEL_PKT_PRIVACY_ 6u
#define RPC_C_IMP_LEVEL_IMPERSONATE_ 3u
#define S_FALSE_ 1

#define VT(obj, type) ((const type *)((const mb_vds_obj *)(obj))->vtbl)

typedef struct walk {
        const mb_win32 *w;
        void *service;
        mb_win_vds_plex *v;
        size_t n;
        struct { GUID id; int32_t number; } disks[64];
        size_t n_disks;
        mb_error *err;
} walk;

static void release(void *obj)
{
        if (obj)
                VT(obj, mb_vds_unknown_vtbl)->Release(obj);
}

static int hr_error(walk *k, HRESULT hr, const char *what)
{
        return mb_error_set(k->err, MB_EIO, "Virtual Disk Service: %s failed (HRESULT 0x%08lx)", what,
                            (unsigned long)(uint32_t)hr);
}

static int query(walk *k, void *obj, const IID *iid, const char *name, void **ret)
{
        HRESULT hr = VT(obj, mb_vds_unknown_vtbl)->QueryInterface(obj, iid, ret);

        if (FAILED(hr) || !*ret) {
                char what[64];

                snprintf(what, sizeof(what), "QueryInterface(%s)", name);
                return hr_error(k, hr, what);
        }
        return 0;
}

/* The next object of an IEnumVdsObject: 1 and *ret, 0 at the end. */
static int next(walk *k, void *e, void **ret)
{
        ULONG fetched = 0;
        HRESULT hr;

        *ret = NULL;
        hr = VT(e, mb_vds_enum_vtbl)->Next(e, 1, ret, &fetched);
        if (FAILED(hr))
                return hr_error(k, hr, "IEnumVdsObject::Next");
        return hr == S_OK && fetched == 1 && *ret ? 1 : 0;
}

/* "\\?\PhysicalDriveN" (or "\\.\PhysicalDriveN") -> N; -1 otherwise. */
static int32_t drive_number(const WCHAR *name)
{
        char *s = name ? mb_w_to_utf8(name) : NULL;
        unsigned n;
        int32_t r = -1;
        char tail;

        if (s && (sscanf(s, "\\\\?\\PhysicalDrive%u%c", &n, &tail) == 1 ||
                  sscanf(s, "\\\\.\\PhysicalDrive%u%c", &n, &tail) == 1) && n < 4096)
                r = (int32_t)n;
        free(s);
        return r;
}

/* The Windows disk number of the VDS disk object id (-1: not present). */
static int disk_number(walk *k, const GUID *id, int32_t *ret)
{
        void *unk = NULL, *disk = NULL;
        mb_vds_disk_prop p;
        HRESULT hr;
        int r;

        for (size_t i = 0; i < k->n_disks; i++)
                if (memcmp(&k->disks[i].id, id, sizeof(*id)) == 0) {
                        *ret = k->disks[i].number;
                        return 0;
                }
        *ret = -1;
        hr = VT(k->service, mb_vds_service_vtbl)->GetVdsObject(k->service, *id, MB_VDS_OT_DISK, &unk);
        if (FAILED(hr) || !unk)
                return 0;       /* a disk VDS no longer has (missing): not a present disk */
        r = query(k, unk, &mb_IID_IVdsDisk, "IVdsDisk", &disk);
        release(unk);
        if (r < 0)
                return r;
        memset(&p, 0, sizeof(p));
        hr = VT(disk, mb_vds_disk_vtbl)->GetProperties(disk, &p);
        release(disk);
        if (FAILED(hr))
                return hr_error(k, hr, "IVdsDisk::GetProperties");
        *ret = drive_number(p.name);
        k->w->CoTaskMemFree(p.disk_address);
        k->w->CoTaskMemFree(p.name);
        k->w->CoTaskMemFree(p.friendly_name);
        k->w->CoTaskMemFree(p.adaptor_name);
        k->w->CoTaskMemFree(p.device_path);
        if (k->n_disks < sizeof(k->disks) / sizeof(k->disks[0])) {
                k->disks[k->n_disks].id = *id;
                k->disks[k->n_disks++].number = *ret;
        }
        return 0;
}

/* The plex's fact (see vds.h); false when VDS cannot tell its health. */
static bool plex_state(const mb_vds_volume_plex_prop *p, mb_plex_state *ret)
{
        if (p->status == MB_VDS_VPS_NO_MEDIA)
                *ret = MB_PLEX_MISSING;
        else if (p->status == MB_VDS_VPS_FAILED)
                *ret = MB_PLEX_FAILED;
        else if (p->health == MB_VDS_H_UNKNOWN)
                return false;
        else if (p->health == MB_VDS_H_HEALTHY)
                *ret = MB_PLEX_HEALTHY;
        else if (p->health == MB_VDS_H_REBUILDING)
                *ret = MB_PLEX_RESYNCING;
        else
                *ret = MB_PLEX_FAILED;
        return true;
}

static int walk_plex(walk *k, void *plex)
{
        mb_vds_volume_plex_prop p;
        mb_vds_disk_extent *ext = NULL;
        mb_plex_state state;
        LONG n = 0;
        HRESULT hr;
        int r = 0;

        memset(&p, 0, sizeof(p));
        hr = VT(plex, mb_vds_plex_vtbl)->GetProperties(plex, &p);
        if (FAILED(hr))
                return hr_error(k, hr, "IVdsVolumePlex::GetProperties");
        if (!plex_state(&p, &state))
                return 0;
        hr = VT(plex, mb_vds_plex_vtbl)->QueryExtents(plex, &ext, &n);
        if (FAILED(hr))
                return hr_error(k, hr, "IVdsVolumePlex::QueryExtents");
        for (LONG i = 0; i < n && r == 0; i++) {
                mb_win_vds_plex *nv = mb_reallocarray(k->v, k->n + 1, sizeof(*nv));

                if (!nv) {
                        r = mb_error_set(k->err, MB_ENOMEM, "out of memory");
                        break;
                }
                k->v = nv;
                memset(&nv[k->n], 0, sizeof(nv[k->n]));
                r = disk_number(k, &ext[i].disk_id, &nv[k->n].disk);
                nv[k->n].offset = ext[i].offset;
                nv[k->n].length = ext[i].size;
                nv[k->n].state = state;
                nv[k->n].percent = nv[k->n].state == MB_PLEX_HEALTHY ? 100 : 0;
                if (r == 0)
                        k->n++;
        }
        k->w->CoTaskMemFree(ext);
        return r;
}

/* Calls each(k, object) for every object of the enumeration that answers iid. */
static int each(walk *k, void *e, const IID *iid, const char *name, int (*fn)(walk *, void *))
{
        void *unk, *obj;
        int r;

        while ((r = next(k, e, &unk)) == 1) {
                r = query(k, unk, iid, name, &obj);
                release(unk);
                if (r == 0) {
                        r = fn(k, obj);
                        release(obj);
                }
                if (r < 0)
                        break;
        }
        return r < 0 ? r : 0;
}

static int walk_volume(walk *k, void *vol)
{
        void *e = NULL;
        HRESULT hr = VT(vol, mb_vds_volume_vtbl)->QueryPlexes(vol, &e);
        int r;

        if (FAILED(hr) || !e)
                return hr_error(k, hr, "IVdsVolume::QueryPlexes");
        r = each(k, e, &mb_IID_IVdsVolumePlex, "IVdsVolumePlex", walk_plex);
        release(e);
        return r;
}

static int walk_pack(walk *k, void *pack)
{
        void *e = NULL;
        HRESULT hr = VT(pack, mb_vds_pack_vtbl)->QueryVolumes(pack, &e);
        int r;

        if (FAILED(hr) || !e)
                return hr_error(k, hr, "IVdsPack::QueryVolumes");
        r = each(k, e, &mb_IID_IVdsVolume, "IVdsVolume", walk_volume);
        release(e);
        return r;
}

static int walk_provider(walk *k, void *prov)
{
        void *e = NULL;
        HRESULT hr = VT(prov, mb_vds_sw_provider_vtbl)->QueryPacks(prov, &e);
        int r;

        if (FAILED(hr) || !e)
                return hr_error(k, hr, "IVdsSwProvider::QueryPacks");
        r = each(k, e, &mb_IID_IVdsPack, "IVdsPack", walk_pack);
        release(e);
        return r;
}

int mb_win_vds_read(const mb_win32 *w, mb_win_vds_plex **ret, size_t *ret_n, mb_error *err)
{
        walk k;
        void *loader = NULL, *e = NULL;
        HRESULT init, hr;
        int r = 0;

        memset(&k, 0, sizeof(k));
        k.w = w;
        k.err = err;
        init = w->CoInitializeEx(NULL, COINIT_MULTITHREADED);
        if (FAILED(init) && init != RPC_E_CHANGED_MODE_)
                return hr_error(&k, init, "CoInitializeEx");
        /* The service impersonates its caller to check for administrators;
         * RPC_E_TOO_LATE (set already by this process) is fine. */
        w->CoInitializeSecurity(NULL, -1, NULL, NULL, RPC_C_AUTHN_LEVEL_PKT_PRIVACY_,
                                RPC_C_IMP_LEVEL_IMPERSONATE_, NULL, 0, NULL);
        hr = w->CoCreateInstance(&mb_CLSID_VdsLoader, NULL, CLSCTX_LOCAL_SERVER,
                                 &mb_IID_IVdsServiceLoader, &loader);
        if (FAILED(hr) || !loader) {
                r = hr_error(&k, hr, "CoCreateInstance(VdsLoader)");
                goto out;
        }
        hr = VT(loader, mb_vds_loader_vtbl)->LoadService(loader, NULL, &k.service);
        release(loader);
        if (FAILED(hr) || !k.service) {
                r = hr_error(&k, hr, "IVdsServiceLoader::LoadService");
                goto out;
        }
        hr = VT(k.service, mb_vds_service_vtbl)->WaitForServiceReady(k.service);
        if (FAILED(hr)) {
                r = hr_error(&k, hr, "IVdsService::WaitForServiceReady");
                goto out;
        }
        hr = VT(k.service, mb_vds_service_vtbl)->QueryProviders(k.service, MB_VDS_QUERY_SOFTWARE_PROVIDERS, &e);
        if (FAILED(hr) || !e) {
                r = hr_error(&k, hr, "IVdsService::QueryProviders");
                goto out;
        }
        r = each(&k, e, &mb_IID_IVdsSwProvider, "IVdsSwProvider", walk_provider);
        release(e);
out:
        release(k.service);
        if (SUCCEEDED(init))
                w->CoUninitialize();
        if (r < 0) {
                free(k.v);
                return r;
        }
        *ret = k.v;
        *ret_n = k.n;
        return 0;
}

void mb_win_vds_apply(mb_facts *f, const mb_win_vds_plex *v, size_t n)
{
        for (uint32_t i = 0; i < f->n_volumes; i++)
                for (uint32_t j = 0; j < f->volumes[i].n_plexes; j++) {
                        mb_plex_fact *x = &f->volumes[i].plexes[j];

                        if (x->disk < 0)
                                continue;
                        for (size_t k = 0; k < n; k++)
                                if (v[k].disk == x->disk && v[k].offset == x->offset) {
                                        x->state = v[k].state;
                                        x->percent = v[k].percent;
                                        break;
                                }
                }
}
