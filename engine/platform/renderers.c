/* SPDX-License-Identifier: MIT */
/*
 * The registry of command renderers (plan --commands NAME): one row per
 * renderer built into this mbstate, the first of them the one named in
 * the --commands error's list first. "target" describes an operation by
 * mbstate's own names and fields for any target; a target that can show
 * the commands it runs adds its row here (the windows target's diskpart,
 * bcdedit and IOCTL steps, built on every host).
 */
#include "platform/renderers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "yamldoc.h"

#ifdef MB_HAVE_WINDOWS_RENDER
#include "platform/windows/windows_target.h"
#endif

static void op_generic(const mb_facts *f, const mb_op *op, mb_buf *b)
{
        const mb_disk_fact *d = mb_facts_disk(f, op->disk);

        mb_buf_printf(b, "%s disk %u", mb_op_kind_to_string(op->kind), op->disk);
        if (d && d->path)
                mb_buf_printf(b, " (%s)", d->path);
        if (op->role)
                mb_buf_printf(b, " role %s", mb_role_to_string(op->role));
        switch (op->kind) {
        case MB_OP_PART_CREATE:
        case MB_OP_MIRROR_ADD:
                mb_buf_printf(b, " lba %" PRIu64 "-%" PRIu64 " type %s", op->first_lba, op->last_lba,
                              op->type_guid);
                if (op->kind == MB_OP_PART_CREATE)
                        mb_buf_printf(b, " attributes 0x%016" PRIx64 " name \"%s\"", op->attributes, op->name);
                if (op->kind == MB_OP_MIRROR_ADD)
                        mb_buf_printf(b, " from disk %u", op->disk2);
                break;
        case MB_OP_PART_SET_ATTRS:
                mb_buf_printf(b, " attributes 0x%016" PRIx64, op->attributes);
                break;
        case MB_OP_PART_SET_NAME:
                mb_buf_printf(b, " name \"%s\"", op->name);
                break;
        case MB_OP_FORMAT:
                mb_buf_printf(b, " fs %s label \"%s\"", mb_fs_to_string(op->fs), op->label);
                break;
        case MB_OP_CLONE_BLOCKS:
        case MB_OP_SYNC_FILES:
                mb_buf_printf(b, " from disk %u", op->disk2);
                break;
        case MB_OP_MIRROR_REMOVE_MISSING:
                mb_buf_printf(b, " ldm-disk %s", op->ldm_disk);
                break;
        case MB_OP_BCD_COPY_BOOTMGR:
        case MB_OP_BCD_CREATE_LOADER:
                mb_buf_printf(b, " description \"%s\"", op->description);
                break;
        case MB_OP_BCD_SET_DEVICE:
        case MB_OP_BCD_DELETE:
        case MB_OP_BCD_DISPLAYORDER:
        case MB_OP_BCD_SET_DEFAULT:
                if (op->object[0])
                        mb_buf_printf(b, " object %s", op->object);
                else
                        mb_buf_printf(b, " object (the loader on disk %u %s)", op->disk,
                                      mb_role_to_string(op->role));
                if (op->kind == MB_OP_BCD_DISPLAYORDER)
                        mb_buf_printf(b, " position %s", op->position == MB_POS_FIRST ? "first"
                                                         : op->position == MB_POS_LAST ? "last" : "absent");
                break;
        case MB_OP_FW_ENTRY:
                mb_buf_printf(b, " description \"%s\" path %s position %s", op->description,
                              op->path, op->position == MB_POS_FIRST ? "first"
                                        : op->position == MB_POS_LAST ? "last" : "kept");
                if (op->number != 0xffff)
                        mb_buf_printf(b, " Boot%04X", op->number);
                break;
        case MB_OP_FW_DELETE:
                mb_buf_printf(b, " Boot%04X", op->number);
                break;
        case MB_OP_DISK_INIT_GPT:
                mb_buf_printf(b, " expect-serial %s expect-size %" PRIu64, op->expect_serial,
                              op->expect_size);
                break;
        default:
                break;
        }
        if (op->kind >= MB_OP_BCD_COPY_BOOTMGR && op->kind <= MB_OP_BCD_SET_DEFAULT && op->esp_store)
                mb_buf_printf(b, " store disk %u's ESP", op->store_disk);
        if (op->kind == MB_OP_SYNC_FILES && op->keep_store)
                mb_buf_printf(b, " keeping the target's BCD store");
}

/* The "target" renderer: op_generic's line. */
static int render_target(const mb_facts *f, const mb_op *op, char **ret_text, mb_error *err)
{
        mb_buf b = { 0 };

        op_generic(f, op, &b);
        if (b.failed) {
                mb_buf_free(&b);
                return mb_error_set(err, MB_ENOMEM, "out of memory");
        }
        *ret_text = b.data;
        return 0;
}

static const mb_renderer renderers[] = {
#ifdef MB_HAVE_WINDOWS_RENDER
        { .name = "windows", .render = mb_windows_render_op },
#endif
        { .name = MB_RENDERER_DEFAULT, .render = render_target },
};

const mb_renderer *mb_renderer_find(const char *name)
{
        for (size_t i = 0; name && i < sizeof(renderers) / sizeof(renderers[0]); i++)
                if (strcmp(renderers[i].name, name) == 0)
                        return &renderers[i];
        return NULL;
}

const char *mb_renderer_names(char *buf, size_t len)
{
        size_t n = sizeof(renderers) / sizeof(renderers[0]), off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++)
                off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s'%s'",
                                        i == 0 ? "" : i + 1 == n ? " or " : ", ", renderers[i].name);
        return buf;
}
