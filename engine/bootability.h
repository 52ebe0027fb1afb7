/* SPDX-License-Identifier: MIT */
#ifndef MB_BOOTABILITY_H
#define MB_BOOTABILITY_H

#include <stdbool.h>

#include "config.h"
#include "facts.h"

/*
 * Would a disk start the machine on its own? The firmware's own rules,
 * predicted from facts: the firmware tries the active Boot#### entries in
 * BootOrder that name this disk's ESP, then the removable-media path
 * \EFI\Boot\bootx64.efi (UEFI specification, "Boot Manager" and "Removable
 * Media Boot Behavior"); a program starts when it exists on that ESP, is a
 * PE image for x64, and -- with Secure Boot on -- its digest is not in dbx,
 * no certificate of its signature is in dbx, and the signature chains to
 * db (a certificate of the signature is in db, or is issued by a subject
 * in db, or the digest itself is in db). Windows Boot Manager then needs a
 * BCD on that ESP that reaches an os-loader on a disk that is present.
 */

typedef struct mb_boot_verdict {
        bool bootable;
        bool secure_boot;       /* the firmware enforces Secure Boot */
        bool by_secure_boot;    /* not bootable because of Secure Boot */
        char via[512];          /* what would start: "Boot0001 \"...\" \EFI\Microsoft\Boot\bootmgfw.efi" */
        char reason[1536];      /* why not ("" when bootable) */
} mb_boot_verdict;

/* The verdict for disk (a disk of f), from the facts alone. Pure: reads
 * only its arguments. `check` (through mb_boot_verdict_of) and `facts`
 * (through mb_facts_boot_verdicts) both decide here. */
void mb_disk_boot_verdict(const mb_facts *f, const mb_disk_fact *disk, mb_boot_verdict *ret);

/* The same for a declared disk: cfg (may be NULL) names it in the report;
 * the verdict is mb_disk_boot_verdict's. */
void mb_boot_verdict_of(const mb_config *cfg, const mb_facts *f, const mb_disk_fact *disk,
                        mb_boot_verdict *ret);

/* Sets disk->boot of every disk of f that holds an ESP to its verdict
 * (and clears it on the others): the per-disk verdict `facts` reports. */
int mb_facts_boot_verdicts(mb_facts *f, mb_error *err);

/* "disk 1 would not boot with Secure Boot on: ..." or "disk 1 boots through ...". */
void mb_boot_verdict_line(const mb_disk_fact *disk, const mb_boot_verdict *v, char *buf,
                          size_t len);

#endif
