/* SPDX-License-Identifier: MIT */
#ifndef MB_POSIX_BOOTCHAIN_H
#define MB_POSIX_BOOTCHAIN_H

/*
 * Boot-chain facts: which ESP files are boot programs, their PE facts, and
 * the Secure Boot state of the machine's variable store. Read-only.
 */

#include <stdbool.h>

#include "error.h"
#include "facts.h"
#include "platform/posix/disk.h"

/* The ESP paths of the boot manager and of the fallback, in that order. */
extern const char *const mb_boot_programs[2];
/* Whether path ("/EFI/Boot/bootx64.efi") is one of mb_boot_programs
 * (FAT names compare without case). */
bool img_is_boot_program(const char *path);
/* *ret: the image facts of the boot program copied out to local_path (by
 * img_fat_list's one batched read); a file that is not a PE image gets an
 * image fact with machine "none". MB_ENOMEM only. */
int img_boot_program_fact(const char *local_path, mb_image_fact **ret, mb_error *err);
/* SecureBoot, db, dbx (and the booted ESP) of the machine's variable store
 * into fw. */
int img_secure_boot_facts(mb_posix_machine *ip, mb_firmware_fact *fw, mb_error *err);

#endif
