/* SPDX-License-Identifier: MIT */
/*
 * boot_entry: a boot manager entry whose device is another disk's ESP,
 * present in the firmware boot order; an OS loader entry for a mirror's
 * secondary plex. A boot manager entry is found by type and description,
 * as an administrator finds it in `bcdedit /enum`. The plex's loader entry
 * is found by what its device describes: an OS loader whose device and
 * osdevice are the os partition on the plex's disk, whatever its
 * description (Windows names it "<loader> - secondary plex" in the
 * system's language when it adds the plex).
 */
#include <strings.h>

#include "resource.h"

static const char *device_text(const mb_bcd_device_fact *dev, char *buf, size_t len)
{
        if (!dev || !dev->kind)
                snprintf(buf, len, "no device");
        else if (strcmp(dev->kind, "partition") == 0)
                snprintf(buf, len, "partition %s", dev->partition ? dev->partition : "?");
        else
                snprintf(buf, len, "%s", dev->kind);
        return buf;
}

static bool names_partition(const mb_firmware_fact *fw, uint32_t number)
{
        for (uint32_t k = 0; k < fw->n_entries; k++)
                if (fw->entries[k].number == number && fw->entries[k].partition)
                        return true;
        return false;
}

/*
 * Is BootOrder position at where "last" wants it: directly after the other
 * entries that name a disk partition, ahead of every entry that names none?
 * The entry before it names a partition (or, when no other entry does, it
 * is first) and no entry after it names one. Entries without a partition
 * (DVD, removable media, shell, PXE, a whole disk: what the firmware adds by
 * itself) keep their places among each other and are never drift by
 * themselves: one the administrator put ahead of the system disk's entry
 * stays there, since the declared position is relative to the disk entries.
 */
bool res_fw_last_in_place(const mb_firmware_fact *fw, uint32_t at)
{
        bool disk_before = false;

        for (uint32_t i = 0; i < fw->n_order; i++)
                if (i != at && names_partition(fw, fw->order[i])) {
                        if (i > at)
                                return false;
                        disk_before = true;
                }
        return at == 0 ? !disk_before : names_partition(fw, fw->order[at - 1]);
}

/* BootOrder as text, "0000,0003,0001", the entries that name a partition
 * starred: what a change shows as the order now. */
static const char *order_text(const mb_firmware_fact *fw, char *buf, size_t len)
{
        size_t n = 0;

        buf[0] = '\0';
        for (uint32_t i = 0; i < fw->n_order && n + 8 < len; i++)
                n += (size_t)snprintf(buf + n, len - n, "%s%04X%s", i ? "," : "", fw->order[i],
                                      names_partition(fw, fw->order[i]) ? "*" : "");
        return buf;
}

/* The BootOrder "pos" wants, as order_text() writes it: number (0xffff: an
 * entry not created yet, shown as "new") first, or directly after the last
 * other entry that names a partition; the others keep their order. */
static const char *wanted_text(const mb_firmware_fact *fw, uint32_t number, mb_position pos,
                               char *buf, size_t len)
{
        uint32_t after = 0, k = 0;      /* ours goes before the k-th other entry, k == after */
        size_t n = 0;

        for (uint32_t i = 0; pos != MB_POS_FIRST && i < fw->n_order; i++) {
                if (fw->order[i] == number)
                        continue;
                k++;
                if (names_partition(fw, fw->order[i]))
                        after = k;
        }
        buf[0] = '\0';
        k = 0;
        for (uint32_t i = 0; i <= fw->n_order && n + 8 < len; i++) {
                if (k == after && k != UINT32_MAX) {
                        n += (size_t)(number == 0xffff ? snprintf(buf + n, len - n, "%snew*", n ? "," : "")
                                                       : snprintf(buf + n, len - n, "%s%04X*", n ? "," : "",
                                                                  number));
                        after = UINT32_MAX;
                }
                if (i < fw->n_order && fw->order[i] != number) {
                        n += (size_t)snprintf(buf + n, len - n, "%s%04X%s", n ? "," : "", fw->order[i],
                                              names_partition(fw, fw->order[i]) ? "*" : "");
                        k++;
                }
        }
        return buf;
}

static int firmware_diff(const mb_config *c, const mb_facts *f, mb_plan *p, const mb_site_boot_entry *e,
                         const mb_disk_fact *t, const mb_part_fact *tpart, const char *subject,
                         mb_error *err)
{
        char cur[MB_CHANGE_TEXT], want[MB_CHANGE_TEXT], now[96], wanted[96];

        mb_position pos = e->firmware ? *e->firmware : MB_POS_LAST;
        const char *path = "\\EFI\\Microsoft\\Boot\\bootmgfw.efi";
        const mb_fw_entry_fact *fw = NULL;
        int at = -1;
        mb_op op;

        if (!f->firmware) {
                mb_plan_note(p, "firmware boot entries: this target has no firmware store; the boot manager entries are checked in the BCD store only");
                return 0;
        }
        /* the entry that names this ESP's boot manager; else the one with the
         * description, unless that one boots another disk that is present
         * (a survivor's entry is never taken for a new disk's) */
        for (uint32_t i = 0; tpart && tpart->unique_guid && i < f->firmware->n_entries && !fw; i++) {
                const mb_fw_entry_fact *x = &f->firmware->entries[i];

                if (x->partition && strcasecmp(x->partition, tpart->unique_guid) == 0 && x->path &&
                    strcasecmp(x->path, path) == 0 && x->description &&
                    strcmp(x->description, e->description) == 0)
                        fw = x;
        }
        /* each disk boots on its own: the one Windows Boot Manager entry of
         * this ESP is this entry, whatever it is called now (it is renamed;
         * a pair listed the other way round keeps one entry per ESP) */
        for (uint32_t i = 0; res_each_disk_plex(c, e->esp) && tpart && tpart->unique_guid &&
                             i < f->firmware->n_entries && !fw; i++) {
                const mb_fw_entry_fact *x = &f->firmware->entries[i];

                if (x->partition && strcasecmp(x->partition, tpart->unique_guid) == 0 && x->path &&
                    strcasecmp(x->path, path) == 0)
                        fw = x;
        }
        for (uint32_t i = 0; i < f->firmware->n_entries && !fw; i++) {
                const mb_fw_entry_fact *x = &f->firmware->entries[i];
                mb_disk_fact *on = NULL;

                if (x->description && strcmp(x->description, e->description) == 0 &&
                    !(x->partition && mb_facts_part_by_guid(f, x->partition, &on) && on != t))
                        fw = x;
        }
        if (fw)
                for (uint32_t i = 0; i < f->firmware->n_order; i++)
                        if (f->firmware->order[i] == fw->number)
                                at = (int)i;
        if (pos == MB_POS_ABSENT) {
                if (fw) {
                        res_op_init(&op, MB_OP_FW_DELETE, t, MB_ROLE_EFI);
                        op.number = fw->number;
                        snprintf(op.description, sizeof(op.description), "%s", e->description);
                        return mb_plan_add(p, MB_RES_BOOT_ENTRY, subject, false, &op,
                                           res_text(cur, "firmware entry Boot%04X present", fw->number),
                                           "no firmware entry", err);
                }
                return 0;
        }
        if (fw && tpart && fw->partition && tpart->unique_guid && fw->description &&
            strcmp(fw->description, e->description) == 0 &&
            strcasecmp(fw->partition, tpart->unique_guid) == 0 && fw->path &&
            strcasecmp(fw->path, path) == 0 && at >= 0 &&
            (pos == MB_POS_FIRST ? at == 0 : res_fw_last_in_place(f->firmware, (uint32_t)at)))
                return 0;
        res_op_init(&op, MB_OP_FW_ENTRY, t, MB_ROLE_EFI);
        op.position = pos;
        op.number = fw ? fw->number : 0xffff;
        snprintf(op.description, sizeof(op.description), "%s", e->description);
        snprintf(op.path, sizeof(op.path), "%s", path);
        if (!fw)
                res_text(cur, "no firmware entry; BootOrder %s", order_text(f->firmware, now, sizeof(now)));
        else if (at < 0)
                res_text(cur, "firmware entry Boot%04X not in the boot order; BootOrder %s", fw->number,
                         order_text(f->firmware, now, sizeof(now)));
        else
                res_text(cur, "firmware entry Boot%04X \"%s\" -> partition %s; BootOrder %s (* names a partition)",
                         fw->number, fw->description ? fw->description : "",
                         fw->partition ? fw->partition : "?", order_text(f->firmware, now, sizeof(now)));
        return mb_plan_add(p, MB_RES_BOOT_ENTRY, subject, false, &op, cur,
                           res_text(want, "firmware entry -> %s ESP %s, %s; BootOrder %s",
                                    t->path ? t->path : "disk", path,
                                    pos == MB_POS_FIRST ? "first"
                                                        : "directly after the disk entries, ahead of the others",
                                    wanted_text(f->firmware, fw ? fw->number : 0xffff, pos,
                                                wanted, sizeof(wanted))),
                           err);
}

/* Firmware entries that name a partition no disk has any more (a failed or
 * replaced disk): the firmware skips them at boot, so `check` names them.
 * Not a change: which entries to remove is the administrator's call. */
static void stale_firmware_notes(const mb_config *c, const mb_facts *f, mb_plan *p)
{
        if (res_each_disk_boot(c))
                return; /* disk_boot removes them */
        for (uint32_t i = 0; f->firmware && i < f->firmware->n_entries; i++) {
                const mb_fw_entry_fact *e = &f->firmware->entries[i];

                if (e->partition && !mb_facts_part_by_guid(f, e->partition, NULL))
                        mb_plan_note(p, "firmware entry Boot%04X \"%s\" names partition %s, which is on none of the disks: the firmware will skip it",
                                     e->number, e->description ? e->description : "",
                                     e->partition);
        }
}

/* Config check: the boot entries of site.yaml (row of mb_resources[]). */
int mb_res_boot_entry_check(const mb_config *c, mb_error *err)
{
        const mb_site *s = c->site;
        mb_ynode *bs = mb_ynode_get(c->doc->root, "boot_entries");

        for (uint32_t i = 0; i < s->n_boot_entries; i++) {
                const mb_site_boot_entry *b = &s->boot_entries[i];
                mb_ynode *bn = mb_ynode_at(bs, i);
                int disk;

                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(s->boot_entries[j].description, b->description) == 0)
                                return RES_AT(mb_ynode_get(bn, "description"),
                                              "boot entry '%s' is declared twice; expected unique descriptions",
                                              b->description);
                if (b->type == MB_ENTRY_BOOT_MANAGER) {
                        if (b->plex)
                                return RES_AT(mb_ynode_get(bn, "plex"),
                                              "'plex' belongs to os-loader entries; a boot-manager entry names its 'esp'");
                        if (!b->esp)
                                return RES_AT(bn, "boot-manager entry '%s' needs 'esp': the disk whose ESP it boots",
                                              b->description);
                        disk = mb_config_disk_index(c, b->esp);
                        if (disk < 0)
                                return RES_AT(mb_ynode_get(bn, "esp"),
                                              "esp: unknown disk '%s'; expected a name declared under 'disks'",
                                              b->esp);
                        if (!mb_config_has_role(c, MB_ROLE_EFI) || !mb_config_in_partition_disks(c, disk))
                                return RES_AT(mb_ynode_get(bn, "esp"),
                                              "esp: disk '%s' gets no efi partition; expected a disk in partitions.disks with role efi",
                                              b->esp);
                } else {
                        if (b->esp || b->firmware)
                                return RES_AT(mb_ynode_get(bn, b->esp ? "esp" : "firmware"),
                                              "'%s' belongs to boot-manager entries; an os-loader entry names its 'plex'",
                                              b->esp ? "esp" : "firmware");
                        if (!b->plex)
                                return RES_AT(bn, "os-loader entry '%s' needs 'plex': the disk whose mirror plex it boots",
                                              b->description);
                        disk = mb_config_disk_index(c, b->plex);
                        if (disk < 0)
                                return RES_AT(mb_ynode_get(bn, "plex"),
                                              "plex: unknown disk '%s'; expected a name declared under 'disks'",
                                              b->plex);
                        for (uint32_t j = 0; j < s->n_mirrors; j++)
                                for (uint32_t k = 0; k < s->mirrors[j].n_disks; k++)
                                        if (strcmp(s->mirrors[j].disks[k], b->plex) == 0)
                                                goto mirrored;
                        return RES_AT(mb_ynode_get(bn, "plex"),
                                      "plex: disk '%s' holds no mirror plex; expected a disk listed in a mirror",
                                      b->plex);
mirrored:;
                }
        }
        return 0;
}

int mb_res_boot_entry_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        char cur[MB_CHANGE_TEXT], want[MB_CHANGE_TEXT];

        stale_firmware_notes(c, f, p);
        for (uint32_t i = 0; i < c->site->n_boot_entries; i++) {
                const mb_site_boot_entry *e = &c->site->boot_entries[i];
                bool manager = e->type == MB_ENTRY_BOOT_MANAGER;
                int idx = mb_config_disk_index(c, manager ? e->esp : e->plex);
                mb_disk_fact *t = res_disk(c, f, p, idx);
                mb_role role = manager ? MB_ROLE_EFI : MB_ROLE_OS;
                const mb_part_fact *tpart = t ? mb_disk_part_by_role(t, role) : NULL;
                const mb_bcd_object_fact *obj;
                size_t before = p->n_changes;
                char subject[192], dev[96];
                mb_op op;
                int r;

                if (!t || (!manager && res_each_disk_plex(c, e->plex)))
                        continue; /* the loader of a plex of boot: each-disk is disk_boot's */
                snprintf(subject, sizeof(subject), "\"%s\"", e->description);
                if (!f->bcd)
                        return mb_error_set(err, MB_ESTATE,
                                            "boot entry \"%s\": no BCD store was found on the system disk's ESP; expected \\EFI\\Microsoft\\Boot\\BCD",
                                            e->description);
                obj = mb_facts_bcd_by_description(f, manager ? "boot-manager" : "os-loader",
                                                  e->description);
                if (!manager) {
                        const mb_bcd_object_fact *by_dev = mb_bcd_store_loader_on(f->bcd, tpart);

                        if (by_dev && obj && by_dev != obj)
                                mb_plan_note(p, "BCD entry %s \"%s\" has the description of the plex entry but boots %s, not the os plex on %s (%s is that entry)",
                                             obj->id, e->description,
                                             device_text(obj->device, dev, sizeof(dev)), e->plex,
                                             by_dev->id);
                        if (by_dev)
                                obj = by_dev;
                }
                if (!obj) {
                        res_op_init(&op, manager ? MB_OP_BCD_COPY_BOOTMGR : MB_OP_BCD_CREATE_LOADER, t, role);
                        snprintf(op.description, sizeof(op.description), "%s", e->description);
                        if (manager)
                                res_text(want, "copy of {bootmgr}, device = the ESP of %s", e->esp ? e->esp : "");
                        else
                                res_text(want, "OS loader, device and osdevice = the %s plex on %s (Windows adds it with the plex)",
                                         mb_role_to_string(role), e->plex ? e->plex : "");
                        r = mb_plan_add(p, MB_RES_BOOT_ENTRY, subject, false, &op, "absent", want, err);
                        if (r)
                                return r;
                } else {
                        bool ok = mb_bcd_device_names(obj->device, tpart) &&
                                  (manager || mb_bcd_device_names(obj->osdevice, tpart));

                        if (!ok) {
                                res_op_init(&op, MB_OP_BCD_SET_DEVICE, t, role);
                                snprintf(op.object, sizeof(op.object), "%s", obj->id);
                                snprintf(op.description, sizeof(op.description), "%s", e->description);
                                r = mb_plan_add(p, MB_RES_BOOT_ENTRY, subject, false, &op,
                                                res_text(cur, "%s %s", obj->id,
                                                         device_text(obj->device, dev, sizeof(dev))),
                                                res_text(want, "device%s = partition %s (%s of %s)",
                                                         manager ? "" : " and osdevice",
                                                         tpart && tpart->unique_guid ? tpart->unique_guid
                                                                                     : "(to be created)",
                                                         mb_role_to_string(role), manager ? e->esp : e->plex),
                                                err);
                                if (r)
                                        return r;
                        }
                        if (!manager && !res_bcd_listed(mb_facts_bcd_object(f, "{bootmgr}"), obj->id)) {
                                res_op_init(&op, MB_OP_BCD_DISPLAYORDER, t, role);
                                snprintf(op.object, sizeof(op.object), "%s", obj->id);
                                op.position = MB_POS_LAST;
                                r = mb_plan_add(p, MB_RES_BOOT_ENTRY, subject, false, &op,
                                                res_text(cur, "%s not in the boot menu", obj->id),
                                                "in {bootmgr} displayorder", err);
                                if (r)
                                        return r;
                        }
                }
                if (manager) {
                        r = firmware_diff(c, f, p, e, t, tpart, subject, err);
                        if (r)
                                return r;
                }
                r = mb_plan_status(p, MB_RES_BOOT_ENTRY, subject, before, false, err);
                if (r)
                        return r;
        }
        return 0;
}
