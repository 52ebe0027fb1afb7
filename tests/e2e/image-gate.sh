#!/bin/sh
# SPDX-License-Identifier: MIT
# The gate on the image target: every destructive operation, planned for
# disk 1 and executed after another disk took its place, is refused before
# the target's handler runs, and the disk now at that place is byte for byte
# what it was. Two swaps: another image file at the same number (another
# path: another serial), and the file replaced behind the same path (the
# identity read from the path now is not the file opened). Also: a
# destructive op without a recorded identity, and a disk not allowed.
. "$(dirname "$0")/image-lib.sh"
seed
D0=$T/disk0.img D1=$T/disk1.img
# digest FILE: SHA-256 of the size, the data extents and their bytes (holes
# read as zeros and are where they were: a write into one makes an extent).
digest() {
        python3 - "$1" <<'PY'
import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
h = hashlib.sha256(str(size).encode())
pos = 0
while pos < size:
    try:
        start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, start, os.SEEK_HOLE)
    h.update(b"%d:%d;" % (start, end))
    os.lseek(fd, start, os.SEEK_SET)
    left = end - start
    while left:
        b = os.read(fd, min(left, 1 << 20))
        h.update(b)
        left -= len(b)
    pos = end
print(h.hexdigest())
PY
}
# disk 1 gets a GPT and disk 0's partitions (positions from disk 0's facts)
f0=$(facts)
check "prepare: DISK_INIT_GPT disk 1" op 1 DISK_INIT_GPT disk=1
for n in 1 2 3 4; do
        pl=$(printf '%s\n' "$f0" | grep "^part 0 $n ")
        role=$(field "$pl" role)
        check "prepare: PART_CREATE $role" op 1 PART_CREATE disk=1 role=$role \
                first=$(field "$pl" first) last=$(field "$pl" last) type=$(field "$pl" type) \
                attrs=$(field "$pl" attrs)
done
f=$(facts)
serial1=$(field "$(printf '%s\n' "$f" | grep '^disk 1 ')" serial)
size1=$(field "$(printf '%s\n' "$f" | grep '^disk 1 ')" size)
O=$T/other.img
cp --sparse=always "$D1" "$O"
log() { echo "gate: $(sed 's/^mbimg: //' "$T/err")"; }

for k in "DISK_INIT_GPT" "FORMAT role=efi fs=fat32 label=SYSTEM" "CLONE_BLOCKS role=recovery disk2=0" \
         "SYNC_FILES role=efi disk2=0"; do
        set -- $k
        kind=$1; shift
        name=$(printf '%s' "$kind" | tr 'A-Z_' 'a-z-')
        # another image at number 1: the plan's disk 1 is disk1.img
        before=$(digest "$O")
        refuse "$kind planned for disk 1, another image at number 1: refused" \
                "refusing $name: not the disk the plan was made for: serial is now \"IMG-.*\", the plan expected $serial1" \
                "$MBIMG" exec "$D0,$O" 0,1 $kind disk=1 "$@" expect_serial=$serial1 expect_size=$size1
        log
        check "$kind: the other image is byte for byte as before" test "$(digest "$O")" = "$before"
        # disk1.img replaced behind its path between plan and execute
        cp --sparse=always "$D1" "$T/swap.img"
        printf 'not the planned disk' | dd of="$T/swap.img" bs=1 seek=65536 conv=notrunc status=none
        before=$(digest "$T/swap.img")
        refuse "$kind planned for disk 1, the file replaced behind the path: refused" \
                "refusing $name: .*is another file now" \
                op 0,1 $kind disk=1 "$@" replace_with=$T/swap.img
        log
        check "$kind: the file now at the path is byte for byte as before" test "$(digest "$D1")" = "$before"
        cp --sparse=always "$O" "$D1"   # the planned content back, for the next kind
done

refuse "a destructive op without a recorded identity is refused" "the plan recorded no identity" \
        op 1 FORMAT disk=1 role=efi fs=fat32 identity=none
log
refuse "a write to a disk not allowed is refused by the gate" \
        "target image: refusing partition-set-name: disk 1 is not selected for writing by the configuration" \
        op 0 PART_SET_NAME disk=1 role=os name=x
log
refuse "a BCD edit with the system disk not allowed is refused by the gate" \
        "target image: refusing bcd-delete: system disk 0 is not selected for writing by the configuration" \
        op 1 BCD_DELETE "object={00000000-0000-0000-0000-000000000000}"
log
# the control: the same destructive op on the planned disk goes through
check "FORMAT efi on the planned disk 1 goes through" op 0,1 FORMAT disk=1 role=efi fs=fat32 label=SYSTEM
finish
