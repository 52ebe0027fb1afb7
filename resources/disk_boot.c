/* SPDX-License-Identifier: MIT */
/*
 * disk_boot: every disk of an os mirror declared `boot: each-disk` boots on
 * its own. For each such disk that is present:
 *   - a firmware entry names its ESP's \EFI\Microsoft\Boot\bootmgfw.efi
 *     (the system disk's stays where it is in BootOrder; another disk's is
 *     its boot-manager entry's, or goes directly after the disk entries);
 *   - the BCD store on its ESP has {bootmgr} on that ESP, as default and
 *     first in the boot menu the loader of the plex on that same disk, the
 *     other disks' plex loaders next, and WinRE (the default loader's
 *     recovery sequence) on that disk's recovery partition;
 *   - loader and boot manager objects whose device names a disk that is
 *     gone, and Windows Boot Manager firmware entries naming a partition no
 *     disk has, are removed.
 * Loaders are found by what their device names, never by description, so
 * a survivor's own loader is never taken for the new disk's. The row comes
 * after clone: the store on a new disk's ESP is the clone's copy of the
 * system store, edited here; until that copy exists the plan for it is made
 * against the system store it will copy.
 */
#include <strings.h>

#include "resource.h"

#define BOOTMGR_PATH "\\EFI\\Microsoft\\Boot\\bootmgfw.efi"
#define BCD_FILE "/EFI/Microsoft/Boot/BCD"

/* The store a disk's checks read, and how its ops name it. */
typedef struct store_ref {
        const mb_bcd_fact *store;
        bool esp_store;         /* not the system store: the one on disk's ESP */
        uint32_t disk;
} store_ref;

/* The present disks of mirror m: facts and declared names, the system disk first. */
typedef struct mirror_disks {
        const mb_disk_fact *d[8];
        const char *name[8];
        uint32_t n;
} mirror_disks;

static void present_disks(const mb_config *c, const mb_facts *f, const mb_plan *p,
                          const mb_site_mirror *m, mirror_disks *ret)
{
        memset(ret, 0, sizeof(*ret));
        for (int pass = 0; pass < 2; pass++)
                for (uint32_t i = 0; i < m->n_disks && ret->n < 8; i++) {
                        const mb_disk_fact *t = res_disk(c, f, p, mb_config_disk_index(c, m->disks[i]));

                        if (t && t->system == (pass == 0)) {
                                ret->d[ret->n] = t;
                                ret->name[ret->n++] = m->disks[i];
                        }
                }
}

static bool efi_cloned_to(const mb_config *c, const char *name)
{
        for (uint32_t i = 0; i < c->site->n_clones; i++)
                if (c->site->clones[i].role == MB_ROLE_EFI)
                        for (uint32_t k = 0; k < c->site->clones[i].n_to; k++)
                                if (strcmp(c->site->clones[i].to[k], name) == 0)
                                        return true;
        return false;
}

static const mb_disk_fact *system_disk(const mb_facts *f)
{
        for (uint32_t i = 0; i < f->n_disks; i++)
                if (f->disks[i].system)
                        return &f->disks[i];
        return NULL;
}

/*
 * The store of disk t's ESP as the checks read it: the system store for the
 * system disk; the ESP's own store as read; for one the target did not read
 * but whose bytes equal the system store's, or one not there yet that the
 * efi clone will copy, the system store (what it is or will be). false with
 * a note when there is nothing to plan against.
 */
static bool store_of(const mb_config *c, const mb_facts *f, mb_plan *p, const mb_disk_fact *t,
                     const char *name, store_ref *r)
{
        const mb_part_fact *esp = mb_disk_part_by_role(t, MB_ROLE_EFI);
        const mb_disk_fact *sys = system_disk(f);
        const mb_file_fact *own = mb_part_file(esp, BCD_FILE), *sf;

        r->esp_store = !t->system;
        r->disk = t->number;
        r->store = NULL;
        if (t->system || (esp && esp->bcd)) {
                r->store = t->system ? f->bcd : esp->bcd;
        } else if (own) {
                sf = mb_part_file(mb_disk_part_by_role(sys, MB_ROLE_EFI), BCD_FILE);
                if (sf && sf->sha256 && own->sha256 && strcasecmp(sf->sha256, own->sha256) == 0)
                        r->store = f->bcd;
                else
                        mb_plan_note(p, "%s (disk %u): the BCD store on its ESP was not read by this target; whether it boots its own plex is not checked",
                                     name, t->number);
                return r->store != NULL;
        } else if (efi_cloned_to(c, name)) {
                r->store = f->bcd;
        } else {
                mb_plan_note(p, "%s (disk %u): its ESP has no BCD store and no efi clone is declared to it; expected clones: { role: efi, to: [%s] }",
                             name, t->number, name);
                return false;
        }
        if (!r->store)
                mb_plan_note(p, "%s (disk %u): no system BCD store was read; the stores on the ESPs are not checked",
                             name, t->number);
        return r->store != NULL;
}

static const char *store_name(const store_ref *r, char *buf, size_t len)
{
        if (r->esp_store)
                snprintf(buf, len, "the BCD store on disk %u's ESP", r->disk);
        else
                snprintf(buf, len, "the system BCD store");
        return buf;
}

/* One BCD op on the store r: object (empty: the loader on (disk, role)). */
static int add_bcd(mb_plan *p, const char *subject, const store_ref *r, mb_op_kind kind,
                   const char *object, const mb_disk_fact *d, mb_role role, mb_position pos,
                   const char *description, const char *cur, const char *want, mb_error *err)
{
        mb_op op;

        res_op_init(&op, kind, d, role);
        op.esp_store = r->esp_store;
        op.store_disk = r->disk;
        op.position = pos;
        snprintf(op.object, sizeof(op.object), "%s", object ? object : "");
        snprintf(op.description, sizeof(op.description), "%s", description ? description : "");
        return mb_plan_add(p, MB_RES_DISK_BOOT, subject, false, &op, cur, want, err);
}

/* The declared description of the loader of name's plex, else "<default> (<name>)". */
static void loader_name(const mb_config *c, const mb_bcd_fact *s, const char *name, char *buf,
                        size_t len)
{
        const mb_bcd_object_fact *bm = mb_bcd_store_object(s, "{bootmgr}"), *def;

        for (uint32_t i = 0; i < c->site->n_boot_entries; i++) {
                const mb_site_boot_entry *e = &c->site->boot_entries[i];

                if (e->type == MB_ENTRY_OS_LOADER && e->plex && strcmp(e->plex, name) == 0) {
                        snprintf(buf, len, "%s", e->description);
                        return;
                }
        }
        def = mb_bcd_store_object(s, mb_bcd_default_id(bm));
        snprintf(buf, len, "%s (%s)", def && def->description ? def->description : "Windows", name);
}

/* The declared boot-manager entry of disk name, or NULL. */
static const mb_site_boot_entry *manager_entry(const mb_config *c, const char *name)
{
        for (uint32_t i = 0; i < c->site->n_boot_entries; i++) {
                const mb_site_boot_entry *e = &c->site->boot_entries[i];

                if (e->type == MB_ENTRY_BOOT_MANAGER && e->esp && strcmp(e->esp, name) == 0)
                        return e;
        }
        return NULL;
}

/* The firmware description disk name's entry should carry. */
static void fw_name(const mb_config *c, const mb_disk_fact *t, const char *name, char *buf,
                    size_t len)
{
        const mb_site_boot_entry *e = manager_entry(c, name);

        if (e)
                snprintf(buf, len, "%s", e->description);
        else if (t->system)
                snprintf(buf, len, "Windows Boot Manager");
        else
                snprintf(buf, len, "Windows Boot Manager (%s)", name);
}

static bool in_order(const mb_firmware_fact *fw, uint32_t number, uint32_t *ret_at)
{
        for (uint32_t i = 0; i < fw->n_order; i++)
                if (fw->order[i] == number) {
                        if (ret_at)
                                *ret_at = i;
                        return true;
                }
        return false;
}

/* The Windows Boot Manager entry of esp, the one in BootOrder first. */
static const mb_fw_entry_fact *fw_naming(const mb_firmware_fact *fw, const mb_part_fact *esp)
{
        const mb_fw_entry_fact *found = NULL;

        for (uint32_t i = 0; esp && esp->unique_guid && i < fw->n_entries; i++) {
                const mb_fw_entry_fact *e = &fw->entries[i];

                if (!e->partition || strcasecmp(e->partition, esp->unique_guid) != 0 || !e->path ||
                    strcasecmp(e->path, BOOTMGR_PATH) != 0)
                        continue;
                if (!found || (!in_order(fw, found->number, NULL) && in_order(fw, e->number, NULL)))
                        found = e;
        }
        return found;
}

/* The firmware entry of disk t (one the boot_entry row does not manage). */
static int firmware_diff(const mb_config *c, const mb_facts *f, mb_plan *p, const mirror_disks *md,
                         uint32_t k, mb_error *err)
{
        const mb_disk_fact *t = md->d[k];
        const mb_part_fact *esp = mb_disk_part_by_role(t, MB_ROLE_EFI);
        const mb_fw_entry_fact *fw;
        char want_desc[128], cur[MB_CHANGE_TEXT], want[MB_CHANGE_TEXT];
        uint32_t at = 0;
        bool collides = false;
        mb_op op;

        if (!f->firmware || !esp || (!t->system && manager_entry(c, md->name[k])))
                return 0;
        fw_name(c, t, md->name[k], want_desc, sizeof(want_desc));
        fw = fw_naming(f->firmware, esp);
        if (fw && fw->description && strcmp(fw->description, want_desc) != 0)
                for (uint32_t i = 0; i < md->n && !collides; i++) {
                        char other[128];

                        if (i == k)
                                continue;
                        fw_name(c, md->d[i], md->name[i], other, sizeof(other));
                        collides = strcmp(other, fw->description) == 0;
                }
        if (fw && fw->active && in_order(f->firmware, fw->number, &at) && !collides &&
            (t->system || res_fw_last_in_place(f->firmware, at)))
                return 0;
        res_op_init(&op, MB_OP_FW_ENTRY, t, MB_ROLE_EFI);
        op.number = fw ? fw->number : 0xffff;
        /* a new entry of the system disk goes first; one in place keeps its place */
        op.position = !t->system ? MB_POS_LAST
                      : fw && in_order(f->firmware, fw->number, NULL) ? MB_POS_ABSENT
                                                                        : MB_POS_FIRST;
        snprintf(op.description, sizeof(op.description), "%s", want_desc);
        snprintf(op.path, sizeof(op.path), "%s", BOOTMGR_PATH);
        if (!fw)
                res_text(cur, "no firmware entry names its ESP (partition %s)",
                         esp->unique_guid ? esp->unique_guid : "?");
        else
                res_text(cur, "Boot%04X \"%s\"%s%s", fw->number, fw->description ? fw->description : "",
                         fw->active ? "" : ", inactive",
                         !in_order(f->firmware, fw->number, NULL) ? ", not in BootOrder"
                         : collides ? ", the name of another disk's entry"
                         : !t->system ? ", not directly after the disk entries" : "");
        res_text(want, "\"%s\" -> %s, %s", want_desc, BOOTMGR_PATH,
                 op.position == MB_POS_FIRST ? "first in BootOrder"
                 : op.position == MB_POS_LAST ? "directly after the disk entries"
                                              : "where it is in BootOrder");
        return mb_plan_add(p, MB_RES_DISK_BOOT, md->name[k], false, &op, cur, want, err);
}

static bool disk_guid_present(const mb_facts *f, const char *guid)
{
        for (uint32_t i = 0; guid && i < f->n_disks; i++)
                if (f->disks[i].disk_guid && strcasecmp(f->disks[i].disk_guid, guid) == 0)
                        return true;
        return false;
}

/* A partition device on a disk that is gone: neither its partition nor its
 * disk is on any disk present. */
static bool names_gone_disk(const mb_facts *f, const mb_bcd_device_fact *dev)
{
        return dev && dev->kind && strcmp(dev->kind, "partition") == 0 && dev->partition &&
               dev->disk && !mb_facts_part_by_guid(f, dev->partition, NULL) &&
               !disk_guid_present(f, dev->disk);
}

/* Is description a declared boot-manager entry's (which the boot_entry row
 * points at its disk's ESP again)? */
static bool declared_manager(const mb_config *c, const char *description)
{
        for (uint32_t i = 0; description && i < c->site->n_boot_entries; i++)
                if (c->site->boot_entries[i].type == MB_ENTRY_BOOT_MANAGER &&
                    strcmp(c->site->boot_entries[i].description, description) == 0)
                        return true;
        return false;
}

/* The checks of the store of md->d[k]'s ESP. */
static int store_diff(const mb_config *c, const mb_facts *f, mb_plan *p, const mirror_disks *md,
                      uint32_t k, mb_error *err)
{
        const mb_disk_fact *t = md->d[k];
        const char *subject = md->name[k];
        const mb_part_fact *esp = mb_disk_part_by_role(t, MB_ROLE_EFI);
        const mb_part_fact *own = mb_disk_part_by_role(t, MB_ROLE_OS);
        const mb_part_fact *rec = mb_disk_part_by_role(t, MB_ROLE_RECOVERY);
        const mb_bcd_object_fact *bm, *ld, *re;
        char cur[MB_CHANGE_TEXT], want[MB_CHANGE_TEXT], sn[64], name[160];
        char created[8][160];   /* loaders this store gets: a stale one so named is reused, not deleted */
        uint32_t n_created = 0;
        store_ref r;
        int rc;

        if (!store_of(c, f, p, t, subject, &r))
                return 0;
        store_name(&r, sn, sizeof(sn));
        if (!(bm = mb_bcd_store_object(r.store, "{bootmgr}"))) {
                mb_plan_note(p, "%s (disk %u): %s has no {bootmgr}; not checked", subject, t->number, sn);
                return 0;
        }
        if (!esp || !mb_bcd_device_names(bm->device, esp)) {
                rc = add_bcd(p, subject, &r, MB_OP_BCD_SET_DEVICE, "{bootmgr}", t, MB_ROLE_EFI, 0, NULL,
                             res_text(cur, "%s: {bootmgr} device %s", sn,
                                      bm->device && bm->device->partition ? bm->device->partition : "not a partition"),
                             res_text(want, "{bootmgr} device = disk %u's ESP", t->number), err);
                if (rc)
                        return rc;
        }
        /* its own plex's loader: default, first in the menu */
        ld = mb_bcd_store_loader_on(r.store, own);
        if (!ld) {
                loader_name(c, r.store, subject, name, sizeof(name));
                snprintf(created[n_created++], sizeof(created[0]), "%s", name);
                rc = add_bcd(p, subject, &r, MB_OP_BCD_CREATE_LOADER, NULL, t, MB_ROLE_OS, 0, name,
                             res_text(cur, "%s: no loader boots the os plex on disk %u", sn, t->number),
                             res_text(want, "\"%s\": device and osdevice = the os plex on disk %u", name,
                                      t->number), err);
                if (rc)
                        return rc;
        }
        /* without a default element the boot manager starts the first of the menu */
        if (!ld || !mb_bcd_default_id(bm) || strcasecmp(mb_bcd_default_id(bm), ld->id) != 0) {
                rc = add_bcd(p, subject, &r, MB_OP_BCD_SET_DEFAULT, ld ? ld->id : "", t, MB_ROLE_OS, 0,
                             NULL, res_text(cur, "%s: default %s", sn, bm->default_id ? bm->default_id : "none"),
                             res_text(want, "default = the loader of the os plex on disk %u", t->number), err);
                if (rc)
                        return rc;
        }
        if (!ld || !bm->n_displayorder || strcasecmp(bm->displayorder[0], ld->id) != 0) {
                rc = add_bcd(p, subject, &r, MB_OP_BCD_DISPLAYORDER, ld ? ld->id : "", t, MB_ROLE_OS,
                             MB_POS_FIRST, NULL,
                             res_text(cur, "%s: boot menu starts with %s", sn,
                                      bm->n_displayorder ? bm->displayorder[0] : "nothing"),
                             res_text(want, "the loader of the os plex on disk %u first", t->number), err);
                if (rc)
                        return rc;
        }
        /* the other plexes next */
        for (uint32_t i = 0; i < md->n; i++) {
                const mb_part_fact *op = mb_disk_part_by_role(md->d[i], MB_ROLE_OS);
                const mb_bcd_object_fact *lo = mb_bcd_store_loader_on(r.store, op);

                if (i == k)
                        continue;
                if (!lo) {
                        loader_name(c, r.store, md->name[i], name, sizeof(name));
                        if (n_created < 8)
                                snprintf(created[n_created++], sizeof(created[0]), "%s", name);
                        rc = add_bcd(p, subject, &r, MB_OP_BCD_CREATE_LOADER, NULL, md->d[i], MB_ROLE_OS, 0,
                                     name, res_text(cur, "%s: no loader boots the os plex on disk %u", sn,
                                                    md->d[i]->number),
                                     res_text(want, "\"%s\": device and osdevice = the os plex on disk %u", name,
                                              md->d[i]->number), err);
                        if (rc)
                                return rc;
                }
                if (!lo || !res_bcd_listed(bm, lo->id)) {
                        rc = add_bcd(p, subject, &r, MB_OP_BCD_DISPLAYORDER, lo ? lo->id : "", md->d[i],
                                     MB_ROLE_OS, MB_POS_LAST, NULL,
                                     res_text(cur, "%s: the loader of disk %u's plex is not in the boot menu", sn,
                                              md->d[i]->number),
                                     res_text(want, "in the boot menu after disk %u's own", t->number), err);
                        if (rc)
                                return rc;
                }
        }
        /* WinRE of its own loader (a new one copies the default's) on its own recovery */
        if (!ld)
                ld = mb_bcd_store_object(r.store, mb_bcd_default_id(bm));
        re = ld ? mb_bcd_store_object(r.store, ld->recovery) : NULL;
        if (rec && re && re->device && re->device->kind && strcmp(re->device->kind, "ramdisk") == 0 &&
            (!re->device->partition || !rec->unique_guid ||
             strcasecmp(re->device->partition, rec->unique_guid) != 0)) {
                rc = add_bcd(p, subject, &r, MB_OP_BCD_SET_DEVICE, re->id, t, MB_ROLE_RECOVERY, 0, NULL,
                             res_text(cur, "%s: %s \"%s\" on partition %s", sn, re->id,
                                      re->description ? re->description : "",
                                      re->device->partition ? re->device->partition : "?"),
                             res_text(want, "Windows RE on disk %u's recovery partition %s", t->number,
                                      rec->unique_guid ? rec->unique_guid : ""), err);
                if (rc)
                        return rc;
        }
        /* objects that boot a disk that is gone */
        for (uint32_t i = 0; i < r.store->n_objects; i++) {
                const mb_bcd_object_fact *o = &r.store->objects[i];
                bool reused = false;

                for (uint32_t j = 0; j < n_created && o->description && !reused; j++)
                        reused = strcmp(created[j], o->description) == 0;
                /* a declared boot manager copy is the boot_entry row's to point again */
                reused |= o->type && strcmp(o->type, "boot-manager") == 0 &&
                          declared_manager(c, o->description);
                /* what the boot manager starts now is never removed: first the
                 * default moves to this disk's own loader (a later plan) */
                reused |= (bm->default_id && strcasecmp(bm->default_id, o->id) == 0) ||
                          (bm->n_displayorder && strcasecmp(bm->displayorder[0], o->id) == 0);
                if (reused || !o->type || strcmp(o->id, "{bootmgr}") == 0 ||
                    (strcmp(o->type, "os-loader") != 0 && strcmp(o->type, "boot-manager") != 0) ||
                    !(names_gone_disk(f, o->device) || names_gone_disk(f, o->osdevice)))
                        continue;
                rc = add_bcd(p, subject, &r, MB_OP_BCD_DELETE, o->id, t, MB_ROLE_NONE, 0, NULL,
                             res_text(cur, "%s: %s \"%s\" boots partition %s on a disk that is gone", sn, o->id,
                                      o->description ? o->description : "",
                                      names_gone_disk(f, o->device) ? o->device->partition
                                                                    : o->osdevice->partition),
                             "absent", err);
                if (rc)
                        return rc;
        }
        return 0;
}

/* Windows Boot Manager entries naming a partition no disk has, but for a
 * declared entry's (boot_entry re-points it). */
static int stale_firmware_diff(const mb_config *c, const mb_facts *f, mb_plan *p,
                               const mb_disk_fact *sys, mb_error *err)
{
        size_t before = p->n_changes;

        char cur[MB_CHANGE_TEXT];

        for (uint32_t i = 0; f->firmware && i < f->firmware->n_entries; i++) {
                const mb_fw_entry_fact *e = &f->firmware->entries[i];
                mb_op op;
                int rc;

                if (!e->partition || !e->path || strcasecmp(e->path, BOOTMGR_PATH) != 0 ||
                    mb_facts_part_by_guid(f, e->partition, NULL) || declared_manager(c, e->description))
                        continue;
                res_op_init(&op, MB_OP_FW_DELETE, sys, MB_ROLE_EFI);
                op.number = e->number;
                snprintf(op.description, sizeof(op.description), "%s", e->description ? e->description : "");
                rc = mb_plan_add(p, MB_RES_DISK_BOOT, "firmware", false, &op,
                                 res_text(cur, "Boot%04X \"%s\" names partition %s, which is on none of the disks",
                                          e->number, e->description ? e->description : "", e->partition),
                                 "absent", err);
                if (rc)
                        return rc;
        }
        return p->n_changes > before ? mb_plan_status(p, MB_RES_DISK_BOOT, "firmware", before, false, err) : 0;
}

bool res_each_disk_boot(const mb_config *c)
{
        for (uint32_t i = 0; i < c->site->n_mirrors; i++)
                if (c->site->mirrors[i].boot == MB_MIRROR_BOOT_EACH_DISK)
                        return true;
        return false;
}

bool res_each_disk_plex(const mb_config *c, const char *name)
{
        for (uint32_t i = 0; name && i < c->site->n_mirrors; i++)
                if (c->site->mirrors[i].boot == MB_MIRROR_BOOT_EACH_DISK)
                        for (uint32_t k = 0; k < c->site->mirrors[i].n_disks; k++)
                                if (strcmp(c->site->mirrors[i].disks[k], name) == 0)
                                        return true;
        return false;
}

int mb_res_disk_boot_diff(const mb_config *c, const mb_facts *f, mb_plan *p, mb_error *err)
{
        int rc;

        for (uint32_t i = 0; i < c->site->n_mirrors; i++) {
                const mb_site_mirror *m = &c->site->mirrors[i];
                mirror_disks md;

                if (m->boot != MB_MIRROR_BOOT_EACH_DISK)
                        continue;
                present_disks(c, f, p, m, &md);
                if (!md.n)
                        continue;
                if (md.d[0]->system) {
                        rc = stale_firmware_diff(c, f, p, md.d[0], err);
                        if (rc)
                                return rc;
                }
                for (uint32_t k = 0; k < md.n; k++) {
                        size_t before = p->n_changes;

                        rc = firmware_diff(c, f, p, &md, k, err);
                        if (rc == 0)
                                rc = store_diff(c, f, p, &md, k, err);
                        if (rc == 0)
                                rc = mb_plan_status(p, MB_RES_DISK_BOOT, md.name[k], before, false, err);
                        if (rc)
                                return rc;
                }
        }
        return 0;
}
