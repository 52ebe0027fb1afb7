/* SPDX-License-Identifier: MIT */
/*
 * The Virtual Disk Service in recordings (win32_record.h). VDS is COM: the
 * facts read gets interface pointers from CoCreateInstance and calls their
 * vtables, which the call table never sees. The seam chosen is the
 * interface pointer itself: every object CoCreateInstance or a recorded
 * method hands out is replaced by a proxy with the same vtable layout
 * (vds.h), whose methods are calls of the recording ("IVdsVolumePlex::
 * GetProperties" with "> self o7"). So the recording holds what VDS
 * answered, field for field (VDS_VOLUME_PLEX_PROP, VDS_DISK_EXTENT arrays,
 * VDS_DISK_PROP with its strings), and vds.c's own logic (health mapping,
 * disk numbers) runs again on replay. Methods vds.h leaves untyped answer
 * E_NOTIMPL through a proxy: the facts read does not call them.
 */
#include "win32_record_int.h"

#include <stdlib.h>
#include <string.h>

#include "vds.h"

#define E_NOTIMPL_ ((HRESULT)0x80004001u)
#define E_FAIL_ ((HRESULT)0x80004005u)
#define VT(obj, type) ((const type *)((const mb_vds_obj *)(obj))->vtbl)

typedef struct proxy {
        const void *vtbl;       /* first, as in every COM object */
        void *inner;            /* the object recorded; NULL when replaying */
        unsigned id;
        struct proxy *next;
} proxy;

static proxy *all;

unsigned mb_rec_proxy_id(const void *p)
{
        return ((const proxy *)p)->id;
}

void mb_rec_proxies_free(void)
{
        while (all) {
                proxy *n = all->next;

                free(all);
                all = n;
        }
}

#define SELF(c, self) mb_rec_in_obj(c, "self", self)
#define INNER(self) (((proxy *)(self))->inner)

static void ret_hr(mb_rec_call *c, HRESULT *hr)
{
        int32_t v = *hr;

        mb_rec_ret_i32(c, &v);
        *hr = v;
}

static HRESULT WINAPI p_unused(void *self)
{
        (void)self;
        return E_NOTIMPL_;
}

static HRESULT WINAPI p_QueryInterface(void *self, REFIID iid, void **ret)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IUnknown::QueryInterface", E_FAIL_);
        SELF(c, self);
        mb_rec_in_guid(c, "interface", iid);
        LIVE(hr = VT(INNER(self), mb_vds_unknown_vtbl)->QueryInterface(INNER(self), iid, ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_obj(c, "object", ret, iid);
        END(hr, E_FAIL_);
}

static ULONG WINAPI p_AddRef(void *self)
{
        DWORD n = 0;

        BEGIN("IUnknown::AddRef", 0);
        SELF(c, self);
        LIVE(n = VT(INNER(self), mb_vds_unknown_vtbl)->AddRef(INNER(self)));
        mb_rec_out_u32(c, "return", &n);
        END(n, 0);
}

static ULONG WINAPI p_Release(void *self)
{
        DWORD n = 0;

        BEGIN("IUnknown::Release", 0);
        SELF(c, self);
        LIVE(n = VT(INNER(self), mb_vds_unknown_vtbl)->Release(INNER(self)));
        mb_rec_out_u32(c, "return", &n);
        END(n, 0);
}

/* A method that hands out one object: name, the inner call, its interface. */
#define OBJECT_METHOD(fn, name, vtype, method, iid)                                     \
        static HRESULT WINAPI fn(void *self, void **ret)                                \
        {                                                                               \
                HRESULT hr = E_FAIL_;                                                   \
                                                                                        \
                BEGIN(name, E_FAIL_);                                                   \
                SELF(c, self);                                                          \
                LIVE(hr = VT(INNER(self), vtype)->method(INNER(self), ret));            \
                ret_hr(c, &hr);                                                         \
                if (SUCCEEDED(hr))                                                      \
                        mb_rec_out_obj(c, "object", ret, iid);                          \
                END(hr, E_FAIL_);                                                       \
        }

OBJECT_METHOD(p_QueryPacks, "IVdsSwProvider::QueryPacks", mb_vds_sw_provider_vtbl, QueryPacks,
              &mb_IID_IEnumVdsObject)
OBJECT_METHOD(p_QueryVolumes, "IVdsPack::QueryVolumes", mb_vds_pack_vtbl, QueryVolumes,
              &mb_IID_IEnumVdsObject)
OBJECT_METHOD(p_QueryPlexes, "IVdsVolume::QueryPlexes", mb_vds_volume_vtbl, QueryPlexes,
              &mb_IID_IEnumVdsObject)

static HRESULT WINAPI p_LoadService(void *self, LPWSTR machine, void **ret)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsServiceLoader::LoadService", E_FAIL_);
        SELF(c, self);
        mb_rec_in_wstr(c, "machine", machine);
        LIVE(hr = VT(INNER(self), mb_vds_loader_vtbl)->LoadService(INNER(self), machine, ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_obj(c, "object", ret, &mb_IID_IVdsService);
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_IsServiceReady(void *self)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsService::IsServiceReady", E_FAIL_);
        SELF(c, self);
        LIVE(hr = VT(INNER(self), mb_vds_service_vtbl)->IsServiceReady(INNER(self)));
        ret_hr(c, &hr);
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_WaitForServiceReady(void *self)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsService::WaitForServiceReady", E_FAIL_);
        SELF(c, self);
        LIVE(hr = VT(INNER(self), mb_vds_service_vtbl)->WaitForServiceReady(INNER(self)));
        ret_hr(c, &hr);
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_QueryProviders(void *self, DWORD masks, void **ret)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsService::QueryProviders", E_FAIL_);
        SELF(c, self);
        mb_rec_in_x(c, "masks", masks);
        LIVE(hr = VT(INNER(self), mb_vds_service_vtbl)->QueryProviders(INNER(self), masks, ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_obj(c, "object", ret, &mb_IID_IEnumVdsObject);
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_GetVdsObject(void *self, mb_vds_object_id id, int32_t type, void **ret)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsService::GetObject", E_FAIL_);
        SELF(c, self);
        mb_rec_in_guid(c, "id", &id);
        mb_rec_in_u(c, "type", (unsigned)type);
        LIVE(hr = VT(INNER(self), mb_vds_service_vtbl)->GetVdsObject(INNER(self), id, type, ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_obj(c, "object", ret, NULL);
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_Next(void *self, ULONG count, void **ret, ULONG *ret_fetched)
{
        HRESULT hr = E_FAIL_;
        DWORD fetched = 0;

        BEGIN("IEnumVdsObject::Next", E_FAIL_);
        SELF(c, self);
        mb_rec_in_u(c, "count", count);
        LIVE(hr = VT(INNER(self), mb_vds_enum_vtbl)->Next(INNER(self), count, ret, ret_fetched));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr)) {
                if (ret_fetched)
                        fetched = *ret_fetched;
                mb_rec_out_u32(c, "fetched", &fetched);
                if (ret_fetched)
                        *ret_fetched = fetched;
                for (DWORD i = 0; i < fetched && i < count; i++)
                        mb_rec_out_obj(c, "object", &ret[i], NULL);
        }
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_PlexGetProperties(void *self, mb_vds_volume_plex_prop *ret)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsVolumePlex::GetProperties", E_FAIL_);
        SELF(c, self);
        LIVE(hr = VT(INNER(self), mb_vds_plex_vtbl)->GetProperties(INNER(self), ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_bytes(c, "properties", ret, sizeof(*ret), sizeof(*ret));
        END(hr, E_FAIL_);
}

static HRESULT WINAPI p_QueryExtents(void *self, mb_vds_disk_extent **ret, LONG *ret_n)
{
        HRESULT hr = E_FAIL_;

        BEGIN("IVdsVolumePlex::QueryExtents", E_FAIL_);
        SELF(c, self);
        LIVE(hr = VT(INNER(self), mb_vds_plex_vtbl)->QueryExtents(INNER(self), ret, ret_n));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr))
                mb_rec_out_coarray(c, "extents", (void **)ret, sizeof(**ret), ret_n);
        END(hr, E_FAIL_);
}

/* VDS_DISK_PROP: the fixed fields as bytes (the string pointers zero), then
 * each string. */
static HRESULT WINAPI p_DiskGetProperties(void *self, mb_vds_disk_prop *ret)
{
        HRESULT hr = E_FAIL_;
        mb_vds_disk_prop fixed;

        BEGIN("IVdsDisk::GetProperties", E_FAIL_);
        SELF(c, self);
        LIVE(hr = VT(INNER(self), mb_vds_disk_vtbl)->GetProperties(INNER(self), ret));
        ret_hr(c, &hr);
        if (SUCCEEDED(hr)) {
                fixed = *ret;
                fixed.disk_address = fixed.name = fixed.friendly_name = fixed.adaptor_name =
                        fixed.device_path = NULL;
                mb_rec_out_bytes(c, "properties", &fixed, sizeof(fixed), sizeof(fixed));
                if (!mb_rec_live(c))
                        *ret = fixed;
                mb_rec_out_costr(c, "disk_address", &ret->disk_address);
                mb_rec_out_costr(c, "name", &ret->name);
                mb_rec_out_costr(c, "friendly_name", &ret->friendly_name);
                mb_rec_out_costr(c, "adaptor_name", &ret->adaptor_name);
                mb_rec_out_costr(c, "device_path", &ret->device_path);
        }
        END(hr, E_FAIL_);
}

#define UNKNOWN_SLOTS .QueryInterface = p_QueryInterface, .AddRef = p_AddRef, .Release = p_Release

static const mb_vds_unknown_vtbl v_unknown = { UNKNOWN_SLOTS };
static const mb_vds_loader_vtbl v_loader = { UNKNOWN_SLOTS, .LoadService = p_LoadService };
static const mb_vds_service_vtbl v_service = {
        UNKNOWN_SLOTS, .IsServiceReady = p_IsServiceReady,
        .WaitForServiceReady = p_WaitForServiceReady, .GetProperties = p_unused,
        .QueryProviders = p_QueryProviders, .QueryMaskedDisks = p_unused,
        .QueryUnallocatedDisks = p_unused, .GetVdsObject = p_GetVdsObject,
        .QueryDriveLetters = p_unused, .QueryFileSystemTypes = p_unused, .Reenumerate = p_unused,
        .Refresh = p_unused, .CleanupObsoleteMountPoints = p_unused, .Advise = p_unused,
        .Unadvise = p_unused, .Reboot = p_unused, .SetFlags = p_unused, .ClearFlags = p_unused,
};
static const mb_vds_enum_vtbl v_enum = { UNKNOWN_SLOTS, .Next = p_Next, .Skip = p_unused,
                                         .Reset = p_unused, .Clone = p_unused };
static const mb_vds_sw_provider_vtbl v_provider = { UNKNOWN_SLOTS, .QueryPacks = p_QueryPacks,
                                                    .CreatePack = p_unused };
static const mb_vds_pack_vtbl v_pack = {
        UNKNOWN_SLOTS, .GetProperties = p_unused, .GetProvider = p_unused,
        .QueryVolumes = p_QueryVolumes, .QueryDisks = p_unused, .CreateVolume = p_unused,
        .AddDisk = p_unused, .MigrateDisks = p_unused, .ReplaceDisk = p_unused,
        .RemoveMissingDisk = p_unused, .Recover = p_unused,
};
static const mb_vds_volume_vtbl v_volume = {
        UNKNOWN_SLOTS, .GetProperties = p_unused, .GetPack = p_unused, .QueryPlexes = p_QueryPlexes,
        .Extend = p_unused, .Shrink = p_unused, .AddPlex = p_unused, .BreakPlex = p_unused,
        .RemovePlex = p_unused, .Delete = p_unused, .SetFlags = p_unused, .ClearFlags = p_unused,
};
static const mb_vds_plex_vtbl v_plex = { UNKNOWN_SLOTS, .GetProperties = p_PlexGetProperties,
                                         .GetVolume = p_unused, .QueryExtents = p_QueryExtents,
                                         .Repair = p_unused };
static const mb_vds_disk_vtbl v_disk = {
        UNKNOWN_SLOTS, .GetProperties = p_DiskGetProperties, .GetPack = p_unused,
        .GetIdentificationData = p_unused, .QueryExtents = p_unused, .ConvertStyle = p_unused,
        .SetFlags = p_unused, .ClearFlags = p_unused,
};

/* The methods of interface iid (IUnknown's for an unknown or NULL iid). */
static const void *vtbl_for(const IID *iid)
{
        static const struct { const IID *iid; const void *vtbl; } map[] = {
                { &mb_IID_IVdsServiceLoader, &v_loader },
                { &mb_IID_IVdsService, &v_service },
                { &mb_IID_IEnumVdsObject, &v_enum },
                { &mb_IID_IVdsSwProvider, &v_provider },
                { &mb_IID_IVdsPack, &v_pack },
                { &mb_IID_IVdsVolume, &v_volume },
                { &mb_IID_IVdsVolumePlex, &v_plex },
                { &mb_IID_IVdsDisk, &v_disk },
        };

        for (size_t i = 0; iid && i < sizeof(map) / sizeof(map[0]); i++)
                if (memcmp(iid, map[i].iid, sizeof(*iid)) == 0)
                        return map[i].vtbl;
        return &v_unknown;
}

void *mb_rec_proxy_new(void *inner, const IID *iid, unsigned id)
{
        proxy *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->vtbl = vtbl_for(iid);
        p->inner = inner;
        p->id = id;
        p->next = all;
        all = p;
        return p;
}
