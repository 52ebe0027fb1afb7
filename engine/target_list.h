/* SPDX-License-Identifier: MIT */
#ifndef MB_TARGET_LIST_H
#define MB_TARGET_LIST_H

/* Splits the comma-separated list of an image: target in place, one item per
 * call: returns the next item (NUL-terminated inside the list) and advances
 * *cursor, or NULL at the end. A doubled comma is a comma inside the item
 * ("a,,b.img" is the file "a,b.img"), as in QEMU's option syntax. The image
 * target and the lock keys read the list through this one function. */
char *mb_target_list_next(char **cursor);

/* The logical sector size an image item gives its disk: a trailing ":512"
 * or ":4096" ("a.img:4096"), cut from item in place, is returned; an item
 * without one is left whole and 0 is returned (the default, 512, is the
 * caller's). Only those two exact suffixes are sizes: "a:b.img" and
 * "disk:1024" are file names (a file whose name itself ends in ":512" is
 * named with the suffix repeated, "x:512:512"). */
unsigned mb_target_item_sector(char *item);

#endif
