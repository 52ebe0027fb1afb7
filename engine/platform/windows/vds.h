/* SPDX-License-Identifier: MIT */
#ifndef MB_WIN_VDS_H
#define MB_WIN_VDS_H

/*
 * The part of the Virtual Disk Service COM API that reads plex health,
 * declared from the open specification ([MS-VDS], "Virtual Disk Service
 * (VDS) Protocol": interface UUIDs in its section 1.9, method order in its
 * IDL) because mingw-w64's vds.h declares no interfaces. Vtables are plain C
 * structs in the IDL's method order; methods mbstate does not call keep
 * their slot with a placeholder type. Names carry an mb_ prefix so they
 * never meet the SDK's.
 *
 * Every call goes through the mb_win32 table (CoInitializeEx,
 * CoCreateInstance, CoTaskMemFree) and the interfaces' vtables, so the
 * tests drive this with fake COM objects that implement these vtables.
 */

#include <stddef.h>
#include <stdint.h>

#include "win32_table.h"
#include "facts.h"

typedef GUID mb_vds_object_id;

/* VDS_HEALTH, VDS_VOLUME_PLEX_STATUS, VDS_OBJECT_TYPE, provider masks. */
enum {
        MB_VDS_H_UNKNOWN = 0, MB_VDS_H_HEALTHY = 1, MB_VDS_H_REBUILDING = 2, MB_VDS_H_STALE = 3,
        MB_VDS_H_FAILING = 4, MB_VDS_H_FAILING_REDUNDANCY = 5, MB_VDS_H_FAILED_REDUNDANCY = 6,
        MB_VDS_H_FAILED_REDUNDANCY_FAILING = 7, MB_VDS_H_FAILED = 8, MB_VDS_H_REPLACED = 9,
        MB_VDS_H_PENDING_FAILURE = 10, MB_VDS_H_DEGRADED = 11,
};
enum { MB_VDS_VPS_UNKNOWN = 0, MB_VDS_VPS_ONLINE = 1, MB_VDS_VPS_NO_MEDIA = 3, MB_VDS_VPS_FAILED = 5 };
enum { MB_VDS_OT_DISK = 13 };
#define MB_VDS_QUERY_SOFTWARE_PROVIDERS 0x1u

/* VDS_VOLUME_PLEX_PROP: no rebuild percentage; [MS-VDS] reports resync
 * progress only in VDS_VOLUME_NOTIFICATION (ulPercentCompleted) to an
 * IVdsAdviseSink, which mbstate does not register. */
typedef struct mb_vds_volume_plex_prop {
        mb_vds_object_id id;
        int32_t type;           /* VDS_VOLUME_PLEX_TYPE */
        int32_t status;         /* VDS_VOLUME_PLEX_STATUS */
        int32_t health;         /* VDS_HEALTH */
        int32_t transition_state;
        uint64_t size;
        uint32_t stripe_size;
        uint32_t n_members;
} mb_vds_volume_plex_prop;

typedef struct mb_vds_disk_extent {
        mb_vds_object_id disk_id;
        int32_t type;           /* VDS_DISK_EXTENT_TYPE */
        uint64_t offset;        /* bytes from the start of the disk */
        uint64_t size;
        mb_vds_object_id volume_id;
        mb_vds_object_id plex_id;
        uint32_t member_index;
} mb_vds_disk_extent;

typedef struct mb_vds_disk_prop {
        mb_vds_object_id id;
        int32_t status, reserve_mode, health;
        DWORD device_type, media_type;
        uint64_t size;
        ULONG bytes_per_sector, sectors_per_track, tracks_per_cylinder, flags;
        int32_t bus_type, partition_style;
        union {
                DWORD signature;
                GUID disk_guid;
        } u;
        LPWSTR disk_address;
        LPWSTR name;            /* "\\?\PhysicalDriveN" */
        LPWSTR friendly_name;
        LPWSTR adaptor_name;
        LPWSTR device_path;
} mb_vds_disk_prop;

typedef HRESULT (WINAPI *mb_vds_unused)(void *self);

#define MB_VDS_IUNKNOWN                                                                  \
        HRESULT (WINAPI *QueryInterface)(void *self, REFIID iid, void **ret);            \
        ULONG (WINAPI *AddRef)(void *self);                                              \
        ULONG (WINAPI *Release)(void *self)

typedef struct mb_vds_unknown_vtbl { MB_VDS_IUNKNOWN; } mb_vds_unknown_vtbl;

typedef struct mb_vds_loader_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *LoadService)(void *self, LPWSTR machine, void **ret_service);
} mb_vds_loader_vtbl;

typedef struct mb_vds_service_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *IsServiceReady)(void *self);
        HRESULT (WINAPI *WaitForServiceReady)(void *self);
        mb_vds_unused GetProperties;
        HRESULT (WINAPI *QueryProviders)(void *self, DWORD masks, void **ret_enum);
        mb_vds_unused QueryMaskedDisks;
        mb_vds_unused QueryUnallocatedDisks;
        HRESULT (WINAPI *GetVdsObject)(void *self, mb_vds_object_id id, int32_t type, void **ret_unknown); /* GetObject */
        mb_vds_unused QueryDriveLetters, QueryFileSystemTypes, Reenumerate, Refresh,
                CleanupObsoleteMountPoints, Advise, Unadvise, Reboot, SetFlags, ClearFlags;
} mb_vds_service_vtbl;

typedef struct mb_vds_enum_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *Next)(void *self, ULONG count, void **ret_objects, ULONG *ret_fetched);
        mb_vds_unused Skip, Reset, Clone;
} mb_vds_enum_vtbl;

typedef struct mb_vds_sw_provider_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *QueryPacks)(void *self, void **ret_enum);
        mb_vds_unused CreatePack;
} mb_vds_sw_provider_vtbl;

typedef struct mb_vds_pack_vtbl {
        MB_VDS_IUNKNOWN;
        mb_vds_unused GetProperties, GetProvider;
        HRESULT (WINAPI *QueryVolumes)(void *self, void **ret_enum);
        mb_vds_unused QueryDisks, CreateVolume, AddDisk, MigrateDisks, ReplaceDisk,
                RemoveMissingDisk, Recover;
} mb_vds_pack_vtbl;

typedef struct mb_vds_volume_vtbl {
        MB_VDS_IUNKNOWN;
        mb_vds_unused GetProperties, GetPack;
        HRESULT (WINAPI *QueryPlexes)(void *self, void **ret_enum);
        mb_vds_unused Extend, Shrink, AddPlex, BreakPlex, RemovePlex, Delete, SetFlags, ClearFlags;
} mb_vds_volume_vtbl;

typedef struct mb_vds_plex_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *GetProperties)(void *self, mb_vds_volume_plex_prop *ret);
        mb_vds_unused GetVolume;
        HRESULT (WINAPI *QueryExtents)(void *self, mb_vds_disk_extent **ret, LONG *ret_n);
        mb_vds_unused Repair;
} mb_vds_plex_vtbl;

typedef struct mb_vds_disk_vtbl {
        MB_VDS_IUNKNOWN;
        HRESULT (WINAPI *GetProperties)(void *self, mb_vds_disk_prop *ret);
        mb_vds_unused GetPack, GetIdentificationData, QueryExtents, ConvertStyle, SetFlags, ClearFlags;
} mb_vds_disk_vtbl;

/* An interface pointer: what COM hands out points at its vtable pointer. */
typedef struct mb_vds_obj {
        const void *vtbl;
} mb_vds_obj;

extern const CLSID mb_CLSID_VdsLoader;
extern const IID mb_IID_IVdsServiceLoader, mb_IID_IVdsService, mb_IID_IEnumVdsObject,
        mb_IID_IVdsSwProvider, mb_IID_IVdsPack, mb_IID_IVdsVolume, mb_IID_IVdsVolumePlex,
        mb_IID_IVdsDisk;

/* One plex extent as VDS sees it. */
typedef struct mb_win_vds_plex {
        int32_t disk;           /* disk number, -1 when VDS names no present disk */
        uint64_t offset, length;
        mb_plex_state state;
        uint32_t percent;
} mb_win_vds_plex;

/*
 * Every plex of every volume of the software (dynamic disk) provider, with
 * its state: VDS_VPS_NO_MEDIA -> missing, VDS_VPS_FAILED -> failed; then by
 * VDS_HEALTH: healthy -> healthy, rebuilding -> resyncing (percent 0: VDS
 * does not say how far), unknown -> not reported (the LDM database's word
 * stands), every other value (stale, failing, failing or failed redundancy,
 * failed, pending failure, degraded, and values Windows may add) -> failed:
 * a plex Windows does not call healthy is never reported healthy. *ret is
 * malloc'd.
 */
int mb_win_vds_read(const mb_win32 *w, mb_win_vds_plex **ret, size_t *ret_n, mb_error *err);

/* Sets the state of every present plex of f's volumes that VDS reports at
 * the same disk and offset. */
void mb_win_vds_apply(mb_facts *f, const mb_win_vds_plex *v, size_t n);

#endif
