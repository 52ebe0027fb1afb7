#!/bin/sh
# SPDX-License-Identifier: MIT
# build.sh OUT VERSION: the stand-in boot manager (bootmgr.c) with
# FileVersion VERSION (a.b.c.d) in its VERSIONINFO resource.
set -eu
OUT=${1:?out} VER=${2:?version}
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
commas=$(echo "$VER" | tr . ,)
cat >"$w/v.rc" <<RC
1 VERSIONINFO
FILEVERSION $commas
PRODUCTVERSION $commas
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "FileDescription", "mbstate stand-in boot manager"
      VALUE "FileVersion", "$VER"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
x86_64-w64-mingw32-windres -O coff -i "$w/v.rc" -o "$w/v.o"
x86_64-w64-mingw32-gcc -O2 -ffreestanding -fno-stack-protector -fshort-wchar -mno-red-zone \
        -nostdlib -Wl,--subsystem,10 -e efi_main \
        "-DMARKER=u\"MBSTATE-BOOT bootmgfw version=$VER\\r\\n\"" \
        -o "$OUT" "$here/bootmgr.c" "$w/v.o"
