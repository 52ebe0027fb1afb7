/* SPDX-License-Identifier: MIT */
/*
 * mb_bcd_build_windows_store(): the system store of a fresh UEFI Windows
 * Server 2022 install, as `bcdedit /enum all` shows it (element numbers are
 * in bcd.h).
 */
#include "bcd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BOOTMGR               "9dea862c-5cdd-4e70-acc1-f32b344d4795"
#define FWBOOTMGR             "a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba"
#define MEMDIAG               "b2721d73-1db4-4c62-bf78-c548a880142d"
#define GLOBALSETTINGS        "7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e"
#define BOOTLOADERSETTINGS    "6efb52bf-1766-41db-a6b3-0ee5eff72bd7"
#define RESUMELOADERSETTINGS  "1afa9c49-16ab-4a5c-901b-212802da9460"
#define DBGSETTINGS           "4636856e-540f-4170-a130-a84776f4c654"
#define EMSSETTINGS           "0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9"
#define BADMEMORY             "5189b25c-5558-4bf2-bca4-289b11bd29e2"
#define HYPERVISORSETTINGS    "7ff607e0-4395-11db-b0de-0800200c9a66"

static mb_guid G(const char *s)
{
        mb_guid g;

        if (mb_guid_parse(s, &g) != 0)
                memset(&g, 0, sizeof(g));
        return g;
}

static mb_bcd_device part(const mb_guid *disk, const mb_guid *p)
{
        mb_bcd_device d;

        memset(&d, 0, sizeof(d));
        d.kind = MB_BCD_DEV_PARTITION;
        d.disk_guid = *disk;
        d.partition_guid = *p;
        return d;
}

#define TRY(x) do { if ((r = (x)) < 0) goto fail; } while (0)

static int populate(mb_bcd *b, const mb_guid *esp_disk, const mb_guid *esp_part,
                    const mb_guid *os_disk, const mb_guid *os_part, const mb_guid *re_part,
                    mb_error *err)
{
        const mb_guid bootmgr = G(BOOTMGR), fwbootmgr = G(FWBOOTMGR), memdiag = G(MEMDIAG),
                      global = G(GLOBALSETTINGS), bls = G(BOOTLOADERSETTINGS),
                      rls = G(RESUMELOADERSETTINGS), dbg = G(DBGSETTINGS), ems = G(EMSSETTINGS),
                      bad = G(BADMEMORY), hv = G(HYPERVISORSETTINGS),
                      resume = G(MB_BCD_SEED_RESUME_GUID), loader = G(MB_BCD_SEED_LOADER_GUID),
                      winre = G(MB_BCD_SEED_WINRE_GUID), ramdisk = G(MB_BCD_SEED_RAMDISK_GUID);
        const mb_bcd_device esp = part(esp_disk, esp_part), os = part(os_disk, os_part);
        const mb_bcd_device re_sdi = part(os_disk, re_part ? re_part : os_part);
        mb_bcd_device re_dev = re_sdi;
        const mb_guid global_inherit[] = { dbg, ems, bad };
        const mb_guid bls_inherit[] = { global, hv };
        const uint64_t inmem[] = { 0x15000075 };
        int r;

        re_dev.kind = MB_BCD_DEV_RAMDISK;
        re_dev.options_id = ramdisk;
        snprintf(re_dev.ramdisk_path, sizeof(re_dev.ramdisk_path), "%s",
                 "\\Recovery\\WindowsRE\\Winre.wim");

        /* {fwbootmgr} */
        TRY(mb_bcd_create_object(b, &fwbootmgr, MB_BCD_TYPE_FWBOOTMGR, NULL, err));
        TRY(mb_bcd_set_object_list(b, &fwbootmgr, MB_BCDE_BOOTMGR_DISPLAYORDER, &bootmgr, 1, err));

        /* {bootmgr} */
        TRY(mb_bcd_create_object(b, &bootmgr, MB_BCD_TYPE_BOOTMGR, "Windows Boot Manager", err));
        TRY(mb_bcd_set_device(b, &bootmgr, MB_BCDE_DEVICE, &esp, err));
        TRY(mb_bcd_set_string(b, &bootmgr, MB_BCDE_PATH, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi", err));
        TRY(mb_bcd_set_string(b, &bootmgr, MB_BCDE_LOCALE, "en-US", err));
        TRY(mb_bcd_set_object_list(b, &bootmgr, MB_BCDE_INHERIT, &global, 1, err));
        TRY(mb_bcd_set_boolean(b, &bootmgr, MB_BCDE_BOOTSHUTDOWNDISABLED, 1, err));
        TRY(mb_bcd_set_object(b, &bootmgr, MB_BCDE_BOOTMGR_DEFAULT, &loader, err));
        TRY(mb_bcd_set_object(b, &bootmgr, MB_BCDE_BOOTMGR_RESUMEOBJECT, &resume, err));
        TRY(mb_bcd_set_object_list(b, &bootmgr, MB_BCDE_BOOTMGR_DISPLAYORDER, &loader, 1, err));
        TRY(mb_bcd_set_object_list(b, &bootmgr, MB_BCDE_BOOTMGR_TOOLSDISPLAYORDER, &memdiag, 1, err));
        TRY(mb_bcd_set_integer(b, &bootmgr, MB_BCDE_BOOTMGR_TIMEOUT, 30, err));

        /* Windows Server loader */
        TRY(mb_bcd_create_object(b, &loader, MB_BCD_TYPE_OSLOADER, "Windows Server", err));
        TRY(mb_bcd_set_device(b, &loader, MB_BCDE_DEVICE, &os, err));
        TRY(mb_bcd_set_string(b, &loader, MB_BCDE_PATH, "\\Windows\\system32\\winload.efi", err));
        TRY(mb_bcd_set_string(b, &loader, MB_BCDE_LOCALE, "en-US", err));
        TRY(mb_bcd_set_object_list(b, &loader, MB_BCDE_INHERIT, &bls, 1, err));
        TRY(mb_bcd_set_object_list(b, &loader, MB_BCDE_RECOVERYSEQUENCE, &winre, 1, err));
        TRY(mb_bcd_set_integer(b, &loader, MB_BCDE_DISPLAYMESSAGEOVERRIDE, 3 /* Recovery */, err));
        TRY(mb_bcd_set_boolean(b, &loader, MB_BCDE_RECOVERYENABLED, 1, err));
        TRY(mb_bcd_set_boolean(b, &loader, MB_BCDE_ISOLATEDCONTEXT, 1, err));
        TRY(mb_bcd_set_integer_list(b, &loader, MB_BCDE_ALLOWEDINMEMORYSETTINGS, inmem, 1, err));
        TRY(mb_bcd_set_device(b, &loader, MB_BCDE_OSLOADER_OSDEVICE, &os, err));
        TRY(mb_bcd_set_string(b, &loader, MB_BCDE_OSLOADER_SYSTEMROOT, "\\Windows", err));
        TRY(mb_bcd_set_object(b, &loader, MB_BCDE_OSLOADER_RESUMEOBJECT, &resume, err));
        TRY(mb_bcd_set_integer(b, &loader, MB_BCDE_OSLOADER_NX, 1 /* OptOut */, err));

        /* resume from hibernation */
        TRY(mb_bcd_create_object(b, &resume, MB_BCD_TYPE_RESUME, "Windows Resume Application", err));
        TRY(mb_bcd_set_device(b, &resume, MB_BCDE_DEVICE, &os, err));
        TRY(mb_bcd_set_string(b, &resume, MB_BCDE_PATH, "\\Windows\\system32\\winresume.efi", err));
        TRY(mb_bcd_set_string(b, &resume, MB_BCDE_LOCALE, "en-US", err));
        TRY(mb_bcd_set_object_list(b, &resume, MB_BCDE_INHERIT, &rls, 1, err));
        TRY(mb_bcd_set_object_list(b, &resume, MB_BCDE_RECOVERYSEQUENCE, &winre, 1, err));
        TRY(mb_bcd_set_boolean(b, &resume, MB_BCDE_RECOVERYENABLED, 1, err));
        TRY(mb_bcd_set_boolean(b, &resume, MB_BCDE_ISOLATEDCONTEXT, 1, err));
        TRY(mb_bcd_set_integer_list(b, &resume, MB_BCDE_ALLOWEDINMEMORYSETTINGS, inmem, 1, err));
        TRY(mb_bcd_set_device(b, &resume, MB_BCDE_RESUME_FILEDEVICE, &os, err));
        TRY(mb_bcd_set_string(b, &resume, MB_BCDE_RESUME_FILEPATH, "\\hiberfil.sys", err));

        /* Windows Recovery Environment and its ramdisk options */
        TRY(mb_bcd_create_object(b, &winre, MB_BCD_TYPE_OSLOADER, "Windows Recovery Environment", err));
        TRY(mb_bcd_set_device(b, &winre, MB_BCDE_DEVICE, &re_dev, err));
        TRY(mb_bcd_set_string(b, &winre, MB_BCDE_PATH, "\\windows\\system32\\winload.efi", err));
        TRY(mb_bcd_set_string(b, &winre, MB_BCDE_LOCALE, "en-US", err));
        TRY(mb_bcd_set_object_list(b, &winre, MB_BCDE_INHERIT, &bls, 1, err));
        TRY(mb_bcd_set_integer(b, &winre, MB_BCDE_DISPLAYMESSAGEOVERRIDE, 3 /* Recovery */, err));
        TRY(mb_bcd_set_boolean(b, &winre, MB_BCDE_ISOLATEDCONTEXT, 1, err));
        TRY(mb_bcd_set_device(b, &winre, MB_BCDE_OSLOADER_OSDEVICE, &re_dev, err));
        TRY(mb_bcd_set_string(b, &winre, MB_BCDE_OSLOADER_SYSTEMROOT, "\\windows", err));
        TRY(mb_bcd_set_integer(b, &winre, MB_BCDE_OSLOADER_NX, 0 /* OptIn */, err));
        TRY(mb_bcd_set_integer(b, &winre, MB_BCDE_OSLOADER_BOOTMENUPOLICY, 1 /* Standard */, err));
        TRY(mb_bcd_set_boolean(b, &winre, MB_BCDE_OSLOADER_WINPE, 1, err));
        TRY(mb_bcd_create_object(b, &ramdisk, MB_BCD_TYPE_DEVICE, "Windows Recovery", err));
        TRY(mb_bcd_set_device(b, &ramdisk, MB_BCDE_RAMDISK_SDIDEVICE, &re_sdi, err));
        TRY(mb_bcd_set_string(b, &ramdisk, MB_BCDE_RAMDISK_SDIPATH, "\\Recovery\\WindowsRE\\boot.sdi", err));

        /* {memdiag} */
        TRY(mb_bcd_create_object(b, &memdiag, MB_BCD_TYPE_MEMDIAG, "Windows Memory Diagnostic", err));
        TRY(mb_bcd_set_device(b, &memdiag, MB_BCDE_DEVICE, &esp, err));
        TRY(mb_bcd_set_string(b, &memdiag, MB_BCDE_PATH, "\\EFI\\Microsoft\\Boot\\memtest.efi", err));
        TRY(mb_bcd_set_string(b, &memdiag, MB_BCDE_LOCALE, "en-US", err));
        TRY(mb_bcd_set_object_list(b, &memdiag, MB_BCDE_INHERIT, &global, 1, err));
        TRY(mb_bcd_set_boolean(b, &memdiag, MB_BCDE_BADMEMORYACCESS, 1, err));

        /* settings objects */
        TRY(mb_bcd_create_object(b, &global, MB_BCD_TYPE_INHERIT_ANY, NULL, err));
        TRY(mb_bcd_set_object_list(b, &global, MB_BCDE_INHERIT, global_inherit, 3, err));
        TRY(mb_bcd_create_object(b, &dbg, MB_BCD_TYPE_INHERIT_ANY, NULL, err));
        TRY(mb_bcd_create_object(b, &ems, MB_BCD_TYPE_INHERIT_ANY, NULL, err));
        TRY(mb_bcd_create_object(b, &bad, MB_BCD_TYPE_INHERIT_ANY, NULL, err));
        TRY(mb_bcd_create_object(b, &bls, MB_BCD_TYPE_INHERIT_OSLOADER, NULL, err));
        TRY(mb_bcd_set_object_list(b, &bls, MB_BCDE_INHERIT, bls_inherit, 2, err));
        TRY(mb_bcd_create_object(b, &hv, MB_BCD_TYPE_INHERIT_OSLOADER, NULL, err));
        TRY(mb_bcd_create_object(b, &rls, MB_BCD_TYPE_INHERIT_RESUME, NULL, err));
        TRY(mb_bcd_set_object_list(b, &rls, MB_BCDE_INHERIT, &global, 1, err));
        return 0;
fail:
        return r;
}

int mb_bcd_build_windows_store(const char *path, const mb_guid *esp_disk_guid,
                               const mb_guid *esp_part_guid, const mb_guid *os_disk_guid,
                               const mb_guid *os_part_guid, const mb_guid *recovery_part_guid,
                               mb_error *err)
{
        mb_bcd *b;
        int r;

        if (!esp_disk_guid || !esp_part_guid || !os_disk_guid || !os_part_guid)
                return mb_error_set(err, MB_EINVAL,
                                    "BCD %s: the ESP and OS disk and partition GUIDs are required",
                                    path);
        if ((r = mb_bcd_create(path, err)) < 0)
                return r;
        if ((r = mb_bcd_open(path, 1, &b, err)) < 0)
                goto fail;
        r = populate(b, esp_disk_guid, esp_part_guid, os_disk_guid, os_part_guid,
                     recovery_part_guid, err);
        if (r == 0)
                r = mb_bcd_commit(b, err);
        mb_bcd_close(b);
        if (r == 0)
                return 0;
fail:
        unlink(path);
        return r;
}
