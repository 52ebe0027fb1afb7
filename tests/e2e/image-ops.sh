#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed procedure on disk 1, one image-target operation at a time, each
# effect checked by sgdisk, blkid, fsck.fat, mdir, cmp and hivexsh.
. "$(dirname "$0")/image-lib.sh"
seed
D0=$T/disk0.img D1=$T/disk1.img
f0=$(facts)
serial1=$(field "$(printf '%s\n' "$f0" | grep '^disk 1 ')" serial)

# ---- safety ----
refuse "a disk not allowed for writing is refused" "not selected for writing" op - DISK_INIT_GPT disk=1
refuse "identity: a wrong expected size is refused" "plan expected 1234" op 1 DISK_INIT_GPT disk=1 expect_size=1234
refuse "identity: a wrong expected serial is refused" "plan expected IMG-00000000" \
        op 1 DISK_INIT_GPT disk=1 expect_serial=IMG-00000000
refuse "the seed's system disk (4 partitions) is never initialized" "has 4 partition" \
        op 0 DISK_INIT_GPT disk=0
check "disk 1 still blank after refusals" test "$(stat -c %b "$D1")" = 0
check "DISK_ONLINE is a no-op" op 1 DISK_ONLINE disk=1

# ---- clean + convert gpt ----
check "DISK_INIT_GPT" op 1 DISK_INIT_GPT disk=1 expect_serial=$serial1 expect_size=34359738368
check "sgdisk -v: no problems" sgdisk_ok "$D1"
check "first usable LBA 34, no partitions (no MSR left behind)" \
        sh -c "sgdisk -p '$D1' | grep -q 'First usable sector is 34,' && [ \$(sgdisk -p '$D1' | sed '1,/^Number/d' | wc -l) = 0 ]"
check "sfdisk agrees: first-lba 34" sh -c "sfdisk -d '$D1' | grep -q '^first-lba: 34$'"
g1=$(field "$(facts | grep '^disk 1 ')" guid)
check "DISK_INIT_GPT again on an empty GPT disk is allowed" op 1 DISK_INIT_GPT disk=1

# ---- partitions, geometry from disk 0 ----
create() {      # create ROLE N
        pl=$(printf '%s\n' "$f0" | grep "^part 0 $2 ")
        op 1 PART_CREATE disk=1 role=$1 first=$(field "$pl" first) last=$(field "$pl" last) \
                type=$(field "$pl" type) attrs=$(field "$pl" attrs) "name=$(printf '%s\n' "$pl" | sed 's/.* name=//')"
}
check "PART_CREATE efi" create efi 1
check "PART_CREATE msr" create msr 2
check "PART_CREATE os" create os 3
check "PART_CREATE recovery" create recovery 4
refuse "PART_CREATE of an existing role is refused" "already exists" create efi 1
refuse "PART_CREATE overlapping is refused" "overlaps" \
        op 1 PART_CREATE disk=1 role=none first=2048 last=4095 type=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7
check "sgdisk -v: no problems" sgdisk_ok "$D1"
for n in 1 2 3 4; do
        for k in 'Partition GUID code' 'First sector' 'Last sector' 'Attribute flags' 'Partition name'; do
                check "partition $n $k = disk 0" test "$(sg "$D1" $n "$k")" = "$(sg "$D0" $n "$k")"
        done
        check "partition $n has a new unique GUID" \
                test "$(sg "$D1" $n 'Partition unique GUID')" != "$(sg "$D0" $n 'Partition unique GUID')"
done
check "recovery attributes 8000000000000001 (not the seed's defect)" \
        test "$(sg "$D1" 4 'Attribute flags')" = 8000000000000001

# ---- attribute/type/name setters ----
check "PART_SET_ATTRS 0" op 1 PART_SET_ATTRS disk=1 role=recovery attrs=0
check "sgdisk -i: attributes 0" test "$(sg "$D1" 4 'Attribute flags')" = 0000000000000000
check "PART_SET_ATTRS back" op 1 PART_SET_ATTRS disk=1 role=recovery attrs=0x8000000000000001
check "sgdisk -i: attributes 8000000000000001" test "$(sg "$D1" 4 'Attribute flags')" = 8000000000000001
check "PART_SET_NAME" op 1 PART_SET_NAME disk=1 role=os "name=Basic data partition 2"
check "sgdisk -i: name" test "$(sg "$D1" 3 'Partition name')" = "'Basic data partition 2'"
check "PART_SET_NAME back" op 1 PART_SET_NAME disk=1 role=os "name=Basic data partition"
refuse "PART_SET_TYPE with a bad GUID" "invalid partition type GUID" op 1 PART_SET_TYPE disk=1 role=os type=zz
check "PART_SET_TYPE" op 1 PART_SET_TYPE disk=1 role=recovery type=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7
check "sgdisk -i: type is now basic data" \
        test "$(sg "$D1" 4 'Partition GUID code' | cut -d' ' -f1)" = EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
check "sgdisk -i: name and attributes kept" \
        test "$(sg "$D1" 4 'Attribute flags')/$(sg "$D1" 4 'Partition name')" = "8000000000000001/''"
sgdisk -t 4:DE94BBA4-06D1-4D40-A16A-BFD50179D6AC "$D1" >/dev/null 2>&1
check "sgdisk -v: no problems after setters" sgdisk_ok "$D1"

# ---- formats ----
check "FORMAT efi fat32" op 1 FORMAT disk=1 role=efi fs=fat32 label=SYSTEM expect_serial=$serial1
check "fsck.fat -n on the new ESP" esp_fsck "$D1" 2048 204800
check "blkid: vfat FAT32 'SYSTEM' at LBA 2048" \
        test "$(blkid -p -O 1048576 -s TYPE -s VERSION -s LABEL -o value "$D1" | tr '\n' ' ')" = "SYSTEM FAT32 vfat "
fsck.fat -v -n "$T/esp.fsck" > "$T/fsck.v" 2>&1 || true
check "FAT32 fills the partition: 204800 sectors total (fsck.fat -v)" grep -q '^ *204800 sectors total$' "$T/fsck.v"
check "FAT32 hidden sectors = partition start 2048 (fsck.fat -v)" grep -q '^ *2048 hidden sectors$' "$T/fsck.v"
check "FORMAT recovery ntfs" op 1 FORMAT disk=1 role=recovery fs=ntfs
check "FORMAT os ntfs 'Windows'" op 1 FORMAT disk=1 role=os fs=ntfs label=Windows
check "blkid: ntfs 'Windows' at the OS offset" \
        test "$(blkid -p -O 122683392 -s TYPE -s LABEL -o value "$D1" | tr '\n' ' ')" = "Windows ntfs "
check "blkid: ntfs at the recovery offset" \
        test "$(blkid -p -O 33808187392 -s TYPE -o value "$D1")" = ntfs
check "the two NTFS volumes have different serials" \
        test "$(blkid -p -O 122683392 -s UUID -o value "$D1")" != "$(blkid -p -O 33808187392 -s UUID -o value "$D1")"
check "ntfsinfo reads the OS volume (spliced at its offset)" \
        sh -c "dd if='$D1' of='$T/rec.ntfs' bs=1M skip=$((33808187392 / 1048576)) count=524 status=none && ntfsinfo -m '$T/rec.ntfs' >/dev/null 2>&1"
check "sgdisk -v: formats left the GPT alone" sgdisk_ok "$D1"
check "the images stay sparse (< 200 MiB allocated)" test "$(du -k "$D1" | cut -f1)" -lt 204800

# ---- block clone of recovery ----
check "CLONE_BLOCKS recovery 0 -> 1" op 1 CLONE_BLOCKS disk=1 disk2=0 role=recovery
dd if="$D0" of="$T/rec.0" bs=1M skip=$((33808187392 / 1048576)) count=524 status=none
dd if="$D1" of="$T/rec.1" bs=1M skip=$((33808187392 / 1048576)) count=524 status=none
check "recovery partitions are byte-identical (cmp)" cmp -s "$T/rec.0" "$T/rec.1"
check "facts: content SHA-256 equal" test "$(field "$(partline 0 4)" sha256)" = "$(field "$(partline 1 4)" sha256)"
# a copy of disk 1 whose recovery partition is 2048 sectors shorter (sgdisk)
S1=$T/short1.img
cp --sparse=always "$D1" "$S1"
sgdisk -d 4 -n 4:66031616:67102719 -t 4:DE94BBA4-06D1-4D40-A16A-BFD50179D6AC "$S1" >/dev/null
check "sgdisk: the copy's recovery partition ends at LBA 67102719" test "$(sg "$S1" 4 'Last sector' | cut -d' ' -f1)" = 67102719
touch -d '2001-01-01 00:00:00' "$S1"; m1=$(stat -c %y "$S1")
refuse "CLONE_BLOCKS onto a different-size partition is refused" \
        "the recovery partitions differ in size: $S1 has 1071104 sectors, $D0 has 1073152" \
        "$MBIMG" exec "$D0,$S1" 1 CLONE_BLOCKS disk=1 disk2=0 role=recovery
check "... and the shorter partition's image was not written (mtime)" \
        test "$(stat -c %y "$S1")" = "$m1"
refuse "CLONE_BLOCKS from a disk onto itself is refused" "same disk" op 1 CLONE_BLOCKS disk=1 disk2=1 role=recovery
refuse "CLONE_BLOCKS onto disk 0 (not allowed) is refused" "not selected" op 1 CLONE_BLOCKS disk=0 disk2=1 role=recovery

# ---- BCD: copy {bootmgr} to the secondary ESP, secondary plex loader ----
refuse "BCD edit without disk 0 allowed is refused" "not selected" \
        op 1 BCD_COPY_BOOTMGR disk=1 role=efi "description=Windows Boot Manager Cloned"
check "BCD_COPY_BOOTMGR" op 0,1 BCD_COPY_BOOTMGR disk=1 role=efi "description=Windows Boot Manager Cloned"
check "BCD_COPY_BOOTMGR again does not duplicate" op 0,1 BCD_COPY_BOOTMGR disk=1 role=efi "description=Windows Boot Manager Cloned"
check "BCD_CREATE_LOADER" op 0,1 BCD_CREATE_LOADER disk=1 role=os "description=Windows Server - secondary plex"
facts > "$T/f"
cl=$(grep '^bcd .*description=Windows Boot Manager Cloned$' "$T/f")
pl=$(grep '^bcd .*description=Windows Server - secondary plex$' "$T/f")
esp1=$(field "$(grep '^part 1 1 ' "$T/f")" guid) os1=$(field "$(grep '^part 1 3 ' "$T/f")" guid)
g1=$(field "$(grep '^disk 1 ' "$T/f")" guid)
check "one cloned boot manager" test "$(grep -c 'description=Windows Boot Manager Cloned$' "$T/f")" = 1
check "cloned boot manager: type, device = disk 1 ESP" \
        test "$(field "$cl" type) $(field "$cl" device)" = "boot-manager partition:$esp1:$g1"
check "cloned boot manager keeps {bootmgr}'s path" test "$(field "$cl" path)" = '\EFI\Microsoft\Boot\bootmgfw.efi'
check "plex loader: device and osdevice = disk 1 OS" \
        test "$(field "$pl" device) $(field "$pl" osdevice)" = "partition:$os1:$g1 partition:$os1:$g1"
plex=$(printf '%s\n' "$pl" | cut -d' ' -f2)
check "BCD_DISPLAYORDER last" op 0 BCD_DISPLAYORDER object=$plex position=last
check "{bootmgr} displayorder ends with the plex loader" \
        sh -c "'$MBIMG' facts '$L' | grep '^bcd {bootmgr} ' | grep -q 'order={063973c0-d0ac-11ed-b884-cfa59b967f58},$plex '"
check "BCD_DISPLAYORDER first" op 0 BCD_DISPLAYORDER object=$plex position=first
check "{bootmgr} displayorder starts with the plex loader" \
        sh -c "'$MBIMG' facts '$L' | grep '^bcd {bootmgr} ' | grep -q 'order=$plex,'"
mcopy -n -i "$D0@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/BCD"
oid=$(printf '%s\n' "$cl" | cut -d' ' -f2)
check "hivexsh: the cloned object's description element" \
        sh -c "printf 'cd \\\\Objects\\\\$oid\\\\Elements\\\\12000004\\nlsval\\n' | hivexsh '$T/BCD' | grep -q 'Windows Boot Manager Cloned'"
check "BCD_SET_DEVICE {bootmgr} stays on disk 0" op 0 BCD_SET_DEVICE object={bootmgr} disk=0 role=efi
check "BCD_DELETE" op 0 BCD_DELETE object=$plex
check "deleted object gone, and out of displayorder (facts list {bootmgr}, not it)" \
        sh -c "'$MBIMG' facts '$L' > '$T/f.del' && grep -q '^bcd {bootmgr} ' '$T/f.del' && ! grep -q '$plex' '$T/f.del'"
check "BCD_CREATE_LOADER again" op 0,1 BCD_CREATE_LOADER disk=1 role=os "description=Windows Server - secondary plex"

# ---- ESP file sync (after the BCD edits, so disk 1 carries them) ----
check "SYNC_FILES efi 0 -> 1" op 1 SYNC_FILES disk=1 disk2=0 role=efi
facts > "$T/f"
grep '^file 0 1 ' "$T/f" | cut -d' ' -f4- > "$T/files0"
grep '^file 1 1 ' "$T/f" | cut -d' ' -f4- > "$T/files1"
check "ESP file lists (path, size, SHA-256) identical" cmp -s "$T/files0" "$T/files1"
mdir -/ -b -a -i "$D0@@1048576" ::/ | sort > "$T/m0"; mdir -/ -b -a -i "$D1@@1048576" ::/ | sort > "$T/m1"
check "mdir listings identical, directories included" cmp -s "$T/m0" "$T/m1"
check "fsck.fat -n after the sync" esp_fsck "$D1" 2048 204800
echo junk > "$T/junk"; mcopy -i "$D1@@1048576" "$T/junk" ::/EFI/extra.txt
mmd -i "$D1@@1048576" ::/EFI/Stale
mcopy -i "$D1@@1048576" "$T/junk" ::/EFI/Microsoft/Boot/bootmgfw.efi -o
check "SYNC_FILES repairs drift (extra file, extra dir, changed file)" op 1 SYNC_FILES disk=1 disk2=0 role=efi
mdir -/ -b -a -i "$D1@@1048576" ::/ | sort > "$T/m1"
check "mdir listings identical again" cmp -s "$T/m0" "$T/m1"
check "fsck.fat -n after the repair" esp_fsck "$D1" 2048 204800

# ---- converged: running the same operations again changes nothing ----
facts > "$T/before"
check "CLONE_BLOCKS again" op 1 CLONE_BLOCKS disk=1 disk2=0 role=recovery
check "SYNC_FILES again" op 1 SYNC_FILES disk=1 disk2=0 role=efi
facts > "$T/after"
check "facts unchanged by the second run" cmp -s "$T/before" "$T/after"
refuse "DISK_INIT_GPT on the converged disk 1 is refused" "has 4 partition" op 1 DISK_INIT_GPT disk=1
check "sgdisk -v on both disks" sh -c "sgdisk -v '$D0' | grep -q '^No problems found' && sgdisk -v '$D1' | grep -q '^No problems found'"

# ---- later steps ----
refuse "CONVERT_DYNAMIC on a disk not selected for writing is refused" "not selected for writing" op - CONVERT_DYNAMIC disk=1
refuse "FW_ENTRY has no store on images" "no firmware" op 1 FW_ENTRY disk=1 role=efi
finish
