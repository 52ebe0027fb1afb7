/* SPDX-License-Identifier: MIT */
#ifndef MB_RENDERERS_H
#define MB_RENDERERS_H

#include <stddef.h>

#include "error.h"
#include "facts.h"
#include "platform/platform.h"

/*
 * Command renderers (plan --commands NAME): each describes an operation as
 * the commands a target would run for it, one or more lines. The registry
 * (engine/platform/renderers.c) lists the renderers built into this
 * mbstate; the engine looks them up by name and names none itself.
 */
typedef struct mb_renderer {
        const char *name;       /* the NAME of --commands */
        /* The text for op, malloc'd into *ret_text (untouched on failure).
         * Pure: depends on facts and op only. */
        int (*render)(const mb_facts *facts, const mb_op *op, char **ret_text, mb_error *err);
} mb_renderer;

/* The renderer a plan without --commands uses: the operation and its
 * fields as mbstate names them, for any target. */
#define MB_RENDERER_DEFAULT "target"

/* The renderer called name; NULL when none is (or name is NULL). */
const mb_renderer *mb_renderer_find(const char *name);

/* The known names for a message, "'windows' or 'target'"; returns buf. */
const char *mb_renderer_names(char *buf, size_t len);

#endif
