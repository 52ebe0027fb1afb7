#!/bin/bash
# SPDX-License-Identifier: MIT
# A 4Kn pair (4096-byte logical sectors, image:A.img:4096,B.img:4096)
# converges end to end on images, checked by tools mbstate does not use for
# it: fdisk -b 4096 (util-linux) reads both GPTs in 4096-byte LBAs with
# disk1's layout equal to disk0's, first usable LBA 6; fsck.fat -n on disk1's
# ESP cut out at its byte offset (4096-byte sectors, 4 KiB clusters); blkid
# -p -O finds FAT32 and NTFS at the byte offsets; mdir lists the same files
# on both ESPs; the firmware entry's HD() node (UEFI spec, Hard Drive Media
# Device Path: PartitionStart/PartitionSize in the disk's logical blocks)
# holds the 4096-byte LBAs fdisk prints. The seed site (with the OS mirror)
# on a 4Kn pair is refused before any write, naming LDM on 4096-byte
# sectors, with the images byte-identical.
. "$(dirname "$0")/image-cli-lib.sh"
SITE4=examples/4kn/site.yaml
SS=4096
ESP_LBA=256 ESP_SECTORS=66560 ESP_OFF=$((ESP_LBA * SS))
OS_LBA=70912 REC_LBA=8253952
D=$T/d
"$MAKE_IMAGES" --sector-size 4096 "$D" "$MKSEED" >/dev/null
D0=$D/disk0.img D1=$D/disk1.img
L="image:$D0:4096,$D1:4096"
[ -f "$D/vars.fd" ] && L="$L,nvram=$D/vars.fd"

# facts: the sector size is the target's
mb 0 "facts of the 4Kn pair" facts --target "$L"
says "$T/out" '^  sector_size: 4096$' "facts: sector_size 4096"
check "facts: both disks say 4096 (logical and physical)" \
        test "$(grep -cE '^  (physical_)?sector_size: 4096$' "$T/out")" = 4

# the seed site (mirror = LDM) is refused before any write
imgsum "$D0" "$D1" > "$T/before"
[ -f "$D/vars.fd" ] && imgsum "$D/vars.fd" >> "$T/before"
mb 1 "apply of the mirrored seed site on 4Kn is refused" apply examples/seed/site.yaml --target "$L"
says "$T/err" 'LDM|dynamic' "the refusal names LDM (dynamic disks)"
says "$T/err" '4096-byte sectors' "the refusal names 4096-byte sectors"
imgsum "$D0" "$D1" > "$T/after"
[ -f "$D/vars.fd" ] && imgsum "$D/vars.fd" >> "$T/after"
check "byte compare: nothing written by the refused apply" cmp -s "$T/before" "$T/after"

# the 4Kn site converges
mb 2 "check before apply: drift" check "$SITE4" --target "$L"
mb 0 "apply on the 4Kn pair" apply "$SITE4" --target "$L"
mb 0 "check after apply" check "$SITE4" --target "$L"
mb 0 "apply again changes nothing" apply "$SITE4" --target "$L"
says "$T/out" 'in desired state|0 changes' "the second apply has nothing to do"

# GPT, by util-linux fdisk told the sector size
fdisk -b 4096 -l -o Device,Start,End,Sectors,Type-UUID,Attrs "$D0" > "$T/fd0"
fdisk -b 4096 -l -o Device,Start,End,Sectors,Type-UUID,Attrs "$D1" > "$T/fd1"
sed -n '/^Device/,$p' "$T/fd0" | sed 's/disk0\.img/disk.img/' > "$T/l0"
sed -n '/^Device/,$p' "$T/fd1" | sed 's/disk1\.img/disk.img/' > "$T/l1"
echo "--- fdisk -b 4096 -l disk1.img"; cat "$T/fd1"
check "fdisk: disk1 reads as GPT in 4096-byte units" \
        grep -qE '^Units: sectors of 1 \* 4096 = 4096 bytes' "$T/fd1"
check "fdisk: disk1 is GPT" grep -q '^Disklabel type: gpt' "$T/fd1"
check "fdisk: disk1's partitions (start, end, type, attributes) equal disk0's" cmp -s "$T/l0" "$T/l1"
check "fdisk: disk1's ESP at 4096-byte LBA 256-66815" \
        grep -qE "^[^ ]*disk1\.img1 +256 +66815 +66560 +C12A7328-F81F-11D2-BA4B-00A0C93EC93B" "$T/fd1"
check "fdisk: disk1's recovery at 4096-byte LBA 8253952-8388095 with its attributes" \
        grep -qE "^[^ ]*disk1\.img4 +8253952 +8388095 +134144 +DE94BBA4-06D1-4D40-A16A-BFD50179D6AC +RequiredPartition GUID:63" "$T/fd1"
fdisk -b 4096 -l "$D1" 2>&1 | grep -Ei 'corrupt|mismatch|invalid|damaged' > "$T/fdw"
check "fdisk: no complaint about disk1's GPT" test ! -s "$T/fdw"
# the first usable LBA from the header itself (LBA 1, bytes 40-47)
fu=$(dd if="$D1" bs=4096 skip=1 count=1 status=none | od -An -j40 -N8 -tu8 | tr -d ' ')
check "GPT header of disk1: first usable LBA 6 (got $fu)" test "$fu" = 6
sig=$(dd if="$D1" bs=4096 skip=1 count=1 status=none | head -c 8)
check "GPT header of disk1 at byte 4096 ('EFI PART')" test "$sig" = "EFI PART"

# the ESP and the NTFS volumes at their byte offsets
blkid -p -O "$ESP_OFF" "$D1" > "$T/b1" 2>&1
echo "--- blkid -p -O $ESP_OFF disk1.img"; cat "$T/b1"
says "$T/b1" 'VERSION="FAT32".*BLOCK_SIZE="4096".*TYPE="vfat"|TYPE="vfat"' "blkid: FAT at disk1's ESP offset"
says "$T/b1" 'BLOCK_SIZE="4096"' "blkid: the FAT's sectors are 4096 bytes"
blkid -p -O $((OS_LBA * SS)) "$D1" > "$T/b2" 2>&1
says "$T/b2" 'TYPE="ntfs"' "blkid: NTFS at disk1's OS offset"
says "$T/b2" 'BLOCK_SIZE="4096"' "blkid: the OS volume's sectors are 4096 bytes"
blkid -p -O $((REC_LBA * SS)) "$D1" > "$T/b3" 2>&1
says "$T/b3" 'TYPE="ntfs"' "blkid: NTFS at disk1's recovery offset"
dd if="$D1" of="$T/esp1" bs=4096 skip=$ESP_LBA count=$ESP_SECTORS conv=sparse status=none
fsck.fat -n "$T/esp1" > "$T/fsck" 2>&1; rc=$?
echo "--- fsck.fat -n (disk1's ESP)"; cat "$T/fsck"
check "fsck.fat -n: disk1's ESP is clean (exit $rc)" test "$rc" = 0
check "fsck.fat: at least 65525 clusters (the FAT32 minimum)" \
        awk -F'[ /]+' '/clusters$/ { exit !($(NF-1) >= 65525) }' "$T/fsck"
mdir -/ -b -a -i "$D0@@$ESP_OFF" ::/ | sort > "$T/m0"
mdir -/ -b -a -i "$D1@@$ESP_OFF" ::/ | sort > "$T/m1"
check "mdir: disk1's ESP lists what disk0's does" cmp -s "$T/m0" "$T/m1"
check "mdir: disk1's ESP holds the BCD store" grep -qxF '::/EFI/Microsoft/Boot/BCD' "$T/m1"

# the recovery copy: its files, read by ntfs-3g's tools from the partitions cut
# out at their 4096-byte LBAs
dd if="$D0" of="$T/rec0" bs=4096 skip=$REC_LBA count=134144 conv=sparse status=none
dd if="$D1" of="$T/rec1" bs=4096 skip=$REC_LBA count=134144 conv=sparse status=none
ntfssums "$T/rec0" > "$T/n0"
ntfssums "$T/rec1" > "$T/n1"
check "ntfsls/ntfscat: disk0's recovery holds Winre.wim" grep -q ' Winre.wim$' "$T/n0"
check "ntfsls/ntfscat: disk1's recovery files equal disk0's" cmp -s "$T/n0" "$T/n1"

# the BCD store on disk1's ESP, read with reglookup: the cloned boot manager
mcopy -n -i "$D1@@$ESP_OFF" ::/EFI/Microsoft/Boot/BCD "$T/bcd1"
bcdobjs "$T/bcd1" > "$T/objs"
echo "--- reglookup: BCD objects of disk1's store"; cat "$T/objs"
check "reglookup: disk1's store has the Windows Boot Manager Cloned entry" \
        grep -q 'Windows Boot Manager Cloned' "$T/objs"

# the firmware entry's HD() node, read from the variable store's bytes
if [ -f "$D/vars.fd" ]; then
        esp1=$(fdisk -b 4096 -l -o Device,UUID "$D1" | awk '/disk1\.img1 / { print $2 }')
        python3 - "$D/vars.fd" "$esp1" > "$T/hd" <<'PY'
import struct, sys, uuid
data = open(sys.argv[1], "rb").read()
sig = uuid.UUID(sys.argv[2]).bytes_le
# Hard Drive Media Device Path: type 4, subtype 1, length 42; partition
# number u32, start u64, size u64, signature[16], format 2 (GPT), type 2
i = data.find(sig)
while i >= 0:
    n = i - 24
    if data[n:n + 4] == b"\x04\x01\x2a\x00" and data[i + 16:i + 18] == b"\x02\x02":
        num, start, size = struct.unpack_from("<IQQ", data, n + 4)
        print("HD(%d,GPT,%s,0x%x,0x%x)" % (num, sys.argv[2].upper(), start, size))
    i = data.find(sig, i + 1)
PY
        echo "--- the HD() node naming disk1's ESP in vars.fd"; cat "$T/hd"
        check "firmware entry: HD(1,GPT,...,0x100,0x10400): 4096-byte LBA 256, 66560 blocks" \
                grep -qx "HD(1,GPT,${esp1^^},0x100,0x10400)" "$T/hd"
fi
# A FAT32 ESP too small for 4096-byte sectors: 25600 sectors of 4 KiB (100
# MiB) cannot hold FAT32's 65525 clusters (mkfs.fat only warns and writes a
# volume the FAT specification reads as FAT16); FORMAT is refused naming
# the minimum, and nothing is written. (The operation through the test
# driver: a plan proposes it only for a layout whose source ESP is FAT32.)
MBIMG=${4:?mbimg}
B=$T/small
mkdir -p "$B"
cp --sparse=always "$D0" "$B/disk0.img"
truncate -s 4G "$B/disk1.img"
"$MKSEED" gpt "$B/disk1.img" 4096 <<SF
label: gpt
first-lba: 6
start=256, size=25600, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
SF
imgsum "$B/disk1.img" > "$T/before"
"$MBIMG" exec "$B/disk0.img:4096,$B/disk1.img:4096" 1 FORMAT disk=1 role=efi fs=fat32 label=SYSTEM \
        >"$T/out" 2>"$T/err"; rc=$?
check "FORMAT fat32 of a 100 MiB ESP on 4096-byte sectors fails (exit $rc)" test "$rc" != 0
says "$T/err" 'FAT32 needs at least 65525' "the refusal names FAT32's minimum cluster count"
says "$T/err" 'needs at least 257 MiB' "the refusal names the minimum ESP size on 4096-byte sectors"
imgsum "$B/disk1.img" > "$T/after"
check "byte compare: the disk was not written" cmp -s "$T/before" "$T/after"
finish
