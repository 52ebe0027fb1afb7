#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad inputs through the CLI: `check` and `apply` each exit 1 with a message
# naming the image file, and no image is written (SHA-256 of every data
# extent and the mtime, see imgsum). A damaged GPT is repaired only when
# asked with MB_REPAIR_GPT=1, and sgdisk -v agrees afterwards.
. "$(dirname "$0")/image-cli-lib.sh"
S=$T/seed C=$T/conv
seed "$S"
copyset "$S" "$C"
mb 0 "apply on a copy of the seed (the converged images)" apply "$SITE" --target "$(target "$C")"

# refused NAME PATTERN IMG...: check and apply exit 1 saying PATTERN, and no
# image of the list is written; the target is image:IMG,IMG...
refused() {
        local name=$1 pat=$2 list verb; shift 2
        list=$(IFS=,; echo "$*")
        imgsum "$@" > "$T/before" 2>/dev/null
        for verb in check apply; do
                mb 1 "$name: $verb" $verb "$SITE" --target "image:$list"
                says "$T/err" "$pat" "$name: $verb names it"
        done
        echo "    $(head -c 400 "$T/err")"
        imgsum "$@" > "$T/after" 2>/dev/null
        check "$name: nothing written" cmp -s "$T/before" "$T/after"
}
fresh() { rm -rf "$T/x"; copyset "${1:-$S}" "$T/x"; X0=$T/x/disk0.img X1=$T/x/disk1.img; }

# ---- missing, unreadable, same image twice ----
fresh
refused "a missing image" "cannot open disk 1 image '$T/x/missing.img'" "$X0" "$T/x/missing.img"
cp --sparse=always "$X1" "$T/x/noread.img"; chmod 000 "$T/x/noread.img"
if [ "$(id -u)" = 0 ]; then
        # root reads any file: run mbstate as nobody on a copy nobody can read
        chmod 755 "$T" "$T/x"; chmod 644 "$X0"
        imgsum "$X0" "$T/x/noread.img" > "$T/before"
        for verb in check apply; do
                setpriv --reuid=65534 --regid=65534 --clear-groups "$MB" $verb "$SITE" \
                        --target "image:$X0,$T/x/noread.img" >"$T/out" 2>"$T/err"
                rc=$?
                check "an unreadable image (as nobody): $verb exits 1 (got $rc)" test $rc = 1
                says "$T/err" "cannot open disk 1 image '$T/x/noread.img': Permission denied" \
                        "an unreadable image: $verb names it"
        done
        imgsum "$X0" "$T/x/noread.img" > "$T/after"
        check "an unreadable image: nothing written" cmp -s "$T/before" "$T/after"
else
        refused "an unreadable image" "cannot open disk 1 image '$T/x/noread.img'" "$X0" "$T/x/noread.img"
fi
rm -f "$T/x/noread.img"
refused "the same image twice" "'$X0' \(disk 0\) and '$X0' \(disk 1\) are the same file" "$X0" "$X0"
ln "$X0" "$T/x/link.img"
refused "the same image twice (a hard link)" "are the same file" "$X0" "$T/x/link.img"
refused "the same image twice (another path)" "'$T/x/../x/disk0.img' \(disk 1\) are the same file" \
        "$X0" "$T/x/../x/disk0.img"
rm -f "$T/x/link.img"

# ---- an image too small for the layout ----
truncate -s 16G "$T/x/small.img"
refused "a 16 GiB blank disk1" "\(disk 1\) \($T/x/small.img, 16 GiB\) is too small" "$X0" "$T/x/small.img"
check "the 16 GiB disk is still blank (all holes)" test "$(stat -c %b "$T/x/small.img")" = 0
rm -f "$T/x/small.img"

# ---- a GPT with a bad header CRC: detected, never rewritten ----
fresh
printf '\377' | dd of="$X0" bs=1 seek=$((512 + 16)) conv=notrunc status=none  # header CRC32 field
sgdisk -v "$X0" > "$T/sgv" 2>&1
check "sgdisk -v disk0 sees the bad CRC" grep -q 'Main header: ERROR' "$T/sgv"
refused "disk0's primary GPT header CRC" "$X0: the primary GPT is damaged \(header CRC" "$X0" "$X1"
check "sgdisk -v disk0: still damaged (not silently rewritten)" sh -c "sgdisk -v '$X0' 2>&1 | grep -q 'Main header: ERROR'"
fresh
printf '\377' | dd of="$X0" bs=1 seek=$((512 + 16)) conv=notrunc status=none
printf '\377' | dd of="$X0" bs=1 seek=$((34359738368 - 512 + 16)) conv=notrunc status=none
imgsum "$X0" "$X1" > "$T/before"
MB_REPAIR_GPT=1 "$MB" apply "$SITE" --target "image:$X0,$X1" >"$T/out" 2>"$T/err"
check "both GPT copies bad: exit 1 even with MB_REPAIR_GPT=1" test $? = 1
says "$T/err" "$X0: both GPT copies are damaged" "both GPT copies bad: named"
imgsum "$X0" "$X1" > "$T/after"
check "both GPT copies bad: nothing written" cmp -s "$T/before" "$T/after"

# ---- a primary GPT damaged while the backup is intact ----
fresh "$C"
sgdisk -p "$X1" > "$T/p.before"
dd if=/dev/zero of="$X1" bs=512 seek=2 count=1 conv=notrunc status=none     # first entries of the primary array
sgdisk -v "$X1" > "$T/sgv" 2>&1
check "sgdisk -v disk1 sees the damaged primary table" grep -Eq 'Main partition table: ERROR|CRC' "$T/sgv"
echo "    sgdisk -v: $(grep -E 'ERROR|CRC' "$T/sgv" | head -2 | tr '\n' ' ')"
refused "disk1's primary partition array" "$X1: the primary GPT is damaged .*backup .* is intact; not repaired \(set MB_REPAIR_GPT=1" "$X0" "$X1"
imgsum "$X0" "$X1" > "$T/before"
MB_REPAIR_GPT=1 "$MB" check "$SITE" --target "image:$X0,$X1" >"$T/out" 2>"$T/err"
check "MB_REPAIR_GPT=1 check: reads the backup, in desired state (exit $?)" grep -q '^in desired state' "$T/out"
imgsum "$X0" "$X1" > "$T/after"
check "MB_REPAIR_GPT=1 check wrote nothing" cmp -s "$T/before" "$T/after"
MB_REPAIR_GPT=1 "$MB" apply "$SITE" --target "image:$X0,$X1" >"$T/out" 2>"$T/err"
check "MB_REPAIR_GPT=1 apply: exit 0 ($?)" grep -q '^No changes' "$T/out"
check "sgdisk -v disk1 after the repair: no problems, no warning" sgdisk_clean "$X1"
echo "    sgdisk -v disk1.img: $(grep -m1 . "$T/sgv")"
sgdisk -p "$X1" > "$T/p.after"
check "sgdisk -p: the same table as before the damage" cmp -s "$T/p.before" "$T/p.after"
mb 0 "check without the flag after the repair" check "$SITE" --target "image:$X0,$X1"

# ---- an ESP that is not FAT ----
fresh
dd if=/dev/zero of="$X0" bs=512 seek=$ESP_LBA count=1 conv=notrunc status=none
refused "disk0's ESP boot sector zeroed" "source disk primary \(disk 0\) \($X0\): partition 1 \(efi\) holds no file system" "$X0" "$X1"
fresh
mkfs.ext4 -q -F -E offset=$ESP_OFF "$X0" 100M </dev/null
check "blkid: disk0's ESP is ext4 now" test "$(blkid -p -O $ESP_OFF -s TYPE -o value "$X0")" = ext4
refused "disk0's ESP made ext4" "\($X0\): partition 1 \(efi\) holds a file system other than fat32" "$X0" "$X1"
fresh "$C"
mkfs.ext4 -q -F -E offset=$ESP_OFF "$X1" 100M </dev/null
refused "disk1's ESP made ext4" "\($X1\): partition 1 \(efi\) holds a file system other than fat32 or ntfs, expected a fat32" "$X0" "$X1"

# ---- a corrupt BCD hive in disk0's ESP ----
fresh
mcopy -n -i "$(esp "$X0")" ::/EFI/Microsoft/Boot/BCD "$T/BCD"
printf 'garbage!' | dd of="$T/BCD" bs=1 seek=4096 conv=notrunc status=none  # the first hbin
check "hivexsh refuses the damaged hive too" sh -c "! hivexsh '$T/BCD' </dev/null >/dev/null 2>&1"
mcopy -o -i "$(esp "$X0")" "$T/BCD" ::/EFI/Microsoft/Boot/BCD
refused "a corrupt BCD hive" "$X0: BCD store /EFI/Microsoft/Boot/BCD: no \"hbin\" signature" "$X0" "$X1"
mb 1 "a corrupt BCD hive: facts" facts --target "image:$X0,$X1"
says "$T/err" "$X0: BCD store /EFI/Microsoft/Boot/BCD" "a corrupt BCD hive: facts names it"
check "no temporary copy of the store is left beside the images" \
        test -z "$(find "$T/x" -name '.mbstate-*')"
finish
