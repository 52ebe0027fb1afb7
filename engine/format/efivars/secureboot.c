/* SPDX-License-Identifier: MIT */
/* Whether a variable store at rest boots with Secure Boot on (see efivars.h). */
#include "format/efivars/efivars.h"

/* EDK2's EFI_SECURE_BOOT_ENABLE_DISABLE vendor GUID f0a30bc7-af08-4556-99c4-001009c93a44
 * (SecurityPkg/Include/Guid/AuthenticatedVariableFormat.h) */
static const mb_guid secure_boot_enable_guid = { { 0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45,
                                                   0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44 } };

int mb_efivars_secure_boot(const mb_efivars *v, bool *ret, mb_error *err)
{
        mb_efivar pk, en;
        int rc;

        rc = mb_efivars_get(v, &mb_efi_global_variable, "PK", &pk, err);
        if (rc == MB_ENOENT) {
                *ret = false;
                return 0;
        }
        if (rc < 0)
                return rc;
        rc = mb_efivars_get(v, &secure_boot_enable_guid, "SecureBootEnable", &en, err);
        if (rc == MB_ENOENT) {
                *ret = pk.size > 0;
                return 0;
        }
        if (rc < 0)
                return rc;
        *ret = pk.size > 0 && en.size >= 1 && en.data[0] == 1;
        return 0;
}
