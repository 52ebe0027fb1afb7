#!/bin/sh
# SPDX-License-Identifier: MIT
# read_facts on the seed images, checked against sgdisk, blkid, mdir, hivexsh.
. "$(dirname "$0")/image-lib.sh"
seed
facts > "$T/facts"
D0=$T/disk0.img

d0=$(grep '^disk 0 ' "$T/facts")
check "disk 0 is GPT, system, 512-byte sectors" \
        test "$(field "$d0" style)/$(field "$d0" system)/$(field "$d0" sector)" = "gpt/1/512"
check "disk 0 first usable LBA 34 (sgdisk agrees)" \
        sh -c "sgdisk -p '$D0' | grep -q 'First usable sector is 34, last usable sector is $(field "$d0" last)'"
check "disk 0 GUID matches sgdisk" \
        test "$(field "$d0" guid | upper)" = "$(sgdisk -p "$D0" | sed -n 's/^Disk identifier (GUID): //p')"
check "disk 0 size" test "$(field "$d0" size)" = 34359738368
check "disk 0 serial is stable" test "$(field "$d0" serial)" = "$(facts | grep '^disk 0 ' | tr ' ' '\n' | sed -n 's/^serial=//p')"

for n in 1 2 3 4; do
        pl=$(grep "^part 0 $n " "$T/facts")
        check "partition $n type GUID = sgdisk" \
                test "$(field "$pl" type | upper)" = "$(sg "$D0" $n 'Partition GUID code' | cut -d' ' -f1)"
        check "partition $n unique GUID = sgdisk" \
                test "$(field "$pl" guid | upper)" = "$(sg "$D0" $n 'Partition unique GUID')"
        check "partition $n first LBA = sgdisk" \
                test "$(field "$pl" first)" = "$(sg "$D0" $n 'First sector' | cut -d' ' -f1)"
        check "partition $n last LBA = sgdisk" \
                test "$(field "$pl" last)" = "$(sg "$D0" $n 'Last sector' | cut -d' ' -f1)"
        check "partition $n attributes = sgdisk" \
                test "$(field "$pl" attrs | sed 's/^0x//' | upper)" = "$(sg "$D0" $n 'Attribute flags' | upper)"
done
check "roles efi msr os recovery" \
        test "$(grep '^part 0 ' "$T/facts" | tr ' ' '\n' | sed -n 's/^role=//p' | tr '\n' ' ')" = "efi msr os recovery "
check "the seed's geometry (OS at byte 122683392, 33685504000 bytes)" \
        test "$(field "$(grep '^part 0 3 ' "$T/facts")" first)" = $((122683392 / 512))
check "recovery attributes 0x8000000000000001" \
        test "$(field "$(grep '^part 0 4 ' "$T/facts")" attrs)" = 0x8000000000000001

# file systems against blkid
for n in 1 3 4; do
        pl=$(grep "^part 0 $n " "$T/facts")
        off=$(( $(field "$pl" first) * 512 ))
        bt=$(blkid -p -O $off -s TYPE -o value "$D0")
        bv=$(blkid -p -O $off -s VERSION -o value "$D0" || true)
        case "$bt/$bv" in vfat/FAT32) want=fat32 ;; ntfs/*) want=ntfs ;; *) want=other ;; esac
        check "partition $n fs = blkid ($bt)" test "$(field "$pl" fs)" = "$want"
        bl=$(blkid -p -O $off -s LABEL -o value "$D0" || true)
        check "partition $n label = blkid ('$bl')" test "$(field "$pl" label)" = "${bl:--}"
done
check "msr has no file system" test "$(field "$(grep '^part 0 2 ' "$T/facts")" fs)" = none

# ESP file list against mdir + mcopy | sha256sum
mdir -/ -b -a -i "$D0@@1048576" ::/ | grep -v '/$' | sed 's/^:://' | sort > "$T/mdir"
grep '^file 0 1 ' "$T/facts" | cut -d' ' -f4 | sort > "$T/ours"
check "ESP file list = mdir" cmp -s "$T/mdir" "$T/ours"
check "ESP has 14 files" test "$(wc -l < "$T/ours")" = 14
while read -r path size sha; do
        mcopy -n -i "$D0@@1048576" "::$path" "$T/x"
        check "ESP $path size and SHA-256 = mcopy|sha256sum" \
                test "$(stat -c %s "$T/x") $(sha256sum < "$T/x" | cut -d' ' -f1)" = "$size $sha"
done <<EOT
$(grep '^file 0 1 ' "$T/facts" | cut -d' ' -f4-)
EOT

# recovery: its files read through NTFS, against ntfscat | sha256sum of the
# partition cut out with dd
rl=$(grep '^part 0 4 ' "$T/facts")
check "recovery: no whole-partition hash (compared by its files)" test "$(field "$rl" sha256)" = -
dd if="$D0" of="$T/rec0" bs=1M skip=$((33808187392 / 1048576)) count=524 conv=sparse status=none
for f in Winre.wim ReAgent.xml; do
        check "recovery file /$f: size and SHA-256 = ntfscat | wc -c, sha256sum" test \
                "$(grep "^file 0 4 /$f " "$T/facts" | cut -d' ' -f5-)" = \
                "$(ntfscat "$T/rec0" "/$f" | wc -c) $(ntfscat "$T/rec0" "/$f" | sha256sum | cut -d' ' -f1)"
done
check "recovery: exactly those two files" test "$(grep -c '^file 0 4 ' "$T/facts")" = 2

# disk 1: blank
d1=$(grep '^disk 1 ' "$T/facts")
check "disk 1 raw, online, no partitions, not system" \
        test "$(field "$d1" style)/$(field "$d1" online)/$(field "$d1" parts)/$(field "$d1" system)" = "raw/1/0/0"

# BCD against hivexsh
mcopy -n -i "$D0@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/BCD"
printf 'cd \\Objects\nls\n' | hivexsh "$T/BCD" | tr -d '\r' | tr A-Z a-z | sort > "$T/hive.objs"
check "BCD object count = hivexsh" test "$(grep -c '^bcd ' "$T/facts")" = "$(wc -l < "$T/hive.objs")"
check "{bootmgr} key exists in the hive" grep -q '^{9dea862c-5cdd-4e70-acc1-f32b344d4795}$' "$T/hive.objs"
bm=$(grep '^bcd {bootmgr} ' "$T/facts")
check "{bootmgr} device is the ESP partition and disk GUID" \
        test "$(field "$bm" device)" = "partition:$(field "$(grep '^part 0 1 ' "$T/facts")" guid):$(field "$d0" guid)"
check "{bootmgr} path" test "$(field "$bm" path)" = '\EFI\Microsoft\Boot\bootmgfw.efi'
check "loader osdevice is the OS partition" \
        sh -c "grep '^bcd .*type=os-loader .*description=Windows Server\$' '$T/facts' | grep -q 'osdevice=partition:$(field "$(grep '^part 0 3 ' "$T/facts")" guid):'"
check "bcd store located on disk 0 partition 1" grep -q '^bcdstore disk 0 partition 1 /EFI/Microsoft/Boot/BCD$' "$T/facts"

# reading changes nothing
sha_before=$(sha256sum < "$T/facts")
check "facts are stable" test "$(facts | sha256sum)" = "$sha_before"
finish
