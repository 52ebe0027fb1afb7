#!/bin/bash
# SPDX-License-Identifier: MIT
# ESP files with any valid FAT long name (accented, Cyrillic, CJK, a name of
# 255 characters, a non-ASCII directory) are listed, compared and copied
# exactly: after apply, mdir lists the same names on disk1's ESP and every
# copied file is byte-identical to its source; a change to one of them is
# drift named by its own name.
. "$(dirname "$0")/image-cli-lib.sh"
# mtools prints and accepts long names in the locale's character set.
export LC_ALL=C.UTF-8
D=$T/d
seed "$D"
L=$(target "$D")
D0=$D/disk0.img D1=$D/disk1.img
mb 0 "apply on the seed" apply "$SITE" --target "$L"

long=$(python3 -c 'print("V" * 251 + ".efi")')
names=("Café-outil.efi" "Привет.efi" "日本語ツール.efi" "$long" "Ωmega/Grüße-Werkzeug.txt")
mmd -i "$(esp "$D0")" ::/EFI/Vendor ::/EFI/Vendor/Ωmega
i=0
for n in "${names[@]}"; do
        i=$((i + 1))
        head -c $((1000 + i * 37)) /dev/urandom > "$T/src$i"
        mcopy -i "$(esp "$D0")" "$T/src$i" "::/EFI/Vendor/$n"
done
check "mdir: disk0 lists the 255-character name" \
        sh -c "mdir -/ -b -a -i '$(esp "$D0")' ::/ | grep -qxF '::/EFI/Vendor/$long'"

mb 2 "check: the new files are drift" check "$SITE" --target "$L"
says "$T/out" '5 files missing' "check counts the five files"
mb 0 "apply copies them" apply "$SITE" --target "$L"
mb 0 "check after apply" check "$SITE" --target "$L"

mdir -/ -b -a -i "$(esp "$D0")" ::/EFI/Vendor | sort > "$T/mdir0"
mdir -/ -b -a -i "$(esp "$D1")" ::/EFI/Vendor | sort > "$T/mdir1"
check "mdir: disk1's /EFI/Vendor lists exactly what disk0's does (sorted)" cmp -s "$T/mdir0" "$T/mdir1"
i=0
for n in "${names[@]}"; do
        i=$((i + 1))
        check "mdir: disk1 lists /EFI/Vendor/${n:0:40}" grep -qxF "::/EFI/Vendor/$n" "$T/mdir1"
        rm -f "$T/got"
        mcopy -n -i "$(esp "$D1")" "::/EFI/Vendor/$n" "$T/got"
        check "byte compare: disk1's ${n:0:40} equals its source" cmp -s "$T/src$i" "$T/got"
done

# drift in one of them is named by its own name
head -c 500 /dev/urandom > "$T/new"
mcopy -o -i "$(esp "$D0")" "$T/new" "::/EFI/Vendor/Привет.efi"
mb 2 "check: a changed Cyrillic-named file is drift" check "$SITE" --target "$L"
says "$T/out" '1 file differs \(/EFI/Vendor/Привет\.efi\)' "check names /EFI/Vendor/Привет.efi"
mb 0 "apply repairs it" apply "$SITE" --target "$L"
rm -f "$T/got"
mcopy -n -i "$(esp "$D1")" "::/EFI/Vendor/Привет.efi" "$T/got"
check "byte compare: disk1's Привет.efi is the new one" cmp -s "$T/new" "$T/got"
mb 0 "check after the repair" check "$SITE" --target "$L"
finish
