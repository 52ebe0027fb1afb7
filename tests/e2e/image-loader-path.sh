#!/bin/bash
# SPDX-License-Identifier: MIT
# An os-loader's path must name a file on the volume its device names. On the
# seed images after apply, the "Windows Server" entry's path is pointed at a
# file that is not on C: (hivexsh edits the store, ntfs-3g's ntfsinfo is the
# witness that the file is absent): `check` exits 2 naming the disk, the entry,
# the path and the volume; the store restored and apply run, `check` exits 0.
# The lookup ignores case, as NTFS under Windows does; a loader on the mirror's
# secondary plex is looked up on that plex (disk 1 alone). With boot:
# each-disk disk 1's store is its own and a bad path in disk 0's store does
# not stop it; with one store for both (boot: none) it does.
. "$(dirname "$0")/image-cli-lib.sh"
SITE=examples/seed/site.yaml
D=$T/d
seed "$D"
L=$(target "$D")
D0=$D/disk0.img D1=$D/disk1.img
mb 0 "apply the seed site (dynamic disks, the os mirror)" apply "$SITE" --target "$L"
mb 0 "check after apply" check "$SITE" --target "$L"

part "$D0" 239616 65792000 "$T/c0"
check "ntfscat: C: holds \\Windows\\System32\\winload.efi" \
        sh -c "ntfscat -f '$T/c0' /Windows/System32/winload.efi >/dev/null"
check "ntfscat: C: holds no \\Windows\\System32\\bogus.efi" \
        sh -c "! ntfscat -f '$T/c0' /Windows/System32/bogus.efi >/dev/null 2>&1"
"$MB" facts --target "$L" --state-dir "$T/state" > "$T/facts" 2>&1
check "facts: both loaders' paths found in each disk's store (disk 0 partition 3, disk 1 partition 5)" sh -c "
        grep -A2 '^ *path_check:' '$T/facts' | grep -c 'exists: true' | grep -qx 4 &&
        grep -q 'volume: disk 0 partition 3' '$T/facts' && grep -q 'volume: disk 1 partition 5' '$T/facts'"

# setpath STORE DESCRIPTION PATH: the path element (0x12000002) of the object
# so described, written by hivexsh (REG_SZ, as bcdedit writes it)
setpath() {
        local id
        id=$(bcdobjs "$1" | awk -v d="$2" '{ t = $0; sub(/^[^ ]+ [^ ]+ /, "", t); if (t == d) print $1 }')
        [ -n "$id" ] || { bad "no object \"$2\" in $1"; return 1; }
        printf 'cd \\Objects\\%s\\Elements\\12000002\nsetval 1\nElement\nstring:%s\ncommit\n' "$id" "$3" |
                hivexsh -w "$1"
}
mcopy -n -i "$(esp "$D0")" ::/EFI/Microsoft/Boot/BCD "$T/BCD.orig"

# ---- the default loader's path names a missing file ----
cp "$T/BCD.orig" "$T/BCD"
setpath "$T/BCD" "Windows Server" '\Windows\system32\bogus.efi'
check "hivexsh reads the new path back" sh -c "
        printf 'cd \\\\Objects\\\\{063973c0-d0ac-11ed-b884-cfa59b967f58}\\\\Elements\\\\12000002\\nlsval\\n' |
        hivexsh '$T/BCD' | grep -qF 'bogus.efi'"
mcopy -o -i "$(esp "$D0")" "$T/BCD" ::/EFI/Microsoft/Boot/BCD
mb 2 "check: a loader path that is not on C: is drift" check "$SITE" --target "$L"
says "$T/out" '^drift: disk 0 would not boot: the loader "Windows Server" path \\Windows\\system32\\bogus\.efi does not exist on disk 0 partition 3$' \
        "check names disk 0, the entry, the path and the volume"
echo "    check: $(grep -m1 'would not boot' "$T/out")"
# each disk boots on its own (boot: each-disk): disk 1's store is its own
mb 0 "each-disk: apply keeps disk 1's own store, disk 0 stays drift" apply "$SITE" --target "$L"
mb 2 "each-disk: check" check "$SITE" --target "$L"
check "each-disk: disk 1 is not named (its own store starts its own loader)" \
        sh -c "! grep -q 'disk 1 would not boot' '$T/out'"
# a store shared by both ESPs (boot: none: the efi clone copies the store)
SHARED=$T/shared.yaml
sed '/boot: each-disk/d; /# BCD booting its own plex first/d' "$SITE" > "$SHARED"
SITE=$SHARED
mb 0 "apply copies the store to disk 1's ESP" apply "$SITE" --target "$L"
mb 2 "check: still drift (apply does not know the loader's path)" check "$SITE" --target "$L"
says "$T/out" '^drift: disk 1 would not boot: the loader "Windows Server" path \\Windows\\system32\\bogus\.efi does not exist on disk 0 partition 3$' \
        "check names disk 1 too (its store starts the same loader)"
"$MB" check "$SITE" --target "$L" --state-dir "$T/state" --json > "$T/json" 2>/dev/null
check "JSON: the verdict of each disk carries the reason" python3 -c "
import json, sys
r = json.load(open('$T/json'))
b = {d['number']: d for d in r['boot']}
want = 'the loader \"Windows Server\" path \\\\Windows\\\\system32\\\\bogus.efi does not exist on disk 0 partition 3'
sys.exit(not (r['exit_code'] == 2 and all(not b[n]['bootable'] and b[n]['reason'] == want for n in (0, 1))))"

# ---- the store restored: converged and bootable again ----
mcopy -o -i "$(esp "$D0")" "$T/BCD.orig" ::/EFI/Microsoft/Boot/BCD
mb 0 "apply after the store is restored" apply "$SITE" --target "$L"
mb 0 "check: both disks boot again" check "$SITE" --target "$L"

# ---- names compare without case ----
cp "$T/BCD.orig" "$T/BCD"
setpath "$T/BCD" "Windows Server" '\WINDOWS\SYSTEM32\WINLOAD.EFI'
mcopy -o -i "$(esp "$D0")" "$T/BCD" ::/EFI/Microsoft/Boot/BCD
mb 0 "apply copies the upper-case store" apply "$SITE" --target "$L"
mb 0 "check: \\WINDOWS\\SYSTEM32\\WINLOAD.EFI names the file (no case on NTFS under Windows)" \
        check "$SITE" --target "$L"

# ---- the secondary plex's loader, looked up on disk 1's plex ----
# each disk boots on its own again: disk 1's store is its own, its default
# the secondary plex's loader
SITE=examples/seed/site.yaml
mcopy -o -i "$(esp "$D0")" "$T/BCD.orig" ::/EFI/Microsoft/Boot/BCD
mb 0 "each-disk: apply gives disk 1 its own store again" apply "$SITE" --target "$L"
mcopy -n -i "$(esp "$D1")" ::/EFI/Microsoft/Boot/BCD "$T/BCD1.orig"
cp "$T/BCD1.orig" "$T/BCD"
setpath "$T/BCD" "Windows Server - secondary plex" '\Windows\system32\bogus.efi'
mcopy -o -i "$(esp "$D1")" "$T/BCD" ::/EFI/Microsoft/Boot/BCD
mb 2 "check: disk 1's own default loader names a missing file" check "$SITE" --target "$L"
says "$T/out" '^drift: disk 1 would not boot: the loader "Windows Server - secondary plex" path \\Windows\\system32\\bogus\.efi does not exist on disk 1 partition 5$' \
        "check names disk 1, its own loader and its plex"
# boot1 WANT_BOOTABLE [REASON]: the verdict `facts --json` gives disk1.img alone
boot1() {
        "$MB" facts --target "image:$D1" --state-dir "$T/state1" --json > "$T/facts1" 2>/dev/null &&
        python3 -c "
import json, sys
b = json.load(open(sys.argv[1]))['disks'][0]['boot']
sys.exit(not (b['bootable'] == (sys.argv[2] == 'true') and b.get('reason', '') == sys.argv[3]))" \
                "$T/facts1" "$1" "${2:-}"
}
check "facts on disk 1 alone: it would not boot, the secondary plex's path is not on its plex (disk 0 partition 5 of that target)" \
        boot1 false 'the loader "Windows Server - secondary plex" path \Windows\system32\bogus.efi does not exist on disk 0 partition 5'
mcopy -o -i "$(esp "$D1")" "$T/BCD1.orig" ::/EFI/Microsoft/Boot/BCD
mb 0 "apply after the store is restored" apply "$SITE" --target "$L"
check "facts on disk 1 alone: bootable through its plex" boot1 true
finish
