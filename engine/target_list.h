/* SPDX-License-Identifier: MIT */
#ifndef MB_TARGET_LIST_H
#define MB_TARGET_LIST_H

/* Splits the comma-separated list of an image: target in place, one item per
 * call: returns the next item (NUL-terminated inside the list) and advances
 * *cursor, or NULL at the end. A doubled comma is a comma inside the item
 * ("a,,b.img" is the file "a,b.img"), as in QEMU's option syntax. The image
 * target and the lock keys read the list through this one function. */
char *mb_target_list_next(char **cursor);

#endif
