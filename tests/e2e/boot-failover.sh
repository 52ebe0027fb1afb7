#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The mirrored machine boots from either disk: the seed images with their
# UEFI variables (vars.fd) are converged by `mbstate apply` and then booted
# by the real firmware (OVMF under QEMU, software emulation). The boot
# managers on the ESPs are small GRUB programs built by make-images that
# print the unique GUID of the partition they were started from and power
# off; \EFI\Boot\bootx64.efi prints FALLBACK instead.
#
#   (a) both disks:            Boot0000 "Windows Boot Manager" -> disk0's ESP
#   (b) disk0 detached:        Boot0001 "Windows Boot Manager Cloned" -> disk1's ESP
#   (c) the cloned entry gone: `mbstate check` exits 2 naming it (and, with
#       disk0 replaced by a blank disk, names the entry that points nowhere);
#       with disk0 detached the firmware falls back to \EFI\Boot\bootx64.efi
#
# Usage: boot-failover.sh MBIMG MKSEED MAKE_IMAGES MBSTATE
# Fails when qemu-system-x86, ovmf or grub-efi-amd64-bin is missing:
# scripts/deps.sh installs them, so their absence is a broken set-up, not a
# reason to skip.
set -u
MBSTATE=${4:?mbstate}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
SITE=tests/data/site-no-mirror.yaml

have_tools() {
        command -v qemu-system-x86_64 >/dev/null && command -v grub-mkstandalone >/dev/null &&
                [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] && [ -d /usr/lib/grub/x86_64-efi ]
}
if ! have_tools; then
        echo "FAIL: boot-failover needs qemu-system-x86_64, OVMF ($OVMF_CODE, $OVMF_VARS) and grub-mkstandalone (Debian: qemu-system-x86 ovmf grub-efi-amd64-bin; scripts/deps.sh installs them)"
        exit 1
fi

# shellcheck source=image-lib.sh
. "$(dirname "$0")/image-lib.sh"

seed
[ -f "$T/vars.fd" ] || { echo "make-images wrote no vars.fd" >&2; exit 1; }
D0=$T/disk0.img D1=$T/disk1.img
TARGET="image:$D0,$D1,nvram=$T/vars.fd"
lower() { tr A-Z a-z; }

# boot NAME VARS DISK...: one boot from a copy of VARS; transcript in $T/NAME.log
boot() {
        name=$1 vars=$2; shift 2
        cp "$vars" "$T/$name.vars.fd"
        args=()
        for d in "$@"; do args+=(-drive "file=$d,format=raw,if=virtio"); done
        start=$(date +%s.%N)
        timeout 240 qemu-system-x86_64 -machine q35 -m 256 -nographic -nic none -no-reboot \
                -drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
                -drive if=pflash,format=raw,file="$T/$name.vars.fd" \
                "${args[@]}" </dev/null 2>&1 | tr -d '\r' | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' >"$T/$name.log"
        end=$(date +%s.%N)
        secs=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')
        echo "--- boot ($name): $* -- ${secs} s"
        grep -a -E "BdsDxe: (failed|loading|starting)|MBSTATE-BOOT" "$T/$name.log" | sed 's/^/    /'
}
marker() { grep -a -c "^MBSTATE-BOOT $2 partition=$3 " "$T/$1.log"; }

ESP0=$(sg "$D0" 1 "Partition unique GUID" | lower)

# ---- the variable store is part of the disk an entry names ----
cp "$T/vars.fd" "$T/vars.seed.fd"
refuse "FW_ENTRY naming disk 1 is refused while only disk 0 may be written" "not selected for writing" \
        "$MBIMG" exec "$D0,$D1,nvram=$T/vars.fd" 0 FW_ENTRY disk=1 role=efi \
        "description=Windows Boot Manager Cloned" 'path=\EFI\Microsoft\Boot\bootmgfw.efi' position=last
check "... and vars.fd is unchanged" cmp -s "$T/vars.fd" "$T/vars.seed.fd"
head -c 4096 "$T/vars.fd" >"$T/short.fd"
refuse "a damaged variable store is refused, naming the file" "$T/short.fd" \
        "$MBSTATE" facts --target "image:$D0,$D1,nvram=$T/short.fd"

# ---- converge: partitions, clones, BCD and the firmware entry ----
rc=0; "$MBSTATE" apply "$SITE" --target "$TARGET" >"$T/apply.out" 2>&1 || rc=$?
check "apply converges" test $rc -eq 0
rc=0; "$MBSTATE" check "$SITE" --target "$TARGET" >"$T/check.out" 2>&1 || rc=$?
check "check after apply: in desired state (exit 0)" test $rc -eq 0
ESP1=$(sg "$D1" 1 "Partition unique GUID" | lower)
check "disk1 has its own ESP ($ESP1)" test -n "$ESP1" -a "$ESP1" != "$ESP0"
"$MBSTATE" facts --target "$TARGET" >"$T/facts.yaml"
check "facts: firmware entry \"Windows Boot Manager Cloned\"" \
        grep -q "description: Windows Boot Manager Cloned" "$T/facts.yaml"
check "facts: the cloned entry names partition $ESP1" grep -q "partition: $ESP1" "$T/facts.yaml"
cp "$T/vars.fd" "$T/vars.applied.fd"
"$MBSTATE" apply "$SITE" --target "$TARGET" >"$T/apply2.out" 2>&1 || true
check "second apply changes nothing" grep -q "No changes" "$T/apply2.out"
check "second apply leaves vars.fd byte-identical" cmp -s "$T/vars.fd" "$T/vars.applied.fd"

# ---- (a) both disks ----
boot a "$T/vars.applied.fd" "$D0" "$D1"
check "(a) both disks: the boot manager starts from disk0's ESP ($ESP0)" test "$(marker a bootmgfw "$ESP0")" = 1
check "(a) no fallback" test "$(grep -a -c FALLBACK "$T/a.log")" = 0

# ---- (b) disk0 detached ----
boot b "$T/vars.applied.fd" "$D1"
check "(b) disk0 detached: Boot0000 fails" grep -a -q 'failed to load Boot0000 "Windows Boot Manager"' "$T/b.log"
check "(b) \"Windows Boot Manager Cloned\" is started" grep -a -q 'starting Boot0001 "Windows Boot Manager Cloned"' "$T/b.log"
check "(b) the boot manager runs from disk1's ESP ($ESP1)" test "$(marker b bootmgfw "$ESP1")" = 1
check "(b) not the fallback" test "$(grep -a -c FALLBACK "$T/b.log")" = 0

# ---- (c) the cloned entry removed from the variables ----
sed 's/firmware: last/firmware: absent/' "$SITE" >"$T/site-absent.yaml"
rc=0; "$MBSTATE" apply "$T/site-absent.yaml" --target "$TARGET" >"$T/remove.out" 2>&1 || rc=$?
check "(c) apply with firmware: absent removes the entry (FW_DELETE)" test $rc -eq 0
rc=0; "$MBSTATE" check "$SITE" --target "$TARGET" >"$T/check-c.out" 2>&1 || rc=$?
check "(c) check exits 2 (drift)" test $rc -eq 2
check "(c) check names the missing entry" grep -q '"Windows Boot Manager Cloned": no firmware entry' "$T/check-c.out"
truncate -s 32G "$T/spare.img"
rc=0; "$MBSTATE" check "$SITE" --target "image:$D1,$T/spare.img,nvram=$T/vars.fd" >"$T/check-c2.out" 2>&1 || rc=$?
check "(c) disk0 replaced by a blank disk: check exits 2" test $rc -eq 2
check "(c) ... and names Boot0000, whose partition is on no disk" \
        grep -q "note: firmware entry Boot0000 \"Windows Boot Manager\" names partition $ESP0, which is on none of the disks" "$T/check-c2.out"
boot c "$T/vars.fd" "$D1"
check "(c) disk0 detached, no cloned entry: the firmware falls back to \\EFI\\Boot\\bootx64.efi on disk1" \
        test "$(marker c FALLBACK "$ESP1")" = 1
check "(c) the boot manager entry was not used" test "$(grep -a -c "MBSTATE-BOOT bootmgfw" "$T/c.log")" = 0

echo "--- mbstate check after the entry was removed:"
sed 's/^/    /' "$T/check-c.out"
echo "--- mbstate check with disk0 replaced by a blank disk (last lines):"
tail -n 3 "$T/check-c2.out" | sed 's/^/    /'
if [ "$FAILS" -ne 0 ]; then
        for n in a b c; do echo "=== $n.log"; tail -n 30 "$T/$n.log"; done
fi
finish
