#!/bin/bash
# SPDX-License-Identifier: MIT
# Drift on the converged seed images, made with other tools (mtools, sgdisk,
# hivexsh, dd): `check` exits 2 and names the difference, `apply` repairs it,
# `check` exits 0 again, and the repair is read back with the same tools.
. "$(dirname "$0")/image-cli-lib.sh"
D=$T/d
seed "$D"
L=$(target "$D")
D0=$D/disk0.img D1=$D/disk1.img
mb 0 "apply on the seed" apply "$SITE" --target "$L"

# drift NAME PATTERN: check sees it and names it, apply repairs it, check is clean
drift() {
        mb 2 "$1: check sees drift" check "$SITE" --target "$L"
        says "$T/out" "$2" "$1: check names it"
        echo "    check: $(grep -m1 '^drift' "$T/out")"
        mb 0 "$1: apply repairs it" apply "$SITE" --target "$L"
        says "$T/out" '^converged: [0-9]+ changes? applied' "$1: apply applied the repair"
        mb 0 "$1: check after the repair" check "$SITE" --target "$L"
}
esp_equal() {
        espsums "$D0" > "$T/f0"; espsums "$D1" > "$T/f1"
        cmp -s "$T/f0" "$T/f1"
}

# ---- process starts per check: bounded, not one per ESP file ----
# execs CMD...: the number of programs CMD starts (the execve calls that
# succeeded, as strace -f sees them: a PATH lookup also makes failed ones),
# CMD itself excluded
execs() { strace -f -qq -e trace=execve -o "$T/strace" "$@" >/dev/null 2>&1; grep -c 'execve(.* = 0$' "$T/strace" | awk '{print $1 - 1}'; }
n0=$(execs "$MB" check "$SITE" --target "$L")
nfiles0=$(mdir -/ -b -a -i "$(esp "$D0")" ::/ | grep -vc '/$')
mmd -i "$(esp "$D0")" ::/EFI/Vendor
mkdir "$T/vendor"; for i in $(seq 1 40); do printf 'vendor file %s\n' "$i" > "$T/vendor/v$i"; done
mcopy -i "$(esp "$D0")" "$T"/vendor/v* ::/EFI/Vendor/
mb 0 "apply copies 40 vendor files to disk1's ESP" apply "$SITE" --target "$L"
n1=$(execs "$MB" check "$SITE" --target "$L")
echo "    process starts per check: $n0 ($nfiles0 ESP files), $n1 ($((nfiles0 + 40)) ESP files)"
check "check starts the same number of processes with 40 more ESP files ($n0, $n1)" test "$n0" = "$n1"
check "check starts at most 4 processes per ESP ($n1 for 2 ESPs)" test "$n1" -ge 2 -a "$n1" -le 8
mdeltree -i "$(esp "$D0")" ::/EFI/Vendor
mb 0 "apply removes them again" apply "$SITE" --target "$L"

# ---- a file changed on disk0's ESP ----
printf 'a new boot.stl\n' > "$T/new"
mcopy -o -i "$(esp "$D0")" "$T/new" ::/EFI/Microsoft/Boot/boot.stl
drift "file changed on disk0's ESP" '1 file differs \(/EFI/Microsoft/Boot/boot\.stl\)'
check "mcopy: disk1's boot.stl is the new one" \
        test "$(mcopy -n -i "$(esp "$D1")" ::/EFI/Microsoft/Boot/boot.stl -)" = "a new boot.stl"
check "ESP file lists and SHA-256 sums match again" esp_equal

# ---- a file added on disk0's ESP ----
mcopy -i "$(esp "$D0")" "$T/new" ::/EFI/Microsoft/Boot/added.txt
drift "file added on disk0's ESP" '1 file missing \(/EFI/Microsoft/Boot/added\.txt\)'
check "mdir: disk1 has added.txt" sh -c "mdir -b -i '$(esp "$D1")' ::/EFI/Microsoft/Boot | grep -qx '::/EFI/Microsoft/Boot/added.txt'"
check "ESP file lists and SHA-256 sums match again" esp_equal

# ---- a file added on disk1's ESP (not on the source) ----
mmd -i "$(esp "$D1")" ::/EFI/Stale
mcopy -i "$(esp "$D1")" "$T/new" ::/EFI/Stale/extra.txt
drift "file added on disk1's ESP" '1 extra file \(/EFI/Stale/extra\.txt\)|/EFI/Stale/extra\.txt'
check "mdir: disk1's ESP lists /EFI, and no /EFI/Stale any more" \
        sh -c "mdir -/ -b -a -i '$(esp "$D1")' ::/ > '$T/mdir1' && grep -q '^::/EFI/' '$T/mdir1' && ! grep -q Stale '$T/mdir1'"
check "fsck.fat -n on disk1's ESP after the repairs" sh -c "
        dd if='$D1' of='$T/esp1' bs=1M iflag=skip_bytes,count_bytes skip=$ESP_OFF count=$((ESP_SECTORS * 512)) conv=sparse status=none &&
        fsck.fat -n '$T/esp1' >/dev/null 2>&1"

# ---- a wrong attribute on disk1's recovery partition ----
sgdisk --attributes=4:clear:63 "$D1" >/dev/null 2>&1
check "sgdisk -i 4: attributes now 0000000000000001" test "$(sg "$D1" 4 'Attribute flags')" = 0000000000000001
drift "recovery attribute cleared with sgdisk" 'recovery: attributes 0x0000000000000001'
check "sgdisk -i 4: attribute flags 8000000000000001 again" test "$(sg "$D1" 4 'Attribute flags')" = 8000000000000001
check "sgdisk -v disk1: no problems" sgdisk_clean "$D1"

# ---- the cloned boot manager deleted from the system store (disk0's ESP) ----
mcopy -n -i "$(esp "$D0")" ::/EFI/Microsoft/Boot/BCD "$T/BCD"
cid=$(bcdobjs "$T/BCD" | grep ' Windows Boot Manager Cloned$' | cut -d' ' -f1)
printf 'cd \\Objects\\%s\ndel\ncommit\n' "$cid" | hivexsh -w "$T/BCD"
check "hivexsh deleted object $cid (reglookup reads the store, without it)" \
        sh -c "reglookup -p /Objects '$T/BCD' > '$T/objs.del' && grep -q '^/Objects/{' '$T/objs.del' && ! grep -q '$cid' '$T/objs.del'"
mcopy -o -i "$(esp "$D0")" "$T/BCD" ::/EFI/Microsoft/Boot/BCD
drift "cloned boot manager deleted" '"Windows Boot Manager Cloned": absent'
mcopy -n -i "$(esp "$D0")" ::/EFI/Microsoft/Boot/BCD "$T/BCD0"
mcopy -n -i "$(esp "$D1")" ::/EFI/Microsoft/Boot/BCD "$T/BCD1"
check "reglookup: one 'Windows Boot Manager Cloned' (0x10100002) in the system store again" \
        test "$(bcdobjs "$T/BCD0" | grep -c ' 0x10100002 Windows Boot Manager Cloned$')" = 1
check "and disk1's ESP carries the same BCD" cmp -s "$T/BCD0" "$T/BCD1"
esp1=$(sg "$D1" 1 'Partition unique GUID')
cid=$(bcdobjs "$T/BCD0" | grep ' Windows Boot Manager Cloned$' | cut -d' ' -f1)
check "hivexsh: its device is disk1's ESP again" sh -c "
        printf 'cd \\\\Objects\\\\%s\\\\Elements\\\\11000001\\nlsval\\n' '$cid' | hivexsh '$T/BCD0' | grep -q '$(guid_bytes "$esp1")'"

# ---- the recovery copy is compared by its files, read through NTFS ----
# unpart PART IMG OFFSET: writes the partition file back into the image
unpart() { dd if="$1" of="$2" bs=1M oflag=seek_bytes seek="$3" conv=notrunc status=none; }
part "$D0" $REC_LBA $REC_SECTORS "$T/rec0"
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
check "cmp: after apply the recovery partitions are byte-identical" cmp -s "$T/rec0" "$T/rec1"
ntfssums "$T/rec1" > "$T/sums.before"
check "ntfsls + ntfscat: the recovery volume holds Winre.wim and ReAgent.xml" \
        sh -c "grep -q '  Winre.wim\$' '$T/sums.before' && grep -q '  ReAgent.xml\$' '$T/sums.before'"

# ntfsfix rewrites NTFS metadata (volume flags, journal) and no file
check "ntfsfix processes disk1's recovery volume" sh -c "ntfsfix '$T/rec1' >/dev/null 2>&1"
check "cmp: the recovery partitions' bytes differ after ntfsfix (exit 1)" \
        sh -c "cmp -s '$T/rec0' '$T/rec1'; [ \$? = 1 ]"
ntfssums "$T/rec1" > "$T/sums.after"
check "ntfsls + ntfscat: the same files, sizes and SHA-256 after ntfsfix" cmp -s "$T/sums.before" "$T/sums.after"
unpart "$T/rec1" "$D1" $REC_OFF
mb 0 "check: the recovery copies are equal by their files after ntfsfix" check "$SITE" --target "$L"
says "$T/out" '^in desired state' "check: in desired state"

# one byte of Winre.wim changed through ntfs-3g's file system (a FUSE mount
# of the partition file, as root): the write updates the file's modification
# time, as a write through Windows' NTFS does
ntfscat -f "$T/rec1" /Winre.wim > "$T/winre"
printf 'Z' | dd of="$T/winre" bs=1 seek=1000003 conv=notrunc status=none
mkdir "$T/mnt"
trap 'umount "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
check "ntfs-3g mounts disk1's recovery volume" ntfs-3g -o remove_hiberfile,force "$T/rec1" "$T/mnt"
printf 'Z' | dd of="$T/mnt/Winre.wim" bs=1 seek=1000003 conv=notrunc status=none
check "umount" umount "$T/mnt"
for i in $(seq 1 100); do pgrep -f "[n]tfs-3g .*$T/rec1" >/dev/null || break; sleep 0.1; done
check "the ntfs-3g process has exited (its writes are done)" sh -c "! pgrep -f '[n]tfs-3g .*$T/rec1' >/dev/null"
check "ntfscat: disk1's Winre.wim is the changed one" sh -c "ntfscat -f '$T/rec1' /Winre.wim | cmp -s - '$T/winre'"
unpart "$T/rec1" "$D1" $REC_OFF
drift "one byte of Winre.wim changed on disk1 (ntfscp)" \
        'recovery of primary \(disk 0\) on secondary \(disk 1\): 1 file differs \(/Winre\.wim\)'
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
check "cmp: the recovery partitions are byte-identical again (a block copy)" cmp "$T/rec0" "$T/rec1"

# ---- converged: a last apply writes nothing ----
imgsum "$D0" "$D1" > "$T/sum1"
mb 0 "apply on the repaired images" apply "$SITE" --target "$L"
says "$T/out" '^No changes' "apply: no changes"
imgsum "$D0" "$D1" > "$T/sum2"
check "it wrote nothing" cmp -s "$T/sum1" "$T/sum2"
finish
