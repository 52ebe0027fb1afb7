/* SPDX-License-Identifier: MIT */

/*
 * The operation vocabulary's one table: for every op kind its name, whether
 * it is destructive and what it writes. Plans, logs, the gate and the
 * renderers all read it here; nothing else lists op kinds by hand.
 */

#include "op.h"

#include <stdio.h>

static const mb_op_info op_table[MB_OP__COUNT] = {
        [MB_OP_DISK_ONLINE] = { "disk-online", false, MB_WRITES_OP_DISK },
        [MB_OP_DISK_INIT_GPT] = { "disk-init-gpt", true, MB_WRITES_OP_DISK },
        [MB_OP_PART_CREATE] = { "partition-create", false, MB_WRITES_OP_DISK },
        [MB_OP_PART_SET_TYPE] = { "partition-set-type", false, MB_WRITES_OP_DISK },
        [MB_OP_PART_SET_ATTRS] = { "partition-set-attributes", false, MB_WRITES_OP_DISK },
        [MB_OP_PART_SET_NAME] = { "partition-set-name", false, MB_WRITES_OP_DISK },
        [MB_OP_FORMAT] = { "format", true, MB_WRITES_OP_DISK },
        [MB_OP_CONVERT_DYNAMIC] = { "convert-dynamic", false, MB_WRITES_OP_DISK },
        [MB_OP_MIRROR_ADD] = { "mirror-add", false, MB_WRITES_OP_DISK },
        [MB_OP_MIRROR_REMOVE_MISSING] = { "mirror-remove-missing", false, MB_WRITES_OP_DISK },
        [MB_OP_MIRROR_RESYNC] = { "mirror-resync", false, MB_WRITES_OP_DISK },
        [MB_OP_CLONE_BLOCKS] = { "clone-blocks", true, MB_WRITES_OP_DISK },
        [MB_OP_SYNC_FILES] = { "sync-files", true, MB_WRITES_OP_DISK },
        [MB_OP_BCD_COPY_BOOTMGR] = { "bcd-copy-bootmgr", false, MB_WRITES_BCD_STORE },
        [MB_OP_BCD_CREATE_LOADER] = { "bcd-create-loader", false, MB_WRITES_BCD_STORE },
        [MB_OP_BCD_SET_DEVICE] = { "bcd-set-device", false, MB_WRITES_BCD_STORE },
        [MB_OP_BCD_DELETE] = { "bcd-delete", false, MB_WRITES_BCD_STORE },
        [MB_OP_BCD_DISPLAYORDER] = { "bcd-displayorder", false, MB_WRITES_BCD_STORE },
        [MB_OP_BCD_SET_DEFAULT] = { "bcd-set-default", false, MB_WRITES_BCD_STORE },
        [MB_OP_FW_ENTRY] = { "firmware-entry", false, MB_WRITES_FIRMWARE },
        [MB_OP_FW_DELETE] = { "firmware-delete", false, MB_WRITES_FIRMWARE },
        [MB_OP_LDM_REPAIR] = { "ldm-repair", false, MB_WRITES_OP_DISK },
        [MB_OP_GPT_REPAIR] = { "gpt-repair", false, MB_WRITES_OP_DISK },
};

const mb_op_info *mb_op_info_of(mb_op_kind k)
{
        return (unsigned)k < MB_OP__COUNT && op_table[k].name ? &op_table[k] : NULL;
}

const char *mb_op_kind_to_string(mb_op_kind k)
{
        const mb_op_info *i = mb_op_info_of(k);

        return i ? i->name : "unknown";
}

bool mb_op_is_destructive(const mb_op *op)
{
        const mb_op_info *i = mb_op_info_of(op->kind);

        return i && i->destructive;
}

void mb_op_record_identity(mb_op *op, const mb_facts *f)
{
        const mb_disk_fact *d;

        if (!mb_op_is_destructive(op) || !f || !(d = mb_facts_disk(f, op->disk)))
                return;
        snprintf(op->expect_serial, sizeof(op->expect_serial), "%s", d->serial ? d->serial : "");
        op->expect_size = d->size;
}
