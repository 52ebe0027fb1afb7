#!/bin/sh
# SPDX-License-Identifier: MIT
# The image target's refusals: each names the file, and nothing is written.
. "$(dirname "$0")/image-lib.sh"
D=$T/d.img
mkgpt() {       # mkgpt IMG SIZE: a GPT disk with one partition
        rm -f "$1"; truncate -s "$2" "$1"
        sgdisk -o -n 1:2048:4095 -t 1:EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 "$1" >/dev/null
}
L=$D
mkgpt "$D" 64M
check "a sound GPT image opens" op 0 DISK_ONLINE disk=0
refuse "a missing image is named" "cannot open disk 1 image '$T/missing.img'" \
        "$MBIMG" facts "$D,$T/missing.img"
refuse "the same image twice is refused (hard link)" "are the same file" \
        sh -c "ln '$D' '$T/link.img' && '$MBIMG' facts '$D,$T/link.img'"
refuse "a directory is not an image" "is not a regular file" "$MBIMG" facts "$T"
if [ -b /dev/loop0 ]; then
        refuse "a block device is refused" "is a block device" "$MBIMG" facts /dev/loop0
fi
refuse "an empty list is refused" "no image files" "$MBIMG" facts ","
if [ "$(id -u)" != 0 ]; then
        cp "$D" "$T/noread.img"; chmod 000 "$T/noread.img"
        refuse "an unreadable image is refused" "cannot open disk 0 image" "$MBIMG" facts "$T/noread.img"
fi

# smaller than its GPT claims
cp "$D" "$T/small.img"; truncate -s 32M "$T/small.img"
refuse "an image smaller than its GPT claims" "smaller than its GPT claims" "$MBIMG" facts "$T/small.img"

# damaged primary header CRC, intact backup: read through the backup, never
# rewritten by reading or by another write, only by the gpt-repair operation
mkgpt "$D" 64M
printf '\001' | dd of="$D" bs=1 seek=$((512 + 40)) conv=notrunc status=none
sum=$(sha256sum < "$D")
check "sgdisk -v sees the damage" sh -c "sgdisk -v '$D' 2>&1 | grep -q 'Main header: ERROR'"
check "facts read from the backup" sh -c "'$MBIMG' facts '$D' | grep -q '^part 0 1 role=os'"
check "nothing was written by reading" test "$(sha256sum < "$D")" = "$sum"
refuse "another GPT write is refused until the repair" "primary GPT is damaged .* not written before the gpt-repair" op 0 PART_SET_NAME disk=0 role=os name=x
check "nothing was written" test "$(sha256sum < "$D")" = "$sum"
check "GPT_REPAIR with the disk allowed: repaired" op 0 GPT_REPAIR disk=0
check "sgdisk -v: no problems after the repair" sgdisk_ok "$D"
check "the write refused before goes through now" op 0 PART_SET_NAME disk=0 role=os name=x

# damaged partition entry array of the backup
mkgpt "$D" 64M
printf 'X' | dd of="$D" bs=1 seek=$(( (131072 - 33) * 512 + 56 )) conv=notrunc status=none
refuse "a write with the backup damaged is refused" "backup GPT is damaged" op 0 PART_SET_NAME disk=0 role=os name=x
check "GPT_REPAIR repairs the backup" op 0 GPT_REPAIR disk=0
check "sgdisk -v: no problems" sgdisk_ok "$D"

# both copies damaged
mkgpt "$D" 64M
printf '\001' | dd of="$D" bs=1 seek=$((512 + 40)) conv=notrunc status=none
printf '\001' | dd of="$D" bs=1 seek=$(( (131072 - 1) * 512 + 40 )) conv=notrunc status=none
refuse "both copies damaged" "both GPT copies are damaged" "$MBIMG" facts "$D"

# read-only image file
mkgpt "$D" 64M
chmod 444 "$D"
if [ "$(id -u)" != 0 ]; then
        refuse "a read-only image cannot be allowed for writing" "read-only" op 0 DISK_ONLINE disk=0
fi
chmod 644 "$D"
check "facts report read_only=0 for a writable file" sh -c "'$MBIMG' facts '$D' | grep -q ' ro=0 '"

# MBR disk: style mbr, never initialized
rm -f "$D"; truncate -s 64M "$D"
printf 'label: dos\nstart=2048,size=4096,type=7\n' | sfdisk -q "$D"
check "an MBR disk is style mbr with its partition" sh -c "'$MBIMG' facts '$D' | grep -q 'style=mbr .* parts=1'"
refuse "DISK_INIT_GPT on a non-blank MBR disk is refused" "has 1 partition" op 0 DISK_INIT_GPT disk=0
finish
