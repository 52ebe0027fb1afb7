/* SPDX-License-Identifier: MIT */
/*
 * mkseed: the byte-level steps of examples/seed/make-images that no stock
 * tool does without loop devices or mounting.
 *
 *   mkseed bcd STORE DISK_GUID ESP_GUID OS_GUID RECOVERY_GUID
 *       writes a Windows Server 2022-like BCD store (mb_bcd_build_windows_store)
 *   mkseed splice SRC DST OFFSET
 *       copies the sparse file SRC into DST at byte OFFSET, data extents only
 *   mkseed nvram VARS DESCRIPTION PART_GUID PART_NUMBER FIRST_LBA SECTORS PATH
 *       adds a firmware boot entry HD(PART_NUMBER, GPT, PART_GUID, FIRST_LBA,
 *       SECTORS)/PATH to the OVMF variable store VARS, first in BootOrder
 *   mkseed ntfsmkdir NTFS DIR
 *       makes the directory DIR ("Windows/System32") and its parents on the
 *       NTFS volume file NTFS (ntfscp copies files, but into folders that exist)
 *   mkseed gpt IMG SECTOR_SIZE < SCRIPT
 *       writes the partition table of the sfdisk script on stdin into the
 *       image file IMG seen with SECTOR_SIZE-byte logical sectors (sgdisk and
 *       this sfdisk take 512 for a file; libfdisk is told the size)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "guid.h"
#include "format/efivars/efivars.h"
#include "platform/posix/sparse.h"
#ifdef MB_IMAGE_HAVE_BCD
#include "format/bcd/bcd.h"
#endif

#include <libfdisk/libfdisk.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static int guid(const char *s, mb_guid *g)
{
        if (mb_guid_parse(s, g) < 0) {
                fprintf(stderr, "mkseed: invalid GUID '%s'\n", s);
                return -1;
        }
        return 0;
}

/* A new Boot#### (lowest free number) for the partition, first in BootOrder. */
static int nvram(const char *vars, char **a, mb_error *err)
{
        mb_efi_load_option o = { .attributes = MB_EFI_LOAD_OPTION_ACTIVE, .has_hd = true,
                                 .mbr_type = 2, .signature_type = 2 };
        mb_efi_boot_entry *e = NULL;
        mb_efivars *v;
        uint16_t *order = NULL, *n = NULL, number = 0;
        uint32_t ne = 0, no = 0;
        int rc;

        snprintf(o.description, sizeof(o.description), "%s", a[0]);
        if (guid(a[1], &o.signature))
                return mb_error_set(err, MB_EINVAL, "invalid partition GUID");
        o.part_number = (uint32_t)strtoul(a[2], NULL, 0);
        o.part_start = strtoull(a[3], NULL, 0);
        o.part_size = strtoull(a[4], NULL, 0);
        snprintf(o.path, sizeof(o.path), "%s", a[5]);
        rc = mb_efivars_load(vars, &v, err);
        if (rc < 0)
                return rc;
        rc = mb_efivars_boot_entries(v, &e, &ne, err);
        if (rc == 0)
                rc = mb_efivars_boot_order(v, &order, &no, err);
        for (uint32_t i = 0; rc == 0 && i < ne && e[i].number == number; i++)
                number++;
        if (rc == 0 && !(n = calloc(no + 1, sizeof(*n))))
                rc = mb_error_set(err, MB_ENOMEM, "out of memory");
        if (rc == 0) {
                n[0] = number;
                memcpy(n + 1, order, no * sizeof(*order));
                rc = mb_efivars_set_boot_entry(v, number, &o, err);
        }
        if (rc == 0)
                rc = mb_efivars_set_boot_order(v, n, no + 1, err);
        if (rc == 0)
                rc = mb_efivars_save(v, NULL, err);
        free(e), free(order), free(n);
        mb_efivars_free(v);
        return rc;
}

/* Each component of dir made a directory under the last, unless it exists. */
static int ntfsmkdir(const char *file, const char *dir, mb_error *err)
{
        ntfs_volume *vol = ntfs_mount(file, 0);
        ntfs_inode *cur;
        char *copy = strdup(dir), *save = NULL;
        int rc = 0;

        if (!vol || !copy) {
                free(copy);
                if (vol)
                        ntfs_umount(vol, FALSE);
                return mb_error_set(err, MB_EIO, "%s: cannot open the NTFS volume", file);
        }
        cur = ntfs_inode_open(vol, FILE_root);
        for (char *c = strtok_r(copy, "/\\", &save); cur && c; c = strtok_r(NULL, "/\\", &save)) {
                ntfs_inode *next = ntfs_pathname_to_inode(vol, cur, c);
                ntfschar *name = NULL;
                int len;

                if (!next) {
                        len = ntfs_mbstoucs(c, &name);
                        next = len > 0 ? ntfs_create(cur, const_cpu_to_le32(0), name, (u8)len, S_IFDIR)
                                       : NULL;
                        free(name);
                }
                ntfs_inode_close(cur);
                cur = next;
        }
        if (!cur)
                rc = mb_error_set(err, MB_EIO, "%s: cannot make the directory %s", file, dir);
        else
                ntfs_inode_close(cur);
        if (ntfs_umount(vol, FALSE) < 0 && rc == 0)
                rc = mb_error_set(err, MB_EIO, "%s: cannot close the NTFS volume", file);
        free(copy);
        return rc;
}

/* The sfdisk script on stdin applied to img with sector-byte sectors. */
static int gpt(const char *img, const char *sector, mb_error *err)
{
        unsigned long ss = strtoul(sector, NULL, 0);
        struct fdisk_context *cxt = fdisk_new_context();
        struct fdisk_script *sc = NULL;
        int rc;

        if (!cxt)
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        if (ss != 512 && ss != 4096)
                rc = mb_error_set(err, MB_EINVAL, "sector size must be 512 or 4096, not '%s'", sector);
        else if ((rc = fdisk_save_user_sector_size(cxt, (unsigned)ss, (unsigned)ss)) < 0 ||
                 (rc = fdisk_assign_device(cxt, img, 0)) < 0)
                rc = mb_error_set(err, MB_EIO, "%s: cannot open with libfdisk (%d)", img, rc);
        else if (!(sc = fdisk_new_script(cxt)) || (rc = fdisk_script_read_file(sc, stdin)) < 0)
                rc = mb_error_set(err, MB_EINVAL, "cannot read the sfdisk script on stdin (%d)", rc);
        else if ((rc = fdisk_apply_script(cxt, sc)) < 0 || (rc = fdisk_write_disklabel(cxt)) < 0)
                rc = mb_error_set(err, MB_EIO, "%s: cannot write the partition table (%d)", img, rc);
        fdisk_set_script(cxt, NULL);
        fdisk_unref_script(sc);
        if (rc == 0 && fdisk_deassign_device(cxt, 0) < 0)
                rc = mb_error_set(err, MB_EIO, "%s: cannot close", img);
        fdisk_unref_context(cxt);
        return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
        mb_error err = { 0 };
        int rc;

        if (argc == 7 && !strcmp(argv[1], "bcd")) {
#ifdef MB_IMAGE_HAVE_BCD
                mb_guid disk, esp, os, rec;

                if (guid(argv[3], &disk) || guid(argv[4], &esp) || guid(argv[5], &os) ||
                    guid(argv[6], &rec))
                        return 2;
                rc = mb_bcd_build_windows_store(argv[2], &disk, &esp, &disk, &os, &rec, &err);
#else
                rc = mb_error_set(&err, MB_ENOTSUP, "built without the bcd format library");
#endif
        } else if (argc == 5 && !strcmp(argv[1], "splice")) {
                int src = open(argv[2], O_RDONLY | O_CLOEXEC), dst = open(argv[3], O_RDWR | O_CLOEXEC);
                struct stat st;

                if (src < 0 || dst < 0 || fstat(src, &st) < 0) {
                        perror("mkseed: open");
                        return 1;
                }
                rc = img_copy_sparse(src, 0, dst, strtoull(argv[4], NULL, 0), (uint64_t)st.st_size,
                                     "splice", NULL, &err);
                if (rc == 0 && fsync(dst) < 0)
                        rc = mb_error_errno(&err, MB_EIO, 1, "fsync");
                close(src);
                close(dst);
        } else if (argc == 9 && !strcmp(argv[1], "nvram")) {
                rc = nvram(argv[2], argv + 3, &err);
        } else if (argc == 4 && !strcmp(argv[1], "ntfsmkdir")) {
                rc = ntfsmkdir(argv[2], argv[3], &err);
        } else if (argc == 4 && !strcmp(argv[1], "gpt")) {
                rc = gpt(argv[2], argv[3], &err);
        } else {
                fprintf(stderr, "usage: mkseed bcd STORE DISK_GUID ESP_GUID OS_GUID RECOVERY_GUID\n"
                                "       mkseed splice SRC DST OFFSET\n"
                                "       mkseed nvram VARS DESCRIPTION PART_GUID PART_NUMBER FIRST_LBA SECTORS PATH\n"
                                "       mkseed ntfsmkdir NTFS DIR\n"
                                "       mkseed gpt IMG SECTOR_SIZE < SFDISK_SCRIPT\n");
                return 2;
        }
        if (rc < 0) {
                fprintf(stderr, "mkseed: %s\n", err.msg);
                return 1;
        }
        return 0;
}
