#!/bin/bash
# SPDX-License-Identifier: MIT
# Each ESP's own BCD store on the image target, one operation at a time
# (mbimg): the system disk named by booted=, the store on every other ESP in
# the facts, BCD operations on the store of store_disk (esp_store), a loader
# named by its device (empty object), bcd-set-default, WinRE moved to a
# disk's own recovery partition, the ESP sync that keeps the target's
# store, BCD_CREATE_LOADER that never takes over another present disk's
# loader, and a firmware entry rewritten by number. Stores are read back
# with hivexsh as well as through the facts.
. "$(dirname "$0")/image-lib.sh"
seed
D0=$T/disk0.img D1=$T/disk1.img
L="$D0,$D1,nvram=$T/vars.fd"
f0=$(facts)
pl() { printf '%s\n' "$f0" | grep "^part 0 $1 "; }
# bcdline FACTS PREFIX DESCRIPTION: the object line of that description in a store
bcdline() { grep "^$2bcd .*description=$3\$" "$1"; }
# store_bytes IMG OBJECT ELEMENT: the element's bytes, hivexsh's hex list
store_bytes() {
        mcopy -n -i "$1@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/h.BCD"
        printf 'cd \\Objects\\%s\\Elements\\%s\nlsval\n' "$2" "$3" | hivexsh "$T/h.BCD" |
                sed -n 's/^"Element"=hex(3)://p'
}
# guid_bytes GUID: its 16 bytes as GPT and BCD store them, "2e,1c,35,96,..."
guid_bytes() {
        local g=${1//-/} i out
        out="${g:6:2},${g:4:2},${g:2:2},${g:0:2},${g:10:2},${g:8:2},${g:14:2},${g:12:2}"
        for i in 16 18 20 22 24 26 28 30; do out="$out,${g:$i:2}"; done
        echo "$out"
}
LOADER0='{063973c0-d0ac-11ed-b884-cfa59b967f58}' WINRE='{063973c1-d0ac-11ed-b884-cfa59b967f58}'
RDOPTS='{063973c2-d0ac-11ed-b884-cfa59b967f58}'

# ---- disk 1 laid out as disk 0 (its OS volume a block copy: winload.efi is there) ----
check "DISK_INIT_GPT disk 1" op 1 DISK_INIT_GPT disk=1
for r in "efi 1" "msr 2" "os 3" "recovery 4"; do
        set -- $r
        p=$(pl $2)
        check "PART_CREATE $1" op 1 PART_CREATE disk=1 role=$1 first=$(field "$p" first) \
                last=$(field "$p" last) type=$(field "$p" type) attrs=$(field "$p" attrs)
done
check "FORMAT efi" op 1 FORMAT disk=1 role=efi fs=fat32 label=SYSTEM
check "CLONE_BLOCKS os 0 -> 1" op 1 CLONE_BLOCKS disk=1 disk2=0 role=os
facts > "$T/f"
esp0=$(field "$(grep '^part 0 1 ' "$T/f")" guid) esp1=$(field "$(grep '^part 1 1 ' "$T/f")" guid)
os0=$(field "$(grep '^part 0 3 ' "$T/f")" guid) os1=$(field "$(grep '^part 1 3 ' "$T/f")" guid)
re1=$(field "$(grep '^part 1 4 ' "$T/f")" guid)
g0=$(field "$(grep '^disk 0 ' "$T/f")" guid) g1=$(field "$(grep '^disk 1 ' "$T/f")" guid)
check "facts: an ESP without a store has none (no esp1 lines)" sh -c "! grep -q '^esp1 ' '$T/f'"

# ---- the BCD ops of a store that is not there ----
refuse "esp_store on an ESP without a store: MB_ENOENT naming disk 1" \
        "(disk 1): no BCD store at /EFI/Microsoft/Boot/BCD on the EFI system partition (partition 1)" \
        op 0,1 BCD_SET_DEVICE esp_store=1 store_disk=1 'object={bootmgr}' disk=1 role=efi
refuse "esp_store on a disk that does not exist: refused at the gate" "disk (whose ESP holds the BCD store) 7 is not selected" \
        op 0,1 BCD_SET_DEVICE esp_store=1 store_disk=7 'object={bootmgr}' disk=1 role=efi

# ---- SYNC_FILES keep_store: a target without a store gets the source's ----
check "SYNC_FILES efi keep_store (disk 1 has no store)" op 1 SYNC_FILES disk=1 disk2=0 role=efi keep_store=1
facts > "$T/f"
check "... the whole ESP is copied, the BCD included (file lists equal)" \
        test "$(grep '^file 0 1 ' "$T/f" | cut -d' ' -f4-)" = "$(grep '^file 1 1 ' "$T/f" | cut -d' ' -f4-)"
check "facts: disk 1's store is its ESP's part bcd" \
        grep -qx 'esp1 bcdstore disk 1 partition 1 /EFI/Microsoft/Boot/BCD' "$T/f"
check "facts: the system store is still disk 0's" \
        grep -qx 'bcdstore disk 0 partition 1 /EFI/Microsoft/Boot/BCD' "$T/f"
check "facts: disk 1's store has the copied loader, path_check on disk 0 partition 3" \
        sh -c "grep '^esp1 bcd $LOADER0 ' '$T/f' | grep -q 'path_check=disk 0 partition 3:1 '"
grep '^bcd' "$T/f" > "$T/sys.before"

# ---- edits of disk 1's store (esp_store), the system store untouched ----
refuse "esp_store edit of disk 1's store needs disk 1 allowed" "not selected" \
        op 0 BCD_SET_DEVICE esp_store=1 store_disk=1 'object={bootmgr}' disk=1 role=efi
check "BCD_SET_DEVICE {bootmgr} -> disk 1's ESP in disk 1's store (only disk 1 allowed)" \
        op 1 BCD_SET_DEVICE esp_store=1 store_disk=1 'object={bootmgr}' disk=1 role=efi
refuse "an empty object with no loader on (1, os): names the partition" \
        "no os-loader whose device and osdevice are the os partition of disk 1" \
        op 1 BCD_SET_DEFAULT esp_store=1 store_disk=1 disk=1 role=os
check "BCD_CREATE_LOADER in disk 1's store, on disk 1's OS" \
        op 1 BCD_CREATE_LOADER esp_store=1 store_disk=1 disk=1 role=os "description=Windows Server - secondary plex"
check "BCD_SET_DEFAULT (empty object: the loader on disk 1's OS)" \
        op 1 BCD_SET_DEFAULT esp_store=1 store_disk=1 disk=1 role=os
check "BCD_DISPLAYORDER first (empty object)" \
        op 1 BCD_DISPLAYORDER esp_store=1 store_disk=1 disk=1 role=os position=first
check "BCD_SET_DEVICE WinRE -> disk 1's recovery partition" \
        op 1 BCD_SET_DEVICE esp_store=1 store_disk=1 "object=$WINRE" disk=1 role=recovery
facts > "$T/f"
grep '^bcd' "$T/f" > "$T/sys.after"
check "the system store is unchanged by the esp_store edits" cmp -s "$T/sys.before" "$T/sys.after"
sp=$(bcdline "$T/f" "esp1 " "Windows Server - secondary plex")
spid=$(printf '%s\n' "$sp" | cut -d' ' -f3)
bm1=$(grep '^esp1 bcd {bootmgr} ' "$T/f")
check "disk 1's store: {bootmgr} device = disk 1's ESP" test "$(field "$bm1" device)" = "partition:$esp1:$g1"
check "disk 1's store: the new loader boots disk 1's OS (device, osdevice)" \
        test "$(field "$sp" device) $(field "$sp" osdevice)" = "partition:$os1:$g1 partition:$os1:$g1"
check "disk 1's store: path_check of the new loader on disk 1 partition 3" \
        sh -c "printf '%s\n' '$sp' | grep -q ' path_check=disk 1 partition 3:1 '"
check "disk 1's store: default = the new loader" test "$(field "$bm1" default)" = "$spid"
check "disk 1's store: display order starts with it, disk 0's loader next" \
        test "$(field "$bm1" order)" = "$spid,$LOADER0"
check "disk 1's store: the new loader keeps the copied recoverysequence (WinRE)" \
        test "$(field "$sp" recoverysequence)" = "$WINRE"
re=$(grep "^esp1 bcd $WINRE " "$T/f")
check "disk 1's store: WinRE device and osdevice = ramdisk on disk 1's recovery partition" \
        test "$(field "$re" device) $(field "$re" osdevice)" = "ramdisk:$re1:$g1 ramdisk:$re1:$g1"
check "disk 1's store: WinRE path kept" test "$(field "$re" path)" = '\windows\system32\winload.efi'
b=$(store_bytes "$D1" "$RDOPTS" 31000003)
check "hivexsh: the ramdisk options' ramdisksdidevice = disk 1's recovery partition and disk" \
        sh -c "printf '%s' '$b' | grep -q '$(guid_bytes "$re1")' && printf '%s' '$b' | grep -q '$(guid_bytes "$g1")'"
b=$(store_bytes "$D1" "$WINRE" 11000001)
check "hivexsh: WinRE's device keeps the options object and the image path" \
        sh -c "printf '%s' '$b' | grep -q '^$(guid_bytes "${RDOPTS:1:36}"),' && printf '%s' '$b' | grep -q '5c,00,52,00,65,00,63,00,6f,00,76,00,65,00,72,00,79,00'"
b=$(store_bytes "$D0" "$RDOPTS" 31000003)
re0=$(field "$(grep '^part 0 4 ' "$T/f")" guid)
check "hivexsh: disk 0's ramdisk options still name disk 0's recovery partition" \
        sh -c "printf '%s' '$b' | grep -q '$(guid_bytes "$re0")'"
refuse "BCD_SET_DEFAULT of an object that does not exist" "does not exist" \
        op 1 BCD_SET_DEFAULT esp_store=1 store_disk=1 'object={0a0a0a0a-0000-4000-8000-000000000000}'

# ---- SYNC_FILES keep_store: a target with a store keeps it (and its logs) ----
echo log > "$T/log"; mcopy -i "$D1@@1048576" "$T/log" ::/EFI/Microsoft/Boot/BCD.LOG1
echo junk > "$T/junk"; mcopy -i "$D1@@1048576" "$T/junk" ::/EFI/extra.txt
mcopy -o -i "$D1@@1048576" "$T/junk" ::/EFI/Microsoft/Boot/memtest.efi
mcopy -n -i "$D1@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/bcd1.before"
check "SYNC_FILES keep_store (disk 1 has its own store)" op 1 SYNC_FILES disk=1 disk2=0 role=efi keep_store=1
mcopy -n -i "$D1@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/bcd1.after"
check "disk 1's BCD is byte for byte what it was" cmp -s "$T/bcd1.before" "$T/bcd1.after"
check "disk 1's BCD.LOG1 is kept" sh -c "mtype -i '$D1@@1048576' ::/EFI/Microsoft/Boot/BCD.LOG1 | grep -qx log"
facts > "$T/f"
check "the other files are synced (extra file gone, changed file back)" \
        test "$(grep '^file 0 1 ' "$T/f" | grep -v '/BCD' | cut -d' ' -f4-)" = \
             "$(grep '^file 1 1 ' "$T/f" | grep -v '/BCD' | cut -d' ' -f4-)"
check "fsck.fat -n after the keeping sync" esp_fsck "$D1" 2048 204800
check "SYNC_FILES without keep_store: disk 1's store replaced by disk 0's" \
        op 1 SYNC_FILES disk=1 disk2=0 role=efi
facts > "$T/f"
check "... file lists equal again (BCD.LOG1 deleted)" \
        test "$(grep '^file 0 1 ' "$T/f" | cut -d' ' -f4-)" = "$(grep '^file 1 1 ' "$T/f" | cut -d' ' -f4-)"
check "... and disk 1's store boots disk 0 again" \
        test "$(field "$(grep '^esp1 bcd {bootmgr} ' "$T/f")" device)" = "partition:$esp0:$g0"

# ---- BCD_CREATE_LOADER never takes over a loader of a present disk ----
check "BCD_CREATE_LOADER 'Windows Server' on disk 1's OS in the system store" \
        op 0,1 BCD_CREATE_LOADER disk=1 role=os "description=Windows Server"
facts > "$T/f"
check "disk 0's 'Windows Server' loader still boots disk 0" \
        test "$(field "$(grep "^bcd $LOADER0 " "$T/f")" device)" = "partition:$os0:$g0"
check "a second 'Windows Server' loader boots disk 1" \
        sh -c "grep '^bcd .*description=Windows Server\$' '$T/f' | grep -v '$LOADER0' | grep -q 'device=partition:$os1:$g1 osdevice=partition:$os1:$g1 '"
n1=$(grep -c '^bcd ' "$T/f")
check "BCD_CREATE_LOADER again reuses the loader on disk 1's OS (no new object)" \
        sh -c "'$MBIMG' exec '$L' 0,1 BCD_CREATE_LOADER disk=1 role=os 'description=Other name' && test \$('$MBIMG' facts '$L' | grep -c '^bcd ') = $n1"
# a loader whose partition no present disk has (its disk gone) is taken over
check "BCD_CREATE_LOADER 'Stale' on disk 1's recovery partition (stands for a disk that goes)" \
        op 0,1 BCD_CREATE_LOADER disk=1 role=recovery "description=Stale"
stale=$(grep '^bcd .*description=Stale$' <("$MBIMG" facts "$L") | cut -d' ' -f2)
cp --sparse=always "$D1" "$T/disk2.img"
sgdisk -G "$T/disk2.img" >/dev/null
L2="$D0,$T/disk2.img"
os2=$(sg "$T/disk2.img" 3 'Partition unique GUID' | tr A-Z a-z)
check "with disk 1 gone, BCD_CREATE_LOADER 'Stale' on the new disk's OS reuses it" \
        "$MBIMG" exec "$L2" 0,1 BCD_CREATE_LOADER disk=1 role=os "description=Stale"
"$MBIMG" facts "$L2" > "$T/f2"
check "... the same object, now on the new disk's OS" \
        sh -c "grep '^bcd $stale ' '$T/f2' | grep -q 'device=partition:$os2:'"
check "... and only one 'Stale' loader" test "$(grep -c 'description=Stale$' "$T/f2")" = 1

# ---- the system disk: booted= names disk 1's ESP ----
B="$D0,$D1,nvram=$T/vars.fd,booted=$esp1"
"$MBIMG" facts "$B" > "$T/fb"
check "booted=ESP of disk 1: disk 1 is the system disk" \
        sh -c "grep -q '^disk 1 .* system=1 ' '$T/fb' && grep -q '^disk 0 .* system=0 ' '$T/fb'"
check "booted=ESP of disk 1: the system store is disk 1's" \
        grep -qx 'bcdstore disk 1 partition 1 /EFI/Microsoft/Boot/BCD' "$T/fb"
check "booted=ESP of disk 1: disk 0's store is its ESP's part bcd" \
        grep -qx 'esp0 bcdstore disk 0 partition 1 /EFI/Microsoft/Boot/BCD' "$T/fb"
refuse "booted=ESP of disk 1: a system-store edit needs disk 1 allowed" "not selected" \
        "$MBIMG" exec "$B" 0 BCD_SET_DEVICE 'object={bootmgr}' disk=1 role=efi
check "booted=ESP of disk 1: a system-store edit writes disk 1's store" \
        "$MBIMG" exec "$B" 1 BCD_SET_DEVICE 'object={bootmgr}' disk=1 role=efi
check "... disk 1's {bootmgr} is on disk 1's ESP, disk 0's stays on disk 0's" \
        sh -c "'$MBIMG' facts '$L' > '$T/f' && grep '^esp1 bcd {bootmgr} ' '$T/f' | grep -q 'device=partition:$esp1:' && grep '^bcd {bootmgr} ' '$T/f' | grep -q 'device=partition:$esp0:'"
check "booted= naming a partition that is no ESP: disk 0 stays the system disk" \
        sh -c "'$MBIMG' facts '$D0,$D1,booted=$os1' | grep -q '^disk 0 .* system=1 '"

# ---- a firmware entry rewritten by its number (a rename keeps the number) ----
facts > "$T/f"
n0=$(grep -c '^fw ' "$T/f")
check "FW_ENTRY number=0000: Boot0000 renamed and pointed at disk 1's ESP" \
        op 0,1 FW_ENTRY number=0000 disk=1 role=efi "description=Windows Boot Manager Cloned" \
        'path=\EFI\Microsoft\Boot\bootmgfw.efi' position=first
facts > "$T/f"
check "... Boot0000 has the new description and disk 1's ESP" \
        grep -qx "fw 0000 partition=$esp1 path=\\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw.efi description=Windows Boot Manager Cloned" "$T/f"
check "... no entry added" test "$(grep -c '^fw ' "$T/f")" = "$n0"
check "FW_ENTRY without a number adds an entry of a new description" \
        op 0,1 FW_ENTRY disk=0 role=efi "description=Windows Boot Manager" \
        'path=\EFI\Microsoft\Boot\bootmgfw.efi' position=last
facts > "$T/f"
check "... one entry more, Boot0000 unchanged" \
        sh -c "test \$(grep -c '^fw ' '$T/f') = $((n0 + 1)) && grep -q '^fw 0000 partition=$esp1 .*Cloned\$' '$T/f'"
finish
