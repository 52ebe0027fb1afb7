#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad inputs through the CLI: `check` and `apply` each exit 1 with a message
# naming the image file, and no image is written (SHA-256 of every data
# extent and the mtime, see imgsum). One damaged GPT copy is read through
# the intact one everywhere (the LDM reader included): plan and check show
# the rewrite as a change, only apply performs it, and sgdisk -v agrees.
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

# ---- a GPT with a bad header CRC: read through the backup, rewritten only by apply ----
fresh
printf '\377' | dd of="$X0" bs=1 seek=$((512 + 16)) conv=notrunc status=none  # header CRC32 field
sgdisk -v "$X0" > "$T/sgv" 2>&1
check "sgdisk -v disk0 sees the bad CRC" grep -q 'Main header: ERROR' "$T/sgv"
imgsum "$X0" "$X1" > "$T/before"
mb 2 "disk0's primary GPT header CRC: check is drift" check "$SITE" --target "image:$X0,$X1"
says "$T/out" "primary \\(disk 0\\): primary GPT damaged, read through the intact backup copy" "the drift names the damaged copy"
imgsum "$X0" "$X1" > "$T/after"
check "check wrote nothing" cmp -s "$T/before" "$T/after"
check "sgdisk -v disk0: still damaged (check does not rewrite it)" sh -c "sgdisk -v '$X0' 2>&1 | grep -q 'Main header: ERROR'"
fresh
printf '\377' | dd of="$X0" bs=1 seek=$((512 + 16)) conv=notrunc status=none
printf '\377' | dd of="$X0" bs=1 seek=$((34359738368 - 512 + 16)) conv=notrunc status=none
refused "both GPT copies bad" "$X0: both GPT copies are damaged" "$X0" "$X1"

# ---- a dynamic disk whose primary GPT is damaged while the backup is intact ----
# (the seed's own site.yaml: both disks dynamic, C: mirrored)
SEEDSITE=examples/seed/site.yaml
copyset "$S" "$T/dyn"
mb 0 "apply the seed's site.yaml on a copy (dynamic disks, os mirror)" apply "$SEEDSITE" --target "$(target "$T/dyn")"
rm -rf "$T/x"; copyset "$T/dyn" "$T/x"; X0=$T/x/disk0.img X1=$T/x/disk1.img
sgdisk -p "$X1" > "$T/p.before"
dd if=/dev/zero of="$X1" bs=512 seek=2 count=1 conv=notrunc status=none     # first entries of the primary array
sgdisk -v "$X1" > "$T/sgv" 2>&1
check "sgdisk -v disk1 sees the damaged primary table" grep -Eq 'Main partition table: ERROR|CRC' "$T/sgv"
echo "    sgdisk -v: $(grep -E 'ERROR|CRC' "$T/sgv" | head -2 | tr '\n' ' ')"
imgsum "$X0" "$X1" > "$T/before"
mb 0 "facts of the damaged pair" facts --json --target "image:$X0,$X1"
check "facts: disk 1 read through its backup GPT: gpt_damaged primary, still dynamic, its os plex healthy (the LDM reader found the metadata partition)" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
d = [d for d in f["disks"] if d["number"] == 1][0]
assert d.get("gpt_damaged") == "primary" and d["dynamic"], d
v = [v for v in f["volumes"] if v["kind"] == "mirror"][0]
assert sorted((p["disk"], p["state"]) for p in v["plexes"]) == [(0, "healthy"), (1, "healthy")], v
' "$T/out"
mb 2 "damaged primary GPT: plan shows the rewrite" plan "$SEEDSITE" --target "image:$X0,$X1"
says "$T/out" "1\\. disk +secondary \\(disk 1\\): primary GPT damaged, read through the intact backup copy -> both GPT copies intact \\(the primary rewritten from the other\\)" "plan: the rewrite is the one change"
says "$T/out" "gpt-repair disk 1" "plan: the operation"
check "plan: no mirror change (the plex is seen through the backup GPT)" sh -c "! grep -q 'mirror' '$T/out'"
mb 2 "damaged primary GPT: check is drift" check "$SEEDSITE" --target "image:$X0,$X1"
imgsum "$X0" "$X1" > "$T/after"
check "plan and check wrote nothing" cmp -s "$T/before" "$T/after"
mb 0 "damaged primary GPT: apply rewrites it" apply "$SEEDSITE" --target "image:$X0,$X1"
says "$T/out" "converged: 1 change applied" "apply: one change"
# (the converged layout's LDM data partition over the free tail draws sgdisk's
# alignment caution, damaged or not: only the verdict and the CRC lines count)
sgdisk -v "$X1" > "$T/sgv" 2>&1
check "sgdisk -v disk1 after the repair: no problems, no CRC or damage warning" \
        sh -c "grep -q '^No problems found' '$T/sgv' && ! grep -Eiq 'error|corrupt|damaged|mismatch|crc' '$T/sgv'"
echo "    sgdisk -v disk1.img: $(grep -m1 'No problems' "$T/sgv")"
sgdisk -p "$X1" > "$T/p.after"
check "sgdisk -p: the same table as before the damage" cmp -s "$T/p.before" "$T/p.after"
mb 0 "check after the repair" check "$SEEDSITE" --target "image:$X0,$X1"

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
