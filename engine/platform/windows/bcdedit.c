/* SPDX-License-Identifier: MIT */
/*
 * bcdedit is run only to change a store (the system store, or with /store
 * the one on another disk's ESP), always as
 * %SystemRoot%\System32\bcdedit.exe (exec.c). Its text is never read for
 * facts: the stores are read as data (bcd_registry.c). The one thing taken
 * from its output is the id `bcdedit /copy` prints for the object it made,
 * found as the first "{guid}" whatever the language of the sentence.
 */
#include "windows_internal.h"

#include <stdio.h>
#include <string.h>

int mb_win_find_object_id(const char *text, char ret[40])
{
        for (const char *p = text; (p = strchr(p, '{')); p++) {
                GUID g;
                char buf[39];

                if (strlen(p) < 38 || p[37] != '}')
                        continue;
                memcpy(buf, p, 38);
                buf[38] = '\0';
                if (mb_w_guid_parse(buf, &g) == 0) {
                        char t[37];

                        mb_w_guid_format(&g, t);
                        snprintf(ret, 40, "{%s}", t);
                        return 0;
                }
        }
        return -1;
}
